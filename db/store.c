/*
 * The hvtrace store: lifecycle, event types and facts (meta, lost, stats, task).
 *
 * A store is created (hv_store_create), filled in trace order (store_write.c), and committed
 * (hv_store_commit), which finishes the file and links it into place (store_file.c); or it
 * is opened (hv_store_open) and read (store_read.c). Event types are registered lazily: a
 * known event's table is created on first use with the generated DDL, an event known only
 * from a format gets a table built from that format (hv_store_ddl, the same rules as
 * tracepoints/gen.py), and at commit every known table that saw no event is created empty
 * so that queries never meet a missing table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hv_events.h"
#include "store_int.h"

#define HV_VERSION "0.1"

static const char *const fixed_schema =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE event_type(id INTEGER PRIMARY KEY, system TEXT NOT NULL, name TEXT NOT NULL,"
	" tbl TEXT NOT NULL UNIQUE, source TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER, ftrace_id INTEGER, print_fmt TEXT, format TEXT, UNIQUE(system, name));"
	"CREATE TABLE event_field(type_id INTEGER NOT NULL, pos INTEGER NOT NULL, name TEXT NOT NULL,"
	" col TEXT NOT NULL, ctype TEXT NOT NULL, offset INTEGER NOT NULL, size INTEGER NOT NULL,"
	" signed INTEGER NOT NULL, kind TEXT NOT NULL, is_long INTEGER NOT NULL,"
	" PRIMARY KEY(type_id, pos));"
	"CREATE TABLE lost(id INTEGER PRIMARY KEY, cpu INTEGER, ts_from INTEGER, ts_to INTEGER,"
	" count INTEGER NOT NULL, source TEXT);"
	"CREATE TABLE stats(key TEXT PRIMARY KEY, value INTEGER NOT NULL, detail TEXT);"
	"CREATE TABLE task(pid INTEGER PRIMARY KEY, tgid INTEGER, comm TEXT, ts INTEGER);";

int hv_err_set(struct hv_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int hv_sql_err(struct hv_store *st, struct hv_err *err, int rc, const char *what)
{
	int code = HV_E_SQL;
	if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
		code = HV_E_NOTDB;
	else if (rc == SQLITE_NOMEM)
		code = HV_E_NOMEM;
	else if (rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN)
		code = HV_E_IO;
	return hv_err_set(err, code, "%s: %s: %s", st->path, what,
			  st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
}

int hv_store_exec(struct hv_store *st, const char *sql, struct hv_err *err)
{
	int rc = hv_store_drain(st, err);
	if (rc < 0)
		return rc;
	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : hv_sql_err(st, err, rc, "query failed");
}

const char *hv_store_column_name(const char *field, char *buf, size_t n)
{
	static const char *const common[] = { "seq", "ts", "cpu", "pid" };
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(field, common[i]) == 0) {
			snprintf(buf, n, "f_%s", field);
			return buf;
		}
	snprintf(buf, n, "%s", field);
	return buf;
}

const char *hv_store_table_name(const char *system, const char *event, char *buf, size_t n)
{
	snprintf(buf, n, "%s__%s", system, event);
	return buf;
}

static int has_quote(const char *s)
{
	return strchr(s, '"') != NULL;
}

int hv_store_ddl(const struct hv_event_def *def, char *buf, size_t n)
{
	char tbl[192], col[160];
	size_t len;
	if (has_quote(def->system) || has_quote(def->name))
		return HV_E_FORMAT;
	hv_store_table_name(def->system, def->name, tbl, sizeof tbl);
	len = (size_t)snprintf(buf, n, "CREATE TABLE \"%s\" (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
			       " cpu INTEGER NOT NULL, pid INTEGER NOT NULL", tbl);
	for (unsigned i = 0; i < def->nfields && len < n; i++) {
		const struct hv_field_def *f = &def->fields[i];
		const char *type = f->kind == HV_FK_INT ? "INTEGER" : f->kind == HV_FK_STR ? "TEXT" : "BLOB";
		if (has_quote(f->name))
			return HV_E_FORMAT;
		len += (size_t)snprintf(buf + len, n - len, ", \"%s\" %s",
					hv_store_column_name(f->name, col, sizeof col), type);
	}
	if (len < n)
		len += (size_t)snprintf(buf + len, n - len, ")");
	return len < n ? 0 : HV_E_FORMAT;
}

/* ---- types ---- */

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static void free_type(struct store_type *t)
{
	hv_store_free_writer(t);
	for (unsigned i = 0; i < t->def.nfields; i++) {
		free((char *)t->fields[i].name);
		free((char *)t->fields[i].column);
		free((char *)t->fields[i].ctype);
	}
	free(t->fields);
	free((char *)t->def.system);
	free((char *)t->def.name);
	free((char *)t->def.print_fmt);
	free((char *)t->def.format);
	free((char *)t->def.ddl);
	free((char *)t->def.doc);
	free(t->source);
}

