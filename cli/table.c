/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct table {
        size_t columns;
        size_t rows;
        size_t allocated; /* rows */
        char **cells;     /* rows * columns */
        bool *right;      /* columns */
};

struct table *table_new(size_t columns) {
        struct table *t;

        if (columns == 0)
                return NULL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->columns = columns;
        t->right = calloc(columns, sizeof(bool));
        if (!t->right)
                return table_free(t);
        return t;
}

struct table *table_free(struct table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->rows * t->columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->right);
        free(t);
        return NULL;
}

void table_align_right(struct table *t, size_t column) {
        if (column < t->columns)
                t->right[column] = true;
}

size_t table_rows(const struct table *t) {
        return t->rows;
}

/* Cells are escaped so a reply cannot move the terminal's cursor or break the layout:
 * control characters become '?'. */
static char *cell_dup(const char *s) {
        char *c;

        if (!s || !*s)
                s = "-";
        c = strdup(s);
        if (!c)
                return NULL;
        for (char *p = c; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        return c;
}

int table_add(struct table *t, ...) {
        va_list ap;
        size_t base;

        if (t->rows == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 16;
                char **c = reallocarray(t->cells, n * t->columns, sizeof(char *));

                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated = n;
        }

        base = t->rows * t->columns;
        va_start(ap, t);
        for (size_t i = 0; i < t->columns; i++) {
                t->cells[base + i] = cell_dup(va_arg(ap, const char *));
                if (!t->cells[base + i]) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[base + j]);
                        va_end(ap);
                        return -ENOMEM;
                }
        }
        va_end(ap);
        t->rows++;
        return 0;
}

/* Width on a terminal, counted in UTF-8 code points: good enough for the names,
 * states and descriptions found here. */
static size_t text_width(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

static bool colour;

void table_set_colour(bool on) {
        colour = on;
}

/* A state, health or result by its first word: green what is well, yellow what waits or
 * is off, red what failed. Everything else as it is. */
static const char *colour_of(const char *cell) {
        static const struct {
                const char *word, *sgr;
        } words[] = {
                { "RUNNING", "32" }, { "HOST", "32" },      { "healthy", "32" },   { "ok", "32" },
                { "STOPPED", "33" }, { "STARTING", "33" },  { "STOPPING", "33" },  { "MISSING", "33" },
                { "FROZEN", "33" },  { "skipped", "33" },   { "held", "33" },      { "unknown", "33" },
                { "ABORTING", "31" }, { "unhealthy", "31" }, { "failed", "31" },  { "interrupted", "31" },
        };
        size_t n = strcspn(cell, " ,(");

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (strlen(words[i].word) == n && strncmp(cell, words[i].word, n) == 0)
                        return words[i].sgr;
        return NULL;
}

static void print_row(FILE *f, const char *indent, size_t columns, char *const *cells, const size_t *width,
                      const bool *right) {
        fputs(indent ?: "", f);
        for (size_t c = 0; c < columns; c++) {
                size_t pad = width[c] - text_width(cells[c]);
                bool last = c + 1 == columns, align_right = right && right[c];
                const char *sgr = colour ? colour_of(cells[c]) : NULL;

                if (align_right)
                        fprintf(f, "%*s", (int) pad, "");
                if (sgr)
                        fprintf(f, "\033[%sm%s\033[0m", sgr, cells[c]);
                else
                        fputs(cells[c], f);
                if (!last && !align_right)
                        fprintf(f, "%*s", (int) pad, "");
                fputs(last ? "\n" : "  ", f);
        }
}

int table_print(const struct table *t, FILE *f, const char *indent) {
        _cleanup_free_ size_t *width = calloc(t->columns, sizeof(size_t));

        if (!width)
                return -ENOMEM;
        for (size_t r = 0; r < t->rows; r++)
                for (size_t c = 0; c < t->columns; c++) {
                        size_t w = text_width(t->cells[r * t->columns + c]);
                        if (w > width[c])
                                width[c] = w;
                }

        for (size_t r = 0; r < t->rows; r++)
                print_row(f, indent, t->columns, t->cells + r * t->columns, width, t->right);
        return 0;
}

int table_print_row(FILE *f, size_t columns, const char *const *cells, size_t *width, const bool *right) {
        _cleanup_free_ char **row = calloc(columns, sizeof(char *));
        int r = 0;

        if (!row)
                return -ENOMEM;
        for (size_t c = 0; c < columns; c++) {
                row[c] = cell_dup(cells[c]);
                if (!row[c]) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (text_width(row[c]) > width[c])
                        width[c] = text_width(row[c]);
        }
        print_row(f, NULL, columns, row, width, right);
finish:
        for (size_t c = 0; c < columns; c++)
                free(row[c]);
        return r;
}
