/*
 * Monitor core_window (gang path, per host CPU; spec §5.2 items 8-12 and 14, §5.3) and the
 * derived tables core_run / core_run_vcpu.
 *
 * On CPU c a kvmppc_run_core run shows as: a burst of kvm_guest_enter from the runner task
 * (master vcore first, then piggybacked vcores), kvmppc_run_core Enter, the kvm_guest_exit
 * of every vcpu of the burst (and of late joiners), kvmppc_run_core Exit. The automaton
 * checks that shape; the glue keeps the window's vcpu list, attributes piggybacked vcore
 * groups to VMs (§5.3: only when exactly one VM fits, else "ambiguous"), infers the split
 * mode and hardware threads, checks the burst against the host facts (threads per subcore,
 * smt_mode, dynamic_mt_modes, target_smt_mode: skipped when unknown), and feeds the
 * per-vcpu automaton (vcpu_guest) and the block monitor.
 *
 * A kvm_guest_enter of a task's own vcpu on a CPU with no open window is either the start of
 * that task's burst (kvmppc_run_core Enter follows from it) or a late join into a window
 * already open elsewhere (S2: the task then sleeps). It stays pending until one of those is
 * proven: Enter from the same task and CPU (burst), an exit of that vcpu in an open window
 * of its VM, or any other event on that CPU or of that task (late join if a window of its VM
 * is open, else a burst that never reached Enter).
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "rp_int.h"

enum { C_UNKNOWN, C_IDLE, C_BURST, C_RUN, C_EXITING, CNS };
enum { CE_G_ENTER, CE_ENTER, CE_G_EXIT, CE_EXIT, CE_OTHER, CNE };

static const char *const cstates[CNS] = { "UNKNOWN", "IDLE", "BURST", "RUN", "EXITING" };
static const char *const cevents[CNE] = { "kvm_guest_enter", "kvmppc_run_core Enter", "kvm_guest_exit",
					  "kvmppc_run_core Exit", "other event" };
static const char *const cexpect[CNS] = {
	"unknown",
	"no window: expected a burst of kvm_guest_enter from the next runner",
	"burst of kvm_guest_enter: expected more of them or kvmppc_run_core Enter from the same task",
	"window open, guest running: expected kvm_guest_exit or kvmppc_run_core Exit",
	"window exiting: expected kvm_guest_exit or kvmppc_run_core Exit",
};

static const struct rp_trans ctab[CNS][CNE] = {
	[C_UNKNOWN] = { [CE_EXIT] = GO(C_IDLE) },
	[C_IDLE] = {
		[CE_G_ENTER] = GO(C_BURST), [CE_G_EXIT] = GO(C_IDLE), [CE_EXIT] = GO(C_IDLE), [CE_OTHER] = GO(C_IDLE),
		[CE_ENTER] = BAD(C_UNKNOWN, "kvmppc_run_core Enter with no burst of kvm_guest_enter before it"),
	},
	[C_BURST] = {
		[CE_G_ENTER] = GO(C_BURST), [CE_ENTER] = GO(C_RUN),
		[CE_G_EXIT] = BAD(C_UNKNOWN, "kvm_guest_exit between a kvm_guest_enter burst and its kvmppc_run_core Enter"),
		[CE_EXIT] = BAD(C_UNKNOWN, "kvmppc_run_core Exit after a kvm_guest_enter burst without Enter"),
		[CE_OTHER] = BAD(C_UNKNOWN, "kvm_guest_enter burst not followed by kvmppc_run_core Enter from its task:"),
	},
	[C_RUN] = {
		[CE_G_EXIT] = GO(C_EXITING), [CE_EXIT] = GO(C_IDLE), [CE_OTHER] = GO(C_RUN),
		[CE_G_ENTER] = BAD(C_UNKNOWN, "kvm_guest_enter on a CPU whose kvmppc_run_core window is open"),
		[CE_ENTER] = BAD(C_UNKNOWN, "kvmppc_run_core Enter while this CPU's window is open"),
	},
	[C_EXITING] = {
		[CE_G_EXIT] = GO(C_EXITING), [CE_EXIT] = GO(C_IDLE), [CE_OTHER] = GO(C_EXITING),
		[CE_G_ENTER] = BAD(C_UNKNOWN, "kvm_guest_enter on a CPU whose kvmppc_run_core window is open"),
		[CE_ENTER] = BAD(C_UNKNOWN, "kvmppc_run_core Enter while this CPU's window is open"),
	},
};

const struct rp_automaton rp_aut_core_window = { "core_window", CNS, CNE, cstates, cevents, cexpect, &ctab[0][0] };


static struct rp_obj cpu_obj(int cpu)
{
	return (struct rp_obj){ 'c', cpu, 0 };
}

static void forget_burst_vcpus(struct rp *rp, struct rp_cpu *c);
static int32_t entry_hw(struct rp *rp, int cpu, const struct rp_cpu *c, int i);

/* Step the CPU's automaton; a window that turns UNKNOWN takes its vcpus' states with it. */
static void step(struct rp *rp, int cpu, int letter, const struct rp_ev *ev, const char *detail)
{
	int before = rp->cpus[cpu].st_core;
	rp_step(rp, RP_MON_CORE_WINDOW, &rp_aut_core_window, &rp->cpus[cpu].st_core, letter, ev, cpu_obj(cpu), detail);
	if (before != C_UNKNOWN && rp->cpus[cpu].st_core == C_UNKNOWN)
		forget_burst_vcpus(rp, &rp->cpus[cpu]);
}

