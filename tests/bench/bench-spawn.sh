#!/bin/bash
# unixsockd beside its peers and references, one run, the same load for every
# server. Prints a markdown table. Two sets of rows (BENCH_KIND):
#   spawn: one process per connection: s6-ipcserver, ucspi-unix unixserver,
#          socat, systemd-socket-activate --accept, a bare fork+exec loop and
#          unixsockd dispatch = spawn, all running the same echo worker
#   pool:  long-running workers: inproc-echo (one epoll process, the limit),
#          fdpass-pool (accept + SCM_RIGHTS to N pre-forked workers), unixsockd
#          dispatch = pool with pool-echo, unixsockd dispatch = listener and
#          systemd-socket-activate, both running inproc-echo
#   tests/bench/bench-spawn.sh            (as root, or with everything installed)
#   tests/bench/bench-pool.sh             (the same with BENCH_KIND=pool)
# Environment (defaults in brackets):
#   BENCH_KIND [spawn]          spawn | pool: the default BENCH_SERVERS and the title
#   BENCH_CONNECTIONS [20000]   connections per row
#   BENCH_CONCURRENCY ["16 64"] client concurrencies, one set of rows each
#   BENCH_SIZE [64]             message bytes per connection
#   BENCH_WARMUP [500]          connections before each measured run, not counted
#   BENCH_INSTANCES [64]        concurrent worker limit of spawn servers that have one
#   BENCH_POOL [nproc]          workers of fdpass-pool and unixsockd-pool (NAME:N overrides)
#   BENCH_BACKLOG [128]         listen backlog
#   BENCH_TIMEOUT [10]          seconds a connection may take before it is an error
#   BENCH_MAX_SECONDS [300]     per row: start no connection after this
#   BENCH_ROUNDS [1]            measure every row this many times, show the median
#   BENCH_SERVERS               subset/order of, spawn: s6-ipcserver unixserver socat
#                               socat-nofork systemd-socket-activate bare-accept unixsockd;
#                               pool: inproc-echo fdpass-pool[:N] unixsockd-pool[:N]
#                               unixsockd-pool-ev[:N] (event-loop workers, credit 64)
#                               unixsockd-pool-range[:N] (instances = N-N)
#                               unixsockd-pool-elastic[:N] (instances = 1-N)
#                               unixsockd-pool-recycle[:N] (max-connections = BENCH_RECYCLE)
#                               unixsockd-listener[:N] unixsockd-prefork[:N]
#                               baseline-pool[:N] (BENCH_BASELINE, an older unixsockd, and
#                               BENCH_BASELINE_POOL_WORKER [its build's lib/pool-echo])
#                               (N accept-echo copies) sd-activate-inproc; also
#                               variant-{accept,ackdone,idle,batch}[:N] (pool-variants.c).
#                               Any mix works.
#   BENCH_WORKER [echo-worker]  the worker of the spawn servers (must echo until EOF)
#   BENCH_POOL_WORKER [lib/pool-echo]  the worker of unixsockd-pool and its -range,
#                               -elastic and -recycle variants
#   BENCH_RECYCLE [1000]        max-connections of unixsockd-pool-recycle
#   BENCH_BUILDDIR [build-bench] meson build directory (created if missing)
#   UNIXSOCKD [$BENCH_BUILDDIR/daemon/unixsockd]   the daemon under test
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

connections=${BENCH_CONNECTIONS:-20000}
concurrencies=${BENCH_CONCURRENCY:-16 64}
size=${BENCH_SIZE:-64}
warmup=${BENCH_WARMUP:-500}
instances=${BENCH_INSTANCES:-64}
backlog=${BENCH_BACKLOG:-128}
timeout=${BENCH_TIMEOUT:-10}
max_seconds=${BENCH_MAX_SECONDS:-300}
rounds=${BENCH_ROUNDS:-1}
kind=${BENCH_KIND:-spawn}
pool_size=${BENCH_POOL:-$(nproc)}
recycle=${BENCH_RECYCLE:-1000}
builddir=${BENCH_BUILDDIR:-build-bench}
unixsockd=${UNIXSOCKD:-$builddir/daemon/unixsockd}
ready_timeout=10        # seconds a server may take to accept its first connection
stop_timeout=5          # seconds between SIGTERM and SIGKILL

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case $kind in
spawn)
        default_servers="s6-ipcserver unixserver socat socat-nofork systemd-socket-activate bare-accept unixsockd"
        peer_packages="s6 ucspi-unix socat systemd" ;;
