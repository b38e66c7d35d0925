/* dispatch = pool: the queue, picking a process, CONN/ACK/DONE on its
 * channel, the ACK timeout, a lost channel, hand-over at reload. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool.h"

#define ACK_TIMEOUT_USEC (5 * 1000000ULL)       /* an idle process that takes nothing for this long is hung */
#define CHANNEL_GRACE_USEC (1000000ULL)         /* one that closes its channel on its way out is gone by then */

/* pm.lost: its channel closed while the process runs */
enum {
        LOST_NO,
        LOST_GRACE,                             /* it may be exiting: wait CHANNEL_GRACE_USEC */
        LOST_TERM,                              /* it ran on: SIGTERM sent, SIGKILL after stop-timeout */
        LOST_KILL,
};

struct pool_member;

/* A connection on its way to a process: queued, sent (its fd held until
 * ACK), or acknowledged (until DONE). */
struct conn {
        uint64_t id;
        int fd;                                 /* ours until ACK, then -1 */
        struct us_peer peer;
        bool acked;
        struct conn *prev, *next;
        char socket[];                          /* the socket it came through */
};

struct pool_member {
        struct member base;
        struct worker *w;
        int chan;                               /* our end of its channel, or -1 */
        int chan_child;                         /* its end, while it starts */
        sd_event_source *chan_io, *ack_timer, *lost_timer;
        unsigned unacked, inflight;             /* inflight counts unacked too */
        bool blocked;                           /* channel full: waiting for EPOLLOUT */
        bool shut;                              /* stopping: we shut our writing side */
        struct conn *conns;                     /* sent to it, newest first */
        int lost;
        unsigned dropped;                       /* sent to it and left untaken */
};

struct pool {
        struct pool_member *pm;
        size_t n;
        struct conn *queue, *queue_tail;        /* accepted, no process could take them yet */
        uint64_t next_id;
        bool closing;                           /* stopping: close channels once queue is empty */
};

static void drain(struct worker *w);
static void member_lost(struct pool_member *pm, const char *why);
static void channel_gone(struct pool_member *pm, const char *why);

static struct pool *pool_of(const struct worker *w)
{
        return w->mode;
}

static struct pool_member *pm_of(struct member *m)
{
        return (struct pool_member *)((char *)m - offsetof(struct pool_member, base));
}

static pid_t pid_of(const struct pool_member *pm)
{
        return pm->base.proc.pid;
}

/* ---- connection lists ---------------------------------------------------- */

static void list_unlink(struct conn **head, struct conn **tail, struct conn *c)
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

static void queue_push(struct worker *w, struct conn *c, bool front)
{
        struct pool *p = pool_of(w);

        c->prev = c->next = NULL;
        if (!p->queue) {
                p->queue = p->queue_tail = c;
        } else if (front) {
                c->next = p->queue;
                p->queue->prev = c;
                p->queue = c;
        } else {
                c->prev = p->queue_tail;
                p->queue_tail->next = c;
                p->queue_tail = c;
        }
        w->n_queued++;
}

static struct conn *queue_pop(struct worker *w)
{
        struct pool *p = pool_of(w);
        struct conn *c = p->queue;

        if (c) {
                list_unlink(&p->queue, &p->queue_tail, c);
                w->n_queued--;
        }
        return c;
}

/* A connection is over for the daemon: served (DONE), or gone with its
 * worker. True if that gave the daemon an fd back (it was not ACKed). */
static bool conn_free(struct worker *w, struct conn *c)
{
        bool had_fd = c->fd >= 0;

        if (had_fd)
                close(c->fd);
        if (w->cfg->max_per_user)
                uidtab_dec(&w->uids, c->peer.uid);
        free(c);
        return had_fd;
}

/* Frees what is queued; true if that gave fds back. */
static bool queue_free(struct worker *w)
{
        bool freed = false;

        while (pool_of(w)->queue)
                freed |= conn_free(w, queue_pop(w));
        return freed;
}

/* The pool worker that serves c's socket now, if a reload replaced w. */
static struct worker *successor(struct worker *w, const struct conn *c)
{
        struct worker *to;

        if (w->launcher.ending != ENDING_RETIRED || !w->successor)
                return NULL;
        to = w->successor(w->successor_userdata, c->socket);
        if (!to || to == w || to->cfg->dispatch != DISPATCH_POOL || worker_ending(to))
                return NULL;
        return to;
}

/* A connection a process did not take goes back to the front of the queue:
 * its worker's, or after a reload replaced that worker, the queue of the pool
 * worker its socket has now (the old one starts no process again). */
