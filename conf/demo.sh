#!/bin/bash
# Builds unixsockd (installing what is missing, as root on Debian 12) and runs
# it in the foreground on conf/demo.conf (as meson writes it into build/conf/,
# with the paths of the example pool workers), logging to this terminal.
# Ctrl-C stops it.
#   conf/demo.sh [extra unixsockd options, e.g. --log-level=debug]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/deps.sh
DEPS_TEST="socat netcat-openbsd python3"
deps_install
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
build/daemon/unixsockd --check -c build/conf/demo.conf >/dev/null
if [ "$(id -u)" = 0 ]; then dir=${RUNTIME_DIRECTORY:-/run/unixsockd}; else dir=${RUNTIME_DIRECTORY:-${XDG_RUNTIME_DIR:-?}/unixsockd}; fi
echo "unixsockd: sockets in $dir; try: socat - UNIX-CONNECT:$dir/echo.sock" >&2
exec build/daemon/unixsockd -c build/conf/demo.conf --log-target=console "$@"
