/*
 * Replay internals shared by the engine (engine.c), the bookkeeping (book.c), the profiles
 * (profile.c) and the monitors (mon_*.c).
 *
 * A monitor is an automaton given as data (struct rp_automaton): state names, event names,
 * per state a sentence of what the model expects there, and a transition table whose
 * entries are GO(next) (legal), BAD(next, sentence) (a violation with its own sentence) or
 * left empty (a violation: "<expect of the state>; got <event>", then UNKNOWN). State 0 of
 * every automaton is UNKNOWN: the object's history is incomplete (trace start, lost events,
 * or right after a violation); there an empty entry keeps UNKNOWN silently and a GO() entry
 * resynchronises. Events seen in UNKNOWN count as unverified, the others as checked.
 * Content checks that do not change state (a field value, an ordering) are guards in the
 * glue, reported through rp_violate() with the same (monitor, object, state, event) shape.
 */
#ifndef HV_RP_INT_H
#define HV_RP_INT_H

#include <stdint.h>
#include <stdio.h>

#include "hv_events.h"
#include "hv_replay.h"

/* Events the replay knows beyond hvtrace's events.def. */
enum { RP_EV_PPC_INSTR = HV_EV_COUNT, RP_EV_NIDS };
#define RP_NF HV_REPLAY_NF	/* fields kept per decoded event (kvmhv_core_plan has 30) */

/* One decoded event: its hvtrace id and its fields by hvtrace's field index (HV_F_*); the
 * public struct hv_replay_ev, which taps see. */
#define rp_ev hv_replay_ev

/* ---- profiles (profile.c) ---- */
struct rp_profile {
	const char *name;
	const char *kernels;
	uint8_t gang;		/* kvmppc_run_core gang path (else the POWER9 single path) */
	uint8_t piggyback;	/* other vcores may join a run (>= E43) */
	uint8_t wakeup;		/* kvmppc_vcore_wakeup ends every block attempt */
	uint8_t lean;		/* POWER9 lean single path: no run_core/wakeup, runnable 0 */
	uint8_t trap_501;	/* 0x501 EXTERNAL_LEVEL still a trap value */
	uint8_t ptid;		/* RP_PTID_*: how vcpus are numbered inside a vcore (spec §3) */
};
enum {
	RP_PTID_FIXED,		/* ptid = vcpu_id - first_vcpuid (e0b7ec058c0e, ~v3.15+): ids ascend */
	RP_PTID_ARRIVAL,	/* v3.1: position in the runnable list */
	RP_PTID_NONCEDED_FIRST,	/* v3.2-v3.14: every run, non-ceded vcpus first, then ceded ones */
};
const struct rp_profile *rp_profile_find(const char *name);
/* A meta value whose key's last component is `want`, case and punctuation ignored (profile.c). */
int rp_meta_get(struct hv_store *st, const char *want, char *buf, size_t n, char *key, size_t kn);

/* ---- automata ---- */
struct rp_trans {
	uint8_t to;		/* next state + 1; 0 = not specified */
	const char *err;	/* NULL: legal */
};
#define GO(s) { (uint8_t)((s) + 1), NULL }
#define BAD(s, m) { (uint8_t)((s) + 1), m }
#define RP_UNKNOWN 0

struct rp_automaton {
	const char *monitor;
	int nstates, nevents;
	const char *const *states;
	const char *const *events;
	const char *const *expect;	/* per state: what the model expects there */
	const struct rp_trans *tab;	/* nstates x nevents */
};

enum rp_mon {
	RP_MON_VCPU_RUN,
	RP_MON_VCPU_GUEST,
	RP_MON_P9_ENTRY,
	RP_MON_CORE_WINDOW,
	RP_MON_VCORE_BLOCK,
	RP_MON_TRAP,
	RP_MON_ORDER,
	/* layer 2 (mon_plan.c, mon_rules.c) and layer 3 (diff.c): see rp_l2.h */
	RP_MON_SPLIT_MODE,
	RP_MON_CORE_PLAN,
	RP_MON_THREAD_PLACE,
	RP_MON_START_RULE,
	RP_MON_CEDE_RULE,
	RP_MON_BLOCK_RULE,
	RP_MON_EXIT_PULL,
	RP_MON_DIFF,
	RP_NMON
};

