/* unixsockd with dispatch = spawn: the real binary, real sockets, real processes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

#define NOBODY 65534

static struct daemon d;

static void fini(void)
{
        daemon_cleanup(&d);
}

TestSuite(spawn, .fini = fini, .timeout = 120);

static char conf[4096];

static const char *echo_conf(const char *socket_extra, const char *worker_extra)
{
        snprintf(conf, sizeof(conf),
                 "[socket:echo]\npath = echo.sock\nworker = cat\n%s\n"
                 "[worker:cat]\ncommand = /bin/cat\ndispatch = spawn\n%s\n",
                 socket_extra, worker_extra);
        return conf;
}

static const char *probe_conf(const char *worker_extra)
{
        snprintf(conf, sizeof(conf),
                 "[socket:probe]\npath = probe.sock\nworker = probe\n\n"
                 "[worker:probe]\ncommand = %s\ndispatch = spawn\n%s\n",
                 test_prog("probe-worker"), worker_extra);
        return conf;
}

/* The probe's report for one connection. */
static char report[65536];

static const char *probe(void)
{
        ssize_t n = client_exchange(daemon_path(&d, "probe.sock"), "", report, sizeof(report));

        cr_assert_gt(n, 0, "no report from the probe worker");
        cr_assert(strstr(report, "\nend\n"), "truncated report:\n%s", report);
        return report;
}

static const char *field(const char *rep, const char *key)
{
        static char v[4096];
        char k[256];
        const char *p;

        snprintf(k, sizeof(k), "\n%s", key);
        p = strstr(rep, k);
        if (!p && strncmp(rep, key, strlen(key)) == 0)
                p = rep - 1;
        if (!p)
                return NULL;
        p += strlen(k);
        snprintf(v, sizeof(v), "%.*s", (int)strcspn(p, "\n"), p);
        return v;
}

static void expect_echo_ok(const char *path)
{
        char buf[64];

        cr_assert_eq(client_exchange(path, "ok", buf, sizeof(buf)), 2);
        cr_assert_str_eq(buf, "ok");
}

Test(spawn, echo_round_trip)
{
        char buf[256];

        daemon_start(&d, echo_conf("", ""));
        cr_assert_eq(client_exchange(daemon_path(&d, "echo.sock"), "hello unixsockd\n", buf, sizeof(buf)), 16);
        cr_assert_str_eq(buf, "hello unixsockd\n");
        /* many in a row, each its own process */
        for (int i = 0; i < 50; i++) {
                char msg[32];
                snprintf(msg, sizeof(msg), "message %d", i);
                cr_assert_eq(client_exchange(daemon_path(&d, "echo.sock"), msg, buf, sizeof(buf)), (ssize_t)strlen(msg));
                cr_assert_str_eq(buf, msg);
        }
        daemon_stop(&d);
}

Test(spawn, ready_and_status_are_notified)
{
        daemon_start(&d, echo_conf("", ""));
        cr_assert(strstr(d.status, "1 sockets"), "STATUS=%s", d.status);
        daemon_stop(&d);
}

Test(spawn, worker_sees_exactly_its_fds_and_environment)
{
        char pidbuf[32];

        daemon_start(&d, probe_conf("environment = GREETING=hello \"TWO=two words\"\n"));
        const char *r = probe();
        cr_assert_str_eq(field(r, "fds="), "0,1,2,", "%s", r);
        cr_assert_str_eq(field(r, "stdin_socket="), "1");
        cr_assert_str_eq(field(r, "env:PROTO="), "UNIX");
        cr_assert_str_eq(field(r, "env:UNIXLOCALPATH="), daemon_path(&d, "probe.sock"));
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
        cr_assert_str_eq(field(r, "env:UNIXREMOTEPID="), pidbuf);
        snprintf(pidbuf, sizeof(pidbuf), "%u", (unsigned)geteuid());
        cr_assert_str_eq(field(r, "env:UNIXREMOTEEUID="), pidbuf);
        snprintf(pidbuf, sizeof(pidbuf), "%u", (unsigned)getegid());
        cr_assert_str_eq(field(r, "env:UNIXREMOTEEGID="), pidbuf);
        cr_assert_str_eq(field(r, "env:UNIXSOCKD_SOCKET="), "probe");
        cr_assert_str_eq(field(r, "env:GREETING="), "hello");
        cr_assert_str_eq(field(r, "env:TWO="), "two words");
        cr_assert_null(field(r, "env:NOTIFY_SOCKET="), "the daemon's own variables stay with it");
        cr_assert_null(field(r, "env:LISTEN_FDS="));
        /* empty signal mask, nothing ignored */
        cr_assert_str_eq(field(r, "SigBlk:"), "\t0000000000000000");
        cr_assert_str_eq(field(r, "SigIgn:"), "\t0000000000000000");
        /* its own session and process group */
        cr_assert_str_eq(field(r, "pgid="), field(r, "pid="));
        cr_assert_str_eq(field(r, "sid="), field(r, "pid="));
        daemon_stop(&d);
}

