/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "health.h"
#include "hl-protocol.h"
#include "log.h"
#include "run.h"
#include "store.h"
#include "work.h"

struct job {
        struct run *run;
};

struct work {
        uv_work_t req;
        struct run *run;
        struct item *item;
        struct action *action;
        int r;
        char *error;
        uint64_t started;
        struct ct_observed observed;
        int observe_error;
        /* A survey work item looks at items first, first + stride, ... */
        size_t first, stride;
};

static void run_schedule(struct run *run);
static void run_start_next(struct manager *m);
static void resume_parked(struct manager *m);

/* An item that no longer waits for a requirement's health: its service says so no more. */
static void stop_waiting(struct manager *m, struct item *it) {
        struct service *s;

        if (!it->waiting)
                return;
        it->waiting = false;
        s = manager_find(m, it->name);
        if (s) {
                free(s->waiting_for);
                s->waiting_for = NULL;
                s->waiting_since = 0;
        }
}

static void start_waiting(struct manager *m, struct item *it, const char *requirement) {
        struct service *s = manager_find(m, it->name);

        if (it->waiting || !s)
                return;
        it->waiting = true;
        free(s->waiting_for);
        s->waiting_for = strdup(requirement);
        s->waiting_since = now_ms();
}

/* True when a parked run has an action under way: no other run may act meanwhile. */
static bool parked_active(struct manager *m) {
        for (struct run *p = m->parked; p; p = p->parked_next)
                if (p->active > 0)
                        return true;
        return false;
}

static void record_event(struct run *run, const char *service, const char *action, const char *reason,
                         const char *result, const char *error) {
        events_record(run->m, run->id, service, action, reason, result, error);
}

static struct run *queue_head(struct manager *m) {
        return (struct run *) m->queue_head;
}

static void action_done(struct action *a) {
        free(a->reason);
        hl_strv_free(a->changes);
        free(a->error);
}

static void item_done(struct item *it) {
        free(it->name);
        desired_unref(it->desired);
        ct_observed_done(&it->observed);
        for (size_t i = 0; i < it->n_actions; i++)
                action_done(&it->actions[i]);
        free(it->actions);
}

static void run_free(struct run *run) {
        for (size_t i = 0; i < run->n_items; i++)
                item_done(&run->items[i]);
        free(run->items);
        hl_index_done(&run->index);
        free(run->only);
        hl_strv_free(run->also);
        hl_strv_free(run->prune);
        free(run->user);
        free(run->expect_plan);
        for (size_t i = 0; i < run->n_apply; i++)
                desired_unref(run->apply[i]);
        free(run->apply);
        hl_strv_free(run->changed);
        hl_strv_free(run->unchanged);
        free(run->error);
        free(run);
}

static void run_fail(struct run *run, const char *error_name, const char *fmt, ...) HL_PRINTF(3, 4);
static void run_fail(struct run *run, const char *error_name, const char *fmt, ...) {
        va_list ap;

        if (run->error)
                return;
        run->error_name = error_name;
        va_start(ap, fmt);
        if (vasprintf(&run->error, fmt, ap) < 0)
                run->error = NULL;
        va_end(ap);
}

static bool item_has(const struct item *it, const char *verb) {
        for (size_t i = 0; i < it->n_actions; i++)
                if (strcmp(it->actions[i].verb, verb) == 0)
                        return true;
        return false;
}

static bool item_brings_up(const struct item *it) {
        return item_has(it, "create") || item_has(it, "start") || item_has(it, "restart");
}

