/*
 * Store tests: every event type round-trips with extreme values; the reader merges many
 * interleaved tables in exact seq order and honours its filters; runtime (format-only)
 * types, name collisions and differing layouts; facts tables; and the error paths (not a
 * database, truncated, newer schema, existing output, uncommitted store leaves nothing).
 */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_events.h"
#include "hv_store.h"
#include "tap.h"

static char dir[256];

static const char *tmp_path(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static int dir_entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The k-th extreme value of a field: min, max, -1/0, 0/1, then pseudo-random in range. */
static int64_t extreme(const struct hv_field_def *f, int k)
{
	int bits = f->size * 8;
	uint64_t umax = bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	if (f->is_signed) {
		int64_t max = (int64_t)(umax >> 1), min = -max - 1;
		int64_t v[] = { min, max, -1, 0, 1 };
		if (k < 5)
			return v[k];
		return (int64_t)(next_rand() % (umax >> 1)) - (int64_t)((umax >> 2));
	}
	uint64_t v[] = { umax, 0, 1, umax - 1, umax >> 1 };
	return (int64_t)(k < 5 ? v[k] : next_rand() & umax);
}

struct expect {
	int type;
	uint64_t ts;
	int32_t cpu, pid;
	int64_t v[HV_MAX_EVENT_FIELDS];
	char s[HV_MAX_EVENT_FIELDS][17];
};

static void test_roundtrip(void)
{
	enum { PER_TYPE = 8 };
	static struct expect ex[HV_EV_COUNT * PER_TYPE];
	int n = 0;
	struct hv_err err = { 0 };
	struct hv_store *st;
	const char *path = tmp_path("roundtrip.db");
	TEST("every event type round-trips, extremes included, in seq order") {
		CHECK_EQ_I(hv_store_create(path, 0, &st, &err), 0);
		if (!st)
			continue;
		/* interleave types: round r writes value set r of every type */
		for (int r = 0; r < PER_TYPE; r++)
			for (int id = 0; id < HV_EV_COUNT; id++) {
				const struct hv_event_def *d = &hv_events[id];
				struct expect *e = &ex[n++];
				struct hv_value vals[HV_MAX_EVENT_FIELDS];
				e->type = hv_store_known(st, id, &err);
				CHECK(e->type >= 0);
				e->ts = (uint64_t)n * 1000 + (r == PER_TYPE - 1 ? (uint64_t)INT64_MAX - 100000 : 0);
				e->cpu = (int32_t)(next_rand() % 96);
				e->pid = r == 1 ? -1 : (int32_t)(next_rand() % 100000);
				for (unsigned f = 0; f < d->nfields; f++) {
					memset(&vals[f], 0, sizeof vals[f]);
					if (d->fields[f].kind == HV_FK_STR) {
						/* up to 15 chars, or all 16 bytes without a NUL */
						int len = r == 0 ? 16 : r % 16;
						memset(e->s[f], 0, sizeof e->s[f]);
						for (int c = 0; c < len; c++)
							e->s[f][c] = (char)('a' + (r + c) % 26);
						vals[f].p = e->s[f];
						vals[f].len = d->fields[f].size;
					} else {
						e->v[f] = extreme(&d->fields[f], r);
						vals[f].i = e->v[f];
					}
				}
				CHECK_EQ_I(hv_store_append(st, e->type, e->ts, e->cpu, e->pid, vals, &err), 0);
				CHECK_EQ_I(hv_store_last_seq(st), n);
			}
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		hv_store_close(st);

		CHECK_EQ_I(hv_store_open(path, 0, &st, &err), 0);
		if (!st)
			continue;
		CHECK_EQ_I(hv_store_nevents(st), n);
		struct hv_reader *rd;
		CHECK_EQ_I(hv_reader_open(st, NULL, &rd, &err), 0);
		const struct hv_row *row;
		int i = 0, bad = 0;
		while (hv_reader_next(rd, &row, &err) == 1 && i < n) {
			struct expect *e = &ex[i];
			const struct hv_event_def *d = row->def;
			bad += row->seq != (uint64_t)i + 1 || row->ts != e->ts || row->cpu != e->cpu || row->pid != e->pid;
			bad += strcmp(d->name, hv_events[i % HV_EV_COUNT].name) != 0;
			for (unsigned f = 0; f < d->nfields; f++) {
				if (d->fields[f].kind == HV_FK_STR)
					bad += row->v[f].len != strnlen(e->s[f], 16) || memcmp(row->v[f].p, e->s[f], row->v[f].len);
				else
					bad += row->v[f].p != NULL || row->v[f].i != e->v[f];
			}
			i++;
		}
		CHECK_EQ_I(i, n);
		CHECK_EQ_I(bad, 0);
		hv_reader_close(rd);
		hv_store_close(st);
	}
}

/* Add test:ev<t> with nf fields f (f[0] "a" u64 and f[1] an int named second are set here);
 * name is its storage. Returns the type handle. */
static int add_test_type(struct hv_store *st, struct hv_event_def *d, struct hv_field_def *f, char *name,
			 size_t nsize, int t, const char *second, unsigned nf, struct hv_err *err)
{
	snprintf(name, nsize, "ev%d", t);
	f[0] = (struct hv_field_def){ .name = "a", .ctype = "u64", .offset = 8, .size = 8 };
	f[1] = (struct hv_field_def){ .name = second, .ctype = "int", .offset = 16, .size = 4, .is_signed = 1 };
	*d = (struct hv_event_def){ .system = "test", .name = name, .nfields = (uint16_t)nf, .size = 40, .fields = f,
				    .print_fmt = "", .format = "" };
	return hv_store_add_type(st, d, "format", err);
}

/* Ten tables, 20000 events in a random interleaving: the merge gives back that order. */
static void test_merge(void)
{
	enum { N = 20000, T = 10 };
	static int order[N];
	static uint64_t tss[N];
	static int cpus[N];
	struct hv_field_def fields[T][2];
	struct hv_event_def defs[T];
	char names[T][32];
	struct hv_err err = { 0 };
	struct hv_store *st;
	const char *path = tmp_path("merge.db");
	TEST("reader over 10 interleaved tables returns exact seq order; filters agree with a scan") {
		CHECK_EQ_I(hv_store_create(path, 0, &st, &err), 0);
		if (!st)
			continue;
		int h[T];
		for (int t = 0; t < T; t++) {
			h[t] = add_test_type(st, &defs[t], fields[t], names[t], sizeof names[t], t, "pid", 2, &err);
			CHECK(h[t] >= 0);
		}
		for (int i = 0; i < N; i++) {
			int t = (int)(next_rand() % T);
			order[i] = t;
			tss[i] = 1000000 + (uint64_t)i * 10;
			cpus[i] = (int)(next_rand() % 4);
			int64_t v[2] = { i, -i };
			CHECK_EQ_I(hv_store_append_ints(st, h[t], tss[i], cpus[i], 7, v, &err), 0);
		}
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		struct hv_reader *rd;
		const struct hv_row *row;
		CHECK_EQ_I(hv_reader_open(st, NULL, &rd, &err), 0);
		int i = 0, bad = 0;
		while (hv_reader_next(rd, &row, &err) == 1) {
			bad += row->seq != (uint64_t)i + 1 || strcmp(row->def->name, names[order[i]]) || row->v[0].i != i ||
			       row->v[1].i != -i;
			i++;
		}
		hv_reader_close(rd);
		CHECK_EQ_I(i, N);
		CHECK_EQ_I(bad, 0);
		/* filters: types {3,7}, cpus {1,2}, a time window */
		int ft[2] = { hv_store_find_type(st, "test", "ev3"), hv_store_find_type(st, "test", "ev7") };
		int fc[2] = { 1, 2 };
		struct hv_filter f = { .types = ft, .ntypes = 2, .cpus = fc, .ncpus = 2, .has_from = 1,
				       .from = tss[N / 4], .has_to = 1, .to = tss[N / 2] };
		CHECK_EQ_I(hv_reader_open(st, &f, &rd, &err), 0);
		int want = 0, got = 0;
		for (int k = N / 4; k <= N / 2; k++)
			want += (order[k] == 3 || order[k] == 7) && (cpus[k] == 1 || cpus[k] == 2);
		uint64_t last = 0;
		while (hv_reader_next(rd, &row, &err) == 1) {
			int k = (int)row->v[0].i;
			bad += !(order[k] == 3 || order[k] == 7) || !(cpus[k] == 1 || cpus[k] == 2) || row->seq <= last;
			last = row->seq;
			got++;
		}
		hv_reader_close(rd);
		CHECK_EQ_I(got, want);
		CHECK_EQ_I(bad, 0);
		CHECK(want > 100);
		/* a field named pid is stored as f_pid */
		sqlite3_stmt *s;
		CHECK_EQ_I(sqlite3_prepare_v2(hv_store_sqlite(st), "SELECT sum(f_pid) FROM test__ev0", -1, &s, NULL), SQLITE_OK);
		CHECK_EQ_I(sqlite3_step(s), SQLITE_ROW);
		CHECK(sqlite3_column_int64(s, 0) < 0);
		sqlite3_finalize(s);
		hv_store_close(st);
	}
}

static void test_types_and_facts(void)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	const char *path = tmp_path("types.db");
	TEST("a known event with another layout gets the file's table and a stats note; text and blob fields") {
		CHECK_EQ_I(hv_store_create(path, 0, &st, &err), 0);
		if (!st)
			continue;
		/* kvm_guest_exit as some other kernel might define it: an extra field */
		struct hv_field_def f[3] = {
			{ .name = "vcpu_id", .ctype = "int", .offset = 8, .size = 4, .is_signed = 1 },
			{ .name = "trap", .ctype = "int", .offset = 12, .size = 4, .is_signed = 1 },
			{ .name = "lpid", .ctype = "u32", .offset = 16, .size = 4 },
		};
		struct hv_event_def d = { .system = "kvm_hv", .name = "kvm_guest_exit", .nfields = 3, .size = 24, .fields = f,
					  .print_fmt = "", .format = "" };
		int h = hv_store_add_type(st, &d, "format", &err);
		CHECK(h >= 0);
		CHECK(h != hv_store_known(st, HV_EV_KVM_GUEST_ENTER, &err));
		/* same layout as known: maps to the known type */
		int k = hv_store_add_type(st, &hv_events[HV_EV_KVMPPC_RUN_CORE], "format", &err);
		CHECK_EQ_I(k, hv_store_known(st, HV_EV_KVMPPC_RUN_CORE, &err));
		/* registering the same name with yet another layout is refused */
		d.nfields = 2;
		CHECK_EQ_I(hv_store_add_type(st, &d, "format", &err), HV_E_FORMAT);
		struct hv_field_def bf[2] = {
			{ .name = "comm", .ctype = "char[16]", .offset = 8, .size = 16, .kind = HV_FK_STR },
			{ .name = "bytes", .ctype = "u8[4]", .offset = 24, .size = 4, .kind = HV_FK_BLOB },
		};
		struct hv_event_def bd = { .system = "x", .name = "blobby", .nfields = 2, .size = 32, .fields = bf,
					   .print_fmt = "", .format = "" };
		int b = hv_store_add_type(st, &bd, "format", &err);
		CHECK(b >= 0);
		struct hv_value v[2] = { { .p = "qemu\0junk", .len = 9 }, { .p = "\x00\x01\xff\x02", .len = 4 } };
		CHECK_EQ_I(hv_store_append(st, b, 5, 1, 2, v, &err), 0);
		CHECK_EQ_I(hv_store_append_ints(st, h, 6, 1, 2, (int64_t[]){ 1, 0x980, 7 }, &err), 0);
		CHECK_EQ_I(hv_store_append_ints(st, b, 7, 1, 2, (int64_t[]){ 1, 2 }, &err), HV_E_USAGE);
		CHECK_EQ_I(hv_store_set_meta(st, "arch", "ppc64le", &err), 0);
		CHECK_EQ_I(hv_store_add_lost(st, 3, 100, 200, 42, "test", &err), 0);
		CHECK_EQ_I(hv_store_stat_add(st, "odd", 2, "first", &err), 0);
		CHECK_EQ_I(hv_store_stat_add(st, "odd", 3, NULL, &err), 0);
		CHECK_EQ_I(hv_store_set_task(st, 2, 1, "CPU 0/KVM", 5, &err), 0);
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		hv_store_close(st);
		CHECK_EQ_I(hv_store_open(path, 0, &st, &err), 0);
		if (!st)
			continue;
		char buf[64];
		CHECK_EQ_I(hv_store_get_meta(st, "arch", buf, sizeof buf, &err), 1);
		CHECK_EQ_S(buf, "ppc64le");
		CHECK_EQ_I(hv_store_get_meta(st, "nope", buf, sizeof buf, &err), 0);
		sqlite3_stmt *s;
		const char *q = "SELECT (SELECT count FROM lost), (SELECT value || detail FROM stats WHERE key = 'odd'),"
				" (SELECT comm FROM task WHERE pid = 2), (SELECT value FROM stats WHERE key LIKE 'format_differs:%'),"
				" (SELECT lpid FROM kvm_hv__kvm_guest_exit), (SELECT comm || hex(bytes) FROM x__blobby),"
				" (SELECT count(*) FROM kvm_hv__kvm_guest_enter), (SELECT source FROM event_type WHERE name = 'blobby')";
		CHECK_EQ_I(sqlite3_prepare_v2(hv_store_sqlite(st), q, -1, &s, NULL), SQLITE_OK);
		CHECK_EQ_I(sqlite3_step(s), SQLITE_ROW);
		CHECK_EQ_I(sqlite3_column_int(s, 0), 42);
		CHECK_EQ_S((const char *)sqlite3_column_text(s, 1), "5first");
		CHECK_EQ_S((const char *)sqlite3_column_text(s, 2), "CPU 0/KVM");
		CHECK_EQ_I(sqlite3_column_int(s, 3), 1);
		CHECK_EQ_I(sqlite3_column_int(s, 4), 7);
		CHECK_EQ_S((const char *)sqlite3_column_text(s, 5), "qemu0001FF02");
		CHECK_EQ_I(sqlite3_column_int(s, 6), 0);	/* known tables exist even when empty */
		CHECK_EQ_S((const char *)sqlite3_column_text(s, 7), "format");
		sqlite3_finalize(s);
		/* the reread definition of the differing type is the file's */
		int t = hv_store_find_type(st, "kvm_hv", "kvm_guest_exit");
		CHECK(t >= 0 && hv_store_type_def(st, t)->nfields == 3);
		hv_store_close(st);
	}
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, n, f);
	fclose(f);
}

