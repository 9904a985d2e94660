/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What follows from a parsed definition: its canonical JSON and hash, and the order of
 * several by Requires= (with the cycle named when there is none). */
#include <errno.h>
#include <string.h>

#include "hl-def.h"

static json_t *strv_to_json(char *const *v, bool sorted) {
        json_t *a = json_array();
        size_t n = hl_strv_length(v);
        _cleanup_free_ const char **order = NULL;

        if (!a)
                return NULL;
        order = malloc(sizeof(char *) * (n + 1));
        if (!order) {
                json_decref(a);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                order[i] = v[i];
        for (size_t i = 1; sorted && i < n; i++)
                for (size_t j = i; j > 0 && strcmp(order[j - 1], order[j]) > 0; j--) {
                        const char *t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(order[i]));
        return a;
}

json_t *hl_def_to_json(const struct hl_def *d) {
        json_t *mounts = json_array(), *networks = json_array(), *checks = json_array();

        for (size_t i = 0; checks && i < d->health.n_checks; i++)
                json_array_append_new(checks, json_string(d->health.checks[i].text));

        for (size_t i = 0; mounts && i < d->n_mounts; i++)
                json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "source", d->mounts[i].source, "target",
                                                        d->mounts[i].target, "read_only", d->mounts[i].read_only));
        for (size_t i = 0; networks && i < d->n_networks; i++) {
                const struct hl_network *n = &d->networks[i];
                json_array_append_new(networks, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i}", "name", n->name, "bridge",
                                                          n->bridge, "ip", n->ip, "gw", n->gw, "hwaddr", n->hwaddr,
                                                          "mtu", (json_int_t) n->mtu));
        }
        return json_pack("{s:s, s:s, s:o, s:s, s:{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:o, s:o}, "
                         "s:{s:s, s:I, s:I, s:I, s:I}, s:{s:o, s:I, s:I, s:I, s:I}}",
                         "name", d->name,
                         "description", d->description ? d->description : "",
                         "requires", strv_to_json(d->requires, true),
                         "state", d->state == HL_DESIRED_RUNNING ? "running" : "stopped",
                         "container",
                         "template", d->template_name,
                         "hostname", d->hostname,
                         "cores", (json_int_t) d->cores,
                         "memory", (json_int_t) d->memory,
                         "swap", (json_int_t) d->swap,
                         "mounts", mounts,
                         "networks", networks,
                         "unprivileged", d->unprivileged,
                         "provision", strv_to_json(d->provision, false),
                         "environment", strv_to_json(d->environment, false),
                         "restart",
                         "policy", hl_restart_policy_to_string(d->restart.policy),
                         "restart_sec_ms", (json_int_t) d->restart.restart_sec_ms,
                         "restart_max_delay_ms", (json_int_t) d->restart.restart_max_delay_ms,
                         "start_limit_interval_ms", (json_int_t) d->restart.start_limit_interval_ms,
                         "start_limit_burst", (json_int_t) d->restart.start_limit_burst,
                         "health",
                         "checks", checks,
                         "interval_ms", (json_int_t) d->health.interval_ms,
                         "timeout_ms", (json_int_t) d->health.timeout_ms,
                         "retries", (json_int_t) d->health.retries,
                         "start_period_ms", (json_int_t) d->health.start_period_ms);
}

int hl_def_hash(const struct hl_def *d, char ret[65]) {
        json_t *j = hl_def_to_json(d);
        char *s;

        if (!j)
                return -ENOMEM;
        s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        json_decref(j);
        if (!s)
                return -ENOMEM;
        hl_sha256_hex(s, strlen(s), ret);
        free(s);
        return 0;
}

static size_t find_def(struct hl_def *const *defs, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(defs[i]->name, name) == 0)
                        return i;
        return n;
}

/* Follows Requires from start through the unplaced services until one repeats, and names
 * that cycle. Every unplaced service requires another unplaced one, so this ends. */
static void describe_cycle(struct hl_def *const *defs, size_t n, const bool *placed, size_t start,
                           struct hl_def_error *ret_error) {
        _cleanup_free_ size_t *seen_at = calloc(n, sizeof(size_t));
        _cleanup_free_ size_t *path = calloc(n + 1, sizeof(size_t));
        char msg[sizeof(ret_error->message)] = "";
        size_t len = 0, cur = start, first;

        if (!seen_at || !path) {
                hl_def_error_set(ret_error, "", 0, "Requires", "dependency cycle");
                return;
        }
        while (!seen_at[cur]) {
                path[len++] = cur;
                seen_at[cur] = len;
                for (char **r = defs[cur]->requires; r && *r; r++) {
                        size_t j = find_def(defs, n, *r);
                        if (j < n && !placed[j]) {
                                cur = j;
                                break;
                        }
                }
        }
        first = seen_at[cur] - 1;
        for (size_t i = first; i < len; i++) {
                strncat(msg, defs[path[i]]->name, sizeof(msg) - strlen(msg) - 1);
                strncat(msg, " -> ", sizeof(msg) - strlen(msg) - 1);
        }
        strncat(msg, defs[cur]->name, sizeof(msg) - strlen(msg) - 1);
        hl_def_error_set(ret_error, "", 0, "Requires", "dependency cycle: %s", msg);
}

int hl_def_order(struct hl_def *const *defs, size_t n, size_t *ret_order,
                 struct hl_def_error *ret_error) {
        _cleanup_free_ bool *placed = calloc(n ? n : 1, sizeof(bool));
        size_t count = 0;

        if (!placed)
                return -ENOMEM;
        /* Repeated passes keep the input order among independent services: n is small. */
        while (count < n) {
                bool progress = false;

                for (size_t i = 0; i < n; i++) {
                        bool ready = !placed[i];

                        for (char **r = defs[i]->requires; ready && r && *r; r++) {
                                size_t j = find_def(defs, n, *r);
                                if (j < n && !placed[j])
                                        ready = false;
                        }
                        if (ready) {
                                placed[i] = true;
                                ret_order[count++] = i;
                                progress = true;
                        }
                }
                if (!progress) {
                        for (size_t i = 0; i < n; i++)
                                if (!placed[i]) {
                                        describe_cycle(defs, n, placed, i, ret_error);
                                        break;
                                }
                        return -ELOOP;
                }
        }
        return 0;
}
