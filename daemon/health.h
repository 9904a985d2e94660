/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Health: each running service's [Health] checks on their interval (jittered), its
 * state (starting, healthy, unhealthy), the consequences (a restart by the reconciler,
 * dependents held back or shown degraded), sweeps on demand, and the Prometheus file. */

#include <jansson.h>

#include "hld.h"

enum health_status {
        HEALTH_NONE,      /* no checks, or not running */
        HEALTH_STARTING,  /* running, no verdict yet */
        HEALTH_HEALTHY,
        HEALTH_UNHEALTHY,
};

const char *health_status_to_string(enum health_status s);
enum health_status health_status(const struct service *s);

/* After a change of s's container or definition: arms, re-arms or stops its checks. */
void health_update(struct manager *m, struct service *s);
void health_forget(struct service *s);

/* Runs every check of the named services (all with checks when names is NULL) now, all
 * at once; cb gets {results: [...], healthy, duration_ms} when the last one is in. */
typedef void (*health_sweep_cb)(void *userdata, json_t *reply);
int health_sweep(struct manager *m, char **names, health_sweep_cb cb, void *userdata);

/* Writes the probe results not yet written (they go in one transaction per turn of the
 * loop) and answers the sweeps that waited for them; call at the end, too. */
void health_flush(struct manager *m);
/* Writes the metrics file (config MetricsFile=) atomically, when one is configured. */
void health_export(struct manager *m);
/* Summarizes and deletes probe results older than the retention; call now and then. */
void health_expire(struct manager *m);
