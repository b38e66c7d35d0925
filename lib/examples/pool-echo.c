/* An example pool worker (unixsockd dispatch = pool) with libunixsock: takes
 * connections from its channel one at a time and echoes each until EOF.
 * Exits when unixsockd closes the channel. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unixsock.h"

static void echo(int fd)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || us_send(fd, buf, (size_t)n) < 0)
                        break;
        }
}

int main(void)
{
        struct us_worker *w = us_worker_open();
        struct us_conn conn;
        int r;

        if (!w) {
                fprintf(stderr, "pool-echo: no channel: %s (run me under unixsockd, dispatch = pool)\n",
                        strerror(errno));
                return 1;
        }
        while ((r = us_worker_accept(w, &conn)) > 0) {
                echo(conn.fd);
                if (us_worker_done(w, &conn) < 0 && errno != EPIPE)
                        break;
        }
        if (r < 0)
                fprintf(stderr, "pool-echo: %s\n", strerror(errno));
        us_worker_close(w);
        return r < 0;
}
