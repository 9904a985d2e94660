/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live events: hlctl events -f. Every recorded event row is sent to the clients that
 * asked for io.hl.Events with more, as it is written. */
#include <string.h>

#include "control.h"
#include "events.h"
#include "hl-protocol.h"
#include "log.h"
#include "store.h"

struct subscriber {
        struct manager *m;
        struct request *req;
        char *service; /* NULL = every service */
        struct subscriber *prev, *next;
};

static void unlink_subscriber(struct subscriber *sub) {
        struct manager *m = sub->m;

        if (sub->prev)
                sub->prev->next = sub->next;
        else
                m->subscribers = sub->next;
        if (sub->next)
                sub->next->prev = sub->prev;
        free(sub->service);
        free(sub);
}

static void on_cancel(void *userdata) {
        struct subscriber *sub = userdata;
        struct request *req = sub->req;

        unlink_subscriber(sub);
        request_reply(req, NULL, false);
}

int events_subscribe(struct manager *m, struct request *req, const char *service) {
        struct subscriber *sub = calloc(1, sizeof(*sub));

        if (!sub || (service && !(sub->service = strdup(service)))) {
                free(sub);
                return -ENOMEM;
        }
        sub->m = m;
        sub->req = req;
        sub->next = m->subscribers;
        if (sub->next)
                sub->next->prev = sub;
        m->subscribers = sub;
        request_on_cancel(req, on_cancel, sub);
        return 0;
}

void events_publish(struct manager *m, int64_t id) {
        json_t *event = NULL;
        const char *service;

        if (!m->subscribers || id <= 0 || store_event_get(m->store, id, &event) < 0)
                return;
        service = json_string_value(json_object_get(event, "service"));
        /* A reply can drop a slow client, which ends its subscription: step on first. */
        for (struct subscriber *sub = m->subscribers, *next; sub; sub = next) {
                next = sub->next;
                if (!sub->service || (service && strcmp(sub->service, service) == 0))
                        request_reply(sub->req, json_pack("{s:O}", "event", event), true);
        }
        json_decref(event);
}

void events_record(struct manager *m, int64_t run, const char *service, const char *action, const char *reason,
                   const char *result, const char *error) {
        int64_t id = 0;

        if (store_event_add(m->store, run, service, action, reason, result, error, &id) >= 0)
                events_publish(m, id);
}
