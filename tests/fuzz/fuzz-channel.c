/* libFuzzer target of the daemon's side of the pool channel (daemon/pool.c):
 * what it does with whatever a worker process writes on its channel (ACK,
 * DONE, garbage, fds sent back, EOF), between connections being dispatched,
 * processes dying and stopping.
 *
 * No process is forked and no socket is bound: each input builds a server from
 * a small pool configuration (server_new, never server_start), gives its
 * worker's members channels by hand as member_start() would (a SOCK_SEQPACKET
 * socketpair, the daemon's end non-blocking and watched by an sd-event loop
 * that never runs). The harness plays the worker processes at the other end
 * of the channels and the listener that hands connections to pool_dispatch().
 * A member's pid is FAKE_PID + its index while its "process" runs: above any
 * pid Linux can give (PID_MAX_LIMIT, 2^22), so no signal could reach anyone,
 * and kill() is the harness's own here anyway: it records what the daemon
 * sent and sends nothing (a kill() to any other pid or group aborts).
 *
 * The input is a list of operations, one byte each (kind = b & 7, argument =
 * b >> 3) and the bytes some of them take:
 *   FRAME    m, fd?, type, batch?  + id byte: a well-formed ACK, DONE, CONN or
 *                                  ACK then DONE for connection id (1..N are the
 *                                  ones dispatched), then the channel event
 *                                  (unless batch)
 *   RAW      m, nfds, batch?       + length byte (255: then 2 bytes LE) + bytes:
 *                                  any message, 0 to 2 fds attached
 *   EVENT    m, revents            pool_channel_event(m, revents)
 *   DISPATCH uid, count            count new connections (unless the socket is
 *                                  paused at capacity, as its listener would be)
 *   READ     m, max                the worker reads up to max CONN messages
 *   CLOSE    m, how, event?        the worker closes or shuts down its end
 *   EXIT     m, restart?, status   the process exits (member_exited), or one
 *                                  that exited is started again (a new channel)
 *   STOP                           the daemon stops (srv->stopping, pool_stop)
 * Four connections (ids 1 to 4) are dispatched before the first operation, so
 * both members hold two.
 *
 * Checked after every operation: the daemon's bookkeeping (queue and member
 * lists consistent, fd held until ACK and only then, unacked and inflight
 * counts, per-uid counts, socket references, no id twice, no queued connection
 * while a member could take one, the capacity pause), that every CONN a worker
 * reads names a connection dispatched with its own fd and peer, that a refused
 * connection is closed; and after each input, once everything is freed, that
 * no fd is left open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "log.h"
#include "server-internal.h"
#include "unixsock.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int kill(pid_t pid, int sig);

#define N_MEMBERS 2
#define MAX_CONNS 256           /* connections dispatched per input */
#define QUEUE_MAX 64            /* pool.c's POOL_QUEUE_MAX: the capacity pause */
#define UNACKED_MAX 32          /* pool.c's POOL_UNACKED_MAX */
#define INITIAL_CONNS 4
#define FAKE_PID 0x40000000     /* + member index: no pid Linux gives (<= 2^22) */

static const char config_text[] =
        "[unixsockd]\n"
        "runtime-directory = /run/unixsockd-fuzz\n"
        "control = none\n"
        "[socket:s]\n"
        "path = s.sock\n"
        "worker = w\n"
        "[worker:w]\n"
        "command = /bin/true\n"
        "dispatch = pool\n"
        "instances = 2\n"
        "max-per-user = 8\n";

static const uid_t uids[4] = { 1000, 1001, 0, 65534 };

enum { K_FRAME, K_RAW, K_EVENT, K_DISPATCH, K_READ, K_CLOSE, K_EXIT, K_STOP };

struct input {
        const uint8_t *p, *end;
};

struct harness {
        sd_event *e;
        struct server *srv;
        struct worker_rt *w;
        struct sock_rt *s;
        int wend[N_MEMBERS];            /* the worker's end of each channel, or -1 */
        bool alive[N_MEMBERS];          /* a "process" runs: it has not exited */
        unsigned n_conns;               /* connections the daemon took, ids 1..n_conns */
        unsigned n_offered;             /* connections given to pool_dispatch() */
        struct us_peer peer[MAX_CONNS + 1];
        ino_t ino[MAX_CONNS + 1];       /* of the connection's socket */
};

