/* The resolver (config/resolve.c): the system one against facts of any Debian
 * machine and a PATH search in a directory of its own; and the configuration
 * loaded through a fake one, so user=, group= and allow-users= resolve
 * without NSS and command= without the file system. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/resolve.h"
#include "helpers.h"

#define NO_SUCH_NAME "no-such-name-usd-test"

static const struct resolver *sys = &resolve_system;

/* ---- the system resolver ---- */

Test(resolve_system, root_is_uid_0_with_group_0)
{
        struct resolve_user u;

        cr_assert_eq(sys->user_by_name(NULL, "root", &u), 0);
        cr_assert_eq(u.uid, 0);
        cr_assert_eq(u.gid, 0);
        cr_assert_str_eq(u.name, "root");
        free(u.name);
        cr_assert_eq(sys->user_by_uid(NULL, 0, &u), 0);
        cr_assert_str_eq(u.name, "root");
        free(u.name);
}

Test(resolve_system, group_root_is_gid_0)
{
        gid_t g = 1;

        cr_assert_eq(sys->group_by_name(NULL, "root", &g), 0);
        cr_assert_eq(g, 0);
}

Test(resolve_system, a_name_that_does_not_exist_is_enoent)
{
        struct resolve_user u = { .name = NULL };
        gid_t g = 12345;

        cr_assert_eq(sys->user_by_name(NULL, NO_SUCH_NAME, &u), -ENOENT);
        cr_assert_null(u.name, "nothing written on failure");
        cr_assert_eq(sys->group_by_name(NULL, NO_SUCH_NAME, &g), -ENOENT);
        cr_assert_eq(g, 12345, "nothing written on failure");
        cr_assert_eq(sys->user_by_uid(NULL, 4000000000u, &u), -ENOENT);
}

Test(resolve_system, group_list_starts_with_the_group_given)
{
        gid_t *g = NULL;
        size_t n = 0;

        /* The group asked for comes first, even one that is not root's own. */
        cr_assert_eq(sys->group_list(NULL, "root", 0, &g, &n), 0);
        cr_assert_geq(n, 1);
        cr_assert_eq(g[0], 0);
        free(g);
        cr_assert_eq(sys->group_list(NULL, "root", 4242, &g, &n), 0);
        cr_assert_geq(n, 1);
        cr_assert_eq(g[0], 4242);
        free(g);
}

static void write_file(const char *path, mode_t mode)
{
        FILE *f = fopen(path, "we");

        cr_assert_not_null(f, "%s", path);
        fputs("#!/bin/sh\n", f);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(chmod(path, mode), 0);
}

Test(resolve_system, executable_tells_a_program_from_other_files)
{
        char *dir = make_tmpdir();

        write_file(join(dir, "prog"), 0755);
        write_file(join(dir, "text"), 0644);
        cr_assert_eq(mkdir(join(dir, "sub"), 0755), 0);
        cr_assert_eq(mkfifo(join(dir, "fifo"), 0755), 0);
        cr_assert_eq(sys->executable(NULL, join(dir, "prog")), 0);
        cr_assert_eq(sys->executable(NULL, join(dir, "text")), -EACCES);
        cr_assert_eq(sys->executable(NULL, join(dir, "sub")), -EISDIR);
        cr_assert_eq(sys->executable(NULL, join(dir, "fifo")), -EACCES, "not a regular file");
        cr_assert_eq(sys->executable(NULL, join(dir, "none")), -ENOENT);
        cr_assert_eq(sys->executable(NULL, "/bin/sh"), 0);
        rm_rf(dir);
        free(dir);
}

Test(resolve_system, directory_tells_a_directory_from_other_files_and_missing_ones)
{
        char *dir = make_tmpdir();

        write_file(join(dir, "file"), 0644);
        cr_assert_eq(mkdir(join(dir, "sub"), 0755), 0);
        cr_assert_eq(symlink("sub", join(dir, "link")), 0);
        cr_assert_eq(sys->directory(NULL, join(dir, "sub")), 0);
        cr_assert_eq(sys->directory(NULL, join(dir, "link")), 0, "a link to a directory is followed");
        cr_assert_eq(sys->directory(NULL, join(dir, "file")), -ENOTDIR);
        cr_assert_eq(sys->directory(NULL, join(dir, "file/below")), -ENOTDIR);
        cr_assert_eq(sys->directory(NULL, join(dir, "none")), -ENOENT);
        cr_assert_eq(sys->directory(NULL, join(dir, "none/below")), -ENOENT);
        cr_assert_eq(sys->directory(NULL, "/"), 0);
        rm_rf(dir);
        free(dir);
}

