"""sched:sched_switch / sched_wakeup recorded with perf on a test machine, in file mode, -z
(zstd, many COMPRESSED records) and pipe mode (-o -), plus a -m 1 recording with LOST
records: every event equals what `perf script` prints, the counts equal `perf report
--stats`, and lost events add up. The committed recordings under tests/data/sched always
run; the live variants record afresh and skip when perf cannot record here."""
import os
import re
import sqlite3
import subprocess
import tempfile

import pytest

from perfscript import DATA, compare_with_script, counts_by_event, db_events, hvimport, zstd_text

SCHED = os.path.join(DATA, "sched")
EVENTS = ["-e", "sched:sched_switch", "-e", "sched:sched_wakeup"]
PINGPONG = r"""
import os, sys
n = int(sys.argv[1])
r1, w1 = os.pipe(); r2, w2 = os.pipe()
if os.fork() == 0:
    for _ in range(n):
        os.read(r1, 1); os.write(w2, b"x")
    os._exit(0)
for _ in range(n):
    os.write(w1, b"x"); os.read(r2, 1)
os.wait()
"""


def parse_stats(text):
    """perf report --stats -> ({event: samples}, {event: lost_samples}, {record: count})"""
    samples, lost, total = {}, {}, {}
    cur = None
    for ln in text.splitlines():
        m = re.match(r"^(\S+:\S+) stats:$", ln.strip())
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"^\s*(\w+) events:\s+(\d+)", ln)
        if not m:
            continue
        kind, n = m.group(1), int(m.group(2))
        if cur is None:
            total[kind] = n
        elif kind == "SAMPLE":
            samples[cur] = n
        elif kind == "LOST_SAMPLES":
            lost[cur] = n
    return samples, lost, total


def check_recording(data, script_text, stats_text, tmp, live=False):
    db = os.path.join(tmp, "t.db")
    r = hvimport(data, db)
    assert r.returncode == 0, r.stderr
    # system-wide live recordings see shells exec (bash -> head): the task table keeps a
    # task's last comm, perf prints the comm at each sample, so names are compared only
    # on the committed recordings
    problems, n = compare_with_script(db, script_text, strict_comm=not live)
    assert not problems, "\n".join(problems)
    assert n > 100
    evs = db_events(db)
    if stats_text is not None:
        samples, lost, total = parse_stats(stats_text)
        assert counts_by_event(evs) == {k: v for k, v in samples.items() if v}
        con = sqlite3.connect(db)
        nlost = con.execute("SELECT coalesce(sum(count), 0) FROM lost WHERE source='perf:lost'").fetchone()[0]
        nrec = con.execute("SELECT count(*) FROM lost WHERE source='perf:lost'").fetchone()[0]
        assert nrec == total.get("LOST", 0)
        # the kernel's per-event lost counters (PERF_FORMAT_LOST, synthesized by perf as
        # LOST_SAMPLES) equal the sum of the LOST records' counts
        # A live recording may still have a full buffer when perf stops: the samples lost
        # after the last LOST record are in the kernel's counter but in no record, so there
        # the records can only fall short of it (seen 4742 vs 4992 on a loaded machine).
        if live:
            assert 0 < nlost <= sum(lost.values())
        else:
            assert nlost == sum(lost.values())
        return db, nlost
    return db, 0


@pytest.mark.parametrize("name", ["sched-file", "sched-z", "sched-pipe", "sched-lost-z"])
def test_committed_recording(name, tmp_path):
    stats = os.path.join(SCHED, name + ".stats.txt")
    check_recording(os.path.join(SCHED, name + ".data"),
                    zstd_text(os.path.join(SCHED, name + ".script.txt.zst")),
                    open(stats).read() if os.path.exists(stats) else None, str(tmp_path))


def test_committed_lost_adds_up(tmp_path):
    db, nlost = check_recording(os.path.join(SCHED, "sched-lost-z.data"),
                                zstd_text(os.path.join(SCHED, "sched-lost-z.script.txt.zst")),
                                open(os.path.join(SCHED, "sched-lost-z.stats.txt")).read(), str(tmp_path))
    assert nlost > 0
    con = sqlite3.connect(db)
    # each loss window is on a real cpu and does not run backwards
    for cpu, a, b in con.execute("SELECT cpu, ts_from, ts_to FROM lost"):
        assert cpu >= 0 and a <= b
    r = subprocess.run([os.environ.get("HVTRACE", "build/hvtrace"), "info", db], capture_output=True, text=True)
    assert r.returncode == 0


def perf_can_record():
    if subprocess.run(["sh", "-c", "command -v perf"], capture_output=True).returncode:
        return "perf is not installed"
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(["perf", "record", "-q", "-e", "sched:sched_switch", "-o",
                            os.path.join(d, "x.data"), "--", "true"], capture_output=True, text=True)
        if r.returncode:
            return "perf cannot record sched tracepoints here: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def record(tmp, mode, n=300, extra=()):
    py = os.path.join(tmp, "pp.py")
    with open(py, "w") as f:
        f.write(PINGPONG)
    out = os.path.join(tmp, mode + ".data")
    cmd = ["perf", "record", "-q", "-B", *extra, *EVENTS]
    wl = ["--", "/usr/bin/python3", py, str(n)]
    if mode == "pipe":
        with open(out, "wb") as f:
            subprocess.run(cmd + ["-o", "-"] + wl, stdout=f, stderr=subprocess.DEVNULL, check=True)
    else:
        if mode == "z":
            cmd.append("-z")
        subprocess.run(cmd + ["-o", out] + wl, capture_output=True, check=True)
    script = subprocess.run(["perf", "script", "-i", out], capture_output=True, check=True).stdout.decode()
    stats = None
    if mode != "pipe":      # perf report cannot read a pipe-mode file given with -i
        stats = subprocess.run(["perf", "report", "-i", out, "--stats"], capture_output=True).stdout.decode()
    return out, script, stats


@pytest.mark.parametrize("mode", ["file", "z", "pipe"])
def test_live_recording(mode, tmp_path):
    why = perf_can_record()
    if why:
        pytest.skip(why)
    out, script, stats = record(str(tmp_path), mode)
    check_recording(out, script, stats, str(tmp_path))


def test_live_lost_events(tmp_path):
    why = perf_can_record()
    if why:
        pytest.skip(why)
    for _ in range(4):
        out, script, stats = record(str(tmp_path), "lost", n=1500, extra=("-a", "-m", "1", "-z"))
        if parse_stats(stats)[2].get("LOST"):
            break
    else:
        pytest.skip("perf lost no events with -m 1 in four tries")
    db, nlost = check_recording(out, script, stats, str(tmp_path), live=True)
    assert nlost > 0
