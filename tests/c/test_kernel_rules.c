/*
 * Table-driven tests of the model's pure decision rules (kernel/profile.c, piggyback.c),
 * expected outcomes taken from the spec (kvmhv-behaviour.md): the subcore table of 2.5,
 * the start conditions and ptid rules of §3, the real-mode H_CEDE decision of 2.9, the
 * halt-poll adjustment of 2.10, the late-join rule of 2.3 and §3 (E410 PIGGYBACK bug), the
 * H_PROD bug of E32 and the H_CONFER decision.
 */
#include "tap.h"

#include "model.h"

/* Spec 2.5 table, POWER8 whole-core: largest vcore (num_threads) allowed for n subcores,
 * by dynamic_mt_modes; 0 = that many subcores is not possible. */
static int spec_max_size(int dmm, int ns)
{
	if (ns == 1)
		return 8;
	if (ns == 2)
		return (dmm & 2) ? 4 : (dmm & 4) ? 2 : 0;
	if (ns == 3 || ns == 4)
		return (dmm & 4) ? 2 : 0;
	return 0;
}

static void test_subcore_config(void)
{
	TEST("subcore_config_ok matches the spec 2.5 table (POWER8 whole core)") {
		struct hv_params p;
		hv_params_default(&p, 8);
		const int dmms[] = { 0, 2, 4, 6 };
		for (unsigned d = 0; d < 4; d++)
			for (int ns = 1; ns <= 5; ns++)
				for (int nt = 1; nt <= 8; nt++) {
					p.dynamic_mt_modes = dmms[d];
					int want = nt <= spec_max_size(dmms[d], ns);
					int got = hv_subcore_config_ok(&p, ns, nt);
					if (got != want) {
						char m[128];
						snprintf(m, sizeof m, "dmm=%d ns=%d nt=%d: got %d want %d",
							 dmms[d], ns, nt, got, want);
						tap_fail(__FILE__, __LINE__, m);
					}
				}
	}
	TEST("subcore_config_ok: no dynamic split under static split-core") {
		struct hv_params p;
		hv_params_default(&p, 8);
		for (int tps = 1; tps < 8; tps *= 2) {
			p.threads_per_subcore = tps;
			for (int ns = 2; ns <= 4; ns++)
				for (int nt = 1; nt <= 2; nt++)
					CHECK(!hv_subcore_config_ok(&p, ns, nt));
			CHECK(hv_subcore_config_ok(&p, 1, 1));
		}
	}
	TEST("split mode and subcore_thread_map {0,4,2,6}") {
		struct hv_params p;
		hv_params_default(&p, 8);
		static const struct { int dmm, ns, split; } rows[] = {
			{ 6, 1, 1 }, { 6, 2, 2 }, { 6, 3, 4 }, { 6, 4, 4 }, { 2, 2, 2 }, { 4, 2, 4 },
			{ 4, 3, 4 },
		};
		for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			p.dynamic_mt_modes = rows[i].dmm;
			CHECK_EQ_I(hv_split_mode(&p, rows[i].ns), rows[i].split);
		}
		const int map[4] = { 0, 4, 2, 6 };
		for (int s = 0; s < 4; s++)
			CHECK_EQ_I(hv_subcore_first_thread(&p, s), map[s]);
	}
}

static void test_start(void)
{
	/* n_runnable, n_ready, n_busy, n_user, n_never -> E31, E32, E410, mainline */
	static const struct {
		int runnable, ready, busy, user, never;
		int e31, e32, e410, main;
	} rows[] = {
		{ 2, 2, 0, 0, 0, 1, 1, 1, 1 },	/* every vcpu runnable */
		{ 1, 1, 1, 0, 0, 0, 0, 1, 1 },	/* one busy in the host (hcall) */
		{ 1, 1, 0, 1, 0, 0, 1, 1, 1 },	/* one out in QEMU: busy for E31, stopped for E32 */
		{ 1, 1, 0, 0, 1, 1, 1, 1, 1 },	/* one never ran: blocked (E31), stopped (E32) */
		{ 0, 0, 0, 2, 0, 0, 0, 0, 0 },	/* nothing runnable */
		{ 3, 1, 1, 0, 0, 0, 0, 1, 1 },
	};
	TEST("start condition per profile (E31 no busy vcpu, E32 n_busy==0, E38+ any ready)") {
		const int ids[4] = { HV_PROF_E31, HV_PROF_E32, HV_PROF_E410, HV_PROF_MAINLINE };
		for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			struct hv_start_counts c = { rows[i].runnable + rows[i].busy + rows[i].user +
						     rows[i].never, rows[i].runnable, rows[i].ready,
						     rows[i].busy, rows[i].user, rows[i].never };
			const int want[4] = { rows[i].e31, rows[i].e32, rows[i].e410, rows[i].main };
			for (int k = 0; k < 4; k++)
				CHECK_EQ_I(hv_start_ok(hv_profile_get(ids[k]), &c), want[k]);
		}
	}
}

