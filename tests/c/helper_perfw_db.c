/*
 * Test helper for the perf.data writer (tests/sh/test_perf_export.sh).
 *
 *   helper_perfw_db make DB [ROUNDS]
 *                             write a store with a deterministic event sequence: every known
 *                             event ROUNDS times (default 7) with extreme values (minimum, maximum, -1,
 *                             0 and pseudo-random bit patterns for every integer field; empty,
 *                             full-length and spaced strings), tasks with names, and a few
 *                             events of a type hvtrace does not define (perf-export skips them)
 *   helper_perfw_db dump DB   print what perf must show for each exported event, one line per
 *                             event in trace order:
 *                             sys:name tid pid cpu ts comm field:size:signed:value ...
 *                             (tab-separated; pid is the task's tgid; strings as field:s:TEXT;
 *                             comm and tgid from the database's task table, pid 0 is perf's
 *                             "swapper"), for the comparison with perf's decoding
 *                             (tests/sh/perfw_check.py); works on any trace database
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "hv_events.h"
#include "hv_store.h"

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s ^ (*s >> 29);
}

/* Value number `variant` for an integer field: 0 min, 1 max, 2 -1 (all ones), 3 zero,
 * then pseudo-random patterns; sign-extended from the field size. */
static int64_t int_value(const struct hv_field_def *f, int variant, uint64_t *seed)
{
	unsigned bits = 8u * f->size;
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t u;
	switch (variant) {
	case 0: u = f->is_signed ? 1ull << (bits - 1) : 0; break;
	case 1: u = f->is_signed ? mask >> 1 : mask; break;
	case 2: u = mask; break;
	case 3: u = 0; break;
	default: u = lcg(seed) & mask; break;
	}
	if (f->is_signed && bits < 64 && (u >> (bits - 1)) & 1)
		u |= ~mask;
	return (int64_t)u;
}

static const char *const strings[] = { "", "abcdefghijklmno", "CPU 0/KVM", "qemu-system-ppc", "x", "a=b c|d" };
#define NSTR (sizeof strings / sizeof strings[0])

static const struct { int32_t pid, tgid; const char *comm; } tasks[] = {
	{ 4101, 4100, "CPU 0/KVM" }, { 4102, 4100, "CPU 1/KVM" }, { 4100, 4100, "qemu-system-ppc" },
	{ 4194303, 4194303, "abcdefghijklmno" }, { 1, 1, "init" },
};
#define NTASK (sizeof tasks / sizeof tasks[0])

static int make(const char *path, int nvariants)
{
	struct hv_store *st;
	struct hv_err err = { 0 };
	if (hv_store_create(path, HV_STORE_FORCE, &st, &err) < 0)
		goto fail;
	uint64_t seed = 42, ts = 1000000000;
	int cpus[] = { 0, 1, 7, 127, 3 };
	for (unsigned i = 0; i < NTASK; i++)
		if (hv_store_set_task(st, tasks[i].pid, tasks[i].tgid, tasks[i].comm, 0, &err) < 0)
			goto fail;
	hv_store_set_meta(st, "cpu", "POWER8", &err);
	static const struct hv_field_def odd_fields[] = { { "x", "x", "int", 8, 4, 1, HV_FK_INT, 0 } };
	static const struct hv_event_def odd = { "custom", "odd_event", 999, 1, 16, odd_fields,
						 "\"x=%d\", REC->x", "", NULL, "not hvtrace's" };
	int odd_t = hv_store_add_type(st, &odd, "format", &err);
	if (odd_t < 0)
		goto fail;
	int n = 0;
	for (int variant = 0; variant < nvariants; variant++) {
		for (int e = 0; e < HV_EV_COUNT; e++) {
			const struct hv_event_def *d = &hv_events[e];
			struct hv_value v[HV_MAX_EVENT_FIELDS];
			for (unsigned k = 0; k < d->nfields; k++) {
				memset(&v[k], 0, sizeof v[k]);
				if (d->fields[k].kind == HV_FK_INT) {
					v[k].i = int_value(&d->fields[k], variant, &seed);
				} else {
					v[k].p = strings[(variant + k) % NSTR];
					v[k].len = (uint32_t)strlen(v[k].p);
				}
			}
			int t = hv_store_known(st, e, &err);
			int32_t pid = tasks[(unsigned)(n + variant) % NTASK].pid;
			if (n % 11 == 5)
				pid = 31337;	/* a task without a name */
			if (t < 0 || hv_store_append(st, t, ts, cpus[n % 5], pid, v, &err) < 0)
				goto fail;
			if (n % 9 >= 4)	/* bursts of events at the same time, on different CPUs */
				ts += 1000 + lcg(&seed) % 5000000;
			n++;
			if (n % 40 == 0) {
				int64_t x = -n;
				if (hv_store_append_ints(st, odd_t, ts, 0, 1, &x, &err) < 0)
					goto fail;
				ts += 999;
			}
		}
	}
	ts = 4000000000000000000ull;	/* far in the future: 64-bit time */
	int64_t last[] = { -2147483647 - 1, 2147483647 };
	int t = hv_store_known(st, HV_EV_KVMPPC_RUN_VCPU_ENTER, &err);
	if (t < 0 || hv_store_append_ints(st, t, ts, 2, 4101, last, &err) < 0 || hv_store_commit(st, &err) < 0)
		goto fail;
	printf("%s: %llu events\n", path, (unsigned long long)hv_store_nevents(st));
	hv_store_close(st);
	return 0;
fail:
	fprintf(stderr, "helper_perfw_db make: %s\n", err.msg);
	hv_store_close(st);
	return 1;
}

