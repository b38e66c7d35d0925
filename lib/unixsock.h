/* libunixsock: UNIX domain sockets, after the CHICKEN unix-sockets egg.
 *
 * Streams by default, as the egg; SOCK_SEQPACKET (connections that keep
 * message boundaries) and SOCK_DGRAM (no connections: a "listener" is a
 * bound socket that receives datagrams) where a type is asked for.
 *
 * Error convention, the same for every function:
 *   - a function returning int returns >= 0 on success, -1 on failure with errno set;
 *   - a function returning a pointer returns NULL on failure with errno set;
 *   - a function returning bool answers the question and never fails (false on error).
 * Output parameters are written only on success. The library never logs, never
 * prints, and never changes a signal disposition.
 *
 * Every file descriptor the library creates is close-on-exec. Writes use
 * MSG_NOSIGNAL, so a peer that went away gives EPIPE, never SIGPIPE.
 *
 * A path starting with '@' names a Linux abstract socket; any other path is a
 * file-system path. A path whose bytes (without the terminating NUL) do not fit
 * sun_path (107 bytes for a file, '@' plus 107 bytes for an abstract name) fails
 * with ENAMETOOLONG: it is never truncated.
 */
#ifndef UNIXSOCK_H
#define UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define US_DEFAULT_BACKLOG 10

/* The credentials of a connected peer (SO_PEERCRED), taken when it connected. */
struct us_peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
};

struct us_listener;

/* Options of us_listen_with(). Zero-initialise, then set what you need;
 * use US_LISTEN_OPTIONS_INIT for the defaults. */
struct us_listen_options {
        int backlog;    /* <= 0: US_DEFAULT_BACKLOG; a datagram socket has none */
        mode_t mode;    /* US_MODE_DEFAULT: 0777 & ~umask, as bind(2) would */
        uid_t uid;      /* (uid_t)-1: keep */
        gid_t gid;      /* (gid_t)-1: keep */
        int type;       /* SOCK_STREAM (also 0), SOCK_SEQPACKET or SOCK_DGRAM; else EINVAL */
        /* A listener of the caller's whose socket file is at path, and may be
         * replaced, as a stale one is, though it is live (a daemon whose
         * socket changes its type): the new file takes its name in one
         * rename(2). Only that very file, never a symlink or another socket. */
        const struct us_listener *replace;
};
#define US_MODE_DEFAULT ((mode_t)-1)
#define US_LISTEN_OPTIONS_INIT { 0, US_MODE_DEFAULT, (uid_t)-1, (gid_t)-1, SOCK_STREAM, NULL }

/* (unix-listen PATH [BACKLOG]). Creates a listening socket at path.
 * A file-system socket is published atomically: it is bound to a temporary
 * name, given its mode and owner, then renamed into place. So no client ever sees the path with wider
 * permissions than asked, and a stale socket is replaced with no moment where
 * the path is missing.
 * What may already be at path:
 *   nothing                          created
 *   a socket nobody accepts on       replaced (connect() gave ECONNREFUSED)
 *   a socket somebody accepts on     EADDRINUSE, left alone
 *   anything else (file, directory,
 *   symlink, fifo, ...)              EEXIST, left alone
 * The temporary name is "s" inside a fresh directory ".us-XXXXXXXX" of mode
 * 0700 beside path, removed once the socket is in place: every change to the
 * file is made where nobody else can create, rename or replace anything, so a
 * user who owns the directory of path cannot make the caller change another
 * file through a symlink, nor connect before the mode is final.
 * The listening fd is non-blocking; us_accept() waits for a client unless asked
 * not to. A SOCK_DGRAM socket is bound and not listen(2)ed: it has no
 * connections, and us_accept() on it fails with EOPNOTSUPP. */
struct us_listener *us_listen(const char *path, int backlog);
struct us_listener *us_listen_with(const char *path, const struct us_listen_options *opts);

/* Many listeners at once. Each us_listen_batched() is us_listen_with(), but the
 * private directory it publishes through is made once per directory and kept
 * in b for the next one beside it, instead of made and removed for each
 * socket (a directory made and removed costs a block allocated and freed,
 * which on some file systems means synchronous I/O). Nothing else changes:
 * the same checks, the same temporary name "s" (each publication renames it
 * out), the same guarantees. us_listen_batch_free() removes what b still
 * holds; until then a ".us-XXXXXXXX" directory of mode 0700 stays beside the
 * last socket made. b == NULL is us_listen_with(). Free it before the caller
 * changes its euid, and use one b from one thread at a time. */
