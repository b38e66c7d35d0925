#!/bin/bash
# Clients stalled behind a silent one: a pool of 2 serial workers, one client
# that connects and sends nothing (kept open for the whole run), then N
# connections with C in flight; counts those that took 5 s or more or timed
# out (usd-load -S -L 5). With credit (protocol 2) the silent client's worker
# is sent nothing more and every other client goes to the free one: 0.
#   tests/bench/bench-stall.sh            (as root, from the repo)
# Environment: BENCH_CONNECTIONS (1000), BENCH_CONCURRENCY (32),
# BENCH_BUILDDIR (build-bench), UNIXSOCKD (another daemon binary) and
# BENCH_POOL_WORKER (its pool worker, lib/pool-echo of the same build), so
# that an older build is measured the same way.
set -euo pipefail
cd "$(dirname "$0")/../.."
builddir=${BENCH_BUILDDIR:-build-bench}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" daemon/unixsockd lib/pool-echo tests/bench/usd-load >/dev/null
unixsockd=${UNIXSOCKD:-$(realpath "$builddir")/daemon/unixsockd}
worker=${BENCH_POOL_WORKER:-$(realpath "$builddir")/lib/pool-echo}
n=${BENCH_CONNECTIONS:-1000}
conc=${BENCH_CONCURRENCY:-32}
tmp=$(mktemp -d /tmp/usd-stall.XXXXXX)
pid=
cleanup() {
        if [ -n "$pid" ]; then
                kill -TERM "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
cat > "$tmp/c.conf" <<CONF
[unixsockd]
runtime-directory = $tmp
control = none
[socket:p]
path = p.sock
worker = p
[worker:p]
command = $worker
dispatch = pool
instances = 2
CONF
load=$builddir/tests/bench/usd-load
"$unixsockd" -c "$tmp/c.conf" --log-target=console 2> "$tmp/log" &
pid=$!
"$load" -s "$tmp/p.sock" -w 10 -p "$pid" -n 0
# -t 10: a client stuck behind the silent one gives up after 10 s (a timeout: stalled)
out=$("$load" -s "$tmp/p.sock" -S -L 5 -n "$n" -c "$conc" -t 10 -l stall) || true
echo "$out"
echo "daemon: $unixsockd; worker: $worker"
sed -n 's/.* stalled=\([0-9]*\) .*/clients stalled 5 s or more behind the silent one: \1/p' <<< "$out"
