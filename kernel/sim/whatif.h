/*
 * What-if: replay a recorded trace's guest demand through the host simulator under other
 * micro-threading settings (`hvtrace whatif`). Four pieces, one file each:
 *
 *  - ivl.c: the interval code. A stream of stock events (kvm_hv:*, kvm:kvm_userspace_exit,
 *    sched:sched_switch; from a store or straight from the simulator as a struct hv_sink)
 *    becomes intervals: guest runs per vcpu (kvm_guest_enter -> its kvm_guest_exit, with the
 *    trap and the ceded flags), dispatch waits per vcpu (KVM_RUN entry or a non-ceded exit
 *    that stays in the kernel -> the vcpu's next kvm_guest_enter), kvmppc_run_core windows
 *    per host CPU (first kvm_guest_enter of the burst -> Exit, with the number of vcore
 *    groups entered = subcores), host work per vcpu (hcall, page fault, userspace) and host
 *    task runs (sched_switch). Piggybacked vcpus are given to a VM whose vcpu of that id is
 *    runnable and not in the guest, continuing the previous entry's vcore first, then the
 *    runner's VM (or, where the trace has hvtrace's kvmhv_vcpu_place events, by their
 *    lpid); a vcore group is (VM, vcpu_id / smt_mode). Where the trace has hvtrace's
 *    kvmhv_cede and kvmhv_kick events, they are handed on as they are (demand.c uses them).
 *  - metrics.c: the metrics of one run, from intervals clipped to [t0, t1].
 *  - demand.c: each vcpu's demand (a sequence of steps) and the host's shape (from meta).
 *  - guest_demand.c / whatif.c: the demand-driven guest behaviour and the per-setting runner.
 */
#ifndef HV_WHATIF_H
#define HV_WHATIF_H

#include <stddef.h>
#include <stdint.h>

#include "hv_sink.h"
#include "model.h"

struct hv_store;
struct hv_err;

/* ---- ivl.c ---- */
enum { HV_HOST_HCALL = 1, HV_HOST_FAULT, HV_HOST_USER };

struct hv_ivl_cb {
	void *ctx;
	void (*run)(void *ctx, int vm, int vcpu, uint64_t start, uint64_t end, int trap,
		    int ceded_in, int ceded_out);	/* trap -1: still in the guest at the end */
	void (*wait)(void *ctx, int vm, int vcpu, uint64_t start, uint64_t end);
	void (*window)(void *ctx, int cpu, uint64_t start, uint64_t end, int n_subcores);
	void (*host)(void *ctx, int vm, int vcpu, int kind, uint64_t req, uint64_t arg, int ret,
		     uint64_t start, uint64_t end);
	void (*kvm_run)(void *ctx, int vm, int vcpu, uint64_t ts);	/* kvmppc_run_vcpu_enter */
	void (*task_run)(void *ctx, int32_t pid, uint64_t start, uint64_t end);	/* not a vcpu task */
	/* hvtrace's decision events, where recorded (VM by lpid): kvmhv_cede right after the
	 * kvm_guest_exit of the run it reports on (its H_CEDEs, naps, the last outcome), and
	 * kvmhv_kick (an interrupt, IPI or H_PROD for the vcpu: wakes it if it naps in the guest) */
	void (*cede)(void *ctx, int vm, int vcpu, uint64_t ts, int n_cedes, int n_naps, int outcome);
	void (*kick)(void *ctx, int vm, int vcpu, uint64_t ts, int source);
};

#define HV_IVL_MAX_VMS 64
#define HV_IVL_MAX_CB 2

struct hv_ivl_vm {
	int32_t tgid;
	int smt;		/* threads per vcore (vcore group = vcpu_id / smt) */
	int nvcpus;		/* highest vcpu id seen + 1 (or from meta) */
};

struct hv_ivl;
/* smt_default: threads per vcore for VMs not declared with hv_ivl_add_vm. */
struct hv_ivl *hv_ivl_new(const struct hv_ivl_cb *cbs, int ncb, int smt_default);
/* Declare a VM (index in declaration order); returns its index or -1. With its lpid, the
 * kvm_hv_sched:kvmhv_vcpu_place events (where recorded) attribute entries exactly. */
int hv_ivl_add_vm(struct hv_ivl *iv, int32_t tgid, int smt, int nvcpus);
int hv_ivl_add_vm_lpid(struct hv_ivl *iv, int32_t tgid, uint32_t lpid, int smt, int nvcpus);
/* One event, vals in tracepoints/events.def order (the hv_sink shape). */
int hv_ivl_event(struct hv_ivl *iv, int id, uint64_t ts, int32_t cpu, int32_t pid,
		 const struct hv_value *vals);
