/*
 * Importer for trace text people already have: `perf script` default output
 *   " qemu-system-ppc   186 [000]    72.108351:  kvm_hv:kvmppc_vcore_blocked: Exit runner_vcpu=1 ..."
 * and raw ftrace text (the tracefs `trace` / `trace_pipe` files, and `trace-cmd report`):
 *   "  qemu-system-ppc-186     [000] d..2.   72.108351: kvmppc_vcore_blocked: Exit ..."
 * plain or zstd-compressed (text_lines.c).
 *
 * Each line's header gives comm, pid, cpu, timestamp and event. Events hvtrace knows
 * (hv_events[]) have their payload parsed back into typed fields with the event's print format
 * (text_fmt.c): symbolic names map back through the format's own tables. Fields the text does not
 * determine (kvm_userspace_exit's errno: perf prints KVM_EXIT_<reason> whatever errno is, spec
 * §9 item 4) are stored as 0 and counted per field in stats (text_field_unknown:...). Other
 * events go to a table of their own with one `text` column holding the payload, counted in
 * stats (text_generic:...). Lines that do not parse are counted (text_unparsed...) with the
 * first line number; comment lines (#...) and blank lines are skipped and counted. ftrace's
 * "CPU:N [LOST n EVENTS]" lines go to `lost` (from the previous event's time, the only one known).
 * Also read: the record-tgid column "comm-pid (tgid)" and trace-cmd report's "instance:" prefix.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_events.h"
#include "hv_import.h"
#include "text_fmt.h"
#include "text_lines.h"

#define TX_MAX_FIELDS 128
#define TX_SCRATCH 8192

struct tx_line {
	const char *comm, *sys, *name, *payload;
	size_t comm_len, sys_len, name_len, payload_len;
	int32_t pid, cpu;
	uint64_t ts;
};

struct tx_type {
	char key[160];			/* "sys:name" as written (sys may be empty) */
	int handle;
	const struct hv_event_def *def;	/* the store's definition */
	struct hv_text_fmt *fmt;	/* NULL: generic text table */
	uint64_t *unknown;		/* per field: events where the text did not determine it */
	uint64_t unparsed;
	uint64_t first_unparsed_line;
};

struct tx_task {
	int32_t pid;
	char comm[32];
};

struct tx_state {
	const char *path;
	struct hv_store *st;
	struct hv_import_result *res;
	struct hv_err *err;
	struct tx_type *types;
	int ntypes, cap_types, last_type;
	struct tx_task *tasks;		/* open addressing, pid 0 = empty */
	size_t task_cap, ntasks;
	uint64_t lineno, bad_lines, first_bad_line, comments, blanks, out_of_order, last_ts;
	char first_bad[160];
	char scratch[TX_SCRATCH];
};

/* ---- line header ---- */

