/*
 * The interval code of what-if (whatif.h): stock events -> guest runs, dispatch waits,
 * kvmppc_run_core windows, host work and host task runs, handed to up to two consumers. The
 * same code reads a recorded store and the simulator's event stream, so recorded and
 * simulated metrics are measured alike. Memory: per task, vcpu and CPU state only.
 */
#include <stdlib.h>
#include <string.h>

#include "hv_events.h"
#include "hv_store.h"
#include "whatif.h"

#define NIL (~(uint64_t)0)
#define MAX_ENTRIES 32

struct ivl_vcpu {
	int in_run, in_guest, ceded_in, cpu;
	uint64_t g_start, wait_start;
	uint64_t hc_req, hc_arg, hc_start, pf_start, user_start;
};

struct ivl_entry {
	int vm, vcpu, active;
};

struct ivl_cpu {
	int open, burst, nsub, n;
	uint64_t start;
	struct ivl_entry e[MAX_ENTRIES];
	int32_t cur_pid;
	uint64_t cur_since;
	int place_vm, place_id, place_late;	/* last kvmhv_vcpu_place here, if any */
	int32_t burst_pid;
};

struct ivl_task {
	int32_t pid;
	int vm, vcpu;	/* vm -1: empty slot */
};

struct hv_ivl {
	struct hv_ivl_cb cb[HV_IVL_MAX_CB];
	int ncb, smt_default;
	int nvms;
	struct hv_ivl_vm vms[HV_IVL_MAX_VMS];
	struct ivl_vcpu *vc[HV_IVL_MAX_VMS];
	int vcap[HV_IVL_MAX_VMS];
	struct ivl_cpu *cpus;
	int ncpus;
	struct ivl_task *tasks;
	size_t tcap, tn;
	uint32_t lpid[HV_IVL_MAX_VMS];
	uint64_t counts[HV_EV_COUNT];
	uint64_t ambiguous;
};

#define EACH_CB(iv, fn, ...)                                                                      \
	for (int k_ = 0; k_ < (iv)->ncb; k_++)                                                     \
		if ((iv)->cb[k_].fn)                                                               \
			(iv)->cb[k_].fn((iv)->cb[k_].ctx, __VA_ARGS__)

struct hv_ivl *hv_ivl_new(const struct hv_ivl_cb *cbs, int ncb, int smt_default)
{
	struct hv_ivl *iv = calloc(1, sizeof *iv);
	if (!iv)
		return NULL;
	iv->ncb = ncb < HV_IVL_MAX_CB ? ncb : HV_IVL_MAX_CB;
	if (cbs && iv->ncb)
		memcpy(iv->cb, cbs, sizeof *cbs * (size_t)iv->ncb);
	iv->smt_default = smt_default > 0 ? smt_default : 1;
	return iv;
}

void hv_ivl_free(struct hv_ivl *iv)
{
	if (!iv)
		return;
	for (int i = 0; i < iv->nvms; i++)
		free(iv->vc[i]);
	free(iv->cpus);
	free(iv->tasks);
	free(iv);
}

int hv_ivl_add_vm(struct hv_ivl *iv, int32_t tgid, int smt, int nvcpus)
{
	return hv_ivl_add_vm_lpid(iv, tgid, 0, smt, nvcpus);
}

int hv_ivl_add_vm_lpid(struct hv_ivl *iv, int32_t tgid, uint32_t lpid, int smt, int nvcpus)
{
	for (int i = 0; i < iv->nvms; i++)
		if (iv->vms[i].tgid == tgid)
			return i;
	if (iv->nvms >= HV_IVL_MAX_VMS)
		return -1;
	struct hv_ivl_vm *vm = &iv->vms[iv->nvms];
	vm->tgid = tgid;
	vm->smt = smt > 0 ? smt : iv->smt_default;
	vm->nvcpus = nvcpus > 0 ? nvcpus : 0;
	iv->lpid[iv->nvms] = lpid;
	return iv->nvms++;
}

int hv_ivl_nvms(const struct hv_ivl *iv) { return iv->nvms; }
const struct hv_ivl_vm *hv_ivl_vm(const struct hv_ivl *iv, int i) { return &iv->vms[i]; }
uint64_t hv_ivl_count(const struct hv_ivl *iv, int id) { return iv->counts[id]; }
uint64_t hv_ivl_ambiguous(const struct hv_ivl *iv) { return iv->ambiguous; }

