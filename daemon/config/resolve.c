/* The system resolver: users and groups through glibc's NSS, programs and
 * directories on the real file system; the PATH search of a command, on any
 * resolver; and a resolver that asks another once per question. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolve.h"
#include "strindex.h"

#define NSS_BUFFER_MAX (1u << 20)

/* One reentrant NSS call: key in, the entry written to ent (its strings into
 * buf) and *found set when there is one. Returns what glibc returns. */
typedef int nss_fn(const void *key, void *ent, char *buf, size_t size, bool *found);

/* Calls fn with a buffer that grows until the entry fits; on success the
 * entry's strings live in *ret_buf, which the caller frees. glibc answers "no
 * such entry" with 0 and no result, or, from some NSS modules, with one of
 * the errnos below (getpwnam_r(3)). */
static int nss_get(nss_fn *fn, const void *key, void *ent, char **ret_buf)
{
        for (size_t size = 1024;; size *= 2) {
                bool found = false;
                char *buf = malloc(size);
                int r;

                if (!buf)
                        return -ENOMEM;
                r = fn(key, ent, buf, size, &found);
                if (r == 0 && found) {
                        *ret_buf = buf;
                        return 0;
                }
                free(buf);
                if (r == ERANGE && size < NSS_BUFFER_MAX)
                        continue;
                if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
                        return -ENOENT;
                return -r;
        }
}

static int pw_by_name(const void *key, void *ent, char *buf, size_t size, bool *found)
{
        struct passwd *res = NULL;
        int r = getpwnam_r(key, ent, buf, size, &res);

        *found = res;
        return r;
}

static int pw_by_uid(const void *key, void *ent, char *buf, size_t size, bool *found)
{
        struct passwd *res = NULL;
        int r = getpwuid_r(*(const uid_t *)key, ent, buf, size, &res);

        *found = res;
        return r;
}

static int gr_by_name(const void *key, void *ent, char *buf, size_t size, bool *found)
{
        struct group *res = NULL;
        int r = getgrnam_r(key, ent, buf, size, &res);

        *found = res;
        return r;
}

static int system_user(nss_fn *fn, const void *key, struct resolve_user *ret)
{
        struct passwd pw;
        char *buf, *name;
        int r = nss_get(fn, key, &pw, &buf);

        if (r < 0)
                return r;
        name = strdup(pw.pw_name);
        free(buf);
        if (!name)
                return -ENOMEM;
        *ret = (struct resolve_user){ .uid = pw.pw_uid, .gid = pw.pw_gid, .name = name };
        return 0;
}

static int system_user_by_name(void *userdata, const char *name, struct resolve_user *ret)
{
        (void)userdata;
        return system_user(pw_by_name, name, ret);
}

static int system_user_by_uid(void *userdata, uid_t uid, struct resolve_user *ret)
{
        (void)userdata;
        return system_user(pw_by_uid, &uid, ret);
}

static int system_group_by_name(void *userdata, const char *name, gid_t *ret)
{
        struct group gr;
        char *buf;
        int r = nss_get(gr_by_name, name, &gr, &buf);

        (void)userdata;
        if (r < 0)
                return r;
        *ret = gr.gr_gid;
        free(buf);
        return 0;
}

static int system_group_list(void *userdata, const char *user, gid_t group, gid_t **ret, size_t *ret_n)
{
        gid_t *list = NULL;
        int n = 32;

        (void)userdata;
        for (;;) {
                gid_t *g = reallocarray(list, (size_t)n, sizeof(*g));
                int want = n;

                if (!g) {
                        free(list);
                        return -ENOMEM;
                }
                list = g;
                /* -1 when list is short, with the number needed in n (glibc). */
                if (getgrouplist(user, group, list, &n) >= 0)
                        break;
                if (n <= want)
                        n = want * 2;
                if (n > RESOLVE_GROUPS_MAX) {
                        free(list);
                        return -E2BIG;
                }
        }
        *ret = list;
        *ret_n = (size_t)n;
        return 0;
}