pool)
        default_servers="inproc-echo fdpass-pool unixsockd-pool unixsockd-pool-ev fdpass-pool:$((2 * pool_size))"
        default_servers+=" unixsockd-pool:$((2 * pool_size)) unixsockd-listener unixsockd-listener:$pool_size unixsockd-prefork sd-activate-inproc"
        peer_packages="systemd" ;;
*)
        die "BENCH_KIND must be spawn or pool, not '$kind'" ;;
esac
servers=${BENCH_SERVERS:-$default_servers}

# --- what the benchmark needs -------------------------------------------------
# shellcheck source=tests/deps.sh
. tests/deps.sh
# shellcheck disable=SC2086
missing=$(deps_missing $DEPS_BUILD $peer_packages procps)
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
bench_targets=(tests/bench/usd-load tests/bench/echo-worker tests/bench/bare-accept tests/bench/spawn-methods
        tests/bench/inproc-echo tests/bench/fdpass-pool tests/bench/pool-variants tests/bench/pool-echo-ev tests/bench/accept-echo)
ninja -C "$builddir" "${bench_targets[@]}" >/dev/null ||
        die "building the bench tools in $builddir failed"
unixsockd_missing=
if [ -z "${UNIXSOCKD:-}" ]; then
        # not "| grep -q": under pipefail, ninja dying of SIGPIPE would fail the test
        targets=$(ninja -C "$builddir" -t targets all 2>/dev/null) || targets=""
        if grep -q '^daemon/unixsockd:' <<<"$targets"; then
                ninja -C "$builddir" daemon/unixsockd lib/pool-echo >"$builddir/bench-unixsockd-build.log" 2>&1 ||
                        unixsockd_missing="daemon/unixsockd does not build (see $builddir/bench-unixsockd-build.log)"
        else
                unixsockd_missing="$builddir has no daemon/unixsockd target yet"
        fi
fi
if [ -z "$unixsockd_missing" ] && [ ! -x "$unixsockd" ]; then
        unixsockd_missing="$unixsockd is not an executable"
fi

bench=$PWD/$builddir/tests/bench
load=$bench/usd-load
worker=${BENCH_WORKER:-$bench/echo-worker}
pool_worker=${BENCH_POOL_WORKER:-$PWD/$builddir/lib/pool-echo}
[ "${unixsockd#/}" != "$unixsockd" ] || unixsockd=$PWD/$unixsockd

# --- servers ------------------------------------------------------------------
tmp=$(mktemp -d /tmp/usd-bench.XXXXXX)
server_pid=

