/* inproc-echo: accept and echo in one process, one epoll loop: the physical
 * limit of this machine for a UNIX socket server, the reference the pool
 * dispatch is measured against. Supports systemd socket activation
 * (LISTEN_FDS=1, fd 3), so the same server runs directly and under unixsockd's
 * dispatch = listener.
 *   inproc-echo PATH     listen on PATH
 *   inproc-echo          take fd 3 from LISTEN_FDS/LISTEN_PID
 * Several copies may share the socket (EPOLLEXCLUSIVE). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_on(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
                return -1;
        return fd;
}

static int activated(void)
{
        const char *n = getenv("LISTEN_FDS"), *p = getenv("LISTEN_PID");

        if (!n || !p || atoi(n) != 1 || atoi(p) != getpid())
                return -1;
        if (fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
                return -1;
        return 3;
}

int main(int argc, char **argv)
{
        struct epoll_event ev, evs[64];
        char buf[65536];
        int lfd = argc > 1 ? listen_on(argv[1]) : activated();
        int ep = epoll_create1(EPOLL_CLOEXEC);

        signal(SIGPIPE, SIG_IGN);
        if (lfd < 0 || ep < 0) {
                fprintf(stderr, "inproc-echo: no listening socket: %s\n", strerror(errno));
                return 1;
        }
        /* copies sharing one listening socket (dispatch = listener with
         * instances = N) wake one at a time, as a pre-forking server's should;
         * alone it changes nothing */
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.fd = lfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
        for (;;) {
                int n = epoll_wait(ep, evs, 64, -1);
                for (int i = 0; i < n; i++) {
                        int fd = evs[i].data.fd;
                        if (fd == lfd) {
                                int c;
                                while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                                        ev.events = EPOLLIN;
                                        ev.data.fd = c;
                                        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                                }
                                continue;
                        }
                        ssize_t r = read(fd, buf, sizeof(buf));
                        if (r > 0 && write(fd, buf, (size_t)r) == r)
                                continue;
                        if (r < 0 && errno == EAGAIN)
                                continue;
                        close(fd); /* EOF, error, or a reply that did not fit at once */
                }
        }
}
