/*
 * Replay benchmark: hv_replay_run's rate on a large synthetic gang-path trace (two VMs, S1
 * runs with a late join, cedes, blocks and hcalls), next to the rates measured in the same
 * run for writing that trace into the store (the importer's last stage, an upper bound for
 * the import rate) and for reading it back raw. Target: replay >= 5x import. Peak memory
 * (max RSS) after a replay of N/4 and then of N events shows it does not grow with length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_events.h"
#include "hv_replay.h"
#include "hv_store.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct gen {
	struct hv_store *st;
	struct hv_err err;
	uint64_t ts;
	long n;
	int types[HV_EV_COUNT];
};

static void ev(struct gen *g, int id, int cpu, int pid, int64_t a, int64_t b, int64_t c, int64_t d, int64_t e)
{
	int64_t v[8] = { a, b, c, d, e, 0, 0, 0 };
	if (g->types[id] < 0)
		g->types[id] = hv_store_known(g->st, id, &g->err);
	g->ts += 700;
	if (hv_store_append_ints(g->st, g->types[id], g->ts, cpu, pid, v, &g->err) < 0) {
		fprintf(stderr, "bench_replay: %s\n", g->err.msg);
		exit(1);
	}
	g->n++;
}

/* One round on core c (CPU 8c) for VM tgid with vcpus 0, 1 (tasks base+1, base+2). */
static void round_(struct gen *g, int c, int tgid, int k)
{
	int cpu = 8 * c, r = tgid + 1, o = tgid + 2;
	ev(g, HV_EV_KVM_GUEST_ENTER, cpu, r, 0, 0, 0, 0, 0);
	ev(g, HV_EV_KVM_GUEST_ENTER, cpu, r, 1, 0, 0, 0, 0);
	ev(g, HV_EV_KVMPPC_RUN_CORE, cpu, r, 2, 0, 0, tgid, 0);
	int ceded = k % 5 == 4;
	ev(g, HV_EV_KVM_GUEST_EXIT, cpu, r, 0, ceded ? 0 : 0x980, 0, 0, ceded);
	ev(g, HV_EV_KVM_GUEST_EXIT, cpu, r, 1, k % 7 == 3 ? 0xc00 : ceded ? 0xe80 : 0x980, 0, 0, ceded);
	ev(g, HV_EV_KVMPPC_RUN_CORE, cpu, r, 2, 0, 1, tgid, 0);
	if (ceded) {
		ev(g, HV_EV_KVMPPC_VCORE_BLOCKED, cpu, r, 2, 0, 0, tgid, 0);
		ev(g, HV_EV_KVMPPC_VCORE_BLOCKED, cpu, r, 2, 0, 1, tgid, 0);
		ev(g, HV_EV_KVMPPC_VCORE_WAKEUP, cpu, r, 100000, 1, tgid, 0, 0);
	}
	if (k % 7 == 3) {	/* vcpu 1 handles an hcall and joins the next run late */
		ev(g, HV_EV_KVM_GUEST_ENTER, cpu, r, 0, 0, 0, 0, 0);
		ev(g, HV_EV_KVMPPC_RUN_CORE, cpu, r, 1, 0, 0, tgid, 0);
		ev(g, HV_EV_KVMPPC_RUN_VCPU_EXIT, cpu + 1, o, 1, 19, 2, 0, 0);
		ev(g, HV_EV_KVM_HCALL_ENTER, cpu + 1, o, 1, 0xe8, 0, 0, 0);
		ev(g, HV_EV_KVM_HCALL_EXIT, cpu + 1, o, 1, 0, 0, 0, 0);
		ev(g, HV_EV_KVMPPC_RUN_VCPU_ENTER, cpu + 1, o, 1, tgid, 0, 0, 0);
		ev(g, HV_EV_KVM_GUEST_ENTER, cpu + 1, o, 1, 0, 0, 0, 0);
		ev(g, HV_EV_KVM_GUEST_EXIT, cpu, r, 0, 0x980, 0, 0, 0);
		ev(g, HV_EV_KVM_GUEST_EXIT, cpu, r, 1, 0x980, 0, 0, 0);
		ev(g, HV_EV_KVMPPC_RUN_CORE, cpu, r, 2, 0, 1, tgid, 0);
	}
}

