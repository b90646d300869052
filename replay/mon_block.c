/*
 * Monitor vcore_block (per vcpu = VM tgid + vcpu id): when a vcore may block (spec §2.10,
 * §2.11; §5.2 items 6, 15, 16 with §9.6).
 *
 * Gang path: the runner blocks (kvmppc_vcore_blocked Enter/Exit, then kvmppc_vcore_wakeup
 * from v4.9 on) only after a kvmppc_run_core Exit in which every exited vcpu of its vcore
 * had ceded=1 (or left for the host: trap other than those that resume the guest), never
 * inside its window; after such an exit it may also go straight back to a run (§9.6: a
 * vcpu was already woken). kvmppc_vcore_wakeup(waited=1) closes an Enter/Exit pair,
 * waited=0 a poll or immediate wake without one; ns >= the pair's duration. Window facts
 * come from mon_core.c for every vcpu of the master vcore; block events come from the
 * runner task and go to its vcpu.
 *
 * After a sleep the vcore is still all-ceded unless the wake-up woke one of its vcpus: the
 * runner's kvmppc_run_vcpu loop recounts the ceded vcpus and may block again at once. That
 * happens when the wake-up came for a vcpu that is not runnable: on P7/P8 every vcpu's
 * waitp is the vcore's wait queue (spec §1.4, §2.10), so kvmppc_fast_vcpu_kick_hv of a vcpu
 * busy in the host wakes the runner for nothing (book3s_hv.c: kvmppc_vcore_blocked returns
 * to the while loop of kvmppc_run_vcpu). So after a sleep the state is ALL_CEDED again.
 *
 * POWER9 single path: kvmppc_vcore_blocked pairs (runnable 0 in E516) only after the
 * task's own kvm_guest_exit with ceded=1, before its kvmppc_run_vcpu_exit, repeatable.
 */
#include <stdio.h>

#include "rp_int.h"

/* ---- gang path ---- */
enum { B_UNKNOWN, B_IDLE, B_WINDOW, B_CEDED, B_BLOCKED, B_WOKEN, B_WIN_BLOCKED, BNS };
enum { BE_RUN_ENTER, BE_WIN_ENTER, BE_WIN_EXIT_CEDED, BE_WIN_EXIT_BUSY, BE_BLK_ENTER, BE_BLK_EXIT,
       BE_BLK_EXIT_NOWAKE, BE_WAKE_POLL, BE_WAKE_WAIT, BE_WAKE_NONE, BNE };

static const char *const bstates[BNS] = { "UNKNOWN", "IDLE", "IN_WINDOW", "ALL_CEDED", "BLOCKED", "WOKEN",
					  "BLOCKED_IN_WINDOW" };
static const char *const bevents[BNE] = {
	"kvmppc_run_vcpu_enter", "kvmppc_run_core Enter", "kvmppc_run_core Exit(all ceded)",
	"kvmppc_run_core Exit(not all ceded)", "kvmppc_vcore_blocked Enter", "kvmppc_vcore_blocked Exit",
	"kvmppc_vcore_blocked Exit", "kvmppc_vcore_wakeup(waited=0)", "kvmppc_vcore_wakeup(waited=1)",
	"kvmppc_vcore_wakeup",
};
static const char *const bexpect[BNS] = {
	"unknown",
	"vcore not idle: a block needs a kvmppc_run_core Exit with every vcpu ceded first",
	"in the runner's kvmppc_run_core window: no blocking here",
	"every vcpu ceded: expected a block attempt (vcore_blocked, vcore_wakeup) or a new run",
	"the runner sleeps in kvmppc_vcore_blocked: expected its Exit",
	"after kvmppc_vcore_blocked Exit: expected kvmppc_vcore_wakeup(waited=1)",
	"blocked inside its window (reported at the Enter): expected kvmppc_vcore_blocked Exit",
};
static const char in_window[] = "kvmppc_vcore_blocked inside the runner's kvmppc_run_core window";

