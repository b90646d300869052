"""hvtrace stat --json against counts computed straight from the raw event tables (not from
the derived tables stat reads): exits by trap, ceded exits, hcalls by VM and request, vcore
blocks by VM and outcome, kvmppc_run_core windows; and the shape of the document."""
import json
import os

import pytest

from conftest import HVTRACE
from derive_common import RAW_EXITS, RAW_HCALLS, RAW_WINDOWS, Workdir, q, run, scalar, simulate

PROFILES = [[], ["--profile", "E43_piggyback", "--duration", "300ms", "--seed", "5"]]


@pytest.fixture(scope="module", params=range(len(PROFILES)), ids=["default", "E43"])
def sim(request):
    if not os.access(HVTRACE, os.X_OK):
        pytest.skip(f"{HVTRACE} not built")
    w = Workdir()
    db = simulate(HVTRACE, os.path.join(w.path, "sim.db"), *PROFILES[request.param])
    r = run([HVTRACE, "stat", db, "--json"])
    assert r.returncode == 0, r.stderr
    yield db, json.loads(r.stdout)
    w.close()


def test_exits_by_trap(sim):
    db, doc = sim
    got = {}
    for vm in doc["vms"]:
        for e in vm["exits"]:
            got[int(e["trap"], 16)] = got.get(int(e["trap"], 16), 0) + e["count"]
        assert abs(sum(e["share_pct"] for e in vm["exits"]) - 100) < 0.1
    assert got == {t: n for t, n in q(db, RAW_EXITS.format(cols="e.trap"))}


def test_ceded_exits(sim):
    db, doc = sim
    ceded = sum(vm["cede"][0]["ceded_exits"] for vm in doc["vms"])
    assert ceded == sum(n for c, n in q(db, RAW_EXITS.format(cols="e.ceded")) if c)
    late = sum(vm["cede"][0]["late_joins"] for vm in doc["vms"])
    assert late == doc["host"]["cores"][0]["late_joins"]


def test_hcalls_by_request(sim):
    db, doc = sim
    got = sorted((vm["tgid"], int(h["req"], 16), h["count"]) for vm in doc["vms"] for h in vm["hcalls"])
    assert got == sorted(q(db, RAW_HCALLS))


def test_blocks(sim):
    db, doc = sim
    got = sorted((vm["tgid"], b["outcome"], b["count"]) for vm in doc["vms"] for b in vm["blocks"])
    if scalar(db, "SELECT count(*) FROM kvm_hv__kvmppc_vcore_wakeup"):
        raw = q(db, "SELECT tgid, CASE WHEN waited != 0 THEN 'sleep' ELSE 'poll' END, count(*)"
                    " FROM kvm_hv__kvmppc_vcore_wakeup GROUP BY 1, 2")
    else:
        raw = q(db, 'SELECT tgid, \'sleep\', count(*) FROM kvm_hv__kvmppc_vcore_blocked WHERE "where" = 1 GROUP BY 1')
    assert got == sorted(raw)


def test_windows_and_split(sim):
    db, doc = sim
    host = doc["host"]
    assert host["cores"][0]["windows"] == scalar(db, RAW_WINDOWS)
    assert sum(s["windows"] for s in host["split"]) == host["cores"][0]["windows"]
    assert abs(sum(s["core_time_pct"] for s in host["split"]) - 100) < 0.1
    assert {s["mode"] for s in host["split"]} <= {"whole", "2-way", "4-way", "unknown"}
    assert 0 < host["cores"][0]["occupancy_pct"] <= 100
    if scalar(db, "SELECT count(*) FROM kvm_hv_sched__kvmhv_cede"):
        assert sorted((c["outcome"], c["count"]) for c in host["cede_outcome"]) == \
            sorted(q(db, "SELECT outcome, count(*) FROM kvm_hv_sched__kvmhv_cede GROUP BY outcome"))


def test_wait_and_vcpus(sim):
    db, doc = sim
    for vm in doc["vms"]:
        w = vm["wait"][0]
        assert w["waits"] == sum(v["waits"] for v in vm["vcpus"])
        if w["waits"]:
            assert w["p50_us"] <= w["p99_us"] <= w["max_us"]
        assert sum(v["runs"] for v in vm["vcpus"]) == vm["cede"][0]["runs"]


def test_vm_filter_and_text(sim):
    db, doc = sim
    tgid = doc["vms"][0]["tgid"]
    r = run([HVTRACE, "stat", db, "--json", "--vm", str(tgid)])
    assert r.returncode == 0, r.stderr
    one = json.loads(r.stdout)
    assert [v["tgid"] for v in one["vms"]] == [tgid] and one["vms"][0] == doc["vms"][0]
    r = run([HVTRACE, "stat", db, "--vm", "999999"])
    assert r.returncode == 2 and "999999" in r.stderr
    r = run([HVTRACE, "stat", db])
    assert r.returncode == 0 and f"VM {tgid}" in r.stdout and "exits by trap" in r.stdout


def test_stat_derives_when_missing(tmp_path, hvtrace):
    db = str(tmp_path / "demo.db")
    r = run([hvtrace, "demo-db", "-o", db])
    assert r.returncode == 0, r.stderr
    r = run([hvtrace, "stat", db, "--json"])
    assert r.returncode == 0, r.stderr
    assert "derive" in r.stderr
    assert "host" in json.loads(r.stdout)
