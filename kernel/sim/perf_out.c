/*
 * The simulator's perf.data output: opens the perf.data writer (db/hv_perf_write.h) for a
 * simulated host so that `hvtrace simulate --perf-data FILE` writes the same events as the
 * store (through a tee sink, sinks.c) into a file stock `perf script` decodes, and that
 * hvtrace's importer turns back into the same database contents: the scenario's facts
 * (hv_sim_meta_each) go into the writer's private facts section, every task gets a COMM
 * record at time 0, and the host looks like the simulated one (OSRELEASE of the profile's
 * kernel era, CPUDESC of the simulated chip). Nothing depends on the wall clock or on the
 * output's name, so the same scenario and seed give a byte-identical file.
 */
#include <stdio.h>
#include <string.h>

#include "hv_perf_write.h"
#include "sim_int.h"

/* A kernel release of the profile's era: the first version its `kernels` range names
 * ("v4.10-v4.14" -> 4.10.0); the current profile is what Linux 6.1 does. */
static void era_release(const struct hv_profile *p, int big_endian, char *buf, size_t n)
{
	int major = 6, minor = 1;
	if (p->id != HV_PROF_MAINLINE && p->kernels && p->kernels[0] == 'v' &&
	    sscanf(p->kernels + 1, "%d.%d", &major, &minor) != 2) {
		major = 6;
		minor = 1;
	}
	snprintf(buf, n, "%d.%d.0-hvtrace-sim-%s", major, minor, big_endian ? "powerpc64" : "powerpc64le");
}

struct facts {
	struct hv_perfw *w;
	int big_endian;
};

/* The simulated host is ppc64le; a big-endian file stands for a ppc64 one. */
static int perf_meta(void *ctx, const char *k, const char *v)
{
	struct facts *f = ctx;
	if (f->big_endian && !strcmp(k, "host_arch"))
		v = "ppc64";
	return hv_perfw_meta(f->w, k, v, NULL);
}

int hv_sim_perf_open(const struct hv_sim *s, const struct hv_scenario *sc, const char *path,
		     const struct hv_sim_perf_opts *o, struct hv_perfw **out, void *errp)
{
	struct hv_err *err = errp;
	static const char *const dflt_argv[] = { "hvtrace", "simulate" };
	char rel[64], desc[64];
	era_release(hv_profile_get(sc->profile), o->big_endian, rel, sizeof rel);
	snprintf(desc, sizeof desc, "POWER%d (raw), altivec supported", sc->par.cpu_model == 7 ? 7 : 8);
	struct hv_perfw_opts po = {
		.big_endian = o->big_endian,
		.force = o->force,
		.hostname = "hvtrace-sim",
		.osrelease = rel,
		.cpudesc = desc,
		.argv = o->argv ? o->argv : dflt_argv,
		.argc = o->argv ? o->argc : 2,
	};
	struct hv_perfw *w;
	int rc = hv_perfw_open(path, &po, &w, err);
	if (rc < 0)
		return rc;
	struct facts f = { w, o->big_endian };
	rc = hv_sim_meta_each(s, sc, perf_meta, &f);
	for (int i = 0; rc == 0 && i < hv_sim_named_tasks(s); i++) {
		int32_t pid, tgid;
		char comm[16];
		hv_sim_named_task(s, i, &pid, &tgid, comm, sizeof comm);
		rc = hv_perfw_comm(w, tgid, pid, comm, 0, err);
	}
	if (rc < 0) {
		if (err && !err->code)
			hv_err_set(err, rc, "%s: cannot record the scenario's facts", path);
		hv_perfw_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}
