/* The configuration file: INI text to typed structs. Owns the line reader
 * that feeds inih, the table of keys of each section, and the checks across
 * keys and sections; users, groups and programs it asks of a resolver.
 *
 * inih alone reports only the first error and cannot see empty sections,
 * long section names (it truncates them at 49 bytes) or over-long lines (it
 * splits them), so the reader does the line-level work itself: it numbers the
 * lines, refuses over-long ones, strips leading blanks (no multi-line values),
 * takes section headers and syntax errors, and hands inih only comment lines
 * and "key = value" lines. Every error is collected with its line, and all of
 * them are reported in line order at the end.
 *
 * What the resolver does not cover, it reads here: the daemon's environment
 * (RUNTIME_DIRECTORY, XDG_RUNTIME_DIR) and its euid. Those are the process's
 * own state, which a test or the fuzzer sets directly, not a look-up in a
 * database or the file system. Commands are searched in the resolver's fixed
 * path, never the caller's $PATH (resolve.h). */
#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "file.h"
#include "parse.h"
#include "paths.h"
#include "resolve.h"
#include "strindex.h"

#define COUNT_MAX 1000000               /* instances, max-per-user */
/* Every copy holds every socket and, in a poll-based server, wakes for every
 * connection; a copy per CPU is the usual choice (unixsockd.conf(5)). */
#define LISTENER_COPIES_MAX 1024
/* A pool that sizes itself keeps a place for each of MAX processes and
 * looks at every place when it grows or shrinks: a bound keeps that work
 * per connection small (unixsockd.conf(5)). */
#define POOL_RANGE_MAX 16384
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

enum gkey { G_RUNTIME_DIRECTORY, G_LOG_LEVEL, G_STOP_TIMEOUT, G_CONTROL, G_CONTROL_GROUP, G_MAX };
enum skey { S_PATH, S_BACKLOG, S_MODE, S_OWNER, S_GROUP, S_ALLOW_USERS, S_ALLOW_GROUPS,
            S_WORKER, S_RATE_LIMIT, S_TYPE, S_MAX };
enum wkey { W_COMMAND, W_DISPATCH, W_INSTANCES, W_MAX_PER_USER, W_USER, W_GROUP,
            W_ENVIRONMENT, W_WORKING_DIRECTORY, W_RESTART, W_RESTART_DELAY,
            W_RESTART_DELAY_MAX, W_LISTEN_FDS, W_MAX_CONCURRENT, W_IDLE_TIMEOUT, W_MAX_CONNECTIONS,
            W_RUNTIME_MAX, W_LIMIT_NOFILE, W_LIMIT_NPROC, W_LIMIT_CORE, W_LIMIT_AS, W_LIMIT_CPU,
            W_NICE, W_UMASK, W_MEMORY_MAX, W_PIDS_MAX, W_CPU_WEIGHT, W_MAX };

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
        bool instances_range;           /* instances = MIN-MAX */
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

struct parser {
        struct config *c;
        const struct resolver *res;
        const char *file;
        const char *buf;
        size_t len, pos;
        unsigned line;

        enum section sec;
        size_t idx;                     /* of the current socket or worker */

        unsigned global_line;
        struct seen gkeys[G_MAX];
        char *control;                  /* as written; NULL: the default or none */
        bool control_none;
        struct socket_state *ss;        /* parallel to c->sockets */
        size_t cap_sockets;
        struct worker_state *ws;        /* parallel to c->workers */
        size_t cap_workers;
        struct strindex socket_names, worker_names, paths;      /* -> index into c->sockets, c->workers */
        char **refs;                    /* worker= of refused socket sections */
        size_t n_refs;
        bool lost_ref;                  /* some socket's worker= could not be read */

        struct diag errors;
        bool oom;
};

/* An error at line; out of memory to keep it, p->oom. */
#define fail(p, line, ...) diag_add(&(p)->errors, &(p)->oom, (line), __VA_ARGS__)

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

