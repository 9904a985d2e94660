/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The services hld knows, by name and in Requires= order: near the bottom of the engine,
 * which calls nothing above it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "hld.h"

struct service *manager_find(struct manager *m, const char *name) {
        size_t v;

        return hl_index_get(&m->by_name, name, &v) ? (struct service *) (uintptr_t) v : NULL;
}

int manager_set_desired(struct manager *m, const char *name, struct desired *desired) {
        struct service *s = manager_find(m, name), **services;

        if (!s) {
                s = calloc(1, sizeof(*s));
                if (!s)
                        return -ENOMEM;
                s->name = strdup(name);
                s->last_action = -1;
                s->observed.state = HL_CT_UNKNOWN;
                s->expected = HL_CT_UNKNOWN;
                services = realloc(m->services, sizeof(*services) * (m->n_services + 1));
                if (services)
                        m->services = services;
                if (!s->name || !services || hl_index_put(&m->by_name, s->name, (uintptr_t) s) < 0) {
                        free(s->name);
                        free(s);
                        return -ENOMEM;
                }
                m->services[m->n_services++] = s;
        }
        desired_unref(s->desired);
        s->desired = desired_ref(desired);
        return 0;
}

void manager_forget(struct manager *m, const char *name) {
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];

                if (strcmp(s->name, name) != 0)
                        continue;
                hl_index_remove(&m->by_name, s->name);
                desired_unref(s->desired);
                ct_observed_done(&s->observed);
                free(s->last_error);
                free(s->waiting_for);
                free(s->name);
                free(s);
                memmove(m->services + i, m->services + i + 1, sizeof(*m->services) * (m->n_services - i - 1));
                m->n_services--;
                return;
        }
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

void manager_reorder(struct manager *m, char *const *names) {
        _cleanup_free_ struct service **order = calloc(m->n_services + 1, sizeof(*order));
        size_t n = 0;

        if (!order) {
                manager_sort(m);
                return;
        }
        /* names is the order a plan computed for the node as it will be: every service
         * once, but those the same apply prunes (still here until destroyed), which go
         * last. Built aside: m->services is never left with a service twice. */
        for (size_t i = 0; names && names[i] && n < m->n_services; i++) {
                struct service *s = manager_find(m, names[i]);
                bool seen = false;

                for (size_t k = 0; s && k < n; k++)
                        seen = seen || order[k] == s;
                if (s && !seen)
                        order[n++] = s;
        }
        for (size_t i = 0; i < m->n_services; i++) {
                bool seen = false;

                for (size_t k = 0; k < n && !seen; k++)
                        seen = order[k] == m->services[i];
                if (!seen)
                        order[n++] = m->services[i];
        }
        memcpy(m->services, order, sizeof(*order) * m->n_services);
}
