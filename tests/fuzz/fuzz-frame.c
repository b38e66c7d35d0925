/* libFuzzer target of the pool channel's framing (lib/frame.c). Every input
 * is used three ways:
 *   - as a message: us_frame_decode() must refuse it with EBADMSG or
 *     EPROTONOSUPPORT and leave its output alone, or accept it, and then
 *     us_frame_encode() must give back exactly the same bytes (the header has
 *     no slack: every byte is checked on the way in);
 *   - as the fields of a struct us_frame: if us_frame_encode() takes it,
 *     us_frame_decode() must give back the same frame;
 *   - as a message of several frames: us_frame_read() yields frames that are
 *     each valid and stops at the end of the message, or refuses it with
 *     EBADMSG or EPROTONOSUPPORT. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unixsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void decode_encode(const uint8_t *data, size_t size)
{
        struct us_frame f, before;
        unsigned char out[US_FRAME_MAX + 1];
        ssize_t n;

        memset(&f, 0xa5, sizeof(f));
        before = f;
        errno = 0;
        if (us_frame_decode(data, size, &f) < 0) {
                check(errno == EBADMSG || errno == EPROTONOSUPPORT);
                check(memcmp(&f, &before, sizeof(f)) == 0);     /* written only on success */
                return;
        }
        check(size >= US_FRAME_HEADER_SIZE && size <= US_FRAME_MAX);
        check(f.version == 1 || f.version == 2);
        check(f.type >= US_FRAME_CONN && f.type <= (f.version == 1 ? US_FRAME_DONE : US_FRAME_CREDIT));
        check(strlen(f.socket) == size - US_FRAME_HEADER_SIZE);

        n = us_frame_encode(&f, out, sizeof(out));
        check(n >= 0 && (size_t)n == size && memcmp(out, data, size) == 0);

        /* One byte short is refused, and nothing is written. */
        memset(out, 0x5a, sizeof(out));
        errno = 0;
        check(us_frame_encode(&f, out, size - 1) < 0 && errno == ENOBUFS);
        for (size_t i = 0; i < sizeof(out); i++)
                check(out[i] == 0x5a);
}

/* The rules of unixsock.h, said again independently of frame.c. */
static bool encodable(const struct us_frame *f)
{
        unsigned v = f->version ? f->version : 1;
        size_t l = strnlen(f->socket, sizeof(f->socket));
        bool conn = f->type == US_FRAME_CONN;
        bool types_ok = v == 1 || !conn ? f->sock_type == 0
                                        : f->sock_type == SOCK_STREAM || f->sock_type == SOCK_DGRAM ||
                                                  f->sock_type == SOCK_SEQPACKET;

        return v <= 2 && f->type >= US_FRAME_CONN && f->type <= (v == 1 ? US_FRAME_DONE : US_FRAME_CREDIT) &&
               (!conn || (l >= 1 && l <= US_FRAME_NAME_MAX)) && types_ok &&
               (f->type < US_FRAME_HELLO || f->id <= US_CREDIT_MAX) &&
               (v == 1 || conn || (f->peer.pid == 0 && f->peer.uid == 0 && f->peer.gid == 0));
}

/* The frames of one message: each valid; the last ends the message. */
static void read_message(const uint8_t *data, size_t size)
{
        struct us_frame_reader r;
        struct us_frame f;
        unsigned version = 0;
        size_t n = 0;
        int got;

        us_frame_reader_init(&r, data, size);
        while ((got = us_frame_read(&r, &f)) > 0) {
                check(f.version == 1 || f.version == 2);
                check(!version || f.version == version);
                version = f.version;
                check(f.type >= US_FRAME_CONN && f.type <= (f.version == 1 ? US_FRAME_DONE : US_FRAME_CREDIT));
                check((f.type == US_FRAME_CONN) == (f.socket[0] != '\0'));
                check(strlen(f.socket) <= US_FRAME_NAME_MAX);
                check(r.off <= size);
                check(++n <= size / 8);         /* a frame, or a listed id, takes 8 bytes at least */
        }
        if (got < 0) {
                check(errno == EBADMSG || errno == EPROTONOSUPPORT);
                return;
        }
        check(r.off == size && size > 0 && n > 0);
        if (version == 1)
                check(n == 1);
}

static void encode_decode(const uint8_t *data, size_t size)
{
        struct us_frame f, g;
        unsigned char out[US_FRAME_MAX];
        uint16_t type;
        uint32_t u;
        size_t name;
        ssize_t n;

        if (size < 2 + 8 + 12)
                return;
        memset(&f, 0, sizeof(f));
        memcpy(&type, data, 2);
        /* low byte the type, then 2 bits of version (0: 1), 3 bits of socket type */
        f.type = type & 0xff;
        f.version = (type >> 8) & 3;
        f.sock_type = (type >> 10) & 7;
        memcpy(&f.id, data + 2, 8);
        memcpy(&u, data + 10, 4);
        f.peer.pid = (pid_t)u;
        memcpy(&u, data + 14, 4);
        f.peer.uid = (uid_t)u;
        memcpy(&u, data + 18, 4);
        f.peer.gid = (gid_t)u;
        /* The whole name buffer, so names of 256 bytes with no NUL come too. */
        name = size - 22 < sizeof(f.socket) ? size - 22 : sizeof(f.socket);
        memcpy(f.socket, data + 22, name);

        errno = 0;
        n = us_frame_encode(&f, out, sizeof(out));
        if (n < 0) {
                check(errno == EINVAL);
                check(!encodable(&f));
                return;
        }
        check(encodable(&f));
        check((size_t)n >= US_FRAME_HEADER_SIZE);
        memset(&g, 0, sizeof(g));
        check(us_frame_decode(out, (size_t)n, &g) == 0);
        check(g.version == (f.version ? f.version : 1u) && g.sock_type == f.sock_type);
        check(g.type == f.type && g.id == f.id && g.peer.pid == f.peer.pid &&
              g.peer.uid == f.peer.uid && g.peer.gid == f.peer.gid);
        if (f.type == US_FRAME_CONN)
                check(strcmp(g.socket, f.socket) == 0);
        else
                check(g.socket[0] == '\0');     /* a name where none belongs is not sent */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        decode_encode(data, size);
        encode_decode(data, size);
        read_message(data, size);
        return 0;
}