static void test_ptids(void)
{
	/* slots: offset, runnable, ceded, arrival */
	const struct hv_ptid_in in[4] = { { 0, 1, 1, 3 }, { 1, 0, 0, 0 }, { 2, 1, 0, 4 }, { 3, 1, 0, 1 } };
	TEST("ptid: fixed vcpu_id - first_vcpuid (E315+)") {
		int p[4];
		hv_assign_ptids(hv_profile_get(HV_PROF_MAINLINE), in, 4, p);
		CHECK_EQ_I(p[0], 0);
		CHECK_EQ_I(p[1], -1);
		CHECK_EQ_I(p[2], 2);
		CHECK_EQ_I(p[3], 3);
	}
	TEST("ptid: E31 position in the runnable list (arrival order, lower threads first)") {
		int p[4];
		hv_assign_ptids(hv_profile_get(HV_PROF_E31), in, 4, p);
		CHECK_EQ_I(p[3], 0);	/* arrived first */
		CHECK_EQ_I(p[0], 1);
		CHECK_EQ_I(p[2], 2);
		CHECK_EQ_I(p[1], -1);
	}
	TEST("ptid: E32 non-ceded vcpus first, then ceded ones") {
		int p[4];
		hv_assign_ptids(hv_profile_get(HV_PROF_E32), in, 4, p);
		CHECK_EQ_I(p[3], 0);
		CHECK_EQ_I(p[2], 1);
		CHECK_EQ_I(p[0], 2);	/* ceded: after the non-ceded ones */
	}
}

static void test_cede(void)
{
	static const struct { int prof, prodded; unsigned napping, entry; int want; } rows[] = {
		{ HV_PROF_MAINLINE, 0, 0x1, 0x3, HV_CEDE_ACT_NAP },	/* sibling still runs */
		{ HV_PROF_MAINLINE, 0, 0x3, 0x3, HV_CEDE_ACT_EXIT },	/* last one cedes */
		{ HV_PROF_MAINLINE, 0, 0x1, 0x1, HV_CEDE_ACT_EXIT },	/* single thread */
		{ HV_PROF_MAINLINE, 1, 0x1, 0x3, HV_CEDE_ACT_CANCEL },	/* H_PROD came first */
		{ HV_PROF_MAINLINE, 1, 0x3, 0x3, HV_CEDE_ACT_CANCEL },
		{ HV_PROF_E32, 0, 0x5, 0x7, HV_CEDE_ACT_NAP },
		{ HV_PROF_E32, 0, 0x7, 0x7, HV_CEDE_ACT_EXIT },
		{ HV_PROF_E43, 0, 0x1, 0xf, HV_CEDE_ACT_NAP },
		{ HV_PROF_E31, 0, 0x1, 0x3, HV_CEDE_ACT_EXIT },		/* v3.1: virtual mode */
	};
	TEST("real-mode H_CEDE: nap unless every entered thread naps; prodded cancels") {
		for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++)
			CHECK_EQ_I(hv_cede_decide(hv_profile_get(rows[i].prof), rows[i].prodded,
						  rows[i].napping, rows[i].entry), rows[i].want);
	}
	TEST("H_PROD kick: target's ceded (E32 bug: the caller's)") {
		CHECK_EQ_I(hv_prod_kicks(hv_profile_get(HV_PROF_MAINLINE), 1, 0), 1);
		CHECK_EQ_I(hv_prod_kicks(hv_profile_get(HV_PROF_MAINLINE), 0, 1), 0);
		CHECK_EQ_I(hv_prod_kicks(hv_profile_get(HV_PROF_E32), 1, 0), 0);
		CHECK_EQ_I(hv_prod_kicks(hv_profile_get(HV_PROF_E32), 0, 1), 1);
	}
	TEST("real-mode H_CONFER: yield only when every entered thread naps or confers") {
		CHECK_EQ_I(hv_confer_decide(0x1, 0x2, 0x3), 1);
		CHECK_EQ_I(hv_confer_decide(0x0, 0x2, 0x3), 0);
		CHECK_EQ_I(hv_confer_decide(0x0, 0x1, 0x1), 1);
	}
}

