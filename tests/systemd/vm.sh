#!/bin/bash
# The cgroup part of the systemd suite in a User-mode Linux VM: real systemd
# (Debian 12's, from the suite's cached rootfs) as PID 1 of its own kernel,
# with a pure cgroup2 tree that has the memory, pids and cpu controllers,
# whatever the host's cgroup layout (a hybrid host's nspawn container lacks
# them: cgroup.sh skips the limit checks there). No KVM is needed: UML is a
# kernel that runs as an ordinary process. The host's cgroups are not touched.
#   tests/systemd/vm.sh BUILDDIR [SOURCEDIR]
# The VM's disk is an ext4 image made from the rootfs with mkfs.ext4 -d (no
# mount), holding a copy of the build directory and the test scripts;
# vm-inside.sh runs cgroup.sh in it and writes TAP to a host directory shared
# with hostfs, then powers the VM off. Boot and checks: about 2 minutes.
# TAP on stdout; "1..0 # SKIP reason" where it cannot run (not root, not
# x86-64, no user-mode-linux and no apt, no rootfs and no mirror), unless
# UNIXSOCKD_SYSTEMD_REQUIRED=1 makes that a failure. On failure the VM's
# console and journal are saved to BUILDDIR/meson-logs/.
# UNIXSOCKD_VM_TIMEOUT: seconds the VM may run in all (default 600).

# cleanup runs from the EXIT trap
# shellcheck disable=SC2317
set -uo pipefail

exec 3>&1 1>&2
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: vm.sh BUILDDIR [SOURCEDIR]}" && pwd) || exit 2
src=$(cd "${2:-$here/../..}" && pwd) || exit 2
exe=$build/daemon/unixsockd
# shellcheck source=container.sh
. "$here/container.sh"
# shellcheck source=tap.sh
. "$here/tap.sh"

