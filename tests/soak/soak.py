#!/usr/bin/env python3
"""soak.py: the driver of tests/soak/soak.sh (run that, it builds what this needs).

    soak.py BUILDDIR

unixsockd under fdstore-supervisor.py (a stand-in for systemd's fd store) with
three sockets, one per dispatch mode: spawn (/bin/cat), pool (pool-echo,
instances 3) and listener (inproc-echo). For SOAK_SECONDS, usd-load clients
run in rounds on all three at once while:
  - a pool worker is killed (SIGKILL) every few seconds;
  - the daemon reloads (SIGHUP) every ~10 s, in turn: a socket "extra" added
    (and probed), the pool worker's environment changed, "extra" removed, the
    listener worker's environment changed, the spawn worker's changed;
  - the daemon restarts every ~30 s (stop, then start with the stored fds).
Then a table per socket: attempted, served, refused (connect() failed), lost
in service by a killed worker (pool: our SIGKILL; listener: the daemon's SIGTERM),
lost (every other failure). Exit 1 if
anything was lost or refused, or the daemon crashed or hung.

Telling a connection a killed worker was serving from one the daemon lost:
pool-echo serves one connection at a time, so before each SIGKILL the worker is
stopped (SIGSTOP) and looked at: a connection socket among its fds (beyond the
channel, fd 3) is one it took (ACKed, or about to) and dies with it; messages
still queued on its channel are connections it never took, which the daemon
must hand to another worker. inproc-echo, the listener worker, dies of the
SIGTERM the daemon sends it at a stop or a replacement with whatever it has
accepted; it is stopped the same way around each restart and listener reload,
its connections counted, and continued once that SIGTERM is pending. Only
short/reset failures, on those two sockets, and at most as many as were counted
in service, are "lost in service"; every other failure is lost.

Environment: SOAK_SECONDS [180], SOAK_CONCURRENCY ["spawn:2 pool:8 listen:2"]
clients per socket (a bare N sets all),
SOAK_KILL_EVERY ["2 5"] seconds (uniform), SOAK_RELOAD_EVERY [10],
SOAK_RESTART_EVERY [30], SOAK_TIMEOUT [30] seconds per connection, SOAK_SEED,
SOAK_KEEP=1 keeps the work directory even when all went well.
"""
import ctypes
import fcntl
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = (64, 512, 4096, 16384)          # bytes per connection, one size per round
ROUND_CONNECTIONS = 20000
ROUND_SECONDS = 15.0
SYS_PIDFD_GETFD = 438                   # the same on every architecture
COUNT_KEYS = ("ok", "err_connect_refused", "err_connect_noent", "err_connect_timeout",
              "err_connect_other", "err_reset", "err_short", "err_mismatch", "err_timeout",
              "err_other", "skipped")
REFUSED_KEYS = ("err_connect_refused", "err_connect_noent", "err_connect_timeout", "err_connect_other")


def now():
        return time.monotonic()


def env_float(name, default):
        v = os.environ.get(name)
        return float(v) if v else default


