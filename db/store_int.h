/*
 * Internals shared by the store's files (store.c: lifecycle, types, facts; store_write.c:
 * buffered inserts; store_read.c: the seq-order merge; store_file.c: placing the file).
 */
#ifndef HV_STORE_INT_H
#define HV_STORE_INT_H

#include <limits.h>
#include <pthread.h>
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

/* Rows of one type on their way to SQLite (store_write.c). */
struct wbatch {
	int type;
	int nrows, cap;			/* rows filled, rows it has room for */
	void *mem;			/* its block of store_write.c BLOCK_BYTES */
	int64_t *ibuf;			/* cap * ncols cells, at the start of mem */
	uint32_t *lbuf;			/* lengths of text/blob cells (same shape, after ibuf); NULL if no text */
	char *tbuf;			/* text arena; a text cell holds its offset here */
	size_t tlen, tcap;
	struct wbatch *next;
};

/* The writer thread: takes full batches in FIFO order and runs their inserts, so that the
 * producer (an importer decoding its input) and SQLite work on two cores. */
struct wthread {
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_idle;
	struct wbatch *head, *tail;
	int qlen;
	struct wbatch *pool;		/* blocks whose rows are written, for any type (under mu) */
	int nblocks;			/* blocks made (producer only) */
	int busy, stop;
	int ready;			/* the thread is up and waiting (see hv_store_writer_start) */
	int rc;				/* first error of the thread */
	struct hv_err err;
};

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
	sqlite3_stmt *ins;		/* INSERT INTO table SELECT * FROM its row source */
	const struct wbatch *vbatch;	/* the batch the row source shows while ins runs */
	int ncols;			/* 4 + nfields */
	struct wbatch *cur;		/* rows being filled by the producer */
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
	struct wthread w;
};

int hv_sql_err(struct hv_store *st, struct hv_err *err, int rc, const char *what);
int hv_store_flush_type(struct hv_store *st, struct store_type *t, struct hv_err *err);
/* Writer thread: start at create; drain before any other use of the connection from the
 * producer's thread; stop before commit or close. */
int hv_store_writer_start(struct hv_store *st, struct hv_err *err);
int hv_store_drain(struct hv_store *st, struct hv_err *err);
void hv_store_writer_stop(struct hv_store *st);
int hv_store_create_table(struct hv_store *st, struct store_type *t, struct hv_err *err);
void hv_store_free_writer(struct store_type *t);
void hv_store_free_pool(struct hv_store *st);	/* the writer's blocks, once no batch is out */
/* The row-source virtual table (store_vtab.c): register the module at create; make a
 * type's row source and its insert statement (t->ins). */
int hv_store_vtab_register(struct hv_store *st, struct hv_err *err);
int hv_store_vtab_insert(struct hv_store *st, struct store_type *t, int type, struct hv_err *err);
/* Whether filter f (NULL: all) lets type through (store_read.c). */
int hv_filter_wants(const struct hv_filter *f, int type);
/* Reading on helper threads (store_read_par.c), behind hv_reader_open when f->threads > 0. */
struct hv_reader_par;
int hv_reader_par_open(struct hv_store *st, const struct hv_filter *f, struct hv_reader_par **out,
		       struct hv_err *err);
int hv_reader_par_next(struct hv_reader_par *rp, const struct hv_row **row, struct hv_err *err);
void hv_reader_par_close(struct hv_reader_par *rp);

#endif
