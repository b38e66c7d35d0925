/* What the modules of the running daemon share: server.c (listeners, spawn,
 * children, stop) and pool.c (pool and listener workers, supervision). */
#ifndef USD_SERVER_INTERNAL_H
#define USD_SERVER_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config/config.h"
#include "process/exec.h"
#include "log.h"
#include "server.h"
#include "unixsock.h"

#define ACCEPT_BUDGET 32                        /* connections per wakeup, then others get a turn */
#define RESUME_AFTER_USEC (100 * 1000)          /* retry a listener paused on a resource error */
#define STATUS_INTERVAL_USEC (1000 * 1000)
#define UID_BUCKETS 64

enum {
        PAUSE_CAPACITY = 1 << 0,                /* its worker is at instances */
        PAUSE_RESOURCE = 1 << 1,                /* EMFILE and friends: retried on a timer */
        PAUSE_ACTIVE = 1 << 2,                  /* listener dispatch: its worker has the socket */
        PAUSE_FAILED = 1 << 3,                  /* listener dispatch: worker failed, restart = never */
        PAUSE_RATE = 1 << 4,                    /* rate-limit: this interval's accepts are used up */
};

struct uidcount {
        uid_t uid;
        unsigned n;
        struct uidcount *next;
};

/* A connection on its way to a pool worker: queued, sent (its fd held until
 * ACK), or acknowledged (until DONE). */
struct conn {
        uint64_t id;
        int fd;                                 /* ours until ACK, then -1 */
        struct sock_rt *s;
        struct us_peer peer;
        struct member *m;                       /* NULL while queued */
        bool acked;
        struct conn *prev, *next;
};

/* One long-running process of a pool or listener worker, restarted by policy. */
struct member {
        struct worker_rt *w;
        unsigned index;
        pid_t pid;                              /* 0: not running */
        int chan;                               /* pool: our end of its channel, or -1 */
        sd_event_source *chan_io;
        sd_event_source *restart_timer;
        sd_event_source *ack_timer;
        uint64_t started_at;
        uint64_t delay;                         /* the next restart's backoff */
        unsigned unacked, inflight;             /* inflight counts unacked too */
        bool blocked;                           /* channel full: waiting for EPOLLOUT */
        bool shut;                              /* stopping: we shut our writing side */
        struct conn *conns;                     /* sent to it, in order */
        unsigned long restarts;
        /* pool: its channel closed while it runs (pool.c, LOST_*), and the
         * timer that stops it then; connections it was sent and left untaken */
        int lost;
        sd_event_source *lost_timer;
        unsigned dropped;
};

struct worker_rt {
        const struct cfg_worker *cfg;
        struct server *srv;
        unsigned running;
        int stderr_fd;                          /* -1 until the first process needs it */
        char journal_stream[64];                /* JOURNAL_STREAM= for stderr_fd, or "" */
        char **base_env;                        /* the environment every process of it gets */
        size_t n_base_env;
        struct uidcount *uids[UID_BUCKETS];
        struct ratelimit exit_rl;
        struct ratelimit exec_rl;               /* spawn: a worker that cannot start, per connection */
        unsigned long spawned, failed;
        /* pool and listener */
        struct member *members;
        size_t n_members;
        struct conn *queue, *queue_tail;        /* accepted, no worker could take them yet */
        unsigned n_queued;
        uint64_t next_id;
        bool closing;                           /* stopping: close channels once queue is empty */
        bool retired;                           /* replaced by a reload: finishes, never restarts */
};

struct sock_rt {
        const struct cfg_socket *cfg;
        struct server *srv;
        struct worker_rt *w;
        struct us_listener *l;
        sd_event_source *io;
        sd_event_source *resume;
        unsigned pause;
        bool inherited;
        bool published_here;                    /* inherited, but a unixsockd published it
                                                 * (fd store): its file is ours to remove */
        unsigned long accepted, refused;
        struct ratelimit refuse_rl, pause_rl;
        uint64_t rate_begin;                    /* rate-limit: the current interval */
        unsigned rate_n;
        unsigned refs;                          /* processes and pool connections naming it */
        int pending_fd;                         /* accepted, no process could be made yet */
        struct us_peer pending_peer;
        bool retired;                           /* removed by a reload: freed at refs 0 */
};

struct proc {
        pid_t pid;
        struct worker_rt *w;
        struct sock_rt *s;
        struct us_peer peer;
        struct member *member;                  /* pool or listener process, else NULL */
        struct proc *next;
};

struct server {
        sd_event *event;
        struct config *cfg;
        struct sock_rt **socks;
        size_t n_socks;
        struct worker_rt **workers;
        size_t n_workers;
        /* what a reload replaced: kept until exit, as processes, queued
         * connections and logs of the old workers still point at them */
        struct sock_rt **old_socks;
        size_t n_old_socks;
        struct worker_rt **old_workers;
        size_t n_old_workers;
        struct config **old_cfgs;
        size_t n_old_cfgs;
        struct proc **procs;                    /* hash by pid, chained */
        pid_t *groups;                          /* process groups whose leader exited but */
        size_t n_groups, cap_groups;            /* not all of them: stop waits for these */
        size_t procs_size, n_procs;
        bool stopping;
        bool freeing;
        int stop_stage;                         /* 0 waiting, 1 SIGTERM sent, 2 SIGKILL sent */
        sd_event_source *sigs[4];
        sd_event_source *stop_timer, *status_timer;
        uint64_t status_last;
        unsigned long accepted, refused;
};

/* server.c */
struct exec_params worker_exec_params(const struct cfg_worker *cw, char **env, const int *fds,
                                      int n_fds, char *pid_slot);
uint64_t now_usec(struct server *srv);
int proc_add(struct server *srv, struct proc *p);
unsigned uid_count(struct worker_rt *w, uid_t uid);
int uid_inc(struct worker_rt *w, uid_t uid);
void uid_dec(struct worker_rt *w, uid_t uid);
void status_changed(struct server *srv);
void sock_update_io(struct sock_rt *s);
void worker_set_pause(struct worker_rt *w, unsigned reason, bool on);
void log_ctx_for(struct log_ctx *c, const struct sock_rt *s, const struct us_peer *peer);
int worker_stderr(struct worker_rt *w);
void stop_check_done(struct server *srv);
void sock_ref(struct sock_rt *s);
void sock_unref(struct sock_rt *s);
void server_gc(struct server *srv);
void server_resources_freed(struct server *srv);
/* Closes an accepted connection that will not be served, counted and logged
 * (warning, rate-limited per socket) with why. */
void refuse(struct sock_rt *s, int fd, const struct us_peer *peer, const char *why);

int server_reload(struct server *srv, struct config *next);

/* pool.c */
int pool_start(struct worker_rt *w);
void pool_dispatch(struct sock_rt *s, int fd, const struct us_peer *peer);
void listener_activate(struct sock_rt *s);
void member_exited(struct member *m, const siginfo_t *si);
void pool_stop(struct worker_rt *w);
void pool_free(struct worker_rt *w);
unsigned pool_members_up(const struct worker_rt *w);
/* What the channel of m's process said (revents as epoll gives them); the fuzzer's entry too. */
void pool_channel_event(struct member *m, uint32_t revents);

#endif
