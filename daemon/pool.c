/* Long-running workers: pool dispatch over SCM_RIGHTS with ACK/DONE
 * accounting, listener dispatch (the worker takes the listening sockets), and
 * their supervision: restart policy with exponential backoff. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process/exec.h"
#include "server-internal.h"

#define POOL_UNACKED_MAX 32                     /* connections sent to one process, not yet taken */
#define POOL_QUEUE_MAX 64                       /* accepted, held by the daemon, no process free */
#define ACK_TIMEOUT_USEC (5 * 1000000ULL)       /* an idle process that takes nothing for this long is hung */
#define RAN_WELL_USEC (10 * 1000000ULL)         /* a run this long resets the restart backoff */
#define CHANNEL_GRACE_USEC (1000000ULL)         /* one that closes its channel on its way out is gone by then */

/* member.lost: its channel closed while the process runs */
enum {
        LOST_NO,
        LOST_GRACE,                             /* it may be exiting: wait CHANNEL_GRACE_USEC */
        LOST_TERM,                              /* it ran on: SIGTERM sent, SIGKILL after stop-timeout */
        LOST_KILL,
};

static void member_start(struct member *m);
static void member_lost(struct member *m, const char *why);
static void channel_gone(struct member *m, const char *why);
static void pool_drain(struct worker_rt *w);

static struct log_ctx member_ctx(const struct member *m)
{
        struct log_ctx c = LOG_CTX_INIT;

        c.worker = m->w->cfg->name;
        if (m->pid > 0)
                c.worker_pid = m->pid;
        return c;
}

unsigned pool_members_up(const struct worker_rt *w)
{
        unsigned n = 0;

        for (size_t i = 0; i < w->n_members; i++)
                n += w->members[i].pid > 0;
        return n;
}

/* ---- connection lists ---------------------------------------------------- */

static void list_unlink(struct conn **head, struct conn **tail, struct conn *c)
{
        if (c->prev)
                c->prev->next = c->next;
        else
                *head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else if (tail)
                *tail = c->prev;
        c->prev = c->next = NULL;
}

static void queue_push(struct worker_rt *w, struct conn *c, bool front)
{
        c->m = NULL;
        c->prev = c->next = NULL;
        if (!w->queue) {
                w->queue = w->queue_tail = c;
        } else if (front) {
                c->next = w->queue;
                w->queue->prev = c;
                w->queue = c;
        } else {
                c->prev = w->queue_tail;
                w->queue_tail->next = c;
                w->queue_tail = c;
        }
        w->n_queued++;
}

static struct conn *queue_pop(struct worker_rt *w)
{
        struct conn *c = w->queue;

        if (c) {
                list_unlink(&w->queue, &w->queue_tail, c);
                w->n_queued--;
        }
        return c;
}

/* A connection is over for the daemon: served (DONE), or gone with its
 * worker. True if that gave the daemon an fd back (it was not ACKed). */
static bool conn_free(struct worker_rt *w, struct conn *c)
{
        bool had_fd = c->fd >= 0;

        if (had_fd)
                close(c->fd);
        if (w->cfg->max_per_user)
                uid_dec(w, c->peer.uid);
        sock_unref(c->s);
        free(c);
        return had_fd;
}

/* A connection a process did not take goes back to the front of the queue:
 * its worker's, or after a reload replaced that worker, the queue of the pool
 * worker its socket has now (the old one starts no process again). */
static void requeue(struct worker_rt *w, struct conn *c)
{
        struct worker_rt *to = w;

        if (w->retired && c->s->w != w && c->s->w->cfg->dispatch == DISPATCH_POOL && !c->s->w->retired) {
                to = c->s->w;
                if (w->cfg->max_per_user)
                        uid_dec(w, c->peer.uid);
                if (to->cfg->max_per_user)
                        (void)uid_inc(to, c->peer.uid);
        }
        queue_push(to, c, true);
        if (to != w)
                pool_drain(to);
}

/* ---- pool dispatch ------------------------------------------------------- */

static void update_capacity(struct worker_rt *w)
{
        worker_set_pause(w, PAUSE_CAPACITY, w->n_queued >= POOL_QUEUE_MAX);
}

