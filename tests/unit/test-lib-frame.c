/* The pool frame codec (lib/frame.c): round trips, the fixed layout, and every
 * malformed message refused with the errno unixsock.h documents. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unixsock.h"

TestSuite(frame, .timeout = 30);

static ssize_t encode(const struct us_frame *f, unsigned char *buf)
{
        return us_frame_encode(f, buf, US_FRAME_MAX);
}

/* ---- kept from test-lib-worker.c, where the codec's tests lived ---------- */

Test(frame, conn_frame_round_trips_with_its_fixed_layout)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 0x0102030405060708ULL,
                              .peer = { 1234, 1000, 100 } }, g;
        unsigned char buf[US_FRAME_MAX];
        uint16_t v16;
        uint32_t v32;

        strcpy(f.socket, "echo");
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE + 4);
        memcpy(&v16, buf, 2);
        cr_assert_eq(v16, 1, "version 0 in the struct encodes version 1");
        memcpy(&v16, buf + 2, 2);
        cr_assert_eq(v16, US_FRAME_CONN);
        memcpy(&v32, buf + 4, 4);
        cr_assert_eq(v32, US_FRAME_HEADER_SIZE + 4);
        memcpy(&v32, buf + 20, 4);
        cr_assert_eq(v32, 1000);
        cr_assert(memcmp(buf + 32, "echo", 4) == 0);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE + 4, &g), 0);
        cr_assert_eq(g.type, US_FRAME_CONN);
        cr_assert_eq(g.id, f.id);
        cr_assert_eq(g.peer.pid, 1234);
        cr_assert_eq(g.peer.uid, 1000);
        cr_assert_eq(g.peer.gid, 100);
        cr_assert_str_eq(g.socket, "echo");
}

Test(frame, ack_and_done_are_header_only)
{
        struct us_frame f = { .type = US_FRAME_ACK, .id = 9 }, g;
        unsigned char buf[US_FRAME_MAX];

        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE, &g), 0);
        cr_assert_eq(g.type, US_FRAME_ACK);
        cr_assert_str_eq(g.socket, "");
        f.type = US_FRAME_DONE;
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE);
}

Test(frame, encode_refuses_what_cannot_be_sent)
{
        struct us_frame f = { .type = US_FRAME_CONN };
        unsigned char buf[US_FRAME_MAX];

        cr_assert_eq(encode(&f, buf), -1, "CONN without a socket name");
        cr_assert_eq(errno, EINVAL);
        memset(f.socket, 'n', US_FRAME_NAME_MAX);
        cr_assert_eq(encode(&f, buf), US_FRAME_MAX);
        cr_assert_eq(us_frame_encode(&f, buf, US_FRAME_MAX - 1), -1);
        cr_assert_eq(errno, ENOBUFS);
        f.type = 7;
        cr_assert_eq(encode(&f, buf), -1);
        cr_assert_eq(errno, EINVAL);
}

Test(frame, decode_refuses_malformed_messages)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 1 }, g;
        unsigned char buf[US_FRAME_MAX], bad[US_FRAME_MAX];
        uint16_t v16;
        uint32_t v32;

        strcpy(f.socket, "s");
        ssize_t n = encode(&f, buf);
        cr_assert_eq(us_frame_decode(buf, 10, &g), -1, "too short");
        cr_assert_eq(errno, EBADMSG);
        cr_assert_eq(us_frame_decode(buf, (size_t)n - 1, &g), -1, "length field disagrees");
        cr_assert_eq(errno, EBADMSG);
        memcpy(bad, buf, (size_t)n);
        v16 = 2;
        memcpy(bad, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "a version 2 CONN names its socket type");
        cr_assert_eq(errno, EBADMSG);
        v16 = US_PROTO_VERSION + 1;
        memcpy(bad, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1);
        cr_assert_eq(errno, EPROTONOSUPPORT);
        memcpy(bad, buf, (size_t)n);
        v16 = 9;
        memcpy(bad + 2, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "unknown type");
        memcpy(bad, buf, (size_t)n);
        v32 = 1;
        memcpy(bad + 28, &v32, 4);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "reserved not 0");
        memcpy(bad, buf, (size_t)n);
        bad[32] = '\0';
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "NUL in the name");
        memcpy(bad, buf, (size_t)n);
        v16 = US_FRAME_ACK;
        memcpy(bad + 2, &v16, 2);
        cr_assert_eq(us_frame_decode(bad, (size_t)n, &g), -1, "ACK with a name");
        cr_assert_eq(errno, EBADMSG);
}

