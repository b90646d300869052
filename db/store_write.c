/*
 * The store's bulk writer: batched inserts, run on a writer thread.
 *
 * Each event type fills a batch of up to BATCH_ROWS rows. A full batch goes to the writer
 * thread's FIFO queue, where one prepared `INSERT INTO t SELECT * FROM temp.hv_rows_<type>`
 * reads all its rows through a virtual table over the batch (store_vtab.c) and runs once;
 * the producer meanwhile fills a fresh batch. So an importer decodes on one core while
 * SQLite inserts on the other. Batches run in the order
 * they were queued, by one thread, so the file's contents do not depend on timing.
 *
 * The producer's thread uses the SQLite connection only after hv_store_drain() has waited
 * for the queue to empty and the thread to go idle (creating a table, writing meta or stats,
 * committing); the two threads never use the connection at the same time. The queue is
 * bounded, so memory does not grow with the input.
 *
 * (HV_STORE_SYNC=1 in the environment runs the batches on the producer's thread instead; a
 * test checks that both give byte-identical files.)
 *
 * Everything happens inside the transaction opened by hv_store_create, on a database with
 * no journal (the file only becomes visible at commit, so a journal would protect nothing).
 * Rows are appended in seq order, so each table's INTEGER PRIMARY KEY grows monotonically and
 * SQLite appends to the right edge of its b-tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Batch memory comes in blocks of BLOCK_BYTES, all alike: a type's batch holds as many rows
 * as its cells fit (at most BATCH_ROWS), whatever its rate. A block is zeroed when it is made,
 * so all of it is resident from then on, and goes back to one pool for every type when its
 * batch has been inserted; blocks are only freed with the store. So the writer's memory is
 * (types being filled + MAX_QUEUE + 1) blocks once the queue has been full, and does not
 * depend on the length of the input, on the order of its events nor on the timing of the two
 * threads. (Before, batches were allocated per type, grew with each type's rate and were freed
 * and allocated again: peak RSS was a few hundred KB higher for a 20 M-event import than for a
 * 5 M-event one.) Batches of a few hundred rows insert as fast as batches of 1024.
 * A block holds a row of 2730 columns; SQLite allows 2000 (SQLITE_MAX_COLUMN). */
#define BLOCK_BYTES (32 * 1024)
#define BATCH_ROWS 1024
#define MAX_QUEUE HV_STORE_QUEUE

/* ---- batches ---- */

static size_t row_bytes(const struct store_type *t)
{
	return (size_t)t->ncols * (sizeof(int64_t) + (t->has_text ? sizeof(uint32_t) : 0));
}

static void batch_free(struct wbatch *b)
{
	if (!b)
		return;
	free(b->mem);
	free(b->tbuf);
	free(b);
}

static struct wbatch *batch_alloc(struct hv_store *st)
{
	struct wbatch *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->mem = malloc(BLOCK_BYTES);
	if (!b->mem) {
		free(b);
		return NULL;
	}
	st->w.nblocks++;
	memset(b->mem, 0, BLOCK_BYTES);	/* resident from now on (calloc would leave fresh pages untouched) */
	return b;
}

/* A block for a batch of type t: from the pool, or a new one; its cells laid out for t. */
static struct wbatch *batch_get(struct hv_store *st, struct store_type *t, int type)
{
	if (st->w.started)
		pthread_mutex_lock(&st->w.mu);
	struct wbatch *b = st->w.pool;
	if (b)
		st->w.pool = b->next;
	if (st->w.started)
		pthread_mutex_unlock(&st->w.mu);
	if (!b && !(b = batch_alloc(st)))
		return NULL;
	size_t cap = BLOCK_BYTES / row_bytes(t);
	b->type = type;
	b->cap = (int)(cap < BATCH_ROWS ? cap : BATCH_ROWS);
	b->ibuf = b->mem;
	b->lbuf = t->has_text ? (uint32_t *)(b->ibuf + (size_t)b->cap * (size_t)t->ncols) : NULL;
	b->nrows = 0;
	b->tlen = 0;
	b->next = NULL;
	return b;
}

/* A batch whose rows are in SQLite: its block back to the pool (caller holds w.mu if started). */
static void batch_put(struct hv_store *st, struct wbatch *b)
{
	b->next = st->w.pool;
	st->w.pool = b;
}

void hv_store_free_writer(struct store_type *t)
{
	sqlite3_finalize(t->ins);
	t->ins = NULL;
	batch_free(t->cur);
	t->cur = NULL;
}

int hv_store_writer_blocks(const struct hv_store *st)
{
	return st->w.nblocks;
}