static const struct rp_trans btab[BNS][BNE] = {
	[B_UNKNOWN] = {
		[BE_RUN_ENTER] = GO(B_IDLE), [BE_WIN_ENTER] = GO(B_WINDOW), [BE_WIN_EXIT_CEDED] = GO(B_CEDED),
		[BE_WIN_EXIT_BUSY] = GO(B_IDLE), [BE_BLK_EXIT] = GO(B_WOKEN), [BE_BLK_EXIT_NOWAKE] = GO(B_CEDED),
		[BE_WAKE_POLL] = GO(B_IDLE), [BE_WAKE_WAIT] = GO(B_CEDED),
	},
	[B_IDLE] = {
		[BE_RUN_ENTER] = GO(B_IDLE), [BE_WIN_ENTER] = GO(B_WINDOW), [BE_WIN_EXIT_CEDED] = GO(B_CEDED),
		[BE_WIN_EXIT_BUSY] = GO(B_IDLE),
		[BE_WAKE_WAIT] = BAD(B_IDLE, "kvmppc_vcore_wakeup(waited=1) without a kvmppc_vcore_blocked Enter/Exit pair"),
		[BE_WAKE_POLL] = BAD(B_IDLE, "kvmppc_vcore_wakeup without a block attempt (no all-ceded exit before it)"),
	},
	[B_WINDOW] = {
		[BE_WIN_EXIT_CEDED] = GO(B_CEDED), [BE_WIN_EXIT_BUSY] = GO(B_IDLE), [BE_WIN_ENTER] = GO(B_WINDOW),
		[BE_RUN_ENTER] = GO(B_IDLE),
		[BE_BLK_ENTER] = BAD(B_WIN_BLOCKED, in_window), [BE_BLK_EXIT] = BAD(B_WINDOW, in_window),
		[BE_BLK_EXIT_NOWAKE] = BAD(B_WINDOW, in_window),
	},
	[B_WIN_BLOCKED] = {
		[BE_BLK_EXIT] = GO(B_WINDOW), [BE_BLK_EXIT_NOWAKE] = GO(B_WINDOW), [BE_WIN_EXIT_CEDED] = GO(B_CEDED),
		[BE_WIN_EXIT_BUSY] = GO(B_IDLE),
	},
	[B_CEDED] = {
		[BE_WIN_ENTER] = GO(B_WINDOW), [BE_BLK_ENTER] = GO(B_BLOCKED), [BE_WAKE_POLL] = GO(B_IDLE),
		[BE_RUN_ENTER] = GO(B_IDLE), [BE_WIN_EXIT_CEDED] = GO(B_CEDED), [BE_WIN_EXIT_BUSY] = GO(B_IDLE),
		[BE_WAKE_WAIT] = BAD(B_IDLE, "kvmppc_vcore_wakeup(waited=1) without a kvmppc_vcore_blocked Enter/Exit pair"),
	},
	[B_BLOCKED] = { [BE_BLK_EXIT] = GO(B_WOKEN), [BE_BLK_EXIT_NOWAKE] = GO(B_CEDED) },
	[B_WOKEN] = {
		[BE_WAKE_WAIT] = GO(B_CEDED),
		[BE_WAKE_POLL] = BAD(B_IDLE, "kvmppc_vcore_wakeup(waited=0) after a kvmppc_vcore_blocked Enter/Exit pair"),
	},
};

const struct rp_automaton rp_aut_block_gang = { "vcore_block", BNS, BNE, bstates, bevents, bexpect, &btab[0][0] };

/* ---- POWER9 single path ---- */
enum { Q_UNKNOWN, Q_IDLE, Q_GUEST, Q_CEDED, Q_BLOCKED, QNS };
enum { QE_RUN_ENTER, QE_RUN_EXIT, QE_G_ENTER, QE_G_EXIT_CEDED, QE_G_EXIT_BUSY, QE_BLK_ENTER, QE_BLK_EXIT,
       QE_WAKE, QNE };

static const char *const qstates[QNS] = { "UNKNOWN", "IDLE", "GUEST", "CEDED", "BLOCKED" };
static const char *const qevents[QNE] = {
	"kvmppc_run_vcpu_enter", "kvmppc_run_vcpu_exit", "kvm_guest_enter", "kvm_guest_exit(ceded=1)",
	"kvm_guest_exit(ceded=0)", "kvmppc_vcore_blocked Enter", "kvmppc_vcore_blocked Exit", "kvmppc_vcore_wakeup",
};
static const char *const qexpect[QNS] = {
	"unknown",
	"not ceded: kvmppc_vcore_blocked only after a kvm_guest_exit with ceded=1",
	"in the guest: expected kvm_guest_exit",
	"ceded: expected kvmppc_vcore_blocked Enter, kvmppc_run_vcpu_exit or a new entry",
	"blocked in the cede loop: expected kvmppc_vcore_blocked Exit",
};

