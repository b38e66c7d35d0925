/* The configuration parser: every key to its typed value, every default, and
 * every error with its line, reported all at once and in line order. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config/config.h"
#include "helpers.h"
#include "config/parse.h"
#include "config/resolve.h"

#define RD "/run/test-usd"
#define STD_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NOBODY 65534
#define NOGROUP 65534
#define SEC (UINT64_C(1000000))
#define MSEC (UINT64_C(1000))

/* A socket s using worker w, three lines each. */
#define SOCK_S "[socket:s]\npath = s.sock\nworker = w\n"
#define WORKER_W "[worker:w]\ncommand = /bin/cat\n"

#define MAX_ERRS 128
static struct {
        size_t n;
        unsigned line[MAX_ERRS];
        char file[MAX_ERRS][64];
        char msg[MAX_ERRS][512];
} errs;

static void collect(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        cr_assert_lt(errs.n, MAX_ERRS);
        errs.line[errs.n] = line;
        snprintf(errs.file[errs.n], sizeof(errs.file[0]), "%s", file);
        snprintf(errs.msg[errs.n], sizeof(errs.msg[0]), "%s", msg);
        errs.n++;
}

static const char *all_errs(void)
{
        static char buf[MAX_ERRS * 520];
        size_t o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < errs.n; i++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "  %u: %s\n", errs.line[i], errs.msg[i]);
        return buf;
}

/* The system's resolver, but the directories that the configurations of
 * this file invent (RD, /srv/usd, /tmp/usd-test, /run/other and what is below them) are
 * there: a test of values need not make them. Whether a socket's directory
 * must exist is tested on a fake system in test-resolve.c. */
static struct resolver test_resolver;

