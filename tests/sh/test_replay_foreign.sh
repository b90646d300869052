#!/bin/sh
# hvtrace replay on traces that are not Book3S HV host traces: the real x86 KVM recordings
# of the import tests (perf.data and trace.dat, generic kvm:* events, among them
# kvm_userspace_exit) must replay without judging those events by kvm_hv's rules: exit 0 and
# a message that there is nothing to verify, no violation rows. Garbage and truncated
# databases exit 2 naming the file.
. tests/sh/lib.sh
for f in x86-kvm.data x86-kvm.dat x86-kvm-lost.dat; do
	db=$T/$f.db
	if ! "$HVTRACE" import "tests/data/$f" -o "$db" >/dev/null 2>"$T/err"; then
		not_ok "import $f" "$(cat "$T/err")"
		continue
	fi
	nexit=$("$HVTRACE" sql "$db" "SELECT count(*) FROM kvm__kvm_userspace_exit" 2>/dev/null | tail -1)
	"$HVTRACE" replay "$db" >"$T/out" 2>&1; rc=$?
	check "replay $f: exit 0 (rc $rc)" [ $rc -eq 0 ]
	check "replay $f: says there are no kvm_hv events to verify" grep -q "no kvm_hv events to verify" "$T/out"
	check "replay $f: no VIOLATION printed although it has $nexit kvm_userspace_exit events" \
		sh -c "! grep -q VIOLATION '$T/out'"
	v=$("$HVTRACE" sql "$db" "SELECT count(*) FROM violation" 2>/dev/null | tail -1)
	check "replay $f: no violation rows (${v:-no table})" [ "${v:-0}" = 0 ]
done
head -c 4096 /dev/urandom >"$T/garbage.db"
"$HVTRACE" replay "$T/garbage.db" >"$T/out" 2>&1; rc=$?
check "replay garbage: exit 2" [ $rc -eq 2 ]
check "replay garbage: names the file" grep -q "garbage.db" "$T/out"
"$HVTRACE" import tests/data/x86-kvm.data -o "$T/full.db" >/dev/null 2>&1
head -c 8192 "$T/full.db" >"$T/trunc.db"
"$HVTRACE" replay "$T/trunc.db" >"$T/out" 2>&1; rc=$?
check "replay truncated database: exit 2 (rc $rc)" [ $rc -eq 2 ]
check "replay truncated database: names the file" grep -q "trunc.db" "$T/out"
finish
