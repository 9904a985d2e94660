/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plan and Apply: the definitions of a call are parsed and checked in the thread pool (a
 * thousand of them are tens of milliseconds of CPU that the loop does not spend), then
 * checked against the node on the loop, in time linear in both, and handed to the
 * reconciler. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hl-index.h"
#include "hl-ini.h"
#include "hl-protocol.h"
#include "methods.h"
#include "reconcile.h"
#include "work.h"

#define MAX_DEFINITIONS 1000

/* Definitions of an Apply or Plan, parsed and checked against each other and the store. */
struct batch {
        struct desired **items;
        size_t n;
        struct hl_index index; /* name -> position in items */
        char **prune;
        char **order; /* every service of the node as it will be, in Requires= order */
};

static void batch_done(struct batch *b) {
        for (size_t i = 0; i < b->n; i++)
                desired_unref(b->items[i]);
        free(b->items);
        hl_index_done(&b->index);
        hl_strv_free(b->prune);
        hl_strv_free(b->order);
        *b = (struct batch) {};
}

static struct desired *batch_find(struct batch *b, const char *name) {
        size_t i;

        return hl_index_get(&b->index, name, &i) ? b->items[i] : NULL;
}

/* An error reply made off the loop, sent from it. */
struct failure {
        const char *name;
        json_t *parameters;
};

static int failf(struct failure *f, const char *name, const char *key, const char *value, const char *fmt, ...)
        HL_PRINTF(5, 6);
