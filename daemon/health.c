/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "health.h"
#include "log.h"
#include "probe.h"
#include "store.h"
#include "watch.h"

/* Until the first verdict after a start, checks run this often (or at Interval=), and
 * failed rounds count against Retries= at most this often. */
#define STARTING_CADENCE_MS 1000
/* The first round after a start: a service that is up at once is healthy at once. Rounds
 * then come at twice the time since the start, until they reach the cadence. */
#define FIRST_ROUND_MS 100

struct sweep;

struct health {
        struct manager *m;
        char *service;
        uv_timer_t timer;
        bool timer_closing;
        enum health_status status;
        unsigned failures;  /* failed rounds in a row */
        int64_t started_ms; /* the container start the verdict is about */
        int64_t counted_ms; /* when a failed round last counted, while starting */
        pid_t pid;
        /* The round in flight. */
        struct desired *round_desired;
        unsigned pending;
        bool round_failed;
        char round_message[320];
        struct sweep **waiters; /* answered by the round in flight (or about to start) */
        size_t n_waiters;
        /* Sweeps that came while a round was in flight: its probes may have begun before
         * what the caller wants judged (a restart, an update's lines), so they wait for the
         * next round, started as soon as this one ends. */
        struct sweep **next_waiters;
        size_t n_next_waiters;
        /* The last result of each check, for status and the metrics. */
        struct probe_result *last;
        size_t n_last;
};

struct sweep {
        struct manager *m;
        json_t *results;
        unsigned pending;
        uint64_t started;
        bool healthy;
        unsigned failed_writes; /* writer.failed_writes when it began */
        health_sweep_cb cb;
        void *userdata;
};

struct probe_ctx {
        struct health *h;
        size_t index;
};

/* Probe results are written after the loop has handled every probe that ended in the same
 * turn, in one transaction (a uv_check handle runs after the poll phase): a sweep of a
 * hundred checks costs one commit, and no probe's callback waits for another's write, so
 * each probe's time is its own. Sweeps are answered after their results are written, so
 * that they can say whether they were. One loop per process: the queue is this file's. */
struct queued_result {
        int64_t time_ms;
        char *service, *check, *message;
        bool ok;
        int64_t latency_ms;
};

static struct {
        struct manager *m;
        uv_check_t check;
        bool initialized;
        struct queued_result *items;
        size_t n, cap;
        struct sweep **sweeps; /* done, waiting for their results' write */
        size_t n_sweeps;
        unsigned failed_writes; /* how many writes failed so far, and the last one's error */
        int last_error;
} writer;

const char *health_status_to_string(enum health_status s) {
        static const char *const names[] = {
                [HEALTH_NONE] = "none",
                [HEALTH_STARTING] = "starting",
                [HEALTH_HEALTHY] = "healthy",
                [HEALTH_UNHEALTHY] = "unhealthy",
        };
        return names[s];
}

enum health_status health_status(const struct service *s) {
        return s->health ? s->health->status : HEALTH_NONE;
}

/* Whether the service's checks can run: its container is up, or it is a Host= service,
 * checked from the node whatever hld knows of it. */
static bool checkable(const struct service *s) {
        return s->desired->def->host || (s->observed.state == HL_CT_RUNNING && s->observed.pid > 0);
}

static void on_timer_closed(uv_handle_t *handle) {
        struct health *h = handle->data;

        /* Probes still in flight hold their own reference: freed when they are in. */
        h->timer_closing = false;
        if (h->pending == 0) {
                free(h->service);
                free(h->last);
                free(h->waiters);
                free(h->next_waiters);
                desired_unref(h->round_desired);
                free(h);
        }
}

static void finish_waiters(struct health *h, struct service *s);

static void health_free(struct health *h) {
        uv_timer_stop(&h->timer);
        h->timer_closing = true;
        h->m = NULL; /* orphaned: results still arriving are dropped */
        /* Sweeps waiting for a round that will not start now get no result from it (with
         * probes in flight, the last of them finishes the waiters). */
        if (h->pending == 0)
                finish_waiters(h, NULL);
        uv_close((uv_handle_t *) &h->timer, on_timer_closed);
}

void health_forget(struct service *s) {
        if (s->health)
                health_free(s->health);
        s->health = NULL;
}