static const struct rp_trans qtab[QNS][QNE] = {
	[Q_UNKNOWN] = {
		[QE_RUN_ENTER] = GO(Q_IDLE), [QE_RUN_EXIT] = GO(Q_IDLE), [QE_G_ENTER] = GO(Q_GUEST),
		[QE_G_EXIT_CEDED] = GO(Q_CEDED), [QE_G_EXIT_BUSY] = GO(Q_IDLE), [QE_BLK_EXIT] = GO(Q_CEDED),
	},
	[Q_IDLE] = {
		[QE_RUN_ENTER] = GO(Q_IDLE), [QE_RUN_EXIT] = GO(Q_IDLE), [QE_G_ENTER] = GO(Q_GUEST),
		[QE_G_EXIT_CEDED] = GO(Q_CEDED), [QE_G_EXIT_BUSY] = GO(Q_IDLE), [QE_WAKE] = GO(Q_IDLE),
	},
	[Q_GUEST] = {
		[QE_G_EXIT_CEDED] = GO(Q_CEDED), [QE_G_EXIT_BUSY] = GO(Q_IDLE), [QE_RUN_EXIT] = GO(Q_IDLE),
		[QE_RUN_ENTER] = GO(Q_IDLE), [QE_G_ENTER] = GO(Q_GUEST),
	},
	[Q_CEDED] = {
		[QE_BLK_ENTER] = GO(Q_BLOCKED), [QE_RUN_EXIT] = GO(Q_IDLE), [QE_RUN_ENTER] = GO(Q_IDLE),
		[QE_G_ENTER] = GO(Q_GUEST), [QE_WAKE] = GO(Q_IDLE),
	},
	[Q_BLOCKED] = { [QE_BLK_EXIT] = GO(Q_CEDED) },
};

const struct rp_automaton rp_aut_block_p9 = { "vcore_block", QNS, QNE, qstates, qevents, qexpect, &qtab[0][0] };

/* ---- glue ---- */

static struct rp_vcpu *runner_vcpu(struct rp *rp, const struct rp_ev *ev, struct rp_task **tp)
{
	struct rp_task *t = ev->pid > 0 ? rp_task_find(rp, ev->pid) : NULL;
	*tp = t;
	if (!t || t->tgid < 0 || t->vcpu < 0)
		return NULL;
	return rp_vcpu_get(rp, t->tgid, t->vcpu);
}

void rp_block_window(struct rp *rp, struct rp_vcpu *v, int what, const struct rp_ev *ev)
{
	static const int letter[] = { BE_WIN_ENTER, BE_WIN_EXIT_CEDED, BE_WIN_EXIT_BUSY };
	rp_step(rp, RP_MON_VCORE_BLOCK, &rp_aut_block_gang, &v->st_block, letter[what], ev,
		(struct rp_obj){ 'v', v->tgid, v->id }, NULL);
}

