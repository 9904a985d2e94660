/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Noticing a container's exit at once: a pidfd of its init, polled by libuv. */

#include "hld.h"

/* Watches the init of s's running container: when it exits, not by hld's doing, the
 * container_exited hook is told. Re-arms when the pid changed; stops when the container is
 * not running. */
void watch_update(struct manager *m, struct service *s);
void watch_stop(struct service *s);
/* The pidfd of s's container init, or -1: a handle on its namespaces that cannot go stale. */
int watch_fd(const struct service *s);
/* Reads the interfaces and addresses of running containers again every few seconds, off
 * the loop, into their observed state (a DHCP lease comes after the start). */
void watch_start_addresses(struct manager *m, uv_timer_t *timer);