static int devnull = -1;
static int signalled[N_MEMBERS];        /* the last signal kill() sent each process group */

static void check_at(bool ok, const char *what, int line)
{
        if (!ok) {
                fprintf(stderr, "fuzz-channel.c:%d: check failed: %s\n", line, what);
                abort();
        }
}
#define check(x) check_at((x), #x, __LINE__)

/* The daemon's kill(): it only ever signals the process groups of the
 * members' fake processes (pool workers are process group leaders). */
int kill(pid_t pid, int sig)
{
        for (int i = 0; i < N_MEMBERS; i++)
                if (pid == -(FAKE_PID + i) || pid == FAKE_PID + i) {
                        if (sig)
                                signalled[i] = sig;
                        return 0;
                }
        /* kill(0) or kill(-1) would be the daemon signalling itself or everyone */
        check(pid > 0 && pid != getpid());
        return (int)syscall(SYS_kill, pid, sig);        /* not the daemon's: libFuzzer's own */
}

static unsigned byte(struct input *in)
{
        return in->p < in->end ? *in->p++ : 0;
}

static size_t count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        check(d != NULL);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static void print_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        check(d != NULL);
        while ((de = readdir(d))) {
                char path[300], target[300] = "";
                snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                if (readlink(path, target, sizeof(target) - 1) < 0)
                        continue;
                fprintf(stderr, "fd %s: %s\n", de->d_name, target);
        }
        closedir(d);
}

static bool fd_is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

/* ---- what the daemon's state must be --------------------------------------- */

/* fds: whether to check that each fd the daemon holds is open (a syscall
 * each: once per input, not after every operation). */
static void check_state(struct harness *h, bool fds)
{
        struct worker_rt *w = h->w;
        bool seen[MAX_CONNS + 1] = { false };
        unsigned per_uid[4] = { 0 }, total = 0, n = 0;
        struct conn *prev = NULL;

        for (struct conn *c = w->queue; c; prev = c, c = c->next) {
                check(c->prev == prev);
                check(c->m == NULL && !c->acked && c->s == h->s);
                check(c->id >= 1 && c->id <= h->n_conns && !seen[c->id]);
                seen[c->id] = true;
                check(c->fd >= 0 && (!fds || fd_is_open(c->fd)));
                n++;
        }
        check(w->queue_tail == prev);
        check(n == w->n_queued);
        total += n;
        for (size_t i = 0; i < w->n_members; i++) {
                struct member *m = &w->members[i];
                unsigned unacked = 0, inflight = 0;

                check(m->w == w && m->index == i);
                check(m->pid == (h->alive[i] ? FAKE_PID + (pid_t)i : 0));
                if (m->chan < 0) {
                        check(!m->conns && m->unacked == 0 && m->inflight == 0);
                        check(!m->chan_io && !m->ack_timer && !m->blocked && !m->shut);
                        continue;
                }
                check(m->chan_io && m->ack_timer && (!fds || fd_is_open(m->chan)));
                prev = NULL;
                for (struct conn *c = m->conns; c; prev = c, c = c->next) {
                        check(c->prev == prev);
                        check(c->m == m && c->s == h->s);
                        check(c->id >= 1 && c->id <= h->n_conns && !seen[c->id]);
                        seen[c->id] = true;
                        /* the fd is ours until the ACK, and only until then */
                        check(c->acked ? c->fd == -1 : c->fd >= 0 && (!fds || fd_is_open(c->fd)));
                        unacked += !c->acked;
                        inflight++;
                }
                check(m->unacked == unacked && m->inflight == inflight);
                check(unacked <= UNACKED_MAX);
                total += inflight;
        }
        /* every connection alive names its socket once, and counts for its uid */
        check(h->s->refs == total);
        for (unsigned id = 1; id <= h->n_conns; id++)
                if (seen[id])
                        for (size_t k = 0; k < 4; k++)
                                per_uid[k] += h->peer[id].uid == uids[k];
        for (size_t k = 0; k < 4; k++)
                check(uid_count(w, uids[k]) == per_uid[k]);
        if (h->srv->stopping)
                return;
        /* no connection waits while a process could take it */
        if (w->queue)
                for (size_t i = 0; i < w->n_members; i++) {
                        struct member *m = &w->members[i];
                        check(m->chan < 0 || m->shut || m->blocked || m->unacked >= UNACKED_MAX);
                }
        check(!!(h->s->pause & PAUSE_CAPACITY) == (w->n_queued >= QUEUE_MAX));
}

