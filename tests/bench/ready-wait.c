/* ready-wait: the service manager's side of sd_notify, for the start-up
 * benchmark. Runs PROG with NOTIFY_SOCKET pointed at a socket of its own,
 * times exec -> READY=1, reads the idle VmHWM, times SIGHUP -> RELOADING=1 ->
 * READY=1, then stops PROG (SIGTERM, SIGKILL to its process group after -s).
 *   ready-wait [-t SECS] [-r RELOADS] [-c PATH] [-s SECS] -- PROG [ARG...]
 *   ready-wait [-t SECS] [-s SECS] -w PATH -- PROG [ARG...]
 * -t  deadline of each wait (default 30 s)
 * -r  reloads to time after READY=1 (default 0)
 * -c  after READY=1 (and after each reload) PATH must accept a connection
 * -s  seconds between SIGTERM and SIGKILL (default 5)
 * -w  for a program that sends no READY=1 (systemd-socket-activate): ready
 *     is when PATH accepts a connection. Woken by inotify on its directory
 *     until the file exists, then on a short backoff (from 50 us, doubling up
 *     to 5 ms): bind(2) makes the file, listen(2) no event. VmHWM is read
 *     before the connect that succeeds (it may start a program).
 * Prints one line on stdout:
 *   ready_ms=12.345 cpu_ms=10.2 vmhwm_kb=2048 fdstore=1000 reload_ms=3.210,3.100 vmhwm_reload_kb=2100
 * cpu_ms: what PROG had run on a CPU when READY=1 came (/proc/PID/schedstat). 
 * FDSTORE= fds that arrive are counted and closed at once. The clock starts
 * just before fork(), so ready_ms includes the fork and the exec of PROG.
 * Exit status: 0, 1 when PROG did not get ready (or exited, or -c failed),
 * 2 on a usage or system error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RELOADS 64

static struct {
        double timeout, stop_timeout;
        int reloads;
        const char *check, *wait_path;
} opt = { .timeout = 30, .stop_timeout = 5 };

static int nsock = -1, pidfd = -1;
static pid_t child = -1;
static unsigned long fdstore;
static volatile sig_atomic_t interrupted;

/* SIGINT, SIGTERM, SIGHUP: the waits end and the program is stopped, so a
 * Ctrl-C of the benchmark leaves nothing running (it has its own session). */
static void on_signal(int sig)
{
        interrupted = sig;
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
        fprintf(stderr, "usage: ready-wait [-t SECS] [-r RELOADS] [-c PATH] [-s SECS] -- PROG [ARG...]\n"
                        "       ready-wait [-t SECS] [-s SECS] -w PATH -- PROG [ARG...]\n");
        exit(2);
}

