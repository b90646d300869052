/*
 * Test helper for the replay tests: build small kvm_hv traces in memory from the canonical
 * sequences of spec §4.6 (S1-S12), mutate them (drop, move, change a field or a time), write
 * them through the store API and replay them, collecting the violations.
 *
 * A trace is an array of records; each knows the index it will have once written, so a test
 * can name "the event I mutated" and compare it with the violation's seq.
 */
#ifndef HV_TEST_REPLAY_BUILD_H
#define HV_TEST_REPLAY_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_events.h"
#include "hv_replay.h"
#include "hv_store.h"

#define TR_MAX 4096
#define TR_PPC_INSTR 1000	/* kvm:kvm_ppc_instr, known only from a format */

struct rec {
	int id, cpu, pid;
	uint64_t ts;
	int64_t v[32];		/* by field index (kvmhv_core_plan has 30 fields) */
};

struct trace {
	struct rec r[TR_MAX];
	int n;
	uint64_t ts;
	const char *meta[16][2];
	int nmeta;
	struct { int cpu; uint64_t from, to; } lost[4];
	int nlost;
};

static inline void tr_init(struct trace *t)
{
	memset(t, 0, sizeof *t);
	t->ts = 1000000000ull;
}

static inline void tr_meta(struct trace *t, const char *k, const char *v)
{
	t->meta[t->nmeta][0] = k;
	t->meta[t->nmeta++][1] = v;
}

/* Append one event 1 us after the previous one; returns its index. */
static inline int tr_ev(struct trace *t, int id, int cpu, int pid, int64_t a, int64_t b, int64_t c, int64_t d, int64_t e)
{
	struct rec *r = &t->r[t->n];
	if (t->n >= TR_MAX)
		abort();
	t->ts += 1000;
	r->id = id;
	r->cpu = cpu;
	r->pid = pid;
	r->ts = t->ts;
	r->v[0] = a;
	r->v[1] = b;
	r->v[2] = c;
	r->v[3] = d;
	r->v[4] = e;
	return t->n++;
}

/* Append an event with n field values (any event, e.g. the kvm_hv_sched ones); its index. */
static inline int tr_evn(struct trace *t, int id, int cpu, int pid, int n, const int64_t *vals)
{
	int i = tr_ev(t, id, cpu, pid, 0, 0, 0, 0, 0);
	for (int k = 0; k < n && k < 32; k++)
		t->r[i].v[k] = vals[k];
	return i;
}

/* Field order follows tracepoints/events.def. */
#define RUN_ENTER(t, cpu, pid, vcpu, tgid) tr_ev(t, HV_EV_KVMPPC_RUN_VCPU_ENTER, cpu, pid, vcpu, tgid, 0, 0, 0)
#define RUN_EXIT(t, cpu, pid, vcpu, ex, ret) tr_ev(t, HV_EV_KVMPPC_RUN_VCPU_EXIT, cpu, pid, vcpu, ex, ret, 0, 0)
#define G_ENTER(t, cpu, pid, vcpu, ceded) tr_ev(t, HV_EV_KVM_GUEST_ENTER, cpu, pid, vcpu, 0xc000000000004500LL, 0, ceded, 0)
#define G_EXIT(t, cpu, pid, vcpu, trap, ceded) tr_ev(t, HV_EV_KVM_GUEST_EXIT, cpu, pid, vcpu, trap, 0xc0000000000e1130LL, 0, ceded)
#define CORE(t, cpu, pid, nr, runner, where, tgid) tr_ev(t, HV_EV_KVMPPC_RUN_CORE, cpu, pid, nr, runner, where, tgid, 0)
#define BLOCKED(t, cpu, pid, nr, runner, where, tgid) tr_ev(t, HV_EV_KVMPPC_VCORE_BLOCKED, cpu, pid, nr, runner, where, tgid, 0)
#define WAKEUP(t, cpu, pid, ns, waited, tgid) tr_ev(t, HV_EV_KVMPPC_VCORE_WAKEUP, cpu, pid, ns, waited, tgid, 0, 0)
#define HC_ENTER(t, cpu, pid, vcpu, req) tr_ev(t, HV_EV_KVM_HCALL_ENTER, cpu, pid, vcpu, req, 0, 0, 0)
#define HC_EXIT(t, cpu, pid, vcpu, ret) tr_ev(t, HV_EV_KVM_HCALL_EXIT, cpu, pid, vcpu, ret, 0, 0, 0)
#define PF_ENTER(t, cpu, pid, vcpu) tr_ev(t, HV_EV_KVM_PAGE_FAULT_ENTER, cpu, pid, vcpu, 0, 0, 0, 0)
#define PF_EXIT(t, cpu, pid, vcpu) tr_ev(t, HV_EV_KVM_PAGE_FAULT_EXIT, cpu, pid, vcpu, 0, 0, 0, 0)
#define USER_EXIT(t, cpu, pid, reason, err) tr_ev(t, HV_EV_KVM_USERSPACE_EXIT, cpu, pid, reason, err, 0, 0, 0)
#define PPC_INSTR(t, cpu, pid) tr_ev(t, TR_PPC_INSTR, cpu, pid, 0x7c0004ac, 0xc0000000000b812cLL, 1, 0, 0)

static inline void tr_drop(struct trace *t, int i)
{
	memmove(&t->r[i], &t->r[i + 1], (size_t)(t->n - i - 1) * sizeof t->r[0]);
	t->n--;
}