static void guard(struct rp *rp, int cpu, int state, int letter, const struct rp_ev *ev, const char *fmt,
		  long long a, long long b, long long c)
{
	char msg[256];
	snprintf(msg, sizeof msg, fmt, a, b, c);
	rp_violate(rp, RP_MON_CORE_WINDOW, cpu_obj(cpu), cstates[state], cevents[letter], ev, "%s", msg);
}

static struct rp_ev entry_ev(const struct rp_entry *e, int cpu)
{
	struct rp_ev ev = { .id = HV_EV_KVM_GUEST_ENTER, .seq = e->seq, .ts = e->ts, .cpu = cpu, .pid = e->pid };
	ev.f[HV_F_KVM_GUEST_ENTER_VCPU_ID] = e->id;
	return ev;
}

static void forget_burst_vcpus(struct rp *rp, struct rp_cpu *c)
{
	for (int i = 0; i < c->nb; i++) {
		struct rp_task *t = rp_task_find(rp, c->b[i].pid);
		struct rp_vcpu *v = c->b[i].tgid >= 0 ? rp_vcpu_find(rp, c->b[i].tgid, c->b[i].id)
			: (t && t->tgid >= 0 ? rp_vcpu_find(rp, t->tgid, c->b[i].id) : NULL);
		if (v)
			v->st_guest = RP_UNKNOWN;
		if (t && t->pend_cpu >= 0)
			t->pend_cpu = -1;
	}
	c->nb = 0;
	c->burst_pid = -1;
}

/* ---- windows ---- */



/* Same vcore: by the kvmhv_vcpu_place facts when both have them, else same VM and the same
 * block of smt_mode vcpu ids (spec §2.1: vcore index = vcpu_id / smt_mode). */
static int same_vcore(struct rp *rp, const struct rp_entry *a, const struct rp_entry *b)
{
	if (a->placed && b->placed)
		return a->lpid == b->lpid && a->first == b->first;
	if (a->tgid < 0 || a->tgid != b->tgid)
		return 0;
	int smt = rp_vm_smt(rp, a->tgid);
	return smt <= 0 || a->id / smt == b->id / smt;
}

/* The group of window w that holds e's vcore, -1 if none. */
static int vcore_grp(struct rp *rp, const struct rp_cpu *w, const struct rp_entry *e)
{
	for (int i = 0; i < w->nb; i++)
		if (!w->b[i].late && same_vcore(rp, &w->b[i], e))
			return w->b[i].grp;
	return -1;
}

static int window_open(const struct rp_cpu *w)
{
	return w->used && (w->st_core == C_RUN || w->st_core == C_EXITING);
}

/* An open window (other than on CPU `not`) holding the vcore of entry e (whose tgid is
 * known): the one kvmhv_vcpu_place named, else the first found; -1 if none. */
static int open_window_of(struct rp *rp, const struct rp_entry *e, int not)
{
	if (e->late_cpu >= 0 && e->late_cpu < rp->ncpus && e->late_cpu != not)
		return window_open(&rp->cpus[e->late_cpu]) ? e->late_cpu : -1;
	for (int i = 0; i < rp->ncpus; i++)
		if (i != not && window_open(&rp->cpus[i]) && vcore_grp(rp, &rp->cpus[i], e) >= 0)
			return i;
	return -1;
}

/* The single kvm_guest_enter pending on CPU d was a late join into the window on CPU wc. */
static void late_join(struct rp *rp, int d, int wc)
{
	struct rp_cpu *p = &rp->cpus[d], *w = &rp->cpus[wc];
	struct rp_entry e = p->b[0];
	struct rp_task *t = rp_task_find(rp, e.pid);
	struct rp_ev ev = entry_ev(&e, d);
	p->nb = 0;
	p->burst_pid = -1;
	p->st_core = C_IDLE;
	if (t)
		t->pend_cpu = -1;
	e.tgid = t ? t->tgid : -1;
	e.late = 1;
	int g = vcore_grp(rp, w, &e);
	e.grp = (uint8_t)(g >= 0 ? g : 0);
	if (e.placed)
		rp_lpid_learn(rp, e.lpid, e.tgid);
	rp_checked(rp, RP_MON_CORE_WINDOW);
	if (w->first_exit_seq && w->first_exit_seq < e.seq)
		guard(rp, wc, C_EXITING, CE_G_ENTER, &ev, "late join (kvm_guest_enter by the vcpu's own task on CPU %lld) "
		      "after the window's exits began at seq %lld", d, (long long)w->first_exit_seq, 0);
	if (w->nb < RP_MAXB) {
		w->b[w->nb] = e;
		w->b[w->nb].hw = entry_hw(rp, wc, w, w->nb);
		w->nb++;
	}
	struct rp_vcpu *v = e.tgid >= 0 ? rp_vcpu_get(rp, e.tgid, e.id) : NULL;
	if (v) {
		rp_guest_feed(rp, v, RP_G_ENTER, &ev);
		v->win_cpu = wc;
	}
}

/* Forget pending late-join candidates of VM tgid (vcpu k, or any if k < 0): the unknown window
 * on CPU wc they could have joined went by. A candidate that kvmhv_vcpu_place says joined
 * another CPU's window, or whose vcore runs in a known open window elsewhere, is kept. */
static void drop_candidates(struct rp *rp, int32_t tgid, int32_t k, int wc)
{
	for (int d = 0; d < rp->ncpus; d++) {
		struct rp_cpu *p = &rp->cpus[d];
		struct rp_task *t = p->used && p->nb == 1 && (p->st_core == C_BURST || p->st_core == C_UNKNOWN)
			? rp_task_find(rp, p->b[0].pid) : NULL;
		if (!t || t->tgid != tgid || t->vcpu != p->b[0].id || (k >= 0 && k != p->b[0].id))
			continue;
		struct rp_entry pe = p->b[0];
		pe.tgid = tgid;
		if (pe.late_cpu >= 0 && pe.late_cpu != wc)
			continue;
		int other = open_window_of(rp, &pe, d);
		if (other >= 0 && other != wc)
			continue;
		forget_burst_vcpus(rp, p);
		p->st_core = C_UNKNOWN;
	}
}

