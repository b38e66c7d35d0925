/* The size of a pool: growth of one that sizes itself (instances =
 * MIN-MAX) when connections wait, shrinking when processes above MIN are
 * idle, and the replacement of a process that served max-connections. Its
 * places: slot i, and with max-connections its twin i + instances, where a
 * successor starts while the process it replaces finishes. */
#include <stdio.h>
#include <sys/socket.h>

#include "pool-channel.h"

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

/* Serving: running and not on its way out, or about to restart. */
static bool serving(const struct pool_member *pm)
{
        return (pid_of(pm) > 0 && pm->retire == RETIRE_NO && !pm->shut) || member_restart_pending(&pm->base);
}

/* A place in the pool where nothing runs nor will, that may start. */
struct pool_member *pool_free_place(struct pool *p)
{
        for (unsigned i = 0; i < p->positions; i++) {
                struct pool_member *pm = &p->pm[i];
                if (!pool_occupied(pm) && !pool_occupied(pool_twin(p, pm)) && !pm->failed)
                        return pm;
        }
        return NULL;
}

static unsigned pool_size(const struct pool *p)
{
        unsigned n = 0;

        for (size_t i = 0; i < p->n; i++)
                n += serving(&p->pm[i]);
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
 * While any place waits for its restart, the backoff decides: a worker that
 * crashes is not started again and again through the pool's growth. */
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
                if (member_restart_pending(&pm->base))
                        return;
                starting |= pid_of(pm) > 0 && pm->version == 0 && pm->retire == RETIRE_NO && !pm->shut;
        }
        if (pool_size(p) >= p->positions || !(place = pool_free_place(p)))
                return;
        now = worker_now(w);
        since = p->last_start > p->queue->at ? p->last_start : p->queue->at;
        if (starting && now < since + POOL_GROW_WAIT_USEC) {
                if (p->grow_timer || sd_event_add_time(w->event, &p->grow_timer, CLOCK_MONOTONIC, 0, 0, on_grow, w) >= 0) {
                        sd_event_source_set_time(p->grow_timer, since + POOL_GROW_WAIT_USEC);
                        sd_event_source_set_enabled(p->grow_timer, SD_EVENT_ONESHOT);
                }
                return;
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
        pool_member_stop_later(pm);
}

static int on_idle(sd_event_source *es, uint64_t usec, void *userdata);

/* Stops the processes above MIN idle for idle-timeout, the one used least
 * recently first; the timer waits for the next one's deadline. */
void pool_shrink(struct worker *w)
{
        struct pool *p = pool_of(w);
        const struct cfg_worker *cw = w->cfg;
        unsigned size;
        uint64_t now;

        if (!p->elastic || worker_ending(w))
                return;
        size = pool_size(p);
        now = worker_now(w);
        while (size > cw->instances_min) {
                struct pool_member *lru = NULL;
                for (size_t i = 0; i < p->n; i++) {
                        struct pool_member *pm = &p->pm[i];
                        if (pid_of(pm) > 0 && pm->chan >= 0 && serving(pm) && pm->inflight == 0 &&
                            (!lru || pm->idle_since < lru->idle_since))
                                lru = pm;
                }
                if (!lru)
                        break;
                if (now < lru->idle_since + cw->idle_timeout_usec) {
                        if (p->idle_timer ||
                            sd_event_add_time(w->event, &p->idle_timer, CLOCK_MONOTONIC, 0, 0, on_idle, w) >= 0) {
                                sd_event_source_set_time(p->idle_timer, lru->idle_since + cw->idle_timeout_usec);
                                sd_event_source_set_enabled(p->idle_timer, SD_EVENT_ONESHOT);
                        }
                        return;
                }
                struct log_ctx c = member_ctx(&lru->base);
                log_ctx(LOG_INFO, &c, "worker %s: pid %d: idle for %llums: stopping it (pool %u of %u-%u)",
                        cw->name, (int)pid_of(lru), (unsigned long long)((now - lru->idle_since) / 1000),
                        size - 1, cw->instances_min, cw->instances);
                retire(lru, RETIRE_IDLE);
                size--;
        }
        if (p->idle_timer)
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
                log_ctx(LOG_INFO, &c, "worker %s: pid %d: was sent %lu connections (max-connections): "
                        "replaced by pid %d; it exits once it has served them", w->cfg->name, (int)pid_of(pm),
                        pm->handed, (int)pid_of(next));
                retire(pm, RETIRE_RECYCLE);
        }
}

bool pool_spent(const struct pool_member *pm)
{
        unsigned max = pm->w->cfg->max_connections;

        return max && pm->handed >= max && pid_of(pm) > 0 && pm->retire == RETIRE_NO;
}

