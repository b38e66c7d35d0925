/* The control socket (daemon/control/): the protocol spoken over a raw unix
 * socket, as unixsockctl will. Its numbers are compared with what the
 * clients counted; its commands change what the daemon does; bad input is
 * answered or cut off, and the daemon serves on with the fds it had. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

#define NOBODY 65534
#define LINE_MAX_BYTES 4096             /* CONTROL_LINE_MAX: a request line, "\n" included */
#define CLIENTS_MAX 16                  /* CONTROL_CLIENTS_MAX */

static struct daemon d;
static json_object *kept[256];          /* answers, put in fini */
static size_t n_kept;
static int pool_done;                   /* "done by pid" lines seen so far */

static void fini(void)
{
        daemon_cleanup(&d);
        for (size_t i = 0; i < n_kept; i++)
                json_object_put(kept[i]);
        n_kept = 0;
        pool_done = 0;
}

TestSuite(control, .fini = fini, .timeout = 240);

/* ---- time ---------------------------------------------------------------- */

/* A pause between two looks at something that sends no event (/proc). */
static void look_again(void)
{
        struct timespec ts = { 0, 10 * 1000 * 1000 };

        nanosleep(&ts, NULL);
}

/* ---- the protocol, raw ------------------------------------------------------ */

static const char *ctl_path(void)
{
        return daemon_path(&d, "control.sock");
}

/* A connection to path; -1 with errno. */
static int raw_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        return fd;
}

/* Everything fd says until EOF, malloc'd and NUL-terminated; NULL if the
 * deadline passes first. *len: the bytes read. */
static char *read_to_eof(int fd, int ms, size_t *len)
{
        long long deadline = now_ms() + ms;
        size_t n = 0, cap = 65536;
        char *buf = malloc(cap);

        cr_assert_not_null(buf);
        for (;;) {
                struct pollfd p = { fd, POLLIN, 0 };
                int left = ms_left(deadline);
                if (left == 0 || poll(&p, 1, left) <= 0) {
                        free(buf);
                        return NULL;
                }
                if (n + 1 == cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        cr_assert_not_null(buf);
                }
                ssize_t r = read(fd, buf + n, cap - 1 - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && errno == ECONNRESET)
                        break;
                cr_assert_geq(r, 0, "read: %s", strerror(errno));
                if (r == 0)
                        break;
                n += (size_t)r;
        }
        buf[n] = '\0';
        if (len)
                *len = n;
        return buf;
}

/* The answer text as the protocol has it: one JSON object on one line. */
static json_object *parse_answer(const char *text)
{
        size_t n = strlen(text);
        json_object *a;

        cr_assert(n > 0 && text[n - 1] == '\n', "an answer ends with a newline: '%s'", text);
        cr_assert_null(memchr(text, '\n', n - 1), "an answer is one line: '%s'", text);
        a = json_tokener_parse(text);
        cr_assert_not_null(a, "not JSON: '%s'", text);
        cr_assert(json_object_is_type(a, json_type_object), "not an object: '%s'", text);
        if (n_kept < sizeof(kept) / sizeof(kept[0]))
                kept[n_kept++] = a;
        return a;
}

static json_object *jget(json_object *o, const char *key)
{
        json_object *v = NULL;

        cr_assert(o && json_object_object_get_ex(o, key, &v), "no '%s' in %s", key,
                  o ? json_object_to_json_string(o) : "(null)");
        return v;
}

static long long jint(json_object *o, const char *key)
{
        json_object *v = jget(o, key);

        cr_assert(json_object_is_type(v, json_type_int), "'%s' is not an integer in %s", key,
                  json_object_to_json_string(o));
        return (long long)json_object_get_int64(v);
}

static bool jbool(json_object *o, const char *key)
{
        json_object *v = jget(o, key);

        cr_assert(json_object_is_type(v, json_type_boolean), "'%s' is not a boolean", key);
        return json_object_get_boolean(v);
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v = jget(o, key);

        cr_assert(json_object_is_type(v, json_type_string), "'%s' is not a string in %s", key,
                  json_object_to_json_string(o));
        return json_object_get_string(v);
}

static json_object *jarray(json_object *o, const char *key)
{
        json_object *v = jget(o, key);

        cr_assert(json_object_is_type(v, json_type_array), "'%s' is not an array in %s", key,
                  json_object_to_json_string(o));
        return v;
}

/* The entry of answer's list ("sockets", "workers") with that name. */
static json_object *jnamed(json_object *answer, const char *list, const char *name)
{
        json_object *a = jarray(answer, list);

        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (strcmp(jstr(e, "name"), name) == 0)
                        return e;
        }
        cr_assert_fail("no '%s' in %s: %s", name, list, json_object_to_json_string(a));
        return NULL;
}

/* Sends text as it is, half-closes, reads the answer until EOF: the daemon
 * closes after it. */
static json_object *ctl_send(const char *text, size_t len)
{
        int fd = raw_connect(ctl_path());
        char *answer;
        json_object *a;

        cr_assert_geq(fd, 0, "connect %s: %s", ctl_path(), strerror(errno));
        cr_assert_eq(us_send(fd, text, len), (ssize_t)len);
        shutdown(fd, SHUT_WR);
        answer = read_to_eof(fd, DEADLINE_MS, NULL);
        close(fd);
        cr_assert_not_null(answer, "no answer to '%.80s' within %d ms", text, DEADLINE_MS);
        a = parse_answer(answer);
        free(answer);
        cr_assert_eq(jint(a, "protocol"), 1);
        return a;
}

/* "unixsockd/1 " request, answered: the answer (put in fini). */
static json_object *ctl(const char *request)
{
        char line[1024];
        int n = snprintf(line, sizeof(line), "unixsockd/1 %s\n", request);

        return ctl_send(line, (size_t)n);
}

/* request answered ok. */
static json_object *ctl_ok(const char *request)
{
        json_object *a = ctl(request);

        cr_assert(jbool(a, "ok"), "'%s' failed: %s", request, json_object_to_json_string(a));
        return a;
}

/* request refused with exactly this error. */
static json_object *ctl_error(const char *request, const char *error)
{
        json_object *a = ctl(request);

        cr_assert_not(jbool(a, "ok"), "'%s' succeeded: %s", request, json_object_to_json_string(a));
        cr_assert_str_eq(jstr(a, "error"), error, "'%s'", request);
        return a;
}

/* ---- the daemon ------------------------------------------------------------ */

/* control = control.sock though it may become the default: these tests work either way. */
#define HEAD "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n\n"
#define SPAWN "[socket:s]\npath = s.sock\nworker = cat\n\n[worker:cat]\ncommand = /bin/cat\ninstances = 8\n\n"
#define POOL_FMT "[socket:p]\npath = p.sock\nworker = echo\n\n[worker:echo]\ncommand = %s\ndispatch = pool\ninstances = 3\n\n"

static char conf[65536];

/* HEAD, the pool socket p, then more. */
static const char *conf_with(const char *more)
{
        int n = snprintf(conf, sizeof(conf), HEAD POOL_FMT, getenv("POOL_ECHO"));

        snprintf(conf + n, sizeof(conf) - (size_t)n, "%s", more);
        return conf;
}

/* Started at log level debug: its lines are the events the tests wait on. */
static void start(const char *text)
{
        const char *debug[] = { "--log-level=debug", NULL };

        cr_assert_not_null(getenv("POOL_ECHO"), "POOL_ECHO not set (run through meson test)");
        daemon_spawn(&d, text, debug);
        cr_assert(daemon_wait_ready(&d), "not ready");
        cr_assert(wait_path(ctl_path()), "no control socket");
}

