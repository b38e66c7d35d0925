/* One pool process's channel: CONN out with the fd, ACK and DONE in, the ACK
 * timeout, protocol errors, and a channel lost while its process runs. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool-channel.h"
#include "timer.h"

/* ---- connections ------------------------------------------------------------ */

void pool_list_unlink(struct conn **head, struct conn **tail, struct conn *c)
{
        if (c->prev)
                c->prev->next = c->next;
        else
                *head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else if (tail)
                *tail = c->prev;
        c->prev = c->next = NULL;
}

/* A connection is over for the daemon: served (DONE), or gone with its
 * worker. True if that gave the daemon an fd back (it was not ACKed). */
bool pool_conn_free(struct worker *w, struct conn *c)
{
        bool had_fd = c->fd >= 0;

        if (had_fd)
                close(c->fd);
        if (w->cfg->max_per_user)
                uidtab_dec(&w->uids, c->peer.uid);
        free(c);
        return had_fd;
}

/* ---- the channel -------------------------------------------------------------- */

static int on_lost_timer(sd_event_source *es, uint64_t usec, void *userdata);

static void ack_timer_arm(struct pool_member *pm)
{
        if (!pm->ack_timer)
                return;
        if (pm->unacked == 0) {
                sd_event_source_set_enabled(pm->ack_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(pm->ack_timer, worker_now(pm->w) + ACK_TIMEOUT_USEC);
        sd_event_source_set_enabled(pm->ack_timer, SD_EVENT_ONESHOT);
}

static int on_runtime(sd_event_source *es, uint64_t usec, void *userdata);

/* runtime-max: the timer waits for the deadline of the oldest connection
 * it holds; when it fires, the oldest is looked for (the list is newest
 * first, and a DONE does not move the timer: it is checked only then). */
static void runtime_arm(struct pool_member *pm, uint64_t at)
{
        /* no timer: runtime-max is not enforced on it (said at its deadline, never) */
        (void)timer_at(pm->w->event, &pm->runtime_timer, at + pm->w->cfg->runtime_max_usec, on_runtime, pm);
}

static void sent(struct pool_member *pm, struct conn *c)
{
        if (pm->w->cfg->runtime_max_usec) {
                c->at = worker_now(pm->w);
                if (!pm->conns)
                        runtime_arm(pm, c->at);
        }
        pm->handed++;
        c->prev = NULL;
        c->next = pm->conns;
        if (pm->conns)
                pm->conns->prev = c;
        pm->conns = c;
        pm->unacked++;
        pm->inflight++;
        if (pm->unacked == 1)
                ack_timer_arm(pm);
        if (log_enabled(LOG_DEBUG)) {
                struct log_ctx lc = worker_ctx(pm->w, c->socket, &c->peer);
                lc.worker_pid = pid_of(pm);
                log_ctx(LOG_DEBUG, &lc, "worker %s: connection %llu to pid %d (%u in flight)",
                        pm->w->cfg->name, (unsigned long long)c->id, (int)pid_of(pm), pm->inflight);
        }
}

unsigned pool_member_room(const struct pool_member *pm)
{
        unsigned limit = pm->version == 2 ? pm->credit : pm->version == 1 ? UINT_MAX : 1;
        const struct cfg_worker *cw = pm->w->cfg;
        unsigned cap = cw->max_concurrent;
        /* Stopping, or replaced by a reload: no successor will start, and
         * what is queued goes out before the channels close (pool_stop). */
        unsigned max = worker_ending(pm->w) ? 0 : cw->max_connections;
        unsigned room;

        if (pm->retire != RETIRE_NO || (max && pm->handed >= max))
                return 0;
        if (cap && cap < limit)
                limit = cap;
        if (pm->inflight >= limit || pm->unacked >= POOL_UNACKED_MAX)
                return 0;
        room = limit - pm->inflight;
        if (max && room > max - pm->handed)
                room = (unsigned)(max - pm->handed);
        return room < POOL_UNACKED_MAX - pm->unacked ? room : POOL_UNACKED_MAX - pm->unacked;
}

static int blocked(struct pool_member *pm)
{
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
                return -1;
        pm->blocked = true;
        sd_event_source_set_io_events(pm->chan_io, EPOLLIN | EPOLLOUT);
        return 0;
}

static ssize_t encode(const struct pool_member *pm, const struct conn *c, unsigned char *buf, size_t size)
{
        struct us_frame f = { .type = US_FRAME_CONN, .id = c->id, .peer = c->peer,
                              .version = pm->version == 2 ? 2 : 1, .sock_type = pm->version == 2 ? c->sock_type : 0 };

        snprintf(f.socket, sizeof(f.socket), "%s", c->socket);
        return us_frame_encode(&f, buf, size);
}

int pool_channel_send(struct pool_member *pm, struct conn **cs, unsigned n)
{
        unsigned char buf[US_FRAME_BATCH_MAX * US_FRAME_MAX];
        int fds[US_FRAME_BATCH_MAX];
        size_t len = 0;
        unsigned i;

        if (n == 0)
                return 0;
        if (pm->version < 2) {
                /* version 1: a message per connection */
                for (i = 0; i < n; i++) {
                        ssize_t k = encode(pm, cs[i], buf, sizeof(buf));
                        if (k < 0 || us_send_fd(pm->chan, buf, (size_t)k, cs[i]->fd) < 0)
                                return blocked(pm) < 0 && i == 0 ? -1 : (int)i;
                        sent(pm, cs[i]);
                }
                return (int)n;
        }
        if (n > US_FRAME_BATCH_MAX)
                n = US_FRAME_BATCH_MAX;
        for (i = 0; i < n; i++) {
                ssize_t k = encode(pm, cs[i], buf + len, sizeof(buf) - len);
                if (k < 0)
                        return -1;
                len += (size_t)k;
                fds[i] = cs[i]->fd;
        }
        if (us_send_fds(pm->chan, buf, len, fds, n) < 0)
                return blocked(pm);
        for (i = 0; i < n; i++)
                sent(pm, cs[i]);
        return (int)n;
}

static struct conn *find_conn(struct pool_member *pm, uint64_t id)
{
        for (struct conn *c = pm->conns; c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

/* A worker that breaks the protocol is stopped; what it had not taken goes to another. */
static void protocol_error(struct pool_member *pm, const char *what)
{
        struct worker *w = pm->w;
        struct log_ctx c = member_ctx(&pm->base);
        unsigned suppressed;
        char note[64];

        if (ratelimit_pass(&w->launcher.exit_rl, worker_now(w), &suppressed))
                log_ctx(LOG_ERR, &c, "worker %s: pid %d: %s on its channel; stopping it%s",
                        w->cfg->name, (int)pid_of(pm), what, ratelimit_note(note, suppressed, "failures"));
        if (pid_of(pm) > 0)
                (void)kill(-pid_of(pm), SIGKILL);
        pool_channel_close(pm, NULL);
}

/* HELLO and CREDIT: what pm can take at once. False: a protocol error (said). */
static bool handle_credit(struct pool_member *pm, const struct us_frame *f)
{
        if (f->type == US_FRAME_HELLO ? pm->version != 0 : pm->version != 2) {
                protocol_error(pm, f->type == US_FRAME_HELLO ? "HELLO after it spoke" : "CREDIT before HELLO");
                return false;
        }
        pm->version = 2;
        pm->credit = (unsigned)f->id;
        return true;
}

/* Handles one answer; true if it gave the daemon an fd back (an ACK: our
 * copy of the connection is closed). */
static bool handle_reply(struct pool_member *pm, const struct us_frame *f)
{
        struct worker *w = pm->w;
        struct conn *c;
        bool freed = false;

        if (f->type == US_FRAME_HELLO || f->type == US_FRAME_CREDIT) {
                (void)handle_credit(pm, f);
                return false;
        }
        if (f->version == 2 && pm->version != 2) {
                protocol_error(pm, "version 2 before HELLO");
                return false;
        }
        c = find_conn(pm, f->id);
        if (!c || f->type == US_FRAME_CONN || (f->type == US_FRAME_ACK && c->acked)) {
                protocol_error(pm, f->type == US_FRAME_CONN ? "CONN sent back"
                                   : f->type == US_FRAME_ACK ? "ACK for no connection waiting"
                                                             : "DONE for no connection it holds");
                return false;
        }
        if (pm->version == 0)
                pm->version = 1; /* it answered without HELLO */
        if (!c->acked) {
                close(c->fd);
                c->fd = -1;
                c->acked = true;
                pm->unacked--;
                freed = true;
        }
        if (f->type == US_FRAME_DONE) {
                if (log_enabled(LOG_DEBUG))
                        log_msg(LOG_DEBUG, "worker %s: connection %llu done by pid %d", w->cfg->name,
                                (unsigned long long)c->id, (int)pid_of(pm));
                pool_list_unlink(&pm->conns, NULL, c);
                if (--pm->inflight == 0) {
                        if (pm->retire == RETIRE_RECYCLE)
                                pool_member_stop_later(pm); /* served all it held: now it should exit */
                        pm->idle_seq = ++pool_of(w)->seq;
                        if (pool_of(w)->elastic)
                                pm->idle_since = worker_now(w);
                }
                pm->served++;
                pool_conn_free(w, c);
                counters_changed(w->counters);
        }
        ack_timer_arm(pm);
        return freed;
}

#define READ_BATCH 8                    /* messages per recvmmsg(2) */

/* A message as it came: its length, or an fd sent with it or a cut. */
enum { MSG_GOOD, MSG_FD, MSG_CUT };

/* Receives up to max waiting messages of fd in one system call. Returns how
 * many (kind[] and len[] for each), or -1 with errno (EAGAIN: none). The fds
 * a message carried are closed. */
static int recv_some(int fd, unsigned char (*bufs)[US_FRAME_MSG_MAX + 1], size_t *len, int *kind, unsigned max)
{
        struct {
                _Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int) * 4)];
        } ctl[READ_BATCH];
        struct iovec iov[READ_BATCH];
        struct mmsghdr mm[READ_BATCH];
        int n;

        for (unsigned i = 0; i < max; i++) {
                iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof(bufs[i]) };
                mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1,
                                                       .msg_control = ctl[i].buf,
                                                       .msg_controllen = sizeof(ctl[i].buf) } };
        }
        do
                n = recvmmsg(fd, mm, max, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
        while (n < 0 && errno == EINTR);
        for (int i = 0; i < n; i++) {
                struct msghdr *h = &mm[i].msg_hdr;
                len[i] = mm[i].msg_len;
                kind[i] = h->msg_flags & (MSG_TRUNC | MSG_CTRUNC) ? MSG_CUT : MSG_GOOD;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
                                int passed;
                                memcpy(&passed, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
                                close(passed);
                        }
                        kind[i] = MSG_FD;
                }
        }
        return n;
}

