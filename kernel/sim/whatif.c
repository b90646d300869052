/*
 * The what-if runner: one simulation of a recorded demand under one setting. The scenario
 * is the recorded host (cpu, cores, threads per core and subcore, module parameters, hz,
 * VMs with their vcpus and smt modes, a host load like the recorded one) with the setting's
 * dynamic_mt_modes (and target_smt_mode / profile when given); the guests follow the demand
 * (guest_demand.c); the simulator's events go straight into the interval code and metrics
 * (ivl.c, metrics.c) through a sink, over the recorded span. Same demand and setting, same
 * numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "whatif.h"

static int build_scenario(const struct hv_demand *d, const struct hv_whatif_setting *st,
			  struct hv_scenario *sc, char *err, size_t errlen)
{
	hv_scenario_defaults(sc);
	snprintf(sc->name, sizeof sc->name, "whatif");
	snprintf(sc->source, sizeof sc->source, "recorded demand");
	sc->par = d->par;
	sc->par.dynamic_mt_modes = st->dynamic_mt_modes;
	if (st->target_smt_mode >= 0)
		sc->par.target_smt_mode = st->target_smt_mode;
	const char *prof = st->profile ? st->profile : d->profile;
	const struct hv_profile *p = hv_profile_find(prof);
	if (!p) {
		snprintf(err, errlen, "profile %s has no simulator model (models: %s)", prof, hv_profile_names());
		return -1;
	}
	sc->profile = p->id;
	sc->cores = d->cores;
	sc->tpc_set = sc->tps_set = 1;
	sc->duration_ns = d->t1 - d->t0;
	sc->seed = 1;
	sc->hz = d->hz ? d->hz : 250;
	sc->nvms = d->nvms;
	for (int i = 0; i < d->nvms; i++) {
		struct hv_sim_vm *vm = &sc->vms[i];
		memset(vm, 0, sizeof *vm);
		snprintf(vm->name, sizeof vm->name, "vm%d", (int)d->vms[i].tgid);
		vm->vcpus = d->vms[i].nvcpus > 0 ? d->vms[i].nvcpus : 1;
		vm->smt = d->vms[i].smt > 0 ? d->vms[i].smt : 1;
		if (vm->smt > sc->par.threads_per_subcore)
			vm->smt = sc->par.threads_per_subcore;
		vm->beh.w_cede = 1;	/* unused: the demand drives the guests */
	}
	sc->nloads = d->nload ? 1 : 0;
	if (d->nload) {
		snprintf(sc->loads[0].name, sizeof sc->loads[0].name, "load");
		sc->loads[0].count = d->nload;
		sc->loads[0].run_ns = d->load_run_ns;
		sc->loads[0].sleep_ns = d->load_sleep_ns;
	}
	return hv_scenario_check(sc, err, errlen);
}

int hv_whatif_run(const struct hv_demand *d, const struct hv_whatif_setting *st,
		  struct hv_metrics *out, char *err, size_t errlen)
{
	struct hv_scenario *sc = calloc(1, sizeof *sc);
	if (!sc) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = build_scenario(d, st, sc, err, errlen);
	struct hv_mx *mx = NULL;
	struct hv_ivl *iv = NULL;
	struct hv_sim *sim = NULL;
	if (rc == 0) {
		struct hv_ivl_cb cb;
		mx = hv_mx_new(&sc->par, d->ncpus, 0, sc->duration_ns);
		if (mx)
			hv_mx_cb(mx, &cb);
		iv = mx ? hv_ivl_new(&cb, 1, sc->par.threads_per_subcore) : NULL;
		rc = iv ? 0 : -1;
		if (rc)
			snprintf(err, errlen, "out of memory");
	}
	struct hv_sink sink;
	if (rc == 0) {
		hv_ivl_sink(iv, &sink);
		rc = hv_sim_create(sc, &sink, &sim);
		if (rc)
			snprintf(err, errlen, "cannot build the simulated host");
	}
	if (rc == 0) {
		/* VM i of the scenario is the demand's VM i, as the simulator numbers its tgids */
		for (int i = 0; i < hv_sim_nvms(sim); i++) {
			uint32_t lpid;
			int32_t tgid;
			const char *name;
			int vcpus, smt;
			hv_sim_vm_info(sim, i, &lpid, &tgid, &name, &vcpus, &smt);
			hv_ivl_add_vm_lpid(iv, tgid, lpid, smt, vcpus);
		}
		rc = hv_sim_set_demand(sim, d);
		if (rc == 0 && (rc = hv_sim_run(sim)) < 0)
			snprintf(err, errlen, "simulation failed (%d)", rc);
	}
	if (rc == 0) {
		hv_ivl_finish(iv, sc->duration_ns);
		hv_mx_result(mx, out);
	}
	hv_sim_destroy(sim);
	hv_ivl_free(iv);
	hv_mx_free(mx);
	free(sc);
	return rc < 0 ? -1 : rc;
}
