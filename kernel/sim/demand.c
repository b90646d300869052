/*
 * Demand extraction for what-if: from a recorded store, the host's shape (meta: cpu,
 * threads_per_core, cores / nrcpus, param.*, vm.N.tgid / vm.N.smt_mode, hz, the profile as
 * replay chooses it) and, per vcpu, the sequence of what its guest asked for, built from the
 * intervals of ivl.c (one pass, which also measures the recorded metrics):
 *   - guest execution time accumulates over runs while the vcpu is not idle; exits that are
 *     the host's (HDEC, external, doorbell...) do not end a step;
 *   - a run that exits ceded starts an idle period: step CEDE (run = accumulated time), at
 *     the exit when its cede ended the run (trap 0), else three quarters into the run (it
 *     napped while its siblings ran until the run was pulled out); the idle lasts until the
 *     vcpu is next entered not ceded (or, entered ceded and exited not ceded, until the
 *     middle of that run: it woke inside); where the trace has kvmhv_cede (and kvmhv_kick),
 *     each run's naps, in-guest wake-ups and ending cede are steps of their own instead
 *     (place_run);
 *   - a virtual-mode hcall (kvm_hcall_enter/exit in the vcpu's task): step HCALL with its
 *     number, gpr4 (the target of H_IPI / H_PROD / H_CONFER) and host time; when it went on
 *     to userspace (kvm_userspace_exit -> next KVM_RUN), that time is the step's user_ns;
 *   - an HPT fault (kvm_page_fault_enter/exit): step FAULT with its host time;
 *   - another exit to userspace: step USER.
 * Host tasks that are not vcpus (sched_switch) become a host load of the same count, mean
 * burst and mean gap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_events.h"
#include "hv_replay.h"
#include "hv_store.h"
#include "whatif.h"

struct dx {
	struct hv_demand *d;
	struct hv_ivl *iv;
	/* host load: per-pid run totals (small open table) */
	int32_t lpid[256];
	uint64_t lrun[256], lcount[256];
	int nl;
};

static struct hv_dem_vcpu *dv(struct dx *x, int vm, int id)
{
	struct hv_demand *d = x->d;
	while (d->nvms <= vm && d->nvms < HV_IVL_MAX_VMS)
		d->vms[d->nvms++] = (struct hv_dem_vm){ .tgid = -1 };
	struct hv_dem_vm *m = &d->vms[vm];
	if (id >= m->nvcpus) {
		struct hv_dem_vcpu *p = realloc(m->v, sizeof *p * (size_t)(id + 1));
		if (!p)
			return NULL;
		memset(p + m->nvcpus, 0, sizeof *p * (size_t)(id + 1 - m->nvcpus));
		for (int i = m->nvcpus; i <= id; i++)
			p[i].start_ns = HV_DEM_FOREVER;
		m->v = p;
		m->nvcpus = id + 1;
	}
	return &m->v[id];
}

static struct hv_dem_step *push(struct hv_dem_vcpu *v, int kind)
{
	if (v->n == v->cap) {
		size_t c = v->cap ? 2 * v->cap : 64;
		struct hv_dem_step *p = realloc(v->steps, sizeof *p * c);
		if (!p)
			return NULL;
		v->steps = p;
		v->cap = c;
	}
	struct hv_dem_step *s = &v->steps[v->n++];
	*s = (struct hv_dem_step){ .run_ns = v->acc, .kind = (uint8_t)kind };
	v->acc = 0;
	return s;
}

/* The vcpu was first seen at ts: it starts then (relative to t0). */
static void seen(struct dx *x, struct hv_dem_vcpu *v, uint64_t ts)
{
	if (!v->seen) {
		v->seen = 1;
		v->start_ns = ts > x->d->t0 ? ts - x->d->t0 : 0;
	}
}

