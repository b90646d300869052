/*
 * Replaying a recording directly: `hvtrace replay perf.data` detects the file's format
 * (db/import_detect.c), imports a perf.data or trace.dat file into a database in a fresh
 * temporary directory ($TMPDIR or /tmp), and the replay then runs on that database as on any
 * other (the derived tables it writes go there too). The directory and everything in it are
 * removed when the replay is done. A database (or anything that is not a binary recording)
 * is left to the normal database path.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hv_import.h"
#include "replay_import.h"

static int make_tmpdir(struct replay_tmp *t)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(t->dir, sizeof t->dir, "%s/hvtrace-replay-XXXXXX", base);
	if (!mkdtemp(t->dir)) {
		t->dir[0] = 0;
		return -1;
	}
	snprintf(t->db, sizeof t->db, "%s/trace.db", t->dir);
	return 0;
}

int replay_import(const char *path, struct replay_tmp *t)
{
	struct hv_err err = { 0 };
	t->dir[0] = t->db[0] = 0;
	if (access(path, R_OK) != 0)
		return 0;	/* the database path reports it */
	enum hv_import_format fmt = hv_import_detect(path, &err);
	if (fmt != HV_FMT_PERF && fmt != HV_FMT_TRACEDAT)
		return 0;
	if (make_tmpdir(t) < 0) {
		fprintf(stderr, "hvtrace replay: cannot create a temporary directory to import %s into\n", path);
		return HV_EXIT_USAGE;
	}
	struct hv_store *st;
	if (hv_store_create(t->db, 0, &st, &err) < 0) {
		replay_import_cleanup(t);
		return cli_fail("replay", &err);
	}
	struct hv_import_opts o = { 0 };
	struct hv_import_result res;
	memset(&res, 0, sizeof res);
	int rc = fmt == HV_FMT_PERF ? hv_import_perf(path, st, &o, &res, &err)
				    : hv_import_tracedat(path, st, &o, &res, &err);
	if (rc < 0 && rc != HV_E_TRUNCATED) {
		hv_store_close(st);
		replay_import_cleanup(t);
		return cli_fail("replay", &err);
	}
	if (rc == HV_E_TRUNCATED)
		fprintf(stderr, "hvtrace replay: %s\nhvtrace replay: %s is truncated or damaged at offset %" PRIu64
			": replaying its complete part (%" PRIu64 " events)\n", err.msg, path, res.truncated_at,
			res.events);
	struct hv_err cerr = { 0 };
	if (hv_store_set_meta(st, "input", path, &cerr) < 0 || hv_store_commit(st, &cerr) < 0) {
		hv_store_close(st);
		replay_import_cleanup(t);
		return cli_fail("replay", &cerr);
	}
	hv_store_close(st);
	fprintf(stderr, "hvtrace replay: %s is a %s recording: imported %" PRIu64 " events into a temporary database\n",
		path, fmt == HV_FMT_PERF ? "perf.data" : "trace.dat", res.events);
	return 1;
}

void replay_import_cleanup(struct replay_tmp *t)
{
	if (!t->dir[0])
		return;
	DIR *d = opendir(t->dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[8400];
		snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(t->dir);
	t->dir[0] = t->db[0] = 0;
}
