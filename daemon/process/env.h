/* The environment of a worker's processes, built from the daemon's and the
 * config's. Pure: the caller gives the inputs. */
#ifndef USD_ENV_H
#define USD_ENV_H

#include <stddef.h>

/* What user= gives a process, as systemd gives a service: NULL members are
 * not set. */
struct env_user {
        const char *name;               /* USER and LOGNAME */
        const char *home;               /* HOME */
        const char *shell;              /* SHELL */
};

#define ENV_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The environment every process of a worker starts with: the daemon's own
 * (from) less the names unixsockd sets itself (config_env_name_reserved) and
 * less what the worker's environment= sets; then environment=; then USER,
 * LOGNAME, HOME and SHELL of user (if not NULL, and not set by environment=,
 * replacing the daemon's); PATH=ENV_DEFAULT_PATH if that leaves it empty.
 * NULL-terminated, *ret_n entries, copies; NULL if out of memory. One
 * allocation: the vector and its strings. */
char **env_build(char *const *from, char *const *config_env, const struct env_user *user, size_t *ret_n);
/* Frees what env_build() made; accepts NULL. */
void env_free(char **env);

#endif