static void end_idle(struct hv_dem_vcpu *v, uint64_t at)
{
	if (!v->idle)
		return;
	v->idle = 0;
	if (v->n && v->steps[v->n - 1].kind == HV_DEM_CEDE)
		v->steps[v->n - 1].ns = at > v->idle_start ? at - v->idle_start : 1;
}

/* A cede at `at` after the guest time accumulated so far: idle from then on. */
static void cede_at(struct hv_dem_vcpu *v, uint64_t at)
{
	if (!push(v, HV_DEM_CEDE))
		return;
	v->steps[v->n - 1].ns = HV_DEM_FOREVER;
	v->idle = 1;
	v->idle_start = at;
}

/* Stock events only: cede points estimated (whatif.h, the header of this file). */
static void estimate_run(struct hv_dem_vcpu *v, const struct hv_dem_run *r)
{
	uint64_t from = r->start, end = r->end;
	if (v->idle) {
		if (r->ci && r->co)
			return;			/* entered napping, still idle */
		from = r->ci ? r->start + (end - r->start) / 2 : r->start;
		end_idle(v, from);
	} else if (!v->n && !v->acc && r->ci) {
		/* first sight: entered ceded (idle before the trace) */
		if (r->co)
			return;
		from = r->start + (end - r->start) / 2;
	}
	/* Ceded at the exit: a thread whose cede ended the run (trap 0) ceded at its end; one
	 * pulled out napping (doorbell, HDEC...) ceded at an unknown time: take three quarters
	 * in (closest to the simulator's own traces, tests/py/test_whatif.py). */
	uint64_t upto = r->co && r->trap > 0 ? from + (end - from) * 3 / 4 : end;
	v->acc += upto - from;
	if (r->co && r->trap >= 0)
		cede_at(v, upto);
}

/* The first kvmhv_kick for the vcpu in (after, before), or 0. */
static uint64_t next_kick(const struct hv_dem_vcpu *v, uint64_t after, uint64_t before)
{
	uint64_t best = 0;
	for (int i = 0; i < v->nkicks; i++)
		if (v->kicks[i] > after && v->kicks[i] < before && (!best || v->kicks[i] < best))
			best = v->kicks[i];
	return best;
}

/* With the run's kvmhv_cede: its naps (each a cede, then a wake in the guest unless it was
 * still napping at the exit) and the cede that ended it (outcome vcore exit, at the exit).
 * A wake is at the vcpu's next kvmhv_kick (interrupt, IPI, H_PROD) when there is one, else
 * (the decrementer) spread evenly; a cede halfway to the next known wake, or to the exit
 * (closest to the simulator's own traces, tests/py/test_whatif.py). Returns -1 when the counts do not fit the run's flags. */
static int place_run(struct hv_dem_vcpu *v, const struct hv_dem_run *r)
{
	int vexit = r->co && r->n_cedes > 0 && r->outcome == HV_CEDE_VCORE_EXIT;
	int wakes = r->n_naps + vexit + r->ci - r->co;
	if (wakes < 0 || r->trap < 0)
		return -1;
	if (r->ci && !v->idle)
		cede_at(v, r->start);	/* ceded unseen (or before the trace) */
	else if (!r->ci)
		end_idle(v, r->start);
	int nap = r->ci;
	uint64_t t = r->start, e = r->end;
	for (int left = wakes + r->n_naps; left > 0; left--) {
		uint64_t k = next_kick(v, t, e), at;
		if (nap) {
			at = k ? k : t + (e - t) / (uint64_t)(left + 1);
			end_idle(v, at);
		} else {
			uint64_t until = k && left > 1 ? k : e;
			at = t + (until - t) / 2;
			v->acc += at - t;
			cede_at(v, at);
		}
		t = at;
		nap = !nap;
	}
	if (!nap) {
		v->acc += e - t;
		if (vexit)
			cede_at(v, e);
	}
	return 0;
}

