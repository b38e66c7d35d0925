/* unixsockd with dispatch = pool and dispatch = listener: long-running
 * workers, the ACK/DONE channel, supervision. The real binary throughout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

TestSuite(pool, .fini = fini, .timeout = 180);

static char conf[8192];

static const char *pool_conf(const char *command, unsigned instances, const char *extra)
{
        snprintf(conf, sizeof(conf),
                 "[socket:p]\npath = p.sock\nworker = p\n\n"
                 "[worker:p]\ncommand = %s\ndispatch = pool\ninstances = %u\n%s\n",
                 command, instances, extra);
        return conf;
}

static void expect_echo(const char *path, const char *msg)
{
        char buf[4096];

        cr_assert_eq(client_exchange(path, msg, buf, sizeof(buf)), (ssize_t)strlen(msg),
                     "reply to '%s': '%s'", msg, buf);
        cr_assert_str_eq(buf, msg);
}

Test(pool, round_trip_with_the_c_example_worker)
{
        daemon_start(&d, pool_conf(getenv("POOL_ECHO"), 2, ""));
        for (int i = 0; i < 20; i++)
                expect_echo(daemon_path(&d, "p.sock"), "pooled hello");
        daemon_stop(&d);
}

Test(pool, round_trip_with_the_python_example_worker)
{
        daemon_start(&d, pool_conf(getenv("POOL_ECHO_PY"), 2, ""));
        for (int i = 0; i < 20; i++)
                expect_echo(daemon_path(&d, "p.sock"), "hello from python");
        daemon_stop(&d);
}

Test(pool, worker_holds_exactly_fds_0_to_3_and_its_channel_variables)
{
        char path[64], buf[8192];

        daemon_start(&d, pool_conf(getenv("POOL_ECHO"), 1, ""));
        expect_echo(daemon_path(&d, "p.sock"), "x"); /* idle again after this */
        pid_t pid = daemon_started_pid(&d, "p", 0);
        cr_assert_gt(pid, 0);
        cr_assert_eq(count_fds_of(pid), 4, "fds 0, 1, 2 and the channel");
        snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
        FILE *f = fopen(path, "r");
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        for (size_t i = 0; i < n; i++)
                if (!buf[i])
                        buf[i] = '\n';
        cr_assert(strstr(buf, "UNIXSOCKD_CHANNEL=3\n"), "%s", buf);
        cr_assert(strstr(buf, "UNIXSOCKD_SOCKET=p\n"));
        cr_assert_null(strstr(buf, "NOTIFY_SOCKET="));
        daemon_stop(&d);
}

static void hold_connections(int *fds, pid_t *pids, int n)
{
        probe_hold(daemon_path(&d, "p.sock"), fds, pids, n);
}

Test(pool, connections_spread_over_the_least_busy_workers)
{
        int fds[8];
        pid_t pids[8];

        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, pool_conf(test_prog("pool-probe"), 4, ""), debug);
        cr_assert(daemon_wait_ready(&d));
        hold_connections(fds, pids, 4);
        for (int i = 0; i < 4; i++)
                for (int j = 0; j < i; j++)
                        cr_assert_neq(pids[i], pids[j], "4 held connections on 4 different workers");
        /* the serial workers each hold one: with these four held, a fifth waits for one of them */
        close(fds[2]);
        char done[64];
        snprintf(done, sizeof(done), "connection 3 done by pid %d", (int)pids[2]);
        cr_assert(daemon_wait_log(&d, done));
        hold_connections(fds + 4, pids + 4, 1);
        cr_assert_eq(pids[4], pids[2], "the freed worker takes the next one");
        for (int i = 0; i < 5; i++)
                if (i != 2)
                        close(fds[i]);
        daemon_stop(&d);
}