static uint64_t jitter(uint64_t interval_ms) {
        /* Spreads the first round over the interval so that a node's services do not all
         * probe in the same millisecond. */
        return interval_ms ? (uv_hrtime() * 2654435761u) % interval_ms : 0;
}

static void round_start(struct health *h);

static void on_timer(uv_timer_t *t) {
        round_start(t->data);
}

static uint64_t cadence(const struct health *h, const struct hl_health *cfg) {
        uint64_t limit = cfg->interval_ms < STARTING_CADENCE_MS ? cfg->interval_ms : STARTING_CADENCE_MS;
        int64_t since = hl_now_ms() - h->started_ms;

        if (h->status != HEALTH_STARTING)
                return cfg->interval_ms;
        if (since < FIRST_ROUND_MS)
                since = FIRST_ROUND_MS;
        return (uint64_t) since < limit ? (uint64_t) since : limit;
}

static void sweep_add(struct sweep *sw, const char *service, const char *check, const struct probe_result *r) {
        json_t *row = json_pack("{s:s, s:s, s:b, s:I, s:s}", "service", service, "check", check, "ok", r->ok,
                                "latency_ms", (json_int_t) r->latency_ms, "message", r->message);

        if (row)
                json_array_append_new(sw->results, row);
        if (!r->ok)
                sw->healthy = false;
}

static void sweep_answer(struct sweep *sw) {
        bool stored = writer.failed_writes == sw->failed_writes;
        json_t *reply;

        reply = json_pack("{s:o, s:b, s:I, s:b}", "results", sw->results, "healthy", sw->healthy, "duration_ms",
                          (json_int_t) ((uv_hrtime() - sw->started) / 1000000), "stored", stored);
        if (reply && !stored) {
                char message[256];
                snprintf(message, sizeof(message), "the results could not be recorded: %s", store_strerror(writer.last_error));
                json_object_set_new(reply, "error", json_string(message));
        }
        health_export(sw->m);
        sw->cb(sw->userdata, reply);
        json_decref(reply);
        free(sw);
}

void health_flush(struct manager *m) {
        _cleanup_free_ struct store_health_row *rows = calloc(writer.n + 1, sizeof(*rows));
        struct sweep **sweeps = writer.sweeps;
        size_t n_sweeps = writer.n_sweeps;
        int r = rows ? 0 : -ENOMEM;

        for (size_t i = 0; rows && i < writer.n; i++)
                rows[i] = (struct store_health_row) { .time_ms = writer.items[i].time_ms, .service = writer.items[i].service,
                                                      .check = writer.items[i].check, .ok = writer.items[i].ok,
                                                      .latency_ms = writer.items[i].latency_ms,
                                                      .message = writer.items[i].message };
        if (r >= 0)
                r = store_health_add_batch(m->store, rows, writer.n);
        if (r < 0) {
                writer.failed_writes++;
                writer.last_error = r;
                log_warning("could not record %zu probe results: %s, ignoring", writer.n, store_strerror(r));
        }
        for (size_t i = 0; i < writer.n; i++) {
                free(writer.items[i].service);
                free(writer.items[i].check);
                free(writer.items[i].message);
        }
        writer.n = 0;
        writer.sweeps = NULL;
        writer.n_sweeps = 0;
        if (writer.initialized)
                uv_check_stop(&writer.check);
        for (size_t i = 0; i < n_sweeps; i++)
                sweep_answer(sweeps[i]);
        free(sweeps);
}

static void on_check(uv_check_t *c) {
        health_flush(writer.m);
}

static void writer_start(struct manager *m) {
        if (!writer.initialized) {
                uv_check_init(m->loop, &writer.check);
                writer.initialized = true;
        }
        writer.m = m;
        if (!uv_is_active((uv_handle_t *) &writer.check) && !uv_is_closing((uv_handle_t *) &writer.check))
                uv_check_start(&writer.check, on_check);
}

