#!/bin/sh
# make demo: the main job end to end on the built-in input. For now: write a trace database
# from the built-in kvm_hv event sequence, show what it holds, and replay it.
set -e
BUILD=${BUILD:-build}
H=$BUILD/hvtrace
OUT=$BUILD/demo
mkdir -p "$OUT"
"$H" demo-db -o "$OUT/demo.db" --force
"$H" info "$OUT/demo.db"
echo
echo "first events:"
"$H" events "$OUT/demo.db" --max 12
echo
echo "exits by trap:"
"$H" sql "$OUT/demo.db" "SELECT printf('0x%x', trap) AS trap, count(*) AS exits FROM kvm_hv__kvm_guest_exit GROUP BY trap ORDER BY exits DESC"
echo
echo "replay against the kernel's rules:"
"$H" replay "$OUT/demo.db"
echo
echo "kvmppc_run_core windows (core_run, written by the replay):"
"$H" sql "$OUT/demo.db" "SELECT id, cpu, runner_vcpu, n_runnable, n_vcpus, split, threads_used, threads_avail, vcpus FROM core_run LIMIT 5"
echo
echo "demo database: $OUT/demo.db"
# make demo: simulate the built-in default scenario (POWER8, 2 cores, mixed VMs, host load)
# into $BUILD/demo.db, then show what the trace holds (hvtrace info) and a few of its events.
set -e
BUILD=${BUILD:-build}
HV=$BUILD/hvtrace
$HV simulate -o "$BUILD/demo.db" --force
$HV info "$BUILD/demo.db"
echo
echo "split modes of the kvmppc_run_core windows (kvmhv_core_plan):"
$HV sql "$BUILD/demo.db" "SELECT split, count(*) AS runs FROM kvm_hv_sched__kvmhv_core_plan GROUP BY split"
