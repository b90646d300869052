/*
 * text_fmt: reading an event's fields back from the text its print format produced.
 *
 * The text importer (import_text.c) reads `perf script` and ftrace text, where each event's
 * payload was printed from the event's print format ("VCPU %d: trap=%s ...", REC->vcpu_id,
 * __print_symbolic(REC->trap, ...)). hv_text_fmt_compile turns a known event's print format
 * into a template of literals and conversions, each tied to the field its argument names:
 * a plain REC->field, `REC->f ? "A" : "B"`, __print_symbolic (names mapped back through the
 * format's own {value, "name"} pairs), __print_flags, or an expression that cannot be inverted
 * (its text is skipped). hv_text_fmt_parse matches a payload against the template.
 */
#ifndef HV_TEXT_FMT_H
#define HV_TEXT_FMT_H

#include <stddef.h>

#include "hv_event_def.h"

struct hv_text_fmt;

/* Compile def->print_fmt. Returns 0, or -1 if the format cannot be read (then *out is NULL). */
int hv_text_fmt_compile(const struct hv_event_def *def, struct hv_text_fmt **out);
void hv_text_fmt_free(struct hv_text_fmt *f);

/* Parse payload (one line, no newline) into vals[def->nfields]. String fields point into
 * scratch (n bytes). unknown[i] is set to 1 for every field the text does not determine
 * (never printed, printed through an expression, or an unmatched symbolic name); such fields
 * are 0 / NULL. Returns 0, or -1 when the payload does not match the template. */
int hv_text_fmt_parse(const struct hv_text_fmt *f, const char *payload, size_t len, struct hv_value *vals,
		      unsigned char *unknown, char *scratch, size_t n);

#endif
