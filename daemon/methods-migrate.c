/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migrate: a container another tool runs (a Proxmox pct container) becomes an hl service.
 * In the pool: the definition is checked, the source stopped when asked (and only then),
 * its root file system copied into a new container made as a create makes one but from the
 * copy (marked hl-restoring from its first moment, so that a kill leaves nothing the next
 * start keeps), the source started again if anything failed after it was stopped. Then the
 * definition is applied as Apply does, and the Proxmox config's onboot turned off. The
 * source is read, never written, but for that one line. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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
#include "request.h"
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
        bool root; /* the caller is root: the definition may have Lxc= lines */
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

/* A call's failure, for its answer: the error's name and a sentence. Both calls keep one. */
static int failed(char **error, const char **error_name, const char *name, int r, const char *fmt, ...) HL_PRINTF(5, 6);
static int failed(char **error, const char **error_name, const char *name, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        free(*error);
        *error = hl_strdup_vprintf(fmt, ap);
        va_end(ap);
        *error_name = name;
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
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL, "%s", hl_def_error_format(&bad, line, sizeof(line)));
        /* Apply's rule for raw lxc keys, before the source is stopped and copied. */
        if (def->n_lxc > 0 && !c->root)
                return failed(&c->error, &c->error_name, HL_ERROR_PERMISSION_DENIED, -EPERM,
                              "its definition has Lxc= lines (from the config's lxc.* keys): raw lxc keys are root's to "
                              "apply");
        r = ct_template_check(def, &why);
        if (r < 0)
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, r, "%s: Template: %s", c->file, why ? why : strerror(-r));
        if (lstat(target, &st) == 0)
                return failed(&c->error, &c->error_name, HL_ERROR_SERVICE_EXISTS, -EEXIST, "%s exists already", target);
        r = ct_rootfs_dir(c->source_lxcpath, c->container, &dir, &state, &why);
        if (r < 0)
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, r, "%s", why ? why : strerror(-r));
        if (!c->rootfs && !dir)
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                            "the root file system of %s is a storage volume, not a directory: mount it and give its "
                            "path with --rootfs", c->container);
        if (c->rootfs && (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode)))
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -ENOTDIR, "--rootfs %s is not a directory", c->rootfs);
        if (!c->rootfs)
                c->rootfs = TAKE_PTR(dir);
        if (state != HL_CT_STOPPED) {
                free(why);
                why = NULL;
                if (!c->stop)
                        return failed(&c->error, &c->error_name, HL_ERROR_BUSY, -EBUSY,
                                    "%s is %s: its files are copied while it is stopped (--yes stops it cleanly)",
                                    c->container, hl_ct_state_to_string(state));
                r = ct_stop(c->source_lxcpath, c->container, SOURCE_STOP_TIMEOUT_S, &why);
                if (r < 0)
                        return failed(&c->error, &c->error_name, HL_ERROR_ACTION_FAILED, r, "could not stop %s: %s", c->container,
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
                return failed(&c->error, &c->error_name, HL_ERROR_ACTION_FAILED, r, "could not make %s from %s: %s", c->name, c->rootfs,
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

        if (c->reply == NULL) {
                /* The apply failed: the source runs again as it did. */
                put_back(c);
                return;
        }
        if (!c->pve_config) {
                c->onboot = strdup("no Proxmox config: nothing to turn off");
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

static void undo_work(uv_work_t *work) {
        struct migrate_call *c = (struct migrate_call *) work;
        _cleanup_free_ char *why = NULL;

        (void) ct_destroy(c->lxcpath, c->name, &why);
        put_back(c);
}

static void undo_after(uv_work_t *work, int status) {
        call_free((struct migrate_call *) work);
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
                /* The copy goes, and the source runs again: done in the pool. */
                if (work_queue(c->m->loop, &c->work, undo_work, undo_after) < 0)
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
        {
                _cleanup_free_ char *source = NULL;
                if (hl_path_normalize(a.lxcpath ? a.lxcpath : "/var/lib/lxc", &source) < 0 ||
                    strcmp(source, m->config.lxcpath) == 0) {
                        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "lxcpath",
                                               "%s is hld's own lxcpath: a container there is not migrated but adopted",
                                               a.lxcpath ? a.lxcpath : "/var/lib/lxc");
                        return;
                }
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
        c->root = request_peer(req)->uid == 0;
        if (work_queue(m->loop, &c->work, copy_work, copy_after) < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
                call_free(c);
        }
}

/* --- Adopt ---------------------------------------------------------------------------- */

/* Adopt: a container another tool made in hld's own lxcpath becomes a service without a
 * restart. Its definition is derived from its live config (Template=adopted: it cannot be
 * made again); hld's files are written as that definition would have them (hl-adopting
 * first), so that the apply that stores revision 1 finds nothing to do, and what it would
 * still change is said. */

struct adopt_call {
        uv_work_t work;
        struct manager *m;
        struct request *req;
        char *name, *lxcpath, *text;
        /* --lxcpath: where it is, moved into hld's lxcpath (stopped first with stop, and
         * started again by the apply); NULL for one already in hld's lxcpath. */
        char *from;
        bool stop, was_running, moved;
        json_t *definitions;
        json_t *differences; /* what the first plan changes after all: ["memory 64M -> …"] */
        bool marked;
        int r;
        char *error;
        const char *error_name;
};

static void adopt_free(struct adopt_call *c) {
        free(c->from);
        free(c->name);
        free(c->lxcpath);
        free(c->text);
        json_decref(c->definitions);
        json_decref(c->differences);
        free(c->error);
        free(c);
}

#define ADOPT_MAX_NETS 8
#define NET_KEYS(X) X("type") X("link") X("name") X("hwaddr") X("ipv4.address") X("ipv4.gateway") X("ipv6.address") \
        X("ipv6.gateway") X("mtu") X("veth.vlan.id")

/* hl's own Mount= entries ("SOURCE TARGET none bind,create=dir[,ro] 0 0") become Mount=;
 * other entries (the template's) stay the container's. */
static void derive_mounts(struct hl_text *t, const char *entries) {
        _cleanup_free_ char *copy = strdup(entries);
        char *save = NULL;

        for (char *e = copy ? strtok_r(copy, "\n", &save) : NULL; e; e = strtok_r(NULL, "\n", &save)) {
                char source[4096], target[4096], fstype[64], options[256];
                int rest = 0;

                if (sscanf(e, "%4095s %4095s %63s %255s 0 0%n", source, target, fstype, options, &rest) != 4 || !rest ||
                    e[rest] || source[0] != '/' || target[0] == '/' || strcmp(fstype, "none") != 0)
                        continue;
                if (strcmp(options, "bind,create=dir") == 0)
                        hl_text_add(t, "Mount=%s:/%s\n", source, target);
                else if (strcmp(options, "bind,create=dir,ro") == 0)
                        hl_text_add(t, "Mount=%s:/%s:ro\n", source, target);
        }
}

static int derive(struct adopt_call *c, char **ret_text) {
        static const char *const net_keys[] = {
#define NAME(k) k,
                NET_KEYS(NAME)
#undef NAME
        };
        bool v2 = settings_cgroup_v2();
        const char *base[] = { "lxc.uts.name", "lxc.idmap", "lxc.environment", "lxc.mount.entry",
                               "lxc.apparmor.allow_nesting",
                               v2 ? "lxc.cgroup2.memory.max" : "lxc.cgroup.memory.limit_in_bytes",
                               v2 ? "lxc.cgroup2.memory.swap.max" : "lxc.cgroup.memory.memsw.limit_in_bytes",
                               v2 ? "lxc.cgroup2.cpu.max" : "lxc.cgroup.cpu.cfs_quota_us" };
        _cleanup_(hl_strv_freep) char **keys = NULL, **v = NULL;
        struct hl_text t = {};
        uint64_t memory = 0, swap = 0, quota = 0;
        enum hl_ct_state state;
        _cleanup_free_ char *dir = NULL, *why = NULL;
        int r;

        for (size_t i = 0; i < HL_ELEMENTSOF(base); i++)
                if (hl_strv_push(&keys, base[i]) < 0)
                        return -ENOMEM;
        for (size_t n = 0; n < ADOPT_MAX_NETS; n++)
                for (size_t k = 0; k < HL_ELEMENTSOF(net_keys); k++) {
                        char key[64];
                        snprintf(key, sizeof(key), "lxc.net.%zu.%s", n, net_keys[k]);
                        if (hl_strv_push(&keys, key) < 0)
                                return -ENOMEM;
                }
        r = ct_config_values(c->lxcpath, c->name, keys, &v);
        if (r == -ENOENT)
                return failed(&c->error, &c->error_name, HL_ERROR_NO_SUCH_SERVICE, r, "there is no container %s in %s", c->name, c->lxcpath);
        if (r < 0)
                return r;
        r = ct_rootfs_dir(c->lxcpath, c->name, &dir, &state, &why);
        if (r < 0)
                return failed(&c->error, &c->error_name, HL_ERROR_ACTION_FAILED, r, "%s", why ? why : strerror(-r));

        hl_text_add(&t, "# Adopted by hlctl adopt from the container's live config.\n[Service]\n"
                        "Description=Adopted from LXC\nState=%s\n\n[Container]\nTemplate=adopted\n",
                    state == HL_CT_STOPPED && !c->was_running ? "stopped" : "running");
        if (v[0][0] && strcmp(v[0], c->name) != 0)
                hl_text_add(&t, "Hostname=%s\n", v[0]);
        /* hl's own id map only: another one is a different container hl would not make. */
        if (v[1][0]) {
                if (strcmp(v[1], "u 0 100000 65536\ng 0 100000 65536") != 0) {
                        free(hl_text_take(&t));
                        return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                                          "%s maps its ids otherwise than hl does (u/g 0 100000 65536): not adopted", c->name);
                }
                hl_text_add(&t, "Unprivileged=yes\n");
        }
        if (v[5][0] && hl_parse_uint(v[5], 1, UINT64_MAX, &memory) >= 0)
                hl_text_add(&t, "Memory=%" PRIu64 "\n", memory);
        if (memory && v[6][0] && hl_parse_uint(v[6], 0, UINT64_MAX, &swap) >= 0 && (v2 || swap >= memory))
                hl_text_add(&t, "Swap=%" PRIu64 "\n", v2 ? swap : swap - memory);
        if (v[7][0] && sscanf(v[7], "%" SCNu64, &quota) == 1 && quota >= CPU_PERIOD_US && quota % CPU_PERIOD_US == 0)
                hl_text_add(&t, "Cores=%" PRIu64 "\n", quota / CPU_PERIOD_US);
        if (v[4][0] && strcmp(v[4], "1") == 0)
                hl_text_add(&t, "Features=nesting\n");
        derive_mounts(&t, v[3]);
        {
                _cleanup_free_ char *env = strdup(v[2]);
                char *save = NULL;
                for (char *e = env ? strtok_r(env, "\n", &save) : NULL; e; e = strtok_r(NULL, "\n", &save))
                        hl_text_add(&t, "Environment=%s\n", e);
        }
        for (size_t n = 0; n < ADOPT_MAX_NETS; n++) {
                char *const *nv = v + HL_ELEMENTSOF(base) + n * HL_ELEMENTSOF(net_keys);
                bool plain = true;

                if (strcmp(nv[0], "veth") != 0 || !nv[1][0])
                        continue;
                /* Each value one word of a Network= option: nothing that would add another. */
                for (size_t k = 1; k < HL_ELEMENTSOF(net_keys); k++)
                        plain = plain && strcspn(nv[k], ",=\t") == strlen(nv[k]);
                if (!plain) {
                        free(hl_text_take(&t));
                        return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                                          "lxc.net.%zu holds a value no Network= option can say: not adopted", n);
                }
                hl_text_add(&t, "Network=name=%s,bridge=%s", nv[2][0] ? nv[2] : "eth0", nv[1]);
                if (nv[3][0])
                        hl_text_add(&t, ",hwaddr=%s", nv[3]);
                /* liblxc prints "ADDRESS/PREFIX BROADCAST": the address is what hl writes. */
                if (nv[4][0])
                        hl_text_add(&t, ",ip=%.*s", (int) strcspn(nv[4], " \n"), nv[4]);
                if (nv[5][0])
                        hl_text_add(&t, ",gw=%s", nv[5]);
                if (nv[6][0])
                        hl_text_add(&t, ",ip6=%.*s", (int) strcspn(nv[6], " \n"), nv[6]);
                if (nv[7][0])
                        hl_text_add(&t, ",gw6=%s", nv[7]);
                if (nv[8][0])
                        hl_text_add(&t, ",mtu=%s", nv[8]);
                if (nv[9][0] && strcmp(nv[9], "0") != 0)
                        hl_text_add(&t, ",tag=%s", nv[9]);
                hl_text_add(&t, "\n");
        }
        *ret_text = hl_text_take(&t);
        return *ret_text ? 0 : -ENOMEM;
}

static void adopt_in_place(struct adopt_call *c);

/* --lxcpath: the container stopped if it runs (with stop) and moved into hld's lxcpath. */
static int adopt_move_in(struct adopt_call *c) {
        _cleanup_free_ char *from = realpath(c->from, NULL), *own = realpath(c->lxcpath, NULL), *why = NULL;
        struct ct_settings none = {};
        struct ct_observed o = {};
        int r;

        if (from && own && strcmp(from, own) == 0)
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                              "%s is hld's own lxcpath: hlctl adopt %s, without --lxcpath", c->from, c->name);
        /* A move a kill interrupted: it is here already, and finished now, if it came from
         * where this call says (a later failure moves it back there). */
        {
                _cleanup_free_ char *marker = hl_strdup_printf("%s/%s/hl-moving", c->lxcpath, c->name);
                _cleanup_free_ char *origin = marker ? ct_read_small_file(marker) : NULL;
                _cleanup_free_ char *want = hl_strdup_printf("%s/%s", c->from, c->name);

                if (!marker || !origin || !want)
                        return -ENOMEM;
                if (*origin && strcmp(origin, want) != 0)
                        return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                                      "%s was being moved in from %s, not from %s: adopt it with that --lxcpath, or "
                                      "without one", c->name, origin, c->from);
        }
        r = ct_move_finish(c->lxcpath, c->name, &why);
        if (r < 0)
                return failed(&c->error, &c->error_name, HL_ERROR_ACTION_FAILED, r, "%s", why ? why : strerror(-r));
        if (r > 0) {
                c->moved = true;
                return 0;
        }
        r = ct_observe(c->from, c->name, &none, &o);
        if (r < 0 || !o.exists) {
                ct_observed_done(&o);
                return failed(&c->error, &c->error_name, HL_ERROR_NO_SUCH_SERVICE, r < 0 ? r : -ENOENT,
                              "there is no container %s in %s", c->name, c->from);
        }
        if (o.unsafe[0]) {
                r = failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EPERM, "not touched: %s", o.unsafe);
                ct_observed_done(&o);
                return r;
        }
        c->was_running = o.state != HL_CT_STOPPED;
        ct_observed_done(&o);
        if (c->was_running && !c->stop)
                return failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EBUSY,
                              "%s runs: moving it into hld's lxcpath stops it, and hld starts it again (--yes)", c->name);
        if (c->was_running && ct_stop(c->from, c->name, SOURCE_STOP_TIMEOUT_S, &why) < 0)
                return failed(&c->error, &c->error_name, HL_ERROR_ACTION_FAILED, -EIO, "cannot stop %s: %s", c->name,
                              why ? why : "liblxc failed");
        r = ct_move(c->from, c->name, c->lxcpath, &why);
        if (r < 0) {
                _cleanup_free_ char *ignored = NULL;
                if (c->was_running)
                        (void) ct_start(c->from, c->name, &ignored);
                return failed(&c->error, &c->error_name, r == -EEXIST ? HL_ERROR_SERVICE_EXISTS : HL_ERROR_ACTION_FAILED, r,
                              "%s", why ? why : strerror(-r));
        }
        c->moved = true;
        return 0;
}

