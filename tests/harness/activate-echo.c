/* An echo server that knows nothing of unixsockd: what runs under a systemd
 * socket unit runs unchanged under the daemon.
 *   With LISTEN_FDS (Accept=no, dispatch = listener): serves every socket it
 *   is given, whatever its type: a stream or seqpacket listener's clients one
 *   at a time, each read sent back as one write (so a seqpacket client gets
 *   each message back as one message), until the client's EOF; a datagram
 *   socket's datagrams, each sent back to its sender.
 *   Without (Accept=yes, dispatch = spawn): echoes stdin to stdout the same way.
 * It runs until it is killed (SIGTERM). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FDS_MAX 64

static char buf[65536];

/* Each read sent back as one write, until EOF. */
static void echo(int in, int out)
{
        ssize_t n;

        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || write(out, buf, (size_t)n) != n)
                        return;
        }
}

static void datagram(int fd)
{
        struct sockaddr_un from;
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len);

        if (n >= 0 && len > sizeof(sa_family_t))
                (void)sendto(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&from, len);
}

int main(void)
{
        const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
        struct pollfd p[FDS_MAX];
        int type[FDS_MAX], n;

        if (!fds) {
                echo(0, 1);
                return 0;
        }
        if (pid && atol(pid) != (long)getpid()) {
                fprintf(stderr, "activate-echo: LISTEN_PID=%s is not %ld\n", pid, (long)getpid());
                return 2;
        }
        n = atoi(fds);
        if (n < 1 || n > FDS_MAX) {
                fprintf(stderr, "activate-echo: LISTEN_FDS=%s\n", fds);
                return 2;
        }
        for (int i = 0; i < n; i++) {
                socklen_t len = sizeof(type[i]);
                p[i] = (struct pollfd){ .fd = 3 + i, .events = POLLIN };
                if (getsockopt(3 + i, SOL_SOCKET, SO_TYPE, &type[i], &len) < 0) {
                        fprintf(stderr, "activate-echo: fd %d: %s\n", 3 + i, strerror(errno));
                        return 2;
                }
        }
        for (;;) {
                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                for (int i = 0; i < n; i++) {
                        if (!(p[i].revents & POLLIN))
                                continue;
                        if (type[i] == SOCK_DGRAM) {
                                datagram(p[i].fd);
                                continue;
                        }
                        int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        echo(c, c);
                        close(c);
                }
        }
}
