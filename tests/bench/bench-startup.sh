#!/bin/bash
# Start-up and reload at scale: unixsockd with N [socket:] sections (each its
# own path, all naming one spawn worker) beside a bare bind+listen loop over
# the same N paths and systemd-socket-activate with N -l PATH; and unixsockd
# getting the N sockets from a socket-unit-like parent (bare-bind -x: fds 3..,
# LISTEN_FDS, LISTEN_FDNAMES) as under systemd or after a restart from the fd
# store. Prints one markdown table. As root (installs what is missing), or with everything there.
#   tests/bench/bench-startup.sh
#   BENCH_ROUNDS=5 BENCH_SOCKETS="10 100 1000 5000" tests/bench/bench-startup.sh
# Every round starts each server on a fresh directory of sockets, times exec ->
# ready with tests/bench/ready-wait (READY=1 on a notify socket of its own; for
# systemd-socket-activate, which sends none, until the last path accepts a
# connection), reads VmHWM there, times BENCH_RELOADS no-op reloads of unixsockd
# (SIGHUP -> RELOADING=1 -> READY=1), then stops the server (SIGTERM, SIGKILL
# to its process group after 5 s) and removes the directory.
# Environment (defaults in brackets):
#   BENCH_SOCKETS ["10 100 1000"]  socket counts, one set of rows each
#   BENCH_ROUNDS [3]               rounds per row; the table shows the median and min-max
#   BENCH_RELOADS [5]              no-op reloads of unixsockd per round
#   BENCH_SERVERS ["unixsockd unixsockd-inherited bare-bind systemd-socket-activate"]
#                                  subset and order
#   BENCH_TMPDIR                   where the sockets go [/dev/shm when it is a tmpfs, as
#                                  /run is on a normal system, else ${TMPDIR:-/tmp}]
#   BENCH_TIMEOUT [60]             seconds a start or a reload may take
#   BENCH_BUILDDIR [build-bench]   meson build directory (created if missing)
#   UNIXSOCKD [$BENCH_BUILDDIR/daemon/unixsockd]   the daemon under test
#   BENCH_BASELINE                 another unixsockd (a build of an older commit): adds
#                                  the rows baseline and baseline-inherited, run in
#                                  the same rounds as the others, so that both see
#                                  the same machine (a shared one is noisy)
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

counts=${BENCH_SOCKETS:-10 100 1000}
rounds=${BENCH_ROUNDS:-3}
reloads=${BENCH_RELOADS:-5}
servers=${BENCH_SERVERS:-unixsockd unixsockd-inherited bare-bind systemd-socket-activate}
baseline=${BENCH_BASELINE:-}
if [ -n "$baseline" ]; then
        [ -x "$baseline" ] || die "BENCH_BASELINE: $baseline is not an executable"
        [ "${baseline#/}" != "$baseline" ] || baseline=$PWD/$baseline
        [ -n "${BENCH_SERVERS:-}" ] || servers+=" baseline baseline-inherited"
fi
timeout=${BENCH_TIMEOUT:-60}
builddir=${BENCH_BUILDDIR:-build-bench}
unixsockd=${UNIXSOCKD:-$builddir/daemon/unixsockd}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case $rounds in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a positive number, not '$rounds'" ;; esac
case $reloads in '' | *[!0-9]*) die "BENCH_RELOADS must be a number, not '$reloads'" ;; esac
for n in $counts; do
        case $n in '' | *[!0-9]* | 0) die "BENCH_SOCKETS: '$n' is not a positive number" ;; esac
done

# --- what the benchmark needs -------------------------------------------------
# shellcheck source=tests/deps.sh
. tests/deps.sh
# shellcheck disable=SC2086
missing=$(deps_missing $DEPS_BUILD systemd procps python3)
if [ -n "$missing" ]; then
        [ "$(id -u)" = 0 ] || die "missing packages: $missing (run as root to install them)"
        log "installing: $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        # shellcheck disable=SC2086
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -f "$builddir/build.ninja" ]; then
        meson setup "$builddir" >/dev/null
fi
ninja -C "$builddir" tests/bench/ready-wait tests/bench/bare-bind >/dev/null ||
        die "building the bench tools in $builddir failed"
if [ -z "${UNIXSOCKD:-}" ]; then
        ninja -C "$builddir" daemon/unixsockd >"$builddir/bench-unixsockd-build.log" 2>&1 ||
                die "daemon/unixsockd does not build (see $builddir/bench-unixsockd-build.log)"
fi
[ -x "$unixsockd" ] || die "$unixsockd is not an executable"
[ "${unixsockd#/}" != "$unixsockd" ] || unixsockd=$PWD/$unixsockd
bench=$PWD/$builddir/tests/bench

# one fd per socket, and some
max=0
for n in $counts; do [ "$n" -gt "$max" ] && max=$n; done
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((max + 256)) ]; then
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((max + 256)) ] ||
                die "RLIMIT_NOFILE $(ulimit -n) is too small for $max sockets"
fi

if [ -n "${BENCH_TMPDIR:-}" ]; then
        base=$BENCH_TMPDIR
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
        base=/dev/shm
else
        base=${TMPDIR:-/tmp}
fi
tmp=$(mktemp -d "$base/usd-bench-startup.XXXXXX")
results=$tmp/results

