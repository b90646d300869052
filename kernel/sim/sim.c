/*
 * The simulator's core: building the host from a scenario (CPUs, VMs through hv_vm_init,
 * vcpu and load tasks, timers), the event loop, the hv_env_* environment the kernel model
 * calls, and event emission (timestamps strictly ordered, so the store gets them in trace
 * order).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "trace.h"

/* ---- environment for the model ---- */
uint64_t hv_env_now(struct hv_host *h) { return h->now; }
const struct hv_params *hv_env_params(struct hv_host *h) { return &h->par; }
const struct hv_profile *hv_env_profile(struct hv_host *h) { return h->prof; }
struct hv_cpu *hv_env_cpu(struct hv_host *h, int cpu) { return &h->cpus[h->cpu_by_id[cpu]]; }
int hv_env_task_cpu(struct hv_host *h, struct hv_task *t) { (void)h; return t->cpu; }
int32_t hv_env_task_pid(struct hv_task *t) { return t->pid; }
struct hv_task *hv_env_cpu_curr(struct hv_host *h, int cpu) { return hv_env_cpu(h, cpu)->curr; }

void hv_env_ctx(struct hv_host *h, int *cpu, int32_t *pid)
{
	*cpu = h->ctx_cpu;
	*pid = h->ctx_pid;
}

uint64_t hv_env_next_tick(struct hv_host *h, int cpu)
{
	return hv_env_cpu(h, cpu)->t_tick.when;
}

void hv_env_count(struct hv_host *h, int what, int n)
{
	h->stats.counts[what] += (uint64_t)n;
}

void hv_env_enter_guest(struct hv_host *h, struct hv_task *t, int cpu)
{
	(void)h;
	(void)cpu;
	t->in_guest = 1;
	t->resume = HV_RES_IN_GUEST;
}

void hv_env_exit_guest(struct hv_host *h, struct hv_task *t)
{
	t->in_guest = 0;
	hv_timer_cancel(h, &hv_env_cpu(h, t->cpu)->t_exit);
}

void hv_env_defer_exit(struct hv_host *h, struct hv_cpu *c, struct hv_vcpu *v, int trap)
{
	c->exit_first = v;
	c->exit_trap = trap;
	hv_timer_arm(h, &c->t_exit, h->now);
}

void hv_env_poll(struct hv_host *h, struct hv_vcore *vc, uint64_t until)
{
	struct hv_task *t = vc->runner->task;
	t->work = W_POLL;
	t->poll_vc = vc;
	t->resume = HV_RES_POLL;
	hv_timer_arm(h, &t->t_work, until);
}

void hv_env_poll_stop(struct hv_host *h, struct hv_vcore *vc)
{
	struct hv_task *t = vc->runner->task;
	if (t->work == W_POLL && hv_timer_armed(&t->t_work) && t->t_work.when > h->now)
		hv_timer_arm(h, &t->t_work, h->now);
}

void hv_env_emit(struct hv_host *h, int id, int cpu, int32_t pid, const struct hv_value *vals)
{
	if (h->err)
		return;
	uint64_t ts = h->now > h->last_ts ? h->now : h->last_ts + 1;
	h->last_ts = ts;
	h->stats.events++;
	int rc = h->sink->emit(h->sink->ctx, id, ts, cpu, pid, vals);
	if (rc < 0)
		h->err = rc;
}

/* ---- building ---- */
static void init_timer(struct hv_timer *t, int kind, void *obj, size_t *n)
{
	t->heap_idx = -1;
	t->kind = (uint16_t)kind;
	t->obj = obj;
	(*n)++;
}

