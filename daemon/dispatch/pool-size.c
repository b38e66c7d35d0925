/* The size of a pool: growth of one that sizes itself (instances =
 * MIN-MAX) when connections wait, shrinking when processes above MIN are
 * idle, and the replacement of a process that served max-connections. Its
 * places: slot i, and with max-connections its twin i + instances, where a
 * successor starts while the process it replaces finishes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "pool-channel.h"
#include "timer.h"

struct pool_member *pool_twin(struct pool *p, struct pool_member *pm)
{
        size_t i = (size_t)(pm - p->pm);

        if (p->n == p->positions)
                return NULL;
        return &p->pm[i < p->positions ? i + p->positions : i - p->positions];
}

bool pool_occupied(const struct pool_member *pm)
{
        return pm && (pid_of(pm) > 0 || member_restart_pending(&pm->base));
}

/* Serving: running and not on its way out, or about to restart. One whose
 * channel is lost (it is exiting, or being stopped) is counted only with
 * lost: its exit decides what its place does next, so growth waits for its exit,
 * but it serves no one, so it keeps no other process from going idle. */
bool pool_serving(const struct pool_member *pm, bool lost)
{
        return (pid_of(pm) > 0 && (lost || pm->chan >= 0) && pm->retire == RETIRE_NO && !pm->shut) ||
               member_restart_pending(&pm->base);
}

/* A place in the pool where nothing runs nor will, that may start. */
struct pool_member *pool_free_place(struct pool *p)
{
        for (unsigned i = 0; i < p->positions; i++) {
                struct pool_member *pm = &p->pm[i];
                struct pool_member *t = pool_twin(p, pm);
                /* a place whose last process failed with restart = never stays empty */
                if (!pool_occupied(pm) && !pool_occupied(t) && !pm->failed && !(t && t->failed))
                        return pm;
        }
        return NULL;
}

static unsigned pool_size(const struct pool *p, bool lost)
{
        unsigned n = 0;

        for (size_t i = 0; i < p->n; i++)
                n += pool_serving(&p->pm[i], lost);
        return n;
}

static int on_grow(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct worker *w = userdata;

        pool_of(w)->drain(w);
        return 0;
}

/* Connections wait and no process can take one: a pool that sizes itself
 * starts another, up to MAX. One start at a time: another only once every
 * process started has spoken, or when both the last start and the oldest
 * waiting connection are POOL_GROW_WAIT_USEC old.
 * While any place waits for its restart, or a process whose channel is lost
 * for its exit to be judged, the backoff decides: a worker that crashes is
 * not started again and again through the pool's growth. */
void pool_grow(struct worker *w)
{
        struct pool *p = pool_of(w);
        struct pool_member *place;
        bool starting = false;
        uint64_t now, since;

        if (!p->elastic || !p->queue || worker_ending(w) || p->closing)
                return;
        for (size_t i = 0; i < p->n; i++) {
                const struct pool_member *pm = &p->pm[i];
                /* a restart due, or an exit to judge (a channel lost: a crash's
                 * EOF comes before its SIGCHLD): the backoff decides */
                if (member_restart_pending(&pm->base) ||
                    (pid_of(pm) > 0 && pm->chan < 0 && pm->retire == RETIRE_NO))
                        return;
                starting |= pid_of(pm) > 0 && pm->version == 0 && pm->retire == RETIRE_NO && !pm->shut;
        }
        if (pool_size(p, true) >= p->positions || !(place = pool_free_place(p)))
                return;
        now = worker_now(w);
        since = p->last_start > p->queue->at ? p->last_start : p->queue->at;
        if (starting && now < since + POOL_GROW_WAIT_USEC) {
                (void)timer_at(w->event, &p->grow_timer, since + POOL_GROW_WAIT_USEC, on_grow, w);
                return; /* (no timer: the next connection or answer looks again) */
        }
        member_start(&place->base);
}

/* pm is asked to exit: no new connection, its channel half-closed (it reads
 * what it was sent, then EOF), and it is not restarted. */
static void retire(struct pool_member *pm, enum retire why)
{
        pm->retire = why;
        if (pm->chan >= 0 && !pm->shut && shutdown(pm->chan, SHUT_WR) == 0)
                pm->shut = true;
        /* A replaced one serves what it holds, for as long as that takes
         * (runtime-max is for a connection that never ends): its grace
         * starts when it holds nothing. */
        if (why != RETIRE_RECYCLE || pm->inflight == 0)
                pool_member_stop_later(pm);
}

static int on_idle(sd_event_source *es, uint64_t usec, void *userdata);

static bool idle(const struct pool_member *pm)
{
        return pid_of(pm) > 0 && pool_serving(pm, false) && pm->inflight == 0;
}

