/*
 * Layer 2, run set-up decisions of kvmppc_run_core (spec 2.4, 2.5, 6.2), checked with the
 * model's own rule functions (kernel/piggyback.c, kernel/profile.c) on the recorded inputs:
 *  split_mode   kvmhv_core_plan: split = hv_split_mode(dynamic_mt_modes, n_subcores) and a
 *               split > 1 must be allowed by dynamic_mt_modes; the plan's dynamic_mt_modes
 *               equals the host's (meta / --param). On stock traces the split inferred by
 *               core_window is counted here (core_window reports a bad one, once).
 *  core_plan    the kvmhv_piggyback_check chain of one run replayed through
 *               hv_can_dynamic_split / hv_subcore_config_ok (collect_piggybacks order, the
 *               target, the totals after each accepted candidate), then the plan itself:
 *               its subcores are the accepted candidates, subcore_config_ok holds, the
 *               target is threads_per_subcore limited by target_smt_mode; no piggybacking
 *               at all in profiles without it.
 *  thread_place kvmhv_vcpu_place: hw_cpu = subcore primary + ptid, primary = pcpu +
 *               subcore_thread_map {0,4,2,6}[sub], the vcore is the plan's subcore, ptid
 *               within the subcore; at the run's Enter the ptids of each subcore equal
 *               hv_assign_ptids of the profile (fixed vcpu_id - first_vcpuid, or arrival
 *               order with E32's non-ceded first).
 * Stateless between runs: each check is a guard (rp_violate) on the event named above.
 */
#include <string.h>

#include "rp_l2.h"

#define PLAN(ev, fl) ((ev)->f[HV_F_KVMHV_CORE_PLAN_##fl])
#define PLANK(ev, fl, k) ((ev)->f[HV_F_KVMHV_CORE_PLAN_##fl##0 + 5 * (k)])

static struct hv_params params_of(const struct rp *rp, const struct rp_ev *plan)
{
	struct hv_params p = rp->l2->par;
	if (!rp->l2->dmm_known && plan)
		p.dynamic_mt_modes = (int)PLAN(plan, DYNAMIC_MT_MODES);
	if (!rp->l2->tps_known && plan)
		p.threads_per_subcore = (int)PLAN(plan, THREADS_PER_SUBCORE);
	return p;
}

static void check_split(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_l2 *l = rp->l2;
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	struct hv_params p = params_of(rp, ev);
	int ns = (int)PLAN(ev, N_SUBCORES), split = (int)PLAN(ev, SPLIT);
	int dmm = p.dynamic_mt_modes, want = hv_split_mode(&p, ns);
	rp_checked(rp, RP_MON_SPLIT_MODE);
	if (l->dmm_known && PLAN(ev, DYNAMIC_MT_MODES) != dmm)
		rp_violate(rp, RP_MON_SPLIT_MODE, obj, "plan", "kvmhv_core_plan", ev,
			   "the plan says dynamic_mt_modes=%d but the host's is %d", (int)PLAN(ev, DYNAMIC_MT_MODES), dmm);
	else if (split > 1 && !(dmm & split))
		rp_violate(rp, RP_MON_SPLIT_MODE, obj, "plan", "kvmhv_core_plan", ev,
			   "a %d-way split with %d subcores, which dynamic_mt_modes=%d does not allow", split, ns, dmm);
	else if (split != want)
		rp_violate(rp, RP_MON_SPLIT_MODE, obj, "plan", "kvmhv_core_plan", ev,
			   "%d subcores need a %d-way split under dynamic_mt_modes=%d (hv_split_mode), the plan has %d-way",
			   ns, want, dmm, split);
	else if (split > 1 && PLAN(ev, SUBCORE_SIZE) != p.threads_per_core / split)
		rp_violate(rp, RP_MON_SPLIT_MODE, obj, "plan", "kvmhv_core_plan", ev,
			   "a %d-way split has subcores of %d threads, the plan says %d", split,
			   p.threads_per_core / split, (int)PLAN(ev, SUBCORE_SIZE));
}