/* One connection through the pool socket, echoed, and its DONE handled:
 * the daemon holds no fd of it any more. */
static void pool_echo(const char *msg)
{
        client_expect_echo(daemon_path(&d, "p.sock"), msg);
        pool_done++;
        cr_assert(daemon_wait_log_count(&d, "done by pid", pool_done), "no DONE for '%s'", msg);
}

/* The daemon's fd count once a status and a connection went through: the
 * fds sd-event makes when a first timer runs are there. */
static int baseline(void)
{
        ctl_ok("status");
        pool_echo("warm up");
        return count_fds_of(d.pid);
}

/* The daemon serves a connection and a status, and its fd count comes back
 * to base (looked at until the deadline). */
static void expect_recovered(int base)
{
        long long deadline = now_ms() + DEADLINE_MS;
        int n;

        pool_echo("still serving");
        ctl_ok("status");
        while ((n = count_fds_of(d.pid)) != base && ms_left(deadline) > 0)
                look_again();
        cr_assert_eq(n, base, "the daemon has %d fds, %d before", n, base);
}

/* The pids of the log's "worker NAME: started pid N" lines, in order. */
static size_t started_pids(const char *name, pid_t *pids, size_t max)
{
        ssize_t n = daemon_started_pids(&d, name, pids, max);

        cr_assert_geq(n, 0, "no log");
        return (size_t)n;
}

/* The daemon's children now (what pgrep -P says). */
static size_t children_of(pid_t pid, pid_t *out, size_t max)
{
        char dir[64], path[512];
        size_t n = 0;
        DIR *dp;
        struct dirent *e;

        snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
        dp = opendir(dir);
        cr_assert_not_null(dp);
        while ((e = readdir(dp))) {
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s/children", dir, e->d_name);
                FILE *f = fopen(path, "r");
                int c;
                while (f && n < max && fscanf(f, "%d", &c) == 1)
                        out[n++] = c;
                if (f)
                        fclose(f);
        }
        closedir(dp);
        return n;
}

static bool has_pid(const pid_t *pids, size_t n, pid_t pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* The pids of a worker's "processes", at most max. */
static size_t process_pids(json_object *worker, pid_t *pids, size_t max)
{
        json_object *a = jarray(worker, "processes");
        size_t n = json_object_array_length(a);

        cr_assert_leq(n, max);
        for (size_t i = 0; i < n; i++)
                pids[i] = (pid_t)jint(json_object_array_get_idx(a, i), "pid");
        return n;
}

/* Every refusal reason of a socket is 0. */
static void expect_no_refusal(json_object *sock)
{
        json_object *r = jget(sock, "refused");

        struct json_object_iterator it = json_object_iter_begin(r), end = json_object_iter_end(r);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
                const char *reason = json_object_iter_peek_name(&it);
                json_object *count = json_object_iter_peek_value(&it);
                cr_assert(json_object_is_type(count, json_type_int));
                cr_assert_eq(json_object_get_int64(count), 0, "socket %s: refused %s: %lld", jstr(sock, "name"),
                             reason, (long long)json_object_get_int64(count));
        }
}

/* ---- clients --------------------------------------------------------------- */

/* A connection served and held open: its echo came back, it stays connected. */
static int hold(const char *path)
{
        char buf[8];
        int fd = client_connect(path);

        cr_assert_eq(us_send(fd, "h", 1), 1);
        cr_assert_eq(read_full(fd, buf, 1), 1, "held connection served");
        return fd;
}

/* ---- 1. status under load -------------------------------------------------- */

