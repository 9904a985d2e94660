/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What is asked of the reconciler (a run, a plan) and what it answers: the types that
 * reconcile.h's callers and the runs themselves (run.h) share. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hl-state.h"

struct desired;

enum job_kind {
        JOB_RECONCILE, /* plan and execute */
        JOB_RESTART,   /* stop + start one service */
        JOB_DESTROY,   /* destroy one service's container and forget it */
        JOB_SNAPSHOT,  /* take, roll back to or delete one snapshot of one service */
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
        enum hl_trigger trigger;
        const char *only;        /* one service, or NULL for all */
        char **also;             /* with only: services to include as well (what it requires) */
        struct desired **apply;  /* revisions stored when the run begins (Apply), or planned with */
        size_t n_apply;
        char **order;            /* with apply: every service of the node as it will be, in Requires= order */
        char **prune;            /* services to destroy as part of the run */
        const char *expect_plan; /* refuse to run unless the plan has this id */
        bool stop_timeout_set;   /* a clean stop's bound for this run, instead of StopTimeout= */
        unsigned stop_timeout_s;
        bool force;              /* stops, restarts and destroys kill at once */
        enum hl_verb snapshot_verb; /* JOB_SNAPSHOT: HL_VERB_SNAPSHOT, _ROLLBACK or _DELETE_SNAPSHOT */
        const char *snapshot;    /* JOB_SNAPSHOT: the snapshot's name */
        const char *comment;     /* HL_VERB_SNAPSHOT: its comment, or NULL */
        /* HL_VERB_BACKUP: a running container is snapshotted (frozen for the copy) for the
         * backup, or stopped cleanly with backup_stop; a stopped one is left as it is. */
        bool backup_stop;
        int64_t uid;             /* -1 when hld itself is the actor */
        const char *user;
        job_done_cb done;
        void *userdata;
        /* With more: each action as it finishes (a borrowed Action object). */
        void (*progress)(void *userdata, json_t *action);
};
