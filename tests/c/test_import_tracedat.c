/*
 * test_import_tracedat: the trace.dat importer against trace-cmd's own output.
 *
 * Imports tests/data/x86-kvm.dat (kvm events in a buffer instance) and x86-kvm-top.dat (the
 * top-level buffer), or the trace.dat and `trace-cmd report -N` text given as argv[1], argv[2],
 * and checks: the event count per type equals the count of lines per event in
 * the report; every stored event, in order, has the report's timestamp (us), cpu and pid; and
 * every field of every event is right: a raw record is rebuilt from the stored field values at
 * their format offsets and printed through libtraceevent with the file's print format, which
 * must give exactly the report's text. Bad input: a missing file, a non-trace.dat file and a
 * truncated copy are refused with a message, without a crash.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trace-cmd.h>
#include <unistd.h>

#include "hv_import.h"
#include "hv_store.h"
#include "tap.h"

static const char *cur_label = "";

/* Test name "tracedat LABEL: what" (one TEST at a time uses the buffer). */
static const char *tname(const char *what)
{
	static char buf[256];
	snprintf(buf, sizeof buf, "tracedat %s: %s", cur_label, what);
	return buf;
}

struct rline {
	uint64_t us;
	int cpu, pid;
	char event[64];
	char *info;
};

struct report {
	struct rline *l;
	size_t n, cap;
};

static char *trim(char *s)
{
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* "[buf:]  comm-pid  [ccc]  sec.usec: event:  info" */
static int parse_line(char *s, struct rline *r)
{
	char *b = strstr(s, "] ");
	char *o = b ? b : NULL;
	while (o && o > s && *o != '[')
		o--;
	if (!b || o == s)
		return -1;
	r->cpu = atoi(o + 1);
	char *e = o;
	while (e > s && e[-1] == ' ')
		e--;
	char *d = e;
	while (d > s && d[-1] >= '0' && d[-1] <= '9')
		d--;
	if (d == e || d == s || d[-1] != '-')
		return -1;
	r->pid = atoi(d);
	char *t = b + 2, *dot;
	unsigned long long sec = strtoull(t, &dot, 10);
	if (*dot != '.')
		return -1;
	char *c;
	unsigned long long us = strtoull(dot + 1, &c, 10);
	if (*c != ':')
		return -1;
	r->us = sec * 1000000ULL + us;
	char *ev = trim(c + 1), *colon = strchr(ev, ':');
	if (!colon || colon - ev >= (int)sizeof r->event)
		return -1;
	memcpy(r->event, ev, (size_t)(colon - ev));
	r->event[colon - ev] = 0;
	r->info = strdup(trim(colon + 1));
	return r->info ? 0 : -1;
}

static int read_report(const char *path, struct report *rp)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "cpus=", 5) == 0 || line[0] == '\n')
			continue;
		if (rp->n == rp->cap) {
			rp->cap = rp->cap ? rp->cap * 2 : 1024;
			rp->l = realloc(rp->l, rp->cap * sizeof *rp->l);
		}
		if (parse_line(line, &rp->l[rp->n]) < 0) {
			printf("# unparsed report line: %s", line);
			fclose(f);
			return -1;
		}
		rp->n++;
	}
	fclose(f);
	return 0;
}

static void put_int(uint8_t *p, int size, int64_t v)
{
	switch (size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	case 8: memcpy(p, &v, 8); break;
	}
}

/* Rebuild the raw record of a stored row (little-endian host and file assumed). */
static int rebuild(struct tep_event *ev, const struct hv_row *row, uint8_t *buf, size_t cap)
{
	size_t end = row->def->size;
	memset(buf, 0, cap);
	struct tep_format_field *ct = tep_find_common_field(ev, "common_type");
	struct tep_format_field *cp = tep_find_common_field(ev, "common_pid");
	if (!ct || !cp || end > cap)
		return -1;
	put_int(buf + ct->offset, ct->size, ev->id);
	put_int(buf + cp->offset, cp->size, row->pid);
	for (unsigned i = 0; i < row->def->nfields; i++) {
		const struct hv_field_def *f = &row->def->fields[i];
		const struct hv_value *v = &row->v[i];
		struct tep_format_field *tf = tep_find_field(ev, f->name);
		if (!tf)
			return -1;
		if (tf->flags & TEP_FIELD_IS_DYNAMIC) {
			uint32_t len = v->p ? v->len : 0, off = (uint32_t)end;
			if (tf->flags & TEP_FIELD_IS_RELATIVE)
				off -= (uint32_t)(tf->offset + tf->size);
			if (end + len > cap)
				return -1;
			if (len)
				memcpy(buf + end, v->p, len);
			end += len;
			put_int(buf + f->offset, 4, (int64_t)(off | (len << 16)));
		} else if (f->kind == HV_FK_INT) {
			put_int(buf + f->offset, f->size, v->i);
		} else if (v->p) {
			memcpy(buf + f->offset, v->p, v->len < f->size ? v->len : f->size);
		}
	}
	return (int)end;
}