/* The object a violation is about, formatted only when one is reported. */
struct rp_obj {
	char kind;		/* 't' task, 'v' vcpu (tgid/id), 'c' cpu, 'k' vcore (tgid/first) */
	int32_t a, b;
};

/* ---- bookkeeping objects (book.c); pointers stay valid for the whole run ---- */
struct rp_task {
	int32_t pid;
	int32_t tgid, vcpu;	/* -1 unknown */
	uint8_t st_run;		/* vcpu_run automaton */
	uint8_t st_p9;		/* p9_entry automaton */
	uint8_t run_uncertain;	/* resynchronised at a run_vcpu_enter that may be an L2 run */
	int32_t last_exit, last_ret;	/* last kvmppc_run_vcpu_exit */
	int64_t hcall_ret;	/* last kvm_hcall_exit ret */
	int32_t last_reason;	/* last kvm_userspace_exit reason, -1 unknown */
	int32_t p9_cpu;		/* CPU of the open guest entry (POWER9 path) */
	int32_t pend_cpu;	/* CPU holding its single kvm_guest_enter (late-join candidate), -1 */
	int32_t ebusy_cpu;	/* CPU of a lone kvmppc_run_core Exit it emitted (S8), -1 */
	uint64_t last_ts, last_seq;
	uint8_t has_last;
};

struct rp_vcpu {
	int32_t tgid, id;
	int32_t pid;		/* task seen on its kvmppc_run_vcpu_enter, -1 */
	uint8_t st_guest;	/* vcpu_guest automaton (gang path) */
	uint8_t st_block;	/* vcore_block automaton */
	int32_t win_cpu;	/* CPU of the window it was last entered in */
	uint64_t win_exit_seq;	/* that window's Exit, once closed */
	uint64_t blk_enter_ts, blk_exit_ts;
};

/* A vcpu in a burst / window list. */
struct rp_entry {
	int32_t tgid;		/* -1: not attributed (ambiguous or unknown) */
	int32_t id, pid;
	uint8_t grp, exited, late, exit_ceded, ambiguous;
	uint8_t placed;		/* a kvmhv_vcpu_place named its VM (lpid) and vcore (first) */
	uint8_t enter_ceded;	/* kvm_guest_enter ceded field */
	int64_t lpid;
	int32_t first;
	int32_t late_cpu;	/* placed as a late join into the window on this CPU, else -1 */
	int32_t exit_trap;
	int32_t hw;		/* inferred hardware thread, -1 unknown */
	uint64_t seq, ts;
};

#define RP_MAXB 64

struct rp_cpu {
	uint8_t used;
	uint8_t st_core;	/* core_window automaton */
	int32_t burst_pid;
	int32_t runner_pid, runner_tgid, runner_vcpu, n_runnable;
	uint64_t enter_seq, enter_ts, first_exit_seq;
	int last_exit_grp;
	int nb;
	struct rp_entry b[RP_MAXB];
	int ns, split;		/* vcore groups, inferred split (0 unknown) */
	int64_t run_id;		/* core_run.id of the open window (given at its Enter) */
	uint8_t overflow;
	/* ordering, context, duplicates */
	uint64_t last_ts, last_seq;
	uint8_t has_last;
	uint64_t ring_ts[8], ring_seq[8];	/* the last kvm events here, for context */
	int ring_n, ring_i;
	struct rp_ev last_ev;
	uint8_t has_last_ev;
	/* the last kvmhv_vcpu_place here (decision events, spec §6.2 #1), for the next
	 * kvm_guest_enter of the same task and vcpu */
	struct {
		int32_t pid, vcpu, first, late_cpu;
		int64_t lpid;
		uint8_t valid;
	} place;
	/* POWER9: open guest entry on this CPU */
	int32_t p9_pid;
	uint64_t p9_seq;
};

