/*
 * Sinks for the simulator's events: the SQLite store (types registered on first use, integer
 * events through the fast path), a null sink that only counts (benchmarks), and a tee that
 * hands every event to two sinks (store and perf.data, kernel/sim/perf_out.c). Also lists
 * the scenario's facts (hv_sim_meta_each) and writes them into the store's meta and the task
 * table (no wall-clock time, so the same scenario and seed give byte-identical databases).
 */
#include <stdio.h>
#include <string.h>

#include "hv_events.h"
#include "hv_store.h"
#include "sim_int.h"

static int store_emit(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid,
		      const struct hv_value *vals)
{
	struct hv_store_sink *ss = ctx;
	struct hv_err *err = ss->err;
	if (id < 0 || id >= HV_EV_COUNT || id >= 64)
		return hv_err_set(err, HV_E_USAGE, "unknown event id %d", id);
	int t = ss->types[id];
	if (t < 0) {
		t = hv_store_known(ss->st, id, err);
		if (t < 0)
			return t;
		ss->types[id] = t;
	}
	if (id == HV_EV_SCHED_SWITCH || id == HV_EV_SCHED_WAKEUP)
		return hv_store_append(ss->st, t, ts, cpu, pid, vals, err);
	int64_t iv[HV_MAX_EVENT_FIELDS];
	unsigned n = hv_events[id].nfields;
	for (unsigned i = 0; i < n; i++)
		iv[i] = vals[i].i;
	return hv_store_append_ints(ss->st, t, ts, cpu, pid, iv, err);
}

void hv_store_sink_init(struct hv_store_sink *ss, struct hv_store *st, void *err,
			struct hv_sink *out)
{
	ss->st = st;
	ss->err = err;
	for (int i = 0; i < 64; i++)
		ss->types[i] = -1;
	out->ctx = ss;
	out->emit = store_emit;
}

static int null_emit(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid,
		     const struct hv_value *vals)
{
	(void)id;
	(void)ts;
	(void)cpu;
	(void)pid;
	(void)vals;
	(*(uint64_t *)ctx)++;
	return 0;
}

void hv_null_sink_init(uint64_t *counter, struct hv_sink *out)
{
	out->ctx = counter;
	out->emit = null_emit;
}

static int tee_emit(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid,
		    const struct hv_value *vals)
{
	struct hv_tee_sink *t = ctx;
	int rc = t->a.emit(t->a.ctx, id, ts, cpu, pid, vals);
	return rc < 0 ? rc : t->b.emit(t->b.ctx, id, ts, cpu, pid, vals);
}

void hv_tee_sink_init(struct hv_tee_sink *t, const struct hv_sink *a, const struct hv_sink *b,
		      struct hv_sink *out)
{
	t->a = *a;
	t->b = *b;
	out->ctx = t;
	out->emit = tee_emit;
}

struct meta_out {
	hv_sim_meta_fn fn;
	void *ctx;
	int rc;
};

static void put(struct meta_out *m, const char *k, const char *v)
{
	if (m->rc == 0)
		m->rc = m->fn(m->ctx, k, v);
}

static void put_int(struct meta_out *m, const char *k, long long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", v);
	put(m, k, buf);
}

int hv_sim_meta_each(const struct hv_sim *s, const struct hv_scenario *sc, hv_sim_meta_fn fn, void *ctx)
{
	struct meta_out m = { fn, ctx, 0 };
	const struct hv_params *p = &sc->par;
	put(&m, "source", "simulator");
	put(&m, "format", "hvtrace simulate");
	put(&m, "cpu", p->cpu_model == 7 ? "POWER7" : "POWER8");
	put(&m, "host_arch", "ppc64le");
	put_int(&m, "threads_per_core", p->threads_per_core);
	put_int(&m, "subcores_per_core", p->threads_per_core / p->threads_per_subcore);
	put_int(&m, "cores", sc->cores);
	put(&m, "profile", hv_profile_get(sc->profile)->name);
	put(&m, "scenario", sc->name);
	put(&m, "scenario_source", sc->source);
	put_int(&m, "seed", (long long)sc->seed);
	put_int(&m, "duration_ns", (long long)sc->duration_ns);
	put_int(&m, "hz", sc->hz);
	put_int(&m, "timebase_hz", 512000000LL);
	put_int(&m, "param.dynamic_mt_modes", p->dynamic_mt_modes);
	put_int(&m, "param.target_smt_mode", p->target_smt_mode);
	put(&m, "param.one_vm_per_core", p->one_vm_per_core ? "Y" : "N");
	put_int(&m, "param.threads_per_subcore", p->threads_per_subcore);
	put_int(&m, "param.halt_poll_ns", p->halt_poll_ns);
	put_int(&m, "param.halt_poll_ns_grow", p->halt_poll_ns_grow);
	put_int(&m, "param.halt_poll_ns_grow_start", p->halt_poll_ns_grow_start);
	put_int(&m, "param.halt_poll_ns_shrink", p->halt_poll_ns_shrink);
	for (int i = 0; i < hv_sim_nvms(s); i++) {
		uint32_t lpid;
		int32_t tgid;
		const char *name;
		int vcpus, smt;
		char k[64], v[160];
		hv_sim_vm_info(s, i, &lpid, &tgid, &name, &vcpus, &smt);
		snprintf(k, sizeof k, "vm.%u.tgid", lpid);
		put_int(&m, k, tgid);
		snprintf(k, sizeof k, "vm.%u.smt_mode", lpid);
		put_int(&m, k, smt);
		snprintf(k, sizeof k, "vm.%u", lpid);
		snprintf(v, sizeof v, "name=%s tgid=%d vcpus=%d smt_mode=%d", name, tgid, vcpus, smt);
		put(&m, k, v);
	}
	return m.rc;
}

struct store_meta {
	struct hv_store *st;
	struct hv_err *err;
};

static int store_meta(void *ctx, const char *k, const char *v)
{
	struct store_meta *sm = ctx;
	return hv_store_set_meta(sm->st, k, v, sm->err);
}

int hv_sim_write_meta(const struct hv_sim *s, const struct hv_scenario *sc, struct hv_store *st,
		      void *errp)
{
	struct hv_err *err = errp;
	struct store_meta sm = { st, err };
	int rc = hv_sim_meta_each(s, sc, store_meta, &sm) < 0 ? -1 : 0;
	for (int i = 0; i < hv_sim_named_tasks(s); i++) {
		int32_t pid, tgid;
		char comm[16];
		hv_sim_named_task(s, i, &pid, &tgid, comm, sizeof comm);
		rc |= hv_store_set_task(st, pid, tgid, comm, 0, err);
	}
	return rc ? -1 : 0;
}
