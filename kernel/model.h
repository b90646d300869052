/*
 * The reference model of the Book3S HV gang path (POWER7/POWER8: kvmppc_run_vcpu ->
 * kvmppc_run_core -> real-mode entry/exit), written from spec kvmhv-behaviour.md §1-§3.
 *
 * This header holds the state (spec §7: Host, Core run, VM, Vcore, Vcpu, per-CPU preempted
 * lists), the era profiles (§3) and the pure decision rules the replay engine can call with
 * explicit arguments. The mechanisms live one per file (vcpu.c, run_vcpu.c, run_core.c,
 * piggyback.c, exit.c, post_guest.c, cede.c, block.c); they run inside the host simulator
 * (kernel/sim/), which provides time, host scheduling and guest behaviour through the
 * hv_env_* functions declared at the end. Every event leaves through trace.c into a
 * struct hv_sink.
 */
#ifndef HV_MODEL_H
#define HV_MODEL_H

#include <stdint.h>

#include "hv_sink.h"

#define HV_MAX_SMT 8		/* MAX_SMT_THREADS */
#define HV_MAX_SUBCORES 4	/* MAX_SUBCORES */
#define HV_VCORE_EXIT_REQ 0x10000
#define HV_TB_NIL (~(uint64_t)0)

/* ---- constants from the kernel (kvm_asm.h, hvcall.h, kvm_host.h) ---- */
enum { HV_RESUME_GUEST = 0, HV_RESUME_GUEST_NV = 1, HV_RESUME_HOST = 2, HV_RESUME_PAGE_FAULT = 4 };
enum {
	HV_TRAP_NONE = 0, HV_TRAP_EXTERNAL = 0x500, HV_TRAP_HV_DECREMENTER = 0x980,
	HV_TRAP_SYSCALL = 0xc00, HV_TRAP_H_DATA_STORAGE = 0xe00, HV_TRAP_H_DOORBELL = 0xe80,
};
enum { HV_EXIT_UNKNOWN = 0, HV_EXIT_INTR = 10, HV_EXIT_PAPR_HCALL = 19 };
enum {
	HV_H_GET_TERM_CHAR = 0x54, HV_H_PUT_TERM_CHAR = 0x58, HV_H_IPI = 0x6c, HV_H_CEDE = 0xe0,
	HV_H_CONFER = 0xe4, HV_H_PROD = 0xe8,
};
#define HV_H_SUCCESS 0
#define HV_H_TOO_HARD 9999
/* BOOK3S_IRQPRIO_* bits of pending_exceptions as a 6.1 kernel records them */
#define HV_PEXC_EXTERNAL 0x4000ULL
#define HV_PEXC_DEC 0x8000ULL

/* vcpu->arch.state, v3.8 to now */
enum hv_vcpu_state { HV_VCPU_NOTREADY = 0, HV_VCPU_RUNNABLE = 1, HV_VCPU_BUSY_IN_HOST = 2 };
/* vcore_state, v4.9 to now (spec 1.6) */
enum hv_vcore_state {
	HV_VCORE_INACTIVE = 0, HV_VCORE_PREEMPT = 1, HV_VCORE_PIGGYBACK = 2, HV_VCORE_SLEEPING = 3,
	HV_VCORE_RUNNING = 4, HV_VCORE_EXITING = 5, HV_VCORE_POLLING = 6,
};
/* kvmhv_vcore_state.cause */
enum { HV_CAUSE_RUN, HV_CAUSE_PREEMPT, HV_CAUSE_PIGGYBACK, HV_CAUSE_END_PREEMPT, HV_CAUSE_BLOCK,
       HV_CAUSE_POLL, HV_CAUSE_POST_GUEST };
/* kvmhv_piggyback_check.result */
enum { HV_PB_ACCEPTED, HV_PB_TRYLOCK, HV_PB_NO_RUNNABLE, HV_PB_MMU_NOT_READY, HV_PB_OVER_TARGET,
       HV_PB_NOT_207S, HV_PB_ONE_VM, HV_PB_MMU_MIX, HV_PB_SUBCORE_CONFIG };