Test(spawn, listen_fds_passes_the_connection_as_fd_3)
{
        daemon_start(&d, probe_conf("listen-fds = yes\n"));
        const char *r = probe();
        cr_assert_str_eq(field(r, "fds="), "0,1,2,3,", "%s", r);
        cr_assert_str_eq(field(r, "env:LISTEN_FDS="), "1");
        cr_assert_str_eq(field(r, "env:LISTEN_FDNAMES="), "connection");
        char pid[32];
        snprintf(pid, sizeof(pid), "%s", field(r, "pid="));
        cr_assert_str_eq(field(r, "env:LISTEN_PID="), pid, "LISTEN_PID is the worker's own pid");
        daemon_stop(&d);
}

Test(spawn, worker_runs_as_user_with_its_groups_and_directory)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to change user");
        daemon_start(&d, probe_conf("user = nobody\nworking-directory = /tmp\n"));
        const char *r = probe();
        cr_assert_str_eq(field(r, "uid="), "65534", "%s", r);
        cr_assert_str_eq(field(r, "gid="), "65534");
        cr_assert_str_eq(field(r, "groups="), "65534,", "nobody's groups only, none of root's");
        cr_assert_str_eq(field(r, "cwd="), "/tmp");
        cr_assert_str_eq(field(r, "env:USER="), "nobody");
        cr_assert_str_eq(field(r, "env:HOME="), "/nonexistent");
        daemon_stop(&d);
}

Test(spawn, group_alone_changes_the_group)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to change group");
        daemon_start(&d, probe_conf("group = nogroup\n"));
        const char *r = probe();
        cr_assert_str_eq(field(r, "uid="), "0");
        cr_assert_str_eq(field(r, "gid="), "65534");
        cr_assert_str_eq(field(r, "groups="), "", "no supplementary groups: %s", field(r, "groups="));
        daemon_stop(&d);
}

/* Connects as uid and gid nobody (keeping the test's groups) from a child;
 * returns what it read. */
static ssize_t exchange_as_nobody(const char *path, const char *msg, char *buf, size_t size)
{
        static const struct client_ids nobody = { NOBODY, NOBODY, NULL, -1 };
        ssize_t n = exchange_as(path, SOCK_STREAM, &nobody, msg, buf, size);

        cr_assert_geq(n, 0, "the client child failed at step %zd: %s", -n, buf);
        return n;
}

Test(spawn, allow_users_refuses_another_uid)
{
        char buf[256];

        if (geteuid() != 0)
                cr_skip_test("needs root to connect as another uid");
        daemon_start(&d, echo_conf("mode = 0666\nallow-users = root\n", ""));
        cr_assert_eq(exchange_as_nobody(daemon_path(&d, "echo.sock"), "let me in", buf, sizeof(buf)), 0,
                     "refused: closed without a reply");
        cr_assert(daemon_wait_log(&d, "refused uid 65534"));
        cr_assert_eq(client_exchange(daemon_path(&d, "echo.sock"), "root", buf, sizeof(buf)), 4);
        cr_assert_str_eq(buf, "root");
        daemon_stop(&d);
}

Test(spawn, allow_groups_admits_a_listed_group)
{
        char buf[256];

        if (geteuid() != 0)
                cr_skip_test("needs root to connect as another uid");
        daemon_start(&d, echo_conf("mode = 0666\nallow-users = root\nallow-groups = nogroup\n", ""));
        cr_assert_eq(exchange_as_nobody(daemon_path(&d, "echo.sock"), "member", buf, sizeof(buf)), 6);
        cr_assert_str_eq(buf, "member");
        daemon_stop(&d);
}