/* ---- round trips ---------------------------------------------------------- */

static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void expect_same(const struct us_frame *a, const struct us_frame *b)
{
        cr_assert_eq(a->type, b->type);
        cr_assert_eq(a->id, b->id);
        cr_assert_eq(a->peer.pid, b->peer.pid);
        cr_assert_eq(a->peer.uid, b->peer.uid);
        cr_assert_eq(a->peer.gid, b->peer.gid);
        cr_assert_str_eq(a->socket, b->socket);
}

Test(frame, every_field_round_trips_at_its_extremes)
{
        static const uint64_t ids[] = { 0, 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX };
        static const struct us_peer peers[] = {
                { 0, 0, 0 }, { 1, 1, 1 }, { INT32_MAX, (uid_t)-2, (gid_t)-2 },
                { -1, (uid_t)-1, (gid_t)-1 }, { INT32_MIN, 65534, 65534 },
        };
        unsigned char buf[US_FRAME_MAX];

        for (unsigned type = US_FRAME_CONN; type <= US_FRAME_DONE; type++)
                for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
                        for (size_t j = 0; j < sizeof(peers) / sizeof(peers[0]); j++) {
                                struct us_frame f = { .type = type, .id = ids[i], .peer = peers[j] }, g;

                                if (type == US_FRAME_CONN)
                                        strcpy(f.socket, "x");
                                ssize_t n = encode(&f, buf);
                                cr_assert_gt(n, 0);
                                memset(&g, 0x5a, sizeof(g));
                                cr_assert_eq(us_frame_decode(buf, (size_t)n, &g), 0);
                                expect_same(&f, &g);
                        }
}

Test(frame, header_fields_sit_at_their_documented_offsets)
{
        struct us_frame f = { .type = US_FRAME_DONE, .id = 0x1122334455667788ULL,
                              .peer = { 0x01020304, 0x05060708, 0x090a0b0c } };
        unsigned char buf[US_FRAME_MAX];
        uint64_t id;

        memset(buf, 0xee, sizeof(buf));
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE);
        memcpy(&id, buf + 8, 8);
        cr_assert_eq(id, f.id);
        cr_assert_eq(get32(buf + 4), US_FRAME_HEADER_SIZE);
        cr_assert_eq(get32(buf + 16), 0x01020304u);
        cr_assert_eq(get32(buf + 20), 0x05060708u);
        cr_assert_eq(get32(buf + 24), 0x090a0b0cu);
        cr_assert_eq(get32(buf + 28), 0, "reserved is 0");
        cr_assert_eq(buf[US_FRAME_HEADER_SIZE], 0xee, "nothing written past the message");
}

