/*
 * hv_derive: the derived interval tables of db/README.md ("Derived tables") from a store's
 * events: core_run, core_run_vcpu (written by the replay engine's bookkeeping, spec §5.3,
 * run with hv_replay_opts.derive_only), vcpu_run, hcall, vcore_block and vcpu_wait (from the
 * engine's tap: its attributed guest runs on the gang path, and every decoded event).
 *
 * One streaming pass in seq order (memory: per task and per vcpu state only); every table is
 * dropped, refilled and indexed inside one SAVEPOINT, so a failed derive leaves the old
 * tables. Used by `hvtrace derive` and at the end of `hvtrace import` and `hvtrace simulate`.
 */
#ifndef HV_DERIVE_H
#define HV_DERIVE_H

#include <stdint.h>

#include "hv_store.h"

struct hv_derive_summary {
	char profile[32];	/* the replay profile whose bookkeeping was used */
	int gang;		/* the kvmppc_run_core path (else POWER9 / nested single path) */
	uint64_t core_run, vcpu_run, hcall, vcore_block, vcpu_wait;	/* rows written */
	uint64_t unattributed;	/* vcpu_run rows with tgid NULL (ambiguous VM) */
};

/* Build the derived tables of st (opened writable). profile: NULL = from meta. */
int hv_derive_run(struct hv_store *st, const char *profile, struct hv_derive_summary *sum, struct hv_err *err);

/* 1 if st has the derived tables (vcpu_run exists), else 0. */
int hv_derive_present(struct hv_store *st);

#endif
