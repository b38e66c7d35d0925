/* unixsockd reload (SIGHUP): the new configuration applies in place and loses
 * nothing on what it keeps; a bad file changes nothing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

static struct daemon d;

static void fini(void)
{
        daemon_cleanup(&d);
}

TestSuite(reload, .fini = fini, .timeout = 120);

static ino_t inode(const char *path)
{
        struct stat st;

        cr_assert(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
        return st.st_ino;
}

#define ECHO "[socket:echo]\npath = echo.sock\nworker = cat\n\n[worker:cat]\ncommand = /bin/cat\ninstances = 1\n\n"

Test(reload, a_bad_file_keeps_the_running_configuration)
{
        daemon_start(&d, ECHO);
        daemon_reload(&d, ECHO "[socket:broken]\npath = b.sock\nworker = nobody-here\n");
        cr_assert(daemon_log_has(&d, "unixsockd.conf:"), "the error names the file and line");
        cr_assert(daemon_log_has(&d, "the running configuration stays"));
        client_expect_echo(daemon_path(&d, "echo.sock"), "still served");
        cr_assert(access(daemon_path(&d, "b.sock"), F_OK) < 0);
        daemon_stop(&d);
}

/* The lines of the daemon's log that contain s. */
static int log_lines_with(const char *s, int *ret_at_err)
{
        FILE *f = fopen(d.log, "r");
        char *line = NULL, prefix[64];
        size_t cap = 0;
        int n = 0;

        cr_assert_not_null(f);
        snprintf(prefix, sizeof(prefix), "unixsockd[%d]: err: ", (int)d.pid);
        *ret_at_err = 0;
        while (getline(&line, &cap, f) >= 0)
                if (strstr(line, s)) {
                        n++;
                        *ret_at_err += strncmp(line, prefix, strlen(prefix)) == 0;
                }
        free(line);
        fclose(f);
        return n;
}

/* A reload's errors are logged as those at start: priority err, through the
 * logger; at most 50 of them, then one line that counts the rest, so a file
 * of 10,000 bad lines cannot flood the log. */
Test(reload, the_errors_of_a_bad_file_are_logged_and_bounded)
{
        size_t n = 10000, len = strlen(ECHO) + 2 * n + 1;
        char *text = malloc(len), file[600], more[700];
        int at_err;

        cr_assert_not_null(text);
        strcpy(text, ECHO);
        for (size_t i = 0; i < n; i++)
                strcat(text + strlen(ECHO) + 2 * i, "x\n");   /* syntax error: no '=' in 'x' */
        daemon_start(&d, ECHO);
        daemon_reload(&d, text);
        free(text);
        snprintf(file, sizeof(file), "%s:", d.conf);
        snprintf(more, sizeof(more), "%s: 9950 more errors not shown", d.conf);
        cr_assert(daemon_wait_log(&d, more));
        cr_assert_eq(log_lines_with(file, &at_err), 51, "50 errors and the count of the rest");
        cr_assert_eq(at_err, 51, "each one logged at priority err");
        cr_assert(daemon_log_has(&d, "syntax error: no '=' in 'x'"));
        cr_assert(daemon_log_has(&d, "the running configuration stays"));
        client_expect_echo(daemon_path(&d, "echo.sock"), "still served");
        daemon_stop(&d);
}

/* A FIFO in place of the file: the reload is refused at once, without
 * waiting in open(2) for a writer, and the daemon serves on. */
Test(reload, a_fifo_in_place_of_the_file_does_not_block_the_daemon)
{
        char msg[600];

        daemon_start(&d, ECHO);
        cr_assert_eq(unlink(d.conf), 0);
        cr_assert_eq(mkfifo(d.conf, 0600), 0);
        cr_assert(kill(d.pid, SIGHUP) == 0);
        cr_assert(daemon_wait_notify(&d, "RELOADING=1"));
        cr_assert(daemon_wait_notify(&d, "READY=1"), "the reload ends");
        snprintf(msg, sizeof(msg), "%s: not a regular file", d.conf);
        cr_assert(daemon_wait_log(&d, msg));
        cr_assert(daemon_log_has(&d, "the running configuration stays"));
        client_expect_echo(daemon_path(&d, "echo.sock"), "still served");
        daemon_stop(&d);
}

