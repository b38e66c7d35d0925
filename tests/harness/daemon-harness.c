/* Runs the real unixsockd for integration tests, synchronised on its events. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "helpers.h"
#include "unixsock.h"

bool harness_no_notify;
uid_t harness_uid;
unsigned harness_nproc;
int harness_listen_fd = -1;
const char *harness_listen_name = "";

const char *test_prog(const char *name)
{
        static char buf[4][1024];
        static int i;
        const char *d = getenv("TEST_PROGS_DIR");
        char *b = buf[i++ % 4];

        cr_assert_not_null(d, "TEST_PROGS_DIR not set (run through meson test)");
        snprintf(b, sizeof(buf[0]), "%s/%s", d, name);
        return b;
}

const char *daemon_path(struct daemon *d, const char *name)
{
        return join(d->dir, name);
}

static void write_conf(struct daemon *d, const char *conf)
{
        char *text = replace_all(conf, "@DIR@", d->dir);
        FILE *f;

        snprintf(d->conf, sizeof(d->conf), "%s/unixsockd.conf", d->dir);
        f = fopen(d->conf, "w");
        cr_assert_not_null(f);
        if (!strstr(text, "[unixsockd]"))
                fprintf(f, "[unixsockd]\nruntime-directory = %s\n\n", d->dir);
        fputs(text, f);
        fclose(f);
        free(text);
}

void daemon_reload(struct daemon *d, const char *conf)
{
        write_conf(d, conf);
        cr_assert(kill(d->pid, SIGHUP) == 0);
        cr_assert(daemon_wait_notify(d, "RELOADING=1"));
        cr_assert(daemon_wait_notify(d, "READY=1"));
}

void client_expect_echo(const char *path, const char *msg)
{
        char buf[256];

        cr_assert_eq(client_exchange(path, msg, buf, sizeof(buf)), (ssize_t)strlen(msg), "%s: '%s'", path, buf);
        cr_assert_str_eq(buf, msg);
}

static void open_notify(struct daemon *d)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert_geq(d->notify_fd, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", d->dir);
        cr_assert(bind(d->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
}

void daemon_spawn_wrapped(struct daemon *d, const char *conf, const char *const *prefix,
                          const char *const *extra)
{
        const char *argv[64];
        int n = 0, logfd;
        char notify[600];

        memset(d, 0, sizeof(*d));
        d->pid = -1;
        d->pidfd = -1;
        d->dir = make_tmpdir();
        write_conf(d, conf);
        open_notify(d);
        snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
        snprintf(notify, sizeof(notify), "%s/notify", d->dir);
        for (; prefix && *prefix; prefix++)
                argv[n++] = *prefix;
        /* UNIXSOCKD_VALGRIND=1: under memcheck; an error or a leak makes the
         * daemon exit 99, which every test that stops it checks */
        if (getenv("UNIXSOCKD_VALGRIND")) {
                static const char *const vg[] = {
                        "/usr/bin/valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                        "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
                        "--child-silent-after-fork=yes", NULL,
                };
                for (const char *const *v = vg; *v; v++)
                        argv[n++] = *v;
        }
        argv[n++] = getenv("UNIXSOCKD");
        cr_assert_not_null(argv[n - 1], "UNIXSOCKD not set (run through meson test)");
        argv[n++] = "-c";
        argv[n++] = d->conf;
        argv[n++] = "--log-target=console";
        for (; extra && *extra; extra++)
                argv[n++] = *extra;
        argv[n] = NULL;
        logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        cr_assert_geq(logfd, 0);
        if (harness_uid) {
                /* its directory and the notify socket must be its to use */
                cr_assert(chown(d->dir, harness_uid, harness_uid) == 0);
                cr_assert(chmod(notify, 0777) == 0);
        }
        d->pid = fork();
        cr_assert_geq(d->pid, 0);
        if (d->pid == 0) {
                int nul = open("/dev/null", O_RDONLY);
                dup2(nul, 0);
                dup2(logfd, 1);
                dup2(logfd, 2);
                /* the test runner's own fds are none of the daemon's business */
                if (harness_listen_fd >= 0) {
                        char pid[32];
                        if (dup2(harness_listen_fd, 3) < 0)
                                _exit(126);
                        close_range(4, ~0U, 0);
                        snprintf(pid, sizeof(pid), "%d", (int)getpid());
                        setenv("LISTEN_FDS", "1", 1);
                        setenv("LISTEN_PID", pid, 1);
                        setenv("LISTEN_FDNAMES", harness_listen_name, 1);
                } else {
                        close_range(3, ~0U, 0);
                }
                if (harness_nproc) {
                        struct rlimit rl = { harness_nproc, harness_nproc };
                        if (setrlimit(RLIMIT_NPROC, &rl) < 0)
                                _exit(126);
                }
                if (harness_uid && (setgroups(0, NULL) < 0 || setgid(harness_uid) < 0 || setuid(harness_uid) < 0))
                        _exit(126);
                if (harness_no_notify)
                        unsetenv("NOTIFY_SOCKET");
                else
                        setenv("NOTIFY_SOCKET", notify, 1);
                if (harness_listen_fd < 0)
                        unsetenv("LISTEN_FDS");
                unsetenv("JOURNAL_STREAM");
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(logfd);
        d->pidfd = (int)syscall(SYS_pidfd_open, d->pid, 0);
        cr_assert_geq(d->pidfd, 0);
}

