/*
 * helper_tinyguest: a tiny KVM guest that makes the generic kvm:* tracepoints fire.
 *
 * Creates a VM with one vcpu on /dev/kvm, loads a few bytes of 16-bit real-mode code that
 * writes a counter to I/O port 0x10 in a loop and executes HLT every 16th iteration, and runs
 * it until N port writes have been seen. Each OUT is a KVM_EXIT_IO, each HLT a KVM_EXIT_HLT
 * (no in-kernel irqchip), so a `perf record -e 'kvm:*'` around it sees kvm_pio,
 * kvm_userspace_exit, kvm_fpu, kvm_emulate_insn and friends even where KVM runs without
 * hardware virtualisation. Used by the import tests (tests/sh/test_import_kvm.sh), the
 * fixtures in tests/data and the import benchmark.
 *
 * Usage: helper_tinyguest [N]   (default 1000). Exit 0 ok, 2 usage, 77 when /dev/kvm is
 * missing or unusable (tests skip on 77), 1 on an unexpected exit reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM 0x10000
#define GUEST_CODE 0x1000

/* Real mode: ax = 0; loop: out 0x10, al; inc ax; test al, 15; jnz loop; hlt; jmp loop */
static const uint8_t guest_code[] = {
	0x31, 0xc0,		/* xor ax, ax */
	0xe6, 0x10,		/* loop: out 0x10, al */
	0x40,			/* inc ax */
	0xa8, 0x0f,		/* test al, 0x0f */
	0x75, 0xf9,		/* jnz loop */
	0xf4,			/* hlt */
	0xeb, 0xf5,		/* jmp loop */
};

struct tg_vm {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

static int tg_fail(const char *what)
{
	fprintf(stderr, "helper_tinyguest: %s: %s\n", what, strerror(errno));
	return 77;
}

static int tg_setup(struct tg_vm *g)
{
	g->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm < 0)
		return tg_fail("/dev/kvm");
	g->vm = ioctl(g->kvm, KVM_CREATE_VM, 0UL);
	if (g->vm < 0)
		return tg_fail("KVM_CREATE_VM");
	g->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED)
		return tg_fail("mmap");
	memcpy(g->mem + GUEST_CODE, guest_code, sizeof guest_code);
	struct kvm_userspace_memory_region reg = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (uint64_t)(uintptr_t)g->mem,
	};
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		return tg_fail("KVM_SET_USER_MEMORY_REGION");
	g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0UL);
	if (g->vcpu < 0)
		return tg_fail("KVM_CREATE_VCPU");
	int sz = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return tg_fail("KVM_GET_VCPU_MMAP_SIZE");
	g->run_size = (size_t)sz;
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
	if (g->run == MAP_FAILED)
		return tg_fail("mmap vcpu");
	struct kvm_sregs sregs;
	if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return tg_fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return tg_fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 0x2 };
	if (ioctl(g->vcpu, KVM_SET_REGS, &regs) < 0)
		return tg_fail("KVM_SET_REGS");
	return 0;
}

static void tg_teardown(struct tg_vm *g)
{
	if (g->run && g->run != MAP_FAILED)
		munmap(g->run, g->run_size);
	if (g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, GUEST_MEM);
	if (g->vcpu >= 0)
		close(g->vcpu);
	if (g->vm >= 0)
		close(g->vm);
	if (g->kvm >= 0)
		close(g->kvm);
}

/* Run until n port writes; returns 0, or 1 on an unexpected exit. */
static int tg_loop(struct tg_vm *g, unsigned long n, unsigned long *halts)
{
	unsigned long outs = 0;
	while (outs < n) {
		if (ioctl(g->vcpu, KVM_RUN, 0UL) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "helper_tinyguest: KVM_RUN: %s\n", strerror(errno));
			return 1;
		}
		switch (g->run->exit_reason) {
		case KVM_EXIT_IO:
			outs++;
			break;
		case KVM_EXIT_HLT:
			(*halts)++;
			break;
		default:
			fprintf(stderr, "helper_tinyguest: unexpected exit reason %u after %lu outs\n",
				g->run->exit_reason, outs);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 1000, halts = 0;
	if (argc > 2 || (argc == 2 && (n = strtoul(argv[1], NULL, 0)) == 0)) {
		fprintf(stderr, "usage: helper_tinyguest [ITERATIONS]\n");
		return 2;
	}
	struct tg_vm g = { .kvm = -1, .vm = -1, .vcpu = -1 };
	int rc = tg_setup(&g);
	if (rc == 0)
		rc = tg_loop(&g, n, &halts);
	if (rc == 0)
		printf("tinyguest: %lu port writes, %lu halts\n", n, halts);
	tg_teardown(&g);
	return rc;
}