/* ---- the fake processes ------------------------------------------------- */

/* The loop never runs: nothing it watches is ever dispatched. */
static int never_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        abort();
}

static int never_time(sd_event_source *es, uint64_t usec, void *userdata)
{
        abort();
}

/* What member_start() does for a pool process, but the fork. */
static void channel_open(struct harness *h, struct member *m)
{
        int chan[2];

        check(us_pair_type(SOCK_SEQPACKET | SOCK_NONBLOCK, chan) == 0);
        check(fcntl(chan[0], F_SETFL, O_NONBLOCK) == 0);
        m->chan = chan[0];
        check(sd_event_add_io(h->e, &m->chan_io, m->chan, EPOLLIN, never_io, m) >= 0);
        check(sd_event_add_time(h->e, &m->ack_timer, CLOCK_MONOTONIC, 0, 0, never_time, m) >= 0);
        sd_event_source_set_enabled(m->ack_timer, SD_EVENT_OFF);
        h->wend[m->index] = chan[1];
        h->alive[m->index] = true;
        signalled[m->index] = 0;
        m->pid = FAKE_PID + (pid_t)m->index;
        m->started_at = now_usec(h->srv);
}

static void event(struct harness *h, struct member *m, uint32_t revents)
{
        /* The loop calls it only while the channel is watched. */
        if (m->chan >= 0)
                pool_channel_event(m, revents);
}

/* The worker reads what the daemon sent: only CONN, each with the fd of the
 * connection it names. */
static void worker_read(struct harness *h, unsigned i, unsigned max)
{
        unsigned char buf[US_FRAME_MAX + 1];
        struct us_frame f;

        for (unsigned k = 0; k < max && h->wend[i] >= 0; k++) {
                int fd = -1;
                ssize_t n = us_recv_fd(h->wend[i], buf, sizeof(buf), &fd);
                struct stat st;

                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                /* The daemon closed its end with answers of ours unread: said
                 * once, what it had sent is still there to read. */
                if (n < 0 && errno == ECONNRESET)
                        continue;
                check(n >= 0);
                if (n == 0) {   /* the daemon closed or shut its side */
                        check(fd < 0);
                        break;
                }
                check(us_frame_decode(buf, (size_t)n, &f) == 0);
                check(f.type == US_FRAME_CONN && strcmp(f.socket, "s") == 0);
                check(f.id >= 1 && f.id <= h->n_conns);
                check(f.peer.pid == h->peer[f.id].pid && f.peer.uid == h->peer[f.id].uid &&
                      f.peer.gid == h->peer[f.id].gid);
                check(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == h->ino[f.id]);
                close(fd);
        }
}

/* A message from worker i: len bytes, n_pass fds attached. false: not sent
 * (the channel is full or gone). */
static bool worker_send(struct harness *h, unsigned i, const void *buf, size_t len, unsigned n_pass)
{
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * 2)];
        } ctl;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fds[2] = { devnull, devnull };

        if (h->wend[i] < 0)
                return false;
        if (n_pass) {
                memset(&ctl, 0, sizeof(ctl));
                mh.msg_control = ctl.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_pass);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_pass);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_pass);
        }
        return sendmsg(h->wend[i], &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

static void frame_send(struct harness *h, unsigned i, unsigned type, uint64_t id, bool pass)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f = { .type = type, .id = id };
        ssize_t n;

        if (type == US_FRAME_CONN)
                snprintf(f.socket, sizeof(f.socket), "s");
        n = us_frame_encode(&f, buf, sizeof(buf));
        check(n > 0);
        worker_send(h, i, buf, (size_t)n, pass);
}

