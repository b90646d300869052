#!/bin/sh
# bench_import.sh: `hvtrace import` on real perf.data recordings made now on this machine,
# against the peers measured in the same run on the same files: `perf script > /dev/null`
# and a user-written perf-script Python exporter to SQLite (bench/perf_export_sqlite.py).
#
#   sh bench/bench_import.sh            (from the repo root, after `make`; `make bench` runs it)
#
# Recording: `perf record -e 'kvm:*' -e 'sched:*' -a` around the project's tiny KVM guest
# (tests/c/helper_tinyguest.c). Where /dev/kvm is missing or unusable the kvm:* events cannot
# fire, and `perf bench sched pipe` (a pipe ping-pong) runs under the same perf command line
# instead; the line "workload:" says which. The workload's length is calibrated on a short run
# so that the recordings hold about BENCH_EVENTS and BENCH_BIG_EVENTS samples; the big one is
# recorded for longer (not made by repeating a file), so its events are as real as the other's.
#
# Printed: per file, events, wall and CPU (user+sys) time, M events/s and peak RSS
# (/usr/bin/time -v) of each tool, and the ratios; the counts imported are checked against
# `perf report --stats`. Targets (issue 4): import >= 1 M events/s, >= 3x perf script,
# >= 20x the Python exporter, peak memory of the big import <= that of the 5 M import (medians
# of BENCH_MEM_RUNS alternate runs of each under bench_peak: exact RssAnon and VmRSS sampled
# from /proc, and the kernel's approximate ru_maxrss).
#
# Knobs (environment): BENCH_EVENTS (default 5000000), BENCH_BIG_EVENTS (20000000; 0 skips),
# BENCH_PY_EVENTS (events of the recording the slow Python exporter runs on, 1000000; the
# import is timed on that same file for the ratio), BENCH_MEM_RUNS (5), BENCH_CALLGRIND=1
# (instructions per event of import and perf script under valgrind's callgrind, on a
# 200000-event recording: a figure that does not depend on the load of the machine),
# BENCH_DIR (scratch directory, kept), BUILD (build directory). Skips (exit 0) when perf
# cannot record tracepoints here.
set -u
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$(pwd)/$BUILD/hvtrace}
GUEST=$(pwd)/$BUILD/tests/helper_tinyguest
EXPORTER=$(pwd)/bench/perf_export_sqlite.py
PEAK=$(pwd)/$BUILD/bench/bench_peak
EVENTS=${BENCH_EVENTS:-5000000}
BIG=${BENCH_BIG_EVENTS:-20000000}
PYEV=${BENCH_PY_EVENTS:-1000000}
MEM_RUNS=${BENCH_MEM_RUNS:-5}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/hvtrace-bench.XXXXXX)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR"
TIME=/usr/bin/time
. bench/timing.sh

if ! command -v perf >/dev/null 2>&1 || ! perf record -q -e sched:sched_switch -o "$DIR/probe.data" -- true >/dev/null 2>&1; then
	echo "skip - bench_import: perf cannot record sched tracepoints here (needs root and tracefs)"
	exit 0
fi
[ -x "$HVTRACE" ] || { echo "bench_import: $HVTRACE not built"; exit 2; }
[ -x "$PEAK" ] || { echo "bench_import: $PEAK not built (make bench builds it)"; exit 2; }
[ -x "$TIME" ] || { echo "skip - bench_import: $TIME (GNU time) is missing"; exit 0; }

# ---- the workload ----
if [ -x "$GUEST" ] && "$GUEST" 1 >/dev/null 2>&1; then
	WORKLOAD=guest
	echo "workload: tests/c/helper_tinyguest (a real KVM guest on /dev/kvm) under perf record -e 'kvm:*' -e 'sched:*' -a"
else
	WORKLOAD=pipe
	echo "workload: /dev/kvm is missing or unusable here, so kvm:* events cannot fire; 'perf bench sched pipe'"
	echo "          runs under the same perf record -e 'kvm:*' -e 'sched:*' -a (sched:* events, all CPUs)"
fi

samples() { perf report -i "$1" --stats 2>/dev/null | awk '/^ *SAMPLE events:/ { print $3; exit }'; }

record() { # file iterations
	if [ "$WORKLOAD" = guest ]; then
		perf record -q -m 16M -e 'kvm:*' -e 'sched:*' -a -o "$1" -- "$GUEST" "$2" >/dev/null 2>&1
	else
		perf record -q -m 16M -e 'kvm:*' -e 'sched:*' -a -o "$1" -- perf bench sched pipe -l "$2" >/dev/null 2>&1
	fi
}

