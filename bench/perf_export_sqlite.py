# perf_export_sqlite.py: a perf-script Python exporter of tracepoint events to SQLite, written the
# way a user would (one table per event type with every field, rows buffered and written with
# executemany, all in one transaction). It is the peer hvtrace import is measured against in the
# import benchmark (bench/run.sh); it is not used by hvtrace itself.
#
# Usage: perf script -i perf.data -s bench/perf_export_sqlite.py OUT.db
# Needs a perf built with Python scripting (Debian's linux-perf has it).
import os
import sqlite3
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "perf-export.db"
SKIP = ("common_callchain",)
BATCH = 10000

db = None
tables = {}     # event name -> (table, field names, insert statement, pending rows)


def trace_begin():
    global db
    if os.path.exists(OUT):
        os.unlink(OUT)
    db = sqlite3.connect(OUT)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")


def table_for(event_name, fields):
    table = event_name.replace(":", "__")
    names = [k for k in fields if k not in SKIP]
    cols = ", ".join('"%s"' % n for n in names)
    db.execute('CREATE TABLE "%s" (seq INTEGER PRIMARY KEY, ts INTEGER, %s)' % (table, cols))
    sql = 'INSERT INTO "%s" (seq, ts, %s) VALUES (%s)' % (table, cols, ", ".join("?" * (len(names) + 2)))
    entry = (table, names, sql, [])
    tables[event_name] = entry
    return entry


seq = 0


def value(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, (list, tuple)):
        return bytes(bytearray(x & 0xff for x in v))
    if isinstance(v, int) and v >= 1 << 63:
        return v - (1 << 64)   # SQLite integers are signed 64-bit
    return v


def trace_unhandled(event_name, context, event_fields_dict, perf_sample_dict=None):
    global seq
    entry = tables.get(event_name) or table_for(event_name, event_fields_dict)
    seq += 1
    ts = event_fields_dict["common_s"] * 1000000000 + event_fields_dict["common_ns"]
    row = [seq, ts] + [value(event_fields_dict.get(n)) for n in entry[1]]
    entry[3].append(row)
    if len(entry[3]) >= BATCH:
        db.executemany(entry[2], entry[3])
        del entry[3][:]


def trace_end():
    for table, names, sql, rows in tables.values():
        if rows:
            db.executemany(sql, rows)
    db.execute("COMMIT")
    db.close()
    sys.stderr.write("perf_export_sqlite: %d events in %d tables -> %s\n" % (seq, len(tables), OUT))
