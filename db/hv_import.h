/*
 * hv_import: reading recorded traces into the store.
 *
 * Each importer is a pipeline of small stages (bytes -> records -> bounded-window time
 * ordering -> decode with libtraceevent on cached fields -> batched store inserts). They all
 * write into a store created by the caller (hv_store_create) and leave committing to it, so a
 * failed import never leaves a half-written database: the caller closes the store instead.
 */
#ifndef HV_IMPORT_H
#define HV_IMPORT_H

#include <stdint.h>

#include "hv_store.h"

enum hv_import_format {
	HV_FMT_UNKNOWN = 0,
	HV_FMT_PERF,		/* perf.data, file or pipe mode */
	HV_FMT_TRACEDAT,	/* trace-cmd trace.dat */
	HV_FMT_TEXT,		/* perf script default output, or raw ftrace text */
};

struct hv_import_opts {
	int progress;		/* print a progress line to stderr (terminal only) */
};

struct hv_import_result {
	uint64_t events;	/* events stored */
	uint64_t lost;		/* events reported lost by the recorder */
	uint64_t records;	/* records read (any kind) */
	uint64_t skipped;	/* records or lines skipped (counted in stats) */
	uint64_t ts_first, ts_last;
	int truncated;		/* input ended early; what was complete was imported */
	uint64_t truncated_at;	/* file offset of the first incomplete record */
};

/* Detect the format from the first bytes of the file. */
enum hv_import_format hv_import_detect(const char *path, struct hv_err *err);
const char *hv_import_format_name(enum hv_import_format f);

/* Each returns 0, or a negative HV_E_* code with err naming the file and offset. On
 * HV_E_TRUNCATED the complete part has been stored and res->truncated_at says where. */
int hv_import_perf(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		   struct hv_import_result *res, struct hv_err *err);
int hv_import_tracedat(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		       struct hv_import_result *res, struct hv_err *err);
int hv_import_text(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		   struct hv_import_result *res, struct hv_err *err);

#endif
