/* dispatch = spawn: a process per connection, with the connection on its
 * stdin and stdout (and fd 3 with listen-fds), UCSPI variables, capacity,
 * runtime-max. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "spawn.h"

/* A process serving one connection, on its worker's list (w->mode). */
struct spawned {
        struct process proc;
        struct worker *w;
        struct us_peer peer;
        uint64_t started_usec;
        sd_event_source *runtime_max;   /* runtime-max: its timer; NULL with runtime-max = 0 */
        int over;                       /* signal runtime-max sent it: 0, SIGTERM, SIGKILL */
        struct spawned *prev, *next;
        char socket[];                  /* the socket it came from, for its exit's line */
};

static struct spawned *of(struct process *p)
{
        return (struct spawned *)((char *)p - offsetof(struct spawned, proc));
}

static void list_remove(struct worker *w, struct spawned *sp)
{
        if (sp->prev)
                sp->prev->next = sp->next;
        else if (w->mode == sp)
                w->mode = sp->next;
        if (sp->next)
                sp->next->prev = sp->prev;
        sp->prev = sp->next = NULL;
}

static void list_add(struct worker *w, struct spawned *sp)
{
        sp->prev = NULL;
        sp->next = w->mode;
        if (sp->next)
                sp->next->prev = sp;
        w->mode = sp;
}

/* runtime-max: SIGTERM to the process group, and SIGKILL stop-timeout later
 * if the leader has not been reaped by then (as systemd's RuntimeMaxSec= and
 * the daemon's own stop). The timer goes with the process (spawned_exit,
 * release), so it never signals a group whose leader was reaped: its pid may
 * belong to another process by then. */
static int on_runtime_max(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct spawned *sp = userdata;
        struct worker *w = sp->w;
        uint64_t now = worker_now(w);
        unsigned suppressed;
        char note[64];

        if (sp->over == SIGTERM) {
                sp->over = SIGKILL;
                (void)kill(-sp->proc.pid, SIGKILL);
                return 0;
        }
        sp->over = SIGTERM;
        (void)kill(-sp->proc.pid, SIGTERM);
        if (ratelimit_pass(&w->launcher.exit_rl, now, &suppressed)) {
                struct log_ctx c = worker_ctx(w, sp->socket, &sp->peer);
                c.worker_pid = sp->proc.pid;
                c.msgid = MSGID_RUNTIME_MAX;
                log_ctx(LOG_WARNING, &c, "worker %s: pid %d still runs after runtime-max %llums: SIGTERM to its process group, SIGKILL in %llums%s",
                        w->cfg->name, (int)sp->proc.pid, (unsigned long long)(w->cfg->runtime_max_usec / 1000),
                        (unsigned long long)(w->launcher.stop_timeout_usec / 1000),
                        ratelimit_note(note, suppressed, "failures"));
        }
        /* from now, not from when it was due: a late loop shortens no grace */
        if (sd_event_source_set_time(es, now + w->launcher.stop_timeout_usec) < 0 ||
            sd_event_source_set_enabled(es, SD_EVENT_ONESHOT) < 0) {
                /* cannot happen to a timer that exists; were it to, no grace at all */
                sp->over = SIGKILL;
                (void)kill(-sp->proc.pid, SIGKILL);
        }
        return 0;
}

/* The timer of runtime-max for sp, due runtime-max after it started. Not
 * armed, the process runs unlimited: logged (rate-limited with the start
 * failures). */
static void runtime_max_arm(struct worker *w, struct spawned *sp)
{
        uint64_t max = w->cfg->runtime_max_usec;
        /* sd-event may move a timer by its accuracy, to wake once for many
         * (0 means its default, 250 ms): a tenth of the time is close enough */
        uint64_t accuracy = max / 10 < 1 ? 1 : max / 10 > 250000 ? 250000 : max / 10;
        int r = sd_event_add_time(w->event, &sp->runtime_max, CLOCK_MONOTONIC, sp->started_usec + max, accuracy,
                                  on_runtime_max, sp);
        unsigned suppressed;
        char note[64];

        if (r < 0 && ratelimit_pass(&w->launcher.exec_rl, worker_now(w), &suppressed)) {
                struct log_ctx c = worker_ctx(w, sp->socket, &sp->peer);
                c.worker_pid = sp->proc.pid;
                log_ctx_errno(LOG_ERR, &c, r, "worker %s: pid %d runs without its runtime-max: timer%s",
                              w->cfg->name, (int)sp->proc.pid, ratelimit_note(note, suppressed, "failures"));
        }
}

static void spawned_exit(struct process *p, const siginfo_t *si)
{
        struct spawned *sp = of(p);
        struct worker *w = sp->w;
        struct log_ctx c = worker_ctx(w, sp->socket, &sp->peer);
        const char *how = launch_exit_ctx(&c, si);
        /* stopped by runtime-max: a failure, even if it exited 0 on SIGTERM */
        const char *why = sp->over ? " after runtime-max" : "";
        unsigned suppressed;
        char note[64];

        sp->runtime_max = sd_event_source_disable_unref(sp->runtime_max);
        if ((sp->over || launch_exit_failed(si)) && ratelimit_pass(&w->launcher.exit_rl, worker_now(w), &suppressed))
                log_ctx(LOG_WARNING, &c, "worker %s: pid %d %s %d%s%s", w->cfg->name, (int)p->pid, how,
                        si->si_status, why, ratelimit_note(note, suppressed, "failures"));
        else
                log_ctx(LOG_DEBUG, &c, "worker %s: pid %d %s %d%s", w->cfg->name, (int)p->pid, how, si->si_status, why);
        launch_record_exit(&w->launcher, si, worker_now(w));
        list_remove(w, sp);
        if (w->cfg->max_per_user)
                uidtab_dec(&w->uids, sp->peer.uid);
        if (w->running-- >= w->cfg->instances)
                worker_set_gate(w, GATE_CAPACITY, false);
        free(sp);
        /* A process gone is an fd or a process slot back. */
        counters_freed(w->counters);
        counters_changed(w->counters);
}

