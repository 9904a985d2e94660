/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hlctl top: each service's CPU %, memory, I/O and processes, from two of hld's Top samples
 * a second apart; on a terminal the table is drawn again every second until Ctrl-C. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "hl-protocol.h"
#include "hl-util.h"
#include "reply.h"
#include "table.h"
#include "top.h"

#define INTERVAL_MS 1000

static int keep_sample(json_t *parameters, const void *userdata) {
        json_t **sample = (json_t **) userdata;

        json_decref(*sample);
        *sample = json_incref(parameters);
        return HLCTL_EXIT_OK;
}

static int sample(const char *socket_path, json_t **ret) {
        json_t *got = NULL;
        int r = call_method(socket_path, HL_INTERFACE ".Top", NULL, false,
                            &(const struct call_handler) { .on_reply = keep_sample, .userdata = &got });

        if (r != HLCTL_EXIT_OK) {
                json_decref(got);
                return r;
        }
        json_decref(*ret);
        *ret = got;
        return got ? HLCTL_EXIT_OK : HLCTL_EXIT_FAILED;
}

static json_t *row_named(json_t *sample, const char *name) {
        json_t *row;
        size_t i;

        json_array_foreach(reply_array(sample, "services"), i, row)
                if (reply_string(row, "name") && strcmp(reply_string(row, "name"), name) == 0)
                        return row;
        return NULL;
}

/* The rates between two samples, as the rows of now with cpu_percent, read_per_s and
 * write_per_s added where both have the counters. */
static json_t *rates(json_t *before, json_t *now) {
        int64_t t0 = 0, t1 = 0;
        json_t *rows = json_array(), *row;
        double seconds;
        size_t i;

        reply_int(before, "time_us", &t0);
        reply_int(now, "time_us", &t1);
        seconds = t1 > t0 ? (double) (t1 - t0) / 1e6 : 0;
        json_array_foreach(reply_array(now, "services"), i, row) {
                json_t *out = json_deep_copy(row), *old = row_named(before, reply_string(row, "name") ?: "");
                int64_t a, b;

                if (!out)
                        continue;
                if (old && seconds > 0 && reply_int(old, "cpu_usec", &a) && reply_int(row, "cpu_usec", &b) && b >= a)
                        json_object_set_new(out, "cpu_percent", json_real((double) (b - a) / 1e4 / seconds));
                if (old && seconds > 0 && reply_int(old, "io_read", &a) && reply_int(row, "io_read", &b) && b >= a)
                        json_object_set_new(out, "read_per_s", json_integer((json_int_t) ((double) (b - a) / seconds)));
                if (old && seconds > 0 && reply_int(old, "io_write", &a) && reply_int(row, "io_write", &b) && b >= a)
                        json_object_set_new(out, "write_per_s", json_integer((json_int_t) ((double) (b - a) / seconds)));
                json_array_append_new(rows, out);
        }
        return rows;
}

static const char *format_bytes(json_t *row, const char *key, char *buf, size_t size, bool per_s) {
        int64_t v;

        if (!reply_int(row, key, &v) || v < 0)
                return "-";
        hl_format_size((uint64_t) v, buf, size);
        if (per_s)
                strncat(buf, "/s", size - strlen(buf) - 1);
        return buf;
}

static int print_table(json_t *rows) {
        _cleanup_(table_freep) struct table *t = table_new(7);
        json_t *row;
        size_t i;
        int r;

        if (!t)
                return -ENOMEM;
        for (size_t c = 2; c < 7; c++)
                table_align_right(t, c);
        r = table_add(t, "NAME", "STATE", "CPU%", "MEMORY", "READ", "WRITE", "PROCS");
        json_array_foreach(rows, i, row) {
                char cpu[32] = "", memory[32], rd[40], wr[40], procs[32] = "";
                json_t *pct = json_object_get(row, "cpu_percent");
                int64_t n;

                if (r < 0)
                        break;
                if (json_is_number(pct))
                        snprintf(cpu, sizeof(cpu), "%.1f", json_number_value(pct));
                if (reply_int(row, "processes", &n) && n > 0)
                        snprintf(procs, sizeof(procs), "%" PRId64, n);
                r = table_add(t, reply_string(row, "name"), reply_string(row, "state"), cpu,
                              format_bytes(row, "memory", memory, sizeof(memory), false),
                              format_bytes(row, "read_per_s", rd, sizeof(rd), true),
                              format_bytes(row, "write_per_s", wr, sizeof(wr), true), procs);
        }
        if (r < 0)
                return r;
        if (table_rows(t) == 1) {
                printf("No services.\n");
                return 0;
        }
        return table_print(t, stdout, NULL);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        stop = 1;
}

static void pause_interval(void) {
        struct timespec ts = { .tv_sec = INTERVAL_MS / 1000, .tv_nsec = (INTERVAL_MS % 1000) * 1000000L };

        while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int top_run(const char *socket_path, bool json, bool live) {
        _cleanup_(json_decrefp) json_t *before = NULL, *now = NULL;
        int r = sample(socket_path, &before);

        if (r != HLCTL_EXIT_OK)
                return r;
        if (live) {
                struct sigaction sa = { .sa_handler = on_signal };
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
        }
        for (;;) {
                _cleanup_(json_decrefp) json_t *rows = NULL;
                char clock[16];
                time_t t = time(NULL);
                struct tm tm;

                pause_interval();
                if (stop)
                        return HLCTL_EXIT_OK;
                r = sample(socket_path, &now);
                if (r != HLCTL_EXIT_OK)
                        return r;
                rows = rates(before, now);
                if (!rows)
                        return HLCTL_EXIT_FAILED;
                if (json) {
                        char *dump = json_dumps(rows, JSON_INDENT(2));
                        if (dump)
                                printf("%s\n", dump);
                        free(dump);
                        return dump ? HLCTL_EXIT_OK : HLCTL_EXIT_FAILED;
                }
                localtime_r(&t, &tm);
                strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
                if (live)
                        printf("\033[H\033[2Jhl top at %s, every second: Ctrl-C ends it\n\n", clock);
                if (print_table(rows) < 0)
                        return HLCTL_EXIT_FAILED;
                fflush(stdout);
                if (!live)
                        return HLCTL_EXIT_OK;
                json_decref(before);
                before = TAKE_PTR(now);
        }
}
