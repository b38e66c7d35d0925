/* The running daemon: listeners, dispatch to workers, child processes, stop. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "process/exec.h"
#include "notify.h"
#include "server-internal.h"


uint64_t now_usec(struct server *srv)
{
        uint64_t t = 0;

        sd_event_now(srv->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* ---- process table ---------------------------------------------------- */

static struct proc **proc_slot(struct server *srv, pid_t pid)
{
        struct proc **p = &srv->procs[(size_t)pid & (srv->procs_size - 1)];

        while (*p && (*p)->pid != pid)
                p = &(*p)->next;
        return p;
}

static int procs_grow(struct server *srv)
{
        size_t size = srv->procs_size ? srv->procs_size * 2 : 64;
        struct proc **t = calloc(size, sizeof(*t));

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < srv->procs_size; i++) {
                for (struct proc *p = srv->procs[i], *next; p; p = next) {
                        next = p->next;
                        p->next = t[(size_t)p->pid & (size - 1)];
                        t[(size_t)p->pid & (size - 1)] = p;
                }
        }
        free(srv->procs);
        srv->procs = t;
        srv->procs_size = size;
        return 0;
}

int proc_add(struct server *srv, struct proc *p)
{
        if (srv->n_procs >= srv->procs_size && procs_grow(srv) < 0)
                return -ENOMEM;
        struct proc **slot = proc_slot(srv, p->pid);
        p->next = NULL;
        *slot = p;
        srv->n_procs++;
        return 0;
}

static struct proc *proc_take(struct server *srv, pid_t pid)
{
        if (!srv->procs_size)
                return NULL;
        struct proc **slot = proc_slot(srv, pid), *p = *slot;
        if (p) {
                *slot = p->next;
                srv->n_procs--;
        }
        return p;
}

/* ---- process groups ----------------------------------------------------- */

/* Every worker leads its own process group (setsid in exec.c). When a leader
 * exits and its group does not (a worker that forked and left), the group is
 * remembered: its processes are reparented to the daemon (a child subreaper),
 * signalled with the workers at stop, and stop waits for them. */
static bool group_alive(pid_t pgid)
{
        return kill(-pgid, 0) == 0 || errno == EPERM;
}

static void group_remember(struct server *srv, pid_t pgid)
{
        if (!group_alive(pgid))
                return;
        if (srv->n_groups == srv->cap_groups) {
                size_t cap = srv->cap_groups ? srv->cap_groups * 2 : 16;
                pid_t *t = reallocarray(srv->groups, cap, sizeof(*t));
                if (!t) {
                        log_msg(LOG_WARNING, "process group %d outlives its worker: out of memory to track it",
                                (int)pgid);
                        return;
                }
                srv->groups = t;
                srv->cap_groups = cap;
        }
        srv->groups[srv->n_groups++] = pgid;
        log_msg(LOG_DEBUG, "process group %d lives on after its leader", (int)pgid);
}

/* Forgets the groups that are gone (their last process reaped). */
static void groups_prune(struct server *srv)
{
        for (size_t i = 0; i < srv->n_groups;)
                if (group_alive(srv->groups[i]))
                        i++;
                else
                        srv->groups[i] = srv->groups[--srv->n_groups];
}

/* ---- per-uid counts ---------------------------------------------------- */

static struct uidcount **uid_slot(struct worker_rt *w, uid_t uid)
{
        struct uidcount **u = &w->uids[uid % UID_BUCKETS];

        while (*u && (*u)->uid != uid)
                u = &(*u)->next;
        return u;
}

unsigned uid_count(struct worker_rt *w, uid_t uid)
{
        struct uidcount *u = *uid_slot(w, uid);

        return u ? u->n : 0;
}

int uid_inc(struct worker_rt *w, uid_t uid)
{
        struct uidcount **slot = uid_slot(w, uid);

        if (!*slot) {
                *slot = calloc(1, sizeof(**slot));
                if (!*slot)
                        return -ENOMEM;
                (*slot)->uid = uid;
        }
        (*slot)->n++;
        return 0;
}

void uid_dec(struct worker_rt *w, uid_t uid)
{
        struct uidcount **slot = uid_slot(w, uid), *u = *slot;

        if (u && --u->n == 0) {
                *slot = u->next;
                free(u);
        }
}

/* ---- status ------------------------------------------------------------ */

/* STATUS=, after state (READY=1 ...) if not NULL, in the same message. */
static void status_send_with(struct server *srv, const char *state)
{
        unsigned running = 0, queued = 0;
        unsigned long restarts = 0;

        for (size_t i = 0; i < srv->n_workers; i++)
                running += srv->workers[i]->running + pool_members_up(srv->workers[i]);
        for (size_t i = 0; i < srv->n_workers; i++) {
                queued += srv->workers[i]->n_queued;
                for (size_t j = 0; j < srv->workers[i]->n_members; j++)
                        restarts += srv->workers[i]->members[j].restarts;
        }
        char msg[512];

        snprintf(msg, sizeof(msg), "%s%sSTATUS=%s%zu sockets, %u worker processes, %lu accepted, %lu refused, "
                 "%u queued, %lu restarts",
                 state ? state : "", state ? "\n" : "",
                 srv->stopping ? "Stopping: " : "", srv->n_socks, running,
                 srv->accepted, srv->refused, queued, restarts);
        (void)notify_send(msg, -1);
        srv->status_last = now_usec(srv);
}

static void status_send(struct server *srv)
{
        status_send_with(srv, NULL);
}

static int on_status_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        status_send(userdata);
        return 0;
}

/* STATUS= follows every change, at most once a second. */
void status_changed(struct server *srv)
{
        uint64_t now = now_usec(srv);
        int on = SD_EVENT_OFF;

        if (!srv->status_timer)
                return;
        sd_event_source_get_enabled(srv->status_timer, &on);
        if (on != SD_EVENT_OFF)
                return;
        if (now - srv->status_last >= STATUS_INTERVAL_USEC) {
                status_send(srv);
                return;
        }
        sd_event_source_set_time(srv->status_timer, srv->status_last + STATUS_INTERVAL_USEC);
        sd_event_source_set_enabled(srv->status_timer, SD_EVENT_ONESHOT);
}

/* ---- listeners --------------------------------------------------------- */

void sock_update_io(struct sock_rt *s)
{
        if (s->io)
                sd_event_source_set_enabled(s->io, s->pause ? SD_EVENT_OFF : SD_EVENT_ON);
}

/* Sets or clears a pause reason on every socket of w. */
void worker_set_pause(struct worker_rt *w, unsigned reason, bool on)
{
        struct server *srv = w->srv;
        bool change = false;

        for (size_t i = 0; i < srv->n_socks; i++)
                if (srv->socks[i]->w == w && !!(srv->socks[i]->pause & reason) != on)
                        change = true;
        if (!change)
                return;
        if (reason == PAUSE_CAPACITY)
                log_ctx(LOG_DEBUG, &(struct log_ctx){ .msgid = MSGID_ACCEPT_PAUSED, .worker = w->cfg->name, .peer_pid = -1,
                        .peer_uid = (uid_t)-1, .peer_gid = (gid_t)-1, .worker_pid = -1 },
                        on ? "worker %s: at capacity (instances %u, %u queued): its sockets wait in the backlog"
                           : "worker %s: below capacity (instances %u, %u queued): accepting again",
                        w->cfg->name, w->cfg->instances, w->n_queued);
        for (size_t i = 0; i < srv->n_socks; i++) {
                struct sock_rt *s = srv->socks[i];
                if (s->w != w)
                        continue;
                if (on)
                        s->pause |= reason;
                else
                        s->pause &= ~reason;
                sock_update_io(s);
        }
}

