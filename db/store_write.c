/*
 * The store's bulk writer: buffered multi-row prepared inserts.
 *
 * Each event type keeps a buffer of up to rows_per_stmt rows. When it is full, one prepared
 * `INSERT INTO t VALUES (...), (...), ...` statement binds them all and runs once; at commit
 * the remainder goes through a one-row statement. Everything happens inside the transaction
 * opened by hv_store_create, on a database with no journal (the file only becomes visible
 * at commit, so a journal would protect nothing). Rows are appended in seq order, so each
 * table's INTEGER PRIMARY KEY grows monotonically and SQLite appends to the right edge of
 * its b-tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define MAX_ROWS_PER_STMT 128
#define MAX_VARS 32000

void hv_store_free_writer(struct store_type *t)
{
	sqlite3_finalize(t->ins_multi);
	sqlite3_finalize(t->ins_one);
	t->ins_multi = t->ins_one = NULL;
	free(t->ibuf);
	free(t->lbuf);
	free(t->tbuf);
	t->ibuf = NULL;
	t->lbuf = NULL;
	t->tbuf = NULL;
	t->nbuf = 0;
	t->tlen = t->tcap = 0;
}

static int prepare_insert(struct hv_store *st, struct store_type *t, int rows, sqlite3_stmt **out,
			  struct hv_err *err)
{
	size_t cap = strlen(t->table) + 64 + (size_t)rows * ((size_t)t->ncols * 2 + 4);
	char *sql = malloc(cap);
	if (!sql)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
	size_t len = (size_t)snprintf(sql, cap, "INSERT INTO \"%s\" VALUES ", t->table);
	for (int r = 0; r < rows; r++) {
		sql[len++] = r ? ',' : ' ';
		sql[len++] = '(';
		for (int c = 0; c < t->ncols; c++) {
			if (c)
				sql[len++] = ',';
			sql[len++] = '?';
		}
		sql[len++] = ')';
	}
	sql[len] = 0;
	int rc = sqlite3_prepare_v3(st->db, sql, (int)len + 1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : hv_sql_err(st, err, rc, "preparing insert");
}

int hv_store_create_table(struct hv_store *st, struct store_type *t, struct hv_err *err)
{
	int rc = hv_store_exec(st, t->def.ddl, err);
	if (rc < 0)
		return rc;
	t->created = 1;
	return 0;
}

static int init_writer(struct hv_store *st, struct store_type *t, struct hv_err *err)
{
	int rc;
	if (!st->writing)
		return hv_err_set(err, HV_E_USAGE, "%s: the store is not open for writing", st->path);
	if (!t->created && (rc = hv_store_create_table(st, t, err)) < 0)
		return rc;
	t->ncols = 4 + t->def.nfields;
	t->rows_per_stmt = MAX_VARS / t->ncols;
	if (t->rows_per_stmt > MAX_ROWS_PER_STMT)
		t->rows_per_stmt = MAX_ROWS_PER_STMT;
	if (t->rows_per_stmt < 1)
		return hv_err_set(err, HV_E_FORMAT, "%s: %s has too many fields", st->path, t->table);
	t->ibuf = malloc(sizeof(int64_t) * (size_t)t->ncols * (size_t)t->rows_per_stmt);
	if (t->has_text)
		t->lbuf = calloc((size_t)t->ncols * (size_t)t->rows_per_stmt, sizeof(uint32_t));
	if (!t->ibuf || (t->has_text && !t->lbuf))
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
	if ((rc = prepare_insert(st, t, t->rows_per_stmt, &t->ins_multi, err)) < 0 ||
	    (rc = prepare_insert(st, t, 1, &t->ins_one, err)) < 0)
		return rc;
	return 0;
}

static void bind_row(struct store_type *t, sqlite3_stmt *s, int row, int first_param)
{
	const int64_t *cell = t->ibuf + (size_t)row * (size_t)t->ncols;
	int p = first_param;
	for (int c = 0; c < 4; c++)
		sqlite3_bind_int64(s, p++, cell[c]);
	for (unsigned f = 0; f < t->def.nfields; f++, p++) {
		int kind = t->fields[f].kind;
		if (kind == HV_FK_INT) {
			sqlite3_bind_int64(s, p, cell[4 + f]);
			continue;
		}
		uint32_t len = t->lbuf[(size_t)row * (size_t)t->ncols + 4 + f];
		if (len == UINT32_MAX)
			sqlite3_bind_null(s, p);
		else if (kind == HV_FK_STR)
			sqlite3_bind_text(s, p, t->tbuf + cell[4 + f], (int)len, SQLITE_STATIC);
		else
			sqlite3_bind_blob(s, p, t->tbuf + cell[4 + f], (int)len, SQLITE_STATIC);
	}
}

static int run(struct hv_store *st, sqlite3_stmt *s, struct hv_err *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : hv_sql_err(st, err, rc, "insert");
}

int hv_store_flush_type(struct hv_store *st, struct store_type *t, struct hv_err *err)
{
	int rc = 0;
	if (!t->nbuf)
		return 0;
	if (t->nbuf == t->rows_per_stmt) {
		for (int r = 0; r < t->nbuf; r++)
			bind_row(t, t->ins_multi, r, 1 + r * t->ncols);
		rc = run(st, t->ins_multi, err);
	} else {
		for (int r = 0; r < t->nbuf && rc == 0; r++) {
			bind_row(t, t->ins_one, r, 1);
			rc = run(st, t->ins_one, err);
		}
	}
	t->nbuf = 0;
	t->tlen = 0;
	return rc;
}

static int text_append(struct hv_store *st, struct store_type *t, const void *p, size_t len,
		       int64_t *off, struct hv_err *err)
{
	if (t->tlen + len + 1 > t->tcap) {
		size_t cap = t->tcap ? t->tcap : 4096;
		while (cap < t->tlen + len + 1)
			cap *= 2;
		char *n = realloc(t->tbuf, cap);
		if (!n)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
		t->tbuf = n;
		t->tcap = cap;
	}
	memcpy(t->tbuf + t->tlen, p, len);
	*off = (int64_t)t->tlen;
	t->tlen += len;
	t->tbuf[t->tlen++] = 0;
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
	if (!t->ins_multi && init_writer(st, t, err) < 0)
		return NULL;
	if (t->nbuf == t->rows_per_stmt && hv_store_flush_type(st, t, err) < 0)
		return NULL;
	int64_t *c = t->ibuf + (size_t)t->nbuf * (size_t)t->ncols;
	c[0] = (int64_t)++st->seq;
	c[1] = (int64_t)ts;
	c[2] = cpu;
	c[3] = pid;
	*cells = c + 4;
	return t;
}

int hv_store_append_ints(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
			 const int64_t *vals, struct hv_err *err)
{
	int64_t *cells;
	struct store_type *t = row_begin(st, type, ts, cpu, pid, &cells, err);
	if (!t)
		return err ? err->code : HV_E_USAGE;
	if (t->has_text) {
		st->seq--;
		return hv_err_set(err, HV_E_USAGE, "%s: %s has text fields; use hv_store_append", st->path, t->table);
	}
	memcpy(cells, vals, sizeof(int64_t) * t->def.nfields);
	t->nbuf++;
	t->count++;
	st->nevents++;
	return 0;
}

int hv_store_append(struct hv_store *st, int type, uint64_t ts, int32_t cpu, int32_t pid,
		    const struct hv_value *vals, struct hv_err *err)
{
	int64_t *cells;
	struct store_type *t = row_begin(st, type, ts, cpu, pid, &cells, err);
	if (!t)
		return err ? err->code : HV_E_USAGE;
	uint32_t *lens = t->lbuf ? t->lbuf + (size_t)t->nbuf * (size_t)t->ncols + 4 : NULL;
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
		if (text_append(st, t, vals[f].p, len, &cells[f], err) < 0) {
			st->seq--;
			return err ? err->code : HV_E_NOMEM;
		}
		lens[f] = (uint32_t)len;
	}
	t->nbuf++;
	t->count++;
	st->nevents++;
	return 0;
}
