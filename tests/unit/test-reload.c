/* The reload plan: from the old and the new configuration alone, which
 * sockets keep their listener (and queue), which take an old listener over,
 * which listen anew, which workers keep their processes and which are replaced. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "reload.h"

#include "helpers.h"

#define RD "/run/test-usd"
#define STD_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void setup(void)
{
        setenv("RUNTIME_DIRECTORY", RD, 1);
        setenv("PATH", STD_PATH, 1);
        unsetenv("XDG_RUNTIME_DIR");
}

TestSuite(reload, .init = setup, .timeout = 30);
TestSuite(reload_worker_unchanged, .init = setup, .timeout = 30);

static void print_err(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        cr_log_error("%s:%u: %s", file, line, msg);
}

static struct config *cfg(const char *text)
{
        struct config *c = NULL;
        int r = config_load_string("t.conf", text, strlen(text), print_err, NULL, &c);

        cr_assert_eq(r, 0, "config does not load (%d):\n%s", r, text);
        cr_assert_not_null(c);
        return c;
}

#define SOCK(name, path, worker) "[socket:" name "]\npath = " RD "/" path "\nworker = " worker "\n"
#define WORKER(name) "[worker:" name "]\ncommand = /bin/cat\n"

/* a -> w (spawn), b -> v (pool) */
#define BASE SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "v") WORKER("w") WORKER("v") "dispatch = pool\n"

struct fixture {
        struct config *old, *next;
        struct reload_plan p;
};

static void plan(struct fixture *f, const char *old, const char *next)
{
        f->old = cfg(old);
        f->next = cfg(next);
        cr_assert_eq(reload_plan(f->old, f->next, &f->p), 0);
}

static void done(struct fixture *f)
{
        reload_plan_free(&f->p);
        config_free(f->old);
        config_free(f->next);
}

static void counts(const struct fixture *f, unsigned new, unsigned closed, unsigned replaced)
{
        cr_assert_eq(f->p.sockets_new, new, "sockets_new %u, expected %u", f->p.sockets_new, new);
        cr_assert_eq(f->p.sockets_closed, closed, "sockets_closed %u, expected %u", f->p.sockets_closed, closed);
        cr_assert_eq(f->p.workers_replaced, replaced, "workers_replaced %u, expected %u", f->p.workers_replaced,
                     replaced);
}

/* ---- nothing changed ------------------------------------------------------ */

Test(reload, an_identical_configuration_keeps_every_socket_and_worker)
{
        struct fixture f;

        plan(&f, BASE, BASE);
        counts(&f, 0, 0, 0);
        for (size_t i = 0; i < 2; i++) {
                cr_assert_eq(f.p.worker_from[i], i + 1, "worker %zu", i);
                cr_assert_eq(f.p.socket_from[i], i + 1, "socket %zu", i);
                cr_assert_eq(f.p.socket_takes[i], 0, "socket %zu", i);
                cr_assert(f.p.worker_kept[i]);
                cr_assert(f.p.socket_kept[i]);
        }
        done(&f);
}

Test(reload, socket_settings_other_than_the_path_keep_the_socket_and_its_worker)
{
        struct fixture f;

        plan(&f, BASE,
             SOCK("a", "a.sock", "w") "mode = 0600\nbacklog = 7\nallow-users = 0\nrate-limit = 5/1s\n"
             SOCK("b", "b.sock", "v") WORKER("w") WORKER("v") "dispatch = pool\n");
        counts(&f, 0, 0, 0);
        cr_assert_eq(f.p.socket_from[0], 1);
        cr_assert_eq(f.p.worker_from[0], 1);
        done(&f);
}

/* ---- a worker changes ----------------------------------------------------- */

#define CAT "command = /bin/cat\n"
#define WITH_W SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "v") "[worker:w]\n%s" WORKER("v") "dispatch = pool\n"