static void test_errors(void)
{
	struct hv_err err = { 0 };
	struct hv_store *st = NULL;
	char good[512];
	snprintf(good, sizeof good, "%s", tmp_path("good.db"));
	TEST("bad databases give clear errors") {
		CHECK_EQ_I(hv_store_open(tmp_path("missing.db"), 0, &st, &err), HV_E_USAGE);
		CHECK(strstr(err.msg, "missing.db") != NULL);
		write_file(tmp_path("text.db"), "hello, this is not a database at all\n", 37);
		CHECK_EQ_I(hv_store_open(tmp_path("text.db"), 0, &st, &err), HV_E_NOTDB);
		CHECK(strstr(err.msg, "not an hvtrace database") != NULL);
		CHECK(st == NULL);
		/* plain SQLite file */
		sqlite3 *db;
		sqlite3_open(tmp_path("plain.db"), &db);
		sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", NULL, NULL, NULL);
		sqlite3_close(db);
		CHECK_EQ_I(hv_store_open(tmp_path("plain.db"), 0, &st, &err), HV_E_NOTDB);
		CHECK(strstr(err.msg, "not written by hvtrace") != NULL);
		/* a good database, then its truncated copy and a future-schema copy */
		CHECK_EQ_I(hv_store_create(good, 0, &st, &err), 0);
		if (!st)
			continue;
		int t = hv_store_known(st, HV_EV_KVM_GUEST_ENTER, &err);
		for (int i = 0; i < 50000; i++)
			hv_store_append_ints(st, t, (uint64_t)i, 0, 1, (int64_t[]){ i, i, i, 0 }, &err);
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		hv_store_close(st);
		struct stat sb;
		stat(good, &sb);
		FILE *f = fopen(good, "rb");
		char *buf = malloc((size_t)sb.st_size);
		CHECK_EQ_I(fread(buf, 1, (size_t)sb.st_size, f), sb.st_size);
		fclose(f);
		write_file(tmp_path("trunc.db"), buf, (size_t)sb.st_size / 2);
		CHECK_EQ_I(hv_store_open(tmp_path("trunc.db"), 0, &st, &err), HV_E_NOTDB);
		CHECK(strstr(err.msg, "truncated") != NULL);
		write_file(tmp_path("future.db"), buf, (size_t)sb.st_size);
		free(buf);
		sqlite3_open(tmp_path("future.db"), &db);
		sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
		sqlite3_close(db);
		CHECK_EQ_I(hv_store_open(tmp_path("future.db"), 0, &st, &err), HV_E_VERSION);
		CHECK(strstr(err.msg, "newer hvtrace") != NULL);
	}
	TEST("create refuses an existing file unless forced, and leaves it untouched") {
		struct stat before, after;
		stat(good, &before);
		CHECK_EQ_I(hv_store_create(good, 0, &st, &err), HV_E_EXISTS);
		CHECK(strstr(err.msg, "--force") != NULL);
		stat(good, &after);
		CHECK_EQ_I(before.st_size, after.st_size);
		CHECK_EQ_I(before.st_mtime, after.st_mtime);
		CHECK_EQ_I(hv_store_create(good, HV_STORE_FORCE, &st, &err), 0);
		hv_store_close(st);	/* not committed: the old file stays */
		CHECK_EQ_I(hv_store_open(good, 0, &st, &err), 0);
		CHECK_EQ_I(hv_store_nevents(st), 50000);
		hv_store_close(st);
		CHECK_EQ_I(hv_store_create(good, HV_STORE_FORCE, &st, &err), 0);
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		hv_store_close(st);
		CHECK_EQ_I(hv_store_open(good, 0, &st, &err), 0);
		CHECK_EQ_I(hv_store_nevents(st), 0);
		hv_store_close(st);
	}
	TEST("an uncommitted store leaves no file behind") {
		int before = dir_entries();
		CHECK_EQ_I(hv_store_create(tmp_path("never.db"), 0, &st, &err), 0);
		if (!st)
			continue;
		int t = hv_store_known(st, HV_EV_KVM_GUEST_EXIT, &err);
		for (int i = 0; i < 100000; i++)
			hv_store_append_ints(st, t, (uint64_t)i, 0, 1, (int64_t[]){ i, 0x980, 0, 0, 0 }, &err);
		CHECK_EQ_I(dir_entries(), before);	/* nothing visible while writing */
		hv_store_close(st);
		CHECK_EQ_I(dir_entries(), before);
		CHECK(access(tmp_path("never.db"), F_OK) != 0);
	}
}

