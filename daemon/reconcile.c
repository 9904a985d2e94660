/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs: queued one at a time, surveyed (runs.c), planned (plan.c) and carried out
 * (execute.c); parked while they wait for health verdicts; finished, recorded and
 * answered. The periodic reconcile and the restart back-off are timers of this file, and
 * what the lower parts of the engine see (an exit, a verdict) reaches it through the
 * engine's hooks. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "execute.h"
#include "foreign.h"
#include "health.h"
#include "hl-protocol.h"
#include "log.h"
#include "reconcile.h"
#include "run.h"
#include "store.h"
#include "watch.h"

struct reconciler {
        struct run *head, *tail; /* queued */
        struct run *current;     /* the run that acts, if any */
        struct run *parked;      /* runs waiting for health verdicts, stepped aside */
        /* How many runs have left the parked list so far: a walk of it that sees this
         * change knows that any run it holds may be gone. */
        uint64_t parked_left;
        uv_timer_t timer;        /* the periodic reconcile */
        uv_timer_t backoff;      /* the next automatic restart after a back-off */
        size_t survey_threads;
};

static void run_start_next(struct manager *m);
static void resume_parked(struct manager *m);
static void run_progress(struct run *run);

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

/* True when a parked run has an action under way: no other run may act meanwhile. */
static bool parked_active(struct reconciler *rc) {
        for (struct run *p = rc->parked; p; p = p->parked_next)
                if (p->active > 0)
                        return true;
        return false;
}

void reconcile_forget(struct manager *m, const char *name) {
        struct service *s = manager_find(m, name);

        if (!s)
                return;
        if (store_remove_service(m->store, name) < 0)
                log_warning("could not record that %s is gone, ignoring", name);
        watch_stop(s);
        health_forget(s);
        manager_forget(m, name);
}

static void on_backoff(uv_timer_t *t) {
        struct manager *m = t->data;
        struct job_request request = { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_BACKOFF, .uid = -1 };

        if (reconcile_enqueue(m, &request) < 0)
                log_warning("could not queue the reconcile after a back-off, ignoring");
}

/* Arms the back-off timer for the earliest pending automatic restart. */
static void schedule_backoff(struct manager *m) {
        struct reconciler *rc = m->reconciler;
        int64_t next = 0, now = hl_now_ms();

        if (m->stopping || uv_is_closing((uv_handle_t *) &rc->backoff))
                return;
        for (size_t i = 0; i < m->n_services; i++) {
                int64_t t = service_next_restart(m->services[i]);
                /* Held back: stopped, or running but unhealthy and waiting for its restart. */
                bool held = m->services[i]->observed.state != HL_CT_RUNNING ||
                            health_status(m->services[i]) == HEALTH_UNHEALTHY;
                if (t > 0 && held && (next == 0 || t < next))
                        next = t;
        }
        uv_timer_stop(&rc->backoff);
        if (next > 0)
                uv_timer_start(&rc->backoff, on_backoff, next > now ? (uint64_t) (next - now) : 0, 0);
}

static void run_finish(struct run *run) {
        struct manager *m = run->m;
        struct reconciler *rc = m->reconciler;
        json_t *actions;
        bool failed = false, any = false, plan_only = run->plan_only;

        if (run->finished)
                return;
        run->finished = true;
        for (size_t i = 0; i < run->n_items; i++) {
                any = any || run->items[i].n_actions > 0;
                failed = failed || run->items[i].status == ITEM_FAILED || run->items[i].status == ITEM_SKIPPED;
        }
        if (run->id > 0 &&
            store_run_end(m->store, run->id, run->error ? "refused" : failed ? "failed" : any ? "ok" : "no-op") < 0)
                log_warning("could not record the end of run %" PRId64 ", ignoring", run->id);
        actions = plan_actions_json(run->items, run->n_items);
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
        if (!plan_only) {
                schedule_backoff(m);
                /* What else is in the lxcpath may have changed with it (a destroy, a prune). */
                foreign_refresh(m);
                /* States changed: the metrics file follows (when one is configured). */
                if (any)
                        health_export(m);
        }
        if (run->parked) {
                for (struct run **p = &rc->parked; *p; p = &(*p)->parked_next)
                        if (*p == run) {
                                *p = run->parked_next;
                                break;
                        }
                rc->parked_left++;
        } else if (run->queued && rc->current == run) {
                rc->current = NULL;
                manager_notify_status(m, "Idle: %zu services.", m->n_services);
        }
        for (size_t i = 0; i < run->n_items; i++)
                execute_stop_waiting(m, &run->items[i]);
        runs_free(run);
        /* What the parked runs wait for may have come meanwhile; they go before the queue. */
        if (!plan_only && !rc->current)
                resume_parked(m);
        run_start_next(m);
}