/* instances reached: the next client waits in the backlog and is served later. */
Test(spawn, instances_limit_makes_clients_wait_not_fail)
{
        char buf[64];
        int c[3];

        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, echo_conf("", "instances = 2\n"), debug);
        cr_assert(daemon_wait_ready(&d));
        const char *p = daemon_path(&d, "echo.sock");
        for (int i = 0; i < 2; i++) {
                c[i] = client_connect(p);
                cr_assert_eq(us_send(c[i], "x", 1), 1);
                cr_assert_eq(read_all_deadline(c[i], buf, 2, DEADLINE_MS), 1, "client %d served", i);
        }
        cr_assert(daemon_wait_log(&d, "at capacity"), "the daemon stopped accepting");
        c[2] = client_connect(p); /* queued in the kernel backlog */
        cr_assert_eq(us_send(c[2], "third", 5), 5);
        shutdown(c[2], SHUT_WR);
        cr_assert_not(readable_within(c[2], 0), "not served while both workers are busy");
        close(c[0]); /* its cat exits, a slot frees */
        cr_assert_eq(read_all_deadline(c[2], buf, sizeof(buf), DEADLINE_MS), 5, "then served");
        cr_assert_str_eq(buf, "third");
        close(c[1]);
        close(c[2]);
        daemon_stop(&d);
}

Test(spawn, max_per_user_refuses_the_extra_connection)
{
        char buf[64];

        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, echo_conf("", "max-per-user = 1\n"), debug);
        cr_assert(daemon_wait_ready(&d));
        const char *p = daemon_path(&d, "echo.sock");
        int a = client_connect(p);
        cr_assert_eq(us_send(a, "a", 1), 1);
        cr_assert_eq(read_all_deadline(a, buf, 2, DEADLINE_MS), 1);
        int b = client_connect(p);
        cr_assert_eq(read_all_deadline(b, buf, sizeof(buf), DEADLINE_MS), 0, "refused: closed at once");
        cr_assert(daemon_wait_log(&d, "max-per-user"));
        close(b);
        close(a);
        /* once a's worker is gone, the same user is served again */
        cr_assert(daemon_wait_log(&d, "exited with status 0"));
        cr_assert_eq(client_exchange(p, "again", buf, sizeof(buf)), 5);
        cr_assert_str_eq(buf, "again");
        daemon_stop(&d);
}

Test(spawn, worker_stderr_and_exit_status_are_logged)
{
        char buf[65536];

        snprintf(conf, sizeof(conf),
                 "[socket:fail]\npath = fail.sock\nworker = fail\n\n"
                 "[worker:fail]\ncommand = %s exit 3\n",
                 test_prog("probe-worker"));
        daemon_start(&d, conf);
        cr_assert_gt(client_exchange(daemon_path(&d, "fail.sock"), "", buf, sizeof(buf)), 0);
        cr_assert(daemon_wait_log(&d, "exited with status 3"));
        cr_assert(daemon_log_has(&d, "warning"), "a failure is a warning");
        cr_assert(daemon_log_has(&d, "exit_code=exited exit_status=3"));
        daemon_cleanup(&d);

        snprintf(conf, sizeof(conf),
                 "[socket:err]\npath = err.sock\nworker = err\n\n"
                 "[worker:err]\ncommand = %s stderr\n",
                 test_prog("probe-worker"));
        daemon_start(&d, conf);
        cr_assert_gt(client_exchange(daemon_path(&d, "err.sock"), "", buf, sizeof(buf)), 0);
        cr_assert(daemon_wait_log(&d, "probe-stderr-line"), "worker stderr reaches the daemon's stderr");
        daemon_stop(&d);
}

Test(spawn, daemon_fds_do_not_grow_with_connections)
{
        char buf[64];

        daemon_start(&d, echo_conf("", ""));
        const char *p = daemon_path(&d, "echo.sock");
        cr_assert_eq(client_exchange(p, "warm", buf, sizeof(buf)), 4);
        int before = count_socket_fds_of(d.pid);
        for (int i = 0; i < 100; i++)
                cr_assert_eq(client_exchange(p, "leak?", buf, sizeof(buf)), 5);
        cr_assert_eq(count_socket_fds_of(d.pid), before);
        daemon_stop(&d);
}

Test(spawn, graceful_stop_serves_connections_already_accepted)
{
        char buf[64];
        struct stat st;

        daemon_start(&d, echo_conf("", ""));
        const char *p = daemon_path(&d, "echo.sock");
        int c = client_connect(p);
        cr_assert_eq(us_send(c, "1", 1), 1);
        cr_assert_eq(read_all_deadline(c, buf, 2, DEADLINE_MS), 1, "accepted and being served");
        cr_assert(kill(d.pid, SIGTERM) == 0);
        cr_assert(daemon_wait_notify(&d, "STOPPING=1"));
        cr_assert(daemon_wait_log(&d, "stopping"));
        /* under a service manager the listener went to its fd store: the file
         * stays for the next start, but nobody accepts on it any more */
        cr_assert(lstat(p, &st) == 0 && S_ISSOCK(st.st_mode));
        cr_assert_eq(us_connect(p), -1);
        cr_assert_eq(errno, ECONNREFUSED);
        /* the worker serves on */
        cr_assert_eq(us_send(c, "2", 1), 1);
        cr_assert_eq(read_all_deadline(c, buf, 2, DEADLINE_MS), 1);
        cr_assert_str_eq(buf, "2");
        cr_assert(d.pid > 0 && kill(d.pid, 0) == 0, "the daemon waits for its worker");
        close(c);
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) == 0, "status 0x%x", s);
}