cleanup() {
        # only the script itself, not a subshell that got the signal first
        [ "$BASHPID" = "$$" ] || return 0
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# conf FILE DIR N: N sockets DIR/sN.sock, one spawn worker, no control socket.
conf() {
        local i
        {
                printf '[unixsockd]\nruntime-directory = %s\ncontrol = none\nlog-level = notice\n' "$2"
                for ((i = 0; i < $3; i++)); do
                        printf '[socket:s%d]\npath = s%d.sock\nworker = w\n' "$i" "$i"
                done
                printf '[worker:w]\ncommand = /bin/cat\ndispatch = spawn\n'
        } >"$1"
}

# run SERVER N ROUND: one start (and the reloads) of SERVER; a result line
# "server n round ready_ms=... cpu_ms=... vmhwm_kb=... [reload_ms=a,b,...]".
run() {
        local server=$1 n=$2 dir=$tmp/r$3-$1-$2 out i daemon=$unixsockd
        local -a cmd wait
        mkdir "$dir"
        wait=(-c "$dir/s$((n - 1)).sock")
        case $server in baseline*) daemon=$baseline ;; esac
        case $server in
        unixsockd | baseline)
                [ -n "$daemon" ] || die "server $server needs BENCH_BASELINE"
                conf "$tmp/unixsockd-$n.conf" "$dir" "$n"
                cmd=("$daemon" -c "$tmp/unixsockd-$n.conf")
                wait+=(-r "$reloads") ;;
        unixsockd-inherited | baseline-inherited)
                # the clock starts at bare-bind's exec: its binding is in the time
                [ -n "$daemon" ] || die "server $server needs BENCH_BASELINE"
                conf "$tmp/unixsockd-$n.conf" "$dir" "$n"
                cmd=("$bench/bare-bind" -b 128 -x)
                for ((i = 0; i < n; i++)); do cmd+=("$dir/s$i.sock"); done
                cmd+=(-- "$daemon" -c "$tmp/unixsockd-$n.conf")
                wait+=(-r "$reloads") ;;
        bare-bind)
                cmd=("$bench/bare-bind" -b 128)
                for ((i = 0; i < n; i++)); do cmd+=("$dir/s$i.sock"); done ;;
        systemd-socket-activate)
                # execs its command at the first connection (ready-wait's
                # own): a sleep, which the stop kills
                cmd=(systemd-socket-activate)
                for ((i = 0; i < n; i++)); do cmd+=(-l "$dir/s$i.sock"); done
                cmd+=(sleep 3600)
                wait=(-w "$dir/s$((n - 1)).sock") ;;
        *)
                die "unknown server '$server' in BENCH_SERVERS" ;;
        esac
        if ! out=$("$bench/ready-wait" -t "$timeout" "${wait[@]}" -- "${cmd[@]}" 2>"$tmp/stderr"); then
                log "$server with $n sockets, round $3: no start:"
                tail -5 "$tmp/stderr" >&2
                out="failed"
        fi
        rm -rf "$dir"
        echo "$server $n $3 $out" >>"$results"
}

: >"$results"
read -ra server_list <<<"$servers"
for ((r = 0; r < rounds; r++)); do
        for n in $counts; do
                # round r starts at the r-th server: none always goes first
                for ((k = 0; k < ${#server_list[@]}; k++)); do
                        s=${server_list[$(((k + r) % ${#server_list[@]}))]}
                        log "round $((r + 1))/$rounds: $s, $n sockets"
                        run "$s" "$n" "$r"
                done
        done
done

python3 - "$results" "$servers" "$counts" <<'EOF'
import statistics, sys

results, servers, counts = sys.argv[1], sys.argv[2].split(), [int(n) for n in sys.argv[3].split()]
rows = {}
for line in open(results):
    f = line.split()
    server, n = f[0], int(f[1])
    r = rows.setdefault((server, n), {"ready": [], "cpu": [], "hwm": [], "reload": [], "failed": 0})
    kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
    if "ready_ms" not in kv:
        r["failed"] += 1
        continue
    r["ready"].append(float(kv["ready_ms"]))
    r["cpu"].append(float(kv["cpu_ms"]))
    r["hwm"].append(int(kv["vmhwm_kb"]))
    if kv.get("reload_ms"):
        r["reload"] += [float(v) for v in kv["reload_ms"].split(",")]

def spread(v, fmt):
    if not v:
        return "–"
    return (fmt + " (" + fmt + "–" + fmt + ")") % (statistics.median(v), min(v), max(v))

print("| sockets | server | time to ready ms | server CPU ms | reload ms | VmHWM KiB | KiB per socket |")
print("|--:|---|--:|--:|--:|--:|--:|")
for n in counts:
    for s in servers:
        r = rows.get((s, n))
        if not r:
            continue
        hwm = statistics.median(r["hwm"]) if r["hwm"] else None
        # the slope from the next smaller count of the same server
        smaller = [m for m in counts if m < n and rows.get((s, m)) and rows[(s, m)]["hwm"]]
        slope = "–"
        if hwm is not None and smaller:
            m = max(smaller)
            slope = "%.2f" % ((hwm - statistics.median(rows[(s, m)]["hwm"])) / (n - m))
        name = s + (" (%d failed)" % r["failed"] if r["failed"] else "")
        print("| %d | %s | %s | %s | %s | %s | %s |" % (
            n, name, spread(r["ready"], "%.1f"), spread(r["cpu"], "%.1f"), spread(r["reload"], "%.2f"),
            "%d" % hwm if hwm is not None else "–", slope))
EOF