/* The held run, with what its kvmhv_cede said (if the trace has them). */
static void flush_run(struct dx *x, struct hv_dem_vcpu *v)
{
	struct hv_dem_run *r = &v->pend;
	if (!r->valid)
		return;
	r->valid = 0;
	if (!x->d->exact_cedes || place_run(v, r) < 0)
		estimate_run(v, r);
	int k = 0;
	for (int i = 0; i < v->nkicks; i++)
		if (v->kicks[i] > r->end)
			v->kicks[k++] = v->kicks[i];
	v->nkicks = k;
}

static void on_run(void *ctx, int vm, int id, uint64_t start, uint64_t end, int trap, int ci, int co)
{
	struct dx *x = ctx;
	struct hv_dem_vcpu *v = dv(x, vm, id);
	if (!v)
		return;
	seen(x, v, start);
	flush_run(x, v);
	v->pend = (struct hv_dem_run){ .start = start, .end = end, .trap = trap, .ci = ci, .co = co,
				       .valid = 1 };
}

static void on_cede(void *ctx, int vm, int id, uint64_t ts, int n_cedes, int n_naps, int outcome)
{
	struct dx *x = ctx;
	struct hv_dem_vcpu *v = dv(x, vm, id);
	if (!v || !v->pend.valid || v->pend.end > ts)
		return;
	v->pend.n_cedes = n_cedes;
	v->pend.n_naps = n_naps;
	v->pend.outcome = outcome;
	flush_run(x, v);
}

static void on_kick(void *ctx, int vm, int id, uint64_t ts, int source)
{
	struct dx *x = ctx;
	struct hv_dem_vcpu *v = dv(x, vm, id);
	if (!v || source == HV_KICK_DEC_TIMER || source == HV_KICK_NEW_RUNNABLE)
		return;
	if (v->nkicks == (int)(sizeof v->kicks / sizeof v->kicks[0]))
		memmove(v->kicks, v->kicks + 1, sizeof v->kicks - sizeof v->kicks[0]);
	else
		v->nkicks++;
	v->kicks[v->nkicks - 1] = ts;
}

static void on_host(void *ctx, int vm, int id, int kind, uint64_t req, uint64_t arg, int ret,
		    uint64_t start, uint64_t end)
{
	struct dx *x = ctx;
	struct hv_dem_vcpu *v = dv(x, vm, id);
	if (!v)
		return;
	seen(x, v, start);
	flush_run(x, v);
	end_idle(v, start);
	struct hv_dem_step *last = v->n ? &v->steps[v->n - 1] : NULL;
	if (kind == HV_HOST_USER && last && !v->acc && last->kind == HV_DEM_HCALL && !last->user_ns &&
	    last->req != 0) {
		last->user_ns = end - start;	/* the hcall QEMU handled */
		return;
	}
	struct hv_dem_step *s = push(v, kind == HV_HOST_HCALL ? HV_DEM_HCALL
				     : kind == HV_HOST_FAULT ? HV_DEM_FAULT : HV_DEM_USER);
	if (!s)
		return;
	if (kind == HV_HOST_USER) {
		s->user_ns = end - start ? end - start : 1;
		return;
	}
	s->ns = end - start;
	s->req = req;
	s->arg = arg;
	(void)ret;	/* RESUME_HOST: the kvm_userspace_exit that follows sets user_ns */
}

static void on_kvm_run(void *ctx, int vm, int id, uint64_t ts)
{
	struct dx *x = ctx;
	struct hv_dem_vcpu *v = dv(x, vm, id);
	if (v)
		seen(x, v, ts);
}

static void on_task(void *ctx, int32_t pid, uint64_t start, uint64_t end)
{
	struct dx *x = ctx;
	int i = 0;
	while (i < x->nl && x->lpid[i] != pid)
		i++;
	if (i == x->nl) {
		if (x->nl == 256)
			return;
		x->lpid[x->nl++] = pid;
	}
	x->lrun[i] += end - start;
	x->lcount[i]++;
}