/* Reads and handles up to max messages from pm's channel, counting the fds
 * that gave back in *freed. False if the worker's end is gone (EOF, or an
 * error: *why says which, NULL for EOF); the caller decides what that means.
 * A protocol error stops the process and closes the channel here. */
bool pool_channel_read(struct pool_member *pm, int max, unsigned *freed, const char **why)
{
        static unsigned char bufs[READ_BATCH][US_FRAME_MSG_MAX + 1];
        size_t len[READ_BATCH];
        int kind[READ_BATCH];

        for (int done = 0; done < max && pm->chan >= 0;) {
                unsigned want = max - done < READ_BATCH ? (unsigned)(max - done) : READ_BATCH;
                int n = recv_some(pm->chan, bufs, len, kind, want);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (n < 0) {
                        *why = strerror(errno);
                        return false;
                }
                for (int i = 0; i < n && pm->chan >= 0; i++) {
                        struct us_frame_reader r;
                        struct us_frame f;
                        int got = 0;
                        if (kind[i] != MSG_GOOD) {
                                protocol_error(pm, kind[i] == MSG_FD ? "an fd sent back" : "a malformed message");
                                return true;
                        }
                        if (len[i] == 0) {
                                *why = NULL;
                                return false;
                        }
                        us_frame_reader_init(&r, bufs[i], len[i]);
                        while (pm->chan >= 0 && (got = us_frame_read(&r, &f)) > 0)
                                *freed += handle_reply(pm, &f);
                        if (pm->chan >= 0 && got < 0) {
                                protocol_error(pm, errno == EPROTONOSUPPORT ? "another protocol version"
                                                                            : "a malformed message");
                                return true;
                        }
                }
                done += n;
                if ((unsigned)n < want)
                        break; /* nothing more waiting */
        }
        return true;
}

