/* Listeners: creation with atomic publication, adoption, settings (access, backlog,
 * blocking), the accept queue (sock_diag), accept, close. Whether a path is free or stale is path.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

struct us_listener {
        int fd;
        int type;               /* SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM */
        bool created;           /* we made the file at path */
        bool unlink;            /* ... and unlink it at close */
        dev_t dev;              /* ... if it is still this file */
        ino_t ino;
        char path[];
};

static struct us_listener *listener_new(int fd, int type, const char *path)
{
        size_t n = strlen(path) + 1;
        struct us_listener *l = malloc(sizeof(*l) + n);

        if (!l)
                return NULL;
        l->fd = fd;
        l->type = type;
        l->created = false;
        l->unlink = false;
        l->dev = 0;
        l->ino = 0;
        memcpy(l->path, path, n);
        return l;
}

/* What may we do at path? 0: create, 1: replace a stale socket, -1: errno says why not. */
static int check_path(const char *path)
{
        switch (usi_path_probe(path)) {
        case USI_PATH_FREE:
                return 0;
        case USI_PATH_STALE:
                return 1;
        case USI_PATH_LIVE:
                errno = EADDRINUSE;
                return -1;
        case USI_PATH_OTHER:
                errno = EEXIST;
                return -1;
        default:
                return -1;
        }
}

/* ".us-XXXXXXXX": the private directory a socket is bound in before it is
 * published beside it. */
static void temp_base(char base[static 16])
{
        unsigned char rnd[4];

        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
                static unsigned counter;
                unsigned v = (unsigned)getpid() * 2654435761u + ++counter;
                memcpy(rnd, &v, sizeof(rnd));
        }
        snprintf(base, 16, ".us-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
}

/* The directory of path in dir, and *ret_base pointed at its last part. */
static int parent_of(const char *path, char dir[static PATH_MAX], const char **ret_base)
{
        const char *slash = strrchr(path, '/');
        size_t dirlen;

        if (!slash) {
                *ret_base = path;
                strcpy(dir, ".");
                return 0;
        }
        dirlen = slash == path ? 1 : (size_t)(slash - path);
        if (dirlen >= PATH_MAX) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(dir, path, dirlen);
        dir[dirlen] = '\0';
        *ret_base = slash + 1;
        return 0;
}

/* A fresh directory of ours in dirfd, mode 0700: whatever is inside it nobody
 * else can create, rename or replace, whoever owns dirfd. Returns an O_PATH fd
 * of it and its name in name. EEXIST-like races are retried with a new name;
 * a directory we did not make (swapped in under the name) is never used. */
static int private_dir(int dirfd, char name[static 16])
{
        struct stat st;

        for (int tries = 0; tries < 16; tries++) {
                int fd;

                temp_base(name);
                if (mkdirat(dirfd, name, 0700) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -1;
                }
                fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue; /* renamed away or swapped for a link: not ours */
                if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) == 0)
                        return fd;
                usi_close(fd);
        }
        errno = EEXIST;
        return -1;
}

/* Removes the private directory name of dirfd if it is still the one privfd
 * holds (an empty directory somebody put under its name stays). */