/* Replay the candidate chain of collect_piggybacks; returns 0 after a violation. */
static int check_chain(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev, const struct hv_params *p,
		       int *ns, int *total, int *maxt, int64_t *acc_first)
{
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	struct hv_vm vm0 = { 0 }, vm1 = { 0 };
	struct hv_vcore vc0 = { 0 }, pvc = { 0 };
	struct hv_core_run cr = { 0 };
	int target = (int)PLAN(ev, TARGET_THREADS);
	vc0.vm = &vm0;
	cr.vc[0] = &vc0;
	for (int i = 0; i < c->nchk; i++) {
		const struct l2_chk *k = &c->chk[i];
		int why;
		if (*total >= target) {
			rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
				   "collect_piggybacks stops once the core is full (%d of %d threads), yet candidate %lld/%lld "
				   "was checked at seq %llu", *total, target, (long long)k->lpid, (long long)k->first,
				   (unsigned long long)k->seq);
			return 0;
		}
		if (k->result == HV_PB_TRYLOCK || k->result == HV_PB_MMU_NOT_READY)
			continue;
		if (k->result == HV_PB_NO_RUNNABLE) {
			if (k->nrun != 0) {
				rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
					   "candidate %lld/%lld at seq %llu rejected as having no runnable vcpu, but it has %lld",
					   (long long)k->lpid, (long long)k->first, (unsigned long long)k->seq, (long long)k->nrun);
				return 0;
			}
			continue;
		}
		if (*total + k->nthr > target) {
			why = HV_PB_OVER_TARGET;
		} else {
			cr.n_subcores = *ns;
			cr.max_subcore_threads = *maxt;
			cr.total_threads = *total;
			vm0.lpid = (uint32_t)PLANK(ev, LPID, 0);
			pvc.vm = k->lpid == PLANK(ev, LPID, 0) ? &vm0 : &vm1;
			pvc.num_threads = (int)k->nthr;
			hv_can_dynamic_split(p, rp->l2->mp, &cr, &pvc, &why);
		}
		if (why != k->result) {
			rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
				   "candidate %lld/%lld (%lld threads) at seq %llu: result %lld, the model gives %d with %d subcores, "
				   "%d/%d threads, largest %d", (long long)k->lpid, (long long)k->first, (long long)k->nthr,
				   (unsigned long long)k->seq, (long long)k->result, why, *ns, *total, target, *maxt);
			return 0;
		}
		if (why != HV_PB_ACCEPTED)
			continue;
		if (*ns < HV_MAX_SUBCORES)
			acc_first[*ns] = k->first;
		(*ns)++;
		*total += (int)k->nthr;
		if (k->nthr > *maxt)
			*maxt = (int)k->nthr;
		if (k->ns_after != *ns || k->total_after != *total || k->max_after != *maxt) {
			rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
				   "after accepting %lld/%lld at seq %llu the core has %d subcores, %d threads, largest %d; "
				   "the check says %lld/%lld/%lld", (long long)k->lpid, (long long)k->first,
				   (unsigned long long)k->seq, *ns, *total, *maxt, (long long)k->ns_after,
				   (long long)k->total_after, (long long)k->max_after);
			return 0;
		}
	}
	return 1;
}

