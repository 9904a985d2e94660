/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deciding, per service, what makes its container equal to its definition; the plan's
 * actions as JSON; the plan's id. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hld.h"
#include "plan.h"

void plan_item_done(struct item *it) {
        free(it->name);
        free(it->problem);
        desired_unref(it->desired);
        ct_observed_done(&it->observed);
        for (size_t i = 0; i < it->n_actions; i++) {
                free(it->actions[i].reason);
                hl_strv_free(it->actions[i].changes);
                free(it->actions[i].error);
        }
        free(it->actions);
}

bool plan_item_has(const struct item *it, enum hl_verb verb) {
        for (size_t i = 0; i < it->n_actions; i++)
                if (it->actions[i].verb == verb)
                        return true;
        return false;
}

static int add_action(struct item *it, enum hl_verb verb, char **changes, const char *fmt, ...) HL_PRINTF(4, 5);
static int add_action(struct item *it, enum hl_verb verb, char **changes, const char *fmt, ...) {
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

static bool is_running(enum hl_ct_state s) {
        return s != HL_CT_STOPPED && s != HL_CT_MISSING;
}

/* The settings that differ, described once each, and how the largest of them applies. */
static int compare_settings(const struct item *it, char ***ret_changes, bool *ret_restart, bool *ret_recreate,
                            bool *ret_live) {
        const struct ct_observed *o = &it->observed;
        const struct ct_settings *want = &it->desired->settings;

        for (size_t i = 0; i < want->n && i < o->n_values; i++) {
                if (strcmp(want->items[i].value, o->values[i]) == 0)
                        continue;
                /* Several keys can make one setting (a network): describe it once. */
                if (i > 0 && strcmp(want->items[i].label, want->items[i - 1].label) == 0 &&
                    strcmp(want->items[i - 1].value, o->values[i - 1]) != 0)
                        continue;
                _cleanup_free_ char *line = settings_describe(&want->items[i], o->values[i]);
                if (!line || hl_strv_push(ret_changes, line) < 0)
                        return -ENOMEM;
                switch (want->items[i].apply) {
                case CT_APPLY_LIVE:
                        *ret_live = true;
                        break;
                case CT_APPLY_RESTART:
                        *ret_restart = true;
                        break;
                case CT_APPLY_RECREATE:
                        *ret_recreate = true;
                        break;
                }
        }
        return 0;
}

/* A running container's limits as its cgroup has them: one changed behind hld's back
 * (lxc-cgroup, pct set) is drift like one in its config, and set again live. The kernel
 * keeps memory limits in whole pages. */
static int compare_live(const struct item *it, char ***changes, bool *ret_live) {
        const struct hl_def *d = it->desired->def;
        const struct ct_observed *o = &it->observed;
        uint64_t want_memory = d->memory & ~UINT64_C(4095);
        char a[32], b[32];
        char *line;

        if (o->state != HL_CT_RUNNING || o->pid <= 0)
                return 0;
        if (want_memory != (o->live_memory & ~UINT64_C(4095))) {
                line = hl_strdup_printf("memory %s -> %s (live: the running container's limit)",
                                        o->live_memory ? hl_format_size(o->live_memory, a, sizeof(a)) : "(none)",
                                        d->memory ? hl_format_size(d->memory, b, sizeof(b)) : "(none)");
                if (!line || hl_strv_push(changes, line) < 0) {
                        free(line);
                        return -ENOMEM;
                }
                free(line);
                *ret_live = true;
        }
        if (d->cores != o->live_cores) {
                char ca[16], cb[16];
                snprintf(ca, sizeof(ca), "%u", o->live_cores);
                snprintf(cb, sizeof(cb), "%u", d->cores);
                line = hl_strdup_printf("cores %s -> %s (live: the running container's limit)",
                                        o->live_cores ? ca : "(none)", d->cores ? cb : "(none)");
                if (!line || hl_strv_push(changes, line) < 0) {
                        free(line);
                        return -ENOMEM;
                }
                free(line);
                *ret_live = true;
        }
        return 0;
}

/* A container that runs when it should, or not when it should not. */
static int plan_state(struct item *it, bool running, int64_t now) {
        const struct ct_observed *o = &it->observed;
        bool want_running = it->wanted == HL_WANT_RUNNING;

        /* An unhealthy service is restarted, under the same policy and back-off as a crash. */
        if (it->unhealthy && running && want_running && it->automatic) {
                if (it->desired->def->restart.policy == HL_RESTART_NO)
                        return 0;
                if (it->next_restart > now)
                        return add_action(it, HL_VERB_HOLD, NULL, "unhealthy, and crash-looping: next restart in %" PRId64 " s",
                                          (it->next_restart - now + 999) / 1000);
                return add_action(it, HL_VERB_RESTART, NULL, "unhealthy: its checks failed");
        }
        if (want_running && !running) {
                bool unexpected = it->expected == HL_CT_RUNNING;
                const struct hl_restart *policy = &it->desired->def->restart;

                /* The restart policy governs what hld does on its own after an exit; a
                 * person's apply, start or plan always gets the start. */
                if (it->automatic && unexpected && policy->policy == HL_RESTART_NO)
                        return add_action(it, HL_VERB_HOLD, NULL, "exited, and Restart Policy=no: hlctl start %s starts it",
                                          it->name);
                if (it->automatic && it->next_restart > now)
                        return add_action(it, HL_VERB_HOLD, NULL, "crash-looping: next start in %" PRId64 " s",
                                          (it->next_restart - now + 999) / 1000);
                return add_action(it, HL_VERB_START, NULL, "found %s%s, wants running", hl_ct_state_to_string(o->state),
                                  unexpected ? " (stopped outside hld)" : "");
        }
        if (!want_running && running)
                return add_action(it, HL_VERB_STOP, NULL, "found %s, wants stopped", hl_ct_state_to_string(o->state));
        return 0;
}

static int plan_item_actions(struct item *it, int64_t now);

/* A start that cannot succeed (a Mount= source or a bridge is missing) is named in the plan,
 * and fails without being tried: liblxc would only find out in the middle of it. A create
 * starts the container too when it has Provision= lines. */
/* While a backup reads the container's own files, what would be done waits for its end. */
static int hold_for_backup(struct item *it) {
        enum hl_verb first = it->actions[0].verb;

        if (first == HL_VERB_HOLD || first == HL_VERB_OBSERVE)
                return 0;
        for (size_t i = 0; i < it->n_actions; i++) {
                free(it->actions[i].reason);
                hl_strv_free(it->actions[i].changes);
        }
        it->n_actions = 0;
        return add_action(it, HL_VERB_HOLD, NULL, "held while a backup reads its files: %s when it ends",
                          hl_verb_to_string(first));
}

int plan_item(struct item *it, int64_t now) {
        int r = plan_item_actions(it, now);

        if (r >= 0 && it->held && it->n_actions > 0)
                return hold_for_backup(it);
        if (r < 0 || !it->problem)
                return r;
        for (size_t i = 0; i < it->n_actions; i++) {
                struct action *a = &it->actions[i];
                char *reason;

                if (a->verb != HL_VERB_START && a->verb != HL_VERB_RESTART &&
                    !(a->verb == HL_VERB_CREATE && it->desired->def->provision))
                        continue;
                reason = hl_strdup_printf("cannot %s: %s", hl_verb_to_string(a->verb), it->problem);
                if (!reason)
                        return -ENOMEM;
                free(a->reason);
                a->reason = reason;
                a->impossible = true;
        }
        return 0;
}

static int plan_item_actions(struct item *it, int64_t now) {
        const struct ct_observed *o = &it->observed;
        _cleanup_(hl_strv_freep) char **changes = NULL;
        bool running = is_running(o->state);
        bool needs_restart = false, recreate = false, live = false;
        bool want_running = it->wanted == HL_WANT_RUNNING;
        int r;

        /* A Host= service is checked, never run: a destroy forgets it, and what would act on
         * a container is held with the reason. */
        if (it->desired->def->host) {
                if (it->destroy || !(it->restart || it->snapshot))
                        return 0;
                return add_action(it, HL_VERB_HOLD, NULL, "%s is a Host= service (%s): hl only checks it, and has no "
                                  "container to %s", it->name, it->desired->def->host,
                                  it->restart ? "restart" : hl_verb_to_string(it->snapshot_verb));
        }
        if (it->observe_error < 0)
                return add_action(it, HL_VERB_OBSERVE, NULL, "could not read the container: %s",
                                  strerror(-it->observe_error));
        /* Nothing at all, not even a destroy: hld would act through what another user made. */
        if (o->unsafe[0])
                return add_action(it, HL_VERB_HOLD, NULL, "not touched: %s", o->unsafe);
        /* Another tool's container: forgetting the service is all a destroy does. */
        if (o->foreign && it->destroy)
                return 0;
        if (o->foreign)
                return add_action(it, HL_VERB_HOLD, NULL,
                                  "not hl's: the container %s was not made by hld, which never changes it; name the "
                                  "service otherwise, or destroy it (the container stays)", it->name);
        if (it->destroy) {
                if (!o->exists && !o->half_created)
                        return 0;
                return add_action(it, HL_VERB_DESTROY, NULL, "%s", running ? "running; destroy requested" : "destroy requested");
        }
        /* Before a create: a rollback a kill interrupted may have left no config, and the
         * container's snapshots are what it is put back from. */
        if (o->rolling_back[0])
                return add_action(it, HL_VERB_ROLLBACK, NULL, "a rollback to %s was interrupted: finishing it",
                                  o->rolling_back);
        /* An update a kill (or a crash of hld) interrupted before it was judged. */
        if (o->updating[0] && !it->updating && !it->snapshot)
                return add_action(it, HL_VERB_ROLLBACK, NULL, "an update was interrupted before it was judged: rolling back to %s",
                                  o->updating);
        if (it->snapshot && it->snapshot_verb == HL_VERB_ROLLBACK)
                return add_action(it, HL_VERB_ROLLBACK, NULL, "rollback to %s requested%s", it->snapshot,
                                  running ? " (stopped first)" : "");
        if (it->snapshot && (!o->exists || o->half_created))
                return add_action(it, HL_VERB_HOLD, NULL, "not created: no container to %s",
                                  it->snapshot_verb == HL_VERB_SNAPSHOT ? "snapshot"
                                  : it->snapshot_verb == HL_VERB_BACKUP ? "back up"
                                                                        : "delete a snapshot of");
        if (!o->exists || o->half_created) {
                r = add_action(it, HL_VERB_CREATE, NULL, "%s",
                               o->half_created ? "a previous create was interrupted" : "not created");
                if (r >= 0 && want_running)
                        r = add_action(it, HL_VERB_START, NULL, "created, wants running");
                return r;
        }
        if (it->snapshot && it->snapshot_verb == HL_VERB_DELETE_SNAPSHOT)
                return it->comment ? add_action(it, HL_VERB_DELETE_SNAPSHOT, NULL, "snapshot %s %s", it->snapshot, it->comment)
                                   : add_action(it, HL_VERB_DELETE_SNAPSHOT, NULL, "deleting snapshot %s requested",
                                                it->snapshot);
        if (o->damaged[0])
                return add_action(it, HL_VERB_HOLD, NULL, "damaged: %s", o->damaged);
        if (it->snapshot && it->snapshot_verb == HL_VERB_EXEC)
                return add_action(it, HL_VERB_EXEC, NULL, "update: %zu Exec= line%s (snapshot %s)",
                                  hl_strv_length(it->desired->def->update.exec),
                                  hl_strv_length(it->desired->def->update.exec) == 1 ? "" : "s", it->snapshot);
        if (it->snapshot && it->snapshot_verb == HL_VERB_BACKUP) {
                /* Stopped: the backup reads the container as it is, and holds its starts. */
                if (!running)
                        return 0;
                if (it->backup_stop)
                        return add_action(it, HL_VERB_STOP, NULL, "stopped for a backup (mode stop): started again once "
                                          "it is archived");
                return add_action(it, HL_VERB_SNAPSHOT, NULL, "snapshot %s for a backup (frozen for the copy)", it->snapshot);
        }
        if (it->snapshot)
                return add_action(it, HL_VERB_SNAPSHOT, NULL, "snapshot %s %s%s", it->snapshot,
                                  it->automatic ? "on schedule" : "requested", running ? " (frozen for the copy)" : "");
        r = compare_settings(it, &changes, &needs_restart, &recreate, &live);
        /* What the config says differs already: the cgroup follows with it. */
        if (r >= 0 && !live)
                r = compare_live(it, &changes, &live);
        if (r < 0)
                return r;
        if (recreate)
                /* Never destroyed implicitly: the operator decides. */
                return add_action(it, HL_VERB_RECREATE, TAKE_PTR(changes),
                                  "fixed at creation: run hlctl destroy %s, then apply again", it->name);
        if (changes) {
                r = add_action(it, HL_VERB_UPDATE, TAKE_PTR(changes), "%s",
                               needs_restart && running ? "definition changed (restart required)"
                               : live && running        ? "definition changed (applied live)"
                                                        : "definition changed");
                if (r < 0)
                        return r;
                if (needs_restart && running && want_running)
                        return add_action(it, HL_VERB_RESTART, NULL, "changes take effect at start");
        }
        if (it->restart)
                return add_action(it, HL_VERB_RESTART, NULL, "restart requested");
        return plan_state(it, running, now);
}

json_t *plan_action_json(const struct item *it, const struct action *a) {
        json_t *changes = json_array(), *j;

        for (char **c = a->changes; changes && c && *c; c++)
                json_array_append_new(changes, json_string(*c));
        j = json_pack("{s:s, s:s, s:s, s:o}", "service", it->name, "action", hl_verb_to_string(a->verb), "reason",
                      a->reason, "changes", changes ? changes : json_array());
        if (j && a->done) {
                json_object_set_new(j, "result", json_string(hl_result_to_string(a->result)));
                json_object_set_new(j, "duration_ms", json_integer(a->duration_ms));
                if (a->error)
                        json_object_set_new(j, "error", json_string(a->error));
        }
        return j;
}

json_t *plan_actions_json(const struct item *items, size_t n) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        /* In the order they were planned: dependencies first. */
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < items[i].n_actions; k++)
                        json_array_append_new(a, plan_action_json(&items[i], &items[i].actions[k]));
        return a;
}