Test(frame, names_of_1_and_255_bytes_round_trip_and_256_is_refused)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 3 }, g;
        unsigned char buf[US_FRAME_MAX + 16];

        f.socket[0] = 'a';
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE + 1);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE + 1, &g), 0);
        expect_same(&f, &g);

        memset(f.socket, 'b', US_FRAME_NAME_MAX);
        f.socket[US_FRAME_NAME_MAX] = '\0';
        cr_assert_eq(encode(&f, buf), US_FRAME_MAX);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_MAX, &g), 0);
        expect_same(&f, &g);
        cr_assert_eq(strlen(g.socket), US_FRAME_NAME_MAX);

        /* The name buffer full, no NUL in it: one byte too long. */
        memset(f.socket, 'c', sizeof(f.socket));
        errno = 0;
        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), -1);
        cr_assert_eq(errno, EINVAL);

        /* The same on the way in: a message of 32 + 256 bytes that says so. */
        memset(f.socket, 'c', US_FRAME_NAME_MAX);
        f.socket[US_FRAME_NAME_MAX] = '\0';
        cr_assert_eq(encode(&f, buf), US_FRAME_MAX);
        buf[US_FRAME_MAX] = 'c';
        put32(buf + 4, US_FRAME_MAX + 1);
        errno = 0;
        cr_assert_eq(us_frame_decode(buf, US_FRAME_MAX + 1, &g), -1);
        cr_assert_eq(errno, EBADMSG);
}

Test(frame, ack_and_done_never_send_a_name)
{
        struct us_frame f = { .type = US_FRAME_DONE, .id = 4 }, g;
        unsigned char buf[US_FRAME_MAX];

        strcpy(f.socket, "left over");
        cr_assert_eq(encode(&f, buf), US_FRAME_HEADER_SIZE);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE, &g), 0);
        cr_assert_str_eq(g.socket, "");
}

Test(frame, decode_reads_a_message_at_any_alignment)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 99, .peer = { 5, 6, 7 } }, g;
        unsigned char buf[US_FRAME_MAX + 8];

        strcpy(f.socket, "aligned");
        for (size_t off = 0; off < 8; off++) {
                ssize_t n = us_frame_encode(&f, buf + off, US_FRAME_MAX);
                cr_assert_gt(n, 0);
                cr_assert_eq(us_frame_decode(buf + off, (size_t)n, &g), 0);
                expect_same(&f, &g);
        }
}

/* ---- what encode refuses --------------------------------------------------- */

Test(frame, encode_refuses_unknown_types_with_einval)
{
        static const unsigned bad[] = { 0, US_FRAME_DONE + 1, 0x10000 + US_FRAME_ACK, ~0u };
        struct us_frame f = { .id = 1 };
        unsigned char buf[US_FRAME_MAX];

        strcpy(f.socket, "s");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                f.type = bad[i];
                errno = 0;
                cr_assert_eq(encode(&f, buf), -1, "type %u", bad[i]);
                cr_assert_eq(errno, EINVAL);
        }
}

Test(frame, encode_into_a_short_buffer_is_enobufs_and_writes_nothing)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 1 };
        unsigned char buf[US_FRAME_MAX];

        strcpy(f.socket, "name");
        for (size_t size = 0; size < US_FRAME_HEADER_SIZE + 4; size++) {
                memset(buf, 0x77, sizeof(buf));
                errno = 0;
                cr_assert_eq(us_frame_encode(&f, buf, size), -1, "size %zu", size);
                cr_assert_eq(errno, ENOBUFS);
                for (size_t i = 0; i < sizeof(buf); i++)
                        cr_assert_eq(buf[i], 0x77, "byte %zu written with size %zu", i, size);
        }
        cr_assert_eq(us_frame_encode(&f, buf, US_FRAME_HEADER_SIZE + 4), US_FRAME_HEADER_SIZE + 4,
                     "exactly the message's size is enough");
        f.type = US_FRAME_ACK;
        cr_assert_eq(us_frame_encode(&f, buf, US_FRAME_HEADER_SIZE), US_FRAME_HEADER_SIZE);
        errno = 0;
        cr_assert_eq(us_frame_encode(&f, buf, US_FRAME_HEADER_SIZE - 1), -1);
        cr_assert_eq(errno, ENOBUFS);
}

/* ---- what decode refuses --------------------------------------------------- */

/* A valid CONN message with the name "sock" in buf; returns its length. */
static size_t good_conn(unsigned char *buf)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = 42, .peer = { 1, 2, 3 } };

        strcpy(f.socket, "sock");
        ssize_t n = encode(&f, buf);
        cr_assert_eq(n, US_FRAME_HEADER_SIZE + 4);
        return (size_t)n;
}

