/*
 * hvtrace report DB -o DIR [--window-start S] [--window-len S]: write the HTML report
 * (DIR/index.html with PNG figures) and DIR/summary.txt by running analyze/report.py with
 * Debian's /usr/bin/python3 (matplotlib, standard sqlite3).
 *
 * The analyze directory is, in order: $HVTRACE_ANALYZE; <dir of this executable>/../analyze
 * (the source tree, when run as build/hvtrace); <dir of this executable>/../share/hvtrace/analyze
 * (after `make install`). The database is checked here first, so a bad file gets the same
 * message as from every other subcommand; the script's exit status is passed on (0 written,
 * 1 written but a figure failed, 2 bad input).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define REPORT_PYTHON "/usr/bin/python3"

static int is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

/* Find report.py; on success write its path to `out` and return 0. */
static int find_report(char *out, size_t n)
{
	const char *env = getenv("HVTRACE_ANALYZE");
	if (env && *env) {
		snprintf(out, n, "%s/report.py", env);
		return is_file(out) ? 0 : -1;
	}
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0)
		return -1;
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	static const char *const rel[] = { "../analyze", "../share/hvtrace/analyze" };
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		int w = snprintf(out, n, "%s/%s/report.py", exe, rel[i]);
		if (w > 0 && (size_t)w < n && is_file(out))
			return 0;
	}
	return -1;
}

static void usage(void)
{
	printf("usage: hvtrace report DB -o DIR [--window-start S] [--window-len S]\n\n"
	       "Write DIR/index.html (figures as PNG files next to it) and DIR/summary.txt: per-core\n"
	       "timeline of hardware threads by VM with split-mode bands, split-mode shares, thread\n"
	       "occupancy, vcpu dispatch wait, cede/nap/block, exits and hcalls, replay violations and\n"
	       "the what-if table. Reads the derived tables (hvtrace derive); sections without data\n"
	       "say so. The timeline window is chosen around the busiest second unless given:\n"
	       "--window-start in seconds on the trace clock (as hvtrace events prints),\n"
	       "--window-len in seconds. Runs analyze/report.py with " REPORT_PYTHON
	       " (found through\n$HVTRACE_ANALYZE, ../analyze or ../share/hvtrace/analyze next to this program).\n");
}

int cmd_report(int argc, char **argv)
{
	const char *db = NULL, *out = NULL, *wstart = NULL, *wlen = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return HV_EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--window-start") && i + 1 < argc) {
			wstart = argv[++i];
		} else if (!strcmp(argv[i], "--window-len") && i + 1 < argc) {
			wlen = argv[++i];
		} else if (argv[i][0] == '-' || db) {
			return cli_usage_error("report", "unexpected argument '%s'", argv[i]);
		} else {
			db = argv[i];
		}
	}
	if (!db || !out)
		return cli_usage_error("report", "needs DB and -o DIR");
	struct hv_store *st = cli_open_db("report", db, 0);
	if (!st)
		return HV_EXIT_USAGE;
	hv_store_close(st);

	char script[PATH_MAX + 32];
	if (find_report(script, sizeof script) < 0) {
		fprintf(stderr, "hvtrace report: cannot find analyze/report.py (set HVTRACE_ANALYZE to the analyze directory)\n");
		return HV_EXIT_USAGE;
	}
	if (access(REPORT_PYTHON, X_OK) != 0) {
		fprintf(stderr, "hvtrace report: %s: %s (install Debian's python3 and python3-matplotlib)\n",
			REPORT_PYTHON, strerror(errno));
		return HV_EXIT_USAGE;
	}
	char *args[12];
	int n = 0;
	args[n++] = REPORT_PYTHON;
	args[n++] = script;
	args[n++] = (char *)db;
	args[n++] = "-o";
	args[n++] = (char *)out;
	args[n++] = "--quiet";
	if (wstart) {
		args[n++] = "--window-start";
		args[n++] = (char *)wstart;
	}
	if (wlen) {
		args[n++] = "--window-len";
		args[n++] = (char *)wlen;
	}
	args[n] = NULL;

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "hvtrace report: fork: %s\n", strerror(errno));
		return HV_EXIT_USAGE;
	}
	if (pid == 0) {
		execv(REPORT_PYTHON, args);
		fprintf(stderr, "hvtrace report: %s: %s\n", REPORT_PYTHON, strerror(errno));
		_exit(HV_EXIT_USAGE);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "hvtrace report: waitpid: %s\n", strerror(errno));
			return HV_EXIT_USAGE;
		}
	}
	if (!WIFEXITED(status)) {
		fprintf(stderr, "hvtrace report: %s was killed by signal %d\n", script, WTERMSIG(status));
		return HV_EXIT_USAGE;
	}
	int rc = WEXITSTATUS(status);
	if (rc == HV_EXIT_OK || rc == HV_EXIT_CHECKS)
		printf("report: %s/index.html (summary: %s/summary.txt)\n", out, out);
	return rc == HV_EXIT_OK || rc == HV_EXIT_CHECKS ? rc : HV_EXIT_USAGE;
}
