/*
 * Replay tests on traces built from the canonical sequences of spec §4.6: the gang path
 * (S1-S9 with the §9 cases), the POWER9 single path (S10, S11) and KVM as a nested L1
 * (S12b) replay with no violation and every monitor checking events; each mutation of one
 * event is reported by the right monitor at that event and nothing else; a `lost` window
 * over a violating stretch hides it and shows up as unverified; duplicates are dropped;
 * piggybacked vcores are attributed to their VM (or reported ambiguous), with the split
 * mode and hardware threads in core_run.
 */
#include <sqlite3.h>

#include "replay_build.h"
#include "tap.h"

/* VM A: vcpu 0 (task A0, the runner on CPU 0) and vcpu 1 (task A1 on CPU 1); VM B, C: vcpu 0. */
enum { A = 1000, A0 = 1001, A1 = 1002, B = 2000, B0 = 2001, C = 2500, C0 = 2501 };
enum { P = 3000, P0 = 3001, P1 = 3002 };

struct marks {
	int s1_exit1;		/* kvm_guest_exit(v1) of a plain S1 window */
	int s1_core_exit;	/* its kvmppc_run_core Exit */
	int s9_run_exit;	/* S9: run_vcpu_exit(v1, 0, 0) */
	int s2_hc_enter;	/* S2: kvm_hcall_enter of v1 */
	int s4_blk_enter;	/* S4: kvmppc_vcore_blocked Enter */
	int s4_blk_exit;
	int s4_exit0;		/* the all-ceded window's kvm_guest_exit(v0) */
	int s7_user_exit;	/* S7: kvm_userspace_exit(10, -4) */
	int s5_enter;		/* S5: kvmppc_run_core Enter of the piggyback run */
	int s8_run_exit;	/* S8: the runner's run_vcpu_exit(ret=-16) */
	int win_enter;		/* an S1 window's kvmppc_run_core Enter */
	int s2_exit1;		/* S2: v1's kvm_guest_exit(0xc00) in the window before the hcall */
	int s2_enter;		/* S2: the next window's Enter (v0 only) */
};

static void s1(struct trace *t, int trap0, int trap1, int ced0, int ced1, struct marks *m)
{
	G_ENTER(t, 0, A0, 0, 0);
	G_ENTER(t, 0, A0, 1, ced1);
	int e = CORE(t, 0, A0, 2, 0, 0, A);
	G_EXIT(t, 0, A0, 0, trap0, ced0);
	int x1 = G_EXIT(t, 0, A0, 1, trap1, ced1);
	int x = CORE(t, 0, A0, 2, 0, 1, A);
	if (m) {
		m->win_enter = e;
		m->s1_exit1 = x1;
		m->s1_core_exit = x;
	}
}

static void gang_meta(struct trace *t)
{
	tr_meta(t, "cpudesc", "POWER8, altivec supported");
	tr_meta(t, "osrelease", "6.1.0-50-powerpc64le");
	tr_meta(t, "threads_per_core", "8");
	tr_meta(t, "dynamic_mt_modes", "6");
	tr_meta(t, "vm.1000.smt_mode", "2");
}

