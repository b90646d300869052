/*
 * perf.data importer, the glue: hv_import_perf.
 *
 * Runs the stages in order: perf_file.c (header, attrs, features -> meta, tracing data ->
 * perf_decode.c), perf_records.c (records of the data section, or of the whole stream in
 * pipe mode), perf_sample.c (what each record holds), perf_order.c (time order within a
 * round window), perf_decode.c (typed rows into the store). Non-sample records are handled
 * here: COMM/FORK become task names, LOST and LOST_SAMPLES become `lost` windows (cpu and
 * time from the sample_id trailer), pipe-mode HEADER_ATTR / HEADER_TRACING_DATA /
 * HEADER_FEATURE feed the file stage, AUXTRACE payloads are skipped, and unknown record
 * types are counted in `stats`. The caller owns the store and commits it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "perf_int.h"


#define MAX_CPUS 8192

struct import_extra {
	uint64_t last_ts[MAX_CPUS];	/* last sample time per cpu: start of a lost window */
	uint64_t unknown[256];		/* record types seen but not understood */
	uint64_t no_raw, bad_samples, no_attr, lost_records;
	uint64_t lost_sum, lost_samples_sum;
	uint64_t first_ts, max_ts;		/* over all samples read so far */	/* LOST counts; LOST_SAMPLES counts */
};

static struct import_extra *X(struct perf_reader *r)
{
	return r->x;
}

/* ---- tasks ---- */

static struct perf_task *task_find(struct perf_reader *r, int32_t tid)
{
	for (size_t i = 0; i < r->ntasks; i++)
		if (r->tasks[i].tid == tid)
			return &r->tasks[i];
	return NULL;
}

static int task_set(struct perf_reader *r, int32_t tid, int32_t pid, const char *comm, uint64_t ts,
		    struct hv_err *err)
{
	struct perf_task *t = task_find(r, tid);
	if (!t) {
		if (r->ntasks == r->cap_tasks) {
			size_t cap = r->cap_tasks ? r->cap_tasks * 2 : 256;
			void *q = realloc(r->tasks, cap * sizeof *r->tasks);
			if (!q)
				return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
			r->tasks = q;
			r->cap_tasks = cap;
		}
		t = &r->tasks[r->ntasks++];
		t->tid = tid;
	} else if (strcmp(t->comm, comm) == 0 && t->pid == pid) {
		return 0;
	} else if (ts && ts < t->ts) {
		/* COMM/FORK records are read in file order, which interleaves the CPUs' buffers:
		 * an older name (perf-exec before the exec's COMM) must not replace a newer one */
		return 0;
	}
	t->ts = ts;
	t->pid = pid;
	snprintf(t->comm, sizeof t->comm, "%s", comm);
	return hv_store_set_task(r->st, tid, pid, comm, ts, err);
}

static int rec_comm(struct perf_reader *r, const uint8_t *p, uint32_t n, struct hv_err *err)
{
	struct perf_sample s;
	if (n < 16 || perf_parse_id_trailer(r, p, n, 8, &s) < 0)
		return ++X(r)->bad_samples, 0;
	uint32_t trailer = 0;
	if (s.attr && s.attr->sample_id_all) {
		uint64_t st = s.attr->sample_type;
		trailer = 8u * (uint32_t)(!!(st & PS_TID) + !!(st & PS_TIME) + !!(st & PS_ID) +
					  !!(st & PS_STREAM_ID) + !!(st & PS_CPU) + !!(st & PS_IDENTIFIER));
	}
	if (n < 16 + trailer)
		return ++X(r)->bad_samples, 0;
	char comm[32];
	size_t k = strnlen((const char *)p + 16, n - 16 - trailer);
	if (k >= sizeof comm)
		k = sizeof comm - 1;
	memcpy(comm, p + 16, k);
	comm[k] = 0;
	int32_t pid = (int32_t)pr32(r->swap, p + 8), tid = (int32_t)pr32(r->swap, p + 12);
	return task_set(r, tid, pid, comm, s.time, err);
}

