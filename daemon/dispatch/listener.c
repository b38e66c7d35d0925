/* dispatch = listener: the process gets the worker's listening sockets as
 * LISTEN_FDS; the sockets are not watched while it runs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"

static struct worker *worker_of(struct member *m)
{
        return m->owner;
}

static int prepare(struct member *m, struct launch *a, const char **step)
{
        static char names[4096], e_sock[4200], e_names[4200], e_nfds[32], e_pid[48];
        struct worker *w = worker_of(m);
        int k = 0;

        for (size_t i = 0; i < w->n_ports && a->n_fds < EXEC_MAX_FDS; i++) {
                a->fds[a->n_fds++] = us_listener_fd(w->ports[i].listener);
                k++;
        }
        worker_socket_names(w, names, sizeof(names));
        snprintf(e_sock, sizeof(e_sock), "UNIXSOCKD_SOCKET=%s", names);
        snprintf(e_nfds, sizeof(e_nfds), "LISTEN_FDS=%d", k);
        snprintf(e_names, sizeof(e_names), "LISTEN_FDNAMES=%s", names);
        snprintf(e_pid, sizeof(e_pid), "LISTEN_PID=");
        a->env[a->n_env++] = e_sock;
        a->env[a->n_env++] = e_nfds;
        a->env[a->n_env++] = e_pid;
        a->env[a->n_env++] = e_names;
        a->pid_slot = e_pid + strlen("LISTEN_PID=");
        return 0;
}

static void started(struct member *m, bool ok)
{
}

/* A client waits on one of its sockets. */
static bool pending(const struct worker *w)
{
        for (size_t i = 0; i < w->n_ports; i++)
                if (us_accept_ready(w->ports[i].listener))
                        return true;
        return false;
}

static void exiting(struct member *m, struct member_exit *e)
{
        struct worker *w = worker_of(m);

        e->on_demand = true;
        e->pending = pending(w);
        if (e->pending && !worker_ending(w))
                snprintf(e->reason, sizeof(e->reason), " (leaving clients waiting on its sockets)");
}

static void exited(struct member *m, const struct member_exit *e)
{
        struct worker *w = worker_of(m);
        bool give_up;

        if (e->restart || worker_ending(w))
                return;
        give_up = e->failed && w->cfg->restart == RESTART_NEVER;
        if (give_up) {
                struct log_ctx c = member_ctx(m);
                log_ctx(LOG_ERR, &c, "worker %s failed and restart = never: its sockets stay unwatched",
                        w->cfg->name);
        }
        worker_set_gate(w, GATE_FAILED, give_up);
        worker_set_gate(w, GATE_ACTIVE, false);
}

static const struct member_ops listener_ops = {
        .prepare = prepare,
        .started = started,
        .exiting = exiting,
        .exited = exited,
};

int listener_start(struct worker *w)
{
        struct member *m = calloc(1, sizeof(*m));

        w->members = calloc(1, sizeof(*w->members));
        if (!m || !w->members) {
                free(m);
                return -ENOMEM;
        }
        member_init(m, &listener_ops, w, 0, &w->launcher, w->procs, w->counters, w->event);
        w->members[0] = m;
        w->n_members = 1;
        return 0; /* started on the first connection */
}

void listener_activate(struct worker *w)
{
        struct member *m = w->members[0];

        /* The worker takes over every socket naming it: stop watching them. */
        worker_set_gate(w, GATE_ACTIVE, true);
        if (m->proc.pid == 0 && !member_restart_pending(m))
                member_start(m);
}

void listener_stop(struct worker *w)
{
        struct member *m = w->n_members ? w->members[0] : NULL;

        if (!m)
                return;
        member_cancel_restart(m);
        if (m->proc.pid > 0)
                (void)kill(-m->proc.pid, SIGTERM);
}

void listener_free(struct worker *w)
{
        if (w->n_members) {
                member_free(w->members[0]);
                free(w->members[0]);
        }
        free(w->members);
        w->members = NULL;
        w->n_members = 0;
}

size_t listener_processes(const struct worker *w, struct process_info *out, size_t max)
{
        const struct member *m = w->n_members ? w->members[0] : NULL;

        if (!m)
                return 0;
        if (max)
                out[0] = (struct process_info){
                        .pid = m->proc.pid,
                        .started_usec = m->started_at,
                        .state = m->proc.pid > 0 ? "busy" : member_restart_pending(m) ? "backoff" : "stopped",
                        .backoff_until_usec = member_restart_at(m),
                };
        return 1;
}