/* S1-S9 on one POWER8 core, with the §9 cases. m (may be NULL) gets the interesting indexes. */
static void gang_trace(struct trace *t, struct marks *m)
{
	struct marks dummy;
	if (!m)
		m = &dummy;
	tr_init(t);
	gang_meta(t);
	RUN_ENTER(t, 0, A0, 0, A);
	RUN_ENTER(t, 1, A1, 1, A);
	RUN_ENTER(t, 2, B0, 0, B);
	s1(t, 0x980, 0x980, 0, 0, NULL);	/* warm-up: CPU 0 is unknown until its first Exit */
	s1(t, 0x980, 0x980, 0, 0, m);		/* S1 */
	/* S2: v1 makes a virtual-mode hcall, the runner goes on without it, v1 joins late */
	struct marks s2;
	s1(t, 0x980, 0xc00, 0, 0, &s2);
	m->s2_exit1 = s2.s1_exit1;
	G_ENTER(t, 0, A0, 0, 0);
	m->s2_enter = CORE(t, 0, A0, 1, 0, 0, A);
	RUN_EXIT(t, 1, A1, 1, 19, 2);
	m->s2_hc_enter = HC_ENTER(t, 1, A1, 1, 0xe8);
	HC_EXIT(t, 1, A1, 1, 0);
	RUN_ENTER(t, 1, A1, 1, A);
	G_ENTER(t, 1, A1, 1, 0);		/* late join, on its own CPU */
	G_EXIT(t, 0, A0, 0, 0x980, 0);
	G_EXIT(t, 0, A0, 1, 0x980, 0);
	CORE(t, 0, A0, 2, 0, 1, A);
	/* item 10: v1 becomes runnable while the window exits: trap 0, no enter */
	s1(t, 0x980, 0xc00, 0, 0, NULL);
	G_ENTER(t, 0, A0, 0, 0);
	CORE(t, 0, A0, 1, 0, 0, A);
	RUN_EXIT(t, 1, A1, 1, 19, 2);
	HC_ENTER(t, 1, A1, 1, 0x6c);
	HC_EXIT(t, 1, A1, 1, 0);
	RUN_ENTER(t, 1, A1, 1, A);
	G_EXIT(t, 0, A0, 0, 0x980, 0);
	G_EXIT(t, 0, A0, 1, 0, 0);
	CORE(t, 0, A0, 2, 0, 1, A);
	/* S3 + S4: both cede, the vcore blocks, a wake-up */
	G_ENTER(t, 0, A0, 0, 0);
	G_ENTER(t, 0, A0, 1, 0);
	CORE(t, 0, A0, 2, 0, 0, A);
	m->s4_exit0 = G_EXIT(t, 0, A0, 0, 0, 1);
	G_EXIT(t, 0, A0, 1, 0xe80, 1);
	CORE(t, 0, A0, 2, 0, 1, A);
	m->s4_blk_enter = BLOCKED(t, 0, A0, 2, 0, 0, A);
	m->s4_blk_exit = BLOCKED(t, 0, A0, 2, 0, 1, A);
	WAKEUP(t, 0, A0, 5000, 1, A);
	s1(t, 0x980, 0x980, 0, 1, NULL);	/* the still idle vcpu enters with ceded=1 */
	/* poll success */
	s1(t, 0, 0, 1, 1, NULL);
	WAKEUP(t, 0, A0, 800, 0, A);
	/* §9.6: all ceded, but one is already woken: straight back to a run */
	s1(t, 0, 0, 1, 1, NULL);
	s1(t, 0x980, 0x980, 1, 0, NULL);	/* §9.7: trap 0x980 with ceded=1 */
	s1(t, 0x980, 0, 0, 0, NULL);		/* §9.11: a too-late thread: trap 0, ceded 0 */
	/* S9: VPA update pending */
	m->s9_run_exit = RUN_EXIT(t, 1, A1, 1, 0, 0);
	RUN_ENTER(t, 1, A1, 1, A);
	/* HPT page fault of v1 */
	s1(t, 0x980, 0xe00, 0, 0, NULL);
	RUN_EXIT(t, 1, A1, 1, 0, 4);
	PF_ENTER(t, 1, A1, 1);
	PF_EXIT(t, 1, A1, 1);
	RUN_ENTER(t, 1, A1, 1, A);
	/* §9.1/9.2: emulated MMIO to userspace */
	s1(t, 0x980, 0xe00, 0, 0, NULL);
	RUN_EXIT(t, 1, A1, 1, 0, 4);
	PPC_INSTR(t, 1, A1);
	USER_EXIT(t, 1, A1, 6, 0);
	RUN_ENTER(t, 1, A1, 1, A);
	/* hcall punted to userspace, then §9.3: a return with no kvm_hv event */
	s1(t, 0x980, 0xc00, 0, 0, NULL);
	RUN_EXIT(t, 1, A1, 1, 19, 2);
	HC_ENTER(t, 1, A1, 1, 0xf000);
	HC_EXIT(t, 1, A1, 1, 2);
	USER_EXIT(t, 1, A1, 19, 0);
	USER_EXIT(t, 1, A1, 19, -4);
	RUN_ENTER(t, 1, A1, 1, A);
	/* S7: signal to v1 while the vcore runs */
	s1(t, 0x980, 0x980, 0, 0, NULL);
	RUN_EXIT(t, 1, A1, 1, 10, -4);
	m->s7_user_exit = USER_EXIT(t, 1, A1, 10, -4);
	RUN_ENTER(t, 1, A1, 1, A);
	/* S5: VM B's vcore piggybacks on A's run: 2-way split */
	G_ENTER(t, 0, A0, 0, 0);
	G_ENTER(t, 0, A0, 1, 0);
	G_ENTER(t, 0, A0, 0, 0);
	m->s5_enter = CORE(t, 0, A0, 2, 0, 0, A);
	G_EXIT(t, 0, A0, 0, 0x980, 0);
	G_EXIT(t, 0, A0, 1, 0x980, 0);
	G_EXIT(t, 0, A0, 0, 0x980, 0);
	CORE(t, 0, A0, 2, 0, 1, A);
	/* S8: not on a primary thread: a lone Exit, -EBUSY for everyone */
	CORE(t, 0, A0, 2, 0, 1, A);
	m->s8_run_exit = RUN_EXIT(t, 0, A0, 0, 0, -16);
	RUN_EXIT(t, 1, A1, 1, 0, -16);
	USER_EXIT(t, 0, A0, 0, -16);
	USER_EXIT(t, 1, A1, 0, -16);
	RUN_ENTER(t, 0, A0, 0, A);
	RUN_ENTER(t, 1, A1, 1, A);
	s1(t, 0x980, 0x980, 0, 0, NULL);
}

