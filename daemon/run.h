/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to plan.c and reconcile.c: a run, the services it concerns (items) and their
 * actions. reconcile.c queues, surveys and executes runs; plan.c collects a run's items,
 * decides each item's actions and describes them. Nothing else includes this. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hl-index.h"
#include "reconcile.h"

enum item_status {
        ITEM_WAITING,
        ITEM_ACTIVE,
        ITEM_DONE,
        ITEM_FAILED,
        ITEM_SKIPPED,
};

struct action {
        const char *verb;
        char *reason;
        char **changes;
        const char *result; /* NULL until executed */
        char *error;
        int64_t duration_ms;
        int64_t event;
};

struct item {
        char *name;
        struct desired *desired;
        char wanted[16];
        char expected[16];
        bool destroy;
        bool restart;
        bool automatic;       /* hld acts on its own (timer, exit, start-up), not for a person */
        bool unhealthy;       /* its checks failed Retries= rounds in a row */
        int64_t next_restart; /* back-off: no automatic start before this (Unix ms) */
        bool waiting;         /* its start waits for a requirement's first health verdict */
        int64_t left_to;      /* a parked run acts on this service: its id, and this run does not */
        struct ct_observed observed;
        int observe_error;
        struct action *actions;
        size_t n_actions;
        size_t next;
        enum item_status status;
};

struct run {
        struct manager *m;
        struct job_request request; /* strings owned below */
        char *only;
        char **also;
        char **prune;
        char *user;
        char *expect_plan;
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
        struct hl_index index; /* item name -> position in items, once sorted */
        size_t pending; /* survey work left */
        unsigned active;
        bool finished;
        /* Stepped aside while it waits for health verdicts (reconcile.c): in the manager's
         * list of parked runs, never its current run again. */
        bool parked;
        struct run *next;        /* in the manager's queue */
        struct run *parked_next; /* in the manager's parked runs */
};

/* plan.c */
struct item *run_find(struct run *run, const char *name);
/* Fills run->items (with what extra brings instead of the stored revision), in Requires=
 * order, and each item's flags from the run's request. */
int run_collect(struct run *run, struct desired **extra, size_t n_extra);
/* Appends to it->actions what the service needs, from it->desired and it->observed. */
int plan_item(struct item *it);
json_t *action_json(const struct item *it, const struct action *a);
/* Every item's actions in planned order: [Action]. */
json_t *run_actions_json(struct run *run);
/* Fills run->plan_id from the items and their actions. */
void plan_id(struct run *run);
