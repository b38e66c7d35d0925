/* A pool worker for the tests. For each connection it writes "pid=PID\n",
 * then echoes until EOF, then answers DONE.
 *   pool-probe                 as above
 *   pool-probe stall-one DIR   the first process to create DIR/stall writes its
 *                              pid there and never reads its channel again
 *   pool-probe garbage         sends a malformed message on its channel first
 *   pool-probe wrong-done      answers DONE for a connection it never had, after
 *                              taking its first one
 *   pool-probe flood           sends its channel 10000 ACKs for nothing
 *   pool-probe once            serves one connection, then exits 0
 *   pool-probe type            writes "sock_type=N\n" (the frame's socket type)
 *                              after its greeting
 *   pool-probe exit0           exits 0 at once, taking nothing
 *   pool-probe close-channel DIR
 *                              the first process to create DIR/close.lock
 *                              closes its channel at once, writes its pid to
 *                              DIR/closed and keeps running (pause())
 *   pool-probe quit-one DIR    the first process to create DIR/quit.lock waits
 *                              until a connection is sent to it, then exits 0
 *                              without taking it
 *   pool-probe die-one DIR     the first process to create DIR/die.lock writes
 *                              its pid to DIR/die, waits until a connection is
 *                              sent to it, then dies of SIGKILL without taking
 *                              it (as a worker killed while clients wait on it,
 *                              with no race against the daemon's ACK timeout)
 *   pool-probe die-one-batch DIR
 *                              as die-one, but it asks for a credit of 8 first:
 *                              it dies with a batch of connections sent to it
 *   pool-probe v1              speaks protocol version 1 only, as a worker built
 *                              with libunixsock 0.1 did: no HELLO, one CONN per
 *                              message, ACK and DONE of one id
 * In the modes with DIR, every other process serves as the plain probe does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unixsock.h"

/* true for the one process that creates DIR/NAME.lock first */
static bool first_of_all(const char *dir, const char *name)
{
        char lock[4096];
        int fd;

        snprintf(lock, sizeof(lock), "%s/%s.lock", dir, name);
        fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* DIR/NAME appears whole, with the pid: written aside, then renamed */
static void publish_pid(const char *dir, const char *name)
{
        char tmp[4096], path[4096];
        int fd;

        snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        dprintf(fd, "%d\n", (int)getpid());
        close(fd);
        rename(tmp, path);
}

static int answer_v1(int chan, unsigned type, uint64_t id)
{
        struct us_frame f = { .version = 1, .type = type, .id = id };
        unsigned char buf[US_FRAME_MAX];
        ssize_t n = us_frame_encode(&f, buf, sizeof(buf));

        return n < 0 ? -1 : (int)us_send_fd(chan, buf, (size_t)n, -1);
}

/* The serial probe in protocol version 1, on fd 3. */
static int serve_v1(void)
{
        unsigned char msg[US_FRAME_MAX];
        char buf[65536];
        struct us_frame f;
        int fd;
        ssize_t n;

        while ((n = us_recv_fd(3, msg, sizeof(msg), &fd)) > 0) {
                if (us_frame_decode(msg, (size_t)n, &f) < 0 || f.version != 1 || f.type != US_FRAME_CONN ||
                    fd < 0) {
                        fprintf(stderr, "pool-probe: not a version 1 CONN\n");
                        return 1;
                }
                answer_v1(3, US_FRAME_ACK, f.id);
                dprintf(fd, "pid=%d\n", (int)getpid());
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (us_send(fd, buf, (size_t)n) < 0)
                                break;
                close(fd);
                answer_v1(3, US_FRAME_DONE, f.id);
        }
        return n < 0;
}

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "v1") == 0)
                return serve_v1();

        struct us_worker *w = us_worker_open();
        struct us_conn conn;
        char buf[65536];
        int r;

        if (!w) {
                fprintf(stderr, "pool-probe: %s\n", strerror(errno));
                return 1;
        }
        if (argc > 2 && strcmp(argv[1], "stall-one") == 0 && first_of_all(argv[2], "stall")) {
                publish_pid(argv[2], "stall");
                for (;;)
                        pause();
        }
        /* (the channel closed and freed on every way out: a leak would make
         * LeakSanitizer's exit status the test's in a sanitizer build) */
        if (argc > 1 && strcmp(argv[1], "exit0") == 0) {
                us_worker_close(w);
                return 0;
        }
        if (argc > 2 && strcmp(argv[1], "close-channel") == 0 && first_of_all(argv[2], "close")) {
                close(us_worker_fd(w));
                publish_pid(argv[2], "closed");
                for (;;)
                        pause();
        }
        if (argc > 2 && strcmp(argv[1], "quit-one") == 0 && first_of_all(argv[2], "quit")) {
                struct pollfd p = { us_worker_fd(w), POLLIN, 0 };
                while (poll(&p, 1, -1) < 0 && errno == EINTR)
                        ;
                us_worker_close(w);
                return 0;
        }
        if (argc > 2 && (strcmp(argv[1], "die-one") == 0 || strcmp(argv[1], "die-one-batch") == 0) &&
            first_of_all(argv[2], "die")) {
                struct pollfd p = { us_worker_fd(w), POLLIN, 0 };
                if (strcmp(argv[1], "die-one-batch") == 0 && us_worker_set_credit(w, 8) < 0)
                        return 1;
                publish_pid(argv[2], "die");
                while (poll(&p, 1, -1) < 0 && errno == EINTR)
                        ;
                raise(SIGKILL);
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
                if (argc > 1 && strcmp(argv[1], "type") == 0)
                        dprintf(conn.fd, "sock_type=%d\n", conn.sock_type);
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
