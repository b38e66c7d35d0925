#!/bin/bash
# Seqpacket beside stream, in one daemon and one run: for spawn (echo-worker,
# a process per connection) and pool (pool-echo), a socket of each type with
# the same worker; ROUNDS rounds of N connections, C in flight, the two types
# alternating; prints each round's conn/s and, per mode, the ratio of the
# medians (seqpacket / stream). The hand-off is the same code for both types:
# what the ratio shows is the kernel's cost of a seqpacket connection.
#   tests/bench/bench-types.sh [N] [C] [ROUNDS]     (from the repo)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-3000}
c=${2:-8}
rounds=${3:-3}
builddir=${BENCH_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" daemon/unixsockd lib/pool-echo tests/bench/usd-load tests/bench/echo-worker >/dev/null
tmp=$(mktemp -d /tmp/usd-bench-types.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2> /dev/null || true
		wait "$pid" 2> /dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
b=$(realpath "$builddir")
{
	printf '[unixsockd]\nruntime-directory = %s\ncontrol = none\nlog-level = warning\n' "$tmp"
	for type in stream seqpacket; do
		printf '[socket:spawn-%s]\npath = spawn-%s.sock\ntype = %s\nworker = spawn-%s\n' "$type" "$type" "$type" "$type"
		printf '[worker:spawn-%s]\ncommand = %s/tests/bench/echo-worker\ninstances = 64\n' "$type" "$b"
		printf '[socket:pool-%s]\npath = pool-%s.sock\ntype = %s\nworker = pool-%s\n' "$type" "$type" "$type" "$type"
		printf '[worker:pool-%s]\ncommand = %s/lib/pool-echo\ndispatch = pool\ninstances = 4\n' "$type" "$b"
	done
} > "$tmp/c.conf"
load=$b/tests/bench/usd-load
"$b/daemon/unixsockd" -c "$tmp/c.conf" --log-target=console 2> "$tmp/log" &
pid=$!
for s in spawn-stream pool-stream; do "$load" -s "$tmp/$s.sock" -w 10 -p "$pid" -n 0; done
for s in spawn-seqpacket pool-seqpacket; do
	"$load" -s "$tmp/$s.sock" -k seqpacket -w 10 -p "$pid" -n 0
done
# rate MODE TYPE: one measured round; its conn/s is appended to $tmp/MODE-TYPE
rate() {
	local out
	out=$("$load" -s "$tmp/$1-$2.sock" -k "$2" -n "$n" -c "$c" -t 60 -l "$1-$2")
	echo "$out"
	sed -n 's/.* conn_per_s=\([0-9.]*\).*/\1/p' <<< "$out" >> "$tmp/$1-$2"
}
for mode in spawn pool; do
	"$load" -s "$tmp/$mode-stream.sock" -n 500 -c "$c" > /dev/null # warm-up
	for ((r = 0; r < rounds; r++)); do
		rate "$mode" stream
		rate "$mode" seqpacket
	done
done
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for mode in spawn pool; do
	awk -v m="$mode" -v a="$(median "$tmp/$mode-seqpacket")" -v b="$(median "$tmp/$mode-stream")" \
		'BEGIN { printf "%s: median conn/s stream %.0f, seqpacket %.0f, ratio seqpacket/stream %.2f\n", m, b, a, a / b }'
done
