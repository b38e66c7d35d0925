/* libunixsock's pool channel, the worker's side (the frames: test-lib-frame.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* One message from the worker, its frames read as us_frame_read() gives them. */
static size_t recv_frames(int chan, struct us_frame *out, size_t max)
{
        unsigned char buf[US_FRAME_MSG_MAX];
        struct us_frame_reader r;
        size_t k = 0;
        int fd = -1, got;
        ssize_t n = us_recv_fd(chan, buf, sizeof(buf), &fd);

        cr_assert_gt(n, 0);
        cr_assert_eq(fd, -1);
        us_frame_reader_init(&r, buf, (size_t)n);
        while (k < max && (got = us_frame_read(&r, &out[k])) > 0)
                k++;
        cr_assert_eq(us_frame_read(&r, &out[0]), 0, "the message holds no more than expected");
        return k;
}

static struct us_frame recv_reply(int chan)
{
        struct us_frame f;

        cr_assert_eq(recv_frames(chan, &f, 1), 1);
        return f;
}

/* A worker's first message is HELLO, in version 2, with its credit. */
static void expect_hello(int chan, uint64_t credit)
{
        struct us_frame f = recv_reply(chan);

        cr_assert_eq(f.version, 2);
        cr_assert_eq(f.type, US_FRAME_HELLO);
        cr_assert_eq(f.id, credit);
}

