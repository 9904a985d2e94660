/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The method table, and the handlers of io.hl that list services or change them: decode
 * with tables, answer from memory where the answer is there, hand work that changes the
 * node to the reconciler. The handlers that only explain are in methods-info.c. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "hl-protocol.h"
#include "log.h"
#include "methods.h"
#include "reconcile.h"
#include "store.h"

/* Decodes parameters with a table; on failure answers InvalidParameter and returns false. */
bool methods_dispatch(struct request *req, json_t *parameters, const struct hl_field *table, void *base) {
        const char *bad = NULL;

        if (hl_json_dispatch(parameters, table, base, &bad) < 0) {
                request_error(req, HL_VARLINK_INVALID_PARAMETER, json_pack("{s:s}", "parameter", bad ? bad : ""));
                return false;
        }
        return true;
}

static json_t *limits_json(uint64_t cores, uint64_t memory, uint64_t swap) {
        return json_pack("{s:I, s:I, s:I}", "cores", (json_int_t) cores, "memory", (json_int_t) memory, "swap",
                         (json_int_t) swap);
}

/* Each interface but lo with its global addresses (link-local ones are everywhere). */
static json_t *interfaces_json(const struct netinfo *n) {
        json_t *list = json_array();

        for (size_t i = 0; list && i < n->n_ifaces; i++) {
                const struct netinfo_iface *f = &n->ifaces[i];
                json_t *addresses = json_array();

                for (size_t k = 0; addresses && k < f->n_addrs; k++)
                        if (!f->addrs[k].link_local)
                                json_array_append_new(addresses, json_string(f->addrs[k].text));
                json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:o}", "name", f->name, "hwaddr", f->mac, "up",
                                                      f->up, "addresses", addresses ? addresses : json_array()));
        }
        return list ? list : json_array();
}

json_t *methods_service_json(struct manager *m, const struct service *s) {
        const struct hl_def *d = s->desired->def;
        json_t *requires = json_array(), *j;

        for (char **r = d->requires; requires && r && *r; r++)
                json_array_append_new(requires, json_string(*r));
        /* A Host= service: state HOST, its address what it is checked at, no template. */
        j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:s?, s:o}", "name", s->name, "description",
                      d->description ? d->description : "", "desired", hl_want_to_string(service_wanted(s)), "state",
                      d->host ? "HOST" : hl_ct_state_to_string(s->observed.state), "revision",
                      (json_int_t) s->desired->revision, "requires", requires ? requires : json_array(), "template",
                      d->template_name, "limits", limits_json(d->cores, d->memory, d->swap));
        if (!j)
                return NULL;
        if (d->host) {
                json_object_set_new(j, "host", json_string(d->host));
                json_object_set_new(j, "address", json_string(d->host));
        }
        if (s->observed.pid > 0) {
                json_object_set_new(j, "pid", json_integer(s->observed.pid));
                json_object_set_new(j, "live_limits", limits_json(s->observed.live_cores, s->observed.live_memory,
                                                                  s->observed.live_swap));
                json_object_set_new(j, "memory_usage", json_integer((json_int_t) s->observed.memory_usage));
                json_object_set_new(j, "interfaces", interfaces_json(&s->observed.net));
                if (*netinfo_primary(&s->observed.net)) {
                        char address[sizeof(s->observed.net.ifaces[0].addrs[0].text)];
                        snprintf(address, sizeof(address), "%s", netinfo_primary(&s->observed.net));
                        address[strcspn(address, "/")] = 0;
                        json_object_set_new(j, "address", json_string(address));
                }
        }
        json_object_set_new(j, "health", json_string(health_status_to_string(health_status(s))));
        if (s->desired->def->update.exec)
                json_object_set_new(j, "update", json_true());
        for (char **r = d->requires; r && *r; r++) {
                struct service *dep = manager_find(m, *r);
                /* Running on something that is not well: degraded, whatever its own checks say. */
                if (dep && health_status(dep) == HEALTH_UNHEALTHY && s->observed.state == HL_CT_RUNNING) {
                        json_object_set_new(j, "degraded", json_string(*r));
                        break;
                }
        }
        json_object_set_new(j, "restart_policy", json_string(hl_restart_policy_to_string(d->restart.policy)));
        json_object_set_new(j, "restarts", json_integer(s->restart_failures));
        if (s->destroying)
                json_object_set_new(j, "condition", json_string("destroying"));
        else if (s->observed.unsafe[0]) {
                json_object_set_new(j, "condition", json_string("unsafe"));
                json_object_set_new(j, "problem", json_string(s->observed.unsafe));
        } else if (s->observed.damaged[0]) {
                json_object_set_new(j, "condition", json_string("damaged"));
                json_object_set_new(j, "problem", json_string(s->observed.damaged));
        } else if (!d->host && s->observed.state != HL_CT_RUNNING && service_wanted(s) == HL_WANT_RUNNING) {
                int64_t next = service_next_restart(s);
                if (next > hl_now_ms()) {
                        json_object_set_new(j, "condition", json_string("crash-looping"));
                        json_object_set_new(j, "next_restart", json_integer(next / 1000));
                } else if (s->last_action == HL_VERB_HOLD)
                        json_object_set_new(j, "condition", json_string("exited"));
        }
        if (s->waiting_for) {
                json_object_set_new(j, "waiting_for", json_string(s->waiting_for));
                json_object_set_new(j, "waiting_since", json_integer(s->waiting_since / 1000));
        }
        if (s->last_action >= 0)
                json_object_set_new(j, "last_action", json_string(hl_verb_to_string((enum hl_verb) s->last_action)));
        if (s->last_error)
                json_object_set_new(j, "last_error", json_string(s->last_error));
        return j;
}

