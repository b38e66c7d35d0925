/* dispatch = pool: the queue, picking a process, starting and judging the
 * pool's processes, hand-over at reload. Their channels: pool-channel.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool-channel.h"

static void drain(struct worker *w);

/* ---- connection lists ---------------------------------------------------- */

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
                pool_list_unlink(&p->queue, &p->queue_tail, c);
                w->n_queued--;
        }
        return c;
}

/* Frees what is queued; true if that gave fds back. */
static bool queue_free(struct worker *w)
{
        bool freed = false;

        while (pool_of(w)->queue)
                freed |= pool_conn_free(w, queue_pop(w));
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

/* The process to send to: of those that can take more, the idle one used
 * last (so that, in a pool that sizes itself, the others stay idle and are
 * stopped), else the one with the fewest connections in flight. *ret_room
 * says how many it can take, *ret_open how many processes can. */
static struct pool_member *pick(struct worker *w, unsigned *ret_room, unsigned *ret_open)
{
        struct pool *p = pool_of(w);
        struct pool_member *best = NULL;

        *ret_open = 0;
        for (size_t i = 0; i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                unsigned room;
                if (pm->chan < 0 || pm->shut || pm->blocked || !(room = pool_member_room(pm)))
                        continue;
                ++*ret_open;
                if (!best || (pm->inflight == 0 && (best->inflight > 0 || pm->idle_seq > best->idle_seq)) ||
                    (best->inflight > 0 && pm->inflight < best->inflight)) {
                        best = pm;
                        *ret_room = room;
                }
        }
        return best;
}

/* Hands queued connections to processes while any can take one: to each a
 * batch, its share of the queue within its room, in one message. Then the
 * pool's size follows: another process if connections still wait, idle ones
 * stopped, spent ones replaced. */
static void drain(struct worker *w)
{
        struct pool *p = pool_of(w);
        struct conn *batch[US_FRAME_BATCH_MAX];
        struct pool_member *pm;
        unsigned room, open;
        bool spent = false;

        while (p->queue && (pm = pick(w, &room, &open))) {
                unsigned share = (w->n_queued + open - 1) / open, n = 0;
                if (room > share)
                        room = share;
                while (n < room && n < US_FRAME_BATCH_MAX && p->queue)
                        batch[n++] = queue_pop(w);
                int r = pool_channel_send(pm, batch, n);
                int err = errno;
                for (unsigned i = n; i-- > (r < 0 ? 0 : (unsigned)r);)
                        queue_push(w, batch[i], true);
                if (r < 0)
                        pool_channel_gone(pm, strerror(err));
                else
                        spent |= pool_spent(pm);
        }
        update_capacity(w);
        if (spent)
                for (size_t i = 0; i < p->n; i++)
                        if (pool_spent(&p->pm[i]))
                                pool_recycle(w, &p->pm[i]);
        pool_grow(w);
        pool_shrink(w);
        if (p->closing && !p->queue)
                pool_stop(w);
}

static int on_flush(sd_event_source *es, void *userdata)
{
        drain(userdata);
        return 0;
}

void pool_flush(struct worker *w)
{
        drain(w);
}

/* No process runs and none is to start (restart = never, or no restart could
 * be scheduled). */
static bool pool_dead(const struct worker *w)
{
        struct pool *p = pool_of(w);

        if (p->n == 0 || worker_ending(w))
                return false;
        for (size_t i = 0; i < p->n; i++)
                if (pool_occupied(&p->pm[i]))
                        return false;
        /* a pool that sizes itself starts one for the next connection */
        return !p->elastic || !pool_free_place(p);
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
                a->reason = REFUSAL_NO_PROCESS;
                return DISPATCH_REFUSED;
        }
        c = calloc(1, sizeof(*c) + len);
        if (!c) {
                close(a->fd); /* out of memory: nothing better to do with it */
                return DISPATCH_TAKEN;
        }
        c->id = ++pool_of(w)->next_id;
        if (pool_of(w)->elastic)
                c->at = worker_now(w); /* growth looks at how long it waits */
        c->fd = a->fd;
        c->peer = a->peer;
        memcpy(c->socket, a->socket->name, len);
        c->sock_type = a->socket->type;
        if (w->cfg->max_per_user)
                (void)uidtab_inc(&w->uids, a->peer.uid);
        queue_push(w, c, false);
        /* What this wake-up accepts goes out together, once the socket's accept
         * loop is over (the next loop iteration: a pending source, no wait). */
        if (!pool_of(w)->flush || sd_event_source_set_enabled(pool_of(w)->flush, SD_EVENT_ONESHOT) < 0)
                drain(w);
        return DISPATCH_TAKEN;
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
        pm->served = pm->handed = 0;
        pm->retire = RETIRE_NO;
        pm->idle_since = worker_now(pm->w);
        pm->idle_seq = ++pool_of(pm->w)->seq;
        pool_of(pm->w)->last_start = pm->idle_since; /* every start, restarts too: growth waits for it */
        worker_socket_names(pm->w, names, sizeof(names));
        snprintf(e_sock, sizeof(e_sock), "UNIXSOCKD_SOCKET=%s", names);
        a->env[a->n_env++] = e_sock;
        a->env[a->n_env++] = "UNIXSOCKD_CHANNEL=3";
        a->fds[a->n_fds++] = chan[1];
        return 0;
}