static int write_fixed(const char *path)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	if (hv_store_create(path, 0, &st, &err) < 0)
		return -1;
	for (int i = 0; i < 200000; i++) {
		int id = (int)(next_rand() % 3) == 0 ? HV_EV_KVM_GUEST_EXIT : (i & 1) ? HV_EV_KVMPPC_RUN_CORE : HV_EV_KVM_GUEST_ENTER;
		int t = hv_store_known(st, id, &err);
		int64_t v[5] = { i & 7, i, i * 3, -i, 1 };
		if (hv_store_append_ints(st, t, (uint64_t)i * 10, i & 3, 9, v, &err) < 0)
			return -1;
		if (i % 50000 == 0)
			hv_store_stat_add(st, "tick", 1, NULL, &err);	/* the producer uses the connection mid-stream */
	}
	int rc = hv_store_commit(st, &err);
	hv_store_close(st);
	return rc;
}

static int same_file(const char *a, const char *b)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

static void test_deterministic(void)
{
	TEST("the writer thread does not change the file: threaded and synchronous writes are byte-identical") {
		char a[512], b[512], c[512];
		snprintf(a, sizeof a, "%s", tmp_path("thread1.db"));
		snprintf(b, sizeof b, "%s", tmp_path("thread2.db"));
		snprintf(c, sizeof c, "%s", tmp_path("sync.db"));
		uint64_t seed = rng;
		CHECK_EQ_I(write_fixed(a), 0);
		rng = seed;
		CHECK_EQ_I(write_fixed(b), 0);
		rng = seed;
		setenv("HV_STORE_SYNC", "1", 1);
		CHECK_EQ_I(write_fixed(c), 0);
		unsetenv("HV_STORE_SYNC");
		CHECK(same_file(a, b));
		CHECK(same_file(a, c));
	}
}

