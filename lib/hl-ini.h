/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reader of systemd-style INI files, for service definitions (hl-def.c) and hld.conf
 * alike: sections, KEY=VALUE lines, whole-line comments, a byte order mark, CR LF line ends;
 * no control character in a value, no NUL byte, valid UTF-8. It hands every section
 * header and key to a callback and goes on after an error, so that a file's errors are all
 * reported at once, as a compiler does. No I/O: callers pass the text. */

#include <stdbool.h>
#include <stddef.h>

#include "hl-macro.h"

/* Where a file is wrong: file:line: key: message. line 0 = the file as a whole. */
struct hl_def_error {
        char file[256];
        unsigned line;
        char key[64];
        char message[512];
};

/* Every error of one file, in the order found; at most HL_ERRORS_MAX are kept. */
#define HL_ERRORS_MAX 32
struct hl_errors {
        struct hl_def_error *items;
        size_t n;
        size_t dropped; /* errors found beyond HL_ERRORS_MAX */
};

void hl_errors_done(struct hl_errors *e);
/* Adds one; -EINVAL always (so that parsers can return it), -ENOMEM when out of memory. */
int hl_errors_add(struct hl_errors *e, const char *file, unsigned line, const char *key, const char *fmt, ...)
        HL_PRINTF(5, 6);

void hl_def_error_set(struct hl_def_error *e, const char *file, unsigned line, const char *key,
                      const char *fmt, ...) HL_PRINTF(5, 6);
/* "file:line: key: message" (parts that are empty are left out). */
const char *hl_def_error_format(const struct hl_def_error *e, char *buf, size_t size);

/* One line as the reader hands it on. For a section header key and value are NULL. */
struct hl_ini_line {
        const char *file;
        unsigned line;
        const char *section; /* NULL before the first header */
        const char *key;
        const char *value;
};

/* Returns < 0 to stop the whole read (-ENOMEM); an error of the line itself is added to
 * errors and the reader goes on. */
typedef int (*hl_ini_cb)(void *userdata, const struct hl_ini_line *line, struct hl_errors *errors);

/* Reads text (len bytes). Returns -EBADMSG when the file could not be read as lines at all
 * (too large, a NUL byte, not UTF-8), -EINVAL when errors holds any, -ENOMEM, or 0. */
int hl_ini_parse(const char *file, const char *text, size_t len, size_t max_size, size_t max_line, hl_ini_cb cb,
                 void *userdata, struct hl_errors *errors);
