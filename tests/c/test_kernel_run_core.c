/*
 * kvmppc_run_core's early returns (spec 2.4, S8, 6.2 #4): the -EBUSY path (vcore bigger than
 * the subcore) emits kvmppc_run_core Exit with no Enter and fails every runnable vcpu with
 * -EBUSY; the need_resched abort after collect_piggybacks emits no stock event and puts the
 * piggybacked vcores back on this CPU's preempted list. And a normal run: the burst of
 * kvm_guest_enter (master vcore first, then the piggybacked one, ptid order) precedes Enter.
 */
#include "tap.h"

#include <string.h>

#include "hv_events.h"
#include "sim_int.h"

struct rec {
	int n;
	int id[256];
	int64_t f0[256], f2[256];
};

static int rec_emit(void *ctx, int id, uint64_t ts, int32_t cpu, int32_t pid,
		    const struct hv_value *vals)
{
	(void)ts;
	(void)cpu;
	(void)pid;
	struct rec *r = ctx;
	if (r->n < 256) {
		r->id[r->n] = id;
		r->f0[r->n] = vals[0].i;
		r->f2[r->n] = vals[2].i;
		r->n++;
	}
	return 0;
}

static struct hv_sim *make(struct rec *r, struct hv_sink *sink)
{
	static const char scen[] = "cpu POWER8\ncores 1\nvm a vcpus=2 smt=2\nvm b vcpus=1 smt=1\n"
				   "vm big vcpus=8 smt=8\n";
	struct hv_scenario sc;
	char err[256];
	if (hv_scenario_parse(&sc, scen, "test", err, sizeof err) < 0)
		return NULL;
	memset(r, 0, sizeof *r);
	sink->ctx = r;
	sink->emit = rec_emit;
	struct hv_sim *s;
	if (hv_sim_create(&sc, sink, &s) < 0)
		return NULL;
	s->h.ctx_cpu = 0;
	s->h.ctx_pid = 1;
	return s;
}

static void all_runnable(struct hv_sim *s, int vm)
{
	for (int i = 0; i < s->h.vms[vm].nvcpus; i++) {
		struct hv_vcpu *v = &s->h.vms[vm].vcpus[i];
		hv_vcore_add_runnable(&s->h, v->vc, v);
		v->task->sleeping = 0;	/* as if waiting in kvmppc_wait_for_exec */
		v->task->on_cpu = 1;
	}
}

static int count(const struct rec *r, int id, int where)
{
	int n = 0;
	for (int i = 0; i < r->n; i++)
		if (r->id[i] == id && (where < 0 || r->f2[i] == where))
			n++;
	return n;
}

int main(void)
{
	struct rec r;
	struct hv_sink sink;
	TEST("-EBUSY: vcore larger than the subcore, Exit without Enter, ret -16 for all") {
		struct hv_sim *s = make(&r, &sink);
		CHECK(s != NULL);
		if (!s)
			break;
		all_runnable(s, 2);
		struct hv_vcore *vc = &s->h.vms[2].vcores[0];
		vc->runner = &s->h.vms[2].vcpus[0];
		s->h.par.threads_per_subcore = 4;	/* the core was split after the VM started */
		CHECK_EQ_I(hv_run_core(&s->h, vc), 0);
		CHECK_EQ_I(count(&r, HV_EV_KVMPPC_RUN_CORE, 0), 0);
		CHECK_EQ_I(count(&r, HV_EV_KVMPPC_RUN_CORE, 1), 1);
		CHECK_EQ_I(count(&r, HV_EV_KVMHV_CORE_ABORT, -1), 1);
		CHECK_EQ_I(count(&r, HV_EV_KVM_GUEST_ENTER, -1), 0);
		CHECK_EQ_I(vc->n_runnable, 0);
		for (int i = 0; i < 8; i++)
			CHECK_EQ_I(s->h.vms[2].vcpus[i].ret, -16);
		hv_sim_destroy(s);
	}
	TEST("need_resched after collect_piggybacks: no stock event, piggybacked vcore re-queued") {
		struct hv_sim *s = make(&r, &sink);
		CHECK(s != NULL);
		if (!s)
			break;
		all_runnable(s, 0);
		all_runnable(s, 1);
		struct hv_vcore *a = &s->h.vms[0].vcores[0], *b = &s->h.vms[1].vcores[0];
		hv_vcore_preempt(&s->h, b, 0);
		a->runner = &s->h.vms[0].vcpus[0];
		s->h.cpus[0].need_resched = 1;
		CHECK_EQ_I(hv_run_core(&s->h, a), 0);
		CHECK_EQ_I(count(&r, HV_EV_KVMPPC_RUN_CORE, -1), 0);
		CHECK_EQ_I(count(&r, HV_EV_KVM_GUEST_ENTER, -1), 0);
		CHECK_EQ_I(count(&r, HV_EV_KVMHV_CORE_ABORT, -1), 1);
		CHECK_EQ_I(b->vcore_state, HV_VCORE_PREEMPT);
		CHECK_EQ_I(b->pl_cpu, 0);
		CHECK_EQ_I(a->vcore_state, HV_VCORE_INACTIVE);
		hv_sim_destroy(s);
	}
	TEST("a piggybacked run: burst master first then piggybacked, ptid order, then Enter") {
		struct hv_sim *s = make(&r, &sink);
		CHECK(s != NULL);
		if (!s)
			break;
		all_runnable(s, 0);
		all_runnable(s, 1);
		struct hv_vcore *a = &s->h.vms[0].vcores[0], *b = &s->h.vms[1].vcores[0];
		hv_vcore_preempt(&s->h, b, 0);
		a->runner = &s->h.vms[0].vcpus[0];
		s->h.cpus[0].curr = a->runner->task;
		int entered = hv_run_core(&s->h, a);
		CHECK_EQ_I(entered, 1);
		int seq[4], n = 0;
		for (int i = 0; i < r.n && n < 4; i++)
			if (r.id[i] == HV_EV_KVM_GUEST_ENTER || (r.id[i] == HV_EV_KVMPPC_RUN_CORE && r.f2[i] == 0))
				seq[n++] = i;
		CHECK_EQ_I(n, 4);
		if (n == 4) {
			CHECK_EQ_I(r.id[seq[0]], HV_EV_KVM_GUEST_ENTER);
			CHECK_EQ_I(r.f0[seq[0]], 0);	/* A.v0 */
			CHECK_EQ_I(r.f0[seq[1]], 1);	/* A.v1 */
			CHECK_EQ_I(r.f0[seq[2]], 0);	/* B.v0 */
			CHECK_EQ_I(r.id[seq[3]], HV_EV_KVMPPC_RUN_CORE);
			CHECK_EQ_I(r.f0[seq[3]], 2);	/* n_runnable of the master only */
		}
		struct hv_core_run *cr = &s->h.cpus[0].run;
		CHECK_EQ_I(cr->split, 2);		/* default dynamic_mt_modes=6: 2-way */
		CHECK_EQ_I(cr->first_thread[1], 4);
		CHECK_EQ_I(s->h.vms[1].vcpus[0].thread_cpu, 4);	/* B's vcpu on thread 4 (S5) */
		CHECK_EQ_I(s->h.vms[0].vcpus[1].thread_cpu, 1);
		CHECK_EQ_I(b->vcore_state, HV_VCORE_PIGGYBACK);
		CHECK_EQ_I(a->vcore_state, HV_VCORE_RUNNING);
		hv_sim_destroy(s);
	}
	return tap_exit();
}
