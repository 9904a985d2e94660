/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl-calendar.h"
#include "hl-macro.h"
#include "hl-util.h"

static const char *const days[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

static int day_of(const char *s, size_t n) {
        for (int i = 0; i < 7; i++)
                if (n == 3 && strncmp(s, days[i], 3) == 0)
                        return i;
        return -1;
}

/* "Mon", "Mon..Fri", "Sat,Sun", "Mon..Wed,Fri". */
static int parse_days(const char *s, uint8_t *ret) {
        uint8_t set = 0;

        while (*s) {
                size_t n = strcspn(s, ",.");
                int a = day_of(s, n), b;

                if (a < 0)
                        return -EINVAL;
                s += n;
                b = a;
                if (strncmp(s, "..", 2) == 0) {
                        s += 2;
                        n = strcspn(s, ",.");
                        b = day_of(s, n);
                        if (b < 0 || b < a)
                                return -EINVAL;
                        s += n;
                }
                for (int i = a; i <= b; i++)
                        set |= (uint8_t) (1u << i);
                if (*s == ',' && s[1])
                        s++;
                else if (*s)
                        return -EINVAL;
        }
        *ret = set;
        return 0;
}

/* One of HH, MM, SS: a number, "*", or START/STEP ("*" as the start is 0). */
static int parse_field(const char *s, unsigned max, uint64_t *ret) {
        const char *slash = strchr(s, '/');
        uint64_t start = 0, step = 0, set = 0;
        char buf[16];

        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        if (strcmp(s, "*") == 0) {
                start = 0;
                step = 1;
        } else if (slash) {
                memcpy(buf, s, (size_t) (slash - s));
                buf[slash - s] = 0;
                if ((strcmp(buf, "*") != 0 && hl_parse_uint(buf, 0, max - 1, &start) < 0) ||
                    hl_parse_uint(slash + 1, 1, max, &step) < 0)
                        return -EINVAL;
        } else {
                if (hl_parse_uint(s, 0, max - 1, &start) < 0)
                        return -EINVAL;
                set = UINT64_C(1) << start;
        }
        for (uint64_t v = start; step && v < max; v += step)
                set |= UINT64_C(1) << v;
        *ret = set;
        return 0;
}

static int parse_time(char *s, struct hl_calendar *c) {
        char *parts[3] = { NULL, NULL, "0" };
        uint64_t h, m, sec;
        size_t n = 0;

        for (char *save = NULL, *p = strtok_r(s, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
                if (n == 3)
                        return -EINVAL;
                parts[n++] = p;
        }
        if (n < 2 || parse_field(parts[0], 24, &h) < 0 || parse_field(parts[1], 60, &m) < 0 ||
            parse_field(parts[2], 60, &sec) < 0)
                return -EINVAL;
        c->hours = (uint32_t) h;
        c->minutes = m;
        c->seconds = sec;
        return 0;
}

int hl_calendar_parse(const char *text, struct hl_calendar *ret, char **ret_error) {
        _cleanup_free_ char *copy = strdup(text ? text : "");
        struct hl_calendar c = { .weekdays = 0x7f, .hours = 1, .minutes = 1, .seconds = 1 };
        char *words[3] = {}, *save = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (n == 2)
                        goto bad;
                words[n++] = w;
        }
        if (n == 0)
                goto bad;
        if (n == 1 && strcmp(words[0], "hourly") == 0)
                c.hours = (1u << 24) - 1;
        else if (n == 1 && strcmp(words[0], "daily") == 0)
                ;
        else if (n == 1 && strcmp(words[0], "weekly") == 0)
                c.weekdays = 1;
        else if (n == 1 && strcmp(words[0], "monthly") == 0)
                c.month_day_1 = true;
        else if (n == 1 && strcmp(words[0], "yearly") == 0)
                c.month_day_1 = c.january = true;
        else {
                size_t i = 0;

                if (strchr(words[0], ':') == NULL) {
                        if (parse_days(words[i++], &c.weekdays) < 0)
                                goto bad;
                }
                if (i < n && parse_time(words[i++], &c) < 0)
                        goto bad;
                if (i != n)
                        goto bad;
        }
        *ret = c;
        return 0;
bad:
        return hl_fail(ret_error, -EINVAL,
                       "\"%.80s\" is not a schedule: use hourly, daily, weekly, monthly, yearly, or [WEEKDAYS] "
                       "[HH:MM[:SS]] (Mon..Fri 03:00, Sun 02:30, *:0/15)",
                       text ? text : "");
}

static int first_bit(uint64_t set, int from, int max) {
        for (int i = from; i < max; i++)
                if (set & (UINT64_C(1) << i))
                        return i;
        return -1;
}

int64_t hl_calendar_next(const struct hl_calendar *c, int64_t after) {
        time_t t = (time_t) after + 1;
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -1;
        for (int day = 0; day < 400; day++) {
                int wday = (tm.tm_wday + 6) % 7; /* Monday = 0 */

                if ((c->weekdays & (1u << wday)) && (!c->month_day_1 || tm.tm_mday == 1) && (!c->january || tm.tm_mon == 0)) {
                        /* The first time of this day at or after tm's. */
                        for (int h = first_bit(c->hours, tm.tm_hour, 24); h >= 0; h = first_bit(c->hours, h + 1, 24)) {
                                int m0 = h == tm.tm_hour ? tm.tm_min : 0;
                                for (int m = first_bit(c->minutes, m0, 60); m >= 0; m = first_bit(c->minutes, m + 1, 60)) {
                                        int s0 = h == tm.tm_hour && m == tm.tm_min ? tm.tm_sec : 0;
                                        int s = first_bit(c->seconds, s0, 60);
                                        if (s >= 0) {
                                                struct tm when = tm;
                                                time_t r;

                                                when.tm_hour = h;
                                                when.tm_min = m;
                                                when.tm_sec = s;
                                                when.tm_isdst = -1;
                                                r = mktime(&when);
                                                /* A time a DST change skips or repeats: the next one. */
                                                if (r > (time_t) after)
                                                        return (int64_t) r;
                                        }
                                }
                        }
                }
                /* The next day at 00:00:00. */
                tm.tm_mday++;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                tm.tm_isdst = -1;
                t = mktime(&tm);
                if (t == (time_t) -1 || !localtime_r(&t, &tm))
                        return -1;
        }
        return -1;
}
