/* A pool's state (its queue, its processes and what each holds) and the
 * channel of each process (pool-channel.c); read by the channel fuzzer too. */
#ifndef USD_POOL_CHANNEL_H
#define USD_POOL_CHANNEL_H

#include <stddef.h>

#include "dispatch/pool.h"

#define ACK_TIMEOUT_USEC (5 * 1000000ULL)       /* an idle process that takes nothing for this long is hung */
#define CHANNEL_GRACE_USEC (1000000ULL)         /* one that closes its channel on its way out is gone by then */

/* pm.lost: its channel closed while the process runs */
enum {
        LOST_NO,
        LOST_GRACE,                             /* it may be exiting: wait CHANNEL_GRACE_USEC */
        LOST_TERM,                              /* it ran on: SIGTERM sent, SIGKILL after stop-timeout */
        LOST_KILL,
};

struct pool_member;

/* Why a process of the pool is on its way out: it gets no new connection,
 * its channel is half-closed (SIGTERM for a hung one), and when it exits it
 * is not restarted (a successor has its place, or the pool has shrunk). */
enum retire {
        RETIRE_NO,
        RETIRE_IDLE,                            /* above MIN, idle for idle-timeout */
        RETIRE_RECYCLE,                         /* served max-connections */
        RETIRE_HUNG,                            /* a connection not DONE within runtime-max */
};

/* A connection on its way to a process: queued, sent (its fd held until
 * ACK), or acknowledged (until DONE). */
struct conn {
        uint64_t id;
        int fd;                                 /* ours until ACK, then -1 */
        struct us_peer peer;
        int sock_type;                          /* of the socket it came through */
        bool acked;
        uint64_t at;                            /* CLOCK_MONOTONIC: queued (a pool that sizes
                                                 * itself), then sent (with runtime-max) */
        struct conn *prev, *next;
        char socket[];                          /* the socket it came through */
};

struct pool_member {
        struct member base;
        struct worker *w;
        int chan;                               /* our end of its channel, or -1 */
        int chan_child;                         /* its end, while it starts */
        sd_event_source *chan_io, *ack_timer, *lost_timer, *runtime_timer;
        unsigned unacked, inflight;             /* inflight counts unacked too */
        unsigned version;                       /* 0 until it speaks: HELLO makes it 2, an ACK 1 */
        unsigned credit;                        /* version 2: connections it takes at once */
        bool blocked;                           /* channel full: waiting for EPOLLOUT */
        bool shut;                              /* stopping: we shut our writing side */
        struct conn *conns;                     /* sent to it, newest first */
        int lost;
        unsigned dropped;                       /* sent to it and left untaken */
        unsigned long served;                   /* DONE by this process */
        unsigned long handed;                   /* sent to this process (max-connections) */
        uint64_t idle_since;                    /* CLOCK_MONOTONIC: its last connection was DONE
                                                 * (a pool that sizes itself only) */
        uint64_t idle_seq;                      /* when it went idle, in the pool's sequence */
        enum retire retire;
        bool failed;                            /* exited failed, restart = never: never started again */
};

struct pool {
        struct pool_member *pm;
        size_t n;                               /* slots: instances, twice that with max-connections
                                                 * (slot i + instances succeeds slot i) */
        unsigned positions;                     /* instances (MAX) */
        bool elastic;                           /* instances = MIN-MAX with MIN < MAX */
        sd_event_source *grow_timer;            /* a start in flight, connections wait: start another then */
        sd_event_source *idle_timer;            /* the next idle process above MIN to stop */
        uint64_t last_start;                    /* CLOCK_MONOTONIC: growth's last start */
        uint64_t seq;                           /* orders idle_seq: the idle process used last */
        struct conn *queue, *queue_tail;        /* accepted, no process could take them yet */
        sd_event_source *flush;                 /* sends what this wake-up queued, once */
        uint64_t next_id;
        bool closing;                           /* stopping: close channels once queue is empty */
        /* pool.c's, for pool-channel.c: hand out the queue; put back what a process did not take */
        void (*drain)(struct worker *w);
        void (*requeue)(struct worker *w, struct conn *c);
};

static inline struct pool *pool_of(const struct worker *w)
{
        return w->mode;
}

static inline struct pool_member *pm_of(struct member *m)
{
        return (struct pool_member *)((char *)m - offsetof(struct pool_member, base));
}

static inline pid_t pid_of(const struct pool_member *pm)
{
        return pm->base.proc.pid;
}

/* pool-size.c */
/* The other slot of pm's place (max-connections), or NULL. */
struct pool_member *pool_twin(struct pool *p, struct pool_member *pm);
/* Runs, or waits to restart. */
bool pool_occupied(const struct pool_member *pm);
/* Runs and is not on its way out, or waits to restart; one whose channel is
 * lost only if lost (it holds growth back, it serves no one). */
bool pool_serving(const struct pool_member *pm, bool lost);
/* A place where nothing runs nor will and that may start, or NULL. */
struct pool_member *pool_free_place(struct pool *p);
/* Connections wait and none has room: one more process, if the rules allow. */
void pool_grow(struct worker *w);
/* Idle processes above MIN for idle-timeout are asked to exit. */
void pool_shrink(struct worker *w);
/* It was sent max-connections: no more. */
bool pool_spent(const struct pool_member *pm);
/* A spent pm: its successor starts in its twin's slot, then pm is asked to exit. */
void pool_recycle(struct worker *w, struct pool_member *pm);

/* pool-channel.c */
void pool_list_unlink(struct conn **head, struct conn **tail, struct conn *c);
/* A connection is over for the daemon. True if that gave an fd back (it was not ACKed). */
bool pool_conn_free(struct worker *w, struct conn *c);
/* How many more connections pm may be sent now: its credit (one until it
 * speaks, then as its protocol version says), max-concurrent, POOL_UNACKED_MAX. */
unsigned pool_member_room(const struct pool_member *pm);
/* Sends cs[0..n) to pm, in one message if it speaks version 2. Returns how
 * many went (fewer: the channel is full, pm->blocked), or -1: pm is gone. */
int pool_channel_send(struct pool_member *pm, struct conn **cs, unsigned n);
/* Reads up to max answers; false if the worker's end is gone (*why: NULL for EOF). */
bool pool_channel_read(struct pool_member *pm, int max, unsigned *freed, const char **why);
/* Watches pm's new channel. 0, or a negative errno. */
int pool_channel_watch(struct pool_member *pm);
/* Closes pm's channel: what it had not taken goes back to a queue. */
void pool_channel_close(struct pool_member *pm, const char *why);
/* The worker's end went away while its process runs. */
void pool_channel_gone(struct pool_member *pm, const char *why);
/* pm was asked to exit (its channel half-closed, pm->retire says why): if it
 * still runs after stop-timeout, SIGTERM, then SIGKILL after another. */
void pool_member_stop_later(struct pool_member *pm);

#endif
