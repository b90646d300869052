/*
 * POWER8 dynamic micro-threading (seed 000, spec 2.5, 2.7): the per-CPU preempted-vcore
 * lists, kvmppc_vcore_preempt / kvmppc_vcore_end_preempt, collect_piggybacks (candidates in
 * list insertion order), can_piggyback, can_dynamic_split, subcore_config_ok, and the split
 * mode and subcore_thread_map {0,4,2,6} used by kvmppc_run_core.
 *
 * E43 note: the v4.3-v4.8 same-subcore piggybacking (can_piggyback_subcore) is not modelled;
 * E43 uses the dynamic split only, like v4.9+.
 */
#include <assert.h>
#include <stddef.h>

#include "model.h"
#include "trace.h"

static const int subcore_thread_map[HV_MAX_SUBCORES] = { 0, 4, 2, 6 };

static int roundup_pow2(int n)
{
	int r = 1;
	while (r < n)
		r <<= 1;
	return r;
}

int hv_subcore_config_ok(const struct hv_params *p, int ns, int nt)
{
	if (p->cpu_model >= 9)
		return ns <= HV_MAX_SUBCORES && nt == 1;
	/* dynamic split only from whole-core mode */
	if (ns > 1 && p->threads_per_subcore < HV_MAX_SMT)
		return 0;
	if (ns > HV_MAX_SUBCORES)
		return 0;
	if (ns > 1) {
		if (!(p->dynamic_mt_modes & 2))
			ns = HV_MAX_SUBCORES;	/* only 4-way is allowed */
		if (ns > 2 && !(p->dynamic_mt_modes & 4))
			return 0;
	}
	return ns * roundup_pow2(nt) <= HV_MAX_SMT;
}

int hv_split_mode(const struct hv_params *p, int n_subcores)
{
	if (n_subcores <= 1)
		return 1;
	if (p->cpu_model != 8)
		return 1;
	if (n_subcores == 2 && (p->dynamic_mt_modes & 2))
		return 2;
	return 4;
}

int hv_subcore_first_thread(const struct hv_params *p, int sub)
{
	return p->cpu_model == 8 ? subcore_thread_map[sub & 3] : sub;
}

void hv_preempt_list_add(struct hv_host *h, int cpu, struct hv_vcore *vc)
{
	struct hv_cpu *c = hv_env_cpu(h, cpu);
	assert(vc->pl_cpu < 0);
	vc->pl_cpu = cpu;
	vc->pl_next = NULL;
	vc->pl_prev = c->pl_tail;
	if (c->pl_tail)
		c->pl_tail->pl_next = vc;
	else
		c->pl_head = vc;
	c->pl_tail = vc;
}

void hv_preempt_list_del(struct hv_host *h, struct hv_vcore *vc)
{
	if (vc->pl_cpu < 0)
		return;
	struct hv_cpu *c = hv_env_cpu(h, vc->pl_cpu);
	if (vc->pl_prev)
		vc->pl_prev->pl_next = vc->pl_next;
	else
		c->pl_head = vc->pl_next;
	if (vc->pl_next)
		vc->pl_next->pl_prev = vc->pl_prev;
	else
		c->pl_tail = vc->pl_prev;
	vc->pl_next = vc->pl_prev = NULL;
	vc->pl_cpu = -1;
}

/* kvmppc_vcore_preempt: park the vcore on this CPU's list if it does not fill a subcore */
void hv_vcore_preempt(struct hv_host *h, struct hv_vcore *vc, int cpu)
{
	vc->pcpu = cpu;
	if (vc->num_threads < hv_env_params(h)->threads_per_subcore && vc->pl_cpu < 0)
		hv_preempt_list_add(h, cpu, vc);
	hv_vcore_set_state(h, vc, HV_VCORE_PREEMPT, HV_CAUSE_PREEMPT);
}

/* kvmppc_vcore_end_preempt */
void hv_vcore_end_preempt(struct hv_host *h, struct hv_vcore *vc)
{
	hv_preempt_list_del(h, vc);
	hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_END_PREEMPT);
}

int hv_can_dynamic_split(const struct hv_params *p, const struct hv_profile *pr,
			 const struct hv_core_run *cr, const struct hv_vcore *pvc, int *why)
{
	if (p->cpu_model < 8) {			/* needs CPU_FTR_ARCH_207S */
		*why = HV_PB_NOT_207S;
		return 0;
	}
	if (pr->one_vm_per_core && p->one_vm_per_core && pvc->vm != cr->vc[0]->vm) {
		*why = HV_PB_ONE_VM;
		return 0;
	}
	int n = pvc->num_threads > cr->max_subcore_threads ? pvc->num_threads :
		cr->max_subcore_threads;
	if (!hv_subcore_config_ok(p, cr->n_subcores + 1, n)) {
		*why = HV_PB_SUBCORE_CONFIG;
		return 0;
	}
	*why = HV_PB_ACCEPTED;
	return 1;
}

/* can_piggyback: fits under target and in a new subcore */
static int can_piggyback(struct hv_host *h, struct hv_core_run *cr, struct hv_vcore *pvc, int *why)
{
	if (cr->total_threads + pvc->num_threads > cr->target) {
		*why = HV_PB_OVER_TARGET;
		return 0;
	}
	if (!hv_can_dynamic_split(hv_env_params(h), hv_env_profile(h), cr, pvc, why))
		return 0;
	int ns = cr->n_subcores;
	if (pvc->num_threads > cr->max_subcore_threads)
		cr->max_subcore_threads = pvc->num_threads;
	cr->vc[ns] = pvc;
	cr->subcore_threads[ns] = pvc->num_threads;
	cr->total_threads += pvc->num_threads;
	cr->n_subcores = ns + 1;
	pvc->entry_exit_map = 0;	/* init_vcore_to_run */
	pvc->napping_threads = 0;
	pvc->conferring_threads = 0;
	pvc->first_exit_ptid = 0xff;
	pvc->first_exit_trap = 0;
	pvc->too_late_mask = pvc->hdec_soon_mask = 0;
	hv_preempt_list_del(h, pvc);
	return 1;
}

void hv_collect_piggybacks(struct hv_host *h, struct hv_core_run *cr, int cpu)
{
	struct hv_cpu *c = hv_env_cpu(h, cpu);
	int32_t pid;
	int ccpu;
	hv_env_ctx(h, &ccpu, &pid);
	struct hv_vcore *pvc = c->pl_head, *next;
	for (; pvc; pvc = next) {
		next = pvc->pl_next;
		hv_prepare_threads(h, pvc);
		if (pvc->n_runnable == 0 || !pvc->vm->mmu_ready) {
			hv_preempt_list_del(h, pvc);
			if (!pvc->runner)
				hv_vcore_set_state(h, pvc, HV_VCORE_INACTIVE, HV_CAUSE_PIGGYBACK);
			trace_kvmhv_piggyback_check(h, ccpu, pid, pvc, pvc->n_runnable == 0 ?
						    HV_PB_NO_RUNNABLE : HV_PB_MMU_NOT_READY, cr);
			continue;
		}
		int why;
		if (!can_piggyback(h, cr, pvc, &why)) {
			trace_kvmhv_piggyback_check(h, ccpu, pid, pvc, why, cr);
			continue;
		}
		hv_vcore_set_state(h, pvc, HV_VCORE_PIGGYBACK, HV_CAUSE_PIGGYBACK);
		trace_kvmhv_piggyback_check(h, ccpu, pid, pvc, HV_PB_ACCEPTED, cr);
		if (cr->total_threads >= cr->target)
			break;
	}
}