# iterations for about $1 events, from the calibration run (cal_iter iterations -> cal_ev events)
iters_for() { awk -v want="$1" -v i="$cal_iter" -v e="$cal_ev" 'BEGIN { n = want * i / e; if (n < 1) n = 1; printf "%d\n", n }'; }

cal_iter=20000
record "$DIR/cal.data" $cal_iter
cal_ev=$(samples "$DIR/cal.data")
[ -n "$cal_ev" ] && [ "$cal_ev" -gt 0 ] || { echo "skip - bench_import: the calibration recording holds no samples"; exit 0; }

# ---- measuring ----

# timed LABEL-FILE COMMAND...: run under GNU time; sets T_WALL T_CPU T_KB
timed() {
	out=$1
	shift
	$TIME -v "$@" 2>"$out" >/dev/null
	T_WALL=$(wall_s "$out"); T_CPU=$(cpu_s "$out"); T_KB=$(peak_kb "$out")
}

import_file() { # file -> I_WALL I_CPU I_KB I_N
	rm -f "$DIR/b.db"
	timed "$DIR/t.imp" "$HVTRACE" import "$1" -o "$DIR/b.db" --force --quiet
	I_WALL=$T_WALL; I_CPU=$T_CPU; I_KB=$T_KB
	I_N=$("$HVTRACE" sql "$DIR/b.db" "SELECT value FROM meta WHERE key = 'events'" 2>/dev/null | sed -n 2p)
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
line() { # tool events wall cpu kb
	printf "  %-22s %9d events %7.2f s wall %7.2f s CPU %8s M ev/s %8s M ev/s of CPU %6.0f MB peak\n" \
		"$1" "$2" "$3" "$4" "$(rate "$2" "$3")" "$(rate "$2" "$4")" "$(awk -v k="$5" 'BEGIN { print k / 1024 }')"
}
check_count() { # label file imported
	want=$(samples "$2")
	if [ "$want" = "$3" ]; then
		echo "  events imported = perf report --stats SAMPLE count ($3)"
	else
		echo "  NOTE $1: imported $3 events, perf report --stats counts $want samples"
	fi
}

echo "bench_import: recordings in $DIR (calibration: $cal_iter iterations -> $cal_ev events)"
record "$DIR/main.data" "$(iters_for "$EVENTS")"
echo "== ~$EVENTS events: $(du -m "$DIR/main.data" | cut -f1) MB perf.data"
"$HVTRACE" import "$DIR/main.data" -o "$DIR/b.db" --force --quiet >/dev/null 2>&1	# page cache warm-up
import_file "$DIR/main.data"
N=$I_N; IW=$I_WALL; IC=$I_CPU; IKB=$I_KB
timed "$DIR/t.ps" perf script -i "$DIR/main.data"
PW=$T_WALL; PC=$T_CPU; PKB=$T_KB
line "hvtrace import" "$N" "$IW" "$IC" "$IKB"
line "perf script >/dev/null" "$N" "$PW" "$PC" "$PKB"
check_count main "$DIR/main.data" "$N"
echo "  import / perf script: $(ratio "$PW" "$IW")x wall, $(ratio "$PC" "$IC")x CPU time"

if [ "$PYEV" -gt 0 ]; then
	record "$DIR/py.data" "$(iters_for "$PYEV")"
	import_file "$DIR/py.data"
	timed "$DIR/t.py" perf script -i "$DIR/py.data" -s "$EXPORTER" "$DIR/py.db"
	echo "== ~$PYEV events (the Python exporter's file; import timed on the same file)"
	line "hvtrace import" "$I_N" "$I_WALL" "$I_CPU" "$I_KB"
	line "perf_export_sqlite.py" "$I_N" "$T_WALL" "$T_CPU" "$T_KB"
	echo "  import / Python exporter: $(ratio "$T_WALL" "$I_WALL")x wall, $(ratio "$T_CPU" "$I_CPU")x CPU time"
	PYR=$(ratio "$T_WALL" "$I_WALL")
	PYRATE=$(rate "$I_N" "$T_WALL")
	echo "  the ~$EVENTS import's rate / the exporter's rate: $(ratio "$(rate "$N" "$IW")" "$PYRATE")x" \
		"(the small file weighs the import's fixed costs: creating every table, commit, fsync)"
	rm -f "$DIR/py.data" "$DIR/py.db"
fi

diff_kb() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%+d", b - s }'; }
spread() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print hi - lo }'; }
# peak_file FILE: import it under bench_peak; sets P_ANON P_RSS P_MAX (KB) from its line
# "bench_peak: anon_kb=A file_kb=F rss_kb=R maxrss_kb=M samples=N"
peak_file() {
	rm -f "$DIR/b.db"
	"$PEAK" "$HVTRACE" import "$1" -o "$DIR/b.db" --force --quiet 2>"$DIR/t.peak" >/dev/null
	P_ANON=$(peak_kv anon_kb) P_RSS=$(peak_kv rss_kb) P_MAX=$(peak_kv maxrss_kb)
}
peak_kv() { tail -1 "$DIR/t.peak" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

if [ "$BIG" -gt 0 ]; then
	record "$DIR/big.data" "$(iters_for "$BIG")"
	echo "== ~$BIG events (recorded 4x longer): $(du -m "$DIR/big.data" | cut -f1) MB perf.data"
	import_file "$DIR/big.data"
	line "hvtrace import" "$I_N" "$I_WALL" "$I_CPU" "$I_KB"
	check_count big "$DIR/big.data" "$I_N"
	BN=$I_N
	# Peak memory of both files, BENCH_MEM_RUNS imports of each, alternately, under
	# bench_peak (bench/bench_peak.c): the exact RssAnon / VmRSS from /proc every ms, and the
	# kernel's ru_maxrss (what GNU time prints), which on Linux >= 6.2 comes from per-CPU
	# counters read approximately (up to 0.2 MB below the sampled VmRSS here). VmRSS also
	# moves by 0.1-0.3 MB from run to run as the kernel maps shared-library code around each
	# fault (fault-around).
	# RssAnon is the import's own memory. The medians are compared.
	s_anon="" s_rss="" s_max="" b_anon="" b_rss="" b_max=""
	i=0
	while [ "$i" -lt "$MEM_RUNS" ]; do
		peak_file "$DIR/main.data"; s_anon="$s_anon $P_ANON"; s_rss="$s_rss $P_RSS"; s_max="$s_max $P_MAX"
		peak_file "$DIR/big.data"; b_anon="$b_anon $P_ANON"; b_rss="$b_rss $P_RSS"; b_max="$b_max $P_MAX"
		i=$((i + 1))
	done
	echo "  peak memory, KB, $MEM_RUNS alternate runs of each ($N events | $BN events):"
	echo "    RssAnon, sampled: $s_anon |$b_anon"
	echo "    VmRSS, sampled:   $s_rss |$b_rss"
	echo "    ru_maxrss:        $s_max |$b_max"
	SANON=$(median $s_anon) BANON=$(median $b_anon)
	SKB=$(median $s_rss) BKB=$(median $b_rss)
	SMX=$(median $s_max) BMX=$(median $b_max)
	echo "  medians for $BN vs $N events: RssAnon $(mb "$BANON") vs $(mb "$SANON") MB ($(diff_kb "$BANON" "$SANON") KB)," \
		"VmRSS $(mb "$BKB") vs $(mb "$SKB") MB ($(diff_kb "$BKB" "$SKB") KB; runs of one file spread over" \
		"$(spread $s_rss) and $(spread $b_rss) KB), ru_maxrss $(mb "$BMX") vs $(mb "$SMX") MB ($(diff_kb "$BMX" "$SMX") KB)"
	rm -f "$DIR/big.data"
fi

if [ "${BENCH_CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
	record "$DIR/cg.data" "$(iters_for 200000)"
	n=$(samples "$DIR/cg.data")
	ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p' | tail -1; }
	ii=$(ir "$HVTRACE" import "$DIR/cg.data" -o "$DIR/cg.db" --force --quiet)
	ip=$(ir perf script -i "$DIR/cg.data")
	echo "== callgrind, $n events: instructions per event: hvtrace import $(awk -v a="$ii" -v n="$n" 'BEGIN { printf "%.0f", a / n }')," \
		"perf script $(awk -v a="$ip" -v n="$n" 'BEGIN { printf "%.0f", a / n }') ($(ratio "$ip" "$ii")x)"
	rm -f "$DIR/cg.data" "$DIR/cg.db"
fi

PYT="not run"
[ -n "${PYR:-}" ] && PYT="${PYR}x"
MEMT="not run"
[ -n "${BKB:-}" ] && MEMT="RssAnon $(mb "$BANON") MB vs $(mb "$SANON") MB, VmRSS $(mb "$BKB") MB vs $(mb "$SKB") MB (medians of $MEM_RUNS)"
echo "targets (issue 4): import >= 1 M events/s: $(rate "$N" "$IW");" \
	"import >= 3x perf script: $(ratio "$PW" "$IW")x;" \
	"import >= 20x the Python exporter: $PYT;" \
	"peak RSS at ~$BIG <= at ~$EVENTS: $MEMT"
