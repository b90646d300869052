/*
 * perf.data importer, stage 4: putting samples in time order within a bounded window.
 *
 * perf writes records per ring-buffer drain, so they are not globally ordered. It marks each
 * full pass over the buffers with FINISHED_ROUND; after round N ends, nothing still to come
 * can be older than the newest timestamp seen up to round N-1 (perf's ordered_events rule).
 * So at each round marker the queue is sorted and every sample not newer than that bound is
 * decoded and stored; the rest (about one round) stays. Samples are queued as copies of their
 * raw payload in an arena that is compacted at each flush, so memory is bounded by a round,
 * not by the file. Files without round markers (or with huge rounds) are flushed oldest-half
 * first once the queue passes a limit, counted in stats as perf.order_forced_flush.
 */
#include <stdlib.h>

#include "perf_int.h"

#define ORDER_MAX_ITEMS (1u << 20)
#define ORDER_MAX_BYTES (256u << 20)

/* 24 bytes: a round can hold hundreds of thousands of these. Equal timestamps keep their
 * arrival order because the merge sort below is stable. */
struct order_item {
	uint64_t ts;
	uint32_t off;		/* payload offset in the arena (< ORDER_MAX_BYTES + one payload) */
	uint32_t len;
	int32_t cpu;
	int32_t pid;
};

struct perf_order {
	struct order_item *it, *tmp;
	size_t nit, cap, tmp_cap;
	size_t *runs;
	size_t runs_cap;
	uint8_t *arena, *spare;
	size_t alen, acap, spare_cap;
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
	free(o->it);
	free(o->tmp);
	free(o->runs);
	free(o->arena);
	free(o->spare);
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

int perf_order_push(struct perf_order *o, uint64_t ts, int32_t cpu, int32_t pid, const uint8_t *raw,
		    uint32_t len)
{
	if (grow((void **)&o->it, &o->cap, o->nit + 1, sizeof *o->it) < 0 ||
	    grow((void **)&o->arena, &o->acap, o->alen + len, 1) < 0)
		return HV_E_NOMEM;
	struct order_item *x = &o->it[o->nit++];
	x->ts = ts;
	x->off = (uint32_t)o->alen;
	x->len = len;
	x->cpu = cpu;
	x->pid = pid;
	memcpy(o->arena + o->alen, raw, len);
	o->alen += len;
	if (ts > o->round_max)
		o->round_max = ts;
	return 0;
}

static int item_less(const struct order_item *x, const struct order_item *y)
{
	return x->ts < y->ts;
}

/* Stable natural merge sort of o->it. A round holds one ascending run per ring-buffer drain
 * (per CPU), so finding the runs and merging them pairwise costs n log(runs), not n log n. */
static int sort_items(struct perf_order *o)
{
	size_t n = o->nit, nr = 0;
	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || item_less(&o->it[i], &o->it[i - 1])) {
			if (grow((void **)&o->runs, &o->runs_cap, nr + 2, sizeof *o->runs) < 0)
				return -1;
			o->runs[nr++] = i;
		}
	}
	if (nr == 1)
		return 0;	/* already in order */
	o->runs[nr] = n;
	if (grow((void **)&o->tmp, &o->tmp_cap, n, sizeof *o->tmp) < 0)
		return -1;
	struct order_item *src = o->it, *dst = o->tmp;
	while (nr > 1) {
		size_t w = 0;
		for (size_t r = 0; r < nr; r += 2) {
			size_t a = o->runs[r], m = o->runs[r + 1], e = r + 2 <= nr ? o->runs[r + 2] : m;
			size_t i = a, j = m, k = a;
			if (r + 1 >= nr) {	/* odd run out: copy */
				memcpy(dst + a, src + a, (m - a) * sizeof *src);
			} else {
				while (i < m && j < e)
					dst[k++] = item_less(&src[j], &src[i]) ? src[j++] : src[i++];
				memcpy(dst + k, src + i, (m - i) * sizeof *src);
				k += m - i;
				memcpy(dst + k, src + j, (e - j) * sizeof *src);
			}
			o->runs[w++] = a;
		}
		o->runs[w] = n;
		nr = w;
		struct order_item *t = src;
		src = dst;
		dst = t;
	}
	if (src != o->it) {	/* the result is in tmp: swap the buffers */
		struct order_item *t = o->it;
		size_t c = o->cap;
		o->it = o->tmp;
		o->cap = o->tmp_cap;
		o->tmp = t;
		o->tmp_cap = c;
	}
	return 0;
}

/* Sort, emit the first k items (all with ts <= bound if use_bound), keep the rest. */
static int emit_upto(struct perf_reader *r, uint64_t bound, int use_bound, size_t max_emit, struct hv_err *err)
{
	struct perf_order *o = r->order;
	if (sort_items(o) < 0)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	size_t k = 0;
	while (k < o->nit && k < max_emit && (!use_bound || o->it[k].ts <= bound)) {
		const struct order_item *x = &o->it[k];
		if (o->have_emitted && x->ts < o->last_emitted)
			o->went_back++;
		o->last_emitted = x->ts;
		o->have_emitted = 1;
		int rc = perf_decode_emit(r, x->ts, x->cpu, x->pid, o->arena + x->off, x->len, err);
		if (rc < 0)
			return rc;
		k++;
	}
	if (k == 0)
		return 0;
	/* compact: move the remaining items and their bytes into the spare arena */
	size_t rest = o->nit - k, bytes = 0;
	for (size_t i = k; i < o->nit; i++)
		bytes += o->it[i].len;
	if (grow((void **)&o->spare, &o->spare_cap, bytes ? bytes : 1, 1) < 0)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	size_t pos = 0;
	for (size_t i = 0; i < rest; i++) {
		struct order_item x = o->it[k + i];
		memcpy(o->spare + pos, o->arena + x.off, x.len);
		x.off = (uint32_t)pos;
		pos += x.len;
		o->it[i] = x;
	}
	uint8_t *t = o->arena;
	size_t tc = o->acap;
	o->arena = o->spare;
	o->acap = o->spare_cap;
	o->spare = t;
	o->spare_cap = tc;
	o->alen = pos;
	o->nit = rest;
	return 0;
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

int perf_order_round(struct perf_reader *r, struct hv_err *err)
{
	struct perf_order *o = r->order;
	int rc = 0;
	if (o->have_prev)
		rc = emit_upto(r, o->prev_round_max, 1, SIZE_MAX, err);
	o->prev_round_max = o->round_max;
	o->have_prev = 1;
	if (rc == 0 && (o->nit > ORDER_MAX_ITEMS || o->alen > ORDER_MAX_BYTES)) {
		o->forced++;
		rc = emit_upto(r, 0, 0, o->nit / 2, err);
	}
	return rc;
}

int perf_order_check(struct perf_reader *r, struct hv_err *err)
{
	struct perf_order *o = r->order;
	if (o->nit <= ORDER_MAX_ITEMS && o->alen <= ORDER_MAX_BYTES)
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
