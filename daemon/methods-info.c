/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The handlers that only read: the org.varlink.service introspection, Version, and the
 * io.hl methods that explain a node (History, Events, Why, Health, HealthHistory). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "events.h"
#include "foreign.h"
#include "health.h"
#include "hl-pct.h"
#include "hl-protocol.h"
#include "methods.h"
#include "store.h"
#include "work.h"

#define MAX_HISTORY 100000

static const char varlink_service_description[] =
        "# The Varlink Service Interface is provided by every varlink service. It\n"
        "# describes the service and the interfaces it implements.\n"
        "interface org.varlink.service\n\n"
        "# Get a list of all the interfaces a service provides and information\n"
        "# about the implementation.\n"
        "method GetInfo() -> (\n  vendor: string,\n  product: string,\n  version: string,\n  url: string,\n"
        "  interfaces: []string\n)\n\n"
        "# Get the description of an interface that is implemented by this service.\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n\n"
        "# The requested interface was not found.\nerror InterfaceNotFound (interface: string)\n\n"
        "# The requested method was not found\nerror MethodNotFound (method: string)\n\n"
        "# The interface defines the requested method, but the service does not\n# implement it.\n"
        "error MethodNotImplemented (method: string)\n\n"
        "# One of the passed parameters is invalid.\nerror InvalidParameter (parameter: string)\n\n"
        "# Client is denied access\nerror PermissionDenied ()\n\n"
        "# Method is expected to be called with 'more' set to true, but wasn't\nerror ExpectedMore ()\n";

void methods_get_info(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = { {} };

        if (!methods_dispatch(req, parameters, table, NULL))
                return;
        request_reply(req,
                      json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "vendor", "hl", "product", "hld", "version",
                                HL_VERSION, "url", "", "interfaces", "org.varlink.service", HL_INTERFACE),
                      false);
}

void methods_get_interface_description(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *interface;
        } a = {};
        static const struct hl_field table[] = {
                { "interface", HL_FIELD_STRING, offsetof(__typeof__(a), interface), true },
                {},
        };

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (strcmp(a.interface, HL_INTERFACE) == 0)
                request_reply(req, json_pack("{s:s}", "description", hl_interface_description), false);
        else if (strcmp(a.interface, "org.varlink.service") == 0)
                request_reply(req, json_pack("{s:s}", "description", varlink_service_description), false);
        else
                request_error(req, HL_VARLINK_INTERFACE_NOT_FOUND, json_pack("{s:s}", "interface", a.interface));
}

void methods_version(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = { {} };

        if (methods_dispatch(req, parameters, table, NULL))
                request_reply(req, json_pack("{s:s, s:s}", "version", HL_VERSION, "interface", HL_INTERFACE), false);
}

void methods_history(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *service;
                const char *action;
                bool failed;
                int64_t since;
                int64_t limit;
        } a = { .limit = 1000 };
        static const struct hl_field table[] = {
                { "service", HL_FIELD_STRING, offsetof(__typeof__(a), service), false },
                { "action", HL_FIELD_STRING, offsetof(__typeof__(a), action), false },
                { "failed", HL_FIELD_BOOL, offsetof(__typeof__(a), failed), false },
                { "since", HL_FIELD_INT, offsetof(__typeof__(a), since), false },
                { "limit", HL_FIELD_INT, offsetof(__typeof__(a), limit), false },
                {},
        };
        json_t *events = NULL;
        int r;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (a.limit < 1 || a.limit > MAX_HISTORY) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "limit", "limit must be 1 to %d",
                               MAX_HISTORY);
                return;
        }
        if (a.since < 0 || a.since > INT64_MAX / 1000) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "since",
                               "since must be a Unix time in seconds");
                return;
        }
        r = store_history(m->store,
                          &(struct store_history_filter) { .service = a.service, .action = a.action, .failed = a.failed,
                                                           .since_ms = a.since * 1000, .limit = a.limit },
                          &events);
        if (r < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not read the history: %s", strerror(-r));
                return;
        }
        request_reply(req, json_pack("{s:o}", "events", events), false);
}

/* An Events call: every event as a continued reply, until the client goes. */
struct event_stream {
        struct manager *m;
        struct request *req;
        struct subscriber *sub;
};

static void on_event(void *userdata, json_t *event) {
        struct event_stream *st = userdata;

        request_reply(st->req, json_pack("{s:O}", "event", event), true);
}

