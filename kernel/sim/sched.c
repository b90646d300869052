/*
 * The simulated host scheduler: one online CPU per (sub)core primary, a FIFO run queue per
 * CPU, a periodic tick (HZ), wake-up placement (previous CPU if idle, else any idle CPU,
 * else the previous CPU), wake-up preemption (need_resched, and a reschedule IPI that takes
 * a CPU out of the guest with an EXTERNAL exit), and the resume points of vcpu tasks. Host
 * work of vcpu tasks in the kernel (hcall, page fault) is not preemptible; userspace and
 * load-task work is, at ticks and wake-ups. Emits sched:sched_switch / sched_wakeup.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "sim_int.h"
#include "trace.h"

static struct hv_cpu *cpu_of(struct hv_host *h, int id)
{
	return &h->cpus[h->cpu_by_id[id]];
}

void hv_set_ctx_task(struct hv_host *h, struct hv_task *t)
{
	h->ctx_cpu = t->cpu;
	h->ctx_pid = t->pid;
}

void hv_set_ctx_run(struct hv_host *h, struct hv_cpu *c)
{
	h->ctx_cpu = c->id;
	h->ctx_pid = c->run.runner_task ? c->run.runner_task->pid : 0;
}

/* interrupt context on the vcpu's CPU (hrtimer, device interrupt) */
void hv_set_ctx_vcpu(struct hv_host *h, struct hv_vcpu *v)
{
	if (v->entered && v->vc->run_cpu >= 0) {
		hv_set_ctx_run(h, cpu_of(h, v->vc->run_cpu));
		return;
	}
	struct hv_cpu *c = cpu_of(h, v->task->cpu);
	h->ctx_cpu = c->id;
	h->ctx_pid = c->curr ? c->curr->pid : 0;
}

static int cpu_idle(const struct hv_cpu *c)
{
	return !c->curr && !c->nr_queued && !hv_timer_armed(&c->t_sched);
}

static void rq_push(struct hv_cpu *c, struct hv_task *t)
{
	assert(!t->queued && !t->on_cpu);
	t->queued = 1;
	t->rq_next = NULL;
	if (c->rq_tail)
		c->rq_tail->rq_next = t;
	else
		c->rq_head = t;
	c->rq_tail = t;
	c->nr_queued++;
	t->cpu = c->id;
}

static struct hv_task *rq_pop(struct hv_cpu *c)
{
	struct hv_task *t = c->rq_head;
	if (!t)
		return NULL;
	c->rq_head = t->rq_next;
	if (!c->rq_head)
		c->rq_tail = NULL;
	c->nr_queued--;
	t->queued = 0;
	return t;
}

static void kick_cpu(struct hv_host *h, struct hv_cpu *c)
{
	if (!hv_timer_armed(&c->t_sched))
		hv_timer_arm(h, &c->t_sched, h->now);
}

static int preemptible(const struct hv_task *t)
{
	return t->work == W_USER || t->work == W_LOAD_RUN;
}

/* Take the current task off its CPU; the switch happens from the event loop. */
static void leave_cpu(struct hv_host *h, struct hv_task *t, long state)
{
	struct hv_cpu *c = cpu_of(h, t->cpu);
	assert(c->curr == t);
	c->curr = NULL;
	c->leaving = t;
	c->leaving_state = state;
	t->on_cpu = 0;
	kick_cpu(h, c);
}

void hv_env_sleep(struct hv_host *h, struct hv_task *t, int resume)
{
	t->resume = resume;
	t->sleeping = 1;
	leave_cpu(h, t, 1);
}

void hv_env_yield(struct hv_host *h, struct hv_task *t, int resume)
{
	struct hv_cpu *c = cpu_of(h, t->cpu);
	t->resume = resume;
	leave_cpu(h, t, 0);
	rq_push(c, t);
}

static struct hv_cpu *select_cpu(struct hv_host *h, struct hv_task *t)
{
	struct hv_cpu *prev = cpu_of(h, t->cpu);
	if (cpu_idle(prev))
		return prev;
	int start = h->cpu_by_id[t->cpu];
	for (int k = 1; k < h->ncpus; k++) {
		struct hv_cpu *c = &h->cpus[(start + k) % h->ncpus];
		if (cpu_idle(c))
			return c;
	}
	return prev;
}

