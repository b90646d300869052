/*
 * What-if demand extraction (kernel/sim/demand.c) on a simulated trace: every vcpu of every
 * VM has a demand, its steps match the trace's own events (one HCALL step per virtual-mode
 * hcall, one FAULT step per page fault, hcalls that went to QEMU carry their userspace time,
 * H_IPI / H_PROD targets are vcpus of the VM), its guest time never exceeds the guest time
 * the trace shows, and the recorded metrics agree with SQL on the same store.
 */
#include "tap.h"

#include "sim_helper.h"
#include "whatif.h"

static long long count_kind(const struct hv_demand *d, int kind, uint64_t req)
{
	long long n = 0;
	for (int i = 0; i < d->nvms; i++)
		for (int k = 0; k < d->vms[i].nvcpus; k++)
			for (size_t j = 0; j < d->vms[i].v[k].n; j++) {
				const struct hv_dem_step *s = &d->vms[i].v[k].steps[j];
				n += s->kind == kind && (!req || s->req == req);
			}
	return n;
}

int main(void)
{
	struct hv_store *st = sim_run(NULL, NULL, 3, 300000000ULL, NULL, "d.db");
	struct hv_demand d;
	struct hv_err err = { 0 };
	int rc = st ? hv_demand_extract(st, &d, &err) : -1;
	TEST("extract") {
		CHECK(st != NULL);
		CHECK_EQ_I(rc, 0);
	}
	if (rc) {
		printf("# %s\n", err.msg);
		sim_tmp_cleanup();
		return 1;
	}
	TEST("host shape from meta") {
		CHECK_EQ_S(d.cpu, "POWER8");
		CHECK_EQ_S(d.profile, "mainline");
		CHECK_EQ_I(d.cores, sql_int(st, "SELECT value FROM meta WHERE key = 'cores'"));
		CHECK_EQ_I(d.par.dynamic_mt_modes, 6);
		CHECK_EQ_I(d.nvms, sql_int(st, "SELECT count(*) FROM meta WHERE key GLOB 'vm.*.tgid'"));
		CHECK(d.nload > 0);	/* the default scenario's kworkers */
	}
	TEST("every vcpu has a demand") {
		for (int i = 0; i < d.nvms; i++) {
			char q[160];
			snprintf(q, sizeof q, "SELECT max(vcpu_id) + 1 FROM kvm_hv__kvmppc_run_vcpu_enter WHERE tgid = %d",
				 (int)d.vms[i].tgid);
			CHECK_EQ_I(d.vms[i].nvcpus, sql_int(st, q));
			snprintf(q, sizeof q, "SELECT substr(value, instr(value, 'smt_mode=') + 9) FROM meta WHERE key = 'vm.%d'", i + 1);
			CHECK_EQ_I(d.vms[i].smt, sql_int(st, q));
			for (int k = 0; k < d.vms[i].nvcpus; k++) {
				CHECK(d.vms[i].v[k].n > 0);
				CHECK(d.vms[i].v[k].start_ns < d.t1 - d.t0);
			}
		}
	}
	TEST("steps match the trace's host work") {
		CHECK_EQ_I(count_kind(&d, HV_DEM_HCALL, 0),
			   sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_hcall_exit"));
		CHECK_EQ_I(count_kind(&d, HV_DEM_FAULT, 0),
			   sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_page_fault_exit"));
		CHECK_EQ_I(count_kind(&d, HV_DEM_HCALL, 0x6c),
			   sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_hcall_enter WHERE req = 108"));
		long long to_user = 0, bad_target = 0;
		for (int i = 0; i < d.nvms; i++)
			for (int k = 0; k < d.vms[i].nvcpus; k++)
				for (size_t j = 0; j < d.vms[i].v[k].n; j++) {
					const struct hv_dem_step *s = &d.vms[i].v[k].steps[j];
					to_user += s->kind == HV_DEM_HCALL && s->user_ns > 0;
					bad_target += s->kind == HV_DEM_HCALL && (s->req == 0x6c || s->req == 0xe8) &&
						      s->arg >= (uint64_t)d.vms[i].nvcpus;
				}
		/* H_PUT_TERM_CHAR goes to QEMU; the last one may still be there at the end */
		long long puts = sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_hcall_enter WHERE req = 88");
		CHECK(to_user <= puts && to_user >= puts - d.nvms * 8);
		CHECK_EQ_I(bad_target, 0);
	}
	TEST("demanded guest time within the recorded guest time") {
		double run = 0;
		long long cedes = count_kind(&d, HV_DEM_CEDE, 0);
		for (int i = 0; i < d.nvms; i++)
			for (int k = 0; k < d.vms[i].nvcpus; k++)
				for (size_t j = 0; j < d.vms[i].v[k].n; j++)
					run += (double)d.vms[i].v[k].steps[j].run_ns;
		double guest = d.recorded.throughput * (double)(d.t1 - d.t0);
		CHECK(run > 0 && run <= guest);
		CHECK(cedes > 0 && cedes <= sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_guest_exit WHERE ceded = 1"));
	}
	TEST("recorded metrics agree with SQL") {
		long long exits = sql_int(st, "SELECT count(*) FROM kvm_hv__kvm_guest_exit");
		double want = (double)exits * 1e9 / (double)(d.t1 - d.t0);
		CHECK(d.recorded.exits_per_s > 0.99 * want && d.recorded.exits_per_s < 1.01 * want);
		CHECK(d.recorded.share[0] + d.recorded.share[1] + d.recorded.share[2] > 0.999);
		CHECK_EQ_I(d.recorded.windows, sql_int(st, "SELECT count(*) FROM kvm_hv__kvmppc_run_core WHERE \"where\" = 1"));
		CHECK(d.recorded.core_util > 0 && d.recorded.core_util <= 1.0);
	}
	TEST("baseline replay is deterministic and 0 means whole cores") {
		struct hv_metrics a, b, z;
		char e[256];
		struct hv_whatif_setting s = { 6, -1, NULL }, s0 = { 0, -1, NULL };
		CHECK_EQ_I(hv_whatif_run(&d, &s, &a, e, sizeof e), 0);
		CHECK_EQ_I(hv_whatif_run(&d, &s, &b, e, sizeof e), 0);
		CHECK(a.throughput == b.throughput && a.exits_per_s == b.exits_per_s);
		CHECK_EQ_I(hv_whatif_run(&d, &s0, &z, e, sizeof e), 0);
		CHECK(z.share[0] == 1.0 && z.share[1] == 0 && z.share[2] == 0);
	}
	hv_demand_free(&d);
	hv_store_close(st);
	sim_tmp_cleanup();
	return tap_failed;
}
