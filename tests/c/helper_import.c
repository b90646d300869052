/*
 * helper_import: runs one of this branch's importers directly, for shell tests and for
 * comparing importers before `hvtrace import` routes to them.
 * Usage: helper_import tracedat|text INPUT OUTPUT.db
 * Prints "events N lost N skipped N" and exits 0, or prints the error and exits 2.
 */
#include <stdio.h>
#include <string.h>

#include "hv_import.h"

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "tracedat") && strcmp(argv[1], "text"))) {
		fprintf(stderr, "usage: helper_import tracedat|text INPUT OUTPUT.db\n");
		return 2;
	}
	struct hv_store *st = NULL;
	struct hv_err err = { 0 };
	struct hv_import_result res = { 0 };
	int rc = hv_store_create(argv[3], HV_STORE_FORCE, &st, &err);
	if (rc == 0)
		rc = strcmp(argv[1], "text") ? hv_import_tracedat(argv[2], st, NULL, &res, &err)
					     : hv_import_text(argv[2], st, NULL, &res, &err);
	if (rc == 0)
		rc = hv_store_commit(st, &err);
	hv_store_close(st);
	if (rc) {
		fprintf(stderr, "helper_import: %s\n", err.msg);
		return 2;
	}
	printf("events %llu lost %llu skipped %llu\n", (unsigned long long)res.events,
	       (unsigned long long)res.lost, (unsigned long long)res.skipped);
	return 0;
}
