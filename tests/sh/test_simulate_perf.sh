#!/bin/sh
# hvtrace simulate --perf-data (issue 3) and hvtrace replay FILE (issue 5 item 6):
# - determinism: the same scenario and seed give byte-identical databases and perf.data files
#   in both byte orders (written under other names), another seed gives other files, and the
#   database is the same whether or not a perf.data file is written next to it;
# - the machine's perf decodes the perf.data of the default scenario (the full second) in both
#   byte orders: `perf script` prints every event without complaint, the same text for both
#   orders, and perf's Python scripting hands over each event, which perfw_check.py compares
#   with the store's row field by field (helper_perfw_db dump);
# - replay of the perf.data (both orders, and of `perf-export`'s file) gives the same summary
#   as replay of the database, and leaves no temporary database behind;
# - usage errors: no output, --big-endian without --perf-data, an existing file, an unwritable
#   path (nothing left behind).
TOP=${TOP:-$(pwd)}
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$TOP/$BUILD/hvtrace}
HELPER=$TOP/$BUILD/tests/helper_perfw_db
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1 ($2)"; }
sim() { "$HVTRACE" simulate "$@" > "$tmp/sim.out" 2>&1 || { cat "$tmp/sim.out"; return 1; }; }
same() { # NAME FILE1 FILE2
	if [ -s "$2" ] && cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "missing or different"; fi
}
differ() {
	if [ -s "$2" ] && [ -s "$3" ] && ! cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "missing or identical"; fi
}

# ---- determinism (300 ms of the default scenario) ----
D="--duration 300ms"
sim -o "$tmp/a.db" --perf-data "$tmp/a.data" $D
sim -o "$tmp/b.db" --perf-data "$tmp/b.data" $D
sim --perf-data "$tmp/a-be.data" --big-endian $D
sim --perf-data "$tmp/b-be.data" --big-endian $D
sim -o "$tmp/c.db" $D
sim -o "$tmp/s2.db" --perf-data "$tmp/s2.data" $D --seed 2
sim --perf-data "$tmp/s2-be.data" $D --seed 2 --big-endian
same "simulate: same scenario and seed give byte-identical databases (with --perf-data)" "$tmp/a.db" "$tmp/b.db"
same "simulate: same scenario and seed give byte-identical perf.data files (little-endian)" "$tmp/a.data" "$tmp/b.data"
same "simulate: same scenario and seed give byte-identical perf.data files (big-endian)" "$tmp/a-be.data" "$tmp/b-be.data"
same "simulate: writing a perf.data file does not change the database" "$tmp/a.db" "$tmp/c.db"
differ "simulate: another seed gives another database" "$tmp/a.db" "$tmp/s2.db"
differ "simulate: another seed gives another perf.data file (little-endian)" "$tmp/a.data" "$tmp/s2.data"
differ "simulate: another seed gives another perf.data file (big-endian)" "$tmp/a-be.data" "$tmp/s2-be.data"
magic() { od -An -c -N8 "$1" | tr -d ' \n'; }
[ "$(magic "$tmp/a.data")" = PERFILE2 ] && [ "$(magic "$tmp/a-be.data")" = 2ELIFREP ] \
	&& ok "simulate: perf.data magic in each byte order" \
	|| notok "simulate: perf.data magic in each byte order" "$(magic "$tmp/a.data") $(magic "$tmp/a-be.data")"

# ---- replay of the perf.data files equals replay of the database ----
summary() { sed -n '/^profile:/,$p' "$1" | sed 1d; }
mkdir "$tmp/rt"
"$HVTRACE" replay "$tmp/a.db" --max 1 > "$tmp/r-db.txt" 2>&1; rc_db=$?
summary "$tmp/r-db.txt" > "$tmp/sum-db.txt"
grep -q '^vcore_block ' "$tmp/sum-db.txt" && ok "replay: the database's summary" \
	|| notok "replay: the database's summary" "$(tail -3 "$tmp/r-db.txt" | tr '\n' ' ')"
"$HVTRACE" perf-export "$tmp/a.db" -o "$tmp/x.data" > /dev/null 2>&1
for f in a.data a-be.data x.data; do
	TMPDIR=$tmp/rt "$HVTRACE" replay "$tmp/$f" --max 1 > "$tmp/r.txt" 2> "$tmp/r.err"; rc=$?
	summary "$tmp/r.txt" > "$tmp/sum.txt"
	if [ $rc -eq $rc_db ] && [ -s "$tmp/sum.txt" ] && cmp -s "$tmp/sum-db.txt" "$tmp/sum.txt" &&
	   grep -q 'perf.data recording: imported' "$tmp/r.err"; then
		ok "replay: $f (perf.data) gives the database's summary counts"
	else
		notok "replay: $f (perf.data) gives the database's summary counts" \
			"rc=$rc/$rc_db $(diff "$tmp/sum-db.txt" "$tmp/sum.txt" | head -4 | tr '\n' ' ') $(head -2 "$tmp/r.err")"
	fi
