/* usd-load: connection-rate load generator for spawn servers on a UNIX socket.
 * Every connection: connect, send a message, shutdown(SHUT_WR), read the echo
 * until EOF and compare it byte for byte, close. Runs CONCURRENCY threads, each
 * with one connection in flight, until CONNECTIONS have been made or the
 * --max-seconds deadline passes. Every failure is counted by kind; a
 * connection not done within --timeout of its connect() counts as one.
 *
 * Output: one human line on stderr, one key=value line on stdout.
 * Exit: 0 every connection ok; 1 some failed or were not started; 2 usage or
 * setup error (including --wait-ready giving up).
 *
 * Two helpers for scripts, both waiting on events with a deadline: -w waits
 * until the server answers one echo (inotify on the socket's directory, a
 * pidfd on -p PID); -x only waits for -p PID to exit (a pidfd).
 *
 * Blocking connect() in threads rather than an epoll loop: a non-blocking
 * AF_UNIX connect() fails with EAGAIN when the backlog is full and cannot be
 * waited for, while a blocking one queues in the kernel like a real client. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum result {
        RES_OK,
        RES_CONNECT_REFUSED,    /* ECONNREFUSED: nobody listens */
        RES_CONNECT_NOENT,      /* ENOENT: no socket file */
        RES_CONNECT_TIMEOUT,    /* backlog full for the whole timeout */
        RES_CONNECT_OTHER,
        RES_RESET,              /* ECONNRESET or EPIPE after connecting */
        RES_SHORT,              /* EOF before the whole echo came back */
        RES_MISMATCH,           /* a byte differs, or more bytes than sent */
        RES_TIMEOUT,            /* connected, but not done within the timeout */
        RES_OTHER,              /* any other error, client side included */
        RES_COUNT
};

static const char *const result_key[RES_COUNT] = {
        [RES_OK] = "ok",
        [RES_CONNECT_REFUSED] = "err_connect_refused",
        [RES_CONNECT_NOENT] = "err_connect_noent",
        [RES_CONNECT_TIMEOUT] = "err_connect_timeout",
        [RES_CONNECT_OTHER] = "err_connect_other",
        [RES_RESET] = "err_reset",
        [RES_SHORT] = "err_short",
        [RES_MISMATCH] = "err_mismatch",
        [RES_TIMEOUT] = "err_timeout",
        [RES_OTHER] = "err_other",
};

struct options {
        const char *path;
        const char *label;
        long connections;
        int concurrency;
        size_t size;
        double timeout;         /* per connection, seconds */
        double max_seconds;     /* whole run */
        double wait_ready;      /* 0: do not wait */
        double wait_exit;       /* 0: no; else only wait for server_pid to exit */
        pid_t server_pid;       /* 0: none */
        bool silent;            /* hold one connection that sends nothing for the whole run */
        double stall;           /* a connection this slow (or timed out) counts as stalled */
        int type;               /* SOCK_STREAM or SOCK_SEQPACKET (-k) */
};

static struct options opt = {
        .path = NULL,
        .label = NULL,
        .connections = 10000,
        .concurrency = 16,
        .size = 64,
        .timeout = 10.0,
        .max_seconds = 300.0,
        .wait_ready = 0.0,
        .wait_exit = 0.0,
        .server_pid = 0,
        .silent = false,
        .stall = 5.0,
        .type = SOCK_STREAM,
};

static struct sockaddr_un addr;
static socklen_t addr_len;

/* shared between the threads */
static atomic_long next_conn;
static uint64_t run_deadline;
static uint64_t *latencies;     /* ns, indexed by connection number; 0: not ok */

struct worker {
        pthread_t thread;
        long counts[RES_COUNT];
        int last_errno[RES_COUNT];
};

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t secs_to_ns(double s)
{
        return (uint64_t)(s * 1e9);
}

