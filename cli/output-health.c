/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "reply.h"
#include "table.h"

struct row {
        json_t *row;
        size_t index;
};

/* By service, each service's checks in the order hld sent them: rows arrive as probes
 * finish, and a table that keeps its order from one run to the next is easier to read. */
static int row_compare(const void *a, const void *b) {
        const struct row *x = a, *y = b;
        int c = strcmp(reply_string(x->row, "service") ?: "", reply_string(y->row, "service") ?: "");

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

int output_table_health(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(5);
        json_t *results = reply_array(reply, "results"), *row;
        size_t n = json_array_size(results), services = 0, ok = 0, i;
        _cleanup_free_ struct row *rows = NULL;
        char duration[32];
        int r;

        if (!t)
                return -ENOMEM;
        if (n == 0) {
                printf("No health checks defined.\n");
                return 0;
        }
        rows = calloc(n, sizeof(*rows));
        if (!rows)
                return -ENOMEM;
        json_array_foreach(results, i, row)
                rows[i] = (struct row) { .row = row, .index = i };
        qsort(rows, n, sizeof(*rows), row_compare);

        table_align_right(t, 3);
        r = table_add(t, "SERVICE", "CHECK", "RESULT", "LATENCY", "MESSAGE");
        if (r < 0)
                return r;
        for (i = 0; i < n; i++) {
                const char *service = reply_string(rows[i].row, "service");
                bool passed = json_is_true(json_object_get(rows[i].row, "ok"));
                char latency[32];

                if (i == 0 || strcmp(service ?: "", reply_string(rows[i - 1].row, "service") ?: "") != 0)
                        services++;
                if (passed)
                        ok++;
                r = table_add(t, service, reply_string(rows[i].row, "check"), passed ? "ok" : "FAIL",
                              reply_format_duration(rows[i].row, "latency_ms", latency, sizeof(latency)),
                              reply_string(rows[i].row, "message"));
                if (r < 0)
                        return r;
        }
        r = table_print(t, stdout, NULL);
        if (r < 0)
                return r;
        printf("%zu service%s, %zu check%s: %zu ok, %zu failed in %s.\n", services, services == 1 ? "" : "s", n,
               n == 1 ? "" : "s", ok, n - ok, reply_format_duration(reply, "duration_ms", duration, sizeof(duration)));
        return 0;
}

static int print_failures(json_t *failures) {
        _cleanup_(table_freep) struct table *t = table_new(4);
        size_t n = json_array_size(failures);
        int r;

        if (!t)
                return -ENOMEM;
        table_align_right(t, 2);
        r = table_add(t, "TIME", "CHECK", "LATENCY", "MESSAGE");
        if (r < 0)
                return r;
        /* hld sends the newest first; printed newest last, as history is. */
        for (size_t i = n; i > 0; i--) {
                json_t *f = json_array_get(failures, i - 1);
                char time[64], latency[32];

                r = table_add(t, reply_format_time(f, "time", time, sizeof(time)), reply_string(f, "check"),
                              reply_format_duration(f, "latency_ms", latency, sizeof(latency)),
                              reply_string(f, "message"));
                if (r < 0)
                        return r;
        }
        return table_print(t, stdout, "  ");
}

int output_table_health_history(json_t *reply) {
        _cleanup_(table_freep) struct table *t = table_new(2);
        json_t *failures = reply_array(reply, "failures"), *uptime = json_object_get(reply, "uptime");
        char since[64], share[128], flaps[32], failing[64];
        int64_t probes = 0, failed = 0, from = 0, streak;
        size_t n_failures = json_array_size(failures);
        int r;

        if (!t)
                return -ENOMEM;
        reply_int(reply, "probes", &probes);
        reply_int(reply, "failures_count", &failed);
        reply_int(reply, "since", &from);
        if (probes == 0)
                snprintf(share, sizeof(share), "- (no probes)");
        else if (json_is_number(uptime)) {
                /* Cut, not rounded: one failure in 100000 probes is 99.99%, never 100.00%
                 * (the epsilon keeps 0.29 from being cut to 28.99%). */
                int64_t basis_points = (int64_t) (json_number_value(uptime) * 10000.0 + 1e-6);

                snprintf(share, sizeof(share), "%" PRId64 ".%02" PRId64 "%% (%" PRId64 " probe%s, %" PRId64 " failed)",
                         basis_points / 100, basis_points % 100, probes, probes == 1 ? "" : "s", failed);
        }
        else
                snprintf(share, sizeof(share), "- (%" PRId64 " probes, %" PRId64 " failed)", probes, failed);

        r = table_add(t, "Service:", reply_string(reply, "service"));
        if (r >= 0)
                r = table_add(t, "Since:",
                              from > 0 ? reply_format_time(reply, "since", since, sizeof(since)) : "all that is kept");
        if (r >= 0)
                r = table_add(t, "Uptime:", share);
        if (r >= 0)
                r = table_add(t, "Flaps:", reply_format_int(reply, "flaps", flaps, sizeof(flaps)));
        if (r >= 0 && reply_int(reply, "failing_since", &streak))
                r = table_add(t, "Failing since:", reply_format_time(reply, "failing_since", failing, sizeof(failing)));
        if (r < 0)
                return r;
        r = table_print(t, stdout, NULL);
        if (r < 0)
                return r;

        if (n_failures == 0)
                return 0;
        if ((int64_t) n_failures < failed)
                printf("\nFailures (the newest %zu of %" PRId64 "):\n", n_failures, failed);
        else
                printf("\nFailures:\n");
        return print_failures(failures);
}
