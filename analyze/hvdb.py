"""Read an hvtrace store from Python: the report's data access, and a loader for notebooks.

An hvtrace store is one SQLite file (db/README.md): one table per event type
(`<system>__<event>`), the meta/task/lost/stats tables, and the derived interval tables
(core_run, core_run_vcpu, vcpu_run, hcall, vcore_block, vcpu_wait, violation, whatif).
This module opens such a file read-only after checking that it is one (the same checks as
hv_store_open in db/store.c), runs parameterised queries, and loads whole tables as plain
rows. Only the standard library is needed; `frame()` returns a pandas DataFrame when pandas
happens to be installed.

    import hvdb
    db = hvdb.open_db("trace.db")
    runs = hvdb.table(db, "vcpu_run")          # list of dicts
    df = hvdb.frame(db, "vcpu_run")            # DataFrame (pandas) or list of dicts
"""
import os
import sqlite3
import urllib.parse

APPLICATION_ID = 0x48565452  # "HVTR", db/hv_store.h
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"


class HvDbError(Exception):
    """The file is missing or is not an hvtrace store; the message names the file."""


def open_db(path):
    """Open an hvtrace store read-only; raise HvDbError naming the file if it is not one."""
    if not os.path.exists(path):
        raise HvDbError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise HvDbError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as e:
        raise HvDbError(f"{path}: {e.strerror}") from None
    if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
        raise HvDbError(f"{path}: not an hvtrace database (not an SQLite file)")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        appid = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as e:
        raise HvDbError(f"{path}: not a readable SQLite database ({e})") from None
    if appid != APPLICATION_ID:
        db.close()
        raise HvDbError(f"{path}: not an hvtrace database (SQLite, but not written by hvtrace)")
    if version > SCHEMA_VERSION:
        db.close()
        raise HvDbError(f"{path}: written by a newer hvtrace (schema version {version}; "
                        f"this report reads up to {SCHEMA_VERSION})")
    return db


def has_table(db, name):
    """True if the table exists."""
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return row is not None


def has_rows(db, name):
    """True if the table exists and holds at least one row."""
    if not has_table(db, name):
        return False
    return db.execute(f'SELECT EXISTS (SELECT 1 FROM "{quote_ident(name)}")').fetchone()[0] == 1


def columns(db, name):
    """Column names of a table, in table order."""
    return [r[1] for r in db.execute(f'PRAGMA table_info("{quote_ident(name)}")')]


def quote_ident(name):
    """Escape a table name for use inside double quotes (table names cannot be bound)."""
    return name.replace('"', '""')


def rows(db, sql, params=()):
    """Run a parameterised query; return a list of tuples."""
    return db.execute(sql, params).fetchall()


def dict_rows(db, sql, params=()):
    """Run a parameterised query; return a list of dicts keyed by column name."""
    cur = db.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def scalar(db, sql, params=()):
    """First column of the first row, or None."""
    r = db.execute(sql, params).fetchone()
    return r[0] if r else None


def table(db, name, where="", params=()):
    """Every row of a table (optionally filtered by an SQL WHERE clause with ? parameters),
    as dicts in rowid order."""
    if not has_table(db, name):
        raise HvDbError(f"no table {name}")
    sql = f'SELECT * FROM "{quote_ident(name)}"' + (f" WHERE {where}" if where else "")
    return dict_rows(db, sql, params)


def frame(db, name, where="", params=()):
    """A table as a pandas DataFrame when pandas is installed, else as a list of dicts."""
    data = table(db, name, where, params)
    try:
        import pandas
    except ImportError:
        return data
    return pandas.DataFrame(data, columns=columns(db, name))


def meta(db):
    """The meta table as a dict (empty when absent)."""
    if not has_table(db, "meta"):
        return {}
    return {k: v for k, v in rows(db, "SELECT key, value FROM meta")}


def event_tables(db):
    """Names of the event tables (`<system>__<event>`) listed in event_type."""
    if not has_table(db, "event_type"):
        return []
    return [r[0] for r in rows(db, "SELECT tbl FROM event_type ORDER BY id") if has_table(db, r[0])]
