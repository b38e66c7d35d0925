/* dispatch = listener: instances copies of one program share the worker's
 * listening sockets (LISTEN_FDS); the sockets are not watched while a copy
 * runs or is about to restart. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"

/* Copies started per turn of the event loop: a start is a clone and an exec,
 * and a thousand of them in a row would hold up every other event. */
#define START_BATCH 8

struct listener {
        /* The last copy restarts for clients that wait: the others start with it. */
        bool regroup;
        /* Copies from this index on are still to be started, by starter. */
        size_t next;
        sd_event_source *starter;
        struct member copies[];
};

static struct worker *worker_of(struct member *m)
{
        return m->owner;
}

static struct listener *listener_of(const struct worker *w)
{
        return w->mode;
}

static int prepare(struct member *m, struct launch *a, const char **step)
{
        static char names[4096], e_sock[4200], e_names[4200], e_nfds[32], e_pid[48];
        struct worker *w = worker_of(m);
        int k = 0;

        for (size_t i = 0; i < w->n_ports && a->n_fds < EXEC_MAX_FDS; i++) {
                a->fds[a->n_fds++] = us_listener_fd(w->ports[i].listener);
                k++;
        }
        worker_socket_names(w, names, sizeof(names));
        snprintf(e_sock, sizeof(e_sock), "UNIXSOCKD_SOCKET=%s", names);
        snprintf(e_nfds, sizeof(e_nfds), "LISTEN_FDS=%d", k);
        snprintf(e_names, sizeof(e_names), "LISTEN_FDNAMES=%s", names);
        snprintf(e_pid, sizeof(e_pid), "LISTEN_PID=");
        a->env[a->n_env++] = e_sock;
        a->env[a->n_env++] = e_nfds;
        a->env[a->n_env++] = e_pid;
        a->env[a->n_env++] = e_names;
        a->pid_slot = e_pid + strlen("LISTEN_PID=");
        return 0;
}

/* A copy other than m runs, is about to start, or restarts when its backoff ends. */
static bool others_up(const struct worker *w, const struct member *m)
{
        if (listener_of(w)->next < w->n_members)
                return true;
        for (size_t i = 0; i < w->n_members; i++) {
                const struct member *o = w->members[i];
                if (o != m && (o->proc.pid > 0 || member_restart_pending(o)))
                        return true;
        }
        return false;
}

/* Starts the next START_BATCH copies that neither run nor wait out a
 * backoff; true if some are left for the next turn. */
static bool start_batch(struct worker *w)
{
        struct listener *l = listener_of(w);

        for (unsigned k = 0; k < START_BATCH && l->next < w->n_members; l->next++) {
                struct member *m = w->members[l->next];
                if (m->proc.pid == 0 && !member_restart_pending(m)) {
                        member_start(m);
                        k++;
                }
        }
        return l->next < w->n_members;
}

static int on_start(sd_event_source *es, uint64_t usec, void *userdata)
{
        if (start_batch(userdata))
                sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        return 0;
}

/* Starts every copy that neither runs nor waits out a backoff: a batch now,
 * the rest a batch per turn of the loop. A timer already due, not a defer
 * source: it becomes pending anew on each turn, so whatever else is pending
 * goes first, where a defer source re-enabled at once could starve it. */
static void start_all(struct worker *w)
{
        struct listener *l = listener_of(w);

        l->next = 0;
        while (start_batch(w)) {
                if (l->starter ||
                    sd_event_add_time(w->event, &l->starter, CLOCK_MONOTONIC, 0, 0, on_start, w) >= 0) {
                        sd_event_source_set_enabled(l->starter, SD_EVENT_ONESHOT);
                        return;
                }
                /* no event source: better all now than some never */
        }
}

static void started(struct member *m, bool ok)
{
        struct worker *w = worker_of(m);
        struct listener *l = listener_of(w);

        if (!ok || !l->regroup)
                return;
        l->regroup = false;
        start_all(w);
}

