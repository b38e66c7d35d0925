/* unixsockd with dispatch = listener and instances = 3: copies of one
 * socket-activated program sharing the listening sockets. The real binary
 * and tests/harness/listener-probe, which answers every client with what it
 * was given and keeps the connection until the client closes it (so a held
 * connection keeps its copy busy and the next one goes to another copy). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

#define EX_CONFIG 78
#define COPIES 3

static struct daemon d;
static json_object *kept[64];           /* status answers, put in fini */
static size_t n_kept;

static void fini(void)
{
        /* A test that failed left the daemon running: its copies, in their own
         * process groups, would outlive it. Stopped, it reaps none of them,
         * so no pid read from its log can have been reused. */
        if (d.pid > 0 && kill(d.pid, SIGSTOP) == 0) {
                pid_t pid;
                for (int i = 0; (pid = daemon_started_pid(&d, "l", (size_t)i)) > 0; i++)
                        (void)kill(-pid, SIGKILL);
        }
        daemon_cleanup(&d);
        for (size_t i = 0; i < n_kept; i++)
                json_object_put(kept[i]);
        n_kept = 0;
}

TestSuite(listener, .fini = fini, .timeout = 180);

static char conf[8192];

/* Sockets a and b for the worker l: n copies of listener-probe TAG. */
static const char *listener_conf_n(int n, const char *tag, const char *extra)
{
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n\n"
                 "[socket:a]\npath = a.sock\nworker = l\n\n"
                 "[socket:b]\npath = b.sock\nworker = l\n\n"
                 "[worker:l]\ncommand = %s %s\ndispatch = listener\ninstances = %d\n%s",
                 test_prog("listener-probe"), tag, n, extra);
        return conf;
}

static const char *listener_conf(const char *tag, const char *extra)
{
        return listener_conf_n(COPIES, tag, extra);
}

static void start(const char *text)
{
        daemon_start(&d, text);
        cr_assert(wait_path(daemon_path(&d, "control.sock")), "no control socket");
}

/* ---- a client ---------------------------------------------------------------- */

/* What a copy answered. */
struct report {
        int fd;                         /* the connection, while held */
        pid_t pid;
        char fds[128], tag[32], listen_pid[32], listen_fds[32], fdnames[128], socket[128];
};

