/*
 * Era profiles (spec §3) and the era-dependent decision rules, each one pure function of
 * explicit inputs selected by the profile, so that the simulator and the replay engine call
 * the same code and a verifier can name the first decision that differs.
 *
 * Profiles modelled: E31_strict_smt (v3.1, seed 001), E32_cede_nap (v3.2-v3.7, seed 004),
 * E43_piggyback (v4.3-v4.8, seed 000 as merged), E410_simplified (v4.10-v4.14) and mainline
 * (current POWER7/POWER8 gang path, v4.19+ incl. one_vm_per_core).
 */
#include <string.h>

#include "model.h"

static const struct hv_profile profiles[HV_PROF_COUNT] = {
	[HV_PROF_E31] = { "E31_strict_smt", "v3.1", HV_PROF_E31, HV_START_NO_BUSY, HV_PTID_ARRIVAL,
			  HV_CEDE_IN_HOST, 0, HV_PB_NONE, 0, 1, 0, 0 },
	[HV_PROF_E32] = { "E32_cede_nap", "v3.2-v3.7", HV_PROF_E32, HV_START_NBUSY0,
			  HV_PTID_NONCEDED_FIRST, HV_CEDE_REALMODE_NAP, 1, HV_PB_NONE, 0, 1, 1, 0 },
	[HV_PROF_E43] = { "E43_piggyback", "v4.3-v4.8", HV_PROF_E43, HV_START_ANY_READY,
			  HV_PTID_FIXED, HV_CEDE_REALMODE_NAP, 0, HV_PB_SUBCORE_AND_SPLIT, 0, 1, 0, 0 },
	[HV_PROF_E410] = { "E410_simplified", "v4.10-v4.14", HV_PROF_E410, HV_START_ANY_READY,
			   HV_PTID_FIXED, HV_CEDE_REALMODE_NAP, 0, HV_PB_SPLIT_ONLY, 1, 0, 0, 0 },
	[HV_PROF_MAINLINE] = { "mainline", "v4.19-now (POWER7/POWER8)", HV_PROF_MAINLINE,
			       HV_START_ANY_READY, HV_PTID_FIXED, HV_CEDE_REALMODE_NAP, 0,
			       HV_PB_SPLIT_ONLY, 1, 1, 0, 1 },
};

const struct hv_profile *hv_profile_get(int id)
{
	return id >= 0 && id < HV_PROF_COUNT ? &profiles[id] : NULL;
}

