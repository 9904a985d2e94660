/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage.cfg as PVE::SectionConfig reads it: a section begins with `TYPE: ID` at the start
 * of a line; its properties follow, indented, `KEY VALUE` (or a bare KEY, a flag); a blank
 * line ends it; `#` lines are comments. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hl-pve.h"
#include "hl-util.h"

/* Proxmox's storage id: [a-z][a-z0-9-_.]*[a-z0-9], case-insensitive. */
static bool storage_id_is_valid(const char *s, size_t n) {
        if (n < 2 || n > 64 || !isalpha((unsigned char) s[0]) || !isalnum((unsigned char) s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                        return false;
        return true;
}

static bool type_is_valid(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s))
                        return false;
        return true;
}

static void storage_done(struct hl_pve_storage *st) {
        free(st->type);
        free(st->id);
        free(st->path);
        hl_strv_free(st->content);
}

void hl_pve_storages_done(struct hl_pve_storages *s) {
        for (size_t i = 0; i < s->n; i++)
                storage_done(&s->items[i]);
        free(s->items);
        *s = (struct hl_pve_storages) {};
}

static int add_error(struct hl_errors *e, const char *file, unsigned line, const char *key, const char *message) {
        int r = hl_errors_add(e, file, line, key, "%s", message);
        return r == -ENOMEM ? r : 0;
}

static int set_property(struct hl_pve_storage *st, const char *key, const char *value, const char **ret_why) {
        if (strcmp(key, "path") == 0) {
                _cleanup_free_ char *norm = NULL;
                if (!value || value[0] != '/' || hl_path_normalize(value, &norm) < 0) {
                        *ret_why = "not an absolute path";
                        return -EINVAL;
                }
                free(st->path);
                st->path = TAKE_PTR(norm);
        } else if (strcmp(key, "content") == 0) {
                _cleanup_free_ char *copy = value ? strdup(value) : NULL;
                char *save = NULL;

                if (!value) {
                        *ret_why = "no value";
                        return -EINVAL;
                }
                if (!copy)
                        return -ENOMEM;
                st->content = hl_strv_free(st->content);
                for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
                        if (hl_strv_push(&st->content, w) < 0)
                                return -ENOMEM;
        } else if (strcmp(key, "disable") == 0)
                st->disabled = !value || strcmp(value, "0") != 0;
        /* Every other property (nodes, shared, prune-backups, …) is Proxmox's alone. */
        return 0;
}

