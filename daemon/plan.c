/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deciding what a run does: the services it concerns, in Requires= order; per service,
 * from its definition and the container as the survey saw it, the actions that make them
 * equal; the plan's id; the actions as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "hl-index.h"
#include "run.h"
#include "store.h"

struct item *run_find(struct run *run, const char *name) {
        size_t i;

        return hl_index_get(&run->index, name, &i) ? &run->items[i] : NULL;
}

static int add_item(struct run *run, const char *name, struct desired *desired, const char *wanted,
                    const char *expected) {
        struct item *items = realloc(run->items, sizeof(*items) * (run->n_items + 1));

        if (!items)
                return -ENOMEM;
        run->items = items;
        items[run->n_items] = (struct item) { .name = strdup(name), .desired = desired_ref(desired) };
        snprintf(items[run->n_items].wanted, sizeof(items->wanted), "%s", wanted);
        snprintf(items[run->n_items].expected, sizeof(items->expected), "%s", expected ? expected : "");
        if (!items[run->n_items].name) {
                desired_unref(desired);
                return -ENOMEM;
        }
        run->n_items++;
        return 0;
}

/* This run stores a new revision of the service: that takes a pending destroy back. */
static bool run_is_applied(const struct run *run, const char *name) {
        for (size_t i = 0; i < run->n_apply; i++)
                if (strcmp(run->apply[i]->def->name, name) == 0)
                        return true;
        return false;
}

static bool run_is_automatic(const struct run *run) {
        return strcmp(run->request.trigger, "apply") != 0 && strcmp(run->request.trigger, "cli") != 0 &&
               strcmp(run->request.trigger, "plan") != 0;
}

/* Dependencies first, so plans read top-down and runs start what others wait for. The
 * index by name follows the final order. */
static int sort_items(struct run *run) {
        _cleanup_free_ struct hl_def **defs = calloc(run->n_items + 1, sizeof(*defs));
        _cleanup_free_ size_t *order = calloc(run->n_items + 1, sizeof(*order));
        _cleanup_free_ struct item *sorted = calloc(run->n_items + 1, sizeof(*sorted));
        struct hl_def_error e;
        int r;

        if (run->n_items == 0)
                return 0;
        if (!defs || !order || !sorted)
                return -ENOMEM;
        for (size_t i = 0; i < run->n_items; i++)
                defs[i] = run->items[i].desired->def;
        r = hl_def_order(defs, run->n_items, order, &e);
        if (r == -ENOMEM)
                return r;
        /* Apply refuses cycles: with one, the order stays as it is. */
        if (r >= 0) {
                for (size_t i = 0; i < run->n_items; i++)
                        sorted[i] = run->items[order[i]];
                memcpy(run->items, sorted, sizeof(*sorted) * run->n_items);
        }
        hl_index_clear(&run->index);
        for (size_t i = 0; i < run->n_items; i++)
                if (hl_index_put(&run->index, run->items[i].name, i) == -ENOMEM)
                        return -ENOMEM;
        return 0;
}

/* Snapshots the services a run concerns, so that an apply during the run changes nothing
 * under the worker threads' feet. */
int run_collect(struct run *run, struct desired **extra, size_t n_extra) {
        _cleanup_(hl_index_done) struct hl_index by_name = {};
        struct manager *m = run->m;
        int r;

        for (size_t j = 0; j < n_extra; j++)
                if (hl_index_put(&by_name, extra[j]->def->name, j) == -ENOMEM)
                        return -ENOMEM;
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                struct desired *d = s->desired;
                size_t j;

                if (run->only && strcmp(run->only, s->name) != 0 && !hl_strv_contains(run->also, s->name))
                        continue;
                if (hl_index_get(&by_name, s->name, &j))
                        d = extra[j];
                r = add_item(run, s->name, d, d == s->desired ? service_wanted_state(s) :
                             (d->def->state == HL_DESIRED_RUNNING ? "running" : "stopped"), s->expected_state);
                if (r < 0)
                        return r;
        }
        for (size_t j = 0; j < n_extra; j++)
                if (!manager_find(m, extra[j]->def->name)) {
                        r = add_item(run, extra[j]->def->name, extra[j],
                                     extra[j]->def->state == HL_DESIRED_RUNNING ? "running" : "stopped", NULL);
                        if (r < 0)
                                return r;
                }
        r = sort_items(run);
        if (r < 0)
                return r;
        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];
                struct service *s = manager_find(m, it->name);

                bool target = !run->only || strcmp(run->only, it->name) == 0;

                it->destroy = hl_strv_contains(run->prune, it->name) || (target && run->request.kind == JOB_DESTROY) ||
                              (s && s->destroying && !run_is_applied(run, it->name));
                it->restart = target && run->request.kind == JOB_RESTART;
                it->automatic = run_is_automatic(run);
                it->unhealthy = s && health_status(s) == HEALTH_UNHEALTHY;
                it->next_restart = s ? service_next_restart(s) : 0;
        }
        return 0;
}

