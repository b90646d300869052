/*
 * Guest entry monitors, one per scheduling path.
 *
 * vcpu_guest (gang path, per vcpu = VM tgid + vcpu id; §5.2 items 5b, 10, 13): every
 * kvm_guest_enter(k) is followed by exactly one kvm_guest_exit(k) inside the same
 * kvmppc_run_core window, and both lie inside k's kvmppc_run_vcpu_enter…exit bracket. The
 * enter and exit events are emitted by the runner on the core's primary CPU (or by the
 * late-joining task), so mon_core.c attributes them to vcpus and feeds this automaton; the
 * task's own run_vcpu_enter/exit are fed from here. A window that closes while k is still
 * in the guest leaves k STRANDED: the next event about k (a stray exit, a new enter, its
 * task leaving KVM_RUN, or the end of the trace) is the violation.
 *
 * p9_entry (POWER9 single path, per task; items 6, 7 with §9.5, §9.9): the task's own
 * kvm_guest_enter/exit sit inside its run_vcpu bracket, at most one entry per bracket, enter
 * and exit on the same CPU, no two open entries on one CPU; no H_CEDE hcall_enter, and in
 * the lean form (E516) no kvmppc_run_core or kvmppc_vcore_wakeup.
 */
#include <stdio.h>

#include "rp_int.h"

/* ---- vcpu_guest ---- */

enum { G_UNKNOWN, G_OUT, G_RUN, G_GUEST, G_STRANDED, GNS };

static const char *const gstates[GNS] = { "UNKNOWN", "OUT", "RUN", "GUEST", "STRANDED" };
static const char *const gevents[] = { "kvmppc_run_vcpu_enter", "kvmppc_run_vcpu_exit", "kvm_guest_enter",
				       "kvm_guest_exit", "kvmppc_run_core Exit" };
static const char *const gexpect[GNS] = {
	"unknown",
	"task outside KVM_RUN: expected kvmppc_run_vcpu_enter before any guest entry",
	"task in kvmppc_run_vcpu, vcpu not in the guest: expected kvm_guest_enter or kvmppc_run_vcpu_exit",
	"vcpu in the guest: expected its kvm_guest_exit in the same kvmppc_run_core window",
	"the window the vcpu entered in closed without its kvm_guest_exit",
};
static const char strand[] = "the kvmppc_run_core window it entered in closed without its kvm_guest_exit";

static const struct rp_trans gtab[GNS][5] = {
	[G_UNKNOWN] = { [RP_G_RUN_ENTER] = GO(G_RUN), [RP_G_RUN_EXIT] = GO(G_OUT), [RP_G_ENTER] = GO(G_GUEST) },
	[G_OUT] = {
		[RP_G_RUN_ENTER] = GO(G_RUN), [RP_G_RUN_EXIT] = GO(G_OUT), [RP_G_WIN_CLOSE] = GO(G_OUT),
		[RP_G_ENTER] = BAD(G_UNKNOWN, "kvm_guest_enter while the vcpu's task is outside kvmppc_run_vcpu_enter…exit"),
		[RP_G_EXIT] = BAD(G_UNKNOWN, "kvm_guest_exit while the vcpu's task is outside kvmppc_run_vcpu_enter…exit"),
	},
	[G_RUN] = {
		[RP_G_RUN_ENTER] = GO(G_RUN), [RP_G_RUN_EXIT] = GO(G_OUT), [RP_G_ENTER] = GO(G_GUEST),
		[RP_G_WIN_CLOSE] = GO(G_RUN),
		[RP_G_EXIT] = BAD(G_UNKNOWN, "kvm_guest_exit without a kvm_guest_enter"),
	},
	[G_GUEST] = {
		[RP_G_EXIT] = GO(G_RUN), [RP_G_WIN_CLOSE] = GO(G_STRANDED),
		[RP_G_ENTER] = BAD(G_UNKNOWN, "kvm_guest_enter while the vcpu is in the guest in an open window "
					      "(one vcpu in two windows at once)"),
		[RP_G_RUN_EXIT] = BAD(G_UNKNOWN, "kvmppc_run_vcpu_exit while the vcpu is still in the guest"),
		[RP_G_RUN_ENTER] = BAD(G_UNKNOWN, "kvmppc_run_vcpu_enter while the vcpu is still in the guest"),
	},
	[G_STRANDED] = {
		[RP_G_EXIT] = BAD(G_RUN, "kvm_guest_exit outside the kvmppc_run_core window it entered in:"),
		[RP_G_ENTER] = BAD(G_UNKNOWN, "kvm_guest_enter again, but"),
		[RP_G_RUN_EXIT] = BAD(G_UNKNOWN, "kvmppc_run_vcpu_exit, but"),
		[RP_G_RUN_ENTER] = BAD(G_UNKNOWN, "kvmppc_run_vcpu_enter, but"),
		[RP_G_WIN_CLOSE] = GO(G_STRANDED),
	},
};