static void fill_message(unsigned char *msg, size_t len, long conn)
{
        /* differs per connection, so an echo of another client's bytes fails */
        uint32_t x = (uint32_t)conn * 2654435761u + 1;
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                msg[i] = (unsigned char)x;
        }
}

static enum result classify_connect(int e)
{
        switch (e) {
        case ECONNREFUSED: return RES_CONNECT_REFUSED;
        case ENOENT: return RES_CONNECT_NOENT;
        case EAGAIN: return RES_CONNECT_TIMEOUT;
        default: return RES_CONNECT_OTHER;
        }
}

static enum result classify_io(int e)
{
        return (e == ECONNRESET || e == EPIPE) ? RES_RESET : RES_OTHER;
}

/* One connection. On RES_OK, *ret_ns is connect() to the last byte of the echo.
 * *ret_errno is the errno behind a failure, 0 if there was none. */
static enum result one_connection(const unsigned char *msg, size_t len, unsigned char *buf,
                                  size_t buflen, double timeout, uint64_t *ret_ns, int *ret_errno)
{
        uint64_t t0 = now_ns(), deadline = t0 + secs_to_ns(timeout), t_last = 0;
        struct timeval tv = {
                .tv_sec = (time_t)timeout,
                .tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6),
        };
        size_t sent = 0, got = 0;
        enum result r;
        int fd;

        *ret_errno = 0;
        fd = socket(AF_UNIX, opt.type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                *ret_errno = errno;
                return RES_OTHER;
        }
        /* bounds how long connect() waits on a full backlog (it then fails
         * with EAGAIN) */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
                *ret_errno = errno;
                r = RES_OTHER;
                goto out;
        }
        while (connect(fd, (const struct sockaddr *)&addr, addr_len) < 0) {
                if (errno == EINTR)
                        continue;
                *ret_errno = errno;
                r = classify_connect(errno);
                goto out;
        }

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                uint64_t now;
                ssize_t n;

                while (sent < len) {
                        n = send(fd, msg + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                if (errno == EAGAIN)
                                        break;
                                *ret_errno = errno;
                                r = classify_io(errno);
                                goto out;
                        }
                        sent += (size_t)n;
                        if (sent == len && shutdown(fd, SHUT_WR) < 0) {
                                *ret_errno = errno;
                                r = classify_io(errno);
                                goto out;
                        }
                }
                if (sent < len)
                        pfd.events |= POLLOUT;

                now = now_ns();
                if (now >= deadline) {
                        r = RES_TIMEOUT;
                        goto out;
                }
                n = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        *ret_errno = errno;
                        r = RES_OTHER;
                        goto out;
                }
                if (n == 0) {
                        r = RES_TIMEOUT;
                        goto out;
                }
                if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;

                n = recv(fd, buf, buflen, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        *ret_errno = errno;
                        r = classify_io(errno);
                        goto out;
                }
                if (n == 0) {
                        r = got == len ? RES_OK : RES_SHORT;
                        goto out;
                }
                if ((size_t)n > len - got || memcmp(buf, msg + got, (size_t)n) != 0) {
                        r = RES_MISMATCH;
                        goto out;
                }
                got += (size_t)n;
                if (got == len)
                        t_last = now_ns();
        }
out:
        close(fd);
        if (r == RES_OK)
                *ret_ns = t_last - t0;
        return r;
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        size_t buflen = 65536;
        unsigned char *msg = malloc(opt.size), *buf = malloc(buflen);

        if (!msg || !buf) {
                fprintf(stderr, "usd-load: out of memory\n");
                exit(2);
        }
        for (;;) {
                long conn;
                uint64_t ns = 0;
                int e;
                enum result r;

                if (now_ns() >= run_deadline)
                        break;
                conn = atomic_fetch_add(&next_conn, 1);
                if (conn >= opt.connections)
                        break;
                fill_message(msg, opt.size, conn);
                r = one_connection(msg, opt.size, buf, buflen, opt.timeout, &ns, &e);
                w->counts[r]++;
                if (e != 0)
                        w->last_errno[r] = e;
                if (r == RES_OK)
                        latencies[conn] = ns > 0 ? ns : 1;
        }
        free(msg);
        free(buf);
        return NULL;
}

