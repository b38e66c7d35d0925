/* unixsockctl against a fake daemon served by the test: the request line the
 * protocol says, what each answer makes of the output and the exit code,
 * answers that are wrong in every way, a daemon that never answers, and the
 * metrics text checked by promtool. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "unixsock.h"

extern char **environ;

#define DEADLINE_MS 20000

static char *dir;
static const char *ctl;

static void setup(void)
{
        ctl = getenv("UNIXSOCKCTL");
        cr_assert_not_null(ctl, "UNIXSOCKCTL names the built unixsockctl (meson test sets it)");
        dir = make_tmpdir();
        signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
        rm_rf(dir);
        free(dir);
}

TestSuite(ctl, .init = setup, .fini = teardown, .timeout = 60);

/* A status answer as the protocol describes it, with a path that needs
 * escaping in a label. */
static const char status_answer[] =
        "{\"protocol\":1,\"ok\":true,"
        "\"daemon\":{\"pid\":123,\"version\":\"0.1.0\",\"config\":\"/etc/unixsockd/unixsockd.conf\","
        "\"started_realtime_usec\":1764400000000000,\"stopping\":false,\"accepted\":12357,\"refused\":2,"
        "\"reloads\":1},"
        "\"sockets\":[{\"name\":\"echo\",\"path\":\"/run/unixsockd/echo.sock\",\"worker\":\"echo\","
        "\"origin\":\"made\",\"state\":\"listening\",\"paused\":[],\"paused_since_realtime_usec\":0,"
        "\"accepted\":12,\"refused\":{\"not-allowed\":1,\"max-per-user\":1,\"no-process\":0},"
        "\"in_service\":3,\"queued\":0,\"backlog\":0,\"backlog_max\":128},"
        "{\"name\":\"pool\",\"path\":\"/run/unixsockd/we\\\"ird\\\\pa\\nth.sock\",\"worker\":\"pool\","
        "\"origin\":\"inherited\",\"type\":\"seqpacket\",\"state\":\"paused\",\"paused\":[\"instances\",\"manual\"],"
        "\"paused_since_realtime_usec\":1764400100000000,\"accepted\":12345,"
        "\"refused\":{\"not-allowed\":0,\"max-per-user\":0,\"no-process\":0},"
        "\"in_service\":4,\"queued\":2,\"backlog\":5,\"backlog_max\":64}],"
        "\"workers\":[{\"name\":\"echo\",\"dispatch\":\"spawn\",\"instances\":64,\"running\":1,\"restarts\":0,"
        "\"spawned\":77,\"exec_failed\":0,\"processes\":[{\"pid\":4567,\"started_realtime_usec\":1764400200000000,"
        "\"served\":0,\"in_service\":1,\"state\":\"busy\",\"backoff_until_realtime_usec\":0}],"
        "\"last_exit\":{\"pid\":4555,\"code\":\"killed\",\"status\":9,\"realtime_usec\":1764400150000000}},"
        "{\"name\":\"pool\",\"dispatch\":\"pool\",\"instances\":2,\"running\":1,\"restarts\":3,\"spawned\":5,"
        "\"exec_failed\":0,\"processes\":[{\"pid\":5000,\"started_realtime_usec\":1764400200000000,\"served\":"
        "8765,\"in_service\":2,\"state\":\"busy\",\"backoff_until_realtime_usec\":0},{\"pid\":0,"
        "\"started_realtime_usec\":0,\"served\":0,\"in_service\":0,\"state\":\"backoff\","
        "\"backoff_until_realtime_usec\":1764400300000000}],\"last_exit\":null}]}\n";

struct run {
        int code;               /* exit code */
        char request[8192];     /* the line the fake daemon read, "" if none */
        char *out, *err;        /* what unixsockctl printed */
        double seconds;         /* how long it ran */
};

static void run_free(struct run *r)
{
        free(r->out);
        free(r->err);
}

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        int c;

        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(f);
        fclose(m);
        return buf;
}

