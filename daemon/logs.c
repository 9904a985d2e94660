/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hld's marks in each container's console log: every start, stop, restart, crash and
 * verdict of a service is a line of its own between the console's output, where it
 * happened, so that hlctl logs shows why the output breaks off (docs/operating.md). The console
 * log itself is the monitor's (ct.c sets it for each start); a mark is one append. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "events.h"
#include "logs.h"

static struct subscriber *subscription;

/* What begins a container's run (or ends it): marked when it begins, so that the output
 * it brings comes after its mark. */
static bool marked_at_begin(const char *action) {
        static const char *const actions[] = { "create", "start", "stop", "restart", "update", "rollback", "recreate" };

        for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
                if (strcmp(action, actions[i]) == 0)
                        return true;
        return false;
}

/* A mark is one line: no newline of a reason may make a second one. */
static void one_line(char *s) {
        for (; *s; s++)
                if (*s == '\n' || *s == '\r')
                        *s = ' ';
}

void logs_mark(struct manager *m, const char *service, time_t when, const char *text) {
        char line[1024], stamp[32];
        struct tm tm;
        int dir, fd, n;

        gmtime_r(&when, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        n = snprintf(line, sizeof(line) - 6, "%s %s %s", LOGS_MARK, stamp, text);
        if (n < 0)
                return;
        if ((size_t) n > sizeof(line) - 7)
                n = (int) sizeof(line) - 7;
        line[n] = 0;
        one_line(line);
        n += snprintf(line + n, sizeof(line) - (size_t) n, " --\n");
        /* Only into a container's own directory that exists: a destroyed one gets none. */
        dir = open(m->config.lxcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return;
        {
                int cdir = openat(dir, service, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                close(dir);
                if (cdir < 0)
                        return;
                fd = openat(cdir, CT_FILE_CONSOLE_LOG, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                close(cdir);
        }
        if (fd < 0)
                return;
        /* A console's prompt ends with no newline: the mark still starts a line. */
        {
                struct stat st;
                char last = '\n';
                if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
                        last = '\n';
                if (last != '\n') {
                        memmove(line + 1, line, (size_t) n + 1);
                        line[0] = '\n';
                        n++;
                }
        }
        (void) !write(fd, line, (size_t) n);
        close(fd);
}

static void on_event(void *userdata, json_t *e) {
        struct manager *m = userdata;
        const char *service = json_string_value(json_object_get(e, "service"));
        const char *action = json_string_value(json_object_get(e, "action"));
        const char *result = json_string_value(json_object_get(e, "result"));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        const char *error = json_string_value(json_object_get(e, "error"));
        bool running;
        char text[900];

        if (!service || !action || !result)
                return;
        running = strcmp(result, "running") == 0;
        if (running && marked_at_begin(action))
                snprintf(text, sizeof(text), "%s: %s", action, reason ? reason : "");
        else if (!running && marked_at_begin(action) && strcmp(result, "ok") != 0 && strcmp(result, "skipped") != 0)
                snprintf(text, sizeof(text), "%s %s: %s", action, result, error ? error : "");
        else if (!running && (strcmp(action, "observe") == 0 || strcmp(action, "health") == 0))
                snprintf(text, sizeof(text), "%s: %s%s%s", action, reason ? reason : "", error && *error ? ": " : "",
                         error ? error : "");
        else
                return;
        logs_mark(m, service, (time_t) json_integer_value(json_object_get(e, "time")), text);
}

int logs_start(struct manager *m) {
        return events_subscribe(m, NULL, on_event, m, &subscription);
}

void logs_stop(struct manager *m) {
        if (subscription)
                events_unsubscribe(m, subscription);
        subscription = NULL;
}
