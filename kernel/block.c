/*
 * Blocking an idle vcore (spec 2.10): kvmppc_vcore_blocked with halt polling (VCORE_POLLING,
 * v4.9+), the sleep on vc->wait (VCORE_SLEEPING with kvmppc_vcore_blocked Enter/Exit), the
 * poll-interval adjustment (hv_halt_poll_adjust in profile.c) and kvmppc_vcore_wakeup. The
 * runner's task polls or sleeps in the simulator and comes back through
 * hv_vcore_block_poll_end or hv_vcore_block_woken.
 */
#include <stddef.h>

#include "model.h"
#include "trace.h"

/* kvmppc_vcore_check_block: some runnable vcpu is not ceded, or is woken. */
int hv_vcore_check_block(const struct hv_vcore *vc)
{
	for (int i = 0; i < HV_MAX_SMT; i++) {
		const struct hv_vcpu *v = vc->runnable_threads[i];
		if (v && (!v->ceded || hv_vcpu_woken(v)))
			return 1;
	}
	return 0;
}

/* rcuwait_wake_up(&vc->wait) as done by a kick: stop a poll, or wake the sleeping runner. */
int hv_vcore_kick_waiter(struct hv_host *h, struct hv_vcore *vc)
{
	if (!vc->runner)
		return 0;
	if (vc->vcore_state == HV_VCORE_POLLING) {
		hv_env_poll_stop(h, vc);
		return 1;
	}
	if (vc->vcore_state == HV_VCORE_SLEEPING) {
		hv_env_wake(h, vc->runner->task);
		return 1;
	}
	return 0;
}

static void block_finish(struct hv_host *h, struct hv_vcore *vc, int waited, int outcome)
{
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	const struct hv_params *p = hv_env_params(h);
	uint64_t block_ns = hv_env_now(h) - vc->block_start;
	uint32_t old = vc->halt_poll_ns;
	vc->halt_poll_ns = hv_env_profile(h)->halt_poll ? hv_halt_poll_adjust(p, old, block_ns) : 0;
	trace_kvmhv_block_adjust(h, cpu, pid, vc, old, vc->halt_poll_ns, block_ns, outcome);
	/* the kvmppc_vcore_wakeup tracepoint came with halt polling (v4.9, spec §4.1, §3 E49) */
	if (hv_env_profile(h)->halt_poll)
		trace_kvmppc_vcore_wakeup(h, cpu, pid, vc->vm->tgid, waited, block_ns);
}

/* The sleeping part of kvmppc_vcore_blocked. Returns 1 if the runner now sleeps. */
static int block_sleep(struct hv_host *h, struct hv_vcore *vc, int polled)
{
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	if (hv_vcore_check_block(vc)) {
		block_finish(h, vc, 0, polled ? HV_BLOCK_POLL_OK : HV_BLOCK_IMMEDIATE);
		return 0;
	}
	hv_vcore_set_state(h, vc, HV_VCORE_SLEEPING, HV_CAUSE_BLOCK);
	trace_kvmppc_vcore_blocked(h, cpu, pid, vc, 0);
	hv_env_count(h, HV_STAT_BLOCK, 1);
	hv_env_sleep(h, vc->runner->task, HV_RES_BLOCK_WAKE);
	return 1;
}

int hv_vcore_blocked(struct hv_host *h, struct hv_vcore *vc)
{
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	vc->block_start = hv_env_now(h);
	vc->block_old_poll = vc->halt_poll_ns;
	if (hv_env_profile(h)->halt_poll && vc->halt_poll_ns > 0 &&
	    !hv_env_cpu_has_waiters(h, cpu)) {
		hv_vcore_set_state(h, vc, HV_VCORE_POLLING, HV_CAUSE_POLL);
		hv_env_poll(h, vc, vc->block_start + vc->halt_poll_ns);
		return 1;
	}
	return block_sleep(h, vc, 0);
}

/* The poll loop ended: a wake-up, the interval elapsed, or another task wants the CPU. */
void hv_vcore_block_poll_end(struct hv_host *h, struct hv_vcore *vc)
{
	struct hv_vcpu *runner = vc->runner;
	hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_POLL);
	if (hv_vcore_check_block(vc)) {
		block_finish(h, vc, 0, HV_BLOCK_POLL_OK);
		hv_run_vcpu_continue(h, runner);
		return;
	}
	if (!block_sleep(h, vc, 1))
		hv_run_vcpu_continue(h, runner);
}

/* schedule() returned in kvmppc_vcore_blocked. */
void hv_vcore_block_woken(struct hv_host *h, struct hv_vcore *vc)
{
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	struct hv_vcpu *runner = vc->runner;
	hv_vcore_set_state(h, vc, HV_VCORE_INACTIVE, HV_CAUSE_BLOCK);
	trace_kvmppc_vcore_blocked(h, cpu, pid, vc, 1);
	block_finish(h, vc, 1, HV_BLOCK_SLEPT);
	hv_run_vcpu_continue(h, runner);
}
