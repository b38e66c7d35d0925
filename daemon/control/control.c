/* The control socket's server: accept with a bound, one line in, one JSON
 * answer out, a deadline on each client, credentials checked per command. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "unixsock.h"

#define WORDS_MAX 64

struct client {
        struct control *c;
        int fd;
        struct control_peer peer;
        sd_event_source *io, *deadline;
        char in[CONTROL_LINE_MAX];
        size_t n_in;
        char *out;                      /* the answer, once there is one */
        size_t n_out, off;
        bool stop_after;
        struct client *prev, *next;
};

struct control {
        sd_event *event;
        struct us_listener *l;
        char *path;
        bool has_group;
        gid_t gid;
        sd_event_source *io;
        struct control_ops ops;
        struct client *clients;
        unsigned n_clients;
};

static void update_accepting(struct control *c)
{
        if (c->io)
                sd_event_source_set_enabled(c->io, c->n_clients < CONTROL_CLIENTS_MAX ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void client_free(struct client *k)
{
        struct control *c = k->c;
        bool stop = k->stop_after; /* answered, or the client went away: stop all the same */

        if (k->prev)
                k->prev->next = k->next;
        else
                c->clients = k->next;
        if (k->next)
                k->next->prev = k->prev;
        sd_event_source_disable_unref(k->io);
        sd_event_source_disable_unref(k->deadline);
        close(k->fd);
        free(k->out);
        free(k);
        c->n_clients--;
        update_accepting(c);
        if (stop && c->ops.stop)
                c->ops.stop(c->ops.userdata);
}

/* Is the peer of fd in group gid, as primary or supplementary group? */
static bool peer_in_group(int fd, gid_t primary, gid_t gid)
{
        gid_t small[64], *g = small;
        socklen_t len = sizeof(small);
        bool in = primary == gid;

        if (in)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
                if (errno != ERANGE || !(g = malloc(len)))
                        return false;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
                        len = 0;
        }
        for (size_t i = 0; i < len / sizeof(gid_t) && !in; i++)
                in = g[i] == gid;
        if (g != small)
                free(g);
        return in;
}

/* The words of line in words[]; WORDS_MAX + 1 if there are more. */
static size_t split(char *line, char *words[static WORDS_MAX])
{
        size_t n = 0;

        for (char *p = line; *p;) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                if (n == WORDS_MAX)
                        return WORDS_MAX + 1;
                words[n++] = p;
                p += strcspn(p, " \t");
                if (*p)
                        *p++ = '\0';
        }
        return n;
}

enum access { READ_ONLY, CHANGING };

struct command {
        const char *name;
        enum access access;
        int min_args, max_args;
};

static const struct command commands[] = {
        { "status", READ_ONLY, 0, WORDS_MAX },
        { "reload", CHANGING, 0, 0 },
        { "restart", CHANGING, 1, 1 },
        { "pause", CHANGING, 1, 1 },
        { "resume", CHANGING, 1, 1 },
        { "stop", CHANGING, 0, 0 },
};

static const struct command *find_command(const char *name)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

static bool may_run(const struct control_peer *p, enum access a)
{
        return p->uid == 0 || p->uid == geteuid() || (a == READ_ONLY && p->in_group);
}

/* Runs what words[] ask; 0, or a negative errno with *error. */
static int run(const struct control_ops *ops, const struct control_peer *p, char **words, size_t n,
               json_object *answer, const char **error, bool *ret_stop)
{
        static char buf[256];
        const struct command *cmd;

        if (n > WORDS_MAX) {
                *error = "more than 64 words in the request";
                return -E2BIG;
        }
        if (n == 0 || strcmp(words[0], CONTROL_PROTOCOL) != 0) {
                snprintf(buf, sizeof(buf), n && strncmp(words[0], "unixsockd/", 10) == 0
                         ? "protocol '%.64s' not supported (this daemon speaks " CONTROL_PROTOCOL ")"
                         : "not a request: a request line starts with " CONTROL_PROTOCOL "%.0s", n ? words[0] : "");
                *error = buf;
                return -EPROTONOSUPPORT;
        }
        if (n < 2 || !(cmd = find_command(words[1]))) {
                snprintf(buf, sizeof(buf), n < 2 ? "no command" : "unknown command '%.64s'", n < 2 ? "" : words[1]);
                *error = buf;
                return -EINVAL;
        }
        if ((int)n - 2 < cmd->min_args || (int)n - 2 > cmd->max_args) {
                snprintf(buf, sizeof(buf), "%s takes %s", cmd->name,
                         cmd->max_args == 0 ? "no argument" : cmd->min_args ? "one name" : "names");
                *error = buf;
                return -EINVAL;
        }
        if (!may_run(p, cmd->access)) {
                snprintf(buf, sizeof(buf), "uid %u may not run '%s'", (unsigned)p->uid, cmd->name);
                *error = buf;
                return -EPERM;
        }
        log_msg(cmd->access == CHANGING ? LOG_INFO : LOG_DEBUG, "control: uid %u pid %d: %s",
                (unsigned)p->uid, (int)p->pid, cmd->name);
        if (strcmp(cmd->name, "status") == 0)
                return ops->status(ops->userdata, words + 2, n - 2, answer, error);
        if (strcmp(cmd->name, "reload") == 0)
                return ops->reload(ops->userdata, answer, error);
        if (strcmp(cmd->name, "restart") == 0)
                return ops->restart(ops->userdata, words[2], error);
        if (strcmp(cmd->name, "stop") == 0) {
                *ret_stop = true;
                return 0;
        }
        return ops->pause(ops->userdata, words[2], strcmp(cmd->name, "pause") == 0, error);
}