static int system_executable(void *userdata, const char *path)
{
        struct stat st;

        (void)userdata;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

static int system_directory(void *userdata, const char *path)
{
        struct stat st;

        (void)userdata;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

const struct resolver resolve_system = {
        .user_by_name = system_user_by_name,
        .user_by_uid = system_user_by_uid,
        .group_by_name = system_group_by_name,
        .group_list = system_group_list,
        .executable = system_executable,
        .directory = system_directory,
};

int resolve_program(const struct resolver *r, const char *name, const char *search_path, char **ret)
{
        char *path;
        int k;

        if (!*name || (strchr(name, '/') && name[0] != '/'))
                return -EINVAL;
        if (name[0] == '/') {
                k = r->executable(r->userdata, name);
                if (k < 0)
                        return k;
                path = strdup(name);
                if (!path)
                        return -ENOMEM;
                *ret = path;
                return 0;
        }
        for (const char *s = search_path; *s;) {
                const char *end = strchrnul(s, ':');

                if (*s == '/') {
                        if (asprintf(&path, "%.*s/%s", (int)(end - s), s, name) < 0)
                                return -ENOMEM;
                        if (r->executable(r->userdata, path) == 0) {
                                *ret = path;
                                return 0;
                        }
                        free(path);
                }
                s = *end ? end + 1 : end;
        }
        return -ENOENT;
}

/* ---- the answers of one load, kept ---------------------------------------- */

/* One question and its answer. The key is the question: a letter for the
 * kind, then what was asked. */
struct answer {
        char *key;
        int r;
        struct resolve_user user;       /* user_by_*: name owned here */
        gid_t gid;                      /* group_by_name */
        gid_t *groups;                  /* group_list */
        size_t n_groups;
};

struct resolve_memo {
        struct resolver res;            /* what the caller asks */
        const struct resolver *inner;
        struct strindex index;          /* key -> index into answers */
        struct answer *answers;
        size_t n, cap;
};

/* The slot of key: true if it holds an answer to give again. Else *ret is
 * the slot to write the inner resolver's answer to (a new one, key copied
 * in, or one whose last answer was "out of memory"), or NULL when there is no
 * memory for one: the answer is then not kept. */
static bool memo_find(struct resolve_memo *m, const char *key, struct answer **ret)
{
        size_t i;
        struct answer *a;

        *ret = NULL;
        if (strindex_get(&m->index, key, &i)) {
                *ret = &m->answers[i];
                return m->answers[i].r != -ENOMEM;
        }
        if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 16;
                struct answer *t = reallocarray(m->answers, cap, sizeof(*t));
                if (!t)
                        return false;
                m->answers = t;
                m->cap = cap;
        }
        a = &m->answers[m->n];
        *a = (struct answer){ .key = strdup(key), .r = -ENOMEM };
        if (!a->key || strindex_put(&m->index, a->key, m->n, NULL) < 0) {
                free(a->key);
                return false;
        }
        m->n++;
        *ret = a;
        return false;
}

/* user_by_name (uid NULL) or user_by_uid. */
static int memo_user(struct resolve_memo *m, const char *key, const char *name, const uid_t *uid,
                     struct resolve_user *ret)
{
        struct answer *a;
        char *copy;
        int r;

        if (!memo_find(m, key, &a)) {
                r = uid ? m->inner->user_by_uid(m->inner->userdata, *uid, ret)
                        : m->inner->user_by_name(m->inner->userdata, name, ret);
                if (a && (r != 0 || (copy = strdup(ret->name)))) {
                        a->r = r;
                        if (r == 0)
                                a->user = (struct resolve_user){ .uid = ret->uid, .gid = ret->gid, .name = copy };
                }
                return r;
        }
        if (a->r < 0)
                return a->r;
        copy = strdup(a->user.name);
        if (!copy)
                return -ENOMEM;
        *ret = (struct resolve_user){ .uid = a->user.uid, .gid = a->user.gid, .name = copy };
        return 0;
}

static int memo_user_by_name(void *userdata, const char *name, struct resolve_user *ret)
{
        char *key;
        int r;

        if (asprintf(&key, "u%s", name) < 0)
                return -ENOMEM;
        r = memo_user(userdata, key, name, NULL, ret);
        free(key);
        return r;
}

static int memo_user_by_uid(void *userdata, uid_t uid, struct resolve_user *ret)
{
        char key[32];

        snprintf(key, sizeof(key), "U%u", (unsigned)uid);
        return memo_user(userdata, key, NULL, &uid, ret);
}

static int memo_group_by_name(void *userdata, const char *name, gid_t *ret)
{
        struct resolve_memo *m = userdata;
        struct answer *a;
        bool known;
        char *key;
        int r;

        if (asprintf(&key, "g%s", name) < 0)
                return -ENOMEM;
        known = memo_find(m, key, &a);
        free(key);
        if (known) {
                if (a->r == 0)
                        *ret = a->gid;
                return a->r;
        }
        r = m->inner->group_by_name(m->inner->userdata, name, ret);
        if (a) {
                a->r = r;
                if (r == 0)
                        a->gid = *ret;
        }
        return r;
}

static int memo_group_list(void *userdata, const char *user, gid_t group, gid_t **ret, size_t *ret_n)
{
        struct resolve_memo *m = userdata;
        struct answer *a;
        gid_t *copy;
        bool known;
        char *key;
        int r;

        if (asprintf(&key, "l%u:%s", (unsigned)group, user) < 0)
                return -ENOMEM;
        known = memo_find(m, key, &a);
        free(key);
        if (known) {
                if (a->r < 0)
                        return a->r;
                copy = malloc(a->n_groups * sizeof(*copy));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, a->groups, a->n_groups * sizeof(*copy));
                *ret = copy;
                *ret_n = a->n_groups;
                return 0;
        }
        r = m->inner->group_list(m->inner->userdata, user, group, ret, ret_n);
        if (a && (r != 0 || (copy = malloc(*ret_n * sizeof(*copy))))) {
                a->r = r;
                if (r == 0) {
                        memcpy(copy, *ret, *ret_n * sizeof(*copy));
                        a->groups = copy;
                        a->n_groups = *ret_n;
                }
        }
        return r;
}

