/* libFuzzer target of the configuration parser: any bytes, as a file's text.
 * Beyond "no crash, no leak", it checks the parser's promise that the rest of
 * the daemon never re-checks a string: a config it accepts is complete and in
 * range, and a refused one was explained with at least one error.
 *
 * Users, groups and programs come from the harness's own resolver (below),
 * through config_load_string_with(): glibc's NSS reads /etc/passwd and
 * /etc/group at each look-up and, with nss-systemd, walks six userdb
 * directories and asks systemd-userdbd over varlink about every name not
 * found, which made most of an execution's time, and made what an input does
 * depend on the machine; so would stat(2) of the programs and of the
 * sockets' directories. The search path of commands (the resolver's) and
 * RUNTIME_DIRECTORY are fixed for the same reason. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "config/config.h"
#include "config/parse.h"
#include "config/resolve.h"

#define SUN_PATH_MAX 107
#define N(a) (sizeof(a) / sizeof((a)[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a fixed system: users, groups and files ----------------------------- */

static const struct {
        const char *name;
        uid_t uid;
        gid_t gid;
} users[] = {
        { "root", 0, 0 }, { "daemon", 1, 1 }, { "www-data", 33, 33 },
        { "alice", 1000, 1000 }, { "crowd", 2000, 2000 }, { "nobody", 65534, 65534 },
};

/* The failures the system's NSS can give too, so that their messages are
 * fuzzed: a look-up that fails (a directory service down), and a user in
 * more groups than the kernel takes. */
#define NAME_LOOKUP_FAILS "ldap-down"
#define USER_IN_TOO_MANY_GROUPS "crowd"

static const struct {
        const char *name;
        gid_t gid;
        const char *members;    /* "user user ..." */
} groups[] = {
        { "root", 0, "" }, { "daemon", 1, "" }, { "adm", 4, "alice" },
        { "www-data", 33, "alice" }, { "users", 100, "alice www-data" },
        { "alice", 1000, "" }, { "nogroup", 65534, "" },
};

/* Searched in /usr/bin:/bin; every other path does not exist. */
static const struct {
        const char *path;
        int error;              /* what executable() says of it */
} files[] = {
        { "/bin/cat", 0 }, { "/usr/bin/cat", 0 }, { "/bin/sh", 0 }, { "/usr/bin/sh", 0 },
        { "/bin/true", 0 }, { "/usr/bin/true", 0 }, { "/usr/bin/env", 0 }, { "/usr/bin/date", 0 },
        { "/usr/bin/wc", 0 }, { "/usr/bin/at", 0 },
        { "/", -EISDIR }, { "/bin", -EISDIR }, { "/usr", -EISDIR }, { "/usr/bin", -EISDIR },
        { "/etc", -EISDIR }, { "/tmp", -EISDIR }, { "/etc/passwd", -EACCES }, { "/dev/null", -EACCES },
        { "/usr/bin/loop", -ELOOP },
};

static int fill_user(size_t i, struct resolve_user *ret)
{
        char *name = strdup(users[i].name);

        if (!name)
                return -ENOMEM;
        *ret = (struct resolve_user){ .uid = users[i].uid, .gid = users[i].gid, .name = name };
        return 0;
}

static int user_by_name(void *userdata, const char *name, struct resolve_user *ret)
{
        (void)userdata;
        if (strcmp(name, NAME_LOOKUP_FAILS) == 0)
                return -EIO;
        for (size_t i = 0; i < N(users); i++)
                if (strcmp(users[i].name, name) == 0)
                        return fill_user(i, ret);
        return -ENOENT;
}

static int user_by_uid(void *userdata, uid_t uid, struct resolve_user *ret)
{
        (void)userdata;
        for (size_t i = 0; i < N(users); i++)
                if (users[i].uid == uid)
                        return fill_user(i, ret);
        return -ENOENT;
}