struct us_listen_batch;
struct us_listen_batch *us_listen_batch_new(void);
struct us_listener *us_listen_batched(struct us_listen_batch *b, const char *path,
                                      const struct us_listen_options *opts);
/* Accepts NULL; keeps errno. */
void us_listen_batch_free(struct us_listen_batch *b);

/* Wraps a listening socket that was inherited (systemd socket activation, an fd
 * store). Fails with ENOTSOCK if fd is not a listener (us_listener_fd_type).
 * On success the listener owns fd and sets it close-on-exec and non-blocking;
 * us_close() will not unlink its path, which it did not create. */
struct us_listener *us_listener_adopt(int fd);

/* (unix-listener? X): fd is a listener: a listening AF_UNIX SOCK_STREAM or
 * SOCK_SEQPACKET socket, or an AF_UNIX SOCK_DGRAM socket bound to a name and
 * connected to no peer (what ListenDatagram= hands over). */
bool us_is_listener_fd(int fd);
/* Which: SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM; -1 with ENOTSOCK for any
 * other fd (EBADF for none). */
int us_listener_fd_type(int fd);

/* (unix-close L). Closes the socket and frees l; unlinks the path only if
 * us_listen() created it, it is still the file it created, and unlinking was
 * not turned off with us_listener_set_unlink(). Accepts NULL. */
int us_close(struct us_listener *l);

/* Was the adopted l published at path by libunixsock (it is bound to one of
 * the temporary names us_listen() uses beside path)? A daemon that gets its
 * own sockets back from an fd store tells them so from a socket unit's. */
bool us_listener_published_at(const struct us_listener *l, const char *path);

/* Whether us_close() unlinks the socket file this listener created (by default
 * it does). A daemon handing its listener on (an fd store) turns it off, and
 * on again when it takes the socket back. Never unlinks a file it did not
 * create, whatever is set. */
void us_listener_set_unlink(struct us_listener *l, bool unlink_on_close);

/* Changes the mode and owner of the socket file l is bound to, published at
 * path (NULL: us_listener_path(l); an adopted socket that was published under
 * a temporary name needs its path), (uid_t)-1 or (gid_t)-1: keep; for a daemon
 * whose configuration changed. Acts only on the
 * file the socket is bound to, never through a symlink: ESTALE if the path now
 * names anything else (renamed away, replaced), EINVAL for an abstract socket.
 * An adopted socket's file is known through sock_diag (AF_NETLINK); where that
 * is refused, ESTALE too. The change is made in steps that never grant anyone,
 * even for a moment, what neither the old nor the new settings grant: first
 * the mode both allow (less the bits of a class whose owner or group changes),
 * then the owner and group, then the new mode. */
int us_listener_set_access(struct us_listener *l, const char *path, mode_t mode, uid_t uid, gid_t gid);

/* Changes the listen(2) backlog of l (<= 0: US_DEFAULT_BACKLOG), as a daemon
 * whose configuration changed does; the clients already queued stay queued.
 * EOPNOTSUPP for a datagram socket. */
int us_listener_set_backlog(struct us_listener *l, int backlog);

/* The accept queue of l now: *ret_queued the clients that connected and wait
 * to be accepted, *ret_max the backlog listen(2) set (as the kernel capped it
 * at net.core.somaxconn); either pointer may be NULL. Asked of the kernel
 * through sock_diag (UDIAG_SHOW_RQLEN, as ss -x shows it), which needs
 * AF_NETLINK: where that is refused (a seccomp filter, RestrictAddressFamilies=),
 * -1 with that errno (EAFNOSUPPORT, EPERM, ...). EOPNOTSUPP for a datagram
 * socket, which queues datagrams, not clients. */
int us_listener_queue(const struct us_listener *l, unsigned *ret_queued, unsigned *ret_max);

