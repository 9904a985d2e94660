/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Blocking work (liblxc) goes to libuv's thread pool through here.
 *
 * The one exception is a sanitizer build (meson -Db_sanitize=...): liblxc forks without
 * exec (the container monitor, attach), and gcc 12's ASan allocator is not fork-safe in a
 * threaded process — a child forked while another thread holds its lock hangs for ever.
 * There, work runs on the loop thread on the next iteration, so no other thread exists
 * when liblxc forks. The normal build keeps the pool; the sanitizer pass checks memory,
 * the normal pass the threading. */

#include <uv.h>

int work_queue(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after);
