/* libunixsock's pool channel: frame encoding and the worker's side. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "unixsock.h"

TestSuite(worker, .timeout = 30);

static ssize_t encode(const struct us_frame *f, unsigned char *buf)
{
        return us_frame_encode(f, buf, US_FRAME_MAX);
}

Test(worker, conn_frame_round_trips_with_its_fixed_layout)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 0x0102030405060708ULL,
                              .peer = { 1234, 1000, 100 } }, g;
        unsigned char buf[US_FRAME_MAX];
        uint16_t v16;
        uint32_t v32;

        strcpy(f.socket, "echo");
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE + 4);
        memcpy(&v16, buf, 2);
        cr_assert_eq(v16, US_PROTO_VERSION);
        memcpy(&v16, buf + 2, 2);
        cr_assert_eq(v16, US_FRAME_CONN);
        memcpy(&v32, buf + 4, 4);
        cr_assert_eq(v32, US_FRAME_HEADER_SIZE + 4);
        memcpy(&v32, buf + 20, 4);
        cr_assert_eq(v32, 1000);
        cr_assert(memcmp(buf + 32, "echo", 4) == 0);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE + 4, &g), 0);
        cr_assert_eq(g.type, US_FRAME_CONN);
        cr_assert_eq(g.id, f.id);
        cr_assert_eq(g.peer.pid, 1234);
        cr_assert_eq(g.peer.uid, 1000);
        cr_assert_eq(g.peer.gid, 100);
        cr_assert_str_eq(g.socket, "echo");
}

Test(worker, ack_and_done_are_header_only)
{
        struct us_frame f = { .type = US_FRAME_ACK, .id = 9 }, g;
        unsigned char buf[US_FRAME_MAX];

        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE, &g), 0);
        cr_assert_eq(g.type, US_FRAME_ACK);
        cr_assert_str_eq(g.socket, "");
        f.type = US_FRAME_DONE;
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE);
}

Test(worker, encode_refuses_what_cannot_be_sent)
{
        struct us_frame f = { .type = US_FRAME_CONN };
        unsigned char buf[US_FRAME_MAX];

        cr_assert_eq(encode(&f, buf), -1, "CONN without a socket name");
        cr_assert_eq(errno, EINVAL);
        memset(f.socket, 'n', US_FRAME_NAME_MAX);
        cr_assert_eq(encode(&f, buf), US_FRAME_MAX);
        cr_assert_eq(us_frame_encode(&f, buf, US_FRAME_MAX - 1), -1);
        cr_assert_eq(errno, ENOBUFS);
        f.type = 7;
        cr_assert_eq(encode(&f, buf), -1);
        cr_assert_eq(errno, EINVAL);
}

Test(worker, decode_refuses_malformed_messages)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 1 }, g;
        unsigned char buf[US_FRAME_MAX], bad[US_FRAME_MAX];
        uint16_t v16;
        uint32_t v32;

        strcpy(f.socket, "s");
        ssize_t n = encode(&f, buf);
        cr_assert_eq(us_frame_decode(buf, 10, &g), -1, "too short");
        cr_assert_eq(errno, EBADMSG);
        cr_assert_eq(us_frame_decode(buf, (size_t)n - 1, &g), -1, "length field disagrees");
        cr_assert_eq(errno, EBADMSG);
        memcpy(bad, buf, (size_t)n);
        v16 = 2;
        memcpy(bad, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1);
        cr_assert_eq(errno, EPROTONOSUPPORT);
        memcpy(bad, buf, (size_t)n);
        v16 = 9;
        memcpy(bad + 2, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "unknown type");
        memcpy(bad, buf, (size_t)n);
        v32 = 1;
        memcpy(bad + 28, &v32, 4);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "reserved not 0");
        memcpy(bad, buf, (size_t)n);
        bad[32] = '\0';
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "NUL in the name");
        memcpy(bad, buf, (size_t)n);
        v16 = US_FRAME_ACK;
        memcpy(bad + 2, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "ACK with a name");
        cr_assert_eq(errno, EBADMSG);
}

Test(worker, open_checks_the_channel)
{
        int sv[2];

        unsetenv("UNIXSOCKD_CHANNEL");
        cr_assert_null(us_worker_open());
        cr_assert_eq(errno, ENOENT);
        setenv("UNIXSOCKD_CHANNEL", "x", 1);
        cr_assert_null(us_worker_open());
        cr_assert_eq(errno, EBADF);
        cr_assert(us_pair(sv) == 0);
        cr_assert_null(us_worker_open_fd(sv[0]), "a stream socket is not a channel");
        cr_assert_eq(errno, ENOTSOCK);
        close(sv[0]);
        close(sv[1]);
        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        char num[16];
        snprintf(num, sizeof(num), "%d", sv[1]);
        setenv("UNIXSOCKD_CHANNEL", num, 1);
        struct us_worker *w = us_worker_open();
        cr_assert_not_null(w);
        cr_assert_eq(us_worker_fd(w), sv[1]);
        us_worker_close(w);
        close(sv[0]);
}

/* The daemon's side, played by the test: send CONN with a connection's fd. */
static void send_conn(int chan, uint64_t id, int fd)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = id, .peer = { 42, 7, 8 } };
        unsigned char buf[US_FRAME_MAX];

        strcpy(f.socket, "sock");
        ssize_t n = encode(&f, buf);
        cr_assert_eq(us_send_fd(chan, buf, (size_t)n, fd), n);
}

