/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdlib.h>

#include "work.h"

#ifndef HL_SANITIZED

int work_queue(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after) {
        return uv_queue_work(loop, req, work, after);
}

#else

struct inline_work {
        uv_work_t *req;
        uv_work_cb work;
        uv_after_work_cb after;
        struct inline_work *next;
};

/* Queued work runs one item per turn of the loop, from an idle handle: sockets are polled
 * between two items, as they would be while the pool works. (Timers of 0 ms would not do:
 * libuv runs timers that come due while it runs timers in the same pass, so a chain of
 * work would hold the loop to its end.) */
static struct {
        uv_idle_t idle;
        bool initialized;
        struct inline_work *head, *tail;
} pending;

static void on_idle(uv_idle_t *idle) {
        struct inline_work *w = pending.head;

        if (!w) {
                uv_idle_stop(idle);
                return;
        }
        pending.head = w->next;
        if (!pending.head)
                pending.tail = NULL;
        w->work(w->req);
        w->after(w->req, 0);
        free(w);
}

int work_queue(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after) {
        struct inline_work *w = calloc(1, sizeof(*w));

        if (!w)
                return UV_ENOMEM;
        *w = (struct inline_work) { .req = req, .work = work, .after = after };
        req->loop = loop;
        if (!pending.initialized) {
                uv_idle_init(loop, &pending.idle);
                pending.initialized = true;
        }
        if (pending.tail)
                pending.tail->next = w;
        else
                pending.head = w;
        pending.tail = w;
        return uv_idle_start(&pending.idle, on_idle);
}

#endif
