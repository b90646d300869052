/*
 * Scenario tests of the simulator + model, checked from the stored events with SQL (not
 * from simulator internals): the default scenario within 1 s shows whole-core, 2-way and
 * 4-way runs, a late join, a vcore block and wake-up, and an H_PROD that cancels a cede;
 * dynamic_mt_modes=0 never splits, =2 never splits 4-way, static threads_per_subcore=4 never
 * splits dynamically; under E31 a vcore never starts while one of its vcpus is busy in the
 * host (and under mainline it does, so the check can fail). Stock-event cross-checks: every
 * kvmppc_run_core Enter is preceded on its CPU by guest_enter events from the same task.
 */
#include "tap.h"

#include "sim_helper.h"

/* core_plan of a run whose vcore started while one of its vcpus was between
 * run_vcpu_exit and the next run_vcpu_enter (busy in the host or out in QEMU) */
static const char busy_start_sql[] =
	"WITH v AS (SELECT DISTINCT pid, vcpu_id, tgid FROM kvm_hv__kvmppc_run_vcpu_enter) "
	"SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan p "
	"JOIN meta m ON m.key = 'vm.' || p.lpid0 || '.tgid' "
	"JOIN v ON v.tgid = CAST(m.value AS INTEGER) AND v.vcpu_id >= p.first_vcpuid0 "
	"AND v.vcpu_id < p.first_vcpuid0 + p.num_threads0 "
	"WHERE coalesce((SELECT max(seq) FROM kvm_hv__kvmppc_run_vcpu_exit x WHERE x.pid = v.pid "
	"AND x.seq < p.seq), -1) > coalesce((SELECT max(seq) FROM kvm_hv__kvmppc_run_vcpu_enter e "
	"WHERE e.pid = v.pid AND e.seq < p.seq), -1)";

static void test_default(void)
{
	struct hv_store *st = sim_run(NULL, NULL, 0, 1000000000ULL, NULL, "default.db");
	TEST("default scenario: runs in whole-core, 2-way and 4-way mode within 1 s") {
		CHECK(st != NULL);
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split = 1") > 0);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split = 2") > 0);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split = 4") > 0);
		/* stock events agree: a piggybacked run has a burst larger than n_runnable */
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_run_core r WHERE r.\"where\" = 0 AND "
			      "(SELECT count(*) FROM kvm_hv__kvm_guest_enter g WHERE g.cpu = r.cpu AND g.pid = r.pid "
			      "AND g.seq < r.seq AND g.seq > coalesce((SELECT max(seq) FROM kvm_hv__kvmppc_run_core q "
			      "WHERE q.cpu = r.cpu AND q.seq < r.seq), 0)) > r.n_runnable") > 0);
	}
	TEST("default scenario: thread placement follows subcore_thread_map {0,4,2,6} + ptid") {
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_vcpu_place WHERE hw_cpu != pcpu + ptid "
			      "OR (pcpu % 8) != (CASE sub WHEN 0 THEN 0 WHEN 1 THEN 4 WHEN 2 THEN 2 ELSE 6 END)") == 0);
		/* 2-way subcores hold <= 4 threads, 4-way subcores <= 2 (spec 2.5) */
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE "
			      "(split = 2 AND max(num_threads0, num_threads1) > 4) OR (split = 4 AND "
			      "max(num_threads0, num_threads1, num_threads2, num_threads3) > 2) OR "
			      "num_threads0 + num_threads1 + num_threads2 + num_threads3 > 8") == 0);
	}
	TEST("default scenario: a late join (kvm_guest_enter by the vcpu's own task outside a window)") {
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_vcpu_place WHERE late_join = 1") > 0);
		/* the late joiner's guest_enter is immediately preceded, in its task, by run_vcpu_enter */
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_guest_enter g JOIN kvm_hv__kvmppc_run_vcpu_enter e "
			      "ON e.pid = g.pid AND e.seq = (SELECT max(seq) FROM kvm_hv__kvmppc_run_vcpu_enter "
			      "WHERE pid = g.pid AND seq < g.seq) WHERE NOT EXISTS (SELECT 1 FROM "
			      "kvm_hv__kvmppc_run_core r WHERE r.pid = g.pid AND r.seq > e.seq AND r.seq < g.seq)") > 0);
	}
	TEST("default scenario: a vcore blocks and is woken") {
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_blocked WHERE \"where\" = 0") > 0);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_blocked WHERE \"where\" = 1") > 0);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_wakeup WHERE waited = 1") > 0);
		/* every Enter is followed, in the same task, by the Exit and then the wakeup */
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_blocked b WHERE b.\"where\" = 0 AND "
			      "(SELECT \"where\" FROM kvm_hv__kvmppc_vcore_blocked n WHERE n.pid = b.pid AND n.seq = "
			      "(SELECT min(seq) FROM kvm_hv__kvmppc_vcore_blocked WHERE pid = b.pid AND seq > b.seq)) "
			      "= 0") == 0);
	}
	TEST("default scenario: an H_PROD cancels a later H_CEDE") {
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_hcall_enter WHERE req = 232") > 0);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_cede c WHERE c.outcome = 1 AND EXISTS "
			      "(SELECT 1 FROM kvm_hv_sched__kvmhv_prod p WHERE p.lpid = c.lpid AND "
			      "p.dst_vcpu = c.vcpu_id AND p.seq < c.seq)") > 0);
	}
	TEST("default scenario: every run_core Enter is preceded by its burst on the same CPU and task") {
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_run_core r WHERE r.\"where\" = 0 AND "
			      "(SELECT pid FROM kvm_hv__kvm_guest_enter g WHERE g.cpu = r.cpu AND g.seq = "
			      "(SELECT max(seq) FROM kvm_hv__kvm_guest_enter WHERE cpu = r.cpu AND seq < r.seq)) "
			      "IS NOT r.pid") == 0);
		CHECK(sql_int(st, "SELECT count(*) FROM meta WHERE key = 'source' AND value = 'simulator'") == 1);
		CHECK(sql_int(st, "SELECT count(*) FROM task WHERE comm LIKE 'CPU %/KVM'") == 16);
	}
	hv_store_close(st);
}