Test(spawn, stop_timeout_terminates_workers_that_linger)
{
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\nstop-timeout = 200ms\n\n"
                 "[socket:sleep]\npath = sleep.sock\nworker = sleep\n\n"
                 "[worker:sleep]\ncommand = /bin/sleep 1000\n");
        daemon_start(&d, conf);
        int c = client_connect(daemon_path(&d, "sleep.sock"));
        cr_assert(daemon_wait_notify(&d, "1 worker processes"));
        cr_assert(kill(d.pid, SIGTERM) == 0);
        cr_assert(daemon_wait_log(&d, "sending SIGTERM"));
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) == 0);
        cr_assert(daemon_log_has(&d, "killed by signal 15") || daemon_log_has(&d, "exit_status=TERM"));
        close(c);
}

Test(spawn, stale_socket_file_is_replaced_at_startup)
{
        char buf[64];
        char *dir = make_tmpdir();
        struct us_listener *l = us_listen(join(dir, "echo.sock"), 0);

        us_listener_set_unlink(l, false);
        us_close(l); /* a dead socket file, as a crash leaves */
        snprintf(conf, sizeof(conf),
                 "[socket:echo]\npath = %s/echo.sock\nworker = cat\n\n[worker:cat]\ncommand = /bin/cat\n", dir);
        daemon_start(&d, conf);
        cr_assert_eq(client_exchange(join(dir, "echo.sock"), "fresh", buf, sizeof(buf)), 5);
        daemon_stop(&d);
        rm_rf(dir);
        free(dir);
}

Test(spawn, live_socket_file_is_not_taken_over)
{
        char *dir = make_tmpdir();
        struct us_listener *l = us_listen(join(dir, "echo.sock"), 0);

        snprintf(conf, sizeof(conf),
                 "[socket:echo]\npath = %s/echo.sock\nworker = cat\n\n[worker:cat]\ncommand = /bin/cat\n", dir);
        daemon_spawn(&d, conf, NULL);
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) != 0, "refuses to start");
        cr_assert(daemon_log_has(&d, "echo.sock: Address already in use"));
        /* the other server still has its socket */
        int c = client_connect(join(dir, "echo.sock"));
        int a = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
        while (a >= 0) { /* skip the daemon's liveness probe */
                close(a);
                a = us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
        }
        close(c);
        us_close(l);
        rm_rf(dir);
        free(dir);
}

static void expect_inherited(const char *fdname)
{
        char buf[64], lopt[600];
        char *dir = make_tmpdir();
        const char *path = join(dir, "act.sock");

        snprintf(lopt, sizeof(lopt), "--listen=%s", path);
        snprintf(conf, sizeof(conf),
                 "[socket:act]\npath = %s\nworker = cat\n\n[worker:cat]\ncommand = /bin/cat\n", path);
        char fdn[128];
        snprintf(fdn, sizeof(fdn), "--fdname=%s", fdname);
        const char *prefix[] = { "/usr/bin/systemd-socket-activate", "-E", "NOTIFY_SOCKET", lopt, fdn, "--", NULL };
        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn_wrapped(&d, conf, prefix, debug);
        /* systemd-socket-activate starts the daemon on the first connection; it
         * says "Listening on" once listen() is done (the path exists a bit before) */
        cr_assert(daemon_wait_log(&d, "Listening on"));
        int c = client_connect(path);
        cr_assert_eq(us_send(c, "activated", 9), 9);
        shutdown(c, SHUT_WR);
        cr_assert(daemon_wait_ready(&d));
        cr_assert(daemon_log_has(&d, "socket act: inherited fd 3"), "inherited, not created");
        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 9);
        cr_assert_str_eq(buf, "activated");
        close(c);
        cr_assert_eq(client_exchange(path, "again", buf, sizeof(buf)), 5);
        daemon_stop(&d);
        struct stat st;
        cr_assert(lstat(path, &st) == 0, "a socket it did not create is not unlinked");
        rm_rf(dir);
        free(dir);
}

Test(spawn, inherits_a_socket_by_name)
{
        expect_inherited("act");
}

