#!/bin/sh
# Replay's reader threads and kept core_run tables (issue 5, replay speed): a replay reads on
# reader threads only when it keeps core_run (made by derive or an earlier replay under the same
# profile and parameters) and writes nothing but violations. Its output (JSON and the violation
# table) must equal the single-threaded replay's, with many violations written while the reader
# threads hold the file; a changed profile or parameter makes core_run be written again, equal
# to what derive made when the profile is derive's.
. "$(dirname "$0")/lib.sh"

db=$T/e31.db
"$HVTRACE" simulate --duration 1s --profile E31_strict_smt -o "$db" >/dev/null 2>&1 ||
	{ not_ok "simulate an E31 trace"; finish; }
dump() { # DB TABLE ORDER -> every row as text
	/usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for r in con.execute('SELECT * FROM "%s" ORDER BY %s' % (sys.argv[2], sys.argv[3])):
    print(r)
EOF
}
dump "$db" core_run id >"$T/run.derive"
dump "$db" core_run_vcpu "core_run_id, vcpu_id, tgid" >"$T/vcpu.derive"
check "derive made core_run" test -s "$T/run.derive"

# the derive profile (E31, from meta): kept; under E410: rewritten, then kept
"$HVTRACE" replay "$db" --json >"$T/own.json" 2>"$T/own.err"
check "replay under derive's profile keeps core_run" grep -q '"core_runs_kept": true' "$T/own.json"
check "--json: a JSON document alone (no note on stderr)" test ! -s "$T/own.err"
"$HVTRACE" replay "$db" >"$T/own.txt" 2>"$T/own.err"
check "text: says so on stderr" grep -q "core_run tables kept" "$T/own.err"
dump "$db" core_run id >"$T/run.kept"
check "kept core_run unchanged" cmp -s "$T/run.derive" "$T/run.kept"

"$HVTRACE" replay "$db" --profile E410_simplified --json --read-threads 0 >"$T/a.json"
rc_a=$?
dump "$db" violation id >"$T/viol.a"
check "another profile rewrites core_run" grep -q '"core_runs_kept": false' "$T/a.json"
for k in default 1 3; do
	if [ $k = default ]; then opt=; else opt="--read-threads $k"; fi
	"$HVTRACE" replay "$db" --profile E410_simplified --json $opt >"$T/b.json" 2>/dev/null
	rc_b=$?
	dump "$db" violation id >"$T/viol.b"
	check "threads $k: core_run kept the second time" grep -q '"core_runs_kept": true' "$T/b.json"
	check "threads $k: same exit status ($rc_a)" test "$rc_a" = "$rc_b"
	grep -v core_runs_kept "$T/a.json" >"$T/a.cmp"
	grep -v core_runs_kept "$T/b.json" >"$T/b.cmp"
	check "threads $k: same JSON as the single-threaded replay" cmp -s "$T/a.cmp" "$T/b.cmp"
	check "threads $k: same violation table" cmp -s "$T/viol.a" "$T/viol.b"
done
nv=$(wc -l <"$T/viol.a")
check "E31 under E410 gives many violations ($nv) to write meanwhile" test "$nv" -gt 1000

# a --param changes the signature: rewritten (and equal to derive's when the value is meta's)
"$HVTRACE" replay "$db" --param dynamic_mt_modes=6 --json >"$T/p.json" 2>/dev/null
check "a --param rewrites core_run" grep -q '"core_runs_kept": false' "$T/p.json"
"$HVTRACE" replay "$db" --json >"$T/own2.json" 2>/dev/null
check "back to derive's profile: rewritten once more" grep -q '"core_runs_kept": false' "$T/own2.json"
dump "$db" core_run id >"$T/run.again"
dump "$db" core_run_vcpu "core_run_id, vcpu_id, tgid" >"$T/vcpu.again"
check "replay's core_run equals derive's" cmp -s "$T/run.derive" "$T/run.again"
check "replay's core_run_vcpu equals derive's" cmp -s "$T/vcpu.derive" "$T/vcpu.again"
"$HVTRACE" replay "$db" --read-threads x >/dev/null 2>"$T/bad.err"
check "a bad --read-threads value: exit 2" test $? = 2
check "and the option named" grep -q -- "--read-threads" "$T/bad.err"
finish