/* The burst pending on CPU d is interrupted by ev (not its Enter). */
static void interrupt_burst(struct rp *rp, int d, const struct rp_ev *ev)
{
	struct rp_cpu *p = &rp->cpus[d];
	if ((p->st_core != C_BURST && p->st_core != C_UNKNOWN) || p->nb == 0)
		return;
	struct rp_task *t = rp_task_find(rp, p->b[0].pid);
	if (p->nb == 1 && t && t->vcpu == p->b[0].id && t->tgid >= 0) {
		struct rp_entry pe = p->b[0];
		pe.tgid = t->tgid;
		int wc = open_window_of(rp, &pe, d);
		if (wc >= 0) {
			late_join(rp, d, wc);	/* also resynchronises CPU d: no window is open there */
			return;
		}
		int lc = p->b[0].late_cpu;
		if (lc >= 0 && lc < rp->ncpus && rp->cpus[lc].st_core == C_UNKNOWN) {
			/* kvmhv_vcpu_place says late join, into a window we do not know (trace start,
			 * lost events): not a burst, nothing to check */
			rp_skipped(rp, RP_MON_CORE_WINDOW);
			forget_burst_vcpus(rp, p);
			if (p->st_core == C_BURST)
				p->st_core = C_IDLE;
			return;
		}
	}
	if (p->st_core == C_UNKNOWN) {
		forget_burst_vcpus(rp, p);
		return;
	}
	char d2[96];
	struct rp_ev first = entry_ev(&p->b[0], d);
	snprintf(d2, sizeof d2, "%d kvm_guest_enter from task %d, first at seq %llu", p->nb, p->b[0].pid,
		 (unsigned long long)p->b[0].seq);
	(void)ev;
	step(rp, d, CE_OTHER, &first, d2);
	forget_burst_vcpus(rp, p);
	p->st_core = C_UNKNOWN;
}

/* Group piggybacked entries into vcores, attribute VMs, infer split and hardware threads. */
static const int subcore_first[4] = { 0, 4, 2, 6 };

static void attribute_group(struct rp *rp, struct rp_cpu *c, int from, int to, int32_t emitter)
{
	int32_t found = -1, nfound = 0;
	struct rp_vcpu *v;
	for (int i = 0; (v = rp_pool_at(&rp->vcpu_pool, i)) != NULL; i++) {
		if (v->id != c->b[from].id || v->tgid == found)
			continue;
		int ok = 1;
		for (int k = from; k < to && ok; k++) {
			struct rp_vcpu *u = rp_vcpu_find(rp, v->tgid, c->b[k].id);
			struct rp_task *t = u && u->pid > 0 ? rp_task_find(rp, u->pid) : NULL;
			ok = t && t->pid != emitter && rp_task_in_run(t) && !rp_vcpu_in_guest(u);
			for (int m = 0; ok && m < from; m++)
				ok = !(c->b[m].tgid == v->tgid && c->b[m].id == c->b[k].id);
		}
		if (ok) {
			found = v->tgid;
			nfound++;
		}
	}
	for (int k = from; k < to; k++) {
		c->b[k].tgid = nfound == 1 ? found : -1;
		c->b[k].ambiguous = nfound > 1;
	}
	if (nfound > 1)
		rp->sum->ambiguous += (uint64_t)(to - from);
}

/* The hardware thread of entry i of the window on cpu: the subcore's first thread + ptid. */
static int32_t entry_hw(struct rp *rp, int cpu, const struct rp_cpu *c, int i)
{
	const struct rp_entry *e = &c->b[i];
	int smt = e->tgid >= 0 ? rp_vm_smt(rp, e->tgid) : -1;
	if (smt <= 0 || (c->ns > 1 && !c->split))
		return -1;
	int base = c->ns == 1 ? 0 : (rp->chip == 9 ? e->grp : subcore_first[e->grp & 3]);
	int ptid = e->id % smt;
	if (rp->prof->ptid != RP_PTID_FIXED) {	/* dynamic: position among its vcore's entries */
		if (e->late)
			return -1;
		ptid = 0;
		for (int j = 0; j < i; j++)
			ptid += c->b[j].grp == e->grp && !c->b[j].late;
	}
	return cpu + base + ptid;
}

static void hw_threads(struct rp *rp, int cpu, struct rp_cpu *c)
{
	for (int i = 0; i < c->nb; i++)
		c->b[i].hw = entry_hw(rp, cpu, c, i);
}

static void check_split(struct rp *rp, int cpu, struct rp_cpu *c, const struct rp_ev *ev)
{
	int sizes[RP_MAXB] = { 0 }, maxs = 0;
	for (int i = 0; i < c->nb; i++)
		if (++sizes[c->b[i].grp] > maxs)
			maxs = sizes[c->b[i].grp];
	int ns = c->ns, dmm = rp->par.dmm;
	c->split = ns == 1 ? 1 : 0;
	if (ns == 1)
		return;
	if (rp->chip == 9) {
		if (maxs > 1)
			guard(rp, cpu, C_BURST, CE_ENTER, ev, "POWER9 gang run with a vcore of %lld vcpus (one per vcore)",
			      maxs, 0, 0);
		return;
	}
	if (ns > 4) {
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "%lld vcore groups in one run (at most 4 subcores)", ns, 0, 0);
		return;
	}
	if (ns >= 3 || (dmm >= 0 && !(dmm & 2)))
		c->split = 4;
	else if (dmm >= 0)
		c->split = 2;
	else if (maxs > 2)
		c->split = 2;	/* 4-way cannot hold it; 2-way is what happened if anything */
	if (dmm >= 0 && c->split && !(dmm & c->split))
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "%lld vcore groups need a %lld-way split, which dynamic_mt_modes=%lld "
		      "does not allow", ns, c->split, dmm);
	else if (dmm < 0)
		rp_skipped(rp, RP_MON_CORE_WINDOW);
	int cap = c->split == 4 ? 2 : 4;
	if (maxs > cap)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "a vcore of %lld vcpus in a %lld-way split run (subcore holds %lld)",
		      maxs, c->split ? c->split : 2, cap);
}

