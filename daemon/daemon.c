/* The daemon: the tables of sockets and workers, the process table, signals,
 * stop, STATUS=, the runtime directory, and reloads applied as planned. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "control/control.h"
#include "control/status.h"
#include "daemon.h"
#include "dispatch/dispatch.h"
#include "listen/inherit.h"
#include "listen/socket.h"
#include "log.h"
#include "notify.h"
#include "process/cgroup.h"
#include "reload.h"

#define STATUS_INTERVAL_USEC (1000 * 1000)

struct daemon {
        sd_event *event;
        struct config *cfg;
        struct socket **socks;                  /* socks[i] is cfg->sockets[i]'s */
        size_t n_socks;
        struct worker **workers;                /* workers[i] is cfg->workers[i]'s */
        size_t n_workers;
        /* replaced by a reload, until their last process is gone, and the
         * configurations they still point into */
        struct worker **old_workers;
        size_t n_old_workers;
        struct config **old_cfgs;
        size_t n_old_cfgs;
        struct proctab procs;
        struct cgroup_tree *cgroups;            /* the workers' cgroups (none if not delegated) */
        struct counters counters;
        struct control *control;
        uint64_t started_usec;
        unsigned long reloads;
        bool stopping;
        int stop_stage;                         /* 0 waiting, 1 SIGTERM sent, 2 SIGKILL sent */
        sd_event_source *sigs[4];
        sd_event_source *stop_timer, *status_timer;
        uint64_t status_last;
};

static uint64_t now_usec(struct daemon *d)
{
        uint64_t t = 0;

        sd_event_now(d->event, CLOCK_MONOTONIC, &t);
        return t;
}

static int push_ptr(void ***v, size_t *n, void *p)
{
        void **t = reallocarray(*v, *n + 1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t[(*n)++] = p;
        *v = t;
        return 0;
}

/* ---- status ------------------------------------------------------------ */

/* STATUS=, after state (READY=1 ...) if not NULL, in the same message. */
static struct status_daemon status_of(const struct daemon *d)
{
        return (struct status_daemon){
                .config = d->cfg->file, .started_usec = d->started_usec, .stopping = d->stopping,
                .accepted = d->counters.accepted, .refused = d->counters.refused, .reloads = d->reloads,
                .socks = d->socks, .n_socks = d->n_socks, .workers = d->workers, .n_workers = d->n_workers,
        };
}

static void status_send_with(struct daemon *d, const char *state)
{
        struct status_daemon s = status_of(d);
        char line[480], msg[512];

        status_line(&s, line, sizeof(line));
        snprintf(msg, sizeof(msg), "%s%sSTATUS=%s", state ? state : "", state ? "\n" : "", line);
        (void)notify_send(msg, -1);
        d->status_last = now_usec(d);
}

static int on_status_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        status_send_with(userdata, NULL);
        return 0;
}

/* STATUS= follows every change, at most once a second. */
static void status_changed(void *userdata)
{
        struct daemon *d = userdata;
        uint64_t now = now_usec(d);
        int on = SD_EVENT_OFF;

        if (!d->status_timer)
                return;
        sd_event_source_get_enabled(d->status_timer, &on);
        if (on != SD_EVENT_OFF)
                return;
        if (now - d->status_last >= STATUS_INTERVAL_USEC) {
                status_send_with(d, NULL);
                return;
        }
        sd_event_source_set_time(d->status_timer, d->status_last + STATUS_INTERVAL_USEC);
        sd_event_source_set_enabled(d->status_timer, SD_EVENT_ONESHOT);
}

/* An fd or a process slot came back (a child exited, a pool worker took a
 * connection): a socket paused on EMFILE and friends tries again now rather
 * than at the end of its pause. */
static void resources_freed(void *userdata)
{
        struct daemon *d = userdata;

        for (size_t i = 0; i < d->n_socks; i++)
                socket_resources_freed(d->socks[i]);
}

/* The worker serving the socket called name now: where a replaced pool's queue goes. */
static struct worker *successor(void *userdata, const char *name)
{
        struct daemon *d = userdata;

