/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Carrying out a run's plan: each item's actions in Requires= order, up to the run's jobs
 * at once, each recorded as running before its liblxc call goes to the pool and with its
 * result after. Private to reconcile.c, which is told through run->progressed when an
 * action ends. */

#include "run.h"

enum schedule_state {
        SCHEDULE_BUSY,    /* actions are under way, or can start */
        SCHEDULE_WAITING, /* nothing under way; what is left waits for health verdicts */
        SCHEDULE_DONE,    /* every item is done, failed or skipped */
};

/* Starts what may start now; says what the run is left with. */
enum schedule_state execute_schedule(struct run *run);
/* The item's remaining actions are not done: recorded as skipped for reason. */
void execute_skip(struct run *run, struct item *it, const char *reason);
/* What the survey (or an action) saw of s's container becomes what hld knows. */
void execute_observed(struct manager *m, struct service *s, const struct ct_observed *o);
/* The item no longer waits for a requirement's verdict: its service says so no more. */
void execute_stop_waiting(struct manager *m, struct item *it);
