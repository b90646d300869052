/*
 * perf.data importer, stage 5: tracepoint payloads into typed store rows.
 *
 * The tracing-data blob (HEADER_TRACING_DATA feature, or the out-of-band blob of a pipe-mode
 * record) is the trace-cmd "tracing" format: magic, version, the recording host's endianness,
 * long size and page size, header_page, header_event, ftrace and per-system event formats,
 * kallsyms, printk formats and saved cmdlines. Everything goes into one libtraceevent handle
 * set to the file's byte order. The first payload of each ftrace event id builds a
 * `struct hv_event_def` from the tep event (fields, offsets, sizes, signedness, kind, long)
 * and registers it with hv_store_add_type, which maps it to hvtrace's own table when the
 * layout matches and otherwise builds the table from the file's format. The tep fields are
 * looked up once per type; each payload is then decoded with raw, endian-aware reads at
 * those offsets (what tep_read_number_field does), never by parsing printed text.
 */
#include <stdio.h>
#include <stdlib.h>

#include <traceevent/event-parse.h>

#include "perf_int.h"

struct dec_field {
	uint16_t off, size;
	uint8_t kind, is_signed, dynamic, relative;
};

struct dec_type {
	int store;		/* store type handle, or -1: payloads of this id are skipped */
	int nfields;
	int all_int;
	uint32_t min_len;	/* payload bytes the fixed fields need */
	struct dec_field *f;
};

struct fmt_text {
	int id;
	char *text;
};

struct perf_decode {
	struct tep_handle *tep;
	int swap;		/* payload byte order differs from this host */
	int long_size;
	struct dec_type *types[65536];
	struct fmt_text *fmts;
	int nfmts, cap_fmts;
	int64_t *ivals;
	struct hv_value *vals;
	int nvals;
	uint64_t unknown_ids, short_payloads;
};

struct perf_decode *perf_decode_new(void)
{
	return calloc(1, sizeof(struct perf_decode));
}

void perf_decode_free(struct perf_decode *d)
{
	if (!d)
		return;
	for (int i = 0; i < 65536; i++)
		if (d->types[i]) {
			free(d->types[i]->f);
			free(d->types[i]);
		}
	for (int i = 0; i < d->nfmts; i++)
		free(d->fmts[i].text);
	free(d->fmts);
	free(d->ivals);
	free(d->vals);
	if (d->tep)
		tep_free(d->tep);
	free(d);
}

/* ---- the tracing-data blob ---- */

struct blob {
	const uint8_t *p;
	uint64_t n, pos;
	int swap;
	int bad;
};

static const uint8_t *blob_take(struct blob *b, uint64_t k)
{
	if (b->bad || b->n - b->pos < k) {
		b->bad = 1;
		return NULL;
	}
	const uint8_t *q = b->p + b->pos;
	b->pos += k;
	return q;
}

static uint32_t blob_u32(struct blob *b)
{
	const uint8_t *q = blob_take(b, 4);
	return q ? pr32(b->swap, q) : 0;
}

static uint64_t blob_u64(struct blob *b)
{
	const uint8_t *q = blob_take(b, 8);
	return q ? pr64(b->swap, q) : 0;
}

static const char *blob_cstr(struct blob *b)
{
	if (b->bad)
		return NULL;
	const void *z = memchr(b->p + b->pos, 0, b->n - b->pos);
	if (!z) {
		b->bad = 1;
		return NULL;
	}
	const char *s = (const char *)b->p + b->pos;
	b->pos = (uint64_t)((const uint8_t *)z - b->p) + 1;
	return s;
}

/* NUL-terminated copy of k bytes. */
static char *blob_text(struct blob *b, uint64_t k)
{
	const uint8_t *q = blob_take(b, k);
	if (!q)
		return NULL;
	char *s = malloc(k + 1);
	if (!s) {
		b->bad = 1;
		return NULL;
	}
	memcpy(s, q, k);
	s[k] = 0;
	return s;
}

static int keep_format(struct perf_decode *d, char *text)
{
	const char *idl = strstr(text, "\nID: ");
	if (!idl) {
		free(text);
		return 0;
	}
	if (d->nfmts == d->cap_fmts) {
		int cap = d->cap_fmts ? d->cap_fmts * 2 : 256;
		void *q = realloc(d->fmts, (size_t)cap * sizeof *d->fmts);
		if (!q) {
			free(text);
			return -1;
		}
		d->fmts = q;
		d->cap_fmts = cap;
	}
	d->fmts[d->nfmts].id = atoi(idl + 5);
	d->fmts[d->nfmts].text = text;
	d->nfmts++;
	return 0;
}