void log_ctx_for(struct log_ctx *c, const struct sock_rt *s, const struct us_peer *peer)
{
        *c = (struct log_ctx)LOG_CTX_INIT;
        if (s) {
                c->socket = s->cfg->name;
                c->worker = s->w->cfg->name;
        }
        if (peer) {
                c->peer_pid = peer->pid;
                c->peer_uid = peer->uid;
                c->peer_gid = peer->gid;
        }
}

static bool sock_retry_pending(struct sock_rt *s);

static int on_resume_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct sock_rt *s = userdata;

        s->pause &= ~(PAUSE_RESOURCE | PAUSE_RATE);
        if (sock_retry_pending(s))
                sock_update_io(s);
        return 0;
}

/* Stops polling s for reason until usec (CLOCK_MONOTONIC). */
static void sock_pause_until(struct sock_rt *s, unsigned reason, uint64_t usec)
{
        struct server *srv = s->srv;

        s->pause |= reason;
        sock_update_io(s);
        if (!s->resume &&
            sd_event_add_time(srv->event, &s->resume, CLOCK_MONOTONIC, 0, 0, on_resume_timer, s) < 0) {
                s->pause &= ~reason; /* no timer: better poll again than stay paused */
                sock_update_io(s);
                return;
        }
        sd_event_source_set_time(s->resume, usec);
        sd_event_source_set_enabled(s->resume, SD_EVENT_ONESHOT);
}

/* Out of fds or memory: stop polling this listener for a while instead of
 * spinning on an error that a client cannot fix. Clients wait in the backlog. */
static void sock_pause_resource(struct sock_rt *s, int err, const char *what)
{
        uint64_t now = now_usec(s->srv);
        unsigned suppressed;
        char note[64];
        struct log_ctx c;

        sock_pause_until(s, PAUSE_RESOURCE, now + RESUME_AFTER_USEC);
        if (ratelimit_pass(&s->pause_rl, now, &suppressed)) {
                log_ctx_for(&c, s, NULL);
                c.msgid = MSGID_ACCEPT_PAUSED;
                log_ctx(LOG_WARNING, &c, "socket %s: %s: %s; accepting paused for %ums%s",
                        s->cfg->name, what, strerror(err), RESUME_AFTER_USEC / 1000,
                        suppressed_note(note, suppressed, "pauses"));
        }
}

/* rate-limit = N/INTERVAL: true if one more may be accepted in this interval;
 * else the socket pauses until the interval ends and clients wait in the
 * backlog (nothing fails, unlike systemd's TriggerLimit). */
static bool sock_rate_ok(struct sock_rt *s)
{
        const struct cfg_socket *cs = s->cfg;
        uint64_t now;

        if (!cs->rate_burst)
                return true;
        now = now_usec(s->srv);
        if (s->rate_begin == 0 || now - s->rate_begin >= cs->rate_interval_usec) {
                s->rate_begin = now;
                s->rate_n = 0;
        }
        if (s->rate_n < cs->rate_burst) {
                s->rate_n++;
                return true;
        }
        if (log_enabled(LOG_DEBUG)) {
                struct log_ctx c;
                log_ctx_for(&c, s, NULL);
                c.msgid = MSGID_ACCEPT_PAUSED;
                log_ctx(LOG_DEBUG, &c, "socket %s: rate-limit %u per %llums reached; paused for the rest of it",
                        cs->name, cs->rate_burst, (unsigned long long)(cs->rate_interval_usec / 1000));
        }
        sock_pause_until(s, PAUSE_RATE, s->rate_begin + cs->rate_interval_usec);
        return false;
}

static bool peer_allowed(const struct cfg_socket *cs, const struct us_peer *peer)
{
        if (!cs->n_allow_uids && !cs->n_allow_gids)
                return true;
        for (size_t i = 0; i < cs->n_allow_uids; i++)
                if (cs->allow_uids[i] == peer->uid)
                        return true;
        for (size_t i = 0; i < cs->n_allow_gids; i++)
                if (cs->allow_gids[i] == peer->gid)
                        return true;
        return false;
}

void refuse(struct sock_rt *s, int fd, const struct us_peer *peer, const char *why)
{
        struct server *srv = s->srv;
        unsigned suppressed;
        char note[64];
        struct log_ctx c;

        close(fd);
        s->refused++;
        srv->refused++;
        status_changed(srv);
        log_ctx_for(&c, s, peer);
        c.msgid = MSGID_CONN_REFUSED;
        if (ratelimit_pass(&s->refuse_rl, now_usec(srv), &suppressed))
                log_ctx(LOG_WARNING, &c, "socket %s: refused uid %u pid %d: %s%s", s->cfg->name,
                        (unsigned)peer->uid, (int)peer->pid, why,
                        suppressed_note(note, suppressed, "refusals"));
        else
                log_ctx(LOG_DEBUG, &c, "socket %s: refused uid %u pid %d: %s", s->cfg->name,
                        (unsigned)peer->uid, (int)peer->pid, why);
}

/* The stream that the worker's stderr goes to: the journal under the worker's
 * name when the daemon logs there, else the daemon's own stderr. */
int worker_stderr(struct worker_rt *w)
{
        struct stat st;
        int fd;

        if (w->stderr_fd >= 0)
                return w->stderr_fd;
        w->stderr_fd = STDERR_FILENO;
        if (!log_to_journal())
                return w->stderr_fd;
        fd = sd_journal_stream_fd(w->cfg->name, LOG_INFO, 1);
        if (fd < 0) {
                log_errno(LOG_WARNING, fd, "worker %s: journal stream", w->cfg->name);
                return w->stderr_fd;
        }
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fstat(fd, &st) < 0) {
                close(fd);
                return w->stderr_fd;
        }
        w->stderr_fd = fd;
        snprintf(w->journal_stream, sizeof(w->journal_stream), "JOURNAL_STREAM=%llu:%llu",
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        return fd;
}

/* How every process of cw starts: its command, ids, directory; env and fds
 * are the caller's. */
struct exec_params worker_exec_params(const struct cfg_worker *cw, char **env, const int *fds,
                                      int n_fds, char *pid_slot)
{
        return (struct exec_params){
                .path = cw->exec_path,
                .argv = cw->argv,
                .envp = env,
                .fds = fds,
                .n_fds = n_fds,
                .working_directory = cw->working_directory,
                .set_ids = cw->set_user || cw->set_group,
                .uid = cw->set_user ? cw->uid : geteuid(),
                .gid = cw->gid,
                /* group= alone: that group and no supplementary ones */
                .groups = cw->set_user ? cw->groups : NULL,
                .n_groups = cw->set_user ? cw->n_groups : 0,
                .pid_slot = pid_slot,
        };
}