static int group_by_name(void *userdata, const char *name, gid_t *ret)
{
        (void)userdata;
        if (strcmp(name, NAME_LOOKUP_FAILS) == 0)
                return -EIO;
        for (size_t i = 0; i < N(groups); i++)
                if (strcmp(groups[i].name, name) == 0) {
                        *ret = groups[i].gid;
                        return 0;
                }
        return -ENOENT;
}

static bool is_member(const char *members, const char *user)
{
        size_t n = strlen(user);

        for (const char *p = members; *p;) {
                size_t k = strcspn(p, " ");
                if (k == n && strncmp(p, user, n) == 0)
                        return true;
                p += k + (p[k] == ' ');
        }
        return false;
}

/* As getgrouplist(3): group first, then every other group listing user. */
static int group_list(void *userdata, const char *user, gid_t group, gid_t **ret, size_t *ret_n)
{
        gid_t *list = malloc((N(groups) + 1) * sizeof(*list));
        size_t n = 0;

        (void)userdata;
        if (strcmp(user, USER_IN_TOO_MANY_GROUPS) == 0) {
                free(list);
                return -E2BIG;
        }
        if (!list)
                return -ENOMEM;
        list[n++] = group;
        for (size_t i = 0; i < N(groups); i++)
                if (groups[i].gid != group && is_member(groups[i].members, user))
                        list[n++] = groups[i].gid;
        *ret = list;
        *ret_n = n;
        return 0;
}

static int executable(void *userdata, const char *path)
{
        (void)userdata;
        for (size_t i = 0; i < N(files); i++)
                if (strcmp(files[i].path, path) == 0)
                        return files[i].error;
        return -ENOENT;
}

/* The directories of files[] and /run, /srv; files[] that are not
 * directories, and what is below them, give -ENOTDIR, as stat(2) would;
 * /root cannot be looked at. The runtime directory (/run/unixsockd) is not
 * there: unixsockd makes it at start, and the parser must know. */
static int directory(void *userdata, const char *path)
{
        static const char *const dirs[] = { "/run", "/srv" };

        (void)userdata;
        for (size_t i = 0; i < N(dirs); i++)
                if (strcmp(dirs[i], path) == 0)
                        return 0;
        if (strcmp(path, "/root") == 0)
                return -EACCES;
        for (size_t i = 0; i < N(files); i++) {
                size_t n = strlen(files[i].path);

                if (strcmp(files[i].path, path) == 0)
                        return files[i].error == -EISDIR ? 0 : -ENOTDIR;
                if (files[i].error != -EISDIR && strncmp(files[i].path, path, n) == 0 && path[n] == '/')
                        return -ENOTDIR;
        }
        return -ENOENT;
}

static const struct resolver fixed = {
        .user_by_name = user_by_name,
        .user_by_uid = user_by_uid,
        .group_by_name = group_by_name,
        .group_list = group_list,
        .executable = executable,
        .directory = directory,
        .search_path = "/usr/bin:/bin",
};

struct errors {
        size_t n;
        unsigned max_line;
};

/* Nothing printed: the fuzzer's output stays its own. */
static void count_error(void *userdata, const char *file, unsigned line, const char *msg)
{
        struct errors *e = userdata;

        (void)file;
        (void)msg;
        e->n++;
        if (line > e->max_line)
                e->max_line = line;
}

static void check(bool ok)
{
        if (!ok)
                abort();
}

static bool is_abs(const char *s)
{
        return s && s[0] == '/';
}