/* Append a deep copy of def; returns the handle. */
static int push_type(struct hv_store *st, const struct hv_event_def *def, const char *source,
		     int known, struct hv_err *err)
{
	char col[160], ddl[16384];
	int drc = hv_store_drain(st, err);	/* the writer thread reads st->types */
	if (drc < 0)
		return drc;
	if (st->ntypes == st->cap_types) {
		int cap = st->cap_types ? st->cap_types * 2 : 32;
		void *p = realloc(st->types, (size_t)cap * sizeof *st->types);
		if (!p)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
		st->types = p;
		st->cap_types = cap;
	}
	if (hv_store_ddl(def, ddl, sizeof ddl) < 0)
		return hv_err_set(err, HV_E_FORMAT, "%s: event %s:%s cannot be stored (bad names or too many fields)",
				  st->path, def->system, def->name);
	struct store_type *t = &st->types[st->ntypes];
	memset(t, 0, sizeof *t);
	t->fields = calloc(def->nfields ? def->nfields : 1, sizeof *t->fields);
	if (!t->fields)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", st->path);
	t->def = *def;
	t->def.system = xstrdup(def->system);
	t->def.name = xstrdup(def->name);
	t->def.print_fmt = xstrdup(def->print_fmt);
	t->def.format = xstrdup(def->format);
	t->def.ddl = xstrdup(ddl);
	t->def.doc = xstrdup(def->doc);
	for (unsigned i = 0; i < def->nfields; i++) {
		t->fields[i] = def->fields[i];
		t->fields[i].name = xstrdup(def->fields[i].name);
		t->fields[i].column = xstrdup(hv_store_column_name(def->fields[i].name, col, sizeof col));
		t->fields[i].ctype = xstrdup(def->fields[i].ctype);
		if (def->fields[i].kind != HV_FK_INT)
			t->has_text = 1;
	}
	t->def.fields = t->fields;
	t->source = xstrdup(source);
	t->known = known;
	t->id = st->ntypes + 1;
	hv_store_table_name(def->system, def->name, t->table, sizeof t->table);
	return st->ntypes++;
}

static int same_layout(const struct hv_event_def *a, const struct hv_event_def *b)
{
	if (a->nfields != b->nfields)
		return 0;
	for (unsigned i = 0; i < a->nfields; i++) {
		const struct hv_field_def *x = &a->fields[i], *y = &b->fields[i];
		if (strcmp(x->name, y->name) || x->size != y->size || x->is_signed != y->is_signed ||
		    x->kind != y->kind || x->offset != y->offset)
			return 0;
	}
	return 1;
}

int hv_store_find_type(const struct hv_store *st, const char *system, const char *name)
{
	for (int i = 0; i < st->ntypes; i++)
		if (strcmp(st->types[i].def.name, name) == 0 && (!system || strcmp(st->types[i].def.system, system) == 0))
			return i;
	return -1;
}

int hv_store_known(struct hv_store *st, int id, struct hv_err *err)
{
	if (id < 0 || id >= HV_EV_COUNT)
		return hv_err_set(err, HV_E_USAGE, "%s: no known event %d", st->path, id);
	if (st->known_map[id] >= 0)
		return st->known_map[id];
	int h = hv_store_find_type(st, hv_events[id].system, hv_events[id].name);
	if (h >= 0)
		return h;	/* registered from a differing format: use that */
	h = push_type(st, &hv_events[id], "schema", id, err);
	if (h >= 0)
		st->known_map[id] = h;
	return h;
}

