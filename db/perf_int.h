/*
 * Internals of the perf.data importer, shared by its stages:
 *
 *   perf_file.c     the file header, attrs and their ids, feature sections -> meta
 *   perf_records.c  cutting the data stream into records (file and pipe mode, zstd chunks)
 *   perf_sample.c   sample layout by sample_type, the sample_id_all trailer, id -> attr
 *   perf_order.c    bounded-window time ordering driven by FINISHED_ROUND
 *   perf_decode.c   the tracing-data blob into libtraceevent; raw payload -> typed store rows
 *   perf_import.c   hv_import_perf: the glue, task names, lost records, stats
 *
 * Everything reads the file through the endian-aware accessors below: nothing is swapped in
 * place, so tracepoint payloads stay in the file's byte order for libtraceevent. All offsets
 * given in messages are offsets in the input file (for records inside compressed chunks: the
 * offset of the chunk's record).
 */
#ifndef HV_PERF_INT_H
#define HV_PERF_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hv_import.h"

/* Record types (include/uapi/linux/perf_event.h, tools/lib/perf/include/perf/event.h). */
enum {
	PREC_MMAP = 1, PREC_LOST = 2, PREC_COMM = 3, PREC_EXIT = 4, PREC_FORK = 7,
	PREC_SAMPLE = 9, PREC_LOST_SAMPLES = 13,
	PREC_HEADER_ATTR = 64, PREC_HEADER_EVENT_TYPE = 65, PREC_HEADER_TRACING_DATA = 66,
	PREC_HEADER_BUILD_ID = 67, PREC_FINISHED_ROUND = 68, PREC_ID_INDEX = 69,
	PREC_AUXTRACE = 71, PREC_HEADER_FEATURE = 80, PREC_COMPRESSED = 81,
	PREC_FINISHED_INIT = 82, PREC_COMPRESSED2 = 83,
};

/* sample_type bits */
enum {
	PS_IP = 1u << 0, PS_TID = 1u << 1, PS_TIME = 1u << 2, PS_ADDR = 1u << 3,
	PS_READ = 1u << 4, PS_CALLCHAIN = 1u << 5, PS_ID = 1u << 6, PS_CPU = 1u << 7,
	PS_PERIOD = 1u << 8, PS_STREAM_ID = 1u << 9, PS_RAW = 1u << 10,
	PS_BRANCH_STACK = 1u << 11, PS_REGS_USER = 1u << 12, PS_STACK_USER = 1u << 13,
	PS_WEIGHT = 1u << 14, PS_DATA_SRC = 1u << 15, PS_IDENTIFIER = 1u << 16,
	PS_TRANSACTION = 1u << 17, PS_REGS_INTR = 1u << 18, PS_PHYS_ADDR = 1u << 19,
	PS_AUX = 1u << 20, PS_CGROUP = 1u << 21, PS_DATA_PAGE_SIZE = 1u << 22,
	PS_CODE_PAGE_SIZE = 1u << 23, PS_WEIGHT_STRUCT = 1u << 24,
};

/* read_format bits */
enum { PRF_TOTAL_ENABLED = 1, PRF_TOTAL_RUNNING = 2, PRF_ID = 4, PRF_GROUP = 8, PRF_LOST = 16 };

/* branch_sample_type bit that adds hw_idx to BRANCH_STACK samples */
#define PERF_BRANCH_HW_INDEX (1ull << 17)

/* ---- endian-aware reads (unaligned-safe) ---- */
static inline uint16_t pr16(int swap, const void *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return swap ? __builtin_bswap16(v) : v;
}
static inline uint32_t pr32(int swap, const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}
static inline uint64_t pr64(int swap, const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return swap ? __builtin_bswap64(v) : v;
}

struct perf_attr {
	uint32_t type, size;
	uint64_t config, sample_type, read_format, flags, branch_sample_type, sample_regs_user,
		sample_regs_intr;
	int sample_id_all;
	char *name;		/* from EVENT_DESC, or NULL */
};

/* One parsed sample (or the sample_id trailer of another record). */
struct perf_sample {
	const struct perf_attr *attr;
	uint64_t id, time;
	uint32_t pid, tid, cpu;
	const uint8_t *raw;
	uint32_t raw_size;
	int has_time, has_cpu, has_tid;
};

struct perf_order;
struct perf_decode;
struct import_extra;

struct perf_reader {
	const char *path;
	struct hv_store *st;
	struct hv_import_result *res;
	const struct hv_import_opts *opts;
	/* input */
	int fd;
	const uint8_t *map;
	uint64_t size;
	int swap, pipe;
	uint64_t data_off, data_size;	/* file mode */
	uint64_t features[4];
	int long_size;
	/* attrs and the id -> attr map */
	struct perf_attr *attrs;
	int nattrs, cap_attrs;
	uint64_t *id_key;
	int *id_attr;
	int nids, cap_ids;
	int last_id_hit;
	/* stages */
	struct perf_order *order;
	struct perf_decode *dec;
	void *zctx;			/* ZSTD_DCtx, one per file */
	uint8_t *zbuf;			/* decompressed bytes not yet cut into records */
	size_t zlen, zcap;
	/* tasks: tid -> comm, for FORK inheritance */
	struct perf_task *tasks;
	size_t ntasks, cap_tasks;
	/* bookkeeping */
	uint64_t last_ts_in;		/* for clock-going-back stats */
	uint64_t progress_next;
	uint64_t released;		/* mapped input before this offset has been let go */
	/* the bytes records are being cut from, when they are the file's own (file offset win_off
	 * at win): samples there are queued by offset and read again with pread when merged */
	const uint8_t *win;
	uint64_t win_len, win_off;
	int have_tracing;
	int saw_round;
	struct import_extra *x;		/* perf_import.c's own bookkeeping */
};

