/* fdpass-pool: the minimal accept-and-pass-fd loop with pre-forked workers,
 * the floor under unixsockd's pool dispatch: one parent accepts and sends each
 * fd round robin over a SOCK_SEQPACKET pair, no acknowledgement, no accounting.
 * Each worker echoes one connection at a time until EOF.
 *   fdpass-pool PATH WORKERS */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int recv_fd(int chan)
{
        char c, ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { &c, 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
        struct cmsghdr *cm;
        int fd;

        if (recvmsg(chan, &mh, MSG_CMSG_CLOEXEC) <= 0 || !(cm = CMSG_FIRSTHDR(&mh)))
                return -1;
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
}

static int send_fd(int chan, int fd)
{
        char c = 'c', ctl[CMSG_SPACE(sizeof(int))] = { 0 };
        struct iovec iov = { &c, 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(chan, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void worker(int chan)
{
        char buf[65536];
        int fd;

        while ((fd = recv_fd(chan)) >= 0) {
                ssize_t n;
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (write(fd, buf, (size_t)n) != n)
                                break;
                close(fd);
        }
        _exit(0);
}

int main(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n = argc > 2 ? atoi(argv[2]) : 0, lfd, *chans;

        if (argc < 3 || n < 1 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: fdpass-pool PATH WORKERS\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        chans = calloc((size_t)n, sizeof(*chans));
        for (int i = 0; i < n; i++) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                        return 1;
                if (fork() == 0) {
                        close(sv[0]);
                        worker(sv[1]);
                }
                close(sv[1]);
                chans[i] = sv[0];
        }
        strcpy(sa.sun_path, argv[1]);
        unlink(argv[1]);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
                perror(argv[1]);
                return 1;
        }
        for (unsigned i = 0;; i++) {
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        return 1;
                }
                send_fd(chans[i % (unsigned)n], c);
                close(c);
        }
}
