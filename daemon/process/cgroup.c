/* Per-worker cgroups (cgroup v2, in the subtree systemd delegated to the
 * daemon with Delegate=yes): detection, the daemon's own leaf, the workers'
 * sub-cgroups, signalling and removing them.
 *
 * Every path is opened relative to the fd of the daemon's own cgroup
 * directory, one component at a time with O_NOFOLLOW: nothing here follows
 * a symlink. cgroupfs reads and writes do not block. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define O_DIR (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct cgroup {
        struct cgroup_tree *tree;
        int fd;
        char name[NAME_MAX + 1];
        bool released;                  /* its worker is gone: removed once empty */
        sd_event_source *kill_timer;    /* released with processes: SIGKILL then */
};

struct cgroup_tree {
        sd_event *event;
        int fd;                         /* the daemon's own cgroup directory; -1: none */
        char path[PATH_MAX + 16];       /* CGROUP_ROOT + own path, for messages */
        char why[PATH_MAX + 512];       /* fd < 0: why there are no cgroups */
        bool failed;                    /* delegated, but it could not be set up */
        unsigned available;             /* cgroup.controllers */
        unsigned enabled;               /* cgroup.subtree_control, as we set it */
        int enable_error[3];            /* per controller bit: why it could not be enabled */
        struct cgroup **list;           /* every sub-cgroup it made and did not remove */
        size_t n, cap;
};

/* ---- pure ------------------------------------------------------------------- */

int cgroup_parse_self(const char *text, size_t len, char *buf, size_t size)
{
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *e = nl ? nl : end;
                if (e - p >= 3 && memcmp(p, "0::", 3) == 0) {
                        const char *s = p + 3;
                        size_t n = (size_t)(e - s);
                        if (n == 0 || *s != '/')
                                return -EINVAL;
                        if (n >= size)
                                return -ENAMETOOLONG;
                        /* no "." or ".." component (a cgroup namespace shows
                         * "/../.." for a cgroup outside of it) */
                        for (const char *c = s; c < e;) {
                                const char *slash;
                                size_t cl;
                                c++;
                                slash = memchr(c, '/', (size_t)(e - c));
                                cl = (size_t)((slash ? slash : e) - c);
                                if ((cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
                                        return -EINVAL;
                                if (memchr(c, '\0', cl))
                                        return -EINVAL;
                                c += cl;
                        }
                        memcpy(buf, s, n);
                        buf[n] = '\0';
                        return 0;
                }
                p = e + 1;
        }
        return -ENOENT;
}

static const char *const controller_names[] = { "memory", "pids", "cpu" };

unsigned cgroup_parse_controllers(const char *text)
{
        unsigned mask = 0;

        while (*text) {
                size_t n;
                text += strspn(text, " \t\n");
                n = strcspn(text, " \t\n");
                for (unsigned i = 0; i < 3; i++)
                        if (n == strlen(controller_names[i]) && memcmp(text, controller_names[i], n) == 0)
                                mask |= 1u << i;
                text += n;
        }
        return mask;
}

int cgroup_child_name(const char *worker, unsigned gen, char *buf, size_t size)
{
        int n = gen <= 1 ? snprintf(buf, size, CGROUP_WORKER_PREFIX "%s", worker)
                         : snprintf(buf, size, CGROUP_WORKER_PREFIX "%s@%u", worker, gen);

        return n < 0 || (size_t)n >= size || (size_t)n > NAME_MAX ? -ENAMETOOLONG : 0;
}

unsigned cgroup_needs(const struct cfg_worker *cw)
{
        return (cw->memory_max != CFG_INFINITY ? CGROUP_MEMORY : 0) |
               (cw->pids_max != CFG_INFINITY ? CGROUP_PIDS : 0) | (cw->cpu_weight ? CGROUP_CPU : 0);
}

static unsigned key_line(const struct cfg_worker *cw, unsigned bit)
{
        unsigned line = bit == CGROUP_MEMORY ? cw->memory_max_line
                      : bit == CGROUP_PIDS ? cw->pids_max_line : cw->cpu_weight_line;

        return line ? line : cw->cgroup_line;
}

const char *cgroup_key_name(unsigned bit)
{
        return bit == CGROUP_MEMORY ? "memory-max" : bit == CGROUP_PIDS ? "pids-max" : "cpu-weight";
}

bool cgroup_decide(const struct cgroup_probe *p, char *why, size_t size)
{
        if (!p->cgroup2)
                snprintf(why, size, CGROUP_ROOT " is not a cgroup2 file system (cgroup v1 or hybrid hierarchy)");
        else if (!p->path)
                snprintf(why, size, "no cgroup v2 line in /proc/self/cgroup%s%s",
                         p->path_error ? ": " : "", p->path_error ? p->path_error : "");
        else if (strcmp(p->path, "/") == 0)
                snprintf(why, size, "the daemon runs in the root cgroup");
        else if (!p->opened)
                snprintf(why, size, CGROUP_ROOT "%s: %s", p->path, p->open_error ? p->open_error : "cannot open");
        else if (!p->delegated)
                snprintf(why, size, CGROUP_ROOT "%s is not delegated to the daemon (no user.delegate or trusted.delegate attribute)",
                         p->path);
        else
                return true;
        return false;
}

/* ---- small file helpers ------------------------------------------------------- */

/* Reads up to size - 1 bytes of fd (taken), '\0'-terminated. Length, or a negative errno. */
static ssize_t read_fd(int fd, char *buf, size_t size)
{
        ssize_t n = 0, r;

        while ((size_t)n < size - 1 && (r = read(fd, buf + n, size - 1 - (size_t)n)) != 0) {
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        close(fd);
                        return r;
                }
                n += r;
        }
        buf[n] = '\0';
        close(fd);
        return n;
}

