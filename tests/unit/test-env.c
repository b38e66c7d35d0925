/* The base environment of a worker's processes: the daemon's own less the
 * names unixsockd sets, environment=, user='s USER/LOGNAME/HOME/SHELL, the
 * default PATH; in that order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process/env.h"

#define E(...) ((char *const[]){ __VA_ARGS__, NULL })

static const char *show(char *const *v)
{
        static char buf[8192];
        size_t o = 0;

        buf[0] = '\0';
        for (; v && *v && o < sizeof(buf); v++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "  %s\n", *v);
        return buf;
}

/* env_build(from, config_env, user) is exactly want, in order. */
static void expect(char *const *from, char *const *config_env, const struct env_user *user,
                   const char *const *want)
{
        size_t n = 12345, nwant = 0;
        char **got = env_build(from, config_env, user, &n);

        cr_assert_not_null(got);
        while (want[nwant])
                nwant++;
        cr_assert_eq(n, nwant, "%zu entries, expected %zu:\n%s", n, nwant, show(got));
        for (size_t i = 0; i < nwant; i++)
                cr_assert_str_eq(got[i], want[i], "entry %zu of:\n%s", i, show(got));
        cr_assert_null(got[n], "NULL-terminated");
        env_free(got);
}

#define WANT(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static const struct env_user nobody = { .name = "nobody", .home = "/nonexistent", .shell = "/usr/sbin/nologin" };

/* ---- the daemon's environment -------------------------------------------- */

Test(env, the_daemons_environment_is_passed_on_in_order)
{
        expect(E("PATH=/bin", "LANG=C.UTF-8", "TZ=UTC"), NULL, NULL,
               WANT("PATH=/bin", "LANG=C.UTF-8", "TZ=UTC"));
}

Test(env, names_the_service_manager_sets_for_the_daemon_are_dropped)
{
        expect(E("A=1", "NOTIFY_SOCKET=/run/systemd/notify", "LISTEN_FDS=3", "LISTEN_PID=1",
                 "LISTEN_FDNAMES=a:b", "WATCHDOG_USEC=30000000", "WATCHDOG_PID=1",
                 "JOURNAL_STREAM=8:12345", "B=2"),
               NULL, NULL, WANT("A=1", "B=2"));
}

Test(env, names_unixsockd_sets_per_connection_are_dropped)
{
        expect(E("PROTO=UNIX", "UNIXLOCALPATH=/run/x.sock", "UNIXREMOTEPID=1", "UNIXREMOTEEUID=0",
                 "UNIXREMOTEEGID=0", "KEEP=1"),
               NULL, NULL, WANT("KEEP=1"));
}

Test(env, every_unixsockd_name_is_dropped)
{
        expect(E("UNIXSOCKD_SOCKET=s", "UNIXSOCKD_CHANNEL=3", "UNIXSOCKD_anything=x", "UNIXSOCKD_FUTURE=",
                 "KEEP=1"),
               NULL, NULL, WANT("KEEP=1"));
}

Test(env, names_that_only_begin_like_a_reserved_one_are_kept)
{
        expect(E("LISTEN_FDS_EXTRA=1", "NOTIFY_SOCKETS=2", "PROTOCOL=3", "XPROTO=4", "UNIXSOCKD=5",
                 "UNIXSOCK_X=6", "WATCHDOG=7"),
               NULL, NULL,
               WANT("LISTEN_FDS_EXTRA=1", "NOTIFY_SOCKETS=2", "PROTOCOL=3", "XPROTO=4", "UNIXSOCKD=5",
                    "UNIXSOCK_X=6", "WATCHDOG=7"));
}

Test(env, a_reserved_name_with_an_empty_value_is_dropped_too)
{
        expect(E("NOTIFY_SOCKET=", "A="), NULL, NULL, WANT("A="));
}

/* ---- environment= -------------------------------------------------------- */

Test(env, environment_comes_after_the_daemons)
{
        expect(E("A=1", "B=2"), E("C=3", "D=4"), NULL, WANT("A=1", "B=2", "C=3", "D=4"));
}

Test(env, environment_overrides_the_daemons_value_of_a_name)
{
        expect(E("A=1", "FOO=daemon", "B=2"), E("FOO=config"), NULL, WANT("A=1", "B=2", "FOO=config"));
}

Test(env, an_empty_value_in_environment_overrides_too)
{
        expect(E("FOO=daemon", "A=1"), E("FOO="), NULL, WANT("A=1", "FOO="));
}

Test(env, environment_overrides_only_the_same_name_not_a_prefix_or_extension)
{
        expect(E("FO=1", "FOO=2", "FOOBAR=3"), E("FOO=x"), NULL, WANT("FO=1", "FOOBAR=3", "FOO=x"));
}

Test(env, a_reserved_name_in_environment_is_dropped)
{
        expect(E("A=1"), E("NOTIFY_SOCKET=/x", "C=3", "LISTEN_FDS=9", "UNIXSOCKD_X=1"), NULL,
               WANT("A=1", "C=3"));
}

Test(env, a_reserved_name_in_both_is_dropped_from_both)
{
        expect(E("JOURNAL_STREAM=1:2", "A=1"), E("JOURNAL_STREAM=3:4"), NULL, WANT("A=1"));
}

Test(env, an_empty_environment_list_changes_nothing)
{
        expect(E("A=1"), ((char *const[]){ NULL }), NULL, WANT("A=1"));
}

Test(env, environment_alone_without_the_daemons)
{
        expect(NULL, E("X=1"), NULL, WANT("X=1"));
}

/* ---- user= --------------------------------------------------------------- */

