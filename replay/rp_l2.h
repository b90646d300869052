/*
 * Layers 2 and 3 of the replay (gang path, POWER7/POWER8): shared state.
 *
 * l2_book.c keeps what the decision checks need beyond layer 1's bookkeeping: per vcpu
 * (tgid, id) whether it is runnable, busy in the host or out in userspace, its last exit and
 * whether it was kicked since; per vcore its vcore_state (from kvmhv_vcore_state) and the
 * layer-3 "diverged" mark; per CPU the burst, the open window, the piggyback checks and the
 * core plan of the run being set up. It maps the decision events' lpid to the VMM's tgid
 * with meta `vm.<lpid>.tgid` and derives the model parameters (struct hv_params) and the
 * model profile (kernel/profile.c) from the replay's facts, so the monitors can call the
 * model's pure rule functions (kernel/model.h) with recorded inputs:
 *   mon_plan.c  split_mode, core_plan, thread_place (run set-up decisions)
 *   mon_rules.c start_rule, cede_rule, block_rule, exit_pull (runtime rules)
 *   diff.c      diff_replay (layer 3: first divergent decision per vcore)
 * Memory: per vcpu / vcore / CPU only, nothing per event.
 */
#ifndef HV_RP_L2_H
#define HV_RP_L2_H

#include "model.h"
#include "rp_int.h"

#define L2_MAXCHK 16		/* piggyback checks kept per run set-up */
#define L2_MAXB 16		/* burst entries kept per CPU */

struct l2_vcpu {
	int32_t tgid, id;
	uint8_t ever;		/* seen a run_vcpu_enter */
	uint8_t in_run;		/* between run_vcpu_enter and run_vcpu_exit */
	uint8_t out;		/* left KVM_RUN (kvm_userspace_exit): NOTREADY */
	uint8_t exited;		/* a kvm_guest_exit since its run_vcpu_enter */
	uint8_t removed;	/* that exit needs its task (hcall, fault): BUSY_IN_HOST */
	uint8_t last_ceded;	/* ceded flag of that exit */
	uint8_t kicked;		/* kvmhv_kick since that exit (woken) */
	uint8_t in_win;		/* entered in an open window, not exited yet */
	int32_t last_trap;
	int32_t ptid, sub;	/* from the last kvmhv_vcpu_place, -1 unknown */
	uint64_t arrival;	/* seq of its last run_vcpu_enter */
	uint64_t runs;		/* run_vcpu_enter count */
};

struct l2_vcore {
	int32_t tgid, first;
	int state;		/* last kvmhv_vcore_state new value, -1 unknown */
	uint8_t diverged;	/* layer 3 reported its first divergence */
	uint8_t has_pend;	/* a start decision waits for the vcore to act */
	struct rp_ev pend;	/* the event of that decision */
	char pend_why[160];
};

struct l2_chk {
	int64_t lpid, first, nthr, nrun, result, ns_after, total_after, max_after;
	uint64_t seq;
};

struct l2_place {
	int32_t tgid, id, ptid, sub, ceded;
};

struct l2_cpu {
	uint8_t win;		/* a kvmppc_run_core window is open here */
	int32_t win_tgid;
	int nb;			/* burst since the last window closed */
	struct { int32_t id, pid; uint8_t ceded; } b[L2_MAXB];
	int32_t btgid[L2_MAXB];	/* VM of each burst entry in the open window, -1 unknown */
	int ng, xg;		/* vcore groups of the open window; the one exiting now */
	int32_t gtgid[L2_MAXB], gfirst[L2_MAXB];
	int nchk;
	uint8_t chk_overflow;
	struct l2_chk chk[L2_MAXCHK];
	uint8_t has_plan;
	struct rp_ev plan;
	int nplace;
	struct l2_place place[HV_MAX_SMT * 2];
	/* last kvmhv_core_exit's subcores, for the kvmhv_cede events of post_guest_process */
	uint8_t has_exit;
	int exit_ns;
	int32_t exit_tgid[HV_MAX_SUBCORES], exit_first[HV_MAX_SUBCORES];
	int32_t exit_ptid[HV_MAX_SUBCORES], exit_trap[HV_MAX_SUBCORES];
	uint8_t exit_pulled;
	/* last kvm_guest_exit here */
	int32_t gx_id, gx_trap, gx_ceded;
	/* decisions resolved by the next event on this CPU */
	uint8_t pend_late, late_model;
	int32_t late_tgid, late_id;
	struct rp_ev late_ev;
	uint8_t pend_prod, prod_model;
	int32_t prod_tgid, prod_dst;
	struct rp_ev prod_ev;
};

