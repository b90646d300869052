/*
 * hvtrace replay DB: check a trace against the kernel's rules (replay/hv_replay.h).
 *
 * Prints one block per violation (monitor, object, state, what the model expected, and the
 * few events before it on the same CPU as `hvtrace events` prints them), then a summary
 * per monitor and the profile used and why. --json prints the same as one JSON document.
 * Exit 0 clean (or nothing to verify), 1 with violations, 2 on usage or input errors.
 * A perf.data or trace.dat file is imported into a temporary database first and replayed
 * from there (cli/replay_import.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hv_replay.h"
#include "replay_import.h"

#define MAX_PARAMS 64

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace replay DB|FILE [--profile P] [--param NAME=VALUE ...] [--json] [--max N]\n"
		   "       [--read-threads N]\n\n"
		   "Check every event of DB against the kernel's rules (layer 1: stock kvm_hv events) and\n"
		   "report each violation with the events before it, then a summary per monitor.\n"
		   "A perf.data or trace.dat FILE is imported into a temporary database first.\n"
		   "  --profile P        kernel era to check against (default: from the trace's meta)\n"
		   "  --param NAME=VAL   a host fact: dynamic_mt_modes, target_smt_mode, threads_per_core,\n"
		   "                     subcores_per_core, smt_mode, vm.<tgid>.smt_mode, indep_threads_mode\n"
		   "  --json             print a JSON document instead of text\n"
		   "  --max N            print and store at most N violations (all are counted)\n"
		   "  --read-threads N   read the trace on N threads of their own (0: in the checking\n"
		   "                     thread; default: 2 on a machine with 2 or more CPUs, when only\n"
		   "                     violations are written)\n"
		   "Writes the table violation into DB (replacing an old one), and core_run and\n"
		   "core_run_vcpu unless they were already made under the same profile and parameters.\n"
		   "Exit status: 0 clean, 1 violations found, 2 usage or input error.\nProfiles:");
	for (const char *const *p = hv_replay_profiles(); *p; p++)
		fprintf(f, " %s", *p);
	fputc('\n', f);
}

struct out {
	struct hv_store *st;
	struct cli_tasks tasks;
	int json, n;
};

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* The kvm events on the violation's CPU from ctx_ts up to it, the last few of them. */
static void print_context(struct out *o, const struct hv_violation *v)
{
	int cpus[1] = { v->cpu };
	struct hv_filter f = { .cpus = cpus, .ncpus = 1, .has_from = 1, .has_to = 1, .has_seq = 1 };
	f.from = v->ctx_ts <= v->ts ? v->ctx_ts : v->ts;
	f.to = v->ts;
	/* the same events, found by their seq range (the rowids) instead of scanning every table */
	f.seq_from = v->ctx_seq <= v->seq ? v->ctx_seq : v->seq;
	f.seq_to = v->seq;
	if (v->cpu < 0)
		return;
	for (int pass = 0, total = 0; pass < 2; pass++) {
		struct hv_reader *rd;
		struct hv_err err = { 0 };
		const struct hv_row *row;
		int k = 0;
		if (hv_reader_open(o->st, &f, &rd, &err) < 0)
			return;
		while (hv_reader_next(rd, &row, &err) == 1 && row->seq <= v->seq) {
			if (strcmp(row->def->system, "kvm_hv") && strcmp(row->def->system, "kvm"))
				continue;
			if (pass == 0)
				total++;
			else if (k++ >= total - 5) {
				fputs(row->seq == v->seq ? "  >" : "   ", stdout);
				cli_print_row(stdout, &o->tasks, row);
			}
		}
		hv_reader_close(rd);
	}
}

