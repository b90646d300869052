#!/bin/sh
# hvtrace simulate: determinism (same scenario and seed => byte-identical database; another
# seed differs), the summary, --help, and usage errors naming the option or FILE:LINE.
HVTRACE=${HVTRACE:-build/hvtrace}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1 ($2)"; }

$HVTRACE simulate -o "$d/a.db" --duration 300ms > "$d/out1" 2>&1
rc1=$?
$HVTRACE simulate -o "$d/b.db" --duration 300ms > /dev/null 2>&1
$HVTRACE simulate -o "$d/c.db" --duration 300ms --seed 2 > /dev/null 2>&1
if [ $rc1 -eq 0 ] && cmp -s "$d/a.db" "$d/b.db"; then ok "same scenario and seed give byte-identical databases"
else nok "same scenario and seed give byte-identical databases" "rc=$rc1 or files differ"; fi
if [ -f "$d/c.db" ] && ! cmp -s "$d/a.db" "$d/c.db"; then ok "a different seed gives a different database"
else nok "a different seed gives a different database" "identical or missing"; fi
if grep -q "runs .*whole-core .*2-way .*4-way" "$d/out1" && grep -q "cedes" "$d/out1"; then ok "summary line"
else nok "summary line" "$(head -3 "$d/out1")"; fi

$HVTRACE simulate --help > "$d/h" 2>&1 && grep -q -- "--param" "$d/h" && ok "--help" || nok "--help" "no usage"

expect_usage() { # name, pattern, args...
	name=$1; pat=$2; shift 2
	"$HVTRACE" simulate "$@" > "$d/o" 2> "$d/e"; rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" "$d/e"; then ok "$name"
	else nok "$name" "rc=$rc: $(cat "$d/e")"; fi
}
expect_usage "unknown option is named" "--bogus" -o "$d/x.db" --bogus
expect_usage "missing -o" "needs -o" --seed 3
expect_usage "unknown --param is named" "frobnicate" -o "$d/x.db" --param frobnicate=1
expect_usage "bad --duration" "duration" -o "$d/x.db" --duration 12parsecs
expect_usage "unknown profile" "E99" -o "$d/x.db" --profile E99
printf 'cpu POWER8\ncores 2\nvm a vcpus=2 smt=2 bogus=1\n' > "$d/bad.scn"
expect_usage "bad scenario line names FILE:LINE" "bad.scn:3" "$d/bad.scn" -o "$d/x.db"
printf 'cpu POWER8\nparam threads_per_subcore=2\nvm a vcpus=4 smt=4\n' > "$d/bad2.scn"
expect_usage "smt larger than the subcore is rejected" "smt 4 > threads_per_subcore 2" "$d/bad2.scn" -o "$d/x.db"
expect_usage "missing scenario file" "cannot open" "$d/none.scn" -o "$d/x.db"
[ ! -e "$d/x.db" ] && ok "no output left behind on errors" || nok "no output left behind on errors" "x.db exists"

printf 'name tiny\ncpu POWER7\ncores 1\nduration 50ms\nvm a vcpus=4 smt=4\n' > "$d/p7.scn"
if $HVTRACE simulate "$d/p7.scn" -o "$d/p7.db" > /dev/null 2>&1 &&
   [ "$($HVTRACE sql "$d/p7.db" "SELECT count(*) FROM kvm_hv_sched__kvmhv_core_plan WHERE split != 1" 2>/dev/null | tail -1)" = "0" ]; then
	ok "POWER7 scenario file runs, never splits"
else nok "POWER7 scenario file runs, never splits" "failed"; fi