static void ack_timer_arm(struct member *m)
{
        if (!m->ack_timer)
                return;
        if (m->unacked == 0) {
                sd_event_source_set_enabled(m->ack_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(m->ack_timer, now_usec(m->w->srv) + ACK_TIMEOUT_USEC);
        sd_event_source_set_enabled(m->ack_timer, SD_EVENT_ONESHOT);
}

/* Sends c to m. 1 sent, 0 the channel is full (try elsewhere), -1 m is gone. */
static int member_send(struct member *m, struct conn *c)
{
        unsigned char buf[US_FRAME_MAX];
        struct us_frame f = { .type = US_FRAME_CONN, .id = c->id, .peer = c->peer };
        ssize_t n;

        snprintf(f.socket, sizeof(f.socket), "%s", c->s->cfg->name);
        n = us_frame_encode(&f, buf, sizeof(buf));
        if (n < 0 || us_send_fd(m->chan, buf, (size_t)n, c->fd) < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                        m->blocked = true;
                        sd_event_source_set_io_events(m->chan_io, EPOLLIN | EPOLLOUT);
                        return 0;
                }
                return -1;
        }
        c->m = m;
        c->prev = NULL;
        c->next = m->conns;
        if (m->conns)
                m->conns->prev = c;
        m->conns = c;
        m->unacked++;
        m->inflight++;
        if (m->unacked == 1)
                ack_timer_arm(m);
        if (log_enabled(LOG_DEBUG)) {
                struct log_ctx lc;
                log_ctx_for(&lc, c->s, &c->peer);
                lc.worker_pid = m->pid;
                log_ctx(LOG_DEBUG, &lc, "worker %s: connection %llu to pid %d (%u in flight)",
                        m->w->cfg->name, (unsigned long long)c->id, (int)m->pid, m->inflight);
        }
        return 1;
}

/* The running process with the fewest connections in flight that can take one more. */
static struct member *pick(struct worker_rt *w)
{
        struct member *best = NULL;

        for (size_t i = 0; i < w->n_members; i++) {
                struct member *m = &w->members[i];
                if (m->chan < 0 || m->shut || m->blocked || m->unacked >= POOL_UNACKED_MAX)
                        continue;
                if (!best || m->inflight < best->inflight)
                        best = m;
        }
        return best;
}

/* Hands queued connections to processes while any can take one. */
static void pool_drain(struct worker_rt *w)
{
        struct member *m;

        if (w->cfg->dispatch != DISPATCH_POOL)
                return;
        while (w->queue && (m = pick(w))) {
                struct conn *c = queue_pop(w);
                int r = member_send(m, c);
                int err = errno;
                if (r <= 0)
                        queue_push(w, c, true);
                if (r < 0)
                        channel_gone(m, strerror(err));
        }
        update_capacity(w);
        if (w->closing && !w->queue)
                pool_stop(w);
}

/* No process runs and none is to start (restart = never, or no restart could
 * be scheduled). */
static bool pool_dead(const struct worker_rt *w)
{
        if (w->cfg->dispatch != DISPATCH_POOL || w->n_members == 0 || w->retired || w->srv->stopping)
                return false;
        for (size_t i = 0; i < w->n_members; i++) {
                const struct member *m = &w->members[i];
                if (m->pid > 0 || (m->restart_timer && sd_event_source_get_enabled(m->restart_timer, NULL) > 0))
                        return false;
        }
        return true;
}

void pool_dispatch(struct sock_rt *s, int fd, const struct us_peer *peer)
{
        struct worker_rt *w = s->w;
        struct conn *c;

        if (pool_dead(w)) {
                /* Held, it would wait forever (and with it up to POOL_QUEUE_MAX
                 * others, then the backlog): closing tells it now, as a crashed
                 * server would. */
                char why[300];
                snprintf(why, sizeof(why), "worker %s has no process and none will start", w->cfg->name);
                refuse(s, fd, peer, why);
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd); /* out of memory: nothing better to do with it */
                return;
        }
        c->id = ++w->next_id;
        c->fd = fd;
        c->s = s;
        sock_ref(s);
        c->peer = *peer;
        if (w->cfg->max_per_user)
                (void)uid_inc(w, peer->uid);
        queue_push(w, c, false);
        pool_drain(w);
}