Test(reload, unchanged_socket_keeps_its_fd_and_queued_connections)
{
        char buf[64];

        daemon_start(&d, ECHO);
        const char *p = daemon_path(&d, "echo.sock");
        ino_t ino = inode(p);
        /* instances = 1: a holds the only worker, b waits in the backlog */
        int a = client_connect(p);
        cr_assert_eq(us_send(a, "a", 1), 1);
        cr_assert_eq(read_all_deadline(a, buf, 2, DEADLINE_MS), 1);
        int b = client_connect(p);
        cr_assert_eq(us_send(b, "queued", 6), 6);
        shutdown(b, SHUT_WR);
        daemon_reload(&d, ECHO "[socket:late]\npath = late.sock\nworker = late\n\n"
                         "[worker:late]\ncommand = /bin/cat\n");
        cr_assert_eq(inode(p), ino, "the same socket file");
        client_expect_echo(daemon_path(&d, "late.sock"), "a new socket serves");
        cr_assert_not(readable_within(b, 0), "b still waits");
        close(a);
        cr_assert_eq(read_all_deadline(b, buf, sizeof(buf), DEADLINE_MS), 6, "the queued connection is served");
        cr_assert_str_eq(buf, "queued");
        close(b);
        daemon_stop(&d);
}

Test(reload, removed_socket_closes_and_its_file_goes)
{
        daemon_start(&d, ECHO "[socket:gone]\npath = gone.sock\nworker = cat2\n\n"
                              "[worker:cat2]\ncommand = /bin/cat\n");
        client_expect_echo(daemon_path(&d, "gone.sock"), "here");
        daemon_reload(&d, ECHO);
        cr_assert(access(daemon_path(&d, "gone.sock"), F_OK) < 0 && errno == ENOENT);
        client_expect_echo(daemon_path(&d, "echo.sock"), "echo stays");
        daemon_stop(&d);
}

Test(reload, mode_change_applies_in_place)
{
        struct stat st;

        daemon_start(&d, "[socket:echo]\npath = echo.sock\nmode = 0600\nworker = cat\n\n"
                         "[worker:cat]\ncommand = /bin/cat\n");
        const char *p = daemon_path(&d, "echo.sock");
        ino_t ino = inode(p);
        daemon_reload(&d, "[socket:echo]\npath = echo.sock\nmode = 0644\nworker = cat\n\n"
                    "[worker:cat]\ncommand = /bin/cat\n");
        cr_assert(lstat(p, &st) == 0);
        cr_assert_eq(st.st_mode & 0777, 0644);
        cr_assert_eq(st.st_ino, ino);
        client_expect_echo(p, "same socket");
        daemon_stop(&d);
}

Test(reload, changed_worker_is_replaced_while_old_connections_finish)
{
        char buf[8192];
        char conf2[1024];

        daemon_start(&d, ECHO);
        const char *p = daemon_path(&d, "echo.sock");
        int a = client_connect(p);
        cr_assert_eq(us_send(a, "old", 3), 3);
        cr_assert_eq(read_all_deadline(a, buf, 4, DEADLINE_MS), 3);
        snprintf(conf2, sizeof(conf2),
                 "[socket:echo]\npath = echo.sock\nworker = cat\n\n[worker:cat]\ncommand = %s\n",
                 test_prog("probe-worker"));
        daemon_reload(&d, conf2);
        /* new connections go to the new command, even with the old one still busy */
        cr_assert_gt(client_exchange(p, "", buf, sizeof(buf)), 0);
        cr_assert(strstr(buf, "env:UNIXSOCKD_SOCKET=echo"), "the new worker answered: %s", buf);
        /* the old process serves its connection to the end */
        cr_assert_eq(us_send(a, "still", 5), 5);
        shutdown(a, SHUT_WR);
        cr_assert_eq(read_all_deadline(a, buf, sizeof(buf), DEADLINE_MS), 5);
        cr_assert_str_eq(buf, "still");
        close(a);
        daemon_stop(&d);
}

Test(reload, unchanged_pool_workers_keep_running)
{
        char conf1[1024];
        const char *debug[] = { "--log-level=debug", NULL };

        snprintf(conf1, sizeof(conf1),
                 "[socket:p]\npath = p.sock\nworker = p\n\n[worker:p]\ncommand = %s\ndispatch = pool\ninstances = 2\n\n",
                 getenv("POOL_ECHO"));
        daemon_spawn(&d, conf1, debug);
        cr_assert(daemon_wait_ready(&d));
        client_expect_echo(daemon_path(&d, "p.sock"), "pool");
        char both[2048];
        snprintf(both, sizeof(both), "%s" ECHO, conf1);
        daemon_reload(&d, both);
        cr_assert(daemon_log_has(&d, "0 workers replaced"));
        cr_assert_not(daemon_log_has(&d, "(pool 1 of 2, a restart)"));
        cr_assert_not(daemon_log_has(&d, "exited"), "no pool process stopped");
        client_expect_echo(daemon_path(&d, "p.sock"), "pool again");
        client_expect_echo(daemon_path(&d, "echo.sock"), "and echo");
        daemon_stop(&d);
}

