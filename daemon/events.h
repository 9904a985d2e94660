/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every event row, as it is written, to whoever subscribed: the engine records, the
 * methods (io.hl.Events) pass them on. The engine never names a client. */

#include <jansson.h>

#include "hld.h"
#include "hl-state.h"

struct subscriber;

/* Called with each event (borrowed) of the service asked for (NULL: all). */
typedef void (*events_cb)(void *userdata, json_t *event);

int events_subscribe(struct manager *m, const char *service, events_cb cb, void *userdata, struct subscriber **ret);
void events_unsubscribe(struct manager *m, struct subscriber *sub);
/* Sends the event row id to the subscribers: call after each write of an event. */
void events_publish(struct manager *m, int64_t id);
/* Writes an event that is complete when it is written and publishes it. */
void events_record(struct manager *m, int64_t run, const char *service, enum hl_verb action, const char *reason,
                   enum hl_result result, const char *error);
