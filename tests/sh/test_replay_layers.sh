#!/bin/sh
# hvtrace replay, layers 2/3 on the real recordings: the POWER8 ones (stock events only) run
# the gang-path decision monitors that stock events allow (start_rule, split_mode, block_rule,
# diff_replay check events, none reports); POWER9 and the nested L1 list them as not
# applicable. And the CLI profile sensitivity: an E31 simulation replayed under E410 exits 1
# with diff_replay / layer-2 reports, clean under its own profile as far as layers 2/3 go.
. tests/sh/lib.sh
L23="split_mode core_plan thread_place start_rule cede_rule block_rule exit_pull diff_replay"
col() { awk -v m="$1" -v c="$2" '$1 == m { print $c }' "$3"; }
for rec in p8-hpt p8-smt4-partial; do
	data=$TOP/tests/data/power-lab/$rec.data
	if [ ! -f "$data" ]; then skip "$rec: layers 2/3" "no $data"; continue; fi
	"$HVTRACE" import "$data" -o "$T/$rec.db" > /dev/null 2>&1
	"$HVTRACE" replay "$T/$rec.db" > "$T/$rec.out" 2>&1
	bad=""
	for m in $L23; do
		v=$(col "$m" 3 "$T/$rec.out")
		[ "$v" = 0 ] || bad="$bad $m=${v:-missing}"
	done
	check "$rec (POWER8, stock events): no layer 2/3 violation$bad" test -z "$bad"
	s=$(col start_rule 2 "$T/$rec.out"); d=$(col diff_replay 2 "$T/$rec.out"); sp=$(col split_mode 2 "$T/$rec.out")
	check "$rec: start_rule ($s), split_mode ($sp), diff_replay ($d) check the stock events" \
		test "${s:-0}" -gt 0 -a "${d:-0}" -gt 0 -a "${sp:-0}" -gt 0
done
for rec in p9-radix nested; do
	data=$TOP/tests/data/power-lab/$rec.data
	if [ ! -f "$data" ]; then skip "$rec: layers 2/3 not applicable" "no $data"; continue; fi
	"$HVTRACE" import "$data" -o "$T/$rec.db" > /dev/null 2>&1
	"$HVTRACE" replay "$T/$rec.db" > "$T/$rec.out" 2>&1
	na=$(grep '^not applicable' "$T/$rec.out")
	miss=""
	for m in $L23; do
		echo "$na" | grep -q "[ ,]$m\(,\|$\)" || miss="$miss $m"
		[ -z "$(col "$m" 2 "$T/$rec.out")" ] || miss="$miss $m(listed)"
	done
	check "$rec: layers 2/3 listed as not applicable (0 checked)$miss" test -z "$miss"
done
"$HVTRACE" simulate -o "$T/e31.db" --profile E31_strict_smt --duration 60ms > /dev/null 2>&1
cp "$T/e31.db" "$T/e31b.db"
"$HVTRACE" replay "$T/e31.db" --max 0 > "$T/own.out" 2>&1
bad=""
for m in $L23; do [ "$(col "$m" 3 "$T/own.out")" = 0 ] || bad="$bad $m"; done
check "E31 simulation replayed under E31: layers 2/3 clean$bad" test -z "$bad"
"$HVTRACE" replay "$T/e31b.db" --profile E410_simplified > "$T/x.out" 2>&1
rc=$?
n=$(col diff_replay 3 "$T/x.out")
check "E31 simulation replayed under E410_simplified: exit 1, diff_replay names divergences ($n)" \
	test $rc -eq 1 -a "${n:-0}" -gt 0
check "... each as 'first divergence' of a vcore" grep -q "VIOLATION diff_replay vcore .* state=first divergence" "$T/x.out"
finish
