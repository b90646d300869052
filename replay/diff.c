/*
 * Layer 3, differential replay (monitor diff_replay): the recorded inputs drive the model's
 * own decision functions (kernel/profile.c, kernel/piggyback.c; the ones the simulator
 * calls) under the chosen profile, and each recorded decision is compared with the model's.
 * The first divergent decision of each vcore is reported with the inputs that led to it;
 * later decisions of a diverged vcore are still counted as checked but not reported (its
 * recorded history now follows other rules).
 *
 * Decisions compared (stock events where they suffice, else kvm_hv_sched events):
 *  start      kvmppc_run_core Enter: hv_start_ok on the vcore's vcpu states (stock);
 *             vcore_state -> POLLING/SLEEPING: the loop passed hv_start_ok before blocking;
 *             a vcpu becomes runnable in an INACTIVE vcore, or the runner goes round its
 *             loop (INACTIVE after block/poll/run): if hv_start_ok holds the vcore must act
 *             (run, block, preempt) before any other vcpu of it arrives or leaves.
 *  ptids      kvmppc_run_core Enter: hv_assign_ptids (arrival order from run_vcpu_enter,
 *             ceded flags) vs the placed ptids, or the burst order on stock traces.
 *  late join  run_vcpu_enter while the vcore is RUNNING/PIGGYBACK/...: hv_late_join_ok vs
 *             whether a kvmhv_vcpu_place(late_join) follows on that CPU.
 *  piggyback  kvmhv_piggyback_check in a profile without piggybacking.
 *  split      kvmhv_core_plan: hv_split_mode.
 *  cede       kvmhv_core_exit: hv_cede_decide for a subcore that left on an H_CEDE;
 *             kvmhv_cede: naps where the profile handles H_CEDE in the host.
 *  prod       kvmhv_prod: hv_prod_kicks vs whether a kvmhv_kick(prod) follows.
 *  halt poll  kvmhv_block_adjust: hv_halt_poll_adjust (0 without halt polling);
 *             vcore_state -> POLLING only where the profile polls with an interval > 0.
 */
#include <stdarg.h>
#include <string.h>

#include "rp_l2.h"

static const char *const vstate[] = { "INACTIVE", "PREEMPT", "PIGGYBACK", "SLEEPING", "RUNNING", "EXITING",
				      "POLLING" };

static const char *state_name(int s)
{
	return s >= 0 && s < (int)(sizeof vstate / sizeof vstate[0]) ? vstate[s] : "unknown";
}

void l2_diverge(struct rp *rp, int32_t tgid, int32_t first, const struct rp_ev *ev, const char *event,
		const char *fmt, ...)
{
	struct l2_vcore *vc = l2_vcore(rp, tgid, first);
	if (vc && vc->diverged)
		return;
	if (vc)
		vc->diverged = 1;
	if (rp->l2->l2_reported && ev->seq == rp->l2->cur_seq)
		return;	/* the layer-2 monitor's report names it */
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct rp_obj obj = { 'k', tgid, first };
	rp_violate(rp, RP_MON_DIFF, obj, "first divergence", event, ev, "%s", msg);
}

static void counts_text(struct rp *rp, int32_t tgid, const struct hv_start_counts *c, int32_t busy, int32_t user,
			char *buf, size_t n)
{
	char why[128];
	int32_t who = c->n_busy ? busy : user;
	int k = snprintf(buf, n, "runnable %d, busy in host %d, out %d, never ran %d", c->n_runnable, c->n_busy,
			 c->n_user, c->n_never);
	if (who >= 0 && k > 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, "; vcpu %d %s", who, l2_why_busy(rp, tgid, who, why, sizeof why));
}

/* ---- start decisions ---- */

static void start_at_run(struct rp *rp, const struct l2_cpu *cpu, const struct rp_ev *ev)
{
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID];
	int32_t first = l2_first(rp, tgid, (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU]);
	int nr = (int)ev->f[HV_F_KVMPPC_RUN_CORE_N_RUNNABLE];
	if (first < 0 || nr <= 0 || nr > cpu->nb)
		return;
	struct hv_start_counts c;
	int32_t busy, user;
	char txt[200];
	l2_run_counts(rp, cpu, nr, tgid, first, &c, &busy, &user);
	rp_checked(rp, RP_MON_DIFF);
	if (!hv_start_ok(rp->l2->mp, &c)) {
		counts_text(rp, tgid, &c, busy, user, txt, sizeof txt);
		l2_diverge(rp, tgid, first, ev, "kvmppc_run_core",
			   "start: the vcore ran, %s would not start it (hv_start_ok = 0; %s)", rp->l2->mp->name, txt);
	}
}

