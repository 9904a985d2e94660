/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reconciler, the top of the engine: runs that survey the containers (off the loop),
 * plan per service what makes them equal to their definitions, and execute the plan in
 * Requires= order with bounded parallelism. Runs that change the node are queued and go
 * one at a time, so two applies never interleave on a service. */

#include <jansson.h>

#include "hld.h"
#include "job.h"

/* Sets up the run queue, its timers and the engine's hooks; reconcile_done frees them once
 * the loop has ended. */
int reconcile_init(struct manager *m);
void reconcile_done(struct manager *m);
/* (Re)arms the periodic reconcile from m->config. */
void reconcile_start_timers(struct manager *m);

int reconcile_enqueue(struct manager *m, const struct job_request *request);
/* What a reconcile would do now, as if request's apply revisions were stored and its
 * prune destroyed. Changes nothing. The callback's run is 0. */
int reconcile_plan(struct manager *m, const struct job_request *request);
/* At shutdown: the timers stop, queued jobs are answered with an error, parked runs end,
 * the running one starts nothing new. */
void reconcile_drain(struct manager *m);
/* The service is gone: its checks, its watch, its record and hld's memory of it. */
void reconcile_forget(struct manager *m, const char *name);