static void release(struct process *p)
{
        struct spawned *sp = of(p);

        sp->runtime_max = sd_event_source_disable_unref(sp->runtime_max);
        list_remove(sp->w, sp);
        free(sp);
}

size_t spawn_processes(const struct worker *w, struct process_info *out, size_t max)
{
        size_t n = 0;

        for (const struct spawned *sp = w->mode; sp; sp = sp->next, n++)
                if (n < max)
                        out[n] = (struct process_info){
                                .pid = sp->proc.pid, .started_usec = sp->started_usec, .in_service = 1,
                                .state = "busy",
                        };
        return n;
}

unsigned spawn_socket_load(const struct worker *w, const char *name)
{
        unsigned n = 0;

        for (const struct spawned *sp = w->mode; sp; sp = sp->next)
                n += strcmp(sp->socket, name) == 0;
        return n;
}

/* The environment and fds of a process for a: UCSPI-UNIX variables, and
 * LISTEN_FDS= with listen-fds. */
static void connection_args(struct worker *w, const struct accepted *a, struct launch *l, char buf[5][300])
{
        const struct cfg_worker *cw = w->cfg;

        l->fds[0] = l->fds[1] = a->fd;
        l->fds[2] = launcher_stderr(&w->launcher);
        l->n_fds = 3;
        snprintf(buf[0], 300, "UNIXLOCALPATH=%s", a->socket->path);
        snprintf(buf[1], 300, "UNIXREMOTEPID=%d", (int)a->peer.pid);
        snprintf(buf[2], 300, "UNIXREMOTEEUID=%u", (unsigned)a->peer.uid);
        snprintf(buf[3], 300, "UNIXREMOTEEGID=%u", (unsigned)a->peer.gid);
        snprintf(buf[4], 300, "UNIXSOCKD_SOCKET=%s", a->socket->name);
        l->env[l->n_env++] = "PROTO=UNIX";
        for (size_t i = 0; i < 5; i++)
                l->env[l->n_env++] = buf[i];
        if (cw->listen_fds) {
                l->fds[l->n_fds++] = a->fd;
                l->env[l->n_env++] = "LISTEN_FDS=1";
                l->env[l->n_env++] = l->pid_slot - strlen("LISTEN_PID=");
                l->env[l->n_env++] = "LISTEN_FDNAMES=connection";
        } else {
                l->pid_slot = NULL;
        }
}

/* The process could not start for a reason a client cannot fix, and any
 * client can make this happen: logged, rate-limited; the connection closes. */
static void exec_failed(struct worker *w, const struct accepted *a, int r, const char *step)
{
        struct log_ctx c = worker_ctx(w, a->socket->name, &a->peer);
        unsigned suppressed;
        char note[64];

        w->counts.failed++;
        if (ratelimit_pass(&w->launcher.exec_rl, worker_now(w), &suppressed))
                launch_log_failure(&w->launcher, &c, LOG_ERR, r, step, ratelimit_note(note, suppressed, "failures"));
}

static void started(struct worker *w, struct spawned *sp, const struct accepted *a)
{
        w->counts.spawned++;
        if (proctab_add(w->procs, &sp->proc) < 0) {
                free(sp); /* cannot track it: it still runs and is reaped, just not counted */
                return;
        }
        sp->started_usec = worker_now(w);
        list_add(w, sp);
        if (w->cfg->runtime_max_usec)
                runtime_max_arm(w, sp);
        if (w->cfg->max_per_user)
                (void)uidtab_inc(&w->uids, a->peer.uid);
        if (++w->running >= w->cfg->instances)
                worker_set_gate(w, GATE_CAPACITY, true);
        if (log_enabled(LOG_DEBUG)) {
                struct log_ctx c = worker_ctx(w, a->socket->name, &a->peer);
                c.worker_pid = sp->proc.pid;
                c.msgid = MSGID_WORKER_STARTED;
                log_ctx(LOG_DEBUG, &c, "worker %s: started pid %d for uid %u", w->cfg->name,
                        (int)sp->proc.pid, (unsigned)a->peer.uid);
        }
}

int spawn_connection(struct worker *w, struct accepted *a)
{
        char buf[5][300], e_pid[48] = "LISTEN_PID=";
        struct launch l = { .pid_slot = e_pid + strlen("LISTEN_PID=") };
        size_t len = strlen(a->socket->name) + 1;
        struct spawned *sp = calloc(1, sizeof(*sp) + len);
        const char *step = NULL;
        int r;

        if (!sp)
                return -ENOMEM;
        connection_args(w, a, &l, buf);
        r = launch_start(&w->launcher, &l, &sp->proc.pid, &step);
        if (r < 0) {
                free(sp);
                if (strcmp(step, "clone") == 0)
                        return r;
                exec_failed(w, a, r, step);
        } else {
                sp->proc.on_exit = spawned_exit;
                sp->proc.release = release;
                sp->w = w;
                sp->peer = a->peer;
                memcpy(sp->socket, a->socket->name, len);
                started(w, sp, a);
        }
        close(a->fd);
        return DISPATCH_TAKEN;
}
