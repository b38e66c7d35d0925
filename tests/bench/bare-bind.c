/* bare-bind: the floor under start-up. socket + bind + listen for every PATH,
 * in order, nothing else: no stale check, no atomic publication, no modes.
 * Then READY=1 to $NOTIFY_SOCKET (if set) and waits for SIGTERM or SIGINT,
 * unlinks the paths it bound and exits 0.
 *   bare-bind [-b BACKLOG] PATH...
 * Or, with -x, as a socket unit does: the listening sockets become fds 3.. of
 * PROG, exec'd in its place with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES
 * (each path's last part less ".sock"); the paths stay.
 *   bare-bind [-b BACKLOG] -x PATH... -- PROG [ARG...]
 * Exit status 1 when a path cannot be bound (it says which), 2 on usage, 127
 * when PROG cannot be run. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define usage() do { \
                fprintf(stderr, "usage: bare-bind [-b BACKLOG] PATH...\n" \
                                "       bare-bind [-b BACKLOG] -x PATH... -- PROG [ARG...]\n"); \
                return 2; \
        } while (0)

static int addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
        size_t n = strlen(path);

        if (n >= sizeof(sa->sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        memcpy(sa->sun_path, path, n);
        if (path[0] == '@')
                sa->sun_path[0] = '\0';
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
        return 0;
}

/* READY=1 the way sd_notify(3) sends it: one datagram to $NOTIFY_SOCKET. */
static void notify_ready(void)
{
        const char *p = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa;
        socklen_t len;
        int fd;

        if (!p || !*p || addr(p, &sa, &len) < 0)
                return;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
                perror("bare-bind: notify");
        close(fd);
}

/* The sockets bound, fds[0 .. n - 1], handed to prog as fds 3 .. 3 + n - 1. */
static int exec_with(int *fds, int n, char **paths, char **prog)
{
        char num[32], *names;
        size_t len = 1;

        /* out of the way first (an fd we were given may sit in 3 .. n + 2), then in place */
        for (int i = 0; i < n; i++) {
                int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n);
                if (fd < 0) {
                        perror("bare-bind: F_DUPFD");
                        return 1;
                }
                close(fds[i]);
                fds[i] = fd;
        }
        for (int i = 0; i < n; i++) {
                if (dup2(fds[i], 3 + i) < 0) {
                        perror("bare-bind: dup2");
                        return 1;
                }
                close(fds[i]);
                len += strlen(paths[i]) + 1;
        }
        names = calloc(1, len);
        if (!names)
                return 1;
        for (int i = 0; i < n; i++) {
                const char *b = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
                size_t k = strlen(b);
                if (k > 5 && strcmp(b + k - 5, ".sock") == 0)
                        k -= 5;
                if (i)
                        strcat(names, ":");
                strncat(names, b, k);
        }
        snprintf(num, sizeof(num), "%d", n);
        setenv("LISTEN_FDS", num, 1);
        snprintf(num, sizeof(num), "%d", (int)getpid());
        setenv("LISTEN_PID", num, 1);
        setenv("LISTEN_FDNAMES", names, 1);
        free(names);
        execvp(prog[0], prog);
        fprintf(stderr, "bare-bind: %s: %s\n", prog[0], strerror(errno));
        return 127;
}

int main(int argc, char **argv)
{
        int backlog = 128, c, first, last, sig, ret = 0, bound, *fds;
        bool exec_prog = false;
        struct rlimit rl;
        sigset_t set;

        while ((c = getopt(argc, argv, "+b:x")) != -1) {
                if (c == 'b')
                        backlog = atoi(optarg);
                else if (c == 'x')
                        exec_prog = true;
                else
                        usage();
        }
        first = last = optind;
        while (last < argc && strcmp(argv[last], "--") != 0)
                last++;
        if (first >= last || exec_prog != (last < argc) || (exec_prog && last + 1 >= argc))
                usage();
        /* as many fds as paths, as the daemon asks for */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        fds = calloc((size_t)(last - first), sizeof(*fds));
        if (!fds) {
                perror("bare-bind");
                return 1;
        }
        for (bound = first; bound < last; bound++) {
                struct sockaddr_un sa;
                socklen_t len;
                int fd;

                if (addr(argv[bound], &sa, &len) < 0 ||
                    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
                    bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, backlog) < 0) {
                        fprintf(stderr, "bare-bind: %s: %s\n", argv[bound], strerror(errno));
                        ret = 1;
                        break;
                }
                fds[bound - first] = fd;
        }
        if (ret == 0 && exec_prog) {
                sigprocmask(SIG_UNBLOCK, &set, NULL);
                return exec_with(fds, last - first, argv + first, argv + last + 1);
        }
        if (ret == 0) {
                notify_ready();
                while (sigwait(&set, &sig) != 0)
                        ;
        }
        for (int i = first; i < bound; i++)
                if (argv[i][0] != '@')
                        (void)unlink(argv[i]);
        free(fds);
        return ret;
}