static int failf(struct failure *f, const char *name, const char *key, const char *value, const char *fmt, ...) {
        char message[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        f->name = name;
        f->parameters = json_pack("{s:s}", "message", message);
        if (f->parameters && key)
                json_object_set_new(f->parameters, key, json_string(value ? value : ""));
        return -EINVAL;
}

static json_t *definition_error_json(const struct hl_def_error *e) {
        char message[1024];

        hl_def_error_format(e, message, sizeof(message));
        return json_pack("{s:s, s:i, s:s, s:s, s:s}", "file", e->file, "line", (int) e->line, "key", e->key, "reason",
                         e->message, "message", message);
}

/* InvalidDefinition: the first error in the fields of its own, as before, and every error
 * of the file in errors, their lines joined in message. */
static int fail_definitions(struct failure *f, const struct hl_errors *errors) {
        json_t *list = json_array();
        size_t len = 0, cap = 4096;
        _cleanup_free_ char *message = malloc(cap);

        if (!list || !message || errors->n == 0) {
                json_decref(list);
                return -ENOMEM;
        }
        message[0] = 0;
        for (size_t i = 0; i < errors->n; i++) {
                char line[1024];
                int n;

                json_array_append_new(list, definition_error_json(&errors->items[i]));
                hl_def_error_format(&errors->items[i], line, sizeof(line));
                n = snprintf(message + len, cap - len, "%s%s", i ? "\n" : "", line);
                if (n > 0 && (size_t) n < cap - len)
                        len += (size_t) n;
        }
        if (errors->dropped > 0)
                snprintf(message + len, cap - len, "\n(and %zu more errors)", errors->dropped);
        f->name = HL_ERROR_INVALID_DEFINITION;
        f->parameters = definition_error_json(&errors->items[0]);
        if (f->parameters) {
                json_object_set_new(f->parameters, "message", json_string(message));
                json_object_set_new(f->parameters, "errors", list);
        } else
                json_decref(list);
        return -EINVAL;
}

static int fail_definition(struct failure *f, const struct hl_def_error *e) {
        struct hl_errors one = { .items = (struct hl_def_error *) e, .n = 1 };

        return fail_definitions(f, &one);
}

struct definition_args {
        const char *name, *text, *file;
};

static const struct hl_field definition_table[] = {
        { "name", HL_FIELD_STRING, offsetof(struct definition_args, name), true },
        { "text", HL_FIELD_TEXT, offsetof(struct definition_args, text), true },
        { "file", HL_FIELD_STRING, offsetof(struct definition_args, file), false },
        {},
};

/* The part that needs nothing of the node: runs in the thread pool. */
static int batch_parse(json_t *definitions, struct batch *b, struct failure *f) {
        size_t index;
        json_t *v;

        if (json_array_size(definitions) > MAX_DEFINITIONS)
                return failf(f, HL_ERROR_INVALID_ARGUMENT, "parameter", "definitions", "at most %d definitions at once",
                             MAX_DEFINITIONS);
        b->items = calloc(json_array_size(definitions) + 1, sizeof(*b->items));
        if (!b->items)
                return -ENOMEM;
        json_array_foreach(definitions, index, v) {
                struct definition_args a = {};
                _cleanup_free_ char *file = NULL;
                _cleanup_(hl_errors_done) struct hl_errors errors = {};
                struct hl_def_error e = {};
                struct hl_def *def = NULL;
                const char *bad = NULL;
                int r;

                if (hl_json_dispatch(v, definition_table, &a, &bad) < 0)
                        return failf(f, HL_VARLINK_INVALID_PARAMETER, "parameter", "definitions",
                                     "definitions[%zu].%s is missing, unknown or of the wrong type", index,
                                     bad ? bad : "?");
                /* A name that no file could give is the caller's mistake, not the file's. */
                if (!hl_name_is_valid(a.name))
                        return failf(f, HL_ERROR_INVALID_ARGUMENT, "parameter", "definitions",
                                     "\"%.80s\" is not a valid service name: use a-z, 0-9 and '-', at most %d "
                                     "characters, not starting or ending with '-', not all digits (a Proxmox VMID)",
                                     a.name, HL_NAME_MAX);
                if (a.file && strlen(a.file) > 4096)
                        return failf(f, HL_ERROR_INVALID_ARGUMENT, "parameter", "file",
                                     "a file name is longer than 4096 bytes");
                file = a.file ? strdup(a.file) : hl_strdup_printf("%.80s.conf", a.name);
                if (!file)
                        return -ENOMEM;
                r = hl_def_parse_all(a.name, file, a.text, json_string_length(json_object_get(v, "text")), &def, &errors);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail_definitions(f, &errors);
                /* Before any create is tried: a template that cannot make a container is an
                 * error of the file, at its line. */
                {
                        _cleanup_free_ char *why = NULL;
                        if (ct_template_check(def, &why) < 0) {
                                hl_def_error_set(&e, file, def->template_line, "Template", "%s",
                                                 why ? why : "cannot be used");
                                hl_def_free(def);
                                return fail_definition(f, &e);
                        }
                }
                for (size_t i = 0; i < def->n_lxc; i++)
                        if (!ct_lxc_key_supported(def->lxc[i].key))
                                hl_errors_add(&errors, file, def->lxc[i].line, "Lxc", "this liblxc has no key %s",
                                              def->lxc[i].key);
                if (errors.n > 0) {
                        hl_def_free(def);
                        return fail_definitions(f, &errors);
                }
                b->items[b->n] = desired_new(def, a.text, file, 0);
                if (!b->items[b->n]) {
                        hl_def_free(def);
                        return -ENOMEM;
                }
                r = hl_index_put(&b->index, b->items[b->n]->def->name, b->n);
                b->n++;
                if (r == -EEXIST)
                        return failf(f, HL_ERROR_INVALID_ARGUMENT, "parameter", "definitions",
                                     "service %s is defined twice (%s)", a.name, file);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every Requires= of the node as it will be names a service of it: the line that names
 * one that is not is the error. */
static int check_requires(struct batch *b, struct hl_def *const *all, size_t n_all, const struct hl_index *known,
                          struct failure *f) {
        for (size_t i = 0; i < n_all; i++) {
                size_t k = 0;

                for (char **r = all[i]->requires; r && *r; r++, k++) {
                        struct desired *d;
                        struct hl_def_error e = {};

                        if (hl_index_get(known, *r, NULL))
                                continue;
                        d = batch_find(b, all[i]->name);
                        hl_def_error_set(&e, d ? d->file : all[i]->name,
                                         d && all[i]->requires_lines ? all[i]->requires_lines[k] : 0, "Requires",
                                         hl_strv_contains(b->prune, *r) ? "%s would be pruned, but %s requires it"
                                                                        : "no service named %s is defined (%s requires it)",
                                         *r, all[i]->name);
                        return fail_definition(f, &e);
                }
        }
        return 0;
}

/* The part that needs the node, on the loop: the set as it will be has known Requires=,
 * no cycle, and nothing pruned that stays required. */
/* A service that has a container does not become a Host= one: its container would be left
 * running, no one's. It is destroyed first, and its name then says what runs elsewhere. */
static int check_host_services(struct manager *m, struct batch *b, struct failure *f) {
        for (size_t i = 0; i < b->n; i++) {
                const struct hl_def *def = b->items[i]->def;
                const struct service *s = def->host ? manager_find(m, def->name) : NULL;
                struct hl_def_error e = {};

                if (!s || s->desired->def->host || !s->observed.exists)
                        continue;
                hl_def_error_set(&e, b->items[i]->file, def->host_line, "Host",
                                 "%s has a container: hlctl destroy %s first, then apply it as a Host= service", def->name,
                                 def->name);
                return fail_definition(f, &e);
        }
        return 0;
}

static int batch_check(struct manager *m, struct batch *b, bool prune, struct failure *f) {
        _cleanup_(hl_index_done) struct hl_index known = {};
        _cleanup_free_ struct hl_def **all = calloc(b->n + m->n_services + 1, sizeof(*all));
        _cleanup_free_ size_t *order = calloc(b->n + m->n_services + 1, sizeof(*order));
        struct hl_def_error e = {};
        size_t n_all = 0, n_prune = 0;
        int r;

        if (prune)
                b->prune = calloc(m->n_services + 1, sizeof(char *));
        if (!all || !order || (prune && !b->prune))
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++)
                all[n_all++] = b->items[i]->def;
        for (size_t i = 0; i < m->n_services; i++) {
                if (batch_find(b, m->services[i]->name))
                        continue;
                if (prune) {
                        if (!(b->prune[n_prune++] = strdup(m->services[i]->name)))
                                return -ENOMEM;
                        continue;
                }
                all[n_all++] = m->services[i]->desired->def;
        }
        for (size_t i = 0; i < n_all; i++)
                if (hl_index_put(&known, all[i]->name, i) == -ENOMEM)
                        return -ENOMEM;
        r = check_requires(b, all, n_all, &known, f);
        if (r < 0)
                return r;
        r = check_host_services(m, b, f);
        if (r < 0)
                return r;
        r = hl_def_order(all, n_all, order, &e);
        if (r == -ELOOP)
                return fail_definition(f, &e);
        if (r < 0)
                return r;
        /* The one time this apply orders the node: the run and the services keep it. */
        b->order = calloc(n_all + 1, sizeof(char *));
        if (!b->order)
                return -ENOMEM;
        for (size_t i = 0; i < n_all; i++)
                if (!(b->order[i] = strdup(all[order[i]]->name)))
                        return -ENOMEM;
        return 0;
}

/* A Plan or an Apply on its way through the pool. */
struct batch_call {
        uv_work_t work;
        struct manager *m;
        struct request *req;
        json_t *definitions; /* a reference of our own: the call's JSON is gone after the handler */
        bool prune, apply;
        char *plan;
        methods_applied_fn then;
        void *then_data;
        struct batch batch;
        struct failure failure;
        int r;
};

static void batch_call_free(struct batch_call *c) {
        batch_done(&c->batch);
        json_decref(c->definitions);
        json_decref(c->failure.parameters);
        free(c->plan);
        free(c);
}

static json_t *strv_json(char *const *v) {
        json_t *a = json_array();

        for (size_t i = 0; a && v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

static void plan_done(void *userdata, const struct run_result *result) {
        struct request *req = userdata;

        if (result->error)
                methods_reply_error(req, result);
        else
                request_reply(req, json_pack("{s:s, s:O}", "id", result->plan_id, "actions", result->actions), false);
}

/* An Apply in its run: which services were asked for, so that the reply (and hlctl's exit
 * status) is about them, and what else the run did is told apart. */
struct apply_context {
        struct request *req;
        struct hl_index asked; /* keys are the strings of names */
        char **names;
        methods_applied_fn then; /* answers instead, when set */
        void *then_data;
};

static void apply_context_free(struct apply_context *ctx) {
        hl_index_done(&ctx->asked);
        hl_strv_free(ctx->names);
        free(ctx);
}

static bool asked_for(const struct apply_context *ctx, json_t *action) {
        const char *service = json_string_value(json_object_get(action, "service"));

        return service && hl_index_get(&ctx->asked, service, NULL);
}

static void apply_done(void *userdata, const struct run_result *result) {
        struct apply_context *ctx = userdata;
        json_t *mine = json_array(), *others = json_array(), *v;
        size_t i;

        json_t *reply;

        if (result->error) {
                methods_reply_error(ctx->req, result);
                json_decref(mine);
                json_decref(others);
                if (ctx->then)
                        ctx->then(ctx->then_data, ctx->req, NULL);
                apply_context_free(ctx);
                return;
        }
        json_array_foreach(result->actions, i, v)
                json_array_append(asked_for(ctx, v) ? mine : others, v);
        reply = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}", "run", (json_int_t) result->run, "plan", result->plan_id,
                          "changed", strv_json(result->changed), "unchanged", strv_json(result->unchanged), "actions",
                          mine ? mine : json_array(), "others", others ? others : json_array());
        if (ctx->then)
                ctx->then(ctx->then_data, ctx->req, reply);
        else
                request_reply(ctx->req, reply, false);
        apply_context_free(ctx);
}

/* Apply with more: one reply per finished action, of the method's own type. */
static void apply_progress(void *userdata, json_t *action) {
        struct apply_context *ctx = userdata;
        bool mine = asked_for(ctx, action);

        request_reply(ctx->req,
                      json_pack("{s:s, s:[], s:[], s:[O], s:[]}", "plan", "", "changed", "unchanged", mine ? "actions" : "others",
                                action, mine ? "others" : "actions"),
                      true);
}

static int ask(struct apply_context *ctx, const char *name) {
        int r;

        if (hl_index_get(&ctx->asked, name, NULL))
                return 0;
        r = hl_strv_push(&ctx->names, name);
        if (r < 0)
                return r;
        /* The strv may move its array, never its strings. */
        return hl_index_put(&ctx->asked, ctx->names[hl_strv_length(ctx->names) - 1], 0);
}

/* The services of the apply's files, what they require (directly or not) and what it
 * prunes. */
static struct apply_context *apply_context_new(struct manager *m, struct request *req, const struct batch *b) {
        struct apply_context *ctx = calloc(1, sizeof(*ctx));
        int r = ctx ? 0 : -ENOMEM;

        if (!ctx)
                return NULL;
        ctx->req = req;
        for (size_t i = 0; r >= 0 && i < b->n; i++)
                r = ask(ctx, b->items[i]->def->name);
        /* Breadth first over names: each is added once, so this ends. */
        for (size_t k = 0; r >= 0 && ctx->names && ctx->names[k]; k++) {
                size_t j;
                const struct hl_def *def = hl_index_get(&b->index, ctx->names[k], &j) ? b->items[j]->def : NULL;
                struct service *s = def ? NULL : manager_find(m, ctx->names[k]);

                if (!def && s)
                        def = s->desired->def;
                for (char **q = def ? def->requires : NULL; r >= 0 && q && *q; q++)
                        r = ask(ctx, *q);
        }
        for (char **p = b->prune; r >= 0 && p && *p; p++)
                r = ask(ctx, *p);
        if (r < 0) {
                apply_context_free(ctx);
                return NULL;
        }
        return ctx;
}

/* Lxc= writes what hl does not check (hooks run on the node as root, devices, AppArmor):
 * as Proxmox keeps raw lxc keys to root@pam, only root applies a new revision with them.
 * Planning one is anyone's, and so is applying again what root applied. */
static int check_lxc_keys_are_roots(struct manager *m, struct batch *b, uid_t uid, struct failure *f) {
        for (size_t i = 0; i < b->n; i++) {
                const struct hl_def *def = b->items[i]->def;
                const struct service *s = manager_find(m, def->name);

                if (def->n_lxc > 0 && !(s && strcmp(s->desired->hash, b->items[i]->hash) == 0))
                        return failf(f, HL_ERROR_PERMISSION_DENIED, "file", b->items[i]->file,
                                     "%s:%u: Lxc: raw lxc keys are root's to apply (uid %u is not root), as Proxmox "
                                     "keeps them to root@pam", b->items[i]->file, def->lxc[0].line, (unsigned) uid);
        }
        return 0;
}

static void batch_work(uv_work_t *work) {
        struct batch_call *c = (struct batch_call *) work;

        if (c->definitions)
                c->r = batch_parse(c->definitions, &c->batch, &c->failure);
}

static void batch_after(uv_work_t *work, int status) {
        struct batch_call *c = (struct batch_call *) work;
        struct manager *m = c->m;
        struct request *req = c->req;
        const struct peer *peer = request_peer(req);
        int r = status < 0 ? status : c->r;

        if (r >= 0 && (c->definitions || c->prune))
                r = batch_check(m, &c->batch, c->prune, &c->failure);
        if (r >= 0 && c->apply && peer->uid != 0)
                r = check_lxc_keys_are_roots(m, &c->batch, peer->uid, &c->failure);
        if (r < 0) {
                if (c->failure.name)
                        request_error(req, c->failure.name, TAKE_PTR(c->failure.parameters));
                else
                        request_fail(req, HL_ERROR_INTERNAL, "could not read the definitions: %s",
                                       strerror(-r));
                if (c->then)
                        c->then(c->then_data, req, NULL);
        } else if (!c->apply) {
                r = reconcile_plan(m, &(struct job_request) {
                        .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_PLAN, .apply = c->batch.items, .n_apply = c->batch.n,
                        .order = c->batch.order, .prune = c->batch.prune, .uid = -1, .done = plan_done, .userdata = req });
                if (r < 0)
                        request_fail(req, HL_ERROR_INTERNAL, "could not plan: %s", strerror(-r));
        } else {
                struct apply_context *ctx = apply_context_new(m, req, &c->batch);

                if (!ctx) {
                        request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                        if (c->then)
                                c->then(c->then_data, req, NULL);
                        batch_call_free(c);
                        return;
                }
                ctx->then = c->then;
                ctx->then_data = c->then_data;
                /* The revisions are stored when the run begins: runs are serialized, so
                 * what is stored is exactly what that run plans and executes. */
                r = reconcile_enqueue(m, &(struct job_request) {
                        .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_APPLY, .apply = c->batch.items, .n_apply = c->batch.n,
                        .order = c->batch.order, .prune = c->batch.prune, .expect_plan = c->plan, .uid = peer->uid, .user = peer->user,
                        .done = apply_done, .userdata = ctx,
                        .progress = request_wants_more(req) ? apply_progress : NULL });
                if (r < 0) {
                        apply_context_free(ctx);
                        request_fail(req, HL_ERROR_INTERNAL, "could not queue the apply: %s", strerror(-r));
                        if (c->then)
                                c->then(c->then_data, req, NULL);
                }
        }
        batch_call_free(c);
}

static void batch_queue(struct manager *m, struct request *req, json_t *definitions, bool prune, bool apply,
                        const char *plan, methods_applied_fn then, void *then_data) {
        struct batch_call *c = calloc(1, sizeof(*c));

        if (!c || (plan && !(c->plan = strdup(plan)))) {
                free(c);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                if (then)
                        then(then_data, req, NULL);
                return;
        }
        c->m = m;
        c->req = req;
        c->definitions = json_incref(definitions);
        c->prune = prune;
        c->apply = apply;
        c->then = then;
        c->then_data = then_data;
        if (work_queue(m->loop, &c->work, batch_work, batch_after) < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
                batch_call_free(c);
                if (then)
                        then(then_data, req, NULL);
        }
}

void methods_apply_definitions(struct manager *m, struct request *req, json_t *definitions) {
        batch_queue(m, req, definitions, false, true, NULL, NULL, NULL);
}

void methods_apply_definitions_then(struct manager *m, struct request *req, json_t *definitions, methods_applied_fn then,
                                    void *userdata) {
        batch_queue(m, req, definitions, false, true, NULL, then, userdata);
}

void methods_plan(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                json_t *definitions;
                bool prune;
        } a = {};
        static const struct hl_field table[] = {
                { "definitions", HL_FIELD_ARRAY, offsetof(__typeof__(a), definitions), false },
                { "prune", HL_FIELD_BOOL, offsetof(__typeof__(a), prune), false },
                {},
        };

        if (methods_dispatch(req, parameters, table, &a))
                batch_queue(m, req, a.definitions, a.prune, false, NULL, NULL, NULL);
}

void methods_apply(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                json_t *definitions;
                bool prune;
                const char *plan;
        } a = {};
        static const struct hl_field table[] = {
                { "definitions", HL_FIELD_ARRAY, offsetof(__typeof__(a), definitions), true },
                { "prune", HL_FIELD_BOOL, offsetof(__typeof__(a), prune), false },
                { "plan", HL_FIELD_STRING, offsetof(__typeof__(a), plan), false },
                {},
        };

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (a.plan && (strlen(a.plan) < 12 || strlen(a.plan) > 64 || strspn(a.plan, "0123456789abcdef") != strlen(a.plan))) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "plan",
                               "a plan id is 12 to 64 hexadecimal digits, as hlctl plan prints it");
                return;
        }
        batch_queue(m, req, a.definitions, a.prune, true, a.plan, NULL, NULL);
}
