/* Aligned text tables: cells row by row, then widths, then printed. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct table {
        const char *const *headers;
        size_t n_columns;
        char **cells;
        size_t n_cells, allocated;
};

static void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n);
        if (!p)
                abort();
        return p;
}

struct table *table_new(const char *const headers[], size_t n_columns)
{
        struct table *t = xrealloc(NULL, sizeof(*t));

        *t = (struct table){ .headers = headers, .n_columns = n_columns };
        return t;
}

void table_cell(struct table *t, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (t->n_cells == t->allocated) {
                t->allocated = t->allocated ? 2 * t->allocated : 64;
                t->cells = xrealloc(t->cells, t->allocated * sizeof(*t->cells));
        }
        t->cells[t->n_cells++] = s;
}

/* Columns a string takes on a terminal: UTF-8 characters, not bytes. */
static size_t width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                w += ((unsigned char)*s & 0xc0) != 0x80;
        return w;
}

static const char *header(const struct table *t, size_t c)
{
        return t->headers[c] + (t->headers[c][0] == '>');
}

static void print_cell(const struct table *t, FILE *f, size_t c, const char *s, const size_t *w)
{
        size_t pad = w[c] - width(s);
        bool last = c + 1 == t->n_columns;

        if (c > 0)
                fputs("  ", f);
        if (t->headers[c][0] == '>')
                fprintf(f, "%*s%s", (int)pad, "", s);
        else if (last)
                fputs(s, f);
        else
                fprintf(f, "%s%*s", s, (int)pad, "");
        if (last)
                fputc('\n', f);
}

void table_print(const struct table *t, FILE *f)
{
        size_t *w = xrealloc(NULL, t->n_columns * sizeof(*w));

        if (t->n_cells == 0) {
                free(w);
                return;
        }
        for (size_t c = 0; c < t->n_columns; c++)
                w[c] = width(header(t, c));
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t cw = width(t->cells[i]);

                if (cw > w[i % t->n_columns])
                        w[i % t->n_columns] = cw;
        }
        for (size_t c = 0; c < t->n_columns; c++)
                print_cell(t, f, c, header(t, c), w);
        for (size_t i = 0; i < t->n_cells; i++)
                print_cell(t, f, i % t->n_columns, t->cells[i], w);
        /* a row left short ends its line */
        if (t->n_cells % t->n_columns)
                fputc('\n', f);
        free(w);
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}