static void process_burst(struct rp *rp, int cpu, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[cpu];
	int n = c->n_runnable, nb = c->nb;
	int32_t R = c->runner_tgid;
	rp_checked(rp, RP_MON_CORE_WINDOW);
	if (c->overflow)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "burst of more than %lld kvm_guest_enter", RP_MAXB, 0, 0);
	if (c->burst_pid != ev->pid)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "Enter from task %lld, but the burst came from task %lld",
		      ev->pid, c->burst_pid, 0);
	if (nb < n)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "Enter says n_runnable=%lld but only %lld kvm_guest_enter precede it",
		      n, nb, 0);
	/* threads are started in ptid order: with fixed ptids (~v3.15+) the ids ascend; with the
	 * older dynamic ptids the non-ceded vcpus come first (v3.2-v3.14), or arrival order (v3.1,
	 * not visible in the trace) */
	int m = n < nb ? n : nb, has_runner = 0, asc = 1, ceded_first = 0;
	for (int i = 0; i < m; i++) {
		c->b[i].tgid = R;
		c->b[i].grp = 0;
		has_runner |= c->b[i].id == c->runner_vcpu;
		if (i && c->b[i].id <= c->b[i - 1].id)
			asc = 0;
		if (i && c->b[i - 1].enter_ceded && !c->b[i].enter_ceded)
			ceded_first = 1;
	}
	if (m > 0 && !has_runner)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "runner_vcpu %lld is not among the %lld vcpus of the master vcore "
		      "entered first", c->runner_vcpu, m, 0);
	if (!asc && rp->prof->ptid == RP_PTID_FIXED)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "the master vcore's vcpus were not entered in ascending ptid order",
		      0, 0, 0);
	if (ceded_first && rp->prof->ptid == RP_PTID_NONCEDED_FIRST)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "a ceded vcpu was entered before a non-ceded one: these kernels give "
		      "the non-ceded vcpus the low ptids", 0, 0, 0);
	int smt = rp_vm_smt(rp, R);
	if (smt > 0 && m > 0) {
		int first = c->b[0].id - c->b[0].id % smt;
		for (int i = 1; i < m; i++)
			if (c->b[i].id < first || c->b[i].id >= first + smt) {
				guard(rp, cpu, C_BURST, CE_ENTER, ev, "vcpu %lld is outside the master vcore [%lld, +smt_mode %lld)",
				      c->b[i].id, first, smt);
				break;
			}
	} else if (m > 1) {
		rp_skipped(rp, RP_MON_CORE_WINDOW);
	}
	for (int i = 0; i < m; i++)
		if (c->b[i].placed)
			rp_lpid_learn(rp, c->b[i].lpid, R);
	/* piggybacked vcores: with kvmhv_vcpu_place, a new group where (lpid, first vcpu id)
	 * changes, the VM from the lpid; else (stock events) a new group when the id does not
	 * increase or leaves a vcore, the VM by the heuristic of spec §5.3 */
	int hsmt = rp->par.smt_mode > 0 ? rp->par.smt_mode : rp_threads_per_subcore(rp);
	c->ns = m > 0 ? 1 : 0;
	for (int i = m, start = m; i <= nb; i++) {
		const struct rp_entry *a = i < nb ? &c->b[i] : NULL, *b = i > start ? &c->b[i - 1] : NULL;
		int brk;
		if (a && b && a->placed && b->placed)
			brk = a->lpid != b->lpid || a->first != b->first;
		else
			brk = !a || (b && (a->id <= b->id || (hsmt > 0 && a->id / hsmt != b->id / hsmt)));
		if (brk && i > start) {
			int32_t vm = c->b[start].placed ? rp_lpid_tgid(rp, c->b[start].lpid) : -1;
			for (int k = start; k < i; k++)
				c->b[k].grp = (uint8_t)c->ns;
			if (vm >= 0)
				for (int k = start; k < i; k++)
					c->b[k].tgid = vm;
			else
				attribute_group(rp, c, start, i, ev->pid);
			c->ns++;
			start = i;
		}
	}
	if (nb > m && !rp->prof->piggyback)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "%lld vcpus beyond the master vcore's n_runnable were entered, but "
		      "there is no piggybacking before v4.3", nb - m, 0, 0);
	int tps = rp_threads_per_subcore(rp);
	if (tps > 0) {
		int limit = rp->chip == 9 && !(rp->par.indep == 0) ? 1 : tps;
		if (nb > limit)
			guard(rp, cpu, C_BURST, CE_ENTER, ev, "burst of %lld vcpus exceeds the %lld hardware threads of a "
			      "subcore", nb, limit, 0);
		if (tps < 8 && c->ns > 1 && rp->chip != 9)
			guard(rp, cpu, C_BURST, CE_ENTER, ev, "%lld vcores in one run on a statically split core "
			      "(threads_per_subcore=%lld): only one", c->ns, tps, 0);
	} else {
		rp_skipped(rp, RP_MON_CORE_WINDOW);
	}
	/* target_smt_mode bounds the piggybacked total only (kvmppc_run_core calls
	 * collect_piggybacks only while the master vcore is below it): spec §5.2 item 11 */
	if (rp->par.target_smt > 0 && c->ns > 1 && nb > rp->par.target_smt)
		guard(rp, cpu, C_BURST, CE_ENTER, ev, "piggybacked burst of %lld vcpus exceeds target_smt_mode=%lld", nb,
		      rp->par.target_smt, 0);
	check_split(rp, cpu, c, ev);
	hw_threads(rp, cpu, c);
	for (int i = 0; i < nb; i++) {
		struct rp_entry *e = &c->b[i];
		struct rp_ev eev = entry_ev(e, cpu);
		struct rp_vcpu *v = e->tgid >= 0 ? rp_vcpu_get(rp, e->tgid, e->id) : NULL;
		if (!v)
			continue;
		rp_guest_feed(rp, v, RP_G_ENTER, &eev);
		v->win_cpu = cpu;
		rp_block_window(rp, v, RP_B_WIN_ENTER, ev);
	}
}

