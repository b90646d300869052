#!/bin/sh
# make bench: every benchmark, each printing its rates next to the peers measured in the
# same run (ratios, because these machines are noisy). bench/bench_* programs are built
# by the Makefile; bench/bench_*.sh scripts run after them.
BUILD=${BUILD:-build}
export BUILD
status=0
for b in "$BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	[ "$(basename "$b")" = bench_peak ] && continue	# a helper of bench_import.sh
	echo "== $(basename "$b")"
	"$b" || status=1
done
for s in bench/bench_*.sh; do
	[ -f "$s" ] || continue
	echo "== $(basename "$s" .sh)"
	sh "$s" || status=1
done
exit $status