static void started(struct member *m, bool ok)
{
        struct pool_member *pm = pm_of(m), *twin = pool_twin(pool_of(pm->w), pm);
        struct worker *w = pm->w;

        close(pm->chan_child); /* the process's end: it has it, or never will */
        pm->chan_child = -1;
        if (!ok) {
                if (pm->chan >= 0)
                        close(pm->chan);
                pm->chan = -1;
                return;
        }
        if (pool_channel_watch(pm) < 0) {
                log_msg(LOG_ERR, "worker %s: cannot watch its channel", w->cfg->name);
                (void)kill(-pid_of(pm), SIGKILL);
                pool_channel_close(pm, NULL);
        }
        /* the successor of a spent process: that one may go now */
        if (twin && pool_spent(twin))
                pool_recycle(w, twin);
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
        struct pool_member *pm = pm_of(m), *twin;
        unsigned freed = 0, dropped;
        const char *why;
        bool lost;

        /* Its last ACKs and DONEs may still be unread (SIGCHLD comes first):
         * read them, so what it took is not handed out a second time. Finite:
         * it is dead, nothing more arrives, and its EOF is no news. */
        (void)pool_channel_read(pm, INT_MAX, &freed, &why);
        dropped = pm->dropped + pm->unacked;
        lost = pm->lost >= LOST_TERM && pm->retire == RETIRE_NO;
        pool_channel_close(pm, NULL);
        /* after the close: whatever it armed is for a process that is gone */
        pm->lost_timer = sd_event_source_disable_unref(pm->lost_timer);
        pm->lost = LOST_NO;
        pm->dropped = 0;
        left_behind(pm, lost, dropped, e->reason, sizeof(e->reason));
        /* (or its successor serves in the other slot of its place: the place is not started again) */
        twin = pool_twin(pool_of(pm->w), pm);
        e->retired = pm->retire == RETIRE_IDLE || pm->retire == RETIRE_RECYCLE || (twin && pool_serving(twin, true));
        if (pm->retire == RETIRE_HUNG && !worker_ending(pm->w))
                snprintf(e->reason, sizeof(e->reason), " (a connection was not done within runtime-max)");
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
                        gave_back |= pool_conn_free(w, q);
        }
        if (gave_back)
                counters_freed(w->counters);
}

