/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int use_journal;
static int max_priority = LOG_INFO;

void log_setup(void) {
        const char *level = getenv("HLD_LOG_LEVEL");

        use_journal = getenv("JOURNAL_STREAM") != NULL;
        if (level && strcmp(level, "debug") == 0)
                max_priority = LOG_DEBUG;
}

void log_full(int priority, const char *service, const char *action, int64_t run, const char *fmt, ...) {
        char msg[2048];
        va_list ap;

        if (priority > max_priority)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (use_journal) {
                char f_msg[2100], f_prio[32], f_service[128], f_action[64], f_run[64];
                struct iovec iov[6];
                int n = 0;

#define FIELD(buf, ...)                                                          \
        do {                                                                     \
                snprintf(buf, sizeof(buf), __VA_ARGS__);                         \
                iov[n++] = (struct iovec) { .iov_base = buf, .iov_len = strlen(buf) }; \
        } while (0)
                FIELD(f_msg, "MESSAGE=%s%s%s", service ? service : "", service ? ": " : "", msg);
                FIELD(f_prio, "PRIORITY=%d", priority);
                if (service)
                        FIELD(f_service, "HL_SERVICE=%s", service);
                if (action)
                        FIELD(f_action, "HL_ACTION=%s", action);
                if (run > 0)
                        FIELD(f_run, "HL_RUN=%" PRId64, run);
#undef FIELD
                sd_journal_sendv(iov, n);
                return;
        }
        /* One write(2), no stdio: stderr's lock must never be held at the instant liblxc
         * clones a child (ct.c explains why). */
        char line[2300];
        int n = service ? snprintf(line, sizeof(line), "hld: %s%s%s: %s\n", service, action ? " " : "",
                                   action ? action : "", msg)
                        : snprintf(line, sizeof(line), "hld: %s\n", msg);
        if (n > (int) sizeof(line) - 1)
                n = (int) sizeof(line) - 1;
        (void) !write(STDERR_FILENO, line, (size_t) n);
}
