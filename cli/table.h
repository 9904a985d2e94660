/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A table for people: rows are buffered, then printed with every column as wide as its
 * widest cell. The last column is not padded. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hl-macro.h"

struct table;

struct table *table_new(size_t columns);
struct table *table_free(struct table *t);
HL_DEFINE_FREEP(struct table, table_free)

/* Right-aligns a column (numbers, durations). */
void table_align_right(struct table *t, size_t column);

/* Appends a row of exactly as many cells as the table has columns; a NULL or empty cell
 * is printed as "-". The cells are copied. */
int table_add(struct table *t, ...);

size_t table_rows(const struct table *t);

/* From now on states, verdicts and results are printed in colour (hlctl: only to a
 * terminal, and not with NO_COLOR set). Widths are the text's either way. */
void table_set_colour(bool on);

/* Prints every row, each line starting with indent (may be NULL). */
int table_print(const struct table *t, FILE *f, const char *indent);

/* For a stream, whose rows cannot wait for the widest cell: prints one row of columns
 * cells at once, each padded to width[i] (grown to fit it first) and right-aligned where
 * right[i] (may be NULL). Cells as in table_add. */
int table_print_row(FILE *f, size_t columns, const char *const *cells, size_t *width, const bool *right);