# ---- can it run here? -------------------------------------------------------
[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(uname -m)" = x86_64 ] || skip "user-mode-linux is packaged for x86-64 only"
[ "$(id -u)" = 0 ] || skip "needs root (the rootfs is root's, as for the container)"
[ -x "$exe" ] || bail "no daemon at $exe: build it first"
[ -f "$build/systemd/unixsockd.service" ] || bail "no configured unit files in $build/systemd"
if ldd "$exe" 2> /dev/null | grep -qE 'lib(a|ub|t|m)san'; then
	skip "a sanitizer build: its runtime is not in the VM"
fi
need=()
command -v linux.uml > /dev/null || need+=(user-mode-linux)
command -v mkfs.ext4 > /dev/null || need+=(e2fsprogs)
if [ "$(cat "$CT_CACHE/stamp" 2> /dev/null)" != "$(ct_stamp)" ]; then
	# building the rootfs takes what run.sh takes
	command -v systemd-nspawn > /dev/null || need+=(systemd-container)
	command -v debootstrap > /dev/null || need+=(debootstrap)
fi
if [ ${#need[@]} -gt 0 ]; then
	command -v apt-get > /dev/null || skip "${need[*]} missing, and no apt-get"
	ct_log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=600 -qq update ||
		! apt-get -o DPkg::Lock::Timeout=600 -qq install -y --no-install-recommends \
			"${need[@]}" > /dev/null; then
		skip "${need[*]} missing, and apt-get could not install them"
	fi
fi
linux=$(command -v linux.uml) || skip "no linux.uml after installing user-mode-linux"
# the kernel must have the controllers the checks are about
uml_config=/usr/share/doc/user-mode-linux/config.gz
if [ -r "$uml_config" ]; then
	for opt in CGROUPS MEMCG CGROUP_PIDS CGROUP_SCHED FAIR_GROUP_SCHED HOSTFS BLK_DEV_UBD EXT4_FS; do
		zgrep -qx "CONFIG_$opt=y" "$uml_config" || skip "the UML kernel has no CONFIG_$opt=y ($uml_config)"
	done
fi

# The rootfs as run.sh builds it, under the same locks.
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

# ---- the disk image ------------------------------------------------------------
uml=
work=$(mktemp -d /var/tmp/unixsockd-vm.XXXXXX) || bail "mktemp failed"
cleanup() {
	if [ -n "$uml" ] && kill -0 "$uml" 2> /dev/null; then
		ct_log "stopping the VM (timeout $uml)"
		kill -TERM "$uml" 2> /dev/null
		wait "$uml" 2> /dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
img=$work/root.img
stage=$work/root
out=$work/out
mkdir -p "$out"
cp -a "$CT_ROOT" "$stage" || bail "cannot copy $CT_ROOT"
# the build directory and what the checks read from the source tree
inside=/opt/unixsockd-build
src_in=/opt/unixsockd-src
mkdir -p "$stage$inside" "$stage$src_in/tests/systemd" "$stage$src_in/conf" "$stage$src_in/lib/examples"
cp -a "$build/." "$stage$inside/" || bail "cannot copy $build"
if ! cp "$here/vm-inside.sh" "$here/tap.sh" "$here/cgroup.sh" "$here/suite-conf.sh" "$stage$src_in/tests/systemd/" ||
	! cp "$src/conf/unixsockd.conf" "$stage$src_in/conf/" ||
	! cp "$src/lib/examples/pool-echo.py" "$stage$src_in/lib/examples/"; then
	bail "cannot copy the test files"
fi
echo '/dev/ubda / ext4 rw 0 1' > "$stage/etc/fstab"
# the journal in /run: flushing it to the disk takes UML many seconds
mkdir -p "$stage/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$stage/etc/systemd/journald.conf.d/unixsockd-vm.conf"
# the test, started with the boot (Type=simple: the boot does not wait for
# it, and it waits for the boot); $out is the host's, shared with hostfs
{
	echo '#!/bin/sh'
	printf 'out=%q\n' "$out"
	cat <<-EOF
	mkdir -p /mnt/unixsockd-out
	mount -t hostfs -o "\$out" none /mnt/unixsockd-out || { systemctl poweroff; exit 1; }
	exec $src_in/tests/systemd/vm-inside.sh /mnt/unixsockd-out $inside $src_in
	EOF
} > "$stage/usr/local/sbin/unixsockd-vmtest"
chmod 0755 "$stage/usr/local/sbin/unixsockd-vmtest"
cat > "$stage/etc/systemd/system/unixsockd-vmtest.service" <<-'EOF'
[Unit]
Description=unixsockd cgroup checks (tests/systemd/vm.sh)

[Service]
Type=simple
ExecStart=/usr/local/sbin/unixsockd-vmtest
EOF
ln -s /etc/systemd/system/unixsockd-vmtest.service "$stage/etc/systemd/system/multi-user.target.wants/"
mkfs.ext4 -q -F -L unixsockd-vm -d "$stage" "$img" 2G > "$work/mkfs.log" 2>&1 ||
	{ sed 's/^/# /' "$work/mkfs.log" >&2; bail "mkfs.ext4 -d failed"; }
rm -rf "$stage"
ct_log "disk image ready in $((SECONDS - t0)) s"

# ---- boot --------------------------------------------------------------------------
# UML keeps its memory file in TMPDIR and its control directory under
# uml_dir: both in $work. The console goes to a file; no other channel.
limit=${UNIXSOCKD_VM_TIMEOUT:-600}
t0=$SECONDS
TMPDIR=$work timeout --kill-after=20 "$limit" "$linux" mem=1G ubd0="$img" root=/dev/ubda rw \
	umid=unixsockd-vm uml_dir="$work" con=null con0=fd:0,fd:1 ssl=null console=tty0 \
	init=/lib/systemd/systemd systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 < /dev/null > "$work/console.log" 2>&1 &
uml=$!
wait "$uml"
rc=$?
uml=
ct_log "the VM ran $((SECONDS - t0)) s (exit status $rc)"

# ---- the results ---------------------------------------------------------------------
tap=$out/tap
failed=0
if [ -s "$tap" ]; then
	cat "$tap" >&3
	grep -q '^not ok ' "$tap" && failed=1
else
	failed=1
fi
if [ $failed = 1 ] || ! grep -qE '^1\.\.[1-9]' "$tap" 2> /dev/null; then
	mkdir -p "$build/meson-logs"
	cp "$work/console.log" "$build/meson-logs/vm-console.txt"
	[ -f "$out/journal.txt" ] && cp "$out/journal.txt" "$build/meson-logs/vm-journal.txt"
	[ -f "$out/inside.log" ] && sed 's/^/# inside: /' "$out/inside.log" | tail -n 40 >&2
	sed 's/^/# console: /' "$work/console.log" | tail -n 40 >&2
	ct_log "the VM's console and journal are in $build/meson-logs/vm-*.txt"
	grep -qE '^1\.\.[0-9]' "$tap" 2> /dev/null ||
		bail "the VM ended (status $rc) before the checks did; see $build/meson-logs/vm-console.txt"
	exit 1
fi
exit 0
