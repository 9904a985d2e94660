/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What follows from a parsed definition: its canonical JSON and hash, and the order of
 * several by Requires= (with the cycle named when there is none). */
#include <errno.h>
#include <string.h>

#include "hl-def.h"
#include "hl-index.h"

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

static json_t *health_to_json(const struct hl_def *d) {
        json_t *checks = json_array();

        for (size_t i = 0; checks && i < d->health.n_checks; i++)
                json_array_append_new(checks, json_string(d->health.checks[i].text));
        return json_pack("{s:o, s:I, s:I, s:I, s:I}", "checks", checks, "interval_ms", (json_int_t) d->health.interval_ms,
                         "timeout_ms", (json_int_t) d->health.timeout_ms, "retries", (json_int_t) d->health.retries,
                         "start_period_ms", (json_int_t) d->health.start_period_ms);
}

/* A Host= service: what it is checked at and how; there is no container to describe. */
/* The k-th name a definition is ordered after: its Requires=, then its After=; NULL past
 * the last. */
static const char *dep_at(const struct hl_def *d, size_t k) {
        size_t n = hl_strv_length(d->requires);

        if (k < n)
                return d->requires[k];
        return k - n < hl_strv_length(d->after) ? d->after[k - n] : NULL;
}

static json_t *host_to_json(const struct hl_def *d) {
        return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o}", "name", d->name, "description",
                         d->description ? d->description : "", "requires", strv_to_json(d->requires, true), "state",
                         "running", "host", d->host, "health", health_to_json(d));
}

json_t *hl_def_to_json(const struct hl_def *d) {
        json_t *mounts, *networks, *j, *container;

        if (d->host)
                return host_to_json(d);
        mounts = json_array();
        networks = json_array();

        for (size_t i = 0; mounts && i < d->n_mounts; i++) {
                json_t *m = json_pack("{s:s, s:s, s:b}", "source", d->mounts[i].source, "target", d->mounts[i].target,
                                      "read_only", d->mounts[i].read_only);
                /* Only when set, as the keys of networks below. */
                if (m && d->mounts[i].backup)
                        json_object_set_new(m, "backup", json_true());
                json_array_append_new(mounts, m);
        }
        for (size_t i = 0; networks && i < d->n_networks; i++) {
                const struct hl_network *n = &d->networks[i];
                json_t *net = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i}", "name", n->name, "bridge", n->bridge, "ip",
                                        n->ip, "gw", n->gw, "hwaddr", n->hwaddr, "mtu", (json_int_t) n->mtu);

                /* Keys added later appear only when set: a definition that does not use them
                 * keeps the hash it had, and is no new revision. */
                if (net && n->ip6)
                        json_object_set_new(net, "ip6", json_string(n->ip6));
                if (net && n->gw6)
                        json_object_set_new(net, "gw6", json_string(n->gw6));
                if (net && n->tag)
                        json_object_set_new(net, "tag", json_integer(n->tag));
                json_array_append_new(networks, net);
        }
        j = json_pack("{s:s, s:s, s:o, s:s, s:{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:o, s:o}, "
                         "s:{s:s, s:I, s:I, s:I, s:I}, s:o}",
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
                         "health", health_to_json(d));
        container = json_object_get(j, "container");
        if (container && d->nameservers)
                json_object_set_new(container, "nameservers", strv_to_json(d->nameservers, false));
        if (container && d->search)
                json_object_set_new(container, "search_domains", strv_to_json(d->search, false));
        if (j && d->update.exec)
                json_object_set_new(j, "update",
                                    json_pack("{s:o, s:b, s:I}", "exec", strv_to_json(d->update.exec, false), "restart",
                                              d->update.restart, "health_timeout_ms",
                                              (json_int_t) d->update.health_timeout_ms));
        if (j && (d->snapshots.schedule || d->snapshots.keep_text))
                json_object_set_new(j, "snapshot",
                                    json_pack("{s:s?, s:s?}", "schedule", d->snapshots.schedule, "keep",
                                              d->snapshots.keep_text));
        if (j && (d->backups.times.schedule || d->backups.times.keep_text || d->backups.dir || d->backups.stop_mode))
                json_object_set_new(j, "backup",
                                    json_pack("{s:s?, s:s?, s:s?, s:s?}", "schedule", d->backups.times.schedule, "keep",
                                              d->backups.times.keep_text, "dir", d->backups.dir, "mode",
                                              d->backups.stop_mode ? "stop" : NULL));
        /* Only when set: definitions without them keep their hash. */
        if (j && d->after)
                json_object_set_new(j, "after", strv_to_json(d->after, true));
        if (container && (d->nesting || d->fuse || d->keyctl))
                json_object_set_new(container, "features",
                                    json_pack("{s:b, s:b, s:b}", "nesting", d->nesting, "fuse", d->fuse, "keyctl",
                                              d->keyctl));
        if (container && d->n_lxc > 0) {
                json_t *lxc = json_array();
                for (size_t i = 0; lxc && i < d->n_lxc; i++)
                        json_array_append_new(lxc, json_pack("{s:s, s:s}", "key", d->lxc[i].key, "value", d->lxc[i].value));
                json_object_set_new(container, "lxc", lxc);
        }
        if (container && d->boot_timeout_ms != 3 * 60 * 1000)
                json_object_set_new(container, "boot_timeout_ms", json_integer((json_int_t) d->boot_timeout_ms));
        return j;
}

