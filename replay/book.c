/*
 * Replay bookkeeping (spec §5.1): the objects monitors keep state in.
 *
 * Tasks (by pid), vcpus (by VM tgid and vcpu id) and host CPUs. Tasks and vcpus live in
 * pools of fixed-size blocks (so pointers stay valid) indexed by open-addressing hash maps;
 * CPUs are a plain array indexed by CPU number. Memory grows with the number of tasks, vcpus
 * and CPUs seen, never with the trace's length, and nothing is allocated per event.
 */
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

#define RP_MAX_CPU 65536

static void *pool_new(struct rp_pool *p)
{
	if (!p->nblocks || p->used_in_last == p->per_block) {
		void **nb = realloc(p->blocks, (size_t)(p->nblocks + 1) * sizeof *nb);
		if (!nb)
			return NULL;
		p->blocks = nb;
		nb[p->nblocks] = calloc((size_t)p->per_block, (size_t)p->elem);
		if (!nb[p->nblocks])
			return NULL;
		p->nblocks++;
		p->used_in_last = 0;
	}
	return (char *)p->blocks[p->nblocks - 1] + (size_t)p->used_in_last++ * (size_t)p->elem;
}

void *rp_pool_at(struct rp_pool *p, int i)
{
	int b = i / p->per_block, k = i % p->per_block;
	if (b >= p->nblocks || (b == p->nblocks - 1 && k >= p->used_in_last))
		return NULL;
	return (char *)p->blocks[b] + (size_t)k * (size_t)p->elem;
}

static void pool_free(struct rp_pool *p)
{
	for (int i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	memset(p, 0, sizeof *p);
}

static uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

/* Keys are stored +1 so that 0 marks an empty slot. */
static void **map_slot(struct rp_map *m, uint64_t key)
{
	uint32_t mask = m->cap - 1, i = hash64(key) & mask;
	while (m->keys[i] && m->keys[i] != key + 1)
		i = (i + 1) & mask;
	return &m->vals[i];
}

static void *map_find(struct rp_map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	uint32_t mask = m->cap - 1, i = hash64(key) & mask;
	while (m->keys[i]) {
		if (m->keys[i] == key + 1)
			return m->vals[i];
		i = (i + 1) & mask;
	}
	return NULL;
}

static int map_put(struct rp_map *m, uint64_t key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct rp_map nm = { 0 };
		nm.cap = m->cap ? m->cap * 2 : 256;
		nm.keys = calloc(nm.cap, sizeof *nm.keys);
		nm.vals = calloc(nm.cap, sizeof *nm.vals);
		if (!nm.keys || !nm.vals) {
			free(nm.keys);
			free(nm.vals);
			return -1;
		}
		for (uint32_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				void **s = map_slot(&nm, m->keys[i] - 1);
				nm.keys[s - nm.vals] = m->keys[i];
				*s = m->vals[i];
			}
		nm.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = nm;
	}
	void **s = map_slot(m, key);
	m->keys[s - m->vals] = key + 1;
	*s = val;
	m->n++;
	return 0;
}

