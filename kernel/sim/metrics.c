/*
 * What-if metrics of one run (recorded or simulated), from the intervals of ivl.c clipped
 * to [t0, t1] (wall = t1 - t0):
 *   throughput  = sum of guest runs (kvm_guest_enter -> kvm_guest_exit) / wall: guest
 *                 hardware-thread time per wall time (a thread napping in the guest counts);
 *   core_util   = sum of kvmppc_run_core windows / (host CPUs x wall);
 *   wait p50/p99 = nearest-rank percentiles of the dispatch waits (us);
 *   share[]     = window time by split mode (hv_split_mode of the window's subcores under
 *                 the run's parameters) / all window time: whole, 2-way, 4-way;
 *   exits_per_s = guest exits ending in [t0, t1] / wall.
 */
#include <stdlib.h>

#include "whatif.h"

struct hv_mx {
	struct hv_params par;
	int ncpus;
	uint64_t t0, t1;
	uint64_t guest_ns, win_ns, split_ns[3], exits, runs, windows;
	uint64_t *waits;
	size_t nw, cw;
};

struct hv_mx *hv_mx_new(const struct hv_params *par, int ncpus, uint64_t t0, uint64_t t1)
{
	struct hv_mx *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->par = *par;
	m->ncpus = ncpus > 0 ? ncpus : 1;
	m->t0 = t0;
	m->t1 = t1 > t0 ? t1 : t0 + 1;
	return m;
}

void hv_mx_free(struct hv_mx *m)
{
	if (m)
		free(m->waits);
	free(m);
}

static uint64_t clip(const struct hv_mx *m, uint64_t a, uint64_t b)
{
	if (a < m->t0)
		a = m->t0;
	if (b > m->t1)
		b = m->t1;
	return b > a ? b - a : 0;
}

static void on_run(void *ctx, int vm, int vcpu, uint64_t start, uint64_t end, int trap, int ci, int co)
{
	(void)vm, (void)vcpu, (void)ci, (void)co;
	struct hv_mx *m = ctx;
	m->guest_ns += clip(m, start, end);
	m->runs++;
	if (trap >= 0 && end >= m->t0 && end <= m->t1)
		m->exits++;
}

static void on_wait(void *ctx, int vm, int vcpu, uint64_t start, uint64_t end)
{
	(void)vm, (void)vcpu;
	struct hv_mx *m = ctx;
	if (end < m->t0 || start > m->t1)
		return;
	if (m->nw == m->cw) {
		size_t c = m->cw ? 2 * m->cw : 1024;
		uint64_t *p = realloc(m->waits, sizeof *p * c);
		if (!p)
			return;
		m->waits = p;
		m->cw = c;
	}
	m->waits[m->nw++] = end - start;
}

static void on_window(void *ctx, int cpu, uint64_t start, uint64_t end, int nsub)
{
	(void)cpu;
	struct hv_mx *m = ctx;
	uint64_t ns = clip(m, start, end);
	int split = hv_split_mode(&m->par, nsub);
	m->win_ns += ns;
	m->split_ns[split == 4 ? 2 : split == 2 ? 1 : 0] += ns;
	m->windows++;
}

void hv_mx_cb(struct hv_mx *m, struct hv_ivl_cb *cb)
{
	*cb = (struct hv_ivl_cb){ .ctx = m, .run = on_run, .wait = on_wait, .window = on_window };
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least p of the values at or below it */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t k = (size_t)(p * (double)n + 0.999999);
	k = k ? k - 1 : 0;
	return (double)v[k < n ? k : n - 1] / 1000.0;
}

void hv_mx_result(struct hv_mx *m, struct hv_metrics *o)
{
	double wall = (double)(m->t1 - m->t0);
	qsort(m->waits, m->nw, sizeof *m->waits, cmp_u64);
	*o = (struct hv_metrics){ 0 };
	o->throughput = (double)m->guest_ns / wall;
	o->core_util = (double)m->win_ns / (wall * m->ncpus);
	o->wait_p50_us = pct_us(m->waits, m->nw, 0.50);
	o->wait_p99_us = pct_us(m->waits, m->nw, 0.99);
	for (int i = 0; i < 3; i++)
		o->share[i] = m->win_ns ? (double)m->split_ns[i] / (double)m->win_ns : 0;
	o->exits_per_s = (double)m->exits * 1e9 / wall;
	o->runs = m->runs;
	o->waits = m->nw;
	o->windows = m->windows;
}