static const char *find_n(const char *hay, size_t n, const char *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "[ccc] [flags] sec.frac:" at p; fills cpu/ts and returns the position after the ':'. */
static const char *parse_cpu_ts(const char *p, const char *e, struct tx_line *l)
{
	const char *q = p + 1;
	while (q < e && isdigit((unsigned char)*q))
		q++;
	if (q == p + 1 || q >= e || *q != ']')
		return NULL;
	l->cpu = atoi(p + 1);
	q++;
	for (int tok = 0; tok < 2; tok++) {	/* optional ftrace flags column, then the time */
		while (q < e && *q == ' ')
			q++;
		const char *t = q;
		while (q < e && isdigit((unsigned char)*q))
			q++;
		if (q > t && q < e && *q == '.') {
			const char *f = ++q;
			while (q < e && isdigit((unsigned char)*q))
				q++;
			size_t nf = (size_t)(q - f);
			if (nf == 0 || nf > 9 || q >= e || *q != ':')
				return NULL;
			uint64_t frac = strtoull(f, NULL, 10);
			for (size_t i = nf; i < 9; i++)
				frac *= 10;
			l->ts = strtoull(t, NULL, 10) * 1000000000ULL + frac;
			return q + 1;
		}
		if (tok == 1)
			return NULL;
		q = t;
		while (q < e && *q != ' ')
			q++;
	}
	return NULL;
}

/* comm and pid from the text before "[cpu]": "comm pid" (perf, also "pid/tid") or "comm-pid". */
static int parse_task(const char *b, const char *e, struct tx_line *l)
{
	while (b < e && *b == ' ')
		b++;
	while (e > b && e[-1] == ' ')
		e--;
	if (e > b && e[-1] == ')') {	/* ftrace record-tgid column "comm-pid (tgid)" */
		const char *o = e - 1;
		while (o > b && *o != '(')
			o--;
		e = o;
		while (e > b && e[-1] == ' ')
			e--;
	}
	const char *pre = find_n(b, (size_t)(e - b), ":  ", 3);	/* trace-cmd report "instance:  comm-pid" */
	if (pre)
		for (b = pre + 3; b < e && *b == ' '; b++)
			;
	const char *s = e;
	while (s > b && s[-1] != ' ' && s[-1] != '-')
		s--;
	const char *slash = memchr(s, '/', (size_t)(e - s));	/* perf "pid/tid" */
	const char *pe = slash ? slash : e;
	if (!all_digits(s, (size_t)(pe - s)))
		return -1;
	l->pid = (int32_t)strtol(slash ? slash + 1 : s, NULL, 10);
	if (s > b && s[-1] == '-' && (s - 1 == b || s[-2] == ' ')) {	/* perf's " -1": thread unknown */
		l->pid = -l->pid;
		s--;
	}
	const char *ce = s > b ? s - 1 : s;
	while (ce > b && ce[-1] == ' ')
		ce--;
	l->comm = b;
	l->comm_len = (size_t)(ce - b);
	return 0;
}

static int parse_line(const char *s, size_t n, struct tx_line *l)
{
	const char *e = s + n, *after = NULL, *p;
	memset(l, 0, sizeof *l);
	for (p = s; p < e && (p = memchr(p, '[', (size_t)(e - p))) != NULL; p++)
		if ((after = parse_cpu_ts(p, e, l)) != NULL)
			break;
	if (!after || parse_task(s, p, l) < 0)
		return -1;
	while (after < e && *after == ' ')
		after++;
	const char *a = after;
	while (a < e && (isalnum((unsigned char)*a) || *a == '_' || *a == '-' || *a == '.'))
		a++;
	if (a >= e || *a != ':' || a == after)
		return -1;
	l->name = after;
	l->name_len = (size_t)(a - after);
	const char *b = a + 1;
	while (b < e && (isalnum((unsigned char)*b) || *b == '_' || *b == '-' || *b == '.'))
		b++;
	if (b > a + 1 && b < e && *b == ':') {	/* perf: system:event: */
		l->sys = l->name;
		l->sys_len = l->name_len;
		l->name = a + 1;
		l->name_len = (size_t)(b - a - 1);
		a = b;
	}
	a++;
	while (a < e && *a == ' ')
		a++;
	l->payload = a;
	l->payload_len = (size_t)(e - a);
	return 0;
}

/* ---- types ---- */

static int tx_new_type(struct tx_state *s, const struct tx_line *l, const char *key)
{
	char sys[64], name[96];
	snprintf(sys, sizeof sys, "%.*s", (int)l->sys_len, l->sys ? l->sys : "");
	snprintf(name, sizeof name, "%.*s", (int)l->name_len, l->name);
	if (s->ntypes == s->cap_types) {
		int cap = s->cap_types ? s->cap_types * 2 : 16;
		void *p = realloc(s->types, (size_t)cap * sizeof *s->types);
		if (!p)
			return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
		s->types = p;
		s->cap_types = cap;
	}
	struct tx_type *t = &s->types[s->ntypes];
	memset(t, 0, sizeof *t);
	snprintf(t->key, sizeof t->key, "%s", key);
	const struct hv_event_def *k = hv_event_find(sys[0] ? sys : NULL, name);
	struct hv_text_fmt *fmt = NULL;
	if (k && k->nfields <= TX_MAX_FIELDS && hv_text_fmt_compile(k, &fmt) == 0) {
		t->handle = hv_store_known(s->st, hv_event_index(k), s->err);
		t->fmt = fmt;
	} else {
		static const struct hv_field_def text_field = {
			.name = "text", .column = "text", .ctype = "char[]", .kind = HV_FK_STR,
		};
		struct hv_event_def g = {
			.system = sys[0] ? sys : "text", .name = name, .nfields = 1, .fields = &text_field,
			.print_fmt = "\"%s\", REC->text", .doc = "payload text of an event hvtrace has no fields for",
		};
		t->handle = hv_store_add_type(s->st, &g, "text", s->err);
	}
	if (t->handle < 0) {
		hv_text_fmt_free(fmt);
		return t->handle;
	}
	t->def = hv_store_type_def(s->st, t->handle);
	t->unknown = calloc(t->def->nfields ? t->def->nfields : 1, sizeof *t->unknown);
	if (!t->unknown) {
		hv_text_fmt_free(fmt);
		return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
	}
	return s->ntypes++;
}

static int tx_type_of(struct tx_state *s, const struct tx_line *l)
{
	char key[160];
	snprintf(key, sizeof key, "%.*s:%.*s", (int)l->sys_len, l->sys ? l->sys : "", (int)l->name_len, l->name);
	if (s->last_type >= 0 && strcmp(s->types[s->last_type].key, key) == 0)
		return s->last_type;
	for (int i = 0; i < s->ntypes; i++)
		if (strcmp(s->types[i].key, key) == 0)
			return s->last_type = i;
	int t = tx_new_type(s, l, key);
	if (t >= 0)
		s->last_type = t;
	return t;
}

/* ---- tasks ---- */

static int tx_task(struct tx_state *s, const struct tx_line *l)
{
	if (l->pid <= 0)
		return 0;
	if (s->ntasks * 2 >= s->task_cap) {
		size_t cap = s->task_cap ? s->task_cap * 2 : 1024;
		struct tx_task *n = calloc(cap, sizeof *n);
		if (!n)
			return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
		for (size_t i = 0; i < s->task_cap; i++) {
			if (!s->tasks[i].pid)
				continue;
			size_t h = (uint32_t)s->tasks[i].pid * 2654435761u % cap;
			while (n[h].pid)
				h = (h + 1) % cap;
			n[h] = s->tasks[i];
		}
		free(s->tasks);
		s->tasks = n;
		s->task_cap = cap;
	}
	size_t h = (uint32_t)l->pid * 2654435761u % s->task_cap;
	while (s->tasks[h].pid && s->tasks[h].pid != l->pid)
		h = (h + 1) % s->task_cap;
	struct tx_task *t = &s->tasks[h];
	size_t n = l->comm_len < sizeof t->comm - 1 ? l->comm_len : sizeof t->comm - 1;
	if (t->pid == l->pid && strlen(t->comm) == n && memcmp(t->comm, l->comm, n) == 0)
		return 0;
	if (!t->pid)
		s->ntasks++;
	t->pid = l->pid;
	memcpy(t->comm, l->comm, n);
	t->comm[n] = 0;
	return hv_store_set_task(s->st, l->pid, -1, t->comm, l->ts, s->err);
}

/* ---- lines ---- */

static void tx_bad_line(struct tx_state *s, const char *line, size_t len)
{
	if (!s->bad_lines++) {
		s->first_bad_line = s->lineno;
		snprintf(s->first_bad, sizeof s->first_bad, "%.*s", (int)(len < 120 ? len : 120), line);
	}
	s->res->skipped++;
}

static int tx_event(struct tx_state *s, const struct tx_line *l)
{
	int ti = tx_type_of(s, l);
	if (ti < 0)
		return ti;
	struct tx_type *t = &s->types[ti];
	struct hv_value vals[TX_MAX_FIELDS];
	if (t->fmt) {
		unsigned char unknown[TX_MAX_FIELDS];
		if (hv_text_fmt_parse(t->fmt, l->payload, l->payload_len, vals, unknown, s->scratch, sizeof s->scratch) < 0) {
			if (!t->unparsed++)
				t->first_unparsed_line = s->lineno;
			s->res->skipped++;
			return 0;
		}
		for (unsigned i = 0; i < t->def->nfields; i++)
			t->unknown[i] += unknown[i];
	} else {
		vals[0].i = 0;
		vals[0].p = l->payload;
		vals[0].len = (uint32_t)l->payload_len;
	}
	if (l->ts < s->last_ts)
		s->out_of_order++;
	s->last_ts = l->ts;
	int rc = tx_task(s, l);
	if (rc < 0 || (rc = hv_store_append(s->st, t->handle, l->ts, l->cpu, l->pid, vals, s->err)) < 0)
		return rc;
	if (!s->res->events)
		s->res->ts_first = l->ts;
	s->res->ts_last = l->ts;
	s->res->events++;
	return 0;
}

static int tx_line(struct tx_state *s, const char *line, size_t len)
{
	struct tx_line l;
	size_t i = 0;
	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len) {
		s->blanks++;
		return 0;
	}
	if (line[i] == '#' || (len - i > 5 && memcmp(line + i, "cpus=", 5) == 0)) {
		s->comments++;
		return 0;
	}
	int cpu;
	unsigned long long lost;
	if (sscanf(line + i, "CPU:%d [LOST %llu EVENTS]", &cpu, &lost) == 2) {	/* ftrace text */
		s->res->lost += lost;
		return hv_store_add_lost(s->st, cpu, s->last_ts, s->last_ts, lost, "text", s->err);
	}
	if (parse_line(line, len, &l) < 0) {
		tx_bad_line(s, line, len);
		return 0;
	}
	return tx_event(s, &l);
}