/* kvmhv_core_abort.reason */
enum { HV_ABORT_RUNNER_NOT_RUNNABLE = 1, HV_ABORT_EBUSY_NOT_PRIMARY, HV_ABORT_EBUSY_TOO_BIG,
       HV_ABORT_GRAB_FAILED, HV_ABORT_LAZY_IRQ, HV_ABORT_NEED_RESCHED, HV_ABORT_SIGNAL,
       HV_ABORT_MMU_NOT_READY };
/* kvmhv_cede.outcome */
enum { HV_CEDE_NAPPED, HV_CEDE_PROD_CANCEL, HV_CEDE_VCORE_EXIT };
/* kvmhv_kick.source */
enum { HV_KICK_IRQ, HV_KICK_PROD, HV_KICK_DOORBELL, HV_KICK_DEC_TIMER, HV_KICK_NEW_RUNNABLE };
/* kvmhv_block_adjust.outcome */
enum { HV_BLOCK_POLL_OK, HV_BLOCK_IMMEDIATE, HV_BLOCK_SLEPT };

/* ---- era profiles (spec §3) ---- */
enum hv_profile_id { HV_PROF_E31, HV_PROF_E32, HV_PROF_E43, HV_PROF_E410, HV_PROF_MAINLINE,
		     HV_PROF_COUNT };
enum hv_start_rule { HV_START_NO_BUSY, HV_START_NBUSY0, HV_START_ANY_READY };
enum hv_ptid_rule { HV_PTID_ARRIVAL, HV_PTID_NONCEDED_FIRST, HV_PTID_FIXED };
enum hv_cede_rule { HV_CEDE_IN_HOST, HV_CEDE_REALMODE_NAP };
enum hv_pb_rule { HV_PB_NONE, HV_PB_SUBCORE_AND_SPLIT, HV_PB_SPLIT_ONLY };

struct hv_profile {
	const char *name;
	const char *kernels;
	int id;
	int start_rule;		/* hv_start_ok */
	int ptid_rule;		/* hv_assign_ptids */
	int cede_rule;		/* hv_cede_decide */
	int prod_tests_caller;	/* E32 bug: H_PROD wakes based on the caller's ceded */
	int piggyback;		/* enum hv_pb_rule */
	int halt_poll;		/* VCORE_POLLING and the adaptive interval (v4.9+) */
	int late_join_piggyback;/* 0: the v4.10-v4.14 trylock bug */
	int late_join_first_run_only; /* E32 */
	int one_vm_per_core;	/* module parameter exists */
};

const struct hv_profile *hv_profile_find(const char *name);
const struct hv_profile *hv_profile_get(int id);
/* Comma-separated list of profile names, for messages. */
const char *hv_profile_names(void);

/* ---- host parameters (module params, topology) ---- */
struct hv_params {
	int cpu_model;			/* 7 (POWER7) or 8 (POWER8) */
	int threads_per_core;		/* 4 on POWER7, 8 on POWER8 (scenario may override) */
	int threads_per_subcore;	/* static split: threads_per_core / subcores_per_core */
	int dynamic_mt_modes;		/* kvm_hv.dynamic_mt_modes, default 6 */
	int target_smt_mode;		/* kvm_hv.target_smt_mode, default 0 */
	int one_vm_per_core;		/* kvm_hv.one_vm_per_core, default 0 */
	uint32_t halt_poll_ns;		/* kvm.halt_poll_ns (global max), default 10000 */
	uint32_t halt_poll_ns_grow;	/* default 2 */
	uint32_t halt_poll_ns_grow_start;/* default 10000 */
	uint32_t halt_poll_ns_shrink;	/* default 0 */
};
void hv_params_default(struct hv_params *p, int cpu_model);

