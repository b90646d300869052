/*
 * The replay engine: store rows -> decoded events -> bookkeeping and monitors -> violations.
 *
 * Stages, each small:
 *  1. map: each store type is matched to a known event by system:name (or not: ignored),
 *     and each of its fields to hvtrace's field index BY NAME, so a table built from a
 *     slightly different kernel format still decodes; an event lacking a field the checks
 *     need is counted (missing_fields) and not checked.
 *  2. stream: hv_reader yields rows in seq order; each becomes a struct rp_ev on the stack.
 *  3. filter: `lost` windows make every object UNKNOWN at their start and again at their
 *     end (nothing inside is reported); byte-identical duplicates of the previous event on
 *     the same CPU (spec §9.10) are dropped and counted.
 *  4. dispatch: every active monitor sees the event, in a fixed order.
 *  5. report: violations go to the `violation` table and the callback; derived tables
 *     (core_run, core_run_vcpu) are written by mon_core.c; all in one transaction.
 * Memory: per task / vcpu / CPU state only (book.c); nothing is allocated per event.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <unistd.h>

#include "rp_int.h"

static const char *const mon_names[RP_NMON] = {
	"vcpu_run", "vcpu_guest", "p9_entry", "core_window", "vcore_block", "trap_values", "ordering",
	"split_mode", "core_plan", "thread_place", "start_rule", "cede_rule", "block_rule", "exit_pull",
	"diff_replay",
};
static const char *const mon_docs[RP_NMON] = {
	"per task: KVM_RUN / hcall / page-fault / MMIO / userspace-exit sequence (items 1-5)",
	"per vcpu: guest enter/exit pairs inside the task's run bracket and one window (5b, 10, 13)",
	"per task: POWER9 single-path entry, one guest entry per run, CPU overlap (6, 7)",
	"per CPU: kvmppc_run_core windows, bursts, late joins, piggyback groups (8-12, 14)",
	"per vcpu: vcore blocking only after an all-ceded exit, wakeups (6, 15, 16)",
	"per event: trap values and ceded flags allowed by the path (17, 18)",
	"per CPU/task: timestamps monotonic, tgid fields match the task (19)",
	"L2 per run: split mode allowed by dynamic_mt_modes for the number of subcores",
	"L2 per run: piggyback checks and core plan = collect_piggybacks/subcore_config_ok",
	"L2 per vcpu placed: hw thread = pcpu + {0,4,2,6}[sub] + ptid, ptid by the profile",
	"L2 per run: the profile's start condition held (E31 no busy, E32 n_busy 0, any ready)",
	"L2 per run: H_CEDE napped or exited as hv_cede_decide says",
	"L2 per block: every runnable vcpu ceded and none newly runnable or kicked",
	"L2 per run: every entered thread of every subcore exited",
	"L3 per vcore: recorded decisions = the model's rule functions on the recorded inputs",
};

/* ---- field mapping ---- */

struct rp_type_map {
	int id;			/* RP event id or -1 */
	int8_t col[RP_NF];	/* row column of hvtrace field i, -1 missing */
	uint32_t need;		/* fields (bit i) the checks need */
	uint32_t have;		/* fields (bit i) with a column */
	int nmap;		/* decode's work list: field fi[k] is in column ci[k] */
	int8_t fi[RP_NF], ci[RP_NF];
};

static uint32_t needed_fields(int id)
{
	switch (id) {
	case HV_EV_KVM_GUEST_ENTER:
		return 1u << HV_F_KVM_GUEST_ENTER_VCPU_ID | 1u << HV_F_KVM_GUEST_ENTER_CEDED;
	case HV_EV_KVM_GUEST_EXIT:
		return 1u << HV_F_KVM_GUEST_EXIT_VCPU_ID | 1u << HV_F_KVM_GUEST_EXIT_TRAP |
		       1u << HV_F_KVM_GUEST_EXIT_CEDED;
	case HV_EV_KVM_PAGE_FAULT_ENTER:
	case HV_EV_KVM_PAGE_FAULT_EXIT:
		return 1u;	/* vcpu_id is field 0 of both */
	case HV_EV_KVM_HCALL_ENTER:
		return 1u << HV_F_KVM_HCALL_ENTER_VCPU_ID | 1u << HV_F_KVM_HCALL_ENTER_REQ;
	case HV_EV_KVM_HCALL_EXIT:
		return 1u << HV_F_KVM_HCALL_EXIT_VCPU_ID | 1u << HV_F_KVM_HCALL_EXIT_RET;
	case HV_EV_KVMPPC_RUN_CORE:
	case HV_EV_KVMPPC_VCORE_BLOCKED:
		return 0xfu;
	case HV_EV_KVMPPC_VCORE_WAKEUP:
		return 0x7u;
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		return 0x3u;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		return 0x7u;
	case HV_EV_KVM_USERSPACE_EXIT:
		return 0x3u;
	case HV_EV_KVMHV_VCPU_PLACE:
		return 1u << HV_F_KVMHV_VCPU_PLACE_LPID | 1u << HV_F_KVMHV_VCPU_PLACE_VCPU_ID |
		       1u << HV_F_KVMHV_VCPU_PLACE_VCORE_FIRST_ID | 1u << HV_F_KVMHV_VCPU_PLACE_LATE_JOIN |
		       1u << HV_F_KVMHV_VCPU_PLACE_PTID | 1u << HV_F_KVMHV_VCPU_PLACE_SUB |
		       1u << HV_F_KVMHV_VCPU_PLACE_HW_CPU;
	default:
		return 0;
	}
}

