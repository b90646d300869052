/*
 * Sinks for the simulator's events: the SQLite store (types registered on first use, integer
 * events through the fast path) and a null sink that only counts (benchmarks). Also writes
 * the scenario's facts into the store's meta and the task table (no wall-clock time, so the
 * same scenario and seed give byte-identical databases).
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

static int meta(struct hv_store *st, const char *k, const char *fmt, long long v, struct hv_err *err)
{
	char buf[64];
	snprintf(buf, sizeof buf, fmt, v);
	return hv_store_set_meta(st, k, buf, err);
}

int hv_sim_write_meta(const struct hv_sim *s, const struct hv_scenario *sc, struct hv_store *st,
		      void *errp)
{
	struct hv_err *err = errp;
	const struct hv_params *p = &sc->par;
	int rc = 0;
	rc |= hv_store_set_meta(st, "source", "simulator", err);
	rc |= hv_store_set_meta(st, "format", "hvtrace simulate", err);
	rc |= hv_store_set_meta(st, "cpu", p->cpu_model == 7 ? "POWER7" : "POWER8", err);
	rc |= hv_store_set_meta(st, "host_arch", "ppc64le", err);
	rc |= meta(st, "threads_per_core", "%lld", p->threads_per_core, err);
	rc |= meta(st, "subcores_per_core", "%lld", p->threads_per_core / p->threads_per_subcore, err);
	rc |= meta(st, "cores", "%lld", sc->cores, err);
	rc |= hv_store_set_meta(st, "profile", hv_profile_get(sc->profile)->name, err);
	rc |= hv_store_set_meta(st, "scenario", sc->name, err);
	rc |= hv_store_set_meta(st, "scenario_source", sc->source, err);
	rc |= meta(st, "seed", "%lld", (long long)sc->seed, err);
	rc |= meta(st, "duration_ns", "%lld", (long long)sc->duration_ns, err);
	rc |= meta(st, "hz", "%lld", sc->hz, err);
	rc |= meta(st, "timebase_hz", "%lld", 512000000LL, err);
	rc |= meta(st, "param.dynamic_mt_modes", "%lld", p->dynamic_mt_modes, err);
	rc |= meta(st, "param.target_smt_mode", "%lld", p->target_smt_mode, err);
	rc |= hv_store_set_meta(st, "param.one_vm_per_core", p->one_vm_per_core ? "Y" : "N", err);
	rc |= meta(st, "param.threads_per_subcore", "%lld", p->threads_per_subcore, err);
	rc |= meta(st, "param.halt_poll_ns", "%lld", p->halt_poll_ns, err);
	rc |= meta(st, "param.halt_poll_ns_grow", "%lld", p->halt_poll_ns_grow, err);
	rc |= meta(st, "param.halt_poll_ns_grow_start", "%lld", p->halt_poll_ns_grow_start, err);
	rc |= meta(st, "param.halt_poll_ns_shrink", "%lld", p->halt_poll_ns_shrink, err);
	for (int i = 0; i < hv_sim_nvms(s); i++) {
		uint32_t lpid;
		int32_t tgid;
		const char *name;
		int vcpus, smt;
		char k[64], v[160];
		hv_sim_vm_info(s, i, &lpid, &tgid, &name, &vcpus, &smt);
		snprintf(k, sizeof k, "vm.%u.tgid", lpid);
		rc |= meta(st, k, "%lld", tgid, err);
		snprintf(k, sizeof k, "vm.%u.smt_mode", lpid);
		rc |= meta(st, k, "%lld", smt, err);
		snprintf(k, sizeof k, "vm.%u", lpid);
		snprintf(v, sizeof v, "name=%s tgid=%d vcpus=%d smt_mode=%d", name, tgid, vcpus, smt);
		rc |= hv_store_set_meta(st, k, v, err);
	}
	for (int i = 0; i < hv_sim_ntasks(s); i++) {
		int32_t pid, tgid;
		const char *comm;
		hv_sim_task(s, i, &pid, &tgid, &comm);
		rc |= hv_store_set_task(st, pid, tgid, comm, 0, err);
	}
	return rc ? -1 : 0;
}