static int set_address(const char *path)
{
        size_t n = strlen(path);

        addr.sun_family = AF_UNIX;
        if (path[0] == '@') {
                /* abstract: a leading NUL, no terminating one */
                if (n > sizeof(addr.sun_path))
                        return -ENAMETOOLONG;
                addr.sun_path[0] = '\0';
                memcpy(addr.sun_path + 1, path + 1, n - 1);
                addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        } else {
                if (n >= sizeof(addr.sun_path))
                        return -ENAMETOOLONG;
                memcpy(addr.sun_path, path, n + 1);
                addr_len = (socklen_t)sizeof(addr);
        }
        return 0;
}

/* Watches the directory of path for the socket file appearing. -1 when that
 * cannot be done (abstract socket, no such directory): callers then retry on
 * a backoff alone. */
static int watch_directory(const char *path)
{
        char dir[PATH_MAX];
        const char *slash;
        int fd;

        if (path[0] == '@')
                return -1;
        slash = strrchr(path, '/');
        if (!slash)
                snprintf(dir, sizeof(dir), ".");
        else if (slash == path)
                snprintf(dir, sizeof(dir), "/");
        else
                snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
        fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
                return -1;
        if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void drain(int fd)
{
        char buf[4096];
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

/* Waits until one whole echo round trip succeeds. Wakes on the socket file
 * appearing (inotify) or the server exiting (pidfd), else on a short backoff,
 * needed because a socket file exists between bind() and listen() and that
 * transition makes no file event. Returns 0 when ready, -1 (after saying
 * why) when the deadline passed or the server exited. */
static int wait_ready(void)
{
        uint64_t deadline = now_ns() + secs_to_ns(opt.wait_ready);
        unsigned char msg[16], buf[64];
        int ino = watch_directory(opt.path), pidfd = -1, backoff_ms = 1, ret = -1;
        enum result r = RES_OTHER;
        int e = 0;

        if (opt.server_pid > 0) {
                pidfd = (int)syscall(SYS_pidfd_open, opt.server_pid, 0);
                if (pidfd < 0) {
                        fprintf(stderr, "usd-load: server pid %d: %s\n", (int)opt.server_pid,
                                strerror(errno));
                        goto out;
                }
        }
        fill_message(msg, sizeof(msg), -1);
        for (;;) {
                struct pollfd pfd[2];
                nfds_t n = 0;
                uint64_t now = now_ns(), ns;
                int wait_ms;

                if (now >= deadline)
                        break;
                r = one_connection(msg, sizeof(msg), buf, sizeof(buf),
                                   (double)(deadline - now) / 1e9, &ns, &e);
                if (r == RES_OK) {
                        ret = 0;
                        goto out;
                }
                now = now_ns();
                if (now >= deadline)
                        break;
                wait_ms = (int)((deadline - now + 999999) / 1000000);
                if (pidfd >= 0)
                        pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
                if (ino >= 0 && r == RES_CONNECT_NOENT) {
                        pfd[n++] = (struct pollfd){ .fd = ino, .events = POLLIN };
                } else {
                        if (wait_ms > backoff_ms)
                                wait_ms = backoff_ms;
                        if (backoff_ms < 64)
                                backoff_ms *= 2;
                }
                if (poll(pfd, n, wait_ms) < 0 && errno != EINTR) {
                        fprintf(stderr, "usd-load: poll: %s\n", strerror(errno));
                        goto out;
                }
                if (pidfd >= 0 && (pfd[0].revents & POLLIN)) {
                        fprintf(stderr, "usd-load: server pid %d exited before it was ready\n",
                                (int)opt.server_pid);
                        goto out;
                }
                if (ino >= 0)
                        drain(ino);
        }
        fprintf(stderr, "usd-load: %s not ready after %.1f s (last: %s%s%s)\n", opt.path,
                opt.wait_ready, result_key[r], e ? ", " : "", e ? strerror(e) : "");
out:
        if (ino >= 0)
                close(ino);
        if (pidfd >= 0)
                close(pidfd);
        return ret;
}

/* --wait-exit: 0 when server_pid has exited (a zombie counts), 1 when it
 * still runs at the deadline, 2 on error. */
static int wait_exit(void)
{
        struct pollfd pfd = { .events = POLLIN };
        uint64_t deadline = now_ns() + secs_to_ns(opt.wait_exit);

        pfd.fd = (int)syscall(SYS_pidfd_open, opt.server_pid, 0);
        if (pfd.fd < 0) {
                if (errno == ESRCH)
                        return 0;
                fprintf(stderr, "usd-load: server pid %d: %s\n", (int)opt.server_pid,
                        strerror(errno));
                return 2;
        }
        for (;;) {
                uint64_t now = now_ns();
                int n = now < deadline ? poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000)) : 0;
                if (n < 0 && errno == EINTR)
                        continue;
                close(pfd.fd);
                if (n < 0) {
                        fprintf(stderr, "usd-load: poll: %s\n", strerror(errno));
                        return 2;
                }
                return n > 0 ? 0 : 1;
        }
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return (x > y) - (x < y);
}

