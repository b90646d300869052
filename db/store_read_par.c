/*
 * Reading a trace in seq order on helper threads (hv_filter.threads > 0).
 *
 * Stepping SQLite's cursors and fetching columns is most of a replay's time, and the
 * monitors need only one core. So the event tables are shared out among N producer threads,
 * each with its own read-only connection and its own store_read.c merge over its tables; a
 * producer copies rows into blocks of BLK_ROWS (values, and text in a per-block arena) and
 * hands full blocks over through a ring of NBLK. The caller's thread merges the producers'
 * streams by seq (N is small: a linear minimum). A row stays valid until the next call, as
 * with the plain reader.
 *
 * Memory: N x NBLK blocks, whatever the trace's length. Locking: the producers hold SHARED
 * locks on the file while they read; the caller's connection may write meanwhile only what
 * fits in its page cache (see hv_filter.threads), and commits after hv_reader_close.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define BLK_ROWS 2048
#define NBLK 4
#define BLK_BYTES 65536
#define BLK_VALS_PER_ROW 8	/* values room per row on average (a block ends when it is full) */
#define PAR_CACHE_KB "2048"
#define MAX_PRODUCERS 64

struct blk {
	struct hv_row *rows;
	struct hv_value *vals;	/* the rows' values one after the other (vcap of them) */
	size_t nvals, vcap;
	unsigned char *bytes;	/* text and blob values of the block's rows */
	size_t nbytes, cap;
	int n;
};

struct producer {
	pthread_t th;
	int started;
	struct hv_store *st;	/* own read-only connection */
	struct hv_reader *rd;	/* plain reader over this producer's tables */
	int *types;		/* its types (the same handles in both stores: checked) */
	int ntypes;
	unsigned maxnf;
	struct blk blk[NBLK];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int head, count;	/* filled blocks: blk[head] .. blk[head + count - 1] */
	int done, stop;		/* done: no more blocks will come; stop: the consumer left */
	int rc;
	struct hv_err err;
	int pos;		/* consumer: next row in blk[head] */
	int holding;		/* consumer: blk[head] is filled and its own (seen under the lock) */
};

struct hv_reader_par {
	struct hv_store *st;	/* the caller's store: its event definitions */
	struct producer *p;
	int np;
	int last;		/* producer of the row handed out, -1 before the first */
	struct hv_row row;
};

static int blk_alloc(struct blk *b, unsigned maxnf)
{
	b->rows = malloc(BLK_ROWS * sizeof *b->rows);
	/* values packed: a row slot of maxnf values (30 for kvmhv_core_plan) made the block
	 * 1.5 MB and every row a cache miss for the merging thread (76% of its decode time) */
	b->vcap = (size_t)BLK_ROWS * BLK_VALS_PER_ROW;
	if (b->vcap < maxnf)
		b->vcap = maxnf;
	b->vals = malloc(b->vcap * sizeof *b->vals);
	b->bytes = malloc(BLK_BYTES);
	b->cap = BLK_BYTES;
	return b->rows && b->vals && b->bytes ? 0 : -1;
}

static void blk_free(struct blk *b)
{
	free(b->rows);
	free(b->vals);
	free(b->bytes);
}

/* Text and blob bytes of row r: the room they need in the block's arena. */
static size_t row_bytes(const struct hv_row *r)
{
	size_t n = 0;
	for (unsigned i = 0; i < r->def->nfields; i++)
		if (r->v[i].p)
			n += r->v[i].len + 1u;
	return n;
}

/* Copy r into b. 1: copied; 0: its values or text do not fit (the block has rows: hand it
 * over); <0: out of memory. */
static int blk_add(struct blk *b, const struct hv_row *r)
{
	size_t need = row_bytes(r);
	if (b->nvals + r->def->nfields > b->vcap)
		return 0;	/* vcap >= any row's fields: an empty block takes it */
	if (b->nbytes + need > b->cap) {
		if (b->n)
			return 0;
		unsigned char *nb = realloc(b->bytes, need);	/* empty block: nothing points into it */
		if (!nb)
			return -1;
		b->bytes = nb;
		b->cap = need;
	}
	struct hv_row *o = &b->rows[b->n];
	struct hv_value *v = b->vals + b->nvals;
	b->nvals += r->def->nfields;
	*o = *r;
	o->v = v;
	for (unsigned i = 0; i < r->def->nfields; i++) {
		v[i] = r->v[i];
		if (r->v[i].p) {
			unsigned char *d = b->bytes + b->nbytes;
			memcpy(d, r->v[i].p, r->v[i].len);
			d[r->v[i].len] = 0;
			v[i].p = d;
			b->nbytes += r->v[i].len + 1u;
		}
	}
	b->n++;
	return 1;
}

