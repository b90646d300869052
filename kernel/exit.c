/*
 * Guest entry and exit coordination of one kvmppc_run_core window (spec 2.8, real mode in
 * book3s_hv_rmhandlers.S / kvmhv_commence_exit): the entry map (a thread enters only while
 * no exit has started, else it is "too late"), the first exiter that IPIs the other threads,
 * VCORE_EXIT_REQ pulling every other subcore out, hdec_soon, and then the host side of
 * kvmppc_run_core after kvmppc_wait_for_nap: EXITING, kvmhv_core_exit, post_guest_process
 * for every subcore (master first), INACTIVE and kvmppc_run_core Exit.
 */
#include <assert.h>
#include <stddef.h>

#include "model.h"
#include "trace.h"

/* kvmppc_hv_entry for the thread of vcpu v. */
void hv_thread_entry(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vcore *vc = v->vc;
	unsigned bit = 1u << v->ptid;
	if (vc->entry_exit_map >= 0x100) {	/* an exit started: too late */
		vc->too_late_mask |= (uint8_t)bit;
		return;
	}
	vc->entry_exit_map |= bit;
	v->entered = 1;
	if (v->pending_exceptions) {		/* delivered on entry */
		v->pending_exceptions = 0;
		v->ceded = 0;
	}
	if (v->ceded) {
		/* an idle vcpu: H_CEDE returns and it cedes again at once, so it naps */
		vc->napping_threads |= (uint8_t)bit;
		v->napping = 1;
		hv_env_arm_dec(h, v);
	} else {
		hv_env_guest_run(h, v);
	}
}

/* After entry: a vcore whose entered threads all nap exits at once (kvm_cede_exit). */
void hv_check_all_napping(struct hv_host *h, struct hv_cpu *c)
{
	struct hv_core_run *cr = &c->run;
	for (int sub = 0; sub < cr->n_subcores; sub++) {
		struct hv_vcore *vc = cr->vc[sub];
		unsigned entry = vc->entry_exit_map & 0xff;
		if (!entry || vc->entry_exit_map >= 0x100 || (vc->napping_threads & entry) != entry)
			continue;
		struct hv_vcpu *last = NULL;
		for (int i = 0; i < HV_MAX_SMT; i++)
			if (vc->runnable_threads[i] && vc->runnable_threads[i]->napping)
				last = vc->runnable_threads[i];
		hv_env_defer_exit(h, c, last, 0);
		return;
	}
}

static int lowest_entered_ptid(const struct hv_vcore *vc)
{
	for (int p = 0; p < HV_MAX_SMT; p++)
		if (vc->entry_exit_map & (1u << p))
			return p;
	return 0xff;
}

/* kvmhv_commence_exit as seen by every thread: `first` (NULL: the subcore-0 primary without
 * a vcpu) leaves the guest with `trap`; every other thread of every subcore follows. */
void hv_commence_exit(struct hv_host *h, struct hv_cpu *c, struct hv_vcpu *first, int trap)
{
	struct hv_core_run *cr = &c->run;
	assert(cr->active);
	/* spec §3: only the runner's task executes the guest on the primary thread */
	assert(hv_env_cpu_curr(h, c->id) == cr->runner_task);
	const struct hv_params *p = hv_env_params(h);
	int ipi_trap = p->cpu_model == 7 ? HV_TRAP_EXTERNAL : HV_TRAP_H_DOORBELL;
	int fsub = first ? first->vc->sub : 0;
	for (int sub = 0; sub < cr->n_subcores; sub++) {
		struct hv_vcore *pvc = cr->vc[sub];
		if (sub == fsub) {
			pvc->first_exit_ptid = first ? first->ptid : 0;
			pvc->first_exit_trap = trap;
		} else {
			/* VCORE_EXIT_REQ: pulled out by the exit in another subcore */
			pvc->first_exit_ptid = lowest_entered_ptid(pvc);
			pvc->first_exit_trap = ipi_trap;
			pvc->entry_exit_map |= HV_VCORE_EXIT_REQ;
			cr->pulled_mask |= (uint8_t)(1u << sub);
		}
		for (int i = 0; i < HV_MAX_SMT; i++) {
			struct hv_vcpu *v = pvc->runnable_threads[i];
			if (!v)
				continue;
			if (!v->entered) {
				/* started late and not yet in, or became runnable too late */
				if (v->thread_cpu >= 0)
					pvc->too_late_mask |= (uint8_t)(1u << v->ptid);
				v->trap = 0;
				hv_env_guest_stop(h, v);
				continue;
			}
			int t;
			if (v == first)
				t = trap;
			else if (sub == fsub && trap == HV_TRAP_HV_DECREMENTER)
				t = v->napping ? 0 : HV_TRAP_HV_DECREMENTER;	/* shared HDEC */
			else
				t = ipi_trap;		/* IPI from the first exiter */
			v->trap = t;
			pvc->entry_exit_map |= 0x100u << v->ptid;
			if (v->napping && v != first)
				v->last_wake = p->cpu_model == 7 ? 8 : 3;	/* external / hv doorbell */
			hv_env_guest_stop(h, v);
			v->napping = 0;
			v->entered = 0;
		}
	}
	hv_core_exit(h, c);
}

/* kvmppc_run_core after __kvmppc_vcore_entry returned on the primary thread. */
void hv_core_exit(struct hv_host *h, struct hv_cpu *c)
{
	struct hv_core_run *cr = &c->run;
	struct hv_vcore *vc = cr->vc[0];
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	assert(cpu == c->id);
	hv_vcore_set_state(h, vc, HV_VCORE_EXITING, HV_CAUSE_RUN);
	uint8_t too_late = 0, hdec_soon = 0;
	for (int sub = 0; sub < cr->n_subcores; sub++) {
		too_late |= cr->vc[sub]->too_late_mask;
		hdec_soon |= cr->vc[sub]->hdec_soon_mask;
		/* every entered thread has exited (wait_for_nap) */
		unsigned m = cr->vc[sub]->entry_exit_map;
		assert(((m >> 8) & 0xff) == (m & 0xff));
	}
	trace_kvmhv_core_exit(h, cpu, pid, cr, too_late, hdec_soon);
	cr->active = 0;
	hv_env_exit_guest(h, cr->runner_task);
	for (int sub = 0; sub < cr->n_subcores; sub++) {
		hv_post_guest_process(h, cr->vc[sub], sub == 0, cpu);
		cr->vc[sub]->run_cpu = -1;
	}
	hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_POST_GUEST);
	trace_kvmppc_run_core(h, cpu, pid, vc, 1);
	struct hv_vcpu *runner = vc->runner;
	assert(runner && runner->task == cr->runner_task);
	hv_run_vcpu_continue(h, runner);
}
