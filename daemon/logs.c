/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hld's marks beside each container's console log: every start, stop, restart, crash and
 * verdict of a service, with where the console log stood then, so that hlctl logs shows
 * them between the output, where they happened, and why it breaks off
 * (docs/operating.md). The console log is the monitor's alone (ct.c sets it for each
 * start): hld never writes into it, and nothing the container prints can pass for a mark.
 * A mark is one small append, as a row of the store is on this thread. */
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
        char line[1024];
        struct stat st = {};
        int dir, cdir, fd, n;

        /* Only into a container's own directory that exists: a destroyed one gets none. */
        dir = open(m->config.lxcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return;
        cdir = openat(dir, service, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dir);
        if (cdir < 0)
                return;
        /* Where the console log stands now: the mark goes there when it is read. */
        if (fstatat(cdir, CT_FILE_CONSOLE_LOG, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                st = (struct stat) {};
        n = snprintf(line, sizeof(line) - 2, "%lld %llu %lld %s", (long long) when, (unsigned long long) st.st_ino,
                     (long long) st.st_size, text);
        if (n < 0) {
                close(cdir);
                return;
        }
        if ((size_t) n > sizeof(line) - 3)
                n = (int) sizeof(line) - 3;
        line[n] = 0;
        one_line(line);
        line[n++] = '\n';
        /* Bounded: a full file becomes .1 (one rename), the reader takes both. */
        if (fstatat(cdir, CT_FILE_MARKS, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size > LOGS_MARKS_MAX)
                renameat(cdir, CT_FILE_MARKS, cdir, CT_FILE_MARKS ".1");
        fd = openat(cdir, CT_FILE_MARKS, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        close(cdir);
        if (fd < 0)
                return;
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