int hv_store_add_type(struct hv_store *st, const struct hv_event_def *def, const char *source,
		      struct hv_err *err)
{
	int h = hv_store_find_type(st, def->system, def->name);
	if (h >= 0) {
		if (same_layout(&st->types[h].def, def))
			return h;
		return hv_err_set(err, HV_E_FORMAT, "%s: event %s:%s registered twice with different fields",
				  st->path, def->system, def->name);
	}
	const struct hv_event_def *k = hv_event_find(def->system, def->name);
	if (k && same_layout(k, def))
		return hv_store_known(st, hv_event_index(k), err);
	h = push_type(st, def, source, -1, err);
	if (h >= 0 && k) {
		char key[256];
		snprintf(key, sizeof key, "format_differs:%s:%s", def->system, def->name);
		int rc = hv_store_stat_add(st, key, 1, "fields differ from hvtrace's definition; table built from the file's format", err);
		if (rc < 0)
			return rc;
	}
	return h;
}

int hv_store_ntypes(const struct hv_store *st)
{
	return st->ntypes;
}

const struct hv_event_def *hv_store_type_def(const struct hv_store *st, int type)
{
	return type >= 0 && type < st->ntypes ? &st->types[type].def : NULL;
}

const char *hv_store_type_table(const struct hv_store *st, int type)
{
	return type >= 0 && type < st->ntypes ? st->types[type].table : NULL;
}

uint64_t hv_store_type_count(const struct hv_store *st, int type)
{
	return type >= 0 && type < st->ntypes ? st->types[type].count : 0;
}

struct sqlite3 *hv_store_sqlite(struct hv_store *st)
{
	return st->db;
}

const char *hv_store_path(const struct hv_store *st)
{
	return st->path;
}

uint64_t hv_store_last_seq(const struct hv_store *st)
{
	return st->seq;
}

uint64_t hv_store_nevents(const struct hv_store *st)
{
	return st->nevents;
}

/* ---- facts ---- */

/* Prepare once; and since the caller is about to use the connection, let the writer thread
 * finish first. */
static int prep(struct hv_store *st, sqlite3_stmt **s, const char *sql, struct hv_err *err)
{
	int rc = hv_store_drain(st, err);
	if (rc < 0 || *s)
		return rc;
	rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);
	return rc == SQLITE_OK ? 0 : hv_sql_err(st, err, rc, "prepare");
}

static int step_reset(struct hv_store *st, sqlite3_stmt *s, struct hv_err *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : hv_sql_err(st, err, rc, "write");
}

int hv_store_set_meta(struct hv_store *st, const char *key, const char *value, struct hv_err *err)
{
	int rc = prep(st, &st->meta_set, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", err);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st->meta_set, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st->meta_set, 2, value ? value : "", -1, SQLITE_TRANSIENT);
	return step_reset(st, st->meta_set, err);
}

int hv_store_get_meta(struct hv_store *st, const char *key, char *buf, size_t n, struct hv_err *err)
{
	sqlite3_stmt *s;
	int rc = hv_store_drain(st, err);
	if (rc < 0)
		return rc;
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return hv_sql_err(st, err, rc, "reading meta");
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	int found = 0;
	if (rc == SQLITE_ROW) {
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(s, 0));
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = hv_sql_err(st, err, rc, "reading meta");
	}
	sqlite3_finalize(s);
	return found;
}

