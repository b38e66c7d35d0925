/* The reload plan: old configuration + new configuration -> what is kept,
 * updated, added and retired. No I/O: daemon.c applies it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reload.h"
#include "strindex.h"

static bool str_equal(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_equal(char *const *a, char *const *b)
{
        for (; a && b && *a && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return (!a || !*a) && (!b || !*b);
}

static bool ids_equal(const struct cfg_worker *a, const struct cfg_worker *b)
{
        return a->set_user == b->set_user && a->set_group == b->set_group && a->uid == b->uid &&
               a->gid == b->gid && a->n_groups == b->n_groups &&
               (a->n_groups == 0 || memcmp(a->groups, b->groups, a->n_groups * sizeof(gid_t)) == 0);
}

static bool limits_equal(const struct cfg_worker *a, const struct cfg_worker *b)
{
        for (size_t i = 0; i < _LIMIT_MAX; i++)
                if (a->limits[i].set != b->limits[i].set || a->limits[i].soft != b->limits[i].soft ||
                    a->limits[i].hard != b->limits[i].hard)
                        return false;
        return true;
}

bool reload_worker_unchanged(const struct cfg_worker *a, const struct cfg_worker *b)
{
        return strcmp(a->name, b->name) == 0 && strcmp(a->exec_path, b->exec_path) == 0 &&
               strv_equal(a->argv, b->argv) && a->dispatch == b->dispatch &&
               a->instances == b->instances && a->max_per_user == b->max_per_user && ids_equal(a, b) &&
               strv_equal(a->env, b->env) && str_equal(a->working_directory, b->working_directory) &&
               a->restart == b->restart && a->restart_delay_usec == b->restart_delay_usec &&
               a->restart_delay_max_usec == b->restart_delay_max_usec && a->listen_fds == b->listen_fds &&
               a->max_concurrent == b->max_concurrent && a->instances_min == b->instances_min &&
               a->idle_timeout_usec == b->idle_timeout_usec && a->max_connections == b->max_connections &&
               a->runtime_max_usec == b->runtime_max_usec && limits_equal(a, b) && a->set_nice == b->set_nice &&
               a->nice == b->nice && a->umask == b->umask && a->memory_max == b->memory_max &&
               a->pids_max == b->pids_max && a->cpu_weight == b->cpu_weight;
}

/* What the plan looks things up in, for one configuration: sockets by name and
 * by path, workers by name, each key's items chained in file order (next[i]:
 * the next one with the same key, or n), and each worker's sockets in file
 * order (of_worker[first[w] .. first[w + 1]]). With these the plan is linear
 * in the size of the files, where scans made a reload of thousands of
 * sockets and workers compare every pair. */
struct lookup {
        struct strindex socket_names, socket_paths, worker_names;
        size_t *next_name, *next_path, *next_worker;
        size_t *first, *of_worker;
};

/* Indexes key(i) of items 0..n-1 into x, chaining repeated keys in next. */
static int chain(struct strindex *x, size_t *next, size_t n, const char *(*key)(const struct config *, size_t),
                 const struct config *c)
{
        size_t *tail = calloc(n + 1, sizeof(*tail));

        if (!tail)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t head;
                int r = strindex_put(x, key(c, i), i, &head);
                if (r < 0) {
                        free(tail);
                        return r;
                }
                next[i] = n;
                if (r == 0) {
                        next[tail[head]] = i;
                        tail[head] = i;
                } else {
                        tail[i] = i;
                }
        }
        free(tail);
        return 0;
}

static const char *socket_name(const struct config *c, size_t i)
{
        return c->sockets[i].name;
}

static const char *socket_path(const struct config *c, size_t i)
{
        return c->sockets[i].path;
}

static const char *worker_name(const struct config *c, size_t i)
{
        return c->workers[i].name;
}

static void lookup_free(struct lookup *l)
{
        strindex_free(&l->socket_names);
        strindex_free(&l->socket_paths);
        strindex_free(&l->worker_names);
        free(l->next_name);
        free(l->next_path);
        free(l->next_worker);
        free(l->first);
        free(l->of_worker);
        *l = (struct lookup){ 0 };
}

static int lookup_make(const struct config *c, struct lookup *l)
{
        size_t ns = c->n_sockets, nw = c->n_workers;

        *l = (struct lookup){
                .next_name = calloc(ns + 1, sizeof(size_t)),
                .next_path = calloc(ns + 1, sizeof(size_t)),
                .next_worker = calloc(nw + 1, sizeof(size_t)),
                .first = calloc(nw + 2, sizeof(size_t)),
                .of_worker = calloc(ns + 1, sizeof(size_t)),
        };
        if (!l->next_name || !l->next_path || !l->next_worker || !l->first || !l->of_worker ||
            chain(&l->socket_names, l->next_name, ns, socket_name, c) < 0 ||
            chain(&l->socket_paths, l->next_path, ns, socket_path, c) < 0 ||
            chain(&l->worker_names, l->next_worker, nw, worker_name, c) < 0) {
                lookup_free(l);
                return -ENOMEM;
        }
        /* counting sort of the sockets by worker, stable: file order within each */
        for (size_t i = 0; i < ns; i++)
                if (c->sockets[i].worker)
                        l->first[c->sockets[i].worker - c->workers + 1]++;
        for (size_t w = 0; w < nw; w++)
                l->first[w + 1] += l->first[w];
        {
                size_t *fill = calloc(nw + 1, sizeof(*fill));
                if (!fill) {
                        lookup_free(l);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < ns; i++) {
                        if (!c->sockets[i].worker)
                                continue;
                        size_t w = (size_t)(c->sockets[i].worker - c->workers);
                        l->of_worker[l->first[w] + fill[w]++] = i;
                }
                free(fill);
        }
        return 0;
}

