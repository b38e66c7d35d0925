/* libunixsock connected sockets: connect, pairs, us_send, fd passing, stdio ports. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "unixsock.h"

TestSuite(io, .timeout = 60);

static void expect_sigpipe_default(void)
{
        struct sigaction sa;

        cr_assert(sigaction(SIGPIPE, NULL, &sa) == 0);
        cr_assert(sa.sa_handler == SIG_DFL, "SIGPIPE must stay at its default for this test to prove anything");
        sigset_t set;
        sigprocmask(SIG_SETMASK, NULL, &set);
        cr_assert_not(sigismember(&set, SIGPIPE));
}

Test(io, pair_round_trip_and_cloexec)
{
        int sv[2];
        char b[5];

        cr_assert(us_pair(sv) == 0);
        cr_assert(fd_is_cloexec(sv[0]) && fd_is_cloexec(sv[1]));
        cr_assert(us_send(sv[0], "hello", 5) == 5);
        cr_assert(read_full(sv[1], b, 5) == 5);
        cr_assert(memcmp(b, "hello", 5) == 0);
        cr_assert(us_send(sv[1], "back!", 5) == 5);
        cr_assert(read_full(sv[0], b, 5) == 5);
        cr_assert(memcmp(b, "back!", 5) == 0);
        close(sv[0]);
        close(sv[1]);
}

Test(io, pair_type_seqpacket_keeps_message_boundaries)
{
        int sv[2];
        char b[16];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        cr_assert(fd_is_cloexec(sv[0]));
        cr_assert(us_send(sv[0], "one", 3) == 3);
        cr_assert(us_send(sv[0], "two", 3) == 3);
        cr_assert_eq(read(sv[1], b, sizeof(b)), 3);
        cr_assert_eq(read(sv[1], b, sizeof(b)), 3);
        cr_assert(us_pair_type(SOCK_RAW, sv) == -1 && errno == EINVAL);
}

Test(io, send_to_closed_peer_is_epipe_not_sigpipe)
{
        int sv[2];

        signal(SIGPIPE, SIG_DFL);
        expect_sigpipe_default();
        cr_assert(us_pair(sv) == 0);
        close(sv[1]);
        errno = 0;
        cr_assert_eq(us_send(sv[0], "x", 1), -1);
        cr_assert_eq(errno, EPIPE);
        /* still alive, and still with the default disposition: nothing was changed behind our back */
        expect_sigpipe_default();
        close(sv[0]);
}

Test(io, send_fd_without_fd_after_peer_closed_is_epipe)
{
        int sv[2];

        signal(SIGPIPE, SIG_DFL);
        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        close(sv[1]);
        cr_assert_eq(us_send_fd(sv[0], "h", 1, 0), -1);
        cr_assert_eq(errno, EPIPE);
        close(sv[0]);
}

Test(io, passed_fd_works_and_header_arrives)
{
        int sv[2], pfd[2], got = -2;
        char hdr[32] = "header: connection 42", rh[64], b[3];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        cr_assert(pipe(pfd) == 0);
        cr_assert_eq(us_send_fd(sv[0], hdr, sizeof(hdr), pfd[0]), (ssize_t)sizeof(hdr));
        close(pfd[0]); /* the receiver holds its own copy */
        cr_assert_eq(us_recv_fd(sv[1], rh, sizeof(rh), &got), (ssize_t)sizeof(hdr));
        cr_assert(memcmp(rh, hdr, sizeof(hdr)) == 0);
        cr_assert_geq(got, 0);
        cr_assert(fd_is_cloexec(got), "received fds arrive close-on-exec");
        cr_assert(write(pfd[1], "ok!", 3) == 3);
        cr_assert(read_full(got, b, 3) == 3);
        cr_assert(memcmp(b, "ok!", 3) == 0);
        close(got);
        close(pfd[1]);
}

Test(io, passed_connection_reaches_the_same_peer)
{
        int chan[2], conn[2], got = -1;
        char b[4];

        cr_assert(us_pair_type(SOCK_SEQPACKET, chan) == 0);
        cr_assert(us_pair(conn) == 0);
        cr_assert(us_send_fd(chan[0], "c", 1, conn[1]) == 1);
        close(conn[1]);
        cr_assert(us_recv_fd(chan[1], b, sizeof(b), &got) == 1);
        cr_assert(us_send(got, "via", 3) == 3);
        cr_assert(read_full(conn[0], b, 3) == 3 && memcmp(b, "via", 3) == 0);
        close(got);
        cr_assert_eq(read(conn[0], b, 1), 0, "closing the passed fd closes the connection");
}

Test(io, message_without_fd_gives_minus_one)
{
        int sv[2], got = 7;
        char b[8];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        cr_assert(us_send_fd(sv[0], "abc", 3, -1) == 3);
        cr_assert_eq(us_recv_fd(sv[1], b, sizeof(b), &got), 3);
        cr_assert_eq(got, -1);
}

Test(io, eof_is_zero)
{
        int sv[2], got = 7;
        char b[8];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        close(sv[0]);
        cr_assert_eq(us_recv_fd(sv[1], b, sizeof(b), &got), 0);
        cr_assert_eq(got, -1);
}

