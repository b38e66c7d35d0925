/* A long-running process of a worker (dispatch = pool or listener): started
 * with the fds its mode hands it, judged at exit, restarted by policy with
 * backoff. What differs by mode comes through struct member_ops. */
#ifndef USD_MEMBER_H
#define USD_MEMBER_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "counters.h"
#include "process/backoff.h"
#include "process/launch.h"
#include "process/proctab.h"

struct member;

/* How an exit is judged; the mode's exiting() fills in its part. */
struct member_exit {
        const siginfo_t *si;
        uint64_t ran_usec;
        bool failed;                    /* by status; then by reason[] too */
        char reason[96];                /* why the exit is a failure whatever its status */
        bool on_demand;                 /* restarted only if clients wait (pending) */
        bool pending;
        bool retired;                   /* the mode asked it to exit (a smaller pool, a successor
                                         * in its place): never restarted */
        bool restart;                   /* decided by member.c */
        uint64_t delay_usec;
};

struct member_ops {
        /* What the next start adds to the fds 0..2 and the environment. 0, or
         * a negative errno with *step naming what failed. */
        int (*prepare)(struct member *m, struct launch *a, const char **step);
        /* After prepare(): the process started (pid set) or it did not (pid 0). */
        void (*started)(struct member *m, bool ok);
        /* The process exited: before the exit is judged and logged. */
        void (*exiting)(struct member *m, struct member_exit *e);
        /* After: restart scheduled or not. */
        void (*exited)(struct member *m, const struct member_exit *e);
};

struct member {
        struct process proc;            /* proc.pid: 0 when not running */
        const struct member_ops *ops;
        void *owner;                    /* the worker, for ops */
        struct launcher *launcher;
        struct proctab *procs;
        struct counters *counters;
        sd_event *event;
        unsigned index;
        sd_event_source *restart_timer;
        uint64_t started_at;
        struct backoff backoff;
        unsigned long restarts;
};

void member_init(struct member *m, const struct member_ops *ops, void *owner, unsigned index,
                 struct launcher *l, struct proctab *procs, struct counters *counters, sd_event *e);
/* Starts it unless it runs, or its worker is ending. */
void member_start(struct member *m);
/* A restart is scheduled. */
bool member_restart_pending(const struct member *m);
/* When the pending restart is due (CLOCK_MONOTONIC), 0 if none. */
uint64_t member_restart_at(const struct member *m);
/* No restart now: the timer goes (stop). */
void member_cancel_restart(struct member *m);
/* A log context naming its worker and pid. */
struct log_ctx member_ctx(const struct member *m);
uint64_t member_now(const struct member *m);
void member_free(struct member *m);

#endif
