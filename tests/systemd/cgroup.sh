# shellcheck shell=bash
# Per-worker cgroups under real systemd (Delegate=yes), sourced by run.sh (in
# the container) and by vm-inside.sh (in the User-mode Linux VM of vm.sh) with
# the service installed and active on $cfg: the tree the daemon makes, that a
# worker's leftovers (a double-forked process in a session of its own) are
# stopped with it, at reload and at stop; and, where the container has the
# controllers, memory-max (an OOM kill of that worker alone) and pids-max (a
# fork bomb stops at the limit). Where a controller is missing, the daemon
# must refuse the key naming FILE:LINE, and the checks that need it are
# skipped saying so.
# Variables and helpers (src, tmp, cfg, ctl_in, exe_in, check, X ...) are run.sh's
# (vm-inside.sh's).
# Compound checks are `check NAME eval '...'`, as in run.sh.
# shellcheck disable=SC2016,SC2001,SC2154,SC2034

skip_check() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2" >&3; }

# Workers written by the test, in the container.
lib=/usr/local/lib/unixsockd-test
X install -d "$lib"
# spawn: leaves a process behind in a session (and process group) of its
# own, which writes orphan-PID.pid once its TERM trap is set and
# orphan-PID.term when SIGTERM reaches it; answers with that PID.
X install -m 0755 /dev/stdin "$lib/orphan.sh" <<'EOF'
#!/bin/sh
setsid /bin/sh -c 'trap "echo term > /run/unixsockd/orphan-$$.term; exit 0" TERM
echo $$ > /run/unixsockd/orphan-$$.pid
while :; do sleep 1; done' < /dev/null > /dev/null 2>&1 &
echo $!
EOF
# listener: echoes one line per connection, forever
X install -m 0755 /dev/stdin "$lib/listen.py" <<'EOF'
#!/usr/bin/python3
import socket
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(c.recv(4096))
    c.close()
EOF
# listener: takes one connection, then allocates until something stops it
X install -m 0755 /dev/stdin "$lib/hog.py" <<'EOF'
#!/usr/bin/python3
import socket
s = socket.socket(fileno=3)
c, _ = s.accept()
c.sendall(b"allocating\n")
blocks = []
while True:
    blocks.append(bytearray(8 << 20))
EOF
# spawn: forks until fork fails; says how it ended
X install -m 0755 /dev/stdin "$lib/bomb.py" <<'EOF'
#!/usr/bin/python3
import os, signal
kids = []
try:
    for _ in range(256):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        kids.append(pid)
    print("no limit after", len(kids), flush=True)
except BlockingIOError:
    print("EAGAIN after", len(kids), flush=True)
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
EOF
X install -m 0755 /dev/stdin "$lib/pool-echo.py" < "$src/lib/examples/pool-echo.py"

check "cgroups: the shipped unit has Delegate=yes" is "$(prop unixsockd.service Delegate)" yes

# The suite's config with a short stop-timeout, and one worker of each mode.
cg_conf() {
	sed -E 's/^[[:space:]]*stop-timeout[[:space:]]*=.*$//; s/^(\[unixsockd\].*)$/\1\nstop-timeout = 1s/' \
		"$tmp/reload.conf"
	cat <<-EOF

	[socket:cgpool]
	path = cgpool.sock
	worker = cgpool

	[worker:cgpool]
	command = $lib/pool-echo.py
	dispatch = pool
	instances = 1

	[socket:cglisten]
	path = cglisten.sock
	worker = cglisten

	[worker:cglisten]
	command = $lib/listen.py
	dispatch = listener
	EOF
	if [ "${1:-}" = orphan ]; then
		printf '\n[socket:orphan]\npath = orphan.sock\nworker = orphan\n\n[worker:orphan]\ncommand = %s\ndispatch = spawn\n' \
			"$lib/orphan.sh"
	fi
}
cg_conf orphan > "$tmp/cg.conf"
grep -q '^stop-timeout = 1s$' "$tmp/cg.conf" || bail "cgroup.sh: no stop-timeout in $tmp/cg.conf"
X install -m 0644 /dev/stdin "$cfg" < "$tmp/cg.conf"
check "cgroups: the service restarts on a config with a worker of each mode" X systemctl restart unixsockd.service
pid=$(prop unixsockd.service MainPID)
unit_cg=$(prop unixsockd.service ControlGroup)
CG=/sys/fs/cgroup$unit_cg
controllers=$(X cat "$CG/cgroup.controllers")
diag "cgroups: the unit's cgroup $CG, controllers: '$controllers'"
check "cgroups: the daemon moved itself into its supervisor leaf" \
	is "$(X grep '^0::' "/proc/$pid/cgroup")" "0::$unit_cg/supervisor"
