/*
 * Test helper: run the simulator into a temporary trace database and query it with SQL.
 * Included by the test_sim_*.c programs.
 */
#ifndef HV_TEST_SIM_HELPER_H
#define HV_TEST_SIM_HELPER_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_store.h"
#include "sim.h"

static char sim_tmpdir[256];

static const char *sim_tmp(const char *name)
{
	static char path[512];
	if (!sim_tmpdir[0]) {
		snprintf(sim_tmpdir, sizeof sim_tmpdir, "/tmp/hvtrace-test-XXXXXX");
		if (!mkdtemp(sim_tmpdir))
			return NULL;
	}
	snprintf(path, sizeof path, "%s/%s", sim_tmpdir, name);
	return path;
}

static void sim_tmp_cleanup(void)
{
	if (sim_tmpdir[0]) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", sim_tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "# cleanup failed\n");
	}
}

/* Run scenario text (NULL: built-in) with `params` ("name=value", NULL-terminated) into db
 * `name` under the temporary directory; returns the open committed store or NULL. */
static struct hv_store *sim_run(const char *text, const char *profile, uint64_t seed,
				uint64_t duration, const char *const *params, const char *name)
{
	static struct hv_scenario sc;
	char err[512];
	if (hv_scenario_parse(&sc, text ? text : hv_scenario_default_text(), "test", err,
			      sizeof err) < 0) {
		printf("# scenario: %s\n", err);
		return NULL;
	}
	if (profile)
		sc.profile = hv_profile_find(profile)->id;
	if (seed)
		sc.seed = seed;
	if (duration)
		sc.duration_ns = duration;
	for (int i = 0; params && params[i]; i++) {
		char b[128];
		snprintf(b, sizeof b, "%s", params[i]);
		char *eq = strchr(b, '=');
		*eq = 0;
		if (hv_scenario_set_param(&sc, b, eq + 1, err, sizeof err) < 0) {
			printf("# param: %s\n", err);
			return NULL;
		}
	}
	if (hv_scenario_check(&sc, err, sizeof err) < 0) {
		printf("# check: %s\n", err);
		return NULL;
	}
	struct hv_err herr = { 0 };
	struct hv_store *st;
	const char *path = sim_tmp(name);
	if (!path || hv_store_create(path, HV_STORE_FORCE, &st, &herr) < 0) {
		printf("# create: %s\n", herr.msg);
		return NULL;
	}
	struct hv_store_sink ss;
	struct hv_sink sink;
	hv_store_sink_init(&ss, st, &herr, &sink);
	struct hv_sim *sim;
	if (hv_sim_create(&sc, &sink, &sim) < 0) {
		hv_store_close(st);
		return NULL;
	}
	int rc = hv_sim_write_meta(sim, &sc, st, &herr);
	if (!rc)
		rc = hv_sim_run(sim);
	if (!rc)
		rc = hv_store_commit(st, &herr);
	hv_sim_destroy(sim);
	if (rc) {
		printf("# run: %d %s\n", rc, herr.msg);
		hv_store_close(st);
		return NULL;
	}
	return st;
}

/* First column of the first row as an integer (-1 on error). */
static long long sql_int(struct hv_store *st, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;
	if (sqlite3_prepare_v2(hv_store_sqlite(st), sql, -1, &s, NULL) != SQLITE_OK) {
		printf("# sql error: %s: %s\n", sqlite3_errmsg(hv_store_sqlite(st)), sql);
		return -1;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

#endif
