/*
 * hvtrace derive internals: the per-task and per-vcpu state (derive_state.c), the guest run
 * and dispatch-wait bookkeeping (derive_vcpu.c), the hcall and vcore-block intervals
 * (derive_task.c) and the table writer (derive.c).
 */
#ifndef HV_DERIVE_INT_H
#define HV_DERIVE_INT_H

#include <stdint.h>

#include "hv_derive.h"
#include "hv_replay.h"

struct sqlite3_stmt;

struct dv_task {
	int32_t pid, tgid, vcpu;	/* tgid/vcpu -1 unknown */
	uint8_t in_hcall, in_block, in_guest;
	int32_t hc_cpu, bl_cpu, bl_tgid, bl_runner, g_cpu, g_vcpu;
	int64_t hc_req;
	uint64_t hc_ts, bl_ts, g_seq, g_ts;
	uint8_t g_ceded;
};

struct dv_vcpu {
	int32_t tgid, id;
	uint8_t in_run;		/* inside KVM_RUN (kvmppc_run_vcpu_enter seen, or a guest run) */
	uint8_t busy;		/* in an hcall or page fault in its own task */
	uint8_t ceded;		/* its last guest exit was ceded: idle, not waiting */
	uint64_t wait_from;	/* start of the open wait interval, 0 none */
};

struct dv_map {			/* open addressing, key -> index into a growing array */
	uint64_t *keys;
	int32_t *idx;
	uint32_t cap, n;
	void *items;
	size_t size;
};

struct dv {
	struct hv_store *st;
	struct hv_derive_summary *sum;
	struct hv_err *err;
	int rc;			/* first error */
	int gang, has_wakeup;
	struct dv_map tasks, vcpus;
	struct sqlite3_stmt *ins_run, *ins_hcall, *ins_block, *ins_wait;
};

/* derive_state.c */
void *dv_get(struct dv *d, struct dv_map *m, uint64_t key, int *created);
void dv_map_free(struct dv_map *m);
struct dv_task *dv_task(struct dv *d, int32_t pid);
struct dv_vcpu *dv_vcpu(struct dv *d, int32_t tgid, int32_t id);	/* NULL if tgid < 0 */
void dv_forget(struct dv *d);
int dv_load_tasks(struct dv *d);
/* derive.c: step a statement with its bound values, record the first error */
void dv_insert(struct dv *d, struct sqlite3_stmt *s, const char *table);

/* derive_vcpu.c */
void dv_guest_run(struct dv *d, const struct hv_replay_grun *r);
void dv_vcpu_event(struct dv *d, const struct hv_replay_ev *ev);
void dv_wait_close(struct dv *d, struct dv_vcpu *v, uint64_t ts);
/* derive_task.c */
void dv_task_event(struct dv *d, const struct hv_replay_ev *ev);

#endif
