/*
 * hvtrace derive: per-task intervals, hcall and vcore_block.
 *
 * hcall: kvm_hcall_enter -> kvm_hcall_exit of the same task (virtual-mode hcalls run in the
 * vcpu's own task); the VM is the task's (task table, kvmppc_run_vcpu_enter).
 * vcore_block: one row per kvmppc_vcore_blocked call of a runner task. Kernels with
 * kvmppc_vcore_wakeup (halt polling, v4.3+) end every call with it: the row starts at the
 * call's where=0 (or, when that was not seen, wakeup ts - ns) and takes ns and waited from
 * the wakeup, which also ends calls that only polled (no where=1). Older kernels: where=0 ->
 * where=1, ns = the difference, waited = 1 (they always slept).
 */
#include <sqlite3.h>

#include "derive_int.h"
#include "hv_events.h"

static void hcall_row(struct dv *d, struct dv_task *t, const struct hv_replay_ev *ev)
{
	sqlite3_stmt *s = d->ins_hcall;
	if (t->tgid >= 0)
		sqlite3_bind_int(s, 1, t->tgid);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_int(s, 2, (int32_t)ev->f[HV_F_KVM_HCALL_EXIT_VCPU_ID]);
	sqlite3_bind_int(s, 3, t->pid);
	sqlite3_bind_int(s, 4, t->hc_cpu);
	sqlite3_bind_int64(s, 5, t->hc_req);
	sqlite3_bind_int64(s, 6, (int64_t)t->hc_ts);
	sqlite3_bind_int64(s, 7, (int64_t)ev->ts);
	sqlite3_bind_int64(s, 8, ev->f[HV_F_KVM_HCALL_EXIT_RET]);
	sqlite3_bind_int64(s, 9, ev->f[HV_F_KVM_HCALL_EXIT_HCALL_RC]);
	dv_insert(d, s, "hcall");
	d->sum->hcall++;
}

static void block_row(struct dv *d, struct dv_task *t, uint64_t start, uint64_t end, int64_t ns, int waited,
		      int32_t tgid, int32_t runner, int32_t cpu)
{
	sqlite3_stmt *s = d->ins_block;
	sqlite3_bind_int(s, 1, tgid);
	if (runner >= 0)
		sqlite3_bind_int(s, 2, runner);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int(s, 3, t->pid);
	sqlite3_bind_int(s, 4, cpu);
	sqlite3_bind_int64(s, 5, (int64_t)start);
	sqlite3_bind_int64(s, 6, (int64_t)end);
	sqlite3_bind_int64(s, 7, ns);
	sqlite3_bind_int(s, 8, waited);
	dv_insert(d, s, "vcore_block");
	d->sum->vcore_block++;
}

static void blocked(struct dv *d, struct dv_task *t, const struct hv_replay_ev *ev)
{
	if (ev->f[HV_F_KVMPPC_VCORE_BLOCKED_WHERE] == 0) {
		t->in_block = 1;
		t->bl_ts = ev->ts;
		t->bl_cpu = ev->cpu;
		t->bl_tgid = (int32_t)ev->f[HV_F_KVMPPC_VCORE_BLOCKED_TGID];
		t->bl_runner = (int32_t)ev->f[HV_F_KVMPPC_VCORE_BLOCKED_RUNNER_VCPU];
		return;
	}
	if (d->has_wakeup || !t->in_block)
		return;		/* with wakeups, the call ends at its kvmppc_vcore_wakeup */
	t->in_block = 0;
	block_row(d, t, t->bl_ts, ev->ts, (int64_t)(ev->ts - t->bl_ts), 1, t->bl_tgid, t->bl_runner, t->bl_cpu);
}

static void wakeup(struct dv *d, struct dv_task *t, const struct hv_replay_ev *ev)
{
	int64_t ns = ev->f[HV_F_KVMPPC_VCORE_WAKEUP_NS];
	int32_t tgid = (int32_t)ev->f[HV_F_KVMPPC_VCORE_WAKEUP_TGID];
	if (t->in_block && t->bl_tgid == tgid)
		block_row(d, t, t->bl_ts, ev->ts, ns, ev->f[HV_F_KVMPPC_VCORE_WAKEUP_WAITED] != 0, tgid, t->bl_runner,
			  t->bl_cpu);
	else	/* its where=0 was not seen (trace start, lost events) */
		block_row(d, t, ns >= 0 && (uint64_t)ns <= ev->ts ? ev->ts - (uint64_t)ns : ev->ts, ev->ts, ns,
			  ev->f[HV_F_KVMPPC_VCORE_WAKEUP_WAITED] != 0, tgid, t->vcpu, ev->cpu);
	t->in_block = 0;
}

void dv_task_event(struct dv *d, const struct hv_replay_ev *ev)
{
	if (ev->id != HV_EV_KVM_HCALL_ENTER && ev->id != HV_EV_KVM_HCALL_EXIT && ev->id != HV_EV_KVMPPC_VCORE_BLOCKED &&
	    ev->id != HV_EV_KVMPPC_VCORE_WAKEUP)
		return;
	struct dv_task *t = dv_task(d, ev->pid);
	if (!t)
		return;
	switch (ev->id) {
	case HV_EV_KVM_HCALL_ENTER:
		t->in_hcall = 1;
		t->hc_cpu = ev->cpu;
		t->hc_ts = ev->ts;
		t->hc_req = ev->f[HV_F_KVM_HCALL_ENTER_REQ];
		break;
	case HV_EV_KVM_HCALL_EXIT:
		if (t->in_hcall)
			hcall_row(d, t, ev);
		t->in_hcall = 0;
		break;
	case HV_EV_KVMPPC_VCORE_BLOCKED:
		blocked(d, t, ev);
		break;
	default:
		wakeup(d, t, ev);
		break;
	}
}
