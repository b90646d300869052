/*
 * Test helper: writes events into a new store at argv[1] without end (up to 200 M), saying
 * "writing" on stdout once it is well under way, so that a test can kill it mid-import.
 */
#include <stdio.h>

#include "hv_events.h"
#include "hv_store.h"

int main(int argc, char **argv)
{
	struct hv_err err = { 0 };
	struct hv_store *st;
	if (argc != 2 || hv_store_create(argv[1], 0, &st, &err) < 0) {
		fprintf(stderr, "helper_slow_writer: %s\n", err.msg);
		return 2;
	}
	int t = hv_store_known(st, HV_EV_KVMPPC_RUN_CORE, &err);
	for (int64_t i = 0; i < 200000000; i++) {
		if (hv_store_append_ints(st, t, (uint64_t)i, 0, 1, (int64_t[]){ 1, 0, i & 1, 42 }, &err) < 0)
			return 2;
		if (i == 300000) {
			printf("writing\n");
			fflush(stdout);
		}
	}
	hv_store_close(st);
	return 0;
}
