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

#define BATCH_ROWS 1024
/* A type's batches start at BATCH_MIN rows and double, up to BATCH_ROWS, each time one fills
 * within BATCH_FAST events of the trace. A batch's memory is touched row by row, so with
 * 1024-row batches for every type a rare type (a few hundred sched_process_exec over a whole
 * recording) touched more of its batch the longer the recording: peak RSS grew with length
 * (0.2 MB from 5 M to 20 M events). Rare types now keep batches of BATCH_MIN rows. */
#define BATCH_MIN 64
#define BATCH_FAST (1u << 16)
#define MAX_QUEUE 8
/* Spare batches kept per type. More were kept before: each type's free list grew to the most
 * batches of that type ever queued at once, so with many types the writer's memory grew with
 * the length of the import as each type in turn had its moment of lag (+0.5-1 MB steps over
 * a 20 M-event import). Now the batches are bounded by the queue: MAX_QUEUE + 1 in flight,
 * plus one being filled and SPARE_MAX spares per type. */
#define SPARE_MAX 1

/* ---- batches ---- */

static void batch_free(struct wbatch *b)
{
	if (!b)
		return;
	free(b->ibuf);
	free(b->lbuf);
	free(b->tbuf);
	free(b);
}

static struct wbatch *batch_new(const struct store_type *t, int type)
{
	struct wbatch *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->type = type;
	b->cap = t->batch_cap;
	b->ibuf = malloc(sizeof(int64_t) * (size_t)t->ncols * (size_t)b->cap);
	if (t->has_text)
		b->lbuf = calloc((size_t)t->ncols * (size_t)b->cap, sizeof(uint32_t));
	if (!b->ibuf || (t->has_text && !b->lbuf)) {
		batch_free(b);
		return NULL;
	}
	return b;
}

/* A spare batch of this type, or a new one. */
static struct wbatch *batch_get(struct hv_store *st, struct store_type *t, int type)
{
	if (st->w.started)
		pthread_mutex_lock(&st->w.mu);
	struct wbatch *b = t->free;
	if (b) {
		t->free = b->next;
		t->nfree--;
	}
	if (st->w.started)
		pthread_mutex_unlock(&st->w.mu);
	if (b && b->cap != t->batch_cap) {	/* the type's batches grew: a spare of the old size */
		batch_free(b);
		b = NULL;
	}
	if (!b)
		return batch_new(t, type);
	b->nrows = 0;
	b->tlen = 0;
	b->next = NULL;
	return b;
}

void hv_store_free_writer(struct store_type *t)
{
	sqlite3_finalize(t->ins);
	t->ins = NULL;
	batch_free(t->cur);
	t->cur = NULL;
	while (t->free) {
		struct wbatch *n = t->free->next;
		batch_free(t->free);
		t->free = n;
	}
	t->nfree = 0;
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
	if ((rc = hv_store_vtab_insert(st, t, type, err)) < 0)
		return rc;
	if (!t->batch_cap)
		t->batch_cap = BATCH_MIN;
	t->cur = batch_new(t, type);
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
		struct wbatch *surplus = NULL;
		if (t->nfree < SPARE_MAX) {
			b->next = t->free;
			t->free = b;
			t->nfree++;
		} else {
			surplus = b;
		}
		w->busy = 0;
		pthread_cond_broadcast(&w->cv_idle);
		if (surplus) {	/* outside the lock */
			pthread_mutex_unlock(&w->mu);
			batch_free(surplus);
			pthread_mutex_lock(&w->mu);
		}
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
		if (rc == 0 && b->cap != t->batch_cap) {	/* the same batch sizes as with the thread */
			batch_free(b);
			if (!(t->cur = batch_new(t, type)))
				return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
		}
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
	struct wbatch *b = t->cur;
	if (b->nrows == b->cap) {
		if (t->batch_cap < BATCH_ROWS && st->seq - b->first_seq <= BATCH_FAST)
			t->batch_cap *= 2;
		if (submit(st, t, type, err) < 0)
			return NULL;
	}
	if (t->cur->nrows == 0)
		t->cur->first_seq = st->seq;
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