static bool item_takes_down(const struct item *it) {
        return item_has(it, "stop") || item_has(it, "destroy");
}
static void run_finish(struct run *run) {
        struct manager *m = run->m;
        json_t *actions;
        bool failed = false, any = false, plan_only;

        if (run->finished)
                return;
        run->finished = true;
        for (size_t i = 0; i < run->n_items; i++) {
                any = any || run->items[i].n_actions > 0;
                failed = failed || run->items[i].status == ITEM_FAILED || run->items[i].status == ITEM_SKIPPED;
        }
        if (run->id > 0)
                store_run_end(m->store, run->id, run->error ? "refused" : failed ? "failed" : any ? "ok" : "no-op");
        actions = run_actions_json(run);
        if (!actions)
                run_fail(run, NULL, "out of memory");
        if (run->request.done) {
                struct run_result result = {
                        .run = run->id,
                        .actions = actions,
                        .plan_id = run->plan_id,
                        .changed = run->changed,
                        .unchanged = run->unchanged,
                        .error = run->error ? run->error : (run->error_name ? "out of memory" : NULL),
                        .error_name = run->error_name,
                };
                run->request.done(run->request.userdata, &result);
        }
        json_decref(actions);
        if (!run->plan_only) {
                manager_schedule_backoff(m);
                /* States changed: the metrics file follows (when one is configured). */
                if (any)
                        health_export(m);
        }
        if (run->parked) {
                for (struct run **p = &m->parked; *p; p = &(*p)->parked_next)
                        if (*p == run) {
                                *p = run->parked_next;
                                break;
                        }
        } else if (run->queued && m->run == run) {
                m->run = NULL;
                manager_notify_status(m, "Idle: %zu services.", m->n_services);
        }
        for (size_t i = 0; i < run->n_items; i++)
                stop_waiting(m, &run->items[i]);
        plan_only = run->plan_only;
        run_free(run);
        /* What the parked runs wait for may have come meanwhile; they go before the queue. */
        if (!plan_only && !m->run)
                resume_parked(m);
        run_start_next(m);
}

static void service_observed(struct manager *m, struct service *s, const struct ct_observed *o) {
        ct_observed_done(&s->observed);
        if (ct_observe_copy(&s->observed, o) < 0) {
                snprintf(s->observed.state, sizeof(s->observed.state), "UNKNOWN");
                s->observed_valid = false;
                return;
        }
        s->observed_valid = true;
        watch_update(m, s);
        health_update(m, s);
}

/* A container that has stayed up for StartLimitIntervalSec since its last automatic
 * restart is healthy again: the back-off count starts over. */
static void stable_reset(struct run *run, struct service *s) {
        if (run->plan_only || s->restart_failures == 0 || strcmp(s->observed.state, "RUNNING") != 0 ||
            now_ms() - s->last_restart_ms < (int64_t) s->desired->def->restart.start_limit_interval_ms)
                return;
        s->restart_failures = 0;
        s->last_restart_ms = 0;
        if (store_restart_set(run->m->store, s->name, 0, 0) < 0)
                log_warning("could not reset the restart count of %s, ignoring", s->name);
}

static void update_service(struct run *run, struct item *it) {
        struct service *s = manager_find(run->m, it->name);

        if (!s || run->plan_only)
                return;
        snprintf(s->expected_state, sizeof(s->expected_state), "%s", it->observed.state);
}

/* Ordering (Requires=): what brings a service up waits for what it requires; what takes
 * one down waits for the services that require it to go down first. Returns 1 when the
 * item may go, 0 to wait, -1 when it must be skipped (reason in ret_reason). */
static int item_ready(struct run *run, struct item *it, char *reason, size_t size, const char **ret_health_of) {
        const struct hl_def *def = it->desired->def;
        const char *source;

        *ret_health_of = NULL;
        /* A clone waits for the container it copies to be made first. */
        if (item_has(it, "create") && hl_def_template_kind(def, &source) == HL_TEMPLATE_CLONE) {
                struct item *src = run_find(run, source);
                if (src && (src->status == ITEM_WAITING || src->status == ITEM_ACTIVE))
                        return 0;
        }
        if (item_brings_up(it))
                for (char **r = def->requires; r && *r; r++) {
                        struct item *dep = run_find(run, *r);
                        struct service *s;

                        if (dep && (dep->status == ITEM_WAITING || dep->status == ITEM_ACTIVE))
                                return 0;
                        if (dep && (dep->status == ITEM_FAILED || dep->status == ITEM_SKIPPED)) {
                                snprintf(reason, size, "requires %s, which %s", *r,
                                         dep->status == ITEM_FAILED ? "failed" : "was skipped");
                                return -1;
                        }
                        s = manager_find(run->m, *r);
                        if (!s || !s->observed_valid || strcmp(s->observed.state, "RUNNING") != 0) {
                                snprintf(reason, size, "requires %s, which is not running", *r);
                                return -1;
                        }
                        /* With checks, running is not enough: healthy is. */
                        if (health_status(s) == HEALTH_STARTING) {
                                *ret_health_of = s->name;
                                return 0;
                        }
                        if (health_status(s) == HEALTH_UNHEALTHY) {
                                snprintf(reason, size, "requires %s, which is unhealthy", *r);
                                return -1;
                        }
                }
        if (item_takes_down(it))
                for (size_t i = 0; i < run->n_items; i++) {
                        struct item *other = &run->items[i];
                        if (other != it && hl_strv_contains(other->desired->def->requires, it->name) &&
                            item_takes_down(other) && (other->status == ITEM_WAITING || other->status == ITEM_ACTIVE))
                                return 0;
                }
        return 1;
}