/* An abstract datagram socket nobody else can guess; its name in NOTIFY_SOCKET. */
static int notify_socket(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        unsigned char rnd[8] = { 0 };
        char name[64];
        int size = 4 << 20;
        socklen_t len;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -1;
        snprintf(name, sizeof(name), "@ready-wait-%d-%02x%02x%02x%02x%02x%02x%02x%02x", (int)getpid(),
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (nsock < 0)
                return -1;
        /* room for a burst of FDSTORE= while we are busy elsewhere */
        if (setsockopt(nsock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(nsock, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
        if (bind(nsock, (struct sockaddr *)&sa, len) < 0)
                return -1;
        return setenv("NOTIFY_SOCKET", name, 1);
}

/* Reads every datagram waiting. Sets *ready / *reloading when one says so. */
static int drain(bool *ready, bool *reloading)
{
        for (;;) {
                char buf[4096];
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(sizeof(int) * 253)];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                ssize_t n = recvmsg(nsock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

                if (n < 0)
                        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                close(fd);
                        }
                }
                buf[n] = '\0';
                for (char *line = buf, *next; line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        if (strcmp(line, "READY=1") == 0)
                                *ready = true;
                        else if (strcmp(line, "RELOADING=1") == 0)
                                *reloading = true;
                        else if (strcmp(line, "FDSTORE=1") == 0)
                                fdstore++;
                }
        }
}

/* Waits for READY=1 (after RELOADING=1 if want_reloading). 0, or -1 said why. */
static int wait_ready(bool want_reloading, uint64_t *ret_ns)
{
        uint64_t deadline = now_ns() + (uint64_t)(opt.timeout * 1e9);
        bool reloading = !want_reloading;

        for (;;) {
                struct pollfd p[2] = { { .fd = nsock, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
                bool ready = false, rl = false;
                uint64_t now;

                if (drain(&ready, &rl) < 0) {
                        perror("ready-wait: recvmsg");
                        return -1;
                }
                reloading |= rl;
                if (ready && reloading) {
                        *ret_ns = now_ns();
                        return 0;
                }
                now = now_ns();
                if (now >= deadline) {
                        fprintf(stderr, "ready-wait: no %sREADY=1 within %.1f s\n",
                                want_reloading ? "RELOADING=1, " : "", opt.timeout);
                        return -1;
                }
                if (poll(p, 2, (int)((deadline - now + 999999) / 1000000)) < 0 && errno != EINTR) {
                        perror("ready-wait: poll");
                        return -1;
                }
                if (interrupted)
                        return -1;
                if ((p[1].revents & POLLIN) && !(p[0].revents & POLLIN)) {
                        fprintf(stderr, "ready-wait: the program exited before READY=1\n");
                        return -1;
                }
        }
}

/* CPU time the program has used, in ms (/proc/PID/schedstat: ns on a CPU), or -1. */
static double cpu_ms(void)
{
        char path[64];
        unsigned long long ns;
        FILE *f;
        int n;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)child);
        f = fopen(path, "re");
        if (!f)
                return -1;
        n = fscanf(f, "%llu", &ns);
        fclose(f);
        return n == 1 ? (double)ns / 1e6 : -1;
}

static long vmhwm_kb(void)
{
        char path[64], line[256];
        long kb = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

/* Does path accept a connection now? (A listening socket's backlog takes it.)
 * 0, or -1 with the connect's errno in *ret_errno. */
static int connect_path(const char *path, int *ret_errno)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        *ret_errno = ENAMETOOLONG;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        if (path[0] == '@')
                sa.sun_path[0] = '\0';
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                *ret_errno = errno;
                return -1;
        }
        r = connect(fd, (struct sockaddr *)&sa,
                    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + (path[0] != '@')));
        *ret_errno = r < 0 ? errno : 0;
        close(fd);
        return r;
}

static int check_connect(const char *path)
{
        int e;

        if (connect_path(path, &e) == 0)
                return 0;
        fprintf(stderr, "ready-wait: connect %s: %s\n", path, strerror(e));
        return -1;
}

/* -w: waits until path accepts a connection; *ret_hwm is the VmHWM read just
 * before that connect. 0, or -1 said why. */
static int wait_accepts(const char *path, uint64_t *ret_ns, long *ret_hwm, double *ret_cpu)
{
        uint64_t deadline = now_ns() + (uint64_t)(opt.timeout * 1e9);
        char dir[4096];
        const char *slash = strrchr(path, '/');
        int ino, backoff_us = 50, e, ret = -1;

        if (!slash)
                snprintf(dir, sizeof(dir), ".");
        else
                snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
        ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino < 0 || inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO) < 0) {
                fprintf(stderr, "ready-wait: inotify %s: %s\n", dir, strerror(errno));
                goto out;
        }
        for (;;) {
                struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = ino, .events = POLLIN } };
                char buf[4096];
                long hwm = vmhwm_kb();
                double cpu = cpu_ms();
                uint64_t now;
                int wait_ms;

                if (connect_path(path, &e) == 0) {
                        *ret_ns = now_ns();
                        *ret_hwm = hwm;
                        *ret_cpu = cpu;
                        ret = 0;
                        goto out;
                }
                if (e != ENOENT && e != ECONNREFUSED) {
                        fprintf(stderr, "ready-wait: connect %s: %s\n", path, strerror(e));
                        goto out;
                }
                now = now_ns();
                if (now >= deadline) {
                        fprintf(stderr, "ready-wait: %s accepts nothing within %.1f s\n", path, opt.timeout);
                        goto out;
                }
                wait_ms = (int)((deadline - now + 999999) / 1000000);
                if (e == ECONNREFUSED) {
                        /* the file is there, listen(2) is not yet: no event to wait for */
                        struct timespec ts = { 0, backoff_us * 1000L };
                        (void)ppoll(p, 1, &ts, NULL);
                        if (backoff_us < 5000)
                                backoff_us *= 2;
                } else if (poll(p, 2, wait_ms) < 0 && errno != EINTR) {
                        perror("ready-wait: poll");
                        goto out;
                }
                if (interrupted)
                        goto out;
                if (p[0].revents & POLLIN) {
                        fprintf(stderr, "ready-wait: the program exited before %s accepted\n", path);
                        goto out;
                }
                while (read(ino, buf, sizeof(buf)) > 0)
                        ;
        }