static struct conn *find_conn(struct member *m, uint64_t id)
{
        for (struct conn *c = m->conns; c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

/* A worker that breaks the protocol is stopped; what it had not taken goes to another. */
static void protocol_error(struct member *m, const char *what)
{
        struct log_ctx c = member_ctx(m);
        unsigned suppressed;
        char note[64];

        if (ratelimit_pass(&m->w->exit_rl, now_usec(m->w->srv), &suppressed))
                log_ctx(LOG_ERR, &c, "worker %s: pid %d: %s on its channel; stopping it%s",
                        m->w->cfg->name, (int)m->pid, what, suppressed_note(note, suppressed, "failures"));
        if (m->pid > 0)
                (void)kill(-m->pid, SIGKILL);
        member_lost(m, NULL);
}

/* Handles one answer; true if it gave the daemon an fd back (an ACK: our
 * copy of the connection is closed). */
static bool handle_reply(struct member *m, const struct us_frame *f)
{
        struct worker_rt *w = m->w;
        struct conn *c = find_conn(m, f->id);
        bool freed = false;

        if (!c || f->type == US_FRAME_CONN || (f->type == US_FRAME_ACK && c->acked)) {
                protocol_error(m, f->type == US_FRAME_ACK ? "ACK for no connection waiting"
                                                          : "DONE for no connection it holds");
                return false;
        }
        if (!c->acked) {
                close(c->fd);
                c->fd = -1;
                c->acked = true;
                m->unacked--;
                freed = true;
        }
        if (f->type == US_FRAME_DONE) {
                if (log_enabled(LOG_DEBUG))
                        log_msg(LOG_DEBUG, "worker %s: connection %llu done by pid %d", w->cfg->name,
                                (unsigned long long)c->id, (int)m->pid);
                list_unlink(&m->conns, NULL, c);
                m->inflight--;
                conn_free(w, c);
                status_changed(w->srv);
        }
        ack_timer_arm(m);
        return freed;
}

/* Reads and handles up to max messages from m's channel, counting the fds
 * that gave back in *freed. False if the worker's end is gone (EOF, or an
 * error: *why says which, NULL for EOF); the caller decides what that means.
 * A protocol error stops the process and closes the channel here. */
static bool channel_read(struct member *m, int max, unsigned *freed, const char **why)
{
        unsigned char buf[US_FRAME_MAX + 1];
        struct us_frame f;

        for (int i = 0; i < max && m->chan >= 0; i++) {
                int passed = -1;
                ssize_t n = us_recv_fd(m->chan, buf, sizeof(buf), &passed);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (passed >= 0) {
                        close(passed);
                        protocol_error(m, "an fd sent back");
                        break;
                }
                if (n < 0 && (errno == EBADMSG || errno == EMSGSIZE)) {
                        protocol_error(m, "a malformed message");
                        break;
                }
                if (n <= 0) {
                        *why = n == 0 ? NULL : strerror(errno);
                        return false;
                }
                if (us_frame_decode(buf, (size_t)n, &f) < 0) {
                        protocol_error(m, errno == EPROTONOSUPPORT ? "another protocol version"
                                                                   : "a malformed message");
                        break;
                }
                *freed += handle_reply(m, &f);
        }
        return true;
}

void pool_channel_event(struct member *m, uint32_t revents)
{
        if (revents & EPOLLOUT) {
                m->blocked = false;
                sd_event_source_set_io_events(m->chan_io, EPOLLIN);
        }
        unsigned freed = 0;
        const char *why = NULL;
        /* Bounded: a worker flooding its channel cannot keep the loop to itself. */
        bool up = channel_read(m, 256, &freed, &why);
        if (m->chan >= 0 && (!up || ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))))
                channel_gone(m, why);
        pool_drain(m->w);
        /* once per wakeup, not per ACK: it looks at every socket */
        if (freed)
                server_resources_freed(m->w->srv);
}

static int on_channel(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        pool_channel_event(userdata, revents);
        return 0;
}

static int on_ack_timeout(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct member *m = userdata;

        if (m->unacked == 0)
                return 0;
        if (m->inflight > m->unacked) {
                /* Busy serving what it took: not hung, just slow to take more. */
                ack_timer_arm(m);
                return 0;
        }
        protocol_error(m, "no ACK within 5s while idle");
        pool_drain(m->w);
        return 0;
}

/* The channel is gone (EOF, error, the process died or was stopped): what it
 * had not acknowledged is still ours and goes back to the queue's front;
 * what it had taken is over. */