char *hl_def_canonical(const struct hl_def *d) {
        json_t *j = hl_def_to_json(d);
        char *s;

        if (!j)
                return NULL;
        s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        json_decref(j);
        return s;
}

int hl_def_hash(const struct hl_def *d, char ret[65]) {
        _cleanup_free_ char *s = hl_def_canonical(d);

        if (!s)
                return -ENOMEM;
        hl_sha256_hex(s, strlen(s), ret);
        return 0;
}

/* Follows Requires from start through the unplaced services until one repeats, and names
 * that cycle. Every unplaced service requires another unplaced one, so this ends. */
static void describe_cycle(struct hl_def *const *defs, size_t n, const struct hl_index *index, const bool *placed,
                           size_t start, struct hl_def_error *ret_error) {
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
                const char *r;
                for (size_t k = 0; (r = dep_at(defs[cur], k)); k++) {
                        size_t j;
                        if (hl_index_get(index, r, &j) && !placed[j]) {
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

/* A min-heap of positions. */
static void heap_push(size_t *heap, size_t *len, size_t v) {
        size_t i = (*len)++;

        while (i > 0 && heap[(i - 1) / 2] > v) {
                heap[i] = heap[(i - 1) / 2];
                i = (i - 1) / 2;
        }
        heap[i] = v;
}

static size_t heap_pop(size_t *heap, size_t *len) {
        size_t top = heap[0], last = heap[--*len], i = 0;

        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= *len)
                        break;
                if (c + 1 < *len && heap[c + 1] < heap[c])
                        c++;
                if (heap[c] >= last)
                        break;
                heap[i] = heap[c];
                i = c;
        }
        if (*len > 0)
                heap[i] = last;
        return top;
}

/* Kahn's algorithm over the Requires= edges inside defs, O((n + e) log n), in the order of
 * passes over the input: each pass places, in input order, every service whose
 * requirements are placed by then, so independent services keep their order and a chain
 * reads top-down. A service made ready by one that stands after it in the input waits for
 * the next pass, as a second loop over the input would find it. */
int hl_def_order(struct hl_def *const *defs, size_t n, size_t *ret_order,
                 struct hl_def_error *ret_error) {
        _cleanup_(hl_index_done) struct hl_index index = {};
        _cleanup_free_ size_t *waiting = calloc(n + 1, sizeof(size_t)); /* unplaced requirements */
        _cleanup_free_ size_t *first = calloc(n + 2, sizeof(size_t));   /* dependents of i: edges[first[i]..first[i+1]) */
        _cleanup_free_ size_t *edges = NULL, *pass = calloc(n + 1, sizeof(size_t)), *next = calloc(n + 1, sizeof(size_t));
        _cleanup_free_ bool *placed = calloc(n + 1, sizeof(bool));
        size_t n_edges = 0, count = 0, pass_len = 0, next_len = 0;

        if (!waiting || !first || !pass || !next || !placed)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (hl_index_put(&index, defs[i]->name, i) == -ENOMEM)
                        return -ENOMEM;
        /* Count each requirement's dependents, then lay the edges out by requirement. */
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; dep_at(defs[i], k); k++) {
                        size_t j;
                        if (hl_index_get(&index, dep_at(defs[i], k), &j)) {
                                first[j + 1]++;
                                waiting[i]++;
                                n_edges++;
                        }
                }
        for (size_t i = 0; i < n; i++)
                first[i + 1] += first[i];
        edges = calloc(n_edges + 1, sizeof(size_t));
        if (!edges)
                return -ENOMEM;
        {
                _cleanup_free_ size_t *fill = calloc(n + 1, sizeof(size_t));
                if (!fill)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; dep_at(defs[i], k); k++) {
                                size_t j;
                                if (hl_index_get(&index, dep_at(defs[i], k), &j))
                                        edges[first[j] + fill[j]++] = i;
                        }
        }
        for (size_t i = 0; i < n; i++)
                if (waiting[i] == 0)
                        heap_push(pass, &pass_len, i);
        while (pass_len > 0) {
                size_t i = heap_pop(pass, &pass_len);

                placed[i] = true;
                ret_order[count++] = i;
                for (size_t k = first[i]; k < first[i + 1]; k++)
                        if (--waiting[edges[k]] == 0) {
                                if (edges[k] > i)
                                        heap_push(pass, &pass_len, edges[k]);
                                else
                                        heap_push(next, &next_len, edges[k]);
                        }
                if (pass_len == 0) {
                        size_t *t = pass;
                        pass = next;
                        next = t;
                        pass_len = next_len;
                        next_len = 0;
                }
        }
        if (count < n) {
                for (size_t i = 0; i < n; i++)
                        if (!placed[i]) {
                                describe_cycle(defs, n, &index, placed, i, ret_error);
                                break;
                        }
                return -ELOOP;
        }
        return 0;
}