static void on_stream_cancel(void *userdata) {
        struct event_stream *st = userdata;
        struct request *req = st->req;

        events_unsubscribe(st->m, st->sub);
        free(st);
        request_reply(req, NULL, false);
}

void methods_events(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *service;
        } a = {};
        static const struct hl_field table[] = {
                { "service", HL_FIELD_STRING, offsetof(__typeof__(a), service), false },
                {},
        };
        struct event_stream *st;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (!request_wants_more(req)) {
                request_error(req, HL_VARLINK_EXPECTED_MORE, NULL);
                return;
        }
        st = calloc(1, sizeof(*st));
        if (!st || events_subscribe(m, a.service, on_event, st, &st->sub) < 0) {
                free(st);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        st->m = m;
        st->req = req;
        request_on_cancel(req, on_stream_cancel, st);
}

struct why_context {
        struct manager *m;
        struct request *req;
        char *service;
};

static int push_line(json_t *lines, const char *fmt, ...) HL_PRINTF(2, 3);
static int push_line(json_t *lines, const char *fmt, ...) {
        char line[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        return json_array_append_new(lines, json_string(line));
}

static const char *clock_time(int64_t ms, char *buf, size_t size) {
        time_t t = (time_t) (ms / 1000);
        struct tm tm;

        strftime(buf, size, "%H:%M:%S", localtime_r(&t, &tm));
        return buf;
}

/* One screen on why a service is as it is, from the data the reconciler plans with. */
static void why_done(void *userdata, const struct run_result *result) {
        struct why_context *ctx = userdata;
        struct manager *m = ctx->m;
        struct service *s = manager_find(m, ctx->service);
        json_t *lines = json_array(), *planned = json_array(), *v;
        size_t i;

        if (result->error || !s || !lines || !planned) {
                json_decref(lines);
                json_decref(planned);
                if (result->error)
                        methods_reply_error(ctx->req, result);
                else
                        request_fail_parameter(ctx->req, HL_ERROR_NO_SUCH_SERVICE, "name", ctx->service, "no service named %s",
                                       ctx->service);
                goto finish;
        }
        push_line(lines, "%s is %s; wanted %s (%s).", s->name, hl_ct_state_to_string(s->observed.state),
                  hl_want_to_string(service_wanted(s)),
                  s->overridden ? (s->override == HL_WANT_STOPPED ? "held by hlctl stop" : "held by hlctl start")
                                : (s->desired->def->state == HL_DESIRED_RUNNING ? "State=running" : "State=stopped"));
        push_line(lines, "Revision %" PRId64 " from %s.", s->desired->revision, s->desired->file);
        for (char **r = s->desired->def->requires; r && *r; r++) {
                struct service *dep = manager_find(m, *r);
                const char *state = dep ? hl_ct_state_to_string(dep->observed.state) : "not defined";

                if (dep && dep->observed.state == HL_CT_RUNNING)
                        push_line(lines, "Requires %s: RUNNING.", *r);
                else
                        push_line(lines, "Requires %s, which is %s: %s waits for it to run.", *r, state, s->name);
        }
        if (s->busy)
                push_line(lines, "An action on %s is running now.", s->name);
        if (s->waiting_for) {
                char since[16];
                push_line(lines, "Its start waits for %s to become healthy (since %s, %" PRId64 " s): it comes with "
                          "%s's first verdict.", s->waiting_for, clock_time(s->waiting_since, since, sizeof(since)),
                          (hl_now_ms() - s->waiting_since) / 1000, s->waiting_for);
        }
        if (s->restart_failures > 0) {
                int64_t next = service_next_restart(s);
                char when[16];

                if (next > hl_now_ms())
                        push_line(lines, "Crash-looping: %u automatic restarts in a row; the next try in %" PRId64
                                  " s (at %s)%s%s.", s->restart_failures, (next - hl_now_ms() + 999) / 1000,
                                  clock_time(next, when, sizeof(when)), s->last_error ? "; the last error: " : "",
                                  s->last_error ? s->last_error : "");
                else
                        push_line(lines, "%u automatic restarts in a row (StartLimitBurst=%u).", s->restart_failures,
                                  s->desired->def->restart.start_limit_burst);
        }
        if (s->last_action >= 0)
                push_line(lines, "Last action: %s%s%s.", hl_verb_to_string((enum hl_verb) s->last_action),
                          s->last_error ? ": " : " ok",
                          s->last_error ? s->last_error : "");
        json_array_foreach(result->actions, i, v) {
                const char *name = json_string_value(json_object_get(v, "service"));
                if (name && strcmp(name, s->name) == 0)
                        json_array_append(planned, v);
        }
        if (json_array_size(planned) == 0)
                push_line(lines, "Nothing to do: the container is as defined.");
        json_array_foreach(planned, i, v) {
                json_t *c;
                size_t k;

                push_line(lines, "To do: %s (%s).", json_string_value(json_object_get(v, "action")),
                          json_string_value(json_object_get(v, "reason")));
                json_array_foreach(json_object_get(v, "changes"), k, c)
                        push_line(lines, "    %s", json_string_value(c));
        }
        request_reply(ctx->req,
                      json_pack("{s:s, s:o, s:o, s:o}", "name", s->name, "service", methods_service_json(m, s), "explanation", lines,
                                "actions", planned),
                      false);
finish:
        free(ctx->service);
        free(ctx);
}

void methods_why(struct manager *m, struct request *req, json_t *parameters) {
        struct service *s = methods_find_named(m, req, parameters);
        struct why_context *ctx;
        int r;

        if (!s)
                return;
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx || !(ctx->service = strdup(s->name))) {
                free(ctx);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        ctx->m = m;
        ctx->req = req;
        /* Planned as hld's own next reconcile would: holds of the restart policy show. */
        r = reconcile_plan(m, &(struct job_request) { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_WHY, .uid = -1,
                                                      .done = why_done, .userdata = ctx });
        if (r < 0) {
                free(ctx->service);
                free(ctx);
                request_fail(req, HL_ERROR_INTERNAL, "could not plan: %s", strerror(-r));
        }
}

static void health_done(void *userdata, json_t *reply) {
        request_reply(userdata, json_incref(reply), false);
}

/* A sweep runs probes (reads, from hld's side): anyone who may read may ask for one. */
void methods_health(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                json_t *names;
        } a = {};
        static const struct hl_field table[] = {
                { "names", HL_FIELD_ARRAY, offsetof(__typeof__(a), names), false },
                {},
        };
        _cleanup_(hl_strv_freep) char **names = NULL;
        size_t i;
        json_t *v;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        json_array_foreach(a.names, i, v) {
                const char *name = json_string_value(v);

                if (!name || !hl_name_is_valid(name)) {
                        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "names", "names must be service names");
                        return;
                }
                if (!manager_find(m, name)) {
                        request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", name, "no service named %s", name);
                        return;
                }
                if (hl_strv_push(&names, name) < 0) {
                        request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                        return;
                }
        }
        if (a.names && !names) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "names", "names is empty");
                return;
        }
        if (health_sweep(m, names, health_done, req) < 0)
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
}

