/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "hl-protocol.h"
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

static int set_key(struct config *c, const char *key, const char *value, const char **ret_reason) {
        uint64_t v;

        if (strcmp(key, "ReadOnlySocket") == 0) {
                *ret_reason = "must be an absolute path without \".\" or \"..\", or empty for none";
                if (!*value) {
                        free(c->readonly_socket_path);
                        c->readonly_socket_path = strdup("");
                        return c->readonly_socket_path ? 0 : -ENOMEM;
                }
                return set_path(&c->readonly_socket_path, value);
        }
        if (strcmp(key, "MetricsFile") == 0) {
                *ret_reason = "must be an absolute path without \".\" or \"..\"";
                if (!*value) {
                        free(c->metrics_file);
                        c->metrics_file = NULL;
                        return 0;
                }
                return set_path(&c->metrics_file, value);
        }
        if (strcmp(key, "IdleTimeout") == 0) {
                *ret_reason = "must be a duration from 1s to 1h";
                if (hl_parse_duration_ms(value, &v) < 0 || v < 1000 || v > 3600 * 1000)
                        return -EINVAL;
                c->idle_timeout_ms = v;
                return 0;
        }
        if (strcmp(key, "HealthRetention") == 0) {
                *ret_reason = "must be a duration such as 30d (0 keeps everything)";
                return hl_parse_duration_ms(value, &c->health_retention_ms);
        }
        if (strcmp(key, "StateDir") == 0 || strcmp(key, "LXCPath") == 0 || strcmp(key, "Socket") == 0) {
                char **field = key[0] == 'S' ? (key[1] == 't' ? &c->state_dir : &c->socket_path) : &c->lxcpath;
                *ret_reason = "must be an absolute path without \".\" or \"..\"";
                return set_path(field, value);
        }
        if (strcmp(key, "AdminGroup") == 0) {
                char *s = strdup(value);
                if (!s)
                        return -ENOMEM;
                free(c->admin_group);
                c->admin_group = s;
                return 0;
        }
        if (strcmp(key, "Jobs") == 0) {
                *ret_reason = "must be a number from 1 to 64";
                if (hl_parse_uint(value, 1, 64, &v) < 0)
                        return -EINVAL;
                c->jobs = (unsigned) v;
                return 0;
        }
        if (strcmp(key, "ReconcileInterval") == 0) {
                *ret_reason = "must be a duration such as 60s or 5m (0 turns it off)";
                return hl_parse_duration_ms(value, &c->reconcile_interval_ms);
        }
        if (strcmp(key, "StopTimeout") == 0) {
                *ret_reason = "must be a duration such as 10s";
                if (hl_parse_duration_ms(value, &v) < 0)
                        return -EINVAL;
                c->stop_timeout_s = (unsigned) (v / 1000);
                return 0;
        }
        *ret_reason = "unknown key";
        return -EINVAL;
}

int config_set(struct config *c, const char *key, const char *value, const char **ret_reason) {
        return set_key(c, key, value, ret_reason);
}

int config_load(struct config *c, const char *path, bool required) {
        _cleanup_free_ char *text = NULL;
        char *next;
        unsigned n = 0;
        bool in_daemon = false;
        int r;

        /* Read whole, without stdio: SIGHUP reloads on the loop thread (lxc.c says why). */
        r = hl_read_file(path, 1024 * 1024, &text, NULL);
        if (r < 0) {
                if (r == -ENOENT && !required)
                        return 0;
                log_error("%s: %s", path, strerror(-r));
                return r;
        }
        r = 0;
        for (char *line = text; line && r >= 0; line = next) {
                char *key = line, *eq, *value;
                const char *reason = "";

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                n++;
                key[strcspn(key, "\r")] = 0;
                while (isspace((unsigned char) *key))
                        key++;
                if (!*key || *key == '#' || *key == ';')
                        continue;
                if (*key == '[') {
                        in_daemon = strcmp(key, "[Daemon]") == 0;
                        if (!in_daemon) {
                                log_error("%s:%u: unknown section %s: use [Daemon]", path, n, key);
                                r = -EINVAL;
                        }
                        continue;
                }
                eq = strchr(key, '=');
                if (!eq || !in_daemon) {
                        log_error("%s:%u: expected KEY=VALUE in [Daemon]", path, n);
                        r = -EINVAL;
                        break;
                }
                *eq = 0;
                value = eq + 1;
                for (char *e = eq; e > key && isspace((unsigned char) e[-1]); e--)
                        e[-1] = 0;
                while (isspace((unsigned char) *value))
                        value++;
                for (char *e = value + strlen(value); e > value && isspace((unsigned char) e[-1]); e--)
                        e[-1] = 0;
                r = set_key(c, key, value, &reason);
                if (r < 0)
                        log_error("%s:%u: %s: %s", path, n, key, reason);
        }
        return r;
}