static void on_violation(void *ctx, const struct hv_violation *v)
{
	struct out *o = ctx;
	if (o->json) {
		printf("%s\n    {\"monitor\": ", o->n ? "," : "");
		json_str(stdout, v->monitor);
		printf(", \"object\": ");
		json_str(stdout, v->object);
		printf(", \"state\": ");
		json_str(stdout, v->state);
		printf(", \"event\": ");
		json_str(stdout, v->event);
		printf(", \"seq\": %" PRIu64 ", \"ts\": %" PRIu64 ", \"cpu\": %d, \"pid\": %d, \"message\": ", v->seq,
		       v->ts, v->cpu, v->pid);
		json_str(stdout, v->msg);
		printf("}");
	} else {
		printf("VIOLATION %s %s state=%s event=%s seq=%" PRIu64 " cpu=%d pid=%d t=%" PRIu64 ".%06" PRIu64 "\n  %s\n",
		       v->monitor, v->object, v->state, v->event, v->seq, v->cpu, v->pid, v->ts / 1000000000u,
		       (v->ts / 1000u) % 1000000u, v->msg);
		print_context(o, v);
	}
	o->n++;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_summary(const struct hv_replay_summary *s, int json)
{
	uint64_t chk = 0, unv = 0;
	for (int m = 0; m < s->nmon; m++)
		if (s->mon[m].active) {
			chk += s->mon[m].checked;
			unv += s->mon[m].unverified;
		}
	if (json) {
		printf("\n  ],\n  \"profile\": ");
		json_str(stdout, s->profile);
		printf(",\n  \"profile_why\": ");
		json_str(stdout, s->profile_why);
		printf(",\n  \"events\": %" PRIu64 ", \"hv_events\": %" PRIu64 ", \"kvm_events\": %" PRIu64 ", \"duplicates\": %" PRIu64
		       ", \"missing_fields\": %" PRIu64 ", \"lost_windows\": %" PRIu64 ", \"core_runs\": %" PRIu64
		       ", \"core_runs_kept\": %s, \"ambiguous\": %" PRIu64 ", \"violation_count\": %" PRIu64
		       ", \"unverified_share\": %.3f,\n"
		       "  \"monitors\": [",
		       s->events, s->hv_events, s->kvm_events, s->duplicates, s->missing_fields, s->lost_windows, s->core_runs,
		       s->core_runs_kept ? "true" : "false", s->ambiguous, s->violations, share(unv, chk + unv));
		for (int m = 0, k = 0; m < s->nmon; m++) {
			const struct hv_replay_mon_sum *x = &s->mon[m];
			if (!x->active)
				continue;
			printf("%s\n    {\"name\": \"%s\", \"checked\": %" PRIu64 ", \"violations\": %" PRIu64
			       ", \"unverified\": %" PRIu64 ", \"skipped\": %" PRIu64 "}", k++ ? "," : "", x->name,
			       x->checked, x->violations, x->unverified, x->skipped);
		}
		printf("\n  ]\n}\n");
		return;
	}
	if (s->core_runs_kept)
		fprintf(stderr, "hvtrace replay: core_run tables kept: already made under this profile and parameters"
			" (by hvtrace derive or an earlier replay)\n");
	printf("profile: %s (%s)\n", s->profile, s->profile_why);
	printf("events: %" PRIu64 " read, %" PRIu64 " kvm events, %" PRIu64 " duplicates dropped, %" PRIu64
	       " with missing fields, %" PRIu64 " lost windows; %" PRIu64 " core runs (%" PRIu64 " ambiguous vcpus)\n",
	       s->events, s->kvm_events, s->duplicates, s->missing_fields, s->lost_windows, s->core_runs, s->ambiguous);
	printf("%-12s %10s %10s %10s %8s  %s\n", "monitor", "checked", "violations", "unverified", "skipped", "checks");
	for (int m = 0; m < s->nmon; m++) {
		const struct hv_replay_mon_sum *x = &s->mon[m];
		if (x->active)
			printf("%-12s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %8" PRIu64 "  %s\n", x->name, x->checked,
			       x->violations, x->unverified, x->skipped, x->doc);
	}
	int na = 0;	/* e.g. the gang-path layers 2/3 on POWER9: 0 checked, not applicable */
	for (int m = 0; m < s->nmon; m++)
		if (!s->mon[m].active)
			printf("%s%s", na++ ? ", " : "not applicable to this profile (0 checked): ", s->mon[m].name);
	if (na)
		printf("\n");
	printf("unverified share: %.2f%% of %" PRIu64 " monitor steps\n", share(unv, chk + unv), chk + unv);
	if (s->violations)
		printf("result: %" PRIu64 " violation%s\n", s->violations, s->violations == 1 ? "" : "s");
	else
		printf("result: clean\n");
}

static int replay_db(const char *path, const char *label, struct hv_replay_opts *popts, int json);

int cmd_replay(int argc, char **argv)
{
	const char *db = NULL;
	struct hv_replay_opts opts = { 0 };
	struct hv_replay_param params[MAX_PARAMS];
	int json = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (!strcmp(a, "--profile") && has_val) {
			opts.profile = argv[++i];
		} else if (!strcmp(a, "--param") && has_val) {
			char *eq = strchr(argv[++i], '=');
			if (!eq || eq == argv[i] || opts.nparams >= MAX_PARAMS)
				return cli_usage_error("replay", "bad --param '%s' (expected NAME=VALUE)", argv[i]);
			*eq = 0;
			params[opts.nparams].name = argv[i];
			params[opts.nparams++].value = eq + 1;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--max") && has_val) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || v < 0)
				return cli_usage_error("replay", "bad --max value '%s'", argv[i]);
			opts.max_violations = v ? (int)v : -1;
		} else if (!strcmp(a, "--read-threads") && has_val) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || v < 0 || v > 16)
				return cli_usage_error("replay", "bad --read-threads value '%s' (0-16)", argv[i]);
			opts.read_threads = v ? (int)v : -1;
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("replay", "unknown option or missing value: '%s'", a);
		} else if (!db) {
			db = a;
		} else {
			return cli_usage_error("replay", "unexpected argument '%s'", a);
		}
	}
	if (!db)
		return cli_usage_error("replay", "needs a database");
	if (opts.profile) {
		int ok = 0;
		for (const char *const *p = hv_replay_profiles(); *p; p++)
			ok |= !strcmp(*p, opts.profile);
		if (!ok)
			return cli_usage_error("replay", "unknown profile '%s'", opts.profile);
	}
	opts.params = params;
	static struct replay_tmp tmp;
	int imported = replay_import(db, &tmp);
	if (imported == HV_EXIT_USAGE)
		return HV_EXIT_USAGE;
	int rc = replay_db(imported ? tmp.db : db, db, &opts, json);
	replay_import_cleanup(&tmp);
	return rc;
}