static void check_config(const struct config *c)
{
        check(is_abs(c->runtime_directory));
        check(!c->control || is_abs(c->control));
        check(!c->control_group_set || c->control);
        check(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG);
        check(c->n_sockets >= 1);
        for (size_t i = 0; i < c->n_sockets; i++) {
                const struct cfg_socket *s = &c->sockets[i];

                check(parse_name_is_valid(s->name));
                check(s->path && (s->path[0] == '/' || s->path[0] == '@'));
                check(strlen(s->path + (s->path[0] == '@')) <= SUN_PATH_MAX);
                check(s->backlog >= 1 && s->backlog <= 65535);
                check(s->mode <= 07777);
                check(s->worker >= c->workers && s->worker < c->workers + c->n_workers);
                check(s->rate_burst == 0 || s->rate_interval_usec > 0);
                check(s->type == SOCK_STREAM || s->type == SOCK_SEQPACKET || s->type == SOCK_DGRAM);
                /* a datagram socket has no connections: only its listener worker reads it */
                check(s->type != SOCK_DGRAM || s->worker->dispatch == DISPATCH_LISTENER);
                check(config_find_socket(c, s->name) == s);
                /* A socket file's directory is there, or unixsockd makes it
                 * (the runtime directory and those above it). */
                if (s->path[0] == '/') {
                        const char *slash = strrchr(s->path, '/');
                        char dir[SUN_PATH_MAX + 1];
                        size_t n = slash == s->path ? 1 : (size_t)(slash - s->path);
                        int r;

                        memcpy(dir, s->path, n);
                        dir[n] = '\0';
                        r = directory(NULL, dir);
                        check(r == 0 || r == -EACCES || strcmp(dir, "/") == 0 ||
                              (strncmp(c->runtime_directory, dir, n) == 0 &&
                               (c->runtime_directory[n] == '/' || c->runtime_directory[n] == '\0')));
                }
        }
        for (size_t i = 0; i < c->n_workers; i++) {
                const struct cfg_worker *w = &c->workers[i];

                check(parse_name_is_valid(w->name));
                check(w->argv && w->argv[0]);
                check(is_abs(w->exec_path));
                check(w->env);
                /* No variable the daemon sets itself gets past the parser. */
                for (char **e = w->env; *e; e++) {
                        size_t n = strcspn(*e, "=");

                        check((*e)[n] == '=' && parse_env_name_is_valid(*e, n) && !config_env_name_reserved(*e, n));
                }
                check(w->instances >= 1);
                /* listener copies: 1 to 1024 (config.c's LISTENER_COPIES_MAX) */
                check(w->dispatch != DISPATCH_LISTENER || w->instances <= 1024);
                check(w->max_concurrent == 0 || w->dispatch == DISPATCH_POOL);
                /* instances = MIN-MAX: a pool's only; a fixed size is MIN = MAX */
                check(w->instances_min <= w->instances);
                check(w->instances_min == w->instances || w->dispatch == DISPATCH_POOL);
                check(w->instances_min == w->instances || w->instances <= 16384);
                check(w->idle_timeout_usec > 0);
                check(w->max_connections == 0 || w->dispatch == DISPATCH_POOL);
                check(w->runtime_max_usec == 0 || w->dispatch != DISPATCH_LISTENER);
                for (size_t l = 0; l < _LIMIT_MAX; l++)
                        check(!w->limits[l].set || w->limits[l].soft <= w->limits[l].hard);
                check(!w->set_nice || (w->nice >= -20 && w->nice <= 19));
                check(w->umask <= 0777);
                check(w->cpu_weight <= 10000 && w->pids_max > 0);
                /* a cgroup limit always has the line the daemon's error names */
                check(w->cgroup_line || (w->memory_max == CFG_INFINITY && w->pids_max == CFG_INFINITY &&
                                         w->cpu_weight == 0));
                check(w->restart_delay_usec > 0 && w->restart_delay_usec <= w->restart_delay_max_usec);
                check(!w->working_directory || is_abs(w->working_directory));
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        /* the caller's PATH plays no part: command = NAME is looked up in the
         * resolver's search path */
        setenv("PATH", "/nonexistent", 1);
        setenv("RUNTIME_DIRECTORY", "/run/unixsockd", 1);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct errors e = { 0 };
        struct config *c = NULL;
        unsigned lines = 1;
        int r;

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        r = config_load_string_with("fuzz.conf", (const char *)data, size, &fixed, count_error, &e, &c);
        /* An error names a line of the text, or the whole file (0). */
        check(e.max_line <= lines);
        if (r == 0) {
                check(c && e.n == 0);
                check_config(c);
                config_free(c);
        } else
                check((r == -EINVAL || r == -ENOMEM) && e.n > 0);
        return 0;
}
