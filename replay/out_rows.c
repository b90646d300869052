/*
 * Buffered inserts of the replay's output rows (core_run, core_run_vcpu, violation).
 *
 * A single-row INSERT pays SQLite's statement start and halt for every row; that was a
 * seventh of a replay. Rows are kept here (cells copied, text in the batch's own arena) and
 * written RP_ROWS_BATCH at a time by one prepared multi-row `INSERT ... VALUES (..),(..)`;
 * the last partial batch goes through the single-row statement. Rows keep their order, so
 * ids and rowids are the ones single-row inserts gave. Memory: one batch per table.
 * `INSERT OR FAIL`: a multi-row INSERT that may abort needs a statement journal (every page it
 * touches copied to a temp file first: 150 k writes of 64 KiB on a 2.3 M-event replay); one that
 * fails keeps its earlier rows instead, which changes nothing here (any error ends the replay
 * and rolls its savepoint back), and the rows still satisfy the same constraints.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rp_int.h"

enum { CELL_NULL, CELL_INT, CELL_TEXT };

static char *values_sql(const char *into, int ncols, int nrows)
{
	size_t n = strlen(into) + 32 + (size_t)nrows * ((size_t)ncols * 2 + 4);
	char *sql = malloc(n);
	if (!sql)
		return NULL;
	size_t len = (size_t)snprintf(sql, n, "INSERT OR FAIL INTO %s VALUES", into);
	for (int r = 0; r < nrows; r++) {
		len += (size_t)snprintf(sql + len, n - len, "%s(", r ? "," : "");
		for (int c = 0; c < ncols; c++)
			len += (size_t)snprintf(sql + len, n - len, "%s?", c ? "," : "");
		len += (size_t)snprintf(sql + len, n - len, ")");
	}
	return sql;
}

int rp_rows_open(struct rp_rows *r, sqlite3 *db, const char *into, int ncols)
{
	memset(r, 0, sizeof *r);
	r->db = db;
	r->ncols = ncols;
	r->cells = calloc((size_t)ncols * RP_ROWS_BATCH, sizeof *r->cells);
	char *one = values_sql(into, ncols, 1), *many = values_sql(into, ncols, RP_ROWS_BATCH);
	int rc = r->cells && one && many && sqlite3_prepare_v2(db, one, -1, &r->one, NULL) == SQLITE_OK &&
			 sqlite3_prepare_v2(db, many, -1, &r->many, NULL) == SQLITE_OK
		 ? 0 : -1;
	free(one);
	free(many);
	if (rc < 0)
		rp_rows_close(r);
	return rc;
}

void rp_rows_close(struct rp_rows *r)
{
	sqlite3_finalize(r->one);
	sqlite3_finalize(r->many);
	free(r->cells);
	memset(r, 0, sizeof *r);
}

static struct rp_cell *next_cell(struct rp_rows *r)
{
	return &r->cells[r->n * r->ncols + r->col++];
}

void rp_rows_int(struct rp_rows *r, int64_t v)
{
	struct rp_cell *c = next_cell(r);
	c->kind = CELL_INT;
	c->i = v;
}

void rp_rows_null(struct rp_rows *r)
{
	next_cell(r)->kind = CELL_NULL;
}

/* NULL is a NULL cell. Text longer than the arena's room is cut (rp_rows_end keeps
 * RP_ROWS_TEXT free for each row; the callers' texts are bounded far below it). */
void rp_rows_text(struct rp_rows *r, const char *s)
{
	struct rp_cell *c = next_cell(r);
	if (!s) {
		c->kind = CELL_NULL;
		return;
	}
	size_t len = strlen(s), room = sizeof r->arena - r->used;
	if (len > room)
		len = room;
	memcpy(r->arena + r->used, s, len);
	c->kind = CELL_TEXT;
	c->i = (int64_t)r->used;
	c->len = (int)len;
	r->used += len;
}

static void bind_cells(struct rp_rows *r, sqlite3_stmt *s, int row0, int nrows)
{
	for (int k = 0; k < nrows * r->ncols; k++) {
		const struct rp_cell *c = &r->cells[row0 * r->ncols + k];
		if (c->kind == CELL_INT)
			sqlite3_bind_int64(s, k + 1, c->i);
		else if (c->kind == CELL_TEXT)
			sqlite3_bind_text(s, k + 1, r->arena + c->i, c->len, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, k + 1);
	}
}

static int run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int rp_rows_flush(struct rp_rows *r)
{
	int rc = 0;
	if (r->n == RP_ROWS_BATCH) {
		bind_cells(r, r->many, 0, r->n);
		rc = run(r->many);
	} else {
		for (int i = 0; rc == 0 && i < r->n; i++) {
			bind_cells(r, r->one, i, 1);
			rc = run(r->one);
		}
	}
	r->n = 0;
	r->used = 0;
	return rc;
}

/* The current row is complete; a full batch (or a full text arena) is written. */
int rp_rows_end(struct rp_rows *r)
{
	r->col = 0;
	r->n++;
	if (r->n == RP_ROWS_BATCH || r->used + RP_ROWS_TEXT > sizeof r->arena)
		return rp_rows_flush(r);
	return 0;
}