static struct ivl_vcpu *vcpu(struct hv_ivl *iv, int vm, int id)
{
	if (vm < 0 || id < 0 || id >= 4096)
		return NULL;
	if (id >= iv->vcap[vm]) {
		int cap = iv->vcap[vm] ? iv->vcap[vm] : 8;
		while (cap <= id)
			cap *= 2;
		struct ivl_vcpu *p = realloc(iv->vc[vm], sizeof *p * (size_t)cap);
		if (!p)
			return NULL;
		for (int i = iv->vcap[vm]; i < cap; i++)
			p[i] = (struct ivl_vcpu){ .wait_start = NIL, .hc_start = NIL, .pf_start = NIL,
						  .user_start = NIL, .cpu = -1 };
		iv->vc[vm] = p;
		iv->vcap[vm] = cap;
	}
	if (id >= iv->vms[vm].nvcpus)
		iv->vms[vm].nvcpus = id + 1;
	return &iv->vc[vm][id];
}

static struct ivl_cpu *cpu_of(struct hv_ivl *iv, int cpu)
{
	if (cpu < 0 || cpu >= 65536)
		return NULL;
	if (cpu >= iv->ncpus) {
		int n = iv->ncpus ? iv->ncpus : 8;
		while (n <= cpu)
			n *= 2;
		struct ivl_cpu *p = realloc(iv->cpus, sizeof *p * (size_t)n);
		if (!p)
			return NULL;
		for (int i = iv->ncpus; i < n; i++)
			p[i] = (struct ivl_cpu){ .cur_pid = -1, .place_vm = -1 };
		iv->cpus = p;
		iv->ncpus = n;
	}
	return &iv->cpus[cpu];
}

/* ---- task pid -> (vm, vcpu), open addressing ---- */
static struct ivl_task *task_slot(struct hv_ivl *iv, int32_t pid)
{
	if (!iv->tcap)
		return NULL;
	size_t i = ((uint32_t)pid * 2654435761u) & (iv->tcap - 1);
	while (iv->tasks[i].vm >= 0 && iv->tasks[i].pid != pid)
		i = (i + 1) & (iv->tcap - 1);
	return &iv->tasks[i];
}

static const struct ivl_task *task_find(struct hv_ivl *iv, int32_t pid)
{
	struct ivl_task *t = task_slot(iv, pid);
	return t && t->vm >= 0 ? t : NULL;
}

static void task_set(struct hv_ivl *iv, int32_t pid, int vm, int id)
{
	if (2 * (iv->tn + 1) > iv->tcap) {
		size_t old = iv->tcap, cap = old ? old * 2 : 64;
		struct ivl_task *o = iv->tasks, *p = malloc(sizeof *p * cap);
		if (!p)
			return;
		for (size_t i = 0; i < cap; i++)
			p[i].vm = -1;
		iv->tasks = p;
		iv->tcap = cap;
		iv->tn = 0;
		for (size_t i = 0; i < old; i++)
			if (o[i].vm >= 0)
				task_set(iv, o[i].pid, o[i].vm, o[i].vcpu);
		free(o);
	}
	struct ivl_task *t = task_slot(iv, pid);
	if (t->vm < 0)
		iv->tn++;
	*t = (struct ivl_task){ pid, vm, id };
}

int hv_ivl_is_vcpu_task(const struct hv_ivl *iv, int32_t pid)
{
	return task_find((struct hv_ivl *)iv, pid) != NULL;
}

/* The vcpu a vcpu task's own event is about. */
static struct ivl_vcpu *task_vcpu(struct hv_ivl *iv, int32_t pid, int *vm, int *id)
{
	const struct ivl_task *t = task_find(iv, pid);
	if (!t)
		return NULL;
	*vm = t->vm;
	*id = t->vcpu;
	return vcpu(iv, t->vm, t->vcpu);
}

/* ---- windows ---- */
static int group(const struct hv_ivl *iv, int vm, int id)
{
	return vm * 4096 + id / iv->vms[vm].smt;
}

static int count_groups(const struct hv_ivl *iv, const struct ivl_cpu *c)
{
	int n = 0;
	for (int i = 0; i < c->n; i++) {
		int g = group(iv, c->e[i].vm, c->e[i].vcpu), seen = 0;
		for (int j = 0; j < i && !seen; j++)
			seen = group(iv, c->e[j].vm, c->e[j].vcpu) == g;
		n += !seen;
	}
	return n;
}