static int resume_trap(int32_t trap)
{
	switch (trap) {
	case 0: case 0x100: case 0x500: case 0x502: case 0x980: case 0xe60: case 0xe80: case 0xea0: case 0xf00:
		return 1;
	}
	return 0;
}

static void int_or_null(struct rp_rows *r, int known, int64_t v)
{
	if (known)
		rp_rows_int(r, v);
	else
		rp_rows_null(r);
}

/* Decimal digits of v at p (snprintf's %d, without its cost: it was 8% of a replay); returns
 * the end. */
static char *put_int(char *p, int32_t v)
{
	char d[12];
	int n = 0;
	uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
	if (v < 0)
		*p++ = '-';
	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	while (n)
		*p++ = d[--n];
	return p;
}

static void write_run(struct rp *rp, int cpu, struct rp_cpu *c, const struct rp_ev *ev)
{
	rp->sum->core_runs++;
	if (!rp->ins_run || rp->rc)
		return;
	char text[RP_MAXB * 16];
	size_t len = 0;
	text[0] = 0;
	for (int i = 0; i < c->nb && len + 24 < sizeof text; i++) {
		const struct rp_entry *e = &c->b[i];
		char piece[48], *p = piece;
		if (i)
			*p++ = ' ';
		if (e->late)
			*p++ = '+';
		if (e->tgid >= 0)
			p = put_int(p, e->tgid);
		else
			p = stpcpy(p, e->ambiguous ? "ambiguous" : "?");
		*p++ = '/';
		p = put_int(p, e->id);
		/* as snprintf would: cut at the end of text, count the whole piece */
		size_t n = (size_t)(p - piece), room = sizeof text - len - 1;
		memcpy(text + len, piece, n < room ? n : room);
		text[len + (n < room ? n : room)] = 0;
		len += n;
	}
	int64_t id = c->run_id;
	int nvms = 0, unknown_vm = 0, pig = 0;
	for (int i = 0; i < c->nb; i++) {
		const struct rp_entry *e = &c->b[i];
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= c->b[j].tgid == e->tgid;
		if (e->tgid < 0)
			unknown_vm = 1;
		else if (!seen)
			nvms++;
		pig += e->grp > 0 && !e->late;
	}
	int tps = rp_threads_per_subcore(rp);
	/* threads of the (sub)core set the run owned: the subcore (whole core on POWER8 whole-core
	 * hosts, split or not); one thread per vcore on POWER9 unless indep_threads_mode=N */
	int avail = rp->chip == 9 ? (rp->par.indep == 0 ? tps : 1) : tps;
	struct rp_rows *r = rp->ins_run;
	rp_rows_int(r, id);
	rp_rows_int(r, cpu);
	rp_rows_int(r, c->runner_pid);
	rp_rows_int(r, c->runner_tgid);
	rp_rows_int(r, c->runner_vcpu);
	rp_rows_int(r, (int64_t)c->enter_seq);
	rp_rows_int(r, (int64_t)ev->seq);
	rp_rows_int(r, (int64_t)c->enter_ts);
	rp_rows_int(r, (int64_t)ev->ts);
	rp_rows_int(r, c->n_runnable);
	rp_rows_int(r, c->nb);
	rp_rows_int(r, c->ns);
	int_or_null(r, !unknown_vm, nvms);
	int_or_null(r, c->split != 0, c->split);
	rp_rows_int(r, c->nb);
	int_or_null(r, avail > 0, avail);
	rp_rows_int(r, pig);
	rp_rows_text(r, text);
	int rc = rp_rows_end(r);
	for (int i = 0; rc == 0 && i < c->nb; i++) {
		const struct rp_entry *e = &c->b[i];
		struct rp_rows *u = rp->ins_run_vcpu;
		rp_rows_int(u, id);
		int_or_null(u, e->tgid >= 0, e->tgid);
		rp_rows_int(u, e->id);
		rp_rows_int(u, e->grp);
		int_or_null(u, e->hw >= 0, e->hw);
		rp_rows_int(u, e->late);
		rc = rp_rows_end(u);
	}
	if (rc < 0)
		rp->rc = hv_err_set(rp->err, HV_E_SQL, "%s: writing core_run: %s", hv_store_path(rp->st),
				    sqlite3_errmsg(hv_store_sqlite(rp->st)));
}

