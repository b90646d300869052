/*
 * The model's tracepoint call sites (see trace.h). Field order and ids come from the
 * generated build/gen/hv_events.h (tracepoints/events.def), so a change of the event table
 * is a compile error here, not a silent misplacement. Values follow spec 4.2 (stock kvm_hv)
 * and 6.2 (kvm_hv_sched decision events).
 */
#include <string.h>

#include "hv_events.h"
#include "trace.h"

#define V(n) struct hv_value v_[n]; memset(v_, 0, sizeof v_)
#define F(ev, f, x) (v_[HV_F_##ev##_##f].i = (int64_t)(x))

static inline int32_t tgid_of(const struct hv_vcpu *v)
{
	return v->vm->tgid;
}

void trace_kvm_guest_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(4);
	F(KVM_GUEST_ENTER, VCPU_ID, v->vcpu_id);
	F(KVM_GUEST_ENTER, PC, (v->pending_exceptions & HV_PEXC_EXTERNAL) ? 0xc000000000004500ULL :
	  (v->pending_exceptions & HV_PEXC_DEC) ? 0xc000000000004900ULL : v->pc);
	F(KVM_GUEST_ENTER, PENDING_EXCEPTIONS, v->pending_exceptions);
	F(KVM_GUEST_ENTER, CEDED, v->ceded);
	hv_env_emit(h, HV_EV_KVM_GUEST_ENTER, cpu, pid, v_);
}

void trace_kvm_guest_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(5);
	F(KVM_GUEST_EXIT, VCPU_ID, v->vcpu_id);
	F(KVM_GUEST_EXIT, TRAP, v->trap);
	F(KVM_GUEST_EXIT, PC, v->pc);
	F(KVM_GUEST_EXIT, MSR, v->msr);
	F(KVM_GUEST_EXIT, CEDED, v->ceded);
	hv_env_emit(h, HV_EV_KVM_GUEST_EXIT, cpu, pid, v_);
}

void trace_kvm_page_fault_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(8);
	F(KVM_PAGE_FAULT_ENTER, VCPU_ID, v->vcpu_id);
	F(KVM_PAGE_FAULT_ENTER, HPTE_V, 0x4001000000000001ULL | (v->hcall_arg << 12));
	F(KVM_PAGE_FAULT_ENTER, HPTE_R, v->hcall_arg << 12);
	F(KVM_PAGE_FAULT_ENTER, GPTE_R, v->hcall_arg << 12);
	F(KVM_PAGE_FAULT_ENTER, EA, 0x7fff00000000ULL + (v->hcall_arg << 12));
	F(KVM_PAGE_FAULT_ENTER, BASE_GFN, 0);
	F(KVM_PAGE_FAULT_ENTER, SLOT_FLAGS, 0);
	F(KVM_PAGE_FAULT_ENTER, DSISR, 0x0a000000);
	hv_env_emit(h, HV_EV_KVM_PAGE_FAULT_ENTER, cpu, pid, v_);
}

void trace_kvm_page_fault_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(4);
	F(KVM_PAGE_FAULT_EXIT, VCPU_ID, v->vcpu_id);
	F(KVM_PAGE_FAULT_EXIT, HPTE_V, 0x4001000000000001ULL | (v->hcall_arg << 12));
	F(KVM_PAGE_FAULT_EXIT, HPTE_R, v->hcall_arg << 12);
	F(KVM_PAGE_FAULT_EXIT, RET, 0);
	hv_env_emit(h, HV_EV_KVM_PAGE_FAULT_EXIT, cpu, pid, v_);
}

void trace_kvm_hcall_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(6);
	F(KVM_HCALL_ENTER, VCPU_ID, v->vcpu_id);
	F(KVM_HCALL_ENTER, REQ, v->hcall_req);
	F(KVM_HCALL_ENTER, GPR4, v->hcall_arg);
	hv_env_emit(h, HV_EV_KVM_HCALL_ENTER, cpu, pid, v_);
}

