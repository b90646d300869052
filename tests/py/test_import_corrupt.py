"""Corrupt input: real recordings truncated at many offsets (header, attrs, data, features) and
with bytes flipped in their header and records. `hvtrace import` must never crash or trip a
sanitizer (this runs under `make asan` too), must exit 0 or 2, with a message naming the
offset when it exits 2, and the rows it imported from records before the damage must equal
the clean import's. Sample times of the intact records are found by a small independent
record walker here (not by hvtrace)."""
import collections
import os
import random
import struct

import pytest

from perfscript import DATA, db_rows, hvimport

FILE = os.path.join(DATA, "power-lab", "p8-smt4-partial.data")   # file mode
PIPE = os.path.join(DATA, "sched", "sched-pipe.data")            # pipe mode
ZSTD = os.path.join(DATA, "sched", "sched-z.data")               # compressed records
SAN = ("AddressSanitizer", "runtime error", "LeakSanitizer", "Segmentation", "Aborted")


def walk(data):
    """(data start, data end, attr sample_type, [(record offset, size, type)]) of a perf.data
    image, for picking offsets. Stops at the first record that does not fit."""
    hsize = struct.unpack_from("<Q", data, 8)[0]
    if hsize == 16:
        start, end, st = 16, len(data), None
    else:
        aoff = struct.unpack_from("<Q", data, 24)[0]
        start, size = struct.unpack_from("<QQ", data, 40)
        end = start + size
        st = struct.unpack_from("<Q", data, aoff + 24)[0]
    recs, o = [], start
    while o + 8 <= end:
        t, _, s = struct.unpack_from("<IHH", data, o)
        if s < 8 or o + s > end:
            break
        recs.append((o, s, t))
        if t == 64 and st is None:      # pipe mode HEADER_ATTR
            st = struct.unpack_from("<Q", data, o + 8 + 24)[0]
        extra = struct.unpack_from("<I", data, o + 8)[0] if t == 66 else 0
        o += s + extra
    return start, end, st, recs


def sample_time(data, off, st):
    pos = off + 8
    for bit in (1 << 16, 1, 2):          # IDENTIFIER, IP, TID come before TIME
        if st & bit:
            pos += 8
    return struct.unpack_from("<Q", data, pos)[0]


def times_before(data, x):
    """Multiset of sample times of the records that end at or before offset x."""
    _, _, st, recs = walk(data)
    return collections.Counter(sample_time(data, o, st) for o, s, t in recs if t == 9 and o + s <= x)


def run(tmp_path, image, tag, need_offset=True):
    src = str(tmp_path / ("in-%s.data" % tag))
    db = str(tmp_path / ("out-%s.db" % tag))
    with open(src, "wb") as f:
        f.write(image)
    if os.path.exists(db):
        os.unlink(db)
    r = hvimport(src, db)
    where = "%s: exit %d, stderr %r" % (tag, r.returncode, r.stderr[-400:])
    assert not any(s in r.stderr for s in SAN), where
    assert r.returncode in (0, 2), where
    if r.returncode == 2:
        assert "hvtrace import:" in r.stderr, where
        # a damaged magic makes it "not perf.data" (then the text importer has its say)
        assert not need_offset or "offset" in r.stderr, where
    return r, (db_rows(db) if os.path.exists(db) else None), where


def check_before(clean, rows, data, x, where):
    """Every clean row whose sample lies wholly before offset x was imported unchanged."""
    want = times_before(data, x)
    have = collections.Counter(rows or [])
    missing = [row for row in clean if want.get(row[0]) and not have[row]]
    assert not missing, "%s: %d intact rows missing or changed, first %r" % (where, len(missing), missing[:1])


def check_truncated(clean, rows, where):
    """A truncated import holds only clean rows, and the first ones in the same order."""
    if not rows:
        return
    c = collections.Counter(clean)
    extra = collections.Counter(rows) - c
    assert not extra, "%s: rows not in the clean import: %r" % (where, list(extra)[:2])
    gone = c - collections.Counter(rows)
    bound = min((r[0] for r in gone), default=None)
    head = [r for r in rows if bound is None or r[0] < bound]
    assert head == [r for r in clean if bound is None or r[0] < bound], where


def offsets(data, n_header, n_attr, n_data, n_feat, rnd):
    start, end, _, _ = walk(data)
    out = set(range(0, min(n_header, 104)))
    if start > 104:
        out |= {rnd.randrange(104, start) for _ in range(n_attr)}
    out |= {rnd.randrange(start, end) for _ in range(n_data)}
    if len(data) > end:
        out |= {rnd.randrange(end, len(data)) for _ in range(n_feat)}
    return sorted(out)


@pytest.mark.parametrize("path,counts", [(FILE, (20, 20, 40, 40)), (PIPE, (16, 0, 60, 0)), (ZSTD, (8, 8, 20, 10))],
                         ids=["file", "pipe", "zstd"])
def test_truncated(path, counts, tmp_path):
    data = open(path, "rb").read()
    r, clean, _ = run(tmp_path, data, "clean")
    assert r.returncode == 0 and clean
    rnd = random.Random(4)
    offs = offsets(data, *counts, rnd)
    assert len(offs) >= 40
    for x in offs:
        r, rows, where = run(tmp_path, data[:x], "trunc%d" % x)
        assert r.returncode == 2, where         # every cut loses something
        check_truncated(clean, rows, where)
        # file mode keeps the event formats after the data: a file cut before them cannot
        # be decoded at all (0 rows, said in the message); pipe mode sends them first
        if path == PIPE:
            check_before(clean, rows, data, x, where)


@pytest.mark.parametrize("path", [FILE, PIPE, ZSTD], ids=["file", "pipe", "zstd"])
def test_flipped_bytes(path, tmp_path):
    data = open(path, "rb").read()
    _, clean, _ = run(tmp_path, data, "clean")
    start, end, _, recs = walk(data)
    rnd = random.Random(7)
    spots = [rnd.randrange(0, 104) for _ in range(25)]
    spots += [rnd.randrange(start, end) for _ in range(40)]
    # record headers (type and size) are the most damaging places
    spots += [o + rnd.choice((0, 1, 6, 7)) for o, _, _ in rnd.sample(recs, min(25, len(recs)))]
    for x in spots:
        img = bytearray(data)
        img[x] ^= rnd.choice((0x01, 0x80, 0xff, 0x10))
        r, rows, where = run(tmp_path, bytes(img), "flip%d" % x, need_offset=x >= 8)
        if path != ZSTD and rows is not None and x >= start:
            check_before(clean, rows, data, x, where)


def test_not_perf_and_empty(tmp_path):
    r, _, where = run(tmp_path, b"", "empty")
    assert r.returncode == 2, where
    r, _, where = run(tmp_path, b"PERFILE2" + b"\xff" * 200, "garbage-header")
    assert r.returncode == 2, where
