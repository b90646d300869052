#!/bin/sh
# make demo: the main job end to end on the built-in default scenario: simulate a POWER8
# host (2 cores, mixed VMs, host load), show what the trace holds and its split modes,
# replay it against the kernel's rules (it must be clean), summarise it (stat), replay its
# demand under other micro-threading settings (whatif), and write the HTML report; the last
# line says where the report is. The same run also writes a perf.data file.
set -e
BUILD=${BUILD:-build}
HV=$BUILD/hvtrace
$HV simulate -o "$BUILD/demo.db" --perf-data "$BUILD/demo.data" --force
$HV info "$BUILD/demo.db"
echo
echo "split modes of the kvmppc_run_core windows (kvmhv_core_plan):"
$HV sql "$BUILD/demo.db" "SELECT split, count(*) AS runs FROM kvm_hv_sched__kvmhv_core_plan GROUP BY split"
echo
echo "replay against the kernel's rules:"
if ! $HV replay "$BUILD/demo.db"; then
	echo "demo: the default scenario's trace should replay clean; it did not" >&2
	exit 1
fi
echo
echo "perf kvm stat-like summary (hvtrace stat, from the derived tables simulate wrote):"
$HV stat "$BUILD/demo.db" --vm 1000
echo
echo "what-if: the recorded demand under each dynamic_mt_modes setting:"
$HV whatif "$BUILD/demo.db" --mt-modes 0,2,4,6
echo
echo "demo database: $BUILD/demo.db; the same events as perf.data: $BUILD/demo.data"
if command -v perf > /dev/null 2>&1; then
	echo "perf script -i $BUILD/demo.data | head -3:"
	perf script -i "$BUILD/demo.data" 2>/dev/null | head -3 || true
fi
echo
$HV report "$BUILD/demo.db" -o "$BUILD/demo-report" > /dev/null
echo "report: $(pwd)/$BUILD/demo-report/index.html (and summary.txt beside it)"
