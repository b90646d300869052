/*
 * Idle and wake-up of vcpus (seed 004, spec 2.9): real-mode H_CEDE (nap unless every
 * entered thread of the vcore naps, cancelled by an earlier H_PROD), the wake of a napping
 * thread, kvmppc_fast_vcpu_kick_hv, H_PROD (virtual mode), real-mode H_CONFER, and the guest
 * DEC hrtimer armed for a ceded vcpu in the host (kvmppc_decrementer_func).
 */
#include <stddef.h>

#include "model.h"
#include "trace.h"

/* kvmppc_h_cede, real mode; the vcpu's thread is in the guest. */
void hv_h_cede(struct hv_host *h, struct hv_vcpu *v, uint64_t dec_expires)
{
	struct hv_vcore *vc = v->vc;
	unsigned bit = 1u << v->ptid;
	v->ceded = 1;
	v->n_cedes++;
	v->dec_expires = dec_expires;
	hv_env_count(h, HV_STAT_CEDE, 1);
	switch (hv_cede_decide(hv_env_profile(h), v->prodded, vc->napping_threads | bit,
			       vc->entry_exit_map)) {
	case HV_CEDE_ACT_CANCEL:
		v->prodded = 0;
		v->ceded = 0;
		v->last_cede_outcome = HV_CEDE_PROD_CANCEL;
		hv_env_count(h, HV_STAT_PROD_CANCEL, 1);
		hv_env_guest_run(h, v);
		return;
	case HV_CEDE_ACT_EXIT:
		/* kvm_cede_exit: the whole vcore goes idle in the host, trap 0, ceded 1 */
		vc->napping_threads |= (uint8_t)bit;
		v->napping = 1;
		v->last_cede_outcome = HV_CEDE_VCORE_EXIT;
		hv_commence_exit(h, hv_env_cpu(h, vc->run_cpu), v, 0);
		return;
	default:
		vc->napping_threads |= (uint8_t)bit;
		v->napping = 1;
		v->n_naps++;
		v->last_cede_outcome = HV_CEDE_NAPPED;
		hv_env_arm_dec(h, v);
		return;
	}
}

/* kvm_end_cede / kvmppc_cede_reentry: a napping thread wakes and stays in the guest. */
void hv_nap_wake(struct hv_host *h, struct hv_vcpu *v, int reason)
{
	v->vc->napping_threads &= (uint8_t)~(1u << v->ptid);
	v->napping = 0;
	v->ceded = 0;
	v->last_wake = (uint8_t)reason;
	v->pending_exceptions = 0;	/* delivered at re-entry */
	hv_env_cancel_dec(h, v);
	hv_env_guest_run(h, v);
}

/* kvmppc_fast_vcpu_kick_hv: wake the vcore waiter, IPI the vcpu's thread. The caller queued
 * the interrupt (or set prodded). */
void hv_fast_vcpu_kick(struct hv_host *h, struct hv_vcpu *v, int source, int from_cpu)
{
	int cpu;
	int32_t pid;
	(void)from_cpu;
	hv_env_ctx(h, &cpu, &pid);
	int woke = hv_vcore_kick_waiter(h, v->vc);
	int ipi_cpu = v->thread_cpu;
	if (v->entered) {
		if (v->napping)
			hv_nap_wake(h, v, 8);	/* SRR1 wake: external */
		else
			v->pending_exceptions = 0;	/* taken in the guest, no exit */
	}
	trace_kvmhv_kick(h, cpu, pid, v, source, woke, ipi_cpu, ipi_cpu >= 0 ? 0 : 2);
}

/* H_PROD, virtual mode, in the caller's task. */
void hv_h_prod(struct hv_host *h, struct hv_vcpu *src, struct hv_vcpu *dst)
{
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	dst->prodded = 1;
	int kick = hv_prod_kicks(hv_env_profile(h), dst->ceded, src->ceded);
	trace_kvmhv_prod(h, cpu, pid, src, dst, kick ? dst->thread_cpu : -1);
	if (kick)
		hv_fast_vcpu_kick(h, dst, HV_KICK_PROD, cpu);
}

/* kvmppc_rm_h_confer: returns 1 if the vcpu exits to the host to yield. */
int hv_h_confer_realmode(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vcore *vc = v->vc;
	int cpu;
	int32_t pid;
	hv_env_ctx(h, &cpu, &pid);
	vc->conferring_threads |= (uint8_t)(1u << v->ptid);
	int yield = hv_confer_decide(vc->napping_threads, vc->conferring_threads,
				     vc->entry_exit_map);
	trace_kvmhv_confer(h, cpu, pid, v, yield);
	vc->conferring_threads &= (uint8_t)~(1u << v->ptid);
	return yield;
}

/* The guest DEC expires: wakes a napping thread in the guest, or (ceded in the host) the
 * hrtimer queues a DEC interrupt and kicks the vcore waiter. */
void hv_dec_timer_fire(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->entered) {
		if (v->napping)
			hv_nap_wake(h, v, 6);	/* SRR1 wake: decrementer */
		return;
	}
	if (!v->ceded)
		return;
	v->pending_exceptions |= HV_PEXC_DEC;
	hv_fast_vcpu_kick(h, v, HV_KICK_DEC_TIMER, -1);
}