static void member_lost(struct member *m, const char *why)
{
        struct worker_rt *w = m->w;
        unsigned requeued = 0;

        if (m->chan < 0)
                return;
        m->chan_io = sd_event_source_disable_unref(m->chan_io);
        m->ack_timer = sd_event_source_disable_unref(m->ack_timer);
        close(m->chan);
        m->chan = -1;
        m->blocked = false;
        m->shut = false;
        /* m->conns is newest first: push each to the front keeps the oldest first */
        while (m->conns) {
                struct conn *c = m->conns;
                list_unlink(&m->conns, NULL, c);
                if (c->acked) {
                        conn_free(w, c);
                } else {
                        requeue(w, c);
                        requeued++;
                }
        }
        m->unacked = m->inflight = 0;
        if (why || requeued) {
                struct log_ctx c = member_ctx(m);
                log_ctx(requeued ? LOG_WARNING : LOG_DEBUG, &c,
                        "worker %s: pid %d: channel closed%s%s; %u connections it had not taken go to another",
                        w->cfg->name, (int)m->pid, why ? ": " : "", why ? why : "", requeued);
        }
        server_resources_freed(w->srv); /* its channel's fd, at least */
}

static int on_lost_timer(sd_event_source *es, uint64_t usec, void *userdata);

static void lost_timer_arm(struct member *m, uint64_t after)
{
        struct server *srv = m->w->srv;

        if (!m->lost_timer &&
            sd_event_add_time(srv->event, &m->lost_timer, CLOCK_MONOTONIC, 0, 0, on_lost_timer, m) < 0) {
                /* no timer to wait with: stop it now rather than never */
                log_msg(LOG_ERR, "worker %s: pid %d: no timer to stop it gracefully: sending SIGKILL",
                        m->w->cfg->name, (int)m->pid);
                m->lost = LOST_KILL;
                (void)kill(-m->pid, SIGKILL);
                return;
        }
        sd_event_source_set_time(m->lost_timer, now_usec(srv) + after);
        sd_event_source_set_enabled(m->lost_timer, SD_EVENT_ONESHOT);
}

/* A process that runs on without its channel serves nobody and never will:
 * it is stopped as systemd stops a service, SIGTERM to its process group
 * (what it had ACKed is its own: it may finish those), then SIGKILL after
 * stop-timeout. Its exit counts as a failure and is logged then, once. */
static int on_lost_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct member *m = userdata;
        struct server *srv = m->w->srv;
        struct log_ctx c = member_ctx(m);
        unsigned suppressed;
        char note[64];

        if (m->pid <= 0 || m->lost == LOST_NO || m->lost == LOST_KILL)
                return 0;
        if (m->lost == LOST_GRACE) {
                if (ratelimit_pass(&m->w->exit_rl, now_usec(srv), &suppressed))
                        log_ctx(LOG_WARNING, &c,
                                "worker %s: pid %d: closed its channel; still running %llums later: "
                                "stopping it (SIGTERM, SIGKILL after %llums)%s",
                                m->w->cfg->name, (int)m->pid, CHANNEL_GRACE_USEC / 1000ULL,
                                (unsigned long long)(srv->cfg->stop_timeout_usec / 1000),
                                suppressed_note(note, suppressed, "failures"));
                m->lost = LOST_TERM;
                (void)kill(-m->pid, SIGTERM);
                lost_timer_arm(m, srv->cfg->stop_timeout_usec);
                return 0;
        }
        log_ctx(LOG_WARNING, &c, "worker %s: pid %d: still running %llums after SIGTERM: sending SIGKILL",
                m->w->cfg->name, (int)m->pid, (unsigned long long)(srv->cfg->stop_timeout_usec / 1000));
        m->lost = LOST_KILL;
        (void)kill(-m->pid, SIGKILL);
        return 0;
}

/* The worker's end of the channel is gone (EOF, an error) while its process
 * runs: the process is lost, like one that died. What it had not taken goes
 * to another now. Then it gets CHANNEL_GRACE_USEC to exit: one that closes
 * its channel on its way out (us_worker_close(), exit) is no loss, and its
 * exit is judged as any other. One still running then is stopped.
 * At stop or after a reload we half-closed the channel first (m->shut): the
 * worker closing its end after that is the expected end, not a loss. */
