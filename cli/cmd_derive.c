/*
 * hvtrace derive DB [--profile P]: build the derived tables of db/README.md (core_run,
 * core_run_vcpu, vcpu_run, hcall, vcore_block, vcpu_wait) from the trace's events
 * (db/hv_derive.h). Import and simulate run it too; this rebuilds them, e.g. after an older
 * hvtrace wrote the database.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "hv_derive.h"

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace derive DB [--profile P] [--quiet]\n\n"
		   "Build the derived interval tables of DB from its events, replacing old ones:\n"
		   "core_run, core_run_vcpu (kvmppc_run_core windows, VM attribution, hardware threads),\n"
		   "vcpu_run (guest runs), hcall, vcore_block, vcpu_wait (dispatch wait). Columns in\n"
		   "db/README.md. `hvtrace import` and `hvtrace simulate` run it after writing a database.\n"
		   "  --profile P   kernel era whose bookkeeping to use (default: from the trace's meta)\n"
		   "  --quiet       print nothing on success\n"
		   "Exit status: 0 done, 2 usage or input error (the message names the file).\n");
}

int cli_derive(const char *cmd, struct hv_store *st, const char *profile, int quiet)
{
	struct hv_derive_summary s;
	struct hv_err err = { 0 };
	if (hv_derive_run(st, profile, &s, &err) < 0)
		return cli_fail(cmd, &err);
	if (!quiet)
		printf("derived (%s, %s path): core_run %" PRIu64 ", vcpu_run %" PRIu64 " (%" PRIu64
		       " unattributed), hcall %" PRIu64 ", vcore_block %" PRIu64 ", vcpu_wait %" PRIu64 "\n",
		       s.profile, s.gang ? "gang" : "single", s.core_run, s.vcpu_run, s.unattributed, s.hcall,
		       s.vcore_block, s.vcpu_wait);
	return HV_EXIT_OK;
}

int cli_derive_file(const char *cmd, const char *path, int quiet)
{
	struct hv_store *st = cli_open_db(cmd, path, 1);
	if (!st)
		return HV_EXIT_USAGE;
	int rc = cli_derive(cmd, st, NULL, quiet);
	hv_store_close(st);
	if (rc != HV_EXIT_OK)
		fprintf(stderr, "hvtrace %s: %s was written without its derived tables (hvtrace derive %s)\n", cmd,
			path, path);
	return rc;
}

int cmd_derive(int argc, char **argv)
{
	const char *db = NULL, *profile = NULL;
	int quiet = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (!strcmp(argv[i], "--profile")) {
			if (++i >= argc)
				return cli_usage_error("derive", "--profile needs a value");
			profile = argv[i];
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			quiet = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("derive", "unknown option '%s'", argv[i]);
		} else if (!db) {
			db = argv[i];
		} else {
			return cli_usage_error("derive", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!db)
		return cli_usage_error("derive", "needs DB");
	struct hv_store *st = cli_open_db("derive", db, 1);
	if (!st)
		return HV_EXIT_USAGE;
	int rc = cli_derive("derive", st, profile, quiet);
	hv_store_close(st);
	return rc;
}