Test(pool, done_releases_max_per_user)
{
        char buf[64];
        int a, b;

        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, pool_conf(test_prog("pool-probe"), 2, "max-per-user = 1\n"), debug);
        cr_assert(daemon_wait_ready(&d));
        const char *p = daemon_path(&d, "p.sock");
        a = client_connect(p);
        cr_assert_gt(read_all_deadline(a, buf, 8, DEADLINE_MS), 0);
        b = client_connect(p);
        cr_assert_eq(read_all_deadline(b, buf, sizeof(buf), DEADLINE_MS), 0, "second of one uid refused");
        close(b);
        cr_assert(daemon_wait_log(&d, "max-per-user"));
        close(a); /* its worker answers DONE: the uid's count drops */
        cr_assert(daemon_wait_log(&d, "connection 1 done by"));
        int c = client_connect(p);
        shutdown(c, SHUT_WR);
        cr_assert_gt(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0, "served again after the DONE");
        close(c);
        daemon_stop(&d);
}

static pid_t load_not_by;                       /* a client served by this pid fails (6) */

Test(pool, back_pressure_serves_every_client_beyond_capacity)
{
        struct load l;
        int fail[8] = { 0 };

        /* 2 serial workers; 400 clients at once: more than the workers, the
         * daemon's queue and the listen backlog together hold. */
        daemon_start(&d, pool_conf(test_prog("pool-probe"), 2, ""));
        load_start(&l, daemon_path(&d, "p.sock"), 400, 0);
        int ok = load_wait(&l, fail);
        cr_assert_eq(ok, 400, "served %d; connect failed %d, send %d, timeout %d, wrong reply %d",
                     ok, fail[2], fail[3], fail[4], fail[5]);
        daemon_stop(&d);
}

/* One client connects and sends nothing: its serial worker is busy for as
 * long as it stays. Every other client must go to the other worker, none
 * sent to wait behind the silent one (it stays connected until they are all
 * served: one that waited there would never be). */
static void expect_no_client_behind_a_silent_one(const char *command, const char *extra)
{
        struct load l;
        int fail[8] = { 0 };
        pid_t busy;
        int silent;

        daemon_start(&d, pool_conf(command, 2, extra));
        hold_connections(&silent, &busy, 1);
        load_not_by = busy;
        load_start(&l, daemon_path(&d, "p.sock"), 300, load_not_by);
        int ok = load_wait(&l, fail);
        load_not_by = 0;
        cr_assert_eq(ok, 300, "served %d; connect failed %d, send %d, timeout %d, wrong reply %d, "
                     "sent to the busy worker %d", ok, fail[2], fail[3], fail[4], fail[5], fail[6]);
        close(silent);
        daemon_stop(&d);
}

Test(pool, no_client_waits_behind_a_silent_one_while_another_worker_is_free)
{
        expect_no_client_behind_a_silent_one(test_prog("pool-probe"), "");
}

/* One of three workers dies of SIGKILL once a connection is sent to it,
 * taking nothing, while clients wait on it (mode: die-one, or die-one-batch
 * for one with a credit of 8, sent several at once). */
static void expect_nothing_lost_when_a_worker_is_killed(const char *mode)
{
        struct load l;
        int fail[8] = { 0 };

        const char *debug[] = { "--log-level=debug", NULL };
        char cmd[4200], sent[64];
        snprintf(cmd, sizeof(cmd), "%s %s @DIR@", test_prog("pool-probe"), mode);
        daemon_spawn(&d, pool_conf(cmd, 3, ""), debug);
        cr_assert(daemon_wait_ready(&d));
        cr_assert(wait_path(daemon_path(&d, "die")));
        FILE *f = fopen(daemon_path(&d, "die"), "r");
        int killed = 0;
        cr_assert(f && fscanf(f, "%d", &killed) == 1);
        fclose(f);
        load_start(&l, daemon_path(&d, "p.sock"), 200, load_not_by);
        int ok = load_wait(&l, fail);
        cr_assert_eq(ok, 200, "served %d; connect failed %d, timeout %d, wrong reply %d",
                     ok, fail[2], fail[4], fail[5]);
        snprintf(sent, sizeof(sent), "to pid %d", killed);
        cr_assert(daemon_wait_log(&d, sent), "a connection was sent to it");
        cr_assert(daemon_wait_log(&d, "killed by signal 9"));
        cr_assert(daemon_log_has(&d, "had not taken go to another"));
        daemon_stop(&d);
}