/* One process for one connection (dispatch = spawn). */
static int spawn_connection(struct sock_rt *s, int fd, const struct us_peer *peer)
{
        struct worker_rt *w = s->w;
        const struct cfg_worker *cw = w->cfg;
        /* Built here, read by the child before execve: see exec.c. */
        static char **env;
        static size_t env_size;
        char e_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 32], e_pid[48], e_uid[48],
             e_gid[48], e_sock[300], e_lpid[48] = "LISTEN_PID=";
        int fds[4], n_fds;
        size_t n = 0;
        const char *step = NULL;
        struct proc *p;
        pid_t pid;
        int r;

        if (env_size < w->n_base_env + 12) {
                char **t = realloc(env, (w->n_base_env + 12) * sizeof(*t));
                if (!t)
                        return -ENOMEM;
                env = t;
                env_size = w->n_base_env + 12;
        }
        fds[0] = fds[1] = fd;
        fds[2] = worker_stderr(w);
        n_fds = 3;
        for (size_t i = 0; i < w->n_base_env; i++)
                env[n++] = w->base_env[i];
        snprintf(e_path, sizeof(e_path), "UNIXLOCALPATH=%s", s->cfg->path);
        snprintf(e_pid, sizeof(e_pid), "UNIXREMOTEPID=%d", (int)peer->pid);
        snprintf(e_uid, sizeof(e_uid), "UNIXREMOTEEUID=%u", (unsigned)peer->uid);
        snprintf(e_gid, sizeof(e_gid), "UNIXREMOTEEGID=%u", (unsigned)peer->gid);
        snprintf(e_sock, sizeof(e_sock), "UNIXSOCKD_SOCKET=%s", s->cfg->name);
        env[n++] = (char *)"PROTO=UNIX";
        env[n++] = e_path;
        env[n++] = e_pid;
        env[n++] = e_uid;
        env[n++] = e_gid;
        env[n++] = e_sock;
        if (w->journal_stream[0])
                env[n++] = w->journal_stream;
        if (cw->listen_fds) {
                fds[n_fds++] = fd;
                env[n++] = (char *)"LISTEN_FDS=1";
                env[n++] = e_lpid;
                env[n++] = (char *)"LISTEN_FDNAMES=connection";
        }
        env[n] = NULL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        struct exec_params ep = worker_exec_params(cw, env, fds, n_fds,
                                                   cw->listen_fds ? e_lpid + strlen("LISTEN_PID=") : NULL);
        r = exec_spawn(&ep, &pid, &step);
        if (r < 0) {
                free(p);
                if (strcmp(step, "clone") == 0)
                        return r;
                struct log_ctx c;
                unsigned suppressed;
                char note[64];
                log_ctx_for(&c, s, peer);
                w->failed++;
                /* Any client can make this happen: one line per connection would
                 * let it flood the journal. */
                if (ratelimit_pass(&w->exec_rl, now_usec(s->srv), &suppressed))
                        log_ctx(LOG_ERR, &c, "worker %s: %s %s: %s%s", cw->name, step,
                                strcmp(step, "chdir") == 0 ? cw->working_directory : cw->exec_path,
                                strerror(-r), suppressed_note(note, suppressed, "failures"));
                return 0; /* the connection closes; the next client may fare better */
        }
        p->pid = pid;
        p->w = w;
        p->s = s;
        p->peer = *peer;
        if (proc_add(s->srv, p) < 0) {
                /* Cannot track it: it still runs and is reaped, just not counted. */
                free(p);
                return 0;
        }
        sock_ref(s);
        if (cw->max_per_user)
                (void)uid_inc(w, peer->uid);
        w->spawned++;
        if (++w->running >= cw->instances)
                worker_set_pause(w, PAUSE_CAPACITY, true);
        if (log_enabled(LOG_DEBUG)) {
                struct log_ctx c;
                log_ctx_for(&c, s, peer);
                c.worker_pid = pid;
                c.msgid = MSGID_WORKER_STARTED;
                log_ctx(LOG_DEBUG, &c, "worker %s: started pid %d for uid %u", cw->name, (int)pid,
                        (unsigned)peer->uid);
        }
        return 0;
}

static void reap(struct server *srv);

static void handle_connection(struct sock_rt *s, int fd, const struct us_peer *peer)
{
        const struct cfg_worker *cw = s->w->cfg;
        int r;

        s->accepted++;
        s->srv->accepted++;
        status_changed(s->srv);
        if (!peer_allowed(s->cfg, peer)) {
                refuse(s, fd, peer, "not in allow-users/allow-groups");
                return;
        }
        if (cw->max_per_user && uid_count(s->w, peer->uid) >= cw->max_per_user) {
                /* A client that saw its last connection end may be back before the
                 * SIGCHLD of its worker is read: count what has exited already. */
                reap(s->srv);
                if (uid_count(s->w, peer->uid) >= cw->max_per_user) {
                        refuse(s, fd, peer, "max-per-user reached");
                        return;
                }
        }
        if (cw->dispatch == DISPATCH_POOL) {
                pool_dispatch(s, fd, peer);
                return;
        }
        r = spawn_connection(s, fd, peer);
        if (r < 0) {
                /* No process now (EAGAIN, ENOMEM): the client keeps its connection
                 * and gets its worker when the socket resumes. */
                s->pending_fd = fd;
                s->pending_peer = *peer;
                sock_pause_resource(s, -r, "cannot start a worker");
                return;
        }
        close(fd);
}

/* Retries the connection that found no process; false if it still does not. */
static bool sock_retry_pending(struct sock_rt *s)
{
        int r;

        if (s->pending_fd < 0)
                return true;
        r = spawn_connection(s, s->pending_fd, &s->pending_peer);
        if (r < 0) {
                sock_pause_resource(s, -r, "cannot start a worker");
                return false;
        }
        close(s->pending_fd);
        s->pending_fd = -1;
        return true;
}

static int on_listener(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct sock_rt *s = userdata;
        struct us_peer peer;

        if (s->w->cfg->dispatch == DISPATCH_LISTENER) {
                listener_activate(s);
                return 0;
        }
        if (!sock_retry_pending(s))
                return 0;
        for (int i = 0; i < ACCEPT_BUDGET && !s->pause; i++) {
                /* a slot of the rate is used only by a client that is there */
                if (s->cfg->rate_burst && (!us_accept_ready(s->l) || !sock_rate_ok(s)))
                        break;
                int c = us_accept_flags(s->l, &peer, US_ACCEPT_NOWAIT);
                if (c < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                sock_pause_resource(s, errno, "accept");
                                break;
                        }
                        log_errno(LOG_ERR, -errno, "socket %s: accept", s->cfg->name);
                        sock_pause_resource(s, errno, "accept");
                        break;
                }
                handle_connection(s, c, &peer);
        }
        return 0;
}

/* An fd or a process slot came back (a child exited, a pool worker took a
 * connection): a listener paused on EMFILE and friends tries again now rather
 * than at the end of its pause. */