static void channel_gone(struct member *m, const char *why)
{
        bool expected = m->shut;

        m->dropped += m->unacked; /* sent to it, never taken: a failure at its exit */
        member_lost(m, why);
        if (expected || m->pid <= 0 || m->lost != LOST_NO)
                return;
        m->lost = LOST_GRACE;
        lost_timer_arm(m, CHANNEL_GRACE_USEC);
}

/* ---- processes ----------------------------------------------------------- */

static int on_restart(sd_event_source *es, uint64_t usec, void *userdata)
{
        member_start(userdata);
        return 0;
}

static void schedule_restart(struct member *m, uint64_t delay)
{
        struct server *srv = m->w->srv;

        if (!m->restart_timer &&
            sd_event_add_time(srv->event, &m->restart_timer, CLOCK_MONOTONIC, 0, 0, on_restart, m) < 0) {
                log_msg(LOG_ERR, "worker %s: no timer for its restart", m->w->cfg->name);
                return;
        }
        sd_event_source_set_time(m->restart_timer, now_usec(srv) + delay);
        sd_event_source_set_enabled(m->restart_timer, SD_EVENT_ONESHOT);
}

/* The delay before the next restart: restart-delay, doubling with each
 * failure in a row up to restart-delay-max, back to restart-delay after a run
 * of RAN_WELL_USEC. */
static uint64_t next_delay(struct member *m, uint64_t ran)
{
        const struct cfg_worker *cw = m->w->cfg;
        uint64_t d;

        if (ran >= RAN_WELL_USEC || m->delay == 0)
                m->delay = cw->restart_delay_usec;
        d = m->delay;
        m->delay = m->delay > cw->restart_delay_max_usec / 2 ? cw->restart_delay_max_usec : m->delay * 2;
        return d;
}

/* "name1:name2" of the sockets that name w, for UNIXSOCKD_SOCKET and LISTEN_FDNAMES. */
static void socket_names(struct worker_rt *w, char *buf, size_t size)
{
        struct server *srv = w->srv;
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < srv->n_socks && n < size; i++)
                if (srv->socks[i]->w == w)
                        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ":" : "", srv->socks[i]->cfg->name);
}

