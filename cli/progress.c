/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "reply.h"

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

void progress_begin(struct progress *p, const char *what, bool json) {
        *p = (struct progress) { .on = !json && isatty(STDERR_FILENO), .what = what, .started_ms = now_ms() };
}

static void draw(struct progress *p) {
        static const char spin[] = "|/-\\";
        uint64_t ms = now_ms() - p->started_ms;

        if (!p->on)
                return;
        fprintf(stderr, "\r\033[K%c %s: %u done%s%.0u%s, %.1f s%s%s", spin[(ms / 200) % 4], p->what, p->done,
                p->failed ? ", " : "", p->failed, p->failed ? " failed" : "", (double) ms / 1000,
                p->last[0] ? " (last: " : "", p->last[0] ? p->last : "");
        if (p->last[0])
                fputc(')', stderr);
        fflush(stderr);
        p->drawn = true;
}

void progress_action(struct progress *p, json_t *action) {
        const char *result = reply_string(action, "result");

        p->done++;
        if (result && strcmp(result, "failed") == 0)
                p->failed++;
        snprintf(p->last, sizeof(p->last), "%s %s %s", reply_string(action, "action") ?: "?",
                 reply_string(action, "service") ?: "?", result ?: "");
        /* Only what a terminal can show: the names are hld's, checked, but a reason may not be. */
        for (char *c = p->last; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
        draw(p);
}

void progress_tick(struct progress *p) {
        draw(p);
}

void progress_end(struct progress *p) {
        if (p->on && p->drawn) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
        }
        p->drawn = false;
}