Test(pool, connections_a_killed_worker_had_not_taken_go_to_another)
{
        expect_nothing_lost_when_a_worker_is_killed("die-one");
}

Test(pool, a_batch_a_killed_worker_had_not_taken_goes_to_another)
{
        expect_nothing_lost_when_a_worker_is_killed("die-one-batch");
}

Test(pool, a_worker_that_never_acks_is_replaced_and_loses_nothing)
{
        char cmd[4200];
        struct load l;

        snprintf(cmd, sizeof(cmd), "%s stall-one @DIR@", test_prog("pool-probe"));
        daemon_start(&d, pool_conf(cmd, 2, ""));
        cr_assert(wait_path(daemon_path(&d, "stall")));
        load_start(&l, daemon_path(&d, "p.sock"), 20, load_not_by);
        cr_assert_eq(load_wait(&l, NULL), 20, "every client served, the stalled worker's share after its timeout");
        cr_assert(daemon_log_has(&d, "no ACK within 5s while idle"));
        cr_assert(daemon_log_has(&d, "had not taken go to another"));
        daemon_stop(&d);
}

Test(pool, a_worker_sending_garbage_is_stopped_and_its_connections_survive)
{
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "%s garbage", test_prog("pool-probe"));
        daemon_start(&d, pool_conf(cmd, 1, "restart-delay = 10ms\n"));
        cr_assert(daemon_wait_log(&d, "a malformed message on its channel"));
        /* it restarts (and misbehaves again), the daemon stays up and answers */
        cr_assert(daemon_wait_log(&d, "restart in"));
        daemon_stop(&d);
}

/* A worker that breaks the protocol is stopped and restarted; the daemon answers on. */
static void expect_protocol_error(const char *mode, const char *logged)
{
        char cmd[4200];

        snprintf(cmd, sizeof(cmd), "%s %s", test_prog("pool-probe"), mode);
        snprintf(conf, sizeof(conf),
                 "[socket:p]\npath = p.sock\nworker = p\n\n"
                 "[worker:p]\ncommand = %s\ndispatch = pool\ninstances = 1\nrestart-delay = 10ms\n\n"
                 "[socket:echo]\npath = echo.sock\nworker = cat\n\n[worker:cat]\ncommand = /bin/cat\n", cmd);
        daemon_start(&d, conf);
        int c = client_connect(daemon_path(&d, "p.sock"));
        cr_assert(daemon_wait_log(&d, logged));
        cr_assert(daemon_wait_log(&d, "restart in"));
        expect_echo(daemon_path(&d, "echo.sock"), "unbothered");
        close(c);
        daemon_stop(&d);
}

Test(pool, a_worker_answering_done_for_nothing_is_stopped)
{
        expect_protocol_error("wrong-done", "DONE for no connection it holds on its channel");
}

Test(pool, a_worker_flooding_its_channel_is_stopped)
{
        expect_protocol_error("flood", "ACK for no connection waiting on its channel");
}

Test(pool, a_worker_that_exits_at_once_backs_off_and_the_daemon_stays_responsive)
{
        snprintf(conf, sizeof(conf),
                 "[socket:p]\npath = p.sock\nworker = p\n\n"
                 "[worker:p]\ncommand = /bin/false\ndispatch = pool\ninstances = 1\n"
                 "restart-delay = 10ms\nrestart-delay-max = 160ms\n\n"
                 "[socket:echo]\npath = echo.sock\nworker = cat\n\n"
                 "[worker:cat]\ncommand = /bin/cat\n");
        daemon_start(&d, conf);
        const char *steps[] = { "restart in 10ms", "restart in 20ms", "restart in 40ms",
                                "restart in 80ms", "restart in 160ms" };
        for (size_t i = 0; i < 5; i++)
                cr_assert(daemon_wait_log(&d, steps[i]), "backoff step %s", steps[i]);
        /* STATUS= counts them (it is sent at most once a second: read until it does) */
        do
                cr_assert(daemon_wait_notify(&d, "STATUS="), "STATUS counts the restarts: %s", d.status);
        while (strstr(d.status, " 0 restarts"));
        expect_echo(daemon_path(&d, "echo.sock"), "still here");
        cr_assert(daemon_wait_log(&d, "earlier exits not logged)") || daemon_log_has(&d, "restart in 160ms"));
        cr_assert_not(daemon_log_has(&d, "restart in 320ms"), "capped at restart-delay-max");
        daemon_stop(&d);
}

