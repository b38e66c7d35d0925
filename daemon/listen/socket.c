/* A socket's life: open or adopt, the gate, the accept loop, pauses on
 * resource errors and rate limits, refusal, update and retirement. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dispatch/dispatch.h"
#include "inherit.h"
#include "socket.h"
#include "strindex.h"
#include "timer.h"

#define ACCEPT_BUDGET 32                        /* connections per wakeup, then others get a turn */
#define RESUME_AFTER_USEC (100 * 1000)          /* retry a socket paused on a resource error */


static uint64_t now_usec(const struct socket *s)
{
        uint64_t t = 0;

        sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

static struct log_ctx ctx(const struct socket *s, const struct us_peer *peer)
{
        return worker_ctx(s->w, s->cfg->name, peer);
}

/* The gate: its own pauses and its worker's. */
static void update_io(void *userdata)
{
        struct socket *s = userdata;
        bool paused = s->pause || s->w->gate;

        if (!paused)
                s->paused_since = 0;
        else if (!s->paused_since)
                s->paused_since = now_usec(s);
        if (s->io)
                sd_event_source_set_enabled(s->io, paused ? SD_EVENT_OFF : SD_EVENT_ON);
}

void socket_set_paused(struct socket *s, bool paused)
{
        s->pause = paused ? s->pause | SOCKET_PAUSE_MANUAL : s->pause & ~SOCKET_PAUSE_MANUAL;
        log_msg(LOG_INFO, "socket %s: %s", s->cfg->name, paused ? "paused: clients wait in the backlog"
                                                                 : "resumed");
        update_io(s);
}

static bool retry_pending(struct socket *s);

static int on_resume_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct socket *s = userdata;

        s->pause &= ~(SOCKET_PAUSE_RESOURCE | SOCKET_PAUSE_RATE);
        if (retry_pending(s))
                update_io(s);
        return 0;
}

/* Stops polling s for reason until usec (CLOCK_MONOTONIC). */
static void pause_until(struct socket *s, unsigned reason, uint64_t usec)
{
        s->pause |= reason;
        update_io(s);
        if (timer_at(s->event, &s->resume, usec, on_resume_timer, s) < 0) {
                s->pause &= ~reason; /* no timer: better poll again than stay paused */
                update_io(s);
        }
}

/* Out of fds or memory: stop polling this socket for a while instead of
 * spinning on an error that a client cannot fix. Clients wait in the backlog. */
static void pause_resource(struct socket *s, int err, const char *what)
{
        uint64_t now = now_usec(s);
        unsigned suppressed;
        char note[64];

        pause_until(s, SOCKET_PAUSE_RESOURCE, now + RESUME_AFTER_USEC);
        if (ratelimit_pass(&s->pause_rl, now, &suppressed)) {
                struct log_ctx c = ctx(s, NULL);
                c.msgid = MSGID_ACCEPT_PAUSED;
                c.error = err;
                log_ctx(LOG_WARNING, &c, "socket %s: %s: %s; accepting paused for %ums%s",
                        s->cfg->name, what, strerror(err), RESUME_AFTER_USEC / 1000,
                        ratelimit_note(note, suppressed, "pauses"));
        }
}

/* rate-limit = N/INTERVAL: true if one more may be accepted in this interval;
 * else the socket pauses until the interval ends and clients wait in the
 * backlog (nothing fails, unlike systemd's TriggerLimit). */
static bool rate_ok(struct socket *s)
{
        const struct cfg_socket *cs = s->cfg;
        uint64_t until;

        if (!cs->rate_burst || ratelimit_window_take(&s->rate, cs->rate_burst, cs->rate_interval_usec, now_usec(s), &until))
                return true;
        if (log_enabled(LOG_DEBUG)) {
                struct log_ctx c = ctx(s, NULL);
                c.msgid = MSGID_ACCEPT_PAUSED;
                log_ctx(LOG_DEBUG, &c, "socket %s: rate-limit %u per %llums reached; paused for the rest of it",
                        cs->name, cs->rate_burst, (unsigned long long)(cs->rate_interval_usec / 1000));
        }
        pause_until(s, SOCKET_PAUSE_RATE, until);
        return false;
}