static const char *format_text(const struct perf_decode *d, int id)
{
	for (int i = d->nfmts - 1; i >= 0; i--)
		if (d->fmts[i].id == id)
			return d->fmts[i].text;
	return NULL;
}

static int parse_formats(struct perf_reader *r, struct perf_decode *d, struct blob *b, const char *sys,
			 uint64_t off, struct hv_err *err)
{
	uint32_t count = blob_u32(b);
	for (uint32_t i = 0; i < count && !b->bad; i++) {
		uint64_t sz = blob_u64(b);
		char *text = blob_text(b, sz);
		if (!text)
			break;
		if (!sys) {	/* ftrace internal formats: not needed */
			free(text);
			continue;
		}
		if (tep_parse_event(d->tep, text, sz, sys) != 0) {
			char key[160];
			snprintf(key, sizeof key, "perf.format_parse_failed.%s", sys);
			int rc = perf_stat(r, key, 1, "libtraceevent could not parse an event format", err);
			if (rc < 0) {
				free(text);
				return rc;
			}
		}
		if (keep_format(d, text) < 0)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	}
	if (b->bad)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data: event formats%s%s are cut short",
				  r->path, (unsigned long long)(off + b->pos), sys ? " of " : "", sys ? sys : "");
	return 0;
}

static int set_env_meta(struct perf_reader *r, struct perf_decode *d, uint32_t page, struct hv_err *err)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%d", d->long_size);
	int rc = hv_store_set_meta(r->st, "long_size", buf, err);
	snprintf(buf, sizeof buf, "%u", page);
	if (rc == 0)
		rc = hv_store_set_meta(r->st, "page_size", buf, err);
	return rc;
}

int perf_decode_tracing_data(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off,
			     uint64_t *used, struct hv_err *err)
{
	struct perf_decode *d = r->dec;
	struct blob b = { p, n, 0, 0, 0 };
	static const uint8_t magic[10] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g' };
	*used = 0;
	if (r->have_tracing)
		return perf_stat(r, "perf.duplicate_tracing_data", 1, "second tracing data blob ignored", err);
	const uint8_t *m = blob_take(&b, 10);
	if (!m || memcmp(m, magic, 10) != 0)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data does not start with the tracing magic",
				  r->path, (unsigned long long)off);
	const char *version = blob_cstr(&b);
	const uint8_t *env = blob_take(&b, 2);
	if (!version || !env)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data header cut short", r->path,
				  (unsigned long long)off);
	int file_be = env[0] != 0, host_be = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	b.swap = file_be != host_be;
	d->swap = b.swap;
	d->long_size = env[1];
	uint32_t page = blob_u32(&b);
	if (d->long_size != 4 && d->long_size != 8)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data long size %d", r->path,
				  (unsigned long long)off, d->long_size);
	if (file_be != (r->swap ? !host_be : host_be)) {
		int rc = perf_stat(r, "perf.tracing_data_endian_differs", 1,
				   "the tracing data's endian flag disagrees with the file magic; payloads decoded as the flag says", err);
		if (rc < 0)
			return rc;
	}
	d->tep = tep_alloc();
	if (!d->tep)
		return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
	tep_set_file_bigendian(d->tep, file_be ? TEP_BIG_ENDIAN : TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(d->tep, host_be ? TEP_BIG_ENDIAN : TEP_LITTLE_ENDIAN);
	tep_set_long_size(d->tep, d->long_size);
	tep_set_page_size(d->tep, (int)page);
	const char *hp = blob_cstr(&b);
	if (!hp || strcmp(hp, "header_page") != 0)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data: header_page missing", r->path,
				  (unsigned long long)(off + b.pos));
	uint64_t sz = blob_u64(&b);
	char *text = blob_text(&b, sz);
	if (!text)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data: header_page cut short", r->path,
				  (unsigned long long)(off + b.pos));
	if (tep_parse_header_page(d->tep, text, sz, d->long_size) == 0) {
		/* the page's commit field is a long of the recording kernel: trust it (as perf does) */
		int hl = tep_get_header_page_size(d->tep);
		if (hl == 4 || hl == 8)
			d->long_size = hl;
		tep_set_long_size(d->tep, d->long_size);
	}
	free(text);
	const char *he = blob_cstr(&b);
	if (!he || strcmp(he, "header_event") != 0)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data: header_event missing", r->path,
				  (unsigned long long)(off + b.pos));
	sz = blob_u64(&b);
	blob_take(&b, sz);
	int rc = parse_formats(r, d, &b, NULL, off, err);
	if (rc < 0)
		return rc;
	uint32_t nsys = blob_u32(&b);
	for (uint32_t i = 0; i < nsys && !b.bad; i++) {
		const char *sys = blob_cstr(&b);
		if (!sys)
			break;
		rc = parse_formats(r, d, &b, sys, off, err);
		if (rc < 0)
			return rc;
	}
	if (b.bad)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: tracing data: event systems cut short", r->path,
				  (unsigned long long)(off + b.pos));
	r->have_tracing = 1;
	r->long_size = d->long_size;
	rc = set_env_meta(r, d, page, err);
	if (rc < 0)
		return rc;
	/* kallsyms, printk formats, saved cmdlines: useful but optional */
	uint32_t ks = blob_u32(&b);
	blob_take(&b, ks);
	uint32_t ps = blob_u32(&b);
	text = blob_text(&b, ps);
	if (text) {
		if (ps)
			tep_parse_printk_formats(d->tep, text);
		free(text);
	}
	if (!b.bad && strcmp(version, "0.6") >= 0) {
		uint64_t cs = blob_u64(&b);
		text = blob_text(&b, cs);
		if (text) {
			if (cs)
				tep_parse_saved_cmdlines(d->tep, text);
			free(text);
		}
	}
	if (b.bad)
		rc = perf_stat(r, "perf.tracing_data_tail_missing", 1, "printk formats or saved cmdlines cut short", err);
	*used = b.pos;
	return rc;
}

