# shellcheck shell=bash
# The TAP vocabulary of the systemd suite's runners (run.sh, vm.sh,
# vm-inside.sh), sourced by each: TAP goes to fd 3. The checks' helpers (prop,
# talk) run their commands through X, which the runner defines: in the
# container (ct_exec), or in the VM itself; is() logs with the runner's ct_log.

# A runner that cannot run here says so and exits: a skip, or with
# UNIXSOCKD_SYSTEMD_REQUIRED=1 a failure; bail: a failure.
skip() {
	if [ "${UNIXSOCKD_SYSTEMD_REQUIRED:-0}" = 1 ]; then
		echo "Bail out! cannot run: $*" >&3
		exit 1
	fi
	echo "1..0 # SKIP $*" >&3
	exit 0
}
bail() {
	echo "Bail out! $*" >&3
	exit 1
}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*" >&3; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*" >&3; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
diag() { echo "# $*" >&3; }

prop() { X systemctl show -P "$2" "$1"; }
is() { [ "$1" = "$2" ] || { ct_log "expected '$2', got '$1'"; return 1; }; }
# wait_for SECONDS CMD...: poll CMD until it succeeds or the deadline passes
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}
# a client where systemd is: socket name, bytes to send on stdin
talk() { X socat -t5 - "UNIX-CONNECT:/run/unixsockd/$1.sock"; }
