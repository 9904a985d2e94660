/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A progress line for long work on a terminal: redrawn on stderr in place (each finished
 * action, and the time every 200 ms), erased when the work ends, so that the result
 * printed after it stands alone. Off a terminal, and with --json, it prints nothing: the
 * result's own lines are the plain record. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct progress {
        bool on;
        const char *what;
        unsigned done, failed;
        char last[160];
        uint64_t started_ms;
        bool drawn;
};

void progress_begin(struct progress *p, const char *what, bool json);
/* An action object that finished (a streamed reply's). */
void progress_action(struct progress *p, json_t *action);
void progress_tick(struct progress *p);
void progress_end(struct progress *p);