        for (size_t i = 0; i < d->n_socks; i++)
                if (strcmp(d->socks[i]->cfg->name, name) == 0)
                        return d->socks[i]->w;
        return NULL;
}

static struct worker *worker_new(struct daemon *d, const struct cfg_worker *cw, const struct config *c)
{
        struct worker_env env = {
                .event = d->event,
                .procs = &d->procs,
                .counters = &d->counters,
                .successor = successor,
                .successor_userdata = d,
                .stop_timeout_usec = c->stop_timeout_usec,
                .cgroups = d->cgroups,
        };

        return dispatch_worker_new(cw, &env);
}

/* ---- what reloads left behind --------------------------------------------- */

static bool cfg_holds(const struct config *c, const void *p)
{
        const char *b = p;

        return c->n_workers && b >= (const char *)c->workers && b < (const char *)(c->workers + c->n_workers);
}

/* Frees the workers a reload replaced once their last process is gone, and
 * the old configurations nothing points into any more: so reloads do not
 * make the daemon grow. */
static void gc(struct daemon *d)
{
        for (size_t i = 0; i < d->n_old_workers;) {
                struct worker *w = d->old_workers[i];
                if (dispatch_worker_idle(w)) {
                        d->old_workers[i] = d->old_workers[--d->n_old_workers];
                        dispatch_worker_free(w);
                } else {
                        i++;
                }
        }
        for (size_t i = 0; i < d->n_old_cfgs;) {
                struct config *c = d->old_cfgs[i];
                bool used = false;
                for (size_t j = 0; j < d->n_old_workers && !used; j++)
                        used = cfg_holds(c, d->old_workers[j]->cfg);
                if (used) {
                        i++;
                        continue;
                }
                d->old_cfgs[i] = d->old_cfgs[--d->n_old_cfgs];
                config_free(c);
        }
        cgroup_tree_gc(d->cgroups);
}

/* ---- stopping ---------------------------------------------------------- */

static void stop_check_done(struct daemon *d)
{
        if (d->stopping && proctab_count(&d->procs) == 0 && proctab_groups(&d->procs) == 0 &&
            cgroup_tree_populated(d->cgroups) == 0)
                sd_event_exit(d->event, 0);
}

static int on_sigchld(sd_event_source *es, const struct signalfd_siginfo *ssi, void *userdata)
{
        struct daemon *d = userdata;

        proctab_reap(&d->procs);
        (void)proctab_groups(&d->procs);
        gc(d);
        stop_check_done(d);
        return 0;
}

static int on_stop_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        size_t groups = proctab_groups(&d->procs), cgroups = cgroup_tree_populated(d->cgroups);

        d->stop_stage++;
        log_msg(LOG_WARNING, "%zu worker processes, %zu process groups of exited workers and %zu worker cgroups with processes still running after stop-timeout: sending %s",
                proctab_count(&d->procs), groups, cgroups, d->stop_stage == 1 ? "SIGTERM" : "SIGKILL");
        proctab_signal_all(&d->procs, d->stop_stage == 1 ? SIGTERM : SIGKILL);
        /* also what left its process group (setsid) but not its cgroup */
        cgroup_tree_signal(d->cgroups, d->stop_stage == 1 ? SIGTERM : SIGKILL);
        /* A cgroup may hold processes that are not ours (no SIGCHLD tells
         * when they are gone): after SIGKILL, look again every stop-timeout. */
        if (d->stop_stage == 1 || cgroups) {
                sd_event_source_set_time(es, usec + d->cfg->stop_timeout_usec);
                sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        }
        stop_check_done(d);
        return 0;
}