/* executable and directory: the same for a path asked twice. */
static int memo_path(struct resolve_memo *m, char kind, const char *path,
                     int (*fn)(void *userdata, const char *path))
{
        struct answer *a;
        bool known;
        char *key;
        int r;

        if (asprintf(&key, "%c%s", kind, path) < 0)
                return -ENOMEM;
        known = memo_find(m, key, &a);
        free(key);
        if (known)
                return a->r;
        r = fn(m->inner->userdata, path);
        if (a)
                a->r = r;
        return r;
}

static int memo_executable(void *userdata, const char *path)
{
        struct resolve_memo *m = userdata;

        return memo_path(m, 'x', path, m->inner->executable);
}

static int memo_directory(void *userdata, const char *path)
{
        struct resolve_memo *m = userdata;

        return memo_path(m, 'd', path, m->inner->directory);
}

struct resolve_memo *resolve_memo_new(const struct resolver *inner)
{
        struct resolve_memo *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->inner = inner;
        m->res = (struct resolver){
                .user_by_name = memo_user_by_name,
                .user_by_uid = memo_user_by_uid,
                .group_by_name = memo_group_by_name,
                .group_list = memo_group_list,
                .executable = memo_executable,
                .directory = memo_directory,
                .search_path = inner->search_path,
                .userdata = m,
        };
        return m;
}

const struct resolver *resolve_memo_resolver(const struct resolve_memo *m)
{
        return &m->res;
}

void resolve_memo_free(struct resolve_memo *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n; i++) {
                free(m->answers[i].key);
                free(m->answers[i].user.name);
                free(m->answers[i].groups);
        }
        free(m->answers);
        strindex_free(&m->index);
        free(m);
}