/* Clients that keep connecting to path, each in its own process: connect,
 * send "load", half-close, read the echo; n times each. */
struct clients { pid_t pids[8]; int n; };

static void clients_start(struct clients *cl, int n, const char *path, int per_client)
{
        cl->n = n;
        for (int k = 0; k < n; k++) {
                cl->pids[k] = fork();
                cr_assert_geq(cl->pids[k], 0);
                if (cl->pids[k] > 0)
                        continue;
                char buf[64];
                for (int i = 0; i < per_client; i++) {
                        int fd = us_connect(path);
                        if (fd < 0 || us_send(fd, "load", 4) != 4)
                                _exit(1);
                        shutdown(fd, SHUT_WR);
                        if (read_all_deadline(fd, buf, sizeof(buf), DEADLINE_MS) != 4)
                                _exit(2);
                        close(fd);
                }
                _exit(0);
        }
}

static void clients_expect_all_served(struct clients *cl)
{
        for (int k = 0; k < cl->n; k++) {
                int st;
                cr_assert_eq(waitpid(cl->pids[k], &st, 0), cl->pids[k]);
                cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d failed (status 0x%x)", k, st);
        }
}

/* Clients keep connecting while the daemon reloads again and again: every
 * connection to a socket the reloads keep is served. */
Test(reload, reloads_under_load_lose_nothing, .timeout = 300)
{
        struct clients cl;

        daemon_start(&d, ECHO);
        clients_start(&cl, 4, daemon_path(&d, "echo.sock"), 150);
        for (int r = 0; r < 10; r++) {
                char text[512];
                /* alternate an extra socket in and out; echo's section stays */
                snprintf(text, sizeof(text), ECHO "%s",
                         r % 2 ? "" : "[socket:x]\npath = x.sock\nworker = x\n\n[worker:x]\ncommand = /bin/cat\n");
                daemon_reload(&d, text);
        }
        clients_expect_all_served(&cl);
        daemon_stop(&d);
}

static const char *pool_generation(int generation)
{
        static char text[1024];

        snprintf(text, sizeof(text),
                 "[socket:p]\npath = p.sock\nworker = p\n\n[worker:p]\ncommand = %s\ndispatch = pool\n"
                 "instances = 2\nenvironment = GENERATION=%d\n", getenv("POOL_ECHO"), generation);
        return text;
}

/* Every reload replaces the pool worker (its environment changes): the old
 * processes read every connection sent to them before their channel's EOF,
 * serve them, and exit 0; no client is lost. */
Test(reload, replacing_a_pool_worker_under_load_loses_nothing, .timeout = 300)
{
        struct clients cl;

        daemon_start(&d, pool_generation(0));
        clients_start(&cl, 4, daemon_path(&d, "p.sock"), 300);
        for (int r = 1; r <= 12; r++)
                daemon_reload(&d, pool_generation(r));
        clients_expect_all_served(&cl);
        cr_assert_not(daemon_log_has(&d, "exited with status 1"), "every retired worker finished cleanly");
        daemon_stop(&d);
}

