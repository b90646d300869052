/*
 * vcpu creation and numbering, vcore membership and the vcpu states (spec 2.1, 2.3):
 * kvmppc_core_vcpu_create_hv, kvmhv_set_smt_mode (smt_mode fixed at VM creation here),
 * kvmppc_remove_runnable, kvmppc_vcpu_woken, and the single writer of vcore_state (which
 * emits kvm_hv_sched:kvmhv_vcore_state on every change).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "trace.h"

int hv_vm_init(struct hv_host *h, struct hv_vm *vm, const char *name, uint32_t lpid, int32_t tgid,
	       int nvcpus, int smt_mode)
{
	(void)h;
	memset(vm, 0, sizeof *vm);
	/* kvmhv_set_smt_mode: a power of two, at most 8 (callers check threads_per_subcore) */
	if (smt_mode < 1 || smt_mode > HV_MAX_SMT || (smt_mode & (smt_mode - 1)) || nvcpus < 1)
		return -1;
	vm->name = name;
	vm->lpid = lpid;
	vm->tgid = tgid;
	vm->smt_mode = smt_mode;
	vm->nvcpus = nvcpus;
	vm->mmu_ready = 1;
	vm->nvcores = (nvcpus + smt_mode - 1) / smt_mode;
	vm->vcpus = calloc((size_t)nvcpus, sizeof *vm->vcpus);
	vm->vcores = calloc((size_t)vm->nvcores, sizeof *vm->vcores);
	if (!vm->vcpus || !vm->vcores) {
		hv_vm_free(vm);
		return -1;
	}
	for (int id = 0; id < nvcpus; id++) {
		struct hv_vcpu *v = &vm->vcpus[id];
		int core = id / smt_mode;			/* vcore index */
		struct hv_vcore *vc = &vm->vcores[core];
		if (vc->num_threads == 0) {			/* new vcore */
			vc->vm = vm;
			vc->index = core;
			vc->first_vcpuid = (uint32_t)(id & ~(smt_mode - 1));
			vc->vcore_state = HV_VCORE_INACTIVE;
			vc->pcpu = -1;
			vc->pl_cpu = -1;
			vc->first_exit_ptid = 0xff;
			vc->run_cpu = -1;
		}
		vc->num_threads++;
		v->vm = vm;
		v->vc = vc;
		v->vcpu_id = id;
		v->ptid = id - (int)vc->first_vcpuid;
		vc->vcpus[v->ptid] = v;
		v->state = HV_VCPU_NOTREADY;
		v->thread_cpu = v->cpu = -1;
		v->dec_expires = HV_TB_NIL;
		v->t_guest.heap_idx = v->t_dec.heap_idx = v->t_irq.heap_idx = -1;
		v->pc = 0xc000000000010000ULL;
		v->msr = 0x800000000280b033ULL;
		assert(vc->num_threads <= smt_mode);
	}
	return 0;
}

void hv_vm_free(struct hv_vm *vm)
{
	free(vm->vcpus);
	free(vm->vcores);
	vm->vcpus = NULL;
	vm->vcores = NULL;
}

static int slot(const struct hv_vcpu *v)
{
	return v->vcpu_id - (int)v->vc->first_vcpuid;
}

/* kvmppc_run_vcpu: state = RUNNABLE, runnable_threads[ptid] = vcpu, n_runnable++ */
void hv_vcore_add_runnable(struct hv_host *h, struct hv_vcore *vc, struct hv_vcpu *v)
{
	(void)h;
	assert(v->state != HV_VCPU_RUNNABLE);
	v->state = HV_VCPU_RUNNABLE;
	v->arrival = ++vc->arrivals;
	vc->runnable_threads[slot(v)] = v;
	vc->n_runnable++;
	assert(vc->n_runnable <= vc->num_threads);
}

/* kvmppc_remove_runnable */
void hv_remove_runnable(struct hv_host *h, struct hv_vcore *vc, struct hv_vcpu *v)
{
	(void)h;
	if (v->state != HV_VCPU_RUNNABLE)
		return;
	v->state = HV_VCPU_BUSY_IN_HOST;
	vc->n_runnable--;
	vc->runnable_threads[slot(v)] = NULL;
	assert(vc->n_runnable >= 0);
}

/* kvmppc_vcpu_woken: an interrupt is queued, or it was prodded (doorbells: not on P7/P8 here) */
int hv_vcpu_woken(const struct hv_vcpu *v)
{
	return v->pending_exceptions != 0 || v->prodded;
}

void hv_vcore_set_state(struct hv_host *h, struct hv_vcore *vc, int state, int cause)
{
	int cpu;
	int32_t pid;
	int old = vc->vcore_state;
	vc->vcore_state = state;
	hv_env_ctx(h, &cpu, &pid);
	trace_kvmhv_vcore_state(h, cpu, pid, vc, old, state, cause);
}

void hv_vcore_counts(const struct hv_vcore *vc, struct hv_start_counts *c)
{
	memset(c, 0, sizeof *c);
	c->num_threads = vc->num_threads;
	c->n_runnable = vc->n_runnable;
	for (int i = 0; i < HV_MAX_SMT; i++) {
		const struct hv_vcpu *v = vc->vcpus[i];
		if (!v)
			continue;
		if (v->state == HV_VCPU_RUNNABLE) {
			if (!v->ceded || hv_vcpu_woken(v))
				c->n_ready++;
		} else if (v->state == HV_VCPU_BUSY_IN_HOST) {
			c->n_busy++;
		} else if (v->ever_ran) {
			c->n_user++;
		} else {
			c->n_never++;
		}
	}
}