/* A failure after the move: the container goes back where it was, as it was. */
static void adopt_move_back(struct adopt_call *c) {
        _cleanup_free_ char *why = NULL;

        if (ct_move(c->lxcpath, c->name, c->from, &why) < 0) {
                log_full(LOG_WARNING, c->name, "adopt", 0, "could not move it back to %s: %s; it stays in %s", c->from,
                         why ? why : "?", c->lxcpath);
                return;
        }
        c->moved = false;
        if (c->was_running && ct_start(c->from, c->name, &why) < 0)
                log_full(LOG_WARNING, c->name, "adopt", 0, "moved back to %s, and could not start it: %s", c->from,
                         why ? why : "?");
        /* The log of hld's own stop and start there is hld's, not the container's. */
        {
                _cleanup_free_ char *log = hl_strdup_printf("%s/%s/hl-lxc.log", c->from, c->name);
                if (log)
                        (void) unlink(log);
        }
}

static void adopt_work(uv_work_t *work) {
        struct adopt_call *c = (struct adopt_call *) work;

        c->r = c->from ? adopt_move_in(c) : ct_move_finish(c->lxcpath, c->name, &c->error);
        if (c->r >= 0)
                adopt_in_place(c);
        if (c->r < 0 && c->moved)
                adopt_move_back(c);
}