/* read_fd of dirfd/name. */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t size)
{
        int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 ? -errno : read_fd(fd, buf, size);
}

/* The same for a relative path of directories that are no symlinks ("PID/cgroup" in /proc). */
static ssize_t read_small_at(int dirfd, const char *path, char *buf, size_t size)
{
        char dir[32];
        const char *slash = strchr(path, '/');
        int d, fd;

        if (!slash || (size_t)(slash - path) >= sizeof(dir))
                return -EINVAL;
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        d = openat(dirfd, dir, O_DIR);
        if (d < 0)
                return -errno;
        fd = openat(d, slash + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        close(d);
        return fd < 0 ? -errno : read_fd(fd, buf, size);
}

static int write_str(int dirfd, const char *name, const char *s)
{
        int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        size_t n = strlen(s);
        ssize_t w;
        int r = 0;

        if (fd < 0)
                return -errno;
        w = write(fd, s, n);
        if (w < 0)
                r = -errno;
        else if ((size_t)w != n)
                r = -EIO;
        close(fd);
        return r;
}

int cgroup_populated_dir(int dirfd)
{
        char buf[512];
        ssize_t n = read_small(dirfd, "cgroup.events", buf, sizeof(buf));

        if (n < 0)
                return (int)n;
        for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, "populated ", 10) == 0)
                        return l[10] == '1';
        return 0;
}

/* One pass over cgroup.procs: sig to each pid, read in bounded chunks. How
 * many pids, or a negative errno. */
static int signal_pass(int dirfd, int sig)
{
        int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char buf[4096];
        size_t have = 0;
        int n = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                have += (size_t)r;
                buf[have] = '\0';
                char *p = buf, *nl;
                while ((nl = strchr(p, '\n'))) {
                        long pid = strtol(p, NULL, 10);
                        if (pid > 0) {
                                (void)kill((pid_t)pid, sig);
                                n++;
                        }
                        p = nl + 1;
                }
                have = (size_t)(buf + have - p);
                memmove(buf, p, have);
                if (have == sizeof(buf) - 1)
                        have = 0; /* no pid is that long */
        }
        close(fd);
        return n;
}

