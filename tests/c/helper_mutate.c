/*
 * Fault injection for the replay tests (issue 5, "Fault injection" and "Lost events"):
 *
 *   helper_mutate IN.db OUT.db MUTATION [--pick N]
 *   helper_mutate --list
 *
 * reads a clean trace database IN (never modified), applies one named mutation to its event
 * stream and writes a new, self-consistent database OUT through the store API (types, meta,
 * lost, stats and tasks copied; events re-appended in order, so seq stays dense and ts stays
 * monotonic; a moved event takes the timestamp of its new predecessor). It prints one line:
 * the seq (in OUT) of the event at which `hvtrace replay` must report the fault (for a drop,
 * the first event that proves it; see the table below), or for `lost` the seq of the first
 * event after the lost window. The candidate site is chosen deterministically: the middle
 * one of all sites that fit (plus N with --pick N). Exit 0 done, 1 no site fits, 2 errors.
 *
 * The mutations understand the gang path's shape (spec §4.6 S1-S5): per CPU a burst of
 * kvm_guest_enter from one task, kvmppc_run_core Enter, the kvm_guest_exit events, Exit;
 * the decision events kvmhv_vcpu_place (before each entry: the vcpu's VM and subcore) and
 * kvmhv_core_plan are used when present. The table of mutations is at the end of the file;
 * tests/sh/test_mutate.sh says which monitor reports each one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "hv_store.h"

enum kind {
	K_OTHER, K_GENTER, K_GEXIT, K_CORE, K_RENTER, K_REXIT, K_HCENTER, K_HCEXIT, K_BLOCKED,
	K_PLACE, K_PLAN, K_DECISION, K_SCHED, NKIND
};

struct mev {
	int type;		/* type handle in the input store */
	int kind;
	uint64_t ts;
	int32_t cpu, pid;
	struct hv_value *v;
};

#define MAXB 64

struct win {
	int cpu;
	int32_t pid, tgid, runner, nr;
	struct mev *enter, *exit;
	int nb, nx;
	struct mev *b[MAXB], *bplace[MAXB], *x[MAXB];
	int bx[MAXB];		/* index in x of the entry's exit, -1 none */
	int grp[MAXB];
	int ngrp;
};

struct mt {
	struct hv_store *in;
	struct mev **seq;	/* the event stream, in order */
	int n, cap;
	struct win *w;
	int nw;
	struct mev *mark;	/* the event to report */
	struct mev **dead;	/* dropped events, freed at the end */
	int ndead, capdead;
	int pick;
	int ncpu;
	/* lost window to add, if any */
	int lost_cpu;
	uint64_t lost_from, lost_to, lost_count;
};

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "helper_mutate: out of memory\n");
		exit(2);
	}
	return p;
}

static const struct hv_event_def *def_of(const struct mt *m, const struct mev *e)
{
	return hv_store_type_def(m->in, e->type);
}

static int fidx(const struct mt *m, const struct mev *e, const char *name)
{
	const struct hv_event_def *d = def_of(m, e);
	for (int i = 0; i < d->nfields; i++)
		if (!strcmp(d->fields[i].name, name))
			return i;
	return -1;
}

static int64_t F(const struct mt *m, const struct mev *e, const char *name)
{
	int i = fidx(m, e, name);
	return i < 0 ? -1 : e->v[i].i;
}

static void setf(const struct mt *m, struct mev *e, const char *name, int64_t val)
{
	int i = fidx(m, e, name);
	if (i >= 0)
		e->v[i].i = val;
}

static int kind_of(const struct hv_event_def *d)
{
	static const struct { const char *sys, *name; int kind; } k[] = {
		{ "kvm_hv", "kvm_guest_enter", K_GENTER }, { "kvm_hv", "kvm_guest_exit", K_GEXIT },
		{ "kvm_hv", "kvmppc_run_core", K_CORE }, { "kvm_hv", "kvmppc_run_vcpu_enter", K_RENTER },
		{ "kvm_hv", "kvmppc_run_vcpu_exit", K_REXIT }, { "kvm_hv", "kvm_hcall_enter", K_HCENTER },
		{ "kvm_hv", "kvm_hcall_exit", K_HCEXIT }, { "kvm_hv", "kvmppc_vcore_blocked", K_BLOCKED },
		{ "kvm_hv_sched", "kvmhv_vcpu_place", K_PLACE }, { "kvm_hv_sched", "kvmhv_core_plan", K_PLAN },
	};
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
		if (!strcmp(d->system, k[i].sys) && !strcmp(d->name, k[i].name))
			return k[i].kind;
	if (!strcmp(d->system, "kvm_hv_sched"))
		return K_DECISION;
	if (!strcmp(d->system, "sched"))
		return K_SCHED;
	return K_OTHER;
}

