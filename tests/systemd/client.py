#!/usr/bin/env python3
"""Clients for the systemd suite, run on the host against a socket inside the
container (through /proc/PID/root/...).

  client.py once PATH [MESSAGE]
      connect, send MESSAGE (if any), shut down writing, print what comes back
      until EOF; exit 1 on any error.
  client.py loop PATH DIR THREADS
      echo clients in THREADS threads, each connection checked for its own reply.
      Writes DIR/warm after 50 good connections, and once DIR/finish exists
      makes 200 more, then stops; never more than 2000 connections or 20 s.
      A connection counts in the phase it started in: "before" DIR/restarting
      exists, "restart" until DIR/finish exists, then "after". Prints one JSON
      line: {PHASE: {"total": N, "failed": N, "errors": {kind: N}}, ...}.
  client.py msgs TYPE PATH MESSAGE...
      a client of socket TYPE (stream, seqpacket, datagram): sends each
      MESSAGE as one write (one message, one datagram), then prints each
      recv() on a line of its own: until EOF after shutting down writing
      (stream, seqpacket), or one reply per datagram (datagram: autobound,
      so that it can be answered). An error prints "error ENAME" and exits 1.
      Runs in the container too (datagram replies are addressed in its
      network namespace): no module that python3-minimal lacks.
"""
import errno
import os
import socket
import sys
import threading
import time

TIMEOUT = 10.0  # a restart that drains workers takes well under this


def exchange(path, message):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        if message:
            s.sendall(message)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)


def once(path, message=None):
    try:
        sys.stdout.buffer.write(exchange(path, message.encode() + b"\n" if message else None))
    except OSError as e:
        print(f"client: {path}: {e}", file=sys.stderr)
        return 1
    return 0


def msgs(kind, path, messages):
    types = {"stream": socket.SOCK_STREAM, "seqpacket": socket.SOCK_SEQPACKET,
             "datagram": socket.SOCK_DGRAM}
    try:
        with socket.socket(socket.AF_UNIX, types[kind]) as s:
            s.settimeout(TIMEOUT)
            if kind == "datagram":
                s.bind("")  # autobind: an abstract address the server can answer
            s.connect(path)
            for m in messages:
                s.send(m.encode())
            if kind != "datagram":
                s.shutdown(socket.SHUT_WR)
            replies = 0
            while kind != "datagram" or replies < len(messages):
                b = s.recv(65536)
                if not b and kind != "datagram":
                    break
                replies += 1
                sys.stdout.buffer.write(b + b"\n")
    except OSError as e:
        name = "ETIMEDOUT" if isinstance(e, socket.timeout) else errno.errorcode.get(e.errno, str(e))
        print(f"error {name}")
        return 1
    return 0


def loop(path, state_dir, nthreads):
    import json  # not in the container's python3-minimal, which runs msgs only
    lock = threading.Lock()
    counts = {"total": 0, "good": 0, "after_finish": 0}
    phases = {p: {"total": 0, "failed": 0, "errors": {}} for p in ("before", "restart", "after")}
    deadline = time.monotonic() + 20
    restarting = os.path.join(state_dir, "restarting")
    finish = os.path.join(state_dir, "finish")

    def worker(tid):
        i = 0
        while True:
            with lock:
                if (counts["total"] >= 2000 or time.monotonic() > deadline
                        or counts["after_finish"] >= 200):
                    return
                counts["total"] += 1
                if os.path.exists(finish):
                    counts["after_finish"] += 1
                    phase = phases["after"]
                elif os.path.exists(restarting):
                    phase = phases["restart"]
                else:
                    phase = phases["before"]
                phase["total"] += 1
            i += 1
            msg = f"ping {tid} {i}\n".encode()
            try:
                reply = exchange(path, msg)
                kind = None if reply == msg else ("empty reply" if not reply else "wrong reply")
            except socket.timeout:
                kind = "timeout"
            except OSError as e:
                kind = errno.errorcode.get(e.errno, str(e))
            with lock:
                if kind:
                    phase["failed"] += 1
                    phase["errors"][kind] = phase["errors"].get(kind, 0) + 1
                else:
                    counts["good"] += 1
                    if counts["good"] == 50:
                        open(os.path.join(state_dir, "warm"), "w").close()
            if kind:
                time.sleep(0.01)  # do not spin on a missing socket

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(phases))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "once":
        return once(argv[1], argv[2] if len(argv) > 2 else None)
    if len(argv) >= 3 and argv[0] == "msgs" and argv[1] in ("stream", "seqpacket", "datagram"):
        return msgs(argv[1], argv[2], argv[3:])
    if len(argv) == 4 and argv[0] == "loop":
        return loop(argv[1], argv[2], int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
