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

/* Bytes a record needs in memory after itself (pipe-mode tracing data; AUXTRACE payloads are
 * only skipped). */
static uint64_t extra_in_memory(const struct perf_reader *r, const uint8_t *p, uint16_t size)
{
	return pr32(r->swap, p) == PREC_HEADER_TRACING_DATA && size >= 12 ? pr32(r->swap, p + 8) : 0;
}

/* Cut the records in [p, p + n), which starts at file offset off, with `left` bytes of input
 * from p on (left >= n). A record that runs past n but not past left stops the cut (the
 * caller reads on from *used); past left it is truncation. *used may exceed n by a payload
 * that was skipped. */
static int cut(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off, uint64_t left, uint64_t *used,
	       struct hv_err *err)
{
	uint64_t pos = 0;
	int more = n < left;	/* the input goes on after p + n */
	*used = 0;
	while (pos < n) {
		if (n - pos < 8) {
			if (more)
				break;
			return truncated(r, off + pos, "file ends inside a record header", err);
		}
		uint16_t size = pr16(r->swap, p + pos + 6);
		if (size < 8)
			return truncated(r, off + pos, "corrupt record header (size < 8); records from here on were not read", err);
		if (size > left - pos) {
			char why[160];
			snprintf(why, sizeof why, "record of %u bytes runs past the end of the data (%llu bytes left)",
				 size, (unsigned long long)(left - pos));
			return truncated(r, off + pos, why, err);
		}
		uint64_t mem = size + extra_in_memory(r, p + pos, size);
		if (more && mem > n - pos && mem <= left - pos)
			break;	/* read on: the record (and what it owns) is not all here */
		uint64_t extra = 0;
		int rc = perf_record(r, p + pos, size, off + pos, n - pos - size, &extra, err);
		if (rc < 0)
			return rc;
		if (extra > left - pos - size)
			return truncated(r, off + pos, "the bytes that follow this record (tracing data or AUX payload) are cut short", err);
		pos += size + extra;
		*used = pos;
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

int perf_cut_records(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off, struct hv_err *err)
{
	uint64_t used;
	return cut(r, p, n, off, n, &used, err);
}

/* ---- file-mode data sections: read through a window, not the mapping ---- */

/* Fill buf (cap bytes) with the file's bytes from at, up to end. Returns the count or <0. */
static int64_t read_window(struct perf_reader *r, uint8_t *buf, size_t cap, uint64_t at, uint64_t end,
			   struct hv_err *err)
{
	size_t len = 0, want = end - at < cap ? (size_t)(end - at) : cap;
	while (len < want) {
		ssize_t got = pread(r->fd, buf + len, want - len, (off_t)(at + len));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return hv_err_set(err, HV_E_IO, "%s: offset %llu: cannot read: %s", r->path,
					  (unsigned long long)(at + len), got < 0 ? strerror(errno) : "file shrank");
		len += (size_t)got;
	}
	return (int64_t)len;
}

int perf_cut_file(struct perf_reader *r, uint64_t off, uint64_t n, struct hv_err *err)
{
	size_t cap = PERF_WINDOW;
	uint8_t *buf = malloc(cap);
	uint64_t at = off, end = off + n, used = 0;
	int rc = buf ? 0 : hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	while (rc == 0 && at < end) {
		int64_t len = read_window(r, buf, cap, at, end, err);
		if (len < 0) {
			rc = (int)len;
			break;
		}
		r->win = buf;	/* samples cut from here are queued by file offset */
		r->win_len = (uint64_t)len;
		r->win_off = at;
		rc = cut(r, buf, (uint64_t)len, at, end - at, &used, err);
		if (rc == 0 && used == 0) {	/* one record owns more than the window: widen it */
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb)
				rc = hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
			else
				buf = nb, cap *= 2;
		}
		at += used;
	}
	r->win = NULL;
	r->win_len = 0;
	free(buf);
	return rc;
}
