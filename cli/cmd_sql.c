/*
 * hvtrace sql DB QUERY [--csv]: run one query on a trace database (read-only) and print the
 * rows: aligned by " | " with a header line, or as CSV.
 */
#include <sqlite3.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace sql DB QUERY [--csv]\n\n"
		   "Run QUERY on the trace database DB (opened read-only) and print the rows.\n"
		   "  --csv    comma-separated values with a header row (RFC 4180 quoting)\n"
		   "Tables: one per event type (<system>__<event>: seq, ts, cpu, pid, fields), meta,\n"
		   "event_type, event_field, lost, stats, task. Example:\n"
		   "  hvtrace sql t.db 'SELECT trap, count(*) FROM kvm_hv__kvm_guest_exit GROUP BY trap'\n");
}

static void csv_cell(const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

int cmd_sql(int argc, char **argv)
{
	const char *db = NULL, *query = NULL;
	int csv = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (strcmp(argv[i], "--csv") == 0) {
			csv = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("sql", "unknown option '%s'", argv[i]);
		} else if (!db) {
			db = argv[i];
		} else if (!query) {
			query = argv[i];
		} else {
			return cli_usage_error("sql", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!db || !query)
		return cli_usage_error("sql", "needs DB and QUERY");
	struct hv_store *st = cli_open_db("sql", db, 0);
	if (!st)
		return HV_EXIT_USAGE;
	sqlite3_stmt *s;
	const char *tail;
	int rc = sqlite3_prepare_v2(hv_store_sqlite(st), query, -1, &s, &tail);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "hvtrace sql: %s: %s\n", db, sqlite3_errmsg(hv_store_sqlite(st)));
		hv_store_close(st);
		return HV_EXIT_USAGE;
	}
	int ncol = sqlite3_column_count(s);
	for (int c = 0; c < ncol; c++) {
		if (c)
			fputs(csv ? "," : " | ", stdout);
		if (csv)
			csv_cell(sqlite3_column_name(s, c));
		else
			fputs(sqlite3_column_name(s, c), stdout);
	}
	if (ncol)
		putchar('\n');
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int c = 0; c < ncol; c++) {
			const char *v = (const char *)sqlite3_column_text(s, c);
			if (c)
				fputs(csv ? "," : " | ", stdout);
			if (csv)
				csv_cell(v ? v : "");
			else
				fputs(v ? v : "NULL", stdout);
		}
		putchar('\n');
	}
	int status = HV_EXIT_OK;
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "hvtrace sql: %s: %s\n", db, sqlite3_errmsg(hv_store_sqlite(st)));
		status = HV_EXIT_USAGE;
	}
	sqlite3_finalize(s);
	hv_store_close(st);
	return status;
}