void server_resources_freed(struct server *srv)
{
        for (size_t i = 0; i < srv->n_socks; i++) {
                struct sock_rt *s = srv->socks[i];
                if (!(s->pause & PAUSE_RESOURCE))
                        continue;
                s->pause &= ~PAUSE_RESOURCE; /* a rate-limit pause keeps its timer */
                /* debug: tells a resume by a freed resource from one by the timer */
                log_msg(LOG_DEBUG, "socket %s: a resource came back: accepting again before the pause ends",
                        s->cfg->name);
                if (sock_retry_pending(s))
                        sock_update_io(s);
        }
}

/* ---- children ---------------------------------------------------------- */

static void proc_exited(struct server *srv, const siginfo_t *si)
{
        struct proc *p = proc_take(srv, si->si_pid);
        struct worker_rt *w;
        struct log_ctx c;
        unsigned suppressed;
        char note[64];
        bool failed;

        if (!p)
                return; /* not a worker: one of its descendants, reparented to us */
        group_remember(srv, p->pid);
        if (p->member) {
                member_exited(p->member, si);
                free(p);
                status_changed(srv);
                return;
        }
        w = p->w;
        failed = si->si_code != CLD_EXITED || si->si_status != 0;
        log_ctx_for(&c, p->s, &p->peer);
        c.worker = w->cfg->name; /* the socket may have another worker since a reload */
        c.msgid = MSGID_WORKER_EXITED;
        c.worker_pid = p->pid;
        c.exit_code = si->si_code;
        c.exit_status = si->si_status;
        if (failed && ratelimit_pass(&w->exit_rl, now_usec(srv), &suppressed))
                log_ctx(LOG_WARNING, &c, "worker %s: pid %d %s %d%s", w->cfg->name, (int)p->pid,
                        si->si_code == CLD_EXITED ? "exited with status" : "killed by signal",
                        si->si_status, suppressed_note(note, suppressed, "failures"));
        else
                log_ctx(LOG_DEBUG, &c, "worker %s: pid %d %s %d", w->cfg->name, (int)p->pid,
                        si->si_code == CLD_EXITED ? "exited with status" : "killed by signal",
                        si->si_status);
        if (w->cfg->max_per_user)
                uid_dec(w, p->peer.uid);
        if (w->running-- >= w->cfg->instances)
                worker_set_pause(w, PAUSE_CAPACITY, false);
        sock_unref(p->s);
        free(p);
        /* A process gone is an fd or a process slot back. */
        server_resources_freed(srv);
        status_changed(srv);
}

static void reap(struct server *srv)
{
        for (;;) {
                siginfo_t si = { 0 };
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                        break;
                proc_exited(srv, &si);
        }
}

static int on_sigchld(sd_event_source *es, const struct signalfd_siginfo *ssi, void *userdata)
{
        struct server *srv = userdata;

        reap(srv);
        if (srv->n_groups)
                groups_prune(srv);
        server_gc(srv);
        stop_check_done(srv);
        return 0;
}

/* ---- stopping ---------------------------------------------------------- */

static void sock_close(struct sock_rt *s)
{
        if (s->pending_fd >= 0) {
                /* accepted: one more try to serve it before the socket goes */
                if (spawn_connection(s, s->pending_fd, &s->pending_peer) < 0)
                        log_msg(LOG_WARNING, "socket %s: a connection accepted while no process could be made is closed",
                                s->cfg->name);
                close(s->pending_fd);
                s->pending_fd = -1;
        }
        s->io = sd_event_source_disable_unref(s->io);
        s->resume = sd_event_source_disable_unref(s->resume);
        us_close(s->l);
        s->l = NULL;
}

void stop_check_done(struct server *srv)
{
        if (!srv->stopping)
                return;
        groups_prune(srv);
        if (srv->n_procs == 0 && srv->n_groups == 0)
                sd_event_exit(srv->event, 0);
}

/* Every worker's process group (setsid() made it one), and the groups that
 * outlived their leader. */
static void signal_all(struct server *srv, int sig)
{
        for (size_t i = 0; i < srv->procs_size; i++)
                for (struct proc *p = srv->procs[i]; p; p = p->next)
                        (void)kill(-p->pid, sig);
        for (size_t i = 0; i < srv->n_groups; i++)
                (void)kill(-srv->groups[i], sig);
}

static int on_stop_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct server *srv = userdata;

        srv->stop_stage++;
        groups_prune(srv);
        log_msg(LOG_WARNING, "%zu worker processes and %zu process groups of exited workers still running after stop-timeout: sending %s",
                srv->n_procs, srv->n_groups, srv->stop_stage == 1 ? "SIGTERM" : "SIGKILL");
        signal_all(srv, srv->stop_stage == 1 ? SIGTERM : SIGKILL);
        if (srv->stop_stage == 1) {
                sd_event_source_set_time(es, usec + srv->cfg->stop_timeout_usec);
                sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        }
        return 0;
}

static int on_stop_signal(sd_event_source *es, const struct signalfd_siginfo *ssi, void *userdata)
{
        struct server *srv = userdata;
        struct log_ctx c = LOG_CTX_INIT;

        if (srv->stopping)
                return 0;
        srv->stopping = true;
        c.msgid = MSGID_STOPPING;
        log_ctx(LOG_INFO, &c, "stopping on %s: no new connections; %zu worker processes serve on",
                sigabbrev_np((int)ssi->ssi_signo), srv->n_procs);
        for (size_t i = 0; i < srv->n_socks; i++)
                sock_close(srv->socks[i]);
        for (size_t i = 0; i < srv->n_workers; i++)
                pool_stop(srv->workers[i]);
        status_send_with(srv, "STOPPING=1");
        groups_prune(srv);
        if (srv->n_procs || srv->n_groups) {
                sd_event_add_time_relative(srv->event, &srv->stop_timer, CLOCK_MONOTONIC,
                                           srv->cfg->stop_timeout_usec, 0, on_stop_timer, srv);
        }
        stop_check_done(srv);
        return 0;
}

static int on_sighup(sd_event_source *es, const struct signalfd_siginfo *ssi, void *userdata)
{
        struct server *srv = userdata;
        struct config *next = NULL;
        struct log_ctx c = LOG_CTX_INIT;
        int r;

        (void)notify_send("RELOADING=1", -1);
        /* Logged as at start, and as bounded: never raw on stderr. */
        r = config_load_max(srv->cfg->file, CONFIG_ERRORS_LOGGED, log_config_error, NULL, &next);
        if (r < 0) {
                log_msg(LOG_ERR, "reload: %s has errors; the running configuration stays",
                        srv->cfg->file);
        } else if ((r = server_reload(srv, next)) < 0) {
                log_errno(LOG_ERR, r, "reload: the running configuration stays");
        } else {
                c.msgid = MSGID_RELOADED;
                log_ctx(LOG_INFO, &c, "reloaded %s", srv->cfg->file);
        }
        status_send_with(srv, "READY=1");
        return 0;
}

/* ---- setup ------------------------------------------------------------- */

