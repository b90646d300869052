/*
 * Layers 2/3 bookkeeping (see rp_l2.h): set-up from the replay's facts, the per vcpu / vcore /
 * CPU state the decision checks read, and the entry point rp_l2_event() that the engine
 * calls for every event (stock ones after layer 1, kvm_hv_sched decision events only here).
 * Each event first goes to the monitors (diff.c, mon_plan.c, mon_rules.c), which see the
 * state as it was before the event, then updates the state.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rp_l2.h"

static const int l2_mons[] = { RP_MON_SPLIT_MODE, RP_MON_CORE_PLAN, RP_MON_THREAD_PLACE, RP_MON_START_RULE,
			       RP_MON_CEDE_RULE, RP_MON_BLOCK_RULE, RP_MON_EXIT_PULL, RP_MON_DIFF };

/* ---- maps: key -> index into a growable array ---- */

static uint32_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

static uint64_t key2(int32_t a, int32_t b)
{
	return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
}

/* Find key; with `add`, insert index `add - 1` when missing. Returns the index or -1. */
static int map_get(uint64_t **keys, int32_t **idx, uint32_t *cap, int n, uint64_t key, int add)
{
	if (add && (uint32_t)(n + 1) * 2 > *cap) {
		uint32_t nc = *cap ? *cap * 2 : 64;
		uint64_t *nk = calloc(nc, sizeof *nk);
		int32_t *ni = calloc(nc, sizeof *ni);
		if (!nk || !ni) {
			free(nk);
			free(ni);
			return -1;
		}
		for (uint32_t i = 0; i < *cap; i++) {
			if (!(*keys)[i])
				continue;
			uint32_t j = mix((*keys)[i]) & (nc - 1);
			while (nk[j])
				j = (j + 1) & (nc - 1);
			nk[j] = (*keys)[i];
			ni[j] = (*idx)[i];
		}
		free(*keys);
		free(*idx);
		*keys = nk;
		*idx = ni;
		*cap = nc;
	}
	if (!*cap)
		return -1;
	uint32_t j = mix(key) & (*cap - 1);
	while ((*keys)[j]) {
		if ((*keys)[j] == key)
			return (*idx)[j];
		j = (j + 1) & (*cap - 1);
	}
	if (!add)
		return -1;
	(*keys)[j] = key;
	(*idx)[j] = add - 1;
	return add - 1;
}

static void *grow(void *arr, int *cap, int n, size_t elem)
{
	if (n < *cap)
		return arr;
	int nc = *cap ? *cap * 2 : 64;
	void *p = realloc(arr, (size_t)nc * elem);
	if (p)
		*cap = nc;
	return p;
}

struct l2_vcpu *l2_vcpu_find(struct rp *rp, int32_t tgid, int32_t id)
{
	struct rp_l2 *l = rp->l2;
	int i = map_get(&l->vkeys, &l->vidx, &l->vcap, l->nvcpus, key2(tgid, id), 0);
	return i >= 0 ? &l->vcpus[i] : NULL;
}

struct l2_vcpu *l2_vcpu(struct rp *rp, int32_t tgid, int32_t id)
{
	struct rp_l2 *l = rp->l2;
	struct l2_vcpu *v = l2_vcpu_find(rp, tgid, id);
	if (v || tgid < 0)
		return v;
	void *p = grow(l->vcpus, &l->capvcpus, l->nvcpus, sizeof *l->vcpus);
	if (!p)
		return NULL;
	l->vcpus = p;
	if (map_get(&l->vkeys, &l->vidx, &l->vcap, l->nvcpus, key2(tgid, id), l->nvcpus + 1) < 0)
		return NULL;
	v = &l->vcpus[l->nvcpus++];
	memset(v, 0, sizeof *v);
	v->tgid = tgid;
	v->id = id;
	v->ptid = v->sub = -1;
	return v;
}

struct l2_vcore *l2_vcore(struct rp *rp, int32_t tgid, int32_t first)
{
	struct rp_l2 *l = rp->l2;
	if (tgid < 0 || first < 0)
		return NULL;
	int i = map_get(&l->ckeys, &l->cidx, &l->ccap, l->nvcores, key2(tgid, first), 0);
	if (i >= 0)
		return &l->vcores[i];
	void *p = grow(l->vcores, &l->capvcores, l->nvcores, sizeof *l->vcores);
	if (!p)
		return NULL;
	l->vcores = p;
	if (map_get(&l->ckeys, &l->cidx, &l->ccap, l->nvcores, key2(tgid, first), l->nvcores + 1) < 0)
		return NULL;
	struct l2_vcore *vc = &l->vcores[l->nvcores++];
	memset(vc, 0, sizeof *vc);
	vc->tgid = tgid;
	vc->first = first;
	vc->state = -1;
	return vc;
}

