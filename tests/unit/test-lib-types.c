/* libunixsock socket types: seqpacket and datagram listeners, us_connect_type,
 * us_listener_fd_type and adoption of each type, stale and live sockets of
 * another type, us_listen_options.replace, us_peer_groups. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "unixsock.h"

#define NOBODY 65534
#define WAIT_MS 10000   /* what any event here may take on a loaded machine */

static char *dir;

static void setup(void)
{
        dir = make_tmpdir();
}

static void teardown(void)
{
        rm_rf(dir);
        free(dir);
}

TestSuite(types, .init = setup, .fini = teardown, .timeout = 60);

static const int all_types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };

static const char *type_name(int type)
{
        return type == SOCK_STREAM ? "stream" : type == SOCK_SEQPACKET ? "seqpacket"
             : type == SOCK_DGRAM ? "dgram" : "?";
}

static struct us_listener *listen_type(const char *path, int type)
{
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;

        o.type = type;
        return us_listen_with(path, &o);
}

static int sock_type(int fd)
{
        int t = -1;
        socklen_t len = sizeof(t);

        cr_assert(getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &len) == 0);
        return t;
}

static ino_t inode_of(const char *path)
{
        struct stat st;

        cr_assert(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
        return st.st_ino;
}

static bool path_exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

/* Waits, up to WAIT_MS, until fd is readable. */
static void wait_readable(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        long long deadline = now_ms() + WAIT_MS;
        int r;

        do
                r = poll(&p, 1, ms_left(deadline));
        while (r < 0 && errno == EINTR);
        cr_assert(r == 1, "fd %d not readable within %d ms", fd, WAIT_MS);
}

/* Receives the next message on fd and checks it is exactly want (length and
 * bytes): on a seqpacket or datagram socket one recv is one message. */
static void expect_msg(int fd, const char *want)
{
        char buf[256];
        ssize_t n;

        wait_readable(fd);
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        cr_assert(n >= 0, "recv: %s", strerror(errno));
        cr_assert_eq((size_t)n, strlen(want), "a message of %zd bytes, %zu expected (\"%s\")", n,
                     strlen(want), want);
        cr_assert(memcmp(buf, want, (size_t)n) == 0);
}

/* Receives the next datagram on fd, checks it is want, and answers answer to
 * its sender. */
static void expect_dgram_and_answer(int fd, const char *want, const char *answer)
{
        struct sockaddr_un from;
        socklen_t fromlen = sizeof(from);
        char buf[256];
        ssize_t n;

        wait_readable(fd);
        n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        cr_assert(n >= 0, "recvfrom: %s", strerror(errno));
        cr_assert_eq((size_t)n, strlen(want));
        cr_assert(memcmp(buf, want, (size_t)n) == 0);
        cr_assert_gt(fromlen, sizeof(sa_family_t), "the sender has an address to be answered at");
        cr_assert_eq(sendto(fd, answer, strlen(answer), MSG_NOSIGNAL, (struct sockaddr *)&from, fromlen),
                     (ssize_t)strlen(answer), "sendto: %s", strerror(errno));
}

/* A client of l's type reaches l at path and they talk both ways. For a
 * stream listener, clients queued before (the liveness probe of a us_listen
 * on its path) are accepted and dropped first. */
static void expect_serves(struct us_listener *l, const char *path)
{
        int type = us_listener_type(l), c, s;

        c = us_connect_type(path, type);
        cr_assert(c >= 0, "%s client of %s: %s", type_name(type), path, strerror(errno));
        cr_assert_eq(sock_type(c), type);
        if (type == SOCK_DGRAM) {
                cr_assert_eq(us_send(c, "ping", 4), 4);
                expect_dgram_and_answer(us_listener_fd(l), "ping", "pong");
                expect_msg(c, "pong");
                close(c);
                return;
        }
        /* the client is in the accept queue once connect(2) returned */
        for (;;) {
                char b;
                s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
                cr_assert(s >= 0, "accept: %s", strerror(errno));
                if (recv(s, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 0)
                        break; /* not a client that left already */
                close(s);
        }
        cr_assert_eq(us_send(c, "ping", 4), 4);
        expect_msg(s, "ping");
        cr_assert_eq(us_send(s, "pong", 4), 4);
        expect_msg(c, "pong");
        close(c);
        close(s);
}

/* ---- seqpacket ----------------------------------------------------------- */

static void expect_seqpacket_boundaries(const char *path)
{
        struct us_listener *l = listen_type(path, SOCK_SEQPACKET);
        struct us_peer peer;
        int c, s;

        cr_assert_not_null(l, "%s: %s", path, strerror(errno));
        cr_assert_eq(us_listener_type(l), SOCK_SEQPACKET);
        cr_assert_eq(sock_type(us_listener_fd(l)), SOCK_SEQPACKET);
        cr_assert_str_eq(us_listener_path(l), path);
        c = us_connect_type(path, SOCK_SEQPACKET);
        cr_assert(c >= 0, "%s", strerror(errno));
        cr_assert(fd_is_cloexec(c));
        s = us_accept(l, &peer);
        cr_assert(s >= 0, "%s", strerror(errno));
        cr_assert_eq(sock_type(s), SOCK_SEQPACKET);
        cr_assert_eq(peer.pid, getpid());
        /* two sends before the first read: two messages, not 5 + 14 bytes of a stream */
        cr_assert_eq(us_send(c, "first", 5), 5);
        cr_assert_eq(us_send(c, "second message", 14), 14);
        expect_msg(s, "first");
        expect_msg(s, "second message");
        cr_assert_eq(us_send(s, "ab", 2), 2);
        cr_assert_eq(us_send(s, "cdefghijk", 9), 9);
        expect_msg(c, "ab");
        expect_msg(c, "cdefghijk");
        close(c);
        close(s);
        cr_assert_eq(us_close(l), 0);
}

Test(types, seqpacket_listener_keeps_message_boundaries_both_ways)
{
        expect_seqpacket_boundaries(join(dir, "seq.sock"));
        cr_assert_not(path_exists(join(dir, "seq.sock")), "us_close unlinks it");
}

Test(types, seqpacket_listener_at_an_abstract_name)
{
        char name[64];

        snprintf(name, sizeof(name), "@unixsock-types-seq-%d", (int)getpid());
        expect_seqpacket_boundaries(name);
        /* the name is free again after us_close */
        struct us_listener *l = listen_type(name, SOCK_SEQPACKET);
        cr_assert_not_null(l, "%s", strerror(errno));
        us_close(l);
}

/* ---- every type: mode, owner, unlink, the default type ------------------- */

Test(types, mode_and_owner_apply_and_close_unlinks_for_every_type)
{
        bool root = geteuid() == 0;

        for (size_t i = 0; i < 3; i++) {
                int type = all_types[i];
                char *p = strdup(join(dir, fmt("m-%s.sock", type_name(type))));
                struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
                struct stat st;

                o.type = type;
                o.mode = 0640;
                if (root)
                        o.uid = o.gid = NOBODY;
                struct us_listener *l = us_listen_with(p, &o);
                cr_assert_not_null(l, "%s: %s", type_name(type), strerror(errno));
                cr_assert_eq(us_listener_type(l), type);
                cr_assert(lstat(p, &st) == 0);
                cr_assert(S_ISSOCK(st.st_mode));
                cr_assert_eq(st.st_mode & 07777, 0640, "%s: mode %04o", type_name(type), st.st_mode & 07777);
                if (root) {
                        cr_assert_eq(st.st_uid, NOBODY, "%s", type_name(type));
                        cr_assert_eq(st.st_gid, NOBODY, "%s", type_name(type));
                }
                cr_assert_eq(count_dir_entries(dir), 1, "%s: no temporary file left behind", type_name(type));
                expect_serves(l, p);
                cr_assert_eq(us_close(l), 0);
                cr_assert_not(path_exists(p), "%s: us_close unlinks the file it made", type_name(type));
                free(p);
        }
}

Test(types, type_zero_is_stream)
{
        const char *p = join(dir, "zero.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;

        o.type = 0;
        struct us_listener *l = us_listen_with(p, &o);
        cr_assert_not_null(l, "%s", strerror(errno));
        cr_assert_eq(us_listener_type(l), SOCK_STREAM);
        cr_assert_eq(sock_type(us_listener_fd(l)), SOCK_STREAM);
        expect_serves(l, p);
        us_close(l);
        l = us_listen(p, 0);
        cr_assert_eq(us_listener_type(l), SOCK_STREAM, "us_listen is a stream listener");
        us_close(l);
}

/* ---- datagram ------------------------------------------------------------ */

Test(types, datagram_listener_receives_each_datagram_and_answers_its_sender)
{
        const char *p = strdup(join(dir, "dg.sock"));
        struct us_listener *l = listen_type(p, SOCK_DGRAM);
        struct sockaddr_un self, from;
        socklen_t selflen = sizeof(self), fromlen = sizeof(from);
        char buf[64];
        int lfd, c1, c2;

        cr_assert_not_null(l, "%s", strerror(errno));
        lfd = us_listener_fd(l);
        cr_assert_eq(us_listener_type(l), SOCK_DGRAM);
        cr_assert_eq(sock_type(lfd), SOCK_DGRAM);
        cr_assert_not(us_accept_ready(l), "nothing sent yet");

        c1 = us_connect_type(p, SOCK_DGRAM);
        cr_assert(c1 >= 0, "%s", strerror(errno));
        cr_assert(fd_is_cloexec(c1));
        cr_assert_eq(sock_type(c1), SOCK_DGRAM);
        /* autobound: an abstract address of its own */
        cr_assert(getsockname(c1, (struct sockaddr *)&self, &selflen) == 0);
        cr_assert_gt(selflen, sizeof(sa_family_t), "the client is bound");
        cr_assert_eq(self.sun_path[0], '\0', "to an abstract address");

        cr_assert_eq(us_send(c1, "one", 3), 3);
        cr_assert_eq(us_send(c1, "two, longer", 11), 11);
        cr_assert(us_accept_ready(l), "a datagram waits");
        cr_assert_eq(recvfrom(lfd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen), 3);
        cr_assert(memcmp(buf, "one", 3) == 0);
        cr_assert_eq(fromlen, selflen, "recvfrom tells the client's address");
        cr_assert(memcmp(&from, &self, selflen) == 0);
        cr_assert(us_accept_ready(l), "the second one still waits");
        fromlen = sizeof(from);
        cr_assert_eq(recvfrom(lfd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen), 11);
        cr_assert(memcmp(buf, "two, longer", 11) == 0);
        cr_assert_not(us_accept_ready(l), "both were received");

        /* the answer goes to the sender; another client's to that one */
        c2 = us_connect_type(p, SOCK_DGRAM);
        cr_assert(c2 >= 0, "%s", strerror(errno));
        cr_assert_eq(sendto(lfd, "answer", 6, MSG_NOSIGNAL, (struct sockaddr *)&from, fromlen), 6);
        cr_assert_eq(us_send(c2, "from c2", 7), 7);
        expect_dgram_and_answer(lfd, "from c2", "for c2");
        expect_msg(c1, "answer");
        expect_msg(c2, "for c2");
        cr_assert_eq(recv(c1, buf, sizeof(buf), MSG_DONTWAIT), -1, "c1 got only its own answer");
        cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);
        close(c1);
        close(c2);
        cr_assert_eq(us_close(l), 0);
        cr_assert_not(path_exists(p));
        free((void *)p);
}

Test(types, datagram_listener_has_no_accept_backlog_or_queue)
{
        const char *p = join(dir, "dgx.sock");
        struct us_listener *l = listen_type(p, SOCK_DGRAM);
        unsigned queued = 77, max = 88;
        int c;

        cr_assert_not_null(l, "%s", strerror(errno));
        /* us_accept does not wait for a client that can never come */
        errno = 0;
        cr_assert_eq(us_accept(l, NULL), -1);
        cr_assert_eq(errno, EOPNOTSUPP, "%s", strerror(errno));
        errno = 0;
        cr_assert_eq(us_accept_flags(l, NULL, US_ACCEPT_NOWAIT), -1);
        cr_assert_eq(errno, EOPNOTSUPP, "not EAGAIN: no client will ever wait");
        cr_assert_eq(us_listener_set_backlog(l, 5), -1);
        cr_assert_eq(errno, EOPNOTSUPP);
        cr_assert_eq(us_listener_queue(l, &queued, &max), -1);
        cr_assert_eq(errno, EOPNOTSUPP);
        cr_assert(queued == 77 && max == 88, "outputs untouched on failure");

        /* with a datagram waiting: still EOPNOTSUPP, and the datagram stays */
        c = us_connect_type(p, SOCK_DGRAM);
        cr_assert(c >= 0);
        cr_assert_eq(us_send(c, "kept", 4), 4);
        cr_assert(us_accept_ready(l));
        cr_assert_eq(us_accept(l, NULL), -1);
        cr_assert_eq(errno, EOPNOTSUPP);
        expect_msg(us_listener_fd(l), "kept");
        close(c);
        us_close(l);
}

Test(types, datagram_listener_at_an_abstract_name)
{
        char name[64];

        snprintf(name, sizeof(name), "@unixsock-types-dg-%d", (int)getpid());
        struct us_listener *l = listen_type(name, SOCK_DGRAM);
        cr_assert_not_null(l, "%s", strerror(errno));
        cr_assert_eq(us_listener_fd_type(us_listener_fd(l)), SOCK_DGRAM);
        expect_serves(l, name);
        cr_assert_null(listen_type(name, SOCK_DGRAM));
        cr_assert_eq(errno, EADDRINUSE);
        us_close(l);
        l = listen_type(name, SOCK_DGRAM);
        cr_assert_not_null(l, "the name is free again after close: %s", strerror(errno));
        us_close(l);
}

/* ---- us_listener_fd_type, us_is_listener_fd, us_listener_adopt ---------- */

static int bind_raw(int type, const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

        cr_assert(fd >= 0);
        strcpy(sa.sun_path, path);
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "%s: %s", path, strerror(errno));
        return fd;
}

static void expect_listener_fd(int fd, int type, const char *what)
{
        errno = ENOTTY;
        cr_assert_eq(us_listener_fd_type(fd), type, "%s: %s", what, strerror(errno));
        errno = ENOTTY;
        cr_assert(us_is_listener_fd(fd), "%s", what);
        cr_assert_eq(errno, ENOTTY, "us_is_listener_fd keeps errno");
}

static void expect_not_listener_fd(int fd, int err, const char *what)
{
        errno = 0;
        cr_assert_eq(us_listener_fd_type(fd), -1, "%s", what);
        cr_assert_eq(errno, err, "%s: %s, not %s", what, strerror(errno), strerror(err));
        errno = ENOTTY;
        cr_assert_not(us_is_listener_fd(fd), "%s", what);
        cr_assert_eq(errno, ENOTTY, "us_is_listener_fd keeps errno");
}

Test(types, listener_fd_type_of_each_listener)
{
        char name[64];
        struct us_listener *ls[4];
        int raw;

        snprintf(name, sizeof(name), "@unixsock-types-fd-%d", (int)getpid());
        ls[0] = us_listen(join(dir, "st.sock"), 0);
        ls[1] = listen_type(join(dir, "sp.sock"), SOCK_SEQPACKET);
        ls[2] = listen_type(join(dir, "dg.sock"), SOCK_DGRAM);
        ls[3] = listen_type(name, SOCK_DGRAM);
        for (int i = 0; i < 4; i++)
                cr_assert_not_null(ls[i], "%d: %s", i, strerror(errno));
        expect_listener_fd(us_listener_fd(ls[0]), SOCK_STREAM, "listening stream");
        expect_listener_fd(us_listener_fd(ls[1]), SOCK_SEQPACKET, "listening seqpacket");
        expect_listener_fd(us_listener_fd(ls[2]), SOCK_DGRAM, "bound datagram");
        expect_listener_fd(us_listener_fd(ls[3]), SOCK_DGRAM, "datagram bound to an abstract name");
        /* as ListenDatagram= hands it over: bound, nothing more */
        raw = bind_raw(SOCK_DGRAM, join(dir, "raw.sock"));
        expect_listener_fd(raw, SOCK_DGRAM, "a datagram socket bound by hand");
        close(raw);
        raw = bind_raw(SOCK_SEQPACKET, join(dir, "rawsp.sock"));
        cr_assert(listen(raw, 1) == 0);
        expect_listener_fd(raw, SOCK_SEQPACKET, "a seqpacket socket listening by hand");
        close(raw);
        for (int i = 0; i < 4; i++)
                us_close(ls[i]);
}

Test(types, listener_fd_type_of_what_is_no_listener)
{
        const char *dg = strdup(join(dir, "dg.sock")), *st = strdup(join(dir, "st.sock"));
        struct us_listener *ldg = listen_type(dg, SOCK_DGRAM), *lst = us_listen(st, 0);
        int fd, sv[2], pfd[2];

        cr_assert_not_null(ldg);
        cr_assert_not_null(lst);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        expect_not_listener_fd(fd, ENOTSOCK, "an unbound datagram socket");
        close(fd);

        fd = us_connect_type(dg, SOCK_DGRAM); /* autobound and connected */
        cr_assert(fd >= 0);
        expect_not_listener_fd(fd, ENOTSOCK, "a connected datagram socket");
        close(fd);

        fd = bind_raw(SOCK_DGRAM, join(dir, "named-client.sock"));
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, dg);
        cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        expect_not_listener_fd(fd, ENOTSOCK, "a datagram socket bound to a path and connected");
        close(fd);

        cr_assert(us_pair_type(SOCK_DGRAM, sv) == 0);
        expect_not_listener_fd(sv[0], ENOTSOCK, "a datagram socket pair");
        close(sv[0]);
        close(sv[1]);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        expect_not_listener_fd(fd, ENOTSOCK, "an unbound stream socket");
        close(fd);

        fd = bind_raw(SOCK_STREAM, join(dir, "bound-only.sock"));
        expect_not_listener_fd(fd, ENOTSOCK, "a bound stream socket that does not listen");
        close(fd);

        fd = bind_raw(SOCK_SEQPACKET, join(dir, "bound-only-sp.sock"));
        expect_not_listener_fd(fd, ENOTSOCK, "a bound seqpacket socket that does not listen");
        close(fd);

        fd = us_connect(st);
        cr_assert(fd >= 0);
        int s = us_accept(lst, NULL);
        cr_assert(s >= 0);
        expect_not_listener_fd(fd, ENOTSOCK, "a connected stream socket");
        expect_not_listener_fd(s, ENOTSOCK, "an accepted stream socket");
        close(fd);
        close(s);

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
                expect_not_listener_fd(fd, ENOTSOCK, "a UDP socket");
                close(fd);
        }

        cr_assert(pipe(pfd) == 0);
        expect_not_listener_fd(pfd[0], ENOTSOCK, "a pipe");
        close(pfd[1]);
        close(pfd[0]);
        expect_not_listener_fd(pfd[0], EBADF, "a closed fd");

        us_close(ldg);
        us_close(lst);
        free((void *)dg);
        free((void *)st);
}

