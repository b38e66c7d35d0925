/* The daemon's children by pid, and the process groups that outlive their
 * leader; SIGCHLD -> each exited child's on_exit. */
#ifndef USD_PROCTAB_H
#define USD_PROCTAB_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* A child, embedded in whatever owns it. */
struct process {
        pid_t pid;                      /* 0: not running */
        /* Called once it is reaped (and out of the table). */
        void (*on_exit)(struct process *p, const siginfo_t *si);
        /* Called for a process still in the table when the table is freed (NULL: nothing). */
        void (*release)(struct process *p);
        struct process *next;
};

struct proctab {
        struct process **buckets;
        size_t size, n;
        pid_t *groups;                  /* groups whose leader exited and not all of them */
        size_t n_groups, cap_groups;
};

/* p->pid is set. 0, or -ENOMEM: then p is not tracked (its exit is reaped, unseen). */
int proctab_add(struct proctab *t, struct process *p);
/* Takes the process of pid out of the table, NULL if none: the caller reaped it. */
struct process *proctab_take(struct proctab *t, pid_t pid);
/* Reaps every child that exited; on_exit of those in the table. */
void proctab_reap(struct proctab *t);
/* Processes in the table, and groups of exited leaders still alive. */
size_t proctab_count(const struct proctab *t);
size_t proctab_groups(struct proctab *t);
/* Sends sig to the group of every process in the table and to the lingering groups. */
void proctab_signal_all(struct proctab *t, int sig);
void proctab_free(struct proctab *t);

#endif
