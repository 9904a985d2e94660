/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "hl-ini.h"
#include "hl-protocol.h"
#include "hl-util.h"
#include "log.h"

void config_defaults(struct config *c) {
        *c = (struct config) {
                .jobs = 4,
                .reconcile_interval_ms = 60 * 1000,
                .stop_timeout_s = 10,
                .health_retention_ms = 30ULL * 24 * 3600 * 1000,
                .idle_timeout_ms = HL_IDLE_TIMEOUT_MS,
        };
}

void config_done(struct config *c) {
        free(c->state_dir);
        free(c->lxcpath);
        free(c->socket_path);
        free(c->readonly_socket_path);
        free(c->admin_group);
        free(c->metrics_file);
        free(c->pve_root);
        free(c->pve_lxcpath);
}

static int set_path(char **field, const char *value) {
        _cleanup_free_ char *norm = NULL;
        int r = hl_path_normalize(value, &norm);

        if (r < 0)
                return r;
        free(*field);
        *field = TAKE_PTR(norm);
        return 0;
}

static int set_read_only_socket(struct config *c, const char *value) {
        if (!*value) {
                free(c->readonly_socket_path);
                c->readonly_socket_path = strdup("");
                return c->readonly_socket_path ? 0 : -ENOMEM;
        }
        return set_path(&c->readonly_socket_path, value);
}

static int set_metrics_file(struct config *c, const char *value) {
        if (!*value) {
                free(c->metrics_file);
                c->metrics_file = NULL;
                return 0;
        }
        return set_path(&c->metrics_file, value);
}

static int set_idle_timeout(struct config *c, const char *value) {
        uint64_t v;

        if (hl_parse_duration_ms(value, &v) < 0 || v < 1000 || v > 3600 * 1000)
                return -EINVAL;
        c->idle_timeout_ms = v;
        return 0;
}

static int set_health_retention(struct config *c, const char *value) {
        return hl_parse_duration_ms(value, &c->health_retention_ms);
}

static int set_state_dir(struct config *c, const char *value) {
        return set_path(&c->state_dir, value);
}

static int set_lxcpath(struct config *c, const char *value) {
        return set_path(&c->lxcpath, value);
}

static int set_pve_root(struct config *c, const char *value) {
        return set_path(&c->pve_root, value);
}

static int set_pve_lxcpath(struct config *c, const char *value) {
        return set_path(&c->pve_lxcpath, value);
}

static int set_socket(struct config *c, const char *value) {
        return set_path(&c->socket_path, value);
}

static int set_admin_group(struct config *c, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(c->admin_group);
        c->admin_group = s;
        return 0;
}

static int set_jobs(struct config *c, const char *value) {
        uint64_t v;

        if (hl_parse_uint(value, 1, 64, &v) < 0)
                return -EINVAL;
        c->jobs = (unsigned) v;
        return 0;
}

static int set_reconcile_interval(struct config *c, const char *value) {
        return hl_parse_duration_ms(value, &c->reconcile_interval_ms);
}

static int set_stop_timeout(struct config *c, const char *value) {
        uint64_t v;

        if (hl_parse_duration_ms(value, &v) < 0)
                return -EINVAL;
        c->stop_timeout_s = (unsigned) (v / 1000);
        return 0;
}

#define PATH_REASON "must be an absolute path without \".\" or \"..\""

/* The keys of [Daemon], which the command line takes too: one line each, as the definition
 * parser's table (lib/hl-def.c). */
static const struct {
        const char *key;
        int (*set)(struct config *c, const char *value);
        const char *reason; /* what a value must be */
} keys[] = {
        { "StateDir", set_state_dir, PATH_REASON },
        { "LXCPath", set_lxcpath, PATH_REASON },
        { "Socket", set_socket, PATH_REASON },
        { "ReadOnlySocket", set_read_only_socket, PATH_REASON ", or empty for none" },
        { "AdminGroup", set_admin_group, "must be a group name" },
        { "Jobs", set_jobs, "must be a number from 1 to 64" },
        { "ReconcileInterval", set_reconcile_interval, "must be a duration such as 60s or 5m (0 turns it off)" },
        { "StopTimeout", set_stop_timeout, "must be a duration such as 10s" },
        { "MetricsFile", set_metrics_file, PATH_REASON },
        { "HealthRetention", set_health_retention, "must be a duration such as 30d (0 keeps everything)" },
        { "IdleTimeout", set_idle_timeout, "must be a duration from 1s to 1h" },
        { "PVERoot", set_pve_root, PATH_REASON },
        { "PVELXCPath", set_pve_lxcpath, PATH_REASON },
};

int config_set(struct config *c, const char *key, const char *value, const char **ret_reason) {
        for (size_t i = 0; i < HL_ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].key, key) == 0) {
                        int r = keys[i].set(c, value);
                        if (r < 0)
                                *ret_reason = r == -ENOMEM ? "out of memory" : keys[i].reason;
                        return r;
                }
        *ret_reason = "unknown key";
        return -EINVAL;
}

static int on_line(void *userdata, const struct hl_ini_line *l, struct hl_errors *errors) {
        struct config *c = userdata;
        const char *reason = "";
        int r;

        if (!l->key) {
                if (strcmp(l->section, "Daemon") != 0)
                        hl_errors_add(errors, l->file, l->line, "", "unknown section [%s]: use [Daemon]", l->section);
                return 0;
        }
        if (strcmp(l->section, "Daemon") != 0)
                return 0;
        r = config_set(c, l->key, l->value, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                hl_errors_add(errors, l->file, l->line, l->key, "%s", reason);
        return 0;
}

int config_load(struct config *c, const char *path, bool required) {
        _cleanup_(hl_errors_done) struct hl_errors errors = {};
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        /* Read whole, without stdio: SIGHUP reloads on the loop thread (ct.c says why). */
        r = hl_read_file(path, 1024 * 1024, &text, &len);
        if (r < 0) {
                if (r == -ENOENT && !required)
                        return 0;
                log_error("%s: %s", path, r == -EBADFD ? "not a regular file" : strerror(-r));
                return r;
        }
        r = hl_ini_parse(path, text, len, 1024 * 1024, 16 * 1024, on_line, c, &errors);
        for (size_t i = 0; i < errors.n; i++) {
                char message[1024];
                log_error("%s", hl_def_error_format(&errors.items[i], message, sizeof(message)));
        }
        return r;
}