static int map_types(struct hv_store *st, struct rp_type_map **out, struct hv_err *err)
{
	int nt = hv_store_ntypes(st);
	struct rp_type_map *m = calloc((size_t)(nt ? nt : 1), sizeof *m);
	if (!m)
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	for (int t = 0; t < nt; t++) {
		const struct hv_event_def *d = hv_store_type_def(st, t);
		const struct hv_event_def *k = hv_event_find(d->system, d->name);
		m[t].id = -1;
		memset(m[t].col, -1, sizeof m[t].col);
		if (!k) {
			if (strcmp(d->system, "kvm") == 0 && strcmp(d->name, "kvm_ppc_instr") == 0)
				m[t].id = RP_EV_PPC_INSTR;
			continue;
		}
		int id = hv_event_index(k);
		int decision = strcmp(k->system, "kvm_hv_sched") == 0;
		if (id > HV_EV_KVM_USERSPACE_EXIT && !decision)
			continue;	/* sched events: not used (decision events: layers 2/3, and
					 * kvmhv_vcpu_place gives layer 1 each guest entry's lpid) */
		m[t].id = id;
		m[t].need = decision ? (k->nfields >= 32 ? ~0u : (1u << k->nfields) - 1) : needed_fields(id);
		for (unsigned i = 0; i < k->nfields && i < RP_NF; i++)
			for (unsigned j = 0; j < d->nfields; j++)
				if (strcmp(k->fields[i].name, d->fields[j].name) == 0 &&
				    d->fields[j].kind == HV_FK_INT)
					m[t].col[i] = (int8_t)j;
		for (int i = 0; i < RP_NF; i++)
			if (m[t].col[i] >= 0) {
				m[t].have |= 1u << i;
				m[t].fi[m[t].nmap] = (int8_t)i;
				m[t].ci[m[t].nmap++] = m[t].col[i];
			}
	}
	*out = m;
	return 0;
}

/* ---- facts from meta and options ---- */

static int param_int(const char *v, int *out)
{
	char *end;
	long x;
	if (!strcmp(v, "Y") || !strcmp(v, "y") || !strcmp(v, "true"))
		x = 1;
	else if (!strcmp(v, "N") || !strcmp(v, "n") || !strcmp(v, "false"))
		x = 0;
	else {
		x = strtol(v, &end, 0);
		if (end == v || *end)
			return -1;
	}
	*out = (int)x;
	return 0;
}

static int *param_slot(struct rp *rp, const char *name)
{
	if (!strcmp(name, "dynamic_mt_modes"))
		return &rp->par.dmm;
	if (!strcmp(name, "target_smt_mode"))
		return &rp->par.target_smt;
	if (!strcmp(name, "threads_per_core"))
		return &rp->par.tpc;
	if (!strcmp(name, "subcores_per_core"))
		return &rp->par.subcores;
	if (!strcmp(name, "smt_mode"))
		return &rp->par.smt_mode;
	if (!strcmp(name, "indep_threads_mode"))
		return &rp->par.indep;
	return NULL;
}

static int add_vmsmt(struct rp *rp, int32_t tgid, int smt)
{
	void *p = realloc(rp->vmsmt, (size_t)(rp->nvmsmt + 1) * sizeof *rp->vmsmt);
	if (!p)
		return -1;
	rp->vmsmt = p;
	rp->vmsmt[rp->nvmsmt].tgid = tgid;
	rp->vmsmt[rp->nvmsmt++].smt = smt;
	return 0;
}