static char *print_info(struct tep_handle *tep, struct tep_event *ev, const struct hv_row *row)
{
	uint8_t buf[4096];
	int n = rebuild(ev, row, buf, sizeof buf);
	if (n < 0)
		return strdup("(cannot rebuild)");
	struct tep_record rec = { .ts = row->ts, .cpu = row->cpu, .data = buf, .size = n };
	struct trace_seq s;
	trace_seq_init(&s);
	tep_print_event(tep, &s, &rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&s);
	char *out = strdup(trim(s.buffer));
	trace_seq_destroy(&s);
	return out;
}

static int import(const char *in, const char *db, struct hv_import_result *res, struct hv_err *err)
{
	struct hv_store *st = NULL;
	int rc = hv_store_create(db, HV_STORE_FORCE, &st, err);
	if (rc == 0)
		rc = hv_import_tracedat(in, st, NULL, res, err);
	if (rc == 0)
		rc = hv_store_commit(st, err);
	hv_store_close(st);
	return rc;
}

static void check_counts(struct hv_store *st, const struct report *rp)
{
	TEST(tname("events per type equal trace-cmd report's")) {
		uint64_t total = 0;
		for (int t = 0; t < hv_store_ntypes(st); t++) {
			const struct hv_event_def *d = hv_store_type_def(st, t);
			uint64_t want = 0;
			for (size_t i = 0; i < rp->n; i++)
				want += strcmp(rp->l[i].event, d->name) == 0;
			if (hv_store_type_count(st, t) != want)
				printf("#   %s:%s stored %llu, report %llu\n", d->system, d->name,
				       (unsigned long long)hv_store_type_count(st, t), (unsigned long long)want);
			CHECK_EQ_I(hv_store_type_count(st, t), want);
			total += hv_store_type_count(st, t);
		}
		CHECK_EQ_I(total, rp->n);
		CHECK(rp->n > 0);
	}
}

static void check_events(struct hv_store *st, struct tep_handle *tep, const struct report *rp)
{
	struct hv_reader *rd = NULL;
	struct hv_err err = { 0 };
	const struct hv_row *row;
	size_t i = 0, bad = 0;
	TEST(tname("every event's ts, cpu, pid and all fields equal trace-cmd report's")) {
		CHECK_EQ_I(hv_reader_open(st, NULL, &rd, &err), 0);
		while (rd && hv_reader_next(rd, &row, &err) == 1) {
			if (i >= rp->n) {
				i++;
				continue;
			}
			const struct rline *r = &rp->l[i++];
			struct tep_event *ev = tep_find_event_by_name(tep, row->def->system, row->def->name);
			char *info = ev ? print_info(tep, ev, row) : strdup("(no event)");
			int same = (row->ts + 500) / 1000 == r->us && row->cpu == r->cpu && row->pid == r->pid &&
				   strcmp(row->def->name, r->event) == 0 && strcmp(info, r->info) == 0;
			if (!same && bad++ < 5)
				printf("#   event %zu: stored %llu %s %d %d '%s', report %s %d %d '%s'\n", i, (unsigned long long)row->ts, row->def->name,
				       row->cpu, row->pid, info, r->event, r->cpu, r->pid, r->info);
			if (!same && bad <= 5) printf("#   report us %llu\n", (unsigned long long)r->us);
			free(info);
		}
		CHECK_EQ_I(bad, 0);
		CHECK_EQ_I(i, rp->n);
		hv_reader_close(rd);
	}
}

static void check_meta_tasks(struct hv_store *st, const struct report *rp)
{
	char v[64];
	struct hv_err err = { 0 };
	TEST(tname("meta and task names")) {
		CHECK_EQ_I(hv_store_get_meta(st, "source", v, sizeof v, &err), 1);
		CHECK_EQ_S(v, "trace.dat");
		CHECK_EQ_I(hv_store_get_meta(st, "long_size", v, sizeof v, &err), 1);
		CHECK_EQ_S(v, "8");
		sqlite3_stmt *s = NULL;
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM task WHERE pid = %d AND comm <> ''", rp->l[0].pid);
		CHECK_EQ_I(sqlite3_prepare_v2(hv_store_sqlite(st), sql, -1, &s, NULL), SQLITE_OK);
		CHECK(s && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 1);
		sqlite3_finalize(s);
	}
}

