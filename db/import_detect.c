/*
 * Which importer a file needs, from its first bytes: perf.data ("PERFILE2" in either byte
 * order, file or 16-byte pipe header), trace-cmd trace.dat (0x17 0x08 0x44 "tracing"), and
 * anything else is taken as text (perf script output or raw ftrace text).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv_import.h"

enum hv_import_format hv_import_detect(const char *path, struct hv_err *err)
{
	unsigned char b[16] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f) {
		hv_err_set(err, HV_E_IO, "%s: %s", path, strerror(errno));
		return HV_FMT_UNKNOWN;
	}
	size_t n = fread(b, 1, sizeof b, f);
	fclose(f);
	/* a file shorter than the magic but starting like it is a truncated perf.data */
	size_t k = n < 8 ? n : 8;
	if (n > 0 && (memcmp(b, "PERFILE2", k) == 0 || memcmp(b, "2ELIFREP", k) == 0))
		return HV_FMT_PERF;
	static const unsigned char tmagic[10] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g' };
	if (n >= 10 && memcmp(b, tmagic, 10) == 0)
		return HV_FMT_TRACEDAT;
	if (n == 0) {
		hv_err_set(err, HV_E_TRUNCATED, "%s: offset 0: empty file", path);
		return HV_FMT_UNKNOWN;
	}
	return HV_FMT_TEXT;
}

const char *hv_import_format_name(enum hv_import_format f)
{
	switch (f) {
	case HV_FMT_PERF: return "perf";
	case HV_FMT_TRACEDAT: return "tracedat";
	case HV_FMT_TEXT: return "text";
	default: return "unknown";
	}
}