/* ---- pure decision rules (profile.c, piggyback.c, cede.c, block.c) ---- */

/* subcore_config_ok(n_subcores, n_threads): may the core be split into ns subcores whose
 * largest holds nt threads (spec 2.5). */
int hv_subcore_config_ok(const struct hv_params *p, int ns, int nt);
/* Split mode used for n_subcores on POWER8: 1, 2 or 4 (kvmppc_run_core). */
int hv_split_mode(const struct hv_params *p, int n_subcores);
/* First hardware thread of KVM subcore sub (subcore_thread_map {0,4,2,6} on POWER8). */
int hv_subcore_first_thread(const struct hv_params *p, int sub);

/* Counts the start condition looks at. n_busy: vcpus inside KVM_RUN doing host work;
 * n_user: vcpus out of KVM_RUN that ran before; n_never: vcpus that never ran. */
struct hv_start_counts {
	int num_threads, n_runnable, n_ready, n_busy, n_user, n_never;
};
/* May an INACTIVE vcore start now (spec §3: E31 no vcpu busy, E32 n_busy == 0, E38+ any ready
 * vcpu)? n_ready = runnable vcpus that are not idle (not ceded or woken). */
int hv_start_ok(const struct hv_profile *pr, const struct hv_start_counts *c);

/* ptid assignment. In: the vcore's vcpus as slots 0..n-1 with vcpu_id - first_vcpuid,
 * runnable flag, ceded flag and arrival order (for runnable ones). Out: ptid[i] for each
 * runnable slot (-1 for others). */
struct hv_ptid_in {
	int offset;		/* vcpu_id - first_vcpuid */
	int runnable;
	int ceded;
	int arrival;		/* order in which it became runnable (smaller first) */
};
void hv_assign_ptids(const struct hv_profile *pr, const struct hv_ptid_in *in, int n, int *ptid);

/* Real-mode H_CEDE (kvmppc_h_cede): what the ceding thread does. */
enum hv_cede_action { HV_CEDE_ACT_CANCEL, HV_CEDE_ACT_NAP, HV_CEDE_ACT_EXIT };
int hv_cede_decide(const struct hv_profile *pr, int prodded, unsigned napping_after,
		   unsigned entry_map);
/* H_PROD: does it kick the target? (E32 bug: decided by the caller's ceded flag.) */
int hv_prod_kicks(const struct hv_profile *pr, int target_ceded, int caller_ceded);
/* Real-mode H_CONFER: 1 = exit to the host to yield (H_TOO_HARD), 0 = stay. */
int hv_confer_decide(unsigned napping, unsigned conferring, unsigned entry_map);
/* Late join (kvmppc_run_vcpu): may a newly runnable vcpu be started in its running vcore? */
int hv_late_join_ok(const struct hv_profile *pr, int vcore_state, uint32_t entry_exit_map,
		    int first_run);
/* Halt-poll interval adjustment at the end of kvmppc_vcore_blocked (spec 2.10). */
uint32_t hv_halt_poll_adjust(const struct hv_params *p, uint32_t cur, uint64_t block_ns);

/* ---- state ---- */
struct hv_host;
struct hv_vm;
struct hv_vcore;
struct hv_task;

/* A timer slot of the simulator's event queue (indexed heap; see sim/heap.c). */
struct hv_timer {
	uint64_t when;
	uint64_t seq;
	int32_t heap_idx;	/* -1: not armed */
	uint16_t kind;
	void *obj;
};