void methods_health_history(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *name;
                int64_t since;
        } a = {};
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(__typeof__(a), name), true },
                { "since", HL_FIELD_INT, offsetof(__typeof__(a), since), false },
                {},
        };
        json_t *reply = NULL;
        int r;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (!hl_name_is_valid(a.name)) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "name", "\"%.80s\" is not a service name", a.name);
                return;
        }
        if (a.since < 0 || a.since > INT64_MAX / 1000) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "since", "since must be a Unix time in seconds");
                return;
        }
        r = store_health_history(m->store, a.name, a.since * 1000, &reply);
        if (r < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not read the health history: %s", strerror(-r));
                return;
        }
        request_reply(req, reply, false);
}

/* --- List with all: what Proxmox runs on the node, beside hl's services --------------- */

struct guest {
        char kind[8]; /* lxc, qemu */
        char vmid[16];
        char *name;
        bool onboot;
        char state[64];
};

/* Anyone may list (List is a reader's method), and a scan may run qm once per VM: one at a
 * time, so that readers cannot fill the thread pool the containers' actions need. */
static bool node_scan_running;

struct node_call {
        uv_work_t work;
        struct manager *m;
        struct request *req;
        json_t *reply; /* List's, completed in the pool's after */
        char *pve_root, *pve_lxcpath;
        struct guest *guests;
        size_t n;
};

static bool is_vmid_conf(const char *file, char vmid[16]) {
        size_t n = strlen(file);

        if (n < 6 || n - 5 >= 16 || strcmp(file + n - 5, ".conf") != 0 || strspn(file, "0123456789") != n - 5)
                return false;
        memcpy(vmid, file, n - 5);
        vmid[n - 5] = 0;
        return true;
}

