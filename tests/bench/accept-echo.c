/* accept-echo: a pre-forking server's worker, for copies sharing one listening
 * socket (unixsockd dispatch = listener with instances = N, as gunicorn's sync
 * workers or einhorn's): takes fd 3 from LISTEN_FDS/LISTEN_PID, then one
 * connection at a time: wait for a client (EPOLLEXCLUSIVE: one copy wakes per
 * connection), accept it, echo it until EOF, close it. The socket is
 * non-blocking (its description is the daemon's too: its flags are left as
 * they are), the connection blocking.
 *   accept-echo          (socket activation only) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void echo(int c)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(c, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(c, buf + off, (size_t)(n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return;
                        off += w;
                }
        }
}

int main(void)
{
        const char *n = getenv("LISTEN_FDS"), *p = getenv("LISTEN_PID");
        struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = 3 };
        int ep = epoll_create1(EPOLL_CLOEXEC);

        signal(SIGPIPE, SIG_IGN);
        if (!n || !p || atoi(n) != 1 || atoi(p) != getpid() || ep < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, 3, &ev) < 0) {
                fprintf(stderr, "accept-echo: run me with one socket (LISTEN_FDS=1): %s\n", strerror(errno));
                return 1;
        }
        for (;;) {
                int c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0) {
                        echo(c);
                        close(c);
                        continue;
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                        return 1;
                while (epoll_wait(ep, &ev, 1, -1) < 0)
                        if (errno != EINTR)
                                return 1;
        }
}