static void private_dir_remove(int dirfd, const char *name, int privfd)
{
        struct stat a, b;
        int saved = errno;

        if (fstat(privfd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
            a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                (void)unlinkat(dirfd, name, AT_REMOVEDIR);
        errno = saved;
}

/* Binds fd to "s" in the private directory privfd (whose path from here is
 * dir/name): through its path when that fits sun_path (getsockname then shows
 * a name beside the socket's path), else through /proc/self/fd/PRIVFD/. Then
 * makes sure the socket did land in privfd: a path that a directory's owner
 * swapped for a link leads elsewhere, and that bind is undone by our caller. */
static int bind_private(int fd, const char *path, const char *name, int privfd, struct stat *ret_st)
{
        const char *slash = strrchr(path, '/');
        int dirlen = slash ? (int)(slash - path) + 1 : 0;
        char p[PATH_MAX + 32];
        struct sockaddr_un sa;
        socklen_t salen;
        struct stat st;

        snprintf(p, sizeof(p), "%.*s%s/s", dirlen, path, name);
        if (usi_addr(p, &sa, &salen) < 0) {
                snprintf(p, sizeof(p), "/proc/self/fd/%d/s", privfd);
                if (usi_addr(p, &sa, &salen) < 0)
                        return -1;
        }
        if (bind(fd, (struct sockaddr *)&sa, salen) < 0)
                return -1;
        if (fstatat(privfd, "s", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode)) {
                errno = EXDEV;
                return -1;
        }
        *ret_st = st; /* its inode: chown, chmod and rename keep it */
        return 0;
}

/* Moves privfd/s to dirfd/base: over a stale socket if replace, else only if
 * base is still free. */
static int publish(int privfd, int dirfd, const char *base, bool replace)
{
        if (replace)
                return renameat(privfd, "s", dirfd, base);
        if (renameat2(privfd, "s", dirfd, base, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -1;
        /* A file system without RENAME_NOREPLACE: link(2) fails on an existing path too. */
        if (linkat(privfd, "s", dirfd, base, 0) < 0)
                return -1;
        (void)unlinkat(privfd, "s", 0);
        return 0;
}

/* The private directory of the last listener published: kept while its caller
 * publishes more beside it (us_listen_batch_*), since making and removing a
 * directory for each socket costs a block allocated and freed (on ext4 with
 * discard, a synchronous discard at each removal) and dominates a start of
 * many sockets. Each publication renames "s" out, so the next finds it empty. */
struct us_listen_batch {
        int dirfd, privfd;      /* -1: none now */
        dev_t dev;              /* of dirfd, the directory it was made in */
        ino_t ino;
        char name[16];
};

struct us_listen_batch *us_listen_batch_new(void)
{
        struct us_listen_batch *b = malloc(sizeof(*b));

        if (!b)
                return NULL;
        b->dirfd = b->privfd = -1;
        b->dev = 0;
        b->ino = 0;
        b->name[0] = '\0';
        return b;
}

/* Removes b's private directory, if it has one. */
static void batch_drop(struct us_listen_batch *b)
{
        if (b->privfd >= 0) {
                (void)unlinkat(b->privfd, "s", 0); /* only a failed publication leaves it */
                private_dir_remove(b->dirfd, b->name, b->privfd);
                usi_close(b->privfd);
                usi_close(b->dirfd);
        }
        b->dirfd = b->privfd = -1;
}

void us_listen_batch_free(struct us_listen_batch *b)
{
        int saved = errno;

        if (!b)
                return;
        batch_drop(b);
        free(b);
        errno = saved;
}

/* The directory of path (O_PATH, in *ret_dirfd) and a private directory in it
 * (*ret_privfd, called name): b's when b made it in the very directory the
 * path names now (one stat(2), where opening and checking it again would take
 * three), else fresh ones, handed to b if there is one. *ret_owned: no b, the
 * caller removes and closes them. */
static int dirs_for(struct us_listen_batch *b, const char *path, const char **ret_base, int *ret_dirfd,
                    int *ret_privfd, char name[static 16], bool *ret_owned)
{
        char dir[PATH_MAX];
        struct stat st;
        int dirfd, privfd;

        if (parent_of(path, dir, ret_base) < 0)
                return -1;
        if (b && b->privfd >= 0 && stat(dir, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->ino) {
                *ret_dirfd = b->dirfd;
                *ret_privfd = b->privfd;
                memcpy(name, b->name, 16);
                *ret_owned = false;
                return 0;
        }
        dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return -1;
        privfd = private_dir(dirfd, name);
        if (privfd < 0)
                return usi_close(dirfd);
        if (b) {
                if (fstat(dirfd, &st) < 0) {
                        private_dir_remove(dirfd, name, privfd);
                        usi_close(privfd);
                        return usi_close(dirfd);
                }
                batch_drop(b);
                b->dirfd = dirfd;
                b->privfd = privfd;
                b->dev = st.st_dev;
                b->ino = st.st_ino;
                memcpy(b->name, name, 16);
        }
        *ret_dirfd = dirfd;
        *ret_privfd = privfd;
        *ret_owned = !b;
        return 0;
}

/* listen(2), which a datagram socket has no use for: it is ready once bound. */
static int listen_type(int fd, const struct us_listen_options *o, int backlog)
{
        return o->type == SOCK_DGRAM ? 0 : listen(fd, backlog);
}

static bool is_own_file(struct us_listener *l, const struct stat *st);

/* Is the file at path the socket file l is bound to (never through a symlink)? */
static bool is_file_of(const struct us_listener *l, const char *path)
{
        struct stat st;
        int saved = errno;
        /* an adopted one's inode is asked of the kernel once, and kept */
        bool r = lstat(path, &st) == 0 && is_own_file((struct us_listener *)l, &st);

        errno = saved;
        return r;
}

/* Binds fd at path, with its mode and owner, published atomically. Every
 * change to the socket file is made inside a fresh directory of our own, so a
 * user who owns the socket's directory can neither make us change another
 * file (a symlink swapped in) nor connect before the mode is final. */
static int listen_file(struct us_listen_batch *b, int fd, const char *path,
                       const struct us_listen_options *o, int backlog, struct stat *ret_st)
{
        char name[16];
        const char *base;
        int dirfd, privfd, replace, r;
        bool owned;
        struct stat st;

        /* our own file is replaced with no probe: a test connection would
         * leave a connection, closed already, in its queue */
        replace = o->replace && is_file_of(o->replace, path) ? 1 : check_path(path);
        if (replace < 0)
                return -1;
        if (dirs_for(b, path, &base, &dirfd, &privfd, name, &owned) < 0)
                return -1;
        if (bind_private(fd, path, name, privfd, &st) < 0 || listen_type(fd, o, backlog) < 0)
                goto fail;
        if ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) &&
            fchownat(privfd, "s", o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0)
                goto fail;
        /* US_MODE_DEFAULT: bind(2) gave it 0777 & ~umask already. */
        if (o->mode != US_MODE_DEFAULT && fchmodat(privfd, "s", o->mode & 07777, 0) < 0)
                goto fail;
        if (publish(privfd, dirfd, base, replace) < 0) {
                if (errno == EEXIST)
                        errno = EADDRINUSE; /* somebody took the path while we were binding */
                goto fail;
        }
        if (owned) {
                private_dir_remove(dirfd, name, privfd);
                usi_close(privfd);
                usi_close(dirfd);
        }
        *ret_st = st;
        return 0;

fail:
        r = errno;
        (void)unlinkat(privfd, "s", 0);
        if (owned) {
                private_dir_remove(dirfd, name, privfd);
                usi_close(privfd);
                usi_close(dirfd);
        } else {
                batch_drop(b); /* it may be what failed (swapped away): the next makes a fresh one */
        }
        errno = r;
        return -1;
}

struct us_listener *us_listen_batched(struct us_listen_batch *b, const char *path,
                                      const struct us_listen_options *opts)
{
        static const struct us_listen_options defaults = US_LISTEN_OPTIONS_INIT;
        const struct us_listen_options *o = opts ? opts : &defaults;
        int backlog = o->backlog > 0 ? o->backlog : US_DEFAULT_BACKLOG;
        int type = o->type ? o->type : SOCK_STREAM;
        struct sockaddr_un sa;
        socklen_t salen;
        struct us_listener *l;
        struct stat st = { 0 };
        int fd;

        if (type != SOCK_STREAM && type != SOCK_SEQPACKET && type != SOCK_DGRAM) {
                errno = EINVAL;
                return NULL;
        }
        if (usi_addr(path, &sa, &salen) < 0)
                return NULL;
        if (path[0] != '@' && path[strlen(path) - 1] == '/') {
                errno = EISDIR;
                return NULL;
        }
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return NULL;
        if (path[0] == '@') {
                if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen_type(fd, o, backlog) < 0)
                        goto fail;
        } else if (listen_file(b, fd, path, o, backlog, &st) < 0)
                goto fail;
        l = listener_new(fd, type, path);
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

struct us_listener *us_listen_with(const char *path, const struct us_listen_options *opts)
{
        return us_listen_batched(NULL, path, opts);
}

struct us_listener *us_listen(const char *path, int backlog)
{
        struct us_listen_options o = US_LISTEN_OPTIONS_INIT;

        o.backlog = backlog;
        return us_listen_with(path, &o);
}

int us_listener_fd_type(int fd)
{
        struct sockaddr_un sa;
        socklen_t len = sizeof(int), salen = sizeof(sa);
        int v, type;

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0)
                return -1;
        len = sizeof(type);
        if (v != AF_UNIX || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                goto not_one;
        if (type == SOCK_STREAM || type == SOCK_SEQPACKET) {
                len = sizeof(v);
                if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v)
                        return type;
        } else if (type == SOCK_DGRAM) {
                /* bound to a name, and no peer of its own: it receives from anyone */
                if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0 && salen > sizeof(sa_family_t) &&
                    getpeername(fd, (struct sockaddr *)&sa, &(socklen_t){ sizeof(sa) }) < 0 && errno == ENOTCONN)
                        return type;
        }
not_one:
        errno = ENOTSOCK;
        return -1;
}

bool us_is_listener_fd(int fd)
{
        int saved = errno;
        bool r = us_listener_fd_type(fd) >= 0;

        errno = saved;
        return r;
}

/* What sock_diag (UDIAG_SHOW_*) told about one socket. */
struct diag {
        bool has_vfs, has_rqlen;
        struct unix_diag_vfs vfs;
        struct unix_diag_rqlen rqlen;
};

/* Copies the attributes we know of one answer into d. */
static void diag_parse(struct nlmsghdr *h, size_t n, struct diag *d)
{
        for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
                struct unix_diag_msg *m = NLMSG_DATA(h);
                size_t len;

                if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
                        return;
                len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
                for (struct rtattr *at = (struct rtattr *)(m + 1); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
                        if (at->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(at) >= sizeof(d->vfs)) {
                                memcpy(&d->vfs, RTA_DATA(at), sizeof(d->vfs));
                                d->has_vfs = true;
                        } else if (at->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(at) >= sizeof(d->rqlen)) {
                                memcpy(&d->rqlen, RTA_DATA(at), sizeof(d->rqlen));
                                d->has_rqlen = true;
                        }
                }
        }
}

/* Asks the kernel (sock_diag, AF_NETLINK) about the socket fd, for the
 * UDIAG_SHOW_* bits in show. An error answer (the socket is gone, netlink
 * refused) is -1 with its errno. */
static int diag_query(int fd, unsigned show, struct diag *ret)
{
        struct {
                struct nlmsghdr nh;
                struct unix_diag_req req;
        } q = {
                .nh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                        .nlmsg_flags = NLM_F_REQUEST },
                .req = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_show = show,
                         .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
        };
        union {
                struct nlmsghdr nh;
                char buf[1024];
        } a;
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        struct diag d = { 0 };
        struct stat st;
        ssize_t n;
        int nl;

        if (fstat(fd, &st) < 0)
                return -1;
        q.req.udiag_ino = (unsigned)st.st_ino;
        nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (nl < 0)
                return -1;
        if (sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
                return usi_close(nl);
        do
                n = recv(nl, &a, sizeof(a), 0);
        while (n < 0 && errno == EINTR);
        usi_close(nl);
        if (n < 0)
                return -1;
        if (NLMSG_OK(&a.nh, (size_t)n) && a.nh.nlmsg_type == NLMSG_ERROR &&
            a.nh.nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                const struct nlmsgerr *e = NLMSG_DATA(&a.nh);

                errno = e->error < 0 ? -e->error : EPROTO;
                return -1;
        }
        diag_parse(&a.nh, (size_t)n, &d);
        *ret = d;
        return 0;
}

/* The socket file fd is bound to, as the kernel knows it (UDIAG_SHOW_VFS):
 * for a socket we did not bind, the only way to tell its file from one that
 * took its name. The kernel gives the low 32 bits of the inode number and its
 * own encoding of the device. */
static int bound_inode(int fd, dev_t *ret_dev, ino_t *ret_ino)
{
        struct diag d;

        if (diag_query(fd, UDIAG_SHOW_VFS, &d) < 0)
                return -1;
        if (!d.has_vfs) {
                errno = ENOENT;
                return -1;
        }
        *ret_dev = makedev(d.vfs.udiag_vfs_dev >> 20, d.vfs.udiag_vfs_dev & 0xfffff);
        *ret_ino = d.vfs.udiag_vfs_ino;
        return 0;
}

/* For a listening socket the kernel's "receive queue" is its accept queue and
 * its "write queue" the backlog listen(2) set (UDIAG_SHOW_RQLEN, what ss -x
 * shows as Recv-Q and Send-Q). */
int us_listener_queue(const struct us_listener *l, unsigned *ret_queued, unsigned *ret_max)
{
        struct diag d;

        if (l->type == SOCK_DGRAM) {
                errno = EOPNOTSUPP; /* the kernel would tell the bytes of the next datagram */
                return -1;
        }
        if (diag_query(l->fd, UDIAG_SHOW_RQLEN, &d) < 0)
                return -1;
        if (!d.has_rqlen) {
                errno = EOPNOTSUPP;
                return -1;
        }
        if (ret_queued)
                *ret_queued = d.rqlen.udiag_rqueue;
        if (ret_max)
                *ret_max = d.rqlen.udiag_wqueue;
        return 0;
}

/* Is st the socket file l is bound to? (The kernel tells adopted sockets'
 * inode numbers in 32 bits.) */
static bool is_bound_file(const struct us_listener *l, const struct stat *st)
{
        if (!S_ISSOCK(st->st_mode) || st->st_dev != l->dev || l->ino == 0)
                return false;
        return l->created ? st->st_ino == l->ino : (uint32_t)st->st_ino == (uint32_t)l->ino;
}

/* is_bound_file(), an adopted socket's file first asked of the kernel
 * (sock_diag): a daemon adopting a thousand sockets changes the access of
 * few. Where that is refused, false, as for any other file. */
static bool is_own_file(struct us_listener *l, const struct stat *st)
{
        if (!l->created && l->ino == 0)
                (void)bound_inode(l->fd, &l->dev, &l->ino);
        return is_bound_file(l, st);
}

struct us_listener *us_listener_adopt(int fd)
{
        struct sockaddr_un sa;
        socklen_t salen = sizeof(sa);
        char path[sizeof(sa.sun_path) + 2];
        int type = us_listener_fd_type(fd);

        if (type < 0)
                return NULL;
        if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 ||
            usi_addr_to_path(&sa, salen, path, sizeof(path)) < 0)
                return NULL;
        if (usi_set_nonblock(fd, true) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return NULL;
        /* Its file (bound_inode) is asked of the kernel when it is needed:
         * a daemon adopting a thousand sockets changes the access of few. */
        return listener_new(fd, type, path);
}

/* Is name ".us-" and 8 hex digits, followed by end or by "/s"? */
static bool is_temp_name(const char *name)
{
        if (strncmp(name, ".us-", 4) != 0 || strspn(name + 4, "0123456789abcdef") != 8)
                return false;
        return name[12] == '\0' || strcmp(name + 12, "/s") == 0;
}

bool us_listener_published_at(const struct us_listener *l, const char *path)
{
        const char *slash = strrchr(path, '/'), *b = l->path;
        size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;

        if (path[0] == '@' || b[0] == '@')
                return false;
        if (strncmp(b, "/proc/self/fd/", 14) == 0) {
                b += 14 + strspn(b + 14, "0123456789");
                return *b == '/' && is_temp_name(b + 1);
        }
        return strncmp(b, path, dirlen) == 0 && is_temp_name(b + dirlen);
}

void us_listener_set_unlink(struct us_listener *l, bool unlink_on_close)
{
        l->unlink = unlink_on_close;
}

/* listen(2) again on a listening socket changes only its backlog: the
 * connections already queued stay. */
int us_listener_set_backlog(struct us_listener *l, int backlog)
{
        if (l->type == SOCK_DGRAM) {
                errno = EOPNOTSUPP;
                return -1;
        }
        return listen(l->fd, backlog > 0 ? backlog : US_DEFAULT_BACKLOG);
}

int us_listener_set_nonblock(struct us_listener *l, bool nonblock)
{
        return usi_set_nonblock(l->fd, nonblock);
}

/* chmod(2) of the file an O_PATH fd holds, never of a path: fchmodat2 where
 * the kernel has it (6.6), else through its /proc/self/fd link. */
static int chmod_fd(int fd, mode_t mode)
{
#ifdef SYS_fchmodat2
        if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
                return 0;
        if (errno != ENOSYS && errno != EINVAL)
                return -1;
#endif
        char p[64];

        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        return chmod(p, mode);
}

int us_listener_set_access(struct us_listener *l, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
        struct stat st;
        mode_t mid;
        int fd, r = -1;

        if (!path)
                path = l->path;
        if (path[0] == '@' || path[0] == '\0') {
                errno = EINVAL;
                return -1;
        }
        fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0)
                goto out;
        if (!is_own_file(l, &st)) {
                errno = ESTALE; /* not the socket it is bound to (any more) */
                goto out;
        }
        mode &= 07777;
        if (uid == (uid_t)-1)
                uid = st.st_uid;
        if (gid == (gid_t)-1)
                gid = st.st_gid;
        if (uid == st.st_uid && gid == st.st_gid) {
                r = (st.st_mode & 07777) == mode ? 0 : chmod_fd(fd, mode);
                goto out;
        }
        /* Owner or group change: first what both the old and the new grant,
         * with no bits for a class whose principal changes; then the owner;
         * then the new mode. No one gets, at any moment, more than the old or
         * the new settings give them. */
        mid = st.st_mode & mode & 07777;
        if (uid != st.st_uid)
                mid &= ~(mode_t)0700;
        if (gid != st.st_gid)
                mid &= ~(mode_t)0070;
        if (mid != (st.st_mode & 07777) && chmod_fd(fd, mid) < 0)
                goto out;
        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0) {
                int saved = errno;
                (void)chmod_fd(fd, st.st_mode & 07777); /* the old settings, whole again */
                errno = saved;
                goto out;
        }
        r = chmod_fd(fd, mode);
out:
        usi_close(fd);
        return r;
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

int us_listener_type(const struct us_listener *l)
{
        return l->type;
}