/* A VM's state from qm, where Proxmox is installed ("status: running"). */
static void qm_state(const char *vmid, char *buf, size_t size) {
        char cmd[64], line[128] = "";
        FILE *p;

        if (access("/usr/sbin/qm", X_OK) < 0) {
                snprintf(buf, size, "unknown (no qm here)");
                return;
        }
        snprintf(cmd, sizeof(cmd), "/usr/sbin/qm status %s 2>/dev/null", vmid);
        p = popen(cmd, "re");
        if (p && fgets(line, sizeof(line), p) && strncmp(line, "status: ", 8) == 0) {
                line[strcspn(line, "\n")] = 0;
                snprintf(buf, size, "%.60s", line + 8);
        } else
                snprintf(buf, size, "unknown");
        if (p)
                pclose(p);
}

static void scan_kind(struct node_call *c, const char *kind, const char *subdir) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", c->pve_root, subdir);
        DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                struct guest g = {};
                struct guest *more;
                size_t len;

                if (!is_vmid_conf(de->d_name, g.vmid) || !(path = hl_strdup_printf("%s/%s", dir, de->d_name)) ||
                    hl_read_file(path, HL_PCT_MAX_SIZE, &text, &len) < 0 ||
                    hl_pve_guest_summary(text, len, &g.name, &g.onboot) < 0)
                        continue;
                snprintf(g.kind, sizeof(g.kind), "%s", kind);
                if (strcmp(kind, "lxc") == 0)
                        snprintf(g.state, sizeof(g.state), "%s", hl_ct_state_to_string(ct_state(c->pve_lxcpath, g.vmid)));
                else
                        qm_state(g.vmid, g.state, sizeof(g.state));
                more = realloc(c->guests, sizeof(*more) * (c->n + 1));
                if (!more) {
                        free(g.name);
                        break;
                }
                c->guests = more;
                c->guests[c->n++] = g;
        }
        if (d)
                closedir(d);
}

static void node_work(uv_work_t *work) {
        struct node_call *c = (struct node_call *) work;

        scan_kind(c, "lxc", "lxc");
        scan_kind(c, "qemu", "qemu-server");
}

static int by_vmid(const void *a, const void *b) {
        const struct guest *x = a, *y = b;
        size_t lx = strlen(x->vmid), ly = strlen(y->vmid);

        return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->vmid, y->vmid);
}

static void node_after(uv_work_t *work, int status) {
        struct node_call *c = (struct node_call *) work;
        json_t *list = json_array();

        qsort(c->guests, c->n, sizeof(*c->guests), by_vmid);
        for (size_t i = 0; list && i < c->n; i++)
                json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s, s:b}", "kind", c->guests[i].kind, "vmid",
                                                      c->guests[i].vmid, "name", c->guests[i].name, "state",
                                                      c->guests[i].state, "onboot", c->guests[i].onboot));
        node_scan_running = false;
        json_object_set_new(c->reply, "proxmox", list ? list : json_array());
        request_reply(c->req, c->reply, false);
        for (size_t i = 0; i < c->n; i++)
                free(c->guests[i].name);
        free(c->guests);
        free(c->pve_root);
        free(c->pve_lxcpath);
        free(c);
}