static void action_work(uv_work_t *req) {
        struct work *w = (struct work *) req;
        struct run *run = w->run;
        struct manager *m = run->m;
        const char *lxcpath = m->config.lxcpath, *name = w->item->name, *verb = w->action->verb;
        const struct desired *d = w->item->desired;

        if (strcmp(verb, "create") == 0) {
                if (w->item->observed.half_created || w->item->observed.exists)
                        w->r = ct_destroy(lxcpath, name, &w->error);
                if (w->r >= 0)
                        w->r = ct_create(lxcpath, d->def, &d->settings, item_has(w->item, "start"), &w->error);
        } else if (strcmp(verb, "update") == 0)
                w->r = ct_configure(lxcpath, name, &d->settings, true, &w->error);
        else if (strcmp(verb, "start") == 0)
                w->r = ct_start(lxcpath, name, &w->error);
        else if (strcmp(verb, "stop") == 0)
                w->r = ct_stop(lxcpath, name, (int) m->config.stop_timeout_s, &w->error);
        else if (strcmp(verb, "restart") == 0) {
                w->r = ct_stop(lxcpath, name, (int) m->config.stop_timeout_s, &w->error);
                if (w->r >= 0)
                        w->r = ct_start(lxcpath, name, &w->error);
        } else if (strcmp(verb, "destroy") == 0)
                w->r = ct_destroy(lxcpath, name, &w->error);
        else {
                w->r = -EOPNOTSUPP;
                w->error = strdup(w->action->reason);
        }
        w->observe_error = ct_observe(lxcpath, name, &d->settings, &w->observed);
}

static void action_after(uv_work_t *req, int status) {
        struct work *w = (struct work *) req;
        struct run *run = w->run;
        struct manager *m = run->m;
        struct item *it = w->item;
        struct action *a = w->action;

        a->duration_ms = (int64_t) ((uv_hrtime() - w->started) / 1000000);
        if (status < 0 && w->r >= 0)
                w->r = status;
        a->result = w->r >= 0 ? "ok" : "failed";
        if (w->r < 0)
                a->error = w->error ? TAKE_PTR(w->error) : strdup(strerror(-w->r));
        free(w->error);
        store_event_end(m->store, a->event, a->result, a->duration_ms, a->error);
        events_publish(m, a->event);
        log_full(w->r >= 0 ? LOG_INFO : LOG_ERR, it->name, a->verb, run->id, "%s %s%s%s (%s, %" PRId64 " ms)", a->verb,
                 a->result, a->error ? ": " : "", a->error ? a->error : "", a->reason, a->duration_ms);
        if (w->observe_error >= 0) {
                struct service *s = manager_find(m, it->name);

                ct_observed_done(&it->observed);
                it->observed = w->observed;
                if (s && strcmp(a->verb, "destroy") != 0) {
                        service_observed(m, s, &it->observed);
                        free(s->last_action);
                        s->last_action = strdup(a->verb);
                        free(s->last_error);
                        s->last_error = a->error ? strdup(a->error) : NULL;
                }
                update_service(run, it);
        }
        if (strcmp(a->verb, "destroy") == 0 && w->r >= 0) {
                store_remove_service(m->store, it->name);
                manager_forget(m, it->name);
        }
        if (run->request.progress) {
                json_t *j = action_json(it, a);
                if (j)
                        run->request.progress(run->request.userdata, j);
                json_decref(j);
        }
        free(w);
        it->next++;
        run->active--;
        if (a->result[0] == 'f' || it->next == it->n_actions) {
                struct service *s = manager_find(m, it->name);

                /* What was to follow a failed action is not attempted. */
                for (size_t k = it->next; k < it->n_actions; k++) {
                        it->actions[k].result = "skipped";
                        it->actions[k].error = hl_strdup_printf("%s failed", a->verb);
                        record_event(run, it->name, it->actions[k].verb, it->actions[k].reason, "skipped",
                                     it->actions[k].error);
                }
                it->status = a->result[0] == 'f' ? ITEM_FAILED : ITEM_DONE;
                if (s)
                        s->busy = false;
        } else
                it->status = ITEM_WAITING;
        run_schedule(run);
}

