/* fd passing: one message with at most one file descriptor (SCM_RIGHTS), received
 * close-on-exec and checked strictly (extra or truncated fds are closed, never kept). */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "unixsock.h"

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