/* ---- the stream ---- */

static struct mev *clone_ev(const struct mt *m, const struct mev *e)
{
	const struct hv_event_def *d = def_of(m, e);
	struct mev *c = xmalloc(sizeof *c);
	*c = *e;
	c->v = xmalloc(sizeof *c->v * (d->nfields ? d->nfields : 1));
	for (int i = 0; i < d->nfields; i++) {
		c->v[i] = e->v[i];
		if (e->v[i].p) {
			void *p = xmalloc(e->v[i].len + 1);
			memcpy(p, e->v[i].p, e->v[i].len);
			c->v[i].p = p;
		}
	}
	return c;
}

static int pos_of(const struct mt *m, const struct mev *e)
{
	for (int i = 0; i < m->n; i++)
		if (m->seq[i] == e)
			return i;
	fprintf(stderr, "helper_mutate: internal error: event not in the stream\n");
	exit(2);
}

static void put_at(struct mt *m, int at, struct mev *e)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4096;
		struct mev **s = realloc(m->seq, sizeof *s * (size_t)m->cap);
		if (!s) {
			fprintf(stderr, "helper_mutate: out of memory\n");
			exit(2);
		}
		m->seq = s;
	}
	memmove(m->seq + at + 1, m->seq + at, sizeof *m->seq * (size_t)(m->n - at));
	m->seq[at] = e;
	m->n++;
}

static void unlink_ev(struct mt *m, struct mev *e)
{
	int at = pos_of(m, e);
	memmove(m->seq + at, m->seq + at + 1, sizeof *m->seq * (size_t)(m->n - at - 1));
	m->n--;
}

/* Remove e from the stream (kept for freeing). */
static void drop(struct mt *m, struct mev *e)
{
	unlink_ev(m, e);
	if (m->ndead == m->capdead) {
		m->capdead = m->capdead ? 2 * m->capdead : 64;
		struct mev **d = realloc(m->dead, sizeof *d * (size_t)m->capdead);
		if (!d)
			exit(2);
		m->dead = d;
	}
	m->dead[m->ndead++] = e;
}

/* Insert e right after q (q NULL: at the start), taking q's timestamp. */
static void insert_after(struct mt *m, struct mev *q, struct mev *e)
{
	int at = q ? pos_of(m, q) + 1 : 0;
	if (q)
		e->ts = q->ts;
	put_at(m, at, e);
}

static void move_after(struct mt *m, struct mev *e, struct mev *q)
{
	unlink_ev(m, e);
	insert_after(m, q, e);
}

static void swap_ev(struct mt *m, struct mev *a, struct mev *b)
{
	int i = pos_of(m, a), j = pos_of(m, b);
	uint64_t ta = a->ts;
	a->ts = b->ts;
	b->ts = ta;
	m->seq[i] = b;
	m->seq[j] = a;
}

/* ---- windows (gang path) ---- */

