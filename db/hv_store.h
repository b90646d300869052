/*
 * hv_store: the SQLite trace store every hvtrace stage reads and writes.
 *
 * One file per trace. Each event type has its own typed table `<system>__<event>` with columns
 * seq (INTEGER PRIMARY KEY, the event's place in the whole trace, unique across tables), ts
 * (ns), cpu, pid (the recording task), then the event's fields. Around them: meta (key/value
 * facts about the recording), event_type and event_field (what each table holds and how it
 * was defined), lost (windows of lost events), stats (anything odd, counted), task (pid ->
 * comm). PRAGMA user_version holds the schema version, application_id the hvtrace magic.
 *
 * Writing (hv_store_create ... hv_store_commit) is all-or-nothing: the database is built in an
 * anonymous file next to its final path and linked into place only by a successful commit, so
 * an interrupted or failed writer leaves nothing behind. Events must be appended in trace
 * order; the writer gives them consecutive seq numbers and buffers them per type for
 * multi-row prepared inserts inside one transaction. Event tables get no index beyond seq:
 * seq order is time order, readers scan; derived tables build their indexes after loading.
 *
 * Reading (hv_reader_*) streams all events in seq order by merging one cursor per table; it
 * holds one row per table, so memory does not grow with the trace.
 *
 * Every function returns 0 (or a documented non-negative value) on success and a negative
 * HV_E_* code on failure, with a message in *err that names the file. Nothing here prints or
 * exits.
 */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hv_event_def.h"

#define HV_STORE_SCHEMA_VERSION 1
#define HV_STORE_APPLICATION_ID 0x48565452	/* "HVTR" */

enum hv_error {
	HV_OK = 0,
	HV_E_USAGE = -1,	/* bad argument */
	HV_E_IO = -2,		/* cannot read/write/rename a file */
	HV_E_NOTDB = -3,	/* not an hvtrace database (or not SQLite at all, or truncated) */
	HV_E_VERSION = -4,	/* written by a newer hvtrace (schema version too high) */
	HV_E_CORRUPT = -5,	/* malformed input or database */
	HV_E_EXISTS = -6,	/* output exists and overwriting was not asked for */
	HV_E_NOMEM = -7,
	HV_E_SQL = -8,		/* SQLite error */
	HV_E_FORMAT = -9,	/* an event definition the store cannot hold */
	HV_E_TRUNCATED = -10,	/* input ended early (importers) */
};

struct hv_err {
	int code;
	char msg[512];
};

