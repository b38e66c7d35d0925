/* bare-accept: the baseline spawn server of the benchmark. The least a server
 * can do: accept, fork, dup2 the connection to fd 0 and 1, exec the worker;
 * reap with a SIGCHLD handler. No logging, no credentials, no limits beyond
 * a large -c.
 *   bare-accept [-b BACKLOG] [-c MAXCONN] PATH PROG [ARG...]
 * SIGCHLD, SIGTERM and SIGINT stay blocked except inside ppoll(2), so the
 * handlers never interrupt anything but the wait. SIGTERM/SIGINT: unlink PATH,
 * exit 0. Workers already running are left to finish. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t live;      /* running workers */
static volatile sig_atomic_t stopping;

static void on_sigchld(int sig)
{
        int saved = errno;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                live--;
        errno = saved;
}

static void on_stop(int sig)
{
        stopping = 1;
}

static void usage(void)
{
        fprintf(stderr, "usage: bare-accept [-b BACKLOG] [-c MAXCONN] PATH PROG [ARG...]\n");
        exit(2);
}

static int parse_int(const char *s, int min, int max)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
                fprintf(stderr, "bare-accept: bad number '%s'\n", s);
                exit(2);
        }
        return (int)v;
}

/* A closed fd 0 or 1 would let accept4() return it, and dup2() onto itself
 * would keep its close-on-exec flag: the worker would lose its connection. */
static void ensure_std_fds(void)
{
        for (int fd = 0; fd <= 2; fd++) {
                if (fcntl(fd, F_GETFD) >= 0)
                        continue;
                int n = open("/dev/null", O_RDWR);
                if (n != fd) {
                        fprintf(stderr, "bare-accept: cannot open /dev/null as fd %d\n", fd);
                        exit(1);
                }
        }
}

static int listen_on(const char *path, int backlog)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        /* a socket left behind by an earlier run; anything else stays */
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                (void)unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -1;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        return fd;
}

static void spawn(int conn, char **argv, const sigset_t *empty)
{
        pid_t pid = fork();
        if (pid == 0) {
                sigprocmask(SIG_SETMASK, empty, NULL);
                if (dup2(conn, STDIN_FILENO) < 0 || dup2(conn, STDOUT_FILENO) < 0)
                        _exit(126);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (pid < 0)
                fprintf(stderr, "bare-accept: fork: %s\n", strerror(errno));
        else
                live++;         /* SIGCHLD is blocked here */
        close(conn);
}

int main(int argc, char **argv)
{
        int backlog = 128, maxconn = 10000, opt, lfd;
        sigset_t blocked, empty;
        struct sigaction sa = { .sa_flags = 0 };
        const char *path;

        while ((opt = getopt(argc, argv, "+b:c:")) != -1) {
                switch (opt) {
                case 'b': backlog = parse_int(optarg, 1, INT_MAX); break;
                case 'c': maxconn = parse_int(optarg, 1, INT_MAX); break;
                default: usage();
                }
        }
        if (argc - optind < 2)
                usage();
        path = argv[optind];
        argv += optind + 1;

        ensure_std_fds();
        sigemptyset(&empty);
        sigemptyset(&blocked);
        sigaddset(&blocked, SIGCHLD);
        sigaddset(&blocked, SIGTERM);
        sigaddset(&blocked, SIGINT);
        sigprocmask(SIG_BLOCK, &blocked, NULL);
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_sigchld;
        sigaction(SIGCHLD, &sa, NULL);
        sa.sa_handler = on_stop;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        lfd = listen_on(path, backlog);
        if (lfd < 0) {
                fprintf(stderr, "bare-accept: %s: %s\n", path, strerror(errno));
                return 1;
        }

        while (!stopping) {
                struct pollfd pfd = { .fd = lfd, .events = POLLIN };
                const struct timespec pause = { 0, 10 * 1000 * 1000 };
                bool full = live >= maxconn;

                /* at maxconn the listener leaves the poll set: clients wait
                 * in the backlog until a worker exits */
                if (ppoll(&pfd, full ? 0 : 1, NULL, &empty) < 0 && errno != EINTR) {
                        fprintf(stderr, "bare-accept: ppoll: %s\n", strerror(errno));
                        return 1;
                }
                /* one accept per ppoll(): SIGCHLD is delivered only inside
                 * ppoll(), so draining the backlog in a loop would leave the
                 * workers unreaped for as long as clients keep coming */
                if (stopping || full || !(pfd.revents & POLLIN))
                        continue;
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0) {
                        spawn(c, argv, &empty);
                        continue;
                }
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EAGAIN)
                        continue;
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM: pause, do not spin */
                fprintf(stderr, "bare-accept: accept: %s\n", strerror(errno));
                (void)ppoll(NULL, 0, &pause, &empty);
        }
        unlink(path);
        close(lfd);
        return 0;
}
