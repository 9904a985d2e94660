/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "work.h"

#ifndef HL_SANITIZED

int work_queue(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after) {
        return uv_queue_work(loop, req, work, after);
}

#else

struct inline_work {
        uv_timer_t timer;
        uv_work_t *req;
        uv_work_cb work;
        uv_after_work_cb after;
};

static void on_run(uv_timer_t *t) {
        struct inline_work *w = t->data;

        w->work(w->req);
        w->after(w->req, 0);
        uv_close((uv_handle_t *) &w->timer, (uv_close_cb) free);
}

int work_queue(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after) {
        struct inline_work *w = calloc(1, sizeof(*w));

        if (!w)
                return UV_ENOMEM;
        *w = (struct inline_work) { .req = req, .work = work, .after = after };
        req->loop = loop;
        uv_timer_init(loop, &w->timer);
        w->timer.data = w;
        return uv_timer_start(&w->timer, on_run, 0, 0);
}

#endif