static void parse_windows(struct mt *m)
{
	int nc = m->ncpu;
	struct win *open = xmalloc(sizeof *open * (size_t)nc);
	int *isopen = xmalloc(sizeof *isopen * (size_t)nc);
	struct mev **lastplace = xmalloc(sizeof *lastplace * (size_t)nc);
	int cap = 256;
	free(m->w);
	m->w = xmalloc(sizeof *m->w * (size_t)cap);
	m->nw = 0;
	for (int i = 0; i < m->n; i++) {
		struct mev *e = m->seq[i];
		int c = e->cpu;
		if (c < 0 || c >= nc)
			continue;
		struct win *o = &open[c];
		switch (e->kind) {
		case K_PLACE:
			lastplace[c] = e;
			break;
		case K_GENTER:
			if (isopen[c] == 2)
				break;
			if (isopen[c] == 1 && o->pid != e->pid)
				isopen[c] = 0;
			if (!isopen[c]) {
				memset(o, 0, sizeof *o);
				o->cpu = c;
				o->pid = e->pid;
				isopen[c] = 1;
			}
			if (o->nb < MAXB) {
				o->bplace[o->nb] = lastplace[c];
				o->b[o->nb++] = e;
			}
			lastplace[c] = NULL;
			break;
		case K_CORE:
			if (F(m, e, "where") == 0) {
				if (isopen[c] == 1 && o->pid == e->pid) {
					o->enter = e;
					o->tgid = (int32_t)F(m, e, "tgid");
					o->runner = (int32_t)F(m, e, "runner_vcpu");
					o->nr = (int32_t)F(m, e, "n_runnable");
					isopen[c] = 2;
				} else {
					isopen[c] = 0;
				}
			} else {
				if (isopen[c] == 2) {
					o->exit = e;
					if (m->nw == cap) {
						cap *= 2;
						struct win *w = realloc(m->w, sizeof *w * (size_t)cap);
						if (!w)
							exit(2);
						m->w = w;
					}
					m->w[m->nw++] = *o;
				}
				isopen[c] = 0;
			}
			break;
		case K_GEXIT:
			if (isopen[c] == 2 && o->nx < MAXB)
				o->x[o->nx++] = e;
			break;
		case K_DECISION:
		case K_PLAN:
			break;
		default:
			if (isopen[c] == 1)
				isopen[c] = 0;
			break;
		}
	}
	/* match exits to entries (lowest entry first), groups by placement or id order */
	for (int k = 0; k < m->nw; k++) {
		struct win *w = &m->w[k];
		int used[MAXB] = { 0 };
		for (int i = 0; i < w->nb; i++) {
			w->bx[i] = -1;
			for (int j = 0; j < w->nx; j++)
				if (!used[j] && F(m, w->x[j], "vcpu_id") == F(m, w->b[i], "vcpu_id")) {
					used[j] = 1;
					w->bx[i] = j;
					break;
				}
		}
		w->ngrp = w->nb ? 1 : 0;
		for (int i = 0; i < w->nb; i++) {
			int brk = 0;
			if (i > w->nr && i > 0) {
				if (w->bplace[i] && w->bplace[i - 1])
					brk = F(m, w->bplace[i], "lpid") != F(m, w->bplace[i - 1], "lpid") ||
					      F(m, w->bplace[i], "vcore_first_id") != F(m, w->bplace[i - 1], "vcore_first_id");
				else
					brk = F(m, w->b[i], "vcpu_id") <= F(m, w->b[i - 1], "vcpu_id");
			}
			if (i == w->nr && i > 0)
				brk = 1;
			if (brk)
				w->ngrp++;
			w->grp[i] = w->ngrp - 1;
		}
	}
	free(open);
	free(isopen);
	free(lastplace);
}

/* The middle candidate (+pick); -1 if none. Only windows after the first tenth count. */
static int choose(const struct mt *m, const int *cand, int nc)
{
	if (nc <= 0)
		return -1;
	int i = nc / 2 + m->pick;
	if (i < 0)
		i = 0;
	if (i >= nc)
		i = nc - 1;
	return cand[i];
}

static int collect(struct mt *m, int (*fit)(struct mt *, struct win *), int **out)
{
	int *c = xmalloc(sizeof *c * (size_t)(m->nw + 1)), n = 0;
	for (int k = m->nw / 10; k < m->nw; k++)
		if (fit(m, &m->w[k]))
			c[n++] = k;
	*out = c;
	return n;
}

static struct mev *next_of_task(const struct mt *m, const struct mev *after, int32_t pid, const int *kinds, int nk)
{
	for (int i = pos_of(m, after) + 1; i < m->n; i++) {
		struct mev *e = m->seq[i];
		if (e->pid != pid)
			continue;
		for (int k = 0; k < nk; k++)
			if (e->kind == kinds[k])
				return e;
	}
	return NULL;
}

/* Task of vcpu (tgid, id): the pid of its kvmppc_run_vcpu_enter; -1 unknown. */
static int32_t task_of(const struct mt *m, int64_t tgid, int64_t id)
{
	for (int i = 0; i < m->n; i++) {
		struct mev *e = m->seq[i];
		if (e->kind == K_RENTER && F(m, e, "tgid") == tgid && F(m, e, "vcpu_id") == id)
			return e->pid;
	}
	return -1;
}

static int ntgids(const struct mt *m)
{
	int64_t seen[64];
	int n = 0;
	for (int i = 0; i < m->n; i++) {
		struct mev *e = m->seq[i];
		if (e->kind != K_RENTER)
			continue;
		int64_t t = F(m, e, "tgid");
		int k = 0;
		while (k < n && seen[k] != t)
			k++;
		if (k == n && n < 64)
			seen[n++] = t;
	}
	return n;
}

/* ---- mutations ---- */

/* a window whose master vcore has >= 2 vcpus, each exited in it */
static int fit_master2(struct mt *m, struct win *w)
{
	(void)m;
	if (w->nr < 2 || w->nb < w->nr)
		return 0;
	for (int i = 0; i < w->nr; i++)
		if (w->bx[i] < 0)
			return 0;
	return 1;
}

static int fit_master2_single(struct mt *m, struct win *w)
{
	return fit_master2(m, w) && w->nb == w->nr;
}