/* decode must fail with err and leave f as it was. */
static void expect_refused(const unsigned char *buf, size_t len, int err, const char *what)
{
        struct us_frame f, before;

        memset(&f, 0xa5, sizeof(f));
        before = f;
        errno = 0;
        cr_assert_eq(us_frame_decode(buf, len, &f), -1, "%s", what);
        cr_assert_eq(errno, err, "%s: errno %d", what, errno);
        cr_assert(memcmp(&f, &before, sizeof(f)) == 0, "%s: output written on failure", what);
}

Test(frame, another_version_is_eprotonosupport)
{
        static const uint16_t versions[] = { 0, US_PROTO_VERSION + 1, 0x0100, 0xffff };
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
                put16(buf, versions[i]);
                expect_refused(buf, n, EPROTONOSUPPORT, "another version");
        }
}

Test(frame, every_truncation_is_ebadmsg)
{
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        for (size_t len = 0; len < n; len++)
                expect_refused(buf, len, EBADMSG, "truncated");
}

/* The message ends at a page that may not be read: decode reads nothing past len. */
Test(frame, decode_reads_nothing_past_the_length_it_is_given)
{
        long page = sysconf(_SC_PAGESIZE);
        unsigned char msg[US_FRAME_MAX], *map;
        size_t n = good_conn(msg);
        struct us_frame f;

        map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cr_assert(map != MAP_FAILED);
        cr_assert(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
        for (size_t len = 0; len <= n; len++) {
                unsigned char *at = map + page - len;

                memcpy(at, msg, len);
                if (len < n)
                        expect_refused(at, len, EBADMSG, "cut at the guard page");
        }
        cr_assert_eq(us_frame_decode(map + page - n, n, &f), 0, "the whole message, to its last byte");
        cr_assert_str_eq(f.socket, "sock");
        munmap(map, (size_t)page * 2);
}

Test(frame, a_length_field_that_is_not_the_messages_is_ebadmsg)
{
        static const uint32_t lengths[] = { 0, US_FRAME_HEADER_SIZE, US_FRAME_HEADER_SIZE + 3,
                                            US_FRAME_HEADER_SIZE + 5, US_FRAME_MAX, UINT32_MAX };
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
                put32(buf + 4, lengths[i]);
                expect_refused(buf, n, EBADMSG, "length field disagrees");
        }
        /* Trailing bytes the length field does not count: not one message. */
        put32(buf + 4, (uint32_t)n);
        buf[n] = 'x';
        expect_refused(buf, n + 1, EBADMSG, "trailing bytes");
}

Test(frame, unknown_types_are_ebadmsg)
{
        static const uint16_t types[] = { 0, US_FRAME_DONE + 1, 0x0100 | US_FRAME_CONN, 0xffff };
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                put16(buf + 2, types[i]);
                expect_refused(buf, n, EBADMSG, "unknown type");
        }
}

Test(frame, any_reserved_byte_not_zero_is_ebadmsg)
{
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        for (size_t i = 28; i < US_FRAME_HEADER_SIZE; i++) {
                buf[i] = 0x80;
                expect_refused(buf, n, EBADMSG, "reserved byte not 0");
                buf[i] = 0;
        }
}

Test(frame, conn_without_a_name_and_ack_or_done_with_one_are_ebadmsg)
{
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        put32(buf + 4, US_FRAME_HEADER_SIZE);
        expect_refused(buf, US_FRAME_HEADER_SIZE, EBADMSG, "CONN without a name");
        put32(buf + 4, (uint32_t)n);
        put16(buf + 2, US_FRAME_ACK);
        expect_refused(buf, n, EBADMSG, "ACK with a name");
        put16(buf + 2, US_FRAME_DONE);
        expect_refused(buf, n, EBADMSG, "DONE with a name");
}