int cgroup_signal_dir(int dirfd, int sig)
{
        int r;

        if (sig == SIGKILL && write_str(dirfd, "cgroup.kill", "1") == 0)
                return 0;
        r = signal_pass(dirfd, sig);
        /* SIGKILL without cgroup.kill (before Linux 5.14): again while a
         * process forked between the read and the kill; bounded. */
        for (int i = 0; sig == SIGKILL && r > 0 && i < 16; i++)
                r = signal_pass(dirfd, sig);
        return r < 0 ? r : 0;
}

/* ---- the tree -------------------------------------------------------------------- */

static struct cgroup_tree *tree_alloc(sd_event *e)
{
        struct cgroup_tree *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->event = e ? sd_event_ref(e) : NULL;
        t->fd = -1;
        return t;
}

static int list_add(struct cgroup_tree *t, struct cgroup *cg)
{
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 8;
                struct cgroup **l = reallocarray(t->list, cap, sizeof(*l));
                if (!l)
                        return -ENOMEM;
                t->list = l;
                t->cap = cap;
        }
        t->list[t->n++] = cg;
        return 0;
}

static void list_remove(struct cgroup_tree *t, struct cgroup *cg)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->list[i] == cg) {
                        t->list[i] = t->list[--t->n];
                        return;
                }
}

/* rmdir; true if it is gone. */
static bool remove_dir(struct cgroup_tree *t, struct cgroup *cg)
{
        if (unlinkat(t->fd, cg->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                log_errno(LOG_DEBUG, -errno, "cgroup %s/%s: rmdir", t->path, cg->name);
                return false;
        }
        return true;
}

static void cgroup_free(struct cgroup *cg)
{
        if (!cg)
                return;
        sd_event_source_disable_unref(cg->kill_timer);
        if (cg->fd >= 0)
                close(cg->fd);
        free(cg);
}

/* Sub-cgroups of an earlier run of the daemon (it crashed, or systemd kept
 * them): their processes belong to no worker of ours, so they are killed,
 * and the cgroups removed now or, once their processes are gone, by gc. */
static void clean_leftovers(struct cgroup_tree *t)
{
        int fd = openat(t->fd, ".", O_DIR);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!dir) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((de = readdir(dir))) {
                struct cgroup *cg;
                if (de->d_type != DT_DIR ||
                    strncmp(de->d_name, CGROUP_WORKER_PREFIX, strlen(CGROUP_WORKER_PREFIX)) != 0)
                        continue;
                cg = calloc(1, sizeof(*cg));
                if (!cg)
                        break;
                cg->tree = t;
                cg->released = true;
                snprintf(cg->name, sizeof(cg->name), "%s", de->d_name);
                cg->fd = openat(t->fd, cg->name, O_DIR);
                if (cg->fd >= 0 && cgroup_populated_dir(cg->fd) > 0) {
                        log_msg(LOG_NOTICE, "cgroup %s/%s: left by an earlier run, with processes: killing them",
                                t->path, cg->name);
                        (void)cgroup_signal_dir(cg->fd, SIGKILL);
                }
                if (remove_dir(t, cg) || list_add(t, cg) < 0)
                        cgroup_free(cg);
        }
        closedir(dir);
}

