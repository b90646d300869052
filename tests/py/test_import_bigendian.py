"""Big-endian: real little-endian recordings rewritten as a big-endian host would have
written them (perfswap.py: header, attrs with the bitfield bits reversed per byte, records,
RAW payloads field by field, tracing data with its endian flag) import to exactly the same
rows, tasks and lost windows as the originals, and `perf script` prints the same for both."""
import os
import sqlite3
import subprocess

import pytest

from perfscript import DATA, db_rows, hvimport
from perfswap import swap_file

FILES = [os.path.join(DATA, "power-lab", "p8-hpt.data"), os.path.join(DATA, "sched", "sched-file.data")]


def side_tables(db):
    con = sqlite3.connect(db)
    return (con.execute("SELECT pid, tgid, comm FROM task ORDER BY pid").fetchall(),
            con.execute("SELECT cpu, ts_from, ts_to, count, source FROM lost ORDER BY id").fetchall(),
            dict(con.execute("SELECT key, value FROM meta")))


@pytest.mark.parametrize("src", FILES, ids=["p8-hpt", "sched-file"])
def test_big_endian_same_rows(src, tmp_path):
    be = str(tmp_path / "be.data")
    swap_file(src, be)
    with open(be, "rb") as f:
        assert f.read(8) == b"2ELIFREP"
    a, b = str(tmp_path / "le.db"), str(tmp_path / "be.db")
    ra, rb = hvimport(src, a), hvimport(be, b)
    assert ra.returncode == 0, ra.stderr
    assert rb.returncode == 0, rb.stderr
    rows_le, rows_be = db_rows(a), db_rows(b)
    assert len(rows_le) > 500
    assert rows_le == rows_be
    tl, ll, ml = side_tables(a)
    tb, lb, mb = side_tables(b)
    assert tl == tb and ll == lb
    assert ml["byte_order"] == "little" and mb["byte_order"] == "big"
    assert ml["long_size"] == mb["long_size"] == "8"
    for k in ("arch", "osrelease", "cmdline", "nrcpus", "cpudesc", "threads_per_core"):
        assert ml.get(k) == mb.get(k), k


@pytest.mark.parametrize("src", FILES, ids=["p8-hpt", "sched-file"])
def test_perf_script_agrees(src, tmp_path):
    if subprocess.run(["sh", "-c", "command -v perf"], capture_output=True).returncode:
        pytest.skip("perf is not installed")
    be = str(tmp_path / "be.data")
    swap_file(src, be)
    le_txt = subprocess.run(["perf", "script", "-i", src], capture_output=True).stdout
    be_out = subprocess.run(["perf", "script", "-i", be], capture_output=True)
    assert be_out.returncode == 0
    assert le_txt and be_out.stdout == le_txt
