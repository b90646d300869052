/*
 * hvtrace derive: guest runs (vcpu_run) and dispatch wait (vcpu_wait).
 *
 * Gang path: each run comes from the replay bookkeeping (hv_replay_tap.guest_run) at its
 * kvm_guest_exit, with its VM, window (core_run_id) and inferred hardware thread. POWER9 and
 * nested single path: kvm_guest_enter -> kvm_guest_exit of the same task, the VM from the
 * task, hw_thread = the CPU it ran on (each vcpu runs on its own task's thread).
 *
 * Wait: a vcpu waits while it is inside KVM_RUN (from kvmppc_run_vcpu_enter, or known from
 * a guest run) and not in the guest, not in an hcall or page fault handled by its task, and
 * not ceded (a vcpu whose last exit was ceded is idle until it is entered again; the vcore
 * blocks only when every vcpu is ceded). Intervals: from KVM_RUN entry, the end of an hcall
 * or page fault, or a non-ceded guest exit, to the next guest entry, hcall or page fault, or
 * kvmppc_run_vcpu_exit. By construction they never overlap that vcpu's guest runs.
 */
#include <sqlite3.h>

#include "derive_int.h"
#include "hv_events.h"

void dv_wait_close(struct dv *d, struct dv_vcpu *v, uint64_t ts)
{
	uint64_t from = v->wait_from;
	v->wait_from = 0;
	if (!from || ts <= from || !d->ins_wait)
		return;
	sqlite3_stmt *s = d->ins_wait;
	sqlite3_bind_int(s, 1, v->tgid);
	sqlite3_bind_int(s, 2, v->id);
	sqlite3_bind_int64(s, 3, (int64_t)from);
	sqlite3_bind_int64(s, 4, (int64_t)ts);
	dv_insert(d, s, "vcpu_wait");
	d->sum->vcpu_wait++;
}

static void bind_opt(sqlite3_stmt *s, int i, int64_t v, int known)
{
	if (known)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

void dv_guest_run(struct dv *d, const struct hv_replay_grun *r)
{
	sqlite3_stmt *s = d->ins_run;
	bind_opt(s, 1, r->tgid, r->tgid >= 0);
	sqlite3_bind_int(s, 2, r->vcpu_id);
	sqlite3_bind_int(s, 3, r->cpu);
	bind_opt(s, 4, r->hw, r->hw >= 0);
	bind_opt(s, 5, r->core_run_id, r->core_run_id > 0);
	sqlite3_bind_int64(s, 6, (int64_t)r->enter_ts);
	sqlite3_bind_int64(s, 7, (int64_t)r->exit_ts);
	sqlite3_bind_int64(s, 8, (int64_t)r->enter_seq);
	sqlite3_bind_int64(s, 9, (int64_t)r->exit_seq);
	sqlite3_bind_int(s, 10, r->trap);
	sqlite3_bind_int(s, 11, r->ceded);
	sqlite3_bind_int(s, 12, r->late_join);
	sqlite3_bind_int(s, 13, r->enter_ceded);
	dv_insert(d, s, "vcpu_run");
	d->sum->vcpu_run++;
	d->sum->unattributed += r->tgid < 0;
	struct dv_vcpu *v = dv_vcpu(d, r->tgid, r->vcpu_id);
	if (!v)
		return;
	dv_wait_close(d, v, r->enter_ts);
	v->in_run = 1;
	v->ceded = r->ceded;
	if (!v->busy && !r->ceded)
		v->wait_from = r->exit_ts;
}

/* POWER9 / nested single path: the vcpu's own task enters and leaves the guest. */
static void single_path(struct dv *d, const struct hv_replay_ev *ev)
{
	struct dv_task *t = dv_task(d, ev->pid);
	if (!t)
		return;
	if (ev->id == HV_EV_KVM_GUEST_ENTER) {
		t->in_guest = 1;
		t->g_cpu = ev->cpu;
		t->g_vcpu = (int32_t)ev->f[HV_F_KVM_GUEST_ENTER_VCPU_ID];
		t->g_seq = ev->seq;
		t->g_ts = ev->ts;
		t->g_ceded = ev->f[HV_F_KVM_GUEST_ENTER_CEDED] != 0;
		return;
	}
	int32_t k = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_VCPU_ID];
	if (!t->in_guest || t->g_vcpu != k)
		return;
	t->in_guest = 0;
	struct hv_replay_grun r = {
		.tgid = t->tgid, .vcpu_id = k, .cpu = ev->cpu, .hw = t->g_cpu, .core_run_id = 0,
		.enter_seq = t->g_seq, .enter_ts = t->g_ts, .exit_seq = ev->seq, .exit_ts = ev->ts,
		.trap = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_TRAP], .ceded = ev->f[HV_F_KVM_GUEST_EXIT_CEDED] != 0,
		.enter_ceded = t->g_ceded,
	};
	dv_guest_run(d, &r);
}

/* The vcpu a task-side event is about: its task's VM and the event's vcpu id. */
static struct dv_vcpu *task_vcpu(struct dv *d, const struct hv_replay_ev *ev, int32_t id)
{
	struct dv_task *t = dv_task(d, ev->pid);
	int32_t tgid = t ? t->tgid : -1;
	return dv_vcpu(d, tgid, id);
}

void dv_vcpu_event(struct dv *d, const struct hv_replay_ev *ev)
{
	struct dv_vcpu *v;
	switch (ev->id) {
	case HV_EV_KVM_GUEST_ENTER:
	case HV_EV_KVM_GUEST_EXIT:
		if (!d->gang)
			single_path(d, ev);
		if (!d->gang && ev->id == HV_EV_KVM_GUEST_ENTER &&
		    (v = task_vcpu(d, ev, (int32_t)ev->f[HV_F_KVM_GUEST_ENTER_VCPU_ID])) != NULL)
			dv_wait_close(d, v, ev->ts);
		break;
	case HV_EV_KVMPPC_RUN_VCPU_ENTER: {
		struct dv_task *t = dv_task(d, ev->pid);
		if (!t)
			return;
		t->tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID];
		t->vcpu = (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID];
		if ((v = dv_vcpu(d, t->tgid, t->vcpu)) != NULL) {
			v->in_run = 1;
			v->busy = v->ceded = 0;
			v->wait_from = ev->ts;
		}
		break;
	}
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		if ((v = task_vcpu(d, ev, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_VCPU_ID])) != NULL) {
			dv_wait_close(d, v, ev->ts);
			v->in_run = v->busy = 0;
		}
		break;
	case HV_EV_KVM_HCALL_ENTER:
	case HV_EV_KVM_PAGE_FAULT_ENTER:
		if ((v = task_vcpu(d, ev, (int32_t)ev->f[0])) != NULL) {	/* vcpu_id is field 0 */
			dv_wait_close(d, v, ev->ts);
			v->busy = 1;
		}
		break;
	case HV_EV_KVM_HCALL_EXIT:
	case HV_EV_KVM_PAGE_FAULT_EXIT:
		if ((v = task_vcpu(d, ev, (int32_t)ev->f[0])) != NULL) {
			v->busy = 0;
			if (v->in_run && !v->ceded)
				v->wait_from = ev->ts;
		}
		break;
	default:
		break;
	}
}
