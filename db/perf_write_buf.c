/*
 * hv_pbuf: the byte buffer the perf.data writer builds records and header sections in. Every
 * integer goes through here, so the choice of byte order (little-endian ppc64le or big-endian
 * ppc64 file) is made in one place.
 */
#include <stdlib.h>
#include <string.h>

#include "perf_write_int.h"

void hv_pbuf_free(struct hv_pbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

static unsigned char *reserve(struct hv_pbuf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	unsigned char *at = b->p + b->n;
	b->n += n;
	return at;
}

void hv_pbuf_bytes(struct hv_pbuf *b, const void *src, size_t n)
{
	unsigned char *at = reserve(b, n);
	if (at && n)
		memcpy(at, src, n);
}

void hv_pbuf_zeros(struct hv_pbuf *b, size_t n)
{
	unsigned char *at = reserve(b, n);
	if (at && n)
		memset(at, 0, n);
}

void hv_pbuf_put_at(struct hv_pbuf *b, size_t off, uint64_t v, unsigned size)
{
	unsigned char *p = b->p + off;
	for (unsigned i = 0; i < size; i++) {
		unsigned shift = 8 * (b->be ? size - 1 - i : i);
		p[i] = (unsigned char)(v >> shift);
	}
}

static void put_int(struct hv_pbuf *b, uint64_t v, unsigned size)
{
	size_t off = b->n;
	if (reserve(b, size))
		hv_pbuf_put_at(b, off, v, size);
}

void hv_pbuf_u8(struct hv_pbuf *b, uint8_t v)
{
	put_int(b, v, 1);
}

void hv_pbuf_u16(struct hv_pbuf *b, uint16_t v)
{
	put_int(b, v, 2);
}

void hv_pbuf_u32(struct hv_pbuf *b, uint32_t v)
{
	put_int(b, v, 4);
}

void hv_pbuf_u64(struct hv_pbuf *b, uint64_t v)
{
	put_int(b, v, 8);
}

void hv_pbuf_str(struct hv_pbuf *b, const char *s)
{
	size_t len = strlen(s) + 1;
	size_t padded = (len + 63) / 64 * 64;
	hv_pbuf_u32(b, (uint32_t)padded);
	hv_pbuf_bytes(b, s, len - 1);
	hv_pbuf_zeros(b, padded - (len - 1));
}
