"""Shared fixtures of the Python tests: a private temporary directory per test (pytest's own
tmp_path lives under /tmp/pytest-of-USER and keeps only the last three runs, so two test runs
at once, make test and make asan, delete each other's files), the built hvtrace, a real store
with every table the report reads (the default scenario simulated by `hvtrace simulate`, which
also derives; replayed under a profile of another era so that the violation table is full;
`hvtrace whatif` for the what-if table), the report written from it by `hvtrace report`, and a
report of a store without derived tables (`hvtrace demo-db`)."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest


@pytest.fixture
def tmp_path():
    d = tempfile.mkdtemp(prefix="hvtrace-test-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)



HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TOP = os.environ.get("TOP") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("BUILD", "build")
HVTRACE = os.environ.get("HVTRACE") or os.path.join(TOP, BUILD, "hvtrace")
PYTHON = "/usr/bin/python3"
REPORT_PY = os.path.join(TOP, "analyze", "report.py")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def demo_db(path):
    r = run([HVTRACE, "demo-db", "-o", str(path)])
    assert r.returncode == 0, r.stderr
    return str(path)


@pytest.fixture(scope="session")
def hvtrace():
    if not os.access(HVTRACE, os.X_OK):
        pytest.skip(f"{HVTRACE} not built")
    return HVTRACE


@pytest.fixture(scope="session")
def full_db(tmp_path_factory, hvtrace):
    path = str(tmp_path_factory.mktemp("db") / "full.db")
    r = run([hvtrace, "simulate", "-o", path, "--duration", "600ms"])
    assert r.returncode == 0, r.stderr
    # the mainline trace judged by E32's rules (no piggybacking, n_busy start rule): thousands
    # of violations, exit 1; then the derived tables again under the trace's own profile
    r = run([hvtrace, "replay", path, "--profile", "E32_cede_nap", "--max", "200"])
    assert r.returncode == 1, r.stdout + r.stderr
    r = run([hvtrace, "derive", path, "--quiet"])
    assert r.returncode == 0, r.stderr
    r = run([hvtrace, "whatif", path, "--mt-modes", "0,2,4,6"])
    assert r.returncode == 0, r.stdout + r.stderr
    return path


@pytest.fixture(scope="session")
def full_report(full_db, tmp_path_factory, hvtrace):
    out = tmp_path_factory.mktemp("report")
    r = run([hvtrace, "report", full_db, "-o", str(out)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert str(out) in r.stdout
    return str(out)


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory, hvtrace):
    return demo_db(tmp_path_factory.mktemp("db") / "empty.db")


@pytest.fixture(scope="session")
def empty_report(empty_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-empty")
    r = run([PYTHON, REPORT_PY, empty_db, "-o", str(out)])
    assert r.returncode == 0, r.stdout + r.stderr
    return str(out)