Test(frame, a_nul_anywhere_in_the_name_is_ebadmsg)
{
        unsigned char buf[US_FRAME_MAX];
        size_t n = good_conn(buf);

        for (size_t i = US_FRAME_HEADER_SIZE; i < n; i++) {
                unsigned char saved = buf[i];

                buf[i] = '\0';
                expect_refused(buf, n, EBADMSG, "NUL in the name");
                buf[i] = saved;
        }
}

/* ---- version 2: batches, id lists, HELLO and CREDIT ------------------------ */

static size_t v2_conn(unsigned char *buf, uint64_t id, const char *name)
{
        struct us_frame f = { .version = 2, .type = US_FRAME_CONN, .id = id, .peer = { 5, 6, 7 },
                              .sock_type = SOCK_STREAM };

        strcpy(f.socket, name);
        ssize_t n = us_frame_encode(&f, buf, US_FRAME_MAX);
        cr_assert_eq(n, US_FRAME_HEADER_SIZE + (ssize_t)strlen(name));
        return (size_t)n;
}

Test(frame, a_version_2_message_reads_as_its_frames_in_order)
{
        unsigned char buf[US_FRAME_MSG_MAX];
        uint64_t ids[3] = { 7, 8, 9 };
        struct us_frame_reader r;
        struct us_frame f;
        size_t len = 0;

        len += v2_conn(buf + len, 1, "a");
        len += v2_conn(buf + len, 2, "bb");
        ssize_t n = us_frame_encode_ids(US_FRAME_DONE, ids, 3, buf + len, sizeof(buf) - len);
        cr_assert_eq(n, US_FRAME_HEADER_SIZE + 2 * 8, "the header holds the first id, then 8 bytes each");
        len += (size_t)n;
        us_frame_reader_init(&r, buf, len);
        cr_assert_eq(us_frame_read(&r, &f), 1);
        cr_assert(f.type == US_FRAME_CONN && f.id == 1 && strcmp(f.socket, "a") == 0 && f.version == 2);
        cr_assert_eq(f.sock_type, SOCK_STREAM);
        cr_assert_eq(f.peer.uid, 6);
        cr_assert_eq(us_frame_read(&r, &f), 1);
        cr_assert(f.type == US_FRAME_CONN && f.id == 2 && strcmp(f.socket, "bb") == 0);
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(us_frame_read(&r, &f), 1);
                cr_assert(f.type == US_FRAME_DONE && f.id == ids[i] && f.socket[0] == '\0' && f.peer.pid == 0);
        }
        cr_assert_eq(us_frame_read(&r, &f), 0);
        cr_assert_eq(us_frame_decode(buf + len - (size_t)n, (size_t)n, &f), -1,
                     "decode takes one id only: a list is the reader's");
        cr_assert_eq(errno, EBADMSG);
}

Test(frame, the_reader_refuses_mixed_versions_partial_frames_and_a_version_1_frame_in_a_batch)
{
        unsigned char buf[US_FRAME_MSG_MAX];
        struct us_frame_reader r;
        struct us_frame f = { .type = US_FRAME_ACK, .id = 3 };
        size_t len = v2_conn(buf, 1, "a");
        size_t one = len;

        len += (size_t)us_frame_encode(&f, buf + len, sizeof(buf) - len); /* version 1 */
        us_frame_reader_init(&r, buf, len);
        cr_assert_eq(us_frame_read(&r, &f), 1);
        cr_assert_eq(us_frame_read(&r, &f), -1, "version 1 after version 2");
        cr_assert_eq(errno, EBADMSG);
        us_frame_reader_init(&r, buf + one, len - one);
        cr_assert_eq(us_frame_read(&r, &f), 1, "a version 1 frame alone is a message");
        cr_assert_eq(f.version, 1);
        us_frame_reader_init(&r, buf, len - 1);
        cr_assert_eq(us_frame_read(&r, &f), 1);
        cr_assert_eq(us_frame_read(&r, &f), -1, "a frame cut short");
        cr_assert_eq(errno, EBADMSG);
        us_frame_reader_init(&r, buf, 0);
        cr_assert_eq(us_frame_read(&r, &f), -1, "an empty message");
        cr_assert_eq(errno, EBADMSG);
}

