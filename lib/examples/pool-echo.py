#!/usr/bin/env python3
"""An example pool worker (unixsockd dispatch = pool) in Python 3 with nothing
but the standard library: speaks protocol 2 on the channel on fd
$UNIXSOCKD_CHANNEL, takes connections one at a time (credit 1: the daemon sends
it one only when it is free), echoes each until EOF. Exits when unixsockd
closes the channel. The protocol is in unixsock(3)."""
import os
import socket
import struct
import sys

CONN, ACK, DONE, HELLO = 1, 2, 3, 4
HEADER = struct.Struct("=HHIQiIII")  # version type length id pid uid gid socktype: 32 bytes
BATCH_MAX, MSG_MAX = 32, 16384
CREDIT = 1  # a serial worker


def send(chan, version, kind, first_id, more_ids=()):
    body = b"".join(struct.pack("=Q", i) for i in more_ids)
    try:
        chan.send(HEADER.pack(version, kind, HEADER.size + len(body), first_id, 0, 0, 0, 0) + body)
    except BrokenPipeError:
        pass  # unixsockd is stopping; it needs no answer any more


def frames(msg):
    """The CONN frames of one message: (version, id, socket name), in order."""
    off, out = 0, []
    while off < len(msg):
        version, kind, length, conn_id, _pid, _uid, _gid, _socktype = HEADER.unpack_from(msg, off)
        if kind != CONN or length <= HEADER.size or off + length > len(msg) or version not in (1, 2):
            raise ValueError(f"unexpected frame version={version} type={kind} length={length}")
        if version == 1 and length != len(msg):
            raise ValueError("a version 1 frame is a whole message")
        out.append((version, conn_id, msg[off + HEADER.size:off + length].decode()))
        off += length
    return out


def main():
    chan = socket.socket(fileno=int(os.environ["UNIXSOCKD_CHANNEL"]))
    if chan.type != socket.SOCK_SEQPACKET:
        sys.exit("pool-echo.py: the channel is not a SOCK_SEQPACKET socket")
    send(chan, 2, HELLO, CREDIT)
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(chan, MSG_MAX, BATCH_MAX)
        except ConnectionResetError:
            continue  # said once when unixsockd closed with our answers unread
        if not msg:
            return 0  # the daemon closed the channel: we are done
        try:
            conns = frames(msg)
            if len(conns) != len(fds):
                raise ValueError(f"{len(conns)} connections and {len(fds)} fds")
        except (ValueError, struct.error) as e:
            for fd in fds:
                os.close(fd)
            sys.exit(f"pool-echo.py: {e}")
        ids = [conn_id for _v, conn_id, _name in conns]
        send(chan, conns[0][0], ACK, ids[0], ids[1:])  # one ACK for the batch
        for fd, conn_id in zip(fds, ids):
            with socket.socket(fileno=fd) as conn:
                while data := conn.recv(65536):
                    conn.sendall(data)
            send(chan, 2, DONE, conn_id)


if __name__ == "__main__":
    sys.exit(main())
