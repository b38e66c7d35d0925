/* The base environment of a worker's processes: one list of reserved names
 * (config's), the daemon's environment, environment= and user=. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "env.h"

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

static size_t count(char *const *v)
{
        size_t n = 0;

        for (; v && *v; v++)
                n++;
        return n;
}

static bool is_user_key(const char *entry)
{
        return key_is(entry, "USER") || key_is(entry, "LOGNAME") || key_is(entry, "HOME") ||
               key_is(entry, "SHELL");
}

char **env_build(char *const *from, char *const *config_env, const struct env_user *user, size_t *ret_n)
{
        const char **p = calloc(count(from) + count(config_env) + 5, sizeof(*p));
        char *user_text[4] = { NULL }, *text, **v = NULL;
        size_t n = 0, bytes = 0, k = 0;

        if (!p)
                return NULL;
        for (; from && *from; from++)
                if (!reserved(*from) && !has_key(config_env, *from) && !(user && is_user_key(*from)))
                        p[n++] = *from;
        for (char *const *c = config_env; c && *c; c++)
                if (!reserved(*c))
                        p[n++] = *c;
        if (user) {
                const char *key[] = { "USER", "LOGNAME", "HOME", "SHELL" };
                const char *val[] = { user->name, user->name, user->home, user->shell };
                for (size_t i = 0; i < 4; i++) {
                        if (has_key(config_env, key[i]) || !val[i] || !*val[i])
                                continue;
                        if (asprintf(&user_text[k], "%s=%s", key[i], val[i]) < 0) {
                                user_text[k] = NULL;
                                goto out;
                        }
                        p[n++] = user_text[k++];
                }
        }
        if (n == 0)
                p[n++] = ENV_DEFAULT_PATH;
        for (size_t i = 0; i < n; i++)
                bytes += strlen(p[i]) + 1;
        /* one block: the vector, then copies of the strings (a worker's
         * environment is one allocation, not one per variable) */
        v = malloc((n + 1) * sizeof(*v) + bytes);
        if (!v)
                goto out;
        text = (char *)(v + n + 1);
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(p[i]) + 1;
                memcpy(text, p[i], len);
                v[i] = text;
                text += len;
        }
        v[n] = NULL;
        *ret_n = n;
out:
        for (size_t i = 0; i < k; i++)
                free(user_text[i]);
        free(p);
        return v;
}

void env_free(char **env)
{
        free(env);
}
