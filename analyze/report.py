#!/usr/bin/python3
"""hvtrace report: an HTML page with figures and a plain-text summary of one trace store.

    report.py DB -o DIR [--window-start S] [--window-len S] [--quiet]

writes DIR/index.html (self-contained: inline CSS, no scripts, no external URLs; figures are
the PNG files next to it) and DIR/summary.txt (the same tables as text). It reads the derived
tables of db/README.md (core_run, core_run_vcpu, vcpu_run, hcall, vcore_block, vcpu_wait,
violation, whatif), the meta/task/lost/event_type tables, and kvm_hv_sched:kvmhv_cede when
present; a section whose table is missing or empty says "no data: ..." instead. Every number
in the tables comes from one documented SQL query in tables.py. `hvtrace report` runs this
script with Debian's /usr/bin/python3.

Exit status: 0 written, 1 written but a figure failed, 2 bad input (missing file, not an
hvtrace database, bad option) with a message naming the file or option.
"""
import argparse
import html
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import figures  # noqa: E402
import hvdb  # noqa: E402
import numpy as np  # noqa: E402  (matplotlib's own dependency)
import symbols  # noqa: E402
import tables  # noqa: E402

PROG = "hvtrace report"


class Section:
    def __init__(self, key, title, intro):
        self.key, self.title, self.intro = key, title, intro
        self.figures = []   # (file name, alt text, note)
        self.tables = []
        self.texts = []     # (id, text) paragraphs
        self.nodata = None  # sentence when the whole section has nothing to show
        self.errors = []


class Failed(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description="Write DIR/index.html (with PNG figures) and "
                                "DIR/summary.txt for an hvtrace database.")
    p.add_argument("db", metavar="DB", help="hvtrace trace database")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="directory to write the report in")
    p.add_argument("--window-start", metavar="S", type=float,
                   help="start of the timeline window, in seconds on the trace clock (as hvtrace events prints)")
    p.add_argument("--window-len", metavar="S", type=float, help="length of the timeline window in seconds")
    p.add_argument("--quiet", action="store_true", help="do not print the path of the report")
    a = p.parse_args(argv)
    if a.window_len is not None and not a.window_len > 0:
        p.error(f"--window-len must be > 0 (got {a.window_len})")
    if a.window_start is not None and not a.window_start >= 0:
        p.error(f"--window-start must be >= 0 (got {a.window_start})")
    return a


def trace_info(db):
    """Span of the events, threads per core (meta, default 8)."""
    t0, t1 = tables.trace_span(db)
    m = hvdb.meta(db)
    try:
        tpc_meta = int(m.get("threads_per_core")) if m.get("threads_per_core") is not None else None
    except ValueError:
        tpc_meta = None
    return {"t0": t0, "t1": t1, "tpc_meta": tpc_meta, "tpc": tpc_meta if tpc_meta and tpc_meta > 0 else 8, "meta": m}


def figure(sec, out, name, alt, draw):
    """Run draw(path) for DIR/name; record the figure (and its note) or the error."""
    path = os.path.join(out, name)
    try:
        note = draw(path)
    except Exception as e:  # a figure must not take the whole report down
        sec.errors.append(f"figure {name} failed: {type(e).__name__}: {e}")
        figures.plt.close("all")
        if os.path.exists(path):
            os.remove(path)  # no half-written PNG the page does not reference
        return
    if note is None and not os.path.exists(path):
        return
    sec.figures.append((name, alt, note or ""))


def span_for_figures(info, runs, cores):
    """Time axis of the figures: from the first event or derived interval to the last."""
    lo = [v for v in (info["t0"],) if v is not None]
    hi = [v for v in (info["t1"],) if v is not None]
    for r in (runs, cores):
        if len(r):
            lo.append(int(r.start.min()))
            hi.append(int(r.end.max()))
    return (min(lo), max(hi)) if lo else (None, None)


