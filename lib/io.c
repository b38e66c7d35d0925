/* Connected sockets: connect, pairs, sends that never raise SIGPIPE, fd passing, stdio ports. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unixsock.h"

int us_connect(const char *path)
{
        struct sockaddr_un sa;
        socklen_t len, errlen;
        int fd, err;

        if (usi_addr(path, &sa, &len) < 0)
                return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
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

ssize_t us_send_fd(int sock, const void *hdr, size_t len, int passfd)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = { .iov_base = (void *)hdr, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (len < 1 || len > US_MSG_MAX) {
                errno = EINVAL;
                return -1;
        }
        if (passfd >= 0) {
                memset(&ctl, 0, sizeof(ctl));
                mh.msg_control = ctl.buf;
                mh.msg_controllen = sizeof(ctl.buf);
                ctl.h.cmsg_level = SOL_SOCKET;
                ctl.h.cmsg_type = SCM_RIGHTS;
                ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(&ctl.h), &passfd, sizeof(int));
        }
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n;
}

/* Closes every fd carried by the control messages of mh. */
static void close_passed(struct msghdr *mh)
{
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        usi_close(fd);
                }
        }
}

ssize_t us_recv_fd(int sock, void *hdr, size_t len, int *ret_fd)
{
        /* Room for more fds than we accept, so extra ones are seen and closed,
         * not silently dropped by the kernel behind MSG_CTRUNC. */
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } ctl;
        struct iovec iov = { .iov_base = hdr, .iov_len = len };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
        };
        int fd = -1, nfds = 0;
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
                }
        }
        if ((mh.msg_flags & MSG_CTRUNC) || nfds > 1) {
                close_passed(&mh);
                errno = EBADMSG;
                return -1;
        }
        if (mh.msg_flags & MSG_TRUNC) {
                close_passed(&mh);
                errno = EMSGSIZE;
                return -1;
        }
        *ret_fd = nfds ? fd : -1;
        return n;
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
