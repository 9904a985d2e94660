/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <time.h>

#include "hld.h"

/* The marks file (ct.h's CT_FILE_MARKS): one line a mark, "TIME INODE OFFSET TEXT" (the
 * console log's inode and size when it was made); moved to .1 past this size. */
#define LOGS_MARKS_MAX (64 * 1024)

/* From now on every finished start, stop, restart, crash and verdict is marked in its
 * container's console log; logs_stop ends that. */
int logs_start(struct manager *m);
void logs_stop(struct manager *m);
/* Appends a mark to service's marks file, when its container exists. */
void logs_mark(struct manager *m, const char *service, time_t when, const char *text);