/* Adopts a duplicate of l's fd, as a daemon given it back from an fd store. */
static struct us_listener *adopt_dup(const struct us_listener *l)
{
        int fd = fcntl(us_listener_fd(l), F_DUPFD, 0); /* no CLOEXEC: as inherited */
        struct us_listener *a;

        cr_assert(fd >= 0);
        cr_assert(us_listener_set_nonblock((struct us_listener *)l, false) == 0); /* shared: adopt sets it again */
        a = us_listener_adopt(fd);
        cr_assert_not_null(a, "%s", strerror(errno));
        cr_assert_eq(us_listener_fd(a), fd);
        cr_assert(fd_is_cloexec(fd));
        cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
        return a;
}

Test(types, adopt_keeps_each_type)
{
        char name[64];

        snprintf(name, sizeof(name), "@unixsock-types-adopt-%d", (int)getpid());
        for (size_t i = 0; i < 3; i++) {
                int type = all_types[i];
                char *p = strdup(join(dir, fmt("a-%s.sock", type_name(type))));
                const char *paths[2] = { p, name };

                for (int k = 0; k < 2; k++) {
                        struct us_listener *l = listen_type(paths[k], type);
                        cr_assert_not_null(l, "%s %s: %s", type_name(type), paths[k], strerror(errno));
                        struct us_listener *a = adopt_dup(l);
                        cr_assert_eq(us_listener_type(a), type, "%s %s", type_name(type), paths[k]);
                        if (k == 0)
                                cr_assert(us_listener_published_at(a, p), "bound as %s", us_listener_path(a));
                        else
                                cr_assert_str_eq(us_listener_path(a), name);
                        /* the adopted one serves as its type */
                        expect_serves(a, paths[k]);
                        if (type == SOCK_DGRAM) {
                                cr_assert_eq(us_listener_queue(a, NULL, NULL), -1);
                                cr_assert_eq(errno, EOPNOTSUPP);
                                cr_assert_eq(us_listener_set_backlog(a, 3), -1);
                                cr_assert_eq(errno, EOPNOTSUPP);
                                cr_assert_eq(us_accept(a, NULL), -1);
                                cr_assert_eq(errno, EOPNOTSUPP);
                        } else {
                                cr_assert_eq(us_listener_queue(a, NULL, NULL), 0, "%s", strerror(errno));
                        }
                        us_close(a);
                        if (k == 0)
                                cr_assert(path_exists(p), "closing the adopted one leaves the file");
                        us_close(l);
                }
                free(p);
        }
}