Test(control, status_numbers_match_what_the_clients_counted)
{
        struct load ls, lp;
        pid_t members[8], started[16], kids[64], procs[16];
        const int n = 50;

        start(conf_with(SPAWN));
        load_start(&ls, daemon_path(&d, "s.sock"), n, 0);
        load_start(&lp, daemon_path(&d, "p.sock"), n, 0);
        int ok_s = load_wait(&ls, NULL), ok_p = load_wait(&lp, NULL);
        cr_assert_eq(ok_s, n, "spawn socket: %d of %d clients got their echo", ok_s, n);
        cr_assert_eq(ok_p, n, "pool socket: %d of %d clients got their echo", ok_p, n);
        /* all done: every cat reaped, every DONE handled */
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", n));
        cr_assert(daemon_wait_log_count(&d, "done by pid", n));
        pool_done = n;

        json_object *a = ctl_ok("status");
        json_object *s = jnamed(a, "sockets", "s"), *p = jnamed(a, "sockets", "p");
        cr_assert_eq(jint(s, "accepted"), ok_s);
        cr_assert_eq(jint(p, "accepted"), ok_p);
        expect_no_refusal(s);
        expect_no_refusal(p);
        cr_assert_eq(jint(s, "in_service"), 0);
        cr_assert_eq(jint(p, "in_service"), 0);
        cr_assert_eq(jint(s, "queued"), 0);
        cr_assert_eq(jint(p, "queued"), 0);
        cr_assert_eq(jint(s, "backlog"), 0);
        cr_assert_str_eq(jstr(s, "state"), "listening");
        cr_assert_str_eq(jstr(p, "origin"), "made");
        cr_assert_str_eq(jstr(p, "path"), daemon_path(&d, "p.sock"));
        cr_assert_eq(json_object_array_length(jarray(s, "paused")), 0);

        json_object *daemon = jget(a, "daemon");
        cr_assert_eq(jint(daemon, "pid"), d.pid);
        cr_assert_str_eq(jstr(daemon, "config"), d.conf);
        cr_assert_eq(jint(daemon, "accepted"), 2 * n);
        cr_assert_eq(jint(daemon, "refused"), 0);
        cr_assert_eq(jint(daemon, "reloads"), 0);
        cr_assert_not(jbool(daemon, "stopping"));
        cr_assert_gt(jint(daemon, "started_realtime_usec"), 0);

        /* the pool: its three members, the pids the log says it started, the daemon's children */
        json_object *echo = jnamed(a, "workers", "echo");
        cr_assert_str_eq(jstr(echo, "dispatch"), "pool");
        cr_assert_eq(jint(echo, "instances"), 3);
        cr_assert_eq(jint(echo, "running"), 3);
        size_t nm = process_pids(echo, members, 8), ns = started_pids("echo", started, 16);
        size_t nk = children_of(d.pid, kids, 64);
        cr_assert_eq(nm, 3);
        cr_assert_eq(ns, 3, "the log started %zu pool processes", ns);
        cr_assert_eq(nk, 3, "the daemon has %zu children, only the pool's now", nk);
        long long served = 0;
        for (size_t i = 0; i < nm; i++) {
                json_object *m = json_object_array_get_idx(jarray(echo, "processes"), i);
                cr_assert(has_pid(started, ns, members[i]), "pid %d not in the log", (int)members[i]);
                cr_assert(has_pid(kids, nk, members[i]), "pid %d not the daemon's child", (int)members[i]);
                cr_assert_str_eq(jstr(m, "state"), "idle");
                cr_assert_eq(jint(m, "in_service"), 0);
                cr_assert_gt(jint(m, "started_realtime_usec"), 0);
                served += jint(m, "served");
        }
        cr_assert_eq(served, n, "the members served %lld, the clients counted %d", served, n);

        json_object *cat = jnamed(a, "workers", "cat");
        cr_assert_str_eq(jstr(cat, "dispatch"), "spawn");
        cr_assert_eq(jint(cat, "spawned"), n);
        cr_assert_eq(jint(cat, "running"), 0);
        cr_assert_eq(json_object_array_length(jarray(cat, "processes")), 0);
        json_object *last = jget(cat, "last_exit");
        cr_assert_str_eq(jstr(last, "code"), "exited");
        cr_assert_eq(jint(last, "status"), 0);

        /* clients held open: in service, and a process each */
        int held_s[3], held_p[2];
        for (int i = 0; i < 3; i++)
                held_s[i] = hold(daemon_path(&d, "s.sock"));
        for (int i = 0; i < 2; i++)
                held_p[i] = hold(daemon_path(&d, "p.sock"));
        a = ctl_ok("status");
        cr_assert_eq(jint(jnamed(a, "sockets", "s"), "in_service"), 3);
        cr_assert_eq(jint(jnamed(a, "sockets", "p"), "in_service"), 2);
        cr_assert_eq(jint(jnamed(a, "sockets", "p"), "queued"), 0);
        cat = jnamed(a, "workers", "cat");
        cr_assert_eq(jint(cat, "running"), 3);
        size_t np = process_pids(cat, procs, 16);
        nk = children_of(d.pid, kids, 64);
        cr_assert_eq(np, 3);
        for (size_t i = 0; i < np; i++) {
                json_object *m = json_object_array_get_idx(jarray(cat, "processes"), i);
                cr_assert(has_pid(kids, nk, procs[i]), "cat pid %d not the daemon's child", (int)procs[i]);
                cr_assert_str_eq(jstr(m, "state"), "busy");
                cr_assert_eq(jint(m, "in_service"), 1);
        }
        int busy = 0;
        echo = jnamed(a, "workers", "echo");
        for (size_t i = 0; i < 3; i++) {
                json_object *m = json_object_array_get_idx(jarray(echo, "processes"), i);
                busy += strcmp(jstr(m, "state"), "busy") == 0;
                cr_assert_eq(jint(m, "in_service"), strcmp(jstr(m, "state"), "busy") == 0 ? 1 : 0);
        }
        cr_assert_eq(busy, 2, "two pool members hold a client each");

        /* one held client goes: its cat exits, and is the last exit */
        close(held_s[0]);
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", n + 1));
        a = ctl_ok("status");
        cat = jnamed(a, "workers", "cat");
        pid_t now[16];
        size_t nn = process_pids(cat, now, 16);
        cr_assert_eq(nn, 2);
        last = jget(cat, "last_exit");
        pid_t gone = (pid_t)jint(last, "pid");
        cr_assert(has_pid(procs, np, gone) && !has_pid(now, nn, gone),
                  "last_exit pid %d is the process that left the list", (int)gone);
        cr_assert_str_eq(jstr(last, "code"), "exited");
        cr_assert_eq(jint(last, "status"), 0);
        cr_assert_gt(jint(last, "realtime_usec"), 0);
        cr_assert_eq(jint(jnamed(a, "sockets", "s"), "in_service"), 2);

        for (int i = 1; i < 3; i++)
                close(held_s[i]);
        for (int i = 0; i < 2; i++)
                close(held_p[i]);
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", n + 3));
        cr_assert(daemon_wait_log_count(&d, "done by pid", n + 2));
        pool_done = n + 2;
        a = ctl_ok("status");
        cr_assert_eq(jint(jnamed(a, "sockets", "s"), "in_service"), 0);
        cr_assert_eq(jint(jnamed(a, "sockets", "p"), "in_service"), 0);
        cr_assert_eq(jint(jnamed(a, "sockets", "s"), "accepted"), n + 3);
        cr_assert_eq(jint(jnamed(a, "sockets", "p"), "accepted"), n + 2);
        cr_assert_eq(jint(jget(a, "daemon"), "accepted"), 2 * n + 5);
        daemon_stop(&d);
}

/* unixsockctl against the real daemon: its table and its metrics show the
 * connections the clients made. */
Test(control, unixsockctl_shows_what_the_clients_counted)
{
        char want[128];

        start(conf_with(SPAWN));
        for (int i = 0; i < 20; i++)
                client_expect_echo(daemon_path(&d, "s.sock"), "counted");
        for (int i = 0; i < 7; i++)
                pool_echo("pooled");
        char *table = daemon_ctl(&d, "status s p");
        cr_assert(strstr(table, "listening"), "%s", table);
        char *row = strstr(table, "\ns ");
        cr_assert_not_null(row, "a row for socket s: %s", table);
        long accepted = -1, refused = -1;
        cr_assert(sscanf(row, " s listening %ld %ld", &accepted, &refused) == 2, "%s", row);
        cr_assert_eq(accepted, 20, "%s", table);
        cr_assert_eq(refused, 0);
        free(table);
        char *metrics = daemon_ctl(&d, "metrics");
        snprintf(want, sizeof(want), "unixsockd_socket_accepted_total{socket=\"s\"} 20\n");
        cr_assert(strstr(metrics, want), "%s in %s", want, metrics);
        snprintf(want, sizeof(want), "unixsockd_socket_accepted_total{socket=\"p\"} 7\n");
        cr_assert(strstr(metrics, want), "%s in %s", want, metrics);
        cr_assert(strstr(metrics, "# EOF"));
        free(metrics);
        daemon_stop(&d);
}

Test(control, status_with_names_shows_only_those)
{
        start(conf_with(SPAWN));
        json_object *a = ctl_ok("status s");
        cr_assert_eq(json_object_array_length(jarray(a, "sockets")), 1);
        cr_assert_str_eq(jstr(json_object_array_get_idx(jarray(a, "sockets"), 0), "name"), "s");
        cr_assert_eq(json_object_array_length(jarray(a, "workers")), 0);
        a = ctl_ok("status echo");
        cr_assert_eq(json_object_array_length(jarray(a, "sockets")), 0);
        cr_assert_eq(json_object_array_length(jarray(a, "workers")), 1);
        cr_assert_str_eq(jstr(json_object_array_get_idx(jarray(a, "workers"), 0), "name"), "echo");
        daemon_stop(&d);
}

/* ---- 2. refusals by reason ------------------------------------------------- */

#define REFUSING "[socket:n]\npath = n.sock\nworker = cat\nallow-users = 65534\n\n" \
                 "[socket:m]\npath = m.sock\nworker = one\n\n" \
                 "[worker:cat]\ncommand = /bin/cat\n\n" \
                 "[worker:one]\ncommand = /bin/cat\nmax-per-user = 1\n\n"

/* A connection the daemon closes without a word. */
static void expect_refused(const char *path)
{
        char buf[64];
        int fd = client_connect(path);

        cr_assert_eq(read_all_deadline(fd, buf, sizeof(buf), DEADLINE_MS), 0, "refused: closed at once");
        close(fd);
}

Test(control, refused_not_allowed_counts_each)
{
        const int k = 5;

        start(conf_with(REFUSING));
        for (int i = 0; i < k; i++)
                expect_refused(daemon_path(&d, "n.sock"));
        json_object *a = ctl_ok("status");
        json_object *n = jnamed(a, "sockets", "n"), *r = jget(n, "refused");
        cr_assert_eq(jint(r, "not-allowed"), k);
        cr_assert_eq(jint(r, "max-per-user"), 0);
        cr_assert_eq(jint(r, "no-process"), 0);
        /* accepted counts every connection accept(2) took, the refused ones too */
        cr_assert_eq(jint(n, "accepted"), k);
        cr_assert_eq(jint(n, "in_service"), 0);
        expect_no_refusal(jnamed(a, "sockets", "m"));
        expect_no_refusal(jnamed(a, "sockets", "p"));
        cr_assert_eq(jint(jget(a, "daemon"), "refused"), k);
        cr_assert_eq(jint(jnamed(a, "workers", "cat"), "spawned"), 0);
        daemon_stop(&d);
}

