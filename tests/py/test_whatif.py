"""hvtrace whatif: the recorded demand replayed under other dynamic_mt_modes settings.

On the built-in default scenario (0.5 s): rows ordered and labelled (recorded, baseline,
each setting in the order given, the baseline-vs-recorded difference), the baseline within
its stated tolerance of the recorded metrics (throughput, core utilisation and exits/s 5%,
split shares 5 points; the trace's kvmhv_cede / kvmhv_kick place cedes and in-guest
wake-ups, kernel/sim/README.md), no split under
dynamic_mt_modes=0, no 4-way under 2, the recorded row equal to SQL on the events, the
`whatif` table equal to the --json rows; bad options and inputs exit 2 naming them; the real
POWER8 recording replays (split modes do not apply: one thread per core), the POWER9 one is
refused with a reason."""
import json
import os
import sqlite3

import pytest

from conftest import HVTRACE, TOP, run

POWERLAB = os.path.join(TOP, "tests", "data", "power-lab")


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("whatif")
    db = str(d / "sim.db")
    r = run([HVTRACE, "simulate", "-o", db, "--duration", "0.5s"])
    assert r.returncode == 0, r.stderr
    return db


@pytest.fixture(scope="module")
def result(sim_db):
    r = run([HVTRACE, "whatif", sim_db, "--mt-modes", "0,2,4,6", "--json"])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_rows_ordered_and_labelled(result):
    rows = result["rows"]
    assert [r["kind"] for r in rows] == ["recorded", "baseline", "setting", "setting", "setting", "setting", "diff"]
    assert [r["dynamic_mt_modes"] for r in rows[2:6]] == [0, 2, 4, 6]
    assert [r["setting"] for r in rows[2:6]] == [f"dynamic_mt_modes={m}" for m in (0, 2, 4, 6)]
    assert rows[1]["baseline"] == 1 and sum(r["baseline"] for r in rows) == 1
    assert "baseline" in rows[1]["setting"] and "as recorded" in rows[1]["setting"]
    assert rows[1]["dynamic_mt_modes"] == 6


def test_baseline_reproduces_recorded(result):
    rec, base, diff = result["rows"][0], result["rows"][1], result["rows"][-1]
    for k in ("throughput", "core_util", "exits_per_s"):
        assert abs(base[k] - rec[k]) <= 0.05 * rec[k], (k, base[k], rec[k])
        assert diff[k] == pytest.approx((base[k] - rec[k]) / rec[k], abs=1e-5)
    for k in ("share_whole", "share_2way", "share_4way"):
        assert abs(base[k] - rec[k]) <= 0.05, (k, base[k], rec[k])
    assert result["tolerance"] == {"relative": 0.05, "share_points": 0.05}


def test_split_shares_follow_the_setting(result):
    by = {r["dynamic_mt_modes"]: r for r in result["rows"] if r["kind"] == "setting"}
    assert by[0]["share_2way"] == 0 and by[0]["share_4way"] == 0 and by[0]["share_whole"] == 1
    assert by[2]["share_4way"] == 0 and by[2]["share_2way"] > 0
    assert by[4]["share_2way"] == 0 and by[4]["share_4way"] > 0
    for r in result["rows"][:-1]:
        assert r["share_whole"] + r["share_2way"] + r["share_4way"] == pytest.approx(1, abs=1e-6)
        assert 0 < r["core_util"] <= 1 and r["throughput"] > 0 and r["wait_p50_us"] <= r["wait_p99_us"]


def test_recorded_row_is_the_trace(sim_db, result):
    rec = result["rows"][0]
    con = sqlite3.connect(sim_db)
    t0 = min(con.execute(f"SELECT min(ts) FROM {t}").fetchone()[0] for t in
             ("kvm_hv__kvm_guest_enter", "kvm_hv__kvmppc_run_vcpu_enter", "sched__sched_switch"))
    t1 = max(con.execute(f"SELECT max(ts) FROM {t}").fetchone()[0] for t in
             ("kvm_hv__kvm_guest_exit", "kvm_hv__kvmppc_run_core", "sched__sched_switch"))
    exits = con.execute("SELECT count(*) FROM kvm_hv__kvm_guest_exit").fetchone()[0]
    assert rec["exits_per_s"] == pytest.approx(exits * 1e9 / (t1 - t0), rel=0.01)
    dmm = int(con.execute("SELECT value FROM meta WHERE key = 'param.dynamic_mt_modes'").fetchone()[0])
    assert rec["dynamic_mt_modes"] == dmm
    # the whatif table holds the same rows, in the same order
    got = con.execute("SELECT setting, kind, dynamic_mt_modes, throughput, share_2way, exits_per_s, baseline"
                      " FROM whatif ORDER BY rowid").fetchall()
    con.close()
    want = [(r["setting"], r["kind"], r["dynamic_mt_modes"], r["throughput"], r["share_2way"],
             r["exits_per_s"], r["baseline"]) for r in result["rows"]]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:3] == w[:3] and g[6] == w[6]
        assert g[3:6] == pytest.approx(w[3:6], rel=1e-4, abs=1e-9)


def test_text_table(sim_db):
    r = run([HVTRACE, "whatif", sim_db, "--mt-modes", "2,0"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    rows = [l for l in lines if l.startswith(("recorded", "* baseline", "dynamic_mt_modes", "baseline vs"))]
    assert [l.split()[0] for l in rows] == ["recorded", "*", "dynamic_mt_modes=2", "dynamic_mt_modes=0", "baseline"]
    assert "tolerance" in r.stdout


@pytest.mark.parametrize("args,needle", [
    (["--mt-modes", "3"], "--mt-modes"),
    (["--mt-modes", "0,7"], "--mt-modes"),
    (["--target-smt", "3"], "--target-smt"),
    (["--profile", "nosuch"], "--profile"),
    (["--bogus"], "--bogus"),
])
def test_bad_options(sim_db, args, needle):
    r = run([HVTRACE, "whatif", sim_db] + args)
    assert r.returncode == 2
    assert needle in r.stderr


def test_bad_inputs(tmp_path):
    missing = str(tmp_path / "missing.db")
    r = run([HVTRACE, "whatif", missing])
    assert r.returncode == 2 and missing in r.stderr
    notdb = tmp_path / "notdb.db"
    notdb.write_text("not a database\n")
    r = run([HVTRACE, "whatif", str(notdb)])
    assert r.returncode == 2 and str(notdb) in r.stderr


def test_real_power8(tmp_path):
    db = str(tmp_path / "p8.db")
    r = run([HVTRACE, "import", os.path.join(POWERLAB, "p8-hpt.data"), "-o", db])
    assert r.returncode == 0, r.stderr
    r = run([HVTRACE, "whatif", db, "--json"])
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert all(x["share_whole"] == 1 for x in rows[:-1])  # one thread per core: never split
    assert rows[0]["throughput"] > 0 and rows[1]["throughput"] > 0
    r = run([HVTRACE, "whatif", db])
    assert "split modes do not apply" in r.stdout


def test_real_power9_refused(tmp_path):
    db = str(tmp_path / "p9.db")
    r = run([HVTRACE, "import", os.path.join(POWERLAB, "p9-radix.data"), "-o", db])
    assert r.returncode == 0, r.stderr
    r = run([HVTRACE, "whatif", db])
    assert r.returncode == 2
    assert "POWER9" in r.stderr and "split modes do not apply" in r.stderr
