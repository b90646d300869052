/*
 * perf.data importer, stage 2: cutting bytes into records.
 *
 * Every record starts with perf_event_header {u32 type; u16 misc; u16 size}, size including
 * the header. A record that does not fit in what is left ends the input: the import keeps
 * what came before and reports HV_E_TRUNCATED with the record's file offset; a size below 8
 * is corruption and is handled the same way. Some records own bytes after themselves (the
 * pipe-mode tracing data blob, AUXTRACE payloads): perf_record() says how many.
 *
 * A file-mode data section is read with pread through a window of PERF_WINDOW bytes
 * (perf_cut_file); pipe-mode files, whose records own the bytes after them, are cut from the
 * mapping, let go behind the reading position every PERF_RELEASE_STEP bytes.
 *
 * COMPRESSED (81) and COMPRESSED2 (83) records carry zstd frames whose output is an ordinary
 * record stream; one decompression context is kept per file and a record cut across two
 * chunks waits in r->zbuf for the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "perf_int.h"

static int truncated(struct perf_reader *r, uint64_t off, const char *why, struct hv_err *err)
{
	if (!r->res->truncated || off < r->res->truncated_at) {
		r->res->truncated = 1;
		r->res->truncated_at = off;
	}
	return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %llu: %s", r->path, (unsigned long long)off, why);
}

void perf_records_free(struct perf_reader *r)
{
	if (r->zctx)
		ZSTD_freeDCtx(r->zctx);
	r->zctx = NULL;
	free(r->zbuf);
	r->zbuf = NULL;
}

/* Cut the complete records at the start of r->zbuf; keep the remainder. */
static int cut_decompressed(struct perf_reader *r, uint64_t chunk_off, struct hv_err *err)
{
	size_t pos = 0;
	while (r->zlen - pos >= 8) {
		const uint8_t *p = r->zbuf + pos;
		uint32_t type = pr32(r->swap, p);
		uint16_t size = pr16(r->swap, p + 6);
		if (size < 8)
			return truncated(r, chunk_off, "corrupt record (size < 8) inside a compressed chunk", err);
		if (size > r->zlen - pos)
			break;
		if (type == PREC_COMPRESSED || type == PREC_COMPRESSED2)
			return truncated(r, chunk_off, "compressed record inside a compressed chunk", err);
		uint64_t extra = 0;
		int rc = perf_record(r, p, size, chunk_off, r->zlen - pos - size, &extra, err);
		if (rc < 0)
			return rc;
		if (extra > r->zlen - pos - size)
			return truncated(r, chunk_off, "a record inside a compressed chunk claims bytes beyond it", err);
		pos += size + extra;
	}
	memmove(r->zbuf, r->zbuf + pos, r->zlen - pos);
	r->zlen -= pos;
	return 0;
}

static int decompress(struct perf_reader *r, const uint8_t *src, size_t n, uint64_t off, struct hv_err *err)
{
	if (!r->zctx && !(r->zctx = ZSTD_createDCtx()))
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	ZSTD_inBuffer in = { src, n, 0 };
	for (;;) {
		if (r->zcap - r->zlen < 65536) {
			size_t cap = r->zcap ? r->zcap * 2 : 1 << 20;
			if (cap > ((size_t)1 << 31))
				return truncated(r, off, "compressed data expands without forming records", err);
			uint8_t *q = realloc(r->zbuf, cap);
			if (!q)
				return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
			r->zbuf = q;
			r->zcap = cap;
		}
		ZSTD_outBuffer out = { r->zbuf + r->zlen, r->zcap - r->zlen, 0 };
		size_t rc = ZSTD_decompressStream(r->zctx, &out, &in);
		if (ZSTD_isError(rc)) {
			char why[160];
			snprintf(why, sizeof why, "bad zstd data in a compressed record: %s", ZSTD_getErrorName(rc));
			return truncated(r, off, why, err);
		}
		r->zlen += out.pos;
		int e = cut_decompressed(r, off, err);
		if (e < 0)
			return e;
		if (in.pos == in.size && out.pos < out.size)
			break;	/* all input used and no output pending */
	}
	return 0;
}

