/* The process table: children by pid (a hash, chained), their groups, reaping. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "log.h"
#include "proctab.h"

static struct process **slot(struct proctab *t, pid_t pid)
{
        struct process **p = &t->buckets[(size_t)pid & (t->size - 1)];

        while (*p && (*p)->pid != pid)
                p = &(*p)->next;
        return p;
}

static int grow(struct proctab *t)
{
        size_t size = t->size ? t->size * 2 : 64;
        struct process **b = calloc(size, sizeof(*b));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < t->size; i++) {
                for (struct process *p = t->buckets[i], *next; p; p = next) {
                        next = p->next;
                        p->next = b[(size_t)p->pid & (size - 1)];
                        b[(size_t)p->pid & (size - 1)] = p;
                }
        }
        free(t->buckets);
        t->buckets = b;
        t->size = size;
        return 0;
}

int proctab_add(struct proctab *t, struct process *p)
{
        if (t->n >= t->size && grow(t) < 0)
                return -ENOMEM;
        struct process **s = slot(t, p->pid);
        p->next = NULL;
        *s = p;
        t->n++;
        return 0;
}

struct process *proctab_take(struct proctab *t, pid_t pid)
{
        if (!t->size)
                return NULL;
        struct process **s = slot(t, pid), *p = *s;
        if (p) {
                *s = p->next;
                t->n--;
        }
        return p;
}

/* Every worker leads its own process group (setsid in exec.c). When a leader
 * exits and its group does not (a worker that forked and left), the group is
 * remembered: its processes are reparented to the daemon (a child subreaper),
 * signalled with the workers at stop, and stop waits for them. */
static bool group_alive(pid_t pgid)
{
        return kill(-pgid, 0) == 0 || errno == EPERM;
}

static void group_remember(struct proctab *t, pid_t pgid)
{
        if (!group_alive(pgid))
                return;
        if (t->n_groups == t->cap_groups) {
                size_t cap = t->cap_groups ? t->cap_groups * 2 : 16;
                pid_t *g = reallocarray(t->groups, cap, sizeof(*g));
                if (!g) {
                        log_msg(LOG_WARNING, "process group %d outlives its worker: out of memory to track it",
                                (int)pgid);
                        return;
                }
                t->groups = g;
                t->cap_groups = cap;
        }
        t->groups[t->n_groups++] = pgid;
        log_msg(LOG_DEBUG, "process group %d lives on after its leader", (int)pgid);
}

size_t proctab_groups(struct proctab *t)
{
        for (size_t i = 0; i < t->n_groups;)
                if (group_alive(t->groups[i]))
                        i++;
                else
                        t->groups[i] = t->groups[--t->n_groups];
        return t->n_groups;
}

void proctab_reap(struct proctab *t)
{
        for (;;) {
                siginfo_t si = { 0 };
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                        break;
                struct process *p = proctab_take(t, si.si_pid);
                if (!p)
                        continue; /* not a worker: one of its descendants, reparented to us */
                group_remember(t, p->pid);
                p->on_exit(p, &si);
        }
}

size_t proctab_count(const struct proctab *t)
{
        return t->n;
}

void proctab_signal_all(struct proctab *t, int sig)
{
        for (size_t i = 0; i < t->size; i++)
                for (struct process *p = t->buckets[i]; p; p = p->next)
                        (void)kill(-p->pid, sig);
        for (size_t i = 0; i < t->n_groups; i++)
                (void)kill(-t->groups[i], sig);
}

void proctab_free(struct proctab *t)
{
        for (size_t i = 0; i < t->size; i++)
                for (struct process *p = t->buckets[i], *next; p; p = next) {
                        next = p->next;
                        if (p->release)
                                p->release(p);
                }
        free(t->buckets);
        free(t->groups);
        *t = (struct proctab){ 0 };
}
