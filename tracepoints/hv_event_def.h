/*
 * hvtrace event descriptors: the C shape of one event definition.
 *
 * The instances for hvtrace's known events are generated from tracepoints/events.def into
 * build/gen/hv_events.c (see gen.py); importers build the same structures at run time for
 * events known only from a file's format text, so every later stage (store, replay, reports)
 * handles both alike.
 */
#ifndef HV_EVENT_DEF_H
#define HV_EVENT_DEF_H

#include <stdint.h>

enum hv_field_kind {
	HV_FK_INT = 0,		/* integer of 1, 2, 4 or 8 bytes, stored as int64 */
	HV_FK_STR = 1,		/* fixed char array, stored as TEXT up to the first NUL */
	HV_FK_BLOB = 2,		/* any other array or dynamic field, stored as BLOB */
};

struct hv_field_def {
	const char *name;	/* kernel field name */
	const char *column;	/* SQL column (name, or f_<name> if it collides with seq/ts/cpu/pid) */
	const char *ctype;	/* C type as the format shows it, e.g. "unsigned long", "char[16]" */
	uint16_t offset;	/* byte offset in the raw record, common header included */
	uint16_t size;		/* bytes */
	uint8_t is_signed;
	uint8_t kind;		/* enum hv_field_kind */
	uint8_t is_long;	/* C long: 4 or 8 bytes depending on the recording host */
};

struct hv_event_def {
	const char *system;
	const char *name;
	uint16_t id;		/* ftrace id used in generated format files and perf.data */
	uint16_t nfields;
	uint16_t size;		/* raw record size including the common header, padded */
	const struct hv_field_def *fields;
	const char *print_fmt;	/* the printk format as the format file shows it */
	const char *format;	/* the whole tracefs format text */
	const char *ddl;	/* CREATE TABLE statement of its typed table */
	const char *doc;	/* one line */
};

/* One field value. Integers: i (unsigned 64-bit values keep their bit pattern). Strings and
 * blobs: p/len (p == NULL means integer). */
struct hv_value {
	int64_t i;
	const void *p;
	uint32_t len;
};

struct hv_sym {
	int64_t value;
	const char *name;
};

struct hv_symtab {
	const char *name;
	unsigned n;
	const struct hv_sym *syms;
};

/* Name of value v in table t, or NULL. */
const char *hv_sym_name(const struct hv_symtab *t, int64_t v);
/* Known event by (system, name), or NULL; index in hv_events via hv_event_index. */
const struct hv_event_def *hv_event_find(const char *system, const char *name);
int hv_event_index(const struct hv_event_def *def);
/* Trap name for a guest exit vector: the kernel's table, then the extra names. */
const char *hv_trap_name(int64_t trap);
const char *hv_hcall_name(int64_t req);

#endif
