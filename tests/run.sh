#!/bin/bash
# Builds unixsockd and runs its whole test suite: installs what is missing
# (Debian 12, as root), configures a build directory, runs every suite.
#   tests/run.sh [BUILDDIR] [meson setup options...]
# Environment: UNIXSOCKD_SUITES="unit integration systemd" (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/deps.sh
deps_install

builddir=${1:-build}
shift || true
if [ -f "$builddir/build.ninja" ]; then
        meson configure "$builddir" "$@" >/dev/null
else
        meson setup "$builddir" "$@"
fi
ninja -C "$builddir" 2>&1 | tee "$builddir/compile.log"
if grep -q 'warning:' "$builddir/compile.log"; then
        echo "error: the build printed compiler warnings" >&2
        exit 1
fi

suites=()
for s in ${UNIXSOCKD_SUITES:-}; do suites+=(--suite "$s"); done
rc=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 "${suites[@]}" || rc=$?
tests/tap-summary.py "$builddir/meson-logs/testlog.json" || rc=1
exit $rc
