#!/bin/bash
# Pool and listener dispatch benchmark: unixsockd dispatch = pool and
# dispatch = listener beside inproc-echo (accept and echo in one process, the
# limit), fdpass-pool (the minimal accept-and-pass-fd loop) and
# systemd-socket-activate running inproc-echo. One table, then every row's
# conn/s and p99 against inproc-echo's of the same round, and when
# baseline-pool[:N] ran (BENCH_BASELINE), every unixsockd-pool* row's conn/s,
# p99 and daemon CPU per connection against the baseline of the same round and N.
#   tests/bench/bench-pool.sh             (as root, or with everything installed)
# The environment of bench-spawn.sh applies (BENCH_POOL, BENCH_SERVERS, ...).
BENCH_KIND=pool exec "$(dirname "$0")/bench-spawn.sh" "$@"