/* A decision point where the vcore, INACTIVE, is evaluated by a task in kvmppc_run_vcpu's
 * loop: if the model starts it, the next thing the vcore does must be an action. */
static void start_point(struct rp *rp, int32_t tgid, int32_t first, const struct rp_ev *ev, const char *what)
{
	struct l2_vcore *vc = l2_vcore(rp, tgid, first);
	struct hv_start_counts c;
	int32_t busy, user;
	if (!vc || vc->diverged)
		return;
	l2_start_counts(rp, tgid, first, &c, &busy, &user);
	if (rp->l2->forgot && c.n_never)
		return;	/* after lost events an unseen vcpu may be busy: not decidable */
	rp_checked(rp, RP_MON_DIFF);
	if (!hv_start_ok(rp->l2->mp, &c))
		return;
	vc->has_pend = 1;
	vc->pend = *ev;
	snprintf(vc->pend_why, sizeof vc->pend_why, "%s", what);
}

/* The vcore acted (state change, abort, plan): a pending start decision is satisfied. */
static void vcore_acted(struct rp *rp, int32_t tgid, int32_t first)
{
	struct l2_vcore *vc = tgid >= 0 && first >= 0 ? l2_vcore(rp, tgid, first) : NULL;
	if (vc)
		vc->has_pend = 0;
}

/* Another vcpu of the vcore arrives or leaves while a start decision is pending. */
static void vcore_not_acted(struct rp *rp, int32_t tgid, int32_t id, const struct rp_ev *ev, const char *event)
{
	int32_t first = l2_first(rp, tgid, id);
	struct l2_vcore *vc = first >= 0 ? l2_vcore(rp, tgid, first) : NULL;
	if (!vc || !vc->has_pend)
		return;
	vc->has_pend = 0;
	struct hv_start_counts c;
	int32_t busy, user;
	char txt[200];
	(void)txt;
	(void)c;
	(void)busy;
	(void)user;
	l2_diverge(rp, tgid, first, &vc->pend, "start",
		   "start: %s with the vcore INACTIVE; %s starts it (hv_start_ok = 1), the trace did not (next: %s of "
		   "vcpu %d at seq %llu)", vc->pend_why, rp->l2->mp->name, event, id, (unsigned long long)ev->seq);
}

/* ---- per-event ---- */

static void arrival(struct rp *rp, struct l2_cpu *c, const struct rp_ev *ev)
{
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID];
	int32_t id = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID];
	int32_t first = l2_first(rp, tgid, id);
	vcore_not_acted(rp, tgid, id, ev, "kvmppc_run_vcpu_enter");
	struct l2_vcore *vc = first >= 0 ? l2_vcore(rp, tgid, first) : NULL;
	if (!vc || vc->state < 0)
		return;
	struct l2_vcpu *v = l2_vcpu(rp, tgid, id);
	if (!v)
		return;
	if (vc->state == HV_VCORE_INACTIVE) {
		/* as if the vcpu were already runnable (the state update follows this call) */
		struct l2_vcpu save = *v;
		char what[96];
		v->ever = v->in_run = 1;
		v->out = v->exited = v->removed = v->kicked = 0;
		snprintf(what, sizeof what, "vcpu %d became runnable", id);
		start_point(rp, tgid, first, ev, what);
		*v = save;
		return;
	}
	c->pend_late = 1;
	c->late_model = (uint8_t)hv_late_join_ok(rp->l2->mp, vc->state, 0, v->runs == 0);
	c->late_tgid = tgid;
	c->late_id = id;
	c->late_ev = *ev;
}

