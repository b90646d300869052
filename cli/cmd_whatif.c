/*
 * hvtrace whatif DB [--mt-modes 0,2,4,6] [--target-smt N] [--profile P] [--json]: replay the
 * recorded guest demand through the host simulator under other micro-threading settings
 * (kernel/sim/whatif.h) and print one table: the recorded trace's own metrics, the baseline
 * (the recorded setting, simulated), each setting in the order given, and how close the
 * baseline came to the recording. The rows go to the `whatif` table of DB.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "whatif.h"

#define MAX_SETTINGS 8
#define TOL_REL 0.05	/* throughput, core_util, exits/s: relative */
#define TOL_PTS 0.05	/* split shares: absolute (5 points) */

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace whatif DB [--mt-modes LIST] [--target-smt N] [--profile P] [--json]\n\n"
		   "Extract each vcpu's demand from the trace's stock kvm_hv events (guest execution,\n"
		   "cedes and idle times, hcalls, page faults, userspace exits; the host and VM shape\n"
		   "from meta) and replay it through the host simulator under each setting.\n"
		   "  --mt-modes LIST   dynamic_mt_modes values to try, from 0,2,4,6 (default 0,2,4,6)\n"
		   "  --target-smt N    target_smt_mode for those settings (0,1,2,4,8; default: recorded)\n"
		   "  --profile P       kernel era for those settings (default: the trace's, as replay picks)\n"
		   "  --json            one JSON object instead of the table\n"
		   "Rows: recorded (the trace's own metrics), baseline (the recorded setting, simulated;\n"
		   "marked *), each setting in the order given, then 'baseline vs recorded': relative\n"
		   "differences (split shares: differences in points), with the tolerance: 5%% for\n"
		   "throughput, core utilisation and exits/s, 5 points for split shares.\n"
		   "Metrics: throughput = guest-thread time / wall time; core_util = kvmppc_run_core window\n"
		   "time / (host CPUs x wall); wait = dispatch wait (KVM_RUN entry or a non-ceded exit ->\n"
		   "next guest entry) p50/p99 in us; share_* = window time by split mode; exits_per_s.\n"
		   "Table whatif(setting, dynamic_mt_modes, target_smt, throughput, core_util, wait_p50_us,\n"
		   "wait_p99_us, share_whole, share_2way, share_4way, exits_per_s, baseline, profile, kind)\n"
		   "is replaced in DB (kind: recorded, baseline, setting, diff). Only POWER7/POWER8 gang-path\n"
		   "traces (with kvmppc_run_core) can be replayed. Exit 0 table written (the verdict on\n"
		   "the baseline is printed, and in --json), 2 bad option or input.\n");
}

struct row {
	char setting[96];
	int dmm, smt, baseline;
	char profile[32];
	const char *kind;
	struct hv_metrics m;
};

static int parse_modes(const char *s, int *modes, int *n)
{
	*n = 0;
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || (v != 0 && v != 2 && v != 4 && v != 6) || *n >= MAX_SETTINGS)
			return -1;
		modes[(*n)++] = (int)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return *n ? 0 : -1;
}

static double rel(double sim, double rec)
{
	return rec != 0 ? (sim - rec) / rec : (sim == 0 ? 0 : 1);
}

static void diff_row(const struct row *rec, const struct row *base, struct row *d, int *ok)
{
	const struct hv_metrics *a = &base->m, *b = &rec->m;
	struct hv_metrics *o = &d->m;
	*d = (struct row){ .dmm = base->dmm, .smt = base->smt, .kind = "diff" };
	snprintf(d->setting, sizeof d->setting, "baseline vs recorded (tolerance 5%%, 5 points)");
	snprintf(d->profile, sizeof d->profile, "%s", base->profile);
	o->throughput = rel(a->throughput, b->throughput);
	o->core_util = rel(a->core_util, b->core_util);
	o->wait_p50_us = rel(a->wait_p50_us, b->wait_p50_us);
	o->wait_p99_us = rel(a->wait_p99_us, b->wait_p99_us);
	for (int i = 0; i < 3; i++)
		o->share[i] = a->share[i] - b->share[i];
	o->exits_per_s = rel(a->exits_per_s, b->exits_per_s);
	*ok = fabs(o->throughput) <= TOL_REL && fabs(o->core_util) <= TOL_REL &&
	      fabs(o->exits_per_s) <= TOL_REL && fabs(o->share[0]) <= TOL_PTS &&
	      fabs(o->share[1]) <= TOL_PTS && fabs(o->share[2]) <= TOL_PTS;
}

