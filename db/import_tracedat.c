/*
 * Importer for tracedat traces (placeholder until it is implemented).
 */
#include "hv_import.h"

int hv_import_tracedat(const char *path, struct hv_store *st, const struct hv_import_opts *o,
		 struct hv_import_result *res, struct hv_err *err)
{
	(void)st;
	(void)o;
	(void)res;
	return hv_err_set(err, HV_E_FORMAT, "%s: importing this format is not implemented yet", path);
}