/* a window of one vcore (no piggybacking) whose vcpus all exited in it */
static int fit_master1_single(struct mt *m, struct win *w)
{
	(void)m;
	if (w->nr < 1 || w->nb != w->nr)
		return 0;
	for (int i = 0; i < w->nr; i++)
		if (w->bx[i] < 0)
			return 0;
	return 1;
}

static int mut_drop_guest_exit(struct mt *m)
{
	int *c, nc = collect(m, fit_master1_single, &c), k = choose(m, c, nc);
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k];
	int i = w->nr - 1;
	int64_t id = F(m, w->b[i], "vcpu_id");
	int32_t pid = task_of(m, w->tgid, id);
	struct mev *x = w->x[w->bx[i]];
	/* the next event about this vcpu after the window: its task leaving or entering the run,
	 * or its next guest entry (single-VM traces: an id is a vcpu) */
	int found = 0;
	for (int j = pos_of(m, w->exit) + 1; j < m->n && !found; j++) {
		struct mev *e = m->seq[j];
		if (((e->kind == K_RENTER || e->kind == K_REXIT) && e->pid == pid && F(m, e, "vcpu_id") == id) ||
		    (e->kind == K_GENTER && F(m, e, "vcpu_id") == id)) {
			m->mark = e;
			found = 1;
		}
	}
	if (!found || ntgids(m) != 1)
		return 1;
	drop(m, x);
	return 0;
}

static int mut_swap_guest_pair(struct mt *m)
{
	int *c, nc = collect(m, fit_master2_single, &c), k = choose(m, c, nc);
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k];
	int i = w->nr - 1;
	struct mev *x = w->x[w->bx[i]];
	swap_ev(m, w->b[i], x);
	m->mark = x;
	return 0;
}

static int mut_exit_outside(struct mt *m)
{
	int *c, nc = collect(m, fit_master1_single, &c), k = choose(m, c, nc);
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k];
	struct mev *x = w->x[w->bx[w->nr - 1]];
	move_after(m, x, w->exit);
	m->mark = x;
	return 0;
}

/* Is CPU d free (no window, no burst) at the time of event e, and has it never had a window
 * before e (so that replay knows nothing about it: a lone Exit makes it known idle)? */
static int cpu_state_at(const struct mt *m, int d, const struct mev *e, int *had_window)
{
	uint64_t ts = e->ts;
	*had_window = 0;
	for (int k = 0; k < m->nw; k++) {
		const struct win *w = &m->w[k];
		if (w->cpu != d)
			continue;
		if (w->b[0]->ts <= ts && w->exit->ts >= ts)
			return 0;
		if (w->exit->ts < ts)
			*had_window = 1;
	}
	return 1;
}

static int mut_two_windows(struct mt *m)
{
	int *c, nc = collect(m, fit_master2_single, &c);
	int k = -1, d = -1, had = 0;
	for (int t = 0; t < nc && k < 0; t++) {
		int idx = c[(nc / 2 + m->pick + t) % nc];
		struct win *w = &m->w[idx];
		for (int cand = 0; cand < m->ncpu; cand += 8)
			if (cand != w->cpu && cpu_state_at(m, cand, w->enter, &had) && !had) {
				k = idx;
				d = cand;
				break;
			}
	}
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k];
	int i = w->nr - 1;
	int64_t id = F(m, w->b[i], "vcpu_id");
	int32_t pid = task_of(m, w->tgid, id);
	if (pid < 0 || id == w->runner)
		return 1;
	/* on CPU d, vcpu id's own task runs a window of its own while id is in the guest on w */
	struct mev *lone = clone_ev(m, w->exit), *ge = clone_ev(m, w->b[i]), *en = clone_ev(m, w->enter);
	struct mev *gx = clone_ev(m, w->x[w->bx[i]]), *ex = clone_ev(m, w->exit);
	struct mev *all[] = { lone, ge, en, gx, ex };
	for (int j = 0; j < 5; j++) {
		all[j]->cpu = d;
		all[j]->pid = pid;
	}
	setf(m, ge, "ceded", 0);	/* it runs: the start rule sees a ready vcpu */
	setf(m, lone, "n_runnable", 1);
	setf(m, lone, "runner_vcpu", id);
	setf(m, en, "n_runnable", 1);
	setf(m, en, "runner_vcpu", id);
	setf(m, ex, "n_runnable", 1);
	setf(m, ex, "runner_vcpu", id);
	struct mev *at = w->enter;
	for (int j = 0; j < 5; j++) {
		insert_after(m, at, all[j]);
		at = all[j];
	}
	m->mark = ge;
	return 0;
}

/* a split run: a piggybacked vcore after the master; the first piggybacked vcpu exited here */
static int fit_split(struct mt *m, struct win *w)
{
	(void)m;
	return w->ngrp >= 2 && w->nb > w->nr && w->nr >= 1 && w->bx[w->nr] >= 0;
}

