/*
 * Guest behaviour and the vcpu tasks' host-side work. While a vcpu executes guest code it
 * computes for a random burst and then acts, drawn from its VM's weights: H_CEDE (idle until
 * its decrementer), a virtual-mode H_IPI to a sibling (exit 0xc00, the host kicks the
 * target; real mode when the target is itself in the guest), H_PROD, an hcall punted to userspace (H_PUT_TERM_CHAR), an HPT page fault
 * (0xe00), or a real-mode H_CONFER. External interrupts arrive at a per-vcpu rate. After
 * kvmppc_run_vcpu returns, the vcpu's own task handles the hcall / fault / userspace exit
 * (kvmppc_vcpu_run_hv) and calls KVM_RUN again.
 */
#include <assert.h>
#include <math.h>

#include "sim_int.h"
#include "trace.h"

uint64_t hv_rng_exp(uint64_t *s, uint64_t mean)
{
	if (!mean)
		return 0;
	double u = ((double)(hv_rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
	double x = -log(u) * (double)mean;
	if (x > 50.0 * (double)mean)
		x = 50.0 * (double)mean;
	return (uint64_t)x + 1;
}

uint32_t hv_rng_below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(hv_rng_next(s) % n) : 0;
}

static const struct hv_sim_beh *beh(const struct hv_vcpu *v)
{
	return (const struct hv_sim_beh *)v->beh;
}

static struct hv_cpu *run_cpu(struct hv_host *h, const struct hv_vcpu *v)
{
	return &h->cpus[h->cpu_by_id[v->vc->run_cpu]];
}

static struct hv_vcpu *sibling(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_vm *vm = v->vm;
	if (vm->nvcpus < 2)
		return NULL;
	int k = (int)hv_rng_below(&h->rng, (uint32_t)vm->nvcpus - 1);
	if (k >= v->vcpu_id)
		k++;
	return &vm->vcpus[k];
}

static void exit_for(struct hv_host *h, struct hv_vcpu *v, int trap, uint64_t req, uint64_t arg)
{
	v->hcall_req = req;
	v->hcall_arg = arg;
	hv_commence_exit(h, run_cpu(h, v), v, trap);
}

/* Carry out one guest action: H_CEDE (idle for idle_ns), H_IPI / H_PROD to vcpu `target`
 * of the VM (-1: a random sibling, drawn for every action but H_CEDE; -2: none), another
 * hcall req, an HPT fault or H_CONFER. */
void hv_guest_do(struct hv_host *h, struct hv_vcpu *v, int act, int target, uint64_t idle_ns,
		 uint64_t req)
{
	v->compute_left = 0;
	if (act == GA_CEDE) {
		v->pc = 0xc0000000000e1130ULL;
		v->msr = 0x800000000280b033ULL;
		hv_h_cede(h, v, h->now + idle_ns);
		return;
	}
	v->pc = 0xc000000000100000ULL + 4 * hv_rng_below(&h->rng, 0x10000);
	v->msr = 0x800000000280b033ULL;
	struct hv_vcpu *sib = target == -1 ? sibling(h, v)
		: target >= 0 && target < v->vm->nvcpus && target != v->vcpu_id ? &v->vm->vcpus[target] : NULL;
	switch (act) {
	case GA_IPI:
		if (sib && sib->entered) {
			/* real-mode H_IPI (icp_rm_set_vcpu_irq): the target runs in a guest
			 * thread, so an IPI reaches it without leaving the guest */
			sib->pending_exceptions |= HV_PEXC_EXTERNAL;
			hv_fast_vcpu_kick(h, sib, HV_KICK_IRQ, h->ctx_cpu);
			hv_env_guest_run(h, v);
		} else if (sib) {
			/* the target must be kicked in the host: H_TOO_HARD, redone in
			 * virtual mode (kvm_hcall_enter H_IPI) */
			exit_for(h, v, HV_TRAP_SYSCALL, HV_H_IPI, (uint64_t)sib->vcpu_id);
		} else {
			hv_env_guest_run(h, v);
		}
		return;
	case GA_PROD:
		if (sib)
			exit_for(h, v, HV_TRAP_SYSCALL, HV_H_PROD, (uint64_t)sib->vcpu_id);
		else
			hv_env_guest_run(h, v);
		return;
	case GA_HCALL:	/* with a target: a recorded virtual-mode H_IPI / H_CONFER */
		exit_for(h, v, HV_TRAP_SYSCALL, req, target >= 0 ? (uint64_t)target : 0);
		return;
	case GA_FAULT:
		v->pc = 0x100be0f4ULL;
		v->msr = 0x800000000280f033ULL;
		exit_for(h, v, HV_TRAP_H_DATA_STORAGE, 0, hv_rng_below(&h->rng, 1u << 20));
		return;
	default:	/* H_CONFER */
		if (hv_h_confer_realmode(h, v))
			exit_for(h, v, HV_TRAP_SYSCALL, HV_H_CONFER, (uint64_t)-1);
		else
			hv_env_guest_run(h, v);
	}
}

/* The guest's next action (the vcpu is executing, not napping): recorded demand, or drawn
 * from its VM's weights. */
void hv_guest_action(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->task->dem) {
		hv_dem_action(h, v);
		return;
	}
	const struct hv_sim_beh *b = beh(v);
	const uint32_t w[] = { b->w_cede, b->w_ipi, b->w_prod, b->w_uhcall, b->w_fault, b->w_confer };
	static const int acts[] = { GA_CEDE, GA_IPI, GA_PROD, GA_HCALL, GA_FAULT, GA_CONFER };
	uint32_t total = 0;
	for (int i = 0; i < 6; i++)
		total += w[i];
	uint32_t r = hv_rng_below(&h->rng, total ? total : 1);
	int i = 0;
	while (total && i < 5 && r >= w[i])
		r -= w[i++];
	int act = total ? acts[i] : GA_CEDE;
	uint64_t idle = act == GA_CEDE ? hv_rng_exp(&h->rng, b->idle_ns) : 0;
	hv_guest_do(h, v, act, -1, idle, HV_H_PUT_TERM_CHAR);
}