struct hv_vcpu {
	struct hv_vm *vm;
	struct hv_vcore *vc;
	struct hv_task *task;
	int vcpu_id;
	int ptid;
	int state;		/* enum hv_vcpu_state */
	int ever_ran;
	uint8_t ceded, prodded, napping, entered, conferring;
	uint64_t pending_exceptions;
	int trap;		/* exit vector of the last exit (0: none) */
	int ret;		/* vcpu->arch.ret */
	int exit_reason;	/* run->exit_reason */
	int thread_cpu;		/* hardware thread while loaded, else -1 */
	int cpu;		/* pcpu of the subcore while loaded, else -1 */
	uint64_t dec_expires;	/* guest decrementer expiry (ns), HV_TB_NIL if none */
	uint64_t arrival;	/* ordering of becoming runnable (E31 ptids) */
	uint64_t pc, msr;
	/* real-mode facts stashed until post_guest_process */
	uint32_t n_cedes, n_naps;
	uint8_t last_cede_outcome, last_wake;
	/* what the vcpu's task does in the host after the exit */
	uint64_t hcall_req, hcall_arg;
	/* guest behaviour (simulator) */
	uint64_t compute_left;
	uint64_t entry_at;	/* late joiner: when its thread really enters */
	int late;
	struct hv_timer t_guest;	/* next guest action while executing */
	struct hv_timer t_dec;		/* guest DEC: wakes a nap, or the host hrtimer when ceded */
	struct hv_timer t_irq;		/* next external interrupt for this vcpu */
	void *beh;			/* behaviour parameters (sim) */
};

struct hv_vcore {
	struct hv_vm *vm;
	int index;
	uint32_t first_vcpuid;
	int num_threads;
	int n_runnable;
	struct hv_vcpu *runnable_threads[HV_MAX_SMT];	/* by ptid */
	struct hv_vcpu *vcpus[HV_MAX_SMT];		/* every vcpu, by vcpu_id - first_vcpuid */
	int vcore_state;
	struct hv_vcpu *runner;
	int pcpu;
	uint32_t entry_exit_map;
	uint8_t napping_threads, conferring_threads;
	/* preempted list (per CPU, insertion order) */
	struct hv_vcore *pl_next, *pl_prev;
	int pl_cpu;		/* CPU whose list holds it, -1 if none */
	/* run bookkeeping */
	int sub;		/* subcore index in the current run */
	int first_exit_ptid, first_exit_trap;
	uint8_t too_late_mask, hdec_soon_mask;
	/* halt polling */
	uint32_t halt_poll_ns;
	uint64_t block_start;
	uint32_t block_old_poll;
	int poll_done;
	uint64_t arrivals;
	int run_cpu;		/* host CPU whose kvmppc_run_core runs it, -1 if none */
};

struct hv_vm {
	const char *name;
	uint32_t lpid;
	int32_t tgid;
	int smt_mode;
	int nvcpus;
	struct hv_vcpu *vcpus;
	int nvcores;
	struct hv_vcore *vcores;
	int mmu_ready;
};

/* One kvmppc_run_core invocation on a (sub)core: core_info plus split_info. */
struct hv_core_run {
	int active;
	int pcpu;
	struct hv_task *runner_task;
	int n_subcores;
	int split;
	int subcore_size;
	int target;
	int total_threads, max_subcore_threads;
	int subcore_threads[HV_MAX_SUBCORES];
	struct hv_vcore *vc[HV_MAX_SUBCORES];
	int first_thread[HV_MAX_SUBCORES];
	uint16_t active_mask;
	uint8_t pulled_mask;
	uint64_t start;
	int hdec_soon;
};

/* A host CPU that the host runs on: the primary thread of a (sub)core. */
struct hv_cpu {
	int id;			/* logical CPU number = core * threads_per_core + subcore offset */
	int core;
	struct hv_task *curr;	/* NULL: idle */
	struct hv_task *rq_head, *rq_tail;
	int nr_queued;
	int need_resched;
	struct hv_vcore *pl_head, *pl_tail;	/* preempted_vcores list */
	struct hv_core_run run;
	struct hv_timer t_tick;
	struct hv_timer t_sched;	/* deferred context switch, resched IPI */
	struct hv_timer t_exit;		/* deferred guest exit (hv_env_defer_exit) */
	struct hv_vcpu *exit_first;
	int exit_trap;
	struct hv_task *leaving;	/* task that just left the CPU (for sched_switch) */
	long leaving_state;
};