/* Worker w of BASE with the body old, then new: replaced, its socket kept. */
static void worker_change_replaces(const char *old, const char *new)
{
        struct fixture f;

        plan(&f, fmt(WITH_W, old), fmt(WITH_W, new));
        cr_assert_eq(f.p.worker_from[0], 0, "'%s' -> '%s': worker w kept", old, new);
        cr_assert_not(f.p.worker_kept[0]);
        cr_assert_eq(f.p.worker_from[1], 2, "the other worker is kept");
        cr_assert(f.p.worker_kept[1]);
        cr_assert_eq(f.p.socket_from[0], 1, "'%s' -> '%s': its socket is kept", old, new);
        cr_assert_eq(f.p.socket_from[1], 2);
        cr_assert(f.p.socket_kept[0]);
        counts(&f, 0, 0, 1);
        done(&f);
}

Test(reload, a_changed_command_argument_replaces_the_worker_and_keeps_its_socket)
{
        worker_change_replaces(CAT, "command = /bin/cat -u\n");
}

Test(reload, a_changed_executable_replaces_the_worker)
{
        worker_change_replaces(CAT, "command = /bin/true\n");
}

Test(reload, changed_instances_replace_the_worker)
{
        worker_change_replaces(CAT "instances = 4\n", CAT "instances = 5\n");
}

Test(reload, a_changed_dispatch_replaces_the_worker)
{
        worker_change_replaces(CAT, CAT "dispatch = pool\n");
}

Test(reload, a_changed_max_per_user_replaces_the_worker)
{
        worker_change_replaces(CAT, CAT "max-per-user = 3\n");
}

Test(reload, a_new_user_replaces_the_worker)
{
        worker_change_replaces(CAT, CAT "user = 4242\n");
}

Test(reload, a_changed_user_replaces_the_worker)
{
        worker_change_replaces(CAT "user = 4242\n", CAT "user = 4243\n");
}

Test(reload, a_changed_group_replaces_the_worker)
{
        worker_change_replaces(CAT "user = 4242\n", CAT "user = 4242\ngroup = 4343\n");
}

Test(reload, a_changed_environment_value_replaces_the_worker)
{
        worker_change_replaces(CAT "environment = A=1\n", CAT "environment = A=2\n");
}

Test(reload, an_added_environment_variable_replaces_the_worker)
{
        worker_change_replaces(CAT "environment = A=1\n", CAT "environment = A=1 B=2\n");
}

Test(reload, a_removed_environment_replaces_the_worker)
{
        worker_change_replaces(CAT "environment = A=1\n", CAT);
}

Test(reload, a_changed_working_directory_replaces_the_worker)
{
        worker_change_replaces(CAT, CAT "working-directory = /tmp\n");
}

Test(reload, a_changed_restart_policy_replaces_the_worker)
{
        worker_change_replaces(CAT "dispatch = pool\n", CAT "dispatch = pool\nrestart = always\n");
}

Test(reload, a_changed_restart_delay_replaces_the_worker)
{
        worker_change_replaces(CAT "dispatch = pool\n", CAT "dispatch = pool\nrestart-delay = 1s\n");
}

Test(reload, a_changed_restart_delay_max_replaces_the_worker)
{
        worker_change_replaces(CAT "dispatch = pool\n", CAT "dispatch = pool\nrestart-delay-max = 1min\n");
}

Test(reload, a_changed_listen_fds_replaces_the_worker)
{
        worker_change_replaces(CAT, CAT "listen-fds = yes\n");
}

Test(reload, the_same_settings_written_otherwise_keep_the_worker)
{
        struct fixture f;

        plan(&f, BASE,
             SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "v") "[worker:w]\n# a comment\ncommand =   /bin/cat  \n"
             "dispatch = spawn\n" WORKER("v") "dispatch = pool\nrestart-delay = 100ms\n");
        counts(&f, 0, 0, 0);
        cr_assert_eq(f.p.worker_from[0], 1);
        cr_assert_eq(f.p.worker_from[1], 2);
        done(&f);
}

Test(reload, a_renamed_worker_is_a_new_one)
{
        struct fixture f;

        plan(&f, BASE, SOCK("a", "a.sock", "w2") SOCK("b", "b.sock", "v") WORKER("w2") WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.worker_from[1], 2);
        cr_assert_eq(f.p.socket_from[0], 1, "the socket is kept, now naming w2");
        counts(&f, 0, 0, 1);
        done(&f);
}

