/*
 * hv_perfw: write hvtrace events as a perf.data file that stock perf decodes (see
 * hv_perf_write.h for the interface, shared/spec/perf-data.md for the format).
 *
 * File layout, as `perf record` lays it out:
 *   header (104 bytes) | sample ids (one u64 per attr) | attrs {perf_event_attr, ids section} |
 *   data: the kernel MMAP, then COMM, SAMPLE and FINISHED_ROUND records | feature section table |
 *   feature payloads.
 * The attrs are known at open (one tracepoint attr per chosen event, config = its ftrace id),
 * so they are written first; records are streamed through a stdio buffer as they come, and
 * the features and the final header are written at close. Memory is constant in the number of
 * events (it grows only with the number of tasks named).
 *
 * Byte order: a big-endian file is what a ppc64 (BE) host's perf writes: every integer
 * big-endian, and the attr flag bitfield laid out MSB-first within each byte (C bitfields on a
 * big-endian ABI), which perf undoes by reversing the bits of each byte. RAW payloads are the
 * tracepoint records as that kernel lays them out: the file's byte order, long = 8 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_events.h"
#include "hv_perf_write.h"
#include "perf_write_int.h"

/* include/uapi/linux/perf_event.h */
enum {
	PERF_TYPE_TRACEPOINT = 2,
	PERF_RECORD_MMAP = 1,
	PERF_RECORD_COMM = 3,
	PERF_RECORD_SAMPLE = 9,
	PERF_RECORD_FINISHED_ROUND = 68,
	PERF_RECORD_MISC_KERNEL = 1,
	ATTR_SIZE = 128,		/* PERF_ATTR_SIZE_VER7, what perf 6.1 writes */
	HEADER_SIZE = 104,
};
#define SAMPLE_TYPE (0x1ull /* IP */ | 0x2ull /* TID */ | 0x4ull /* TIME */ | 0x80ull /* CPU */ | \
		     0x100ull /* PERIOD */ | 0x400ull /* RAW */ | 0x10000ull /* IDENTIFIER */)
#define PERF_MAGIC2 0x32454c4946524550ull
#define READ_FORMAT (0x4ull /* ID */ | 0x10ull /* LOST */)
/* attr flag bits: disabled (0), inherit (1), sample_id_all (18), exclude_guest (20) */
#define ATTR_FLAGS ((1ull << 0) | (1ull << 1) | (1ull << 18) | (1ull << 20))

/* Feature bits (tools/perf/util/header.h numbering). */
enum {
	FEAT_TRACING_DATA = 1,
	FEAT_HOSTNAME = 3,
	FEAT_OSRELEASE = 4,
	FEAT_VERSION = 5,
	FEAT_ARCH = 6,
	FEAT_NRCPUS = 7,
	FEAT_CPUDESC = 8,
	FEAT_CMDLINE = 11,
	FEAT_EVENT_DESC = 12,
	FEAT_SAMPLE_TIME = 21,
};
/* In ascending bit order; the private hvtrace section (HV_PERF_FEAT_HVTRACE_META, the highest
 * bit, which perf skips) comes last and only when facts were given. */
static const int features[] = { FEAT_TRACING_DATA, FEAT_HOSTNAME, FEAT_OSRELEASE, FEAT_VERSION,
				FEAT_ARCH, FEAT_NRCPUS, FEAT_CPUDESC, FEAT_CMDLINE,
				FEAT_EVENT_DESC, FEAT_SAMPLE_TIME, HV_PERF_FEAT_HVTRACE_META };
#define NFEATURES ((int)(sizeof features / sizeof features[0]))

#define ROUND_EVERY 4096	/* samples between FINISHED_ROUND records */
#define ID_BASE 1		/* sample id of attr i is ID_BASE + i */
#define WRITER_VERSION "6.1.0 (hvtrace)"