void hv_store_free_pool(struct hv_store *st)
{
	while (st->w.pool) {
		struct wbatch *n = st->w.pool->next;
		batch_free(st->w.pool);
		st->w.pool = n;
	}
}

/* ---- tables ---- */

int hv_store_create_table(struct hv_store *st, struct store_type *t, struct hv_err *err)
{
	int rc = hv_store_exec(st, t->def.ddl, err);
	if (rc < 0)
		return rc;
	t->created = 1;
	return 0;
}

static int init_writer(struct hv_store *st, struct store_type *t, int type, struct hv_err *err)
{
	int rc;
	if (!st->writing)
		return hv_err_set(err, HV_E_USAGE, "%s: the store is not open for writing", st->path);
	if ((rc = hv_store_drain(st, err)) < 0)
		return rc;
	if (!t->created && (rc = hv_store_create_table(st, t, err)) < 0)
		return rc;
	t->ncols = 4 + t->def.nfields;
	if (row_bytes(t) > BLOCK_BYTES)	/* cannot be: SQLite refused the table */
		return hv_err_set(err, HV_E_USAGE, "%s: %s: %d columns are too many", st->path, t->table, t->ncols);
	if ((rc = hv_store_vtab_insert(st, t, type, err)) < 0)
		return rc;
	t->cur = batch_get(st, t, type);
	if (!t->cur)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
	return 0;
}

/* ---- running a batch (writer thread, or the producer after a drain) ---- */

/* One insert statement takes the whole batch through the row-source virtual table. */
static int run_batch(struct hv_store *st, struct store_type *t, const struct wbatch *b, struct hv_err *err)
{
	t->vbatch = b;
	int rc = sqlite3_step(t->ins);
	sqlite3_reset(t->ins);
	t->vbatch = NULL;
	return rc == SQLITE_DONE ? 0 : hv_sql_err(st, err, rc, "insert");
}

/* ---- the writer thread ---- */