static struct us_frame recv_reply(int chan)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f;
        int fd = -1;
        ssize_t n = us_recv_fd(chan, buf, sizeof(buf), &fd);

        cr_assert_gt(n, 0);
        cr_assert_eq(fd, -1);
        cr_assert_eq(us_frame_decode(buf, (size_t)n, &f), 0);
        return f;
}

Test(worker, accept_acks_and_done_closes_and_answers)
{
        int chan[2], conn[2];
        struct us_conn c;
        char b[8];

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        cr_assert(us_pair(conn) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        send_conn(chan[0], 77, conn[1]);
        close(conn[1]);
        cr_assert_eq(us_worker_accept(w, &c), 1);
        cr_assert_eq(c.id, 77);
        cr_assert_eq(c.peer.pid, 42);
        cr_assert_eq(c.peer.uid, 7);
        cr_assert_str_eq(c.socket, "sock");
        cr_assert(fd_is_cloexec(c.fd));
        struct us_frame r = recv_reply(chan[0]);
        cr_assert_eq(r.type, US_FRAME_ACK);
        cr_assert_eq(r.id, 77);
        cr_assert_eq(us_send(c.fd, "hi", 2), 2);
        cr_assert_eq(read_full(conn[0], b, 2), 2);
        cr_assert_eq(us_worker_done(w, &c), 0);
        r = recv_reply(chan[0]);
        cr_assert_eq(r.type, US_FRAME_DONE);
        cr_assert_eq(r.id, 77);
        cr_assert_eq(read(conn[0], b, 1), 0, "done closed the connection");
        close(chan[0]);
        cr_assert_eq(us_worker_accept(w, &c), 0, "EOF: the daemon closed the channel");
        us_worker_close(w);
}

Test(worker, nonblocking_accept_says_eagain)
{
        int chan[2];
        struct us_conn c;

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        cr_assert_eq(us_worker_set_nonblock(w, true), 0);
        cr_assert_eq(us_worker_accept(w, &c), -1);
        cr_assert_eq(errno, EAGAIN);
        us_worker_close(w);
        close(chan[0]);
}

Test(worker, conn_without_fd_is_ebadmsg)
{
        int chan[2];
        struct us_conn c;

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        send_conn(chan[0], 1, -1);
        cr_assert_eq(us_worker_accept(w, &c), -1);
        cr_assert_eq(errno, EBADMSG);
        us_worker_close(w);
        close(chan[0]);
}

Test(worker, accept_still_hands_over_when_the_daemon_is_gone)
{
        int chan[2], conn[2];
        struct us_conn c;

        signal(SIGPIPE, SIG_DFL);
        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        cr_assert(us_pair(conn) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        send_conn(chan[0], 5, conn[1]);
        close(chan[0]); /* stopping: the message was sent before the close */
        cr_assert_eq(us_worker_accept(w, &c), 1, "the connection is still ours to serve");
        cr_assert_eq(us_worker_done(w, &c), -1);
        cr_assert_eq(errno, EPIPE);
        cr_assert_eq(us_worker_accept(w, &c), 0);
        us_worker_close(w);
}