static void check_plan(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	struct rp_l2 *l = rp->l2;
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	struct hv_params p = params_of(rp, ev);
	int ns = (int)PLAN(ev, N_SUBCORES);
	int controlled = (int)PLAN(ev, CONTROLLED_THREADS), target = (int)PLAN(ev, TARGET_THREADS);
	int want_target = controlled;
	rp_checked(rp, RP_MON_CORE_PLAN);
	if (p.target_smt_mode && p.target_smt_mode < want_target)
		want_target = p.target_smt_mode;
	if (l->mp->piggyback == HV_PB_NONE && (c->nchk > 0 || ns > 1)) {
		rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
			   "%s has no piggybacking, yet this run checked %d candidates and has %d subcores", l->mp->name,
			   c->nchk, ns);
		return;
	}
	if (ns < 1 || ns > HV_MAX_SUBCORES) {
		rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev, "%d subcores (1..4)", ns);
		return;
	}
	if (l->tps_known && controlled != p.threads_per_subcore) {
		rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
			   "controlled threads %d, threads_per_subcore is %d", controlled, p.threads_per_subcore);
		return;
	}
	if (target != want_target) {
		rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
			   "target %d, the model's is %d (controlled %d, target_smt_mode %d)", target, want_target,
			   controlled, p.target_smt_mode);
		return;
	}
	int cns = 1, total = (int)PLANK(ev, NUM_THREADS, 0), maxt = total;
	int64_t acc_first[HV_MAX_SUBCORES] = { PLANK(ev, FIRST_VCPUID, 0) };
	if (c->chk_overflow) {
		rp_skipped(rp, RP_MON_CORE_PLAN);
		return;
	}
	if (!check_chain(rp, c, ev, &p, &cns, &total, &maxt, acc_first))
		return;
	int sum = 0, big = 0;
	for (int k = 0; k < ns; k++) {
		sum += (int)PLANK(ev, NUM_THREADS, k);
		if (PLANK(ev, NUM_THREADS, k) > big)
			big = (int)PLANK(ev, NUM_THREADS, k);
	}
	if (cns != ns || sum != total) {
		rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
			   "the accepted candidates make %d subcores of %d threads, the plan has %d of %d", cns, total, ns, sum);
		return;
	}
	for (int k = 1; k < ns; k++)
		if (PLANK(ev, FIRST_VCPUID, k) != acc_first[k]) {
			rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
				   "subcore %d holds vcore %lld, the candidate accepted %d-th was %lld", k,
				   (long long)PLANK(ev, FIRST_VCPUID, k), k, (long long)acc_first[k]);
			return;
		}
	/* the master vcore alone may exceed the target (collect_piggybacks is then not called) */
	if (!hv_subcore_config_ok(&p, ns, big) || (ns > 1 && sum > target))
		rp_violate(rp, RP_MON_CORE_PLAN, obj, "plan", "kvmhv_core_plan", ev,
			   "%d subcores with up to %d threads (%d in all, target %d): subcore_config_ok fails under "
			   "dynamic_mt_modes=%d", ns, big, sum, target, p.dynamic_mt_modes);
}

static void check_place(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	int id = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_VCPU_ID], first = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_VCORE_FIRST_ID];
	int ptid = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_PTID], sub = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_SUB];
	int hw = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_HW_CPU], pcpu = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_PCPU];
	int late = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_LATE_JOIN];
	rp_checked(rp, RP_MON_THREAD_PLACE);
	if (hw != pcpu + ptid) {
		rp_violate(rp, RP_MON_THREAD_PLACE, obj, late ? "late" : "run", "kvmhv_vcpu_place", ev,
			   "vcpu %d (ptid %d) must run on its subcore primary %d + ptid = %d, got %d", id, ptid, pcpu,
			   pcpu + ptid, hw);
		return;
	}
	if (rp->l2->mp->ptid_rule == HV_PTID_FIXED && ptid != id - first) {
		rp_violate(rp, RP_MON_THREAD_PLACE, obj, late ? "late" : "run", "kvmhv_vcpu_place", ev,
			   "vcpu %d of vcore %d has ptid %d; %s fixes ptid = vcpu_id - first_vcpuid = %d", id, first, ptid,
			   rp->l2->mp->name, id - first);
		return;
	}
	if (late || !c->has_plan)
		return;
	struct hv_params p = params_of(rp, &c->plan);
	int ns = (int)PLAN(&c->plan, N_SUBCORES);
	if (sub >= ns || sub >= HV_MAX_SUBCORES) {
		rp_violate(rp, RP_MON_THREAD_PLACE, obj, "run", "kvmhv_vcpu_place", ev,
			   "vcpu %d placed in subcore %d of a %d-subcore plan", id, sub, ns);
		return;
	}
	int ft = hv_subcore_first_thread(&p, sub), base = (int)PLAN(&c->plan, PCPU);
	if (PLANK(&c->plan, FIRST_THREAD, sub) != ft || pcpu != base + ft)
		rp_violate(rp, RP_MON_THREAD_PLACE, obj, "run", "kvmhv_vcpu_place", ev,
			   "subcore %d starts at thread %d of the core (subcore_thread_map {0,4,2,6}): primary %d, "
			   "got %d (plan: thread %lld)", sub, ft, base + ft, pcpu, (long long)PLANK(&c->plan, FIRST_THREAD, sub));
	else if (first != PLANK(&c->plan, FIRST_VCPUID, sub) ||
		 ev->f[HV_F_KVMHV_VCPU_PLACE_LPID] != PLANK(&c->plan, LPID, sub))
		rp_violate(rp, RP_MON_THREAD_PLACE, obj, "run", "kvmhv_vcpu_place", ev,
			   "vcpu %d of vcore %lld/%d placed in subcore %d, which holds vcore %lld/%lld", id,
			   (long long)ev->f[HV_F_KVMHV_VCPU_PLACE_LPID], first, sub, (long long)PLANK(&c->plan, LPID, sub),
			   (long long)PLANK(&c->plan, FIRST_VCPUID, sub));
	else if (ptid >= PLAN(&c->plan, SUBCORE_SIZE))
		rp_violate(rp, RP_MON_THREAD_PLACE, obj, "run", "kvmhv_vcpu_place", ev,
			   "vcpu %d has ptid %d beyond its subcore of %lld threads", id, ptid,
			   (long long)PLAN(&c->plan, SUBCORE_SIZE));
}