/* Replay the database at path (named `label` in messages: the file the user gave). */
static int replay_db(const char *path, const char *label, struct hv_replay_opts *popts, int json)
{
	struct hv_replay_opts opts = *popts;
	const char *db = path;
	struct out o = { 0 };
	struct hv_err err = { 0 };
	if (hv_store_open(db, 1, &o.st, &err) < 0) {
		struct hv_err err2 = { 0 };
		if (hv_store_open(db, 0, &o.st, &err2) < 0)
			return cli_fail("replay", &err);
		fprintf(stderr, "hvtrace replay: %s is read-only: results are not stored in it\n", db);
		opts.no_write = 1;
	}
	o.json = json;
	cli_tasks_load(&o.tasks, o.st);
	if (json)
		printf("{\n  \"violations\": [");
	struct hv_replay_summary sum;
	int rc = hv_replay_run(o.st, &opts, on_violation, &o, &sum, &err);
	if (rc < 0) {
		if (json)
			printf("\n  ]\n}\n");
		cli_tasks_free(&o.tasks);
		hv_store_close(o.st);
		return cli_fail("replay", &err);
	}
	if (sum.hv_events == 0) {
		if (json)
			print_summary(&sum, 1);
		else
			printf("%s: no kvm_hv events to verify (%" PRIu64 " events of other systems): "
			       "not a Book3S HV host trace\n", label, sum.events);
		cli_tasks_free(&o.tasks);
		hv_store_close(o.st);
		return HV_EXIT_OK;
	}
	if (!json && o.n)
		printf("\n");
	print_summary(&sum, json);
	cli_tasks_free(&o.tasks);
	hv_store_close(o.st);
	return sum.violations ? HV_EXIT_CHECKS : HV_EXIT_OK;
}
