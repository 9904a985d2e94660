/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <time.h>

#include "hld.h"

/* How a mark of hld's starts in a console log (hl-session reads them back). */
#define LOGS_MARK "-- hl"

/* From now on every finished start, stop, restart, crash and verdict is marked in its
 * container's console log; logs_stop ends that. */
int logs_start(struct manager *m);
void logs_stop(struct manager *m);
/* Appends "-- hl TIME TEXT --" to service's console log, when its container exists. */
void logs_mark(struct manager *m, const char *service, time_t when, const char *text);
