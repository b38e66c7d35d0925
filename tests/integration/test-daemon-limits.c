/* What a worker's section limits: runtime-max of a spawn worker's process
 * (SIGTERM, then SIGKILL after stop-timeout), and the rlimits, nice value and
 * umask every worker starts with. The real binary, real processes; the
 * workers report what the kernel says of them (/proc). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

TestSuite(limits, .fini = fini, .timeout = 180);

static char conf[8192];

/* ---- runtime-max ------------------------------------------------------------ */

/* One spawn worker "w" on w.sock running command, with runtime-max and the
 * configuration's stop-timeout; debug level: its "started pid" lines. */
static const char *runtime_conf(const char *command, const char *runtime_max, const char *stop_timeout)
{
        snprintf(conf, sizeof(conf),
                 "[unixsockd]\nruntime-directory = @DIR@\nstop-timeout = %s\nlog-level = debug\n\n"
                 "[socket:w]\npath = w.sock\nworker = w\n\n"
                 "[worker:w]\ncommand = %s\ndispatch = spawn\nruntime-max = %s\n",
                 stop_timeout, command, runtime_max);
        return conf;
}

/* Connects, says nothing, and waits for the daemon to end the connection:
 * the milliseconds from before the connect to the EOF. */
static long long connection_lasts(const char *path)
{
        char buf[64];
        long long t0 = now_ms();
        int c = client_connect(path);

        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0, "the connection ends, with EOF");
        close(c);
        return now_ms() - t0;
}

static void expect_gone(pid_t pid)
{
        cr_assert_gt(pid, 0);
        cr_assert(kill(pid, 0) < 0 && errno == ESRCH, "pid %d is gone", (int)pid);
}

Test(limits, runtime_max_stops_a_stuck_spawn_worker)
{
        daemon_start(&d, runtime_conf("/bin/sleep 1000", "300ms", "10s"));
        long long ms = connection_lasts(daemon_path(&d, "w.sock"));
        cr_assert_geq(ms, 300, "not before runtime-max: %lld ms", ms);
        pid_t pid = daemon_started_pid(&d, "w", 0);
        /* logged once, at warning, with the worker, its pid and the peer */
        cr_assert(daemon_wait_log(&d, fmt("pid %d killed by signal 15 after runtime-max", (int)pid)));
        cr_assert_eq(daemon_log_count(&d, "still runs after runtime-max"), 1);
        cr_assert(daemon_log_has(&d, fmt("warning: worker w: pid %d still runs after runtime-max 300ms: "
                                         "SIGTERM to its process group, SIGKILL in 10000ms socket=w worker=w peer_pid=%d",
                                         (int)pid, (int)getpid())));
        cr_assert(daemon_log_has(&d, fmt("warning: worker w: pid %d killed by signal 15 after runtime-max", (int)pid)),
                  "its exit is a failure");
        expect_gone(pid);
        daemon_stop(&d);
}

Test(limits, runtime_max_kills_a_worker_that_ignores_sigterm_after_stop_timeout)
{
        daemon_start(&d, runtime_conf("/bin/sh -c \"trap '' TERM; exec /bin/sleep 1000\"", "300ms", "500ms"));
        long long ms = connection_lasts(daemon_path(&d, "w.sock"));
        cr_assert_geq(ms, 800, "runtime-max, then stop-timeout of grace: %lld ms", ms);
        pid_t pid = daemon_started_pid(&d, "w", 0);
        cr_assert(daemon_wait_log(&d, fmt("pid %d killed by signal 9 after runtime-max", (int)pid)));
        cr_assert_eq(daemon_log_count(&d, "still runs after runtime-max"), 1, "one line, not one per signal");
        expect_gone(pid);
        daemon_stop(&d);
}

/* The first process ends well within runtime-max, the second one is stuck:
 * only the second is stopped (were the first one's timer left behind, it
 * would fire on a freed process before the second's is due). */
