/* spawn-methods: what one spawn costs the spawning process, by method, and how
 * that grows with the spawner's resident memory (fork copies its page tables;
 * the vfork-style methods share them and do not).
 *   spawn-methods [-n N] [-r MIB[,MIB...]] [PROG]
 * For every RSS size and method: N times spawn PROG with stdin and stdout on
 * /dev/null and wait for it. PROG defaults to echo-worker beside this binary,
 * else /bin/true. Every child does what a spawn daemon's child must: set an
 * empty signal mask (the parent keeps SIGCHLD, SIGTERM, SIGINT, SIGHUP blocked
 * as a signalfd daemon does), put fd 0 and 1 in place, exec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char *child_argv[2];
static int null_fd = -1;
static sigset_t empty_set;

/* what every child does before exec, from any of the methods */
static void child_exec(void)
{
        sigprocmask(SIG_SETMASK, &empty_set, NULL);
        if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
                _exit(126);
        execve(child_argv[0], child_argv, environ);
        _exit(127);
}

static pid_t spawn_fork(void)
{
        pid_t pid = fork();
        if (pid == 0)
                child_exec();
        return pid;
}

static pid_t spawn_vfork(void)
{
        pid_t pid = vfork();
        if (pid == 0)
                child_exec();
        return pid;
}

static posix_spawn_file_actions_t spawn_actions;
static posix_spawnattr_t spawn_attr;

static pid_t spawn_posix(void)
{
        pid_t pid;
        int r = posix_spawn(&pid, child_argv[0], &spawn_actions, &spawn_attr, child_argv, environ);
        if (r != 0) {
                errno = r;
                return -1;
        }
        return pid;
}

static void *clone_stack;
static const size_t clone_stack_size = 64 * 1024;

static int clone_child(void *arg)
{
        child_exec();
        return 127;
}

/* CLONE_VM | CLONE_VFORK: the child runs on its own stack in the parent's
 * address space, and the parent sleeps until it has exec'd; so one stack
 * serves every spawn. */