struct hv_perfw {
	FILE *f;
	char *path, *tmp;
	struct hv_perfw_opts o;
	char *hostname, *osrelease, *arch, *cpudesc;
	char **argv;
	int argc;
	char **meta;			/* key, value, ... (nmeta pairs) */
	int nmeta, mcap;
	int ev[HV_EV_COUNT];		/* attr i describes hv_events[ev[i]] */
	int nev;
	int attr_of[HV_EV_COUNT];	/* hv event -> attr index, or -1 */
	uint64_t data_off;
	uint64_t data_size;
	uint64_t nsamples, since_round;
	uint64_t first_ts, last_ts;
	int32_t max_cpu;
	struct hv_perfw_task *tasks;	/* sorted by tid */
	int ntasks, tcap;
	struct hv_pbuf rec;		/* records not yet written */
	size_t rec_start;		/* where the record being built starts in rec */
	struct hv_err err;		/* first failure */
};

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s ? s : dflt);
}

static int fail(struct hv_perfw *w, int code, const char *what)
{
	if (!w->err.code)
		hv_err_set(&w->err, code, "%s: %s%s%s", w->path, what, errno && code == HV_E_IO ? ": " : "",
			   errno && code == HV_E_IO ? strerror(errno) : "");
	return w->err.code;
}

static int put(struct hv_perfw *w, const struct hv_pbuf *b)
{
	if (w->err.code)
		return w->err.code;
	if (b->failed)
		return fail(w, HV_E_NOMEM, "out of memory building a record");
	errno = 0;
	if (b->n && fwrite(b->p, 1, b->n, w->f) != b->n)
		return fail(w, HV_E_IO, "cannot write");
	return 0;
}

/* ---- attrs ---- */

static unsigned char revbits(unsigned char c)
{
	unsigned char r = 0;
	for (int i = 0; i < 8; i++)
		if (c & (1u << i))
			r |= (unsigned char)(0x80u >> i);
	return r;
}

/* perf_event_attr for a tracepoint, 128 bytes in b's byte order. */
static void put_attr(struct hv_pbuf *b, uint16_t tp_id)
{
	size_t at = b->n;
	hv_pbuf_zeros(b, ATTR_SIZE);
	if (b->failed)
		return;
	hv_pbuf_put_at(b, at + 0, PERF_TYPE_TRACEPOINT, 4);
	hv_pbuf_put_at(b, at + 4, ATTR_SIZE, 4);
	hv_pbuf_put_at(b, at + 8, tp_id, 8);		/* config */
	hv_pbuf_put_at(b, at + 16, 1, 8);		/* sample_period */
	hv_pbuf_put_at(b, at + 24, SAMPLE_TYPE, 8);
	hv_pbuf_put_at(b, at + 32, READ_FORMAT, 8);
	for (int k = 0; k < 8; k++) {			/* the flag bitfield at offset 40 */
		unsigned char byte = (unsigned char)(ATTR_FLAGS >> (8 * k));
		b->p[at + 40 + k] = b->be ? revbits(byte) : byte;
	}
}

static int write_attrs(struct hv_perfw *w)
{
	struct hv_pbuf b = { .be = w->o.big_endian };
	uint64_t ids_off = HEADER_SIZE, attrs_off = ids_off + 8u * (unsigned)w->nev;
	hv_pbuf_zeros(&b, HEADER_SIZE);			/* rewritten at close */
	for (int i = 0; i < w->nev; i++)
		hv_pbuf_u64(&b, ID_BASE + (unsigned)i);
	for (int i = 0; i < w->nev; i++) {
		put_attr(&b, hv_events[w->ev[i]].id);
		hv_pbuf_u64(&b, ids_off + 8u * (unsigned)i);	/* ids section */
		hv_pbuf_u64(&b, 8);
	}
	w->data_off = attrs_off + (uint64_t)(ATTR_SIZE + 16) * (unsigned)w->nev;
	int rc = put(w, &b);
	hv_pbuf_free(&b);
	return rc;
}

/* ---- records ---- */

/* Records accumulate in w->rec and go to the file in blocks of about FLUSH_AT bytes. */
#define FLUSH_AT (256u << 10)

static int flush_records(struct hv_perfw *w)
{
	int rc = put(w, &w->rec);
	w->rec.n = 0;
	return rc;
}

