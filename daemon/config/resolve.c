/* The system resolver: users and groups through glibc's NSS, programs and
 * directories on the real file system; and the PATH search of a command, on
 * any resolver. */
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
