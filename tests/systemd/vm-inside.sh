#!/bin/bash
# The cgroup checks of the systemd suite (cgroup.sh), inside the User-mode
# Linux VM that vm.sh boots: real systemd as PID 1 on a pure cgroup2 tree with
# the memory, pids and cpu controllers. Started by unixsockd-vmtest.service
# once the boot is under way; powers the VM off when done.
#   vm-inside.sh OUTDIR BUILDDIR SRCDIR
# TAP to OUTDIR/tap, the rest to OUTDIR/inside.log; on failure the journal to
# OUTDIR/journal.txt. Here every command runs in the VM itself: X is plain
# execution, and what run.sh does with python3 on the host is done with awk
# (the rootfs has python3-minimal only).

# Compound checks are `check NAME eval '...'`, as in run.sh.
# shellcheck disable=SC2001,SC2016,SC2034
set -uo pipefail

out=${1:?usage: vm-inside.sh OUTDIR BUILDDIR SRCDIR}
inside=${2:?}
src=${3:?}
here=$src/tests/systemd
exec 3> "$out/tap" 1> "$out/inside.log" 2>&1

# shellcheck source=tap.sh
. "$here/tap.sh"
ct_log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }
X() { env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"; }

finish() {
	local rc=$?
	echo "1..$n" >&3
	if [ $failed -gt 0 ] || [ $rc -ne 0 ]; then
		{
			journalctl -b --no-pager -o short-precise
			echo "==== journalctl -u unixsockd.service -u cgtest.service -o verbose"
			journalctl -u unixsockd.service -u cgtest.service --no-pager -o verbose
		} > "$out/journal.txt" 2>&1
	fi
	rm -rf "${tmp:-}"
	exec 3>&-
	sync
	systemctl --no-block poweroff
}
trap finish EXIT

# journal_has WANT...: as run.sh's, on `journalctl -o export`: some entry of
# unixsockd.service (of any unit with JANY=1) has, for every WANT,
# FIELD=VALUE exactly, FIELD~REGEX (an awk ERE on the whole value), or FIELD.
journal_has() {
	local unit=(-u unixsockd.service)
	[ "${JANY:-0}" = 1 ] && unit=()
	X journalctl "${unit[@]}" -o export --no-pager | awk -v wants="$(printf '%s\n' "$@")" '
	BEGIN { nw = split(wants, w, "\n"); if (w[nw] == "") nw-- }
	function judge(   i, k, v, p) {
		for (i = 1; i <= nw; i++) {
			if ((p = index(w[i], "=")) && (!index(w[i], "~") || p < index(w[i], "~"))) {
				k = substr(w[i], 1, p - 1); v = substr(w[i], p + 1)
				if (!(k in e) || e[k] != v) return 0
			} else if ((p = index(w[i], "~"))) {
				k = substr(w[i], 1, p - 1); v = substr(w[i], p + 1)
				if (!(k in e) || e[k] !~ ("^(" v ")$")) return 0
			} else if (!(w[i] in e)) return 0
		}
		return 1
	}
	/^$/ { if (judge()) found = 1; delete e; next }
	{ p = index($0, "="); if (p) e[substr($0, 1, p - 1)] = substr($0, p + 1) }
	END { if (judge()) found = 1; exit !found }'
}
journal_check() { wait_for 5 journal_has "$@"; }

tmp=$(mktemp -d)
state=$(timeout 120 systemctl is-system-running --wait)
diag "the VM: kernel $(uname -r), $(systemctl --version | head -n 1): $state after $(cut -d' ' -f1 /proc/uptime) s of uptime"
check "the VM boots with systemd as PID 1 (state '$state')" \
	eval '[ "$(readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] && [ "$state" = running ]'
[ "$state" = running ] || systemctl --failed --no-legend --plain | sed 's/^/# failed: /' >&2
pure_v2() {
	local c
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || return 1
	for c in memory pids cpu; do
		grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || return 1
	done
}
check "the VM has a pure cgroup2 tree with memory, pids and cpu ($(cat /sys/fs/cgroup/cgroup.controllers))" pure_v2

# ---- install, as run.sh does: the shipped units, ExecStart= into the build --
exe_in=$inside/daemon/unixsockd
[ -x "$exe_in" ] || bail "no daemon at $exe_in"
cfg=$(sed -nE 's/^ExecStart=[^ ]+ -c ([^ ]+).*/\1/p' "$inside/systemd/unixsockd.service")
[ -n "$cfg" ] || bail "no -c FILE in ExecStart= of $inside/systemd/unixsockd.service"
cfg_re=$(sed 's/[].[\\*^$()+?{}|]/\\&/g' <<< "$cfg")
# shellcheck source=suite-conf.sh
. "$here/suite-conf.sh"
suite_conf "$src/conf/unixsockd.conf" > "$tmp/unixsockd.conf"
suite_reload_conf < "$tmp/unixsockd.conf" > "$tmp/reload.conf"
X install -D -m 0644 "$tmp/reload.conf" "$cfg"
ctl_in=$(find "$inside/daemon" -name unixsockctl -type f -perm -u+x 2> /dev/null | head -n 1)
[ -n "$ctl_in" ] || ct_log "no unixsockctl in $inside/daemon: the reload checks will fail"
sed -E -e "s|^ExecStart=[^ ]+|ExecStart=$exe_in|" \
	-e "${ctl_in:+s|^ExecReload=[^ ]+/unixsockctl|ExecReload=$ctl_in|}" "$inside/systemd/unixsockd.service" |
	X install -D -m 0644 /dev/stdin /etc/systemd/system/unixsockd.service
for u in unixsockd.socket unixsockd-seqpacket.socket; do
	X install -D -m 0644 "$inside/systemd/$u" "/etc/systemd/system/$u"
done
X systemctl daemon-reload
check "unixsockd.socket starts, the first connection starts the daemon" \
	eval 'X systemctl start unixsockd.socket && [ "$(echo hello | talk echo)" = hello ]'

# shellcheck source=cgroup.sh
. "$here/cgroup.sh"