/* A client waits on one of its sockets. */
static bool pending(const struct worker *w)
{
        for (size_t i = 0; i < w->n_ports; i++)
                if (us_accept_ready(w->ports[i].listener))
                        return true;
        return false;
}

static void exiting(struct member *m, struct member_exit *e)
{
        struct worker *w = worker_of(m);

        /* While another copy holds the sockets, clients are served: this one
         * is restarted by restart= alone, as a pool's process. The last one is
         * judged as a lone listener: restarted only if clients wait. */
        e->on_demand = !others_up(w, m);
        if (!e->on_demand)
                return;
        e->pending = pending(w);
        if (e->pending && !worker_ending(w))
                snprintf(e->reason, sizeof(e->reason), " (leaving clients waiting on its sockets)");
}

static void exited(struct member *m, const struct member_exit *e)
{
        struct worker *w = worker_of(m);
        bool give_up;

        if (worker_ending(w))
                return;
        if (e->restart) {
                listener_of(w)->regroup |= e->on_demand;
                return;
        }
        if (others_up(w, m))
                return;
        /* The last copy is gone and none restarts: the daemon watches the
         * sockets again, and the next client starts every copy. */
        give_up = e->failed && w->cfg->restart == RESTART_NEVER;
        if (give_up) {
                struct log_ctx c = member_ctx(m);
                log_ctx(LOG_ERR, &c, "worker %s failed and restart = never: its sockets stay unwatched",
                        w->cfg->name);
        }
        worker_set_gate(w, GATE_FAILED, give_up);
        worker_set_gate(w, GATE_ACTIVE, false);
}

static const struct member_ops listener_ops = {
        .prepare = prepare,
        .started = started,
        .exiting = exiting,
        .exited = exited,
};

int listener_start(struct worker *w)
{
        unsigned n = w->cfg->instances;
        struct listener *l = calloc(1, sizeof(*l) + n * sizeof(l->copies[0]));

        w->members = calloc(n, sizeof(*w->members));
        if (!l || !w->members) {
                free(l);
                free(w->members);
                w->members = NULL;
                return -ENOMEM;
        }
        w->mode = l;
        l->next = n;
        for (unsigned i = 0; i < n; i++) {
                member_init(&l->copies[i], &listener_ops, w, i, &w->launcher, w->procs, w->counters, w->event);
                w->members[i] = &l->copies[i];
        }
        w->n_members = n;
        return 0; /* started on the first connection */
}

void listener_activate(struct worker *w)
{
        /* The copies take over every socket naming the worker: stop watching them. */
        worker_set_gate(w, GATE_ACTIVE, true);
        start_all(w);
}

void listener_stop(struct worker *w)
{
        struct listener *l = listener_of(w);

        if (l) {
                l->regroup = false;
                l->next = w->n_members;
                if (l->starter)
                        sd_event_source_set_enabled(l->starter, SD_EVENT_OFF);
        }
        for (size_t i = 0; i < w->n_members; i++) {
                struct member *m = w->members[i];
                member_cancel_restart(m);
                if (m->proc.pid > 0)
                        (void)kill(-m->proc.pid, SIGTERM);
        }
}

void listener_free(struct worker *w)
{
        struct listener *l = listener_of(w);

        for (size_t i = 0; i < w->n_members; i++)
                member_free(w->members[i]);
        if (l)
                sd_event_source_disable_unref(l->starter);
        free(l);
        free(w->members);
        w->mode = NULL;
        w->members = NULL;
        w->n_members = 0;
}

size_t listener_processes(const struct worker *w, struct process_info *out, size_t max)
{
        for (size_t i = 0; i < w->n_members && i < max; i++) {
                const struct member *m = w->members[i];
                out[i] = (struct process_info){
                        .pid = m->proc.pid,
                        .started_usec = m->started_at,
                        .state = m->proc.pid > 0 ? "busy" : member_restart_pending(m) ? "backoff" : "stopped",
                        .backoff_until_usec = member_restart_at(m),
                };
        }
        return w->n_members;
}
