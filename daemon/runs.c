/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A run's making: its own copy of the request, the services it concerns in Requires=
 * order with what each is to be, and the survey of their containers in the thread pool. */
#include <errno.h>
#include <string.h>

#include "health.h"
#include "run.h"
#include "work.h"

struct survey_work {
        uv_work_t req;
        struct run *run;
        char *lxcpath;
        /* It looks at items first, first + stride, ... */
        size_t first, stride;
};

void runs_free(struct run *run) {
        for (size_t i = 0; i < run->n_items; i++)
                plan_item_done(&run->items[i]);
        free(run->items);
        hl_index_done(&run->index);
        free(run->only);
        hl_strv_free(run->also);
        hl_strv_free(run->prune);
        hl_strv_free(run->order);
        free(run->user);
        free(run->expect_plan);
        free(run->snapshot);
        free(run->comment);
        for (size_t i = 0; i < run->n_apply; i++)
                desired_unref(run->apply[i]);
        free(run->apply);
        hl_strv_free(run->changed);
        hl_strv_free(run->unchanged);
        free(run->error);
        free(run);
}

static int copy_strv(char ***dst, char *const *src) {
        for (size_t i = 0; src && src[i]; i++)
                if (hl_strv_push(dst, src[i]) < 0)
                        return -ENOMEM;
        return 0;
}

struct run *runs_new(struct manager *m, const struct job_request *request) {
        struct run *run = calloc(1, sizeof(*run));

        if (!run)
                return NULL;
        run->m = m;
        run->request = *request;
        run->only = request->only ? strdup(request->only) : NULL;
        run->user = request->user ? strdup(request->user) : NULL;
        run->expect_plan = request->expect_plan ? strdup(request->expect_plan) : NULL;
        run->snapshot = request->snapshot ? strdup(request->snapshot) : NULL;
        run->comment = request->comment ? strdup(request->comment) : NULL;
        run->apply = calloc(request->n_apply + 1, sizeof(*run->apply));
        /* The order of a thousand names copies in one pass, not name by name. */
        if (request->order) {
                size_t n = hl_strv_length(request->order);
                run->order = calloc(n + 1, sizeof(char *));
                for (size_t i = 0; run->order && i < n; i++)
                        if (!(run->order[i] = strdup(request->order[i]))) {
                                runs_free(run);
                                return NULL;
                        }
        }
        if ((request->only && !run->only) || (request->user && !run->user) ||
            (request->expect_plan && !run->expect_plan) || !run->apply || (request->order && !run->order) ||
            copy_strv(&run->prune, request->prune) < 0 || copy_strv(&run->also, request->also) < 0) {
                runs_free(run);
                return NULL;
        }
        for (size_t i = 0; i < request->n_apply; i++)
                run->apply[run->n_apply++] = desired_ref(request->apply[i]);
        run->request.only = run->only;
        run->request.user = run->user;
        run->request.prune = run->prune;
        run->request.also = run->also;
        run->request.order = run->order;
        run->request.apply = NULL;
        run->request.expect_plan = run->expect_plan;
        return run;
}

struct item *runs_find(struct run *run, const char *name) {
        size_t i;

        return hl_index_get(&run->index, name, &i) ? &run->items[i] : NULL;
}

static int add_item(struct run *run, const char *name, struct desired *desired, enum hl_want wanted,
                    enum hl_ct_state expected) {
        struct item *it;

        if (hl_index_get(&run->index, name, NULL))
                return 0; /* once each */
        it = &run->items[run->n_items];
        *it = (struct item) { .name = strdup(name), .desired = desired_ref(desired), .wanted = wanted,
                              .expected = expected, .observed.state = HL_CT_UNKNOWN };
        if (!it->name) {
                desired_unref(it->desired);
                return -ENOMEM;
        }
        run->n_items++;
        return hl_index_put(&run->index, it->name, run->n_items - 1) == -ENOMEM ? -ENOMEM : 0;
}

static enum hl_want wanted_by(const struct hl_def *def) {
        return def->state == HL_DESIRED_RUNNING ? HL_WANT_RUNNING : HL_WANT_STOPPED;
}

static bool run_is_automatic(const struct run *run) {
        switch (run->request.trigger) {
        case HL_TRIGGER_APPLY:
        case HL_TRIGGER_CLI:
        case HL_TRIGGER_PLAN:
                return false;
        case HL_TRIGGER_STARTUP:
        case HL_TRIGGER_TIMER:
        case HL_TRIGGER_CONTAINER_EXIT:
        case HL_TRIGGER_BACKOFF:
        case HL_TRIGGER_HEALTH:
        case HL_TRIGGER_WHY:
        case _HL_TRIGGER_MAX:
                break;
        }
        return true;
}