static int add_action(struct item *it, const char *verb, char **changes, const char *fmt, ...) HL_PRINTF(4, 5);
static int add_action(struct item *it, const char *verb, char **changes, const char *fmt, ...) {
        struct action *a = realloc(it->actions, sizeof(*a) * (it->n_actions + 1));
        va_list ap;
        char *reason;
        int r;

        if (!a) {
                hl_strv_free(changes);
                return -ENOMEM;
        }
        it->actions = a;
        va_start(ap, fmt);
        r = vasprintf(&reason, fmt, ap);
        va_end(ap);
        if (r < 0) {
                hl_strv_free(changes);
                return -ENOMEM;
        }
        a[it->n_actions++] = (struct action) { .verb = verb, .reason = reason, .changes = changes };
        return 0;
}

/* Decides what one service needs, from its definition and the container as observed. */
int plan_item(struct item *it) {
        const struct ct_observed *o = &it->observed;
        const struct ct_settings *want = &it->desired->settings;
        _cleanup_(hl_strv_freep) char **changes = NULL;
        bool running = strcmp(o->state, "STOPPED") != 0 && strcmp(o->state, "MISSING") != 0;
        bool needs_restart = false, recreate = false, live = false;
        bool want_running = strcmp(it->wanted, "running") == 0;
        int r;

        if (it->observe_error < 0)
                return add_action(it, "observe", NULL, "could not read the container: %s", strerror(-it->observe_error));
        /* Nothing at all, not even a destroy: hld would act through what another user made. */
        if (o->unsafe[0])
                return add_action(it, "hold", NULL, "not touched: %s", o->unsafe);
        if (it->destroy) {
                if (!o->exists && !o->half_created)
                        return 0;
                return add_action(it, "destroy", NULL, "%s", running ? "running; destroy requested" : "destroy requested");
        }
        if (!o->exists || o->half_created) {
                r = add_action(it, "create", NULL, "%s", o->half_created ? "a previous create was interrupted" : "not created");
                if (r >= 0 && want_running)
                        r = add_action(it, "start", NULL, "created, wants running");
                return r;
        }
        if (o->damaged[0])
                return add_action(it, "hold", NULL, "damaged: %s", o->damaged);
        for (size_t i = 0; i < want->n && i < o->n_values; i++) {
                if (strcmp(want->items[i].value, o->values[i]) == 0)
                        continue;
                /* Several keys can make one setting (a network): describe it once. */
                if (i > 0 && strcmp(want->items[i].label, want->items[i - 1].label) == 0 &&
                    strcmp(want->items[i - 1].value, o->values[i - 1]) != 0)
                        continue;
                _cleanup_free_ char *line = ct_setting_describe(&want->items[i], o->values[i]);
                if (!line || hl_strv_push(&changes, line) < 0)
                        return -ENOMEM;
                switch (want->items[i].apply) {
                case CT_APPLY_LIVE:
                        live = true;
                        break;
                case CT_APPLY_RESTART:
                        needs_restart = true;
                        break;
                case CT_APPLY_RECREATE:
                        recreate = true;
                        break;
                }
        }
        if (recreate)
                /* Never destroyed implicitly: the operator decides. */
                return add_action(it, "recreate", TAKE_PTR(changes),
                                  "fixed at creation: run hlctl destroy %s, then apply again", it->name);
        if (changes) {
                r = add_action(it, "update", TAKE_PTR(changes), "%s",
                               needs_restart && running ? "definition changed (restart required)"
                               : live && running        ? "definition changed (applied live)"
                                                        : "definition changed");
                if (r < 0)
                        return r;
                if (needs_restart && running && want_running)
                        return add_action(it, "restart", NULL, "changes take effect at start");
        }
        if (it->restart)
                return add_action(it, "restart", NULL, "restart requested");
        /* An unhealthy service is restarted, under the same policy and back-off as a crash. */
        if (it->unhealthy && running && want_running && it->automatic) {
                if (it->desired->def->restart.policy == HL_RESTART_NO)
                        return 0;
                if (it->next_restart > now_ms())
                        return add_action(it, "hold", NULL, "unhealthy, and crash-looping: next restart in %" PRId64 " s",
                                          (it->next_restart - now_ms() + 999) / 1000);
                return add_action(it, "restart", NULL, "unhealthy: its checks failed");
        }
        if (want_running && !running) {
                bool unexpected = strcmp(it->expected, "RUNNING") == 0;
                const struct hl_restart *policy = &it->desired->def->restart;

                /* The restart policy governs what hld does on its own after an exit; a
                 * person's apply, start or plan always gets the start. */
                if (it->automatic && unexpected && policy->policy == HL_RESTART_NO)
                        return add_action(it, "hold", NULL, "exited, and Restart Policy=no: hlctl start %s starts it",
                                          it->name);
                if (it->automatic && it->next_restart > now_ms())
                        return add_action(it, "hold", NULL, "crash-looping: next start in %" PRId64 " s",
                                          (it->next_restart - now_ms() + 999) / 1000);
                return add_action(it, "start", NULL, "found %s%s, wants running", o->state,
                                  unexpected ? " (stopped outside hld)" : "");
        }
        if (!want_running && running)
                return add_action(it, "stop", NULL, "found %s, wants stopped", o->state);
        return 0;
}