/* Back-off bookkeeping: an automatic start after an exit counts; a person's start or
 * apply clears the count. */
static void count_restart(struct run *run, struct item *it, const struct action *a) {
        struct service *s = manager_find(run->m, it->name);
        unsigned failures;
        int64_t when;

        if (!s || (strcmp(a->verb, "start") != 0 && strcmp(a->verb, "restart") != 0))
                return;
        if (it->automatic && strcmp(it->expected, "RUNNING") == 0) {
                failures = s->restart_failures + 1;
                when = now_ms();
        } else if (s->restart_failures > 0) {
                failures = 0;
                when = 0;
        } else
                return;
        if (store_restart_set(run->m->store, s->name, failures, when) < 0)
                log_warning("could not record the restart count of %s, ignoring", s->name);
        s->restart_failures = failures;
        s->last_restart_ms = when;
        if (failures == s->desired->def->restart.start_limit_burst && failures > 0)
                log_full(LOG_WARNING, s->name, "start", run->id,
                         "%u restarts in a row: further restarts back off from %" PRIu64 " ms", failures,
                         s->desired->def->restart.restart_sec_ms);
}

static int start_action(struct run *run, struct item *it) {
        struct manager *m = run->m;
        struct action *a = &it->actions[it->next];
        struct work *w;
        struct service *s;
        int r;

        r = store_event_begin(m->store, run->id, it->name, a->verb, a->reason, run->request.uid, run->user, &a->event);
        if (r < 0)
                return r;
        events_publish(m, a->event);
        count_restart(run, it, a);
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (struct work) { .run = run, .item = it, .action = a, .started = uv_hrtime() };
        r = work_queue(m->loop, &w->req, action_work, action_after);
        if (r < 0) {
                free(w);
                return r;
        }
        s = manager_find(m, it->name);
        if (s)
                s->busy = true;
        it->status = ITEM_ACTIVE;
        run->active++;
        manager_notify_status(m, "Run %" PRId64 ": %s %s.", run->id, a->verb, it->name);
        return 0;
}

static void skip_item(struct run *run, struct item *it, const char *reason) {
        for (size_t k = it->next; k < it->n_actions; k++) {
                struct action *a = &it->actions[k];

                a->result = "skipped";
                a->error = strdup(reason);
                record_event(run, it->name, a->verb, a->reason, "skipped", reason);
        }
        log_full(LOG_WARNING, it->name, it->actions[it->next].verb, run->id, "skipped: %s", reason);
        it->status = ITEM_SKIPPED;
}

/* What hld reports but does not do: a start the restart policy holds back, a change that
 * needs the container recreated. Recorded once while it stays the same; the item is done. */
static void hold_item(struct run *run, struct item *it) {
        struct service *s = manager_find(run->m, it->name);
        struct action *a = &it->actions[it->next];

        a->result = "held";
        if (s && s->last_action && strcmp(s->last_action, a->verb) == 0 && s->last_error &&
            strcmp(s->last_error, a->reason) == 0) {
                it->status = ITEM_DONE;
                return;
        }
        record_event(run, it->name, a->verb, a->reason, "held", NULL);
        log_full(LOG_WARNING, it->name, a->verb, run->id, "%s", a->reason);
        if (s) {
                free(s->last_action);
                s->last_action = strdup(a->verb);
                free(s->last_error);
                s->last_error = strdup(a->reason);
        }
        it->status = ITEM_DONE;
}