/* ---- summary into stats and meta ---- */

static int tx_stat(struct tx_state *s, const char *key, uint64_t n, const char *detail)
{
	return n ? hv_store_stat_add(s->st, key, (int64_t)n, detail, s->err) : 0;
}

static int tx_finish(struct tx_state *s, int compressed)
{
	char key[256], detail[256];
	int rc;
	snprintf(detail, sizeof detail, "first at line %llu: %s", (unsigned long long)s->first_bad_line, s->first_bad);
	if ((rc = tx_stat(s, "text_unparsed_lines", s->bad_lines, detail)) < 0 ||
	    (rc = tx_stat(s, "text_comment_lines", s->comments, NULL)) < 0 ||
	    (rc = tx_stat(s, "text_blank_lines", s->blanks, NULL)) < 0 ||
	    (rc = tx_stat(s, "text_out_of_order", s->out_of_order, "events with a timestamp before the previous line's")) < 0)
		return rc;
	for (int i = 0; i < s->ntypes; i++) {
		struct tx_type *t = &s->types[i];
		const struct hv_event_def *d = t->def;
		snprintf(key, sizeof key, "text_unparsed:%s:%s", d->system, d->name);
		snprintf(detail, sizeof detail, "payload does not match the print format; first at line %llu",
			 (unsigned long long)t->first_unparsed_line);
		if ((rc = tx_stat(s, key, t->unparsed, detail)) < 0)
			return rc;
		if (!t->fmt) {
			snprintf(key, sizeof key, "text_generic:%s:%s", d->system, d->name);
			if ((rc = tx_stat(s, key, hv_store_type_count(s->st, t->handle),
					  "event unknown to hvtrace: payload stored as text")) < 0)
				return rc;
			continue;
		}
		for (unsigned f = 0; f < d->nfields; f++) {
			snprintf(key, sizeof key, "text_field_unknown:%s:%s:%s", d->system, d->name, d->fields[f].name);
			if ((rc = tx_stat(s, key, t->unknown[f], "not determined by the printed text; stored as 0/NULL or as printed")) < 0)
				return rc;
		}
	}
	if ((rc = hv_store_set_meta(s->st, "source", "text", s->err)) < 0 ||
	    (rc = hv_store_set_meta(s->st, "source_file", s->path, s->err)) < 0)
		return rc;
	return hv_store_set_meta(s->st, "text_compressed", compressed ? "zstd" : "no", s->err);
}

