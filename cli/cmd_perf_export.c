/*
 * hvtrace perf-export DB -o FILE [--big-endian] [--force]: write a trace database as a
 * perf.data file that stock `perf script` decodes, through the perf.data writer's sink
 * (db/hv_perf_write.h), as a ppc64le host's perf would write it (or a ppc64 big-endian one).
 *
 * Every event type of the store that is one of hvtrace's known events with the same field
 * layout, and has events, gets a tracepoint attr; events of other types (defined only by a
 * file's format) are skipped and counted. The task table becomes COMM records. Host facts come
 * from the meta table when present (hostname, os_release, cpudesc or cpu, nrcpus); the arch
 * follows the byte order (ppc64le, or ppc64 with --big-endian). The whole meta table also goes
 * into the file's private hvtrace facts section (db/hv_perf_write.h), which perf skips and
 * `hvtrace import` (and `hvtrace replay FILE`) read back, so a simulated trace keeps its
 * profile, parameters and VMs through the round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <sqlite3.h>

#include "hv_events.h"
#include "hv_perf_write.h"

struct export {
	struct hv_store *st;
	struct hv_perfw *w;
	struct hv_err err;
	int *known_of;		/* store type -> HV_EV id, or -1 */
	int ntypes;
	int ev[HV_EV_COUNT];
	int nev;
	uint64_t skipped;
};

/* The store's type has exactly the layout of hvtrace's definition of the same event. */
static int known_id(const struct hv_event_def *d)
{
	const struct hv_event_def *k = hv_event_find(d->system, d->name);
	if (!k || k->nfields != d->nfields)
		return -1;
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct hv_field_def *a = &k->fields[i], *b = &d->fields[i];
		if (strcmp(a->name, b->name) || a->offset != b->offset || a->size != b->size ||
		    a->is_signed != b->is_signed || a->kind != b->kind)
			return -1;
	}
	return hv_event_index(k);
}

static int choose_types(struct export *x)
{
	int n = x->ntypes = hv_store_ntypes(x->st);
	if (!(x->known_of = calloc((size_t)n + 1, sizeof *x->known_of)))
		return hv_err_set(&x->err, HV_E_NOMEM, "out of memory");
	for (int t = 0; t < n; t++) {
		x->known_of[t] = -1;
		int id = known_id(hv_store_type_def(x->st, t));
		if (id < 0 || hv_store_type_count(x->st, t) == 0)
			continue;
		x->known_of[t] = id;
		int at = x->nev++;	/* attrs in hvtrace's event order */
		for (; at > 0 && x->ev[at - 1] > id; at--)
			x->ev[at] = x->ev[at - 1];
		x->ev[at] = id;
	}
	if (x->nev == 0)	/* an empty trace still makes a valid file */
		x->ev[x->nev++] = HV_EV_KVM_GUEST_EXIT;
	return 0;
}

static char *meta(struct export *x, const char *key)
{
	char buf[256];
	return hv_store_get_meta(x->st, key, buf, sizeof buf, &x->err) == 1 ? strdup(buf) : NULL;
}

static int write_tasks(struct export *x)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(hv_store_sqlite(x->st), "SELECT pid, tgid, comm, ts FROM task ORDER BY ts, pid",
			       -1, &s, NULL) != SQLITE_OK)
		return hv_err_set(&x->err, HV_E_SQL, "%s: cannot read the task table: %s", hv_store_path(x->st),
				  sqlite3_errmsg(hv_store_sqlite(x->st)));
	int rc = 0;
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		int32_t pid = sqlite3_column_int(s, 0);
		int32_t tgid = sqlite3_column_type(s, 1) == SQLITE_NULL ? pid : sqlite3_column_int(s, 1);
		const char *comm = (const char *)sqlite3_column_text(s, 2);
		rc = hv_perfw_comm(x->w, tgid, pid, comm ? comm : "", (uint64_t)sqlite3_column_int64(s, 3), &x->err);
	}
	sqlite3_finalize(s);
	return rc;
}

static int write_facts(struct export *x)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(hv_store_sqlite(x->st), "SELECT key, value FROM meta ORDER BY rowid", -1, &s,
			       NULL) != SQLITE_OK)
		return hv_err_set(&x->err, HV_E_SQL, "%s: cannot read the meta table: %s", hv_store_path(x->st),
				  sqlite3_errmsg(hv_store_sqlite(x->st)));
	int rc = 0;
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0), *v = (const char *)sqlite3_column_text(s, 1);
		if (k && v)
			rc = hv_perfw_meta(x->w, k, v, &x->err);
	}
	sqlite3_finalize(s);
	return rc;
}