void daemon_spawn(struct daemon *d, const char *conf, const char *const *extra)
{
        daemon_spawn_wrapped(d, conf, NULL, extra);
}

/* Reads notify messages until one contains s, the daemon exits, or the deadline. */
bool daemon_wait_notify(struct daemon *d, const char *s)
{
        long long deadline = now_ms() + DEADLINE_MS;
        char buf[4096];

        for (;;) {
                ssize_t n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0);
                if (n > 0) {
                        buf[n] = '\0';
                        if (d->notes_len + (size_t)n + 3 < sizeof(d->notes)) {
                                memcpy(d->notes + d->notes_len, buf, (size_t)n);
                                memcpy(d->notes + d->notes_len + n, "\n;\n", 4);
                                d->notes_len += (size_t)n + 3;
                        }
                        char *st = strstr(buf, "STATUS=");
                        if (st) {
                                snprintf(d->status, sizeof(d->status), "%s", st + 7);
                                d->status[strcspn(d->status, "\n")] = '\0';
                        }
                        if (strstr(buf, s))
                                return true;
                        continue;
                }
                struct pollfd p[2] = { { d->notify_fd, POLLIN, 0 }, { d->pidfd, POLLIN, 0 } };
                int left = ms_left(deadline);
                if (left == 0 || poll(p, 2, left) <= 0)
                        return false;
                if ((p[1].revents & POLLIN) && !(p[0].revents & POLLIN))
                        return false;
        }
}

bool daemon_wait_ready(struct daemon *d)
{
        return daemon_wait_notify(d, "READY=1");
}

void daemon_start(struct daemon *d, const char *conf)
{
        daemon_spawn(d, conf, NULL);
        if (!daemon_wait_ready(d)) {
                char buf[4096] = "";
                FILE *f = fopen(d->log, "r");
                if (f) {
                        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
                        buf[n] = '\0';
                        fclose(f);
                }
                cr_assert_fail("unixsockd did not become ready; its log:\n%s", buf);
        }
}

int daemon_log_count(struct daemon *d, const char *s)
{
        FILE *f = fopen(d->log, "r");
        char *line = NULL;
        size_t cap = 0;
        int n = 0;

        if (!f)
                return 0;
        while (getline(&line, &cap, f) >= 0)
                n += strstr(line, s) != NULL;
        free(line);
        fclose(f);
        return n;
}

bool daemon_log_has(struct daemon *d, const char *s)
{
        return daemon_log_count(d, s) > 0;
}

