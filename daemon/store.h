/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The database: service revisions, runs and events in one SQLite file. The only file
 * that includes sqlite3.h. Used from the loop thread only. Times are Unix milliseconds. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hl-state.h"

struct store;

struct store_service {
        const char *name;
        const char *override; /* NULL, "running" or "stopped": hlctl start/stop */
        int64_t revision;
        const char *hash;
        const char *text;
        const char *file;
        bool destroying; /* a destroy was asked for and has not finished */
};

int store_open(const char *path, struct store **ret);
/* A store function's -errno as a sentence: "database or disk is full". */
const char *store_strerror(int r);
struct store *store_close(struct store *s);

int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

typedef int (*store_service_cb)(void *userdata, const struct store_service *service);
/* Calls cb with the latest revision of every service that is not removed. */
int store_load_services(struct store *s, store_service_cb cb, void *userdata);

int store_add_revision(struct store *s, const char *service, const char *hash, const char *text,
                       const char *canonical, const char *file, uid_t uid, const char *user,
                       int64_t *ret_revision);
int store_remove_service(struct store *s, const char *service);
/* Records that the service is to be destroyed, before the destroy starts. A new revision
 * (the service applied again) takes it back. */
int store_set_destroying(struct store *s, const char *service);
int store_set_override(struct store *s, const char *service, bool overridden, enum hl_want override);

int store_run_begin(struct store *s, enum hl_trigger trigger, int64_t uid, const char *user, int64_t *ret_id);
int store_run_end(struct store *s, int64_t run, const char *outcome);

/* An event recorded as running before its action starts, and finished after. */
int store_event_begin(struct store *s, int64_t run, const char *service, enum hl_verb action, const char *reason,
                      int64_t uid, const char *user, int64_t *ret_id);
/* detail: what the action recorded, a JSON object whose keys the event shows (NULL: none). */
int store_event_end(struct store *s, int64_t event, enum hl_result result, int64_t duration_ms, const char *error,
                    const char *detail);
/* An event that is complete when it is recorded (an observation, a skipped action, a
 * stored revision); uid -1 and user NULL when hld itself is the actor. */
int store_event_add(struct store *s, int64_t run, const char *service, enum hl_verb action, const char *reason,
                    enum hl_result result, const char *error, int64_t uid, const char *user, int64_t *ret_id);
int store_event_get(struct store *s, int64_t id, json_t **ret);
/* The newest create of service that recorded its provisioning, or *ret NULL. */
int store_last_provision(struct store *s, const char *service, json_t **ret);

/* At start-up: whatever a killed hld left running is marked interrupted. Returns how many. */
int store_mark_interrupted(struct store *s);

/* Replies for History and Show, as the JSON of io.hl.varlink. */
struct store_history_filter {
        const char *service; /* NULL = all */
        const char *action;  /* NULL = all */
        bool failed;         /* only failed, skipped and interrupted actions */
        int64_t since_ms;
        int64_t limit;
};

int store_history(struct store *s, const struct store_history_filter *filter, json_t **ret);
int store_revisions(struct store *s, const char *service, json_t **ret);

/* Restart back-off of a service: consecutive automatic restarts and the last one's time. */
int store_restart_get(struct store *s, const char *service, unsigned *ret_failures, int64_t *ret_last_attempt);
int store_restart_set(struct store *s, const char *service, unsigned failures, int64_t last_attempt);

/* Health: every probe result; older ones summarized per day and deleted. */
int store_health_add(struct store *s, const char *service, const char *check, bool ok, int64_t latency_ms,
                     const char *message);
struct store_health_row {
        int64_t time_ms;
        const char *service;
        const char *check;
        bool ok;
        int64_t latency_ms;
        const char *message;
};
/* Many results in one transaction: a sweep of a hundred checks costs one commit. */
int store_health_add_batch(struct store *s, const struct store_health_row *rows, size_t n);
int store_health_expire(struct store *s, int64_t before_ms);
/* io.hl.HealthHistory: uptime share, flaps, failing since and the failures themselves. */
int store_health_history(struct store *s, const char *service, int64_t since_ms, json_t **ret);