/* ---- the host's shape from meta ---- */
static long meta_int(struct hv_store *st, const char *key, long dflt)
{
	char buf[128];
	struct hv_err e = { 0 };
	if (hv_store_get_meta(st, key, buf, sizeof buf, &e) <= 0)
		return dflt;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	char *end;
	long v = strtol(buf, &end, 0);
	return end == buf ? dflt : v;
}

static int host_shape(struct hv_store *st, struct hv_demand *d, struct hv_err *err)
{
	char buf[128];
	struct hv_err e = { 0 };
	snprintf(d->cpu, sizeof d->cpu, "unknown");
	if (hv_store_get_meta(st, "cpu", buf, sizeof buf, &e) > 0)
		snprintf(d->cpu, sizeof d->cpu, "%.15s", buf);
	int model = strstr(d->cpu, "POWER7") ? 7 : 8;
	hv_params_default(&d->par, model);
	struct hv_params *p = &d->par;
	p->threads_per_core = (int)meta_int(st, "threads_per_core", p->threads_per_core);
	p->threads_per_subcore = (int)meta_int(st, "param.threads_per_subcore", p->threads_per_core);
	if (p->threads_per_subcore <= 0 || p->threads_per_subcore > p->threads_per_core)
		p->threads_per_subcore = p->threads_per_core;
	p->dynamic_mt_modes = (int)meta_int(st, "param.dynamic_mt_modes", p->dynamic_mt_modes);
	p->target_smt_mode = (int)meta_int(st, "param.target_smt_mode", p->target_smt_mode);
	p->one_vm_per_core = (int)meta_int(st, "param.one_vm_per_core", p->one_vm_per_core);
	p->halt_poll_ns = (uint32_t)meta_int(st, "param.halt_poll_ns", p->halt_poll_ns);
	p->halt_poll_ns_grow = (uint32_t)meta_int(st, "param.halt_poll_ns_grow", p->halt_poll_ns_grow);
	p->halt_poll_ns_grow_start = (uint32_t)meta_int(st, "param.halt_poll_ns_grow_start",
							p->halt_poll_ns_grow_start);
	p->halt_poll_ns_shrink = (uint32_t)meta_int(st, "param.halt_poll_ns_shrink", p->halt_poll_ns_shrink);
	long nrcpus = meta_int(st, "nrcpus", 0);
	d->cores = (int)meta_int(st, "cores", nrcpus > 0 ? (nrcpus + p->threads_per_core - 1) / p->threads_per_core : 0);
	d->hz = (uint32_t)meta_int(st, "hz", 250);
	return hv_replay_choose_profile(st, d->profile, sizeof d->profile, d->profile_why,
					sizeof d->profile_why, err);
}

/* Declare the VMs meta knows (vm.N.tgid, vm.N.smt_mode), in lpid order. */
static void declare_vms(struct hv_store *st, struct dx *x)
{
	for (int lpid = 1; lpid <= HV_IVL_MAX_VMS; lpid++) {
		char k[48];
		snprintf(k, sizeof k, "vm.%d.tgid", lpid);
		long tgid = meta_int(st, k, -1);
		if (tgid < 0)
			continue;
		snprintf(k, sizeof k, "vm.%d.smt_mode", lpid);
		int vm = hv_ivl_add_vm_lpid(x->iv, (int32_t)tgid, (uint32_t)lpid, (int)meta_int(st, k, 0), 0);
		if (vm >= 0)
			dv(x, vm, 0);
	}
}

static void flush_all(struct dx *x)
{
	for (int i = 0; i < x->d->nvms; i++)
		for (int k = 0; k < x->d->vms[i].nvcpus; k++)
			flush_run(x, &x->d->vms[i].v[k]);
}