static void event(struct pool_member *pm, uint32_t revents)
{
        struct worker *w = pm->w;
        unsigned freed = 0;
        const char *why = NULL;

        if (revents & EPOLLOUT) {
                pm->blocked = false;
                sd_event_source_set_io_events(pm->chan_io, EPOLLIN);
        }
        /* Bounded: a worker flooding its channel cannot keep the loop to itself. */
        bool up = pool_channel_read(pm, 256, &freed, &why);
        if (pm->chan >= 0 && (!up || ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))))
                pool_channel_gone(pm, why);
        pool_of(w)->drain(w);
        /* once per wakeup, not per ACK: it looks at every socket */
        if (freed)
                counters_freed(w->counters);
}

void pool_channel_event(struct worker *w, unsigned index, uint32_t revents)
{
        event(&pool_of(w)->pm[index], revents);
}

static int on_channel(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        event(userdata, revents);
        return 0;
}

static int on_ack_timeout(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct pool_member *pm = userdata;

        if (pm->unacked == 0)
                return 0;
        if (pm->inflight > pm->unacked) {
                /* Busy serving what it took: not hung, just slow to take more. */
                ack_timer_arm(pm);
                return 0;
        }
        protocol_error(pm, "no ACK within 5s while idle");
        pool_of(pm->w)->drain(pm->w);
        return 0;
}