/* Sets or clears O_NONBLOCK on the listening fd (us_listen() and
 * us_listener_adopt() make it non-blocking). A daemon that polls its listener
 * keeps it non-blocking; one that hands it to a program expecting a blocking
 * socket (as systemd's Accept=no does) clears it first. While it is blocking,
 * us_accept_flags() with US_ACCEPT_NOWAIT may wait. */
int us_listener_set_nonblock(struct us_listener *l, bool nonblock);

/* Is path a socket file on which nobody accepts: lstat(2) says it is a socket
 * (a symlink is never followed, whatever it points to) and a non-blocking
 * connect(2) to that very file gives ECONNREFUSED? What a server that crashed
 * leaves behind, and what us_listen() replaces. False for a missing path, a
 * live socket (or one whose queue is full, or that we may not connect to), any
 * other kind of file, an abstract name, and on any error. */
bool us_path_is_stale(const char *path);

/* Flags of us_accept_flags(). */
#define US_ACCEPT_NOWAIT   0x1  /* no client waiting: fail with EAGAIN at once */
#define US_ACCEPT_NONBLOCK 0x2  /* the returned connection is O_NONBLOCK */

/* (unix-accept L). Waits for the next client (poll(2), so other threads go on)
 * and returns the connected fd, blocking, close-on-exec, and the peer's
 * credentials if peer is not NULL. Retries EINTR and clients that vanished
 * before they were accepted (ECONNABORTED); never spins. */
int us_accept(struct us_listener *l, struct us_peer *peer);
int us_accept_flags(struct us_listener *l, struct us_peer *peer, int flags);

/* (unix-accept-ready? L): a client is waiting, us_accept() will not wait. */
bool us_accept_ready(struct us_listener *l);

/* (unix-connect PATH). A connected, blocking, close-on-exec stream socket.
 * When the listener's backlog is full, waits like connect(2) does.
 * us_connect_type() connects a SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM
 * socket (EINVAL for another type; EPROTOTYPE if the socket at path is of
 * another type). A datagram one is first bound to a fresh abstract address
 * (autobind), so the server can answer it; its sends go to path. */
int us_connect(const char *path);
int us_connect_type(const char *path, int type);

/* The supplementary groups of the peer of a connected socket, as they were
 * when it connected (SO_PEERGROUPS; its primary group is us_peer's gid):
 * what the kernel counts when it checks the peer's access to a file. Writes
 * up to max into groups and returns how many; ERANGE if they are more than
 * max (NGROUPS_MAX is always enough), ENODATA for a socket with no peer. */
int us_peer_groups(int fd, gid_t *groups, size_t max);

/* (unix-listener-fileno L) and (unix-listener-path L). The path is the one
 * given to us_listen(), or for an adopted socket the one it is bound to ("" if
 * unnamed, '@' first if abstract). */
int us_listener_fd(const struct us_listener *l);
const char *us_listener_path(const struct us_listener *l);
/* SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM. */
int us_listener_type(const struct us_listener *l);

/* (unix-pair). A connected pair of close-on-exec stream sockets.
 * us_pair_type() takes SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM, optionally
 * or'ed with SOCK_NONBLOCK. */
int us_pair(int fds[2]);
int us_pair_type(int type, int fds[2]);

/* Sends all of buf on socket fd, retrying EINTR and short writes. Never raises
 * SIGPIPE: a peer that is gone gives EPIPE. Returns len; on a non-blocking
 * socket that fills up after part of buf was sent, returns the part sent
 * (and -1 with EAGAIN if nothing was). */
ssize_t us_send(int fd, const void *buf, size_t len);

/* Sends one message: len bytes of header (1 to US_MSG_MAX) and, unless passfd
 * is -1, one file descriptor (SCM_RIGHTS). The message goes in one sendmsg(2):
 * on a SOCK_SEQPACKET or SOCK_DGRAM socket it arrives whole. passfd stays open
 * in the caller. Returns len. */
ssize_t us_send_fd(int sock, const void *hdr, size_t len, int passfd);

/* Receives one message of at most len bytes and at most one fd, which arrives
 * close-on-exec. Returns the number of bytes (0: the peer closed) and sets
 * *ret_fd to the fd received or to -1. Fails, after closing every fd that did
 * arrive, with EBADMSG if more than one fd came or the control data was
 * truncated, and with EMSGSIZE if a datagram or seqpacket message was longer
 * than len. Retries EINTR. */
