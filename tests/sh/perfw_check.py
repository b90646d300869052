#!/usr/bin/python3
"""Compare perf's decoding of an exported perf.data (perfw_perf_dump.py output) with the
store's rows (helper_perfw_db dump output), event by event and field by field.

usage: perfw_check.py EXPECTED PERF_OUTPUT
Prints one line per problem (at most 20) and a summary; exits 1 if anything differs.
An integer field matches when perf's value and the stored value are the same bit pattern of
the field's size (perf may or may not sign-extend); strings must be equal.
"""
import collections
import sys


def load_expected(path):
    rows = []
    for line in open(path, encoding='utf-8', errors='replace'):
        parts = line.rstrip('\n').split('\t')
        name, tid, pid, cpu, ts, comm = parts[:6]
        fields = {}
        for p in parts[6:]:
            fname, kind, rest = p.split(':', 2)
            if kind == 's':
                fields[fname] = ('s', rest)
            else:
                size, value = rest.split(':', 1)
                fields[fname] = ('i', int(kind), int(value))
        rows.append((name, int(tid), int(pid), int(cpu), int(ts), comm, fields))
    return rows


def load_perf(path):
    rows = []
    for line in open(path, encoding='utf-8', errors='replace'):
        parts = line.rstrip('\n').split('\t')
        if len(parts) < 6 or ':' not in parts[0]:
            continue
        fields = {}
        for p in parts[6:]:
            k, v = p.split('=', 1)
            fields[k] = v
        rows.append((parts[0], int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]), parts[5], fields))
    return rows


def same_int(size, want, got):
    try:
        g = int(got)
    except ValueError:
        return False
    bits = 8 * size
    if not -(1 << (bits - 1)) <= g < (1 << bits):
        return False
    return (g - want) % (1 << bits) == 0


def compare(exp, got):
    problems = []
    ce = collections.Counter(r[0] for r in exp)
    cg = collections.Counter(r[0] for r in got)
    for name in sorted(set(ce) | set(cg)):
        if ce[name] != cg[name]:
            problems.append('%s: %d events in the store, perf shows %d' % (name, ce[name], cg[name]))
    nfields = 0
    for i, (e, g) in enumerate(zip(exp, got)):
        where = 'event %d (%s at %d)' % (i, e[0], e[4])
        for label, a, b in (('name', e[0], g[0]), ('tid', e[1], g[1]), ('pid', e[2], g[2]),
                            ('cpu', e[3], g[3]), ('time', e[4], g[4])):
            if a != b:
                problems.append('%s: %s %r != perf %r' % (where, label, a, b))
        want_comm = e[5] or ':%d' % e[1]
        if g[5] != want_comm:
            problems.append('%s: comm %r != perf %r' % (where, want_comm, g[5]))
        if not same_int(4, e[1], g[6].get('common_pid', 'missing')):
            problems.append('%s: common_pid %r != tid %d' % (where, g[6].get('common_pid'), e[1]))
        gf = {k: v for k, v in g[6].items() if k != 'common_pid'}
        if set(gf) != set(e[6]):
            problems.append('%s: fields %s != perf %s' % (where, sorted(e[6]), sorted(gf)))
            continue
        for fname, spec in e[6].items():
            nfields += 1
            ok = gf[fname] == spec[1] if spec[0] == 's' else same_int(spec[1], spec[2], gf[fname])
            if not ok:
                problems.append('%s: %s = %r, perf %r' % (where, fname, spec[-1], gf[fname]))
    if len(exp) != len(got):
        problems.append('%d events in the store, perf printed %d' % (len(exp), len(got)))
    return problems, nfields


def main():
    exp = load_expected(sys.argv[1])
    got = load_perf(sys.argv[2])
    problems, nfields = compare(exp, got)
    for p in problems[:20]:
        print('# ' + p)
    print('# %d events, %d types, %d fields compared, %d problems'
          % (len(got), len(set(r[0] for r in got)), nfields, len(problems)))
    return 1 if problems or not exp else 0


if __name__ == '__main__':
    sys.exit(main())