static void resolve_cpu(struct rp *rp, struct l2_cpu *c, const struct rp_ev *ev)
{
	if (c->pend_late) {
		int rec = ev->id == HV_EV_KVMHV_VCPU_PLACE && ev->f[HV_F_KVMHV_VCPU_PLACE_LATE_JOIN] &&
			  ev->f[HV_F_KVMHV_VCPU_PLACE_VCPU_ID] == c->late_id;
		int32_t first = l2_first(rp, c->late_tgid, c->late_id);
		struct l2_vcore *vc = l2_vcore(rp, c->late_tgid, first);
		c->pend_late = 0;
		rp_checked(rp, RP_MON_DIFF);
		if (vc && rec != c->late_model)
			l2_diverge(rp, c->late_tgid, first, &c->late_ev, "kvmppc_run_vcpu_enter",
				   "late join: vcpu %d became runnable while its vcore was %s (%s run); %s %s (hv_late_join_ok), "
				   "the trace %s", c->late_id, state_name(vc->state),
				   l2_vcpu_find(rp, c->late_tgid, c->late_id) &&
						   l2_vcpu_find(rp, c->late_tgid, c->late_id)->runs == 0 ? "its first" : "not its first",
				   rp->l2->mp->name, c->late_model ? "starts it at once" : "makes it wait",
				   rec ? "started it" : "did not");
	}
	if (c->pend_prod) {
		int rec = ev->id == HV_EV_KVMHV_KICK && ev->f[HV_F_KVMHV_KICK_SOURCE] == HV_KICK_PROD &&
			  ev->f[HV_F_KVMHV_KICK_VCPU_ID] == c->prod_dst;
		int32_t first = l2_first(rp, c->prod_tgid, c->prod_dst);
		c->pend_prod = 0;
		rp_checked(rp, RP_MON_DIFF);
		if (first >= 0 && rec != c->prod_model)
			l2_diverge(rp, c->prod_tgid, first, &c->prod_ev, "kvmhv_prod",
				   "H_PROD of vcpu %d (ceded %lld): %s %s (hv_prod_kicks), the trace %s", c->prod_dst,
				   (long long)c->prod_ev.f[HV_F_KVMHV_PROD_DST_CEDED], rp->l2->mp->name,
				   c->prod_model ? "kicks it" : "does not kick it", rec ? "kicked it" : "did not");
	}
}

static void ptids_at_run(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID];
	int nr = (int)ev->f[HV_F_KVMPPC_RUN_CORE_N_RUNNABLE];
	int32_t first = l2_first(rp, tgid, (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU]);
	struct hv_ptid_in in[L2_MAXB];
	int ptid[L2_MAXB], rec[L2_MAXB], ids[L2_MAXB], n = 0;
	if (first < 0 || nr > c->nb || nr > L2_MAXB)
		return;
	/* the master vcore: placed ptids if recorded, else its burst order (ascending ptid) */
	for (int i = 0; i < nr; i++) {
		const struct l2_vcpu *v = l2_vcpu_find(rp, tgid, c->b[i].id);
		if (!v || !v->runs)
			return;
		in[n].offset = c->b[i].id - first;
		in[n].runnable = 1;
		in[n].ceded = c->b[i].ceded;
		in[n].arrival = (int)(v->arrival & 0x7fffffff);
		ids[n] = c->b[i].id;
		rec[n++] = i;
		for (int k = 0; k < c->nplace; k++)
			if (c->place[k].sub == 0 && c->place[k].id == c->b[i].id)
				rec[n - 1] = c->place[k].ptid;
	}
	hv_assign_ptids(rp->l2->mp, in, n, ptid);
	rp_checked(rp, RP_MON_DIFF);
	int placed = c->nplace > 0;
	for (int i = 0; i < n; i++) {
		/* without placements compare orders: rank of the model's ptid among the group */
		int want = ptid[i];
		if (!placed) {
			want = 0;
			for (int j = 0; j < n; j++)
				want += ptid[j] < ptid[i];
		}
		if (want != rec[i]) {
			l2_diverge(rp, tgid, first, ev, "kvmppc_run_core",
				   "ptids: vcpu %d got %s %d, %s gives %d (hv_assign_ptids: %s)", ids[i],
				   placed ? "ptid" : "burst position", rec[i], rp->l2->mp->name, want,
				   rp->l2->mp->ptid_rule == HV_PTID_FIXED ? "vcpu_id - first_vcpuid"
				   : rp->l2->mp->ptid_rule == HV_PTID_NONCEDED_FIRST ? "arrival order, non-ceded first"
											: "arrival order");
			return;
		}
	}
}

static void cede_at_exit(struct rp *rp, const struct l2_cpu *c, const struct rp_ev *ev)
{
	int ns = c->has_plan ? (int)c->plan.f[HV_F_KVMHV_CORE_PLAN_N_SUBCORES] : 0;
	unsigned pulled = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_PULLED_MASK];
	for (int k = 0; k < ns && k < HV_MAX_SUBCORES; k++) {
		unsigned m = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_ENTRY_EXIT_MAP0 + k] & 0xff;
		unsigned nap = (unsigned)ev->f[HV_F_KVMHV_CORE_EXIT_NAPPING_THREADS0 + k];
		if ((pulled >> k) & 1 || ev->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_TRAP0 + k] != 0 ||
		    ev->f[HV_F_KVMHV_CORE_EXIT_HDEC_SOON_MASK])
			continue;
		int32_t tgid = l2_tgid_of_lpid(rp, c->plan.f[HV_F_KVMHV_CORE_PLAN_LPID0 + 5 * k]);
		int32_t first = (int32_t)c->plan.f[HV_F_KVMHV_CORE_PLAN_FIRST_VCPUID0 + 5 * k];
		int act = hv_cede_decide(rp->l2->mp, 0, nap, m);
		rp_checked(rp, RP_MON_DIFF);
		if (act != HV_CEDE_ACT_EXIT)
			l2_diverge(rp, tgid, first, ev, "kvmhv_core_exit",
				   "H_CEDE of ptid %lld took the vcore out of the guest with threads 0x%x napping of 0x%x entered; "
				   "%s naps there (hv_cede_decide)", (long long)ev->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_PTID0 + k],
				   nap, m, rp->l2->mp->name);
	}
}

