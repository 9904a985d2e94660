/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Scheduled snapshots and their pruning ([Snapshot] Schedule= Keep=): a client of the
 * engine, as the methods are, driven by a timer. */

#include "hl-retention.h"
#include "hld.h"
#include "reconcile.h"
#include "snapshot.h"

int schedule_start(struct manager *m);
void schedule_stop(void);

/* Whether a snapshot is one the schedule took (and Keep= may prune). */
bool schedule_is_automatic(const char *snapshot);

/* For each snapshot of l: the rule of keep that keeps it (enum hl_keep_rule), or one of
 * these. */
#define SCHEDULE_NOT_PRUNED -1 /* not the schedule's: never pruned */
#define SCHEDULE_PRUNED -2     /* the next pruning deletes it */
int schedule_prune_marks(const struct hl_keep *keep, const struct snapshot_list *l, int *ret_rules);