/* nearest rank */
static uint64_t percentile(const uint64_t *sorted, size_t n, double p)
{
        size_t rank;

        if (n == 0)
                return 0;
        rank = (size_t)(p * (double)n + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return sorted[rank - 1];
}

static double cpu_seconds(void)
{
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return 0.0;
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void usage(FILE *f, int status)
{
        fprintf(f,
                "usage: usd-load -s PATH [options]\n"
                "  -s, --socket PATH        socket to connect to ('@name': abstract)\n"
                "  -n, --connections N      connections to make (default 10000; 0 with -w: only wait)\n"
                "  -c, --concurrency N      connections in flight, one thread each (default 16)\n"
                "  -m, --size BYTES         message size (default 64)\n"
                "  -t, --timeout SECS       per connection, from connect() to EOF (default 10)\n"
                "  -T, --max-seconds SECS   start no connection after this (default 300)\n"
                "  -w, --wait-ready SECS    first wait until one echo round trip succeeds\n"
                "  -p, --server-pid PID     while waiting, give up if PID exits\n"
                "  -x, --wait-exit SECS     only wait for -p PID to exit (exit 0; 1 if it still runs)\n"
                "  -l, --label TEXT         first key=value of the result line\n"
                "  -S, --silent             first open one connection that sends nothing, kept\n"
                "                           until the end (a client that keeps a worker busy)\n"
                "  -L, --stall SECS         count connections this slow, or timed out, as\n"
                "                           stalled (default 5)\n"
                "  -k, --kind TYPE          stream (default) or seqpacket: the message goes as\n"
                "                           one packet (at most the socket's buffer)\n"
                "stdout: one key=value line; stderr: one human line.\n"
                "exit: 0 all ok, 1 failures or connections not started, 2 usage/setup/not ready\n");
        exit(status);
}

static double parse_double(const char *s, double min, double max)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
                fprintf(stderr, "usd-load: bad number '%s'\n", s);
                usage(stderr, 2);
        }
        return v;
}

static long parse_long(const char *s, long min, long max)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
                fprintf(stderr, "usd-load: bad number '%s'\n", s);
                usage(stderr, 2);
        }
        return v;
}