/* In hld's lxcpath: the definition derived, hld's files written, what would change said. */
static void adopt_in_place(struct adopt_call *c) {
        _cleanup_(hl_def_freep) struct hl_def *def = NULL;
        struct hl_def_error bad = {};
        struct ct_settings settings = {};
        struct ct_observed o = {};
        _cleanup_free_ char *origin = hl_strdup_printf("%s/%s/hl-origin", c->lxcpath, c->name);
        struct stat st;
        char line[1024];

        if (!origin) {
                c->r = -ENOMEM;
                return;
        }
        if (lstat(origin, &st) == 0) {
                c->r = failed(&c->error, &c->error_name, HL_ERROR_SERVICE_EXISTS, -EEXIST, "%s was made by hld: it is no one else's to adopt",
                                  c->name);
                return;
        }
        c->r = derive(c, &c->text);
        if (c->r < 0)
                return;
        if (hl_def_parse(c->name, "adopted", c->text, strlen(c->text), &def, &bad) < 0) {
                c->r = failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL, "its config does not make a definition hl reads: %s",
                                  hl_def_error_format(&bad, line, sizeof(line)));
                return;
        }
        c->r = settings_for(def, &settings);
        if (c->r >= 0)
                c->r = ct_adopt_mark(c->lxcpath, c->name, &settings);
        if (c->r >= 0) {
                c->marked = true;
                /* What the first plan will change after all, said rather than hidden. */
                if (ct_observe(c->lxcpath, c->name, &settings, &o) >= 0) {
                        c->differences = json_array();
                        for (size_t i = 0; c->differences && i < settings.n && i < o.n_values; i++)
                                if (strcmp(settings.items[i].value, o.values[i] ? o.values[i] : "") != 0) {
                                        _cleanup_free_ char *d = settings_describe(&settings.items[i], o.values[i]);
                                        if (d)
                                                json_array_append_new(c->differences, json_string(d));
                                }
                        ct_observed_done(&o);
                }
                /* Adopting is taking over as it is: a first plan that would change it (a
                 * restart, a network reset) is refused, and hld's files taken out again. */
                if (json_array_size(c->differences) > 0) {
                        _cleanup_free_ char *list = json_dumps(c->differences, JSON_COMPACT);
                        ct_adopt_undo(c->lxcpath, c->name);
                        c->marked = false;
                        c->r = failed(&c->error, &c->error_name, HL_ERROR_INVALID_ARGUMENT, -EINVAL,
                                          "hl would not leave %s as it is (%s): not adopted; write its definition and "
                                          "destroy and recreate it instead", c->name, list ? list : "");
                }
        } else if (c->r != -ENOMEM)
                c->r = failed(&c->error, &c->error_name, HL_ERROR_ACTION_FAILED, c->r, "cannot write hld's files into %s: %s", c->name,
                                  strerror(-c->r));
        settings_done(&settings);
}