/* A container that has stayed up for StartLimitIntervalSec since its last automatic
 * restart is healthy again: the back-off count starts over. */
static void stable_reset(struct run *run, struct service *s) {
        if (run->plan_only || s->restart_failures == 0 || s->observed.state != HL_CT_RUNNING ||
            hl_now_ms() - s->last_restart_ms < (int64_t) s->desired->def->restart.start_limit_interval_ms)
                return;
        s->restart_failures = 0;
        s->last_restart_ms = 0;
        if (store_restart_set(run->m->store, s->name, 0, 0) < 0)
                log_warning("could not reset the restart count of %s, ignoring", s->name);
}

/* An action of the run ended: a destroyed service is forgotten, and the run goes on. */
static void on_progressed(struct run *run, struct item *it, struct action *a) {
        if (a->verb == HL_VERB_DESTROY && a->result == HL_RESULT_OK)
                reconcile_forget(run->m, it->name);
        run_progress(run);
}

/* The run goes on, steps aside, or ends. */
static void run_progress(struct run *run) {
        struct manager *m = run->m;
        struct reconciler *rc = m->reconciler;

        /* A parked run acts only while no other run does. */
        run->jobs = run->parked && rc->current ? 0 : m->config.jobs;
        switch (execute_schedule(run)) {
        case SCHEDULE_BUSY:
                return;
        case SCHEDULE_DONE:
                run_finish(run);
                return;
        case SCHEDULE_WAITING:
                break;
        }
        if (!run->parked && rc->current == run) {
                /* Nothing under way and every item left waits for a requirement's first
                 * health verdict, which may take minutes: the run steps aside, so that
                 * runs of other services (a stop, a reconcile) go meanwhile. It resumes
                 * when a verdict comes; a later run that acts on one of its services
                 * takes the service over. */
                run->parked = true;
                run->parked_next = rc->parked;
                rc->parked = run;
                rc->current = NULL;
                log_full(LOG_INFO, NULL, NULL, run->id, "run %" PRId64 " waits for health verdicts; other runs go meanwhile",
                         run->id);
                manager_notify_status(m, "Idle: %zu services; run %" PRId64 " waits for health.", m->n_services, run->id);
        }
        run_start_next(m);
}

static void resume_parked(struct manager *m) {
        struct reconciler *rc = m->reconciler;
        bool again = true;

        /* run_progress may finish (and free) this parked run or others — also through a
         * resume of its own, from run_finish —, so the walk starts over from the head each
         * time one has left the list. Each start over follows a run's end: it ends. */
        while (again && !rc->current) {
                again = false;
                for (struct run *p = rc->parked; p && !rc->current; p = p->parked_next) {
                        uint64_t left = rc->parked_left;

                        run_progress(p);
                        if (rc->parked_left != left) {
                                again = true;
                                break;
                        }
                }
        }
}

static void drop_actions(struct run *run) {
        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];

                for (size_t k = 0; k < it->n_actions; k++) {
                        free(it->actions[k].reason);
                        hl_strv_free(it->actions[k].changes);
                        free(it->actions[k].error);
                }
                free(it->actions);
                it->actions = NULL;
                it->n_actions = 0;
        }
}

/* Stores the revisions an Apply brought, all or none, at the moment its run begins: what
 * is stored is what this run executes. Each stored revision is an apply event of the same
 * transaction; what the apply prunes is recorded as to be destroyed, so that a kill in the
 * middle of the destroys leaves them to finish, not to undo. */