static int in_burst(const struct hv_ivl *iv, const struct ivl_cpu *c, int g)
{
	for (int i = 0; i < c->n; i++)
		if (group(iv, c->e[i].vm, c->e[i].vcpu) == g)
			return 1;
	return 0;
}

static int free_vcpu(const struct hv_ivl *iv, int vm, int id)
{
	return vm >= 0 && id < iv->vcap[vm] && iv->vc[vm][id].in_run && !iv->vc[vm][id].in_guest;
}

/* The VM of a vcpu_id entered in the burst on c by a runner of VM rvm. A burst enters one
 * vcore after another: the id continues the previous entry's vcore when that VM's vcpu is
 * runnable outside the guest; else it opens a vcore not yet in the burst, of the VM whose
 * vcpu of that id is runnable outside the guest (the runner's VM first; ambiguous if
 * several). */
static int attribute(struct hv_ivl *iv, const struct ivl_cpu *c, int rvm, int id)
{
	if (c->n) {
		const struct ivl_entry *p = &c->e[c->n - 1];
		if (group(iv, p->vm, id) == group(iv, p->vm, p->vcpu) && free_vcpu(iv, p->vm, id))
			return p->vm;
	}
	int found = -1, n = 0;
	for (int k = -1; k < iv->nvms; k++) {
		int vm = k < 0 ? rvm : k;
		if ((k >= 0 && vm == rvm) || !free_vcpu(iv, vm, id) || in_burst(iv, c, group(iv, vm, id)))
			continue;
		if (found < 0)
			found = vm;
		n++;
	}
	if (n > 1)
		iv->ambiguous++;
	return found >= 0 ? found : rvm;
}

/* A window elsewhere already running this vcpu's vcore: its thread joins late. */
static struct ivl_cpu *late_window(struct hv_ivl *iv, int vm, int id)
{
	int g = group(iv, vm, id);
	for (int c = 0; c < iv->ncpus; c++) {
		struct ivl_cpu *p = &iv->cpus[c];
		if (!p->open)
			continue;
		for (int i = 0; i < p->n; i++)
			if (group(iv, p->e[i].vm, p->e[i].vcpu) == g)
				return p;
	}
	return NULL;
}

static int rt_vm_of(const struct ivl_task *t)
{
	return t ? t->vm : -1;
}

/* A late joiner: the VM of a vcore already in the window with a vcpu of that id free. */
static int late_vm(struct hv_ivl *iv, const struct ivl_cpu *c, int rvm, int id)
{
	for (int i = 0; i < c->n; i++)
		if (group(iv, c->e[i].vm, id) == group(iv, c->e[i].vm, c->e[i].vcpu) && free_vcpu(iv, c->e[i].vm, id))
			return c->e[i].vm;
	return rvm;
}

static void guest_enter(struct hv_ivl *iv, uint64_t ts, int cpu, int32_t pid, int id, int ceded)
{
	int rvm = -1, rid = -1;
	struct ivl_cpu *c = cpu_of(iv, cpu);
	const struct ivl_task *rt = task_find(iv, pid);
	if (rt) {
		rvm = rt->vm;
		rid = rt->vcpu;
	} else if (iv->nvms == 1) {
		rvm = 0;
	}
	if (rvm < 0 || !c)
		return;
	int vm = -1;
	if (c->place_vm >= 0 && c->place_id == id) {
		/* kvmhv_vcpu_place (hvtrace's decision event) names the VM and the window */
		vm = c->place_vm;
		struct ivl_cpu *w = c->place_late ? late_window(iv, vm, id) : NULL;
		c->place_vm = -1;
		if (w)
			c = w;
	} else if (rvm == rt_vm_of(rt) && id == rid && !c->open) {
		struct ivl_cpu *w = late_window(iv, rvm, id);
		if (w)
			c = w;
	}
	if (vm < 0)
		vm = c->open ? late_vm(iv, c, rvm, id) : attribute(iv, c, rvm, id);
	if (!c->open && (!c->burst || c->burst_pid != pid)) {
		/* a new burst (one by another task was a late join that found no window) */
		c->burst = 1;
		c->burst_pid = pid;
		c->start = ts;
		c->n = 0;
	}
	struct ivl_vcpu *v = vcpu(iv, vm, id);
	if (!v)
		return;
	if (c->n < MAX_ENTRIES)
		c->e[c->n++] = (struct ivl_entry){ vm, id, 1 };
	if (v->wait_start != NIL && ts >= v->wait_start)
		EACH_CB(iv, wait, vm, id, v->wait_start, ts);
	v->wait_start = NIL;
	v->in_guest = 1;
	v->ceded_in = ceded;
	v->g_start = ts;
	v->cpu = (int)(c - iv->cpus);
}