/* Facts: meta keys ending in NAME (see rp_meta_get), then vm.<tgid>.smt_mode; options last. */
static int load_facts(struct rp *rp, const struct hv_replay_opts *o, struct hv_err *err)
{
	static const char *const names[] = { "dynamic_mt_modes", "target_smt_mode", "threads_per_core",
					      "subcores_per_core", "smt_mode", "indep_threads_mode" };
	memset(&rp->par, -1, sizeof rp->par);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char val[64];
		if (rp_meta_get(rp->st, names[i], val, sizeof val, NULL, 0))
			param_int(val, param_slot(rp, names[i]));
	}
	/* A gang-path host runs with its secondary threads offline, so a threads-per-core figure
	 * taken from the online topology (perf's CPU_TOPOLOGY) counts 1 where the core has 4 or
	 * 8: with fewer CPUs online than present, do not trust it (a --param still can). */
	char on[32], av[32];
	if (rp->par.tpc > 0 && rp_meta_get(rp->st, "nrcpus_online", on, sizeof on, NULL, 0) &&
	    rp_meta_get(rp->st, "nrcpus_avail", av, sizeof av, NULL, 0) && atoi(av) > atoi(on))
		rp->par.tpc = -1;
	/* vm.<N>.smt_mode: N is the VM's tgid, unless a vm.<N>.tgid names it (the simulator
	 * keys its VMs by lpid: vm.<lpid>.tgid, vm.<lpid>.smt_mode) */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(hv_store_sqlite(rp->st),
			       "SELECT key, value FROM meta WHERE key LIKE 'vm.%.tgid'", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			int lpid, tgid;
			const char *k = (const char *)sqlite3_column_text(s, 0);
			const char *v = (const char *)sqlite3_column_text(s, 1);
			if (k && v && sscanf(k, "vm.%d.tgid", &lpid) == 1 && param_int(v, &tgid) == 0)
				rp_lpid_learn(rp, lpid, tgid);
		}
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(hv_store_sqlite(rp->st),
			       "SELECT key, value FROM meta WHERE key LIKE 'vm.%.smt_mode'", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			int n, smt;
			const char *k = (const char *)sqlite3_column_text(s, 0);
			const char *v = (const char *)sqlite3_column_text(s, 1);
			if (k && v && sscanf(k, "vm.%d.smt_mode", &n) == 1 && param_int(v, &smt) == 0) {
				int32_t tgid = rp_lpid_tgid(rp, n);
				add_vmsmt(rp, tgid >= 0 ? tgid : n, smt);
			}
		}
		sqlite3_finalize(s);
	}
	for (int i = 0; o && i < o->nparams; i++) {
		const char *n = o->params[i].name, *v = o->params[i].value;
		int tgid, x;
		if (!v || param_int(v, &x) < 0)
			return hv_err_set(err, HV_E_USAGE, "parameter %s: bad value '%s'", n, v ? v : "");
		if (sscanf(n, "vm.%d.smt_mode", &tgid) == 1) {
			if (add_vmsmt(rp, tgid, x) < 0)
				return hv_err_set(err, HV_E_NOMEM, "out of memory");
			continue;
		}
		int *slot = param_slot(rp, n);
		if (!slot)
			return hv_err_set(err, HV_E_USAGE,
					  "unknown parameter '%s' (dynamic_mt_modes, target_smt_mode, threads_per_core, "
					  "subcores_per_core, smt_mode, vm.<tgid>.smt_mode, indep_threads_mode)", n);
		*slot = x;
	}
	/* later entries win: move option entries first in lookup order */
	for (int i = 0, j = rp->nvmsmt - 1; i < j; i++, j--) {
		struct rp_vmsmt t = rp->vmsmt[i];
		rp->vmsmt[i] = rp->vmsmt[j];
		rp->vmsmt[j] = t;
	}
	return 0;
}

static int load_chip(struct rp *rp)
{
	static const char *const keys[] = { "cpudesc", "cpuid", "cpu", NULL };
	int rp_chip_from(const char *cpu, int *architected);
	for (int i = 0; keys[i]; i++) {
		char buf[256];
		if (rp_meta_get(rp->st, keys[i], buf, sizeof buf, NULL, 0)) {
			int c = rp_chip_from(buf, &rp->nested_l1);
			if (c)
				return c;
		}
	}
	return rp->prof->gang ? 0 : 9;
}