static void finish_load(struct dx *x)
{
	struct hv_demand *d = x->d;
	uint64_t wall = d->t1 - d->t0, run = 0, cnt = 0;
	for (int i = 0; i < x->nl; i++) {
		if (hv_ivl_is_vcpu_task(x->iv, x->lpid[i]) || x->lrun[i] * 200 < wall)
			continue;	/* vcpu tasks, and tasks under 0.5% of the time */
		d->nload++;
		run += x->lrun[i];
		cnt += x->lcount[i];
	}
	if (!d->nload || !cnt)
		return;
	d->load_run_ns = run / cnt;
	uint64_t idle = (uint64_t)d->nload * wall > run ? (uint64_t)d->nload * wall - run : 0;
	d->load_sleep_ns = idle / cnt + 1;
}

static int extract(struct hv_store *st, struct hv_demand *d, struct dx *x, struct hv_err *err)
{
	int rc = host_shape(st, d, err);
	if (rc < 0)
		return rc;
	struct hv_ivl_cb cb[2] = { { .ctx = x, .run = on_run, .host = on_host, .kvm_run = on_kvm_run,
				     .task_run = on_task, .cede = on_cede, .kick = on_kick } };
	/* pass 1: the span only (t0 is needed for start times); pass 2: everything */
	struct hv_ivl *probe = hv_ivl_new(NULL, 0, 1);
	if (!probe)
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	rc = hv_ivl_read_store(probe, st, &d->t0, &d->t1, err);
	int vcpus_seen = (int)hv_ivl_count(probe, HV_EV_KVM_GUEST_ENTER) + (int)hv_ivl_count(probe, HV_EV_KVMPPC_RUN_VCPU_ENTER);
	d->run_core_events = hv_ivl_count(probe, HV_EV_KVMPPC_RUN_CORE);
	d->exact_cedes = hv_ivl_count(probe, HV_EV_KVMHV_CEDE) > 0;
	hv_ivl_free(probe);
	if (rc < 0)
		return rc;
	if (!vcpus_seen || d->t1 <= d->t0)
		return hv_err_set(err, HV_E_USAGE, "%s: no vcpu activity (kvm_guest_enter / kvmppc_run_vcpu_enter) "
				  "to replay", hv_store_path(st));
	if (d->cores <= 0)
		d->cores = 1;
	d->ncpus = d->cores * (d->par.threads_per_core / d->par.threads_per_subcore);
	struct hv_mx *mx = hv_mx_new(&d->par, d->ncpus, d->t0, d->t1);
	if (mx) {
		hv_mx_cb(mx, &cb[1]);
		x->iv = hv_ivl_new(cb, 2, d->par.threads_per_subcore);
	}
	if (!x->iv) {
		hv_mx_free(mx);
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	}
	declare_vms(st, x);
	uint64_t t0, t1;
	rc = hv_ivl_read_store(x->iv, st, &t0, &t1, err);
	if (rc == 0) {
		hv_ivl_finish(x->iv, d->t1);
		flush_all(x);
		hv_mx_result(mx, &d->recorded);
		d->kvm_events = hv_ivl_count(x->iv, HV_EV_KVM_GUEST_EXIT);
		for (int i = 0; i < hv_ivl_nvms(x->iv) && i < d->nvms; i++) {
			const struct hv_ivl_vm *m = hv_ivl_vm(x->iv, i);
			d->vms[i].tgid = m->tgid;
			d->vms[i].smt = m->smt;
		}
		finish_load(x);
	}
	hv_mx_free(mx);
	hv_ivl_free(x->iv);
	return rc;
}

int hv_demand_extract(struct hv_store *st, struct hv_demand *d, struct hv_err *err)
{
	memset(d, 0, sizeof *d);
	struct dx *x = calloc(1, sizeof *x);
	if (!x)
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	x->d = d;
	int rc = extract(st, d, x, err);
	free(x);
	if (rc < 0)
		hv_demand_free(d);
	return rc;
}

void hv_demand_free(struct hv_demand *d)
{
	for (int i = 0; i < d->nvms; i++) {
		for (int k = 0; k < d->vms[i].nvcpus; k++)
			free(d->vms[i].v[k].steps);
		free(d->vms[i].v);
	}
	d->nvms = 0;
}
