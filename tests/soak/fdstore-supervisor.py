#!/usr/bin/env python3
"""fdstore-supervisor: the part of systemd a Type=notify service with an fd
store sees, for tests/soak (standard library only).

    fdstore-supervisor.py --notify-socket PATH --state FILE -- COMMAND [ARG...]

It owns a SOCK_DGRAM $NOTIFY_SOCKET and runs COMMAND with it. From the notify
socket it takes READY=1, RELOADING=1, STOPPING=1, STATUS=, and FDSTORE=1 /
FDSTOREREMOVE=1 with FDNAME=: the fds that come with FDSTORE=1 (SCM_RIGHTS) are
kept by name, as systemd's FileDescriptorStoreMax= does. Like NotifyAccess=main,
messages from any process but the current main one are ignored (their fds
closed).

Signals to the supervisor:
  SIGUSR1  restart: SIGTERM to the daemon, wait for it to exit, start it again
           with the stored fds as fds 3.. and LISTEN_FDS, LISTEN_FDNAMES,
           LISTEN_PID (the child's own pid). While nothing runs, clients wait
           in the backlog of the listening sockets this process keeps open:
           systemd's stop-then-start.
  SIGHUP   reload: forwarded to the daemon once it is READY (ExecReload=kill
           -HUP $MAINPID); a reload is done at the READY=1 after RELOADING=1.
  SIGTERM  stop the daemon, wait for it, exit.
A daemon that exits on its own is a crash: logged, counted, started again.

The daemon's stdout and stderr (and so its workers', which inherit them) go
through a pipe to this process, which writes each line to its own stderr
prefixed with CLOCK_MONOTONIC seconds, so the log lines up with other
monotonic timestamps. --state FILE is rewritten (atomically) on every change,
as key=value lines: pid, starts, restarts, crashes, ready, reloads, stored,
status, cpu_ms (user+system time of the daemon processes that exited, read
from the zombie before reaping, so workers are not included), exits.
"""
import argparse
import array
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

SD_LISTEN_FDS_START = 3
SCM_MAX_FD = 253


def now():
        return time.monotonic()