Test(control, refused_max_per_user_counts_each)
{
        const int k = 3;

        start(conf_with(REFUSING));
        int held = hold(daemon_path(&d, "m.sock"));
        for (int i = 0; i < k; i++)
                expect_refused(daemon_path(&d, "m.sock"));
        json_object *a = ctl_ok("status");
        json_object *m = jnamed(a, "sockets", "m"), *r = jget(m, "refused");
        cr_assert_eq(jint(r, "max-per-user"), k);
        cr_assert_eq(jint(r, "not-allowed"), 0);
        cr_assert_eq(jint(r, "no-process"), 0);
        cr_assert_eq(jint(m, "accepted"), k + 1);
        cr_assert_eq(jint(m, "in_service"), 1, "the held one");
        cr_assert_eq(jint(jget(a, "daemon"), "refused"), k);
        close(held);
        daemon_stop(&d);
}

/* ---- 3. pause, the backlog, resume ----------------------------------------- */

Test(control, paused_clients_wait_in_the_backlog_and_resume_serves_them_all)
{
        enum { K = 5 };
        int c[K];
        char msg[K][32], buf[64];

        start(conf_with(SPAWN));
        json_object *a = ctl_ok("pause s");
        cr_assert_eq(json_object_object_length(a), 2, "pause answers protocol and ok only: %s",
                     json_object_to_json_string(a));
        for (int i = 0; i < K; i++) {
                int len = snprintf(msg[i], sizeof(msg[i]), "waiting %d", i);
                c[i] = client_connect(daemon_path(&d, "s.sock"));
                cr_assert_eq(us_send(c[i], msg[i], (size_t)len), len);
                shutdown(c[i], SHUT_WR);
        }
        a = ctl_ok("status s");
        json_object *s = jnamed(a, "sockets", "s");
        cr_assert_str_eq(jstr(s, "state"), "paused");
        json_object *why = jarray(s, "paused");
        cr_assert_eq(json_object_array_length(why), 1, "%s", json_object_to_json_string(why));
        cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(why, 0)), "manual");
        cr_assert_gt(jint(s, "paused_since_realtime_usec"), 0);
        cr_assert_eq(jint(s, "backlog"), K);
        cr_assert_eq(jint(s, "accepted"), 0);
        for (int i = 0; i < K; i++)
                cr_assert_not(readable_within(c[i], 0), "client %d served while paused", i);
        pool_echo("the other socket serves on");

        ctl_ok("resume s");
        for (int i = 0; i < K; i++) {
                cr_assert_eq(read_all_deadline(c[i], buf, sizeof(buf), DEADLINE_MS), (ssize_t)strlen(msg[i]),
                             "client %d served after resume", i);
                cr_assert_str_eq(buf, msg[i]);
                close(c[i]);
        }
        a = ctl_ok("status s");
        s = jnamed(a, "sockets", "s");
        cr_assert_str_eq(jstr(s, "state"), "listening");
        cr_assert_eq(json_object_array_length(jarray(s, "paused")), 0);
        cr_assert_eq(jint(s, "paused_since_realtime_usec"), 0);
        cr_assert_eq(jint(s, "accepted"), K);
        cr_assert_eq(jint(s, "backlog"), 0);
        expect_no_refusal(s);
        daemon_stop(&d);
}

/* ---- 4. restart ------------------------------------------------------------- */

/* A client that exchanges with path again and again until stop[0] reads EOF
 * (the test closed stop[1], or died); after its first echo it writes a byte
 * to first; at the end it writes its counts to result. */
struct tally { int ok, bad; };

static pid_t steady_client(const char *path, int id, const int stop[2], int first, int result)
{
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid)
                return pid;
        close(stop[1]);
        struct tally t = { 0, 0 };
        for (int j = 0; !readable_within(stop[0], 0); j++) {
                char msg[64], buf[256];
                int len = snprintf(msg, sizeof(msg), "steady %d request %d", id, j);
                int fd = us_connect(path);
                if (fd < 0 || us_send(fd, msg, (size_t)len) != len) {
                        t.bad++;
                } else {
                        shutdown(fd, SHUT_WR);
                        ssize_t r = read_all_deadline(fd, buf, sizeof(buf), 60000);
                        if (r == len && strcmp(buf, msg) == 0)
                                t.ok++;
                        else
                                t.bad++;
                }
                if (fd >= 0)
                        close(fd);
                if (t.ok == 1 && j == 0 && write(first, "x", 1) != 1)
                        _exit(3);
        }
        _exit(write(result, &t, sizeof(t)) == sizeof(t) ? 0 : 4);
}

Test(control, restart_of_a_pool_under_load_loses_no_connection_and_replaces_every_process)
{
        enum { L = 4 };
        int stop[2], first[2], result[2];
        pid_t old[8], now[8], started[16], kids[64], cl[L];
        char x[L];

        start(conf_with(""));
        size_t n_old = process_pids(jnamed(ctl_ok("status echo"), "workers", "echo"), old, 8);
        cr_assert_eq(n_old, 3);
        for (size_t i = 0; i < n_old; i++)
                cr_assert_gt(old[i], 0);
        cr_assert(pipe2(stop, O_CLOEXEC) == 0 && pipe2(first, O_CLOEXEC) == 0 && pipe2(result, O_CLOEXEC) == 0);
        for (int i = 0; i < L; i++)
                cl[i] = steady_client(daemon_path(&d, "p.sock"), i, stop, first[1], result[1]);
        close(first[1]);
        close(result[1]);
        /* every client had an echo before the restart */
        cr_assert(readable_within(first[0], DEADLINE_MS) && read_full(first[0], x, L) == L,
                  "every client served once");

        ctl_ok("restart echo");
        cr_assert(daemon_wait_log_count(&d, "worker echo: started pid", 6), "three new processes");
        /* the old ones finish their connections and exit; what follows is the new ones' */
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", 3), "the old processes exit");
        int done = daemon_log_count(&d, "done by pid");
        cr_assert(daemon_wait_log_count(&d, "done by pid", done + 3 * L), "served by the new ones");
        close(stop[1]);
        int ok = 0, st;
        struct tally t;
        for (int i = 0; i < L; i++) {
                cr_assert_eq(waitpid(cl[i], &st, 0), cl[i]);
                cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d: status 0x%x", i, st);
        }
        for (int i = 0; i < L; i++) {
                cr_assert_eq(read_full(result[0], &t, sizeof(t)), (ssize_t)sizeof(t));
                cr_assert_eq(t.bad, 0, "a client lost %d of %d connections", t.bad, t.ok + t.bad);
                cr_assert_gt(t.ok, 0);
                ok += t.ok;
        }
        cr_assert(daemon_wait_log_count(&d, "done by pid", ok), "every DONE handled");
        pool_done = ok;

        json_object *a = ctl_ok("status");
        json_object *echo = jnamed(a, "workers", "echo"), *p = jnamed(a, "sockets", "p");
        size_t n_now = process_pids(echo, now, 8), ns = started_pids("echo", started, 16);
        size_t nk = children_of(d.pid, kids, 64);
        cr_assert_eq(n_now, 3);
        cr_assert_eq(ns, 6);
        for (size_t i = 0; i < n_now; i++) {
                cr_assert(!has_pid(old, n_old, now[i]), "pid %d was there before the restart", (int)now[i]);
                cr_assert(has_pid(started + 3, 3, now[i]), "pid %d is not one the restart started", (int)now[i]);
                cr_assert(has_pid(kids, nk, now[i]), "pid %d is not the daemon's child", (int)now[i]);
        }
        for (size_t i = 0; i < n_old; i++)
                cr_assert(!has_pid(kids, nk, old[i]), "old pid %d still runs", (int)old[i]);
        cr_assert_eq(jint(p, "accepted"), ok, "the clients counted %d, the daemon accepted %lld", ok,
                     jint(p, "accepted"));
        expect_no_refusal(p);
        cr_assert_eq(jint(p, "in_service"), 0);
        close(stop[0]);
        close(first[0]);
        close(result[0]);
        pool_echo("after the restart");
        daemon_stop(&d);
}