static void member_start(struct member *m)
{
        struct worker_rt *w = m->w;
        struct server *srv = w->srv;
        const struct cfg_worker *cw = w->cfg;
        char names[4096], e_sock[4200], e_names[4200], e_nfds[32], e_pid[48] = "LISTEN_PID=";
        char **env;
        int fds[EXEC_MAX_FDS], n_fds = 0, chan[2] = { -1, -1 }, devnull;
        size_t n = 0;
        const char *step = "";
        struct proc *p;
        struct log_ctx c;
        pid_t pid;
        int r;

        if (srv->stopping || w->retired || m->pid > 0)
                return;
        env = calloc(w->n_base_env + 8, sizeof(*env));
        if (!env) {
                r = -ENOMEM;
                step = "malloc";
                devnull = -1;
                goto fail;
        }
        fds[1] = worker_stderr(w); /* stdout too: a daemon's output belongs in the log */
        socket_names(w, names, sizeof(names));
        for (size_t i = 0; i < w->n_base_env; i++)
                env[n++] = w->base_env[i];
        snprintf(e_sock, sizeof(e_sock), "UNIXSOCKD_SOCKET=%s", names);
        env[n++] = e_sock;
        if (w->journal_stream[0])
                env[n++] = w->journal_stream;
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fds[0] = devnull >= 0 ? devnull : STDIN_FILENO;
        fds[2] = fds[1];
        n_fds = 3;
        if (cw->dispatch == DISPATCH_POOL) {
                if (us_pair_type(SOCK_SEQPACKET, chan) < 0 ||
                    fcntl(chan[0], F_SETFL, O_NONBLOCK) < 0) {
                        r = -errno;
                        step = "socketpair";
                        goto fail;
                }
                fds[n_fds++] = chan[1];
                env[n++] = (char *)"UNIXSOCKD_CHANNEL=3";
        } else {
                int k = 0;
                for (size_t i = 0; i < srv->n_socks && n_fds < EXEC_MAX_FDS; i++)
                        if (srv->socks[i]->w == w && srv->socks[i]->l) {
                                fds[n_fds++] = us_listener_fd(srv->socks[i]->l);
                                k++;
                        }
                snprintf(e_nfds, sizeof(e_nfds), "LISTEN_FDS=%d", k);
                snprintf(e_names, sizeof(e_names), "LISTEN_FDNAMES=%s", names);
                env[n++] = e_nfds;
                env[n++] = e_pid;
                env[n++] = e_names;
        }
        env[n] = NULL;

        struct exec_params ep = worker_exec_params(cw, env, fds, n_fds,
                cw->dispatch == DISPATCH_LISTENER ? e_pid + strlen("LISTEN_PID=") : NULL);
        p = calloc(1, sizeof(*p));
        if (!p) {
                r = -ENOMEM;
                step = "malloc";
                goto fail;
        }
        r = exec_spawn(&ep, &pid, &step);
        if (r < 0) {
                free(p);
                goto fail;
        }
        if (devnull >= 0)
                close(devnull);
        if (chan[1] >= 0)
                close(chan[1]);
        free(env);
        m->pid = pid;
        m->started_at = now_usec(srv);
        p->pid = pid;
        p->w = w;
        p->member = m;
        p->peer = (struct us_peer){ -1, (uid_t)-1, (gid_t)-1 };
        if (proc_add(srv, p) < 0)
                free(p);
        if (cw->dispatch == DISPATCH_POOL) {
                m->chan = chan[0];
                if (sd_event_add_io(srv->event, &m->chan_io, m->chan, EPOLLIN, on_channel, m) < 0 ||
                    sd_event_add_time(srv->event, &m->ack_timer, CLOCK_MONOTONIC, 0, 0, on_ack_timeout, m) < 0) {
                        log_msg(LOG_ERR, "worker %s: cannot watch its channel", cw->name);
                        (void)kill(-pid, SIGKILL);
                        member_lost(m, NULL);
                }
                if (m->ack_timer)
                        sd_event_source_set_enabled(m->ack_timer, SD_EVENT_OFF);
        }
        c = member_ctx(m);
        c.msgid = MSGID_WORKER_STARTED;
        log_ctx(m->restarts ? LOG_NOTICE : LOG_INFO, &c, "worker %s: started pid %d (%s %u of %u%s)",
                cw->name, (int)pid, dispatch_to_string(cw->dispatch), m->index + 1, cw->instances,
                m->restarts ? ", a restart" : "");
        if (cw->dispatch == DISPATCH_POOL)
                pool_drain(w);
        status_changed(srv);
        return;

fail:
        free(env);
        if (devnull >= 0)
                close(devnull);
        if (chan[0] >= 0)
                close(chan[0]);
        if (chan[1] >= 0)
                close(chan[1]);
        c = member_ctx(m);
        log_ctx(LOG_ERR, &c, "worker %s: %s %s: %s", cw->name, step,
                strcmp(step, "chdir") == 0 ? cw->working_directory : cw->exec_path, strerror(-r));
        /* As a process that failed at once: throttled by the same backoff. */
        m->restarts++;
        schedule_restart(m, next_delay(m, 0));
}

static bool listener_pending(struct worker_rt *w)
{
        struct server *srv = w->srv;

        for (size_t i = 0; i < srv->n_socks; i++)
                if (srv->socks[i]->w == w && srv->socks[i]->l && us_accept_ready(srv->socks[i]->l))
                        return true;
        return false;
}

/* Another process of w can take a queued connection. */
static bool pool_can_take(const struct worker_rt *w)
{
        for (size_t i = 0; i < w->n_members; i++)
                if (w->members[i].chan >= 0 && !w->members[i].shut)
                        return true;
        return false;
}

/* No process left and none to start: what is queued would wait forever. It
 * is closed now, said once; new clients are refused (pool_dispatch). */
static void pool_died(struct worker_rt *w)
{
        struct log_ctx c = LOG_CTX_INIT;
        unsigned n = 0;
        bool freed = false;

        while (w->queue) {
                freed |= conn_free(w, queue_pop(w));
                n++;
        }
        update_capacity(w);
        c.worker = w->cfg->name;
        log_ctx(LOG_ERR, &c, "worker %s: no process left and none will start: %u queued connections closed; "
                "new ones are refused until unixsockd restarts or a reload changes the worker",
                w->cfg->name, n);
        if (freed)
                server_resources_freed(w->srv);
        status_changed(w->srv);
}