Test(resolve_system, commands_are_searched_in_the_fixed_path_of_systemd_services)
{
        cr_assert_null(sys->search_path, "RESOLVE_SEARCH_PATH");
        cr_assert_str_eq(RESOLVE_SEARCH_PATH, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

/* A directory named like the command and a file that is not executable are
 * passed over, as execvp(3) does; relative entries too. */
Test(resolve_system, path_search_takes_the_first_executable_file)
{
        char *dir = make_tmpdir(), *search, *got = NULL, *want;

        cr_assert_eq(mkdir(join(dir, "a"), 0755), 0);
        cr_assert_eq(mkdir(join(dir, "a/prog"), 0755), 0);
        cr_assert_eq(mkdir(join(dir, "b"), 0755), 0);
        write_file(join(dir, "b/prog"), 0644);
        cr_assert_eq(mkdir(join(dir, "c"), 0755), 0);
        write_file(join(dir, "c/prog"), 0755);
        write_file(join(dir, "prog"), 0755);
        cr_assert_eq(chdir(dir), 0);
        cr_assert_geq(asprintf(&search, "%s/a::%s/b:.:c:%s/c", dir, dir, dir), 0);
        cr_assert_geq(asprintf(&want, "%s/c/prog", dir), 0);

        cr_assert_eq(resolve_program(sys, "prog", search, &got), 0);
        cr_assert_str_eq(got, want);
        free(got);
        cr_assert_eq(resolve_program(sys, "prog", ".:c", &got), -ENOENT, "relative entries are skipped");
        cr_assert_eq(resolve_program(sys, "nothing-here", search, &got), -ENOENT);
        cr_assert_eq(resolve_program(sys, "prog", "", &got), -ENOENT);
        cr_assert_eq(chdir("/"), 0);
        free(search);
        free(want);
        rm_rf(dir);
        free(dir);
}

Test(resolve_system, an_absolute_program_is_taken_as_it_is)
{
        char *dir = make_tmpdir(), *got = NULL;

        write_file(join(dir, "text"), 0644);
        cr_assert_eq(resolve_program(sys, "/bin/sh", "/nonexistent", &got), 0);
        cr_assert_str_eq(got, "/bin/sh");
        free(got);
        cr_assert_eq(resolve_program(sys, join(dir, "text"), "/bin", &got), -EACCES);
        cr_assert_eq(resolve_program(sys, join(dir, "none"), "/bin", &got), -ENOENT);
        cr_assert_eq(resolve_program(sys, "/tmp", "/bin", &got), -EISDIR);
        cr_assert_eq(resolve_program(sys, "bin/sh", "/", &got), -EINVAL, "relative with a '/'");
        cr_assert_eq(resolve_program(sys, "", "/bin", &got), -EINVAL);
        rm_rf(dir);
        free(dir);
}

/* ---- the configuration through a fake resolver ---- */

static struct {
        const char *group_list_user;
        gid_t group_list_gid;
        int calls;
        char directory[8][128];         /* what directory() was asked, the last 8 */
        size_t n_directory;
} fake_seen;

static int fake_user(uid_t uid, gid_t gid, const char *name, struct resolve_user *ret)
{
        *ret = (struct resolve_user){ .uid = uid, .gid = gid, .name = strdup(name) };
        return ret->name ? 0 : -ENOMEM;
}

static int fake_user_by_name(void *userdata, const char *name, struct resolve_user *ret)
{
        fake_seen.calls += userdata == &fake_seen;
        if (strcmp(name, "alice") == 0)
                return fake_user(1000, 1000, "alice", ret);
        if (strcmp(name, "crowd") == 0)
                return fake_user(2000, 2000, "crowd", ret);
        return strcmp(name, "ldap-down") == 0 ? -EIO : -ENOENT;
}

static int fake_user_by_uid(void *userdata, uid_t uid, struct resolve_user *ret)
{
        fake_seen.calls += userdata == &fake_seen;
        return uid == 1000 ? fake_user(1000, 1000, "alice", ret) : -ENOENT;
}

static int fake_group_by_name(void *userdata, const char *name, gid_t *ret)
{
        fake_seen.calls += userdata == &fake_seen;
        if (strcmp(name, "staff") != 0)
                return strcmp(name, "ldap-down") == 0 ? -EIO : -ENOENT;
        *ret = 50;
        return 0;
}

static int fake_group_list(void *userdata, const char *user, gid_t group, gid_t **ret, size_t *ret_n)
{
        gid_t *g = malloc(3 * sizeof(*g));

        fake_seen.calls += userdata == &fake_seen;
        fake_seen.group_list_user = strcmp(user, "alice") == 0 ? "alice" : "other";
        fake_seen.group_list_gid = group;
        if (strcmp(user, "crowd") == 0 || !g) {
                free(g);
                return g ? -E2BIG : -ENOMEM;
        }
        g[0] = group;
        g[1] = 4;
        g[2] = 100;
        *ret = g;
        *ret_n = 3;
        return 0;
}

static int fake_executable(void *userdata, const char *path)
{
        fake_seen.calls += userdata == &fake_seen;
        return strcmp(path, "/fake/bin/prog") == 0 || strcmp(path, "/fake/abs") == 0 ? 0 : -ENOENT;
}

/* Directories: /srv, /srv/app and what is above them; /etc/passwd a file. */
static int fake_directory(void *userdata, const char *path)
{
        static const char *const dirs[] = { "/", "/srv", "/srv/app", "/etc" };

        fake_seen.calls += userdata == &fake_seen;
        snprintf(fake_seen.directory[fake_seen.n_directory++ % 8], sizeof(fake_seen.directory[0]), "%s", path);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (strcmp(path, dirs[i]) == 0)
                        return 0;
        return strncmp(path, "/etc/passwd", 11) == 0 ? -ENOTDIR : strcmp(path, "/locked") == 0 ? -EACCES : -ENOENT;
}

static const struct resolver fake = {
        .user_by_name = fake_user_by_name,
        .user_by_uid = fake_user_by_uid,
        .group_by_name = fake_group_by_name,
        .group_list = fake_group_list,
        .executable = fake_executable,
        .directory = fake_directory,
        .search_path = "/fake/bin",
        .userdata = &fake_seen,
};

#define MAX_ERRS 16
static struct {
        size_t n;
        unsigned line[MAX_ERRS];
        char msg[MAX_ERRS][256];
} errs;

static void collect(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        cr_assert_str_eq(file, "fake.conf");
        cr_assert_lt(errs.n, MAX_ERRS);
        errs.line[errs.n] = line;
        snprintf(errs.msg[errs.n], sizeof(errs.msg[0]), "%s", msg);
        errs.n++;
}

static int load(const char *text, struct config **c)
{
        errs.n = 0;
        *c = NULL;
        return config_load_string_with("fake.conf", text, strlen(text), &fake, collect, NULL, c);
}

static void setup(void)
{
        setenv("RUNTIME_DIRECTORY", "/run/test-usd", 1);
        /* the resolver's search path, not this one, is searched */
        setenv("PATH", "/usr/bin:/bin", 1);
        memset(&fake_seen, 0, sizeof(fake_seen));
}

TestSuite(config_fake, .init = setup, .timeout = 30);

#define SOCK "[socket:s]\npath = s.sock\nworker = w\n"

Test(config_fake, users_groups_and_programs_come_from_the_resolver)
{
        struct config *c;
        int r = load(SOCK "owner = alice\ngroup = staff\nallow-users = alice 7\nallow-groups = staff 9\n"
                     "[worker:w]\ncommand = prog --flag\nuser = alice\ngroup = staff\n", &c);

        cr_assert_eq(r, 0, "%zu errors, first: %s", errs.n, errs.n ? errs.msg[0] : "");
        const struct cfg_socket *s = &c->sockets[0];
        const struct cfg_worker *w = &c->workers[0];

        cr_assert_eq(s->uid, 1000);
        cr_assert_eq(s->gid, 50);
        cr_assert_eq(s->n_allow_uids, 2);
        cr_assert_eq(s->allow_uids[0], 1000);
        cr_assert_eq(s->allow_uids[1], 7);
        cr_assert_eq(s->n_allow_gids, 2);
        cr_assert_eq(s->allow_gids[0], 50);
        cr_assert_eq(s->allow_gids[1], 9);
        cr_assert_str_eq(w->exec_path, "/fake/bin/prog");
        cr_assert_str_eq(w->argv[0], "prog");
        cr_assert_str_eq(w->user_name, "alice");
        cr_assert_eq(w->uid, 1000);
        cr_assert_eq(w->gid, 50, "group= replaces the primary group");
        /* the groups of alice with the final group, as initgroups(3) */
        cr_assert_str_eq(fake_seen.group_list_user, "alice");
        cr_assert_eq(fake_seen.group_list_gid, 50);
        cr_assert_eq(w->n_groups, 3);
        cr_assert_eq(w->groups[0], 50);
        cr_assert_gt(fake_seen.calls, 0, "the resolver's userdata is passed");
        config_free(c);
}

Test(config_fake, a_uid_with_an_entry_takes_its_name_and_group)
{
        struct config *c;

        cr_assert_eq(load(SOCK "[worker:w]\ncommand = /fake/abs\nuser = 1000\n", &c), 0);
        cr_assert_str_eq(c->workers[0].user_name, "alice");
        cr_assert_eq(c->workers[0].gid, 1000);
        cr_assert_eq(c->workers[0].n_groups, 3);
        config_free(c);
        cr_assert_eq(load(SOCK "[worker:w]\ncommand = /fake/abs\nuser = 4321\n", &c), 0);
        cr_assert_str_eq(c->workers[0].user_name, "4321");
        cr_assert_eq(c->workers[0].uid, 4321);
        cr_assert_eq(c->workers[0].gid, 4321);
        cr_assert_eq(c->workers[0].n_groups, 0);
        config_free(c);
}

Test(config_fake, unknown_names_and_failed_look_ups_are_told_apart)
{
        struct config *c;

        cr_assert_eq(load(SOCK "owner = bob\ngroup = ldap-down\n[worker:w]\ncommand = /fake/abs\n"
                          "user = ldap-down\n", &c), -EINVAL);
        cr_assert_null(c);
        cr_assert_eq(errs.n, 3);
        cr_assert_eq(errs.line[0], 4);
        cr_assert_str_eq(errs.msg[0], "owner: unknown user 'bob'");
        cr_assert_eq(errs.line[1], 5);
        cr_assert_str_eq(errs.msg[1], "group: cannot look up group 'ldap-down': Input/output error");
        cr_assert_eq(errs.line[2], 8);
        cr_assert_str_eq(errs.msg[2], "user: cannot look up user 'ldap-down': Input/output error");
}

Test(config_fake, a_user_in_too_many_groups_is_an_error_at_its_line)
{
        struct config *c;

        cr_assert_eq(load(SOCK "[worker:w]\ncommand = /fake/abs\nuser = crowd\n", &c), -EINVAL);
        cr_assert_eq(errs.n, 1);
        cr_assert_eq(errs.line[0], 6);
        cr_assert_str_eq(errs.msg[0], "user: 'crowd' is in too many groups");
}

Test(config_fake, a_program_the_resolver_does_not_know_is_not_found)
{
        struct config *c;

        cr_assert_eq(load(SOCK "[worker:w]\ncommand = cat\n", &c), -EINVAL);
        cr_assert_eq(errs.n, 1);
        cr_assert_str_eq(errs.msg[0], "command: 'cat' not found in PATH (/fake/bin)");
        cr_assert_eq(load(SOCK "[worker:w]\ncommand = /bin/sh\n", &c), -EINVAL);
        cr_assert_str_eq(errs.msg[0], "command: '/bin/sh' does not exist");
}

Test(config_fake, a_socket_in_a_directory_that_does_not_exist_is_an_error_at_its_path)
{
        struct config *c;

        cr_assert_eq(load("[socket:s]\npath = /srv/none/x.sock\nworker = w\n"
                          "[socket:t]\npath = /etc/passwd/t.sock\nworker = w\n"
                          "[socket:u]\npath = /srv/app/u.sock\nworker = w\n"
                          "[worker:w]\ncommand = /fake/abs\n", &c), -EINVAL);
        cr_assert_eq(errs.n, 2);
        cr_assert_eq(errs.line[0], 2);
        cr_assert_str_eq(errs.msg[0], "path: /srv/none/x.sock: No such file or directory "
                         "(of the directories of sockets, unixsockd creates only the runtime directory)");
        cr_assert_eq(errs.line[1], 5);
        cr_assert_str_eq(errs.msg[1], "path: /etc/passwd/t.sock: Not a directory");
}

Test(config_fake, the_control_socket_in_a_directory_that_does_not_exist_is_an_error)
{
        struct config *c;

        cr_assert_eq(load("[unixsockd]\ncontrol = /srv/none/ctl.sock\n" SOCK "[worker:w]\ncommand = /fake/abs\n",
                          &c), -EINVAL);
        cr_assert_eq(errs.n, 1);
        cr_assert_eq(errs.line[0], 2);
        cr_assert_str_eq(errs.msg[0], "control: /srv/none/ctl.sock: No such file or directory "
                         "(of the directories of sockets, unixsockd creates only the runtime directory)");
        cr_assert_eq(load("[unixsockd]\ncontrol = /srv/app/ctl.sock\n" SOCK "[worker:w]\ncommand = /fake/abs\n",
                          &c), 0);
        cr_assert_str_eq(c->control, "/srv/app/ctl.sock");
        config_free(c);
}

/* unixsockd makes the runtime directory and every directory above it at
 * start (mkdir -p): none of them need exist when the file is checked. */
Test(config_fake, the_runtime_directory_and_those_above_it_need_not_exist_yet)
{
        struct config *c;

        cr_assert_eq(load("[unixsockd]\nruntime-directory = /none/run/usd\n"
                          "[socket:s]\npath = s.sock\nworker = w\n"
                          "[socket:t]\npath = /none/run/t.sock\nworker = w\n"
                          "[socket:u]\npath = /none/u.sock\nworker = w\n"
                          "[worker:w]\ncommand = /fake/abs\n", &c), 0,
                     "%zu errors, first: %s", errs.n, errs.n ? errs.msg[0] : "");
        cr_assert_str_eq(c->control, "/none/run/usd/control.sock");
        config_free(c);
        for (size_t i = 0; i < fake_seen.n_directory && i < 8; i++)
                cr_assert(strncmp(fake_seen.directory[i], "/none", 5) != 0, "asked about %s",
                          fake_seen.directory[i]);

        /* a directory below it is not made: it must be there */
        cr_assert_eq(load("[unixsockd]\nruntime-directory = /none/run/usd\n"
                          "[socket:s]\npath = sub/s.sock\nworker = w\n"
                          "[worker:w]\ncommand = /fake/abs\n", &c), -EINVAL);
        cr_assert_eq(errs.n, 1);
        cr_assert_eq(errs.line[0], 4);
        cr_assert_str_eq(errs.msg[0], "path: /none/run/usd/sub/s.sock: No such file or directory "
                         "(of the directories of sockets, unixsockd creates only the runtime directory)");
}

/* One the checker may not look into, the daemon (often another user) may:
 * it is tried when the socket is made. Abstract sockets have no directory. */
Test(config_fake, a_directory_that_cannot_be_looked_at_and_an_abstract_socket_are_not_errors)
{
        struct config *c;

        cr_assert_eq(load("[socket:s]\npath = /locked/s.sock\nworker = w\n"
                          "[socket:a]\npath = @abstract\nworker = w\n"
                          "[worker:w]\ncommand = /fake/abs\n", &c), 0,
                     "%zu errors, first: %s", errs.n, errs.n ? errs.msg[0] : "");
        config_free(c);
}

/* ---- the memo: each question asked once ---- */

static struct asked {
        unsigned by_name, by_uid, group, list, exe, dir;
} asked;

static int count_user_by_name(void *userdata, const char *name, struct resolve_user *ret)
{
        (void)userdata;
        asked.by_name++;
        if (strcmp(name, "alice") != 0)
                return -ENOENT;
        *ret = (struct resolve_user){ .uid = 1000, .gid = 100, .name = strdup("alice") };
        return ret->name ? 0 : -ENOMEM;
}

static int count_user_by_uid(void *userdata, uid_t uid, struct resolve_user *ret)
{
        (void)userdata;
        asked.by_uid++;
        if (uid != 1000)
                return -ENOENT;
        *ret = (struct resolve_user){ .uid = 1000, .gid = 100, .name = strdup("alice") };
        return ret->name ? 0 : -ENOMEM;
}

static int count_group_by_name(void *userdata, const char *name, gid_t *ret)
{
        (void)userdata;
        asked.group++;
        if (strcmp(name, "users") != 0)
                return -EIO;
        *ret = 100;
        return 0;
}

static int count_group_list(void *userdata, const char *user, gid_t group, gid_t **ret, size_t *ret_n)
{
        (void)userdata;
        (void)user;
        asked.list++;
        *ret = malloc(2 * sizeof(gid_t));
        if (!*ret)
                return -ENOMEM;
        (*ret)[0] = group;
        (*ret)[1] = 27;
        *ret_n = 2;
        return 0;
}

static int count_executable(void *userdata, const char *path)
{
        (void)userdata;
        asked.exe++;
        return strcmp(path, "/bin/cat") == 0 ? 0 : -ENOENT;
}

static int count_directory(void *userdata, const char *path)
{
        (void)userdata;
        (void)path;
        asked.dir++;
        return 0;
}

static const struct resolver counting = {
        .user_by_name = count_user_by_name,
        .user_by_uid = count_user_by_uid,
        .group_by_name = count_group_by_name,
        .group_list = count_group_list,
        .executable = count_executable,
        .directory = count_directory,
        .search_path = "/bin",
};

Test(resolve_memo, a_question_asked_again_is_answered_without_asking_again)
{
        struct resolve_memo *m = resolve_memo_new(&counting);
        const struct resolver *r;

        cr_assert_not_null(m);
        r = resolve_memo_resolver(m);
        cr_assert_str_eq(r->search_path, "/bin");
        asked = (struct asked){ 0 };
        for (int i = 0; i < 3; i++) {
                struct resolve_user u = { 0 };
                gid_t g = 0, *list = NULL;
                size_t n = 0;

                cr_assert_eq(r->user_by_name(r->userdata, "alice", &u), 0);
                cr_assert_eq(u.uid, 1000);
                cr_assert_eq(u.gid, 100);
                cr_assert_str_eq(u.name, "alice");
                free(u.name); /* every answer is the caller's own copy */
                cr_assert_eq(r->user_by_name(r->userdata, "bob", &u), -ENOENT);
                cr_assert_eq(r->user_by_uid(r->userdata, 1000, &u), 0);
                cr_assert_str_eq(u.name, "alice");
                free(u.name);
                cr_assert_eq(r->group_by_name(r->userdata, "users", &g), 0);
                cr_assert_eq(g, 100);
                cr_assert_eq(r->group_by_name(r->userdata, "wheel", &g), -EIO, "errors are kept too");
                cr_assert_eq(r->group_list(r->userdata, "alice", 100, &list, &n), 0);
                cr_assert_eq(n, 2);
                cr_assert_eq(list[0], 100);
                cr_assert_eq(list[1], 27);
                free(list);
                cr_assert_eq(r->executable(r->userdata, "/bin/cat"), 0);
                cr_assert_eq(r->executable(r->userdata, "/bin/dog"), -ENOENT);
                cr_assert_eq(r->directory(r->userdata, "/bin/cat"), 0, "another question than executable");
        }
        cr_assert_eq(asked.by_name, 2, "alice and bob, once each");
        cr_assert_eq(asked.by_uid, 1);
        cr_assert_eq(asked.group, 2);
        cr_assert_eq(asked.list, 1);
        cr_assert_eq(asked.exe, 2);
        cr_assert_eq(asked.dir, 1);
        resolve_memo_free(m);
        resolve_memo_free(NULL);
}

Test(resolve_memo, names_that_differ_are_different_questions)
{
        struct resolve_memo *m = resolve_memo_new(&counting);
        const struct resolver *r = resolve_memo_resolver(m);
        gid_t *list = NULL;
        size_t n;

        asked = (struct asked){ 0 };
        cr_assert_eq(r->group_list(r->userdata, "alice", 100, &list, &n), 0);
        free(list);
        cr_assert_eq(r->group_list(r->userdata, "alice", 101, &list, &n), 0);
        cr_assert_eq(list[0], 101, "another primary group, another answer");
        free(list);
        cr_assert_eq(asked.list, 2);
        resolve_memo_free(m);
}

/* A file naming one user, group and program in many sections asks each once. */
Test(resolve_memo, a_configuration_asks_each_name_once)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct config *c = NULL;

        cr_assert_not_null(f);
        fprintf(f, "[unixsockd]\nruntime-directory = /run/usd-memo\ncontrol = none\n");
        for (int i = 0; i < 100; i++)
                fprintf(f, "[socket:s%d]\npath = s%d.sock\nworker = w%d\nowner = alice\ngroup = users\n"
                           "[worker:w%d]\ncommand = cat\nuser = alice\n", i, i, i, i);
        fclose(f);
        asked = (struct asked){ 0 };
        cr_assert_eq(config_load_string_with("m.conf", text, len, &counting, NULL, NULL, &c), 0);
        cr_assert_eq(c->n_sockets, 100);
        cr_assert_eq(c->sockets[99].uid, 1000);
        cr_assert_eq(c->workers[99].n_groups, 2);
        cr_assert_eq(asked.by_name, 1);
        cr_assert_eq(asked.group, 1);
        cr_assert_eq(asked.list, 1);
        cr_assert_eq(asked.exe, 1, "cat found in /bin once");
        config_free(c);
        free(text);
}