static void queue_result(struct manager *m, const char *service, const char *check, const struct probe_result *r) {
        struct queued_result *q;

        if (writer.n == writer.cap) {
                size_t cap = writer.cap ? writer.cap * 2 : 64;
                struct queued_result *items = realloc(writer.items, sizeof(*items) * cap);
                if (!items) {
                        log_warning("out of memory: a probe result of %s is not recorded", service);
                        return;
                }
                writer.items = items;
                writer.cap = cap;
        }
        q = &writer.items[writer.n];
        *q = (struct queued_result) { .time_ms = hl_now_ms(), .service = strdup(service), .check = strdup(check),
                                      .message = strdup(r->message), .ok = r->ok, .latency_ms = r->latency_ms };
        if (!q->service || !q->check || !q->message) {
                free(q->service);
                free(q->check);
                free(q->message);
                return;
        }
        writer.n++;
        writer_start(m);
}

static void sweep_done(struct sweep *sw) {
        struct sweep **sweeps;

        if (--sw->pending > 0)
                return;
        /* Answered once its results are written (at once when nothing waits to be). */
        sweeps = realloc(writer.sweeps, sizeof(*sweeps) * (writer.n_sweeps + 1));
        if (!sweeps || writer.n == 0) {
                if (sweeps)
                        writer.sweeps = sweeps;
                sweep_answer(sw);
                return;
        }
        writer.sweeps = sweeps;
        writer.sweeps[writer.n_sweeps++] = sw;
        writer_start(sw->m);
}

/* The verdict of a finished round: Retries failed rounds in a row make a service
 * unhealthy, one good round healthy; failures in the start period do not count. */
static void round_end(struct health *h) {
        struct manager *m = h->m;
        struct service *s = m ? manager_find(m, h->service) : NULL;
        const struct hl_health *cfg;
        enum health_status before = h->status;

        if (!s || s->health != h) {
                finish_waiters(h, NULL);
                return;
        }
        cfg = &h->round_desired->def->health;
        if (!h->round_failed) {
                h->failures = 0;
                h->status = HEALTH_HEALTHY;
        } else if (hl_now_ms() - h->started_ms >= (int64_t) cfg->start_period_ms &&
                   (h->status != HEALTH_STARTING || hl_now_ms() - h->counted_ms >= STARTING_CADENCE_MS - 50)) {
                /* The quick rounds right after a start may find it healthy; their failures
                 * count as the rounds of one a second would. */
                h->counted_ms = hl_now_ms();
                h->failures++;
                if (h->failures >= cfg->retries)
                        h->status = HEALTH_UNHEALTHY;
        }
        if (h->status != before && (h->status == HEALTH_HEALTHY || h->status == HEALTH_UNHEALTHY)) {
                bool bad = h->status == HEALTH_UNHEALTHY;
                char reason[512];

                if (bad)
                        snprintf(reason, sizeof(reason), "unhealthy after %u failed rounds", h->failures);
                else
                        snprintf(reason, sizeof(reason), "healthy: %zu checks pass", cfg->n_checks);
                events_record(m, 0, s->name, HL_VERB_HEALTH, reason, bad ? HL_RESULT_FAILED : HL_RESULT_OK,
                              bad ? h->round_message : NULL);
                log_full(bad ? LOG_WARNING : LOG_INFO, s->name, "health", 0, "%s%s%s", reason, bad ? ": " : "",
                         bad ? h->round_message : "");
                health_export(m);
                /* Dependents waiting in a run, and the restart policy, act on the news. */
                if (m->hooks.verdict)
                        m->hooks.verdict(m, s->name, bad);
        }
        finish_waiters(h, s);
        if (!h->timer_closing)
                uv_timer_start(&h->timer, on_timer, cadence(h, cfg), 0);
}

static void start_soon(struct manager *m, const char *name);

static void finish_waiters(struct health *h, struct service *s) {
        struct sweep **waiters = h->waiters;
        size_t n = h->n_waiters;

        h->waiters = NULL;
        h->n_waiters = 0;
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < h->n_last && h->round_desired; k++)
                        sweep_add(waiters[i], h->service, h->round_desired->def->health.checks[k].text, &h->last[k]);
                /* No round ran for it (the container stopped first, its checks were dropped,
                 * hld is stopping): that is no verdict, and never a healthy one. */
                if (!h->round_desired) {
                        struct probe_result none = { .ok = false };
                        snprintf(none.message, sizeof(none.message),
                                 "no round of checks ran: the container stopped or hld is stopping");
                        sweep_add(waiters[i], h->service, "-", &none);
                }
                sweep_done(waiters[i]);
        }
        free(waiters);
        desired_unref(TAKE_PTR(h->round_desired));
        /* Those that came during the round: the next one, at once. */
        if (h->n_next_waiters == 0)
                return;
        h->waiters = TAKE_PTR(h->next_waiters);
        h->n_waiters = h->n_next_waiters;
        h->n_next_waiters = 0;
        if (s && h->m)
                start_soon(h->m, h->service);
        else
                finish_waiters(h, NULL);
}