static void run_schedule(struct run *run) {
        struct manager *m = run->m;
        bool waiting = false;

        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];
                char reason[256];
                int ready;

                if (it->status != ITEM_WAITING)
                        continue;
                if (it->n_actions == 0 || it->next >= it->n_actions) {
                        it->status = ITEM_DONE;
                        continue;
                }
                if (strcmp(it->actions[it->next].verb, "hold") == 0 ||
                    strcmp(it->actions[it->next].verb, "recreate") == 0) {
                        hold_item(run, it);
                        continue;
                }
                if (it->next == 0) {
                        const char *health_of;

                        ready = item_ready(run, it, reason, sizeof(reason), &health_of);
                        if (ready < 0) {
                                stop_waiting(m, it);
                                skip_item(run, it, reason);
                                continue;
                        }
                        if (ready == 0) {
                                if (health_of)
                                        start_waiting(m, it, health_of);
                                waiting = true;
                                continue;
                        }
                }
                if (m->stopping) {
                        stop_waiting(m, it);
                        skip_item(run, it, "hld is stopping");
                        continue;
                }
                /* A parked run acts only while no other run does. */
                if (run->active >= m->config.jobs || (run->parked && m->run)) {
                        waiting = true;
                        continue;
                }
                stop_waiting(m, it);
                if (start_action(run, it) < 0)
                        skip_item(run, it, "hld could not record or queue the action");
        }
        if (run->active == 0 && !waiting) {
                /* Items that became ready from skips above get their turn. */
                for (size_t i = 0; i < run->n_items; i++)
                        if (run->items[i].status == ITEM_WAITING) {
                                run_schedule(run);
                                return;
                        }
                run_finish(run);
                return;
        }
        if (run->active == 0 && waiting && !run->parked && m->run == run) {
                /* Nothing under way and every item left waits for a requirement's first
                 * health verdict, which may take minutes: the run steps aside, so that
                 * runs of other services (a stop, a reconcile) go meanwhile. It resumes
                 * when a verdict comes; a later run that acts on one of its services
                 * takes the service over. */
                run->parked = true;
                run->parked_next = m->parked;
                m->parked = run;
                m->run = NULL;
                log_full(LOG_INFO, NULL, NULL, run->id, "run %" PRId64 " waits for health verdicts; other runs go meanwhile",
                         run->id);
                manager_notify_status(m, "Idle: %zu services; run %" PRId64 " waits for health.", m->n_services, run->id);
        }
        if (run->parked && run->active == 0)
                run_start_next(m);
}

static void resume_parked(struct manager *m) {
        /* run_schedule may finish (and free) a parked run: step on first. */
        for (struct run *p = m->parked, *next; p && !m->run; p = next) {
                next = p->parked_next;
                run_schedule(p);
        }
}
static void drop_actions(struct run *run) {
        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];

                for (size_t k = 0; k < it->n_actions; k++)
                        action_done(&it->actions[k]);
                free(it->actions);
                it->actions = NULL;
                it->n_actions = 0;
        }
}

/* Stores the revisions an Apply brought, all or none, at the moment its run begins: what
 * is stored is what this run executes. */