Test(types, adopt_refuses_datagram_sockets_that_are_no_listener)
{
        const char *dg = join(dir, "dg.sock");
        struct us_listener *l = listen_type(dg, SOCK_DGRAM);
        int fd;

        cr_assert_not_null(l);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        cr_assert_null(us_listener_adopt(fd));
        cr_assert_eq(errno, ENOTSOCK);
        cr_assert(fd_is_open(fd), "a refused fd stays the caller's");
        close(fd);
        fd = us_connect_type(dg, SOCK_DGRAM);
        cr_assert(fd >= 0);
        cr_assert_null(us_listener_adopt(fd));
        cr_assert_eq(errno, ENOTSOCK);
        cr_assert(fd_is_open(fd));
        close(fd);
        us_close(l);
}

/* ---- us_connect_type: types that do not match, types that do not exist --- */

Test(types, connect_to_a_listener_of_another_type_is_eprototype)
{
        char *ps[3];
        struct us_listener *ls[3];

        for (int i = 0; i < 3; i++) {
                ps[i] = strdup(join(dir, fmt("%s.sock", type_name(all_types[i]))));
                ls[i] = listen_type(ps[i], all_types[i]);
                cr_assert_not_null(ls[i]);
        }
        for (int i = 0; i < 3; i++)
                for (int k = 0; k < 3; k++) {
                        if (i == k)
                                continue;
                        errno = 0;
                        cr_assert_eq(us_connect_type(ps[i], all_types[k]), -1, "%s client of a %s listener",
                                     type_name(all_types[k]), type_name(all_types[i]));
                        cr_assert_eq(errno, EPROTOTYPE, "%s client of a %s listener: %s",
                                     type_name(all_types[k]), type_name(all_types[i]), strerror(errno));
                }
        cr_assert_eq(us_connect(ps[1]), -1, "us_connect is a stream client");
        cr_assert_eq(errno, EPROTOTYPE);
        for (int i = 0; i < 3; i++) {
                expect_serves(ls[i], ps[i]);
                us_close(ls[i]);
                free(ps[i]);
        }
}

