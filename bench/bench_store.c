/*
 * Store benchmark: the writer's and the reader's rates, next to the SQLite insert ceiling
 * measured in the same run on the same machine (a one-integer-column table filled with
 * multi-row prepared inserts under the same pragmas). Prints rates and the ratio; the target
 * is a writer at >= 60% of the ceiling on an 8-column event table (kvmppc_run_core: seq, ts,
 * cpu, pid + 4 fields), commit and index build included.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_events.h"
#include "hv_store.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Plain SQLite filling a table of ncol integer columns (the first the INTEGER PRIMARY KEY
 * when ipk) with 128-row prepared inserts, under the store's pragmas. */
static double ceiling(const char *path, long n, int ncol, int ipk)
{
	enum { R = 128 };
	sqlite3 *db;
	sqlite3_stmt *s;
	char sql[R * 40 + 256];
	unlink(path);
	sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	sqlite3_exec(db, "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		     " PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768;", NULL, NULL, NULL);
	size_t len = (size_t)snprintf(sql, sizeof sql, "CREATE TABLE c(v0 INTEGER%s", ipk ? " PRIMARY KEY" : "");
	for (int c = 1; c < ncol; c++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ", v%d INTEGER", c);
	snprintf(sql + len, sizeof sql - len, "); BEGIN");
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO c VALUES ");
	for (int r = 0; r < R; r++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, "%s(?", r ? "," : "");
		for (int c = 1; c < ncol; c++)
			len += (size_t)snprintf(sql + len, sizeof sql - len, ",?");
		len += (size_t)snprintf(sql + len, sizeof sql - len, ")");
	}
	sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	double t0 = now();
	for (long i = 0; i < n; i += R) {
		int p = 1;
		for (int r = 0; r < R; r++) {
			sqlite3_bind_int64(s, p++, i + r + 1);
			for (int c = 1; c < ncol; c++)
				sqlite3_bind_int64(s, p++, c == 1 ? (i + r) * 100 : (i + r + c) & 7);
		}
		sqlite3_step(s);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	double dt = now() - t0;
	unlink(path);
	return (double)n / dt;
}

static double store_write(const char *path, long n)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	unlink(path);
	double t0 = now();
	if (hv_store_create(path, HV_STORE_FORCE, &st, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(2);
	}
	int t = hv_store_known(st, HV_EV_KVMPPC_RUN_CORE, &err);
	for (long i = 0; i < n; i++) {
		int64_t v[4] = { 1 + (i & 3), i & 7, i & 1, 4100 };
		if (hv_store_append_ints(st, t, (uint64_t)i * 100, (int32_t)(i & 7), 4101, v, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			exit(2);
		}
	}
	if (hv_store_commit(st, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(2);
	}
	hv_store_close(st);
	return (double)n / (now() - t0);
}

static double store_read(const char *path, long *n)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	struct hv_reader *rd;
	const struct hv_row *row;
	double t0 = now();
	if (hv_store_open(path, 0, &st, &err) < 0 || hv_reader_open(st, NULL, &rd, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(2);
	}
	long k = 0;
	int64_t sum = 0;
	while (hv_reader_next(rd, &row, &err) == 1) {
		sum += row->v[0].i;
		k++;
	}
	hv_reader_close(rd);
	hv_store_close(st);
	*n = k + (sum < 0);
	return (double)k / (now() - t0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000000;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char p1[512], p2[512];
	snprintf(p1, sizeof p1, "%s/hv-bench-ceiling.db", dir);
	snprintf(p2, sizeof p2, "%s/hv-bench-store.db", dir);
	double c1 = ceiling(p1, n, 1, 0);
	double c8 = ceiling(p1, n, 8, 1);
	double w = store_write(p2, n);
	long got;
	double r = store_read(p2, &got);
	unlink(p2);
	printf("store: %ld events of kvm_hv:kvmppc_run_core (8 columns), same run, same pragmas\n", n);
	printf("  sqlite ceiling, 1 integer column, 128-row inserts:  %10.0f rows/s\n", c1);
	printf("  sqlite ceiling, the same 8-column table (seq IPK):  %10.0f rows/s  = %.2f x 1-column ceiling\n", c8, c8 / c1);
	printf("  store write (append + commit):                     %10.0f events/s = %.2f x 1-column ceiling, %.2f x 8-column ceiling\n",
	       w, w / c1, w / c8);
	printf("  store read (seq-order merge of every table):       %10.0f events/s  (%ld read)\n", r, got);
	printf("  target (issue 2): store write >= 0.60 x 1-column ceiling: %.2f (%s); SQLite itself reaches\n"
	       "  %.2f on the 8-column table, whose explicit INTEGER PRIMARY KEY costs a b-tree seek per row\n",
	       w / c1, w / c1 >= 0.6 ? "met" : "not met", c8 / c1);
	return 0;
}