struct l2_vm {
	int64_t lpid;
	int32_t tgid, smt;
};

struct rp_l2 {
	const struct hv_profile *mp;	/* the model's profile, NULL: none for this era */
	struct hv_params par;
	int dmm_known, tps_known, one_vm;
	struct l2_vm *vms;
	int nvms;
	struct l2_vcpu *vcpus;
	int nvcpus, capvcpus;
	struct l2_vcore *vcores;
	int nvcores, capvcores;
	uint64_t *vkeys, *ckeys;	/* open addressing: key+1 -> index+1 */
	uint32_t vcap, ccap;
	int32_t *vidx, *cidx;
	struct l2_cpu *cpus;
	int ncpus;
	uint8_t seen_decisions;	/* the trace has kvm_hv_sched events */
	uint8_t l2_reported;	/* a layer-2 monitor reported at the current event */
	uint64_t cur_seq;
	uint8_t forgot;		/* state was dropped (lost events): unseen vcpus are unknown */
};

/* l2_book.c */
struct l2_vcpu *l2_vcpu(struct rp *rp, int32_t tgid, int32_t id);	/* creates */
struct l2_vcpu *l2_vcpu_find(struct rp *rp, int32_t tgid, int32_t id);
struct l2_vcore *l2_vcore(struct rp *rp, int32_t tgid, int32_t first);	/* creates */
struct l2_cpu *l2_cpu(struct rp *rp, int32_t cpu);	/* NULL if out of range */
int32_t l2_tgid_of_lpid(const struct rp *rp, int64_t lpid);	/* -1 unknown */
int l2_smt(const struct rp *rp, int32_t tgid);	/* smt_mode of the VM, -1 unknown */
int32_t l2_first(const struct rp *rp, int32_t tgid, int32_t id);	/* vcore's first id or -1 */
/* RESUME_GUEST after this trap (kvmppc_handle_exit_hv, spec 2.6): the vcpu stays runnable. */
int l2_trap_resumes(int32_t trap);
/* Start counts (hv_start_counts) of vcore (tgid, first) from the recorded states; `in_run`
 * vcpus listed in `runnable` (may be NULL: use the recorded state) count as runnable.
 * Fills `who` with the first busy / out vcpu ids for messages. */
void l2_start_counts(struct rp *rp, int32_t tgid, int32_t first, struct hv_start_counts *c,
		     int32_t *busy_id, int32_t *user_id);
/* The same at a run's Enter: the master group of the burst on c (its first nr entries) is
 * what was runnable, whatever the recorded states say (they may be unknown). */
void l2_run_counts(struct rp *rp, const struct l2_cpu *c, int nr, int32_t tgid, int32_t first,
		   struct hv_start_counts *cnt, int32_t *busy_id, int32_t *user_id);
const char *l2_why_busy(struct rp *rp, int32_t tgid, int32_t id, char *buf, size_t n);

/* monitors (called by l2_book.c before it updates its state with the event) */
void l2_mon_plan(struct rp *rp, const struct rp_ev *ev);
void l2_mon_rules(struct rp *rp, const struct rp_ev *ev);
void l2_diff(struct rp *rp, const struct rp_ev *ev);
/* layer 3: report the first divergence of vcore (tgid, first) at ev */
void l2_diverge(struct rp *rp, int32_t tgid, int32_t first, const struct rp_ev *ev, const char *event,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