Test(types, invalid_types_are_einval)
{
        const char *p = join(dir, "bad.sock");
        const int bad[] = { SOCK_RAW, SOCK_RDM, 42, -1, SOCK_STREAM | SOCK_NONBLOCK, SOCK_DGRAM | SOCK_CLOEXEC };
        char name[64];

        snprintf(name, sizeof(name), "@unixsock-types-bad-%d", (int)getpid());
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                errno = 0;
                cr_assert_null(listen_type(p, bad[i]), "type %d", bad[i]);
                cr_assert_eq(errno, EINVAL, "us_listen_with type %d: %s", bad[i], strerror(errno));
                cr_assert_null(listen_type(name, bad[i]), "type %d", bad[i]);
                cr_assert_eq(errno, EINVAL);
                cr_assert_eq(count_dir_entries(dir), 0, "nothing made for type %d", bad[i]);
        }
        struct us_listener *l = us_listen(p, 0);
        cr_assert_not_null(l);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                errno = 0;
                cr_assert_eq(us_connect_type(p, bad[i]), -1);
                cr_assert_eq(errno, EINVAL, "us_connect_type type %d: %s", bad[i], strerror(errno));
        }
        cr_assert_eq(us_connect_type(p, 0), -1, "0 is no type to connect with");
        cr_assert_eq(errno, EINVAL);
        cr_assert_not(us_accept_ready(l), "no connection was attempted");
        us_close(l);
}