/* The daemon into its leaf, the controllers on for the subtree. */
static int setup(struct cgroup_tree *t)
{
        char buf[512];
        int sup, r;

        if (mkdirat(t->fd, CGROUP_SUPERVISOR, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                snprintf(t->why, sizeof(t->why), "%s/" CGROUP_SUPERVISOR ": mkdir: %s", t->path, strerror(-r));
                return r;
        }
        sup = openat(t->fd, CGROUP_SUPERVISOR, O_DIR);
        if (sup < 0) {
                r = -errno;
                snprintf(t->why, sizeof(t->why), "%s/" CGROUP_SUPERVISOR ": %s", t->path, strerror(-r));
                return r;
        }
        r = write_str(sup, "cgroup.procs", "0");
        close(sup);
        if (r < 0) {
                snprintf(t->why, sizeof(t->why), "%s/" CGROUP_SUPERVISOR "/cgroup.procs: moving the daemon there: %s",
                         t->path, strerror(-r));
                return r;
        }
        if (read_small(t->fd, "cgroup.controllers", buf, sizeof(buf)) >= 0)
                t->available = cgroup_parse_controllers(buf);
        for (unsigned i = 0; i < 3; i++) {
                char op[16];
                if (!(t->available & (1u << i)))
                        continue;
                snprintf(op, sizeof(op), "+%s", controller_names[i]);
                r = write_str(t->fd, "cgroup.subtree_control", op);
                if (r < 0)
                        t->enable_error[i] = -r;
                else
                        t->enabled |= 1u << i;
        }
        clean_leftovers(t);
        return 0;
}

int cgroup_tree_open_at(sd_event *e, int dirfd, const char *path, struct cgroup_tree **ret)
{
        struct cgroup_tree *t = tree_alloc(e);

        if (!t) {
                close(dirfd);
                return -ENOMEM;
        }
        t->fd = dirfd;
        snprintf(t->path, sizeof(t->path), "%s", path);
        if (setup(t) < 0) {
                /* once, here; a worker that needs it says so as a config error */
                log_msg(LOG_WARNING, "cgroup %s is delegated but cannot be used: %s; workers run without cgroups",
                        t->path, t->why);
                t->failed = true;
                close(t->fd);
                t->fd = -1;
        }
        *ret = t;
        return 0;
}

/* CGROUP_ROOT + path, one component at a time, never through a symlink. */
static int open_path(const char *path)
{
        char comp[NAME_MAX + 1];
        int fd = open(CGROUP_ROOT, O_DIR);

        for (const char *p = path; fd >= 0 && *p;) {
                size_t n;
                int next;
                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n > NAME_MAX) {
                        close(fd);
                        errno = ENAMETOOLONG;
                        return -1;
                }
                memcpy(comp, p, n);
                comp[n] = '\0';
                next = openat(fd, comp, O_DIR);
                close(fd);
                fd = next;
                p += n;
        }
        return fd;
}

static bool has_delegate_xattr(int fd)
{
        static const char *const names[] = { "user.delegate", "trusted.delegate" };
        char v[8];

        /* user.* first: trusted.* is invisible without CAP_SYS_ADMIN, which
         * the shipped unit does not give (systemd 251+ sets both). */
        for (size_t i = 0; i < 2; i++) {
                ssize_t n = fgetxattr(fd, names[i], v, sizeof(v));
                if (n == 1 && v[0] == '1')
                        return true;
        }
        return false;
}

int cgroup_tree_open(sd_event *e, struct cgroup_tree **ret)
{
        struct cgroup_tree *t = tree_alloc(e);
        struct cgroup_probe p = { 0 };
        char text[PATH_MAX + 16], path[PATH_MAX];
        struct statfs sfs;
        ssize_t n;
        int fd = -1, r;

        if (!t)
                return -ENOMEM;
        p.cgroup2 = statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
        if (p.cgroup2) {
                /* by pid: /proc/self is a symlink */
                int proc = open("/proc", O_DIR);
                snprintf(path, sizeof(path), "%d/cgroup", (int)getpid());
                n = proc >= 0 ? read_small_at(proc, path, text, sizeof(text)) : -errno;
                if (proc >= 0)
                        close(proc);
                r = n < 0 ? (int)n : cgroup_parse_self(text, (size_t)n, path, sizeof(path));
                if (r == 0)
                        p.path = path;
                else
                        p.path_error = strerror(-r);
        }
        if (p.path && strcmp(p.path, "/") != 0) {
                fd = open_path(p.path);
                p.opened = fd >= 0;
                if (fd < 0)
                        p.open_error = strerror(errno);
                else if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
                        p.opened = false;
                        p.open_error = "not on a cgroup2 file system";
                } else {
                        p.delegated = has_delegate_xattr(fd);
                }
        }
        if (!cgroup_decide(&p, t->why, sizeof(t->why))) {
                if (fd >= 0)
                        close(fd);
                *ret = t;
                return 0;
        }
        t = cgroup_tree_free(t);
        snprintf(text, sizeof(text), CGROUP_ROOT "%s", path);
        return cgroup_tree_open_at(e, fd, text, ret);
}