struct rp_pool {
	void **blocks;
	int nblocks, used_in_last, elem, per_block;
};

struct rp_map {			/* open addressing: key -> object pointer */
	uint64_t *keys;
	void **vals;
	uint32_t cap, n;
};

struct rp_lost {
	int32_t cpu;		/* -1: all CPUs */
	uint64_t from, to;
	uint8_t active, done;
};

struct rp_vmsmt {
	int32_t tgid, smt;
};

struct rp_lpid {		/* VM identity: lpid (decision events) -> tgid (stock events) */
	int64_t lpid;
	int32_t tgid;
};

struct rp {
	struct hv_store *st;
	const struct rp_profile *prof;
	int chip;		/* 7, 8, 9, or 0 unknown */
	int nested_l1;		/* the host is itself a pseries guest */
	struct {
		int dmm, target_smt, tpc, subcores, smt_mode, indep;
	} par;			/* -1: unknown */
	struct rp_vmsmt *vmsmt;
	int nvmsmt;
	struct rp_lpid *lpids;
	int nlpids;
	struct rp_pool task_pool, vcpu_pool;
	struct rp_map tasks, vcpus;
	struct rp_cpu *cpus;
	int ncpus;
	struct rp_lost *lost;
	int nlost, lost_next, in_lost;
	struct hv_replay_summary *sum;
	hv_violation_fn cb;
	void *ctx;
	int max_violations, no_write, derive_only;
	const struct hv_replay_tap *tap;
	struct rp_rows *ins_violation, *ins_run, *ins_run_vcpu;	/* NULL: not written */
	char out_sig[256];	/* profile and parameters the core_run tables are made under */
	int keep_runs;		/* core_run tables present with out_sig: kept, not rewritten */
	int read_threads;	/* reader threads for the stream (0: the calling thread) */
	int64_t next_run_id;
	struct hv_err *err;
	int rc;			/* first write error */
	struct rp_l2 *l2;	/* layers 2/3 state (rp_l2.h), NULL when not active */
};

/* out_rows.c: output rows written RP_ROWS_BATCH at a time by a multi-row INSERT */
#define RP_ROWS_BATCH 32
#define RP_ROWS_TEXT 2048	/* the most text one row may hold */
struct rp_cell {
	int64_t i;		/* value, or text offset in the arena */
	int len;
	uint8_t kind;
};
struct rp_rows {
	struct sqlite3 *db;
	struct sqlite3_stmt *one, *many;
	int ncols, n, col;
	struct rp_cell *cells;	/* RP_ROWS_BATCH x ncols */
	size_t used;
	char arena[RP_ROWS_BATCH * RP_ROWS_TEXT];
};
/* into: "table" or "table(col, ...)" with ncols columns; 0 or -1 (SQLite error on r->db) */
int rp_rows_open(struct rp_rows *r, struct sqlite3 *db, const char *into, int ncols);
void rp_rows_close(struct rp_rows *r);
void rp_rows_int(struct rp_rows *r, int64_t v);
void rp_rows_null(struct rp_rows *r);
void rp_rows_text(struct rp_rows *r, const char *s);
int rp_rows_end(struct rp_rows *r);	/* the row's cells are all given */
int rp_rows_flush(struct rp_rows *r);	/* write the rows kept */

