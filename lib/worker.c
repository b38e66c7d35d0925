/* The worker's side of the pool channel: say HELLO with a credit, take
 * connections (CONN, answered ACK), give them back (DONE). The frames
 * themselves are frame.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

#define NONBLOCK_CREDIT 64

struct us_worker {
        int fd;
        unsigned credit;                        /* what the daemon was told */
        unsigned held;                          /* handed out, not DONE */
        bool credit_set;                        /* by us_worker_set_credit() */
        size_t head, n;                         /* arrived together, not handed out yet */
        struct us_conn queue[US_FRAME_BATCH_MAX];
        size_t n_done;                          /* DONE kept back by us_worker_done_later() */
        uint64_t done[US_FRAME_IDS_MAX];
};

static int say(struct us_worker *w, unsigned type, uint64_t value)
{
        struct us_frame f = { .version = 2, .type = type, .id = value };
        unsigned char buf[US_FRAME_HEADER_SIZE];
        ssize_t n = us_frame_encode(&f, buf, sizeof(buf));

        return n < 0 || us_send_fd(w->fd, buf, (size_t)n, -1) < 0 ? -1 : 0;
}

static int credit(struct us_worker *w, unsigned value)
{
        if (value == w->credit)
                return 0;
        if (say(w, US_FRAME_CREDIT, value) < 0)
                return -1;
        w->credit = value;
        return 0;
}

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
        w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->fd = fd;
        w->credit = 1;
        /* EPIPE: the daemon is stopping already; reading tells the worker so. */
        if (say(w, US_FRAME_HELLO, w->credit) < 0 && errno != EPIPE) {
                free(w);
                return NULL;
        }
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
        if (usi_set_nonblock(w->fd, nonblock) < 0)
                return -1;
        /* an event loop serves many at once: ask for them */
        if (nonblock && !w->credit_set && w->credit < NONBLOCK_CREDIT)
                return credit(w, NONBLOCK_CREDIT);
        return 0;
}

int us_worker_set_credit(struct us_worker *w, unsigned value)
{
        if (value < 1 || value > US_CREDIT_MAX) {
                errno = EINVAL;
                return -1;
        }
        w->credit_set = true;
        return credit(w, value);
}

static void close_fds(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                usi_close(fds[i]);
}

/* A version 1 CONN tells no type (the daemon sends version 1 until the
 * worker's HELLO reaches it): the connection's own. */
static int fd_type(int fd)
{
        int type = SOCK_STREAM;
        socklen_t len = sizeof(type);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                type = SOCK_STREAM;
        return type;
}

/* Checks a message from the daemon: CONN frames, one fd each. Fills the
 * queue and ids[]. 0, or -1 with errno and every fd closed. */
static int take(struct us_worker *w, const unsigned char *buf, size_t len, int *fds, size_t nfds,
                uint64_t *ids, unsigned *version)
{
        struct us_frame_reader r;
        struct us_frame f;
        size_t k = 0;
        int got;

        us_frame_reader_init(&r, buf, len);
        while ((got = us_frame_read(&r, &f)) > 0) {
                if (f.type != US_FRAME_CONN || k == nfds) {
                        got = -1;
                        errno = EBADMSG;
                        break;
                }
                struct us_conn *c = &w->queue[k];
                *c = (struct us_conn){ .fd = fds[k], .id = f.id, .peer = f.peer,
                                       .sock_type = f.version == 2 ? f.sock_type : fd_type(fds[k]) };
                memcpy(c->socket, f.socket, sizeof(c->socket));
                ids[k++] = f.id;
                *version = f.version;
        }
        if (got < 0 || k != nfds || k == 0) {
                if (got == 0)
                        errno = EBADMSG;
                close_fds(fds, nfds);
                return -1;
        }
        w->head = 0;
        w->n = k;
        return 0;
}

/* Receives the next message and ACKs all it brought at once. */
static int receive(struct us_worker *w)
{
        unsigned char buf[US_FRAME_MSG_MAX];
        unsigned char ack[US_FRAME_HEADER_SIZE + 8 * US_FRAME_BATCH_MAX];
        int fds[US_FRAME_BATCH_MAX];
        uint64_t ids[US_FRAME_BATCH_MAX];
        unsigned version = 2;
        size_t nfds;
        ssize_t n = us_recv_fds(w->fd, buf, sizeof(buf), fds, US_FRAME_BATCH_MAX, &nfds);

        /* The daemon closed its end with our HELLO or DONE unread: said once,
         * before what it had sent us, which is still there to read. */
        if (n < 0 && errno == ECONNRESET)
                n = us_recv_fds(w->fd, buf, sizeof(buf), fds, US_FRAME_BATCH_MAX, &nfds);
        if (n <= 0)
                return (int)n;
        if (take(w, buf, (size_t)n, fds, nfds, ids, &version) < 0)
                return -1;
        if (version == 1) {
                struct us_frame f = { .version = 1, .type = US_FRAME_ACK, .id = ids[0] };
                n = us_frame_encode(&f, ack, sizeof(ack));
        } else {
                n = us_frame_encode_ids(US_FRAME_ACK, ids, w->n, ack, sizeof(ack));
        }
        /* EPIPE: the daemon is stopping and needs no answer; the connections are still ours. */
        if (us_send_fd(w->fd, ack, (size_t)n, -1) < 0 && errno != EPIPE) {
                int err = errno;
                for (size_t i = 0; i < w->n; i++)
                        usi_close(w->queue[i].fd);
                w->n = 0;
                errno = err;
                return -1;
        }
        return 1;
}

int us_worker_accept(struct us_worker *w, struct us_conn *conn)
{
        if (w->n == 0) {
                int r;
                if (us_worker_flush(w) < 0 && errno != EPIPE)
                        return -1;
                /* accepting while holding all it asked for: it serves several at once */
                if (w->held >= w->credit && w->credit < US_CREDIT_MAX && credit(w, w->held + 1) < 0 &&
                    errno != EPIPE)
                        return -1;
                r = receive(w);
                if (r <= 0)
                        return r;
        }
        *conn = w->queue[w->head++];
        w->n--;
        w->held++;
        return 1;
}

int us_worker_flush(struct us_worker *w)
{
        unsigned char buf[US_FRAME_HEADER_SIZE + 8 * US_FRAME_IDS_MAX];
        ssize_t n;

        if (w->n_done == 0)
                return 0;
        n = us_frame_encode_ids(US_FRAME_DONE, w->done, w->n_done, buf, sizeof(buf));
        w->n_done = 0;
        return n < 0 || us_send_fd(w->fd, buf, (size_t)n, -1) < 0 ? -1 : 0;
}

int us_worker_done_later(struct us_worker *w, struct us_conn *conn)
{
        if (conn->fd >= 0)
                (void)close(conn->fd);
        conn->fd = -1;
        if (w->held)
                w->held--;
        w->done[w->n_done++] = conn->id;
        return w->n_done == US_FRAME_IDS_MAX ? us_worker_flush(w) : 0;
}

int us_worker_done(struct us_worker *w, struct us_conn *conn)
{
        if (conn->fd >= 0)
                (void)close(conn->fd);
        conn->fd = -1;
        if (w->held)
                w->held--;
        return say(w, US_FRAME_DONE, conn->id);
}

void us_worker_close(struct us_worker *w)
{
        if (!w)
                return;
        for (size_t i = 0; i < w->n; i++)
                usi_close(w->queue[w->head + i].fd);
        (void)us_worker_flush(w);
        (void)close(w->fd);
        free(w);
}