static void requeue(struct worker *w, struct conn *c)
{
        struct worker *to = successor(w, c);

        if (!to) {
                queue_push(w, c, true);
                return;
        }
        if (w->cfg->max_per_user)
                uidtab_dec(&w->uids, c->peer.uid);
        if (to->cfg->max_per_user)
                (void)uidtab_inc(&to->uids, c->peer.uid);
        queue_push(to, c, true);
        drain(to);
}

/* ---- sending ------------------------------------------------------------- */

static void update_capacity(struct worker *w)
{
        worker_set_gate(w, GATE_CAPACITY, w->n_queued >= POOL_QUEUE_MAX);
}

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

static void sent(struct pool_member *pm, struct conn *c)
{
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

/* Sends c to pm. 1 sent, 0 the channel is full (try elsewhere), -1 pm is gone. */
static int member_send(struct pool_member *pm, struct conn *c)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f = { .type = US_FRAME_CONN, .id = c->id, .peer = c->peer };
        ssize_t n;

        snprintf(f.socket, sizeof(f.socket), "%s", c->socket);
        n = us_frame_encode(&f, buf, sizeof(buf));
        if (n < 0 || us_send_fd(pm->chan, buf, (size_t)n, c->fd) < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                        pm->blocked = true;
                        sd_event_source_set_io_events(pm->chan_io, EPOLLIN | EPOLLOUT);
                        return 0;
                }
                return -1;
        }
        sent(pm, c);
        return 1;
}

/* The running process with the fewest connections in flight that can take one more. */
static struct pool_member *pick(struct worker *w)
{
        struct pool *p = pool_of(w);
        struct pool_member *best = NULL;

        for (size_t i = 0; i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                if (pm->chan < 0 || pm->shut || pm->blocked || pm->unacked >= POOL_UNACKED_MAX)
                        continue;
                if (!best || pm->inflight < best->inflight)
                        best = pm;
        }
        return best;
}

/* Hands queued connections to processes while any can take one. */
static void drain(struct worker *w)
{
        struct pool *p = pool_of(w);
        struct pool_member *pm;

        while (p->queue && (pm = pick(w))) {
                struct conn *c = queue_pop(w);
                int r = member_send(pm, c);
                int err = errno;
                if (r <= 0)
                        queue_push(w, c, true);
                if (r < 0)
                        channel_gone(pm, strerror(err));
        }
        update_capacity(w);
        if (p->closing && !p->queue)
                pool_stop(w);
}

/* No process runs and none is to start (restart = never, or no restart could
 * be scheduled). */
static bool pool_dead(const struct worker *w)
{
        const struct pool *p = pool_of(w);

        if (p->n == 0 || worker_ending(w))
                return false;
        for (size_t i = 0; i < p->n; i++)
                if (pid_of(&p->pm[i]) > 0 || member_restart_pending(&p->pm[i].base))
                        return false;
        return true;
}

int pool_dispatch(struct worker *w, struct accepted *a)
{
        static char why[300];
        size_t len = strlen(a->socket->name) + 1;
        struct conn *c;

        if (pool_dead(w)) {
                /* Held, it would wait forever (and with it up to POOL_QUEUE_MAX
                 * others, then the backlog): closing tells it now, as a crashed
                 * server would. */
                snprintf(why, sizeof(why), "worker %s has no process and none will start", w->cfg->name);
                a->why = why;
                return DISPATCH_REFUSED;
        }
        c = calloc(1, sizeof(*c) + len);
        if (!c) {
                close(a->fd); /* out of memory: nothing better to do with it */
                return DISPATCH_TAKEN;
        }
        c->id = ++pool_of(w)->next_id;
        c->fd = a->fd;
        c->peer = a->peer;
        memcpy(c->socket, a->socket->name, len);
        if (w->cfg->max_per_user)
                (void)uidtab_inc(&w->uids, a->peer.uid);
        queue_push(w, c, false);
        drain(w);
        return DISPATCH_TAKEN;
}

/* ---- the channel ---------------------------------------------------------- */

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
                        w->cfg->name, (int)pid_of(pm), what, suppressed_note(note, suppressed, "failures"));
        if (pid_of(pm) > 0)
                (void)kill(-pid_of(pm), SIGKILL);
        member_lost(pm, NULL);
}

/* Handles one answer; true if it gave the daemon an fd back (an ACK: our
 * copy of the connection is closed). */
