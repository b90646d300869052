/*
 * Scenario files for the host simulator (format documented in kernel/sim/README.md): one
 * directive per line, `#` comments. Errors name FILE:LINE. The built-in default scenario is
 * the text below.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char default_text[] =
	"# hvtrace built-in scenario: a POWER8 host with 2 cores, VMs of different sizes and\n"
	"# SMT modes, and some host load, so that piggybacking, 2-way and 4-way splits, cedes,\n"
	"# blocks and wake-ups, late joins and H_PROD all happen within a second.\n"
	"name default\n"
	"cpu POWER8\n"
	"cores 2\n"
	"profile mainline\n"
	"duration 1s\n"
	"seed 1\n"
	"hz 250\n"
	"param dynamic_mt_modes=6\n"
	"vm big   vcpus=8 smt=4 run=300us idle=2ms cede=50 ipi=10 prod=4 uhcall=1 fault=3 confer=2 irq=50\n"
	"vm mid   vcpus=4 smt=2 run=200us idle=3ms cede=60 ipi=8 prod=6 uhcall=1 fault=3 confer=2 irq=50\n"
	"vm small vcpus=4 smt=1 run=150us idle=4ms cede=60 ipi=6 prod=3 uhcall=1 fault=2 irq=50\n"
	"load kworker count=2 run=1ms sleep=4ms\n";

const char *hv_scenario_default_text(void)
{
	return default_text;
}

void hv_scenario_defaults(struct hv_scenario *sc)
{
	memset(sc, 0, sizeof *sc);
	snprintf(sc->name, sizeof sc->name, "unnamed");
	hv_params_default(&sc->par, 8);
	sc->profile = HV_PROF_MAINLINE;
	sc->cores = 2;
	sc->duration_ns = 1000000000ULL;
	sc->seed = 1;
	sc->hz = 250;
}

static int fail(char *err, size_t n, const char *f, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t n, const char *f, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, n, "%s:%d: %s", f, line, msg);
	else
		snprintf(err, n, "%s", msg);
	return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

/* 12.5, 12.5s, 300ms, 40us, 1000ns (seconds by default) */
static int parse_time(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double m;
	if (end == s || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		m = 1e9;
	else if (!strcmp(end, "ms"))
		m = 1e6;
	else if (!strcmp(end, "us"))
		m = 1e3;
	else if (!strcmp(end, "ns"))
		m = 1;
	else
		return -1;
	*ns = (uint64_t)(v * m + 0.5);
	return 0;
}

int hv_scenario_set_param(struct hv_scenario *sc, const char *name, const char *value, char *err,
			  size_t errlen)
{
	uint64_t v;
	if (parse_u64(value, &v) < 0 || v > 1000000000ULL)
		return fail(err, errlen, "", 0, "bad value '%s' for %s", value, name);
	struct hv_params *p = &sc->par;
	if (!strcmp(name, "dynamic_mt_modes"))
		p->dynamic_mt_modes = (int)v;
	else if (!strcmp(name, "target_smt_mode"))
		p->target_smt_mode = (int)v;
	else if (!strcmp(name, "one_vm_per_core"))
		p->one_vm_per_core = (int)v;
	else if (!strcmp(name, "threads_per_subcore")) {
		p->threads_per_subcore = (int)v;
		sc->tps_set = 1;
	} else if (!strcmp(name, "halt_poll_ns"))
		p->halt_poll_ns = (uint32_t)v;
	else if (!strcmp(name, "halt_poll_ns_grow"))
		p->halt_poll_ns_grow = (uint32_t)v;
	else if (!strcmp(name, "halt_poll_ns_grow_start"))
		p->halt_poll_ns_grow_start = (uint32_t)v;
	else if (!strcmp(name, "halt_poll_ns_shrink"))
		p->halt_poll_ns_shrink = (uint32_t)v;
	else
		return fail(err, errlen, "", 0, "unknown parameter '%s' (dynamic_mt_modes, "
			    "target_smt_mode, one_vm_per_core, threads_per_subcore, halt_poll_ns, "
			    "halt_poll_ns_grow, halt_poll_ns_grow_start, halt_poll_ns_shrink)", name);
	return 0;
}

static void set_tpc(struct hv_scenario *sc, int tpc)
{
	sc->par.threads_per_core = tpc;
	sc->tpc_set = 1;
	if (!sc->tps_set)
		sc->par.threads_per_subcore = tpc;
}

/* key=value items of a vm line */
static int vm_item(struct hv_sim_vm *vm, const char *k, const char *val)
{
	uint64_t v;
	struct hv_sim_beh *b = &vm->beh;
	uint64_t *tp = !strcmp(k, "run") ? &b->run_ns : !strcmp(k, "idle") ? &b->idle_ns :
		       !strcmp(k, "hcall_ns") ? &b->hcall_ns : !strcmp(k, "fault_ns") ? &b->fault_ns :
		       !strcmp(k, "user_ns") ? &b->user_ns : NULL;
	if (tp)
		return parse_time(val, tp) < 0 || *tp == 0 ? -1 : 0;
	if (parse_u64(val, &v) < 0 || v > 1000000)
		return -1;
	if (!strcmp(k, "vcpus"))
		vm->vcpus = (int)v;
	else if (!strcmp(k, "smt"))
		vm->smt = (int)v;
	else if (!strcmp(k, "cede"))
		b->w_cede = (uint32_t)v;
	else if (!strcmp(k, "ipi"))
		b->w_ipi = (uint32_t)v;
	else if (!strcmp(k, "prod"))
		b->w_prod = (uint32_t)v;
	else if (!strcmp(k, "uhcall"))
		b->w_uhcall = (uint32_t)v;
	else if (!strcmp(k, "fault"))
		b->w_fault = (uint32_t)v;
	else if (!strcmp(k, "confer"))
		b->w_confer = (uint32_t)v;
	else if (!strcmp(k, "irq"))
		b->irq_hz = (uint32_t)v;
	else
		return -2;
	return 0;
}

static int tokenize(char *line, char **tok, int max)
{
	int n = 0;
	for (char *p = line; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		tok[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

static int parse_line(struct hv_scenario *sc, char **tok, int n, const char *f, int ln, char *err,
		      size_t el)
{
	const char *k = tok[0];
	uint64_t v;
	if (!strcmp(k, "vm") || !strcmp(k, "load")) {
		if (n < 2)
			return fail(err, el, f, ln, "%s needs a name", k);
		if (!strcmp(k, "vm")) {
			if (sc->nvms == HV_SIM_MAX_VMS)
				return fail(err, el, f, ln, "too many vms (max %d)", HV_SIM_MAX_VMS);
			struct hv_sim_vm *vm = &sc->vms[sc->nvms];
			memset(vm, 0, sizeof *vm);
			snprintf(vm->name, sizeof vm->name, "%s", tok[1]);
			vm->vcpus = 1;
			vm->smt = 1;
			vm->beh = (struct hv_sim_beh){ 200000, 2000000, 5000, 20000, 50000,
						       60, 10, 2, 1, 2, 0, 0 };
			for (int i = 2; i < n; i++) {
				char *eq = strchr(tok[i], '=');
				if (!eq)
					return fail(err, el, f, ln, "expected key=value, got '%s'", tok[i]);
				*eq = 0;
				int rc = vm_item(vm, tok[i], eq + 1);
				if (rc == -2)
					return fail(err, el, f, ln, "unknown vm key '%s'", tok[i]);
				if (rc < 0)
					return fail(err, el, f, ln, "bad value '%s' for %s", eq + 1, tok[i]);
			}
			if (vm->vcpus < 1 || vm->vcpus > 64)
				return fail(err, el, f, ln, "vcpus must be 1..64");
			if (vm->smt < 1 || vm->smt > 8 || (vm->smt & (vm->smt - 1)))
				return fail(err, el, f, ln, "smt must be 1, 2, 4 or 8");
			sc->nvms++;
		} else {
			if (sc->nloads == HV_SIM_MAX_LOADS)
				return fail(err, el, f, ln, "too many loads");
			struct hv_sim_load *l = &sc->loads[sc->nloads];
			memset(l, 0, sizeof *l);
			snprintf(l->name, sizeof l->name, "%s", tok[1]);
			l->count = 1;
			l->run_ns = 1000000;
			l->sleep_ns = 4000000;
			for (int i = 2; i < n; i++) {
				char *eq = strchr(tok[i], '=');
				if (!eq)
					return fail(err, el, f, ln, "expected key=value, got '%s'", tok[i]);
				*eq = 0;
				const char *val = eq + 1;
				if (!strcmp(tok[i], "count")) {
					if (parse_u64(val, &v) < 0 || v < 1 || v > 64)
						return fail(err, el, f, ln, "count must be 1..64");
					l->count = (int)v;
				} else if (!strcmp(tok[i], "run") || !strcmp(tok[i], "sleep")) {
					uint64_t *tp = tok[i][0] == 'r' ? &l->run_ns : &l->sleep_ns;
					if (parse_time(val, tp) < 0 || !*tp)
						return fail(err, el, f, ln, "bad time '%s' for %s", val, tok[i]);
				} else {
					return fail(err, el, f, ln, "unknown load key '%s'", tok[i]);
				}
			}
			sc->nloads++;
		}
		return 0;
	}
	if (n != 2)
		return fail(err, el, f, ln, "'%s' takes one value", k);
	const char *a = tok[1];
	if (!strcmp(k, "name")) {
		snprintf(sc->name, sizeof sc->name, "%s", a);
	} else if (!strcmp(k, "cpu")) {
		if (!strcmp(a, "POWER7") || !strcmp(a, "power7"))
			sc->par.cpu_model = 7;
		else if (!strcmp(a, "POWER8") || !strcmp(a, "power8"))
			sc->par.cpu_model = 8;
		else
			return fail(err, el, f, ln, "cpu must be POWER7 or POWER8");
		if (!sc->tpc_set) {
			set_tpc(sc, sc->par.cpu_model == 7 ? 4 : 8);
			sc->tpc_set = 0;
		}
	} else if (!strcmp(k, "cores")) {
		if (parse_u64(a, &v) < 0 || v < 1 || v > 64)
			return fail(err, el, f, ln, "cores must be 1..64");
		sc->cores = (int)v;
	} else if (!strcmp(k, "threads_per_core")) {
		if (parse_u64(a, &v) < 0 || (v != 1 && v != 2 && v != 4 && v != 8))
			return fail(err, el, f, ln, "threads_per_core must be 1, 2, 4 or 8");
		set_tpc(sc, (int)v);
	} else if (!strcmp(k, "profile")) {
		const struct hv_profile *p = hv_profile_find(a);
		if (!p)
			return fail(err, el, f, ln, "unknown profile '%s' (%s)", a, hv_profile_names());
		sc->profile = p->id;
	} else if (!strcmp(k, "duration")) {
		if (parse_time(a, &sc->duration_ns) < 0)
			return fail(err, el, f, ln, "bad duration '%s'", a);
	} else if (!strcmp(k, "seed")) {
		if (parse_u64(a, &sc->seed) < 0)
			return fail(err, el, f, ln, "bad seed '%s'", a);
	} else if (!strcmp(k, "hz")) {
		if (parse_u64(a, &v) < 0 || v < 10 || v > 10000)
			return fail(err, el, f, ln, "hz must be 10..10000");
		sc->hz = (uint32_t)v;
	} else if (!strcmp(k, "param")) {
		char buf[128];
		snprintf(buf, sizeof buf, "%s", a);
		char *eq = strchr(buf, '=');
		if (!eq)
			return fail(err, el, f, ln, "param needs name=value");
		*eq = 0;
		char e2[256];
		if (hv_scenario_set_param(sc, buf, eq + 1, e2, sizeof e2) < 0)
			return fail(err, el, f, ln, "%s", e2);
	} else {
		return fail(err, el, f, ln, "unknown directive '%s'", k);
	}
	return 0;
}

int hv_scenario_parse(struct hv_scenario *sc, const char *text, const char *fname, char *err,
		      size_t errlen)
{
	hv_scenario_defaults(sc);
	snprintf(sc->source, sizeof sc->source, "%s", fname);
	int ln = 0;
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		ln++;
		char line[1024];
		if (len >= sizeof line)
			return fail(err, errlen, fname, ln, "line too long");
		memcpy(line, p, len);
		line[len] = 0;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *tok[64];
		int n = tokenize(line, tok, 64);
		if (n < 0)
			return fail(err, errlen, fname, ln, "too many items");
		if (n > 0 && parse_line(sc, tok, n, fname, ln, err, errlen) < 0)
			return -1;
		p += len;
		if (*p == '\n')
			p++;
	}
	if (hv_scenario_check(sc, err, errlen) < 0) {
		char tmp[512];
		snprintf(tmp, sizeof tmp, "%s", err);
		snprintf(err, errlen, "%s: %s", fname, tmp);
		return -1;
	}
	return 0;
}

int hv_scenario_check(const struct hv_scenario *sc, char *err, size_t errlen)
{
	const struct hv_params *p = &sc->par;
	int tps = p->threads_per_subcore, tpc = p->threads_per_core;
	if (tps < 1 || tps > tpc || (tps & (tps - 1)) || tpc % tps)
		return fail(err, errlen, "", 0, "threads_per_subcore %d does not divide threads_per_core %d",
			    tps, tpc);
	if (p->cpu_model == 7 && tpc > 4)
		return fail(err, errlen, "", 0, "POWER7 has at most 4 threads per core");
	if (tps != tpc && p->cpu_model != 8)
		return fail(err, errlen, "", 0, "static split-core needs POWER8");
	if (sc->nvms < 1)
		return fail(err, errlen, "", 0, "no vm lines");
	for (int i = 0; i < sc->nvms; i++)
		if (sc->vms[i].smt > tps)
			return fail(err, errlen, "", 0, "vm %s: smt %d > threads_per_subcore %d "
				    "(kvmhv_set_smt_mode rejects it)", sc->vms[i].name, sc->vms[i].smt, tps);
	if (p->dynamic_mt_modes < 0 || p->dynamic_mt_modes > 7)
		return fail(err, errlen, "", 0, "dynamic_mt_modes must be 0..7");
	if (p->target_smt_mode < 0 || p->target_smt_mode > 8)
		return fail(err, errlen, "", 0, "target_smt_mode must be 0..8");
	return 0;
}