/* ---- the listener ------------------------------------------------------- */

static void dispatch(struct harness *h, unsigned uid_index)
{
        struct us_peer peer;
        struct stat st;
        int pair[2];

        /* At capacity the daemon stops accepting: clients wait in the backlog. */
        if (h->srv->stopping || h->n_offered >= MAX_CONNS || (h->s->pause & PAUSE_CAPACITY))
                return;
        check(us_pair(pair) == 0);
        check(fstat(pair[0], &st) == 0);
        close(pair[1]); /* the client: gone at once, which changes nothing for the daemon */
        h->n_offered++;
        peer = (struct us_peer){
                .pid = 100 + (pid_t)h->n_offered, .uid = uids[uid_index], .gid = uids[uid_index] + 1 };
        /* its id, if the daemon takes it: written before, as CONN may go at once */
        h->ino[h->n_conns + 1] = st.st_ino;
        h->peer[h->n_conns + 1] = peer;
        pool_dispatch(h->s, pair[0], &peer);
        if (h->w->next_id == h->n_conns + 1) {
                h->n_conns++;
        } else {
                /* refused (a pool with no process and none to start): closed */
                check(h->w->next_id == h->n_conns);
                check(!fd_is_open(pair[0]));
        }
}

/* ---- one input ------------------------------------------------------------ */

static void setup(struct harness *h)
{
        struct config *cfg = NULL;

        memset(h, 0, sizeof(*h));
        for (size_t i = 0; i < N_MEMBERS; i++)
                h->wend[i] = -1;
        check(config_load_string("fuzz-channel.conf", config_text, sizeof(config_text) - 1,
                                 NULL, NULL, &cfg) == 0);
        check(sd_event_new(&h->e) >= 0);
        check(server_new(h->e, cfg, &h->srv) == 0);
        check(h->srv->n_workers == 1 && h->srv->n_socks == 1);
        h->w = h->srv->workers[0];
        h->s = h->srv->socks[0];
        check(h->w->cfg->dispatch == DISPATCH_POOL && h->w->cfg->instances == N_MEMBERS);
        /* pool_start() without member_start(): the members, then their channels */
        h->w->n_members = N_MEMBERS;
        h->w->members = calloc(N_MEMBERS, sizeof(*h->w->members));
        check(h->w->members != NULL);
        for (size_t i = 0; i < N_MEMBERS; i++) {
                h->w->members[i].w = h->w;
                h->w->members[i].index = (unsigned)i;
                h->w->members[i].chan = -1;
                channel_open(h, &h->w->members[i]);
        }
        for (unsigned i = 0; i < INITIAL_CONNS; i++)
                dispatch(h, i % 2);
        check_state(h, true);
}

static void teardown(struct harness *h)
{
        for (size_t i = 0; i < N_MEMBERS; i++) {
                /* what is still in flight to the worker: read, so its fds close */
                worker_read(h, (unsigned)i, UINT32_MAX);
                if (h->wend[i] >= 0)
                        close(h->wend[i]);
        }
        server_free(h->srv);    /* and its reference to the loop */
        sd_event_unref(h->e);
}