/* S10 / S11 (and S12b with nested = 1) for two vcpus of VM P on CPUs 0 and 1. */
static int p9_trace(struct trace *t, int nested, int *swap_enter)
{
	tr_init(t);
	tr_meta(t, "cpudesc", nested ? "POWER9 (architected), altivec supported" : "POWER9, altivec supported");
	tr_meta(t, "osrelease", "6.1.0-50-powerpc64le");
	int mark = -1;
	for (int round = 0; round < 3; round++) {
		RUN_ENTER(t, 0, P0, 0, P);
		int e = G_ENTER(t, 0, P0, 0, 0);
		RUN_ENTER(t, 1, P1, 1, P);
		G_ENTER(t, 1, P1, 1, 0);
		G_EXIT(t, 0, P0, 0, 0x980, 0);
		RUN_EXIT(t, 0, P0, 0, 0, 0);
		G_EXIT(t, 1, P1, 1, 0, 1);		/* H_CEDE: blocks twice */
		BLOCKED(t, 1, P1, 0, 1, 0, P);
		BLOCKED(t, 1, P1, 0, 1, 1, P);
		BLOCKED(t, 1, P1, 0, 1, 0, P);
		BLOCKED(t, 1, P1, 0, 1, 1, P);
		RUN_EXIT(t, 1, P1, 1, 0, 0);
		if (round == 1)
			mark = e;
		/* ceded but already woken: no block */
		RUN_ENTER(t, 0, P0, 0, P);
		G_ENTER(t, 0, P0, 0, 0);
		G_EXIT(t, 0, P0, 0, 0, 1);
		RUN_EXIT(t, 0, P0, 0, 0, 0);
		/* §9.5: run_vcpu_enter/exit on CPU 1, the guest entry on CPU 0 */
		RUN_ENTER(t, 1, P0, 0, P);
		G_ENTER(t, 0, P0, 0, 0);
		G_EXIT(t, 0, P0, 0, 0, 0);		/* XIVE-handled hcall or cancelled cede (§9.8) */
		RUN_EXIT(t, 1, P0, 0, 0, 0);
		/* S11: P0 sends a doorbell (0xf80), P1 in guest exits with 0xe80 */
		RUN_ENTER(t, 0, P0, 0, P);
		RUN_ENTER(t, 1, P1, 1, P);
		G_ENTER(t, 1, P1, 1, 0);
		G_ENTER(t, 0, P0, 0, 0);
		G_EXIT(t, 0, P0, 0, 0xf80, 0);
		G_EXIT(t, 1, P1, 1, 0xe80, 0);
		RUN_EXIT(t, 0, P0, 0, 0, 0);
		RUN_EXIT(t, 1, P1, 1, 0, 0);
		/* virtual-mode hcall, aborted attempt, host timer already due */
		RUN_ENTER(t, 0, P0, 0, P);
		G_ENTER(t, 0, P0, 0, 0);
		G_EXIT(t, 0, P0, 0, 0xc00, 0);
		RUN_EXIT(t, 0, P0, 0, 19, 2);
		HC_ENTER(t, 0, P0, 0, 0x6c);
		HC_EXIT(t, 0, P0, 0, 0);
		RUN_ENTER(t, 0, P0, 0, P);
		RUN_EXIT(t, 0, P0, 0, 0, 0);
		RUN_ENTER(t, 0, P0, 0, P);
		G_ENTER(t, 0, P0, 0, 0);
		G_EXIT(t, 0, P0, 0, 0x980, 0);
		RUN_EXIT(t, 0, P0, 0, 0, 0);
		/* signal, then §9.3: a KVM_RUN that returns at once */
		RUN_ENTER(t, 1, P1, 1, P);
		RUN_EXIT(t, 1, P1, 1, 10, -4);
		USER_EXIT(t, 1, P1, 10, -4);
		USER_EXIT(t, 1, P1, 10, -4);
		/* S12 (L0 view): P1 enters its L2 through H_ENTER_NESTED; L2 exits handled in L0 resume
		 * the L2, the last one goes back to L1; in round 2 a signal ends the hcall */
		RUN_ENTER(t, 1, P1, 1, P);
		G_ENTER(t, 1, P1, 1, 0);
		G_EXIT(t, 1, P1, 1, 0xc00, 0);
		RUN_EXIT(t, 1, P1, 1, 19, 2);
		HC_ENTER(t, 1, P1, 1, 0xf804);
		RUN_ENTER(t, 1, P1, 1, P);
		G_ENTER(t, 1, P1, 1, 0);
		G_EXIT(t, 1, P1, 1, 0x980, 0);
		RUN_EXIT(t, 1, P1, 1, 0, 0);
		RUN_ENTER(t, 1, P1, 1, P);
		G_ENTER(t, 1, P1, 1, 0);
		G_EXIT(t, 1, P1, 1, 0x500, 0);
		RUN_EXIT(t, 1, P1, 1, round == 2 ? 10 : 0, round == 2 ? -4 : 2);
		HC_EXIT(t, 1, P1, 1, round == 2 ? -4 : 0);
		if (round == 2)
			USER_EXIT(t, 1, P1, 10, -4);
		if (nested) {	/* S12b: emulated MMIO through kvm_ppc_instr */
			RUN_ENTER(t, 1, P1, 1, P);
			G_ENTER(t, 1, P1, 1, 0);
			G_EXIT(t, 1, P1, 1, 0xe00, 0);
			RUN_EXIT(t, 1, P1, 1, 0, 4);
			PPC_INSTR(t, 1, P1);
			USER_EXIT(t, 1, P1, 6, 0);
		}
	}
	if (swap_enter)
		*swap_enter = mark;
	return 0;
}

