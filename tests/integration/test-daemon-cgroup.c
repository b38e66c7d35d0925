/* Per-worker cgroups where the daemon has no delegated cgroup (a test run by
 * hand, outside a Delegate=yes unit): memory-max, pids-max and cpu-weight are
 * refused with FILE:LINE at start and at reload, while --check, which judges
 * the file alone, accepts them. (With delegation: tests/systemd/run.sh.) */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"

#define EX_CONFIG 78
#define CGROUP2_MAGIC 0x63677270

static struct daemon d;

static void fini(void)
{
        daemon_cleanup(&d);
}

TestSuite(cgroup, .fini = fini, .timeout = 120);

/* Its own [unixsockd] section keeps the harness from adding one: KEY is on
 * line 8. */
#define CONF(key) \
        "[unixsockd]\nruntime-directory = @DIR@\n" \
        "[socket:echo]\npath = echo.sock\nworker = cat\n[worker:cat]\n" \
        "command = /bin/cat\n" key "\n"
#define KEY_LINE 8
#define WANT ": needs a delegated cgroup (Delegate=yes in the unit): "

/* These tests prove what happens without delegation: where this process
 * runs in a delegated cgroup (a CI job in a Delegate=yes unit), the daemon it
 * starts has one, and they do not apply. */
static void skip_if_delegated(void)
{
        struct statfs s;
        char line[4096], path[4200], v[4];
        FILE *f;

        if (statfs("/sys/fs/cgroup", &s) < 0 || s.f_type != CGROUP2_MAGIC)
                return;
        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        snprintf(path, sizeof(path), "/sys/fs/cgroup%s", line + 3);
                        if (getxattr(path, "user.delegate", v, sizeof(v)) == 1 ||
                            getxattr(path, "trusted.delegate", v, sizeof(v)) == 1) {
                                fclose(f);
                                cr_skip_test("this test runs in a delegated cgroup (%s)", path);
                        }
                }
        fclose(f);
}

Test(cgroup, start_with_memory_max_and_no_delegated_cgroup_fails_with_78_naming_file_and_line)
{
        char want[1024];
        int st;

        skip_if_delegated();
        daemon_spawn(&d, CONF("memory-max = 64M"), NULL);
        st = daemon_wait_exit(&d);
        cr_assert_neq(st, -1, "unixsockd did not exit");
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG, "exit status 0x%x", st);
        snprintf(want, sizeof(want), "%s:%d: memory-max" WANT, d.conf, KEY_LINE);
        cr_assert(daemon_log_has(&d, want), "expected '%s' in its log", want);
        cr_assert_eq(daemon_log_count(&d, WANT), 1, "reported once");
        cr_assert(access(daemon_path(&d, "echo.sock"), F_OK) < 0, "nothing listens");
}

Test(cgroup, check_judges_the_file_alone_and_accepts_cgroup_keys)
{
        char out[8192], *dir = make_tmpdir(), *text = replace_all(CONF("memory-max = 64M\npids-max = 10\ncpu-weight = 50"), "@DIR@", dir);
        const char *path = join(dir, "unixsockd.conf");
        FILE *f = fopen(path, "we");

        skip_if_delegated();
        cr_assert_not_null(f);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(run_capture((const char *[]){ getenv("UNIXSOCKD"), "--check", "-c", path, NULL }, out, sizeof(out)), 0,
                     "%s", out);
        cr_assert(strstr(out, ": ok"), "%s", out);
        free(text);
        rm_rf(dir);
        free(dir);
}

/* unixsockctl reload: 78 and the FILE:LINE line; the old configuration serves on. */
Test(cgroup, reload_adding_pids_max_is_refused_by_unixsockctl_with_78_naming_file_and_line)
{
        char out[8192], want[1024], *text;
        FILE *f;

        skip_if_delegated();
        cr_assert_not_null(getenv("UNIXSOCKCTL"), "UNIXSOCKCTL not set (run through meson test)");
        daemon_start(&d, CONF(""));
        client_expect_echo(daemon_path(&d, "echo.sock"), "before");
        text = replace_all(CONF("pids-max = 10"), "@DIR@", d.dir);
        f = fopen(d.conf, "we");
        cr_assert_not_null(f);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
        free(text);
        cr_assert_eq(run_capture((const char *[]){ getenv("UNIXSOCKCTL"), "-s", daemon_path(&d, "control.sock"), "reload", NULL },
                         out, sizeof(out)),
                     EX_CONFIG, "%s", out);
        snprintf(want, sizeof(want), "%s:%d: pids-max" WANT, d.conf, KEY_LINE);
        cr_assert(strstr(out, want), "expected '%s' in:\n%s", want, out);
        cr_assert(daemon_wait_log(&d, "the running configuration stays"));
        cr_assert(!daemon_log_has(&d, "reloaded"));
        client_expect_echo(daemon_path(&d, "echo.sock"), "after");
        daemon_stop(&d);
}

/* SIGHUP: the same error in the log, at err. */
Test(cgroup, reload_by_sighup_adding_cpu_weight_is_refused_at_err_naming_file_and_line)
{
        char want[1024];

        skip_if_delegated();
        daemon_start(&d, CONF(""));
        daemon_reload(&d, CONF("cpu-weight = 50"));
        cr_assert(daemon_wait_log(&d, "the running configuration stays"));
        snprintf(want, sizeof(want), "err: %s:%d: cpu-weight" WANT, d.conf, KEY_LINE);
        cr_assert(daemon_log_has(&d, want), "expected '%s' in its log", want);
        client_expect_echo(daemon_path(&d, "echo.sock"), "after");
        daemon_stop(&d);
}

/* Without cgroup keys nothing changes: no delegation is needed. */
Test(cgroup, a_worker_without_cgroup_keys_needs_no_delegation)
{
        skip_if_delegated();
        daemon_start(&d, CONF("nice = 1"));
        client_expect_echo(daemon_path(&d, "echo.sock"), "plain");
        cr_assert(!daemon_log_has(&d, "cgroup"));
        daemon_stop(&d);
}