int hv_store_add_lost(struct hv_store *st, int32_t cpu, uint64_t from, uint64_t to, uint64_t count,
		      const char *source, struct hv_err *err)
{
	int rc = prep(st, &st->lost_add, "INSERT INTO lost(cpu, ts_from, ts_to, count, source) VALUES(?, ?, ?, ?, ?)", err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int(st->lost_add, 1, cpu);
	sqlite3_bind_int64(st->lost_add, 2, (int64_t)from);
	sqlite3_bind_int64(st->lost_add, 3, (int64_t)to);
	sqlite3_bind_int64(st->lost_add, 4, (int64_t)count);
	sqlite3_bind_text(st->lost_add, 5, source ? source : "", -1, SQLITE_TRANSIENT);
	return step_reset(st, st->lost_add, err);
}

int hv_store_stat_add(struct hv_store *st, const char *key, int64_t delta, const char *detail,
		      struct hv_err *err)
{
	int rc = prep(st, &st->stat_add,
		      "INSERT INTO stats(key, value, detail) VALUES(?1, ?2, ?3) ON CONFLICT(key) DO UPDATE"
		      " SET value = value + ?2, detail = coalesce(?3, detail)", err);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st->stat_add, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st->stat_add, 2, delta);
	if (detail)
		sqlite3_bind_text(st->stat_add, 3, detail, -1, SQLITE_TRANSIENT);
	return step_reset(st, st->stat_add, err);
}