Test(spawn, inherits_a_socket_by_path)
{
        expect_inherited("some-other-name");
}

Test(spawn, inherited_socket_matching_nothing_is_closed)
{
        char buf[64], lopt[600];
        char *dir = make_tmpdir();

        snprintf(lopt, sizeof(lopt), "--listen=%s", join(dir, "stray.sock"));
        const char *prefix[] = { "/usr/bin/systemd-socket-activate", "-E", "NOTIFY_SOCKET", lopt, "--fdname=stray", "--", NULL };
        daemon_spawn_wrapped(&d, echo_conf("", ""), prefix, NULL);
        cr_assert(daemon_wait_log(&d, "Listening on"));
        close(client_connect(join(dir, "stray.sock"))); /* activates */
        cr_assert(daemon_wait_ready(&d));
        cr_assert(daemon_log_has(&d, "matches no [socket:]"));
        cr_assert_eq(client_exchange(daemon_path(&d, "echo.sock"), "own", buf, sizeof(buf)), 3);
        int fd = us_connect(join(dir, "stray.sock"));
        cr_assert_eq(fd, -1, "nobody listens on the stray socket any more");
        cr_assert_eq(errno, ECONNREFUSED);
        daemon_stop(&d);
        rm_rf(dir);
        free(dir);
}

Test(spawn, config_errors_stop_the_daemon_with_ex_config)
{
        daemon_spawn(&d, "[socket:x]\npath = x.sock\nworker = nope\n", NULL);
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) == 78, "status 0x%x", s);
        cr_assert(daemon_log_has(&d, "unixsockd.conf:"), "errors name the file and line");
}

/* A path is any bytes but NUL: one that is not UTF-8, or holds a terminal's
 * escape, reaches the log escaped (\\xNN), never raw. */
Test(spawn, bytes_of_a_path_that_are_not_utf8_are_escaped_in_the_log)
{
        daemon_spawn(&d, "[socket:x]\npath = no-such-dir-\xff\x1b[2J/x.sock\nworker = cat\n\n"
                         "[worker:cat]\ncommand = /bin/cat\n", NULL);
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) != 0, "status 0x%x", s);
        cr_assert(daemon_log_has(&d, "no-such-dir-\\xff\\x1b[2J/x.sock: No such file or directory"));
        cr_assert(!daemon_log_has(&d, "\xff"), "no raw byte 0xff");
        cr_assert(!daemon_log_has(&d, "\x1b"), "no raw escape");
}

Test(spawn, listeners_go_to_the_fd_store_under_a_service_manager)
{
        char buf[512], ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { buf, sizeof(buf) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = sizeof(ctl) };

        /* read the notify socket ourselves, before READY: FDSTORE comes first */
        daemon_spawn(&d, echo_conf("", ""), NULL);
        cr_assert(readable_within(d.notify_fd, DEADLINE_MS));
        ssize_t n = recvmsg(d.notify_fd, &mh, MSG_CMSG_CLOEXEC);
        cr_assert_gt(n, 0);
        buf[n] = '\0';
        cr_assert(strstr(buf, "FDSTORE=1") && strstr(buf, "FDNAME=echo"), "%s", buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        cr_assert(c && c->cmsg_type == SCM_RIGHTS, "the listening fd comes with it");
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(fd));
        cr_assert(us_is_listener_fd(fd));
        close(fd);
        cr_assert(daemon_wait_ready(&d));
        daemon_stop(&d);
}

/* More sockets than the notify queue holds, under a manager that reads
 * nothing while the daemon starts: some FDSTORE= may have to be dropped (their
 * files are then the daemon's to remove), READY=1 never. */
Test(spawn, ready_is_never_dropped_behind_many_fd_store_messages)
{
        enum { SOCKETS = 400 };
        size_t cap = SOCKETS * 64 + 256, n = 0;
        char *text = malloc(cap);

        cr_assert_not_null(text);
        n += (size_t)snprintf(text + n, cap - n, "[worker:cat]\ncommand = /bin/cat\n\n");
        for (int i = 0; i < SOCKETS; i++)
                n += (size_t)snprintf(text + n, cap - n, "[socket:s%03d]\npath = s%03d.sock\nworker = cat\n", i, i);
        /* the harness reads its notify socket only while a test waits on it */
        daemon_spawn(&d, text, NULL);
        free(text);
        cr_assert(daemon_wait_log(&d, "started: 400 sockets"));
        cr_assert(daemon_wait_ready(&d), "READY=1 came after all");
        client_expect_echo(daemon_path(&d, "s399.sock"), "last");
        daemon_stop(&d);
}