ssize_t daemon_started_pids(struct daemon *d, const char *worker, pid_t *pids, size_t max)
{
        FILE *f = fopen(d->log, "r");
        char line[4096], key[128];
        size_t n = 0;

        if (!f)
                return -1;
        snprintf(key, sizeof(key), "worker %s: started pid ", worker);
        while (n < max && fgets(line, sizeof(line), f)) {
                char *p = strstr(line, key);
                if (p)
                        pids[n++] = atoi(p + strlen(key));
        }
        fclose(f);
        return (ssize_t)n;
}

pid_t daemon_started_pid(struct daemon *d, const char *worker, size_t nth)
{
        pid_t *pids = calloc(nth + 1, sizeof(*pids));
        pid_t pid;

        cr_assert_not_null(pids);
        pid = daemon_started_pids(d, worker, pids, nth + 1) == (ssize_t)nth + 1 ? pids[nth] : -1;
        free(pids);
        return pid;
}

char *daemon_ctl(struct daemon *d, const char *args)
{
        const char *ctl = getenv("UNIXSOCKCTL");
        char cmd[8192], *out = malloc(1 << 16);
        size_t n = 0;

        cr_assert_not_null(ctl, "UNIXSOCKCTL names the built unixsockctl (meson test sets it)");
        cr_assert_not_null(out);
        snprintf(cmd, sizeof(cmd), "UNIXSOCKCTL_TIMEOUT=10 %s -s %s %s", ctl, daemon_path(d, "control.sock"), args);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f);
        while (n < (1 << 16) - 1 && !feof(f))
                n += fread(out + n, 1, (1 << 16) - 1 - n, f);
        out[n] = '\0';
        cr_assert_eq(pclose(f), 0, "%s: %s", cmd, out);
        return out;
}

/* Waits until done(arg), looking again whenever inotify reports mask on
 * watch; watching starts first, so a change in between is not missed. */
static bool wait_inotify(const char *watch, uint32_t mask, bool (*done)(const void *), const void *arg)
{
        long long deadline = now_ms() + DEADLINE_MS;
        int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        char ev[4096];
        bool found;

        cr_assert_geq(in, 0);
        cr_assert_geq(inotify_add_watch(in, watch, mask), 0, "watch %s", watch);
        while (!(found = done(arg))) {
                struct pollfd p = { in, POLLIN, 0 };
                int left = ms_left(deadline);
                if (left == 0 || poll(&p, 1, left) <= 0)
                        break;
                while (read(in, ev, sizeof(ev)) > 0)
                        ;
        }
        close(in);
        return found;
}

struct log_wait { struct daemon *d; const char *s; int n; };

static bool log_has(const void *arg)
{
        const struct log_wait *w = arg;

        return daemon_log_count(w->d, w->s) >= w->n;
}

bool daemon_wait_log_count(struct daemon *d, const char *s, int n)
{
        struct log_wait w = { d, s, n };

        return wait_inotify(d->log, IN_MODIFY, log_has, &w);
}

bool daemon_wait_log(struct daemon *d, const char *s)
{
        return daemon_wait_log_count(d, s, 1);
}

static bool path_exists(const void *path)
{
        return access(path, F_OK) == 0;
}

bool wait_path(const char *path)
{
        char dir[4096];

        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        return wait_inotify(dir, IN_CREATE | IN_MOVED_TO, path_exists, path);
}

int daemon_wait_exit(struct daemon *d)
{
        struct pollfd p = { d->pidfd, POLLIN, 0 };
        int st;

        if (d->pid < 0)
                return d->exit_status;
        if (poll(&p, 1, DEADLINE_MS) <= 0)
                return -1;
        cr_assert_eq(waitpid(d->pid, &st, 0), d->pid);
        d->pid = -1;
        d->exit_status = st;
        return st;
}