struct l2_cpu *l2_cpu(struct rp *rp, int32_t cpu)
{
	struct rp_l2 *l = rp->l2;
	if (cpu < 0 || cpu >= 65536)
		return NULL;
	if (cpu >= l->ncpus) {
		int n = cpu + 16;
		struct l2_cpu *p = realloc(l->cpus, (size_t)n * sizeof *p);
		if (!p)
			return NULL;
		memset(p + l->ncpus, 0, (size_t)(n - l->ncpus) * sizeof *p);
		l->cpus = p;
		l->ncpus = n;
	}
	return &l->cpus[cpu];
}

int32_t l2_tgid_of_lpid(const struct rp *rp, int64_t lpid)
{
	for (int i = 0; i < rp->l2->nvms; i++)
		if (rp->l2->vms[i].lpid == lpid)
			return rp->l2->vms[i].tgid;
	return -1;
}

int l2_smt(const struct rp *rp, int32_t tgid)
{
	for (int i = 0; i < rp->l2->nvms; i++)
		if (rp->l2->vms[i].tgid == tgid && rp->l2->vms[i].smt > 0)
			return rp->l2->vms[i].smt;
	return rp_vm_smt(rp, tgid);
}

int32_t l2_first(const struct rp *rp, int32_t tgid, int32_t id)
{
	int smt = l2_smt(rp, tgid);
	return smt > 0 && id >= 0 ? id - id % smt : -1;
}

int l2_trap_resumes(int32_t trap)
{
	switch (trap) {
	case 0:
	case 0x100:	/* SYSTEM_RESET */
	case 0x500:	/* EXTERNAL */
	case 0x502:	/* EXTERNAL_HV */
	case 0x980:	/* HV_DECREMENTER */
	case 0xe60:	/* HMI */
	case 0xe80:	/* H_DOORBELL */
	case 0xea0:	/* H_VIRT */
	case 0xf00:	/* PERFMON */
		return 1;
	default:
		return 0;
	}
}

void l2_start_counts(struct rp *rp, int32_t tgid, int32_t first, struct hv_start_counts *c,
		     int32_t *busy_id, int32_t *user_id)
{
	int smt = l2_smt(rp, tgid);
	memset(c, 0, sizeof *c);
	*busy_id = *user_id = -1;
	c->num_threads = smt;
	for (int i = 0; i < smt; i++) {
		const struct l2_vcpu *v = l2_vcpu_find(rp, tgid, first + i);
		if (!v || !v->ever) {
			c->n_never++;
		} else if (v->in_run && !v->removed) {
			c->n_runnable++;
			if (!(v->exited && v->last_ceded && !v->kicked))
				c->n_ready++;
		} else if (!v->in_run && v->out) {
			c->n_user++;
			if (*user_id < 0)
				*user_id = v->id;
		} else {
			c->n_busy++;
			if (*busy_id < 0)
				*busy_id = v->id;
		}
	}
}

void l2_run_counts(struct rp *rp, const struct l2_cpu *c, int nr, int32_t tgid, int32_t first,
		   struct hv_start_counts *cnt, int32_t *busy_id, int32_t *user_id)
{
	int smt = l2_smt(rp, tgid);
	memset(cnt, 0, sizeof *cnt);
	*busy_id = *user_id = -1;
	cnt->num_threads = smt;
	for (int i = 0; i < smt; i++) {
		int32_t id = first + i, in_burst = 0;
		for (int k = 0; k < nr && k < c->nb; k++)
			if (c->b[k].id == id) {
				in_burst = 1;
				if (!c->b[k].ceded)
					cnt->n_ready++;
			}
		const struct l2_vcpu *v = l2_vcpu_find(rp, tgid, id);
		if (in_burst)
			cnt->n_runnable++;
		else if (!v || !v->ever || (v->in_run && !v->removed))
			cnt->n_never++;	/* never ran, unknown, or runnable too late for this run */
		else if (!v->in_run && v->out) {
			cnt->n_user++;
			if (*user_id < 0)
				*user_id = id;
		} else {
			cnt->n_busy++;
			if (*busy_id < 0)
				*busy_id = id;
		}
	}
}

