/*
 * kvmppc_run_core (spec 2.4): run the runner's vcore, plus the vcores collect_piggybacks
 * found on this CPU's preempted list, on one (sub)core. prepare_threads, the -EBUSY path
 * (vcore bigger than the subcore), the abort path (need_resched after piggybacking puts the
 * piggybacked vcores back), the split decision, kvmppc_start_thread with
 * subcore_thread_map {0,4,2,6}, and the guest entry. The exit side is exit.c.
 */
#include <assert.h>
#include <string.h>

#include "model.h"
#include "trace.h"

/* prepare_threads: signals and pending VPA updates are not modelled, so nothing is dropped. */
void hv_prepare_threads(struct hv_host *h, struct hv_vcore *vc)
{
	(void)h;
	(void)vc;
}

/* init_vcore_to_run */
static void init_vcore_to_run(struct hv_vcore *vc)
{
	vc->entry_exit_map = 0;
	vc->napping_threads = 0;
	vc->conferring_threads = 0;
	vc->first_exit_ptid = 0xff;
	vc->first_exit_trap = 0;
	vc->too_late_mask = 0;
	vc->hdec_soon_mask = 0;
}

/* kvmppc_start_thread: hand vcpu v (or the subcore primary, v == NULL) to hardware thread
 * hw_cpu of the subcore whose primary is vc->pcpu. */
void hv_start_thread(struct hv_host *h, struct hv_vcpu *v, struct hv_vcore *vc, int hw_cpu,
		     int late)
{
	int cpu;
	int32_t pid;
	if (!v)
		return;
	hv_env_cancel_dec(h, v);	/* the guest DEC takes over from the hrtimer */
	v->cpu = vc->pcpu;
	v->thread_cpu = hw_cpu;
	hv_env_ctx(h, &cpu, &pid);
	trace_kvmhv_vcpu_place(h, cpu, pid, v, vc->sub, late, hw_cpu, vc->pcpu);
}

/* ptids of the runnable vcpus of vc for this run, and their order. Returns the count. */
static int runnable_order(struct hv_host *h, struct hv_vcore *vc, struct hv_vcpu **order)
{
	struct hv_ptid_in in[HV_MAX_SMT];
	int ptid[HV_MAX_SMT];
	for (int i = 0; i < HV_MAX_SMT; i++) {
		struct hv_vcpu *v = vc->runnable_threads[i];
		in[i].offset = i;
		in[i].runnable = v != NULL;
		in[i].ceded = v ? v->ceded : 0;
		in[i].arrival = v ? (int)v->arrival : 0;
	}
	hv_assign_ptids(hv_env_profile(h), in, HV_MAX_SMT, ptid);
	int n = 0;
	for (int p = 0; p < HV_MAX_SMT; p++)
		for (int i = 0; i < HV_MAX_SMT; i++)
			if (ptid[i] == p) {
				vc->runnable_threads[i]->ptid = p;
				order[n++] = vc->runnable_threads[i];
			}
	assert(n == vc->n_runnable);
	return n;
}

static void ebusy(struct hv_host *h, struct hv_vcore *vc, int cpu, int32_t pid, int reason)
{
	trace_kvmhv_core_abort(h, cpu, pid, vc, reason, 0);
	for (int i = 0; i < HV_MAX_SMT; i++) {
		struct hv_vcpu *v = vc->runnable_threads[i];
		if (!v)
			continue;
		v->ret = -16;	/* -EBUSY */
		hv_remove_runnable(h, vc, v);
		hv_env_wake(h, v->task);
	}
	hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_RUN);
	trace_kvmppc_run_core(h, cpu, pid, vc, 1);
}