static int rec_fork(struct perf_reader *r, const uint8_t *p, uint32_t n, struct hv_err *err)
{
	if (n < 8 + 24)
		return ++X(r)->bad_samples, 0;
	int32_t pid = (int32_t)pr32(r->swap, p + 8), ppid = (int32_t)pr32(r->swap, p + 12);
	int32_t tid = (int32_t)pr32(r->swap, p + 16), ptid = (int32_t)pr32(r->swap, p + 20);
	uint64_t ts = pr64(r->swap, p + 24);
	(void)ppid;
	const struct perf_task *parent = task_find(r, ptid);
	if (!parent)
		return 0;
	char comm[32];
	memcpy(comm, parent->comm, sizeof comm);
	return task_set(r, tid, pid, comm, ts, err);
}

/* ---- lost ---- */

static int rec_lost(struct perf_reader *r, const uint8_t *p, uint32_t n, int samples, struct hv_err *err)
{
	uint32_t body = samples ? 8 : 16;
	struct perf_sample s;
	if (n < 8 + body || perf_parse_id_trailer(r, p, n, body, &s) < 0)
		return ++X(r)->bad_samples, 0;
	uint64_t count = pr64(r->swap, p + 8 + (samples ? 0 : 8));
	int32_t cpu = s.has_cpu ? (int32_t)s.cpu : -1;
	uint64_t to = s.has_time ? s.time : 0;
	uint64_t from = cpu >= 0 && cpu < MAX_CPUS && X(r)->last_ts[cpu] ? X(r)->last_ts[cpu] : to;
	if (to == 0) {	/* no time: perf's end-of-run totals; the window is the whole trace */
		from = X(r)->first_ts;
		to = X(r)->max_ts;
	}
	if (samples)
		X(r)->lost_samples_sum += count;
	else
		X(r)->lost_sum += count;
	X(r)->lost_records++;
	if (samples && (pr16(r->swap, p + 4) & 0x8000))
		return hv_store_add_lost(r->st, cpu, from, to, count, "perf:dropped_by_bpf", err);
	return hv_store_add_lost(r->st, cpu, from, to, count, samples ? "perf:lost_samples" : "perf:lost", err);
}

/* ---- samples ---- */

static int rec_sample(struct perf_reader *r, const uint8_t *p, uint32_t n, uint64_t off, struct hv_err *err)
{
	struct perf_sample s;
	if (perf_parse_sample(r, p, n, &s) < 0) {
		if (!s.attr)
			X(r)->no_attr++;
		else
			X(r)->bad_samples++;
		return 0;
	}
	if (!s.raw) {
		X(r)->no_raw++;
		return 0;
	}
	if (!r->have_tracing)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracepoint sample before any tracing data",
				  r->path, (unsigned long long)off);
	int32_t cpu, pid;
	perf_sample_cpu_pid(r, &s, &cpu, &pid);
	if (cpu >= 0 && cpu < MAX_CPUS)
		X(r)->last_ts[cpu] = s.time;
	if (!X(r)->first_ts || s.time < X(r)->first_ts)
		X(r)->first_ts = s.time;
	if (s.time > X(r)->max_ts)
		X(r)->max_ts = s.time;
	if (perf_order_push(r, p, n, &s) < 0)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	return perf_order_check(r, err);
}

/* ---- pipe-mode header records ---- */

