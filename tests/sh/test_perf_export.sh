#!/bin/sh
# hvtrace perf-export and the perf.data writer end to end: a store holding every known event with extreme values
# (tests/c/helper_perfw_db.c) is exported with `hvtrace perf-export` in both byte orders, and
# the machine's own perf decodes it: `perf report --header-only` accepts the header, `perf
# script` prints every event without complaint, and perf's Python scripting hands over each
# event's fields, which perfw_check.py compares with the store's rows field by field (same
# count per type, same tid/pid/cpu/time/comm, same bit pattern of every integer, same
# strings). Also: same input gives byte-identical files, the CLI's error paths, and a check
# that the checker itself notices a wrong value.
TOP=${TOP:-$(pwd)}
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$TOP/$BUILD/hvtrace}
HELPER=$TOP/$BUILD/tests/helper_perfw_db
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1 ($2)"; }
check() { # NAME COMMAND...: ok if the command succeeds
	n=$1; shift
	if "$@" > "$tmp/out" 2>&1; then ok "$n"; else notok "$n" "$(tail -3 "$tmp/out" | tr '\n' ' ')"; fi
}

check "perf_export: helper builds the test store" "$HELPER" make "$tmp/t.db" 400
"$HELPER" dump "$tmp/t.db" > "$tmp/expected.txt"
nknown=$(find "$TOP/$BUILD/formats" -name format | wc -l)
ntypes=$(cut -f1 "$tmp/expected.txt" | sort -u | wc -l)
[ "$nknown" -gt 20 ] && [ "$ntypes" -eq "$nknown" ] && ok "perf_export: the test store covers all $nknown known events" \
	|| notok "perf_export: the test store covers all $nknown known events" "$ntypes types"

check "perf_export: export little-endian" "$HVTRACE" perf-export "$tmp/t.db" -o "$tmp/le.data"
grep -q 'skipped [1-9][0-9]* events' "$tmp/out" && ok "perf_export: unknown event types are skipped and counted" \
	|| notok "perf_export: unknown event types are skipped and counted" "$(cat "$tmp/out")"
check "perf_export: export big-endian" "$HVTRACE" perf-export "$tmp/t.db" -o "$tmp/be.data" --big-endian

magic() { od -An -c -N8 "$1" | tr -d ' \n'; }
[ "$(magic "$tmp/le.data")" = PERFILE2 ] && [ "$(magic "$tmp/be.data")" = 2ELIFREP ] \
	&& ok "perf_export: magic in each byte order" || notok "perf_export: magic in each byte order" "$(magic "$tmp/le.data") $(magic "$tmp/be.data")"

# determinism: the same command on the same store gives the same bytes
mkdir "$tmp/d"
(cd "$tmp/d" && "$HVTRACE" perf-export ../t.db -o x.data --big-endian >/dev/null && mv x.data y.data &&
	"$HVTRACE" perf-export ../t.db -o x.data --big-endian >/dev/null)
check "perf_export: same input gives a byte-identical file" cmp "$tmp/d/x.data" "$tmp/d/y.data"
if cmp -s "$tmp/le.data" "$tmp/be.data"; then notok "perf_export: byte orders differ" "identical"; else ok "perf_export: byte orders differ"; fi

# CLI error paths
"$HVTRACE" perf-export "$tmp/t.db" -o "$tmp/le.data" > "$tmp/out" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q exists "$tmp/out" && ok "perf_export: refuses to overwrite without --force" \
	|| notok "perf_export: refuses to overwrite without --force" "rc=$rc"
"$HVTRACE" perf-export "$tmp/nothere.db" -o "$tmp/n.data" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/n.data" ] && ok "perf_export: missing database is a usage error" \
	|| notok "perf_export: missing database is a usage error" "rc=$rc"
"$HVTRACE" perf-export "$tmp/t.db" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "perf_export: -o is required" || notok "perf_export: -o is required" "rc=$rc"
ls "$tmp" | grep -q '\.tmp\.' && notok "perf_export: no temporary files left" "$(ls "$tmp")" \
	|| ok "perf_export: no temporary files left"