static void stop(struct daemon *d, const char *why)
{
        struct log_ctx c = LOG_CTX_INIT;

        if (d->stopping)
                return;
        d->stopping = true;
        c.msgid = MSGID_STOPPING;
        log_ctx(LOG_INFO, &c, "stopping on %s: no new connections; %zu worker processes serve on",
                why, proctab_count(&d->procs));
        for (size_t i = 0; i < d->n_socks; i++)
                socket_close(d->socks[i]);
        for (size_t i = 0; i < d->n_workers; i++)
                dispatch_worker_stop(d->workers[i]);
        status_send_with(d, "STOPPING=1");
        if (proctab_count(&d->procs) || proctab_groups(&d->procs) || cgroup_tree_populated(d->cgroups))
                sd_event_add_time_relative(d->event, &d->stop_timer, CLOCK_MONOTONIC,
                                           d->cfg->stop_timeout_usec, 0, on_stop_timer, d);
        stop_check_done(d);
}

static int on_stop_signal(sd_event_source *es, const struct signalfd_siginfo *ssi, void *userdata)
{
        stop(userdata, sigabbrev_np((int)ssi->ssi_signo));
        return 0;
}

/* ---- start --------------------------------------------------------------- */

int daemon_new(sd_event *e, struct config *cfg, struct daemon **ret)
{
        struct daemon *d = calloc(1, sizeof(*d));
        int r = -ENOMEM;

        if (!d) {
                config_free(cfg);
                return -ENOMEM;
        }
        d->event = sd_event_ref(e);
        d->cfg = cfg;
        d->counters = (struct counters){
                .changed = status_changed, .resources_freed = resources_freed, .userdata = d,
        };
        d->workers = calloc(cfg->n_workers, sizeof(*d->workers));
        d->socks = calloc(cfg->n_sockets, sizeof(*d->socks));
        if (!d->workers || !d->socks || cgroup_tree_open(e, &d->cgroups) < 0)
                goto oom;
        /* a cgroup key with no delegated cgroup: a config error, FILE:LINE */
        if (cgroup_check(d->cgroups, cfg, log_config_error, NULL) > 0) {
                r = -EINVAL;
                goto oom;
        }
        for (size_t i = 0; i < cfg->n_workers; i++, d->n_workers++)
                if (!(d->workers[i] = worker_new(d, &cfg->workers[i], cfg))) {
                        r = -errno; /* ENOMEM, or its cgroup (logged) */
                        goto oom;
                }
        for (size_t i = 0; i < cfg->n_sockets; i++, d->n_socks++) {
                const struct cfg_socket *cs = &cfg->sockets[i];
                d->socks[i] = socket_new(cs, d->workers[cs->worker - cfg->workers], e, &d->counters);
                if (!d->socks[i])
                        goto oom;
        }
        *ret = d;
        return 0;
oom:
        daemon_free(d);
        return r;
}

