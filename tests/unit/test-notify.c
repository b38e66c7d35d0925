/* notify: messages to $NOTIFY_SOCKET in order, never blocking, none lost
 * while the manager keeps reading. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"
#include "notify.h"

static char *dir;
static int manager = -1;
static sd_event *event;

/* The service manager's side: a datagram socket at $NOTIFY_SOCKET. */
static void setup(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        dir = make_tmpdir();
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        manager = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert(manager >= 0);
        cr_assert(bind(manager, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        cr_assert(setenv("NOTIFY_SOCKET", sa.sun_path, 1) == 0);
        cr_assert(sd_event_new(&event) >= 0);
        cr_assert(notify_open(event) == 0);
}

static void teardown(void)
{
        notify_close();
        sd_event_unref(event);
        close(manager);
        rm_rf(dir);
        free(dir);
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 60);

/* Reads what the manager's queue holds; checks that message k is "FDSTORE=1
 * FDNAME=s<k>" with one fd, in order from *next. */
static void manager_reads(int *next)
{
        for (;;) {
                char buf[128], want[64];
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                ssize_t n = recvmsg(manager, &mh, MSG_CMSG_CLOEXEC);
                struct cmsghdr *c;
                int fd;

                if (n < 0) {
                        cr_assert(errno == EAGAIN, "%s", strerror(errno));
                        return;
                }
                buf[n] = '\0';
                snprintf(want, sizeof(want), "FDSTORE=1\nFDNAME=s%d", *next);
                cr_assert_str_eq(buf, want);
                c = CMSG_FIRSTHDR(&mh);
                cr_assert(c && c->cmsg_type == SCM_RIGHTS, "its fd came along");
                memcpy(&fd, CMSG_DATA(c), sizeof(fd));
                close(fd);
                (*next)++;
        }
}

Test(notify, what_waits_goes_before_the_next_message_once_the_manager_has_read)
{
        enum { N = 200 };
        char msg[64];
        int next = 0, sent = 0, fds[2];

        cr_assert(pipe2(fds, O_CLOEXEC) == 0);
        /* more than the manager's queue takes (net.unix.max_dgram_qlen): the
         * rest waits in the daemon, and the event loop does not run */
        for (; sent < N; sent++) {
                snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=s%d", sent);
                cr_assert_eq(notify_send(msg, fds[0]), 1);
        }
        /* the manager reads between the daemon's sends: the waiting ones go first */
        for (int rounds = 0; next < sent && rounds < 10 * N; rounds++) {
                manager_reads(&next);
                snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=s%d", sent);
                cr_assert_eq(notify_send(msg, fds[0]), 1);
                sent++;
                if (sent > 2 * N)
                        break;
        }
        manager_reads(&next);
        cr_assert_geq(next, N, "%d of the first %d arrived while the daemon kept sending", next, N);
        close(fds[0]);
        close(fds[1]);
}