/* One service of the node into the run: with its extra revision when the run brings one
 * (extra indexes run->apply by name), else its stored one. */
static int add_service(struct run *run, const struct hl_index *extra, const char *name) {
        struct service *s = manager_find(run->m, name);
        size_t j;

        if (hl_index_get(extra, name, &j))
                return add_item(run, name, run->apply[j],
                                s && run->apply[j] == s->desired ? service_wanted(s) : wanted_by(run->apply[j]->def),
                                s ? s->expected : HL_CT_UNKNOWN);
        if (!s)
                return 0;
        if (run->only && strcmp(run->only, s->name) != 0 && !hl_strv_contains(run->also, s->name))
                return 0;
        return add_item(run, name, s->desired, service_wanted(s), s->expected);
}

/* Snapshots the services a run concerns, so that an apply during the run changes nothing
 * under the worker threads' feet. The order is the one the apply's check computed for the
 * node as it will be, or the services' own (kept in Requires= order): never worked out
 * again here. */
int runs_collect(struct run *run) {
        _cleanup_(hl_index_done) struct hl_index extra = {};
        struct manager *m = run->m;
        int r = 0;

        run->items = calloc(m->n_services + run->n_apply + 1, sizeof(*run->items));
        if (!run->items)
                return -ENOMEM;
        for (size_t j = 0; j < run->n_apply; j++)
                if (hl_index_put(&extra, run->apply[j]->def->name, j) == -ENOMEM)
                        return -ENOMEM;
        for (size_t i = 0; r >= 0 && run->order && run->order[i]; i++)
                r = add_service(run, &extra, run->order[i]);
        for (size_t i = 0; r >= 0 && i < m->n_services; i++)
                r = add_service(run, &extra, m->services[i]->name);
        for (size_t j = 0; r >= 0 && j < run->n_apply; j++)
                r = add_service(run, &extra, run->apply[j]->def->name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < run->n_items; i++) {
                struct item *it = &run->items[i];
                struct service *s = manager_find(m, it->name);
                bool target = !run->only || strcmp(run->only, it->name) == 0;
                /* A new revision of the service takes a pending destroy back. */
                bool applied = s && it->desired != s->desired;

                it->destroy = hl_strv_contains(run->prune, it->name) || (target && run->request.kind == JOB_DESTROY) ||
                              (s && s->destroying && !applied);
                it->restart = target && run->request.kind == JOB_RESTART;
                it->updating = s && s->updating;
                it->held = s && s->held;
                if (target && run->request.kind == JOB_SNAPSHOT) {
                        it->snapshot = run->snapshot;
                        it->snapshot_verb = run->request.snapshot_verb;
                        it->comment = run->comment;
                        it->backup_stop = run->request.backup_stop;
                }
                it->automatic = run_is_automatic(run);
                it->unhealthy = s && health_status(s) == HEALTH_UNHEALTHY;
                it->next_restart = s ? service_next_restart(s) : 0;
        }
        return 0;
}

static void survey_work(uv_work_t *req) {
        struct survey_work *w = (struct survey_work *) req;
        struct run *run = w->run;

        for (size_t i = w->first; i < run->n_items; i += w->stride) {
                struct item *it = &run->items[i];
                /* A Host= service has no container: one of its name is not its. */
                if (it->desired->def->host)
                        continue;
                it->observe_error = ct_observe(w->lxcpath, it->name, &it->desired->settings, &it->observed);
                (void) ct_check_host(it->desired->def, &it->problem);
        }
}

static void survey_after(uv_work_t *req, int status) {
        struct survey_work *w = (struct survey_work *) req;
        struct run *run = w->run;

        for (size_t i = w->first; status < 0 && i < run->n_items; i += w->stride)
                if (run->items[i].observe_error >= 0)
                        run->items[i].observe_error = status;
        free(w->lxcpath);
        free(w);
        if (--run->pending == 0)
                run->surveyed(run);
}

int runs_survey(struct run *run) {
        size_t slots;

        if (run->n_items == 0) {
                run->surveyed(run);
                return 0;
        }
        /* A survey is CPU work (parsing configs, asking monitors): it gets one thread less
         * than there are cores, so that the node, and hlctl status, keeps one. */
        slots = run->survey_threads < run->n_items ? run->survey_threads : run->n_items;
        for (size_t i = 0; i < slots; i++) {
                struct survey_work *w = calloc(1, sizeof(*w));
                int r;

                if (!w || !(w->lxcpath = strdup(run->m->config.lxcpath))) {
                        free(w);
                        return -ENOMEM;
                }
                w->run = run;
                w->first = i;
                w->stride = slots;
                r = work_queue(run->m->loop, &w->req, survey_work, survey_after);
                if (r < 0) {
                        free(w->lxcpath);
                        free(w);
                        return r;
                }
                run->pending++;
        }
        return 0;
}
