#!/bin/bash
# How much CPU unixsockd burns while it cannot accept (RLIMIT_NOFILE lowered
# under it, clients hammering), and whether every client is served once the fds
# come back. Prints one line of figures; exit 1 if a client failed.
#   tests/bench/emfile-cpu.sh [SECONDS]     (as root, from the repo)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
builddir=${BENCH_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" daemon/unixsockd tests/bench/usd-load >/dev/null
tmp=$(mktemp -d /tmp/usd-emfile.XXXXXX)
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
[socket:echo]
path = echo.sock
worker = cat
[worker:cat]
command = /bin/cat
CONF
"$builddir/daemon/unixsockd" -c "$tmp/c.conf" --log-target=console 2> "$tmp/log" &
pid=$!
load=$builddir/tests/bench/usd-load
"$load" -s "$tmp/echo.sock" -w 10 -p "$pid" -n 0
free=0
while [ -e "/proc/$pid/fd/$free" ]; do free=$((free + 1)); done
prlimit --pid "$pid" --nofile="$free:"
ticks() { local f; read -r -a f <<< "$(cut -d')' -f2- "/proc/$pid/stat")"; echo $((f[11] + f[12])); }
"$load" -s "$tmp/echo.sock" -n 2000 -c 32 -t $((secs + 60)) > "$tmp/load.out" 2>/dev/null &
loadpid=$!
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
prlimit --pid "$pid" --nofile="$(ulimit -Sn):"
rc=0
wait "$loadpid" || rc=$?
hz=$(getconf CLK_TCK)
echo "emfile: ${secs}s with accept failing (RLIMIT_NOFILE=$free), 32 clients waiting:" \
     "daemon CPU $(awk -v a="$t0" -v b="$t1" -v h="$hz" -v s="$secs" 'BEGIN { printf "%.2f s = %.1f%%", (b - a) / h, (b - a) / h / s * 100 }');" \
     "pauses logged: $(grep -c 'accepting paused' "$tmp/log");" \
     "after the fds came back: $(cat "$tmp/load.out")"
exit "$rc"