cleanup() {
        # only the script itself: a subshell (a $(...), a background job)
        # that gets a signal before it has reset its traps runs them too
        [ "$BASHPID" = "$$" ] || return 0
        if [ -n "$server_pid" ]; then
                kill -KILL -- "-$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# unixsockd_conf FILE SOCKET WORKER-KEYS: a configuration with one socket and its worker.
unixsockd_conf() {
        printf '[socket:bench]\npath = %s\nbacklog = %s\nworker = echo\n\n[worker:echo]\n%s\n' \
                "$2" "$backlog" "$3" >"$1"
}

# server_cmd NAME[:N] SOCKET: the command line of server NAME into the array cmd;
# N is the number of workers of a pool server (default BENCH_POOL), of copies
# of unixsockd-listener (default 1: no instances key).
server_cmd() {
        local sock=$2 n=$pool_size conf="$tmp/${1//:/-}.conf" mode keys
        case $1 in *:*) n=${1#*:} ;; esac
        case $1 in
        s6-ipcserver)
                # -c/-C: maxconn and per-uid maxconn (both default 40, at most 1000)
                cmd=(s6-ipcserver -c "$instances" -C "$instances" -b "$backlog" "$sock" "$worker") ;;
        unixserver)
                cmd=(unixserver -q -c "$instances" -b "$backlog" "$sock" "$worker") ;;
        socat)
                # EXEC without nofork: socat's child relays between the
                # connection and a socketpair to the worker, 2 processes per connection
                cmd=(socat "UNIX-LISTEN:$sock,fork,backlog=$backlog" "EXEC:$worker") ;;
        socat-nofork)
                # the connection itself becomes the worker's stdin/stdout
                cmd=(socat "UNIX-LISTEN:$sock,fork,backlog=$backlog" "EXEC:$worker,nofork") ;;
        systemd-socket-activate)
                cmd=(systemd-socket-activate --accept --inetd -l "$sock" "$worker") ;;
        bare-accept)
                cmd=("$bench/bare-accept" -b "$backlog" -c 10000 "$sock" "$worker") ;;
        unixsockd)
                unixsockd_conf "$conf" "$sock" "command = $worker
dispatch = spawn
instances = $instances"
                cmd=("$unixsockd" -c "$conf") ;;
        inproc-echo)
                # accepts and echoes itself, no dispatch at all (backlog 128)
                cmd=("$bench/inproc-echo" "$sock") ;;
        fdpass-pool | fdpass-pool:*)
                cmd=("$bench/fdpass-pool" "$sock" "$n") ;;
        unixsockd-pool | unixsockd-pool:*)
                unixsockd_conf "$conf" "$sock" "command = $pool_worker
dispatch = pool
instances = $n"
                cmd=("$unixsockd" -c "$conf") ;;
        unixsockd-pool-range | unixsockd-pool-range:*)
                # instances = N-N: a pool that sizes itself, with MIN = MAX
                unixsockd_conf "$conf" "$sock" "command = $pool_worker
dispatch = pool
instances = $n-$n"
                cmd=("$unixsockd" -c "$conf") ;;
        unixsockd-pool-elastic | unixsockd-pool-elastic:*)
                # instances = 1-N, the default idle-timeout (10 s): one process
                # at the start, the others started by the warm-up's load
                unixsockd_conf "$conf" "$sock" "command = $pool_worker
dispatch = pool
instances = 1-$n"
                cmd=("$unixsockd" -c "$conf") ;;
        unixsockd-pool-recycle | unixsockd-pool-recycle:*)
                # every process replaced after BENCH_RECYCLE connections
                unixsockd_conf "$conf" "$sock" "command = $pool_worker
dispatch = pool
instances = $n
max-connections = $recycle"
                cmd=("$unixsockd" -c "$conf") ;;
        baseline-pool | baseline-pool:*)
                # another build's daemon (BENCH_BASELINE) and its pool-echo
                [ -n "${BENCH_BASELINE:-}" ] || die "baseline-pool needs BENCH_BASELINE (an older unixsockd)"
                base_worker=${BENCH_BASELINE_POOL_WORKER:-$(dirname "$(realpath "$BENCH_BASELINE")")/../lib/pool-echo}
                unixsockd_conf "$conf" "$sock" "command = $(realpath "$base_worker")
dispatch = pool
instances = $n"
                cmd=("$(realpath "$BENCH_BASELINE")" -c "$conf") ;;
        unixsockd-pool-ev | unixsockd-pool-ev:*)
                # event-loop workers: protocol 2 with a credit of 64, batches
                unixsockd_conf "$conf" "$sock" "command = $bench/pool-echo-ev
dispatch = pool
instances = $n"
                cmd=("$unixsockd" -c "$conf") ;;
        unixsockd-listener | unixsockd-listener:*)
                # inproc-echo gets the listening socket as fd 3 at the first
                # connection: the readiness probe of run_row. NAME:N: N copies
                # of it share the socket (instances = N), the kernel's wakeups
                # spreading the connections
                keys="command = $bench/inproc-echo
