/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Update: a service's [Update] as a transaction. A snapshot; the Exec= lines in the
 * running container (recorded first as an update not yet judged, in snaps/hl-updating);
 * a restart when Restart=yes; then health sweeps until every check passes, for at most
 * HealthTimeout=. Healthy: the record goes and the update is kept. Not: the container is
 * rolled back to the snapshot (stopped, restored, started) and waited for again. Each step
 * is a run of its own, so each is an event in the history; a kill before the verdict
 * leaves the record, and the next hld rolls the service back (plan.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "health.h"
#include "methods.h"
#include "work.h"

#define SWEEP_EVERY_MS 1000

enum phase {
        PHASE_SNAPSHOT,
        PHASE_EXEC,
        PHASE_RESTART,
        PHASE_JUDGE,
        PHASE_ROLLBACK,
        PHASE_JUDGE_ROLLBACK,
};

struct update_call {
        uv_work_t work;
        uv_timer_t timer;
        struct manager *m;
        struct request *req;
        char *name, *lxcpath;
        char snap[HL_SNAPSHOT_NAME_MAX + 1];
        enum phase phase;
        uint64_t deadline, phase_started, started;
        json_t *steps;
        char *failure; /* why the update was rolled back */
        bool sweeping;
};

static void update_closed(uv_handle_t *h) {
        struct update_call *c = h->data;

        json_decref(c->steps);
        free(c->name);
        free(c->lxcpath);
        free(c->failure);
        free(c);
}

static void update_end(struct update_call *c) {
        struct service *s = manager_find(c->m, c->name);

        if (s)
                s->updating = false;
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *) &c->timer, update_closed);
}

static int64_t ms_since(uint64_t t) {
        return (int64_t) ((uv_hrtime() - t) / 1000000);
}

/* One step done: kept, and streamed with more. */
static void step(struct update_call *c, const char *what, const char *result, const char *detail) {
        json_t *j = json_pack("{s:s, s:s, s:I}", "step", what, "result", result, "duration_ms",
                              (json_int_t) ms_since(c->phase_started));

        if (j && detail)
                json_object_set_new(j, "detail", json_string(detail));
        if (j && request_wants_more(c->req))
                request_reply(c->req, json_pack("{s:O}", "step", j), true);
        json_array_append_new(c->steps, j);
        c->phase_started = uv_hrtime();
}

static void finish(struct update_call *c, const char *result) {
        json_t *reply = json_pack("{s:s, s:s, s:O, s:I}", "result", result, "snapshot", c->snap, "steps", c->steps,
                                  "duration_ms", (json_int_t) ms_since(c->started));

        if (reply && c->failure)
                json_object_set_new(reply, "error", json_string(c->failure));
        request_reply(c->req, reply, false);
        update_end(c);
}

static void fail_update(struct update_call *c, const char *fmt, ...) HL_PRINTF(2, 3);
static void fail_update(struct update_call *c, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, fmt);
        message = hl_strdup_vprintf(fmt, ap);
        va_end(ap);
        request_fail_parameter(c->req, HL_ERROR_ACTION_FAILED, "service", c->name, "%s", message ? message : "out of memory");
        update_end(c);
}

static void next(struct update_call *c);

/* The one action of a step's run, or NULL; its error in *error. */
static const char *run_outcome(const struct run_result *result, const char **error) {
        json_t *v, *last = NULL;
        size_t i;

        json_array_foreach(result->actions, i, v)
                last = v;
        *error = last ? json_string_value(json_object_get(last, "error")) : result->error;
        if (result->error)
                return "failed";
        return last ? json_string_value(json_object_get(last, "result")) : "skipped";
}

static void rollback_now(struct update_call *c, const char *why) {
        free(c->failure);
        c->failure = strdup(why);
        c->phase = PHASE_ROLLBACK;
        next(c);
}

