"""Shared pieces of test_derive.py and test_stat.py: simulated and imported stores (built once
per module in a private directory) and independent SQL on the raw event tables.

The replay bookkeeping starts every CPU's kvmppc_run_core window UNKNOWN until that CPU's
first Exit (the trace may start inside a window), so on the gang path the guest runs it can
attribute are the exits after the first `kvmppc_run_core where=1` of their CPU: RAW_EXITS
counts those straight from kvm_hv__kvm_guest_exit."""
import shutil
import sqlite3
import subprocess
import tempfile

RAW_EXITS = ('SELECT {cols}, count(*) FROM kvm_hv__kvm_guest_exit e WHERE e.seq > '
             '(SELECT min(seq) FROM kvm_hv__kvmppc_run_core r WHERE r."where" = 1 AND r.cpu = e.cpu) GROUP BY {cols}')
# windows: an Exit whose previous kvmppc_run_core on its CPU was an Enter, after that CPU's first Exit
RAW_WINDOWS = ('SELECT count(*) FROM kvm_hv__kvmppc_run_core x WHERE x."where" = 1 AND '
               '(SELECT y."where" FROM kvm_hv__kvmppc_run_core y WHERE y.cpu = x.cpu AND y.seq < x.seq '
               'ORDER BY y.seq DESC LIMIT 1) = 0 AND x.seq > (SELECT min(seq) FROM kvm_hv__kvmppc_run_core z '
               'WHERE z.cpu = x.cpu AND z."where" = 1)')
# virtual-mode hcalls: an exit whose task's previous hcall event was an enter; VM from task
RAW_HCALLS = ('SELECT t.tgid, n.req, count(*) FROM kvm_hv__kvm_hcall_exit x JOIN task t ON t.pid = x.pid '
              'JOIN kvm_hv__kvm_hcall_enter n ON n.seq = (SELECT max(seq) FROM kvm_hv__kvm_hcall_enter '
              'WHERE pid = x.pid AND seq < x.seq) WHERE NOT EXISTS (SELECT 1 FROM kvm_hv__kvm_hcall_exit z '
              'WHERE z.pid = x.pid AND z.seq > n.seq AND z.seq < x.seq) GROUP BY t.tgid, n.req')


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="hvtrace-derive-")

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)


def simulate(hvtrace, path, *extra):
    r = run([hvtrace, "simulate", "-o", path, "--force", *extra])
    assert r.returncode == 0, r.stderr
    return path


def q(path, sql, params=()):
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def scalar(path, sql, params=()):
    return q(path, sql, params)[0][0]
