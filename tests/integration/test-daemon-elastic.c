/* Pools that size themselves (instances = MIN-MAX, idle-timeout), recycling
 * (max-connections) and runtime-max of a pool connection, against the real
 * daemon and pool-probe workers (serial: one connection at a time). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

static struct daemon d;

static void fini(void)
{
        daemon_cleanup(&d);
}

TestSuite(elastic, .fini = fini, .timeout = 180);

static const char *conf(const char *worker_keys)
{
        return fmt("[unixsockd]\nruntime-directory = @DIR@\nstop-timeout = 2s\n\n"
                   "[socket:p]\npath = p.sock\nworker = p\n\n"
                   "[worker:p]\ncommand = %s\ndispatch = pool\n%s\n",
                   test_prog("pool-probe"), worker_keys);
}

/* One client: its echo after the probe's "pid=N\n"; returns N. */
static pid_t served_by(const char *msg)
{
        char buf[4096];
        ssize_t n = client_exchange(daemon_path(&d, "p.sock"), msg, buf, sizeof(buf));

        cr_assert_gt(n, 0, "a reply to '%s'", msg);
        char *nl = strchr(buf, '\n');
        cr_assert(strncmp(buf, "pid=", 4) == 0 && nl, "greeted: '%s'", buf);
        cr_assert_str_eq(nl + 1, msg);
        return atoi(buf + 4);
}

/* Worker p of `unixsockctl --json status`; *ret_all is the answer (put it). */
static json_object *worker_status(json_object **ret_all)
{
        char *out = daemon_ctl(&d, "--json status p");
        json_object *all = json_tokener_parse(out), *workers, *w;

        cr_assert_not_null(all, "status is JSON: %s", out);
        free(out);
        cr_assert(json_object_object_get_ex(all, "workers", &workers));
        w = json_object_array_get_idx(workers, 0);
        cr_assert_not_null(w);
        *ret_all = all;
        return w;
}

static long long jint(json_object *o, const char *key)
{
        json_object *v;

        cr_assert(json_object_object_get_ex(o, key, &v), "%s in %s", key, json_object_to_json_string(o));
        return (long long)json_object_get_int64(v);
}

/* Processes of p running now (not on their way out), as status says. */
static int running_now(void)
{
        json_object *all, *w = worker_status(&all), *procs;
        int n = 0;

        cr_assert(json_object_object_get_ex(w, "processes", &procs));
        for (size_t i = 0; i < json_object_array_length(procs); i++) {
                json_object *p = json_object_array_get_idx(procs, i), *st;
                cr_assert(json_object_object_get_ex(p, "state", &st));
                const char *s = json_object_get_string(st);
                n += strcmp(s, "idle") == 0 || strcmp(s, "busy") == 0 || strcmp(s, "starting") == 0;
        }
        json_object_put(all);
        return n;
}

/* Waits until n processes run (a recycled one leaving, its successor on its
 * way: the count settles once both are done). */
static void wait_running(int n)
{
        long long deadline = now_ms() + DEADLINE_MS;
        int k;

        while ((k = running_now()) != n)
                cr_assert_gt(ms_left(deadline), 0, "%d processes run at the deadline, not %d", k, n);
}

/* Connections of socket p the daemon holds, waiting for a process. */
static long long queued_now(void)
{
        char *out = daemon_ctl(&d, "--json status p");
        json_object *all = json_tokener_parse(out), *sockets;
        long long q;

        free(out);
        cr_assert(all && json_object_object_get_ex(all, "sockets", &sockets));
        q = jint(json_object_array_get_idx(sockets, 0), "queued");
        json_object_put(all);
        return q;
}

static void wait_queued(long long n)
{
        long long deadline = now_ms() + DEADLINE_MS;

        /* each look is a round trip to the daemon: it waits on its answer */
        while (queued_now() != n)
                cr_assert_gt(ms_left(deadline), 0, "%lld connections queued at the deadline", n);
}

/* Until the processes of p hold n connections in all. */
static void wait_in_service(long long n)
{
        long long deadline = now_ms() + DEADLINE_MS;

        for (;;) {
                json_object *all, *w = worker_status(&all), *procs;
                long long busy = 0;
                cr_assert(json_object_object_get_ex(w, "processes", &procs));
                for (size_t i = 0; i < json_object_array_length(procs); i++)
                        busy += jint(json_object_array_get_idx(procs, i), "in_service");
                json_object_put(all);
                if (busy == n)
                        return;
                cr_assert_gt(ms_left(deadline), 0, "%lld connections held at the deadline, not %lld", busy, n);
        }
}