struct perf_task {
	int32_t tid, pid;
	char comm[32];
	uint64_t ts;		/* time of the record that set comm */
};

/* perf_file.c */
int perf_open(struct perf_reader *r, struct hv_err *err);
void perf_close(struct perf_reader *r);
int perf_read_header(struct perf_reader *r, struct hv_err *err);
int perf_read_features(struct perf_reader *r, struct hv_err *err);
void perf_release_map(struct perf_reader *r);
/* One feature payload (file section or pipe HEADER_FEATURE body). */
int perf_feature(struct perf_reader *r, int feat, const uint8_t *p, uint64_t n, uint64_t off,
		 struct hv_err *err);
/* Parse one attr of attr_size bytes at p (file order) into a new attrs[] entry; returns index. */
int perf_add_attr(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off, struct hv_err *err);
int perf_add_id(struct perf_reader *r, uint64_t id, int attr, struct hv_err *err);
int perf_stat(struct perf_reader *r, const char *key, int64_t delta, const char *detail, struct hv_err *err);

/* perf_records.c: cut [p, p+n) (starting at file offset off) into records and hand each to
 * perf_record(). Returns 0, HV_E_TRUNCATED (res->truncated_at set) or another error. */
int perf_cut_records(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off,
		     struct hv_err *err);
/* The same for the file's bytes [off, off + n), read with pread through a window of
 * PERF_WINDOW bytes instead of the mapping (file-mode data sections). */
int perf_cut_file(struct perf_reader *r, uint64_t off, uint64_t n, struct hv_err *err);
void perf_records_free(struct perf_reader *r);
/* Payload of a COMPRESSED / COMPRESSED2 record. */
int perf_compressed(struct perf_reader *r, const uint8_t *p, uint32_t n, uint64_t off, struct hv_err *err);

/* perf_sample.c */
const struct perf_attr *perf_attr_by_id(struct perf_reader *r, uint64_t id);
int perf_parse_sample(struct perf_reader *r, const uint8_t *p, uint32_t n, struct perf_sample *s);
/* The cpu (-1 if none) and pid a parsed tracepoint sample is stored with. */
void perf_sample_cpu_pid(const struct perf_reader *r, const struct perf_sample *s, int32_t *cpu, int32_t *pid);
/* Trailer of a non-sample record of total size n whose fixed body is `body` bytes. */
int perf_parse_id_trailer(struct perf_reader *r, const uint8_t *p, uint32_t n, uint32_t body,
			  struct perf_sample *s);

/* Mapped input (pipe-mode files) is let go in steps of this many bytes behind the reading
 * position (perf_records.c), so the mapping's resident pages stay bounded. File-mode data
 * sections are read with pread through a window of PERF_WINDOW bytes, and the ordering merge
 * reads queued records with pread (perf_order.c): a fault on a mapping maps more than the page
 * touched (fault-around, large page-cache folios), which made the peak grow with the file. */
#define PERF_RELEASE_STEP (256u << 10)
#define PERF_WINDOW (1u << 20)

/* perf_order.c */
struct perf_order *perf_order_new(void);
void perf_order_free(struct perf_order *o);
/* Queue the tracepoint sample record p (n bytes, parsed as s): referenced by file offset when
 * it lies in r->win (the file's own bytes), copied otherwise. */
int perf_order_push(struct perf_reader *r, const uint8_t *p, uint32_t n, const struct perf_sample *s);
/* FINISHED_ROUND: emit what can no longer be preceded. */
int perf_order_round(struct perf_reader *r, struct hv_err *err);
/* Emit everything (end of input). */
int perf_order_flush_all(struct perf_reader *r, struct hv_err *err);
size_t perf_order_pending(const struct perf_order *o);
/* After each push: flush the oldest half if the queue passed its limit (no rounds). */
int perf_order_check(struct perf_reader *r, struct hv_err *err);

/* perf_decode.c */
struct perf_decode *perf_decode_new(void);
void perf_decode_free(struct perf_decode *d);
/* The tracing-data blob; *used is set to the bytes it occupied. */
int perf_decode_tracing_data(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off,
			     uint64_t *used, struct hv_err *err);
/* Decode one raw payload and append it to the store. */
int perf_decode_emit(struct perf_reader *r, uint64_t ts, int32_t cpu, int32_t pid, const uint8_t *raw,
		     uint32_t len, struct hv_err *err);
/* Counters of odd payloads into stats. */
int perf_decode_stats(struct perf_reader *r, struct hv_err *err);

/* perf_import.c: one record (bytes in file order, n = header.size). off: file offset.
 * *extra is set to bytes following the record that belong to it (pipe tracing data,
 * AUXTRACE payload); avail = bytes available after the record in this buffer. */
int perf_record(struct perf_reader *r, const uint8_t *p, uint32_t n, uint64_t off, uint64_t avail,
		uint64_t *extra, struct hv_err *err);

#endif
