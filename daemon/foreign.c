/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "foreign.h"
#include "hld.h"
#include "log.h"
#include "work.h"

struct scan {
        uv_work_t work;
        struct manager *m;
        char *lxcpath;
        char **services;
        struct ct_foreign *found;
        size_t n;
        int r;
};

/* One loop per process: the scan state is this file's, as health.c's writer. */
static struct {
        bool running, again;
        json_t *list;
} foreign;

static void scan_work(uv_work_t *work) {
        struct scan *s = (struct scan *) work;

        s->r = ct_list_foreign(s->lxcpath, s->services, &s->found, &s->n);
}

static void scan_after(uv_work_t *work, int status) {
        struct scan *s = (struct scan *) work;
        struct manager *m = s->m;
        json_t *list = json_array();

        /* At exit the services may be gone already: nothing is listed then. */
        for (size_t i = 0; list && !m->stopping && s->r >= 0 && status >= 0 && i < s->n; i++)
                /* A service applied meanwhile under the name is no longer foreign here. */
                if (!manager_find(m, s->found[i].name))
                        json_array_append_new(list, json_pack("{s:s, s:s}", "name", s->found[i].name, "state",
                                                              hl_ct_state_to_string(s->found[i].state)));
        if (s->r < 0 && s->r != -ENOENT)
                log_warning("cannot list the containers of %s: %s", s->lxcpath, strerror(-s->r));
        if (list && s->r >= 0 && status >= 0) {
                json_decref(foreign.list);
                foreign.list = list;
        } else
                json_decref(list);
        free(s->found);
        free(s->lxcpath);
        hl_strv_free(s->services);
        free(s);
        foreign.running = false;
        if (foreign.again && !m->stopping) {
                foreign.again = false;
                foreign_refresh(m);
        }
}

void foreign_refresh(struct manager *m) {
        struct scan *s;

        if (foreign.running) {
                foreign.again = true;
                return;
        }
        s = calloc(1, sizeof(*s));
        if (!s || !(s->lxcpath = strdup(m->config.lxcpath)))
                goto oom;
        for (size_t i = 0; i < m->n_services; i++)
                if (hl_strv_push(&s->services, m->services[i]->name) < 0)
                        goto oom;
        s->m = m;
        if (work_queue(m->loop, &s->work, scan_work, scan_after) < 0)
                goto oom;
        foreign.running = true;
        return;
oom:
        if (s) {
                free(s->lxcpath);
                hl_strv_free(s->services);
        }
        free(s);
}

json_t *foreign_list(struct manager *m) {
        return foreign.list;
}

void foreign_done(struct manager *m) {
        json_decref(foreign.list);
        foreign.list = NULL;
}
