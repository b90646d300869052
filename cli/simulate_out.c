/*
 * The outputs of `hvtrace simulate`: a trace database, a perf.data file, or both (a tee sink
 * hands every event to the store, then to the perf.data writer). See simulate_out.h for the
 * sequence. The perf.data file is finished before the database is committed; if the commit
 * fails the finished file is removed again, so a failed run leaves neither behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simulate_out.h"

static int no_output(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid, const struct hv_value *v)
{
	(void)ctx;
	(void)id;
	(void)ts;
	(void)cpu;
	(void)pid;
	(void)v;
	return HV_E_USAGE;	/* sim_out_attach was not called */
}

int sim_out_begin(struct sim_out *o)
{
	o->sink = (struct hv_sink){ .ctx = NULL, .emit = no_output };
	if (!o->db && !o->perf)
		return hv_err_set(&o->err, HV_E_USAGE, "no output: give -o DB, --perf-data FILE or both");
	if (o->db)
		return hv_store_create(o->db, o->force ? HV_STORE_FORCE : 0, &o->st, &o->err);
	return 0;
}

/* The command line for the perf.data header, without the output names and --force: what
 * decides the content, so that the same command into another file gives the same bytes. */
static const char **content_argv(const struct sim_out *o, int *argc)
{
	const char **v = calloc((size_t)o->argc + 2, sizeof *v);
	if (!v)
		return NULL;
	int n = 0;
	v[n++] = "hvtrace";
	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i];
		if (!strcmp(a, "-o") || !strcmp(a, "--perf-data"))
			i++;
		else if (strcmp(a, "--force"))
			v[n++] = a;
	}
	*argc = n;
	return v;
}

int sim_out_attach(struct sim_out *o, const struct hv_sim *sim, const struct hv_scenario *sc)
{
	struct hv_sink store_sink, perf_sink;
	int rc;
	if (o->st) {
		hv_store_sink_init(&o->ss, o->st, &o->err, &store_sink);
		if ((rc = hv_sim_write_meta(sim, sc, o->st, &o->err)) < 0) {
			if (!o->err.code)
				hv_err_set(&o->err, HV_E_SQL, "%s: cannot write the scenario's facts", o->db);
			return o->err.code;
		}
	}
	if (o->perf) {
		struct hv_sim_perf_opts po = { .big_endian = o->big_endian, .force = o->force };
		const char **argv = o->argv ? content_argv(o, &po.argc) : NULL;
		po.argv = argv;
		rc = hv_sim_perf_open(sim, sc, o->perf, &po, &o->pw, &o->err);
		free(argv);	/* the writer keeps copies */
		if (rc < 0)
			return rc;
		perf_sink = hv_perfw_sink(o->pw);
	}
	if (o->st && o->pw)
		hv_tee_sink_init(&o->tee, &store_sink, &perf_sink, &o->sink);
	else
		o->sink = o->st ? store_sink : perf_sink;
	return 0;
}

/* The writer keeps its first error; report it (it names the file) rather than the sink's code. */
int sim_out_finish(struct sim_out *o)
{
	int rc = 0;
	if (o->pw) {
		struct hv_perfw *w = o->pw;
		o->pw = NULL;
		if ((rc = hv_perfw_close(w, &o->err)) < 0)
			return rc;
	}
	if (o->st && (rc = hv_store_commit(o->st, &o->err)) < 0 && o->perf)
		unlink(o->perf);
	return rc;
}

void sim_out_abort(struct sim_out *o)
{
	const struct hv_err *we = hv_perfw_error(o->pw);
	if (we && !o->err.code)
		o->err = *we;
	hv_perfw_abort(o->pw);
	o->pw = NULL;
	hv_store_close(o->st);
	o->st = NULL;
}

void sim_out_close(struct sim_out *o)
{
	sim_out_abort(o);
}
