# shellcheck shell=bash
# A throw-away Debian 12 container with real systemd as PID 1, for the systemd
# suite: the host's PID 1 need not be systemd. Sourced by run.sh; every
# function logs to stderr and returns non-zero on failure.
#
#   ct_setup            build the cached rootfs once (debootstrap, ~1 min)
#   ct_boot [OPTS...]   boot it (volatile overlay: every boot is pristine)
#   ct_exec CMD...      run CMD as root in all of the container's namespaces
#   ct_path PATH        host path of PATH inside the container
#   ct_stop             halt it cleanly (SIGKILL after a grace), remove our cgroups
#
# Settings (environment): UNIXSOCKD_ROOTFS (cache directory), UNIXSOCKD_MIRROR,
# UNIXSOCKD_SECURITY_MIRROR. The container is named $CT_NAME.

CT_CACHE=${UNIXSOCKD_ROOTFS:-/var/tmp/unixsockd-rootfs}
CT_ROOT=$CT_CACHE/root
CT_MIRROR=${UNIXSOCKD_MIRROR:-http://deb.debian.org/debian}
CT_SECURITY_MIRROR=${UNIXSOCKD_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CT_SUITE=bookworm
# What the daemon links (libsystemd0, libinih1) and what the tests use inside.
# The stamp records this list: change it and the rootfs is built again.
CT_PKGS=systemd,systemd-sysv,dbus,libsystemd0,libinih1,libjson-c5,socat,procps,python3-minimal
CT_NAME=${CT_NAME:-unixsockd-test-$$}
CT_STATE=/run/unixsockd-test/$CT_NAME
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ct_log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }

# Our own cgroup in every hierarchy nspawn uses, so that everything the
# container creates sits under one directory we can remove afterwards. The
# host may be cgroup2 only, or hybrid (v1 controllers + name=systemd + unified).
ct_cgroups() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup/$CT_NAME"
		return
	fi
	[ -d /sys/fs/cgroup/systemd ] && echo "/sys/fs/cgroup/systemd/$CT_NAME"
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
		echo "/sys/fs/cgroup/unified/$CT_NAME"
	return 0
}

# exec "$@" from inside our cgroups
ct_in_cgroup() {
	local d
	for d in $(ct_cgroups); do
		mkdir -p "$d" && echo "$BASHPID" > "$d/cgroup.procs" || exit 1
	done
	exec "$@"
}