class Soak:
        def __init__(self, builddir):
                b = os.path.abspath(builddir)
                self.unixsockd = os.path.join(b, "daemon/unixsockd")
                self.pool_echo = os.path.realpath(os.path.join(b, "lib/pool-echo"))
                self.usd_load = os.path.join(b, "tests/bench/usd-load")
                self.inproc_echo = os.path.join(b, "tests/bench/inproc-echo")
                self.seconds = env_float("SOAK_SECONDS", 180)
                # Clients per socket. A busy spawn socket starves the pool (each
                # spawn holds the daemon's loop until the child has exec'd; on 2
                # cores 6 spawn clients cut the pool from ~25000 to ~500 conn/s),
                # and inproc-echo answers so fast that its clients take CPU time
                # from the pool's three hops: few of both, so the pool sees traffic.
                conc = dict(spawn=2, pool=8, listen=2)
                for w in os.environ.get("SOAK_CONCURRENCY", "").split():
                        name, _, n = w.rpartition(":")
                        for k in ([name] if name else conc):
                                conc[k] = int(n)
                self.concurrency = conc
                kill_every = os.environ.get("SOAK_KILL_EVERY", "2 5").split()
                self.kill_min, self.kill_max = float(kill_every[0]), float(kill_every[-1])
                self.reload_every = env_float("SOAK_RELOAD_EVERY", 10)
                self.restart_every = env_float("SOAK_RESTART_EVERY", 30)
                self.timeout = env_float("SOAK_TIMEOUT", 30)
                self.seed = int(os.environ.get("SOAK_SEED") or random.randrange(1 << 31))
                self.rng = random.Random(self.seed)
                self.dir = tempfile.mkdtemp(prefix="usd-soak.")
                self.run_dir = os.path.join(self.dir, "run")
                self.conf = os.path.join(self.dir, "unixsockd.conf")
                self.state_file = os.path.join(self.dir, "supervisor.state")
                self.log_file = os.path.join(self.dir, "daemon.log")
                self.events_file = open(os.path.join(self.dir, "events.log"), "w")
                self.lock = threading.Lock()
                self.stop = threading.Event()
                self.sup = None
                self.gen = dict(spawn=0, pool=0, listen=0)
                self.extra = False
                self.daemon_pids = set()
                self.rows = {n: dict.fromkeys(COUNT_KEYS, 0) for n in ("spawn", "pool", "listen", "extra")}
                self.max_ms = dict.fromkeys(self.rows, 0.0)
                self.rounds = []                # (name, t0, t1, size, counts)
                self.kills = []                 # dicts
                self.listener_terms = []        # connections held by a listener worker at its SIGTERM
                self.events = []                # (t, text)
                self.problems = []              # what fails the run besides lost/refused
                self.notes = []                 # observations that do not
                self.samples = []               # (t, pid, rss_kb, hwm_kb, nfds)
                self.reloads = 0
                self.restarts = []              # seconds from SIGUSR1 to READY
                self.idle = {}

        # ---- bookkeeping ----------------------------------------------------

        def event(self, text):
                t = now()
                with self.lock:
                        self.events.append((t, text))
                        self.events_file.write("%.3f %s\n" % (t, text))
                        self.events_file.flush()

        def problem(self, text):
                self.event("PROBLEM " + text)
                with self.lock:
                        self.problems.append(text)

        def note(self, text):
                self.event("note " + text)
                with self.lock:
                        if text not in self.notes:
                                self.notes.append(text)

        def sup_state(self):
                try:
                        with open(self.state_file) as f:
                                return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
                except OSError:
                        return {}

        def wait_state(self, pred, timeout):
                """Polls the supervisor's state file (it rewrites it on every change)."""
                deadline = now() + timeout
                while now() < deadline:
                        st = self.sup_state()
                        if st and pred(st):
                                return st
                        time.sleep(0.02)
                return None

        def daemon_pid(self):
                st = self.sup_state()
                pid = int(st.get("pid", 0) or 0)
                if pid > 0:
                        self.daemon_pids.add(pid)
                return pid

        # ---- configuration --------------------------------------------------

        def write_conf(self):
                extra = ""
                if self.extra:
                        extra = ("\n[socket:extra]\npath = extra.sock\nworker = extra\n"
                                 "\n[worker:extra]\ncommand = /bin/cat\n")
                text = f"""# written by tests/soak/soak.py
[unixsockd]
runtime-directory = {self.run_dir}
log-level = info
stop-timeout = 10s

[socket:spawn]
path = spawn.sock
worker = cat

[worker:cat]
command = /bin/cat
dispatch = spawn
instances = 64
environment = SOAK_GEN={self.gen['spawn']}

[socket:pool]
path = pool.sock
worker = echo-pool

[worker:echo-pool]
command = {self.pool_echo}
dispatch = pool
instances = 3
restart-delay = 100ms
restart-delay-max = 2s
environment = SOAK_GEN={self.gen['pool']}

[socket:listen]
path = listen.sock
worker = inproc

[worker:inproc]
command = {self.inproc_echo}
dispatch = listener
environment = SOAK_GEN={self.gen['listen']}
{extra}"""
                tmp = self.conf + ".tmp"
                with open(tmp, "w") as f:
                        f.write(text)
                os.rename(tmp, self.conf)

        # ---- the daemon under the supervisor ----------------------------------

        def start_supervisor(self):
                self.write_conf()
                log = open(self.log_file, "wb")
                self.sup = subprocess.Popen(
                        [sys.executable, os.path.join(HERE, "fdstore-supervisor.py"),
                         "--notify-socket", os.path.join(self.dir, "notify"), "--state", self.state_file,
                         "--", self.unixsockd, "-c", self.conf, "--log-target=console"],
                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
                log.close()
                if not self.wait_state(lambda s: s.get("phase") == "running", 20):
                        raise SystemExit("soak: the daemon did not become ready (see %s)" % self.log_file)
                self.daemon_pid()
                self.event("daemon ready")

        def reload(self, what):
                st = self.sup_state()
                target = int(st.get("reloads", 0)) + 1
                self.write_conf()
                held = self.hold_listener() if "listener" in what else []
                self.event("reload: " + what)
                os.kill(self.sup.pid, signal.SIGHUP)
                self.release_listener(held, "reload")
                st = self.wait_state(lambda s: int(s.get("reloads", 0)) >= target and s.get("phase") == "running", 30)
                if not st:
                        self.problem("reload (%s): no READY=1 after RELOADING=1 within 30 s" % what)
                        return False
                self.reloads += 1
                return True

        def restart(self):
                st = self.sup_state()
                target = int(st.get("restarts", 0)) + 1
                t0 = now()
                held = self.hold_listener()
                self.event("restart")
                os.kill(self.sup.pid, signal.SIGUSR1)
                self.release_listener(held, "restart")
                st = self.wait_state(lambda s: int(s.get("restarts", 0)) >= target and s.get("phase") == "running", 60)
                if not st:
                        self.problem("restart: the daemon was not ready again within 60 s")
                        return
                self.restarts.append(now() - t0)
                self.daemon_pid()
                self.event("restarted in %.3f s" % (now() - t0))

        # ---- clients ----------------------------------------------------------

        def load(self, name, args):
                p = subprocess.run([self.usd_load, "-l", name] + args, capture_output=True, text=True)
                kv = dict(w.split("=", 1) for w in p.stdout.split() if "=" in w)
                if "ok" not in kv:
                        self.problem("usd-load %s failed: exit %d: %s" % (name, p.returncode, p.stderr.strip()))
                        return None
                return kv

        def tally(self, name, t0, size, kv):
                counts = {k: int(kv.get(k, 0)) for k in COUNT_KEYS}
                with self.lock:
                        for k, v in counts.items():
                                self.rows[name][k] += v
                        self.max_ms[name] = max(self.max_ms[name], float(kv.get("max_us", 0)) / 1000)
                        self.rounds.append((name, t0, now(), size, counts))
                bad = {k: v for k, v in counts.items() if v and k not in ("ok", "skipped")}
                if bad:
                        self.event("round %s size %d: %s" % (name, size, " ".join("%s=%d" % kv for kv in bad.items())))

        def load_loop(self, name, end):
                path = os.path.join(self.run_dir, name + ".sock")
                while not self.stop.is_set():
                        left = end - now()
                        if left <= 0.5:
                                break
                        size = self.rng.choice(SIZES)
                        t0 = now()
                        kv = self.load(name, ["-s", path, "-n", str(ROUND_CONNECTIONS),
                                                  "-c", str(self.concurrency[name]), "-m", str(size),
                                                  "-t", "%g" % self.timeout,
                                                  "-T", "%.3f" % min(ROUND_SECONDS, left)])
                        if kv is None:
                                return
                        self.tally(name, t0, size, kv)

        def probe_extra(self, why):
                t0 = now()
                kv = self.load("extra", ["-s", os.path.join(self.run_dir, "extra.sock"), "-n", "200",
                                             "-c", "4", "-m", "256", "-t", "%g" % self.timeout])
                if kv:
                        self.tally("extra", t0, 256, kv)
                        self.event("probe extra (%s): ok=%s errors=%s" % (why, kv["ok"], kv.get("errors")))

        # ---- pool worker kills --------------------------------------------------

        def pool_workers(self):
                return self.workers_of(self.pool_echo)

        def workers_of(self, exe):
                pids = []
                for d in os.listdir("/proc"):
                        if not d.isdigit():
                                continue
                        try:
                                if os.readlink("/proc/%s/exe" % d) != exe:
                                        continue
                                with open("/proc/%s/stat" % d) as f:
                                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                        except (OSError, ValueError, IndexError):
                                continue
                        if ppid in self.daemon_pids:
                                pids.append((int(d), ppid))
                return pids

        @staticmethod
        def proc_state(pid):
                try:
                        with open("/proc/%d/stat" % pid) as f:
                                return f.read().rsplit(")", 1)[1].split()[0]
                except (OSError, IndexError):
                        return None

        def look_at_channel(self, pid):
                """Messages queued on fd 3 of pid (connections it has not taken), and
                whether the daemon's end is closed. Through a duplicate of the fd
                (pidfd_getfd), closed again before the process is killed."""
                libc = ctypes.CDLL(None, use_errno=True)
                pidfd = os.pidfd_open(pid)
                try:
                        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, 3, 0)
                        if fd < 0:
                                return None, None
                        s = socket.socket(fileno=fd)
                        try:
                                p = select.poll()
                                p.register(fd, select.POLLIN)
                                ev = dict(p.poll(0)).get(fd, 0)
                                hup = bool(ev & select.POLLHUP)
                                total = bytearray(4)
                                fcntl.ioctl(fd, termios.FIONREAD, total)
                                total = int.from_bytes(total, sys.byteorder)
                                queued = 0
                                if total:
                                        buf = bytearray(4096)
                                        try:
                                                first = s.recv_into(buf, 0, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                                        except BlockingIOError:
                                                first = 0
                                        queued = total // first if first else 0
                                return queued, hup
                        finally:
                                s.close()
                finally:
                        os.close(pidfd)

        def kill_one(self):
                workers = self.pool_workers()
                if not workers:
                        self.event("kill: no pool worker running")
                        return
                pid, ppid = self.rng.choice(workers)
                phase = self.sup_state().get("phase", "?")
                try:
                        os.kill(pid, signal.SIGSTOP)
                except ProcessLookupError:
                        return
                in_service = self.stopped_connections(pid)
                try:
                        queued, hup = self.look_at_channel(pid)
                except OSError:
                        queued, hup = None, None
                os.kill(pid, signal.SIGKILL)
                k = dict(t=now(), pid=pid, daemon=ppid, phase=phase, in_service=in_service,
                         queued=queued, chan_closed=hup)
                with self.lock:
                        self.kills.append(k)
                self.event("kill -9 pool worker %d (daemon %d, %s): %d in service, %s queued on its channel%s" %
                           (pid, ppid, phase, in_service, queued,
                            ", the daemon's end closed" if hup else ""))

        def stopped_connections(self, pid):
                """Waits for pid to be stopped, then counts its connections: the
                sockets beyond fd 3 (the channel of a pool worker, the listening
                socket of a listener worker)."""
                deadline = now() + 2
                while self.proc_state(pid) not in ("T", "t", None, "Z") and now() < deadline:
                        time.sleep(0.001)
                n = 0
                try:
                        for fd in os.listdir("/proc/%d/fd" % pid):
                                if int(fd) > 3 and os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                                        n += 1
                except OSError:
                        pass
                return n

        # ---- the listener worker's SIGTERM --------------------------------------------
        # inproc-echo does not catch SIGTERM: what it has accepted dies with it
        # when the daemon stops or replaces it. To count those, the worker is
        # stopped before the restart or reload, its connections counted (it
        # accepts no more while stopped: new clients wait in the backlog), and
        # continued once the daemon's SIGTERM is pending, so it dies at once.

        def hold_listener(self):
                held = []
                for pid, _ in self.workers_of(self.inproc_echo):
                        try:
                                os.kill(pid, signal.SIGSTOP)
                        except ProcessLookupError:
                                continue
                        held.append((pid, self.stopped_connections(pid)))
                return held

        @staticmethod
        def sigterm_pending(pid):
                try:
                        with open("/proc/%d/status" % pid) as f:
                                st = dict(l.split(":", 1) for l in f if ":" in l)
                except OSError:
                        return True
                bit = 1 << (signal.SIGTERM - 1)
                return bool((int(st["SigPnd"], 16) | int(st["ShdPnd"], 16)) & bit)

        def release_listener(self, held, why):
                for pid, n in held:
                        deadline = now() + 10
                        while not self.sigterm_pending(pid) and now() < deadline:
                                time.sleep(0.002)
                        term = self.sigterm_pending(pid)
                        try:
                                os.kill(pid, signal.SIGCONT)
                        except ProcessLookupError:
                                pass
                        if term:
                                with self.lock:
                                        self.listener_terms.append(n)
                                self.event("listener worker %d gets SIGTERM (%s) holding %d connections" % (pid, why, n))
                        else:
                                self.event("listener worker %d: no SIGTERM within 10 s (%s); continued" % (pid, why))

        def kill_loop(self):
                while not self.stop.wait(self.rng.uniform(self.kill_min, self.kill_max)):
                        self.kill_one()

        # ---- reloads and restarts -------------------------------------------------

        def reload_step(self, i):
                step = ("add-extra", "pool-env", "remove-extra", "listener-env", "spawn-env")[i % 5]
                if step == "add-extra":
                        self.extra = True
                elif step == "remove-extra":
                        self.extra = False
                else:
                        self.gen[step.split("-")[0].replace("listener", "listen")] += 1
                if not self.reload(step):
                        return
                extra_path = os.path.join(self.run_dir, "extra.sock")
                if step == "add-extra":
                        self.probe_extra("added by reload")
                elif step == "remove-extra":
                        if "extra:" in self.sup_state().get("stored", ""):
                                self.problem("extra removed by reload is still in the fd store")
                        if os.path.lexists(extra_path):
                                self.note("a socket removed by reload leaves its file behind when the "
                                          "daemon adopted it from the fd store (us_close unlinks only "
                                          "what that listener created)")
                                os.unlink(extra_path)

        def chaos_loop(self):
                t0 = now()
                next_reload = t0 + self.reload_every
                next_restart = t0 + self.restart_every
                i = 0
                while True:
                        t = min(next_reload, next_restart)
                        if self.stop.wait(max(0.0, t - now())):
                                return
                        if next_restart <= next_reload:
                                self.restart()
                                if self.extra:
                                        self.probe_extra("after a restart")
                                next_restart = now() + self.restart_every * self.rng.uniform(0.9, 1.1)
                        else:
                                self.reload_step(i)
                                i += 1
                                next_reload = now() + self.reload_every * self.rng.uniform(0.8, 1.2)

        # ---- the daemon's resources ------------------------------------------------------

        @staticmethod
        def resources(pid):
                try:
                        with open("/proc/%d/status" % pid) as f:
                                st = dict(l.split(":", 1) for l in f if ":" in l)
                        rss = int(st["VmRSS"].split()[0])
                        hwm = int(st["VmHWM"].split()[0])
                        nfds = len(os.listdir("/proc/%d/fd" % pid))
                        return rss, hwm, nfds
                except (OSError, KeyError, ValueError, IndexError):
                        return None

        def monitor_loop(self):
                while not self.stop.wait(1.0):
                        pid = self.daemon_pid()
                        r = self.resources(pid) if pid else None
                        if r:
                                with self.lock:
                                        self.samples.append((now(), pid, *r))

        def children(self, ppid):
                out = []
                for d in os.listdir("/proc"):
                        if d.isdigit():
                                try:
                                        with open("/proc/%s/stat" % d) as f:
                                                rest = f.read().rsplit(")", 1)[1].split()
                                        if int(rest[1]) == ppid:
                                                out.append(os.readlink("/proc/%s/exe" % d))
                                except (OSError, ValueError, IndexError):
                                        pass
                return out

        def idle_sample(self, label):
                """The daemon's fds and RSS once no connection is in service: only
                the 3 pool workers (and the listener worker, which stays) run."""
                pid = self.daemon_pid()
                deadline = now() + 30
                while now() < deadline:
                        kids = self.children(pid)
                        if kids.count(self.pool_echo) == 3 and len(kids) - 3 <= 1 and \
                           all(k in (self.pool_echo, self.inproc_echo) for k in kids):
                                break
                        time.sleep(0.05)
                time.sleep(0.2)
                r = self.resources(pid)
                self.idle[label] = r
                self.event("idle %s: pid %d rss=%s kB fds=%s" % (label, pid, r and r[0], r and r[2]))

        # ---- the run ---------------------------------------------------------------

        def guarded(self, f, *args):
                try:
                        f(*args)
                except Exception as e:
                        self.problem("%s: %r" % (f.__name__, e))
                        raise

        def run(self):
                print("soak: %g s, seed %d, work directory %s" % (self.seconds, self.seed, self.dir), file=sys.stderr)
                self.start_supervisor()
                for name in ("spawn", "pool", "listen"):
                        p = subprocess.run([self.usd_load, "-s", os.path.join(self.run_dir, name + ".sock"),
                                            "-n", "0", "-w", "10"])
                        if p.returncode != 0:
                                raise SystemExit("soak: socket %s does not answer" % name)
                self.idle_sample("start")
                end = now() + self.seconds
                threads = [threading.Thread(target=self.guarded, args=(self.load_loop, n, end), name=n)
                           for n in ("spawn", "pool", "listen")]
                chaos = [threading.Thread(target=self.guarded, args=(f,), name=f.__name__)
                         for f in (self.kill_loop, self.chaos_loop, self.monitor_loop)]
                for t in threads + chaos:
                        t.start()
                for t in threads:
                        t.join()
                self.stop.set()
                for t in chaos:
                        t.join()
                self.event("load over")
                if self.extra:
                        self.extra = False
                        self.reload("remove-extra (end)")
                self.idle_sample("end")
                self.finish()

        def finish(self):
                os.kill(self.sup.pid, signal.SIGTERM)
                try:
                        self.sup.wait(60)
                except subprocess.TimeoutExpired:
                        self.problem("the daemon did not stop within 60 s of SIGTERM")
                        self.sup.kill()
                        self.sup.wait()
                self.event("supervisor exited with %d" % self.sup.returncode)

        def cleanup(self):
                if self.sup and self.sup.poll() is None:
                        self.sup.terminate()
                        try:
                                self.sup.wait(30)
                        except subprocess.TimeoutExpired:
                                self.sup.kill()
                                self.sup.wait()

        # ---- the report ---------------------------------------------------------------

        def daemon_log(self):
                with open(self.log_file, errors="replace") as f:
                        return f.read().splitlines()

        def report(self):
                st = self.sup_state()
                log = self.daemon_log()
                requeued = sum(int(m.group(1)) for l in log
                               for m in [re.search(r"(\d+) connections it had not taken go to another", l)] if m)
                crashes = int(st.get("crashes", 0))
                if crashes:
                        self.problem("daemon crashes or bad exits: %s" % st.get("exits"))
                for l in log:
                        # kill -9 is ours, SIGTERM to the listener worker the daemon's: any
                        # other worker exit is not
                        if re.search(r"unixsockd\[\d+\]: (err|crit|alert|emerg):", l) or \
                           re.search(r"exited with status [1-9]", l) or \
                           "UNEXPECTED" in l or "NOT STORED" in l or "no READY" in l:
                                self.problem("log: " + l)

                kills = self.kills
                excuse = sum(k["in_service"] for k in kills)
                queued = sum(k["queued"] or 0 for k in kills)
                given_up = sum(k["queued"] or 0 for k in kills if k["chan_closed"])

                table = []
                total = dict(attempted=0, served=0, refused=0, in_service=0, lost=0)
                dispatch = dict(spawn="spawn", pool="pool", listen="listener", extra="spawn")
                for name, c in self.rows.items():
                        attempted = sum(v for k, v in c.items() if k not in ("ok", "skipped")) + c["ok"]
                        refused = sum(c[k] for k in REFUSED_KEYS)
                        failed_in = attempted - c["ok"] - refused
                        excused = dict(pool=excuse, listen=sum(self.listener_terms)).get(name, 0)
                        in_service = min(c["err_short"] + c["err_reset"], excused)
                        if name != "extra" and attempted == 0:
                                self.problem("no connection was attempted on %s" % name)
                        row = dict(attempted=attempted, served=c["ok"], refused=refused,
                                   in_service=in_service, lost=failed_in - in_service)
                        for k in total:
                                total[k] += row[k]
                        table.append((name, dispatch[name], row, self.max_ms[name]))

                w = "%-7s %-9s %10s %10s %8s %6s %22s %8s"
                print()
                print(w % ("socket", "dispatch", "attempted", "served", "refused", "lost",
                           "lost-in-svc(killed)", "max-ms"))
                for name, disp, r, mx in table:
                        print(w % (name, disp, r["attempted"], r["served"], r["refused"], r["lost"],
                                   r["in_service"], "%.0f" % mx))
                print(w % ("total", "", total["attempted"], total["served"], total["refused"], total["lost"],
                           total["in_service"], ""))
                print()
                print("kills:    %d pool workers (SIGKILL); at the kill %d connections in service, "
                      "%d queued on channels (%d of them on a channel the daemon had already closed); "
                      "daemon log: %d requeued" % (len(kills), excuse, queued, given_up, requeued))
                print("listener: %d SIGTERMs from the daemon to inproc-echo, holding %d connections then" %
                      (len(self.listener_terms), sum(self.listener_terms)))
                print("reloads:  %d   restarts: %d (stop+start %s s)   daemon crashes/bad exits: %d" %
                      (self.reloads, len(self.restarts),
                       "%.2f-%.2f" % (min(self.restarts), max(self.restarts)) if self.restarts else "-",
                       crashes))
                hwm = max((s[3] for s in self.samples), default=0)
                fds = [s[4] for s in self.samples]
                incarnations = len(st.get("exits", "").split())
                print("daemon:   peak RSS %.1f MiB (VmHWM, %d incarnations), CPU %.2f s (user+sys, all "
                      "incarnations), fds under load %s-%s, idle fds/RSS start %s end %s" %
                      (hwm / 1024, incarnations, int(st.get("cpu_ms", 0)) / 1000,
                       min(fds, default="?"), max(fds, default="?"),
                       self.fmt_idle("start"), self.fmt_idle("end")))
                s, e = self.idle.get("start"), self.idle.get("end")
                if s and e and e[2] != s[2]:
                        self.problem("idle fd count changed: %d at the start, %d at the end" % (s[2], e[2]))
                for n in self.notes:
                        print("note:     " + n)
                for p in self.problems:
                        print("PROBLEM:  " + p)
                print("seed %d; logs in %s" % (self.seed, self.dir))
                bad = total["lost"] > 0 or total["refused"] > 0 or self.problems
                if bad:
                        self.explain_failures()
                return 1 if bad else 0

        def fmt_idle(self, label):
                r = self.idle.get(label)
                return "%d/%.1fMiB" % (r[2], r[0] / 1024) if r else "?"

        def explain_failures(self):
                """Each round that had failures, with the events in its window."""
                print("\nrounds with failures (and what happened meanwhile):")
                for name, t0, t1, size, c in self.rounds:
                        bad = {k: v for k, v in c.items() if v and k not in ("ok", "skipped")}
                        if not bad:
                                continue
                        print("  %.1f-%.1f %s size %d: %s" % (t0, t1, name, size,
                                                             " ".join("%s=%d" % kv for kv in bad.items())))
                        for t, text in self.events:
                                if t0 <= t <= t1 and not text.startswith("round "):
                                        print("      %.3f %s" % (t, text))


def main():
        if len(sys.argv) != 2:
                raise SystemExit("usage: soak.py BUILDDIR (run tests/soak/soak.sh)")
        s = Soak(sys.argv[1])
        code = 2
        try:
                s.run()
                code = s.report()
        finally:
                s.cleanup()
                s.events_file.close()
        if code == 0 and not os.environ.get("SOAK_KEEP"):
                shutil.rmtree(s.dir, ignore_errors=True)
        sys.exit(code)


if __name__ == "__main__":
        main()
