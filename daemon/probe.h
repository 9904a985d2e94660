/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One run of one health check against a running container, never blocking the loop:
 * tcp, http, dns and ping probes use sockets made inside the container's network namespace and
 * then driven by libuv; exec probes are started through liblxc attach in the thread pool
 * and their exit is watched with a pidfd. Every probe ends by its timeout. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hl-check.h"
#include "hld.h"

struct probe_result {
        bool ok;
        int64_t latency_ms;
        char message[256];
};

typedef void (*probe_cb)(void *userdata, const struct probe_result *result);

/* netns_fd: a pidfd or /proc/PID/ns/net descriptor of the container's init (borrowed), or -1
 * for a Host= service, probed from hld's own namespace (init_pid then hld's). cb
 * is called once, on the loop. */
int probe_start(struct manager *m, const char *service, pid_t init_pid, int netns_fd, const struct hl_check *check,
                uint64_t timeout_ms, probe_cb cb, void *userdata);
