"""Test fixture: add the derived tables of db/README.md to a small real store.

The derived tables are written by C code (hvtrace derive / replay / whatif); the report only
reads them, so its tests build them here, following the contract in db/README.md column by
column, with plausible content: three VMs (one 4-vcpu vcore, two 2-vcpu vcores, four 1-vcpu
vcores) on four POWER8 cores for three seconds (the middle second the busiest), windows in
every split mode (and a few with split unknown or the runner's VM ambiguous), late joins,
ceded exits, virtual-mode hcalls, poll and sleep blocks, dispatch waits, 60 violations and a
what-if table. Deterministic (fixed seed). Uses nothing from analyze/.
"""
import random
import sqlite3

TPC = 8
CORES = [0, 8, 16, 24]
T0 = 1_000_000_000          # the demo database's first event
SECONDS = 3
# VM tgid -> list of vcores, each a list of vcpu ids
VMS = {
    5100: [[0, 1, 2, 3]],
    5200: [[0, 1], [2, 3]],
    5300: [[0], [1], [2], [3]],
}
TASK_NAMES = {5100: "qemu-system-ppc64", 5200: "guest b vmm"}  # 5300 has no task row
TRAPS = [(0x980, 40), (0xc00, 20), (0x500, 10), (0x900, 8), (0xe40, 5), (0x0, 10), (0xa00, 5), (0xf80, 2)]
HCALLS = [(0xE0, 30), (0xE8, 25), (0x24, 20), (0x58, 10), (0x104, 10), (0x7777, 5)]
MONITORS = ["gang_exit", "split_legal", "runner_elect"]

DDL = """
CREATE TABLE core_run(id INTEGER PRIMARY KEY, cpu INTEGER, runner_pid INTEGER, tgid INTEGER,
  runner_vcpu INTEGER, enter_seq INTEGER, exit_seq INTEGER, start_ts INTEGER, end_ts INTEGER,
  n_runnable INTEGER, n_vcpus INTEGER, n_vcores INTEGER, n_vms INTEGER, split INTEGER,
  threads_used INTEGER, threads_avail INTEGER, piggybacked INTEGER);
CREATE TABLE core_run_vcpu(core_run_id INTEGER, tgid INTEGER, vcpu_id INTEGER, grp INTEGER,
  hw_thread INTEGER, late_join INTEGER);
CREATE TABLE vcpu_run(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu_id INTEGER, cpu INTEGER,
  hw_thread INTEGER, core_run_id INTEGER, start_ts INTEGER, end_ts INTEGER, enter_seq INTEGER,
  exit_seq INTEGER, trap INTEGER, ceded INTEGER, late_join INTEGER);
CREATE TABLE hcall(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu_id INTEGER, pid INTEGER, cpu INTEGER,
  req INTEGER, start_ts INTEGER, end_ts INTEGER, ret INTEGER, hcall_rc INTEGER);
CREATE TABLE vcore_block(id INTEGER PRIMARY KEY, tgid INTEGER, runner_vcpu INTEGER, pid INTEGER,
  cpu INTEGER, start_ts INTEGER, end_ts INTEGER, ns INTEGER, waited INTEGER);
CREATE TABLE vcpu_wait(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu_id INTEGER, start_ts INTEGER,
  end_ts INTEGER);
CREATE TABLE violation(id INTEGER PRIMARY KEY, monitor TEXT, object TEXT, state TEXT, seq INTEGER,
  ts INTEGER, cpu INTEGER, pid INTEGER, message TEXT);
CREATE TABLE whatif(setting TEXT, dynamic_mt_modes INTEGER, target_smt INTEGER, throughput REAL,
  core_util REAL, wait_p50_us REAL, wait_p99_us REAL, share_whole REAL, share_2way REAL,
  share_4way REAL, exits_per_s REAL, baseline INTEGER);
"""

SUBCORE_FIRST = [0, 4, 2, 6]


