/* The service manager's notify socket, never blocking the event loop.
 *
 * sd_notify(3) sends on a blocking socket: when the manager does not read
 * (busy, stopped, or a test harness that reads only when it waits), its queue
 * fills (net.unix.max_dgram_qlen, 10 by default) and the daemon would stop in
 * sendmsg(2) with every client waiting. Here one socket is connected to
 * $NOTIFY_SOCKET and non-blocking; what does not go at once waits in order in a
 * bounded queue and goes when the socket is writable again (a connected
 * datagram socket polls writable when the peer's queue has room). A message of
 * STATUS= alone replaces the one waiting before it: only the latest matters. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

#define QUEUE_MAX 256
/* Slots FDSTORE= may not take: a daemon with more sockets than the queue
 * holds, under a manager that reads nothing while it starts, must still get
 * its READY=1 (or STOPPING=1, RELOADING=1) through. An FDSTORE= dropped
 * leaves the socket's file the daemon's, removed at stop. */
#define QUEUE_RESERVED 16

struct message {
        char *text;
        int fd;                 /* a dup of the fd passed, or -1 */
};

static struct {
        int sock;               /* -1: no service manager */
        struct sockaddr_un sa;
        socklen_t salen;
        sd_event_source *io, *watchdog;
        uint64_t watchdog_usec;
        struct message queue[QUEUE_MAX];
        size_t head, n;
        bool dropped_logged;
} nt = { .sock = -1 };

static int notify_connect(void)
{
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&nt.sa, nt.salen) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (nt.sock >= 0)
                close(nt.sock);
        nt.sock = fd;
        if (nt.io)
                (void)sd_event_source_set_io_fd(nt.io, fd);
        return 0;
}

static bool status_only(const char *text)
{
        return strncmp(text, "STATUS=", 7) == 0 && !strchr(text, '\n');
}

/* 1 sent, 0 the manager's queue is full, < 0 an error (logged by the caller). */
static int try_send(const struct message *m)
{
        struct iovec iov = { .iov_base = m->text, .iov_len = strlen(m->text) };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (m->fd >= 0) {
                memset(&control, 0, sizeof(control));
                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &m->fd, sizeof(int));
        }
        for (int tries = 0; tries < 2; tries++) {
                if (sendmsg(nt.sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                        return 1;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                        return 0;
                /* the manager made its socket again (daemon-reexec): once more */
                if ((errno != ECONNREFUSED && errno != ENOTCONN) || notify_connect() < 0)
                        break;
        }
        return -errno;
}

static void message_free(struct message *m)
{
        free(m->text);
        if (m->fd >= 0)
                close(m->fd);
        m->text = NULL;
        m->fd = -1;
}

/* Sends what waits, in order, until the manager's queue is full again. */
static void flush(void)
{
        while (nt.n) {
                struct message *m = &nt.queue[nt.head];
                int r = try_send(m);
                if (r == 0)
                        break;
                if (r < 0)
                        log_errno(LOG_WARNING, r, "notify socket: a message is lost");
                message_free(m);
                nt.head = (nt.head + 1) % QUEUE_MAX;
                nt.n--;
        }
        if (nt.io)
                sd_event_source_set_enabled(nt.io, nt.n ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_writable(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        flush();
        return 0;
}

static int on_watchdog(sd_event_source *es, uint64_t usec, void *userdata)
{
        notify_send("WATCHDOG=1", -1);
        sd_event_source_set_time(es, usec + nt.watchdog_usec / 2);
        sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        return 0;
}

int notify_open(sd_event *e)
{
        const char *path = getenv("NOTIFY_SOCKET");
        size_t len;
        int r;

        if (!path || !*path)
                return 0;
        len = strlen(path);
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof(nt.sa.sun_path)) {
                log_msg(LOG_WARNING, "NOTIFY_SOCKET=%s: not a unix socket path; the service manager is not told", path);
                return 0;
        }
        nt.sa.sun_family = AF_UNIX;
        memcpy(nt.sa.sun_path, path, len);
        if (path[0] == '@')
                nt.sa.sun_path[0] = '\0';
        nt.salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
        r = notify_connect();
        if (r < 0)
                return log_errno(LOG_WARNING, r, "NOTIFY_SOCKET=%s", path);
        r = sd_event_add_io(e, &nt.io, nt.sock, EPOLLOUT, on_writable, NULL);
        if (r < 0)
                return log_errno(LOG_ERR, r, "notify socket: watch");
        sd_event_source_set_enabled(nt.io, SD_EVENT_OFF);
        /* WATCHDOG=1 through the same queue: sd-event's own would block. */
        if (sd_watchdog_enabled(0, &nt.watchdog_usec) > 0 && nt.watchdog_usec >= 2) {
                r = sd_event_add_time_relative(e, &nt.watchdog, CLOCK_MONOTONIC, nt.watchdog_usec / 2, 0,
                                               on_watchdog, NULL);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "watchdog timer");
        }
        return 0;
}

int notify_send(const char *text, int fd)
{
        struct message m = { .text = (char *)text, .fd = fd };
        struct message *last;
        int r;

        if (nt.sock < 0)
                return 0;
        /* What waits goes first, now if the manager has read since: a daemon
         * that sends many messages before its loop runs (FDSTORE= for each of
         * a thousand sockets at start) would otherwise queue every one after
         * the first full moment, and drop those past the queue. */
        if (nt.n)
                flush();
        if (nt.n == 0) {
                r = try_send(&m);
                if (r != 0)
                        return r < 0 ? log_errno(LOG_WARNING, r, "notify socket") : 1;
        }
        last = nt.n ? &nt.queue[(nt.head + nt.n - 1) % QUEUE_MAX] : NULL;
        if (last && status_only(text) && status_only(last->text)) {
                char *t = strdup(text);
                if (!t)
                        return -ENOMEM;
                free(last->text);
                last->text = t;
                return 1;
        }
        if (nt.n >= (strncmp(text, "FDSTORE=", 8) == 0 ? QUEUE_MAX - QUEUE_RESERVED : QUEUE_MAX)) {
                if (!nt.dropped_logged)
                        log_msg(LOG_WARNING, "notify socket: the service manager reads nothing; "
                                "%zu messages wait, later ones are dropped", nt.n);
                nt.dropped_logged = true;
                return -ENOBUFS;
        }
        m.text = strdup(text);
        m.fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
        if (!m.text || (fd >= 0 && m.fd < 0)) {
                r = m.text ? -errno : -ENOMEM;
                free(m.text);
                return r;
        }
        nt.queue[(nt.head + nt.n) % QUEUE_MAX] = m;
        nt.n++;
        if (nt.io)
                sd_event_source_set_enabled(nt.io, SD_EVENT_ON);
        return 1;
}

void notify_close(void)
{
        /* What is still queued is tried once more, without waiting. */
        if (nt.sock >= 0)
                flush();
        while (nt.n) {
                message_free(&nt.queue[nt.head]);
                nt.head = (nt.head + 1) % QUEUE_MAX;
                nt.n--;
        }
        nt.io = sd_event_source_disable_unref(nt.io);
        nt.watchdog = sd_event_source_disable_unref(nt.watchdog);
        if (nt.sock >= 0)
                close(nt.sock);
        nt.sock = -1;
}