ssize_t us_recv_fd(int sock, void *hdr, size_t len, int *ret_fd);

#define US_MSG_MAX 65536

/* (in, out) stdio streams on one connection, as the seed's ports. On success
 * the pair owns fd: it is closed once both streams are fclose()d. Writes to
 * *ret_out go through us_send(), so a closed peer makes fwrite/fflush fail
 * with EPIPE rather than raise SIGPIPE. On failure fd is left open. */
int us_fdopen_pair(int fd, FILE **ret_in, FILE **ret_out);

/* ---- The pool channel (unixsockd dispatch = pool) ----------------------
 * A SOCK_SEQPACKET socket. Every frame starts with a 32-byte header, host
 * byte order:
 *   offset 0  u16 version (1 or 2)
 *          2  u16 type (US_FRAME_*)
 *          4  u32 length of the frame, header included
 *          8  u64 connection id (HELLO, CREDIT: the credit)
 *         16  i32 peer pid, 20 u32 peer uid, 24 u32 peer gid
 *         28  u32 version 2 CONN: the socket's type (SOCK_STREAM...); else 0
 *         32  CONN: the socket's name, length - 32 bytes (1 to 255), no NUL;
 *             version 2 ACK and DONE: (length - 32) / 8 more u64 ids
 * Version 1: one frame per message, the message's length. CONN (daemon to
 * worker) carries the connection's fd in SCM_RIGHTS; the worker answers ACK
 * (same id) once it holds the fd, and DONE once it has closed it.
 * Version 2, negotiated: the worker's first message is HELLO with its credit
 * (how many connections it takes at once); a worker may change it with CREDIT.
 * The daemon answers in version 2 from then on: a message holds up to
 * US_FRAME_BATCH_MAX CONN frames, their fds in the same order in one
 * SCM_RIGHTS; one ACK or DONE frame lists up to US_FRAME_IDS_MAX ids, and a
 * message may hold several frames. The daemon never has more connections sent
 * and not DONE at a worker than its credit. See unixsock(3). */
#define US_PROTO_VERSION 2              /* the highest version spoken */
#define US_FRAME_CONN 1
#define US_FRAME_ACK 2
#define US_FRAME_DONE 3
#define US_FRAME_HELLO 4                /* version 2 */
#define US_FRAME_CREDIT 5               /* version 2 */
#define US_FRAME_HEADER_SIZE 32
#define US_FRAME_NAME_MAX 255
#define US_FRAME_MAX (US_FRAME_HEADER_SIZE + US_FRAME_NAME_MAX)
#define US_FRAME_IDS_MAX 512            /* ids in one version 2 ACK or DONE frame */
#define US_FRAME_BATCH_MAX 32           /* CONN frames, and fds, in one message */
#define US_FRAME_MSG_MAX 16384          /* bytes in one message, either way */
#define US_CREDIT_MAX 65535

struct us_frame {
        unsigned type;
        uint64_t id;
        struct us_peer peer;
        char socket[US_FRAME_NAME_MAX + 1];     /* NUL-terminated; "" but in CONN */
        unsigned version;                       /* 1 or 2; 0 to encode means 1 */
        int sock_type;                          /* version 2 CONN; 0 otherwise */
};

/* Writes f as one frame into buf; returns its length. EINVAL for an unknown
 * type or version, a CONN without a name or a name too long, a version 2 CONN
 * without a socket type, HELLO or CREDIT in version 1 or over US_CREDIT_MAX;
 * ENOBUFS if size is short. */
ssize_t us_frame_encode(const struct us_frame *f, void *buf, size_t size);
/* A version 2 ACK or DONE frame listing n ids (1 to US_FRAME_IDS_MAX). */
ssize_t us_frame_encode_ids(unsigned type, const uint64_t *ids, size_t n, void *buf, size_t size);
/* Parses a message that is exactly one frame with one id. EPROTONOSUPPORT for
 * another version; EBADMSG for a length that is not the message's, an
 * unknown type, a name where none belongs or a CONN without one, a field
 * that must be 0 and is not. */
int us_frame_decode(const void *buf, size_t len, struct us_frame *f);

/* Reads the frames of one message in order, a listed id at a time: an ACK
 * listing 3 ids reads as 3 ACK frames. */
