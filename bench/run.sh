#!/bin/sh
# Run every benchmark program (build/bench/bench_*), each prints its own result lines.
BUILD=${BUILD:-build}
for b in "$BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	"$b" || echo "$(basename "$b"): failed with status $?"
done
