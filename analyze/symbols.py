"""Symbol names (trap vectors, hcall numbers, decision-event enums) for the report.

The names live in tracepoints/symbols/*.tsv (one `value<TAB>name` per line, `#` comments),
the same files the C build turns into hv_sym_* tables. The report reads them from
`../tracepoints/symbols` relative to this directory: that is the source tree's copy when run
from a checkout, and the copy `make install` puts in $(PREFIX)/share/hvtrace/tracepoints/symbols
next to $(PREFIX)/share/hvtrace/analyze. $HVTRACE_SYMBOLS overrides the directory. A missing
directory or file gives empty tables (the report then shows numbers without names).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def symbols_dir():
    return os.environ.get("HVTRACE_SYMBOLS") or os.path.join(HERE, "..", "tracepoints", "symbols")


def load(name, directory=None):
    """One table as {value: name}; {} when the file is missing."""
    path = os.path.join(directory or symbols_dir(), name + ".tsv")
    table = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split("\t")
                if len(parts) < 2:
                    continue
                try:
                    table[int(parts[0], 0)] = parts[1].strip()
                except ValueError:
                    continue
    except OSError:
        return {}
    return table


class Symbols:
    """The tables the report names values with."""

    def __init__(self, directory=None):
        self.traps = load("traps", directory)
        for k, v in load("traps_extra", directory).items():
            self.traps.setdefault(k, v)
        self.hcalls = load("hcalls", directory)
        self.cede_outcome = load("cede_outcome", directory)

    @staticmethod
    def name(table, value):
        if value is None:
            return "-"
        return table.get(value, table.get(value & 0xFFFFFFFFFFFFFFFF, "-"))
