/* Where the configuration's files go (paths.c): the default runtime
 * directory, socket paths, and the directories they need. Errors go to the
 * file's error list with their line. */
#ifndef USD_PATHS_H
#define USD_PATHS_H

#include <stdbool.h>

#include "diag.h"
#include "resolve.h"

#define SUN_PATH_MAX 107                /* bytes of sun_path, the NUL excluded */

struct paths {
        struct diag *errors;
        const struct resolver *res;
        const char *runtime_directory;  /* NULL: none (its error is reported) */
        bool oom;
};

/* $RUNTIME_DIRECTORY (its first path), else /run/unixsockd as root, else
 * $XDG_RUNTIME_DIR/unixsockd; NULL if none (reported). */
char *paths_default_runtime_directory(struct paths *p);
/* A file-system path that fits sun_path, or an abstract name; relative ones
 * joined to the runtime directory. NULL if it cannot be made (reported). */
char *paths_socket(struct paths *p, const char *key, unsigned line, const char *v);
/* Reports key's path at line if its directory is not there and unixsockd
 * does not make it. */
void paths_check_directory(struct paths *p, const char *key, unsigned line, const char *path);

#endif