/* Why an exit is a failure whatever its status: the process left clients
 * that nothing else serves. "" if it did not, or it no longer matters
 * (stopping, replaced by a reload). */
static void left_behind(struct member *m, bool lost, unsigned dropped, bool pending, char *buf, size_t size)
{
        struct worker_rt *w = m->w;

        buf[0] = '\0';
        if (w->srv->stopping || w->retired)
                return;
        if (lost)
                snprintf(buf, size, " (it had closed its channel and run on)");
        else if (dropped)
                snprintf(buf, size, " (leaving %u connections sent to it untaken)", dropped);
        else if (w->cfg->dispatch == DISPATCH_POOL && w->queue && !pool_can_take(w))
                snprintf(buf, size, " (leaving %u connections waiting for it)", w->n_queued);
        else if (pending)
                snprintf(buf, size, " (leaving clients waiting on its sockets)");
}

void member_exited(struct member *m, const siginfo_t *si)
{
        struct worker_rt *w = m->w;
        const struct cfg_worker *cw = w->cfg;
        struct server *srv = w->srv;
        bool failed = si->si_code != CLD_EXITED || si->si_status != 0;
        uint64_t ran = now_usec(srv) - m->started_at, delay = 0;
        bool restart, lost, pending;
        struct log_ctx c = member_ctx(m);
        unsigned suppressed = 0, freed = 0, dropped;
        const char *why;
        char reason[96], note[64];

        /* Its last ACKs and DONEs may still be unread (SIGCHLD comes first):
         * read them, so what it took is not handed out a second time. Finite:
         * it is dead, nothing more arrives, and its EOF is no news. */
        (void)channel_read(m, INT_MAX, &freed, &why);
        dropped = m->dropped + m->unacked;
        lost = m->lost >= LOST_TERM;
        m->lost_timer = sd_event_source_disable_unref(m->lost_timer);
        m->lost = LOST_NO;
        m->dropped = 0;
        member_lost(m, NULL);
        m->pid = 0;
        pending = cw->dispatch == DISPATCH_LISTENER && listener_pending(w);
        /* Leaving clients unserved is a failure even with status 0: else a
         * program that exits 0 at once would, under restart = on-failure,
         * leave its pool dead and its clients waiting, logged as a clean exit. */
        left_behind(m, lost, dropped, pending, reason, sizeof(reason));
        failed = failed || reason[0];
        if (srv->stopping || w->retired)
                restart = false;
        else if (cw->dispatch == DISPATCH_LISTENER)
                restart = pending && !(failed && cw->restart == RESTART_NEVER);
        else
                restart = cw->restart == RESTART_ALWAYS || (failed && cw->restart == RESTART_ON_FAILURE);
        /* A listener worker that exits at once, accepting nothing, is throttled too. */
        if (restart && (failed || cw->dispatch == DISPATCH_POOL || ran < RAN_WELL_USEC))
                delay = next_delay(m, ran);
        else if (!failed && ran >= RAN_WELL_USEC)
                m->delay = 0;

        c.msgid = MSGID_WORKER_EXITED;
        c.worker_pid = si->si_pid;
        c.exit_code = si->si_code;
        c.exit_status = si->si_status;
        if (!failed || srv->stopping || ratelimit_pass(&w->exit_rl, now_usec(srv), &suppressed)) {
                char when[64] = "";
                if (restart)
                        snprintf(when, sizeof(when), "; restart in %llums",
                                 (unsigned long long)(delay / 1000));
                log_ctx(failed && !srv->stopping ? LOG_WARNING : LOG_INFO, &c,
                        "worker %s: pid %d %s %d after %llums%s%s%s", cw->name, (int)si->si_pid,
                        si->si_code == CLD_EXITED ? "exited with status" : "killed by signal",
                        si->si_status, (unsigned long long)(ran / 1000), reason, when,
                        suppressed_note(note, suppressed, "exits"));
        }
        if (w->retired && !pool_members_up(w)) {
                /* the last of a replaced pool: what is still queued goes to its successor */
                bool gave_back = false;
                while (w->queue) {
                        struct conn *q = queue_pop(w);
                        if (q->s->w != w && q->s->w->cfg->dispatch == DISPATCH_POOL && !q->s->w->retired)
                                requeue(w, q);
                        else
                                gave_back |= conn_free(w, q);
                }
                if (gave_back)
                        server_resources_freed(srv);
        }
        if (restart) {
                m->restarts++;
                schedule_restart(m, delay);
        } else if (cw->dispatch == DISPATCH_LISTENER && !srv->stopping && !w->retired) {
                bool give_up = failed && cw->restart == RESTART_NEVER;
                if (give_up)
                        log_ctx(LOG_ERR, &c, "worker %s failed and restart = never: its sockets stay unwatched",
                                cw->name);
                worker_set_pause(w, PAUSE_FAILED, give_up);
                worker_set_pause(w, PAUSE_ACTIVE, false);
        }
        if (pool_dead(w))
                pool_died(w);
        pool_drain(w);
        stop_check_done(srv);
}

