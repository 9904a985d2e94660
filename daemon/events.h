/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "control.h"
#include "hld.h"

/* Keeps req open and sends it every event of service (NULL = all) as a continued reply,
 * until the client goes away. */
int events_subscribe(struct manager *m, struct request *req, const char *service);
/* Sends the event row id to the subscribers: call after each write of an event. */
void events_publish(struct manager *m, int64_t id);
/* Writes an event that is complete when it is written and publishes it. */
void events_record(struct manager *m, int64_t run, const char *service, const char *action, const char *reason,
                   const char *result, const char *error);