static int count_active(const struct result *r, int *zero_checked)
{
	int n = 0;
	*zero_checked = 0;
	/* layer 1 only: the first seven monitors (layers 2/3 follow; test_replay_layers.c) */
	for (int m = 0; m < r->sum.nmon && m < 7; m++)
		if (r->sum.mon[m].active) {
			n++;
			if (!r->sum.mon[m].checked) {
				printf("#   monitor %s checked nothing\n", r->sum.mon[m].name);
				(*zero_checked)++;
			}
		}
	return n;
}

static void test_clean(void)
{
	static struct trace t;
	struct result r;
	int zero;
	TEST("canonical gang path S1-S9 (+§9.1-9.3, 9.6, 9.7, 9.11) replays clean under mainline") {
		gang_trace(&t, NULL);
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.rc, 0);
		CHECK_EQ_S(r.sum.profile, "mainline");
		CHECK_EQ_I(r.n, 0);
		CHECK_EQ_I(count_active(&r, &zero), 6);
		CHECK_EQ_I(zero, 0);
		CHECK(r.sum.core_runs > 10);
	}
	TEST("canonical POWER9 single path S10, S11, S12 (L0 view) replays clean under E516_p9_lean") {
		p9_trace(&t, 0, NULL);
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.rc, 0);
		CHECK_EQ_S(r.sum.profile, "E516_p9_lean");
		CHECK_EQ_I(r.n, 0);
		CHECK_EQ_I(count_active(&r, &zero), 5);
		CHECK_EQ_I(zero, 0);
	}
	TEST("nested L1 (S12b, architected POWER9) replays clean") {
		p9_trace(&t, 1, NULL);
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.rc, 0);
		CHECK_EQ_S(r.sum.profile, "E516_p9_lean");
		CHECK(strstr(r.sum.profile_why, "nested") != NULL);
		CHECK_EQ_I(r.n, 0);
	}
	TEST("the gang trace under a POWER9 profile is not clean (profiles matter)") {
		gang_trace(&t, NULL);
		tr_replay(&t, "E516_p9_lean", &r);
		CHECK_EQ_I(r.rc, 0);
		CHECK(r.n > 0);
	}
}