void trace_kvm_hcall_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v, int ret,
			  int64_t rc)
{
	V(3);
	F(KVM_HCALL_EXIT, VCPU_ID, v->vcpu_id);
	F(KVM_HCALL_EXIT, RET, ret);
	F(KVM_HCALL_EXIT, HCALL_RC, rc);
	hv_env_emit(h, HV_EV_KVM_HCALL_EXIT, cpu, pid, v_);
}

void trace_kvmppc_run_core(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			   int where)
{
	V(4);
	F(KVMPPC_RUN_CORE, N_RUNNABLE, vc->n_runnable);
	F(KVMPPC_RUN_CORE, RUNNER_VCPU, vc->runner ? vc->runner->vcpu_id : -1);
	F(KVMPPC_RUN_CORE, WHERE, where);
	F(KVMPPC_RUN_CORE, TGID, vc->vm->tgid);
	hv_env_emit(h, HV_EV_KVMPPC_RUN_CORE, cpu, pid, v_);
}

void trace_kvmppc_vcore_blocked(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
				int where)
{
	V(4);
	F(KVMPPC_VCORE_BLOCKED, N_RUNNABLE, vc->n_runnable);
	F(KVMPPC_VCORE_BLOCKED, RUNNER_VCPU, vc->runner ? vc->runner->vcpu_id : -1);
	F(KVMPPC_VCORE_BLOCKED, WHERE, where);
	F(KVMPPC_VCORE_BLOCKED, TGID, vc->vm->tgid);
	hv_env_emit(h, HV_EV_KVMPPC_VCORE_BLOCKED, cpu, pid, v_);
}

void trace_kvmppc_vcore_wakeup(struct hv_host *h, int cpu, int32_t pid, int32_t tgid, int waited,
			       uint64_t ns)
{
	V(3);
	F(KVMPPC_VCORE_WAKEUP, NS, ns);
	F(KVMPPC_VCORE_WAKEUP, WAITED, waited);
	F(KVMPPC_VCORE_WAKEUP, TGID, tgid);
	hv_env_emit(h, HV_EV_KVMPPC_VCORE_WAKEUP, cpu, pid, v_);
}

void trace_kvmppc_run_vcpu_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(2);
	F(KVMPPC_RUN_VCPU_ENTER, VCPU_ID, v->vcpu_id);
	F(KVMPPC_RUN_VCPU_ENTER, TGID, tgid_of(v));
	hv_env_emit(h, HV_EV_KVMPPC_RUN_VCPU_ENTER, cpu, pid, v_);
}

void trace_kvmppc_run_vcpu_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(3);
	F(KVMPPC_RUN_VCPU_EXIT, VCPU_ID, v->vcpu_id);
	F(KVMPPC_RUN_VCPU_EXIT, EXIT, v->exit_reason);
	F(KVMPPC_RUN_VCPU_EXIT, RET, v->ret);
	hv_env_emit(h, HV_EV_KVMPPC_RUN_VCPU_EXIT, cpu, pid, v_);
}

void trace_kvm_userspace_exit(struct hv_host *h, int cpu, int32_t pid, uint32_t reason, int err)
{
	V(2);
	F(KVM_USERSPACE_EXIT, REASON, reason);
	F(KVM_USERSPACE_EXIT, ERRNO, err);
	hv_env_emit(h, HV_EV_KVM_USERSPACE_EXIT, cpu, pid, v_);
}

void trace_sched_switch(struct hv_host *h, int cpu, const char *prev_comm, int32_t prev_pid,
			long prev_state, const char *next_comm, int32_t next_pid)
{
	V(7);
	v_[HV_F_SCHED_SWITCH_PREV_COMM].p = prev_comm;
	v_[HV_F_SCHED_SWITCH_PREV_COMM].len = (uint32_t)strlen(prev_comm);
	F(SCHED_SWITCH, PREV_PID, prev_pid);
	F(SCHED_SWITCH, PREV_PRIO, 120);
	F(SCHED_SWITCH, PREV_STATE, prev_state);
	v_[HV_F_SCHED_SWITCH_NEXT_COMM].p = next_comm;
	v_[HV_F_SCHED_SWITCH_NEXT_COMM].len = (uint32_t)strlen(next_comm);
	F(SCHED_SWITCH, NEXT_PID, next_pid);
	F(SCHED_SWITCH, NEXT_PRIO, 120);
	hv_env_emit(h, HV_EV_SCHED_SWITCH, cpu, prev_pid, v_);
}

