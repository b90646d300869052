/*
 * Stateless monitors: trap_values (spec §5.2 items 17, 18) and ordering (item 19).
 *
 * Each has a single state ("-"); every event is checked on its own against data tables:
 * trap_values: a kvm_guest_exit trap is one of the BOOK3S_INTERRUPT_* vectors (§4.5) or 0;
 * 0x1980 (NESTED_HV_DECREMENTER) never on the POWER7/8 gang path; 0x5555 (HV_RM_HARD, a
 * real-mode passthrough) never on the POWER9 single path; kvm_guest_enter with ceded=1
 * only on the gang path (the POWER9 path clears ceded before the event).
 * ordering: timestamps never go back on a CPU or within a task; the tgid field of
 * kvmppc_run_core / kvmppc_vcore_blocked / kvmppc_vcore_wakeup is the emitting task's.
 */
#include "rp_int.h"

static const int32_t trap_set[] = {
	0x0, 0x100, 0x200, 0x300, 0x380, 0x400, 0x480, 0x500, 0x502, 0x600, 0x700, 0x800, 0x900, 0x980,
	0xa00, 0xc00, 0xd00, 0xe00, 0xe20, 0xe40, 0xe60, 0xe80, 0xea0, 0xf00, 0xf20, 0xf40, 0xf60, 0xf80,
	0x1500, 0x1980, 0x5555,
};

static int known_trap(const struct rp *rp, int32_t trap)
{
	for (size_t i = 0; i < sizeof trap_set / sizeof trap_set[0]; i++)
		if (trap_set[i] == trap)
			return 1;
	return trap == 0x501 && rp->prof->trap_501;
}

void rp_mon_trap(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_obj obj = { 'c', ev->cpu, 0 };
	if (ev->id == HV_EV_KVM_GUEST_EXIT) {
		int32_t trap = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_TRAP];
		obj.kind = 't';
		obj.a = ev->pid;
		rp_checked(rp, RP_MON_TRAP);
		if (!known_trap(rp, trap))
			rp_violate(rp, RP_MON_TRAP, obj, "-", "kvm_guest_exit", ev,
				   "trap 0x%x of vcpu %d is no Book3S interrupt vector", (unsigned)trap,
				   (int)ev->f[HV_F_KVM_GUEST_EXIT_VCPU_ID]);
		else if (trap == 0x1980 && rp->prof->gang && rp->chip != 9)
			rp_violate(rp, RP_MON_TRAP, obj, "-", "kvm_guest_exit", ev,
				   "trap 0x1980 (NESTED_HV_DECREMENTER) on the POWER7/8 gang path");
		else if (trap == 0x5555 && !rp->prof->gang)
			rp_violate(rp, RP_MON_TRAP, obj, "-", "kvm_guest_exit", ev,
				   "trap 0x5555 (HV_RM_HARD, real-mode passthrough) on the POWER9 single path");
	} else if (ev->id == HV_EV_KVM_GUEST_ENTER) {
		obj.kind = 't';
		obj.a = ev->pid;
		rp_checked(rp, RP_MON_TRAP);
		if (ev->f[HV_F_KVM_GUEST_ENTER_CEDED] && !rp->prof->gang)
			rp_violate(rp, RP_MON_TRAP, obj, "-", "kvm_guest_enter", ev,
				   "kvm_guest_enter of vcpu %d with ceded=1 on the POWER9 path (it clears ceded first)",
				   (int)ev->f[HV_F_KVM_GUEST_ENTER_VCPU_ID]);
	}
}

static int tgid_field(int id)
{
	switch (id) {
	case HV_EV_KVMPPC_RUN_CORE:
		return HV_F_KVMPPC_RUN_CORE_TGID;
	case HV_EV_KVMPPC_VCORE_BLOCKED:
		return HV_F_KVMPPC_VCORE_BLOCKED_TGID;
	case HV_EV_KVMPPC_VCORE_WAKEUP:
		return HV_F_KVMPPC_VCORE_WAKEUP_TGID;
	}
	return -1;
}

void rp_mon_order(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[ev->cpu];
	struct rp_task *t = ev->pid > 0 ? rp_task_get(rp, ev->pid) : NULL;
	rp_checked(rp, RP_MON_ORDER);
	if (c->has_last && ev->ts < c->last_ts)
		rp_violate(rp, RP_MON_ORDER, (struct rp_obj){ 'c', ev->cpu, 0 }, "-", "timestamp", ev,
			   "timestamp %llu goes back on CPU %d (previous event seq %llu at %llu)",
			   (unsigned long long)ev->ts, ev->cpu, (unsigned long long)c->last_seq,
			   (unsigned long long)c->last_ts);
	else if (t && t->has_last && ev->ts < t->last_ts)
		rp_violate(rp, RP_MON_ORDER, (struct rp_obj){ 't', ev->pid, 0 }, "-", "timestamp", ev,
			   "timestamp %llu goes back in task %d (previous event seq %llu at %llu)",
			   (unsigned long long)ev->ts, ev->pid, (unsigned long long)t->last_seq,
			   (unsigned long long)t->last_ts);
	int tf = tgid_field(ev->id);
	if (tf >= 0 && t && t->tgid >= 0 && ev->f[tf] != t->tgid)
		rp_violate(rp, RP_MON_ORDER, (struct rp_obj){ 't', ev->pid, 0 }, "-", "tgid", ev,
			   "tgid field %d differs from the emitting task's tgid %d", (int)ev->f[tf], t->tgid);
	if (!c->has_last || ev->ts >= c->last_ts) {
		c->last_ts = ev->ts;
		c->last_seq = ev->seq;
		c->has_last = 1;
	}
	if (t && (!t->has_last || ev->ts >= t->last_ts)) {
		t->last_ts = ev->ts;
		t->last_seq = ev->seq;
		t->has_last = 1;
	}
}