static bool handle_reply(struct pool_member *pm, const struct us_frame *f)
{
        struct worker *w = pm->w;
        struct conn *c = find_conn(pm, f->id);
        bool freed = false;

        if (!c || f->type == US_FRAME_CONN || (f->type == US_FRAME_ACK && c->acked)) {
                protocol_error(pm, f->type == US_FRAME_ACK ? "ACK for no connection waiting"
                                                           : "DONE for no connection it holds");
                return false;
        }
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
                list_unlink(&pm->conns, NULL, c);
                pm->inflight--;
                conn_free(w, c);
                counters_changed(w->counters);
        }
        ack_timer_arm(pm);
        return freed;
}

/* Reads and handles up to max messages from pm's channel, counting the fds
 * that gave back in *freed. False if the worker's end is gone (EOF, or an
 * error: *why says which, NULL for EOF); the caller decides what that means.
 * A protocol error stops the process and closes the channel here. */
static bool channel_read(struct pool_member *pm, int max, unsigned *freed, const char **why)
{
        unsigned char buf[US_FRAME_MAX + 1];
        struct us_frame f;

        for (int i = 0; i < max && pm->chan >= 0; i++) {
                int passed = -1;
                ssize_t n = us_recv_fd(pm->chan, buf, sizeof(buf), &passed);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (passed >= 0) {
                        close(passed);
                        protocol_error(pm, "an fd sent back");
                        break;
                }
                if (n < 0 && (errno == EBADMSG || errno == EMSGSIZE)) {
                        protocol_error(pm, "a malformed message");
                        break;
                }
                if (n <= 0) {
                        *why = n == 0 ? NULL : strerror(errno);
                        return false;
                }
                if (us_frame_decode(buf, (size_t)n, &f) < 0) {
                        protocol_error(pm, errno == EPROTONOSUPPORT ? "another protocol version"
                                                                    : "a malformed message");
                        break;
                }
                *freed += handle_reply(pm, &f);
        }
        return true;
}

static void channel_event(struct pool_member *pm, uint32_t revents)
{
        struct worker *w = pm->w;
        unsigned freed = 0;
        const char *why = NULL;

        if (revents & EPOLLOUT) {
                pm->blocked = false;
                sd_event_source_set_io_events(pm->chan_io, EPOLLIN);
        }
        /* Bounded: a worker flooding its channel cannot keep the loop to itself. */
        bool up = channel_read(pm, 256, &freed, &why);
        if (pm->chan >= 0 && (!up || ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))))
                channel_gone(pm, why);
        drain(w);
        /* once per wakeup, not per ACK: it looks at every socket */
        if (freed)
                counters_freed(w->counters);
}

void pool_channel_event(struct worker *w, unsigned index, uint32_t revents)
{
        channel_event(&pool_of(w)->pm[index], revents);
}

static int on_channel(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        channel_event(userdata, revents);
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
        drain(pm->w);
        return 0;
}

/* The channel is gone (EOF, error, the process died or was stopped): what it
 * had not acknowledged is still ours and goes back to the queue's front;
 * what it had taken is over. */
static void member_lost(struct pool_member *pm, const char *why)
{
        struct worker *w = pm->w;
        unsigned requeued = 0;

        if (pm->chan < 0)
                return;
        pm->chan_io = sd_event_source_disable_unref(pm->chan_io);
        pm->ack_timer = sd_event_source_disable_unref(pm->ack_timer);
        close(pm->chan);
        pm->chan = -1;
        pm->blocked = false;
        pm->shut = false;
        /* pm->conns is newest first: push each to the front keeps the oldest first */
        while (pm->conns) {
                struct conn *c = pm->conns;
                list_unlink(&pm->conns, NULL, c);
                if (c->acked) {
                        conn_free(w, c);
                } else {
                        requeue(w, c);
                        requeued++;
                }
        }
        pm->unacked = pm->inflight = 0;
        if (why || requeued) {
                struct log_ctx c = member_ctx(&pm->base);
                log_ctx(requeued ? LOG_WARNING : LOG_DEBUG, &c,
                        "worker %s: pid %d: channel closed%s%s; %u connections it had not taken go to another",
                        w->cfg->name, (int)pid_of(pm), why ? ": " : "", why ? why : "", requeued);
        }
        counters_freed(w->counters); /* its channel's fd, at least */
}

static int on_lost_timer(sd_event_source *es, uint64_t usec, void *userdata);