static pid_t spawn_clone(void)
{
        return clone(clone_child, (char *)clone_stack + clone_stack_size,
                     CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
}

struct method {
        const char *name;
        pid_t (*spawn)(void);
};

static const struct method methods[] = {
        { "fork+exec", spawn_fork },
        { "vfork+exec", spawn_vfork },
        { "posix_spawn", spawn_posix },
        { "clone(VM+VFORK)+exec", spawn_clone },
};

static double tv_seconds(const struct timeval *tv)
{
        return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static double cpu_of(int who)
{
        struct rusage ru;
        if (getrusage(who, &ru) < 0) {
                perror("getrusage");
                exit(1);
        }
        return tv_seconds(&ru.ru_utime) + tv_seconds(&ru.ru_stime);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long vm_rss_kib(void)
{
        char line[256];
        long kib = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static void run_n(const struct method *m, long n)
{
        for (long i = 0; i < n; i++) {
                int status;
                pid_t pid = m->spawn();

                if (pid < 0) {
                        fprintf(stderr, "spawn-methods: %s: %s\n", m->name, strerror(errno));
                        exit(1);
                }
                while (waitpid(pid, &status, 0) < 0) {
                        if (errno != EINTR) {
                                perror("waitpid");
                                exit(1);
                        }
                }
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        fprintf(stderr, "spawn-methods: %s: %s did not exit 0 (status 0x%x)\n",
                                m->name, child_argv[0], (unsigned)status);
                        exit(1);
                }
        }
}

static void measure(const struct method *m, long n, long rss_mib)
{
        double t0, self0, kids0, wall, self, kids;

        run_n(m, n / 20 + 1);   /* warm up: page cache, the dynamic loader */
        self0 = cpu_of(RUSAGE_SELF);
        kids0 = cpu_of(RUSAGE_CHILDREN);
        t0 = now();
        run_n(m, n);
        wall = now() - t0;
        self = cpu_of(RUSAGE_SELF) - self0;
        kids = cpu_of(RUSAGE_CHILDREN) - kids0;
        printf("| %-20s | %8ld | %9.0f | %10.1f | %13.1f | %13.1f |\n", m->name, rss_mib,
               (double)n / wall, wall / (double)n * 1e6, self / (double)n * 1e6,
               kids / (double)n * 1e6);
        fflush(stdout);
}

/* Makes the process resident set about mib MiB larger, in 4 KiB pages: a heap
 * of a long-running daemon is mostly small pages, and transparent huge pages
 * would hide the per-page cost of fork. */
static void grow_rss(long mib)
{
        static char *ballast;
        static size_t ballast_len;
        size_t len = (size_t)mib << 20;

        if (ballast) {
                munmap(ballast, ballast_len);
                ballast = NULL;
        }
        if (len == 0)
                return;
        ballast = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ballast == MAP_FAILED) {
                perror("mmap");
                exit(1);
        }
        ballast_len = len;
        (void)madvise(ballast, len, MADV_NOHUGEPAGE);
        memset(ballast, 0x5a, len);
}

static char *default_prog(void)
{
        static char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        char *slash;

        if (n > 0) {
                path[n] = '\0';
                slash = strrchr(path, '/');
                if (slash && (size_t)(slash - path) + sizeof("/echo-worker") <= sizeof(path)) {
                        strcpy(slash, "/echo-worker");
                        if (access(path, X_OK) == 0)
                                return path;
                }
        }
        return (char *)"/bin/true";
}

static void usage(void)
{
        fprintf(stderr, "usage: spawn-methods [-n N] [-r MIB[,MIB...]] [PROG]\n");
        exit(2);
}

int main(int argc, char **argv)
{
        long n = 2000, sizes[16], base_kib;
        int nsizes = 0, o;
        char *list = NULL;
        sigset_t daemon_blocked;

        while ((o = getopt(argc, argv, "n:r:")) != -1) {
                switch (o) {
                case 'n':
                        n = strtol(optarg, NULL, 10);
                        if (n < 1)
                                usage();
                        break;
                case 'r': list = optarg; break;
                default: usage();
                }
        }
        if (argc - optind > 1)
                usage();
        child_argv[0] = optind < argc ? argv[optind] : default_prog();
        child_argv[1] = NULL;

        if (!list)
                list = (char *)"0,64";
        for (char *tok = strtok(list, ","); tok && nsizes < 16; tok = strtok(NULL, ",")) {
                char *end;
                long v = strtol(tok, &end, 10);
                if (end == tok || *end || v < 0 || v > 65536)
                        usage();
                sizes[nsizes++] = v;
        }

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0) {
                perror("/dev/null");
                return 1;
        }
        sigemptyset(&empty_set);
        sigemptyset(&daemon_blocked);
        sigaddset(&daemon_blocked, SIGCHLD);
        sigaddset(&daemon_blocked, SIGTERM);
        sigaddset(&daemon_blocked, SIGINT);
        sigaddset(&daemon_blocked, SIGHUP);
        sigprocmask(SIG_BLOCK, &daemon_blocked, NULL);

        if (posix_spawn_file_actions_init(&spawn_actions) != 0 ||
            posix_spawn_file_actions_adddup2(&spawn_actions, null_fd, STDIN_FILENO) != 0 ||
            posix_spawn_file_actions_adddup2(&spawn_actions, null_fd, STDOUT_FILENO) != 0 ||
            posix_spawnattr_init(&spawn_attr) != 0 ||
            posix_spawnattr_setsigmask(&spawn_attr, &empty_set) != 0 ||
            posix_spawnattr_setflags(&spawn_attr, POSIX_SPAWN_SETSIGMASK) != 0) {
                fprintf(stderr, "spawn-methods: posix_spawn attributes failed\n");
                return 1;
        }
        clone_stack = mmap(NULL, clone_stack_size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (clone_stack == MAP_FAILED) {
                perror("mmap");
                return 1;
        }

        base_kib = vm_rss_kib();
        printf("spawn-methods: %ld spawns of %s per row, each waited for\n\n", n, child_argv[0]);
        printf("| %-20s | %8s | %9s | %10s | %13s | %13s |\n", "method", "+RSS MiB", "spawns/s",
               "wall us/sp", "parent CPU us", "child CPU us");
        printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------", "---------:", "----------:",
               "-----------:", "--------------:", "--------------:");
        for (int s = 0; s < nsizes; s++) {
                grow_rss(sizes[s]);
                for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                        measure(&methods[i], n, sizes[s]);
        }
        printf("\n+RSS MiB: ballast touched on top of the spawner's own %ld KiB; CPU times are per spawn\n",
               base_kib);
        return 0;
}
