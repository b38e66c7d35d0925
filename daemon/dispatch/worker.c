/* A worker's common state: gates of its sockets, counts, launcher. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

int worker_init(struct worker *w, const struct cfg_worker *cw, const struct worker_env *env)
{
        int r;

        *w = (struct worker){
                .cfg = cw,
                .counters = env->counters,
                .procs = env->procs,
                .event = env->event,
                .successor = env->successor,
                .successor_userdata = env->successor_userdata,
        };
        if (launcher_init(&w->launcher, cw) < 0)
                return -ENOMEM;
        w->launcher.stop_timeout_usec = env->stop_timeout_usec;
        r = cgroup_new(env->cgroups, cw, &w->cgroup);
        if (r < 0)
                return r;
        w->launcher.cgroup_fd = cgroup_fd(w->cgroup);
        return 0;
}

void worker_done(struct worker *w)
{
        /* what its processes left in its cgroup goes too (cgroup.h) */
        cgroup_release(w->cgroup, w->launcher.stop_timeout_usec);
        w->cgroup = NULL;
        w->launcher.cgroup_fd = -1;
        launcher_done(&w->launcher);
        uidtab_clear(&w->uids);
        free(w->ports);
        w->ports = NULL;
        w->n_ports = 0;
}

int worker_attach(struct worker *w, const struct port *p)
{
        if (w->n_ports == w->cap_ports) {
                size_t cap = w->cap_ports ? w->cap_ports * 2 : 4;
                struct port *t = reallocarray(w->ports, cap, sizeof(*t));
                if (!t)
                        return -ENOMEM;
                w->ports = t;
                w->cap_ports = cap;
        }
        w->ports[w->n_ports++] = *p;
        return 0;
}

void worker_detach(struct worker *w, void *userdata)
{
        for (size_t i = 0; i < w->n_ports; i++)
                if (w->ports[i].userdata == userdata) {
                        memmove(&w->ports[i], &w->ports[i + 1], (w->n_ports - i - 1) * sizeof(*w->ports));
                        w->n_ports--;
                        return;
                }
}

void worker_set_gate(struct worker *w, unsigned reason, bool on)
{
        if (!!(w->gate & reason) == on)
                return;
        w->gate = on ? w->gate | reason : w->gate & ~reason;
        if (reason == GATE_CAPACITY && w->n_ports) {
                struct log_ctx c = worker_ctx(w, NULL, NULL);
                c.msgid = MSGID_ACCEPT_PAUSED;
                log_ctx(LOG_DEBUG, &c, on ? "worker %s: at capacity (instances %u, %u queued): its sockets wait in the backlog"
                                          : "worker %s: below capacity (instances %u, %u queued): accepting again",
                        w->cfg->name, w->cfg->instances, w->n_queued);
        }
        for (size_t i = 0; i < w->n_ports; i++)
                w->ports[i].gate_changed(w->ports[i].userdata);
}

unsigned worker_members_up(const struct worker *w)
{
        unsigned n = 0;

        for (size_t i = 0; i < w->n_members; i++)
                n += w->members[i]->proc.pid > 0;
        return n;
}

unsigned long worker_restarts(const struct worker *w)
{
        unsigned long n = 0;

        for (size_t i = 0; i < w->n_members; i++)
                n += w->members[i]->restarts;
        return n;
}

bool worker_ending(const struct worker *w)
{
        return w->launcher.ending != ENDING_NO;
}

uint64_t worker_now(const struct worker *w)
{
        uint64_t t = 0;

        sd_event_now(w->event, CLOCK_MONOTONIC, &t);
        return t;
}

void worker_socket_names(const struct worker *w, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < w->n_ports && n < size; i++)
                n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ":" : "", w->ports[i].name);
}

struct log_ctx worker_ctx(const struct worker *w, const char *socket, const struct us_peer *peer)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.worker = w->cfg->name;
        c.socket = socket;
        if (peer) {
                c.peer_pid = peer->pid;
                c.peer_uid = peer->uid;
                c.peer_gid = peer->gid;
        }
        return c;
}
