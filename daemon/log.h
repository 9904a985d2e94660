/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <syslog.h>

#include "hl-macro.h"

/* Under systemd (JOURNAL_STREAM set) lines go to the journal with HL_* fields; elsewhere
 * one line each on stderr. service, action and run may be NULL/0. */
void log_setup(void);
void log_full(int priority, const char *service, const char *action, int64_t run, const char *fmt, ...)
        HL_PRINTF(5, 6);

#define log_error(...) log_full(LOG_ERR, NULL, NULL, 0, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, NULL, NULL, 0, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, NULL, NULL, 0, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, NULL, NULL, 0, __VA_ARGS__)
