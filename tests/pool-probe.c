/* A pool worker for the tests. For each connection it writes "pid=PID\n",
 * then echoes until EOF, then answers DONE.
 *   pool-probe                 as above
 *   pool-probe stall-one DIR   the first process to create DIR/stall writes its
 *                              pid there and never reads its channel again
 *   pool-probe garbage         sends a malformed message on its channel first
 *   pool-probe wrong-done      answers DONE for a connection it never had, after
 *                              taking its first one
 *   pool-probe flood           sends its channel 10000 ACKs for nothing
 *   pool-probe once            serves one connection, then exits 0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unixsock.h"

int main(int argc, char **argv)
{
        struct us_worker *w = us_worker_open();
        struct us_conn conn;
        char buf[65536];
        int r;

        if (!w) {
                fprintf(stderr, "pool-probe: %s\n", strerror(errno));
                return 1;
        }
        if (argc > 2 && strcmp(argv[1], "stall-one") == 0) {
                char lock[4096], tmp[4096], path[4096];
                snprintf(lock, sizeof(lock), "%s/stall.lock", argv[2]);
                snprintf(tmp, sizeof(tmp), "%s/stall.tmp", argv[2]);
                snprintf(path, sizeof(path), "%s/stall", argv[2]);
                int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        close(fd);
                        /* the pid appears whole: written aside, then renamed */
                        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                        dprintf(fd, "%d\n", (int)getpid());
                        close(fd);
                        rename(tmp, path);
                        for (;;)
                                pause();
                }
        }
        if (argc > 1 && strcmp(argv[1], "garbage") == 0)
                (void)us_send(us_worker_fd(w), "garbage!", 8);
        if (argc > 1 && strcmp(argv[1], "flood") == 0) {
                struct us_frame f = { .type = US_FRAME_ACK, .id = 424242 };
                unsigned char buf1[US_FRAME_MAX];
                ssize_t n = us_frame_encode(&f, buf1, sizeof(buf1));
                for (int i = 0; i < 10000; i++)
                        if (us_send_fd(us_worker_fd(w), buf1, (size_t)n, -1) < 0)
                                break;
        }
        while ((r = us_worker_accept(w, &conn)) > 0) {
                ssize_t n;
                if (argc > 1 && strcmp(argv[1], "wrong-done") == 0) {
                        struct us_frame f = { .type = US_FRAME_DONE, .id = conn.id + 1000 };
                        unsigned char buf1[US_FRAME_MAX];
                        n = us_frame_encode(&f, buf1, sizeof(buf1));
                        (void)us_send_fd(us_worker_fd(w), buf1, (size_t)n, -1);
                }
                dprintf(conn.fd, "pid=%d\n", (int)getpid());
                while ((n = read(conn.fd, buf, sizeof(buf))) > 0)
                        if (us_send(conn.fd, buf, (size_t)n) < 0)
                                break;
                us_worker_done(w, &conn);
                if (argc > 1 && strcmp(argv[1], "once") == 0)
                        break;
        }
        us_worker_close(w);
        return r < 0;
}