static int store_apply(struct run *run) {
        struct manager *m = run->m;
        _cleanup_free_ int64_t *revisions = calloc(run->n_apply + 1, sizeof(int64_t));
        _cleanup_free_ int64_t *events = calloc(run->n_apply + 1, sizeof(int64_t));
        int r;

        if (!revisions || !events) {
                run_fail(run, NULL, "out of memory");
                return -ENOMEM;
        }
        r = store_begin(m->store);
        for (char **p = run->prune; r >= 0 && p && *p; p++)
                r = store_set_destroying(m->store, *p);
        for (size_t i = 0; r >= 0 && i < run->n_apply; i++) {
                struct desired *d = run->apply[i];
                struct service *s = manager_find(m, d->def->name);
                char reason[64];

                if (s && strcmp(s->desired->hash, d->hash) == 0) {
                        r = hl_strv_push(&run->unchanged, d->def->name);
                        continue;
                }
                r = store_add_revision(m->store, d->def->name, d->hash, d->text, d->canonical, d->file,
                                       run->request.uid, run->user ? run->user : "", &revisions[i]);
                if (r >= 0 && s && s->overridden && s->desired->def->state != d->def->state)
                        r = store_set_override(m->store, d->def->name, false, HL_WANT_RUNNING);
                snprintf(reason, sizeof(reason), "revision %" PRId64 " from %s", revisions[i], d->file);
                if (r >= 0)
                        r = store_event_add(m->store, run->id, d->def->name, HL_VERB_APPLY, reason, HL_RESULT_OK, NULL,
                                            run->request.uid, run->user, &events[i]);
                if (r >= 0)
                        r = hl_strv_push(&run->changed, d->def->name);
        }
        if (r >= 0)
                r = store_commit(m->store);
        if (r < 0) {
                store_rollback(m->store);
                hl_strv_free(TAKE_PTR(run->changed));
                run_fail(run, NULL, "could not store the definitions: %s", store_strerror(r));
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
                bool keep_override = s && s->overridden && s->desired->def->state == d->def->state;

                if (revisions[i] == 0)
                        continue;
                events_publish(m, events[i]);
                d->revision = revisions[i];
                log_full(LOG_INFO, d->def->name, "apply", run->id, "revision %" PRId64 " applied by %s", d->revision,
                         run->user);
                if (manager_set_desired(m, d->def->name, d) < 0) {
                        log_error("out of memory keeping revision %" PRId64 " of %s", d->revision, d->def->name);
                        continue;
                }
                if (!s) {
                        /* A new service: what the survey of this run saw is its state (MISSING). */
                        struct item *it = runs_find(run, d->def->name);

                        s = manager_find(m, d->def->name);
                        if (s && it && it->observe_error >= 0) {
                                ct_observed_done(&s->observed);
                                if (ct_observe_copy(&s->observed, &it->observed) >= 0)
                                        s->observed_valid = true;
                        }
                }
                s->destroying = false;
                s->overridden = keep_override;
                if (s->observed_valid)
                        health_update(m, s);
        }
        /* The order the apply's check computed for the node: not worked out again. */
        if (run->order)
                manager_reorder(m, run->order);
        else
                manager_sort(m);
        return 0;
}

/* The survey is in: what it saw becomes what hld knows, each service is planned, and the
 * plan is carried out, unless it is only a plan. */
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
                        if (s->observed_valid && s->observed.state == HL_CT_RUNNING && it->observed.state != HL_CT_RUNNING &&
                            !s->busy)
                                events_record(m, run->id, it->name, HL_VERB_OBSERVE,
                                              "container stopped outside hld (was RUNNING)", HL_RESULT_OK, NULL);
                        execute_observed(m, s, &it->observed);
                        if (s->expected == HL_CT_UNKNOWN)
                                s->expected = it->observed.state;
                        stable_reset(run, s);
                }
                /* A parked run acts on it: this one leaves it alone. */
                if (it->left_to) {
                        log_full(LOG_DEBUG, it->name, NULL, run->id, "left to run %" PRId64, it->left_to);
                        continue;
                }
                if (plan_item(it, hl_now_ms()) < 0)
                        log_error("out of memory while planning %s", it->name);
                /* Nothing left to destroy: forgetting the service is all there is to do. */
                if (it->destroy && it->n_actions == 0 && !run->plan_only && s)
                        reconcile_forget(m, it->name);
                any = any || it->n_actions > 0;
        }
        plan_id(run->items, run->n_items, run->plan_id);
        if (run->observe_only) {
                drop_actions(run);
                run_finish(run);
                return;
        }
        /* An id may be abbreviated to a prefix, as git's; Apply checks it has 12 or more digits. */
        if (run->expect_plan && strncmp(run->expect_plan, run->plan_id, strlen(run->expect_plan)) != 0) {
                run_fail(run, HL_ERROR_BUSY, "the plan changed since %.12s was reviewed (it is %.12s now): run plan again",
                         run->expect_plan, run->plan_id);
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
        run_progress(run);
}