json_t *action_json(const struct item *it, const struct action *a) {
        json_t *changes = json_array(), *j;

        for (char **c = a->changes; changes && c && *c; c++)
                json_array_append_new(changes, json_string(*c));
        j = json_pack("{s:s, s:s, s:s, s:o}", "service", it->name, "action", a->verb, "reason", a->reason, "changes",
                      changes ? changes : json_array());
        if (j && a->result) {
                json_object_set_new(j, "result", json_string(a->result));
                json_object_set_new(j, "duration_ms", json_integer(a->duration_ms));
                if (a->error)
                        json_object_set_new(j, "error", json_string(a->error));
        }
        return j;
}

json_t *run_actions_json(struct run *run) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        /* In the order they were planned: dependencies first. */
        for (size_t i = 0; i < run->n_items; i++)
                for (size_t k = 0; k < run->items[i].n_actions; k++)
                        json_array_append_new(a, action_json(&run->items[i], &run->items[i].actions[k]));
        return a;
}


/* A plan's id: a hash of everything it was computed from (each service's revision and
 * wanted state, what the survey saw) and of what it says, so that an apply --plan ID
 * runs only what was reviewed. */
/* Appends to a growing string; no stdio on the loop thread (lxc.c explains why). */
static int append(char **buf, size_t *len, size_t *cap, const char *a, const char *b) {
        size_t n = strlen(a) + strlen(b) + 2;
        char *p;

        if (*len + n > *cap) {
                size_t c = (*cap + n) * 2;
                p = realloc(*buf, c);
                if (!p)
                        return -ENOMEM;
                *buf = p;
                *cap = c;
        }
        *len += (size_t) sprintf(*buf + *len, "%s%s\n", a, b);
        return 0;
}

void plan_id(struct run *run) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0, cap = 0;
        int r = append(&text, &len, &cap, "", "");

        for (size_t i = 0; r >= 0 && i < run->n_items; i++) {
                const struct item *it = &run->items[i];
                char flags[32];

                snprintf(flags, sizeof(flags), " %d %d", it->observed.exists, it->observed.half_created);
                r = append(&text, &len, &cap, it->name, "");
                if (r >= 0)
                        r = append(&text, &len, &cap, it->desired->hash, "");
                if (r >= 0)
                        r = append(&text, &len, &cap, it->wanted, "");
                if (r >= 0)
                        r = append(&text, &len, &cap, it->observed.state, flags);
                for (size_t k = 0; r >= 0 && k < it->observed.n_values; k++)
                        r = append(&text, &len, &cap, "=", it->observed.values[k]);
                for (size_t k = 0; r >= 0 && k < it->n_actions; k++) {
                        r = append(&text, &len, &cap, it->actions[k].verb, it->actions[k].reason);
                        for (char **c = it->actions[k].changes; r >= 0 && c && *c; c++)
                                r = append(&text, &len, &cap, "~", *c);
                }
        }
        if (r < 0) {
                run->plan_id[0] = 0;
                return;
        }
        hl_sha256_hex(text, len, run->plan_id);
}