/* Write n rows over ntypes known types (type k about 2^-k of the rows, so some are rare);
 * returns the writer's blocks, or -1. */
static int write_skewed(const char *path, int n, int ntypes)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	if (hv_store_create(path, HV_STORE_FORCE, &st, &err) < 0)
		return -1;
	int bad = 0;
	for (int i = 0; i < n && !bad; i++) {
		int id = 0;
		while (id < ntypes - 1 && (next_rand() & 1))
			id++;
		const struct hv_event_def *d = &hv_events[id];
		struct hv_value vals[HV_MAX_EVENT_FIELDS];
		memset(vals, 0, sizeof vals);
		for (unsigned f = 0; f < d->nfields; f++)
			if (d->fields[f].kind == HV_FK_STR) {
				vals[f].p = "vcpu-thread";
				vals[f].len = d->fields[f].size;
			} else {
				vals[f].i = i;
			}
		int t = hv_store_known(st, id, &err);
		bad = t < 0 || hv_store_append(st, t, (uint64_t)i, i & 7, 1, vals, &err) < 0;
	}
	int blocks = hv_store_writer_blocks(st);
	if (bad || hv_store_commit(st, &err) < 0)
		blocks = -1;
	hv_store_close(st);
	return blocks;
}

/* The writer's memory is a pool of blocks bounded by the types and the queue, not by the
 * number of rows (the import's peak memory must not grow with the recording's length). */