Test(limits, a_worker_that_finishes_within_runtime_max_is_not_touched)
{
        char buf[8];

        daemon_start(&d, runtime_conf("/bin/cat", "2s", "10s"));
        const char *p = daemon_path(&d, "w.sock");
        client_expect_echo(p, "quick");
        pid_t first = daemon_started_pid(&d, "w", 0);
        cr_assert(daemon_wait_log(&d, fmt("pid %d exited with status 0", (int)first)));
        int c = client_connect(p);
        cr_assert_eq(us_send(c, "x", 1), 1);
        cr_assert_eq(read_all_deadline(c, buf, 2, DEADLINE_MS), 1, "served, then stuck: no EOF from the client");
        cr_assert_eq(read_all_deadline(c, buf, sizeof(buf), DEADLINE_MS), 0, "stopped at its runtime-max");
        close(c);
        pid_t second = daemon_started_pid(&d, "w", 1);
        cr_assert(daemon_wait_log(&d, fmt("pid %d killed by signal 15 after runtime-max", (int)second)));
        cr_assert_eq(daemon_log_count(&d, "runtime-max"), 2, "the second one's warning and exit only");
        cr_assert_not(daemon_log_has(&d, fmt("pid %d still runs", (int)first)));
        cr_assert_not(daemon_log_has(&d, fmt("warning: worker w: pid %d", (int)first)), "nothing about the first");
        daemon_stop(&d);
}

/* The daemon stops with a long stop-timeout: the process it waits for is
 * still stopped at its runtime-max, and the stop path signals nothing. */
Test(limits, runtime_max_applies_while_the_daemon_stops)
{
        daemon_start(&d, runtime_conf("/bin/sleep 1000", "1s", "60s"));
        int c = client_connect(daemon_path(&d, "w.sock"));
        cr_assert(daemon_wait_log(&d, "worker w: started pid"));
        cr_assert(kill(d.pid, SIGTERM) == 0);
        cr_assert(daemon_wait_log(&d, "stopping"));
        int s = daemon_wait_exit(&d);
        cr_assert(s != -1 && WIFEXITED(s) && WEXITSTATUS(s) == 0, "status 0x%x", s);
        cr_assert(daemon_log_has(&d, "killed by signal 15 after runtime-max"));
        cr_assert_not(daemon_log_has(&d, "sending SIGTERM"), "not stop-timeout's doing");
        expect_gone(daemon_started_pid(&d, "w", 0));
        close(c);
}

/* A reload that keeps the worker keeps its processes' timers; one that
 * changes runtime-max replaces the worker, and what the old one runs still
 * ends at the runtime-max it started with. */
Test(limits, runtime_max_of_running_processes_survives_a_reload)
{
#define OTHER "\n[socket:x]\npath = x.sock\nworker = x\n\n[worker:x]\ncommand = /bin/cat\n"
        char kept[sizeof(conf) + 128], buf[64], *base = strdup(runtime_conf("/bin/cat", "1s", "10s"));
        const char *p;

        cr_assert_not_null(base);
        snprintf(kept, sizeof(kept), "%s" OTHER, base);
        daemon_start(&d, base);
        p = daemon_path(&d, "w.sock");
        int c1 = client_connect(p);
        cr_assert(daemon_wait_log_count(&d, "worker w: started pid", 1));
        daemon_reload(&d, kept);
        cr_assert(daemon_wait_log(&d, "0 workers replaced"));
        cr_assert_eq(read_all_deadline(c1, buf, sizeof(buf), DEADLINE_MS), 0, "stopped after a reload that kept it");
        close(c1);

        int c2 = client_connect(p);
        cr_assert(daemon_wait_log_count(&d, "worker w: started pid", 2));
        snprintf(kept, sizeof(kept), "%s" OTHER, runtime_conf("/bin/cat", "0", "10s"));
        daemon_reload(&d, kept);
        cr_assert(daemon_wait_log(&d, "1 workers replaced"));
        cr_assert_eq(read_all_deadline(c2, buf, sizeof(buf), DEADLINE_MS), 0,
                     "stopped at the runtime-max it started with");
        close(c2);
        cr_assert(daemon_wait_log_count(&d, "after runtime-max", 4), "a warning and an exit for each");
        client_expect_echo(p, "new worker");
        free(base);
        daemon_stop(&d);
}

/* ---- rlimits, nice, umask ------------------------------------------------------ */

/* The soft and hard values /proc/PID/limits gives for name ("Max open
 * files"), as written there: a number or "unlimited". */
static void limit_of(const char *limits, const char *name, char soft[static 32], char hard[static 32])
{
        char key[64];

        snprintf(key, sizeof(key), "\n%s ", name);
        const char *l = strstr(limits, key);
        cr_assert_not_null(l, "no '%s' in:\n%s", name, limits);
        /* "%-25s %-20s %-20s %-10s": the values start at column 26 */
        cr_assert_eq(sscanf(l + 1 + 26, "%31s %31s", soft, hard), 2, "%.80s", l + 1);
}