int hv_run_core(struct hv_host *h, struct hv_vcore *vc)
{
	const struct hv_params *p = hv_env_params(h);
	const struct hv_profile *pr = hv_env_profile(h);
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	struct hv_cpu *c = hv_env_cpu(h, cpu);

	hv_prepare_threads(h, vc);
	if (vc->runner->state != HV_VCPU_RUNNABLE) {
		trace_kvmhv_core_abort(h, cpu, pid, vc, HV_ABORT_RUNNER_NOT_RUNNABLE, 0);
		return 0;
	}
	init_vcore_to_run(vc);
	int controlled = p->threads_per_subcore;	/* threads_per_vcore() on P7/P8 */
	if (controlled > 1 && vc->num_threads > p->threads_per_subcore) {
		ebusy(h, vc, cpu, pid, HV_ABORT_EBUSY_TOO_BIG);
		return 0;
	}

	struct hv_core_run *cr = &c->run;
	assert(!cr->active);
	memset(cr, 0, sizeof *cr);
	cr->pcpu = cpu;
	cr->n_subcores = 1;
	cr->vc[0] = vc;
	cr->subcore_threads[0] = cr->max_subcore_threads = cr->total_threads = vc->num_threads;
	cr->target = controlled;
	if (p->target_smt_mode && p->target_smt_mode < cr->target)
		cr->target = p->target_smt_mode;
	vc->sub = 0;
	vc->run_cpu = cpu;
	if (pr->piggyback != HV_PB_NONE && vc->num_threads < cr->target)
		hv_collect_piggybacks(h, cr, cpu);

	if (hv_env_need_resched(h, cpu)) {
		/* the abort path: piggybacked vcores go back on this CPU's list */
		hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_RUN);
		for (int sub = 1; sub < cr->n_subcores; sub++) {
			cr->vc[sub]->run_cpu = -1;
			hv_vcore_preempt(h, cr->vc[sub], cpu);
		}
		vc->run_cpu = -1;
		trace_kvmhv_core_abort(h, cpu, pid, vc, HV_ABORT_NEED_RESCHED, cr->n_subcores - 1);
		hv_env_count(h, HV_STAT_ABORT, 1);
		return 0;
	}

	/* split decision */
	cr->split = 1;
	cr->subcore_size = controlled;
	if (cr->n_subcores > 1) {
		cr->split = hv_split_mode(p, cr->n_subcores);
		cr->subcore_size = p->threads_per_core / cr->split;
	}
	assert(hv_subcore_config_ok(p, cr->n_subcores, cr->max_subcore_threads));
	/* target_smt_mode bounds what collect_piggybacks adds, not the master vcore itself */
	assert(cr->n_subcores == 1 || cr->total_threads <= cr->target);

	struct hv_vcpu *order[HV_MAX_SUBCORES][HV_MAX_SMT];
	int norder[HV_MAX_SUBCORES];
	cr->active_mask = 0;
	unsigned owned = 0;	/* hardware threads claimed by subcores so far */
	for (int sub = 0; sub < cr->n_subcores; sub++) {
		struct hv_vcore *pvc = cr->vc[sub];
		cr->first_thread[sub] = hv_subcore_first_thread(p, sub);
		pvc->pcpu = cpu + cr->first_thread[sub];
		pvc->sub = sub;
		pvc->run_cpu = cpu;
		norder[sub] = runnable_order(h, pvc, order[sub]);
		/* spec §3: every hardware thread belongs to exactly one vcore during a run */
		unsigned span = ((1u << cr->subcore_size) - 1) << cr->first_thread[sub];
		assert(!(owned & span));
		owned |= span;
		assert(cr->first_thread[sub] + cr->subcore_size <= p->threads_per_core ||
		       p->threads_per_subcore < p->threads_per_core);
		cr->active_mask |= (uint16_t)(1u << cr->first_thread[sub]);
		for (int j = 0; j < norder[sub]; j++) {
			/* a vcore never spills out of its subcore */
			assert(order[sub][j]->ptid < cr->subcore_size);
			cr->active_mask |= (uint16_t)(1u << (cr->first_thread[sub] + order[sub][j]->ptid));
		}
	}
	trace_kvmhv_core_plan(h, cpu, pid, cr, controlled);
	for (int sub = 0; sub < cr->n_subcores; sub++) {
		struct hv_vcore *pvc = cr->vc[sub];
		for (int j = 0; j < norder[sub]; j++) {
			struct hv_vcpu *v = order[sub][j];
			v->late = 0;
			hv_start_thread(h, v, pvc, pvc->pcpu + v->ptid, 0);
			trace_kvm_guest_enter(h, cpu, pid, v);
		}
	}
	hv_vcore_set_state(h, vc, HV_VCORE_RUNNING, HV_CAUSE_RUN);
	trace_kvmppc_run_core(h, cpu, pid, vc, 0);

	cr->active = 1;
	cr->start = hv_env_now(h);
	cr->runner_task = vc->runner->task;
	hv_env_count(h, HV_STAT_RUN, 1);
	hv_env_count(h, cr->split == 1 ? HV_STAT_SPLIT1 : cr->split == 2 ? HV_STAT_SPLIT2 :
		     HV_STAT_SPLIT4, 1);
	if (cr->n_subcores > 1)
		hv_env_count(h, HV_STAT_PIGGYBACK, cr->n_subcores - 1);
	hv_env_enter_guest(h, vc->runner->task, cpu);
	/* __kvmppc_vcore_entry: every started thread enters (kvmppc_hv_entry) */
	for (int sub = 0; sub < cr->n_subcores; sub++)
		for (int j = 0; j < norder[sub]; j++)
			hv_env_guest_start(h, order[sub][j]);
	if (hv_env_next_tick(h, cpu) < hv_env_now(h) + 1000) {
		/* hdec_soon: HDEC below 512 ticks, every thread exits on HDEC at once (the
		 * host tick that is about to fire ends the window) */
		for (int sub = 0; sub < cr->n_subcores; sub++)
			cr->vc[sub]->hdec_soon_mask = (uint8_t)(cr->vc[sub]->entry_exit_map & 0xff);
		cr->hdec_soon = 1;
	} else {
		hv_check_all_napping(h, c);
	}
	return 1;
}