static int store_apply(struct run *run) {
        struct manager *m = run->m;
        _cleanup_free_ int64_t *revisions = calloc(run->n_apply + 1, sizeof(int64_t));
        int r;

        if (!revisions) {
                run_fail(run, NULL, "out of memory");
                return -ENOMEM;
        }
        r = store_begin(m->store);
        /* What the apply prunes is recorded as to be destroyed with the revisions: a kill
         * in the middle of the destroys leaves them to finish, not to undo. */
        for (char **p = run->prune; r >= 0 && p && *p; p++)
                r = store_set_destroying(m->store, *p);
        for (size_t i = 0; r >= 0 && i < run->n_apply; i++) {
                struct desired *d = run->apply[i];
                struct service *s = manager_find(m, d->def->name);
                _cleanup_free_ char *canonical = NULL;
                json_t *j;

                if (s && strcmp(s->desired->hash, d->hash) == 0) {
                        r = hl_strv_push(&run->unchanged, d->def->name);
                        continue;
                }
                j = hl_def_to_json(d->def);
                canonical = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                json_decref(j);
                if (!canonical) {
                        r = -ENOMEM;
                        break;
                }
                r = store_add_revision(m->store, d->def->name, d->hash, d->text, canonical, d->file, run->request.uid,
                                       run->user ? run->user : "", &revisions[i]);
                if (r >= 0 && s && s->override && s->desired->def->state != d->def->state)
                        r = store_set_override(m->store, d->def->name, NULL);
                if (r >= 0)
                        r = hl_strv_push(&run->changed, d->def->name);
        }
        if (r >= 0)
                r = store_commit(m->store);
        if (r < 0) {
                store_rollback(m->store);
                hl_strv_free(TAKE_PTR(run->changed));
                run_fail(run, NULL, "could not store the definitions: %s", strerror(-r));
                return r;
        }
        for (char **p = run->prune; p && *p; p++) {
                struct service *s = manager_find(m, *p);
                if (s)
                        s->destroying = true;
        }
        for (size_t i = 0; i < run->n_apply; i++) {
                struct desired *d = run->apply[i];
                struct service *s = manager_find(m, d->def->name);

                if (revisions[i] == 0)
                        continue;
                if (s)
                        s->destroying = false;
                d->revision = revisions[i];
                log_full(LOG_INFO, d->def->name, "apply", run->id, "revision %" PRId64 " applied by %s", d->revision,
                         run->user);
                if (manager_set_desired(m, d->def->name, d,
                                        s && s->override && s->desired->def->state == d->def->state ? s->override : NULL) < 0)
                        log_error("out of memory keeping revision %" PRId64 " of %s", d->revision, d->def->name);
                /* A new service: what the survey of this run saw is its state (MISSING). */
                if (!s && (s = manager_find(m, d->def->name))) {
                        struct item *it = run_find(run, d->def->name);
                        if (it && it->observe_error >= 0) {
                                ct_observed_done(&s->observed);
                                if (ct_observe_copy(&s->observed, &it->observed) >= 0)
                                        s->observed_valid = true;
                        }
                }
        }
        manager_sort(m);
        return 0;
}

static void run_execute(struct run *run) {
        struct manager *m = run->m;
        bool any = false;

        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];
                struct service *s = manager_find(m, it->name);

                /* What the survey saw is the freshest truth: status answers from it. What hld
                 * expects changes only with its own actions (and at start-up), so a stop
                 * behind its back stays one until hld starts the container again. */
                if (s && it->observe_error >= 0 && !run->plan_only) {
                        if (s->observed_valid && strcmp(s->observed.state, "RUNNING") == 0 &&
                            strcmp(it->observed.state, "RUNNING") != 0 && !s->busy)
                                record_event(run, it->name, "observe", "container stopped outside hld (was RUNNING)",
                                             "ok", NULL);
                        service_observed(m, s, &it->observed);
                        if (!s->expected_state[0])
                                update_service(run, it);
                        stable_reset(run, s);
                }
                /* A parked run acts on it: this one leaves it alone. */
                if (it->left_to) {
                        log_full(LOG_DEBUG, it->name, NULL, run->id, "left to run %" PRId64, it->left_to);
                        continue;
                }
                if (plan_item(it) < 0)
                        log_error("out of memory while planning %s", it->name);
                /* Nothing left to destroy: forgetting the service is all there is to do. */
                if (it->destroy && it->n_actions == 0 && !run->plan_only && s) {
                        store_remove_service(m->store, it->name);
                        manager_forget(m, it->name);
                }
                any = any || it->n_actions > 0;
        }
        plan_id(run);
        if (run->observe_only) {
                drop_actions(run);
                run_finish(run);
                return;
        }
        /* An id may be abbreviated to a prefix, as git's; Apply checks it has 12 or more digits. */
        if (run->expect_plan && strncmp(run->expect_plan, run->plan_id, strlen(run->expect_plan)) != 0) {
                run_fail(run, HL_ERROR_BUSY,
                         "the plan changed since %.12s was reviewed (it is %.12s now): run plan again", run->expect_plan,
                         run->plan_id);
                drop_actions(run);
                run_finish(run);
                return;
        }
        if (!run->plan_only && run->n_apply > 0 && store_apply(run) < 0) {
                drop_actions(run);
                run_finish(run);
                return;
        }
        if (run->plan_only || !any) {
                run_finish(run);
                return;
        }
        run_schedule(run);
}

static void survey_work(uv_work_t *req) {
        struct work *w = (struct work *) req;
        struct run *run = w->run;

        for (size_t i = w->first; i < run->n_items; i += w->stride) {
                struct item *it = &run->items[i];
                it->observe_error = ct_observe(run->m->config.lxcpath, it->name, &it->desired->settings, &it->observed);
        }
}

