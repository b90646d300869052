/*
 * Importer for trace-cmd trace.dat files (versions 6 and 7, any compression libtracecmd
 * reads), through libtracecmd.
 *
 * Stages: tracecmd_open reads the headers, formats and saved cmdlines into a tep handle;
 * tracecmd_iterate_events_multi merges the records of every CPU of the top buffer and of every
 * buffer instance in time order; each event type is registered with the store the first time
 * it is seen (hv_tep_event_def, fields looked up once) and each record is decoded with those
 * fields (hv_tep_decode) and appended. Missed-event counts the ring buffer reported before a
 * record go to `lost` (an unknown count is stored as 0 and counted in stats); task names of
 * the pids seen come from the saved cmdlines.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <trace-cmd.h>
#include <unistd.h>

#include "hv_import.h"
#include "tep_def.h"

/* One event type, per tep handle (buffer instances may carry their own). */
struct td_type {
	struct tep_event *ev;
	int handle;		/* store type, or -1 when it could not be registered */
	int all_int;
	struct hv_event_def def;
	struct hv_field_def fields[HV_TEP_MAX_FIELDS];
	struct tep_format_field *tf[HV_TEP_MAX_FIELDS];
};

struct td_src {
	struct tracecmd_input *in;
	struct tep_handle *tep;
	struct td_type **types;	/* by event id */
	int ntypes;
};

struct td_state {
	const char *path;
	struct hv_store *st;
	struct hv_import_result *res;
	struct hv_err *err;
	int rc;
	struct td_src src[16];
	int nsrc;
	uint64_t *last_ts;	/* per cpu, for lost windows */
	uint64_t prev_ts;	/* the previous record's, any cpu */
	uint64_t out_of_order;
	int ncpus;
	int32_t *pids;		/* distinct pids seen, for task names */
	size_t npids, cap_pids;
	unsigned char *pid_seen;	/* bitmap over pid & 0x3fffff */
};

static struct td_src *td_src_of(struct td_state *s, struct tracecmd_input *in)
{
	for (int i = 0; i < s->nsrc; i++)
		if (s->src[i].in == in)
			return &s->src[i];
	return NULL;
}

static int td_register(struct td_state *s, struct td_src *src, int id, struct td_type **out)
{
	if (id < 0 || id > 0xffff)
		return 0;
	if (id >= src->ntypes) {
		int n = id + 64;
		void *p = realloc(src->types, (size_t)n * sizeof *src->types);
		if (!p)
			return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
		src->types = p;
		memset(src->types + src->ntypes, 0, (size_t)(n - src->ntypes) * sizeof *src->types);
		src->ntypes = n;
	}
	assert(!src->types[id]);	/* registered once per event id and buffer */
	struct tep_event *ev = tep_find_event(src->tep, id);
	if (!ev)
		return 0;
	struct td_type *t = calloc(1, sizeof *t);
	if (!t)
		return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
	src->types[id] = t;
	t->ev = ev;
	t->handle = -1;
	if (hv_tep_event_def(ev, &t->def, t->fields, HV_TEP_MAX_FIELDS, t->tf) < 0) {
		char key[256];
		snprintf(key, sizeof key, "tracedat_too_many_fields:%s:%s", ev->system, ev->name);
		*out = t;
		return hv_store_stat_add(s->st, key, 1, "event has too many fields; its records are skipped", s->err);
	}
	t->all_int = 1;
	for (unsigned i = 0; i < t->def.nfields; i++)
		if (t->fields[i].kind != HV_FK_INT)
			t->all_int = 0;
	int h = hv_store_add_type(s->st, &t->def, "format", s->err);
	if (h < 0)
		return h;
	t->handle = h;
	*out = t;
	return 0;
}

static int td_note_pid(struct td_state *s, int32_t pid)
{
	uint32_t k = (uint32_t)pid & 0x3fffff;
	if (pid <= 0 || (s->pid_seen[k >> 3] & (1u << (k & 7))))
		return 0;
	s->pid_seen[k >> 3] |= (unsigned char)(1u << (k & 7));
	if (s->npids == s->cap_pids) {
		size_t cap = s->cap_pids ? s->cap_pids * 2 : 256;
		void *p = realloc(s->pids, cap * sizeof *s->pids);
		if (!p)
			return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
		s->pids = p;
		s->cap_pids = cap;
	}
	s->pids[s->npids++] = pid;
	return 0;
}

