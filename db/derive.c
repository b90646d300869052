/*
 * hvtrace derive: build the derived tables (db/README.md, "Derived tables") in one pass.
 *
 * Inside one SAVEPOINT: drop and recreate vcpu_run, hcall, vcore_block and vcpu_wait; run the
 * replay engine with derive_only (its bookkeeping writes core_run and core_run_vcpu, nothing
 * is reported) and a tap that feeds every decoded event and every attributed guest run to
 * derive_vcpu.c and derive_task.c; then index every table and release. Any error rolls the
 * savepoint back, leaving the tables as they were.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "derive_int.h"
#include "hv_events.h"

static const char schema[] =
	"DROP TABLE IF EXISTS vcpu_run; DROP TABLE IF EXISTS hcall; DROP TABLE IF EXISTS vcore_block;"
	"DROP TABLE IF EXISTS vcpu_wait;"
	"CREATE TABLE vcpu_run(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu_id INTEGER, cpu INTEGER, hw_thread INTEGER,"
	" core_run_id INTEGER, start_ts INTEGER, end_ts INTEGER, enter_seq INTEGER, exit_seq INTEGER, trap INTEGER,"
	" ceded INTEGER, late_join INTEGER, enter_ceded INTEGER);"
	"CREATE TABLE hcall(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu_id INTEGER, pid INTEGER, cpu INTEGER, req INTEGER,"
	" start_ts INTEGER, end_ts INTEGER, ret INTEGER, hcall_rc INTEGER);"
	"CREATE TABLE vcore_block(id INTEGER PRIMARY KEY, tgid INTEGER, runner_vcpu INTEGER, pid INTEGER, cpu INTEGER,"
	" start_ts INTEGER, end_ts INTEGER, ns INTEGER, waited INTEGER);"
	"CREATE TABLE vcpu_wait(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu_id INTEGER, start_ts INTEGER, end_ts INTEGER);"
	/* indexes with the empty tables, filled row by row: a CREATE INDEX after loading sorts
	 * in memory that grows with the trace (26 -> 38 MB for 3x the length) */
	"CREATE INDEX vcpu_run_vcpu ON vcpu_run(tgid, vcpu_id, start_ts);"
	"CREATE INDEX vcpu_run_core_run ON vcpu_run(core_run_id);"
	"CREATE INDEX hcall_vcpu ON hcall(tgid, vcpu_id, start_ts);"
	"CREATE INDEX hcall_req ON hcall(req);"
	"CREATE INDEX vcore_block_vm ON vcore_block(tgid, start_ts);"
	"CREATE INDEX vcpu_wait_vcpu ON vcpu_wait(tgid, vcpu_id, start_ts);";

/* After loading: runs of windows that never closed (trace end, lost events) point nowhere. */
static const char finish[] =
	"UPDATE vcpu_run SET core_run_id = NULL WHERE core_run_id IS NOT NULL"
	" AND core_run_id NOT IN (SELECT id FROM core_run);";

void dv_insert(struct dv *d, sqlite3_stmt *s, const char *table)
{
	if (!d->rc && sqlite3_step(s) != SQLITE_DONE)
		d->rc = hv_err_set(d->err, HV_E_SQL, "%s: writing %s: %s", hv_store_path(d->st), table,
				   sqlite3_errmsg(hv_store_sqlite(d->st)));
	sqlite3_reset(s);
}

static void tap_begin(void *ctx, int gang)
{
	struct dv *d = ctx;
	d->gang = gang;
	d->sum->gang = gang;
}

static void tap_event(void *ctx, const struct hv_replay_ev *ev)
{
	struct dv *d = ctx;
	dv_vcpu_event(d, ev);
	dv_task_event(d, ev);
}

static void tap_run(void *ctx, const struct hv_replay_grun *r)
{
	dv_guest_run(ctx, r);
}

static void tap_forget(void *ctx, int32_t cpu)
{
	(void)cpu;
	dv_forget(ctx);
}

static int prepare(struct dv *d)
{
	sqlite3 *db = hv_store_sqlite(d->st);
	if (sqlite3_prepare_v2(db, "INSERT INTO vcpu_run(tgid, vcpu_id, cpu, hw_thread, core_run_id, start_ts, end_ts,"
			       " enter_seq, exit_seq, trap, ceded, late_join, enter_ceded) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &d->ins_run, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO hcall(tgid, vcpu_id, pid, cpu, req, start_ts, end_ts, ret, hcall_rc)"
			       " VALUES(?,?,?,?,?,?,?,?,?)", -1, &d->ins_hcall, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO vcore_block(tgid, runner_vcpu, pid, cpu, start_ts, end_ts, ns, waited)"
			       " VALUES(?,?,?,?,?,?,?,?)", -1, &d->ins_block, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO vcpu_wait(tgid, vcpu_id, start_ts, end_ts) VALUES(?,?,?,?)", -1,
			       &d->ins_wait, NULL) != SQLITE_OK)
		return hv_err_set(d->err, HV_E_SQL, "%s: preparing derived tables: %s", hv_store_path(d->st),
				  sqlite3_errmsg(db));
	return 0;
}

static void finalize(struct dv *d)
{
	sqlite3_finalize(d->ins_run);
	sqlite3_finalize(d->ins_hcall);
	sqlite3_finalize(d->ins_block);
	sqlite3_finalize(d->ins_wait);
	d->ins_run = d->ins_hcall = d->ins_block = d->ins_wait = NULL;
}

static int has_events(struct hv_store *st, const char *name)
{
	int t = hv_store_find_type(st, "kvm_hv", name);
	return t >= 0 && hv_store_type_count(st, t) > 0;
}

int hv_derive_run(struct hv_store *st, const char *profile, struct hv_derive_summary *sum, struct hv_err *err)
{
	struct dv d = { .st = st, .sum = sum, .err = err };
	struct hv_replay_summary rs;
	memset(sum, 0, sizeof *sum);
	memset(&rs, 0, sizeof rs);
	d.tasks.size = sizeof(struct dv_task);
	d.vcpus.size = sizeof(struct dv_vcpu);
	d.has_wakeup = has_events(st, "kvmppc_vcore_wakeup");
	int rc = hv_store_exec(st, "SAVEPOINT derive", err);
	if (rc < 0)
		return rc;
	struct hv_replay_tap tap = { &d, tap_begin, tap_event, tap_run, tap_forget };
	struct hv_replay_opts o = { .profile = profile, .derive_only = 1, .tap = &tap };
	if ((rc = hv_store_exec(st, schema, err)) == 0 && (rc = prepare(&d)) == 0 && (rc = dv_load_tasks(&d)) == 0)
		rc = hv_replay_run(st, &o, NULL, NULL, &rs, err);
	if (rc == 0)
		rc = d.rc;
	finalize(&d);
	if (rc == 0)
		rc = hv_store_exec(st, finish, err);
	if (rc == 0)
		rc = hv_store_exec(st, "RELEASE derive", err);
	if (rc < 0)
		hv_store_exec(st, "ROLLBACK TO derive; RELEASE derive", NULL);
	snprintf(sum->profile, sizeof sum->profile, "%s", rs.profile);
	sum->core_run = rs.core_runs;
	dv_map_free(&d.tasks);
	dv_map_free(&d.vcpus);
	return rc;
}

int hv_derive_present(struct hv_store *st)
{
	return hv_store_has_table(st, "vcpu_run");
}
