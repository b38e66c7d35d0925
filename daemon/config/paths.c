/* Where the configuration's files go: the runtime directory by default,
 * socket paths (joined, within sun_path), and the directory each lives in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "paths.h"

/* An error at line; out of memory to keep it, p->oom. */
#define fail(p, line, ...) diag_add((p)->errors, &(p)->oom, (line), __VA_ARGS__)

static char *xstrdup(struct paths *p, const char *s)
{
        char *d = strdup(s);

        if (!d)
                p->oom = true;
        return d;
}

static char *path_make(struct paths *p, const char *dir, const char *rel)
{
        char *path = parse_path_join(dir, rel);

        if (!path)
                p->oom = true;
        return path;
}

char *paths_default_runtime_directory(struct paths *p)
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
char *paths_socket(struct paths *p, const char *key, unsigned line, const char *v)
{
        const char *rd = p->runtime_directory;
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

/* Whether dir is path or a directory above it ("/" is above every path). */
static bool dir_contains(const char *dir, const char *path)
{
        size_t n = strlen(dir);

        if (strcmp(dir, "/") == 0)
                return true;
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The directory of a socket file must be there when the file is read, unless
 * unixsockd makes it at start: the runtime directory and every directory
 * above it (mkdir -p), so that neither --check nor a start under systemd,
 * before RuntimeDirectory= exists or after, depends on it. A directory that
 * the checker may not look at (EACCES, EPERM: --check as another user) is
 * left to the daemon, which reports it when it makes the socket. */
void paths_check_directory(struct paths *p, const char *key, unsigned line, const char *path)
{
        const char *rd = p->runtime_directory, *slash = strrchr(path, '/');
        char *dir;
        int r;

        if (path[0] != '/' || !slash)
                return;         /* abstract */
        dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!dir) {
                p->oom = true;
                return;
        }
        if (rd && dir_contains(dir, rd)) {
                free(dir);
                return;
        }
        r = p->res->directory(p->res->userdata, dir);
        free(dir);
        if (r == 0 || r == -EACCES || r == -EPERM)
                return;
        if (r == -ENOMEM)
                p->oom = true;
        else
                fail(p, line, "%s: %s: %s%s", key, Q(path), strerror(-r),
                     r == -ENOENT ? " (of the directories of sockets, unixsockd creates only the runtime directory)"
                                  : "");
}

