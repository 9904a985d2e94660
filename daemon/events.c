/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live events: every recorded event row goes to the subscribers as it is written. */
#include <errno.h>
#include <string.h>

#include "events.h"
#include "store.h"

struct subscriber {
        char *service; /* NULL = every service */
        events_cb cb;
        void *userdata;
        struct subscriber *prev, *next;
};

int events_subscribe(struct manager *m, const char *service, events_cb cb, void *userdata, struct subscriber **ret) {
        struct subscriber *sub = calloc(1, sizeof(*sub));

        if (!sub || (service && !(sub->service = strdup(service)))) {
                free(sub);
                return -ENOMEM;
        }
        sub->cb = cb;
        sub->userdata = userdata;
        sub->next = m->subscribers;
        if (sub->next)
                sub->next->prev = sub;
        m->subscribers = sub;
        *ret = sub;
        return 0;
}

void events_unsubscribe(struct manager *m, struct subscriber *sub) {
        if (m->publishing == sub)
                m->publishing = sub->next;
        if (sub->prev)
                sub->prev->next = sub->next;
        else
                m->subscribers = sub->next;
        if (sub->next)
                sub->next->prev = sub->prev;
        free(sub->service);
        free(sub);
}

void events_publish(struct manager *m, int64_t id) {
        struct subscriber *saved = m->publishing;
        json_t *event = NULL;
        const char *service;

        if (!m->subscribers || id <= 0 || store_event_get(m->store, id, &event) < 0)
                return;
        service = json_string_value(json_object_get(event, "service"));
        /* A callback may end any subscription (a slow client dropped): the next one to
         * visit is kept where events_unsubscribe can step it on. */
        for (struct subscriber *sub = m->subscribers; sub; sub = m->publishing) {
                m->publishing = sub->next;
                if (!sub->service || (service && strcmp(sub->service, service) == 0))
                        sub->cb(sub->userdata, event);
        }
        m->publishing = saved;
        json_decref(event);
}

void events_record(struct manager *m, int64_t run, const char *service, enum hl_verb action, const char *reason,
                   enum hl_result result, const char *error) {
        int64_t id = 0;

        if (store_event_add(m->store, run, service, action, reason, result, error, -1, NULL, &id) >= 0)
                events_publish(m, id);
}
