/*
 * collect_piggybacks (spec 2.5): candidates are taken from this CPU's preempted list in
 * insertion order; one that does not fit (over target, or a subcore configuration the
 * dynamic_mt_modes do not allow) stays on the list and later ones are still considered.
 * Also kvmppc_vcore_preempt: a vcore that fills a whole subcore is never queued.
 */
#include "tap.h"

#include <string.h>

#include "sim_int.h"

static const char scen[] =
	"cpu POWER8\ncores 1\n"
	"vm a vcpus=2 smt=2\nvm b vcpus=1 smt=1\nvm c vcpus=4 smt=4\nvm d vcpus=2 smt=2\n"
	"vm e vcpus=1 smt=1\nvm f vcpus=8 smt=8\n";

static struct hv_sim *make(int dmm, uint64_t *counter, struct hv_sink *sink)
{
	struct hv_scenario sc;
	char err[256];
	if (hv_scenario_parse(&sc, scen, "test", err, sizeof err) < 0) {
		printf("# %s\n", err);
		return NULL;
	}
	sc.par.dynamic_mt_modes = dmm;
	hv_null_sink_init(counter, sink);
	struct hv_sim *s;
	return hv_sim_create(&sc, sink, &s) < 0 ? NULL : s;
}

static struct hv_vcore *vcore(struct hv_sim *s, int vm)
{
	return &s->h.vms[vm].vcores[0];
}

static void runnable(struct hv_sim *s, int vm)
{
	struct hv_vcore *vc = vcore(s, vm);
	for (int i = 0; i < s->h.vms[vm].nvcpus; i++)
		hv_vcore_add_runnable(&s->h, vc, &s->h.vms[vm].vcpus[i]);
}

static void collect(struct hv_sim *s, struct hv_core_run *cr)
{
	struct hv_host *h = &s->h;
	h->ctx_cpu = 0;
	h->ctx_pid = 1;
	memset(cr, 0, sizeof *cr);
	cr->n_subcores = 1;
	cr->vc[0] = vcore(s, 0);
	cr->subcore_threads[0] = cr->total_threads = cr->max_subcore_threads = 2;
	cr->target = 8;
	for (int vm = 1; vm <= 4; vm++)
		runnable(s, vm);
	/* insertion order on CPU 0: d, b, c, e */
	const int order[4] = { 3, 1, 2, 4 };
	for (int i = 0; i < 4; i++)
		hv_preempt_list_add(h, 0, vcore(s, order[i]));
	hv_collect_piggybacks(h, cr, 0);
}

int main(void)
{
	uint64_t n;
	struct hv_sink sink;
	TEST("collect_piggybacks takes candidates in list order, skips what does not fit (dmm=6)") {
		struct hv_sim *s = make(6, &n, &sink);
		CHECK(s != NULL);
		if (s) {
			struct hv_core_run cr;
			collect(s, &cr);
			/* d (2 threads): 2 subcores; b (1): 3 subcores, 4-way; c (4): 2+2+1+4 > 8,
			 * over target; e (1): 4 subcores of <= 2 threads */
			CHECK_EQ_I(cr.n_subcores, 4);
			CHECK(cr.vc[1] == vcore(s, 3));
			CHECK(cr.vc[2] == vcore(s, 1));
			CHECK(cr.vc[3] == vcore(s, 4));
			CHECK_EQ_I(cr.total_threads, 6);
			CHECK(s->h.cpus[0].pl_head == vcore(s, 2));	/* c stays queued */
			CHECK(s->h.cpus[0].pl_tail == vcore(s, 2));
			CHECK_EQ_I(vcore(s, 3)->vcore_state, HV_VCORE_PIGGYBACK);
			CHECK_EQ_I(vcore(s, 2)->vcore_state, HV_VCORE_INACTIVE);
			hv_sim_destroy(s);
		}
	}
	TEST("collect_piggybacks with dynamic_mt_modes=2: one more subcore at most") {
		struct hv_sim *s = make(2, &n, &sink);
		CHECK(s != NULL);
		if (s) {
			struct hv_core_run cr;
			collect(s, &cr);
			CHECK_EQ_I(cr.n_subcores, 2);
			CHECK(cr.vc[1] == vcore(s, 3));
			/* b, c, e stay, in their order */
			struct hv_vcore *p = s->h.cpus[0].pl_head;
			CHECK(p == vcore(s, 1));
			CHECK(p && p->pl_next == vcore(s, 2));
			CHECK(p && p->pl_next && p->pl_next->pl_next == vcore(s, 4));
			hv_sim_destroy(s);
		}
	}
	TEST("collect_piggybacks with dynamic_mt_modes=0: nothing is taken") {
		struct hv_sim *s = make(0, &n, &sink);
		CHECK(s != NULL);
		if (s) {
			struct hv_core_run cr;
			collect(s, &cr);
			CHECK_EQ_I(cr.n_subcores, 1);
			CHECK(s->h.cpus[0].pl_head == vcore(s, 3));
			hv_sim_destroy(s);
		}
	}
	TEST("kvmppc_vcore_preempt queues only vcores smaller than a subcore") {
		struct hv_sim *s = make(6, &n, &sink);
		CHECK(s != NULL);
		if (s) {
			s->h.ctx_cpu = 0;
			hv_vcore_preempt(&s->h, vcore(s, 5), 0);	/* 8 threads: not queued */
			CHECK_EQ_I(vcore(s, 5)->pl_cpu, -1);
			CHECK_EQ_I(vcore(s, 5)->vcore_state, HV_VCORE_PREEMPT);
			hv_vcore_preempt(&s->h, vcore(s, 1), 0);
			CHECK_EQ_I(vcore(s, 1)->pl_cpu, 0);
			hv_vcore_end_preempt(&s->h, vcore(s, 1));
			CHECK_EQ_I(vcore(s, 1)->pl_cpu, -1);
			CHECK(s->h.cpus[0].pl_head == NULL);
			hv_sim_destroy(s);
		}
	}
	return tap_exit();
}