Test(spawn, by_hand_the_socket_files_it_made_go_at_stop)
{
        char buf[64];
        struct stat st;

        harness_no_notify = true;
        daemon_spawn(&d, echo_conf("", ""), NULL);
        const char *p = daemon_path(&d, "echo.sock");
        cr_assert(wait_path(p));
        cr_assert_eq(client_exchange(p, "hand", buf, sizeof(buf)), 4);
        cr_assert(kill(d.pid, SIGTERM) == 0);
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) == 0);
        cr_assert(lstat(p, &st) < 0 && errno == ENOENT, "the socket file it created is gone");
}

Test(spawn, rate_limit_pauses_and_never_fails_a_client)
{
        char buf[64];
        int c[7];

        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, echo_conf("rate-limit = 3/2s\n", ""), debug);
        cr_assert(daemon_wait_ready(&d));
        const char *p = daemon_path(&d, "echo.sock");
        /* 7 clients at once: 3 per interval are accepted, the rest wait in the backlog */
        for (int i = 0; i < 7; i++) {
                c[i] = client_connect(p);
                cr_assert_eq(us_send(c[i], "r", 1), 1);
                shutdown(c[i], SHUT_WR);
        }
        cr_assert(daemon_wait_log(&d, "rate-limit 3 per 2000ms reached"));
        for (int i = 0; i < 7; i++) {
                cr_assert_eq(read_all_deadline(c[i], buf, sizeof(buf), DEADLINE_MS), 1,
                             "client %d served, late but not refused", i);
                close(c[i]);
        }
        daemon_stop(&d);
}

/* The lowest fd number pid does not use: with RLIMIT_NOFILE there, its next
 * accept(2) fails with EMFILE. */
static int lowest_free_fd(pid_t pid)
{
        char path[64];

        for (int fd = 0;; fd++) {
                snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
                if (access(path, F_OK) < 0)
                        return fd;
        }
}

Test(spawn, out_of_fds_pauses_accepting_and_resumes_when_they_come_back)
{
        struct rlimit old, low;
        char buf[64];
        int c[5];

        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("valgrind keeps its guest's fd table and limit itself: a prlimit from outside does not reach it");
        daemon_start(&d, echo_conf("", ""));
        const char *p = daemon_path(&d, "echo.sock");
        expect_echo_ok(p);
        cr_assert(prlimit(d.pid, RLIMIT_NOFILE, NULL, &old) == 0);
        low = old;
        low.rlim_cur = (rlim_t)lowest_free_fd(d.pid);
        cr_assert(prlimit(d.pid, RLIMIT_NOFILE, &low, NULL) == 0);
        for (int i = 0; i < 5; i++) {
                c[i] = client_connect(p); /* into the backlog: the daemon cannot take them */
                cr_assert_eq(us_send(c[i], "wait", 4), 4);
                shutdown(c[i], SHUT_WR);
        }
        cr_assert(daemon_wait_log(&d, "accept: Too many open files; accepting paused"));
        cr_assert_not(readable_within(c[0], 0), "not served while out of fds");
        cr_assert(kill(d.pid, 0) == 0, "and alive");
        cr_assert(prlimit(d.pid, RLIMIT_NOFILE, &old, NULL) == 0); /* fds come back */
        for (int i = 0; i < 5; i++) {
                cr_assert_eq(read_all_deadline(c[i], buf, sizeof(buf), DEADLINE_MS), 4,
                             "client %d served once fds are back", i);
                close(c[i]);
        }
        daemon_stop(&d);
}

/* Runs unixsockd with args to its exit; returns the exit status, stderr in err. */
static int run_cli(const char *const *args, char *err, size_t size)
{
        int pfd[2];
        const char *argv[16];
        int n = 0;

        argv[n++] = getenv("UNIXSOCKD");
        for (; *args; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        cr_assert(pipe(pfd) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(pfd[1], 2);
                dup2(pfd[1], 1);
                unsetenv("NOTIFY_SOCKET");
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(pfd[1]);
        cr_assert_geq(read_all_deadline(pfd[0], err, size, DEADLINE_MS), 0);
        close(pfd[0]);
        int st;
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st));
        return WEXITSTATUS(st);
}

