/* libunixsock's pool channel, the worker's side (the frames: test-lib-frame.c). */
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
