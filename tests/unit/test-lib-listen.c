/* libunixsock listeners: creation, publication, stale paths, accept, close. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "unixsock.h"

#define NOBODY 65534

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

TestSuite(listen, .init = setup, .fini = teardown, .timeout = 60);

/* A socket file nobody listens on any more, as a crashed server leaves it. */
static void make_dead_socket(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        strcpy(sa.sun_path, path);
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        cr_assert(listen(fd, 1) == 0);
        close(fd);
}

/* Connects non-blocking clients to path, at most max, until one fails: their
 * fds go in fds. Returns how many connected; errno is the failed connect's. */
static int fill_queue(const char *path, int fds[], int max)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n;

        strcpy(sa.sun_path, path);
        for (n = 0; n < max; n++) {
                fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                cr_assert(fds[n] >= 0);
                if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        int e = errno;
                        close(fds[n]);
                        errno = e;
                        break;
                }
        }
        return n;
}

static void expect_round_trip(struct us_listener *l, const char *path)
{
        char buf[8];
        int c = us_connect(path);
        cr_assert(c >= 0, "connect %s: %s", path, strerror(errno));
        int s = us_accept(l, NULL);
        cr_assert(s >= 0, "accept: %s", strerror(errno));
        cr_assert(us_send(c, "ping", 4) == 4);
        cr_assert(read_full(s, buf, 4) == 4);
        cr_assert(memcmp(buf, "ping", 4) == 0);
        cr_assert(us_send(s, "pong", 4) == 4);
        cr_assert(read_full(c, buf, 4) == 4);
        cr_assert(memcmp(buf, "pong", 4) == 0);
        close(c);
        close(s);
}

/* The liveness probe shows up as a client that left at once; the server goes on. */
static void expect_probe_then_round_trip(struct us_listener *l, const char *path)
{
        char b;
        int s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);

        cr_assert(s >= 0, "the probe was queued");
        cr_assert_eq(read(s, &b, 1), 0);
        close(s);
        expect_round_trip(l, path);
}

Test(listen, round_trip_both_ways)
{
        const char *p = join(dir, "echo.sock");
        struct us_listener *l = us_listen(p, 0);

        cr_assert_not_null(l, "%s", strerror(errno));
        cr_assert_str_eq(us_listener_path(l), p);
        cr_assert(us_is_listener_fd(us_listener_fd(l)));
        expect_round_trip(l, p);
        cr_assert(us_close(l) == 0);
}

Test(listen, accept_ready_false_before_client_true_after)
{
        const char *p = join(dir, "r.sock");
        struct us_listener *l = us_listen(p, 0);

        cr_assert_not_null(l);
        cr_assert_not(us_accept_ready(l));
        int c = us_connect(p);
        cr_assert(c >= 0);
        cr_assert(us_accept_ready(l));
        int s = us_accept(l, NULL);
        cr_assert(s >= 0);
        cr_assert_not(us_accept_ready(l), "the only client was accepted");
        close(c);
        close(s);
        us_close(l);
}

Test(listen, accept_nowait_gives_eagain_without_client)
{
        struct us_listener *l = us_listen(join(dir, "n.sock"), 0);

        cr_assert_not_null(l);
        errno = 0;
        cr_assert(us_accept_flags(l, NULL, US_ACCEPT_NOWAIT) == -1);
        cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);
        us_close(l);
}

Test(listen, accept_waits_for_a_client_in_another_process)
{
        const char *p = join(dir, "w.sock");
        struct us_listener *l = us_listen(p, 0);
        char b;

        cr_assert_not_null(l);
        pid_t pid = fork();
        if (pid == 0) {
                int c = us_connect(p);
                _exit(c >= 0 && us_send(c, "x", 1) == 1 ? 0 : 1);
        }
        int s = us_accept(l, NULL); /* blocks until the child is there */
        cr_assert(s >= 0, "%s", strerror(errno));
        cr_assert(read_full(s, &b, 1) == 1 && b == 'x');
        int st;
        cr_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        close(s);
        us_close(l);
}

Test(listen, accepted_connection_is_blocking_unless_asked)
{
        const char *p = join(dir, "b.sock");
        struct us_listener *l = us_listen(p, 0);
        int c1 = us_connect(p), c2 = us_connect(p);

        int s1 = us_accept(l, NULL);
        int s2 = us_accept_flags(l, NULL, US_ACCEPT_NONBLOCK);
        cr_assert(s1 >= 0 && s2 >= 0);
        cr_assert_eq(fcntl(s1, F_GETFL) & O_NONBLOCK, 0);
        cr_assert_neq(fcntl(s2, F_GETFL) & O_NONBLOCK, 0);
        close(c1); close(c2); close(s1); close(s2);
        us_close(l);
}

Test(listen, peer_credentials_are_the_clients)
{
        const char *p = join(dir, "cred.sock");
        struct us_listener *l = us_listen(p, 0);
        struct us_peer peer;

        cr_assert_not_null(l);
        int c = us_connect(p);
        int s = us_accept(l, &peer);
        cr_assert(s >= 0);
        cr_assert_eq(peer.pid, getpid());
        cr_assert_eq(peer.uid, getuid());
        cr_assert_eq(peer.gid, getgid());
        close(c);
        close(s);
        us_close(l);
}

Test(listen, peer_credentials_of_another_uid)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to setuid");
        const char *p = join(dir, "cred2.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct us_peer peer;
        int go[2];

        o.mode = 0666;
        struct us_listener *l = us_listen_with(p, &o);
        cr_assert_not_null(l);
        cr_assert(pipe(go) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                char b;
                if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(2);
                int c = us_connect(p);
                if (c < 0)
                        _exit(3);
                /* stay connected until the parent has looked at us */
                close(go[1]);
                _exit(read(go[0], &b, 1) == 0 ? 0 : 4);
        }
        close(go[0]);
        int s = us_accept(l, &peer);
        cr_assert(s >= 0);
        cr_assert_eq(peer.pid, pid);
        cr_assert_eq(peer.uid, NOBODY);
        cr_assert_eq(peer.gid, NOBODY);
        close(go[1]);
        int st;
        cr_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        close(s);
        us_close(l);
}

