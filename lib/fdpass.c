/* fd passing: one message with its file descriptors (SCM_RIGHTS), received
 * close-on-exec and checked strictly (extra or truncated fds are closed, never kept). */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "unixsock.h"

ssize_t us_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * US_FRAME_BATCH_MAX)];
        } ctl;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t r;

        if (len < 1 || len > US_MSG_MAX || n > US_FRAME_BATCH_MAX) {
                errno = EINVAL;
                return -1;
        }
        if (n) {
                memset(&ctl, 0, sizeof(ctl));
                mh.msg_control = ctl.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                ctl.h.cmsg_level = SOL_SOCKET;
                ctl.h.cmsg_type = SCM_RIGHTS;
                ctl.h.cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(&ctl.h), fds, sizeof(int) * n);
        }
        do
                r = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        return r;
}

ssize_t us_send_fd(int sock, const void *hdr, size_t len, int passfd)
{
        return us_send_fds(sock, hdr, len, &passfd, passfd >= 0);
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

ssize_t us_recv_fds(int sock, void *buf, size_t len, int *fds, size_t max, size_t *ret_n)
{
        /* Room for more fds than we accept, so extra ones are seen and closed,
         * not silently dropped by the kernel behind MSG_CTRUNC. */
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * (US_FRAME_BATCH_MAX + 8))];
        } ctl;
        struct iovec iov = { .iov_base = buf, .iov_len = len };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
        };
        size_t nfds = 0;
        ssize_t n;

        if (max > US_FRAME_BATCH_MAX) {
                errno = EINVAL;
                return -1;
        }
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        nfds += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if ((mh.msg_flags & MSG_CTRUNC) || nfds > max) {
                close_passed(&mh);
                errno = EBADMSG;
                return -1;
        }
        if (mh.msg_flags & MSG_TRUNC) {
                close_passed(&mh);
                errno = EMSGSIZE;
                return -1;
        }
        nfds = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                memcpy(fds + nfds, CMSG_DATA(c), k * sizeof(int));
                nfds += k;
        }
        *ret_n = nfds;
        return n;
}

ssize_t us_recv_fd(int sock, void *hdr, size_t len, int *ret_fd)
{
        size_t n;
        ssize_t r = us_recv_fds(sock, hdr, len, ret_fd, 1, &n);

        if (r >= 0 && n == 0)
                *ret_fd = -1;
        return r;
}