static void wait_all_idle(void)
{
        wait_in_service(0);
}

static int started_count(void)
{
        pid_t pids[256];

        return (int)daemon_started_pids(&d, "p", pids, 256);
}

Test(elastic, a_pool_of_0_to_4_starts_a_process_for_its_first_client_and_stops_it_when_idle)
{
        daemon_start(&d, conf("instances = 0-4\nidle-timeout = 300ms\n"));
        cr_assert_eq(started_count(), 0, "MIN = 0: nothing runs before a client comes");
        cr_assert_eq(running_now(), 0);

        pid_t first = served_by("first");
        cr_assert_eq(started_count(), 1);
        cr_assert_eq(daemon_started_pid(&d, "p", 0), first);
        cr_assert(daemon_wait_log(&d, fmt("pid %d: idle for", (int)first)), "stopped once idle");
        cr_assert(daemon_wait_log(&d, fmt("pid %d exited with status 0", (int)first)));
        cr_assert_eq(running_now(), 0, "back to MIN = 0");
        cr_assert(!daemon_log_has(&d, "restart in"), "an idle process stopped is not restarted");

        pid_t second = served_by("second");
        cr_assert_neq(second, first, "the next client starts a new one");
        daemon_stop(&d);
}

Test(elastic, a_burst_grows_the_pool_to_max_and_no_further)
{
        int held[4], waiting[2];
        pid_t pids[4];

        daemon_start(&d, conf("instances = 1-4\nidle-timeout = 1min\n"));
        cr_assert_eq(started_count(), 1, "MIN = 1 at start");
        probe_hold(daemon_path(&d, "p.sock"), held, pids, 4);
        for (int i = 0; i < 4; i++)
                for (int j = 0; j < i; j++)
                        cr_assert_neq(pids[i], pids[j], "4 held clients, 4 processes");
        /* two more: every process is busy, the pool is at MAX */
        for (int i = 0; i < 2; i++)
                waiting[i] = client_connect(daemon_path(&d, "p.sock"));
        wait_queued(2);
        cr_assert_eq(started_count(), 4, "MAX = 4: no fifth process");
        cr_assert_eq(running_now(), 4);
        for (int i = 0; i < 4; i++)
                close(held[i]);
        for (int i = 0; i < 2; i++) {
                pid_t by = probe_greeting(waiting[i]);
                cr_assert(by == pids[0] || by == pids[1] || by == pids[2] || by == pids[3],
                          "served by one of the four (%d)", (int)by);
                close(waiting[i]);
        }
        cr_assert_eq(started_count(), 4);
        daemon_stop(&d);
}

Test(elastic, a_crashing_program_is_throttled_by_its_backoff_not_started_per_client)
{
        int fds[4];

        /* it exits at once, leaving its client: a failure, restarted in 1min */
        daemon_start(&d, fmt("[unixsockd]\nruntime-directory = @DIR@\n\n[socket:p]\npath = p.sock\nworker = p\n\n"
                             "[worker:p]\ncommand = %s exit0\ndispatch = pool\ninstances = 0-8\n"
                             "restart-delay = 1min\nrestart-delay-max = 1min\n",
                             test_prog("pool-probe")));
        fds[0] = client_connect(daemon_path(&d, "p.sock"));
        cr_assert(daemon_wait_log(&d, "restart in 60000ms"));
        for (int i = 1; i < 4; i++)
                fds[i] = client_connect(daemon_path(&d, "p.sock"));
        wait_queued(4);
        cr_assert_eq(started_count(), 1, "no other place starts while one waits out its backoff");
        for (int i = 0; i < 4; i++)
                close(fds[i]);
        daemon_stop(&d);
}

