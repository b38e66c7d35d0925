/* Starting a worker process: fd layout, ids, directory, signal state, execve. */
#ifndef USD_EXEC_H
#define USD_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define EXEC_MAX_FDS 256
#define EXEC_MAX_LIMITS 8

struct exec_limit {
        int resource;                   /* RLIMIT_* */
        struct rlimit rl;
        const char *step;               /* *ret_step if the kernel refuses it; NULL: "setrlimit" */
};

struct exec_params {
        const char *path;
        char *const *argv;
        char *const *envp;
        const int *fds;                 /* fds[i] becomes fd i in the child; no others stay open */
        int n_fds;
        const char *working_directory;  /* NULL: stay */
        bool set_ids;                   /* switch to uid/gid and groups[] */
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
        char *pid_slot;                 /* if set, the child writes its pid here as decimal
                                         * (room for 21 bytes), before execve: LISTEN_PID */
        const struct exec_limit *limits; /* set in the child in this order, before the ids change */
        size_t n_limits;
        bool set_nice;
        int nice;
        mode_t umask;
        int cgroup_fd;                  /* >= 0: a cgroup v2 directory the child joins first
                                         * (before it uses any resource of its own) */
};

/* Starts p->path in a new session (own process group) with an empty signal
 * mask. Returns 0 and *ret_pid, or a negative errno: the child failed before
 * execve (it has been reaped, *ret_step names what failed), or no process
 * could be made (EAGAIN, ENOMEM; *ret_step is "clone"). */
int exec_spawn(const struct exec_params *p, pid_t *ret_pid, const char **ret_step);

#endif