Test(listen, every_fd_is_cloexec)
{
        const char *p = join(dir, "cx.sock");
        struct us_listener *l = us_listen(p, 0);
        int c = us_connect(p);
        int s = us_accept(l, NULL);

        cr_assert(fd_is_cloexec(us_listener_fd(l)));
        cr_assert(fd_is_cloexec(c));
        cr_assert(fd_is_cloexec(s));
        close(c); close(s);
        us_close(l);
}

Test(listen, default_backlog_is_ten)
{
        const char *p = join(dir, "bl.sock");
        struct us_listener *l = us_listen(p, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fds[64], n = 0;

        strcpy(sa.sun_path, p);
        cr_assert_not_null(l);
        /* Linux queues backlog + 1 connections, then a non-blocking connect says EAGAIN. */
        for (; n < 64; n++) {
                fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
                if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        cr_assert_eq(errno, EAGAIN);
                        close(fds[n]);
                        break;
                }
        }
        cr_assert_eq(n, US_DEFAULT_BACKLOG + 1);
        while (n--)
                close(fds[n]);
        us_close(l);
}

Test(listen, close_unlinks_the_file_it_created)
{
        const char *p = join(dir, "u.sock");
        struct us_listener *l = us_listen(p, 0);
        struct stat st;

        cr_assert_not_null(l);
        cr_assert(lstat(p, &st) == 0 && S_ISSOCK(st.st_mode));
        cr_assert(us_close(l) == 0);
        cr_assert(lstat(p, &st) < 0 && errno == ENOENT);
}

Test(listen, close_keeps_the_file_when_told)
{
        const char *p = join(dir, "k.sock");
        struct us_listener *l = us_listen(p, 0);
        struct stat st;

        us_listener_set_unlink(l, false);
        us_close(l);
        cr_assert(lstat(p, &st) == 0 && S_ISSOCK(st.st_mode));
}

Test(listen, close_leaves_a_path_another_server_took_over)
{
        const char *p = join(dir, "t.sock");
        struct us_listener *a = us_listen(p, 0);

        cr_assert_not_null(a);
        cr_assert(unlink(p) == 0);
        struct us_listener *b = us_listen(p, 0);
        cr_assert_not_null(b);
        us_close(a);
        expect_round_trip(b, p);
        us_close(b);
}

Test(listen, adopted_listener_is_wrapped_and_never_unlinked)
{
        const char *p = join(dir, "ad.sock");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* no CLOEXEC: as inherited */

        strcpy(sa.sun_path, p);
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        cr_assert(listen(fd, 4) == 0);
        struct us_listener *l = us_listener_adopt(fd);
        cr_assert_not_null(l);
        cr_assert_eq(us_listener_fd(l), fd);
        cr_assert_str_eq(us_listener_path(l), p);
        cr_assert(fd_is_cloexec(fd));
        expect_round_trip(l, p);
        us_close(l);
        cr_assert(lstat(p, &st) == 0 && S_ISSOCK(st.st_mode));
}

Test(listen, adopt_refuses_what_is_not_a_unix_listener)
{
        int sv[2], pfd[2];

        cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        cr_assert(pipe(pfd) == 0);
        cr_assert_null(us_listener_adopt(sv[0]));
        cr_assert_eq(errno, ENOTSOCK);
        cr_assert_null(us_listener_adopt(pfd[0]));
        cr_assert_eq(errno, ENOTSOCK);
        cr_assert_null(us_listener_adopt(1000));
        cr_assert_eq(errno, EBADF);
        cr_assert_not(us_is_listener_fd(sv[0]));
        cr_assert_not(us_is_listener_fd(pfd[0]));
        int udp = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert_not(us_is_listener_fd(udp));
        close(udp);
}

Test(listen, stale_socket_is_replaced)
{
        const char *p = join(dir, "stale.sock");

        make_dead_socket(p);
        struct us_listener *l = us_listen(p, 0);
        cr_assert_not_null(l, "%s", strerror(errno));
        expect_round_trip(l, p);
        us_close(l);
}

Test(listen, live_socket_is_refused_and_keeps_working)
{
        const char *p = join(dir, "live.sock");
        struct us_listener *a = us_listen(p, 0);

        cr_assert_not_null(a);
        cr_assert_null(us_listen(p, 0));
        cr_assert_eq(errno, EADDRINUSE);
        expect_probe_then_round_trip(a, p);
        us_close(a);
}

Test(listen, live_socket_with_full_backlog_is_refused)
{
        const char *p = join(dir, "full.sock");
        struct us_listener *a = us_listen(p, 1);
        int c[4], n;

        n = fill_queue(p, c, 4);
        cr_assert_lt(n, 4, "the backlog filled up");
        cr_assert_null(us_listen(p, 0));
        cr_assert_eq(errno, EADDRINUSE);
        for (int i = 0; i < n; i++)
                close(c[i]);
        us_close(a);
}

Test(listen, regular_file_is_never_touched)
{
        const char *p = join(dir, "file");
        struct stat st;
        FILE *f = fopen(p, "w");

        fputs("precious", f);
        fclose(f);
        cr_assert_null(us_listen(p, 0));
        cr_assert_eq(errno, EEXIST);
        cr_assert(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 8);
        cr_assert_eq(count_dir_entries(dir), 1, "no temporary file left behind");
}