void daemon_cleanup(struct daemon *d)
{
        if (d->pid > 0) {
                kill(d->pid, SIGKILL);
                waitpid(d->pid, NULL, 0);
                d->pid = -1;
        }
        if (d->pidfd >= 0)
                close(d->pidfd);
        if (d->notify_fd > 0)
                close(d->notify_fd);
        d->pidfd = d->notify_fd = -1;
        if (d->dir) {
                rm_rf(d->dir);
                free(d->dir);
                d->dir = NULL;
        }
}

void daemon_stop(struct daemon *d)
{
        cr_assert(kill(d->pid, SIGTERM) == 0);
        int st = daemon_wait_exit(d);
        cr_assert_neq(st, -1, "unixsockd did not exit after SIGTERM");
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unixsockd exit status 0x%x", st);
        daemon_cleanup(d);
}

int count_fds_of(pid_t pid)
{
        char p[64];

        snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
        return count_dir_entries(p);
}

static int count_socket_fds_once(pid_t pid)
{
        char dir[64], path[384], target[256];
        DIR *dp;
        struct dirent *e;
        int n = 0;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
        dp = opendir(dir);
        cr_assert_not_null(dp);
        while ((e = readdir(dp))) {
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                ssize_t len = readlink(path, target, sizeof(target) - 1);
                if (len < 0)
                        continue;
                target[len] = '\0';
                n += strncmp(target, "socket:", 7) == 0;
        }
        closedir(dp);
        return n;
}

int count_socket_fds_of(pid_t pid)
{
        /* the least of a few looks: a socket sd_notify() has open for an
         * instant is not a leak, a leaked one is there every time */
        int least = count_socket_fds_once(pid);

        for (int i = 0; i < 4; i++) {
                int n = count_socket_fds_once(pid);
                if (n < least)
                        least = n;
        }
        return least;
}

int client_connect(const char *path)
{
        int fd = us_connect(path);

        cr_assert_geq(fd, 0, "connect %s: %s", path, strerror(errno));
        return fd;
}

bool readable_within(int fd, int ms)
{
        struct pollfd p = { fd, POLLIN, 0 };

        return poll(&p, 1, ms) > 0;
}

