/*
 * Simulator throughput: the default scenario's mix scaled to 8 POWER8 cores and 16 VMs,
 * into a null sink (target >= 5 M events/s), into the SQLite store, and into a perf.data file
 * (what `hvtrace simulate --perf-data` writes), and the peak RSS of a run for two simulated
 * durations (each in its own child process), which must not grow with the duration. Prints
 * one line per measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_perf_write.h"
#include "hv_store.h"
#include "sim.h"

static void scaled(struct hv_scenario *sc, uint64_t dur)
{
	static char text[8192];
	size_t o = 0;
	o += (size_t)snprintf(text + o, sizeof text - o,
			      "name bench-8c-16vm\ncpu POWER8\ncores 8\nprofile mainline\nseed 1\n"
			      "load kworker count=8 run=1ms sleep=4ms\n");
	static const char *const shapes[4] = {
		"vcpus=8 smt=4 run=300us idle=2ms cede=50 ipi=10 prod=4 uhcall=1 fault=3 confer=2 irq=50",
		"vcpus=4 smt=2 run=200us idle=3ms cede=60 ipi=8 prod=6 uhcall=1 fault=3 confer=2 irq=50",
		"vcpus=4 smt=1 run=150us idle=4ms cede=60 ipi=6 prod=3 uhcall=1 fault=2 irq=50",
		"vcpus=2 smt=2 run=250us idle=2ms cede=60 ipi=6 prod=3 uhcall=1 fault=2 irq=50",
	};
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "vm vm%d %s\n", i, shapes[i % 4]);
	char err[256];
	if (hv_scenario_parse(sc, text, "bench", err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	sc->duration_ns = dur;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t run_null(uint64_t dur, double *secs)
{
	static struct hv_scenario sc;
	scaled(&sc, dur);
	uint64_t n = 0;
	struct hv_sink sink;
	hv_null_sink_init(&n, &sink);
	struct hv_sim *s;
	if (hv_sim_create(&sc, &sink, &s) < 0)
		exit(1);
	double t0 = now_s();
	hv_sim_run(s);
	*secs = now_s() - t0;
	hv_sim_destroy(s);
	return n;
}

static uint64_t run_store(uint64_t dur, double *secs)
{
	static struct hv_scenario sc;
	scaled(&sc, dur);
	char path[] = "/tmp/hvtrace-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		exit(1);
	close(fd);
	struct hv_err err = { 0 };
	struct hv_store *st;
	if (hv_store_create(path, HV_STORE_FORCE, &st, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	struct hv_store_sink ss;
	struct hv_sink sink;
	hv_store_sink_init(&ss, st, &err, &sink);
	struct hv_sim *s;
	if (hv_sim_create(&sc, &sink, &s) < 0)
		exit(1);
	double t0 = now_s();
	hv_sim_write_meta(s, &sc, st, &err);
	hv_sim_run(s);
	hv_store_commit(st, &err);
	*secs = now_s() - t0;
	uint64_t n = hv_sim_stats(s)->events;
	hv_sim_destroy(s);
	hv_store_close(st);
	unlink(path);
	return n;
}

static uint64_t run_perf(uint64_t dur, double *secs)
{
	static struct hv_scenario sc;
	scaled(&sc, dur);
	char path[] = "/tmp/hvtrace-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		exit(1);
	close(fd);
	struct hv_err err = { 0 };
	struct hv_sink sink = { 0 };
	struct hv_sim *s;
	struct hv_perfw *w;
	if (hv_sim_create(&sc, &sink, &s) < 0)
		exit(1);
	double t0 = now_s();
	struct hv_sim_perf_opts po = { .force = 1 };
	if (hv_sim_perf_open(s, &sc, path, &po, &w, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	sink = hv_perfw_sink(w);	/* the simulator keeps a pointer to sink */
	hv_sim_run(s);
	if (hv_perfw_close(w, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	*secs = now_s() - t0;
	uint64_t n = hv_sim_stats(s)->events;
	hv_sim_destroy(s);
	unlink(path);
	return n;
}

/* peak RSS (KiB) of a child that simulates dur into a null sink */
static long child_rss(uint64_t dur, uint64_t *events)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		double secs;
		uint64_t n = run_null(dur, &secs);
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		long v[2] = { ru.ru_maxrss, (long)n };
		if (write(pfd[1], v, sizeof v) != (ssize_t)sizeof v)
			_exit(1);
		_exit(0);
	}
	long v[2] = { -1, 0 };
	if (read(pfd[0], v, sizeof v) != (ssize_t)sizeof v)
		v[0] = -1;
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	*events = (uint64_t)v[1];
	return v[0];
}

int main(int argc, char **argv)
{
	double dur_s = argc > 1 ? atof(argv[1]) : 2.0;
	uint64_t dur = (uint64_t)(dur_s * 1e9);
	double secs;
	uint64_t n = run_null(dur, &secs);
	double rate = (double)n / secs;
	printf("bench_sim: null sink: %llu events in %.3f s wall (%.1f s simulated): %.2f M events/s (target >= 5)%s\n",
	       (unsigned long long)n, secs, dur_s, rate / 1e6, rate >= 5e6 ? "" : "  BELOW TARGET");
	n = run_store(dur / 4, &secs);
	printf("bench_sim: store: %llu events in %.3f s wall (%.2f s simulated): %.2f M events/s\n",
	       (unsigned long long)n, secs, dur_s / 4, (double)n / secs / 1e6);
	n = run_perf(dur / 4, &secs);
	printf("bench_sim: perf.data: %llu events in %.3f s wall (%.2f s simulated): %.2f M events/s\n",
	       (unsigned long long)n, secs, dur_s / 4, (double)n / secs / 1e6);
	uint64_t e1, e2;
	long r1 = child_rss(dur / 4, &e1), r2 = child_rss(dur, &e2);
	printf("bench_sim: peak RSS %ld KiB for %.2f s simulated (%llu events), %ld KiB for %.2f s (%llu events)%s\n",
	       r1, dur_s / 4, (unsigned long long)e1, r2, dur_s, (unsigned long long)e2,
	       r2 <= r1 + 1024 ? "" : "  GROWS WITH DURATION");
	return 0;
}