/* A process that answers DONE and exits at once: its last answers are read
 * even when its exit is seen first, so nothing it served is handed out again.
 * (A connection sent to it that it never took does go to another.) */
Test(pool, what_an_exited_worker_served_is_not_handed_out_again)
{
        char cmd[4200], line[4096];
        static char done[1000];

        snprintf(cmd, sizeof(cmd), "%s once", test_prog("pool-probe"));
        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, pool_conf(cmd, 2, "restart = always\nrestart-delay = 1ms\nrestart-delay-max = 10ms\n"), debug);
        cr_assert(daemon_wait_ready(&d));
        for (int i = 0; i < 30; i++) {
                char buf[256];
                int c = client_connect(daemon_path(&d, "p.sock"));
                cr_assert_eq(us_send(c, "x", 1), 1);
                shutdown(c, SHUT_WR);
                ssize_t n = read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS);
                cr_assert_gt(n, 0);
                cr_assert_eq(buf[n - 1], 'x', "served: %s", buf);
                close(c);
        }
        cr_assert(kill(d.pid, SIGTERM) == 0);
        int st = daemon_wait_exit(&d);
        cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* the log, in order: no connection is sent anywhere after its DONE */
        FILE *f = fopen(d.log, "r");
        cr_assert_not_null(f);
        while (fgets(line, sizeof(line), f)) {
                unsigned id;
                char *p;
                if ((p = strstr(line, "worker p: connection ")) && sscanf(p, "worker p: connection %u", &id) == 1 &&
                    id < sizeof(done)) {
                        if (strstr(p, " done by "))
                                done[id] = 1;
                        else
                                cr_assert_not(done[id], "connection %u sent again after its DONE: %s", id, line);
                }
        }
        fclose(f);
}

/* ---- lost and dying processes --------------------------------------------- */

/* The pid a probe wrote to the daemon's directory under name. */
static pid_t probe_pid(const char *name)
{
        int pid = 0;

        cr_assert(wait_path(daemon_path(&d, name)), "%s written", name);
        FILE *f = fopen(daemon_path(&d, name), "r");
        cr_assert(f && fscanf(f, "%d", &pid) == 1);
        fclose(f);
        return pid;
}

/* One client of the probe: its echo after the "pid=N\n" greeting; returns N. */
static pid_t expect_probe_echo(const char *path, const char *msg)
{
        char buf[4096];

        ssize_t n = client_exchange(path, msg, buf, sizeof(buf));
        cr_assert_gt(n, 0, "a reply to '%s' (none at the deadline)", msg);
        char *nl = strchr(buf, '\n');
        cr_assert(strncmp(buf, "pid=", 4) == 0 && nl, "greeted: '%s'", buf);
        cr_assert_str_eq(nl + 1, msg);
        return atoi(buf + 4);
}

/* SIGTERM, a clean exit; its log stays to be read. */
static void stop_keeping_log(void)
{
        cr_assert(kill(d.pid, SIGTERM) == 0);
        int st = daemon_wait_exit(&d);
        cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "unixsockd exit status 0x%x", st);
}

static int log_count(const char *s)
{
        FILE *f = fopen(d.log, "r");
        char line[4096];
        int n = 0;

        while (f && fgets(line, sizeof(line), f))
                n += strstr(line, s) != NULL;
        if (f)
                fclose(f);
        return n;
}

