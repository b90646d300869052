#!/bin/sh
# Install the Debian 12 packages hvtrace builds, tests and runs with, if any is missing.
# Uses apt-get (through sudo when not root). Prints nothing when everything is present.
set -e
PKGS="gcc make pkg-config python3 libsqlite3-dev sqlite3 libtraceevent-dev libtracefs-dev
libtracecmd-dev trace-cmd libzstd-dev zstd libbpf-dev bpftool clang python3-matplotlib
python3-pytest linux-perf"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "hvtrace: installing missing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq $missing >/dev/null
