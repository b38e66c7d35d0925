/* The error list of a configuration file (diag.h): unbounded files cost
 * bounded memory, and the report is sorted by line whatever the order the
 * parser found them in. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"

struct diag_entry {
        unsigned line;
        size_t seq;
        char *msg;
};

static int entry_cmp(const void *a, const void *b)
{
        const struct diag_entry *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* With a bound on what is reported, a file of millions of bad lines must not
 * cost a message each in memory: keep the first ones by line, count the rest. */
static void drop(struct diag *d)
{
        qsort(d->entries, d->n, sizeof(*d->entries), entry_cmp);
        for (size_t i = d->keep; i < d->n; i++) {
                if (!d->min_dropped_line || d->entries[i].line < d->min_dropped_line)
                        d->min_dropped_line = d->entries[i].line;
                free(d->entries[i].msg);
        }
        d->n_dropped += d->n - d->keep;
        d->n = d->keep;
}

int diag_addv(struct diag *d, unsigned line, const char *fmt, va_list ap)
{
        char *msg;

        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 16;
                struct diag_entry *e = reallocarray(d->entries, cap, sizeof(*e));

                if (!e)
                        return -ENOMEM;
                d->entries = e;
                d->cap = cap;
        }
        if (vasprintf(&msg, fmt, ap) < 0)
                return -ENOMEM;
        d->entries[d->n++] = (struct diag_entry){ line, d->seq++, msg };
        if (d->keep != SIZE_MAX && d->n >= 2 * d->keep + 16)
                drop(d);
        return 0;
}

void diag_add(struct diag *d, bool *oom, unsigned line, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (diag_addv(d, line, fmt, ap) < 0)
                *oom = true;
        va_end(ap);
}

bool diag_has_line(const struct diag *d, unsigned line)
{
        /* (an error past those kept may have been there: counted already) */
        if (d->n_dropped && line >= d->min_dropped_line)
                return true;
        for (size_t i = 0; i < d->n; i++)
                if (d->entries[i].line == line)
                        return true;
        return false;
}

size_t diag_count(const struct diag *d)
{
        return d->n + d->n_dropped;
}

void diag_report(struct diag *d, const char *file, diag_fn fn, void *userdata)
{
        size_t total = diag_count(d);

        if (d->n)
                qsort(d->entries, d->n, sizeof(*d->entries), entry_cmp);
        for (size_t i = 0; i < d->n && i < d->keep; i++)
                fn(userdata, file, d->entries[i].line, d->entries[i].msg);
        /* One report for the errors past keep, not keep lines and then some. */
        if (total > d->keep) {
                char msg[64];

                snprintf(msg, sizeof(msg), "%zu more error%s not shown", total - d->keep,
                         total - d->keep == 1 ? "" : "s");
                fn(userdata, file, 0, msg);
        }
        diag_done(d);
}

void diag_done(struct diag *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->entries[i].msg);
        free(d->entries);
        *d = DIAG_INIT(d->keep);
}