static bool env_key_is(const char *entry, const char *key)
{
        size_t n = strlen(key);

        return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

static bool env_has_key(char *const *env, const char *entry)
{
        size_t n = strcspn(entry, "=");

        for (; env && *env; env++)
                if (strncmp(*env, entry, n) == 0 && (*env)[n] == '=')
                        return true;
        return false;
}

/* Set for each connection or by the service manager for the daemon alone. */
static const char *const reserved_env[] = {
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_PID",
        "WATCHDOG_USEC", "JOURNAL_STREAM", "PROTO", "UNIXLOCALPATH", "UNIXREMOTEPID",
        "UNIXREMOTEEUID", "UNIXREMOTEEGID", "UNIXSOCKD_SOCKET", "UNIXSOCKD_CHANNEL", NULL,
};

static bool env_reserved(const char *entry)
{
        for (const char *const *k = reserved_env; *k; k++)
                if (env_key_is(entry, *k))
                        return true;
        return false;
}

static int env_push(struct worker_rt *w, size_t *cap, char *s)
{
        if (!s)
                return -ENOMEM;
        if (w->n_base_env + 1 >= *cap) {
                size_t ncap = *cap ? *cap * 2 : 32;
                char **t = realloc(w->base_env, ncap * sizeof(*t));
                if (!t) {
                        free(s);
                        return -ENOMEM;
                }
                w->base_env = t;
                *cap = ncap;
        }
        w->base_env[w->n_base_env++] = s;
        w->base_env[w->n_base_env] = NULL;
        return 0;
}

/* The daemon's environment less what is the daemon's own, then environment=,
 * then USER, LOGNAME, HOME and SHELL of user=, as systemd gives a service. */
static int worker_build_env(struct worker_rt *w)
{
        extern char **environ;
        const struct cfg_worker *cw = w->cfg;
        struct passwd *pw = NULL;
        size_t cap = 0;
        char *s;

        if (cw->set_user)
                pw = getpwuid(cw->uid);
        for (char **e = environ; e && *e; e++) {
                if (env_reserved(*e) || env_has_key(cw->env, *e))
                        continue;
                if (pw && (env_key_is(*e, "USER") || env_key_is(*e, "LOGNAME") ||
                           env_key_is(*e, "HOME") || env_key_is(*e, "SHELL")))
                        continue;
                if (env_push(w, &cap, strdup(*e)) < 0)
                        return -ENOMEM;
        }
        for (char *const *e = cw->env; *e; e++)
                if (!env_reserved(*e) && env_push(w, &cap, strdup(*e)) < 0)
                        return -ENOMEM;
        if (pw) {
                const char *k[] = { "USER", "LOGNAME", "HOME", "SHELL" };
                const char *v[] = { pw->pw_name, pw->pw_name, pw->pw_dir, pw->pw_shell };
                for (size_t i = 0; i < 4; i++) {
                        if (env_has_key(cw->env, k[i]) || !v[i] || !*v[i])
                                continue;
                        if (asprintf(&s, "%s=%s", k[i], v[i]) < 0 || env_push(w, &cap, s) < 0)
                                return -ENOMEM;
                }
        }
        if (!w->base_env)
                return env_push(w, &cap, strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        return 0;
}

static void worker_free(struct worker_rt *w);

static struct worker_rt *worker_new(struct server *srv, const struct cfg_worker *cw)
{
        struct worker_rt *w = calloc(1, sizeof(*w));

        if (!w)
                return NULL;
        w->cfg = cw;
        w->srv = srv;
        w->stderr_fd = -1;
        w->exit_rl = (struct ratelimit)RATELIMIT_INIT(10 * 1000000ULL, 10);
        w->exec_rl = (struct ratelimit)RATELIMIT_INIT(10 * 1000000ULL, 5);
        if (worker_build_env(w) < 0) {
                worker_free(w);
                return NULL;
        }
        return w;
}

static struct sock_rt *sock_new(struct server *srv, const struct cfg_socket *cs, struct worker_rt *w)
{
        struct sock_rt *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->cfg = cs;
        s->srv = srv;
        s->w = w;
        s->refuse_rl = (struct ratelimit)RATELIMIT_INIT(10 * 1000000ULL, 5);
        s->pause_rl = (struct ratelimit)RATELIMIT_INIT(10 * 1000000ULL, 1);
        s->pending_fd = -1;
        return s;
}

/* The worker_rt of the new configuration's worker cw, in workers[] built for it. */
static struct worker_rt *worker_of(struct worker_rt **workers, size_t n, const struct cfg_worker *cw)
{
        for (size_t i = 0; i < n; i++)
                if (workers[i]->cfg == cw)
                        return workers[i];
        return NULL;
}

int server_new(sd_event *e, struct config *cfg, struct server **ret)
{
        struct server *srv = calloc(1, sizeof(*srv));

        if (!srv) {
                config_free(cfg);
                return -ENOMEM;
        }
        srv->event = sd_event_ref(e);
        srv->cfg = cfg;
        srv->workers = calloc(cfg->n_workers, sizeof(*srv->workers));
        srv->socks = calloc(cfg->n_sockets, sizeof(*srv->socks));
        if (!srv->workers || !srv->socks)
                goto oom;
        for (size_t i = 0; i < cfg->n_workers; i++, srv->n_workers++)
                if (!(srv->workers[i] = worker_new(srv, &cfg->workers[i])))
                        goto oom;
        for (size_t i = 0; i < cfg->n_sockets; i++, srv->n_socks++) {
                srv->socks[i] = sock_new(srv, &cfg->sockets[i],
                                         worker_of(srv->workers, srv->n_workers, cfg->sockets[i].worker));
                if (!srv->socks[i])
                        goto oom;
        }
        *ret = srv;
        return 0;
oom:
        server_free(srv);
        return -ENOMEM;
}

/* Listening fds from systemd: matched by FileDescriptorName, else by path. */
static void adopt_inherited(struct server *srv)
{
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names);

        if (n < 0)
                log_errno(LOG_WARNING, n, "sd_listen_fds_with_names");
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "";
                struct sock_rt *match = NULL;
                struct us_listener *l = us_listener_adopt(fd);

                if (!l) {
                        log_errno(LOG_WARNING, -errno, "inherited fd %d (%s) is not a listening unix stream socket; closed", fd, name);
                        close(fd);
                        continue;
                }
                for (size_t j = 0; j < srv->n_socks && !match; j++)
                        if (strcmp(srv->socks[j]->cfg->name, name) == 0)
                                match = srv->socks[j];
                for (size_t j = 0; j < srv->n_socks && !match; j++)
                        if (strcmp(srv->socks[j]->cfg->path, us_listener_path(l)) == 0)
                                match = srv->socks[j];
                if (!match || match->l) {
                        log_msg(LOG_WARNING, "inherited fd %d (name '%s', path %s) %s; closed", fd,
                                name, us_listener_path(l),
                                match ? "duplicates one already matched" : "matches no [socket:]");
                        us_close(l);
                        continue;
                }
                match->l = l;
                match->inherited = true;
                match->published_here = us_listener_published_at(l, match->cfg->path);
                log_msg(LOG_DEBUG, "socket %s: inherited fd %d (%s)", match->cfg->name, fd, us_listener_path(l));
        }
        if (names)
                for (int i = 0; i < n; i++)
                        free(names[i]);
        free(names);
}

