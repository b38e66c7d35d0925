# shellcheck shell=bash
# The systemd suite's daemon config, shared by run.sh (in the container) and
# vm-inside.sh (in the User-mode Linux VM): cgroup.sh expects exactly these
# workers.
#   suite_conf SHIPPED_CONF   the shipped config at debug level, plus the
#                             suite's sockets (users, environment, exit
#                             statuses, stderr, refusals, instance limits)
#   suite_reload_conf < CONF  CONF plus the socket "late" that a reload adds

suite_conf() {
	local conf=$1
	if grep -qE '^[[:space:]]*\[unixsockd\]' "$conf"; then
		awk '/^[ \t]*log-level[ \t]*=/ { next }
		     { print }
		     /^[ \t]*\[unixsockd\]/ && !done { print "log-level = debug"; done = 1 }' "$conf"
	else
		printf '[unixsockd]\nlog-level = debug\n\n'
		cat "$conf"
	fi
	cat <<-'EOF'

	# ---- added by tests/systemd/run.sh
	# echo again, but on a socket the daemon makes itself (the fd store keeps it)
	[socket:mine]
	path = mine.sock
	worker = mine

	[worker:mine]
	command = /bin/cat

	[socket:who]
	path = who.sock
	worker = who

	[worker:who]
	command = /usr/bin/id -un
	dispatch = spawn
	user = nobody
	group = nogroup

	[socket:env]
	path = env.sock
	worker = env

	[worker:env]
	command = /usr/bin/env
	dispatch = spawn

	[socket:fail]
	path = fail.sock
	worker = fail

	[worker:fail]
	command = /bin/false
	dispatch = spawn

	[socket:oops]
	path = oops.sock
	worker = oops

	[worker:oops]
	command = /bin/sh -c "echo oops >&2; exit 3"
	dispatch = spawn

	[socket:denied]
	path = denied.sock
	allow-users = 4242
	worker = who

	[socket:slow]
	path = slow.sock
	worker = slow

	[worker:slow]
	command = /bin/sleep 1
	dispatch = spawn
	instances = 1
	EOF
}

suite_reload_conf() {
	cat
	printf '\n[socket:late]\npath = late.sock\nworker = late\n\n[worker:late]\ncommand = /bin/echo late\ndispatch = spawn\n'
}