/* Appends to a growing string; no stdio on the loop thread (ct.c explains why). */
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

void plan_id(const struct item *items, size_t n, char ret[65]) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0, cap = 0;
        int r = append(&text, &len, &cap, "", "");

        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct item *it = &items[i];
                char flags[32];

                snprintf(flags, sizeof(flags), " %d %d", it->observed.exists, it->observed.half_created);
                r = append(&text, &len, &cap, it->name, "");
                if (r >= 0)
                        r = append(&text, &len, &cap, it->desired->hash, "");
                if (r >= 0)
                        r = append(&text, &len, &cap, hl_want_to_string(it->wanted), "");
                if (r >= 0)
                        r = append(&text, &len, &cap, hl_ct_state_to_string(it->observed.state), flags);
                for (size_t k = 0; r >= 0 && k < it->observed.n_values; k++)
                        r = append(&text, &len, &cap, "=", it->observed.values[k]);
                for (size_t k = 0; r >= 0 && k < it->n_actions; k++) {
                        r = append(&text, &len, &cap, hl_verb_to_string(it->actions[k].verb), it->actions[k].reason);
                        for (char **c = it->actions[k].changes; r >= 0 && c && *c; c++)
                                r = append(&text, &len, &cap, "~", *c);
                }
        }
        if (r < 0) {
                ret[0] = 0;
                return;
        }
        hl_sha256_hex(text, len, ret);
}