Test(elastic, after_a_burst_of_8_a_pool_of_1_to_8_is_back_to_1_and_that_one_serves)
{
        int held[8];
        pid_t pids[8];

        daemon_start(&d, conf("instances = 1-8\nidle-timeout = 500ms\n"));
        probe_hold(daemon_path(&d, "p.sock"), held, pids, 8);
        cr_assert_eq(started_count(), 8, "grown to 8 for 8 concurrent clients");
        /* the one used last: neither the first started nor the last */
        for (int i = 0; i < 8; i++)
                if (i != 5)
                        close(held[i]);
        wait_in_service(1);
        close(held[5]);
        wait_all_idle();
        /* The idle process used last takes the next client, and the next:
         * with round-robin every process would stay warm and none be stopped. */
        pid_t warm = served_by("one");
        cr_assert_eq(warm, pids[5], "the idle process used last");
        for (int i = 0; i < 4; i++) {
                wait_all_idle(); /* its DONE read: the client saw its end first */
                cr_assert_eq(served_by("again"), warm, "sequential clients stay on one process");
        }
        cr_assert(daemon_wait_log_count(&d, ": idle for", 7), "seven stopped once idle");
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", 7));
        cr_assert_eq(running_now(), 1, "back to MIN = 1");
        cr_assert(!daemon_log_has(&d, fmt("pid %d: idle for", (int)warm)), "the one in use stays");
        wait_all_idle();
        cr_assert_eq(served_by("after"), warm);
        cr_assert_eq(started_count(), 8, "and no start since");
        daemon_stop(&d);
}

Test(elastic, recycling_after_max_connections_loses_no_connection_under_load)
{
        struct load l;
        int fail[8] = { 0 };

        /* 2 processes, each replaced after 10 connections; 200 clients at once */
        daemon_start(&d, conf("instances = 2\nmax-connections = 10\n"));
        load_start(&l, daemon_path(&d, "p.sock"), 200, 0);
        int ok = load_wait(&l, fail);
        cr_assert_eq(ok, 200, "served %d; connect failed %d, send %d, timeout %d, wrong reply %d", ok, fail[2],
                     fail[3], fail[4], fail[5]);
        int replaced = daemon_log_count(&d, "(max-connections): replaced by pid");
        cr_assert_geq(replaced, 18, "200 connections, 10 a process: at least 18 replacements (%d)", replaced);
        cr_assert_geq(started_count(), 20);
        cr_assert(!daemon_log_has(&d, "had not taken"), "nothing handed out twice or lost");
        wait_running(2); /* capacity as configured, once the last ones are replaced */
        daemon_stop(&d);
}

Test(elastic, a_recycled_process_is_sent_no_more_than_max_connections)
{
        pid_t by[7];

        daemon_start(&d, conf("instances = 1\nmax-connections = 3\n"));
        for (int i = 0; i < 7; i++)
                by[i] = served_by(fmt("client %d", i));
        cr_assert(by[0] == by[1] && by[1] == by[2], "the first three on the first process");
        cr_assert(by[3] != by[0] && by[3] == by[4] && by[4] == by[5], "the next three on its successor");
        cr_assert(by[6] != by[3] && by[6] != by[0]);
        cr_assert(daemon_wait_log(&d, fmt("pid %d exited with status 0", (int)by[0])),
                  "the spent one exits, once its channel is closed");
        daemon_stop(&d);
}