static void list_all(struct manager *m, struct request *req, json_t *reply) {
        struct node_call *c;

        if (node_scan_running) {
                json_decref(reply);
                request_fail(req, HL_ERROR_BUSY, "a listing of Proxmox's guests is under way: ask again in a moment");
                return;
        }
        c = calloc(1, sizeof(*c));

        if (!c || !(c->pve_root = strdup(m->config.pve_root)) || !(c->pve_lxcpath = strdup(m->config.pve_lxcpath))) {
                if (c)
                        free(c->pve_root);
                free(c);
                json_decref(reply);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        c->m = m;
        c->req = req;
        c->reply = reply;
        node_scan_running = true;
        if (work_queue(m->loop, &c->work, node_work, node_after) < 0) {
                node_scan_running = false;
                json_decref(reply);
                free(c->pve_root);
                free(c->pve_lxcpath);
                free(c);
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
        }
}

static int compare_names(const void *a, const void *b) {
        return strcmp((*(struct service *const *) a)->name, (*(struct service *const *) b)->name);
}

void methods_list(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                bool all;
        } a = {};
        static const struct hl_field table[] = {
                { "all", HL_FIELD_BOOL, offsetof(__typeof__(a), all), false },
                {},
        };
        json_t *services, *foreign, *reply;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        /* By name, as documented; m->services itself stays in Requires= order for runs. */
        _cleanup_free_ struct service **sorted = calloc(m->n_services + 1, sizeof(*sorted));
        if (!sorted) {
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        if (m->n_services > 0) {
                memcpy(sorted, m->services, sizeof(*sorted) * m->n_services);
                qsort(sorted, m->n_services, sizeof(*sorted), compare_names);
        }
        services = json_array();
        for (size_t i = 0; services && i < m->n_services; i++)
                json_array_append_new(services, methods_service_json(m, sorted[i]));
        reply = json_pack("{s:o}", "services", services);
        /* Absent when there is none, as documented (an older client sees no new key). */
        foreign = foreign_list(m);
        if (reply && json_array_size(foreign) > 0)
                json_object_set(reply, "foreign", foreign);
        /* What Proxmox runs is read from its files: in the pool. */
        if (a.all && reply)
                list_all(m, req, reply);
        else
                request_reply(req, reply, false);
}


/* --- Top ------------------------------------------------------------------------------ */

/* Top: each service's cgroup counters, read in the pool (a liblxc call per running
 * container), with the monotonic time they were read at, so that a client's two samples
 * give CPU %, I/O rates. */
struct top_call {
        uv_work_t work;
        struct request *req;
        char *lxcpath;
        size_t n;
        struct top_row {
                char *name;
                char state[16];
                bool read;
                struct ct_usage usage;
        } *rows;
        int64_t time_us;
};

static void top_call_free(struct top_call *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->rows[i].name);
        free(c->rows);
        free(c->lxcpath);
        free(c);
}

static void top_work(uv_work_t *work) {
        struct top_call *c = (struct top_call *) work;
        struct timespec ts;

        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->rows[i].state, "RUNNING") == 0)
                        c->rows[i].read = ct_usage(c->lxcpath, c->rows[i].name, &c->rows[i].usage) >= 0;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        c->time_us = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void top_after(uv_work_t *work, int status) {
        struct top_call *c = (struct top_call *) work;
        json_t *rows = json_array();

        for (size_t i = 0; rows && i < c->n; i++) {
                const struct top_row *r = &c->rows[i];
                json_t *row = json_pack("{s:s, s:s}", "name", r->name, "state", r->state);

                if (row && r->read)
                        json_object_update_new(row, json_pack("{s:I, s:I, s:I, s:I, s:I}", "cpu_usec", (json_int_t) r->usage.cpu_usec,
                                                              "memory", (json_int_t) r->usage.memory, "io_read",
                                                              (json_int_t) r->usage.io_read, "io_write",
                                                              (json_int_t) r->usage.io_write, "processes",
                                                              (json_int_t) r->usage.processes));
                json_array_append_new(rows, row);
        }
        request_reply(c->req, json_pack("{s:I, s:o}", "time_us", (json_int_t) c->time_us, "services",
                                        rows ? rows : json_array()),
                      false);
        top_call_free(c);
}

void methods_top(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = { {} };
        _cleanup_free_ struct service **sorted = NULL;
        struct top_call *c;

        if (!methods_dispatch(req, parameters, table, NULL))
                return;
        sorted = calloc(m->n_services + 1, sizeof(*sorted));
        c = calloc(1, sizeof(*c));
        if (!sorted || !c || !(c->rows = calloc(m->n_services + 1, sizeof(*c->rows))) ||
            !(c->lxcpath = strdup(m->config.lxcpath))) {
                if (c)
                        top_call_free(c);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        if (m->n_services > 0) {
                memcpy(sorted, m->services, sizeof(*sorted) * m->n_services);
                qsort(sorted, m->n_services, sizeof(*sorted), compare_names);
        }
        c->req = req;
        for (size_t i = 0; i < m->n_services; i++) {
                const struct service *s = sorted[i];
                struct top_row *r = &c->rows[c->n];

                if (!(r->name = strdup(s->name)))
                        continue;
                snprintf(r->state, sizeof(r->state), "%s",
                         s->desired->def->host ? "HOST" : hl_ct_state_to_string(s->observed.state));
                c->n++;
        }
        if (work_queue(m->loop, &c->work, top_work, top_after) < 0) {
                top_call_free(c);
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
        }
}