void trace_sched_wakeup(struct hv_host *h, int cpu, int32_t waker_pid, const char *comm,
			int32_t pid, int target_cpu)
{
	V(4);
	v_[HV_F_SCHED_WAKEUP_COMM].p = comm;
	v_[HV_F_SCHED_WAKEUP_COMM].len = (uint32_t)strlen(comm);
	F(SCHED_WAKEUP, PID, pid);
	F(SCHED_WAKEUP, PRIO, 120);
	F(SCHED_WAKEUP, TARGET_CPU, target_cpu);
	hv_env_emit(h, HV_EV_SCHED_WAKEUP, cpu, waker_pid, v_);
}

void trace_kvmhv_vcpu_place(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v,
			    int sub, int late, int hw_cpu, int pcpu)
{
	V(10);
	F(KVMHV_VCPU_PLACE, LPID, v->vm->lpid);
	F(KVMHV_VCPU_PLACE, VCPU_ID, v->vcpu_id);
	F(KVMHV_VCPU_PLACE, VCORE_FIRST_ID, v->vc->first_vcpuid);
	F(KVMHV_VCPU_PLACE, PTID, v->ptid);
	F(KVMHV_VCPU_PLACE, SUB, sub);
	F(KVMHV_VCPU_PLACE, LATE_JOIN, late);
	F(KVMHV_VCPU_PLACE, CEDED, v->ceded);
	F(KVMHV_VCPU_PLACE, HW_CPU, hw_cpu);
	F(KVMHV_VCPU_PLACE, PCPU, pcpu);
	F(KVMHV_VCPU_PLACE, PENDING_EXCEPTIONS, v->pending_exceptions);
	hv_env_emit(h, HV_EV_KVMHV_VCPU_PLACE, cpu, pid, v_);
}

void trace_kvmhv_core_plan(struct hv_host *h, int cpu, int32_t pid, const struct hv_core_run *cr,
			   int controlled)
{
	const struct hv_params *p = hv_env_params(h);
	V(30);
	F(KVMHV_CORE_PLAN, PCPU, cr->pcpu);
	F(KVMHV_CORE_PLAN, CONTROLLED_THREADS, controlled);
	F(KVMHV_CORE_PLAN, TARGET_THREADS, cr->target);
	F(KVMHV_CORE_PLAN, N_SUBCORES, cr->n_subcores);
	F(KVMHV_CORE_PLAN, SPLIT, cr->split);
	F(KVMHV_CORE_PLAN, SUBCORE_SIZE, cr->subcore_size);
	F(KVMHV_CORE_PLAN, DYNAMIC_MT_MODES, p->dynamic_mt_modes);
	F(KVMHV_CORE_PLAN, TARGET_SMT_MODE, p->target_smt_mode);
	F(KVMHV_CORE_PLAN, THREADS_PER_SUBCORE, p->threads_per_subcore);
	F(KVMHV_CORE_PLAN, ACTIVE_MASK, cr->active_mask);
	for (int k = 0; k < cr->n_subcores && k < HV_MAX_SUBCORES; k++) {
		const struct hv_vcore *vc = cr->vc[k];
		int b = HV_F_KVMHV_CORE_PLAN_LPID0 + 5 * k;
		v_[b + 0].i = vc->vm->lpid;
		v_[b + 1].i = vc->first_vcpuid;
		v_[b + 2].i = vc->num_threads;
		v_[b + 3].i = vc->n_runnable;
		v_[b + 4].i = cr->first_thread[k];
	}
	hv_env_emit(h, HV_EV_KVMHV_CORE_PLAN, cpu, pid, v_);
}