Test(listen, directory_is_never_touched)
{
        const char *p = join(dir, "d");
        struct stat st;

        cr_assert(mkdir(p, 0700) == 0);
        cr_assert_null(us_listen(p, 0));
        cr_assert_eq(errno, EEXIST);
        cr_assert(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
}

Test(listen, symlink_is_never_touched_even_to_a_dead_socket)
{
        const char *target = join(dir, "dead.sock");
        const char *p = join(dir, "link.sock");
        char buf[4096];
        ssize_t n;

        make_dead_socket(target);
        cr_assert(symlink(target, p) == 0);
        cr_assert_null(us_listen(p, 0));
        cr_assert_eq(errno, EEXIST);
        n = readlink(p, buf, sizeof(buf) - 1);
        cr_assert(n > 0);
        buf[n] = '\0';
        cr_assert_str_eq(buf, target);
}

/* A path of exactly len bytes under dir, ending in the component base; the
 * directories on the way are made. */
static char *path_of_length(size_t len, const char *base)
{
        char *p = malloc(len + 1);
        size_t n = (size_t)snprintf(p, len + 1, "%s/", dir);
        size_t need = len - n - strlen(base); /* bytes of "seg/" still to add */

        while (need > 0) {
                size_t seg = need - 1 > 50 ? 50 : need - 1;
                if (need - (seg + 1) == 1)
                        seg--; /* never leave one byte: a directory takes at least two */
                memset(p + n, 'a', seg);
                p[n + seg] = '\0';
                cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
                p[n + seg] = '/';
                n += seg + 1;
                need -= seg + 1;
        }
        strcpy(p + n, base);
        cr_assert_eq(strlen(p), len);
        return p;
}

Test(listen, path_of_107_bytes_works)
{
        /* long and short final names: the temporary name must fit either way */
        const char *bases[] = { "long-socket-name.sock", "s" };

        for (size_t i = 0; i < 2; i++) {
                char *p = path_of_length(107, bases[i]);
                cr_assert_eq(strlen(p), 107);
                struct us_listener *l = us_listen(p, 0);
                cr_assert_not_null(l, "%s: %s", p, strerror(errno));
                expect_round_trip(l, p);
                us_close(l);
                free(p);
        }
}

Test(listen, path_of_108_bytes_is_enametoolong)
{
        char *p = path_of_length(108, "x.sock");

        cr_assert_eq(strlen(p), 108);
        cr_assert_null(us_listen(p, 0));
        cr_assert_eq(errno, ENAMETOOLONG);
        cr_assert_eq(us_connect(p), -1);
        cr_assert_eq(errno, ENAMETOOLONG);
        free(p);
}

Test(listen, abstract_names)
{
        char name[200];
        struct stat st;

        snprintf(name, sizeof(name), "@unixsock-test-%d", (int)getpid());
        struct us_listener *l = us_listen(name, 0);
        cr_assert_not_null(l, "%s", strerror(errno));
        cr_assert_str_eq(us_listener_path(l), name);
        cr_assert(lstat(name, &st) < 0, "no file appears for an abstract name");
        expect_round_trip(l, name);
        cr_assert_null(us_listen(name, 0));
        cr_assert_eq(errno, EADDRINUSE);
        us_close(l);
        l = us_listen(name, 0);
        cr_assert_not_null(l, "the name is free again after close");
        us_close(l);

        /* '@' and 107 bytes fill sun_path; one more does not fit */
        memset(name, 'z', sizeof(name));
        snprintf(name, 20, "@%d-", (int)getpid());
        name[strlen(name)] = 'z';
        name[108] = '\0';
        l = us_listen(name, 0);
        cr_assert_not_null(l, "%s", strerror(errno));
        expect_round_trip(l, name);
        us_close(l);
        name[108] = 'z';
        name[109] = '\0';
        cr_assert_null(us_listen(name, 0));
        cr_assert_eq(errno, ENAMETOOLONG);
}

Test(listen, adopted_abstract_listener_reports_its_name)
{
        char name[64];

        snprintf(name, sizeof(name), "@unixsock-adopt-%d", (int)getpid());
        struct us_listener *a = us_listen(name, 0);
        int fd = fcntl(us_listener_fd(a), F_DUPFD, 0);
        struct us_listener *b = us_listener_adopt(fd);
        cr_assert_not_null(b);
        cr_assert_str_eq(us_listener_path(b), name);
        us_close(b);
        us_close(a);
}

Test(listen, mode_and_owner_are_set)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to chown");
        const char *p = join(dir, "m.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct stat st;

        o.mode = 0640;
        o.uid = NOBODY;
        o.gid = NOBODY;
        struct us_listener *l = us_listen_with(p, &o);
        cr_assert_not_null(l, "%s", strerror(errno));
        cr_assert(lstat(p, &st) == 0);
        cr_assert(S_ISSOCK(st.st_mode));
        cr_assert_eq(st.st_mode & 07777, 0640);
        cr_assert_eq(st.st_uid, NOBODY);
        cr_assert_eq(st.st_gid, NOBODY);
        cr_assert_eq(count_dir_entries(dir), 1, "no temporary file left behind");
        us_close(l);
}

Test(listen, default_mode_follows_umask)
{
        const char *p = join(dir, "um.sock");
        struct stat st;
        mode_t old = umask(027);

        struct us_listener *l = us_listen(p, 0);
        umask(old);
        cr_assert_not_null(l);
        cr_assert(lstat(p, &st) == 0);
        cr_assert_eq(st.st_mode & 0777, 0750);
        us_close(l);
}

/* A client of another uid and group (and no supplementary groups) that
 * connects to path in a tight loop, non-blocking, until hammer_stop(): how
 * many connects got through (or found the queue full: the permission check
 * passed), how many were refused with EACCES, how many were tried. */
struct hammer {
        pid_t pid;
        int res, stop;
};

static void hammer_start(struct hammer *h, const char *path, uid_t uid, gid_t gid)
{
        int res[2], stop[2];
        cpu_set_t one;

        /* The client and this test on one CPU: a connect(2) is then never
         * stalled inside the kernel's permission check while this process
         * makes two changes (the check reads mode, owner and group without a
         * lock; unixsock(3) says what that leaves). What the test sees is the
         * states the file passes through, which is what it is about. */
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
        cr_assert(sched_setaffinity(0, sizeof(one), &one) == 0);

        cr_assert(pipe(res) == 0 && pipe(stop) == 0);
        h->pid = fork();
        cr_assert_geq(h->pid, 0);
        if (h->pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                long counts[3] = { 0, 0, 0 };
                close(res[0]);
                close(stop[1]);
                if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                        _exit(2);
                strcpy(sa.sun_path, path);
                fcntl(stop[0], F_SETFL, O_NONBLOCK);
                for (char b; read(stop[0], &b, 1) != 0;) {
                        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
                        counts[2]++;
                        if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN)
                                counts[0]++;
                        else if (errno == EACCES)
                                counts[1]++;
                        close(c);
                }
                _exit(write(res[1], counts, sizeof(counts)) == sizeof(counts) ? 0 : 3);
        }
        close(res[1]);
        close(stop[0]);
        h->res = res[0];
        h->stop = stop[1];
}