const char *l2_why_busy(struct rp *rp, int32_t tgid, int32_t id, char *buf, size_t n)
{
	const struct l2_vcpu *v = l2_vcpu_find(rp, tgid, id);
	if (!v)
		snprintf(buf, n, "unknown");
	else if (v->in_run && v->removed)
		snprintf(buf, n, "exited with trap 0x%x for host work, its task not back yet", (unsigned)v->last_trap);
	else if (v->out)
		snprintf(buf, n, "out of KVM_RUN in userspace");
	else
		snprintf(buf, n, "in the host between kvmppc_run_vcpu_exit and its next enter");
	return buf;
}

/* ---- set-up ---- */

static void load_vms(struct rp *rp)
{
	struct rp_l2 *l = rp->l2;
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(hv_store_sqlite(rp->st), "SELECT key, value FROM meta WHERE key LIKE 'vm.%.tgid'", -1, &s,
			       NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		const char *v = (const char *)sqlite3_column_text(s, 1);
		long long lpid;
		if (!k || !v || sscanf(k, "vm.%lld.tgid", &lpid) != 1)
			continue;
		void *p = realloc(l->vms, (size_t)(l->nvms + 1) * sizeof *l->vms);
		if (!p)
			break;
		l->vms = p;
		l->vms[l->nvms].lpid = lpid;
		l->vms[l->nvms].tgid = atoi(v);
		l->vms[l->nvms++].smt = -1;
	}
	sqlite3_finalize(s);
	for (int i = 0; i < l->nvms; i++) {
		char k[64];
		snprintf(k, sizeof k, "vm.%lld.smt_mode", (long long)l->vms[i].lpid);
		if (sqlite3_prepare_v2(hv_store_sqlite(rp->st), "SELECT value FROM meta WHERE key = ?", -1, &s, NULL) != SQLITE_OK)
			return;
		sqlite3_bind_text(s, 1, k, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(s) == SQLITE_ROW)
			l->vms[i].smt = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
}

static long meta_long(struct rp *rp, const char *name, long dflt, int *known)
{
	char buf[64];
	if (!rp_meta_get(rp->st, name, buf, sizeof buf, NULL, 0))
		return dflt;
	if (known)
		*known = 1;
	if (!strcmp(buf, "Y") || !strcmp(buf, "y"))
		return 1;
	if (!strcmp(buf, "N") || !strcmp(buf, "n"))
		return 0;
	return strtol(buf, NULL, 0);
}

int rp_l2_init(struct rp *rp, const struct hv_replay_opts *o)
{
	const struct hv_profile *mp = rp->prof->gang ? hv_profile_find(rp->prof->name) : NULL;
	for (size_t i = 0; i < sizeof l2_mons / sizeof l2_mons[0]; i++)
		rp->sum->mon[l2_mons[i]].active = mp != NULL;
	if (!mp)
		return 0;
	struct rp_l2 *l = calloc(1, sizeof *l);
	if (!l)
		return hv_err_set(rp->err, HV_E_NOMEM, "out of memory");
	rp->l2 = l;
	l->mp = mp;
	hv_params_default(&l->par, rp->chip == 7 ? 7 : 8);
	if (rp->par.tpc > 0)
		l->par.threads_per_core = rp->par.tpc;
	int tps_meta = 0;
	long tps = meta_long(rp, "threads_per_subcore", 0, &tps_meta);
	if (rp_threads_per_subcore(rp) > 0 && !tps_meta)
		tps = rp_threads_per_subcore(rp);
	for (int i = 0; o && i < o->nparams; i++)
		if (!strcmp(o->params[i].name, "threads_per_subcore") && o->params[i].value)
			tps = strtol(o->params[i].value, NULL, 0), tps_meta = 1;
	l->tps_known = tps > 0;
	l->par.threads_per_subcore = tps > 0 ? (int)tps : l->par.threads_per_core;
	l->dmm_known = rp->par.dmm >= 0;
	if (l->dmm_known)
		l->par.dynamic_mt_modes = rp->par.dmm;
	if (rp->par.target_smt >= 0)
		l->par.target_smt_mode = rp->par.target_smt;
	l->par.one_vm_per_core = (int)meta_long(rp, "one_vm_per_core", 0, NULL);
	l->par.halt_poll_ns = (uint32_t)meta_long(rp, "halt_poll_ns", l->par.halt_poll_ns, NULL);
	l->par.halt_poll_ns_grow = (uint32_t)meta_long(rp, "halt_poll_ns_grow", l->par.halt_poll_ns_grow, NULL);
	l->par.halt_poll_ns_grow_start =
		(uint32_t)meta_long(rp, "halt_poll_ns_grow_start", l->par.halt_poll_ns_grow_start, NULL);
	l->par.halt_poll_ns_shrink = (uint32_t)meta_long(rp, "halt_poll_ns_shrink", l->par.halt_poll_ns_shrink, NULL);
	load_vms(rp);
	return 0;
}

void rp_l2_free(struct rp *rp)
{
	struct rp_l2 *l = rp->l2;
	if (!l)
		return;
	free(l->vms);
	free(l->vcpus);
	free(l->vcores);
	free(l->vkeys);
	free(l->vidx);
	free(l->ckeys);
	free(l->cidx);
	free(l->cpus);
	free(l);
	rp->l2 = NULL;
}

/* Lost events: everything learnt so far may be stale; start again from scratch (objects are
 * re-learnt from the next events, which count as unverified while the engine is in_lost). */
void rp_l2_forget(struct rp *rp)
{
	struct rp_l2 *l = rp->l2;
	if (!l)
		return;
	l->nvcpus = l->nvcores = 0;
	l->forgot = 1;
	if (l->vkeys)
		memset(l->vkeys, 0, l->vcap * sizeof *l->vkeys);
	if (l->ckeys)
		memset(l->ckeys, 0, l->ccap * sizeof *l->ckeys);
	if (l->cpus)
		memset(l->cpus, 0, (size_t)l->ncpus * sizeof *l->cpus);
}

/* ---- state updates ---- */

static int32_t task_tgid(struct rp *rp, int32_t pid, int32_t *vcpu)
{
	struct rp_task *t = rp_task_find(rp, pid);
	if (vcpu)
		*vcpu = t ? t->vcpu : -1;
	return t ? t->tgid : -1;
}

/* The vcpu of a kvm_guest_exit in the window on c: post_guest_process goes through the
 * window's vcores in order (master first), each in ptid order, so look from the vcore now
 * exiting onwards for one that has this id entered (or runnable too late to enter). */
static struct l2_vcpu *exit_vcpu(struct rp *rp, struct l2_cpu *c, int32_t id)
{
	for (int g = c->xg; g < c->ng; g++) {
		int smt = l2_smt(rp, c->gtgid[g]);
		if (c->gtgid[g] < 0 || id < c->gfirst[g] || id >= c->gfirst[g] + smt)
			continue;
		struct l2_vcpu *v = l2_vcpu_find(rp, c->gtgid[g], id);
		if (v && (v->in_win || (v->in_run && !v->exited))) {
			c->xg = g;
			return v;
		}
	}
	return NULL;
}

static void add_group(struct rp *rp, struct l2_cpu *c, int32_t tgid, int32_t id)
{
	int32_t first = tgid >= 0 ? l2_first(rp, tgid, id) : -1;
	if (c->ng > 0 && c->gtgid[c->ng - 1] == tgid && c->gfirst[c->ng - 1] == first)
		return;
	if (c->ng < L2_MAXB) {
		c->gtgid[c->ng] = tgid;
		c->gfirst[c->ng++] = first;
	}
}

/* kvmppc_run_core Enter: attribute the burst (master vcore = first n_runnable entries; then
 * the plan's subcores, else layer 1's attribution). */
static void window_open(struct rp *rp, struct l2_cpu *c, const struct rp_ev *ev)
{
	int nr = (int)ev->f[HV_F_KVMPPC_RUN_CORE_N_RUNNABLE];
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID];
	struct rp_cpu *rc = ev->cpu < rp->ncpus ? &rp->cpus[ev->cpu] : NULL;
	int sub = 0, left = nr;
	c->ng = c->xg = 0;
	add_group(rp, c, tgid, (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU]);
	for (int i = 0; i < c->nb; i++) {
		int32_t t = -1;
		if (i < nr) {
			t = tgid;
		} else if (c->has_plan) {
			while (left <= 0 && sub < 3) {
				sub++;
				left = (int)c->plan.f[HV_F_KVMHV_CORE_PLAN_N_RUNNABLE0 + 5 * sub];
			}
			if (left > 0)
				t = l2_tgid_of_lpid(rp, c->plan.f[HV_F_KVMHV_CORE_PLAN_LPID0 + 5 * sub]);
		} else if (rc && i < rc->nb && rc->b[i].id == c->b[i].id) {
			t = rc->b[i].tgid;
		}
		left--;
		c->btgid[i] = t;
		add_group(rp, c, t, c->b[i].id);
		struct l2_vcpu *v = t >= 0 ? l2_vcpu(rp, t, c->b[i].id) : NULL;
		if (v)
			v->in_win = 1;
	}
	c->win = 1;
	c->win_tgid = tgid;
}