int hv_sim_create(const struct hv_scenario *sc, struct hv_sink *sink, struct hv_sim **out)
{
	struct hv_sim *s = calloc(1, sizeof *s);
	if (!s)
		return -1;
	s->sc = *sc;
	struct hv_host *h = &s->h;
	sc = &s->sc;
	h->sc = sc;
	h->par = sc->par;
	h->prof = hv_profile_get(sc->profile);
	h->sink = sink;
	h->rng = sc->seed ^ 0x6876747261636521ULL;
	h->tick_ns = 1000000000ULL / (sc->hz ? sc->hz : 250);
	h->end = sc->duration_ns;
	int tpc = h->par.threads_per_core, tps = h->par.threads_per_subcore;
	int spc = tpc / tps;
	h->ncpus = sc->cores * spc;
	h->max_cpu_id = sc->cores * tpc;
	h->cpus = calloc((size_t)h->ncpus, sizeof *h->cpus);
	h->cpu_by_id = malloc(sizeof(int) * (size_t)h->max_cpu_id);
	int nvcpus = 0, nload = 0;
	for (int i = 0; i < sc->nvms; i++)
		nvcpus += sc->vms[i].vcpus;
	for (int i = 0; i < sc->nloads; i++)
		nload += sc->loads[i].count;
	h->ntasks = nvcpus + nload;
	h->tasks = calloc((size_t)h->ntasks, sizeof *h->tasks);
	h->nvms = sc->nvms;
	h->vms = calloc((size_t)(h->nvms ? h->nvms : 1), sizeof *h->vms);
	if (!h->cpus || !h->cpu_by_id || !h->tasks || !h->vms) {
		hv_sim_destroy(s);
		return -1;
	}
	size_t ntimers = 0;
	for (int i = 0; i < h->max_cpu_id; i++)
		h->cpu_by_id[i] = -1;
	for (int i = 0; i < h->ncpus; i++) {
		struct hv_cpu *c = &h->cpus[i];
		c->core = i / spc;
		c->id = c->core * tpc + (i % spc) * tps;
		h->cpu_by_id[c->id] = i;
		init_timer(&c->t_tick, TK_TICK, c, &ntimers);
		init_timer(&c->t_sched, TK_SCHED, c, &ntimers);
		init_timer(&c->t_exit, TK_EXIT, c, &ntimers);
	}
	int ti = 0;
	for (int i = 0; i < sc->nvms; i++) {
		const struct hv_sim_vm *sv = &sc->vms[i];
		struct hv_vm *vm = &h->vms[i];
		int32_t tgid = 1000 + 100 * i;
		if (hv_vm_init(h, vm, sv->name, (uint32_t)(i + 1), tgid, sv->vcpus, sv->smt) < 0) {
			hv_sim_destroy(s);
			return -1;
		}
		for (int k = 0; k < vm->nvcpus; k++) {
			struct hv_vcpu *v = &vm->vcpus[k];
			struct hv_task *t = &h->tasks[ti++];
			v->beh = (void *)&sv->beh;
			v->task = t;
			t->vcpu = v;
			t->pid = tgid + 1 + k;
			t->tgid = tgid;
			char name[40];
			snprintf(name, sizeof name, "CPU %d/KVM", k);
			snprintf(t->comm, sizeof t->comm, "%.15s", name);
			init_timer(&v->t_guest, TK_GUEST_ACTION, v, &ntimers);
			init_timer(&v->t_dec, TK_DEC, v, &ntimers);
			init_timer(&v->t_irq, TK_IRQ, v, &ntimers);
			init_timer(&t->t_work, TK_WORK, t, &ntimers);
		}
	}
	for (int i = 0; i < sc->nloads; i++)
		for (int k = 0; k < sc->loads[i].count; k++) {
			struct hv_task *t = &h->tasks[ti];
			t->load = &sc->loads[i];
			t->pid = 500 + ti;
			t->tgid = t->pid;
			char name[64];
			snprintf(name, sizeof name, "%.12s-%d", sc->loads[i].name, k);
			snprintf(t->comm, sizeof t->comm, "%.15s", name);
			init_timer(&t->t_work, TK_WORK, t, &ntimers);
			ti++;
		}
	h->heap_cap = ntimers;
	h->heap = calloc(ntimers ? ntimers : 1, sizeof *h->heap);
	if (!h->heap) {
		hv_sim_destroy(s);
		return -1;
	}
	/* start: ticks staggered per CPU; every task starts in userspace, spread over CPUs */
	for (int i = 0; i < h->ncpus; i++)
		hv_timer_arm(h, &h->cpus[i].t_tick, h->tick_ns * (uint64_t)(i + 1) / (uint64_t)(h->ncpus + 1));
	for (int i = 0; i < h->ntasks; i++) {
		struct hv_task *t = &h->tasks[i];
		t->cpu = h->cpus[i % h->ncpus].id;
		t->sleeping = 1;
		if (t->vcpu) {
			t->work = W_LOAD_SLEEP;	/* the first KVM_RUN comes after a short delay */
			hv_timer_arm(h, &t->t_work, 1000 + hv_rng_below(&h->rng, 200000));
			const struct hv_sim_beh *b = t->vcpu->beh;
			if (b->irq_hz)
				hv_timer_arm(h, &t->vcpu->t_irq, hv_rng_exp(&h->rng, 1000000000ULL / b->irq_hz));
		} else {
			t->work = W_LOAD_SLEEP;
			hv_timer_arm(h, &t->t_work, hv_rng_exp(&h->rng, t->load->sleep_ns));
		}
	}
	*out = s;
	return 0;
}

void hv_sim_destroy(struct hv_sim *s)
{
	if (!s)
		return;
	struct hv_host *h = &s->h;
	for (int i = 0; h->vms && i < h->nvms; i++)
		hv_vm_free(&h->vms[i]);
	free(h->vms);
	free(h->tasks);
	free(h->cpus);
	free(h->cpu_by_id);
	free(h->heap);
	free(h->dem_curs);
	free(s);
}