/* ---- a socket changes ----------------------------------------------------- */

Test(reload, a_socket_whose_path_changes_is_new_and_the_old_one_closes)
{
        struct fixture f;

        plan(&f, BASE, SOCK("a", "a2.sock", "w") SOCK("b", "b.sock", "v") WORKER("w") WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.socket_from[0], 0);
        cr_assert_eq(f.p.socket_takes[0], 0, "a new path: it listens anew");
        cr_assert_not(f.p.socket_kept[0]);
        cr_assert_eq(f.p.socket_from[1], 2);
        cr_assert_eq(f.p.worker_from[0], 1, "the worker is named by the same socket names: kept");
        counts(&f, 1, 1, 0);
        done(&f);
}

Test(reload, a_socket_whose_type_changes_replaces_the_old_ones_file)
{
        struct fixture f;

        plan(&f, BASE, SOCK("a", "a.sock", "w") "type = seqpacket\n" SOCK("b", "b.sock", "v") WORKER("w")
                       WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.socket_from[0], 0, "another type: not the same listener");
        cr_assert_eq(f.p.socket_takes[0], 0, "nor one it can take over");
        cr_assert_eq(f.p.socket_replaces[0], 1, "it replaces the file of old a");
        cr_assert_not(f.p.socket_kept[0]);
        cr_assert_eq(f.p.socket_from[1], 2);
        cr_assert_eq(f.p.socket_replaces[1], 0);
        cr_assert_eq(f.p.worker_from[0], 1, "the same socket names: the worker is kept");
        counts(&f, 1, 1, 0);
        done(&f);
}

/* Its processes hold the listening socket itself: kept, they would serve the
 * old one, which closes, while the new one waits for them to exit. */
Test(reload, a_listener_worker_is_replaced_when_one_of_its_sockets_is_not_kept)
{
        struct fixture f;
#define LW WORKER("w") "dispatch = listener\n"

        plan(&f, SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "w") LW,
             SOCK("a", "a.sock", "w") "type = seqpacket\n" SOCK("b", "b.sock", "w") LW);
        cr_assert_eq(f.p.worker_from[0], 0, "a's type changed");
        counts(&f, 1, 1, 1);
        done(&f);
        plan(&f, SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "w") LW,
             SOCK("a", "a.sock", "w") SOCK("b", "b2.sock", "w") LW);
        cr_assert_eq(f.p.worker_from[0], 0, "b's path changed");
        done(&f);
        plan(&f, SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "w") LW,
             SOCK("a", "a.sock", "w") "backlog = 5\n" SOCK("b", "b.sock", "w") LW);
        cr_assert_eq(f.p.worker_from[0], 1, "both kept: the worker too");
        counts(&f, 0, 0, 0);
        done(&f);
        /* a spawn or pool worker gets connections, never the socket: kept */
        plan(&f, BASE, SOCK("a", "a.sock", "w") "type = seqpacket\n" SOCK("b", "b.sock", "v") "type = seqpacket\n"
                       WORKER("w") WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.worker_from[0], 1);
        cr_assert_eq(f.p.worker_from[1], 2);
        done(&f);
#undef LW
}

Test(reload, a_renamed_socket_of_another_type_replaces_rather_than_takes_over)
{
        struct fixture f;

        plan(&f, BASE, SOCK("a2", "a.sock", "w") "type = seqpacket\n" SOCK("b", "b.sock", "v") WORKER("w")
                       WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.socket_takes[0], 0);
        cr_assert_eq(f.p.socket_replaces[0], 1);
        done(&f);
}

Test(reload, the_same_type_written_out_keeps_the_socket)
{
        struct fixture f;

        plan(&f, BASE, SOCK("a", "a.sock", "w") "type = stream\n" SOCK("b", "b.sock", "v") WORKER("w")
                       WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.socket_from[0], 1, "stream is the default");
        cr_assert_eq(f.p.socket_replaces[0], 0);
        counts(&f, 0, 0, 0);
        done(&f);
}