static void window_close(struct rp *rp, struct l2_cpu *c)
{
	for (int i = 0; i < c->nb; i++) {
		struct l2_vcpu *v = c->btgid[i] >= 0 ? l2_vcpu_find(rp, c->btgid[i], c->b[i].id) : NULL;
		if (v)
			v->in_win = 0;
	}
	c->win = 0;
	c->nb = 0;
	c->has_plan = 0;
	c->nchk = 0;
	c->chk_overflow = 0;
	c->nplace = 0;
}

/* A late joiner's kvm_guest_enter (its own task, its vcore in an open window elsewhere). */
static int late_join(struct rp *rp, const struct rp_ev *ev, int32_t id)
{
	int32_t tv, tg = task_tgid(rp, ev->pid, &tv);
	if (tg < 0 || tv != id)
		return 0;
	struct l2_vcpu *v = l2_vcpu_find(rp, tg, id);
	if (!v || !v->in_run || v->in_win)
		return 0;
	int32_t first = l2_first(rp, tg, id);
	int smt = l2_smt(rp, tg);
	for (int i = 0; first >= 0 && i < smt; i++) {
		struct l2_vcpu *w = l2_vcpu_find(rp, tg, first + i);
		if (w && w != v && w->in_win) {
			v->in_win = 1;
			return 1;
		}
	}
	return 0;
}