static void test_halt_poll(void)
{
	/* max, grow, start, shrink, cur, block -> new (spec 2.10) */
	static const struct { uint32_t max, grow, start, shrink, cur; uint64_t block; uint32_t want; } rows[] = {
		{ 10000, 2, 10000, 0, 0, 5000, 10000 },	/* short block: grow from 0 to grow_start */
		{ 10000, 2, 10000, 0, 10000, 5000, 10000 },	/* block <= interval: unchanged */
		{ 10000, 2, 10000, 0, 10000, 20000, 0 },	/* long block: shrink (0 -> off) */
		{ 10000, 2, 10000, 2, 10000, 20000, 5000 },	/* shrink by 2 */
		{ 10000, 2, 10000, 0, 0, 20000, 0 },		/* long block, polling off: stays 0 */
		{ 100000, 2, 10000, 0, 20000, 30000, 40000 },	/* grow x2 */
		{ 15000, 2, 10000, 0, 10000, 12000, 15000 },	/* grow, clamped to max */
		{ 0, 2, 10000, 0, 10000, 100, 0 },		/* halt_poll_ns=0: off */
		{ 10000, 0, 10000, 0, 0, 5000, 0 },		/* grow=0: never grows */
	};
	TEST("halt-poll interval grow/shrink") {
		for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			struct hv_params p;
			hv_params_default(&p, 8);
			p.halt_poll_ns = rows[i].max;
			p.halt_poll_ns_grow = rows[i].grow;
			p.halt_poll_ns_grow_start = rows[i].start;
			p.halt_poll_ns_shrink = rows[i].shrink;
			CHECK_EQ_I(hv_halt_poll_adjust(&p, rows[i].cur, rows[i].block), rows[i].want);
		}
	}
}

static void test_late_join(void)
{
	static const struct { int prof, state; uint32_t map; int first, want; } rows[] = {
		{ HV_PROF_MAINLINE, HV_VCORE_RUNNING, 0x3, 0, 1 },
		{ HV_PROF_MAINLINE, HV_VCORE_RUNNING, 0x103, 0, 0 },	/* exit started */
		{ HV_PROF_MAINLINE, HV_VCORE_RUNNING, 0x10003, 0, 0 },	/* VCORE_EXIT_REQ */
		{ HV_PROF_MAINLINE, HV_VCORE_PIGGYBACK, 0x1, 0, 1 },	/* fixed by c0093f1a38a0 */
		{ HV_PROF_E410, HV_VCORE_PIGGYBACK, 0x1, 0, 0 },	/* v4.10-v4.14 trylock bug */
		{ HV_PROF_E410, HV_VCORE_RUNNING, 0x1, 0, 1 },
		{ HV_PROF_MAINLINE, HV_VCORE_INACTIVE, 0, 0, 0 },
		{ HV_PROF_MAINLINE, HV_VCORE_EXITING, 0x101, 0, 0 },
		{ HV_PROF_E32, HV_VCORE_RUNNING, 0x1, 0, 0 },		/* only a first run joins */
		{ HV_PROF_E32, HV_VCORE_RUNNING, 0x1, 1, 1 },
	};
	TEST("late join allowed while RUNNING/PIGGYBACK and no exit started, per profile") {
		for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++)
			CHECK_EQ_I(hv_late_join_ok(hv_profile_get(rows[i].prof), rows[i].state,
						   rows[i].map, rows[i].first), rows[i].want);
	}
}

static void test_profiles(void)
{
	TEST("profiles by name") {
		CHECK(hv_profile_find("mainline") != NULL);
		CHECK(hv_profile_find("E31_strict_smt") == hv_profile_get(HV_PROF_E31));
		CHECK(hv_profile_find("E410") == hv_profile_get(HV_PROF_E410));
		CHECK(hv_profile_find("E4") == NULL);
		CHECK(hv_profile_find("nonsense") == NULL);
	}
}

int main(void)
{
	test_subcore_config();
	test_start();
	test_ptids();
	test_cede();
	test_halt_poll();
	test_late_join();
	test_profiles();
	return tap_exit();
}