# in the cgroup of its worker: every process of that worker's cgroup.procs
cg_of() { X sed -n 's/^0:://p' "/proc/$1/cgroup"; }
has_procs() { [ -n "$(X cat "$CG/$1/cgroup.procs" 2> /dev/null)" ]; }
check "cgroups: the pool worker runs in worker-cgpool" wait_for 10 has_procs worker-cgpool
check "cgroups: the listener worker serves and runs in worker-cglisten" \
	eval '[ "$(echo hi | talk cglisten)" = hi ] && has_procs worker-cglisten'
echo 'pool' | talk cgpool > "$tmp/cgpool.out"
check "cgroups: the pool worker serves" is "$(cat "$tmp/cgpool.out")" pool
opid=$(talk orphan < /dev/null)
check "cgroups: a spawn worker leaves a process behind (pid '$opid')" \
	wait_for 10 X test -e "/run/unixsockd/orphan-$opid.pid"
check "cgroups: what it left is in worker-orphan, in a session of its own" \
	eval '[ "$(cg_of "$opid")" = "$unit_cg/worker-orphan" ] && [ "$(X ps -o sid= -p "$opid" | tr -d " ")" = "$opid" ]'
tree=$(X find "$CG" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')
diag "cgroups: $CG holds: $tree"
check "cgroups: the tree is supervisor and one worker-NAME per worker" \
	is "$tree" "supervisor worker-cglisten worker-cgpool worker-echo worker-env worker-fail worker-late worker-mine worker-oops worker-orphan worker-slow worker-who "

# A reload that removes the worker: its leftovers get SIGTERM, its cgroup goes.
cg_conf > "$tmp/cg-noorphan.conf"
X install -m 0644 /dev/stdin "$cfg" < "$tmp/cg-noorphan.conf"
check "cgroups: a reload removes the orphan worker" X "$ctl_in" reload
check "cgroups: what the removed worker left got SIGTERM from the daemon" \
	wait_for 10 X test -e "/run/unixsockd/orphan-$opid.term"
check "cgroups: the removed worker's cgroup is gone" wait_for 10 eval '! X test -d "$CG/worker-orphan"'

# Stop: the daemon itself stops what a worker left (systemd's KillMode=mixed
# SIGTERMs only the main process; its SIGKILL would leave no .term file).
X install -m 0644 /dev/stdin "$cfg" < "$tmp/cg.conf"
check "cgroups: a reload adds it again" X "$ctl_in" reload
opid=$(talk orphan < /dev/null)
check "cgroups: it leaves a process behind again (pid '$opid')" \
	wait_for 10 X test -e "/run/unixsockd/orphan-$opid.pid"
check "cgroups: systemctl stop succeeds" X systemctl stop unixsockd.service
check "cgroups: the stopped service succeeded" is "$(prop unixsockd.service Result)" success
check "cgroups: the daemon's SIGTERM reached the double-forked process at stop" \
	X test -e "/run/unixsockd/orphan-$opid.term"
check "cgroups: no process of the service is left, its cgroup is gone" \
	eval '! X test -d "/proc/$opid" && ! X test -d "$CG"'
check "cgroups: the daemon logged the stop-timeout SIGTERM" \
	journal_check 'MESSAGE~0 worker processes, 0 process groups of exited workers and 1 worker cgroups with processes still running after stop-timeout: sending SIGTERM'

# ---- the controllers ---------------------------------------------------------------
# Where a controller is missing, the daemon runs in a transient unit with
# Delegate=yes, as the shipped one (its errors on stdout), and sees what the
# container gives (the controllers of the unit's cgroup above).
limits_conf() {
	cat <<-EOF
	[unixsockd]
	runtime-directory = /run/cgtest
	stop-timeout = 1s
	log-level = debug

	[socket:echo]
	path = echo.sock
	worker = echo

	[worker:echo]
	command = /bin/cat
	cpu-weight = 50

	[socket:hog]
	path = hog.sock
	worker = hog

	[worker:hog]
	command = $lib/hog.py
	dispatch = listener
	memory-max = 64M
	restart = on-failure
	restart-delay = 10ms

	[socket:bomb]
	path = bomb.sock
	worker = bomb

	[worker:bomb]
	command = $lib/bomb.py
	dispatch = spawn
	pids-max = 8
	EOF
}
limits_conf | X install -D -m 0644 /dev/stdin /etc/unixsockd/cgtest.conf
# the line of each key, for the errors
line_of() { limits_conf | grep -n "^$1 = " | cut -d: -f1; }
missing=
for c in memory pids cpu; do
	grep -qw "$c" <<< "$controllers" || missing="$missing $c"
done
if [ -n "$missing" ]; then
	diag "cgroups: the container's delegated cgroup lacks:$missing (cgroup.controllers: '$controllers')"
	out=$(X systemd-run --wait --pipe --quiet -p Delegate=yes -p RuntimeDirectory=cgtest \
		"$exe_in" --log-target=console -c /etc/unixsockd/cgtest.conf 2>&1)
	rc=$?
	sed 's/^/# cgtest: /' <<< "$out" >&2
	want=true
	for c in $missing; do
		key=$(case $c in memory) echo memory-max ;; pids) echo pids-max ;; cpu) echo cpu-weight ;; esac)
		grep -qF "/etc/unixsockd/cgtest.conf:$(line_of "$key"): $key: needs the $c controller, which /sys/fs/cgroup/system.slice/" <<< "$out" ||
			want=false
	done
	check "cgroups: with a controller missing, each key needing it is refused, FILE:LINE, exit 78" \
		eval '[ $rc = 78 ] && $want'
	# the same as a reload: unixsockctl reload exits 78, the old config serves
	X install -m 0644 /dev/stdin "$cfg" < "$tmp/reload.conf"
	X systemctl start unixsockd.service
	printf '\n[worker:echo2]\ncommand = /bin/cat\npids-max = 4\n[socket:echo2]\npath = echo2.sock\nworker = echo2\n' |
		cat "$tmp/reload.conf" - | X install -m 0644 /dev/stdin "$cfg"
	ctl_out=$(X "$ctl_in" reload 2>&1)
	rc=$?
	sed 's/^/# unixsockctl reload: /' <<< "$ctl_out" >&2
	check "cgroups: a reload adding pids-max without the pids controller: unixsockctl exits 78, FILE:LINE" \
		eval '[ $rc = 78 ] && grep -Eq "^$cfg_re:[0-9]+: pids-max: needs the pids controller" <<< "$ctl_out" &&
			[ "$(echo still | talk echo)" = still ]'
	X install -m 0644 /dev/stdin "$cfg" < "$tmp/reload.conf"
	X systemctl stop unixsockd.service
	why="the container's delegated cgroup has no$missing controller (cgroup.controllers of $unit_cg: '$controllers'); tests/systemd/vm.sh runs these in a VM"
	skip_check "cgroups: memory.max, pids.max, cpu.weight of the workers show the values" "$why"
	skip_check "cgroups: a worker past memory-max is OOM-killed alone (signal 9), restarted, the others serve" "$why"
	skip_check "cgroups: a fork bomb stops at pids-max with EAGAIN, the others serve" "$why"
	return 0