/* Move record i to position j (after removing it), keeping the times increasing. */
static inline int tr_move(struct trace *t, int i, int j)
{
	struct rec x = t->r[i];
	tr_drop(t, i);
	memmove(&t->r[j + 1], &t->r[j], (size_t)(t->n - j) * sizeof t->r[0]);
	t->r[j] = x;
	t->n++;
	for (int k = 0; k < t->n; k++)
		t->r[k].ts = 1000000000ull + 1000ull * (uint64_t)(k + 1);
	return j;
}

/* Insert a copy of record `src` (with time just before record i's) at position i. */
static inline int tr_insert(struct trace *t, int i, struct rec src)
{
	memmove(&t->r[i + 1], &t->r[i], (size_t)(t->n - i) * sizeof t->r[0]);
	t->n++;
	t->r[i] = src;
	for (int k = 0; k < t->n; k++)
		t->r[k].ts = 1000000000ull + 1000ull * (uint64_t)(k + 1);
	return i;
}

static inline void tr_swap(struct trace *t, int i, int j)
{
	struct rec x = t->r[i];
	t->r[i] = t->r[j];
	t->r[j] = x;
	uint64_t ts = t->r[i].ts;
	t->r[i].ts = t->r[j].ts;
	t->r[j].ts = ts;
}

/* ---- writing and replaying ---- */

static struct hv_field_def tr_instr_fields[] = {
	{ "inst", "inst", "u32", 8, 4, 0, 0, 0 },
	{ "pc", "pc", "unsigned long", 16, 8, 0, 0, 1 },
	{ "emulate", "emulate", "u32", 24, 4, 0, 0, 0 },
};
static struct hv_event_def tr_instr_def = {
	"kvm", "kvm_ppc_instr", 0, 3, 32, tr_instr_fields,
	"\"inst %u pc 0x%lx emulate %u\\n\", REC->inst, REC->pc, REC->emulate", "", "", "",
};

static inline int tr_write(const struct trace *t, const char *path)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	if (hv_store_create(path, HV_STORE_FORCE, &st, &err) < 0) {
		fprintf(stderr, "# %s\n", err.msg);
		return -1;
	}
	int rc = 0;
	for (int i = 0; rc == 0 && i < t->nmeta; i++)
		rc = hv_store_set_meta(st, t->meta[i][0], t->meta[i][1], &err);
	for (int i = 0; rc == 0 && i < t->nlost; i++)
		rc = hv_store_add_lost(st, t->lost[i].cpu, t->lost[i].from, t->lost[i].to, 10, "test", &err);
	for (int i = 0; rc == 0 && i < t->n; i++) {
		const struct rec *r = &t->r[i];
		int type = r->id == TR_PPC_INSTR ? hv_store_add_type(st, &tr_instr_def, "format", &err)
						 : hv_store_known(st, r->id, &err);
		rc = type < 0 ? type : hv_store_append_ints(st, type, r->ts, r->cpu, r->pid, r->v, &err);
	}
	if (rc == 0)
		rc = hv_store_commit(st, &err);
	if (rc < 0)
		fprintf(stderr, "# %s\n", err.msg);
	hv_store_close(st);
	return rc;
}

#define TR_MAXV 32
struct result {
	int rc, n;
	struct hv_violation v[TR_MAXV];
	struct hv_replay_summary sum;
	char err[512];
};

static inline void tr_collect(void *ctx, const struct hv_violation *v)
{
	struct result *res = ctx;
	if (res->n < TR_MAXV)
		res->v[res->n] = *v;
	res->n++;
}

static char tr_dir[256];

static inline const char *tr_path(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	if (!tr_dir[0]) {
		snprintf(tr_dir, sizeof tr_dir, "/tmp/hvtrace-replay-test-XXXXXX");
		if (!mkdtemp(tr_dir))
			abort();
	}
	snprintf(buf[k], sizeof buf[k], "%s/%s", tr_dir, name);
	return buf[k];
}

/* Write t, replay it (profile NULL: from meta; params may be NULL), fill res. */
static inline void tr_replay_p(const struct trace *t, const char *profile, const struct hv_replay_param *params,
			       int nparams, struct result *res)
{
	memset(res, 0, sizeof *res);
	const char *path = tr_path("t.db");
	if (tr_write(t, path) < 0) {
		res->rc = -1;
		return;
	}
	struct hv_err err = { 0 };
	struct hv_store *st;
	if ((res->rc = hv_store_open(path, 1, &st, &err)) < 0) {
		snprintf(res->err, sizeof res->err, "%s", err.msg);
		return;
	}
	struct hv_replay_opts o = { .profile = profile, .params = params, .nparams = nparams };
	res->rc = hv_replay_run(st, &o, tr_collect, res, &res->sum, &err);
	if (res->rc < 0)
		snprintf(res->err, sizeof res->err, "%s", err.msg);
	hv_store_close(st);
}

static inline void tr_replay(const struct trace *t, const char *profile, struct result *res)
{
	tr_replay_p(t, profile, NULL, 0, res);
}

static inline void tr_print(const struct result *res)
{
	for (int i = 0; i < res->n && i < TR_MAXV; i++)
		printf("#   %s %s [%s] %s seq=%llu: %s\n", res->v[i].monitor, res->v[i].object, res->v[i].state,
		       res->v[i].event, (unsigned long long)res->v[i].seq, res->v[i].msg);
	if (res->rc < 0)
		printf("#   error: %s\n", res->err);
}

static inline void tr_cleanup(void)
{
	if (!tr_dir[0])
		return;
	unlink(tr_path("t.db"));
	rmdir(tr_dir);
}

#endif
