/* Per-worker cgroups: whether the daemon runs in a delegated cgroup v2
 * subtree, the daemon's own leaf in it, one sub-cgroup per worker object with
 * its memory.max, pids.max and cpu.weight, and signalling or removing them. */
#ifndef USD_CGROUP_H
#define USD_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config/config.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* The daemon's own leaf: the cgroup v2 "no internal processes" rule forbids
 * controllers in the subtree of a cgroup that holds processes itself. */
#define CGROUP_SUPERVISOR "supervisor"
/* A worker's cgroup: "worker-NAME", and "worker-NAME@N" (N = 2, 3 ...) while
 * an older worker object of the same name still has its own. */
#define CGROUP_WORKER_PREFIX "worker-"
#define CGROUP_MAX_GENERATIONS 64

enum {
        CGROUP_MEMORY = 1 << 0,
        CGROUP_PIDS = 1 << 1,
        CGROUP_CPU = 1 << 2,
};

/* ---- pure ------------------------------------------------------------------- */

/* The path of the cgroup v2 line ("0::/path") of the text of
 * /proc/self/cgroup, into buf. 0; -ENOENT: no such line; -EINVAL: not an
 * absolute path, or "." or ".." in it; -ENAMETOOLONG. */
int cgroup_parse_self(const char *text, size_t len, char *buf, size_t size);
/* The CGROUP_* of the space-separated names of a cgroup.controllers text. */
unsigned cgroup_parse_controllers(const char *text);
/* The sub-cgroup name of worker NAME, generation gen (1: "worker-NAME",
 * else "worker-NAME@gen"). 0, or -ENAMETOOLONG. */
int cgroup_child_name(const char *worker, unsigned gen, char *buf, size_t size);
/* The controllers a worker's settings need (a limit of infinity needs none:
 * it is the default). */
unsigned cgroup_needs(const struct cfg_worker *cw);
/* The key that needs controller bit: memory-max, pids-max, cpu-weight. */
const char *cgroup_key_name(unsigned bit);

/* What the daemon found about its cgroup. */
struct cgroup_probe {
        bool cgroup2;                   /* /sys/fs/cgroup is a cgroup2 file system */
        const char *path;               /* own cgroup from /proc/self/cgroup; NULL: none */
        const char *path_error;         /* why there is none */
        bool opened;                    /* its directory could be opened */
        const char *open_error;
        bool delegated;                 /* user.delegate or trusted.delegate = "1" */
};
/* true: the daemon may make sub-cgroups; false and why (what is missing). */
bool cgroup_decide(const struct cgroup_probe *p, char *why, size_t size);

/* ---- the tree ------------------------------------------------------------------- */

struct cgroup_tree;
struct cgroup;

/* Finds out whether the daemon's cgroup is delegated, and if so moves the
 * daemon into its CGROUP_SUPERVISOR leaf, enables +memory +pids +cpu (those
 * of them it has) in its subtree, and removes or kills what an earlier run
 * left there. Not delegated, or set up failed: a tree that makes no cgroups
 * (cgroup_tree_active() false), with cgroup_tree_why(). 0, or -ENOMEM. */
int cgroup_tree_open(sd_event *e, struct cgroup_tree **ret);
/* The same on dirfd (taken) standing in for the own cgroup directory at path
 * (for messages), found delegated: for tests on a plain directory. */
int cgroup_tree_open_at(sd_event *e, int dirfd, const char *path, struct cgroup_tree **ret);
struct cgroup_tree *cgroup_tree_free(struct cgroup_tree *t);
bool cgroup_tree_active(const struct cgroup_tree *t);
const char *cgroup_tree_why(const struct cgroup_tree *t);
/* Every worker of c that sets a cgroup key the tree cannot apply, as
 * "KEY: needs ..." at its FILE:LINE through err. How many. */
size_t cgroup_check(const struct cgroup_tree *t, const struct config *c, config_error_fn err, void *userdata);

/* A new sub-cgroup for a worker object of cw, its limits written. 0 and
 * *ret (NULL when the tree makes none), or a negative errno (logged). */
int cgroup_new(struct cgroup_tree *t, const struct cfg_worker *cw, struct cgroup **ret);
/* Its directory fd (what a process joins) and name. */
int cgroup_fd(const struct cgroup *cg);
const char *cgroup_name(const struct cgroup *cg);
/* Its worker is gone. An empty cgroup is removed now; one that still holds
 * processes (left behind by the worker's processes) gets SIGTERM now and
 * SIGKILL after kill_after_usec, and is removed once empty
 * (cgroup_tree_gc). NULL is fine. */
void cgroup_release(struct cgroup *cg, uint64_t kill_after_usec);
/* Sends sig to every process of every sub-cgroup the tree made. */
void cgroup_tree_signal(struct cgroup_tree *t, int sig);
/* Sub-cgroups that still hold a process. */
size_t cgroup_tree_populated(struct cgroup_tree *t);
/* Removes released sub-cgroups that are empty now. */
void cgroup_tree_gc(struct cgroup_tree *t);

/* On a cgroup directory fd: sends sig to each process in it (SIGKILL by
 * cgroup.kill where the kernel has it, else pass after pass over
 * cgroup.procs until none is left). 0, or a negative errno. */
int cgroup_signal_dir(int dirfd, int sig);
/* 1 if processes are in it (or below it), 0 if not, or a negative errno. */
int cgroup_populated_dir(int dirfd);

#endif
