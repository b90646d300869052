/*
 * The KVM_RUN side of the gang path (spec 2.3): kvmppc_run_vcpu. A vcpu task joins its vcore
 * (RUNNABLE), late-joins a vcore that is already in the guest, or loops: reclaim a parked
 * vcore, wait while someone else drives it, or become its runner and then block (all idle),
 * yield (need_resched) or run the core. The simulator re-enters the loop at the resume points
 * of enum hv_resume, so each sleeping point of the kernel loop is one return here.
 */
#include <assert.h>
#include <stddef.h>

#include "model.h"
#include "trace.h"

static struct hv_task *task_of(struct hv_vcpu *v)
{
	return v->task;
}

/* Wake the lowest-ptid runnable vcpu as the next runner candidate. */
void hv_wake_candidate(struct hv_host *h, struct hv_vcore *vc)
{
	for (int i = 0; i < HV_MAX_SMT; i++)
		if (vc->runnable_threads[i]) {
			hv_env_wake(h, task_of(vc->runnable_threads[i]));
			return;
		}
}

static void late_join(struct hv_host *h, struct hv_vcpu *v, int cpu, int32_t pid)
{
	struct hv_vcore *vc = v->vc;
	int ptid = v->ptid;
	const struct hv_profile *pr = hv_env_profile(h);
	if (pr->ptid_rule != HV_PTID_FIXED) {
		/* dynamic ptids: the next free thread of the subcore */
		unsigned used = vc->entry_exit_map & 0xff;
		for (int i = 0; i < HV_MAX_SMT; i++)
			if (vc->runnable_threads[i] && vc->runnable_threads[i] != v &&
			    vc->runnable_threads[i]->thread_cpu >= 0)
				used |= 1u << vc->runnable_threads[i]->ptid;
		for (ptid = 0; used & (1u << ptid); ptid++)
			;
		v->ptid = ptid;
	}
	v->late = 1;
	hv_start_thread(h, v, vc, vc->pcpu + v->ptid, 1);
	trace_kvm_guest_enter(h, cpu, pid, v);
	hv_env_count(h, HV_STAT_LATE_JOIN, 1);
	hv_env_guest_start(h, v);
}

/* kvmppc_run_vcpu, up to the loop. */
void hv_run_vcpu_enter(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vcore *vc = v->vc;
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	trace_kvmppc_run_vcpu_enter(h, cpu, pid, v);
	v->exit_reason = 0;
	v->ret = HV_RESUME_GUEST;
	v->trap = 0;
	v->ceded = 0;
	int first_run = !v->ever_ran;
	v->ever_ran = 1;
	hv_vcore_add_runnable(h, vc, v);
	if (hv_late_join_ok(hv_env_profile(h), vc->vcore_state, vc->entry_exit_map, first_run) &&
	    vc->run_cpu >= 0)
		late_join(h, v, cpu, pid);
	else if (vc->vcore_state == HV_VCORE_SLEEPING || vc->vcore_state == HV_VCORE_POLLING) {
		int woke = hv_vcore_kick_waiter(h, vc);
		trace_kvmhv_kick(h, cpu, pid, v, HV_KICK_NEW_RUNNABLE, woke, -1, 2);
	}
	hv_run_vcpu_loop(h, v);
}

static void run_vcpu_finish(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vcore *vc = v->vc;
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	if (vc->vcore_state == HV_VCORE_PREEMPT && vc->runner == NULL)
		hv_vcore_end_preempt(h, vc);
	if (vc->n_runnable > 0 && vc->vcore_state == HV_VCORE_INACTIVE)
		hv_wake_candidate(h, vc);
	trace_kvmppc_run_vcpu_exit(h, cpu, pid, v);
	hv_env_vcpu_host_work(h, v);
}

/* The main loop of kvmppc_run_vcpu; returns when the task sleeps, yields, polls or enters
 * the guest, or after the vcpu left KVM_RUN. */
void hv_run_vcpu_loop(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vcore *vc = v->vc;
	const struct hv_profile *pr = hv_env_profile(h);
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	while (v->state == HV_VCPU_RUNNABLE) {
		if (vc->vcore_state == HV_VCORE_PREEMPT && vc->runner == NULL)
			hv_vcore_end_preempt(h, vc);	/* reclaim a parked vcore */
		if (vc->vcore_state != HV_VCORE_INACTIVE) {
			hv_env_sleep(h, task_of(v), HV_RES_LOOP);	/* kvmppc_wait_for_exec */
			return;
		}
		hv_prepare_threads(h, vc);
		if (vc->n_runnable == 0 || v->state != HV_VCPU_RUNNABLE)
			break;
		struct hv_start_counts cnt;
		hv_vcore_counts(vc, &cnt);
		if (!hv_start_ok(pr, &cnt)) {
			hv_env_sleep(h, task_of(v), HV_RES_LOOP);
			return;
		}
		int n_ceded = 0;
		for (int i = 0; i < HV_MAX_SMT; i++) {
			struct hv_vcpu *w = vc->runnable_threads[i];
			if (!w || !w->ceded)
				continue;
			if (!hv_vcpu_woken(w))
				n_ceded++;
			else
				w->ceded = 0;
		}
		vc->runner = v;
		if (n_ceded == vc->n_runnable) {
			if (hv_vcore_blocked(h, vc))
				return;
		} else if (hv_env_need_resched(h, cpu)) {
			hv_vcore_preempt(h, vc, cpu);
			hv_env_yield(h, task_of(v), HV_RES_AFTER_PREEMPT);	/* cond_resched_lock */
			return;
		} else if (hv_run_core(h, vc)) {
			return;		/* in the guest; hv_core_exit continues */
		}
		vc->runner = NULL;
	}
	run_vcpu_finish(h, v);
}

/* After cond_resched_lock returned. */
void hv_run_vcpu_after_preempt(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vcore *vc = v->vc;
	if (vc->vcore_state == HV_VCORE_PREEMPT)
		hv_vcore_end_preempt(h, vc);
	hv_run_vcpu_continue(h, v);
}

/* `vc->runner = NULL` at the bottom of the loop, then around again. */
void hv_run_vcpu_continue(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->vc->runner == v)
		v->vc->runner = NULL;
	hv_run_vcpu_loop(h, v);
}