Test(pool, a_worker_that_closes_its_channel_and_runs_on_is_stopped_and_replaced)
{
        char cmd[4200], want[128];

        /* the first process closes its channel at once and runs on; its replacement serves */
        snprintf(cmd, sizeof(cmd), "%s close-channel @DIR@", test_prog("pool-probe"));
        daemon_start(&d, pool_conf(cmd, 1, "restart-delay = 10ms\n"));
        pid_t lost = probe_pid("closed");
        pid_t by = expect_probe_echo(daemon_path(&d, "p.sock"), "after a lost channel");
        cr_assert_neq(by, lost);
        snprintf(want, sizeof(want), "warning: worker p: pid %d: closed its channel;", (int)lost);
        cr_assert(daemon_log_has(&d, want), "the loss logged at warning");
        snprintf(want, sizeof(want), "warning: worker p: pid %d killed by signal 15", (int)lost);
        cr_assert(daemon_wait_log(&d, want), "stopped with SIGTERM, its exit a failure");
        cr_assert(daemon_log_has(&d, "(pool 1 of 1, a restart)"));
        cr_assert_neq(kill(lost, 0), 0, "the lost process is gone");
        stop_keeping_log();
        /* the replacement's channel closes too at stop, after ours: no loss */
        cr_assert_eq(log_count("closed its channel;"), 1);
        cr_assert_eq(log_count("killed by signal 15"), 1, "its exit logged once");
}

Test(pool, a_process_exiting_0_with_a_connection_sent_to_it_failed_and_is_restarted)
{
        char cmd[4200], want[128];

        /* restart = on-failure (the default): the first process exits 0 once it is
         * sent the client, without taking it; the next one serves it */
        snprintf(cmd, sizeof(cmd), "%s quit-one @DIR@", test_prog("pool-probe"));
        daemon_start(&d, pool_conf(cmd, 1, "restart-delay = 10ms\n"));
        pid_t first = daemon_started_pid(&d, "p", 0);
        pid_t by = expect_probe_echo(daemon_path(&d, "p.sock"), "not held forever");
        cr_assert_neq(by, first);
        snprintf(want, sizeof(want), "warning: worker p: pid %d ", (int)first);
        cr_assert(daemon_log_has(&d, want), "its exit logged as a failure");
        daemon_stop(&d);
}

Test(pool, a_pool_with_no_process_and_no_restart_closes_what_it_holds)
{
        char cmd[4200], buf[256];

        /* restart = never: the one process exits 0 holding the client; nothing
         * will ever serve it, so it is closed, not held */
        snprintf(cmd, sizeof(cmd), "%s quit-one @DIR@", test_prog("pool-probe"));
        daemon_start(&d, pool_conf(cmd, 1, "restart = never\n"));
        int c = client_connect(daemon_path(&d, "p.sock"));
        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0, "closed, not held: '%s'", buf);
        close(c);
        cr_assert(daemon_wait_log(&d, "err: worker p: no process left and none will start: 1 queued connections closed"));
        /* and the next client learns it at once too */
        c = client_connect(daemon_path(&d, "p.sock"));
        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0, "refused: '%s'", buf);
        close(c);
        cr_assert(daemon_wait_log(&d, "refused uid"));
        daemon_stop(&d);
}

Test(pool, a_pool_whose_processes_exit_0_at_once_refuses_rather_than_holds)
{
        char cmd[4200], buf[256];

        /* restart = on-failure: a clean exit with nothing queued is not restarted */
        snprintf(cmd, sizeof(cmd), "%s exit0", test_prog("pool-probe"));
        daemon_start(&d, pool_conf(cmd, 1, ""));
        cr_assert(daemon_wait_log(&d, "exited with status 0"));
        cr_assert(daemon_wait_log(&d, "err: worker p: no process left and none will start: 0 queued connections closed"));
        int c = client_connect(daemon_path(&d, "p.sock"));
        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0, "refused at once: '%s'", buf);
        close(c);
        cr_assert(daemon_wait_log(&d, "has no process and none will start"));
        daemon_stop(&d);
}