struct name_args {
        const char *name;
};

static const struct hl_field name_table[] = {
        { "name", HL_FIELD_STRING, offsetof(struct name_args, name), true },
        {},
};

bool methods_check_name(struct request *req, const char *param, const char *name) {
        if (hl_name_is_valid(name))
                return true;
        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", param, "\"%.80s\" is not a valid service name",
                               name);
        return false;
}

bool methods_check_timeout(struct request *req, json_t *parameters, int64_t timeout) {
        if (!json_object_get(parameters, "timeout") || (timeout >= 0 && timeout <= 24 * 3600))
                return true;
        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "timeout", "timeout must be 0 to 86400 seconds");
        return false;
}

/* Decodes {name} and finds the service, or answers the error. */
struct service *methods_find_named(struct manager *m, struct request *req, json_t *parameters) {
        struct name_args a = {};
        struct service *s;

        if (!methods_dispatch(req, parameters, name_table, &a) || !methods_check_name(req, "name", a.name))
                return NULL;
        s = manager_find(m, a.name);
        if (!s)
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", a.name, "no service named %s", a.name);
        return s;
}

bool methods_refuse_host(struct request *req, const struct service *s, const char *what) {
        if (!s->desired->def->host)
                return false;
        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "name", s->name,
                               "%s is a Host= service (%s): hl checks it from the node and has no container to %s",
                               s->name, s->desired->def->host, what);
        return true;
}

static void show(struct manager *m, struct request *req, json_t *parameters) {
        struct service *s = methods_find_named(m, req, parameters);
        json_t *revisions = NULL;
        int r;

        if (!s)
                return;
        r = store_revisions(m->store, s->name, &revisions);
        if (r < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not read the revisions: %s", strerror(-r));
                return;
        }
        json_t *reply = json_pack("{s:o, s:s, s:o, s:o}", "service", methods_service_json(m, s), "text",
                                  s->desired->text, "definition", hl_def_to_json(s->desired->def), "revisions", revisions);
        json_t *provisioned = NULL;
        /* How its container was last provisioned, when it was. */
        if (reply && store_last_provision(m->store, s->name, &provisioned) >= 0 && provisioned)
                json_object_set_new(reply, "provisioned", provisioned);
        request_reply(req, reply, false);
}

