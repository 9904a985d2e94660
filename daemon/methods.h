/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to the methods files (and schedule.c, which starts backups as Backup does): the
 * helpers the request handlers share, and the handlers methods.c's table names. */

#include <jansson.h>
#include <stdbool.h>

#include "request.h"
#include "hl-protocol.h"
#include "reconcile.h"

/* methods.c */
/* The table of every method, for control_listen. */
const struct method *methods_table(size_t *ret_n);
/* Decodes parameters with a table; on failure answers InvalidParameter and returns false. */
bool methods_dispatch(struct request *req, json_t *parameters, const struct hl_field *table, void *base);
/* A Service object: what List, Show and Why say about s. */
json_t *methods_service_json(struct manager *m, const struct service *s);
/* Whether name (of the parameter param) is a valid service name; if not, answers
 * InvalidArgument. */
bool methods_check_name(struct request *req, const char *param, const char *name);
/* Whether a timeout parameter, when given, is 0 to 86400 seconds; if not, answers. */
bool methods_check_timeout(struct request *req, json_t *parameters, int64_t timeout);
/* Decodes {name} and finds the service, or answers the error. */
struct service *methods_find_named(struct manager *m, struct request *req, json_t *parameters);
/* Whether s has a container to act on; a Host= service gets the answer that it has none
 * (what: "start", "back up"…) and true. */
bool methods_refuse_host(struct request *req, const struct service *s, const char *what);
/* Answers a failed run or plan with its named error. */
void methods_reply_error(struct request *req, const struct run_result *result);
/* Queues job (its kind, only and options; the rest is filled in from req) for a person, and
 * answers req with the service's last action when it is done, or with why it failed. */
void methods_queue_action(struct manager *m, struct request *req, enum hl_verb verb, const struct job_request *job);

/* Applies definitions ([{name, text, file}]) as Apply does, answering req as Apply. */
void methods_apply_definitions(struct manager *m, struct request *req, json_t *definitions);
/* The same, answered by then: reply is the Apply's (owned), or NULL when an error was
 * answered already. */
typedef void (*methods_applied_fn)(void *userdata, struct request *req, json_t *reply);
void methods_apply_definitions_then(struct manager *m, struct request *req, json_t *definitions, methods_applied_fn then,
                                    void *userdata);

/* methods-backup.c */
void methods_backup(struct manager *m, struct request *req, json_t *parameters);
void methods_backups(struct manager *m, struct request *req, json_t *parameters);
void methods_restore(struct manager *m, struct request *req, json_t *parameters);
void methods_migrate(struct manager *m, struct request *req, json_t *parameters);
void methods_adopt(struct manager *m, struct request *req, json_t *parameters);
void methods_list(struct manager *m, struct request *req, json_t *parameters);
void methods_top(struct manager *m, struct request *req, json_t *parameters);
/* A backup for [Backup] Schedule= (schedule.c): no request, its outcome in the history. */
void methods_backup_scheduled(struct manager *m, struct service *s);

/* methods-session.c */
void methods_exec(struct manager *m, struct request *req, json_t *parameters);
void methods_console(struct manager *m, struct request *req, json_t *parameters);
void methods_logs(struct manager *m, struct request *req, json_t *parameters);
void methods_push(struct manager *m, struct request *req, json_t *parameters);
void methods_pull(struct manager *m, struct request *req, json_t *parameters);
/* At exit: every session's helper told to end its command. */
void methods_sessions_close(struct manager *m);

/* methods-update.c */
void methods_update(struct manager *m, struct request *req, json_t *parameters);

/* methods-snapshot.c */
void methods_snapshot(struct manager *m, struct request *req, json_t *parameters);
void methods_snapshots(struct manager *m, struct request *req, json_t *parameters);
void methods_rollback(struct manager *m, struct request *req, json_t *parameters);
void methods_delete_snapshot(struct manager *m, struct request *req, json_t *parameters);

/* methods-apply.c */
void methods_plan(struct manager *m, struct request *req, json_t *parameters);
void methods_apply(struct manager *m, struct request *req, json_t *parameters);

/* methods-info.c */
void methods_get_info(struct manager *m, struct request *req, json_t *parameters);
void methods_get_interface_description(struct manager *m, struct request *req, json_t *parameters);
void methods_version(struct manager *m, struct request *req, json_t *parameters);
void methods_history(struct manager *m, struct request *req, json_t *parameters);
void methods_events(struct manager *m, struct request *req, json_t *parameters);
void methods_why(struct manager *m, struct request *req, json_t *parameters);
void methods_health(struct manager *m, struct request *req, json_t *parameters);
void methods_health_history(struct manager *m, struct request *req, json_t *parameters);
