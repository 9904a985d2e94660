/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hlctl's output: one interface, implemented once as tables for people and once as JSON
 * for scripts, in the manner of OpenBSD bgpctl's struct output. Each function gets the
 * parameters object of one reply (always an object, possibly empty: the daemon may be
 * older or newer than hlctl, so every field is optional here and printed as "-" when it
 * is missing or has the wrong type, see reply.h). Functions return 0 or -errno. */

#include <jansson.h>
#include <stdbool.h>

struct output {
        int (*apply)(json_t *reply);
        int (*plan)(json_t *reply);
        int (*reconcile)(json_t *reply);
        int (*list)(json_t *reply);
        int (*show)(json_t *reply);
        int (*action)(json_t *reply);
        int (*history)(json_t *reply);
        /* One reply of a stream of events, {event}: one line, flushed at once. */
        int (*event)(json_t *reply);
        int (*why)(json_t *reply);
        int (*version)(json_t *reply);
        int (*health)(json_t *reply);
        int (*health_history)(json_t *reply);
        int (*snapshots)(json_t *reply);
        int (*backups)(json_t *reply);
};

extern const struct output output_table;
/* --output wide: status and list with more columns (the rest as the table). */
extern bool output_wide;
extern const struct output output_json;

/* The tables of health and health --history (output-health.c). */
int output_table_health(json_t *reply);
int output_table_health_history(json_t *reply);

/* Whether an action object's result, or any in an array of actions, is "failed". */
bool output_action_failed(json_t *action);
bool output_actions_failed(json_t *actions);