int hv_store_set_task(struct hv_store *st, int32_t pid, int32_t tgid, const char *comm, uint64_t ts,
		      struct hv_err *err)
{
	int rc = prep(st, &st->task_set, "INSERT OR REPLACE INTO task(pid, tgid, comm, ts) VALUES(?, ?, ?, ?)", err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int(st->task_set, 1, pid);
	sqlite3_bind_int(st->task_set, 2, tgid);
	sqlite3_bind_text(st->task_set, 3, comm ? comm : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st->task_set, 4, (int64_t)ts);
	return step_reset(st, st->task_set, err);
}

/* ---- lifecycle ---- */

static struct hv_store *store_alloc(const char *path)
{
	struct hv_store *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	snprintf(st->path, sizeof st->path, "%s", path);
	st->known_map = malloc(sizeof(int) * HV_EV_COUNT);
	if (!st->known_map) {
		free(st);
		return NULL;
	}
	for (int i = 0; i < HV_EV_COUNT; i++)
		st->known_map[i] = -1;
	st->tmp.anon_fd = -1;
	return st;
}

static void finalize_stmts(struct hv_store *st)
{
	sqlite3_finalize(st->meta_set);
	sqlite3_finalize(st->stat_add);
	sqlite3_finalize(st->lost_add);
	sqlite3_finalize(st->task_set);
	st->meta_set = st->stat_add = st->lost_add = st->task_set = NULL;
	for (int i = 0; i < st->ntypes; i++)
		hv_store_free_writer(&st->types[i]);
	hv_store_free_pool(st);
}

static void free_types(struct hv_store *st)
{
	for (int i = 0; i < st->ntypes; i++)
		free_type(&st->types[i]);
	free(st->types);
	st->types = NULL;
	st->ntypes = st->cap_types = 0;
	for (int i = 0; i < HV_EV_COUNT; i++)
		st->known_map[i] = -1;
}

int hv_store_create(const char *path, unsigned flags, struct hv_store **out, struct hv_err *err)
{
	char sql[256], now[64];
	*out = NULL;
	if (!path || !*path)
		return hv_err_set(err, HV_E_USAGE, "no output database given");
	struct hv_store *st = store_alloc(path);
	if (!st)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", path);
	int rc = hv_tmpdb_begin(&st->tmp, path, (flags & HV_STORE_FORCE) != 0, err);
	if (rc < 0)
		goto fail_nodb;
	rc = sqlite3_open_v2(st->tmp.named, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = hv_sql_err(st, err, rc, "cannot create database");
		goto fail;
	}
	rc = hv_tmpdb_adopt(&st->tmp, err);
	if (rc < 0)
		goto fail;
	snprintf(sql, sizeof sql,
		 "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		 " PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;"
		 " PRAGMA application_id=%d; PRAGMA user_version=%d;",
		 HV_STORE_APPLICATION_ID, HV_STORE_SCHEMA_VERSION);
	if ((rc = hv_store_exec(st, sql, err)) < 0 || (rc = hv_store_vtab_register(st, err)) < 0 ||
	    (rc = hv_store_exec(st, fixed_schema, err)) < 0 ||
	    (rc = hv_store_exec(st, "BEGIN", err)) < 0 || (rc = hv_store_writer_start(st, err)) < 0)
		goto fail;
	st->writing = 1;
	time_t t = time(NULL);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if ((rc = hv_store_set_meta(st, "hvtrace_version", HV_VERSION, err)) < 0 ||
	    (rc = hv_store_set_meta(st, "schema_version", "1", err)) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	hv_store_writer_stop(st);
	finalize_stmts(st);
	sqlite3_close(st->db);
fail_nodb:
	hv_tmpdb_discard(&st->tmp);
	free(st->known_map);
	free(st);
	return rc;
}

/* A file shorter than its SQLite header says was cut off. */
static int check_header(const char *path, struct hv_err *err)
{
	unsigned char h[100];
	struct stat sb;
	FILE *f = fopen(path, "rb");
	if (!f)
		return hv_err_set(err, errno == ENOENT ? HV_E_USAGE : HV_E_IO, "%s: %s", path, strerror(errno));
	size_t n = fread(h, 1, sizeof h, f);
	int fd_ok = fstat(fileno(f), &sb) == 0;
	fclose(f);
	if (!fd_ok)
		return hv_err_set(err, HV_E_IO, "%s: cannot stat", path);
	if (S_ISDIR(sb.st_mode))
		return hv_err_set(err, HV_E_USAGE, "%s: is a directory", path);
	if (n < 100 || memcmp(h, "SQLite format 3", 16) != 0)
		return hv_err_set(err, HV_E_NOTDB, "%s: not an hvtrace database (not an SQLite file)", path);
	uint32_t psz = (uint32_t)h[16] << 8 | h[17];
	if (psz == 1)
		psz = 65536;
	uint32_t npages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	uint32_t change = (uint32_t)h[24] << 24 | (uint32_t)h[25] << 16 | (uint32_t)h[26] << 8 | h[27];
	uint32_t valid = (uint32_t)h[92] << 24 | (uint32_t)h[93] << 16 | (uint32_t)h[94] << 8 | h[95];
	if (change == valid && npages && (uint64_t)sb.st_size < (uint64_t)npages * psz)
		return hv_err_set(err, HV_E_NOTDB, "%s: truncated database: its header says %llu bytes, the file has %llu",
				  path, (unsigned long long)npages * psz, (unsigned long long)sb.st_size);
	return 0;
}

static int pragma_int(struct hv_store *st, const char *pragma, int64_t *v, struct hv_err *err)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, pragma, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : hv_sql_err(st, err, rc, "not an hvtrace database");
}

static enum hv_field_kind kind_of(const char *k)
{
	return strcmp(k, "str") == 0 ? HV_FK_STR : strcmp(k, "blob") == 0 ? HV_FK_BLOB : HV_FK_INT;
}

/* Rebuild the type list of an existing database from event_type and event_field. */
static int load_types(struct hv_store *st, struct hv_err *err)
{
	sqlite3_stmt *ts = NULL, *fs = NULL;
	int rc = sqlite3_prepare_v2(st->db, "SELECT id, system, name, source, count, size, ftrace_id, print_fmt,"
				    " format FROM event_type ORDER BY id", -1, &ts, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "SELECT name, ctype, offset, size, signed, kind, is_long"
					" FROM event_field WHERE type_id = ? ORDER BY pos", -1, &fs, NULL);
	if (rc != SQLITE_OK) {
		rc = hv_sql_err(st, err, rc, "reading event types");
		goto out;
	}
	while ((rc = sqlite3_step(ts)) == SQLITE_ROW) {
		struct hv_field_def fields[512];
		unsigned nf = 0;
		sqlite3_bind_int(fs, 1, sqlite3_column_int(ts, 0));
		while ((rc = sqlite3_step(fs)) == SQLITE_ROW && nf < 512) {
			struct hv_field_def *f = &fields[nf++];
			f->name = strdup((const char *)sqlite3_column_text(fs, 0));
			f->column = NULL;
			f->ctype = strdup((const char *)sqlite3_column_text(fs, 1));
			f->offset = (uint16_t)sqlite3_column_int(fs, 2);
			f->size = (uint16_t)sqlite3_column_int(fs, 3);
			f->is_signed = (uint8_t)sqlite3_column_int(fs, 4);
			f->kind = (uint8_t)kind_of((const char *)sqlite3_column_text(fs, 5));
			f->is_long = (uint8_t)sqlite3_column_int(fs, 6);
		}
		sqlite3_reset(fs);
		struct hv_event_def d = {
			.system = (const char *)sqlite3_column_text(ts, 1),
			.name = (const char *)sqlite3_column_text(ts, 2),
			.size = (uint16_t)sqlite3_column_int(ts, 5),
			.id = (uint16_t)sqlite3_column_int(ts, 6),
			.print_fmt = (const char *)sqlite3_column_text(ts, 7),
			.format = (const char *)sqlite3_column_text(ts, 8),
			.nfields = (uint16_t)nf, .fields = fields,
		};
		const struct hv_event_def *k = hv_event_find(d.system, d.name);
		int known = k && same_layout(k, &d) ? hv_event_index(k) : -1;
		int h = push_type(st, &d, (const char *)sqlite3_column_text(ts, 3), known, err);
		for (unsigned i = 0; i < nf; i++) {
			free((char *)fields[i].name);
			free((char *)fields[i].ctype);
		}
		if (h < 0) {
			rc = h;
			goto out;
		}
		st->types[h].id = sqlite3_column_int(ts, 0);
		st->types[h].count = (uint64_t)sqlite3_column_int64(ts, 4);
		st->types[h].created = 1;
		if (known >= 0)
			st->known_map[known] = h;
	}
	rc = rc == SQLITE_DONE ? 0 : hv_sql_err(st, err, rc, "reading event types");
out:
	sqlite3_finalize(ts);
	sqlite3_finalize(fs);
	return rc;
}

int hv_store_has_table(struct hv_store *st, const char *name)
{
	sqlite3_stmt *s;
	int ok = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &s, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		ok = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
	}
	return ok;
}

