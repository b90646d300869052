"""The report's figures (matplotlib, Agg backend, PNG files).

Each function takes plain data the report already loaded (numpy arrays or rows of the
derived tables), draws one figure and saves it; none queries anything itself except through
the small loaders at the top. The timeline places each guest run on its hardware thread
(vcpu_run.hw_thread: host CPU number, so core = hw_thread // threads_per_core and thread =
hw_thread % threads_per_core), coloured by VM (tgid), over bands coloured by the split mode
of the core's kvmppc_run_core windows (core_run), with subcore boundaries drawn as lines.
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (matplotlib's own dependency)

import hvdb  # noqa: E402

DPI = 100
MAX_CORES = 16
SPLIT_COLOUR = {1: "#e4e4e4", 2: "#cfe3ff", 4: "#ffdcb0", 0: "#f4d6f4"}
SPLIT_NAME = {1: "whole core", 2: "2-way split", 4: "4-way split", 0: "split unknown"}
NOVM_COLOUR = "#7f7f7f"


def readable(db, tbl, cols):
    """The table exists with every column of `cols` (the db/README.md contract)."""
    return hvdb.has_table(db, tbl) and set(cols) <= set(hvdb.columns(db, tbl))


def load_columns(db, sql, ncols, chunk=200_000):
    """The integer columns of a query as int64 arrays (NULL -> -1), read in chunks so that a
    trace with millions of runs never holds them all as Python tuples."""
    cur = db.execute(sql)
    parts = []
    while True:
        rows = cur.fetchmany(chunk)
        if not rows:
            break
        flat = np.fromiter((-1 if v is None else v for r in rows for v in r), dtype=np.int64,
                           count=len(rows) * ncols)
        parts.append(flat.reshape(len(rows), ncols))
    if not parts:
        return [np.zeros(0, dtype=np.int64) for _ in range(ncols)]
    allrows = np.concatenate(parts)
    return [allrows[:, i].copy() for i in range(ncols)]


class Runs:
    """Every guest run (vcpu_run) as arrays: start, end (ns), vm index into `vms` (-1 for an
    unattributed run), hw (host thread, -1 unknown), core (from hw or else the run's cpu)."""

    def __init__(self, db, tpc):
        sql = ("SELECT start_ts, end_ts, tgid, hw_thread, cpu FROM vcpu_run"
               " WHERE start_ts IS NOT NULL AND end_ts IS NOT NULL"
               if readable(db, "vcpu_run", ("start_ts", "end_ts", "tgid", "hw_thread", "cpu"))
               else "SELECT 1, 1, 1, 1, 1 WHERE 0")
        self.start, self.end, tgid, self.hw, cpu = load_columns(db, sql, 5)
        vms = np.unique(tgid[tgid >= 0])
        self.vms = vms.tolist()
        self.vm = np.where(tgid >= 0, np.searchsorted(vms, tgid), -1) if len(vms) else np.full(len(tgid), -1)
        where = np.where(self.hw >= 0, self.hw, cpu)
        self.core = np.where(where >= 0, where // tpc, -1)

    def __len__(self):
        return len(self.start)


class CoreRuns:
    """Every kvmppc_run_core window (core_run): start, end, core (cpu // tpc), split (0 = unknown)."""

    def __init__(self, db, tpc):
        sql = ("SELECT start_ts, end_ts, cpu, split FROM core_run WHERE start_ts IS NOT NULL AND end_ts IS NOT NULL"
               if readable(db, "core_run", ("start_ts", "end_ts", "cpu", "split")) else "SELECT 1, 1, 1, 1 WHERE 0")
        self.start, self.end, cpu, split = load_columns(db, sql, 4)
        self.core = np.where(cpu >= 0, cpu // tpc, -1)
        self.split = np.where(np.isin(split, (1, 2, 4)), split, 0)

    def __len__(self):
        return len(self.start)


def rects(ax, x0, x1, y0, y1, colours, zorder):
    """Draw many axis-aligned rectangles as one PolyCollection (fast; bars would be one patch
    each). All arguments are equal-length sequences except zorder; colours are RGBA tuples."""
    from matplotlib.collections import PolyCollection
    x0, x1, y0, y1 = (np.asarray(a, dtype=np.float64) for a in (x0, x1, y0, y1))
    if len(x0) == 0:
        return
    verts = np.stack([np.stack([x0, y0], 1), np.stack([x0, y1], 1),
                      np.stack([x1, y1], 1), np.stack([x1, y0], 1)], 1)
    ax.add_collection(PolyCollection(verts, facecolors=colours, edgecolors="none", linewidths=0, zorder=zorder))


def vm_colours(vms):
    cmap = plt.get_cmap("tab10" if len(vms) <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(len(vms))]


def overlap_per_bin(start, end, edges):
    """Total time the intervals [start, end) spend in each bin of `edges` (len(edges) - 1 values).

    G(t) = sum_i clip(t - s_i, 0, e_i - s_i) = sum_{s_i<t} (t - s_i) - sum_{e_i<t} (t - e_i),
    computed with sorted starts/ends and prefix sums; the bins are the differences of G."""
    if len(start) == 0:
        return np.zeros(len(edges) - 1)
    base = float(min(start.min(), edges[0]))
    s = np.sort(start.astype(np.float64) - base)
    e = np.sort(end.astype(np.float64) - base)
    t = np.asarray(edges, dtype=np.float64) - base
    cs = np.concatenate(([0.0], np.cumsum(s)))
    ce = np.concatenate(([0.0], np.cumsum(e)))
    ks = np.searchsorted(s, t, side="left")
    ke = np.searchsorted(e, t, side="left")
    g = (ks * t - cs[ks]) - (ke * t - ce[ke])
    return np.maximum(np.diff(g), 0.0)


NICE_LENGTHS = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001]


def busiest_second(runs, t0, t1):
    """Start (ns) of the busiest second [t0 + k s, t0 + (k+1) s) by guest-thread time (sum of
    the overlap of every vcpu_run with it); the earliest on ties."""
    nbins = max(1, math.ceil((t1 - t0) / 1e9))
    edges = t0 + np.arange(nbins + 1, dtype=np.float64) * 1e9
    busy = overlap_per_bin(runs.start, runs.end, edges)
    return int(t0 + int(np.argmax(busy)) * 1_000_000_000), busy


def choose_window(runs, t0, t1, bar_budget=1500):
    """The readable default window: inside the busiest second, the busiest sub-window of the
    longest length in NICE_LENGTHS (1 s, 0.5 s, 0.2 s, ...) at which the runs overlapping that
    second, scaled to the window, stay within `bar_budget` bars. Returns (start ns, length ns)."""
    sec, _ = busiest_second(runs, t0, t1)
    in_sec = int(np.count_nonzero((runs.end > sec) & (runs.start < sec + 1_000_000_000)))
    span_s = max(t1 - t0, 1) / 1e9
    per_s = in_sec / min(1.0, span_s)  # runs per second around the busiest second
    fits = [L for L in NICE_LENGTHS if L <= span_s] or [span_s]
    length = fits[-1]
    for L in fits:
        if per_s * L <= bar_budget:
            length = L
            break
    lns = int(round(length * 1e9))
    nsub = max(1, int(1_000_000_000 // lns))  # sub-windows that fit inside the second
    edges = sec + np.arange(nsub + 1, dtype=np.float64) * lns
    busy = overlap_per_bin(runs.start, runs.end, edges)
    return int(sec + int(np.argmax(busy)) * lns), lns


def shown_cores(keys_core, weights, limit=MAX_CORES):
    """The cores to draw: those with the most weight (guest time), at most `limit`, in order."""
    tot = {}
    for c, w in zip(keys_core.tolist(), weights.tolist()):
        if c >= 0:
            tot[c] = tot.get(c, 0) + w
    best = sorted(tot, key=lambda c: (-tot[c], c))[:limit]
    return sorted(best), len(tot)


def timeline(path, runs, cores, tpc, ws, wl, names=None):
    """Per-core timeline of hardware threads in [ws, ws + wl): one row per thread, guest runs
    coloured by VM, split-mode bands behind. Returns a note (str) about what was left out."""
    we = ws + wl
    sel = (runs.end > ws) & (runs.start < we) & (runs.hw >= 0)
    unplaced = int(np.count_nonzero((runs.end > ws) & (runs.start < we) & (runs.hw < 0)))
    rs, re_, rv, rh = runs.start[sel], runs.end[sel], runs.vm[sel], runs.hw[sel]
    rs_c = np.maximum(rs, ws)
    re_c = np.minimum(re_, we)
    csel = (cores.end > ws) & (cores.start < we)
    show, ncores = shown_cores(rh // tpc, (re_c - rs_c))
    if not show:
        return None
    slot = {c: i for i, c in enumerate(show)}
    pitch = tpc + 1
    h = 1.2 + 0.13 * pitch * len(show)
    fig, ax = plt.subplots(figsize=(12, max(3.0, min(h, 40))), dpi=DPI)
    scale = 1e6  # ns -> ms
    # split-mode bands and subcore boundaries
    from matplotlib.colors import to_rgba
    bx0, bx1, by0, bcol, lines = [], [], [], [], []
    for c, s, e, sp in zip(cores.core[csel].tolist(), cores.start[csel].tolist(),
                           cores.end[csel].tolist(), cores.split[csel].tolist()):
        if c not in slot:
            continue
        x0, x1 = (max(s, ws) - ws) / scale, (min(e, we) - ws) / scale
        y0 = slot[c] * pitch - 0.5
        bx0.append(x0)
        bx1.append(x1)
        by0.append(y0)
        bcol.append(to_rgba(SPLIT_COLOUR[sp]))
        if sp in (2, 4) and tpc % sp == 0:
            step = tpc // sp
            lines += [[(x0, y0 + k), (x1, y0 + k)] for k in range(step, tpc, step)]
    rects(ax, bx0, bx1, by0, np.asarray(by0) + tpc, bcol, 1)
    if lines:
        from matplotlib.collections import LineCollection
        ax.add_collection(LineCollection(lines, colors="#333333", linewidths=1.0, zorder=2))
    colours = vm_colours(runs.vms)
    keep = np.isin(rh // tpc, show)
    y = np.array([slot[c] * pitch + t for c, t in zip((rh[keep] // tpc).tolist(), (rh[keep] % tpc).tolist())])
    if len(y):
        col = [to_rgba(NOVM_COLOUR) if v < 0 else colours[v] for v in rv[keep].tolist()]
        rects(ax, (rs_c[keep] - ws) / scale, (re_c[keep] - ws) / scale, y - 0.375, y + 0.375, col, 3)
    ax.set_xlim(0, wl / scale)
    ax.set_ylim(len(show) * pitch - 0.5, -0.5)
    ticks = [slot[c] * pitch + t for c in show for t in range(tpc)]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"core {c} t{t}" if t == 0 else f"t{t}" for c in show for t in range(tpc)], fontsize=6)
    ax.set_xlabel(f"ms from {ws / 1e9:.6f} s (trace clock)")
    ax.set_title(f"Hardware threads by VM, {wl / 1e6:g} ms window; bands: split mode of the core")
    legend_vms(ax, runs.vms, colours, splits=True, names=names)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    notes = []
    if ncores > len(show):
        notes.append(f"{len(show)} of the {ncores} cores with guest runs in the window are drawn (most guest time)")
    if unplaced:
        notes.append(f"{unplaced} runs in the window have no known hardware thread and are not drawn")
    return "; ".join(notes)


def legend_vms(ax, vms, colours, splits, names=None):
    from matplotlib.patches import Patch
    names = names or {}

    def label(t):
        n = names.get(t)
        return f"VM {t} ({n[:24]})" if n and n != "-" else f"VM {t}"
    handles = [Patch(color=colours[i], label=label(t)) for i, t in enumerate(vms[:20])]
    handles.append(Patch(color=NOVM_COLOUR, label="VM unknown"))
    if splits:
        handles += [Patch(color=SPLIT_COLOUR[k], label=SPLIT_NAME[k]) for k in (1, 2, 4, 0)]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def overview(path, runs, cores, tpc, t0, t1, names=None, nbins=300):
    """Whole trace, one panel per core: busy hardware threads (guest-thread time per bin /
    bin length) stacked by VM, over a strip coloured by the split mode with the most core time
    in each bin."""
    if len(runs) == 0 or t1 <= t0:
        return None
    show, ncores = shown_cores(runs.core, runs.end - runs.start)
    if not show:
        return None
    edges = t0 + np.linspace(0, t1 - t0, nbins + 1)
    width = (t1 - t0) / nbins
    x = (edges[:-1] - t0) / 1e9
    colours = vm_colours(runs.vms)
    fig, axes = plt.subplots(len(show), 1, figsize=(12, 1.2 + 1.0 * len(show)), dpi=DPI, sharex=True, squeeze=False)
    for ax, c in zip(axes[:, 0], show):
        layers, cols = [], []
        for v in list(range(len(runs.vms))) + [-1]:
            m = (runs.core == c) & (runs.vm == v)
            if np.any(m):
                layers.append(overlap_per_bin(runs.start[m], runs.end[m], edges) / width)
                cols.append(NOVM_COLOUR if v < 0 else colours[v])
        if layers:
            ys = np.vstack(layers)
            ys = np.hstack([ys, ys[:, -1:]])  # step="post": repeat the last bin up to the last edge
            ax.stackplot(np.append(x, (t1 - t0) / 1e9), ys, colors=cols, step="post", linewidth=0)
        best = np.zeros(nbins)
        mode = np.zeros(nbins, dtype=np.int64) - 1
        for sp in (1, 2, 4, 0):
            m = (cores.core == c) & (cores.split == sp)
            if np.any(m):
                o = overlap_per_bin(cores.start[m], cores.end[m], edges)
                better = o > best
                mode[better] = sp
                best[better] = o[better]
        m = mode >= 0
        from matplotlib.colors import to_rgba
        rects(ax, x[m], x[m] + width / 1e9, np.full(np.count_nonzero(m), -2.0), np.full(np.count_nonzero(m), -0.3),
              [to_rgba(SPLIT_COLOUR[int(k)]) for k in mode[m]], 1)
        ax.set_ylim(-2.1, tpc)
        ax.set_yticks([0, tpc // 2, tpc])
        ax.set_ylabel(f"core {c}", fontsize=8)
    axes[-1, 0].set_xlim(0, (t1 - t0) / 1e9)
    axes[-1, 0].set_xlabel(f"s from the first event ({t0 / 1e9:.6f} s); strip: dominant split mode")
    axes[0, 0].set_title("Whole trace: busy hardware threads per core, by VM")
    legend_vms(axes[0, 0], runs.vms, colours, splits=True, names=names)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return f"{len(show)} of {ncores} cores drawn (most guest time)" if ncores > len(show) else ""


def bars(path, title, labels, series, ylabel):
    """Grouped bar chart: series = [(name, values)]."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=DPI)
    n = len(series)
    w = 0.8 / n
    x = np.arange(len(labels))
    for i, (name, vals) in enumerate(series):
        ax.bar(x + (i - (n - 1) / 2) * w, [0 if v is None else v for v in vals], width=w, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def cdf_lines(ax, named_values, xlabel):
    """One empirical CDF per (name, values-in-ns) on a log axis (µs)."""
    for name, vals in named_values:
        v = np.sort(np.asarray(vals, dtype=np.float64)) / 1e3
        if len(v) == 0:
            continue
        v = np.maximum(v, 1e-3)
        n = len(v)
        idx = np.unique(np.linspace(0, n - 1, min(n, 2000)).astype(np.int64))
        ax.step(v[idx], (idx + 1) / n, where="post", label=f"{name} (n={n})")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction ≤ x")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def wait_cdf(path, db):
    """CDF of vcpu_wait durations per VM."""
    groups = []
    for (tgid,) in hvdb.rows(db, "SELECT DISTINCT tgid FROM vcpu_wait ORDER BY tgid"):
        d = [r[0] for r in hvdb.rows(db, "SELECT end_ts - start_ts FROM vcpu_wait WHERE tgid IS ?", (tgid,))]
        groups.append(("VM unknown" if tgid is None else f"VM {tgid}", d))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=DPI)
    cdf_lines(ax, groups, "dispatch wait (µs, log)")
    ax.set_title("vCPU dispatch wait (runnable, not in the guest): CDF per VM")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def cede_block(path, db, have_runs, have_blocks):
    """Left: share of guest runs ending ceded, per VM. Right: block time CDF, poll vs slept."""
    panels = int(have_runs) + int(have_blocks)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5), dpi=DPI, squeeze=False)
    i = 0
    if have_runs:
        ax = axes[0, i]
        i += 1
        rows = hvdb.rows(db, "SELECT tgid, count(*), sum(ceded) FROM vcpu_run GROUP BY tgid ORDER BY tgid")
        labels = ["?" if t is None else str(t) for t, _, _ in rows]
        ced = [100.0 * (c or 0) / n for _, n, c in rows]
        ax.bar(labels, [100 - c for c in ced], color="#4c72b0", label="other exits")
        ax.bar(labels, ced, bottom=[100 - c for c in ced], color="#dd8452", label="ceded (H_CEDE)")
        ax.set_ylabel("% of guest runs")
        ax.set_xlabel("VM (tgid)")
        ax.set_title("Guest runs ending ceded")
        ax.legend(fontsize=8)
    if have_blocks:
        ax = axes[0, i]
        groups = []
        for w, name in ((0, "poll/immediate"), (1, "slept")):
            groups.append((name, [r[0] for r in hvdb.rows(db, "SELECT ns FROM vcore_block WHERE waited = ?", (w,))]))
        cdf_lines(ax, groups, "block time (µs, log)")
        ax.set_title("Vcore blocks: poll vs sleep")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
