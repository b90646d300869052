/*
 * Layer 2, runtime rules of the gang path, checked with the model's rule functions on the
 * recorded inputs (per vcpu state kept by l2_book.c):
 *  start_rule  at kvmppc_run_core Enter: the vcore's runnable vcpus are the master group of
 *              the burst; with the states of its other vcpus (busy in the host, out in
 *              userspace, never ran) hv_start_ok of the profile must hold (E31: none busy or
 *              out, E32: none busy), and one runnable vcpu must be ready (entered with
 *              ceded=0), else the runner should have blocked. Stock events suffice.
 *  block_rule  at kvmppc_vcore_blocked Enter: every runnable vcpu of the runner's vcore
 *              exited ceded since it became runnable and was not kicked since (woken), and
 *              the profile's start condition held (the loop tests it first).
 *  cede_rule   at kvmhv_core_exit: a subcore whose first exit was an H_CEDE (trap 0, not
 *              pulled) exited because hv_cede_decide says so (every entered thread napping,
 *              or E31's cede in the host); at kvmhv_cede: no naps where H_CEDE is handled in
 *              the host, a "vcore exit" outcome matches that exit and the kvm_guest_exit
 *              (trap 0, ceded 1), a "cancelled by H_PROD" one an exit with ceded 0.
 *  exit_pull   at kvmhv_core_exit: in every subcore each thread that entered exited
 *              (entry_exit_map exit bits = entry bits) and every subcore but the first
 *              exiter's was pulled out by VCORE_EXIT_REQ.
 */
#include <string.h>

#include "rp_l2.h"

static int popcount8(unsigned x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

static void start_rule(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID];
	int32_t runner = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU];
	int nr = (int)ev->f[HV_F_KVMPPC_RUN_CORE_N_RUNNABLE];
	int32_t first = l2_first(rp, tgid, runner);
	struct rp_obj obj = { 'k', tgid, first };
	if (first < 0 || c->nb < nr || nr <= 0) {
		rp_skipped(rp, RP_MON_START_RULE);
		return;
	}
	struct hv_start_counts cnt;
	int32_t busy, user;
	char why[128];
	l2_run_counts(rp, c, nr, tgid, first, &cnt, &busy, &user);
	int ready = cnt.n_ready > 0;
	rp_checked(rp, RP_MON_START_RULE);
	if (!hv_start_ok(rp->l2->mp, &cnt)) {
		int32_t who = cnt.n_busy ? busy : user;
		rp_violate(rp, RP_MON_START_RULE, obj, "INACTIVE", "kvmppc_run_core", ev,
			   "%s starts a vcore only %s; vcpu %d is %s (runnable %d, busy %d, out %d)", rp->l2->mp->name,
			   rp->l2->mp->start_rule == HV_START_NO_BUSY ? "with no vcpu busy in the host or out"
								      : "with no vcpu busy in the host (n_busy == 0)",
			   who, l2_why_busy(rp, tgid, who, why, sizeof why), cnt.n_runnable, cnt.n_busy, cnt.n_user);
	} else if (!ready) {
		rp_violate(rp, RP_MON_START_RULE, obj, "INACTIVE", "kvmppc_run_core", ev,
			   "all %d runnable vcpus were entered ceded and not woken: the runner should block the vcore", nr);
	}
}

static void block_rule(struct rp *rp, const struct rp_ev *ev)
{
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_VCORE_BLOCKED_TGID];
	int32_t runner = (int32_t)ev->f[HV_F_KVMPPC_VCORE_BLOCKED_RUNNER_VCPU];
	int32_t first = l2_first(rp, tgid, runner);
	int smt = l2_smt(rp, tgid);
	struct rp_obj obj = { 'k', tgid, first };
	if (first < 0) {
		rp_skipped(rp, RP_MON_BLOCK_RULE);
		return;
	}
	rp_checked(rp, RP_MON_BLOCK_RULE);
	if (!rp->l2->seen_decisions)
		return;	/* stock traces: vcore_block (layer 1, item 16) reports a bad block */
	int nrun = 0;
	for (int i = 0; i < smt; i++) {
		const struct l2_vcpu *v = l2_vcpu_find(rp, tgid, first + i);
		if (!v || !v->in_run || v->removed)
			continue;
		nrun++;
		const char *why = !v->exited ? "became runnable (kvmppc_run_vcpu_enter) since its last exit"
			: !v->last_ceded ? "exited with ceded=0" : v->kicked ? "was kicked (woken) after its ceded exit" : NULL;
		if (why) {
			rp_violate(rp, RP_MON_BLOCK_RULE, obj, "RUNNABLE", "kvmppc_vcore_blocked", ev,
				   "a vcore blocks only with every runnable vcpu ceded and none woken; vcpu %d %s", v->id, why);
			return;
		}
	}
	struct hv_start_counts cnt;
	int32_t busy, user;
	char why[128];
	l2_start_counts(rp, tgid, first, &cnt, &busy, &user);
	if (nrun && !(rp->l2->forgot && cnt.n_never) && !hv_start_ok(rp->l2->mp, &cnt))
		rp_violate(rp, RP_MON_BLOCK_RULE, obj, "RUNNABLE", "kvmppc_vcore_blocked", ev,
			   "%s tests the start condition before blocking and it fails: vcpu %d is %s", rp->l2->mp->name,
			   cnt.n_busy ? busy : user, l2_why_busy(rp, tgid, cnt.n_busy ? busy : user, why, sizeof why));
}