static void close_window(struct rp *rp, int cpu, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[cpu];
	rp_checked(rp, RP_MON_CORE_WINDOW);
	if (ev->pid != c->runner_pid || ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU] != c->runner_vcpu ||
	    ev->f[HV_F_KVMPPC_RUN_CORE_TGID] != c->runner_tgid)
		guard(rp, cpu, c->st_core, CE_EXIT, ev, "Exit (task %lld, runner_vcpu %lld) differs from its Enter "
		      "(task %lld)", ev->pid, ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU], c->runner_pid);
	/* per vcore group: did every exited vcpu cede (or leave for the host)? A piggybacked
	 * vcore left all ceded is parked (post_guest_process) and its own runner may block on
	 * it next (spec §2.6, §2.3), so every group feeds the block monitor, not only the master */
	uint8_t ceded[RP_MAXB], any[RP_MAXB];
	memset(ceded, 1, sizeof ceded);
	memset(any, 0, sizeof any);
	for (int i = 0; i < c->nb; i++) {
		struct rp_entry *e = &c->b[i];
		struct rp_vcpu *v = e->tgid >= 0 ? rp_vcpu_find(rp, e->tgid, e->id) : NULL;
		if (!e->exited && v) {
			v->win_exit_seq = ev->seq;
			v->win_cpu = cpu;
			rp_guest_feed(rp, v, RP_G_WIN_CLOSE, ev);
		}
		if (e->exited) {
			any[e->grp % RP_MAXB] = 1;
			if (!e->exit_ceded && resume_trap(e->exit_trap))
				ceded[e->grp % RP_MAXB] = 0;
		}
	}
	for (int i = 0; i < c->nb; i++) {
		struct rp_entry *e = &c->b[i];
		struct rp_vcpu *v = e->tgid >= 0 ? rp_vcpu_find(rp, e->tgid, e->id) : NULL;
		int g = e->grp % RP_MAXB;
		if (v)
			rp_block_window(rp, v, ceded[g] && any[g] ? RP_B_WIN_EXIT_CEDED : RP_B_WIN_EXIT_BUSY, ev);
	}
	write_run(rp, cpu, c, ev);
	c->nb = 0;
}

/* The not yet exited entry for vcpu id k in the lowest group, -1 if none. */
static int find_exit_entry(const struct rp_cpu *c, int32_t k)
{
	int hit = -1;
	for (int i = 0; i < c->nb; i++)
		if (!c->b[i].exited && c->b[i].id == k && (hit < 0 || c->b[i].grp < c->b[hit].grp))
			hit = i;
	return hit;
}

/* The one vcpu with id k left stranded by a window on CPU cpu (NULL if none or several). */
static struct rp_vcpu *stranded_on(struct rp *rp, int cpu, int32_t k)
{
	struct rp_vcpu *v, *found = NULL;
	for (int i = 0; (v = rp_pool_at(&rp->vcpu_pool, i)) != NULL; i++)
		if (v->id == k && v->win_cpu == cpu && rp_vcpu_stranded(v)) {
			if (found)
				return NULL;
			found = v;
		}
	return found;
}

/* Hand the guest run of entry e, ended by exit ev, to the tap (hvtrace derive). */
static void tap_run(struct rp *rp, int cpu, const struct rp_entry *e, const struct rp_ev *ev)
{
	if (!rp->tap || !rp->tap->guest_run)
		return;
	struct hv_replay_grun r = {
		.tgid = e->tgid, .vcpu_id = e->id, .cpu = cpu, .hw = e->hw, .core_run_id = rp->cpus[cpu].run_id,
		.enter_seq = e->seq, .enter_ts = e->ts, .exit_seq = ev->seq, .exit_ts = ev->ts,
		.trap = e->exit_trap, .ceded = e->exit_ceded, .enter_ceded = e->enter_ceded, .late_join = e->late,
	};
	rp->tap->guest_run(rp->tap->ctx, &r);
}

