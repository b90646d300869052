#!/bin/sh
# test_import_sched_text: live `perf script` text of sched:sched_switch / sched_wakeup from this
# machine imports with every field equal to what the text shows (rebuilt from the store with SQL
# and compared line by line with values cut out of the text by sed), and the header fields (pid,
# cpu, time) of every event. Skips, saying why, without root or perf. (sched_wakeup's field pid is
# stored in column f_pid: pid is the common column.)
BUILD=${BUILD:-build}
HVTRACE=${HVTRACE:-$BUILD/hvtrace}
IMP=$BUILD/tests/helper_import
tmp=$(mktemp -d /tmp/hvtrace-schedXXXXXX)
trap 'rm -rf "$tmp"' EXIT
name="live sched text"
if [ "$(id -u)" != 0 ] || ! command -v perf > /dev/null; then
	echo "skip - $name # needs root and perf"; exit 0
fi
if ! perf record -q -e sched:sched_switch -e sched:sched_wakeup -a -o "$tmp/s.data" -- \
	sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 0.005; done' > /dev/null 2>&1; then
	echo "skip - $name # perf record -e sched:* failed (no tracefs access?)"; exit 0
fi
perf script -i "$tmp/s.data" > "$tmp/s.txt" 2> /dev/null
if "$IMP" text "$tmp/s.txt" "$tmp/s.db" > "$tmp/out" 2>&1; then
	echo "ok - $name: imports ($(cat "$tmp/out"))"
else
	echo "not ok - $name: imports ($(cat "$tmp/out"))"; exit 0
fi
q() { "$HVTRACE" sql "$tmp/s.db" "$1" | sed 1d; }
cmp_lines() { # $1 name, $2 expected file, $3 got file
	if diff "$2" "$3" > "$tmp/diff"; then
		echo "ok - $name: $1 ($(wc -l < "$2") events)"
	else
		echo "not ok - $name: $1 ($(head -4 "$tmp/diff" | tr '\n' ' '))"
	fi
}
sw='prev_comm=\(.*\) prev_pid=\(-*[0-9]*\) prev_prio=\(-*[0-9]*\) prev_state=\([A-Za-z|]*\)+* ==> next_comm=\(.*\) next_pid=\(-*[0-9]*\) next_prio=\(-*[0-9]*\)$'
grep ' sched:sched_switch: ' "$tmp/s.txt" | sed "s/.* sched:sched_switch: $sw/\1|\2|\3|\4|\5|\6|\7/" > "$tmp/sw.want"
q "SELECT prev_comm || '|' || prev_pid || '|' || prev_prio || '|' ||
	CASE prev_state & 255 WHEN 0 THEN 'R' WHEN 1 THEN 'S' WHEN 2 THEN 'D' WHEN 4 THEN 'T' WHEN 8 THEN 't'
	WHEN 16 THEN 'X' WHEN 32 THEN 'Z' WHEN 64 THEN 'P' WHEN 128 THEN 'I' ELSE 'multi' END || '|' ||
	next_comm || '|' || next_pid || '|' || next_prio AS v FROM sched__sched_switch ORDER BY seq" > "$tmp/sw.got"
cmp_lines "sched_switch fields equal the text" "$tmp/sw.want" "$tmp/sw.got"
wk='comm=\(.*\) pid=\(-*[0-9]*\) prio=\(-*[0-9]*\) target_cpu=\([0-9]*\)$'
grep ' sched:sched_wakeup: ' "$tmp/s.txt" | sed "s/.* sched:sched_wakeup: $wk/\1|\2|\3|\4/" > "$tmp/wk.want"
q "SELECT comm || '|' || f_pid || '|' || prio || '|' || printf('%03d', target_cpu) AS v FROM sched__sched_wakeup ORDER BY seq" > "$tmp/wk.got"
cmp_lines "sched_wakeup fields equal the text" "$tmp/wk.want" "$tmp/wk.got"
hd='^ *.* \(-*[0-9][0-9]*\) \[\([0-9]*\)\] *\([0-9]*\.[0-9]*\): *sched:\([a-z_]*\): .*'
grep ' sched:sched_' "$tmp/s.txt" | sed "s/$hd/\1|\2|\3|\4/" > "$tmp/hd.want"
q "SELECT pid || '|' || printf('%03d', cpu) || '|' || printf('%d.%06d', ts / 1000000000, (ts / 1000) % 1000000) || '|' || name AS v
	FROM (SELECT seq, pid, cpu, ts, 'sched_switch' AS name FROM sched__sched_switch
	      UNION ALL SELECT seq, pid, cpu, ts, 'sched_wakeup' FROM sched__sched_wakeup) ORDER BY seq" > "$tmp/hd.got"
cmp_lines "pid, cpu, time and type of every event equal the text" "$tmp/hd.want" "$tmp/hd.got"
plus=$(grep -c 'prev_state=[A-Za-z|]*+ ==>' "$tmp/s.txt")
unk=$(q "SELECT coalesce(sum(value), 0) AS v FROM stats WHERE key = 'text_field_unknown:sched:sched_switch:prev_state'")
[ "$plus" = "$unk" ] && echo "ok - $name: prev_state with the preemption marker is counted as not determined ($plus)" ||
	echo "not ok - $name: prev_state with the preemption marker is counted as not determined ($unk != $plus)"
exit 0