/* A client served by fd's probe: it sends msg, half-closes, reads the echo. */
static void expect_echo_on(int fd, const char *msg)
{
        char buf[256];

        cr_assert_eq(us_send(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
        shutdown(fd, SHUT_WR);
        cr_assert_eq(read_all_deadline(fd, buf, sizeof(buf), DEADLINE_MS), (ssize_t)strlen(msg), "echo of '%s'", msg);
        cr_assert_str_eq(buf, msg);
}

Test(elastic, a_replaced_process_serves_its_long_connection_to_the_end)
{
        int held, tick;
        pid_t old;

        /* stop-timeout 300ms; a spawn worker cut off by its runtime-max of
         * 1s is the test's clock: when that is logged, more than
         * stop-timeout has passed since the replacement */
        daemon_start(&d, fmt("[unixsockd]\nruntime-directory = @DIR@\nstop-timeout = 300ms\n\n"
                             "[socket:p]\npath = p.sock\nworker = p\n\n"
                             "[worker:p]\ncommand = %s\ndispatch = pool\ninstances = 1\nmax-connections = 1\n\n"
                             "[socket:clock]\npath = clock.sock\nworker = clock\n\n"
                             "[worker:clock]\ncommand = /bin/sleep 1000\nruntime-max = 1s\n",
                             test_prog("pool-probe")));
        probe_hold(daemon_path(&d, "p.sock"), &held, &old, 1);
        cr_assert(daemon_wait_log(&d, fmt("pid %d: was sent 1 connections (max-connections): replaced by", (int)old)));
        tick = client_connect(daemon_path(&d, "clock.sock"));
        cr_assert(daemon_wait_log(&d, "after runtime-max 1000ms"));
        cr_assert(!daemon_log_has(&d, fmt("pid %d: still running", (int)old)),
                  "no grace runs out while it serves what it holds");
        expect_echo_on(held, "still served");
        close(held);
        cr_assert(daemon_wait_log(&d, fmt("pid %d exited with status 0", (int)old)), "then it exits");
        close(tick);
        daemon_stop(&d);
}

Test(elastic, a_reload_with_clients_queued_on_a_spent_process_serves_them_all)
{
        int held, waiting[4];
        pid_t a;

        /* one serial process, replaced after 3: the clock of the old worker
         * runs out while 4 wait, and a reload replaces the worker */
        daemon_start(&d, conf("instances = 1\nmax-connections = 3\nmax-concurrent = 1\n"));
        probe_hold(daemon_path(&d, "p.sock"), &held, &a, 1);
        for (int i = 0; i < 4; i++)
                waiting[i] = client_connect(daemon_path(&d, "p.sock"));
        wait_queued(4);
        daemon_reload(&d, conf("instances = 1\nmax-connections = 4\nmax-concurrent = 1\n"));
        close(held);
        for (int i = 0; i < 4; i++) {
                probe_greeting(waiting[i]);
                expect_echo_on(waiting[i], fmt("queued %d", i));
                close(waiting[i]);
        }
        daemon_stop(&d);
}

Test(elastic, runtime_max_stops_a_pool_process_holding_a_connection_too_long)
{
        int held;
        pid_t hung;
        char buf[64];

        daemon_start(&d, conf("instances = 1\nruntime-max = 300ms\nrestart-delay = 10ms\n"));
        probe_hold(daemon_path(&d, "p.sock"), &held, &hung, 1);
        /* the client sends nothing: the probe waits for it, its connection not DONE */
        cr_assert(daemon_wait_log(&d, fmt("pid %d: connection 1 not done after 300ms (runtime-max)", (int)hung)));
        cr_assert_eq(read_all_deadline(held, buf, sizeof(buf), DEADLINE_MS), 0, "the client sees its end");
        close(held);
        cr_assert(daemon_wait_log(&d, fmt("pid %d killed by signal 15", (int)hung)));
        pid_t next = served_by("after");
        cr_assert_neq(next, hung, "a new process in its place");
        daemon_stop(&d);
}

Test(elastic, a_connection_done_within_runtime_max_is_not_touched)
{
        daemon_start(&d, conf("instances = 1\nruntime-max = 1min\n"));
        pid_t a = served_by("quick");
        cr_assert_eq(served_by("quick again"), a);
        cr_assert(!daemon_log_has(&d, "runtime-max"));
        daemon_stop(&d);
}

Test(elastic, status_shows_the_bounds_the_size_and_what_each_process_served)
{
        json_object *all, *w, *procs;

        daemon_start(&d, conf("instances = 1-3\n"));
        pid_t a = served_by("1");
        wait_all_idle();
        cr_assert_eq(served_by("2"), a);
        wait_all_idle();
        cr_assert_eq(served_by("3"), a);
        wait_all_idle();
        w = worker_status(&all);
        cr_assert_eq(jint(w, "instances_min"), 1);
        cr_assert_eq(jint(w, "instances"), 3);
        cr_assert_eq(jint(w, "running"), 1);
        cr_assert(json_object_object_get_ex(w, "processes", &procs));
        cr_assert_eq(json_object_array_length(procs), 1, "places above MIN where nothing runs are not listed");
        cr_assert_eq(jint(json_object_array_get_idx(procs, 0), "pid"), a);
        cr_assert_eq(jint(json_object_array_get_idx(procs, 0), "served"), 3);
        json_object_put(all);
        char *table = daemon_ctl(&d, "status p");
        cr_assert(strstr(table, "1-3"), "the table shows the bounds: %s", table);
        free(table);
        daemon_stop(&d);
}