static int load_lost(struct rp *rp, struct hv_err *err)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(hv_store_sqlite(rp->st),
				    "SELECT cpu, ts_from, ts_to FROM lost ORDER BY ts_from", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return hv_err_set(err, HV_E_SQL, "%s: reading lost: %s", hv_store_path(rp->st),
				  sqlite3_errmsg(hv_store_sqlite(rp->st)));
	while (sqlite3_step(s) == SQLITE_ROW) {
		void *p = realloc(rp->lost, (size_t)(rp->nlost + 1) * sizeof *rp->lost);
		if (!p) {
			sqlite3_finalize(s);
			return hv_err_set(err, HV_E_NOMEM, "out of memory");
		}
		rp->lost = p;
		struct rp_lost *l = &rp->lost[rp->nlost++];
		memset(l, 0, sizeof *l);
		l->cpu = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 0);
		l->from = (uint64_t)sqlite3_column_int64(s, 1);
		l->to = (uint64_t)sqlite3_column_int64(s, 2);
		if (l->to < l->from)
			l->to = l->from;
	}
	sqlite3_finalize(s);
	rp->sum->lost_windows = (uint64_t)rp->nlost;
	return 0;
}

static void forget(struct rp *rp, int32_t cpu)
{
	rp_book_forget(rp, cpu);
	if (rp->tap && rp->tap->forget)
		rp->tap->forget(rp->tap->ctx, cpu);
}

/* Before an event at ts: open the lost windows that started, close those that ended. Opening
 * and closing both forget the affected state, so no object resynchronises inside a window. */
static void apply_lost(struct rp *rp, uint64_t ts)
{
	for (int i = 0; i < rp->lost_next; i++) {
		struct rp_lost *l = &rp->lost[i];
		if (l->active && ts > l->to) {
			l->active = 0;
			l->done = 1;
			rp->in_lost--;
			forget(rp, l->cpu);
		}
	}
	while (rp->lost_next < rp->nlost && rp->lost[rp->lost_next].from <= ts) {
		struct rp_lost *l = &rp->lost[rp->lost_next++];
		forget(rp, l->cpu);
		if (ts <= l->to) {
			l->active = 1;
			rp->in_lost++;
		} else {
			l->done = 1;
		}
	}
}

/* ---- output tables ---- */

/* Columns as db/README.md documents them (extra columns last). */
static const char violation_schema[] =
	"DROP TABLE IF EXISTS violation;"
	"CREATE TABLE violation(id INTEGER PRIMARY KEY, monitor TEXT NOT NULL, object TEXT, state TEXT,"
	" seq INTEGER, ts INTEGER, cpu INTEGER, pid INTEGER, message TEXT, event TEXT);";
static const char violation_index[] = "CREATE INDEX violation_seq ON violation(seq);";
static const char out_schema[] =
	"DROP TABLE IF EXISTS core_run; DROP TABLE IF EXISTS core_run_vcpu;"
	"CREATE TABLE core_run(id INTEGER PRIMARY KEY, cpu INTEGER, runner_pid INTEGER, tgid INTEGER,"
	" runner_vcpu INTEGER, enter_seq INTEGER, exit_seq INTEGER, start_ts INTEGER, end_ts INTEGER,"
	" n_runnable INTEGER, n_vcpus INTEGER, n_vcores INTEGER, n_vms INTEGER, split INTEGER,"
	" threads_used INTEGER, threads_avail INTEGER, piggybacked INTEGER, vcpus TEXT);"
	"CREATE TABLE core_run_vcpu(core_run_id INTEGER NOT NULL, tgid INTEGER, vcpu_id INTEGER, grp INTEGER,"
	" hw_thread INTEGER, late_join INTEGER);";
static const char out_index[] =
	"CREATE INDEX core_run_cpu ON core_run(cpu, start_ts);"
	"CREATE INDEX core_run_tgid ON core_run(tgid, start_ts);"
	"CREATE INDEX core_run_vcpu_run ON core_run_vcpu(core_run_id);"
	"CREATE INDEX core_run_vcpu_vm ON core_run_vcpu(tgid, vcpu_id);";

static struct rp_rows *rows_open(sqlite3 *db, const char *into, int ncols)
{
	struct rp_rows *r = malloc(sizeof *r);
	if (r && rp_rows_open(r, db, into, ncols) < 0) {
		free(r);
		r = NULL;
	}
	return r;
}

/* core_run and core_run_vcpu are the same bookkeeping whoever runs it (hvtrace derive after
 * import, or an earlier replay), under a profile and the --param overrides: meta `core_run.by`
 * records them, and a replay under the same ones keeps the tables instead of writing them
 * again (that rewrite was a third of a replay's time). */
static void out_signature(struct rp *rp, const struct hv_replay_opts *o)
{
	size_t len = (size_t)snprintf(rp->out_sig, sizeof rp->out_sig, "profile=%s", rp->prof->name);
	for (int i = 0; o && i < o->nparams && len < sizeof rp->out_sig; i++)
		len += (size_t)snprintf(rp->out_sig + len, sizeof rp->out_sig - len, ";%s=%s", o->params[i].name,
					o->params[i].value);
}