const struct rp_automaton rp_aut_vcpu_guest = { "vcpu_guest", GNS, 5, gstates, gevents, gexpect, &gtab[0][0] };

void rp_guest_feed(struct rp *rp, struct rp_vcpu *v, int letter, const struct rp_ev *ev)
{
	char detail[128];
	const char *d = NULL;
	if (v->st_guest == G_STRANDED) {
		snprintf(detail, sizeof detail, "%s%s(window on CPU %d, Exit at seq %llu)",
			 letter == RP_G_EXIT ? "" : strand, letter == RP_G_EXIT ? " " : " ", v->win_cpu,
			 (unsigned long long)v->win_exit_seq);
		d = detail;
	} else if (v->st_guest == G_GUEST && letter == RP_G_ENTER) {
		snprintf(detail, sizeof detail, "(entered on CPU %d)", v->win_cpu);
		d = detail;
	}
	struct rp_obj obj = { 'v', v->tgid, v->id };
	rp_step(rp, RP_MON_VCPU_GUEST, &rp_aut_vcpu_guest, &v->st_guest, letter, ev, obj, d);
}

int rp_vcpu_in_guest(const struct rp_vcpu *v)
{
	return v->st_guest == G_GUEST;
}

int rp_vcpu_stranded(const struct rp_vcpu *v)
{
	return v->st_guest == G_STRANDED;
}

void rp_mon_guest_finish(struct rp *rp)
{
	struct rp_vcpu *v;
	for (int i = 0; (v = rp_pool_at(&rp->vcpu_pool, i)) != NULL; i++)
		if (v->st_guest == G_STRANDED) {
			struct rp_ev ev = { .id = HV_EV_KVMPPC_RUN_CORE, .seq = v->win_exit_seq, .cpu = v->win_cpu, .pid = -1 };
			struct rp_obj obj = { 'v', v->tgid, v->id };
			rp_violate(rp, RP_MON_VCPU_GUEST, obj, gstates[G_STRANDED], "end of trace", &ev,
				   "the trace ends and the kvmppc_run_core window on CPU %d closed (seq %llu) "
				   "without a kvm_guest_exit for this vcpu", v->win_cpu, (unsigned long long)v->win_exit_seq);
		}
}

/* ---- p9_entry ---- */

enum { P_UNKNOWN, P_OUT, P_RUN, P_GUEST, P_DONE, PNS };
enum { PE_RUN_ENTER, PE_RUN_EXIT, PE_G_ENTER, PE_G_EXIT, PNE };

static const char *const pstates[PNS] = { "UNKNOWN", "OUT", "RUN", "GUEST", "DONE" };
static const char *const pevents[PNE] = { "kvmppc_run_vcpu_enter", "kvmppc_run_vcpu_exit", "kvm_guest_enter",
					  "kvm_guest_exit" };
static const char *const pexpect[PNS] = {
	"unknown",
	"task outside kvmhv_run_single_vcpu: expected kvmppc_run_vcpu_enter",
	"in kvmhv_run_single_vcpu before entry: expected kvm_guest_enter or kvmppc_run_vcpu_exit",
	"in the guest: expected kvm_guest_exit from this task on the entry's CPU",
	"guest entry done: expected kvmppc_run_vcpu_exit (at most one entry per run_vcpu_enter)",
};

static const struct rp_trans ptab[PNS][PNE] = {
	[P_UNKNOWN] = { [PE_RUN_ENTER] = GO(P_RUN), [PE_RUN_EXIT] = GO(P_OUT) },
	[P_OUT] = {
		[PE_RUN_ENTER] = GO(P_RUN), [PE_RUN_EXIT] = GO(P_OUT),
		[PE_G_ENTER] = BAD(P_UNKNOWN, "kvm_guest_enter outside the task's kvmppc_run_vcpu_enter…exit"),
		[PE_G_EXIT] = BAD(P_UNKNOWN, "kvm_guest_exit outside the task's kvmppc_run_vcpu_enter…exit"),
	},
	[P_RUN] = {
		[PE_RUN_ENTER] = GO(P_RUN), [PE_RUN_EXIT] = GO(P_OUT), [PE_G_ENTER] = GO(P_GUEST),
		[PE_G_EXIT] = BAD(P_UNKNOWN, "kvm_guest_exit without a kvm_guest_enter"),
	},
	[P_GUEST] = {
		[PE_G_EXIT] = GO(P_DONE),
		[PE_RUN_EXIT] = BAD(P_UNKNOWN, "kvmppc_run_vcpu_exit before the kvm_guest_exit of its entry"),
		[PE_RUN_ENTER] = BAD(P_UNKNOWN, "kvmppc_run_vcpu_enter while in the guest"),
		[PE_G_ENTER] = BAD(P_UNKNOWN, "kvm_guest_enter again without kvm_guest_exit"),
	},
	[P_DONE] = {
		[PE_RUN_ENTER] = GO(P_RUN), [PE_RUN_EXIT] = GO(P_OUT),
		[PE_G_ENTER] = BAD(P_UNKNOWN, "a second kvm_guest_enter in one kvmppc_run_vcpu_enter…exit"),
		[PE_G_EXIT] = BAD(P_UNKNOWN, "kvm_guest_exit without a kvm_guest_enter"),
	},
};

