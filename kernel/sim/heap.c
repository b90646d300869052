/*
 * The simulator's event queue: an indexed binary min-heap of timer slots ordered by
 * (when, arm sequence). Every object owns its slots (struct hv_timer), so the heap never
 * holds more entries than there are slots and memory does not grow with simulated time.
 * Re-arming or cancelling a slot is O(log n) through its stored index.
 */
#include <assert.h>

#include "sim_int.h"

static int before(const struct hv_timer *a, const struct hv_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void place(struct hv_host *h, size_t i, struct hv_timer *t)
{
	h->heap[i] = t;
	t->heap_idx = (int32_t)i;
}

static void sift_up(struct hv_host *h, size_t i)
{
	struct hv_timer *t = h->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(t, h->heap[p]))
			break;
		place(h, i, h->heap[p]);
		i = p;
	}
	place(h, i, t);
}

static void sift_down(struct hv_host *h, size_t i)
{
	struct hv_timer *t = h->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct hv_timer *best = t;
		if (l < h->heap_n && before(h->heap[l], best)) {
			m = l;
			best = h->heap[l];
		}
		if (r < h->heap_n && before(h->heap[r], best))
			m = r;
		if (m == i)
			break;
		place(h, i, h->heap[m]);
		i = m;
	}
	place(h, i, t);
}

void hv_timer_cancel(struct hv_host *h, struct hv_timer *t)
{
	if (t->heap_idx < 0)
		return;
	size_t i = (size_t)t->heap_idx;
	t->heap_idx = -1;
	h->heap_n--;
	if (i == h->heap_n)
		return;
	struct hv_timer *last = h->heap[h->heap_n];
	place(h, i, last);
	sift_down(h, i);
	sift_up(h, (size_t)last->heap_idx);
}

void hv_timer_arm(struct hv_host *h, struct hv_timer *t, uint64_t when)
{
	hv_timer_cancel(h, t);
	assert(h->heap_n < h->heap_cap);
	t->when = when;
	t->seq = ++h->timer_seq;
	place(h, h->heap_n++, t);
	sift_up(h, h->heap_n - 1);
	if (h->heap_n > h->heap_peak)
		h->heap_peak = h->heap_n;
}

struct hv_timer *hv_timer_pop(struct hv_host *h)
{
	if (!h->heap_n)
		return NULL;
	struct hv_timer *t = h->heap[0];
	hv_timer_cancel(h, t);
	return t;
}