static int invented_directory(void *userdata, const char *path)
{
        static const char *const trees[] = { RD, "/srv/usd", "/tmp/usd-test", "/run/other" };

        for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
                size_t n = strlen(trees[i]);

                if (strncmp(path, trees[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
                        return 0;
        }
        return resolve_system.directory(userdata, path);
}

static int load(const char *text, struct config **c)
{
        *c = NULL;
        errs.n = 0;
        return config_load_string_with("t.conf", text, strlen(text), &test_resolver, collect, NULL, c);
}

static struct config *ok(const char *text)
{
        struct config *c;
        int r = load(text, &c);

        cr_assert_eq(r, 0, "load failed (%d):\n%s--\n%s", r, all_errs(), text);
        cr_assert_eq(errs.n, 0);
        cr_assert_not_null(c);
        return c;
}

static void bad(const char *text)
{
        struct config *c;
        int r = load(text, &c);

        cr_assert_eq(r, -EINVAL, "expected errors, got %d:\n%s--\n%s", r, all_errs(), text);
        cr_assert_null(c);
        cr_assert_gt(errs.n, 0);
        for (size_t i = 0; i < errs.n; i++)
                cr_assert_str_eq(errs.file[i], "t.conf");
}

/* The file has exactly one error: msg at line. */
static void bad_one(const char *text, unsigned line, const char *msg)
{
        bad(text);
        cr_assert_eq(errs.n, 1, "expected only '%u: %s', got:\n%s", line, msg, all_errs());
        cr_assert_eq(errs.line[0], line, "expected line %u, got:\n%s", line, all_errs());
        cr_assert_str_eq(errs.msg[0], msg);
}

/* Among the errors, one at line containing part. */
static void has_err(unsigned line, const char *part)
{
        for (size_t i = 0; i < errs.n; i++)
                if (errs.line[i] == line && strstr(errs.msg[i], part))
                        return;
        cr_assert_fail("no error '%s' at line %u in:\n%s", part, line, all_errs());
}

static char *repeat(char ch, size_t n)
{
        static char bufs[4][1024];
        static int i;
        char *b = bufs[i++ % 4];

        cr_assert_lt(n, sizeof(bufs[0]));
        memset(b, ch, n);
        b[n] = '\0';
        return b;
}

static bool has_gid(const struct cfg_worker *w, gid_t g)
{
        for (size_t i = 0; i < w->n_groups; i++)
                if (w->groups[i] == g)
                        return true;
        return false;
}

static void setup(void)
{
        test_resolver = resolve_system;
        test_resolver.directory = invented_directory;
        setenv("RUNTIME_DIRECTORY", RD, 1);
        setenv("PATH", STD_PATH, 1);
        unsetenv("XDG_RUNTIME_DIR");
}

static void need_root(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root (users and groups of a real system)");
}

/* seteuid(0) again before exit: LeakSanitizer cannot inspect a process whose
 * euid differs from its uid. */
static void back_to_root(void)
{
        if (getuid() == 0)
                (void)seteuid(0);
}

TestSuite(config, .init = setup, .timeout = 30);

/* ---- values and defaults ---- */

Test(config, minimal_file_gets_every_default)
{
        struct config *c = ok("[socket:echo]\npath = echo.sock\nworker = echo\n"
                              "[worker:echo]\ncommand = cat\n");
        const struct cfg_socket *s = &c->sockets[0];
        const struct cfg_worker *w = &c->workers[0];

        cr_assert_str_eq(c->file, "t.conf");
        cr_assert_str_eq(c->runtime_directory, RD);
        cr_assert_eq(c->log_level, LOG_INFO);
        cr_assert_eq(c->stop_timeout_usec, 10 * SEC);
        cr_assert_str_eq(c->control, RD "/control.sock", "the control socket is on by default");
        cr_assert_not(c->control_group_set);
        cr_assert_eq(c->n_sockets, 1);
        cr_assert_eq(c->n_workers, 1);

        cr_assert_str_eq(s->name, "echo");
        cr_assert_eq(s->line, 1);
        cr_assert_str_eq(s->path, RD "/echo.sock");
        cr_assert_eq(s->backlog, 128);
        cr_assert_eq(s->mode, 0666);
        cr_assert_eq(s->uid, (uid_t)-1);
        cr_assert_eq(s->gid, (gid_t)-1);
        cr_assert_eq(s->n_allow_uids, 0);
        cr_assert_eq(s->n_allow_gids, 0);
        cr_assert_eq(s->worker, w);
        cr_assert_eq(s->rate_burst, 0);

        cr_assert_str_eq(w->name, "echo");
        cr_assert_eq(w->line, 4);
        cr_assert_str_eq(w->argv[0], "cat");
        cr_assert_null(w->argv[1]);
        cr_assert_str_eq(w->exec_path, "/usr/bin/cat");
        cr_assert_eq(w->dispatch, DISPATCH_SPAWN);
        cr_assert_eq(w->instances, 64);
        cr_assert_eq(w->max_per_user, 0);
        cr_assert_eq(w->max_concurrent, 0, "no cap: each pool process says its credit");
        cr_assert_not(w->set_user);
        cr_assert_not(w->set_group);
        cr_assert_null(w->user_name);
        cr_assert_eq(w->n_groups, 0);
        cr_assert_not_null(w->env);
        cr_assert_null(w->env[0]);
        cr_assert_null(w->working_directory);
        cr_assert_eq(w->restart, RESTART_ON_FAILURE);
        cr_assert_eq(w->restart_delay_usec, 100 * MSEC);
        cr_assert_eq(w->restart_delay_max_usec, 30 * SEC);
        cr_assert_not(w->listen_fds);
        config_free(c);
}

Test(config, global_section_keys_parse_to_typed_values)
{
        struct config *c = ok("[unixsockd]\n"
                              "runtime-directory = /srv//usd/\n"
                              "log-level = debug\n"
                              "stop-timeout = 1min 30s\n"
                              "control = ctl/control.sock\n" SOCK_S WORKER_W);

        cr_assert_str_eq(c->runtime_directory, "/srv/usd");
        cr_assert_eq(c->log_level, LOG_DEBUG);
        cr_assert_eq(c->stop_timeout_usec, 90 * SEC);
        cr_assert_str_eq(c->control, "/srv/usd/ctl/control.sock");
        cr_assert_str_eq(c->sockets[0].path, "/srv/usd/s.sock");
        config_free(c);

        c = ok("[unixsockd]\ncontrol = /run/other/ctl.sock\n" SOCK_S WORKER_W);
        cr_assert_str_eq(c->control, "/run/other/ctl.sock");
        config_free(c);
}

Test(config, control_none_turns_the_control_socket_off)
{
        struct config *c = ok("[unixsockd]\ncontrol = none\n" SOCK_S WORKER_W);

        cr_assert_null(c->control);
        cr_assert_not(c->control_group_set);
        config_free(c);
        /* a socket file called none is still possible */
        c = ok("[unixsockd]\ncontrol = ./none\n" SOCK_S WORKER_W);
        cr_assert_str_eq(c->control, RD "/none");
        config_free(c);
}

Test(config, control_group_takes_a_group_name_or_number)
{
        struct config *c = ok("[unixsockd]\ncontrol-group = 4242\n" SOCK_S WORKER_W);

        cr_assert(c->control_group_set);
        cr_assert_eq(c->control_gid, 4242);
        cr_assert_str_eq(c->control, RD "/control.sock");
        config_free(c);
        c = ok("[unixsockd]\ncontrol = ctl.sock\ncontrol-group = root\n" SOCK_S WORKER_W);
        cr_assert(c->control_group_set);
        cr_assert_eq(c->control_gid, 0);
        config_free(c);
}

Test(config, bad_control_group)
{
        bad_one("[unixsockd]\ncontrol-group = no-such-group-usd\n" SOCK_S WORKER_W, 2,
                "control-group: unknown group 'no-such-group-usd'");
        bad_one("[unixsockd]\ncontrol-group = 4294967295\n" SOCK_S WORKER_W, 2,
                "control-group: 4294967295 is reserved (it means 'unchanged' to the kernel)");
        bad_one("[unixsockd]\ncontrol = none\ncontrol-group = 4\n" SOCK_S WORKER_W, 3,
                "control-group: there is no control socket (control = none, line 2)");
        /* either order */
        bad_one("[unixsockd]\ncontrol-group = 4\ncontrol = none\n" SOCK_S WORKER_W, 2,
                "control-group: there is no control socket (control = none, line 3)");
}

Test(config, a_socket_on_the_default_control_path_is_an_error_at_its_path)
{
        bad_one("[socket:s]\npath = control.sock\nworker = w\n" WORKER_W, 2,
                "path: '" RD "/control.sock' is the control socket's (by default control = control.sock: "
                "set control = to another path, or none)");
        /* not with the control socket elsewhere or off */
        config_free(ok("[unixsockd]\ncontrol = none\n[socket:s]\npath = control.sock\nworker = w\n" WORKER_W));
        config_free(ok("[unixsockd]\ncontrol = c.sock\n[socket:s]\npath = control.sock\nworker = w\n" WORKER_W));
}

Test(config, a_socket_whose_directory_does_not_exist_is_an_error_naming_the_path)
{
        bad_one("[socket:s]\npath = /nonexistent-usd/x.sock\nworker = w\n" WORKER_W, 2,
                "path: /nonexistent-usd/x.sock: No such file or directory "
                "(of the directories of sockets, unixsockd creates only the runtime directory)");
        bad_one("[socket:s]\npath = /etc/passwd/x.sock\nworker = w\n" WORKER_W, 2,
                "path: /etc/passwd/x.sock: Not a directory");
        bad_one("[unixsockd]\ncontrol = /nonexistent-usd/c.sock\n" SOCK_S WORKER_W, 2,
                "control: /nonexistent-usd/c.sock: No such file or directory "
                "(of the directories of sockets, unixsockd creates only the runtime directory)");
        config_free(ok("[socket:s]\npath = /tmp/x.sock\nworker = w\n" WORKER_W));
}

Test(config, every_log_level_maps_to_its_syslog_priority)
{
        static const struct { const char *name; int level; } t[] = {
                { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
                { "warning", LOG_WARNING }, { "err", LOG_ERR },
        };

        for (size_t i = 0; i < 5; i++) {
                struct config *c = ok(fmt("[unixsockd]\nlog-level = %s\n" SOCK_S WORKER_W, t[i].name));

                cr_assert_eq(c->log_level, t[i].level, "%s", t[i].name);
                config_free(c);
        }
}

Test(config, socket_keys_parse_to_typed_values)
{
        struct config *c;
        const struct cfg_socket *s;

        need_root();
        c = ok("[socket:s]\n"
               "path = /tmp/usd-test/s.sock\n"
               "backlog = 65535\n"
               "mode = 0660\n"
               "owner = nobody\n"
               "group = nogroup\n"
               "allow-users = root 1000 nobody\n"
               "allow-groups = root 4242\n"
               "worker = w\n"
               "rate-limit = 500/1s\n" WORKER_W);
        s = &c->sockets[0];
        cr_assert_str_eq(s->path, "/tmp/usd-test/s.sock");
        cr_assert_eq(s->backlog, 65535);
        cr_assert_eq(s->mode, 0660);
        cr_assert_eq(s->uid, NOBODY);
        cr_assert_eq(s->gid, NOGROUP);
        cr_assert_eq(s->n_allow_uids, 3);
        cr_assert_eq(s->allow_uids[0], 0);
        cr_assert_eq(s->allow_uids[1], 1000);
        cr_assert_eq(s->allow_uids[2], NOBODY);
        cr_assert_eq(s->n_allow_gids, 2);
        cr_assert_eq(s->allow_gids[0], 0);
        cr_assert_eq(s->allow_gids[1], 4242);
        cr_assert_eq(s->worker, &c->workers[0]);
        cr_assert_eq(s->rate_burst, 500);
        cr_assert_eq(s->rate_interval_usec, SEC);
        config_free(c);
}

Test(config, owner_and_group_numbers_need_no_entry)
{
        struct config *c = ok("[socket:s]\npath = s.sock\nworker = w\nowner = 4242\ngroup = 4343\n"
                              "allow-users = 777\nallow-groups = 888\n" WORKER_W);

        cr_assert_eq(c->sockets[0].uid, 4242);
        cr_assert_eq(c->sockets[0].gid, 4343);
        cr_assert_eq(c->sockets[0].allow_uids[0], 777);
        cr_assert_eq(c->sockets[0].allow_gids[0], 888);
        config_free(c);
}

Test(config, mode_is_octal_up_to_07777)
{
        static const struct { const char *text; mode_t mode; } t[] = {
                { "0", 0 }, { "600", 0600 }, { "0600", 0600 }, { "07777", 07777 }, { "2770", 02770 },
        };

        for (size_t i = 0; i < 5; i++) {
                struct config *c = ok(fmt(SOCK_S "mode = %s\n" WORKER_W, t[i].text));

                cr_assert_eq(c->sockets[0].mode, t[i].mode, "%s", t[i].text);
                config_free(c);
        }
}

Test(config, abstract_path_is_kept_as_written)
{
        struct config *c = ok("[socket:s]\npath = @usd/test\nworker = w\n" WORKER_W);

        cr_assert_str_eq(c->sockets[0].path, "@usd/test");
        config_free(c);
}

Test(config, relative_path_is_joined_and_cleaned)
{
        struct config *c = ok("[socket:s]\npath = ./sub//s.sock\nworker = w\n" WORKER_W);

        cr_assert_str_eq(c->sockets[0].path, RD "/sub/s.sock");
        config_free(c);
}

Test(config, rate_limit_forms)
{
        static const struct { const char *text; unsigned n; uint64_t usec; } t[] = {
                { "500/1s", 500, SEC }, { "500/s", 500, SEC }, { "10 / 1min", 10, 60 * SEC },
                { "1/100ms", 1, 100 * MSEC }, { "4294967295/1h", 4294967295u, 3600 * SEC },
        };

        for (size_t i = 0; i < 5; i++) {
                struct config *c = ok(fmt(SOCK_S "rate-limit = %s\n" WORKER_W, t[i].text));

                cr_assert_eq(c->sockets[0].rate_burst, t[i].n, "%s", t[i].text);
                cr_assert_eq(c->sockets[0].rate_interval_usec, t[i].usec, "%s", t[i].text);
                config_free(c);
        }
}

Test(config, worker_keys_parse_to_typed_values)
{
        struct config *c;
        const struct cfg_worker *w;

        need_root();
        c = ok(SOCK_S "[worker:w]\n"
               "command = /bin/echo one 'two words'\n"
               "dispatch = pool\n"
               "instances = 8\n"
               "max-per-user = 2\n"
               "user = nobody\n"
               "group = nogroup\n"
               "environment = A=1 \"B=two words\"\n"
               "working-directory = /tmp/\n"
               "restart = always\n"
               "restart-delay = 250ms\n"
               "restart-delay-max = 1min\n"
               "max-concurrent = 3\n");
        w = &c->workers[0];
        cr_assert_eq(w->max_concurrent, 3);
        cr_assert_str_eq(w->argv[0], "/bin/echo");
        cr_assert_str_eq(w->argv[1], "one");
        cr_assert_str_eq(w->argv[2], "two words");
        cr_assert_null(w->argv[3]);
        cr_assert_str_eq(w->exec_path, "/bin/echo");
        cr_assert_eq(w->dispatch, DISPATCH_POOL);
        cr_assert_eq(w->instances, 8);
        cr_assert_eq(w->max_per_user, 2);
        cr_assert(w->set_user);
        cr_assert(w->set_group);
        cr_assert_str_eq(w->user_name, "nobody");
        cr_assert_eq(w->uid, NOBODY);
        cr_assert_eq(w->gid, NOGROUP);
        cr_assert(has_gid(w, NOGROUP));
        cr_assert_str_eq(w->env[0], "A=1");
        cr_assert_str_eq(w->env[1], "B=two words");
        cr_assert_null(w->env[2]);
        cr_assert_str_eq(w->working_directory, "/tmp");
        cr_assert_eq(w->restart, RESTART_ALWAYS);
        cr_assert_eq(w->restart_delay_usec, 250 * MSEC);
        cr_assert_eq(w->restart_delay_max_usec, 60 * SEC);
        config_free(c);
}

Test(config, user_gives_uid_primary_gid_and_groups)
{
        struct config *c;
        const struct cfg_worker *w;

        need_root();
        c = ok(SOCK_S WORKER_W "user = root\n");
        w = &c->workers[0];
        cr_assert(w->set_user);
        cr_assert_not(w->set_group);
        cr_assert_eq(w->uid, 0);
        cr_assert_eq(w->gid, 0);
        cr_assert_str_eq(w->user_name, "root");
        cr_assert_geq(w->n_groups, 1);
        cr_assert(has_gid(w, 0));
        config_free(c);

        c = ok(SOCK_S WORKER_W "user = daemon\n");
        cr_assert_eq(c->workers[0].uid, 1);
        cr_assert_eq(c->workers[0].gid, 1);
        cr_assert(has_gid(&c->workers[0], 1));
        config_free(c);
}

Test(config, group_replaces_the_primary_gid_of_user)
{
        struct config *c;
        const struct cfg_worker *w;

        need_root();
        c = ok(SOCK_S WORKER_W "user = daemon\ngroup = nogroup\n");
        w = &c->workers[0];
        cr_assert_eq(w->uid, 1);
        cr_assert_eq(w->gid, NOGROUP);
        /* as initgroups(user, group) */
        cr_assert(has_gid(w, NOGROUP));
        config_free(c);

        c = ok(SOCK_S WORKER_W "group = 4242\n");
        w = &c->workers[0];
        cr_assert_not(w->set_user);
        cr_assert(w->set_group);
        cr_assert_eq(w->gid, 4242);
        cr_assert_eq(w->n_groups, 0);
        config_free(c);
}

Test(config, numeric_user_without_entry_has_its_own_number_as_group)
{
        struct config *c = ok(SOCK_S WORKER_W "user = 4242\n");
        const struct cfg_worker *w = &c->workers[0];

        cr_assert(w->set_user);
        cr_assert_eq(w->uid, 4242);
        cr_assert_eq(w->gid, 4242);
        cr_assert_eq(w->n_groups, 0);
        cr_assert_str_eq(w->user_name, "4242");
        config_free(c);
}

Test(config, instances_default_depends_on_dispatch)
{
        static const struct { const char *d; enum dispatch e; unsigned n; } t[] = {
                { "spawn", DISPATCH_SPAWN, 64 }, { "pool", DISPATCH_POOL, 4 },
                { "listener", DISPATCH_LISTENER, 1 },
        };

        for (size_t i = 0; i < 3; i++) {
                struct config *c = ok(fmt(SOCK_S WORKER_W "dispatch = %s\n", t[i].d));

                cr_assert_eq(c->workers[0].dispatch, t[i].e);
                cr_assert_eq(c->workers[0].instances, t[i].n, "%s", t[i].d);
                cr_assert_str_eq(config_dispatch_name(t[i].e), t[i].d);
                config_free(c);
        }
}

Test(config, listener_runs_as_many_copies_as_instances_says)
{
        struct config *c = ok(SOCK_S WORKER_W "instances = 3\ndispatch = listener\n");

        cr_assert_eq(c->workers[0].dispatch, DISPATCH_LISTENER);
        cr_assert_eq(c->workers[0].instances, 3);
        config_free(c);
        c = ok(SOCK_S WORKER_W "dispatch = listener\ninstances = 1024\n");
        cr_assert_eq(c->workers[0].instances, 1024);
        config_free(c);
}

Test(config, listener_may_serve_several_sockets)
{
        struct config *c = ok("[socket:a]\npath = a.sock\nworker = w\n"
                              "[socket:b]\npath = @b\nworker = w\n"
                              WORKER_W "dispatch = listener\ninstances = 1\n");

        cr_assert_eq(c->sockets[0].worker, &c->workers[0]);
        cr_assert_eq(c->sockets[1].worker, &c->workers[0]);
        cr_assert_eq(config_find_socket(c, "b"), &c->sockets[1]);
        cr_assert_null(config_find_socket(c, "c"));
        config_free(c);
}

Test(config, listen_fds_takes_every_boolean_spelling)
{
        static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < 4; i++) {
                struct config *c = ok(fmt(SOCK_S WORKER_W "listen-fds = %s\n", yes[i]));

                cr_assert(c->workers[0].listen_fds, "%s", yes[i]);
                config_free(c);
                c = ok(fmt(SOCK_S WORKER_W "listen-fds = %s\n", no[i]));
                cr_assert_not(c->workers[0].listen_fds, "%s", no[i]);
                config_free(c);
        }
}

Test(config, restart_takes_each_policy)
{
        static const struct { const char *s; enum restart_policy r; } t[] = {
                { "always", RESTART_ALWAYS }, { "on-failure", RESTART_ON_FAILURE }, { "never", RESTART_NEVER },
        };

        for (size_t i = 0; i < 3; i++) {
                struct config *c = ok(fmt(SOCK_S WORKER_W "dispatch = pool\nrestart = %s\n", t[i].s));

                cr_assert_eq(c->workers[0].restart, t[i].r, "%s", t[i].s);
                config_free(c);
        }
}

Test(config, durations_take_units_fractions_and_sums)
{
        static const struct { const char *s; uint64_t usec; } t[] = {
                { "0", 0 }, { "30", 30 * SEC }, { "5us", 5 }, { "100ms", 100 * MSEC }, { "2s", 2 * SEC },
                { "2 sec", 2 * SEC }, { "1min", 60 * SEC }, { "1m", 60 * SEC }, { "1h", 3600 * SEC },
                { "1.5s", 1500 * MSEC }, { "0.25min", 15 * SEC }, { "1min 30s", 90 * SEC },
                { "1min30s", 90 * SEC }, { "1d", 86400 * SEC },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct config *c = ok(fmt("[unixsockd]\nstop-timeout = %s\n" SOCK_S WORKER_W, t[i].s));

                cr_assert_eq(c->stop_timeout_usec, t[i].usec, "%s", t[i].s);
                config_free(c);
        }
}

Test(config, duration_parser_refuses_garbage_and_overflow)
{
        static const char *inval[] = { "", "s", "1x", "1.s", ".5s", "-1s", "1s x", "1 2x", "1e3s" };
        uint64_t u;

        for (size_t i = 0; i < sizeof(inval) / sizeof(inval[0]); i++)
                cr_assert_eq(parse_duration(inval[i], &u), -EINVAL, "'%s'", inval[i]);
        cr_assert_eq(parse_duration("99999999999999999999s", &u), -ERANGE);
        cr_assert_eq(parse_duration("9999999999999h", &u), -ERANGE);
        cr_assert_eq(parse_duration("9223372036854775807us", &u), 0);
        cr_assert_eq(u, INT64_MAX);
        cr_assert_eq(parse_duration("9223372036854775807us 1us", &u), -ERANGE);
}

Test(config, command_follows_shell_quoting_without_a_shell)
{
        struct config *c = ok(SOCK_S "[worker:w]\n"
                              "command = /bin/echo 'a b' \"c \\\"d\\\" \\\\ \\$ \\x\" e\\ f '' $HOME a\"b\"'c'\n");
        char **a = c->workers[0].argv;

        cr_assert_str_eq(a[0], "/bin/echo");
        cr_assert_str_eq(a[1], "a b");
        cr_assert_str_eq(a[2], "c \"d\" \\ $ \\x");
        cr_assert_str_eq(a[3], "e f");
        cr_assert_str_eq(a[4], "");
        cr_assert_str_eq(a[5], "$HOME");
        cr_assert_str_eq(a[6], "abc");
        cr_assert_null(a[7]);
        config_free(c);
}

/* In the PATH systemd gives services, whatever the caller's: a file that
 * passes --check in a shell also starts under systemd. */
Test(config, command_name_is_searched_in_the_fixed_path_not_the_callers)
{
        struct config *c;

        setenv("PATH", "/nonexistent:relative/dir:/bin", 1);
        c = ok(SOCK_S "[worker:w]\ncommand = date +%s\n");
        cr_assert_str_eq(c->workers[0].exec_path, "/usr/bin/date", "not /bin/date of $PATH");
        cr_assert_str_eq(c->workers[0].argv[0], "date");
        config_free(c);

        unsetenv("PATH");
        c = ok(SOCK_S "[worker:w]\ncommand = date\n");
        cr_assert_str_eq(c->workers[0].exec_path, "/usr/bin/date");
        config_free(c);

        /* a program found only through the caller's PATH is not found */
        char *dir = make_tmpdir();
        FILE *f = fopen(join(dir, "only-here-usd"), "we");
        cr_assert_not_null(f);
        fputs("#!/bin/sh\n", f);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(chmod(join(dir, "only-here-usd"), 0755), 0);
        setenv("PATH", dir, 1);
        bad_one(SOCK_S "[worker:w]\ncommand = only-here-usd\n", 5,
                "command: 'only-here-usd' not found in PATH (" STD_PATH ")");
        rm_rf(dir);
        free(dir);
}

Test(config, environment_later_name_wins)
{
        struct config *c = ok(SOCK_S WORKER_W "environment = A=1 B= A=3 C=x=y\n");
        char **e = c->workers[0].env;

        cr_assert_str_eq(e[0], "B=");
        cr_assert_str_eq(e[1], "A=3");
        cr_assert_str_eq(e[2], "C=x=y");
        cr_assert_null(e[3]);
        config_free(c);
}

Test(config, comments_blank_lines_indents_crlf_and_bom)
{
        struct config *c = ok("\xEF\xBB\xBF# comment\r\n"
                              "; another\r\n"
                              "\r\n"
                              "  [ socket:s ]   ; header comment\r\n"
                              "\tpath = s.sock ; inline comment\r\n"
                              "    backlog = 7\r\n"
                              "worker = w\r\n"
                              "[worker:w] # hash after a header\r\n"
                              "command = /bin/cat\r\n");

        cr_assert_str_eq(c->sockets[0].name, "s");
        cr_assert_eq(c->sockets[0].line, 4);
        cr_assert_str_eq(c->sockets[0].path, RD "/s.sock");
        cr_assert_eq(c->sockets[0].backlog, 7);
        cr_assert_eq(c->workers[0].line, 8);
        config_free(c);
}

Test(config, names_longer_than_inih_sections_are_kept_whole)
{
        const char *n = repeat('x', 120);
        struct config *c = ok(fmt("[socket:%s.a]\npath = a.sock\nworker = %s\n"
                                  "[socket:%s.b]\npath = b.sock\nworker = %s\n"
                                  "[worker:%s]\ncommand = /bin/cat\n", n, n, n, n, n));

        cr_assert_eq(c->n_sockets, 2);
        cr_assert_str_eq(c->sockets[0].name, fmt("%s.a", n));
        cr_assert_str_eq(c->sockets[1].name, fmt("%s.b", n));
        cr_assert_str_eq(c->workers[0].name, n);
        config_free(c);
}

Test(config, name_charset_and_length)
{
        cr_assert(parse_name_is_valid("a"));
        cr_assert(parse_name_is_valid("Echo_1.2-x"));
        cr_assert(parse_name_is_valid(repeat('a', 255)));
        cr_assert_not(parse_name_is_valid(repeat('a', 256)));
        cr_assert_not(parse_name_is_valid(""));
        cr_assert_not(parse_name_is_valid("a b"));
        cr_assert_not(parse_name_is_valid("a:b"));
        cr_assert_not(parse_name_is_valid("a/b"));
}

Test(config, line_of_199_bytes_is_accepted)
{
        /* "environment = X=" is 16 bytes */
        struct config *c = ok(fmt(SOCK_S WORKER_W "environment = X=%s\n", repeat('v', 183)));

        cr_assert_eq(strlen(c->workers[0].env[0]), 2 + 183);
        config_free(c);
}

Test(config, runtime_directory_takes_the_first_of_systemds_list)
{
        struct config *c;

        setenv("RUNTIME_DIRECTORY", "/run/a:/run/b", 1);
        c = ok(SOCK_S WORKER_W);
        cr_assert_str_eq(c->runtime_directory, "/run/a");
        cr_assert_str_eq(c->sockets[0].path, "/run/a/s.sock");
        config_free(c);
}

Test(config, runtime_directory_default_for_root)
{
        struct config *c;

        need_root();
        unsetenv("RUNTIME_DIRECTORY");
        setenv("XDG_RUNTIME_DIR", "/run/user/0", 1);
        c = ok(SOCK_S WORKER_W);
        cr_assert_str_eq(c->runtime_directory, "/run/unixsockd");
        config_free(c);
}

Test(config, runtime_directory_default_for_a_user, .fini = back_to_root)
{
        struct config *c;

        need_root();
        cr_assert_eq(seteuid(NOBODY), 0);
        unsetenv("RUNTIME_DIRECTORY");
        setenv("XDG_RUNTIME_DIR", "/run/user/65534", 1);
        c = ok(SOCK_S WORKER_W);
        cr_assert_str_eq(c->runtime_directory, "/run/user/65534/unixsockd");
        cr_assert_str_eq(c->sockets[0].path, "/run/user/65534/unixsockd/s.sock");
        config_free(c);

        /* and with neither: nowhere to put relative paths */
        unsetenv("XDG_RUNTIME_DIR");
        bad_one(SOCK_S WORKER_W, 0,
                "no runtime directory: set runtime-directory in [unixsockd] "
                "(RUNTIME_DIRECTORY and XDG_RUNTIME_DIR are not set to absolute paths)");
}

Test(config, explicit_runtime_directory_beats_the_environment)
{
        struct config *c = ok("[unixsockd]\nruntime-directory = /\n" SOCK_S WORKER_W);

        cr_assert_str_eq(c->runtime_directory, "/");
        cr_assert_str_eq(c->sockets[0].path, "/s.sock");
        config_free(c);
}

Test(config, path_of_exactly_107_bytes_fits)
{
        /* RD "/" is 14 bytes */
        struct config *c = ok(fmt("[socket:s]\npath = %s\nworker = w\n"
                                  "[socket:t]\npath = @%s\nworker = w\n" WORKER_W,
                                  repeat('p', 107 - 14), repeat('q', 107)));

        cr_assert_eq(strlen(c->sockets[0].path), 107);
        cr_assert_eq(strlen(c->sockets[1].path), 108);
        config_free(c);
}

Test(config, load_reads_a_file)
{
        char *dir = make_tmpdir();
        const char *f = join(dir, "u.conf");
        FILE *fp = fopen(f, "w");
        struct config *c = NULL;

        cr_assert_not_null(fp);
        fputs(SOCK_S WORKER_W, fp);
        fclose(fp);
        errs.n = 0;
        cr_assert_eq(config_load(f, collect, NULL, &c), 0, "%s", all_errs());
        cr_assert_str_eq(c->file, f);
        cr_assert_str_eq(c->sockets[0].name, "s");
        config_free(c);
        config_free(NULL);
        rm_rf(dir);
        free(dir);
}

/* ---- errors ---- */

Test(config, unknown_section_is_reported_and_its_keys_ignored)
{
        bad_one(SOCK_S WORKER_W "[sockets:x]\npath = x\nbogus = 1\n", 6, "unknown section [sockets:x]");
        bad_one("[Unixsockd]\n" SOCK_S WORKER_W, 1, "unknown section [Unixsockd]");
}

Test(config, unknown_key_names_the_key_and_section)
{
        bad_one("[socket:echo]\npath = e.sock\npathh = x\nworker = w\n" WORKER_W, 3,
                "unknown key 'pathh' in [socket:echo]");
        bad_one(SOCK_S WORKER_W "commandd = x\n", 6, "unknown key 'commandd' in [worker:w]");
        bad_one("[unixsockd]\nruntime_directory = /x\n" SOCK_S WORKER_W, 2,
                "unknown key 'runtime_directory' in [unixsockd]");
        /* inih would split "a:b = c" at ':' */
        bad_one(SOCK_S WORKER_W "user:name = root\n", 6, "unknown key 'user:name' in [worker:w]");
}

Test(config, key_before_any_section)
{
        bad_one("path = x.sock\n" SOCK_S WORKER_W, 1, "key 'path' outside of any section");
}

Test(config, duplicate_key_names_both_lines)
{
        bad_one("[socket:s]\npath = a.sock\nworker = w\n\npath = b.sock\n" WORKER_W, 5,
                "duplicate key 'path' in [socket:s] (first at line 2)");
        bad_one(SOCK_S WORKER_W "; c\ncommand = /bin/date\n", 7,
                "duplicate key 'command' in [worker:w] (first at line 5)");
}

Test(config, duplicate_section_names_both_lines)
{
        bad_one(SOCK_S WORKER_W "[socket:s]\n", 6, "duplicate section [socket:s] (first at line 1)");
        bad_one(SOCK_S WORKER_W "[worker:w]\ncommand = /bin/date\n", 6,
                "duplicate section [worker:w] (first at line 4)");
        bad_one("[unixsockd]\n" SOCK_S WORKER_W "[unixsockd]\nlog-level = debug\n", 7,
                "duplicate section [unixsockd] (first at line 1)");
}

Test(config, socket_and_worker_may_share_a_name)
{
        struct config *c = ok("[socket:echo]\npath = e.sock\nworker = echo\n[worker:echo]\ncommand = /bin/cat\n");

        cr_assert_eq(c->sockets[0].worker, &c->workers[0]);
        config_free(c);
}

/* key = value as the last line (6) of a socket section whose worker is fine */
static void bad_socket_value(const char *key, const char *value, const char *msg)
{
        bad_one(fmt(WORKER_W "[socket:s]\npath = s.sock\nworker = w\n%s = %s\n", key, value), 6, msg);
}

/* ... of a pool worker (line 7) */
static void bad_worker_value(const char *key, const char *value, const char *msg)
{
        bad_one(fmt(SOCK_S "[worker:w]\ncommand = /bin/cat\ndispatch = pool\n%s = %s\n", key, value), 7, msg);
}

static void bad_global_value(const char *key, const char *value, const char *msg)
{
        bad_one(fmt("[unixsockd]\n%s = %s\n" SOCK_S WORKER_W, key, value), 2, msg);
}

Test(config, bad_number)
{
        static const char *v[] = { "0", "65536", "-1", "+5", "1 2", "12k", "0x10", "99999999999999999999999" };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                bad_socket_value("backlog", v[i], fmt("backlog: '%s' is not a number from 1 to 65535", v[i]));
        bad_worker_value("instances", "0", "instances: '0' is not a number from 1 to 1000000, nor a range MIN-MAX");
        bad_worker_value("instances", "1000001", "instances: '1000001' is not a number from 1 to 1000000, nor a range MIN-MAX");
        bad_worker_value("max-per-user", "0", "max-per-user: '0' is not a number from 1 to 1000000");
        bad_worker_value("max-per-user", "lots", "max-per-user: 'lots' is not a number from 1 to 1000000");
}

Test(config, bad_mode)
{
        static const char *v[] = { "0999", "017777", "rw-rw----", "-0644", "0o644" };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                bad_socket_value("mode", v[i], fmt("mode: '%s' is not an octal mode from 0 to 07777", v[i]));
}

Test(config, bad_duration)
{
        bad_global_value("stop-timeout", "10 parsecs",
                         "stop-timeout: '10 parsecs' is not a duration (e.g. 10s, 500ms, 1min)");
        bad_global_value("stop-timeout", "99999999999999h",
                         "stop-timeout: '99999999999999h' is not a duration (e.g. 10s, 500ms, 1min)");
        bad_worker_value("restart-delay", "5x",
                         "restart-delay: '5x' is not a duration (e.g. 100ms, 2s, 1min)");
        bad_worker_value("restart-delay-max", "soon",
                         "restart-delay-max: 'soon' is not a duration (e.g. 100ms, 2s, 1min)");
        bad_worker_value("restart-delay", "0", "restart-delay: must be more than 0");
}

Test(config, bad_enum)
{
        bad_one(SOCK_S WORKER_W "dispatch = fork\n", 6, "dispatch: 'fork' is not one of spawn, pool, listener");
        bad_worker_value("restart", "sometimes", "restart: 'sometimes' is not one of always, on-failure, never");
        bad_global_value("log-level", "verbose",
                         "log-level: 'verbose' is not one of debug, info, notice, warning, err");
        bad_global_value("log-level", "INFO", "log-level: 'INFO' is not one of debug, info, notice, warning, err");
        bad_one(SOCK_S WORKER_W "listen-fds = maybe\n", 6,
                "listen-fds: 'maybe' is not one of yes, no, true, false, on, off, 1, 0");
}

Test(config, bad_rate_limit)
{
        static const char *v[] = { "500", "0/1s", "5/0s", "x/1s", "5/", "/1s", "5/1parsec", "4294967296/1s" };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                bad_socket_value("rate-limit", v[i],
                                 fmt("rate-limit: '%s' is not N/DURATION with N from 1 to 4294967295 "
                                     "and a DURATION more than 0 (e.g. 500/1s)", v[i]));
}

Test(config, bad_names)
{
        bad_one("[socket:a b]\npath = x\n" SOCK_S WORKER_W, 1,
                "invalid socket name 'a b' in [socket:a b]: use 1 to 255 of A-Z a-z 0-9 _ . -");
        bad_one(SOCK_S WORKER_W "[worker:\xc3\xa4]\ncommand = /bin/cat\n", 6,
                "invalid worker name '\xc3\xa4' in [worker:\xc3\xa4]: use 1 to 255 of A-Z a-z 0-9 _ . -");
        bad_one(SOCK_S WORKER_W "[worker:]\n", 6,
                "invalid worker name '' in [worker:]: use 1 to 255 of A-Z a-z 0-9 _ . -");
        /* the worker no socket can name is not reported again as unused */
        bad_one(WORKER_W "[socket:s]\npath = s.sock\nworker = w!\n", 5,
                "worker: 'w!' is not a valid worker name (1 to 255 of A-Z a-z 0-9 _ . -)");
}

/* A message quotes what the file says: valid UTF-8 as it is, every byte that
 * is not part of it, and every control character, as \xNN. */
Test(config, bytes_that_are_not_utf8_are_escaped_in_messages)
{
        static const struct { const char *in, *out; } v[] = {
                { "\xff", "\\xff" },                                  /* never in UTF-8 */
                { "a\xc3", "a\\xc3" },                                /* cut short at the end */
                { "\xc3(", "\\xc3(" },                                /* cut short before ASCII */
                { "\xe2\x82", "\\xe2\\x82" },                        /* 2 of 3 bytes */
                { "\xc0\xaf", "\\xc0\\xaf" },                        /* overlong '/' */
                { "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },              /* overlong, 3 bytes */
                { "\xed\xa0\x80", "\\xed\\xa0\\x80" },              /* a UTF-16 surrogate */
                { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },    /* above U+10FFFF */
                { "\x80x", "\\x80x" },                                /* a lone continuation byte */
                { "\xc2\x9b", "\\xc2\\x9b" },                        /* C1 control: CSI */
                { "\x1b[31m", "\\x1b[31m" },                          /* C0 control, as before */
                { "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80" }, /* valid: kept */
        };

        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                bad_socket_value("mode", v[i].in, fmt("mode: '%s' is not an octal mode from 0 to 07777", v[i].out));
        /* the header and the key of a line too */
        bad_one(SOCK_S WORKER_W "[\xfe]\n", 6, "unknown section [\\xfe]");
        bad_one(SOCK_S WORKER_W "k\xe9y = 1\n", 6, "unknown key 'k\\xe9y' in [worker:w]");
}

/* A long value is cut between characters, never inside one. */
Test(config, a_long_quoted_value_is_cut_between_characters)
{
        char value[189] = "";

        /* 188 bytes: the line stays under inih's 200, the quote is cut */
        for (size_t i = 0; i < 94; i++)
                strcat(value, "\xc3\xa4");
        for (size_t skew = 0; skew < 3; skew++) {
                const char *v = fmt("%.*s%s", (int)skew, "xx", value);

                bad(fmt(WORKER_W "[socket:s]\npath = s.sock\nworker = w\nmode = %s\n", v));
                cr_assert_eq(errs.n, 1, "%s", all_errs());
                const char *q = strchr(errs.msg[0], '\'') + 1, *end = strstr(q, "...'");
                cr_assert_not_null(end, "%s", errs.msg[0]);
                cr_assert_eq((end - q - (int)skew) % 2, 0, "cut inside a character: %s", errs.msg[0]);
                cr_assert_eq(strncmp(q, v, (size_t)(end - q)), 0);
        }
}

Test(config, bad_quoting)
{
        bad_one(SOCK_S "[worker:w]\ncommand = /bin/echo \"a b\n", 5,
                "command: unterminated double quote in '/bin/echo \"a b'");
        bad_one(SOCK_S "[worker:w]\ncommand = /bin/echo 'a b\n", 5,
                "command: unterminated single quote in '/bin/echo 'a b'");
        bad_one(SOCK_S "[worker:w]\ncommand = /bin/echo a\\\n", 5,
                "command: backslash at the end in '/bin/echo a\\'");
        bad_one(SOCK_S WORKER_W "environment = 'A=1\n", 6,
                "environment: unterminated single quote in ''A=1'");
        /* inih cuts at " ;" even inside quotes: never silently */
        bad_one(SOCK_S "[worker:w]\ncommand = /bin/echo \"a ;b\"\n", 5,
                "command: unterminated double quote in '/bin/echo \"a'");
}

Test(config, bad_environment)
{
        bad_one(SOCK_S WORKER_W "environment = A=1 B\n", 6, "environment: 'B' is not NAME=VALUE");
        bad_one(SOCK_S WORKER_W "environment = 1A=x\n", 6, "environment: '1A' is not a valid variable name");
        bad_one(SOCK_S WORKER_W "environment = =x\n", 6, "environment: '' is not a valid variable name");
        bad_one(SOCK_S WORKER_W "environment = LISTEN_FDS=2\n", 6,
                "environment: 'LISTEN_FDS' is set by unixsockd itself");
        bad_one(SOCK_S WORKER_W "environment = UNIXSOCKD_SOCKET=x\n", 6,
                "environment: 'UNIXSOCKD_SOCKET' is set by unixsockd itself");
}

/* Every name unixsockd sets in a worker's environment itself, or keeps from
 * it as its own, is refused where it is written: once silently dropped at
 * launch, NOTIFY_SOCKET, WATCHDOG_* and JOURNAL_STREAM passed --check. */
static const char *const reserved_env_names[] = {
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC",
        "JOURNAL_STREAM", "PROTO", "UNIXLOCALPATH", "UNIXREMOTEPID", "UNIXREMOTEEUID", "UNIXREMOTEEGID",
        "UNIXSOCKD_SOCKET", "UNIXSOCKD_CHANNEL", "UNIXSOCKD_ANY_OTHER", "UNIXSOCKD_",
};

Test(config, every_reserved_environment_name_is_refused_at_its_line)
{
        for (size_t i = 0; i < sizeof(reserved_env_names) / sizeof(reserved_env_names[0]); i++) {
                const char *n = reserved_env_names[i];

                bad_one(fmt(SOCK_S WORKER_W "environment = A=1 %s=/x B=2\n", n), 6,
                        fmt("environment: '%s' is set by unixsockd itself", n));
                bad_one(fmt(SOCK_S WORKER_W "\n\nenvironment = \"%s=two words\"\n", n), 8,
                        fmt("environment: '%s' is set by unixsockd itself", n));
        }
}

Test(config, names_close_to_reserved_ones_are_the_users)
{
        struct config *c = ok(SOCK_S WORKER_W "environment = NOTIFY_SOCKETS=1 UNIXSOCKD=2 WATCHDOG=3 "
                              "PROTOCOL=4 notify_socket=5 XLISTEN_FDS=6 UNIXSOCKDX_Y=7\n");
        char **e = c->workers[0].env;

        cr_assert_str_eq(e[0], "NOTIFY_SOCKETS=1");
        cr_assert_str_eq(e[6], "UNIXSOCKDX_Y=7");
        cr_assert_null(e[7]);
        config_free(c);
}

/* The launch code asks with an entry of environ: only the name counts. */
Test(config, reserved_name_check_reads_only_the_name)
{
        for (size_t i = 0; i < sizeof(reserved_env_names) / sizeof(reserved_env_names[0]); i++) {
                const char *entry = fmt("%s=1", reserved_env_names[i]);

                cr_assert(config_env_name_reserved(entry, strcspn(entry, "=")), "%s", entry);
        }
        cr_assert(!config_env_name_reserved("NOTIFY_SOCKET=1", 6));
        cr_assert(!config_env_name_reserved("UNIXSOCKD_X", 9));
        cr_assert(!config_env_name_reserved("PROTOCOL=1", 8));
        cr_assert(!config_env_name_reserved("", 0));
}

Test(config, unknown_user)
{
        bad_one(SOCK_S WORKER_W "user = no-such-user-usd\n", 6, "user: unknown user 'no-such-user-usd'");
        bad_socket_value("owner", "no-such-user-usd", "owner: unknown user 'no-such-user-usd'");
        bad_socket_value("allow-users", "root no-such-user-usd 5", "allow-users: unknown user 'no-such-user-usd'");
}

/* (uid_t)-1 and (gid_t)-1 are no one's: they mean "unchanged" to chown(2)
 * and setresuid(2), so they are refused as numbers, never looked up as names. */
Test(config, the_reserved_id_is_refused_as_such)
{
        bad_one(SOCK_S WORKER_W "user = 4294967295\n", 6,
                "user: 4294967295 is reserved (it means 'unchanged' to the kernel)");
        bad_one(SOCK_S WORKER_W "group = 4294967295\n", 6,
                "group: 4294967295 is reserved (it means 'unchanged' to the kernel)");
        bad_socket_value("owner", "4294967295", "owner: 4294967295 is reserved (it means 'unchanged' to the kernel)");
        bad_socket_value("group", "4294967295", "group: 4294967295 is reserved (it means 'unchanged' to the kernel)");
        bad_socket_value("allow-users", "0 4294967295 5",
                         "allow-users: 4294967295 is reserved (it means 'unchanged' to the kernel)");
        bad_socket_value("allow-groups", "4294967295",
                         "allow-groups: 4294967295 is reserved (it means 'unchanged' to the kernel)");
}

Test(config, every_unknown_name_of_a_list_is_reported)
{
        bad(WORKER_W "[socket:s]\npath = s.sock\nworker = w\nallow-users = root nope-usd 5 nada-usd\n");
        cr_assert_eq(errs.n, 2, "%s", all_errs());
        has_err(6, "allow-users: unknown user 'nope-usd'");
        has_err(6, "allow-users: unknown user 'nada-usd'");
}

Test(config, unknown_group)
{
        bad_one(SOCK_S WORKER_W "group = no-such-group-usd\n", 6, "group: unknown group 'no-such-group-usd'");
        bad_socket_value("group", "no-such-group-usd", "group: unknown group 'no-such-group-usd'");
        bad_socket_value("allow-groups", "root no-such-group-usd",
                         "allow-groups: unknown group 'no-such-group-usd'");
}

Test(config, command_must_name_an_executable_file)
{
        bad_one(SOCK_S "[worker:w]\ncommand = /nonexistent/prog arg\n", 5,
                "command: '/nonexistent/prog' does not exist");
        bad_one(SOCK_S "[worker:w]\ncommand = /etc/passwd\n", 5,
                "command: '/etc/passwd' is not an executable file");
        bad_one(SOCK_S "[worker:w]\ncommand = /tmp\n", 5, "command: '/tmp' is not an executable file");
        bad_one(SOCK_S "[worker:w]\ncommand = bin/cat\n", 5,
                "command: 'bin/cat' is neither an absolute path nor a name to look up in PATH");
        bad_one(SOCK_S "[worker:w]\ncommand = no-such-program-usd\n", 5,
                "command: 'no-such-program-usd' not found in PATH (" STD_PATH ")");
        bad_one(SOCK_S "[worker:w]\ncommand = '' x\n", 5, "command: empty program name");
        bad_one(SOCK_S "[worker:w]\ncommand = ''\n", 5, "command: empty program name");
}

Test(config, command_must_be_given)
{
        bad_one(SOCK_S "[worker:w]\ndispatch = spawn\n", 4, "missing 'command =' in [worker:w]");
}

Test(config, non_executable_regular_file_is_refused)
{
        char *dir = make_tmpdir();
        const char *f = join(dir, "prog");
        FILE *fp = fopen(f, "w");

        cr_assert_not_null(fp);
        fputs("#!/bin/sh\n", fp);
        fclose(fp);
        cr_assert_eq(chmod(f, 0644), 0);
        bad_one(fmt(SOCK_S "[worker:w]\ncommand = %s\n", f), 5, fmt("command: '%s' is not an executable file", f));
        cr_assert_eq(chmod(f, 0755), 0);
        config_free(ok(fmt(SOCK_S "[worker:w]\ncommand = %s\n", f)));
        rm_rf(dir);
        free(dir);
}

Test(config, socket_without_worker_key)
{
        bad_one("[socket:s]\npath = s.sock\n\n[socket:t]\npath = t.sock\nworker = w\n" WORKER_W, 1,
                "missing 'worker =' in [socket:s]");
}

Test(config, socket_naming_a_missing_worker)
{
        bad_one("[socket:s]\npath = s.sock\nworker = nope\n[socket:t]\npath = t.sock\nworker = w\n" WORKER_W, 3,
                "worker: there is no [worker:nope]");
}

Test(config, socket_without_path)
{
        bad_one("[socket:s]\nworker = w\n" WORKER_W, 1, "missing 'path =' in [socket:s]");
}

Test(config, worker_no_socket_names)
{
        bad_one(SOCK_S WORKER_W "[worker:idle]\ncommand = /bin/cat\n", 6, "[worker:idle] is not used by any socket");
}

Test(config, relative_path_too_long_after_joining)
{
        const char *dir = fmt("/run/%s", repeat('d', 90));      /* 95 bytes, + '/' = 96 */

        /* (control = none: the default control.sock would not fit either, below) */
        bad_one(fmt("[unixsockd]\nruntime-directory = %s\ncontrol = none\n[socket:s]\npath = %s\nworker = w\n"
                    WORKER_W, dir, repeat('p', 12)), 5,
                fmt("path: '%s/%s' is too long for a UNIX socket (108 bytes, at most 107)", dir, repeat('p', 12)));
        bad_one(fmt("[socket:s]\npath = %s\nworker = w\n" WORKER_W, repeat('p', 107 - 13)), 2,
                fmt("path: '" RD "/%s' is too long for a UNIX socket (108 bytes, at most 107)",
                    repeat('p', 107 - 13)));
}

/* The control socket is on by default: a runtime directory with no room for
 * control.sock is an error at its line (or of the whole file, if it is the
 * default one). */
Test(config, a_runtime_directory_too_long_for_the_default_control_socket)
{
        const char *dir = fmt("/run/%s", repeat('d', 90));      /* 95 bytes + "/control.sock" = 108 */

        bad_one(fmt("[unixsockd]\nruntime-directory = %s\n[socket:s]\npath = s\nworker = w\n" WORKER_W, dir), 2,
                fmt("control: '%s/control.sock' is too long for a UNIX socket (108 bytes, at most 107)", dir));
        setenv("RUNTIME_DIRECTORY", dir, 1);
        bad_one("[socket:s]\npath = s\nworker = w\n" WORKER_W, 0,
                fmt("control: '%s/control.sock' is too long for a UNIX socket (108 bytes, at most 107)", dir));
}

Test(config, abstract_name_too_long)
{
        bad_one(fmt("[socket:s]\npath = @%s\nworker = w\n" WORKER_W, repeat('a', 108)), 2,
                fmt("path: abstract name '@%s' is too long (108 bytes after '@', at most 107)", repeat('a', 108)));
        bad_one("[socket:s]\npath = @\nworker = w\n" WORKER_W, 2, "path: '@' with no abstract name after it");
}

Test(config, bad_paths)
{
        bad_one("[socket:s]\npath = dir/\nworker = w\n" WORKER_W, 2,
                "path: 'dir/' ends with '/': it names a directory");
        bad_global_value("runtime-directory", "run/x", "runtime-directory: 'run/x' is not an absolute path");
        bad_one(SOCK_S WORKER_W "working-directory = tmp\n", 6, "working-directory: 'tmp' is not an absolute path");
        bad_global_value("control", "@ctl",
                         "control: '@ctl' is abstract: the control socket needs a file and its permissions");
        bad_global_value("control", fmt("/%s", repeat('c', 107)),
                         fmt("control: '/%s' is too long for a UNIX socket (108 bytes, at most 107)",
                             repeat('c', 107)));
}

Test(config, two_sockets_on_one_path)
{
        bad_one("[socket:a]\npath = a.sock\nworker = w\n"
                "[socket:b]\npath = " RD "//./a.sock\nworker = w\n" WORKER_W, 5,
                "path: '" RD "/a.sock' is already the path of [socket:a] (line 2)");
        bad_one("[unixsockd]\ncontrol = s.sock\n" SOCK_S WORKER_W, 2,
                "control: '" RD "/s.sock' is also the path of [socket:s]");
}

Test(config, every_repeat_of_a_name_or_path_names_the_first)
{
        bad("[socket:a]\npath = a.sock\nworker = w\n"
            "[socket:b]\npath = a.sock\nworker = w\n"
            "[socket:a]\npath = c.sock\nworker = w\n"
            "[socket:c]\npath = a.sock\nworker = w\n" WORKER_W "[worker:w]\n");
        cr_assert_eq(errs.n, 4, "%s", all_errs());
        has_err(5, "path: '" RD "/a.sock' is already the path of [socket:a] (line 2)");
        has_err(7, "duplicate section [socket:a] (first at line 1)");
        has_err(11, "path: '" RD "/a.sock' is already the path of [socket:a] (line 2)");
        has_err(15, "duplicate section [worker:w] (first at line 13)");
}

Test(config, a_thousand_sockets_each_find_their_worker)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct config *c;

        cr_assert_not_null(f);
        for (int i = 0; i < 1000; i++)
                fprintf(f, "[socket:s%d]\npath = s%d.sock\nworker = w%d\n", i, i, i % 7);
        for (int i = 0; i < 7; i++)
                fprintf(f, "[worker:w%d]\ncommand = /bin/cat\n", i);
        fclose(f);
        c = ok(text);
        cr_assert_eq(c->n_sockets, 1000);
        cr_assert_eq(c->n_workers, 7);
        for (size_t i = 0; i < 1000; i++)
                cr_assert_str_eq(c->sockets[i].worker->name, fmt("w%zu", i % 7));
        config_free(c);
        free(text);
}

Test(config, keys_that_do_not_fit_the_dispatch)
{
        bad_one(SOCK_S WORKER_W "dispatch = listener\ninstances = 1025\n", 7,
                "instances: 1025 is more than 1024, the most copies with dispatch = listener");
        bad_one(SOCK_S WORKER_W "instances = 0\ndispatch = listener\n", 6,
                "instances: '0' is not a number from 1 to 1000000, nor a range MIN-MAX");
        bad_one(SOCK_S WORKER_W "max-per-user = 3\ndispatch = listener\n", 6,
                "max-per-user: has no effect with dispatch = listener");
        bad_one(SOCK_S WORKER_W "restart = never\n", 6, "restart: only for dispatch = pool or listener");
        bad_one(SOCK_S WORKER_W "restart-delay = 1s\n", 6, "restart-delay: only for dispatch = pool or listener");
        bad_one(SOCK_S WORKER_W "restart-delay-max = 1s\n", 6,
                "restart-delay-max: only for dispatch = pool or listener");
        bad_one(SOCK_S WORKER_W "listen-fds = yes\ndispatch = pool\n", 6, "listen-fds: only for dispatch = spawn");
        bad_one(SOCK_S WORKER_W "max-concurrent = 1\n", 6, "max-concurrent: only for dispatch = pool");
        bad_one(SOCK_S WORKER_W "dispatch = listener\nmax-concurrent = 2\n", 7,
                "max-concurrent: only for dispatch = pool");
        bad_one(SOCK_S WORKER_W "dispatch = pool\nmax-concurrent = 0\n", 7, "max-concurrent: '0' is not a number from 1 to 1000000");
        bad_one(SOCK_S "allow-users = 0\n" WORKER_W "dispatch = listener\n", 4,
                "allow-users: has no effect with [worker:w], whose dispatch = listener accepts connections itself");
        bad_one(SOCK_S "rate-limit = 5/s\n" WORKER_W "dispatch = listener\n", 4,
                "rate-limit: has no effect with [worker:w], whose dispatch = listener accepts connections itself");
        bad_one(SOCK_S "type = datagram\n" WORKER_W, 4,
                "type: a datagram socket has no connections to hand over: [worker:w] has dispatch = spawn, "
                "a datagram socket needs dispatch = listener");
        bad_one(SOCK_S "type = datagram\n" WORKER_W "dispatch = pool\n", 4,
                "type: a datagram socket has no connections to hand over: [worker:w] has dispatch = pool, "
                "a datagram socket needs dispatch = listener");
        bad_one(SOCK_S "type = datagram\nbacklog = 10\n" WORKER_W "dispatch = listener\n", 5,
                "backlog: a datagram socket has no queue of connections");
}

Test(config, type_chooses_the_socket_type_and_defaults_to_stream)
{
        static const struct {
                const char *text;
                int type;
        } t[] = { { "", SOCK_STREAM }, { "type = stream\n", SOCK_STREAM }, { "type = seqpacket\n", SOCK_SEQPACKET } };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct config *c = ok(fmt(SOCK_S "%s" WORKER_W "dispatch = pool\n", t[i].text));
                cr_assert_eq(c->sockets[0].type, t[i].type, "%s", t[i].text);
                config_free(c);
        }
        struct config *c = ok(SOCK_S "type = datagram\n" WORKER_W "dispatch = listener\n");
        cr_assert_eq(c->sockets[0].type, SOCK_DGRAM);
        config_free(c);
        bad_one(SOCK_S "type = dgram\n" WORKER_W, 4,
                "type: 'dgram' is not one of stream, seqpacket, datagram");
        bad_one(SOCK_S "type = Stream\n" WORKER_W, 4, "type: 'Stream' is not one of stream, seqpacket, datagram");
}

Test(config, restart_delay_max_below_restart_delay)
{
        bad_one(SOCK_S WORKER_W "dispatch = pool\nrestart-delay = 2s\nrestart-delay-max = 1500ms\n", 8,
                "restart-delay-max: 1500ms is less than restart-delay (2s)");
        /* against the default maximum of 30s: at restart-delay */
        bad_one(SOCK_S WORKER_W "dispatch = pool\nrestart-delay = 1min\n", 7,
                "restart-delay: 1min is more than restart-delay-max (default 30s)");
}

Test(config, abstract_socket_has_no_file_to_own)
{
        bad_one("[socket:s]\npath = @s\nworker = w\nmode = 0600\n" WORKER_W, 4,
                "mode: an abstract socket has no file to give it to (use allow-users or allow-groups)");
        bad_one("[socket:s]\npath = @s\nworker = w\nowner = 0\n" WORKER_W, 4,
                "owner: an abstract socket has no file to give it to (use allow-users or allow-groups)");
}

Test(config, line_too_long_for_inih)
{
        /* 200 bytes: one more than inih's buffer holds */
        bad_one(fmt(SOCK_S WORKER_W "environment = X=%s\n", repeat('v', 184)), 6,
                "line too long (200 bytes, at most 199)");
        bad_one(fmt(SOCK_S WORKER_W "# %s\n", repeat('c', 500)), 6, "line too long (502 bytes, at most 199)");
}

Test(config, keys_after_a_header_too_long_are_not_taken_for_the_section_before)
{
        bad_one(fmt(SOCK_S WORKER_W "[socket:%s]\npath = x.sock\nworker = w\n", repeat('n', 200)), 6,
                "line too long (209 bytes, at most 199)");
}

/* Found by the fuzzer: a last line too long and all blanks, with no newline,
 * made the reader look one byte past the text. The text ends right before a
 * page nobody may read, so that look is a crash in any build. */
Test(config, a_last_line_of_blanks_too_long_is_read_within_the_text)
{
        long page = sysconf(_SC_PAGESIZE);
        char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        const char *text = fmt(SOCK_S WORKER_W "%s", repeat(' ', 250));
        size_t len = strlen(text);
        struct config *c = NULL;

        cr_assert(map != MAP_FAILED);
        cr_assert(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
        cr_assert_lt(len, (size_t)page);
        memcpy(map + page - len, text, len);
        errs.n = 0;
        cr_assert_eq(config_load_string("blank.conf", map + page - len, len, collect, NULL, &c), -EINVAL);
        cr_assert_eq(errs.n, 1, "%s", all_errs());
        cr_assert_eq(errs.line[0], 6);
        cr_assert_str_eq(errs.msg[0], "line too long (250 bytes, at most 199)");
        munmap(map, (size_t)page * 2);
}

Test(config, empty_file_has_no_sockets)
{
        bad_one("", 0, "no [socket:NAME] section: nothing to listen on");
        bad_one("# only a comment\n\n", 0, "no [socket:NAME] section: nothing to listen on");
        bad_one("[unixsockd]\nlog-level = info\n", 0, "no [socket:NAME] section: nothing to listen on");
}

Test(config, line_with_no_equals_is_a_syntax_error)
{
        bad_one(SOCK_S "hello world\n" WORKER_W, 4, "syntax error: no '=' in 'hello world'");
        bad_one(SOCK_S "path: x.sock\n" WORKER_W, 4, "syntax error: no '=' in 'path: x.sock'");
        bad_one(SOCK_S "backlog ; = 5\n" WORKER_W, 4, "syntax error: no '=' in 'backlog ; = 5'");
        bad_one(SOCK_S "= 5\n" WORKER_W, 4, "syntax error: no key before '='");
        bad_one(SOCK_S "[worker:x\n" WORKER_W, 4, "syntax error: no ']' in '[worker:x'");
        bad_one(SOCK_S "[worker:x] y\n" WORKER_W, 4, "syntax error: text after ']' in '[worker:x] y'");
}

Test(config, indented_line_is_never_glued_to_the_value_above)
{
        struct config *c = ok(SOCK_S "[worker:w]\ncommand = /bin/echo a\n    environment = X=1\n");

        cr_assert_null(c->workers[0].argv[2]);
        cr_assert_str_eq(c->workers[0].env[0], "X=1");
        config_free(c);
        bad_one(SOCK_S "[worker:w]\ncommand = /bin/echo a\n    b c\n", 6, "syntax error: no '=' in 'b c'");
}

Test(config, hash_after_a_value_is_not_a_silent_comment)
{
        bad_one("[socket:s]\npath = s.sock # the socket\nworker = w\n" WORKER_W, 2,
                "path: '#' does not start a comment after a value (use ';', or quote the '#')");
        struct config *c = ok(SOCK_S "[worker:w]\ncommand = /bin/echo '# quoted' a#b\n");

        cr_assert_str_eq(c->workers[0].argv[1], "# quoted");
        cr_assert_str_eq(c->workers[0].argv[2], "a#b");
        config_free(c);
}

Test(config, empty_value)
{
        bad_socket_value("backlog", "", "backlog: missing value");
        bad_socket_value("allow-users", "; nobody", "allow-users: missing value");
}

Test(config, nul_byte_in_a_line)
{
        static const char text[] = SOCK_S WORKER_W "user = ro\0ot\n";
        struct config *c = NULL;

        errs.n = 0;
        cr_assert_eq(config_load_string("t.conf", text, sizeof(text) - 1, collect, NULL, &c), -EINVAL);
        cr_assert_eq(errs.n, 1, "%s", all_errs());
        cr_assert_eq(errs.line[0], 6);
        cr_assert_str_eq(errs.msg[0], "line contains a NUL byte");
}

Test(config, unreadable_file)
{
        struct config *c = NULL;
        char *dir;

        errs.n = 0;
        cr_assert_eq(config_load("/nonexistent/unixsockd.conf", collect, NULL, &c), -ENOENT);
        cr_assert_null(c);
        cr_assert_eq(errs.n, 1);
        cr_assert_eq(errs.line[0], 0);
        cr_assert_str_eq(errs.file[0], "/nonexistent/unixsockd.conf");
        cr_assert_str_eq(errs.msg[0], "cannot read: No such file or directory");

        /* a huge file is not read to its end */
        dir = make_tmpdir();
        const char *big = join(dir, "big.conf");
        FILE *f = fopen(big, "w");
        cr_assert_not_null(f);
        cr_assert_eq(ftruncate(fileno(f), 17 << 20), 0);
        fclose(f);
        errs.n = 0;
        cr_assert_eq(config_load(big, collect, NULL, &c), -EFBIG);
        cr_assert_null(c);
        cr_assert_str_eq(errs.msg[0], "cannot read: file of 16 MiB or more");
        rm_rf(dir);
        free(dir);
}

/* Only a regular file is read: loading happens in the event loop on SIGHUP,
 * and a FIFO would block it in open(2) until a writer came, a device could
 * be endless. Each is refused at once, with one error about the file. */
static void not_a_regular_file(const char *path, int error)
{
        struct config *c = NULL;

        errs.n = 0;
        cr_assert_eq(config_load(path, collect, NULL, &c), error, "%s: %s", path, all_errs());
        cr_assert_null(c);
        cr_assert_eq(errs.n, 1, "%s", all_errs());
        cr_assert_eq(errs.line[0], 0);
        cr_assert_str_eq(errs.file[0], path);
        cr_assert_str_eq(errs.msg[0], "not a regular file");
}

Test(config, a_fifo_is_refused_without_waiting_for_a_writer, .timeout = 10)
{
        char *dir = make_tmpdir();
        const char *fifo = join(dir, "unixsockd.conf");

        cr_assert_eq(mkfifo(fifo, 0600), 0);
        not_a_regular_file(fifo, -EBADFD);
        rm_rf(dir);
        free(dir);
}

Test(config, a_directory_or_a_device_is_refused, .timeout = 10)
{
        char *dir = make_tmpdir();

        not_a_regular_file(dir, -EISDIR);
        not_a_regular_file("/dev/null", -EBADFD);
        not_a_regular_file("/dev/zero", -EBADFD);
        rm_rf(dir);
        free(dir);
}

/* A symlink is followed (an alternatives-style link is a fine config path);
 * what it points to must be a regular file. */
Test(config, a_symlink_is_followed_to_what_it_names, .timeout = 10)
{
        char *dir = make_tmpdir();
        const char *real = join(dir, "real.conf"), *link = join(dir, "link.conf"),
                   *to_fifo = join(dir, "fifo-link.conf"), *fifo = join(dir, "fifo");
        struct config *c = NULL;
        FILE *f = fopen(real, "w");

        cr_assert_not_null(f);
        fputs(SOCK_S WORKER_W, f);
        fclose(f);
        cr_assert_eq(symlink(real, link), 0);
        errs.n = 0;
        cr_assert_eq(config_load(link, collect, NULL, &c), 0, "%s", all_errs());
        config_free(c);

        cr_assert_eq(mkfifo(fifo, 0600), 0);
        cr_assert_eq(symlink(fifo, to_fifo), 0);
        not_a_regular_file(to_fifo, -EBADFD);
        rm_rf(dir);
        free(dir);
}

Test(config, unreadable_file_for_a_user, .fini = back_to_root)
{
        char *dir;
        const char *f;
        FILE *fp;
        struct config *c = NULL;

        need_root();
        dir = make_tmpdir();
        f = join(dir, "secret.conf");
        fp = fopen(f, "w");
        cr_assert_not_null(fp);
        fputs(SOCK_S WORKER_W, fp);
        fclose(fp);
        cr_assert_eq(chmod(f, 0600), 0);
        cr_assert_eq(seteuid(NOBODY), 0);
        errs.n = 0;
        cr_assert_eq(config_load(f, collect, NULL, &c), -EACCES);
        cr_assert_str_eq(errs.msg[0], "cannot read: Permission denied");
        back_to_root();
        rm_rf(dir);
        free(dir);
}

Test(config, every_error_is_reported_in_line_order)
{
        /* Errors found at the end (1, 12) sort among those found line by line. */
        static const char text[] =
                "[socket:a]\n"                  /* 1: no worker = */
                "path = a.sock\n"
                "backlog = 0\n"                 /* 3 */
                "[bogus]\n"                     /* 4 */
                "x = 1\n"
                "[worker:w]\n"
                "command = /bin/cat\n"
                "dispatch = fork\n"             /* 8 */
                "hello\n"                       /* 9 */
                "[socket:a]\n"                  /* 10 */
                "[socket:b]\n"
                "path = a.sock\n"               /* 12: a's path */
                "worker = w\n"
                "mode = 9\n"                    /* 14 */
                "mode = 1\n";                   /* 15 */
        static const unsigned lines[] = { 1, 3, 4, 8, 9, 10, 12, 14, 15 };
        static const char *parts[] = {
                "missing 'worker =' in [socket:a]", "backlog: '0'", "unknown section [bogus]",
                "dispatch: 'fork'", "syntax error", "duplicate section [socket:a]",
                "path: '" RD "/a.sock' is already the path of [socket:a]", "mode: '9'",
                "duplicate key 'mode' in [socket:b] (first at line 14)",
        };

        bad(text);
        cr_assert_eq(errs.n, 9, "%s", all_errs());
        for (size_t i = 0; i < 9; i++) {
                cr_assert_eq(errs.line[i], lines[i], "error %zu:\n%s", i, all_errs());
                cr_assert(strstr(errs.msg[i], parts[i]), "error %zu: '%s' lacks '%s'", i, errs.msg[i], parts[i]);
        }
}

/* The daemon logs the first errors of a file, in line order, and counts the
 * rest in one error about the whole file. */
Test(config, load_max_reports_the_first_errors_and_counts_the_rest)
{
        char *dir = make_tmpdir();
        const char *f = join(dir, "many.conf");
        struct config *c = NULL;
        FILE *fp = fopen(f, "w");

        cr_assert_not_null(fp);
        /* line 1: a worker no socket uses, found at the end; 8..107: no '=' */
        fputs("[worker:unused]\ncommand = /bin/cat\n" SOCK_S WORKER_W, fp);
        for (int i = 0; i < 100; i++)
                fputs("x\n", fp);
        fclose(fp);

        errs.n = 0;
        cr_assert_eq(config_load_max(f, 5, collect, NULL, &c), -EINVAL);
        cr_assert_null(c);
        cr_assert_eq(errs.n, 6, "%s", all_errs());
        cr_assert_eq(errs.line[0], 1);
        cr_assert_str_eq(errs.msg[0], "[worker:unused] is not used by any socket");
        for (unsigned i = 1; i < 5; i++) {
                cr_assert_eq(errs.line[i], 7 + i, "%s", all_errs());
                cr_assert_str_eq(errs.msg[i], "syntax error: no '=' in 'x'");
        }
        cr_assert_eq(errs.line[5], 0);
        cr_assert_str_eq(errs.file[5], f);
        cr_assert_str_eq(errs.msg[5], "96 more errors not shown");

        errs.n = 0;
        cr_assert_eq(config_load_max(f, 100, collect, NULL, &c), -EINVAL);
        cr_assert_eq(errs.n, 101);
        cr_assert_str_eq(errs.msg[100], "1 more error not shown");

        errs.n = 0;
        cr_assert_eq(config_load_max(f, 101, collect, NULL, &c), -EINVAL);
        cr_assert_eq(errs.n, 101, "all of them: nothing more to count");
        cr_assert_eq(errs.line[100], 107);
        rm_rf(dir);
        free(dir);
}

Test(config, default_reporter_prints_file_and_line_to_stderr, .init = cr_redirect_stderr)
{
        struct config *c = NULL;
        static const char text[] = "[socket:s]\npath = s.sock\nworker = w\nbacklog = 0\n" WORKER_W;

        setup();
        cr_assert_eq(config_load_string("x.conf", text, sizeof(text) - 1, NULL, NULL, &c), -EINVAL);
        cr_assert_eq(config_load_string("y.conf", "", 0, NULL, NULL, &c), -EINVAL);
        fflush(stderr);
        cr_assert_stderr_eq_str("x.conf:4: backlog: '0' is not a number from 1 to 65535\n"
                                "y.conf: no [socket:NAME] section: nothing to listen on\n");
}

/* ---- the shipped files ---- */

Test(config, shipped_config_serves_echo_where_the_socket_unit_listens)
{
        struct config *c = NULL;
        const struct cfg_socket *s;

        need_root();
        unsetenv("RUNTIME_DIRECTORY");
        errs.n = 0;
        cr_assert_eq(config_load(SOURCE_ROOT "/conf/unixsockd.conf", collect, NULL, &c), 0, "%s", all_errs());
        s = config_find_socket(c, "echo");
        cr_assert_not_null(s);
        /* unixsockd.socket: ListenStream=/run/unixsockd/echo.sock, FileDescriptorName=echo */
        cr_assert_str_eq(s->path, "/run/unixsockd/echo.sock");
        cr_assert_str_eq(s->worker->exec_path, "/bin/cat");
        cr_assert_eq(s->worker->dispatch, DISPATCH_SPAWN);
        config_free(c);
}

Test(config, demo_config_has_a_socket_per_program)
{
        static const struct { const char *socket, *exec; } t[] = {
                { "echo", "/usr/bin/cat" }, { "date", "/usr/bin/date" }, { "env", "/usr/bin/env" },
                { "wc", "/usr/bin/wc" }, { "pool", BUILD_ROOT "/lib/pool-echo" },
                { "pool-py", SOURCE_ROOT "/lib/examples/pool-echo.py" },
                { "proxy", "/lib/systemd/systemd-socket-proxyd" }, { "seqpacket", "/usr/bin/cat" },
        };
        static const enum dispatch how[] = { DISPATCH_SPAWN, DISPATCH_SPAWN, DISPATCH_SPAWN,
                DISPATCH_SPAWN, DISPATCH_POOL, DISPATCH_POOL, DISPATCH_LISTENER, DISPATCH_SPAWN };
        struct config *c = NULL;

        /* meson writes the example pool workers' paths into the build's
         * demo.conf, which conf/demo.sh runs; the caller's PATH plays no part */
        setenv("PATH", "/nonexistent", 1);
        errs.n = 0;
        cr_assert_eq(config_load(BUILD_ROOT "/conf/demo.conf", collect, NULL, &c), 0, "%s", all_errs());
        cr_assert_eq(c->n_sockets, 8);
        for (size_t i = 0; i < 8; i++) {
                const struct cfg_socket *s = config_find_socket(c, t[i].socket);

                cr_assert_not_null(s, "%s", t[i].socket);
                cr_assert_str_eq(s->path, fmt(RD "/%s.sock", t[i].socket));
                cr_assert_str_eq(s->worker->exec_path, t[i].exec);
                cr_assert_eq(s->worker->dispatch, how[i]);
                cr_assert_eq(s->type, strcmp(t[i].socket, "seqpacket") == 0 ? SOCK_SEQPACKET : SOCK_STREAM);
        }
        config_free(c);
}

/* ---- pools that size themselves, and limits (issue: elastic pools) ---- */

#define POOL_W "[worker:w]\ncommand = /bin/cat\ndispatch = pool\n"

Test(config, pool_instances_take_a_range_with_an_idle_timeout)
{
        struct config *c = ok(SOCK_S POOL_W "instances = 0-4\n");
        const struct cfg_worker *w = &c->workers[0];

        cr_assert_eq(w->instances_min, 0);
        cr_assert_eq(w->instances, 4);
        cr_assert_eq(w->idle_timeout_usec, 10 * SEC, "the default idle-timeout is 10s");
        config_free(c);

        c = ok(SOCK_S POOL_W "instances = 2-8\nidle-timeout = 1.5s\nmax-connections = 1000\n");
        w = &c->workers[0];
        cr_assert(w->instances_min == 2 && w->instances == 8);
        cr_assert_eq(w->idle_timeout_usec, 1500 * MSEC);
        cr_assert_eq(w->max_connections, 1000);
        config_free(c);

        c = ok(SOCK_S POOL_W "instances = 3\n");
        cr_assert(c->workers[0].instances_min == 3 && c->workers[0].instances == 3, "one number: a fixed pool");
        cr_assert_eq(c->workers[0].max_connections, 0, "never recycled unless asked");
        config_free(c);
        c = ok(SOCK_S POOL_W);
        cr_assert(c->workers[0].instances_min == 4 && c->workers[0].instances == 4);
        config_free(c);
}

Test(config, a_range_is_a_pools_only_and_well_formed)
{
        bad_one(SOCK_S WORKER_W "instances = 1-4\n", 6, "instances: a range MIN-MAX is only for dispatch = pool");
        bad_one(SOCK_S WORKER_W "dispatch = listener\ninstances = 0-4\n", 7,
                "instances: a range MIN-MAX is only for dispatch = pool");
        bad_worker_value("instances", "5-4",
                         "instances: '5-4' is not a range MIN-MAX with MIN <= MAX <= 1000000 and MAX >= 1");
        bad_worker_value("instances", "0-0",
                         "instances: '0-0' is not a range MIN-MAX with MIN <= MAX <= 1000000 and MAX >= 1");
        bad_worker_value("instances", "1-1000001",
                         "instances: '1-1000001' is not a range MIN-MAX with MIN <= MAX <= 1000000 and MAX >= 1");
        bad_worker_value("instances", "0-16385",
                         "instances: MAX 16385 is more than 16384, the most processes of a pool that sizes itself");
        struct config *c = ok(SOCK_S POOL_W "instances = 16384-16384\n");
        config_free(c);
        bad_worker_value("instances", "-3",
                         "instances: '-3' is not a range MIN-MAX with MIN <= MAX <= 1000000 and MAX >= 1");
        bad_one(SOCK_S POOL_W "idle-timeout = 5s\n", 7,
                "idle-timeout: has no effect on a pool of a fixed size: give instances = MIN-MAX");
        bad_one(SOCK_S POOL_W "instances = 1-2\nidle-timeout = 0\n", 8, "idle-timeout: must be more than 0");
        bad_one(SOCK_S WORKER_W "idle-timeout = 5s\n", 6, "idle-timeout: only for dispatch = pool");
        bad_one(SOCK_S WORKER_W "max-connections = 5\n", 6, "max-connections: only for dispatch = pool");
        bad_worker_value("max-connections", "-1", "max-connections: '-1' is not a number from 0 to 1000000");
}

Test(config, runtime_max_is_for_spawn_and_pool)
{
        struct config *c = ok(SOCK_S WORKER_W "runtime-max = 30s\n");

        cr_assert_eq(c->workers[0].runtime_max_usec, 30 * SEC);
        config_free(c);
        c = ok(SOCK_S POOL_W "runtime-max = 2min\n");
        cr_assert_eq(c->workers[0].runtime_max_usec, 120 * SEC);
        config_free(c);
        c = ok(SOCK_S POOL_W "runtime-max = 0\n");
        cr_assert_eq(c->workers[0].runtime_max_usec, 0, "0: no limit");
        config_free(c);
        bad_one(SOCK_S WORKER_W "dispatch = listener\nruntime-max = 5s\n", 7,
                "runtime-max: only for dispatch = spawn or pool");
        bad_worker_value("runtime-max", "forever", "runtime-max: 'forever' is not a duration (e.g. 30s, 5min; 0: none)");
}

Test(config, rlimits_nice_and_umask_parse_as_systemd_writes_them)
{
        struct config *c = ok(SOCK_S WORKER_W "limit-nofile = 4096\nlimit-nproc = 100:200\nlimit-core = 0\n"
                                              "limit-as = 4G:infinity\nlimit-cpu = 1min 0.5s\nnice = -5\n"
                                              "umask = 0077\n");
        const struct cfg_worker *w = &c->workers[0];

        cr_assert(w->limits[LIMIT_NOFILE].set);
        cr_assert(w->limits[LIMIT_NOFILE].soft == 4096 && w->limits[LIMIT_NOFILE].hard == 4096,
                  "one value: soft and hard");
        cr_assert(w->limits[LIMIT_NPROC].soft == 100 && w->limits[LIMIT_NPROC].hard == 200);
        cr_assert(w->limits[LIMIT_CORE].soft == 0 && w->limits[LIMIT_CORE].hard == 0);
        cr_assert(w->limits[LIMIT_AS].soft == 4ULL << 30 && w->limits[LIMIT_AS].hard == CFG_INFINITY);
        cr_assert(w->limits[LIMIT_CPU].soft == 61 && w->limits[LIMIT_CPU].hard == 61, "seconds, rounded up");
        cr_assert(w->set_nice && w->nice == -5);
        cr_assert_eq(w->umask, 0077);
        config_free(c);

        c = ok(SOCK_S WORKER_W);
        w = &c->workers[0];
        for (size_t i = 0; i < _LIMIT_MAX; i++)
                cr_assert(!w->limits[i].set, "no limit unless asked");
        cr_assert(!w->set_nice);
        cr_assert_eq(w->umask, 0022, "as systemd's UMask=");
        cr_assert(w->memory_max == CFG_INFINITY && w->pids_max == CFG_INFINITY && w->cpu_weight == 0);
        cr_assert_eq(w->cgroup_line, 0);
        config_free(c);

        bad_one(SOCK_S WORKER_W "limit-nofile = 20:10\n", 6, "limit-nofile: '20:10' has a soft limit above its hard limit");
        bad_one(SOCK_S WORKER_W "limit-nofile = lots\n", 6,
                "limit-nofile: 'lots' is not a number, infinity, or SOFT:HARD of them");
        bad_one(SOCK_S WORKER_W "limit-as = 4GB\n", 6,
                "limit-as: '4GB' is not a size (e.g. 4G), infinity, or SOFT:HARD of them");
        bad_one(SOCK_S WORKER_W "limit-cpu = 1:2:3\n", 6,
                "limit-cpu: '1:2:3' is not a duration (e.g. 30s, 1min), infinity, or SOFT:HARD of them");
        bad_one(SOCK_S WORKER_W "nice = 20\n", 6, "nice: '20' is not a number from -20 to 19");
        bad_one(SOCK_S WORKER_W "nice = -21\n", 6, "nice: '-21' is not a number from -20 to 19");
        bad_one(SOCK_S WORKER_W "nice = +1\n", 6, "nice: '+1' is not a number from -20 to 19");
        bad_one(SOCK_S WORKER_W "umask = 01000\n", 6, "umask: '01000' is not an octal mode from 0000 to 0777");
        bad_one(SOCK_S WORKER_W "umask = 0888\n", 6, "umask: '0888' is not an octal mode from 0000 to 0777");
}

Test(config, cgroup_keys_keep_the_line_of_the_first)
{
        struct config *c = ok(SOCK_S WORKER_W "nice = 1\npids-max = 64\nmemory-max = 512M\ncpu-weight = 50\n");
        const struct cfg_worker *w = &c->workers[0];

        cr_assert_eq(w->pids_max, 64);
        cr_assert_eq(w->memory_max, 512ULL << 20);
        cr_assert_eq(w->cpu_weight, 50);
        cr_assert_eq(w->cgroup_line, 7, "the daemon's error without a delegated cgroup names it");
        cr_assert_str_eq(w->cgroup_key, "pids-max");
        config_free(c);
        c = ok(SOCK_S WORKER_W "memory-max = infinity\n");
        cr_assert_eq(c->workers[0].memory_max, CFG_INFINITY);
        cr_assert_eq(c->workers[0].cgroup_line, 6, "set, even to infinity, it asks for a cgroup");
        config_free(c);
        bad_one(SOCK_S WORKER_W "memory-max = 1.5G\n", 6, "memory-max: '1.5G' is not a size (e.g. 512M, 2G) or infinity");
        bad_one(SOCK_S WORKER_W "pids-max = 0\n", 6, "pids-max: '0' is not a number from 1, or infinity");
        bad_one(SOCK_S WORKER_W "cpu-weight = 0\n", 6, "cpu-weight: '0' is not a number from 1 to 10000");
        bad_one(SOCK_S WORKER_W "cpu-weight = 10001\n", 6, "cpu-weight: '10001' is not a number from 1 to 10000");
}