struct us_frame_reader {
        const unsigned char *msg;
        size_t len, off;                        /* the next frame */
        const unsigned char *ids;               /* the rest of the current id list */
        size_t n_ids;
        unsigned version, type;
};
void us_frame_reader_init(struct us_frame_reader *r, const void *msg, size_t len);
/* 1 and the next frame in *f; 0 at the end; -1 with EBADMSG or
 * EPROTONOSUPPORT (as us_frame_decode; also a version 1 frame that is not the
 * whole message, or frames of two versions). Frames before a bad one were
 * good: a caller may have used them. */
int us_frame_read(struct us_frame_reader *r, struct us_frame *f);

/* Sends one message of len bytes (1 to US_MSG_MAX) with n fds (0 to
 * US_FRAME_BATCH_MAX) in one SCM_RIGHTS, in one sendmsg(2). Returns len. */
ssize_t us_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n);
/* Receives one message of at most len bytes and at most max fds (up to
 * US_FRAME_BATCH_MAX), close-on-exec, in order into fds[]; *ret_n says how
 * many. As us_recv_fd() otherwise: more fds than max is EBADMSG, after
 * closing them all. */
ssize_t us_recv_fds(int sock, void *buf, size_t len, int *fds, size_t max, size_t *ret_n);

/* The worker's side of the channel. It speaks version 2: HELLO at open with
 * a credit of 1, so a serial worker (accept, serve, done, accept) is sent a
 * connection only when it is free. A worker that accepts again while it
 * holds as many connections as its credit raises it by one (it serves
 * several at once); one that turns non-blocking asks for 64 at once; either
 * may set it with us_worker_set_credit(). Connections that arrive together
 * are all ACKed at once and handed out by the next calls. */
struct us_worker;
struct us_conn {
        int fd;                                 /* the connection, close-on-exec */
        uint64_t id;
        struct us_peer peer;
        char socket[US_FRAME_NAME_MAX + 1];
        int sock_type;                          /* SOCK_STREAM...: the listening socket's type
                                                 * (from a version 1 frame, which has none: the fd's) */
};

/* Takes the channel named by $UNIXSOCKD_CHANNEL (fd 3), after checking it is
 * an AF_UNIX SOCK_SEQPACKET socket (ENOTSOCK otherwise, ENOENT if unset), and
 * says HELLO. */
struct us_worker *us_worker_open(void);
/* Or any channel fd (the worker owns it from then on). */
struct us_worker *us_worker_open_fd(int fd);
/* The channel fd, to poll for POLLIN when non-blocking. */
int us_worker_fd(const struct us_worker *w);
/* Non-blocking: us_worker_accept() fails with EAGAIN when nothing is there;
 * call it until it does. Turning non-blocking sets the credit to 64 unless
 * us_worker_set_credit() set one. */
int us_worker_set_nonblock(struct us_worker *w, bool nonblock);
/* How many connections this worker takes at once (1 to US_CREDIT_MAX; the
 * daemon may cap it: max-concurrent). */
int us_worker_set_credit(struct us_worker *w, unsigned credit);
/* Waits for the next connection, takes it and answers ACK. Returns 1 and
 * fills conn; 0 when the daemon closed the channel (stopping: finish the
 * connections held, then exit); -1 with errno. A malformed message is
 * EBADMSG (any fd it carried is closed). Sends never raise SIGPIPE. */
int us_worker_accept(struct us_worker *w, struct us_conn *conn);
/* Closes conn->fd and answers DONE. */
int us_worker_done(struct us_worker *w, struct us_conn *conn);
/* For an event loop: closes conn->fd and keeps its DONE back, to go with the
 * others in one message at us_worker_flush(), which the loop calls before it
 * waits again (the daemon sends nothing more while its credit is held; the
 * next us_worker_accept() and us_worker_close() flush too). */
int us_worker_done_later(struct us_worker *w, struct us_conn *conn);
int us_worker_flush(struct us_worker *w);
/* Closes the channel and frees w, and any connection that arrived with others
 * and was not handed out yet (it was ACKed: its client sees it closed; call
 * us_worker_accept() until it returns 0 or EAGAIN first). Accepts NULL. */
void us_worker_close(struct us_worker *w);

#ifdef __cplusplus
}
#endif

#endif
