#!/bin/bash
# The systemd suite: the shipped unit files and the daemon from a build
# directory, under real systemd and journald in a throw-away container.
# Socket activation, READY/STATUS, restart under load (failed connections are
# counted), reload, stop, the daemon's native journal fields, journalctl -x
# with the installed catalog, and the units as `meson install` puts them.
# Socket types: the shipped unixsockd-seqpacket.socket (ListenSequentialPacket=)
# activates the daemon, which serves its fd message by message (two messages
# back as two) and a stream client gets EPROTOTYPE from it; the same program
# (tests/harness/activate-echo) answers the same under a systemd socket unit
# (ListenSequentialPacket=, ListenDatagram=, Accept=no) and under unixsockd
# (type = seqpacket, type = datagram, dispatch = listener); a socket unit's
# ListenStream= fd named for a type = seqpacket section stops the daemon at
# start (exit 78) with an error naming both types.
#   tests/systemd/run.sh BUILDDIR [SOURCEDIR]
# TAP on stdout; "1..0 # SKIP reason" where it cannot run (not root, no
# namespaces, no nspawn, no mirror for the first rootfs), unless
# UNIXSOCKD_SYSTEMD_REQUIRED=1 makes that a failure. The rootfs is cached in
# /var/tmp/unixsockd-rootfs (UNIXSOCKD_ROOTFS); built on first use, ~1 min.
# On failure the container's journal is saved to BUILDDIR/meson-logs/.
# UNIXSOCKD_SYSTEMD_KEEP=1 leaves the container running to look around.

# Compound checks are `check NAME eval '...'`: expanded when checked, on purpose.
# shellcheck disable=SC2001,SC2016,SC2034
set -uo pipefail

# TAP goes to fd 3; everything else to stderr (meson keeps it in the log).
exec 3>&1 1>&2
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh BUILDDIR [SOURCEDIR]}" && pwd) || exit 2
src=$(cd "${2:-$here/../..}" && pwd) || exit 2
exe=$build/daemon/unixsockd
# shellcheck source=container.sh
. "$here/container.sh"
# shellcheck source=tap.sh
. "$here/tap.sh"

