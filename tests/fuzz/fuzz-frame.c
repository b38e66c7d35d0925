/* libFuzzer target of the pool channel's framing (lib/frame.c). Every input
 * is used two ways:
 *   - as a message: us_frame_decode() must refuse it with EBADMSG or
 *     EPROTONOSUPPORT and leave its output alone, or accept it, and then
 *     us_frame_encode() must give back exactly the same bytes (the header has
 *     no slack: every byte is checked on the way in);
 *   - as the fields of a struct us_frame: if us_frame_encode() takes it,
 *     us_frame_decode() must give back the same frame. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
        check(f.type >= US_FRAME_CONN && f.type <= US_FRAME_DONE);
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
        f.type = type;
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
                size_t l = strnlen(f.socket, sizeof(f.socket));

                check(errno == EINVAL);
                check(type < US_FRAME_CONN || type > US_FRAME_DONE ||
                      (type == US_FRAME_CONN && (l == 0 || l > US_FRAME_NAME_MAX)));
                return;
        }
        check((size_t)n >= US_FRAME_HEADER_SIZE);
        memset(&g, 0, sizeof(g));
        check(us_frame_decode(out, (size_t)n, &g) == 0);
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
        return 0;
}