static void map_free(struct rp_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

int rp_book_init(struct rp *rp)
{
	rp->task_pool.elem = (int)sizeof(struct rp_task);
	rp->task_pool.per_block = 256;
	rp->vcpu_pool.elem = (int)sizeof(struct rp_vcpu);
	rp->vcpu_pool.per_block = 256;
	return 0;
}

void rp_book_free(struct rp *rp)
{
	pool_free(&rp->task_pool);
	pool_free(&rp->vcpu_pool);
	map_free(&rp->tasks);
	map_free(&rp->vcpus);
	free(rp->cpus);
	rp->cpus = NULL;
	rp->ncpus = 0;
	free(rp->lpids);
	rp->lpids = NULL;
	rp->nlpids = 0;
}

struct rp_task *rp_task_find(struct rp *rp, int32_t pid)
{
	return map_find(&rp->tasks, (uint32_t)pid);
}

struct rp_task *rp_task_get(struct rp *rp, int32_t pid)
{
	struct rp_task *t = rp_task_find(rp, pid);
	if (t)
		return t;
	t = pool_new(&rp->task_pool);
	if (!t || map_put(&rp->tasks, (uint32_t)pid, t) < 0)
		return NULL;
	t->pid = pid;
	t->tgid = t->vcpu = -1;
	t->last_reason = -1;
	t->p9_cpu = t->pend_cpu = t->ebusy_cpu = -1;
	return t;
}

static uint64_t vkey(int32_t tgid, int32_t id)
{
	return ((uint64_t)(uint32_t)tgid << 32) | (uint32_t)id;
}

struct rp_vcpu *rp_vcpu_find(struct rp *rp, int32_t tgid, int32_t id)
{
	return map_find(&rp->vcpus, vkey(tgid, id));
}

struct rp_vcpu *rp_vcpu_get(struct rp *rp, int32_t tgid, int32_t id)
{
	struct rp_vcpu *v = rp_vcpu_find(rp, tgid, id);
	if (v)
		return v;
	v = pool_new(&rp->vcpu_pool);
	if (!v || map_put(&rp->vcpus, vkey(tgid, id), v) < 0)
		return NULL;
	v->tgid = tgid;
	v->id = id;
	v->pid = -1;
	v->win_cpu = -1;
	return v;
}

struct rp_cpu *rp_cpu_get(struct rp *rp, int32_t cpu)
{
	if (cpu < 0 || cpu >= RP_MAX_CPU)
		return NULL;
	if (cpu >= rp->ncpus) {
		int n = rp->ncpus ? rp->ncpus : 8;
		while (n <= cpu)
			n *= 2;
		struct rp_cpu *nc = realloc(rp->cpus, (size_t)n * sizeof *nc);
		if (!nc)
			return NULL;
		memset(nc + rp->ncpus, 0, (size_t)(n - rp->ncpus) * sizeof *nc);
		rp->cpus = nc;
		rp->ncpus = n;
	}
	struct rp_cpu *c = &rp->cpus[cpu];
	if (!c->used) {
		c->used = 1;
		c->p9_pid = -1;
		c->burst_pid = -1;
	}
	return c;
}

void rp_book_forget(struct rp *rp, int32_t cpu)
{
	struct rp_task *t;
	struct rp_vcpu *v;
	for (int i = 0; (t = rp_pool_at(&rp->task_pool, i)) != NULL; i++) {
		t->st_run = t->st_p9 = RP_UNKNOWN;
		t->last_reason = -1;
		t->pend_cpu = t->ebusy_cpu = -1;
	}
	for (int i = 0; (v = rp_pool_at(&rp->vcpu_pool, i)) != NULL; i++) {
		v->st_guest = v->st_block = RP_UNKNOWN;
		v->blk_enter_ts = v->blk_exit_ts = 0;
	}
	for (int i = 0; i < rp->ncpus; i++) {
		struct rp_cpu *c = &rp->cpus[i];
		if (!c->used || (cpu >= 0 && cpu != i))
			continue;
		c->st_core = RP_UNKNOWN;
		c->nb = 0;
		c->burst_pid = -1;
		c->p9_pid = -1;
		c->has_last_ev = 0;
	}
	for (int i = 0; i < rp->ncpus; i++)
		if (rp->cpus[i].used)
			rp->cpus[i].p9_pid = -1;
	rp_l2_forget(rp);
}

int rp_vm_smt(const struct rp *rp, int32_t tgid)
{
	for (int i = 0; i < rp->nvmsmt; i++)
		if (rp->vmsmt[i].tgid == tgid)
			return rp->vmsmt[i].smt;
	if (rp->par.smt_mode > 0)
		return rp->par.smt_mode;
	if (rp->prof->gang && rp->chip == 9)
		return 1;	/* POWER9: one vcpu per vcore */
	return rp_threads_per_subcore(rp);	/* P7/P8 default: smt_mode = threads_per_subcore */
}

int rp_threads_per_subcore(const struct rp *rp)
{
	if (rp->par.tpc <= 0)
		return -1;
	int sub = rp->par.subcores > 0 ? rp->par.subcores : 1;
	return rp->par.tpc / sub > 0 ? rp->par.tpc / sub : 1;
}

/* VM identity. The decision events name a VM by lpid, the stock events by the VMM's tgid; the
 * pairs come from meta (vm.<lpid>.tgid, written by the simulator) and from the trace itself
 * (a kvmhv_vcpu_place of the runner's own vcore or of a task's own vcpu). */
int32_t rp_lpid_tgid(const struct rp *rp, int64_t lpid)
{
	for (int i = 0; i < rp->nlpids; i++)
		if (rp->lpids[i].lpid == lpid)
			return rp->lpids[i].tgid;
	return -1;
}

void rp_lpid_learn(struct rp *rp, int64_t lpid, int32_t tgid)
{
	if (tgid < 0)
		return;
	for (int i = 0; i < rp->nlpids; i++)
		if (rp->lpids[i].lpid == lpid) {
			rp->lpids[i].tgid = tgid;	/* unique among live VMs, reusable after */
			return;
		}
	if (rp->nlpids >= 4096)
		return;
	void *p = realloc(rp->lpids, (size_t)(rp->nlpids + 1) * sizeof *rp->lpids);
	if (!p)
		return;
	rp->lpids = p;
	rp->lpids[rp->nlpids].lpid = lpid;
	rp->lpids[rp->nlpids++].tgid = tgid;
}
