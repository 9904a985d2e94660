/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every config is read and checked before anything is written: one bad file, and no
 * definition is made (each of its errors reported, as apply reports a definition's). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call.h"
#include "hl-pct.h"
#include "hl-util.h"
#include "import.h"

static bool is_vmid(const char *s) {
        return s[0] && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 9;
}

/* DIR/NAME.conf, never over an existing file: written beside, synced, linked into place. */
static int write_definition(const char *dir, const char *name, const char *text, char **ret_path) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/%s.conf", dir, name);
        _cleanup_free_ char *tmp = hl_strdup_printf("%s/.%s.conf.tmp", dir, name);
        _cleanup_close_ int fd = -1, dfd = -1;
        size_t len = strlen(text);
        int r = 0;

        if (!path || !tmp)
                return -ENOMEM;
        (void) unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0)
                r = -errno ?: -EIO;
        if (r >= 0 && link(tmp, path) < 0)
                r = -errno;
        (void) unlink(tmp);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r >= 0 && (dfd < 0 || fsync(dfd) < 0))
                r = -errno;
        if (r >= 0)
                *ret_path = TAKE_PTR(path);
        return r;
}

/* One config read and mapped, its errors printed: 0, -EINVAL (said why), -ENOMEM. */
static int map_one(const char *config, const struct import_args *a, const char *arch, char **ret_file,
                   struct hl_pct **ret) {
        _cleanup_free_ char *text = NULL, *vmid = NULL;
        struct hl_pct_options o = { .template = a->template, .name = a->name, .arch = arch };
        struct hl_errors e = {};
        const char *base;
        size_t len;
        int r;

        *ret_file = is_vmid(config) ? hl_strdup_printf("%s/lxc/%s.conf", a->pve_root, config) : strdup(config);
        if (!*ret_file)
                return -ENOMEM;
        /* VMID.conf names its VMID, as Proxmox's files do. */
        base = strrchr(*ret_file, '/') ? strrchr(*ret_file, '/') + 1 : *ret_file;
        if (strlen(base) > 5 && strcmp(base + strlen(base) - 5, ".conf") == 0 &&
            (vmid = strndup(base, strlen(base) - 5)) && is_vmid(vmid))
                o.vmid = vmid;
        r = hl_read_file(*ret_file, HL_PCT_MAX_SIZE, &text, &len);
        if (r < 0) {
                log_error("%s: %s", *ret_file, r == -EFBIG ? "larger than pmxcfs holds" : strerror(-r));
                return -EINVAL;
        }
        r = hl_pct_import(*ret_file, text, len, &o, ret, &e);
        for (size_t k = 0; k < e.n; k++) {
                char line[1024];
                fprintf(stderr, "%s\n", hl_def_error_format(&e.items[k], line, sizeof(line)));
        }
        if (e.dropped)
                fprintf(stderr, "%s: %zu more errors\n", *ret_file, e.dropped);
        hl_errors_done(&e);
        if (r == -ENOMEM)
                log_error("%s", strerror(ENOMEM));
        return r;
}

/* What did not come along, as the compiler's notes. */
static void print_notes(const char *file, const struct hl_pct *p) {
        for (size_t k = 0; k < p->n_keys; k++)
                if (p->keys[k].fate != HL_PCT_MAPPED)
                        fprintf(stderr, "%s:%u: %s: %s: %s\n", file, p->keys[k].line, p->keys[k].key,
                                hl_pct_fate_to_string(p->keys[k].fate), p->keys[k].why);
        if (p->snapshots)
                fprintf(stderr, "%s: %u snapshot%s not imported\n", file, p->snapshots, p->snapshots == 1 ? "" : "s");
        if (p->pending)
                fprintf(stderr, "%s: pending changes ([pve:pending]) not applied: apply them in Proxmox first\n", file);
}