static int mkdir_p(const char *path, mode_t mode)
{
        char buf[4096];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static void runtime_directory(const struct config *c)
{
        int r = mkdir_p(c->runtime_directory, 0755);

        if (r < 0)
                log_errno(LOG_WARNING, r, "runtime directory %s", c->runtime_directory);
}

/* Watches the sockets, in file order, then starts what runs without a client. */
static void open_all(struct daemon *d)
{
        for (size_t i = 0; i < d->n_socks; i++) {
                (void)socket_open(d->socks[i], NULL); /* listening already: only a watch can fail, logged */
                (void)socket_attach(d->socks[i]);
        }
        for (size_t i = 0; i < d->n_workers; i++) {
                int r = dispatch_worker_start(d->workers[i]);
                if (r < 0)
                        log_errno(LOG_ERR, r, "worker %s", d->workers[i]->cfg->name);
        }
}

static void control_update(struct daemon *d);

/* ---- reload ------------------------------------------------------------ */

/* The objects of next: the kept ones from the running tables, new ones made.
 * New sockets listen here, before any old one closes (a renamed section on
 * the same path takes the old listener over later). 0, or a negative errno
 * (logged): then nothing was changed and what was made is freed. */
static int reload_make(struct daemon *d, struct config *next, const struct reload_plan *p,
                       struct worker **workers, struct socket **socks, struct us_listen_batch **batch)
{
        for (size_t i = 0; i < next->n_workers; i++) {
                workers[i] = p->worker_from[i] ? d->workers[p->worker_from[i] - 1]
                                               : worker_new(d, &next->workers[i], next);
                if (!workers[i] && errno != ENOMEM)
                        return -errno; /* its cgroup, logged */
                if (!workers[i])
                        return log_errno(LOG_ERR, -ENOMEM, "reload");
        }
        runtime_directory(next);
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct cfg_socket *cs = &next->sockets[i];
                if (p->socket_from[i]) {
                        socks[i] = d->socks[p->socket_from[i] - 1];
                        continue;
                }
                socks[i] = socket_new(cs, workers[cs->worker - next->workers], d->event, &d->counters);
                if (!socks[i])
                        return log_errno(LOG_ERR, -ENOMEM, "reload");
        }
        if (!(*batch = us_listen_batch_new()))
                return log_errno(LOG_ERR, -ENOMEM, "reload");
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct socket *old = p->socket_replaces[i] ? d->socks[p->socket_replaces[i] - 1] : NULL;
                if (p->socket_from[i] || (p->socket_takes[i] && d->socks[p->socket_takes[i] - 1]->l))
                        continue;
                if (old && old->l && socket_is_units(old))
                        return log_errno(LOG_ERR, -EADDRINUSE, "socket %s: %s is its socket unit's, a %s socket: "
                                         "change the unit's Listen...= first", next->sockets[i].name,
                                         next->sockets[i].path, config_socket_type_name(old->cfg->type));
                /* One that replaces the file of an old socket of another type
                 * does it at commit, where nothing fails: a reload refused
                 * after it would leave the old one without its file. */
                if (!old && socket_listen(socks[i], *batch, NULL) < 0)
                        return -errno;
        }
        return 0;
}

static void reload_undo(struct daemon *d, struct config *next, const struct reload_plan *p,
                        struct worker **workers, struct socket **socks)
{
        for (size_t i = 0; i < next->n_sockets; i++)
                if (!p->socket_from[i])
                        socket_free(socks[i]); /* the file it made goes with it */
        for (size_t i = 0; i < next->n_workers; i++)
                if (!p->worker_from[i])
                        dispatch_worker_free(workers[i]);
}

/* From here on nothing fails: next is the daemon's configuration. */
static void reload_commit(struct daemon *d, struct config *next, const struct reload_plan *p,
                          struct worker **workers, struct socket **socks)
{
        for (size_t i = 0; i < next->n_sockets; i++)
                if (p->socket_takes[i] && !socks[i]->l)
                        socket_take_over(socks[i], d->socks[p->socket_takes[i] - 1]);
        /* A socket whose type changed takes its old one's file in one
         * rename(2). Should it fail (out of fds, of memory), the old one
         * retires below with its file and open_all() listens anew. */
        for (size_t i = 0; i < next->n_sockets; i++)
                if (p->socket_replaces[i])
                        (void)socket_listen(socks[i], NULL, d->socks[p->socket_replaces[i] - 1]);
        /* retired (out of the fd store by name) before the new ones go in: a
         * new socket may have the name of one retired (its path or type changed) */
        for (size_t j = 0; j < d->n_socks; j++)
                if (!p->socket_kept[j])
                        socket_retire(d->socks[j]);
        for (size_t i = 0; i < next->n_sockets; i++)
                if (!p->socket_from[i])
                        socket_store(socks[i]);
        /* from the last: each leaves the end of its worker's list of sockets,
         * where a detach in file order would move all the others, every time */
        for (size_t i = next->n_sockets; i-- > 0;)
                if (p->socket_from[i])
                        socket_detach(socks[i]);
        for (size_t i = 0; i < next->n_sockets; i++)
                if (p->socket_from[i])
                        socket_update(socks[i], &next->sockets[i], workers[next->sockets[i].worker - next->workers]);
        for (size_t i = 0; i < next->n_workers; i++)
                if (p->worker_from[i])
                        dispatch_worker_reloaded(workers[i], &next->workers[i], next->stop_timeout_usec);
        if (push_ptr((void ***)&d->old_cfgs, &d->n_old_cfgs, d->cfg) < 0)
                log_msg(LOG_ERR, "reload: out of memory keeping the old configuration");
        for (size_t j = 0; j < d->n_workers; j++)
                if (!p->worker_kept[j] && push_ptr((void ***)&d->old_workers, &d->n_old_workers, d->workers[j]) < 0)
                        log_msg(LOG_ERR, "reload: out of memory; worker %s is forgotten", d->workers[j]->cfg->name);
        struct worker **retired = d->workers;
        size_t n_retired = d->n_workers;
        free(d->socks);
        d->cfg = next;
        d->workers = workers;
        d->n_workers = next->n_workers;
        d->socks = socks;
        d->n_socks = next->n_sockets;
        log_set_level(next->log_level);
        open_all(d);
        /* retired once their sockets went to their successors, which take their queue */
        for (size_t j = 0; j < n_retired; j++)
                if (!p->worker_kept[j])
                        dispatch_worker_retire(retired[j]);
        free(retired);
}

