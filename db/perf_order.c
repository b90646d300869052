/*
 * perf.data importer, stage 4: putting samples in time order within a bounded window.
 *
 * perf writes records per ring-buffer drain, so they are not globally ordered. It marks each
 * full pass over the buffers with FINISHED_ROUND; after round N ends, nothing still to come
 * can be older than the newest timestamp seen up to round N-1 (perf's ordered_events rule).
 * So at each round marker every queued sample not newer than that bound is decoded and
 * stored, oldest first (equal times in arrival order); the rest (about one round) stays.
 *
 * The queue holds runs, not samples: a run is a stretch of consecutive sample records whose
 * times do not decrease (one ring-buffer drain, typically), kept as a byte range of the input
 * file with a cursor. A flush is a k-way merge of the runs' cursors through a heap keyed by
 * (time, run), which is the stable sort of the samples by time. The merge reads each run's
 * records with pread at its cursor into a slot of RUN_SLOT bytes, held from its first read to
 * its end, not through a mapping: a fault on a mapping maps more than the page touched
 * (fault-around, large page-cache folios), so merging through one kept pages of every run
 * resident and the peak followed the largest rounds of the recording (import peak RSS 34 MB
 * for 20 M events against 30-31 MB for 5 M). The slots are RUN_SLOTS slices of one buffer,
 * written when made so that all of it is resident from the start: buffers allocated and freed
 * run by run (at sizes that varied with each flush's number of runs) had left the heap's
 * high-water mark following the recording's length (some tens of KB). A flush on a 2-CPU
 * machine merges up to 7 runs, or about 100 under load; a run beyond RUN_SLOTS (many CPUs)
 * reads through a small buffer of its own, and a record longer than its run's buffer is read
 * whole into one of its size. Records that are not in the file (the output of COMPRESSED
 * records) are copied whole into an arena, compacted at each flush.
 * Files without round markers (or with huge rounds) are flushed oldest-half first once the
 * queue passes a limit, counted in stats as perf.order_forced_flush.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf_int.h"

#define ORDER_MAX_ITEMS (1u << 20)
#define ORDER_MAX_BYTES (256u << 20)
#define RUN_SLOT (16u << 10)	/* a run's read size (a longer record is read whole) */
#define RUN_SLOTS 32
#define RUN_SMALL 1024u	/* read size of a run beyond RUN_SLOTS */

struct order_run {
	uint64_t cur, end;	/* next record and end of the run, offsets in the file or arena */
	uint64_t last_ts;	/* time of the run's last record (for extending it) */
	struct perf_sample head;	/* the record at cur, parsed (valid while merging) */
	uint32_t head_size;	/* its size in bytes */
	int in_arena;
	uint8_t *buf;		/* file runs, while merging: input bytes [boff, boff + blen) */
	uint64_t boff;
	uint32_t blen, bcap;
	int slot;		/* buf is this slot of the slab; -1: its own, or none */
};

struct perf_order {
	struct order_run *runs;
	size_t nruns, runs_cap;
	size_t *heap;
	size_t heap_cap;
	uint8_t *arena;
	size_t alen, acap;
	size_t nit;		/* samples queued */
	uint64_t bytes;		/* their payload bytes */
	uint8_t *slab;		/* RUN_SLOTS slots of RUN_SLOT bytes */
	int free_slot[RUN_SLOTS];	/* a stack of the slots no run holds */
	int nfree_slots;
	uint64_t round_max, prev_round_max, last_emitted;
	int have_prev, have_emitted;
	uint64_t forced, went_back;
};

struct perf_order *perf_order_new(void)
{
	return calloc(1, sizeof(struct perf_order));
}

void perf_order_free(struct perf_order *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nruns; i++)
		if (o->runs[i].slot < 0)
			free(o->runs[i].buf);
	free(o->runs);
	free(o->slab);
	free(o->heap);
	free(o->arena);
	free(o);
}

