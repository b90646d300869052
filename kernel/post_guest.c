/*
 * After the guest (spec 2.6): post_guest_process for one vcore of the finished run, on the
 * runner's CPU and task: kvm_guest_exit for each runnable vcpu in ptid order, the stashed
 * real-mode cede facts (kvmhv_cede), kvmppc_handle_exit_hv, kvmppc_set_timer for ceded
 * vcpus, removal and wake-up of vcpus whose task must handle the exit, and for piggybacked
 * vcores the return to PREEMPT (back on this CPU's list) or INACTIVE.
 */
#include <assert.h>
#include <stddef.h>

#include "model.h"
#include "trace.h"

/* kvmppc_handle_exit_hv: the outcomes that matter for scheduling */
int hv_handle_exit_hv(struct hv_host *h, struct hv_vcpu *v)
{
	(void)h;
	switch (v->trap) {
	case HV_TRAP_HV_DECREMENTER:
	case HV_TRAP_EXTERNAL:
	case HV_TRAP_H_DOORBELL:
		return HV_RESUME_GUEST;
	case HV_TRAP_SYSCALL:
		v->exit_reason = HV_EXIT_PAPR_HCALL;
		return HV_RESUME_HOST;
	case HV_TRAP_H_DATA_STORAGE:
		return HV_RESUME_PAGE_FAULT;
	default:
		return HV_RESUME_HOST;
	}
}

void hv_post_guest_process(struct hv_host *h, struct hv_vcore *vc, int is_master, int cpu)
{
	int ccpu;
	int32_t pid;
	hv_env_ctx(h, &ccpu, &pid);
	int still_running = 0;
	struct hv_vcpu *order[HV_MAX_SMT];
	int n = 0;
	for (int p = 0; p < HV_MAX_SMT; p++)		/* ptid order */
		for (int i = 0; i < HV_MAX_SMT; i++)
			if (vc->runnable_threads[i] && vc->runnable_threads[i]->ptid == p)
				order[n++] = vc->runnable_threads[i];
	assert(n == vc->n_runnable);
	for (int j = 0; j < n; j++) {
		struct hv_vcpu *v = order[j];
		trace_kvm_guest_exit(h, ccpu, pid, v);
		if (v->n_cedes) {
			trace_kvmhv_cede(h, ccpu, pid, v);
			v->n_cedes = v->n_naps = 0;
		}
		int ret = v->trap ? hv_handle_exit_hv(h, v) : HV_RESUME_GUEST;
		v->ret = ret;
		v->trap = 0;
		v->thread_cpu = -1;
		v->cpu = -1;
		v->late = 0;
		if (ret == HV_RESUME_GUEST || ret == HV_RESUME_GUEST_NV) {
			if (v->ceded)
				hv_env_arm_dec(h, v);	/* kvmppc_set_timer */
			else
				still_running++;
		} else {
			hv_remove_runnable(h, vc, v);
			hv_env_wake(h, v->task);
		}
	}
	if (!is_master) {
		if (still_running > 0)
			hv_vcore_preempt(h, vc, cpu);
		else if (vc->runner)
			hv_vcore_set_state(h, vc, HV_VCORE_PREEMPT, HV_CAUSE_POST_GUEST);
		else
			hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_POST_GUEST);
		if (vc->n_runnable > 0 && vc->runner == NULL)
			hv_wake_candidate(h, vc);
	}
}