static void hammer_stop(struct hammer *h, long counts[3])
{
        int st;

        close(h->stop);
        cr_assert(read_full(h->res, counts, 3 * sizeof(long)) == 3 * sizeof(long));
        close(h->res);
        cr_assert(waitpid(h->pid, &st, 0) == h->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The publication race: a client of another uid hammers connect() on the path
 * while a 0600 socket owned by root is published there, again and again. It
 * must see the path (EACCES) and never get through. */
Test(listen, private_socket_refuses_another_uid_from_the_first_instant, .timeout = 120)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to setuid");
        const char *p = join(dir, "private.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct hammer h;
        long counts[3];

        o.mode = 0600;
        hammer_start(&h, p, NOBODY, NOBODY);
        for (int i = 0; i < 2000; i++) {
                struct us_listener *l = us_listen_with(p, &o);
                cr_assert_not_null(l, "%s", strerror(errno));
                /* drain whatever got queued, so a success would show in the child */
                int s;
                while ((s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT)) >= 0)
                        close(s);
                us_close(l);
        }
        hammer_stop(&h, counts);
        cr_assert_eq(counts[0], 0, "another uid got through %ld times", counts[0]);
        cr_assert_gt(counts[1], 0, "the client never saw the socket (%ld tries)", counts[2]);
}

Test(listen, trailing_slash_and_empty_path_are_refused)
{
        cr_assert_null(us_listen(join(dir, "x/"), 0));
        cr_assert_eq(errno, EISDIR);
        cr_assert_null(us_listen("", 0));
        cr_assert_eq(errno, EINVAL);
        cr_assert_null(us_listen(join(dir, "nodir/x.sock"), 0));
        cr_assert_eq(errno, ENOENT);
}

Test(listen, relative_path_in_the_current_directory)
{
        cr_assert(chdir(dir) == 0);
        struct us_listener *l = us_listen("rel.sock", 0);
        cr_assert_not_null(l, "%s", strerror(errno));
        expect_round_trip(l, "rel.sock");
        us_close(l);
        cr_assert_eq(count_dir_entries(dir), 0);
}

Test(listen, unlink_can_be_turned_back_on_but_never_for_a_file_not_made)
{
        const char *p = join(dir, "again.sock");
        struct us_listener *l = us_listen(p, 0);
        struct stat st;

        us_listener_set_unlink(l, false);
        us_listener_set_unlink(l, true);
        us_close(l);
        cr_assert(lstat(p, &st) < 0 && errno == ENOENT);

        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        strcpy(sa.sun_path, p);
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 1) == 0);
        l = us_listener_adopt(fd);
        cr_assert(!us_listener_published_at(l, p), "bound by somebody else, not by us_listen");
        us_listener_set_unlink(l, true);
        us_close(l);
        cr_assert(lstat(p, &st) == 0, "an adopted socket's file is not ours to remove");
}

/* ---- a hostile owner of the socket's directory ------------------------- */

/* A directory of the test owned by nobody, as /run/app/ owned by the app's
 * user, and beside it a root-owned 0600 file the attacker would like opened. */
static const char *hostile_dir(const char **ret_victim)
{
        const char *d = strdup(join(dir, "app"));
        const char *victim = strdup(join(dir, "victim"));
        int fd;

        cr_assert(mkdir(d, 0755) == 0 && chown(d, NOBODY, NOBODY) == 0);
        fd = open(victim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        cr_assert(fd >= 0);
        close(fd);
        *ret_victim = victim;
        return d;
}

static void drop_to_nobody(void)
{
        if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                _exit(2);
}

static void expect_untouched(const char *victim)
{
        struct stat st;

        cr_assert(lstat(victim, &st) == 0);
        cr_assert_eq(st.st_mode & 07777, 0600, "the victim file's mode became %04o", st.st_mode & 07777);
        cr_assert_eq(st.st_uid, 0);
        cr_assert_eq(st.st_gid, 0);
}

/* The attacker of the issue: watches its directory with inotify and swaps
 * each new entry (the temporary name) for a symlink to the victim, racing the
 * publisher's chmod. Exits when ready is written, after its watch is set. */
static pid_t start_swapper(const char *d, const char *victim, int *ret_ready)
{
        int ready[2];
        pid_t pid;

        cr_assert(pipe(ready) == 0);
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                drop_to_nobody();
                int in = inotify_init1(IN_CLOEXEC);
                if (in < 0 || inotify_add_watch(in, d, IN_CREATE) < 0)
                        _exit(3);
                if (write(ready[1], "r", 1) != 1)
                        _exit(4);
                for (unsigned n = 0;;) {
                        ssize_t k = read(in, buf, sizeof(buf));
                        for (char *p = buf; k > 0 && p < buf + k;) {
                                struct inotify_event *ev = (struct inotify_event *)p;
                                char from[4200], to[4200];
                                p += sizeof(*ev) + ev->len;
                                if (!ev->len || strncmp(ev->name, ".us-", 4) != 0)
                                        continue;
                                snprintf(from, sizeof(from), "%s/%s", d, ev->name);
                                snprintf(to, sizeof(to), "%s/moved-%u", d, n++);
                                if (rename(from, to) == 0)
                                        (void)symlink(victim, from);
                        }
                }
        }
        close(ready[1]);
        *ret_ready = ready[0];
        return pid;
}

