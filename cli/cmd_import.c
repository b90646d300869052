/*
 * hvtrace import FILE [-o DB] [--format auto|perf|tracedat|text] [--force] [--quiet]:
 * read a recorded trace into a new trace database.
 *
 * The format is detected from the file's first bytes unless --format says otherwise. The
 * database is written to DB, by default FILE.db next to the input. It appears only when the
 * import succeeded (the store is committed); on failure nothing is left behind, and an
 * existing DB is never touched unless --force. A truncated or damaged input imports what
 * was complete, is committed with `truncated_at` in stats, and exits 2 with a message naming
 * the file offset. A progress line goes to stderr when it is a terminal; a summary (events
 * per type, lost, time span, rate) to stdout at the end.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hv_import.h"

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace import FILE [-o DB] [--format auto|perf|tracedat|text] [--force] [--quiet]\n\n"
		   "Import a recorded trace into a new trace database.\n"
		   "  -o DB        output database (default: FILE.db)\n"
		   "  --format F   auto (default: from the file's content), perf (perf.data, file or pipe\n"
		   "               mode, zstd-compressed, either byte order), tracedat (trace-cmd), text\n"
		   "               (perf script output or raw ftrace text)\n"
		   "  --force      replace DB if it exists (otherwise an existing DB is never touched)\n"
		   "  --quiet      no summary\n"
		   "Exit status: 0 imported; 2 usage error, unreadable input, or input truncated/damaged\n"
		   "(what was complete is imported and stats.truncated_at says where it stopped).\n");
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void summary(struct hv_store *st, const char *db, enum hv_import_format fmt,
		    const struct hv_import_result *res, double secs, double commit_secs)
{
	printf("imported %" PRIu64 " events (%s) into %s in %.2f s (%.0f events/s; commit %.2f s)\n",
	       res->events, hv_import_format_name(fmt), db, secs, secs > 0 ? (double)res->events / secs : 0.0,
	       commit_secs);
	if (res->events)
		printf("time span %.6f .. %.6f s (%.6f s)\n", (double)res->ts_first / 1e9, (double)res->ts_last / 1e9,
		       (double)(res->ts_last - res->ts_first) / 1e9);
	printf("lost %" PRIu64 " events; %" PRIu64 " records read, %" PRIu64 " skipped\n", res->lost,
	       res->records, res->skipped);
	for (int t = 0; t < hv_store_ntypes(st); t++) {
		uint64_t c = hv_store_type_count(st, t);
		if (!c)
			continue;
		const struct hv_event_def *d = hv_store_type_def(st, t);
		printf("  %10" PRIu64 "  %s:%s\n", c, d->system, d->name);
	}
}

static int parse_format(const char *s, enum hv_import_format *f)
{
	if (strcmp(s, "auto") == 0)
		*f = HV_FMT_UNKNOWN;
	else if (strcmp(s, "perf") == 0)
		*f = HV_FMT_PERF;
	else if (strcmp(s, "tracedat") == 0)
		*f = HV_FMT_TRACEDAT;
	else if (strcmp(s, "text") == 0)
		*f = HV_FMT_TEXT;
	else
		return -1;
	return 0;
}

static int run_importer(enum hv_import_format fmt, const char *in, struct hv_store *st,
			const struct hv_import_opts *o, struct hv_import_result *res, struct hv_err *err)
{
	switch (fmt) {
	case HV_FMT_PERF: return hv_import_perf(in, st, o, res, err);
	case HV_FMT_TRACEDAT: return hv_import_tracedat(in, st, o, res, err);
	case HV_FMT_TEXT: return hv_import_text(in, st, o, res, err);
	default: return hv_err_set(err, HV_E_FORMAT, "%s: unknown format", in);
	}
}

int cmd_import(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	enum hv_import_format fmt = HV_FMT_UNKNOWN;
	int force = 0, quiet = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
			if (++i >= argc)
				return cli_usage_error("import", "%s needs a file name", argv[i - 1]);
			out = argv[i];
		} else if (strcmp(argv[i], "--format") == 0) {
			if (++i >= argc || parse_format(argv[i], &fmt) < 0)
				return cli_usage_error("import", "--format needs auto, perf, tracedat or text");
		} else if (strcmp(argv[i], "--force") == 0) {
			force = 1;
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			quiet = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("import", "unknown option '%s'", argv[i]);
		} else if (!in) {
			in = argv[i];
		} else {
			return cli_usage_error("import", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!in)
		return cli_usage_error("import", "needs FILE");
	char defout[4096];
	if (!out) {
		snprintf(defout, sizeof defout, "%s.db", in);
		out = defout;
	}
	struct hv_err err = { 0 };
	if (fmt == HV_FMT_UNKNOWN) {
		fmt = hv_import_detect(in, &err);
		if (fmt == HV_FMT_UNKNOWN)
			return cli_fail("import", &err);
	}
	struct hv_store *st;
	if (hv_store_create(out, force ? HV_STORE_FORCE : 0, &st, &err) < 0) {
		if (err.code == HV_E_EXISTS)
			fprintf(stderr, "hvtrace import: %s exists (use --force to replace it, or -o)\n", out);
		else
			cli_fail("import", &err);
		return HV_EXIT_USAGE;
	}
	struct hv_import_opts o = { .progress = !quiet && isatty(2) };
	struct hv_import_result res;
	memset(&res, 0, sizeof res);
	double t0 = now_s();
	int rc = run_importer(fmt, in, st, &o, &res, &err);
	if (rc < 0 && rc != HV_E_TRUNCATED) {
		hv_store_close(st);
		return cli_fail("import", &err);
	}
	struct hv_err cerr = { 0 };
	double t1 = now_s();
	if (hv_store_set_meta(st, "input", in, &cerr) < 0 || hv_store_commit(st, &cerr) < 0) {
		hv_store_close(st);
		return cli_fail("import", &cerr);
	}
	double t2 = now_s(), secs = t2 - t0;
	if (!quiet)
		summary(st, out, fmt, &res, secs, t2 - t1);
	hv_store_close(st);
	if (res.events && cli_derive_file("import", out, 1) != HV_EXIT_OK)
		return HV_EXIT_USAGE;
	if (rc == HV_E_TRUNCATED) {
		fprintf(stderr, "hvtrace import: %s\n", err.msg);
		fprintf(stderr, "hvtrace import: input truncated or damaged at offset %" PRIu64
			"; the complete part (%" PRIu64 " events) was imported into %s\n",
			res.truncated_at, res.events, out);
		return HV_EXIT_USAGE;
	}
	return HV_EXIT_OK;
}
