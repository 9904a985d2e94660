/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reconciler: survey the containers (off the loop), plan per service what makes them
 * equal to their definitions, execute the plan in Requires= order with bounded
 * parallelism. Mutating work is queued and runs one job at a time, so two applies never
 * interleave on a service. */

#include <jansson.h>

#include "hld.h"

enum job_kind {
        JOB_RECONCILE, /* plan and execute */
        JOB_RESTART,   /* stop + start one service */
        JOB_DESTROY,   /* destroy one service's container and forget it */
};

/* What a job or a plan came to. Everything is borrowed for the callback's duration. */
struct run_result {
        int64_t run;       /* 0 for a plan */
        json_t *actions;   /* [Action] in planned order */
        const char *plan_id;
        char **changed;    /* Apply: services that got a new revision */
        char **unchanged;
        const char *error; /* NULL on success */
        const char *error_name;
};

typedef void (*job_done_cb)(void *userdata, const struct run_result *result);

struct job_request {
        enum job_kind kind;
        const char *trigger;     /* startup, timer, apply, cli, container-exit */
        const char *only;        /* one service, or NULL for all */
        char **also;             /* with only: services to include as well (what it requires) */
        struct desired **apply;  /* revisions stored when the run begins (Apply) */
        size_t n_apply;
        char **prune;            /* services to destroy as part of the run */
        const char *expect_plan; /* refuse to run unless the plan has this id */
        int64_t uid;             /* -1 when hld itself is the actor */
        const char *user;
        job_done_cb done;
        void *userdata;
        /* With more: each action as it finishes (a borrowed Action object). */
        void (*progress)(void *userdata, json_t *action);
};

int reconcile_enqueue(struct manager *m, const struct job_request *request);

/* What a reconcile would do now; with extra, as if those revisions were stored and prune
 * destroyed. Changes nothing. The callback's run is 0. */
int reconcile_plan(struct manager *m, const char *trigger, struct desired **extra, size_t n_extra, char **prune,
                   job_done_cb done, void *userdata);

/* Queues a timer-triggered reconcile unless one is already waiting. */
void reconcile_on_timer(struct manager *m);
/* At shutdown: queued jobs are answered with an error; the running one starts nothing new. */
void reconcile_drain(struct manager *m);
/* Something a waiting run depends on changed (a health verdict): let it look again. */
void reconcile_poke(struct manager *m);