Test(control, restart_of_a_spawn_worker_or_an_unknown_name_is_an_error)
{
        start(conf_with(SPAWN));
        json_object *a = ctl("restart cat");
        cr_assert_not(jbool(a, "ok"));
        cr_assert(strstr(jstr(a, "error"), "cat"), "the error names the worker: %s", jstr(a, "error"));
        ctl_error("restart nope", "no worker 'nope'");
        ctl_error("restart p", "no worker 'p'"); /* a socket is not a worker */
        ctl_error("restart", "restart takes one name");
        ctl_error("restart echo cat", "restart takes one name");
        /* nothing was replaced */
        cr_assert_eq(daemon_log_count(&d, "worker echo: started pid"), 3);
        cr_assert_not(daemon_log_has(&d, "restarted"));
        pool_echo("served as before");
        client_expect_echo(daemon_path(&d, "s.sock"), "spawned as before");
        daemon_stop(&d);
}

/* ---- 5. reload -------------------------------------------------------------- */

static void write_conf(const char *text)
{
        char *t = replace_all(text, "@DIR@", d.dir);
        FILE *f = fopen(d.conf, "w");

        cr_assert_not_null(f);
        fputs(t, f);
        cr_assert_eq(fclose(f), 0);
        free(t);
}

/* The line number (from 1) of the first line of text that contains s. */
static int line_of(const char *text, const char *s)
{
        const char *at = strstr(text, s);
        int line = 1;

        cr_assert_not_null(at);
        for (const char *p = text; p < at; p++)
                line += *p == '\n';
        return line;
}

Test(control, reload_of_a_good_file_is_applied_before_the_answer)
{
        start(conf_with(""));
        write_conf(conf_with(SPAWN));
        json_object *a = ctl_ok("reload");
        cr_assert_eq(jint(a, "sockets_new"), 1);
        cr_assert_eq(jint(a, "sockets_closed"), 0);
        cr_assert_eq(jint(a, "workers_replaced"), 0);
        /* at once: no waiting for the file */
        client_expect_echo(daemon_path(&d, "s.sock"), "new socket");
        a = ctl_ok("status");
        cr_assert_eq(jint(jget(a, "daemon"), "reloads"), 1);
        jnamed(a, "sockets", "s");
        /* and back: the socket closes before the answer */
        write_conf(conf_with(""));
        a = ctl_ok("reload");
        cr_assert_eq(jint(a, "sockets_new"), 0);
        cr_assert_eq(jint(a, "sockets_closed"), 1);
        cr_assert(access(daemon_path(&d, "s.sock"), F_OK) < 0 && errno == ENOENT, "s.sock is gone");
        pool_echo("the kept socket serves on");
        daemon_stop(&d);
}

Test(control, reload_of_a_bad_file_answers_its_errors_by_line_and_the_old_config_serves_on)
{
        char want[1024];

        start(conf_with(SPAWN));
        const char *bad = conf_with(SPAWN "[socket:b]\npath = b.sock\nworker = w2\nbogus-key = 1\n\n"
                                    "[worker:w2]\ncommand = /bin/cat\nanother-bogus = 2\n");
        int l1 = line_of(bad, "bogus-key"), l2 = line_of(bad, "another-bogus");
        write_conf(bad);
        json_object *a = ctl("reload");
        cr_assert_not(jbool(a, "ok"), "%s", json_object_to_json_string(a));
        snprintf(want, sizeof(want), "%s has errors; the running configuration stays", d.conf);
        cr_assert_str_eq(jstr(a, "error"), want);
        json_object *errors = jarray(a, "errors");
        cr_assert_eq(json_object_array_length(errors), 2, "%s", json_object_to_json_string(errors));
        const char *e1 = json_object_get_string(json_object_array_get_idx(errors, 0));
        const char *e2 = json_object_get_string(json_object_array_get_idx(errors, 1));
        snprintf(want, sizeof(want), "%s:%d: ", d.conf, l1);
        cr_assert(strncmp(e1, want, strlen(want)) == 0 && strstr(e1, "bogus-key"), "'%s', not '%s...'", e1, want);
        snprintf(want, sizeof(want), "%s:%d: ", d.conf, l2);
        cr_assert(strncmp(e2, want, strlen(want)) == 0 && strstr(e2, "another-bogus"), "'%s', not '%s...'", e2,
                  want);
        /* the old configuration serves on */
        client_expect_echo(daemon_path(&d, "s.sock"), "old config");
        pool_echo("old config");
        cr_assert(access(daemon_path(&d, "b.sock"), F_OK) < 0 && errno == ENOENT);
        a = ctl_ok("status");
        cr_assert_eq(jint(jget(a, "daemon"), "reloads"), 0);
        cr_assert_eq(json_object_array_length(jarray(a, "sockets")), 2);
        daemon_stop(&d);
}

/* ---- 6. stop ----------------------------------------------------------------- */

Test(control, stop_is_answered_then_the_daemon_exits_0)
{
        start(conf_with(SPAWN));
        json_object *a = ctl_ok("stop");
        cr_assert_eq(json_object_object_length(a), 2, "%s", json_object_to_json_string(a));
        int st = daemon_wait_exit(&d);
        cr_assert_neq(st, -1, "unixsockd did not exit after stop");
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unixsockd exit status 0x%x", st);
        cr_assert(daemon_log_has(&d, "unixsockctl stop"));
}

/* ---- 7. bad input ------------------------------------------------------------ */

Test(control, an_unknown_command_is_an_error)
{
        start(conf_with(SPAWN));
        int base = baseline();
        ctl_error("frobnicate", "unknown command 'frobnicate'");
        ctl_error("STATUS", "unknown command 'STATUS'");
        ctl_error("", "no command");
        ctl_error("reload now", "reload takes no argument");
        ctl_error("stop please", "stop takes no argument");
        ctl_error("pause", "pause takes one name");
        expect_recovered(base);
        daemon_stop(&d);
}

Test(control, an_unknown_socket_or_worker_name_is_an_error)
{
        start(conf_with(SPAWN));
        int base = baseline();
        ctl_error("status nope", "no socket or worker 'nope'");
        ctl_error("status s nope", "no socket or worker 'nope'");
        ctl_error("pause nope", "no socket 'nope'");
        ctl_error("resume nope", "no socket 'nope'");
        ctl_error("pause cat", "no socket 'cat'"); /* a worker is not a socket */
        ctl_error("restart nope", "no worker 'nope'");
        json_object *s = jnamed(ctl_ok("status s"), "sockets", "s");
        cr_assert_str_eq(jstr(s, "state"), "listening", "nothing paused");
        expect_recovered(base);
        daemon_stop(&d);
}