/* Closes an accepted connection that will not be served, counted and logged
 * (warning, rate-limited per socket) with why. */
static void refuse(struct socket *s, int fd, const struct us_peer *peer, const char *why, enum refusal reason)
{
        struct log_ctx c = ctx(s, peer);
        unsigned suppressed;
        char note[64];

        close(fd);
        s->counts.refused++;
        s->counts.refused_by[reason < _REFUSAL_MAX ? reason : REFUSAL_OTHER]++;
        s->counters->refused++;
        counters_changed(s->counters);
        c.msgid = MSGID_CONN_REFUSED;
        if (ratelimit_pass(&s->refuse_rl, now_usec(s), &suppressed))
                log_ctx(LOG_WARNING, &c, "socket %s: refused uid %u pid %d: %s%s", s->cfg->name,
                        (unsigned)peer->uid, (int)peer->pid, why, ratelimit_note(note, suppressed, "refusals"));
        else
                log_ctx(LOG_DEBUG, &c, "socket %s: refused uid %u pid %d: %s", s->cfg->name,
                        (unsigned)peer->uid, (int)peer->pid, why);
}

/* Hands fd down. False if no process could be made: the fd is kept pending. */
static bool hand_down(struct socket *s, int fd, const struct us_peer *peer)
{
        struct accepted a = { .fd = fd, .peer = *peer, .socket = s->cfg };
        int r = dispatch_connection(s->w, &a);

        if (r == DISPATCH_REFUSED) {
                refuse(s, fd, peer, a.why, a.reason);
        } else if (r < 0) {
                /* No process now (EAGAIN, ENOMEM): the client keeps its connection
                 * and gets its worker when the socket resumes. */
                s->pending_fd = fd;
                s->pending_peer = *peer;
                pause_resource(s, -r, "cannot start a worker");
                return false;
        }
        return true;
}

/* Retries the connection that found no process; false if it still does not. */
static bool retry_pending(struct socket *s)
{
        int fd = s->pending_fd;

        if (fd < 0)
                return true;
        s->pending_fd = -1;
        return hand_down(s, fd, &s->pending_peer);
}

static void accept_loop(struct socket *s)
{
        struct us_peer peer;

        for (int i = 0; i < ACCEPT_BUDGET && !s->pause && !s->w->gate; i++) {
                /* a slot of the rate is used only by a client that is there */
                if (s->cfg->rate_burst && (!us_accept_ready(s->l) || !rate_ok(s)))
                        break;
                int c = us_accept_flags(s->l, &peer, US_ACCEPT_NOWAIT);
                if (c < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
                                log_errno(LOG_ERR, -errno, "socket %s: accept", s->cfg->name);
                        pause_resource(s, errno, "accept");
                        break;
                }
                s->counts.accepted++;
                s->counters->accepted++;
                counters_changed(s->counters);
                if (!hand_down(s, c, &peer))
                        break;
        }
}

static int on_readable(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct socket *s = userdata;

        if (dispatch_hands_listener(s->w))
                dispatch_activate(s->w);
        else if (retry_pending(s))
                accept_loop(s);
        return 0;
}

void socket_resources_freed(struct socket *s)
{
        if (!(s->pause & SOCKET_PAUSE_RESOURCE))
                return;
        s->pause &= ~SOCKET_PAUSE_RESOURCE; /* a rate-limit pause keeps its timer */
        /* debug: tells a resume by a freed resource from one by the timer */
        log_msg(LOG_DEBUG, "socket %s: a resource came back: accepting again before the pause ends", s->cfg->name);
        if (retry_pending(s))
                update_io(s);
}

