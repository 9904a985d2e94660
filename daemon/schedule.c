/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scheduled snapshots and backups. [Backup] Schedule= starts a backup as hlctl backup does
 * (methods-backup.c prunes its directory by Keep= after it). [Snapshot] Schedule= takes a snapshot named auto-YYYYMMDD-HHMMSS
 * (UTC) at each time the schedule names, as one run (a timer's, so the history says
 * hld did it), and Keep= then prunes the service's auto- snapshots as vzdump prunes
 * backups, each deletion a run of its own. Snapshots taken by hand or by updates are
 * never pruned. A time missed while hld was not running is not made up for. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hl-retention.h"
#include "log.h"
#include "methods.h"
#include "schedule.h"
#include "snapshot.h"
#include "work.h"

#define AUTO_PREFIX "auto-"

static uv_timer_t timer;
static bool armed;

struct prune_call {
        uv_work_t work;
        struct manager *m;
        char *name, *lxcpath, *keep;
        char **doomed; /* what Keep= does not keep, deleted one run at a time */
        size_t next;
        int r;
};

static void prune_free(struct prune_call *c) {
        free(c->name);
        free(c->lxcpath);
        free(c->keep);
        hl_strv_free(c->doomed);
        free(c);
}

bool schedule_is_automatic(const char *snapshot) {
        return strncmp(snapshot, AUTO_PREFIX, strlen(AUTO_PREFIX)) == 0;
}

int schedule_prune_marks(const struct hl_keep *keep, const struct snapshot_list *l, int *ret_rules) {
        _cleanup_free_ struct hl_prune_item *items = calloc(l->n + 1, sizeof(*items));
        size_t n = 0;
        int r;

        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++)
                if (schedule_is_automatic(l->items[i].name))
                        items[n++].time = l->items[i].created;
        r = hl_prune(keep, items, n);
        if (r < 0)
                return r;
        n = 0;
        for (size_t i = 0; i < l->n; i++)
                ret_rules[i] = !schedule_is_automatic(l->items[i].name) ? SCHEDULE_NOT_PRUNED
                               : items[n].mark == HL_PRUNE_REMOVE   ? (n++, SCHEDULE_PRUNED)
                                                                    : items[n++].rule;
        return 0;
}

static void prune_work(uv_work_t *work) {
        struct prune_call *c = (struct prune_call *) work;
        _cleanup_free_ int *rules = NULL;
        struct snapshot_list l = {};
        struct hl_keep keep;

        c->r = hl_keep_parse(c->keep, &keep, NULL);
        if (c->r >= 0)
                c->r = snapshot_list(c->lxcpath, c->name, &l);
        if (c->r >= 0 && !(rules = calloc(l.n + 1, sizeof(*rules))))
                c->r = -ENOMEM;
        if (c->r >= 0)
                c->r = schedule_prune_marks(&keep, &l, rules);
        for (size_t i = 0; c->r >= 0 && i < l.n; i++)
                if (rules[i] == SCHEDULE_PRUNED)
                        c->r = hl_strv_push(&c->doomed, l.items[i].name);
        snapshot_list_done(&l);
}

static void prune_next(struct prune_call *c);

static void pruned(void *userdata, const struct run_result *result) {
        struct prune_call *c = userdata;

        c->next++;
        prune_next(c);
}

static void prune_next(struct prune_call *c) {
        char reason[256];
        int r;

        if (!c->doomed || !c->doomed[c->next] || !manager_find(c->m, c->name)) {
                prune_free(c);
                return;
        }
        snprintf(reason, sizeof(reason), "pruned by Keep=%s", c->keep);
        r = reconcile_enqueue(c->m, &(struct job_request) { .kind = JOB_SNAPSHOT, .trigger = HL_TRIGGER_TIMER,
                                                            .only = c->name, .snapshot_verb = HL_VERB_DELETE_SNAPSHOT,
                                                            .snapshot = c->doomed[c->next], .comment = reason,
                                                            .uid = -1, .done = pruned, .userdata = c });
        if (r < 0) {
                log_warning("could not queue the pruning of %s: %s", c->name, strerror(-r));
                prune_free(c);
        }
}

