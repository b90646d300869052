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
 * with a cursor. A flush is a k-way merge of the runs' cursors through a heap keyed by
 * (time, run), which is the stable sort of the samples by time. Records in the mapped file
 * are read back from the mapping, whose pages behind each cursor are let go every
 * PERF_RELEASE_STEP bytes of merging, so memory does not grow with the size of a round; after
 * each flush everything below the lowest remaining cursor is let go as well (the pages at run
 * ends and those mapped by fault-around), so it does not grow with the length of the
 * recording either: a few hundred bytes per run. Records that are not in the mapped file (the
 * output of COMPRESSED records) are copied whole into an arena, compacted at each flush.
 * Files without round markers (or with huge rounds) are flushed oldest-half first once the
 * queue passes a limit, counted in stats as perf.order_forced_flush.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "perf_int.h"

#define ORDER_MAX_ITEMS (1u << 20)
#define ORDER_MAX_BYTES (256u << 20)

struct order_run {
	uint64_t cur, end;	/* next record and end of the run, offsets in the file or arena */
	uint64_t rel;		/* mapped input of this run before rel has been let go */
	uint64_t last_ts;	/* time of the run's last record (for extending it) */
	struct perf_sample head;	/* the record at cur, parsed */
	int in_arena;
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
	uint64_t queued_end;	/* end of the last sample queued from the mapped file */
	uint64_t dropped;	/* mapped input below this has been let go behind all cursors */
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
	free(o->runs);
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

static const uint8_t *run_base(const struct perf_reader *r, const struct order_run *u)
{
	return u->in_arena ? r->order->arena : r->map;
}

/* Parse the record at u->cur into u->head (it parsed when it was queued, so it parses now). */
static void run_parse_head(struct perf_reader *r, struct order_run *u)
{
	const uint8_t *p = run_base(r, u) + u->cur;
	perf_parse_sample(r, p, pr16(r->swap, p + 6), &u->head);
}

int perf_order_push(struct perf_reader *r, const uint8_t *p, uint32_t n, const struct perf_sample *s)
{
	struct perf_order *o = r->order;
	int in_arena = !(r->map && p >= r->map && p - r->map <= (ptrdiff_t)(r->size - n));
	uint64_t off;
	if (in_arena) {
		const uint8_t *was = o->arena;
		if (grow((void **)&o->arena, &o->acap, o->alen + n, 1) < 0)
			return HV_E_NOMEM;
		for (size_t i = 0; o->arena != was && i < o->nruns; i++)	/* moved: heads point into it */
			if (o->runs[i].in_arena && o->runs[i].cur < o->runs[i].end)
				run_parse_head(r, &o->runs[i]);
		off = o->alen;
		memcpy(o->arena + off, p, n);
		o->alen += n;
	} else {
		off = (uint64_t)(p - r->map);
		if (off + n > o->queued_end)
			o->queued_end = off + n;
	}
	struct order_run *last = o->nruns ? &o->runs[o->nruns - 1] : NULL;
	if (last && last->in_arena == in_arena && last->end == off && s->time >= last->last_ts) {
		last->end += n;
	} else {
		if (grow((void **)&o->runs, &o->runs_cap, o->nruns + 1, sizeof *o->runs) < 0)
			return HV_E_NOMEM;
		last = &o->runs[o->nruns++];
		last->cur = last->rel = off;
		last->end = off + n;
		last->in_arena = in_arena;
		last->head = *s;
		if (in_arena)	/* the copy, not the caller's buffer */
			run_parse_head(r, last);
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

/* Let go of the mapped pages each run has merged past (they are read again from the page
 * cache if a page is shared with a run not merged yet). */
static void release_runs(struct perf_reader *r)
{
	struct perf_order *o = r->order;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < o->nruns; i++) {
		struct order_run *u = &o->runs[i];
		uint64_t from = (u->rel + page - 1) / page * page, to = u->cur / page * page;
		if (u->in_arena || to <= from)
			continue;
		madvise((void *)(r->map + from), to - from, MADV_DONTNEED);
		u->rel = to;
	}
}

/* Let go of all mapped input below the lowest cursor still queued (or, with none, the end of
 * the last queued sample): nothing reads it again. release_runs() keeps the pages at the runs'
 * ends, and a fault maps its neighbours too (fault-around), so without this every flush would
 * leave a few pages per run resident and the mapping would grow with the file. The range
 * restarts a little below the last mark because faults near it map pages below it again. */
static void release_below(struct perf_reader *r)
{
	struct perf_order *o = r->order;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), lo = o->queued_end;
	for (size_t i = 0; i < o->nruns; i++)
		if (!o->runs[i].in_arena && o->runs[i].cur < lo)
			lo = o->runs[i].cur;
	uint64_t from = o->dropped > PERF_RELEASE_STEP ? o->dropped - PERF_RELEASE_STEP : 0;
	uint64_t to = lo / page * page;
	from = from / page * page;
	if (to <= from)
		return;
	madvise((void *)(r->map + from), to - from, MADV_DONTNEED);
	o->dropped = to;
}

/* Drop the runs merged to their end and the arena bytes behind the remaining cursors. */
static void compact(struct perf_reader *r)
{
	struct perf_order *o = r->order;
	size_t w = 0, pos = 0;
	for (size_t i = 0; i < o->nruns; i++) {
		struct order_run u = o->runs[i];
		if (u.cur >= u.end)
			continue;
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
	for (size_t i = 0; i < o->nruns; i++)
		if (o->runs[i].in_arena)
			run_parse_head(r, &o->runs[i]);
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
	for (size_t i = 0; i < n; i++)
		o->heap[i] = i;
	for (size_t i = n / 2; i-- > 0;)
		heap_down(o, n, i);
	uint64_t merged = 0;
	int rc = 0;
	while (n && k < max_emit) {
		struct order_run *u = &o->runs[o->heap[0]];
		if (use_bound && u->head.time > bound)
			break;
		uint32_t size = pr16(r->swap, run_base(r, u) + u->cur + 6);
		if ((rc = emit_head(r, u, err)) < 0)
			break;
		k++;
		u->cur += size;
		if (u->cur < u->end)
			run_parse_head(r, u);
		else
			o->heap[0] = o->heap[--n];
		heap_down(o, n, 0);
		if ((merged += size) >= PERF_RELEASE_STEP) {
			release_runs(r);
			merged = 0;
		}
	}
	release_runs(r);
	compact(r);
	if (r->map)
		release_below(r);
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
