/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to runs.c and reconcile.c: a run and the services it concerns (items). runs.c
 * makes runs, collects their items and surveys the containers; reconcile.c queues,
 * plans and executes them. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hl-index.h"
#include "plan.h"
#include "hld.h"
#include "job.h"

struct run {
        struct manager *m;
        struct job_request request; /* its strings are owned below */
        char *only;
        char **also;
        char **prune;
        char **order;
        char *user;
        char *expect_plan;
        char *snapshot, *comment;
        struct desired **apply;
        size_t n_apply;
        char **changed, **unchanged;
        char plan_id[65];
        const char *error_name;
        char *error;
        bool plan_only;
        bool observe_only; /* the run could not be recorded: it looks, and does nothing */
        bool queued;
        int64_t id;
        struct item *items;
        size_t n_items;
        struct hl_index index; /* item name -> position in items */
        size_t survey_threads; /* pool threads its survey may use */
        size_t pending;        /* survey work left */
        void (*surveyed)(struct run *run);
        /* An action of the run ended (execute.c tells reconcile.c). */
        void (*progressed)(struct run *run, struct item *it, struct action *a);
        unsigned jobs;         /* actions it may have under way at once */
        unsigned stop_timeout_s;
        unsigned active;
        bool finished;
        /* Stepped aside while it waits for health verdicts (reconcile.c): in the list of
         * parked runs, never the current run again. */
        bool parked;
        struct run *next;        /* in the queue */
        struct run *parked_next; /* among the parked runs */
};

/* runs.c */
struct run *runs_new(struct manager *m, const struct job_request *request);
void runs_free(struct run *run);
struct item *runs_find(struct run *run, const char *name);
/* Fills run->items (with the extra revisions instead of the stored ones), in Requires=
 * order, and each item's flags from the run's request. */
int runs_collect(struct run *run);
/* Surveys every item's container in the pool; run->surveyed is called when all are in. */
int runs_survey(struct run *run);