Test(spawn, bad_command_lines_are_usage_errors)
{
        char err[4096];

        cr_assert_eq(run_cli((const char *[]){ "--bogus", NULL }, err, sizeof(err)), 64);
        cr_assert(strstr(err, "Usage: unixsockd"), "%s", err);
        cr_assert_eq(run_cli((const char *[]){ "--log-level=loud", NULL }, err, sizeof(err)), 64);
        cr_assert(strstr(err, "--log-level: 'loud'"), "%s", err);
        cr_assert_eq(run_cli((const char *[]){ "--log-target=syslog", NULL }, err, sizeof(err)), 64);
        cr_assert_eq(run_cli((const char *[]){ "extra", NULL }, err, sizeof(err)), 64);
        cr_assert(strstr(err, "unexpected argument 'extra'"), "%s", err);
        cr_assert_eq(run_cli((const char *[]){ "-c", "/nonexistent/x.conf", "--check", NULL }, err, sizeof(err)), 78);
        cr_assert(strstr(err, "/nonexistent/x.conf"), "%s", err);
        cr_assert_eq(run_cli((const char *[]){ "-c", "/dev/null", NULL }, err, sizeof(err)), 78, "no sockets at all");
        cr_assert_eq(run_cli((const char *[]){ "--version", NULL }, err, sizeof(err)), 0);
        cr_assert(strstr(err, "unixsockd "), "%s", err);
}

Test(spawn, check_prints_every_error_with_its_line)
{
        char err[8192], *dir = make_tmpdir();
        const char *path = join(dir, "bad.conf");
        FILE *f = fopen(path, "w");

        fputs("[socket:a]\npath = a.sock\nworker = w\nbacklog = 0\nfoo = 1\n"
              "[worker:w]\ncommand = /nonexistent\n[worker:x]\ncommand = /bin/cat\n", f);
        fclose(f);
        cr_assert_eq(run_cli((const char *[]){ "--check", "-c", path, NULL }, err, sizeof(err)), 78);
        char want[4096];
        snprintf(want, sizeof(want), "%s:4: backlog", path);
        cr_assert(strstr(err, want), "%s", err);
        snprintf(want, sizeof(want), "%s:5: unknown key 'foo'", path);
        cr_assert(strstr(err, want), "%s", err);
        snprintf(want, sizeof(want), "%s:7: command", path);
        cr_assert(strstr(err, want), "%s", err);
        snprintf(want, sizeof(want), "%s:8: [worker:x] is not used", path);
        cr_assert(strstr(err, want), "%s", err);
        rm_rf(dir);
        free(dir);
}

Test(spawn, peers_that_vanish_or_send_nothing_cost_nothing)
{
        char buf[64];

        daemon_start(&d, echo_conf("", ""));
        const char *p = daemon_path(&d, "echo.sock");
        expect_echo_ok(p); /* past start-up: READY and the fd store are sent */
        int before = count_socket_fds_of(d.pid);
        for (int i = 0; i < 200; i++)
                close(client_connect(p)); /* connect and vanish */
        int idle[20];
        for (int i = 0; i < 20; i++)
                idle[i] = client_connect(p); /* connect and say nothing */
        cr_assert_eq(client_exchange(p, "x", buf, sizeof(buf)), 1, "the daemon is not stuck on any of them");
        int after = count_socket_fds_of(d.pid);
        cr_assert_eq(after, before, "and holds no fd of theirs: %d sockets before, %d after", before, after);
        for (int i = 0; i < 20; i++)
                close(idle[i]);
        daemon_stop(&d);
}

/* No process can be made (RLIMIT_NPROC of the user the daemon runs as is
 * used up): the connection accepted waits, and is served as soon as a process
 * can be made again. */
Test(spawn, no_process_to_be_had_pauses_and_loses_no_connection)
{
        char buf[64];
        int hold[2];

        if (geteuid() != 0)
                cr_skip_test("needs root to run the daemon as another user");
        harness_uid = 65534;
        harness_nproc = 2; /* the daemon and one more process of nobody's */
        daemon_start(&d, echo_conf("mode = 0666\n", ""));
        const char *p = daemon_path(&d, "echo.sock");
        expect_echo_ok(p);
        /* another process of nobody's takes the last slot */
        int ready[2];
        char b;
        cr_assert(pipe(hold) == 0 && pipe(ready) == 0);
        pid_t other = fork();
        if (other == 0) {
                close(hold[1]);
                close(ready[0]);
                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(1);
                close(ready[1]); /* it is nobody's now */
                _exit(read(hold[0], &b, 1) < 0);
        }
        close(hold[0]);
        close(ready[1]);
        cr_assert_eq(read(ready[0], &b, 1), 0, "the other process took nobody's last slot");
        close(ready[0]);
        int c = client_connect(p);
        cr_assert_eq(us_send(c, "patience", 8), 8);
        shutdown(c, SHUT_WR);
        cr_assert(daemon_wait_log(&d, "cannot start a worker: Resource temporarily unavailable"));
        cr_assert_not(readable_within(c, 0), "waiting, not closed");
        close(hold[1]); /* the slot comes back */
        cr_assert_eq(waitpid(other, NULL, 0), other);
        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 8, "served once processes come back");
        cr_assert_str_eq(buf, "patience");
        close(c);
        daemon_stop(&d);
}