if ! command -v perf > /dev/null 2>&1; then
	echo "skip - perf_export: perf decodes the files # perf is not installed"
	exit 0
fi

for order in le be; do
	f=$tmp/$order.data
	if perf report --header-only -i "$f" > "$tmp/hdr.txt" 2>&1; then
		arch=ppc64le; [ $order = be ] && arch=ppc64
		if grep -q "^# arch : $arch\$" "$tmp/hdr.txt" && grep -q 'name = kvm_hv:kvm_guest_exit' "$tmp/hdr.txt" &&
		   grep -q 'sample_id_all = 1' "$tmp/hdr.txt" && grep -q 'cpudesc : POWER8' "$tmp/hdr.txt"; then
			ok "perf_export: perf report --header-only accepts the $order file"
		else
			notok "perf_export: perf report --header-only accepts the $order file" "$(head -20 "$tmp/hdr.txt" | tr '\n' ' ')"
		fi
	else
		notok "perf_export: perf report --header-only accepts the $order file" "$(tail -3 "$tmp/hdr.txt")"
	fi

	perf script -i "$f" > "$tmp/script.txt" 2> "$tmp/script.err"; rc=$?
	cp "$tmp/script.txt" "$tmp/script_$order.txt"
	n=$(wc -l < "$tmp/script.txt"); want=$(wc -l < "$tmp/expected.txt")
	if [ $rc -eq 0 ] && [ "$n" -eq "$want" ] && ! grep -qi 'warning\|error\|fail' "$tmp/script.err"; then
		ok "perf_export: perf script prints all $want events of the $order file"
	else
		notok "perf_export: perf script prints all $want events of the $order file" "rc=$rc lines=$n $(head -3 "$tmp/script.err" | tr '\n' ' ')"
	fi

	perf report --stdio -i "$f" > "$tmp/report.txt" 2>&1; rc=$?
	if [ $rc -eq 0 ] && grep -q "of event 'kvm_hv:kvm_guest_exit'" "$tmp/report.txt" && ! grep -qi 'warning' "$tmp/report.txt"; then
		ok "perf_export: perf report reads the $order file without warnings"
	else
		notok "perf_export: perf report reads the $order file without warnings" "rc=$rc $(head -3 "$tmp/report.txt" | tr '\n' ' ')"
	fi

	perf script -s "$TOP/tests/sh/perfw_perf_dump.py" -i "$f" > "$tmp/perf_$order.txt" 2> "$tmp/py.err"; rc=$?
	if [ $rc -ne 0 ] && grep -qi 'python.*not\|no scripting' "$tmp/py.err"; then
		echo "skip - perf_export: field-by-field comparison ($order) # this perf has no Python scripting"
		continue
	fi
	if $PY "$TOP/tests/sh/perfw_check.py" "$tmp/expected.txt" "$tmp/perf_$order.txt" > "$tmp/cmp.txt" 2>&1; then
		ok "perf_export: every event perf decodes equals the store's row, field by field ($order)"
	else
		notok "perf_export: every event perf decodes equals the store's row, field by field ($order)" "see below"
	fi
	cat "$tmp/cmp.txt"
done

check "perf_export: perf script prints the same text for both byte orders" cmp "$tmp/script_le.txt" "$tmp/script_be.txt"

# the checker notices a wrong value (flip one stored field in the expectation)
awk -F'\t' 'BEGIN { OFS = "\t" } NR == 7 { split($7, a, ":"); $7 = a[1] ":" a[2] ":" a[3] ":" (a[4] + 1) } { print }' \
	"$tmp/expected.txt" > "$tmp/wrong.txt"
if [ -f "$tmp/perf_le.txt" ]; then
	if $PY "$TOP/tests/sh/perfw_check.py" "$tmp/wrong.txt" "$tmp/perf_le.txt" > "$tmp/cmp.txt" 2>&1; then
		notok "perf_export: the checker catches a wrong field" "passed"
	else
		ok "perf_export: the checker catches a wrong field"
	fi
fi
