/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Containers in hld's lxcpath that another tool made: looked for in the pool after each
 * run (and at start), kept for List, never acted on (plan.c holds a service whose
 * container is one). */

#include <jansson.h>

struct manager;

/* Starts a scan unless one is under way (then another follows it). */
void foreign_refresh(struct manager *m);
/* [{name, state}] of the last scan, borrowed; NULL before the first. */
json_t *foreign_list(struct manager *m);
void foreign_done(struct manager *m);