void trace_kvmhv_piggyback_check(struct hv_host *h, int cpu, int32_t pid,
				 const struct hv_vcore *cand, int result,
				 const struct hv_core_run *cr)
{
	V(9);
	F(KVMHV_PIGGYBACK_CHECK, PCPU, cr->pcpu);
	F(KVMHV_PIGGYBACK_CHECK, CAND_LPID, cand->vm->lpid);
	F(KVMHV_PIGGYBACK_CHECK, CAND_FIRST_VCPUID, cand->first_vcpuid);
	F(KVMHV_PIGGYBACK_CHECK, CAND_NUM_THREADS, cand->num_threads);
	F(KVMHV_PIGGYBACK_CHECK, CAND_N_RUNNABLE, cand->n_runnable);
	F(KVMHV_PIGGYBACK_CHECK, RESULT, result);
	F(KVMHV_PIGGYBACK_CHECK, N_SUBCORES_AFTER, cr->n_subcores);
	F(KVMHV_PIGGYBACK_CHECK, TOTAL_THREADS_AFTER, cr->total_threads);
	F(KVMHV_PIGGYBACK_CHECK, MAX_SUBCORE_THREADS_AFTER, cr->max_subcore_threads);
	hv_env_emit(h, HV_EV_KVMHV_PIGGYBACK_CHECK, cpu, pid, v_);
}

void trace_kvmhv_core_abort(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			    int reason, int n_returned)
{
	V(5);
	F(KVMHV_CORE_ABORT, PCPU, cpu);
	F(KVMHV_CORE_ABORT, LPID, vc->vm->lpid);
	F(KVMHV_CORE_ABORT, RUNNER_VCPU, vc->runner ? vc->runner->vcpu_id : -1);
	F(KVMHV_CORE_ABORT, REASON, reason);
	F(KVMHV_CORE_ABORT, N_PIGGYBACKED_RETURNED, n_returned);
	hv_env_emit(h, HV_EV_KVMHV_CORE_ABORT, cpu, pid, v_);
}

void trace_kvmhv_vcore_state(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			     int old, int new_state, int cause)
{
	V(8);
	F(KVMHV_VCORE_STATE, LPID, vc->vm->lpid);
	F(KVMHV_VCORE_STATE, FIRST_VCPUID, vc->first_vcpuid);
	F(KVMHV_VCORE_STATE, OLD, old);
	F(KVMHV_VCORE_STATE, NEW, new_state);
	F(KVMHV_VCORE_STATE, ON_LIST, vc->pl_cpu >= 0);
	F(KVMHV_VCORE_STATE, CAUSE, cause);
	F(KVMHV_VCORE_STATE, LIST_CPU, vc->pl_cpu);
	F(KVMHV_VCORE_STATE, RUNNER_VCPU, vc->runner ? vc->runner->vcpu_id : -1);
	hv_env_emit(h, HV_EV_KVMHV_VCORE_STATE, cpu, pid, v_);
}

void trace_kvmhv_core_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_core_run *cr,
			   uint8_t too_late, uint8_t hdec_soon)
{
	V(22);
	F(KVMHV_CORE_EXIT, PCPU, cr->pcpu);
	F(KVMHV_CORE_EXIT, SPLIT, cr->split);
	F(KVMHV_CORE_EXIT, TOO_LATE_MASK, too_late);
	F(KVMHV_CORE_EXIT, HDEC_SOON_MASK, hdec_soon);
	F(KVMHV_CORE_EXIT, PULLED_MASK, cr->pulled_mask);
	for (int k = 0; k < cr->n_subcores && k < HV_MAX_SUBCORES; k++) {
		const struct hv_vcore *vc = cr->vc[k];
		v_[HV_F_KVMHV_CORE_EXIT_ENTRY_EXIT_MAP0 + k].i = vc->entry_exit_map & 0xffff;
		v_[HV_F_KVMHV_CORE_EXIT_NAPPING_THREADS0 + k].i = vc->napping_threads;
		v_[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_PTID0 + k].i = (uint8_t)vc->first_exit_ptid;
		v_[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_TRAP0 + k].i = vc->first_exit_trap;
	}
	uint64_t now = hv_env_now(h);
	F(KVMHV_CORE_EXIT, GUEST_TIME_TB, (now - cr->start) * 512 / 1000);
	hv_env_emit(h, HV_EV_KVMHV_CORE_EXIT, cpu, pid, v_);
}

