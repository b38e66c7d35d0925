#!/usr/bin/env python3
"""An example pool worker (unixsockd dispatch = pool) in Python 3 with nothing
but the standard library: takes connections from the channel on fd
$UNIXSOCKD_CHANNEL one at a time, echoes each until EOF. Exits when unixsockd
closes the channel. The protocol is in unixsock(3)."""
import os
import socket
import struct
import sys

VERSION, CONN, ACK, DONE = 1, 1, 2, 3
HEADER = struct.Struct("=HHIQiIII")  # version type length id pid uid gid reserved: 32 bytes


def reply(chan, kind, conn_id):
    try:
        chan.send(HEADER.pack(VERSION, kind, HEADER.size, conn_id, 0, 0, 0, 0))
    except BrokenPipeError:
        pass  # unixsockd is stopping; it needs no answer any more


def main():
    chan = socket.socket(fileno=int(os.environ["UNIXSOCKD_CHANNEL"]))
    if chan.type != socket.SOCK_SEQPACKET:
        sys.exit("pool-echo.py: the channel is not a SOCK_SEQPACKET socket")
    while True:
        msg, fds, _flags, _addr = socket.recv_fds(chan, HEADER.size + 255, 1)
        if not msg:
            return 0  # the daemon closed the channel: we are done
        version, kind, length, conn_id, pid, uid, gid, _ = HEADER.unpack_from(msg)
        if version != VERSION or kind != CONN or length != len(msg) or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            sys.exit(f"pool-echo.py: unexpected message version={version} type={kind}")
        reply(chan, ACK, conn_id)
        with socket.socket(fileno=fds[0]) as conn:
            while data := conn.recv(65536):
                conn.sendall(data)
        reply(chan, DONE, conn_id)


if __name__ == "__main__":
    sys.exit(main())
