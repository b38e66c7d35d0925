/* A pool worker that serves many connections at once (unixsockd dispatch =
 * pool): one epoll loop over its channel, made non-blocking (so libunixsock
 * asks the daemon for a credit of 64), and every connection it holds. Echoes
 * each until EOF, then answers DONE: those of one turn of the loop together. Exits when the daemon closes the
 * channel and its connections are done. The benchmark's event-loop worker,
 * beside the serial lib/examples/pool-echo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "unixsock.h"

#define MAX_EVENTS 64

static struct us_worker *w;
static int ep;
static unsigned held;

static void fail(const char *what)
{
        fprintf(stderr, "pool-echo-ev: %s: %s\n", what, strerror(errno));
        exit(1);
}

/* Takes every connection that is there; false when the channel closed. */
static bool take_all(void)
{
        for (;;) {
                struct us_conn *c = malloc(sizeof(*c));
                if (!c)
                        fail("malloc");
                int r = us_worker_accept(w, c);
                if (r <= 0) {
                        free(c);
                        if (r == 0)
                                return false;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return true;
                        fail("accept");
                }
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
                        fail("epoll_ctl");
                held++;
        }
}

/* Echoes what is there (blocking writes: the messages are small); at EOF or
 * an error the connection is done. */
static void serve(struct us_conn *c)
{
        char buf[65536];
        ssize_t n = read(c->fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
                return;
        if (n > 0 && us_send(c->fd, buf, (size_t)n) == n)
                return;
        /* out of the set first: while the daemon has not read our ACK it holds
         * a copy of the connection, and closing ours would leave it there */
        (void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        if (us_worker_done_later(w, c) < 0 && errno != EPIPE)
                fail("done");
        free(c);
        held--;
}

int main(void)
{
        struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN, .data.ptr = NULL };
        bool open = true;

        w = us_worker_open();
        if (!w)
                fail("no channel (run me under unixsockd, dispatch = pool)");
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0 || us_worker_set_nonblock(w, true) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, us_worker_fd(w), &ev) < 0)
                fail("setup");
        while (open || held) {
                /* the DONEs of this turn, in one message, before waiting */
                if (us_worker_flush(w) < 0 && errno != EPIPE)
                        fail("flush");
                int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
                if (n < 0 && errno != EINTR)
                        fail("epoll_wait");
                for (int i = 0; i < n; i++) {
                        if (evs[i].data.ptr) {
                                serve(evs[i].data.ptr);
                        } else if (open && !take_all()) {
                                open = false;
                                (void)epoll_ctl(ep, EPOLL_CTL_DEL, us_worker_fd(w), NULL);
                        }
                }
        }
        us_worker_close(w);
        return 0;
}
