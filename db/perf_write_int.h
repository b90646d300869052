/*
 * Internals of the perf.data writer (perf_write.c) shared with its helpers: a growable byte
 * buffer that stores integers in the output file's byte order, and the builder of the
 * HEADER_TRACING_DATA blob (perf_write_tracing.c).
 */
#ifndef HV_PERF_WRITE_INT_H
#define HV_PERF_WRITE_INT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes in the file's byte order. On allocation failure `failed` is set and later writes are
 * dropped, so callers check once at the end. */
struct hv_pbuf {
	unsigned char *p;
	size_t n, cap;
	int be;			/* integers big-endian */
	int failed;
};

void hv_pbuf_free(struct hv_pbuf *b);
void hv_pbuf_bytes(struct hv_pbuf *b, const void *src, size_t n);
void hv_pbuf_zeros(struct hv_pbuf *b, size_t n);
void hv_pbuf_u8(struct hv_pbuf *b, uint8_t v);
void hv_pbuf_u16(struct hv_pbuf *b, uint16_t v);
void hv_pbuf_u32(struct hv_pbuf *b, uint32_t v);
void hv_pbuf_u64(struct hv_pbuf *b, uint64_t v);
/* An unsigned integer of size 1, 2, 4 or 8 bytes at b->p + off (already reserved). */
void hv_pbuf_put_at(struct hv_pbuf *b, size_t off, uint64_t v, unsigned size);
/* perf's header string: u32 length (NUL included, rounded up to 64), then the padded text. */
void hv_pbuf_str(struct hv_pbuf *b, const char *s);

/* One task the writer knows a name for. */
struct hv_perfw_task {
	int32_t pid, tid;
	char comm[16];
};

/* Append the HEADER_TRACING_DATA blob: the events hv_events[ev[0..nev-1]] grouped by system,
 * and saved cmdlines from tasks. Integers in b's byte order; long size 8, page size 64 KiB
 * (ppc64). */
void hv_perfw_tracing_data(struct hv_pbuf *b, const int *ev, int nev,
			   const struct hv_perfw_task *tasks, int ntasks);

#endif