Test(frame, hello_and_credit_carry_a_bounded_credit_in_version_2_only)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f = { .version = 2, .type = US_FRAME_HELLO, .id = 1 }, g;

        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), US_FRAME_HEADER_SIZE);
        cr_assert_eq(us_frame_decode(buf, US_FRAME_HEADER_SIZE, &g), 0);
        cr_assert(g.type == US_FRAME_HELLO && g.id == 1 && g.version == 2);
        f.type = US_FRAME_CREDIT;
        f.id = US_CREDIT_MAX;
        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), US_FRAME_HEADER_SIZE);
        f.id = US_CREDIT_MAX + 1;
        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), -1);
        cr_assert_eq(errno, EINVAL);
        uint64_t big = US_CREDIT_MAX + 1;
        memcpy(buf + 8, &big, 8);
        expect_refused(buf, US_FRAME_HEADER_SIZE, EBADMSG, "a credit over US_CREDIT_MAX");
        f.version = 1;
        f.id = 1;
        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), -1, "no CREDIT in version 1");
        cr_assert_eq(errno, EINVAL);
        f = (struct us_frame){ .version = 2, .type = US_FRAME_CONN, .id = 1 };
        strcpy(f.socket, "s");
        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), -1, "a version 2 CONN names its socket type");
        cr_assert_eq(errno, EINVAL);
        f = (struct us_frame){ .version = 2, .type = US_FRAME_ACK, .id = 1, .peer = { 1, 0, 0 } };
        cr_assert_eq(us_frame_encode(&f, buf, sizeof(buf)), -1, "a version 2 ACK has no peer");
}

Test(frame, an_id_list_holds_1_to_US_FRAME_IDS_MAX_ids)
{
        static uint64_t ids[US_FRAME_IDS_MAX + 1];
        static unsigned char buf[US_FRAME_HEADER_SIZE + 8 * (US_FRAME_IDS_MAX + 1)];
        struct us_frame_reader r;
        struct us_frame f;
        size_t k = 0;

        for (size_t i = 0; i <= US_FRAME_IDS_MAX; i++)
                ids[i] = i + 1;
        cr_assert_eq(us_frame_encode_ids(US_FRAME_ACK, ids, 0, buf, sizeof(buf)), -1);
        cr_assert_eq(us_frame_encode_ids(US_FRAME_ACK, ids, US_FRAME_IDS_MAX + 1, buf, sizeof(buf)), -1);
        cr_assert_eq(us_frame_encode_ids(US_FRAME_CONN, ids, 1, buf, sizeof(buf)), -1);
        ssize_t n = us_frame_encode_ids(US_FRAME_ACK, ids, US_FRAME_IDS_MAX, buf, sizeof(buf));
        cr_assert_eq(n, US_FRAME_HEADER_SIZE + 8 * (US_FRAME_IDS_MAX - 1));
        us_frame_reader_init(&r, buf, (size_t)n);
        while (us_frame_read(&r, &f) > 0)
                cr_assert_eq(f.id, ++k);
        cr_assert_eq(k, US_FRAME_IDS_MAX);
        /* one more id, by hand: refused */
        uint32_t len = (uint32_t)n + 8;
        memcpy(buf + 4, &len, 4);
        memcpy(buf + n, &ids[US_FRAME_IDS_MAX], 8);
        us_frame_reader_init(&r, buf, len);
        cr_assert_eq(us_frame_read(&r, &f), -1);
        cr_assert_eq(errno, EBADMSG);
        /* a list that is not whole ids */
        len = US_FRAME_HEADER_SIZE + 4;
        memcpy(buf + 4, &len, 4);
        expect_refused(buf, len, EBADMSG, "an id list of 4 bytes");
}