Test(listen, publication_changes_no_file_through_a_symlink, .timeout = 120)
{
        if (geteuid() != 0)
                cr_skip_test("needs root, the daemon's case");
        const char *victim, *d = hostile_dir(&victim);
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        int ready, st;
        char b;
        unsigned published = 0;

        o.mode = 0666;
        pid_t pid = start_swapper(d, victim, &ready);
        cr_assert(read(ready, &b, 1) == 1, "the attacker is watching");
        for (int i = 0; i < 1000; i++) {
                struct us_listener *l = us_listen_with(join(d, "s.sock"), &o);
                if (l) {
                        published++;
                        us_close(l);
                }
                struct stat vs;
                if (lstat(victim, &vs) == 0 && (vs.st_mode & 07777) != 0600)
                        break;
        }
        kill(pid, SIGKILL);
        cr_assert(waitpid(pid, &st, 0) == pid);
        expect_untouched(victim);
        cr_log_info("published %u of 1000 while attacked", published);
}

Test(listen, set_access_refuses_a_path_that_is_no_longer_its_socket)
{
        if (geteuid() != 0)
                cr_skip_test("needs root, the daemon's case");
        const char *victim, *d = hostile_dir(&victim);
        const char *p = strdup(join(d, "s.sock"));
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct stat st;
        int wst;

        o.mode = 0600;
        struct us_listener *l = us_listen_with(p, &o);
        cr_assert_not_null(l, "%s", strerror(errno));
        /* the directory's owner renames the socket away and links the victim in */
        pid_t pid = fork();
        if (pid == 0) {
                drop_to_nobody();
                _exit(rename(p, join(d, "away.sock")) == 0 && symlink(victim, p) == 0 ? 0 : 1);
        }
        cr_assert(waitpid(pid, &wst, 0) == pid && WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
        cr_assert_eq(us_listener_set_access(l, NULL, 0666, (uid_t)-1, (gid_t)-1), -1);
        cr_assert_eq(errno, ESTALE);
        cr_assert_eq(us_listener_set_access(l, NULL, 0600, NOBODY, NOBODY), -1);
        cr_assert_eq(errno, ESTALE);
        expect_untouched(victim);
        cr_assert(lstat(join(d, "away.sock"), &st) == 0 && (st.st_mode & 07777) == 0600,
                  "the socket renamed away is not changed either");

        /* a socket of the attacker's own in its place: not ours, not changed */
        cr_assert(unlink(p) == 0);
        pid = fork();
        if (pid == 0) {
                drop_to_nobody();
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd = socket(AF_UNIX, SOCK_STREAM, 0);
                strcpy(sa.sun_path, p);
                umask(077);
                _exit(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : 1);
        }
        cr_assert(waitpid(pid, &wst, 0) == pid && WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
        cr_assert_eq(us_listener_set_access(l, NULL, 0666, 0, 0), -1);
        cr_assert_eq(errno, ESTALE);
        cr_assert(lstat(p, &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_uid == NOBODY);
        us_close(l);
        cr_assert(lstat(p, &st) == 0, "close leaves the attacker's socket alone");
}

Test(listen, set_access_changes_its_own_socket)
{
        const char *p = join(dir, "acc.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct stat st;

        o.mode = 0600;
        struct us_listener *l = us_listen_with(p, &o);
        cr_assert_not_null(l);
        cr_assert(us_listener_set_access(l, NULL, 0660, (uid_t)-1, (gid_t)-1) == 0, "%s", strerror(errno));
        cr_assert(lstat(p, &st) == 0 && (st.st_mode & 07777) == 0660);
        if (geteuid() == 0) {
                cr_assert(us_listener_set_access(l, NULL, 0640, NOBODY, NOBODY) == 0, "%s", strerror(errno));
                cr_assert(lstat(p, &st) == 0 && (st.st_mode & 07777) == 0640);
                cr_assert(st.st_uid == NOBODY && st.st_gid == NOBODY);
        }
        expect_round_trip(l, p);
        us_close(l);

        /* adopted: its file is found through sock_diag */
        l = us_listen_with(p, &o);
        int fd = fcntl(us_listener_fd(l), F_DUPFD_CLOEXEC, 0);
        us_listener_set_unlink(l, false);
        us_close(l);
        l = us_listener_adopt(fd);
        cr_assert_not_null(l);
        cr_assert(us_listener_published_at(l, p), "bound as %s", us_listener_path(l));
        cr_assert(!us_listener_published_at(l, "/elsewhere/acc.sock"));
        /* bound to the temporary name: the adopter says where it was published */
        cr_assert_eq(us_listener_set_access(l, NULL, 0644, (uid_t)-1, (gid_t)-1), -1);
        cr_assert(us_listener_set_access(l, p, 0644, (uid_t)-1, (gid_t)-1) == 0, "%s", strerror(errno));
        cr_assert(lstat(p, &st) == 0 && (st.st_mode & 07777) == 0644);
        us_close(l);
        cr_assert(lstat(p, &st) == 0, "an adopted socket's file stays");
}

/* Issue: a change from group root, 0660 to group nogroup, 0600 that chowns
 * first lets nogroup in for a moment. A client of uid 1234 and group nogroup
 * hammers connect() while the socket goes back and forth between the two
 * settings, neither of which lets it in: it must never get through. */
Test(listen, set_access_opens_no_window_between_old_and_new, .timeout = 120)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to chown");
        const char *p = join(dir, "win.sock");
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct hammer h;
        long counts[3];

        o.mode = 0660;
        o.uid = 0;
        o.gid = 0;
        struct us_listener *l = us_listen_with(p, &o);
        cr_assert_not_null(l);
        hammer_start(&h, p, 1234, NOBODY);
        for (int i = 0; i < 20000; i++) {
                cr_assert(us_listener_set_access(l, NULL, 0600, 0, NOBODY) == 0, "%s", strerror(errno));
                cr_assert(us_listener_set_access(l, NULL, 0660, 0, 0) == 0, "%s", strerror(errno));
                int s;
                while ((s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT)) >= 0)
                        close(s);
        }
        hammer_stop(&h, counts);
        cr_assert_eq(counts[0], 0, "a client neither setting admits got through %ld times in %ld tries",
                     counts[0], counts[2]);
        cr_assert_gt(counts[1], 0, "the client never reached the socket");
        us_close(l);
}

/* ---- us_path_is_stale: what a daemon asks before removing a path ------- */

Test(listen, socket_file_nobody_accepts_on_is_stale_and_stays)
{
        const char *p = join(dir, "dead.sock");
        struct stat st;

        make_dead_socket(p);
        cr_assert(us_path_is_stale(p));
        cr_assert(lstat(p, &st) == 0 && S_ISSOCK(st.st_mode), "asking removes nothing");
}

Test(listen, socket_a_server_accepts_on_is_not_stale)
{
        const char *p = join(dir, "live.sock");
        struct us_listener *l = us_listen(p, 0);

        cr_assert_not_null(l);
        cr_assert_not(us_path_is_stale(p));
        expect_probe_then_round_trip(l, p);
        us_close(l);
}

Test(listen, socket_with_a_full_queue_is_not_stale)
{
        const char *p = join(dir, "full.sock");
        struct us_listener *l = us_listen(p, 1);
        int c[8], n;

        cr_assert_not_null(l);
        n = fill_queue(p, c, 8);
        cr_assert_lt(n, 8, "the queue filled up");
        cr_assert_eq(errno, EAGAIN);
        cr_assert_not(us_path_is_stale(p), "EAGAIN: somebody is there, just busy");
        for (int i = 0; i < n; i++)
                close(c[i]);
        us_close(l);
}

Test(listen, missing_path_file_directory_and_abstract_name_are_not_stale)
{
        const char *p = join(dir, "file");
        char name[64];
        FILE *f = fopen(p, "w");

        cr_assert_not_null(f);
        fclose(f);
        cr_assert_not(us_path_is_stale(p), "a regular file");
        cr_assert_not(us_path_is_stale(dir), "a directory");
        cr_assert_not(us_path_is_stale(join(dir, "missing.sock")), "nothing there");
        cr_assert_not(us_path_is_stale(join(dir, "nodir/x.sock")), "not even its directory");
        cr_assert_not(us_path_is_stale(""));
        snprintf(name, sizeof(name), "@unixsock-test-stale-%d", (int)getpid());
        cr_assert_not(us_path_is_stale(name), "an abstract name has no file");
        cr_assert(mkfifo(join(dir, "fifo"), 0600) == 0);
        cr_assert_not(us_path_is_stale(join(dir, "fifo")), "a fifo");
}

Test(listen, symlink_to_a_stale_socket_is_not_stale)
{
        const char *target = strdup(join(dir, "dead.sock"));
        const char *p = strdup(join(dir, "link.sock"));
        const char *dangling = strdup(join(dir, "dangling.sock"));

        make_dead_socket(target);
        cr_assert(symlink(target, p) == 0);
        cr_assert(symlink(join(dir, "nothing"), dangling) == 0);
        cr_assert(us_path_is_stale(target));
        cr_assert_not(us_path_is_stale(p), "a symlink is never followed");
        cr_assert_not(us_path_is_stale(dangling));
        free((void *)target);
        free((void *)p);
        free((void *)dangling);
}

Test(listen, path_is_stale_leaves_errno_alone)
{
        const char *p = join(dir, "dead.sock");

        make_dead_socket(p);
        errno = ENOTTY;
        cr_assert(us_path_is_stale(p));
        cr_assert_eq(errno, ENOTTY);
        cr_assert_not(us_path_is_stale(join(dir, "missing")));
        cr_assert_eq(errno, ENOTTY);
}

Test(listen, socket_the_caller_may_not_connect_to_is_not_stale)
{
        const char *p = join(dir, "private.sock");
        int status;

        if (geteuid() != 0)
                cr_skip_test("needs root to setuid");
        make_dead_socket(p);
        cr_assert(chmod(p, 0600) == 0);
        cr_assert(chmod(dir, 0755) == 0);
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                /* EACCES: nobody cannot tell, so it must not call it stale */
                drop_to_nobody();
                _exit(us_path_is_stale(p) ? 1 : 0);
        }
        cr_assert(waitpid(pid, &status, 0) == pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
        cr_assert(us_path_is_stale(p), "root may connect: stale");
}

/* ---- us_listener_set_backlog, us_listener_set_nonblock ------------------ */

/* How many clients the listener at path queues before a non-blocking connect
 * says EAGAIN; the queue is emptied again after. */
static int queued_until_full(struct us_listener *l, const char *path)
{
        int fds[64], n, s;

        n = fill_queue(path, fds, 64);
        cr_assert_lt(n, 64);
        cr_assert_eq(errno, EAGAIN);
        for (int i = 0; i < n; i++) {
                s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
                cr_assert(s >= 0, "queued client %d: %s", i, strerror(errno));
                close(s);
                close(fds[i]);
        }
        return n;
}

Test(listen, set_backlog_changes_how_many_clients_queue)
{
        const char *p = join(dir, "bl.sock");
        struct us_listener *l = us_listen(p, 2);

        cr_assert_not_null(l);
        /* Linux queues backlog + 1 connections. */
        cr_assert_eq(queued_until_full(l, p), 3);
        cr_assert_eq(us_listener_set_backlog(l, 5), 0);
        cr_assert_eq(queued_until_full(l, p), 6);
        cr_assert_eq(us_listener_set_backlog(l, 1), 0);
        cr_assert_eq(queued_until_full(l, p), 2);
        cr_assert_eq(us_listener_set_backlog(l, 0), 0);
        cr_assert_eq(queued_until_full(l, p), US_DEFAULT_BACKLOG + 1, "<= 0 is the default");
        cr_assert(us_is_listener_fd(us_listener_fd(l)));
        us_close(l);
}

Test(listen, set_backlog_keeps_the_clients_already_queued)
{
        const char *p = join(dir, "keep.sock");
        struct us_listener *l = us_listen(p, 4);
        char b[2];
        int c[3], s;

        cr_assert_not_null(l);
        for (int i = 0; i < 3; i++) {
                c[i] = us_connect(p);
                cr_assert(c[i] >= 0);
                cr_assert_eq(us_send(c[i], (char[]){ (char)('a' + i) }, 1), 1);
        }
        cr_assert_eq(us_listener_set_backlog(l, 1), 0, "smaller than the queue already is");
        for (int i = 0; i < 3; i++) {
                s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
                cr_assert(s >= 0, "client %d still queued: %s", i, strerror(errno));
                cr_assert_eq(read_full(s, b, 1), 1);
                cr_assert_eq(b[0], 'a' + i, "in the order they came");
                close(s);
                close(c[i]);
        }
        expect_round_trip(l, p);
        us_close(l);
}

static bool fd_is_nonblocking(int fd)
{
        int fl = fcntl(fd, F_GETFL);

        cr_assert(fl >= 0);
        return fl & O_NONBLOCK;
}

Test(listen, set_nonblock_toggles_o_nonblock_on_the_listener)
{
        const char *p = join(dir, "nb.sock");
        struct us_listener *l = us_listen(p, 0);

        cr_assert_not_null(l);
        cr_assert(fd_is_nonblocking(us_listener_fd(l)), "us_listen makes it non-blocking");
        cr_assert_eq(us_listener_set_nonblock(l, false), 0);
        cr_assert_not(fd_is_nonblocking(us_listener_fd(l)));
        cr_assert(fd_is_cloexec(us_listener_fd(l)), "only O_NONBLOCK changed");
        cr_assert_eq(us_listener_set_nonblock(l, false), 0, "twice is fine");
        cr_assert_not(fd_is_nonblocking(us_listener_fd(l)));
        /* blocking, as a worker that gets the listener expects: accept still works */
        expect_round_trip(l, p);
        cr_assert_eq(us_listener_set_nonblock(l, true), 0);
        cr_assert(fd_is_nonblocking(us_listener_fd(l)));
        errno = 0;
        cr_assert_eq(us_accept_flags(l, NULL, US_ACCEPT_NOWAIT), -1);
        cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);
        us_close(l);
}

Test(listen, queue_counts_the_clients_waiting_to_be_accepted)
{
        const char *p = join(dir, "q.sock");
        struct us_listener *l = us_listen(p, 8);
        unsigned queued = 99, max = 99;
        int c[5], s;

        cr_assert_not_null(l);
        cr_assert_eq(us_listener_queue(l, &queued, &max), 0, "%s", strerror(errno));
        cr_assert_eq(queued, 0);
        cr_assert_eq(max, 8, "the backlog asked");
        for (int i = 0; i < 5; i++) {
                c[i] = us_connect(p);
                cr_assert(c[i] >= 0);
        }
        cr_assert_eq(us_listener_queue(l, &queued, &max), 0);
        cr_assert_eq(queued, 5, "5 connected, none accepted");
        cr_assert_eq(max, 8);
        for (int i = 0; i < 2; i++) {
                s = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
                cr_assert(s >= 0);
                close(s);
        }
        cr_assert_eq(us_listener_queue(l, &queued, NULL), 0);
        cr_assert_eq(queued, 3, "2 of 5 accepted");
        for (int i = 0; i < 5; i++)
                close(c[i]);
        us_close(l);
}

Test(listen, queue_of_a_full_backlog_and_of_the_default)
{
        const char *p = join(dir, "qf.sock");
        struct us_listener *l = us_listen(p, 0);
        unsigned queued, max;
        int fds[64], n;

        cr_assert_not_null(l);
        cr_assert_eq(us_listener_queue(l, NULL, &max), 0);
        cr_assert_eq(max, US_DEFAULT_BACKLOG);
        n = fill_queue(p, fds, 64);
        cr_assert_eq(us_listener_queue(l, &queued, &max), 0);
        cr_assert_eq(queued, (unsigned)n, "every client the kernel took is counted");
        cr_assert_eq(queued, US_DEFAULT_BACKLOG + 1, "Linux queues backlog + 1");
        cr_assert_eq(us_listener_set_backlog(l, 20), 0);
        cr_assert_eq(us_listener_queue(l, &queued, &max), 0);
        cr_assert_eq(max, 20, "a new backlog is seen at once");
        cr_assert_eq(queued, US_DEFAULT_BACKLOG + 1, "the queued clients stay");
        while (n--)
                close(fds[n]);
        us_close(l);
}

Test(listen, queue_of_an_adopted_listener)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct us_listener *l;
        unsigned queued, max;
        int c;

        strcpy(sa.sun_path, join(dir, "qa.sock"));
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        cr_assert(listen(fd, 3) == 0);
        l = us_listener_adopt(fd);
        cr_assert_not_null(l);
        c = us_connect(sa.sun_path);
        cr_assert(c >= 0);
        cr_assert_eq(us_listener_queue(l, &queued, &max), 0);
        cr_assert_eq(queued, 1);
        cr_assert_eq(max, 3);
        close(c);
        us_close(l);
}

