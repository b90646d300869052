/*
 * Outputs of `hvtrace simulate` (simulate_out.c): the trace database (-o DB), the perf.data
 * file (--perf-data FILE [--big-endian]), or both through a tee sink. Either output appears
 * only when the whole run succeeded.
 *
 *   sim_out_begin      create the database (if any); sets up o->sink for hv_sim_create
 *   sim_out_attach     after hv_sim_create: the facts into meta, open the perf.data writer
 *                      with the same facts and task names, point o->sink at the outputs
 *   sim_out_finish     after hv_sim_run: finish the perf.data file, commit the database
 *   sim_out_abort      discard everything (any stage; also frees)
 * Errors are in o->err (name the file); each returns 0 or a negative HV_E_* code.
 */
#ifndef HV_CLI_SIMULATE_OUT_H
#define HV_CLI_SIMULATE_OUT_H

#include "hv_perf_write.h"
#include "hv_store.h"
#include "sim.h"

struct sim_out {
	const char *db, *perf;		/* NULL: not written */
	int big_endian, force;
	const char *const *argv;	/* the command line, recorded in the perf.data header */
	int argc;
	struct hv_store *st;
	struct hv_store_sink ss;
	struct hv_perfw *pw;
	struct hv_tee_sink tee;
	struct hv_sink sink;		/* what the simulator emits into */
	struct hv_err err;
};

int sim_out_begin(struct sim_out *o);
int sim_out_attach(struct sim_out *o, const struct hv_sim *sim, const struct hv_scenario *sc);
int sim_out_finish(struct sim_out *o);
void sim_out_abort(struct sim_out *o);
/* After sim_out_finish: close the database. */
void sim_out_close(struct sim_out *o);

#endif