/* Do the same socket names, in file order, name a of old and b of next? */
static bool same_sockets(const struct config *old, const struct lookup *lo, size_t a,
                         const struct config *next, const struct lookup *ln, size_t b)
{
        size_t na = lo->first[a + 1] - lo->first[a], nb = ln->first[b + 1] - ln->first[b];

        if (na != nb)
                return false;
        for (size_t k = 0; k < na; k++)
                if (strcmp(old->sockets[lo->of_worker[lo->first[a] + k]].name,
                           next->sockets[ln->of_worker[ln->first[b] + k]].name) != 0)
                        return false;
        return true;
}

/* Are all the sockets of new worker b kept (same name, path and type)? A
 * listener worker's processes hold its listening sockets: kept, they would
 * go on serving one that a reload closed. */
static bool sockets_kept(const struct lookup *ln, size_t b, const struct reload_plan *p)
{
        for (size_t k = ln->first[b]; k < ln->first[b + 1]; k++)
                if (!p->socket_from[ln->of_worker[k]])
                        return false;
        return true;
}

/* The first old worker, in file order, not kept yet, unchanged in everything
 * (its name first) and named by the same sockets (for dispatch = listener,
 * the same sockets): the one a new worker keeps. */
static void plan_workers(const struct config *old, const struct lookup *lo, const struct config *next,
                         const struct lookup *ln, struct reload_plan *p)
{
        for (size_t i = 0; i < next->n_workers; i++) {
                const struct cfg_worker *b = &next->workers[i];
                size_t j;

                if (!strindex_get(&lo->worker_names, b->name, &j))
                        continue;
                for (; j < old->n_workers; j = lo->next_worker[j])
                        if (!p->worker_kept[j] && reload_worker_unchanged(&old->workers[j], b) &&
                            same_sockets(old, lo, j, next, ln, i) &&
                            (b->dispatch != DISPATCH_LISTENER || sockets_kept(ln, i, p))) {
                                p->worker_kept[j] = true;
                                p->worker_from[i] = j + 1;
                                break;
                        }
        }
        for (size_t j = 0; j < old->n_workers; j++)
                p->workers_replaced += !p->worker_kept[j];
}

static void plan_sockets(const struct config *old, const struct lookup *lo, const struct config *next,
                         struct reload_plan *p, bool *taken)
{
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct cfg_socket *b = &next->sockets[i];
                size_t j;

                if (!strindex_get(&lo->socket_names, b->name, &j))
                        continue;
                for (; j < old->n_sockets; j = lo->next_name[j])
                        if (!p->socket_kept[j] && strcmp(old->sockets[j].path, b->path) == 0 &&
                            old->sockets[j].type == b->type) {
                                p->socket_kept[j] = true;
                                p->socket_from[i] = j + 1;
                                break;
                        }
        }
        /* a section renamed on the same path: its listener, with its queue, is
         * taken over; one of another type cannot be: its file is replaced */
        for (size_t i = 0; i < next->n_sockets; i++) {
                size_t j;

                if (p->socket_from[i])
                        continue;
                p->sockets_new++;
                if (!strindex_get(&lo->socket_paths, next->sockets[i].path, &j))
                        continue;
                for (; j < old->n_sockets; j = lo->next_path[j]) {
                        if (p->socket_kept[j] || taken[j])
                                continue;
                        taken[j] = true;
                        if (old->sockets[j].type == next->sockets[i].type)
                                p->socket_takes[i] = j + 1;
                        else
                                p->socket_replaces[i] = j + 1;
                        break;
                }
        }
        for (size_t j = 0; j < old->n_sockets; j++)
                p->sockets_closed += !p->socket_kept[j];
}

int reload_plan(const struct config *old, const struct config *next, struct reload_plan *p)
{
        struct lookup lo, ln;
        bool *taken = calloc(old->n_sockets + 1, sizeof(bool));

        *p = (struct reload_plan){
                .worker_from = calloc(next->n_workers + 1, sizeof(size_t)),
                .socket_from = calloc(next->n_sockets + 1, sizeof(size_t)),
                .socket_takes = calloc(next->n_sockets + 1, sizeof(size_t)),
                .socket_replaces = calloc(next->n_sockets + 1, sizeof(size_t)),
                .worker_kept = calloc(old->n_workers + 1, sizeof(bool)),
                .socket_kept = calloc(old->n_sockets + 1, sizeof(bool)),
        };
        if (!taken || !p->worker_from || !p->socket_from || !p->socket_takes || !p->socket_replaces || !p->worker_kept ||
            !p->socket_kept || lookup_make(old, &lo) < 0) {
                free(taken);
                reload_plan_free(p);
                return -ENOMEM;
        }
        if (lookup_make(next, &ln) < 0) {
                lookup_free(&lo);
                free(taken);
                reload_plan_free(p);
                return -ENOMEM;
        }
        plan_sockets(old, &lo, next, p, taken); /* first: listener workers look at it */
        plan_workers(old, &lo, next, &ln, p);
        lookup_free(&lo);
        lookup_free(&ln);
        free(taken);
        return 0;
}

void reload_plan_free(struct reload_plan *p)
{
        free(p->worker_from);
        free(p->socket_from);
        free(p->socket_takes);
        free(p->socket_replaces);
        free(p->worker_kept);
        free(p->socket_kept);
        *p = (struct reload_plan){ 0 };
}