static void check_bad_input(const char *good, const char *dir)
{
	char db[512], cut[512];
	struct hv_import_result res;
	struct hv_err err = { 0 };
	snprintf(db, sizeof db, "%s/bad.db", dir);
	TEST("tracedat: missing, foreign, truncated and corrupt files: no crash, a message") {
		CHECK(import("/nonexistent/x.dat", db, &res, &err) == HV_E_IO);
		CHECK(strstr(err.msg, "/nonexistent/x.dat") != NULL);
		CHECK(access(db, F_OK) != 0);
		CHECK(import("Makefile", db, &res, &err) == HV_E_CORRUPT);
		CHECK(strstr(err.msg, "Makefile") != NULL);
		FILE *in = fopen(good, "rb");
		snprintf(cut, sizeof cut, "%s/cut.dat", dir);
		static uint8_t buf[1 << 20];
		size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
		if (in)
			fclose(in);
		for (size_t at = 16; at < n; at = at * 3 / 2) {
			FILE *o = fopen(cut, "wb");
			if (!o)
				break;
			fwrite(buf, 1, at, o);
			fclose(o);
			int rc = import(cut, db, &res, &err);
			CHECK(rc == 0 || (rc < 0 && err.msg[0]));
		}
		/* byte flips, including places where libtracecmd itself crashes */
		static const size_t flips[] = { 12, 20, 40, 100, 400, 4000, 21466, 77493, 127024, 128878 };
		for (size_t k = 0; k < sizeof flips / sizeof flips[0]; k++) {
			if (flips[k] >= n)
				continue;
			FILE *o = fopen(cut, "wb");
			if (!o)
				break;
			buf[flips[k]] ^= 0xff;
			fwrite(buf, 1, n, o);
			buf[flips[k]] ^= 0xff;
			fclose(o);
			err.msg[0] = 0;
			int rc = import(cut, db, &res, &err);
			CHECK(rc == 0 || (rc < 0 && err.msg[0]));
		}
		unlink(cut);
		unlink(db);
	}
}

/* One trace.dat and its `trace-cmd report -N` text. */
static void check_one(const char *dat, const char *txt, const char *dir)
{
	char db[512];
	struct report rp = { 0 };
	struct hv_import_result res;
	struct hv_err err = { 0 };
	if (read_report(txt, &rp) < 0) {
		printf("not ok - tracedat %s: read %s (%s)\n", dat, txt, strerror(errno));
		return;
	}
	snprintf(db, sizeof db, "%s/t.db", dir);
	cur_label = strrchr(dat, '/') ? strrchr(dat, '/') + 1 : dat;
	TEST(tname("fixture imports")) {
		int rc = import(dat, db, &res, &err);
		if (rc)
			printf("#   %s\n", err.msg);
		CHECK_EQ_I(rc, 0);
		CHECK_EQ_I(res.events, rp.n);
		CHECK_EQ_I(res.lost, 0);
	}
	struct hv_store *st = NULL;
	struct tracecmd_input *in = tracecmd_open(dat, TRACECMD_FL_LOAD_NO_PLUGINS);
	if (hv_store_open(db, 0, &st, &err) == 0 && in) {
		check_counts(st, &rp);
		check_events(st, tracecmd_get_tep(in), &rp);
		check_meta_tasks(st, &rp);
	} else {
		printf("not ok - tracedat: open the result (%s)\n", err.msg);
	}
	hv_store_close(st);
	if (in)
		tracecmd_close(in);
	unlink(db);
	for (size_t i = 0; i < rp.n; i++)
		free(rp.l[i].info);
	free(rp.l);
}

/* No arguments: the fixtures (a buffer instance, and the top-level buffer); or DAT REPORT. */
int main(int argc, char **argv)
{
	char dir[] = "/tmp/hvtrace-tdXXXXXX";
	if (!mkdtemp(dir))
		return 1;
	if (argc > 2) {
		check_one(argv[1], argv[2], dir);
	} else {
		check_one("tests/data/x86-kvm.dat", "tests/data/x86-kvm.report.txt", dir);
		check_one("tests/data/x86-kvm-top.dat", "tests/data/x86-kvm-top.report.txt", dir);
		check_bad_input("tests/data/x86-kvm.dat", dir);
	}
	rmdir(dir);
	return tap_exit();
}