static void end_run(struct hv_ivl *iv, int vm, int id, struct ivl_vcpu *v, uint64_t ts, int trap,
		    int ceded)
{
	EACH_CB(iv, run, vm, id, v->g_start, ts, trap, v->ceded_in, ceded);
	v->in_guest = 0;
	if (!ceded && v->in_run && trap >= 0)
		v->wait_start = ts;
}

static void guest_exit(struct hv_ivl *iv, uint64_t ts, int cpu, int32_t pid, int id, int trap, int ceded)
{
	struct ivl_cpu *c = cpu_of(iv, cpu);
	for (int pass = 0; pass < 2 && c; pass++) {
		/* this CPU's window first, then any (a late joiner's exit) */
		for (int k = pass ? 0 : cpu; k < (pass ? iv->ncpus : cpu + 1); k++) {
			struct ivl_cpu *p = &iv->cpus[k];
			for (int i = 0; i < p->n; i++) {
				struct ivl_entry *e = &p->e[i];
				if (!e->active || e->vcpu != id)
					continue;
				e->active = 0;
				struct ivl_vcpu *v = vcpu(iv, e->vm, id);
				if (v && v->in_guest)
					end_run(iv, e->vm, id, v, ts, trap, ceded);
				return;
			}
		}
	}
	int vm = -1, rid;
	if (task_vcpu(iv, pid, &vm, &rid)) {
		struct ivl_vcpu *v = vcpu(iv, vm, id);
		if (v && v->in_guest)
			end_run(iv, vm, id, v, ts, trap, ceded);
	}
}

static void run_core(struct hv_ivl *iv, uint64_t ts, int cpu, int where)
{
	struct ivl_cpu *c = cpu_of(iv, cpu);
	if (!c)
		return;
	if (where == 0) {
		if (!c->burst)
			c->start = ts;
		c->open = 1;
		c->burst = 0;
		c->nsub = count_groups(iv, c);
		return;
	}
	if (c->open)
		EACH_CB(iv, window, cpu, c->start, ts, c->nsub ? c->nsub : 1);
	c->open = c->burst = 0;
	c->n = 0;
}

static void sched_switch(struct hv_ivl *iv, uint64_t ts, int cpu, int32_t prev, int32_t next)
{
	struct ivl_cpu *c = cpu_of(iv, cpu);
	if (!c)
		return;
	if (c->cur_pid > 0 && c->cur_pid == prev && !task_find(iv, prev))
		EACH_CB(iv, task_run, prev, c->cur_since, ts);
	c->cur_pid = next;
	c->cur_since = ts;
}

static void host_end(struct hv_ivl *iv, int vm, int id, uint64_t *start, int kind, uint64_t req,
		     uint64_t arg, int ret, uint64_t ts)
{
	if (*start != NIL && ts >= *start)
		EACH_CB(iv, host, vm, id, kind, req, arg, ret, *start, ts);
	*start = NIL;
}

/* The VM declared with this lpid (hv_ivl_add_vm_lpid), or -1. */
static int vm_of_lpid(const struct hv_ivl *iv, uint32_t lpid)
{
	for (int i = 0; lpid && i < iv->nvms; i++)
		if (iv->lpid[i] == lpid)
			return i;
	return -1;
}