static int write_table(struct hv_store *st, const struct row *r, int n, struct hv_err *err)
{
	int rc = hv_store_exec(st, "BEGIN; DROP TABLE IF EXISTS whatif; CREATE TABLE whatif(setting TEXT, "
			       "dynamic_mt_modes INTEGER, target_smt INTEGER, throughput REAL, core_util REAL, "
			       "wait_p50_us REAL, wait_p99_us REAL, share_whole REAL, share_2way REAL, "
			       "share_4way REAL, exits_per_s REAL, baseline INTEGER, profile TEXT, kind TEXT)", err);
	if (rc < 0)
		return rc;
	sqlite3 *db = hv_store_sqlite(st);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "INSERT INTO whatif VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK)
		return hv_err_set(err, HV_E_SQL, "%s: %s", hv_store_path(st), sqlite3_errmsg(db));
	for (int i = 0; i < n && rc == 0; i++) {
		const struct hv_metrics *m = &r[i].m;
		sqlite3_bind_text(s, 1, r[i].setting, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, r[i].dmm);
		sqlite3_bind_int(s, 3, r[i].smt);
		const double v[] = { m->throughput, m->core_util, m->wait_p50_us, m->wait_p99_us,
				     m->share[0], m->share[1], m->share[2], m->exits_per_s };
		for (int k = 0; k < 8; k++)
			sqlite3_bind_double(s, 4 + k, v[k]);
		sqlite3_bind_int(s, 12, r[i].baseline);
		sqlite3_bind_text(s, 13, r[i].profile, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 14, r[i].kind, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = hv_err_set(err, HV_E_SQL, "%s: %s", hv_store_path(st), sqlite3_errmsg(db));
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return rc < 0 ? (hv_store_exec(st, "ROLLBACK", NULL), rc) : hv_store_exec(st, "COMMIT", err);
}

static void print_table(const struct row *r, int n, const struct hv_demand *d, int ok, int split_na)
{
	printf("what-if: %d VMs, %d host CPUs (%d cores x %d threads, %d per subcore), %s, profile %s, "
	       "%.3f s recorded\n", d->nvms, d->ncpus, d->cores, d->par.threads_per_core,
	       d->par.threads_per_subcore, d->cpu, d->profile, (double)(d->t1 - d->t0) / 1e9);
	printf("%-48s %3s %3s %10s %9s %9s %9s %6s %6s %6s %10s\n", "setting", "mt", "smt", "throughput",
	       "core_util", "wait_p50", "wait_p99", "whole", "2-way", "4-way", "exits/s");
	for (int i = 0; i < n; i++) {
		const struct hv_metrics *m = &r[i].m;
		int diff = strcmp(r[i].kind, "diff") == 0;
		const char *f = diff ? "%-48s %3s %3s %+9.1f%% %+8.1f%% %+8.1f%% %+8.1f%% %+6.3f %+6.3f %+6.3f %+9.1f%%\n"
				     : "%-48s %3s %3s %10.4f %9.4f %9.1f %9.1f %6.3f %6.3f %6.3f %10.1f\n";
		char dm[8], sm[8];
		snprintf(dm, sizeof dm, "%d", r[i].dmm);
		snprintf(sm, sizeof sm, "%d", r[i].smt);
		double k = diff ? 100 : 1;
		printf(f, r[i].setting, diff ? "" : dm, diff ? "" : sm, k * m->throughput, k * m->core_util,
		       k * m->wait_p50_us, k * m->wait_p99_us, m->share[0], m->share[1], m->share[2],
		       k * m->exits_per_s);
	}
	printf("baseline %s the tolerance (throughput, core_util, exits/s within 5%%; split shares within "
	       "5 points; waits are shown, not judged)\n", ok ? "is within" : "is OUTSIDE");
	if (split_na)
		printf("note: %d thread(s) per subcore: split modes do not apply on this host (all runs are "
		       "whole-core)\n", d->par.threads_per_subcore);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else
			putchar(*s);
	putchar('"');
}

static void print_json(const struct row *r, int n, const struct hv_demand *d, int ok)
{
	printf("{\"cpu\": ");
	json_str(d->cpu);
	printf(", \"profile\": ");
	json_str(d->profile);
	printf(", \"host_cpus\": %d, \"vms\": %d, \"recorded_s\": %.9f, \"tolerance\": {\"relative\": %.2f, "
	       "\"share_points\": %.2f}, \"baseline_within_tolerance\": %s, \"rows\": [",
	       d->ncpus, d->nvms, (double)(d->t1 - d->t0) / 1e9, TOL_REL, TOL_PTS, ok ? "true" : "false");
	for (int i = 0; i < n; i++) {
		const struct hv_metrics *m = &r[i].m;
		printf("%s\n  {\"setting\": ", i ? "," : "");
		json_str(r[i].setting);
		printf(", \"kind\": \"%s\", \"dynamic_mt_modes\": %d, \"target_smt\": %d, \"profile\": ", r[i].kind,
		       r[i].dmm, r[i].smt);
		json_str(r[i].profile);
		printf(", \"baseline\": %d, \"throughput\": %.6g, \"core_util\": %.6g, \"wait_p50_us\": %.6g, "
		       "\"wait_p99_us\": %.6g, \"share_whole\": %.6g, \"share_2way\": %.6g, \"share_4way\": %.6g, "
		       "\"exits_per_s\": %.6g}", r[i].baseline, m->throughput, m->core_util, m->wait_p50_us,
		       m->wait_p99_us, m->share[0], m->share[1], m->share[2], m->exits_per_s);
	}
	printf("\n]}\n");
}

static int simulate_rows(const struct hv_demand *d, const int *modes, int nmodes, int tsmt,
			 const char *prof, struct row *rows, int *n)
{
	char err[256];
	struct row *rec = &rows[0], *base = &rows[1];
	*rec = (struct row){ .dmm = d->par.dynamic_mt_modes, .smt = d->par.target_smt_mode, .kind = "recorded",
			     .m = d->recorded };
	snprintf(rec->setting, sizeof rec->setting, "recorded (trace)");
	snprintf(rec->profile, sizeof rec->profile, "%s", d->profile);
	*base = *rec;
	base->kind = "baseline";
	base->baseline = 1;
	snprintf(base->setting, sizeof base->setting, "* baseline: dynamic_mt_modes=%d (as recorded)",
		 d->par.dynamic_mt_modes);
	struct hv_whatif_setting s = { d->par.dynamic_mt_modes, -1, NULL };
	if (hv_whatif_run(d, &s, &base->m, err, sizeof err) < 0)
		return fprintf(stderr, "hvtrace whatif: baseline: %s\n", err), -1;
	*n = 2;
	for (int i = 0; i < nmodes; i++) {
		struct row *r = &rows[(*n)++];
		*r = (struct row){ .dmm = modes[i], .smt = tsmt >= 0 ? tsmt : d->par.target_smt_mode,
				   .kind = "setting" };
		snprintf(r->profile, sizeof r->profile, "%s", prof ? prof : d->profile);
		int w = snprintf(r->setting, sizeof r->setting, "dynamic_mt_modes=%d", modes[i]);
		if (tsmt >= 0)
			w += snprintf(r->setting + w, sizeof r->setting - (size_t)w, " target_smt=%d", tsmt);
		if (prof)
			snprintf(r->setting + w, sizeof r->setting - (size_t)w, " profile=%s", prof);
		s = (struct hv_whatif_setting){ modes[i], tsmt, prof };
		if (hv_whatif_run(d, &s, &r->m, err, sizeof err) < 0)
			return fprintf(stderr, "hvtrace whatif: %s: %s\n", r->setting, err), -1;
	}
	return 0;
}

static int run(const char *db, const int *modes, int nmodes, int tsmt, const char *prof, int json)
{
	struct hv_store *st = cli_open_db("whatif", db, 1);
	if (!st)
		return HV_EXIT_USAGE;
	struct hv_err err = { 0 };
	struct hv_demand *d = calloc(1, sizeof *d);
	if (!d || hv_demand_extract(st, d, &err) < 0) {
		if (!d)
			hv_err_set(&err, HV_E_NOMEM, "out of memory");
		free(d);
		hv_store_close(st);
		return cli_fail("whatif", &err);
	}
	int rc = HV_EXIT_USAGE;
	if (!d->run_core_events || (strncmp(d->cpu, "POWER", 5) == 0 && atoi(d->cpu + 5) >= 9)) {
		fprintf(stderr, "hvtrace whatif: %s: no kvmppc_run_core windows (cpu %s): this host does not take "
			"the POWER7/POWER8 gang path, so dynamic micro-threading and split modes do not apply "
			"(the simulator models the gang path only)\n", db, d->cpu);
		goto out;
	}
	if (!hv_profile_find(d->profile)) {
		fprintf(stderr, "hvtrace whatif: %s: the trace's kernel era %s (%s) has no simulator model; "
			"choose one with --profile (%s)\n", db, d->profile, d->profile_why, hv_profile_names());
		goto out;
	}
	struct row rows[MAX_SETTINGS + 3];
	int n = 0, ok = 0;
	if (simulate_rows(d, modes, nmodes, tsmt, prof, rows, &n) < 0)
		goto out;
	diff_row(&rows[0], &rows[1], &rows[n], &ok);
	n++;
	if (write_table(st, rows, n, &err) < 0) {
		cli_fail("whatif", &err);
		goto out;
	}
	int split_na = d->par.threads_per_subcore < 2;
	if (json)
		print_json(rows, n, d, ok);
	else
		print_table(rows, n, d, ok, split_na);
	rc = HV_EXIT_OK;
out:
	hv_demand_free(d);
	free(d);
	hv_store_close(st);
	return rc;
}

int cmd_whatif(int argc, char **argv)
{
	const char *db = NULL, *prof = NULL;
	int modes[MAX_SETTINGS] = { 0, 2, 4, 6 }, nmodes = 4, tsmt = -1, json = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--mt-modes") == 0 || strcmp(a, "--target-smt") == 0 || strcmp(a, "--profile") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("whatif", "%s needs a value", a);
			const char *v = argv[++i];
			if (strcmp(a, "--mt-modes") == 0 && parse_modes(v, modes, &nmodes) < 0)
				return cli_usage_error("whatif", "--mt-modes '%s': a comma-separated list of 0, 2, 4, 6 "
						       "(at most %d)", v, MAX_SETTINGS);
			if (strcmp(a, "--target-smt") == 0) {
				char *end;
				long t = strtol(v, &end, 10);
				if (*end || end == v || (t != 0 && t != 1 && t != 2 && t != 4 && t != 8))
					return cli_usage_error("whatif", "--target-smt '%s': one of 0, 1, 2, 4, 8", v);
				tsmt = (int)t;
			}
			if (strcmp(a, "--profile") == 0) {
				if (!hv_profile_find(v))
					return cli_usage_error("whatif", "--profile '%s': one of %s", v, hv_profile_names());
				prof = v;
			}
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("whatif", "unknown option '%s'", a);
		} else if (!db) {
			db = a;
		} else {
			return cli_usage_error("whatif", "unexpected argument '%s'", a);
		}
	}
	if (!db)
		return cli_usage_error("whatif", "needs DB (hvtrace whatif --help)");
	return run(db, modes, nmodes, tsmt, prof, json);
}