static int mut_move_split_vcpu(struct mt *m)
{
	int *c, nc = collect(m, fit_split, &c);
	int k = -1, k2 = -1;
	for (int t = 0; t < nc && k < 0; t++) {
		int idx = c[(nc / 2 + m->pick + t) % nc];
		struct win *w = &m->w[idx];
		int64_t id = F(m, w->b[w->nr], "vcpu_id");
		for (int j = idx + 1; j < m->nw; j++) {
			if (m->w[j].cpu != w->cpu)
				continue;
			int has = 0;
			for (int i = 0; i < m->w[j].nb; i++)
				has |= F(m, m->w[j].b[i], "vcpu_id") == id;
			if (!has) {
				k = idx;
				k2 = j;
			}
			break;
		}
	}
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k], *w2 = &m->w[k2];
	struct mev *x = w->x[w->bx[w->nr]];
	struct mev *before = w2->nx ? w2->x[w2->nx - 1] : w2->enter;
	move_after(m, x, before);
	m->mark = x;
	return 0;
}

/* a 2-way split run one of whose vcores has 3 or more vcpus in it */
static int fit_split_big(struct mt *m, struct win *w)
{
	if (w->ngrp != 2 || !fit_split(m, w))
		return 0;
	int size[2] = { 0, 0 };
	for (int i = 0; i < w->nb; i++)
		size[w->grp[i] & 1]++;
	return (size[0] >= 3 || size[1] >= 3) && w->nx == w->nb;
}

static int mut_split3_smt4(struct mt *m)
{
	int *c, nc = collect(m, fit_split_big, &c), k = choose(m, c, nc);
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k];
	/* a third vcore: vcpu 0 of a VM not in this run, entered last, exited last */
	struct mev *last = w->b[w->nb - 1];
	struct mev *ge = clone_ev(m, last), *gx = clone_ev(m, w->x[w->nx - 1]);
	setf(m, ge, "vcpu_id", 0);
	setf(m, gx, "vcpu_id", 0);
	setf(m, ge, "ceded", 0);
	setf(m, gx, "ceded", 0);
	/* stock events only: no kvmhv_vcpu_place for it (replay's layer 2 would report the
	 * plan/placement mismatch first) */
	insert_after(m, last, ge);
	insert_after(m, w->x[w->nx - 1], gx);
	m->mark = w->enter;
	return 0;
}

static int mut_split4_dmm2(struct mt *m)
{
	int cand = 0, want = 0, n = 0;
	for (int i = 0; i < m->n; i++)
		n += m->seq[i]->kind == K_PLAN && F(m, m->seq[i], "split") == 2 && F(m, m->seq[i], "dynamic_mt_modes") == 2;
	want = n / 2 + m->pick;
	for (int i = 0; i < m->n; i++) {
		struct mev *e = m->seq[i];
		if (e->kind == K_PLAN && F(m, e, "split") == 2 && F(m, e, "dynamic_mt_modes") == 2 && cand++ == want) {
			setf(m, e, "split", 4);
			m->mark = e;
			return 0;
		}
	}
	return 1;
}

/* a window of one vcore, >= 2 vcpus, run by its last vcpu (highest ptid), after which the
 * runner leaves for a virtual-mode hcall: *he gets its kvm_hcall_enter */
static struct mev *e31_hcall;

static int fit_e31(struct mt *m, struct win *w)
{
	if (!fit_master2_single(m, w) || F(m, w->b[w->nr - 1], "vcpu_id") != w->runner)
		return 0;
	int kinds[] = { K_RENTER, K_REXIT, K_HCENTER, K_HCEXIT, K_GENTER, K_CORE, K_BLOCKED };
	struct mev *rx = next_of_task(m, w->exit, w->pid, kinds, 7);
	if (!rx || rx->kind != K_REXIT || F(m, rx, "exit") != 19 || F(m, rx, "ret") != 2)
		return 0;
	struct mev *he = next_of_task(m, rx, w->pid, kinds, 7);
	e31_hcall = he && he->kind == K_HCENTER ? he : NULL;
	return e31_hcall != NULL && task_of(m, w->tgid, F(m, w->b[w->nr - 2], "vcpu_id")) >= 0;
}

