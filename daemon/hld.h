/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the parts of hld share: the manager (one per process) and its services. All of it
 * lives on the loop thread; work handed to the thread pool gets its own copies or
 * references (struct desired is reference counted for that reason). */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "container.h"
#include "hl-def.h"
#include "hl-index.h"

struct control;
struct exit_watch;
struct health;
struct subscriber;
struct store;
struct job;
struct run;

struct config {
        char *state_dir;
        char *lxcpath;
        char *socket_path;
        char *readonly_socket_path; /* "" = none */
        char *admin_group;
        unsigned jobs;
        uint64_t reconcile_interval_ms;
        unsigned stop_timeout_s;
        char *metrics_file;          /* Prometheus text file, NULL = none */
        uint64_t health_retention_ms;
        uint64_t idle_timeout_ms; /* a client with no complete call for this long is closed */
};

/* One revision of a service's definition, with what follows from it. Immutable once made. */
struct desired {
        unsigned ref;
        struct hl_def *def;
        struct ct_settings settings;
        char *text;
        char *file;
        char hash[65];
        int64_t revision;
};

struct desired *desired_new(struct hl_def *def, const char *text, const char *file, int64_t revision);
struct desired *desired_ref(struct desired *d);
struct desired *desired_unref(struct desired *d);
HL_DEFINE_FREEP(struct desired, desired_unref)

struct service {
        char *name;
        struct desired *desired;
        char *override; /* "running" or "stopped" after hlctl start/stop, else NULL */
        struct ct_observed observed;
        bool observed_valid;
        bool busy;
        /* A destroy was asked for (and recorded) and has not finished: every run, also
         * the first after a kill, destroys it. */
        bool destroying;
        /* The state hld last saw or made: tells a stop behind its back from its own. */
        char expected_state[16];
        char *last_action;
        char *last_error;
        /* Restart back-off ([Restart]), mirrored in the database. */
        unsigned restart_failures;
        int64_t last_restart_ms;
        /* The running container's init, watched through a pidfd to notice its exit. */
        struct exit_watch *watch;
        /* [Health] checks and their verdict (health.c). */
        struct health *health;
        /* Its start waits for this requirement's first health verdict, since then. */
        char *waiting_for;
        int64_t waiting_since;
};

/* When the next automatic restart of s may happen (Unix ms), or 0 when it may go now. */
int64_t service_next_restart(const struct service *s);

struct manager {
        uv_loop_t *loop;
        struct config config;
        gid_t admin_gid;
        bool admin_gid_valid;
        struct store *store;
        struct service **services;
        size_t n_services;
        struct hl_index by_name; /* name -> struct service * */
        struct control *control;          /* root and the admin group */
        struct control *readonly_control; /* anyone, reads only */
        uv_timer_t reconcile_timer;
        uv_timer_t watchdog_timer;
        uv_timer_t backoff_timer;
        uv_timer_t expire_timer;
        uv_signal_t signals[3];
        struct job *queue_head, *queue_tail;
        struct run *run;
        struct run *parked; /* runs waiting for health verdicts, stepped aside */
        struct subscriber *subscribers; /* events -f */
        size_t survey_threads;          /* pool threads a survey may use */
        bool stopping;
};

struct service *manager_find(struct manager *m, const char *name);
/* Takes a reference to desired. */
int manager_set_desired(struct manager *m, const char *name, struct desired *desired, const char *override);
void manager_forget(struct manager *m, const char *name);
/* Keeps m->services in Requires= order, so runs and listings go dependencies first. */
void manager_sort(struct manager *m);
/* "running" or "stopped": the definition's State= unless hlctl start/stop said otherwise. */
const char *service_wanted_state(const struct service *s);
void manager_notify_status(struct manager *m, const char *fmt, ...) HL_PRINTF(2, 3);

/* Watches the init of s's running container (watch.c): when it exits, a reconcile of s
 * is queued with the trigger container-exit. Re-arms when the pid changed; stops when
 * the container is not running. */
void watch_update(struct manager *m, struct service *s);
void watch_stop(struct service *s);
/* The pidfd of s's container init, or -1: a handle on its namespaces that cannot go stale. */
int watch_fd(const struct service *s);
/* Arms the back-off timer for the earliest pending automatic restart. */
void manager_schedule_backoff(struct manager *m);