def pick(rng, weighted):
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def vcores():
    return [(tgid, vc) for tgid, vcs in VMS.items() for vc in vcs]


def plan_window(rng):
    """Choose the vcores of one window and the split mode they need (spec §2.5 table)."""
    allv = vcores()
    mode = rng.choices(["whole", "2way", "4way"], weights=[45, 35, 20])[0]
    if mode == "whole":
        return 1, [rng.choice(allv)]
    if mode == "2way":
        small = [v for v in allv if len(v[1]) <= 4]
        a, b = rng.sample(small, 2)
        return 2, [a, b]
    tiny = [v for v in allv if len(v[1]) <= 2]
    n = rng.randint(2, 4)
    return 4, rng.sample(tiny, n)


def add_derived(path, seed=6):
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.executescript(DDL)
    seq = 10_000
    cr_id = vr_id = hc_id = 0
    for core in CORES:
        t = T0 + rng.randint(0, 200_000)
        while t < T0 + SECONDS * 1_000_000_000:
            busy = (t - T0) // 1_000_000_000 == 1 or core == 0
            split, group = plan_window(rng)
            length = rng.randint(20_000, 900_000 if busy else 400_000)
            start, end = t, t + length
            cr_id += 1
            runner_tgid, runner_vc = group[0]
            ambiguous = rng.random() < 0.02
            unknown_split = rng.random() < 0.02
            used = sum(len(vc) for _, vc in group)
            avail = TPC if split in (1, 2) else 2 * len(group)
            db.execute("INSERT INTO core_run VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (cr_id, core, runner_tgid + 1 + runner_vc[0], None if ambiguous else runner_tgid,
                        runner_vc[0], seq, seq + 2 * used + 1, start, end, used, used, len(group),
                        len({g[0] for g in group}), None if unknown_split else split, used, avail,
                        len(group) - 1))
            seq += 2 * used + 2
            for grp, (tgid, vc) in enumerate(group):
                first = SUBCORE_FIRST[grp] if split > 1 else 0
                for k, vcpu in enumerate(vc):
                    hw = core + first + k
                    late = 1 if (grp == 0 and k > 0 and rng.random() < 0.05) else 0
                    vs = start + (rng.randint(1_000, length // 2) if late else 0)
                    trap = pick(rng, TRAPS)
                    ceded = 1 if rng.random() < 0.12 else 0
                    attributed = None if (ambiguous and grp > 0) else tgid
                    db.execute("INSERT INTO core_run_vcpu VALUES (?,?,?,?,?,?)",
                               (cr_id, attributed, vcpu, grp, hw, late))
                    vr_id += 1
                    db.execute("INSERT INTO vcpu_run VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               (vr_id, attributed, vcpu, core, None if rng.random() < 0.01 else hw, cr_id,
                                vs, end, seq, seq + 1, trap, ceded, late))
                    seq += 2
                    if trap == 0xc00 and rng.random() < 0.6:
                        hc_id += 1
                        hs = end + rng.randint(500, 3_000)
                        db.execute("INSERT INTO hcall VALUES (?,?,?,?,?,?,?,?,?,?)",
                                   (hc_id, tgid, vcpu, tgid + 1 + vcpu, core + 1, pick(rng, HCALLS), hs,
                                    hs + rng.randint(800, 60_000), 0, 0))
            t = end + rng.randint(3_000, 60_000 if busy else 500_000)
    add_blocks_waits(db, rng)
    add_violations(db, rng)
    add_whatif(db)
    add_tasks_cede(db, rng)
    db.commit()
    db.close()


def add_blocks_waits(db, rng):
    bid = wid = 0
    for tgid, vcs in VMS.items():
        for vc in vcs:
            for _ in range(40 + 20 * len(vc)):
                bid += 1
                s = T0 + rng.randint(0, SECONDS * 1_000_000_000)
                waited = 1 if rng.random() < 0.4 else 0
                ns = rng.randint(200_000, 6_000_000) if waited else rng.randint(500, 90_000)
                db.execute("INSERT INTO vcore_block VALUES (?,?,?,?,?,?,?,?,?)",
                           (bid, tgid, vc[0], tgid + 1 + vc[0], rng.choice(CORES), s, s + ns, ns, waited))
            for vcpu in vc:
                for _ in range(150):
                    wid += 1
                    s = T0 + rng.randint(0, SECONDS * 1_000_000_000)
                    d = int(rng.lognormvariate(9.5 + (tgid - 5100) / 200, 1.2))
                    db.execute("INSERT INTO vcpu_wait VALUES (?,?,?,?,?)", (wid, tgid, vcpu, s, s + d))
    for i in range(25):  # waits of vcpus whose VM could not be attributed
        wid += 1
        s = T0 + rng.randint(0, SECONDS * 1_000_000_000)
        db.execute("INSERT INTO vcpu_wait VALUES (?,?,?,?,?)", (wid, None, i % 4, s, s + rng.randint(1_000, 400_000)))


def add_violations(db, rng):
    for i in range(60):
        m = MONITORS[i % 3] if i % 5 else MONITORS[0]
        s = 20_000 + rng.randint(0, 900_000)
        db.execute("INSERT INTO violation(monitor, object, state, seq, ts, cpu, pid, message)"
                   " VALUES (?,?,?,?,?,?,?,?)",
                   (m, f"vcpu 5100/{i % 4}", "IN_GUEST" if i % 2 else "RUNNABLE", s,
                    T0 + s * 1000, rng.choice(CORES), 5101 + i % 4,
                    f"event seq {s}: exit  of vcpu {i % 4} while <not> in a window & late"))


def add_whatif(db):
    rows = [("recorded (mt_modes=6)", 6, 8, 3.4121, 0.6412, 41.25, 812.5, 0.45, 0.35, 0.20, 18234.5, 1),
            ("dynamic_mt_modes=0", 0, 8, 2.9011, 0.5501, 95.0, 2210.25, 1.0, 0.0, 0.0, 16020.0, 0),
            ("dynamic_mt_modes=2", 2, 8, 3.3015, 0.6233, 48.5, 901.0, 0.58, 0.42, 0.0, 17800.25, 0),
            ("dynamic_mt_modes=4", 4, 8, 3.2502, 0.6190, 50.125, 950.0, 0.6, 0.0, 0.4, 17650.0, 0)]
    db.executemany("INSERT INTO whatif VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def add_tasks_cede(db, rng):
    for tgid, name in TASK_NAMES.items():
        db.execute("INSERT OR REPLACE INTO task(pid, tgid, comm, ts) VALUES (?,?,?,?)", (tgid, tgid, name, 0))
    for tgid, vcs in VMS.items():
        for vc in vcs:
            for v in vc:
                db.execute("INSERT OR REPLACE INTO task(pid, tgid, comm, ts) VALUES (?,?,?,?)",
                           (tgid + 1 + v, tgid, f"CPU {v}/KVM", 0))
    seq = db.execute("SELECT max(seq) FROM kvm_hv__kvm_guest_exit").fetchone()[0]
    ts = db.execute("SELECT max(ts) FROM kvm_hv__kvm_guest_exit").fetchone()[0]
    n = 0
    for i in range(30):
        n += 1
        db.execute("INSERT INTO kvm_hv_sched__kvmhv_cede(seq, ts, cpu, pid, lpid, vcpu_id, path, outcome,"
                   " last_wake_reason, n_cedes, n_naps, dec_expires) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (seq + 1000 + i, ts + 1000 * (i + 1), 0, 4101, 1, i % 2, 0, [0, 0, 0, 1, 2][i % 5], 0,
                    i, i, 0))
    db.execute("UPDATE event_type SET count = count + ? WHERE tbl = 'kvm_hv_sched__kvmhv_cede'", (n,))
