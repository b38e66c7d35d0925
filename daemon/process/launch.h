/* Launching a worker's processes: what all of them share (environment,
 * stderr on the journal, ids, directory), the exec itself, and how a start
 * that failed and an exit are logged. */
#ifndef USD_LAUNCH_H
#define USD_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"
#include "log.h"
#include "process/exec.h"

enum ending {
        ENDING_NO,
        ENDING_RETIRED,                 /* replaced by a reload: finishes, never restarts */
        ENDING_STOPPING,                /* the daemon stops */
};

/* The last exit of a process of a worker, for status. */
struct last_exit {
        pid_t pid;                      /* 0: none yet */
        int code;                       /* CLD_EXITED, CLD_KILLED, CLD_DUMPED */
        int status;
        uint64_t usec;                  /* CLOCK_MONOTONIC */
};

/* One per worker: shared by its processes. */
struct launcher {
        const struct cfg_worker *cfg;   /* follows a reload that keeps the worker */
        char **base_env;                /* the environment every process of it gets */
        size_t n_base_env;
        int stderr_fd;                  /* -1 until the first process needs it */
        char journal_stream[64];        /* JOURNAL_STREAM= for stderr_fd, or "" */
        enum ending ending;             /* none of its processes starts again */
        uint64_t stop_timeout_usec;     /* stop-timeout of the configuration */
        struct ratelimit exit_rl;       /* failed exits logged */
        struct ratelimit exec_rl;       /* spawn: a worker that cannot start, per connection */
        struct last_exit last_exit;
        int cgroup_fd;                  /* the worker's cgroup directory its processes join; -1: none */
};

/* 0, or -ENOMEM. */
int launcher_init(struct launcher *l, const struct cfg_worker *cw);
void launcher_done(struct launcher *l);

/* The stream the worker's stderr goes to: the journal under the worker's
 * name when the daemon logs there, else the daemon's own stderr. */
int launcher_stderr(struct launcher *l);

#define LAUNCH_MAX_ENV 16

/* What one process gets beyond what they all share. */
struct launch {
        int fds[EXEC_MAX_FDS];          /* fds[i] becomes fd i; 0..2 are the caller's */
        int n_fds;
        const char *env[LAUNCH_MAX_ENV]; /* after the base environment and JOURNAL_STREAM */
        size_t n_env;
        char *pid_slot;                 /* the child writes its pid here (LISTEN_PID=) */
};

/* The rlimits a process of cw starts with (limit-* and the daemon's own
 * RLIMIT_NOFILE before it raised it), in out[EXEC_MAX_LIMITS]: how many. */
size_t launch_limits(const struct cfg_worker *cw, struct exec_limit *out);
/* Starts a process of l's worker. 0 and *ret_pid, or a negative errno with
 * *ret_step naming what failed ("clone": no process could be made). */
int launch_start(struct launcher *l, const struct launch *a, pid_t *ret_pid, const char **ret_step);
/* "worker NAME: STEP WHAT: error" at prio, with tail appended; WHAT is the
 * executable, the working directory (chdir) or a limit's SOFT:HARD
 * (setrlimit RLIMIT_...). */
void launch_log_failure(const struct launcher *l, const struct log_ctx *c, int prio, int r,
                        const char *step, const char *tail);
/* c with the exit of si; and "exited with status" or "killed by signal". */
const char *launch_exit_ctx(struct log_ctx *c, const siginfo_t *si);
bool launch_exit_failed(const siginfo_t *si);
/* Remembers si as l's last exit, at now (CLOCK_MONOTONIC). */
void launch_record_exit(struct launcher *l, const siginfo_t *si, uint64_t now);

#endif
