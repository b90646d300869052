/*
 * tep_def: libtraceevent event formats as hvtrace event definitions, and raw-record decoding.
 *
 * Importers that read events through libtraceevent (trace.dat via libtracecmd; perf.data's
 * tracing data) turn each struct tep_event into a struct hv_event_def for hv_store_add_type,
 * keep the matching tep_format_field pointers (looked up once per event type), and decode
 * every raw record's fields with them into hv_value arrays for hv_store_append.
 */
#ifndef HV_TEP_DEF_H
#define HV_TEP_DEF_H

#include <event-parse.h>

#include "hv_event_def.h"

#define HV_TEP_MAX_FIELDS 128

/* Fill out (and fields[0..max), and tf[0..max) with the tep fields behind them; tf may be
 * NULL) from e; the strings point into e. Common fields (common_*) are left out. Kinds: int
 * for 1/2/4/8-byte scalars, str for fixed char arrays, blob for other arrays and dynamic
 * (__data_loc / __rel_loc) fields. Returns the number of fields, or -1 if e has more than max. */
int hv_tep_event_def(struct tep_event *e, struct hv_event_def *out, struct hv_field_def *fields, int max,
		     struct tep_format_field **tf);

/* Decode one raw record (data/size, common header included) into vals. Integers are sign-
 * extended when signed; char arrays and blobs point into data; dynamic (__data_loc /
 * __rel_loc) fields are resolved. A field that lies outside the record becomes 0 / NULL.
 * Returns the number of such out-of-bounds fields (0 when the record is whole). */
int hv_tep_decode(const struct hv_event_def *def, struct tep_format_field *const *tf,
		  const void *data, int size, struct hv_value *vals);

#endif