static void survey_after(uv_work_t *req, int status) {
        struct work *w = (struct work *) req;
        struct run *run = w->run;

        for (size_t i = w->first; status < 0 && i < run->n_items; i += w->stride)
                if (run->items[i].observe_error >= 0)
                        run->items[i].observe_error = status;
        free(w);
        if (--run->pending == 0)
                run_execute(run);
}

static int run_survey(struct run *run) {
        if (run->n_items == 0) {
                run_execute(run);
                return 0;
        }
        /* A survey is CPU work (parsing configs, asking monitors): it gets one thread less
         * than there are cores, so that the node — and hlctl status — keeps one. */
        size_t slots = run->m->survey_threads < run->n_items ? run->m->survey_threads : run->n_items;
        for (size_t i = 0; i < slots; i++) {
                struct work *w = calloc(1, sizeof(*w));
                int r;

                if (!w)
                        return -ENOMEM;
                w->run = run;
                w->first = i;
                w->stride = slots;
                r = work_queue(run->m->loop, &w->req, survey_work, survey_after);
                if (r < 0) {
                        free(w);
                        return r;
                }
                run->pending++;
        }
        return 0;
}

/* The parked run that still waits to act on a service, and its item there. */
static struct run *parked_owner(struct manager *m, const char *name, struct item **ret_item) {
        for (struct run *p = m->parked; p; p = p->parked_next) {
                struct item *it = run_find(p, name);
                if (it && it->status == ITEM_WAITING && it->next < it->n_actions) {
                        *ret_item = it;
                        return p;
                }
        }
        return NULL;
}

/* Whether a person asked this run to act on the service by name. */
static bool run_targets(const struct run *run, const char *name) {
        /* hld's own runs (a timer, an exit, a verdict) never take a service over. */
        if (run->request.uid < 0)
                return false;
        if (run->request.kind != JOB_RECONCILE || run->only)
                return (run->only && strcmp(run->only, name) == 0) || hl_strv_contains(run->also, name);
        if (hl_strv_contains(run->prune, name))
                return true;
        for (size_t i = 0; i < run->n_apply; i++)
                if (strcmp(run->apply[i]->def->name, name) == 0)
                        return true;
        return false;
}

/* A service that a parked run waits to act on stays that run's, unless this run was asked
 * to act on it: then this run takes it over and the parked run lets it go. */
static void take_over(struct run *run) {
        struct manager *m = run->m;

        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i], *theirs;
                struct run *owner = parked_owner(m, it->name, &theirs);
                char reason[64];

                if (!owner)
                        continue;
                if (!run_targets(run, it->name)) {
                        it->left_to = owner->id;
                        continue;
                }
                snprintf(reason, sizeof(reason), "superseded by run %" PRId64, run->id);
                stop_waiting(m, theirs);
                skip_item(owner, theirs, reason);
                run_schedule(owner);
        }
}

static void run_start_next(struct manager *m) {
        struct run *run;
        int r;

        if (m->run || !m->queue_head || m->stopping || parked_active(m))
                return;
        run = queue_head(m);
        m->queue_head = (struct job *) run->next;
        if (!m->queue_head)
                m->queue_tail = NULL;
        m->run = (struct run *) run;
        r = store_run_begin(m->store, run->request.trigger, run->request.uid, run->user, &run->id);
        if (r < 0) {
                /* Nothing may be done that cannot be recorded first; the containers are
                 * still looked at, so that status tells their real state. */
                log_error("cannot record run: %s; only surveying", store_strerror(r));
                run_fail(run, NULL, "could not record the run: %s", store_strerror(r));
                run->observe_only = true;
                run->id = 0;
        }
        r = run_collect(run, run->apply, run->n_apply);
        if (r >= 0 && run->only && run->n_items == 0)
                r = -ENOENT;
        if (r >= 0)
                take_over(run);
        if (r >= 0) {
                manager_notify_status(m, "Run %" PRId64 " (%s): surveying %zu containers.", run->id, run->request.trigger,
                                      run->n_items);
                r = run_survey(run);
        }
        if (r < 0 && run->pending == 0) {
                log_error("run %" PRId64 " could not start: %s", run->id, strerror(-r));
                run_fail(run, NULL, "the run could not start: %s", strerror(-r));
                run_finish(run);
        }
}