static void guest_exit(struct rp *rp, int cpu, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[cpu];
	int32_t k = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_VCPU_ID];
	int32_t trap = (int32_t)ev->f[HV_F_KVM_GUEST_EXIT_TRAP];
	int s = c->st_core;
	if (s == C_UNKNOWN || s == C_IDLE || s == C_BURST) {
		struct rp_task *t = rp_task_find(rp, ev->pid);
		struct rp_vcpu *v = t && t->tgid >= 0 ? rp_vcpu_find(rp, t->tgid, k) : NULL;
		step(rp, cpu, CE_G_EXIT, ev, NULL);
		if (s == C_UNKNOWN && t && t->tgid >= 0)
			drop_candidates(rp, t->tgid, k, cpu);
		if (v && s == C_UNKNOWN)
			v->st_guest = RP_UNKNOWN;
		else if (v && s == C_IDLE)
			rp_guest_feed(rp, v, RP_G_EXIT, ev);
		if (s == C_BURST)
			forget_burst_vcpus(rp, c);
		return;
	}
	/* Which vcpu k: the ids of different VMs may be equal, and post_guest_process reports
	 * the vcores in subcore order (master first), so the entry of the lowest group not yet
	 * exited; a late joiner still pending on its own CPU competes with the group of its
	 * vcore (its kvm_guest_enter was on its CPU, its exit comes here). */
	int hit = find_exit_entry(c, k);
	for (int d = 0; d < rp->ncpus; d++) {
		struct rp_cpu *p = &rp->cpus[d];
		struct rp_task *t = p->used && (p->st_core == C_BURST || p->st_core == C_UNKNOWN) && p->nb == 1
			? rp_task_find(rp, p->b[0].pid) : NULL;
		if (d == cpu || !t || p->b[0].id != k || t->vcpu != k)
			continue;
		struct rp_entry pe = p->b[0];
		pe.tgid = t->tgid;
		int g = vcore_grp(rp, c, &pe);
		if (g < 0 || (pe.late_cpu >= 0 && pe.late_cpu != cpu))
			continue;
		if (hit < 0 || g < c->b[hit].grp) {
			late_join(rp, d, cpu);
			c = &rp->cpus[cpu];
			hit = find_exit_entry(c, k);
		}
		break;
	}
	/* the late exit of a vcpu whose earlier window on this CPU closed without it: one fault
	 * (item 10), reported once, by vcpu_guest, here; this window's exits have not begun */
	struct rp_vcpu *sv = hit < 0 && trap != 0 ? stranded_on(rp, cpu, k) : NULL;
	if (!c->first_exit_seq && !sv)
		c->first_exit_seq = ev->seq;
	if (hit < 0) {
		step(rp, cpu, CE_G_EXIT, ev, NULL);
		rp_checked(rp, RP_MON_CORE_WINDOW);
		if (sv)
			rp_guest_feed(rp, sv, RP_G_EXIT, ev);
		else if (trap != 0)
			guard(rp, cpu, s, CE_G_EXIT, ev, "kvm_guest_exit(trap 0x%llx) for vcpu %lld, which was not entered in "
			      "this window (only a vcpu that became runnable during the exit may show trap 0)", trap, k, 0);
		return;
	}
	struct rp_entry *e = &c->b[hit];
	e->exited = 1;
	e->exit_trap = trap;
	e->exit_ceded = ev->f[HV_F_KVM_GUEST_EXIT_CEDED] != 0;
	if (!e->late && e->grp < c->last_exit_grp)
		guard(rp, cpu, s, CE_G_EXIT, ev, "exit of vcore group %lld after group %lld: post_guest_process handles "
		      "the master vcore first, then the subcores in order", e->grp, c->last_exit_grp, 0);
	if (!e->late && e->grp > c->last_exit_grp)
		c->last_exit_grp = e->grp;
	step(rp, cpu, CE_G_EXIT, ev, NULL);
	tap_run(rp, cpu, e, ev);
	struct rp_vcpu *v = e->tgid >= 0 ? rp_vcpu_find(rp, e->tgid, e->id) : NULL;
	if (v)
		rp_guest_feed(rp, v, RP_G_EXIT, ev);
}

static void guest_enter(struct rp *rp, int cpu, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[cpu];
	int32_t k = (int32_t)ev->f[HV_F_KVM_GUEST_ENTER_VCPU_ID];
	struct rp_task *t = rp_task_find(rp, ev->pid);
	int s = c->st_core;
	if ((s == C_BURST || s == C_UNKNOWN) && c->nb && c->burst_pid != ev->pid)
		interrupt_burst(rp, cpu, ev);
	c = &rp->cpus[cpu];
	s = c->st_core;
	step(rp, cpu, CE_G_ENTER, ev, NULL);
	if (s == C_UNKNOWN) {
		/* keep it: it may still turn out to be a late join (which resynchronises this CPU) */
		struct rp_vcpu *v = t && t->tgid >= 0 ? rp_vcpu_find(rp, t->tgid, k) : NULL;
		if (v && !(c->nb == 0 && t->vcpu == k))
			v->st_guest = RP_UNKNOWN;
		if (c->burst_pid != ev->pid)
			c->nb = 0;
	} else if (c->st_core != C_BURST) {
		return;
	}
	if (s == C_IDLE || (s == C_UNKNOWN && c->nb == 0)) {
		c->nb = 0;
		c->overflow = 0;
		c->burst_pid = ev->pid;
	}
	if (c->nb >= RP_MAXB) {
		c->overflow = 1;
		return;
	}
	struct rp_entry *e = &c->b[c->nb++];
	memset(e, 0, sizeof *e);
	e->tgid = -1;
	e->id = k;
	e->pid = ev->pid;
	e->seq = ev->seq;
	e->ts = ev->ts;
	e->hw = -1;
	e->lpid = -1;
	e->first = -1;
	e->late_cpu = -1;
	e->enter_ceded = ev->f[HV_F_KVM_GUEST_ENTER_CEDED] != 0;
	if (c->place.valid && c->place.pid == ev->pid && c->place.vcpu == k) {
		e->placed = 1;
		e->lpid = c->place.lpid;
		e->first = c->place.first;
		e->late_cpu = c->place.late_cpu;
	}
	c->place.valid = 0;
	if (t) {
		if (c->nb == 1 && t->vcpu == k)
			t->pend_cpu = cpu;
		else
			t->pend_cpu = -1;
	}
}

static void run_core(struct rp *rp, int cpu, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[cpu];
	int s = c->st_core;
	if (s == C_UNKNOWN)
		rp_block_forget_vm(rp, (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID]);
	if (ev->f[HV_F_KVMPPC_RUN_CORE_WHERE] == 0) {
		struct rp_task *t = rp_task_find(rp, ev->pid);
		if (t)
			t->pend_cpu = -1;
		step(rp, cpu, CE_ENTER, ev, NULL);
		if (s == C_BURST && c->st_core == C_RUN) {
			c->runner_pid = ev->pid;
			c->runner_tgid = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID];
			c->runner_vcpu = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_RUNNER_VCPU];
			c->n_runnable = (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_N_RUNNABLE];
			c->enter_seq = ev->seq;
			c->enter_ts = ev->ts;
			c->first_exit_seq = 0;
			c->last_exit_grp = 0;
			c->run_id = ++rp->next_run_id;
			process_burst(rp, cpu, ev);
		} else {
			forget_burst_vcpus(rp, &rp->cpus[cpu]);
		}
		return;
	}
	if (s == C_IDLE) {	/* S8: a lone Exit; the runner's kvmppc_run_vcpu_exit must say -EBUSY */
		struct rp_task *t = rp_task_find(rp, ev->pid);
		if (t)
			t->ebusy_cpu = cpu;
	}
	if (s == C_RUN || s == C_EXITING)
		close_window(rp, cpu, ev);
	else if (s != C_IDLE)
		forget_burst_vcpus(rp, &rp->cpus[cpu]);
	if (s == C_UNKNOWN)
		drop_candidates(rp, (int32_t)ev->f[HV_F_KVMPPC_RUN_CORE_TGID], -1, cpu);
	step(rp, cpu, CE_EXIT, ev, NULL);
}

