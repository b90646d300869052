#!/bin/sh
# make demo: the main job end to end on the built-in default scenario: simulate a POWER8
# host (2 cores, mixed VMs, host load), show what the trace holds and its split modes,
# then replay it against the kernel's rules.
set -e
BUILD=${BUILD:-build}
HV=$BUILD/hvtrace
$HV simulate -o "$BUILD/demo.db" --force
$HV info "$BUILD/demo.db"
echo
echo "split modes of the kvmppc_run_core windows (kvmhv_core_plan):"
$HV sql "$BUILD/demo.db" "SELECT split, count(*) AS runs FROM kvm_hv_sched__kvmhv_core_plan GROUP BY split"
echo
echo "replay against the kernel's rules:"
$HV replay "$BUILD/demo.db" || true
echo
echo "demo database: $BUILD/demo.db"
