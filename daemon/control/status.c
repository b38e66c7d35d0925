/* The status answer and the STATUS= line, from the sockets and workers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch/dispatch.h"
#include "status.h"

#define PROCESSES_MAX 4096              /* listed per worker; the count is always whole */

static uint64_t clock_usec(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* A CLOCK_MONOTONIC time as CLOCK_REALTIME microseconds, 0 for 0. */
static json_object *realtime(uint64_t mono)
{
        uint64_t now_mono = clock_usec(CLOCK_MONOTONIC), now_real = clock_usec(CLOCK_REALTIME);

        if (!mono)
                return json_object_new_int64(0);
        return json_object_new_int64((int64_t)(now_real - (now_mono > mono ? now_mono - mono : 0)));
}

static void add(json_object *o, const char *key, json_object *v)
{
        json_object_object_add(o, key, v);
}

static json_object *uint_(unsigned long v)
{
        return json_object_new_int64((int64_t)v);
}

static const char *origin(const struct socket *s)
{
        return !s->inherited ? "made" : s->published_here ? "fdstore" : "inherited";
}

/* Why s does not accept now, by name. */
static json_object *pause_reasons(const struct socket *s)
{
        json_object *a = json_object_new_array();
        unsigned g = s->w->gate;

        if (g & GATE_CAPACITY)
                json_object_array_add(a, json_object_new_string(
                        s->w->cfg->dispatch == DISPATCH_POOL ? "queue-full" : "instances"));
        if (g & GATE_ACTIVE)
                json_object_array_add(a, json_object_new_string("worker-running"));
        if (g & GATE_FAILED)
                json_object_array_add(a, json_object_new_string("worker-failed"));
        if (s->pause & SOCKET_PAUSE_RESOURCE)
                json_object_array_add(a, json_object_new_string("resources"));
        if (s->pause & SOCKET_PAUSE_RATE)
                json_object_array_add(a, json_object_new_string("rate"));
        if (s->pause & SOCKET_PAUSE_MANUAL)
                json_object_array_add(a, json_object_new_string("manual"));
        return a;
}

static const char *socket_state(const struct socket *s)
{
        return !s->l ? "closed" : s->pause || s->w->gate ? "paused" : "listening";
}

static json_object *socket_json(const struct socket *s)
{
        json_object *o = json_object_new_object(), *refused = json_object_new_object();
        unsigned in_service, queued, backlog, backlog_max;
        bool known = s->l && us_listener_queue(s->l, &backlog, &backlog_max) == 0;

        dispatch_socket_load(s->w, s->cfg->name, &in_service, &queued);
        add(o, "name", json_object_new_string(s->cfg->name));
        add(o, "path", json_object_new_string(s->cfg->path));
        add(o, "worker", json_object_new_string(s->w->cfg->name));
        add(o, "origin", json_object_new_string(origin(s)));
        add(o, "type", json_object_new_string(config_socket_type_name(s->cfg->type)));
        add(o, "state", json_object_new_string(socket_state(s)));
        add(o, "paused", pause_reasons(s));
        add(o, "paused_since_realtime_usec", realtime(s->paused_since));
        add(o, "accepted", uint_(s->counts.accepted));
        for (int r = 0; r < _REFUSAL_MAX; r++)
                add(refused, dispatch_refusal_name(r), uint_(s->counts.refused_by[r]));
        add(o, "refused", refused);
        add(o, "in_service", uint_(in_service));
        add(o, "queued", uint_(queued));
        add(o, "backlog", known ? uint_(backlog) : json_object_new_int(-1));
        /* a datagram socket queues datagrams, not clients: -1 both */
        add(o, "backlog_max", known ? uint_(backlog_max)
                                    : json_object_new_int(s->cfg->type == SOCK_DGRAM ? -1 : s->cfg->backlog));
        return o;
}

static json_object *process_json(const struct process_info *p)
{
        json_object *o = json_object_new_object();

        add(o, "pid", json_object_new_int(p->pid));
        add(o, "started_realtime_usec", realtime(p->pid ? p->started_usec : 0));
        add(o, "served", uint_(p->served));
        add(o, "in_service", uint_(p->in_service));
        add(o, "state", json_object_new_string(p->state));
        add(o, "backoff_until_realtime_usec", realtime(p->backoff_until_usec));
        return o;
}

static json_object *last_exit_json(const struct last_exit *e)
{
        json_object *o;

        if (!e->pid)
                return NULL;
        o = json_object_new_object();
        add(o, "pid", json_object_new_int(e->pid));
        add(o, "code", json_object_new_string(e->code == CLD_EXITED ? "exited" :
                                              e->code == CLD_DUMPED ? "dumped" : "killed"));
        add(o, "status", json_object_new_int(e->status));
        add(o, "realtime_usec", realtime(e->usec));
        return o;
}

static json_object *worker_json(const struct worker *w)
{
        static struct process_info procs[PROCESSES_MAX];
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        size_t n = dispatch_processes(w, procs, PROCESSES_MAX);

        add(o, "name", json_object_new_string(w->cfg->name));
        add(o, "dispatch", json_object_new_string(config_dispatch_name(w->cfg->dispatch)));
        add(o, "instances", uint_(w->cfg->instances));
        add(o, "instances_min", uint_(w->cfg->instances_min));
        add(o, "running", uint_(w->running + worker_members_up(w)));
        add(o, "restarts", uint_(worker_restarts(w)));
        add(o, "spawned", uint_(w->counts.spawned));
        add(o, "exec_failed", uint_(w->counts.failed));
        for (size_t i = 0; i < n && i < PROCESSES_MAX; i++)
                json_object_array_add(a, process_json(&procs[i]));
        add(o, "processes", a);
        add(o, "last_exit", last_exit_json(&w->launcher.last_exit));
        return o;
}

static json_object *daemon_json(const struct status_daemon *d)
{
        json_object *o = json_object_new_object();

        add(o, "pid", json_object_new_int(getpid()));
        add(o, "version", json_object_new_string(USD_VERSION));
        add(o, "config", json_object_new_string(d->config));
        add(o, "started_realtime_usec", realtime(d->started_usec));
        add(o, "stopping", json_object_new_boolean(d->stopping));
        add(o, "accepted", uint_(d->accepted));
        add(o, "refused", uint_(d->refused));
        add(o, "reloads", uint_(d->reloads));
        return o;
}

static bool named(const char *name, char *const *names, size_t n, bool *seen)
{
        bool any = n == 0;

        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        any = seen[i] = true;
        return any;
}

int status_json(const struct status_daemon *d, char *const *names, size_t n, json_object *answer,
                const char **error)
{
        static char buf[128];
        json_object *socks, *workers;
        bool seen[64] = { false };

        n = n > 64 ? 64 : n;
        for (size_t i = 0; i < d->n_socks; i++)
                (void)named(d->socks[i]->cfg->name, names, n, seen);
        for (size_t i = 0; i < d->n_workers; i++)
                (void)named(d->workers[i]->cfg->name, names, n, seen);
        for (size_t i = 0; i < n; i++)
                if (!seen[i]) {
                        snprintf(buf, sizeof(buf), "no socket or worker '%.64s'", names[i]);
                        *error = buf;
                        return -ENOENT;
                }
        socks = json_object_new_array();
        workers = json_object_new_array();
        for (size_t i = 0; i < d->n_socks; i++)
                if (named(d->socks[i]->cfg->name, names, n, seen))
                        json_object_array_add(socks, socket_json(d->socks[i]));
        for (size_t i = 0; i < d->n_workers; i++)
                if (named(d->workers[i]->cfg->name, names, n, seen))
                        json_object_array_add(workers, worker_json(d->workers[i]));
        add(answer, "daemon", daemon_json(d));
        add(answer, "sockets", socks);
        add(answer, "workers", workers);
        return 0;
}

void status_line(const struct status_daemon *d, char *buf, size_t size)
{
        unsigned running = 0, queued = 0;
        unsigned long restarts = 0;
        size_t n;

        for (size_t i = 0; i < d->n_workers; i++) {
                running += d->workers[i]->running + worker_members_up(d->workers[i]);
                queued += d->workers[i]->n_queued;
                restarts += worker_restarts(d->workers[i]);
        }
        n = (size_t)snprintf(buf, size, "%s%zu sockets, %u worker processes, %lu accepted, %lu refused, "
                             "%u queued, %lu restarts", d->stopping ? "Stopping: " : "", d->n_socks, running,
                             d->accepted, d->refused, queued, restarts);
        for (size_t i = 0; i < d->n_socks && n < size; i++) {
                const struct socket *s = d->socks[i];
                int k = snprintf(buf + n, size - n, "%s %s %s %lu/%lu", i ? "," : ";", s->cfg->name,
                                 socket_state(s), s->counts.accepted, s->counts.refused);
                if (k < 0 || (size_t)k >= size - n) {
                        snprintf(buf + n, size - n, "%s", i ? ", ..." : "");
                        break;
                }
                n += (size_t)k;
        }
}
