/*
 * hv_sim: a deterministic discrete-event simulator of a POWER7/POWER8 KVM host that drives
 * the gang-path model of kernel/. It owns time (ns; the timebase is 512 MHz), the host CPUs
 * (one online primary per (sub)core), a small host scheduler with run queues and ticks, the
 * host tasks (vcpu tasks and load tasks), and the guests' behaviour (compute, cede, hcalls,
 * page faults, interrupts), all drawn from one seeded PRNG. Same scenario and seed, same
 * event stream. The event queue holds a fixed number of timer slots per object, so memory
 * does not grow with the simulated duration.
 */
#ifndef HV_SIM_H
#define HV_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "hv_sink.h"
#include "model.h"

#define HV_SIM_MAX_VMS 64
#define HV_SIM_MAX_LOADS 64
#define HV_SIM_NAME 32

/* Per-VM guest behaviour: mean times (ns) and integer weights of the guest's next action. */
struct hv_sim_beh {
	uint64_t run_ns;	/* mean compute burst before the next action */
	uint64_t idle_ns;	/* mean idle time after H_CEDE (the guest DEC) */
	uint64_t hcall_ns;	/* host time of a virtual-mode hcall */
	uint64_t fault_ns;	/* host time of a page fault */
	uint64_t user_ns;	/* time in userspace (QEMU) for an hcall punted there */
	uint32_t w_cede, w_ipi, w_prod, w_uhcall, w_fault, w_confer;
	uint32_t irq_hz;	/* external interrupts per second per vcpu */
};

struct hv_sim_vm {
	char name[HV_SIM_NAME];
	int vcpus;
	int smt;
	struct hv_sim_beh beh;
};

struct hv_sim_load {
	char name[HV_SIM_NAME];
	int count;
	uint64_t run_ns, sleep_ns;	/* means */
};

struct hv_scenario {
	char name[64];
	char source[256];	/* file name, or "built-in" */
	struct hv_params par;
	int profile;		/* enum hv_profile_id */
	int cores;
	uint64_t duration_ns;
	uint64_t seed;
	uint32_t hz;
	int nvms;
	struct hv_sim_vm vms[HV_SIM_MAX_VMS];
	int nloads;
	struct hv_sim_load loads[HV_SIM_MAX_LOADS];
	int tpc_set, tps_set;	/* threads_per_core / threads_per_subcore given explicitly */
};

/* Parse a scenario text. On error returns -1 with "FILE:LINE: message" in err. */
int hv_scenario_parse(struct hv_scenario *sc, const char *text, const char *fname, char *err,
		      size_t errlen);
/* The built-in default scenario text. */
const char *hv_scenario_default_text(void);
void hv_scenario_defaults(struct hv_scenario *sc);
/* Apply `name=value` (a module parameter or a scenario key such as seed). */
int hv_scenario_set_param(struct hv_scenario *sc, const char *name, const char *value, char *err,
			  size_t errlen);
/* Check cross-field rules (smt_mode <= threads_per_subcore, ...). */
int hv_scenario_check(const struct hv_scenario *sc, char *err, size_t errlen);

struct hv_sim_stats {
	uint64_t events;
	uint64_t counts[HV_STAT_N];
};

struct hv_sim;
int hv_sim_create(const struct hv_scenario *sc, struct hv_sink *sink, struct hv_sim **out);
/* Run until the scenario's duration. Returns 0, or the sink's negative error. */
int hv_sim_run(struct hv_sim *s);
const struct hv_sim_stats *hv_sim_stats(const struct hv_sim *s);
void hv_sim_destroy(struct hv_sim *s);
/* Task (pid, tgid, comm) list, for the store's task table. */
int hv_sim_ntasks(const struct hv_sim *s);
void hv_sim_task(const struct hv_sim *s, int i, int32_t *pid, int32_t *tgid, const char **comm);
int hv_sim_named_tasks(const struct hv_sim *s);
void hv_sim_named_task(const struct hv_sim *s, int i, int32_t *pid, int32_t *tgid, char *comm, size_t n);
/* Describe the VMs, for meta: lpid, tgid, name, vcpus, smt. */
int hv_sim_nvms(const struct hv_sim *s);
void hv_sim_vm_info(const struct hv_sim *s, int i, uint32_t *lpid, int32_t *tgid,
		    const char **name, int *vcpus, int *smt);
/* Largest number of armed timers seen (memory bound check). */
size_t hv_sim_heap_peak(const struct hv_sim *s);

/* Sinks: the store, and a counting null sink. */
struct hv_store;
struct hv_store_sink {
	struct hv_store *st;
	int types[64];
	void *err;		/* struct hv_err * */
};
void hv_store_sink_init(struct hv_store_sink *ss, struct hv_store *st, void *err,
			struct hv_sink *out);
void hv_null_sink_init(uint64_t *counter, struct hv_sink *out);
/* A sink that hands every event to a, then to b (the first error stops it). */
struct hv_tee_sink {
	struct hv_sink a, b;
};
void hv_tee_sink_init(struct hv_tee_sink *t, const struct hv_sink *a, const struct hv_sink *b,
		      struct hv_sink *out);
/* The scenario's facts as (key, value) pairs, in a fixed order: what goes into the store's
 * meta (source, cpu, threads_per_core, profile, seed, param.*, vm.*). Stops at and returns the
 * first negative value fn returns. */
typedef int (*hv_sim_meta_fn)(void *ctx, const char *key, const char *value);
int hv_sim_meta_each(const struct hv_sim *s, const struct hv_scenario *sc, hv_sim_meta_fn fn, void *ctx);
/* Write the scenario's facts into the store's meta and the task table. */
int hv_sim_write_meta(const struct hv_sim *s, const struct hv_scenario *sc, struct hv_store *st,
		      void *err);

/* perf.data output (perf_out.c): open a perf.data writer (db/hv_perf_write.h) for a simulated
 * host, with an attr for every known event, the scenario's facts in its hvtrace facts section,
 * an OSRELEASE of the profile's era, and a COMM record per task. Returns 0 or HV_E_* with the
 * message in err (a struct hv_err *); *out is the writer, its sink is hv_perfw_sink(*out). */
struct hv_perfw;
struct hv_sim_perf_opts {
	int big_endian;
	int force;		/* replace an existing file */
	const char *const *argv;	/* recorded as the command line; NULL: "hvtrace simulate" */
	int argc;
};
int hv_sim_perf_open(const struct hv_sim *s, const struct hv_scenario *sc, const char *path,
		     const struct hv_sim_perf_opts *o, struct hv_perfw **out, void *err);

#endif
