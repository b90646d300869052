/*
 * trace_<event>() helpers: the model's tracepoint call sites. Each builds the event's field
 * values in the order of tracepoints/events.def (the generated HV_F_* enums) and hands them
 * to the host's sink through hv_env_emit, which stamps time and keeps the order. `cpu` and
 * `pid` are where the event is recorded (spec 4.1), not necessarily the vcpu's own.
 */
#ifndef HV_TRACE_H
#define HV_TRACE_H

#include "model.h"

/* Provided by the simulator: stamp and deliver one event. */
void hv_env_emit(struct hv_host *h, int id, int cpu, int32_t pid, const struct hv_value *vals);

void trace_kvm_guest_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvm_guest_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvm_page_fault_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvm_page_fault_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvm_hcall_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvm_hcall_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v, int ret,
			  int64_t rc);
void trace_kvmppc_run_core(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			   int where);
void trace_kvmppc_vcore_blocked(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
				int where);
void trace_kvmppc_vcore_wakeup(struct hv_host *h, int cpu, int32_t pid, int32_t tgid, int waited,
			       uint64_t ns);
void trace_kvmppc_run_vcpu_enter(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvmppc_run_vcpu_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvm_userspace_exit(struct hv_host *h, int cpu, int32_t pid, uint32_t reason, int err);
void trace_sched_switch(struct hv_host *h, int cpu, const char *prev_comm, int32_t prev_pid,
			long prev_state, const char *next_comm, int32_t next_pid);
void trace_sched_wakeup(struct hv_host *h, int cpu, int32_t waker_pid, const char *comm,
			int32_t pid, int target_cpu);
/* decision events (system kvm_hv_sched, spec 6.2) */
void trace_kvmhv_vcpu_place(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v,
			    int sub, int late, int hw_cpu, int pcpu);
void trace_kvmhv_core_plan(struct hv_host *h, int cpu, int32_t pid, const struct hv_core_run *cr,
			   int controlled);
void trace_kvmhv_piggyback_check(struct hv_host *h, int cpu, int32_t pid,
				 const struct hv_vcore *cand, int result,
				 const struct hv_core_run *cr);
void trace_kvmhv_core_abort(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			    int reason, int n_returned);
void trace_kvmhv_vcore_state(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			     int old, int new_state, int cause);
void trace_kvmhv_core_exit(struct hv_host *h, int cpu, int32_t pid, const struct hv_core_run *cr,
			   uint8_t too_late, uint8_t hdec_soon);
void trace_kvmhv_cede(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v);
void trace_kvmhv_prod(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *src,
		      const struct hv_vcpu *dst, int kicked_cpu);
void trace_kvmhv_confer(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v,
			int decision);
void trace_kvmhv_kick(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcpu *v, int source,
		      int woke, int ipi_cpu, int ipi_method);
void trace_kvmhv_block_adjust(struct hv_host *h, int cpu, int32_t pid, const struct hv_vcore *vc,
			      uint32_t old_ns, uint32_t new_ns, uint64_t block_ns, int outcome);

#endif