static void step_done(void *userdata, const struct run_result *result) {
        struct update_call *c = userdata;
        const char *error = NULL, *outcome = run_outcome(result, &error);
        bool ok = outcome && strcmp(outcome, "ok") == 0;
        struct service *s;
        static const char *const names[] = {
                [PHASE_SNAPSHOT] = "snapshot", [PHASE_EXEC] = "exec", [PHASE_RESTART] = "restart",
                [PHASE_ROLLBACK] = "rollback",
        };
        char why[1024];

        step(c, names[c->phase], ok ? "ok" : "failed", error);
        switch (c->phase) {
        case PHASE_SNAPSHOT:
                if (!ok) {
                        fail_update(c, "the update of %s did not start: its snapshot failed: %s", c->name, error ? error : "no reason given");
                        return;
                }
                c->phase = PHASE_EXEC;
                break;
        case PHASE_EXEC:
                if (!ok) {
                        snprintf(why, sizeof(why), "%s", error ? error : "an Exec= line failed");
                        rollback_now(c, why);
                        return;
                }
                /* next() answers when the service is gone. */
                s = manager_find(c->m, c->name);
                c->phase = s && s->desired->def->update.restart ? PHASE_RESTART : PHASE_JUDGE;
                break;
        case PHASE_RESTART:
                if (!ok) {
                        snprintf(why, sizeof(why), "the restart failed: %s", error ? error : "no reason given");
                        rollback_now(c, why);
                        return;
                }
                c->phase = PHASE_JUDGE;
                break;
        case PHASE_ROLLBACK:
                if (!ok) {
                        fail_update(c, "the update of %s failed, and so did its rollback: %s", c->name, error ? error : "no reason given");
                        return;
                }
                c->phase = PHASE_JUDGE_ROLLBACK;
                break;
        default:
                break;
        }
        next(c);
}

static void queue_step(struct update_call *c, const struct job_request *job) {
        const struct peer *peer = request_peer(c->req);
        struct job_request j = *job;
        int r;

        j.trigger = HL_TRIGGER_CLI;
        j.only = c->name;
        j.uid = peer->uid;
        j.user = peer->user;
        j.done = step_done;
        j.userdata = c;
        r = reconcile_enqueue(c->m, &j);
        if (r < 0)
                fail_update(c, "could not queue a step of the update of %s: %s", c->name, strerror(-r));
}

/* The record goes once the update is judged healthy: a kill after keeps it. */
static void unmark_work(uv_work_t *work) {
        struct update_call *c = (struct update_call *) work;
        _cleanup_free_ char *marker = ct_path_in(c->lxcpath, c->name, CT_FILE_UPDATING);
        _cleanup_free_ char *snaps = ct_path_in(c->lxcpath, c->name, "snaps");

        if (marker && unlink(marker) == 0 && snaps)
                (void) ct_sync_dir(snaps);
}

static void unmark_after(uv_work_t *work, int status) {
        struct update_call *c = (struct update_call *) work;

        step(c, "keep", "ok", NULL);
        finish(c, "kept");
}

static void swept(void *userdata, json_t *reply) {
        struct update_call *c = userdata;
        bool healthy = json_is_true(json_object_get(reply, "healthy"));
        uint64_t timeout;
        struct service *s = manager_find(c->m, c->name);
        char why[512];

        c->sweeping = false;
        if (!s) {
                fail_update(c, "%s was destroyed during its update", c->name);
                return;
        }
        /* health_sweep answers from a round begun after the call, never from one begun
         * before the Exec= lines ended. */
        timeout = s->desired->def->update.health_timeout_ms;
        if (healthy) {
                step(c, c->phase == PHASE_JUDGE ? "health" : "health after rollback", "ok", NULL);
                if (c->phase == PHASE_JUDGE) {
                        if (work_queue(c->m->loop, &c->work, unmark_work, unmark_after) < 0)
                                fail_update(c, "could not record the verdict on the update of %s", c->name);
                } else
                        finish(c, "rolled-back");
                return;
        }
        if (uv_hrtime() < c->deadline)
                return; /* the next sweep in a moment */
        snprintf(why, sizeof(why), "not healthy within HealthTimeout=%" PRIu64 "s", timeout / 1000);
        step(c, c->phase == PHASE_JUDGE ? "health" : "health after rollback", "failed", why);
        if (c->phase == PHASE_JUDGE)
                rollback_now(c, why);
        else
                fail_update(c, "%s was rolled back after its update, and is still not healthy: %s", c->name, why);
}

static void judge_tick(uv_timer_t *t) {
        struct update_call *c = t->data;
        char *names[] = { c->name, NULL };

        if (c->sweeping)
                return;
        c->sweeping = true;
        if (health_sweep(c->m, names, swept, c) < 0) {
                c->sweeping = false;
                fail_update(c, "could not check the health of %s", c->name);
        }
}

