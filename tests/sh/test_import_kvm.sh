#!/bin/sh
# test_import_kvm: one x86 KVM workload (tests/c/helper_tinyguest.c) captured at the same time by
# perf (perf.data + `perf script` text) and by an ftrace instance (trace.dat + raw ftrace text)
# must import to the same events per type whichever file is imported. Runs on the committed
# fixtures (tests/data/x86-kvm.*), then on a live recording made now (skipped, saying why,
# without root, /dev/kvm, perf or trace-cmd). The perf.data import is checked when
# `hvtrace import` supports it (detected by trying), skipped otherwise. Lost events: a run with a
# 4 KB ftrace buffer imports with its overruns in `lost`.
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$BUILD/hvtrace}
IMP=$BUILD/tests/helper_import
tmp=$(mktemp -d /tmp/hvtrace-kvmXXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1 ($2)"; }
skip() { echo "skip - $1 # $2"; }

# events per type, by event name (ftrace text carries no system names): "name count" lines
counts() {
	"$HVTRACE" sql "$1" "SELECT name, count FROM event_type WHERE count > 0 ORDER BY name" | sed 1d
}

# $1 label, $2 prefix of the files (PREFIX.dat .ftrace.txt .script.txt .data)
check_set() {
	l=$1; p=$2
	if ! "$IMP" tracedat "$p.dat" "$tmp/dat.db" > "$tmp/out" 2>&1; then
		notok "$l: trace.dat imports" "$(cat "$tmp/out")"; return
	fi
	ok "$l: trace.dat imports"
	counts "$tmp/dat.db" > "$tmp/dat.counts"
	n=$(awk -F' [|] ' '{s += $2} END {print s + 0}' "$tmp/dat.counts")
	[ "$n" -gt 0 ] && ok "$l: trace.dat has events ($n)" || notok "$l: trace.dat has events" "none"
	grep -q '^kvm_pio | [1-9]' "$tmp/dat.counts" && ok "$l: kvm_pio fired" || notok "$l: kvm_pio fired" "$(cat "$tmp/dat.counts")"
	for kind in ftrace script; do
		if "$IMP" text "$p.$kind.txt" "$tmp/$kind.db" > "$tmp/out" 2>&1 &&
		   counts "$tmp/$kind.db" | diff "$tmp/dat.counts" - > "$tmp/diff"; then
			ok "$l: $kind text imports to the trace.dat's counts per type"
		else
			notok "$l: $kind text imports to the trace.dat's counts per type" "$(cat "$tmp/out" "$tmp/diff" | head -5 | tr '\n' ' ')"
		fi
	done
	# the perf script's own count per event equals the imported text's
	want=$(grep -c ': *kvm:kvm_pio:' "$p.script.txt")
	got=$("$HVTRACE" sql "$tmp/script.db" "SELECT count(*) FROM kvm__kvm_pio" | sed 1d)
	[ "$want" = "$got" ] && ok "$l: kvm_pio count equals perf script's ($want)" || notok "$l: kvm_pio count equals perf script's" "$got != $want"
	# perf.data, once `hvtrace import` reads it
	if "$HVTRACE" import "$p.data" -o "$tmp/perf.db" --format perf --force > "$tmp/out" 2>&1; then
		if counts "$tmp/perf.db" | diff "$tmp/dat.counts" - > "$tmp/diff"; then
			ok "$l: perf.data imports to the trace.dat's counts per type"
		else
			notok "$l: perf.data imports to the trace.dat's counts per type" "$(head -5 "$tmp/diff" | tr '\n' ' ')"
		fi
	else
		skip "$l: perf.data imports to the trace.dat's counts per type" "hvtrace import cannot read perf.data yet: $(head -1 "$tmp/out")"
	fi
}

# $1 label, $2 prefix: a recording whose ftrace ring buffer overwrote events. The trace.dat
# import must hold every entry left in the buffer, and a lost row for each CPU that overran,
# with the overrun as its count when the ring buffer page stored it (else 0 = unknown).
check_lost() {
	l=$1; p=$2
	if ! "$IMP" tracedat "$p.dat" "$tmp/lost.db" > "$tmp/out" 2>&1; then
		notok "$l: trace.dat imports" "$(cat "$tmp/out")"; return
	fi
	entries=$(awk '/^entries:/ {s += $2} END {print s + 0}' "$p.tracefs-stats.txt")
	got=$("$HVTRACE" sql "$tmp/lost.db" "SELECT sum(count) FROM event_type" | sed 1d)
	[ "$entries" = "$got" ] && ok "$l: events equal the ring buffer's entries ($got)" ||
		notok "$l: events equal the ring buffer's entries" "$got != $entries"
	bad=""
	for c in $(awk '/^cpu/ {c = substr($1, 4)} /^overrun:/ && $2 > 0 {print c ":" $2}' "$p.tracefs-stats.txt"); do
		cpu=${c%%:*}; over=${c#*:}
		n=$("$HVTRACE" sql "$tmp/lost.db" "SELECT count(*) || ' ' || coalesce(sum(count), 0) FROM lost WHERE cpu = $cpu" | sed 1d)
		case "$n" in
		"0 "*) bad="$bad cpu$cpu:no-lost-row" ;;
		*" 0") ;;
		*" $over") ;;
		*) bad="$bad cpu$cpu:$n!=$over" ;;
		esac
	done
	[ -z "$bad" ] && ok "$l: overrun CPUs have lost rows with the overrun count" ||
		notok "$l: overrun CPUs have lost rows with the overrun count" "$bad"
	total=$(awk '/^overrun:/ {s += $2} END {print s + 0}' "$p.tracefs-stats.txt")
	[ "$total" -gt 0 ] && ok "$l: the buffer did overrun ($total)" || notok "$l: the buffer did overrun" "0"
}

check_set "x86-kvm fixture" tests/data/x86-kvm
check_lost "x86-kvm-lost fixture" tests/data/x86-kvm-lost

# live: record the same workload now
mkdir -p "$tmp/live"
sh tests/data/record-x86-kvm.sh "$tmp/live" live 200 2> "$tmp/rec.err"
rc=$?
if [ $rc -eq 77 ]; then
	skip "live x86 kvm recording" "$(tail -1 "$tmp/rec.err")"
elif [ $rc -ne 0 ]; then
	notok "live x86 kvm recording" "$(tail -1 "$tmp/rec.err")"
else
	ok "live x86 kvm recording"
	check_set "live x86-kvm" "$tmp/live/live"
	"$BUILD/tests/test_import_tracedat" "$tmp/live/live.dat" "$tmp/live/live.report.txt" 2>/dev/null |
		sed 's/^\(ok\|not ok\|skip\) - /\1 - live: /'
	if sh tests/data/record-x86-kvm.sh "$tmp/live" lost 3000 4 2> "$tmp/rec.err"; then
		check_lost "live x86-kvm with a 4 KB ring buffer" "$tmp/live/lost"
	else
		notok "live x86 kvm recording with a tiny buffer" "$(tail -1 "$tmp/rec.err")"
	fi
fi
exit 0