/* Applies next in place: unchanged sockets keep their fds and their queued
 * connections, unchanged workers keep their processes; a changed worker is
 * replaced by a new one (its old processes finish what they have and are not
 * restarted); removed sockets close. Takes ownership of next. */
static int daemon_reload(struct daemon *d, struct config *next, json_object *answer)
{
        struct worker **workers = calloc(next->n_workers + 1, sizeof(*workers));
        struct socket **socks = calloc(next->n_sockets + 1, sizeof(*socks));
        struct us_listen_batch *batch = NULL;
        struct reload_plan p;
        int r = reload_plan(d->cfg, next, &p);

        if (r < 0 || !workers || !socks) {
                r = -ENOMEM;
        } else if ((r = reload_make(d, next, &p, workers, socks, &batch)) < 0) {
                us_listen_batch_free(batch);
                reload_undo(d, next, &p, workers, socks);
        } else {
                us_listen_batch_free(batch);
                reload_commit(d, next, &p, workers, socks);
                log_msg(LOG_INFO, "reload: %u sockets new, %u closed, %u workers replaced", p.sockets_new,
                        p.sockets_closed, p.workers_replaced);
                if (answer) {
                        json_object_object_add(answer, "sockets_new", json_object_new_int((int)p.sockets_new));
                        json_object_object_add(answer, "sockets_closed", json_object_new_int((int)p.sockets_closed));
                        json_object_object_add(answer, "workers_replaced", json_object_new_int((int)p.workers_replaced));
                }
                d->reloads++;
                reload_plan_free(&p);
                control_update(d);
                gc(d);
                return 0;
        }
        reload_plan_free(&p);
        free(workers);
        free(socks);
        config_free(next);
        return r;
}

/* A config error, logged as at start, and for unixsockctl in errors[]. */
static void reload_error(void *userdata, const char *file, unsigned line, const char *msg)
{
        json_object *errors = userdata;
        char buf[4600];

        log_config_error(NULL, file, line, msg);
        if (!errors)
                return;
        if (line)
                snprintf(buf, sizeof(buf), "%s:%u: %s", file, line, msg);
        else
                snprintf(buf, sizeof(buf), "%s: %s", file, msg);
        json_object_array_add(errors, json_object_new_string(buf));
}

/* Reads the file again and applies it. answer (NULL for SIGHUP) gets what
 * changed, or errors[]. 0, or a negative errno with *error. */