static int runs_current(struct rp *rp)
{
	char by[sizeof rp->out_sig];
	return !rp->derive_only && hv_store_has_table(rp->st, "core_run") &&
	       hv_store_has_table(rp->st, "core_run_vcpu") &&
	       hv_store_get_meta(rp->st, "core_run.by", by, sizeof by, NULL) == 1 && strcmp(by, rp->out_sig) == 0;
}

/* The tables and their indexes are created empty, before any row: an index filled row by row
 * costs about what sorting it at the end did (1% more instructions), and needs no sorter whose
 * memory grows with the trace (the sorter took up to the 16 MB cache size on top of the page
 * cache: replay peak RSS 34 MB for 2.3 M events, 45 MB for 6.9 M; now 22 MB for both). */
static int open_outputs(struct rp *rp, struct hv_err *err)
{
	sqlite3 *db = hv_store_sqlite(rp->st);
	int rc;
	rp->keep_runs = runs_current(rp);
	/* a savepoint: its own transaction, or part of the caller's (hvtrace derive) */
	if ((rc = hv_store_exec(rp->st, "SAVEPOINT replay_out", err)) < 0 ||
	    (!rp->keep_runs && ((rc = hv_store_exec(rp->st, out_schema, err)) < 0 ||
				(rc = hv_store_exec(rp->st, out_index, err)) < 0 ||
				(rc = hv_store_set_meta(rp->st, "core_run.by", rp->out_sig, err)) < 0)) ||
	    (!rp->derive_only && ((rc = hv_store_exec(rp->st, violation_schema, err)) < 0 ||
				  (rc = hv_store_exec(rp->st, violation_index, err)) < 0)))
		return rc;
	if ((!rp->derive_only &&
	     !(rp->ins_violation = rows_open(db, "violation(monitor, object, state, event, seq, ts, cpu, pid, message)", 9))) ||
	    (!rp->keep_runs && (!(rp->ins_run = rows_open(db, "core_run", 18)) ||
				!(rp->ins_run_vcpu = rows_open(db, "core_run_vcpu", 6))))) {
		rc = hv_err_set(err, HV_E_SQL, "%s: preparing replay tables: %s", hv_store_path(rp->st),
				sqlite3_errmsg(db));
		hv_store_exec(rp->st, "ROLLBACK TO replay_out; RELEASE replay_out", NULL);
		return rc;
	}
	return 0;
}

/* Write the rows still kept; the first error is kept in rp->rc. */
static void flush_outputs(struct rp *rp)
{
	struct rp_rows *all[] = { rp->ins_violation, rp->ins_run, rp->ins_run_vcpu };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i] && rp_rows_flush(all[i]) < 0 && !rp->rc)
			rp->rc = hv_err_set(rp->err, HV_E_SQL, "%s: writing replay tables: %s", hv_store_path(rp->st),
					    sqlite3_errmsg(hv_store_sqlite(rp->st)));
}

static void close_outputs(struct rp *rp)
{
	struct rp_rows *all[] = { rp->ins_violation, rp->ins_run, rp->ins_run_vcpu };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i]) {
			rp_rows_close(all[i]);
			free(all[i]);
		}
	rp->ins_violation = rp->ins_run = rp->ins_run_vcpu = NULL;
}

/* ---- stepping and reporting ---- */

int rp_mon_on(const struct rp *rp, int mon)
{
	return rp->sum->mon[mon].active;
}

void rp_checked(struct rp *rp, int mon)
{
	if (rp->in_lost)
		rp->sum->mon[mon].unverified++;
	else
		rp->sum->mon[mon].checked++;
}

void rp_skipped(struct rp *rp, int mon)
{
	rp->sum->mon[mon].skipped++;
}

static void format_obj(char *buf, size_t n, struct rp_obj o)
{
	switch (o.kind) {
	case 't':
		snprintf(buf, n, "task %d", o.a);
		break;
	case 'v':
		snprintf(buf, n, "vcpu %d/%d", o.a, o.b);
		break;
	case 'c':
		snprintf(buf, n, "cpu %d", o.a);
		break;
	case 'k':
		snprintf(buf, n, "vcore %d/%d", o.a, o.b);	/* tgid / first_vcpuid (layers 2/3) */
		break;
	default:
		snprintf(buf, n, "-");
	}
}