static void lost_timer_arm(struct pool_member *pm, uint64_t after)
{
        if (!pm->lost_timer &&
            sd_event_add_time(pm->w->event, &pm->lost_timer, CLOCK_MONOTONIC, 0, 0, on_lost_timer, pm) < 0) {
                /* no timer to wait with: stop it now rather than never */
                log_msg(LOG_ERR, "worker %s: pid %d: no timer to stop it gracefully: sending SIGKILL",
                        pm->w->cfg->name, (int)pid_of(pm));
                pm->lost = LOST_KILL;
                (void)kill(-pid_of(pm), SIGKILL);
                return;
        }
        sd_event_source_set_time(pm->lost_timer, worker_now(pm->w) + after);
        sd_event_source_set_enabled(pm->lost_timer, SD_EVENT_ONESHOT);
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
                if (ratelimit_pass(&w->launcher.exit_rl, worker_now(w), &suppressed))
                        log_ctx(LOG_WARNING, &c,
                                "worker %s: pid %d: closed its channel; still running %llums later: "
                                "stopping it (SIGTERM, SIGKILL after %llums)%s",
                                w->cfg->name, (int)pid_of(pm), CHANNEL_GRACE_USEC / 1000ULL, timeout_ms,
                                suppressed_note(note, suppressed, "failures"));
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
static void channel_gone(struct pool_member *pm, const char *why)
{
        bool expected = pm->shut;

        pm->dropped += pm->unacked; /* sent to it, never taken: a failure at its exit */
        member_lost(pm, why);
        if (expected || pid_of(pm) <= 0 || pm->lost != LOST_NO)
                return;
        pm->lost = LOST_GRACE;
        lost_timer_arm(pm, CHANNEL_GRACE_USEC);
}

/* ---- its processes ---------------------------------------------------------- */

static int prepare(struct member *m, struct launch *a, const char **step)
{
        static char e_sock[4200];
        struct pool_member *pm = pm_of(m);
        int chan[2];
        char names[4096];

        if (us_pair_type(SOCK_SEQPACKET, chan) < 0) {
                *step = "socketpair";
                return -errno;
        }
        if (fcntl(chan[0], F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;
                close(chan[0]);
                close(chan[1]);
                *step = "socketpair";
                return r;
        }
        pm->chan = chan[0];
        pm->chan_child = chan[1];
        worker_socket_names(pm->w, names, sizeof(names));
        snprintf(e_sock, sizeof(e_sock), "UNIXSOCKD_SOCKET=%s", names);
        a->env[a->n_env++] = e_sock;
        a->env[a->n_env++] = "UNIXSOCKD_CHANNEL=3";
        a->fds[a->n_fds++] = chan[1];
        return 0;
}

static void started(struct member *m, bool ok)
{
        struct pool_member *pm = pm_of(m);
        struct worker *w = pm->w;

        close(pm->chan_child); /* the process's end: it has it, or never will */
        pm->chan_child = -1;
        if (!ok) {
                if (pm->chan >= 0)
                        close(pm->chan);
                pm->chan = -1;
                return;
        }
        if (sd_event_add_io(w->event, &pm->chan_io, pm->chan, EPOLLIN, on_channel, pm) < 0 ||
            sd_event_add_time(w->event, &pm->ack_timer, CLOCK_MONOTONIC, 0, 0, on_ack_timeout, pm) < 0) {
                log_msg(LOG_ERR, "worker %s: cannot watch its channel", w->cfg->name);
                (void)kill(-pid_of(pm), SIGKILL);
                member_lost(pm, NULL);
        }
        if (pm->ack_timer)
                sd_event_source_set_enabled(pm->ack_timer, SD_EVENT_OFF);
        drain(w);
}

/* Another process of w can take a queued connection. */
static bool can_take(const struct worker *w)
{
        const struct pool *p = pool_of(w);

        for (size_t i = 0; i < p->n; i++)
                if (p->pm[i].chan >= 0 && !p->pm[i].shut)
                        return true;
        return false;
}

/* Why an exit is a failure whatever its status: the process left clients
 * that nothing else serves. "" if it did not, or it no longer matters
 * (stopping, replaced by a reload). */
static void left_behind(struct pool_member *pm, bool lost, unsigned dropped, char *buf, size_t size)
{
        struct worker *w = pm->w;

        buf[0] = '\0';
        if (worker_ending(w))
                return;
        if (lost)
                snprintf(buf, size, " (it had closed its channel and run on)");
        else if (dropped)
                snprintf(buf, size, " (leaving %u connections sent to it untaken)", dropped);
        else if (pool_of(w)->queue && !can_take(w))
                snprintf(buf, size, " (leaving %u connections waiting for it)", w->n_queued);
}

static void exiting(struct member *m, struct member_exit *e)
{
        struct pool_member *pm = pm_of(m);
        unsigned freed = 0, dropped;
        const char *why;
        bool lost;

        /* Its last ACKs and DONEs may still be unread (SIGCHLD comes first):
         * read them, so what it took is not handed out a second time. Finite:
         * it is dead, nothing more arrives, and its EOF is no news. */
        (void)channel_read(pm, INT_MAX, &freed, &why);
        dropped = pm->dropped + pm->unacked;
        lost = pm->lost >= LOST_TERM;
        pm->lost_timer = sd_event_source_disable_unref(pm->lost_timer);
        pm->lost = LOST_NO;
        pm->dropped = 0;
        member_lost(pm, NULL);
        left_behind(pm, lost, dropped, e->reason, sizeof(e->reason));
}

/* No process left and none to start: what is queued would wait forever. It
 * is closed now, said once; new clients are refused (pool_dispatch). */
static void pool_died(struct worker *w)
{
        struct log_ctx c = worker_ctx(w, NULL, NULL);
        unsigned n = w->n_queued;
        bool freed = queue_free(w);

        update_capacity(w);
        log_ctx(LOG_ERR, &c, "worker %s: no process left and none will start: %u queued connections closed; "
                "new ones are refused until unixsockd restarts or a reload changes the worker",
                w->cfg->name, n);
        if (freed)
                counters_freed(w->counters);
        counters_changed(w->counters);
}

/* The last process of a replaced pool: what is still queued goes to its successor. */
static void hand_over(struct worker *w)
{
        struct pool *p = pool_of(w);
        bool gave_back = false;

        while (p->queue) {
                struct conn *q = queue_pop(w);
                if (successor(w, q))
                        requeue(w, q);
                else
                        gave_back |= conn_free(w, q);
        }
        if (gave_back)
                counters_freed(w->counters);
}

static void exited(struct member *m, const struct member_exit *e)
{
        struct worker *w = pm_of(m)->w;

        if (w->launcher.ending == ENDING_RETIRED && !worker_members_up(w))
                hand_over(w);
        if (pool_dead(w))
                pool_died(w);
        drain(w);
}

static const struct member_ops pool_ops = {
        .prepare = prepare,
        .started = started,
        .exiting = exiting,
        .exited = exited,
};

/* ---- the whole pool --------------------------------------------------------- */

int pool_start(struct worker *w)
{
        struct pool *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->n = w->cfg->instances;
        p->pm = calloc(p->n, sizeof(*p->pm));
        w->members = calloc(p->n, sizeof(*w->members));
        w->mode = p;
        if (!p->pm || !w->members)
                return -ENOMEM;
        w->n_members = p->n;
        for (size_t i = 0; i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                member_init(&pm->base, &pool_ops, w, (unsigned)i, &w->launcher, w->procs, w->counters, w->event);
                pm->w = w;
                pm->chan = pm->chan_child = -1;
                w->members[i] = &pm->base;
        }
        for (size_t i = 0; i < p->n; i++)
                member_start(&p->pm[i].base);
        return 0;
}

/* Stopping: channels close once every queued connection is handed out, so
 * each process reads what it was sent, then EOF, finishes and exits. */
void pool_stop(struct worker *w)
{
        struct pool *p = pool_of(w);

        for (size_t i = 0; i < p->n; i++)
                member_cancel_restart(&p->pm[i].base); /* (a lost one keeps its lost_timer) */
        if (p->queue && worker_members_up(w)) {
                p->closing = true;
                return;
        }
        p->closing = false;
        for (size_t i = 0; i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                /* Half-close: it reads what was sent to it, then EOF; its ACKs and
                 * DONEs are still read here. (A full close would reset its end
                 * while answers of its were unread: it would lose its queue.) */
                if (pm->chan >= 0 && !pm->shut && shutdown(pm->chan, SHUT_WR) == 0)
                        pm->shut = true;
        }
        if (!worker_members_up(w) && queue_free(w)) /* nobody left to serve them */
                counters_freed(w->counters);
}

bool pool_idle(const struct worker *w)
{
        const struct pool *p = pool_of(w);

        if (!p)
                return true;
        if (p->queue || worker_members_up(w))
                return false;
        for (size_t i = 0; i < p->n; i++)
                if (p->pm[i].conns)
                        return false;
        return true;
}

void pool_free(struct worker *w)
{
        struct pool *p = pool_of(w);

        if (!p)
                return;
        for (size_t i = 0; p->pm && i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                for (struct conn *c = pm->conns, *next; c; c = next) {
                        next = c->next;
                        conn_free(w, c);
                }
                sd_event_source_disable_unref(pm->chan_io);
                sd_event_source_disable_unref(pm->ack_timer);
                sd_event_source_disable_unref(pm->lost_timer);
                member_free(&pm->base);
                if (pm->chan >= 0)
                        close(pm->chan);
        }
        queue_free(w);
        free(p->pm);
        free(p);
        free(w->members);
        w->members = NULL;
        w->n_members = 0;
        w->mode = NULL;
}
