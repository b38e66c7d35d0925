/* unixsockd and the socket files it publishes, against a user who owns their
 * directory: a reload changes mode and owner only on its own socket, never
 * through a symlink; a reload whose new sockets cannot listen changes nothing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

#define NOBODY 65534

static struct daemon d;
static char *hostile, *safe;    /* a directory nobody owns; one only root writes */

static void init(void)
{
        hostile = make_tmpdir();
        safe = make_tmpdir();
        cr_assert(chown(hostile, NOBODY, NOBODY) == 0);
}

static void fini(void)
{
        daemon_cleanup(&d);
        rm_rf(hostile);
        rm_rf(safe);
        free(hostile);
        free(safe);
}

TestSuite(access, .init = init, .fini = fini, .timeout = 120);

/* The configuration text with every HOSTILE replaced by the hostile directory. */
static char *conf_text(const char *fmt)
{
        return replace_all(fmt, "HOSTILE", hostile);
}

static void start_with(const char *fmt)
{
        char *text = conf_text(fmt);

        daemon_start(&d, text);
        free(text);
}

static void reload_with(const char *fmt)
{
        char *text = conf_text(fmt);

        daemon_reload(&d, text);
        free(text);
}

/* Runs fn as nobody, the owner of the hostile directory; asserts it succeeded. */
static void as_nobody(int (*fn)(void *), void *arg)
{
        int st;
        pid_t pid = fork();

        cr_assert(pid >= 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(2);
                _exit(fn(arg) == 0 ? 0 : 1);
        }
        cr_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const char *victim_path(void)
{
        const char *v = join(safe, "victim");
        int fd = open(v, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        cr_assert(fd >= 0);
        close(fd);
        cr_assert(chmod(v, 0600) == 0);
        return v;
}

static int swap_for_victim(void *arg)
{
        char from[4200], to[4200];

        snprintf(from, sizeof(from), "%s/s.sock", hostile);
        snprintf(to, sizeof(to), "%s/away.sock", hostile);
        return rename(from, to) == 0 && symlink(arg, from) == 0 ? 0 : -1;
}

static void expect_mode(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
        struct stat st;

        cr_assert(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
        cr_assert_eq(st.st_mode & 07777, mode, "%s: mode %04o, not %04o", path, st.st_mode & 07777, mode);
        cr_assert_eq(st.st_uid, uid, "%s: owner %u", path, (unsigned)st.st_uid);
        cr_assert_eq(st.st_gid, gid, "%s: group %u", path, (unsigned)st.st_gid);
}

#define WORKER "worker = cat\n\n[worker:cat]\ncommand = /bin/cat\ninstances = 4\n\n"

/* The reproduction: the directory's owner renames the socket away and
 * links a root-owned 0600 file in its place; a reload to mode 0666 must not
 * change that file (it did: chmod(2) on the path followed the link). */
Test(access, reload_changes_no_file_through_a_symlink_in_place_of_the_socket)
{
        if (geteuid() != 0)
                cr_skip_test("needs root: the daemon's case");
        const char *victim = strdup(victim_path());
        char path[4200];

        snprintf(path, sizeof(path), "%s/s.sock", hostile);
        start_with("[socket:s]\npath = HOSTILE/s.sock\nmode = 0600\n" WORKER);
        as_nobody(swap_for_victim, (void *)victim);
        reload_with("[socket:s]\npath = HOSTILE/s.sock\nmode = 0666\n" WORKER);
        cr_assert(daemon_wait_log(&d, "the path is no longer this socket's file"));
        expect_mode(victim, 0600, 0, 0);
        expect_mode(join(hostile, "away.sock"), 0600, 0, 0);
        client_expect_echo(join(hostile, "away.sock"), "the listener itself is untouched");
        daemon_stop(&d);
        free((void *)victim);
}

/* Mode, owner and group of its own socket do change on reload, both ways. */
Test(access, reload_applies_mode_owner_and_group_to_its_socket)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to chown");
        char path[4200];

        snprintf(path, sizeof(path), "%s/s.sock", hostile);
        start_with("[socket:s]\npath = HOSTILE/s.sock\nmode = 0660\ngroup = 0\n" WORKER);
        expect_mode(path, 0660, 0, 0);
        reload_with("[socket:s]\npath = HOSTILE/s.sock\nmode = 0600\ngroup = 65534\n" WORKER);
        cr_assert(daemon_wait_log(&d, "reload: 0 sockets new, 0 closed"));
        expect_mode(path, 0600, 0, NOBODY);
        reload_with("[socket:s]\npath = HOSTILE/s.sock\nmode = 0640\nowner = 65534\n" WORKER);
        cr_assert(daemon_wait_log(&d, "reload: 0 sockets new, 0 closed"));
        expect_mode(path, 0640, NOBODY, 0);
        client_expect_echo(path, "same listener");
        daemon_stop(&d);
}

/* A reload that moves a socket where something else is in the way used to
 * close the old listener, fail to bind the new one, and say "reloaded" with
 * nothing listening. Now it is refused whole: the old socket serves on. */
Test(access, a_reload_whose_new_socket_cannot_listen_changes_nothing)
{
        start_with("[socket:s]\npath = s.sock\n" WORKER);
        int fd = open(daemon_path(&d, "taken"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert(fd >= 0);
        close(fd);
        /* a new socket that can listen, then the moved one that cannot */
        reload_with("[socket:new]\npath = new.sock\n" WORKER "[socket:s]\npath = taken\nworker = cat\n");
        cr_assert(daemon_wait_log(&d, "the running configuration stays"));
        cr_assert(daemon_log_has(&d, "taken: File exists"), "the error names the path and why");
        cr_assert(!daemon_log_has(&d, "reloaded"));
        client_expect_echo(daemon_path(&d, "s.sock"), "the old socket serves on");
        cr_assert(access(daemon_path(&d, "new.sock"), F_OK) < 0 && errno == ENOENT,
                  "the socket made for the refused reload is gone");
        struct stat st;
        cr_assert(lstat(daemon_path(&d, "taken"), &st) == 0 && S_ISREG(st.st_mode), "the file is untouched");
        /* and the daemon still takes a good file */
        reload_with("[socket:s]\npath = s2.sock\n" WORKER);
        cr_assert(daemon_wait_log(&d, "reloaded"));
        client_expect_echo(daemon_path(&d, "s2.sock"), "moved");
        cr_assert(access(daemon_path(&d, "s.sock"), F_OK) < 0, "the old file is removed");
        daemon_stop(&d);
}

/* A section renamed on the same path keeps the listening socket (it used to
 * be closed and bound again): same file, and a client queued before the
 * reload is served after it. */
Test(access, a_renamed_section_on_the_same_path_keeps_its_listener)
{
        start_with("[socket:old]\npath = s.sock\n" WORKER);
        struct stat before, after;
        cr_assert(lstat(daemon_path(&d, "s.sock"), &before) == 0);
        reload_with("[socket:new]\npath = s.sock\n" WORKER);
        cr_assert(daemon_wait_log(&d, "reloaded"));
        cr_assert(lstat(daemon_path(&d, "s.sock"), &after) == 0);
        cr_assert_eq(before.st_ino, after.st_ino, "the same socket file");
        client_expect_echo(daemon_path(&d, "s.sock"), "renamed");
        daemon_stop(&d);
}