Test(control, a_wrong_protocol_version_is_an_error)
{
        const char *v2 = "unixsockd/2 status\n", *none = "status\n";

        start(conf_with(SPAWN));
        int base = baseline();
        json_object *a = ctl_send(v2, strlen(v2));
        cr_assert_not(jbool(a, "ok"));
        cr_assert_str_eq(jstr(a, "error"), "protocol 'unixsockd/2' not supported (this daemon speaks unixsockd/1)");
        a = ctl_send(none, strlen(none));
        cr_assert_not(jbool(a, "ok"));
        cr_assert(strstr(jstr(a, "error"), "unixsockd/1"), "'%s'", jstr(a, "error"));
        cr_assert_not(json_object_object_get_ex(a, "sockets", NULL), "no status without a protocol");
        expect_recovered(base);
        daemon_stop(&d);
}

/* A line of len bytes, "\n" included: "unixsockd/1 status", blanks, "\n". */
static char *padded_status(size_t len)
{
        char *line = malloc(len + 1);

        cr_assert_not_null(line);
        memset(line, ' ', len);
        memcpy(line, "unixsockd/1 status", 18);
        line[len - 1] = '\n';
        line[len] = '\0';
        return line;
}

Test(control, a_line_over_4096_bytes_is_an_error_and_the_connection_closes)
{
        start(conf_with(SPAWN));
        int base = baseline();
        /* the longest line is served */
        char *line = padded_status(LINE_MAX_BYTES);
        json_object *a = ctl_send(line, LINE_MAX_BYTES);
        cr_assert(jbool(a, "ok"), "a line of 4096 bytes: %s", json_object_to_json_string(a));
        free(line);
        /* one byte more is not */
        line = padded_status(LINE_MAX_BYTES + 1);
        a = ctl_send(line, LINE_MAX_BYTES + 1);
        cr_assert_not(jbool(a, "ok"));
        cr_assert_str_eq(jstr(a, "error"), "request line longer than 4096 bytes");
        free(line);
        expect_recovered(base);
        daemon_stop(&d);
}

/* A 1 MB line, sent as fast as the daemon takes it: the error comes back
 * and the connection closes while the client still has more to send. */