struct socket *socket_new(const struct cfg_socket *cs, struct worker *w, sd_event *e, struct counters *c)
{
        struct socket *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->cfg = cs;
        s->w = w;
        s->event = e;
        s->counters = c;
        s->refuse_rl = (struct ratelimit)RATELIMIT_INIT(10 * 1000000ULL, 5);
        s->pause_rl = (struct ratelimit)RATELIMIT_INIT(10 * 1000000ULL, 1);
        s->pending_fd = -1;
        return s;
}

void socket_adopt(struct socket *s, struct us_listener *l)
{
        s->l = l;
        s->nonblock_set = true; /* us_listener_adopt() */
        s->inherited = true;
        s->published_here = us_listener_published_at(l, s->cfg->path);
        log_msg(LOG_DEBUG, "socket %s: inherited fd %d (%s)", s->cfg->name, us_listener_fd(l),
                us_listener_path(l));
}

/* The socket an inherited fd is for: by FileDescriptorName, else by path;
 * through the indexes when there are (a restart that gets a thousand sockets
 * back from the fd store would compare each with every section). */
static struct socket *match_inherited(struct socket *const *socks, size_t n_socks, const struct strindex *names,
                                      const struct strindex *paths, const char *name, const char *path)
{
        size_t j;

        if (names) {
                if (strindex_get(names, name, &j) || strindex_get(paths, path, &j))
                        return socks[j];
                return NULL;
        }
        for (j = 0; j < n_socks; j++)
                if (strcmp(socks[j]->cfg->name, name) == 0)
                        return socks[j];
        for (j = 0; j < n_socks; j++)
                if (strcmp(socks[j]->cfg->path, path) == 0)
                        return socks[j];
        return NULL;
}

/* An inherited listener of another type than its section's: one of our
 * own from the fd store (the type changed since it was stored) gives way to a
 * new one, made over its file; a socket unit's is an error, named. */
static int adopt_other_type(struct socket *s, struct us_listener *l, const char *name, const char *file)
{
        const struct cfg_socket *cs = s->cfg;
        const char *had = config_socket_type_name(us_listener_type(l));

        if (us_listener_published_at(l, cs->path) && (s->replaces_name = strdup(name))) {
                log_msg(LOG_NOTICE, "socket %s: the fd store's socket is a %s socket, type = %s now: made anew",
                        cs->name, had, config_socket_type_name(cs->type));
                s->replaces = l;
                return 0;
        }
        /* An fd store's socket published elsewhere (the path changed too) or
         * abstract cannot be told from a socket unit's. */
        log_msg(LOG_ERR, "%s:%u: [socket:%s] has type = %s, but the inherited fd %d (name '%s', path %s) is a %s "
                "socket: make the socket unit's Listen...= and the section agree%s",
                file, cs->line, cs->name, config_socket_type_name(cs->type), us_listener_fd(l), name,
                us_listener_path(l), had,
                strcmp(us_listener_path(l), cs->path) != 0 || cs->path[0] == '@'
                        ? " (if it is the fd store's, from before the section changed, stop the service to "
                          "empty the store)" : "");
        us_close(l);
        return -EPROTOTYPE;
}

