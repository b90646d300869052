/*
 * hvtrace stat: one SQL query per table over the derived tables (hv_stat.h). SQL functions
 * trap_name(), hcall_name() and cede_outcome_name() name values from tracepoints/symbols.
 * Times are µs (3 decimals) or ms; shares are percent (2 decimals); percentiles nearest-rank:
 * the value at 1-based rank max(1, ceil(p*n/100)) of the n sorted values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "hv_events.h"
#include "hv_stat.h"

#define P_RANK(p) "max(1, (" #p " * n + 99) / 100)"
#define US(x) "round((" x ") / 1e3, 3)"

struct query {
	const char *key, *title, *sql;
};

static const struct query host_q[] = {
	{ "split", "kvmppc_run_core windows by split mode",
	  "SELECT CASE split WHEN 1 THEN 'whole' WHEN 2 THEN '2-way' WHEN 4 THEN '4-way' ELSE 'unknown' END AS mode,"
	  " count(*) AS windows, round(100.0 * count(*) / (SELECT count(*) FROM core_run), 2) AS windows_pct,"
	  " round(sum(end_ts - start_ts) / 1e6, 3) AS core_ms,"
	  " round(100.0 * sum(end_ts - start_ts) / (SELECT sum(end_ts - start_ts) FROM core_run), 2) AS core_time_pct"
	  " FROM core_run GROUP BY split ORDER BY split IS NULL, split" },
	{ "occupancy", "hardware threads used per window",
	  "SELECT threads_used, threads_avail, count(*) AS windows,"
	  " round(100.0 * sum(end_ts - start_ts) / (SELECT sum(end_ts - start_ts) FROM core_run), 2) AS core_time_pct"
	  " FROM core_run GROUP BY threads_used, threads_avail ORDER BY threads_avail, threads_used" },
	{ "cores", "core windows",
	  "SELECT count(*) AS windows, round(sum(end_ts - start_ts) / 1e6, 3) AS core_ms,"
	  " round(100.0 * sum(threads_used * (end_ts - start_ts)) / sum(threads_avail * (end_ts - start_ts)), 2)"
	  " AS occupancy_pct, sum(piggybacked > 0) AS piggyback_windows,"
	  " round(100.0 * sum(piggybacked > 0) / count(*), 2) AS piggyback_pct,"
	  " (SELECT count(*) FROM core_run_vcpu WHERE late_join = 1) AS late_joins FROM core_run" },
	{ "cede_outcome", "H_CEDE outcomes (kvm_hv_sched:kvmhv_cede)",
	  "SELECT outcome, cede_outcome_name(outcome) AS name, count(*) AS count FROM kvm_hv_sched__kvmhv_cede"
	  " GROUP BY outcome ORDER BY outcome" },
};

static const struct query vm_q[] = {
	{ "exits", "exits by trap (time to the vcpu's next guest entry)",
	  "WITH r AS (SELECT trap, lead(start_ts) OVER (PARTITION BY vcpu_id ORDER BY start_ts) - end_ts AS d"
	  " FROM vcpu_run WHERE tgid = ?1)"
	  " SELECT printf('0x%x', trap) AS trap, trap_name(trap) AS name, count(*) AS count,"
	  " round(100.0 * count(*) / (SELECT count(*) FROM vcpu_run WHERE tgid = ?1), 2) AS share_pct,"
	  " " US("min(d)") " AS min_us, " US("avg(d)") " AS avg_us, " US("max(d)") " AS max_us"
	  " FROM r GROUP BY trap ORDER BY count(*) DESC, trap" },
	{ "hcalls", "virtual-mode hcalls by request",
	  "SELECT printf('0x%x', req) AS req, hcall_name(req) AS name, count(*) AS count,"
	  " round(100.0 * count(*) / (SELECT count(*) FROM hcall WHERE tgid = ?1), 2) AS share_pct,"
	  " " US("min(end_ts - start_ts)") " AS min_us, " US("avg(end_ts - start_ts)") " AS avg_us,"
	  " " US("max(end_ts - start_ts)") " AS max_us FROM hcall WHERE tgid = ?1 GROUP BY req ORDER BY count(*) DESC, req" },
	{ "vcpus", "per vcpu: guest runs, cede, late joins, hcalls, dispatch wait",
	  "WITH w AS (SELECT vcpu_id, end_ts - start_ts AS d, row_number() OVER (PARTITION BY vcpu_id ORDER BY"
	  " end_ts - start_ts) AS rn, count(*) OVER (PARTITION BY vcpu_id) AS n FROM vcpu_wait WHERE tgid = ?1),"
	  " wp AS (SELECT vcpu_id, count(*) AS waits, max(CASE WHEN rn = " P_RANK(50) " THEN d END) AS p50,"
	  " max(CASE WHEN rn = " P_RANK(99) " THEN d END) AS p99, max(d) AS mx FROM w GROUP BY vcpu_id)"
	  " SELECT r.vcpu_id AS vcpu, count(*) AS runs, round(sum(end_ts - start_ts) / 1e6, 3) AS guest_ms,"
	  " sum(r.ceded) AS ceded_exits, sum(r.enter_ceded) AS ceded_entries, sum(r.late_join) AS late_joins,"
	  " (SELECT count(*) FROM hcall h WHERE h.tgid = ?1 AND h.vcpu_id = r.vcpu_id) AS hcalls,"
	  " coalesce(wp.waits, 0) AS waits, " US("wp.p50") " AS wait_p50_us, " US("wp.p99") " AS wait_p99_us,"
	  " " US("wp.mx") " AS wait_max_us FROM vcpu_run r LEFT JOIN wp ON wp.vcpu_id = r.vcpu_id WHERE r.tgid = ?1"
	  " GROUP BY r.vcpu_id ORDER BY r.vcpu_id" },
	{ "split", "windows this VM ran in, by split mode (share of their core time)",
	  "WITH c AS (SELECT * FROM core_run WHERE id IN (SELECT core_run_id FROM core_run_vcpu WHERE tgid = ?1))"
	  " SELECT CASE split WHEN 1 THEN 'whole' WHEN 2 THEN '2-way' WHEN 4 THEN '4-way' ELSE 'unknown' END AS mode,"
	  " count(*) AS windows, round(sum(end_ts - start_ts) / 1e6, 3) AS core_ms,"
	  " round(100.0 * sum(end_ts - start_ts) / (SELECT sum(end_ts - start_ts) FROM c), 2) AS core_time_pct"
	  " FROM c GROUP BY split ORDER BY split IS NULL, split" },
	{ "cede", "guest runs, late joins, cede (entered ceded = napping in the guest; exited ceded = vcore exit)",
	  "SELECT count(*) AS runs, sum(late_join) AS late_joins, sum(enter_ceded) AS ceded_entries,"
	  " sum(ceded) AS ceded_exits, round(100.0 * sum(ceded) / count(*), 2) AS ceded_exit_pct"
	  " FROM vcpu_run WHERE tgid = ?1" },
	{ "blocks", "vcore blocks (kvmppc_vcore_blocked): poll vs sleep",
	  "SELECT CASE waited WHEN 1 THEN 'sleep' WHEN 0 THEN 'poll' ELSE 'unknown' END AS outcome, count(*) AS count,"
	  " " US("min(ns)") " AS min_us, " US("avg(ns)") " AS avg_us, " US("max(ns)") " AS max_us"
	  " FROM vcore_block WHERE tgid = ?1 GROUP BY waited ORDER BY waited" },
	{ "wait", "vcpu dispatch wait (runnable, not in the guest)",
	  "WITH w AS (SELECT end_ts - start_ts AS d, row_number() OVER (ORDER BY end_ts - start_ts) AS rn,"
	  " count(*) OVER () AS n FROM vcpu_wait WHERE tgid = ?1)"
	  " SELECT count(*) AS waits, round(coalesce(sum(d), 0) / 1e6, 3) AS total_ms,"
	  " " US("max(CASE WHEN rn = " P_RANK(50) " THEN d END)") " AS p50_us,"
	  " " US("max(CASE WHEN rn = " P_RANK(99) " THEN d END)") " AS p99_us, " US("max(d)") " AS max_us FROM w" },
};

static void sym_fn(sqlite3_context *c, int argc, sqlite3_value **v)
{
	const struct hv_symtab *t = sqlite3_user_data(c);
	(void)argc;
	if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
		sqlite3_result_null(c);
		return;
	}
	int64_t x = sqlite3_value_int64(v[0]);
	const char *n = t == &hv_sym_traps ? hv_trap_name(x) : t == &hv_sym_hcalls ? hv_hcall_name(x) : hv_sym_name(t, x);
	if (n)
		sqlite3_result_text(c, n, -1, SQLITE_TRANSIENT);
	else
		sqlite3_result_null(c);
}

static int has_rows(sqlite3 *db, const char *table)
{
	char sql[160];
	sqlite3_stmt *s;
	int ok = 0;
	snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\" LIMIT 1", table);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		ok = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
	}
	return ok;
}

static int run_table(sqlite3 *db, const struct query *q, int32_t tgid, struct hv_stat_table *t, struct hv_err *err,
		     const char *path)
{
	sqlite3_stmt *s;
	memset(t, 0, sizeof *t);
	t->key = q->key;
	t->title = q->title;
	if (sqlite3_prepare_v2(db, q->sql, -1, &s, NULL) != SQLITE_OK)
		return hv_err_set(err, HV_E_SQL, "%s: stat %s: %s", path, q->key, sqlite3_errmsg(db));
	if (sqlite3_bind_parameter_count(s) > 0)
		sqlite3_bind_int(s, 1, tgid);
	t->ncols = sqlite3_column_count(s);
	t->cols = calloc((size_t)t->ncols, sizeof *t->cols);
	int rc = t->cols ? 0 : hv_err_set(err, HV_E_NOMEM, "out of memory");
	for (int c = 0; rc == 0 && c < t->ncols; c++)
		if (!(t->cols[c] = strdup(sqlite3_column_name(s, c))))
			rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
	int step = SQLITE_DONE;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		void *p = realloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof *t->cells);
		if (!p) {
			rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
			break;
		}
		t->cells = p;
		struct hv_stat_cell *row = &t->cells[(size_t)t->nrows++ * (size_t)t->ncols];
		memset(row, 0, (size_t)t->ncols * sizeof *row);
		for (int c = 0; c < t->ncols; c++) {
			switch (sqlite3_column_type(s, c)) {
			case SQLITE_INTEGER:
				row[c].type = 1;
				row[c].i = sqlite3_column_int64(s, c);
				break;
			case SQLITE_FLOAT:
				row[c].type = 2;
				row[c].d = sqlite3_column_double(s, c);
				break;
			case SQLITE_NULL:
				break;
			default:
				row[c].type = 3;
				row[c].s = strdup((const char *)sqlite3_column_text(s, c));
				if (!row[c].s)
					rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
			}
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = hv_err_set(err, HV_E_SQL, "%s: stat %s: %s", path, q->key, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc;
}

static void vm_name(sqlite3 *db, int32_t tgid, char *buf, size_t n)
{
	sqlite3_stmt *s;
	snprintf(buf, n, "-");
	if (sqlite3_prepare_v2(db, "SELECT comm FROM task WHERE pid = ?1 AND comm IS NOT NULL", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int(s, 1, tgid);
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

static int add_group(struct hv_stat *out, int32_t tgid)
{
	void *p = realloc(out->g, (size_t)(out->ngroups + 1) * sizeof *out->g);
	if (!p)
		return -1;
	out->g = p;
	memset(&out->g[out->ngroups], 0, sizeof *out->g);
	out->g[out->ngroups++].tgid = tgid;
	return 0;
}

static int fill(sqlite3 *db, const struct query *q, int nq, struct hv_stat_group *g, struct hv_err *err,
		const char *path)
{
	for (int i = 0; i < nq && g->nt < HV_STAT_MAXT; i++) {
		if (!strcmp(q[i].key, "cede_outcome") && !has_rows(db, "kvm_hv_sched__kvmhv_cede"))
			continue;
		int rc = run_table(db, &q[i], g->tgid, &g->t[g->nt++], err, path);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int hv_stat_compute(struct hv_store *st, int32_t vm, struct hv_stat *out, struct hv_err *err)
{
	sqlite3 *db = hv_store_sqlite(st);
	const char *path = hv_store_path(st);
	memset(out, 0, sizeof *out);
	sqlite3_create_function(db, "trap_name", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, (void *)&hv_sym_traps, sym_fn,
				NULL, NULL);
	sqlite3_create_function(db, "hcall_name", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, (void *)&hv_sym_hcalls, sym_fn,
				NULL, NULL);
	sqlite3_create_function(db, "cede_outcome_name", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				(void *)&hv_sym_cede_outcome, sym_fn, NULL, NULL);
	if (add_group(out, -1) < 0)
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	snprintf(out->g[0].name, sizeof out->g[0].name, "host");
	int rc = fill(db, host_q, (int)(sizeof host_q / sizeof host_q[0]), &out->g[0], err, path);
	sqlite3_stmt *s;
	if (rc == 0 && sqlite3_prepare_v2(db, "SELECT tgid FROM vcpu_run WHERE tgid IS NOT NULL UNION SELECT tgid FROM hcall"
				  " WHERE tgid IS NOT NULL UNION SELECT tgid FROM vcore_block WHERE tgid IS NOT NULL ORDER BY 1",
				  -1, &s, NULL) != SQLITE_OK)
		rc = hv_err_set(err, HV_E_SQL, "%s: stat: %s", path, sqlite3_errmsg(db));
	else if (rc == 0) {
		while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
			int32_t tgid = sqlite3_column_int(s, 0);
			if (vm >= 0 && tgid != vm)
				continue;
			if (add_group(out, tgid) < 0)
				rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
		}
		sqlite3_finalize(s);
	}
	if (rc == 0 && vm >= 0 && out->ngroups == 1)
		rc = hv_err_set(err, HV_E_USAGE, "%s: no VM with tgid %d in the derived tables", path, (int)vm);
	for (int i = 1; rc == 0 && i < out->ngroups; i++) {
		vm_name(db, out->g[i].tgid, out->g[i].name, sizeof out->g[i].name);
		rc = fill(db, vm_q, (int)(sizeof vm_q / sizeof vm_q[0]), &out->g[i], err, path);
	}
	if (rc < 0)
		hv_stat_free(out);
	return rc;
}

void hv_stat_free(struct hv_stat *s)
{
	for (int i = 0; i < s->ngroups; i++)
		for (int k = 0; k < s->g[i].nt; k++) {
			struct hv_stat_table *t = &s->g[i].t[k];
			for (int c = 0; c < t->ncols && t->cols; c++)
				free(t->cols[c]);
			for (int r = 0; r < t->nrows * t->ncols; r++)
				free(t->cells[r].s);
			free(t->cols);
			free(t->cells);
		}
	free(s->g);
	memset(s, 0, sizeof *s);
}