static void update(struct rp *rp, struct l2_cpu *c, const struct rp_ev *ev)
{
	struct l2_vcpu *v;
	int32_t tv, tg;
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		v = l2_vcpu(rp, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID],
			    (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID]);
		if (v) {
			v->ever = v->in_run = 1;
			v->out = v->exited = v->removed = v->kicked = v->in_win = 0;
			v->arrival = ev->seq;
			v->runs++;
		}
		break;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		tg = task_tgid(rp, ev->pid, NULL);
		v = l2_vcpu_find(rp, tg, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_VCPU_ID]);
		if (v)
			v->in_run = v->removed = v->in_win = 0;
		break;
	case HV_EV_KVM_USERSPACE_EXIT:
		tg = task_tgid(rp, ev->pid, &tv);
		v = l2_vcpu_find(rp, tg, tv);
		if (v && !v->in_run)
			v->out = 1;
		break;
	case HV_EV_KVM_GUEST_ENTER: {
		int32_t id = (int32_t)ev->f[HV_F_KVM_GUEST_ENTER_VCPU_ID];
		if (late_join(rp, ev, id))
			break;
		if (c->win)
			break;
		if (c->nb > 0 && c->b[0].pid != ev->pid)
			c->nb = 0;	/* a new burst by another task */
		if (c->nb < L2_MAXB) {
			c->b[c->nb].id = id;
			c->b[c->nb].pid = ev->pid;
			c->b[c->nb].ceded = (uint8_t)ev->f[HV_F_KVM_GUEST_ENTER_CEDED];
			c->btgid[c->nb++] = -1;
		}
		break;
	}
	case HV_EV_KVM_GUEST_EXIT:
		c->gx_id = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_VCPU_ID];
		c->gx_trap = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_TRAP];
		c->gx_ceded = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_CEDED];
		v = c->win ? exit_vcpu(rp, c, c->gx_id) : NULL;
		if (v) {
			v->exited = 1;
			v->last_ceded = (uint8_t)c->gx_ceded;
			v->last_trap = c->gx_trap;
			v->kicked = 0;
			v->in_win = 0;
			v->removed = !l2_trap_resumes(c->gx_trap);
		}
		break;
	case HV_EV_KVMPPC_RUN_CORE:
		if (ev->f[HV_F_KVMPPC_RUN_CORE_WHERE] == 0)
			window_open(rp, c, ev);
		else
			window_close(rp, c);
		break;
	case HV_EV_KVMHV_VCPU_PLACE:
		tg = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_VCPU_PLACE_LPID]);
		v = l2_vcpu(rp, tg, (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_VCPU_ID]);
		if (v) {
			v->ptid = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_PTID];
			v->sub = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_SUB];
		}
		if (!ev->f[HV_F_KVMHV_VCPU_PLACE_LATE_JOIN] && c->nplace < HV_MAX_SMT * 2) {
			struct l2_place *p = &c->place[c->nplace++];
			p->tgid = tg;
			p->id = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_VCPU_ID];
			p->ptid = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_PTID];
			p->sub = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_SUB];
			p->ceded = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_CEDED];
		}
		break;
	case HV_EV_KVMHV_CORE_PLAN:
		c->has_plan = 1;
		c->plan = *ev;
		c->nplace = 0;
		c->nchk = 0;
		c->chk_overflow = 0;
		break;
	case HV_EV_KVMHV_PIGGYBACK_CHECK:
		if (c->nchk < L2_MAXCHK) {
			struct l2_chk *k = &c->chk[c->nchk++];
			k->lpid = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_CAND_LPID];
			k->first = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_CAND_FIRST_VCPUID];
			k->nthr = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_CAND_NUM_THREADS];
			k->nrun = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_CAND_N_RUNNABLE];
			k->result = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_RESULT];
			k->ns_after = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_N_SUBCORES_AFTER];
			k->total_after = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_TOTAL_THREADS_AFTER];
			k->max_after = ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_MAX_SUBCORE_THREADS_AFTER];
			k->seq = ev->seq;
		} else {
			c->chk_overflow = 1;
		}
		break;
	case HV_EV_KVMHV_CORE_ABORT:
		c->nchk = 0;
		c->chk_overflow = 0;
		c->has_plan = 0;
		c->nplace = 0;
		break;
	case HV_EV_KVMHV_VCORE_STATE: {
		struct l2_vcore *vc = l2_vcore(rp, l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_VCORE_STATE_LPID]),
					       (int32_t)ev->f[HV_F_KVMHV_VCORE_STATE_FIRST_VCPUID]);
		if (vc)
			vc->state = (int)ev->f[HV_F_KVMHV_VCORE_STATE_NEW];
		break;
	}
	case HV_EV_KVMHV_CORE_EXIT: {
		int ns = c->has_plan ? (int)c->plan.f[HV_F_KVMHV_CORE_PLAN_N_SUBCORES] : 0;
		c->has_exit = ns > 0;
		c->exit_ns = ns;
		c->exit_pulled = (uint8_t)ev->f[HV_F_KVMHV_CORE_EXIT_PULLED_MASK];
		for (int k = 0; k < ns && k < HV_MAX_SUBCORES; k++) {
			c->exit_tgid[k] = l2_tgid_of_lpid(rp, c->plan.f[HV_F_KVMHV_CORE_PLAN_LPID0 + 5 * k]);
			c->exit_first[k] = (int32_t)c->plan.f[HV_F_KVMHV_CORE_PLAN_FIRST_VCPUID0 + 5 * k];
			c->exit_ptid[k] = (int32_t)ev->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_PTID0 + k];
			c->exit_trap[k] = (int32_t)ev->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_TRAP0 + k];
		}
		break;
	}
	case HV_EV_KVMHV_KICK:
		v = l2_vcpu_find(rp, l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_KICK_LPID]),
				 (int32_t)ev->f[HV_F_KVMHV_KICK_VCPU_ID]);
		if (v && ev->f[HV_F_KVMHV_KICK_SOURCE] != HV_KICK_NEW_RUNNABLE)
			v->kicked = 1;
		break;
	default:
		break;
	}
}

void rp_l2_event(struct rp *rp, const struct rp_ev *ev)
{
	if (!rp->l2)
		return;
	struct l2_cpu *c = l2_cpu(rp, ev->cpu);
	if (!c)
		return;
	if (ev->id > HV_EV_KVM_USERSPACE_EXIT && ev->id < HV_EV_COUNT)
		rp->l2->seen_decisions = 1;
	/* layer 2 first; layer 3 does not report again a divergence a layer-2 monitor just
	 * reported at this event (one report per fault), it only marks the vcore diverged */
	uint64_t before = rp->sum->violations;
	l2_mon_plan(rp, ev);
	l2_mon_rules(rp, ev);
	rp->l2->l2_reported = rp->sum->violations > before;
	rp->l2->cur_seq = ev->seq;
	l2_diff(rp, ev);
	c = l2_cpu(rp, ev->cpu);
	update(rp, c, ev);
}