static int rec_header_attr(struct perf_reader *r, const uint8_t *p, uint32_t n, uint64_t off, struct hv_err *err)
{
	if (n < 8 + 64)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: HEADER_ATTR record too short", r->path,
				  (unsigned long long)off);
	uint32_t asz = pr32(r->swap, p + 8 + 4);
	if (asz < 64 || asz > n - 8 || (n - 8 - asz) % 8)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: HEADER_ATTR attr size %u does not fit its record",
				  r->path, (unsigned long long)off, asz);
	int a = perf_add_attr(r, p + 8, asz, off + 8, err);
	if (a < 0)
		return a;
	for (uint32_t o = 8 + asz; o + 8 <= n; o += 8) {
		int rc = perf_add_id(r, pr64(r->swap, p + o), a, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int count_unknown(struct perf_reader *r, uint32_t type, struct hv_err *err)
{
	(void)err;
	X(r)->unknown[type < 255 ? type : 255]++;
	return 0;
}

int perf_record(struct perf_reader *r, const uint8_t *p, uint32_t n, uint64_t off, uint64_t avail,
		uint64_t *extra, struct hv_err *err)
{
	uint32_t type = pr32(r->swap, p);
	*extra = 0;
	switch (type) {
	case PREC_SAMPLE:
		return rec_sample(r, p, n, off, err);
	case PREC_FINISHED_ROUND:
		r->saw_round = 1;
		return perf_order_round(r, err);
	case PREC_COMM:
		return rec_comm(r, p, n, err);
	case PREC_FORK:
		return rec_fork(r, p, n, err);
	case PREC_LOST:
		return rec_lost(r, p, n, 0, err);
	case PREC_LOST_SAMPLES:
		return rec_lost(r, p, n, 1, err);
	case PREC_HEADER_ATTR:
		return rec_header_attr(r, p, n, off, err);
	case PREC_HEADER_TRACING_DATA: {
		if (n < 12)
			return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: HEADER_TRACING_DATA record too short",
					  r->path, (unsigned long long)off);
		uint32_t size = pr32(r->swap, p + 8);
		*extra = size;
		if (size > avail)
			return 0;	/* the caller reports the truncation */
		uint64_t used;
		int rc = perf_decode_tracing_data(r, p + n, size, off + n, &used, err);
		if (rc == 0 && (used + 7) / 8 * 8 != size && used != size)
			rc = perf_stat(r, "perf.tracing_data_size_mismatch", 1,
				       "pipe-mode tracing data size differs from its record's size", err);
		return rc;
	}
	case PREC_HEADER_FEATURE: {
		if (n < 16)
			return count_unknown(r, type, err);
		uint64_t feat = pr64(r->swap, p + 8);
		if (feat > 255)
			return count_unknown(r, type, err);
		return perf_feature(r, (int)feat, p + 16, n - 16, off + 16, err);
	}
	case PREC_AUXTRACE:
		if (n >= 16)
			*extra = pr64(r->swap, p + 8);
		return 0;
	case PREC_COMPRESSED:
	case PREC_COMPRESSED2:
		return perf_compressed(r, p, n, off, err);
	default:
		if ((type >= 1 && type <= 21) || (type >= 64 && type <= 83))
			return 0;	/* known, of no use here (MMAP, EXIT, build ids, ...) */
		return count_unknown(r, type, err);
	}
}

/* ---- the whole import ---- */

static int write_meta(struct perf_reader *r, struct hv_err *err)
{
	int rc = hv_store_set_meta(r->st, "source", "perf.data", err);
	if (rc == 0)
		rc = hv_store_set_meta(r->st, "format", r->pipe ? "pipe" : "file", err);
	int be = (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) != r->swap;
	if (rc == 0)
		rc = hv_store_set_meta(r->st, "byte_order", be ? "big" : "little", err);
	return rc;
}

static int write_stats(struct perf_reader *r, struct hv_err *err)
{
	struct import_extra *x = X(r);
	int rc = 0;
	/* perf names the idle task (pid 0) "swapper" without any COMM record: so do we */
	if (!task_find(r, 0))
		rc = task_set(r, 0, 0, "swapper", 0, err);
	char key[64];
	for (int t = 0; t < 256 && rc == 0; t++)
		if (x->unknown[t]) {
			snprintf(key, sizeof key, "perf.unknown_record.%d", t);
			rc = perf_stat(r, key, (int64_t)x->unknown[t], "record type not understood, skipped", err);
			r->res->skipped += x->unknown[t];
		}
	if (rc == 0 && x->no_raw)
		rc = perf_stat(r, "perf.sample_without_raw", (int64_t)x->no_raw, "samples that are not tracepoints, skipped", err);
	if (rc == 0 && x->bad_samples)
		rc = perf_stat(r, "perf.bad_record", (int64_t)x->bad_samples, "records too short for their layout, skipped", err);
	if (rc == 0 && x->no_attr)
		rc = perf_stat(r, "perf.sample_unknown_id", (int64_t)x->no_attr, "samples whose id matches no attr, skipped", err);
	if (rc == 0 && x->lost_records)
		rc = perf_stat(r, "perf.lost_records", (int64_t)x->lost_records, "LOST / LOST_SAMPLES records", err);
	if (rc == 0 && r->dec)
		rc = perf_decode_stats(r, err);
	if (rc == 0 && r->res->truncated) {
		snprintf(key, sizeof key, "%llu", (unsigned long long)r->res->truncated_at);
		rc = perf_stat(r, "truncated_at", (int64_t)r->res->truncated_at, key, err);
	}
	r->res->skipped += x->no_raw + x->bad_samples + x->no_attr;
	/* perf synthesises LOST_SAMPLES at the end of a run from each event's PERF_FORMAT_LOST
	 * count: the same samples its LOST records already reported. Count them only alone. */
	r->res->lost = x->lost_sum ? x->lost_sum : x->lost_samples_sum;
	return rc;
}

static int read_data(struct perf_reader *r, struct hv_err *err)
{
	if (r->pipe) {	/* records own the bytes after them (tracing data): cut from the mapping */
		r->win = r->map;
		r->win_len = r->size;
		r->win_off = 0;
		int rc = perf_cut_records(r, r->map + 16, r->size - 16, 16, err);
		r->win = NULL;
		return rc;
	}
	struct hv_err ferr = { 0 };
	int rc = perf_read_features(r, &ferr);
	int feat_truncated = rc == HV_E_TRUNCATED;
	if (rc < 0) {
		if (err)
			*err = ferr;
		if (!feat_truncated || !r->have_tracing) {
			if (feat_truncated) {
				r->res->truncated = 1;
				r->res->truncated_at = r->size;
			}
			return rc;	/* without formats nothing can be decoded */
		}
	}
	perf_release_map(r);	/* the data section is read by pread from here on */
	if (!r->have_tracing) {
		int s = perf_stat(r, "perf.no_tracing_data", 1, "file has no tracepoint formats: no events imported", err);
		if (s < 0)
			return s;
	}
	uint64_t end = r->data_off + r->data_size;
	if (end < r->data_off || end > r->size) {
		int e = perf_cut_file(r, r->data_off, r->size > r->data_off ? r->size - r->data_off : 0, err);
		if (e < 0)
			return e;
		r->res->truncated = 1;
		r->res->truncated_at = r->size;
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %llu: data section ends past the end of the file",
				  r->path, (unsigned long long)r->size);
	}
	rc = perf_cut_file(r, r->data_off, r->data_size, err);
	if (rc == 0 && feat_truncated) {
		r->res->truncated = 1;
		r->res->truncated_at = r->size;
		if (err)
			*err = ferr;
		return HV_E_TRUNCATED;
	}
	return rc;
}