static long vm_rss_kib(pid_t pid)
{
        char path[64], line[256];
        long kib = -1;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

/* What a reload replaces is freed once its processes are gone: a daemon
 * reloaded again and again does not grow. */
Test(reload, many_reloads_do_not_make_the_daemon_grow, .timeout = 300)
{
        char text[1024];
        long base = 0;

        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("under valgrind the RSS is valgrind's: it holds freed memory back on purpose");
#ifdef __SANITIZE_ADDRESS__
        cr_skip_test("AddressSanitizer quarantines freed memory: the RSS says nothing here");
#endif
        daemon_start(&d, ECHO);
        for (int r = 0; r < 400; r++) {
                snprintf(text, sizeof(text), ECHO "[socket:s%d]\npath = s%d.sock\nworker = w\n\n"
                         "[worker:w]\ncommand = /bin/cat\nenvironment = GENERATION=%d\n", r % 2, r % 2, r);
                daemon_reload(&d, text);
                if (r == 99) {
                        client_expect_echo(daemon_path(&d, "echo.sock"), "warm");
                        base = vm_rss_kib(d.pid);
                        cr_assert_gt(base, 0);
                }
        }
        client_expect_echo(daemon_path(&d, "echo.sock"), "after 400 reloads");
        long after = vm_rss_kib(d.pid);
        cr_assert_lt(after - base, 512, "300 more reloads grew the daemon from %ld KiB to %ld KiB", base, after);
        daemon_stop(&d);
}

/* A socket that comes back from the fd store (an earlier unixsockd published
 * it) and is then removed by a reload: its file goes, as if this daemon had
 * made it. One from a socket unit stays: it is systemd's. */
static void removed_inherited_socket(bool published_by_unixsockd, bool file_stays)
{
        char *dir = make_tmpdir();
        const char *path = join(dir, "inh.sock");
        char text[1024], buf[64];
        struct us_listener *l = NULL;
        int fd;

        if (published_by_unixsockd) {
                l = us_listen(path, 0);
                cr_assert_not_null(l);
                us_listener_set_unlink(l, false);
                fd = us_listener_fd(l);
        } else {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                fd = socket(AF_UNIX, SOCK_STREAM, 0); /* bound in place, as systemd does */
                strcpy(sa.sun_path, path);
                cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0);
        }
        harness_listen_fd = fd;
        harness_listen_name = "inh";
        snprintf(text, sizeof(text), ECHO "[socket:inh]\npath = %s\nworker = cat2\n\n[worker:cat2]\ncommand = /bin/cat\n", path);
        daemon_start(&d, text);
        /* only the daemon holds the socket now */
        if (l)
                us_close(l);
        else
                close(fd);
        cr_assert_eq(client_exchange(path, "mine", buf, sizeof(buf)), 4);
        daemon_reload(&d, ECHO);
        struct stat st;
        if (file_stays)
                cr_assert(lstat(path, &st) == 0, "a socket unit's file is systemd's to remove");
        else
                cr_assert(lstat(path, &st) < 0 && errno == ENOENT, "the stale file of a socket it published goes");
        client_expect_echo(daemon_path(&d, "echo.sock"), "still here");
        daemon_stop(&d);
        rm_rf(dir);
        free(dir);
}

Test(reload, removed_socket_from_the_fd_store_leaves_no_file)
{
        removed_inherited_socket(true, false);
}

Test(reload, removed_socket_from_a_socket_unit_is_left_to_it)
{
        removed_inherited_socket(false, true);
}

/* A service manager that reads nothing (busy, or stopped) used to stop the
 * daemon in sendmsg(2) once the notify socket's queue was full
 * (net.unix.max_dgram_qlen): every client waited. More reloads than that queue
 * holds, none of them acknowledged: the daemon goes on reloading and serving,
 * and once the manager reads, every RELOADING=1 and READY=1 arrives. */
Test(reload, a_service_manager_that_reads_nothing_does_not_stop_the_daemon, .timeout = 300)
{
        FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
        int qlen = 10, n, reloading = 0, ready = 0;
        char buf[4096];

        if (f) {
                if (fscanf(f, "%d", &qlen) != 1)
                        qlen = 10;
                fclose(f);
        }
        n = qlen + 20;
        daemon_start(&d, ECHO);
        for (int i = 1; i <= n; i++) {
                cr_assert(kill(d.pid, SIGHUP) == 0);
                cr_assert(daemon_wait_log_count(&d, "reloaded ", i), "reload %d of %d (queue %d)", i, n, qlen);
        }
        client_expect_echo(daemon_path(&d, "echo.sock"), "served");
        /* the manager reads at last: nothing was lost, in order */
        while (ready < n) {
                ssize_t k = recv(d.notify_fd, buf, sizeof(buf) - 1, 0);
                if (k < 0) {
                        cr_assert(readable_within(d.notify_fd, DEADLINE_MS), "%d RELOADING=1, %d READY=1 of %d",
                                  reloading, ready, n);
                        continue;
                }
                buf[k] = '\0';
                reloading += strstr(buf, "RELOADING=1") != NULL;
                ready += strstr(buf, "READY=1") != NULL;
                cr_assert_geq(reloading, ready, "RELOADING=1 comes before its READY=1");
        }
        cr_assert_eq(reloading, n);
        daemon_stop(&d);
}

/* The service manager makes its notify socket anew (systemctl daemon-reexec):
 * the daemon's connected socket finds the old one gone and connects again. */
Test(reload, a_notify_socket_made_anew_is_found_again)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        daemon_start(&d, ECHO);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", d.dir);
        close(d.notify_fd);
        cr_assert(unlink(sa.sun_path) == 0);
        d.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert(bind(d.notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        daemon_reload(&d, ECHO);
        cr_assert(daemon_log_has(&d, "reloaded"));
        daemon_stop(&d);
}