static void rec_begin(struct hv_perfw *w, uint32_t type, uint16_t misc)
{
	w->rec_start = w->rec.n;
	hv_pbuf_u32(&w->rec, type);
	hv_pbuf_u16(&w->rec, misc);
	hv_pbuf_u16(&w->rec, 0);	/* size, set by rec_end */
}

static int rec_end(struct hv_perfw *w)
{
	if (w->rec.failed)
		return fail(w, HV_E_NOMEM, "out of memory building a record");
	size_t size = w->rec.n - w->rec_start;
	if (size > 0xffff || size % 8)
		return fail(w, HV_E_FORMAT, "record too large or misaligned");
	hv_pbuf_put_at(&w->rec, w->rec_start + 6, size, 2);
	w->data_size += size;
	return w->rec.n >= FLUSH_AT ? flush_records(w) : 0;
}

static const struct hv_perfw_task *task_find(const struct hv_perfw *w, int32_t tid)
{
	int lo = 0, hi = w->ntasks;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (w->tasks[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->ntasks && w->tasks[lo].tid == tid ? &w->tasks[lo] : NULL;
}

static int task_set(struct hv_perfw *w, int32_t pid, int32_t tid, const char *comm)
{
	struct hv_perfw_task *t = (struct hv_perfw_task *)task_find(w, tid);
	if (!t) {
		if (w->ntasks == w->tcap) {
			int cap = w->tcap ? 2 * w->tcap : 64;
			struct hv_perfw_task *v = realloc(w->tasks, sizeof *v * (size_t)cap);
			if (!v)
				return fail(w, HV_E_NOMEM, "out of memory for tasks");
			w->tasks = v;
			w->tcap = cap;
		}
		int at = 0;
		while (at < w->ntasks && w->tasks[at].tid < tid)
			at++;
		memmove(&w->tasks[at + 1], &w->tasks[at], sizeof *t * (size_t)(w->ntasks - at));
		w->ntasks++;
		t = &w->tasks[at];
		t->tid = tid;
	}
	t->pid = pid;
	memset(t->comm, 0, sizeof t->comm);
	strncpy(t->comm, comm, sizeof t->comm - 1);
	return 0;
}

/* sample_id trailer of non-sample records: TID, TIME, CPU, IDENTIFIER. */
static void sample_id(struct hv_perfw *w, int32_t pid, int32_t tid, uint64_t ts, int32_t cpu)
{
	hv_pbuf_u32(&w->rec, (uint32_t)pid);
	hv_pbuf_u32(&w->rec, (uint32_t)tid);
	hv_pbuf_u64(&w->rec, ts);
	hv_pbuf_u32(&w->rec, (uint32_t)cpu);
	hv_pbuf_u32(&w->rec, 0);
	hv_pbuf_u64(&w->rec, ID_BASE);
}

int hv_perfw_comm(struct hv_perfw *w, int32_t pid, int32_t tid, const char *comm, uint64_t ts,
		  struct hv_err *err)
{
	int rc = w->err.code ? w->err.code : task_set(w, pid, tid, comm ? comm : "");
	if (rc == 0) {
		const struct hv_perfw_task *t = task_find(w, tid);
		size_t len = strlen(t->comm) + 1;
		if (w->nsamples && ts < w->last_ts)
			ts = w->last_ts;
		rec_begin(w, PERF_RECORD_COMM, 0);
		hv_pbuf_u32(&w->rec, (uint32_t)pid);
		hv_pbuf_u32(&w->rec, (uint32_t)tid);
		hv_pbuf_bytes(&w->rec, t->comm, len);
		hv_pbuf_zeros(&w->rec, (8 - len % 8) % 8);
		sample_id(w, pid, tid, ts, 0);
		rc = rec_end(w);
	}
	if (rc < 0 && err)
		*err = w->err;
	return rc;
}

/* The kernel map perf record synthesises first ([kernel.kallsyms]_text at the ppc64 kernel
 * base, pid -1): with it, `perf report` knows the samples are kernel ones and does not warn
 * about restricted kernel maps. Sample IPs are 0 and resolve to no symbol. */
static int kernel_mmap(struct hv_perfw *w)
{
	static const char name[] = "[kernel.kallsyms]_text";
	const uint64_t base = 0xc000000000000000ull;
	rec_begin(w, PERF_RECORD_MMAP, PERF_RECORD_MISC_KERNEL);
	hv_pbuf_u32(&w->rec, UINT32_MAX);	/* pid -1 */
	hv_pbuf_u32(&w->rec, 0);
	hv_pbuf_u64(&w->rec, base);		/* start */
	hv_pbuf_u64(&w->rec, 0x4000000);	/* len */
	hv_pbuf_u64(&w->rec, base);		/* pgoff: the _text address */
	hv_pbuf_bytes(&w->rec, name, sizeof name);
	hv_pbuf_zeros(&w->rec, (8 - sizeof name % 8) % 8);
	sample_id(w, -1, 0, 0, 0);
	return rec_end(w);
}

static int finished_round(struct hv_perfw *w)
{
	rec_begin(w, PERF_RECORD_FINISHED_ROUND, 0);
	w->since_round = 0;
	return rec_end(w);
}

/* The tracepoint payload as the kernel lays it out: common header, then the fields. */
static void raw_payload(struct hv_pbuf *b, const struct hv_event_def *d, int32_t pid,
			const struct hv_value *vals)
{
	size_t at = b->n;
	hv_pbuf_zeros(b, d->size);
	if (b->failed)
		return;
	hv_pbuf_put_at(b, at + 0, d->id, 2);		/* common_type */
	hv_pbuf_put_at(b, at + 4, (uint32_t)pid, 4);	/* common_pid; flags, preempt_count 0 */
	for (unsigned k = 0; k < d->nfields; k++) {
		const struct hv_field_def *fd = &d->fields[k];
		const struct hv_value *v = &vals[k];
		if (fd->kind == HV_FK_INT) {
			hv_pbuf_put_at(b, at + fd->offset, (uint64_t)v->i, fd->size);
		} else if (v->p) {
			size_t n = v->len;
			size_t max = fd->kind == HV_FK_STR ? fd->size - 1u : fd->size;
			if (fd->kind == HV_FK_STR) {
				const char *nul = memchr(v->p, 0, n);
				if (nul)
					n = (size_t)(nul - (const char *)v->p);
			}
			memcpy(b->p + at + fd->offset, v->p, n < max ? n : max);
		}
	}
}

static int emit(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid, const struct hv_value *vals)
{
	struct hv_perfw *w = ctx;
	if (w->err.code)
		return w->err.code;
	if (id < 0 || id >= HV_EV_COUNT || w->attr_of[id] < 0) {
		char what[96];
		snprintf(what, sizeof what, "event %d has no attr in this file", id);
		return fail(w, HV_E_USAGE, what);
	}
	const struct hv_event_def *d = &hv_events[id];
	const struct hv_perfw_task *t = task_find(w, pid);
	uint32_t raw = (uint32_t)((d->size + 4u + 7u) / 8u * 8u - 4u);
	rec_begin(w, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	hv_pbuf_u64(&w->rec, ID_BASE + (unsigned)w->attr_of[id]);	/* IDENTIFIER */
	hv_pbuf_u64(&w->rec, 0);					/* IP */
	hv_pbuf_u32(&w->rec, (uint32_t)(t ? t->pid : pid));		/* TID: pid, tid */
	hv_pbuf_u32(&w->rec, (uint32_t)pid);
	hv_pbuf_u64(&w->rec, ts);					/* TIME */
	hv_pbuf_u32(&w->rec, (uint32_t)cpu);				/* CPU, reserved */
	hv_pbuf_u32(&w->rec, 0);
	hv_pbuf_u64(&w->rec, 1);					/* PERIOD */
	hv_pbuf_u32(&w->rec, raw);					/* RAW */
	raw_payload(&w->rec, d, pid, vals);
	hv_pbuf_zeros(&w->rec, raw - d->size);
	int rc = rec_end(w);
	if (rc < 0)
		return rc;
	if (!w->nsamples++)
		w->first_ts = ts;
	if (ts > w->last_ts)
		w->last_ts = ts;
	if (cpu > w->max_cpu)
		w->max_cpu = cpu;
	return ++w->since_round >= ROUND_EVERY ? finished_round(w) : 0;
}

struct hv_sink hv_perfw_sink(struct hv_perfw *w)
{
	return (struct hv_sink){ .ctx = w, .emit = emit };
}

int hv_perfw_meta(struct hv_perfw *w, const char *key, const char *value, struct hv_err *err)
{
	int rc = w->err.code;
	if (rc == 0 && w->nmeta == w->mcap) {
		int cap = w->mcap ? 2 * w->mcap : 32;
		char **v = realloc(w->meta, sizeof *v * 2u * (size_t)cap);
		if (v) {
			w->meta = v;
			w->mcap = cap;
		} else {
			rc = fail(w, HV_E_NOMEM, "out of memory for facts");
		}
	}
	if (rc == 0) {
		char *k = strdup(key ? key : ""), *v = strdup(value ? value : "");
		if (k && v) {
			w->meta[2 * w->nmeta] = k;
			w->meta[2 * w->nmeta++ + 1] = v;
		} else {
			free(k);
			free(v);
			rc = fail(w, HV_E_NOMEM, "out of memory for facts");
		}
	}
	if (rc < 0 && err)
		*err = w->err;
	return rc;
}

const struct hv_err *hv_perfw_error(const struct hv_perfw *w)
{
	return w && w->err.code ? &w->err : NULL;
}

uint64_t hv_perfw_nsamples(const struct hv_perfw *w)
{
	return w->nsamples;
}

/* ---- open ---- */

static int choose_events(struct hv_perfw *w, const struct hv_perfw_opts *o, struct hv_err *err)
{
	for (int i = 0; i < HV_EV_COUNT; i++)
		w->attr_of[i] = -1;
	int n = o->events ? o->nevents : HV_EV_COUNT;
	for (int i = 0; i < n; i++) {
		int id = o->events ? o->events[i] : i;
		if (id < 0 || id >= HV_EV_COUNT)
			return hv_err_set(err, HV_E_USAGE, "%s: no known event %d", w->path, id);
		if (w->attr_of[id] >= 0)
			continue;
		w->attr_of[id] = w->nev;
		w->ev[w->nev++] = id;
	}
	if (w->nev == 0)
		return hv_err_set(err, HV_E_USAGE, "%s: no events chosen", w->path);
	return 0;
}

static int copy_opts(struct hv_perfw *w, const struct hv_perfw_opts *o)
{
	w->o = *o;
	w->hostname = dup_or(o->hostname, "hvtrace");
	w->osrelease = dup_or(o->osrelease, o->big_endian ? "6.1.0-hvtrace-powerpc64" : "6.1.0-hvtrace-powerpc64le");
	w->arch = dup_or(o->arch, o->big_endian ? "ppc64" : "ppc64le");
	w->cpudesc = dup_or(o->cpudesc, "POWER8 (raw), altivec supported");
	w->argc = o->argv ? o->argc : 1;
	w->argv = calloc((size_t)w->argc + 1, sizeof *w->argv);
	int ok = w->hostname && w->osrelease && w->arch && w->cpudesc && w->argv;
	for (int i = 0; ok && i < w->argc; i++)
		ok = (w->argv[i] = strdup(o->argv ? o->argv[i] : "hvtrace")) != NULL;
	return ok ? 0 : -1;
}

static void free_writer(struct hv_perfw *w)
{
	if (w->f)
		fclose(w->f);
	if (w->tmp)
		unlink(w->tmp);
	for (int i = 0; w->argv && i < w->argc; i++)
		free(w->argv[i]);
	free(w->argv);
	for (int i = 0; w->meta && i < 2 * w->nmeta; i++)
		free(w->meta[i]);
	free(w->meta);
	free(w->hostname);
	free(w->osrelease);
	free(w->arch);
	free(w->cpudesc);
	free(w->tasks);
	hv_pbuf_free(&w->rec);
	free(w->path);
	free(w->tmp);
	free(w);
}

void hv_perfw_abort(struct hv_perfw *w)
{
	if (w)
		free_writer(w);
}

int hv_perfw_open(const char *path, const struct hv_perfw_opts *o, struct hv_perfw **out,
		  struct hv_err *err)
{
	static const struct hv_perfw_opts dflt = { 0 };
	*out = NULL;
	if (!o)
		o = &dflt;
	if (!path || !*path)
		return hv_err_set(err, HV_E_USAGE, "perf.data writer: no output path");
	if (!o->force && access(path, F_OK) == 0)
		return hv_err_set(err, HV_E_EXISTS, "%s: exists (use --force to replace it)", path);
	struct hv_perfw *w = calloc(1, sizeof *w);
	if (!w)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", path);
	w->rec.be = o->big_endian;
	w->max_cpu = -1;
	w->path = strdup(path);
	w->tmp = malloc(strlen(path) + 16);
	if (!w->path || !w->tmp || copy_opts(w, o) < 0) {
		free_writer(w);
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", path);
	}
	int rc = choose_events(w, o, err);
	if (rc < 0) {
		free_writer(w);
		return rc;
	}
	sprintf(w->tmp, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(w->tmp);
	if (fd < 0) {
		rc = hv_err_set(err, HV_E_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		free_writer(w);
		return rc;
	}
	if (fchmod(fd, 0644) < 0 || !(w->f = fdopen(fd, "wb"))) {
		rc = hv_err_set(err, HV_E_IO, "%s: cannot open: %s", w->tmp, strerror(errno));
		close(fd);
		free_writer(w);
		return rc;
	}
	setvbuf(w->f, NULL, _IOFBF, 1 << 20);
	if ((rc = write_attrs(w)) < 0 || (rc = kernel_mmap(w)) < 0) {
		if (err)
			*err = w->err;
		free_writer(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* ---- close: features and header ---- */

static void feature_payload(struct hv_perfw *w, int feat, struct hv_pbuf *b)
{
	char name[128];
	switch (feat) {
	case FEAT_TRACING_DATA:
		hv_perfw_tracing_data(b, w->ev, w->nev, w->tasks, w->ntasks);
		break;
	case FEAT_HOSTNAME:
		hv_pbuf_str(b, w->hostname);
		break;
	case FEAT_OSRELEASE:
		hv_pbuf_str(b, w->osrelease);
		break;
	case FEAT_VERSION:
		hv_pbuf_str(b, WRITER_VERSION);
		break;
	case FEAT_ARCH:
		hv_pbuf_str(b, w->arch);
		break;
	case FEAT_NRCPUS: {
		uint32_t n = (uint32_t)(w->o.ncpus > 0 ? w->o.ncpus : w->max_cpu + 1 > 0 ? w->max_cpu + 1 : 1);
		hv_pbuf_u32(b, n);	/* available */
		hv_pbuf_u32(b, n);	/* online */
		break;
	}
	case FEAT_CPUDESC:
		hv_pbuf_str(b, w->cpudesc);
		break;
	case FEAT_CMDLINE:
		hv_pbuf_u32(b, (uint32_t)w->argc);
		for (int i = 0; i < w->argc; i++)
			hv_pbuf_str(b, w->argv[i]);
		break;
	case FEAT_EVENT_DESC:
		hv_pbuf_u32(b, (uint32_t)w->nev);
		hv_pbuf_u32(b, ATTR_SIZE);
		for (int i = 0; i < w->nev; i++) {
			const struct hv_event_def *d = &hv_events[w->ev[i]];
			put_attr(b, d->id);
			hv_pbuf_u32(b, 1);
			snprintf(name, sizeof name, "%s:%s", d->system, d->name);
			hv_pbuf_str(b, name);
			hv_pbuf_u64(b, ID_BASE + (unsigned)i);
		}
		break;
	case FEAT_SAMPLE_TIME:
		hv_pbuf_u64(b, w->first_ts);
		hv_pbuf_u64(b, w->last_ts);
		break;
	case HV_PERF_FEAT_HVTRACE_META:	/* as CMDLINE: u32 count, strings */
		hv_pbuf_u32(b, 1u + 2u * (unsigned)w->nmeta);
		hv_pbuf_str(b, HV_PERF_HVTRACE_META_MAGIC);
		for (int i = 0; i < 2 * w->nmeta; i++)
			hv_pbuf_str(b, w->meta[i]);
		break;
	}
}

static int feature_on(const struct hv_perfw *w, int feat)
{
	return feat != HV_PERF_FEAT_HVTRACE_META || w->nmeta > 0;
}

/* Feature table at data end, then the payloads. */
static int write_features(struct hv_perfw *w)
{
	struct hv_pbuf tab = { .be = w->o.big_endian }, all = { .be = w->o.big_endian };
	unsigned nfeat = 0;
	for (int i = 0; i < NFEATURES; i++)
		nfeat += (unsigned)feature_on(w, features[i]);
	uint64_t off = w->data_off + w->data_size + 16u * nfeat;
	for (int i = 0; i < NFEATURES; i++) {
		if (!feature_on(w, features[i]))
			continue;
		size_t before = all.n;
		feature_payload(w, features[i], &all);
		hv_pbuf_u64(&tab, off + before);
		hv_pbuf_u64(&tab, all.n - before);
	}
	int rc = put(w, &tab);
	if (rc == 0)
		rc = put(w, &all);
	hv_pbuf_free(&tab);
	hv_pbuf_free(&all);
	return rc;
}

static int write_header(struct hv_perfw *w)
{
	struct hv_pbuf b = { .be = w->o.big_endian };
	uint64_t bits[4] = { 0 };
	for (int i = 0; i < NFEATURES; i++)
		if (feature_on(w, features[i]))
			bits[features[i] / 64] |= 1ull << (features[i] % 64);
	hv_pbuf_u64(&b, PERF_MAGIC2);	/* a u64: "PERFILE2" little-endian, "2ELIFREP" big */
	hv_pbuf_u64(&b, HEADER_SIZE);
	hv_pbuf_u64(&b, ATTR_SIZE + 16);
	hv_pbuf_u64(&b, HEADER_SIZE + 8u * (unsigned)w->nev);	/* attrs */
	hv_pbuf_u64(&b, (uint64_t)(ATTR_SIZE + 16) * (unsigned)w->nev);
	hv_pbuf_u64(&b, w->data_off);				/* data */
	hv_pbuf_u64(&b, w->data_size);
	hv_pbuf_u64(&b, 0);					/* event_types */
	hv_pbuf_u64(&b, 0);
	for (int i = 0; i < 4; i++)				/* features 0..255 */
		hv_pbuf_u64(&b, bits[i]);
	int rc = 0;
	errno = 0;
	if (fseek(w->f, 0, SEEK_SET) != 0)
		rc = fail(w, HV_E_IO, "cannot seek");
	if (rc == 0)
		rc = put(w, &b);
	hv_pbuf_free(&b);
	return rc;
}

int hv_perfw_close(struct hv_perfw *w, struct hv_err *err)
{
	if (!w)
		return hv_err_set(err, HV_E_USAGE, "perf.data writer: nothing to close");
	int rc = w->err.code;
	if (rc == 0 && (w->since_round || w->nsamples == 0))
		rc = finished_round(w);
	if (rc == 0)
		rc = flush_records(w);
	if (rc == 0)
		rc = write_features(w);
	if (rc == 0)
		rc = write_header(w);
	errno = 0;
	if (rc == 0 && fflush(w->f) != 0)
		rc = fail(w, HV_E_IO, "cannot write");
	if (rc == 0) {
		FILE *f = w->f;
		w->f = NULL;
		if (fclose(f) != 0)
			rc = fail(w, HV_E_IO, "cannot write");
	}
	if (rc == 0 && rename(w->tmp, w->path) != 0)
		rc = fail(w, HV_E_IO, "cannot rename the finished file into place");
	if (rc == 0) {
		free(w->tmp);
		w->tmp = NULL;
	}
	if (rc < 0 && err)
		*err = w->err;
	free_writer(w);
	return rc;
}
