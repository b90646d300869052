/*
 * Layers 2 and 3 of the replay (replay/mon_plan.c, mon_rules.c, diff.c):
 *  - hand-built traces with the kvm_hv_sched decision events: a clean one, and one mutation
 *    per monitor, each reported by that monitor at the mutated event and nothing else;
 *  - simulator traces of every profile replay with no layer 2/3 violation under their own
 *    profile, with every layer 2/3 monitor checking something;
 *  - profile sensitivity: an E31_strict_smt trace replayed under E410_simplified and the
 *    reverse report divergences, and each reported event is one where the two eras' rules
 *    really differ, worked out here from the recorded events (not by the monitors).
 */
#include <sqlite3.h>

#include "model.h"
#include "replay_build.h"
#include "sim_helper.h"
#include "tap.h"

enum { VA = 1000, VB = 1100, A0 = 1001, A1 = 1002, B0 = 1101, B1 = 1102 };

static const char *const l23[] = { "split_mode", "core_plan", "thread_place", "start_rule", "cede_rule",
				   "block_rule", "exit_pull", "diff_replay", NULL };

static int is_l23(const char *m)
{
	for (int i = 0; l23[i]; i++)
		if (!strcmp(l23[i], m))
			return 1;
	return 0;
}

/* ---- decision events (field order of tracepoints/events.def) ---- */

static int place(struct trace *t, int pid, int lpid, int id, int first, int ptid, int sub, int late, int ceded,
		 int hw, int pcpu)
{
	int64_t v[] = { lpid, id, first, ptid, sub, late, ceded, hw, pcpu, 0 };
	return tr_evn(t, HV_EV_KVMHV_VCPU_PLACE, 0, pid, 10, v);
}

static int plan(struct trace *t, int ns, int split, int size, int dmm, int nrun0, int nthr1, int nrun1, int ft1)
{
	int64_t v[30] = { 0, 8, 8, ns, split, size, dmm, 0, 8, 0, 1, 0, 4, nrun0, 0 };
	if (ns > 1) {
		int64_t s1[] = { 2, 0, nthr1, nrun1, ft1 };
		memcpy(&v[15], s1, sizeof s1);
	}
	return tr_evn(t, HV_EV_KVMHV_CORE_PLAN, 0, A0, 30, v);
}

static int pbchk(struct trace *t, int result, int ns_after, int total_after, int max_after)
{
	int64_t v[] = { 0, 2, 0, 2, 2, result, ns_after, total_after, max_after };
	return tr_evn(t, HV_EV_KVMHV_PIGGYBACK_CHECK, 0, A0, 9, v);
}

static int cexit(struct trace *t, int split, int pulled, int map0, int map1, int nap0, int nap1, int fptid0, int ftrap0,
		 int ftrap1)
{
	int64_t v[22] = { 0, split, 0, 0, pulled, map0, map1, 0, 0, nap0, nap1, 0, 0, fptid0, 0, 0, 0, ftrap0, ftrap1 };
	return tr_evn(t, HV_EV_KVMHV_CORE_EXIT, 0, A0, 22, v);
}

static int cede(struct trace *t, int lpid, int id, int outcome, int naps)
{
	int64_t v[] = { lpid, id, 0, outcome, 0, 1, naps, 0 };
	return tr_evn(t, HV_EV_KVMHV_CEDE, 0, A0, 8, v);
}

static int kick(struct trace *t, int lpid, int id, int source)
{
	int64_t v[] = { lpid, id, source, 0, 2, -1 };
	return tr_evn(t, HV_EV_KVMHV_KICK, 3, 9999, 6, v);
}

static int badj(struct trace *t, int old, int new_ns, int block_ns)
{
	int64_t v[] = { 1, 0, old, new_ns, block_ns, HV_BLOCK_SLEPT };
	return tr_evn(t, HV_EV_KVMHV_BLOCK_ADJUST, 0, A0, 6, v);
}

struct marks {
	int plan, pbchk, place_b0, cexit, block, badj, start;
};

/* Meta of a POWER8 whole-core host with two VMs: lpid 1 = tgid 1000 (smt 4), lpid 2 = 1100 (smt 2). */
static void dec_meta(struct trace *t, const char *profile, const char *dmm)
{
	tr_meta(t, "cpudesc", "POWER8, altivec supported");
	tr_meta(t, "osrelease", "6.1.0-50-powerpc64le");
	tr_meta(t, "profile", profile);
	tr_meta(t, "threads_per_core", "8");
	tr_meta(t, "param.threads_per_subcore", "8");
	tr_meta(t, "param.dynamic_mt_modes", dmm);
	tr_meta(t, "vm.1.tgid", "1000");
	tr_meta(t, "vm.1.smt_mode", "4");
	tr_meta(t, "vm.2.tgid", "1100");
	tr_meta(t, "vm.2.smt_mode", "2");
	tr_meta(t, "vm.1000.smt_mode", "4");
	tr_meta(t, "vm.1100.smt_mode", "2");
}