Test(reload, a_socket_renamed_on_the_same_path_takes_over_the_old_listener)
{
        struct fixture f;

        plan(&f, BASE, SOCK("a2", "a.sock", "w") SOCK("b", "b.sock", "v") WORKER("w") WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.socket_from[0], 0, "another name: not the same socket");
        cr_assert_eq(f.p.socket_takes[0], 1, "it takes the listener of old a");
        cr_assert_not(f.p.socket_kept[0]);
        cr_assert_eq(f.p.socket_from[1], 2);
        cr_assert_eq(f.p.socket_takes[1], 0, "a kept socket takes nothing");
        /* its worker is named by another socket name now */
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.worker_from[1], 2);
        counts(&f, 1, 1, 1);
        done(&f);
}

Test(reload, two_sockets_swapping_paths_each_take_the_others_listener)
{
        struct fixture f;

        plan(&f, SOCK("a", "p.sock", "w") SOCK("b", "q.sock", "w") WORKER("w"),
             SOCK("a", "q.sock", "w") SOCK("b", "p.sock", "w") WORKER("w"));
        cr_assert_eq(f.p.socket_from[0], 0);
        cr_assert_eq(f.p.socket_from[1], 0);
        cr_assert_eq(f.p.socket_takes[0], 2, "new a on q.sock takes old b");
        cr_assert_eq(f.p.socket_takes[1], 1, "new b on p.sock takes old a");
        cr_assert_eq(f.p.worker_from[0], 1, "same names in the same order: the worker is kept");
        counts(&f, 2, 2, 0);
        done(&f);
}

Test(reload, two_renamed_sockets_each_take_the_listener_of_their_own_path)
{
        struct fixture f;

        plan(&f, SOCK("a", "p.sock", "w") SOCK("b", "q.sock", "w") WORKER("w"),
             SOCK("y", "q.sock", "w") SOCK("x", "p.sock", "w") WORKER("w"));
        cr_assert_eq(f.p.socket_takes[0], 2);
        cr_assert_eq(f.p.socket_takes[1], 1);
        counts(&f, 2, 2, 1);
        done(&f);
}

/* Two new sockets on the path of one old one (not a configuration the parser
 * gives; made by hand): only the first takes its listener. */
Test(reload, two_renamed_sockets_never_take_the_same_old_one)
{
        struct fixture f;

        f.old = cfg(SOCK("a", "p.sock", "w") WORKER("w"));
        f.next = cfg(SOCK("x", "p.sock", "w") SOCK("y", "q.sock", "w") WORKER("w"));
        free(f.next->sockets[1].path);
        f.next->sockets[1].path = strdup(RD "/p.sock");
        cr_assert_not_null(f.next->sockets[1].path);
        cr_assert_eq(reload_plan(f.old, f.next, &f.p), 0);
        cr_assert_eq(f.p.socket_takes[0], 1);
        cr_assert_eq(f.p.socket_takes[1], 0, "old a is taken already: y listens anew");
        counts(&f, 2, 1, 1);
        done(&f);
}

/* Same for two old sockets on one path: the second new one takes the second. */
Test(reload, two_old_sockets_on_one_path_go_one_to_each_renamed_socket)
{
        struct fixture f;

        f.old = cfg(SOCK("a", "p.sock", "w") SOCK("b", "q.sock", "w") WORKER("w"));
        free(f.old->sockets[1].path);
        f.old->sockets[1].path = strdup(RD "/p.sock");
        cr_assert_not_null(f.old->sockets[1].path);
        f.next = cfg(SOCK("x", "p.sock", "w") SOCK("y", "q.sock", "w") WORKER("w"));
        free(f.next->sockets[1].path);
        f.next->sockets[1].path = strdup(RD "/p.sock");
        cr_assert_not_null(f.next->sockets[1].path);
        cr_assert_eq(reload_plan(f.old, f.next, &f.p), 0);
        cr_assert_eq(f.p.socket_takes[0], 1);
        cr_assert_eq(f.p.socket_takes[1], 2);
        done(&f);
}