/* ---- live and stale sockets of another type at the path ----------------- */

Test(types, live_socket_of_any_type_is_refused_and_left_alone)
{
        for (size_t i = 0; i < 3; i++)
                for (size_t k = 0; k < 3; k++) {
                        int live = all_types[i], type = all_types[k];
                        char *p = strdup(join(dir, fmt("live-%s-%s.sock", type_name(live), type_name(type))));
                        struct us_listener *l = listen_type(p, live);
                        struct stat before, after;

                        cr_assert_not_null(l);
                        cr_assert(lstat(p, &before) == 0);
                        errno = 0;
                        cr_assert_null(listen_type(p, type), "a %s listener over a live %s one",
                                       type_name(type), type_name(live));
                        cr_assert_eq(errno, EADDRINUSE, "%s over live %s: %s", type_name(type),
                                     type_name(live), strerror(errno));
                        cr_assert(lstat(p, &after) == 0);
                        cr_assert(after.st_ino == before.st_ino && after.st_mode == before.st_mode,
                                  "the file is untouched");
                        cr_assert_not(us_path_is_stale(p));
                        expect_serves(l, p);
                        us_close(l);
                        free(p);
                }
        cr_assert_eq(count_dir_entries(dir), 0, "nothing left behind");
}

Test(types, dead_socket_of_any_type_is_replaced)
{
        for (size_t i = 0; i < 3; i++)
                for (size_t k = 0; k < 3; k++) {
                        int dead = all_types[i], type = all_types[k];
                        char *p = strdup(join(dir, fmt("dead-%s-%s.sock", type_name(dead), type_name(type))));
                        struct us_listener *l = listen_type(p, dead);
                        ino_t old;

                        cr_assert_not_null(l);
                        old = inode_of(p);
                        us_listener_set_unlink(l, false);
                        us_close(l); /* a crash: the file stays, nobody receives */
                        cr_assert(us_path_is_stale(p), "a dead %s socket is stale", type_name(dead));
                        l = listen_type(p, type);
                        cr_assert_not_null(l, "a %s listener over a dead %s one: %s", type_name(type),
                                           type_name(dead), strerror(errno));
                        cr_assert_neq(inode_of(p), old, "replaced");
                        expect_serves(l, p);
                        us_close(l);
                        cr_assert_not(path_exists(p));
                        free(p);
                }
}

