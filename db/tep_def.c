/*
 * tep_def: converts libtraceevent event formats into hvtrace event definitions and decodes raw
 * records with the looked-up fields (see tep_def.h). Used by the trace.dat importer.
 */
#include <string.h>

#include "tep_def.h"

static uint8_t field_kind(const struct tep_format_field *f)
{
	if (f->flags & TEP_FIELD_IS_DYNAMIC)
		return HV_FK_BLOB;
	if (f->flags & TEP_FIELD_IS_ARRAY)
		return (f->flags & TEP_FIELD_IS_STRING) ? HV_FK_STR : HV_FK_BLOB;
	if (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8)
		return HV_FK_INT;
	return HV_FK_BLOB;
}

int hv_tep_event_def(struct tep_event *e, struct hv_event_def *out, struct hv_field_def *fields, int max,
		     struct tep_format_field **tf)
{
	int n = 0, end = 0;
	memset(out, 0, sizeof *out);
	for (struct tep_format_field *f = e->format.common_fields; f; f = f->next)
		if (f->offset + f->size > end)
			end = f->offset + f->size;
	for (struct tep_format_field *f = e->format.fields; f; f = f->next) {
		if (n == max)
			return -1;
		struct hv_field_def *d = &fields[n];
		memset(d, 0, sizeof *d);
		d->name = f->name;
		d->column = f->name;
		d->ctype = f->type;
		d->offset = (uint16_t)f->offset;
		d->size = (uint16_t)f->size;
		d->is_signed = (f->flags & TEP_FIELD_IS_SIGNED) != 0;
		d->kind = field_kind(f);
		d->is_long = (f->flags & TEP_FIELD_IS_LONG) != 0;
		if (tf)
			tf[n] = f;
		n++;
		if (f->offset + f->size > end)
			end = f->offset + f->size;
	}
	out->system = e->system;
	out->name = e->name;
	out->id = (uint16_t)e->id;
	out->nfields = (uint16_t)n;
	out->size = (uint16_t)end;
	out->fields = fields;
	out->print_fmt = e->print_fmt.format;
	return n;
}

static int64_t sign_extend(uint64_t v, int size)
{
	if (size >= 8)
		return (int64_t)v;
	uint64_t m = 1ULL << (size * 8 - 1);
	v &= (m << 1) - 1;
	return (int64_t)((v ^ m) - m);
}

/* Dynamic field: a 32-bit word, offset in the low half, length in the high half; __rel_loc
 * offsets count from the end of the word. */
static int decode_dynamic(struct tep_format_field *f, const uint8_t *data, int size, struct hv_value *v)
{
	unsigned long long loc;
	if (tep_read_number_field(f, data, &loc) < 0)
		return 1;
	uint32_t off = (uint32_t)(loc & 0xffff), len = (uint32_t)(loc >> 16) & 0xffff;
	if (f->flags & TEP_FIELD_IS_RELATIVE)
		off += (uint32_t)(f->offset + f->size);
	if ((uint64_t)off + len > (uint64_t)size)
		return 1;
	v->p = data + off;
	v->len = len;
	return 0;
}

int hv_tep_decode(const struct hv_event_def *def, struct tep_format_field *const *tf,
		  const void *data, int size, struct hv_value *vals)
{
	const uint8_t *d = data;
	int bad = 0;
	for (unsigned i = 0; i < def->nfields; i++) {
		const struct hv_field_def *fd = &def->fields[i];
		struct hv_value *v = &vals[i];
		v->i = 0;
		v->p = NULL;
		v->len = 0;
		if ((int)fd->offset + (int)fd->size > size) {
			bad++;
			continue;
		}
		if (tf[i]->flags & TEP_FIELD_IS_DYNAMIC) {
			bad += decode_dynamic(tf[i], d, size, v);
		} else if (fd->kind == HV_FK_INT) {
			unsigned long long x = 0;
			if (tep_read_number_field(tf[i], d, &x) < 0)
				bad++;
			v->i = fd->is_signed ? sign_extend(x, fd->size) : (int64_t)x;
		} else {
			v->p = d + fd->offset;
			v->len = fd->size;
		}
	}
	return bad;
}