static void on_probe(void *userdata, const struct probe_result *r) {
        struct probe_ctx *ctx = userdata;
        struct health *h = ctx->h;
        const struct hl_check *check = &h->round_desired->def->health.checks[ctx->index];

        if (ctx->index < h->n_last)
                h->last[ctx->index] = *r;
        if (h->m)
                queue_result(h->m, h->service, check->text, r);
        if (!r->ok && !h->round_failed) {
                h->round_failed = true;
                snprintf(h->round_message, sizeof(h->round_message), "%s: %s", check->text, r->message);
        }
        free(ctx);
        if (--h->pending > 0)
                return;
        if (!h->m) {
                /* Forgotten meanwhile: finish the waiters and free once the timer is closed. */
                finish_waiters(h, NULL);
                if (!h->timer_closing) {
                        free(h->service);
                        free(h->last);
                        free(h);
                }
                return;
        }
        round_end(h);
}

static void round_start(struct health *h) {
        struct manager *m = h->m;
        struct service *s = m ? manager_find(m, h->service) : NULL;
        const struct hl_health *cfg;
        _cleanup_close_ int nsfd = -1;
        bool host;
        int fd;

        if (!s || h->pending > 0)
                return;
        cfg = &s->desired->def->health;
        if (!checkable(s) || cfg->n_checks == 0) {
                finish_waiters(h, s);
                return;
        }
        /* A Host= service's probes go out from the node's own namespace (fd -1), with hld's
         * own pid for what they read of it (its resolv.conf). */
        host = s->desired->def->host != NULL;
        fd = host ? -1 : watch_fd(s);
        if (fd < 0 && !host) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) s->observed.pid);
                fd = nsfd = open(path, O_RDONLY | O_CLOEXEC);
        }
        h->round_desired = desired_ref(s->desired);
        h->round_failed = false;
        h->round_message[0] = 0;
        if (h->n_last != cfg->n_checks) {
                free(h->last);
                h->last = calloc(cfg->n_checks, sizeof(*h->last));
                h->n_last = h->last ? cfg->n_checks : 0;
        }
        h->pending = (unsigned) cfg->n_checks + 1; /* + 1 until every probe is started */
        for (size_t i = 0; i < cfg->n_checks; i++) {
                struct probe_ctx *ctx = calloc(1, sizeof(*ctx));
                struct probe_result failed = { .ok = false };

                if (ctx) {
                        *ctx = (struct probe_ctx) { .h = h, .index = i };
                        if ((fd >= 0 || host) &&
                            probe_start(m, s->name, host ? getpid() : s->observed.pid, fd, &cfg->checks[i],
                                        cfg->timeout_ms, on_probe, ctx) >= 0)
                                continue;
                }
                snprintf(failed.message, sizeof(failed.message), "%s",
                         fd < 0 && !host ? "cannot enter the container" : "out of memory");
                if (ctx)
                        on_probe(ctx, &failed);
                else
                        h->pending--;
        }
        if (--h->pending == 0)
                round_end(h);
}

