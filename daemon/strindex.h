/* Names to indexes, for finding one of many at once: a section by its name,
 * a socket by its path, where a scan of the table for each would make a file
 * of a thousand sections cost a million comparisons. Pure. */
#ifndef USD_STRINDEX_H
#define USD_STRINDEX_H

#include <stdbool.h>
#include <stddef.h>

/* Open addressing, no removal. The keys are not copied: they must outlive the
 * index. Zero-initialised it is empty and valid. */
struct strindex {
        const char **keys;
        size_t *values;
        size_t cap, n;
};

/* Adds key -> value. 1 added; 0 key was there (*ret_value, if not NULL, is
 * the value it has, which stays); -ENOMEM. A NULL key (a name that could not
 * be allocated) is not added, and is no duplicate either: 1. */
int strindex_put(struct strindex *x, const char *key, size_t value, size_t *ret_value);
/* The value of key, in *ret_value: true if it is there. */
bool strindex_get(const struct strindex *x, const char *key, size_t *ret_value);
void strindex_free(struct strindex *x);

#endif