Test(reload, a_kept_socket_is_not_taken_over_by_a_renamed_one)
{
        struct fixture f;

        /* a stays; x has a's path (made by hand): a's listener is a's */
        f.old = cfg(SOCK("a", "p.sock", "w") WORKER("w"));
        f.next = cfg(SOCK("a", "p.sock", "w") SOCK("x", "q.sock", "w") WORKER("w"));
        free(f.next->sockets[1].path);
        f.next->sockets[1].path = strdup(RD "/p.sock");
        cr_assert_not_null(f.next->sockets[1].path);
        cr_assert_eq(reload_plan(f.old, f.next, &f.p), 0);
        cr_assert_eq(f.p.socket_from[0], 1);
        cr_assert_eq(f.p.socket_takes[1], 0);
        counts(&f, 1, 0, 1);
        done(&f);
}

Test(reload, a_renamed_socket_on_a_new_path_takes_nothing)
{
        struct fixture f;

        plan(&f, BASE, SOCK("c", "c.sock", "w") SOCK("b", "b.sock", "v") WORKER("w") WORKER("v") "dispatch = pool\n");
        cr_assert_eq(f.p.socket_from[0], 0);
        cr_assert_eq(f.p.socket_takes[0], 0);
        cr_assert_not(f.p.socket_kept[0]);
        counts(&f, 1, 1, 1);
        done(&f);
}

Test(reload, a_socket_moved_to_another_worker_is_kept_and_both_workers_are_replaced)
{
        struct fixture f;

        plan(&f, SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "v") SOCK("c", "c.sock", "v") WORKER("w") WORKER("v"),
             SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "v") SOCK("c", "c.sock", "w") WORKER("w") WORKER("v"));
        for (size_t i = 0; i < 3; i++)
                cr_assert_eq(f.p.socket_from[i], i + 1, "socket %zu", i);
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.worker_from[1], 0);
        counts(&f, 0, 0, 2);
        done(&f);
}

/* ---- the set of sockets of a worker changes ------------------------------- */

Test(reload, a_worker_that_gains_a_socket_is_replaced)
{
        struct fixture f;

        plan(&f, BASE, BASE SOCK("c", "c.sock", "w"));
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.worker_from[1], 2);
        cr_assert_eq(f.p.socket_from[0], 1);
        cr_assert_eq(f.p.socket_from[1], 2);
        cr_assert_eq(f.p.socket_from[2], 0);
        cr_assert_eq(f.p.socket_takes[2], 0);
        counts(&f, 1, 0, 1);
        done(&f);
}

Test(reload, a_worker_that_loses_a_socket_is_replaced)
{
        struct fixture f;

        plan(&f, BASE SOCK("c", "c.sock", "w"), BASE);
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.worker_from[1], 2);
        cr_assert(f.p.socket_kept[0]);
        cr_assert(f.p.socket_kept[1]);
        cr_assert_not(f.p.socket_kept[2]);
        counts(&f, 0, 1, 1);
        done(&f);
}

/* The order of a worker's sockets is the order of its listen fds. */
Test(reload, a_worker_whose_sockets_change_order_is_replaced)
{
        struct fixture f;

        plan(&f, SOCK("a", "a.sock", "w") SOCK("c", "c.sock", "w") WORKER("w"),
             SOCK("c", "c.sock", "w") SOCK("a", "a.sock", "w") WORKER("w"));
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.socket_from[0], 2);
        cr_assert_eq(f.p.socket_from[1], 1);
        counts(&f, 0, 0, 1);
        done(&f);
}

/* ---- order, additions, removals ------------------------------------------- */

Test(reload, reordered_sections_keep_everything)
{
        struct fixture f;

        plan(&f, BASE,
             WORKER("v") "dispatch = pool\n" SOCK("b", "b.sock", "v") WORKER("w") SOCK("a", "a.sock", "w"));
        /* new order: workers v, w; sockets b, a */
        cr_assert_eq(f.p.worker_from[0], 2, "new v is old v");
        cr_assert_eq(f.p.worker_from[1], 1, "new w is old w");
        cr_assert_eq(f.p.socket_from[0], 2, "new b is old b");
        cr_assert_eq(f.p.socket_from[1], 1, "new a is old a");
        cr_assert_eq(f.p.socket_takes[0], 0);
        cr_assert_eq(f.p.socket_takes[1], 0);
        cr_assert(f.p.worker_kept[0] && f.p.worker_kept[1]);
        cr_assert(f.p.socket_kept[0] && f.p.socket_kept[1]);
        counts(&f, 0, 0, 0);
        done(&f);
}

