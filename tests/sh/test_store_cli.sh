#!/bin/sh
# hvtrace info/events/sql on a store: exit codes and messages for bad databases, filters
# that agree with SQL, CSV output, and a writer killed with SIGKILL leaving nothing behind.
. tests/sh/lib.sh

"$HVTRACE" demo-db -o "$T/d.db" >/dev/null
check "demo-db writes a database that info reads" sh -c "'$HVTRACE' info '$T/d.db' | grep -q '^events: *177'"

# bad databases: exit 2 with the file named
printf 'not a database\n' > "$T/text.db"
"$HVTRACE" info "$T/text.db" 2>"$T/err"; rc=$?
check "info on a text file exits 2 and names it" sh -c "[ $rc -eq 2 ] && grep -q 'text.db: not an hvtrace database' '$T/err'"
head -c 4096 "$T/d.db" > "$T/trunc.db"
"$HVTRACE" events "$T/trunc.db" 2>"$T/err" >/dev/null; rc=$?
check "events on a truncated database exits 2 and says truncated" sh -c "[ $rc -eq 2 ] && grep -q 'trunc.db: truncated' '$T/err'"
cp "$T/d.db" "$T/future.db"
sqlite3 "$T/future.db" 'PRAGMA user_version=7'
"$HVTRACE" sql "$T/future.db" 'SELECT 1' 2>"$T/err" >/dev/null; rc=$?
check "sql on a newer-schema database exits 2 and says so" sh -c "[ $rc -eq 2 ] && grep -q 'newer hvtrace' '$T/err'"
"$HVTRACE" info "$T/missing.db" 2>/dev/null; rc=$?
check "info on a missing file exits 2" [ $rc -eq 2 ]
"$HVTRACE" events "$T/d.db" --bogus 2>"$T/err"; rc=$?
check "an unknown option exits 2 and names the option" sh -c "[ $rc -eq 2 ] && grep -q -- '--bogus' '$T/err'"
"$HVTRACE" nosuch 2>/dev/null; rc=$?
check "an unknown subcommand exits 2" [ $rc -eq 2 ]
for c in info events sql demo-db help; do
	"$HVTRACE" $c --help > "$T/help" 2>&1; rc=$?
	check "$c --help exits 0 and prints usage" sh -c "[ $rc -eq 0 ] && grep -qi 'usage' '$T/help'"
done

# filters agree with SQL
n_sql=$("$HVTRACE" sql "$T/d.db" --csv 'SELECT count(*) AS n FROM kvm_hv__kvm_guest_exit' | tail -1)
n_ev=$("$HVTRACE" events "$T/d.db" --type kvm_guest_exit | wc -l)
check "events --type counts what SQL counts ($n_ev = $n_sql)" [ "$n_ev" = "$n_sql" -a "$n_sql" -gt 0 ]
n_sql=$("$HVTRACE" sql "$T/d.db" --csv "SELECT sum(n) FROM (SELECT count(*) n FROM kvm_hv__kvmppc_run_vcpu_enter WHERE cpu=1 UNION ALL SELECT count(*) FROM kvm_hv__kvm_guest_enter WHERE cpu=1 UNION ALL SELECT count(*) FROM kvm_hv__kvm_hcall_enter WHERE cpu=1 UNION ALL SELECT count(*) FROM kvm_hv__kvm_hcall_exit WHERE cpu=1 UNION ALL SELECT count(*) FROM kvm_hv__kvmppc_run_vcpu_exit WHERE cpu=1)" | tail -1)
n_ev=$("$HVTRACE" events "$T/d.db" --cpu 1 | wc -l)
check "events --cpu counts what SQL counts ($n_ev = $n_sql)" [ "$n_ev" = "$n_sql" ]
n_ev=$("$HVTRACE" events "$T/d.db" --from 1.001 --to 1.002 | wc -l)
n_sql=$("$HVTRACE" sql "$T/d.db" --csv "SELECT count(*) FROM (SELECT ts FROM kvm_hv__kvm_guest_enter UNION ALL SELECT ts FROM kvm_hv__kvm_guest_exit UNION ALL SELECT ts FROM kvm_hv__kvmppc_run_core) WHERE ts BETWEEN 1001000000 AND 1002000000" | tail -1)
check "events --from/--to counts what SQL counts ($n_ev = $n_sql)" [ "$n_ev" = "$n_sql" -a "$n_sql" -gt 0 ]
"$HVTRACE" events "$T/d.db" | awk '{print $5}' | sed 's/://' > "$T/times"
check "events come out in time order" sh -c "sort -n -c '$T/times'"
out=$("$HVTRACE" sql "$T/d.db" --csv "SELECT 'a,b' AS x, 'say \"hi\"' AS y")
check "sql --csv quotes commas and quotes" [ "$out" = 'x,y
"a,b","say ""hi"""' ]
"$HVTRACE" sql "$T/d.db" "DELETE FROM meta" 2>/dev/null; rc=$?
check "sql opens read-only: a write fails with exit 2 and changes nothing" sh -c "[ $rc -eq 2 ] && '$HVTRACE' info '$T/d.db' | grep -q hvtrace_version"

# a writer killed with SIGKILL leaves nothing
mkdir "$T/kill"
"$BUILD/tests/helper_slow_writer" "$T/kill/out.db" > "$T/kill.log" &
pid=$!
i=0
while ! grep -q writing "$T/kill.log" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid; wait $pid 2>/dev/null
left=$(ls -A "$T/kill" | wc -l)
check "a writer killed with SIGKILL mid-import leaves no file at all" [ "$left" -eq 0 -a $i -lt 300 ]
finish
