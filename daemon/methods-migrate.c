/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migrate: a container another tool runs (a Proxmox pct container) becomes an hl service.
 * In the pool: the definition is checked, the source stopped when asked (and only then),
 * its root file system copied into a new container made as a create makes one but from the
 * copy (marked hl-restoring from its first moment, so that a kill leaves nothing the next
 * start keeps), the source started again if anything failed after it was stopped. Then the
 * definition is applied as Apply does, and the Proxmox config's onboot turned off. The
 * source is read, never written, but for that one line. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "hl-def.h"
#include "hl-pct.h"
#include "log.h"
#include "methods.h"
#include "settings.h"
#include "work.h"

#define SOURCE_STOP_TIMEOUT_S 60

struct migrate_call {
        uv_work_t work;
        struct manager *m;
        struct request *req;
        json_t *definitions; /* [{name, text, file}] for the apply */
        char *name, *text, *file;
        char *lxcpath, *source_lxcpath, *container, *rootfs, *pve_config;
        bool stop, stopped;
        json_t *reply;
        char *onboot; /* what became of onboot, for the answer */
        int r;
        char *error;
        const char *error_name;
};

static void call_free(struct migrate_call *c) {
        json_decref(c->definitions);
        json_decref(c->reply);
        free(c->name);
        free(c->text);
        free(c->file);
        free(c->lxcpath);
        free(c->source_lxcpath);
        free(c->container);
        free(c->rootfs);
        free(c->pve_config);
        free(c->onboot);
        free(c->error);
        free(c);
}

static int fail(struct migrate_call *c, const char *error_name, int r, const char *fmt, ...) HL_PRINTF(4, 5);
static int fail(struct migrate_call *c, const char *error_name, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        free(c->error);
        c->error = hl_strdup_vprintf(fmt, ap);
        va_end(ap);
        c->error_name = error_name;
        return r;
}

static int copy_in(struct migrate_call *c) {
        _cleanup_(hl_def_freep) struct hl_def *def = NULL;
        _cleanup_free_ char *target = hl_strdup_printf("%s/%s", c->lxcpath, c->name), *dir = NULL, *why = NULL;
        struct ct_settings settings = {};
        struct hl_def_error bad = {};
        enum hl_ct_state state;
        struct stat st;
        char line[1024];
        int r;

        if (!target)
                return -ENOMEM;
        if (hl_def_parse(c->name, c->file, c->text, strlen(c->text), &def, &bad) < 0)
                return fail(c, HL_ERROR_INVALID_ARGUMENT, -EINVAL, "%s", hl_def_error_format(&bad, line, sizeof(line)));
        r = ct_template_check(def, &why);
        if (r < 0)
                return fail(c, HL_ERROR_INVALID_ARGUMENT, r, "%s: Template: %s", c->file, why ? why : strerror(-r));
        if (lstat(target, &st) == 0)
                return fail(c, HL_ERROR_SERVICE_EXISTS, -EEXIST, "%s exists already", target);
        r = ct_rootfs_dir(c->source_lxcpath, c->container, &dir, &state, &why);
        if (r < 0)
                return fail(c, HL_ERROR_INVALID_ARGUMENT, r, "%s", why ? why : strerror(-r));
        if (!c->rootfs && !dir)
                return fail(c, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                            "the root file system of %s is a storage volume, not a directory: mount it and give its "
                            "path with --rootfs", c->container);
        if (c->rootfs && (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode)))
                return fail(c, HL_ERROR_INVALID_ARGUMENT, -ENOTDIR, "--rootfs %s is not a directory", c->rootfs);
        if (!c->rootfs)
                c->rootfs = TAKE_PTR(dir);
        if (state != HL_CT_STOPPED) {
                free(why);
                why = NULL;
                if (!c->stop)
                        return fail(c, HL_ERROR_BUSY, -EBUSY,
                                    "%s is %s: its files are copied while it is stopped (--yes stops it cleanly)",
                                    c->container, hl_ct_state_to_string(state));
                r = ct_stop(c->source_lxcpath, c->container, SOURCE_STOP_TIMEOUT_S, &why);
                if (r < 0)
                        return fail(c, HL_ERROR_ACTION_FAILED, r, "could not stop %s: %s", c->container,
                                    why ? why : strerror(-r));
                c->stopped = true;
        }
        r = settings_for(def, &settings);
        if (r < 0)
                return r;
        free(why);
        why = NULL;
        r = ct_create_copy(c->lxcpath, def, &settings, c->rootfs, &why);
        settings_done(&settings);
        if (r < 0)
                return fail(c, HL_ERROR_ACTION_FAILED, r, "could not make %s from %s: %s", c->name, c->rootfs,
                            why ? why : strerror(-r));
        return 0;
}