/* ---- many listeners through one private directory (us_listen_batched) ---- */

/* The ".us-" directories in d. */
static int count_private_dirs(const char *d)
{
        char cmd[512];
        int n = 0;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "find '%s' -maxdepth 1 -name '.us-*' -type d", d);
        f = popen(cmd, "r");
        cr_assert_not_null(f);
        for (int c; (c = fgetc(f)) != EOF;)
                n += c == '\n';
        pclose(f);
        return n;
}

Test(listen, batch_publishes_each_socket_through_one_private_directory_then_removes_it)
{
        struct us_listen_batch *b = us_listen_batch_new();
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;
        struct us_listener *l[5];
        char *p[5];
        struct stat st;

        cr_assert_not_null(b);
        o.mode = 0640;
        make_dead_socket(join(dir, "s2.sock")); /* a stale one on the way is replaced */
        for (int i = 0; i < 5; i++) {
                cr_assert(asprintf(&p[i], "%s/s%d.sock", dir, i) > 0);
                l[i] = us_listen_batched(b, p[i], &o);
                cr_assert_not_null(l[i], "%s: %s", p[i], strerror(errno));
                cr_assert_eq(count_private_dirs(dir), 1, "one private directory for all of them");
                struct us_listener *a = us_listener_adopt(dup(us_listener_fd(l[i])));
                cr_assert_not_null(a);
                cr_assert(us_listener_published_at(a, p[i]), "bound to the usual temporary name");
                us_close(a);
        }
        us_listen_batch_free(b);
        cr_assert_eq(count_private_dirs(dir), 0);
        cr_assert_eq(count_dir_entries(dir), 5, "the sockets, nothing else");
        for (int i = 0; i < 5; i++) {
                cr_assert(lstat(p[i], &st) == 0);
                cr_assert(S_ISSOCK(st.st_mode));
                cr_assert_eq(st.st_mode & 07777, 0640);
                expect_round_trip(l[i], p[i]);
                us_close(l[i]);
                cr_assert(lstat(p[i], &st) < 0 && errno == ENOENT, "us_close unlinks what it made");
                free(p[i]);
        }
}

