#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-channel (tests/fuzz/corpus/channel/): worker
conversations in the operation language of tests/fuzz/fuzz-channel.c. When an
input starts in the default configuration (a pool of 2), id 1 is in flight to
member 0 and 2 to member 1 (a member that has not spoken yet is sent one), 3
and 4 are queued. An input whose first byte is config(...) runs in another
configuration (see CONFIGS).
    tests/fuzz/gen-channel-corpus.py [DIR]"""
import os
import struct
import sys

HDR = struct.Struct("=HHIQiIII")        # lib/unixsock.h, host byte order: 32 bytes
CONN, ACK, DONE = 1, 2, 3

# operation kinds (b & 7); the argument is b >> 3
K_FRAME, K_RAW, K_EVENT, K_DISPATCH, K_READ, K_CLOSE, K_EXIT, K_STOP = range(8)
IN, OUT, HUP, ERR = 2, 4, 8, 16        # EVENT argument bits (bit 0: member)


def op(kind, arg=0):
    assert 0 <= arg < 32
    return bytes([kind | arg << 3])


def frame(m, ftype, conn_id, fd=False, batch=False):
    """A well-formed ACK, DONE, CONN, or ("ACK+DONE") both, then the event."""
    t = {ACK: 0, DONE: 1, CONN: 2, "ACK+DONE": 3}[ftype]
    tail = bytes([0]) if t == 3 else b""
    return op(K_FRAME, m | fd << 1 | t << 2 | batch << 4) + bytes([conn_id]) + tail


V2 = {"HELLO": 1, "CREDIT": 2, "ACK": 3, "DONE": 4, "ACK+DONE": 5, "HELLO+ACK": 6, "ACK1": 7}


def v2(m, what, conn_id=0, n=1, credit=None, batch=False):
    """Version 2 frames: HELLO or CREDIT with credit, or an ACK, DONE or both
    listing n ids from conn_id on, or HELLO and an ACK of conn_id at once."""
    x = V2[what] | (n - 1) << 3
    tail = bytes([credit]) if what in ("HELLO", "CREDIT", "HELLO+ACK") else b""
    return op(K_FRAME, m | 3 << 2 | batch << 4) + bytes([conn_id, x]) + tail


def raw(m, data, nfds=0, batch=False):
    n = len(data)
    head = bytes([n]) if n < 255 else bytes([255, n & 0xff, n >> 8])
    return op(K_RAW, m | nfds << 1 | batch << 3) + head + data


def header(ftype, conn_id, version=1, length=None, reserved=0, name=b""):
    if length is None:
        length = HDR.size + len(name)
    return HDR.pack(version, ftype, length, conn_id, 0, 0, 0, reserved) + name


def event(m, bits):
    return op(K_EVENT, m | bits)


def dispatch(n=1, uid=0):
    out = b""
    while n > 0:
        k = min(n, 8)
        out += op(K_DISPATCH, uid | (k - 1) << 2)
        n -= k
    return out


def read(m, n=16):
    return op(K_READ, m | (n - 1) << 1)


def close(m, how=0, ev=True):
    return op(K_CLOSE, m | how << 1 | ev << 3)


def exit_(m, status=0, killed=False):
    return op(K_EXIT, m | killed << 2 | status << 3)


def restart(m, fail=False):
    """Its restart is due: started again (fail: the start fails)."""
    return op(K_EXIT, m | 1 << 1 | (7 << 2 if fail else 0))


def timer(m, lost=False):
    """The process runs and time passes: its ACK timeout (or lost timer) fires."""
    return op(K_EXIT, m | 1 << 1 | lost << 2)


STOP = op(K_STOP)

# The configurations a first byte chooses (fuzz-channel.c's configs[]; the
# default, a pool of 2, needs none). In each, when the input starts:
CONFIGS = {
    # nothing runs: id 1's dispatch starts slot 0 and sends it 1; 2, 3, 4 wait
    # (slot 0 has not spoken: slot 1 starts only after the grow timer)
    "elastic-0-2": 1,
    # slot 0 runs and is sent 1; 2, 3, 4 wait (the same)
    "elastic-1-2": 2,
    # max-connections = 2, slots 0 and 1 (their twins 2 and 3 are the
    # successors): as the default
    "recycle": 3,
    # runtime-max = 2s: as the default
    "runtime": 4,
    # instances = 1-2, max-connections = 3, runtime-max = 2s: as elastic-1-2
    "all": 5,
}


def config(name):
    return op(K_STOP, CONFIGS[name])


def focus(m, twin, fail=False):
    """(not the default configuration) member operand m names slot m + 2 * twin
    from now on (with 4 slots); fail: the next start fails."""
    return op(K_STOP, m | twin << 1 | 1 << 2 | fail << 3)


def fail_next_start():
    return op(K_STOP, 1 << 3 | 1 << 2)


def runtime_timer(m):
    """Its runtime timer fires (the configuration has runtime-max)."""
    return op(K_EXIT, m | 1 << 1 | 1 << 3)


def grow_timer(m=0):
    """The pool's grow timer fires (m: any running process's member)."""
    return op(K_EXIT, m | 1 << 1 | 2 << 3)


def idle_timer(m=0):
    """The pool's idle timer fires (m: any running process's member)."""
    return op(K_EXIT, m | 1 << 1 | 3 << 3)

SEEDS = {
    # well-behaved workers
    "ack": frame(0, ACK, 1),
    "ack-done": frame(0, ACK, 1) + frame(0, DONE, 1),
    "done-implies-ack": frame(1, DONE, 2),
    "ack-done-all": frame(0, "ACK+DONE", 1) + frame(1, "ACK+DONE", 2) +
                    frame(0, "ACK+DONE", 3) + frame(1, "ACK+DONE", 4),
    "read-then-answer": read(0) + frame(0, ACK, 1) + frame(0, ACK, 3) + frame(0, DONE, 3) +
                        frame(0, DONE, 1),
    "batch": frame(0, ACK, 1, batch=True) + frame(0, ACK, 3, batch=True) +
             frame(0, DONE, 1, batch=True) + event(0, IN),
    "more-conns": dispatch(6, uid=1) + read(0) + read(1) + frame(0, "ACK+DONE", 5) +
                  frame(1, "ACK+DONE", 6),
    # protocol version 2
    "v2-hello-ack-done": v2(0, "HELLO", credit=4) + v2(0, "ACK", 1) + read(0) + v2(0, "ACK", 3, n=2) +
                         v2(0, "DONE", 1) + v2(0, "DONE", 3, n=2),
    "v2-both-credit-1": v2(0, "HELLO", credit=1) + v2(1, "HELLO", credit=1) + v2(0, "ACK+DONE", 1) +
                        v2(1, "ACK+DONE", 2) + read(0) + read(1) + dispatch(8) + read(0),
    "v2-batch": v2(1, "HELLO+ACK", 2, credit=16) + dispatch(12) + read(1) + v2(1, "ACK", 4, n=8) +
                v2(1, "ACK+DONE", 5, n=4),
    "v2-credit-0": v2(0, "HELLO", credit=8) + v2(0, "CREDIT", credit=0) + dispatch(4) + read(0),
    "v2-credit-up": v2(0, "HELLO", credit=1) + dispatch(6) + v2(0, "CREDIT", credit=40) + read(0),
    "v2-hello-twice": v2(0, "HELLO", credit=2) + v2(0, "HELLO", credit=2),
    "v2-credit-without-hello": v2(1, "CREDIT", credit=3),
    "v2-ack-after-v1": frame(0, ACK, 1) + v2(0, "HELLO", credit=2),
    "v2-list-unknown-id": v2(0, "HELLO", credit=2) + v2(0, "ACK", 1, n=3),
    "v2-exit-restart-v1": v2(0, "HELLO", credit=3) + exit_(0, 1) + restart(0) + dispatch(3) + read(0) +
                          frame(0, "ACK+DONE", 5),
    # protocol errors
    "ack-twice": frame(0, ACK, 1) + frame(0, ACK, 1),
    "ack-other-member": frame(1, ACK, 1),
    "ack-unknown-id": frame(0, ACK, 9),
    "done-twice": frame(0, DONE, 1) + frame(0, DONE, 1),
    "conn-from-worker": frame(0, CONN, 1),
    "fd-sent-back": frame(0, ACK, 1, fd=True),
    "two-fds": raw(0, header(ACK, 1), nfds=2),
    "garbage": raw(0, b"\x01\x02\x03"),
    "empty-message": raw(1, b""),
    "too-long": raw(0, header(ACK, 1) + b"x" * 300),
    "version-2-no-hello": raw(0, header(ACK, 1, version=2)),
    "version-0": raw(1, header(DONE, 2, version=0)),
    "reserved": raw(0, header(DONE, 3, reserved=1)),
    "length-wrong": raw(0, header(ACK, 1, length=33)),
    "ack-with-name": raw(0, header(ACK, 1, name=b"s")),
    "type-4": raw(1, header(4, 2)),
    "valid-raw-ack": raw(0, header(ACK, 3)),
    # channels that end
    "worker-closes": close(0),
    "worker-closes-after-ack": frame(0, ACK, 1) + close(0),
    "worker-shuts-write": frame(1, ACK, 2) + close(1, how=2),
    "worker-shuts-both": close(1, how=3),
    "hup-without-in": event(0, HUP),
    "err-event": event(1, ERR | IN),
    "epollout": event(0, OUT | IN),
    # processes that die and come back
    "exit-clean": frame(0, ACK, 1) + exit_(0, 0),
    "exit-failed-restart": frame(0, ACK, 1) + exit_(0, 1) + restart(0) + dispatch(2) + read(0),
    "killed-restart": exit_(1, killed=True) + restart(1) + frame(1, "ACK+DONE", 2),
    "protocol-error-then-exit": frame(0, ACK, 7) + exit_(0, 0, killed=True) + restart(0),
    "both-exit": exit_(0, 1) + exit_(1, 1) + dispatch(3) + restart(0) + restart(1),
    "restart-fails": exit_(0, 1) + restart(0, fail=True) + dispatch(2) + restart(0) + read(0),
    # time passes
    "ack-timeout": timer(0) + read(1) + frame(1, ACK, 1),
    "ack-timeout-busy": frame(0, ACK, 1) + timer(0) + frame(0, ACK, 3),
    "lost-grace-term-kill": close(1) + timer(1, lost=True) + timer(1, lost=True) + exit_(1) + restart(1),
    "lost-exits-in-grace": close(0) + timer(0, lost=True) + exit_(0, 0),
    # full channels, capacity
    "channel-full": dispatch(24) + event(0, OUT) + read(0) + read(1) + event(0, OUT | IN) +
                    event(1, OUT | IN),
    "capacity": dispatch(130, uid=2) + read(0) + read(1) + event(0, OUT) + event(1, OUT),
    # stopping
    "stop": STOP + frame(0, "ACK+DONE", 1) + read(0) + close(0),
    "stop-queued": dispatch(40) + STOP + read(0) + read(1) + frame(1, ACK, 2) + close(1) + exit_(1),
    # a pool that sizes itself: grows, one start at a time, shrinks when idle
    "elastic-grow": config("elastic-0-2") + read(0) + frame(0, ACK, 1) + read(1) + frame(1, ACK, 2) +
                    read(0) + read(1),
    "elastic-grow-timer": config("elastic-0-2") + grow_timer(0) + read(1) + frame(1, "ACK+DONE", 2),
    "elastic-idle": config("elastic-0-2") + frame(0, "ACK+DONE", 1) + read(0) + frame(0, "ACK+DONE", 3) +
                    read(0) + frame(0, "ACK+DONE", 4) + read(0) + frame(0, "ACK+DONE", 2) + idle_timer(0) +
                    timer(0, lost=True) + exit_(0, 0) + dispatch(2) + read(0),
    "elastic-shrink-to-min": config("elastic-1-2") + frame(0, ACK, 1) + read(1) + frame(1, ACK, 2) +
                             frame(0, DONE, 1) + frame(1, DONE, 2) + read(0) + read(1) + frame(0, "ACK+DONE", 3) +
                             frame(1, "ACK+DONE", 4) + frame(0, "ACK+DONE", 5) + idle_timer(0) + idle_timer(1) +
                             timer(1, lost=True) + timer(1, lost=True) + exit_(1, killed=True),
    "elastic-v2-hello": config("elastic-1-2") + v2(0, "HELLO", credit=8) + read(0) + v2(0, "ACK+DONE", 1, n=4) +
                        idle_timer(0) + dispatch(3) + read(0),
    "elastic-grow-fails": config("elastic-1-2") + fail_next_start() + frame(0, ACK, 1) + grow_timer(0) +
                          restart(1) + read(1),
    "elastic-exit-regrow": config("elastic-0-2") + exit_(0, 0) + dispatch(2) + read(0) + restart(0) + read(0),
    "elastic-stop": config("elastic-0-2") + frame(0, ACK, 1) + read(1) + STOP + read(0) + read(1),
    # max-connections = 2: a process sent 2 is replaced by its twin, then retired
    "recycle": config("recycle") + frame(0, ACK, 1) + read(0) + frame(0, ACK, 3) + frame(0, DONE, 1) +
               focus(0, 1) + read(0) + frame(0, ACK, 4) + focus(0, 0) + frame(0, DONE, 3) + timer(0, lost=True) +
               exit_(0, 0) + focus(0, 1) + frame(0, DONE, 4),
    "recycle-v2": config("recycle") + v2(1, "HELLO+ACK", 2, credit=8) + dispatch(6) + read(1) + focus(1, 1) +
                  read(1) + v2(1, "HELLO", credit=8) + focus(1, 0) + v2(1, "DONE", 2, n=4) + exit_(1, 0) +
                  focus(1, 1) + read(1),
    "recycle-successor-fails": config("recycle") + fail_next_start() + frame(0, ACK, 1) + read(0) +
                               frame(0, ACK, 3) + focus(0, 1) + restart(0) + read(0),
    "recycle-old-exits-first": config("recycle") + frame(1, "ACK+DONE", 2) + read(1) + frame(1, ACK, 3) +
                               exit_(1, 1) + focus(1, 1) + read(1) + restart(1) + read(1),
    # runtime-max = 2s: a connection not done in time makes its process hung
    "runtime-hung": config("runtime") + frame(0, ACK, 1) + runtime_timer(0) + timer(0, lost=True) +
                    exit_(0, 0, killed=True) + restart(0) + read(0),
    "runtime-hung-gets-none": config("runtime") + frame(0, ACK, 1) + read(0) + runtime_timer(0) + dispatch(2) +
                              read(0) + read(1) + frame(1, "ACK+DONE", 2),
    "runtime-done-in-time": config("runtime") + frame(1, ACK, 2) + frame(1, DONE, 2) + read(1) +
                            frame(1, ACK, 3) + runtime_timer(1) + read(1),
    "runtime-oldest": config("runtime") + v2(0, "HELLO+ACK", 1, credit=4) + dispatch(2) + read(0) +
                      v2(0, "ACK", 3, n=2) + v2(0, "DONE", 1) + runtime_timer(0) + timer(0) + runtime_timer(0),
    # daemon bugs these found (pool.c, 97b2bb9), kept as seeds:
    # a restart did not count as a start for growth: slot 0's restart, not
    # yet spoken, and at once slot 1 started as the pool grew
    "crash-grow-after-restart": config("elastic-0-2") + exit_(0, 0) + restart(0),
    # recycle() took the twin still running, itself retired (the process the
    # spent one had replaced), for its successor: both retired, and the
    # place never started again
    "crash-recycle-twin-retired": config("recycle") + v2(1, "HELLO+ACK", 2, credit=8) + focus(1, 1) +
                                  v2(1, "HELLO", credit=8) + dispatch(1),
    # everything at once
    "all-grow-recycle-hang": config("all") + frame(0, ACK, 1) + grow_timer(0) + read(1) + frame(1, ACK, 2) +
                             read(0) + frame(0, ACK, 3) + read(0) + frame(0, ACK, 4) + focus(0, 1) + read(0) +
                             runtime_timer(1) + idle_timer(0) + exit_(1, 1) + restart(1),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "channel")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