static void test_writer_blocks(void)
{
	enum { NTYPES = 12 };
	TEST("the writer's blocks: one per type synchronously, types + queue + 1 with the thread, for 20 k or 400 k rows") {
		const char *path = tmp_path("blocks.db");
		int bound = NTYPES + HV_STORE_QUEUE + 1;
		int small = write_skewed(path, 20000, NTYPES);
		int big = write_skewed(path, 400000, NTYPES);
		CHECK(small >= NTYPES && small <= bound);
		CHECK(big >= NTYPES && big <= bound);
		setenv("HV_STORE_SYNC", "1", 1);
		CHECK_EQ_I(write_skewed(path, 20000, NTYPES), NTYPES);
		CHECK_EQ_I(write_skewed(path, 400000, NTYPES), NTYPES);
		unsetenv("HV_STORE_SYNC");
	}
}

/* A row's content as text, to compare two readers' rows. */
static size_t row_key(const struct hv_row *r, char *buf, size_t n)
{
	size_t len = (size_t)snprintf(buf, n, "%" PRIu64 " %" PRIu64 " %d %d %s:%s", r->seq, r->ts, r->cpu, r->pid,
				      r->def->system, r->def->name);
	for (unsigned i = 0; i < r->def->nfields && len < n; i++) {
		if (!r->v[i].p) {
			len += (size_t)snprintf(buf + len, n - len, " %" PRId64, r->v[i].i);
			continue;
		}
		/* bytes as a length and a checksum: blobs may be 100 KB */
		uint64_t h = 1469598103934665603ULL;
		for (uint32_t k = 0; k < r->v[i].len; k++)
			h = (h ^ ((const unsigned char *)r->v[i].p)[k]) * 1099511628211ULL;
		len += (size_t)snprintf(buf + len, n - len, " [%u %016" PRIx64 "]", r->v[i].len, h);
	}
	return len;
}