static int mut_e31_start_busy(struct mt *m)
{
	int *c, nc = collect(m, fit_e31, &c), k = choose(m, c, nc);
	free(c);
	if (k < 0)
		return 1;
	struct win *w = &m->w[k];
	fit_e31(m, w);	/* sets e31_hcall for this window */
	int n = w->nr - 1;
	int64_t r = F(m, w->b[n - 1], "vcpu_id");
	int32_t pid = task_of(m, w->tgid, r);
	/* while the runner is in its hcall, the vcore runs again without it: the same window
	 * less the runner's vcpu (the last ptid, so nobody's ptid changes), run by vcpu r */
	struct mev *at = e31_hcall, *enter = NULL;
	struct mev *add[4 * MAXB];
	int na = 0;
	for (int i = 0; i < n; i++) {
		if (w->bplace[i])
			add[na++] = clone_ev(m, w->bplace[i]);
		add[na++] = clone_ev(m, w->b[i]);
	}
	add[na++] = enter = clone_ev(m, w->enter);
	for (int i = 0; i < n; i++)
		add[na++] = clone_ev(m, w->x[w->bx[i]]);
	add[na++] = clone_ev(m, w->exit);
	for (int i = 0; i < na; i++) {
		add[i]->pid = pid;
		if (add[i]->kind == K_CORE) {
			setf(m, add[i], "n_runnable", n);
			setf(m, add[i], "runner_vcpu", r);
		}
		insert_after(m, at, add[i]);
		at = add[i];
	}
	m->mark = enter;
	return 0;
}

/* a block Enter right after an all-ceded window of >= 2 vcpus by the same runner */
static int mut_block_sibling_runs(struct mt *m)
{
	int cand[4096], nc = 0;
	int32_t sib[4096];
	for (int k = m->nw / 10; k < m->nw && nc < 4096; k++) {
		struct win *w = &m->w[k];
		if (!fit_master2_single(m, w))
			continue;
		int allc = 1;
		int32_t s = -1;
		for (int i = 0; i < w->nr; i++) {
			allc &= F(m, w->x[w->bx[i]], "ceded") == 1;
			if (F(m, w->b[i], "vcpu_id") != w->runner)
				s = i;
		}
		int kinds[] = { K_BLOCKED, K_GENTER, K_CORE, K_RENTER, K_REXIT, K_HCENTER };
		struct mev *nx = next_of_task(m, w->exit, w->pid, kinds, 6);
		if (allc && s >= 0 && nx && nx->kind == K_BLOCKED && F(m, nx, "where") == 0) {
			sib[nc] = s;
			cand[nc++] = k;
		}
	}
	if (!nc)
		return 1;
	int t = nc / 2 + m->pick;
	t = t < 0 ? 0 : t >= nc ? nc - 1 : t;
	struct win *w = &m->w[cand[t]];
	struct mev *x = w->x[w->bx[sib[t]]];
	setf(m, x, "trap", 0x980);
	setf(m, x, "ceded", 0);
	int kinds[] = { K_BLOCKED };
	m->mark = next_of_task(m, w->exit, w->pid, kinds, 1);
	return 0;
}

/* the n-th (middle) event of kind k by a task whose next own stock event is of kind then */
static int drop_followed(struct mt *m, int k, int then, int64_t need_exit)
{
	struct mev **c = xmalloc(sizeof *c * (size_t)m->n), **nx = xmalloc(sizeof *nx * (size_t)m->n);
	int nc = 0;
	int kinds[] = { K_RENTER, K_REXIT, K_HCENTER, K_HCEXIT, K_OTHER };
	for (int i = m->n / 10; i < m->n; i++) {
		struct mev *e = m->seq[i];
		if (e->kind != k || (need_exit >= 0 && F(m, e, "exit") != need_exit))
			continue;
		struct mev *n = next_of_task(m, e, e->pid, kinds, 5);
		if (n && n->kind == then) {
			nx[nc] = n;
			c[nc++] = e;
		}
	}
	int rc = 1;
	if (nc) {
		int t = nc / 2 + m->pick;
		t = t < 0 ? 0 : t >= nc ? nc - 1 : t;
		drop(m, c[t]);
		m->mark = nx[t];
		rc = 0;
	}
	free(c);
	free(nx);
	return rc;
}

static int mut_run_enter_no_exit(struct mt *m)
{
	return drop_followed(m, K_REXIT, K_HCENTER, 19);
}

static int mut_hcall_exit_no_enter(struct mt *m)
{
	return drop_followed(m, K_HCENTER, K_HCEXIT, -1);
}