/* After the apply failed (or was not tried): hld's files out, and back to where it came from. */
static void adopt_undo_work(uv_work_t *work) {
        struct adopt_call *c = (struct adopt_call *) work;

        ct_adopt_undo(c->lxcpath, c->name);
        if (c->moved)
                adopt_move_back(c);
}

static void adopt_undo_after(uv_work_t *work, int status) {
        adopt_free((struct adopt_call *) work);
}

/* No service came of it: hld's files out, and moved in, it goes back. A service of its
 * name applied meanwhile (a race) has it now: left alone. */
static void adopt_give_back(struct adopt_call *c) {
        if (manager_find(c->m, c->name)) {
                /* Its files are the service's business now, and its run's: left alone. */
                if (c->moved || c->marked)
                        log_full(LOG_WARNING, c->name, "adopt", 0, "a service of its name was applied meanwhile: the "
                                 "container stays in %s as it is", c->lxcpath);
                adopt_free(c);
                return;
        }
        if ((c->moved || c->marked) && work_queue(c->m->loop, &c->work, adopt_undo_work, adopt_undo_after) >= 0)
                return;
        adopt_free(c);
}

static void adopt_applied(void *userdata, struct request *req, json_t *reply) {
        struct adopt_call *c = userdata;

        if (reply) {
                json_object_set_new(reply, "definition", json_string(c->text));
                json_object_set_new(reply, "differences", c->differences ? json_incref(c->differences) : json_array());
                log_full(LOG_INFO, c->name, "adopt", 0, "adopted as revision 1 from its live config");
                request_reply(req, reply, false);
                adopt_free(c);
                return;
        }
        /* A failed apply stored nothing: in place, the container is the other tool's again
         * at the next start (hl-adopting); moved in, it goes back now. */
        adopt_give_back(c);
}

