#!/usr/bin/env python3
"""Generate everything hvtrace derives from tracepoints/events.def.

usage: gen.py EVENTS_DEF SYMBOLS_DIR OUT_GEN_DIR OUT_FORMATS_DIR EVENTS_MD [KERNEL_HEADER]

Writes OUT_GEN_DIR/hv_events.h and hv_events.c (C descriptors, native structs, SQL DDL,
format text, symbol tables), OUT_GEN_DIR/schema.sql, one tracefs-like
OUT_FORMATS_DIR/<system>/<event>/format per event, and EVENTS_MD. Offsets follow natural
LP64 alignment after the 8-byte ftrace common header, as on ppc64 and ppc64le.
"""
import os
import re
import sys

FIRST_ID = 2000          # ftrace ids of generated formats (a real kernel assigns its own)
COMMON_COLUMNS = ("seq", "ts", "cpu", "pid")
C_CLASHES = ("errno", "new", "old", "default", "register", "signed", "unsigned")  # macros/keywords

# C type -> (size, signed, C type of the native struct member)
SCALARS = {
    "s8": (1, 1, "int8_t"), "s16": (2, 1, "int16_t"), "s32": (4, 1, "int32_t"),
    "s64": (8, 1, "int64_t"), "u8": (1, 0, "uint8_t"), "u16": (2, 0, "uint16_t"),
    "u32": (4, 0, "uint32_t"), "u64": (8, 0, "uint64_t"), "__u32": (4, 0, "uint32_t"),
    "__u64": (8, 0, "uint64_t"), "int": (4, 1, "int32_t"), "long": (8, 1, "int64_t"),
    "unsigned int": (4, 0, "uint32_t"), "unsigned long": (8, 0, "uint64_t"),
    "pid_t": (4, 1, "int32_t"), "bool": (1, 0, "uint8_t"),
}
COMMON = [("unsigned short", "common_type", 0, 2, 0), ("unsigned char", "common_flags", 2, 1, 0),
          ("unsigned char", "common_preempt_count", 3, 1, 0), ("int", "common_pid", 4, 4, 1)]


def die(msg):
    sys.exit("gen.py: " + msg)