Test(listen, batch_refuses_what_us_listen_refuses_and_goes_on)
{
        struct us_listen_batch *b = us_listen_batch_new();
        char *file = strdup(join(dir, "file")), *live = strdup(join(dir, "live.sock")),
             *ok = strdup(join(dir, "ok.sock"));
        struct us_listener *l, *other = us_listen(live, 0);
        int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

        cr_assert(fd >= 0);
        close(fd);
        cr_assert_not_null(other);
        cr_assert_null(us_listen_batched(b, file, NULL));
        cr_assert_eq(errno, EEXIST);
        cr_assert_null(us_listen_batched(b, live, NULL));
        cr_assert_eq(errno, EADDRINUSE);
        l = us_listen_batched(b, ok, NULL);
        cr_assert_not_null(l, "%s", strerror(errno));
        us_listen_batch_free(b);
        cr_assert_eq(count_private_dirs(dir), 0);
        expect_round_trip(l, ok);
        expect_probe_then_round_trip(other, live);
        us_close(l);
        us_close(other);
        free(file);
        free(live);
        free(ok);
}

Test(listen, batch_over_two_directories_leaves_no_private_directory)
{
        struct us_listen_batch *b = us_listen_batch_new();
        char *sub = strdup(join(dir, "sub"));
        struct us_listener *l[4];

        cr_assert(mkdir(sub, 0755) == 0);
        l[0] = us_listen_batched(b, join(dir, "a.sock"), NULL);
        l[1] = us_listen_batched(b, join(sub, "b.sock"), NULL);
        l[2] = us_listen_batched(b, join(dir, "c.sock"), NULL);
        l[3] = us_listen_batched(b, "@us-test-batch-abstract", NULL);
        for (int i = 0; i < 4; i++)
                cr_assert_not_null(l[i], "%d: %s", i, strerror(errno));
        cr_assert_eq(count_private_dirs(dir) + count_private_dirs(sub), 1, "only the last one is kept");
        us_listen_batch_free(b);
        us_listen_batch_free(NULL);
        cr_assert_eq(count_private_dirs(dir) + count_private_dirs(sub), 0);
        expect_round_trip(l[1], join(sub, "b.sock"));
        for (int i = 0; i < 4; i++)
                us_close(l[i]);
        free(sub);
}