/* Set err (may be NULL) and return code. printf-style. */
int hv_err_set(struct hv_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct hv_store;
struct hv_reader;

enum hv_store_flags {
	HV_STORE_FORCE = 1,	/* hv_store_create: replace an existing file at commit */
};

/* Create a new trace database that will appear at path when committed. Fails with
 * HV_E_EXISTS if path exists and HV_STORE_FORCE is not given. */
int hv_store_create(const char *path, unsigned flags, struct hv_store **out, struct hv_err *err);

/* Open an existing database (writable: for derived tables; the caller manages transactions
 * with hv_store_exec). Checks application_id and schema version. */
int hv_store_open(const char *path, int writable, struct hv_store **out, struct hv_err *err);

/* Finish a created store: flush buffered rows, create the known tables that got no events,
 * write event counts, link the file into place. The store stays open for
 * reading. */
int hv_store_commit(struct hv_store *st, struct hv_err *err);

/* Close; a created store that was not committed is discarded. NULL is fine. */
void hv_store_close(struct hv_store *st);

struct sqlite3 *hv_store_sqlite(struct hv_store *st);
const char *hv_store_path(const struct hv_store *st);
int hv_store_exec(struct hv_store *st, const char *sql, struct hv_err *err);
/* 1 if the database has a table of that name (derived and output tables come and go). */
int hv_store_has_table(struct hv_store *st, const char *name);

/* ---- event types ----
 * A type handle is a small non-negative int. In a created store the known events of
 * hv_events[] are registered on demand: hv_store_known(st, HV_EV_...) returns the handle. */
int hv_store_known(struct hv_store *st, int hv_event_id, struct hv_err *err);

/* Register an event type from a definition (copied). If system:name is a known event with
 * the same fields (names, sizes, signedness, order), the known type is returned. If it is
 * known but differs, the table is built from def instead and a stats note is recorded. A
 * second registration of the same system:name returns the first handle if the layouts agree,
 * HV_E_FORMAT otherwise. source is a short word stored in event_type ("schema", "format"). */
int hv_store_add_type(struct hv_store *st, const struct hv_event_def *def, const char *source,
		      struct hv_err *err);
int hv_store_find_type(const struct hv_store *st, const char *system, const char *name);
int hv_store_ntypes(const struct hv_store *st);
const struct hv_event_def *hv_store_type_def(const struct hv_store *st, int type);
const char *hv_store_type_table(const struct hv_store *st, int type);
uint64_t hv_store_type_count(const struct hv_store *st, int type);

/* ---- appending (created stores only), in trace order ----
 * vals has def->nfields entries. Returns 0; the event's seq is hv_store_last_seq(). */
int hv_store_append(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
		    const struct hv_value *vals, struct hv_err *err);
/* Fast path for types whose fields are all integers. */
int hv_store_append_ints(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
			 const int64_t *vals, struct hv_err *err);
uint64_t hv_store_last_seq(const struct hv_store *st);
uint64_t hv_store_nevents(const struct hv_store *st);
/* Rows go to SQLite in batches, each in a block of memory; full batches wait in a queue of
 * HV_STORE_QUEUE for the writer thread. The blocks made so far: at most one per type being
 * written + HV_STORE_QUEUE + 1 (the batch being inserted), however long the input. */
#define HV_STORE_QUEUE 8
int hv_store_writer_blocks(const struct hv_store *st);

/* ---- facts ---- */
int hv_store_set_meta(struct hv_store *st, const char *key, const char *value, struct hv_err *err);
/* Copies the value into buf; returns 1 if found, 0 if not, <0 on error. */
int hv_store_get_meta(struct hv_store *st, const char *key, char *buf, size_t n, struct hv_err *err);
int hv_store_add_lost(struct hv_store *st, int32_t cpu, uint64_t ts_from, uint64_t ts_to,
		      uint64_t count, const char *source, struct hv_err *err);
/* stats[key] += delta; detail (may be NULL) replaces the stored detail text. */
int hv_store_stat_add(struct hv_store *st, const char *key, int64_t delta, const char *detail,
		      struct hv_err *err);
int hv_store_set_task(struct hv_store *st, int32_t pid, int32_t tgid, const char *comm,
		      uint64_t ts, struct hv_err *err);

/* ---- reading in seq order ---- */
struct hv_filter {
	const int *types;	/* NULL: every type */
	int ntypes;
	const int *cpus;	/* NULL: every cpu */
	int ncpus;
	int has_from, has_to;	/* ts bounds, inclusive */
	uint64_t from, to;
	int has_seq;		/* seq bounds, inclusive: a rowid range, no table scan */
	uint64_t seq_from, seq_to;
	int threads;		/* >0: read on up to this many threads, each with its own read-only
				 * connection (store_read_par.c). They see what is committed in the
				 * file; the store's own connection may write meanwhile only what its
				 * page cache holds (PRAGMA cache_spill=OFF) and commits after close. */
};

struct hv_row {
	uint64_t seq;
	uint64_t ts;
	int32_t cpu;
	int32_t pid;
	int type;
	const struct hv_event_def *def;
	const struct hv_value *v;	/* def->nfields values; text valid until the next call */
};

int hv_reader_open(struct hv_store *st, const struct hv_filter *f, struct hv_reader **out,
		   struct hv_err *err);
/* 1: *row is the next event; 0: end; <0: error. */
int hv_reader_next(struct hv_reader *rd, const struct hv_row **row, struct hv_err *err);
void hv_reader_close(struct hv_reader *rd);

/* Column name of a field for SQL: the kernel name, or f_<name> when it collides with one of
 * the common columns seq, ts, cpu, pid. Writes into buf. */
const char *hv_store_column_name(const char *field, char *buf, size_t n);
/* CREATE TABLE text for a definition into buf (the same text tracepoints/gen.py writes). */
int hv_store_ddl(const struct hv_event_def *def, char *buf, size_t n);
/* Table name `<system>__<event>` into buf. */
const char *hv_store_table_name(const char *system, const char *event, char *buf, size_t n);

#endif