/* Expect exactly one violation, from monitor mon, at the record with index idx. */
static void expect_one(const struct result *r, const char *mon, int idx)
{
	if (r->n != 1 || strcmp(r->v[0].monitor, mon) || r->v[0].seq != (uint64_t)idx + 1)
		tr_print(r);
	CHECK_EQ_I(r->rc, 0);
	CHECK_EQ_I(r->n, 1);
	if (r->n >= 1) {
		CHECK_EQ_S(r->v[0].monitor, mon);
		CHECK_EQ_I(r->v[0].seq, idx + 1);
	}
}

static int next_enter_of(const struct trace *t, int from, int vcpu)
{
	for (int i = from; i < t->n; i++)
		if (t->r[i].id == HV_EV_KVM_GUEST_ENTER && t->r[i].v[0] == vcpu && t->r[i].pid == A0)
			return i;
	return -1;
}

static void test_mutations(void)
{
	static struct trace t;
	struct marks m;
	struct result r;
	TEST("drop a kvm_guest_exit: vcpu_guest, at that vcpu's next kvm_guest_enter") {
		gang_trace(&t, &m);
		tr_drop(&t, m.s1_exit1);
		int at = next_enter_of(&t, m.s1_exit1, 1);
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcpu_guest", at);
	}
	TEST("a vcpu exits outside the window it entered in: vcpu_guest, at that exit") {
		gang_trace(&t, &m);
		int at = tr_move(&t, m.s1_exit1, m.s1_core_exit);	/* just after the Exit */
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcpu_guest", at);
	}
	TEST("a vcpu exits in the next window of its CPU: vcpu_guest, at that exit (not also later)") {
		gang_trace(&t, &m);
		int at = tr_move(&t, m.s2_exit1, m.s2_enter);	/* just after the next Enter */
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcpu_guest", at);
	}
	TEST("swap a guest enter/exit pair: core_window, at the exit now inside the burst") {
		gang_trace(&t, &m);
		tr_swap(&t, m.win_enter - 1, m.s1_exit1);	/* G_ENTER(v1) <-> G_EXIT(v1) */
		tr_replay(&t, NULL, &r);
		expect_one(&r, "core_window", m.win_enter - 1);
	}
	TEST("one vcpu in two windows at once: vcpu_guest, at the second kvm_guest_enter") {
		gang_trace(&t, &m);
		/* while v0 runs in the window on CPU 0, v1's task opens a run holding v0 on CPU 8 */
		static struct trace u;
		u = t;
		u.n = m.win_enter + 1;
		CORE(&u, 8, A1, 1, 1, 1, A);	/* a lone Exit: CPU 8 is known to be idle */
		int at = G_ENTER(&u, 8, A1, 0, 0);
		CORE(&u, 8, A1, 1, 0, 0, A);
		for (int i = m.win_enter + 1; i < t.n; i++) {
			u.r[u.n] = t.r[i];
			u.r[u.n++].ts = (u.ts += 1000);
			if (i == m.win_enter + 2) {	/* after the first window's exits: close the bogus one */
				G_EXIT(&u, 8, A1, 0, 0x980, 0);
				CORE(&u, 8, A1, 1, 0, 1, A);
			}
		}
		tr_replay(&u, NULL, &r);
		expect_one(&r, "vcpu_guest", at);
	}
	TEST("a run_vcpu_enter without exit: vcpu_run, at the next run_vcpu_enter") {
		gang_trace(&t, &m);
		tr_drop(&t, m.s9_run_exit);
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcpu_run", m.s9_run_exit);
	}
	TEST("an hcall_exit without enter: vcpu_run, at the kvm_hcall_exit") {
		gang_trace(&t, &m);
		tr_drop(&t, m.s2_hc_enter);
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcpu_run", m.s2_hc_enter);
	}
	TEST("a vcore_blocked pair inside a run_core window: vcore_block, at its Enter") {
		gang_trace(&t, &m);
		struct rec be = t.r[m.s4_blk_enter], bx = t.r[m.s4_blk_exit];
		int at = tr_insert(&t, m.win_enter + 1, be);
		tr_insert(&t, m.win_enter + 2, bx);
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcore_block", at);
	}
	TEST("wakeup waited=1 without a blocked pair: vcore_block, at the wakeup") {
		gang_trace(&t, &m);
		tr_drop(&t, m.s4_blk_exit);
		tr_drop(&t, m.s4_blk_enter);
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcore_block", m.s4_blk_enter);
	}
	TEST("a ceded vcpu blocks while a sibling still runs: vcore_block, at the block Enter") {
		gang_trace(&t, &m);
		t.r[m.s4_exit0].v[1] = 0x980;	/* v0 did not cede: it still runs */
		t.r[m.s4_exit0].v[4] = 0;
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcore_block", m.s4_blk_enter);
	}
	TEST("a trap value not in the set: trap_values, at that exit") {
		gang_trace(&t, &m);
		t.r[m.s1_exit1].v[1] = 0x123;
		tr_replay(&t, NULL, &r);
		expect_one(&r, "trap_values", m.s1_exit1);
	}
	TEST("a timestamp going back on one CPU: ordering, at that event") {
		gang_trace(&t, &m);
		t.r[m.s1_exit1].ts = t.r[m.s1_exit1 - 3].ts - 1;
		tr_replay(&t, NULL, &r);
		expect_one(&r, "ordering", m.s1_exit1);
	}
	TEST("userspace_exit reason mismatch: vcpu_run, at the kvm_userspace_exit") {
		gang_trace(&t, &m);
		t.r[m.s7_user_exit].v[0] = 2;
		tr_replay(&t, NULL, &r);
		expect_one(&r, "vcpu_run", m.s7_user_exit);
	}
	TEST("S8: a lone Exit whose runner leaves with -EINTR, not -EBUSY: core_window, at its run_vcpu_exit") {
		gang_trace(&t, &m);
		t.r[m.s8_run_exit].v[2] = -4;
		t.r[m.s8_run_exit + 2].v[1] = -4;	/* its kvm_userspace_exit says the same */
		tr_replay(&t, NULL, &r);
		expect_one(&r, "core_window", m.s8_run_exit);
	}
	TEST("piggybacking under a profile without it (E41_preempt): core_window, at the Enter") {
		gang_trace(&t, &m);
		tr_replay(&t, "E41_preempt", &r);
		/* E41 also has no kvmppc_vcore_wakeup: count only core_window reports */
		int n = 0, at = 0;
		for (int i = 0; i < r.n && i < TR_MAXV; i++)
			if (!strcmp(r.v[i].monitor, "core_window")) {
				n++;
				at = (int)r.v[i].seq;
			}
		CHECK_EQ_I(n, 1);
		CHECK_EQ_I(at, m.s5_enter + 1);
	}
	TEST("host facts from --param: smt_mode 1 puts v1 outside the master vcore (item 12)") {
		gang_trace(&t, &m);
		struct hv_replay_param p[] = { { "vm.1000.smt_mode", "1" } };
		tr_replay_p(&t, NULL, p, 1, &r);
		CHECK_EQ_I(r.rc, 0);
		CHECK(r.n > 0);
		CHECK(r.n > 0 && !strcmp(r.v[0].monitor, "core_window") && strstr(r.v[0].msg, "master vcore") != NULL);
	}
	TEST("host facts from --param: threads_per_core 4 with static split 2 rejects S5 (item 11)") {
		gang_trace(&t, &m);
		struct hv_replay_param p[] = { { "threads_per_core", "4" } };
		tr_replay_p(&t, NULL, p, 1, &r);
		int found = 0;
		for (int i = 0; i < r.n && i < TR_MAXV; i++)
			found |= !strcmp(r.v[i].monitor, "core_window") && r.v[i].seq == (uint64_t)m.s5_enter + 1;
		CHECK(found);
		struct hv_replay_param q[] = { { "no_such_fact", "4" } };
		tr_replay_p(&t, NULL, q, 1, &r);
		CHECK_EQ_I(r.rc, HV_E_USAGE);
	}
	TEST("threads_per_core from an online topology with CPUs offline is not trusted") {
		gang_trace(&t, &m);
		t.meta[2][1] = "1";	/* threads_per_core as the online siblings show it */
		tr_meta(&t, "nrcpus_online", "1");
		tr_meta(&t, "nrcpus_avail", "8");
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.n, 0);
		CHECK(r.sum.mon[3].skipped > 0);
		t.nmeta -= 1;	/* all CPUs online: then 1 thread per core is believed */
		tr_replay(&t, NULL, &r);
		CHECK(r.n > 0);
	}
	TEST("without host facts the fact-dependent checks are skipped and counted") {
		gang_trace(&t, &m);
		t.nmeta = 2;	/* only cpudesc and osrelease */
		tr_replay(&t, NULL, &r);
		CHECK_EQ_I(r.n, 0);
		CHECK(r.sum.mon[3].skipped > 0);
	}
	TEST("POWER9: swap a guest enter/exit pair: p9_entry, at the exit now first") {
		int e;
		p9_trace(&t, 0, &e);
		tr_swap(&t, e, e + 3);	/* G_ENTER(P0) <-> G_EXIT(P0) of the same run */
		tr_replay(&t, NULL, &r);
		expect_one(&r, "p9_entry", e);
	}
	TEST("POWER9: drop a kvm_guest_exit: p9_entry, at the run_vcpu_exit") {
		int e;
		p9_trace(&t, 0, &e);
		tr_drop(&t, e + 3);
		tr_replay(&t, NULL, &r);
		expect_one(&r, "p9_entry", e + 3);
	}
}