Test(listen, batch_makes_a_fresh_private_directory_when_its_own_was_swapped_away)
{
        struct us_listen_batch *b = us_listen_batch_new();
        struct us_listener *a, *c;
        char name[64] = "", moved[600];
        FILE *f;

        a = us_listen_batched(b, join(dir, "a.sock"), NULL);
        cr_assert_not_null(a);
        snprintf(moved, sizeof(moved), "find '%s' -maxdepth 1 -name '.us-*' -printf '%%f\\n'", dir);
        f = popen(moved, "r");
        cr_assert(fgets(name, sizeof(name), f));
        pclose(f);
        name[strcspn(name, "\n")] = '\0';
        /* the owner of the directory renames it away and puts their own in its place */
        snprintf(moved, sizeof(moved), "%s/moved", dir);
        cr_assert(rename(join(dir, name), moved) == 0);
        cr_assert(mkdir(join(dir, name), 0777) == 0);
        c = us_listen_batched(b, join(dir, "c.sock"), NULL);
        cr_assert_null(c, "a socket bound in a directory that is not ours is never published");
        c = us_listen_batched(b, join(dir, "c.sock"), NULL);
        cr_assert_not_null(c, "the next one makes a fresh private directory: %s", strerror(errno));
        us_listen_batch_free(b);
        expect_round_trip(c, join(dir, "c.sock"));
        cr_assert_eq(count_dir_entries(moved), 0, "nothing left in the one moved away");
        us_close(a);
        us_close(c);
}