/* ---- the event loop ---- */
void hv_sched_work_done(struct hv_host *h, struct hv_task *t)
{
	int w = t->work;
	if (w == W_LOAD_SLEEP) {		/* a sleeping task's timer: wake it */
		t->work = t->vcpu ? W_USER : W_LOAD_RUN;
		t->resume = t->vcpu ? HV_RES_USER : HV_RES_LOAD_RUN;
		t->work_left = t->vcpu ? 1 : hv_rng_exp(&h->rng, t->load->run_ns);
		struct hv_cpu *c = hv_env_cpu(h, t->cpu);
		h->ctx_cpu = c->id;
		h->ctx_pid = c->curr ? c->curr->pid : 0;
		hv_env_wake(h, t);
		return;
	}
	assert(t->on_cpu);
	hv_set_ctx_task(h, t);
	switch (w) {
	case W_LOAD_RUN:
		t->work = W_LOAD_SLEEP;
		t->sleeping = 1;
		t->resume = HV_RES_LOAD_RUN;
		hv_timer_arm(h, &t->t_work, h->now + hv_rng_exp(&h->rng, t->load->sleep_ns));
		{
			struct hv_cpu *c = hv_env_cpu(h, t->cpu);
			c->curr = NULL;
			c->leaving = t;
			c->leaving_state = 1;
			t->on_cpu = 0;
			if (!hv_timer_armed(&c->t_sched))
				hv_timer_arm(h, &c->t_sched, h->now);
		}
		break;
	case W_POLL:
		t->work = W_NONE;
		hv_vcore_block_poll_end(h, t->poll_vc);
		break;
	default:
		hv_vcpu_hcall_done(h, t->vcpu);
		break;
	}
}

static void dispatch(struct hv_host *h, struct hv_timer *t)
{
	switch (t->kind) {
	case TK_TICK:
		hv_sched_tick(h, t->obj);
		break;
	case TK_SCHED:
		hv_sched_switch(h, t->obj);
		break;
	case TK_EXIT: {
		struct hv_cpu *c = t->obj;
		if (c->run.active) {
			hv_set_ctx_run(h, c);
			struct hv_vcpu *v = c->exit_first;
			hv_commence_exit(h, c, v && v->entered ? v : NULL, c->exit_trap);
		}
		break;
	}
	case TK_WORK:
		hv_sched_work_done(h, t->obj);
		break;
	case TK_GUEST_ACTION: {
		struct hv_vcpu *v = t->obj;
		hv_set_ctx_vcpu(h, v);
		hv_guest_action(h, v);
		break;
	}
	case TK_GUEST_ENTRY: {
		struct hv_vcpu *v = t->obj;
		hv_set_ctx_vcpu(h, v);
		hv_guest_late_entry(h, v);
		break;
	}
	case TK_DEC: {
		struct hv_vcpu *v = t->obj;
		hv_set_ctx_vcpu(h, v);
		hv_dec_timer_fire(h, v);
		break;
	}
	case TK_IRQ: {
		struct hv_vcpu *v = t->obj;
		hv_set_ctx_vcpu(h, v);
		hv_guest_irq(h, v);
		break;
	}
	default:
		assert(0);
	}
}

int hv_sim_run(struct hv_sim *s)
{
	struct hv_host *h = &s->h;
	uint64_t same = 0;
	while (!h->err) {
		if (!h->heap_n || h->heap[0]->when > h->end)
			break;
		struct hv_timer *t = hv_timer_pop(h);
		same = t->when == h->now ? same + 1 : 0;
		if (same > 1000000)
			return -5;	/* time stands still: a model bug (HV_E_CORRUPT) */
		h->now = t->when;
		dispatch(h, t);
	}
	return h->err;
}

const struct hv_sim_stats *hv_sim_stats(const struct hv_sim *s) { return &s->h.stats; }
int hv_sim_ntasks(const struct hv_sim *s) { return s->h.ntasks; }
size_t hv_sim_heap_peak(const struct hv_sim *s) { return s->h.heap_peak; }
int hv_sim_nvms(const struct hv_sim *s) { return s->h.nvms; }

void hv_sim_task(const struct hv_sim *s, int i, int32_t *pid, int32_t *tgid, const char **comm)
{
	*pid = s->h.tasks[i].pid;
	*tgid = s->h.tasks[i].tgid;
	*comm = s->h.tasks[i].comm;
}

/* The tasks a recording names: the simulated ones, then each VM's VMM process leader
 * (pid = tgid, "qemu-<vm name>"), which never runs here but owns the vcpu threads. */
int hv_sim_named_tasks(const struct hv_sim *s) { return s->h.ntasks + s->h.nvms; }

void hv_sim_named_task(const struct hv_sim *s, int i, int32_t *pid, int32_t *tgid, char *comm, size_t n)
{
	if (i < s->h.ntasks) {
		const char *c;
		hv_sim_task(s, i, pid, tgid, &c);
		snprintf(comm, n, "%s", c);
		return;
	}
	const struct hv_vm *vm = &s->h.vms[i - s->h.ntasks];
	*pid = *tgid = vm->tgid;
	snprintf(comm, n, "qemu-%.10s", vm->name);
}

void hv_sim_vm_info(const struct hv_sim *s, int i, uint32_t *lpid, int32_t *tgid,
		    const char **name, int *vcpus, int *smt)
{
	const struct hv_vm *vm = &s->h.vms[i];
	*lpid = vm->lpid;
	*tgid = vm->tgid;
	*name = vm->name;
	*vcpus = vm->nvcpus;
	*smt = vm->smt_mode;
}