void methods_reply_error(struct request *req, const struct run_result *result) {
        request_fail(req, result->error_name ? result->error_name : HL_ERROR_INTERNAL, "%s", result->error);
}

struct action_context {
        struct manager *m;
        struct request *req;
        char *service;
        enum hl_verb verb;
};

static void action_done(void *userdata, const struct run_result *result) {
        struct action_context *ctx = userdata;
        json_t *actions = result->actions;
        const char *error = result->error;
        json_t *last = NULL, *v;
        size_t i;

        json_array_foreach(actions, i, v) {
                const char *name = json_string_value(json_object_get(v, "service"));
                if (name && strcmp(name, ctx->service) == 0)
                        last = v;
        }

        json_array_foreach(actions, i, v) {
                const char *outcome = json_string_value(json_object_get(v, "result"));
                if (outcome && strcmp(outcome, "ok") != 0) {
                        const char *err = json_string_value(json_object_get(v, "error"));
                        /* A hold has no error: its reason says why. */
                        if (!err)
                                err = json_string_value(json_object_get(v, "reason"));
                        request_fail_parameter(ctx->req, HL_ERROR_ACTION_FAILED, "service", ctx->service, "%s %s %s: %s",
                                       json_string_value(json_object_get(v, "action")), ctx->service, outcome,
                                       err ? err : "no reason given");
                        goto finish;
                }
        }
        /* A destroy with no container left to destroy still forgets the service. */
        if (!error && ctx->verb == HL_VERB_DESTROY)
                reconcile_forget(ctx->m, ctx->service);
        if (error)
                methods_reply_error(ctx->req, result);
        else if (last)
                request_reply(ctx->req, json_pack("{s:O}", "action", last), false);
        else
                request_reply(ctx->req,
                              json_pack("{s:{s:s, s:s, s:s, s:[], s:s, s:i}}", "action", "service", ctx->service, "action",
                                        hl_verb_to_string(ctx->verb), "reason", "nothing to do: already as wanted", "changes", "result",
                                        "skipped", "duration_ms", 0),
                              false);
finish:
        free(ctx->service);
        free(ctx);
}

/* hlctl start/stop holds until the next start/stop or a revision with another State=;
 * a restart, as systemctl's, leaves the service running. */
static int set_override(struct manager *m, struct service *s, bool running) {
        enum hl_want want = running ? HL_WANT_RUNNING : HL_WANT_STOPPED;
        bool overridden = (s->desired->def->state == HL_DESIRED_RUNNING) != running;
        int r = store_set_override(m->store, s->name, overridden, want);

        if (r < 0)
                return r;
        s->overridden = overridden;
        s->override = want;
        return 0;
}

/* Everything s requires, directly or not. */
static void requirements(struct manager *m, const struct service *s, char ***list) {
        for (char **r = s->desired->def->requires; r && *r; r++) {
                struct service *dep = manager_find(m, *r);

                /* A Host= service is not started: it is waited for, by its checks. */
                if (!dep || dep->desired->def->host || hl_strv_contains(*list, *r) || hl_strv_push(list, *r) < 0)
                        continue;
                requirements(m, dep, list);
        }
}

struct lifecycle_args {
        const char *name;
        int64_t timeout;
        bool force;
        bool has_timeout;
};