static void exited(struct member *m, const struct member_exit *e)
{
        struct pool_member *pm = pm_of(m), *other = pool_twin(pool_of(pm->w), pm);
        struct worker *w = pm->w;

        pm->failed = e->failed && !e->restart && !e->retired && !worker_ending(w);
        pm->retire = RETIRE_NO;
        /* a spent process waited for this place to be free for its successor */
        if (other && pool_spent(other))
                pool_recycle(w, other);

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
        p->positions = w->cfg->instances;
        p->elastic = w->cfg->instances_min < w->cfg->instances;
        p->n = w->cfg->max_connections ? 2 * (size_t)p->positions : p->positions;
        p->pm = calloc(p->n, sizeof(*p->pm));
        w->members = calloc(p->n, sizeof(*w->members));
        p->drain = drain;
        p->requeue = requeue;
        w->mode = p;
        if (!p->pm || !w->members)
                return -ENOMEM;
        w->n_members = p->n;
        /* without it, each connection goes out alone */
        if (sd_event_add_defer(w->event, &p->flush, on_flush, w) >= 0) {
                (void)sd_event_source_set_priority(p->flush, SD_EVENT_PRIORITY_IDLE);
                (void)sd_event_source_set_enabled(p->flush, SD_EVENT_OFF);
        }
        for (size_t i = 0; i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                member_init(&pm->base, &pool_ops, w, (unsigned)(i % p->positions), &w->launcher, w->procs,
                            w->counters, w->event);
                pm->w = w;
                pm->chan = pm->chan_child = -1;
                w->members[i] = &pm->base;
        }
        /* MIN processes now; a pool of 0-N starts one at its first connection */
        for (size_t i = 0; i < w->cfg->instances_min; i++)
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
        p->grow_timer = sd_event_source_disable_unref(p->grow_timer);
        p->idle_timer = sd_event_source_disable_unref(p->idle_timer);
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
        if (!worker_members_up(w)) { /* nobody left here to serve them */
                if (w->launcher.ending == ENDING_RETIRED)
                        hand_over(w);
                else if (queue_free(w))
                        counters_freed(w->counters);
        }
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
                        pool_conn_free(w, c);
                }
                sd_event_source_disable_unref(pm->chan_io);
                sd_event_source_disable_unref(pm->ack_timer);
                sd_event_source_disable_unref(pm->lost_timer);
                sd_event_source_disable_unref(pm->runtime_timer);
                member_free(&pm->base);
                if (pm->chan >= 0)
                        close(pm->chan);
        }
        queue_free(w);
        sd_event_source_disable_unref(p->flush);
        sd_event_source_disable_unref(p->grow_timer);
        sd_event_source_disable_unref(p->idle_timer);
        free(p->pm);
        free(p);
        free(w->members);
        w->members = NULL;
        w->n_members = 0;
        w->mode = NULL;
}

static const char *member_state(const struct pool_member *pm)
{
        if (pid_of(pm) <= 0)
                return member_restart_pending(&pm->base) ? "backoff" : "stopped";
        if (pm->chan < 0)
                return "starting";
        if (pm->retire != RETIRE_NO || pm->shut)
                return "stopping";
        return pm->inflight ? "busy" : "idle";
}

/* Listed: what runs or waits to restart, and the places below MIN where
 * nothing does (stopped). A pool's free places above MIN are not listed. */
size_t pool_processes(const struct worker *w, struct process_info *out, size_t max)
{
        struct pool *p = pool_of(w);
        size_t n = 0;

        for (size_t i = 0; p && i < p->n; i++) {
                struct pool_member *pm = &p->pm[i];
                if (!pool_occupied(pm) && (i >= w->cfg->instances_min || pool_occupied(pool_twin(p, pm))))
                        continue;
                if (n++ >= max)
                        continue;
                out[n - 1] = (struct process_info){
                        .pid = pid_of(pm) > 0 ? pid_of(pm) : 0,
                        .started_usec = pm->base.started_at,
                        .served = pm->served,
                        .in_service = pm->inflight,
                        .state = member_state(pm),
                        .backoff_until_usec = member_restart_at(&pm->base),
                };
        }
        return n;
}

static unsigned count_named(const struct conn *c, const char *name)
{
        unsigned n = 0;

        for (; c; c = c->next)
                n += strcmp(c->socket, name) == 0;
        return n;
}

void pool_socket_load(const struct worker *w, const char *name, unsigned *ret_in_service, unsigned *ret_queued)
{
        const struct pool *p = pool_of(w);

        *ret_in_service = *ret_queued = 0;
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                *ret_in_service += count_named(p->pm[i].conns, name);
        *ret_queued = count_named(p->queue, name);
}