/* ---- us_listen_options.replace ------------------------------------------- */

static struct us_listener *listen_replacing(const char *path, int type, const struct us_listener *old)
{
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;

        o.type = type;
        o.replace = old;
        return us_listen_with(path, &o);
}

Test(types, replace_lets_a_live_listener_change_its_type)
{
        static const int pairs[][2] = {
                { SOCK_STREAM, SOCK_SEQPACKET },
                { SOCK_SEQPACKET, SOCK_DGRAM },
                { SOCK_DGRAM, SOCK_STREAM },
                { SOCK_STREAM, SOCK_DGRAM },
                { SOCK_STREAM, SOCK_STREAM },
        };

        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
                int from = pairs[i][0], to = pairs[i][1];
                char *p = strdup(join(dir, fmt("r-%s-%s.sock", type_name(from), type_name(to))));
                struct us_listener *old = listen_type(p, from), *nl;
                ino_t old_ino, new_ino;

                cr_assert_not_null(old);
                old_ino = inode_of(p);
                nl = listen_replacing(p, to, old);
                cr_assert_not_null(nl, "%s -> %s: %s", type_name(from), type_name(to), strerror(errno));
                cr_assert_eq(us_listener_type(nl), to);
                new_ino = inode_of(p);
                cr_assert_neq(new_ino, old_ino, "the path is the new socket now");
                expect_serves(nl, p);
                if (from != to) {
                        int c = us_connect_type(p, from);
                        cr_assert_eq(c, -1, "%s -> %s: the old type no longer connects", type_name(from),
                                     type_name(to));
                        cr_assert(errno == EPROTOTYPE || errno == ECONNREFUSED, "%s", strerror(errno));
                } else {
                        int c = us_connect_type(p, to), s;
                        cr_assert(c >= 0);
                        s = us_accept_flags(nl, NULL, US_ACCEPT_NOWAIT);
                        cr_assert(s >= 0, "a new client goes to the new listener");
                        close(s);
                        close(c);
                }
                /* the old listener's close leaves the file that replaced its own */
                cr_assert_eq(us_close(old), 0);
                cr_assert(path_exists(p), "%s -> %s: us_close of the old one unlinked the new file",
                          type_name(from), type_name(to));
                cr_assert_eq(inode_of(p), new_ino);
                expect_serves(nl, p);
                us_close(nl);
                cr_assert_not(path_exists(p), "the new one unlinks its own");
                free(p);
        }
        cr_assert_eq(count_dir_entries(dir), 0, "no private directory left behind");
}

/* No probe of a file known to be the caller's: a test connection would sit,
 * closed, in the old listener's queue, and whoever still accepts there would
 * take it for a client. */
Test(types, replace_leaves_no_connection_in_the_old_listeners_queue)
{
        const char *p = join(dir, "probe.sock");
        struct us_listener *old = listen_type(p, SOCK_STREAM), *nl;

        cr_assert_not_null(old);
        nl = listen_replacing(p, SOCK_SEQPACKET, old);
        cr_assert_not_null(nl, "%s", strerror(errno));
        cr_assert_not(us_accept_ready(old), "something connected to the old listener");
        us_close(old);
        us_close(nl);
}