int import_pct_one(const char *config, const struct import_args *a, char **ret_name, char **ret_text, char **ret_file,
                   char **ret_container) {
        _cleanup_(hl_pct_freep) struct hl_pct *p = NULL;
        _cleanup_free_ char *file = NULL, *path = NULL;
        const char *base;
        int r = map_one(config, a, hl_pct_host_arch(), &file, &p);

        if (r < 0)
                return HLCTL_EXIT_FAILED;
        print_notes(file, p);
        if (a->to) {
                r = write_definition(a->to, p->name, p->definition, &path);
                if (r < 0) {
                        log_error("cannot write %s/%s.conf: %s", a->to, p->name, strerror(-r));
                        return HLCTL_EXIT_FAILED;
                }
                printf("%s: wrote %s\n", file, path);
        }
        base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        *ret_container = strndup(base, strlen(base) > 5 ? strlen(base) - 5 : strlen(base));
        *ret_name = strdup(p->name);
        *ret_text = strdup(p->definition);
        *ret_file = path ? TAKE_PTR(path) : TAKE_PTR(file);
        return *ret_container && *ret_name && *ret_text && *ret_file ? HLCTL_EXIT_OK : HLCTL_EXIT_FAILED;
}

int import_pct(char **configs, int n, const struct import_args *a) {
        struct hl_pct **done = calloc((size_t) n + 1, sizeof(*done));
        char **files = calloc((size_t) n + 1, sizeof(*files));
        const char *arch = hl_pct_host_arch();
        json_t *all = json_array();
        unsigned failed = 0;
        int rc = HLCTL_EXIT_OK;

        if (!done || !files || !all) {
                free(done);
                free(files);
                json_decref(all);
                log_error("%s", strerror(ENOMEM));
                return HLCTL_EXIT_FAILED;
        }
        for (int i = 0; i < n; i++) {
                int r = map_one(configs[i], a, arch, &files[i], &done[i]);
                if (r == -ENOMEM) {
                        rc = HLCTL_EXIT_FAILED;
                        break;
                }
                if (r < 0)
                        failed++;
        }
        /* Two configs that would make one service: neither is written. */
        for (int i = 0; !failed && rc == HLCTL_EXIT_OK && i < n; i++)
                for (int k = 0; k < i; k++)
                        if (done[i] && done[k] && strcmp(done[i]->name, done[k]->name) == 0) {
                                log_error("%s and %s both make service %s: import one of them with --name", files[k],
                                          files[i], done[i]->name);
                                failed++;
                        }
        /* A definition already there: none is written. */
        for (int i = 0; !failed && rc == HLCTL_EXIT_OK && a->to && i < n; i++) {
                _cleanup_free_ char *path = hl_strdup_printf("%s/%s.conf", a->to, done[i]->name);
                if (path && access(path, F_OK) == 0) {
                        log_error("%s: %s exists: remove it, or import %s with --name", files[i], path, files[i]);
                        failed++;
                }
        }
        if (failed || rc != HLCTL_EXIT_OK)
                rc = HLCTL_EXIT_FAILED;
        /* Proxmox's startup order among what is imported together. */
        if (rc == HLCTL_EXIT_OK && hl_pct_order(done, (size_t) n) < 0) {
                log_error("%s", strerror(ENOMEM));
                rc = HLCTL_EXIT_FAILED;
        }
        for (int i = 0; rc == HLCTL_EXIT_OK && i < n; i++) {
                struct hl_pct *p = done[i];
                _cleanup_free_ char *path = NULL;
                json_t *j = a->json ? hl_pct_to_json(p) : NULL;

                if (a->to) {
                        int r = write_definition(a->to, p->name, p->definition, &path);
                        if (r < 0) {
                                log_error("cannot write %s/%s.conf: %s%s", a->to, p->name, strerror(-r),
                                          r == -EEXIST ? " (remove it, or import with --name)" : "");
                                rc = HLCTL_EXIT_FAILED;
                                json_decref(j);
                                break;
                        }
                }
                if (j) {
                        json_object_set_new(j, "config", json_string(files[i]));
                        if (path)
                                json_object_set_new(j, "file", json_string(path));
                        json_array_append_new(all, j);
                        continue;
                }
                /* What it became, then what did not come along, as the compiler's notes. */
                if (path)
                        printf("%s: wrote %s\n", files[i], path);
                else
                        printf("%s%s", i > 0 ? "\n" : "", p->definition);
                fflush(stdout);
                print_notes(files[i], p);
        }
        if (a->json && rc == HLCTL_EXIT_OK) {
                char *dump = json_dumps(all, JSON_INDENT(2));
                if (dump)
                        printf("%s\n", dump);
                free(dump);
        }
        json_decref(all);
        for (int i = 0; i < n; i++) {
                hl_pct_free(done[i]);
                free(files[i]);
        }
        free(done);
        free(files);
        return rc;
}
