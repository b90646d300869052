/*
 * text_fmt: compiles a print format into a template and matches printed payloads against it,
 * recovering field values (see text_fmt.h). Used by the text importer only.
 */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text_fmt.h"

enum tf_kind { TF_LIT, TF_FIELD, TF_COND, TF_SYM, TF_FLAGS, TF_SKIP };

struct tf_pair {
	int64_t v;
	char *name;
};

struct tf_item {
	int kind;
	char *lit;		/* TF_LIT text; TF_COND true string */
	size_t litlen;
	char *alt;		/* TF_COND false string; TF_FLAGS delimiter */
	char conv;		/* d i u x X c p s */
	int field;		/* target field, -1 for none */
	int inexact;		/* target reached through an expression */
	struct tf_pair *pairs;	/* TF_SYM, TF_FLAGS; also the ternary's other strings (value -1) */
	int npairs;
};

struct hv_text_fmt {
	const struct hv_event_def *def;
	struct tf_item *items;
	int n, cap;
};

/* ---- small string helpers ---- */

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static const char *find_n(const char *hay, size_t n, const char *needle, size_t m)
{
	if (m == 0)
		return hay;
	for (size_t i = 0; i + m <= n; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* Trim spaces; strip parentheses enclosing the whole text. In place on [*b, *e). */
static void trim_expr(const char **b, const char **e)
{
	for (;;) {
		while (*b < *e && isspace((unsigned char)**b))
			(*b)++;
		while (*e > *b && isspace((unsigned char)(*e)[-1]))
			(*e)--;
		if (*e - *b < 2 || **b != '(' || (*e)[-1] != ')')
			return;
		int depth = 0;
		for (const char *p = *b; p < *e; p++) {
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0 && p != *e - 1)
				return;	/* "(a) op (b)" */
		}
		(*b)++;
		(*e)--;
	}
}

/* Next top-level occurrence of c in [b, e), outside quotes and brackets. */
static const char *top_level(const char *b, const char *e, char c)
{
	int depth = 0, q = 0;
	for (const char *p = b; p < e; p++) {
		if (q) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				q = 0;
			continue;
		}
		if (*p == c && depth == 0)
			return p;
		if (*p == '"')
			q = 1;
		else if (*p == '(' || *p == '{' || *p == '[')
			depth++;
		else if (*p == ')' || *p == '}' || *p == ']')
			depth--;
	}
	return NULL;
}