/* ---- mechanisms (the kernel functions they mirror are named in each file) ---- */
int hv_vm_init(struct hv_host *h, struct hv_vm *vm, const char *name, uint32_t lpid, int32_t tgid,
	       int nvcpus, int smt_mode);
void hv_vm_free(struct hv_vm *vm);
void hv_vcore_add_runnable(struct hv_host *h, struct hv_vcore *vc, struct hv_vcpu *v);
void hv_remove_runnable(struct hv_host *h, struct hv_vcore *vc, struct hv_vcpu *v);
void hv_vcore_set_state(struct hv_host *h, struct hv_vcore *vc, int state, int cause);
int hv_vcpu_woken(const struct hv_vcpu *v);
void hv_vcore_counts(const struct hv_vcore *vc, struct hv_start_counts *c);

/* run_vcpu.c */
void hv_run_vcpu_enter(struct hv_host *h, struct hv_vcpu *v);
void hv_run_vcpu_loop(struct hv_host *h, struct hv_vcpu *v);
void hv_run_vcpu_after_preempt(struct hv_host *h, struct hv_vcpu *v);
void hv_run_vcpu_continue(struct hv_host *h, struct hv_vcpu *v);
void hv_wake_candidate(struct hv_host *h, struct hv_vcore *vc);

/* run_core.c: returns 1 if the guest was entered (the runner stays in the guest). */
int hv_run_core(struct hv_host *h, struct hv_vcore *vc);
void hv_start_thread(struct hv_host *h, struct hv_vcpu *v, struct hv_vcore *vc, int hw_cpu,
		     int late);
void hv_prepare_threads(struct hv_host *h, struct hv_vcore *vc);

/* piggyback.c */
void hv_preempt_list_add(struct hv_host *h, int cpu, struct hv_vcore *vc);
void hv_preempt_list_del(struct hv_host *h, struct hv_vcore *vc);
void hv_vcore_preempt(struct hv_host *h, struct hv_vcore *vc, int cpu);
void hv_vcore_end_preempt(struct hv_host *h, struct hv_vcore *vc);
void hv_collect_piggybacks(struct hv_host *h, struct hv_core_run *cr, int cpu);
int hv_can_dynamic_split(const struct hv_params *p, const struct hv_profile *pr,
			 const struct hv_core_run *cr, const struct hv_vcore *pvc, int *why);

/* exit.c */
void hv_thread_entry(struct hv_host *h, struct hv_vcpu *v);
void hv_check_all_napping(struct hv_host *h, struct hv_cpu *c);
void hv_commence_exit(struct hv_host *h, struct hv_cpu *c, struct hv_vcpu *first, int trap);
void hv_core_exit(struct hv_host *h, struct hv_cpu *c);

/* post_guest.c */
void hv_post_guest_process(struct hv_host *h, struct hv_vcore *vc, int is_master, int cpu);
int hv_handle_exit_hv(struct hv_host *h, struct hv_vcpu *v);

/* cede.c */
void hv_h_cede(struct hv_host *h, struct hv_vcpu *v, uint64_t dec_expires);
void hv_nap_wake(struct hv_host *h, struct hv_vcpu *v, int reason);
void hv_fast_vcpu_kick(struct hv_host *h, struct hv_vcpu *v, int source, int from_cpu);
void hv_h_prod(struct hv_host *h, struct hv_vcpu *src, struct hv_vcpu *dst);
int hv_h_confer_realmode(struct hv_host *h, struct hv_vcpu *v);
void hv_dec_timer_fire(struct hv_host *h, struct hv_vcpu *v);