/* A run on CPU 0 by vcpu 0 of VM 1000 (vcpus 0, 1) with VM 1100's vcore (vcpus 0, 1)
 * piggybacked in subcore 1 (2-way split, threads 4-5). */
static void split_run(struct trace *t, int dmm, struct marks *m)
{
	m->pbchk = pbchk(t, HV_PB_ACCEPTED, 2, 6, 4);
	m->plan = plan(t, 2, 2, 4, dmm, 2, 2, 2, 4);
	place(t, A0, 1, 0, 0, 0, 0, 0, 0, 0, 0);
	G_ENTER(t, 0, A0, 0, 0);
	place(t, A0, 1, 1, 0, 1, 0, 0, 0, 1, 0);
	G_ENTER(t, 0, A0, 1, 0);
	m->place_b0 = place(t, A0, 2, 0, 0, 0, 1, 0, 0, 4, 4);
	G_ENTER(t, 0, A0, 0, 0);
	place(t, A0, 2, 1, 0, 1, 1, 0, 0, 5, 4);
	G_ENTER(t, 0, A0, 1, 0);
	m->start = CORE(t, 0, A0, 2, 0, 0, VA);
	m->cexit = cexit(t, 2, 2, 0x303, 0x303, 0, 0, 0, 0x980, 0xe80);
	G_EXIT(t, 0, A0, 0, 0x980, 0);
	G_EXIT(t, 0, A0, 1, 0x980, 0);
	G_EXIT(t, 0, A0, 0, 0xe80, 0);
	G_EXIT(t, 0, A0, 1, 0xe80, 0);
	CORE(t, 0, A0, 2, 0, 1, VA);
}

/* VM 1000 alone; both vcpus cede, the vcore leaves on vcpu 1's H_CEDE, the runner blocks. */
static void cede_block_run(struct trace *t, int dmm, int kicked, int poll_new, struct marks *m)
{
	plan(t, 1, 1, 8, dmm, 2, 0, 0, 0);
	place(t, A0, 1, 0, 0, 0, 0, 0, 0, 0, 0);
	G_ENTER(t, 0, A0, 0, 0);
	place(t, A0, 1, 1, 0, 1, 0, 0, 0, 1, 0);
	G_ENTER(t, 0, A0, 1, 0);
	CORE(t, 0, A0, 2, 0, 0, VA);
	cexit(t, 1, 0, 0x303, 0, 0x3, 0, 1, 0, 0);
	G_EXIT(t, 0, A0, 0, 0xe80, 1);
	cede(t, 1, 0, HV_CEDE_NAPPED, 1);
	G_EXIT(t, 0, A0, 1, 0, 1);
	cede(t, 1, 1, HV_CEDE_VCORE_EXIT, 0);
	CORE(t, 0, A0, 2, 0, 1, VA);
	if (kicked)
		kick(t, 1, 1, HV_KICK_IRQ);
	m->block = BLOCKED(t, 0, A0, 2, 0, 0, VA);
	BLOCKED(t, 0, A0, 2, 0, 1, VA);
	m->badj = badj(t, 0, poll_new, 5000);
	WAKEUP(t, 0, A0, 5000, 1, VA);
}

/* Which mutation dec_trace applies to its second split run. */
enum { MUT_NONE, MUT_SPLIT4, MUT_PB_RESULT, MUT_THREAD, MUT_EXIT_MAP, MUT_CEDE_EXIT, MUT_KICK, MUT_POLL };

static int dec_trace(struct trace *t, int mut)
{
	struct marks m, w;
	const char *dmm = mut == MUT_SPLIT4 ? "2" : "6";
	tr_init(t);
	dec_meta(t, "mainline", dmm);
	RUN_ENTER(t, 1, A0, 0, VA);
	RUN_ENTER(t, 2, A1, 1, VA);
	RUN_ENTER(t, 3, B0, 0, VB);
	RUN_ENTER(t, 4, B1, 1, VB);
	split_run(t, atoi(dmm), &w);	/* warm-up: layer 1 objects start UNKNOWN */
	split_run(t, atoi(dmm), &m);
	cede_block_run(t, atoi(dmm), mut == MUT_KICK, mut == MUT_POLL ? 0 : 10000, &w);
	switch (mut) {
	case MUT_SPLIT4:	/* claim a 4-way split under dynamic_mt_modes=2 */
		t->r[m.plan].v[HV_F_KVMHV_CORE_PLAN_SPLIT] = 4;
		return m.plan;
	case MUT_PB_RESULT:	/* the candidate fits, yet recorded as over the target */
		t->r[m.pbchk].v[HV_F_KVMHV_PIGGYBACK_CHECK_RESULT] = HV_PB_OVER_TARGET;
		return m.plan;
	case MUT_THREAD:	/* subcore 1 on threads 6-7 instead of subcore_thread_map[1] = 4 */
		t->r[m.place_b0].v[HV_F_KVMHV_VCPU_PLACE_HW_CPU] = 6;
		t->r[m.place_b0].v[HV_F_KVMHV_VCPU_PLACE_PCPU] = 6;
		return m.place_b0;
	case MUT_EXIT_MAP:	/* thread 1 of subcore 1 entered but did not exit */
		t->r[m.cexit].v[HV_F_KVMHV_CORE_EXIT_ENTRY_EXIT_MAP1] = 0x103;
		return m.cexit;
	case MUT_CEDE_EXIT:	/* subcore 0 left on an H_CEDE with thread 1 still running */
		t->r[m.cexit].v[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_TRAP0] = 0;
		t->r[m.cexit].v[HV_F_KVMHV_CORE_EXIT_NAPPING_THREADS0] = 0x1;
		return m.cexit;
	case MUT_KICK:
		return w.block;
	case MUT_POLL:
		return w.badj;
	default:
		return -1;
	}
}