char *control_answer(const struct control_ops *ops, const struct control_peer *p, char *line,
                     const char *error, bool *ret_stop)
{
        json_object *a = json_object_new_object();
        char *words[WORDS_MAX], *out;
        const char *text;
        size_t n;
        int r = -EINVAL;

        *ret_stop = false;
        json_object_object_add(a, "protocol", json_object_new_int(1));
        if (!error)
                r = run(ops, p, words, split(line, words), a, &error, ret_stop);
        json_object_object_add(a, "ok", json_object_new_boolean(r >= 0));
        if (r < 0)
                json_object_object_add(a, "error", json_object_new_string(error ? error : strerror(-r)));
        text = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        n = strlen(text);
        out = malloc(n + 2);
        if (out) {
                memcpy(out, text, n);
                memcpy(out + n, "\n", 2);
        }
        json_object_put(a);
        return out;
}

/* The answer to line (or to what went wrong, if error), ready to write. */
static void answer(struct client *k, char *line, const char *error)
{
        k->out = control_answer(&k->c->ops, &k->peer, line, error, &k->stop_after);
        k->n_out = k->out ? strlen(k->out) : 0;
        sd_event_source_set_io_events(k->io, EPOLLOUT);
}

/* Writes what is left of the answer; true when it is all out (or cannot be). */
static bool flush(struct client *k)
{
        while (k->off < k->n_out) {
                ssize_t n = send(k->fd, k->out + k->off, k->n_out - k->off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return false;
                if (n <= 0)
                        return true; /* the client went away: nothing more to say */
                k->off += (size_t)n;
        }
        return true;
}

/* Reads what the client sent; the line, once complete, gets its answer. */
static void receive(struct client *k)
{
        char *nl;
        ssize_t n = recv(k->fd, k->in + k->n_in, sizeof(k->in) - k->n_in, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
        if (n <= 0) {
                if (k->n_in == 0) {
                        client_free(k); /* connected and left: nothing to answer */
                        return;
                }
                answer(k, NULL, "the request line has no newline");
                return;
        }
        k->n_in += (size_t)n;
        nl = memchr(k->in, '\n', k->n_in);
        if (nl) {
                *nl = '\0';
                answer(k, k->in, memchr(k->in, '\0', (size_t)(nl - k->in)) ? "a NUL byte in the request" : NULL);
        } else if (k->n_in == sizeof(k->in)) {
                answer(k, NULL, "request line longer than 4096 bytes");
        }
}

static int on_client(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct client *k = userdata;

        if (!k->out && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                receive(k);
        else if (k->out && flush(k))
                client_free(k);
        return 0;
}

static int on_deadline(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct client *k = userdata;

        log_msg(LOG_DEBUG, "control: uid %u pid %d: no request or no reading within %llus: cut off",
                (unsigned)k->peer.uid, (int)k->peer.pid, CONTROL_DEADLINE_USEC / 1000000ULL);
        client_free(k);
        return 0;
}

static void client_new(struct control *c, int fd, const struct us_peer *peer)
{
        struct client *k = calloc(1, sizeof(*k));

        if (!k || fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
            sd_event_add_io(c->event, &k->io, fd, EPOLLIN, on_client, k) < 0 ||
            sd_event_add_time_relative(c->event, &k->deadline, CLOCK_MONOTONIC, CONTROL_DEADLINE_USEC, 0,
                                       on_deadline, k) < 0) {
                if (k) {
                        sd_event_source_disable_unref(k->io);
                        free(k);
                }
                close(fd);
                return;
        }
        k->c = c;
        k->fd = fd;
        k->peer = (struct control_peer){
                .uid = peer->uid, .pid = peer->pid,
                .in_group = c->has_group && peer_in_group(fd, peer->gid, c->gid),
        };
        k->next = c->clients;
        if (k->next)
                k->next->prev = k;
        c->clients = k;
        c->n_clients++;
        update_accepting(c);
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct control *c = userdata;
        struct us_peer peer;

        while (c->n_clients < CONTROL_CLIENTS_MAX) {
                int k = us_accept_flags(c->l, &peer, US_ACCEPT_NOWAIT);
                if (k < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                log_errno(LOG_WARNING, -errno, "control: accept");
                        break;
                }
                client_new(c, k, &peer);
        }
        return 0;
}

int control_open(sd_event *e, const char *path, bool has_group, gid_t gid, const struct control_ops *ops,
                 struct control **ret)
{
        struct us_listen_options o = {
                .backlog = CONTROL_CLIENTS_MAX, .mode = has_group ? 0660 : 0600,
                .uid = geteuid(), .gid = has_group ? gid : getegid(),
        };
        struct control *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return log_errno(LOG_ERR, -ENOMEM, "control socket");
        c->event = sd_event_ref(e);
        c->ops = *ops;
        c->has_group = has_group;
        c->gid = gid;
        c->path = strdup(path);
        c->l = us_listen_with(path, &o);
        if (!c->path || !c->l) {
                r = log_errno(LOG_ERR, c->path ? -errno : -ENOMEM, "control socket %s", path);
                control_free(c);
                return r;
        }
        r = sd_event_add_io(e, &c->io, us_listener_fd(c->l), EPOLLIN, on_accept, c);
        if (r < 0) {
                control_free(c);
                return log_errno(LOG_ERR, r, "control socket %s: watch", path);
        }
        *ret = c;
        return 0;
}

bool control_is(const struct control *c, const char *path, bool has_group, gid_t gid)
{
        return c && strcmp(c->path, path) == 0 && c->has_group == has_group && (!has_group || c->gid == gid);
}

struct control *control_free(struct control *c)
{
        if (!c)
                return NULL;
        while (c->clients) {
                c->clients->stop_after = false;
                client_free(c->clients);
        }
        sd_event_source_disable_unref(c->io);
        us_close(c->l);
        free(c->path);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