struct cgroup_tree *cgroup_tree_free(struct cgroup_tree *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++) {
                (void)remove_dir(t, t->list[i]);
                cgroup_free(t->list[i]);
        }
        free(t->list);
        if (t->fd >= 0)
                close(t->fd);
        sd_event_unref(t->event);
        free(t);
        return NULL;
}

bool cgroup_tree_active(const struct cgroup_tree *t)
{
        return t && t->fd >= 0;
}

const char *cgroup_tree_why(const struct cgroup_tree *t)
{
        return t ? t->why : "no cgroup tree";
}

size_t cgroup_check(const struct cgroup_tree *t, const struct config *c, config_error_fn err, void *userdata)
{
        size_t errors = 0;
        char msg[PATH_MAX + 1024];

        for (size_t i = 0; i < c->n_workers; i++) {
                const struct cfg_worker *cw = &c->workers[i];
                unsigned need = cgroup_needs(cw);
                if (!cw->cgroup_line)
                        continue;
                if (!cgroup_tree_active(t)) {
                        snprintf(msg, sizeof(msg), "%s: needs a delegated cgroup (Delegate=yes in the unit): %s",
                                 cw->cgroup_key, cgroup_tree_why(t));
                        err(userdata, c->file, cw->cgroup_line, msg);
                        errors++;
                        continue;
                }
                for (unsigned b = 0; b < 3; b++) {
                        unsigned bit = 1u << b;
                        if (!(need & bit) || (t->enabled & bit))
                                continue;
                        if (!(t->available & bit))
                                snprintf(msg, sizeof(msg), "%s: needs the %s controller, which %s does not have (cgroup.controllers)",
                                         cgroup_key_name(bit), controller_names[b], t->path);
                        else
                                snprintf(msg, sizeof(msg), "%s: needs the %s controller: %s/cgroup.subtree_control: %s",
                                         cgroup_key_name(bit), controller_names[b], t->path,
                                         strerror(t->enable_error[b]));
                        err(userdata, c->file, key_line(cw, bit), msg);
                        errors++;
                }
        }
        return errors;
}

static int write_limits(struct cgroup *cg, const struct cfg_worker *cw, const char **ret_file)
{
        char v[32];
        int r = 0;

        if (cw->memory_max != CFG_INFINITY) {
                snprintf(v, sizeof(v), "%llu", (unsigned long long)cw->memory_max);
                *ret_file = "memory.max";
                r = write_str(cg->fd, *ret_file, v);
        }
        if (r >= 0 && cw->pids_max != CFG_INFINITY) {
                snprintf(v, sizeof(v), "%llu", (unsigned long long)cw->pids_max);
                *ret_file = "pids.max";
                r = write_str(cg->fd, *ret_file, v);
        }
        if (r >= 0 && cw->cpu_weight) {
                snprintf(v, sizeof(v), "%u", cw->cpu_weight);
                *ret_file = "cpu.weight";
                r = write_str(cg->fd, *ret_file, v);
        }
        return r;
}

