/* The errors of one configuration file: collected with their lines, the first
 * ones by line kept and the rest counted, reported in line order at the end. */
#ifndef USD_DIAG_H
#define USD_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* As config_error_fn: line 0 for an error about the whole file. */
typedef void (*diag_fn)(void *userdata, const char *file, unsigned line, const char *msg);

struct diag_entry;

struct diag {
        struct diag_entry *entries;
        size_t n, cap;
        size_t keep;                    /* how many are reported: only the first ones */
        size_t n_dropped;               /* by line are kept, the rest counted */
        unsigned min_dropped_line;
        size_t seq;
};

/* A diag that reports the first keep errors (SIZE_MAX: all). */
#define DIAG_INIT(keep_) ((struct diag){ .keep = (keep_) })

/* One error at line. -ENOMEM when it could not be kept (then it is lost). */
int diag_addv(struct diag *d, unsigned line, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* diag_addv with its arguments; *oom set when the error could not be kept. */
void diag_add(struct diag *d, bool *oom, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Whether an error is at line (or might be, among those dropped). */
bool diag_has_line(const struct diag *d, unsigned line);

/* How many errors there were, dropped ones included. */
size_t diag_count(const struct diag *d);

/* Reports the kept errors in line order (in the order they came within a
 * line), then "N more errors not shown" if some were dropped; frees them. */
void diag_report(struct diag *d, const char *file, diag_fn fn, void *userdata);

/* Frees the errors without reporting them. */
void diag_done(struct diag *d);

#endif