def timeline_section(db, info, args, out):
    sec = Section("timeline", "Per-core timeline",
                  "Each row is one hardware thread of a core; a bar is a guest run (vcpu_run) on that "
                  "thread, coloured by VM (tgid). The bands behind are the core's kvmppc_run_core "
                  "windows (core_run) coloured by split mode; lines mark the subcore boundaries. "
                  "The window is chosen around the busiest second by guest-thread time unless "
                  "--window-start/--window-len are given; the overview shows the whole trace.")
    tpc = info["tpc"]
    runs = figures.Runs(db, tpc)
    cores = figures.CoreRuns(db, tpc)
    if not len(runs):
        miss = (tables.missing_columns(db, "vcpu_run", ("start_ts", "end_ts", "tgid", "hw_thread", "cpu"))
                if hvdb.has_rows(db, "vcpu_run") else [])
        sec.nodata = (f"no data: vcpu_run lacks column(s) {', '.join(miss)} of db/README.md" if miss
                      else tables.NODATA_DERIVE.format(tbl="vcpu_run"))
        return sec, None
    t0, t1 = span_for_figures(info, runs, cores)
    names = {t: tables.vm_name(db, t) for t in runs.vms}
    ws, wl = figures.choose_window(runs, t0, t1)
    how = "busiest second by guest-thread time"
    if args.window_len is not None:
        wl = int(round(args.window_len * 1e9))
    if args.window_start is not None:
        ws = int(round(args.window_start * 1e9))
        how = "given"
    elif args.window_len is not None:
        sec_start, _ = figures.busiest_second(runs, t0, t1)
        ws, how = sec_start, "start of the busiest second (length given)"
    sec.texts.append(("window", f"Window: start {ws / 1e9:.6f} s, length {wl / 1e9:.6f} s ({how})."))
    if np.count_nonzero(runs.hw >= 0) == 0:
        sec.texts.append(("timeline-nodata", "no data for the timeline: no guest run has a known hardware "
                          "thread (vcpu_run.hw_thread is NULL everywhere)"))
    else:
        figure(sec, out, "fig_timeline.png", "timeline of hardware threads by VM",
               lambda p: figures.timeline(p, runs, cores, tpc, ws, wl, names))
        if not any(f[0] == "fig_timeline.png" for f in sec.figures) and not sec.errors:
            sec.texts.append(("timeline-nodata", "no data for the timeline: no guest run with a known "
                              "hardware thread overlaps the window"))
    figure(sec, out, "fig_overview.png", "whole-trace overview of busy threads per core",
           lambda p: figures.overview(p, runs, cores, tpc, t0, t1, names))
    return sec, (ws, wl)


def guard(fn, *args):
    """Run one table function; an SQL error (a table not following db/README.md in a way the
    column checks did not catch) becomes that table's no-data sentence and a warning."""
    try:
        return fn(*args)
    except hvdb.sqlite3.Error as e:
        t = tables.Table(fn.__name__.replace("_table", ""), fn.__name__, [])
        t.warning = f"{fn.__name__}: cannot read the database: {e}"
        t.nodata = f"no data: {t.warning}"
        return t