static void prune_after(uv_work_t *work, int status) {
        struct prune_call *c = (struct prune_call *) work;

        if (status < 0 || c->r < 0) {
                log_warning("could not prune the snapshots of %s: %s", c->name, strerror(-(status < 0 ? status : c->r)));
                prune_free(c);
                return;
        }
        prune_next(c);
}

struct take_call {
        struct manager *m;
        char *name;
        char snap[HL_SNAPSHOT_NAME_MAX + 1];
};

static void taken(void *userdata, const struct run_result *result) {
        struct take_call *t = userdata;
        struct service *s = manager_find(t->m, t->name);
        struct prune_call *c;

        if (s)
                s->snapshot_due_busy = false;
        if (!s || !s->desired->def->snapshots.keep_text || result->error) {
                free(t->name);
                free(t);
                return;
        }
        c = calloc(1, sizeof(*c));
        if (!c || !(c->name = strdup(t->name)) || !(c->lxcpath = strdup(t->m->config.lxcpath)) ||
            !(c->keep = strdup(s->desired->def->snapshots.keep_text))) {
                if (c)
                        prune_free(c);
        } else {
                c->m = t->m;
                if (work_queue(t->m->loop, &c->work, prune_work, prune_after) < 0)
                        prune_free(c);
        }
        free(t->name);
        free(t);
}

static void take(struct manager *m, struct service *s, int64_t now) {
        struct take_call *t = calloc(1, sizeof(*t));
        time_t when = (time_t) now;
        struct tm tm;
        char comment[256];
        int r;

        if (!t || !(t->name = strdup(s->name))) {
                free(t);
                return;
        }
        t->m = m;
        gmtime_r(&when, &tm);
        strftime(t->snap, sizeof(t->snap), AUTO_PREFIX "%Y%m%d-%H%M%S", &tm);
        snprintf(comment, sizeof(comment), "Schedule=%s", s->desired->def->snapshots.schedule);
        s->snapshot_due_busy = true;
        r = reconcile_enqueue(m, &(struct job_request) { .kind = JOB_SNAPSHOT, .trigger = HL_TRIGGER_TIMER,
                                                         .only = s->name, .snapshot_verb = HL_VERB_SNAPSHOT,
                                                         .snapshot = t->snap, .comment = comment, .uid = -1,
                                                         .done = taken, .userdata = t });
        if (r < 0) {
                log_warning("could not queue the scheduled snapshot of %s: %s", s->name, strerror(-r));
                s->snapshot_due_busy = false;
                free(t->name);
                free(t);
        }
}

/* Whether a schedule's time has come; works the next one out (again after a new revision,
 * which may have another schedule). */
static bool due(const struct hl_snapshots *sn, struct service *s, int64_t *next, const struct desired **next_for,
                int64_t now) {
        if (!sn->schedule) {
                *next = 0;
                return false;
        }
        if (*next == 0 || *next_for != s->desired) {
                *next = hl_calendar_next(&sn->calendar, now);
                *next_for = s->desired;
                return false;
        }
        if (*next < 0 || now < *next)
                return false;
        *next = hl_calendar_next(&sn->calendar, now);
        /* Nothing to copy yet: this time passes. */
        return s->observed_valid && s->observed.exists && !s->destroying;
}

static void tick(uv_timer_t *handle) {
        struct manager *m = handle->data;
        int64_t now = (int64_t) time(NULL);

        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                const struct hl_def *def = s->desired->def;

                /* The last one still under way: this time passes. */
                if (due(&def->snapshots, s, &s->snapshot_due, &s->snapshot_due_for, now) && !s->snapshot_due_busy)
                        take(m, s, now);
                if (due(&def->backups.times, s, &s->backup_due, &s->backup_due_for, now) && !s->backing_up)
                        methods_backup_scheduled(m, s);
        }
}

int schedule_start(struct manager *m) {
        int r = uv_timer_init(m->loop, &timer);

        if (r < 0)
                return r;
        timer.data = m;
        armed = true;
        return uv_timer_start(&timer, tick, 1000, 1000);
}

void schedule_stop(void) {
        if (!armed)
                return;
        uv_timer_stop(&timer);
        uv_close((uv_handle_t *) &timer, NULL);
        armed = false;
}