static void report(struct rp *rp, int mon, struct rp_obj obj, const char *state, const char *event,
		   const struct rp_ev *ev, const char *msg)
{
	if (rp->in_lost) {
		rp->sum->mon[mon].unverified++;
		return;
	}
	rp->sum->violations++;
	rp->sum->mon[mon].violations++;
	if (rp->max_violations < 0 ||
	    (rp->max_violations > 0 && rp->sum->violations > (uint64_t)rp->max_violations))
		return;
	struct hv_violation v = { 0 };
	v.monitor = mon_names[mon];
	format_obj(v.object, sizeof v.object, obj);
	snprintf(v.state, sizeof v.state, "%s", state);
	v.event = event;
	v.seq = ev->seq;
	v.ts = ev->ts;
	v.cpu = ev->cpu;
	v.pid = ev->pid;
	v.ctx_ts = ev->ts;
	v.ctx_seq = ev->seq;
	struct rp_cpu *c = ev->cpu >= 0 && ev->cpu < rp->ncpus ? &rp->cpus[ev->cpu] : NULL;
	for (int k = 1, before = 0; c && k <= c->ring_n && before < 4; k++) {	/* 4th event before it */
		int i = (c->ring_i + 8 - k) % 8;
		if (c->ring_seq[i] < ev->seq) {
			v.ctx_ts = c->ring_ts[i];
			v.ctx_seq = c->ring_seq[i];
			before++;
		}
	}
	snprintf(v.msg, sizeof v.msg, "%s", msg);
	if (rp->ins_violation && !rp->rc) {
		struct rp_rows *r = rp->ins_violation;
		rp_rows_text(r, v.monitor);
		rp_rows_text(r, v.object);
		rp_rows_text(r, v.state);
		rp_rows_text(r, v.event);
		rp_rows_int(r, (int64_t)v.seq);
		rp_rows_int(r, (int64_t)v.ts);
		rp_rows_int(r, v.cpu);
		rp_rows_int(r, v.pid);
		rp_rows_text(r, v.msg);
		if (rp_rows_end(r) < 0)
			rp->rc = hv_err_set(rp->err, HV_E_SQL, "%s: writing violation: %s", hv_store_path(rp->st),
					    sqlite3_errmsg(hv_store_sqlite(rp->st)));
	}
	if (rp->cb)
		rp->cb(rp->ctx, &v);
}

void rp_step(struct rp *rp, int mon, const struct rp_automaton *a, uint8_t *state, int letter,
	     const struct rp_ev *ev, struct rp_obj obj, const char *detail)
{
	int s = *state;
	assert(s < a->nstates && letter >= 0 && letter < a->nevents);
	if (rp->in_lost) {
		rp->sum->mon[mon].unverified++;
		*state = RP_UNKNOWN;
		return;
	}
	const struct rp_trans *t = &a->tab[s * a->nevents + letter];
	if (s == RP_UNKNOWN) {
		rp->sum->mon[mon].unverified++;
		if (t->to && !t->err)
			*state = (uint8_t)(t->to - 1);
		return;
	}
	rp->sum->mon[mon].checked++;
	if (t->to && !t->err) {
		*state = (uint8_t)(t->to - 1);
		return;
	}
	char msg[256];
	if (t->err)
		snprintf(msg, sizeof msg, "%s%s%s", t->err, detail ? " " : "", detail ? detail : "");
	else
		snprintf(msg, sizeof msg, "%s; got %s%s%s", a->expect[s], a->events[letter], detail ? " " : "",
			 detail ? detail : "");
	*state = t->to ? (uint8_t)(t->to - 1) : RP_UNKNOWN;
	report(rp, mon, obj, a->states[s], a->events[letter], ev, msg);
}

void rp_violate(struct rp *rp, int mon, struct rp_obj obj, const char *state, const char *event,
		const struct rp_ev *ev, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	report(rp, mon, obj, state, event, ev, msg);
}

/* ---- the run ---- */

/* Invariants of the monitor tables: state 0 is UNKNOWN and never reports; every state and
 * event has a name and every state an expectation sentence. */
static int automata_ok(void)
{
	const struct rp_automaton *all[] = { &rp_aut_vcpu_run, &rp_aut_vcpu_guest, &rp_aut_p9_entry,
					     &rp_aut_core_window, &rp_aut_block_gang, &rp_aut_block_p9 };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const struct rp_automaton *a = all[i];
		if (strcmp(a->states[0], "UNKNOWN"))
			return 0;
		for (int e = 0; e < a->nevents; e++)
			if (!a->events[e] || a->tab[e].err)
				return 0;
		for (int st = 0; st < a->nstates; st++)
			if (!a->states[st] || !a->expect[st])
				return 0;
	}
	return 1;
}

