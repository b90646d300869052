/*
 * Monitor vcpu_run (per vcpu task): the KVM_RUN sequence of spec §2.2 as the task's own
 * events show it (§5.2 items 1-5, with §9.1-9.4).
 *
 * kvmppc_vcpu_run_hv loops over kvmppc_run_vcpu / kvmhv_run_single_vcpu, each bracketed by
 * kvmppc_run_vcpu_enter/exit; between two brackets the task handles a virtual-mode hcall
 * (kvm_hcall_enter/exit, H_ENTER_NESTED may hold inner L2 brackets: S12), an HPT page fault
 * (kvm_page_fault_enter/exit) or an emulated MMIO (kvm:kvm_ppc_instr), or it returns to
 * userspace (kvm:kvm_userspace_exit). Guards: equal vcpu_id in every event of the task, a
 * constant tgid, and a userspace-exit reason/errno that matches how KVM_RUN ended (the
 * last run_vcpu_exit's exit; 19 after a punted hcall; 6 after an emulated MMIO; with no
 * kvm_hv event since the last return, the previous reason with errno -4: §9.3).
 */
#include <stdio.h>

#include "rp_int.h"

enum {
	S_UNKNOWN, S_OUT, S_IN_RUN, S_X_RESUME, S_X_HCALL, S_X_PF, S_X_HOST, S_IN_HCALL, S_IN_NESTED,
	S_NESTED_RUN, S_H_RESUME, S_H_HOST, S_IN_PF, S_PF_DONE, S_MMIO, NS
};
enum {
	E_RUN_ENTER, E_RX_RESUME, E_RX_HCALL, E_RX_PF, E_RX_HOST, E_HC_ENTER, E_HC_ENTER_NESTED,
	E_HC_EXIT_RESUME, E_HC_EXIT_HOST, E_PF_ENTER, E_PF_EXIT, E_PPC_INSTR, E_USER_EXIT,
	E_USER_EXIT_BAD, NE
};

static const char *const states[NS] = {
	"UNKNOWN", "OUT", "IN_RUN", "EXIT_RESUME", "EXIT_HCALL", "EXIT_PAGE_FAULT", "EXIT_HOST",
	"IN_HCALL", "IN_H_ENTER_NESTED", "NESTED_RUN", "HCALL_RESUME", "HCALL_HOST", "IN_PAGE_FAULT",
	"PAGE_FAULT_DONE", "MMIO",
};
static const char *const events[NE] = {
	"kvmppc_run_vcpu_enter", "kvmppc_run_vcpu_exit(resume)", "kvmppc_run_vcpu_exit(hcall)",
	"kvmppc_run_vcpu_exit(page fault)", "kvmppc_run_vcpu_exit(to host)", "kvm_hcall_enter",
	"kvm_hcall_enter(H_ENTER_NESTED)", "kvm_hcall_exit(resume)", "kvm_hcall_exit(to host)",
	"kvm_page_fault_enter", "kvm_page_fault_exit", "kvm_ppc_instr", "kvm_userspace_exit",
	"kvm_userspace_exit(mismatch)",
};
static const char *const expect[NS] = {
	"unknown",
	"between KVM_RUN calls: expected kvmppc_run_vcpu_enter or kvm_userspace_exit",
	"inside kvmppc_run_vcpu: expected kvmppc_run_vcpu_exit",
	"after kvmppc_run_vcpu_exit with ret RESUME_GUEST: expected kvmppc_run_vcpu_enter",
	"after kvmppc_run_vcpu_exit(exit=19, ret=2): expected kvm_hcall_enter",
	("after kvmppc_run_vcpu_exit(ret=4): expected kvm_page_fault_enter, kvm_ppc_instr, "
	 "kvmppc_run_vcpu_enter or kvm_userspace_exit"),
	"after kvmppc_run_vcpu_exit returning to the host: expected kvm_userspace_exit",
	"inside a virtual-mode hcall: expected kvm_hcall_exit",
	"inside H_ENTER_NESTED: expected an L2 kvmppc_run_vcpu_enter or kvm_hcall_exit",
	"inside an L2 run of H_ENTER_NESTED: expected kvmppc_run_vcpu_exit",
	"after kvm_hcall_exit with ret RESUME_GUEST: expected kvmppc_run_vcpu_enter",
	"after kvm_hcall_exit with ret RESUME_HOST or an error: expected kvm_userspace_exit",
	"inside the HPT page-fault handler: expected kvm_page_fault_exit",
	"after kvm_page_fault_exit: expected kvmppc_run_vcpu_enter, kvm_ppc_instr or kvm_userspace_exit",
	"after an emulated MMIO: expected kvm_userspace_exit(MMIO) or kvmppc_run_vcpu_enter",
};