Test(types, replace_keeps_the_mode_and_owner_asked)
{
        const char *p = join(dir, "rm.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct us_listener *old = us_listen(p, 0), *nl;
        struct stat st;

        cr_assert_not_null(old);
        o.type = SOCK_SEQPACKET;
        o.replace = old;
        o.mode = 0600;
        if (geteuid() == 0)
                o.uid = o.gid = NOBODY;
        nl = us_listen_with(p, &o);
        cr_assert_not_null(nl, "%s", strerror(errno));
        cr_assert(lstat(p, &st) == 0);
        cr_assert_eq(st.st_mode & 07777, 0600);
        if (geteuid() == 0)
                cr_assert(st.st_uid == NOBODY && st.st_gid == NOBODY);
        us_close(old);
        us_close(nl);
}

Test(types, replace_with_an_adopted_listener)
{
        const char *p = join(dir, "ra.sock");
        struct us_listener *l = us_listen(p, 0), *a, *nl;

        /* a daemon that got its socket back from the fd store, and now wants a datagram one */
        cr_assert_not_null(l);
        a = adopt_dup(l);
        us_listener_set_unlink(l, false);
        us_close(l);
        nl = listen_replacing(p, SOCK_DGRAM, a);
        cr_assert_not_null(nl, "%s", strerror(errno));
        expect_serves(nl, p);
        us_close(a);
        expect_serves(nl, p);
        us_close(nl);
}

Test(types, replace_naming_another_listener_is_eaddrinuse)
{
        const char *p = strdup(join(dir, "ro.sock"));
        char name[64];
        struct us_listener *old = listen_type(p, SOCK_SEQPACKET);
        struct us_listener *other = us_listen(join(dir, "elsewhere.sock"), 0);
        struct us_listener *abstract;
        ino_t ino;

        snprintf(name, sizeof(name), "@unixsock-types-ro-%d", (int)getpid());
        abstract = us_listen(name, 0);
        cr_assert(old && other && abstract);
        ino = inode_of(p);
        errno = 0;
        cr_assert_null(listen_replacing(p, SOCK_STREAM, other), "a listener bound elsewhere");
        cr_assert_eq(errno, EADDRINUSE, "%s", strerror(errno));
        cr_assert_eq(inode_of(p), ino, "the file is untouched");
        cr_assert_null(listen_replacing(p, SOCK_STREAM, abstract), "an abstract listener has no file");
        cr_assert_eq(errno, EADDRINUSE);
        cr_assert_eq(inode_of(p), ino);
        expect_serves(old, p);
        us_close(other);
        us_close(abstract);
        us_close(old);
        free((void *)p);
}

Test(types, replace_is_of_that_very_file_not_of_one_that_took_its_name)
{
        const char *p = strdup(join(dir, "rt.sock")), *away = strdup(join(dir, "away.sock"));
        struct us_listener *old = listen_type(p, SOCK_DGRAM), *foreign;
        ino_t ino;

        cr_assert_not_null(old);
        /* somebody renames our socket away and puts a live one of theirs at the path */
        cr_assert(rename(p, away) == 0);
        foreign = us_listen(p, 0);
        cr_assert_not_null(foreign);
        us_listener_set_unlink(foreign, false);
        ino = inode_of(p);
        errno = 0;
        cr_assert_null(listen_replacing(p, SOCK_SEQPACKET, old));
        cr_assert_eq(errno, EADDRINUSE, "%s", strerror(errno));
        cr_assert_eq(inode_of(p), ino, "the other socket is untouched");
        expect_serves(foreign, p);
        expect_serves(old, away);
        us_close(old);
        us_close(foreign);
        free((void *)p);
        free((void *)away);
}

Test(types, replace_never_replaces_a_symlink)
{
        const char *p = strdup(join(dir, "real.sock")), *link = strdup(join(dir, "link.sock"));
        struct us_listener *old = us_listen(p, 0);
        char buf[4096];
        ssize_t n;
        ino_t ino;

        cr_assert_not_null(old);
        ino = inode_of(p);
        cr_assert(symlink(p, link) == 0);
        errno = 0;
        cr_assert_null(listen_replacing(link, SOCK_DGRAM, old), "a symlink to the very socket");
        cr_assert_eq(errno, EEXIST, "%s", strerror(errno));
        n = readlink(link, buf, sizeof(buf) - 1);
        cr_assert(n > 0);
        buf[n] = '\0';
        cr_assert_str_eq(buf, p, "the symlink is untouched");
        cr_assert_eq(inode_of(p), ino, "and so is what it points to");
        expect_serves(old, p);
        us_close(old);
        free((void *)p);
        free((void *)link);
}

/* ---- us_peer_groups ------------------------------------------------------- */

#define G1 4242
#define G2 4343
#define PEER_GID 4545
#define PEER_UID 4646

static int cmp_gid(const void *a, const void *b)
{
        gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

        return x < y ? -1 : x > y;
}

/* A child that takes uid PEER_UID, gid PEER_GID and the n groups, connects to
 * path and stays connected until *ret_hold is closed. The connection is
 * accepted within WAIT_MS (or the child's death reported) into *ret_s. */
static pid_t connect_as(struct us_listener *l, const char *path, const gid_t *groups, size_t n,
                        struct us_peer *peer, int *ret_s, int *ret_hold)
{
        int hold[2], alive[2];
        long long deadline = now_ms() + WAIT_MS;
        pid_t pid;

        cr_assert(pipe(hold) == 0 && pipe(alive) == 0);
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                char b;
                close(hold[1]);
                close(alive[0]);
                if (setgroups(n, groups) < 0 || setgid(PEER_GID) < 0 || setuid(PEER_UID) < 0)
                        _exit(2);
                if (us_connect(path) < 0)
                        _exit(3);
                _exit(read(hold[0], &b, 1) == 0 ? 0 : 4); /* until the parent has looked */
        }
        close(hold[0]);
        close(alive[1]);
        struct pollfd p[2] = { { .fd = us_listener_fd(l), .events = POLLIN }, { .fd = alive[0], .events = POLLIN } };
        for (;;) {
                int r = poll(p, 2, ms_left(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                cr_assert(r > 0, "no client within %d ms", WAIT_MS);
                if (p[0].revents)
                        break;
                int st;
                cr_assert(waitpid(pid, &st, 0) == pid);
                cr_assert_fail("the client exited before it connected: status %d", st);
        }
        close(alive[0]);
        *ret_s = us_accept(l, peer);
        cr_assert(*ret_s >= 0, "%s", strerror(errno));
        *ret_hold = hold[1];
        return pid;
}

static void release(pid_t pid, int hold)
{
        int st;

        close(hold);
        cr_assert(waitpid(pid, &st, 0) == pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client status %d", st);
}

static struct us_listener *open_listener(const char *path)
{
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct us_listener *l;

        o.mode = 0666;
        l = us_listen_with(path, &o);
        cr_assert_not_null(l, "%s", strerror(errno));
        return l;
}

Test(types, peer_groups_are_the_clients_supplementary_groups)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to give a client other groups");
        const char *p = join(dir, "groups.sock");
        struct us_listener *l = open_listener(p);
        const gid_t want[2] = { G2, G1 };
        gid_t got[64], small[1] = { 12345 };
        struct us_peer peer;
        int s, hold, n;
        pid_t pid;

        pid = connect_as(l, p, want, 2, &peer, &s, &hold);
        cr_assert_eq(peer.pid, pid);
        cr_assert_eq(peer.uid, PEER_UID);
        cr_assert_eq(peer.gid, PEER_GID, "the primary group is us_peer's gid");

        n = us_peer_groups(s, got, 64);
        cr_assert_eq(n, 2, "%d groups: %s", n, n < 0 ? strerror(errno) : "");
        qsort(got, 2, sizeof(gid_t), cmp_gid);
        cr_assert(got[0] == G1 && got[1] == G2, "groups %u %u", (unsigned)got[0], (unsigned)got[1]);

        cr_assert_eq(us_peer_groups(s, got, 2), 2, "exactly enough room");
        errno = 0;
        cr_assert_eq(us_peer_groups(s, small, 1), -1, "2 groups, room for 1");
        cr_assert_eq(errno, ERANGE, "%s", strerror(errno));
        cr_assert_eq(small[0], 12345, "nothing written on failure");
        cr_assert_eq(us_peer_groups(s, NULL, 0), -1);
        cr_assert_eq(errno, ERANGE);

        /* the groups it had when it connected: the connection keeps them */
        release(pid, hold);
        cr_assert_eq(us_peer_groups(s, got, 64), 2, "after the client exited");
        close(s);
        us_close(l);
}

Test(types, peer_groups_of_a_client_without_any_is_zero)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to give a client other groups");
        const char *p = join(dir, "nogroups.sock");
        struct us_listener *l = open_listener(p);
        gid_t got[4] = { 1, 2, 3, 4 };
        struct us_peer peer;
        int s, hold;
        pid_t pid;

        pid = connect_as(l, p, NULL, 0, &peer, &s, &hold);
        cr_assert_eq(peer.gid, PEER_GID);
        cr_assert_eq(us_peer_groups(s, got, 4), 0, "%s", strerror(errno));
        cr_assert_eq(us_peer_groups(s, NULL, 0), 0, "no room needed for none");
        release(pid, hold);
        close(s);
        us_close(l);
}

Test(types, peer_groups_of_a_pair_are_the_callers)
{
        gid_t mine[64], got[64];
        int sv[2], n;

        if (geteuid() == 0) {
                /* this test's own process: give it groups to see */
                const gid_t g[2] = { G1, G2 };
                cr_assert(setgroups(2, g) == 0);
        }
        n = getgroups(64, mine);
        cr_assert(n >= 0);
        cr_assert(us_pair(sv) == 0);
        cr_assert_eq(us_peer_groups(sv[0], got, 64), n, "%s", strerror(errno));
        qsort(mine, (size_t)n, sizeof(gid_t), cmp_gid);
        qsort(got, (size_t)n, sizeof(gid_t), cmp_gid);
        cr_assert(memcmp(mine, got, (size_t)n * sizeof(gid_t)) == 0);
        close(sv[0]);
        close(sv[1]);
}

Test(types, peer_groups_without_a_peer_fail)
{
        gid_t got[64] = { 12345 };
        int fd, pfd[2];

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(us_peer_groups(fd, got, 64), -1, "an unconnected socket");
        cr_assert_eq(errno, ENODATA);
        close(fd);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(us_peer_groups(fd, got, 64), -1, "an unconnected datagram socket");
        cr_assert_eq(errno, ENODATA);
        close(fd);
        cr_assert(pipe(pfd) == 0);
        cr_assert_eq(us_peer_groups(pfd[0], got, 64), -1);
        cr_assert_eq(errno, ENOTSOCK);
        close(pfd[0]);
        close(pfd[1]);
        cr_assert_eq(us_peer_groups(pfd[0], got, 64), -1);
        cr_assert_eq(errno, EBADF);
        cr_assert_eq(got[0], 12345, "nothing written on failure");
}

/* A listening socket has no peer; the kernel answers SO_PEERGROUPS on one
 * with the groups of whoever called listen(2), which are no client's. */
Test(types, peer_groups_of_a_listener_is_enodata)
{
        gid_t got[64] = { 12345 };

        if (geteuid() == 0) {
                /* so that the listener's own groups would show, were they taken for a peer's */
                const gid_t g[2] = { G1, G2 };
                cr_assert(setgroups(2, g) == 0);
        }
        for (size_t i = 0; i < 3; i++) {
                struct us_listener *l = listen_type(join(dir, fmt("np-%s.sock", type_name(all_types[i]))),
                                                    all_types[i]);
                cr_assert_not_null(l);
                errno = 0;
                int n = us_peer_groups(us_listener_fd(l), got, 64);
                cr_assert_eq(n, -1, "a %s listener has no peer, yet %d groups (the first %u)",
                             type_name(all_types[i]), n, n > 0 ? (unsigned)got[0] : 0u);
                cr_assert_eq(errno, ENODATA, "%s: %s", type_name(all_types[i]), strerror(errno));
                us_close(l);
        }
        cr_assert_eq(got[0], 12345, "nothing written on failure");
}
