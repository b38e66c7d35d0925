/* The configuration file: text to typed structs. Owns the line reader that
 * feeds inih, the key handlers, and the checks across keys and sections.
 *
 * inih alone reports only the first error and cannot see empty sections,
 * long section names (it truncates them at 49 bytes) or over-long lines (it
 * splits them), so the reader does the line-level work itself: it numbers the
 * lines, refuses over-long ones, strips leading blanks (no multi-line values),
 * takes section headers and syntax errors, and hands inih only comment lines
 * and "key = value" lines. Every error is collected with its line, and all of
 * them are reported in line order at the end. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "parse.h"

#define SUN_PATH_MAX 107                /* bytes of sun_path, the NUL excluded */
#define FILE_SIZE_MAX (16u << 20)
#define COUNT_MAX 1000000               /* instances, max-per-user */
#define GROUPS_MAX 65536
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

enum gkey { G_RUNTIME_DIRECTORY, G_LOG_LEVEL, G_STOP_TIMEOUT, G_CONTROL, G_MAX };
enum skey { S_PATH, S_BACKLOG, S_MODE, S_OWNER, S_GROUP, S_ALLOW_USERS, S_ALLOW_GROUPS,
            S_WORKER, S_RATE_LIMIT, S_MAX };
enum wkey { W_COMMAND, W_DISPATCH, W_INSTANCES, W_MAX_PER_USER, W_USER, W_GROUP,
            W_ENVIRONMENT, W_WORKING_DIRECTORY, W_RESTART, W_RESTART_DELAY,
            W_RESTART_DELAY_MAX, W_LISTEN_FDS, W_MAX };

static const char *const gkey_names[G_MAX] = {
        "runtime-directory", "log-level", "stop-timeout", "control",
};
static const char *const skey_names[S_MAX] = {
        "path", "backlog", "mode", "owner", "group", "allow-users", "allow-groups",
        "worker", "rate-limit",
};
static const char *const wkey_names[W_MAX] = {
        "command", "dispatch", "instances", "max-per-user", "user", "group",
        "environment", "working-directory", "restart", "restart-delay",
        "restart-delay-max", "listen-fds",
};

/* Where a key was set (line 0: not set), and whether its value was refused, so
 * that checks across keys neither trust a refused value nor repeat its error. */
struct seen {
        unsigned line;
        bool bad;
};

struct socket_state {
        struct seen keys[S_MAX];
        char *worker;
};

struct worker_state {
        struct seen keys[W_MAX];
        bool used;
        bool user_known;                /* user= has a passwd entry: look up its groups */
        gid_t group_gid;
};

enum section {
        SEC_NONE,                       /* before the first header */
        SEC_GLOBAL,
        SEC_SOCKET,
        SEC_WORKER,
        SEC_SKIP,                       /* a refused header: its keys are ignored */
        SEC_SKIP_SOCKET,                /* ... but a socket's worker= still counts as a use */
};

struct error {
        unsigned line;
        size_t seq;
        char *msg;
};

struct parser {
        struct config *c;
        const char *file;
        const char *buf;
        size_t len, pos;
        unsigned line;

        enum section sec;
        size_t idx;                     /* of the current socket or worker */

        unsigned global_line;
        struct seen gkeys[G_MAX];
        char *control;                  /* as written */
        struct socket_state *ss;        /* parallel to c->sockets */
        size_t cap_sockets;
        struct worker_state *ws;        /* parallel to c->workers */
        size_t cap_workers;
        char **refs;                    /* worker= of refused socket sections */
        size_t n_refs;
        bool lost_ref;                  /* some socket's worker= could not be read */

        struct error *errors;
        size_t n_errors, cap_errors;
        size_t keep;                    /* errors reported (config_load_max): only the */
        size_t n_dropped;               /* first ones by line are kept, the rest counted */
        unsigned min_dropped_line;
        size_t seq;
        bool oom;
};

/* A value quoted for a message: valid UTF-8 as it is; every byte that is not
 * part of it, and every control character (C0, DEL, C1), escaped as \xNN, so
 * that nothing from a bad file reaches a terminal or the journal raw; long
 * ones cut, between characters. */
#define QUOTE_MAX 192
#define Q(s) quote((char[QUOTE_MAX]){ 0 }, (s))

static const char *quote(char *buf, const char *s)
{
        if (s[parse_escape(buf, QUOTE_MAX - 7, s)]) /* room for "..." */
                strcat(buf, "...");
        return buf;
}

static int error_cmp(const void *a, const void *b);

/* With a bound on what is reported, a file of millions of bad lines must not
 * cost a message each in memory: keep the first ones by line, count the rest. */
static void drop_errors(struct parser *p)
{
        qsort(p->errors, p->n_errors, sizeof(*p->errors), error_cmp);
        for (size_t i = p->keep; i < p->n_errors; i++) {
                if (!p->min_dropped_line || p->errors[i].line < p->min_dropped_line)
                        p->min_dropped_line = p->errors[i].line;
                free(p->errors[i].msg);
        }
        p->n_dropped += p->n_errors - p->keep;
        p->n_errors = p->keep;
}

__attribute__((format(printf, 3, 4)))
static void fail(struct parser *p, unsigned line, const char *fmt, ...)
{
        va_list ap;
        char *msg;

        if (p->n_errors == p->cap_errors) {
                size_t cap = p->cap_errors ? p->cap_errors * 2 : 16;
                struct error *e = reallocarray(p->errors, cap, sizeof(*e));

                if (!e) {
                        p->oom = true;
                        return;
                }
                p->errors = e;
                p->cap_errors = cap;
        }
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0) {
                p->oom = true;
                msg = NULL;
        }
        va_end(ap);
        if (!msg)
                return;
        p->errors[p->n_errors] = (struct error){ line, p->seq++, msg };
        p->n_errors++;
        if (p->keep != SIZE_MAX && p->n_errors >= 2 * p->keep + 16)
                drop_errors(p);
}