static char *path_make(struct parser *p, const char *dir, const char *rel)
{
        char *path = parse_path_join(dir, rel);

        if (!path)
                p->oom = true;
        return path;
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

/* A look-up of the resolver that failed, reported; returns r. */
static int lookup_failed(struct parser *p, const char *key, const char *what, const char *s, int r)
{
        if (r == -ENOMEM)
                p->oom = true;
        else if (r == -ENOENT)
                fail(p, p->line, "%s: unknown %s '%s'", key, what, Q(s));
        else
                fail(p, p->line, "%s: cannot look up %s '%s': %s", key, what, Q(s), strerror(-r));
        return r;
}

/* A uid (or a gid if group): a number, taken as it is (it need not exist),
 * or a name that must. */
static int resolve_id(struct parser *p, const char *key, const char *s, bool group, uint32_t *ret)
{
        const struct resolver *res = p->res;
        struct resolve_user u;
        uint64_t v;
        gid_t g;
        int r;

        r = parse_id(p, key, s, &v);
        if (r != -EINVAL) {
                if (r == 0)
                        *ret = (uint32_t)v;
                return r;
        }
        if (group)
                r = res->group_by_name(res->userdata, s, &g);
        else
                r = res->user_by_name(res->userdata, s, &u);
        if (r < 0)
                return lookup_failed(p, key, group ? "group" : "user", s, r);
        if (!group) {
                g = u.uid;
                free(u.name);
        }
        *ret = g;
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
                int k = resolve_id(p, key, w[i], groups, &ids[i]);

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

/* The program of command=: an absolute path as it is, a bare name searched in
 * the fixed search path, as execvp(3) would in it. */
static int find_program(struct parser *p, const char *name, char **ret)
{
        const char *path = p->res->search_path ? p->res->search_path : RESOLVE_SEARCH_PATH;
        int r;

        r = resolve_program(p->res, name, path, ret);
        if (r == -ENOMEM)
                p->oom = true;
        else if (r == -EINVAL && !*name)
                fail(p, p->line, "command: empty program name");
        else if (r == -EINVAL)
                fail(p, p->line, "command: '%s' is neither an absolute path nor a name to look up in PATH",
                     Q(name));
        else if (r < 0 && name[0] != '/')
                fail(p, p->line, "command: '%s' not found in PATH (%s)", Q(name), Q(path));
        else if (r == -ENOENT)
                fail(p, p->line, "command: '%s' does not exist", Q(name));
        else if (r == -EACCES || r == -EISDIR)
                fail(p, p->line, "command: '%s' is not an executable file", Q(name));
        else if (r < 0)
                fail(p, p->line, "command: '%s': %s", Q(name), strerror(-r));
        return r;
}

bool config_env_name_reserved(const char *name, size_t len)
{
        static const char *const names[] = {
                "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_PID",
                "WATCHDOG_USEC", "JOURNAL_STREAM", "PROTO", "UNIXLOCALPATH", "UNIXREMOTEPID",
                "UNIXREMOTEEUID", "UNIXREMOTEEGID",
        };
        static const char prefix[] = "UNIXSOCKD_";

        if (len >= sizeof(prefix) - 1 && memcmp(name, prefix, sizeof(prefix) - 1) == 0)
                return true;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
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
                } else if (config_env_name_reserved(w[i], nl)) {
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

/* One of a fixed set of words: its value (>= 0); else the error lists them. */
struct choice {
        const char *name;
        int value;
};

static int choose(struct parser *p, const char *key, const char *v, const struct choice *ch)
{
        char list[256];
        size_t n = 0;

        for (const struct choice *c = ch; c->name; c++)
                if (strcmp(v, c->name) == 0)
                        return c->value;
        list[0] = '\0';
        for (const struct choice *c = ch; c->name && n < sizeof(list); c++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", c->name);
        fail(p, p->line, "%s: '%s' is not one of %s", key, Q(v), list);
        return -EINVAL;
}

/* "KEY: 'VALUE' why", the form of most errors about one value. */
static int refuse(struct parser *p, const char *key, const char *v, const char *why)
{
        fail(p, p->line, "%s: '%s' %s", key, Q(v), why);
        return -EINVAL;
}

/* ---- the keys of each section: a table of names and handlers ---- */

/* A handler parses value v of key k into obj, the struct of the section being
 * read (struct config, cfg_socket or cfg_worker). The handlers shared by
 * several keys write the field at k->offset, within the bounds of k. Returns
 * 0, or a negative errno with the error reported. */
struct key;
typedef int key_fn(struct parser *p, const struct key *k, void *obj, const char *v);

struct key {
        const char *name;
        key_fn *parse;
        size_t offset;
        const struct choice *choices;   /* key_choice */
        uint64_t min, max;              /* key_number; key_duration: min only */
        const char *why;                /* key_duration: what a value that is no duration is told */
};

#define FIELD(obj, k, type) ((type *)(void *)((char *)(obj) + (k)->offset))
#define KEY(n, fn) .name = (n), .parse = (fn)

static int key_absolute_path(struct parser *p, const struct key *k, void *obj, const char *v)
{
        if (v[0] != '/')
                return refuse(p, k->name, v, "is not an absolute path");
        *FIELD(obj, k, char *) = path_make(p, "", v);
        return 0;
}

static_assert(sizeof(enum dispatch) == sizeof(int) && sizeof(enum restart_policy) == sizeof(int),
              "key_choice() writes an int");

static int key_choice(struct parser *p, const struct key *k, void *obj, const char *v)
{
        int r = choose(p, k->name, v, k->choices);

        if (r >= 0)
                *FIELD(obj, k, int) = r;
        return r;
}

/* An int or an unsigned field: k->max fits either. */
static int key_number(struct parser *p, const struct key *k, void *obj, const char *v)
{
        uint64_t u;

        if (parse_uint(v, k->min, k->max, &u) < 0) {
                fail(p, p->line, "%s: '%s' is not a number from %" PRIu64 " to %" PRIu64, k->name, Q(v), k->min,
                     k->max);
                return -EINVAL;
        }
        *FIELD(obj, k, unsigned) = (unsigned)u;
        return 0;
}

static int key_duration(struct parser *p, const struct key *k, void *obj, const char *v)
{
        uint64_t u;

        if (parse_duration(v, &u) < 0)
                return refuse(p, k->name, v, k->why);
        if (u < k->min) {
                fail(p, p->line, "%s: must be more than 0", k->name);
                return -EINVAL;
        }
        *FIELD(obj, k, uint64_t) = u;
        return 0;
}

static int key_user(struct parser *p, const struct key *k, void *obj, const char *v)
{
        return resolve_id(p, k->name, v, false, FIELD(obj, k, uint32_t));
}

static int key_group(struct parser *p, const struct key *k, void *obj, const char *v)
{
        return resolve_id(p, k->name, v, true, FIELD(obj, k, uint32_t));
}

static int global_control(struct parser *p, const struct key *k, void *obj, const char *v)
{
        (void)obj;
        if (v[0] == '@')
                return refuse(p, k->name, v, "is abstract: the control socket needs a file and its permissions");
        if (strcmp(v, "none") == 0)
                p->control_none = true;
        else
                p->control = xstrdup(p, v);
        return 0;
}

static int global_control_group(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct config *c = obj;
        int r = resolve_id(p, k->name, v, true, &c->control_gid);

        if (r == 0)
                c->control_group_set = true;
        return r;
}

static const struct choice log_levels[] = {
        { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
        { "warning", LOG_WARNING }, { "err", LOG_ERR }, { NULL, 0 },
};

#define GLOBAL_FIELD(f) .offset = offsetof(struct config, f)
static const struct key global_keys[G_MAX] = {
        [G_RUNTIME_DIRECTORY] = { KEY("runtime-directory", key_absolute_path), GLOBAL_FIELD(runtime_directory) },
        [G_LOG_LEVEL] = { KEY("log-level", key_choice), GLOBAL_FIELD(log_level), .choices = log_levels },
        [G_STOP_TIMEOUT] = { KEY("stop-timeout", key_duration), GLOBAL_FIELD(stop_timeout_usec),
                             .why = "is not a duration (e.g. 10s, 500ms, 1min)" },
        [G_CONTROL] = { KEY("control", global_control) },
        [G_CONTROL_GROUP] = { KEY("control-group", global_control_group) },
};

static int socket_path_key(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_socket *s = obj;

        if (v[0] == '@' && !v[1]) {
                fail(p, p->line, "%s: '@' with no abstract name after it", k->name);
                return -EINVAL;
        }
        if (v[0] != '@' && v[strlen(v) - 1] == '/')
                return refuse(p, k->name, v, "ends with '/': it names a directory");
        s->path = xstrdup(p, v);
        return 0;
}

static int socket_mode(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_socket *s = obj;

        return parse_mode(v, &s->mode) < 0 ? refuse(p, k->name, v, "is not an octal mode from 0 to 07777") : 0;
}

static int socket_allow_users(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_socket *s = obj;

        return resolve_id_list(p, k->name, v, false, &s->allow_uids, &s->n_allow_uids);
}

static int socket_allow_groups(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_socket *s = obj;

        return resolve_id_list(p, k->name, v, true, &s->allow_gids, &s->n_allow_gids);
}

static int socket_worker(struct parser *p, const struct key *k, void *obj, const char *v)
{
        (void)obj;
        if (!parse_name_is_valid(v))
                return refuse(p, k->name, v, "is not a valid worker name (1 to 255 of A-Z a-z 0-9 _ . -)");
        p->ss[p->idx].worker = xstrdup(p, v);
        return 0;
}

static int socket_rate_limit(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_socket *s = obj;

        if (parse_rate(v, &s->rate_burst, &s->rate_interval_usec) == 0)
                return 0;
        fail(p, p->line, "%s: '%s' is not N/DURATION with N from 1 to %" PRIu32
             " and a DURATION more than 0 (e.g. 500/1s)", k->name, Q(v), UINT32_MAX);
        return -EINVAL;
}

static const struct choice socket_types[] = {
        { "stream", SOCK_STREAM }, { "seqpacket", SOCK_SEQPACKET }, { "datagram", SOCK_DGRAM }, { NULL, 0 },
};

#define SOCKET_FIELD(f) .offset = offsetof(struct cfg_socket, f)
static const struct key socket_keys[S_MAX] = {
        [S_PATH] = { KEY("path", socket_path_key) },
        [S_BACKLOG] = { KEY("backlog", key_number), SOCKET_FIELD(backlog), .min = 1, .max = 65535 },
        [S_MODE] = { KEY("mode", socket_mode) },
        [S_OWNER] = { KEY("owner", key_user), SOCKET_FIELD(uid) },
        [S_GROUP] = { KEY("group", key_group), SOCKET_FIELD(gid) },
        [S_ALLOW_USERS] = { KEY("allow-users", socket_allow_users) },
        [S_ALLOW_GROUPS] = { KEY("allow-groups", socket_allow_groups) },
        [S_WORKER] = { KEY("worker", socket_worker) },
        [S_RATE_LIMIT] = { KEY("rate-limit", socket_rate_limit) },
        [S_TYPE] = { KEY("type", key_choice), SOCKET_FIELD(type), .choices = socket_types },
};

static int worker_command(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        char **argv = NULL;
        int r;

        r = split(p, k->name, v, &argv);
        if (r == 0) {
                fail(p, p->line, "%s: no program in '%s'", k->name, Q(v));
                r = -EINVAL;
        }
        if (r > 0)
                r = find_program(p, argv[0], &w->exec_path);
        if (r < 0) {
                parse_strv_free(argv);
                return r;
        }
        w->argv = argv;
        return 0;
}

static int worker_user(struct parser *p, const struct key *k, void *obj, const char *v)
{
        const struct resolver *res = p->res;
        struct cfg_worker *w = obj;
        struct resolve_user u;
        uint64_t id = 0;
        bool numeric;
        int r;

        r = parse_id(p, k->name, v, &id);
        if (r == -ERANGE)
                return r;
        numeric = r == 0;
        if (numeric)
                r = res->user_by_uid(res->userdata, (uid_t)id, &u);
        else
                r = res->user_by_name(res->userdata, v, &u);
        if (r == 0)
                p->ws[p->idx].user_known = true;
        else if (r == -ENOENT && numeric)
                /* A number with no passwd entry is taken as it is, with the
                 * same number as its group and no supplementary groups. */
                u = (struct resolve_user){ .uid = (uid_t)id, .gid = (gid_t)id, .name = xstrdup(p, v) };
        else
                return lookup_failed(p, k->name, "user", v, r);
        w->uid = u.uid;
        w->gid = u.gid;
        w->user_name = u.name;
        w->set_user = true;
        return 0;
}

static int worker_group(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        int r = resolve_id(p, k->name, v, true, &p->ws[p->idx].group_gid);

        if (r == 0)
                w->set_group = true;
        return r;
}

static int worker_environment(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        char **env = NULL;
        int r;

        (void)k;
        r = parse_environment(p, v, &env);
        if (r < 0)
                return r;
        parse_strv_free(w->env);
        w->env = env;
        return 0;
}

static int worker_listen_fds(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        int r = parse_bool(v);

        if (r < 0)
                return refuse(p, k->name, v, "is not one of yes, no, true, false, on, off, 1, 0");
        w->listen_fds = r;
        return 0;
}

static int worker_instances(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        uint64_t lo, hi;
        int r = parse_range(v, 0, COUNT_MAX, &lo, &hi);

        if (r < 0 && strchr(v, '-'))
                return refuse(p, k->name, v, "is not a range MIN-MAX with MIN <= MAX <= 1000000 and MAX >= 1");
        if (r < 0) {
                fail(p, p->line, "%s: '%s' is not a number from 1 to %u, nor a range MIN-MAX", k->name, Q(v),
                     COUNT_MAX);
                return r;
        }
        if (r == 1 && hi > POOL_RANGE_MAX) {
                fail(p, p->line, "%s: MAX %" PRIu64 " is more than %u, the most processes of a pool that sizes itself",
                     k->name, hi, POOL_RANGE_MAX);
                return -ERANGE;
        }
        w->instances = (unsigned)hi;
        w->instances_min = (unsigned)lo;
        p->ws[p->idx].instances_range = r == 1;
        return 0;
}

/* A count, or infinity. */
static int limit_count(const char *s, uint64_t *ret)
{
        if (strcmp(s, "infinity") == 0) {
                *ret = CFG_INFINITY;
                return 0;
        }
        return parse_uint(s, 0, CFG_INFINITY - 1, ret);
}

/* Seconds of CPU time: a duration, rounded up to whole seconds, or infinity. */
static int limit_seconds(const char *s, uint64_t *ret)
{
        uint64_t usec;
        int r;

        if (strcmp(s, "infinity") == 0) {
                *ret = CFG_INFINITY;
                return 0;
        }
        r = parse_duration(s, &usec);
        if (r == 0)
                *ret = (usec + 999999) / 1000000;
        return r;
}

static const struct {
        int (*parse)(const char *s, uint64_t *ret);
        const char *what;
} limit_kinds[_LIMIT_MAX] = {
        [LIMIT_NOFILE] = { limit_count, "a number" },
        [LIMIT_NPROC] = { limit_count, "a number" },
        [LIMIT_CORE] = { parse_size, "a size (e.g. 0, 512M)" },
        [LIMIT_AS] = { parse_size, "a size (e.g. 4G)" },
        [LIMIT_CPU] = { limit_seconds, "a duration (e.g. 30s, 1min)" },
};

/* limit-*: VALUE (soft and hard) or SOFT:HARD, each a value of the kind or
 * infinity, as systemd's LimitNOFILE= and the others. k->min is the kind. */
static int worker_limit(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        enum cfg_limit_kind kind = (enum cfg_limit_kind)k->min;
        const char *colon = strchr(v, ':');
        char soft[64];
        struct cfg_limit l = { .set = true };
        char why[128];

        snprintf(why, sizeof(why), "is not %s, infinity, or SOFT:HARD of them", limit_kinds[kind].what);
        if (!colon) {
                if (limit_kinds[kind].parse(v, &l.soft) < 0)
                        return refuse(p, k->name, v, why);
                l.hard = l.soft;
        } else {
                if ((size_t)(colon - v) >= sizeof(soft))
                        return refuse(p, k->name, v, why);
                memcpy(soft, v, (size_t)(colon - v));
                soft[colon - v] = '\0';
                if (limit_kinds[kind].parse(soft, &l.soft) < 0 || limit_kinds[kind].parse(colon + 1, &l.hard) < 0)
                        return refuse(p, k->name, v, why);
                if (l.soft > l.hard)
                        return refuse(p, k->name, v, "has a soft limit above its hard limit");
        }
        w->limits[kind] = l;
        return 0;
}

static int worker_nice(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        bool neg = v[0] == '-';
        uint64_t u;

        if (parse_uint(v + neg, 0, neg ? 20 : 19, &u) < 0)
                return refuse(p, k->name, v, "is not a number from -20 to 19");
        w->nice = neg ? -(int)u : (int)u;
        w->set_nice = true;
        return 0;
}

static int worker_umask(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        mode_t m;

        if (parse_mode(v, &m) < 0 || m > 0777)
                return refuse(p, k->name, v, "is not an octal mode from 0000 to 0777");
        w->umask = m;
        return 0;
}

/* memory-max, pids-max, cpu-weight: the first one's line is kept, for the
 * error the daemon gives when it has no delegated cgroup to apply them. */
static void cgroup_key(struct parser *p, const struct key *k, struct cfg_worker *w)
{
        if (!w->cgroup_line) {
                w->cgroup_line = p->line;
                w->cgroup_key = k->name;
        }
}

static int worker_memory_max(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;

        if (parse_size(v, &w->memory_max) < 0)
                return refuse(p, k->name, v, "is not a size (e.g. 512M, 2G) or infinity");
        w->memory_max_line = p->line;
        cgroup_key(p, k, w);
        return 0;
}

static int worker_pids_max(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;

        if (limit_count(v, &w->pids_max) < 0 || w->pids_max == 0)
                return refuse(p, k->name, v, "is not a number from 1, or infinity");
        w->pids_max_line = p->line;
        cgroup_key(p, k, w);
        return 0;
}

static int worker_cpu_weight(struct parser *p, const struct key *k, void *obj, const char *v)
{
        struct cfg_worker *w = obj;
        uint64_t u;

        if (parse_uint(v, 1, 10000, &u) < 0)
                return refuse(p, k->name, v, "is not a number from 1 to 10000");
        w->cpu_weight = (unsigned)u;
        w->cpu_weight_line = p->line;
        cgroup_key(p, k, w);
        return 0;
}

static const struct choice dispatches[] = {
        { "spawn", DISPATCH_SPAWN }, { "pool", DISPATCH_POOL }, { "listener", DISPATCH_LISTENER }, { NULL, 0 },
};

static const struct choice restart_policies[] = {
        { "always", RESTART_ALWAYS }, { "on-failure", RESTART_ON_FAILURE }, { "never", RESTART_NEVER },
        { NULL, 0 },
};

/* Doubling zero stays zero: a crashing worker would be restarted in a busy loop. */
#define RESTART_DELAY .min = 1, .why = "is not a duration (e.g. 100ms, 2s, 1min)"
#define WORKER_FIELD(f) .offset = offsetof(struct cfg_worker, f)
static const struct key worker_keys[W_MAX] = {
        [W_COMMAND] = { KEY("command", worker_command) },
        [W_DISPATCH] = { KEY("dispatch", key_choice), WORKER_FIELD(dispatch), .choices = dispatches },
        [W_INSTANCES] = { KEY("instances", worker_instances) },
        [W_MAX_PER_USER] = { KEY("max-per-user", key_number), WORKER_FIELD(max_per_user), .min = 1, .max = COUNT_MAX },
        [W_USER] = { KEY("user", worker_user) },
        [W_GROUP] = { KEY("group", worker_group) },
        [W_ENVIRONMENT] = { KEY("environment", worker_environment) },
        [W_WORKING_DIRECTORY] = { KEY("working-directory", key_absolute_path), WORKER_FIELD(working_directory) },
        [W_RESTART] = { KEY("restart", key_choice), WORKER_FIELD(restart), .choices = restart_policies },
        [W_RESTART_DELAY] = { KEY("restart-delay", key_duration), WORKER_FIELD(restart_delay_usec), RESTART_DELAY },
        [W_RESTART_DELAY_MAX] = { KEY("restart-delay-max", key_duration), WORKER_FIELD(restart_delay_max_usec),
                                  RESTART_DELAY },
        [W_LISTEN_FDS] = { KEY("listen-fds", worker_listen_fds) },
        [W_MAX_CONCURRENT] = { KEY("max-concurrent", key_number), WORKER_FIELD(max_concurrent), .min = 1,
                               .max = COUNT_MAX },
        [W_IDLE_TIMEOUT] = { KEY("idle-timeout", key_duration), WORKER_FIELD(idle_timeout_usec), .min = 1,
                             .why = "is not a duration (e.g. 10s, 1min)" },
        [W_MAX_CONNECTIONS] = { KEY("max-connections", key_number), WORKER_FIELD(max_connections), .min = 0,
                                .max = COUNT_MAX },
        [W_RUNTIME_MAX] = { KEY("runtime-max", key_duration), WORKER_FIELD(runtime_max_usec), .min = 0,
                            .why = "is not a duration (e.g. 30s, 5min; 0: none)" },
        [W_LIMIT_NOFILE] = { KEY("limit-nofile", worker_limit), .min = LIMIT_NOFILE },
        [W_LIMIT_NPROC] = { KEY("limit-nproc", worker_limit), .min = LIMIT_NPROC },
        [W_LIMIT_CORE] = { KEY("limit-core", worker_limit), .min = LIMIT_CORE },
        [W_LIMIT_AS] = { KEY("limit-as", worker_limit), .min = LIMIT_AS },
        [W_LIMIT_CPU] = { KEY("limit-cpu", worker_limit), .min = LIMIT_CPU },
        [W_NICE] = { KEY("nice", worker_nice) },
        [W_UMASK] = { KEY("umask", worker_umask) },
        [W_MEMORY_MAX] = { KEY("memory-max", worker_memory_max) },
        [W_PIDS_MAX] = { KEY("pids-max", worker_pids_max) },
        [W_CPU_WEIGHT] = { KEY("cpu-weight", worker_cpu_weight) },
};

/* The keys of the current section, where their lines are kept, and the struct
 * they fill; NULL outside a section whose keys are read. */
static const struct key *section_keys(struct parser *p, size_t *ret_n, struct seen **ret_seen, void **ret_obj)
{
        switch (p->sec) {
        case SEC_GLOBAL:
                *ret_n = G_MAX, *ret_seen = p->gkeys, *ret_obj = p->c;
                return global_keys;
        case SEC_SOCKET:
                *ret_n = S_MAX, *ret_seen = p->ss[p->idx].keys, *ret_obj = &p->c->sockets[p->idx];
                return socket_keys;
        case SEC_WORKER:
                *ret_n = W_MAX, *ret_seen = p->ws[p->idx].keys, *ret_obj = &p->c->workers[p->idx];
                return worker_keys;
        default:
                return NULL;
        }
}

/* A refused [socket:] header's worker= still counts as a use of that worker. */
static void skipped_socket_key(struct parser *p, const char *name, const char *value)
{
        char **r;

        if (strcmp(name, "worker") != 0)
                return;
        r = reallocarray(p->refs, p->n_refs + 1, sizeof(*r));
        if (!r) {
                p->oom = true;
                return;
        }
        p->refs = r;
        p->refs[p->n_refs] = xstrdup(p, value);
        if (p->refs[p->n_refs])
                p->n_refs++;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        struct parser *p = user;
        const struct key *keys;
        struct seen *seen = NULL;
        void *obj = NULL;
        size_t n = 0, k = 0;
        char b[300];

        /* inih truncates long section names: the reader keeps the section. */
        (void)section;
        if (!*name) {
                fail(p, p->line, "syntax error: no key before '='");
                return 1;
        }
        if (p->sec == SEC_SKIP_SOCKET) {
                skipped_socket_key(p, name, value);
                return 1;
        }
        keys = section_keys(p, &n, &seen, &obj);
        while (k < n && strcmp(keys[k].name, name) != 0)
                k++;
        if (k == n) {
                unknown_key(p, name);
                return 1;
        }
        if (seen[k].line) {
                fail(p, p->line, "duplicate key '%s' in %s (first at line %u)", name, section_label(p, b),
                     seen[k].line);
                return 1;
        }
        seen[k].line = p->line;
        seen[k].bad = true;
        if (!*value)
                fail(p, p->line, "%s: missing value", name);
        else if (parse_has_hash_comment(value))
                fail(p, p->line, "%s: '#' does not start a comment after a value (use ';', or quote the '#')",
                     name);
        else
                seen[k].bad = keys[k].parse(p, &keys[k], obj, value) < 0;
        if (p->sec == SEC_SOCKET && k == S_WORKER && seen[k].bad)
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
                .type = SOCK_STREAM,
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
                .idle_timeout_usec = 10 * USEC_PER_SEC,
                .umask = 0022,
                .memory_max = CFG_INFINITY,
                .pids_max = CFG_INFINITY,
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
        size_t first;

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
        if (strindex_get(sock ? &p->socket_names : &p->worker_names, name, &first)) {
                fail(p, p->line, "duplicate section [%s] (first at line %u)", h,
                     sock ? c->sockets[first].line : c->workers[first].line);
                return;
        }
        if (sock)
                new_socket(p, name);
        else
                new_worker(p, name);
        if (p->sec == SEC_SOCKET || p->sec == SEC_WORKER) {
                const char *kept = sock ? c->sockets[p->idx].name : c->workers[p->idx].name;
                if (strindex_put(sock ? &p->socket_names : &p->worker_names, kept, p->idx, NULL) < 0)
                        p->oom = true;
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

static struct paths paths_of(struct parser *p)
{
        return (struct paths){ .errors = &p->errors, .res = p->res, .runtime_directory = p->c->runtime_directory };
}

/* The runtime directory (fn given), or the socket path of key at line. */
static char *with_paths(struct parser *p, char *(*fn)(struct paths *), const char *key, unsigned line,
                        const char *v)
{
        struct paths pp = paths_of(p);
        char *r = fn ? fn(&pp) : paths_socket(&pp, key, line, v);

        p->oom |= pp.oom;
        return r;
}

static void check_dir(struct parser *p, const char *key, unsigned line, const char *path)
{
        struct paths pp = paths_of(p);

        paths_check_directory(&pp, key, line, path);
        p->oom |= pp.oom;
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

static int find_worker(const struct parser *p, const char *name)
{
        size_t i;

        return strindex_get(&p->worker_names, name, &i) ? (int)i : -1;
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
                        char *path = with_paths(p, NULL, "path", pl, s->path);

                        free(s->path);
                        s->path = path;
                        st->keys[S_PATH].bad = !path;
                }
                if (s->path) {
                        bool dup = false;
                        size_t first;
                        int r = strindex_put(&p->paths, s->path, i, &first);

                        if (r < 0) {
                                p->oom = true;
                        } else if (r == 0) {
                                fail(p, pl, "path: '%s' is already the path of [socket:%s] (line %u)",
                                     Q(s->path), c->sockets[first].name, p->ss[first].keys[S_PATH].line);
                                dup = true;
                        }
                        if (c->control && strcmp(c->control, s->path) == 0) {
                                if (control_line)
                                        fail(p, control_line, "control: '%s' is also the path of [socket:%s]",
                                             Q(c->control), s->name);
                                else
                                        fail(p, pl, "path: '%s' is the control socket's (by default control = "
                                             "control.sock: set control = to another path, or none)", Q(s->path));
                                dup = true;
                        }
                        if (!dup)
                                check_dir(p, "path", pl, s->path);
                        if (s->path[0] == '@') {
                                /* An abstract socket has no inode, so nothing to give a mode or an owner. */
                                static const enum skey file_keys[] = { S_MODE, S_OWNER, S_GROUP };

                                for (size_t j = 0; j < 3; j++)
                                        if (st->keys[file_keys[j]].line && !st->keys[file_keys[j]].bad)
                                                fail(p, st->keys[file_keys[j]].line,
                                                     "%s: an abstract socket has no file to give it to "
                                                     "(use allow-users or allow-groups)",
                                                     socket_keys[file_keys[j]].name);
                        }
                }

                if (!st->keys[S_WORKER].line) {
                        fail(p, s->line, "missing 'worker =' in [socket:%s]", s->name);
                        continue;
                }
                if (!st->worker)
                        continue;
                w = find_worker(p, st->worker);
                if (w < 0) {
                        fail(p, st->keys[S_WORKER].line, "worker: there is no [worker:%s]", st->worker);
                        continue;
                }
                s->worker = &c->workers[w];
                p->ws[w].used = true;
                if (s->type == SOCK_DGRAM && !st->keys[S_TYPE].bad) {
                        if (st->keys[S_BACKLOG].line && !st->keys[S_BACKLOG].bad)
                                fail(p, st->keys[S_BACKLOG].line,
                                     "backlog: a datagram socket has no queue of connections");
                        if (s->worker->dispatch != DISPATCH_LISTENER && !p->ws[w].keys[W_DISPATCH].bad)
                                fail(p, st->keys[S_TYPE].line,
                                     "type: a datagram socket has no connections to hand over: [worker:%s] "
                                     "has dispatch = %s, a datagram socket needs dispatch = listener",
                                     s->worker->name, config_dispatch_name(s->worker->dispatch));
                }
                if (s->worker->dispatch == DISPATCH_LISTENER && !p->ws[w].keys[W_DISPATCH].bad) {
                        /* The listener worker accepts: the daemon never sees these connections. */
                        static const enum skey accept_keys[] = { S_ALLOW_USERS, S_ALLOW_GROUPS, S_RATE_LIMIT };

                        for (size_t j = 0; j < 3; j++)
                                if (st->keys[accept_keys[j]].line && !st->keys[accept_keys[j]].bad)
                                        fail(p, st->keys[accept_keys[j]].line,
                                             "%s: has no effect with [worker:%s], whose dispatch = listener "
                                             "accepts connections itself", socket_keys[accept_keys[j]].name,
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
                static const enum wkey pool_only[] = { W_MAX_CONCURRENT, W_IDLE_TIMEOUT, W_MAX_CONNECTIONS };

                for (size_t i = 0; i < 3 && w->dispatch != DISPATCH_POOL; i++)
                        if (k[pool_only[i]].line && !k[pool_only[i]].bad)
                                fail(p, k[pool_only[i]].line, "%s: only for dispatch = pool",
                                     worker_keys[pool_only[i]].name);
                if (w->dispatch != DISPATCH_POOL && st->instances_range && !k[W_INSTANCES].bad)
                        fail(p, k[W_INSTANCES].line, "instances: a range MIN-MAX is only for dispatch = pool");
                if (w->dispatch == DISPATCH_POOL && !st->instances_range && k[W_IDLE_TIMEOUT].line &&
                    !k[W_IDLE_TIMEOUT].bad && !k[W_INSTANCES].bad)
                        fail(p, k[W_IDLE_TIMEOUT].line,
                             "idle-timeout: has no effect on a pool of a fixed size: give instances = MIN-MAX");
                if (w->dispatch == DISPATCH_LISTENER && k[W_RUNTIME_MAX].line && !k[W_RUNTIME_MAX].bad)
                        fail(p, k[W_RUNTIME_MAX].line, "runtime-max: only for dispatch = spawn or pool");
                for (size_t i = 0; i < 3 && w->dispatch == DISPATCH_SPAWN; i++)
                        if (k[not_spawn[i]].line && !k[not_spawn[i]].bad)
                                fail(p, k[not_spawn[i]].line, "%s: only for dispatch = pool or listener",
                                     worker_keys[not_spawn[i]].name);
                if (w->dispatch == DISPATCH_LISTENER) {
                        if (k[W_INSTANCES].line && !k[W_INSTANCES].bad && w->instances > LISTENER_COPIES_MAX)
                                fail(p, k[W_INSTANCES].line,
                                     "instances: %u is more than %u, the most copies with dispatch = listener",
                                     w->instances, LISTENER_COPIES_MAX);
                        if (k[W_MAX_PER_USER].line && !k[W_MAX_PER_USER].bad)
                                fail(p, k[W_MAX_PER_USER].line,
                                     "max-per-user: has no effect with dispatch = listener");
                }
        }
        if (!k[W_INSTANCES].line)
                w->instances = w->dispatch == DISPATCH_SPAWN ? 64 : w->dispatch == DISPATCH_POOL ? 4 : 1;
        if (!st->instances_range)
                w->instances_min = w->instances;

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
                int r = p->res->group_list(p->res->userdata, w->user_name, w->gid, &w->groups, &w->n_groups);

                if (r == -ENOMEM)
                        p->oom = true;
                else if (r == -E2BIG)
                        fail(p, k[W_USER].line, "user: '%s' is in too many groups", Q(w->user_name));
                else if (r < 0)
                        fail(p, k[W_USER].line, "user: cannot look up the groups of '%s': %s", Q(w->user_name),
                             strerror(-r));
        }
}

static void finish(struct parser *p)
{
        struct config *c = p->c;

        struct seen *ctl = &p->gkeys[G_CONTROL], *ctl_group = &p->gkeys[G_CONTROL_GROUP];

        if (!p->gkeys[G_RUNTIME_DIRECTORY].line)
                c->runtime_directory = with_paths(p, paths_default_runtime_directory, NULL, 0, NULL);
        if (p->control_none && c->control_group_set)
                fail(p, ctl_group->line, "control-group: there is no control socket (control = none, line %u)",
                     ctl->line);
        else if (!p->control_none && !(ctl->line && ctl->bad)) {
                /* On by default: a long runtime-directory may leave no room for it. */
                unsigned line = ctl->line ? ctl->line : p->gkeys[G_RUNTIME_DIRECTORY].line;

                c->control = with_paths(p, NULL, "control", line, p->control ? p->control : "control.sock");
                if (!c->control)
                        ctl->bad = true;
                else
                        check_dir(p, "control", line, c->control);
        }
        finish_sockets(p);
        for (size_t i = 0; i < p->n_refs; i++) {
                int w = find_worker(p, p->refs[i]);

                if (w >= 0)
                        p->ws[w].used = true;
        }
        for (size_t i = 0; i < c->n_workers; i++)
                finish_worker(p, &c->workers[i], &p->ws[i]);
        if (c->n_sockets == 0)
                fail(p, 0, "no [socket:NAME] section: nothing to listen on");
}

static void report_stderr(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        if (line)
                fprintf(stderr, "%s:%u: %s\n", file, line, msg);
        else
                fprintf(stderr, "%s: %s\n", file, msg);
}

static int load_string(const char *name, const char *text, size_t len, size_t max,
                       const struct resolver *res, config_error_fn err, void *userdata, struct config **ret)
{
        /* each user, group, program and directory asked of the system once */
        struct resolve_memo *memo = resolve_memo_new(res);
        struct parser p = { .file = name, .buf = text, .len = len, .errors = DIAG_INIT(max) };
        int r;

        if (!err)
                err = report_stderr;
        p.c = calloc(1, sizeof(*p.c));
        if (!memo || !p.c || !(p.c->file = strdup(name))) {
                free(p.c);
                resolve_memo_free(memo);
                err(userdata, name, 0, "out of memory");
                return -ENOMEM;
        }
        p.res = resolve_memo_resolver(memo);
        p.c->log_level = LOG_INFO;
        p.c->stop_timeout_usec = 10 * USEC_PER_SEC;

        r = ini_parse_stream(reader, &p, handler, &p);
        if (r < 0)
                p.oom = true;
        else if (r > 0 && !diag_has_line(&p.errors, (unsigned)r))
                fail(&p, (unsigned)r, "syntax error");  /* a line inih refused but the reader passed */
        if (!p.oom)
                finish(&p);

        if (p.oom)
                r = -ENOMEM;
        else
                r = diag_count(&p.errors) ? -EINVAL : 0;
        diag_report(&p.errors, name, err, userdata);
        if (p.oom)
                err(userdata, name, 0, "out of memory");
        for (size_t i = 0; i < p.c->n_sockets; i++)
                free(p.ss[i].worker);
        free(p.ss);
        free(p.ws);
        strindex_free(&p.socket_names);
        strindex_free(&p.worker_names);
        strindex_free(&p.paths);
        resolve_memo_free(memo);
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
        return load_string(name, text, len, SIZE_MAX, &resolve_system, err, userdata, ret);
}

int config_load_string_with(const char *name, const char *text, size_t len, const struct resolver *res,
                            config_error_fn err, void *userdata, struct config **ret)
{
        return load_string(name, text, len, SIZE_MAX, res, err, userdata, ret);
}

int config_load_max(const char *file, size_t max, config_error_fn err, void *userdata,
                    struct config **ret)
{
        char *buf = NULL, *msg = NULL;
        size_t len = 0;
        int r;

        r = file_read_regular(file, &buf, &len);
        if (r < 0) {
                if (!err)
                        err = report_stderr;
                if (r == -EISDIR || r == -EBADFD)       /* only file_read_regular()'s own check gives these */
                        r = (msg = strdup("not a regular file")) ? r : -ENOMEM;
                else if (r == -EFBIG)
                        r = asprintf(&msg, "cannot read: file of %u MiB or more", FILE_READ_MAX >> 20) < 0 ? -ENOMEM : r;
                else if (asprintf(&msg, "cannot read: %s", strerror(-r)) < 0)
                        r = -ENOMEM;
                err(userdata, file, 0, msg ? msg : "out of memory");
                free(msg);
                return r;
        }
        r = load_string(file, buf, len, max, &resolve_system, err, userdata, ret);
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

const char *config_socket_type_name(int type)
{
        switch (type) {
        case SOCK_STREAM:
                return "stream";
        case SOCK_SEQPACKET:
                return "seqpacket";
        case SOCK_DGRAM:
                return "datagram";
        default:
                return "unknown";
        }
}

const char *config_dispatch_name(enum dispatch d)
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
