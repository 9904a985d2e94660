/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "execute.h"
#include "health.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"
#include "watch.h"
#include "work.h"

/* One action in the pool. What the thread needs is copied in when it is queued: the loop
 * may change the configuration (SIGHUP) meanwhile. */
struct action_work {
        uv_work_t req;
        struct run *run;
        struct item *item;
        struct action *action;
        char *lxcpath;
        int stop_timeout_s;
        bool leave_running; /* a create that is followed by a start: leave it running */
        int r;
        char *error;
        char *detail; /* what the action recorded (a create's Provision= steps), JSON */
        uint64_t started;
        struct ct_observed observed;
        int observe_error;
};

void execute_stop_waiting(struct manager *m, struct item *it) {
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
        s->waiting_since = hl_now_ms();
}

void execute_observed(struct manager *m, struct service *s, const struct ct_observed *o) {
        ct_observed_done(&s->observed);
        if (ct_observe_copy(&s->observed, o) < 0) {
                s->observed.state = HL_CT_UNKNOWN;
                s->observed_valid = false;
                return;
        }
        s->observed_valid = true;
        watch_update(m, s);
        health_update(m, s);
}

static bool item_active(const struct item *it) {
        return it->status == ITEM_WAITING || it->status == ITEM_ACTIVE;
}

static bool item_brings_up(const struct item *it) {
        return plan_item_has(it, HL_VERB_CREATE) || plan_item_has(it, HL_VERB_START) || plan_item_has(it, HL_VERB_RESTART);
}

static bool item_takes_down(const struct item *it) {
        return plan_item_has(it, HL_VERB_STOP) || plan_item_has(it, HL_VERB_DESTROY);
}

/* Ordering (Requires=, After=): what brings a service up waits for what it requires or
 * comes after; what takes one down waits for the services that require it or come after it
 * to go down first. Returns 1 when the
 * item may go, 0 to wait (ret_health_of: for that requirement's first verdict), -1 when it
 * must be skipped (reason says why). */
