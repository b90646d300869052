/*
 * Internals shared by the store's files (store.c: lifecycle, types, facts; store_write.c:
 * buffered inserts; store_read.c: the seq-order merge; store_file.c: placing the file).
 */
#ifndef HV_STORE_INT_H
#define HV_STORE_INT_H

#include <limits.h>
#include <sqlite3.h>

#include "hv_store.h"

/* Where a created database lives until commit (store_file.c). */
struct hv_tmpdb {
	char final[PATH_MAX];	/* where it appears at commit */
	char named[PATH_MAX];	/* the name SQLite opened */
	int anon_fd;		/* our handle on the anonymous inode, or -1 */
	int force;
};

int hv_tmpdb_begin(struct hv_tmpdb *t, const char *final, int force, struct hv_err *err);
int hv_tmpdb_adopt(struct hv_tmpdb *t, struct hv_err *err);	/* after sqlite3_open */
int hv_tmpdb_publish(struct hv_tmpdb *t, struct hv_err *err);	/* after sqlite3_close */
void hv_tmpdb_discard(struct hv_tmpdb *t);

struct store_type {
	struct hv_event_def def;	/* deep copy owned by the store (fields, strings) */
	struct hv_field_def *fields;
	char table[192];
	char *source;
	int id;				/* event_type.id */
	int known;			/* index in hv_events, or -1 */
	uint64_t count;
	int created;			/* table exists */
	/* writer */
	sqlite3_stmt *ins_multi, *ins_one;
	int ncols;			/* 4 + nfields */
	int rows_per_stmt;
	int nbuf;
	int64_t *ibuf;			/* rows_per_stmt * ncols cells */
	uint32_t *lbuf;			/* lengths of text/blob cells (same shape), offset in ibuf */
	char *tbuf;			/* text arena for buffered rows */
	size_t tlen, tcap;
	int has_text;
};

struct hv_store {
	sqlite3 *db;
	char path[PATH_MAX];
	int writing;			/* created and not yet committed */
	struct hv_tmpdb tmp;
	struct store_type *types;
	int ntypes, cap_types;
	int *known_map;			/* hv_events index -> type handle, or -1 */
	uint64_t seq;			/* last seq given */
	uint64_t nevents;
	sqlite3_stmt *meta_set, *stat_add, *lost_add, *task_set;
};

int hv_sql_err(struct hv_store *st, struct hv_err *err, int rc, const char *what);
int hv_store_flush_type(struct hv_store *st, struct store_type *t, struct hv_err *err);
int hv_store_create_table(struct hv_store *st, struct store_type *t, struct hv_err *err);
void hv_store_free_writer(struct store_type *t);

#endif