/* Fields without a column (or not an integer in this row) are 0; an event lacking one the
 * checks need is not ok (and then not looked at). Only the mapped fields are visited. */
static int decode(const struct rp_type_map *m, const struct hv_row *row, struct rp_ev *ev)
{
	if (m->need & ~m->have)
		return 0;
	ev->id = m->id;
	ev->seq = row->seq;
	ev->ts = row->ts;
	ev->cpu = row->cpu;
	ev->pid = row->pid;
	memset(ev->f, 0, sizeof ev->f);
	int ok = 1;
	for (int k = 0; k < m->nmap; k++) {
		const struct hv_value *v = &row->v[m->ci[k]];
		if (!v->p)
			ev->f[m->fi[k]] = v->i;
		else if (m->need & (1u << m->fi[k]))
			ok = 0;
	}
	return ok;
}

static int same_event(const struct rp_ev *a, const struct rp_ev *b)
{
	return a->id == b->id && a->ts == b->ts && a->pid == b->pid && a->cpu == b->cpu &&
	       memcmp(a->f, b->f, sizeof a->f) == 0;
}

static void dispatch(struct rp *rp, const struct rp_ev *ev)
{
	if (ev->id > HV_EV_KVM_USERSPACE_EXIT && ev->id < HV_EV_COUNT) {
		rp_l2_event(rp, ev);	/* kvm_hv_sched decision events: layers 2/3 only */
		return;
	}
	rp_mon_order(rp, ev);
	rp_mon_trap(rp, ev);
	rp_mon_vcpu_run(rp, ev);
	if (rp->prof->gang)
		rp_mon_core(rp, ev);
	else
		rp_mon_p9_entry(rp, ev);
	rp_mon_block(rp, ev);
	rp_l2_event(rp, ev);
}

static int run_stream(struct rp *rp, struct hv_err *err)
{
	struct rp_type_map *map = NULL;
	struct hv_reader *rd = NULL;
	int rc = map_types(rp->st, &map, err);
	int nt = hv_store_ntypes(rp->st), *want = calloc((size_t)(nt ? nt : 1), sizeof *want), nw = 0;
	for (int t = 0; want && t < nt; t++)
		if (map[t].id >= 0)
			want[nw++] = t;	/* read only the tables of events the monitors use */
	struct hv_filter f = { .types = want, .ntypes = nw, .threads = rp->read_threads };
	if (rc == 0 && !want)
		rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
	/* the reader threads hold SHARED locks: our own writes (violations) stay in the cache */
	if (rc == 0 && f.threads && !rp->no_write)
		rc = hv_store_exec(rp->st, "PRAGMA cache_spill=OFF", err);
	if (rc == 0)
		rc = hv_reader_open(rp->st, &f, &rd, err);
	const struct hv_row *row;
	while (rc == 0 && !rp->rc && (rc = hv_reader_next(rd, &row, err)) == 1) {
		rc = 0;
		const struct rp_type_map *m = &map[row->type];
		struct rp_ev ev;
		int place = m->id == HV_EV_KVMHV_VCPU_PLACE;
		rp->sum->kvm_events += !place;
		if (!decode(m, row, &ev)) {
			rp->sum->missing_fields++;
			continue;
		}
		struct rp_cpu *c = rp_cpu_get(rp, ev.cpu);
		if (!c) {
			rp->sum->missing_fields++;
			continue;
		}
		apply_lost(rp, ev.ts);
		if (place) {		/* layer 1: an annotation of the next kvm_guest_enter;
					 * layers 2/3: a placement decision to check */
			if (rp->prof->gang)
				rp_core_place(rp, &ev);
			rp_l2_event(rp, &ev);
			continue;
		}
		if (c->has_last_ev && same_event(&c->last_ev, &ev)) {
			rp->sum->duplicates++;
			continue;
		}
		dispatch(rp, &ev);
		if (rp->tap && rp->tap->event)
			rp->tap->event(rp->tap->ctx, &ev);
		c = &rp->cpus[ev.cpu];
		c->last_ev = ev;
		c->has_last_ev = 1;
		c->ring_ts[c->ring_i] = ev.ts;
		c->ring_seq[c->ring_i] = ev.seq;
		c->ring_i = (c->ring_i + 1) % 8;
		if (c->ring_n < 8)
			c->ring_n++;
	}
	hv_reader_close(rd);
	if (f.threads && !rp->no_write)
		hv_store_exec(rp->st, "PRAGMA cache_spill=ON", NULL);
	free(map);
	free(want);
	if (rc == 0 && rp->rc)
		rc = rp->rc;
	return rc;
}

