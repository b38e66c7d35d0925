/* Listeners: creation with atomic publication, adoption, accept, close. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

struct us_listener {
        int fd;
        bool created;           /* we made the file at path */
        bool unlink;            /* ... and unlink it at close */
        dev_t dev;              /* ... if it is still this file */
        ino_t ino;
        char path[];
};

int usi_close(int fd)
{
        int saved = errno;

        if (fd >= 0)
                (void)close(fd);
        errno = saved;
        return -1;
}

static struct us_listener *listener_new(int fd, const char *path)
{
        size_t n = strlen(path) + 1;
        struct us_listener *l = malloc(sizeof(*l) + n);

        if (!l)
                return NULL;
        l->fd = fd;
        l->created = false;
        l->unlink = false;
        l->dev = 0;
        l->ino = 0;
        memcpy(l->path, path, n);
        return l;
}

/* Is somebody accepting on the socket file at path? 1 yes, 0 no (stale), -1 error. */
static int socket_is_live(const char *path)
{
        struct sockaddr_un sa;
        socklen_t len;
        int fd, r;

        if (usi_addr(path, &sa, &len) < 0)
                return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -1;
        r = connect(fd, (struct sockaddr *)&sa, len);
        if (r < 0 && errno == ECONNREFUSED)
                r = 0;
        else if (r < 0 && errno == ENOENT)
                r = -1;
        else
                r = 1; /* accepted, queue full (EAGAIN), or we may not know (EACCES): hands off */
        usi_close(fd);
        return r;
}

/* What may we do at path? 0: create, 1: replace a stale socket, -1: errno says why not. */
static int check_path(const char *path)
{
        struct stat st;
        int r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -1;
        if (!S_ISSOCK(st.st_mode)) {
                errno = EEXIST;
                return -1;
        }
        r = socket_is_live(path);
        if (r < 0)
                return errno == ENOENT ? 0 : -1;
        if (r > 0) {
                errno = EADDRINUSE;
                return -1;
        }
        return 1;
}

/* A name for the temporary socket, in the directory of path, written to tmp
 * (for rename and friends) and bindable as *sa: directly when it fits sun_path,
 * else through /proc/self/fd/DIRFD/ with dirfd opened here. */
static int temp_name(const char *path, char tmp[static PATH_MAX], int *dirfd,
                     struct sockaddr_un *sa, socklen_t *salen)
{
        const char *slash = strrchr(path, '/');
        size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
        unsigned char rnd[4];
        char base[32];

        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
                static unsigned counter;
                unsigned v = (unsigned)getpid() * 2654435761u + ++counter;
                memcpy(rnd, &v, sizeof(rnd));
        }
        snprintf(base, sizeof(base), ".us-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
        if (dirlen + strlen(base) + 1 > PATH_MAX) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(tmp, path, dirlen);
        strcpy(tmp + dirlen, base);
        if (usi_addr(tmp, sa, salen) == 0)
                return 0;
        if (*dirfd < 0) {
                char dir[PATH_MAX];

                memcpy(dir, path, dirlen);
                dir[dirlen] = '\0';
                *dirfd = open(dirlen ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (*dirfd < 0)
                        return -1;
        }
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", *dirfd, base);
        return usi_addr(proc, sa, salen);
}

/* Moves tmp to path: over a stale socket if replace, else only if path is still free. */
static int publish(const char *tmp, const char *path, bool replace)
{
        if (replace)
                return rename(tmp, path);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -1;
        /* A file system without RENAME_NOREPLACE: link(2) fails on an existing path too. */
        if (link(tmp, path) < 0)
                return -1;
        (void)unlink(tmp);
        return 0;
}

static int listen_file(int fd, const char *path, const struct us_listen_options *o,
                       int backlog, struct stat *ret_st)
{
        char tmp[PATH_MAX];
        struct sockaddr_un sa;
        socklen_t salen;
        int dirfd = -1, r, replace, tries = 0;
        mode_t old;

        replace = check_path(path);
        if (replace < 0)
                return -1;
        for (;;) {
                if (temp_name(path, tmp, &dirfd, &sa, &salen) < 0)
                        goto fail;
                /* Nobody may connect to the socket until it has its final mode. */
                old = umask(0777);
                r = bind(fd, (struct sockaddr *)&sa, salen);
                umask(old);
                if (r == 0)
                        break;
                if (errno != EADDRINUSE || ++tries >= 16)
                        goto fail;
        }
        if (listen(fd, backlog) < 0)
                goto fail_unlink;
        if ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) && lchown(tmp, o->uid, o->gid) < 0)
                goto fail_unlink;
        if (chmod(tmp, o->mode == US_MODE_DEFAULT ? 0777 & ~old : o->mode & 07777) < 0)
                goto fail_unlink;
        if (publish(tmp, path, replace) < 0) {
                if (errno == EEXIST)
                        errno = EADDRINUSE; /* somebody took the path while we were binding */
                goto fail_unlink;
        }
        usi_close(dirfd);
        if (lstat(path, ret_st) < 0)
                memset(ret_st, 0, sizeof(*ret_st));
        return 0;