static void core_exit(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	int ns = c->has_plan ? (int)c->plan.f[HV_F_KVMHV_CORE_PLAN_N_SUBCORES] : 0;
	unsigned pulled = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_PULLED_MASK];
	if (ns <= 0 || ns > HV_MAX_SUBCORES) {
		rp_skipped(rp, RP_MON_EXIT_PULL);
		return;
	}
	rp_checked(rp, RP_MON_EXIT_PULL);
	for (int k = 0; k < ns; k++) {
		unsigned m = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_ENTRY_EXIT_MAP0 + k];
		if (((m >> 8) & 0xff) != (m & 0xff)) {
			rp_violate(rp, RP_MON_EXIT_PULL, obj, "EXITING", "kvmhv_core_exit", ev,
				   "every thread that entered must exit before the run ends; subcore %d entered 0x%x, exited 0x%x",
				   k, m & 0xff, (m >> 8) & 0xff);
			return;
		}
	}
	if ((pulled >> ns) || popcount8(pulled) != ns - 1)
		rp_violate(rp, RP_MON_EXIT_PULL, obj, "EXITING", "kvmhv_core_exit", ev,
			   "the first exit pulls every other subcore out (VCORE_EXIT_REQ): %d subcores, pulled mask 0x%x",
			   ns, pulled);
	rp_checked(rp, RP_MON_CEDE_RULE);
	for (int k = 0; k < ns; k++) {
		unsigned m = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_ENTRY_EXIT_MAP0 + k];
		unsigned nap = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_NAPPING_THREADS0 + k];
		if ((pulled >> k) & 1 || ev->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_TRAP0 + k] != 0 ||
		    ev->f[HV_F_KVMHV_CORE_EXIT_HDEC_SOON_MASK])
			continue;
		if (hv_cede_decide(rp->l2->mp, 0, nap, m & 0xff) != HV_CEDE_ACT_EXIT)
			rp_violate(rp, RP_MON_CEDE_RULE, obj, "EXITING", "kvmhv_core_exit", ev,
				   "subcore %d left the guest on an H_CEDE of ptid %lld while threads 0x%x of 0x%x were not "
				   "napping: %s naps there (hv_cede_decide)", k,
				   (long long)ev->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_PTID0 + k], (m & 0xff) & ~nap, m & 0xff,
				   rp->l2->mp->name);
	}
}

static void cede(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	int32_t tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_CEDE_LPID]);
	int32_t id = (int32_t)ev->f[HV_F_KVMHV_CEDE_VCPU_ID];
	int outcome = (int)ev->f[HV_F_KVMHV_CEDE_OUTCOME];
	struct rp_obj obj = { 'v', tgid, id };
	rp_checked(rp, RP_MON_CEDE_RULE);
	if (rp->l2->mp->cede_rule == HV_CEDE_IN_HOST && (ev->f[HV_F_KVMHV_CEDE_N_NAPS] || outcome == HV_CEDE_NAPPED)) {
		rp_violate(rp, RP_MON_CEDE_RULE, obj, "ceded", "kvmhv_cede", ev,
			   "%s handles H_CEDE in the host (the vcore exits), yet vcpu %d napped %lld times", rp->l2->mp->name,
			   id, (long long)ev->f[HV_F_KVMHV_CEDE_N_NAPS]);
		return;
	}
	if (c->gx_id != id)
		return;
	if (outcome == HV_CEDE_PROD_CANCEL && c->gx_ceded) {
		rp_violate(rp, RP_MON_CEDE_RULE, obj, "ceded", "kvmhv_cede", ev,
			   "an H_CEDE cancelled by H_PROD leaves ceded=0, but vcpu %d exited with ceded=1", id);
		return;
	}
	if (outcome != HV_CEDE_VCORE_EXIT)
		return;
	if (c->gx_trap != 0 || !c->gx_ceded) {
		rp_violate(rp, RP_MON_CEDE_RULE, obj, "ceded", "kvmhv_cede", ev,
			   "an H_CEDE that takes the vcore out exits with trap 0 and ceded=1; vcpu %d exited with trap 0x%x "
			   "ceded=%d", id, (unsigned)c->gx_trap, c->gx_ceded);
		return;
	}
	const struct l2_vcpu *v = l2_vcpu_find(rp, tgid, id);
	for (int k = 0; c->has_exit && v && v->sub >= 0 && k < c->exit_ns; k++)
		if (k == v->sub && (c->exit_trap[k] != 0 || c->exit_ptid[k] != v->ptid || ((c->exit_pulled >> k) & 1)))
			rp_violate(rp, RP_MON_CEDE_RULE, obj, "ceded", "kvmhv_cede", ev,
				   "vcpu %d (ptid %d) says its H_CEDE took subcore %d out, but that subcore's first exit was "
				   "ptid %d trap 0x%x%s", id, v->ptid, k, c->exit_ptid[k], (unsigned)c->exit_trap[k],
				   (c->exit_pulled >> k) & 1 ? " (pulled by another subcore)" : "");
}

void l2_mon_rules(struct rp *rp, const struct rp_ev *ev)
{
	struct l2_cpu *c = l2_cpu(rp, ev->cpu);
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_CORE:
		if (ev->f[HV_F_KVMPPC_RUN_CORE_WHERE] == 0)
			start_rule(rp, c, ev);
		break;
	case HV_EV_KVMPPC_VCORE_BLOCKED:
		if (ev->f[HV_F_KVMPPC_VCORE_BLOCKED_WHERE] == 0)
			block_rule(rp, ev);
		break;
	case HV_EV_KVMHV_CORE_EXIT:
		core_exit(rp, c, ev);
		break;
	case HV_EV_KVMHV_CEDE:
		cede(rp, c, ev);
		break;
	default:
		break;
	}
}