/* Out of fds, a pool's ACK gives the daemon one back: accepting resumes on
 * it, not at the end of the 100 ms pause. */
Test(pool, out_of_fds_resumes_when_a_worker_takes_a_connection)
{
        struct load l;
        struct rlimit low;
        int fail[8] = { 0 }, held[2];
        pid_t pids[2];

        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("valgrind keeps its guest's fd table and limit itself: a prlimit from outside does not reach it");
        const char *debug[] = { "--log-level=debug", NULL };
        daemon_spawn(&d, pool_conf(test_prog("pool-probe"), 2, ""), debug);
        cr_assert(daemon_wait_ready(&d));
        /* both serial workers busy: what comes next waits in the daemon, an fd each */
        hold_connections(held, pids, 2);
        cr_assert(prlimit(d.pid, RLIMIT_NOFILE, NULL, &low) == 0);
        low.rlim_cur = (rlim_t)count_fds_of(d.pid) + 4;
        cr_assert(prlimit(d.pid, RLIMIT_NOFILE, &low, NULL) == 0);
        load_start(&l, daemon_path(&d, "p.sock"), 40, load_not_by);
        cr_assert(daemon_wait_log(&d, "accept: Too many open files; accepting paused"));
        /* the workers take the next ones: each ACK closes the daemon's copy
         * (shutdown: the clients forked since hold copies of these fds) */
        for (int i = 0; i < 2; i++) {
                shutdown(held[i], SHUT_RDWR);
                close(held[i]);
        }
        int ok = load_wait(&l, fail);
        cr_assert_eq(ok, 40, "served %d; connect failed %d, send %d, timeout %d, wrong reply %d",
                     ok, fail[2], fail[3], fail[4], fail[5]);
        cr_assert(daemon_log_has(&d, "socket p: a resource came back: accepting again"),
                  "resumed by a freed fd, not only by the timer");
        daemon_stop(&d);
}

/* ---- listener dispatch ---------------------------------------------------- */

