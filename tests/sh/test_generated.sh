#!/bin/sh
# The generated files come from the one definition: EVENTS.md in the tree is what gen.py
# writes now, the generated C and format files agree with the build, and gen.py rejects a
# definition it cannot lay out.
. tests/sh/lib.sh
/usr/bin/python3 tracepoints/gen.py tracepoints/events.def tracepoints/symbols "$T/gen" "$T/formats" "$T/EVENTS.md" "$T/trace_hv_sched.h"
check "tracepoints/EVENTS.md is up to date with events.def" cmp -s "$T/EVENTS.md" tracepoints/EVENTS.md
check "tracepoints/linux/trace_hv_sched.h is up to date with events.def" cmp -s "$T/trace_hv_sched.h" tracepoints/linux/trace_hv_sched.h
n=$(grep -c '^TRACE_EVENT(' tracepoints/linux/trace_hv_sched.h)
m=$(grep -c '^event kvm_hv_sched ' tracepoints/events.def)
check "the kernel header defines every decision event ($n = $m)" [ "$n" -eq "$m" ]
check "the build's generated header is up to date" cmp -s "$T/gen/hv_events.h" "$BUILD/gen/hv_events.h"
check "the build's format files are up to date" diff -r -q "$T/formats" "$BUILD/formats" -x .stamp
n=$(find "$T/formats" -name format | wc -l)
m=$(grep -c '^event ' tracepoints/events.def)
check "one format file per defined event ($n = $m)" [ "$n" -eq "$m" ]
printf 'event x y\nfloat f\nprint "%%f", REC->f\n' > "$T/bad.def"
/usr/bin/python3 tracepoints/gen.py "$T/bad.def" tracepoints/symbols "$T/g2" "$T/f2" "$T/E2.md" 2>"$T/err"; rc=$?
check "gen.py rejects an unknown type, naming the line" sh -c "[ $rc -ne 0 ] && grep -q 'bad.def:2' '$T/err'"
printf 'event x y\nint a\nprint "%%d", @nosuch\n' > "$T/bad2.def"
/usr/bin/python3 tracepoints/gen.py "$T/bad2.def" tracepoints/symbols "$T/g3" "$T/f3" "$T/E3.md" 2>"$T/err"; rc=$?
check "gen.py rejects an unknown symbol table" sh -c "[ $rc -ne 0 ] && grep -q 'nosuch' '$T/err'"
finish