class Supervisor:
        def __init__(self, args):
                self.argv = args.command
                self.state_path = args.state
                self.notify_path = args.notify_socket
                self.ready_timeout = args.ready_timeout
                self.pid = 0
                self.state = "idle"             # starting | running | stopping | exiting
                self.ready_seen = False
                self.reloading = False
                self.pending_restarts = 0
                self.pending_reloads = 0
                self.started_at = 0.0
                self.store = {}                 # FDNAME -> fd, in insertion order
                self.counts = dict(starts=0, restarts=0, crashes=0, ready=0, reloads=0)
                self.cpu_ms = 0
                self.status = ""
                self.exits = []
                self.log_buf = b""

                if os.path.exists(self.notify_path):
                        os.unlink(self.notify_path)
                self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
                self.notify.bind(self.notify_path)
                self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
                self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                # daemon output: one pipe for every incarnation, never closed by us
                self.log_r, self.log_w = os.pipe()
                os.set_blocking(self.log_r, False)
                try:
                        fcntl.fcntl(self.log_r, 1031, 1 << 20)   # F_SETPIPE_SZ
                except OSError:
                        pass
                self.sig_r, self.sig_w = socket.socketpair()
                self.sig_r.setblocking(False)
                self.sig_w.setblocking(False)
                signal.set_wakeup_fd(self.sig_w.fileno(), warn_on_full_buffer=False)
                for s in (signal.SIGCHLD, signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                        signal.signal(s, lambda *_: None)

        # ---- output -------------------------------------------------------

        def say(self, msg):
                self.emit(b"fdstore-supervisor: " + msg.encode())

        def emit(self, line):
                sys.stderr.buffer.write(b"%.3f " % now() + line + b"\n")
                sys.stderr.buffer.flush()

        def pump_log(self, final=False):
                while True:
                        try:
                                chunk = os.read(self.log_r, 65536)
                        except BlockingIOError:
                                break
                        if not chunk:
                                break
                        self.log_buf += chunk
                *lines, self.log_buf = self.log_buf.split(b"\n")
                if final and self.log_buf:
                        lines.append(self.log_buf)
                        self.log_buf = b""
                for line in lines:
                        self.emit(line)

        def write_state(self):
                stored = ",".join("%s:%d" % kv for kv in self.store.items())
                lines = ["pid=%d" % self.pid, "phase=%s" % self.state]
                lines += ["%s=%d" % kv for kv in self.counts.items()]
                lines += ["cpu_ms=%d" % self.cpu_ms, "stored=%s" % stored,
                          "exits=%s" % " ".join(self.exits), "status=%s" % self.status]
                tmp = self.state_path + ".tmp"
                with open(tmp, "w") as f:
                        f.write("\n".join(lines) + "\n")
                os.rename(tmp, self.state_path)

        # ---- the daemon ---------------------------------------------------

        def start(self):
                names = list(self.store)
                fds = [self.store[n] for n in names]
                env = dict(os.environ)
                env["NOTIFY_SOCKET"] = self.notify_path
                for k in ("LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"):
                        env.pop(k, None)
                if fds:
                        env["LISTEN_FDS"] = str(len(fds))
                        env["LISTEN_FDNAMES"] = ":".join(names)
                pid = os.fork()
                if pid == 0:
                        self.exec_child(fds, env)
                self.pid = pid
                self.state = "starting"
                self.ready_seen = False
                self.reloading = False
                self.started_at = now()
                self.counts["starts"] += 1
                self.say("started pid %d with %d stored fds (%s)" % (pid, len(fds), ":".join(names)))
                self.write_state()

        def exec_child(self, fds, env):
                try:
                        # only here, in the child: the pid the fds are meant for
                        if fds:
                                env["LISTEN_PID"] = str(os.getpid())
                        signal.set_wakeup_fd(-1)
                        for s in range(1, signal.NSIG):
                                if s in (signal.SIGKILL, signal.SIGSTOP):
                                        continue
                                try:
                                        signal.signal(s, signal.SIG_DFL)
                                except (OSError, ValueError):
                                        pass
                        signal.pthread_sigmask(signal.SIG_SETMASK, [])
                        # out of the way of 3.. first: a stored fd may be numbered 3.. itself
                        base = SD_LISTEN_FDS_START + len(fds) + 16
                        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, base) for fd in fds]
                        null = os.open("/dev/null", os.O_RDONLY)
                        os.dup2(null, 0)
                        os.dup2(self.log_w, 1)
                        os.dup2(self.log_w, 2)
                        for i, fd in enumerate(high):
                                os.dup2(fd, SD_LISTEN_FDS_START + i, inheritable=True)
                        os.closerange(SD_LISTEN_FDS_START + len(fds), os.sysconf("SC_OPEN_MAX"))
                        os.execve(self.argv[0], self.argv, env)
                except BaseException as e:
                        os.write(2, ("fdstore-supervisor: exec %s: %s\n" % (self.argv[0], e)).encode())
                os._exit(127)

        def signal_daemon(self, sig):
                if self.pid > 0:
                        try:
                                os.kill(self.pid, sig)
                        except ProcessLookupError:
                                pass

        def stop(self, why):
                if self.pid > 0 and self.state in ("starting", "running"):
                        self.say("stopping pid %d (%s)" % (self.pid, why))
                        self.signal_daemon(signal.SIGTERM)
                        self.state = "stopping"
                        self.write_state()

        def reap(self):
                if self.pid <= 0:
                        return
                try:
                        si = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                except ChildProcessError:
                        si = None
                if si is None:
                        return
                # what it sent before it exited is queued (an FDSTORE among
                # them): take it while its pid is still the main one, before
                # anything starts again
                self.read_notify()
                self.pump_log()
                cpu = self.zombie_cpu_ms(self.pid)
                os.waitpid(self.pid, 0)
                how = ("status %d" % si.si_status if si.si_code == os.CLD_EXITED
                       else "signal %s" % signal.Signals(si.si_status).name)
                took = now() - self.started_at
                pid = self.pid
                self.pid = 0
                self.cpu_ms += cpu
                self.exits.append("%d:%s" % (pid, how.replace(" ", "=")))
                expected = self.state in ("stopping", "exiting")
                self.say("pid %d exited with %s after %.1f s, cpu %d ms%s" %
                         (pid, how, took, cpu, "" if expected else ": UNEXPECTED (crash)"))
                bad = si.si_code != os.CLD_EXITED or si.si_status != 0
                if not expected or bad:
                        self.counts["crashes"] += 1
                if self.state == "exiting":
                        self.state = "idle"
                        self.write_state()
                        return
                if self.state == "stopping":
                        self.counts["restarts"] += 1
                        self.pending_restarts = max(0, self.pending_restarts - 1)
                self.start()

        @staticmethod
        def zombie_cpu_ms(pid):
                try:
                        with open("/proc/%d/stat" % pid) as f:
                                fields = f.read().rsplit(")", 1)[1].split()
                        ticks = int(fields[11]) + int(fields[12])      # utime stime
                        return ticks * 1000 // os.sysconf("SC_CLK_TCK")
                except (OSError, IndexError, ValueError):
                        return 0

        # ---- the notify socket ----------------------------------------------

        def read_notify(self):
                ancsize = socket.CMSG_SPACE(SCM_MAX_FD * 4) + socket.CMSG_SPACE(struct.calcsize("3i"))
                while True:
                        try:
                                msg, anc, flags, _ = self.notify.recvmsg(
                                        4096, ancsize, socket.MSG_CMSG_CLOEXEC | socket.MSG_DONTWAIT)
                        except (BlockingIOError, InterruptedError):
                                return
                        fds = array.array("i")
                        sender = 0
                        for level, kind, data in anc:
                                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                                        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
                                elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                                        sender = struct.unpack("3i", data[:12])[0]
                        if flags & (socket.MSG_CTRUNC | socket.MSG_TRUNC):
                                self.say("notify message truncated (flags 0x%x); dropped" % flags)
                                self.close_all(fds)
                                continue
                        if sender != self.pid or self.pid <= 0:
                                self.say("notify message from pid %d, not the main pid %d; ignored: %r" %
                                         (sender, self.pid, msg[:200]))
                                self.close_all(fds)
                                continue
                        self.handle_notify(msg.decode(errors="replace"), list(fds))

        @staticmethod
        def close_all(fds):
                for fd in fds:
                        os.close(fd)

        def handle_notify(self, text, fds):
                kv = {}
                for line in text.split("\n"):
                        if "=" in line:
                                k, v = line.split("=", 1)
                                kv[k] = v
                if "STATUS" in kv:
                        self.status = kv["STATUS"]
                if kv.get("FDSTORE") == "1":
                        name = kv.get("FDNAME", "stored")
                        if len(fds) != 1:
                                self.say("FDSTORE=1 FDNAME=%s with %d fds: the daemon sends one" % (name, len(fds)))
                        for fd in fds:
                                old = self.store.pop(name, None)
                                if old is not None:
                                        os.close(old)
                                self.store[name] = fd
                                self.say("stored fd %d as %s (from pid %d)" % (fd, name, self.pid))
                        fds = []
                if kv.get("FDSTOREREMOVE") == "1":
                        name = kv.get("FDNAME", "")
                        old = self.store.pop(name, None)
                        if old is not None:
                                os.close(old)
                        self.say("removed %s from the store (%s)" % (name, "had it" if old is not None else "NOT STORED"))
                self.close_all(fds)     # fds without FDSTORE=1 are not kept (systemd does the same)
                if kv.get("RELOADING") == "1":
                        self.reloading = True
                if kv.get("STOPPING") == "1":
                        self.say("pid %d: STOPPING=1" % self.pid)
                if kv.get("READY") == "1":
                        self.counts["ready"] += 1
                        if self.reloading:
                                self.reloading = False
                                self.counts["reloads"] += 1
                                self.say("pid %d: reloaded" % self.pid)
                        elif not self.ready_seen:
                                self.say("pid %d: READY=1 after %.3f s" % (self.pid, now() - self.started_at))
                        self.ready_seen = True
                        if self.state == "starting":
                                self.state = "running"
                self.write_state()

        # ---- the loop -------------------------------------------------------

        def on_signal(self, sig):
                if sig == signal.SIGCHLD:
                        self.reap()
                elif sig == signal.SIGUSR1:
                        self.pending_restarts += 1
                elif sig == signal.SIGHUP:
                        self.pending_reloads += 1
                elif sig in (signal.SIGTERM, signal.SIGINT):
                        if self.state in ("starting", "running"):
                                self.stop("SIGTERM to the supervisor")
                        self.state = "exiting"
                        if self.pid <= 0:
                                self.state = "idle"

        def act(self):
                if self.state == "running" and not self.reloading:
                        if self.pending_restarts:
                                self.stop("restart")
                        elif self.pending_reloads:
                                self.pending_reloads -= 1
                                self.say("SIGHUP to pid %d" % self.pid)
                                self.reloading = True   # until its READY=1
                                self.signal_daemon(signal.SIGHUP)
                if self.state == "starting" and now() - self.started_at > self.ready_timeout:
                        self.say("pid %d: no READY=1 within %.0f s" % (self.pid, self.ready_timeout))
                        self.started_at = now()         # say it once per period

        def run(self):
                self.start()
                while not (self.state == "idle" and self.pid <= 0):
                        r, _, _ = select.select([self.notify, self.sig_r, self.log_r], [], [], 1.0)
                        if self.log_r in r:
                                self.pump_log()
                        if self.notify in r:
                                self.read_notify()
                        if self.sig_r in r:
                                try:
                                        sigs = self.sig_r.recv(4096)
                                except BlockingIOError:
                                        sigs = b""
                                for s in sigs:
                                        self.on_signal(s)
                        self.reap()     # a SIGCHLD coalesced with another one
                        self.act()
                self.pump_log(final=True)
                self.close_all(list(self.store.values()))
                self.store.clear()
                self.write_state()
                self.notify.close()
                os.unlink(self.notify_path)


def main():
        p = argparse.ArgumentParser(description="fd store and notify socket for one daemon (tests/soak)")
        p.add_argument("--notify-socket", required=True)
        p.add_argument("--state", required=True)
        p.add_argument("--ready-timeout", type=float, default=10.0)
        p.add_argument("command", nargs="+")
        args = p.parse_args()
        if not os.path.isabs(args.command[0]):
                p.error("COMMAND must be an absolute path")
        Supervisor(args).run()


if __name__ == "__main__":
        main()