Test(pool, listener_mode_runs_systemd_socket_proxyd_unchanged)
{
        char buf[256];

        snprintf(conf, sizeof(conf),
                 "[socket:front]\npath = front.sock\nworker = proxy\n\n"
                 "[worker:proxy]\ncommand = /lib/systemd/systemd-socket-proxyd @DIR@/back.sock\n"
                 "dispatch = listener\n\n"
                 "[socket:back]\npath = back.sock\nworker = cat\n\n"
                 "[worker:cat]\ncommand = /bin/cat\n");
        daemon_start(&d, conf);
        cr_assert_not(daemon_log_has(&d, "worker proxy: started"), "started on the first connection only");
        for (int i = 0; i < 5; i++) {
                /* the proxy drops a connection on the client's half-close: keep it open */
                int c = client_connect(daemon_path(&d, "front.sock"));
                cr_assert_eq(us_send(c, "through the proxy\n", 18), 18);
                size_t got = 0;
                while (got < 18) {
                        cr_assert(readable_within(c, DEADLINE_MS));
                        ssize_t n = read(c, buf + got, sizeof(buf) - got);
                        cr_assert_gt(n, 0);
                        got += (size_t)n;
                }
                cr_assert(memcmp(buf, "through the proxy\n", 18) == 0);
                close(c);
        }
        pid_t pid = daemon_started_pid(&d, "proxy", 0);
        cr_assert_gt(pid, 0);
        cr_assert_eq(daemon_started_pid(&d, "proxy", 1), -1, "one proxy serves every connection");
        char path[64], env[8192];
        snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
        FILE *f = fopen(path, "r");
        size_t n = fread(env, 1, sizeof(env) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
                if (!env[i])
                        env[i] = '\n';
        env[n] = '\0';
        char want[64];
        snprintf(want, sizeof(want), "LISTEN_PID=%d\n", (int)pid);
        cr_assert(strstr(env, "LISTEN_FDS=1\n") && strstr(env, want) && strstr(env, "LISTEN_FDNAMES=front\n"), "%s", env);
        daemon_stop(&d);
}

Test(pool, listener_worker_gets_every_socket_and_nothing_else)
{
        snprintf(conf, sizeof(conf),
                 "[socket:a]\npath = a.sock\nworker = probe\n\n"
                 "[socket:b]\npath = b.sock\nworker = probe\n\n"
                 "[worker:probe]\ncommand = %s\ndispatch = listener\n",
                 test_prog("probe-worker"));
        daemon_start(&d, conf);
        int c = client_connect(daemon_path(&d, "b.sock"));
        /* the probe reports to its stdout, the daemon's log here, and exits without accepting */
        cr_assert(daemon_wait_log(&d, "fds=0,1,2,3,4,"));
        cr_assert(daemon_log_has(&d, "env:LISTEN_FDS=2"));
        cr_assert(daemon_log_has(&d, "env:LISTEN_FDNAMES=a:b"));
        /* a connection is still waiting: it is started again, throttled */
        cr_assert(daemon_wait_log(&d, "restart in"));
        close(c);
        daemon_stop(&d);
}

Test(pool, a_listener_worker_exiting_0_with_clients_waiting_failed)
{
        snprintf(conf, sizeof(conf),
                 "[socket:a]\npath = a.sock\nworker = probe\n\n"
                 "[worker:probe]\ncommand = %s\ndispatch = listener\nrestart-delay = 10ms\n",
                 test_prog("probe-worker"));
        daemon_start(&d, conf);
        /* it exits 0 without accepting: the client still waits, so that is a failure */
        int c = client_connect(daemon_path(&d, "a.sock"));
        cr_assert(daemon_wait_log(&d, "warning: worker probe: pid "), "its exit logged at warning");
        cr_assert(daemon_wait_log(&d, "restart in"));
        close(c);
        daemon_stop(&d);
}

/* ---- protocol version 1 ------------------------------------------------------ */

static const char *probe_v1(void)
{
        static char cmd[4200];

        snprintf(cmd, sizeof(cmd), "%s v1", test_prog("pool-probe"));
        return cmd;
}

Test(pool, a_version_1_worker_is_served_in_version_1)
{
        daemon_start(&d, pool_conf(probe_v1(), 2, ""));
        expect_probe_echo(daemon_path(&d, "p.sock"), "hello v1");
        expect_probe_echo(daemon_path(&d, "p.sock"), "and again");
        daemon_stop(&d);
}

Test(pool, max_concurrent_1_keeps_version_1_workers_from_queueing_behind_a_silent_client)
{
        expect_no_client_behind_a_silent_one(probe_v1(), "max-concurrent = 1\n");
}

/* ---- limits ------------------------------------------------------------------- */

/* The soft "Max open files" of pid. */
static long long soft_nofile(pid_t pid)
{
        char path[64], line[256];
        long long soft = -1;

        snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Max open files %lld", &soft) == 1)
                        break;
        fclose(f);
        return soft;
}

Test(pool, the_daemon_raises_its_fd_limit_and_its_workers_keep_the_one_it_was_given)
{
        struct rlimit old, low;
        pid_t worker;
        int fd;

        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("valgrind keeps the process's limits to itself and shows its guest its own");
        cr_assert(getrlimit(RLIMIT_NOFILE, &old) == 0);
        cr_assert_gt(old.rlim_max, 256, "the hard limit leaves room to raise: %llu", (unsigned long long)old.rlim_max);
        low = (struct rlimit){ .rlim_cur = 256, .rlim_max = old.rlim_max };
        cr_assert(setrlimit(RLIMIT_NOFILE, &low) == 0);
        daemon_start(&d, pool_conf(test_prog("pool-probe"), 1, ""));
        cr_assert(setrlimit(RLIMIT_NOFILE, &old) == 0);
        hold_connections(&fd, &worker, 1);
        cr_assert_eq(soft_nofile(d.pid), (long long)old.rlim_max, "the daemon: its hard limit");
        cr_assert_eq(soft_nofile(worker), 256, "its worker: what the daemon was started with");
        close(fd);
        daemon_stop(&d);
}
