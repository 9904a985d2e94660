/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the engine shares (manager.c's): the services and what hld knows of each. All of it
 * lives on the loop thread; work handed to the thread pool gets its own copies or
 * references (struct desired is reference counted for that reason). Each part of the
 * engine keeps its own state behind a pointer of its own type (reconcile.c's runs,
 * events.c's subscribers); what a lower part has to tell an upper one goes through the
 * hooks the upper one registers, never through a call upward. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "ct.h"
#include "hl-def.h"
#include "hl-index.h"
#include "hl-state.h"

struct exit_watch;
struct manager;
struct health;
struct reconciler;
struct store;
struct subscriber;

/* One revision of a service's definition, with what follows from it. Immutable once made. */
struct desired {
        unsigned ref;
        struct hl_def *def;
        struct ct_settings settings;
        char *text;
        char *file;
        /* The canonical JSON of def, as stored, and its SHA-256: the same bytes. */
        char *canonical;
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
        /* hlctl start/stop said otherwise than State=, until the next start or stop. */
        bool overridden;
        enum hl_want override;
        struct ct_observed observed;
        bool observed_valid;
        bool busy;
        bool backing_up; /* a Backup's archive is being written (methods-backup.c) */
        bool held;       /* ... from the container's own files: no run acts on it meanwhile */
        bool updating;   /* an Update is under way (methods-update.c) */
        /* [Snapshot] Schedule= (schedule.c): the next time (Unix s; 0 not worked out, -1
         * never), for which revision, and whether the last one is still being taken. */
        int64_t snapshot_due;
        const struct desired *snapshot_due_for;
        bool snapshot_due_busy;
        /* [Backup] Schedule=, the same way (a backup under way is backing_up). */
        int64_t backup_due;
        const struct desired *backup_due_for;
        /* A destroy was asked for (and recorded) and has not finished: every run, also
         * the first after a kill, destroys it. */
        bool destroying;
        /* The state hld last saw or made (UNKNOWN: none yet): tells a stop behind its back
         * from its own. */
        enum hl_ct_state expected;
        /* The latest action on the service (-1: none yet) and its error or hold reason. */
        int last_action;
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
/* The definition's State= unless hlctl start/stop said otherwise. */
enum hl_want service_wanted(const struct service *s);

/* What the lower parts of the engine tell the upper ones; reconcile.c fills them in. */
struct engine_hooks {
        /* watch.c: the container init of service exited, not by hld's doing. */
        void (*container_exited)(struct manager *m, const char *service);
        /* health.c: the verdict on service changed; unhealthy when it turned so. */
        void (*verdict)(struct manager *m, const char *service, bool unhealthy);
};

struct manager {
        uv_loop_t *loop;
        struct config config;
        gid_t admin_gid;
        bool admin_gid_valid;
        struct store *store;
        /* In Requires= order, so that runs and listings go dependencies first. */
        struct service **services;
        size_t n_services;
        struct hl_index by_name; /* name -> struct service * */
        struct reconciler *reconciler; /* reconcile.c */
        struct subscriber *subscribers; /* events.c */
        struct subscriber *publishing;  /* the next one events_publish visits */
        struct engine_hooks hooks;
        struct session *sessions; /* methods-session.c: exec and console sessions */
        bool stopping;
};

struct service *manager_find(struct manager *m, const char *name);
/* Takes a reference to desired. */
int manager_set_desired(struct manager *m, const char *name, struct desired *desired);
/* Frees what manager.c keeps of the service; the watch and the checks are stopped first by
 * the caller (reconcile_forget does it all). */
void manager_forget(struct manager *m, const char *name);
/* Puts m->services in Requires= order. */
void manager_sort(struct manager *m);
/* Puts m->services in the order of names (all of them, as a plan computed it). */
void manager_reorder(struct manager *m, char *const *names);
void manager_notify_status(struct manager *m, const char *fmt, ...) HL_PRINTF(2, 3);