Test(env, user_gives_user_logname_home_shell_replacing_the_daemons)
{
        expect(E("USER=root", "A=1", "LOGNAME=root", "HOME=/root", "SHELL=/bin/bash"), NULL, &nobody,
               WANT("A=1", "USER=nobody", "LOGNAME=nobody", "HOME=/nonexistent",
                    "SHELL=/usr/sbin/nologin"));
}

Test(env, user_gives_its_names_when_the_daemon_has_none)
{
        expect(NULL, NULL, &nobody,
               WANT("USER=nobody", "LOGNAME=nobody", "HOME=/nonexistent", "SHELL=/usr/sbin/nologin"));
}

Test(env, without_user_the_daemons_user_and_home_are_kept)
{
        expect(E("USER=root", "HOME=/root"), NULL, NULL, WANT("USER=root", "HOME=/root"));
}

Test(env, environment_beats_user_for_a_name_it_sets)
{
        expect(E("HOME=/root", "USER=root", "A=1"), E("HOME=/srv/app"), &nobody,
               WANT("A=1", "HOME=/srv/app", "USER=nobody", "LOGNAME=nobody", "SHELL=/usr/sbin/nologin"));
}

Test(env, environment_may_set_all_four_over_user)
{
        expect(E("USER=root"), E("USER=u", "LOGNAME=l", "HOME=/h", "SHELL=/s"), &nobody,
               WANT("USER=u", "LOGNAME=l", "HOME=/h", "SHELL=/s"));
}

Test(env, a_null_or_empty_shell_is_not_set_and_the_daemons_is_dropped_all_the_same)
{
        const struct env_user null_shell = { .name = "app", .home = "/home/app", .shell = NULL };
        const struct env_user empty_shell = { .name = "app", .home = "/home/app", .shell = "" };

        expect(E("SHELL=/bin/bash", "A=1"), NULL, &null_shell,
               WANT("A=1", "USER=app", "LOGNAME=app", "HOME=/home/app"));
        expect(E("SHELL=/bin/bash", "A=1"), NULL, &empty_shell,
               WANT("A=1", "USER=app", "LOGNAME=app", "HOME=/home/app"));
}

Test(env, a_null_or_empty_home_is_not_set)
{
        const struct env_user null_home = { .name = "app", .home = NULL, .shell = "/bin/sh" };
        const struct env_user empty_home = { .name = "app", .home = "", .shell = "/bin/sh" };

        expect(E("HOME=/root"), NULL, &null_home, WANT("USER=app", "LOGNAME=app", "SHELL=/bin/sh"));
        expect(E("HOME=/root"), NULL, &empty_home, WANT("USER=app", "LOGNAME=app", "SHELL=/bin/sh"));
}

Test(env, a_null_name_sets_neither_user_nor_logname)
{
        const struct env_user anon = { .name = NULL, .home = "/h", .shell = "/s" };

        expect(E("USER=root", "LOGNAME=root"), NULL, &anon, WANT("HOME=/h", "SHELL=/s"));
}

Test(env, names_like_user_but_longer_are_not_replaced_by_user)
{
        expect(E("USERNAME=root", "HOMEDIR=/root", "SHELLOPTS=x"), NULL, &nobody,
               WANT("USERNAME=root", "HOMEDIR=/root", "SHELLOPTS=x", "USER=nobody", "LOGNAME=nobody",
                    "HOME=/nonexistent", "SHELL=/usr/sbin/nologin"));
}

/* ---- PATH, order, NULL --------------------------------------------------- */

Test(env, nothing_at_all_gives_the_default_path)
{
        expect(NULL, NULL, NULL, WANT(ENV_DEFAULT_PATH));
}

Test(env, only_reserved_names_give_the_default_path)
{
        expect(E("NOTIFY_SOCKET=/x", "LISTEN_FDS=1"), E("UNIXSOCKD_X=1"), NULL, WANT(ENV_DEFAULT_PATH));
}

Test(env, the_default_path_is_the_usual_one)
{
        cr_assert_str_eq(ENV_DEFAULT_PATH, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

Test(env, a_non_empty_result_without_path_gets_no_default_path)
{
        expect(E("A=1"), NULL, NULL, WANT("A=1"));
        expect(NULL, E("B=2"), NULL, WANT("B=2"));
        expect(NULL, NULL, &nobody,
               WANT("USER=nobody", "LOGNAME=nobody", "HOME=/nonexistent", "SHELL=/usr/sbin/nologin"));
}

Test(env, order_is_the_daemons_then_environment_then_users)
{
        expect(E("D1=1", "HOME=/root", "D2=2", "OVR=d", "D3=3"), E("C1=1", "OVR=c", "C2=2"), &nobody,
               WANT("D1=1", "D2=2", "D3=3", "C1=1", "OVR=c", "C2=2", "USER=nobody", "LOGNAME=nobody",
                    "HOME=/nonexistent", "SHELL=/usr/sbin/nologin"));
}

Test(env, a_long_environment_is_kept_whole_and_in_order)
{
        char *from[201], *want[201];
        char bufs[200][16];

        for (int i = 0; i < 200; i++) {
                snprintf(bufs[i], sizeof(bufs[i]), "V%03d=%d", i, i);
                from[i] = want[i] = bufs[i];
        }
        from[200] = want[200] = NULL;
        expect(from, NULL, NULL, (const char *const *)want);
}

Test(env, the_strings_are_copies)
{
        char a[] = "A=1";
        char *const from[] = { a, NULL };
        size_t n;
        char **got = env_build(from, NULL, NULL, &n);

        cr_assert_not_null(got);
        cr_assert_neq(got[0], a);
        a[2] = '9';
        cr_assert_str_eq(got[0], "A=1");
        env_free(got);
}

Test(env, env_free_of_null_does_not_crash)
{
        env_free(NULL);
}