/* Sends n fds in one message, bypassing the library (which sends at most one). */
static void send_raw_fds(int sock, const int *fds, int n)
{
        char ctl[CMSG_SPACE(sizeof(int) * 64)];
        struct iovec iov = { .iov_base = "m", .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        memset(ctl, 0, sizeof(ctl));
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
        cr_assert(sendmsg(sock, &mh, 0) == 1);
}

Test(io, extra_fds_are_closed_and_reported)
{
        int sv[2], fds[2], got = 7;
        char b[8];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        cr_assert(pipe(fds) == 0);
        send_raw_fds(sv[0], fds, 2);
        int before = count_open_fds();
        cr_assert_eq(us_recv_fd(sv[1], b, sizeof(b), &got), -1);
        cr_assert_eq(errno, EBADMSG);
        cr_assert_eq(got, 7, "output untouched on failure");
        cr_assert_eq(count_open_fds(), before, "every fd that arrived was closed");
}

Test(io, truncated_control_message_closes_what_arrived)
{
        int sv[2], fds[40], got = 7;
        char b[8];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        for (int i = 0; i < 40; i++)
                fds[i] = dup(0);
        send_raw_fds(sv[0], fds, 40);
        int before = count_open_fds();
        cr_assert_eq(us_recv_fd(sv[1], b, sizeof(b), &got), -1);
        cr_assert_eq(errno, EBADMSG);
        cr_assert_eq(count_open_fds(), before);
}

Test(io, oversized_message_is_emsgsize_and_fd_closed)
{
        int sv[2], pfd[2], got = 7;
        char big[256] = { 0 }, b[16];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        cr_assert(pipe(pfd) == 0);
        cr_assert(us_send_fd(sv[0], big, sizeof(big), pfd[0]) == sizeof(big));
        int before = count_open_fds();
        cr_assert_eq(us_recv_fd(sv[1], b, sizeof(b), &got), -1);
        cr_assert_eq(errno, EMSGSIZE);
        cr_assert_eq(count_open_fds(), before);
}

Test(io, send_fd_rejects_empty_and_huge_headers)
{
        int sv[2];
        static char huge[US_MSG_MAX + 1];

        cr_assert(us_pair_type(SOCK_SEQPACKET, sv) == 0);
        cr_assert(us_send_fd(sv[0], "", 0, -1) == -1 && errno == EINVAL);
        cr_assert(us_send_fd(sv[0], huge, sizeof(huge), -1) == -1 && errno == EINVAL);
}

Test(io, connect_errors_name_the_cause)
{
        char *dir = make_tmpdir();
        const char *p = join(dir, "none.sock");

        cr_assert_eq(us_connect(p), -1);
        cr_assert_eq(errno, ENOENT);
        struct us_listener *l = us_listen(p, 0);
        us_listener_set_unlink(l, false);
        us_close(l); /* leaves a socket file nobody listens on */
        cr_assert_eq(us_connect(p), -1);
        cr_assert_eq(errno, ECONNREFUSED);
        rm_rf(dir);
        free(dir);
}

Test(io, send_on_full_nonblocking_socket_reports_partial_then_eagain)
{
        int sv[2];
        static char buf[1 << 22];

        cr_assert(us_pair_type(SOCK_STREAM | SOCK_NONBLOCK, sv) == 0);
        ssize_t n = us_send(sv[0], buf, sizeof(buf));
        cr_assert(n > 0 && n < (ssize_t)sizeof(buf), "partial: %zd", n);
        cr_assert_eq(us_send(sv[0], buf, sizeof(buf)), -1);
        cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);
}

Test(io, fdopen_pair_talks_like_the_seeds_ports)
{
        int sv[2];
        FILE *in, *out;
        char line[64];

        cr_assert(us_pair(sv) == 0);
        cr_assert(us_fdopen_pair(sv[0], &in, &out) == 0);
        cr_assert(fprintf(out, "hello %d\n", 7) > 0);
        cr_assert(fflush(out) == 0);
        cr_assert(read_full(sv[1], line, 8) == 8);
        cr_assert(memcmp(line, "hello 7\n", 8) == 0);
        cr_assert(us_send(sv[1], "answer\n", 7) == 7);
        cr_assert_not_null(fgets(line, sizeof(line), in));
        cr_assert_str_eq(line, "answer\n");
        fclose(in);
        cr_assert(fputs("still open\n", out) >= 0 && fflush(out) == 0, "out lives on after in is closed");
        cr_assert(read_full(sv[1], line, 11) == 11);
        fclose(out);
        cr_assert_eq(read(sv[1], line, 1), 0, "closing both streams closes the connection");
        close(sv[1]);
}

Test(io, fdopen_pair_write_to_closed_peer_fails_without_sigpipe)
{
        int sv[2];
        FILE *in, *out;

        signal(SIGPIPE, SIG_DFL);
        cr_assert(us_pair(sv) == 0);
        cr_assert(us_fdopen_pair(sv[0], &in, &out) == 0);
        close(sv[1]);
        fputs("into the void\n", out);
        errno = 0;
        cr_assert_eq(fflush(out), EOF);
        cr_assert_eq(errno, EPIPE);
        cr_assert(ferror(out));
        expect_sigpipe_default();
        fclose(in);
        fclose(out);
}
