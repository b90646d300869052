/*
 * hvtrace info DB: what a trace holds: events, time span, CPUs, events per type, lost
 * windows, stats and meta.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace info DB\n\n"
		   "Summarise the trace database DB: number of events, time span, CPUs, events per\n"
		   "type, lost-event windows, stats (anything odd the importer counted) and meta.\n");
}

/* Runs sql (one row, integer columns) into out[]; returns 1 if a row came back. */
static int one_row(sqlite3 *db, const char *sql, int64_t *out, int n, int *is_null)
{
	sqlite3_stmt *s;
	int got = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			out[i] = sqlite3_column_int64(s, i);
			if (is_null)
				is_null[i] = sqlite3_column_type(s, i) == SQLITE_NULL;
		}
		got = 1;
	}
	sqlite3_finalize(s);
	return got;
}

static void print_span(struct hv_store *st)
{
	sqlite3 *db = hv_store_sqlite(st);
	char sql[512];
	int64_t lo = INT64_MAX, hi = INT64_MIN, v[2];
	int nul[2];
	unsigned char cpus[4096] = { 0 };
	int ncpu = 0, maxcpu = -1;
	for (int t = 0; t < hv_store_ntypes(st); t++) {
		if (!hv_store_type_count(st, t))
			continue;
		snprintf(sql, sizeof sql, "SELECT min(ts), max(ts) FROM \"%s\"", hv_store_type_table(st, t));
		if (one_row(db, sql, v, 2, nul) == 1 && !nul[0]) {
			lo = v[0] < lo ? v[0] : lo;
			hi = v[1] > hi ? v[1] : hi;
		}
		sqlite3_stmt *s;
		snprintf(sql, sizeof sql, "SELECT DISTINCT cpu FROM \"%s\"", hv_store_type_table(st, t));
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
			while (sqlite3_step(s) == SQLITE_ROW) {
				int c = sqlite3_column_int(s, 0);
				if (c >= 0 && c < 4096 && !cpus[c]) {
					cpus[c] = 1;
					ncpu++;
					maxcpu = c > maxcpu ? c : maxcpu;
				}
			}
			sqlite3_finalize(s);
		}
	}
	if (lo == INT64_MAX) {
		printf("time span:  (no events)\n");
		return;
	}
	printf("time span:  %" PRId64 ".%09" PRId64 " .. %" PRId64 ".%09" PRId64 " s (%.6f s)\n",
	       lo / 1000000000, lo % 1000000000, hi / 1000000000, hi % 1000000000, (double)(hi - lo) / 1e9);
	printf("cpus:       %d:", ncpu);
	for (int c = 0; c <= maxcpu; c++) {
		if (!cpus[c])
			continue;
		int e = c;
		while (e + 1 <= maxcpu && cpus[e + 1])
			e++;
		printf(e > c ? " %d-%d" : " %d", c, e);
		c = e;
	}
	printf("\n");
}

static void print_query(sqlite3 *db, const char *title, const char *sql, const char *none)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return;
	int rows = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (!rows++)
			printf("%s\n", title);
		printf("  ");
		for (int c = 0; c < sqlite3_column_count(s); c++) {
			const char *v = (const char *)sqlite3_column_text(s, c);
			printf(c == 0 ? "%-40s" : "  %s", v ? v : "");
		}
		printf("\n");
	}
	if (!rows)
		printf("%s %s\n", title, none);
	sqlite3_finalize(s);
}

int cmd_info(int argc, char **argv)
{
	const char *db = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("info", "unknown option '%s'", argv[i]);
		} else if (!db) {
			db = argv[i];
		} else {
			return cli_usage_error("info", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!db)
		return cli_usage_error("info", "needs a database");
	struct hv_store *st = cli_open_db("info", db, 0);
	if (!st)
		return HV_EXIT_USAGE;
	sqlite3 *sdb = hv_store_sqlite(st);
	printf("database:   %s (hvtrace schema %d)\n", db, HV_STORE_SCHEMA_VERSION);
	printf("events:     %" PRIu64 "\n", hv_store_nevents(st));
	print_span(st);
	print_query(sdb, "events per type:",
		    "SELECT system || ':' || name, count FROM event_type WHERE count > 0 ORDER BY count DESC, system, name",
		    "(none)");
	print_query(sdb, "lost:",
		    "SELECT 'cpu ' || coalesce(cpu, '?') || ' ' || ts_from || '..' || ts_to, count || ' events', source"
		    " FROM lost ORDER BY ts_from", "none");
	print_query(sdb, "stats:", "SELECT key, value, coalesce(detail, '') FROM stats ORDER BY key", "none");
	print_query(sdb, "meta:", "SELECT key, value FROM meta ORDER BY key", "none");
	hv_store_close(st);
	return HV_EXIT_OK;
}
