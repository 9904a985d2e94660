/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Noticing a container's exit at once, without polling: a pidfd of its init becomes
 * readable when that process ends, and libuv polls it on the loop like any socket. */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fcntl.h>
#include <stdlib.h>

#include "log.h"
#include "netinfo.h"
#include "watch.h"
#include "work.h"

struct exit_watch {
        uv_poll_t poll;
        struct manager *m;
        char *service; /* by name: the service may be forgotten meanwhile */
        pid_t pid;
        int fd;
};

static void on_closed(uv_handle_t *h) {
        struct exit_watch *w = h->data;

        close(w->fd);
        free(w->service);
        free(w);
}

static void watch_free(struct exit_watch *w) {
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *) &w->poll, on_closed);
}

void watch_stop(struct service *s) {
        if (s->watch)
                watch_free(s->watch);
        s->watch = NULL;
}

static void on_exit_event(uv_poll_t *p, int status, int events) {
        struct exit_watch *w = p->data;
        struct manager *m = w->m;
        struct service *s = manager_find(m, w->service);

        if (!s || s->watch != w) {
                watch_free(w);
                return;
        }
        watch_stop(s);
        /* hld's own stops and restarts are not news. */
        if (s->busy || m->stopping)
                return;
        log_full(LOG_NOTICE, s->name, "exit", 0, "container init (pid %d) exited", (int) w->pid);
        if (m->hooks.container_exited)
                m->hooks.container_exited(m, s->name);
}

void watch_update(struct manager *m, struct service *s) {
        struct exit_watch *w;
        pid_t pid = s->observed.state == HL_CT_RUNNING ? s->observed.pid : 0;
        int fd;

        if (s->watch && s->watch->pid == pid)
                return;
        watch_stop(s);
        if (pid <= 0 || m->stopping)
                return;
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0) {
                /* ESRCH: it is gone already, and the next survey sees that. */
                if (errno != ESRCH)
                        log_warning("cannot watch %s (pid %d): %s; its exits are seen at the next reconcile", s->name,
                                    (int) pid, strerror(errno));
                return;
        }
        w = calloc(1, sizeof(*w));
        if (!w || !(w->service = strdup(s->name))) {
                free(w);
                close(fd);
                return;
        }
        w->m = m;
        w->pid = pid;
        w->fd = fd;
        w->poll.data = w;
        if (uv_poll_init(m->loop, &w->poll, fd) < 0) {
                free(w->service);
                free(w);
                close(fd);
                return;
        }
        uv_poll_start(&w->poll, UV_READABLE, on_exit_event);
        s->watch = w;
}

int watch_fd(const struct service *s) {
        return s->watch ? s->watch->fd : -1;
}

/* --- addresses ------------------------------------------------------------------------ */

/* A lease comes after the start, and may change: the interfaces of running containers are
 * read again every few seconds, in the pool, one batch at a time. */
#define ADDRESS_INTERVAL_MS 3000

struct address_item {
        char *service;
        pid_t pid;
        int fd; /* a dup of the watch's pidfd */
        int r;
        struct netinfo net;
};

struct address_work {
        uv_work_t req;
        struct manager *m;
        size_t n;
        struct address_item items[];
};

static bool addresses_busy;

static void addresses_work(uv_work_t *req) {
        struct address_work *w = (struct address_work *) req;

        for (size_t i = 0; i < w->n; i++)
                w->items[i].r = netinfo_read_ns(w->items[i].fd, &w->items[i].net);
}

static void addresses_after(uv_work_t *req, int status) {
        struct address_work *w = (struct address_work *) req;

        addresses_busy = false;
        for (size_t i = 0; i < w->n; i++) {
                struct address_item *it = &w->items[i];
                struct service *s = status == 0 && it->r >= 0 ? manager_find(w->m, it->service) : NULL;

                if (s && s->observed.pid == it->pid && s->observed.state == HL_CT_RUNNING) {
                        netinfo_done(&s->observed.net);
                        s->observed.net = it->net;
                } else
                        netinfo_done(&it->net);
                close(it->fd);
                free(it->service);
        }
        free(w);
}

static void on_address_timer(uv_timer_t *t) {
        struct manager *m = t->data;
        struct address_work *w;
        size_t n = 0;

        if (addresses_busy || m->stopping)
                return;
        for (size_t i = 0; i < m->n_services; i++)
                n += watch_fd(m->services[i]) >= 0;
        if (n == 0)
                return;
        w = calloc(1, sizeof(*w) + n * sizeof(w->items[0]));
        if (!w)
                return;
        w->m = m;
        for (size_t i = 0; i < m->n_services && w->n < n; i++) {
                struct service *s = m->services[i];
                struct address_item *it = &w->items[w->n];

                if (watch_fd(s) < 0 || s->observed.pid <= 0)
                        continue;
                it->fd = fcntl(watch_fd(s), F_DUPFD_CLOEXEC, 3);
                it->service = strdup(s->name);
                it->pid = s->observed.pid;
                if (it->fd < 0 || !it->service) {
                        if (it->fd >= 0)
                                close(it->fd);
                        free(it->service);
                        continue;
                }
                w->n++;
        }
        if (w->n == 0 || work_queue(m->loop, &w->req, addresses_work, addresses_after) < 0) {
                for (size_t i = 0; i < w->n; i++) {
                        close(w->items[i].fd);
                        free(w->items[i].service);
                }
                free(w);
                return;
        }
        addresses_busy = true;
}

void watch_start_addresses(struct manager *m, uv_timer_t *timer) {
        uv_timer_init(m->loop, timer);
        timer->data = m;
        uv_timer_start(timer, on_address_timer, ADDRESS_INTERVAL_MS, ADDRESS_INTERVAL_MS);
}