/* At the run's Enter: each subcore's ptids as hv_assign_ptids gives them (dynamic rules). */
static void check_ptids(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	if (!c->has_plan || !c->nplace || rp->l2->mp->ptid_rule == HV_PTID_FIXED)
		return;
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	for (int sub = 0; sub < (int)PLAN(&c->plan, N_SUBCORES) && sub < HV_MAX_SUBCORES; sub++) {
		struct hv_ptid_in in[HV_MAX_SMT * 2];
		int ptid[HV_MAX_SMT * 2], idx[HV_MAX_SMT * 2], n = 0;
		int first = (int)PLANK(&c->plan, FIRST_VCPUID, sub);
		for (int i = 0; i < c->nplace; i++) {
			const struct l2_place *pl = &c->place[i];
			const struct l2_vcpu *v = l2_vcpu_find(rp, pl->tgid, pl->id);
			if (pl->sub != sub)
				continue;
			if (!v || !v->runs)
				return;	/* arrival unknown */
			in[n].offset = pl->id - first;
			in[n].runnable = 1;
			in[n].ceded = pl->ceded;
			in[n].arrival = (int)(v->arrival & 0x7fffffff);
			idx[n++] = i;
		}
		hv_assign_ptids(rp->l2->mp, in, n, ptid);
		for (int j = 0; j < n; j++)
			if (ptid[j] != c->place[idx[j]].ptid) {
				rp_violate(rp, RP_MON_THREAD_PLACE, obj, "run", "kvmppc_run_core", ev,
					   "vcpu %d got ptid %d; %s gives %d (hv_assign_ptids: arrival order%s)",
					   c->place[idx[j]].id, c->place[idx[j]].ptid, rp->l2->mp->name, ptid[j],
					   rp->l2->mp->ptid_rule == HV_PTID_NONCEDED_FIRST ? ", non-ceded first" : "");
				return;
			}
	}
}

void l2_mon_plan(struct rp *rp, const struct rp_ev *ev)
{
	struct l2_cpu *c = l2_cpu(rp, ev->cpu);
	switch (ev->id) {
	case HV_EV_KVMHV_CORE_PLAN:
		check_split(rp, ev);
		check_plan(rp, c, ev);
		break;
	case HV_EV_KVMHV_VCPU_PLACE:
		check_place(rp, c, ev);
		break;
	case HV_EV_KVMPPC_RUN_CORE:
		if (ev->f[HV_F_KVMPPC_RUN_CORE_WHERE] != 0)
			break;
		check_ptids(rp, c, ev);
		if (!rp->l2->seen_decisions && ev->cpu < rp->ncpus && rp->cpus[ev->cpu].split > 0)
			rp_checked(rp, RP_MON_SPLIT_MODE);	/* inferred split; core_window reports */
		break;
	default:
		break;
	}
}