static void adopt_after(uv_work_t *work, int status) {
        struct adopt_call *c = (struct adopt_call *) work;

        if (status < 0 && c->r >= 0)
                c->r = status;
        if (c->r < 0) {
                if (c->error_name)
                        request_fail_parameter(c->req, c->error_name, "name", c->name, "%s",
                                               c->error ? c->error : strerror(-c->r));
                else
                        request_fail(c->req, HL_ERROR_INTERNAL, "%s", c->error ? c->error : strerror(-c->r));
                adopt_free(c);
                return;
        }
        c->definitions = json_pack("[{s:s, s:s, s:s}]", "name", c->name, "text", c->text, "file", "adopted");
        if (!c->definitions || manager_find(c->m, c->name)) {
                request_fail(c->req, HL_ERROR_BUSY, "a service named %s was applied while it was adopted", c->name);
                adopt_give_back(c);
                return;
        }
        methods_apply_definitions_then(c->m, c->req, c->definitions, adopt_applied, c);
}

void methods_adopt(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *name, *lxcpath;
                bool stop;
        } a = {};
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(__typeof__(a), name), true },
                { "lxcpath", HL_FIELD_STRING, offsetof(__typeof__(a), lxcpath), false },
                { "stop", HL_FIELD_BOOL, offsetof(__typeof__(a), stop), false },
                {},
        };
        _cleanup_free_ char *from = NULL;
        struct adopt_call *c;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (a.name[0] && strspn(a.name, "0123456789") == strlen(a.name)) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "name",
                                       "%.20s is a Proxmox VMID: pct rewrites that container's config at each start; "
                                       "hlctl import pct %.20s --migrate makes it an hl service", a.name, a.name);
                return;
        }
        if (!methods_check_name(req, "name", a.name))
                return;
        if (manager_find(m, a.name)) {
                request_error(req, HL_ERROR_SERVICE_EXISTS,
                              json_pack("{s:s, s:s}", "name", a.name, "message", "a service of that name exists"));
                return;
        }
        if (a.lxcpath && (a.lxcpath[0] != '/' || hl_path_normalize(a.lxcpath, &from) < 0)) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "lxcpath", "not an absolute path");
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c || !(c->name = strdup(a.name)) || !(c->lxcpath = strdup(m->config.lxcpath))) {
                if (c)
                        adopt_free(c);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        c->m = m;
        c->req = req;
        c->from = TAKE_PTR(from);
        c->stop = a.stop;
        if (work_queue(m->loop, &c->work, adopt_work, adopt_after) < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
                adopt_free(c);
        }
}