/* block.c */
int hv_vcore_blocked(struct hv_host *h, struct hv_vcore *vc);
void hv_vcore_block_poll_end(struct hv_host *h, struct hv_vcore *vc);
void hv_vcore_block_woken(struct hv_host *h, struct hv_vcore *vc);
int hv_vcore_check_block(const struct hv_vcore *vc);
int hv_vcore_kick_waiter(struct hv_host *h, struct hv_vcore *vc);

/* ---- environment: provided by the host simulator (kernel/sim/) ---- */
uint64_t hv_env_now(struct hv_host *h);
/* Where the kernel code now executing records events: its CPU and task pid. */
void hv_env_ctx(struct hv_host *h, int *cpu, int32_t *pid);
const struct hv_params *hv_env_params(struct hv_host *h);
const struct hv_profile *hv_env_profile(struct hv_host *h);
struct hv_cpu *hv_env_cpu(struct hv_host *h, int cpu);
/* The CPU the task runs on (its current CPU). */
int hv_env_task_cpu(struct hv_host *h, struct hv_task *t);
int32_t hv_env_task_pid(struct hv_task *t);
/* Scheduler: wake a sleeping task; make the current task sleep/yield with a resume point. */
void hv_env_wake(struct hv_host *h, struct hv_task *t);
void hv_env_sleep(struct hv_host *h, struct hv_task *t, int resume);
void hv_env_yield(struct hv_host *h, struct hv_task *t, int resume);
int hv_env_need_resched(struct hv_host *h, int cpu);
int hv_env_cpu_has_waiters(struct hv_host *h, int cpu);
/* The runner's task stays on its CPU in the guest until hv_core_exit. */
void hv_env_enter_guest(struct hv_host *h, struct hv_task *t, int cpu);
/* Poll: keep the task on CPU until the poll timer or a wake-up. */
void hv_env_poll(struct hv_host *h, struct hv_vcore *vc, uint64_t until);
void hv_env_poll_stop(struct hv_host *h, struct hv_vcore *vc);
/* Guest side: the vcpu starts/stops executing guest code on a hardware thread. */
void hv_env_guest_start(struct hv_host *h, struct hv_vcpu *v);
void hv_env_guest_stop(struct hv_host *h, struct hv_vcpu *v);
void hv_env_guest_run(struct hv_host *h, struct hv_vcpu *v);
void hv_env_exit_guest(struct hv_host *h, struct hv_task *t);
/* The vcpu's task handles a non-guest return (hcall, page fault, userspace) in the host. */
void hv_env_vcpu_host_work(struct hv_host *h, struct hv_vcpu *v);
void hv_env_arm_dec(struct hv_host *h, struct hv_vcpu *v);
void hv_env_cancel_dec(struct hv_host *h, struct hv_vcpu *v);
uint64_t hv_env_next_tick(struct hv_host *h, int cpu);
void hv_env_count(struct hv_host *h, int what, int n);
/* Defer a guest exit of the run on CPU c to the event loop (first exiter v or NULL). */
void hv_env_defer_exit(struct hv_host *h, struct hv_cpu *c, struct hv_vcpu *v, int trap);
struct hv_task *hv_env_cpu_curr(struct hv_host *h, int cpu);
enum { HV_STAT_RUN, HV_STAT_SPLIT1, HV_STAT_SPLIT2, HV_STAT_SPLIT4, HV_STAT_PIGGYBACK,
       HV_STAT_LATE_JOIN, HV_STAT_CEDE, HV_STAT_BLOCK, HV_STAT_PROD_CANCEL, HV_STAT_ABORT,
       HV_STAT_N };

/* Task resume points (where a sleeping/preempted vcpu task continues in the kernel code). */
enum hv_resume {
	HV_RES_NONE, HV_RES_LOOP, HV_RES_AFTER_PREEMPT, HV_RES_BLOCK_WAKE, HV_RES_POLL,
	HV_RES_IN_GUEST, HV_RES_HOST_WORK, HV_RES_USER, HV_RES_LOAD_RUN, HV_RES_LOAD_SLEEP,
};

#endif