int hv_store_open(const char *path, int writable, struct hv_store **out, struct hv_err *err)
{
	int64_t appid = 0, version = 0;
	*out = NULL;
	int rc = check_header(path, err);
	if (rc < 0)
		return rc;
	struct hv_store *st = store_alloc(path);
	if (!st)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", path);
	rc = sqlite3_open_v2(path, &st->db, writable ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX) : (SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX), NULL);
	if (rc != SQLITE_OK) {
		rc = hv_sql_err(st, err, rc, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 2000);
	/* The reader keeps one cursor per event table (store_read.c): a cache that holds their
	 * paths (64 KiB pages) keeps each page read once; the default 2 MB makes them thrash. */
	sqlite3_exec(st->db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
	if ((rc = pragma_int(st, "PRAGMA application_id", &appid, err)) < 0 ||
	    (rc = pragma_int(st, "PRAGMA user_version", &version, err)) < 0)
		goto fail;
	if (appid != HV_STORE_APPLICATION_ID) {
		rc = hv_err_set(err, HV_E_NOTDB, "%s: not an hvtrace database (SQLite, but not written by hvtrace)", path);
		goto fail;
	}
	if (version > HV_STORE_SCHEMA_VERSION) {
		rc = hv_err_set(err, HV_E_VERSION, "%s: written by a newer hvtrace (schema version %lld; this hvtrace reads up to %d)",
				path, (long long)version, HV_STORE_SCHEMA_VERSION);
		goto fail;
	}
	if ((rc = load_types(st, err)) < 0)
		goto fail;
	for (int i = 0; i < st->ntypes; i++)
		st->nevents += st->types[i].count;
	*out = st;
	return 0;
fail:
	hv_store_close(st);
	return rc;
}

static int write_type_rows(struct hv_store *st, struct hv_err *err)
{
	sqlite3_stmt *ti = NULL, *fi = NULL;
	int rc = sqlite3_prepare_v2(st->db, "INSERT INTO event_type(id, system, name, tbl, source, count, size,"
				    " ftrace_id, print_fmt, format) VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &ti, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->db, "INSERT INTO event_field VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &fi, NULL);
	for (int i = 0; rc == SQLITE_OK && i < st->ntypes; i++) {
		struct store_type *t = &st->types[i];
		sqlite3_bind_int(ti, 1, t->id);
		sqlite3_bind_text(ti, 2, t->def.system, -1, SQLITE_STATIC);
		sqlite3_bind_text(ti, 3, t->def.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ti, 4, t->table, -1, SQLITE_STATIC);
		sqlite3_bind_text(ti, 5, t->source, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ti, 6, (int64_t)t->count);
		sqlite3_bind_int(ti, 7, t->def.size);
		sqlite3_bind_int(ti, 8, t->def.id);
		sqlite3_bind_text(ti, 9, t->def.print_fmt, -1, SQLITE_STATIC);
		sqlite3_bind_text(ti, 10, t->def.format, -1, SQLITE_STATIC);
		rc = sqlite3_step(ti) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(ti);
		for (unsigned j = 0; rc == SQLITE_OK && j < t->def.nfields; j++) {
			const struct hv_field_def *f = &t->fields[j];
			static const char *const kinds[] = { "int", "str", "blob" };
			sqlite3_bind_int(fi, 1, t->id);
			sqlite3_bind_int(fi, 2, (int)j);
			sqlite3_bind_text(fi, 3, f->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(fi, 4, f->column, -1, SQLITE_STATIC);
			sqlite3_bind_text(fi, 5, f->ctype, -1, SQLITE_STATIC);
			sqlite3_bind_int(fi, 6, f->offset);
			sqlite3_bind_int(fi, 7, f->size);
			sqlite3_bind_int(fi, 8, f->is_signed);
			sqlite3_bind_text(fi, 9, kinds[f->kind <= 2 ? f->kind : 0], -1, SQLITE_STATIC);
			sqlite3_bind_int(fi, 10, f->is_long);
			rc = sqlite3_step(fi) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
			sqlite3_reset(fi);
		}
	}
	if (rc != SQLITE_OK)
		rc = hv_sql_err(st, err, rc, "writing event types");
	sqlite3_finalize(ti);
	sqlite3_finalize(fi);
	return rc;
}

int hv_store_commit(struct hv_store *st, struct hv_err *err)
{
	int rc;
	char nev[32];
	if (!st->writing)
		return hv_err_set(err, HV_E_USAGE, "%s: not being written", st->path);
	if ((rc = hv_store_drain(st, err)) < 0)
		return rc;
	hv_store_writer_stop(st);
	for (int i = 0; i < HV_EV_COUNT; i++)
		if ((rc = hv_store_known(st, i, err)) < 0)
			return rc;
	for (int i = 0; i < st->ntypes; i++) {
		struct store_type *t = &st->types[i];
		if ((rc = t->created ? 0 : hv_store_create_table(st, t, err)) < 0 ||
		    (rc = hv_store_flush_type(st, t, err)) < 0)
			return rc;
	}
	snprintf(nev, sizeof nev, "%llu", (unsigned long long)st->nevents);
	if ((rc = hv_store_set_meta(st, "events", nev, err)) < 0 || (rc = write_type_rows(st, err)) < 0)
		return rc;
	finalize_stmts(st);
	if ((rc = hv_store_exec(st, "COMMIT", err)) < 0)
		return rc;
	rc = sqlite3_close(st->db);
	st->db = NULL;
	st->writing = 0;
	if (rc != SQLITE_OK) {
		hv_tmpdb_discard(&st->tmp);
		return hv_err_set(err, HV_E_IO, "%s: closing the new database failed", st->path);
	}
	if ((rc = hv_tmpdb_publish(&st->tmp, err)) < 0) {
		hv_tmpdb_discard(&st->tmp);
		return rc;
	}
	/* Reopen by name for reading, with types as stored. */
	free_types(st);
	st->nevents = 0;
	rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return hv_sql_err(st, err, rc, "cannot reopen");
	if ((rc = load_types(st, err)) < 0)
		return rc;
	for (int i = 0; i < st->ntypes; i++)
		st->nevents += st->types[i].count;
	return 0;
}

void hv_store_close(struct hv_store *st)
{
	if (!st)
		return;
	hv_store_writer_stop(st);
	finalize_stmts(st);
	if (st->db)
		sqlite3_close(st->db);
	if (st->writing)
		hv_tmpdb_discard(&st->tmp);
	free_types(st);
	free(st->known_map);
	free(st);
}
