"""The report's tables: each one simple, documented SQL query on the store, nothing else.

Every number the report prints (index.html tables and summary.txt) comes from a function in
this file, and each function says the query it runs, so that anyone can recompute a number
with `hvtrace sql DB '...'` (tests/py/test_report.py does, with its own queries). Durations
are ns in the store; the tables show ms (3 decimals) or µs (1 decimal). Percentiles are
nearest-rank: p-th percentile of n sorted values = the value at 0-based index
ceil(p*n/100) - 1, i.e. `ORDER BY d LIMIT 1 OFFSET ceil(p*n/100)-1`.

A Table has a key (its HTML id is `t-<key>`), a title, columns and rows of raw values with a
format per column; a missing or empty source table gives a Table with `nodata` set to the
sentence the report shows instead ("no data: run hvtrace derive", ...).
"""
import hvdb

NODATA_DERIVE = "no data: {tbl} is missing or empty (run hvtrace derive DB)"
NODATA_REPLAY = "no data: violation is missing or empty (run hvtrace replay DB, or it found nothing)"
NODATA_WHATIF = "no data: whatif is missing or empty (run hvtrace whatif DB)"

SPLIT_LABEL = {1: "whole", 2: "2-way", 4: "4-way"}
BLOCK_LABEL = {0: "poll/immediate", 1: "slept"}


class Table:
    """One table of the report: columns [(name, fmt)], rows of raw values.

    fmt: 'int', 'hex' (0x..), 'str', 'f1'/'f2'/'f3'/'f6' (fixed decimals), 'auto' (int as
    int, float with 4 decimals, text as is). A cell may also be a Cell to override the
    column's format (key/value tables)."""

    def __init__(self, key, title, cols, note=""):
        self.key, self.title, self.cols, self.note = key, title, cols, note
        self.rows = []
        self.nodata = None
        self.warning = None   # the source table does not follow db/README.md

    def add(self, *vals):
        assert len(vals) == len(self.cols)
        self.rows.append(list(vals))

    def text_rows(self):
        """Rows as formatted strings."""
        out = []
        for r in self.rows:
            out.append([fmt_cell(v, c[1]) for v, c in zip(r, self.cols)])
        return out


class Cell:
    def __init__(self, value, fmt):
        self.value, self.fmt = value, fmt


def fmt_cell(v, fmt):
    if isinstance(v, Cell):
        return fmt_cell(v.value, v.fmt)
    if v is None:
        return "-"
    if fmt == "int":
        return str(int(v))
    if fmt == "hex":
        return "0x%x" % (int(v) & 0xFFFFFFFFFFFFFFFF)
    if fmt.startswith("f") and fmt[1:].isdigit():
        return "%.*f" % (int(fmt[1:]), float(v))
    if fmt == "auto":
        if isinstance(v, bool) or isinstance(v, int):
            return str(int(v))
        if isinstance(v, float):
            return "%.4f" % v
        if isinstance(v, bytes):
            return v.hex()
    s = " ".join(str(v).split())  # one line, single spaces: summary.txt splits on 2+ spaces
    return s if s else "-"


def pct(part, whole):
    return None if not whole else 100.0 * part / whole


def ms(ns):
    return None if ns is None else ns / 1e6


def us(ns):
    return None if ns is None else ns / 1e3


