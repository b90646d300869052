/*
 * Demand-driven guests (what-if): instead of drawing bursts and actions from its VM's
 * distributions, each vcpu replays its recorded sequence of steps (whatif.h, demand.c):
 * execute the step's guest time (across however many host preemptions), then do its action
 * through the same guest code as the random behaviour (hv_guest_do): H_CEDE with the
 * recorded idle time as the decrementer, H_IPI / H_PROD / H_CONFER to the recorded target,
 * (a recorded virtual-mode H_IPI / H_CONFER exits again, whatever the host's state),
 * another hcall (completed in the kernel, or in userspace for the recorded time), an HPT
 * fault with its recorded host time, or an exit to userspace. A vcpu starts at its first
 * recorded KVM_RUN and, with its steps used up, cedes until the end. Random external
 * interrupts are off: recorded wake-ups are in the idle times.
 */
#include <stdlib.h>

#include "sim_int.h"
#include "whatif.h"

static const struct hv_dem_step *next_step(struct hv_dem_cur *c)
{
	return c->idx < c->dv->n ? &c->dv->steps[c->idx] : NULL;
}

uint64_t hv_dem_run_ns(struct hv_host *h, struct hv_vcpu *v)
{
	(void)h;
	const struct hv_dem_step *s = next_step(v->task->dem);
	return s && s->run_ns ? s->run_ns : 1;
}

void hv_dem_action(struct hv_host *h, struct hv_vcpu *v)
{
	struct hv_dem_cur *c = v->task->dem;
	const struct hv_dem_step *s = next_step(c);
	uint64_t forever = h->end + 1000000000ULL;
	if (!s) {
		c->cur = NULL;
		hv_guest_do(h, v, GA_CEDE, -2, forever - h->now, 0);
		return;
	}
	c->idx++;
	c->cur = s;
	int target = s->arg < (uint64_t)v->vm->nvcpus ? (int)s->arg : -2;
	switch (s->kind) {
	case HV_DEM_CEDE:
		hv_guest_do(h, v, GA_CEDE, -2, s->ns < forever - h->now ? s->ns : forever - h->now, 0);
		break;
	case HV_DEM_FAULT:
		hv_guest_do(h, v, GA_FAULT, -2, 0, 0);
		break;
	case HV_DEM_USER:
		hv_guest_do(h, v, GA_HCALL, -2, 0, HV_H_PUT_TERM_CHAR);
		break;
	default:
		/* the recorded hcall exited (an H_IPI found its target outside a guest thread,
		 * an H_CONFER chose to yield): it exits again, whatever the host's state */
		if (s->req == HV_H_PROD)
			hv_guest_do(h, v, GA_PROD, target, 0, 0);
		else
			hv_guest_do(h, v, GA_HCALL, s->req == HV_H_IPI ? target : -2, 0, s->req);
	}
}

uint64_t hv_dem_host_ns(const struct hv_task *t, int work)
{
	const struct hv_dem_step *s = t->dem->cur;
	uint64_t ns = !s ? 1000 : work == W_USER ? s->user_ns : s->kind == HV_DEM_USER ? 0 : s->ns;
	return ns ? ns : 1;
}

int hv_dem_hcall_in_kernel(const struct hv_task *t)
{
	return t->dem && t->dem->cur && t->dem->cur->kind == HV_DEM_HCALL && !t->dem->cur->user_ns;
}

int hv_sim_set_demand(struct hv_sim *s, const struct hv_demand *d)
{
	struct hv_host *h = &s->h;
	int n = 0;
	for (int i = 0; i < h->nvms && i < d->nvms; i++)
		n += h->vms[i].nvcpus;
	free(h->dem_curs);
	h->dem_curs = calloc((size_t)(n ? n : 1), sizeof *h->dem_curs);
	if (!h->dem_curs)
		return -1;
	int j = 0;
	for (int i = 0; i < h->nvms && i < d->nvms; i++)
		for (int k = 0; k < h->vms[i].nvcpus; k++) {
			struct hv_vcpu *v = &h->vms[i].vcpus[k];
			struct hv_task *t = v->task;
			struct hv_dem_cur *c = &h->dem_curs[j++];
			static const struct hv_dem_vcpu none = { .start_ns = HV_DEM_FOREVER };
			c->dv = k < d->vms[i].nvcpus ? &d->vms[i].v[k] : &none;
			t->dem = c;
			hv_timer_cancel(h, &v->t_irq);
			hv_timer_cancel(h, &t->t_work);
			if (c->dv->start_ns < h->end)
				hv_timer_arm(h, &t->t_work, c->dv->start_ns + 1);
		}
	return 0;
}