void health_update(struct manager *m, struct service *s) {
        const struct hl_health *cfg = &s->desired->def->health;
        bool running = checkable(s);
        /* What one verdict is about: a container's start, or a Host= service since hld knew it. */
        pid_t pid = s->desired->def->host ? 1 : s->observed.pid;
        struct health *h = s->health;

        if (cfg->n_checks == 0 || m->stopping) {
                health_forget(s);
                return;
        }
        if (!h) {
                h = calloc(1, sizeof(*h));
                if (!h || !(h->service = strdup(s->name))) {
                        free(h);
                        return;
                }
                h->m = m;
                uv_timer_init(m->loop, &h->timer);
                h->timer.data = h;
                s->health = h;
        }
        if (!running) {
                uv_timer_stop(&h->timer);
                h->status = HEALTH_NONE;
                h->pid = 0;
                return;
        }
        if (h->pid == pid && (uv_is_active((uv_handle_t *) &h->timer) || h->pending > 0))
                return;
        if (h->pid != pid) {
                /* A new start: a new verdict, StartPeriod= from now. */
                h->pid = pid;
                h->status = HEALTH_STARTING;
                h->failures = 0;
                h->started_ms = hl_now_ms();
                h->counted_ms = h->started_ms;
        }
        uv_timer_start(&h->timer, on_timer, h->status == HEALTH_STARTING ? FIRST_ROUND_MS : jitter(cfg->interval_ms), 0);
}

/* A sweep starts its rounds a few per turn of the loop: a probe's end is seen in the turn
 * after its start, so that what a probe reports is its own time, not that of starting a
 * hundred others first. The rounds wait by service name: a service forgotten meanwhile is
 * skipped. */
#define ROUNDS_PER_TURN 16

static struct {
        uv_idle_t idle;
        bool initialized;
        struct manager *m;
        char **names;
        size_t next;
} starter;

static void on_starter(uv_idle_t *idle) {
        size_t started = 0;

        while (starter.names && starter.names[starter.next] && started < ROUNDS_PER_TURN) {
                struct service *s = manager_find(starter.m, starter.names[starter.next++]);
                if (s && s->health && s->health->pending == 0) {
                        uv_timer_stop(&s->health->timer);
                        round_start(s->health);
                        started++;
                }
        }
        if (!starter.names || !starter.names[starter.next]) {
                starter.names = hl_strv_free(starter.names);
                starter.next = 0;
                uv_idle_stop(idle);
        }
}

static void start_soon(struct manager *m, const char *name) {
        if (!starter.initialized) {
                uv_idle_init(m->loop, &starter.idle);
                starter.initialized = true;
        }
        starter.m = m;
        if (starter.names && hl_strv_contains(starter.names + starter.next, name))
                return;
        if (hl_strv_push(&starter.names, name) < 0)
                return;
        if (!uv_is_active((uv_handle_t *) &starter.idle) && !uv_is_closing((uv_handle_t *) &starter.idle))
                uv_idle_start(&starter.idle, on_starter);
}