ct_cgroups_remove() {
	local d
	for d in $(ct_cgroups); do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

# nspawn on a directory that is not booted: for apt inside the rootfs.
# (The host's /run is not always a tmpfs; nspawn then complains harmlessly
# that it will not remove its propagation directory.)
ct_run_in_root() {
	(ct_in_cgroup systemd-nspawn -q -D "$CT_ROOT" -M "$CT_NAME-setup" --register=no \
		--keep-unit --pipe -E DEBIAN_FRONTEND=noninteractive -E LANG=C.UTF-8 "$@") \
		2> >(grep -v 'Attempted to remove disk file system' >&2)
}

ct_stamp() { echo "$CT_SUITE $CT_PKGS"; }

# Build the rootfs unless the stamp says it is there with the same packages.
# Callers hold $CT_CACHE.lock exclusively (see run.sh).
ct_setup() {
	local tmp=$CT_CACHE/root.tmp t0=$SECONDS u
	if [ "$(cat "$CT_CACHE/stamp" 2>/dev/null)" = "$(ct_stamp)" ] && [ -x "$CT_ROOT/usr/lib/systemd/systemd" ]; then
		return 0
	fi
	ct_log "building the rootfs in $CT_CACHE (debootstrap $CT_SUITE, about a minute)"
	rm -rf "$tmp" "$CT_ROOT" "$CT_CACHE/stamp"
	mkdir -p "$CT_CACHE"
	if ! debootstrap --variant=minbase --include="$CT_PKGS" "$CT_SUITE" "$tmp" "$CT_MIRROR" \
		> "$CT_CACHE/debootstrap.log" 2>&1; then
		tail -n 20 "$CT_CACHE/debootstrap.log" | sed 's/^/# /' >&2
		ct_log "debootstrap failed (log: $CT_CACHE/debootstrap.log)"
		return 1
	fi
	cat > "$tmp/etc/apt/sources.list" <<-EOF
	deb $CT_MIRROR $CT_SUITE main
	deb $CT_MIRROR $CT_SUITE-updates main
	deb $CT_SECURITY_MIRROR $CT_SUITE-security main
	EOF
	# hostname = machine name; one machine id for every boot
	rm -f "$tmp/etc/hostname"
	systemd-machine-id-setup --root="$tmp" > /dev/null 2>&1 || true
	# nothing on the console, no timers firing during a test
	for u in console-getty.service getty@.service serial-getty@.service apt-daily.timer \
		apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service \
		fstrim.timer; do
		ln -sfn /dev/null "$tmp/etc/systemd/system/$u"
	done
	mv "$tmp" "$CT_ROOT"
	# the same point release as a Debian 12 host that builds the daemon
	if ! ct_run_in_root sh -c 'apt-get update -qq && apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade > /dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*'; then
		ct_log "apt-get upgrade in the rootfs failed"
		return 1
	fi
	ct_cgroups_remove
	ct_stamp > "$CT_CACHE/stamp"
	ct_log "rootfs ready in $((SECONDS - t0)) s"
}

# PID (host view) of the container's systemd: the child of nspawn that lives
# in another PID namespace (nspawn is a subreaper, so it is its parent).
ct_leader() {
	local c kids
	[ -n "${CT_NSPAWN:-}" ] && [ -d "/proc/$CT_NSPAWN" ] || return 1
	kids=$(cat /proc/"$CT_NSPAWN"/task/*/children 2> /dev/null)
	for c in $kids; do
		if [ "$(readlink "/proc/$c/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

ct_exec() {
	local l
	l=$(ct_leader) || { ct_log "container $CT_NAME is not running"; return 125; }
	nsenter -t "$l" -a -r -w env -i PATH="$CT_PATH" HOME=/root LANG=C.UTF-8 \
		SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

ct_path() { echo "/proc/$CT_LEADER/root/${1#/}"; }

# Boot in the background; wait until systemd says the boot is done.
# Sets CT_NSPAWN (nspawn's PID) and CT_LEADER (the container's PID 1).
ct_boot() {
	local deadline=$((SECONDS + 60)) state=
	mkdir -p "$CT_STATE"
	ct_cgroups_remove
	# --register=no --keep-unit: no machined or system bus is needed on the
	# host. A pure cgroup2 tree inside, as on a Debian 12 host, also when this
	# host is hybrid.
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 ct_in_cgroup systemd-nspawn -M "$CT_NAME" -D "$CT_ROOT" \
		--boot --volatile=overlay --private-network --register=no --keep-unit \
		--console=read-only "$@" < /dev/null > "$CT_STATE/console.log" 2>&1 &
	CT_NSPAWN=$!
	CT_LEADER=
	while [ $SECONDS -lt $deadline ] && kill -0 "$CT_NSPAWN" 2>/dev/null; do
		if CT_LEADER=$(ct_leader) &&
			[ "$(readlink "/proc/$CT_LEADER/exe")" = /usr/lib/systemd/systemd ]; then
			break
		fi
		CT_LEADER=
		sleep 0.05
	done
	if [ -z "$CT_LEADER" ]; then
		sed 's/^/# /' "$CT_STATE/console.log" | tail -n 30 >&2
		ct_log "the container did not start"
		return 1
	fi
	while [ $SECONDS -lt $deadline ]; do
		state=$(ct_exec systemctl is-system-running 2> /dev/null)
		case $state in running|degraded) break ;; esac
		sleep 0.1
	done
	case $state in
	running) ;;
	degraded)
		ct_log "the container booted degraded; failed units:"
		ct_exec systemctl --failed --no-legend --plain | sed 's/^/# /' >&2 ;;
	*)
		sed 's/^/# /' "$CT_STATE/console.log" | tail -n 30 >&2
		ct_log "the boot did not finish in 60 s (state '$state')"
		return 1 ;;
	esac
}

# Halt: SIGTERM makes nspawn ask the container's systemd to power off.
ct_stop() {
	local deadline=$((SECONDS + 30))
	if [ -n "${CT_NSPAWN:-}" ] && kill -0 "$CT_NSPAWN" 2> /dev/null; then
		kill -TERM "$CT_NSPAWN"
		while kill -0 "$CT_NSPAWN" 2> /dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.1
		done
		if kill -0 "$CT_NSPAWN" 2> /dev/null; then
			ct_log "the container did not halt in 30 s; killing it"
			# the container's PID 1 takes its whole PID namespace with it
			[ -n "${CT_LEADER:-}" ] && kill -KILL "$CT_LEADER" 2> /dev/null
			kill -KILL "$CT_NSPAWN" 2> /dev/null
		fi
		wait "$CT_NSPAWN" 2> /dev/null
	fi
	CT_NSPAWN=
	rm -rf "/run/systemd/nspawn/propagate/$CT_NAME" "$CT_STATE" 2> /dev/null
	ct_cgroups_remove
}