/* book.c */
int rp_book_init(struct rp *rp);
void rp_book_free(struct rp *rp);
struct rp_task *rp_task_get(struct rp *rp, int32_t pid);		/* creates */
struct rp_task *rp_task_find(struct rp *rp, int32_t pid);
struct rp_vcpu *rp_vcpu_get(struct rp *rp, int32_t tgid, int32_t id);	/* creates */
struct rp_vcpu *rp_vcpu_find(struct rp *rp, int32_t tgid, int32_t id);
struct rp_cpu *rp_cpu_get(struct rp *rp, int32_t cpu);	/* creates; NULL if out of range */
/* Iterate a pool: i from 0 while rp_pool_at() returns non-NULL. */
void *rp_pool_at(struct rp_pool *p, int i);
/* Every task and vcpu becomes UNKNOWN; cpu >= 0: that CPU's window too, < 0: every CPU's. */
void rp_book_forget(struct rp *rp, int32_t cpu);
int rp_vm_smt(const struct rp *rp, int32_t tgid);	/* smt_mode of a VM or -1 */
int rp_threads_per_subcore(const struct rp *rp);	/* -1 unknown */
int32_t rp_lpid_tgid(const struct rp *rp, int64_t lpid);	/* -1 unknown */
void rp_lpid_learn(struct rp *rp, int64_t lpid, int32_t tgid);

/* engine.c: stepping and reporting */
void rp_step(struct rp *rp, int mon, const struct rp_automaton *a, uint8_t *state, int letter,
	     const struct rp_ev *ev, struct rp_obj obj, const char *detail);
void rp_violate(struct rp *rp, int mon, struct rp_obj obj, const char *state, const char *event,
		const struct rp_ev *ev, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void rp_checked(struct rp *rp, int mon);
void rp_skipped(struct rp *rp, int mon);
int rp_mon_on(const struct rp *rp, int mon);

/* monitors: one entry point each, called for every decoded event in seq order */
void rp_mon_vcpu_run(struct rp *rp, const struct rp_ev *ev);
void rp_mon_p9_entry(struct rp *rp, const struct rp_ev *ev);
void rp_mon_core(struct rp *rp, const struct rp_ev *ev);
void rp_core_place(struct rp *rp, const struct rp_ev *ev);	/* kvmhv_vcpu_place: VM of the next enter */
void rp_mon_block(struct rp *rp, const struct rp_ev *ev);
void rp_mon_trap(struct rp *rp, const struct rp_ev *ev);
void rp_mon_order(struct rp *rp, const struct rp_ev *ev);
/* feeds between monitors */
enum { RP_G_RUN_ENTER, RP_G_RUN_EXIT, RP_G_ENTER, RP_G_EXIT, RP_G_WIN_CLOSE };
void rp_guest_feed(struct rp *rp, struct rp_vcpu *v, int letter, const struct rp_ev *ev);
enum { RP_B_WIN_ENTER, RP_B_WIN_EXIT_CEDED, RP_B_WIN_EXIT_BUSY };
void rp_block_window(struct rp *rp, struct rp_vcpu *v, int what, const struct rp_ev *ev);
/* A window of VM tgid went by unknown: what its vcpus may do next is unknown too. */
void rp_block_forget_vm(struct rp *rp, int32_t tgid);
int rp_task_in_run(const struct rp_task *t);	/* between run_vcpu_enter and exit */
int rp_vcpu_in_guest(const struct rp_vcpu *v);	/* entered in an open window */
int rp_vcpu_stranded(const struct rp_vcpu *v);	/* its window closed without its exit */
/* end of trace: report vcpus whose window closed without their exit */
void rp_mon_guest_finish(struct rp *rp);
/* layers 2/3 (l2_book.c): set up after the facts are loaded, fed every event (also the
 * kvm_hv_sched decision events, which layer 1 never sees), forgotten with lost windows */
int rp_l2_init(struct rp *rp, const struct hv_replay_opts *o);
void rp_l2_free(struct rp *rp);
void rp_l2_event(struct rp *rp, const struct rp_ev *ev);
void rp_l2_forget(struct rp *rp);
extern const struct rp_automaton rp_aut_vcpu_run, rp_aut_vcpu_guest, rp_aut_p9_entry,
	rp_aut_core_window, rp_aut_block_gang, rp_aut_block_p9;

#endif