/* Payload of a COMPRESSED/COMPRESSED2 record. */
int perf_compressed(struct perf_reader *r, const uint8_t *p, uint32_t n, uint64_t off, struct hv_err *err)
{
	uint32_t type = pr32(r->swap, p);
	const uint8_t *src = p + 8;
	uint64_t len = n - 8;
	if (type == PREC_COMPRESSED2) {
		if (n < 16)
			return truncated(r, off, "COMPRESSED2 record too short", err);
		uint64_t ds = pr64(r->swap, p + 8);
		src = p + 16;
		if (ds > n - 16u)
			return truncated(r, off, "COMPRESSED2 data_size larger than its record", err);
		len = ds;
	}
	return decompress(r, src, len, off, err);
}

/* Let go of the mapped input behind pos, so the process's memory does not grow with the file.
 * The pages stay in the page cache: samples still queued for ordering (perf_order.c) refer to
 * them and are read again from there when merged. */
static void release_input(struct perf_reader *r, uint64_t file_pos)
{
	if (file_pos < r->released + PERF_RELEASE_STEP)
		return;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t upto = file_pos / page * page;
	madvise((void *)(r->map + r->released), upto - r->released, MADV_DONTNEED);
	r->released = upto;
}

int perf_cut_records(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off, struct hv_err *err)
{
	uint64_t pos = 0;
	while (pos < n) {
		if (n - pos < 8)
			return truncated(r, off + pos, "file ends inside a record header", err);
		uint16_t size = pr16(r->swap, p + pos + 6);
		if (size < 8)
			return truncated(r, off + pos, "corrupt record header (size < 8); records from here on were not read", err);
		if (size > n - pos) {
			char why[160];
			snprintf(why, sizeof why, "record of %u bytes runs past the end of the data (%llu bytes left)",
				 size, (unsigned long long)(n - pos));
			return truncated(r, off + pos, why, err);
		}
		uint64_t extra = 0;
		int rc = perf_record(r, p + pos, size, off + pos, n - pos - size, &extra, err);
		if (rc < 0)
			return rc;
		if (extra > n - pos - size)
			return truncated(r, off + pos, "the bytes that follow this record (tracing data or AUX payload) are cut short", err);
		pos += size + extra;
		r->res->records++;
		if (r->map && p == r->map + off)	/* cutting the mapped file itself */
			release_input(r, off + pos);
		if (r->opts && r->opts->progress && off + pos >= r->progress_next) {
			fprintf(stderr, "\rimporting %s: %3.0f%% (%llu events)", r->path,
				100.0 * (double)(off + pos) / (double)r->size, (unsigned long long)r->res->events);
			r->progress_next = off + pos + (r->size / 100 + 1);
		}
	}
	return 0;
}

/* ---- file-mode data sections: read through a window, not the mapping ---- */

struct window {
	uint8_t *buf;
	size_t cap, len;	/* buf holds the file's bytes [off, off + len) */
	uint64_t off, end;	/* end: of the data being cut */
};

/* Make the window start at file offset at and hold at least need bytes of it (fewer only at
 * the end of the data). */
static int window_at(struct perf_reader *r, struct window *w, uint64_t at, size_t need, struct hv_err *err)
{
	if (at >= w->off && at - w->off <= w->len) {	/* keep what is already read */
		size_t skip = (size_t)(at - w->off);
		memmove(w->buf, w->buf + skip, w->len - skip);
		w->len -= skip;
	} else {
		w->len = 0;
	}
	w->off = at;
	if (need > w->cap) {
		uint8_t *nb = realloc(w->buf, need);
		if (!nb)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
		w->buf = nb;
		w->cap = need;
	}
	while (w->len < w->cap && w->off + w->len < w->end) {
		uint64_t want = w->cap - w->len;
		if (want > w->end - w->off - w->len)
			want = w->end - w->off - w->len;
		ssize_t got = pread(r->fd, w->buf + w->len, (size_t)want, (off_t)(w->off + w->len));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return hv_err_set(err, HV_E_IO, "%s: offset %llu: cannot read: %s", r->path,
					  (unsigned long long)(w->off + w->len), got < 0 ? strerror(errno) : "file shrank");
		w->len += (size_t)got;
	}
	r->win = w->buf;
	r->win_len = w->len;
	r->win_off = w->off;
	return 0;
}