static void next(struct update_call *c) {
        struct service *s = manager_find(c->m, c->name);

        if (!s) {
                fail_update(c, "%s was destroyed during its update", c->name);
                return;
        }
        switch (c->phase) {
        case PHASE_SNAPSHOT:
                queue_step(c, &(struct job_request) { .kind = JOB_SNAPSHOT, .snapshot_verb = HL_VERB_SNAPSHOT,
                                                      .snapshot = c->snap, .comment = "before an update" });
                break;
        case PHASE_EXEC:
                queue_step(c, &(struct job_request) { .kind = JOB_SNAPSHOT, .snapshot_verb = HL_VERB_EXEC,
                                                      .snapshot = c->snap });
                break;
        case PHASE_RESTART:
                queue_step(c, &(struct job_request) { .kind = JOB_RESTART });
                break;
        case PHASE_ROLLBACK:
                uv_timer_stop(&c->timer);
                queue_step(c, &(struct job_request) { .kind = JOB_SNAPSHOT, .snapshot_verb = HL_VERB_ROLLBACK,
                                                      .snapshot = c->snap });
                break;
        case PHASE_JUDGE:
        case PHASE_JUDGE_ROLLBACK:
                c->deadline = uv_hrtime() + s->desired->def->update.health_timeout_ms * 1000000;
                uv_timer_start(&c->timer, judge_tick, 0, SWEEP_EVERY_MS);
                break;
        }
}

void methods_update(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *name;
                bool dry_run;
        } a = {};
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(__typeof__(a), name), true },
                { "dry_run", HL_FIELD_BOOL, offsetof(__typeof__(a), dry_run), false },
                {},
        };
        const struct hl_update *u;
        struct update_call *c;
        struct service *s;
        time_t now = time(NULL);
        struct tm tm;
        char snap[HL_SNAPSHOT_NAME_MAX + 1];

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (!hl_name_is_valid(a.name) || !(s = manager_find(m, a.name))) {
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", a.name, "no service named %.80s", a.name);
                return;
        }
        u = &s->desired->def->update;
        if (!u->exec) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "name",
                                       "%s has no update: its definition has no [Update] Exec= line", s->name);
                return;
        }
        gmtime_r(&now, &tm);
        strftime(snap, sizeof(snap), "update-%Y%m%d-%H%M%S", &tm);
        if (a.dry_run) {
                json_t *steps = json_array();

                json_array_append_new(steps, json_sprintf("snapshot %s (the container frozen for the copy)", snap));
                for (char **e = u->exec; *e; e++)
                        json_array_append_new(steps, json_sprintf("exec in %s: %s", s->name, *e));
                if (u->restart)
                        json_array_append_new(steps, json_sprintf("restart %s", s->name));
                json_array_append_new(steps, json_sprintf("every check healthy within %" PRIu64 " s: keep the update",
                                                          u->health_timeout_ms / 1000));
                json_array_append_new(steps, json_sprintf("else: rollback to %s, start, and wait for health", snap));
                request_reply(req, json_pack("{s:s, s:o}", "result", "dry-run", "plan", steps), false);
                return;
        }
        if (s->updating || s->backing_up) {
                request_fail(req, HL_ERROR_BUSY, "%s is %s", s->name, s->updating ? "being updated" : "being backed up");
                return;
        }
        if (!s->observed_valid || s->observed.state != HL_CT_RUNNING) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "name",
                                       "%s is not running: an update runs in the running container (hlctl start %s)",
                                       s->name, s->name);
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c || !(c->name = strdup(s->name)) || !(c->lxcpath = strdup(m->config.lxcpath)) ||
            !(c->steps = json_array())) {
                if (c) {
                        json_decref(c->steps);
                        free(c->name);
                        free(c->lxcpath);
                }
                free(c);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        c->m = m;
        c->req = req;
        memcpy(c->snap, snap, sizeof(snap));
        c->started = c->phase_started = uv_hrtime();
        uv_timer_init(m->loop, &c->timer);
        c->timer.data = c;
        s->updating = true;
        c->phase = PHASE_SNAPSHOT;
        next(c);
}