def build(db, args, out):
    info = trace_info(db)
    sym = symbols.Symbols()
    secs = []

    s = Section("trace", "Trace", "What the database holds (event tables, lost-event windows, meta) "
                "and the VMs seen in the guest runs.")
    s.tables = [guard(tables.trace_table, db, info), guard(tables.vms_table, db)]
    secs.append(s)

    s, window = timeline_section(db, info, args, out)
    secs.append(s)

    s = Section("split", "Split modes", "How often kvmppc_run_core ran the core whole, 2-way or 4-way "
                "split (dynamic micro-threading), by number of windows and by core time.")
    t = guard(tables.split_table, db)
    s.tables = [t]
    if not t.nodata:
        labels = [r[0] for r in t.rows]
        figure(s, out, "fig_split.png", "split-mode shares", lambda p: figures.bars(
            p, "Split modes of kvmppc_run_core windows", labels,
            [("windows %", [r[2] for r in t.rows]), ("core time %", [r[4] for r in t.rows])], "%"))
    secs.append(s)

    s = Section("occupancy", "Hardware-thread occupancy", "Threads used (vcpus placed) against threads "
                "available (of the core or subcore set) in each kvmppc_run_core window.")
    occ = guard(tables.occupancy_table, db)
    s.tables = [guard(tables.cores_table, db), occ]
    if not occ.nodata:
        figure(s, out, "fig_occupancy.png", "thread occupancy histogram", lambda p: occupancy_figure(p, occ))
    secs.append(s)

    s = Section("wait", "vCPU dispatch wait", "Time a vcpu was runnable (inside KVM_RUN, not in an hcall, "
                "page fault or block) but not in the guest (vcpu_wait).")
    t = guard(tables.wait_table, db)
    s.tables = [t]
    if not t.nodata:
        figure(s, out, "fig_wait_cdf.png", "dispatch wait CDF per VM", lambda p: figures.wait_cdf(p, db))
    secs.append(s)

    s = Section("cede", "Cede, nap and block", "Guest runs that ended with the vcpu ceded (H_CEDE), "
                "H_CEDE outcomes when hvtrace's decision events were recorded, and vcore blocks "
                "(kvmppc_vcore_blocked) that returned from polling vs slept.")
    s.tables = [guard(tables.cede_table, db), guard(tables.cede_outcome_table, db, sym), guard(tables.block_table, db)]
    have_runs, have_blocks = not s.tables[0].nodata, not s.tables[2].nodata
    if have_runs or have_blocks:
        figure(s, out, "fig_cede_block.png", "ceded exits and block time",
               lambda p: figures.cede_block(p, db, have_runs, have_blocks))
    secs.append(s)

    s = Section("exits", "Exits and hcalls", "Guest exits by trap vector (vcpu_run.trap) and "
                "virtual-mode hcalls by request (hcall.req), named from tracepoints/symbols.")
    s.tables = [guard(tables.exits_table, db, sym), guard(tables.hcalls_table, db, sym)]
    secs.append(s)

    s = Section("violations", "Replay violations", "What hvtrace replay found (table violation): "
                "counts per monitor and the first 50 in trace order.")
    s.tables = [guard(tables.violation_monitors_table, db), guard(tables.violations_table, db)]
    secs.append(s)

    s = Section("whatif", "What-if", "The recorded demand replayed through the simulator under other "
                "settings (table whatif, written by hvtrace whatif).")
    s.tables = [guard(tables.whatif_table, db)]
    secs.append(s)

    for s in secs:
        if s.tables and all(t.nodata for t in s.tables) and not s.figures and s.nodata is None:
            s.nodata = s.tables[0].nodata
    return info, secs, window


def occupancy_figure(path, occ):
    """Histogram of threads_used / threads_avail (from the occupancy table's rows)."""
    byratio = {}
    for used, avail, n, _, d, _ in occ.rows:
        r = (used or 0) / avail if avail else 0.0
        a = byratio.setdefault(round(r, 4), [0, 0.0])
        a[0] += n
        a[1] += d or 0.0
    keys = sorted(byratio)
    n_all = sum(v[0] for v in byratio.values()) or 1
    d_all = sum(v[1] for v in byratio.values()) or 1.0
    figures.bars(path, "Hardware-thread occupancy (threads used / available)", [f"{k:.2f}" for k in keys],
                 [("windows %", [100.0 * byratio[k][0] / n_all for k in keys]),
                  ("core time %", [100.0 * byratio[k][1] / d_all for k in keys])], "%")


CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table.data { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
table.data caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
table.data th, table.data td { border: 1px solid #ccc; padding: 0.2em 0.6em; }
table.data th { background: #f0f0f0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.nodata { color: #8a6d3b; background: #fcf8e3; padding: 0.4em 0.8em; }
p.error { color: #a94442; background: #f2dede; padding: 0.4em 0.8em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
"""


def html_table(t):
    e = html.escape
    if t.nodata:
        return f'<p class="nodata" id="t-{t.key}">{e(t.title)}: {e(t.nodata)}</p>'
    out = [f'<table class="data" id="t-{t.key}"><caption>{e(t.title)}</caption><thead><tr>']
    out += [f"<th>{e(c[0])}</th>" for c in t.cols]
    out.append("</tr></thead><tbody>")
    for r in t.text_rows():
        cells = []
        for v, c in zip(r, t.cols):
            cls = ' class="n"' if c[1] != "str" else ""
            cells.append(f"<td{cls}>{e(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def write_html(path, db_path, info, secs):
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>hvtrace report: {e(os.path.basename(db_path))}</title>", f"<style>{CSS}</style></head><body>",
           f"<h1>hvtrace report: {e(os.path.basename(db_path))}</h1>",
           f'<p>Database <code>{e(os.path.abspath(db_path))}</code>; source: {e(str(info["meta"].get("source", "-")))}; '
           f'CPU: {e(str(info["meta"].get("cpu", "-")))}. Plain-text summary: <a href="summary.txt">summary.txt</a>.</p>',
           "<ul>" + "".join(f'<li><a href="#s-{s.key}">{e(s.title)}</a></li>' for s in secs) + "</ul>"]
    for s in secs:
        out.append(f'<section id="s-{s.key}"><h2>{e(s.title)}</h2><p>{e(s.intro)}</p>')
        if s.nodata:
            out.append(f'<p class="nodata">{e(s.nodata)}</p>')
        for i, txt in s.texts:
            cls = ' class="nodata"' if txt.startswith("no data") else ""
            out.append(f'<p id="{e(i)}"{cls}>{e(txt)}</p>')
        for msg in s.errors:
            out.append(f'<p class="error">{e(msg)}</p>')
        for name, alt, note in s.figures:
            w, h = png_size(os.path.join(os.path.dirname(path), name))
            cap = f"<figcaption>{e(note)}</figcaption>" if note else ""
            out.append(f'<figure><img src="{e(name)}" alt="{e(alt)}" width="{w}" height="{h}">{cap}</figure>')
        if not s.nodata:
            out += [html_table(t) for t in s.tables]
        out.append("</section>")
    out.append("</body></html>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def text_table(t):
    if t.nodata:
        return [t.nodata]
    rows = [[c[0] for c in t.cols]] + t.text_rows()
    widths = [max(len(r[i]) for r in rows) for i in range(len(t.cols))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]


def write_summary(path, db_path, secs, window):
    lines = [f"hvtrace report: {os.path.abspath(db_path)}", ""]
    if window:
        lines += [f"timeline window: start {window[0] / 1e9:.6f} s, length {window[1] / 1e9:.6f} s", ""]
    for s in secs:
        if s.nodata and not s.tables:
            lines += [f"== {s.key}: {s.title} ==", s.nodata, ""]
        for t in s.tables:
            lines.append(f"== {t.key}: {t.title} ==")
            lines += text_table(t)
            lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def remove_old_figures(out):
    for n in os.listdir(out):
        if n.startswith("fig_") and n.endswith(".png"):
            os.remove(os.path.join(out, n))


def main(argv):
    args = parse_args(argv)
    try:
        db = hvdb.open_db(args.db)
    except hvdb.HvDbError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    out = args.output
    try:
        os.makedirs(out, exist_ok=True)
        remove_old_figures(out)
    except OSError as e:
        print(f"{PROG}: {out}: cannot write the report there ({e.strerror})", file=sys.stderr)
        return 2
    try:
        info, secs, window = build(db, args, out)
    except hvdb.sqlite3.DatabaseError as e:
        print(f"{PROG}: {args.db}: cannot read the database ({e})", file=sys.stderr)
        return 2
    write_html(os.path.join(out, "index.html"), args.db, info, secs)
    write_summary(os.path.join(out, "summary.txt"), args.db, secs, window)
    for m in sorted({t.warning for s in secs for t in s.tables if t.warning}):
        print(f"{PROG}: warning: {m}", file=sys.stderr)
    errors = [m for s in secs for m in s.errors]
    for m in errors:
        print(f"{PROG}: {m}", file=sys.stderr)
    if not args.quiet:
        print(os.path.join(out, "index.html"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