static void block_gang(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_task *t;
	struct rp_vcpu *v;
	int letter;
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		v = rp_vcpu_find(rp, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID],
				 (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID]);
		if (v)
			rp_step(rp, RP_MON_VCORE_BLOCK, &rp_aut_block_gang, &v->st_block, BE_RUN_ENTER, ev,
				(struct rp_obj){ 'v', v->tgid, v->id }, NULL);
		return;
	case HV_EV_KVMPPC_VCORE_BLOCKED:
		if (!(v = runner_vcpu(rp, ev, &t)))
			return;
		if (ev->f[HV_F_KVMPPC_VCORE_BLOCKED_WHERE] == 0) {
			letter = BE_BLK_ENTER;
			v->blk_enter_ts = ev->ts;
			v->blk_exit_ts = 0;
		} else {
			letter = rp->prof->wakeup ? BE_BLK_EXIT : BE_BLK_EXIT_NOWAKE;
			v->blk_exit_ts = ev->ts;
		}
		if (v->st_block != RP_UNKNOWN && ev->f[HV_F_KVMPPC_VCORE_BLOCKED_RUNNER_VCPU] != v->id)
			rp_violate(rp, RP_MON_VCORE_BLOCK, (struct rp_obj){ 'v', v->tgid, v->id }, bstates[v->st_block],
				   bevents[letter], ev, "kvmppc_vcore_blocked names runner_vcpu %d, but its task runs vcpu %d",
				   (int)ev->f[HV_F_KVMPPC_VCORE_BLOCKED_RUNNER_VCPU], v->id);
		break;
	case HV_EV_KVMPPC_VCORE_WAKEUP:
		if (!(v = runner_vcpu(rp, ev, &t)))
			return;
		letter = !rp->prof->wakeup ? BE_WAKE_NONE
			 : ev->f[HV_F_KVMPPC_VCORE_WAKEUP_WAITED] ? BE_WAKE_WAIT : BE_WAKE_POLL;
		if (letter == BE_WAKE_WAIT && v->st_block == B_WOKEN && v->blk_enter_ts && v->blk_exit_ts) {
			uint64_t slept = v->blk_exit_ts - v->blk_enter_ts, ns = (uint64_t)ev->f[HV_F_KVMPPC_VCORE_WAKEUP_NS];
			if (v->blk_exit_ts >= v->blk_enter_ts && ns + ns / 100 + 10000 < slept)
				rp_violate(rp, RP_MON_VCORE_BLOCK, (struct rp_obj){ 'v', v->tgid, v->id }, bstates[B_WOKEN],
					   bevents[letter], ev, "kvmppc_vcore_wakeup says %llu ns, less than the %llu ns between "
					   "kvmppc_vcore_blocked Enter and Exit", (unsigned long long)ns,
					   (unsigned long long)slept);
		}
		break;
	default:
		return;
	}
	rp_step(rp, RP_MON_VCORE_BLOCK, &rp_aut_block_gang, &v->st_block, letter, ev,
		(struct rp_obj){ 'v', v->tgid, v->id }, NULL);
}

static void block_p9(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_task *t;
	struct rp_vcpu *v = runner_vcpu(rp, ev, &t);
	int letter;
	if (!v)
		return;
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		letter = QE_RUN_ENTER;
		break;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		letter = QE_RUN_EXIT;
		break;
	case HV_EV_KVM_GUEST_ENTER:
		if (ev->f[HV_F_KVM_GUEST_ENTER_VCPU_ID] != v->id)
			return;	/* p9_entry reports it */
		letter = QE_G_ENTER;
		break;
	case HV_EV_KVM_GUEST_EXIT:
		if (ev->f[HV_F_KVM_GUEST_EXIT_VCPU_ID] != v->id)
			return;
		letter = ev->f[HV_F_KVM_GUEST_EXIT_CEDED] ? QE_G_EXIT_CEDED : QE_G_EXIT_BUSY;
		break;
	case HV_EV_KVMPPC_VCORE_BLOCKED:
		letter = ev->f[HV_F_KVMPPC_VCORE_BLOCKED_WHERE] == 0 ? QE_BLK_ENTER : QE_BLK_EXIT;
		if (v->st_block != RP_UNKNOWN && rp->prof->lean && ev->f[HV_F_KVMPPC_VCORE_BLOCKED_N_RUNNABLE] != 0)
			rp_violate(rp, RP_MON_VCORE_BLOCK, (struct rp_obj){ 'v', v->tgid, v->id }, qstates[v->st_block],
				   qevents[letter], ev, "kvmppc_vcore_blocked runnable=%d, but the lean POWER9 path keeps "
				   "no vcore counters (0)", (int)ev->f[HV_F_KVMPPC_VCORE_BLOCKED_N_RUNNABLE]);
		break;
	case HV_EV_KVMPPC_VCORE_WAKEUP:
		if (rp->prof->lean)
			return;	/* p9_entry reports it */
		letter = QE_WAKE;
		break;
	default:
		return;
	}
	rp_step(rp, RP_MON_VCORE_BLOCK, &rp_aut_block_p9, &v->st_block, letter, ev,
		(struct rp_obj){ 'v', v->tgid, v->id }, NULL);
}

void rp_block_forget_vm(struct rp *rp, int32_t tgid)
{
	struct rp_vcpu *v;
	for (int i = 0; (v = rp_pool_at(&rp->vcpu_pool, i)) != NULL; i++)
		if (v->tgid == tgid) {
			v->st_block = RP_UNKNOWN;
			v->blk_enter_ts = v->blk_exit_ts = 0;
		}
}

void rp_mon_block(struct rp *rp, const struct rp_ev *ev)
{
	if (rp->prof->gang)
		block_gang(rp, ev);
	else
		block_p9(rp, ev);
}
