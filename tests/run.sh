#!/bin/sh
# Run every hvtrace test: the C test binaries (build/tests/test_*), the shell tests
# (tests/sh/test_*.sh) and, when present, the Python tests (tests/py). Each prints
# "ok - ", "not ok - " or "skip - " lines; this script counts them and ends with one line
# "N passed, N failed, N skipped". A test program that crashes or exits non-zero without
# reporting a failure counts as one failure.
BUILD=${BUILD:-build}
export BUILD
HVTRACE=$(pwd)/$BUILD/hvtrace
export HVTRACE
TOP=$(pwd)
export TOP
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pass=0; fail=0; skip=0

count() { # $1: log, $2: exit status, $3: name
	p=$(grep -c '^ok - ' "$1"); f=$(grep -c '^not ok - ' "$1"); s=$(grep -c '^skip - ' "$1")
	grep -E '^(not ok|skip) - |^#' "$1" | sed "s|^|  [$3] |"
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  [$3] not ok - exited with status $2"; tail -5 "$1" | sed "s|^|  [$3]   |"
		f=$((f + 1))
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-32s %4d ok %3d failed %3d skipped\n' "$3" "$p" "$f" "$s"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	"$t" > "$out/$n.log" 2>&1; rc=$?
	count "$out/$n.log" $rc "$n"
done
for t in tests/sh/test_*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	sh "$t" > "$out/$n.log" 2>&1; rc=$?
	count "$out/$n.log" $rc "$n"
done
if ls tests/py/test_*.py >/dev/null 2>&1; then
	/usr/bin/python3 -m pytest -q -rs -p no:cacheprovider tests/py > "$out/py.log" 2>&1; rc=$?
	p=$(sed -n 's/^\(.* \)\{0,1\}\([0-9][0-9]*\) passed.*/\2/p' "$out/py.log" | tail -1)
	f=$(sed -n 's/^\(.* \)\{0,1\}\([0-9][0-9]*\) failed.*/\2/p' "$out/py.log" | tail -1)
	s=$(sed -n 's/^\(.* \)\{0,1\}\([0-9][0-9]*\) skipped.*/\2/p' "$out/py.log" | tail -1)
	p=${p:-0}; f=${f:-0}; s=${s:-0}
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && { f=1; tail -20 "$out/py.log"; }
	[ "$f" -ne 0 ] && grep -E 'FAILED|Error' "$out/py.log" | head -20
	grep '^SKIPPED' "$out/py.log" | sed 's/^/  [pytest] /'
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-32s %4d ok %3d failed %3d skipped\n' "pytest" "$p" "$f" "$s"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