int hv_ivl_event(struct hv_ivl *iv, int id, uint64_t ts, int32_t cpu, int32_t pid,
		 const struct hv_value *f)
{
	if (id < 0 || id >= HV_EV_COUNT)
		return 0;
	iv->counts[id]++;
	int vm, vid;
	struct ivl_vcpu *v;
	switch (id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		vm = hv_ivl_add_vm(iv, (int32_t)f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID].i, 0, 0);
		vid = (int)f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID].i;
		if (vm < 0 || !(v = vcpu(iv, vm, vid)))
			break;
		task_set(iv, pid, vm, vid);
		host_end(iv, vm, vid, &v->user_start, HV_HOST_USER, 0, 0, 0, ts);
		v->in_run = 1;
		if (!v->in_guest)
			v->wait_start = ts;
		EACH_CB(iv, kvm_run, vm, vid, ts);
		break;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		if ((v = task_vcpu(iv, pid, &vm, &vid))) {
			v->in_run = 0;
			v->wait_start = NIL;
		}
		break;
	case HV_EV_KVM_USERSPACE_EXIT:
		if ((v = task_vcpu(iv, pid, &vm, &vid)))
			v->user_start = ts;
		break;
	case HV_EV_KVM_HCALL_ENTER:
		if ((v = task_vcpu(iv, pid, &vm, &vid))) {
			v->hc_req = (uint64_t)f[HV_F_KVM_HCALL_ENTER_REQ].i;
			v->hc_arg = (uint64_t)f[HV_F_KVM_HCALL_ENTER_GPR4].i;
			v->hc_start = ts;
		}
		break;
	case HV_EV_KVM_HCALL_EXIT:
		if ((v = task_vcpu(iv, pid, &vm, &vid)))
			host_end(iv, vm, vid, &v->hc_start, HV_HOST_HCALL, v->hc_req, v->hc_arg,
				 (int)f[HV_F_KVM_HCALL_EXIT_RET].i, ts);
		break;
	case HV_EV_KVM_PAGE_FAULT_ENTER:
		if ((v = task_vcpu(iv, pid, &vm, &vid)))
			v->pf_start = ts;
		break;
	case HV_EV_KVM_PAGE_FAULT_EXIT:
		if ((v = task_vcpu(iv, pid, &vm, &vid)))
			host_end(iv, vm, vid, &v->pf_start, HV_HOST_FAULT, 0, 0, 0, ts);
		break;
	case HV_EV_KVM_GUEST_ENTER:
		guest_enter(iv, ts, cpu, pid, (int)f[HV_F_KVM_GUEST_ENTER_VCPU_ID].i,
			    f[HV_F_KVM_GUEST_ENTER_CEDED].i != 0);
		break;
	case HV_EV_KVM_GUEST_EXIT:
		guest_exit(iv, ts, cpu, pid, (int)f[HV_F_KVM_GUEST_EXIT_VCPU_ID].i,
			   (int)f[HV_F_KVM_GUEST_EXIT_TRAP].i, f[HV_F_KVM_GUEST_EXIT_CEDED].i != 0);
		break;
	case HV_EV_KVMPPC_RUN_CORE:
		run_core(iv, ts, cpu, (int)f[HV_F_KVMPPC_RUN_CORE_WHERE].i);
		break;
	case HV_EV_KVMHV_VCPU_PLACE: {
		struct ivl_cpu *c = cpu_of(iv, cpu);
		if (c && (vm = vm_of_lpid(iv, (uint32_t)f[HV_F_KVMHV_VCPU_PLACE_LPID].i)) >= 0) {
			c->place_vm = vm;
			c->place_id = (int)f[HV_F_KVMHV_VCPU_PLACE_VCPU_ID].i;
			c->place_late = f[HV_F_KVMHV_VCPU_PLACE_LATE_JOIN].i != 0;
		}
		break;
	}
	case HV_EV_KVMHV_CEDE:
		if ((vm = vm_of_lpid(iv, (uint32_t)f[HV_F_KVMHV_CEDE_LPID].i)) >= 0)
			EACH_CB(iv, cede, vm, (int)f[HV_F_KVMHV_CEDE_VCPU_ID].i, ts, (int)f[HV_F_KVMHV_CEDE_N_CEDES].i,
				(int)f[HV_F_KVMHV_CEDE_N_NAPS].i, (int)f[HV_F_KVMHV_CEDE_OUTCOME].i);
		break;
	case HV_EV_KVMHV_KICK:
		if ((vm = vm_of_lpid(iv, (uint32_t)f[HV_F_KVMHV_KICK_LPID].i)) >= 0)
			EACH_CB(iv, kick, vm, (int)f[HV_F_KVMHV_KICK_VCPU_ID].i, ts, (int)f[HV_F_KVMHV_KICK_SOURCE].i);
		break;
	case HV_EV_SCHED_SWITCH:
		sched_switch(iv, ts, cpu, (int32_t)f[HV_F_SCHED_SWITCH_PREV_PID].i,
			     (int32_t)f[HV_F_SCHED_SWITCH_NEXT_PID].i);
		break;
	default:
		break;
	}
	return 0;
}

