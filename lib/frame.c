/* The pool channel's frame codec: struct us_frame to and from the bytes of one
 * message. Pure: no I/O, so it is unit-tested and fuzzed directly. */
#include <errno.h>
#include <string.h>

#include "unixsock.h"

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