static int reload_file(struct daemon *d, json_object *answer, const char **error)
{
        static char buf[4200];
        json_object *errors;
        struct config *next = NULL;
        struct log_ctx c = LOG_CTX_INIT;
        int r;

        if (d->stopping) {
                /* its sockets are closed and its workers finishing: nothing to apply to */
                log_msg(LOG_NOTICE, "reload: not while stopping");
                *error = "the daemon is stopping";
                return -ESHUTDOWN;
        }
        errors = answer ? json_object_new_array() : NULL;
        (void)notify_send("RELOADING=1", -1);
        /* Logged as at start, and as bounded: never raw on stderr. */
        r = config_load_max(d->cfg->file, CONFIG_ERRORS_LOGGED, reload_error, errors, &next);
        if (r >= 0 && cgroup_check(d->cgroups, next, reload_error, errors) > 0) {
                config_free(next);
                r = -EINVAL;
        }
        if (r < 0) {
                snprintf(buf, sizeof(buf), "%s has errors; the running configuration stays", d->cfg->file);
                log_msg(LOG_ERR, "reload: %s", buf);
        } else if ((r = daemon_reload(d, next, answer)) < 0) {
                snprintf(buf, sizeof(buf), "%s; the running configuration stays", strerror(-r));
                log_errno(LOG_ERR, r, "reload: the running configuration stays");
        } else {
                c.msgid = MSGID_RELOADED;
                log_ctx(LOG_INFO, &c, "reloaded %s", d->cfg->file);
        }
        if (errors && r < 0)
                json_object_object_add(answer, "errors", errors);
        else
                json_object_put(errors);
        *error = buf;
        status_send_with(d, "READY=1");
        return r;
}

static int on_sighup(sd_event_source *es, const struct signalfd_siginfo *ssi, void *userdata)
{
        const char *error;

        (void)reload_file(userdata, NULL, &error);
        return 0;
}

/* ---- the control socket's commands ------------------------------------------ */

static int op_status(void *userdata, char *const *names, size_t n, json_object *answer, const char **error)
{
        struct status_daemon s = status_of(userdata);

        return status_json(&s, names, n, answer, error);
}

static int op_reload(void *userdata, json_object *answer, const char **error)
{
        return reload_file(userdata, answer, error);
}

/* A pool or listener worker's processes replaced: a new worker object on the
 * same section starts its own, the old one finishes what it has, as a
 * reload that changed the worker would do. */
static int op_restart(void *userdata, const char *name, const char **error)
{
        static char buf[160];
        struct daemon *d = userdata;
        struct worker *old = NULL, *w;
        size_t i;

        *error = buf;
        if (d->stopping) {
                snprintf(buf, sizeof(buf), "the daemon is stopping");
                return -ESHUTDOWN;
        }
        for (i = 0; i < d->n_workers && !old; i++)
                if (strcmp(d->workers[i]->cfg->name, name) == 0)
                        old = d->workers[i];
        if (!old) {
                snprintf(buf, sizeof(buf), "no worker '%.64s'", name);
                return -ENOENT;
        }
        if (old->cfg->dispatch == DISPATCH_SPAWN) {
                snprintf(buf, sizeof(buf), "worker %.64s starts a process per connection: nothing runs to restart", name);
                return -EINVAL;
        }
        w = worker_new(d, old->cfg, d->cfg);
        if (!w || push_ptr((void ***)&d->old_workers, &d->n_old_workers, old) < 0) {
                dispatch_worker_free(w);
                snprintf(buf, sizeof(buf), "out of memory");
                return -ENOMEM;
        }
        d->workers[i - 1] = w;
        for (size_t j = 0; j < d->n_socks; j++)
                if (d->socks[j]->w == old)
                        socket_update(d->socks[j], d->socks[j]->cfg, w);
        open_all(d);
        dispatch_worker_retire(old);
        log_msg(LOG_INFO, "worker %s: restarted: new processes start, the old ones finish their connections", name);
        gc(d);
        return 0;
}

static int op_pause(void *userdata, const char *name, bool paused, const char **error)
{
        static char buf[128];
        struct daemon *d = userdata;

        if (d->stopping) {
                *error = "the daemon is stopping";
                return -ESHUTDOWN;
        }
        for (size_t i = 0; i < d->n_socks; i++)
                if (strcmp(d->socks[i]->cfg->name, name) == 0) {
                        socket_set_paused(d->socks[i], paused);
                        status_changed(d);
                        return 0;
                }
        snprintf(buf, sizeof(buf), "no socket '%.64s'", name);
        *error = buf;
        return -ENOENT;
}

static void op_stop(void *userdata)
{
        stop(userdata, "unixsockctl stop");
}