/* The channel is gone (EOF, error, the process died or was stopped): what it
 * had not acknowledged is still ours and goes back to the queue's front;
 * what it had taken is over. */
void pool_channel_close(struct pool_member *pm, const char *why)
{
        struct worker *w = pm->w;
        unsigned requeued = 0;

        if (pm->chan < 0)
                return;
        pm->chan_io = sd_event_source_disable_unref(pm->chan_io);
        pm->ack_timer = sd_event_source_disable_unref(pm->ack_timer);
        pm->runtime_timer = sd_event_source_disable_unref(pm->runtime_timer);
        close(pm->chan);
        pm->chan = -1;
        pm->blocked = false;
        pm->shut = false;
        /* pm->conns is newest first: push each to the front keeps the oldest first */
        while (pm->conns) {
                struct conn *c = pm->conns;
                pool_list_unlink(&pm->conns, NULL, c);
                if (c->acked) {
                        pool_conn_free(w, c);
                } else {
                        pool_of(w)->requeue(w, c);
                        requeued++;
                }
        }
        pm->unacked = pm->inflight = 0;
        pm->version = pm->credit = 0; /* the next process says its own */
        /* a replaced one whose grace waited for its connections: they are over */
        if (pm->retire == RETIRE_RECYCLE && pid_of(pm) > 0)
                pool_member_stop_later(pm);
        if (why || requeued) {
                struct log_ctx c = member_ctx(&pm->base);
                log_ctx(requeued ? LOG_WARNING : LOG_DEBUG, &c,
                        "worker %s: pid %d: channel closed%s%s; %u connections it had not taken go to another",
                        w->cfg->name, (int)pid_of(pm), why ? ": " : "", why ? why : "", requeued);
        }
        counters_freed(w->counters); /* its channel's fd, at least */
}

static void lost_timer_arm(struct pool_member *pm, uint64_t after)
{
        if (timer_at(pm->w->event, &pm->lost_timer, worker_now(pm->w) + after, on_lost_timer, pm) < 0) {
                /* no timer to wait with: stop it now rather than never */
                log_msg(LOG_ERR, "worker %s: pid %d: no timer to stop it gracefully: sending SIGKILL",
                        pm->w->cfg->name, (int)pid_of(pm));
                pm->lost = LOST_KILL;
                (void)kill(-pid_of(pm), SIGKILL);
        }
}

/* A process that runs on without its channel serves nobody and never will:
 * it is stopped as systemd stops a service, SIGTERM to its process group
 * (what it had ACKed is its own: it may finish those), then SIGKILL after
 * stop-timeout. Its exit counts as a failure and is logged then, once. */
static int on_lost_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct pool_member *pm = userdata;
        struct worker *w = pm->w;
        unsigned long long timeout_ms = w->launcher.stop_timeout_usec / 1000;
        struct log_ctx c = member_ctx(&pm->base);
        unsigned suppressed;
        char note[64];

        if (pid_of(pm) <= 0 || pm->lost == LOST_NO || pm->lost == LOST_KILL)
                return 0;
        if (pm->lost == LOST_GRACE) {
                bool say = ratelimit_pass(&w->launcher.exit_rl, worker_now(w), &suppressed);

                if (say && pm->retire != RETIRE_NO)
                        log_ctx(LOG_WARNING, &c,
                                "worker %s: pid %d: still running %llums after it was asked to exit: "
                                "stopping it (SIGTERM, SIGKILL after %llums)%s",
                                w->cfg->name, (int)pid_of(pm), timeout_ms, timeout_ms,
                                ratelimit_note(note, suppressed, "failures"));
                else if (say)
                        log_ctx(LOG_WARNING, &c,
                                "worker %s: pid %d: closed its channel; still running %llums later: "
                                "stopping it (SIGTERM, SIGKILL after %llums)%s",
                                w->cfg->name, (int)pid_of(pm), CHANNEL_GRACE_USEC / 1000ULL, timeout_ms,
                                ratelimit_note(note, suppressed, "failures"));
                pm->lost = LOST_TERM;
                (void)kill(-pid_of(pm), SIGTERM);
                lost_timer_arm(pm, w->launcher.stop_timeout_usec);
                return 0;
        }
        log_ctx(LOG_WARNING, &c, "worker %s: pid %d: still running %llums after SIGTERM: sending SIGKILL",
                w->cfg->name, (int)pid_of(pm), timeout_ms);
        pm->lost = LOST_KILL;
        (void)kill(-pid_of(pm), SIGKILL);
        return 0;
}

