/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The planner: from a service's definition and its container as the survey saw it, the
 * actions that make them equal. It decides and describes, and does nothing: no liblxc, no
 * database, no loop, so tests/unit/test-plan.c runs it on made-up states. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ct.h"
#include "hl-state.h"

struct desired;

enum item_status {
        ITEM_WAITING,
        ITEM_ACTIVE,
        ITEM_DONE,
        ITEM_FAILED,
        ITEM_SKIPPED,
};

struct action {
        enum hl_verb verb;
        char *reason;
        bool impossible; /* it cannot succeed (the item's problem): failed without being tried */
        char **changes;
        bool done; /* executed, skipped or held: result, error and duration say how */
        enum hl_result result;
        char *error;
        int64_t duration_ms;
        int64_t event;
};

/* One service in a run. */
struct item {
        char *name;
        struct desired *desired;
        enum hl_want wanted;
        enum hl_ct_state expected; /* what hld last saw or made (UNKNOWN: nothing yet) */
        bool destroy;
        bool restart;
        /* A snapshot to take, roll back to or delete (snapshot_verb), or NULL; borrowed from
         * the run, as is its comment. */
        const char *snapshot;
        enum hl_verb snapshot_verb;
        const char *comment;
        bool updating; /* an update of the service is under way (methods-update.c) */
        bool backup_stop; /* snapshot_verb HL_VERB_BACKUP: stop it rather than snapshot it */
        bool held;        /* a backup reads its container's own files: nothing is done to it */
        bool automatic;       /* hld acts on its own (timer, exit, start-up), not for a person */
        bool unhealthy;       /* its checks failed Retries= rounds in a row */
        int64_t next_restart; /* back-off: no automatic start before this (Unix ms) */
        struct ct_observed observed;
        int observe_error;
        char *problem; /* what the node lacks for it to start (ct_check_host), or NULL */
        struct action *actions;
        size_t n_actions;
        size_t next;
        enum item_status status;
        bool waiting;    /* its start waits for a requirement's first health verdict */
        int64_t left_to; /* a parked run acts on this service: its id, and this run does not */
};

void plan_item_done(struct item *it);
/* Appends to it->actions what the service needs, at the time now (Unix ms). */
int plan_item(struct item *it, int64_t now);
bool plan_item_has(const struct item *it, enum hl_verb verb);
json_t *plan_action_json(const struct item *it, const struct action *a);
/* Every item's actions in planned order: [Action]. */
json_t *plan_actions_json(const struct item *items, size_t n);
/* The id of a plan: a hash of everything it was computed from (each service's revision
 * and wanted state, what the survey saw) and of what it says, so that apply --plan ID
 * runs only what was reviewed. */
void plan_id(const struct item *items, size_t n, char ret[65]);
