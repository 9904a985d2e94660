/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hl-ini.h"

void hl_errors_done(struct hl_errors *e) {
        free(e->items);
        *e = (struct hl_errors) {};
}

void hl_def_error_set(struct hl_def_error *e, const char *file, unsigned line, const char *key, const char *fmt, ...) {
        va_list ap;

        snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
        e->line = line;
        snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
}

const char *hl_def_error_format(const struct hl_def_error *e, char *buf, size_t size) {
        char where[32] = "";

        if (e->line > 0)
                snprintf(where, sizeof(where), ":%u", e->line);
        snprintf(buf, size, "%s%s%s%s%s%s", e->file, where, e->file[0] ? ": " : "", e->key, e->key[0] ? ": " : "",
                 e->message);
        return buf;
}

int hl_errors_add(struct hl_errors *e, const char *file, unsigned line, const char *key, const char *fmt, ...) {
        struct hl_def_error *item;
        va_list ap;

        if (e->n >= HL_ERRORS_MAX) {
                e->dropped++;
                return -EINVAL;
        }
        if (!e->items && !(e->items = calloc(HL_ERRORS_MAX, sizeof(*e->items))))
                return -ENOMEM;
        item = &e->items[e->n++];
        hl_def_error_set(item, file, line, key, "%s", "");
        va_start(ap, fmt);
        vsnprintf(item->message, sizeof(item->message), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

static int read_line(struct hl_ini_line *l, char *line, char **section, hl_ini_cb cb, void *userdata,
                     struct hl_errors *errors) {
        char *eq, *key, *value;

        if (line[0] == '[') {
                size_t n = strlen(line);

                if (line[n - 1] != ']') {
                        hl_errors_add(errors, l->file, l->line, "", "section header \"%s\" has no closing ']'", line);
                        return 0;
                }
                line[n - 1] = 0;
                free(*section);
                *section = strdup(line + 1);
                if (!*section)
                        return -ENOMEM;
                l->section = *section;
                l->key = l->value = NULL;
                return cb(userdata, l, errors);
        }
        eq = strchr(line, '=');
        if (!eq) {
                hl_errors_add(errors, l->file, l->line, "", "\"%s\" is not KEY=VALUE, a [Section] or a comment", line);
                return 0;
        }
        *eq = 0;
        key = strip(line);
        value = strip(eq + 1);
        if (!*section) {
                hl_errors_add(errors, l->file, l->line, key, "key outside of a section");
                return 0;
        }
        /* A carriage return or any other control character inside a value could end a line
         * of a container's config further down: no key takes one. */
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f) {
                        hl_errors_add(errors, l->file, l->line, key,
                                      "the value holds the control character 0x%02x: values cannot hold control "
                                      "characters (tab, carriage return, escape …)",
                                      (unsigned) (unsigned char) *c);
                        return 0;
                }
        l->key = key;
        l->value = value;
        return cb(userdata, l, errors);
}

int hl_ini_parse(const char *file, const char *text, size_t len, size_t max_size, size_t max_line, hl_ini_cb cb,
                 void *userdata, struct hl_errors *errors) {
        _cleanup_free_ char *copy = NULL, *section = NULL;
        struct hl_ini_line l = { .file = file };
        const char *nul;
        json_t *utf8;
        char *line, *next;
        int r;

        if (len > max_size) {
                hl_errors_add(errors, file, 0, "", "file is larger than %zu bytes", max_size);
                return -EBADMSG;
        }
        /* A byte order mark is what some editors put first; systemd skips it too. */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
                text += 3;
                len -= 3;
        }
        nul = memchr(text, 0, len);
        if (nul) {
                unsigned n = 1;
                for (const char *c = text; c < nul; c++)
                        n += *c == '\n';
                hl_errors_add(errors, file, n, "", "file contains a NUL byte");
                return -EBADMSG;
        }
        utf8 = json_stringn(text, len);
        if (!utf8) {
                hl_errors_add(errors, file, 0, "", "file is not valid UTF-8");
                return -EBADMSG;
        }
        json_decref(utf8);
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, len);
        copy[len] = 0;
        for (line = copy; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                l.line++;
                if (strlen(line) > max_line) {
                        hl_errors_add(errors, file, l.line, "", "line is longer than %zu bytes", max_line);
                        continue;
                }
                line = strip(line);
                if (!*line || *line == '#' || *line == ';')
                        continue;
                l.section = section;
                r = read_line(&l, line, &section, cb, userdata, errors);
                if (r == -ENOMEM)
                        return r;
        }
        return errors->n > 0 ? -EINVAL : 0;
}