/* lost: about 2 ms of one window CPU's events go missing, recorded as a `lost` row */
static int mut_lost(struct mt *m)
{
	if (m->nw < 4)
		return 1;
	struct win *w = &m->w[m->nw / 2 + m->pick < m->nw ? m->nw / 2 + m->pick : m->nw / 2];
	uint64_t from = w->b[0]->ts, to = from + 2000000;
	int cpu = w->cpu;
	uint64_t count = 0;
	for (int i = 0; i < m->n;) {
		struct mev *e = m->seq[i];
		if (e->cpu == cpu && e->ts >= from && e->ts <= to) {
			drop(m, e);
			count++;
		} else {
			if (!m->mark && e->ts > to && e->cpu == cpu)
				m->mark = e;
			i++;
		}
	}
	m->lost_cpu = cpu;
	m->lost_from = from;
	m->lost_to = to;
	m->lost_count = count;
	return m->mark ? 0 : 1;
}

static const struct {
	const char *name;
	int (*fn)(struct mt *);
	const char *doc;
} muts[] = {
	{ "drop-guest-exit", mut_drop_guest_exit,
	  "drop a master vcpu's kvm_guest_exit (single-VM trace); seq: that vcpu's next event" },
	{ "swap-guest-pair", mut_swap_guest_pair,
	  "swap the kvm_guest_enter and kvm_guest_exit of the master vcore's last vcpu; seq: the exit" },
	{ "move-split-vcpu", mut_move_split_vcpu,
	  "move the kvm_guest_exit of a split run's piggybacked vcpu into the next window; seq: that exit" },
	{ "split3-smt4", mut_split3_smt4,
	  "add a third vcore to a 2-way split run holding a vcore of >= 3 vcpus; seq: its Enter" },
	{ "split4-dmm2", mut_split4_dmm2,
	  "a kvmhv_core_plan under dynamic_mt_modes=2 claims split 4; seq: that plan" },
	{ "e31-start-busy", mut_e31_start_busy,
	  "while a runner is in a virtual-mode hcall its vcore runs without it (E31); seq: that Enter" },
	{ "block-sibling-runs", mut_block_sibling_runs,
	  "a vcore blocks after an exit where a sibling did not cede (trap 0x980); seq: the block Enter" },
	{ "exit-outside-window", mut_exit_outside,
	  "move a master vcpu's kvm_guest_exit after its window's Exit; seq: that exit" },
	{ "two-windows", mut_two_windows,
	  "a vcpu in the guest also enters a window of its own on an idle core; seq: that entry" },
	{ "run-enter-no-exit", mut_run_enter_no_exit,
	  "drop a kvmppc_run_vcpu_exit(19, 2); seq: the task's next event (kvm_hcall_enter)" },
	{ "hcall-exit-no-enter", mut_hcall_exit_no_enter, "drop a kvm_hcall_enter; seq: its kvm_hcall_exit" },
	{ "lost", mut_lost,
	  "2 ms of one window CPU's events lost (a `lost` row); seq: the next event on that CPU" },
};
#define NMUT (int)(sizeof muts / sizeof muts[0])

/* ---- input and output ---- */

static int load(struct mt *m, struct hv_err *err)
{
	struct hv_reader *rd;
	const struct hv_row *row;
	int rc = hv_reader_open(m->in, NULL, &rd, err);
	if (rc < 0)
		return rc;
	while ((rc = hv_reader_next(rd, &row, err)) == 1) {
		struct mev tmp = { .type = row->type, .ts = row->ts, .cpu = row->cpu, .pid = row->pid };
		tmp.v = (struct hv_value *)row->v;
		struct mev *e = clone_ev(m, &tmp);
		e->kind = kind_of(row->def);
		put_at(m, m->n, e);
		if (row->cpu + 1 > m->ncpu)
			m->ncpu = row->cpu + 1;
	}
	hv_reader_close(rd);
	return rc;
}

static int copy_facts(struct mt *m, struct hv_store *out, struct hv_err *err)
{
	sqlite3 *db = hv_store_sqlite(m->in);
	sqlite3_stmt *s;
	int rc = 0;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &s, NULL) != SQLITE_OK)
		return hv_err_set(err, HV_E_SQL, "%s: %s", hv_store_path(m->in), sqlite3_errmsg(db));
	while (rc >= 0 && sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0), *v = (const char *)sqlite3_column_text(s, 1);
		if (k && strcmp(k, "events") && strcmp(k, "hvtrace_version") && strcmp(k, "schema_version"))
			rc = hv_store_set_meta(out, k, v ? v : "", err);
	}
	sqlite3_finalize(s);
	if (rc >= 0 && sqlite3_prepare_v2(db, "SELECT cpu, ts_from, ts_to, count, source FROM lost", -1, &s, NULL) == SQLITE_OK) {
		while (rc >= 0 && sqlite3_step(s) == SQLITE_ROW)
			rc = hv_store_add_lost(out, sqlite3_column_int(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
					       (uint64_t)sqlite3_column_int64(s, 2), (uint64_t)sqlite3_column_int64(s, 3),
					       (const char *)sqlite3_column_text(s, 4), err);
		sqlite3_finalize(s);
	}
	if (rc >= 0 && sqlite3_prepare_v2(db, "SELECT pid, tgid, comm, ts FROM task", -1, &s, NULL) == SQLITE_OK) {
		while (rc >= 0 && sqlite3_step(s) == SQLITE_ROW)
			rc = hv_store_set_task(out, sqlite3_column_int(s, 0), sqlite3_column_int(s, 1),
					       (const char *)sqlite3_column_text(s, 2), (uint64_t)sqlite3_column_int64(s, 3),
					       err);
		sqlite3_finalize(s);
	}
	if (rc >= 0 && sqlite3_prepare_v2(db, "SELECT key, value, detail FROM stats", -1, &s, NULL) == SQLITE_OK) {
		while (rc >= 0 && sqlite3_step(s) == SQLITE_ROW)
			rc = hv_store_stat_add(out, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
					       (const char *)sqlite3_column_text(s, 2), err);
		sqlite3_finalize(s);
	}
	return rc < 0 ? rc : 0;
}

