/*
 * Helpers shared by the subcommands: error printing, time parsing, opening a database, and
 * printing one event as a perf-script-like line.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <sqlite3.h>

#include "hv_events.h"

int cli_fail(const char *cmd, const struct hv_err *err)
{
	fprintf(stderr, "hvtrace %s: %s\n", cmd, err->msg[0] ? err->msg : "failed");
	return HV_EXIT_USAGE;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "hvtrace %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see hvtrace %s --help)\n", cmd);
	return HV_EXIT_USAGE;
}

int cli_parse_time(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1e9;
	if (end == s || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1e9;
	else if (strcmp(end, "ms") == 0)
		mult = 1e6;
	else if (strcmp(end, "us") == 0)
		mult = 1e3;
	else if (strcmp(end, "ns") == 0)
		mult = 1;
	else
		return -1;
	*ns = (uint64_t)(v * mult + 0.5);
	return 0;
}

struct hv_store *cli_open_db(const char *cmd, const char *path, int writable)
{
	struct hv_store *st;
	struct hv_err err = { 0 };
	if (hv_store_open(path, writable, &st, &err) < 0) {
		cli_fail(cmd, &err);
		return NULL;
	}
	return st;
}

static const char *symbol_for(const struct hv_event_def *d, const struct hv_field_def *f, int64_t v)
{
	if (strcmp(d->system, "kvm_hv") == 0 || strcmp(d->system, "kvm_hv_sched") == 0) {
		if (strcmp(f->name, "trap") == 0 || strncmp(f->name, "first_exit_trap", 15) == 0 ||
		    strcmp(f->name, "last_trap") == 0)
			return hv_trap_name(v);
		if (strcmp(f->name, "req") == 0)
			return hv_hcall_name(v);
	}
	if (strcmp(d->name, "kvm_userspace_exit") == 0 && strcmp(f->name, "reason") == 0)
		return hv_sym_name(&hv_sym_kvm_exit_reasons, v);
	return NULL;
}

void cli_format_field(char *buf, size_t n, const struct hv_field_def *fd, const struct hv_value *v)
{
	if (v->p) {
		if (fd->kind == HV_FK_STR) {
			snprintf(buf, n, "%.*s", (int)v->len, (const char *)v->p);
		} else {
			size_t len = 0;
			for (uint32_t i = 0; i < v->len && len + 3 < n; i++)
				len += (size_t)snprintf(buf + len, n - len, "%02x", ((const unsigned char *)v->p)[i]);
			if (!v->len)
				snprintf(buf, n, "-");
		}
	} else if (fd->kind != HV_FK_INT) {
		snprintf(buf, n, "-");
	} else if (fd->is_signed) {
		snprintf(buf, n, "%" PRId64, v->i);
	} else if (fd->size >= 8 || fd->is_long) {
		snprintf(buf, n, "0x%" PRIx64, (uint64_t)v->i);
	} else {
		uint64_t mask = fd->size >= 8 ? UINT64_MAX : ((uint64_t)1 << (fd->size * 8)) - 1;
		snprintf(buf, n, "%" PRIu64, (uint64_t)v->i & mask);
	}
}

static int cmp_task(const void *a, const void *b)
{
	const struct cli_task *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int cli_tasks_load(struct cli_tasks *t, struct hv_store *st)
{
	sqlite3_stmt *s;
	memset(t, 0, sizeof *t);
	if (sqlite3_prepare_v2(hv_store_sqlite(st), "SELECT pid, comm FROM task ORDER BY pid", -1, &s, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (t->n == t->cap) {
			int cap = t->cap ? t->cap * 2 : 64;
			void *p = realloc(t->v, (size_t)cap * sizeof *t->v);
			if (!p)
				break;
			t->v = p;
			t->cap = cap;
		}
		t->v[t->n].pid = sqlite3_column_int(s, 0);
		snprintf(t->v[t->n].comm, sizeof t->v[t->n].comm, "%s", (const char *)sqlite3_column_text(s, 1));
		t->n++;
	}
	sqlite3_finalize(s);
	if (t->n)
		qsort(t->v, (size_t)t->n, sizeof *t->v, cmp_task);
	return 0;
}

void cli_tasks_free(struct cli_tasks *t)
{
	free(t->v);
	memset(t, 0, sizeof *t);
}

const char *cli_task_comm(const struct cli_tasks *t, int32_t pid)
{
	struct cli_task key = { .pid = pid };
	const struct cli_task *hit = t->n ? bsearch(&key, t->v, (size_t)t->n, sizeof *t->v, cmp_task) : NULL;
	return hit && hit->comm[0] ? hit->comm : (pid == 0 ? "swapper" : ":" );
}

void cli_print_row(FILE *f, const struct cli_tasks *tasks, const struct hv_row *row)
{
	char val[1024];
	const struct hv_event_def *d = row->def;
	const char *comm = cli_task_comm(tasks, row->pid);
	char anon[32];
	if (strcmp(comm, ":") == 0) {
		snprintf(anon, sizeof anon, ":%d", row->pid);
		comm = anon;
	}
	fprintf(f, "%16s %6d [%03d] %6" PRIu64 ".%06" PRIu64 ": %s:%s:", comm, row->pid, row->cpu,
		row->ts / 1000000000u, (row->ts / 1000u) % 1000000u, d->system, d->name);
	for (unsigned i = 0; i < d->nfields; i++) {
		const struct hv_field_def *fd = &d->fields[i];
		cli_format_field(val, sizeof val, fd, &row->v[i]);
		const char *sym = (!row->v[i].p && fd->kind == HV_FK_INT) ? symbol_for(d, fd, row->v[i].i) : NULL;
		if (sym)
			fprintf(f, " %s=%s(0x%llx)", fd->name, sym, (unsigned long long)row->v[i].i);
		else
			fprintf(f, " %s=%s", fd->name, val);
	}
	fputc('\n', f);
}