/* A worker that forks and exits leaves its child holding the connection.
 * Stop used to end as soon as the leaders were gone, leaving the child behind
 * after the daemon; now it waits for the worker's whole process group,
 * signalled at stop-timeout like the workers themselves. */
Test(spawn, stop_waits_for_what_a_worker_left_running)
{
        char line[64] = "";
        size_t n = 0;

        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\nstop-timeout = 200ms\nlog-level = debug\n\n"
                 "[socket:fork]\npath = fork.sock\nworker = fork\n\n"
                 "[worker:fork]\ncommand = /bin/sh -c \"sleep 1000 & echo $!\"\n");
        daemon_start(&d, conf);
        int c = client_connect(daemon_path(&d, "fork.sock"));
        while (n < sizeof(line) - 1 && !strchr(line, '\n')) {
                cr_assert(readable_within(c, DEADLINE_MS));
                ssize_t k = read(c, line + n, 1);
                cr_assert_eq(k, 1, "the worker's child pid");
                n++;
        }
        pid_t child = (pid_t)atoi(line);
        cr_assert_gt(child, 1);
        cr_assert(daemon_wait_log(&d, "exited with status 0"), "the worker itself is gone");
        cr_assert(kill(child, 0) == 0, "its child holds the connection");
        cr_assert(kill(d.pid, SIGTERM) == 0);
        cr_assert(daemon_wait_log(&d, "sending SIGTERM"), "stop waits, then signals the group");
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) == 0, "status 0x%x", s);
        cr_assert(kill(child, 0) < 0 && errno == ESRCH, "nothing of the worker outlives the daemon");
        char b;
        cr_assert(readable_within(c, DEADLINE_MS) && read(c, &b, 1) == 0, "the connection is closed");
        close(c);
}

/* A worker whose executable is gone fails for every connection: one error
 * line each would let any client flood the journal. At most 5 per 10 s, and
 * the next line that gets through counts those that did not. */
Test(spawn, failures_to_start_a_worker_are_rate_limited, .timeout = 120)
{
        /* valgrind runs clone(CLONE_VM|CLONE_VFORK) as a fork: the child's
         * failure never reaches the daemon's memory, so it cannot be seen */
        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("the exec failure report needs a shared address space, which valgrind does not emulate");
        char *bindir = make_tmpdir();
        const char *exe = strdup(join(bindir, "gone"));
        char buf[8];

        cr_assert(link("/bin/true", exe) == 0 || symlink("/bin/true", exe) == 0);
        snprintf(conf, sizeof(conf),
                 "[socket:gone]\npath = gone.sock\nworker = gone\n\n[worker:gone]\ncommand = %s\n", exe);
        daemon_start(&d, conf);
        cr_assert(unlink(exe) == 0);
        for (int i = 0; i < 200; i++)
                cr_assert_eq(client_exchange(daemon_path(&d, "gone.sock"), "", buf, sizeof(buf)), 0,
                             "closed at once");
        int lines = daemon_log_count(&d, "execve");
        cr_assert_gt(lines, 0, "the failure is reported");
        cr_assert_leq(lines, 5, "%d lines for 200 failures", lines);
        /* the next interval's first line counts what was not logged */
        while (!daemon_log_has(&d, "earlier failures not logged)")) {
                cr_assert(kill(d.pid, 0) == 0);
                cr_assert_eq(client_exchange(daemon_path(&d, "gone.sock"), "", buf, sizeof(buf)), 0);
                cr_assert_leq(daemon_log_count(&d, "execve"), 11, "bounded in every interval");
        }
        FILE *f = fopen(d.log, "r");
        char *line = NULL, *at;
        size_t cap = 0;
        unsigned long counted = 0;
        cr_assert_not_null(f);
        while (getline(&line, &cap, f) >= 0)
                if ((at = strstr(line, "execve")) && (at = strstr(at, " (")))
                        counted = strtoul(at + 2, NULL, 10);
        free(line);
        fclose(f);
        cr_assert_geq(counted, 195, "the count of the failures not logged: %lu", counted);
        daemon_stop(&d);
        rm_rf(bindir);
        free(bindir);
        free((void *)exe);
}
