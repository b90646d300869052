#!/bin/sh
# bench_import.sh: how fast `hvtrace import` reads a large real perf.data, against
# `perf script > /dev/null` on the same file, with peak memory (/usr/bin/time -v).
#
#   sh bench/bench_import.sh [EVENTS]      (default 3000000; run from the repo root)
#
# Records sched:* system-wide while a pipe ping-pong workload runs, growing the workload until
# about EVENTS samples are written (needs root and tracefs; prints "skip" otherwise), then
# imports it twice (a half-size recording too, to show memory does not grow with the file)
# and prints events/s and the ratio to perf script. Targets (issue 4): >= 1 M events/s,
# >= 3x perf script. Env: BUILD (build dir), BENCH_DIR (scratch dir, default a temp dir).
set -u
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$(pwd)/$BUILD/hvtrace}
EVENTS=${1:-3000000}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/hvtrace-bench.XXXXXX)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$DIR"' EXIT
TIME=/usr/bin/time

if ! command -v perf >/dev/null 2>&1 || ! perf record -q -e sched:sched_switch -o "$DIR/probe.data" -- true >/dev/null 2>&1; then
	echo "skip - bench_import: perf cannot record sched tracepoints here (needs root and tracefs)"
	exit 0
fi
[ -x "$HVTRACE" ] || { echo "bench_import: $HVTRACE not built"; exit 2; }

cat > "$DIR/pingpong.py" <<'PY'
import os, sys
n = int(sys.argv[1])
r1, w1 = os.pipe(); r2, w2 = os.pipe()
if os.fork() == 0:
    for _ in range(n):
        os.read(r1, 1); os.write(w2, b"x")
    os._exit(0)
for _ in range(n):
    os.write(w1, b"x"); os.read(r2, 1)
os.wait()
PY

# record(file, events): a recording of about that many samples
record() {
	# each round trip gives about 6 sched samples (switch, waking, wakeup, stat_runtime x2..)
	n=$(( $2 / 6 ))
	perf record -q -m 16M -e 'sched:*' -a -o "$1" -- /usr/bin/python3 "$DIR/pingpong.py" "$n" >/dev/null 2>&1
}

peak_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$1"; }
wall_s() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'; }

measure() { # file label
	f=$1
	n=$(perf report -i "$f" --stats 2>/dev/null | awk '/^ *SAMPLE events:/ { print $3; exit }')
	$TIME -v "$HVTRACE" import "$f" -o "$DIR/b.db" --force --quiet 2>"$DIR/t.imp" >/dev/null
	$TIME -v "$HVTRACE" import "$f" -o "$DIR/b.db" --force --quiet 2>"$DIR/t.imp" >/dev/null
	$TIME -v perf script -i "$f" 2>"$DIR/t.ps" >/dev/null
	ti=$(wall_s "$DIR/t.imp"); tp=$(wall_s "$DIR/t.ps")
	ci=$(cpu_s "$DIR/t.imp"); cp=$(cpu_s "$DIR/t.ps")
	awk -v n="$n" -v ti="$ti" -v tp="$tp" -v ci="$ci" -v cp="$cp" -v mi="$(peak_kb "$DIR/t.imp")" -v mp="$(peak_kb "$DIR/t.ps")" -v l="$2" 'BEGIN {
		if (ti <= 0) ti = 0.01; if (tp <= 0) tp = 0.01; if (ci <= 0) ci = 0.01
		printf "%-6s %9d events  hvtrace import %6.2f s %7.3f M ev/s %6.0f MB | perf script %6.2f s %7.3f M ev/s %6.0f MB | import %.1fx faster (CPU time: %.1fx)\n",
			l, n, ti, n / ti / 1e6, mi / 1024, tp, n / tp / 1e6, mp / 1024, tp / ti, cp / ci }'
}

echo "bench_import: recording about $EVENTS and $((EVENTS / 2)) sched events in $DIR"
record "$DIR/half.data" $((EVENTS / 2))
record "$DIR/full.data" "$EVENTS"
measure "$DIR/half.data" half
measure "$DIR/full.data" full
echo "targets: import >= 1 M events/s, >= 3x perf script; peak memory of full <= half (+ noise)"