/* ---- per-type definitions ---- */

static int field_kind(const struct tep_format_field *f)
{
	if (f->flags & TEP_FIELD_IS_DYNAMIC)
		return HV_FK_BLOB;
	if (f->flags & TEP_FIELD_IS_ARRAY) {
		if (f->elementsize == 1 && strncmp(f->type, "char", 4) == 0)
			return HV_FK_STR;
		return HV_FK_BLOB;
	}
	if (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8)
		return HV_FK_INT;
	return HV_FK_BLOB;
}

static const char *print_fmt_of(const char *text, char *buf, size_t n)
{
	const char *p = text ? strstr(text, "print fmt: ") : NULL;
	if (!p)
		return "";
	p += 11;
	size_t k = strcspn(p, "\n");
	if (k >= n)
		k = n - 1;
	memcpy(buf, p, k);
	buf[k] = 0;
	return buf;
}

/* Build the store type of ftrace event id from the tep event. */
static struct dec_type *make_type(struct perf_reader *r, struct perf_decode *d, int id, struct hv_err *err)
{
	struct dec_type *t = calloc(1, sizeof *t);
	if (!t) {
		hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
		return NULL;
	}
	t->store = -1;
	d->types[id] = t;
	struct tep_event *ev = d->tep ? tep_find_event(d->tep, id) : NULL;
	if (!ev)
		return t;
	struct tep_format_field **ff = tep_event_fields(ev);
	if (!ff)
		return t;
	int nf = 0;
	while (ff[nf])
		nf++;
	struct hv_field_def *fd = calloc((size_t)nf + 1, sizeof *fd);
	t->f = calloc((size_t)nf + 1, sizeof *t->f);
	if (!fd || !t->f) {
		free(fd);
		free(ff);
		hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
		return NULL;
	}
	uint32_t size = 8;
	t->all_int = 1;
	for (int i = 0; i < nf; i++) {
		const struct tep_format_field *f = ff[i];
		struct dec_field *x = &t->f[i];
		x->off = (uint16_t)f->offset;
		x->size = (uint16_t)f->size;
		x->kind = (uint8_t)field_kind(f);
		x->is_signed = (f->flags & TEP_FIELD_IS_SIGNED) != 0;
		x->dynamic = (f->flags & TEP_FIELD_IS_DYNAMIC) != 0;
		x->relative = (f->flags & TEP_FIELD_IS_RELATIVE) != 0;
		if (x->kind != HV_FK_INT)
			t->all_int = 0;
		fd[i].name = f->name;
		fd[i].ctype = f->type;
		fd[i].offset = x->off;
		fd[i].size = x->size;
		fd[i].is_signed = x->is_signed;
		fd[i].kind = x->kind;
		fd[i].is_long = (f->flags & TEP_FIELD_IS_LONG) != 0 ||
				(strstr(f->type, "long") && !strstr(f->type, "long long"));
		if ((uint32_t)f->offset + (uint32_t)f->size > size)
			size = (uint32_t)f->offset + (uint32_t)f->size;
	}
	t->nfields = nf;
	t->min_len = size;
	char pf[8192];
	struct hv_event_def def = {
		.system = ev->system, .name = ev->name, .id = (uint16_t)id, .nfields = (uint16_t)nf,
		.size = (uint16_t)size, .fields = fd,
	};
	const char *text = format_text(d, id);
	def.format = text;
	def.print_fmt = print_fmt_of(text, pf, sizeof pf);
	int h = hv_store_add_type(r->st, &def, "format", err);
	free(fd);
	free(ff);
	if (h < 0)
		return NULL;
	t->store = h;
	if (nf > d->nvals) {
		free(d->ivals);
		free(d->vals);
		d->ivals = calloc((size_t)nf, sizeof *d->ivals);
		d->vals = calloc((size_t)nf, sizeof *d->vals);
		d->nvals = nf;
		if (!d->ivals || !d->vals) {
			d->nvals = 0;
			hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
			return NULL;
		}
	}
	return t;
}