done
[ -z "$(ls -A "$tmp/rt")" ] && ok "replay: the temporary database is removed" \
	|| notok "replay: the temporary database is removed" "$(ls "$tmp/rt")"
"$HVTRACE" import "$tmp/a-be.data" -o "$tmp/imp.db" --quiet
[ "$("$HVTRACE" sql "$tmp/imp.db" "SELECT value FROM meta WHERE key = 'param.dynamic_mt_modes'" 2>/dev/null | tail -1)" = 6 ] &&
[ "$("$HVTRACE" sql "$tmp/imp.db" "SELECT value FROM meta WHERE key = 'source'" 2>/dev/null | tail -1)" = perf.data ] \
	&& ok "import: the simulator's facts come back from the perf.data file into meta" \
	|| notok "import: the simulator's facts come back from the perf.data file into meta" "meta differs"

# ---- usage errors ----
expect_usage() { # name, pattern, args...
	name=$1; pat=$2; shift 2
	"$HVTRACE" simulate "$@" > "$tmp/o" 2> "$tmp/e"; rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" "$tmp/e"; then ok "$name"
	else notok "$name" "rc=$rc: $(cat "$tmp/e")"; fi
}
expect_usage "simulate: no output at all is a usage error" "needs -o DB or --perf-data" --duration 10ms
expect_usage "simulate: --big-endian needs --perf-data" "big-endian" -o "$tmp/y.db" --big-endian
cp "$tmp/a.data" "$tmp/keep.data"
expect_usage "simulate: an existing perf.data file is not replaced without --force" "exists" \
	-o "$tmp/y.db" --perf-data "$tmp/keep.data" --duration 10ms
expect_usage "simulate: an unwritable perf.data path is reported" "/nonexistent-dir/" \
	-o "$tmp/y.db" --perf-data /nonexistent-dir/x.data --duration 10ms
if [ ! -e "$tmp/y.db" ] && cmp -s "$tmp/a.data" "$tmp/keep.data" && ! ls "$tmp" | grep -q '\.tmp\.'; then
	ok "simulate: nothing is left behind on errors"
else
	notok "simulate: nothing is left behind on errors" "$(ls "$tmp" | tr '\n' ' ')"
fi
if sim -o "$tmp/f1.db" --perf-data "$tmp/keep.data" --duration 10ms --force && ! cmp -s "$tmp/a.data" "$tmp/keep.data"; then
	ok "simulate: --force replaces the perf.data file"
else
	notok "simulate: --force replaces the perf.data file" "unchanged"
fi

# ---- perf decodes the default scenario's full second, in both byte orders ----
if ! command -v perf > /dev/null 2>&1 || ! perf script -i "$tmp/a.data" > /dev/null 2>&1; then
	echo "skip - simulate: perf decodes the perf.data files # perf is not installed or cannot run"
	exit 0
fi
sim -o "$tmp/full.db" --perf-data "$tmp/full-le.data"
sim --perf-data "$tmp/full-be.data" --big-endian
"$HELPER" dump "$tmp/full.db" > "$tmp/expected.txt"
want=$(wc -l < "$tmp/expected.txt")
for order in le be; do
	f=$tmp/full-$order.data
	perf script -i "$f" > "$tmp/script-$order.txt" 2> "$tmp/script.err"; rc=$?
	n=$(wc -l < "$tmp/script-$order.txt")
	if [ $rc -eq 0 ] && [ "$want" -gt 100000 ] && [ "$n" -eq "$want" ] && ! grep -qi 'warning\|error\|fail' "$tmp/script.err"; then
		ok "simulate: perf script prints all $want events of the default scenario ($order)"
	else
		notok "simulate: perf script prints all $want events of the default scenario ($order)" \
			"rc=$rc lines=$n $(head -3 "$tmp/script.err" | tr '\n' ' ')"
	fi
	perf script -s "$TOP/tests/sh/perfw_perf_dump.py" -i "$f" > "$tmp/perf-$order.txt" 2> "$tmp/py.err"; rc=$?
	if [ $rc -ne 0 ] && grep -qi 'python.*not\|no scripting' "$tmp/py.err"; then
		echo "skip - simulate: field-by-field comparison ($order) # this perf has no Python scripting"
		continue
	fi
	if $PY "$TOP/tests/sh/perfw_check.py" "$tmp/expected.txt" "$tmp/perf-$order.txt" > "$tmp/cmp.txt" 2>&1; then
		ok "simulate: every event perf decodes equals the store's row, field by field ($order)"
	else
		notok "simulate: every event perf decodes equals the store's row, field by field ($order)" "see below"
	fi
	cat "$tmp/cmp.txt"
done
same "simulate: perf script prints the same text for both byte orders" "$tmp/script-le.txt" "$tmp/script-be.txt"