/* Reader threads (store_read_par.c) read through their own connections what is committed in
 * the file, while this connection may write only what its cache holds. So they are used only
 * when the caller has nothing uncommitted (autocommit before our savepoint) and this replay
 * writes nothing but violations: not for derive, nor when core_run is rewritten. */
static int choose_read_threads(const struct rp *rp, const struct hv_replay_opts *o, int autocommit)
{
	int want = o ? o->read_threads : 0;
	if (want < 0 || rp->derive_only || !autocommit || (!rp->no_write && !rp->keep_runs))
		return 0;
	if (want == 0)
		want = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 0;
	return want;
}

/* kvm_hv:* rows in the store. A host that is not a Book3S HV host (x86 KVM, a trace without
 * kvm_hv events) gives the monitors nothing to check: replay says so instead of judging its
 * generic kvm:* events by kvm_hv's rules. */
static uint64_t count_hv_events(const struct hv_store *st)
{
	uint64_t n = 0;
	for (int t = 0; t < hv_store_ntypes(st); t++)
		if (!strcmp(hv_store_type_def(st, t)->system, "kvm_hv"))
			n += hv_store_type_count(st, t);
	return n;
}

int hv_replay_run(struct hv_store *st, const struct hv_replay_opts *o, hv_violation_fn on_violation,
		  void *ctx, struct hv_replay_summary *sum, struct hv_err *err)
{
	struct rp rp = { 0 };
	char name[64];
	int rc;
	memset(sum, 0, sizeof *sum);
	if (o && o->profile) {
		snprintf(name, sizeof name, "%s", o->profile);
		snprintf(sum->profile_why, sizeof sum->profile_why, "given with --profile");
	} else {
		rc = hv_replay_choose_profile(st, name, sizeof name, sum->profile_why, sizeof sum->profile_why, err);
		if (rc < 0)
			return rc;
	}
	rp.prof = rp_profile_find(name);
	if (!rp.prof)
		return hv_err_set(err, HV_E_USAGE, "unknown profile '%s'", name);
	snprintf(sum->profile, sizeof sum->profile, "%s", rp.prof->name);
	rp.st = st;
	rp.sum = sum;
	rp.cb = on_violation;
	rp.ctx = ctx;
	rp.err = err;
	rp.derive_only = o ? o->derive_only : 0;
	rp.max_violations = rp.derive_only ? -1 : o ? o->max_violations : 0;
	rp.no_write = o ? o->no_write : 0;
	rp.tap = o ? o->tap : NULL;
	for (int m = 0; m < RP_NMON; m++) {
		sum->mon[m].name = mon_names[m];
		sum->mon[m].doc = mon_docs[m];
		sum->mon[m].active = rp.prof->gang ? m != RP_MON_P9_ENTRY
						   : (m != RP_MON_VCPU_GUEST && m != RP_MON_CORE_WINDOW);
	}
	sum->nmon = RP_NMON;
	int tables_ok = automata_ok();
	assert(tables_ok);
	(void)tables_ok;
	rp_book_init(&rp);
	if ((rc = load_facts(&rp, o, err)) < 0 || (rc = load_lost(&rp, err)) < 0)
		goto out;
	rp.chip = load_chip(&rp);
	out_signature(&rp, o);
	if ((rc = rp_l2_init(&rp, o)) < 0)
		goto out;
	int autocommit = sqlite3_get_autocommit(hv_store_sqlite(st));
	if (!rp.no_write && (rc = open_outputs(&rp, err)) < 0)
		goto out;
	sum->core_runs_kept = rp.keep_runs;
	rp.read_threads = choose_read_threads(&rp, o, autocommit);
	sum->events = hv_store_nevents(st);
	sum->hv_events = count_hv_events(st);
	if (rp.tap && rp.tap->begin)
		rp.tap->begin(rp.tap->ctx, rp.prof->gang);
	rc = sum->hv_events ? run_stream(&rp, err) : 0;
	if (rc == 0) {
		if (rp.prof->gang)
			rp_mon_guest_finish(&rp);
		rc = rp.rc;
	}
	if (!rp.no_write) {
		if (rc == 0) {
			flush_outputs(&rp);
			rc = rp.rc;
		}
		close_outputs(&rp);
		if (rc == 0)
			rc = hv_store_exec(st, "RELEASE replay_out", err);
		else
			hv_store_exec(st, "ROLLBACK TO replay_out; RELEASE replay_out", NULL);
	}
out:
	close_outputs(&rp);
	rp_l2_free(&rp);
	rp_book_free(&rp);
	free(rp.lost);
	free(rp.vmsmt);
	return rc;
}