/* Whatever failed after the source was stopped: it runs again, as it did. */
static void put_back(struct migrate_call *c) {
        _cleanup_free_ char *why = NULL;

        if (c->stopped && ct_start(c->source_lxcpath, c->container, &why) >= 0)
                c->stopped = false;
}

static void copy_work(uv_work_t *work) {
        struct migrate_call *c = (struct migrate_call *) work;

        c->r = copy_in(c);
        if (c->r < 0)
                put_back(c);
}

static void answer_error(struct migrate_call *c) {
        if (c->error_name)
                request_fail_parameter(c->req, c->error_name, "service", c->name, "%s",
                                       c->error ? c->error : strerror(-c->r));
        else
                request_fail(c->req, HL_ERROR_INTERNAL, "%s", c->error ? c->error : strerror(-c->r));
}

/* onboot: 0 in the Proxmox config: written beside it, synced, renamed (pmxcfs keeps the
 * rename atomic too). */
static void onboot_work(uv_work_t *work) {
        struct migrate_call *c = (struct migrate_call *) work;
        _cleanup_free_ char *text = NULL, *changed = NULL, *dir = NULL;
        const char *slash;
        int r;

        if (!c->pve_config) {
                c->onboot = strdup("no Proxmox config: nothing to turn off");
                return;
        }
        if (c->reply == NULL) {
                put_back(c);
                return;
        }
        r = hl_read_file(c->pve_config, HL_PCT_MAX_SIZE, &text, NULL);
        if (r == -ENOENT) {
                c->onboot = hl_strdup_printf("%s does not exist: nothing to turn off", c->pve_config);
                return;
        }
        slash = strrchr(c->pve_config, '/');
        if (r >= 0 && (!(changed = hl_pct_onboot_off(text)) ||
                       !(dir = strndup(c->pve_config, (size_t) (slash - c->pve_config)))))
                r = -ENOMEM;
        if (r >= 0)
                r = ct_write_file(dir, slash + 1, changed);
        c->onboot = r < 0 ? hl_strdup_printf("could not turn onboot off in %s: %s (pct set %s --onboot 0 does it)",
                                             c->pve_config, strerror(-r), c->container)
                          : hl_strdup_printf("onboot: 0 in %s", c->pve_config);
}

static void onboot_after(uv_work_t *work, int status) {
        struct migrate_call *c = (struct migrate_call *) work;

        if (c->reply) {
                json_object_set_new(c->reply, "onboot", json_string(c->onboot ? c->onboot : "unknown"));
                json_object_set_new(c->reply, "copied_from", json_string(c->rootfs));
                log_full(LOG_INFO, c->name, "migrate", 0, "migrated from %s in %s: %s", c->container, c->source_lxcpath,
                         c->onboot ? c->onboot : "");
                request_reply(c->req, TAKE_PTR(c->reply), false);
        }
        call_free(c);
}

/* The apply is done (reply NULL: it failed, and was answered). */
static void applied(void *userdata, struct request *req, json_t *reply) {
        struct migrate_call *c = userdata;

        c->reply = reply;
        if (work_queue(c->m->loop, &c->work, onboot_work, onboot_after) < 0) {
                if (reply)
                        request_reply(req, TAKE_PTR(c->reply), false);
                call_free(c);
        }
}