/* ---- listener dispatch ------------------------------------------------------ */

void listener_activate(struct sock_rt *s)
{
        struct worker_rt *w = s->w;
        struct member *m = &w->members[0];

        /* The worker takes over every socket naming it: stop watching them. */
        worker_set_pause(w, PAUSE_ACTIVE, true);
        if (m->pid == 0 && !(m->restart_timer && sd_event_source_get_enabled(m->restart_timer, NULL) > 0))
                member_start(m);
}

/* ---- whole workers ------------------------------------------------------------ */

int pool_start(struct worker_rt *w)
{
        const struct cfg_worker *cw = w->cfg;

        if (cw->dispatch == DISPATCH_SPAWN)
                return 0;
        w->n_members = cw->dispatch == DISPATCH_POOL ? cw->instances : 1;
        w->members = calloc(w->n_members, sizeof(*w->members));
        if (!w->members)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_members; i++) {
                w->members[i].w = w;
                w->members[i].index = (unsigned)i;
                w->members[i].chan = -1;
        }
        if (cw->dispatch == DISPATCH_LISTENER)
                return 0; /* started on the first connection */
        for (size_t i = 0; i < w->n_members; i++)
                member_start(&w->members[i]);
        return 0;
}

/* Stopping: channels close once every queued connection is handed out, so
 * each process reads what it was sent, then EOF, finishes and exits. A
 * listener worker is told to stop with SIGTERM, as systemd would. */
void pool_stop(struct worker_rt *w)
{
        for (size_t i = 0; i < w->n_members; i++) {
                struct member *m = &w->members[i];
                /* (a lost process keeps its lost_timer: it is still to be stopped) */
                m->restart_timer = sd_event_source_disable_unref(m->restart_timer);
                if (w->cfg->dispatch == DISPATCH_LISTENER && m->pid > 0)
                        (void)kill(-m->pid, SIGTERM);
        }
        if (w->cfg->dispatch != DISPATCH_POOL)
                return;
        if (w->queue && pool_members_up(w)) {
                w->closing = true;
                return;
        }
        w->closing = false;
        for (size_t i = 0; i < w->n_members; i++) {
                struct member *m = &w->members[i];
                /* Half-close: it reads what was sent to it, then EOF; its ACKs and
                 * DONEs are still read here. (A full close would reset its end
                 * while answers of its were unread: it would lose its queue.) */
                if (m->chan >= 0 && !m->shut && shutdown(m->chan, SHUT_WR) == 0)
                        m->shut = true;
        }
        bool freed = false;
        while (w->queue && !pool_members_up(w))
                freed |= conn_free(w, queue_pop(w)); /* nobody left to serve them */
        if (freed)
                server_resources_freed(w->srv);
}

void pool_free(struct worker_rt *w)
{
        for (size_t i = 0; i < w->n_members; i++) {
                struct member *m = &w->members[i];
                for (struct conn *c = m->conns, *next; c; c = next) {
                        next = c->next;
                        conn_free(w, c);
                }
                m->conns = NULL;
                sd_event_source_disable_unref(m->chan_io);
                sd_event_source_disable_unref(m->ack_timer);
                sd_event_source_disable_unref(m->restart_timer);
                sd_event_source_disable_unref(m->lost_timer);
                if (m->chan >= 0)
                        close(m->chan);
        }
        while (w->queue)
                conn_free(w, queue_pop(w));
        free(w->members);
        w->members = NULL;
}
