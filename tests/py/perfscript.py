"""Helpers for the import tests: run `hvtrace import`, read a trace database back as events,
parse `perf script` default output, and turn the kvm_hv / kvm / sched events perf prints back
into field values (symbolic names mapped back to numbers through tracepoints/symbols/*.tsv).

Nothing here uses hvtrace's own decoding: the database is read with sqlite3 directly and the
reference is perf's text, so a test built on these compares two independent decodings."""
import os
import re
import sqlite3
import subprocess

TOP = os.environ.get("TOP", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
HVTRACE = os.environ.get("HVTRACE", os.path.join(TOP, "build", "hvtrace"))
DATA = os.path.join(TOP, "tests", "data")
M64 = (1 << 64) - 1


def hvimport(src, db, *extra):
    """Run hvtrace import; returns CompletedProcess."""
    return subprocess.run([HVTRACE, "import", src, "-o", db, "--force", "--quiet", *extra],
                          capture_output=True, text=True)


def db_events(db):
    """All events of a trace database in seq order: dicts with seq, ts, cpu, pid, event
    ('system:name'), fields {name: value}, comm (from the task table)."""
    con = sqlite3.connect(db)
    con.text_factory = lambda b: b.decode(errors="replace")
    tasks = dict(con.execute("SELECT pid, comm FROM task"))
    out = []
    types = con.execute("SELECT system, name, tbl, id FROM event_type").fetchall()
    for system, name, tbl, tid in types:
        cols = [r[0] for r in con.execute(
            "SELECT name FROM event_field WHERE type_id=? ORDER BY pos", (tid,))]
        cur = con.execute('SELECT * FROM "%s"' % tbl)
        names = [d[0] for d in cur.description]
        for row in cur:
            r = dict(zip(names, row))
            f = {}
            for c, dbcol in zip(cols, names[4:]):
                f[c] = r[dbcol]
            out.append({"seq": r["seq"], "ts": r["ts"], "cpu": r["cpu"], "pid": r["pid"],
                        "event": "%s:%s" % (system, name), "fields": f,
                        "comm": tasks.get(r["pid"])})
    con.close()
    out.sort(key=lambda e: e["seq"])
    return out


def db_rows(db):
    """Comparable tuples of every event (no seq): for comparing two imports."""
    return [(e["ts"], e["cpu"], e["pid"], e["event"],
             tuple(sorted((k, v if not isinstance(v, bytes) else v.hex())
                          for k, v in e["fields"].items())))
            for e in db_events(db)]


LINE = re.compile(r"^\s*(.+?)\s+(-?\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{6}):\s+([\w]+):([\w]+):\s?(.*)$")


def script_events(text):
    """perf script default output -> list of dicts comm, tid, cpu, usecs, event, rest."""
    out = []
    for ln in text.splitlines():
        if not ln.strip():
            continue        # kvm_ppc_instr's format ends in a newline: perf prints an empty line
        m = LINE.match(ln)
        if not m:
            raise ValueError("unparsed perf script line: %r" % ln)
        comm, tid, cpu, s, us, system, name, rest = m.groups()
        out.append({"comm": comm, "tid": int(tid), "cpu": int(cpu),
                    "usecs": int(s) * 1000000 + int(us), "event": system + ":" + name,
                    "rest": rest})
    return out


def load_symbols(table):
    """name -> value from tracepoints/symbols/<table>.tsv"""
    res = {}
    with open(os.path.join(TOP, "tracepoints", "symbols", table + ".tsv")) as f:
        for ln in f:
            if ln.startswith("#") or not ln.strip():
                continue
            v, n = ln.split("\t")[:2]
            res[n.strip()] = int(v, 0)
    return res


class Symbols:
    def __init__(self):
        self.traps = load_symbols("traps")
        self.hcalls = load_symbols("hcalls")
        self.resume = load_symbols("resume")
        self.hcall_rc = load_symbols("hcall_rc")
        self.exit_reasons = load_symbols("kvm_exit_reasons")

    @staticmethod
    def lookup(table, s):
        if s in table:
            return table[s]
        return int(s, 0)    # libtraceevent prints values without a name in hex


def _hex(s):
    return int(s, 16)


# event -> (regex, function(match, symbols) -> {field: value or None (not checkable)})
def _guest_exit(m, sy):
    return {"vcpu_id": int(m[1]), "trap": sy.lookup(sy.traps, m[2]), "pc": _hex(m[3]),
            "msr": _hex(m[4]), "ceded": int(m[5])}


def _hcall_exit(m, sy):
    ret = sy.lookup(sy.resume, m[2])
    f = {"vcpu_id": int(m[1]), "ret": ret}
    if ret & 2:
        # the format prints 9999 (H_TOO_HARD) instead of hcall_rc when ret has RESUME_HOST
        assert sy.lookup(sy.hcall_rc, m[3]) == 9999, m[0]
        f["hcall_rc"] = None
    else:
        f["hcall_rc"] = sy.lookup(sy.hcall_rc, m[3])
    return f


def _userspace_exit(m, sy):
    if m[1] is not None:
        reason = int(m[2])
        assert sy.lookup(sy.exit_reasons, m[1]) == reason, m[0]
        # perf (libtraceevent 1.7) prints the reason even when errno < 0: errno is checked
        # against perf's own raw decoding (NAME.userspace_exit.txt) instead
        return {"reason": reason, "errno": None}
    if m[3] == "restart":
        return {"errno": -4, "reason": None}
    return {"errno": -int(m[4]), "reason": None}


def _window(m, sy):
    return {"where": None if m[1] == "Exit" else 0, "where_nonzero": m[1] == "Exit",
            "runner_vcpu": int(m[2]), "n_runnable": int(m[3]), "tgid": int(m[4])}


PARSERS = {
    "kvm_hv:kvm_guest_enter": (r"VCPU (-?\d+): pc=0x([0-9a-f]+) pexcp=0x([0-9a-f]+) ceded=(\d+)$",
                               lambda m, sy: {"vcpu_id": int(m[1]), "pc": _hex(m[2]),
                                              "pending_exceptions": _hex(m[3]), "ceded": int(m[4])}),
    "kvm_hv:kvm_guest_exit": (r"VCPU (-?\d+): trap=(\S+) pc=0x([0-9a-f]+) msr=0x([0-9a-f]+), ceded=(\d+)$",
                              _guest_exit),
    "kvm_hv:kvm_page_fault_enter": (
        r"VCPU (-?\d+): hpte=0x([0-9a-f]+):0x([0-9a-f]+) guest=0x([0-9a-f]+) ea=0x([0-9a-f]+),([0-9a-f]+) "
        r"slot=0x([0-9a-f]+),0x([0-9a-f]+)$",
        lambda m, sy: {"vcpu_id": int(m[1]), "hpte_v": _hex(m[2]), "hpte_r": _hex(m[3]),
                       "gpte_r": _hex(m[4]), "ea": _hex(m[5]), "dsisr": _hex(m[6]),
                       "base_gfn": _hex(m[7]), "slot_flags": _hex(m[8])}),
    "kvm_hv:kvm_page_fault_exit": (r"VCPU (-?\d+): hpte=0x([0-9a-f]+):0x([0-9a-f]+) ret=0x([0-9a-f]+)$",
                                   lambda m, sy: {"vcpu_id": int(m[1]), "hpte_v": _hex(m[2]),
                                                  "hpte_r": _hex(m[3]), "ret": _hex(m[4])}),
    "kvm_hv:kvm_hcall_enter": (
        r"VCPU (-?\d+): hcall=(\S+) GPR4-7=0x([0-9a-f]+),0x([0-9a-f]+),0x([0-9a-f]+),0x([0-9a-f]+)$",
        lambda m, sy: {"vcpu_id": int(m[1]), "req": sy.lookup(sy.hcalls, m[2]), "gpr4": _hex(m[3]),
                       "gpr5": _hex(m[4]), "gpr6": _hex(m[5]), "gpr7": _hex(m[6])}),
    "kvm_hv:kvm_hcall_exit": (r"VCPU (-?\d+): ret=(\S+) hcall_rc=(\S+)$", _hcall_exit),
    "kvm_hv:kvmppc_run_core": (r"(Enter|Exit) runner_vcpu==(-?\d+) runnable=(-?\d+) tgid=(-?\d+)$", _window),
    "kvm_hv:kvmppc_vcore_blocked": (r"(Enter|Exit) runner_vcpu=(-?\d+) runnable=(-?\d+) tgid=(-?\d+)$", _window),
    "kvm_hv:kvmppc_vcore_wakeup": (r"(wait|poll) time (\d+) ns, tgid=(-?\d+)$",
                                   lambda m, sy: {"waited": None, "waited_nonzero": m[1] == "wait",
                                                  "ns": int(m[2]), "tgid": int(m[3])}),
    "kvm_hv:kvmppc_run_vcpu_enter": (r"VCPU (-?\d+): tgid=(-?\d+)$",
                                     lambda m, sy: {"vcpu_id": int(m[1]), "tgid": int(m[2])}),
    "kvm_hv:kvmppc_run_vcpu_exit": (r"VCPU (-?\d+): exit=(-?\d+), ret=(-?\d+)$",
                                    lambda m, sy: {"vcpu_id": int(m[1]), "exit": int(m[2]), "ret": int(m[3])}),
    "kvm:kvm_userspace_exit": (r"reason (?:KVM_EXIT_(\w+) \((\d+)\)|(restart|error) \((\d+)\))$", _userspace_exit),
    "kvm:kvm_ppc_instr": (r"inst (\d+) pc 0x([0-9a-f]+) emulate (\d+)$",
                          lambda m, sy: {"inst": int(m[1]), "pc": _hex(m[2]), "emulate": int(m[3])}),
    "sched:sched_switch": (
        r"prev_comm=(.*) prev_pid=(-?\d+) prev_prio=(-?\d+) prev_state=(\S+) ==> "
        r"next_comm=(.*) next_pid=(-?\d+) next_prio=(-?\d+)$",
        lambda m, sy: {"prev_comm": m[1], "prev_pid": int(m[2]), "prev_prio": int(m[3]),
                       "prev_state_text": m[4], "next_comm": m[5], "next_pid": int(m[6]),
                       "next_prio": int(m[7])}),
    "sched:sched_wakeup": (r"comm=(.*) pid=(-?\d+) prio=(-?\d+) target_cpu=(\d+)$",
                           lambda m, sy: {"comm": m[1], "pid": int(m[2]), "prio": int(m[3]),
                                          "target_cpu": int(m[4])}),
}
PARSERS = {k: (re.compile(r), f) for k, (r, f) in PARSERS.items()}

SCHED_STATES = {0x01: "S", 0x02: "D", 0x04: "T", 0x08: "t", 0x10: "X", 0x20: "Z", 0x40: "P", 0x80: "I"}


def sched_state_text(v):
    """prev_state as the sched_switch print format renders it: the state letters, "R" for
    none, and "+" when the preempted bit (TASK_REPORT_MAX, 0x100 on these kernels) is set"""
    plus = "+" if v & 0x100 else ""
    v &= 0xff
    if not v:
        return "R" + plus
    return "|".join(n for b, n in sorted(SCHED_STATES.items()) if v & b) + plus


def compare_fields(ev, ref_fields):
    """Differences between a db event's fields and those parsed from perf's text."""
    bad = []
    f = ev["fields"]
    for k, want in ref_fields.items():
        if k.endswith("_nonzero"):
            base = k[:-len("_nonzero")]
            if (f[base] != 0) != want:
                bad.append("%s=%r (perf: %s)" % (base, f[base], "nonzero" if want else "zero"))
            continue
        if k == "prev_state_text":
            if sched_state_text(f["prev_state"]) != want:
                bad.append("prev_state=%r (perf: %s)" % (f["prev_state"], want))
            continue
        if want is None:
            continue
        have = f.get(k, "<missing>")
        if isinstance(have, bytes):
            have = have.decode(errors="replace")
        if isinstance(have, int) and isinstance(want, int):
            if have & M64 != want & M64:
                bad.append("%s=%d (perf: %d)" % (k, have, want))
        elif have != want:
            bad.append("%s=%r (perf: %r)" % (k, have, want))
    return bad


def compare_with_script(db, script_text, strict_comm=True):
    """Every event of db against perf script's text, in order. Returns a list of problems
    (empty when all agree) and the number of events compared."""
    sy = Symbols()
    evs = db_events(db)
    ref = script_events(script_text)
    problems = []
    # the task table keeps one comm per pid: a task that exec'd during the trace shows
    # several names in perf's text, and only its tasks with one name can be compared
    names = {}
    for r in ref:
        names.setdefault(r["tid"], set()).add(r["comm"])
    if len(evs) != len(ref):
        problems.append("event count: db %d, perf script %d" % (len(evs), len(ref)))
    for i, (e, r) in enumerate(zip(evs, ref)):
        where = "event %d (%s at %d.%06d)" % (i, r["event"], r["usecs"] // 1000000, r["usecs"] % 1000000)
        if e["event"] != r["event"]:
            problems.append("%s: db has %s" % (where, e["event"]))
            if len(problems) > 20:
                break
            continue
        if e["ts"] // 1000 != r["usecs"]:
            problems.append("%s: ts %d" % (where, e["ts"]))
        if e["cpu"] != r["cpu"]:
            problems.append("%s: cpu %d (perf %d)" % (where, e["cpu"], r["cpu"]))
        if e["pid"] != r["tid"]:
            problems.append("%s: pid %d (perf %d)" % (where, e["pid"], r["tid"]))
        # perf prints ":TID" for a thread it saw no COMM for (e.g. tid -1 samples after
        # lost records); the store then has no task row for it either
        placeholder = r["comm"] == ":%d" % r["tid"]
        if placeholder and e["comm"] is not None:
            problems.append("%s: comm %r (perf knows none)" % (where, e["comm"]))
        elif (strict_comm and not placeholder and len(names[r["tid"]]) == 1
              and (e["comm"] or "")[:15] != r["comm"][:15]):
            problems.append("%s: comm %r (perf %r)" % (where, e["comm"], r["comm"]))
        p = PARSERS.get(r["event"])
        if not p:
            problems.append("%s: no parser for this event's text" % where)
        else:
            m = p[0].match(r["rest"])
            if not m:
                problems.append("%s: text not understood: %r" % (where, r["rest"]))
            else:
                for b in compare_fields(e, p[1](m, sy)):
                    problems.append("%s: %s" % (where, b))
        if len(problems) > 20:
            break
    return problems, len(ref)


def zstd_text(path):
    return subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout.decode()


def counts_by_event(evs):
    c = {}
    for e in evs:
        c[e["event"]] = c.get(e["event"], 0) + 1
    return c