Test(control, a_1mb_line_is_cut_off_with_an_error)
{
        const size_t total = 1 << 20;
        char chunk[65536];
        size_t sent = 0;

        start(conf_with(SPAWN));
        int base = baseline();
        memset(chunk, 'x', sizeof(chunk));
        int fd = raw_connect(ctl_path());
        cr_assert_geq(fd, 0);
        cr_assert(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
        long long deadline = now_ms() + DEADLINE_MS;
        while (sent < total) {
                struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
                cr_assert_gt(poll(&p, 1, ms_left(deadline)), 0, "neither answered nor taken");
                if (p.revents & (POLLIN | POLLHUP | POLLERR))
                        break;
                ssize_t n = send(fd, chunk, sizeof(chunk) < total - sent ? sizeof(chunk) : total - sent,
                                 MSG_NOSIGNAL);
                if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                        break;
                if (n < 0 && errno == EAGAIN)
                        continue;
                cr_assert_gt(n, 0, "send: %s", strerror(errno));
                sent += (size_t)n;
        }
        cr_assert_lt(sent, total, "the daemon read all of 1 MB");
        cr_assert(fcntl(fd, F_SETFL, 0) == 0);
        char *text = read_to_eof(fd, DEADLINE_MS, NULL);
        close(fd);
        cr_assert_not_null(text, "no answer, no EOF");
        json_object *a = parse_answer(text);
        free(text);
        cr_assert_not(jbool(a, "ok"));
        cr_assert_str_eq(jstr(a, "error"), "request line longer than 4096 bytes");
        expect_recovered(base);
        daemon_stop(&d);
}

/* What a stalled control connection reads: EOF, between lo and hi ms after
 * it connected at t0 (an error answer before it, if any, is well formed). */
static void expect_cut_off(int fd, long long t0, int lo, int hi)
{
        size_t len;
        char *text = read_to_eof(fd, hi, &len);
        long long took = now_ms() - t0;

        cr_assert_not_null(text, "not cut off within %d ms", hi);
        cr_assert_geq(took, lo, "cut off after %lld ms, before the deadline", took);
        if (len) {
                json_object *a = parse_answer(text);
                cr_assert_not(jbool(a, "ok"));
        }
        free(text);
}

Test(control, a_client_that_sends_nothing_is_cut_off_after_the_deadline)
{
        start(conf_with(SPAWN));
        int base = baseline();
        long long t0 = now_ms();
        int silent = raw_connect(ctl_path());
        int partial = raw_connect(ctl_path());
        cr_assert_geq(silent, 0);
        cr_assert_geq(partial, 0);
        cr_assert_eq(us_send(partial, "unixsockd/1 sta", 15), 15);
        /* meanwhile the daemon serves others, control clients too */
        pool_echo("not stalled");
        client_expect_echo(daemon_path(&d, "s.sock"), "not stalled");
        ctl_ok("status");
        cr_assert_not(readable_within(silent, 0), "the silent client is not cut off before the deadline");
        expect_cut_off(silent, t0, 4900, 12000);
        expect_cut_off(partial, t0, 4900, 12000);
        close(silent);
        close(partial);
        expect_recovered(base);
        daemon_stop(&d);
}

Test(control, a_client_that_half_closes_without_a_newline_gets_an_error)
{
        const char *line = "unixsockd/1 status";

        start(conf_with(SPAWN));
        int base = baseline();
        json_object *a = ctl_send(line, strlen(line));
        cr_assert_not(jbool(a, "ok"));
        cr_assert_str_eq(jstr(a, "error"), "the request line has no newline");
        a = ctl_send("unixsockd/1 st\0atus\n", 20);
        cr_assert_not(jbool(a, "ok"));
        cr_assert_str_eq(jstr(a, "error"), "a NUL byte in the request");
        expect_recovered(base);
        daemon_stop(&d);
}

/* A status answer bigger than the daemon's socket buffer, to a client that
 * never reads: the daemon writes what fits, serves others meanwhile, and
 * closes the connection at the deadline. */
Test(control, a_client_that_never_reads_is_cut_off_after_the_deadline)
{
        enum { SOCKETS = 1800 };
        size_t cap = SOCKETS * 64 + 4096, n = 0, full_len, part_len;
        char *text = malloc(cap);
        long wmem = 0;
        FILE *f = fopen("/proc/sys/net/core/wmem_default", "r");

        cr_assert(f && fscanf(f, "%ld", &wmem) == 1);
        fclose(f);
        cr_assert_not_null(text);
        n += (size_t)snprintf(text + n, cap - n, "%s", conf_with("[worker:cat]\ncommand = /bin/cat\n\n"));
        for (int i = 0; i < SOCKETS; i++)
                n += (size_t)snprintf(text + n, cap - n, "[socket:s%04d]\npath = s%04d.sock\nworker = cat\n", i, i);
        start(text);
        free(text);
        int base = baseline();

        long long t0 = now_ms();
        int stalled = raw_connect(ctl_path());
        cr_assert_geq(stalled, 0);
        cr_assert_eq(us_send(stalled, "unixsockd/1 status\n", 19), 19);
        /* others are served meanwhile: a whole answer to a reader, a connection */
        int reader = raw_connect(ctl_path());
        cr_assert_geq(reader, 0);
        cr_assert_eq(us_send(reader, "unixsockd/1 status\n", 19), 19);
        char *full = read_to_eof(reader, DEADLINE_MS, &full_len);
        close(reader);
        cr_assert_not_null(full);
        json_object *a = parse_answer(full);
        cr_assert(jbool(a, "ok"));
        cr_assert_eq(json_object_array_length(jarray(a, "sockets")), SOCKETS + 1);
        free(full);
        cr_assert_gt((long)full_len, 2 * wmem, "the answer (%zu bytes) must not fit the socket buffer (%ld)",
                     full_len, wmem);
        pool_echo("served while one stalls");
        /* the daemon lets go of it by the deadline though this end stays open, unread */
        long long deadline = now_ms() + DEADLINE_MS;
        int fds;
        while ((fds = count_fds_of(d.pid)) != base && ms_left(deadline) > 0)
                look_again();
        cr_assert_eq(fds, base, "the daemon still holds the stalled client: %d fds, %d before", fds, base);
        cr_assert_geq(now_ms() - t0, 4900, "let go before the deadline");
        /* what it had written, then EOF: less than the whole answer */
        char *part = read_to_eof(stalled, DEADLINE_MS, &part_len);
        close(stalled);
        cr_assert_not_null(part, "no EOF on the stalled connection");
        free(part);
        cr_assert_gt(part_len, 0);
        cr_assert_lt(part_len, full_len, "cut off: %zu of %zu bytes", part_len, full_len);
        expect_recovered(base);
        daemon_stop(&d);
}

/* 100 control clients at once, held connected before they send: the daemon
 * takes 16, the rest wait in the backlog (or in connect); each then sends
 * status and every one gets its answer. The clients are all forked before
 * any connects, so that the 16 the daemon holds wait for no fork: held idle
 * past its 5 s deadline (a starved machine) they would be cut off. */
Test(control, a_hundred_clients_at_once_all_get_an_answer_and_at_most_16_are_held)
{
        enum { N = 100, SLACK = 4 };
        pid_t kids[N];
        int connected[2], go[2], all_forked[2];

        start(conf_with(SPAWN));
        int base = baseline(), base_sock = count_socket_fds_of(d.pid);
        cr_assert(pipe2(connected, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0 &&
                  pipe2(all_forked, O_CLOEXEC) == 0);
        for (int i = 0; i < N; i++) {
                kids[i] = fork();
                cr_assert_geq(kids[i], 0);
                if (kids[i] == 0) {
                        char b;
                        close(go[1]);
                        close(all_forked[1]);
                        if (!readable_within(all_forked[0], 120000) || read(all_forked[0], &b, 1) != 0)
                                _exit(8);
                        int fd = raw_connect(ctl_path());
                        if (fd < 0)
                                _exit(2);
                        if (write(connected[1], "x", 1) != 1)
                                _exit(3);
                        if (!readable_within(go[0], 120000) || read(go[0], &b, 1) != 0)
                                _exit(4);
                        if (us_send(fd, "unixsockd/1 status\n", 19) != 19)
                                _exit(5);
                        size_t len;
                        char *text = read_to_eof(fd, 120000, &len);
                        if (!text)
                                _exit(6);
                        json_object *a = json_tokener_parse(text), *ok = NULL;
                        _exit(a && json_object_object_get_ex(a, "ok", &ok) && json_object_get_boolean(ok) &&
                              json_object_object_get_ex(a, "sockets", NULL) ? 0 : 7);
                }
        }
        close(all_forked[0]);
        close(all_forked[1]); /* EOF: they all connect now */
        close(go[0]);
        close(connected[1]);
        /* the daemon took its 16 and holds them: no more */
        long long deadline = now_ms() + DEADLINE_MS;
        int socks;
        while ((socks = count_socket_fds_of(d.pid)) < base_sock + CLIENTS_MAX && ms_left(deadline) > 0)
                look_again();
        cr_assert_eq(socks, base_sock + CLIENTS_MAX, "the daemon holds %d control clients", socks - base_sock);
        int fds = count_fds_of(d.pid);
        cr_assert_lt(fds, base + CLIENTS_MAX + SLACK, "%d fds, %d before", fds, base);
        pool_echo("served while the control socket is full");
        cr_assert_eq(count_socket_fds_of(d.pid), base_sock + CLIENTS_MAX, "still 16, not more");
        /* more are connected than it holds: they wait in its backlog */
        char x[N];
        ssize_t nc = 0;
        while (nc <= CLIENTS_MAX && readable_within(connected[0], ms_left(deadline))) {
                ssize_t r = read(connected[0], x, sizeof(x));
                cr_assert_gt(r, 0);
                nc += r;
        }
        cr_assert_gt(nc, CLIENTS_MAX, "more connected than the daemon holds: %zd", nc);
        cr_assert_eq(count_socket_fds_of(d.pid), base_sock + CLIENTS_MAX, "and it took none of them");
        close(go[1]);
        int ok = 0, st, most = fds;
        for (int i = 0; i < N; i++) {
                int now = count_fds_of(d.pid);
                most = now > most ? now : most;
                cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
                ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
        }
        close(connected[0]);
        cr_assert_eq(ok, N, "%d of %d control clients got their answer", ok, N);
        cr_assert_lt(most, base + CLIENTS_MAX + SLACK, "%d fds at most, %d before", most, base);
        expect_recovered(base);
        daemon_stop(&d);
}

/* Runs fn(arg, out) as nobody; what it writes to out comes back in buf. */
static void as_nobody(void (*fn)(const char *arg, int out), const char *arg, char *buf, size_t size)
{
        int p[2], st;

        cr_assert(pipe2(p, O_CLOEXEC) == 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(p[0]);
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(2);
                fn(arg, p[1]);
                _exit(0);
        }
        close(p[1]);
        cr_assert_geq(read_all_deadline(p[0], buf, size, DEADLINE_MS), 0);
        close(p[0]);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "as nobody: status 0x%x", st);
}

/* Writes "errno N" for a connect that failed, or the answers to each
 * request of arg (separated by ';'), a line each. */
static void nobody_requests(const char *arg, int out)
{
        char requests[512], line[600];
        char *save = NULL;

        snprintf(requests, sizeof(requests), "%s", arg);
        for (char *r = strtok_r(requests, ";", &save); r; r = strtok_r(NULL, ";", &save)) {
                int fd = raw_connect(join(d.dir, "control.sock"));
                if (fd < 0) {
                        dprintf(out, "errno %d\n", errno);
                        continue;
                }
                int n = snprintf(line, sizeof(line), "unixsockd/1 %s\n", r);
                if (us_send(fd, line, (size_t)n) != n)
                        _exit(3);
                char *text = read_to_eof(fd, DEADLINE_MS, NULL);
                if (!text)
                        _exit(4);
                dprintf(out, "%s", text);
                free(text);
                close(fd);
        }
}

Test(control, a_uid_that_may_not_connect_or_run_a_command_is_refused)
{
        char buf[8192], want[64];

        if (geteuid() != 0)
                cr_skip_test("needs root to be another uid");
        start(conf_with(SPAWN));
        int base = baseline();
        struct stat st;
        cr_assert(stat(ctl_path(), &st) == 0);
        cr_assert_eq(st.st_mode & 07777, 0600, "control socket mode %04o", st.st_mode & 07777);
        cr_assert_eq(st.st_uid, geteuid());
        /* 0600 and root's: nobody cannot even connect */
        as_nobody(nobody_requests, "status", buf, sizeof(buf));
        snprintf(want, sizeof(want), "errno %d\n", EACCES);
        cr_assert_str_eq(buf, want, "nobody connected to a 0600 control socket");
        /* Reachable by everyone, the daemon still checks who asks. */
        cr_assert(chmod(ctl_path(), 0666) == 0);
        as_nobody(nobody_requests, "status;reload;stop;pause s;restart echo", buf, sizeof(buf));
        static const char *const cmds[] = { "status", "reload", "stop", "pause", "restart" };
        char *save = NULL, *l = strtok_r(buf, "\n", &save);
        for (size_t i = 0; i < 5; i++, l = strtok_r(NULL, "\n", &save)) {
                cr_assert_not_null(l, "no answer to %s", cmds[i]);
                char text[2048];
                snprintf(text, sizeof(text), "%s\n", l);
                json_object *a = parse_answer(text);
                cr_assert_not(jbool(a, "ok"), "nobody ran %s: %s", cmds[i], text);
                snprintf(want, sizeof(want), "uid 65534 may not run '%s'", cmds[i]);
                cr_assert_str_eq(jstr(a, "error"), want);
                cr_assert_not(json_object_object_get_ex(a, "sockets", NULL), "no status to nobody");
        }
        cr_assert_null(l, "one answer per request");
        /* nothing happened: not stopped, not reloaded, not paused, not restarted */
        json_object *a = ctl_ok("status");
        cr_assert_not(jbool(jget(a, "daemon"), "stopping"));
        cr_assert_eq(jint(jget(a, "daemon"), "reloads"), 0);
        cr_assert_str_eq(jstr(jnamed(a, "sockets", "s"), "state"), "listening");
        cr_assert_eq(daemon_log_count(&d, "worker echo: started pid"), 3);
        expect_recovered(base);
        daemon_stop(&d);
}

/* control-group = GROUP: the socket is 0660 in that group, and its members
 * may read the status, never change anything. */
Test(control, control_group_members_may_read_the_status_and_change_nothing)
{
        char buf[65536], text[65536];

        if (geteuid() != 0)
                cr_skip_test("needs root to be another uid");
        snprintf(text, sizeof(text), "[unixsockd]\nruntime-directory = @DIR@\ncontrol = control.sock\n"
                 "control-group = %d\n\n" SPAWN, (int)NOBODY);
        start(text);
        struct stat st;
        cr_assert(stat(ctl_path(), &st) == 0);
        cr_assert_eq(st.st_mode & 07777, 0660, "control socket mode %04o", st.st_mode & 07777);
        cr_assert_eq(st.st_gid, (gid_t)NOBODY, "its group");
        as_nobody(nobody_requests, "status;stop", buf, sizeof(buf));
        char *save = NULL, *l = strtok_r(buf, "\n", &save);
        cr_assert_not_null(l);
        snprintf(text, sizeof(text), "%s\n", l);
        json_object *a = parse_answer(text);
        cr_assert(jbool(a, "ok"), "a member of control-group reads the status: %s", text);
        cr_assert_str_eq(jstr(jnamed(a, "sockets", "s"), "state"), "listening");
        l = strtok_r(NULL, "\n", &save);
        cr_assert_not_null(l);
        snprintf(text, sizeof(text), "%s\n", l);
        a = parse_answer(text);
        cr_assert_not(jbool(a, "ok"), "a member of control-group stopped the daemon: %s", text);
        cr_assert_str_eq(jstr(a, "error"), "uid 65534 may not run 'stop'");
        cr_assert_not(jbool(jget(ctl_ok("status"), "daemon"), "stopping"));
        daemon_stop(&d);
}

/* More names than a request has room for words: the daemon must not drop
 * the ones past its limit and answer for the others (the protocol: "an
 * unknown name is an error"). */
Test(control, an_unknown_name_after_many_known_ones_is_still_an_error)
{
        char req[1024];
        size_t n = (size_t)snprintf(req, sizeof(req), "status");

        start(conf_with(SPAWN));
        for (int i = 0; i < 70; i++)
                n += (size_t)snprintf(req + n, sizeof(req) - n, " s");
        snprintf(req + n, sizeof(req) - n, " nope");
        json_object *a = ctl(req);
        cr_assert_not(jbool(a, "ok"), "'nope' after 70 names was not looked at: %s", json_object_to_json_string(a));
        cr_assert_not(json_object_object_get_ex(a, "sockets", NULL));
        daemon_stop(&d);
}

/* While it stops, workers serve on: status says so, and a command that
 * would start something starts nothing. The daemon exits once the last
 * worker is done. */
static int start_stopping(void)
{
        char *t = replace_all(conf_with(SPAWN), "control = control.sock\n",
                              "control = control.sock\nstop-timeout = 60s\n");

        start(t);
        free(t);
        int held = hold(daemon_path(&d, "s.sock")); /* the stop waits for its worker */
        ctl_ok("stop");
        cr_assert(daemon_wait_log(&d, "stopping on unixsockctl stop"));
        json_object *a = ctl_ok("status");
        cr_assert(jbool(jget(a, "daemon"), "stopping"));
        cr_assert_str_eq(jstr(jnamed(a, "sockets", "s"), "state"), "closed");
        cr_assert_str_eq(jstr(jnamed(a, "sockets", "p"), "state"), "closed");
        cr_assert_eq(jint(jnamed(a, "sockets", "s"), "in_service"), 1);
        cr_assert(daemon_wait_log_count(&d, "exited with status 0", 3), "the pool's processes stop");
        return held;
}

static void expect_exit_after(int held)
{
        close(held);
        int st = daemon_wait_exit(&d);
        cr_assert_neq(st, -1, "unixsockd did not exit after its last worker");
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unixsockd exit status 0x%x", st);
}

Test(control, while_stopping_status_says_so_and_the_last_worker_ends_it)
{
        expect_exit_after(start_stopping());
}

Test(control, restart_while_stopping_starts_nothing)
{
        int held = start_stopping();
        int started = daemon_log_count(&d, "started pid");
        json_object *a = ctl("restart echo");
        cr_expect_eq(daemon_log_count(&d, "started pid"), started, "restart started processes while stopping: %s",
                     json_object_to_json_string(a));
        a = ctl_ok("status");
        cr_expect_str_eq(jstr(jnamed(a, "sockets", "p"), "state"), "closed", "p listens again while stopping");
        cr_expect_str_eq(jstr(jnamed(a, "sockets", "s"), "state"), "closed", "s listens again while stopping");
        expect_exit_after(held);
}

Test(control, reload_while_stopping_opens_nothing)
{
        int held = start_stopping();
        int started = daemon_log_count(&d, "started pid");
        write_conf(conf_with(SPAWN "[socket:n]\npath = n.sock\nworker = cat\n"));
        json_object *a = ctl("reload");
        cr_expect(access(daemon_path(&d, "n.sock"), F_OK) < 0, "reload made a socket while stopping: %s",
                  json_object_to_json_string(a));
        cr_expect_eq(daemon_log_count(&d, "started pid"), started, "reload started processes while stopping: %s",
                     json_object_to_json_string(a));
        a = ctl_ok("status");
        cr_expect_str_eq(jstr(jnamed(a, "sockets", "p"), "state"), "closed", "p listens again while stopping");
        expect_exit_after(held);
}