void hv_env_wake(struct hv_host *h, struct hv_task *t)
{
	if (!t->sleeping)
		return;
	t->sleeping = 0;
	if (t->work == W_LOAD_SLEEP)
		hv_timer_cancel(h, &t->t_work);
	struct hv_cpu *c = select_cpu(h, t);
	trace_sched_wakeup(h, h->ctx_cpu, h->ctx_pid, t->comm, t->pid, c->id);
	rq_push(c, t);
	if (c->curr)
		c->need_resched = 1;	/* wake-up preemption */
	kick_cpu(h, c);
}

/* Re-arm the remaining part of preempted work, or continue in the kernel code. */
void hv_sched_resume(struct hv_host *h, struct hv_task *t)
{
	hv_set_ctx_task(h, t);
	struct hv_vcpu *v = t->vcpu;
	switch (t->resume) {
	case HV_RES_LOOP:
		hv_run_vcpu_loop(h, v);
		break;
	case HV_RES_AFTER_PREEMPT:
		hv_run_vcpu_after_preempt(h, v);
		break;
	case HV_RES_BLOCK_WAKE:
		assert(v->vc->runner == v);
		hv_vcore_block_woken(h, v->vc);
		break;
	case HV_RES_HOST_WORK:
	case HV_RES_USER:
	case HV_RES_LOAD_RUN:
		hv_timer_arm(h, &t->t_work, h->now + t->work_left);
		t->work_left = 0;
		break;
	default:
		assert(0);
	}
}

/* The deferred half of a context switch, and reschedule IPIs. */
void hv_sched_switch(struct hv_host *h, struct hv_cpu *c)
{
	if (c->curr) {
		struct hv_task *cur = c->curr;
		if (!c->nr_queued)
			return;
		if (cur->in_guest) {
			/* reschedule IPI: the primary thread takes an external interrupt */
			c->need_resched = 1;
			hv_set_ctx_run(h, c);
			struct hv_vcore *vc = c->run.vc[0];
			struct hv_vcpu *first = vc->runnable_threads[0];
			hv_commence_exit(h, c, first && first->entered ? first : NULL,
					 HV_TRAP_EXTERNAL);
		} else if (preemptible(cur) && c->need_resched) {
			cur->work_left = cur->t_work.when > h->now ? cur->t_work.when - h->now : 0;
			hv_timer_cancel(h, &cur->t_work);
			hv_env_yield(h, cur, cur->resume);
		} else if (cur->work == W_POLL) {
			hv_env_poll_stop(h, cur->poll_vc);	/* kvm_vcpu_can_poll fails */
		}
		return;
	}
	struct hv_task *next = rq_pop(c);
	struct hv_task *prev = c->leaving;
	c->leaving = NULL;
	c->need_resched = 0;
	if (next != prev || !next) {
		char idle[16];
		snprintf(idle, sizeof idle, "swapper/%d", c->id);
		if (prev || next)
			trace_sched_switch(h, c->id, prev ? prev->comm : idle, prev ? prev->pid : 0,
					   prev ? c->leaving_state : 0, next ? next->comm : idle,
					   next ? next->pid : 0);
	}
	if (!next)
		return;
	c->curr = next;
	next->on_cpu = 1;
	next->cpu = c->id;
	hv_sched_resume(h, next);
}

void hv_sched_tick(struct hv_host *h, struct hv_cpu *c)
{
	hv_timer_arm(h, &c->t_tick, c->t_tick.when + h->tick_ns);
	if (c->nr_queued)
		c->need_resched = 1;
	struct hv_task *cur = c->curr;
	if (!cur)
		return;
	if (cur->in_guest) {
		/* HDEC: the host's next timer event ends the guest's slice */
		hv_set_ctx_run(h, c);
		struct hv_vcore *vc = c->run.vc[0];
		struct hv_vcpu *first = vc->runnable_threads[0];
		hv_commence_exit(h, c, first && first->entered ? first : NULL, HV_TRAP_HV_DECREMENTER);
	} else if (c->need_resched && (preemptible(cur) || cur->work == W_POLL)) {
		kick_cpu(h, c);
	}
}

int hv_env_need_resched(struct hv_host *h, int cpu)
{
	return cpu_of(h, cpu)->need_resched;
}

int hv_env_cpu_has_waiters(struct hv_host *h, int cpu)
{
	return cpu_of(h, cpu)->nr_queued > 0;
}
