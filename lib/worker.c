/* The worker's side of the pool channel: open it, take connections (CONN, answered
 * ACK), give them back (DONE). The frames themselves are frame.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

struct us_worker {
        int fd;
};

struct us_worker *us_worker_open_fd(int fd)
{
        int v;
        socklen_t len = sizeof(v);
        struct us_worker *w;

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_SEQPACKET) {
                if (fcntl(fd, F_GETFD) >= 0)
                        errno = ENOTSOCK;
                return NULL;
        }
        len = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_UNIX) {
                errno = ENOTSOCK;
                return NULL;
        }
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return NULL;
        w = malloc(sizeof(*w));
        if (!w)
                return NULL;
        w->fd = fd;
        return w;
}

struct us_worker *us_worker_open(void)
{
        const char *e = getenv("UNIXSOCKD_CHANNEL");
        char *end;
        long fd;

        if (!e) {
                errno = ENOENT;
                return NULL;
        }
        errno = 0;
        fd = strtol(e, &end, 10);
        if (errno || *end || end == e || fd < 0 || fd > 65535) {
                errno = EBADF;
                return NULL;
        }
        return us_worker_open_fd((int)fd);
}

int us_worker_fd(const struct us_worker *w)
{
        return w->fd;
}

int us_worker_set_nonblock(struct us_worker *w, bool nonblock)
{
        return usi_set_nonblock(w->fd, nonblock);
}

static int reply(struct us_worker *w, unsigned type, uint64_t id)
{
        struct us_frame f = { .type = type, .id = id };
        unsigned char buf[US_FRAME_HEADER_SIZE];
        ssize_t n = us_frame_encode(&f, buf, sizeof(buf));

        return us_send_fd(w->fd, buf, (size_t)n, -1) < 0 ? -1 : 0;
}

int us_worker_accept(struct us_worker *w, struct us_conn *conn)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f;
        int fd = -1;
        ssize_t n = us_recv_fd(w->fd, buf, sizeof(buf), &fd);

        if (n <= 0)
                return (int)n;
        if (us_frame_decode(buf, (size_t)n, &f) < 0)
                return usi_close(fd);
        if (f.type != US_FRAME_CONN || fd < 0) {
                errno = EBADMSG;
                return usi_close(fd);
        }
        /* EPIPE: the daemon is stopping and needs no answer; the connection is still ours. */
        if (reply(w, US_FRAME_ACK, f.id) < 0 && errno != EPIPE)
                return usi_close(fd);
        conn->fd = fd;
        conn->id = f.id;
        conn->peer = f.peer;
        memcpy(conn->socket, f.socket, sizeof(conn->socket));
        return 1;
}

int us_worker_done(struct us_worker *w, struct us_conn *conn)
{
        if (conn->fd >= 0)
                (void)close(conn->fd);
        conn->fd = -1;
        return reply(w, US_FRAME_DONE, conn->id);
}

void us_worker_close(struct us_worker *w)
{
        if (!w)
                return;
        (void)close(w->fd);
        free(w);
}
