/*
 * The store writer's row source: a virtual table over one batch of rows.
 *
 * Instead of binding every cell of a multi-row `INSERT ... VALUES (?,..),(?,..)` statement,
 * the writer runs `INSERT INTO "<table>" SELECT * FROM temp."hv_rows_<type>"` once per batch:
 * SQLite pulls each cell straight from the batch's arrays through xColumn, so there is no
 * per-cell bind, no per-row VALUES program and no limit on the rows of a batch. One virtual
 * table per event type lives in the connection's temp schema (never in the file); the batch
 * it shows is the one st->types[type].vbatch points at while the insert runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct rows_vtab {
	sqlite3_vtab base;
	struct hv_store *st;
	int type;
};

struct rows_cursor {
	sqlite3_vtab_cursor base;
	const struct store_type *t;
	const struct wbatch *b;
	int row;
};

static int rows_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
			char **errmsg)
{
	struct hv_store *st = aux;
	int type = argc > 3 ? atoi(argv[3]) : -1;
	if (type < 0 || type >= st->ntypes) {
		*errmsg = sqlite3_mprintf("hv_rows: no event type %s", argc > 3 ? argv[3] : "(none)");
		return SQLITE_ERROR;
	}
	int ncols = st->types[type].ncols;
	char *ddl = malloc((size_t)ncols * 16 + 32);
	if (!ddl)
		return SQLITE_NOMEM;
	size_t len = (size_t)sprintf(ddl, "CREATE TABLE x(");
	for (int c = 0; c < ncols; c++)
		len += (size_t)sprintf(ddl + len, "%sc%d", c ? "," : "", c);
	strcpy(ddl + len, ")");
	int rc = sqlite3_declare_vtab(db, ddl);
	free(ddl);
	if (rc != SQLITE_OK)
		return rc;
	struct rows_vtab *v = sqlite3_malloc(sizeof *v);
	if (!v)
		return SQLITE_NOMEM;
	memset(v, 0, sizeof *v);
	v->st = st;
	v->type = type;
	*out = &v->base;
	return SQLITE_OK;
}

static int rows_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

static int rows_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	(void)v;
	info->estimatedCost = 1.0;
	return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	(void)v;
	struct rows_cursor *c = sqlite3_malloc(sizeof *c);
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof *c);
	*out = &c->base;
	return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

static int rows_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
	(void)idx;
	(void)idxstr;
	(void)argc;
	(void)argv;
	struct rows_cursor *c = (struct rows_cursor *)cur;
	const struct rows_vtab *v = (const struct rows_vtab *)cur->pVtab;
	c->t = &v->st->types[v->type];
	c->b = c->t->vbatch;
	c->row = 0;
	return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *cur)
{
	((struct rows_cursor *)cur)->row++;
	return SQLITE_OK;
}

static int rows_eof(sqlite3_vtab_cursor *cur)
{
	const struct rows_cursor *c = (const struct rows_cursor *)cur;
	return !c->b || c->row >= c->b->nrows;
}

static int rows_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	const struct rows_cursor *c = (const struct rows_cursor *)cur;
	const struct store_type *t = c->t;
	size_t cell = (size_t)c->row * (size_t)t->ncols + (size_t)col;
	int64_t v = c->b->ibuf[cell];
	int kind = col < 4 ? HV_FK_INT : t->fields[col - 4].kind;
	if (kind == HV_FK_INT) {
		sqlite3_result_int64(ctx, v);
		return SQLITE_OK;
	}
	uint32_t len = c->b->lbuf[cell];
	if (len == UINT32_MAX)
		sqlite3_result_null(ctx);
	else if (kind == HV_FK_STR)
		sqlite3_result_text(ctx, c->b->tbuf + v, (int)len, SQLITE_STATIC);
	else
		sqlite3_result_blob(ctx, c->b->tbuf + v, (int)len, SQLITE_STATIC);
	return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = ((const struct rows_cursor *)cur)->row;
	return SQLITE_OK;
}

static const sqlite3_module rows_module = {
	.iVersion = 0,
	.xCreate = rows_connect,
	.xConnect = rows_connect,
	.xBestIndex = rows_best_index,
	.xDisconnect = rows_disconnect,
	.xDestroy = rows_disconnect,
	.xOpen = rows_open,
	.xClose = rows_close,
	.xFilter = rows_filter,
	.xNext = rows_next,
	.xEof = rows_eof,
	.xColumn = rows_column,
	.xRowid = rows_rowid,
};

int hv_store_vtab_register(struct hv_store *st, struct hv_err *err)
{
	int rc = sqlite3_create_module_v2(st->db, "hv_rows", &rows_module, st, NULL);
	return rc == SQLITE_OK ? 0 : hv_sql_err(st, err, rc, "registering the row source");
}

int hv_store_vtab_insert(struct hv_store *st, struct store_type *t, int type, struct hv_err *err)
{
	char sql[512];
	snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE temp.\"hv_rows_%d\" USING hv_rows(%d)", type, type);
	int rc = hv_store_exec(st, sql, err);
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof sql, "INSERT INTO \"%s\" SELECT * FROM temp.\"hv_rows_%d\"", t->table, type);
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &t->ins, NULL);
	return rc == SQLITE_OK ? 0 : hv_sql_err(st, err, rc, "preparing insert");
}
