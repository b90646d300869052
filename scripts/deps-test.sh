#!/bin/sh
# Best-effort install of Debian packages that only the tests use: chromium, for the report's
# browser test (tests/py/test_report_browser.py). `make test` runs this once per build
# directory; it never fails: without the package that test skips with a message.
PKGS="chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if ! sudo -n true 2>/dev/null; then
		echo "hvtrace: not installing test-only packages ($missing) without root; the browser test will skip"
		exit 0
	fi
	SUDO="sudo -n"
fi
echo "hvtrace: installing test-only Debian packages:$missing (optional; may take a while)"
export DEBIAN_FRONTEND=noninteractive
if ! timeout 900 $SUDO apt-get install -y -qq $missing >/dev/null 2>&1; then
	timeout 300 $SUDO apt-get update -qq >/dev/null 2>&1
	timeout 900 $SUDO apt-get install -y -qq $missing >/dev/null 2>&1 ||
		echo "hvtrace: could not install$missing; the browser test will skip"
fi
exit 0