static void *xstrdup(struct parser *p, const char *s)
{
        char *d = strdup(s);

        if (!d)
                p->oom = true;
        return d;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *section_label(struct parser *p, char buf[static 300])
{
        switch (p->sec) {
        case SEC_GLOBAL:
                return "[unixsockd]";
        case SEC_SOCKET:
                snprintf(buf, 300, "[socket:%s]", p->c->sockets[p->idx].name);
                return buf;
        case SEC_WORKER:
                snprintf(buf, 300, "[worker:%s]", p->c->workers[p->idx].name);
                return buf;
        default:
                return "?";
        }
}

static void unknown_key(struct parser *p, const char *key)
{
        char b[300];

        if (p->sec == SEC_NONE)
                fail(p, p->line, "key '%s' outside of any section", Q(key));
        else if (p->sec != SEC_SKIP && p->sec != SEC_SKIP_SOCKET)
                fail(p, p->line, "unknown key '%s' in %s", Q(key), section_label(p, b));
}

/* Paths: "//" and "/./" collapsed, no trailing '/'; ".." kept (it may cross a
 * symlink). rel is joined to dir unless it is absolute. */
static char *path_make(struct parser *p, const char *dir, const char *rel)
{
        size_t n = (rel[0] == '/' ? 0 : strlen(dir) + 1) + strlen(rel) + 1;
        char *in = malloc(n), *out = malloc(n + 1), *o = out;
        const char *s;

        if (!in || !out) {
                free(in);
                free(out);
                p->oom = true;
                return NULL;
        }
        if (rel[0] == '/')
                strcpy(in, rel);
        else
                snprintf(in, n, "%s/%s", dir, rel);
        for (s = in; *s;) {
                const char *e;

                while (*s == '/')
                        s++;
                e = strchrnul(s, '/');
                if (e == s || (e - s == 1 && *s == '.')) {
                        s = e;
                        continue;
                }
                *o++ = '/';
                memcpy(o, s, (size_t)(e - s));
                o += e - s;
                s = e;
        }
        if (o == out)
                *o++ = '/';
        *o = '\0';
        free(in);
        return out;
}

/* User and group database lookups with buffers that grow. 0, -ENOENT when
 * there is no such entry, another negative errno when the lookup failed. */
static int lookup_user(const char *name, uid_t uid, struct passwd *pw, char **ret_buf)
{
        for (size_t size = 1024;; size *= 2) {
                struct passwd *res = NULL;
                char *buf = malloc(size);
                int r;

                if (!buf)
                        return -ENOMEM;
                r = name ? getpwnam_r(name, pw, buf, size, &res) : getpwuid_r(uid, pw, buf, size, &res);
                if (r == 0 && res) {
                        *ret_buf = buf;
                        return 0;
                }
                free(buf);
                if (r == ERANGE && size < (1u << 20))
                        continue;
                if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
                        return -ENOENT;
                return -r;
        }
}

static int lookup_group(const char *name, struct group *gr, char **ret_buf)
{
        for (size_t size = 1024;; size *= 2) {
                struct group *res = NULL;
                char *buf = malloc(size);
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, gr, buf, size, &res);
                if (r == 0 && res) {
                        *ret_buf = buf;
                        return 0;
                }
                free(buf);
                if (r == ERANGE && size < (1u << 20))
                        continue;
                if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
                        return -ENOENT;
                return -r;
        }
}

/* A uid or gid as a number: 0 with *ret; -EINVAL if s is no number (then it
 * is a name); -ERANGE, reported, for (uid_t)-1: it is no one's, it means
 * "unchanged" to chown(2) and setresuid(2). */