static void test_params(void)
{
	const char *const p0[] = { "dynamic_mt_modes=0", NULL };
	const char *const p2[] = { "dynamic_mt_modes=2", NULL };
	const char *const p4[] = { "threads_per_subcore=4", NULL };
	struct hv_store *st = sim_run(NULL, NULL, 0, 500000000ULL, p0, "dmm0.db");
	TEST("dynamic_mt_modes=0: no split ever") {
		CHECK(st != NULL);
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan") > 100);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split != 1 OR n_subcores != 1") == 0);
		CHECK(sql_int(st, "SELECT value FROM meta WHERE key = 'param.dynamic_mt_modes'") == 0);
	}
	hv_store_close(st);
	st = sim_run(NULL, NULL, 0, 500000000ULL, p2, "dmm2.db");
	TEST("dynamic_mt_modes=2: 2-way splits but no 4-way") {
		CHECK(st != NULL);
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split = 2") > 0);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split = 4 OR n_subcores > 2") == 0);
	}
	hv_store_close(st);
	st = sim_run(NULL, NULL, 0, 500000000ULL, p4, "tps4.db");
	TEST("static threads_per_subcore=4: no dynamic split, bursts of one vcore") {
		CHECK(st != NULL);
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan") > 100);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE n_subcores != 1 OR split != 1") == 0);
		CHECK(sql_int(st, "SELECT count(DISTINCT cpu) FROM kvm_hv__kvmppc_run_core") == 4);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_vcpu_place WHERE ptid >= 4") == 0);
	}
	hv_store_close(st);
}

static void test_e31(void)
{
	struct hv_store *st = sim_run(NULL, "E31_strict_smt", 0, 500000000ULL, NULL, "e31.db");
	TEST("E31: a vcore never starts while one of its vcpus is busy in the host") {
		CHECK(st != NULL);
		if (!st)
			break;
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan") > 100);
		CHECK(sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_run_vcpu_exit") > 20);
		CHECK_EQ_I(sql_int(st, busy_start_sql), 0);
	}
	hv_store_close(st);
	st = sim_run(NULL, "mainline", 0, 500000000ULL, NULL, "main.db");
	TEST("mainline: vcores do start while a sibling is busy (the E31 check can fail)") {
		CHECK(st != NULL);
		if (!st)
			break;
		CHECK(sql_int(st, busy_start_sql) > 0);
	}
	hv_store_close(st);
}

int main(void)
{
	test_default();
	test_params();
	test_e31();
	sim_tmp_cleanup();
	return tap_exit();
}
