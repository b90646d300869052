/*
 * Reading a trace in seq order: a k-way merge of one cursor per typed table.
 *
 * Every table is stored in seq order (seq is its INTEGER PRIMARY KEY), so each cursor is a
 * plain rowid scan, filtered in SQL by cpu and time, and nothing is sorted at read time. A
 * binary min-heap on the cursors' current seq yields the next event. Memory is one current
 * row per table, whatever the trace's length. The row handed out stays valid until the next
 * call, which is when its cursor advances.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct cursor {
	sqlite3_stmt *stmt;
	int type;
	uint64_t seq;
	struct hv_value *vals;
};

struct hv_reader {
	struct hv_store *st;
	struct cursor *cur;
	int ncur;
	struct slot {
		uint64_t seq;	/* its cursor's current seq, kept here: no indirection per compare */
		int cur;	/* index into cur */
	} *heap;
	int nheap;
	int last;		/* cursor of the row handed out, -1 before the first */
	struct hv_row row;
	struct hv_reader_par *par;	/* f->threads > 0: the rows come from store_read_par.c */
};

static int cursor_step(struct hv_reader *rd, struct cursor *c, struct hv_err *err)
{
	int rc = sqlite3_step(c->stmt);
	if (rc == SQLITE_ROW) {
		c->seq = (uint64_t)sqlite3_column_int64(c->stmt, 0);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return hv_sql_err(rd->st, err, rc, "reading events");
}

/* Move heap[i] down to its place (a hole moves, the slot is written once). */
static void sift_down(struct hv_reader *rd, int i)
{
	struct slot *h = rd->heap, x = h[i];
	int n = rd->nheap;
	for (;;) {
		int l = 2 * i + 1, m = l;
		if (l >= n)
			break;
		if (l + 1 < n && h[l + 1].seq < h[l].seq)
			m = l + 1;
		if (x.seq <= h[m].seq)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = x;
}

int hv_filter_wants(const struct hv_filter *f, int type)
{
	if (!f || !f->types)
		return 1;
	for (int i = 0; i < f->ntypes; i++)
		if (f->types[i] == type)
			return 1;
	return 0;
}

static int build_query(const struct hv_store *st, int type, const struct hv_filter *f, char *sql, size_t n)
{
	const struct hv_event_def *d = hv_store_type_def(st, type);
	size_t len = (size_t)snprintf(sql, n, "SELECT seq, ts, cpu, pid");
	for (unsigned i = 0; i < d->nfields && len < n; i++)
		len += (size_t)snprintf(sql + len, n - len, ", \"%s\"", d->fields[i].column);
	if (len < n)
		len += (size_t)snprintf(sql + len, n - len, " FROM \"%s\" WHERE 1", hv_store_type_table(st, type));
	if (f && f->cpus && len < n) {
		len += (size_t)snprintf(sql + len, n - len, " AND cpu IN (");
		for (int i = 0; i < f->ncpus && len < n; i++)
			len += (size_t)snprintf(sql + len, n - len, "%s%d", i ? "," : "", f->cpus[i]);
		if (len < n)
			len += (size_t)snprintf(sql + len, n - len, ")");
	}
	if (f && f->has_from && len < n)
		len += (size_t)snprintf(sql + len, n - len, " AND ts >= ?1");
	if (f && f->has_to && len < n)
		len += (size_t)snprintf(sql + len, n - len, " AND ts <= ?2");
	if (f && f->has_seq && len < n)
		len += (size_t)snprintf(sql + len, n - len, " AND seq BETWEEN ?3 AND ?4");
	if (len < n)
		len += (size_t)snprintf(sql + len, n - len, " ORDER BY seq");
	return len < n ? 0 : -1;
}

int hv_reader_open(struct hv_store *st, const struct hv_filter *f, struct hv_reader **out, struct hv_err *err)
{
	*out = NULL;
	struct hv_reader *rd = calloc(1, sizeof *rd);
	if (!rd)
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	rd->st = st;
	rd->last = -1;
	if (f && f->threads > 0) {
		int rc = hv_reader_par_open(st, f, &rd->par, err);
		if (rc < 0) {
			free(rd);
			return rc;
		}
		*out = rd;
		return 0;
	}
	int nt = hv_store_ntypes(st);
	rd->cur = calloc((size_t)(nt ? nt : 1), sizeof *rd->cur);
	rd->heap = calloc((size_t)(nt ? nt : 1), sizeof *rd->heap);
	if (!rd->cur || !rd->heap) {
		hv_reader_close(rd);
		return hv_err_set(err, HV_E_NOMEM, "out of memory");
	}
	char *sql = malloc(65536);
	int rc = sql ? 0 : hv_err_set(err, HV_E_NOMEM, "out of memory");
	for (int t = 0; rc == 0 && t < nt; t++) {
		if (!hv_filter_wants(f, t) || hv_store_type_count(st, t) == 0)
			continue;
		struct cursor *c = &rd->cur[rd->ncur];
		c->type = t;
		c->vals = calloc(hv_store_type_def(st, t)->nfields + 1u, sizeof *c->vals);
		if (!c->vals) {
			rc = hv_err_set(err, HV_E_NOMEM, "out of memory");
			break;
		}
		rd->ncur++;
		if (build_query(st, t, f, sql, 65536) < 0) {
			rc = hv_err_set(err, HV_E_FORMAT, "%s: query too long", hv_store_path(st));
			break;
		}
		int src = sqlite3_prepare_v2(hv_store_sqlite(st), sql, -1, &c->stmt, NULL);
		if (src != SQLITE_OK) {
			rc = hv_sql_err(st, err, src, "reading events");
			break;
		}
		if (f && f->has_from)
			sqlite3_bind_int64(c->stmt, 1, (int64_t)f->from);
		if (f && f->has_to)
			sqlite3_bind_int64(c->stmt, 2, (int64_t)f->to);
		if (f && f->has_seq) {
			sqlite3_bind_int64(c->stmt, 3, (int64_t)f->seq_from);
			sqlite3_bind_int64(c->stmt, 4, (int64_t)f->seq_to);
		}
		int s = cursor_step(rd, c, err);
		if (s < 0)
			rc = s;
		else if (s == 1)
			rd->heap[rd->nheap++] = (struct slot){ c->seq, rd->ncur - 1 };
	}
	free(sql);
	if (rc < 0) {
		hv_reader_close(rd);
		return rc;
	}
	for (int i = rd->nheap / 2 - 1; i >= 0; i--)
		sift_down(rd, i);
	*out = rd;
	return 0;
}

static void fill_row(struct hv_reader *rd, struct cursor *c)
{
	const struct hv_event_def *d = hv_store_type_def(rd->st, c->type);
	sqlite3_stmt *s = c->stmt;
	rd->row.seq = c->seq;
	rd->row.ts = (uint64_t)sqlite3_column_int64(s, 1);
	rd->row.cpu = sqlite3_column_int(s, 2);
	rd->row.pid = sqlite3_column_int(s, 3);
	rd->row.type = c->type;
	rd->row.def = d;
	for (unsigned i = 0; i < d->nfields; i++) {
		int col = 4 + (int)i;
		struct hv_value *v = &c->vals[i];
		if (d->fields[i].kind == HV_FK_INT) {
			/* the common case: one column call (sqlite3_value_* calls are cheaper than
			 * sqlite3_column_*); a 0 may also be NULL or text, so look closer */
			sqlite3_value *sv = sqlite3_column_value(s, col);
			v->p = NULL;
			v->len = 0;
			if ((v->i = sqlite3_value_int64(sv)) != 0 || sqlite3_value_type(sv) == SQLITE_INTEGER)
				continue;
		}
		switch (sqlite3_column_type(s, col)) {
		case SQLITE_TEXT:
			v->p = sqlite3_column_text(s, col);
			v->len = (uint32_t)sqlite3_column_bytes(s, col);
			v->i = 0;
			break;
		case SQLITE_BLOB:
			v->p = sqlite3_column_blob(s, col);
			v->len = (uint32_t)sqlite3_column_bytes(s, col);
			v->i = 0;
			break;
		case SQLITE_NULL:
			v->p = NULL;
			v->len = 0;
			v->i = 0;
			break;
		default:
			v->p = NULL;
			v->len = 0;
			v->i = sqlite3_column_int64(s, col);
		}
	}
	rd->row.v = c->vals;
}

int hv_reader_next(struct hv_reader *rd, const struct hv_row **row, struct hv_err *err)
{
	if (rd->par)
		return hv_reader_par_next(rd->par, row, err);
	if (rd->last >= 0) {
		/* advance the cursor whose row was handed out last; it is at the heap top */
		int s = cursor_step(rd, &rd->cur[rd->last], err);
		if (s < 0)
			return s;
		if (s == 0)
			rd->heap[0] = rd->heap[--rd->nheap];
		else
			rd->heap[0].seq = rd->cur[rd->last].seq;
		sift_down(rd, 0);
		rd->last = -1;
	}
	if (rd->nheap == 0)
		return 0;
	int top = rd->heap[0].cur;
	fill_row(rd, &rd->cur[top]);
	rd->last = top;
	*row = &rd->row;
	return 1;
}

void hv_reader_close(struct hv_reader *rd)
{
	if (!rd)
		return;
	hv_reader_par_close(rd->par);
	for (int i = 0; i < rd->ncur; i++) {
		sqlite3_finalize(rd->cur[i].stmt);
		free(rd->cur[i].vals);
	}
	free(rd->cur);
	free(rd->heap);
	free(rd);
}