ssize_t read_all_deadline(int fd, char *buf, size_t size, int ms)
{
        long long deadline = now_ms() + ms;
        size_t n = 0;

        for (;;) {
                if (!readable_within(fd, ms_left(deadline)))
                        return -1;
                ssize_t r = read(fd, buf + n, size - 1 - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return errno == ECONNRESET ? (ssize_t)n : -1;
                if (r == 0)
                        break;
                n += (size_t)r;
                if (n == size - 1)
                        break;
        }
        buf[n] = '\0';
        return (ssize_t)n;
}

ssize_t client_exchange(const char *path, const char *msg, char *buf, size_t size)
{
        int fd = client_connect(path);
        ssize_t n;

        cr_assert_eq(us_send(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
        shutdown(fd, SHUT_WR);
        n = read_all_deadline(fd, buf, size, DEADLINE_MS);
        close(fd);
        return n;
}

pid_t probe_greeting(int fd)
{
        char buf[64];
        size_t got = 0;

        while (got == 0 || buf[got - 1] != '\n') {
                cr_assert(readable_within(fd, DEADLINE_MS), "a pool-probe's greeting");
                cr_assert_lt(got, sizeof(buf) - 1, "a greeting is one short line");
                ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
                cr_assert_gt(r, 0);
                got += (size_t)r;
        }
        buf[got] = '\0';
        cr_assert(strncmp(buf, "pid=", 4) == 0, "greeted: '%s'", buf);
        return atoi(buf + 4);
}

void probe_hold(const char *path, int *fds, pid_t *pids, int n)
{
        for (int i = 0; i < n; i++) {
                fds[i] = client_connect(path);
                pids[i] = probe_greeting(fds[i]); /* the connection stays open */
        }
}

void load_start(struct load *l, const char *path, int n, pid_t not_by)
{
        cr_assert_leq((size_t)n, sizeof(l->pids) / sizeof(l->pids[0]));
        l->n = n;
        for (int i = 0; i < n; i++) {
                l->pids[i] = fork();
                cr_assert_geq(l->pids[i], 0);
                if (l->pids[i] == 0) {
                        char msg[64], buf[256];
                        int len = snprintf(msg, sizeof(msg), "client %d of %d", i, n);
                        int fd = us_connect(path);
                        if (fd < 0)
                                _exit(2);
                        if (us_send(fd, msg, (size_t)len) != len)
                                _exit(3);
                        shutdown(fd, SHUT_WR);
                        ssize_t r = read_all_deadline(fd, buf, sizeof(buf), 120000);
                        if (r < 0)
                                _exit(4);
                        /* the probe greets with pid=N first */
                        char *nl = strchr(buf, '\n');
                        const char *echo = nl && strncmp(buf, "pid=", 4) == 0 ? nl + 1 : buf;
                        if (not_by && echo != buf && atoi(buf + 4) == not_by)
                                _exit(6);
                        _exit(strcmp(echo, msg) == 0 ? 0 : 5);
                }
        }
}

int load_wait(struct load *l, int *failures_by_kind)
{
        int ok = 0, st;

        for (int i = 0; i < l->n; i++) {
                cr_assert_eq(waitpid(l->pids[i], &st, 0), l->pids[i]);
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                        ok++;
                else if (failures_by_kind && WIFEXITED(st))
                        failures_by_kind[WEXITSTATUS(st) & 7]++;
        }
        return ok;
}

ssize_t exchange_as(const char *path, int type, const struct client_ids *ids, const char *msg, char *buf,
                    size_t size)
{
        int pfd[2], st;
        pid_t pid;
        ssize_t r;

        cr_assert(pipe2(pfd, O_CLOEXEC) == 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char b[4096];
                int fd;
                ssize_t k;

                if ((ids->n_groups >= 0 && setgroups((size_t)ids->n_groups, ids->groups) < 0) ||
                    setgid(ids->gid) < 0 || setuid(ids->uid) < 0)
                        _exit(2);
                fd = us_connect_type(path, type);
                if (fd < 0) {
                        dprintf(pfd[1], "connect: %s", strerror(errno));
                        _exit(3);
                }
                us_send(fd, msg, strlen(msg));
                shutdown(fd, SHUT_WR);
                k = read_all_deadline(fd, b, sizeof(b), DEADLINE_MS);
                if (k < 0)
                        _exit(4);
                _exit(write(pfd[1], b, (size_t)k) == k ? 0 : 5);
        }
        close(pfd[1]);
        r = read_all_deadline(pfd[0], buf, size, DEADLINE_MS);
        close(pfd[0]);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st), "client child status 0x%x", st);
        return WEXITSTATUS(st) == 0 ? r : -WEXITSTATUS(st);
}

int check_config_text(const char *name, const char *text, char *out, size_t size)
{
        char *dir = make_tmpdir(), *body = replace_all(text, "@DIR@", dir);
        const char *file = join(dir, name);
        FILE *f = fopen(file, "w");
        int r;

        cr_assert_not_null(f, "%s: %s", file, strerror(errno));
        fputs(body, f);
        fclose(f);
        free(body);
        r = run_capture((const char *[]){ getenv("UNIXSOCKD"), "--check", "-c", file, NULL }, out, size);
        rm_rf(dir);
        free(dir);
        return r;
}

int run_capture(const char *const *argv, char *out, size_t size)
{
        int pfd[2], st;
        pid_t pid;

        cr_assert_not_null(argv[0], "no program to run (UNIXSOCKD, UNIXSOCKCTL: run through meson test)");
        cr_assert(pipe2(pfd, O_CLOEXEC) == 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                dup2(pfd[1], 1);
                dup2(pfd[1], 2);
                unsetenv("NOTIFY_SOCKET");
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(pfd[1]);
        cr_assert_geq(read_all_deadline(pfd[0], out, size, DEADLINE_MS), 0);
        close(pfd[0]);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st), "%s: status 0x%x", argv[0], st);
        return WEXITSTATUS(st);
}