void l2_diff(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_l2 *l = rp->l2;
	struct l2_cpu *c = l2_cpu(rp, ev->cpu);
	int32_t tgid, first;
	if (c->pend_late || c->pend_prod)
		resolve_cpu(rp, c, ev);
	c = l2_cpu(rp, ev->cpu);
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		arrival(rp, c, ev);
		break;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT: {
		struct rp_task *t = rp_task_find(rp, ev->pid);
		if (t && t->tgid >= 0)
			vcore_not_acted(rp, t->tgid, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_VCPU_ID], ev,
					"kvmppc_run_vcpu_exit");
		break;
	}
	case HV_EV_KVMPPC_RUN_CORE:
		if (ev->f[HV_F_KVMPPC_RUN_CORE_WHERE] == 0) {
			start_at_run(rp, c, ev);
			ptids_at_run(rp, c, ev);
		}
		break;
	case HV_EV_KVMHV_VCORE_STATE: {
		int nw = (int)ev->f[HV_F_KVMHV_VCORE_STATE_NEW], cause = (int)ev->f[HV_F_KVMHV_VCORE_STATE_CAUSE];
		int32_t runner = (int32_t)ev->f[HV_F_KVMHV_VCORE_STATE_RUNNER_VCPU];
		tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_VCORE_STATE_LPID]);
		first = (int32_t)ev->f[HV_F_KVMHV_VCORE_STATE_FIRST_VCPUID];
		if (tgid < 0)
			break;
		vcore_acted(rp, tgid, first);
		if (nw == HV_VCORE_SLEEPING || (nw == HV_VCORE_POLLING && cause == HV_CAUSE_POLL)) {
			struct hv_start_counts cnt;
			int32_t busy, user;
			char txt[200];
			l2_start_counts(rp, tgid, first, &cnt, &busy, &user);
			if (cnt.n_runnable == 0 || (l->forgot && cnt.n_never))
				break;	/* the recorded states are incomplete here */
			rp_checked(rp, RP_MON_DIFF);
			if (!hv_start_ok(l->mp, &cnt)) {
				counts_text(rp, tgid, &cnt, busy, user, txt, sizeof txt);
				l2_diverge(rp, tgid, first, ev, "kvmhv_vcore_state",
					   "block: the runner blocked the vcore, %s does not get that far (hv_start_ok = 0; %s)",
					   l->mp->name, txt);
			} else if (nw == HV_VCORE_POLLING && !l->mp->halt_poll) {
				l2_diverge(rp, tgid, first, ev, "kvmhv_vcore_state",
					   "halt poll: the vcore polls, %s has no halt polling", l->mp->name);
			}
		} else if (nw == HV_VCORE_INACTIVE && runner >= 0 &&
			   (cause == HV_CAUSE_BLOCK || cause == HV_CAUSE_POLL || cause == HV_CAUSE_POST_GUEST)) {
			const struct l2_vcpu *rv = l2_vcpu_find(rp, tgid, runner);
			char what[96];
			if (!rv || !rv->in_run || rv->removed)
				break;
			snprintf(what, sizeof what, "the runner vcpu %d goes round kvmppc_run_vcpu's loop", runner);
			start_point(rp, tgid, first, ev, what);
		}
		break;
	}
	case HV_EV_KVMHV_CORE_ABORT:
		tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_CORE_ABORT_LPID]);
		vcore_acted(rp, tgid, l2_first(rp, tgid, (int32_t)ev->f[HV_F_KVMHV_CORE_ABORT_RUNNER_VCPU]));
		break;
	case HV_EV_KVMHV_CORE_PLAN: {
		struct hv_params p = l->par;
		int ns = (int)ev->f[HV_F_KVMHV_CORE_PLAN_N_SUBCORES], split = (int)ev->f[HV_F_KVMHV_CORE_PLAN_SPLIT];
		tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_CORE_PLAN_LPID0]);
		first = (int32_t)ev->f[HV_F_KVMHV_CORE_PLAN_FIRST_VCPUID0];
		vcore_acted(rp, tgid, first);
		if (!l->dmm_known)
			p.dynamic_mt_modes = (int)ev->f[HV_F_KVMHV_CORE_PLAN_DYNAMIC_MT_MODES];
		rp_checked(rp, RP_MON_DIFF);
		if (hv_split_mode(&p, ns) != split)
			l2_diverge(rp, tgid, first, ev, "kvmhv_core_plan",
				   "split: %d subcores, the trace splits %d-way, the model %d-way (hv_split_mode, "
				   "dynamic_mt_modes=%d)", ns, split, hv_split_mode(&p, ns), p.dynamic_mt_modes);
		break;
	}
	case HV_EV_KVMHV_PIGGYBACK_CHECK: {
		struct rp_task *t = rp_task_find(rp, ev->pid);
		rp_checked(rp, RP_MON_DIFF);
		if (l->mp->piggyback != HV_PB_NONE || !t || t->tgid < 0)
			break;
		first = l2_first(rp, t->tgid, t->vcpu);
		if (first >= 0)
			l2_diverge(rp, t->tgid, first, ev, "kvmhv_piggyback_check",
				   "piggyback: the runner examined candidate vcore (lpid %lld, first vcpu %lld) for piggybacking; %s never "
				   "piggybacks (collect_piggybacks not called)", (long long)ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_CAND_LPID],
				   (long long)ev->f[HV_F_KVMHV_PIGGYBACK_CHECK_CAND_FIRST_VCPUID], l->mp->name);
		break;
	}
	case HV_EV_KVMHV_CORE_EXIT:
		cede_at_exit(rp, c, ev);
		break;
	case HV_EV_KVMHV_CEDE:
		tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_CEDE_LPID]);
		first = l2_first(rp, tgid, (int32_t)ev->f[HV_F_KVMHV_CEDE_VCPU_ID]);
		rp_checked(rp, RP_MON_DIFF);
		if (first >= 0 && l->mp->cede_rule == HV_CEDE_IN_HOST && ev->f[HV_F_KVMHV_CEDE_N_NAPS])
			l2_diverge(rp, tgid, first, ev, "kvmhv_cede",
				   "cede: vcpu %lld napped %lld times in the guest; %s handles H_CEDE in the host, the vcore exits "
				   "(hv_cede_decide)", (long long)ev->f[HV_F_KVMHV_CEDE_VCPU_ID],
				   (long long)ev->f[HV_F_KVMHV_CEDE_N_NAPS], l->mp->name);
		break;
	case HV_EV_KVMHV_PROD: {
		tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_PROD_LPID]);
		const struct l2_vcpu *src = l2_vcpu_find(rp, tgid, (int32_t)ev->f[HV_F_KVMHV_PROD_SRC_VCPU]);
		if (tgid < 0)
			break;
		c->pend_prod = 1;
		c->prod_model = (uint8_t)hv_prod_kicks(l->mp, (int)ev->f[HV_F_KVMHV_PROD_DST_CEDED],
						       src ? src->last_ceded : 0);
		c->prod_tgid = tgid;
		c->prod_dst = (int32_t)ev->f[HV_F_KVMHV_PROD_DST_VCPU];
		c->prod_ev = *ev;
		break;
	}
	case HV_EV_KVMHV_BLOCK_ADJUST: {
		uint32_t old = (uint32_t)ev->f[HV_F_KVMHV_BLOCK_ADJUST_OLD_POLL_NS];
		uint64_t ns = (uint64_t)ev->f[HV_F_KVMHV_BLOCK_ADJUST_BLOCK_NS];
		uint32_t want = l->mp->halt_poll ? hv_halt_poll_adjust(&l->par, old, ns) : 0;
		tgid = l2_tgid_of_lpid(rp, ev->f[HV_F_KVMHV_BLOCK_ADJUST_LPID]);
		first = (int32_t)ev->f[HV_F_KVMHV_BLOCK_ADJUST_FIRST_VCPUID];
		rp_checked(rp, RP_MON_DIFF);
		if (tgid >= 0 && want != (uint32_t)ev->f[HV_F_KVMHV_BLOCK_ADJUST_NEW_POLL_NS])
			l2_diverge(rp, tgid, first, ev, "kvmhv_block_adjust",
				   "halt poll: after a block of %llu ns the interval went %u -> %lld ns, %s gives %u "
				   "(hv_halt_poll_adjust)", (unsigned long long)ns, old,
				   (long long)ev->f[HV_F_KVMHV_BLOCK_ADJUST_NEW_POLL_NS], l->mp->name, want);
		break;
	}
	default:
		break;
	}
}