/* The database's task table (pid -> tgid, comm), sorted by pid. */
struct dtask {
	int32_t pid, tgid;
	char comm[32];
};
static struct dtask *dtasks;
static int ndtasks;

static int load_tasks(struct hv_store *st)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(hv_store_sqlite(st), "SELECT pid, tgid, comm FROM task ORDER BY pid, ts", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct dtask *v = realloc(dtasks, sizeof *v * (size_t)(ndtasks + 1));
		if (!v)
			break;
		dtasks = v;
		struct dtask *t = &dtasks[ndtasks];
		t->pid = sqlite3_column_int(s, 0);
		t->tgid = sqlite3_column_type(s, 1) == SQLITE_NULL ? t->pid : sqlite3_column_int(s, 1);
		const unsigned char *c = sqlite3_column_text(s, 2);
		snprintf(t->comm, sizeof t->comm, "%s", c ? (const char *)c : "");
		if (ndtasks && dtasks[ndtasks - 1].pid == t->pid)
			dtasks[ndtasks - 1] = *t;	/* the latest name wins */
		else
			ndtasks++;
	}
	sqlite3_finalize(s);
	return 0;
}

static const char *comm_of(int32_t pid, int32_t *tgid)
{
	for (int i = 0; i < ndtasks; i++)
		if (dtasks[i].pid == pid) {
			*tgid = dtasks[i].tgid;
			return dtasks[i].comm;
		}
	*tgid = pid;
	return pid == 0 ? "swapper" : "";
}

static int dump(const char *path)
{
	struct hv_store *st;
	struct hv_reader *rd;
	struct hv_err err = { 0 };
	if (hv_store_open(path, 0, &st, &err) < 0 || hv_reader_open(st, NULL, &rd, &err) < 0) {
		fprintf(stderr, "helper_perfw_db dump: %s\n", err.msg);
		return 1;
	}
	const struct hv_row *r;
	int rc;
	load_tasks(st);
	while ((rc = hv_reader_next(rd, &r, &err)) == 1) {
		if (!hv_event_find(r->def->system, r->def->name))
			continue;
		int32_t tgid;
		const char *comm = comm_of(r->pid, &tgid);
		printf("%s:%s\t%d\t%d\t%d\t%" PRIu64 "\t%s", r->def->system, r->def->name, r->pid, tgid, r->cpu,
		       r->ts, comm);
		for (unsigned k = 0; k < r->def->nfields; k++) {
			const struct hv_field_def *f = &r->def->fields[k];
			if (f->kind == HV_FK_INT)
				printf("\t%s:%u:%u:%" PRId64, f->name, f->size, f->is_signed, r->v[k].i);
			else
				printf("\t%s:s:%.*s", f->name, (int)r->v[k].len, (const char *)r->v[k].p);
		}
		printf("\n");
	}
	hv_reader_close(rd);
	hv_store_close(st);
	free(dtasks);
	if (rc < 0)
		fprintf(stderr, "helper_perfw_db dump: %s\n", err.msg);
	return rc < 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "make") == 0)
		return make(argv[2], argc == 4 ? atoi(argv[3]) : 7);
	if (argc == 3 && strcmp(argv[1], "dump") == 0)
		return dump(argv[2]);
	fprintf(stderr, "usage: helper_perfw_db make DB [ROUNDS] | dump DB\n");
	return 2;
}