Test(reload, removing_everything_but_one_keeps_that_one)
{
        struct fixture f;

        plan(&f,
             SOCK("a", "a.sock", "w") SOCK("b", "b.sock", "v") SOCK("c", "c.sock", "u") WORKER("w") WORKER("v")
             WORKER("u"),
             SOCK("b", "b.sock", "v") WORKER("v"));
        cr_assert_eq(f.p.worker_from[0], 2);
        cr_assert_eq(f.p.socket_from[0], 2);
        cr_assert_eq(f.p.socket_takes[0], 0);
        cr_assert_not(f.p.worker_kept[0]);
        cr_assert(f.p.worker_kept[1]);
        cr_assert_not(f.p.worker_kept[2]);
        cr_assert_not(f.p.socket_kept[0]);
        cr_assert(f.p.socket_kept[1]);
        cr_assert_not(f.p.socket_kept[2]);
        counts(&f, 0, 2, 2);
        done(&f);
}

Test(reload, added_sockets_and_workers_are_new_and_replace_nothing)
{
        struct fixture f;

        plan(&f, BASE, BASE SOCK("c", "c.sock", "u") WORKER("u"));
        cr_assert_eq(f.p.worker_from[0], 1);
        cr_assert_eq(f.p.worker_from[1], 2);
        cr_assert_eq(f.p.worker_from[2], 0);
        cr_assert_eq(f.p.socket_from[2], 0);
        cr_assert_eq(f.p.socket_takes[2], 0);
        counts(&f, 1, 0, 0);
        done(&f);
}

Test(reload, everything_replaced_by_other_names_and_paths)
{
        struct fixture f;

        plan(&f, BASE, SOCK("x", "x.sock", "z") WORKER("z"));
        cr_assert_eq(f.p.worker_from[0], 0);
        cr_assert_eq(f.p.socket_from[0], 0);
        cr_assert_eq(f.p.socket_takes[0], 0);
        cr_assert_not(f.p.worker_kept[0] || f.p.worker_kept[1]);
        cr_assert_not(f.p.socket_kept[0] || f.p.socket_kept[1]);
        counts(&f, 1, 2, 2);
        done(&f);
}

/* A file of many sections, planned against itself with a few changes: the
 * plan is the same whatever the size (it no longer compares every pair). */
Test(reload, thousands_of_sockets_and_workers_are_planned_one_by_one)
{
        enum { N = 3000 };
        struct fixture f;
        char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);

        cr_assert(fa && fb);
        for (int i = 0; i < N; i++) {
                fprintf(fa, SOCK("s%d", "s%d.sock", "w%d") WORKER("w%d"), i, i, i, i);
                if (i == 10)            /* renamed on the same path: takes s10's listener */
                        fprintf(fb, SOCK("r%d", "s%d.sock", "w%d"), i, i, i);
                else if (i == 20)       /* a new path: new, and s20 closes */
                        fprintf(fb, SOCK("s%d", "t%d.sock", "w%d"), i, i, i);
                else
                        fprintf(fb, SOCK("s%d", "s%d.sock", "w%d"), i, i, i);
                if (i == 30)            /* another command: replaced */
                        fprintf(fb, "[worker:w%d]\ncommand = /bin/cat -u\n", i);
                else
                        fprintf(fb, WORKER("w%d"), i);
        }
        fclose(fa);
        fclose(fb);
        plan(&f, a, b);
        for (size_t i = 0; i < N; i++) {
                cr_assert_eq(f.p.socket_from[i], i == 10 || i == 20 ? 0 : i + 1, "socket %zu", i);
                cr_assert_eq(f.p.socket_takes[i], i == 10 ? 11 : 0, "socket %zu", i);
                /* a worker whose socket was renamed is named by other sockets: replaced too */
                cr_assert_eq(f.p.worker_from[i], i == 10 || i == 30 ? 0 : i + 1, "worker %zu", i);
        }
        counts(&f, 2, 2, 2);
        done(&f);
        free(a);
        free(b);
}

