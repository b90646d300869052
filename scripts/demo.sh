#!/bin/sh
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