static void expect_limit(const char *limits, const char *name, const char *soft, const char *hard)
{
        char s[32], h[32];

        limit_of(limits, name, s, h);
        cr_assert_str_eq(s, soft, "%s: soft %s, not %s", name, s, soft);
        cr_assert_str_eq(h, hard, "%s: hard %s, not %s", name, h, hard);
}

/* The nice value in /proc/PID/stat, the last line of text: field 19 (the
 * name in field 2 may hold spaces and parentheses: count from its last ')'). */
static int nice_of(const char *text)
{
        size_t len = strlen(text);
        const char *line, *p;
        int nice = 99;

        cr_assert(len > 1 && text[len - 1] == '\n', "no stat line");
        for (line = text + len - 1; line > text && line[-1] != '\n'; line--)
                ;
        p = strrchr(line, ')');
        cr_assert_not_null(p, "not a stat line: %s", line);
        /* fields 3..18 are the 16 words before it */
        cr_assert_eq(sscanf(p + 1, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %d", &nice), 1,
                     "%s", line);
        return nice;
}

static const char *umask_of(const char *text)
{
        static char v[16];
        const char *p = strstr(text, "\nUmask:\t");

        cr_assert_not_null(p, "no Umask: line");
        snprintf(v, sizeof(v), "%.*s", (int)strcspn(p + 8, "\n"), p + 8);
        return v;
}

/* What a spawn worker reads of itself: its limits, status (Umask:) and stat
 * (nice), written to its client, one after the other. */
static char report[65536];

#define REPORTER "/bin/cat /proc/self/limits /proc/self/status /proc/self/stat"

static const char *spawn_report(const char *worker_extra)
{
        snprintf(conf, sizeof(conf),
                 "[socket:r]\npath = r.sock\nworker = r\n\n"
                 "[worker:r]\ncommand = " REPORTER "\ndispatch = spawn\n%s\n",
                 worker_extra);
        daemon_start(&d, conf);
        ssize_t n = client_exchange(daemon_path(&d, "r.sock"), "", report, sizeof(report));
        cr_assert_gt(n, 0, "no report from the worker");
        cr_assert(strstr(report, "Max cpu time") && strstr(report, "Umask:"), "%s", report);
        return report;
}

#define SOME_LIMITS "limit-nofile = 1000:2000\nlimit-nproc = 500\nlimit-core = 0\nlimit-cpu = 30s\nnice = 5\numask = 0077\n"

static void expect_some_limits(const char *r)
{
        expect_limit(r, "Max open files", "1000", "2000");
        expect_limit(r, "Max processes", "500", "500");
        expect_limit(r, "Max core file size", "0", "0");
        expect_limit(r, "Max cpu time", "30", "30");
        cr_assert_eq(nice_of(r), 5);
        cr_assert_str_eq(umask_of(r), "0077");
}

static void skip_under_valgrind(void)
{
        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("valgrind keeps the process's limits to itself and shows its guest its own");
}

Test(limits, a_spawn_worker_starts_with_its_rlimits_nice_and_umask)
{
        skip_under_valgrind();
        const char *r = spawn_report(SOME_LIMITS "limit-as = 4G:infinity\n");
        expect_some_limits(r);
        expect_limit(r, "Max address space", "4294967296", "unlimited");
        daemon_stop(&d);
}

/* Without limit-nofile a worker gets the soft RLIMIT_NOFILE the daemon was
 * started with (it raised its own to the hard one: limits.c); without nice or
 * umask, the daemon's nice and umask 0022, whatever the daemon's own. */
Test(limits, a_worker_with_no_limits_set_gets_the_daemons_nofile_and_umask_0022)
{
        struct rlimit old, low;
        char soft[32], hard[32];

        skip_under_valgrind();
        cr_assert(getrlimit(RLIMIT_NOFILE, &old) == 0);
        cr_assert_gt(old.rlim_max, 256, "the hard limit leaves room to raise");
        low = (struct rlimit){ .rlim_cur = 256, .rlim_max = old.rlim_max };
        cr_assert(setrlimit(RLIMIT_NOFILE, &low) == 0);
        mode_t mask = umask(0027);
        int prio = getpriority(PRIO_PROCESS, 0);
        const char *r = spawn_report("");
        umask(mask);
        cr_assert(setrlimit(RLIMIT_NOFILE, &old) == 0);
        limit_of(r, "Max open files", soft, hard);
        cr_assert_str_eq(soft, "256", "what the daemon was started with, not %s", soft);
        cr_assert_eq(strtoull(hard, NULL, 10), (unsigned long long)old.rlim_max);
        cr_assert_str_eq(umask_of(r), "0022", "the default, not the daemon's 0027");
        cr_assert_eq(nice_of(r), prio, "the daemon's own");
        daemon_stop(&d);
}

/* A pool worker: its pid from its greeting, what the kernel says of it read
 * while it holds the connection. */
static void read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
        FILE *f = fopen(fmt("/proc/%d/%s", (int)pid, name), "r");
        size_t n;

        cr_assert_not_null(f, "/proc/%d/%s", (int)pid, name);
        n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
}