static void copy_after(uv_work_t *work, int status) {
        struct migrate_call *c = (struct migrate_call *) work;

        if (status < 0 && c->r >= 0)
                c->r = status;
        if (c->r < 0) {
                answer_error(c);
                call_free(c);
                return;
        }
        if (manager_find(c->m, c->name)) {
                request_fail(c->req, HL_ERROR_BUSY, "a service named %s was applied while it was migrated", c->name);
                call_free(c);
                return;
        }
        methods_apply_definitions_then(c->m, c->req, c->definitions, applied, c);
}

void methods_migrate(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                json_t *definition;
                const char *lxcpath, *container, *rootfs;
                bool stop;
        } a = {};
        static const struct hl_field table[] = {
                { "definition", HL_FIELD_OBJECT, offsetof(__typeof__(a), definition), true },
                { "lxcpath", HL_FIELD_STRING, offsetof(__typeof__(a), lxcpath), false },
                { "container", HL_FIELD_STRING, offsetof(__typeof__(a), container), true },
                { "rootfs", HL_FIELD_STRING, offsetof(__typeof__(a), rootfs), false },
                { "stop", HL_FIELD_BOOL, offsetof(__typeof__(a), stop), false },
                {},
        };
        const char *name, *text, *file = NULL;
        struct migrate_call *c;
        bool vmid;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (json_unpack(a.definition, "{s:s, s:s, s?s}", "name", &name, "text", &text, "file", &file) < 0) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "definition",
                                       "a definition is {name, text, file}");
                return;
        }
        if (!methods_check_name(req, "definition", name))
                return;
        if (manager_find(m, name)) {
                request_error(req, HL_ERROR_SERVICE_EXISTS,
                              json_pack("{s:s, s:s}", "name", name, "message", "a service of that name exists"));
                return;
        }
        /* A liblxc container name, never a path. */
        if (!a.container[0] || strlen(a.container) > 200 || a.container[0] == '.' ||
            strspn(a.container, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(a.container)) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "container",
                                       "\"%.80s\" is not a container name", a.container);
                return;
        }
        if ((a.lxcpath && a.lxcpath[0] != '/') || (a.rootfs && a.rootfs[0] != '/')) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", a.rootfs && a.rootfs[0] != '/' ? "rootfs" : "lxcpath",
                                       "not an absolute path");
                return;
        }
        if (a.lxcpath && strcmp(a.lxcpath, m->config.lxcpath) == 0) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "lxcpath",
                                       "%s is hld's own lxcpath: a container there is not migrated but adopted",
                                       a.lxcpath);
                return;
        }
        c = calloc(1, sizeof(*c));
        vmid = strspn(a.container, "0123456789") == strlen(a.container);
        if (!c || !(c->name = strdup(name)) || !(c->text = strdup(text)) ||
            !(c->file = strdup(file ? file : "migrated.conf")) || !(c->lxcpath = strdup(m->config.lxcpath)) ||
            !(c->source_lxcpath = strdup(a.lxcpath ? a.lxcpath : "/var/lib/lxc")) ||
            !(c->container = strdup(a.container)) || (a.rootfs && !(c->rootfs = strdup(a.rootfs))) ||
            /* A Proxmox container is named by its VMID, and configured in PVE_ROOT/lxc. */
            (vmid && !(c->pve_config = hl_strdup_printf("%s/lxc/%s.conf", m->config.pve_root, a.container))) ||
            !(c->definitions = json_pack("[{s:s, s:s, s:s}]", "name", name, "text", text, "file", c->file))) {
                if (c)
                        call_free(c);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        c->m = m;
        c->req = req;
        c->stop = a.stop;
        if (work_queue(m->loop, &c->work, copy_work, copy_after) < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
                call_free(c);
        }
}
