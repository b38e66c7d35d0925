/* Connected sockets: connect, pairs, sends that never raise SIGPIPE, stdio ports
 * (fd passing is fdpass.c's). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

int us_connect_type(const char *path, int type)
{
        struct sockaddr_un sa;
        socklen_t len, errlen;
        int fd, err;

        if (type != SOCK_STREAM && type != SOCK_SEQPACKET && type != SOCK_DGRAM) {
                errno = EINVAL;
                return -1;
        }
        if (usi_addr(path, &sa, &len) < 0)
                return -1;
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        /* A datagram client needs an address to be answered at: autobind
         * (an address of only the family) gives it a fresh abstract one. */
        if (type == SOCK_DGRAM && bind(fd, (struct sockaddr *)&(struct sockaddr_un){ .sun_family = AF_UNIX },
                                       sizeof(sa_family_t)) < 0)
                return usi_close(fd);
        if (connect(fd, (struct sockaddr *)&sa, len) == 0)
                return fd;
        if (errno != EINTR)
                return usi_close(fd);
        /* Interrupted: the connection goes on by itself; wait for its outcome. */
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };

                if (poll(&p, 1, -1) >= 0)
                        break;
                if (errno != EINTR)
                        return usi_close(fd);
        }
        errlen = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
                return usi_close(fd);
        if (err) {
                errno = err;
                return usi_close(fd);
        }
        return fd;
}

int us_connect(const char *path)
{
        return us_connect_type(path, SOCK_STREAM);
}

int us_peer_groups(int fd, gid_t *groups, size_t max)
{
        socklen_t len = (socklen_t)(max > NGROUPS_MAX ? NGROUPS_MAX : max) * sizeof(gid_t);
        socklen_t alen = sizeof(int);
        int listening = 0;

        /* A listening socket has no peer: the kernel would answer with the
         * groups of whoever called listen(2). */
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &alen) == 0 && listening) {
                errno = ENODATA;
                return -1;
        }
        /* ERANGE when they do not fit, as the kernel says it */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return -1;
        return (int)(len / sizeof(gid_t));
}

int us_pair_type(int type, int fds[2])
{
        int base = type & ~SOCK_NONBLOCK;

        if (base != SOCK_STREAM && base != SOCK_SEQPACKET && base != SOCK_DGRAM) {
                errno = EINVAL;
                return -1;
        }
        return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds);
}

int us_pair(int fds[2])
{
        return us_pair_type(SOCK_STREAM, fds);
}

ssize_t us_send(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        size_t done = 0;

        while (done < len) {
                ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);

                if (n >= 0) {
                        done += (size_t)n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if ((errno == EAGAIN || errno == EWOULDBLOCK) && done > 0)
                        break;
                return -1;
        }
        return (ssize_t)done;
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t len)
{
        ssize_t n = us_send((int)(intptr_t)cookie, buf, len);

        /* stdio treats 0 as an error; report it as one it can keep in errno */
        return n < 0 ? -1 : n;
}

static int cookie_close(void *cookie)
{
        return close((int)(intptr_t)cookie);
}

int us_fdopen_pair(int fd, FILE **ret_in, FILE **ret_out)
{
        static const cookie_io_functions_t out_io = {
                .write = cookie_write,
                .close = cookie_close,
        };
        FILE *in, *out;
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

        if (dup < 0)
                return -1;
        out = fopencookie((void *)(intptr_t)dup, "w", out_io);
        if (!out)
                return usi_close(dup);
        in = fdopen(fd, "r");
        if (!in) {
                int saved = errno;
                fclose(out); /* closes dup, not fd */
                errno = saved;
                return -1;
        }
        *ret_in = in;
        *ret_out = out;
        return 0;
}