def load_symbols(sdir):
    tabs = {}
    for fn in sorted(os.listdir(sdir)):
        if not fn.endswith(".tsv"):
            continue
        rows = []
        for ln, line in enumerate(open(os.path.join(sdir, fn)), 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                die("%s:%d: expected value<TAB>name" % (fn, ln))
            rows.append((parts[0], int(parts[0], 0), parts[1]))
        tabs[fn[:-4]] = rows
    return tabs


def parse_events(path):
    events, cur = [], None
    for ln, raw in enumerate(open(path), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = "%s:%d" % (path, ln)
        if line.startswith("event "):
            parts = line.split()
            if len(parts) != 3:
                die(where + ": event SYSTEM NAME")
            cur = {"system": parts[1], "name": parts[2], "fields": [], "print": None, "doc": ""}
            events.append(cur)
            continue
        if cur is None:
            die(where + ": field outside an event")
        if line.startswith("print "):
            cur["print"] = line[len("print "):]
        elif line.startswith("doc "):
            cur["doc"] = line[len("doc "):]
        else:
            m = re.match(r"^(.*\S)\s+(\w+)(?:\[(\d+)\])?$", line)
            if not m:
                die(where + ": cannot parse field: " + line)
            ctype, name, count = m.group(1), m.group(2), m.group(3)
            if count:
                if ctype != "char":
                    die(where + ": only char arrays are allowed")
                size, signed, kind = int(count), 0, "str"
            elif ctype in SCALARS:
                size, signed, _ = SCALARS[ctype]
                kind = "int"
            else:
                die(where + ": unknown type " + ctype)
            if any(f["name"] == name for f in cur["fields"]):
                die(where + ": duplicate field " + name)
            cur["fields"].append({"ctype": ctype, "name": name, "count": int(count or 0),
                                  "size": size, "signed": signed, "kind": kind})
    names = [e["name"] for e in events]
    if len(set(names)) != len(names):
        die("event names must be unique across systems")
    for e in events:
        if not e["print"]:
            die("event %s has no print line" % e["name"])
    return events


def layout(ev):
    off = 8
    align_max = 8
    for f in ev["fields"]:
        a = 1 if f["kind"] == "str" else f["size"]
        off = (off + a - 1) // a * a
        f["offset"] = off
        off += f["size"]
    ev["size"] = (off + align_max - 1) // align_max * align_max


def expand_print(text, tabs, where):
    def sub(m):
        name, prefix = m.group(1), m.group(2) or ""
        if name not in tabs:
            die("%s: unknown symbol table @%s" % (where, name))
        return ", ".join('{%s, "%s%s"}' % (v, prefix, n) for v, _, n in tabs[name])
    return re.sub(r"@(\w+)(?:/(\w+))?", sub, text)


def column_name(field):
    return "f_" + field if field in COMMON_COLUMNS else field


def format_text(ev, eid):
    out = ["name: %s" % ev["name"], "ID: %d" % eid, "format:"]
    for ctype, name, off, size, signed in COMMON:
        out.append("\tfield:%s %s;\toffset:%d;\tsize:%d;\tsigned:%d;" % (ctype, name, off, size, signed))
    out.append("")
    for f in ev["fields"]:
        decl = "%s %s[%d]" % (f["ctype"], f["name"], f["count"]) if f["count"] else "%s %s" % (f["ctype"], f["name"])
        out.append("\tfield:%s;\toffset:%d;\tsize:%d;\tsigned:%d;" % (decl, f["offset"], f["size"], f["signed"]))
    out.append("")
    out.append("print fmt: " + ev["print_expanded"])
    return "\n".join(out) + "\n"


def ddl(ev):
    cols = ["seq INTEGER PRIMARY KEY", "ts INTEGER NOT NULL", "cpu INTEGER NOT NULL", "pid INTEGER NOT NULL"]
    for f in ev["fields"]:
        cols.append('"%s" %s' % (column_name(f["name"]), "TEXT" if f["kind"] == "str" else "INTEGER"))
    return 'CREATE TABLE "%s__%s" (%s)' % (ev["system"], ev["name"], ", ".join(cols))


def cname(field):
    """Member name in the native C struct (a field named like a C macro gets a '_')."""
    return field + "_" if field in C_CLASHES else field


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def upper(name):
    return name.upper()


def write_if_changed(path, text):
    if os.path.exists(path) and open(path).read() == text:
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def gen_header(events, tabs):
    h = ["/* Generated by tracepoints/gen.py from tracepoints/events.def. Do not edit. */",
         "#ifndef HV_EVENTS_GEN_H", "#define HV_EVENTS_GEN_H", "", "#include <stdint.h>",
         '#include "hv_event_def.h"', "", "enum hv_event_id {"]
    for i, e in enumerate(events):
        h.append("\tHV_EV_%s = %d,\t/* %s:%s */" % (upper(e["name"]), i, e["system"], e["name"]))
    h += ["\tHV_EV_COUNT = %d" % len(events), "};", ""]
    h.append("#define HV_MAX_EVENT_FIELDS %d" % max(len(e["fields"]) for e in events))
    h.append("")
    for e in events:
        h.append("/* %s:%s, %d bytes on the wire */" % (e["system"], e["name"], e["size"]))
        h.append("struct hv_ev_%s {" % e["name"])
        for f in e["fields"]:
            if f["kind"] == "str":
                h.append("\tchar %s[%d];" % (cname(f["name"]), f["count"]))
            else:
                h.append("\t%s %s;" % (SCALARS[f["ctype"]][2], cname(f["name"])))
        h.append("};")
        h.append("enum {")
        for i, f in enumerate(e["fields"]):
            h.append("\tHV_F_%s_%s = %d," % (upper(e["name"]), upper(f["name"]), i))
        h.append("};")
        h.append("")
    h.append("extern const struct hv_event_def hv_events[HV_EV_COUNT];")
    for t in sorted(tabs):
        h.append("extern const struct hv_symtab hv_sym_%s;" % t)
    h.append("extern const struct hv_symtab *const hv_symtabs[];")
    h.append("extern const char hv_schema_sql[];")
    h += ["", "#endif", ""]
    return "\n".join(h)


def gen_source(events, tabs):
    c = ["/* Generated by tracepoints/gen.py from tracepoints/events.def. Do not edit. */",
         "#include <stddef.h>", '#include "hv_events.h"', ""]
    for e in events:
        c.append("static const struct hv_field_def fields_%s[] = {" % e["name"])
        for f in e["fields"]:
            c.append("\t{ %s, %s, %s, %d, %d, %d, %s, %d }," % (
                cstr(f["name"]), cstr(column_name(f["name"])),
                cstr("%s[%d]" % (f["ctype"], f["count"]) if f["count"] else f["ctype"]),
                f["offset"], f["size"], f["signed"],
                "HV_FK_STR" if f["kind"] == "str" else "HV_FK_INT",
                1 if f["ctype"] in ("long", "unsigned long") else 0))
        c.append("};")
    c.append("")
    c.append("const struct hv_event_def hv_events[HV_EV_COUNT] = {")
    for i, e in enumerate(events):
        c.append("\t{ %s, %s, %d, %d, %d, fields_%s,\n\t  %s,\n\t  %s,\n\t  %s,\n\t  %s }," % (
            cstr(e["system"]), cstr(e["name"]), FIRST_ID + i, len(e["fields"]), e["size"], e["name"],
            cstr(e["print_expanded"]), cstr(e["format"]), cstr(e["ddl"]), cstr(e["doc"])))
    c.append("};")
    c.append("")
    for t in sorted(tabs):
        c.append("static const struct hv_sym syms_%s[] = {" % t)
        for v, iv, n in tabs[t]:
            c.append("\t{ %dLL, %s }," % (iv, cstr(n)))
        c.append("};")
        c.append("const struct hv_symtab hv_sym_%s = { %s, %d, syms_%s };" % (t, cstr(t), len(tabs[t]), t))
    c.append("const struct hv_symtab *const hv_symtabs[] = {")
    for t in sorted(tabs):
        c.append("\t&hv_sym_%s," % t)
    c.append("\tNULL\n};")
    c.append("")
    c.append("const char hv_schema_sql[] =")
    for e in events:
        c.append("\t%s" % cstr(e["ddl"] + ";\n"))
    c.append("\t;")
    return "\n".join(c) + "\n"


def gen_markdown(events, tabs):
    m = ["# hvtrace events", "",
         "Generated by `tracepoints/gen.py` from `tracepoints/events.def`; do not edit. Offsets are",
         "those of a 64-bit POWER kernel (LP64, 8-byte common header). Each event is stored in the",
         "table `<system>__<event>` with columns `seq, ts, cpu, pid` and then its fields (a field",
         "named like a common column is stored as `f_<name>`).", ""]
    systems = []
    for e in events:
        if e["system"] not in systems:
            systems.append(e["system"])
    for s in systems:
        m.append("## System `%s`" % s)
        m.append("")
        for e in (x for x in events if x["system"] == s):
            m.append("### `%s:%s`" % (s, e["name"]))
            m.append("")
            m.append(e["doc"])
            m.append("")
            m.append("| field | C type | offset | size | signed |")
            m.append("|---|---|---|---|---|")
            for f in e["fields"]:
                t = "%s[%d]" % (f["ctype"], f["count"]) if f["count"] else f["ctype"]
                m.append("| %s | %s | %d | %d | %d |" % (f["name"], t, f["offset"], f["size"], f["signed"]))
            m.append("")
            m.append("print: `%s`" % e["print"].replace("`", "'"))
            m.append("")
    m.append("## Symbol tables (`tracepoints/symbols/`)")
    m.append("")
    m.append("| table | entries | first | last |")
    m.append("|---|---|---|---|")
    for t in sorted(tabs):
        rows = tabs[t]
        m.append("| %s | %d | %s %s | %s %s |" % (t, len(rows), rows[0][0], rows[0][2], rows[-1][0], rows[-1][2]))
    m.append("")
    return "\n".join(m)


KERNEL_TYPES = {"s8": "s8", "s16": "s16", "s32": "s32", "s64": "s64", "u8": "u8", "u16": "u16",
                "u32": "u32", "u64": "u64", "__u32": "u32", "__u64": "u64", "int": "int", "long": "long",
                "unsigned int": "unsigned int", "unsigned long": "unsigned long", "pid_t": "pid_t",
                "bool": "bool"}


def gen_kernel_header(events):
    """TRACE_EVENT definitions of the kvm_hv_sched events. Each takes a pointer to a struct of
    its values (so no event exceeds the argument limits of BPF raw tracepoints); the hook
    code in tracepoints/linux/ fills the struct from the kernel's own state."""
    h = ["/* SPDX-License-Identifier: GPL-2.0 */",
         "/* Generated by hvtrace tracepoints/gen.py from tracepoints/events.def. Do not edit. */",
         "#undef TRACE_SYSTEM", "#define TRACE_SYSTEM kvm_hv_sched", "",
         "#if !defined(_TRACE_KVM_HV_SCHED_H) || defined(TRACE_HEADER_MULTI_READ)",
         "#define _TRACE_KVM_HV_SCHED_H", "", "#include <linux/tracepoint.h>", "",
         "#ifndef HVTRACE_SCHED_STRUCTS", "#define HVTRACE_SCHED_STRUCTS"]
    sched = [e for e in events if e["system"] == "kvm_hv_sched"]
    for e in sched:
        h.append("struct hvtrace_%s {" % e["name"])
        for f in e["fields"]:
            h.append("	%s %s;" % (KERNEL_TYPES[f["ctype"]], f["name"]))
        h.append("};")
    h += ["#endif", ""]
    for e in sched:
        h.append("/* %s */" % e["doc"])
        h.append("TRACE_EVENT(%s," % e["name"])
        h.append("	TP_PROTO(const struct hvtrace_%s *v)," % e["name"])
        h.append("	TP_ARGS(v),")
        h.append("	TP_STRUCT__entry(")
        for f in e["fields"]:
            h.append("		__field(%s, %s)" % (KERNEL_TYPES[f["ctype"]], f["name"]))
        h.append("	),")
        h.append("	TP_fast_assign(")
        for f in e["fields"]:
            h.append("		__entry->%s = v->%s;" % (f["name"], f["name"]))
        h.append("	),")
        h.append("	TP_printk(%s)" % e["print_expanded"].replace("REC->", "__entry->"))
        h.append(");")
        h.append("")
    h += ["#endif /* _TRACE_KVM_HV_SCHED_H */", "", "#undef TRACE_INCLUDE_PATH",
          "#undef TRACE_INCLUDE_FILE", "#define TRACE_INCLUDE_PATH .",
          "#define TRACE_INCLUDE_FILE trace_hv_sched", "#include <trace/define_trace.h>", ""]
    return "\n".join(h)


def main():
    if len(sys.argv) not in (6, 7):
        die(__doc__)
    defs, sdir, gdir, fdir, md = sys.argv[1:6]
    tabs = load_symbols(sdir)
    events = parse_events(defs)
    for i, e in enumerate(events):
        layout(e)
        e["print_expanded"] = expand_print(e["print"], tabs, e["name"])
        e["format"] = format_text(e, FIRST_ID + i)
        e["ddl"] = ddl(e)
    write_if_changed(os.path.join(gdir, "hv_events.h"), gen_header(events, tabs))
    write_if_changed(os.path.join(gdir, "hv_events.c"), gen_source(events, tabs))
    write_if_changed(os.path.join(gdir, "schema.sql"),
                     "-- Generated by tracepoints/gen.py from tracepoints/events.def.\n" +
                     "".join(e["ddl"] + ";\n" for e in events))
    for e in events:
        write_if_changed(os.path.join(fdir, e["system"], e["name"], "format"), e["format"])
    write_if_changed(md, gen_markdown(events, tabs))
    if len(sys.argv) == 7:
        write_if_changed(sys.argv[6], gen_kernel_header(events))


if __name__ == "__main__":
    main()