static inline int64_t read_int(int swap, const uint8_t *p, unsigned size, int is_signed)
{
	switch (size) {
	case 1:
		return is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
	case 2: {
		uint16_t v = pr16(swap, p);
		return is_signed ? (int64_t)(int16_t)v : (int64_t)v;
	}
	case 4: {
		uint32_t v = pr32(swap, p);
		return is_signed ? (int64_t)(int32_t)v : (int64_t)v;
	}
	default:
		return (int64_t)pr64(swap, p);
	}
}

int perf_decode_emit(struct perf_reader *r, uint64_t ts, int32_t cpu, int32_t pid, const uint8_t *raw,
		     uint32_t len, struct hv_err *err)
{
	struct perf_decode *d = r->dec;
	if (len < 2)
		goto short_payload;
	int id = pr16(d->swap, raw);
	struct dec_type *t = d->types[id];
	if (!t && !(t = make_type(r, d, id, err)))
		return err ? err->code : HV_E_NOMEM;
	if (t->store < 0) {
		d->unknown_ids++;
		return 0;
	}
	if (len < t->min_len)
		goto short_payload;
	if (r->res->events == 0)
		r->res->ts_first = ts;
	r->res->ts_last = ts;
	r->res->events++;
	if (t->all_int) {
		for (int i = 0; i < t->nfields; i++)
			d->ivals[i] = read_int(d->swap, raw + t->f[i].off, t->f[i].size, t->f[i].is_signed);
		return hv_store_append_ints(r->st, t->store, ts, cpu, pid, d->ivals, err);
	}
	for (int i = 0; i < t->nfields; i++) {
		const struct dec_field *f = &t->f[i];
		struct hv_value *v = &d->vals[i];
		v->p = NULL;
		v->len = 0;
		v->i = 0;
		if (f->kind == HV_FK_INT) {
			v->i = read_int(d->swap, raw + f->off, f->size, f->is_signed);
		} else if (f->dynamic) {
			uint32_t loc = f->size >= 4 ? pr32(d->swap, raw + f->off) : 0;
			uint32_t o = loc & 0xffff, l = loc >> 16;
			if (f->relative)
				o += (uint32_t)f->off + f->size;
			if (o <= len && l <= len - o) {
				v->p = raw + o;
				v->len = l;
			} else {
				d->short_payloads++;
				v->p = raw;	/* empty value rather than NULL: the event exists */
			}
		} else {
			v->p = raw + f->off;
			v->len = f->size;
		}
	}
	return hv_store_append(r->st, t->store, ts, cpu, pid, d->vals, err);
short_payload:
	d->short_payloads++;
	return 0;
}

int perf_decode_stats(struct perf_reader *r, struct hv_err *err)
{
	struct perf_decode *d = r->dec;
	int rc = 0;
	if (d->unknown_ids)
		rc = perf_stat(r, "perf.unknown_event_id", (int64_t)d->unknown_ids,
			       "tracepoint payloads whose common_type has no format in the tracing data", err);
	if (rc == 0 && d->short_payloads)
		rc = perf_stat(r, "perf.short_payload", (int64_t)d->short_payloads,
			       "tracepoint payloads shorter than their format, skipped", err);
	return rc;
}