void rp_mon_core(struct rp *rp, const struct rp_ev *ev)
{
	int cpu = ev->cpu;
	struct rp_cpu *c = &rp->cpus[cpu];
	int continues = (ev->id == HV_EV_KVM_GUEST_ENTER ||
			 (ev->id == HV_EV_KVMPPC_RUN_CORE && ev->f[HV_F_KVMPPC_RUN_CORE_WHERE] == 0)) &&
			ev->pid == c->burst_pid;
	/* a pending burst on this CPU, or of this task elsewhere, ends unless ev continues it; a
	 * kvm_guest_exit inside a burst is itself the violation (guest_exit reports it there) */
	if ((c->st_core == C_BURST || c->st_core == C_UNKNOWN) && c->nb && !continues &&
	    ev->id != HV_EV_KVM_GUEST_ENTER && !(ev->id == HV_EV_KVM_GUEST_EXIT && c->st_core == C_BURST))
		interrupt_burst(rp, cpu, ev);
	struct rp_task *t = ev->pid > 0 ? rp_task_find(rp, ev->pid) : NULL;
	if (t && t->pend_cpu >= 0 && t->pend_cpu != cpu)
		interrupt_burst(rp, t->pend_cpu, ev);
	struct rp_vcpu *v;
	switch (ev->id) {
	case HV_EV_KVM_GUEST_ENTER:
		if (t && t->ebusy_cpu >= 0) {
			rp_checked(rp, RP_MON_CORE_WINDOW);
			rp_violate(rp, RP_MON_CORE_WINDOW, cpu_obj(t->ebusy_cpu), cstates[C_IDLE], "kvm_guest_enter", ev,
				   "after a kvmppc_run_core Exit without Enter (S8: -EBUSY) the runner must leave "
				   "kvmppc_run_vcpu, not run the vcore");
			t->ebusy_cpu = -1;
		}
		guest_enter(rp, cpu, ev);
		break;
	case HV_EV_KVM_GUEST_EXIT:
		guest_exit(rp, cpu, ev);
		break;
	case HV_EV_KVMPPC_RUN_CORE:
		run_core(rp, cpu, ev);
		break;
	case HV_EV_KVMPPC_RUN_VCPU_ENTER:
		v = rp_vcpu_find(rp, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_TGID],
				 (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_ENTER_VCPU_ID]);
		if (v)
			rp_guest_feed(rp, v, RP_G_RUN_ENTER, ev);
		break;
	case HV_EV_KVMPPC_RUN_VCPU_EXIT:
		if (t && t->ebusy_cpu >= 0) {
			rp_checked(rp, RP_MON_CORE_WINDOW);
			if (ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_RET] != -16)
				rp_violate(rp, RP_MON_CORE_WINDOW, cpu_obj(t->ebusy_cpu), cstates[C_IDLE], "kvmppc_run_vcpu_exit",
					   ev, "after a kvmppc_run_core Exit without Enter (S8: not on a primary thread, -EBUSY) "
					   "the runner's kvmppc_run_vcpu_exit must have ret=-16, not %d",
					   (int)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_RET]);
			t->ebusy_cpu = -1;
		}
		v = t && t->tgid >= 0 ? rp_vcpu_find(rp, t->tgid, (int32_t)ev->f[HV_F_KVMPPC_RUN_VCPU_EXIT_VCPU_ID]) : NULL;
		if (v)
			rp_guest_feed(rp, v, RP_G_RUN_EXIT, ev);
		break;
	default:
		break;
	}
}

/* kvmhv_vcpu_place (decision events, spec §6.2 #1) comes right before the kvm_guest_enter it
 * describes, from the same task on the same CPU: keep its VM (lpid) and vcore (first id). */
void rp_core_place(struct rp *rp, const struct rp_ev *ev)
{
	struct rp_cpu *c = &rp->cpus[ev->cpu];
	c->place.valid = 1;
	c->place.pid = ev->pid;
	c->place.vcpu = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_VCPU_ID];
	c->place.first = (int32_t)ev->f[HV_F_KVMHV_VCPU_PLACE_VCORE_FIRST_ID];
	c->place.lpid = ev->f[HV_F_KVMHV_VCPU_PLACE_LPID];
	c->place.late_cpu = -1;
	if (ev->f[HV_F_KVMHV_VCPU_PLACE_LATE_JOIN]) {
		/* hw_cpu = the subcore's first thread + ptid; the window is on the core's thread 0
		 * ({0,4,2,6}[sub] on a dynamically split POWER8; the subcore itself otherwise) */
		int sub = (int)ev->f[HV_F_KVMHV_VCPU_PLACE_SUB];
		int64_t w = ev->f[HV_F_KVMHV_VCPU_PLACE_HW_CPU] - ev->f[HV_F_KVMHV_VCPU_PLACE_PTID];
		if (sub > 0 && sub < 4)
			w -= rp->chip == 9 ? sub : subcore_first[sub];
		c->place.late_cpu = w >= 0 && w < rp->ncpus ? (int32_t)w : -1;
	}
}