static void parse_args(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, 's' },
                { "connections", required_argument, NULL, 'n' },
                { "concurrency", required_argument, NULL, 'c' },
                { "size", required_argument, NULL, 'm' },
                { "timeout", required_argument, NULL, 't' },
                { "max-seconds", required_argument, NULL, 'T' },
                { "wait-ready", required_argument, NULL, 'w' },
                { "server-pid", required_argument, NULL, 'p' },
                { "wait-exit", required_argument, NULL, 'x' },
                { "label", required_argument, NULL, 'l' },
                { "silent", no_argument, NULL, 'S' },
                { "stall", required_argument, NULL, 'L' },
                { "kind", required_argument, NULL, 'k' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        int c;

        while ((c = getopt_long(argc, argv, "s:n:c:m:t:T:w:p:x:l:SL:k:h", longopts, NULL)) != -1) {
                switch (c) {
                case 's': opt.path = optarg; break;
                case 'n': opt.connections = parse_long(optarg, 0, 1000000000L); break;
                case 'c': opt.concurrency = (int)parse_long(optarg, 1, 4096); break;
                case 'm': opt.size = (size_t)parse_long(optarg, 1, 64L << 20); break;
                case 't': opt.timeout = parse_double(optarg, 0.001, 3600.0); break;
                case 'T': opt.max_seconds = parse_double(optarg, 0.001, 86400.0); break;
                case 'w': opt.wait_ready = parse_double(optarg, 0.001, 3600.0); break;
                case 'p': opt.server_pid = (pid_t)parse_long(optarg, 1, INT_MAX); break;
                case 'x': opt.wait_exit = parse_double(optarg, 0.001, 3600.0); break;
                case 'l': opt.label = optarg; break;
                case 'S': opt.silent = true; break;
                case 'L': opt.stall = parse_double(optarg, 0.001, 3600.0); break;
                case 'k':
                        if (strcmp(optarg, "stream") == 0)
                                opt.type = SOCK_STREAM;
                        else if (strcmp(optarg, "seqpacket") == 0)
                                opt.type = SOCK_SEQPACKET;
                        else
                                usage(stderr, 2);
                        break;
                case 'h': usage(stdout, 0); break;
                default: usage(stderr, 2);
                }
        }
        if (optind != argc)
                usage(stderr, 2);
        if (opt.wait_exit > 0) {
                if (opt.server_pid == 0)
                        usage(stderr, 2);
                return;
        }
        if (!opt.path)
                usage(stderr, 2);
        if (opt.label && strpbrk(opt.label, " \t\n=")) {
                fprintf(stderr, "usd-load: the label may not contain blanks or '='\n");
                exit(2);
        }
}

