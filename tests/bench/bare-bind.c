/* bare-bind: the floor under start-up. socket + bind + listen for every PATH,
 * in order, nothing else: no stale check, no atomic publication, no modes.
 * Then READY=1 to $NOTIFY_SOCKET (if set) and waits for SIGTERM or SIGINT,
 * unlinks the paths it bound and exits 0.
 *   bare-bind [-b BACKLOG] PATH...
 * Exit status 1 when a path cannot be bound (it says which), 2 on usage. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
        int backlog = 128, c, first, sig, ret = 0, bound;
        struct rlimit rl;
        sigset_t set;

        while ((c = getopt(argc, argv, "b:")) != -1) {
                if (c != 'b') {
                        fprintf(stderr, "usage: bare-bind [-b BACKLOG] PATH...\n");
                        return 2;
                }
                backlog = atoi(optarg);
        }
        first = optind;
        if (first >= argc) {
                fprintf(stderr, "usage: bare-bind [-b BACKLOG] PATH...\n");
                return 2;
        }
        /* as many fds as paths, as the daemon asks for */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (bound = first; bound < argc; bound++) {
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
        }
        if (ret == 0) {
                notify_ready();
                while (sigwait(&set, &sig) != 0)
                        ;
        }
        for (int i = first; i < bound; i++)
                if (argv[i][0] != '@')
                        (void)unlink(argv[i]);
        return ret;
}
