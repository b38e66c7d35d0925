#!/bin/bash
# Pool throughput when the daemon runs short of fds: a pool of 2 pool-echo
# workers, 5000 connections with 64 in flight, once with RLIMIT_NOFILE 64 and
# once without a low limit, in one run; prints both lines and their ratio. The
# EMFILE pause of a listener ends as soon as a worker's ACK gives an fd back
# (unixsockd(8), OVERLOAD); before that it lasted its whole 100 ms.
#   tests/bench/emfile-pool.sh [NOFILE]     (as root, from the repo)
set -euo pipefail
cd "$(dirname "$0")/../.."
nofile=${1:-64}
builddir=${BENCH_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" daemon/unixsockd lib/pool-echo tests/bench/usd-load >/dev/null
tmp=$(mktemp -d /tmp/usd-emfile-pool.XXXXXX)
pid=
cleanup() {
        if [ -n "$pid" ]; then
                kill -TERM "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
cat > "$tmp/c.conf" <<CONF
[unixsockd]
runtime-directory = $tmp
[socket:p]
path = p.sock
worker = p
[worker:p]
command = $(realpath "$builddir")/lib/pool-echo
dispatch = pool
instances = 2
CONF
load=$builddir/tests/bench/usd-load
# run LIMIT: one line of usd-load figures; conn/s goes to $rate
run() {
        prlimit --nofile="$1:" "$builddir/daemon/unixsockd" -c "$tmp/c.conf" --log-target=console 2> "$tmp/log" &
        pid=$!
        "$load" -s "$tmp/p.sock" -w 10 -p "$pid" -n 0
        out=$("$load" -s "$tmp/p.sock" -n 5000 -c 64 -t 120 -l "nofile-$1")
        echo "$out; EMFILE pauses logged: $(grep -c 'accepting paused' "$tmp/log")"
        kill -TERM "$pid"
        wait "$pid" || true
        pid=
        rate=$(sed -n "s/.* conn_per_s=\([0-9.]*\).*/\1/p" <<< "$out")
}
run "$nofile"; low=$rate
run "$(ulimit -Hn)"; high=$rate
awk -v a="$low" -v b="$high" 'BEGIN { if (b > 0) printf "ratio nofile-limited / unlimited: %.2f\n", a / b }'