/* Starts prog with args (NULL-terminated), stdout and stderr to files in dir,
 * the environment plus env (NULL-terminated "K=V" or NULL). */
static pid_t spawn(const char *prog, char *const args[], char *const env[], const char *in)
{
        posix_spawn_file_actions_t fa;
        char *envp[256];
        size_t n = 0;
        pid_t pid;
        int r;

        for (char **e = environ; *e && n < 200; e++)
                if (strncmp(*e, "UNIXSOCKCTL_TIMEOUT=", 20) != 0 && strncmp(*e, "RUNTIME_DIRECTORY=", 18) != 0)
                        envp[n++] = *e;
        for (size_t i = 0; env && env[i]; i++)
                envp[n++] = env[i];
        envp[n] = NULL;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, join(dir, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, join(dir, "err"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        r = posix_spawnp(&pid, prog, &fa, NULL, args, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                errno = r;
                return -1;
        }
        return pid;
}

/* The exit code of pid, waited for at most DEADLINE_MS (pidfd, no sleeps). */
static int wait_exit(pid_t pid)
{
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status;
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        cr_assert_geq(pidfd, 0);
        if (poll(&p, 1, DEADLINE_MS) != 1) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                close(pidfd);
                cr_assert_fail("pid %d still runs after %d ms", (int)pid, DEADLINE_MS);
        }
        close(pidfd);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "killed by signal %d", WTERMSIG(status));
        return WEXITSTATUS(status);
}

/* Reads one line from a client within the deadline into buf. */
static void read_request(int c, char *buf, size_t size)
{
        size_t len = 0;

        while (len + 1 < size && !memchr(buf, '\n', len)) {
                struct pollfd p = { .fd = c, .events = POLLIN };
                ssize_t n;

                cr_assert_eq(poll(&p, 1, DEADLINE_MS), 1, "no request line in time");
                n = read(c, buf + len, size - 1 - len);
                cr_assert_geq(n, 0);
                if (n == 0)
                        break;
                len += (size_t)n;
                buf[len] = '\0';
        }
        buf[len] = '\0';
}

/* Accepts one client on l within the deadline. */
static int accept_one(struct us_listener *l)
{
        struct pollfd p = { .fd = us_listener_fd(l), .events = POLLIN };

        cr_assert_eq(poll(&p, 1, DEADLINE_MS), 1, "unixsockctl did not connect");
        return us_accept_flags(l, NULL, US_ACCEPT_NOWAIT);
}

/* Runs unixsockctl -s SOCK args against a fake daemon that reads the request
 * and answers with answer (len bytes; NULL: never answers, keeps the
 * connection until unixsockctl exits). env: extra variables. */
static void run_ctl(struct run *r, const char *answer, size_t len, const char *const args[], char *const env[])
{
        const char *sock = join(dir, "control.sock");
        struct us_listener *l = us_listen(sock, 0);
        char *argv[32];
        size_t n = 0;
        double t0 = now();
        pid_t pid;
        int c;

        cr_assert_not_null(l, "%s: %s", sock, strerror(errno));
        argv[n++] = (char *)ctl;
        argv[n++] = "-s";
        argv[n++] = (char *)sock;
        for (size_t i = 0; args[i]; i++)
                argv[n++] = (char *)args[i];
        argv[n] = NULL;
        pid = spawn(ctl, argv, env, NULL);
        cr_assert_gt(pid, 0);
        c = accept_one(l);
        cr_assert_geq(c, 0);
        read_request(c, r->request, sizeof(r->request));
        if (answer)
                (void)us_send(c, answer, len); /* a client that stops reading gives EPIPE */
        if (answer)
                close(c);
        r->code = wait_exit(pid);
        r->seconds = now() - t0;
        if (!answer)
                close(c);
        us_close(l);
        r->out = slurp(join(dir, "out"));
        r->err = slurp(join(dir, "err"));
}

