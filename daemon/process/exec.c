/* Starting a worker process: fd layout, ids, directory, signal state, execve.
 *
 * clone(CLONE_VM|CLONE_VFORK) instead of fork(): the child borrows the
 * daemon's memory until execve, so no page tables are copied, and the daemon
 * is suspended only for the few system calls below (tests/bench/spawn-methods
 * measures it). The child therefore touches nothing but its own stack and the
 * struct it was given, calls only async-signal-safe functions, and reports a
 * failure through that struct. The daemon handles no signal with a handler
 * (sd-event reads them from a signalfd), so none can run on the borrowed
 * memory. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

struct child {
        const struct exec_params *p;
        int err;
        const char *step;
};

static void put_pid(char *slot, pid_t pid)
{
        char tmp[24];
        int n = 0;
        unsigned long v = (unsigned long)pid;

        do
                tmp[n++] = (char)('0' + v % 10);
        while ((v /= 10) && n < (int)sizeof(tmp));
        while (n)
                *slot++ = tmp[--n];
        *slot = '\0';
}

#define FAIL(s) do { c->err = errno; c->step = (s); _exit(127); } while (0)

/* The child runs on exec_spawn's own stack, which AddressSanitizer (in a
 * sanitizer build) does not know: its check before a noreturn call such as
 * _exit() would report that stack as bogus. Nothing here is worth checking. */
__attribute__((no_sanitize_address))
static int child_main(void *arg)
{
        struct child *c = arg;
        const struct exec_params *p = c->p;
        int src[EXEC_MAX_FDS];
        sigset_t none;

        if (p->cgroup_fd >= 0) {
                int fd = openat(p->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        FAIL("cgroup");
                if (write(fd, "0", 1) != 1) /* "0": the writer itself */
                        FAIL("cgroup");
                close(fd);
        }
        if (setsid() < 0)
                FAIL("setsid");
        /* Sources that sit where another target goes move out of the way first. */
        for (int i = 0; i < p->n_fds; i++) {
                src[i] = p->fds[i];
                if (src[i] < p->n_fds && src[i] != i) {
                        src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, p->n_fds);
                        if (src[i] < 0)
                                FAIL("dup");
                }
        }
        for (int i = 0; i < p->n_fds; i++) {
                if (src[i] == i) {
                        if (fcntl(i, F_SETFD, 0) < 0)
                                FAIL("fcntl");
                } else if (dup2(src[i], i) < 0) {
                        FAIL("dup2");
                }
        }
        if (close_range((unsigned)p->n_fds, ~0U, 0) < 0)
                FAIL("close_range");
        /* Limits and priority while the child may still raise them (root),
         * as systemd sets LimitNOFILE= and Nice= before User=. */
        for (size_t i = 0; i < p->n_limits; i++)
                if (syscall(SYS_prlimit64, 0, p->limits[i].resource, &p->limits[i].rl, NULL) < 0)
                        FAIL(p->limits[i].step ? p->limits[i].step : "setrlimit");
        if (p->set_nice && setpriority(PRIO_PROCESS, 0, p->nice) < 0)
                FAIL("setpriority");
        umask(p->umask);
        /* Raw system calls: glibc's wrappers may signal every thread of the
         * process to change ids together, and this child shares the daemon's. */
        if (p->set_ids) {
                if (syscall(SYS_setgroups, p->n_groups, p->groups) < 0)
                        FAIL("setgroups");
                if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
                        FAIL("setresgid");
                if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
                        FAIL("setresuid");
        }
        if (p->working_directory && chdir(p->working_directory) < 0)
                FAIL("chdir");
        if (p->pid_slot)
                put_pid(p->pid_slot, getpid());
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                FAIL("sigprocmask");
        execve(p->path, p->argv, p->envp);
        FAIL("execve");
}

int exec_spawn(const struct exec_params *p, pid_t *ret_pid, const char **ret_step)
{
        /* One stack serves every child: the daemon waits while a child uses it. */
        static char stack[64 * 1024] __attribute__((aligned(64)));
        struct child c = { .p = p };
        pid_t pid;

        if (p->n_fds < 0 || p->n_fds > EXEC_MAX_FDS) {
                *ret_step = "fds";
                return -EINVAL;
        }
        pid = clone(child_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
        if (pid < 0) {
                *ret_step = "clone";
                return -errno;
        }
        if (c.step) {
                /* It has called _exit already: the wait is for the kernel to finish that. */
                while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                        ;
                *ret_step = c.step;
                return -c.err;
        }
        *ret_pid = pid;
        return 0;
}
