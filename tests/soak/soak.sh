#!/bin/bash
# Soak: minutes of mixed load on a spawn, a pool and a listener socket at once,
# while pool workers are killed, the daemon reloads and restarts (with its
# listening sockets kept in an fd store, as systemd would). Not part of the
# test suite. Prints a table; exits non-zero if a connection was lost.
#   tests/soak/soak.sh                    (as root on Debian 12, or with everything installed)
# Environment: SOAK_SECONDS [180], SOAK_BUILDDIR [build-soak]; the rest is in
# tests/soak/soak.py.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

builddir=${SOAK_BUILDDIR:-build-soak}

# shellcheck source=tests/deps.sh
. tests/deps.sh
# shellcheck disable=SC2086
missing=$(deps_missing $DEPS_BUILD python3 procps)
if [ -n "$missing" ]; then
        if [ "$(id -u)" != 0 ]; then
                echo "soak: missing packages: $missing (run as root to install them)" >&2
                exit 2
        fi
        echo "soak: installing: $missing" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        # shellcheck disable=SC2086
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -f "$builddir/build.ninja" ]; then
        meson setup "$builddir" >/dev/null
fi
ninja -C "$builddir" daemon/unixsockd lib/pool-echo tests/bench/usd-load tests/bench/inproc-echo >/dev/null

exec python3 tests/soak/soak.py "$builddir"
