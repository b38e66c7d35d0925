#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-frame (tests/fuzz/corpus/frame/) from the
layout in lib/unixsock.h, independently of us_frame_encode(): valid CONN, ACK
and DONE messages, and malformed ones next to each rule of the decoder.
    tests/fuzz/gen-frame-corpus.py [DIR]"""
import os
import struct
import sys

HDR = struct.Struct("=HHIQiIII")        # host byte order, no padding: 32 bytes
CONN, ACK, DONE = 1, 2, 3


def frame(ftype, conn_id=1, pid=1234, uid=1000, gid=1000, name=b"", version=1,
          length=None, reserved=0):
    if length is None:
        length = HDR.size + len(name)
    return HDR.pack(version, ftype, length, conn_id, pid, uid, gid, reserved) + name


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
    "bad-version-2": frame(CONN, version=2, name=b"echo"),
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
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "frame")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
