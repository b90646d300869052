# Shared helpers for the shell tests: the same ok/not ok/skip protocol as tests/c/tap.h.
# Tests run from the repository root with BUILD, TOP and HVTRACE set by tests/run.sh.
BUILD=${BUILD:-build}
TOP=${TOP:-$(pwd)}
HVTRACE=${HVTRACE:-$TOP/$BUILD/hvtrace}
T=$(mktemp -d /tmp/hv-sh-XXXXXX)
trap 'rm -rf "$T"' EXIT
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1${2:+ ($2)}"; failed=1; }
skip() { echo "skip - $1 # $2"; }
# check NAME CONDITION-COMMAND...: ok if the command succeeds
check() { n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n" "failed: $*"; fi; }
finish() { exit $failed; }