static void test_lost_and_duplicates(void)
{
	static struct trace t;
	struct marks m;
	struct result clean, r;
	TEST("a lost window over a violating stretch: no violation, unverified share grows") {
		gang_trace(&t, &m);
		tr_replay(&t, NULL, &clean);
		tr_drop(&t, m.s1_exit1);
		int at = next_enter_of(&t, m.s1_exit1, 1);
		t.lost[0].cpu = 0;
		t.lost[0].from = t.r[m.s1_exit1 - 2].ts;
		t.lost[0].to = t.r[at + 4].ts;
		t.nlost = 1;
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.rc, 0);
		CHECK_EQ_I(r.n, 0);
		CHECK_EQ_I(r.sum.lost_windows, 1);
		uint64_t u0 = 0, u1 = 0;
		for (int i = 0; i < r.sum.nmon; i++) {
			u0 += clean.sum.mon[i].unverified;
			u1 += r.sum.mon[i].unverified;
		}
		CHECK(u1 > u0);
	}
	TEST("lost windows (events really missing) anywhere in clean traces never cause a violation") {
		int bad = 0, runs = 0;
		for (int kind = 0; kind < 3; kind++) {
			int n = kind == 0 ? (gang_trace(&t, NULL), t.n) : (p9_trace(&t, kind == 2, NULL), t.n);
			for (int k = 1; k + 6 < n; k += 5) {
				if (kind == 0)
					gang_trace(&t, NULL);
				else
					p9_trace(&t, kind == 2, NULL);
				t.lost[0].cpu = (k / 5) % 3 - 1;	/* -1 (all), 0, 1 */
				t.lost[0].from = t.r[k].ts;
				t.lost[0].to = t.r[k + (k % 4)].ts;
				t.nlost = 1;
				for (int i = k + (k % 4); i >= k; i--)	/* the lost events are really gone */
					if ((t.lost[0].cpu < 0 || t.r[i].cpu == t.lost[0].cpu) && i % 2)
						tr_drop(&t, i);
				tr_replay(&t, NULL, &r);
				runs++;
				if (r.rc || r.n) {
					printf("#   kind %d lost cpu %d over records %d..%d:\n", kind, t.lost[0].cpu, k, k + k % 4);
					tr_print(&r);
					bad++;
				}
			}
		}
		CHECK(runs > 50);
		CHECK_EQ_I(bad, 0);
	}
	TEST("byte-identical duplicate records are dropped and counted, not reported") {
		gang_trace(&t, &m);
		memmove(&t.r[m.s1_exit1 + 1], &t.r[m.s1_exit1], (size_t)(t.n - m.s1_exit1) * sizeof t.r[0]);
		t.n++;
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.n, 0);
		CHECK_EQ_I(r.sum.duplicates, 1);
	}
}

