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

/* The guest's next action (the vcpu is executing, not napping). */
void hv_guest_action(struct hv_host *h, struct hv_vcpu *v)
{
	const struct hv_sim_beh *b = beh(v);
	uint32_t total = b->w_cede + b->w_ipi + b->w_prod + b->w_uhcall + b->w_fault + b->w_confer;
	uint32_t r = hv_rng_below(&h->rng, total ? total : 1);
	v->compute_left = 0;
	if (r < b->w_cede || !total) {
		v->pc = 0xc0000000000e1130ULL;
		v->msr = 0x800000000280b033ULL;
		hv_h_cede(h, v, h->now + hv_rng_exp(&h->rng, b->idle_ns));
		return;
	}
	r -= b->w_cede;
	v->pc = 0xc000000000100000ULL + 4 * hv_rng_below(&h->rng, 0x10000);
	v->msr = 0x800000000280b033ULL;
	struct hv_vcpu *sib = sibling(h, v);
	if (r < b->w_ipi) {
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
	}
	r -= b->w_ipi;
	if (r < b->w_prod) {
		if (sib)
			exit_for(h, v, HV_TRAP_SYSCALL, HV_H_PROD, (uint64_t)sib->vcpu_id);
		else
			hv_env_guest_run(h, v);
		return;
	}
	r -= b->w_prod;
	if (r < b->w_uhcall) {
		exit_for(h, v, HV_TRAP_SYSCALL, HV_H_PUT_TERM_CHAR, 0);
		return;
	}
	r -= b->w_uhcall;
	if (r < b->w_fault) {
		v->pc = 0x100be0f4ULL;
		v->msr = 0x800000000280f033ULL;
		exit_for(h, v, HV_TRAP_H_DATA_STORAGE, 0, hv_rng_below(&h->rng, 1u << 20));
		return;
	}
	/* H_CONFER */
	if (hv_h_confer_realmode(h, v))
		exit_for(h, v, HV_TRAP_SYSCALL, HV_H_CONFER, (uint64_t)-1);
	else
		hv_env_guest_run(h, v);
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
		v->compute_left = hv_rng_exp(&h->rng, beh(v)->run_ns);
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

static void to_userspace(struct hv_host *h, struct hv_vcpu *v, uint32_t reason, int err)
{
	trace_kvm_userspace_exit(h, h->ctx_cpu, h->ctx_pid, reason, err);
	v->state = HV_VCPU_NOTREADY;
	start_work(h, v->task, W_USER, hv_rng_exp(&h->rng, beh(v)->user_ns), HV_RES_USER);
}

void hv_env_vcpu_host_work(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_task *t = v->task;
	if (v->ret == HV_RESUME_HOST && v->exit_reason == HV_EXIT_PAPR_HCALL) {
		trace_kvm_hcall_enter(h, h->ctx_cpu, h->ctx_pid, v);
		start_work(h, t, W_HCALL, hv_rng_exp(&h->rng, beh(v)->hcall_ns), HV_RES_HOST_WORK);
	} else if (v->ret == HV_RESUME_PAGE_FAULT) {
		trace_kvm_page_fault_enter(h, h->ctx_cpu, h->ctx_pid, v);
		start_work(h, t, W_FAULT, hv_rng_exp(&h->rng, beh(v)->fault_ns), HV_RES_HOST_WORK);
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
		/* not handled in the kernel: QEMU does it */
		trace_kvm_hcall_exit(h, h->ctx_cpu, h->ctx_pid, v, HV_RESUME_HOST, (int64_t)v->hcall_req);
		to_userspace(h, v, HV_EXIT_PAPR_HCALL, 0);
		return;
	}
	trace_kvm_hcall_exit(h, h->ctx_cpu, h->ctx_pid, v, HV_RESUME_GUEST, HV_H_SUCCESS);
	hv_run_vcpu_enter(h, v);
}
