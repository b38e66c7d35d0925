/* The base environment of a worker's processes: one list of reserved names
 * (config's), the daemon's environment, environment= and user=. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "env.h"

struct envv {
        char **v;
        size_t n, cap;
        bool oom;
};

static bool key_is(const char *entry, const char *key)
{
        size_t n = strlen(key);

        return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

static bool has_key(char *const *env, const char *entry)
{
        size_t n = strcspn(entry, "=");

        for (; env && *env; env++)
                if (strncmp(*env, entry, n) == 0 && (*env)[n] == '=')
                        return true;
        return false;
}

static bool reserved(const char *entry)
{
        return config_env_name_reserved(entry, strcspn(entry, "="));
}

static void push(struct envv *e, char *s)
{
        if (!s || e->oom) {
                e->oom = true;
                free(s);
                return;
        }
        if (e->n + 1 >= e->cap) {
                size_t cap = e->cap ? e->cap * 2 : 32;
                char **t = realloc(e->v, cap * sizeof(*t));
                if (!t) {
                        e->oom = true;
                        free(s);
                        return;
                }
                e->v = t;
                e->cap = cap;
        }
        e->v[e->n++] = s;
        e->v[e->n] = NULL;
}

static bool is_user_key(const char *entry)
{
        return key_is(entry, "USER") || key_is(entry, "LOGNAME") || key_is(entry, "HOME") ||
               key_is(entry, "SHELL");
}

char **env_build(char *const *from, char *const *config_env, const struct env_user *user, size_t *ret_n)
{
        struct envv e = { 0 };

        for (; from && *from; from++)
                if (!reserved(*from) && !has_key(config_env, *from) && !(user && is_user_key(*from)))
                        push(&e, strdup(*from));
        for (char *const *c = config_env; c && *c; c++)
                if (!reserved(*c))
                        push(&e, strdup(*c));
        if (user) {
                const char *k[] = { "USER", "LOGNAME", "HOME", "SHELL" };
                const char *v[] = { user->name, user->name, user->home, user->shell };
                for (size_t i = 0; i < 4; i++) {
                        char *s;
                        if (has_key(config_env, k[i]) || !v[i] || !*v[i])
                                continue;
                        push(&e, asprintf(&s, "%s=%s", k[i], v[i]) < 0 ? NULL : s);
                }
        }
        if (e.n == 0)
                push(&e, strdup(ENV_DEFAULT_PATH));
        if (e.oom) {
                env_free(e.v);
                return NULL;
        }
        *ret_n = e.n;
        return e.v;
}

void env_free(char **env)
{
        for (char **p = env; p && *p; p++)
                free(*p);
        free(env);
}