/* Close what is open at t_end (runs with trap -1, waits, windows). */
void hv_ivl_finish(struct hv_ivl *iv, uint64_t t_end);
int hv_ivl_nvms(const struct hv_ivl *iv);
const struct hv_ivl_vm *hv_ivl_vm(const struct hv_ivl *iv, int i);
int hv_ivl_is_vcpu_task(const struct hv_ivl *iv, int32_t pid);
/* Counts: events seen per id, ambiguous VM attributions. */
uint64_t hv_ivl_count(const struct hv_ivl *iv, int id);
uint64_t hv_ivl_ambiguous(const struct hv_ivl *iv);
void hv_ivl_free(struct hv_ivl *iv);
/* A sink feeding iv (for the simulator). */
void hv_ivl_sink(struct hv_ivl *iv, struct hv_sink *out);
/* Feed every stock event of a store, fields mapped by name; returns 0 or HV_E_*. */
int hv_ivl_read_store(struct hv_ivl *iv, struct hv_store *st, uint64_t *t0, uint64_t *t1,
		      struct hv_err *err);

/* ---- metrics.c ---- */
struct hv_metrics {
	double throughput;	/* guest-thread time / wall time */
	double core_util;	/* kvmppc_run_core window time / (host CPUs x wall time) */
	double wait_p50_us, wait_p99_us;
	double share[3];	/* whole, 2-way, 4-way: share of window time */
	double exits_per_s;
	uint64_t runs, waits, windows;
};

struct hv_mx;
/* Metrics over [t0, t1] on ncpus host CPUs (subcore primaries); par decides the split mode
 * of a window from its number of subcores (hv_split_mode). */
struct hv_mx *hv_mx_new(const struct hv_params *par, int ncpus, uint64_t t0, uint64_t t1);
void hv_mx_cb(struct hv_mx *m, struct hv_ivl_cb *cb);
void hv_mx_result(struct hv_mx *m, struct hv_metrics *out);
void hv_mx_free(struct hv_mx *m);

/* ---- demand.c ---- */
enum { HV_DEM_CEDE = 1, HV_DEM_HCALL, HV_DEM_FAULT, HV_DEM_USER };
#define HV_DEM_FOREVER (~(uint64_t)0 >> 2)

struct hv_dem_step {
	uint64_t run_ns;	/* guest execution before the action */
	uint64_t ns;		/* cede: idle time; hcall/fault: host time */
	uint64_t user_ns;	/* time in userspace after it (0: none) */
	uint64_t req, arg;	/* hcall number and its first argument (gpr4) */
	uint8_t kind;		/* HV_DEM_* */
};

struct hv_dem_vcpu {
	uint64_t start_ns;	/* first KVM_RUN (relative to t0); HV_DEM_FOREVER: never */
	struct hv_dem_step *steps;
	size_t n, cap;
	/* extraction state */
	uint64_t acc, idle_start, last_ts;
	int idle, seen;
	struct hv_dem_run {	/* the last run, held until its kvmhv_cede (if any) has been seen */
		uint64_t start, end;
		int trap, ci, co, valid, n_cedes, n_naps, outcome;
	} pend;
	uint64_t kicks[32];	/* kvmhv_kick times not yet matched to a run */
	int nkicks;
};

struct hv_dem_vm {
	int32_t tgid;
	int smt, nvcpus;
	struct hv_dem_vcpu *v;
};

struct hv_demand {
	char cpu[16];		/* POWER7 / POWER8 / POWER9 / ... */
	char profile[32];
	char profile_why[256];
	struct hv_params par;
	int cores, ncpus;	/* ncpus: host CPUs the simulator runs (subcore primaries) */
	uint32_t hz;
	uint64_t t0, t1;
	uint64_t run_core_events, kvm_events;
	int exact_cedes;	/* the trace has kvmhv_cede: cedes and in-guest wake-ups placed by it */
	int nvms;
	struct hv_dem_vm vms[HV_IVL_MAX_VMS];
	int nload;		/* host tasks (not vcpus) that ran */
	uint64_t load_run_ns, load_sleep_ns;	/* their mean burst and gap */
	struct hv_metrics recorded;
};

/* Read the host shape from meta, then demand and recorded metrics in one pass over st.
 * HV_E_USAGE (with a message) when the trace cannot be replayed (no vcpu activity). */
int hv_demand_extract(struct hv_store *st, struct hv_demand *d, struct hv_err *err);
void hv_demand_free(struct hv_demand *d);

/* ---- guest_demand.c ---- */
struct hv_sim;
/* Drive the simulator's vcpus by d (VM i of the scenario = d->vms[i]) instead of the
 * scenario's distributions. Call after hv_sim_create, before hv_sim_run. */
int hv_sim_set_demand(struct hv_sim *s, const struct hv_demand *d);

/* ---- whatif.c ---- */
struct hv_whatif_setting {
	int dynamic_mt_modes;
	int target_smt_mode;	/* -1: as recorded */
	const char *profile;	/* NULL: as recorded */
};
/* Simulate d's demand under setting s; metrics into out. 0, or -1 with a message. */
int hv_whatif_run(const struct hv_demand *d, const struct hv_whatif_setting *s,
		  struct hv_metrics *out, char *err, size_t errlen);

#endif