static int write_events(struct export *x)
{
	struct hv_reader *rd;
	int rc = hv_reader_open(x->st, NULL, &rd, &x->err);
	if (rc < 0)
		return rc;
	struct hv_sink sink = hv_perfw_sink(x->w);
	const struct hv_row *row;
	while ((rc = hv_reader_next(rd, &row, &x->err)) == 1) {
		int id = row->type >= 0 && row->type < x->ntypes ? x->known_of[row->type] : -1;
		if (id < 0) {
			x->skipped++;
			continue;
		}
		if ((rc = sink.emit(sink.ctx, id, row->ts, row->cpu, row->pid, row->v)) < 0)
			break;
	}
	hv_reader_close(rd);
	return rc;
}

static int run(struct export *x, const char *out, struct hv_perfw_opts *o)
{
	char *host = meta(x, "hostname"), *rel = meta(x, "os_release");
	char *desc = meta(x, "cpudesc"), *cpu = meta(x, "cpu"), *ncpus = meta(x, "nrcpus");
	char desc_buf[300];
	if (!desc && cpu) {
		snprintf(desc_buf, sizeof desc_buf, "%s, altivec supported", cpu);
		o->cpudesc = desc_buf;
	} else {
		o->cpudesc = desc;
	}
	o->hostname = host;
	o->osrelease = rel;
	o->arch = NULL;	/* ppc64le or ppc64: follows the byte order chosen */
	o->ncpus = ncpus ? atoi(ncpus) : 0;
	int rc = choose_types(x);
	o->events = x->ev;
	o->nevents = x->nev;
	if (rc == 0)
		rc = hv_perfw_open(out, o, &x->w, &x->err);
	free(host);
	free(rel);
	free(desc);
	free(cpu);
	free(ncpus);
	if (rc < 0)
		return rc;
	if ((rc = write_facts(x)) < 0 || (rc = write_tasks(x)) < 0 || (rc = write_events(x)) < 0) {
		hv_perfw_abort(x->w);
		return rc;
	}
	uint64_t n = hv_perfw_nsamples(x->w);
	if ((rc = hv_perfw_close(x->w, &x->err)) < 0)
		return rc;
	printf("wrote %s: %llu events as %d tracepoint types (%s)", out, (unsigned long long)n, x->nev,
	       o->big_endian ? "big-endian ppc64" : "little-endian ppc64le");
	if (x->skipped)
		printf(", skipped %llu events of types hvtrace does not define", (unsigned long long)x->skipped);
	printf("\n");
	return 0;
}

int cmd_perf_export(int argc, char **argv)
{
	const char *db = NULL, *out = NULL;
	struct hv_perfw_opts o = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: hvtrace perf-export DB -o FILE [--big-endian] [--force]\n\n"
			       "Write the trace as a perf.data file (tracepoint samples with their format texts)\n"
			       "that `perf script -i FILE` decodes, as a ppc64le host's perf writes it, or with\n"
			       "--big-endian as a ppc64 (big-endian) host's. Events of types hvtrace does not\n"
			       "define are skipped and counted; task names become COMM records.\n");
			return HV_EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--big-endian")) {
			o.big_endian = 1;
		} else if (!strcmp(argv[i], "--force")) {
			o.force = 1;
		} else if (argv[i][0] == '-' || db) {
			return cli_usage_error("perf-export", "unexpected argument '%s'", argv[i]);
		} else {
			db = argv[i];
		}
	}
	if (!db || !out)
		return cli_usage_error("perf-export", "needs DB and -o FILE");
	struct export x = { 0 };
	const char **cmdline = calloc((size_t)argc + 1, sizeof *cmdline);
	if (!cmdline)
		return cli_usage_error("perf-export", "out of memory");
	cmdline[0] = "hvtrace";
	for (int i = 0; i < argc; i++)
		cmdline[i + 1] = argv[i];
	o.argc = argc + 1;
	o.argv = cmdline;
	if (!(x.st = cli_open_db("perf-export", db, 0))) {
		free(cmdline);
		return HV_EXIT_USAGE;
	}
	int rc = run(&x, out, &o);
	hv_store_close(x.st);
	free(x.known_of);
	free(cmdline);
	return rc < 0 ? cli_fail("perf-export", &x.err) : HV_EXIT_OK;
}