int health_sweep(struct manager *m, char **names, health_sweep_cb cb, void *userdata) {
        struct sweep *sw = calloc(1, sizeof(*sw));

        if (!sw || !(sw->results = json_array())) {
                free(sw);
                return -ENOMEM;
        }
        *sw = (struct sweep) { .m = m, .results = sw->results, .pending = 1, .started = uv_hrtime(), .healthy = true,
                               .failed_writes = writer.failed_writes, .cb = cb, .userdata = userdata };
        for (size_t i = 0; i < m->n_services; i++) {
                struct service *s = m->services[i];
                struct health *h;
                struct sweep **w;

                if (names ? !hl_strv_contains(names, s->name) : s->desired->def->health.n_checks == 0)
                        continue;
                if (s->desired->def->health.n_checks == 0) {
                        struct probe_result none = { .ok = true };
                        snprintf(none.message, sizeof(none.message), "no checks defined");
                        sweep_add(sw, s->name, "-", &none);
                        continue;
                }
                if (!checkable(s) || !s->health) {
                        struct probe_result down = { .ok = false };
                        snprintf(down.message, sizeof(down.message), "container is %s",
                                 hl_ct_state_to_string(s->observed.state));
                        sweep_add(sw, s->name, "-", &down);
                        continue;
                }
                h = s->health;
                if (h->pending > 0) {
                        /* A round in flight began before this call: the next one answers. */
                        w = realloc(h->next_waiters, sizeof(*w) * (h->n_next_waiters + 1));
                        if (!w)
                                continue;
                        h->next_waiters = w;
                        w[h->n_next_waiters++] = sw;
                        sw->pending++;
                        continue;
                }
                w = realloc(h->waiters, sizeof(*w) * (h->n_waiters + 1));
                if (!w)
                        continue;
                h->waiters = w;
                w[h->n_waiters++] = sw;
                sw->pending++;
                start_soon(m, s->name);
        }
        sweep_done(sw);
        return 0;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void text_label(struct hl_text *t, const char *s) {
        for (; *s; s++)
                hl_text_add(t, "%s", *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : (char[2]) { *s, 0 });
}

void health_export(struct manager *m) {
        _cleanup_free_ char *tmp = NULL;
        struct hl_text t = {};
        int fd;

        if (!m->config.metrics_file)
                return;
        hl_text_add(&t, "# HELP hl_service_up Whether the service's container runs (1) or not (0).\n"
                     "# TYPE hl_service_up gauge\n");
        for (size_t i = 0; i < m->n_services; i++) {
                /* A Host= service has no container: its checks say what there is to say. */
                if (m->services[i]->desired->def->host)
                        continue;
                hl_text_add(&t, "hl_service_up{service=\"");
                text_label(&t, m->services[i]->name);
                hl_text_add(&t, "\"} %d\n", m->services[i]->observed.state == HL_CT_RUNNING);
        }
        hl_text_add(&t, "# HELP hl_service_healthy 1 healthy, 0 unhealthy; absent while unknown or without checks.\n"
                     "# TYPE hl_service_healthy gauge\n");
        for (size_t i = 0; i < m->n_services; i++) {
                enum health_status st = health_status(m->services[i]);
                if (st != HEALTH_HEALTHY && st != HEALTH_UNHEALTHY)
                        continue;
                hl_text_add(&t, "hl_service_healthy{service=\"");
                text_label(&t, m->services[i]->name);
                hl_text_add(&t, "\"} %d\n", st == HEALTH_HEALTHY);
        }
        hl_text_add(&t, "# HELP hl_service_restarts Automatic restarts in a row (the back-off count).\n"
                     "# TYPE hl_service_restarts gauge\n");
        for (size_t i = 0; i < m->n_services; i++) {
                hl_text_add(&t, "hl_service_restarts{service=\"");
                text_label(&t, m->services[i]->name);
                hl_text_add(&t, "\"} %u\n", m->services[i]->restart_failures);
        }
        /* The text format wants each metric's samples together: one pass per metric. */
        for (int metric = 0; metric < 2; metric++) {
                hl_text_add(&t, "%s", metric ? "# HELP hl_check_latency_seconds How long the last run of a check took.\n"
                                            "# TYPE hl_check_latency_seconds gauge\n"
                                          : "# HELP hl_check_ok The last result of a check: 1 passed, 0 failed.\n"
                                            "# TYPE hl_check_ok gauge\n");
                for (size_t i = 0; i < m->n_services; i++) {
                        struct service *s = m->services[i];
                        const struct hl_health *cfg = &s->desired->def->health;

                        for (size_t k = 0; s->health && k < s->health->n_last && k < cfg->n_checks; k++) {
                                const struct probe_result *r = &s->health->last[k];

                                hl_text_add(&t, metric ? "hl_check_latency_seconds{service=\"" : "hl_check_ok{service=\"");
                                text_label(&t, s->name);
                                hl_text_add(&t, "\",check=\"");
                                text_label(&t, cfg->checks[k].text);
                                if (metric)
                                        hl_text_add(&t, "\"} %.3f\n", (double) r->latency_ms / 1000);
                                else
                                        hl_text_add(&t, "\"} %d\n", r->ok);
                        }
                }
        }
        tmp = hl_strdup_printf("%s.XXXXXX", m->config.metrics_file);
        fd = tmp && !t.failed ? mkostemp(tmp, O_CLOEXEC) : -1;
        if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, t.buf, t.len) != (ssize_t) t.len || fsync(fd) < 0 ||
            close(TAKE_FD(fd)) < 0 || rename(tmp, m->config.metrics_file) < 0) {
                log_warning("cannot write %s: %s, ignoring", m->config.metrics_file, strerror(errno));
                if (fd >= 0)
                        close(fd);
                if (tmp)
                        unlink(tmp);
        }
        free(t.buf);
}

void health_expire(struct manager *m) {
        int r;

        if (m->config.health_retention_ms == 0)
                return;
        r = store_health_expire(m->store, hl_now_ms() - (int64_t) m->config.health_retention_ms);
        if (r < 0)
                log_warning("could not summarize old health results: %s, ignoring", strerror(-r));
}