int main(int argc, char **argv)
{
        struct worker *workers;
        long counts[RES_COUNT] = { 0 }, errors = 0, started, skipped;
        int last_errno[RES_COUNT] = { 0 };
        uint64_t t0, elapsed_ns, *ok_lat;
        size_t n_ok = 0;
        pthread_attr_t attr;
        double cpu0, elapsed, rate;
        int r;

        parse_args(argc, argv);
        if (opt.wait_exit > 0)
                return wait_exit();
        if (set_address(opt.path) < 0) {
                fprintf(stderr, "usd-load: %s: %s\n", opt.path, strerror(ENAMETOOLONG));
                return 2;
        }
        if (opt.wait_ready > 0 && wait_ready() < 0)
                return 2;
        if (opt.connections == 0)
                return 0;

        latencies = calloc((size_t)opt.connections, sizeof(*latencies));
        workers = calloc((size_t)opt.concurrency, sizeof(*workers));
        if (!latencies || !workers) {
                fprintf(stderr, "usd-load: out of memory\n");
                return 2;
        }
        if ((r = pthread_attr_init(&attr)) != 0 ||
            (r = pthread_attr_setstacksize(&attr, 256 * 1024)) != 0) {
                fprintf(stderr, "usd-load: pthread_attr: %s\n", strerror(r));
                return 2;
        }

        int silent = -1;
        if (opt.silent) {
                silent = socket(AF_UNIX, opt.type | SOCK_CLOEXEC, 0);
                if (silent < 0 || connect(silent, (const struct sockaddr *)&addr, addr_len) < 0) {
                        fprintf(stderr, "usd-load: the silent connection: %s\n", strerror(errno));
                        return 2;
                }
        }
        cpu0 = cpu_seconds();
        t0 = now_ns();
        run_deadline = t0 + secs_to_ns(opt.max_seconds);
        for (int i = 0; i < opt.concurrency; i++) {
                r = pthread_create(&workers[i].thread, &attr, worker_main, &workers[i]);
                if (r != 0) {
                        fprintf(stderr, "usd-load: pthread_create: %s\n", strerror(r));
                        return 2;
                }
        }
        for (int i = 0; i < opt.concurrency; i++) {
                pthread_join(workers[i].thread, NULL);
                for (int k = 0; k < RES_COUNT; k++) {
                        counts[k] += workers[i].counts[k];
                        if (workers[i].last_errno[k])
                                last_errno[k] = workers[i].last_errno[k];
                }
        }
        elapsed_ns = now_ns() - t0;
        pthread_attr_destroy(&attr);
        if (silent >= 0)
                close(silent);

        started = atomic_load(&next_conn);
        if (started > opt.connections)
                started = opt.connections;
        skipped = opt.connections - started;
        for (int k = 1; k < RES_COUNT; k++)
                errors += counts[k];

        /* compact the ok latencies to the front, then sort them */
        ok_lat = latencies;
        for (long i = 0; i < opt.connections; i++)
                if (latencies[i])
                        ok_lat[n_ok++] = latencies[i];
        qsort(ok_lat, n_ok, sizeof(*ok_lat), cmp_u64);
        long stalled = counts[RES_TIMEOUT];
        for (size_t i = 0; i < n_ok; i++)
                stalled += ok_lat[i] >= secs_to_ns(opt.stall);

        elapsed = (double)elapsed_ns / 1e9;
        rate = elapsed > 0 ? (double)counts[RES_OK] / elapsed : 0.0;
        uint64_t p50 = percentile(ok_lat, n_ok, 0.50), p99 = percentile(ok_lat, n_ok, 0.99);
        uint64_t pmax = n_ok ? ok_lat[n_ok - 1] : 0;

        if (opt.label)
                printf("label=%s ", opt.label);
        printf("connections=%ld concurrency=%d size=%zu ok=%ld errors=%ld", opt.connections,
               opt.concurrency, opt.size, counts[RES_OK], errors);
        for (int k = 1; k < RES_COUNT; k++)
                printf(" %s=%ld", result_key[k], counts[k]);
        printf(" skipped=%ld stalled=%ld elapsed_s=%.3f conn_per_s=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f"
               " client_cpu_s=%.3f\n",
               skipped, stalled, elapsed, rate, (double)p50 / 1e3, (double)p99 / 1e3, (double)pmax / 1e3,
               cpu_seconds() - cpu0);
        fflush(stdout);

        fprintf(stderr, "usd-load%s%s: %ld/%ld ok, %ld errors", opt.label ? " " : "",
                opt.label ? opt.label : "", counts[RES_OK], opt.connections, errors);
        for (int k = 1; k < RES_COUNT; k++) {
                if (counts[k] == 0)
                        continue;
                fprintf(stderr, " [%s %ld%s%s]", result_key[k] + 4, counts[k],
                        last_errno[k] ? ": " : "", last_errno[k] ? strerror(last_errno[k]) : "");
        }
        if (skipped)
                fprintf(stderr, ", %ld not started (--max-seconds %.1f)", skipped, opt.max_seconds);
        fprintf(stderr, ", %.2f s, %.0f conn/s, latency p50 %.2f ms p99 %.2f ms max %.2f ms\n",
                elapsed, rate, (double)p50 / 1e6, (double)p99 / 1e6, (double)pmax / 1e6);

        free(latencies);
        free(workers);
        return (errors || skipped) ? 1 : 0;
}