static void expect_only(const struct result *r, const char *mon, int idx)
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

static uint64_t mon_field(const struct result *r, const char *name, int what)
{
	for (int i = 0; i < r->sum.nmon; i++)
		if (!strcmp(r->sum.mon[i].name, name))
			return what == 0 ? r->sum.mon[i].checked : what == 1 ? r->sum.mon[i].violations
									     : (uint64_t)r->sum.mon[i].active;
	return (uint64_t)-1;
}

/* E31: vcpu 1 leaves for a virtual-mode hcall; with `busy` the runner starts the vcore
 * again before vcpu 1's task is back (allowed from E38 on, not under E31). */
static int e31_trace(struct trace *t, int busy)
{
	tr_init(t);
	tr_meta(t, "cpudesc", "POWER8, altivec supported");
	tr_meta(t, "osrelease", "6.1.0-50-powerpc64le");
	tr_meta(t, "profile", "E31_strict_smt");
	tr_meta(t, "threads_per_core", "8");
	tr_meta(t, "vm.1000.smt_mode", "2");
	RUN_ENTER(t, 1, A0, 0, VA);
	RUN_ENTER(t, 2, A1, 1, VA);
	for (int k = 0; k < 2; k++) {	/* warm-up, then the run whose exit sends vcpu 1 out */
		G_ENTER(t, 0, A0, 0, 0);
		G_ENTER(t, 0, A0, 1, 0);
		CORE(t, 0, A0, 2, 0, 0, VA);
		G_EXIT(t, 0, A0, 0, 0x980, 0);
		G_EXIT(t, 0, A0, 1, k ? 0xc00 : 0x980, 0);
		CORE(t, 0, A0, 2, 0, 1, VA);
	}
	int at = -1;
	if (busy) {
		G_ENTER(t, 0, A0, 0, 0);
		at = CORE(t, 0, A0, 1, 0, 0, VA);
		G_EXIT(t, 0, A0, 0, 0x980, 0);
		CORE(t, 0, A0, 1, 0, 1, VA);
	}
	RUN_EXIT(t, 2, A1, 1, 19, 2);
	HC_ENTER(t, 2, A1, 1, 0xe8);
	HC_EXIT(t, 2, A1, 1, 0);
	RUN_ENTER(t, 2, A1, 1, VA);
	G_ENTER(t, 0, A0, 0, 0);
	G_ENTER(t, 0, A0, 1, 0);
	CORE(t, 0, A0, 2, 0, 0, VA);
	G_EXIT(t, 0, A0, 0, 0x980, 0);
	G_EXIT(t, 0, A0, 1, 0x980, 0);
	CORE(t, 0, A0, 2, 0, 1, VA);
	return at;
}