static double build(const char *path, long n)
{
	struct gen g = { 0 };
	memset(g.types, -1, sizeof g.types);
	double t0 = now();
	if (hv_store_create(path, HV_STORE_FORCE, &g.st, &g.err) < 0) {
		fprintf(stderr, "bench_replay: %s\n", g.err.msg);
		exit(1);
	}
	hv_store_set_meta(g.st, "cpudesc", "POWER8", &g.err);
	hv_store_set_meta(g.st, "osrelease", "6.1.0", &g.err);
	hv_store_set_meta(g.st, "threads_per_core", "8", &g.err);
	for (int vm = 0; vm < 2; vm++) {
		int tgid = 1000 * (vm + 1);
		ev(&g, HV_EV_KVMPPC_RUN_VCPU_ENTER, 8 * vm, tgid + 1, 0, tgid, 0, 0, 0);
		ev(&g, HV_EV_KVMPPC_RUN_VCPU_ENTER, 8 * vm + 1, tgid + 2, 1, tgid, 0, 0, 0);
	}
	for (int k = 0; g.n < n; k++) {
		round_(&g, 0, 1000, k);
		round_(&g, 1, 2000, k);
	}
	if (hv_store_commit(g.st, &g.err) < 0) {
		fprintf(stderr, "bench_replay: %s\n", g.err.msg);
		exit(1);
	}
	hv_store_close(g.st);
	return (double)g.n / (now() - t0);
}

static double read_raw(const char *path, long *n)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	struct hv_reader *rd;
	const struct hv_row *row;
	double t0 = now();
	*n = 0;
	if (hv_store_open(path, 0, &st, &err) < 0 || hv_reader_open(st, NULL, &rd, &err) < 0) {
		fprintf(stderr, "bench_replay: %s\n", err.msg);
		exit(1);
	}
	while (hv_reader_next(rd, &row, &err) == 1)
		(*n)++;
	hv_reader_close(rd);
	hv_store_close(st);
	return (double)*n / (now() - t0);
}

static double replay(const char *path, struct hv_replay_summary *sum, int no_write)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	struct hv_replay_opts o = { .no_write = no_write };
	double t0 = now();
	if (hv_store_open(path, !no_write, &st, &err) < 0 || hv_replay_run(st, &o, NULL, NULL, sum, &err) < 0) {
		fprintf(stderr, "bench_replay: %s\n", err.msg);
		exit(1);
	}
	hv_store_close(st);
	return (double)sum->events / (now() - t0);
}

/* Max RSS of a child process that only replays path (checks only). */
static long child_rss_kb(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct hv_replay_summary sum;
		replay(path, &sum, 1);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	char path[256];
	snprintf(path, sizeof path, "%s/hvtrace-bench-replay-%d.db", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	struct hv_replay_summary sum;
	build(path, n / 4);
	long rss_small = child_rss_kb(path);
	double w = build(path, n);
	long rss_big = child_rss_kb(path);
	long rn;
	double r = read_raw(path, &rn);
	double p0 = replay(path, &sum, 1);
	double p = replay(path, &sum, 0);
	if (getenv("BENCH_KEEP"))
		printf("kept %s\n", path);
	else
		unlink(path);
	printf("events             %ld (violations %llu, core runs %llu)\n", rn, (unsigned long long)sum.violations,
	       (unsigned long long)sum.core_runs);
	printf("store write        %10.0f events/s (upper bound of the import rate)\n", w);
	printf("store read (raw)   %10.0f events/s\n", r);
	printf("replay, checks     %10.0f events/s  = %.1fx the store write, %.0f%% of the raw read\n", p0, p0 / w,
	       100.0 * p0 / r);
	printf("replay + tables    %10.0f events/s  (core_run, core_run_vcpu, violation written)\n", p);
	printf("max RSS of a replay %ld kB for %ld events, %ld kB for %ld (at most, over both)\n", rss_small, n / 4, rss_big, n);
	return sum.violations ? 1 : 0;
}