/* The control socket the configuration asks for: kept if it is the same. */
static void control_update(struct daemon *d)
{
        const struct config *c = d->cfg;
        struct control_ops ops = {
                .status = op_status, .reload = op_reload, .restart = op_restart, .pause = op_pause,
                .stop = op_stop, .userdata = d,
        };

        if (c->control && control_is(d->control, c->control, c->control_group_set, c->control_gid))
                return;
        d->control = control_free(d->control);
        if (c->control)
                (void)control_open(d->event, c->control, c->control_group_set, c->control_gid, &ops, &d->control);
}

/* ---- start and free ------------------------------------------------------ */

static int watch_signals(struct daemon *d)
{
        static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
        int r;

        for (size_t i = 0; i < 4; i++) {
                r = sd_event_add_signal(d->event, &d->sigs[i], sigs[i],
                                        sigs[i] == SIGCHLD ? on_sigchld :
                                        sigs[i] == SIGHUP ? on_sighup : on_stop_signal, d);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "signal %s", sigabbrev_np(sigs[i]));
                /* Exits first: a slot or a per-user count freed serves the next client. */
                if (sigs[i] == SIGCHLD)
                        sd_event_source_set_priority(d->sigs[i], SD_EVENT_PRIORITY_IMPORTANT);
        }
        return 0;
}

int daemon_start(struct daemon *d)
{
        struct log_ctx c = LOG_CTX_INIT;
        struct us_listen_batch *batch;
        int r = watch_signals(d);

        if (r < 0)
                return r;
        /* What a worker forks and leaves comes to us, not to init: reaped here,
         * and stop can wait for it (proctab_signal_all). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_errno(LOG_WARNING, -errno, "PR_SET_CHILD_SUBREAPER");
        r = sd_event_add_time(d->event, &d->status_timer, CLOCK_MONOTONIC, 0, 0, on_status_timer, d);
        if (r < 0)
                return log_errno(LOG_ERR, r, "timer");
        sd_event_source_set_enabled(d->status_timer, SD_EVENT_OFF);

        r = socket_adopt_inherited(d->socks, d->n_socks, d->cfg->file);
        if (r < 0)
                return r; /* a socket unit's fd of another type: logged, FILE:LINE */
        runtime_directory(d->cfg);
        batch = us_listen_batch_new();
        if (!batch)
                return log_errno(LOG_ERR, -ENOMEM, "start");
        for (size_t i = 0; i < d->n_socks && r >= 0; i++)
                r = socket_open(d->socks[i], batch);
        us_listen_batch_free(batch);
        if (r < 0)
                return r;
        open_all(d);
        control_update(d);
        d->started_usec = now_usec(d);
        c.msgid = MSGID_STARTED;
        log_ctx(LOG_INFO, &c, "started: %zu sockets, %zu workers, from %s", d->n_socks, d->n_workers,
                d->cfg->file);
        status_send_with(d, "READY=1");
        return 0;
}

struct daemon *daemon_free(struct daemon *d)
{
        if (!d)
                return NULL;
        d->control = control_free(d->control);
        proctab_free(&d->procs); /* first: its chains run through the workers' processes */
        for (size_t i = 0; i < d->n_socks; i++)
                socket_free(d->socks[i]);
        for (size_t i = 0; i < d->n_workers; i++)
                dispatch_worker_free(d->workers[i]);
        for (size_t i = 0; i < d->n_old_workers; i++)
                dispatch_worker_free(d->old_workers[i]);
        d->cgroups = cgroup_tree_free(d->cgroups); /* after the workers: they release theirs */
        for (size_t i = 0; i < 4; i++)
                sd_event_source_disable_unref(d->sigs[i]);
        sd_event_source_disable_unref(d->stop_timer);
        sd_event_source_disable_unref(d->status_timer);
        free(d->socks);
        free(d->workers);
        free(d->old_workers);
        for (size_t i = 0; i < d->n_old_cfgs; i++)
                config_free(d->old_cfgs[i]);
        free(d->old_cfgs);
        config_free(d->cfg);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}