static void run_answer(struct run *r, const char *answer, const char *const args[])
{
        run_ctl(r, answer, strlen(answer), args, NULL);
}

Test(ctl, each_command_sends_the_protocols_request_line)
{
        static const struct {
                const char *args[4];
                const char *line;
        } cases[] = {
                { { "status", NULL }, "unixsockd/1 status\n" },
                { { "status", "echo", "pool", NULL }, "unixsockd/1 status echo pool\n" },
                { { "reload", NULL }, "unixsockd/1 reload\n" },
                { { "restart", "pool", NULL }, "unixsockd/1 restart pool\n" },
                { { "pause", "echo", NULL }, "unixsockd/1 pause echo\n" },
                { { "resume", "echo", NULL }, "unixsockd/1 resume echo\n" },
                { { "stop", NULL }, "unixsockd/1 stop\n" },
                { { "metrics", NULL }, "unixsockd/1 status\n" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct run r;

                run_answer(&r, "{\"protocol\":1,\"ok\":true}\n", cases[i].args);
                cr_expect_str_eq(r.request, cases[i].line);
                cr_expect_eq(r.code, 0, "%s: exit %d, stderr: %s", cases[i].line, r.code, r.err);
                run_free(&r);
        }
}

Test(ctl, status_shows_the_daemons_numbers_in_tables)
{
        struct run r;

        run_answer(&r, status_answer, (const char *const[]){ "status", NULL });
        cr_assert_eq(r.code, 0, "stderr: %s", r.err);
        cr_assert_str_empty(r.err);
        /* the daemon line, the sockets' counters and queues, the workers and their processes */
        cr_expect(strstr(r.out, "unixsockd 0.1.0, pid 123, config /etc/unixsockd/unixsockd.conf"), "%s", r.out);
        cr_expect(strstr(r.out, "accepted 12357, refused 2"), "%s", r.out);
        cr_expect(strstr(r.out, "SOCKET"), "%s", r.out);
        cr_expect(strstr(r.out, "12345"), "a socket's accepted: %s", r.out);
        cr_expect(strstr(r.out, "5/64"), "backlog waiting/size: %s", r.out);
        cr_expect(strstr(r.out, "paused:instances,manual"), "why paused: %s", r.out);
        cr_expect(strstr(r.out, " seqpacket "), "a socket's type: %s", r.out);
        cr_expect(strstr(r.out, "refused not-allowed 1, max-per-user 1"), "refusals by reason: %s", r.out);
        cr_expect(strstr(r.out, "we\"ird\\pa\\x0ath.sock"), "a control character is shown escaped: %s", r.out);
        cr_expect(strstr(r.out, "4567"), "a process's pid: %s", r.out);
        cr_expect(strstr(r.out, "8765"), "a process's served: %s", r.out);
        cr_expect(strstr(r.out, "pid 4555 killed by SIGKILL"), "the last exit: %s", r.out);
        cr_expect(strstr(r.out, "next start"), "a member backing off: %s", r.out);
        run_free(&r);
}

Test(ctl, json_prints_the_answer_as_it_came)
{
        struct run r;

        run_answer(&r, status_answer, (const char *const[]){ "--json", "status", NULL });
        cr_assert_eq(r.code, 0, "stderr: %s", r.err);
        cr_assert_str_eq(r.out, status_answer);
        run_free(&r);
}

Test(ctl, reload_applied_exits_0_with_one_line)
{
        struct run r;

        run_answer(&r, "{\"protocol\":1,\"ok\":true,\"sockets_new\":2,\"sockets_closed\":1,\"workers_replaced\":1}\n",
                   (const char *const[]){ "reload", NULL });
        cr_assert_eq(r.code, 0, "stderr: %s", r.err);
        cr_assert_str_eq(r.out, "reloaded: 2 new sockets, 1 closed, 1 worker replaced\n");
        run_free(&r);
}

Test(ctl, reload_refused_exits_78_with_each_file_line_on_stderr)
{
        struct run r;

        run_answer(&r, "{\"protocol\":1,\"ok\":false,\"error\":\"/etc/u.conf has errors; the running configuration "
                       "stays\",\"errors\":[\"/etc/u.conf:3: backlog: 'x' is not a number from 1 to 65535\","
                       "\"/etc/u.conf:9: unknown key 'foo' in [worker:echo]\"]}\n",
                   (const char *const[]){ "reload", NULL });
        cr_assert_eq(r.code, 78, "EX_CONFIG; stderr: %s", r.err);
        static const char lines[] = "/etc/u.conf:3: backlog: 'x' is not a number from 1 to 65535\n"
                                    "/etc/u.conf:9: unknown key 'foo' in [worker:echo]\n";
        cr_assert(strncmp(r.err, lines, strlen(lines)) == 0, "FILE:LINE lines first, as they came: %s", r.err);
        cr_assert(strstr(r.err, "running configuration stays"), "%s", r.err);
        cr_assert_str_empty(r.out);
        run_free(&r);
}

Test(ctl, daemon_saying_no_exits_1_and_a_uid_not_allowed_77)
{
        struct run r;

        run_answer(&r, "{\"protocol\":1,\"ok\":false,\"error\":\"no socket 'x'\"}\n",
                   (const char *const[]){ "pause", "x", NULL });
        cr_expect_eq(r.code, 1);
        cr_expect(strstr(r.err, "no socket 'x'"), "%s", r.err);
        run_free(&r);
        run_answer(&r, "{\"protocol\":1,\"ok\":false,\"error\":\"uid 1000 may not run 'stop'\"}\n",
                   (const char *const[]){ "stop", NULL });
        cr_expect_eq(r.code, 77, "EX_NOPERM");
        cr_expect(strstr(r.err, "uid 1000 may not run 'stop'"), "%s", r.err);
        run_free(&r);
}

Test(ctl, json_on_a_refusal_prints_the_answer_and_keeps_the_exit_code)
{
        static const char no[] = "{\"protocol\":1,\"ok\":false,\"error\":\"no worker 'w'\"}\n";
        struct run r;

        run_answer(&r, no, (const char *const[]){ "--json", "restart", "w", NULL });
        cr_expect_eq(r.code, 1);
        cr_expect_str_eq(r.out, no);
        cr_expect(strstr(r.err, "no worker 'w'"), "%s", r.err);
        run_free(&r);
}

Test(ctl, malformed_answers_exit_76_with_a_clear_message)
{
        static const struct {
                const char *answer, *says;
        } cases[] = {
                { "hello there\n", "no JSON" },
                { "{\"protocol\":1,\"ok\":true,\"sockets\":[", "truncated" },       /* cut, no newline */
                { "{\"protocol\":1,\"ok\":true,\"sockets\":[\n", "no JSON" },       /* cut, then a newline */
                { "{\"protocol\":1,\"ok\":true} trailing\n", "no JSON" },
                { "[1,2,3]\n", "no object" },
                { "{\"ok\":true}\n", "\"protocol\"" },
                { "{\"protocol\":2,\"ok\":true}\n", "protocol 2" },
                { "{\"protocol\":1}\n", "\"ok\"" },
                { "", "without an answer" },
                { "{\"protocol\":1,\"ok\":true,\"sockets\":{}}\n", "malformed status" },
                { "{\"protocol\":1,\"ok\":true,\"workers\":[{\"name\":\"w\",\"processes\":[7]}]}\n", "malformed status" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct run r;

                run_answer(&r, cases[i].answer, (const char *const[]){ "status", NULL });
                cr_expect_eq(r.code, 76, "answer %zu: exit %d, stderr %s", i, r.code, r.err);
                cr_expect(strstr(r.err, cases[i].says), "answer %zu: %s", i, r.err);
                run_free(&r);
        }
}

Test(ctl, an_answer_over_16_mib_is_refused_not_read_to_the_end)
{
        size_t len = (16u << 20) + 4096;
        char *huge = malloc(len);
        struct run r;

        cr_assert_not_null(huge);
        memset(huge, ' ', len);
        huge[0] = '{';
        run_ctl(&r, huge, len, (const char *const[]){ "status", NULL }, NULL);
        cr_expect_eq(r.code, 76, "stderr: %s", r.err);
        cr_expect(strstr(r.err, "longer than 16 MiB"), "%s", r.err);
        run_free(&r);
        free(huge);
}

Test(ctl, a_daemon_that_never_answers_is_given_up_after_the_deadline)
{
        struct run r;

        run_ctl(&r, NULL, 0, (const char *const[]){ "status", NULL },
                (char *const[]){ "UNIXSOCKCTL_TIMEOUT=0.5", NULL });
        cr_expect_eq(r.code, 69, "EX_UNAVAILABLE; stderr: %s", r.err);
        cr_expect(strstr(r.err, "no answer from the daemon within 0.5 s"), "%s", r.err);
        cr_expect_geq(r.seconds, 0.5, "waited the deadline: %.3f s", r.seconds);
        cr_expect_lt(r.seconds, 5.0, "not the default 10 s: %.3f s", r.seconds);
        run_free(&r);
}

Test(ctl, a_daemon_whose_queue_is_full_is_given_up_after_the_deadline)
{
        const char *sock = join(dir, "full.sock");
        struct us_listener *l = us_listen(sock, 1);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fds[64], n = 0, code;
        pid_t pid;

        cr_assert_not_null(l);
        strcpy(sa.sun_path, sock);
        /* fill the accept queue: connect(2) would now wait */
        for (; n < 64; n++) {
                fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        cr_assert_eq(errno, EAGAIN);
                        close(fds[n]);
                        break;
                }
        }
        pid = spawn(ctl, (char *const[]){ (char *)ctl, "-s", (char *)sock, "status", NULL },
                    (char *const[]){ "UNIXSOCKCTL_TIMEOUT=0.3", NULL }, NULL);
        cr_assert_gt(pid, 0);
        code = wait_exit(pid);
        char *err = slurp(join(dir, "err"));
        cr_expect_eq(code, 69, "stderr: %s", err);
        cr_expect(strstr(err, sock) && strstr(err, "did not take the connection"), "%s", err);
        free(err);
        while (n--)
                close(fds[n]);
        us_close(l);
}

Test(ctl, no_daemon_exits_69_naming_the_path)
{
        const char *sock = join(dir, "nobody-here.sock");
        pid_t pid = spawn(ctl, (char *const[]){ (char *)ctl, "-s", (char *)sock, "status", NULL }, NULL, NULL);
        int code = wait_exit(pid);
        char *err = slurp(join(dir, "err"));

        cr_expect_eq(code, 69, "EX_UNAVAILABLE; stderr: %s", err);
        cr_expect(strstr(err, sock), "the path is named: %s", err);
        free(err);
}

Test(ctl, default_socket_is_control_sock_in_the_runtime_directory)
{
        char env[4200];
        struct us_listener *l;
        char line[256];
        pid_t pid;
        int c;

        /* systemd's RUNTIME_DIRECTORY: the first of ':'-separated paths, runs of '/' folded */
        snprintf(env, sizeof(env), "RUNTIME_DIRECTORY=%s//:/elsewhere", dir);
        l = us_listen(join(dir, "control.sock"), 0);
        cr_assert_not_null(l);
        pid = spawn(ctl, (char *const[]){ (char *)ctl, "reload", NULL }, (char *const[]){ env, NULL }, NULL);
        cr_assert_gt(pid, 0);
        c = accept_one(l);
        cr_assert_geq(c, 0);
        read_request(c, line, sizeof(line));
        cr_expect_str_eq(line, "unixsockd/1 reload\n");
        us_send(c, "{\"protocol\":1,\"ok\":true}\n", 25);
        close(c);
        cr_expect_eq(wait_exit(pid), 0);
        us_close(l);
}

Test(ctl, bad_command_lines_exit_64_without_connecting)
{
        static const char *const cases[][4] = {
                { NULL }, { "frobnicate", NULL }, { "restart", NULL }, { "pause", "a", "b", NULL },
                { "reload", "now", NULL }, { "status", "no spaces", NULL }, { "--json", "metrics", NULL },
                { "--bogus", "status", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *argv[8] = { (char *)ctl, "-s", (char *)join(dir, "none.sock") };
                size_t n = 3;

                for (size_t j = 0; cases[i][j]; j++)
                        argv[n++] = (char *)cases[i][j];
                argv[n] = NULL;
                cr_expect_eq(wait_exit(spawn(ctl, argv, NULL, NULL)), 64, "case %zu", i);
        }
}

/* promtool check metrics on the file at path: its exit code; a missing
 * promtool fails the test (tests/deps.sh installs it). */
static int promtool_check(const char *path)
{
        pid_t pid = spawn("promtool", (char *const[]){ "promtool", "check", "metrics", NULL }, NULL, path);

        cr_assert_gt(pid, 0, "promtool: %s: install the Debian package prometheus (tests/deps.sh DEPS_TEST)",
                     strerror(errno));
        return wait_exit(pid);
}

Test(ctl, metrics_text_passes_promtool_check_metrics)
{
        char *lint;
        struct run r;
        FILE *f;

        run_answer(&r, status_answer, (const char *const[]){ "metrics", NULL });
        cr_assert_eq(r.code, 0, "stderr: %s", r.err);
        cr_expect(strstr(r.out, "unixsockd_socket_accepted_total{socket=\"echo\"} 12\n"), "%s", r.out);
        cr_expect(strstr(r.out, "unixsockd_socket_refused_total{socket=\"echo\",reason=\"not-allowed\"} 1\n"),
                  "%s", r.out);
        cr_expect(strstr(r.out, "unixsockd_socket_backlog{socket=\"pool\"} 5\n"), "%s", r.out);
        cr_expect(strstr(r.out, "unixsockd_socket_paused{socket=\"pool\",reason=\"manual\"} 1\n"), "%s", r.out);
        cr_expect(strstr(r.out, "path=\"/run/unixsockd/we\\\"ird\\\\pa\\nth.sock\""), "label escaped: %s", r.out);
        cr_expect(strstr(r.out, "origin=\"made\",type=\"stream\"}"), "no type: stream, as before types: %s", r.out);
        cr_expect(strstr(r.out, "origin=\"inherited\",type=\"seqpacket\"}"), "%s", r.out);
        cr_expect(strstr(r.out, "unixsockd_worker_process_served{worker=\"pool\",pid=\"5000\"} 8765\n"), "%s", r.out);
        cr_expect(strstr(r.out, "# TYPE unixsockd_worker_restarts_total counter\n"), "%s", r.out);
        cr_expect(strstr(r.out, "# UNIT unixsockd_start_time_seconds seconds\n"), "%s", r.out);
        cr_expect(strlen(r.out) > 6 && strcmp(r.out + strlen(r.out) - 6, "# EOF\n") == 0, "ends with # EOF");
        f = fopen(join(dir, "metrics.txt"), "w");
        cr_assert_not_null(f);
        fputs(r.out, f);
        fclose(f);
        run_free(&r);
        int code = promtool_check(join(dir, "metrics.txt"));
        lint = slurp(join(dir, "out"));
        char *lint_err = slurp(join(dir, "err"));
        cr_expect_eq(code, 0, "promtool check metrics: %s%s", lint, lint_err);
        free(lint);
        free(lint_err);
}
