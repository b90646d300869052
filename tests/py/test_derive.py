"""hvtrace derive: the derived tables of db/README.md against independent SQL on the raw
event tables, on simulated traces (the default scenario and an older profile without
kvmppc_vcore_wakeup) and on the real power-lab recordings (POWER8 HPT, POWER9, nested)."""
import os

import pytest

from conftest import HVTRACE, TOP
from derive_common import RAW_EXITS, RAW_HCALLS, RAW_WINDOWS, Workdir, q, run, scalar, simulate

PROFILES = [[], ["--profile", "E32_cede_nap", "--duration", "300ms", "--seed", "3"]]
LAB = os.path.join(TOP, "tests", "data", "power-lab")


@pytest.fixture(scope="module")
def work():
    if not os.access(HVTRACE, os.X_OK):
        pytest.skip(f"{HVTRACE} not built")
    w = Workdir()
    yield w
    w.close()


@pytest.fixture(scope="module", params=range(len(PROFILES)), ids=["default", "E32"])
def sim(request, work):
    return simulate(HVTRACE, os.path.join(work.path, f"sim{request.param}.db"), *PROFILES[request.param])


def test_simulate_writes_every_table(sim):
    for t in ("core_run", "core_run_vcpu", "vcpu_run", "hcall", "vcore_block", "vcpu_wait"):
        assert scalar(sim, f"SELECT count(*) FROM {t}") > 0, t


def test_vcpu_run_matches_exits(sim):
    raw = sorted(q(sim, RAW_EXITS.format(cols="e.cpu, e.vcpu_id, e.trap, e.ceded")))
    got = sorted(q(sim, "SELECT cpu, vcpu_id, trap, ceded, count(*) FROM vcpu_run GROUP BY cpu, vcpu_id, trap, ceded"))
    assert got == raw
    # each run is one kvm_guest_enter -> kvm_guest_exit of that vcpu id, in order
    assert scalar(sim, "SELECT count(*) FROM vcpu_run r JOIN kvm_hv__kvm_guest_enter n ON n.seq = r.enter_seq"
                       " JOIN kvm_hv__kvm_guest_exit x ON x.seq = r.exit_seq WHERE n.vcpu_id = r.vcpu_id"
                       " AND x.vcpu_id = r.vcpu_id AND n.ts = r.start_ts AND x.ts = r.end_ts"
                       " AND r.start_ts <= r.end_ts") == scalar(sim, "SELECT count(*) FROM vcpu_run")
    assert scalar(sim, "SELECT count(*) FROM vcpu_run WHERE tgid IS NULL") == 0


def test_core_run_matches_windows(sim):
    assert scalar(sim, "SELECT count(*) FROM core_run") == scalar(sim, RAW_WINDOWS)
    # every run points at a window on its CPU that contains its exit
    bad = scalar(sim, "SELECT count(*) FROM vcpu_run r LEFT JOIN core_run c ON c.id = r.core_run_id"
                      " WHERE c.id IS NULL OR c.cpu != r.cpu OR r.end_ts > c.end_ts OR r.end_ts < c.start_ts")
    assert bad == 0
    assert scalar(sim, "SELECT count(*) FROM vcpu_run WHERE hw_thread < cpu OR hw_thread >= cpu + 8") == 0


def test_hcall_matches_raw(sim):
    assert sorted(q(sim, "SELECT tgid, req, count(*) FROM hcall GROUP BY tgid, req")) == sorted(q(sim, RAW_HCALLS))


