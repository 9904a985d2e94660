/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "hld.h"
#include "health.h"
#include "log.h"
#include "reconcile.h"
#include "store.h"

struct desired *desired_new(struct hl_def *def, const char *text, const char *file, int64_t revision) {
        struct desired *d = calloc(1, sizeof(*d));

        if (!d)
                return NULL;
        d->ref = 1;
        d->def = def;
        d->revision = revision;
        d->text = strdup(text);
        d->file = strdup(file ? file : "");
        if (!d->text || !d->file || hl_def_hash(def, d->hash) < 0 || ct_settings_for(def, &d->settings) < 0) {
                d->def = NULL; /* the caller still owns def on failure */
                return desired_unref(d);
        }
        return d;
}

struct desired *desired_ref(struct desired *d) {
        if (d)
                d->ref++;
        return d;
}

struct desired *desired_unref(struct desired *d) {
        if (!d || --d->ref > 0)
                return NULL;
        hl_def_free(d->def);
        ct_settings_done(&d->settings);
        free(d->text);
        free(d->file);
        free(d);
        return NULL;
}

struct service *manager_find(struct manager *m, const char *name) {
        size_t v;

        return hl_index_get(&m->by_name, name, &v) ? (struct service *) (uintptr_t) v : NULL;
}

static int set_string(char **field, const char *value) {
        char *s = value ? strdup(value) : NULL;

        if (value && !s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

int manager_set_desired(struct manager *m, const char *name, struct desired *desired, const char *override) {
        struct service *s = manager_find(m, name), **services;

        if (!s) {
                s = calloc(1, sizeof(*s));
                if (!s)
                        return -ENOMEM;
                s->name = strdup(name);
                services = realloc(m->services, sizeof(*services) * (m->n_services + 1));
                if (services)
                        m->services = services;
                if (!s->name || !services || hl_index_put(&m->by_name, s->name, (uintptr_t) s) < 0) {
                        free(s->name);
                        free(s);
                        return -ENOMEM;
                }
                m->services = services;
                m->services[m->n_services++] = s;
                snprintf(s->observed.state, sizeof(s->observed.state), "UNKNOWN");
        }
        desired_unref(s->desired);
        s->desired = desired_ref(desired);
        if (s->observed_valid)
                health_update(m, s);
        return set_string(&s->override, override);
}

void manager_forget(struct manager *m, const char *name) {
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];

                if (strcmp(s->name, name) != 0)
                        continue;
                hl_index_remove(&m->by_name, s->name);
                watch_stop(s);
                health_forget(s);
                desired_unref(s->desired);
                ct_observed_done(&s->observed);
                free(s->override);
                free(s->last_action);
                free(s->last_error);
                free(s->waiting_for);
                free(s->name);
                free(s);
                memmove(m->services + i, m->services + i + 1, sizeof(*m->services) * (m->n_services - i - 1));
                m->n_services--;
                return;
        }
}

const char *service_wanted_state(const struct service *s) {
        if (s->override)
                return s->override;
        return s->desired->def->state == HL_DESIRED_RUNNING ? "running" : "stopped";
}

void manager_notify_status(struct manager *m, const char *fmt, ...) {
        char status[512];
        va_list ap;

        if (!getenv("NOTIFY_SOCKET"))
                return;
        va_start(ap, fmt);
        vsnprintf(status, sizeof(status), fmt, ap);
        va_end(ap);
        sd_notifyf(0, "STATUS=%s", status);
}

/* Keeps m->services in Requires= order, so runs and listings go dependencies first. */
void manager_sort(struct manager *m) {
        _cleanup_free_ struct hl_def **defs = calloc(m->n_services + 1, sizeof(*defs));
        _cleanup_free_ size_t *order = calloc(m->n_services + 1, sizeof(*order));
        _cleanup_free_ struct service **sorted = calloc(m->n_services + 1, sizeof(*sorted));
        struct hl_def_error e;

        if (m->n_services == 0 || !defs || !order || !sorted)
                return;
        for (size_t i = 0; i < m->n_services; i++)
                defs[i] = m->services[i]->desired->def;
        if (hl_def_order(defs, m->n_services, order, &e) < 0)
                return;
        for (size_t i = 0; i < m->n_services; i++)
                sorted[i] = m->services[order[i]];
        memcpy(m->services, sorted, sizeof(*sorted) * m->n_services);
}

int64_t service_next_restart(const struct service *s) {
        const struct hl_restart *r = &s->desired->def->restart;
        unsigned shift;
        uint64_t delay;

        if (s->restart_failures < r->start_limit_burst || s->restart_failures == 0)
                return 0;
        shift = s->restart_failures - r->start_limit_burst;
        delay = r->restart_sec_ms << (shift > 30 ? 30 : shift);
        if (delay > r->restart_max_delay_ms || delay < r->restart_sec_ms)
                delay = r->restart_max_delay_ms;
        return s->last_restart_ms + (int64_t) delay;
}

static void on_backoff(uv_timer_t *t) {
        struct manager *m = t->data;
        struct job_request request = { .kind = JOB_RECONCILE, .trigger = "backoff", .uid = -1 };

        if (reconcile_enqueue(m, &request) < 0)
                log_warning("could not queue the reconcile after a back-off, ignoring");
}

void manager_schedule_backoff(struct manager *m) {
        int64_t next = 0, now = now_ms();

        if (m->stopping)
                return;
        for (size_t i = 0; i < m->n_services; i++) {
                int64_t t = service_next_restart(m->services[i]);
                /* Held back: stopped, or running but unhealthy and waiting for its restart. */
                bool held = strcmp(m->services[i]->observed.state, "RUNNING") != 0 ||
                            health_status(m->services[i]) == HEALTH_UNHEALTHY;
                if (t > 0 && held && (next == 0 || t < next))
                        next = t;
        }
        uv_timer_stop(&m->backoff_timer);
        if (next > 0)
                uv_timer_start(&m->backoff_timer, on_backoff, next > now ? (uint64_t) (next - now) : 0, 0);
}
