"""Odd but valid input: record types hvtrace does not know, AUXTRACE records with their
out-of-band payload, and feature bits from the future are skipped and counted in `stats`;
the events are the same as without them. Also: an existing database is never touched
without --force, and a failed import leaves nothing behind."""
import os
import sqlite3
import struct
import subprocess

from perfscript import DATA, HVTRACE, db_rows, hvimport
from test_import_corrupt import walk

PIPE = os.path.join(DATA, "sched", "sched-pipe.data")
FILE = os.path.join(DATA, "sched", "sched-file.data")


def stats(db):
    return dict(sqlite3.connect(db).execute("SELECT key, value FROM stats"))


def import_pair(tmp_path, img, orig=PIPE):
    """Import the original and the edited image img of it: their two databases."""
    src = str(tmp_path / "edited.data")
    open(src, "wb").write(bytes(img))
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert hvimport(orig, a).returncode == 0
    r = hvimport(src, b)
    assert r.returncode == 0, r.stderr
    return a, b


def test_unknown_and_auxtrace_records(tmp_path):
    data = open(PIPE, "rb").read()
    _, _, _, recs = walk(data)
    at = [o for o, s, t in recs if t == 68][0]           # before the first FINISHED_ROUND
    unknown = struct.pack("<IHH", 150, 0, 24) + bytes(16)
    payload = bytes(range(40))
    aux = struct.pack("<IHHQQQIIII", 71, 0, 48, len(payload), 0, 0, 0, 0, 0, 0) + payload
    a, b = import_pair(tmp_path, data[:at] + unknown + aux + unknown + data[at:])
    assert db_rows(a) == db_rows(b)
    assert stats(b).get("perf.unknown_record.150") == 2


def test_unknown_feature_bit(tmp_path):
    data = bytearray(open(FILE, "rb").read())
    doff, dsz = struct.unpack_from("<QQ", data, 40)
    feats = list(struct.unpack_from("<4Q", data, 72))
    nfeat = sum(bin(f).count("1") for f in feats)
    table = doff + dsz
    # one more section entry (bit 200, after every known bit): payloads move by 16 bytes
    entries = [list(struct.unpack_from("<QQ", data, table + 16 * i)) for i in range(nfeat)]
    for e in entries:
        e[0] += 16
    body = b"future feature payload\0\0"
    end = len(data) + 16
    entries.append([end, len(body)])
    feats[3] |= 1 << (200 - 192)
    img = bytearray(data[:table])
    for off, size in entries:
        img += struct.pack("<QQ", off, size)
    img += data[table + 16 * nfeat:] + body
    struct.pack_into("<4Q", img, 72, *feats)
    a, b = import_pair(tmp_path, img, FILE)
    assert db_rows(a) == db_rows(b)
    assert stats(b).get("perf.unknown_feature.200") == 1
    meta = dict(sqlite3.connect(b).execute("SELECT key, value FROM meta"))
    assert meta["arch"] and meta["long_size"] == "8"


def test_existing_database_untouched(tmp_path):
    db = str(tmp_path / "x.db")
    open(db, "w").write("precious")
    r = subprocess.run([HVTRACE, "import", PIPE, "-o", db], capture_output=True, text=True)
    assert r.returncode == 2 and "exists" in r.stderr
    assert open(db).read() == "precious"
    r = subprocess.run([HVTRACE, "import", PIPE, "-o", db, "--force"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "events" in r.stdout and "sched:sched_switch" in r.stdout


def test_failed_import_leaves_nothing(tmp_path):
    bad = str(tmp_path / "bad.data")
    open(bad, "wb").write(b"PERFILE2" + struct.pack("<Q", 104) + bytes(200))
    db = str(tmp_path / "bad.db")
    r = subprocess.run([HVTRACE, "import", bad, "-o", db], capture_output=True, text=True)
    assert r.returncode == 2 and "offset" in r.stderr
    assert not os.path.exists(db)
    assert os.listdir(str(tmp_path)) == ["bad.data"]


def test_default_output_name(tmp_path):
    src = str(tmp_path / "t.data")
    open(src, "wb").write(open(PIPE, "rb").read())
    r = subprocess.run([HVTRACE, "import", src, "--format", "perf"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(src + ".db")


def without_rounds(data, samples=None):
    """A pipe-mode image without its FINISHED_ROUND records; its sample records replaced, in
    order, by `samples` if given."""
    start, _, _, recs = walk(data)
    samples = iter(samples) if samples is not None else None
    img = bytearray(data[:start])
    pos = start
    for o, s, t in recs:
        img += data[pos:o]                     # out-of-band bytes (tracing data) stay
        if t == 9 and samples is not None:
            img += next(samples)
        elif t != 68:
            img += data[o:o + s]
        pos = o + s
    img += data[pos:]
    return bytes(img)


def test_no_finished_round(tmp_path):
    """A file without FINISHED_ROUND markers (other writers) is still put in time order."""
    data = open(PIPE, "rb").read()
    img = without_rounds(data)
    assert len(img) < len(data)
    a, b = import_pair(tmp_path, img)
    assert db_rows(a) == db_rows(b)


def test_many_runs(tmp_path):
    """Samples written in many short stretches, newest stretch first, without round markers:
    one merge of about 150 runs (more than the merge keeps read buffers for). The events are
    those of the original, stored in time order."""
    data = open(PIPE, "rb").read()
    _, _, _, recs = walk(data)
    samples = [data[o:o + s] for o, s, t in recs if t == 9]
    chunks = [samples[i:i + 4] for i in range(0, len(samples), 4)]
    img = without_rounds(data, [r for c in reversed(chunks) for r in c])
    assert len(chunks) > 100
    a, b = import_pair(tmp_path, img)
    got = db_rows(b)
    assert sorted(got) == sorted(db_rows(a))
    assert [e[0] for e in got] == sorted(e[0] for e in got)
