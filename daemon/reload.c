/* The reload plan: old configuration + new configuration -> what is kept,
 * updated, added and retired. No I/O: daemon.c applies it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reload.h"

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

bool reload_worker_unchanged(const struct cfg_worker *a, const struct cfg_worker *b)
{
        return strcmp(a->name, b->name) == 0 && strcmp(a->exec_path, b->exec_path) == 0 &&
               strv_equal(a->argv, b->argv) && a->dispatch == b->dispatch &&
               a->instances == b->instances && a->max_per_user == b->max_per_user && ids_equal(a, b) &&
               strv_equal(a->env, b->env) && str_equal(a->working_directory, b->working_directory) &&
               a->restart == b->restart && a->restart_delay_usec == b->restart_delay_usec &&
               a->restart_delay_max_usec == b->restart_delay_max_usec && a->listen_fds == b->listen_fds &&
               a->max_concurrent == b->max_concurrent;
}

/* The next socket of c, from *i on, that names worker w. */
static const struct cfg_socket *next_of(const struct config *c, size_t *i, const struct cfg_worker *w)
{
        while (*i < c->n_sockets && c->sockets[*i].worker != w)
                (*i)++;
        return *i < c->n_sockets ? &c->sockets[(*i)++] : NULL;
}

/* Do the same socket names, in file order, name a of old and b of next? */
static bool same_sockets(const struct config *old, const struct cfg_worker *a,
                         const struct config *next, const struct cfg_worker *b)
{
        size_t i = 0, j = 0;
        const struct cfg_socket *x, *y;

        do {
                x = next_of(old, &i, a);
                y = next_of(next, &j, b);
                if (!x != !y || (x && strcmp(x->name, y->name) != 0))
                        return false;
        } while (x);
        return true;
}

static void plan_workers(const struct config *old, const struct config *next, struct reload_plan *p)
{
        for (size_t i = 0; i < next->n_workers; i++) {
                const struct cfg_worker *b = &next->workers[i];
                for (size_t j = 0; j < old->n_workers && !p->worker_from[i]; j++) {
                        const struct cfg_worker *a = &old->workers[j];
                        if (!p->worker_kept[j] && reload_worker_unchanged(a, b) &&
                            same_sockets(old, a, next, b)) {
                                p->worker_kept[j] = true;
                                p->worker_from[i] = j + 1;
                        }
                }
        }
        for (size_t j = 0; j < old->n_workers; j++)
                p->workers_replaced += !p->worker_kept[j];
}

static bool taken_before(const struct reload_plan *p, size_t i, size_t j)
{
        for (size_t k = 0; k < i; k++)
                if (p->socket_takes[k] == j + 1)
                        return true;
        return false;
}

static void plan_sockets(const struct config *old, const struct config *next, struct reload_plan *p)
{
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct cfg_socket *b = &next->sockets[i];
                for (size_t j = 0; j < old->n_sockets && !p->socket_from[i]; j++)
                        if (!p->socket_kept[j] && strcmp(old->sockets[j].name, b->name) == 0 &&
                            strcmp(old->sockets[j].path, b->path) == 0) {
                                p->socket_kept[j] = true;
                                p->socket_from[i] = j + 1;
                        }
        }
        /* a section renamed on the same path: its listener, with its queue, is taken over */
        for (size_t i = 0; i < next->n_sockets; i++) {
                if (p->socket_from[i])
                        continue;
                p->sockets_new++;
                for (size_t j = 0; j < old->n_sockets && !p->socket_takes[i]; j++)
                        if (!p->socket_kept[j] && !taken_before(p, i, j) &&
                            strcmp(old->sockets[j].path, next->sockets[i].path) == 0)
                                p->socket_takes[i] = j + 1;
        }
        for (size_t j = 0; j < old->n_sockets; j++)
                p->sockets_closed += !p->socket_kept[j];
}

int reload_plan(const struct config *old, const struct config *next, struct reload_plan *p)
{
        *p = (struct reload_plan){
                .worker_from = calloc(next->n_workers + 1, sizeof(size_t)),
                .socket_from = calloc(next->n_sockets + 1, sizeof(size_t)),
                .socket_takes = calloc(next->n_sockets + 1, sizeof(size_t)),
                .worker_kept = calloc(old->n_workers + 1, sizeof(bool)),
                .socket_kept = calloc(old->n_sockets + 1, sizeof(bool)),
        };
        if (!p->worker_from || !p->socket_from || !p->socket_takes || !p->worker_kept || !p->socket_kept) {
                reload_plan_free(p);
                return -ENOMEM;
        }
        plan_workers(old, next, p);
        plan_sockets(old, next, p);
        return 0;
}

void reload_plan_free(struct reload_plan *p)
{
        free(p->worker_from);
        free(p->socket_from);
        free(p->socket_takes);
        free(p->worker_kept);
        free(p->socket_kept);
        *p = (struct reload_plan){ 0 };
}
