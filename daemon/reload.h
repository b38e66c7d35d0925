/* What a reload does, decided from the two configurations alone. Pure. */
#ifndef USD_RELOAD_H
#define USD_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Indexes are into old->workers, old->sockets, next->workers, next->sockets.
 * A "from" entry is 1 + an old index, or 0 for none. */
struct reload_plan {
        size_t *worker_from;            /* per new worker: the old one it keeps (unchanged in
                                         * everything and named by the same sockets; for
                                         * dispatch = listener, each of them kept), or 0: new */
        size_t *socket_from;            /* per new socket: the old one it keeps (same name,
                                         * path and type: fd, queue and all), or 0 */
        size_t *socket_takes;           /* per new socket not kept: the old one, renamed, whose
                                         * listener it takes over (same path and type), or 0: it
                                         * listens anew */
        size_t *socket_replaces;        /* per new socket listening anew: the old one on its path,
                                         * of another type, whose file it replaces, or 0 */
        bool *worker_kept;              /* per old worker: kept by a new one (else it retires) */
        bool *socket_kept;              /* per old socket: kept (else it retires, its listener
                                         * perhaps taken over) */
        unsigned sockets_new, sockets_closed, workers_replaced;
};

/* 0, or -ENOMEM. */
int reload_plan(const struct config *old, const struct config *next, struct reload_plan *p);
void reload_plan_free(struct reload_plan *p);

/* Everything a process of the worker is started with, or how it is supervised. */
bool reload_worker_unchanged(const struct cfg_worker *a, const struct cfg_worker *b);

#endif
