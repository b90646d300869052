/*
 * hvtrace derive: per-task and per-vcpu state, in open-addressing maps whose items live in one
 * growing array each (a trace has thousands of tasks at most: memory does not grow with its
 * length). Tasks start with the VM the `task` table names (pid -> tgid).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "derive_int.h"

static uint32_t hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

static int grow(struct dv_map *m)
{
	uint32_t cap = m->cap ? m->cap * 2 : 256;
	uint64_t *keys = malloc(cap * sizeof *keys);
	int32_t *idx = malloc(cap * sizeof *idx);
	void *items = realloc(m->items, (size_t)cap / 2 * m->size);
	if (!keys || !idx || !items) {
		free(keys);
		free(idx);
		if (items)
			m->items = items;
		return -1;
	}
	m->items = items;
	memset(idx, -1, cap * sizeof *idx);
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->idx[i] < 0)
			continue;
		uint32_t h = hash(m->keys[i]) & (cap - 1);
		while (idx[h] >= 0)
			h = (h + 1) & (cap - 1);
		keys[h] = m->keys[i];
		idx[h] = m->idx[i];
	}
	free(m->keys);
	free(m->idx);
	m->keys = keys;
	m->idx = idx;
	m->cap = cap;
	return 0;
}

/* The item for key (created zeroed, *created = 1, when new); NULL out of memory. */
void *dv_get(struct dv *d, struct dv_map *m, uint64_t key, int *created)
{
	*created = 0;
	if (m->cap) {
		for (uint32_t h = hash(key) & (m->cap - 1); m->idx[h] >= 0; h = (h + 1) & (m->cap - 1))
			if (m->keys[h] == key)
				return (char *)m->items + (size_t)m->idx[h] * m->size;
	}
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0) {
		if (!d->rc)
			d->rc = hv_err_set(d->err, HV_E_NOMEM, "out of memory");
		return NULL;
	}
	uint32_t h = hash(key) & (m->cap - 1);
	while (m->idx[h] >= 0)
		h = (h + 1) & (m->cap - 1);
	m->keys[h] = key;
	m->idx[h] = (int32_t)m->n;
	void *it = (char *)m->items + (size_t)m->n++ * m->size;
	memset(it, 0, m->size);
	*created = 1;
	return it;
}

void dv_map_free(struct dv_map *m)
{
	free(m->keys);
	free(m->idx);
	free(m->items);
	memset(m, 0, sizeof *m);
}

struct dv_task *dv_task(struct dv *d, int32_t pid)
{
	int created;
	struct dv_task *t = dv_get(d, &d->tasks, (uint32_t)pid, &created);
	if (t && created) {
		t->pid = pid;
		t->tgid = t->vcpu = -1;
	}
	return t;
}

struct dv_vcpu *dv_vcpu(struct dv *d, int32_t tgid, int32_t id)
{
	int created;
	if (tgid < 0)
		return NULL;
	struct dv_vcpu *v = dv_get(d, &d->vcpus, (uint64_t)(uint32_t)tgid << 32 | (uint32_t)id, &created);
	if (v && created) {
		v->tgid = tgid;
		v->id = id;
	}
	return v;
}

/* A lost window: every open interval is dropped (its end or start is unknown). */
void dv_forget(struct dv *d)
{
	struct dv_task *t = d->tasks.items;
	for (uint32_t i = 0; i < d->tasks.n; i++)
		t[i].in_hcall = t[i].in_block = t[i].in_guest = 0;
	struct dv_vcpu *v = d->vcpus.items;
	for (uint32_t i = 0; i < d->vcpus.n; i++) {
		v[i].wait_from = 0;
		v[i].busy = v[i].ceded = 0;
	}
}

int dv_load_tasks(struct dv *d)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(hv_store_sqlite(d->st), "SELECT pid, tgid FROM task WHERE tgid IS NOT NULL", -1, &s,
			       NULL) != SQLITE_OK)
		return 0;	/* no task table: tasks learn their VM from kvmppc_run_vcpu_enter */
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct dv_task *t = dv_task(d, sqlite3_column_int(s, 0));
		if (!t)
			break;
		t->tgid = sqlite3_column_int(s, 1);
	}
	sqlite3_finalize(s);
	return d->rc;
}
