/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to methods.c and methods-info.c: the helpers the request handlers share, and the
 * handlers of methods-info.c that methods.c's table names. Nothing else includes this. */

#include <jansson.h>
#include <stdbool.h>

#include "control.h"
#include "hl-protocol.h"
#include "reconcile.h"

/* methods.c */
/* Decodes parameters with a table; on failure answers InvalidParameter and returns false. */
bool dispatch(struct request *req, json_t *parameters, const struct hl_field *table, void *base);
/* A Service object: what List, Show and Why say about s. */
json_t *service_json(struct manager *m, const struct service *s);
/* Decodes {name} and finds the service, or answers the error. */
struct service *find_named(struct manager *m, struct request *req, json_t *parameters);
/* Answers a failed run or plan with its named error. */
void reply_error(struct request *req, const struct run_result *result);

/* methods-apply.c */
void methods_plan(struct manager *m, struct request *req, json_t *parameters);
void methods_apply(struct manager *m, struct request *req, json_t *parameters);

/* methods-info.c */
void get_info(struct manager *m, struct request *req, json_t *parameters);
void get_interface_description(struct manager *m, struct request *req, json_t *parameters);
void version(struct manager *m, struct request *req, json_t *parameters);
void history(struct manager *m, struct request *req, json_t *parameters);
void events(struct manager *m, struct request *req, json_t *parameters);
void why(struct manager *m, struct request *req, json_t *parameters);
void health(struct manager *m, struct request *req, json_t *parameters);
void health_history(struct manager *m, struct request *req, json_t *parameters);