void trace_kvmhv_cede(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v)
{
	V(8);
	F(KVMHV_CEDE, LPID, v->vm->lpid);
	F(KVMHV_CEDE, VCPU_ID, v->vcpu_id);
	F(KVMHV_CEDE, PATH, 0);
	F(KVMHV_CEDE, OUTCOME, v->last_cede_outcome);
	F(KVMHV_CEDE, LAST_WAKE_REASON, v->last_wake);
	F(KVMHV_CEDE, N_CEDES, v->n_cedes);
	F(KVMHV_CEDE, N_NAPS, v->n_naps);
	F(KVMHV_CEDE, DEC_EXPIRES, v->dec_expires == HV_TB_NIL ? 0 : v->dec_expires * 512 / 1000);
	hv_env_emit(h, HV_EV_KVMHV_CEDE, cpu, pid, v_);
}

void trace_kvmhv_prod(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *src,
		      const struct hv_vcpu *dst, int kicked_cpu)
{
	V(6);
	F(KVMHV_PROD, LPID, src->vm->lpid);
	F(KVMHV_PROD, SRC_VCPU, src->vcpu_id);
	F(KVMHV_PROD, DST_VCPU, dst->vcpu_id);
	F(KVMHV_PROD, DST_CEDED, dst->ceded);
	F(KVMHV_PROD, DST_STATE, dst->state);
	F(KVMHV_PROD, KICKED_CPU, kicked_cpu);
	hv_env_emit(h, HV_EV_KVMHV_PROD, cpu, pid, v_);
}

void trace_kvmhv_confer(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v,
			int decision)
{
	V(8);
	F(KVMHV_CONFER, LPID, v->vm->lpid);
	F(KVMHV_CONFER, VCPU_ID, v->vcpu_id);
	F(KVMHV_CONFER, TARGET, -1);
	F(KVMHV_CONFER, DECISION, decision);
	F(KVMHV_CONFER, ENTRY_MAP, v->vc->entry_exit_map & 0xff);
	F(KVMHV_CONFER, NAPPING, v->vc->napping_threads);
	F(KVMHV_CONFER, CONFERRING, v->vc->conferring_threads);
	F(KVMHV_CONFER, YIELD_TO_PID, -1);
	hv_env_emit(h, HV_EV_KVMHV_CONFER, cpu, pid, v_);
}

void trace_kvmhv_kick(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v, int source,
		      int woke, int ipi_cpu, int ipi_method)
{
	V(6);
	F(KVMHV_KICK, LPID, v->vm->lpid);
	F(KVMHV_KICK, VCPU_ID, v->vcpu_id);
	F(KVMHV_KICK, SOURCE, source);
	F(KVMHV_KICK, WOKE_WAITER, woke);
	F(KVMHV_KICK, IPI_METHOD, ipi_method);
	F(KVMHV_KICK, IPI_CPU, ipi_cpu);
	hv_env_emit(h, HV_EV_KVMHV_KICK, cpu, pid, v_);
}

void trace_kvmhv_block_adjust(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			      uint32_t old_ns, uint32_t new_ns, uint64_t block_ns, int outcome)
{
	V(6);
	F(KVMHV_BLOCK_ADJUST, LPID, vc->vm->lpid);
	F(KVMHV_BLOCK_ADJUST, FIRST_VCPUID, vc->first_vcpuid);
	F(KVMHV_BLOCK_ADJUST, OLD_POLL_NS, old_ns);
	F(KVMHV_BLOCK_ADJUST, NEW_POLL_NS, new_ns);
	F(KVMHV_BLOCK_ADJUST, BLOCK_NS, block_ns);
	F(KVMHV_BLOCK_ADJUST, OUTCOME, outcome);
	hv_env_emit(h, HV_EV_KVMHV_BLOCK_ADJUST, cpu, pid, v_);
}