/* Idle for idle-timeout at now: it may be stopped. */
static bool idle_due(const struct pool_member *pm, uint64_t now)
{
        return idle(pm) && now >= pm->idle_since + pm->w->cfg->idle_timeout_usec;
}

static int by_use(const void *a, const void *b)
{
        const struct pool_member *x = *(struct pool_member *const *)a, *y = *(struct pool_member *const *)b;

        return x->idle_seq < y->idle_seq ? -1 : x->idle_seq > y->idle_seq;
}

static void stop_idle(struct worker *w, struct pool_member *pm, uint64_t now, unsigned size)
{
        const struct cfg_worker *cw = w->cfg;
        struct log_ctx c = member_ctx(&pm->base);

        log_ctx(LOG_INFO, &c, "worker %s: pid %d: idle for %llums: stopping it (pool %u of %u-%u)", cw->name,
                (int)pid_of(pm), (unsigned long long)((now - pm->idle_since) / 1000), size, cw->instances_min,
                cw->instances);
        retire(pm, RETIRE_IDLE);
}

/* Stops the processes above MIN idle for idle-timeout; when more are due
 * than may stop, those used least recently. The timer waits for the next
 * deadline. Two passes over the places at most, whatever is due. */
void pool_shrink(struct worker *w)
{
        struct pool *p = pool_of(w);
        const struct cfg_worker *cw = w->cfg;
        unsigned size, due = 0, may;
        uint64_t now, next = UINT64_MAX;

        if (!p->elastic || worker_ending(w))
                return;
        size = pool_size(p, false);
        now = worker_now(w);
        for (size_t i = 0; size > cw->instances_min && i < p->n; i++) {
                const struct pool_member *pm = &p->pm[i];
                if (idle_due(pm, now))
                        due++;
                else if (idle(pm) && pm->idle_since + cw->idle_timeout_usec < next)
                        next = pm->idle_since + cw->idle_timeout_usec;
        }
        may = size > cw->instances_min ? size - cw->instances_min : 0;
        if (due > may) {
                /* more due than may stop: the ones used last stay */
                struct pool_member **v = malloc(due * sizeof(*v));
                unsigned n = 0;
                for (size_t i = 0; v && i < p->n; i++)
                        if (idle_due(&p->pm[i], now))
                                v[n++] = &p->pm[i];
                if (v)
                        qsort(v, n, sizeof(*v), by_use);
                for (unsigned k = 0; v && k < may; k++)
                        stop_idle(w, v[k], now, --size);
                free(v);
                next = UINT64_MAX; /* at MIN now (out of memory: the next drain tries again) */
        } else if (due) {
                for (size_t i = 0; i < p->n; i++)
                        if (idle_due(&p->pm[i], now))
                                stop_idle(w, &p->pm[i], now, --size);
        }
        if ((next == UINT64_MAX || size <= cw->instances_min ||
             timer_at(w->event, &p->idle_timer, next, on_idle, w) < 0) && p->idle_timer)
                sd_event_source_set_enabled(p->idle_timer, SD_EVENT_OFF);
}

static int on_idle(sd_event_source *es, uint64_t usec, void *userdata)
{
        pool_shrink(userdata);
        return 0;
}

/* max-connections: a process that was sent that many gets no more; its
 * successor starts in its twin's place, then it is asked to exit once it
 * has served them. Until the successor runs, it stays (idle or finishing). */
void pool_recycle(struct worker *w, struct pool_member *pm)
{
        struct pool *p = pool_of(w);
        struct pool_member *next = pool_twin(p, pm);

        if (pid_of(pm) <= 0 || pm->retire != RETIRE_NO || worker_ending(w) || p->closing || !next)
                return;
        if (!pool_occupied(next) && !next->failed)
                member_start(&next->base);
        if (pm->retire != RETIRE_NO)
                return; /* the successor's start did it */
        /* (a twin still finishing after its own replacement is no successor) */
        if ((pid_of(next) > 0 && next->retire == RETIRE_NO) || next->failed) {
                struct log_ctx c = member_ctx(&pm->base);
                if (next->failed)
                        log_ctx(LOG_INFO, &c, "worker %s: pid %d: was sent %lu connections (max-connections): "
                                "its successor failed (restart = never); it exits once it has served them",
                                w->cfg->name, (int)pid_of(pm), pm->handed);
                else
                        log_ctx(LOG_INFO, &c, "worker %s: pid %d: was sent %lu connections (max-connections): "
                                "replaced by pid %d; it exits once it has served them", w->cfg->name,
                                (int)pid_of(pm), pm->handed, (int)pid_of(next));
                retire(pm, RETIRE_RECYCLE);
        }
}

bool pool_spent(const struct pool_member *pm)
{
        unsigned max = pm->w->cfg->max_connections;

        return max && pm->handed >= max && pid_of(pm) > 0 && pm->retire == RETIRE_NO;
}

