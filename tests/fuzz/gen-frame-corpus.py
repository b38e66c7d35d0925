#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-frame (tests/fuzz/corpus/frame/) from the
layout in lib/unixsock.h, independently of us_frame_encode(): valid CONN, ACK
and DONE messages of version 1, batches, id lists, HELLO and CREDIT of
version 2, and malformed ones next to each rule of the decoder.
    tests/fuzz/gen-frame-corpus.py [DIR]"""
import os
import struct
import sys

HDR = struct.Struct("=HHIQiIII")        # host byte order, no padding: 32 bytes
CONN, ACK, DONE, HELLO, CREDIT = 1, 2, 3, 4, 5
SOCK_STREAM, SOCK_SEQPACKET = 1, 5


def frame(ftype, conn_id=1, pid=1234, uid=1000, gid=1000, name=b"", version=1,
          length=None, reserved=0):
    if length is None:
        length = HDR.size + len(name)
    return HDR.pack(version, ftype, length, conn_id, pid, uid, gid, reserved) + name


def ids(ftype, first, *more):
    """A version 2 ACK or DONE listing first and more."""
    body = b"".join(struct.pack("=Q", i) for i in more)
    return frame(ftype, conn_id=first, pid=0, uid=0, gid=0, version=2, length=HDR.size + len(body)) + body


def conn2(conn_id, name=b"echo", socktype=SOCK_STREAM):
    return frame(CONN, conn_id=conn_id, name=name, version=2, reserved=socktype)


SEEDS = {
    # valid
    "conn-echo": frame(CONN, name=b"echo"),
    "conn-name-1": frame(CONN, conn_id=0, pid=0, uid=0, gid=0, name=b"a"),
    "conn-name-255": frame(CONN, conn_id=2**64 - 1, name=b"n" * 255),
    "conn-name-bytes": frame(CONN, pid=-1, uid=2**32 - 1, gid=2**32 - 2, name=b"s.k_t-1\xff\x01"),
    "ack": frame(ACK, conn_id=42),
    "done": frame(DONE, conn_id=42),
    "ack-max-fields": frame(ACK, conn_id=2**64 - 1, pid=-(2**31), uid=2**32 - 1, gid=2**32 - 1),
    # malformed
    "bad-empty": b"",
    "bad-short": frame(ACK)[:31],
    "bad-version-0": frame(ACK, version=0),
    "bad-type-0": frame(0),
    "bad-type-4": frame(4),
    "bad-type-ffff": frame(0xFFFF),
    "bad-length-short": frame(CONN, name=b"echo", length=33),
    "bad-length-long": frame(ACK, length=33),
    "bad-length-huge": frame(ACK, length=2**32 - 1),
    "bad-reserved": frame(DONE, reserved=1),
    "bad-conn-no-name": frame(CONN),
    "bad-ack-with-name": frame(ACK, name=b"echo"),
    "bad-done-with-name": frame(DONE, name=b"x"),
    "bad-conn-name-256": frame(CONN, name=b"n" * 256),
    "bad-conn-name-nul": frame(CONN, name=b"ec\0ho"),
    "bad-conn-trailing-nul": frame(CONN, name=b"echo\0"),
    "bad-two-messages": frame(ACK) + frame(DONE),
    # version 2
    "v2-conn": conn2(7),
    "v2-conn-seqpacket": conn2(8, name=b"s", socktype=SOCK_SEQPACKET),
    "v2-batch": conn2(1) + conn2(2, name=b"b") + conn2(3, name=b"n" * 255),
    "v2-ack-list": ids(ACK, 1, 2, 3, 4),
    "v2-done-one": ids(DONE, 9),
    "v2-ack-done": ids(ACK, 5, 6) + ids(DONE, 5),
    "v2-hello": frame(HELLO, conn_id=1, pid=0, uid=0, gid=0, version=2),
    "v2-credit-max": frame(CREDIT, conn_id=65535, pid=0, uid=0, gid=0, version=2),
    "v2-hello-ack": frame(HELLO, conn_id=4, pid=0, uid=0, gid=0, version=2) + ids(ACK, 1),
    "bad-v2-conn-no-type": frame(CONN, version=2, name=b"echo"),
    "bad-v2-conn-type-3": conn2(1, socktype=3),
    "bad-v2-credit-big": frame(CREDIT, conn_id=65536, pid=0, uid=0, gid=0, version=2),
    "bad-v2-ack-peer": frame(ACK, version=2),
    "bad-v2-ids-partial": ids(ACK, 1, 2)[:-4],
    "bad-v2-list-4-bytes": frame(DONE, pid=0, uid=0, gid=0, version=2, length=36) + b"\0" * 4,
    "bad-v1-in-batch": conn2(1) + frame(ACK),
    "bad-v1-hello": frame(HELLO, pid=0, uid=0, gid=0),
    "bad-version-3": frame(ACK, version=3),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "frame")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
