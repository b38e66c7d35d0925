/* A socket-activated server for dispatch = listener tests: it accepts on
 * every fd LISTEN_FDS gives it and answers each client with a report of what
 * it was given, then waits for the client's EOF before it takes the next one
 * (so a client that keeps its connection keeps this copy busy).
 *   listener-probe [TAG]        TAG is reported, to tell two commands apart
 *   listener-probe TAG once     exits 0 once it has served one client
 * SIGTERM: it finishes the connection it serves, then exits 0. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FDS_MAX 64

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
        (void)sig;
        terminated = 1;
}

static void env_line(FILE *f, const char *name)
{
        const char *v = getenv(name);

        fprintf(f, "%s=%s\n", name, v ? v : "(unset)");
}

/* Serves one client: the report, then its EOF. */
static void serve(int c, const char *fds, const char *tag)
{
        char buf[4096];
        size_t n;
        FILE *f = fmemopen(buf, sizeof(buf), "w");

        if (!f) {
                close(c);
                return;
        }
        fprintf(f, "pid=%d\nfds=%s\ntag=%s\n", (int)getpid(), fds, tag);
        env_line(f, "LISTEN_PID");
        env_line(f, "LISTEN_FDS");
        env_line(f, "LISTEN_FDNAMES");
        env_line(f, "UNIXSOCKD_SOCKET");
        fprintf(f, "end\n");
        n = (size_t)ftell(f);
        fclose(f);
        for (size_t off = 0; off < n;) {
                ssize_t w = send(c, buf + off, n - off, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
        for (;;) {
                ssize_t r = read(c, buf, sizeof(buf));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
        }
        close(c);
}

int main(int argc, char **argv)
{
        const char *tag = argc > 1 ? argv[1] : "";
        int once = argc > 2 && strcmp(argv[2], "once") == 0;
        char fds[512];
        size_t len = 0;
        struct pollfd p[FDS_MAX];
        struct sigaction sa = { .sa_handler = on_term };
        sigset_t block, waiting;
        const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
        int n;
        DIR *d;
        struct dirent *e;

        /* fds first, before this program opens anything of its own */
        fds[0] = '\0';
        d = opendir("/proc/self/fd");
        while (d && (e = readdir(d)))
                if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) && len < sizeof(fds) - 16)
                        len += (size_t)snprintf(fds + len, sizeof(fds) - len, "%s,", e->d_name);
        if (d)
                closedir(d);

        if (!lp || !lf || atoi(lp) != (int)getpid()) {
                fprintf(stderr, "listener-probe: not socket-activated for this pid\n");
                return 2;
        }
        n = atoi(lf);
        if (n < 1 || n > FDS_MAX)
                return 2;
        /* SIGTERM is let in only while it waits for a client (no race with
         * the check of terminated): a connection is always served whole. */
        sigemptyset(&sa.sa_mask);
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigprocmask(SIG_BLOCK, &block, &waiting) < 0)
                return 2;
        sigdelset(&waiting, SIGTERM);
        for (int i = 0; i < n; i++) {
                /* As most servers do: the copies race for each client, the loser sees EAGAIN. */
                int fl = fcntl(3 + i, F_GETFL);
                if (fl < 0 || fcntl(3 + i, F_SETFL, fl | O_NONBLOCK) < 0)
                        return 2;
                p[i] = (struct pollfd){ .fd = 3 + i, .events = POLLIN };
        }
        while (!terminated) {
                if (ppoll(p, (nfds_t)n, NULL, &waiting) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("listener-probe: ppoll");
                        return 1;
                }
                for (int i = 0; i < n; i++) {
                        if (!(p[i].revents & POLLIN))
                                continue;
                        int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
                                perror("listener-probe: accept4");
                                return 1;
                        }
                        if (c < 0)
                                continue;
                        serve(c, fds, tag);
                        if (once)
                                return 0;
                }
        }
        return 0;
}