/* Listening fds from systemd: matched by FileDescriptorName, else by path. */
int socket_adopt_inherited(struct socket *const *socks, size_t n_socks, const char *file)
{
        int r = 0;
        struct strindex names = { 0 }, paths = { 0 };
        bool indexed = true;
        struct inherited *v;
        size_t n = inherit_listeners(&v);

        for (size_t j = 0; n && j < n_socks && indexed; j++)
                indexed = strindex_put(&names, socks[j]->cfg->name, j, NULL) >= 0 &&
                          strindex_put(&paths, socks[j]->cfg->path, j, NULL) >= 0; /* else scans */
        for (size_t i = 0; i < n; i++) {
                const char *name = v[i].name ? v[i].name : "", *path = us_listener_path(v[i].listener);
                struct socket *match = match_inherited(socks, n_socks, indexed ? &names : NULL,
                                                       indexed ? &paths : NULL, name, path);

                if (!match || match->l || match->replaces) {
                        log_msg(LOG_WARNING, "inherited fd %d (name '%s', path %s) %s; closed",
                                us_listener_fd(v[i].listener), name, path,
                                match ? "duplicates one already matched" : "matches no [socket:]");
                        continue;
                }
                if (us_listener_type(v[i].listener) != match->cfg->type) {
                        int k = adopt_other_type(match, v[i].listener, name, file);
                        r = r < 0 ? r : k;
                } else {
                        socket_adopt(match, v[i].listener);
                }
                v[i].listener = NULL;
        }
        inherit_free(v, n);
        strindex_free(&names);
        strindex_free(&paths);
        return r;
}

bool socket_is_units(const struct socket *s)
{
        return s->inherited && !s->published_here;
}

int socket_listen(struct socket *s, struct us_listen_batch *b, const struct socket *replaces)
{
        const struct cfg_socket *cs = s->cfg;
        struct us_listen_options o = {
                .backlog = cs->backlog, .mode = cs->mode, .uid = cs->uid, .gid = cs->gid, .type = cs->type,
                .replace = s->replaces,
        };

        if (replaces && replaces->l && !socket_is_units(replaces)) /* the unit's file is the unit's */
                o.replace = replaces->l;
        s->l = us_listen_batched(b, cs->path, &o);
        if (!s->l)
                return log_errno(LOG_ERR, -errno, "socket %s: %s", cs->name, cs->path);
        s->nonblock_set = true;
        if (s->replaces) {
                /* the fd store's socket of another type: its file is ours now, it goes */
                us_listener_set_unlink(s->replaces, false);
                us_close(s->replaces);
                s->replaces = NULL;
                inherit_unstore(s->replaces_name); /* the name it was stored under */
                free(s->replaces_name);
                s->replaces_name = NULL;
        }
        return 0;
}

int socket_open(struct socket *s, struct us_listen_batch *b)
{
        bool nonblock;
        int r;

        if (!s->l) {
                r = socket_listen(s, b, NULL);
                if (r < 0)
                        return r;
                inherit_store(s->cfg->name, s->l);
        }
        /* The daemon polls a listener non-blocking and accepts with NOWAIT; a
         * listener worker gets it blocking, as systemd hands sockets over.
         * Once a worker may have had it, it is set every time (the worker
         * shares its flags); before that it is known to be set. */
        nonblock = !dispatch_hands_listener(s->w);
        if (!nonblock || !s->nonblock_set) {
                if (us_listener_set_nonblock(s->l, nonblock) < 0)
                        log_errno(LOG_WARNING, -errno, "socket %s: O_NONBLOCK", s->cfg->name);
                s->nonblock_set = false;
        }
        if (!s->io) {
                r = sd_event_add_io(s->event, &s->io, us_listener_fd(s->l), EPOLLIN, on_readable, s);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "socket %s: watch", s->cfg->name);
        }
        update_io(s);
        return 0;
}

int socket_attach(struct socket *s)
{
        struct port p = {
                .name = s->cfg->name, .listener = s->l, .gate_changed = update_io, .userdata = s,
        };
        int r;

        if (s->attached)
                return 0; /* to s->w under its section: socket_update() detaches */
        r = worker_attach(s->w, &p);
        s->attached = r >= 0;
        if (r < 0)
                log_errno(LOG_ERR, r, "socket %s", s->cfg->name);
        return r;
}

void socket_detach(struct socket *s)
{
        if (s->attached)
                worker_detach(s->w, s);
        s->attached = false;
}

void socket_take_over(struct socket *s, struct socket *from)
{
        socket_detach(from);
        s->l = from->l;
        s->nonblock_set = from->nonblock_set;
        from->l = NULL;
        s->inherited = from->inherited;
        s->published_here = from->published_here;
}