static int td_lost(struct td_state *s, struct tep_record *rec)
{
	uint64_t from = 0;
	if (rec->cpu >= 0 && rec->cpu < s->ncpus)
		from = s->last_ts[rec->cpu];
	uint64_t count = rec->missed_events > 0 ? (uint64_t)rec->missed_events : 0;
	if (rec->missed_events < 0) {
		int rc = hv_store_stat_add(s->st, "tracedat_missed_unknown", 1,
					   "ring buffer pages were lost, count unknown (stored as 0 in lost)", s->err);
		if (rc < 0)
			return rc;
	}
	s->res->lost += count;
	return hv_store_add_lost(s->st, rec->cpu, from, rec->ts, count, "trace.dat", s->err);
}

static int td_record(struct td_state *s, struct tracecmd_input *in, struct tep_record *rec)
{
	struct td_src *src = td_src_of(s, in);
	if (!src)
		return hv_err_set(s->err, HV_E_CORRUPT, "%s: record from an unknown buffer", s->path);
	s->res->records++;
	int rc;
	if (rec->missed_events && (rc = td_lost(s, rec)) < 0)
		return rc;
	if (rec->cpu >= 0 && rec->cpu < s->ncpus)
		s->last_ts[rec->cpu] = rec->ts;
	if (rec->ts < s->prev_ts)	/* libtracecmd merges CPUs by time: should not happen */
		s->out_of_order++;
	s->prev_ts = rec->ts;
	int id = tep_data_type(src->tep, rec);
	struct td_type *t = id >= 0 && id < src->ntypes ? src->types[id] : NULL;
	if (!t && (rc = td_register(s, src, id, &t)) < 0)
		return rc;
	if (!t || t->handle < 0) {
		s->res->skipped++;
		return hv_store_stat_add(s->st, "tracedat_unknown_event", 1, "records whose event id has no format", s->err);
	}
	struct hv_value vals[HV_TEP_MAX_FIELDS];
	if (hv_tep_decode(&t->def, t->tf, rec->data, rec->size, vals) &&
	    (rc = hv_store_stat_add(s->st, "tracedat_short_record", 1, "fields beyond the record stored as 0/NULL", s->err)) < 0)
		return rc;
	int32_t pid = tep_data_pid(src->tep, rec);
	if ((rc = td_note_pid(s, pid)) < 0)
		return rc;
	if (t->all_int) {
		int64_t iv[HV_TEP_MAX_FIELDS];
		for (unsigned i = 0; i < t->def.nfields; i++)
			iv[i] = vals[i].i;
		rc = hv_store_append_ints(s->st, t->handle, rec->ts, rec->cpu, pid, iv, s->err);
	} else {
		rc = hv_store_append(s->st, t->handle, rec->ts, rec->cpu, pid, vals, s->err);
	}
	if (rc < 0)
		return rc;
	if (!s->res->events)
		s->res->ts_first = rec->ts;
	s->res->ts_last = rec->ts;
	s->res->events++;
	return 0;
}

static int td_callback(struct tracecmd_input *in, struct tep_record *rec, int cpu, void *data)
{
	struct td_state *s = data;
	(void)cpu;
	s->rc = td_record(s, in, rec);
	return s->rc < 0 ? -1 : 0;
}

static int td_meta(struct td_state *s, struct tracecmd_input *top)
{
	struct tep_handle *tep = s->src[0].tep;
	char v[64], buffers[512] = "";
	int rc;
	snprintf(v, sizeof v, "%d", tep_get_cpus(tep));
	if ((rc = hv_store_set_meta(s->st, "source", "trace.dat", s->err)) < 0 ||
	    (rc = hv_store_set_meta(s->st, "source_file", s->path, s->err)) < 0 ||
	    (rc = hv_store_set_meta(s->st, "nr_cpus", v, s->err)) < 0)
		return rc;
	snprintf(v, sizeof v, "%d", tep_get_long_size(tep));
	if ((rc = hv_store_set_meta(s->st, "long_size", v, s->err)) < 0)
		return rc;
	if ((rc = hv_store_set_meta(s->st, "byte_order", tep_is_file_bigendian(tep) ? "big" : "little", s->err)) < 0)
		return rc;
	snprintf(v, sizeof v, "%d", tep_get_page_size(tep));
	if ((rc = hv_store_set_meta(s->st, "page_size", v, s->err)) < 0)
		return rc;
	for (int i = 0; i < tracecmd_buffer_instances(top); i++) {
		const char *name = tracecmd_buffer_instance_name(top, i);
		size_t len = strlen(buffers);
		snprintf(buffers + len, sizeof buffers - len, "%s%s", len ? "," : "", name ? name : "?");
	}
	return buffers[0] ? hv_store_set_meta(s->st, "tracedat_buffers", buffers, s->err) : 0;
}

