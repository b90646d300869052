/*
 * hv_stat: the `hvtrace stat` summary (perf kvm stat-like) computed from the derived tables
 * (db/README.md): per VM, exits by trap with the time to the vcpu's next entry, hcalls by
 * request, per-vcpu runs and dispatch wait, split modes of the windows the VM ran in, cede
 * and block outcomes; for the host, split-mode shares of core time, hardware-thread
 * occupancy, piggybacking and late joins, H_CEDE outcomes (decision events). Each table is one
 * SQL query (db/stat.c) whose column names are the JSON keys. Percentiles are nearest-rank.
 */
#ifndef HV_STAT_H
#define HV_STAT_H

#include <stdint.h>

#include "hv_store.h"

struct hv_stat_cell {
	int type;		/* 0 NULL, 1 integer, 2 real, 3 text */
	int64_t i;
	double d;
	char *s;
};

struct hv_stat_table {
	const char *key, *title;
	int ncols, nrows;
	char **cols;
	struct hv_stat_cell *cells;	/* nrows x ncols */
};

#define HV_STAT_MAXT 8
struct hv_stat_group {		/* the host, or one VM */
	int32_t tgid;		/* -1: host */
	char name[64];
	int nt;
	struct hv_stat_table t[HV_STAT_MAXT];
};

struct hv_stat {
	int ngroups;
	struct hv_stat_group *g;	/* g[0] the host, then one per VM by tgid */
};

/* Compute the summary of st (derived tables present; see hv_derive_present). vm >= 0: that
 * VM only (HV_E_USAGE if the trace has no such VM). */
int hv_stat_compute(struct hv_store *st, int32_t vm, struct hv_stat *out, struct hv_err *err);
void hv_stat_free(struct hv_stat *s);

#endif