Test(limits, a_pool_worker_starts_with_its_rlimits_nice_and_umask)
{
        char buf[64];
        size_t got = 0, n;

        skip_under_valgrind();
        /* AddressSanitizer reserves terabytes of address space at start: a
         * probe built with it cannot run under an RLIMIT_AS of 4G */
#if defined(__SANITIZE_ADDRESS__)
        const char *as = "limit-as = infinity\n", *as_soft = "unlimited";
#else
        const char *as = "limit-as = 4G:infinity\n", *as_soft = "4294967296";
#endif
        snprintf(conf, sizeof(conf),
                 "[socket:p]\npath = p.sock\nworker = p\n\n"
                 "[worker:p]\ncommand = %s\ndispatch = pool\ninstances = 1\n" SOME_LIMITS "%s\n",
                 test_prog("pool-probe"), as);
        daemon_start(&d, conf);
        int c = client_connect(daemon_path(&d, "p.sock"));
        while (got == 0 || buf[got - 1] != '\n') { /* its greeting "pid=N\n" */
                cr_assert(readable_within(c, DEADLINE_MS));
                ssize_t r = read(c, buf + got, sizeof(buf) - 1 - got);
                cr_assert_gt(r, 0);
                got += (size_t)r;
        }
        buf[got] = '\0';
        pid_t pid = atoi(buf + 4);
        cr_assert_gt(pid, 0, "%s", buf);
        read_proc(pid, "limits", report, sizeof(report));
        n = strlen(report);
        read_proc(pid, "status", report + n, sizeof(report) - n);
        n += strlen(report + n);
        read_proc(pid, "stat", report + n, sizeof(report) - n);
        expect_some_limits(report);
        expect_limit(report, "Max address space", as_soft, "unlimited");
        close(c);
        daemon_stop(&d);
}

/* limit-nofile above fs.nr_open: the kernel refuses it. The process does not
 * start, the client's connection closes, the failure names setrlimit and the
 * worker, and the daemon serves on. */
Test(limits, a_limit_the_kernel_refuses_is_a_start_failure)
{
        unsigned long long nr_open = 0;
        char buf[64];

        /* valgrind runs clone(CLONE_VM|CLONE_VFORK) as a fork: the child's
         * failure never reaches the daemon's memory */
        if (getenv("UNIXSOCKD_VALGRIND"))
                cr_skip_test("the exec failure report needs a shared address space, which valgrind does not emulate");
        FILE *f = fopen("/proc/sys/fs/nr_open", "r");
        cr_assert_not_null(f);
        cr_assert_eq(fscanf(f, "%llu", &nr_open), 1);
        fclose(f);
        snprintf(conf, sizeof(conf),
                 "[socket:big]\npath = big.sock\nworker = big\n\n"
                 "[worker:big]\ncommand = /bin/cat\ndispatch = spawn\nlimit-nofile = %llu\n\n"
                 "[socket:echo]\npath = echo.sock\nworker = echo\n\n"
                 "[worker:echo]\ncommand = /bin/cat\n",
                 nr_open + 1);
        daemon_start(&d, conf);
        cr_assert_eq(client_exchange(daemon_path(&d, "big.sock"), "hello", buf, sizeof(buf)), 0, "closed, not served");
        cr_assert(daemon_wait_log(&d, fmt("err: worker big: setrlimit RLIMIT_NOFILE %llu:%llu: Operation not permitted",
                                          nr_open + 1, nr_open + 1)), "the limit, its value and the kernel's answer");
        cr_assert_eq(daemon_log_count(&d, "setrlimit"), 1, "reported once");
        cr_assert_eq(client_exchange(daemon_path(&d, "big.sock"), "again", buf, sizeof(buf)), 0);
        client_expect_echo(daemon_path(&d, "echo.sock"), "still serving");
        cr_assert(kill(d.pid, 0) == 0);
        daemon_stop(&d);
}