Test(reload, reload_plan_free_leaves_an_empty_plan)
{
        struct fixture f;

        plan(&f, BASE, BASE);
        reload_plan_free(&f.p);
        cr_assert_null(f.p.worker_from);
        cr_assert_null(f.p.socket_from);
        cr_assert_null(f.p.socket_takes);
        cr_assert_null(f.p.worker_kept);
        cr_assert_null(f.p.socket_kept);
        cr_assert_eq(f.p.sockets_new + f.p.sockets_closed + f.p.workers_replaced, 0);
        done(&f);              /* a second free is harmless */
}

/* ---- reload_worker_unchanged, field by field ------------------------------ */

static struct config *wcfg;

static void wsetup(void)
{
        setup();
        wcfg = cfg(SOCK("a", "a.sock", "w") "[worker:w]\ncommand = /bin/cat -u\ndispatch = pool\ninstances = 3\n"
                   "max-per-user = 2\nuser = 4242\ngroup = 4343\nenvironment = A=1 B=2\n"
                   "working-directory = /tmp\nrestart = always\nrestart-delay = 1s\nrestart-delay-max = 1min\n");
}

static void wteardown(void)
{
        config_free(wcfg);
}

#define A (&wcfg->workers[0])

Test(reload_worker_unchanged, a_worker_is_unchanged_from_itself_and_from_a_copy, .init = wsetup,
     .fini = wteardown)
{
        struct config *other = cfg(SOCK("a", "a.sock", "w") "[worker:w]\ncommand = /bin/cat -u\n"
                                       "dispatch = pool\ninstances = 3\nmax-per-user = 2\nuser = 4242\n"
                                       "group = 4343\nenvironment = A=1 B=2\nworking-directory = /tmp\n"
                                       "restart = always\nrestart-delay = 1s\nrestart-delay-max = 1min\n");

        cr_assert(reload_worker_unchanged(A, A));
        cr_assert(reload_worker_unchanged(A, &other->workers[0]));
        cr_assert(reload_worker_unchanged(&other->workers[0], A));
        config_free(other);
}

/* b = a with one change; reload_worker_unchanged(a, b) and (b, a) are want. */
#define CHANGED(want, ...)                                                                 \
        do {                                                                               \
                struct cfg_worker b = *A;                                                  \
                __VA_ARGS__;                                                               \
                cr_assert_eq(reload_worker_unchanged(A, &b), want, "%s", #__VA_ARGS__);    \
                cr_assert_eq(reload_worker_unchanged(&b, A), want, "%s (b, a)", #__VA_ARGS__); \
        } while (0)

Test(reload_worker_unchanged, the_name, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.name = "w2");
        CHANGED(true, b.name = strdupa("w"));
}

Test(reload_worker_unchanged, the_executable, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.exec_path = "/bin/tac");
        CHANGED(true, b.exec_path = strdupa("/bin/cat"));
}

Test(reload_worker_unchanged, an_argument, .init = wsetup, .fini = wteardown)
{
        char *longer[] = { "/bin/cat", "-u", "-v", NULL };
        char *shorter[] = { "/bin/cat", NULL };
        char *other[] = { "/bin/cat", "-v", NULL };
        char *argv0[] = { "cat", "-u", NULL };
        char *same[] = { "/bin/cat", "-u", NULL };

        CHANGED(false, b.argv = longer);
        CHANGED(false, b.argv = shorter);
        CHANGED(false, b.argv = other);
        CHANGED(false, b.argv = argv0);
        CHANGED(true, b.argv = same);
}

Test(reload_worker_unchanged, the_dispatch, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.dispatch = DISPATCH_SPAWN);
        CHANGED(false, b.dispatch = DISPATCH_LISTENER);
}

Test(reload_worker_unchanged, instances, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.instances = 4);
}

Test(reload_worker_unchanged, max_per_user, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.max_per_user = 0);
        CHANGED(false, b.max_per_user = 3);
}

Test(reload_worker_unchanged, user_and_group_settings, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.set_user = false);
        CHANGED(false, b.set_group = false);
        CHANGED(false, b.uid = 4243);
        CHANGED(false, b.gid = 4344);
}