void hv_guest_irq(struct hv_host *h, struct hv_vcpu *v)
{
	const struct hv_sim_beh *b = beh(v);
	hv_timer_arm(h, &v->t_irq, h->now + hv_rng_exp(&h->rng, 1000000000ULL / b->irq_hz));
	v->pending_exceptions |= HV_PEXC_EXTERNAL;
	hv_fast_vcpu_kick(h, v, HV_KICK_IRQ, -1);
}

void hv_guest_late_entry(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->vc->run_cpu >= 0 && v->state == HV_VCPU_RUNNABLE && v->thread_cpu >= 0)
		hv_thread_entry(h, v);
}

/* ---- environment: guest execution ---- */
void hv_env_guest_start(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->late) {
		/* the IPI'd thread needs a moment before it tries to enter */
		v->t_guest.kind = TK_GUEST_ENTRY;
		hv_timer_arm(h, &v->t_guest, h->now + 2000);
		return;
	}
	hv_thread_entry(h, v);
}

void hv_env_guest_run(struct hv_host *h, struct hv_vcpu *v)
{
	if (!v->compute_left)
		v->compute_left = v->task->dem ? hv_dem_run_ns(h, v) : hv_rng_exp(&h->rng, beh(v)->run_ns);
	v->t_guest.kind = TK_GUEST_ACTION;
	hv_timer_arm(h, &v->t_guest, h->now + v->compute_left);
}

void hv_env_guest_stop(struct hv_host *h, struct hv_vcpu *v)
{
	if (!hv_timer_armed(&v->t_guest))
		return;
	if (v->t_guest.kind == TK_GUEST_ACTION)
		v->compute_left = v->t_guest.when > h->now ? v->t_guest.when - h->now : 1;
	hv_timer_cancel(h, &v->t_guest);
}

void hv_env_arm_dec(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->dec_expires == HV_TB_NIL)
		return;
	if (v->dec_expires > h->now) {
		hv_timer_arm(h, &v->t_dec, v->dec_expires);
	} else if (v->entered) {
		hv_timer_arm(h, &v->t_dec, h->now);
	} else {
		hv_timer_cancel(h, &v->t_dec);
		v->pending_exceptions |= HV_PEXC_DEC;	/* kvmppc_set_timer: already expired */
	}
}