/* Bytes a record needs in memory after itself (pipe-mode tracing data; AUXTRACE payloads are
 * only skipped). */
static uint64_t extra_in_memory(const struct perf_reader *r, const uint8_t *p, uint16_t size)
{
	return pr32(r->swap, p) == PREC_HEADER_TRACING_DATA && size >= 12 ? pr32(r->swap, p + 8) : 0;
}

static int cut_window(struct perf_reader *r, struct window *w, struct hv_err *err)
{
	uint64_t at = w->off;
	int rc = 0;
	while (rc == 0 && at < w->end) {
		if ((rc = window_at(r, w, at, w->cap, err)) < 0)
			break;
		uint64_t left = w->end - at;
		if (left < 8)
			return truncated(r, at, "file ends inside a record header", err);
		uint16_t size = pr16(r->swap, w->buf + 6);
		if (size < 8)
			return truncated(r, at, "corrupt record header (size < 8); records from here on were not read", err);
		if (size > left) {
			char why[160];
			snprintf(why, sizeof why, "record of %u bytes runs past the end of the data (%llu bytes left)",
				 size, (unsigned long long)left);
			return truncated(r, at, why, err);
		}
		uint64_t mem = size + extra_in_memory(r, w->buf, size);
		if (mem > w->len && mem <= left && (rc = window_at(r, w, at, (size_t)mem, err)) < 0)
			break;
		/* the records wholly in the window */
		size_t pos = 0;
		while (pos + 8 <= w->len) {
			const uint8_t *p = w->buf + pos;
			size = pr16(r->swap, p + 6);
			if (size < 8 || size > w->len - pos)
				break;	/* corrupt (reported above, at the window's start) or cut: read on */
			mem = size + extra_in_memory(r, p, size);
			if (mem > w->len - pos && pos)
				break;
			uint64_t extra = 0;
			left = w->end - (w->off + pos);
			rc = perf_record(r, p, size, w->off + pos, left - size < w->len - pos - size ? left - size : w->len - pos - size,
					 &extra, err);
			if (rc < 0)
				break;
			if (extra > left - size) {
				rc = truncated(r, w->off + pos,
					       "the bytes that follow this record (tracing data or AUX payload) are cut short", err);
				break;
			}
			r->res->records++;
			pos += size;
			if (extra) {	/* skipped (or decoded from the window above) */
				at = w->off + pos + extra;
				pos = SIZE_MAX;
				break;
			}
			if (r->opts && r->opts->progress && w->off + pos >= r->progress_next) {
				fprintf(stderr, "\rimporting %s: %3.0f%% (%llu events)", r->path,
					100.0 * (double)(w->off + pos) / (double)r->size, (unsigned long long)r->res->events);
				r->progress_next = w->off + pos + (r->size / 100 + 1);
			}
		}
		if (pos != SIZE_MAX)
			at = w->off + pos;
	}
	return rc;
}

int perf_cut_file(struct perf_reader *r, uint64_t off, uint64_t n, struct hv_err *err)
{
	struct window w = { .off = off, .end = off + n };
	if (!(w.buf = malloc(PERF_WINDOW)))
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	w.cap = PERF_WINDOW;
	int rc = cut_window(r, &w, err);
	r->win = NULL;
	r->win_len = 0;
	free(w.buf);
	return rc;
}
