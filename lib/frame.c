/* The pool channel's frame codec: struct us_frame to and from the bytes of a
 * message, versions 1 and 2. Pure: no I/O, so it is unit-tested and fuzzed
 * directly. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "unixsock.h"

/* Fixed offsets, so that any language can read the header with one unpack. */
static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static bool has_credit(unsigned type)
{
        return type == US_FRAME_HELLO || type == US_FRAME_CREDIT;
}

static bool type_ok(unsigned version, unsigned type)
{
        return type >= US_FRAME_CONN && type <= (version == 1 ? US_FRAME_DONE : US_FRAME_CREDIT);
}

static bool sock_type_ok(unsigned version, unsigned type, uint32_t sock_type)
{
        if (version == 1 || type != US_FRAME_CONN)
                return sock_type == 0;
        return sock_type == SOCK_STREAM || sock_type == SOCK_SEQPACKET || sock_type == SOCK_DGRAM;
}

static void put_header(unsigned char *p, unsigned version, unsigned type, size_t len, uint64_t id)
{
        put16(p, (uint16_t)version);
        put16(p + 2, (uint16_t)type);
        put32(p + 4, (uint32_t)len);
        put64(p + 8, id);
}

ssize_t us_frame_encode(const struct us_frame *f, void *buf, size_t size)
{
        unsigned char *p = buf;
        unsigned version = f->version ? f->version : 1;
        bool conn = f->type == US_FRAME_CONN;
        size_t name = conn ? strnlen(f->socket, US_FRAME_NAME_MAX + 1) : 0;
        size_t len = US_FRAME_HEADER_SIZE + name;

        if (version > US_PROTO_VERSION || !type_ok(version, f->type) ||
            (conn && (name == 0 || name > US_FRAME_NAME_MAX)) ||
            !sock_type_ok(version, f->type, (uint32_t)f->sock_type) || (has_credit(f->type) && f->id > US_CREDIT_MAX) ||
            (version == 2 && !conn && (f->peer.pid || f->peer.uid || f->peer.gid))) {
                errno = EINVAL;
                return -1;
        }
        if (size < len) {
                errno = ENOBUFS;
                return -1;
        }
        put_header(p, version, f->type, len, f->id);
        put32(p + 16, (uint32_t)f->peer.pid);
        put32(p + 20, (uint32_t)f->peer.uid);
        put32(p + 24, (uint32_t)f->peer.gid);
        put32(p + 28, (uint32_t)f->sock_type);
        memcpy(p + US_FRAME_HEADER_SIZE, f->socket, name);
        return (ssize_t)len;
}

ssize_t us_frame_encode_ids(unsigned type, const uint64_t *ids, size_t n, void *buf, size_t size)
{
        unsigned char *p = buf;
        size_t len = US_FRAME_HEADER_SIZE + (n ? n - 1 : 0) * 8;

        if ((type != US_FRAME_ACK && type != US_FRAME_DONE) || n < 1 || n > US_FRAME_IDS_MAX) {
                errno = EINVAL;
                return -1;
        }
        if (size < len) {
                errno = ENOBUFS;
                return -1;
        }
        memset(p, 0, US_FRAME_HEADER_SIZE);
        put_header(p, 2, type, len, ids[0]);
        for (size_t i = 1; i < n; i++)
                put64(p + US_FRAME_HEADER_SIZE + (i - 1) * 8, ids[i]);
        return (ssize_t)len;
}

/* Checks the frame at p (avail bytes from there) and fills f; returns the
 * frame's length, or 0 with errno. Of a version 2 ACK or DONE, *extra gets
 * the number of ids after the header's. */
static size_t parse(const unsigned char *p, size_t avail, struct us_frame *f, size_t *extra)
{
        unsigned version, type;
        size_t len, body;
        uint32_t sock_type;

        if (avail < US_FRAME_HEADER_SIZE)
                goto bad;
        version = get16(p);
        if (version < 1 || version > US_PROTO_VERSION) {
                errno = EPROTONOSUPPORT;
                return 0;
        }
        type = get16(p + 2);
        len = get32(p + 4);
        sock_type = get32(p + 28);
        if (len < US_FRAME_HEADER_SIZE || len > avail || !type_ok(version, type) ||
            !sock_type_ok(version, type, sock_type))
                goto bad;
        body = len - US_FRAME_HEADER_SIZE;
        *extra = 0;
        if (type == US_FRAME_CONN) {
                if (body == 0 || body > US_FRAME_NAME_MAX || memchr(p + US_FRAME_HEADER_SIZE, '\0', body))
                        goto bad;
        } else {
                if (version == 2 && (get32(p + 16) || get32(p + 20) || get32(p + 24)))
                        goto bad;
                if (version == 2 && (type == US_FRAME_ACK || type == US_FRAME_DONE)) {
                        if (body % 8 || body / 8 >= US_FRAME_IDS_MAX)
                                goto bad;
                        *extra = body / 8;
                } else if (body) {
                        goto bad;
                }
                if (has_credit(type) && get64(p + 8) > US_CREDIT_MAX)
                        goto bad;
        }
        f->version = version;
        f->type = type;
        f->id = get64(p + 8);
        f->peer.pid = (pid_t)get32(p + 16);
        f->peer.uid = (uid_t)get32(p + 20);
        f->peer.gid = (gid_t)get32(p + 24);
        f->sock_type = (int)sock_type;
        memset(f->socket, 0, sizeof(f->socket));
        if (type == US_FRAME_CONN)
                memcpy(f->socket, p + US_FRAME_HEADER_SIZE, body);
        return len;
bad:
        errno = EBADMSG;
        return 0;
}

int us_frame_decode(const void *buf, size_t len, struct us_frame *f)
{
        struct us_frame g;
        size_t extra, n = parse(buf, len, &g, &extra);

        if (n == 0)
                return -1;
        if (n != len || extra) {
                errno = EBADMSG;
                return -1;
        }
        *f = g;
        return 0;
}

void us_frame_reader_init(struct us_frame_reader *r, const void *msg, size_t len)
{
        *r = (struct us_frame_reader){ .msg = msg, .len = len };
}

int us_frame_read(struct us_frame_reader *r, struct us_frame *f)
{
        struct us_frame g;
        size_t extra, n;

        if (r->n_ids) {
                /* the next id of the current list (an ACK or DONE: no other field) */
                *f = (struct us_frame){ .version = r->version, .type = r->type, .id = get64(r->ids) };
                r->ids += 8;
                r->n_ids--;
                return 1;
        }
        if (r->off == r->len) {
                if (r->len)
                        return 0;
                errno = EBADMSG;
                return -1;
        }
        n = parse(r->msg + r->off, r->len - r->off, &g, &extra);
        if (n == 0)
                return -1;
        if ((g.version == 1 && (r->off || n != r->len)) || (r->version && g.version != r->version)) {
                errno = EBADMSG;
                return -1;
        }
        r->version = g.version;
        r->type = g.type;
        r->ids = r->msg + r->off + US_FRAME_HEADER_SIZE;
        r->n_ids = extra;
        r->off += n;
        *f = g;
        return 1;
}