void hv_env_cancel_dec(struct hv_host *h, struct hv_vcpu *v)
{
	hv_timer_cancel(h, &v->t_dec);
}

/* ---- the vcpu task after kvmppc_run_vcpu returned (kvmppc_vcpu_run_hv) ---- */
static void start_work(struct hv_host *h, struct hv_task *t, int work, uint64_t ns, int resume)
{
	t->work = work;
	t->resume = resume;
	hv_timer_arm(h, &t->t_work, h->now + ns);
}

/* Host time of work w: the recorded step's, or drawn from the VM's mean. */
static uint64_t host_ns(struct hv_host *h, struct hv_vcpu *v, int w)
{
	if (v->task->dem)
		return hv_dem_host_ns(v->task, w);
	const struct hv_sim_beh *b = beh(v);
	return hv_rng_exp(&h->rng, w == W_HCALL ? b->hcall_ns : w == W_FAULT ? b->fault_ns : b->user_ns);
}

static void to_userspace(struct hv_host *h, struct hv_vcpu *v, uint32_t reason, int err)
{
	trace_kvm_userspace_exit(h, h->ctx_cpu, h->ctx_pid, reason, err);
	v->state = HV_VCPU_NOTREADY;
	start_work(h, v->task, W_USER, host_ns(h, v, W_USER), HV_RES_USER);
}

void hv_env_vcpu_host_work(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_task *t = v->task;
	if (v->ret == HV_RESUME_HOST && v->exit_reason == HV_EXIT_PAPR_HCALL) {
		trace_kvm_hcall_enter(h, h->ctx_cpu, h->ctx_pid, v);
		start_work(h, t, W_HCALL, host_ns(h, v, W_HCALL), HV_RES_HOST_WORK);
	} else if (v->ret == HV_RESUME_PAGE_FAULT) {
		trace_kvm_page_fault_enter(h, h->ctx_cpu, h->ctx_pid, v);
		start_work(h, t, W_FAULT, host_ns(h, v, W_FAULT), HV_RES_HOST_WORK);
	} else {
		int err = v->ret < 0 ? v->ret : 0;
		to_userspace(h, v, (uint32_t)v->exit_reason, err);
	}
}

void hv_vcpu_hcall_done(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_task *t = v->task;
	t->work = W_NONE;
	if (t->resume == HV_RES_USER) {		/* back from QEMU: KVM_RUN */
		hv_run_vcpu_enter(h, v);
		return;
	}
	if (v->ret == HV_RESUME_PAGE_FAULT) {
		trace_kvm_page_fault_exit(h, h->ctx_cpu, h->ctx_pid, v);
		hv_run_vcpu_enter(h, v);
		return;
	}
	struct hv_vcpu *dst = NULL;
	if (v->hcall_arg < (uint64_t)v->vm->nvcpus)
		dst = &v->vm->vcpus[v->hcall_arg];
	switch (v->hcall_req) {
	case HV_H_IPI:
		if (dst) {
			dst->pending_exceptions |= HV_PEXC_EXTERNAL;
			hv_fast_vcpu_kick(h, dst, HV_KICK_IRQ, h->ctx_cpu);
		}
		break;
	case HV_H_PROD:
		if (dst)
			hv_h_prod(h, v, dst);
		break;
	case HV_H_CONFER:
		break;
	default:
		if (hv_dem_hcall_in_kernel(t))
			break;	/* recorded as completed in the kernel */
		/* not handled in the kernel: QEMU does it */
		trace_kvm_hcall_exit(h, h->ctx_cpu, h->ctx_pid, v, HV_RESUME_HOST, (int64_t)v->hcall_req);
		to_userspace(h, v, HV_EXIT_PAPR_HCALL, 0);
		return;
	}
	trace_kvm_hcall_exit(h, h->ctx_cpu, h->ctx_pid, v, HV_RESUME_GUEST, HV_H_SUCCESS);
	hv_run_vcpu_enter(h, v);
}
