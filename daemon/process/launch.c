/* Launch: the worker's shared environment and stderr, exec parameters, and
 * the lines a start that failed and an exit are logged with. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "env.h"
#include "exec.h"
#include "launch.h"
#include "limits.h"

int launcher_init(struct launcher *l, const struct cfg_worker *cw)
{
        extern char **environ;
        struct passwd *pw = cw->set_user ? getpwuid(cw->uid) : NULL;
        struct env_user u = { 0 };

        *l = (struct launcher){
                .cfg = cw,
                .stderr_fd = -1,
                .cgroup_fd = -1,
                .exit_rl = RATELIMIT_INIT(10 * 1000000ULL, 10),
                .exec_rl = RATELIMIT_INIT(10 * 1000000ULL, 5),
        };
        if (pw)
                u = (struct env_user){ pw->pw_name, pw->pw_dir, pw->pw_shell };
        l->base_env = env_build(environ, cw->env, pw ? &u : NULL, &l->n_base_env);
        return l->base_env ? 0 : -ENOMEM;
}

void launcher_done(struct launcher *l)
{
        if (l->stderr_fd > STDERR_FILENO)
                close(l->stderr_fd);
        env_free(l->base_env);
        l->base_env = NULL;
}

int launcher_stderr(struct launcher *l)
{
        struct stat st;
        int fd;

        if (l->stderr_fd >= 0)
                return l->stderr_fd;
        l->stderr_fd = STDERR_FILENO;
        if (!log_to_journal())
                return l->stderr_fd;
        fd = sd_journal_stream_fd(l->cfg->name, LOG_INFO, 1);
        if (fd < 0) {
                log_errno(LOG_WARNING, fd, "worker %s: journal stream", l->cfg->name);
                return l->stderr_fd;
        }
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fstat(fd, &st) < 0) {
                close(fd);
                return l->stderr_fd;
        }
        l->stderr_fd = fd;
        snprintf(l->journal_stream, sizeof(l->journal_stream), "JOURNAL_STREAM=%llu:%llu",
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        return fd;
}

/* base + JOURNAL_STREAM + a's, in one array reused from start to start: the
 * child reads it before execve, while the daemon waits (exec.c). */
static char **env_for(const struct launcher *l, const struct launch *a)
{
        static char **env;
        static size_t size;
        size_t n = 0, need = l->n_base_env + a->n_env + 2;

        if (size < need) {
                char **t = realloc(env, need * sizeof(*t));
                if (!t)
                        return NULL;
                env = t;
                size = need;
        }
        for (size_t i = 0; i < l->n_base_env; i++)
                env[n++] = l->base_env[i];
        if (l->journal_stream[0])
                env[n++] = (char *)l->journal_stream;
        for (size_t i = 0; i < a->n_env; i++)
                env[n++] = (char *)a->env[i];
        env[n] = NULL;
        return env;
}

static rlim_t rlim(uint64_t v)
{
        return v == CFG_INFINITY ? RLIM_INFINITY : (rlim_t)v;
}

/* Each limit's step: a refused one is logged with its name and value. */
static const char *const limit_step[_LIMIT_MAX] = {
        [LIMIT_NOFILE] = "setrlimit RLIMIT_NOFILE", [LIMIT_NPROC] = "setrlimit RLIMIT_NPROC",
        [LIMIT_CORE] = "setrlimit RLIMIT_CORE", [LIMIT_AS] = "setrlimit RLIMIT_AS",
        [LIMIT_CPU] = "setrlimit RLIMIT_CPU",
};