void socket_store(struct socket *s)
{
        if (s->l && !socket_is_units(s))
                inherit_store(s->cfg->name, s->l);
}

/* The owner a socket file of cs gets: its own, else the daemon's, as at start. */
static uid_t owner_of(const struct cfg_socket *cs)
{
        return cs->uid != (uid_t)-1 ? cs->uid : geteuid();
}

static gid_t group_of(const struct cfg_socket *cs)
{
        return cs->gid != (gid_t)-1 ? cs->gid : getegid();
}

/* Do a and b give the file the same mode, owner and group? The same settings
 * need no look at the daemon's own ids: two system calls a socket, at every
 * reload, for nothing. */
static bool same_access(const struct cfg_socket *a, const struct cfg_socket *b)
{
        if (a->mode != b->mode)
                return false;
        if (a->uid == b->uid && a->gid == b->gid)
                return true;
        return owner_of(a) == owner_of(b) && group_of(a) == group_of(b);
}

/* A new mode, owner or group for the file of s: only on the socket file it is
 * bound to (a path renamed away or swapped for a link is left alone), in steps
 * that never grant what neither setting grants (us_listener_set_access). A
 * socket unit's socket has the unit's SocketMode=, SocketUser=, SocketGroup=. */
static void update_access(struct socket *s, const struct cfg_socket *old, const struct cfg_socket *cs)
{
        if (cs->path[0] == '@' || same_access(old, cs))
                return;
        if (socket_is_units(s)) {
                log_msg(LOG_NOTICE, "socket %s: mode, owner and group of %s are its socket unit's; not changed",
                        cs->name, cs->path);
                return;
        }
        if (us_listener_set_access(s->l, cs->path, cs->mode, owner_of(cs), group_of(cs)) < 0)
                log_errno(LOG_WARNING, -errno, "socket %s: mode and owner of %s not changed%s", cs->name,
                          cs->path, errno == ESTALE ? ": the path is no longer this socket's file" : "");
}

void socket_update(struct socket *s, const struct cfg_socket *cs, struct worker *w)
{
        const struct cfg_socket *old = s->cfg;

        socket_detach(s);
        s->cfg = cs;
        s->w = w;
        if (old->backlog != cs->backlog && us_listener_set_backlog(s->l, cs->backlog) < 0)
                log_errno(LOG_WARNING, -errno, "socket %s: backlog %d", cs->name, cs->backlog);
        update_access(s, old, cs);
}

void socket_close(struct socket *s)
{
        if (s->pending_fd >= 0) {
                /* accepted: one more try to serve it before the socket goes */
                int fd = s->pending_fd;
                struct accepted a = { .fd = fd, .peer = s->pending_peer, .socket = s->cfg };
                s->pending_fd = -1;
                if (dispatch_connection(s->w, &a) != DISPATCH_TAKEN) {
                        log_msg(LOG_WARNING, "socket %s: a connection accepted while no process could be made is closed",
                                s->cfg->name);
                        close(fd);
                }
        }
        socket_detach(s); /* its worker hands the listener to no process now */
        s->io = sd_event_source_disable_unref(s->io);
        s->resume = sd_event_source_disable_unref(s->resume);
        us_close(s->l);
        s->l = NULL;
        us_close(s->replaces);
        s->replaces = NULL;
        free(s->replaces_name);
        s->replaces_name = NULL;
}

void socket_retire(struct socket *s)
{
        inherit_unstore(s->cfg->name);
        if (s->l)
                us_listener_set_unlink(s->l, true); /* out of the store: a file it made goes */
        socket_close(s);
        /* one an earlier unixsockd made goes too, once nobody listens on it */
        if (s->published_here && us_path_is_stale(s->cfg->path))
                (void)unlink(s->cfg->path);
        free(s);
}

void socket_free(struct socket *s)
{
        if (!s)
                return;
        socket_close(s);
        free(s);
}