/* Fill one block from the plain reader. Returns 1 (more may come), 0 (end), <0 error. A row
 * that did not fit is kept in *pend for the next block. */
static int fill(struct producer *p, struct blk *b, const struct hv_row **pend)
{
	b->n = 0;
	b->nbytes = 0;
	b->nvals = 0;
	while (b->n < BLK_ROWS) {
		const struct hv_row *r = *pend;
		if (!r) {
			int rc = hv_reader_next(p->rd, &r, &p->err);
			if (rc <= 0)
				return rc;
		}
		int a = blk_add(b, r);
		if (a < 0)
			return hv_err_set(&p->err, HV_E_NOMEM, "out of memory");
		*pend = a ? NULL : r;
		if (!a)
			return 1;
	}
	return 1;
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	const struct hv_row *pend = NULL;
	for (int more = 1; more > 0;) {
		pthread_mutex_lock(&p->mu);
		while (p->count == NBLK && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		int stop = p->stop;
		struct blk *b = &p->blk[(p->head + p->count) % NBLK];
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		more = fill(p, b, &pend);	/* the block is the producer's until it is counted */
		pthread_mutex_lock(&p->mu);
		if (b->n)
			p->count++;
		if (more <= 0) {
			p->done = 1;
			p->rc = more;
		}
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

/* The consumer is done with blk[head]: give it back. */
static void release_head(struct producer *p)
{
	pthread_mutex_lock(&p->mu);
	p->head = (p->head + 1) % NBLK;
	p->count--;
	p->pos = 0;
	p->holding = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* The producer's next row, waiting for it: 1 there is one, 0 its stream ended, <0 its error. */
static int head_row(struct producer *p, const struct hv_row **r)
{
	if (p->holding) {	/* no lock: the producer does not touch a counted block */
		*r = &p->blk[p->head].rows[p->pos];
		return 1;
	}
	pthread_mutex_lock(&p->mu);
	while (p->count == 0 && !p->done)
		pthread_cond_wait(&p->cv, &p->mu);
	int have = p->count > 0, rc = p->rc;
	pthread_mutex_unlock(&p->mu);
	if (!have)
		return rc < 0 ? rc : 0;
	p->holding = 1;
	*r = &p->blk[p->head].rows[p->pos];
	return 1;
}

/* Share the tables out: largest first, each to the producer with the fewest rows so far.
 * Sorts types (the caller's list) in place. */
static void share_out(struct hv_reader_par *rp, int *types, int nt)
{
	uint64_t load[MAX_PRODUCERS] = { 0 };
	for (int i = 1; i < nt; i++)	/* insertion sort by count, descending (nt is small) */
		for (int j = i; j > 0 && hv_store_type_count(rp->st, types[j]) > hv_store_type_count(rp->st, types[j - 1]); j--) {
			int t = types[j];
			types[j] = types[j - 1];
			types[j - 1] = t;
		}
	for (int i = 0; i < nt; i++) {
		int best = 0;
		for (int k = 1; k < rp->np; k++)
			if (load[k] < load[best])
				best = k;
		load[best] += hv_store_type_count(rp->st, types[i]);
		rp->p[best].types[rp->p[best].ntypes++] = types[i];
	}
}

static int start_producer(struct hv_reader_par *rp, struct producer *p, const struct hv_filter *f, struct hv_err *err)
{
	int rc = hv_store_open(hv_store_path(rp->st), 0, &p->st, err);
	if (rc < 0)
		return rc;
	/* 2 MB: with half the cursors each, 2, 4, 8 and 16 MB measured the same (within this
	 * machine's noise); 16 MB per producer only filled up with pages read once (44 MB peak) */
	sqlite3_exec(hv_store_sqlite(p->st), "PRAGMA cache_size=-" PAR_CACHE_KB, NULL, NULL, NULL);
	for (int i = 0; i < p->ntypes; i++) {	/* the same file, so the same handles */
		const struct hv_event_def *d = hv_store_type_def(rp->st, p->types[i]);
		if (hv_store_find_type(p->st, d->system, d->name) != p->types[i])
			return hv_err_set(err, HV_E_FORMAT, "%s: event table %s:%s changed while reading",
					  hv_store_path(rp->st), d->system, d->name);
		if (d->nfields > p->maxnf)
			p->maxnf = d->nfields;
	}
	struct hv_filter pf = *f;
	pf.types = p->types;
	pf.ntypes = p->ntypes;
	pf.threads = 0;
	if ((rc = hv_reader_open(p->st, &pf, &p->rd, err)) < 0)
		return rc;
	for (int i = 0; i < NBLK; i++)
		if (blk_alloc(&p->blk[i], p->maxnf) < 0)
			return hv_err_set(err, HV_E_NOMEM, "out of memory");
	if (pthread_create(&p->th, NULL, produce, p) != 0)
		return hv_err_set(err, HV_E_NOMEM, "%s: cannot start a reader thread", hv_store_path(rp->st));
	p->started = 1;
	return 0;
}

void hv_reader_par_close(struct hv_reader_par *rp)
{
	if (!rp)
		return;
	for (int i = 0; i < rp->np; i++) {
		struct producer *p = &rp->p[i];
		if (p->started) {
			pthread_mutex_lock(&p->mu);
			p->stop = 1;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
			pthread_join(p->th, NULL);
		}
		hv_reader_close(p->rd);
		hv_store_close(p->st);
		for (int b = 0; b < NBLK; b++)
			blk_free(&p->blk[b]);
		free(p->types);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(rp->p);
	free(rp);
}

int hv_reader_par_open(struct hv_store *st, const struct hv_filter *f, struct hv_reader_par **out, struct hv_err *err)
{
	*out = NULL;
	int nt = hv_store_ntypes(st), nw = 0;
	int *want = malloc((size_t)(nt ? nt : 1) * sizeof *want);
	struct hv_reader_par *rp = calloc(1, sizeof *rp);
	if (!want || !rp) {
		free(want);
		free(rp);
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	}
	for (int t = 0; t < nt; t++)
		if (hv_filter_wants(f, t) && hv_store_type_count(st, t) > 0)
			want[nw++] = t;
	rp->st = st;
	rp->last = -1;
	rp->np = f->threads < nw ? f->threads : nw;
	if (rp->np > MAX_PRODUCERS)
		rp->np = MAX_PRODUCERS;
	rp->p = calloc((size_t)(rp->np ? rp->np : 1), sizeof *rp->p);
	int rc = rp->p ? 0 : hv_err_set(err, HV_E_NOMEM, "out of memory");
	for (int i = 0; rc == 0 && i < rp->np; i++) {	/* each set up whole: close undoes it */
		pthread_mutex_init(&rp->p[i].mu, NULL);
		pthread_cond_init(&rp->p[i].cv, NULL);
		if (!(rp->p[i].types = malloc((size_t)nw * sizeof *rp->p[i].types))) {
			rp->np = i + 1;
			rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
		}
	}
	if (rc == 0)
		share_out(rp, want, nw);
	free(want);
	for (int i = 0; rc == 0 && i < rp->np; i++)
		rc = start_producer(rp, &rp->p[i], f, err);
	if (rc < 0) {
		hv_reader_par_close(rp);
		return rc;
	}
	*out = rp;
	return 0;
}

int hv_reader_par_next(struct hv_reader_par *rp, const struct hv_row **row, struct hv_err *err)
{
	if (rp->last >= 0) {
		struct producer *p = &rp->p[rp->last];
		if (++p->pos == p->blk[p->head].n)
			release_head(p);
		rp->last = -1;
	}
	const struct hv_row *best = NULL;
	for (int i = 0; i < rp->np; i++) {
		const struct hv_row *r;
		int rc = head_row(&rp->p[i], &r);
		if (rc < 0) {
			*err = rp->p[i].err;
			return rc;
		}
		if (rc == 1 && (!best || r->seq < best->seq)) {
			best = r;
			rp->last = i;
		}
	}
	if (!best)
		return 0;
	rp->row = *best;
	rp->row.def = hv_store_type_def(rp->st, best->type);
	*row = &rp->row;
	return 1;
}
