/* Aligned text tables for unixsockctl status: cells are filled row by row,
 * widths are measured, then the table is printed. */
#ifndef CTL_TABLE_H
#define CTL_TABLE_H

#include <stdio.h>

struct table;

/* A table with these column headers; a header starting with '>' is a column
 * of numbers, right-aligned (the '>' is not printed). Aborts when out of memory. */
struct table *table_new(const char *const headers[], size_t n_columns);
/* The next cell, printf-style; after the last column the next row begins. */
void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the headers and rows, two spaces between columns; the last column
 * is not padded. Nothing if no row was added. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
