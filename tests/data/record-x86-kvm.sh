#!/bin/sh
# Record the x86 KVM fixtures of tests/data (see README.md): one run of the tiny guest
# (tests/c/helper_tinyguest.c) traced at the same time by perf (kvm:* into perf.data) and by a
# private ftrace instance (kvm events, extracted with trace-cmd into a trace.dat), so both
# files hold the same events. Needs root, /dev/kvm, perf, trace-cmd and tracefs.
# Usage: sh tests/data/record-x86-kvm.sh OUTDIR PREFIX [ITERATIONS [BUFFER_KB]]   (from the repo
# root, after `make`). A small BUFFER_KB (4) makes the ftrace ring buffer overwrite events: the
# per-CPU overrun counts are saved in PREFIX.tracefs-stats.txt. Exit 77 when something needed
# is missing.
set -u
out=$1; p=$2; n=${3:-100}; kb=${4:-64}
guest=${BUILD:-build}/tests/helper_tinyguest
T=/sys/kernel/tracing
I=$T/instances/hvtrace_rec_$$
need() { echo "record-x86-kvm: $1" >&2; exit 77; }
[ "$(id -u)" = 0 ] || need "not root"
[ -w /dev/kvm ] || need "no /dev/kvm"
command -v perf >/dev/null || need "no perf"
command -v trace-cmd >/dev/null || need "no trace-cmd"
[ -d $T/instances ] || mount -t tracefs nodev $T 2>/dev/null
[ -d $T/instances ] || need "no tracefs at $T"
[ -x "$guest" ] || need "$guest not built"
"$guest" 1 >/dev/null 2>&1 || need "the tiny guest cannot run on /dev/kvm"
mkdir -p "$out"
mkdir $I || need "cannot create an ftrace instance"
trap 'rmdir $I 2>/dev/null' EXIT
echo $kb > $I/buffer_size_kb
echo 1 > $I/events/kvm/enable
# Both tracers follow only the guest's task (perf per task; ftrace through set_event_pid, set by
# the task itself before it becomes the guest), so other KVM users on the machine do not leak in.
echo 1 > $I/options/event-fork 2>/dev/null
echo 1 > $I/tracing_on
perf record -q -e 'kvm:*' -o "$out/$p.data" -- sh -c "echo \$\$ > $I/set_event_pid && exec $guest $n" \
	>/dev/null 2>&1 || need "perf record failed"
echo 0 > $I/tracing_on
echo 0 > $I/events/kvm/enable
cat $I/trace > "$out/$p.ftrace.txt"
for c in $I/per_cpu/cpu*; do echo "${c##*/}"; cat $c/stats; done > "$out/$p.tracefs-stats.txt"
# trace-cmd saves /proc/kallsyms (megabytes) in the file; show it a one-line stand-in so the
# fixture stays small. trace-cmd extract -B also removes the instance afterwards.
ks=$(mktemp); echo 'ffffffff81000000 T _stext' > "$ks"
unshare -m sh -c "mount --bind $ks /proc/kallsyms && trace-cmd extract -B ${I##*/} -o '$out/$p.dat'" >/dev/null 2>&1
rm -f "$ks"
[ -s "$out/$p.dat" ] || need "trace-cmd extract failed"
perf script -i "$out/$p.data" > "$out/$p.script.txt" 2>/dev/null
perf report -i "$out/$p.data" --stats > "$out/$p.stats.txt" 2>/dev/null
trace-cmd report -N "$out/$p.dat" > "$out/$p.report.txt" 2>/dev/null
exit 0