static const char bad_reason[] = "kvm_userspace_exit reason/errno differ from how KVM_RUN ended:";

static const struct rp_trans tab[NS][NE] = {
	[S_UNKNOWN] = {
		[E_RUN_ENTER] = GO(S_IN_RUN), [E_USER_EXIT] = GO(S_OUT), [E_USER_EXIT_BAD] = GO(S_OUT),
		[E_HC_ENTER] = GO(S_IN_HCALL), [E_HC_ENTER_NESTED] = GO(S_IN_NESTED),
		[E_HC_EXIT_RESUME] = GO(S_H_RESUME), [E_HC_EXIT_HOST] = GO(S_H_HOST),
	},
	[S_OUT] = {
		[E_RUN_ENTER] = GO(S_IN_RUN), [E_USER_EXIT] = GO(S_OUT),
		[E_USER_EXIT_BAD] = BAD(S_OUT, "kvm_userspace_exit with no kvm_hv event since the last one must "
					       "repeat its reason (or 10) with errno -4 (immediate_exit or early signal), "
					       "or be 17 with -22 (vcpu not sane):"),
		[E_HC_ENTER] = BAD(S_UNKNOWN, "kvm_hcall_enter not preceded by kvmppc_run_vcpu_exit(exit=19, ret=2)"),
		[E_HC_EXIT_RESUME] = BAD(S_UNKNOWN, "kvm_hcall_exit without kvm_hcall_enter"),
		[E_HC_EXIT_HOST] = BAD(S_UNKNOWN, "kvm_hcall_exit without kvm_hcall_enter"),
	},
	[S_IN_RUN] = {
		[E_RX_RESUME] = GO(S_X_RESUME), [E_RX_HCALL] = GO(S_X_HCALL), [E_RX_PF] = GO(S_X_PF),
		[E_RX_HOST] = GO(S_X_HOST),
		[E_RUN_ENTER] = BAD(S_IN_RUN, "kvmppc_run_vcpu_enter without a kvmppc_run_vcpu_exit for the previous one"),
	},
	[S_X_RESUME] = { [E_RUN_ENTER] = GO(S_IN_RUN) },
	[S_X_HCALL] = {
		[E_HC_ENTER] = GO(S_IN_HCALL), [E_HC_ENTER_NESTED] = GO(S_IN_NESTED),
		[E_USER_EXIT] = GO(S_OUT), [E_USER_EXIT_BAD] = BAD(S_OUT, bad_reason),
		[E_HC_EXIT_RESUME] = BAD(S_UNKNOWN, "kvm_hcall_exit without kvm_hcall_enter"),
		[E_HC_EXIT_HOST] = BAD(S_UNKNOWN, "kvm_hcall_exit without kvm_hcall_enter"),
	},
	[S_X_PF] = {
		[E_PF_ENTER] = GO(S_IN_PF), [E_PPC_INSTR] = GO(S_MMIO), [E_RUN_ENTER] = GO(S_IN_RUN),
		[E_USER_EXIT] = GO(S_OUT), [E_USER_EXIT_BAD] = BAD(S_OUT, bad_reason),
	},
	[S_X_HOST] = { [E_USER_EXIT] = GO(S_OUT), [E_USER_EXIT_BAD] = BAD(S_OUT, bad_reason) },
	[S_IN_HCALL] = {
		[E_HC_EXIT_RESUME] = GO(S_H_RESUME), [E_HC_EXIT_HOST] = GO(S_H_HOST),
		[E_RUN_ENTER] = BAD(S_UNKNOWN, "kvmppc_run_vcpu_enter inside an hcall other than H_ENTER_NESTED"),
	},
	[S_IN_NESTED] = {
		[E_RUN_ENTER] = GO(S_NESTED_RUN), [E_HC_EXIT_RESUME] = GO(S_H_RESUME),
		[E_HC_EXIT_HOST] = GO(S_H_HOST),
	},
	[S_NESTED_RUN] = {
		[E_RX_RESUME] = GO(S_IN_NESTED), [E_RX_HCALL] = GO(S_IN_NESTED), [E_RX_PF] = GO(S_IN_NESTED),
		[E_RX_HOST] = GO(S_IN_NESTED),
	},
	[S_H_RESUME] = { [E_RUN_ENTER] = GO(S_IN_RUN) },
	[S_H_HOST] = { [E_USER_EXIT] = GO(S_OUT), [E_USER_EXIT_BAD] = BAD(S_OUT, bad_reason) },
	[S_IN_PF] = { [E_PF_EXIT] = GO(S_PF_DONE) },
	[S_PF_DONE] = {
		[E_RUN_ENTER] = GO(S_IN_RUN), [E_PPC_INSTR] = GO(S_MMIO), [E_USER_EXIT] = GO(S_OUT),
		[E_USER_EXIT_BAD] = BAD(S_OUT, bad_reason),
	},
	[S_MMIO] = {
		[E_USER_EXIT] = GO(S_OUT), [E_USER_EXIT_BAD] = BAD(S_OUT, bad_reason), [E_RUN_ENTER] = GO(S_IN_RUN),
		[E_PPC_INSTR] = GO(S_MMIO),
	},
};

