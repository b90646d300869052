/*
 * hvtrace simulate [SCENARIO] -o DB [--perf-data FILE [--big-endian]]: run the host simulator
 * (kernel/sim) with the gang-path model (kernel/) and write every event into a trace database,
 * a perf.data file, or both (cli/simulate_out.c). Without a scenario file the built-in default
 * runs. --seed, --duration, --profile and --param override the scenario.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hv_store.h"
#include "sim.h"
#include "simulate_out.h"

static void help(void)
{
	printf("usage: hvtrace simulate [SCENARIO] [-o DB] [--perf-data FILE [--big-endian]] [--force]\n"
	       "                        [--seed N] [--duration T] [--profile P] [--param name=value ...]\n\n"
	       "Simulate a POWER7/POWER8 KVM host running the Book3S HV gang path and write the\n"
	       "events (stock kvm_hv, kvm, sched and the kvm_hv_sched decision events) to DB, to a\n"
	       "perf.data file that `perf script` decodes, or to both (at least one is needed).\n"
	       "Without SCENARIO the built-in default runs (hvtrace simulate --show-default prints it;\n"
	       "the format is described in kernel/sim/README.md).\n\n"
	       "  -o DB              output database\n"
	       "  --perf-data FILE   output perf.data file (tracepoint samples with their formats;\n"
	       "                     the scenario's facts in a section perf skips, for hvtrace import)\n"
	       "  --big-endian       write the perf.data file as a big-endian ppc64 host would\n"
	       "  --force            replace DB and FILE if they exist\n"
	       "  --seed N           PRNG seed\n"
	       "  --duration T       simulated time (1s, 250ms, ...)\n"
	       "  --profile P        era profile: %s\n"
	       "  --param NAME=VAL   module parameter: dynamic_mt_modes, target_smt_mode,\n"
	       "                     one_vm_per_core, threads_per_subcore, halt_poll_ns, ...\n"
	       "  --show-default     print the built-in scenario and exit\n", hv_profile_names());
}

static char *read_file(const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, n, "%s: cannot open", path);
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += r;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		if (len > (1u << 22)) {
			snprintf(err, n, "%s: too large for a scenario", path);
			free(buf);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	if (!buf) {
		snprintf(err, n, "%s: out of memory", path);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

int cmd_simulate(int argc, char **argv)
{
	const char *out = NULL, *file = NULL, *seed = NULL, *dur = NULL, *prof = NULL, *perf = NULL;
	int big_endian = 0;
	const char *params[64];
	int nparams = 0;
	unsigned flags = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help();
			return HV_EXIT_OK;
		} else if (!strcmp(a, "--show-default")) {
			fputs(hv_scenario_default_text(), stdout);
			return HV_EXIT_OK;
		} else if (!strcmp(a, "--force")) {
			flags |= HV_STORE_FORCE;
		} else if (!strcmp(a, "--big-endian")) {
			big_endian = 1;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--perf-data") || !strcmp(a, "--seed") || !strcmp(a, "--duration") ||
			   !strcmp(a, "--profile") || !strcmp(a, "--param")) {
			if (i + 1 >= argc)
				return cli_usage_error("simulate", "option %s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(a, "-o"))
				out = v;
			else if (!strcmp(a, "--perf-data"))
				perf = v;
			else if (!strcmp(a, "--seed"))
				seed = v;
			else if (!strcmp(a, "--duration"))
				dur = v;
			else if (!strcmp(a, "--profile"))
				prof = v;
			else if (nparams < 64)
				params[nparams++] = v;
			else
				return cli_usage_error("simulate", "too many --param options");
		} else if (a[0] == '-') {
			return cli_usage_error("simulate", "unknown option '%s'", a);
		} else if (!file) {
			file = a;
		} else {
			return cli_usage_error("simulate", "unexpected argument '%s'", a);
		}
	}
	if (!out && !perf)
		return cli_usage_error("simulate", "needs -o DB or --perf-data FILE");
	if (big_endian && !perf)
		return cli_usage_error("simulate", "--big-endian needs --perf-data FILE");

	static struct hv_scenario sc;
	char err[600];
	char *text = NULL;
	if (file) {
		text = read_file(file, err, sizeof err);
		if (!text) {
			fprintf(stderr, "hvtrace simulate: %s\n", err);
			return HV_EXIT_USAGE;
		}
	}
	int prc = hv_scenario_parse(&sc, text ? text : hv_scenario_default_text(),
				    file ? file : "built-in", err, sizeof err);
	free(text);
	if (prc < 0) {
		fprintf(stderr, "hvtrace simulate: %s\n", err);
		return HV_EXIT_USAGE;
	}
	if (seed) {
		char *end;
		sc.seed = strtoull(seed, &end, 0);
		if (*end || seed[0] == '-')
			return cli_usage_error("simulate", "--seed: bad value '%s'", seed);
	}
	if (dur && cli_parse_time(dur, &sc.duration_ns) < 0)
		return cli_usage_error("simulate", "--duration: bad time '%s'", dur);
	if (prof) {
		const struct hv_profile *p = hv_profile_find(prof);
		if (!p)
			return cli_usage_error("simulate", "--profile: unknown profile '%s' (%s)", prof,
					       hv_profile_names());
		sc.profile = p->id;
	}
	for (int i = 0; i < nparams; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "%s", params[i]);
		char *eq = strchr(buf, '=');
		if (!eq)
			return cli_usage_error("simulate", "--param: expected name=value, got '%s'", params[i]);
		*eq = 0;
		if (hv_scenario_set_param(&sc, buf, eq + 1, err, sizeof err) < 0)
			return cli_usage_error("simulate", "--param: %s", err);
	}
	if (hv_scenario_check(&sc, err, sizeof err) < 0)
		return cli_usage_error("simulate", "%s", err);

	static struct sim_out so;
	so = (struct sim_out){ .db = out, .perf = perf, .big_endian = big_endian,
			       .force = (flags & HV_STORE_FORCE) != 0, .argv = (const char *const *)argv,
			       .argc = argc };
	if (sim_out_begin(&so) < 0)
		return cli_fail("simulate", &so.err);
	struct hv_sim *sim;
	if (hv_sim_create(&sc, &so.sink, &sim) < 0) {
		sim_out_abort(&so);
		fprintf(stderr, "hvtrace simulate: cannot build the simulated host\n");
		return HV_EXIT_USAGE;
	}
	int rc = sim_out_attach(&so, sim, &sc);
	if (rc == 0)
		rc = hv_sim_run(sim);
	if (rc == 0)
		rc = sim_out_finish(&so);
	if (rc == 0 && out && cli_derive_file("simulate", out, 1) != HV_EXIT_OK) {
		hv_sim_destroy(sim);
		sim_out_close(&so);
		return HV_EXIT_USAGE;
	}
	if (rc < 0) {
		hv_sim_destroy(sim);
		sim_out_abort(&so);
		if (!so.err.msg[0])
			hv_err_set(&so.err, rc, "%s: the simulation stopped (model error %d)", sc.source, rc);
		return cli_fail("simulate", &so.err);
	}
	const struct hv_sim_stats *s = hv_sim_stats(sim);
	printf("simulated %s (%s, profile %s, seed %llu) for %.3f s: %llu events -> %s%s%s%s\n", sc.name,
	       sc.source, hv_profile_get(sc.profile)->name, (unsigned long long)sc.seed,
	       (double)sc.duration_ns / 1e9, (unsigned long long)s->events, out ? out : "",
	       out && perf ? ", " : "", perf ? perf : "",
	       perf ? (big_endian ? " (perf.data, big-endian)" : " (perf.data)") : "");
	printf("  runs %llu (whole-core %llu, 2-way %llu, 4-way %llu), piggybacked vcores %llu,"
	       " late joins %llu\n", (unsigned long long)s->counts[HV_STAT_RUN],
	       (unsigned long long)s->counts[HV_STAT_SPLIT1], (unsigned long long)s->counts[HV_STAT_SPLIT2],
	       (unsigned long long)s->counts[HV_STAT_SPLIT4], (unsigned long long)s->counts[HV_STAT_PIGGYBACK],
	       (unsigned long long)s->counts[HV_STAT_LATE_JOIN]);
	printf("  cedes %llu (cancelled by H_PROD %llu), vcore blocks %llu, aborted runs %llu\n",
	       (unsigned long long)s->counts[HV_STAT_CEDE], (unsigned long long)s->counts[HV_STAT_PROD_CANCEL],
	       (unsigned long long)s->counts[HV_STAT_BLOCK], (unsigned long long)s->counts[HV_STAT_ABORT]);
	hv_sim_destroy(sim);
	sim_out_close(&so);
	return HV_EXIT_OK;
}