dispatch = listener"
                case $1 in *:*) keys+="
instances = $n" ;; esac
                unixsockd_conf "$conf" "$sock" "$keys"
                cmd=("$unixsockd" -c "$conf") ;;
        unixsockd-prefork | unixsockd-prefork:*)
                # dispatch = listener, instances = N copies of a pre-forking
                # server's worker: each accepts one client at a time itself
                unixsockd_conf "$conf" "$sock" "command = $bench/accept-echo
dispatch = listener
instances = $n"
                cmd=("$unixsockd" -c "$conf") ;;
        sd-activate-inproc)
                # listens (backlog 4096, not settable), waits for the first
                # connection, then execs inproc-echo in its own process
                cmd=(systemd-socket-activate -l "$sock" "$bench/inproc-echo") ;;
        variant-accept* | variant-ackdone* | variant-idle* | variant-batch*)
                # not in any default list: see pool-variants.c
                mode=${1#variant-}
                cmd=("$bench/pool-variants" "${mode%%:*}" "$sock" "$n") ;;
        *)
                die "unknown server '$1' in BENCH_SERVERS" ;;
        esac
}

# cpu_ticks PID: "SELF CHILDREN" CPU of PID, in clock ticks. SELF is its utime +
# stime (its threads, not its children). CHILDREN is its cutime + cstime (the
# children it has reaped) plus utime + stime of the children that still run
# (/proc/PID/task/*/children: pool and listener workers never exit in a run).
# The parent is read first: a child that exits between the reads is missed,
# never counted twice.
cpu_ticks() {
        local stat rest f self kids kid sum
        stat=$(<"/proc/$1/stat") || return 1
        rest=${stat##*) }                # comm may hold blanks and parentheses
        read -r -a f <<<"$rest"          # f[0] is field 3 (state)
        self=$((f[11] + f[12]))
        sum=$((f[13] + f[14]))
        kids=$(cat "/proc/$1"/task/*/children 2>/dev/null) || true
        for kid in $kids; do
                { stat=$(<"/proc/$kid/stat"); } 2>/dev/null || continue
                rest=${stat##*) }
                read -r -a f <<<"$rest"
                sum=$((sum + f[11] + f[12]))
        done
        echo "$self $sum"
}

# n_children PID: how many processes PID has (its pool's or listener's workers).
n_children() {
        local kids
        kids=$(cat "/proc/$1"/task/*/children 2>/dev/null) || true
        wc -w <<<"$kids"
}

vm_hwm_kib() {
        awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# stop_server: SIGTERM; SIGKILL to its process group if it has not exited
# after stop_timeout (usd-load -x waits on a pidfd, so it returns at the exit).
stop_server() {
        local pid=$server_pid
        kill -TERM "$pid" 2>/dev/null || true
        if ! "$load" -p "$pid" -x "$stop_timeout"; then
                log "$name did not exit within ${stop_timeout}s of SIGTERM: SIGKILL"
                kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        # workers a server left behind in its process group
        kill -KILL -- "-$pid" 2>/dev/null || true
        server_pid=
}

clk_tck=$(getconf CLK_TCK)

# kv LINE: the key=value pairs of a usd-load result line into the array R.
declare -A R
kv() {
        local pair
        R=()
        for pair in $1; do R[${pair%%=*}]=${pair#*=}; done
}

# What run_row measured: rate (conn/s, empty when nothing was measured), errn
# (failed + not started connections), p99 (µs), usc (server CPU µs/conn, not
# rounded), cells (the row after the conn/s cell).
rate="" errn="" p99="" usc="" cells=""
not_measured() {
        rate="" errn="" p99="" usc="" cells="– | – | – | – | – | – | – | $1 |"
}

# run_row NAME CONCURRENCY: one measurement.
run_row() {
        local name=$1 conc=$2 sock="$tmp/${1//:/-}.sock" out="$tmp/${1//:/-}.log"
        local line rc before after hwm cpu_s kid_s us_conn errs k procs
        case $name in
        unixsockd*)
                if [ -n "$unixsockd_missing" ]; then
                        not_measured "not run: $unixsockd_missing"
                        return
                fi ;;
        esac
        rm -f "$sock"
        server_cmd "$name" "$sock"
        # its own session and process group, none of our listen/notify fds
        env -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES -u NOTIFY_SOCKET -u WATCHDOG_USEC \
                -u WATCHDOG_PID setsid "${cmd[@]}" </dev/null >"$out" 2>&1 &
        server_pid=$!
        if ! "$load" -s "$sock" -w "$ready_timeout" -p "$server_pid" -n 0; then
                log "$name did not become ready; its output:"
                sed 's/^/    /' "$out" >&2 || true
                stop_server
                not_measured "not ready"
                return
        fi
        "$load" -s "$sock" -n "$warmup" -c "$conc" -m "$size" -t "$timeout" >/dev/null 2>&1 || true
        if ! before=$(cpu_ticks "$server_pid"); then
                log "$name exited during the warm-up; its output:"
                sed 's/^/    /' "$out" >&2 || true
                stop_server
                not_measured "exited during warm-up"
                return
        fi
        procs=$(n_children "$server_pid")
        rc=0
        line=$("$load" -s "$sock" -n "$connections" -c "$conc" -m "$size" -t "$timeout" \
                -T "$max_seconds" -l "$name") || rc=$?
        after=$(cpu_ticks "$server_pid") || after=$before
        hwm=$(vm_hwm_kib "$server_pid") || hwm="?"
        # a pool that sizes itself: how far the warm-up grew it, where the run left it
        procs="$procs processes under the server before the measured run, $(n_children "$server_pid") after"
        stop_server
        if [ "$rc" -gt 1 ] || [ -z "$line" ]; then
                not_measured "usd-load failed ($rc)"
                return
        fi
        log "$line"
        kv "$line"
        cpu_s=$(awk -v a="${before% *}" -v b="${after% *}" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }')
        kid_s=$(awk -v a="${before#* }" -v b="${after#* }" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }')
        usc=$(awk -v a="${before% *}" -v b="${after% *}" -v t="$clk_tck" -v n="${R[ok]}" \
                'BEGIN { printf "%.3f", (n > 0) ? (b - a) / t / n * 1e6 : 0 }')
        us_conn=$(printf '%.0f' "$usc")
        log "$name: $procs; server CPU $usc µs/conn"
        errs=${R[errors]}
        for k in "${!R[@]}"; do
                case $k in err_*) [ "${R[$k]}" = 0 ] || errs="$errs ${k#err_}=${R[$k]}" ;; esac
        done
        [ "${R[skipped]}" = 0 ] || errs="$errs, ${R[skipped]} not started"
        rate=${R[conn_per_s]}
        errn=$((R[errors] + R[skipped]))
        p99=${R[p99_us]}
        cells=$(awk -v p50="${R[p50_us]}" -v p99="${R[p99_us]}" -v max="${R[max_us]}" \
                'BEGIN { printf "%.2f | %.2f | %.2f", p50 / 1000, p99 / 1000, max / 1000 }')
        cells="$cells | $errs | $cpu_s | $us_conn | $kid_s | $hwm |"
}

log "servers: $servers; $rounds round(s)"
log "connections=$connections concurrency=($concurrencies) size=$size warmup=$warmup instances=$instances backlog=$backlog"
[ -z "$unixsockd_missing" ] || log "unixsockd: $unixsockd_missing; its rows are skipped"
start=$(date +%s)
declare -A rate_of errn_of p99_of usc_of cells_of
# rounds outermost, so that a drift in the machine's load spreads over every
# server; round r starts at the r-th server, so that no server always comes first
read -r -a server_list <<<"$servers"
for ((round = 1; round <= rounds; round++)); do
        for conc in $concurrencies; do
                for ((i = 0; i < ${#server_list[@]}; i++)); do
                        name=${server_list[(i + round - 1) % ${#server_list[@]}]}
                        log "round $round/$rounds: $name, concurrency $conc"
                        run_row "$name" "$conc"
                        rate_of[$conc/$name/$round]=$rate
                        errn_of[$conc/$name/$round]=$errn
                        p99_of[$conc/$name/$round]=$p99
                        usc_of[$conc/$name/$round]=$usc
                        cells_of[$conc/$name/$round]=$cells
                done
        done
done

# shellcheck disable=SC2086
versions=$(dpkg-query -W -f='${Package} ${Version}, ' $peer_packages 2>/dev/null || true)
if [ "$rounds" -gt 1 ]; then
        rounds_text="Each row is the round with the median conn/s of $rounds rounds (their min–max in
brackets); errors are that round's, plus the sum over all rounds when another round had some."
else
        rounds_text="One round."
fi
if [ "$kind" = spawn ]; then
        title="Spawn dispatch: one process per connection"
        what="echoed by $(basename "$worker"),
limit $instances concurrent workers where the server has one, backlog $backlog."
else
        title="Pool and listener dispatch: long-running workers"
        what="echoed; NAME:N has N
serial workers ($(basename "$pool_worker") under unixsockd-pool), or N copies of inproc-echo
(unixsockd-listener:N), backlog $backlog; the listener rows are measured after activation
(run_row's readiness probe starts the worker)."
fi
cat <<EOF

## $title ($(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs)

$connections connections per row after $warmup warm-up, $size-byte message $what
$rounds_text
Peers: ${versions%, }. Run took $(($(date +%s) - start)) s.

| server | conc | conn/s | p50 ms | p99 ms | max ms | errors | server CPU s | server CPU µs/conn | children CPU s | VmHWM KiB |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|
EOF
for conc in $concurrencies; do
        for name in $servers; do
                measured=()
                total_err=0
                for ((round = 1; round <= rounds; round++)); do
                        key=$conc/$name/$round
                        [ -n "${rate_of[$key]}" ] || continue
                        measured+=("${rate_of[$key]} $round")
                        total_err=$((total_err + errn_of[$key]))
                done
                if [ ${#measured[@]} = 0 ]; then
                        printf '| %s | %s | – | %s\n' "$name" "$conc" "${cells_of[$conc/$name/1]}"
                        continue
                fi
                mapfile -t measured < <(printf '%s\n' "${measured[@]}" | sort -n -k1,1)
                n=${#measured[@]}
                median=${measured[(n - 1) / 2]}
                key=$conc/$name/${median#* }
                rate_cell=$(printf '%.0f' "${median% *}")
                [ "$rounds" = 1 ] ||
                        rate_cell="$rate_cell ($(printf '%.0f–%.0f' "${measured[0]% *}" "${measured[n - 1]% *}"))"
                label=$name
                [ "$n" = "$rounds" ] || label="$name ($n of $rounds rounds measured)"
                row_cells=${cells_of[$key]}
                if [ "$total_err" != "${errn_of[$key]}" ]; then
                        # "p50 | p99 | max | errors | ...": the total goes into the errors cell
                        IFS='|' read -r c1 c2 c3 c4 crest <<<"$row_cells"
                        row_cells="$c1|$c2|$c3|${c4% } (all rounds: $total_err) |$crest"
                fi
                printf '| %s | %s | %s | %s\n' "$label" "$conc" "$rate_cell" "$row_cells"
        done
done

# ratio_cell RATIO...: "median (min–max)" of the numbers, – for none.
ratio_cell() {
        [ $# -gt 0 ] || { echo "–"; return; }
        printf '%s\n' "$@" | sort -g | awk -v rounds="$rounds" '
                { v[NR] = $1 }
                END {
                        cell = sprintf("%.2f", v[int((NR + 1) / 2)])
                        if (rounds > 1)
                                cell = cell sprintf(" (%.2f–%.2f)", v[1], v[NR])
                        print cell
                }'
}

# median_cell NUMBER...: their median, rounded, – for none.
median_cell() {
        [ $# -gt 0 ] || { echo "–"; return; }
        printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.0f\n", v[int((NR + 1) / 2)] }'
}

# ratio_rows REF_FN CPU: a table row for every row that the function REF_FN
# names a reference row for: its conn/s and p99 (and with CPU = cpu, its
# server CPU µs/conn, the median of its rounds and the per-round ratio)
# divided by the reference's of the same round, so that a drift between
# rounds cancels out; the median of those per-round ratios.
ratio_rows() {
        local conc name ref round key rk total_err rates p99s cpus usecs cpu_cell
        for conc in $concurrencies; do
                for name in $servers; do
                        ref=$("$1" "$name")
                        [ -n "$ref" ] || continue
                        rates=() p99s=() cpus=() usecs=() total_err=–
                        for ((round = 1; round <= rounds; round++)); do
                                key=$conc/$name/$round rk=$conc/$ref/$round
                                [ -n "${rate_of[$key]}" ] || continue
                                total_err=$((${total_err/–/0} + errn_of[$key]))
                                usecs+=("${usc_of[$key]}")
                                [ -n "${rate_of[$rk]}" ] || continue
                                rates+=("$(awk -v a="${rate_of[$key]}" -v b="${rate_of[$rk]}" 'BEGIN { print a / b }')")
                                p99s+=("$(awk -v a="${p99_of[$key]}" -v b="${p99_of[$rk]}" 'BEGIN { print a / b }')")
                                awk -v b="${usc_of[$rk]}" 'BEGIN { exit !(b > 0) }' || continue
                                cpus+=("$(awk -v a="${usc_of[$key]}" -v b="${usc_of[$rk]}" 'BEGIN { print a / b }')")
                        done
                        cpu_cell=
                        [ "$2" != cpu ] || cpu_cell=" $(median_cell "${usecs[@]}") | $(ratio_cell "${cpus[@]}") |"
                        printf '| %s | %s | %s | %s |%s %s |\n' "$name" "$conc" "$(ratio_cell "${rates[@]}")" \
                                "$(ratio_cell "${p99s[@]}")" "$cpu_cell" "$total_err"
                done
        done
}

# inproc_of NAME: inproc-echo for every other row, when it ran.
inproc_of() {
        case " $servers " in *" inproc-echo "*) [ "$1" = inproc-echo ] || echo inproc-echo ;; esac
        return 0
}

# baseline_of NAME: for a unixsockd-pool* row of N processes (NAME:N, else
# BENCH_POOL), the baseline-pool row of the same N, when it ran; a
# baseline-pool row is its own (its ratios are 1, its µs/conn are shown).
baseline_of() {
        local n=$pool_size b
        case $1 in unixsockd-pool* | baseline-pool*) ;; *) return 0 ;; esac
        case $1 in *:*) n=${1#*:} ;; esac
        for b in $servers; do
                case $b in
                "baseline-pool:$n") echo "$b"; return 0 ;;
                baseline-pool) [ "$n" != "$pool_size" ] || { echo "$b"; return 0; } ;;
                esac
        done
        return 0
}

# Against inproc-echo, when it ran: conn/s and p99 of every other row divided by
# inproc-echo's of the same round.
case " $servers " in
*" inproc-echo "*)
        cat <<EOF

Against inproc-echo of the same round (the median of the per-round ratios; min–max in brackets):

| server | conc | conn/s ÷ inproc-echo | p99 ÷ inproc-echo p99 | errors, all rounds |
|---|--:|--:|--:|--:|
EOF
        ratio_rows inproc_of - ;;
esac

# Against the older daemon, when baseline-pool ran: every unixsockd-pool* row
# beside the baseline-pool row of as many processes, in the same round.
case " $servers " in
*" baseline-pool "* | *" baseline-pool:"*)
        cat <<EOF

Against baseline-pool of the same round and pool size ($BENCH_BASELINE; the median of the
per-round ratios; min–max in brackets):

| server | conc | conn/s ÷ baseline | p99 ÷ baseline p99 | server CPU µs/conn | µs/conn ÷ baseline | errors, all rounds |
|---|--:|--:|--:|--:|--:|--:|
EOF
        ratio_rows baseline_of cpu ;;
esac