static struct run *run_new(struct manager *m, const struct job_request *request) {
        struct run *run = calloc(1, sizeof(*run));

        if (!run)
                return NULL;
        run->m = m;
        run->request = *request;
        run->only = request->only ? strdup(request->only) : NULL;
        run->user = request->user ? strdup(request->user) : NULL;
        for (char **p = request->prune; p && *p; p++)
                if (hl_strv_push(&run->prune, *p) < 0)
                        goto fail;
        for (char **p = request->also; p && *p; p++)
                if (hl_strv_push(&run->also, *p) < 0)
                        goto fail;
        run->expect_plan = request->expect_plan ? strdup(request->expect_plan) : NULL;
        run->apply = calloc(request->n_apply + 1, sizeof(*run->apply));
        if ((request->only && !run->only) || (request->user && !run->user) ||
            (request->expect_plan && !run->expect_plan) || !run->apply)
                goto fail;
        for (size_t i = 0; i < request->n_apply; i++)
                run->apply[run->n_apply++] = desired_ref(request->apply[i]);
        run->request.only = run->only;
        run->request.user = run->user;
        run->request.prune = run->prune;
        run->request.also = run->also;
        run->request.apply = NULL;
        run->request.expect_plan = run->expect_plan;
        return run;
fail:
        run_free(run);
        return NULL;
}

int reconcile_enqueue(struct manager *m, const struct job_request *request) {
        struct run *run = run_new(m, request);

        if (!run)
                return -ENOMEM;
        run->queued = true;
        if (m->queue_tail)
                ((struct run *) m->queue_tail)->next = run;
        else
                m->queue_head = (struct job *) run;
        m->queue_tail = (struct job *) run;
        run_start_next(m);
        return 0;
}

int reconcile_plan(struct manager *m, const char *trigger, struct desired **extra, size_t n_extra, char **prune,
                   job_done_cb done, void *userdata) {
        struct job_request request = { .kind = JOB_RECONCILE, .trigger = trigger, .prune = prune, .uid = -1,
                                       .done = done, .userdata = userdata };
        struct run *run = run_new(m, &request);
        int r;

        if (!run)
                return -ENOMEM;
        run->plan_only = true;
        r = run_collect(run, extra, n_extra);
        if (r >= 0)
                r = run_survey(run);
        if (r < 0 && run->pending == 0) {
                run->request.done = NULL;
                run_free(run);
                return r;
        }
        return 0;
}

void reconcile_on_timer(struct manager *m) {
        struct job_request request = { .kind = JOB_RECONCILE, .trigger = "timer", .uid = -1 };

        for (struct run *r = queue_head(m); r; r = r->next)
                if (r->request.kind == JOB_RECONCILE && !r->only)
                        return;
        if (reconcile_enqueue(m, &request) < 0)
                log_warning("could not queue the periodic reconcile, ignoring");
}

/* At shutdown, a parked run with nothing under way ends: what it waited for is skipped. */
static void drain_parked(struct manager *m) {
        for (struct run *p = m->parked, *next; p; p = next) {
                next = p->parked_next;
                if (p->active > 0)
                        continue;
                for (size_t i = 0; i < p->n_items; i++)
                        if (p->items[i].status == ITEM_WAITING && p->items[i].next < p->items[i].n_actions) {
                                stop_waiting(m, &p->items[i]);
                                skip_item(p, &p->items[i], "hld is stopping");
                        }
                run_finish(p);
        }
}

void reconcile_drain(struct manager *m) {
        drain_parked(m);
        while (m->queue_head) {
                struct run *run = queue_head(m);

                m->queue_head = (struct job *) run->next;
                if (run->request.done) {
                        json_t *none = json_array();
                        struct run_result result = { .actions = none, .error = "hld is stopping" };
                        run->request.done(run->request.userdata, &result);
                        json_decref(none);
                }
                run_free(run);
        }
        m->queue_tail = NULL;
}

void reconcile_poke(struct manager *m) {
        if (m->run && !m->run->finished && m->run->pending == 0 && !m->run->plan_only)
                run_schedule(m->run);
        else if (!m->run)
                resume_parked(m);
}