const struct rp_automaton rp_aut_vcpu_run = {
	"vcpu_run", NS, NE, states, events, expect, &tab[0][0],
};

#define KVM_EXIT_MMIO 6
#define KVM_EXIT_INTR 10
#define KVM_EXIT_PAPR_HCALL 19
#define KVM_EXIT_INTERNAL_ERROR 17

static int run_exit_letter(int32_t exit, int32_t ret)
{
	if (exit == KVM_EXIT_PAPR_HCALL && ret == 2)
		return E_RX_HCALL;
	if (ret == 4)
		return E_RX_PF;
	if (ret == 0 || ret == 1 || ret == 8)	/* RESUME_GUEST, _NV, RESUME_PASSTHROUGH */
		return E_RX_RESUME;
	return E_RX_HOST;
}

/* Does kvm_userspace_exit(reason, errno) fit the way KVM_RUN ended in state s? */
static int user_exit_ok(const struct rp_task *t, int s, int64_t reason, int64_t err, char *why, size_t n)
{
	int64_t want_err = 0;
	int ok;
	switch (s) {
	case S_OUT:	/* immediate_exit (-EINTR, reason unchanged), early signal, not sane (-EINVAL) */
		ok = (err == -4 && (t->last_reason < 0 || reason == t->last_reason || reason == KVM_EXIT_INTR)) ||
		     (err == -22 && reason == KVM_EXIT_INTERNAL_ERROR);
		snprintf(why, n, "reason %lld errno %lld, previous reason %d", (long long)reason, (long long)err,
			 t->last_reason);
		return ok;
	case S_X_HOST:
		want_err = t->last_ret < 0 ? t->last_ret : 0;
		ok = reason == t->last_exit && err == want_err;
		break;
	case S_X_HCALL:
		ok = reason == KVM_EXIT_PAPR_HCALL && err <= 0;
		break;
	case S_H_HOST:
		want_err = (int32_t)t->hcall_ret < 0 ? (int32_t)t->hcall_ret : 0;
		ok = (reason == KVM_EXIT_PAPR_HCALL || reason == t->last_exit) && err == want_err;
		break;
	case S_X_PF:
	case S_PF_DONE:
	case S_MMIO:
		ok = (reason == KVM_EXIT_MMIO || reason == t->last_exit) && err <= 0;
		break;
	default:
		return 1;	/* not a legal place anyway: the table reports it */
	}
	snprintf(why, n, "got reason %lld errno %lld after kvmppc_run_vcpu_exit(exit=%d, ret=%d)%s",
		 (long long)reason, (long long)err, t->last_exit, t->last_ret,
		 s == S_H_HOST ? " and a kvm_hcall_exit" : "");
	return ok;
}

static int vcpu_field(int id)
{
	switch (id) {
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
	case HV_EV_KVM_HCALL_ENTER:
	case HV_EV_KVM_HCALL_EXIT:
	case HV_EV_KVM_PAGE_FAULT_ENTER:
	case HV_EV_KVM_PAGE_FAULT_EXIT:
		return 1;
	}
	return 0;
}