static int item_ready(struct run *run, struct item *it, char *reason, size_t size, const char **ret_health_of) {
        const struct hl_def *def = it->desired->def;
        const char *source;

        *ret_health_of = NULL;
        /* A clone waits for the container it copies to be made first. */
        if (plan_item_has(it, HL_VERB_CREATE) && hl_def_template_kind(def, &source) == HL_TEMPLATE_CLONE) {
                struct item *src = runs_find(run, source);
                if (src && item_active(src))
                        return 0;
        }
        /* After=: only the order, within this run; what it names failing changes nothing. */
        if (item_brings_up(it))
                for (char **a = def->after; a && *a; a++) {
                        struct item *dep = runs_find(run, *a);
                        if (dep && item_active(dep) && !dep->left_to && item_brings_up(dep))
                                return 0;
                }
        if (item_brings_up(it))
                for (char **r = def->requires; r && *r; r++) {
                        struct item *dep = runs_find(run, *r);
                        struct service *s;

                        if (dep && item_active(dep) && !dep->left_to)
                                return 0;
                        if (dep && (dep->status == ITEM_FAILED || dep->status == ITEM_SKIPPED)) {
                                snprintf(reason, size, "requires %s, which %s", *r,
                                         dep->status == ITEM_FAILED ? "failed" : "was skipped");
                                return -1;
                        }
                        s = manager_find(run->m, *r);
                        /* A Host= service (a VM, a NAS) is not started here: it is up when its
                         * checks pass, and what requires it starts on that verdict. */
                        if (s && s->desired->def->host) {
                                if (health_status(s) == HEALTH_STARTING) {
                                        *ret_health_of = s->name;
                                        return 0;
                                }
                                if (health_status(s) == HEALTH_UNHEALTHY) {
                                        snprintf(reason, size, "requires %s (Host=%s), which is unhealthy: started when it "
                                                 "is healthy", *r, s->desired->def->host);
                                        return -1;
                                }
                                continue;
                        }
                        if (!s || !s->observed_valid || s->observed.state != HL_CT_RUNNING) {
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
                        if (other != it && item_active(other) && item_takes_down(other) &&
                            (hl_strv_contains(other->desired->def->requires, it->name) ||
                             hl_strv_contains(other->desired->def->after, it->name)))
                                return 0;
                }
        return 1;
}

static void action_work(uv_work_t *req) {
        struct action_work *w = (struct action_work *) req;
        const char *name = w->item->name;
        const struct desired *d = w->item->desired;

        switch (w->action->verb) {
        case HL_VERB_CREATE:
                if (w->item->observed.half_created || w->item->observed.exists)
                        w->r = ct_destroy(w->lxcpath, name, &w->error);
                if (w->r >= 0)
                        w->r = ct_create(w->lxcpath, d->def, &d->settings, w->leave_running, &w->detail, &w->error);
                break;
        case HL_VERB_UPDATE:
                w->r = ct_configure(w->lxcpath, name, &d->settings, true, &w->error);
                break;
        case HL_VERB_START:
                w->r = ct_start(w->lxcpath, name, &w->error);
                break;
        case HL_VERB_STOP:
                w->r = ct_stop(w->lxcpath, name, w->stop_timeout_s, &w->error);
                break;
        case HL_VERB_RESTART:
                w->r = ct_stop(w->lxcpath, name, w->stop_timeout_s, &w->error);
                if (w->r >= 0)
                        w->r = ct_start(w->lxcpath, name, &w->error);
                break;
        case HL_VERB_DESTROY:
                /* A clean shutdown first, as a stop does, unless forced (timeout 0). */
                if (w->item->observed.state != HL_CT_STOPPED && w->item->observed.state != HL_CT_MISSING)
                        w->r = ct_stop(w->lxcpath, name, w->stop_timeout_s, &w->error);
                if (w->r >= 0)
                        w->r = ct_destroy(w->lxcpath, name, &w->error);
                break;
        case HL_VERB_SNAPSHOT:
                w->r = snapshot_take(w->lxcpath, name, w->item->snapshot, w->item->comment, &w->error);
                break;
        case HL_VERB_ROLLBACK: {
                /* The one a kill interrupted, or the one asked for. */
                const char *snap = w->item->observed.rolling_back[0] ? w->item->observed.rolling_back
                                   : w->item->snapshot                 ? w->item->snapshot
                                                                       : w->item->observed.updating;

                if (w->item->observed.state != HL_CT_STOPPED && w->item->observed.state != HL_CT_MISSING)
                        w->r = ct_stop(w->lxcpath, name, w->stop_timeout_s, &w->error);
                if (w->r >= 0)
                        w->r = snapshot_rollback(w->lxcpath, name, snap, &w->error);
                /* An update rolled back is judged. */
                if (w->r >= 0 && strcmp(w->item->observed.updating, snap) == 0) {
                        _cleanup_free_ char *marker = hl_strdup_printf("%s/%s/" CT_FILE_UPDATING, w->lxcpath, name);
                        if (marker)
                                (void) unlink(marker);
                }
                /* The snapshot's config, then what the definition wants of it. */
                if (w->r >= 0)
                        w->r = ct_configure(w->lxcpath, name, &d->settings, false, &w->error);
                if (w->r >= 0 && w->item->wanted == HL_WANT_RUNNING)
                        w->r = ct_start(w->lxcpath, name, &w->error);
                break;
        }
        case HL_VERB_DELETE_SNAPSHOT:
                w->r = snapshot_delete(w->lxcpath, name, w->item->snapshot, &w->error);
                break;
        case HL_VERB_EXEC: {
                /* An update's lines, recorded first as unjudged (its snapshot's name). */
                _cleanup_free_ char *snaps = hl_strdup_printf("%s/%s/snaps", w->lxcpath, name);

                w->r = snaps ? ct_exec_steps(w->lxcpath, name, d->def->update.exec, "Update", snaps,
                                             strrchr(CT_FILE_UPDATING, '/') + 1, w->item->snapshot, &w->detail, &w->error)
                             : -ENOMEM;
                break;
        }
        case HL_VERB_BACKUP:
        case HL_VERB_DELETE_BACKUP:
        case HL_VERB_ATTACH:
                /* Recorded by methods-backup.c, never an action of a run. */
        case HL_VERB_RECREATE:
        case HL_VERB_HOLD:
        case HL_VERB_OBSERVE:
        case HL_VERB_HEALTH:
        case HL_VERB_APPLY:
        case _HL_VERB_MAX:
                /* Planned, never queued: execute_schedule reports these. */
                w->r = -EOPNOTSUPP;
                w->error = strdup(w->action->reason);
                break;
        }
        w->observe_error = ct_observe(w->lxcpath, name, &d->settings, &w->observed);
}

/* The item is done with: what is left of its actions is skipped after a failure. */
static void item_finished(struct run *run, struct item *it, bool failed, enum hl_verb failed_verb) {
        struct service *s = manager_find(run->m, it->name);

        for (size_t k = it->next; k < it->n_actions; k++) {
                struct action *a = &it->actions[k];

                a->done = true;
                a->result = HL_RESULT_SKIPPED;
                a->error = hl_strdup_printf("%s failed", hl_verb_to_string(failed_verb));
                events_record(run->m, run->id, it->name, a->verb, a->reason, HL_RESULT_SKIPPED, a->error);
        }
        it->next = it->n_actions;
        it->status = failed ? ITEM_FAILED : ITEM_DONE;
        if (s)
                s->busy = false;
}

static void action_after(uv_work_t *req, int status) {
        struct action_work *w = (struct action_work *) req;
        struct run *run = w->run;
        struct manager *m = run->m;
        struct item *it = w->item;
        struct action *a = w->action;
        struct service *s;

        a->duration_ms = (int64_t) ((uv_hrtime() - w->started) / 1000000);
        if (status < 0 && w->r >= 0)
                w->r = status;
        a->done = true;
        a->result = w->r >= 0 ? HL_RESULT_OK : HL_RESULT_FAILED;
        if (w->r < 0)
                a->error = w->error ? TAKE_PTR(w->error) : strdup(strerror(-w->r));
        free(w->error);
        free(w->lxcpath);
        if (store_event_end(m->store, a->event, a->result, a->duration_ms, a->error, w->detail) < 0)
                log_warning("could not record the end of %s %s, ignoring", hl_verb_to_string(a->verb), it->name);
        free(w->detail);
        events_publish(m, a->event);
        log_full(w->r >= 0 ? LOG_INFO : LOG_ERR, it->name, hl_verb_to_string(a->verb), run->id, "%s %s%s%s (%s, %" PRId64 " ms)",
                 hl_verb_to_string(a->verb), hl_result_to_string(a->result), a->error ? ": " : "",
                 a->error ? a->error : "", a->reason, a->duration_ms);
        s = manager_find(m, it->name);
        if (w->observe_error >= 0) {
                ct_observed_done(&it->observed);
                it->observed = w->observed;
                if (s && a->verb != HL_VERB_DESTROY) {
                        execute_observed(m, s, &it->observed);
                        s->last_action = (int) a->verb;
                        free(s->last_error);
                        s->last_error = a->error ? strdup(a->error) : NULL;
                }
                if (s && !run->plan_only)
                        s->expected = it->observed.state;
        }
        if (run->request.progress) {
                json_t *j = plan_action_json(it, a);
                if (j)
                        run->request.progress(run->request.userdata, j);
                json_decref(j);
        }
        free(w);
        it->next++;
        run->active--;
        if (a->result == HL_RESULT_FAILED || it->next == it->n_actions)
                item_finished(run, it, a->result == HL_RESULT_FAILED, a->verb);
        else
                it->status = ITEM_WAITING;
        /* A destroyed service is forgotten by the reconciler, which is told now. */
        run->progressed(run, it, a);
}

/* What status and why show of the latest action. */
static void s_last_error(struct manager *m, struct item *it, const struct action *a) {
        struct service *s = manager_find(m, it->name);

        if (!s)
                return;
        s->last_action = (int) a->verb;
        free(s->last_error);
        s->last_error = a->error ? strdup(a->error) : NULL;
}

/* Back-off bookkeeping: an automatic start after an exit counts; a person's start or
 * apply clears the count. */
static void count_restart(struct run *run, struct item *it, const struct action *a) {
        struct service *s = manager_find(run->m, it->name);
        unsigned failures;
        int64_t when;

        if (!s || (a->verb != HL_VERB_START && a->verb != HL_VERB_RESTART))
                return;
        if (it->automatic && it->expected == HL_CT_RUNNING) {
                failures = s->restart_failures + 1;
                when = hl_now_ms();
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

/* An action the plan knows cannot succeed: recorded as tried and failed, with the reason,
 * and what follows it skipped. */
static int fail_action(struct run *run, struct item *it, struct action *a) {
        struct manager *m = run->m;
        int r;

        r = store_event_begin(m->store, run->id, it->name, a->verb, a->reason, run->request.uid, run->user, &a->event);
        if (r < 0)
                return r;
        a->done = true;
        a->result = HL_RESULT_FAILED;
        a->error = strdup(it->problem ? it->problem : a->reason);
        if (store_event_end(m->store, a->event, a->result, 0, a->error, NULL) < 0)
                log_warning("could not record the end of %s %s, ignoring", hl_verb_to_string(a->verb), it->name);
        events_publish(m, a->event);
        log_full(LOG_ERR, it->name, hl_verb_to_string(a->verb), run->id, "%s", a->reason);
        s_last_error(m, it, a);
        it->next++;
        item_finished(run, it, true, a->verb);
        return 0;
}

static int start_action(struct run *run, struct item *it) {
        struct manager *m = run->m;
        struct action *a = &it->actions[it->next];
        struct action_work *w;
        struct service *s;
        int r;

        if (a->impossible)
                return fail_action(run, it, a);
        r = store_event_begin(m->store, run->id, it->name, a->verb, a->reason, run->request.uid, run->user, &a->event);
        if (r < 0)
                return r;
        events_publish(m, a->event);
        count_restart(run, it, a);
        w = calloc(1, sizeof(*w));
        if (!w || !(w->lxcpath = strdup(m->config.lxcpath))) {
                free(w);
                return -ENOMEM;
        }
        w->run = run;
        w->item = it;
        w->action = a;
        w->started = uv_hrtime();
        w->stop_timeout_s = (int) run->stop_timeout_s;
        w->leave_running = plan_item_has(it, HL_VERB_START);
        r = work_queue(m->loop, &w->req, action_work, action_after);
        if (r < 0) {
                free(w->lxcpath);
                free(w);
                return r;
        }
        s = manager_find(m, it->name);
        if (s)
                s->busy = true;
        it->status = ITEM_ACTIVE;
        run->active++;
        manager_notify_status(m, "Run %" PRId64 ": %s %s.", run->id, hl_verb_to_string(a->verb), it->name);
        return 0;
}

void execute_skip(struct run *run, struct item *it, const char *reason) {
        for (size_t k = it->next; k < it->n_actions; k++) {
                struct action *a = &it->actions[k];

                a->done = true;
                a->result = HL_RESULT_SKIPPED;
                a->error = strdup(reason);
                events_record(run->m, run->id, it->name, a->verb, a->reason, HL_RESULT_SKIPPED, reason);
        }
        if (it->next < it->n_actions)
                log_full(LOG_WARNING, it->name, hl_verb_to_string(it->actions[it->next].verb), run->id, "skipped: %s",
                         reason);
        it->next = it->n_actions;
        it->status = ITEM_SKIPPED;
}

/* What hld reports but does not do: a start the restart policy holds back, a change that
 * needs the container recreated. Recorded once while it stays the same; the item is done. */
static void hold_item(struct run *run, struct item *it) {
        struct service *s = manager_find(run->m, it->name);
        struct action *a = &it->actions[it->next];

        a->done = true;
        a->result = HL_RESULT_HELD;
        it->status = ITEM_DONE;
        if (s && s->last_action == (int) a->verb && s->last_error && strcmp(s->last_error, a->reason) == 0)
                return;
        events_record(run->m, run->id, it->name, a->verb, a->reason, HL_RESULT_HELD, NULL);
        log_full(LOG_WARNING, it->name, hl_verb_to_string(a->verb), run->id, "%s", a->reason);
        if (s) {
                s->last_action = (int) a->verb;
                free(s->last_error);
                s->last_error = strdup(a->reason);
        }
}

/* Which items may act now. */
static bool schedule_pass(struct run *run) {
        struct manager *m = run->m;
        bool waiting = false;

        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];
                const char *health_of;
                char reason[256];
                int ready;

                if (it->status != ITEM_WAITING)
                        continue;
                if (it->left_to || it->next >= it->n_actions) {
                        it->status = ITEM_DONE;
                        continue;
                }
                switch (it->actions[it->next].verb) {
                case HL_VERB_HOLD:
                case HL_VERB_RECREATE:
                        hold_item(run, it);
                        continue;
                default:
                        break;
                }
                if (it->next == 0) {
                        ready = item_ready(run, it, reason, sizeof(reason), &health_of);
                        if (ready < 0) {
                                execute_stop_waiting(m, it);
                                execute_skip(run, it, reason);
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
                        execute_stop_waiting(m, it);
                        execute_skip(run, it, "hld is stopping");
                        continue;
                }
                /* Planned before a backup began to read the container (a parked run's). */
                if (manager_find(m, it->name) && manager_find(m, it->name)->held) {
                        execute_stop_waiting(m, it);
                        execute_skip(run, it, "held while a backup reads its files");
                        continue;
                }
                /* A parked run acts only while no other run does (run->jobs is 0 then). */
                if (run->active >= run->jobs) {
                        waiting = true;
                        continue;
                }
                execute_stop_waiting(m, it);
                if (start_action(run, it) < 0)
                        execute_skip(run, it, "hld could not record or queue the action");
        }
        return waiting;
}

static size_t count_waiting(const struct run *run) {
        size_t n = 0;

        for (size_t i = 0; i < run->n_items; i++)
                n += run->items[i].status == ITEM_WAITING;
        return n;
}

enum schedule_state execute_schedule(struct run *run) {
        for (;;) {
                size_t before = count_waiting(run);
                bool waiting = schedule_pass(run), left = false;

                if (run->active > 0)
                        return SCHEDULE_BUSY;
                /* An item that waited for one later in the pass (a clone for its source)
                 * may go now that the other is done: another pass, not a park. */
                if (waiting && count_waiting(run) < before)
                        continue;
                if (waiting)
                        return SCHEDULE_WAITING;
                /* Items that became ready from skips above get their turn. */
                for (size_t i = 0; i < run->n_items; i++)
                        left = left || run->items[i].status == ITEM_WAITING;
                if (!left)
                        return SCHEDULE_DONE;
        }
}
