/*
 * hvtrace events DB: print the trace's events in seq order, one per line, like perf script.
 * Filters: --type (event or system:event, comma list, repeatable), --cpu (list), --from/--to
 * (times in seconds, or with ms/us/ns), --max N.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_SEL 256

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace events DB [--type EV[,EV..]] [--cpu N[,N..]] [--from T] [--to T] [--max N]\n\n"
		   "Print the events of DB in trace order: task, pid, [cpu], time, event, fields.\n"
		   "  --type EV   only these events (name or system:name); repeatable\n"
		   "  --cpu N     only events recorded on these CPUs; repeatable\n"
		   "  --from T    only events at or after T (seconds; or 300ms, 40us, 1000ns)\n"
		   "  --to T      only events at or before T\n"
		   "  --max N     stop after N events\n");
}

static int add_types(struct hv_store *st, char *list, int *types, int *n)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		char *colon = strchr(tok, ':');
		int t;
		if (colon) {
			*colon = 0;
			t = hv_store_find_type(st, tok, colon + 1);
			*colon = ':';
		} else {
			t = hv_store_find_type(st, NULL, tok);
		}
		if (t < 0) {
			cli_usage_error("events", "no event type '%s' in %s", tok, hv_store_path(st));
			return -1;
		}
		if (*n >= MAX_SEL)
			return -1;
		types[(*n)++] = t;
	}
	return 0;
}

static int add_cpus(char *list, int *cpus, int *n)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		char *end;
		long v = strtol(tok, &end, 10);
		if (*end || end == tok || v < 0 || *n >= MAX_SEL) {
			cli_usage_error("events", "bad --cpu value '%s'", tok);
			return -1;
		}
		cpus[(*n)++] = (int)v;
	}
	return 0;
}

int cmd_events(int argc, char **argv)
{
	const char *db = NULL;
	char *type_args[MAX_SEL], *cpu_args[MAX_SEL];
	int ntype_args = 0, ncpu_args = 0;
	struct hv_filter f = { 0 };
	long long max = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (!strcmp(a, "--type") && has_val && ntype_args < MAX_SEL) {
			type_args[ntype_args++] = argv[++i];
		} else if (!strcmp(a, "--cpu") && has_val && ncpu_args < MAX_SEL) {
			cpu_args[ncpu_args++] = argv[++i];
		} else if (!strcmp(a, "--from") && has_val) {
			if (cli_parse_time(argv[++i], &f.from) < 0)
				return cli_usage_error("events", "bad --from time '%s'", argv[i]);
			f.has_from = 1;
		} else if (!strcmp(a, "--to") && has_val) {
			if (cli_parse_time(argv[++i], &f.to) < 0)
				return cli_usage_error("events", "bad --to time '%s'", argv[i]);
			f.has_to = 1;
		} else if (!strcmp(a, "--max") && has_val) {
			char *end;
			max = strtoll(argv[++i], &end, 10);
			if (*end || max < 0)
				return cli_usage_error("events", "bad --max value '%s'", argv[i]);
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("events", "unknown option or missing value: '%s'", a);
		} else if (!db) {
			db = a;
		} else {
			return cli_usage_error("events", "unexpected argument '%s'", a);
		}
	}
	if (!db)
		return cli_usage_error("events", "needs a database");
	struct hv_store *st = cli_open_db("events", db, 0);
	if (!st)
		return HV_EXIT_USAGE;
	int types[MAX_SEL], cpus[MAX_SEL], nt = 0, nc = 0;
	for (int i = 0; i < ntype_args; i++)
		if (add_types(st, type_args[i], types, &nt) < 0) {
			hv_store_close(st);
			return HV_EXIT_USAGE;
		}
	for (int i = 0; i < ncpu_args; i++)
		if (add_cpus(cpu_args[i], cpus, &nc) < 0) {
			hv_store_close(st);
			return HV_EXIT_USAGE;
		}
	if (nt) {
		f.types = types;
		f.ntypes = nt;
	}
	if (nc) {
		f.cpus = cpus;
		f.ncpus = nc;
	}
	struct hv_reader *rd;
	struct hv_err err = { 0 };
	struct cli_tasks tasks;
	cli_tasks_load(&tasks, st);
	int status = HV_EXIT_OK, rc;
	if (hv_reader_open(st, &f, &rd, &err) < 0) {
		status = cli_fail("events", &err);
	} else {
		const struct hv_row *row;
		long long n = 0;
		while ((max < 0 || n < max) && (rc = hv_reader_next(rd, &row, &err)) > 0) {
			cli_print_row(stdout, &tasks, row);
			n++;
		}
		if ((max < 0 || n < max) && rc < 0)
			status = cli_fail("events", &err);
		hv_reader_close(rd);
	}
	cli_tasks_free(&tasks);
	hv_store_close(st);
	return status;
}
