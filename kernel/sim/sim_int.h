/*
 * Internals of the host simulator shared by its files (sim.c: event loop, environment and
 * emission; sched.c: host scheduler; guest.c: guest behaviour; heap.c: timer queue).
 */
#ifndef HV_SIM_INT_H
#define HV_SIM_INT_H

#include "sim.h"

enum hv_timer_kind {
	TK_TICK = 1, TK_SCHED, TK_EXIT, TK_WORK, TK_GUEST_ACTION, TK_GUEST_ENTRY, TK_DEC, TK_IRQ,
};
/* what a task's work timer completes */
enum { W_NONE, W_HCALL, W_FAULT, W_USER, W_LOAD_RUN, W_LOAD_SLEEP, W_POLL };

struct hv_task {
	int32_t pid, tgid;
	char comm[16];
	struct hv_vcpu *vcpu;		/* NULL: a host load task */
	const struct hv_sim_load *load;
	int cpu;			/* current or last CPU (id) */
	int on_cpu, queued, sleeping, in_guest;
	int resume;			/* enum hv_resume */
	struct hv_task *rq_next;
	int work;			/* W_* of t_work */
	uint64_t work_left;		/* preempted preemptible work */
	struct hv_timer t_work;
	struct hv_vcore *poll_vc;
	struct hv_dem_cur *dem;		/* demand-driven guest (guest_demand.c), else NULL */
};

/* A vcpu's place in its recorded demand (whatif.h). */
struct hv_dem_cur {
	const struct hv_dem_vcpu *dv;
	size_t idx;			/* next step */
	const struct hv_dem_step *cur;	/* the step being carried out (its host times) */
};

struct hv_host {
	struct hv_params par;
	const struct hv_profile *prof;
	const struct hv_scenario *sc;
	struct hv_sink *sink;
	uint64_t now, last_ts, end;
	int ctx_cpu;
	int32_t ctx_pid;
	int ncpus;
	struct hv_cpu *cpus;
	int *cpu_by_id;			/* logical CPU id -> index in cpus, -1 if offline */
	int max_cpu_id;
	int nvms;
	struct hv_vm *vms;
	const struct hv_sim_beh **vm_beh;
	int ntasks;
	struct hv_task *tasks;
	struct hv_timer **heap;
	size_t heap_n, heap_cap, heap_peak;
	uint64_t timer_seq;
	uint64_t rng;
	uint64_t tick_ns;
	struct hv_sim_stats stats;
	struct hv_dem_cur *dem_curs;	/* owned; NULL unless hv_sim_set_demand */
	int err;
};

struct hv_sim {
	struct hv_host h;
	struct hv_scenario sc;
};

/* heap.c */
void hv_timer_arm(struct hv_host *h, struct hv_timer *t, uint64_t when);
void hv_timer_cancel(struct hv_host *h, struct hv_timer *t);
struct hv_timer *hv_timer_pop(struct hv_host *h);
static inline int hv_timer_armed(const struct hv_timer *t)
{
	return t->heap_idx >= 0;
}

/* rng */
static inline uint64_t hv_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
uint64_t hv_rng_exp(uint64_t *s, uint64_t mean);
uint32_t hv_rng_below(uint64_t *s, uint32_t n);

/* sched.c */
void hv_sched_tick(struct hv_host *h, struct hv_cpu *c);
void hv_sched_switch(struct hv_host *h, struct hv_cpu *c);
void hv_sched_resume(struct hv_host *h, struct hv_task *t);
void hv_sched_work_done(struct hv_host *h, struct hv_task *t);
void hv_set_ctx_task(struct hv_host *h, struct hv_task *t);
void hv_set_ctx_run(struct hv_host *h, struct hv_cpu *c);
void hv_set_ctx_vcpu(struct hv_host *h, struct hv_vcpu *v);

/* guest.c */
void hv_guest_action(struct hv_host *h, struct hv_vcpu *v);
void hv_guest_irq(struct hv_host *h, struct hv_vcpu *v);
void hv_guest_late_entry(struct hv_host *h, struct hv_vcpu *v);
void hv_vcpu_hcall_done(struct hv_host *h, struct hv_vcpu *v);
/* The guest's actions, however chosen (random draw or recorded demand). */
enum { GA_CEDE, GA_IPI, GA_PROD, GA_HCALL, GA_FAULT, GA_CONFER };
void hv_guest_do(struct hv_host *h, struct hv_vcpu *v, int act, int target, uint64_t idle_ns,
		 uint64_t req);

/* guest_demand.c */
void hv_dem_action(struct hv_host *h, struct hv_vcpu *v);
uint64_t hv_dem_run_ns(struct hv_host *h, struct hv_vcpu *v);
/* Host time of the current step's work W_HCALL / W_FAULT / W_USER. */
uint64_t hv_dem_host_ns(const struct hv_task *t, int work);
/* The current hcall step completes in the kernel (no userspace part). */
int hv_dem_hcall_in_kernel(const struct hv_task *t);

#endif