int hv_import_perf(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		   struct hv_import_result *res, struct hv_err *err)
{
	struct hv_import_result dummy;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	struct perf_reader r;
	memset(&r, 0, sizeof r);
	r.path = path;
	r.st = st;
	r.res = res;
	r.opts = o;
	r.fd = -1;
	r.order = perf_order_new();
	r.dec = perf_decode_new();
	r.x = calloc(1, sizeof(struct import_extra));
	int rc;
	if (!r.order || !r.dec || !r.x) {
		rc = hv_err_set(err, HV_E_NOMEM, "%s: out of memory", path);
		goto out;
	}
	rc = perf_open(&r, err);
	if (rc == 0)
		rc = perf_read_header(&r, err);
	if (rc == 0)
		rc = write_meta(&r, err);
	if (rc == HV_E_TRUNCATED && !res->truncated) {
		res->truncated = 1;
		res->truncated_at = r.size;
	}
	if (rc == 0 || rc == HV_E_TRUNCATED) {
		struct hv_err derr;
		int drc = rc == 0 ? read_data(&r, err) : rc;
		if (drc == HV_E_TRUNCATED || drc == 0) {
			/* store what is complete, whatever the reason reading stopped */
			int frc = perf_order_flush_all(&r, &derr);
			if (frc == 0)
				frc = write_stats(&r, &derr);
			if (frc < 0) {
				if (err)
					*err = derr;
				drc = frc;
			}
		}
		rc = drc;
	}
	if (o && o->progress)
		fprintf(stderr, "\r\033[K");
out:
	perf_records_free(&r);
	perf_order_free(r.order);
	perf_decode_free(r.dec);
	free(r.x);
	perf_close(&r);
	return rc;
}