static void *writer_main(void *arg)
{
	struct hv_store *st = arg;
	struct wthread *w = &st->w;
	pthread_mutex_lock(&w->mu);
	w->ready = 1;
	pthread_cond_broadcast(&w->cv_idle);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv_work, &w->mu);
		if (!w->head)
			break;
		struct wbatch *b = w->head;
		w->head = b->next;
		if (!w->head)
			w->tail = NULL;
		w->qlen--;
		w->busy = 1;
		int failed = w->rc < 0;
		pthread_mutex_unlock(&w->mu);
		/* st->types is only reallocated by the producer after a drain, never while busy */
		struct store_type *t = &st->types[b->type];
		struct hv_err err = { 0 };
		int rc = failed ? 0 : run_batch(st, t, b, &err);
		pthread_mutex_lock(&w->mu);
		if (rc < 0 && w->rc == 0) {
			w->rc = rc;
			w->err = err;
		}
		batch_put(st, b);
		w->busy = 0;
		/* A producer waiting on a full queue is woken when half of it is done, not at
		 * each batch: a context switch per batch cost 5-10% of an import's time. */
		if (w->qlen <= MAX_QUEUE / 2 || w->rc < 0)
			pthread_cond_broadcast(&w->cv_idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int hv_store_writer_start(struct hv_store *st, struct hv_err *err)
{
	struct wthread *w = &st->w;
	if (getenv("HV_STORE_SYNC"))
		return 0;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_idle, NULL);
	if (pthread_create(&w->th, NULL, writer_main, st) != 0)
		return hv_err_set(err, HV_E_NOMEM, "%s: cannot start the writer thread", st->path);
	w->started = 1;
	/* wait until the thread is idle: an importer may fork next (import_tracedat.c's guard),
	 * and a thread still setting itself up can hold the allocator's locks (seen under ASan:
	 * the child hung in malloc) */
	pthread_mutex_lock(&w->mu);
	while (!w->ready)
		pthread_cond_wait(&w->cv_idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static int thread_error(struct hv_store *st, struct hv_err *err)
{
	if (st->w.rc < 0 && err)
		*err = st->w.err;
	return st->w.rc;
}

int hv_store_drain(struct hv_store *st, struct hv_err *err)
{
	struct wthread *w = &st->w;
	if (!w->started)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->cv_idle, &w->mu);
	int rc = thread_error(st, err);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void hv_store_writer_stop(struct hv_store *st)
{
	struct wthread *w = &st->w;
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	/* batches left in the queue (a store closed without commit) are dropped */
	while (w->head) {
		struct wbatch *b = w->head;
		w->head = b->next;
		batch_free(b);
	}
	w->tail = NULL;
	w->qlen = 0;
	w->started = 0;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_idle);
}

/* Hand the type's full batch to the writer thread and start a fresh one. */
static int submit(struct hv_store *st, struct store_type *t, int type, struct hv_err *err)
{
	struct wthread *w = &st->w;
	struct wbatch *b = t->cur;
	if (!w->started) {	/* no writer thread: run it here */
		int rc = run_batch(st, t, b, err);
		b->nrows = 0;
		b->tlen = 0;
		return rc;
	}
	pthread_mutex_lock(&w->mu);
	while (w->qlen >= MAX_QUEUE && w->rc == 0)
		pthread_cond_wait(&w->cv_idle, &w->mu);
	int rc = thread_error(st, err);
	if (rc == 0) {
		b->next = NULL;
		if (w->tail)
			w->tail->next = b;
		else
			w->head = b;
		w->tail = b;
		w->qlen++;
		pthread_cond_signal(&w->cv_work);
	}
	pthread_mutex_unlock(&w->mu);
	if (rc < 0)
		return rc;
	t->cur = batch_get(st, t, type);
	return t->cur ? 0 : hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
}

/* Write the type's partial batch now (at commit, after a drain). */
int hv_store_flush_type(struct hv_store *st, struct store_type *t, struct hv_err *err)
{
	if (!t->cur || !t->cur->nrows)
		return 0;
	int rc = run_batch(st, t, t->cur, err);
	t->cur->nrows = 0;
	t->cur->tlen = 0;
	return rc;
}

/* ---- appending ---- */

static int text_append(struct hv_store *st, struct wbatch *b, const void *p, size_t len, int64_t *off,
		       struct hv_err *err)
{
	if (b->tlen + len + 1 > b->tcap) {
		size_t cap = b->tcap ? b->tcap : 4096;
		while (cap < b->tlen + len + 1)
			cap *= 2;
		char *n = realloc(b->tbuf, cap);
		if (!n)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
		b->tbuf = n;
		b->tcap = cap;
	}
	memcpy(b->tbuf + b->tlen, p, len);
	*off = (int64_t)b->tlen;
	b->tlen += len;
	b->tbuf[b->tlen++] = 0;
	return 0;
}

static struct store_type *row_begin(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
				    int64_t **cells, struct hv_err *err)
{
	if (type < 0 || type >= st->ntypes) {
		hv_err_set(err, HV_E_USAGE, "%s: no event type %d", st->path, type);
		return NULL;
	}
	struct store_type *t = &st->types[type];
	if (!t->cur && init_writer(st, t, type, err) < 0)
		return NULL;
	if (t->cur->nrows == t->cur->cap && submit(st, t, type, err) < 0)
		return NULL;
	int64_t *c = t->cur->ibuf + (size_t)t->cur->nrows * (size_t)t->ncols;
	c[0] = (int64_t)(st->seq + 1);
	c[1] = (int64_t)ts;
	c[2] = cpu;
	c[3] = pid;
	*cells = c + 4;
	return t;
}

static void row_end(struct hv_store *st, struct store_type *t)
{
	t->cur->nrows++;
	t->count++;
	st->seq++;
	st->nevents++;
}

int hv_store_append_ints(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
			 const int64_t *vals, struct hv_err *err)
{
	int64_t *cells;
	struct store_type *t = row_begin(st, type, ts, cpu, pid, &cells, err);
	if (!t)
		return err ? err->code : HV_E_USAGE;
	if (t->has_text)
		return hv_err_set(err, HV_E_USAGE, "%s: %s has text fields; use hv_store_append", st->path, t->table);
	memcpy(cells, vals, sizeof(int64_t) * t->def.nfields);
	row_end(st, t);
	return 0;
}

int hv_store_append(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
		    const struct hv_value *vals, struct hv_err *err)
{
	int64_t *cells;
	struct store_type *t = row_begin(st, type, ts, cpu, pid, &cells, err);
	if (!t)
		return err ? err->code : HV_E_USAGE;
	struct wbatch *b = t->cur;
	uint32_t *lens = b->lbuf ? b->lbuf + (size_t)b->nrows * (size_t)t->ncols + 4 : NULL;
	for (unsigned f = 0; f < t->def.nfields; f++) {
		const struct hv_field_def *fd = &t->fields[f];
		if (fd->kind == HV_FK_INT) {
			cells[f] = vals[f].i;
			continue;
		}
		if (!vals[f].p) {
			lens[f] = UINT32_MAX;	/* NULL */
			continue;
		}
		size_t len = vals[f].len;
		if (fd->kind == HV_FK_STR)
			len = strnlen(vals[f].p, len);
		if (text_append(st, b, vals[f].p, len, &cells[f], err) < 0)
			return err ? err->code : HV_E_NOMEM;
		lens[f] = (uint32_t)len;
	}
	row_end(st, t);
	return 0;
}