/* A listener it made goes to the service manager's fd store, named after its
 * section: the next start gets it back with its queue (adopt_inherited), so a
 * restart refuses no client. Its file then stays when this instance stops. */
static void fdstore_push(struct sock_rt *s)
{
        char msg[300];
        int fd = us_listener_fd(s->l), r;

        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", s->cfg->name);
        r = notify_send(msg, fd);
        if (r > 0)
                us_listener_set_unlink(s->l, false);
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

/* The daemon polls a listener non-blocking and accepts with NOWAIT; a
 * listener worker gets it blocking, as systemd hands sockets over. */
static void sock_set_blocking_mode(struct sock_rt *s)
{
        int fd = us_listener_fd(s->l), fl = fcntl(fd, F_GETFL);
        bool nonblock = s->w->cfg->dispatch != DISPATCH_LISTENER;

        if (fl >= 0 && !!(fl & O_NONBLOCK) != nonblock)
                (void)fcntl(fd, F_SETFL, nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Creates the listener of s, not yet watched nor in the fd store. */
static int sock_listen(struct sock_rt *s)
{
        const struct cfg_socket *cs = s->cfg;
        struct us_listen_options o = {
                .backlog = cs->backlog, .mode = cs->mode, .uid = cs->uid, .gid = cs->gid,
        };

        s->l = us_listen_with(cs->path, &o);
        if (!s->l)
                return log_errno(LOG_ERR, -errno, "socket %s: %s", cs->name, cs->path);
        return 0;
}

/* Creates the listener of s unless it has one (inherited, made or kept by a
 * reload), and watches it. */
static int sock_open(struct sock_rt *s)
{
        int r;

        if (!s->l) {
                r = sock_listen(s);
                if (r < 0)
                        return r;
                fdstore_push(s);
        }
        sock_set_blocking_mode(s);
        if (!s->io) {
                r = sd_event_add_io(s->srv->event, &s->io, us_listener_fd(s->l), EPOLLIN, on_listener, s);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "socket %s: watch", s->cfg->name);
        }
        sock_update_io(s);
        return 0;
}

int server_start(struct server *srv)
{
        const struct config *cfg = srv->cfg;
        static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
        struct log_ctx c = LOG_CTX_INIT;
        int r;

        for (size_t i = 0; i < 4; i++) {
                r = sd_event_add_signal(srv->event, &srv->sigs[i], sigs[i],
                                        sigs[i] == SIGCHLD ? on_sigchld :
                                        sigs[i] == SIGHUP ? on_sighup : on_stop_signal, srv);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "signal %s", sigabbrev_np(sigs[i]));
                /* Exits first: a slot or a per-user count freed serves the next client. */
                if (sigs[i] == SIGCHLD)
                        sd_event_source_set_priority(srv->sigs[i], SD_EVENT_PRIORITY_IMPORTANT);
        }
        /* What a worker forks and leaves comes to us, not to init: reaped here,
         * and stop can wait for it (signal_all). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_errno(LOG_WARNING, -errno, "PR_SET_CHILD_SUBREAPER");
        r = sd_event_add_time(srv->event, &srv->status_timer, CLOCK_MONOTONIC, 0, 0, on_status_timer, srv);
        if (r < 0)
                return log_errno(LOG_ERR, r, "timer");
        sd_event_source_set_enabled(srv->status_timer, SD_EVENT_OFF);

        adopt_inherited(srv);
        r = mkdir_p(cfg->runtime_directory, 0755);
        if (r < 0)
                log_errno(LOG_WARNING, r, "runtime directory %s", cfg->runtime_directory);
        for (size_t i = 0; i < srv->n_socks; i++) {
                r = sock_open(srv->socks[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < srv->n_workers; i++) {
                r = pool_start(srv->workers[i]);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "worker %s", srv->workers[i]->cfg->name);
        }
        c.msgid = MSGID_STARTED;
        log_ctx(LOG_INFO, &c, "started: %zu sockets, %zu workers, from %s", srv->n_socks,
                srv->n_workers, cfg->file);
        status_send_with(srv, "READY=1");
        return 0;
}

static void worker_free(struct worker_rt *w)
{
        if (!w)
                return;
        pool_free(w);
        if (w->stderr_fd > STDERR_FILENO)
                close(w->stderr_fd);
        for (size_t j = 0; j < w->n_base_env; j++)
                free(w->base_env[j]);
        free(w->base_env);
        for (size_t j = 0; j < UID_BUCKETS; j++)
                for (struct uidcount *u = w->uids[j], *next; u; u = next) {
                        next = u->next;
                        free(u);
                }
        free(w);
}

static void sock_free(struct sock_rt *s)
{
        if (!s)
                return;
        sock_close(s);
        free(s);
}

struct server *server_free(struct server *srv)
{
        if (!srv)
                return NULL;
        srv->freeing = true; /* everything goes: no reference counting now */
        for (size_t i = 0; i < srv->n_workers; i++)
                worker_free(srv->workers[i]);
        for (size_t i = 0; i < srv->n_old_workers; i++)
                worker_free(srv->old_workers[i]);
        for (size_t i = 0; i < srv->n_socks; i++)
                sock_free(srv->socks[i]);
        for (size_t i = 0; i < srv->n_old_socks; i++)
                sock_free(srv->old_socks[i]);
        for (size_t i = 0; i < srv->procs_size; i++)
                for (struct proc *p = srv->procs[i], *next; p; p = next) {
                        next = p->next;
                        free(p);
                }
        free(srv->procs);
        free(srv->groups);
        for (size_t i = 0; i < 4; i++)
                sd_event_source_disable_unref(srv->sigs[i]);
        sd_event_source_disable_unref(srv->stop_timer);
        sd_event_source_disable_unref(srv->status_timer);
        free(srv->socks);
        free(srv->workers);
        free(srv->old_socks);
        free(srv->old_workers);
        for (size_t i = 0; i < srv->n_old_cfgs; i++)
                config_free(srv->old_cfgs[i]);
        free(srv->old_cfgs);
        config_free(srv->cfg);
        sd_event_unref(srv->event);
        free(srv);
        return NULL;
}

/* ---- reload ------------------------------------------------------------ */

static bool str_equal(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool strv_equal(char *const *a, char *const *b)
{
        for (; a && b && *a && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return (!a || !*a) && (!b || !*b);
}

/* The names of the sockets naming the worker called name, in file order. */
static bool same_sockets(const struct server *srv, const struct worker_rt *w,
                         const struct config *next, const struct cfg_worker *cw)
{
        size_t j = 0;

        for (size_t i = 0; i < srv->n_socks; i++) {
                if (srv->socks[i]->w != w)
                        continue;
                while (j < next->n_sockets && next->sockets[j].worker != cw)
                        j++;
                if (j == next->n_sockets || strcmp(next->sockets[j].name, srv->socks[i]->cfg->name) != 0)
                        return false;
                j++;
        }
        while (j < next->n_sockets && next->sockets[j].worker != cw)
                j++;
        return j == next->n_sockets;
}

/* Everything a process of the worker is started with, or how it is supervised. */
static bool worker_unchanged(const struct cfg_worker *a, const struct cfg_worker *b)
{
        return strcmp(a->name, b->name) == 0 && strcmp(a->exec_path, b->exec_path) == 0 &&
               strv_equal(a->argv, b->argv) && a->dispatch == b->dispatch &&
               a->instances == b->instances && a->max_per_user == b->max_per_user &&
               a->set_user == b->set_user && a->set_group == b->set_group && a->uid == b->uid &&
               a->gid == b->gid && a->n_groups == b->n_groups &&
               (a->n_groups == 0 || memcmp(a->groups, b->groups, a->n_groups * sizeof(gid_t)) == 0) &&
               strv_equal(a->env, b->env) && str_equal(a->working_directory, b->working_directory) &&
               a->restart == b->restart && a->restart_delay_usec == b->restart_delay_usec &&
               a->restart_delay_max_usec == b->restart_delay_max_usec && a->listen_fds == b->listen_fds;
}

static int push_ptr(void ***v, size_t *n, void *p)
{
        void **t = realloc(*v, (*n + 1) * sizeof(*t));

        if (!t)
                return -ENOMEM;
        t[(*n)++] = p;
        *v = t;
        return 0;
}

/* Is path a socket file on which nobody accepts (connect says ECONNREFUSED)? */
static bool socket_file_is_stale(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return false;
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        r = r < 0 && errno == ECONNREFUSED;
        close(fd);
        return r;
}

/* A socket gone from the configuration: closed (its file unlinked if this
 * daemon made it) and taken out of the fd store. Kept as an object, as
 * processes of its worker may still name it in their logs. */
static void sock_retire(struct server *srv, struct sock_rt *s)
{
        char msg[300];

        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", s->cfg->name);
        (void)notify_send(msg, -1);
        if (s->l)
                us_listener_set_unlink(s->l, true); /* out of the store: a file it made goes */
        sock_close(s);
        /* one an earlier unixsockd made goes too, once nobody listens on it */
        if (s->published_here && socket_file_is_stale(s->cfg->path))
                (void)unlink(s->cfg->path);
        s->retired = true;
        if (s->refs == 0 || push_ptr((void ***)&srv->old_socks, &srv->n_old_socks, s) < 0)
                free(s); /* (out of memory: processes naming it lose it from their logs) */
}

/* The owner a socket file of cs gets: its own, else the daemon's, as at start. */
static uid_t sock_uid(const struct cfg_socket *cs)
{
        return cs->uid != (uid_t)-1 ? cs->uid : geteuid();
}

static gid_t sock_gid(const struct cfg_socket *cs)
{
        return cs->gid != (gid_t)-1 ? cs->gid : getegid();
}

/* A new mode, owner or group for the file of s: only on the socket file it is
 * bound to (a path renamed away or swapped for a link is left alone), in steps
 * that never grant what neither setting grants (us_listener_set_access). A
 * socket unit's socket has the unit's SocketMode=, SocketUser=, SocketGroup=. */
static void sock_update_access(struct sock_rt *s, const struct cfg_socket *old, const struct cfg_socket *cs)
{
        if (cs->path[0] == '@' || (old->mode == cs->mode && sock_uid(old) == sock_uid(cs) &&
                                   sock_gid(old) == sock_gid(cs)))
                return;
        if (s->inherited && !s->published_here) {
                log_msg(LOG_NOTICE, "socket %s: mode, owner and group of %s are its socket unit's; not changed",
                        cs->name, cs->path);
                return;
        }
        if (us_listener_set_access(s->l, cs->path, cs->mode, sock_uid(cs), sock_gid(cs)) < 0)
                log_errno(LOG_WARNING, -errno, "socket %s: mode and owner of %s not changed%s", cs->name,
                          cs->path, errno == ESTALE ? ": the path is no longer this socket's file" : "");
}

/* A reused socket takes its new section's settings in place. */
static void sock_update(struct sock_rt *s, const struct cfg_socket *cs, struct worker_rt *w)
{
        const struct cfg_socket *old = s->cfg;

        s->cfg = cs;
        s->w = w;
        s->pause &= ~(PAUSE_CAPACITY | PAUSE_ACTIVE | PAUSE_FAILED);
        if (old->backlog != cs->backlog && listen(us_listener_fd(s->l), cs->backlog) < 0)
                log_errno(LOG_WARNING, -errno, "socket %s: backlog %d", cs->name, cs->backlog);
        sock_update_access(s, old, cs);
}

/* The new sockets of a reload listen before any old one closes: a section
 * renamed on the same path will take the old listener over, with its queue
 * (from[i] = 1 + the old index); any other new one is created here. 0, or a
 * negative errno (logged) when one cannot listen: the caller undoes it all. */
static int reload_listen(struct server *srv, struct config *next, struct worker_rt **workers,
                         struct sock_rt **socks, const bool *kept_s, size_t *from)
{
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct cfg_socket *cs = &next->sockets[i];
                if (socks[i])
                        continue;
                /* (a kept worker still has its old cfg: found by index, not by cfg) */
                socks[i] = sock_new(srv, cs, workers[cs->worker - next->workers]);
                if (!socks[i])
                        return log_errno(LOG_ERR, -ENOMEM, "reload");
                for (size_t j = 0; j < srv->n_socks && !from[i]; j++) {
                        const struct sock_rt *o = srv->socks[j];
                        bool taken = false;
                        for (size_t k = 0; k < i; k++)
                                taken |= from[k] == j + 1;
                        if (!kept_s[j] && !taken && o->l && strcmp(o->cfg->path, cs->path) == 0)
                                from[i] = j + 1;
                }
                if (!from[i] && sock_listen(socks[i]) < 0)
                        return -errno;
        }
        return 0;
}

/* The listener of the old socket o goes to the new socket s (a renamed section). */
static void sock_take_over(struct sock_rt *s, struct sock_rt *o)
{
        s->l = o->l;
        o->l = NULL;
        s->inherited = o->inherited;
        s->published_here = o->published_here;
        if (!s->inherited || s->published_here)
                fdstore_push(s); /* under its new name; retiring o removes the old */
}

/* Applies next in place: unchanged sockets keep their fds and their queued
 * connections, unchanged workers keep their processes; a changed worker is
 * replaced by a new one (its old processes finish what they have and are not
 * restarted); removed sockets close. Takes ownership of next. */
int server_reload(struct server *srv, struct config *next)
{
        struct worker_rt **workers = calloc(next->n_workers, sizeof(*workers));
        struct sock_rt **socks = calloc(next->n_sockets, sizeof(*socks));
        bool *kept_w = calloc(srv->n_workers + 1, sizeof(bool));
        bool *kept_s = calloc(srv->n_socks + 1, sizeof(bool));
        size_t *from = calloc(next->n_sockets + 1, sizeof(size_t));
        unsigned created = 0, removed = 0, replaced = 0;
        int r = 0;

        if (!workers || !socks || !kept_w || !kept_s || !from) {
                r = -ENOMEM;
                goto fail;
        }
        /* workers: the old object when nothing about it changed, else a new one */
        for (size_t i = 0; i < next->n_workers; i++) {
                const struct cfg_worker *cw = &next->workers[i];
                for (size_t j = 0; j < srv->n_workers && !workers[i]; j++) {
                        struct worker_rt *w = srv->workers[j];
                        if (!kept_w[j] && worker_unchanged(w->cfg, cw) && same_sockets(srv, w, next, cw)) {
                                kept_w[j] = true;
                                workers[i] = w;
                        }
                }
                if (!workers[i] && !(workers[i] = worker_new(srv, cw))) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        /* sockets: the old object (fd, queue) when name and path are the same */
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct cfg_socket *cs = &next->sockets[i];
                for (size_t j = 0; j < srv->n_socks && !socks[i]; j++)
                        if (!kept_s[j] && strcmp(srv->socks[j]->cfg->name, cs->name) == 0 &&
                            strcmp(srv->socks[j]->cfg->path, cs->path) == 0) {
                                kept_s[j] = true;
                                socks[i] = srv->socks[j];
                        }
        }
        r = mkdir_p(next->runtime_directory, 0755);
        if (r < 0)
                log_errno(LOG_WARNING, r, "runtime directory %s", next->runtime_directory);
        r = reload_listen(srv, next, workers, socks, kept_s, from);
        if (r < 0)
                goto fail;
        /* From here on nothing fails: the new configuration is the daemon's. */
        for (size_t i = 0; i < next->n_sockets; i++)
                if (from[i])
                        sock_take_over(socks[i], srv->socks[from[i] - 1]);
        for (size_t j = 0; j < srv->n_socks; j++)
                if (!kept_s[j]) {
                        sock_retire(srv, srv->socks[j]);
                        removed++;
                }
        for (size_t j = 0; j < srv->n_workers; j++) {
                struct worker_rt *w = srv->workers[j];
                if (kept_w[j]) {
                        for (size_t i = 0; i < next->n_workers; i++)
                                if (workers[i] == w)
                                        w->cfg = &next->workers[i];
                        continue;
                }
                w->retired = true;
                pool_stop(w);
                replaced++;
                if (push_ptr((void ***)&srv->old_workers, &srv->n_old_workers, w) < 0)
                        log_msg(LOG_ERR, "reload: out of memory; worker %s is forgotten", w->cfg->name);
        }
        if (push_ptr((void ***)&srv->old_cfgs, &srv->n_old_cfgs, srv->cfg) < 0)
                log_msg(LOG_ERR, "reload: out of memory keeping the old configuration");
        free(srv->socks);
        free(srv->workers);
        srv->cfg = next;
        srv->workers = workers;
        srv->n_workers = next->n_workers;
        srv->socks = socks;
        srv->n_socks = next->n_sockets;
        log_set_level(next->log_level);
        for (size_t i = 0; i < next->n_sockets; i++) {
                const struct cfg_socket *cs = &next->sockets[i];
                if (socks[i]->cfg != cs) {
                        sock_update(socks[i], cs, worker_of(workers, srv->n_workers, cs->worker));
                } else {
                        created++;
                        if (!from[i])
                                fdstore_push(socks[i]); /* made by reload_listen */
                }
                (void)sock_open(socks[i]); /* listening already: only a watch can fail, logged */
        }
        for (size_t i = 0; i < srv->n_workers; i++) {
                if (workers[i]->members)
                        continue; /* running already */
                r = pool_start(workers[i]);
                if (r < 0)
                        log_errno(LOG_ERR, r, "worker %s", workers[i]->cfg->name);
        }
        /* a spawn worker at capacity, a listener worker running: pause their sockets again */
        for (size_t i = 0; i < srv->n_workers; i++) {
                struct worker_rt *w = workers[i];
                if (w->cfg->dispatch == DISPATCH_LISTENER && w->members && w->members[0].pid > 0)
                        worker_set_pause(w, PAUSE_ACTIVE, true);
                else if (w->cfg->dispatch == DISPATCH_SPAWN && w->running >= w->cfg->instances)
                        worker_set_pause(w, PAUSE_CAPACITY, true);
        }
        free(kept_w);
        free(kept_s);
        free(from);
        log_msg(LOG_INFO, "reload: %u sockets new, %u closed, %u workers replaced", created, removed, replaced);
        server_gc(srv);
        return 0;

fail:
        /* the sockets made for next go, their files with them; the old ones stay */
        for (size_t i = 0; socks && i < next->n_sockets; i++)
                if (socks[i] && socks[i]->cfg == &next->sockets[i])
                        sock_free(socks[i]);
        for (size_t i = 0; workers && i < next->n_workers; i++) {
                bool old = false;
                for (size_t j = 0; j < srv->n_workers; j++)
                        old |= workers[i] == srv->workers[j];
                if (!old)
                        worker_free(workers[i]);
        }
        free(workers);
        free(socks);
        free(kept_w);
        free(kept_s);
        free(from);
        config_free(next);
        return r;
}

/* ---- what reloads left behind --------------------------------------------- */

void sock_ref(struct sock_rt *s)
{
        s->refs++;
}

static bool remove_ptr(void **v, size_t *n, const void *p)
{
        for (size_t i = 0; i < *n; i++)
                if (v[i] == p) {
                        v[i] = v[--*n];
                        return true;
                }
        return false;
}

void sock_unref(struct sock_rt *s)
{
        struct server *srv = s->srv;

        if (--s->refs > 0 || !s->retired || srv->freeing)
                return;
        remove_ptr((void **)srv->old_socks, &srv->n_old_socks, s);
        free(s);
}

static bool worker_idle(const struct worker_rt *w)
{
        if (w->running || w->queue || pool_members_up(w))
                return false;
        for (size_t i = 0; i < w->n_members; i++)
                if (w->members[i].conns)
                        return false;
        return true;
}

static bool cfg_holds(const struct config *c, const void *p)
{
        const char *b = p;

        return (c->n_workers && b >= (const char *)c->workers && b < (const char *)(c->workers + c->n_workers)) ||
               (c->n_sockets && b >= (const char *)c->sockets && b < (const char *)(c->sockets + c->n_sockets));
}

/* Frees the workers a reload replaced once their last process is gone, and
 * the old configurations nothing points into any more: so reloads do not
 * make the daemon grow. */
void server_gc(struct server *srv)
{
        for (size_t i = 0; i < srv->n_old_workers;) {
                struct worker_rt *w = srv->old_workers[i];
                if (worker_idle(w)) {
                        srv->old_workers[i] = srv->old_workers[--srv->n_old_workers];
                        worker_free(w);
                } else {
                        i++;
                }
        }
        for (size_t i = 0; i < srv->n_old_cfgs;) {
                struct config *c = srv->old_cfgs[i];
                bool used = false;
                for (size_t j = 0; j < srv->n_old_workers && !used; j++)
                        used = cfg_holds(c, srv->old_workers[j]->cfg);
                for (size_t j = 0; j < srv->n_old_socks && !used; j++)
                        used = cfg_holds(c, srv->old_socks[j]->cfg);
                if (used) {
                        i++;
                        continue;
                }
                srv->old_cfgs[i] = srv->old_cfgs[--srv->n_old_cfgs];
                config_free(c);
        }
}