/* The worker's end of the channel is gone (EOF, an error) while its process
 * runs: the process is lost, like one that died. What it had not taken goes
 * to another now. Then it gets CHANNEL_GRACE_USEC to exit: one that closes
 * its channel on its way out (us_worker_close(), exit) is no loss, and its
 * exit is judged as any other. One still running then is stopped.
 * At stop or after a reload we half-closed the channel first (pm->shut): the
 * worker closing its end after that is the expected end, not a loss. */
void pool_channel_gone(struct pool_member *pm, const char *why)
{
        bool expected = pm->shut;

        pm->dropped += pm->unacked; /* sent to it, never taken: a failure at its exit */
        pool_channel_close(pm, why);
        if (expected || pid_of(pm) <= 0 || pm->lost != LOST_NO)
                return;
        pm->lost = LOST_GRACE;
        lost_timer_arm(pm, CHANNEL_GRACE_USEC);
}

void pool_member_stop_later(struct pool_member *pm)
{
        if (pm->lost != LOST_NO)
                return;
        pm->lost = LOST_GRACE;
        lost_timer_arm(pm, pm->w->launcher.stop_timeout_usec);
}

/* A connection not DONE within runtime-max: its process is hung, as one
 * that takes nothing. SIGTERM to its process group, SIGKILL after
 * stop-timeout; it gets no new connection meanwhile, what it had not taken
 * goes to another when it is gone, and its exit is a failure: restart=
 * decides whether its place starts again (with the backoff). */
static void hung(struct pool_member *pm, const struct conn *oldest)
{
        struct worker *w = pm->w;
        struct log_ctx c = worker_ctx(w, oldest->socket, &oldest->peer);
        unsigned suppressed;
        char note[64];

        c.worker_pid = pid_of(pm);
        if (ratelimit_pass(&w->launcher.exit_rl, worker_now(w), &suppressed))
                log_ctx(LOG_WARNING, &c,
                        "worker %s: pid %d: connection %llu not done after %llums (runtime-max): stopping it "
                        "(SIGTERM, SIGKILL after %llums)%s",
                        w->cfg->name, (int)pid_of(pm), (unsigned long long)oldest->id,
                        (unsigned long long)(w->cfg->runtime_max_usec / 1000),
                        (unsigned long long)(w->launcher.stop_timeout_usec / 1000),
                        ratelimit_note(note, suppressed, "failures"));
        /* one already on its way out (idle, replaced) stays so: its place is
         * not started again beside its successor */
        if (pm->retire == RETIRE_NO)
                pm->retire = RETIRE_HUNG;
        if (pm->lost == LOST_NO || pm->lost == LOST_GRACE) {
                pm->lost = LOST_TERM;
                (void)kill(-pid_of(pm), SIGTERM);
                lost_timer_arm(pm, w->launcher.stop_timeout_usec);
        }
        pool_of(w)->drain(w);
}

static int on_runtime(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct pool_member *pm = userdata;
        const struct conn *oldest = NULL;

        if (pid_of(pm) <= 0 || pm->retire == RETIRE_HUNG || pm->lost >= LOST_TERM)
                return 0; /* being stopped already */
        for (const struct conn *c = pm->conns; c; c = c->next)
                if (!oldest || c->at < oldest->at)
                        oldest = c;
        if (!oldest)
                return 0;
        if (usec < oldest->at + pm->w->cfg->runtime_max_usec) {
                runtime_arm(pm, oldest->at);
                return 0;
        }
        hung(pm, oldest);
        return 0;
}

int pool_channel_watch(struct pool_member *pm)
{
        int r = sd_event_add_io(pm->w->event, &pm->chan_io, pm->chan, EPOLLIN, on_channel, pm);

        if (r >= 0)
                r = sd_event_add_time(pm->w->event, &pm->ack_timer, CLOCK_MONOTONIC, 0, 0, on_ack_timeout, pm);
        if (pm->ack_timer)
                sd_event_source_set_enabled(pm->ack_timer, SD_EVENT_OFF);
        return r;
}