fail_unlink:
        r = errno;
        (void)unlink(tmp);
        errno = r;
fail:
        return usi_close(dirfd);
}

struct us_listener *us_listen_with(const char *path, const struct us_listen_options *opts)
{
        static const struct us_listen_options defaults = US_LISTEN_OPTIONS_INIT;
        const struct us_listen_options *o = opts ? opts : &defaults;
        int backlog = o->backlog > 0 ? o->backlog : US_DEFAULT_BACKLOG;
        struct sockaddr_un sa;
        socklen_t salen;
        struct us_listener *l;
        struct stat st;
        int fd;

        if (usi_addr(path, &sa, &salen) < 0)
                return NULL;
        if (path[0] != '@' && path[strlen(path) - 1] == '/') {
                errno = EISDIR;
                return NULL;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return NULL;
        if (path[0] == '@') {
                if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, backlog) < 0)
                        goto fail;
        } else if (listen_file(fd, path, o, backlog, &st) < 0)
                goto fail;
        l = listener_new(fd, path);
        if (!l) {
                if (path[0] != '@')
                        (void)unlink(path);
                goto fail;
        }
        if (path[0] != '@') {
                l->created = l->unlink = true;
                l->dev = st.st_dev;
                l->ino = st.st_ino;
        }
        return l;
fail:
        usi_close(fd);
        return NULL;
}

struct us_listener *us_listen(const char *path, int backlog)
{
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;

        o.backlog = backlog;
        return us_listen_with(path, &o);
}

bool us_is_listener_fd(int fd)
{
        int v;
        socklen_t len = sizeof(v);

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_UNIX)
                return false;
        len = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM)
                return false;
        len = sizeof(v);
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

struct us_listener *us_listener_adopt(int fd)
{
        struct sockaddr_un sa;
        socklen_t salen = sizeof(sa);
        char path[sizeof(sa.sun_path) + 2];
        int fl;

        if (!us_is_listener_fd(fd)) {
                if (fcntl(fd, F_GETFD) >= 0)
                        errno = ENOTSOCK;
                return NULL;
        }
        if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 ||
            usi_addr_to_path(&sa, salen, path, sizeof(path)) < 0)
                return NULL;
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return NULL;
        return listener_new(fd, path);
}

void us_listener_set_unlink(struct us_listener *l, bool unlink_on_close)
{
        l->unlink = unlink_on_close;
}

int us_close(struct us_listener *l)
{
        struct stat st;
        int r = 0;

        if (!l)
                return 0;
        /* Another server may have taken the path since: only our own file goes. */
        if (l->created && l->unlink && lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
                (void)unlink(l->path);
        if (close(l->fd) < 0 && errno != EINTR)
                r = -1;
        free(l);
        return r;
}

int us_accept_flags(struct us_listener *l, struct us_peer *peer, int flags)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct pollfd p = { .fd = l->fd, .events = POLLIN };
        int fd;

        for (;;) {
                fd = accept4(l->fd, NULL, NULL,
                             SOCK_CLOEXEC | ((flags & US_ACCEPT_NONBLOCK) ? SOCK_NONBLOCK : 0));
                if (fd >= 0)
                        break;
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                        continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return -1;
                if (flags & US_ACCEPT_NOWAIT)
                        return -1;
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return -1;
        }
        if (peer) {
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                        return usi_close(fd);
                peer->pid = cred.pid;
                peer->uid = cred.uid;
                peer->gid = cred.gid;
        }
        return fd;
}

int us_accept(struct us_listener *l, struct us_peer *peer)
{
        return us_accept_flags(l, peer, 0);
}

bool us_accept_ready(struct us_listener *l)
{
        struct pollfd p = { .fd = l->fd, .events = POLLIN };
        int r;

        do
                r = poll(&p, 1, 0);
        while (r < 0 && errno == EINTR);
        return r > 0 && (p.revents & POLLIN);
}

int us_listener_fd(const struct us_listener *l)
{
        return l->fd;
}

const char *us_listener_path(const struct us_listener *l)
{
        return l->path;
}