int hl_pve_storage_parse(const char *file, const char *text, size_t len, struct hl_pve_storages *ret,
                         struct hl_errors *errors) {
        _cleanup_free_ char *copy = NULL;
        struct hl_pve_storages s = {};
        struct hl_pve_storage *current = NULL;
        size_t before = errors->n + errors->dropped;
        char *cursor, *line;
        unsigned number = 0;
        int r = 0;

        if (len > HL_PVE_STORAGE_MAX || memchr(text, 0, len))
                return hl_errors_add(errors, file, 0, "", len > HL_PVE_STORAGE_MAX ? "too large for pmxcfs" : "holds a NUL byte");
        copy = strndup(text, len);
        if (!copy)
                return -ENOMEM;
        cursor = copy;
        while (r >= 0 && (line = hl_next_line(&cursor))) {
                size_t n = strlen(line);

                number++;
                while (n > 0 && isspace((unsigned char) line[n - 1]))
                        line[--n] = 0;
                if (n == 0) {
                        current = NULL;
                        continue;
                }
                if (line[0] == '#')
                        continue;
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char) line[i] < 0x20 && line[i] != '\t') {
                                r = add_error(errors, file, number, "", "the line holds a control character");
                                goto next;
                        }
                if (!isspace((unsigned char) line[0])) {
                        /* TYPE: ID */
                        char *colon = strchr(line, ':'), *id;
                        struct hl_pve_storage *items;

                        current = NULL;
                        if (!colon) {
                                r = add_error(errors, file, number, "", "not a section header TYPE: ID");
                                continue;
                        }
                        *colon = 0;
                        id = colon + 1 + strspn(colon + 1, " \t");
                        if (!type_is_valid(line) || !storage_id_is_valid(id, strlen(id))) {
                                r = add_error(errors, file, number, line, "not a storage type and id (TYPE: ID)");
                                continue;
                        }
                        for (size_t i = 0; i < s.n; i++)
                                if (strcasecmp(s.items[i].id, id) == 0) {
                                        r = add_error(errors, file, number, line, "the storage id is given twice");
                                        goto next;
                                }
                        items = realloc(s.items, sizeof(*items) * (s.n + 1));
                        if (!items) {
                                r = -ENOMEM;
                                break;
                        }
                        s.items = items;
                        current = &s.items[s.n];
                        *current = (struct hl_pve_storage) { .type = strdup(line), .id = strdup(id) };
                        s.n++;
                        if (!current->type || !current->id)
                                r = -ENOMEM;
                        continue;
                }
                {
                        char *key = line + strspn(line, " \t"), *value = key + strcspn(key, " \t");
                        const char *why = NULL;

                        if (*value) {
                                *value++ = 0;
                                value += strspn(value, " \t");
                        }
                        if (!current) {
                                r = add_error(errors, file, number, key, "a property outside a storage section");
                                continue;
                        }
                        r = set_property(current, key, *value ? value : NULL, &why);
                        if (r == -EINVAL)
                                r = add_error(errors, file, number, key, why);
                }
        next:;
        }
        if (r >= 0 && errors->n + errors->dropped > before)
                r = -EINVAL;
        if (r < 0) {
                hl_pve_storages_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

bool hl_pve_is_template_volume(const char *value) {
        const char *colon = strchr(value, ':'), *file;

        if (!colon || !storage_id_is_valid(value, (size_t) (colon - value)) || strncmp(colon + 1, "vztmpl/", 7) != 0)
                return false;
        file = colon + 8;
        if (!*file || strchr(file, '/') || strcmp(file, ".") == 0 || strcmp(file, "..") == 0)
                return false;
        for (const char *c = file; *c; c++)
                if ((unsigned char) *c <= 0x20 || *c == 0x7f || *c == '\\')
                        return false;
        return true;
}

int hl_pve_template_path(const struct hl_pve_storages *s, const char *volume, char **ret_path, char **ret_error) {
        /* Storages whose volumes are files under their path. */
        static const char *const file_types[] = { "dir", "nfs", "cifs", "cephfs" };
        const char *colon = strchr(volume, ':');
        size_t n = colon ? (size_t) (colon - volume) : 0;
        bool file_type = false;
        const struct hl_pve_storage *st = NULL;

        if (!hl_pve_is_template_volume(volume))
                return hl_fail(ret_error, -EINVAL, "%s is not a container template volume (STORAGE:vztmpl/FILE)", volume);
        for (size_t i = 0; i < s->n; i++)
                if (strlen(s->items[i].id) == n && strncasecmp(s->items[i].id, volume, n) == 0)
                        st = &s->items[i];
        if (!st)
                return hl_fail(ret_error, -ENOENT, "no storage %.*s in storage.cfg", (int) n, volume);
        for (size_t i = 0; i < HL_ELEMENTSOF(file_types); i++)
                file_type = file_type || strcmp(st->type, file_types[i]) == 0;
        if (!file_type || !st->path)
                return hl_fail(ret_error, -EINVAL,
                               "storage %s is of type %s: hl reads templates from directory storages (dir, nfs, cifs, "
                               "cephfs) only", st->id, st->type);
        if (st->disabled)
                return hl_fail(ret_error, -EINVAL, "storage %s is disabled", st->id);
        if (st->content && !hl_strv_contains(st->content, "vztmpl"))
                return hl_fail(ret_error, -EINVAL, "storage %s does not hold container templates (content has no vztmpl)",
                               st->id);
        *ret_path = hl_strdup_printf("%s/template/cache/%s", st->path, colon + 8);
        return *ret_path ? 0 : -ENOMEM;
}