static void run_op(struct harness *h, struct input *in)
{
        unsigned b = byte(in), a = b >> 3, i = a & 1;
        struct member *m = &h->w->members[i];

        switch (b & 7) {
        case K_FRAME: {
                static const unsigned types[4] = { US_FRAME_ACK, US_FRAME_DONE, US_FRAME_CONN, 0 };
                unsigned type = types[(a >> 2) & 3];
                uint64_t id = byte(in);

                if (type) {
                        frame_send(h, i, type, id, a & 2);
                } else {        /* ACK then DONE */
                        frame_send(h, i, US_FRAME_ACK, id, a & 2);
                        frame_send(h, i, US_FRAME_DONE, id, false);
                }
                if (!(a & 16))
                        event(h, m, EPOLLIN);
                break;
        }
        case K_RAW: {
                unsigned char buf[1024];
                size_t len = byte(in);

                if (len == 255) {
                        len = byte(in);
                        len |= (size_t)byte(in) << 8;
                        if (len > sizeof(buf))
                                len = sizeof(buf);
                }
                if (len > (size_t)(in->end - in->p))
                        len = (size_t)(in->end - in->p);
                memcpy(buf, in->p, len);
                in->p += len;
                worker_send(h, i, buf, len, ((a >> 1) & 3) % 3);
                if (!(a & 8))
                        event(h, m, EPOLLIN);
                break;
        }
        case K_EVENT:
                event(h, m, (a & 2 ? EPOLLIN : 0) | (a & 4 ? EPOLLOUT : 0) | (a & 8 ? EPOLLHUP : 0) |
                            (a & 16 ? EPOLLERR : 0));
                break;
        case K_DISPATCH:
                for (unsigned k = 0; k <= (a >> 2); k++)
                        dispatch(h, a & 3);
                break;
        case K_READ:
                worker_read(h, i, (a >> 1) + 1);
                break;
        case K_CLOSE:
                if (h->wend[i] < 0)
                        break;
                switch ((a >> 1) & 3) {
                case 0:
                case 1:
                        close(h->wend[i]);
                        h->wend[i] = -1;
                        break;
                case 2:
                        (void)shutdown(h->wend[i], SHUT_WR);
                        break;
                case 3:
                        (void)shutdown(h->wend[i], SHUT_RDWR);
                        break;
                }
                if (a & 8)
                        event(h, m, EPOLLIN | EPOLLHUP);
                break;
        case K_EXIT:
                if (!(a & 2)) {
                        /* SIGCHLD: as proc_exited() does for a member */
                        siginfo_t si = { 0 };

                        if (!h->alive[i])
                                break;
                        si.si_signo = SIGCHLD;
                        si.si_code = a & 4 ? CLD_KILLED : CLD_EXITED;
                        si.si_status = a & 4 ? SIGTERM : (int)(a >> 3);
                        if (signalled[i] == SIGKILL) {  /* that one it cannot survive */
                                si.si_code = CLD_KILLED;
                                si.si_status = SIGKILL;
                        }
                        si.si_pid = m->pid;
                        member_exited(m, &si);
                        h->alive[i] = false;
                        /* the worker is gone: its end closes with it */
                        worker_read(h, i, UINT32_MAX);
                        if (h->wend[i] >= 0)
                                close(h->wend[i]);
                        h->wend[i] = -1;
                } else {
                        /* its restart timer fired: member_start() */
                        if (h->alive[i] || h->srv->stopping || m->pid > 0 || m->chan >= 0 || !m->restart_timer ||
                            sd_event_source_get_enabled(m->restart_timer, NULL) <= 0)
                                break;
                        sd_event_source_set_enabled(m->restart_timer, SD_EVENT_OFF);
                        channel_open(h, m);
                        /* member_start() ends with pool_drain(): the same, from here */
                        pool_channel_event(m, 0);
                }
                break;
        case K_STOP:
                /* SIGTERM: as on_stop_signal() does, its listener has no fd here */
                if (h->srv->stopping)
                        break;
                h->srv->stopping = true;
                pool_stop(h->w);
                break;
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        /* Nothing logged (the fuzzer's output stays its own) unless asked. */
        const char *lvl = getenv("FUZZ_CHANNEL_LOG_LEVEL");

        (void)argc;
        (void)argv;
        log_open(LOG_TARGET_CONSOLE);
        log_pin_level(lvl ? atoi(lvl) : -1);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct input in = { data, data + size };
        struct harness h;
        /* Counted for each input: libFuzzer itself opens some as it goes (its
         * symbolizer's pipes when it prints a new function). */
        int n_fds_start = (int)count_fds();

        setup(&h);
        while (in.p < in.end) {
                run_op(&h, &in);
                check_state(&h, false);
        }
        check_state(&h, true);
        teardown(&h);
        /* everything the daemon and the harness opened is closed again */
        if ((int)count_fds() != n_fds_start) {
                fprintf(stderr, "fds open: %d, before: %d\n", (int)count_fds(), n_fds_start);
                print_fds();
                check((int)count_fds() == n_fds_start);
        }
        return 0;
}