static int query_int(const char *path, const char *sql, int *out)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int rc = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW) {
			*out = sqlite3_column_type(s, 0) == SQLITE_NULL ? -999 : sqlite3_column_int(s, 0);
			rc = 0;
		}
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return rc;
}

static void test_attribution(void)
{
	static struct trace t;
	struct marks m;
	struct result r;
	int v = 0;
	const char *path = tr_path("t.db");
	TEST("S5: the piggybacked vcore is VM B's, 2-way split, its vcpu on thread 4") {
		gang_trace(&t, &m);
		tr_replay(&t, NULL, &r);
		CHECK_EQ_I(r.n, 0);
		char q[256];
		snprintf(q, sizeof q, "SELECT id FROM core_run WHERE enter_seq = %d", m.s5_enter + 1);
		int id = -1;
		CHECK_EQ_I(query_int(path, q, &id), 0);
		snprintf(q, sizeof q, "SELECT split FROM core_run WHERE id = %d", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 2);
		snprintf(q, sizeof q, "SELECT n_vcores FROM core_run WHERE id = %d", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 2);
		snprintf(q, sizeof q, "SELECT n_vms FROM core_run WHERE id = %d", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 2);
		snprintf(q, sizeof q, "SELECT piggybacked FROM core_run WHERE id = %d", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 1);
		snprintf(q, sizeof q, "SELECT threads_avail FROM core_run WHERE id = %d", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 8);
		snprintf(q, sizeof q, "SELECT tgid FROM core_run_vcpu WHERE core_run_id = %d AND grp = 1", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, B);
		snprintf(q, sizeof q, "SELECT hw_thread FROM core_run_vcpu WHERE core_run_id = %d AND grp = 1", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 4);
		snprintf(q, sizeof q, "SELECT hw_thread FROM core_run_vcpu WHERE core_run_id = %d AND grp = 0 AND vcpu_id = 1", id);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, 1);
		CHECK_EQ_I(r.sum.ambiguous, 0);
	}
	TEST("two VMs fit the piggybacked vcore: ambiguous, not guessed") {
		gang_trace(&t, &m);
		/* VM C's vcpu 0 is also in KVM_RUN */
		memmove(&t.r[1], &t.r[0], (size_t)t.n * sizeof t.r[0]);
		t.n++;
		t.r[0].id = HV_EV_KVMPPC_RUN_VCPU_ENTER;
		t.r[0].cpu = 3;
		t.r[0].pid = C0;
		t.r[0].v[0] = 0;
		t.r[0].v[1] = C;
		t.r[0].ts = t.r[1].ts - 500;
		tr_replay(&t, NULL, &r);
		CHECK_EQ_I(r.n, 0);
		CHECK_EQ_I(r.sum.ambiguous, 1);
		char q[256];
		snprintf(q, sizeof q, "SELECT tgid FROM core_run_vcpu WHERE core_run_id = (SELECT id FROM core_run "
			 "WHERE enter_seq = %d) AND grp = 1", m.s5_enter + 2);
		CHECK_EQ_I(query_int(path, q, &v), 0);
		CHECK_EQ_I(v, -999);
	}
	TEST("a split run with a 4-thread vcore is rejected (4-way needed for 3 groups)") {
		gang_trace(&t, &m);
		int e = m.s5_enter;
		static struct trace u;
		u = t;
		u.n = e;	/* the S5 burst A0 A1 | B0 so far */
		G_ENTER(&u, 0, A0, 0, 0);	/* a third vcore group (ids restart) of 3 vcpus */
		G_ENTER(&u, 0, A0, 1, 0);
		G_ENTER(&u, 0, A0, 2, 0);
		int at = CORE(&u, 0, A0, 2, 0, 0, A);
		tr_replay(&u, NULL, &r);
		int found = 0;
		for (int i = 0; i < r.n && i < TR_MAXV; i++)
			found |= !strcmp(r.v[i].monitor, "core_window") && r.v[i].seq == (uint64_t)at + 1 &&
				 strstr(r.v[i].msg, "split") != NULL;
		if (!found)
			tr_print(&r);
		CHECK(found);
	}
}

int main(void)
{
	test_clean();
	test_mutations();
	test_lost_and_duplicates();
	test_attribution();
	if (!getenv("HV_TEST_KEEP"))
		tr_cleanup();
	return tap_exit();
}