static int td_tasks(struct td_state *s)
{
	struct tep_handle *tep = s->src[0].tep;
	for (size_t i = 0; i < s->npids; i++) {
		if (!tep_is_pid_registered(tep, s->pids[i]))
			continue;
		const char *comm = tep_data_comm_from_pid(tep, s->pids[i]);
		int rc = hv_store_set_task(s->st, s->pids[i], -1, comm, 0, s->err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int td_open_sources(struct td_state *s, struct tracecmd_input *top)
{
	s->src[0].in = top;
	s->src[0].tep = tracecmd_get_tep(top);
	s->nsrc = 1;
	int n = tracecmd_buffer_instances(top);
	for (int i = 0; i < n; i++) {
		if (s->nsrc == (int)(sizeof s->src / sizeof s->src[0]))
			return hv_err_set(s->err, HV_E_FORMAT, "%s: more than %d buffer instances", s->path, s->nsrc);
		struct tracecmd_input *in = tracecmd_buffer_instance_handle(top, i);
		if (!in)
			return hv_err_set(s->err, HV_E_CORRUPT, "%s: cannot read buffer instance %d", s->path, i);
		s->src[s->nsrc].in = in;
		s->src[s->nsrc].tep = tracecmd_get_tep(in);
		s->nsrc++;
	}
	s->ncpus = 0;
	for (int i = 0; i < s->nsrc; i++)
		if (tep_get_cpus(s->src[i].tep) > s->ncpus)
			s->ncpus = tep_get_cpus(s->src[i].tep);
	s->last_ts = calloc((size_t)s->ncpus + 1, sizeof *s->last_ts);
	s->pid_seen = calloc(0x400000 / 8, 1);
	if (!s->last_ts || !s->pid_seen)
		return hv_err_set(s->err, HV_E_NOMEM, "%s: out of memory", s->path);
	return 0;
}

static void td_free(struct td_state *s)
{
	for (int i = 0; i < s->nsrc; i++) {
		for (int j = 0; j < s->src[i].ntypes; j++)
			free(s->src[i].types[j]);
		free(s->src[i].types);
		if (i > 0)
			tracecmd_close(s->src[i].in);
	}
	free(s->last_ts);
	free(s->pids);
	free(s->pid_seen);
}

/* libtracecmd prints its own complaints to stderr; keep only errors. */
static int td_run(struct td_state *s, struct tracecmd_input *top)
{
	int rc = td_open_sources(s, top);
	if (rc < 0)
		return rc;
	if ((rc = td_meta(s, top)) < 0)
		return rc;
	struct tracecmd_input *ins[16];
	for (int i = 0; i < s->nsrc; i++)
		ins[i] = s->src[i].in;
	s->rc = 0;
	int r = tracecmd_iterate_events_multi(ins, s->nsrc, td_callback, s);
	if (s->rc < 0)
		return s->rc;
	if (r < 0)
		return hv_err_set(s->err, HV_E_CORRUPT, "%s: libtracecmd could not read the records", s->path);
	if (s->out_of_order &&
	    (rc = hv_store_stat_add(s->st, "tracedat_out_of_order", (int64_t)s->out_of_order,
				    "records with a timestamp before the previous record's", s->err)) < 0)
		return rc;
	return td_tasks(s);
}

/* Check the fixed initial header before libtracecmd sees the file: libtracecmd 1.3 frees
 * twice when a version 7 file ends inside its options offset. Layout: magic "\x17\x08\x44tracing",
 * version string, endian byte, long size byte, page size (u32); from version 7 on the
 * compression name and version strings and the u64 offset of the first options section. */
static int td_precheck(const char *path, struct hv_err *err)
{
	unsigned char h[256];
	FILE *f = fopen(path, "rb");
	if (!f)
		return hv_err_set(err, HV_E_IO, "%s: %s", path, strerror(errno));
	size_t n = fread(h, 1, sizeof h, f);
	long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	fclose(f);
	if (n < 10 || memcmp(h, "\x17\x08\x44tracing", 10) != 0)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset 0: not a trace-cmd trace.dat file (bad magic)", path);
	size_t p = 10;
	while (p < n && h[p])
		p++;
	if (p + 7 > n)
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %zu: file ends inside the initial header", path, n);
	long version = strtol((const char *)h + 10, NULL, 10);
	int big = h[p + 1];
	p += 7;
	if (version < 7)
		return 0;
	for (int s = 0; s < 2; s++) {
		while (p < n && h[p])
			p++;
		p++;
	}
	if (p + 8 > n)
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %zu: file ends inside the initial header", path, n);
	uint64_t opt = 0;
	for (int i = 0; i < 8; i++)
		opt |= (uint64_t)h[p + (big ? 7 - i : i)] << (8 * i);
	if (size < 0 || opt >= (uint64_t)size)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %zu: options section offset %llu lies beyond the file end (%ld)",
				  path, p, (unsigned long long)opt, size);
	return 0;
}

static int td_count_cb(struct tracecmd_input *in, struct tep_record *rec, int cpu, void *data)
{
	(void)in;
	(void)rec;
	(void)cpu;
	++*(unsigned long *)data;
	return 0;
}

/* libtracecmd 1.3 crashes (SIGSEGV, SIGFPE, absurd mallocs) on some corrupt files. Read the whole file once in
 * a child process first; if that child dies, refuse the file instead of crashing the caller. */
static int td_guard(const char *path, struct hv_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return 0;	/* cannot guard: read it directly */
	if (pid == 0) {
		struct tracecmd_input *top = tracecmd_open(path, TRACECMD_FL_LOAD_NO_PLUGINS);
		struct tracecmd_input *ins[16];
		unsigned long n = 0;
		int k = 0;
		if (!top)
			_exit(3);
		ins[k++] = top;
		for (int i = 0; i < tracecmd_buffer_instances(top) && k < 16; i++)
			if ((ins[k] = tracecmd_buffer_instance_handle(top, i)) != NULL)
				k++;
		tracecmd_iterate_events_multi(ins, k, td_count_cb, &n);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFSIGNALED(status))
		return hv_err_set(err, HV_E_CORRUPT, "%s: corrupt trace.dat: libtracecmd crashes reading it (signal %d)",
				  path, WTERMSIG(status));
	if (WEXITSTATUS(status) == 3)	/* (opening it here too would only leak libtracecmd's memory) */
		return hv_err_set(err, HV_E_CORRUPT, "%s: libtracecmd cannot open it (corrupt or truncated header)", path);
	if (WEXITSTATUS(status) != 0)	/* e.g. a sanitizer stopped it */
		return hv_err_set(err, HV_E_CORRUPT, "%s: corrupt trace.dat: libtracecmd fails reading it (status %d)",
				  path, WEXITSTATUS(status));
	return 0;
}

int hv_import_tracedat(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		       struct hv_import_result *res, struct hv_err *err)
{
	struct hv_import_result dummy;
	(void)o;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	int rc = td_precheck(path, err);
	if (rc < 0)
		return rc;
	tracecmd_set_loglevel(TEP_LOG_CRITICAL);
	if ((rc = td_guard(path, err)) < 0)
		return rc;
	tracecmd_set_loglevel(TEP_LOG_CRITICAL);
	struct tracecmd_input *top = tracecmd_open(path, TRACECMD_FL_LOAD_NO_PLUGINS);
	if (!top)
		return hv_err_set(err, HV_E_CORRUPT, "%s: libtracecmd cannot open it (corrupt or truncated header)", path);
	struct td_state s = { .path = path, .st = st, .res = res, .err = err };
	rc = td_run(&s, top);
	td_free(&s);
	tracecmd_close(top);
	return rc;
}

/* LeakSanitizer hook (used only in sanitizer builds, e.g. `make asan`): libtraceevent 1.7 leaks a
 * few bytes for every event format it fails to parse (several x86 kvm formats), and
 * libtracecmd 1.3 on some corrupt files; neither is ours to free. This object is linked into
 * every program that can read a trace.dat. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libtraceevent.so\nleak:libtracecmd.so\n";
}