out:
        if (ino >= 0)
                close(ino);
        return ret;
}

/* SIGTERM, then SIGKILL to the process group after -s; reaps it. */
static void stop_child(void)
{
        uint64_t deadline = now_ns() + (uint64_t)(opt.stop_timeout * 1e9);
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        kill(child, SIGTERM);
        for (;;) {
                uint64_t now = now_ns();
                int n = now < deadline ? poll(&p, 1, (int)((deadline - now + 999999) / 1000000)) : 0;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        fprintf(stderr, "ready-wait: still running %.1f s after SIGTERM: SIGKILL\n",
                                opt.stop_timeout);
                        kill(-child, SIGKILL);
                }
                break;
        }
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                ;
        /* what it left in its group (a worker) goes too */
        kill(-child, SIGKILL);
}

int main(int argc, char **argv)
{
        double reload_ms[MAX_RELOADS];
        struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: the waits see EINTR */
        long hwm, hwm_reload = -1;
        double cpu;
        uint64_t t0, t1;
        int c, ret = 1;

        while ((c = getopt(argc, argv, "t:r:c:s:w:")) != -1) {
                switch (c) {
                case 't': opt.timeout = atof(optarg); break;
                case 'r': opt.reloads = atoi(optarg); break;
                case 'c': opt.check = optarg; break;
                case 's': opt.stop_timeout = atof(optarg); break;
                case 'w': opt.wait_path = optarg; break;
                default: usage();
                }
        }
        if (optind >= argc || opt.timeout <= 0 || opt.reloads < 0 || opt.reloads > MAX_RELOADS ||
            (opt.wait_path && (opt.reloads || opt.check)))
                usage();
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        if (notify_socket() < 0) {
                perror("ready-wait: notify socket");
                return 2;
        }
        t0 = now_ns();
        child = fork();
        if (child < 0) {
                perror("ready-wait: fork");
                return 2;
        }
        if (child == 0) {
                setsid();
                /* nothing but stdio: an fd the caller leaked would pass for an inherited socket */
                close_range(3, ~0u, 0);
                execvp(argv[optind], argv + optind);
                fprintf(stderr, "ready-wait: %s: %s\n", argv[optind], strerror(errno));
                _exit(127);
        }
        pidfd = (int)syscall(SYS_pidfd_open, child, 0);
        if (pidfd < 0) {
                perror("ready-wait: pidfd_open");
                kill(child, SIGKILL);
                return 2;
        }
        if (opt.wait_path) {
                if (wait_accepts(opt.wait_path, &t1, &hwm, &cpu) < 0)
                        goto out;
        } else {
                if (wait_ready(false, &t1) < 0)
                        goto out;
                hwm = vmhwm_kb();
                cpu = cpu_ms();
        }
        printf("ready_ms=%.3f cpu_ms=%.3f vmhwm_kb=%ld fdstore=%lu", (double)(t1 - t0) / 1e6, cpu, hwm, fdstore);
        if (opt.check && check_connect(opt.check) < 0)
                goto out_line;
        for (int i = 0; i < opt.reloads; i++) {
                uint64_t s = now_ns(), e;
                if (kill(child, SIGHUP) < 0) {
                        perror("ready-wait: SIGHUP");
                        goto out_line;
                }
                if (wait_ready(true, &e) < 0)
                        goto out_line;
                reload_ms[i] = (double)(e - s) / 1e6;
                if (opt.check && check_connect(opt.check) < 0)
                        goto out_line;
        }
        if (opt.reloads) {
                hwm_reload = vmhwm_kb();
                printf(" reload_ms=");
                for (int i = 0; i < opt.reloads; i++)
                        printf("%s%.3f", i ? "," : "", reload_ms[i]);
                printf(" vmhwm_reload_kb=%ld", hwm_reload);
        }
        ret = 0;
out_line:
        printf("\n");
out:
        fflush(stdout);
        stop_child();
        if (interrupted) {
                /* die of it, so that a shell running us stops too (it ignores a
                 * SIGINT that its child handled and survived) */
                fprintf(stderr, "ready-wait: interrupted by %s; the program is stopped\n",
                        sigabbrev_np((int)interrupted));
                signal((int)interrupted, SIG_DFL);
                raise((int)interrupted);
                return 128 + interrupted;
        }
        return ret;
}