size_t launch_limits(const struct cfg_worker *cw, struct exec_limit *out)
{
        static const int resource[_LIMIT_MAX] = {
                [LIMIT_NOFILE] = RLIMIT_NOFILE, [LIMIT_NPROC] = RLIMIT_NPROC, [LIMIT_CORE] = RLIMIT_CORE,
                [LIMIT_AS] = RLIMIT_AS, [LIMIT_CPU] = RLIMIT_CPU,
        };
        size_t n = 0;

        /* The daemon raised its own soft RLIMIT_NOFILE: a worker gets the one
         * the daemon was started with, unless limit-nofile says otherwise. */
        if (!cw->limits[LIMIT_NOFILE].set) {
                out[n].resource = RLIMIT_NOFILE;
                out[n].step = limit_step[LIMIT_NOFILE];
                if (limits_worker_nofile(&out[n].rl))
                        n++;
        }
        for (size_t i = 0; i < _LIMIT_MAX; i++)
                if (cw->limits[i].set)
                        out[n++] = (struct exec_limit){
                                .resource = resource[i],
                                .rl = { .rlim_cur = rlim(cw->limits[i].soft), .rlim_max = rlim(cw->limits[i].hard) },
                                .step = limit_step[i],
                        };
        return n;
}

/* What a step was given, for its failure's line: the path it ran, the
 * directory it changed to, or the values of the limit it set. */
static const char *step_object(const struct cfg_worker *cw, const char *step, char *buf, size_t size)
{
        struct exec_limit limits[EXEC_MAX_LIMITS];
        size_t n;

        if (strcmp(step, "chdir") == 0)
                return cw->working_directory;
        n = launch_limits(cw, limits);
        for (size_t i = 0; i < n; i++)
                if (limits[i].step == step) {
                        char soft[24] = "infinity", hard[24] = "infinity";
                        if (limits[i].rl.rlim_cur != RLIM_INFINITY)
                                snprintf(soft, sizeof(soft), "%llu", (unsigned long long)limits[i].rl.rlim_cur);
                        if (limits[i].rl.rlim_max != RLIM_INFINITY)
                                snprintf(hard, sizeof(hard), "%llu", (unsigned long long)limits[i].rl.rlim_max);
                        snprintf(buf, size, "%s:%s", soft, hard);
                        return buf;
                }
        return cw->exec_path;
}

int launch_start(struct launcher *l, const struct launch *a, pid_t *ret_pid, const char **ret_step)
{
        const struct cfg_worker *cw = l->cfg;
        char **env = env_for(l, a);

        if (!env) {
                *ret_step = "clone";
                return -ENOMEM;
        }
        struct exec_params p = {
                .path = cw->exec_path,
                .argv = cw->argv,
                .envp = env,
                .fds = a->fds,
                .n_fds = a->n_fds,
                .working_directory = cw->working_directory,
                .set_ids = cw->set_user || cw->set_group,
                .uid = cw->set_user ? cw->uid : geteuid(),
                .gid = cw->gid,
                /* group= alone: that group and no supplementary ones */
                .groups = cw->set_user ? cw->groups : NULL,
                .n_groups = cw->set_user ? cw->n_groups : 0,
                .pid_slot = a->pid_slot,
                .set_nice = cw->set_nice,
                .nice = cw->nice,
                .umask = cw->umask,
                .cgroup_fd = l->cgroup_fd,
        };
        struct exec_limit limits[EXEC_MAX_LIMITS];

        p.n_limits = launch_limits(cw, limits);
        p.limits = limits;
        return exec_spawn(&p, ret_pid, ret_step);
}

void launch_log_failure(const struct launcher *l, const struct log_ctx *c, int prio, int r,
                        const char *step, const char *tail)
{
        const struct cfg_worker *cw = l->cfg;
        struct log_ctx e = *c;
        char buf[64];

        e.error = -r;
        log_ctx(prio, &e, "worker %s: %s %s: %s%s", cw->name, step, step_object(cw, step, buf, sizeof(buf)),
                strerror(-r), tail);
}

bool launch_exit_failed(const siginfo_t *si)
{
        return si->si_code != CLD_EXITED || si->si_status != 0;
}

const char *launch_exit_ctx(struct log_ctx *c, const siginfo_t *si)
{
        c->msgid = MSGID_WORKER_EXITED;
        c->worker_pid = si->si_pid;
        c->exit_code = si->si_code;
        c->exit_status = si->si_status;
        return si->si_code == CLD_EXITED ? "exited with status" : "killed by signal";
}

void launch_record_exit(struct launcher *l, const siginfo_t *si, uint64_t now)
{
        l->last_exit = (struct last_exit){
                .pid = si->si_pid, .code = si->si_code, .status = si->si_status, .usec = now,
        };
}
