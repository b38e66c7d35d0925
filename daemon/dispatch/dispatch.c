/* Dispatch: admission, then the worker's mode; a worker's life by mode. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "dispatch.h"
#include "listener.h"
#include "pool.h"
#include "spawn.h"

/* The supplementary groups of a's peer, as they were when it connected:
 * in small if they fit, else in *ret_big (to free). None when they cannot be
 * read (the peer is then judged by its uid and primary group alone). */
static size_t peer_groups(const struct accepted *a, gid_t *small, size_t n_small, gid_t **ret_big)
{
        int n = us_peer_groups(a->fd, small, n_small);

        *ret_big = NULL;
        if (n >= 0)
                return (size_t)n;
        if (errno == ERANGE && (*ret_big = malloc(NGROUPS_MAX * sizeof(gid_t)))) {
                n = us_peer_groups(a->fd, *ret_big, NGROUPS_MAX);
                if (n >= 0)
                        return (size_t)n;
        }
        log_errno(LOG_DEBUG, -errno, "socket %s: the peer's groups (SO_PEERGROUPS)", a->socket->name);
        return 0;
}

int dispatch_connection(struct worker *w, struct accepted *a)
{
        gid_t small[64], *big = NULL, *groups = small;
        size_t n_groups = 0;
        enum admit verdict;

        if (admit_needs_groups(a->socket, &a->peer)) {
                n_groups = peer_groups(a, small, sizeof(small) / sizeof(small[0]), &big);
                groups = big ? big : small;
        }
        verdict = admit_check(a->socket, w->cfg, &w->uids, &a->peer, groups, n_groups);
        if (verdict == ADMIT_MAX_PER_USER) {
                /* A client that saw its last connection end may be back before the
                 * SIGCHLD of its worker is read: count what has exited already. */
                proctab_reap(w->procs);
                verdict = admit_check(a->socket, w->cfg, &w->uids, &a->peer, groups, n_groups);
        }
        free(big);
        if (verdict != ADMIT_OK) {
                a->why = admit_to_string(verdict);
                a->reason = verdict == ADMIT_NOT_ALLOWED ? REFUSAL_NOT_ALLOWED : REFUSAL_MAX_PER_USER;
                return DISPATCH_REFUSED;
        }
        switch (w->cfg->dispatch) {
        case DISPATCH_POOL:
                return pool_dispatch(w, a);
        case DISPATCH_SPAWN:
                return spawn_connection(w, a);
        default:
                a->why = "its worker takes the listening socket";
                a->reason = REFUSAL_OTHER;
                return DISPATCH_REFUSED;
        }
}

bool dispatch_hands_listener(const struct worker *w)
{
        return w->cfg->dispatch == DISPATCH_LISTENER;
}

void dispatch_activate(struct worker *w)
{
        listener_activate(w);
}

struct worker *dispatch_worker_new(const struct cfg_worker *cw, const struct worker_env *env)
{
        struct worker *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return NULL;
        if ((r = worker_init(w, cw, env)) < 0) {
                worker_done(w);
                free(w);
                errno = -r;
                return NULL;
        }
        return w;
}

int dispatch_worker_start(struct worker *w)
{
        if (w->n_members)
                return 0; /* running already (kept by a reload) */
        switch (w->cfg->dispatch) {
        case DISPATCH_POOL:
                return pool_start(w);
        case DISPATCH_LISTENER:
                return listener_start(w);
        default:
                return 0;
        }
}

static void stop(struct worker *w, enum ending why)
{
        w->launcher.ending = why;
        if (w->cfg->dispatch == DISPATCH_POOL && w->mode)
                pool_stop(w);
        else if (w->cfg->dispatch == DISPATCH_LISTENER)
                listener_stop(w);
}

void dispatch_worker_stop(struct worker *w)
{
        stop(w, ENDING_STOPPING);
}

void dispatch_worker_retire(struct worker *w)
{
        stop(w, ENDING_RETIRED);
}

void dispatch_worker_reloaded(struct worker *w, const struct cfg_worker *cw, uint64_t stop_timeout_usec)
{
        w->cfg = cw;
        w->launcher.cfg = cw;
        w->launcher.stop_timeout_usec = stop_timeout_usec;
        /* a listener worker that failed under restart = never is watched again */
        worker_set_gate(w, GATE_FAILED, false);
}

bool dispatch_worker_idle(const struct worker *w)
{
        return w->running == 0 && worker_members_up(w) == 0 &&
               (w->cfg->dispatch != DISPATCH_POOL || pool_idle(w));
}

void dispatch_worker_free(struct worker *w)
{
        if (!w)
                return;
        if (w->cfg->dispatch == DISPATCH_POOL)
                pool_free(w);
        else if (w->cfg->dispatch == DISPATCH_LISTENER)
                listener_free(w);
        worker_done(w);
        free(w);
}

const char *dispatch_refusal_name(enum refusal r)
{
        static const char *const names[_REFUSAL_MAX] = {
                [REFUSAL_NOT_ALLOWED] = "not-allowed",
                [REFUSAL_MAX_PER_USER] = "max-per-user",
                [REFUSAL_NO_PROCESS] = "no-process",
                [REFUSAL_OTHER] = "other",
        };

        return r < _REFUSAL_MAX ? names[r] : "other";
}

size_t dispatch_processes(const struct worker *w, struct process_info *out, size_t max)
{
        switch (w->cfg->dispatch) {
        case DISPATCH_POOL:
                return pool_processes(w, out, max);
        case DISPATCH_LISTENER:
                return listener_processes(w, out, max);
        default:
                return spawn_processes(w, out, max);
        }
}

void dispatch_socket_load(const struct worker *w, const char *name, unsigned *ret_in_service, unsigned *ret_queued)
{
        *ret_in_service = *ret_queued = 0;
        if (w->cfg->dispatch == DISPATCH_POOL)
                pool_socket_load(w, name, ret_in_service, ret_queued);
        else if (w->cfg->dispatch == DISPATCH_SPAWN)
                *ret_in_service = spawn_socket_load(w, name);
}