static void test_hand_built(void)
{
	static struct trace t;
	struct result r;
	TEST("decision-event trace (piggyback, 2-way split, cede exit, block) replays clean; layer 2/3 monitors check it") {
		dec_trace(&t, MUT_NONE);
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.rc, 0);
		CHECK_EQ_I(r.n, 0);
		for (int i = 0; l23[i]; i++) {
			if (mon_field(&r, l23[i], 0) == 0)
				printf("#   %s checked nothing\n", l23[i]);
			CHECK(mon_field(&r, l23[i], 2) == 1);
			CHECK(mon_field(&r, l23[i], 0) > 0);
		}
	}
	static const struct { int mut; const char *name, *mon; } cases[] = {
		{ MUT_SPLIT4, "a 4-way split claimed under dynamic_mt_modes=2: split_mode, at the core plan", "split_mode" },
		{ MUT_PB_RESULT, "a fitting candidate recorded as over target: core_plan, at the core plan", "core_plan" },
		{ MUT_THREAD, "subcore 1 placed on thread 6: thread_place, at that placement", "thread_place" },
		{ MUT_EXIT_MAP, "a thread entered and not exited: exit_pull, at the core exit", "exit_pull" },
		{ MUT_CEDE_EXIT, "an H_CEDE exit with a thread not napping: cede_rule, at the core exit", "cede_rule" },
		{ MUT_KICK, "a block after a ceded vcpu was kicked: block_rule, at the block", "block_rule" },
		{ MUT_POLL, "halt-poll interval not grown after a short block: diff_replay, at kvmhv_block_adjust",
		  "diff_replay" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		TEST(cases[i].name) {
			int at = dec_trace(&t, cases[i].mut);
			tr_replay(&t, NULL, &r);
			expect_only(&r, cases[i].mon, at);
		}
	TEST("E31: a vcore restarted while a vcpu is busy in the host: start_rule, at the kvmppc_run_core Enter") {
		int at = e31_trace(&t, 1);
		tr_replay(&t, NULL, &r);
		expect_only(&r, "start_rule", at);
		if (r.n)
			CHECK(strstr(r.v[0].msg, "vcpu 1") != NULL);
	}
	TEST("the same trace is clean under mainline (any ready vcpu starts a vcore), and the E31 one without it") {
		e31_trace(&t, 1);
		tr_replay(&t, "mainline", &r);
		tr_print(&r);
		CHECK_EQ_I(r.n, 0);
		CHECK(mon_field(&r, "start_rule", 0) >= 4);
		e31_trace(&t, 0);
		tr_replay(&t, NULL, &r);
		tr_print(&r);
		CHECK_EQ_I(r.n, 0);
		CHECK(mon_field(&r, "start_rule", 0) >= 3);
	}
	TEST("POWER9: layers 2/3 are not applicable (inactive, 0 checked)") {
		tr_init(&t);
		tr_meta(&t, "cpudesc", "POWER9, altivec supported");
		tr_meta(&t, "osrelease", "6.1.0-50-powerpc64le");
		RUN_ENTER(&t, 1, A0, 0, VA);
		G_ENTER(&t, 1, A0, 0, 0);
		G_EXIT(&t, 1, A0, 0, 0x980, 0);
		RUN_EXIT(&t, 1, A0, 0, 0, 0);
		tr_replay(&t, NULL, &r);
		CHECK_EQ_I(r.rc, 0);
		for (int i = 0; l23[i]; i++) {
			CHECK(mon_field(&r, l23[i], 2) == 0);
			CHECK(mon_field(&r, l23[i], 0) == 0);
		}
	}
}

/* ---- simulator traces ---- */

static int replay_store(struct hv_store *st, const char *profile, struct result *r)
{
	struct hv_err err = { 0 };
	struct hv_replay_opts o = { .profile = profile, .no_write = 1, .max_violations = TR_MAXV };
	memset(r, 0, sizeof *r);
	r->rc = hv_replay_run(st, &o, tr_collect, r, &r->sum, &err);
	if (r->rc < 0)
		printf("# replay: %s\n", err.msg);
	return r->rc;
}

static uint64_t l23_violations(const struct result *r)
{
	uint64_t n = 0;
	for (int i = 0; l23[i]; i++)
		n += mon_field(r, l23[i], 1);
	return n;
}

static void print_l23(const struct result *r)
{
	for (int i = 0; i < r->n && i < TR_MAXV; i++)
		if (is_l23(r->v[i].monitor))
			printf("#   %s %s seq=%llu: %s\n", r->v[i].monitor, r->v[i].object, (unsigned long long)r->v[i].seq,
			       r->v[i].msg);
}

static const char *const profiles[] = { "E31_strict_smt", "E32_cede_nap", "E43_piggyback", "E410_simplified",
					"mainline", NULL };

static void test_simulated(void)
{
	struct result r;
	for (int p = 0; profiles[p]; p++) {
		char name[160];
		snprintf(name, sizeof name, "simulated %s trace: no layer 2/3 violation under its own profile, every layer 2/3 "
			 "monitor checks", profiles[p]);
		TEST(name) {
			struct hv_store *st = sim_run(NULL, profiles[p], 11 + (uint64_t)p, 120000000ull, NULL, "own.db");
			CHECK(st != NULL);
			if (!st)
				continue;
			CHECK_EQ_I(replay_store(st, NULL, &r), 0);
			CHECK_EQ_S(r.sum.profile, profiles[p]);
			print_l23(&r);
			CHECK_EQ_I(l23_violations(&r), 0);
			for (int i = 0; l23[i]; i++) {
				if (!mon_field(&r, l23[i], 0))
					printf("#   %s checked nothing\n", l23[i]);
				CHECK(mon_field(&r, l23[i], 0) > 0);
			}
			hv_store_close(st);
		}
	}
	TEST("random scenarios (VM sizes, load, dynamic_mt_modes, target_smt_mode, profiles): no layer 2/3 violation") {
		int bad = 0, runs = 0;
		for (int k = 0; k < 6; k++) {
			char text[2048];
			uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(k + 1);
			int smt[3] = { 1 << (x % 4), 1 << ((x >> 8) % 4), 1 << ((x >> 16) % 3) };
			int tsm = (x >> 24) % 3 ? 0 : 8;
			snprintf(text, sizeof text,
				 "name rnd\ncpu POWER8\ncores %d\nprofile %s\nduration 60ms\nseed %d\nhz 250\n"
				 "param dynamic_mt_modes=%d\nparam target_smt_mode=%d\n"
				 "vm a vcpus=%d smt=%d run=%dus idle=%dus cede=50 ipi=8 prod=4 uhcall=1 fault=2 confer=2 irq=60\n"
				 "vm b vcpus=%d smt=%d run=200us idle=2ms cede=60 ipi=6 prod=6 uhcall=1 fault=3 irq=40\n"
				 "vm c vcpus=%d smt=%d run=120us idle=3ms cede=70 prod=2 uhcall=2 irq=50\n"
				 "load kw count=%d run=1ms sleep=3ms\n",
				 1 + (int)((x >> 30) % 2), profiles[k % 5], k + 3, (int)((x >> 33) % 4) * 2, tsm,
				 2 * smt[0], smt[0], 100 + (int)((x >> 40) % 400), 500 + (int)((x >> 44) % 3000), smt[1], smt[1],
				 2 * smt[2], smt[2], 1 + (int)((x >> 50) % 2));
			struct hv_store *st = sim_run(text, NULL, 0, 0, NULL, "rnd.db");
			if (!st) {
				printf("#   scenario %d did not simulate:\n%s", k, text);
				bad++;
				continue;
			}
			runs++;
			if (replay_store(st, NULL, &r) || l23_violations(&r)) {
				printf("#   scenario %d:\n%s", k, text);
				print_l23(&r);
				bad++;
			}
			hv_store_close(st);
		}
		CHECK_EQ_I(runs, 6);
		CHECK_EQ_I(bad, 0);
	}
}

/* ---- profile sensitivity: independent reconstruction from the recorded events ---- */

struct xev {
	int id;
	uint64_t seq;
	int32_t cpu, pid;
	int64_t f[32];
};

struct xtrace {
	struct xev *e;
	int n;
	int smt[4];	/* by lpid; tgid = 900 + 100 * lpid in the built-in scenario (from meta) */
	int32_t tgid[4];
};

static int load_events(struct hv_store *st, struct xtrace *x)
{
	struct hv_err err = { 0 };
	struct hv_reader *rd;
	struct hv_filter f = { 0 };
	const struct hv_row *row;
	int cap = 0;
	x->n = 0;
	x->e = NULL;
	if (hv_reader_open(st, &f, &rd, &err) < 0)
		return -1;
	while (hv_reader_next(rd, &row, &err) == 1) {
		const struct hv_event_def *k = hv_event_find(row->def->system, row->def->name);
		if (!k)
			continue;
		if (x->n == cap) {
			cap = cap ? cap * 2 : 4096;
			x->e = realloc(x->e, (size_t)cap * sizeof *x->e);
		}
		struct xev *e = &x->e[x->n++];
		memset(e, 0, sizeof *e);
		e->id = hv_event_index(k);
		e->seq = row->seq;
		e->cpu = row->cpu;
		e->pid = row->pid;
		for (unsigned i = 0; i < row->def->nfields && i < 32; i++)
			e->f[i] = row->v[i].p ? 0 : row->v[i].i;
	}
	hv_reader_close(rd);
	sqlite3_stmt *s;
	sqlite3_prepare_v2(hv_store_sqlite(st), "SELECT key, value FROM meta WHERE key LIKE 'vm.%'", -1, &s, NULL);
	while (sqlite3_step(s) == SQLITE_ROW) {
		int lpid;
		const char *key = (const char *)sqlite3_column_text(s, 0);
		if (sscanf(key, "vm.%d.", &lpid) == 1 && lpid > 0 && lpid < 4) {
			if (strstr(key, ".tgid"))
				x->tgid[lpid] = sqlite3_column_int(s, 1);
			else if (strstr(key, ".smt_mode"))
				x->smt[lpid] = sqlite3_column_int(s, 1);
		}
	}
	sqlite3_finalize(s);
	return 0;
}

static int smt_of(const struct xtrace *x, int32_t tgid)
{
	for (int l = 1; l < 4; l++)
		if (x->tgid[l] == tgid)
			return x->smt[l];
	return 0;
}

static int32_t tgid_of(const struct xtrace *x, int64_t lpid)
{
	return lpid > 0 && lpid < 4 ? x->tgid[lpid] : -1;
}

static int find_seq(const struct xtrace *x, uint64_t seq)
{
	int lo = 0, hi = x->n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (x->e[mid].seq == seq)
			return mid;
		if (x->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Is vcpu (tgid, id) out of the runnable set at index `at` (E31 counts it against starting
 * its vcore): it ran before, and its last own event is not a run_vcpu_enter, or after that
 * enter it exited the guest for host work (hcall 0xc00, fault 0xe00). */
static int busy_or_out(const struct xtrace *x, int at, int32_t tgid, int32_t id)
{
	int32_t pid = -1;
	for (int i = 0; i < at; i++)
		if (x->e[i].id == HV_EV_KVMPPC_RUN_VCPU_ENTER && x->e[i].f[1] == tgid && x->e[i].f[0] == id)
			pid = x->e[i].pid;
	if (pid < 0)
		return 0;	/* never ran */
	int last = -1;
	for (int i = at - 1; i >= 0 && last < 0; i--)
		if (x->e[i].pid == pid && (x->e[i].id == HV_EV_KVMPPC_RUN_VCPU_ENTER || x->e[i].id == HV_EV_KVMPPC_RUN_VCPU_EXIT ||
					  x->e[i].id == HV_EV_KVM_USERSPACE_EXIT))
			last = i;
	if (last < 0 || x->e[last].id != HV_EV_KVMPPC_RUN_VCPU_ENTER)
		return 1;
	/* its last kvm_guest_exit since: post_guest_process reports the window's vcores in
	 * order (runner's first, then the plan's subcores), each a range of vcpu ids of one VM */
	struct { int32_t tg[4], lo[4], hi[4]; int n, cur; } w[64];
	int host = 0;
	memset(w, 0, sizeof w);
	for (int i = 0; i < at; i++) {
		const struct xev *e = &x->e[i];
		if (e->cpu < 0 || e->cpu >= 64)
			continue;
		if (e->id == HV_EV_KVMHV_CORE_PLAN) {
			w[e->cpu].n = (int)(e->f[3] < 4 ? e->f[3] : 4);
			for (int k = 0; k < w[e->cpu].n; k++) {
				w[e->cpu].tg[k] = tgid_of(x, e->f[10 + 5 * k]);
				w[e->cpu].lo[k] = (int32_t)e->f[11 + 5 * k];
				w[e->cpu].hi[k] = (int32_t)(e->f[11 + 5 * k] + e->f[12 + 5 * k]);
			}
		} else if (e->id == HV_EV_KVMPPC_RUN_CORE) {
			w[e->cpu].cur = 0;
			if (e->f[2] == 0 && w[e->cpu].n == 0) {	/* stock trace: the runner's vcore */
				int smt = smt_of(x, (int32_t)e->f[3]);
				w[e->cpu].tg[0] = (int32_t)e->f[3];
				w[e->cpu].lo[0] = smt ? (int32_t)(e->f[1] - e->f[1] % smt) : 0;
				w[e->cpu].hi[0] = w[e->cpu].lo[0] + smt;
			}
			if (e->f[2] == 1)
				w[e->cpu].n = 0;
		} else if (e->id == HV_EV_KVM_GUEST_EXIT && i > last) {
			int n = w[e->cpu].n ? w[e->cpu].n : 1;
			for (int k = w[e->cpu].cur; k < n; k++)
				if (e->f[0] >= w[e->cpu].lo[k] && e->f[0] < w[e->cpu].hi[k]) {
					w[e->cpu].cur = k;
					if (w[e->cpu].tg[k] == tgid && e->f[0] == id)
						host = e->f[1] == 0xc00 || e->f[1] == 0xe00;
					break;
				}
		}
	}
	return host;
}

static uint64_t arrival_seq(const struct xtrace *x, int at, int32_t tgid, int64_t id)
{
	uint64_t a = 0;
	for (int j = 0; j < at; j++)
		if (x->e[j].id == HV_EV_KVMPPC_RUN_VCPU_ENTER && x->e[j].f[1] == tgid && x->e[j].f[0] == id)
			a = x->e[j].seq;
	return a;
}

/* The placements of the run whose Enter is at i: E31 gives each subcore's vcpus ptids by
 * arrival rank, E410 vcpu_id - first_vcpuid. */
static int placed_ptids_differ(const struct xtrace *x, int i, char *why, size_t wn)
{
	const struct xev *p[16];
	int np = 0;
	for (int j = i - 1; j >= 0 && np < 16; j--) {
		const struct xev *e = &x->e[j];
		if (e->cpu != x->e[i].cpu || e->pid != x->e[i].pid)
			continue;
		if (e->id == HV_EV_KVMHV_CORE_PLAN)
			break;
		if (e->id == HV_EV_KVMHV_VCPU_PLACE && !e->f[5])
			p[np++] = e;
	}
	for (int k = 0; k < np; k++) {
		uint64_t ak = arrival_seq(x, i, tgid_of(x, p[k]->f[0]), p[k]->f[1]);
		int rank = 0;
		for (int j = 0; j < np; j++)
			if (p[j]->f[4] == p[k]->f[4] && arrival_seq(x, i, tgid_of(x, p[j]->f[0]), p[j]->f[1]) < ak)
				rank++;
		if (rank != p[k]->f[1] - p[k]->f[2]) {
			snprintf(why, wn, "ptid of vcpu %lld: %d by arrival, %lld by id", (long long)p[k]->f[1], rank,
				 (long long)(p[k]->f[1] - p[k]->f[2]));
			return 1;
		}
	}
	return 0;
}

/* The rules of E31_strict_smt and E410_simplified give different answers at event index i. */
static int rules_differ(const struct xtrace *x, int i, char *why, size_t wn)
{
	const struct hv_profile *p31 = hv_profile_find("E31_strict_smt"), *p410 = hv_profile_find("E410_simplified");
	const struct xev *e = &x->e[i];
	struct hv_params par;
	hv_params_default(&par, 8);
	switch (e->id) {
	case HV_EV_KVMPPC_RUN_CORE:
	case HV_EV_KVMPPC_VCORE_BLOCKED:
	case HV_EV_KVMHV_VCORE_STATE:
	case HV_EV_KVMPPC_RUN_VCPU_ENTER: {
		/* start condition: E31 needs every vcpu that ran to be runnable, E410 any ready one */
		int32_t tgid, runner;
		int smt, first;
		if (e->id == HV_EV_KVMHV_VCORE_STATE) {
			tgid = tgid_of(x, e->f[0]);
			runner = (int32_t)e->f[7];
			smt = smt_of(x, tgid);
			first = (int)e->f[1];
		} else {
			tgid = (int32_t)(e->id == HV_EV_KVMPPC_RUN_VCPU_ENTER ? e->f[1] : e->f[3]);
			runner = (int32_t)(e->id == HV_EV_KVMPPC_RUN_VCPU_ENTER ? e->f[0] : e->f[1]);
			smt = smt_of(x, tgid);
			first = smt ? runner - runner % smt : 0;
		}
		if (smt <= 0 || smt > 8) {
			snprintf(why, wn, "no smt_mode for tgid %d", tgid);
			return 0;
		}
		int in_burst[8] = { 0 };
		if (e->id == HV_EV_KVMPPC_RUN_CORE && placed_ptids_differ(x, i, why, wn))
			return 1;
		if (e->id == HV_EV_KVMPPC_RUN_CORE) {
			int nr = (int)e->f[0], k = 0, b[16], nb = 0;
			for (int j = i - 1; j >= 0 && nb < 16; j--) {
				if (x->e[j].cpu != e->cpu || x->e[j].pid != e->pid)
					continue;
				if (x->e[j].id == HV_EV_KVM_GUEST_ENTER)
					b[nb++] = (int)x->e[j].f[0];
				else if (x->e[j].id == HV_EV_KVMPPC_RUN_CORE || x->e[j].id == HV_EV_KVM_GUEST_EXIT)
					break;
			}
			/* b is reversed; the master group is the first nr of the burst */
			for (k = 0; k < nr && k < nb; k++) {
				int id = b[nb - 1 - k];
				if (id >= first && id < first + smt)
					in_burst[id - first] = 1;
			}
			/* ptids: E31 arrival order vs E410 ascending vcpu id */
			uint64_t arr[8];
			for (k = 0; k < nr && k < nb; k++) {
				int id = b[nb - 1 - k];
				arr[k] = 0;
				for (int j = 0; j < i; j++)
					if (x->e[j].id == HV_EV_KVMPPC_RUN_VCPU_ENTER && x->e[j].f[1] == tgid && x->e[j].f[0] == id)
						arr[k] = x->e[j].seq;
			}
			/* E31: ptid = rank in arrival order; E410: ptid = vcpu_id - first_vcpuid */
			for (k = 0; k < nr && k < nb; k++) {
				int rank = 0;
				for (int j = 0; j < nr && j < nb; j++)
					rank += arr[j] < arr[k];
				if (rank != b[nb - 1 - k] - first) {
					snprintf(why, wn, "ptid of vcpu %d: %d by arrival, %d by id", b[nb - 1 - k], rank,
						 b[nb - 1 - k] - first);
					return 1;
				}
			}
		} else if (runner >= first && runner < first + smt) {
			in_burst[runner - first] = 1;	/* the arriving vcpu, or the runner: runnable */
		}
		for (int id = first; id < first + smt; id++)
			if (!in_burst[id - first] && busy_or_out(x, i, tgid, id)) {
				struct hv_start_counts c = { .num_threads = smt, .n_runnable = 1, .n_ready = 1, .n_busy = 1 };
				if (hv_start_ok(p31, &c) != hv_start_ok(p410, &c)) {
					snprintf(why, wn, "start: vcpu %d busy or out", id);
					return 1;
				}
			}
		if (e->id == HV_EV_KVMHV_VCORE_STATE && e->f[3] == HV_VCORE_POLLING && p31->halt_poll != p410->halt_poll) {
			snprintf(why, wn, "halt polling only in E410");
			return 1;
		}
		return 0;
	}
	case HV_EV_KVMHV_VCPU_PLACE:	/* ptid: arrival (E31) vs vcpu_id - first (E410) */
		snprintf(why, wn, "placed ptid %lld vs offset %lld", (long long)e->f[3], (long long)(e->f[1] - e->f[2]));
		return e->f[3] != e->f[1] - e->f[2];
	case HV_EV_KVMHV_PIGGYBACK_CHECK:
		snprintf(why, wn, "piggybacking only in E410");
		return p31->piggyback != p410->piggyback;
	case HV_EV_KVMHV_CORE_PLAN: {
		int checks = 0;
		for (int j = i - 1; j >= 0 && x->e[j].id == HV_EV_KVMHV_PIGGYBACK_CHECK; j--)
			checks++;
		snprintf(why, wn, "piggyback plan");
		return (e->f[3] > 1 || checks) && p31->piggyback != p410->piggyback;
	}
	case HV_EV_KVMHV_CORE_EXIT:
		for (int k = 0; k < 4; k++) {
			unsigned m = (unsigned)e->f[HV_F_KVMHV_CORE_EXIT_ENTRY_EXIT_MAP0 + k] & 0xff;
			unsigned nap = (unsigned)e->f[HV_F_KVMHV_CORE_EXIT_NAPPING_THREADS0 + k];
			if (!m || ((e->f[HV_F_KVMHV_CORE_EXIT_PULLED_MASK] >> k) & 1) ||
			    e->f[HV_F_KVMHV_CORE_EXIT_FIRST_EXIT_TRAP0 + k] != 0)
				continue;
			if (hv_cede_decide(p31, 0, nap, m) != hv_cede_decide(p410, 0, nap, m)) {
				snprintf(why, wn, "cede: napping 0x%x of 0x%x", nap, m);
				return 1;
			}
		}
		return 0;
	case HV_EV_KVMHV_CEDE:
		snprintf(why, wn, "naps %lld", (long long)e->f[HV_F_KVMHV_CEDE_N_NAPS]);
		return e->f[HV_F_KVMHV_CEDE_N_NAPS] > 0 && hv_cede_decide(p31, 0, 1, 3) != hv_cede_decide(p410, 0, 1, 3);
	case HV_EV_KVMHV_BLOCK_ADJUST: {
		uint32_t old = (uint32_t)e->f[2];
		uint64_t ns = (uint64_t)e->f[4];
		uint32_t a31 = p31->halt_poll ? hv_halt_poll_adjust(&par, old, ns) : 0;
		uint32_t a410 = p410->halt_poll ? hv_halt_poll_adjust(&par, old, ns) : 0;
		snprintf(why, wn, "halt poll %u vs %u", a31, a410);
		return a31 != a410;
	}
	default:
		snprintf(why, wn, "no rule of E31/E410 differs at this event type");
		return 0;
	}
}

static void sensitivity(const char *sim_profile, const char *replay_profile)
{
	struct result r;
	struct xtrace x = { 0 };
	struct hv_store *st = sim_run(NULL, sim_profile, 5, 80000000ull, NULL, "sens.db");
	CHECK(st != NULL);
	if (!st)
		return;
	CHECK(sql_int(st, "SELECT count(*) FROM meta WHERE key LIKE 'vm.%.tgid'") > 0);
	CHECK_EQ_I(load_events(st, &x), 0);
	struct hv_err err = { 0 };
	struct hv_replay_opts o = { .profile = replay_profile, .max_violations = 0 };	/* all, to the table */
	memset(&r, 0, sizeof r);
	CHECK_EQ_I(hv_replay_run(st, &o, tr_collect, &r, &r.sum, &err), 0);
	/* every diff_replay report, and the first 200 of the layer 2 monitors, from the table */
	sqlite3_stmt *s;
	int reported = 0, diff = 0, wrong = 0, l2 = 0;
	sqlite3_prepare_v2(hv_store_sqlite(st), "SELECT monitor, seq, object, message FROM violation ORDER BY seq", -1, &s,
			   NULL);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *mon = (const char *)sqlite3_column_text(s, 0);
		if (!is_l23(mon))
			continue;
		int is_diff = !strcmp(mon, "diff_replay");
		if (!is_diff && ++l2 > 200)
			continue;
		reported++;
		diff += is_diff;
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 1);
		int at = find_seq(&x, seq);
		char why[128] = "";
		if (at < 0)
			snprintf(why, sizeof why, "seq not found among %d events", x.n);
		if (at < 0 || !rules_differ(&x, at, why, sizeof why)) {
			printf("#   not a divergence of the era rules: %s %s seq=%llu: %s (%s)\n", mon,
			       (const char *)sqlite3_column_text(s, 2), (unsigned long long)seq,
			       (const char *)sqlite3_column_text(s, 3), why);
			wrong++;
		}
	}
	sqlite3_finalize(s);
	printf("#   %s replayed under %s: %d layer 2/3 reports verified (%d by diff_replay), %llu in all\n", sim_profile,
	       replay_profile, reported, diff, (unsigned long long)l23_violations(&r));
	CHECK(reported > 0);
	CHECK(diff > 0);
	CHECK_EQ_I(wrong, 0);
	free(x.e);
	hv_store_close(st);
}

static void test_sensitivity(void)
{
	TEST("an E31_strict_smt trace replayed under E410_simplified: divergences only where the era rules differ")
		sensitivity("E31_strict_smt", "E410_simplified");
	TEST("an E410_simplified trace replayed under E31_strict_smt: divergences only where the era rules differ")
		sensitivity("E410_simplified", "E31_strict_smt");
}

int main(void)
{
	test_hand_built();
	test_simulated();
	test_sensitivity();
	tr_cleanup();
	sim_tmp_cleanup();
	return tap_exit();
}