fi

# Every controller is there: the limits apply, under the shipped unit and
# its hardening (ProtectControlGroups=, ReadWritePaths= of its subtree), with
# its socket unit's echo.sock; the sockets in its RuntimeDirectory=.
limits_conf | sed '/^runtime-directory = /d' | X install -m 0644 /dev/stdin "$cfg"
check "cgroups: unixsockd.service starts on a config with memory-max, pids-max, cpu-weight" \
	X systemctl restart unixsockd.service
tcg=$CG
ctalk() { X socat -t10 - "UNIX-CONNECT:/run/unixsockd/$1.sock"; }
check "cgroups: the limits are written: memory.max, pids.max, cpu.weight" \
	eval '[ "$(X cat "$tcg/worker-hog/memory.max")" = $((64 << 20)) ] &&
		[ "$(X cat "$tcg/worker-bomb/pids.max")" = 8 ] && [ "$(X cat "$tcg/worker-echo/cpu.weight")" = 50 ]'
tpid=$(prop unixsockd.service MainPID)
restarts=$(prop unixsockd.service NRestarts)
diag "cgroups: unixsockd.service OOMPolicy=$(prop unixsockd.service OOMPolicy)"
check "cgroups: a worker past memory-max answers, then dies" is "$(ctalk hog < /dev/null)" allocating
check "cgroups: the daemon logs the OOM kill: EXIT_CODE=killed, EXIT_STATUS=KILL" \
	journal_check UNIXSOCKD_WORKER=hog EXIT_CODE=killed EXIT_STATUS=KILL
check "cgroups: the kernel's OOM kill was in worker-hog" \
	eval '[ "$(X sed -n "s/^oom_kill //p" "$tcg/worker-hog/memory.events")" -ge 1 ]'
# the same daemon, not one systemd stopped or restarted for the OOM kill
still_up() {
	[ "$(prop unixsockd.service MainPID)/$(prop unixsockd.service ActiveState)" = "$tpid/active" ] &&
		[ "$(prop unixsockd.service NRestarts)" = "$restarts" ]
}
check "cgroups: the other worker serves, the daemon and its service run on" \
	eval '[ "$(echo alive | ctalk echo)" = alive ] && still_up'
check "cgroups: the listener is started again by its restart policy" is "$(ctalk hog < /dev/null)" allocating
bomb=$(ctalk bomb < /dev/null)
diag "cgroups: bomb: $bomb"
check "cgroups: a fork bomb stops at pids-max (EAGAIN after 7 children)" is "$bomb" "EAGAIN after 7"
check "cgroups: after the bomb the other worker serves, the daemon and its service run on" \
	eval '[ "$(echo alive | ctalk echo)" = alive ] && still_up'
X systemctl stop unixsockd.service
X install -m 0644 /dev/stdin "$cfg" < "$tmp/reload.conf"