/* Read with f (threads set by the caller) and compare every row with the plain reader's. */
static int same_rows(struct hv_store *st, const struct hv_filter *f, int *nrows)
{
	struct hv_filter plain = *f;
	plain.threads = 0;
	struct hv_reader *a = NULL, *b = NULL;
	struct hv_err err = { 0 };
	const struct hv_row *ra, *rb;
	char ka[512], kb[512];
	int bad = 0, n = 0, sa, sb;
	if (hv_reader_open(st, &plain, &a, &err) < 0 || hv_reader_open(st, f, &b, &err) < 0) {
		hv_reader_close(a);
		return -1;
	}
	do {
		sa = hv_reader_next(a, &ra, &err);
		sb = hv_reader_next(b, &rb, &err);
		if (sa != sb)
			bad++;
		else if (sa == 1) {
			row_key(ra, ka, sizeof ka);
			row_key(rb, kb, sizeof kb);
			bad += strcmp(ka, kb) != 0 || ra->type != rb->type || ra->def != rb->def;
			n++;
		}
	} while (sa == 1 && sb == 1);
	hv_reader_close(a);
	hv_reader_close(b);
	*nrows = n;
	return bad;
}

/* Reader threads (hv_filter.threads): the same rows as the plain reader, whatever the number
 * of threads, with filters, text and blobs (some larger than a block's byte arena), and a
 * reader closed while its producers wait on a full ring. */