def raw_blocks(db):
    """(tgid, waited, count) of kvmppc_vcore_blocked calls from the raw events."""
    if scalar(db, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_wakeup"):   # every call ends with one
        return q(db, "SELECT tgid, waited != 0, count(*) FROM kvm_hv__kvmppc_vcore_wakeup GROUP BY 1, 2 ORDER BY 1, 2")
    # older kernels: where=0 -> where=1 of the same task, always slept
    return q(db, 'SELECT x.tgid, 1, count(*) FROM kvm_hv__kvmppc_vcore_blocked x WHERE x."where" = 1 AND'
                 ' (SELECT y."where" FROM kvm_hv__kvmppc_vcore_blocked y WHERE y.pid = x.pid AND y.seq < x.seq'
                 ' ORDER BY y.seq DESC LIMIT 1) = 0 GROUP BY 1, 2 ORDER BY 1, 2')


def test_vcore_block_matches_raw(sim):
    assert q(sim, "SELECT tgid, waited, count(*) FROM vcore_block GROUP BY 1, 2 ORDER BY 1, 2") == raw_blocks(sim)
    if scalar(sim, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_wakeup"):
        assert scalar(sim, 'SELECT count(*) FROM kvm_hv__kvmppc_vcore_blocked WHERE "where" = 1') == \
            scalar(sim, "SELECT count(*) FROM vcore_block WHERE waited = 1")
    assert scalar(sim, "SELECT count(*) FROM vcore_block WHERE end_ts < start_ts OR ns < 0") == 0


def test_vcpu_wait_disjoint(sim):
    assert scalar(sim, "SELECT count(*) FROM vcpu_wait") > 0
    assert scalar(sim, "SELECT count(*) FROM vcpu_wait WHERE end_ts <= start_ts") == 0
    overlap_runs = scalar(sim, "SELECT count(*) FROM vcpu_wait w JOIN vcpu_run r ON r.tgid = w.tgid AND"
                               " r.vcpu_id = w.vcpu_id AND r.start_ts < w.end_ts AND w.start_ts < r.end_ts")
    assert overlap_runs == 0
    overlap_waits = scalar(sim, "SELECT count(*) FROM vcpu_wait a JOIN vcpu_wait b ON a.tgid = b.tgid AND"
                                " a.vcpu_id = b.vcpu_id AND a.id < b.id AND a.start_ts < b.end_ts AND b.start_ts < a.end_ts")
    assert overlap_waits == 0
    # and with the vcpu task's own hcalls
    assert scalar(sim, "SELECT count(*) FROM vcpu_wait w JOIN hcall h ON h.tgid = w.tgid AND h.vcpu_id = w.vcpu_id"
                       " AND h.start_ts < w.end_ts AND w.start_ts < h.end_ts") == 0


def test_derive_is_repeatable(work, sim):
    before = {t: q(sim, f"SELECT * FROM {t} ORDER BY rowid") for t in ("vcpu_run", "hcall", "vcore_block", "vcpu_wait")}
    r = run([HVTRACE, "derive", sim])
    assert r.returncode == 0, r.stderr
    assert "vcpu_run" in r.stdout
    for t, rows in before.items():
        assert q(sim, f"SELECT * FROM {t} ORDER BY rowid") == rows, t
    assert scalar(sim, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vcpu_run'") >= 1


@pytest.mark.parametrize("name", ["p8-hpt", "p9-radix", "nested"])
def test_power_lab(work, name):
    src = os.path.join(LAB, f"{name}.data")
    if not os.path.exists(src):
        pytest.skip(f"{src} missing")
    db = os.path.join(work.path, f"{name}.db")
    r = run([HVTRACE, "import", src, "-o", db, "--force", "-q"])
    assert r.returncode == 0, r.stderr
    exits = scalar(db, "SELECT count(*) FROM kvm_hv__kvm_guest_exit")
    runs = scalar(db, "SELECT count(*) FROM vcpu_run")
    assert 0 < runs <= exits
    gang = scalar(db, "SELECT count(*) FROM kvm_hv__kvmppc_run_core") > 0
    if gang:
        assert sorted(q(db, "SELECT cpu, vcpu_id, trap, count(*) FROM vcpu_run GROUP BY 1, 2, 3")) == \
            sorted(q(db, RAW_EXITS.format(cols="e.cpu, e.vcpu_id, e.trap")))
        assert scalar(db, "SELECT count(*) FROM core_run") > 0
    else:   # POWER9 / nested: one task enters and leaves; hw_thread is the CPU it ran on
        assert runs == exits - scalar(db, "SELECT count(*) FROM kvm_hv__kvm_guest_exit x WHERE NOT EXISTS"
                                          " (SELECT 1 FROM kvm_hv__kvm_guest_enter n WHERE n.pid = x.pid AND n.seq < x.seq)")
        assert scalar(db, "SELECT count(*) FROM vcpu_run WHERE hw_thread != cpu OR core_run_id IS NOT NULL") == 0
        assert scalar(db, "SELECT count(*) FROM core_run") == 0
    assert sorted(q(db, "SELECT tgid, req, count(*) FROM hcall GROUP BY tgid, req")) == sorted(q(db, RAW_HCALLS))
    if scalar(db, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_wakeup"):
        assert q(db, "SELECT tgid, waited, count(*) FROM vcore_block GROUP BY 1, 2 ORDER BY 1, 2") == raw_blocks(db)
    else:   # POWER9 lean path: where=0 -> where=1 (the first where=1 may lack its where=0)
        assert 0 <= scalar(db, 'SELECT count(*) FROM kvm_hv__kvmppc_vcore_blocked WHERE "where" = 1') - \
            scalar(db, "SELECT count(*) FROM vcore_block") <= 1
    assert scalar(db, "SELECT count(*) FROM vcpu_wait w JOIN vcpu_run r ON r.tgid = w.tgid AND r.vcpu_id = w.vcpu_id"
                      " AND r.start_ts < w.end_ts AND w.start_ts < r.end_ts") == 0


@pytest.mark.parametrize("cmd", ["derive", "stat"])
def test_bad_input(work, cmd):
    missing = os.path.join(work.path, "no-such.db")
    r = run([HVTRACE, cmd, missing])
    assert r.returncode == 2 and missing in r.stderr
    junk = os.path.join(work.path, "junk.db")
    with open(junk, "w") as f:
        f.write("not a database\n" * 20)
    r = run([HVTRACE, cmd, junk])
    assert r.returncode == 2 and junk in r.stderr
    r = run([HVTRACE, cmd, "--bogus"])
    assert r.returncode == 2 and "--bogus" in r.stderr
