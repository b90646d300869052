/*
 * hv_replay: check a recorded trace against the kernel's rules, one monitor per rule family.
 *
 * hv_replay_run() streams the store's events in seq order (bounded memory: per task, per
 * vcpu and per CPU state only), maps each row to a compact decoded event, keeps the shared
 * bookkeeping of spec §5.1 (task -> VM/vcpu, per-CPU kvmppc_run_core window and burst) and
 * feeds monitors. A monitor is a small automaton (states x events -> next state or an error
 * sentence, kept as const tables in replay/mon_*.c) plus glue mapping events to its alphabet
 * and object. A violation names the monitor, the object, the state, the event (seq, ts, cpu,
 * pid) and what the model expected; it goes to the callback and to the `violation` table.
 *
 * Layer 1 (this file's monitors) uses stock tracepoints only (spec §5.2 items 1-19 with the
 * corrections of §9). Layers 2/3 are more monitors of the same shape.
 *
 * Objects whose history is incomplete (start of the trace, `lost` windows) are UNKNOWN until
 * a resynchronising event; events seen meanwhile are counted as unverified, never reported.
 *
 * The run also writes derived tables (replacing old ones; columns as in db/README.md):
 * core_run (one row per kvmppc_run_core window) and core_run_vcpu (one row per vcpu entered
 * in it, with VM attribution and inferred hardware thread, NULL where unknown or ambiguous).
 *
 * Nothing here prints or exits; errors are HV_E_* codes with a message in *err.
 */
#ifndef HV_REPLAY_H
#define HV_REPLAY_H

#include <stdint.h>

#include "hv_store.h"

#define HV_REPLAY_MAX_MONITORS 16

struct hv_replay_param {
	const char *name;	/* dynamic_mt_modes, target_smt_mode, threads_per_core, ... */
	const char *value;
};

/* A decoded event as the bookkeeping sees it: hvtrace event id (HV_EV_*), its fields by
 * hvtrace field index (HV_F_*; 0 where the store lacks one). */
#define HV_REPLAY_NF 32
struct hv_replay_ev {
	int id;
	int32_t cpu, pid;
	uint64_t seq, ts;
	int64_t f[HV_REPLAY_NF];
};

/* One guest run attributed by the gang-path bookkeeping (spec §5.3): a vcpu's
 * kvm_guest_enter and its kvm_guest_exit in a kvmppc_run_core window. */
struct hv_replay_grun {
	int32_t tgid;		/* -1: VM ambiguous or unknown */
	int32_t vcpu_id, cpu;	/* cpu: the window's (where the exit is recorded) */
	int32_t hw;		/* inferred hardware thread, -1 unknown */
	int64_t core_run_id;	/* the window's core_run.id (written when the window closes) */
	uint64_t enter_seq, enter_ts, exit_seq, exit_ts;
	int32_t trap;
	uint8_t ceded, enter_ceded, late_join;
};

/* Observers of the bookkeeping (hvtrace derive, db/derive.c). Every member may be NULL. */
struct hv_replay_tap {
	void *ctx;
	void (*begin)(void *ctx, int gang);	/* before the first event; gang: kvmppc_run_core path */
	void (*event)(void *ctx, const struct hv_replay_ev *ev);	/* each event after the monitors */
	void (*guest_run)(void *ctx, const struct hv_replay_grun *r);	/* at the run's exit (gang path) */
	void (*forget)(void *ctx, int32_t cpu);	/* a lost window starts or ends (cpu -1: all) */
};

struct hv_replay_opts {
	const char *profile;	/* NULL: from meta (see hv_replay_choose_profile) */
	const struct hv_replay_param *params;	/* override meta facts */
	int nparams;
	int max_violations;	/* report (callback + table) at most this many; 0 all, <0 none */
	int read_threads;	/* 0: automatic (2 reader threads on a machine with 2 or more CPUs,
				 * when nothing but violations is written meanwhile); <0: read in the
				 * calling thread; N: up to N reader threads when allowed */
	int no_write;		/* do not write violation/core_run tables (read-only DB) */
	int derive_only;	/* bookkeeping only: no violations reported or written (the violation
				 * table is left as it is); core_run/core_run_vcpu written inside the
				 * caller's transaction, not indexed (hvtrace derive) */
	const struct hv_replay_tap *tap;
};

struct hv_violation {
	const char *monitor;
	char object[64];	/* "task 186", "vcpu 179/1", "cpu 0", ... */
	char state[32];		/* the monitor's state when the event arrived */
	const char *event;	/* the monitor's event name */
	uint64_t seq, ts;
	int cpu, pid;
	uint64_t ctx_ts;	/* ts of the 4th kvm event before it on the same CPU (context) */
	uint64_t ctx_seq;	/* and its seq (the context is the seq range ctx_seq..seq) */
	char msg[256];		/* what the model expected */
};

struct hv_replay_mon_sum {
	const char *name;
	const char *doc;	/* which checks (spec §5.2 items) */
	int active;		/* used by the chosen profile */
	uint64_t checked;	/* events checked in a known state */
	uint64_t violations;
	uint64_t unverified;	/* events seen while the object was unknown (start, lost) */
	uint64_t skipped;	/* checks skipped for a missing fact (meta/params) */
};

struct hv_replay_summary {
	char profile[32];
	char profile_why[256];
	uint64_t events;	/* events in the trace */
	uint64_t kvm_events;	/* events of the types the monitors use (the rows read) */
	uint64_t hv_events;	/* kvm_hv:* events in the trace; 0: nothing to verify, no monitor ran */
	uint64_t duplicates;	/* byte-identical duplicate records dropped (spec §9.10) */
	uint64_t missing_fields;	/* kvm events lacking a field the checks need */
	uint64_t lost_windows;
	uint64_t core_runs;	/* windows closed (rows of core_run) */
	int core_runs_kept;	/* core_run tables already made under this profile: kept, not rewritten */
	uint64_t ambiguous;	/* piggybacked vcpus whose VM could not be told */
	uint64_t violations;	/* total (also those beyond max_violations) */
	int nmon;
	struct hv_replay_mon_sum mon[HV_REPLAY_MAX_MONITORS];
};

typedef void (*hv_violation_fn)(void *ctx, const struct hv_violation *v);

/* Replay st (opened writable unless o->no_write). Returns 0 (violations are not errors) or a
 * negative HV_E_* code (bad profile/param name: HV_E_USAGE). */
int hv_replay_run(struct hv_store *st, const struct hv_replay_opts *o, hv_violation_fn on_violation,
		  void *ctx, struct hv_replay_summary *sum, struct hv_err *err);

/* The profile the trace's meta asks for (`profile` key, else CPU + kernel release), and why
 * (without a CPU in meta: "mainline", saying so). HV_E_USAGE if meta names an unknown one. */
int hv_replay_choose_profile(struct hv_store *st, char *name, size_t n, char *why, size_t wn,
			     struct hv_err *err);

/* Profile names known to the replay, NULL-terminated. */
const char *const *hv_replay_profiles(void);

#endif