def percentile(db, sql, params, p):
    """Nearest-rank p-th percentile of the one-column query `sql` (see the file comment):
    SELECT count(*) FROM (sql); SELECT d FROM (sql) ORDER BY 1 LIMIT 1 OFFSET ceil(p*n/100)-1."""
    n = hvdb.scalar(db, f"SELECT count(*) FROM ({sql})", params)
    if not n:
        return None
    k = max(1, -(-p * n // 100)) - 1
    return hvdb.scalar(db, f"SELECT * FROM ({sql}) ORDER BY 1 LIMIT 1 OFFSET ?", tuple(params) + (k,))


def vm_name(db, tgid):
    """Name of a VM: `SELECT comm FROM task WHERE pid = tgid ORDER BY ts DESC LIMIT 1`."""
    if tgid is None:
        return "unattributed"
    if not hvdb.has_table(db, "task"):
        return "-"
    c = hvdb.scalar(db, "SELECT comm FROM task WHERE pid = ? ORDER BY ts DESC LIMIT 1", (tgid,))
    return c if c else "-"


def missing_columns(db, tbl, cols):
    """The columns of `cols` that table `tbl` lacks (it exists)."""
    have = set(hvdb.columns(db, tbl))
    return [c for c in cols if c not in have]


def need(db, t, tbl, cols, msg=NODATA_DERIVE):
    """Mark t as no-data when `tbl` is missing or empty, or lacks a column of the contract in
    db/README.md (then t.warning says which); return True when it can be read."""
    if not hvdb.has_rows(db, tbl):
        t.nodata = msg.format(tbl=tbl)
        return False
    miss = missing_columns(db, tbl, cols)
    if miss:
        t.warning = f"{tbl} lacks column(s) {', '.join(miss)} of db/README.md"
        t.nodata = f"no data: {t.warning} (rebuild it with this hvtrace's derive/replay/whatif)"
        return False
    return True


def trace_table(db, info):
    """Trace: events = SELECT sum(count) FROM event_type; types with events = SELECT count(*)
    FROM event_type WHERE count > 0; first/last event = min/max of ts over the event tables
    (each read as `ORDER BY seq LIMIT 1`, seq order being time order); lost events =
    SELECT coalesce(sum(count), 0) FROM lost; threads per core = meta 'threads_per_core'."""
    t = Table("trace", "Trace", [("item", "str"), ("value", "auto")])
    if hvdb.has_table(db, "event_type"):
        t.add("events", hvdb.scalar(db, "SELECT coalesce(sum(count), 0) FROM event_type"))
        t.add("event types with events", hvdb.scalar(db, "SELECT count(*) FROM event_type WHERE count > 0"))
    if info["t0"] is not None:
        t.add("first event (s)", Cell(info["t0"] / 1e9, "f6"))
        t.add("last event (s)", Cell(info["t1"] / 1e9, "f6"))
        t.add("span (s)", Cell((info["t1"] - info["t0"]) / 1e9, "f6"))
    if hvdb.has_table(db, "lost"):
        t.add("lost events", hvdb.scalar(db, "SELECT coalesce(sum(count), 0) FROM lost"))
    if info["tpc_meta"] is not None:
        t.add("threads per core", Cell(info["tpc_meta"], "int"))
    return t


def trace_span(db):
    """(first ts, last ts) over all event tables, or (None, None)."""
    lo = hi = None
    for tbl in hvdb.event_tables(db):
        q = hvdb.quote_ident(tbl)
        a = hvdb.scalar(db, f'SELECT ts FROM "{q}" ORDER BY seq LIMIT 1')
        if a is None:
            continue
        b = hvdb.scalar(db, f'SELECT ts FROM "{q}" ORDER BY seq DESC LIMIT 1')
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    return lo, hi


def vms_table(db):
    """Virtual machines: SELECT tgid, count(DISTINCT vcpu_id), count(*), sum(end_ts - start_ts)
    FROM vcpu_run GROUP BY tgid ORDER BY tgid; share = guest time / SELECT sum(end_ts -
    start_ts) FROM vcpu_run."""
    t = Table("vms", "Virtual machines (guest runs)", [
        ("tgid", "int"), ("name", "str"), ("vcpus", "int"), ("guest runs", "int"),
        ("guest time ms", "f3"), ("guest time %", "f2")])
    if not need(db, t, "vcpu_run", ("tgid", "vcpu_id", "start_ts", "end_ts")):
        return t
    total = hvdb.scalar(db, "SELECT sum(end_ts - start_ts) FROM vcpu_run")
    for tgid, nv, n, g in hvdb.rows(db, "SELECT tgid, count(DISTINCT vcpu_id), count(*), sum(end_ts - start_ts)"
                                    " FROM vcpu_run GROUP BY tgid ORDER BY tgid"):
        t.add(tgid, vm_name(db, tgid), nv, n, ms(g), pct(g, total))
    return t


def split_table(db):
    """Split modes: SELECT split, count(*), sum(end_ts - start_ts) FROM core_run GROUP BY split;
    shares are of SELECT count(*), sum(end_ts - start_ts) FROM core_run. Whole, 2-way and 4-way
    are always listed; 'unknown' (split NULL or another value) only when present."""
    t = Table("split", "Split modes of kvmppc_run_core windows", [
        ("mode", "str"), ("windows", "int"), ("windows %", "f2"),
        ("core time ms", "f3"), ("core time %", "f2")])
    if not need(db, t, "core_run", ("split", "start_ts", "end_ts")):
        return t
    n_all, d_all = hvdb.rows(db, "SELECT count(*), sum(end_ts - start_ts) FROM core_run")[0]
    got = {s: (n, d) for s, n, d in hvdb.rows(
        db, "SELECT split, count(*), sum(end_ts - start_ts) FROM core_run GROUP BY split")}
    for s in (1, 2, 4):
        n, d = got.pop(s, (0, 0))
        t.add(SPLIT_LABEL[s], n, pct(n, n_all), ms(d), pct(d, d_all))
    if got:
        n = sum(v[0] for v in got.values())
        d = sum(v[1] or 0 for v in got.values())
        t.add("unknown", n, pct(n, n_all), ms(d), pct(d, d_all))
    return t


def cores_table(db):
    """Core windows: windows = SELECT count(*) FROM core_run; core time = sum(end_ts -
    start_ts); occupancy = 100.0 * sum(threads_used * (end_ts - start_ts)) / sum(threads_avail
    * (end_ts - start_ts)); piggybacked = 100.0 * sum(piggybacked > 0) / count(*); mean vcores
    = avg(n_vcores); late joins = SELECT count(*) FROM vcpu_run WHERE late_join = 1."""
    t = Table("cores", "Core windows", [("item", "str"), ("value", "auto")])
    if not need(db, t, "core_run", ("start_ts", "end_ts", "threads_used", "threads_avail", "piggybacked", "n_vcores")):
        return t
    n, d, used, avail, pig, nvc = hvdb.rows(
        db, "SELECT count(*), sum(end_ts - start_ts), sum(threads_used * (end_ts - start_ts)),"
        " sum(threads_avail * (end_ts - start_ts)), sum(piggybacked > 0), avg(n_vcores) FROM core_run")[0]
    t.add("windows", Cell(n, "int"))
    t.add("core time (ms)", Cell(ms(d), "f3"))
    t.add("thread occupancy, time-weighted (%)", Cell(pct(used, avail), "f2"))
    t.add("windows with piggybacked vcores (%)", Cell(pct(pig, n), "f2"))
    t.add("vcores per window (mean)", Cell(nvc, "f3"))
    if hvdb.has_table(db, "vcpu_run") and not missing_columns(db, "vcpu_run", ("late_join",)):
        t.add("late-joining guest runs", Cell(hvdb.scalar(db, "SELECT count(*) FROM vcpu_run WHERE late_join = 1"), "int"))
    return t


def occupancy_table(db):
    """Occupancy histogram: SELECT threads_used, threads_avail, count(*), sum(end_ts - start_ts)
    FROM core_run GROUP BY threads_used, threads_avail ORDER BY threads_avail, threads_used."""
    t = Table("occupancy", "Hardware threads used per window", [
        ("threads used", "int"), ("threads available", "int"), ("windows", "int"),
        ("windows %", "f2"), ("core time ms", "f3"), ("core time %", "f2")])
    if not need(db, t, "core_run", ("threads_used", "threads_avail", "start_ts", "end_ts")):
        return t
    n_all, d_all = hvdb.rows(db, "SELECT count(*), sum(end_ts - start_ts) FROM core_run")[0]
    for u, a, n, d in hvdb.rows(db, "SELECT threads_used, threads_avail, count(*), sum(end_ts - start_ts)"
                                " FROM core_run GROUP BY threads_used, threads_avail"
                                " ORDER BY threads_avail, threads_used"):
        t.add(u, a, n, pct(n, n_all), ms(d), pct(d, d_all))
    return t


def wait_table(db):
    """Dispatch wait per VM, over d = end_ts - start_ts of vcpu_wait: SELECT tgid, count(*),
    sum(d), max(d) FROM vcpu_wait GROUP BY tgid ORDER BY tgid; p50/p99 nearest-rank over
    `SELECT end_ts - start_ts FROM vcpu_wait WHERE tgid IS ? AND end_ts IS NOT NULL`; last row
    'all' over every row."""
    t = Table("wait", "vCPU dispatch wait (runnable, not in the guest)", [
        ("tgid", "str"), ("name", "str"), ("intervals", "int"), ("total ms", "f3"),
        ("p50 us", "f1"), ("p99 us", "f1"), ("max us", "f1")])
    if not need(db, t, "vcpu_wait", ("tgid", "start_ts", "end_ts")):
        return t
    one = "SELECT end_ts - start_ts FROM vcpu_wait WHERE tgid IS ? AND end_ts IS NOT NULL"
    for tgid, n, tot, mx in hvdb.rows(db, "SELECT tgid, count(*), sum(end_ts - start_ts), max(end_ts - start_ts)"
                                      " FROM vcpu_wait GROUP BY tgid ORDER BY tgid"):
        t.add("-" if tgid is None else str(tgid), vm_name(db, tgid), n, ms(tot),
              us(percentile(db, one, (tgid,), 50)), us(percentile(db, one, (tgid,), 99)), us(mx))
    n, tot, mx = hvdb.rows(db, "SELECT count(*), sum(end_ts - start_ts), max(end_ts - start_ts) FROM vcpu_wait")[0]
    allq = "SELECT end_ts - start_ts FROM vcpu_wait WHERE end_ts IS NOT NULL"
    t.add("all", "-", n, ms(tot), us(percentile(db, allq, (), 50)), us(percentile(db, allq, (), 99)), us(mx))
    return t


def cede_table(db):
    """Ceded exits per VM: SELECT tgid, count(*), sum(ceded) FROM vcpu_run GROUP BY tgid
    ORDER BY tgid (a run whose exit has ceded=1 ended while the vcpu was ceded)."""
    t = Table("cede", "Guest runs ending ceded (H_CEDE) per VM", [
        ("tgid", "int"), ("name", "str"), ("guest runs", "int"), ("ceded exits", "int"), ("ceded %", "f2")])
    if not need(db, t, "vcpu_run", ("tgid", "ceded")):
        return t
    for tgid, n, c in hvdb.rows(db, "SELECT tgid, count(*), sum(ceded) FROM vcpu_run GROUP BY tgid ORDER BY tgid"):
        t.add(tgid, vm_name(db, tgid), n, c, pct(c, n))
    return t


def cede_outcome_table(db, sym):
    """H_CEDE outcomes from the decision event (only with hvtrace's kvm_hv_sched events):
    SELECT outcome, count(*) FROM kvm_hv_sched__kvmhv_cede GROUP BY outcome ORDER BY outcome."""
    tbl = "kvm_hv_sched__kvmhv_cede"
    t = Table("cede_outcome", "H_CEDE outcomes (kvm_hv_sched:kvmhv_cede: nap vs vcore exit)", [
        ("outcome", "int"), ("name", "str"), ("cedes", "int"), ("cedes %", "f2")])
    if not hvdb.has_rows(db, tbl):
        t.nodata = "no data: no kvm_hv_sched:kvmhv_cede events (recorded without hvtrace's decision tracepoints)"
        return t
    n_all = hvdb.scalar(db, f"SELECT count(*) FROM {tbl}")
    for o, n in hvdb.rows(db, f"SELECT outcome, count(*) FROM {tbl} GROUP BY outcome ORDER BY outcome"):
        t.add(o, sym.name(sym.cede_outcome, o), n, pct(n, n_all))
    return t


def block_table(db):
    """Vcore blocks by outcome: SELECT waited, count(*), sum(ns), avg(ns), max(ns) FROM
    vcore_block GROUP BY waited ORDER BY waited; p50 nearest-rank over `SELECT ns FROM
    vcore_block WHERE waited IS ? AND ns IS NOT NULL`; share of SELECT count(*) FROM vcore_block."""
    t = Table("block", "Vcore blocks (kvmppc_vcore_blocked): poll vs sleep", [
        ("outcome", "str"), ("blocks", "int"), ("blocks %", "f2"), ("total ms", "f3"),
        ("avg us", "f1"), ("p50 us", "f1"), ("max us", "f1")])
    if not need(db, t, "vcore_block", ("waited", "ns")):
        return t
    n_all = hvdb.scalar(db, "SELECT count(*) FROM vcore_block")
    for w, n, tot, avg, mx in hvdb.rows(db, "SELECT waited, count(*), sum(ns), avg(ns), max(ns)"
                                        " FROM vcore_block GROUP BY waited ORDER BY waited"):
        p50 = percentile(db, "SELECT ns FROM vcore_block WHERE waited IS ? AND ns IS NOT NULL", (w,), 50)
        t.add(BLOCK_LABEL.get(w, "unknown"), n, pct(n, n_all), ms(tot), us(avg), us(p50), us(mx))
    return t


def exits_table(db, sym):
    """Exits by trap: SELECT trap, count(*), sum(ceded), avg(end_ts - start_ts), max(end_ts -
    start_ts) FROM vcpu_run GROUP BY trap ORDER BY count(*) DESC, trap; share of SELECT
    count(*) FROM vcpu_run. Run time = guest time of the runs ending with that trap."""
    t = Table("exits", "Guest exits by trap", [
        ("trap", "hex"), ("name", "str"), ("exits", "int"), ("exits %", "f2"), ("ceded", "int"),
        ("avg run us", "f1"), ("max run us", "f1")])
    if not need(db, t, "vcpu_run", ("trap", "ceded", "start_ts", "end_ts")):
        return t
    n_all = hvdb.scalar(db, "SELECT count(*) FROM vcpu_run")
    for trap, n, c, avg, mx in hvdb.rows(db, "SELECT trap, count(*), sum(ceded), avg(end_ts - start_ts),"
                                         " max(end_ts - start_ts) FROM vcpu_run GROUP BY trap"
                                         " ORDER BY count(*) DESC, trap"):
        t.add(trap, sym.name(sym.traps, trap), n, pct(n, n_all), c, us(avg), us(mx))
    return t


def hcalls_table(db, sym):
    """Hcalls by request: SELECT req, count(*), min(d), avg(d), max(d) FROM (SELECT req,
    end_ts - start_ts AS d FROM hcall) GROUP BY req ORDER BY count(*) DESC, req; share of
    SELECT count(*) FROM hcall."""
    t = Table("hcalls", "Virtual-mode hcalls by request", [
        ("req", "hex"), ("name", "str"), ("calls", "int"), ("calls %", "f2"),
        ("min us", "f1"), ("avg us", "f1"), ("max us", "f1")])
    if not need(db, t, "hcall", ("req", "start_ts", "end_ts")):
        return t
    n_all = hvdb.scalar(db, "SELECT count(*) FROM hcall")
    for req, n, mn, avg, mx in hvdb.rows(db, "SELECT req, count(*), min(d), avg(d), max(d) FROM"
                                         " (SELECT req, end_ts - start_ts AS d FROM hcall)"
                                         " GROUP BY req ORDER BY count(*) DESC, req"):
        t.add(req, sym.name(sym.hcalls, req), n, pct(n, n_all), us(mn), us(avg), us(mx))
    return t


def violation_monitors_table(db):
    """Violations per monitor: SELECT monitor, count(*) FROM violation GROUP BY monitor
    ORDER BY count(*) DESC, monitor."""
    t = Table("viol_monitors", "Replay violations per monitor", [("monitor", "str"), ("violations", "int")])
    if not need(db, t, "violation", ("monitor",), NODATA_REPLAY):
        return t
    for m, n in hvdb.rows(db, "SELECT monitor, count(*) FROM violation GROUP BY monitor ORDER BY count(*) DESC, monitor"):
        t.add(m, n)
    return t


VIOLATION_COLS = ("id", "seq", "ts", "cpu", "pid", "monitor", "object", "state", "message")


def violations_table(db):
    """First 50 violations: SELECT seq, ts, cpu, pid, monitor, object, state, message FROM
    violation ORDER BY seq, id LIMIT 50 (ts shown in s)."""
    t = Table("violations", "First 50 violations (trace order)", [
        ("seq", "int"), ("time s", "f6"), ("cpu", "int"), ("pid", "int"), ("monitor", "str"),
        ("object", "auto"), ("state", "auto"), ("message", "str")])
    if not need(db, t, "violation", VIOLATION_COLS, NODATA_REPLAY):
        return t
    for seq, ts, cpu, pid, m, o, s, msg in hvdb.rows(db, "SELECT seq, ts, cpu, pid, monitor, object, state, message"
                                                     " FROM violation ORDER BY seq, id LIMIT 50"):
        t.add(seq, None if ts is None else ts / 1e9, cpu, pid, m, o, s, msg)
    return t


def whatif_table(db):
    """What-if: every column of whatif as written by hvtrace whatif: SELECT * FROM whatif
    ORDER BY rowid (rows in the order whatif wrote them; numbers as stored)."""
    t = Table("whatif", "What-if: the recorded demand replayed under other settings", [])
    if not need(db, t, "whatif", (), NODATA_WHATIF):
        return t
    t.cols = [(c, "auto") for c in hvdb.columns(db, "whatif")]
    for r in hvdb.rows(db, "SELECT * FROM whatif ORDER BY rowid"):
        t.add(*r)
    return t
