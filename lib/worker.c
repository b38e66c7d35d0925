/* The pool channel: frame encoding, and the worker's side of it. */
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

/* Fixed offsets, so that any language can read the header with one unpack. */
static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

ssize_t us_frame_encode(const struct us_frame *f, void *buf, size_t size)
{
        unsigned char *p = buf;
        size_t name = f->type == US_FRAME_CONN ? strnlen(f->socket, US_FRAME_NAME_MAX + 1) : 0;
        size_t len = US_FRAME_HEADER_SIZE + name;

        if (f->type < US_FRAME_CONN || f->type > US_FRAME_DONE ||
            (f->type == US_FRAME_CONN && (name == 0 || name > US_FRAME_NAME_MAX))) {
                errno = EINVAL;
                return -1;
        }
        if (size < len) {
                errno = ENOBUFS;
                return -1;
        }
        put16(p, US_PROTO_VERSION);
        put16(p + 2, (uint16_t)f->type);
        put32(p + 4, (uint32_t)len);
        put64(p + 8, f->id);
        put32(p + 16, (uint32_t)f->peer.pid);
        put32(p + 20, (uint32_t)f->peer.uid);
        put32(p + 24, (uint32_t)f->peer.gid);
        put32(p + 28, 0);
        memcpy(p + US_FRAME_HEADER_SIZE, f->socket, name);
        return (ssize_t)len;
}

int us_frame_decode(const void *buf, size_t len, struct us_frame *f)
{
        const unsigned char *p = buf;
        unsigned type;
        size_t name;

        if (len < US_FRAME_HEADER_SIZE)
                goto bad;
        if (get16(p) != US_PROTO_VERSION) {
                errno = EPROTONOSUPPORT;
                return -1;
        }
        type = get16(p + 2);
        if (get32(p + 4) != len || get32(p + 28) != 0 || type < US_FRAME_CONN || type > US_FRAME_DONE)
                goto bad;
        name = len - US_FRAME_HEADER_SIZE;
        if ((type == US_FRAME_CONN) != (name > 0) || name > US_FRAME_NAME_MAX ||
            memchr(p + US_FRAME_HEADER_SIZE, '\0', name))
                goto bad;
        f->type = type;
        f->id = get64(p + 8);
        f->peer.pid = (pid_t)get32(p + 16);
        f->peer.uid = (uid_t)get32(p + 20);
        f->peer.gid = (gid_t)get32(p + 24);
        memcpy(f->socket, p + US_FRAME_HEADER_SIZE, name);
        f->socket[name] = '\0';
        return 0;
bad:
        errno = EBADMSG;
        return -1;
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
        int fl = fcntl(w->fd, F_GETFL);

        if (fl < 0)
                return -1;
        return fcntl(w->fd, F_SETFL, nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
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
