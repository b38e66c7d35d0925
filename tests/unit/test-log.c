/* The logger: the fields of a native journal entry (read from a journal
 * socket of the test's own, in a private mount namespace) and the console
 * line. Journal tests need root (a mount namespace and a tmpfs on /run). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "log.h"

#define DEADLINE_MS 10000

static void need_root(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root (a mount namespace with a journal socket of its own)");
}

/* Waits for fd to be readable, up to DEADLINE_MS; false on timeout. */
static bool readable(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };

        return poll(&p, 1, DEADLINE_MS) == 1;
}

typedef void log_fn(void);

/* Runs fn in a child whose /run is a fresh tmpfs with a journal socket at
 * /run/systemd/journal/socket, logging to the journal; returns the datagram
 * it sent (sd_journal_sendv: "FIELD=VALUE\n" each), malloc'd. The child, not
 * this process, changes its mount namespace: criterion's test process may
 * have threads, and unshare(CLONE_NEWNS) refuses a shared fs_struct. */
static char *journal_entry(log_fn *fn)
{
        int pipefd[2];
        static char buf[65536];
        ssize_t n;
        pid_t pid;
        int status;

        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
                int fd;

                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0 || mkdir("/run/systemd", 0755) < 0 ||
                    mkdir("/run/systemd/journal", 0755) < 0)
                        _exit(10);
                fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                        _exit(11);
                log_open(LOG_TARGET_JOURNAL);
                log_set_level(LOG_DEBUG);
                fn();
                if (!readable(fd))
                        _exit(12);
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n <= 0 || write(pipefd[1], buf, (size_t)n) != n)
                        _exit(13);
                _exit(0);
        }
        close(pipefd[1]);
        cr_assert(readable(pipefd[0]), "the child sent a journal entry within the deadline");
        n = read_full(pipefd[0], buf, sizeof(buf) - 1);
        close(pipefd[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
        cr_assert_gt(n, 0);
        buf[n] = '\0';
        return strdup(buf);
}

/* The value of FIELD in an entry, or NULL. */
static const char *field(const char *entry, const char *name)
{
        static char v[4096];
        size_t nl = strlen(name);

        for (const char *l = entry; *l;) {
                const char *end = strchrnul(l, '\n');

                if ((size_t)(end - l) > nl && strncmp(l, name, nl) == 0 && l[nl] == '=') {
                        snprintf(v, sizeof(v), "%.*s", (int)(end - l - (ptrdiff_t)nl - 1), l + nl + 1);
                        return v;
                }
                l = *end ? end + 1 : end;
        }
        return NULL;
}

static void log_enoent(void)
{
        cr_assert_eq(log_errno(LOG_ERR, -ENOENT, "socket %s: %s", "x", "/run/x/x.sock"), -ENOENT);
}

Test(log, log_errno_adds_the_errno_as_an_errno_field_to_the_journal_entry)
{
        need_root();
        char *e = journal_entry(log_enoent);

        cr_assert_str_eq(field(e, "MESSAGE"), "socket x: /run/x/x.sock: No such file or directory", "%s", e);
        cr_assert_str_eq(field(e, "ERRNO"), "2", "%s", e);
        cr_assert_str_eq(field(e, "PRIORITY"), "3", "%s", e);
        free(e);
}

static void log_positive(void)
{
        (void)log_errno(LOG_WARNING, EACCES, "positive");
}

Test(log, a_positive_errno_is_taken_as_it_is)
{
        need_root();
        char *e = journal_entry(log_positive);

        cr_assert_str_eq(field(e, "ERRNO"), "13", "%s", e);
        cr_assert_str_eq(field(e, "MESSAGE"), "positive: Permission denied", "%s", e);
        free(e);
}

static void log_plain(void)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.socket = "echo";
        log_ctx(LOG_INFO, &c, "no error here");
}

Test(log, an_entry_without_an_errno_has_no_errno_field)
{
        need_root();
        char *e = journal_entry(log_plain);

        cr_assert_str_eq(field(e, "MESSAGE"), "no error here", "%s", e);
        cr_assert_str_eq(field(e, "UNIXSOCKD_SOCKET"), "echo", "%s", e);
        cr_assert_null(field(e, "ERRNO"), "%s", e);
        free(e);
}

static void log_with_ctx(void)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.socket = "echo";
        c.worker = "cat";
        c.msgid = MSGID_ACCEPT_PAUSED;
        cr_assert_eq(log_ctx_errno(LOG_WARNING, &c, -EMFILE, "socket %s: accept", "echo"), -EMFILE);
}

Test(log, log_ctx_errno_keeps_the_context_fields_and_adds_errno)
{
        need_root();
        char *e = journal_entry(log_with_ctx);

        cr_assert_str_eq(field(e, "MESSAGE"), "socket echo: accept: Too many open files", "%s", e);
        cr_assert_str_eq(field(e, "ERRNO"), "24", "%s", e);
        cr_assert_str_eq(field(e, "UNIXSOCKD_SOCKET"), "echo", "%s", e);
        cr_assert_str_eq(field(e, "UNIXSOCKD_WORKER"), "cat", "%s", e);
        cr_assert_str_eq(field(e, "MESSAGE_ID"), MSGID_ACCEPT_PAUSED, "%s", e);
        free(e);
}

/* A field the context sets explicitly is written once, however it is logged. */
static void log_ctx_error(void)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.error = EPIPE;
        log_ctx(LOG_NOTICE, &c, "channel lost");
}

Test(log, a_context_with_an_error_gives_errno_to_log_ctx_too)
{
        need_root();
        char *e = journal_entry(log_ctx_error);

        cr_assert_str_eq(field(e, "ERRNO"), "32", "%s", e);
        cr_assert_str_eq(field(e, "MESSAGE"), "channel lost", "%s", e);
        free(e);
}

/* ---- the console line ---------------------------------------------------- */

/* What fn writes to stderr as a console logger. */
static char *console_line(log_fn *fn)
{
        static char buf[4096];
        int pipefd[2], saved;
        ssize_t n;

        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        saved = dup(STDERR_FILENO);
        cr_assert_geq(saved, 0);
        cr_assert_eq(dup2(pipefd[1], STDERR_FILENO), STDERR_FILENO);
        close(pipefd[1]);
        log_open(LOG_TARGET_CONSOLE);
        log_set_level(LOG_DEBUG);
        fn();
        cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        cr_assert(readable(pipefd[0]));
        n = read(pipefd[0], buf, sizeof(buf) - 1);
        close(pipefd[0]);
        cr_assert_gt(n, 0);
        buf[n] = '\0';
        return buf;
}

Test(log, the_console_line_of_an_errno_is_the_message_and_strerror_only)
{
        char want[256];

        snprintf(want, sizeof(want), "unixsockd[%d]: err: socket x: /run/x/x.sock: No such file or directory\n",
                 (int)getpid());
        cr_assert_str_eq(console_line(log_enoent), want);
        snprintf(want, sizeof(want),
                 "unixsockd[%d]: warning: socket echo: accept: Too many open files socket=echo worker=cat\n",
                 (int)getpid());
        cr_assert_str_eq(console_line(log_with_ctx), want);
}