static int write_out(struct mt *m, const char *path, uint64_t *mark_seq, struct hv_err *err)
{
	struct hv_store *out;
	int rc = hv_store_create(path, 0, &out, err);
	if (rc < 0)
		return rc;
	int nt = hv_store_ntypes(m->in);
	int *map = xmalloc(sizeof *map * (size_t)(nt + 1));
	for (int t = 0; t < nt && rc >= 0; t++) {
		const struct hv_event_def *d = hv_store_type_def(m->in, t);
		rc = map[t] = hv_store_add_type(out, d, "schema", err);
	}
	if (rc >= 0)
		rc = copy_facts(m, out, err);
	if (rc >= 0 && m->lost_count)
		rc = hv_store_add_lost(out, m->lost_cpu, m->lost_from, m->lost_to, m->lost_count, "helper_mutate", err);
	for (int i = 0; i < m->n && rc >= 0; i++) {
		struct mev *e = m->seq[i];
		rc = hv_store_append(out, map[e->type], e->ts, e->cpu, e->pid, e->v, err);
		if (e == m->mark)
			*mark_seq = hv_store_last_seq(out);
	}
	if (rc >= 0)
		rc = hv_store_commit(out, err);
	hv_store_close(out);
	free(map);
	return rc < 0 ? rc : 0;
}

static void free_ev(const struct mt *m, struct mev *e)
{
	const struct hv_event_def *d = def_of(m, e);
	for (int j = 0; j < d->nfields; j++)
		free((void *)e->v[j].p);
	free(e->v);
	free(e);
}

static void free_all(struct mt *m)
{
	for (int i = 0; i < m->n; i++)
		free_ev(m, m->seq[i]);
	for (int i = 0; i < m->ndead; i++)
		free_ev(m, m->dead[i]);
	free(m->seq);
	free(m->dead);
	free(m->w);
}

static int usage(void)
{
	fprintf(stderr, "usage: helper_mutate IN.db OUT.db MUTATION [--pick N] | helper_mutate --list\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (int i = 0; i < NMUT; i++)
			printf("%-22s %s\n", muts[i].name, muts[i].doc);
		return 0;
	}
	if (argc != 4 && !(argc == 6 && !strcmp(argv[4], "--pick")))
		return usage();
	struct mt m = { .pick = argc == 6 ? atoi(argv[5]) : 0 };
	int which = -1;
	for (int i = 0; i < NMUT; i++)
		if (!strcmp(argv[3], muts[i].name))
			which = i;
	if (which < 0) {
		fprintf(stderr, "helper_mutate: unknown mutation '%s' (--list shows them)\n", argv[3]);
		return 2;
	}
	struct hv_err err = { 0, "" };
	int rc = hv_store_open(argv[1], 0, &m.in, &err);
	if (rc >= 0)
		rc = load(&m, &err);
	if (rc < 0) {
		fprintf(stderr, "helper_mutate: %s\n", err.msg);
		free_all(&m);
		hv_store_close(m.in);
		return 2;
	}
	parse_windows(&m);
	int r = muts[which].fn(&m);
	uint64_t seq = 0;
	if (r == 0 && (rc = write_out(&m, argv[2], &seq, &err)) < 0) {
		fprintf(stderr, "helper_mutate: %s\n", err.msg);
		r = 2;
	} else if (r == 0) {
		printf("%" PRIu64 "\n", seq);
	} else {
		fprintf(stderr, "helper_mutate: %s: no site for '%s' in this trace\n", argv[1], argv[3]);
	}
	free_all(&m);
	hv_store_close(m.in);
	return r;
}