Test(worker, accept_acks_and_done_closes_and_answers)
{
        int chan[2], conn[2];
        struct us_conn c;
        char b[8];

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        cr_assert(us_pair(conn) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        expect_hello(chan[0], 1);
        send_conn(chan[0], 77, conn[1]);
        close(conn[1]);
        cr_assert_eq(us_worker_accept(w, &c), 1);
        cr_assert_eq(c.id, 77);
        cr_assert_eq(c.peer.pid, 42);
        cr_assert_eq(c.peer.uid, 7);
        cr_assert_str_eq(c.socket, "sock");
        cr_assert_eq(c.sock_type, SOCK_STREAM, "a version 1 CONN is a stream socket's");
        cr_assert(fd_is_cloexec(c.fd));
        struct us_frame r = recv_reply(chan[0]);
        cr_assert_eq(r.type, US_FRAME_ACK);
        cr_assert_eq(r.version, 1, "a version 1 CONN is answered in version 1");
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

/* A version 1 CONN has no type field: the daemon sends one before the
 * worker's HELLO has reached it. The connection's type is then its fd's. */
Test(worker, a_version_1_conn_tells_the_type_of_its_fd)
{
        int chan[2], conn[2];
        struct us_conn c;

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        cr_assert(us_pair_type(SOCK_SEQPACKET, conn) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        expect_hello(chan[0], 1);
        send_conn(chan[0], 78, conn[1]);
        close(conn[1]);
        cr_assert_eq(us_worker_accept(w, &c), 1);
        cr_assert_eq(c.sock_type, SOCK_SEQPACKET, "a seqpacket connection in a version 1 frame: %d", c.sock_type);
        cr_assert_eq(us_worker_done(w, &c), 0);
        close(conn[0]);
        close(chan[0]);
        us_worker_close(w);
}

/* The daemon in version 2: n CONN frames and their fds in one message. */
static void send_batch(int chan, const uint64_t *ids, const int *fds, size_t n)
{
        unsigned char buf[US_FRAME_MSG_MAX];
        size_t len = 0;

        for (size_t i = 0; i < n; i++) {
                struct us_frame f = { .version = 2, .type = US_FRAME_CONN, .id = ids[i],
                                      .peer = { 100 + (pid_t)i, 7, 8 }, .sock_type = SOCK_STREAM };
                snprintf(f.socket, sizeof(f.socket), "s%zu", i);
                ssize_t k = us_frame_encode(&f, buf + len, sizeof(buf) - len);
                cr_assert_gt(k, 0);
                len += (size_t)k;
        }
        cr_assert_eq(us_send_fds(chan, buf, len, fds, n), (ssize_t)len);
}

/* A worker on chan[1] that said HELLO and a credit of 3, and was sent the
 * server ends of 3 connections (conns[i][0] their clients) in one message. */
static struct us_worker *sent_three(int chan[2], int conns[3][2], const uint64_t ids[3])
{
        int fds[3];

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        expect_hello(chan[0], 1);
        cr_assert_eq(us_worker_set_credit(w, 3), 0);
        struct us_frame cr = recv_reply(chan[0]);
        cr_assert(cr.type == US_FRAME_CREDIT && cr.id == 3);
        for (int i = 0; i < 3; i++) {
                cr_assert(us_pair(conns[i]) == 0);
                fds[i] = conns[i][1];
        }
        send_batch(chan[0], ids, fds, 3);
        for (int i = 0; i < 3; i++)
                close(conns[i][1]);
        return w;
}

Test(worker, a_batch_is_acked_in_one_message_and_handed_out_in_order)
{
        int chan[2], conns[3][2];
        uint64_t ids[3] = { 10, 11, 12 };
        struct us_frame acks[4];
        struct us_conn c[3];
        struct us_worker *w = sent_three(chan, conns, ids);

        cr_assert_eq(us_worker_accept(w, &c[0]), 1);
        cr_assert_eq(recv_frames(chan[0], acks, 4), 3, "one ACK message for the whole batch");
        for (int i = 0; i < 3; i++) {
                cr_assert(acks[i].type == US_FRAME_ACK && acks[i].version == 2 && acks[i].id == ids[i]);
                if (i)
                        cr_assert_eq(us_worker_accept(w, &c[i]), 1, "handed out without a read");
                char name[8];
                snprintf(name, sizeof(name), "s%d", i);
                cr_assert_eq(c[i].id, ids[i]);
                cr_assert_str_eq(c[i].socket, name);
                cr_assert_eq(c[i].peer.pid, 100 + i);
                cr_assert_eq(c[i].sock_type, SOCK_STREAM);
                /* each fd is its own connection */
                cr_assert_eq(us_send(c[i].fd, name, 2), 2);
                char b[2];
                cr_assert_eq(read_full(conns[i][0], b, 2), 2);
                cr_assert(memcmp(b, name, 2) == 0);
        }
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(us_worker_done(w, &c[i]), 0);
                struct us_frame d = recv_reply(chan[0]);
                cr_assert(d.type == US_FRAME_DONE && d.id == ids[i]);
                close(conns[i][0]);
        }
        us_worker_close(w);
        close(chan[0]);
}

Test(worker, a_serial_worker_keeps_credit_1_and_one_holding_more_asks_for_it)
{
        int chan[2], conn[2];
        uint64_t id = 1;
        struct us_conn c, d;

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        expect_hello(chan[0], 1);
        cr_assert(us_pair(conn) == 0);
        send_batch(chan[0], &id, &conn[1], 1);
        cr_assert_eq(us_worker_accept(w, &c), 1);
        recv_reply(chan[0]); /* ACK */
        cr_assert_eq(us_worker_done(w, &c), 0);
        recv_reply(chan[0]); /* DONE */
        /* serial: accept after done asks for nothing more */
        id = 2;
        send_batch(chan[0], &id, &conn[1], 1);
        cr_assert_eq(us_worker_accept(w, &c), 1);
        struct us_frame f = recv_reply(chan[0]);
        cr_assert_eq(f.type, US_FRAME_ACK, "no CREDIT before it: still 1");
        /* accepting while holding one: it serves two at once */
        id = 3;
        send_batch(chan[0], &id, &conn[1], 1);
        cr_assert_eq(us_worker_accept(w, &d), 1);
        f = recv_reply(chan[0]);
        cr_assert(f.type == US_FRAME_CREDIT && f.id == 2);
        f = recv_reply(chan[0]);
        cr_assert(f.type == US_FRAME_ACK && f.id == 3);
        cr_assert_eq(us_worker_set_credit(w, 0), -1);
        cr_assert_eq(errno, EINVAL);
        cr_assert_eq(us_worker_set_credit(w, US_CREDIT_MAX + 1), -1);
        cr_assert_eq(errno, EINVAL);
        close(c.fd);
        close(d.fd);
        close(conn[0]);
        close(conn[1]);
        us_worker_close(w);
        close(chan[0]);
}

Test(worker, dones_kept_back_go_in_one_message_at_flush)
{
        int chan[2], conns[3][2];
        uint64_t ids[3] = { 21, 22, 23 };
        struct us_frame f[4];
        struct us_conn c[3];
        struct us_worker *w = sent_three(chan, conns, ids);

        for (int i = 0; i < 3; i++)
                cr_assert_eq(us_worker_accept(w, &c[i]), 1);
        cr_assert_eq(recv_frames(chan[0], f, 4), 3, "the ACK of all three");
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(us_worker_done_later(w, &c[i]), 0);
                cr_assert_eq(c[i].fd, -1);
                char b;
                cr_assert_eq(read(conns[i][0], &b, 1), 0, "closed at once");
        }
        int unread;
        cr_assert(ioctl(chan[0], FIONREAD, &unread) == 0);
        cr_assert_eq(unread, 0, "nothing sent before the flush");
        cr_assert_eq(us_worker_flush(w), 0);
        cr_assert_eq(recv_frames(chan[0], f, 4), 3, "one DONE message for the three");
        for (int i = 0; i < 3; i++)
                cr_assert(f[i].type == US_FRAME_DONE && f[i].id == ids[i]);
        cr_assert_eq(us_worker_flush(w), 0, "nothing kept: nothing sent");
        cr_assert(ioctl(chan[0], FIONREAD, &unread) == 0);
        cr_assert_eq(unread, 0);
        for (int i = 0; i < 3; i++)
                close(conns[i][0]);
        us_worker_close(w);
        close(chan[0]);
}

Test(worker, turning_nonblocking_asks_for_64)
{
        int chan[2];

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        expect_hello(chan[0], 1);
        cr_assert_eq(us_worker_set_nonblock(w, true), 0);
        struct us_frame f = recv_reply(chan[0]);
        cr_assert(f.type == US_FRAME_CREDIT && f.id == 64);
        us_worker_close(w);
        close(chan[0]);
}

Test(worker, a_batch_with_fewer_fds_than_frames_is_ebadmsg_and_closes_them)
{
        int chan[2], conn[2];
        uint64_t ids[2] = { 1, 2 };
        struct us_conn c;

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        cr_assert(us_pair(conn) == 0);
        struct us_worker *w = us_worker_open_fd(chan[1]);
        expect_hello(chan[0], 1);
        unsigned char buf[US_FRAME_MSG_MAX];
        size_t len = 0;
        for (int i = 0; i < 2; i++) {
                struct us_frame f = { .version = 2, .type = US_FRAME_CONN, .id = ids[i], .sock_type = SOCK_STREAM };
                strcpy(f.socket, "s");
                len += (size_t)us_frame_encode(&f, buf + len, sizeof(buf) - len);
        }
        cr_assert_eq(us_send_fds(chan[0], buf, len, &conn[1], 1), (ssize_t)len);
        close(conn[1]);
        cr_assert_eq(us_worker_accept(w, &c), -1);
        cr_assert_eq(errno, EBADMSG);
        char b;
        cr_assert_eq(read(conn[0], &b, 1), 0, "the fd that came was closed");
        close(conn[0]);
        us_worker_close(w);
        close(chan[0]);
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