static void tx_free(struct tx_state *s)
{
	for (int i = 0; i < s->ntypes; i++) {
		hv_text_fmt_free(s->types[i].fmt);
		free(s->types[i].unknown);
	}
	free(s->types);
	free(s->tasks);
}

int hv_import_text(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		   struct hv_import_result *res, struct hv_err *err)
{
	struct hv_import_result dummy;
	struct hv_lines *lines = NULL;
	(void)o;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	if (hv_lines_open(path, &lines) < 0)
		return hv_err_set(err, HV_E_IO, "%s: %s", path, strerror(errno));
	struct tx_state *s = calloc(1, sizeof *s);
	if (!s) {
		hv_lines_close(lines);
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", path);
	}
	s->path = path;
	s->st = st;
	s->res = res;
	s->err = err;
	s->last_type = -1;
	const char *line;
	size_t len;
	int r, rc = 0;
	while (rc == 0 && (r = hv_lines_next(lines, &line, &len)) == 1) {
		s->lineno++;
		res->records++;
		if (memchr(line, 0, len)) {
			rc = hv_err_set(err, HV_E_CORRUPT, "%s: line %llu: binary data, not text",
					path, (unsigned long long)s->lineno);
			break;
		}
		rc = tx_line(s, line, len);
	}
	if (rc == 0 && r < 0)
		rc = hv_err_set(err, HV_E_IO, "%s: offset %llu: read error (%s)", path,
				(unsigned long long)hv_lines_offset(lines), strerror(errno));
	if (rc == 0 && res->events == 0)
		rc = hv_err_set(err, HV_E_FORMAT, "%s: no event lines found (%llu lines, first unparsed at line %llu)",
				path, (unsigned long long)s->lineno, (unsigned long long)s->first_bad_line);
	if (rc == 0)
		rc = tx_finish(s, hv_lines_compressed(lines));
	tx_free(s);
	free(s);
	hv_lines_close(lines);
	return rc;
}
