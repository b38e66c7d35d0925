/* Names to indexes: a hash table with linear probing (strindex.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strindex.h"

/* FNV-1a: short keys, no adversary that a reload would not let in anyway. */
static size_t hash(const char *s)
{
        uint64_t h = 14695981039346656037u;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211u;
        }
        return (size_t)h;
}

/* The slot of key in keys[cap], or the empty one where it would go. */
static size_t slot(const char **keys, size_t cap, const char *key)
{
        size_t i = hash(key) & (cap - 1);

        while (keys[i] && strcmp(keys[i], key) != 0)
                i = (i + 1) & (cap - 1);
        return i;
}

static int grow(struct strindex *x)
{
        size_t cap = x->cap ? x->cap * 2 : 16;
        const char **keys = calloc(cap, sizeof(*keys));
        size_t *values = calloc(cap, sizeof(*values));

        if (!keys || !values) {
                free(keys);
                free(values);
                return -ENOMEM;
        }
        for (size_t i = 0; i < x->cap; i++)
                if (x->keys[i]) {
                        size_t j = slot(keys, cap, x->keys[i]);
                        keys[j] = x->keys[i];
                        values[j] = x->values[i];
                }
        free(x->keys);
        free(x->values);
        x->keys = keys;
        x->values = values;
        x->cap = cap;
        return 0;
}

int strindex_put(struct strindex *x, const char *key, size_t value, size_t *ret_value)
{
        size_t i;

        if (!key)
                return 1;
        /* at most half full: probes stay short */
        if (2 * (x->n + 1) > x->cap && grow(x) < 0)
                return -ENOMEM;
        i = slot(x->keys, x->cap, key);
        if (x->keys[i]) {
                if (ret_value)
                        *ret_value = x->values[i];
                return 0;
        }
        x->keys[i] = key;
        x->values[i] = value;
        x->n++;
        return 1;
}

bool strindex_get(const struct strindex *x, const char *key, size_t *ret_value)
{
        size_t i;

        if (!key || !x->cap)
                return false;
        i = slot(x->keys, x->cap, key);
        if (!x->keys[i])
                return false;
        if (ret_value)
                *ret_value = x->values[i];
        return true;
}

void strindex_free(struct strindex *x)
{
        free(x->keys);
        free(x->values);
        *x = (struct strindex){ 0 };
}
