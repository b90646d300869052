#!/bin/sh
# bench_replay_sim.sh: `hvtrace replay` on a large simulated trace, next to `hvtrace import` of
# the same trace measured in the same run (issue 5).
#
#   sh bench/bench_replay_sim.sh        (from the repo root, after `make`; `make bench` runs it)
#
# For two simulated durations of the built-in default scenario (BENCH_SIM_SHORT, default 10 s,
# and BENCH_SIM_LONG, default 30 s: about 2.3 M and 6.9 M events), `hvtrace simulate
# --perf-data` writes a perf.data file, `hvtrace import` reads it into a database (and runs
# derive, which writes core_run), and `hvtrace replay` checks that database (all monitors; it
# keeps derive's core_run and reads on 2 reader threads), then again with --read-threads 0 (read
# in the checking thread) for comparison. Printed: events, wall and CPU (user+sys) time,
# M events/s, peak RSS (/usr/bin/time -v) of import and replay, and replay/import ratios.
# Targets: replay >= 5x import; replay peak RSS independent of length.
# Env: BUILD, BENCH_DIR (scratch directory, kept).
set -u
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$(pwd)/$BUILD/hvtrace}
SHORT=${BENCH_SIM_SHORT:-10}
LONG=${BENCH_SIM_LONG:-30}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/hvtrace-bench.XXXXXX)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR"
TIME=/usr/bin/time
. bench/timing.sh
[ -x "$HVTRACE" ] || { echo "bench_replay_sim: $HVTRACE not built"; exit 2; }
[ -x "$TIME" ] || { echo "skip - bench_replay_sim: $TIME (GNU time) is missing"; exit 0; }


one() { # seconds -> prints a block; sets R_KB
	d=$1
	"$HVTRACE" simulate --duration "${d}s" --perf-data "$DIR/sim.data" --force >/dev/null 2>&1 ||
		{ echo "bench_replay_sim: simulate failed"; exit 2; }
	"$HVTRACE" import "$DIR/sim.data" -o "$DIR/sim.db" --force --quiet >/dev/null 2>&1	# page cache warm-up
	$TIME -v "$HVTRACE" import "$DIR/sim.data" -o "$DIR/sim.db" --force --quiet >/dev/null 2>"$DIR/t.imp"
	n=$("$HVTRACE" sql "$DIR/sim.db" "SELECT value FROM meta WHERE key = 'events'" 2>/dev/null | sed -n 2p)
	$TIME -v "$HVTRACE" replay "$DIR/sim.db" >"$DIR/replay.out" 2>"$DIR/t.rep"
	$TIME -v "$HVTRACE" replay "$DIR/sim.db" --read-threads 0 >/dev/null 2>"$DIR/t.rep0"
	iw=$(wall_s "$DIR/t.imp"); ic=$(cpu_s "$DIR/t.imp"); rw=$(wall_s "$DIR/t.rep"); rc=$(cpu_s "$DIR/t.rep")
	r0w=$(wall_s "$DIR/t.rep0"); r0c=$(cpu_s "$DIR/t.rep0")
	R_KB=$(peak_kb "$DIR/t.rep")
	echo "== simulated ${d} s (default scenario): $n events, $(du -m "$DIR/sim.data" | cut -f1) MB perf.data"
	printf "  %-16s %7.2f s wall %7.2f s CPU %8s M ev/s %8s M ev/s of CPU %6.0f MB peak\n" \
		"hvtrace import" "$iw" "$ic" "$(rate "$n" "$iw")" "$(rate "$n" "$ic")" "$(awk -v k="$(peak_kb "$DIR/t.imp")" 'BEGIN { print k / 1024 }')"
	printf "  %-16s %7.2f s wall %7.2f s CPU %8s M ev/s %8s M ev/s of CPU %6.0f MB peak (%s)\n" \
		"hvtrace replay" "$rw" "$rc" "$(rate "$n" "$rw")" "$(rate "$n" "$rc")" "$(awk -v k="$R_KB" 'BEGIN { print k / 1024 }')" \
		"$(grep '^result:' "$DIR/replay.out")"
	printf "  %-16s %7.2f s wall %7.2f s CPU %8s M ev/s %8s M ev/s of CPU %6.0f MB peak\n" \
		"  --read-threads 0" "$r0w" "$r0c" "$(rate "$n" "$r0w")" "$(rate "$n" "$r0c")" "$(awk -v k="$(peak_kb "$DIR/t.rep0")" 'BEGIN { print k / 1024 }')"
	echo "  replay / import: $(ratio "$iw" "$rw")x wall, $(ratio "$ic" "$rc")x CPU time" \
		"(--read-threads 0: $(ratio "$iw" "$r0w")x wall, $(ratio "$ic" "$r0c")x CPU)"
	RATIO=$(ratio "$iw" "$rw")
}

one "$SHORT"
short_kb=$R_KB
one "$LONG"
echo "targets (issue 5): replay >= 5x import: ${RATIO}x (wall, ${LONG} s trace);" \
	"replay peak RSS independent of length: $((short_kb / 1024)) MB (${SHORT} s) vs $((R_KB / 1024)) MB (${LONG} s)"