/* {name} for Start; {name, timeout?, force?} for Stop, Restart and Destroy. */
static struct service *decode_lifecycle(struct manager *m, struct request *req, json_t *parameters, enum hl_verb verb,
                                        struct lifecycle_args *a) {
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct lifecycle_args, name), true },
                { "timeout", HL_FIELD_INT, offsetof(struct lifecycle_args, timeout), false },
                { "force", HL_FIELD_BOOL, offsetof(struct lifecycle_args, force), false },
                {},
        };
        struct service *s;

        if (verb == HL_VERB_START)
                return methods_find_named(m, req, parameters);
        a->timeout = -1;
        if (!methods_dispatch(req, parameters, table, a))
                return NULL;
        if (!methods_check_timeout(req, parameters, a->timeout))
                return NULL;
        a->has_timeout = a->timeout >= 0;
        if (!methods_check_name(req, "name", a->name))
                return NULL;
        s = manager_find(m, a->name);
        if (!s)
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", a->name, "no service named %s", a->name);
        return s;
}

static void service_action(struct manager *m, struct request *req, json_t *parameters, enum hl_verb verb,
                           enum job_kind kind) {
        struct lifecycle_args la = {};
        struct service *s = decode_lifecycle(m, req, parameters, verb, &la);
        _cleanup_(hl_strv_freep) char **also = NULL;
        int r;

        if (!s)
                return; /* answered, and req is gone */
        if (verb != HL_VERB_DESTROY && methods_refuse_host(req, s, hl_verb_to_string(verb)))
                return;
        if (kind == JOB_DESTROY)
                for (size_t i = 0; i < m->n_services; i++)
                        if (hl_strv_contains(m->services[i]->desired->def->requires, s->name)) {
                                request_fail(req, HL_ERROR_BUSY, "%s requires %s: destroy %s first",
                                               m->services[i]->name, s->name, m->services[i]->name);
                                return;
                        }
        /* As systemctl start does with Requires=: what the service needs comes up too. */
        if (verb == HL_VERB_START || verb == HL_VERB_RESTART)
                requirements(m, s, &also);
        /* Recorded first: a kill in the middle of the destroy leaves it to be finished. */
        if (kind == JOB_DESTROY) {
                r = store_set_destroying(m->store, s->name);
                if (r < 0) {
                        request_fail(req, HL_ERROR_INTERNAL, "could not record the destroy: %s",
                                       store_strerror(r));
                        return;
                }
                s->destroying = true;
        }
        if (verb != HL_VERB_DESTROY) {
                r = set_override(m, s, verb != HL_VERB_STOP);
                for (char **a = also; r >= 0 && a && *a; a++)
                        r = set_override(m, manager_find(m, *a), true);
                if (r < 0) {
                        request_fail(req, HL_ERROR_INTERNAL, "could not record the %s: %s", hl_verb_to_string(verb),
                                     store_strerror(r));
                        return;
                }
        }
        methods_queue_action(m, req, verb,
                             &(struct job_request) { .kind = kind, .only = s->name, .also = also,
                                                     .stop_timeout_set = la.has_timeout,
                                                     .stop_timeout_s = (unsigned) la.timeout, .force = la.force });
}