static void field(const char *text, const char *key, char *out, size_t size)
{
        const char *p = strstr(text, key);

        cr_assert_not_null(p, "no '%s' in the report: %s", key, text);
        p += strlen(key);
        snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Connects to socket name, reads the whole report, keeps the connection. */
static struct report hold(const char *name)
{
        struct report r = { .fd = client_connect(daemon_path(&d, fmt("%s.sock", name))) };
        long long deadline = now_ms() + DEADLINE_MS;
        char buf[4096], pid[32];
        size_t n = 0;

        cr_assert_geq(r.fd, 0, "connect %s: %s", name, strerror(errno));
        while (n < 5 || memcmp(buf + n - 4, "end\n", 4) != 0) {
                cr_assert(readable_within(r.fd, ms_left(deadline)), "no whole report from %s.sock within %d ms: '%.*s'",
                          name, DEADLINE_MS, (int)n, buf);
                ssize_t k = read(r.fd, buf + n, sizeof(buf) - 1 - n);
                cr_assert_gt(k, 0, "the connection to %s.sock ended after '%.*s' (%s): a connection lost",
                             name, (int)n, buf, k < 0 ? strerror(errno) : "EOF");
                n += (size_t)k;
        }
        buf[n] = '\0';
        field(buf, "pid=", pid, sizeof(pid));
        r.pid = atoi(pid);
        field(buf, "fds=", r.fds, sizeof(r.fds));
        field(buf, "tag=", r.tag, sizeof(r.tag));
        field(buf, "LISTEN_PID=", r.listen_pid, sizeof(r.listen_pid));
        field(buf, "LISTEN_FDS=", r.listen_fds, sizeof(r.listen_fds));
        field(buf, "LISTEN_FDNAMES=", r.fdnames, sizeof(r.fdnames));
        field(buf, "UNIXSOCKD_SOCKET=", r.socket, sizeof(r.socket));
        cr_assert_gt(r.pid, 0);
        return r;
}

/* One whole report, the connection closed. */
static struct report ask(const char *name)
{
        struct report r = hold(name);

        close(r.fd);
        r.fd = -1;
        return r;
}

/* COPIES connections held at once: each is a different copy's (a copy serves
 * one client until it closes). Sockets a and b in turn. */
static void hold_all(struct report *r)
{
        for (int i = 0; i < COPIES; i++) {
                r[i] = hold(i % 2 ? "b" : "a");
                for (int j = 0; j < i; j++)
                        cr_assert_neq(r[i].pid, r[j].pid, "pid %d answered two held connections", (int)r[i].pid);
        }
}

static void release_all(struct report *r)
{
        for (int i = 0; i < COPIES; i++)
                close(r[i].fd);
}

static bool has_pid(const pid_t *v, size_t n, pid_t pid)
{
        for (size_t i = 0; i < n; i++)
                if (v[i] == pid)
                        return true;
        return false;
}

/* ---- the daemon's view ------------------------------------------------------- */

/* The answer to status over the control socket (protocol 1). */
static json_object *status(void)
{
        int fd = client_connect(daemon_path(&d, "control.sock"));
        static const char req[] = "unixsockd/1 status\n";
        char buf[65536];
        json_object *a;

        cr_assert_geq(fd, 0);
        cr_assert_eq(us_send(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
        shutdown(fd, SHUT_WR);
        cr_assert_geq(read_all_deadline(fd, buf, sizeof(buf), DEADLINE_MS), 0, "no status answer");
        close(fd);
        a = json_tokener_parse(buf);
        cr_assert_not_null(a, "not JSON: %s", buf);
        if (n_kept < sizeof(kept) / sizeof(kept[0]))
                kept[n_kept++] = a;
        return a;
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        cr_assert(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key, json_object_to_json_string(o));
        return v;
}

/* Worker l in a status answer. */
static json_object *worker_l(json_object *a)
{
        json_object *ws = get(a, "workers");

        for (size_t i = 0; i < json_object_array_length(ws); i++) {
                json_object *w = json_object_array_get_idx(ws, i);
                if (strcmp(json_object_get_string(get(w, "name")), "l") == 0)
                        return w;
        }
        cr_assert_fail("no worker l: %s", json_object_to_json_string(a));
        return NULL;
}

/* Its processes' pids (0: not running) and states; how many it lists. */
static size_t copies(json_object *w, pid_t *pids, const char **states, size_t max)
{
        json_object *ps = get(w, "processes");
        size_t n = json_object_array_length(ps);

        for (size_t i = 0; i < n && i < max; i++) {
                json_object *p = json_object_array_get_idx(ps, i);
                pids[i] = json_object_get_int(get(p, "pid"));
                states[i] = json_object_get_string(get(p, "state"));
        }
        return n;
}

/* ---- 1. started at the first connection, each copy with what the SPEC gives */

Test(listener, three_copies_start_at_the_first_client_each_with_the_sockets_and_nothing_else)
{
        struct report r[COPIES];
        pid_t pids[8];
        const char *states[8];

        start(listener_conf("one", ""));
        json_object *w = worker_l(status());
        cr_assert_eq(copies(w, pids, states, 8), COPIES, "every copy is listed before it runs");
        for (int i = 0; i < COPIES; i++) {
                cr_assert_eq(pids[i], 0);
                cr_assert_str_eq(states[i], "stopped");
        }
        cr_assert_eq(json_object_get_int(get(w, "running")), 0);
        cr_assert_not(daemon_log_has(&d, "worker l: started"), "no copy runs before the first client");

        hold_all(r);
        cr_assert(daemon_wait_log_count(&d, "worker l: started pid", COPIES), "all the copies start at the first client");
        for (int i = 0; i < COPIES; i++) {
                /* 0, 1, 2, then the sockets a and b: nothing else */
                cr_assert_str_eq(r[i].fds, "0,1,2,3,4,", "pid %d", (int)r[i].pid);
                cr_assert_eq(atoi(r[i].listen_pid), r[i].pid, "LISTEN_PID=%s in pid %d", r[i].listen_pid, (int)r[i].pid);
                cr_assert_str_eq(r[i].listen_fds, "2");
                cr_assert_str_eq(r[i].fdnames, "a:b");
                cr_assert_str_eq(r[i].socket, "a:b");
        }

        json_object *a = status();
        w = worker_l(a);
        cr_assert_eq(copies(w, pids, states, 8), COPIES);
        cr_assert_eq(json_object_get_int(get(w, "running")), COPIES);
        for (int i = 0; i < COPIES; i++) {
                cr_assert(has_pid(pids, COPIES, r[i].pid), "pid %d answered but is not in status", (int)r[i].pid);
                cr_assert_str_eq(states[i], "busy");
        }
        json_object *socks = get(a, "sockets");
        for (size_t i = 0; i < json_object_array_length(socks); i++) {
                const char *paused = json_object_to_json_string(get(json_object_array_get_idx(socks, i), "paused"));
                cr_assert(strstr(paused, "worker-running"), "the daemon does not watch a socket the copies have: %s",
                          paused);
        }
        char *table = daemon_ctl(&d, "status l");
        for (int i = 0; i < COPIES; i++)
                cr_assert(strstr(table, fmt(" %d  busy", (int)r[i].pid)), "copy %d in the table:\n%s", (int)r[i].pid,
                          table);
        free(table);
        release_all(r);
        cr_assert_eq(daemon_log_count(&d, "worker l: started pid"), COPIES, "no copy started twice");
        daemon_stop(&d);
}

/* The daemon starts a few copies per turn of its loop (a start is a clone
 * and an exec): more than a turn's worth all start, and each serves. */
Test(listener, more_copies_than_start_in_one_turn_all_start_and_serve)
{
        enum { MANY = 20 };
        struct report r[MANY];

        start(listener_conf_n(MANY, "many", ""));
        for (int i = 0; i < MANY; i++) {
                r[i] = hold(i % 2 ? "b" : "a");
                for (int j = 0; j < i; j++)
                        cr_assert_neq(r[i].pid, r[j].pid, "pid %d answered two held connections", (int)r[i].pid);
        }
        cr_assert(daemon_wait_log(&d, "(listener 20 of 20)"));
        json_object *w = worker_l(status());
        cr_assert_eq(json_object_get_int(get(w, "running")), MANY);
        for (int i = 0; i < MANY; i++)
                close(r[i].fd);
        cr_assert_eq(daemon_log_count(&d, "worker l: started pid"), MANY, "no copy started twice");
        daemon_stop(&d);
}

/* ---- 2. the kernel spreads clients over the copies ---------------------------- */

Test(listener, clients_are_served_by_more_than_one_copy)
{
        long long deadline = now_ms() + DEADLINE_MS;
        pid_t seen[2] = { 0, 0 };
        int asked = 0;

        start(listener_conf("two", ""));
        while (!seen[1]) {
                cr_assert_gt(ms_left(deadline), 0, "%d clients, all served by pid %d", asked, (int)seen[0]);
                struct report r = ask(asked++ % 2 ? "b" : "a");
                if (!seen[0])
                        seen[0] = r.pid;
                else if (r.pid != seen[0])
                        seen[1] = r.pid;
        }
        daemon_stop(&d);
}

/* ---- 3. a copy killed is restarted; the others serve on ------------------------ */

Test(listener, a_copy_killed_is_restarted_while_the_others_serve_and_no_client_is_lost)
{
        struct report r[COPIES];
        pid_t before[COPIES], pids[8];
        const char *states[8];

        start(listener_conf("three", "restart-delay = 200ms\n"));
        hold_all(r);
        for (int i = 0; i < COPIES; i++)
                before[i] = r[i].pid;
        release_all(r);

        pid_t victim = before[0];
        cr_assert_eq(kill(victim, SIGKILL), 0);
        cr_assert(daemon_wait_log(&d, fmt("worker l: pid %d killed by signal 9", (int)victim)));
        /* during its backoff (and after it) every client is served, never by it */
        pid_t other = 0;
        for (int i = 0; i < 20; i++) {
                struct report x = ask(i % 2 ? "b" : "a");
                cr_assert_neq(x.pid, victim, "a dead copy answered");
                if (!has_pid(before, COPIES, x.pid))
                        other = x.pid;
        }
        cr_assert(daemon_wait_log_count(&d, "worker l: started pid", COPIES + 1), "the killed copy is restarted");
        pid_t fresh = daemon_started_pid(&d, "l", COPIES);
        cr_assert(fresh > 0 && !has_pid(before, COPIES, fresh));
        cr_assert(daemon_log_has(&d, fmt("started pid %d (listener ", (int)fresh)) && daemon_log_has(&d, ", a restart)"));
        cr_assert(other == 0 || other == fresh, "pid %d answered, neither a copy nor its restart", (int)other);

        /* three clients held: the two that lived and the new one */
        hold_all(r);
        for (int i = 0; i < COPIES; i++)
                cr_assert(r[i].pid == fresh || (r[i].pid != victim && has_pid(before, COPIES, r[i].pid)),
                          "pid %d", (int)r[i].pid);
        json_object *w = worker_l(status());
        cr_assert_eq(copies(w, pids, states, 8), COPIES);
        cr_assert(has_pid(pids, COPIES, fresh) && !has_pid(pids, COPIES, victim));
        cr_assert_eq(json_object_get_int(get(w, "restarts")), 1);
        cr_assert_eq(json_object_get_int(get(w, "running")), COPIES);
        release_all(r);
        daemon_stop(&d);
}

/* ---- 4. reload: the old copies finish, new ones serve ------------------------- */

Test(listener, a_reload_that_changes_the_command_replaces_the_copies_gracefully)
{
        struct report r[COPIES];
        pid_t old[COPIES];

        start(listener_conf("old", ""));
        hold_all(r);
        for (int i = 0; i < COPIES; i++) {
                old[i] = r[i].pid;
                cr_assert_str_eq(r[i].tag, "old");
        }
        /* two old copies idle, one still serving a client across the reload */
        close(r[1].fd);
        close(r[2].fd);

        daemon_reload(&d, listener_conf("new", ""));
        cr_assert(daemon_log_has(&d, "reloaded"));
        /* SIGTERM: the idle ones exit at once; the busy one finishes first */
        cr_assert(daemon_wait_log(&d, fmt("worker l: pid %d exited with status 0", (int)old[1])));
        cr_assert(daemon_wait_log(&d, fmt("worker l: pid %d exited with status 0", (int)old[2])));
        cr_assert_not(daemon_log_has(&d, fmt("worker l: pid %d ", (int)old[0])), "the busy copy serves on");

        for (int i = 0; i < 6; i++) {
                struct report x = ask(i % 2 ? "b" : "a");
                cr_assert_str_eq(x.tag, "new", "pid %d answered after the reload", (int)x.pid);
                cr_assert_not(has_pid(old, COPIES, x.pid));
        }
        cr_assert(daemon_wait_log_count(&d, "worker l: started pid", 2 * COPIES), "the new copies all start");
        close(r[0].fd);
        cr_assert(daemon_wait_log(&d, fmt("worker l: pid %d exited with status 0", (int)old[0])),
                  "the old copy that served a client through the reload ends when it is done");

        pid_t pids[8];
        const char *states[8];
        json_object *w = worker_l(status());
        cr_assert_eq(copies(w, pids, states, 8), COPIES);
        for (int i = 0; i < COPIES; i++)
                cr_assert(pids[i] > 0 && !has_pid(old, COPIES, pids[i]), "status lists the new copies: %d", (int)pids[i]);
        cr_assert_eq(daemon_log_count(&d, "worker l: started pid"), 2 * COPIES, "no old copy restarted");
        daemon_stop(&d);
}

/* ---- all gone: the next client starts every copy again -------------------------- */

Test(listener, when_every_copy_has_exited_the_next_client_starts_them_all_again)
{
        struct report r[COPIES];
        pid_t first[COPIES];

        start(listener_conf("again", ""));
        hold_all(r);
        for (int i = 0; i < COPIES; i++)
                first[i] = r[i].pid;
        release_all(r);
        /* each exits 0 on SIGTERM: with restart = on-failure none restarts */
        for (int i = 0; i < COPIES; i++)
                cr_assert_eq(kill(first[i], SIGTERM), 0);
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", COPIES));

        hold_all(r);
        cr_assert(daemon_wait_log_count(&d, "worker l: started pid", 2 * COPIES));
        for (int i = 0; i < COPIES; i++)
                cr_assert_not(has_pid(first, COPIES, r[i].pid));
        release_all(r);
        daemon_stop(&d);
}

/* Each copy serves one client and exits 0; a client waits when the last one
 * goes: that exit is a failure (as for one copy), and all start again. */
Test(listener, when_the_last_copy_leaves_a_client_waiting_every_copy_starts_again)
{
        struct report r[COPIES];
        pid_t first[COPIES];

        start(listener_conf("once once", "restart-delay = 10ms\n"));
        hold_all(r);
        for (int i = 0; i < COPIES; i++)
                first[i] = r[i].pid;
        /* every copy is busy: this one waits in the backlog */
        int waiting = client_connect(daemon_path(&d, "a.sock"));
        cr_assert_geq(waiting, 0);
        release_all(r);
        cr_assert(daemon_wait_log(&d, "(leaving clients waiting on its sockets); restart in"), "the last exit");
        cr_assert_eq(daemon_log_count(&d, "leaving clients waiting"), 1, "only the last copy left it waiting");
        cr_assert(daemon_wait_log_count(&d, "worker l: started pid", 2 * COPIES), "all the copies start again");
        cr_assert(readable_within(waiting, DEADLINE_MS), "the waiting client is served");
        char buf[4096];
        cr_assert_gt(read(waiting, buf, sizeof(buf) - 1), 0);
        close(waiting);
        for (int i = 0; i < COPIES; i++)
                cr_assert_not(daemon_log_has(&d, fmt("worker l: pid %d killed", (int)first[i])));
        daemon_stop(&d);
}

/* ---- 5. configuration errors ----------------------------------------------------- */

/* unixsockd --check on text, as bad.conf: its exit status, its output in out. */
static int check(const char *text, char *out, size_t size)
{
        return check_config_text("bad.conf", text, out, size);
}

Test(listener, instances_out_of_range_is_an_error_naming_the_file_and_line)
{
        char out[4096];
        /* line 11 is instances = */
        static const char head[] = "[unixsockd]\nruntime-directory = @DIR@\n"
                                   "[socket:a]\npath = a.sock\nworker = l\n"
                                   "[worker:l]\ncommand = /bin/true\ndispatch = listener\n"
                                   "restart = always\n\n";

        cr_assert_not_null(getenv("UNIXSOCKD"), "UNIXSOCKD not set (run through meson test)");
        cr_assert_eq(check(fmt("%sinstances = 0\n", head), out, sizeof(out)), EX_CONFIG, "%s", out);
        cr_assert(strstr(out, "bad.conf:11: instances: '0' is not a number from 1 to 1000000"), "%s", out);
        cr_assert_eq(check(fmt("%sinstances = 1025\n", head), out, sizeof(out)), EX_CONFIG, "%s", out);
        cr_assert(strstr(out, "bad.conf:11: instances: 1025 is more than 1024, the most copies with dispatch = listener"),
                  "%s", out);
        cr_assert_eq(check(fmt("%sinstances = 3\n", head), out, sizeof(out)), 0, "%s", out);
}