static int parse_id(struct parser *p, const char *key, const char *s, uint64_t *ret)
{
        uint64_t v;

        if (parse_uint(s, 0, UINT32_MAX, &v) < 0)
                return -EINVAL;
        if (v == UINT32_MAX) {
                fail(p, p->line, "%s: %" PRIu32 " is reserved (it means 'unchanged' to the kernel)", key,
                     UINT32_MAX);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

/* A number (taken as it is: it need not exist) or a name that must. */
static int resolve_uid(struct parser *p, const char *key, const char *s, uid_t *ret)
{
        struct passwd pw;
        uint64_t v;
        char *buf = NULL;
        int r;

        r = parse_id(p, key, s, &v);
        if (r == 0) {
                *ret = (uid_t)v;
                return 0;
        }
        if (r == -ERANGE)
                return r;
        r = lookup_user(s, 0, &pw, &buf);
        if (r == -ENOMEM)
                p->oom = true;
        else if (r == -ENOENT)
                fail(p, p->line, "%s: unknown user '%s'", key, Q(s));
        else if (r < 0)
                fail(p, p->line, "%s: cannot look up user '%s': %s", key, Q(s), strerror(-r));
        if (r < 0)
                return r;
        *ret = pw.pw_uid;
        free(buf);
        return 0;
}

static int resolve_gid(struct parser *p, const char *key, const char *s, gid_t *ret)
{
        struct group gr;
        uint64_t v;
        char *buf = NULL;
        int r;

        r = parse_id(p, key, s, &v);
        if (r == 0) {
                *ret = (gid_t)v;
                return 0;
        }
        if (r == -ERANGE)
                return r;
        r = lookup_group(s, &gr, &buf);
        if (r == -ENOMEM)
                p->oom = true;
        else if (r == -ENOENT)
                fail(p, p->line, "%s: unknown group '%s'", key, Q(s));
        else if (r < 0)
                fail(p, p->line, "%s: cannot look up group '%s': %s", key, Q(s), strerror(-r));
        if (r < 0)
                return r;
        *ret = gr.gr_gid;
        free(buf);
        return 0;
}

static int split(struct parser *p, const char *key, const char *value, char ***ret)
{
        const char *why = NULL;
        int r = parse_words(value, ret, &why);

        if (r == -ENOMEM)
                p->oom = true;
        else if (r < 0)
                fail(p, p->line, "%s: %s in '%s'", key, why, Q(value));
        return r;
}

/* allow-users / allow-groups: every word resolved, every unknown one reported. */
static int resolve_id_list(struct parser *p, const char *key, const char *value, bool groups,
                           uint32_t **ret, size_t *ret_n)
{
        char **w = NULL;
        uint32_t *ids;
        int n, r = 0;

        n = split(p, key, value, &w);
        if (n < 0)
                return n;
        ids = calloc((size_t)n + 1, sizeof(*ids));
        if (!ids) {
                p->oom = true;
                parse_strv_free(w);
                return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                int k = groups ? resolve_gid(p, key, w[i], &ids[i]) : resolve_uid(p, key, w[i], &ids[i]);

                if (k < 0)
                        r = k;
        }
        parse_strv_free(w);
        if (r < 0) {
                free(ids);
                return r;
        }
        *ret = ids;
        *ret_n = (size_t)n;
        return 0;
}

static bool is_executable(const char *path, int *ret_errno)
{
        struct stat st;

        if (stat(path, &st) < 0) {
                *ret_errno = errno;
                return false;
        }
        if (!S_ISREG(st.st_mode)) {
                *ret_errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
                return false;
        }
        if (access(path, X_OK) < 0) {
                *ret_errno = errno;
                return false;
        }
        return true;
}

/* The program of command=: an absolute path as it is, a bare name searched in
 * $PATH (the daemon's), as execvp(3) would. */
static int find_executable(struct parser *p, const char *name, char **ret)
{
        const char *path = getenv("PATH");
        int e = 0;

        if (!*name) {
                fail(p, p->line, "command: empty program name");
                return -EINVAL;
        }
        if (strchr(name, '/')) {
                if (name[0] != '/') {
                        fail(p, p->line, "command: '%s' is neither an absolute path nor a name to look up in PATH",
                             Q(name));
                        return -EINVAL;
                }
                if (!is_executable(name, &e)) {
                        if (e == ENOENT)
                                fail(p, p->line, "command: '%s' does not exist", Q(name));
                        else if (e == EACCES || e == EISDIR)
                                fail(p, p->line, "command: '%s' is not an executable file", Q(name));
                        else
                                fail(p, p->line, "command: '%s': %s", Q(name), strerror(e));
                        return -EINVAL;
                }
                *ret = xstrdup(p, name);
                return *ret ? 0 : -ENOMEM;
        }
        if (!path || !*path)
                path = DEFAULT_PATH;
        for (const char *s = path; *s;) {
                const char *end = strchrnul(s, ':');
                char *cand;

                /* Relative entries would depend on the daemon's directory. */
                if (*s == '/') {
                        if (asprintf(&cand, "%.*s/%s", (int)(end - s), s, name) < 0) {
                                p->oom = true;
                                return -ENOMEM;
                        }
                        if (is_executable(cand, &e)) {
                                *ret = cand;
                                return 0;
                        }
                        free(cand);
                }
                s = *end ? end + 1 : end;
        }
        fail(p, p->line, "command: '%s' not found in PATH (%s)", Q(name), Q(path));
        return -ENOENT;
}

static bool env_name_is_reserved(const char *s, size_t n)
{
        static const char *const names[] = {
                "PROTO", "UNIXLOCALPATH", "UNIXREMOTEPID", "UNIXREMOTEEUID", "UNIXREMOTEEGID",
                "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
        };

        if (n >= 10 && memcmp(s, "UNIXSOCKD_", 10) == 0)
                return true;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
                        return true;
        return false;
}

/* environment=: every word NAME=VALUE; a later NAME replaces an earlier one. */
static int parse_environment(struct parser *p, const char *value, char ***ret)
{
        char **w = NULL;
        int n, k = 0, r = 0;

        n = split(p, "environment", value, &w);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                const char *eq = strchr(w[i], '=');
                size_t nl = eq ? (size_t)(eq - w[i]) : 0;

                if (!eq) {
                        fail(p, p->line, "environment: '%s' is not NAME=VALUE", Q(w[i]));
                        r = -EINVAL;
                } else if (!parse_env_name_is_valid(w[i], nl)) {
                        w[i][nl] = '\0';
                        fail(p, p->line, "environment: '%s' is not a valid variable name", Q(w[i]));
                        w[i][nl] = '=';
                        r = -EINVAL;
                } else if (env_name_is_reserved(w[i], nl)) {
                        fail(p, p->line, "environment: '%.*s' is set by unixsockd itself", (int)nl, w[i]);
                        r = -EINVAL;
                }
        }
        if (r < 0) {
                parse_strv_free(w);
                return r;
        }
        for (int i = 0; i < n; i++) {
                size_t nl = (size_t)(strchr(w[i], '=') - w[i]) + 1;
                bool later = false;

                for (int j = i + 1; j < n && !later; j++)
                        later = strncmp(w[i], w[j], nl) == 0;
                if (later)
                        free(w[i]);
                else
                        w[k++] = w[i];
        }
        w[k] = NULL;
        *ret = w;
        return 0;
}


/* One of a fixed set of words: *ret gets its value; else the error lists them. */
struct choice {
        const char *name;
        int value;
};

static bool choose(struct parser *p, const char *key, const char *v, const struct choice *ch, int *ret)
{
        char list[256];
        size_t n = 0;

        for (const struct choice *c = ch; c->name; c++)
                if (strcmp(v, c->name) == 0) {
                        *ret = c->value;
                        return true;
                }
        list[0] = '\0';
        for (const struct choice *c = ch; c->name && n < sizeof(list); c++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", c->name);
        fail(p, p->line, "%s: '%s' is not one of %s", key, Q(v), list);
        return false;
}

static void global_key(struct parser *p, enum gkey k, const char *key, const char *v)
{
        struct config *c = p->c;
        uint64_t u;

        switch (k) {
        case G_RUNTIME_DIRECTORY:
                if (v[0] != '/') {
                        fail(p, p->line, "%s: '%s' is not an absolute path", key, Q(v));
                        break;
                }
                c->runtime_directory = path_make(p, "", v);
                return;
        case G_LOG_LEVEL: {
                static const struct choice levels[] = {
                        { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
                        { "warning", LOG_WARNING }, { "err", LOG_ERR }, { NULL, 0 },
                };

                if (choose(p, key, v, levels, &c->log_level))
                        return;
                break;
        }
        case G_STOP_TIMEOUT:
                if (parse_duration(v, &u) == 0) {
                        c->stop_timeout_usec = u;
                        return;
                }
                fail(p, p->line, "%s: '%s' is not a duration (e.g. 10s, 500ms, 1min)", key, Q(v));
                break;
        case G_CONTROL:
                if (v[0] == '@') {
                        fail(p, p->line, "%s: '%s' is abstract: the control socket needs a file and its permissions",
                             key, Q(v));
                        break;
                }
                p->control = xstrdup(p, v);
                return;
        case G_MAX:
                return;
        }
        p->gkeys[k].bad = true;
}

static void socket_key(struct parser *p, enum skey k, const char *key, const char *v)
{
        struct cfg_socket *s = &p->c->sockets[p->idx];
        struct socket_state *st = &p->ss[p->idx];
        uint64_t u;

        switch (k) {
        case S_PATH:
                if (v[0] == '@' && !v[1]) {
                        fail(p, p->line, "%s: '@' with no abstract name after it", key);
                        break;
                }
                if (v[0] != '@' && v[strlen(v) - 1] == '/') {
                        fail(p, p->line, "%s: '%s' ends with '/': it names a directory", key, Q(v));
                        break;
                }
                s->path = xstrdup(p, v);
                return;
        case S_BACKLOG:
                if (parse_uint(v, 1, 65535, &u) == 0) {
                        s->backlog = (int)u;
                        return;
                }
                fail(p, p->line, "%s: '%s' is not a number from 1 to 65535", key, Q(v));
                break;
        case S_MODE:
                if (parse_mode(v, &s->mode) == 0)
                        return;
                fail(p, p->line, "%s: '%s' is not an octal mode from 0 to 07777", key, Q(v));
                break;
        case S_OWNER:
                if (resolve_uid(p, key, v, &s->uid) == 0)
                        return;
                break;
        case S_GROUP:
                if (resolve_gid(p, key, v, &s->gid) == 0)
                        return;
                break;
        case S_ALLOW_USERS:
                if (resolve_id_list(p, key, v, false, &s->allow_uids, &s->n_allow_uids) == 0)
                        return;
                break;
        case S_ALLOW_GROUPS:
                if (resolve_id_list(p, key, v, true, &s->allow_gids, &s->n_allow_gids) == 0)
                        return;
                break;
        case S_WORKER:
                if (parse_name_is_valid(v)) {
                        st->worker = xstrdup(p, v);
                        return;
                }
                fail(p, p->line, "%s: '%s' is not a valid worker name (1 to 255 of A-Z a-z 0-9 _ . -)",
                     key, Q(v));
                p->lost_ref = true;
                break;
        case S_RATE_LIMIT:
                if (parse_rate(v, &s->rate_burst, &s->rate_interval_usec) == 0)
                        return;
                fail(p, p->line, "%s: '%s' is not N/DURATION with N from 1 to %" PRIu32
                     " and a DURATION more than 0 (e.g. 500/1s)", key, Q(v), UINT32_MAX);
                break;
        case S_MAX:
                return;
        }
        st->keys[k].bad = true;
}

static void worker_key(struct parser *p, enum wkey k, const char *key, const char *v)
{
        struct cfg_worker *w = &p->c->workers[p->idx];
        struct worker_state *st = &p->ws[p->idx];
        uint64_t u;
        int r;

        switch (k) {
        case W_COMMAND: {
                char **argv = NULL;

                r = split(p, key, v, &argv);
                if (r == 0) {
                        fail(p, p->line, "%s: no program in '%s'", key, Q(v));
                        parse_strv_free(argv);
                        break;
                }
                if (r < 0)
                        break;
                if (find_executable(p, argv[0], &w->exec_path) < 0) {
                        parse_strv_free(argv);
                        break;
                }
                w->argv = argv;
                return;
        }
        case W_DISPATCH: {
                static const struct choice how[] = {
                        { "spawn", DISPATCH_SPAWN }, { "pool", DISPATCH_POOL },
                        { "listener", DISPATCH_LISTENER }, { NULL, 0 },
                };
                int d = 0;

                if (!choose(p, key, v, how, &d))
                        break;
                w->dispatch = (enum dispatch)d;
                return;
        }
        case W_INSTANCES:
        case W_MAX_PER_USER:
                if (parse_uint(v, 1, COUNT_MAX, &u) == 0) {
                        *(k == W_INSTANCES ? &w->instances : &w->max_per_user) = (unsigned)u;
                        return;
                }
                fail(p, p->line, "%s: '%s' is not a number from 1 to %u", key, Q(v), COUNT_MAX);
                break;
        case W_USER: {
                struct passwd pw;
                uint64_t id = 0;
                char *buf = NULL;
                bool numeric;

                r = parse_id(p, key, v, &id);
                if (r == -ERANGE)
                        break;
                numeric = r == 0;
                /* A number with no passwd entry is taken as it is, with the
                 * same number as its group and no supplementary groups. */
                r = lookup_user(numeric ? NULL : v, (uid_t)id, &pw, &buf);
                if (r == 0) {
                        w->uid = pw.pw_uid;
                        w->gid = pw.pw_gid;
                        w->user_name = xstrdup(p, pw.pw_name);
                        st->user_known = true;
                        free(buf);
                } else if (r == -ENOENT && numeric) {
                        w->uid = (uid_t)id;
                        w->gid = (gid_t)id;
                        w->user_name = xstrdup(p, v);
                } else {
                        if (r == -ENOMEM)
                                p->oom = true;
                        else if (r == -ENOENT)
                                fail(p, p->line, "%s: unknown user '%s'", key, Q(v));
                        else
                                fail(p, p->line, "%s: cannot look up user '%s': %s", key, Q(v),
                                     strerror(-r));
                        break;
                }
                w->set_user = true;
                return;
        }
        case W_GROUP:
                if (resolve_gid(p, key, v, &st->group_gid) == 0) {
                        w->set_group = true;
                        return;
                }
                break;
        case W_ENVIRONMENT: {
                char **env = NULL;

                if (parse_environment(p, v, &env) == 0) {
                        parse_strv_free(w->env);
                        w->env = env;
                        return;
                }
                break;
        }
        case W_WORKING_DIRECTORY:
                if (v[0] == '/') {
                        w->working_directory = path_make(p, "", v);
                        return;
                }
                fail(p, p->line, "%s: '%s' is not an absolute path", key, Q(v));
                break;
        case W_RESTART: {
                static const struct choice policies[] = {
                        { "always", RESTART_ALWAYS }, { "on-failure", RESTART_ON_FAILURE },
                        { "never", RESTART_NEVER }, { NULL, 0 },
                };
                int r2 = 0;

                if (!choose(p, key, v, policies, &r2))
                        break;
                w->restart = (enum restart_policy)r2;
                return;
        }
        case W_RESTART_DELAY:
        case W_RESTART_DELAY_MAX:
                r = parse_duration(v, &u);
                if (r == 0 && u == 0) {
                        /* Doubling zero stays zero: a crashing worker would be restarted in a busy loop. */
                        fail(p, p->line, "%s: must be more than 0", key);
                        break;
                }
                if (r < 0) {
                        fail(p, p->line, "%s: '%s' is not a duration (e.g. 100ms, 2s, 1min)", key, Q(v));
                        break;
                }
                *(k == W_RESTART_DELAY ? &w->restart_delay_usec : &w->restart_delay_max_usec) = u;
                return;
        case W_LISTEN_FDS:
                r = parse_bool(v);
                if (r >= 0) {
                        w->listen_fds = r;
                        return;
                }
                fail(p, p->line, "%s: '%s' is not one of yes, no, true, false, on, off, 1, 0", key, Q(v));
                break;
        case W_MAX:
                return;
        }
        st->keys[k].bad = true;
}

static int key_index(const char *const *names, int n, const char *key)
{
        for (int i = 0; i < n; i++)
                if (strcmp(names[i], key) == 0)
                        return i;
        return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        struct parser *p = user;
        const char *const *names;
        struct seen *keys;
        int n, k;
        char b[300];

        /* inih truncates long section names: the reader keeps the section. */
        (void)section;
        if (!*name) {
                fail(p, p->line, "syntax error: no key before '='");
                return 1;
        }
        switch (p->sec) {
        case SEC_GLOBAL:
                names = gkey_names, n = G_MAX, keys = p->gkeys;
                break;
        case SEC_SOCKET:
                names = skey_names, n = S_MAX, keys = p->ss[p->idx].keys;
                break;
        case SEC_WORKER:
                names = wkey_names, n = W_MAX, keys = p->ws[p->idx].keys;
                break;
        case SEC_SKIP_SOCKET:
                if (strcmp(name, "worker") == 0) {
                        char **r = reallocarray(p->refs, p->n_refs + 1, sizeof(*r));

                        if (!r) {
                                p->oom = true;
                                return 1;
                        }
                        p->refs = r;
                        p->refs[p->n_refs] = xstrdup(p, value);
                        if (p->refs[p->n_refs])
                                p->n_refs++;
                }
                return 1;
        default:
                unknown_key(p, name);
                return 1;
        }
        k = key_index(names, n, name);
        if (k < 0) {
                unknown_key(p, name);
                return 1;
        }
        if (keys[k].line) {
                fail(p, p->line, "duplicate key '%s' in %s (first at line %u)", name, section_label(p, b),
                     keys[k].line);
                return 1;
        }
        keys[k].line = p->line;
        if (!*value) {
                fail(p, p->line, "%s: missing value", name);
                keys[k].bad = true;
        } else if (parse_has_hash_comment(value)) {
                fail(p, p->line, "%s: '#' does not start a comment after a value (use ';', or quote the '#')",
                     name);
                keys[k].bad = true;
        } else if (p->sec == SEC_GLOBAL)
                global_key(p, (enum gkey)k, name, value);
        else if (p->sec == SEC_SOCKET)
                socket_key(p, (enum skey)k, name, value);
        else
                worker_key(p, (enum wkey)k, name, value);
        if (p->sec == SEC_SOCKET && k == S_WORKER && keys[k].bad)
                p->lost_ref = true;
        return 1;
}

static bool grow(struct parser *p, void **arr, void **state, size_t n, size_t *cap, size_t size,
                 size_t state_size)
{
        void *a, *s;
        size_t nc;

        if (n < *cap)
                return true;
        nc = *cap ? *cap * 2 : 8;
        a = reallocarray(*arr, nc, size);
        if (a)
                *arr = a;
        s = a ? reallocarray(*state, nc, state_size) : NULL;
        if (!s) {
                p->oom = true;
                return false;
        }
        *state = s;
        *cap = nc;
        return true;
}

static void new_socket(struct parser *p, const char *name)
{
        struct config *c = p->c;

        if (!grow(p, (void **)&c->sockets, (void **)&p->ss, c->n_sockets, &p->cap_sockets,
                  sizeof(*c->sockets), sizeof(*p->ss))) {
                p->sec = SEC_SKIP;
                return;
        }
        c->sockets[c->n_sockets] = (struct cfg_socket){
                .name = xstrdup(p, name),
                .line = p->line,
                .backlog = 128,
                .mode = 0666,
                .uid = (uid_t)-1,
                .gid = (gid_t)-1,
        };
        p->ss[c->n_sockets] = (struct socket_state){ 0 };
        p->idx = c->n_sockets++;
        p->sec = SEC_SOCKET;
}

static void new_worker(struct parser *p, const char *name)
{
        struct config *c = p->c;
        char **env = calloc(1, sizeof(*env));

        if (!env || !grow(p, (void **)&c->workers, (void **)&p->ws, c->n_workers, &p->cap_workers,
                          sizeof(*c->workers), sizeof(*p->ws))) {
                free(env);
                p->oom = true;
                p->sec = SEC_SKIP;
                return;
        }
        c->workers[c->n_workers] = (struct cfg_worker){
                .name = xstrdup(p, name),
                .line = p->line,
                .dispatch = DISPATCH_SPAWN,
                .uid = (uid_t)-1,
                .gid = (gid_t)-1,
                .env = env,
                .restart = RESTART_ON_FAILURE,
                .restart_delay_usec = 100 * USEC_PER_MSEC,
                .restart_delay_max_usec = 30 * USEC_PER_SEC,
        };
        p->ws[c->n_workers] = (struct worker_state){ 0 };
        p->idx = c->n_workers++;
        p->sec = SEC_WORKER;
}

/* "[...]" with its brackets, comment and blanks already checked. */
static void section_header(struct parser *p, char *h)
{
        struct config *c = p->c;
        bool sock;
        const char *name;

        p->sec = SEC_SKIP;
        if (strcmp(h, "unixsockd") == 0) {
                if (p->global_line)
                        fail(p, p->line, "duplicate section [unixsockd] (first at line %u)", p->global_line);
                else {
                        p->global_line = p->line;
                        p->sec = SEC_GLOBAL;
                }
                return;
        }
        if (!has_prefix(h, "socket:") && !has_prefix(h, "worker:")) {
                fail(p, p->line, "unknown section [%s]", Q(h));
                return;
        }
        sock = h[0] == 's';
        name = h + 7;
        if (sock)
                p->sec = SEC_SKIP_SOCKET;
        if (!parse_name_is_valid(name)) {
                fail(p, p->line, "invalid %s name '%s' in [%s]: use 1 to 255 of A-Z a-z 0-9 _ . -",
                     sock ? "socket" : "worker", Q(name), Q(h));
                return;
        }
        if (sock) {
                const struct cfg_socket *s = config_find_socket(c, name);

                if (s) {
                        fail(p, p->line, "duplicate section [%s] (first at line %u)", h, s->line);
                        return;
                }
                new_socket(p, name);
        } else {
                for (size_t i = 0; i < c->n_workers; i++)
                        if (strcmp(c->workers[i].name, name) == 0) {
                                fail(p, p->line, "duplicate section [%s] (first at line %u)", h,
                                     c->workers[i].line);
                                return;
                        }
                new_worker(p, name);
        }
}

/* A line that starts with '[': a header, then nothing but blanks or a comment. */
static void section_line(struct parser *p, char *l)
{
        char *end = strchr(l, ']'), *s, *e;

        if (!end) {
                fail(p, p->line, "syntax error: no ']' in '%s'", Q(l));
                p->sec = SEC_SKIP;
                return;
        }
        for (s = end + 1; is_blank(*s); s++)
                ;
        if (*s && *s != ';' && *s != '#') {
                fail(p, p->line, "syntax error: text after ']' in '%s'", Q(l));
                p->sec = SEC_SKIP;
                return;
        }
        for (s = l + 1; is_blank(*s); s++)
                ;
        for (e = end; e > s && is_blank(e[-1]); e--)
                ;
        *e = '\0';
        section_header(p, s);
}

/* What inih does to find "=": the first '=' or ':' before an inline comment. */
static const char *find_separator(const char *s, const char *seps)
{
        bool was_blank = false;

        for (; *s && !strchr(seps, *s) && !(was_blank && *s == ';'); s++)
                was_blank = is_blank(*s);
        return s;
}

/* inih's reader: one line per call, as inih expects of fgets(). A line that
 * inih must not see goes to it as an empty line (a no-op). */
static char *reader(char *str, int num, void *stream)
{
        struct parser *p = stream;
        size_t max = num > 1 ? (size_t)num - 1 : 0, n;
        const char *l, *nl, *sep;

        if (p->pos >= p->len || p->oom)
                return NULL;
        l = p->buf + p->pos;
        nl = memchr(l, '\n', p->len - p->pos);
        n = nl ? (size_t)(nl - l) : p->len - p->pos;
        p->pos += n + (nl ? 1 : 0);
        p->line++;
        str[0] = '\0';

        if (n > 0 && l[n - 1] == '\r')
                n--;
        if (p->line == 1 && n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0)
                l += 3, n -= 3;
        if (memchr(l, '\0', n)) {
                fail(p, p->line, "line contains a NUL byte");
                return str;
        }
        if (n > max) {
                fail(p, p->line, "line too long (%zu bytes, at most %zu)", n, max);
                /* Keys after a lost header must not land in the section before it. */
                while (n > 0 && is_blank(*l))
                        l++, n--;
                if (n > 0 && *l == '[')         /* (a line of blanks alone ends here) */
                        p->sec = SEC_SKIP;
                return str;
        }
        /* No leading blanks, so inih never glues a line to the value above it. */
        while (n > 0 && is_blank(*l))
                l++, n--;
        memcpy(str, l, n);
        str[n] = '\0';

        if (!*str || *str == '#' || *str == ';')
                return str;
        if (*str == '[') {
                section_line(p, str);
                str[0] = '\0';
                return str;
        }
        sep = find_separator(str, "=:");
        if (*sep == ':') {
                /* inih also splits at ':'; here a key never has one. */
                const char *eq = find_separator(sep, "=");

                if (*eq == '=') {
                        char key[256];
                        size_t kl = (size_t)(eq - str);

                        while (kl > 0 && is_blank(str[kl - 1]))
                                kl--;
                        snprintf(key, sizeof(key), "%.*s", (int)kl, str);
                        unknown_key(p, key);
                } else
                        fail(p, p->line, "syntax error: no '=' in '%s'", Q(str));
                str[0] = '\0';
        } else if (*sep != '=') {
                fail(p, p->line, "syntax error: no '=' in '%s'", Q(str));
                str[0] = '\0';
        }
        return str;
}

static bool has_error_at(const struct parser *p, unsigned line)
{
        /* (an error past those kept may have been there: counted already) */
        if (p->n_dropped && line >= p->min_dropped_line)
                return true;
        for (size_t i = 0; i < p->n_errors; i++)
                if (p->errors[i].line == line)
                        return true;
        return false;
}

static char *default_runtime_directory(struct parser *p)
{
        const char *rd = getenv("RUNTIME_DIRECTORY"), *x;
        char *d = NULL, *r;

        /* systemd gives one path per RuntimeDirectory= entry, ':'-separated. */
        if (rd && rd[0] == '/') {
                d = strndup(rd, strcspn(rd, ":"));
                if (!d) {
                        p->oom = true;
                        return NULL;
                }
        } else if (geteuid() == 0)
                return xstrdup(p, "/run/unixsockd");
        else if ((x = getenv("XDG_RUNTIME_DIR")) && x[0] == '/') {
                if (asprintf(&d, "%s/unixsockd", x) < 0) {
                        p->oom = true;
                        return NULL;
                }
        } else {
                fail(p, 0, "no runtime directory: set runtime-directory in [unixsockd] "
                     "(RUNTIME_DIRECTORY and XDG_RUNTIME_DIR are not set to absolute paths)");
                return NULL;
        }
        r = path_make(p, "", d);
        free(d);
        return r;
}

/* A file-system path that fits sun_path, or an abstract name; relative ones
 * joined to the runtime directory. NULL if it cannot be made (reported). */
static char *socket_path(struct parser *p, const char *key, unsigned line, const char *v)
{
        const char *rd = p->c->runtime_directory;
        char *path;
        size_t n;

        if (v[0] == '@') {
                n = strlen(v + 1);
                if (n > SUN_PATH_MAX) {
                        fail(p, line, "%s: abstract name '%s' is too long (%zu bytes after '@', at most %d)",
                             key, Q(v), n, SUN_PATH_MAX);
                        return NULL;
                }
                return xstrdup(p, v);
        }
        if (v[0] != '/' && !rd)
                return NULL;    /* the runtime directory was refused: reported */
        path = path_make(p, rd ? rd : "", v);
        if (!path)
                return NULL;
        n = strlen(path);
        if (n > SUN_PATH_MAX) {
                fail(p, line, "%s: '%s' is too long for a UNIX socket (%zu bytes, at most %d)", key,
                     Q(path), n, SUN_PATH_MAX);
                free(path);
                return NULL;
        }
        return path;
}

static const char *format_usec(char buf[static 32], uint64_t u)
{
        if (u % (60 * USEC_PER_SEC) == 0)
                snprintf(buf, 32, "%" PRIu64 "min", u / (60 * USEC_PER_SEC));
        else if (u % USEC_PER_SEC == 0)
                snprintf(buf, 32, "%" PRIu64 "s", u / USEC_PER_SEC);
        else if (u % USEC_PER_MSEC == 0)
                snprintf(buf, 32, "%" PRIu64 "ms", u / USEC_PER_MSEC);
        else
                snprintf(buf, 32, "%" PRIu64 "us", u);
        return buf;
}

static int find_worker(const struct config *c, const char *name)
{
        for (size_t i = 0; i < c->n_workers; i++)
                if (strcmp(c->workers[i].name, name) == 0)
                        return (int)i;
        return -1;
}

static void finish_sockets(struct parser *p)
{
        struct config *c = p->c;
        unsigned control_line = p->gkeys[G_CONTROL].line;

        for (size_t i = 0; i < c->n_sockets; i++) {
                struct cfg_socket *s = &c->sockets[i];
                struct socket_state *st = &p->ss[i];
                unsigned pl = st->keys[S_PATH].line;
                int w;

                if (!pl)
                        fail(p, s->line, "missing 'path =' in [socket:%s]", s->name);
                else if (s->path) {
                        char *path = socket_path(p, "path", pl, s->path);

                        free(s->path);
                        s->path = path;
                        st->keys[S_PATH].bad = !path;
                }
                if (s->path) {
                        for (size_t j = 0; j < i; j++)
                                if (c->sockets[j].path && strcmp(c->sockets[j].path, s->path) == 0) {
                                        fail(p, pl, "path: '%s' is already the path of [socket:%s] (line %u)",
                                             Q(s->path), c->sockets[j].name, p->ss[j].keys[S_PATH].line);
                                        break;
                                }
                        if (c->control && strcmp(c->control, s->path) == 0)
                                fail(p, control_line, "control: '%s' is also the path of [socket:%s]",
                                     Q(c->control), s->name);
                        if (s->path[0] == '@') {
                                /* An abstract socket has no inode, so nothing to give a mode or an owner. */
                                static const enum skey file_keys[] = { S_MODE, S_OWNER, S_GROUP };

                                for (size_t j = 0; j < 3; j++)
                                        if (st->keys[file_keys[j]].line && !st->keys[file_keys[j]].bad)
                                                fail(p, st->keys[file_keys[j]].line,
                                                     "%s: an abstract socket has no file to give it to "
                                                     "(use allow-users or allow-groups)",
                                                     skey_names[file_keys[j]]);
                        }
                }

                if (!st->keys[S_WORKER].line) {
                        fail(p, s->line, "missing 'worker =' in [socket:%s]", s->name);
                        continue;
                }
                if (!st->worker)
                        continue;
                w = find_worker(c, st->worker);
                if (w < 0) {
                        fail(p, st->keys[S_WORKER].line, "worker: there is no [worker:%s]", st->worker);
                        continue;
                }
                s->worker = &c->workers[w];
                p->ws[w].used = true;
                if (s->worker->dispatch == DISPATCH_LISTENER && !p->ws[w].keys[W_DISPATCH].bad) {
                        /* The listener worker accepts: the daemon never sees these connections. */
                        static const enum skey accept_keys[] = { S_ALLOW_USERS, S_ALLOW_GROUPS, S_RATE_LIMIT };

                        for (size_t j = 0; j < 3; j++)
                                if (st->keys[accept_keys[j]].line && !st->keys[accept_keys[j]].bad)
                                        fail(p, st->keys[accept_keys[j]].line,
                                             "%s: has no effect with [worker:%s], whose dispatch = listener "
                                             "accepts connections itself", skey_names[accept_keys[j]],
                                             s->worker->name);
                }
        }
}

static void finish_worker(struct parser *p, struct cfg_worker *w, struct worker_state *st)
{
        struct seen *k = st->keys;
        char b1[32], b2[32];

        if (!k[W_COMMAND].line)
                fail(p, w->line, "missing 'command =' in [worker:%s]", w->name);
        if (!st->used && !p->lost_ref)
                fail(p, w->line, "[worker:%s] is not used by any socket", w->name);

        if (!k[W_DISPATCH].bad) {
                static const enum wkey not_spawn[] = { W_RESTART, W_RESTART_DELAY, W_RESTART_DELAY_MAX };

                /* A refused value was reported already: one error per line. */
                if (w->dispatch != DISPATCH_SPAWN && k[W_LISTEN_FDS].line && !k[W_LISTEN_FDS].bad)
                        fail(p, k[W_LISTEN_FDS].line, "listen-fds: only for dispatch = spawn");
                for (size_t i = 0; i < 3 && w->dispatch == DISPATCH_SPAWN; i++)
                        if (k[not_spawn[i]].line && !k[not_spawn[i]].bad)
                                fail(p, k[not_spawn[i]].line, "%s: only for dispatch = pool or listener",
                                     wkey_names[not_spawn[i]]);
                if (w->dispatch == DISPATCH_LISTENER) {
                        if (k[W_INSTANCES].line && !k[W_INSTANCES].bad && w->instances != 1)
                                fail(p, k[W_INSTANCES].line, "instances: must be 1 with dispatch = listener");
                        if (k[W_MAX_PER_USER].line && !k[W_MAX_PER_USER].bad)
                                fail(p, k[W_MAX_PER_USER].line,
                                     "max-per-user: has no effect with dispatch = listener");
                }
        }
        if (!k[W_INSTANCES].line)
                w->instances = w->dispatch == DISPATCH_SPAWN ? 64 : w->dispatch == DISPATCH_POOL ? 4 : 1;

        if (!k[W_RESTART_DELAY].bad && !k[W_RESTART_DELAY_MAX].bad &&
            w->restart_delay_max_usec < w->restart_delay_usec) {
                if (k[W_RESTART_DELAY_MAX].line)
                        fail(p, k[W_RESTART_DELAY_MAX].line, "restart-delay-max: %s is less than restart-delay (%s)",
                             format_usec(b1, w->restart_delay_max_usec), format_usec(b2, w->restart_delay_usec));
                else
                        fail(p, k[W_RESTART_DELAY].line,
                             "restart-delay: %s is more than restart-delay-max (default %s)",
                             format_usec(b2, w->restart_delay_usec), format_usec(b1, w->restart_delay_max_usec));
        }

        if (w->set_group)
                w->gid = st->group_gid;
        if (w->set_user && st->user_known) {
                /* As initgroups(3) with the final group, as systemd does with User= and Group=. */
                int n = 32;

                for (;;) {
                        gid_t *g = reallocarray(w->groups, (size_t)n, sizeof(*g));
                        int want = n;

                        if (!g) {
                                p->oom = true;
                                return;
                        }
                        w->groups = g;
                        if (getgrouplist(w->user_name, w->gid, g, &n) >= 0) {
                                w->n_groups = (size_t)n;
                                break;
                        }
                        if (n <= want)
                                n = want * 2;
                        if (n > GROUPS_MAX) {
                                fail(p, k[W_USER].line, "user: '%s' is in too many groups", Q(w->user_name));
                                break;
                        }
                }
        }
}

static void finish(struct parser *p)
{
        struct config *c = p->c;

        if (!p->gkeys[G_RUNTIME_DIRECTORY].line)
                c->runtime_directory = default_runtime_directory(p);
        if (p->control) {
                c->control = socket_path(p, "control", p->gkeys[G_CONTROL].line, p->control);
                if (!c->control)
                        p->gkeys[G_CONTROL].bad = true;
        }
        finish_sockets(p);
        for (size_t i = 0; i < p->n_refs; i++) {
                int w = find_worker(c, p->refs[i]);

                if (w >= 0)
                        p->ws[w].used = true;
        }
        for (size_t i = 0; i < c->n_workers; i++)
                finish_worker(p, &c->workers[i], &p->ws[i]);
        if (c->n_sockets == 0)
                fail(p, 0, "no [socket:NAME] section: nothing to listen on");
}

static int error_cmp(const void *a, const void *b)
{
        const struct error *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void report_stderr(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        if (line)
                fprintf(stderr, "%s:%u: %s\n", file, line, msg);
        else
                fprintf(stderr, "%s: %s\n", file, msg);
}

/* One report for the errors past max, not max lines and then some. */
static void report_more(config_error_fn err, void *userdata, const char *name, size_t n)
{
        char msg[64];

        snprintf(msg, sizeof(msg), "%zu more error%s not shown", n, n == 1 ? "" : "s");
        err(userdata, name, 0, msg);
}

static int load_string(const char *name, const char *text, size_t len, size_t max,
                       config_error_fn err, void *userdata, struct config **ret)
{
        struct parser p = { .file = name, .buf = text, .len = len, .keep = max };
        size_t total;
        int r;

        if (!err)
                err = report_stderr;
        p.c = calloc(1, sizeof(*p.c));
        if (!p.c || !(p.c->file = strdup(name))) {
                free(p.c);
                err(userdata, name, 0, "out of memory");
                return -ENOMEM;
        }
        p.c->log_level = LOG_INFO;
        p.c->stop_timeout_usec = 10 * USEC_PER_SEC;

        r = ini_parse_stream(reader, &p, handler, &p);
        if (r < 0)
                p.oom = true;
        else if (r > 0 && !has_error_at(&p, (unsigned)r))
                fail(&p, (unsigned)r, "syntax error");  /* a line inih refused but the reader passed */
        if (!p.oom)
                finish(&p);

        total = p.n_errors + p.n_dropped;
        if (p.oom)
                r = -ENOMEM;
        else
                r = total ? -EINVAL : 0;
        if (p.n_errors)
                qsort(p.errors, p.n_errors, sizeof(*p.errors), error_cmp);
        for (size_t i = 0; i < p.n_errors; i++) {
                if (i < max)
                        err(userdata, name, p.errors[i].line, p.errors[i].msg);
                free(p.errors[i].msg);
        }
        if (total > max)
                report_more(err, userdata, name, total - max);
        if (p.oom)
                err(userdata, name, 0, "out of memory");
        free(p.errors);
        for (size_t i = 0; i < p.c->n_sockets; i++)
                free(p.ss[i].worker);
        free(p.ss);
        free(p.ws);
        for (size_t i = 0; i < p.n_refs; i++)
                free(p.refs[i]);
        free(p.refs);
        free(p.control);
        if (r < 0) {
                config_free(p.c);
                return r;
        }
        *ret = p.c;
        return 0;
}

int config_load_string(const char *name, const char *text, size_t len,
                       config_error_fn err, void *userdata, struct config **ret)
{
        return load_string(name, text, len, SIZE_MAX, err, userdata, ret);
}

/* The whole file, up to FILE_SIZE_MAX. Only a regular file: a reload reads
 * it in the event loop, where a FIFO would block in open(2) until a writer
 * came (O_NONBLOCK opens it at once, and reads of a regular file ignore the
 * flag) and a device could be endless. -EISDIR or -EBADFD for anything else,
 * as systemd's stat_verify_regular(). Symlinks are followed: a link such as
 * /etc/alternatives makes is a fine configuration path. */
static int read_file(const char *file, char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 0;
        char *buf = NULL;
        struct stat st;
        int fd, r;

        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        if (!S_ISREG(st.st_mode)) {
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
                goto fail;
        }
        for (;;) {
                ssize_t k;

                if (len == cap) {
                        char *nb;

                        if (cap >= FILE_SIZE_MAX) {
                                r = -EFBIG;
                                goto fail;
                        }
                        cap = cap ? cap * 2 : 8192;
                        nb = realloc(buf, cap + 1);
                        if (!nb) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        buf = nb;
                }
                k = read(fd, buf + len, cap - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto fail;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        close(fd);
        *ret = buf;
        *ret_len = len;
        return 0;
fail:
        free(buf);
        close(fd);
        return r;
}

int config_load_max(const char *file, size_t max, config_error_fn err, void *userdata,
                    struct config **ret)
{
        char *buf = NULL, *msg = NULL;
        size_t len = 0;
        int r;

        r = read_file(file, &buf, &len);
        if (r < 0) {
                if (!err)
                        err = report_stderr;
                if (r == -EISDIR || r == -EBADFD)       /* only read_file()'s own check gives these */
                        r = (msg = strdup("not a regular file")) ? r : -ENOMEM;
                else if (r == -EFBIG)
                        r = asprintf(&msg, "cannot read: file of %u MiB or more", FILE_SIZE_MAX >> 20) < 0 ? -ENOMEM : r;
                else if (asprintf(&msg, "cannot read: %s", strerror(-r)) < 0)
                        r = -ENOMEM;
                err(userdata, file, 0, msg ? msg : "out of memory");
                free(msg);
                return r;
        }
        r = load_string(file, buf, len, max, err, userdata, ret);
        free(buf);
        return r;
}

int config_load(const char *file, config_error_fn err, void *userdata, struct config **ret)
{
        return config_load_max(file, SIZE_MAX, err, userdata, ret);
}

static void worker_free(struct cfg_worker *w)
{
        free(w->name);
        parse_strv_free(w->argv);
        free(w->exec_path);
        free(w->user_name);
        free(w->groups);
        parse_strv_free(w->env);
        free(w->working_directory);
}

void config_free(struct config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_sockets; i++) {
                free(c->sockets[i].name);
                free(c->sockets[i].path);
                free(c->sockets[i].allow_uids);
                free(c->sockets[i].allow_gids);
        }
        free(c->sockets);
        for (size_t i = 0; i < c->n_workers; i++)
                worker_free(&c->workers[i]);
        free(c->workers);
        free(c->file);
        free(c->runtime_directory);
        free(c->control);
        free(c);
}

const struct cfg_socket *config_find_socket(const struct config *c, const char *name)
{
        for (size_t i = 0; i < c->n_sockets; i++)
                if (strcmp(c->sockets[i].name, name) == 0)
                        return &c->sockets[i];
        return NULL;
}

const char *dispatch_to_string(enum dispatch d)
{
        switch (d) {
        case DISPATCH_SPAWN:
                return "spawn";
        case DISPATCH_POOL:
                return "pool";
        case DISPATCH_LISTENER:
                return "listener";
        }
        return NULL;
}
