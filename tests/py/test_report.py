"""hvtrace report (analyze/report.py): every number in index.html's tables and in summary.txt
equals an independent SQL query on the same database; figures are valid PNGs the page
references; a store without derived tables gives "no data" sections; bad input exits 2.

The expected values are computed here with queries written for the test (WHERE per group
instead of GROUP BY, percentiles by sorting in Python, names from the TSV files read here),
not with analyze/'s code."""
import math
import os
import re
import sqlite3
import sys

import pytest

from conftest import HVTRACE, PYTHON, REPORT_PY, TOP, run
from report_parse import check_rows, parse_html, parse_summary, png_info

SYMDIR = os.path.join(TOP, "tracepoints", "symbols")


def tsv(name):
    out = {}
    with open(os.path.join(SYMDIR, name + ".tsv"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                v, n = line.rstrip("\n").split("\t")[:2]
                out[int(v, 0)] = n
    return out


def q(db, sql, params=()):
    return db.execute(sql, params).fetchall()


def one(db, sql, params=()):
    return db.execute(sql, params).fetchone()[0]


def nearest_rank(values, p):
    v = sorted(values)
    return v[max(1, math.ceil(p * len(v) / 100)) - 1] if v else None


def name_of(db, tgid):
    if tgid is None:
        return "unattributed"
    r = q(db, "SELECT comm FROM task WHERE pid = ?", (tgid,))
    return r[0][0] if r and r[0][0] else None


def tgids(db, table):
    ids = sorted({r[0] for r in q(db, f"SELECT tgid FROM {table}")}, key=lambda t: (t is not None, t or 0))
    return ids


def expected(db):
    """{table key: rows} computed with the test's own queries."""
    exp = {}
    ev_tables = [r[0] for r in q(db, "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%\\_\\_%' ESCAPE '\\'")]
    total_events = sum(one(db, f'SELECT count(*) FROM "{t}"') for t in ev_tables)
    firsts = [one(db, f'SELECT min(ts) FROM "{t}"') for t in ev_tables]
    lasts = [one(db, f'SELECT max(ts) FROM "{t}"') for t in ev_tables]
    t0 = min(x for x in firsts if x is not None)
    t1 = max(x for x in lasts if x is not None)
    exp["trace"] = [["events", total_events],
                    ["event types with events", sum(1 for t in ev_tables if one(db, f'SELECT count(*) FROM "{t}"'))],
                    ["first event (s)", t0 / 1e9], ["last event (s)", t1 / 1e9], ["span (s)", (t1 - t0) / 1e9],
                    ["lost events", 0],
                    ["threads per core", int(one(db, "SELECT value FROM meta WHERE key = 'threads_per_core'"))]]

    guest_total = one(db, "SELECT sum(end_ts - start_ts) FROM vcpu_run")
    rows = []
    for t in tgids(db, "vcpu_run"):
        runs = q(db, "SELECT vcpu_id, start_ts, end_ts FROM vcpu_run WHERE tgid IS ?", (t,))
        g = sum(e - s for _, s, e in runs)
        nm = name_of(db, t)
        rows.append([t, nm if nm else "-", len({r[0] for r in runs}), len(runs), g / 1e6, 100.0 * g / guest_total])
    exp["vms"] = rows

    n_all = one(db, "SELECT count(*) FROM core_run")
    d_all = one(db, "SELECT sum(end_ts) - sum(start_ts) FROM core_run")
    rows = []
    for label, cond in (("whole", "split = 1"), ("2-way", "split = 2"), ("4-way", "split = 4"),
                        ("unknown", "split IS NULL OR split NOT IN (1, 2, 4)")):
        n = one(db, f"SELECT count(*) FROM core_run WHERE {cond}")
        d = one(db, f"SELECT coalesce(sum(end_ts) - sum(start_ts), 0) FROM core_run WHERE {cond}")
        if label != "unknown" or n:
            rows.append([label, n, 100.0 * n / n_all, d / 1e6, 100.0 * d / d_all])
    exp["split"] = rows

    cr = q(db, "SELECT start_ts, end_ts, threads_used, threads_avail, piggybacked, n_vcores FROM core_run")
    used = sum((e - s) * u for s, e, u, a, p, v in cr)
    avail = sum((e - s) * a for s, e, u, a, p, v in cr)
    exp["cores"] = [["windows", len(cr)], ["core time (ms)", d_all / 1e6],
                    ["thread occupancy, time-weighted (%)", 100.0 * used / avail],
                    ["windows with piggybacked vcores (%)", 100.0 * sum(1 for r in cr if r[4] > 0) / len(cr)],
                    ["vcores per window (mean)", sum(r[5] for r in cr) / len(cr)],
                    ["late-joining guest runs", one(db, "SELECT count(*) FROM vcpu_run WHERE late_join != 0")]]
    rows = []
    pairs = sorted({(r[3], r[2]) for r in cr})
    for a, u in pairs:
        sel = [r for r in cr if r[2] == u and r[3] == a]
        d = sum(r[1] - r[0] for r in sel)
        rows.append([u, a, len(sel), 100.0 * len(sel) / len(cr), d / 1e6, 100.0 * d / d_all])
    exp["occupancy"] = rows

    rows = []
    for t in tgids(db, "vcpu_wait"):
        d = [e - s for s, e in q(db, "SELECT start_ts, end_ts FROM vcpu_wait WHERE tgid IS ?", (t,))]
        nm = name_of(db, t)
        rows.append(["-" if t is None else str(t), nm if nm else "-", len(d), sum(d) / 1e6,
                     nearest_rank(d, 50) / 1e3, nearest_rank(d, 99) / 1e3, max(d) / 1e3])
    d = [e - s for s, e in q(db, "SELECT start_ts, end_ts FROM vcpu_wait")]
    rows.append(["all", "-", len(d), sum(d) / 1e6, nearest_rank(d, 50) / 1e3, nearest_rank(d, 99) / 1e3, max(d) / 1e3])
    exp["wait"] = rows

    rows = []
    for t in tgids(db, "vcpu_run"):
        n = one(db, "SELECT count(*) FROM vcpu_run WHERE tgid IS ?", (t,))
        c = one(db, "SELECT count(*) FROM vcpu_run WHERE tgid IS ? AND ceded = 1", (t,))
        nm = name_of(db, t)
        rows.append([t, nm if nm else "-", n, c, 100.0 * c / n])
    exp["cede"] = rows

    outcomes = tsv("cede_outcome")
    ced = [r[0] for r in q(db, "SELECT outcome FROM kvm_hv_sched__kvmhv_cede")]
    exp["cede_outcome"] = [[o, outcomes.get(o, "-"), ced.count(o), 100.0 * ced.count(o) / len(ced)]
                           for o in sorted(set(ced))]

    nb = one(db, "SELECT count(*) FROM vcore_block")
    rows = []
    for w, label in ((0, "poll/immediate"), (1, "slept")):
        ns = [r[0] for r in q(db, "SELECT ns FROM vcore_block WHERE waited = ?", (w,))]
        if ns:
            rows.append([label, len(ns), 100.0 * len(ns) / nb, sum(ns) / 1e6, sum(ns) / len(ns) / 1e3,
                         nearest_rank(ns, 50) / 1e3, max(ns) / 1e3])
    exp["block"] = rows

    traps = tsv("traps")
    for k, v in tsv("traps_extra").items():
        traps.setdefault(k, v)
    runs = q(db, "SELECT trap, ceded, end_ts - start_ts FROM vcpu_run")
    by = {}
    for trap, c, d in runs:
        by.setdefault(trap, []).append((c, d))
    rows = []
    for trap in sorted(by, key=lambda k: (-len(by[k]), k)):
        v = by[trap]
        rows.append([trap, traps.get(trap, "-"), len(v), 100.0 * len(v) / len(runs), sum(c for c, _ in v),
                     sum(d for _, d in v) / len(v) / 1e3, max(d for _, d in v) / 1e3])
    exp["exits"] = rows

    hnames = tsv("hcalls")
    calls = q(db, "SELECT req, end_ts - start_ts FROM hcall")
    by = {}
    for req, d in calls:
        by.setdefault(req, []).append(d)
    exp["hcalls"] = [[r, hnames.get(r, "-"), len(by[r]), 100.0 * len(by[r]) / len(calls), min(by[r]) / 1e3,
                      sum(by[r]) / len(by[r]) / 1e3, max(by[r]) / 1e3]
                     for r in sorted(by, key=lambda k: (-len(by[k]), k))]

    mons = [r[0] for r in q(db, "SELECT monitor FROM violation")]
    exp["viol_monitors"] = [[m, mons.count(m)] for m in sorted(set(mons), key=lambda m: (-mons.count(m), m))]
    exp["violations"] = [[s, ts / 1e9, c, p, m, o, st, msg] for s, ts, c, p, m, o, st, msg in q(
        db, "SELECT seq, ts, cpu, pid, monitor, object, state, message FROM violation ORDER BY seq")[:50]]
    exp["whatif"] = [list(r) for r in q(db, "SELECT * FROM whatif")]
    return exp


@pytest.fixture(scope="module")
def exp(full_db):
    db = sqlite3.connect(full_db)
    try:
        return expected(db)
    finally:
        db.close()


KEYS = ["trace", "vms", "split", "cores", "occupancy", "wait", "cede", "cede_outcome", "block", "exits",
        "hcalls", "viol_monitors", "violations", "whatif"]


@pytest.mark.parametrize("key", KEYS)
def test_html_table_equals_sql(full_report, exp, key):
    page = parse_html(os.path.join(full_report, "index.html"))
    assert f"t-{key}" in page.tables, f"table t-{key} missing from index.html"
    heads, rows = page.tables[f"t-{key}"]
    assert heads and rows
    check_rows(f"index.html t-{key}", rows, exp[key])


@pytest.mark.parametrize("key", KEYS)
def test_summary_table_equals_sql(full_report, exp, key):
    summ = parse_summary(os.path.join(full_report, "summary.txt"))
    assert key in summ and isinstance(summ[key], tuple), f"summary.txt has no table {key}"
    heads, rows = summ[key]
    check_rows(f"summary.txt {key}", rows, exp[key])


def test_violations_capped_at_50(full_report, full_db):
    db = sqlite3.connect(full_db)
    n = one(db, "SELECT count(*) FROM violation")
    db.close()
    assert n > 50
    page = parse_html(os.path.join(full_report, "index.html"))
    assert len(page.tables["t-violations"][1]) == 50


def test_every_number_is_checked(full_report):
    """Every table of the page is one the tests compare (no unchecked numbers)."""
    page = parse_html(os.path.join(full_report, "index.html"))
    assert sorted(k[2:] for k in page.tables) == sorted(KEYS)


EXPECTED_FIGURES = ["fig_timeline.png", "fig_overview.png", "fig_split.png", "fig_occupancy.png",
                    "fig_wait_cdf.png", "fig_cede_block.png"]


def test_figures_are_valid_pngs(full_report):
    page = parse_html(os.path.join(full_report, "index.html"))
    assert sorted(page.imgs) == sorted(EXPECTED_FIGURES)
    for src in page.imgs:
        path = os.path.join(full_report, src)
        assert os.path.isfile(path), f"{src} referenced but missing"
        info = png_info(path)
        assert info, f"{src} is not a PNG"
        w, h = info
        assert 300 <= w <= 5000 and 200 <= h <= 5000, f"{src}: {w}x{h}"
        assert os.path.getsize(path) > 2000, f"{src} is suspiciously small"


def test_html_references_only_existing_files(full_report):
    page = parse_html(os.path.join(full_report, "index.html"))
    with open(os.path.join(full_report, "index.html"), encoding="utf-8") as f:
        text = f.read()
    assert "<script" not in text.lower()
    for ref in page.srcs + page.hrefs:
        assert not re.match(r"^[a-z]+:|^//", ref), f"external reference {ref}"
        if ref.startswith("#"):
            assert ref[1:] in page.sections, f"anchor {ref} has no target"
            continue
        assert os.path.isfile(os.path.join(full_report, ref)), f"{ref} does not exist"
    pngs = sorted(n for n in os.listdir(full_report) if n.endswith(".png"))
    assert pngs == sorted(page.imgs), "PNG files not referenced by the page"


def busiest_second(db):
    """The test's own choice of the busiest second (guest-thread time, 1 s bins from the first
    event or run), from SQL rows with a plain loop."""
    ev = [r[0] for r in q(db, "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%\\_\\_%' ESCAPE '\\'")]
    starts = [one(db, f'SELECT min(ts) FROM "{t}"') for t in ev]
    t0 = min([s for s in starts if s is not None] + [one(db, "SELECT min(start_ts) FROM vcpu_run"),
                                                     one(db, "SELECT min(start_ts) FROM core_run")])
    bins = {}
    for s, e in q(db, "SELECT start_ts, end_ts FROM vcpu_run"):
        k = (s - t0) // 10**9
        while t0 + k * 10**9 < e:
            lo, hi = max(s, t0 + k * 10**9), min(e, t0 + (k + 1) * 10**9)
            bins[k] = bins.get(k, 0) + max(0, hi - lo)
            k += 1
    best = max(sorted(bins), key=lambda k: bins[k])
    return t0 + best * 10**9


def window_of(report):
    page = parse_html(os.path.join(report, "index.html"))
    m = re.search(r"start ([0-9.]+) s, length ([0-9.]+) s", page.texts["window"])
    return float(m.group(1)), float(m.group(2))


def test_window_inside_busiest_second(full_report, full_db):
    db = sqlite3.connect(full_db)
    sec = busiest_second(db)
    db.close()
    ws, wl = window_of(full_report)
    assert sec / 1e9 - 1e-6 <= ws and ws + wl <= sec / 1e9 + 1 + 1e-6, (sec, ws, wl)
    assert 1e-4 <= wl <= 1.0
    summ = open(os.path.join(full_report, "summary.txt"), encoding="utf-8").read()
    assert f"start {ws:.6f} s, length {wl:.6f} s" in summ


def test_window_options(full_db, tmp_path):
    r = run([PYTHON, REPORT_PY, full_db, "-o", str(tmp_path), "--window-start", "0.25", "--window-len", "0.02"])
    assert r.returncode == 0, r.stderr
    assert window_of(str(tmp_path)) == (0.25, 0.02)
    assert png_info(os.path.join(tmp_path, "fig_timeline.png"))


def test_no_derived_tables_says_no_data(empty_report):
    page = parse_html(os.path.join(empty_report, "index.html"))
    for sec in ("s-timeline", "s-split", "s-occupancy", "s-wait", "s-cede", "s-exits", "s-violations", "s-whatif"):
        assert sec in page.sections, f"{sec} missing"
        assert "no data" in page.sections[sec], f"{sec} does not say no data"
    assert page.imgs == []
    summ = parse_summary(os.path.join(empty_report, "summary.txt"))
    for key in ("vms", "split", "cores", "occupancy", "wait", "cede", "block", "exits", "hcalls",
                "viol_monitors", "violations", "whatif"):
        assert isinstance(summ.get(key), str) and summ[key].startswith("no data"), key
    assert "hvtrace derive" in summ["split"] and "hvtrace replay" in summ["violations"]
    assert "hvtrace whatif" in summ["whatif"]
    assert isinstance(summ["trace"], tuple)  # the raw store still has its facts


def test_empty_derived_tables_say_no_data(empty_db, full_db, tmp_path):
    """Derived tables that exist but are empty are 'no data' too."""
    import shutil
    path = str(tmp_path / "e.db")
    shutil.copy(empty_db, path)
    db = sqlite3.connect(path)
    db.execute("ATTACH ? AS f", (full_db,))
    for t in ("core_run", "core_run_vcpu", "vcpu_run", "hcall", "vcore_block", "vcpu_wait", "violation", "whatif"):
        db.execute(f'CREATE TABLE main."{t}" AS SELECT * FROM f."{t}" WHERE 0')
    db.commit()
    db.close()
    r = run([PYTHON, REPORT_PY, path, "-o", str(tmp_path / "r")])
    assert r.returncode == 0, r.stderr
    summ = parse_summary(str(tmp_path / "r" / "summary.txt"))
    assert all(isinstance(summ[k], str) for k in ("split", "wait", "exits", "violations", "whatif"))


@pytest.mark.parametrize("kind", ["missing", "text", "sqlite", "dir"])
def test_bad_input_exits_2_naming_the_file(tmp_path, kind, hvtrace):
    path = tmp_path / f"bad-{kind}.db"
    if kind == "text":
        path.write_text("not a database\n" * 20)
    elif kind == "sqlite":
        db = sqlite3.connect(str(path))
        db.execute("CREATE TABLE t(x)")
        db.commit()
        db.close()
    elif kind == "dir":
        path.mkdir()
    for cmd in ([PYTHON, REPORT_PY], [hvtrace, "report"]):
        r = run(cmd + [str(path), "-o", str(tmp_path / "out")])
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert str(path) in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "out" / "index.html")


def test_bad_options_exit_2(full_db, tmp_path, hvtrace):
    for args in (["--window-len", "0"], ["--window-start", "abc"], ["--bogus"]):
        r = run([PYTHON, REPORT_PY, full_db, "-o", str(tmp_path)] + args)
        assert r.returncode == 2 and args[0] in r.stderr, (args, r.stderr)
    r = run([hvtrace, "report", full_db])
    assert r.returncode == 2 and "-o DIR" in r.stderr
    r = run([hvtrace, "report", "--help"])
    assert r.returncode == 0 and "usage" in r.stdout


def test_report_found_through_env(empty_db, tmp_path, hvtrace):
    """$HVTRACE_ANALYZE names the analyze directory; a wrong one is a clear error."""
    env = dict(os.environ, HVTRACE_ANALYZE=os.path.join(TOP, "analyze"))
    r = run([hvtrace, "report", empty_db, "-o", str(tmp_path / "a")], env=env)
    assert r.returncode == 0 and os.path.isfile(tmp_path / "a" / "summary.txt"), r.stderr
    env["HVTRACE_ANALYZE"] = str(tmp_path / "nowhere")
    r = run([hvtrace, "report", empty_db, "-o", str(tmp_path / "b")], env=env)
    assert r.returncode == 2 and "report.py" in r.stderr


def test_hvdb_loader(full_db):
    sys.path.insert(0, os.path.join(TOP, "analyze"))
    import hvdb
    db = hvdb.open_db(full_db)
    rows = hvdb.table(db, "vcpu_run")
    raw = sqlite3.connect(full_db)
    assert len(rows) == one(raw, "SELECT count(*) FROM vcpu_run")
    assert set(rows[0]) == {r[1] for r in q(raw, "PRAGMA table_info(vcpu_run)")}
    sel = hvdb.table(db, "vcpu_run", "tgid = ? AND trap = ?", (5100, 0x980))
    assert len(sel) == one(raw, "SELECT count(*) FROM vcpu_run WHERE tgid = 5100 AND trap = 2432")
    fr = hvdb.frame(db, "hcall")
    assert len(fr) == one(raw, "SELECT count(*) FROM hcall")
    raw.close()
    with pytest.raises(hvdb.HvDbError):
        hvdb.table(db, "no_such_table")


def test_hvtrace_report_prints_where(full_report):
    # full_report ran `hvtrace report`, which asserted its stdout names the directory
    assert os.path.isfile(os.path.join(full_report, "index.html"))
    assert os.path.isfile(os.path.join(full_report, "summary.txt"))


def test_uses_only_debian_python():
    with open(REPORT_PY, encoding="utf-8") as f:
        assert f.readline().strip() == "#!/usr/bin/python3"
    assert HVTRACE


def test_off_contract_table_is_no_data_with_warning(empty_db, tmp_path):
    """A core_run with other column names (an older replay's shape) does not stop the report:
    its sections say which columns are missing, stderr warns, the rest is written."""
    import shutil
    path = str(tmp_path / "o.db")
    shutil.copy(empty_db, path)
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE core_run(id INTEGER PRIMARY KEY, cpu INTEGER, runner_tgid INTEGER,"
                     " enter_ts INTEGER, exit_ts INTEGER, split INTEGER);"
                     "INSERT INTO core_run VALUES (1, 0, 4100, 1000, 2000, 1);"
                     "CREATE TABLE vcpu_run(id INTEGER PRIMARY KEY, tgid INTEGER, vcpu INTEGER, enter_ts INTEGER);"
                     "INSERT INTO vcpu_run VALUES (1, 4100, 0, 1000);")
    db.commit()
    db.close()
    r = run([PYTHON, REPORT_PY, path, "-o", str(tmp_path / "r")])
    assert r.returncode == 0, r.stderr
    assert "warning: core_run lacks column(s) start_ts, end_ts" in r.stderr
    summ = parse_summary(str(tmp_path / "r" / "summary.txt"))
    assert "lacks column(s)" in summ["split"] and "lacks column(s)" in summ["exits"]
    page = parse_html(str(tmp_path / "r" / "index.html"))
    assert "lacks column" in page.sections["s-timeline"]


def test_installed_layout_finds_analyze_and_symbols(full_db, tmp_path, hvtrace):
    """As `make install` lays it out: bin/hvtrace, share/hvtrace/analyze, share/hvtrace/tracepoints/symbols."""
    import shutil
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy2(hvtrace, prefix / "bin" / "hvtrace")
    shutil.copytree(os.path.join(TOP, "analyze"), prefix / "share" / "hvtrace" / "analyze",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(SYMDIR, prefix / "share" / "hvtrace" / "tracepoints" / "symbols")
    env = {k: v for k, v in os.environ.items() if k not in ("HVTRACE_ANALYZE", "HVTRACE_SYMBOLS")}
    r = run([str(prefix / "bin" / "hvtrace"), "report", full_db, "-o", str(tmp_path / "r")], env=env)
    assert r.returncode == 0, r.stderr
    summ = parse_summary(str(tmp_path / "r" / "summary.txt"))
    names = {row[0]: row[1] for row in summ["exits"][1]}
    assert names["0x980"] == "HV_DECREMENTER" and names["0xc00"] == "SYSCALL"


def test_failed_figure_is_reported_not_fatal(full_db, tmp_path, monkeypatch, capsys):
    """A figure that raises: exit 1, the page says which figure failed, no stray PNG."""
    sys.path.insert(0, os.path.join(TOP, "analyze"))
    import figures
    import report

    def boom(*a, **k):
        raise RuntimeError("injected")
    monkeypatch.setattr(figures, "wait_cdf", boom)
    rc = report.main([full_db, "-o", str(tmp_path), "--quiet"])
    assert rc == 1
    assert "fig_wait_cdf.png failed: RuntimeError: injected" in capsys.readouterr().err
    page = parse_html(str(tmp_path / "index.html"))
    assert "injected" in page.sections["s-wait"] and "t-wait" in page.tables
    assert not os.path.exists(tmp_path / "fig_wait_cdf.png")
    assert sorted(page.imgs) == sorted(f for f in EXPECTED_FIGURES if f != "fig_wait_cdf.png")


def test_report_on_imported_real_perf_data(tmp_path, hvtrace):
    """A real POWER8 host's perf.data (power-lab p8-hpt): import (which derives), replay,
    whatif, report. Every table the report shows equals the tests' own SQL, and the page
    references only files that exist."""
    data = os.path.join(TOP, "tests", "data", "power-lab", "p8-hpt.data")
    path = str(tmp_path / "p8.db")
    r = run([hvtrace, "import", data, "-o", path])
    assert r.returncode == 0, r.stderr
    r = run([hvtrace, "replay", path])
    assert r.returncode == 0, r.stdout + r.stderr
    r = run([hvtrace, "whatif", path, "--mt-modes", "0,2"])
    assert r.returncode == 0, r.stdout + r.stderr
    out = str(tmp_path / "rep")
    r = run([hvtrace, "report", path, "-o", out])
    assert r.returncode == 0, r.stdout + r.stderr
    db = sqlite3.connect(path)
    try:
        ex = expected(db)
    finally:
        db.close()
    page = parse_html(os.path.join(out, "index.html"))
    summ = parse_summary(os.path.join(out, "summary.txt"))
    shown = 0
    for key in KEYS:
        if isinstance(summ.get(key), tuple):
            check_rows(f"summary.txt {key}", summ[key][1], ex[key])
            check_rows(f"index.html t-{key}", page.tables[f"t-{key}"][1], ex[key])
            shown += 1
        else:  # a section without data says so, and the SQL agrees there is none
            assert summ[key].startswith("no data"), key
            assert not ex[key] or key == "trace", key
    assert shown >= 8, shown
    for ref in page.imgs:
        assert png_info(os.path.join(out, ref)), ref