void hv_ivl_finish(struct hv_ivl *iv, uint64_t t_end)
{
	for (int vm = 0; vm < iv->nvms; vm++)
		for (int id = 0; id < iv->vcap[vm]; id++) {
			struct ivl_vcpu *v = &iv->vc[vm][id];
			if (v->in_guest)
				end_run(iv, vm, id, v, t_end, -1, v->ceded_in);
			if (v->wait_start != NIL && t_end >= v->wait_start)
				EACH_CB(iv, wait, vm, id, v->wait_start, t_end);
			v->wait_start = NIL;
		}
	for (int c = 0; c < iv->ncpus; c++) {
		struct ivl_cpu *p = &iv->cpus[c];
		if (p->open)
			EACH_CB(iv, window, c, p->start, t_end, p->nsub ? p->nsub : 1);
		p->open = p->burst = p->n = 0;
	}
}

/* ---- sources ---- */
static int sink_emit(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid, const struct hv_value *vals)
{
	return hv_ivl_event(ctx, id, ts, cpu, pid, vals);
}

void hv_ivl_sink(struct hv_ivl *iv, struct hv_sink *out)
{
	out->ctx = iv;
	out->emit = sink_emit;
}

static const int stock_ids[] = {
	HV_EV_KVM_GUEST_ENTER, HV_EV_KVM_GUEST_EXIT, HV_EV_KVM_PAGE_FAULT_ENTER, HV_EV_KVM_PAGE_FAULT_EXIT,
	HV_EV_KVM_HCALL_ENTER, HV_EV_KVM_HCALL_EXIT, HV_EV_KVMPPC_RUN_CORE, HV_EV_KVMPPC_RUN_VCPU_ENTER,
	HV_EV_KVMPPC_RUN_VCPU_EXIT, HV_EV_KVM_USERSPACE_EXIT, HV_EV_SCHED_SWITCH,
	HV_EV_KVMHV_VCPU_PLACE,	/* optional: exact VM attribution where recorded */
	HV_EV_KVMHV_CEDE, HV_EV_KVMHV_KICK,	/* optional: cedes and in-guest wake-ups */
};
#define NSTOCK (int)(sizeof stock_ids / sizeof stock_ids[0])

struct ivl_map {
	int type;		/* store type, -1 absent */
	int col[HV_MAX_EVENT_FIELDS];	/* row field of hvtrace field i, -1 missing */
};

static void map_type(struct hv_store *st, int id, struct ivl_map *m)
{
	const struct hv_event_def *want = &hv_events[id];
	m->type = hv_store_find_type(st, want->system, want->name);
	if (m->type < 0)
		return;
	const struct hv_event_def *have = hv_store_type_def(st, m->type);
	for (unsigned i = 0; i < want->nfields; i++) {
		m->col[i] = -1;
		for (unsigned j = 0; j < have->nfields; j++)
			if (strcmp(want->fields[i].name, have->fields[j].name) == 0)
				m->col[i] = (int)j;
	}
}

int hv_ivl_read_store(struct hv_ivl *iv, struct hv_store *st, uint64_t *t0, uint64_t *t1,
		      struct hv_err *err)
{
	struct ivl_map map[NSTOCK];
	int types[NSTOCK], nt = 0;
	for (int i = 0; i < NSTOCK; i++) {
		map_type(st, stock_ids[i], &map[i]);
		if (map[i].type >= 0)
			types[nt++] = map[i].type;
	}
	*t0 = NIL;
	*t1 = 0;
	struct hv_filter f = { .types = types, .ntypes = nt };
	struct hv_reader *rd;
	int rc = nt ? hv_reader_open(st, &f, &rd, err) : 0;
	if (rc < 0 || !nt)
		return rc;
	const struct hv_row *row;
	while ((rc = hv_reader_next(rd, &row, err)) > 0) {
		int k = 0;
		while (k < NSTOCK && map[k].type != row->type)
			k++;
		if (k == NSTOCK)
			continue;
		struct hv_value vals[HV_MAX_EVENT_FIELDS];
		const struct hv_event_def *want = &hv_events[stock_ids[k]];
		for (unsigned i = 0; i < want->nfields; i++)
			vals[i] = map[k].col[i] >= 0 ? row->v[map[k].col[i]] : (struct hv_value){ 0, NULL, 0 };
		if (stock_ids[k] != HV_EV_KVMHV_CEDE && stock_ids[k] != HV_EV_KVMHV_KICK) {
			if (*t0 == NIL)
				*t0 = row->ts;	/* the span: stock events and placements */
			*t1 = row->ts;
		}
		hv_ivl_event(iv, stock_ids[k], row->ts, row->cpu, row->pid, vals);
	}
	hv_reader_close(rd);
	return rc < 0 ? rc : 0;
}