/* The parked run that still waits to act on a service, and its item there. */
static struct run *parked_owner(struct reconciler *rc, const char *name, struct item **ret_item) {
        for (struct run *p = rc->parked; p; p = p->parked_next) {
                struct item *it = runs_find(p, name);
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

        for (size_t i = 0; m->reconciler->parked && i < run->n_items; i++) {
                struct item *it = &run->items[i], *theirs;
                struct run *owner = parked_owner(m->reconciler, it->name, &theirs);
                char reason[64];

                if (!owner)
                        continue;
                if (!run_targets(run, it->name)) {
                        it->left_to = owner->id;
                        continue;
                }
                snprintf(reason, sizeof(reason), "superseded by run %" PRId64, run->id);
                execute_stop_waiting(m, theirs);
                execute_skip(owner, theirs, reason);
                run_progress(owner);
        }
}

static void run_start_next(struct manager *m) {
        struct reconciler *rc = m->reconciler;
        struct run *run;
        int r;

        if (rc->current || !rc->head || m->stopping || parked_active(rc))
                return;
        run = rc->head;
        rc->head = run->next;
        if (!rc->head)
                rc->tail = NULL;
        rc->current = run;
        run->surveyed = run_execute;
        run->progressed = on_progressed;
        run->survey_threads = rc->survey_threads;
        run->stop_timeout_s = run->request.force             ? 0
                              : run->request.stop_timeout_set ? run->request.stop_timeout_s
                                                              : m->config.stop_timeout_s;
        r = store_run_begin(m->store, run->request.trigger, run->request.uid, run->user, &run->id);
        if (r < 0) {
                /* Nothing may be done that cannot be recorded first; the containers are
                 * still looked at, so that status tells their real state. */
                log_error("cannot record a run: %s; only surveying", store_strerror(r));
                run_fail(run, NULL, "could not record the run: %s", store_strerror(r));
                run->observe_only = true;
                run->id = 0;
        }
        r = runs_collect(run);
        if (r >= 0 && run->only && run->n_items == 0)
                r = -ENOENT;
        if (r >= 0) {
                take_over(run);
                manager_notify_status(m, "Run %" PRId64 " (%s): surveying %zu containers.", run->id,
                                      hl_trigger_to_string(run->request.trigger), run->n_items);
                r = runs_survey(run);
        }
        if (r < 0 && run->pending == 0) {
                log_error("run %" PRId64 " could not start: %s", run->id, strerror(-r));
                run_fail(run, NULL, "the run could not start: %s", strerror(-r));
                run_finish(run);
        }
}

int reconcile_enqueue(struct manager *m, const struct job_request *request) {
        struct reconciler *rc = m->reconciler;
        struct run *run = runs_new(m, request);

        if (!run)
                return -ENOMEM;
        run->queued = true;
        if (rc->tail)
                rc->tail->next = run;
        else
                rc->head = run;
        rc->tail = run;
        run_start_next(m);
        return 0;
}

int reconcile_plan(struct manager *m, const struct job_request *request) {
        struct run *run = runs_new(m, request);
        int r;

        if (!run)
                return -ENOMEM;
        run->plan_only = true;
        run->surveyed = run_execute;
        run->progressed = on_progressed;
        run->survey_threads = m->reconciler->survey_threads;
        r = runs_collect(run);
        if (r >= 0)
                r = runs_survey(run);
        if (r < 0 && run->pending == 0) {
                run->request.done = NULL;
                runs_free(run);
                return r;
        }
        return 0;
}

static void on_timer(uv_timer_t *t) {
        struct manager *m = t->data;
        struct job_request request = { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_TIMER, .uid = -1 };

        for (struct run *r = m->reconciler->head; r; r = r->next)
                if (r->request.kind == JOB_RECONCILE && !r->only)
                        return;
        if (reconcile_enqueue(m, &request) < 0)
                log_warning("could not queue the periodic reconcile, ignoring");
}

void reconcile_start_timers(struct manager *m) {
        struct reconciler *rc = m->reconciler;

        uv_timer_stop(&rc->timer);
        if (m->config.reconcile_interval_ms > 0)
                uv_timer_start(&rc->timer, on_timer, m->config.reconcile_interval_ms, m->config.reconcile_interval_ms);
}

static void on_container_exited(struct manager *m, const char *service) {
        int r = reconcile_enqueue(m, &(struct job_request) { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_CONTAINER_EXIT,
                                                             .only = service, .uid = -1 });
        if (r < 0)
                log_warning("could not queue a reconcile of %s after its exit: %s, ignoring", service, strerror(-r));
}

/* A verdict: an unhealthy service is restarted under its policy; runs waiting for it look
 * again. */
static void on_verdict(struct manager *m, const char *service, bool unhealthy) {
        struct reconciler *rc = m->reconciler;
        struct service *s = manager_find(m, service);

        if (unhealthy && s && !s->desired->def->host && s->desired->def->restart.policy != HL_RESTART_NO &&
            reconcile_enqueue(m, &(struct job_request) { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_HEALTH,
                                                         .only = service, .uid = -1 }) < 0)
                log_warning("could not queue a reconcile of unhealthy %s, ignoring", service);
        /* Healthy: what requires it and is down for want of it goes up now, not at the next
         * timer (a start skipped on "requires db, which is unhealthy"). */
        for (size_t i = 0; !unhealthy && s && i < m->n_services; i++) {
                struct service *d = m->services[i];

                if (d->desired->def->host || d->observed.state == HL_CT_RUNNING || service_wanted(d) != HL_WANT_RUNNING ||
                    !hl_strv_contains(d->desired->def->requires, service))
                        continue;
                if (reconcile_enqueue(m, &(struct job_request) { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_HEALTH,
                                                                 .only = d->name, .uid = -1 }) < 0)
                        log_warning("could not queue a reconcile of %s after %s turned healthy, ignoring", d->name, service);
        }
        if (rc->current && !rc->current->finished && rc->current->pending == 0 && !rc->current->plan_only)
                run_progress(rc->current);
        else if (!rc->current)
                resume_parked(m);
}

int reconcile_init(struct manager *m) {
        struct reconciler *rc = calloc(1, sizeof(*rc));
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        if (!rc)
                return -ENOMEM;
        rc->survey_threads = cpus > 2 ? (size_t) cpus - 1 : 1;
        uv_timer_init(m->loop, &rc->timer);
        uv_timer_init(m->loop, &rc->backoff);
        rc->timer.data = rc->backoff.data = m;
        m->reconciler = rc;
        m->hooks.container_exited = on_container_exited;
        m->hooks.verdict = on_verdict;
        return 0;
}

void reconcile_done(struct manager *m) {
        /* Its timers were closed by reconcile_drain, or with every handle at the end. */
        free(m->reconciler);
        m->reconciler = NULL;
        m->hooks = (struct engine_hooks) {};
}

/* At shutdown, a parked run with nothing under way ends: what it waited for is skipped.
 * Finishing one resumes the others (and may finish them): the list is walked again from
 * its head each time, never through a run that may be gone. */
static void drain_parked(struct manager *m) {
        bool again = true;

        while (again) {
                again = false;
                for (struct run *p = m->reconciler->parked; p; p = p->parked_next) {
                        if (p->active > 0)
                                continue;
                        for (size_t i = 0; i < p->n_items; i++)
                                if (p->items[i].status == ITEM_WAITING && p->items[i].next < p->items[i].n_actions) {
                                        execute_stop_waiting(m, &p->items[i]);
                                        execute_skip(p, &p->items[i], "hld is stopping");
                                }
                        run_finish(p);
                        again = true;
                        break;
                }
        }
}

void reconcile_drain(struct manager *m) {
        struct reconciler *rc = m->reconciler;

        if (!uv_is_closing((uv_handle_t *) &rc->timer)) {
                uv_close((uv_handle_t *) &rc->timer, NULL);
                uv_close((uv_handle_t *) &rc->backoff, NULL);
        }
        drain_parked(m);
        while (rc->head) {
                struct run *run = rc->head;

                rc->head = run->next;
                if (run->request.done) {
                        json_t *none = json_array();
                        struct run_result result = { .actions = none, .error = "hld is stopping" };
                        run->request.done(run->request.userdata, &result);
                        json_decref(none);
                }
                runs_free(run);
        }
        rc->tail = NULL;
}
