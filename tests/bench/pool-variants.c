/* pool-variants: other ways to run N pre-forked serial echo workers, to tell
 * which part of the pool dispatch costs what (tests/bench/README.md).
 *   pool-variants MODE PATH N
 * MODE:
 *   accept   no dispatch: the workers share the listening socket and each
 *            accepts for itself (prefork, einhorn); connections nobody has
 *            accepted wait in the kernel backlog
 *   ackdone  the parent accepts and sends each fd with a 32-byte header to the
 *            worker with the fewest connections in flight, keeps its copy until
 *            the worker's ACK and counts its DONE: unixsockd's protocol, minimal
 *   idle     ackdone, but a connection goes only to a worker with nothing in
 *            flight; the others wait in the backlog (no fd queued in a channel)
 *   batch    fdpass-pool, but what one wakeup accepts (up to 16) goes to one
 *            worker in one sendmsg, then the next worker */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define BATCH 16
#define HELD_MAX 64 /* fds sent to one worker and not yet ACKed */
#define HDR 32

static int recv_fds(int chan, int *fds)
{
        char hdr[HDR], ctl[CMSG_SPACE(sizeof(int) * BATCH)];
        struct iovec iov = { hdr, sizeof(hdr) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
        struct cmsghdr *cm;
        int n;

        if (recvmsg(chan, &mh, MSG_CMSG_CLOEXEC) <= 0 || !(cm = CMSG_FIRSTHDR(&mh)))
                return -1;
        n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)n);
        return n;
}

static int send_fds(int chan, const int *fds, int n)
{
        char hdr[HDR] = { 0 }, ctl[CMSG_SPACE(sizeof(int) * BATCH)] = { 0 };
        struct iovec iov = { hdr, sizeof(hdr) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
        return sendmsg(chan, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void echo(int fd)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (write(fd, buf, (size_t)n) != n)
                        break;
        close(fd);
}

static void reply(int chan, char type)
{
        char hdr[HDR] = { type };

        (void)send(chan, hdr, sizeof(hdr), MSG_NOSIGNAL);
}

static void worker(int chan, int acks)
{
        int fds[BATCH], n;

        while ((n = recv_fds(chan, fds)) > 0)
                for (int i = 0; i < n; i++) {
                        if (acks)
                                reply(chan, 'A');
                        echo(fds[i]);
                        if (acks)
                                reply(chan, 'D');
                }
        _exit(0);
}

static void batch_loop(int lfd, const int *chans, int n)
{
        struct pollfd p = { lfd, POLLIN, 0 };

        for (unsigned next = 0;; next++) {
                int fds[BATCH], k = 0;
                if (poll(&p, 1, -1) < 0)
                        continue;
                while (k < BATCH && (fds[k] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
                        k++;
                if (k == 0)
                        continue;
                (void)send_fds(chans[next % (unsigned)n], fds, k);
                for (int i = 0; i < k; i++)
                        close(fds[i]);
        }
}

static void ack_loop(int lfd, const int *chans, int n, int only_idle)
{
        int held[MAX_WORKERS][HELD_MAX], nheld[MAX_WORKERS] = { 0 }, inflight[MAX_WORKERS] = { 0 };

        for (;;) {
                struct pollfd p[MAX_WORKERS + 1];
                int busy = 0;
                for (int i = 0; i < n; i++) {
                        p[i] = (struct pollfd){ chans[i], POLLIN, 0 };
                        busy += inflight[i] > 0;
                }
                p[n] = (struct pollfd){ lfd, (only_idle && busy == n) ? 0 : POLLIN, 0 };
                if (poll(p, (nfds_t)n + 1, -1) < 0)
                        continue;
                for (int i = 0; i < n; i++) {
                        char hdr[HDR];
                        while (p[i].revents && recv(chans[i], hdr, sizeof(hdr), MSG_DONTWAIT) > 0) {
                                if (hdr[0] == 'A' && nheld[i] > 0) {
                                        close(held[i][0]);
                                        memmove(held[i], held[i] + 1, sizeof(int) * (size_t)--nheld[i]);
                                } else if (hdr[0] == 'D') {
                                        inflight[i]--;
                                }
                        }
                }
                if (!(p[n].revents & POLLIN))
                        continue;
                for (int k = 0; k < 32; k++) {
                        int best = -1, c;
                        for (int i = 0; i < n; i++)
                                if (nheld[i] < HELD_MAX && (!only_idle || inflight[i] == 0) &&
                                    (best < 0 || inflight[i] < inflight[best]))
                                        best = i;
                        if (best < 0 || (c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
                                break;
                        if (send_fds(chans[best], &c, 1) < 0) {
                                close(c);
                                continue;
                        }
                        held[best][nheld[best]++] = c;
                        inflight[best]++;
                }
        }
}

int main(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n = argc > 3 ? atoi(argv[3]) : 0, lfd, chans[MAX_WORKERS];
        const char *mode = argc > 1 ? argv[1] : "";
        int accept_mode = !strcmp(mode, "accept"), acks = !strcmp(mode, "ackdone") || !strcmp(mode, "idle");

        if (argc != 4 || n < 1 || n > MAX_WORKERS || strlen(argv[2]) >= sizeof(sa.sun_path) ||
            !(accept_mode || acks || !strcmp(mode, "batch"))) {
                fprintf(stderr, "usage: pool-variants accept|ackdone|idle|batch PATH WORKERS (1-%d)\n",
                        MAX_WORKERS);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        strcpy(sa.sun_path, argv[2]);
        unlink(argv[2]);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
                perror(argv[2]);
                return 1;
        }
        if (accept_mode) {
                for (int i = 0; i < n; i++)
                        if (fork() == 0)
                                for (;;) {
                                        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                                        if (c >= 0)
                                                echo(c);
                                }
                for (;;)
                        pause(); /* SIGTERM ends it; the workers die with the process group */
        }
        for (int i = 0; i < n; i++) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                        return 1;
                if (fork() == 0) {
                        close(sv[0]);
                        worker(sv[1], acks);
                }
                close(sv[1]);
                chans[i] = sv[0];
        }
        /* the parent accepts only what poll said is there */
        if (fcntl(lfd, F_SETFL, O_NONBLOCK) < 0)
                return 1;
        if (acks)
                ack_loop(lfd, chans, n, !strcmp(mode, "idle"));
        else
                batch_loop(lfd, chans, n);
        return 0;
}