void methods_queue_action(struct manager *m, struct request *req, enum hl_verb verb, const struct job_request *job) {
        const struct peer *peer = request_peer(req);
        struct job_request j = *job;
        struct action_context *ctx = calloc(1, sizeof(*ctx));
        int r;

        if (!ctx || !(ctx->service = strdup(job->only))) {
                free(ctx);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        ctx->m = m;
        ctx->req = req;
        ctx->verb = verb;
        j.trigger = HL_TRIGGER_CLI;
        j.uid = peer->uid;
        j.user = peer->user;
        j.done = action_done;
        j.userdata = ctx;
        r = reconcile_enqueue(m, &j);
        if (r < 0) {
                free(ctx->service);
                free(ctx);
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the %s: %s", hl_verb_to_string(verb), strerror(-r));
        }
}

static void start(struct manager *m, struct request *req, json_t *p) {
        service_action(m, req, p, HL_VERB_START, JOB_RECONCILE);
}

static void stop(struct manager *m, struct request *req, json_t *p) {
        service_action(m, req, p, HL_VERB_STOP, JOB_RECONCILE);
}

static void restart(struct manager *m, struct request *req, json_t *p) {
        service_action(m, req, p, HL_VERB_RESTART, JOB_RESTART);
}

static void destroy(struct manager *m, struct request *req, json_t *p) {
        service_action(m, req, p, HL_VERB_DESTROY, JOB_DESTROY);
}

static void reconcile_answered(void *userdata, const struct run_result *result) {
        struct request *req = userdata;

        if (result->error)
                methods_reply_error(req, result);
        else
                request_reply(req, json_pack("{s:I, s:O}", "run", (json_int_t) result->run, "actions", result->actions),
                              false);
}

static void reconcile(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = { {} };
        const struct peer *peer = request_peer(req);
        int r;

        if (!methods_dispatch(req, parameters, table, NULL))
                return;
        r = reconcile_enqueue(m, &(struct job_request) { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_CLI, .uid = peer->uid,
                                                         .user = peer->user, .done = reconcile_answered, .userdata = req });
        if (r < 0)
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the reconcile: %s", strerror(-r));
}

static const struct method methods[] = {
        { "org.varlink.service.GetInfo", methods_get_info, false, false, false },
        { "org.varlink.service.GetInterfaceDescription", methods_get_interface_description, false, false, false },
        { HL_INTERFACE ".Version", methods_version, false, false, false },
        { HL_INTERFACE ".List", methods_list, false, false, false },
        { HL_INTERFACE ".Top", methods_top, false, true, false },
        { HL_INTERFACE ".Show", show, false, false, false },
        { HL_INTERFACE ".History", methods_history, false, true, false },
        { HL_INTERFACE ".Events", methods_events, false, false, false },
        { HL_INTERFACE ".Why", methods_why, false, true, false },
        { HL_INTERFACE ".Health", methods_health, false, true, false },
        { HL_INTERFACE ".HealthHistory", methods_health_history, false, true, false },
        { HL_INTERFACE ".Plan", methods_plan, false, true, false },
        { HL_INTERFACE ".Apply", methods_apply, true, false, false },
        { HL_INTERFACE ".Start", start, true, false, false },
        { HL_INTERFACE ".Stop", stop, true, false, false },
        { HL_INTERFACE ".Restart", restart, true, false, false },
        { HL_INTERFACE ".Destroy", destroy, true, false, false },
        { HL_INTERFACE ".Reconcile", reconcile, true, false, false },
        { HL_INTERFACE ".Snapshots", methods_snapshots, false, true, false },
        { HL_INTERFACE ".Snapshot", methods_snapshot, true, false, false },
        { HL_INTERFACE ".Rollback", methods_rollback, true, false, false },
        { HL_INTERFACE ".DeleteSnapshot", methods_delete_snapshot, true, false, false },
        { HL_INTERFACE ".Backups", methods_backups, false, true, false },
        { HL_INTERFACE ".Backup", methods_backup, true, false, false },
        { HL_INTERFACE ".Restore", methods_restore, true, false, false },
        { HL_INTERFACE ".Migrate", methods_migrate, true, false, false },
        { HL_INTERFACE ".Adopt", methods_adopt, true, false, false },
        { HL_INTERFACE ".Update", methods_update, true, false, false },
        /* A session runs what its caller asks inside the container: the admin's. */
        { HL_INTERFACE ".Exec", methods_exec, true, false, true },
        { HL_INTERFACE ".Console", methods_console, true, false, true },
        { HL_INTERFACE ".Push", methods_push, true, false, true },
        { HL_INTERFACE ".Pull", methods_pull, true, false, true },
        /* Changes nothing, but is for the admin's eyes (methods_logs checks). */
        { HL_INTERFACE ".Logs", methods_logs, false, false, false },
};

const struct method *methods_table(size_t *ret_n) {
        *ret_n = HL_ELEMENTSOF(methods);
        return methods;
}
