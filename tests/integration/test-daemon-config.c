/* The configuration as an operator meets it: `unixsockd --check` and a start
 * refuse a file naming an environment variable unixsockd sets itself, with
 * the file and the line, instead of dropping the variable at launch. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"

#define EX_CONFIG 78

static struct daemon d;

static void fini(void)
{
        daemon_cleanup(&d);
}

TestSuite(config, .fini = fini, .timeout = 120);

/* Line 7 is the environment= line. Its own [unixsockd] section keeps the
 * harness from adding one, so the line numbers are these. */
#define CONF(env) \
        "[unixsockd]\nruntime-directory = @DIR@\n" \
        "[socket:echo]\npath = echo.sock\nworker = cat\n[worker:cat]\n" \
        "environment = A=1 " env " B=2\ncommand = /bin/cat\n"
#define ENV_LINE 7

/* Those the launch code dropped while --check took them. */
static const char *const once_accepted[] = { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM" };

/* unixsockd with args, stdout and stderr into out; its exit status. */
static int run_unixsockd(const char *const *args, char *out, size_t size)
{
        const char *argv[16];
        int n = 0;

        argv[n++] = getenv("UNIXSOCKD");
        for (; *args && n < 15; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        return run_capture(argv, out, size);
}

static char *write_conf(const char *dir, const char *text)
{
        char *conf = replace_all(text, "@DIR@", dir);
        const char *path = join(dir, "unixsockd.conf");
        FILE *f = fopen(path, "we");

        cr_assert_not_null(f);
        fputs(conf, f);
        cr_assert_eq(fclose(f), 0);
        free(conf);
        return strdup(path);
}

Test(config, check_refuses_a_reserved_environment_name_naming_file_and_line)
{
        char out[8192], want[1024], *dir = make_tmpdir();

        for (size_t i = 0; i < sizeof(once_accepted) / sizeof(once_accepted[0]); i++) {
                char env[64], *path;

                snprintf(env, sizeof(env), "%s=/x", once_accepted[i]);
                char *text = replace_all(CONF("@ENV@"), "@ENV@", env);
                path = write_conf(dir, text);
                free(text);
                cr_assert_eq(run_unixsockd((const char *[]){ "--check", "-c", path, NULL }, out, sizeof(out)),
                             EX_CONFIG, "%s", out);
                snprintf(want, sizeof(want), "%s:%d: environment: '%s' is set by unixsockd itself", path,
                         ENV_LINE, once_accepted[i]);
                cr_assert(strstr(out, want), "expected '%s' in:\n%s", want, out);
                cr_assert_null(strstr(out, ": ok"), "%s", out);
                free(path);
        }
        rm_rf(dir);
        free(dir);
}

Test(config, check_accepts_the_same_file_without_it)
{
        char out[8192], *dir = make_tmpdir(), *path = write_conf(dir, CONF("C=3"));

        cr_assert_eq(run_unixsockd((const char *[]){ "--check", "-c", path, NULL }, out, sizeof(out)), 0, "%s", out);
        cr_assert(strstr(out, ": ok"), "%s", out);
        free(path);
        rm_rf(dir);
        free(dir);
}

Test(config, start_refuses_a_reserved_environment_name_naming_file_and_line)
{
        char want[1024];
        int st;

        daemon_spawn(&d, CONF("NOTIFY_SOCKET=/x"), NULL);
        st = daemon_wait_exit(&d);
        cr_assert_neq(st, -1, "unixsockd did not exit");
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG, "exit status 0x%x", st);
        snprintf(want, sizeof(want), "%s:%d: environment: 'NOTIFY_SOCKET' is set by unixsockd itself", d.conf,
                 ENV_LINE);
        cr_assert(daemon_log_has(&d, want), "expected '%s' in its log", want);
        cr_assert(access(daemon_path(&d, "echo.sock"), F_OK) < 0, "nothing listens");
}

/* A reload is judged as a start is: the same error, at err, naming the file
 * and the line; the running configuration serves on. */
Test(config, reload_refuses_a_reserved_environment_name_at_err_naming_file_and_line)
{
        char want[1024];

        daemon_start(&d, CONF(""));
        client_expect_echo(daemon_path(&d, "echo.sock"), "before");
        daemon_reload(&d, CONF("NOTIFY_SOCKET=/x"));
        cr_assert(daemon_wait_log(&d, "the running configuration stays"));
        snprintf(want, sizeof(want), "err: %s:%d: environment: 'NOTIFY_SOCKET' is set by unixsockd itself",
                 d.conf, ENV_LINE);
        cr_assert(daemon_log_has(&d, want), "expected '%s' in its log", want);
        cr_assert(!daemon_log_has(&d, "reloaded"));
        client_expect_echo(daemon_path(&d, "echo.sock"), "after");
        daemon_stop(&d);
}