static void test_threaded(void)
{
	enum { N = 60000, T = 8, WIDE = 24 };
	static struct hv_field_def fields[T][WIDE];
	static char wide_names[WIDE][16];
	struct hv_event_def defs[T];
	char names[T][32];
	static unsigned char big[100000];
	struct hv_err err = { 0 };
	struct hv_store *st;
	const char *path = tmp_path("threads.db");
	TEST("reader threads: every row equal to the plain reader's, 1-5 threads, filters, text and blobs") {
		CHECK_EQ_I(hv_store_create(path, 0, &st, &err), 0);
		if (!st)
			continue;
		int h[T];
		for (int t = 0; t < T; t++) {
			fields[t][2] = t == 5 ? (struct hv_field_def){ .name = "comm", .ctype = "char[16]", .offset = 20, .size = 16,
								       .kind = HV_FK_STR }
				     : (struct hv_field_def){ .name = "data", .ctype = "__data_loc u8[]", .offset = 20, .size = 4,
							      .kind = HV_FK_BLOB };
			for (int k = 3; t == 7 && k < WIDE; k++) {	/* a wide type: blocks end on values */
				snprintf(wide_names[k], sizeof wide_names[k], "w%d", k);
				fields[t][k] = (struct hv_field_def){ .name = wide_names[k], .ctype = "u64", .offset = 8, .size = 8 };
			}
			h[t] = add_test_type(st, &defs[t], fields[t], names[t], sizeof names[t], t, "b",
					     t == 7 ? WIDE : t >= 5 ? 3 : 2, &err);
			CHECK(h[t] >= 0);
		}
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (unsigned char)next_rand();
		for (int i = 0; i < N; i++) {
			/* skewed: ev0 a third of the rows, so the tables are shared out unevenly */
			int t = next_rand() % 3 == 0 ? 0 : (int)(next_rand() % T);
			if (i >= 20000 && i < 30000 && i % 4)
				t = 7;	/* a stretch of wide rows: blocks fill up on values first */
			char comm[17];
			snprintf(comm, sizeof comm, "task-%d", i % 1000);
			struct hv_value v[WIDE] = { { .i = i }, { .i = -i } };
			for (int k = 2; t == 7 && k < WIDE; k++)
				v[k].i = i * k;
			if (t == 5)
				v[2] = (struct hv_value){ .p = comm, .len = 16 };
			else if (t == 7)
				v[2] = (struct hv_value){ .p = big, .len = (uint32_t)(i % 7) };
			else if (t == 6)	/* blobs up to 4 KB, every 500th 100 KB, some empty */
				v[2] = (struct hv_value){ .p = big + i % 1000,
							  .len = i % 500 == 0 ? 99000u : (uint32_t)(next_rand() % 4096) };
			CHECK_EQ_I(hv_store_append(st, h[t], 1000 + (uint64_t)i, (int)(next_rand() % 4), 7, v, &err), 0);
		}
		CHECK_EQ_I(hv_store_commit(st, &err), 0);
		int n = 0;
		for (int th = 1; th <= 5; th++) {
			struct hv_filter f = { .threads = th };
			CHECK_EQ_I(same_rows(st, &f, &n), 0);
			CHECK_EQ_I(n, N);
		}
		int ft[3] = { h[0], h[5], h[6] }, fc[2] = { 0, 3 };
		struct hv_filter f = { .types = ft, .ntypes = 3, .cpus = fc, .ncpus = 2, .has_from = 1, .from = 1000 + N / 5,
				       .has_seq = 1, .seq_from = 1, .seq_to = N / 2, .threads = 2 };
		CHECK_EQ_I(same_rows(st, &f, &n), 0);
		CHECK(n > 1000 && n < N / 2);
		/* closed early: the producers are waiting for room; close must stop them */
		struct hv_reader *rd;
		const struct hv_row *row;
		struct hv_filter f2 = { .threads = 3 };
		CHECK_EQ_I(hv_reader_open(st, &f2, &rd, &err), 0);
		for (int i = 0; i < 10; i++)
			CHECK_EQ_I(hv_reader_next(rd, &row, &err), 1);
		usleep(20000);
		hv_reader_close(rd);
		hv_store_close(st);
		/* a store whose file is gone: the reader threads cannot open it; a clear error */
		CHECK_EQ_I(hv_store_open(path, 0, &st, &err), 0);
		CHECK_EQ_I(rename(path, tmp_path("threads-moved.db")), 0);
		rd = NULL;
		CHECK(hv_reader_open(st, &f2, &rd, &err) < 0);
		CHECK(rd == NULL);
		CHECK(strstr(err.msg, "threads.db") != NULL);
		hv_store_close(st);
	}
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/hv-test-store-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_roundtrip();
	test_merge();
	test_types_and_facts();
	test_errors();
	test_deterministic();
	test_writer_blocks();
	test_threaded();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_exit();
}