const struct hv_profile *hv_profile_find(const char *name)
{
	for (int i = 0; i < HV_PROF_COUNT; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	/* short aliases: E31, E32, E43, E410 */
	for (int i = 0; i < HV_PROF_COUNT; i++) {
		size_t n = strlen(name);
		if (n >= 3 && strncmp(profiles[i].name, name, n) == 0 && profiles[i].name[n] == '_')
			return &profiles[i];
	}
	return NULL;
}

const char *hv_profile_names(void)
{
	return "E31_strict_smt, E32_cede_nap, E43_piggyback, E410_simplified, mainline";
}

void hv_params_default(struct hv_params *p, int cpu_model)
{
	memset(p, 0, sizeof *p);
	p->cpu_model = cpu_model;
	p->threads_per_core = cpu_model == 7 ? 4 : 8;
	p->threads_per_subcore = p->threads_per_core;
	p->dynamic_mt_modes = 6;
	p->target_smt_mode = 0;
	p->one_vm_per_core = 0;
	p->halt_poll_ns = 10000;
	p->halt_poll_ns_grow = 2;
	p->halt_poll_ns_grow_start = 10000;
	p->halt_poll_ns_shrink = 0;
}

/* Start condition of an INACTIVE vcore (kvmppc_run_vcpu / kvmppc_run_core of each era). */
int hv_start_ok(const struct hv_profile *pr, const struct hv_start_counts *c)
{
	if (c->n_runnable <= 0)
		return 0;
	switch (pr->start_rule) {
	case HV_START_NO_BUSY:
		/* v3.1: n_runnable + n_blocked == num_threads; a vcpu out in QEMU is busy in
		 * the host too, only never-run vcpus count as blocked */
		return c->n_busy == 0 && c->n_user == 0;
	case HV_START_NBUSY0:
		/* v3.2-v3.7: stopped vcpus (out of KVM_RUN) do not hold the vcore back */
		return c->n_busy == 0;
	default:
		/* v3.8+: run whenever some runnable vcpu is not idle; all-idle goes to block */
		return 1;
	}
}

void hv_assign_ptids(const struct hv_profile *pr, const struct hv_ptid_in *in, int n, int *ptid)
{
	int next = 0;
	for (int i = 0; i < n; i++)
		ptid[i] = -1;
	if (pr->ptid_rule == HV_PTID_FIXED) {
		for (int i = 0; i < n; i++)
			if (in[i].runnable)
				ptid[i] = in[i].offset;
		return;
	}
	/* dynamic: in arrival order; E32/E38 put non-ceded vcpus first */
	for (int pass = 0; pass < 2; pass++) {
		for (;;) {
			int best = -1;
			for (int i = 0; i < n; i++) {
				if (!in[i].runnable || ptid[i] >= 0)
					continue;
				if (pr->ptid_rule == HV_PTID_NONCEDED_FIRST && pass == 0 && in[i].ceded)
					continue;
				if (best < 0 || in[i].arrival < in[best].arrival)
					best = i;
			}
			if (best < 0)
				break;
			ptid[best] = next++;
		}
	}
}

int hv_cede_decide(const struct hv_profile *pr, int prodded, unsigned napping_after,
		   unsigned entry_map)
{
	if (prodded)
		return HV_CEDE_ACT_CANCEL;
	if (pr->cede_rule == HV_CEDE_IN_HOST)
		return HV_CEDE_ACT_EXIT;	/* v3.1: H_CEDE handled in virtual mode */
	if ((napping_after & 0xff) == (entry_map & 0xff))
		return HV_CEDE_ACT_EXIT;	/* every entered thread naps: vcore goes idle */
	return HV_CEDE_ACT_NAP;
}

int hv_prod_kicks(const struct hv_profile *pr, int target_ceded, int caller_ceded)
{
	return pr->prod_tests_caller ? caller_ceded : target_ceded;
}

int hv_confer_decide(unsigned napping, unsigned conferring, unsigned entry_map)
{
	return ((napping | conferring) & 0xff) == (entry_map & 0xff);
}

int hv_late_join_ok(const struct hv_profile *pr, int vcore_state, uint32_t entry_exit_map,
		    int first_run)
{
	if (entry_exit_map >= 0x100)
		return 0;	/* an exit has started (or VCORE_EXIT_REQ) */
	if (pr->late_join_first_run_only && !first_run)
		return 0;
	if (vcore_state == HV_VCORE_RUNNING)
		return 1;
	if (vcore_state == HV_VCORE_PIGGYBACK)
		return pr->late_join_piggyback;
	return 0;
}

uint32_t hv_halt_poll_adjust(const struct hv_params *p, uint32_t cur, uint64_t block_ns)
{
	uint32_t max = p->halt_poll_ns;
	if (max == 0)
		return 0;
	if (block_ns <= cur) {
		/* unchanged */
	} else if (cur > 0 && block_ns > max) {
		cur = p->halt_poll_ns_shrink ? cur / p->halt_poll_ns_shrink : 0;
	} else if (cur < max && block_ns < max) {
		if (p->halt_poll_ns_grow) {
			cur *= p->halt_poll_ns_grow;
			if (cur < p->halt_poll_ns_grow_start)
				cur = p->halt_poll_ns_grow_start;
		}
	}
	if (cur > max)
		cur = max;
	return cur;
}
