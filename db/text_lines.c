/*
 * text_lines: buffered line reading with transparent zstd decompression (see text_lines.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "text_lines.h"

struct hv_lines {
	FILE *f;
	ZSTD_DStream *z;
	unsigned char *in;	/* compressed input buffer */
	ZSTD_inBuffer zin;
	char *buf;		/* decoded text: [start, end) unread */
	size_t start, end, cap;
	uint64_t offset;
	int eof;
};

#define HV_LINES_CHUNK (1 << 16)

int hv_lines_open(const char *path, struct hv_lines **out)
{
	struct hv_lines *l = calloc(1, sizeof *l);
	*out = NULL;
	if (!l)
		return -1;
	l->f = fopen(path, "rb");
	l->cap = HV_LINES_CHUNK * 2;
	l->buf = malloc(l->cap);
	if (!l->f || !l->buf) {
		hv_lines_close(l);
		return -1;
	}
	unsigned char magic[4];
	size_t n = fread(magic, 1, 4, l->f);
	if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
		l->z = ZSTD_createDStream();
		l->in = malloc(ZSTD_DStreamInSize());
		if (!l->z || !l->in) {
			hv_lines_close(l);
			errno = ENOMEM;
			return -1;
		}
		ZSTD_initDStream(l->z);
	}
	rewind(l->f);
	*out = l;
	return 0;
}

/* Append more decoded bytes to buf; 0 at the end of input, -1 on error, else >0. */
static int refill(struct hv_lines *l)
{
	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->cap - l->end < HV_LINES_CHUNK) {
		char *b = realloc(l->buf, l->cap * 2);
		if (!b)
			return -1;
		l->buf = b;
		l->cap *= 2;
	}
	if (!l->z) {
		size_t n = fread(l->buf + l->end, 1, l->cap - l->end, l->f);
		l->end += n;
		l->offset += n;
		return n ? 1 : ferror(l->f) ? -1 : 0;
	}
	for (;;) {
		if (l->zin.pos == l->zin.size) {
			size_t n = fread(l->in, 1, ZSTD_DStreamInSize(), l->f);
			if (!n)
				return ferror(l->f) ? -1 : 0;
			l->zin.src = l->in;
			l->zin.size = n;
			l->zin.pos = 0;
			l->offset += n;
		}
		ZSTD_outBuffer zout = { l->buf + l->end, l->cap - l->end, 0 };
		size_t r = ZSTD_decompressStream(l->z, &zout, &l->zin);
		if (ZSTD_isError(r)) {
			errno = EILSEQ;
			return -1;
		}
		l->end += zout.pos;
		if (zout.pos)
			return 1;
	}
}

int hv_lines_next(struct hv_lines *l, const char **line, size_t *len)
{
	size_t scanned = l->start;
	for (;;) {
		char *nl = memchr(l->buf + scanned, '\n', l->end - scanned);
		if (nl) {
			*line = l->buf + l->start;
			*len = (size_t)(nl - *line);
			*nl = 0;
			l->start = (size_t)(nl - l->buf) + 1;
			return 1;
		}
		size_t had = l->end - l->start;
		int r = l->eof ? 0 : refill(l);
		if (r < 0)
			return -1;
		if (r == 0) {
			l->eof = 1;
			if (l->end == l->start)
				return 0;
			if (l->end == l->cap) {	/* room for the terminator */
				char *b = realloc(l->buf, l->cap + 1);
				if (!b)
					return -1;
				l->buf = b;
				l->cap++;
			}
			*line = l->buf + l->start;
			*len = l->end - l->start;
			l->buf[l->end] = 0;
			l->start = l->end;
			return 1;
		}
		scanned = l->start + had;
	}
}

uint64_t hv_lines_offset(const struct hv_lines *l)
{
	return l->offset;
}

int hv_lines_compressed(const struct hv_lines *l)
{
	return l->z != NULL;
}

void hv_lines_close(struct hv_lines *l)
{
	if (!l)
		return;
	if (l->f)
		fclose(l->f);
	if (l->z)
		ZSTD_freeDStream(l->z);
	free(l->in);
	free(l->buf);
	free(l);
}
