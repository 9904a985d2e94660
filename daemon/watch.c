/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Noticing a container's exit at once, without polling: a pidfd of its init becomes
 * readable when that process ends, and libuv polls it on the loop like any socket. */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"

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
