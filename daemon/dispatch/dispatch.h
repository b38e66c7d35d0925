/* Dispatch: an accepted connection handed down to its worker, admitted, then
 * served by the worker's mode; and the life of a worker as its sockets see it. */
#ifndef USD_DISPATCH_H
#define USD_DISPATCH_H

#include <stdbool.h>

#include "config/config.h"
#include "dispatch/worker.h"
#include "unixsock.h"

enum refusal {
        REFUSAL_NOT_ALLOWED,            /* allow-users, allow-groups */
        REFUSAL_MAX_PER_USER,
        REFUSAL_NO_PROCESS,             /* a pool with no process and none to start */
        REFUSAL_OTHER,
        _REFUSAL_MAX,
};
const char *dispatch_refusal_name(enum refusal r);

/* What a worker's process is doing, for status. Times are CLOCK_MONOTONIC. */
struct process_info {
        pid_t pid;                      /* 0: not running */
        uint64_t started_usec;
        unsigned long served;           /* connections it finished */
        unsigned in_service;            /* connections it holds now */
        const char *state;              /* starting, idle, busy, backoff, stopped */
        uint64_t backoff_until_usec;    /* state backoff */
};
/* Up to max of w's processes in out; how many there are. */
size_t dispatch_processes(const struct worker *w, struct process_info *out, size_t max);
/* Connections of the socket called name that w's processes hold, and that w queues. */
void dispatch_socket_load(const struct worker *w, const char *name, unsigned *ret_in_service,
                          unsigned *ret_queued);

/* A connection on its way down: a value, nothing below keeps a pointer to
 * the socket it came from. */
struct accepted {
        int fd;
        struct us_peer peer;
        const struct cfg_socket *socket; /* name, path, allow lists: valid for the call */
        const char *why;                /* DISPATCH_REFUSED: why, for the refusal's line */
        enum refusal reason;            /* DISPATCH_REFUSED: why, counted */
};

enum {
        DISPATCH_TAKEN = 0,             /* the fd is the worker's now */
        DISPATCH_REFUSED = 1,           /* not served: the fd is still the caller's, to refuse */
};

/* DISPATCH_TAKEN, DISPATCH_REFUSED, or a negative errno: no process could be
 * made now (EAGAIN, ENOMEM), the fd is still the caller's to try again. */
int dispatch_connection(struct worker *w, struct accepted *a);
/* Listener dispatch: the worker takes its sockets; nobody accepts for it. */
bool dispatch_hands_listener(const struct worker *w);
/* A client waits on a socket of a listener worker. */
void dispatch_activate(struct worker *w);

/* NULL with errno: ENOMEM, or its cgroup could not be made (logged). */
struct worker *dispatch_worker_new(const struct cfg_worker *cw, const struct worker_env *env);
/* Starts what runs without a connection (a pool's processes). */
int dispatch_worker_start(struct worker *w);
/* The daemon stops: processes finish what they have, none starts again. */
void dispatch_worker_stop(struct worker *w);
/* A reload replaced the worker: the same, and its queue goes to its successors. */
void dispatch_worker_retire(struct worker *w);
/* A reload kept the worker: its configuration is now cw (the same settings). */
void dispatch_worker_reloaded(struct worker *w, const struct cfg_worker *cw, uint64_t stop_timeout_usec);
/* Nothing runs, nothing is queued or held: a retired worker may go. */
bool dispatch_worker_idle(const struct worker *w);
void dispatch_worker_free(struct worker *w);

#endif