void rp_mon_vcpu_run(struct rp *rp, const struct rp_ev *ev)
{
	int letter;
	char why[160] = "";
	struct rp_task *t;
	switch (ev->id) {
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
	case HV_EV_KVM_HCALL_ENTER:
	case HV_EV_KVM_HCALL_EXIT:
	case HV_EV_KVM_PAGE_FAULT_ENTER:
	case HV_EV_KVM_PAGE_FAULT_EXIT:
	case HV_EV_KVM_USERSPACE_EXIT:
	case RP_EV_PPC_INSTR:
		break;
	default:
		return;
	}
	if (ev->pid <= 0 || !(t = rp_task_get(rp, ev->pid)))
		return;
	struct rp_obj obj = { 't', ev->pid, 0 };
	if (ev->id == HV_EV_KVMPPC_RUN_VCPU_ENTER) {
		int32_t vcpu = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID];
		int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID];
		if (t->tgid >= 0 && t->tgid != tgid)
			rp_violate(rp, RP_MON_VCPU_RUN, obj, states[t->st_run], events[E_RUN_ENTER], ev,
				   "kvmppc_run_vcpu_enter tgid %d differs from this task's earlier tgid %d", tgid, t->tgid);
		else if (t->st_run != RP_UNKNOWN && t->vcpu >= 0 && t->vcpu != vcpu)
			rp_violate(rp, RP_MON_VCPU_RUN, obj, states[t->st_run], events[E_RUN_ENTER], ev,
				   "kvmppc_run_vcpu_enter for vcpu %d, but this task runs vcpu %d", vcpu, t->vcpu);
		t->tgid = tgid;
		t->vcpu = vcpu;
		struct rp_vcpu *v = rp_vcpu_get(rp, tgid, vcpu);
		if (v)
			v->pid = ev->pid;
		letter = E_RUN_ENTER;
	} else if (vcpu_field(ev->id) && t->vcpu >= 0 && t->st_run != RP_UNKNOWN && (int32_t)ev->f[0] != t->vcpu) {
		rp_violate(rp, RP_MON_VCPU_RUN, obj, states[t->st_run], "vcpu_id", ev,
			   "event for vcpu %d in the task of vcpu %d (events of a task must name its own vcpu)",
			   (int)ev->f[0], t->vcpu);
		t->st_run = RP_UNKNOWN;
		return;
	} else {
		switch (ev->id) {
		case HV_EV_KVMPPC_RUN_VCPU_EXIT:
			letter = run_exit_letter((int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_EXIT],
						 (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_RET]);
			if (t->st_run != S_NESTED_RUN) {
				t->last_exit = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_EXIT];
				t->last_ret = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_RET];
			} else {
				t->last_exit = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_EXIT];
			}
			break;
		case HV_EV_KVM_HCALL_ENTER:
			letter = ev->f[HV_F_KVM_HCALL_ENTER_REQ] == 0xf804 ? E_HC_ENTER_NESTED : E_HC_ENTER;
			break;
		case HV_EV_KVM_HCALL_EXIT: {
			int64_t r = ev->f[HV_F_KVM_HCALL_EXIT_RET];
			t->hcall_ret = r;
			letter = (r == 0 || r == 1) ? E_HC_EXIT_RESUME : E_HC_EXIT_HOST;
			break;
		}
		case HV_EV_KVM_PAGE_FAULT_ENTER:
			letter = E_PF_ENTER;
			break;
		case HV_EV_KVM_PAGE_FAULT_EXIT:
			letter = E_PF_EXIT;
			break;
		case RP_EV_PPC_INSTR:
			letter = E_PPC_INSTR;
			break;
		default: {	/* kvm_userspace_exit */
			int64_t reason = ev->f[HV_F_KVM_USERSPACE_EXIT_REASON];
			int64_t err = (int32_t)ev->f[HV_F_KVM_USERSPACE_EXIT_ERRNO];
			letter = user_exit_ok(t, t->st_run, reason, err, why, sizeof why) ? E_USER_EXIT : E_USER_EXIT_BAD;
			t->last_reason = (int32_t)reason;
			break;
		}
		}
	}
	/* A run_vcpu_enter that resynchronised the task may have been an L2 run inside
	 * H_ENTER_NESTED (S12): until an hcall or userspace event settles it, an hcall_exit
	 * right after an L2-like run end (not the exit=19 of a punted hcall) resynchronises. */
	int hcall_event = letter >= E_HC_ENTER && letter <= E_HC_EXIT_HOST;
	if (t->run_uncertain && (letter == E_HC_EXIT_RESUME || letter == E_HC_EXIT_HOST) &&
	    (t->st_run == S_X_HOST || t->st_run == S_X_RESUME))
		t->st_run = RP_UNKNOWN;
	if (hcall_event || letter == E_USER_EXIT || letter == E_USER_EXIT_BAD || letter == E_PPC_INSTR ||
	    letter == E_PF_ENTER)
		t->run_uncertain = 0;
	else if (letter == E_RUN_ENTER && t->st_run == RP_UNKNOWN)
		t->run_uncertain = 1;
	rp_step(rp, RP_MON_VCPU_RUN, &rp_aut_vcpu_run, &t->st_run, letter, ev, obj, why[0] ? why : NULL);
}

int rp_task_in_run(const struct rp_task *t)
{
	return t->st_run == S_IN_RUN || t->st_run == S_NESTED_RUN;
}