# ---- can it run here? -------------------------------------------------------
[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" = 0 ] || skip "needs root to boot a systemd-nspawn container"
command -v python3 > /dev/null || skip "python3 is not installed"
[ -x "$exe" ] || bail "no daemon at $exe: build it first"
[ -f "$build/systemd/unixsockd.service" ] || bail "no configured unit files in $build/systemd"
if ldd "$exe" 2> /dev/null | grep -qE 'lib(a|ub|t|m)san'; then
	skip "a sanitizer build: its runtime is not in the container"
fi
if ! command -v systemd-nspawn > /dev/null || ! command -v debootstrap > /dev/null; then
	command -v apt-get > /dev/null || skip "systemd-nspawn or debootstrap missing, and no apt-get"
	ct_log "installing systemd-container and debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=600 -qq update ||
		! apt-get -o DPkg::Lock::Timeout=600 -qq install -y --no-install-recommends \
			systemd-container debootstrap > /dev/null; then
		skip "systemd-nspawn or debootstrap missing, and apt-get could not install them"
	fi
fi
unshare --mount --pid --fork true 2> /dev/null ||
	skip "cannot create mount and PID namespaces (an unprivileged container?)"
for d in $(ct_cgroups); do
	mkdir -p "$d" 2> /dev/null || skip "cannot create cgroup $d"
done
ct_cgroups_remove

# One rootfs for all runs: build it under an exclusive lock, then hold a
# shared one so that no other run rebuilds it under this one.
mkdir -p "$(dirname "$CT_CACHE")"
exec 9> "$CT_CACHE.lock"
flock -x 9
if [ "$(cat "$CT_CACHE/stamp" 2> /dev/null)" != "$(ct_stamp)" ] &&
	! python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' \
		"$CT_MIRROR/dists/$CT_SUITE/Release" 2> /dev/null; then
	skip "no rootfs in $CT_CACHE yet and $CT_MIRROR is unreachable"
fi
ct_setup || bail "cannot build the rootfs in $CT_CACHE"
flock -s 9

# ---- TAP helpers (tap.sh), run in the container --------------------------------
X() { ct_exec "$@"; }
host_talk() { python3 "$here/client.py" once "$(ct_path "/run/unixsockd/$1.sock")" "${2:-}"; }
# msgs TYPE PATH MESSAGE...: client.py msgs in the container (see there): each
# reply on a line, or "error ENAME"
msgs() { X python3 /usr/local/lib/unixsockd-test/client.py msgs "$@"; }
one_two=$'one\ntwo' # msgs' output for "one" and "two" answered each on its own
inode() { stat -c %i "$(ct_path "/run/unixsockd/$1.sock")" 2> /dev/null; }

# journal_has WANT...: some entry of unixsockd.service (of any unit with
# JANY=1) has, for every WANT, FIELD=VALUE exactly, FIELD~REGEX (whole value),
# or a bare FIELD at all.
journal_has() {
	local unit=(-u unixsockd.service)
	[ "${JANY:-0}" = 1 ] && unit=()
	X journalctl "${unit[@]}" -o json --no-pager | python3 -c '
import json, re, sys
def has(r, w):
    for op in "=~":
        if op in w:
            k, v = w.split(op, 1)
            x = r.get(k)
            return isinstance(x, str) and (x == v if op == "=" else re.fullmatch(v, x) is not None)
    return w in r
wants = sys.argv[1:]
entries = [json.loads(l) for l in sys.stdin.read().splitlines() if l]  # all: no SIGPIPE
sys.exit(0 if any(all(has(r, w) for w in wants) for r in entries) else 1)
' "$@"
}
journal_check() { wait_for 5 journal_has "$@"; }

# MESSAGE_ID of an event, from the daemon's own header: a quoted 32-digit id,
# or SD_ID128_MAKE_STR(..) bytes.
msgid() {
	local line id
	line=$(grep -E "^[[:space:]]*#[[:space:]]*define[[:space:]]+$1[[:space:]]" "$src/daemon/log.h" 2> /dev/null |
		head -n 1 | sed -E "s|/\*.*\*/||; s|//.*||; s|^[[:space:]]*#[[:space:]]*define[[:space:]]+$1||")
	id=$(grep -oE '[0-9a-fA-F]{32}' <<< "$line" | head -n 1)
	[ -n "$id" ] || id=$(sed -E 's/SD_ID128_MAKE_STR//; s/0x//g; s/[^0-9a-fA-F]//g' <<< "$line")
	[[ $id =~ ^[0-9a-fA-F]{32}$ ]] && echo "${id,,}"
}

cleanup() {
	local rc=$? log=$build/meson-logs/systemd-journal.txt
	if [ -n "${CT_NSPAWN:-}" ]; then
		if [ $failed -gt 0 ] || [ $rc -ne 0 ]; then
			mkdir -p "$build/meson-logs"
			{
				X journalctl -b --no-pager -o short-precise
				echo "==== journalctl -u unixsockd.service -o verbose"
				X journalctl -u unixsockd.service --no-pager -o verbose
			} > "$log" 2>&1
			ct_log "container journal saved to $log; the daemon's last entries:"
			X journalctl -u unixsockd.service --no-pager -o short-precise -n 40 | sed 's/^/# /' >&2
		fi
		if [ "${UNIXSOCKD_SYSTEMD_KEEP:-0}" = 1 ]; then
			ct_log "left running: nsenter -t $CT_LEADER -a; stop it with kill $CT_NSPAWN"
		else
			ct_stop
		fi
	fi
	rm -rf "${tmp:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d)

# ---- boot --------------------------------------------------------------------
# The build directory at a fixed path inside, outside /tmp (PrivateTmp= would
# hide it from the service); the build rpath ($ORIGIN/../lib) finds libunixsock.
# (fds 3 and 9 are not the container's business: it must not keep them open)
inside=/opt/unixsockd-build
exe_in=$inside/daemon/unixsockd
ct_boot --bind-ro="$build:$inside" 3>&- 9>&- || bail "the container did not boot"
check "the container boots with systemd as PID 1" is "$(X systemctl is-system-running)" running
check "the daemon from the build directory runs inside" X "$exe_in" --help > /dev/null

# ---- meson install into a tree of its own --------------------------------------
# What `meson install` puts where: the configured unit's ExecStart= must run
# the daemon installed in sbindir on the config installed in sysconfdir.
dest=$tmp/dest
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" > "$tmp/install.log" 2>&1 ||
	{ sed 's/^/# /' "$tmp/install.log" >&2; bail "meson install --destdir failed"; }
inst_exe=$(cd "$dest" && find . -path '*/sbin/unixsockd' -type f | sed 's|^\.||')
inst_conf=$(cd "$dest" && find . -path '*/unixsockd/unixsockd.conf' -type f | sed 's|^\.||')
inst_unit=$(cd "$dest" && find . -name unixsockd.service -type f | sed 's|^\.||')
inst_catalog=$(cd "$dest" && find . -name unixsockd.catalog -type f | sed 's|^\.||')
diag "installed: $inst_exe $inst_conf $inst_unit $inst_catalog"
check "meson install puts the daemon in sbindir, its config, the unit and the catalog" \
	eval '[ -n "$inst_exe" ] && [ -n "$inst_conf" ] && [ -n "$inst_unit" ] && [ -n "$inst_catalog" ]'
check "the installed unit runs the installed daemon on the installed config" \
	grep -qxF "ExecStart=$inst_exe -c $inst_conf" "$dest$inst_unit"
# The unit's config path, wherever sysconfdir is: the suite's config goes there.
cfg=$(sed -nE 's/^ExecStart=[^ ]+ -c ([^ ]+).*/\1/p' "$build/systemd/unixsockd.service")
[ -n "$cfg" ] || bail "no -c FILE in ExecStart= of $build/systemd/unixsockd.service"
cfg_re=$(sed 's/[].[\\*^$()+?{}|]/\\&/g' <<< "$cfg")

# ---- install: the shipped units, ExecStart= pointing into the build dir ------
# The test config is the shipped one, at debug level (worker exits with status
# 0 log at debug), plus sockets that exercise users, environment, exit
# statuses, worker stderr, refusals and instance limits.
conf=$src/conf/unixsockd.conf
[ -f "$conf" ] || bail "no $conf"
# shellcheck source=suite-conf.sh
. "$here/suite-conf.sh"
suite_conf "$conf" > "$tmp/unixsockd.conf"
X install -D -m 0644 /dev/stdin "$cfg" < "$tmp/unixsockd.conf"
# ExecReload= runs unixsockctl: the build's, if this build has one (a missing
# one fails systemd-analyze verify and the reload checks, as it would a user).
ctl=$(find "$build/daemon" -name unixsockctl -type f -perm -u+x 2> /dev/null | head -n 1)
[ -n "$ctl" ] || ct_log "no unixsockctl in $build/daemon: verify and the reload checks will fail"
ctl_in=$inside${ctl#"$build"}
sed -E -e "s|^ExecStart=[^ ]+|ExecStart=$exe_in|" \
	-e "${ctl:+s|^ExecReload=[^ ]+/unixsockctl|ExecReload=$ctl_in|}" "$build/systemd/unixsockd.service" |
	X install -D -m 0644 /dev/stdin /etc/systemd/system/unixsockd.service
for u in unixsockd.socket unixsockd-seqpacket.socket; do
	X install -D -m 0644 /dev/stdin "/etc/systemd/system/$u" < "$build/systemd/$u"
done
X install -D -m 0755 /dev/stdin /usr/local/lib/unixsockd-test/client.py < "$here/client.py"
X systemctl daemon-reload

check "unixsockd --check accepts the test config" X "$exe_in" --check -c "$cfg"
verify=$(X systemd-analyze verify --man=no /etc/systemd/system/unixsockd.socket \
	/etc/systemd/system/unixsockd-seqpacket.socket /etc/systemd/system/unixsockd.service 2>&1)
rc=$?
[ -z "$verify" ] || sed 's/^/# verify: /' <<< "$verify" >&2
check "systemd-analyze verify passes the shipped units" \
	eval '[ $rc = 0 ] && ! grep -q unixsockd <<< "$verify"'

# ---- socket activation ---------------------------------------------------------
check "unixsockd.socket starts" X systemctl start unixsockd.socket
check "the socket unit listens" is "$(prop unixsockd.socket SubState)" listening
check "unixsockd-seqpacket.socket starts and listens (ListenSequentialPacket=)" \
	eval 'X systemctl start unixsockd-seqpacket.socket && [ "$(prop unixsockd-seqpacket.socket SubState)" = listening ]'
check "the service is inactive before the first connection" \
	is "$(prop unixsockd.service ActiveState)" inactive
ino=$(inode echo)
ino_seq=$(inode seqecho)
check "the first connection starts the daemon and is echoed" \
	is "$(echo hello | talk echo)" hello
check "a host-side client is echoed" is "$(host_talk echo from-host)" from-host
check "the service is active (READY=1) after activation" \
	is "$(prop unixsockd.service ActiveState)/$(prop unixsockd.service SubState)" active/running
status=$(prop unixsockd.service StatusText)
diag "StatusText: $status"
check "STATUS= gives a status text" [ -n "$status" ]
check "the daemon serves the socket unit's echo.sock, not a new one" is "$(inode echo)" "$ino"
# the worker is cat: a read is one message, written back as one
check "seqpacket: two messages to seqecho.sock come back as two messages" \
	is "$(msgs seqpacket /run/unixsockd/seqecho.sock one two)" "$one_two"
check "seqpacket: the daemon serves the socket unit's seqecho.sock, not a new one" \
	is "$(inode seqecho)" "$ino_seq"
check "seqpacket: a stream client is refused by the kernel (EPROTOTYPE)" \
	is "$(msgs stream /run/unixsockd/seqecho.sock one)" "error EPROTOTYPE"

# ---- what workers get under the shipped sandbox -----------------------------
check "a worker runs as its configured user under the sandbox" \
	is "$(talk who < /dev/null)" nobody
env_out=$(talk env < /dev/null)
check "a spawn worker sees PROTO=UNIX and UNIXSOCKD_SOCKET" \
	eval 'grep -qx PROTO=UNIX <<< "$env_out" && grep -qx UNIXSOCKD_SOCKET=env <<< "$env_out"'
leaked=$(grep -E '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES)=' <<< "$env_out")
[ -z "$leaked" ] || ct_log "leaked into a worker: $leaked"
check "no systemd variables of the daemon leak into a worker" [ -z "$leaked" ]
check "a worker that exits 1 closes its connection" is "$(talk fail < /dev/null)" ""
check "a worker's stdout is its connection, not its stderr" is "$(talk oops < /dev/null)" ""
check "a peer not in allow-users is refused" is "$(talk denied < /dev/null)" ""
talk slow < /dev/null > "$tmp/slow1" &
s1=$!
talk slow < /dev/null > "$tmp/slow2"
s2=$?
wait $s1
s1=$?
check "at instances = 1 a second client waits and is served" eval '[ $s1 = 0 ] && [ $s2 = 0 ]'

# ---- load, then restart under load ----------------------------------------------
# Host clients on echo.sock; a connection that gets anything but its own line
# back has failed. client.py counts per phase (see there).
loop_phases() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
both = {k: r["restart"][k] + r["after"][k] for k in ("total", "failed")}
both["errors"] = dict(r["restart"]["errors"])
for k, v in r["after"]["errors"].items():
    both["errors"][k] = both["errors"].get(k, 0) + v
print(both["total"], both["failed"], json.dumps(both["errors"], separators=(",", ":")),
      r["restart"]["total"])
' "$1" || echo "0 unknown - 0"
}
# under_load NAME CMD...: runs CMD in the container while two client loops
# connect to echo.sock (from the socket unit) and mine.sock (made by the
# daemon, kept in the fd store); their counts go to $tmp/NAME.json and
# $tmp/NAME-mine.json; $rc is CMD's exit status.
under_load() {
	local name=$1 loop loop_mine
	shift
	mkdir "$tmp/$name" "$tmp/$name-mine"
	python3 "$here/client.py" loop "$(ct_path /run/unixsockd/echo.sock)" "$tmp/$name" 2 > "$tmp/$name.json" &
	loop=$!
	python3 "$here/client.py" loop "$(ct_path /run/unixsockd/mine.sock)" "$tmp/$name-mine" 2 > "$tmp/$name-mine.json" &
	loop_mine=$!
	wait_for 20 test -e "$tmp/$name/warm" || ct_log "the client loop did not warm up"
	wait_for 20 test -e "$tmp/$name-mine/warm" || ct_log "the client loop (mine.sock) did not warm up"
	touch "$tmp/$name/restarting" "$tmp/$name-mine/restarting"
	X "$@"
	rc=$?
	touch "$tmp/$name/finish" "$tmp/$name-mine/finish"
	wait $loop
	wait $loop_mine
}

# check_no_loss TEXT NAME: no connection of $tmp/NAME.json failed.
check_no_loss() {
	local total lost errors during
	read -r total lost errors during < <(loop_phases "$tmp/$2.json")
	diag "$1: $lost of $total connections failed $errors ($during started during the operation)"
	check "$1: 0 of $total connections failed ($lost: $errors)" \
		eval '[ "$lost" = 0 ] && [ "$total" -gt 0 ]'
}

mkdir "$tmp/steady" && touch "$tmp/steady/finish"
python3 "$here/client.py" loop "$(ct_path /run/unixsockd/echo.sock)" "$tmp/steady" 4 > "$tmp/steady.json"
read -r total lost errors _ < <(loop_phases "$tmp/steady.json")
diag "steady load: $lost of $total connections failed $errors"
check "no connection fails under steady load (4 clients, max-per-user = 8)" \
	eval '[ "$lost" = 0 ] && [ "$total" -gt 0 ]'

# Two clients: at most 2 connections at once, far below max-per-user, so a
# failure here is the restart's.
pid=$(prop unixsockd.service MainPID)
ino_who=$(inode who)
under_load restart systemctl restart unixsockd.service
check "systemctl restart succeeds while clients connect" [ $rc = 0 ]
newpid=$(prop unixsockd.service MainPID)
check "the service is active again with a new main PID" \
	eval '[ "$(prop unixsockd.service ActiveState)" = active ] && [ "$newpid" != "$pid" ] && [ "$newpid" != 0 ]'
check_no_loss "restart under load, socket unit's socket" restart
check_no_loss "restart under load, the daemon's own socket (fd store)" restart-mine
check "echo works after the restart" is "$(echo again | talk echo)" again
check "seqpacket: seqecho.sock serves after the restart, the socket unit's file still" \
	eval '[ "$(msgs seqpacket /run/unixsockd/seqecho.sock one two)" = "$one_two" ] && [ "$(inode seqecho)" = "$ino_seq" ]'
check "a socket the daemon made survives the restart (fd store)" is "$(inode who)" "$ino_who"

# ---- reload ----------------------------------------------------------------------------
suite_reload_conf < "$tmp/unixsockd.conf" > "$tmp/reload.conf"
X install -m 0644 /dev/stdin "$cfg" < "$tmp/reload.conf"
pid=$(prop unixsockd.service MainPID)
ino=$(inode echo)
under_load reload systemctl reload unixsockd.service
check "systemctl reload succeeds (RELOADING=1, READY=1)" [ $rc = 0 ]
check_no_loss "reload under load, socket unit's socket" reload
check_no_loss "reload under load, the daemon's own socket" reload-mine
check "after a reload: same main PID, active" \
	is "$(prop unixsockd.service MainPID)/$(prop unixsockd.service ActiveState)" "$pid/active"
check "a socket added by the reload serves" is "$(talk late < /dev/null)" late
check "an unchanged socket keeps its file across a reload" is "$(inode echo)" "$ino"
check "echo works after the reload" is "$(echo reloaded | talk echo)" reloaded

# ---- the journal -----------------------------------------------------------------------
check_msgid() {
	local name=$1 macro=$2 id
	shift 2
	id=$(msgid "$macro") || { not_ok "journal: $name ($macro not found in daemon/log.h)"; return; }
	check "journal: $name" journal_check "MESSAGE_ID=$id" _SYSTEMD_UNIT=unixsockd.service "$@"
}
check_msgid "a started event" MSGID_STARTED
check_msgid "a stopping event (the restart)" MSGID_STOPPING
check_msgid "a reloaded event" MSGID_RELOADED
check_msgid "worker exit 1 at warning, with worker, PID and status" MSGID_WORKER_EXITED \
	UNIXSOCKD_WORKER=fail 'UNIXSOCKD_WORKER_PID~[1-9][0-9]*' EXIT_CODE=exited EXIT_STATUS=1 PRIORITY=4
check_msgid "worker exit 3 of the stderr worker" MSGID_WORKER_EXITED \
	UNIXSOCKD_WORKER=oops EXIT_CODE=exited EXIT_STATUS=3
check_msgid "worker exit 0 at debug" MSGID_WORKER_EXITED \
	UNIXSOCKD_WORKER=echo EXIT_STATUS=0 PRIORITY=7
check_msgid "a refused connection, with the peer's credentials" MSGID_CONN_REFUSED \
	UNIXSOCKD_SOCKET=denied UNIXSOCKD_PEER_UID=0 UNIXSOCKD_PEER_GID=0 'UNIXSOCKD_PEER_PID~[0-9]+'
check_msgid "accept paused at the instances limit" MSGID_ACCEPT_PAUSED UNIXSOCKD_WORKER=slow
check "journal: entries carry UNIXSOCKD_SOCKET=echo" journal_check UNIXSOCKD_SOCKET=echo

# journalctl -x: the catalog as meson installed it, added to the database as
# Debian's systemd package trigger does; the entry's fields filled in.
X install -D -m 0644 /dev/stdin "$inst_catalog" < "$dest$inst_catalog"
check "journalctl --update-catalog takes the installed catalog" X journalctl --update-catalog
explained=$(X journalctl -x -u unixsockd.service --no-pager "MESSAGE_ID=$(msgid MSGID_WORKER_EXITED)" \
	UNIXSOCKD_WORKER=fail)
grep -q 'A worker process of unixsockd exited' <<< "$explained" || sed 's/^/# -x: /' <<< "$explained" >&2
check "journalctl -x explains a worker exit with the catalog, its fields filled in" \
	eval 'grep -q "Subject: A worker process of unixsockd exited" <<< "$explained" &&
		grep -qE "of worker fail has ended:" <<< "$explained" &&
		grep -qE "exited with status 1 " <<< "$explained" &&
		grep -q "Documentation: man:unixsockd(8)" <<< "$explained"'
# Not by unit: journald takes the unit from the writing process, and a worker
# that is gone before its line is read has no _SYSTEMD_UNIT.
JANY=1 check "journal: a worker's stderr has SYSLOG_IDENTIFIER=<worker>" \
	journal_check SYSLOG_IDENTIFIER=oops MESSAGE=oops
errs=$(X journalctl -u unixsockd.service -p err --no-pager -o short-precise _COMM=unixsockd | grep -v '^-- ')
[ -z "$errs" ] || sed 's/^/# /' <<< "$errs" >&2
check "journal: the daemon logged nothing at err or worse" [ -z "$errs" ]
suppressed=$(X journalctl -b --no-pager -o cat | grep -i 'suppressed.*unixsockd')
check "journal: journald dropped none of the daemon's messages" [ -z "$suppressed" ]

check "systemd never had to restart the daemon (crash, watchdog)" is "$(prop unixsockd.service NRestarts)" 0

# ---- a bad config on reload keeps the running one ------------------------------------
printf '\n[worker:late]\nno-such-key = 1\n' | cat "$tmp/reload.conf" - |
	X install -m 0644 /dev/stdin "$cfg"
# ExecReload= is unixsockctl reload: synchronous, so systemctl reload fails
check "a bad config on reload: systemctl reload fails" eval '! X systemctl reload unixsockd.service'
ctl_out=$(X "$ctl_in" reload 2>&1)
rc=$?
sed 's/^/# unixsockctl reload: /' <<< "$ctl_out" >&2
check "a bad config on reload: unixsockctl reload exits 78 with FILE:LINE: message" \
	eval '[ $rc = 78 ] && grep -Eq "^$cfg_re:[0-9]+: duplicate section \[worker:late\]" <<< "$ctl_out"'
check "a bad config on reload: the daemon keeps running" \
	is "$(prop unixsockd.service MainPID)/$(prop unixsockd.service ActiveState)" "$pid/active"
check "a bad config on reload: the old config still serves" \
	eval '[ "$(talk who < /dev/null)" = nobody ] && [ "$(echo still | talk echo)" = still ]'
check "a bad config on reload: the error names FILE:LINE" \
	journal_check "MESSAGE~.*$cfg_re:[0-9]+.*"
# through the logger, as at start: not raw on stderr (info, no MESSAGE_ID)
check_msgid "a bad config on reload: the error at err, with its MESSAGE_ID" MSGID_CONFIG_ERROR PRIORITY=3 \
	"MESSAGE~$cfg_re"':[0-9]+: duplicate section \[worker:late\] \(first at line [0-9]+\)'
X install -m 0644 /dev/stdin "$cfg" < "$tmp/reload.conf"
check "a good config again: unixsockctl reload exits 0" X "$ctl_in" reload
ctl_out=$(X "$ctl_in" status 2>&1)
sed 's/^/# unixsockctl status: /' <<< "$ctl_out" >&2
check "unixsockctl status under systemd lists the sockets" eval 'grep -Eq "^echo +listening" <<< "$ctl_out"'

# ---- stop, then activation again ------------------------------------------------------
check "systemctl stop unixsockd.service succeeds" X systemctl stop unixsockd.service
check "the service stopped cleanly (Result=success)" is "$(prop unixsockd.service Result)" success
check "the socket unit still listens, echo.sock is kept" \
	eval '[ "$(prop unixsockd.socket SubState)" = listening ] && [ "$(inode echo)" = "$ino" ]'
check "a connection after stop activates the daemon again" is "$(echo back | talk echo)" back
check "seqpacket: after another stop, the service is inactive, unixsockd-seqpacket.socket listens" \
	eval 'X systemctl stop unixsockd.service && [ "$(prop unixsockd.service ActiveState)" = inactive ] &&
		[ "$(prop unixsockd-seqpacket.socket SubState)" = listening ]'
check "seqpacket: a seqpacket client activates the daemon, two messages come back as two" \
	is "$(msgs seqpacket /run/unixsockd/seqecho.sock one two)" "$one_two"
check "seqpacket: the service is active, serving the socket unit's seqecho.sock" \
	eval '[ "$(prop unixsockd.service ActiveState)" = active ] && [ "$(inode seqecho)" = "$ino_seq" ]'

# ---- the same program under a systemd socket unit and under unixsockd -------------------
# tests/harness/activate-echo knows nothing of unixsockd: given LISTEN_FDS it
# echoes on each socket, a seqpacket client's messages one by one, a datagram
# back to its sender. Once started by a plain socket unit (Accept=no), once by
# the daemon (dispatch = listener); both must answer alike.
ae_in=$inside/tests/harness/activate-echo
[ -x "$build/tests/harness/activate-echo" ] || ct_log "no $build/tests/harness/activate-echo: the checks of socket types fail"
X install -D -m 0644 /dev/stdin /etc/systemd/system/activate-echo.socket <<-EOF
	[Socket]
	ListenSequentialPacket=/run/activate-echo/seq.sock
	ListenDatagram=/run/activate-echo/dgram.sock
	EOF
X install -D -m 0644 /dev/stdin /etc/systemd/system/activate-echo.service <<-EOF
	[Service]
	ExecStart=$ae_in
	EOF
X systemctl daemon-reload
check "activate-echo.socket (ListenSequentialPacket=, ListenDatagram=, Accept=no) starts and listens" \
	eval 'X systemctl start activate-echo.socket && [ "$(prop activate-echo.socket SubState)" = listening ] &&
		[ "$(prop activate-echo.service ActiveState)" = inactive ]'
# the datagrams first: they start the program (no connection to wait for)
sd_dgram=$(msgs datagram /run/activate-echo/dgram.sock one two)
sd_seq=$(msgs seqpacket /run/activate-echo/seq.sock one two)
check "under systemd: a datagram starts activate-echo, which answers each to its sender" is "$sd_dgram" "$one_two"
check "under systemd: activate-echo answers two seqpacket messages with two" is "$sd_seq" "$one_two"
check "under systemd: the service was started by its socket unit" is "$(prop activate-echo.service ActiveState)" active
X systemctl stop activate-echo.socket activate-echo.service

# the same sockets under unixsockd, added by a reload
{
	cat "$tmp/reload.conf"
	cat <<-EOF

	[socket:ae-seq]
	path = ae-seq.sock
	type = seqpacket
	worker = ae

	[socket:ae-dgram]
	path = ae-dgram.sock
	type = datagram
	worker = ae

	[worker:ae]
	command = $ae_in
	dispatch = listener
	EOF
} > "$tmp/types.conf"
X install -m 0644 /dev/stdin "$cfg" < "$tmp/types.conf"
ctl_out=$(X "$ctl_in" reload 2>&1)
rc=$?
[ $rc = 0 ] || sed 's/^/# unixsockctl reload: /' <<< "$ctl_out" >&2
check "types: a reload adds a type = seqpacket and a type = datagram socket of a listener worker" [ $rc = 0 ]
ud_dgram=$(msgs datagram /run/unixsockd/ae-dgram.sock one two)
ud_seq=$(msgs seqpacket /run/unixsockd/ae-seq.sock one two)
check "under unixsockd: a datagram starts the same program, which answers as under systemd" \
	eval '[ "$ud_dgram" = "$sd_dgram" ] && [ "$ud_dgram" = "$one_two" ]'
check "under unixsockd: the same program answers seqpacket messages as under systemd" \
	eval '[ "$ud_seq" = "$sd_seq" ] && [ "$ud_seq" = "$one_two" ]'
check "types: a stream client on the daemon's own seqpacket socket gets EPROTOTYPE" \
	is "$(msgs stream /run/unixsockd/ae-seq.sock one)" "error EPROTOTYPE"
X install -m 0644 /dev/stdin "$cfg" < "$tmp/reload.conf"
check "types: a reload removes them again" X "$ctl_in" reload

# ---- an inherited fd of another type than its section's ----------------------------------
# A daemon of its own (unit, config, runtime directory), whose socket unit
# gives a stream fd named for a type = seqpacket section: it must not start.
X install -D -m 0644 /dev/stdin /etc/unixsockd/mismatch.conf <<-'EOF'
	[unixsockd]
	control = none

	[socket:wrongfd]
	path = wrongfd.sock
	type = seqpacket
	worker = wrongfd

	[worker:wrongfd]
	command = /bin/cat
	EOF
X install -D -m 0644 /dev/stdin /etc/systemd/system/unixsockd-mismatch.socket <<-'EOF'
	[Socket]
	ListenStream=/run/unixsockd-mismatch/wrongfd.sock
	FileDescriptorName=wrongfd
	Service=unixsockd-mismatch.service
	EOF
X install -D -m 0644 /dev/stdin /etc/systemd/system/unixsockd-mismatch.service <<-EOF
	[Service]
	Type=notify
	ExecStart=$exe_in -c /etc/unixsockd/mismatch.conf
	RuntimeDirectory=unixsockd-mismatch
	EOF
X systemctl daemon-reload
check "mismatch: unixsockd --check accepts its config (the fd is what is wrong)" \
	X "$exe_in" --check -c /etc/unixsockd/mismatch.conf
X systemctl start unixsockd-mismatch.socket
check "mismatch: a stream fd for a type = seqpacket section: the service fails to start" \
	eval '! X systemctl start unixsockd-mismatch.service'
check "mismatch: the daemon exited 78 (EX_CONFIG)" \
	is "$(prop unixsockd-mismatch.service ExecMainCode)/$(prop unixsockd-mismatch.service ExecMainStatus)" 1/78
X journalctl -u unixsockd-mismatch.service --no-pager -o cat | sed 's/^/# mismatch: /' >&2
# an error of the daemon's that names the section and both types, in any order
mismatch_logged() {
	X journalctl --no-pager -o cat _SYSTEMD_UNIT=unixsockd-mismatch.service _COMM=unixsockd PRIORITY=3 |
		grep -w wrongfd | grep -w seqpacket | grep -w stream > /dev/null
}
check "mismatch: an error in the journal names the section, its type (seqpacket) and the fd's (stream)" \
	wait_for 5 mismatch_logged
X systemctl stop unixsockd-mismatch.socket
X systemctl reset-failed unixsockd-mismatch.service

# ---- per-worker cgroups (Delegate=yes) ------------------------------------------------
# shellcheck source=cgroup.sh
. "$here/cgroup.sh"

# ---- the units as meson installs them -----------------------------------------------
# The whole --destdir tree into the container (its /lib is a link: kept), the
# suite's units and config out of the way: the installed unit must start the
# installed daemon on the installed (shipped) config, and serve.
X systemctl stop unixsockd.service unixsockd.socket unixsockd-seqpacket.socket
X rm -f /etc/systemd/system/unixsockd.service /etc/systemd/system/unixsockd.socket \
	/etc/systemd/system/unixsockd-seqpacket.socket
tar -C "$dest" -c . | X tar -C / --keep-directory-symlink --no-same-owner -x
X ldconfig
X systemctl daemon-reload
check "systemctl start of the installed unit succeeds (READY=1)" X systemctl start unixsockd.service
check "the installed unit is active" \
	is "$(prop unixsockd.service ActiveState)/$(prop unixsockd.service SubState)" active/running
check "its main process is the installed daemon" \
	is "$(X readlink "/proc/$(prop unixsockd.service MainPID)/exe")" "$inst_exe"
check "its ExecStart= reads the installed config" \
	eval 'prop unixsockd.service ExecStart | grep -qF "argv[]=$inst_exe -c $inst_conf ;"'
check "the installed unit serves the shipped echo socket" is "$(echo installed | talk echo)" installed
# (SubState running: its service runs, and has its fd)
check "the installed unixsockd-seqpacket.socket is active, the daemon serves it message by message" \
	eval '[ "$(prop unixsockd-seqpacket.socket ActiveState)" = active ] &&
		[ "$(msgs seqpacket /run/unixsockd/seqecho.sock one two)" = "$one_two" ]'
score=$(X systemd-analyze security --no-pager unixsockd.service 2> /dev/null |
	sed -nE 's/.*Overall exposure level for unixsockd.service: ([0-9.]+).*/\1/p')
diag "systemd-analyze security unixsockd.service: ${score:-?}"
check "systemd-analyze security: exposure at most 2.5 (README)" \
	eval '[ -n "$score" ] && awk -v s="$score" "BEGIN { exit !(s <= 2.5) }"'

echo "1..$n" >&3
[ $failed = 0 ]