size_t perf_order_pending(const struct perf_order *o)
{
	return o->nit;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static void slot_put(struct perf_order *o, struct order_run *u)
{
	o->free_slot[o->nfree_slots++] = u->slot;
	u->slot = -1;
}

static void run_release(struct perf_order *o, struct order_run *u)
{
	if (u->slot >= 0)
		slot_put(o, u);
	else
		free(u->buf);
	u->buf = NULL;
	u->bcap = u->blen = 0;
	u->slot = -1;
}

/* A buffer for the run's first read: a free slot (the slab is made, and written, at the first
 * need), or a small one of its own: a round with many runs (one per CPU's buffer on a big
 * host; 100 at once were seen here under load) costs RUN_SMALL per run beyond RUN_SLOTS, read
 * a record or a few at a time, not a slot each. */
static int run_buffer(struct perf_order *o, struct order_run *u)
{
	if (!o->slab && (o->slab = malloc((size_t)RUN_SLOT * RUN_SLOTS)) != NULL) {
		memset(o->slab, 0, (size_t)RUN_SLOT * RUN_SLOTS);
		for (int i = RUN_SLOTS; i-- > 0;)
			o->free_slot[o->nfree_slots++] = i;
	}
	if (o->nfree_slots) {
		u->slot = o->free_slot[--o->nfree_slots];
		u->buf = o->slab + (size_t)u->slot * RUN_SLOT;
		u->bcap = RUN_SLOT;
	} else if ((u->buf = malloc(RUN_SMALL)) != NULL) {
		u->bcap = RUN_SMALL;
	} else {
		return -1;
	}
	return 0;
}

/* Read want bytes of the run at its cursor into its buffer. */
static int run_fill(struct perf_reader *r, struct order_run *u, uint64_t want)
{
	struct perf_order *o = r->order;
	if (want > u->bcap) {	/* a record longer than the buffer: one of its own */
		uint8_t *nb = realloc(u->slot < 0 ? u->buf : NULL, (size_t)want);
		if (!nb)
			return -1;
		if (u->slot >= 0)
			slot_put(o, u);
		u->buf = nb;
		u->bcap = (uint32_t)want;
	}
	ssize_t got;
	do
		got = pread(r->fd, u->buf, (size_t)want, (off_t)u->cur);
	while (got < 0 && errno == EINTR);
	u->boff = u->cur;
	u->blen = got > 0 ? (uint32_t)got : 0;
	return (uint64_t)got == want ? 0 : -1;
}

/* The record at u->cur: in the arena, or read from the file into the run's buffer (RUN_SLOT
 * bytes at a time, RUN_SMALL without a slot; or the run's rest if shorter, or the record if
 * longer). NULL if the file cannot be read there (it was read once when queued, so only an
 * I/O error). */
static const uint8_t *run_record(struct perf_reader *r, struct order_run *u)
{
	if (u->in_arena)
		return r->order->arena + u->cur;
	if (u->buf && u->cur >= u->boff && u->cur + 8 <= u->boff + u->blen) {
		const uint8_t *p = u->buf + (u->cur - u->boff);
		if (u->cur + pr16(r->swap, p + 6) <= u->boff + u->blen)
			return p;
	}
	if (!u->buf && run_buffer(r->order, u) < 0)
		return NULL;
	uint64_t left = u->end - u->cur, step = u->slot >= 0 ? RUN_SLOT : RUN_SMALL;
	if (left < 8 || run_fill(r, u, left < step ? left : step) < 0)
		return NULL;
	uint16_t size = pr16(r->swap, u->buf + 6);
	if (size > u->blen && (size > left || run_fill(r, u, size) < 0))
		return NULL;
	return u->buf;
}

/* Parse the record at u->cur into u->head (it parsed when it was queued, so it parses now). */
static int run_parse_head(struct perf_reader *r, struct order_run *u)
{
	const uint8_t *p = run_record(r, u);
	if (!p)
		return -1;
	u->head_size = pr16(r->swap, p + 6);
	perf_parse_sample(r, p, u->head_size, &u->head);
	return 0;
}

static int read_failed(struct perf_reader *r, const struct order_run *u, struct hv_err *err)
{
	return hv_err_set(err, HV_E_IO, "%s: offset %llu: cannot read a queued record again: %s", r->path,
			  (unsigned long long)u->cur, errno ? strerror(errno) : "short read");
}

int perf_order_push(struct perf_reader *r, const uint8_t *p, uint32_t n, const struct perf_sample *s)
{
	struct perf_order *o = r->order;
	int in_arena = !(r->win && p >= r->win && p - r->win <= (ptrdiff_t)(r->win_len - n));
	uint64_t off;
	if (in_arena) {	/* (heads are parsed when a merge starts: the arena may move until then) */
		if (grow((void **)&o->arena, &o->acap, o->alen + n, 1) < 0)
			return HV_E_NOMEM;
		off = o->alen;
		memcpy(o->arena + off, p, n);
		o->alen += n;
	} else {
		off = r->win_off + (uint64_t)(p - r->win);
	}
	struct order_run *last = o->nruns ? &o->runs[o->nruns - 1] : NULL;
	if (last && last->in_arena == in_arena && last->end == off && s->time >= last->last_ts) {
		last->end += n;
	} else {
		if (grow((void **)&o->runs, &o->runs_cap, o->nruns + 1, sizeof *o->runs) < 0)
			return HV_E_NOMEM;
		last = &o->runs[o->nruns++];
		memset(last, 0, sizeof *last);
		last->cur = off;
		last->end = off + n;
		last->in_arena = in_arena;
		last->slot = -1;
	}
	last->last_ts = s->time;
	o->nit++;
	o->bytes += s->raw_size;
	if (s->time > o->round_max)
		o->round_max = s->time;
	return 0;
}

/* ---- the merge heap: run indexes ordered by (head time, index) ---- */

static int heap_less(const struct perf_order *o, size_t a, size_t b)
{
	uint64_t ta = o->runs[a].head.time, tb = o->runs[b].head.time;
	return ta < tb || (ta == tb && a < b);
}

static void heap_down(struct perf_order *o, size_t n, size_t i)
{
	size_t *h = o->heap;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && heap_less(o, h[l], h[m]))
			m = l;
		if (l + 1 < n && heap_less(o, h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		size_t t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Drop the runs merged to their end and the arena bytes behind the remaining cursors. */
static void compact(struct perf_reader *r)
{
	struct perf_order *o = r->order;
	size_t w = 0, pos = 0;
	for (size_t i = 0; i < o->nruns; i++) {
		struct order_run u = o->runs[i];
		if (u.cur >= u.end) {
			run_release(o, &u);
			continue;
		}
		if (u.in_arena) {	/* moves down, in order: memmove is safe */
			size_t len = (size_t)(u.end - u.cur);
			memmove(o->arena + pos, o->arena + u.cur, len);
			u.cur = pos;
			u.end = pos + len;
			pos += len;
		}
		o->runs[w++] = u;
	}
	o->nruns = w;
	o->alen = pos;
}

static int emit_head(struct perf_reader *r, struct order_run *u, struct hv_err *err)
{
	struct perf_order *o = r->order;
	const struct perf_sample *s = &u->head;
	if (o->have_emitted && s->time < o->last_emitted)
		o->went_back++;
	o->last_emitted = s->time;
	o->have_emitted = 1;
	int32_t cpu, pid;
	perf_sample_cpu_pid(r, s, &cpu, &pid);
	o->nit--;
	o->bytes -= s->raw_size;
	return perf_decode_emit(r, s->time, cpu, pid, s->raw, s->raw_size, err);
}

/* Merge the runs: emit up to max_emit samples in (time, arrival) order, all with time <= bound
 * if use_bound; keep the rest. */
static int emit_upto(struct perf_reader *r, uint64_t bound, int use_bound, size_t max_emit, struct hv_err *err)
{
	struct perf_order *o = r->order;
	if (grow((void **)&o->heap, &o->heap_cap, o->nruns, sizeof *o->heap) < 0)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	size_t n = o->nruns, k = 0;
	for (size_t i = 0; i < n; i++) {
		o->heap[i] = i;
		if (run_parse_head(r, &o->runs[i]) < 0)	/* heads point into buffers, not the queue */
			return read_failed(r, &o->runs[i], err);
	}
	for (size_t i = n / 2; i-- > 0;)
		heap_down(o, n, i);
	int rc = 0;
	while (n && k < max_emit) {
		struct order_run *u = &o->runs[o->heap[0]];
		if (use_bound && u->head.time > bound)
			break;
		uint32_t size = u->head_size;
		if ((rc = emit_head(r, u, err)) < 0)
			break;
		k++;
		u->cur += size;
		if (u->cur < u->end) {
			if (run_parse_head(r, u) < 0) {
				rc = read_failed(r, u, err);
				break;
			}
		} else {
			run_release(o, u);
			o->heap[0] = o->heap[--n];
		}
		heap_down(o, n, 0);
	}
	compact(r);
	return rc;
}

static int write_stats(struct perf_reader *r, struct hv_err *err)
{
	struct perf_order *o = r->order;
	int rc = 0;
	if (o->went_back)
		rc = perf_stat(r, "perf.time_went_back", (int64_t)o->went_back,
			       "samples older than one already stored (outside the ordering window)", err);
	o->went_back = 0;
	if (rc == 0 && o->forced)
		rc = perf_stat(r, "perf.order_forced_flush", (int64_t)o->forced,
			       "ordering queue full without FINISHED_ROUND: oldest half flushed", err);
	o->forced = 0;
	return rc;
}

static int over_limit(const struct perf_order *o)
{
	return o->nit > ORDER_MAX_ITEMS || o->bytes > ORDER_MAX_BYTES;
}

int perf_order_round(struct perf_reader *r, struct hv_err *err)
{
	struct perf_order *o = r->order;
	int rc = 0;
	if (o->have_prev)
		rc = emit_upto(r, o->prev_round_max, 1, SIZE_MAX, err);
	o->prev_round_max = o->round_max;
	o->have_prev = 1;
	if (rc == 0 && over_limit(o)) {
		o->forced++;
		rc = emit_upto(r, 0, 0, o->nit / 2, err);
	}
	return rc;
}

int perf_order_check(struct perf_reader *r, struct hv_err *err)
{
	struct perf_order *o = r->order;
	if (!over_limit(o))
		return 0;
	o->forced++;
	return emit_upto(r, 0, 0, o->nit / 2, err);
}

int perf_order_flush_all(struct perf_reader *r, struct hv_err *err)
{
	int rc = emit_upto(r, 0, 0, SIZE_MAX, err);
	if (rc == 0)
		rc = write_stats(r, err);
	return rc;
}
