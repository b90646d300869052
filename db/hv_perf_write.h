/*
 * hv_perf_write: a perf.data writer for events produced by hvtrace (the simulator, or a
 * store being exported).
 *
 * It writes a real perf.data file: header, one tracepoint attr per event type (config = the
 * generated ftrace id), a kernel MMAP record (as perf record synthesises), COMM records for
 * task names, PERF_RECORD_SAMPLE records with IDENTIFIER|IP|TID|TIME|CPU|PERIOD|RAW whose RAW
 * payload is the event laid out as its format says, FINISHED_ROUND markers, and the feature
 * sections perf needs to decode them (TRACING_DATA with the generated format texts,
 * EVENT_DESC, HOSTNAME, OSRELEASE, VERSION, ARCH, NRCPUS, CPUDESC, CMDLINE, SAMPLE_TIME), in
 * little- or big-endian byte order. Stock `perf script -i FILE` decodes it.
 *
 * Facts perf has no feature for (the simulator's profile, module parameters, VMs: what the
 * store keeps in `meta`) can go into a private feature section, bit HV_PERF_FEAT_HVTRACE_META
 * (255, the last bit of the 256-bit map; perf processes only the bits it knows and skips the
 * rest). Its payload is laid out like HEADER_CMDLINE: a u32 count, then perf header strings
 * (u32 length, NUL-padded text): the magic HV_PERF_HVTRACE_META_MAGIC, then key, value, key,
 * value, ... hvtrace's perf.data importer puts them into the new database's meta.
 */
#ifndef HV_PERF_WRITE_H
#define HV_PERF_WRITE_H

#include "hv_sink.h"
#include "hv_store.h"

#define HV_PERF_FEAT_HVTRACE_META 255
#define HV_PERF_HVTRACE_META_MAGIC "hvtrace-meta-1"

struct hv_perfw;

struct hv_perfw_opts {
	int big_endian;		/* write a file as a big-endian ppc64 host would */
	int force;		/* replace an existing file at close */
	int ncpus;		/* <= 0: highest CPU seen + 1 */
	const char *hostname, *osrelease, *arch, *cpudesc;	/* NULL: defaults */
	const int *events;	/* HV_EV_* ids that get an attr; NULL: every known event */
	int nevents;
	const char *const *argv;	/* the command line recorded in HEADER_CMDLINE; NULL: "hvtrace" */
	int argc;
};

/* Start a file; it appears at path only when hv_perfw_close succeeds (it is written under a
 * temporary name next to it). Fails with HV_E_EXISTS if path exists and force is not set. */
int hv_perfw_open(const char *path, const struct hv_perfw_opts *o, struct hv_perfw **out,
		  struct hv_err *err);
/* Register a task name: a COMM record (time clamped to the last sample's, so perf's ordering
 * holds), the pid used for samples of that tid, and a saved_cmdlines line. */
int hv_perfw_comm(struct hv_perfw *w, int32_t pid, int32_t tid, const char *comm, uint64_t ts,
		  struct hv_err *err);
/* The sink that appends one sample per event (events in time order; ctx is w). An event
 * without an attr, or a write error, makes emit return a negative HV_E_* code; the message is
 * reported again by hv_perfw_close. Strings longer than their field are cut to size - 1. */
struct hv_sink hv_perfw_sink(struct hv_perfw *w);
/* Add a fact (key, value) to the private facts section (written at close; none added: no
 * section). */
int hv_perfw_meta(struct hv_perfw *w, const char *key, const char *value, struct hv_err *err);
/* The writer's first failure (what a failed emit meant), or NULL. */
const struct hv_err *hv_perfw_error(const struct hv_perfw *w);
/* Samples written so far. */
uint64_t hv_perfw_nsamples(const struct hv_perfw *w);
/* Finish the file (features, header), link it into place and free w. Returns 0 or HV_E_*. */
int hv_perfw_close(struct hv_perfw *w, struct hv_err *err);
/* Discard an unfinished file and free w. NULL is fine. */
void hv_perfw_abort(struct hv_perfw *w);

#endif
