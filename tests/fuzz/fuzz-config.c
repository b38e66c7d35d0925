/* libFuzzer target of the configuration parser: any bytes, as a file's text.
 * Beyond "no crash, no leak", it checks the parser's promise that the rest of
 * the daemon never re-checks a string: a config it accepts is complete and in
 * range, and a refused one was explained with at least one error.
 *
 * The user and group database is the harness's own (below): glibc's NSS reads
 * /etc/passwd and /etc/group at each look-up and, with nss-systemd, walks six
 * userdb directories and asks systemd-userdbd over varlink about every name
 * not found, which made most of an execution's time, and made what an input
 * does depend on the machine. PATH and RUNTIME_DIRECTORY are fixed for the
 * same reason. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config/config.h"
#include "config/parse.h"

#define SUN_PATH_MAX 107

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a fixed user database, in place of glibc's -------------------------- */

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t size, struct passwd **res);
int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **res);
int getgrnam_r(const char *name, struct group *gr, char *buf, size_t size, struct group **res);
int getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t size, struct group **res);
int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups);

static const struct {
        const char *name;
        uid_t uid;
        gid_t gid;
} users[] = {
        { "root", 0, 0 }, { "daemon", 1, 1 }, { "www-data", 33, 33 },
        { "alice", 1000, 1000 }, { "nobody", 65534, 65534 },
};

static const struct {
        const char *name;
        gid_t gid;
        const char *members;    /* "user user ..." */
} groups[] = {
        { "root", 0, "" }, { "daemon", 1, "" }, { "adm", 4, "alice" },
        { "www-data", 33, "alice" }, { "users", 100, "alice www-data" },
        { "alice", 1000, "" }, { "nogroup", 65534, "" },
};

static char *copy_str(char **p, char *end, const char *s)
{
        size_t n = strlen(s) + 1;
        char *r = *p;

        if ((size_t)(end - *p) < n)
                return NULL;
        memcpy(r, s, n);
        *p += n;
        return r;
}

/* Entries are written into buf as glibc does, ERANGE if it is short. */
static int fill_pw(size_t i, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
        char *p = buf, *end = buf + size;

        *res = NULL;
        pw->pw_uid = users[i].uid;
        pw->pw_gid = users[i].gid;
        if (!(pw->pw_name = copy_str(&p, end, users[i].name)) || !(pw->pw_passwd = copy_str(&p, end, "x")) ||
            !(pw->pw_gecos = copy_str(&p, end, "")) || !(pw->pw_dir = copy_str(&p, end, "/")) ||
            !(pw->pw_shell = copy_str(&p, end, "/usr/sbin/nologin")))
                return ERANGE;
        *res = pw;
        return 0;
}

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (strcmp(users[i].name, name) == 0)
                        return fill_pw(i, pw, buf, size, res);
        *res = NULL;
        return 0;
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (users[i].uid == uid)
                        return fill_pw(i, pw, buf, size, res);
        *res = NULL;
        return 0;
}

static int fill_gr(size_t i, struct group *gr, char *buf, size_t size, struct group **res)
{
        static char *no_members[] = { NULL };
        char *p = buf, *end = buf + size;

        *res = NULL;
        gr->gr_gid = groups[i].gid;
        gr->gr_mem = no_members;        /* the parser asks getgrouplist() */
        if (!(gr->gr_name = copy_str(&p, end, groups[i].name)) || !(gr->gr_passwd = copy_str(&p, end, "x")))
                return ERANGE;
        *res = gr;
        return 0;
}

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t size, struct group **res)
{
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                if (strcmp(groups[i].name, name) == 0)
                        return fill_gr(i, gr, buf, size, res);
        *res = NULL;
        return 0;
}

int getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t size, struct group **res)
{
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                if (groups[i].gid == gid)
                        return fill_gr(i, gr, buf, size, res);
        *res = NULL;
        return 0;
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

/* As glibc: group first, then every group listing user; -1 and the number
 * needed in *ngroups if it is short. */
int getgrouplist(const char *user, gid_t group, gid_t *list, int *ngroups)
{
        int n = 0;

        if (n < *ngroups)
                list[n] = group;
        n++;
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                if (groups[i].gid != group && is_member(groups[i].members, user)) {
                        if (n < *ngroups)
                                list[n] = groups[i].gid;
                        n++;
                }
        if (n > *ngroups) {
                *ngroups = n;
                return -1;
        }
        *ngroups = n;
        return n;
}

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
        }
        for (size_t i = 0; i < c->n_workers; i++) {
                const struct cfg_worker *w = &c->workers[i];

                check(parse_name_is_valid(w->name));
                check(w->argv && w->argv[0]);
                check(is_abs(w->exec_path));
                check(w->env);
                check(w->instances >= 1);
                check(w->dispatch != DISPATCH_LISTENER || w->instances == 1);
                check(w->restart_delay_usec > 0 && w->restart_delay_usec <= w->restart_delay_max_usec);
                check(!w->working_directory || is_abs(w->working_directory));
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        /* command = NAME is looked up in PATH: a short one, the same everywhere */
        setenv("PATH", "/usr/bin:/bin", 1);
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
        r = config_load_string("fuzz.conf", (const char *)data, size, count_error, &e, &c);
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
