/*
 * hvtrace demo-db -o DB: write a small database from a built-in event sequence (a 2-vcpu
 * guest on one POWER8 core: runs ending on HDEC, a virtual-mode hcall with a late join, an
 * all-ceded exit followed by a vcore block and wake-up). It exercises the store end to end
 * before any real trace or the simulator is at hand.
 */
#include <string.h>

#include "cli.h"
#include "hv_events.h"

#define TGID 4100
#define RUNNER 4101
#define OTHER 4102

struct demo {
	struct hv_store *st;
	struct hv_err err;
	uint64_t ts;
	int rc;
};

static void ev(struct demo *d, int id, int cpu, int pid, const int64_t *vals)
{
	if (d->rc < 0)
		return;
	int t = hv_store_known(d->st, id, &d->err);
	d->rc = t < 0 ? t : hv_store_append_ints(d->st, t, d->ts, cpu, pid, vals, &d->err);
	d->ts += 1700;
}

static void slice(struct demo *d, int trap0, int trap1, int ceded)
{
	ev(d, HV_EV_KVM_GUEST_ENTER, 0, RUNNER, (int64_t[]){ 0, 0xc000000000004500LL, 0, 0 });
	ev(d, HV_EV_KVM_GUEST_ENTER, 0, RUNNER, (int64_t[]){ 1, 0xc0000000000e1130LL, 0, 0 });
	ev(d, HV_EV_KVMPPC_RUN_CORE, 0, RUNNER, (int64_t[]){ 2, 0, 0, TGID });
	d->ts += 400000;
	ev(d, HV_EV_KVM_GUEST_EXIT, 0, RUNNER, (int64_t[]){ 0, trap0, 0xc0000000001b2fe8LL, (int64_t)0x800000000280b033ULL, ceded });
	ev(d, HV_EV_KVM_GUEST_EXIT, 0, RUNNER, (int64_t[]){ 1, trap1, 0xc0000000000e1130LL, (int64_t)0x800000000280b033ULL, ceded });
	ev(d, HV_EV_KVMPPC_RUN_CORE, 0, RUNNER, (int64_t[]){ 2, 0, 1, TGID });
}

static int build(struct demo *d)
{
	d->ts = 1000000000;
	hv_store_set_meta(d->st, "source", "hvtrace demo-db (built-in sequence)", &d->err);
	hv_store_set_meta(d->st, "cpu", "POWER8", &d->err);
	hv_store_set_meta(d->st, "threads_per_core", "8", &d->err);
	hv_store_set_task(d->st, RUNNER, TGID, "CPU 0/KVM", 0, &d->err);
	hv_store_set_task(d->st, OTHER, TGID, "CPU 1/KVM", 0, &d->err);
	ev(d, HV_EV_KVMPPC_RUN_VCPU_ENTER, 0, RUNNER, (int64_t[]){ 0, TGID });
	ev(d, HV_EV_KVMPPC_RUN_VCPU_ENTER, 1, OTHER, (int64_t[]){ 1, TGID });
	for (int i = 0; i < 20; i++)
		slice(d, 0x980, 0x980, 0);
	/* vcpu 1 makes a virtual-mode hcall, then joins the running vcore late */
	ev(d, HV_EV_KVM_GUEST_ENTER, 0, RUNNER, (int64_t[]){ 0, 0xc000000000004500LL, 0, 0 });
	ev(d, HV_EV_KVM_GUEST_ENTER, 0, RUNNER, (int64_t[]){ 1, 0xc0000000000e1130LL, 0, 0 });
	ev(d, HV_EV_KVMPPC_RUN_CORE, 0, RUNNER, (int64_t[]){ 2, 0, 0, TGID });
	ev(d, HV_EV_KVM_GUEST_EXIT, 0, RUNNER, (int64_t[]){ 0, 0x980, 0xc000000000004500LL, 0, 0 });
	ev(d, HV_EV_KVM_GUEST_EXIT, 0, RUNNER, (int64_t[]){ 1, 0xc00, 0xc0000000000e1130LL, 0, 0 });
	ev(d, HV_EV_KVMPPC_RUN_CORE, 0, RUNNER, (int64_t[]){ 2, 0, 1, TGID });
	ev(d, HV_EV_KVMPPC_RUN_VCPU_EXIT, 1, OTHER, (int64_t[]){ 1, 19, 2 });
	ev(d, HV_EV_KVM_HCALL_ENTER, 1, OTHER, (int64_t[]){ 1, 0xe8, 0, 0, 0, 0 });
	ev(d, HV_EV_KVM_HCALL_EXIT, 1, OTHER, (int64_t[]){ 1, 0, 0 });
	ev(d, HV_EV_KVM_GUEST_ENTER, 0, RUNNER, (int64_t[]){ 0, 0xc000000000004500LL, 0, 0 });
	ev(d, HV_EV_KVMPPC_RUN_CORE, 0, RUNNER, (int64_t[]){ 1, 0, 0, TGID });
	ev(d, HV_EV_KVMPPC_RUN_VCPU_ENTER, 1, OTHER, (int64_t[]){ 1, TGID });
	ev(d, HV_EV_KVM_GUEST_ENTER, 1, OTHER, (int64_t[]){ 1, 0xc0000000000e1134LL, 0, 0 });
	ev(d, HV_EV_KVM_GUEST_EXIT, 0, RUNNER, (int64_t[]){ 0, 0x980, 0xc000000000004500LL, 0, 0 });
	ev(d, HV_EV_KVM_GUEST_EXIT, 0, RUNNER, (int64_t[]){ 1, 0x980, 0xc0000000000e1134LL, 0, 0 });
	ev(d, HV_EV_KVMPPC_RUN_CORE, 0, RUNNER, (int64_t[]){ 2, 0, 1, TGID });
	/* both cede: the vcore blocks and a decrementer wakes it */
	slice(d, 0, 0xe80, 1);
	ev(d, HV_EV_KVMPPC_VCORE_BLOCKED, 0, RUNNER, (int64_t[]){ 2, 0, 0, TGID });
	d->ts += 3000000;
	ev(d, HV_EV_KVMPPC_VCORE_BLOCKED, 0, RUNNER, (int64_t[]){ 2, 0, 1, TGID });
	ev(d, HV_EV_KVMPPC_VCORE_WAKEUP, 0, RUNNER, (int64_t[]){ 3004000, 1, TGID });
	for (int i = 0; i < 5; i++)
		slice(d, 0x500, 0x980, 0);
	return d->rc;
}

int cmd_demo_db(int argc, char **argv)
{
	const char *out = NULL;
	unsigned flags = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: hvtrace demo-db -o DB [--force]\n\n"
			       "Write a small trace database from a built-in kvm_hv event sequence.\n");
			return HV_EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--force")) {
			flags |= HV_STORE_FORCE;
		} else {
			return cli_usage_error("demo-db", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!out)
		return cli_usage_error("demo-db", "needs -o DB");
	struct demo d = { 0 };
	if (hv_store_create(out, flags, &d.st, &d.err) < 0)
		return cli_fail("demo-db", &d.err);
	if (build(&d) < 0 || hv_store_commit(d.st, &d.err) < 0) {
		hv_store_close(d.st);
		return cli_fail("demo-db", &d.err);
	}
	printf("wrote %s: %llu events\n", out, (unsigned long long)hv_store_nevents(d.st));
	hv_store_close(d.st);
	return HV_EXIT_OK;
}