const struct rp_automaton rp_aut_p9_entry = { "p9_entry", PNS, PNE, pstates, pevents, pexpect, &ptab[0][0] };

static void p9_cpu_release(struct rp *rp, struct rp_task *t)
{
	if (t->p9_cpu >= 0 && t->p9_cpu < rp->ncpus && rp->cpus[t->p9_cpu].p9_pid == t->pid)
		rp->cpus[t->p9_cpu].p9_pid = -1;
	t->p9_cpu = -1;
}

void rp_mon_p9_entry(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_task *t;
	struct rp_obj obj = { 't', ev->pid, 0 };
	int letter;
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		letter = PE_RUN_ENTER;
		break;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		letter = PE_RUN_EXIT;
		break;
	case HV_EV_KVM_GUEST_ENTER:
		letter = PE_G_ENTER;
		break;
	case HV_EV_KVM_GUEST_EXIT:
		letter = PE_G_EXIT;
		break;
	case HV_EV_KVM_HCALL_ENTER:
		if (ev->f[HV_F_KVM_HCALL_ENTER_REQ] == 0xe0 && (t = rp_task_find(rp, ev->pid)) && t->st_p9 != P_UNKNOWN) {
			rp_checked(rp, RP_MON_P9_ENTRY);
			rp_violate(rp, RP_MON_P9_ENTRY, obj, pstates[t->st_p9], "kvm_hcall_enter", ev,
				   "H_CEDE reached virtual mode: the POWER9 path handles it inside kvmhv_p9_guest_entry");
		}
		return;
	case HV_EV_KVMPPC_RUN_CORE:
	case HV_EV_KVMPPC_VCORE_WAKEUP:
		if (rp->prof->lean) {
			rp_checked(rp, RP_MON_P9_ENTRY);
			rp_violate(rp, RP_MON_P9_ENTRY, obj, "-", ev->id == HV_EV_KVMPPC_RUN_CORE ? "kvmppc_run_core"
				   : "kvmppc_vcore_wakeup", ev, "the lean POWER9 path (%s) emits no kvmppc_run_core or "
				   "kvmppc_vcore_wakeup", rp->prof->name);
		}
		return;
	default:
		return;
	}
	if (ev->pid <= 0 || !(t = rp_task_get(rp, ev->pid)))
		return;
	int s = t->st_p9;
	int32_t vcpu = (int32_t)ev->f[0];
	if ((letter == PE_G_ENTER || letter == PE_G_EXIT) && s != P_UNKNOWN && t->vcpu >= 0 && vcpu != t->vcpu) {
		rp_checked(rp, RP_MON_P9_ENTRY);
		rp_violate(rp, RP_MON_P9_ENTRY, obj, pstates[s], pevents[letter], ev,
			   "%s for vcpu %d emitted by the task of vcpu %d (the POWER9 path enters only its own vcpu)",
			   pevents[letter], vcpu, t->vcpu);
		t->st_p9 = P_UNKNOWN;
		p9_cpu_release(rp, t);
		return;
	}
	if (letter == PE_G_EXIT && s == P_GUEST && t->p9_cpu >= 0 && t->p9_cpu != ev->cpu) {
		char d[96];
		snprintf(d, sizeof d, "(entered on CPU %d, exited on CPU %d)", t->p9_cpu, ev->cpu);
		rp_checked(rp, RP_MON_P9_ENTRY);
		rp_violate(rp, RP_MON_P9_ENTRY, obj, pstates[s], pevents[letter], ev,
			   "kvm_guest_exit on another CPU than its kvm_guest_enter %s", d);
		t->st_p9 = P_DONE;
		p9_cpu_release(rp, t);
		return;
	}
	rp_step(rp, RP_MON_P9_ENTRY, &rp_aut_p9_entry, &t->st_p9, letter, ev, obj, NULL);
	if (letter == PE_G_ENTER && t->st_p9 == P_GUEST) {
		struct rp_cpu *c = &rp->cpus[ev->cpu];
		if (c->p9_pid >= 0 && c->p9_pid != t->pid)
			rp_violate(rp, RP_MON_P9_ENTRY, (struct rp_obj){ 'c', ev->cpu, 0 }, "BUSY", pevents[letter], ev,
				   "CPU %d already has an open guest entry of task %d (seq %llu): windows overlap",
				   ev->cpu, c->p9_pid, (unsigned long long)c->p9_seq);
		c->p9_pid = t->pid;
		c->p9_seq = ev->seq;
		t->p9_cpu = ev->cpu;
	} else if (t->st_p9 != P_GUEST) {
		p9_cpu_release(rp, t);
	}
}