int cgroup_new(struct cgroup_tree *t, const struct cfg_worker *cw, struct cgroup **ret)
{
        struct cgroup *cg;
        const char *file = "";
        int r = -EEXIST;

        *ret = NULL;
        if (!cgroup_tree_active(t))
                return 0;
        cg = calloc(1, sizeof(*cg));
        if (!cg)
                return log_errno(LOG_ERR, -ENOMEM, "worker %s: cgroup", cw->name);
        cg->tree = t;
        cg->fd = -1;
        /* The lowest generation free: an older worker object of the same name
         * (replaced by a reload, its processes still finishing) keeps its
         * own, so killing what is left of one never touches the other. */
        for (unsigned gen = 1; gen <= CGROUP_MAX_GENERATIONS && r == -EEXIST; gen++) {
                r = cgroup_child_name(cw->name, gen, cg->name, sizeof(cg->name));
                if (r == 0 && mkdirat(t->fd, cg->name, 0755) < 0)
                        r = -errno;
        }
        if (r < 0) {
                log_errno(LOG_ERR, r, "worker %s: cgroup %s/%s: mkdir", cw->name, t->path, cg->name);
                free(cg);
                return r;
        }
        cg->fd = openat(t->fd, cg->name, O_DIR);
        if (cg->fd < 0) {
                r = log_errno(LOG_ERR, -errno, "worker %s: cgroup %s/%s", cw->name, t->path, cg->name);
        } else if ((r = write_limits(cg, cw, &file)) < 0) {
                log_errno(LOG_ERR, r, "worker %s: cgroup %s/%s/%s", cw->name, t->path, cg->name, file);
        } else if ((r = list_add(t, cg)) < 0) {
                log_errno(LOG_ERR, r, "worker %s: cgroup", cw->name);
        } else {
                log_msg(LOG_DEBUG, "worker %s: cgroup %s/%s", cw->name, t->path, cg->name);
                *ret = cg;
                return 0;
        }
        (void)remove_dir(t, cg);
        cgroup_free(cg);
        return r;
}

int cgroup_fd(const struct cgroup *cg)
{
        return cg ? cg->fd : -1;
}

const char *cgroup_name(const struct cgroup *cg)
{
        return cg ? cg->name : "";
}

static int on_kill_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct cgroup *cg = userdata;

        (void)es;
        (void)usec;
        if (cgroup_populated_dir(cg->fd) > 0) {
                log_msg(LOG_WARNING, "cgroup %s/%s: processes left by a worker that is gone still run: SIGKILL",
                        cg->tree->path, cg->name);
                (void)cgroup_signal_dir(cg->fd, SIGKILL);
        }
        return 0;
}

void cgroup_release(struct cgroup *cg, uint64_t kill_after_usec)
{
        struct cgroup_tree *t;

        if (!cg || cg->released)
                return;
        t = cg->tree;
        cg->released = true;
        if (cgroup_populated_dir(cg->fd) <= 0 && remove_dir(t, cg)) {
                list_remove(t, cg);
                cgroup_free(cg);
                return;
        }
        /* Like systemd's KillMode=control-group when a unit's main process
         * is gone: what the worker left behind is stopped too. */
        log_msg(LOG_INFO, "cgroup %s/%s: its worker is gone, processes it left still run: SIGTERM",
                t->path, cg->name);
        (void)cgroup_signal_dir(cg->fd, SIGTERM);
        if (t->event)
                (void)sd_event_add_time_relative(t->event, &cg->kill_timer, CLOCK_MONOTONIC, kill_after_usec, 0,
                                                 on_kill_timer, cg);
}

void cgroup_tree_signal(struct cgroup_tree *t, int sig)
{
        for (size_t i = 0; t && i < t->n; i++)
                (void)cgroup_signal_dir(t->list[i]->fd, sig);
}

size_t cgroup_tree_populated(struct cgroup_tree *t)
{
        size_t n = 0;

        for (size_t i = 0; t && i < t->n; i++)
                n += cgroup_populated_dir(t->list[i]->fd) > 0;
        return n;
}

void cgroup_tree_gc(struct cgroup_tree *t)
{
        for (size_t i = 0; t && i < t->n;) {
                struct cgroup *cg = t->list[i];
                if (cg->released && cgroup_populated_dir(cg->fd) <= 0 && remove_dir(t, cg)) {
                        t->list[i] = t->list[--t->n];
                        cgroup_free(cg);
                } else {
                        i++;
                }
        }
}