/* A quoted C string at [b, e) (after trimming) -> malloc'd unescaped text, or NULL. */
static char *unquote(const char *b, const char *e)
{
	trim_expr(&b, &e);
	if (e - b < 2 || *b != '"' || e[-1] != '"')
		return NULL;
	char *out = malloc((size_t)(e - b)), *o = out;
	if (!out)
		return NULL;
	for (const char *p = b + 1; p < e - 1; p++) {
		if (*p == '\\' && p + 1 < e - 1) {
			p++;
			*o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

static int field_index(const struct hv_event_def *def, const char *name, size_t n)
{
	for (unsigned i = 0; i < def->nfields; i++)
		if (strlen(def->fields[i].name) == n && memcmp(def->fields[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

static size_t ident_len(const char *p, const char *e)
{
	size_t n = 0;
	while (p + n < e && (isalnum((unsigned char)p[n]) || p[n] == '_'))
		n++;
	return n;
}

/* [b, e) is exactly REC->name: its field index, else -1. */
static int rec_field(const struct hv_event_def *def, const char *b, const char *e)
{
	trim_expr(&b, &e);
	if (e - b < 6 || memcmp(b, "REC->", 5) != 0)
		return -1;
	size_t n = ident_len(b + 5, e);
	return b + 5 + n == e ? field_index(def, b + 5, n) : -1;
}

/* The first (last=0) or last REC->name in [b, e): its field index, else -1. */
static int some_rec_field(const struct hv_event_def *def, const char *b, const char *e, int last)
{
	int f = -1;
	for (const char *p = b; (p = find_n(p, (size_t)(e - p), "REC->", 5)) != NULL; p += 5) {
		f = field_index(def, p + 5, ident_len(p + 5, e));
		if (!last)
			return f;
	}
	return f;
}

/* ---- integer constant expressions: | & << >> + - ~ unary -, parentheses ---- */

static int64_t ev_or(const char **p, const char *e);

static void ev_space(const char **p, const char *e)
{
	while (*p < e && isspace((unsigned char)**p))
		(*p)++;
}

static int64_t ev_unary(const char **p, const char *e)
{
	ev_space(p, e);
	if (*p < e && **p == '(') {
		(*p)++;
		int64_t v = ev_or(p, e);
		ev_space(p, e);
		if (*p < e && **p == ')')
			(*p)++;
		return v;
	}
	if (*p < e && **p == '-') {
		(*p)++;
		return -ev_unary(p, e);
	}
	if (*p < e && **p == '~') {
		(*p)++;
		return ~ev_unary(p, e);
	}
	char *end;
	int64_t v = (int64_t)strtoull(*p, &end, 0);
	*p = end > *p && end <= e ? end : e;
	while (*p < e && (**p == 'U' || **p == 'L' || **p == 'u' || **p == 'l'))
		(*p)++;
	return v;
}

static int64_t ev_shift(const char **p, const char *e)
{
	int64_t v = ev_unary(p, e);
	for (;;) {
		ev_space(p, e);
		if (e - *p >= 2 && (*p)[0] == '<' && (*p)[1] == '<') {
			*p += 2;
			v = (int64_t)((uint64_t)v << (ev_unary(p, e) & 63));
		} else if (e - *p >= 2 && (*p)[0] == '>' && (*p)[1] == '>') {
			*p += 2;
			v >>= ev_unary(p, e) & 63;
		} else if (*p < e && (**p == '+' || **p == '-')) {
			char op = *(*p)++;
			int64_t r = ev_unary(p, e);
			v = op == '+' ? v + r : v - r;
		} else {
			return v;
		}
	}
}

static int64_t ev_and(const char **p, const char *e)
{
	int64_t v = ev_shift(p, e);
	for (ev_space(p, e); *p < e && **p == '&'; ev_space(p, e)) {
		(*p)++;
		v &= ev_shift(p, e);
	}
	return v;
}

static int64_t ev_or(const char **p, const char *e)
{
	int64_t v = ev_and(p, e);
	for (ev_space(p, e); *p < e && **p == '|'; ev_space(p, e)) {
		(*p)++;
		v |= ev_and(p, e);
	}
	return v;
}

/* ---- compiling ---- */

static struct tf_item *new_item(struct hv_text_fmt *f, int kind)
{
	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 16;
		void *p = realloc(f->items, (size_t)cap * sizeof *f->items);
		if (!p)
			return NULL;
		f->items = p;
		f->cap = cap;
	}
	struct tf_item *it = &f->items[f->n++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->field = -1;
	return it;
}

static int add_pair(struct tf_item *it, int64_t v, char *name)
{
	void *p = realloc(it->pairs, (size_t)(it->npairs + 1) * sizeof *it->pairs);
	if (!p || !name) {
		free(name);
		if (p)
			it->pairs = p;
		return -1;
	}
	it->pairs = p;
	it->pairs[it->npairs].v = v;
	it->pairs[it->npairs++].name = name;
	return 0;
}

/* __print_symbolic(EXPR, {v, "n"}, ...) / __print_flags(EXPR, "delim", {v, "n"}, ...) at call
 * (pointing at the opening parenthesis) in arg [b, e). */
static int compile_table(const struct hv_event_def *def, struct tf_item *it, const char *b, const char *e,
			 const char *call, int flags)
{
	const char *close = top_level(call + 1, e, ')');
	if (!close)
		return -1;
	const char *a = call + 1, *c = top_level(a, close, ',');
	if (!c)
		return -1;
	const char *xb = a, *xe = c;
	trim_expr(&xb, &xe);
	it->field = rec_field(def, xb, xe);
	if (it->field < 0) {
		it->field = some_rec_field(def, xb, xe, !flags);
		it->inexact = !flags;	/* flags: REC->f & mask still gives the printed bits */
	}
	a = c + 1;
	if (flags) {
		c = top_level(a, close, ',');
		it->alt = c ? unquote(a, c) : NULL;
		if (!it->alt)
			return -1;
		a = c + 1;
	}
	while (a < close) {
		c = top_level(a, close, ',');
		const char *pe = c ? c : close, *pb = a;
		trim_expr(&pb, &pe);
		if (pe - pb >= 2 && *pb == '{' && pe[-1] == '}') {
			const char *comma = top_level(pb + 1, pe - 1, ',');
			if (!comma)
				return -1;
			const char *vb = pb + 1;
			if (add_pair(it, ev_or(&vb, comma), unquote(comma + 1, pe - 1)) < 0)
				return -1;
		}
		a = pe + (c ? 1 : 0);
		if (!c)
			break;
	}
	/* quoted strings outside the call (the other branch of a ternary) print for other values */
	for (const char *p = b; p < e; p++) {
		if (p == call) {
			p = close;
			continue;
		}
		if (*p == '"') {
			const char *q = p + 1;
			while (q < e && *q != '"')
				q += *q == '\\' ? 2 : 1;
			if (q >= e || add_pair(it, flags ? 0 : INT64_MIN, unquote(p, q + 1)) < 0)
				return -1;
			p = q;
		}
	}
	return 0;
}

static int compile_arg(const struct hv_event_def *def, struct tf_item *it, const char *b, const char *e)
{
	trim_expr(&b, &e);
	const char *call;
	if ((call = find_n(b, (size_t)(e - b), "__print_symbolic(", 17)) != NULL) {
		it->kind = TF_SYM;
		return compile_table(def, it, b, e, call + 16, 0);
	}
	if ((call = find_n(b, (size_t)(e - b), "__print_flags(", 14)) != NULL) {
		it->kind = TF_FLAGS;
		return compile_table(def, it, b, e, call + 13, 1);
	}
	const char *q = top_level(b, e, '?');
	if (q) {
		const char *colon = top_level(q + 1, e, ':');
		int f = rec_field(def, b, q);
		char *t = colon ? unquote(q + 1, colon) : NULL, *fl = colon ? unquote(colon + 1, e) : NULL;
		if (f >= 0 && t && fl) {
			it->kind = TF_COND;
			it->field = f;
			it->lit = t;
			it->alt = fl;
			return 0;
		}
		free(t);
		free(fl);
		it->kind = TF_SKIP;
		return 0;
	}
	if (e - b > 10 && memcmp(b, "__get_str(", 10) == 0) {
		it->kind = TF_FIELD;
		it->field = field_index(def, b + 10, ident_len(b + 10, e));
		return 0;
	}
	it->field = rec_field(def, b, e);
	it->kind = it->field >= 0 ? TF_FIELD : TF_SKIP;
	return 0;
}

/* One conversion "%[flags][width][.prec][length]conv" at *p (after '%'): its conv char. */
static char read_conv(const char **p, const char *e)
{
	while (*p < e && strchr("-+ #0123456789.*hlLzjt", **p))
		(*p)++;
	return *p < e ? *(*p)++ : 0;
}

static int compile_fmt(struct hv_text_fmt *f, const char *fmt, const char *args, const char *args_end)
{
	const char *p = fmt, *lit = fmt, *e = fmt + strlen(fmt), *a = args;
	while (p < e) {
		if (*p != '%') {
			p++;
			continue;
		}
		if (p + 1 < e && p[1] == '%') {	/* "%%": keep one '%' in the literal */
			struct tf_item *it = new_item(f, TF_LIT);
			if (!it || !(it->lit = dup_n(lit, (size_t)(p + 1 - lit))))
				return -1;
			it->litlen = strlen(it->lit);
			p += 2;
			lit = p;
			continue;
		}
		if (p > lit) {
			struct tf_item *it = new_item(f, TF_LIT);
			if (!it || !(it->lit = dup_n(lit, (size_t)(p - lit))))
				return -1;
			it->litlen = strlen(it->lit);
		}
		p++;
		char conv = read_conv(&p, e);
		lit = p;
		if (!conv || !a || a >= args_end)
			return -1;
		const char *c = top_level(a, args_end, ',');
		struct tf_item *it = new_item(f, TF_SKIP);
		if (!it)
			return -1;
		it->conv = conv;
		if (compile_arg(f->def, it, a, c ? c : args_end) < 0)
			return -1;
		a = c ? c + 1 : args_end;
	}
	/* trailing literal, without trailing whitespace (printed lines are trimmed) */
	while (e > lit && isspace((unsigned char)e[-1]))
		e--;
	if (e > lit) {
		struct tf_item *it = new_item(f, TF_LIT);
		if (!it || !(it->lit = dup_n(lit, (size_t)(e - lit))))
			return -1;
		it->litlen = strlen(it->lit);
	}
	return 0;
}

void hv_text_fmt_free(struct hv_text_fmt *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++) {
		free(f->items[i].lit);
		free(f->items[i].alt);
		for (int j = 0; j < f->items[i].npairs; j++)
			free(f->items[i].pairs[j].name);
		free(f->items[i].pairs);
	}
	free(f->items);
	free(f);
}

int hv_text_fmt_compile(const struct hv_event_def *def, struct hv_text_fmt **out)
{
	*out = NULL;
	const char *pf = def->print_fmt;
	if (!pf)
		return -1;
	while (isspace((unsigned char)*pf))
		pf++;
	if (*pf != '"')
		return -1;
	const char *q = pf + 1;
	while (*q && *q != '"')
		q += (*q == '\\' && q[1]) ? 2 : 1;
	if (*q != '"')
		return -1;
	char *fmt = unquote(pf, q + 1);
	struct hv_text_fmt *f = calloc(1, sizeof *f);
	if (!fmt || !f) {
		free(fmt);
		free(f);
		return -1;
	}
	f->def = def;
	const char *args = q + 1, *end = args + strlen(args);
	while (args < end && isspace((unsigned char)*args))
		args++;
	if (args < end && *args == ',')
		args++;
	int rc = compile_fmt(f, fmt, args, end);
	free(fmt);
	if (rc < 0) {
		hv_text_fmt_free(f);
		return -1;
	}
	*out = f;
	return 0;
}

/* ---- parsing ---- */

static int64_t normalize(const struct hv_field_def *fd, uint64_t v)
{
	if (fd->size >= 8)
		return (int64_t)v;
	uint64_t mask = (1ULL << (fd->size * 8)) - 1;
	v &= mask;
	if (fd->is_signed && (v >> (fd->size * 8 - 1)))
		v |= ~mask;
	return (int64_t)v;
}

static int parse_number(char conv, const char *p, const char *e, const char **end, uint64_t *v)
{
	char buf[72];
	size_t n = (size_t)(e - p) < sizeof buf - 1 ? (size_t)(e - p) : sizeof buf - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	char *ep;
	if (conv == 'c') {
		if (!n)
			return -1;
		*v = (unsigned char)buf[0];
		*end = p + 1;
		return 0;
	}
	if (conv == 'x' || conv == 'X' || conv == 'p')
		*v = strtoull(buf, &ep, 16);
	else if (conv == 'd' || conv == 'i')
		*v = (uint64_t)strtoll(buf, &ep, 10);
	else
		*v = strtoull(buf, &ep, 10);
	if (ep == buf)
		return -1;
	*end = p + (ep - buf);
	return 0;
}

static int lookup_pairs(const struct tf_item *it, const char *t, size_t n, int64_t *v)
{
	for (int i = 0; i < it->npairs; i++)
		if (strlen(it->pairs[i].name) == n && memcmp(it->pairs[i].name, t, n) == 0) {
			*v = it->pairs[i].v;
			return 0;
		}
	return -1;
}

/* A symbolic or flags token -> value; 1 when it was not determined. */
static int token_value(const struct tf_item *it, const char *t, size_t n, int64_t *v)
{
	if (lookup_pairs(it, t, n, v) == 0)
		return *v == INT64_MIN;
	if (it->kind == TF_FLAGS) {
		size_t dl = strlen(it->alt);
		int64_t acc = 0, x;
		while (n) {
			const char *d = dl ? find_n(t, n, it->alt, dl) : NULL;
			size_t k = d ? (size_t)(d - t) : n;
			char tmp[32];
			if (lookup_pairs(it, t, k, &x) == 0) {
				acc |= x;
			} else if (k && k < sizeof tmp) {
				char *ep;
				memcpy(tmp, t, k);
				tmp[k] = 0;
				acc |= (int64_t)strtoull(tmp, &ep, 0);
				if (*ep)	/* e.g. "R+" from a kernel whose format adds a marker */
					return 1;
			} else {
				return 1;
			}
			t += k + (d ? dl : 0);
			n -= k + (d ? dl : 0);
		}
		*v = acc;
		return 0;
	}
	char tmp[32], *ep;
	if (n == 0 || n >= sizeof tmp)
		return 1;
	memcpy(tmp, t, n);
	tmp[n] = 0;
	*v = (int64_t)strtoull(tmp, &ep, 0);
	if (*ep && tmp[0] == '-')
		*v = strtoll(tmp, &ep, 0);
	return *ep != 0;
}

struct tf_out {
	const struct hv_event_def *def;
	struct hv_value *vals;
	unsigned char *unknown;
	char *scratch;
	size_t n, used;
};

static int store_text(struct tf_out *o, int field, const char *t, size_t n)
{
	const struct hv_field_def *fd = &o->def->fields[field];
	if (fd->kind == HV_FK_BLOB)
		return 0;	/* stays unknown */
	if (fd->kind == HV_FK_INT) {
		uint64_t v;
		const char *end;
		if (parse_number('u', t, t + n, &end, &v) < 0 || end != t + n)
			return 0;
		o->vals[field].i = normalize(fd, v);
		o->unknown[field] = 0;
		return 0;
	}
	if (o->used + n + 1 > o->n)
		return -1;
	memcpy(o->scratch + o->used, t, n);
	o->scratch[o->used + n] = 0;
	o->vals[field].p = o->scratch + o->used;
	o->vals[field].len = (uint32_t)n;
	o->used += n + 1;
	o->unknown[field] = 0;
	return 0;
}

static void store_int(struct tf_out *o, int field, int64_t v, int exact)
{
	if (field < 0)
		return;
	o->vals[field].i = normalize(&o->def->fields[field], (uint64_t)v);
	o->unknown[field] = !exact;
}

/* Where the text of conversion item i ends: before the next literal, or at the end. */
static const char *token_end(const struct hv_text_fmt *f, int i, const char *p, const char *e)
{
	if (i + 1 < f->n && f->items[i + 1].kind == TF_LIT)
		return find_n(p, (size_t)(e - p), f->items[i + 1].lit, f->items[i + 1].litlen);
	return i + 1 == f->n ? e : NULL;
}

static int is_numeric_conv(char c)
{
	return c && strchr("diuxXcp", c) != NULL;
}

int hv_text_fmt_parse(const struct hv_text_fmt *f, const char *payload, size_t len, struct hv_value *vals,
		      unsigned char *unknown, char *scratch, size_t n)
{
	const struct hv_event_def *def = f->def;
	const char *p = payload, *e = payload + len;
	struct tf_out o = { def, vals, unknown, scratch, n, 0 };
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	for (unsigned i = 0; i < def->nfields; i++) {
		vals[i].i = 0;
		vals[i].p = NULL;
		vals[i].len = 0;
		unknown[i] = 1;
	}
	for (int i = 0; i < f->n; i++) {
		const struct tf_item *it = &f->items[i];
		/* a field a conversion writes belongs to the event */
		assert(it->field < (int)def->nfields);
		if (it->kind == TF_LIT) {
			if ((size_t)(e - p) < it->litlen || memcmp(p, it->lit, it->litlen) != 0)
				return -1;
			p += it->litlen;
			continue;
		}
		if ((it->kind == TF_FIELD || it->kind == TF_SKIP) && is_numeric_conv(it->conv)) {
			uint64_t v;
			if (parse_number(it->conv, p, e, &p, &v) < 0)
				return -1;
			if (it->kind == TF_FIELD)
				store_int(&o, it->field, (int64_t)v, 1);
			continue;
		}
		const char *t = p, *te = token_end(f, i, p, e);
		if (!te)
			return -1;
		p = te;
		size_t tn = (size_t)(te - t);
		int64_t v;
		if (it->kind == TF_FIELD && it->field >= 0) {
			if (store_text(&o, it->field, t, tn) < 0)
				return -1;
		} else if (it->kind == TF_COND) {
			if (tn == strlen(it->lit) && memcmp(t, it->lit, tn) == 0)
				store_int(&o, it->field, 1, 1);
			else if (tn == strlen(it->alt) && memcmp(t, it->alt, tn) == 0)
				store_int(&o, it->field, 0, 1);
			else
				return -1;
		} else if (it->kind == TF_SYM || it->kind == TF_FLAGS) {
			int unsure = token_value(it, t, tn, &v);
			if (unsure)
				v = 0;
			store_int(&o, it->field, v, !unsure && !it->inexact);
		}
	}
	return p == e ? 0 : -1;
}