Test(reload_worker_unchanged, the_user_name_as_written_does_not_count, .init = wsetup, .fini = wteardown)
{
        CHANGED(true, b.user_name = "someone");
}

Test(reload_worker_unchanged, supplementary_groups, .init = wsetup, .fini = wteardown)
{
        gid_t g1[] = { 10 }, g2[] = { 10, 20 }, g3[] = { 10, 21 }, g4[] = { 10, 20 };
        struct cfg_worker a2 = *A;

        /* A has none; with some it differs */
        CHANGED(false, b.groups = g1; b.n_groups = 1);
        a2.groups = g2;
        a2.n_groups = 2;
        {
                struct cfg_worker b = a2;
                b.groups = g3;
                cr_assert_not(reload_worker_unchanged(&a2, &b), "one group differs");
                b.groups = g4;
                cr_assert(reload_worker_unchanged(&a2, &b), "the same groups in another array");
                b.groups = g2;
                b.n_groups = 1;
                cr_assert_not(reload_worker_unchanged(&a2, &b), "fewer groups");
        }
}

Test(reload_worker_unchanged, the_environment, .init = wsetup, .fini = wteardown)
{
        char *more[] = { "A=1", "B=2", "C=3", NULL };
        char *fewer[] = { "A=1", NULL };
        char *value[] = { "A=1", "B=3", NULL };
        char *order[] = { "B=2", "A=1", NULL };
        char *none[] = { NULL };
        char *same[] = { "A=1", "B=2", NULL };

        CHANGED(false, b.env = more);
        CHANGED(false, b.env = fewer);
        CHANGED(false, b.env = value);
        CHANGED(false, b.env = order);
        CHANGED(false, b.env = none);
        CHANGED(true, b.env = same);
}

Test(reload_worker_unchanged, the_working_directory, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.working_directory = NULL);
        CHANGED(false, b.working_directory = "/srv");
        CHANGED(true, b.working_directory = strdupa("/tmp"));
}

Test(reload_worker_unchanged, no_working_directory_on_either_side_is_the_same, .init = wsetup,
     .fini = wteardown)
{
        struct cfg_worker a2 = *A, b = *A;

        a2.working_directory = NULL;
        b.working_directory = NULL;
        cr_assert(reload_worker_unchanged(&a2, &b));
}

Test(reload_worker_unchanged, restart_settings, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.restart = RESTART_ON_FAILURE);
        CHANGED(false, b.restart = RESTART_NEVER);
        CHANGED(false, b.restart_delay_usec = 1000001);
        CHANGED(false, b.restart_delay_max_usec = 59000000);
}

Test(reload_worker_unchanged, listen_fds, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.listen_fds = !A->listen_fds);
}

Test(reload_worker_unchanged, the_line_of_its_section_does_not_count, .init = wsetup, .fini = wteardown)
{
        CHANGED(true, b.line = A->line + 10);
}

Test(reload_worker_unchanged, the_pool_size_recycling_and_time_limits, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.instances_min = 0);
        CHANGED(false, b.idle_timeout_usec = 1);
        CHANGED(false, b.max_connections = 100);
        CHANGED(false, b.runtime_max_usec = 5000000);
}

Test(reload_worker_unchanged, rlimits_nice_umask_and_cgroup_limits, .init = wsetup, .fini = wteardown)
{
        CHANGED(false, b.limits[LIMIT_NOFILE].set = true; b.limits[LIMIT_NOFILE].soft = 10;
                b.limits[LIMIT_NOFILE].hard = 10);
        CHANGED(false, b.limits[LIMIT_CPU] = A->limits[LIMIT_CPU]; b.limits[LIMIT_CPU].set = true);
        CHANGED(false, b.limits[LIMIT_AS].set = true; b.limits[LIMIT_AS].hard = 1);
        CHANGED(false, b.set_nice = true);
        CHANGED(false, b.nice = 3);
        CHANGED(false, b.umask = 0077);
        CHANGED(false, b.memory_max = 1 << 20);
        CHANGED(false, b.pids_max = 10);
        CHANGED(false, b.cpu_weight = 50);
        CHANGED(true, b.cgroup_line = 99);
}
