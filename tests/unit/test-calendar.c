/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Schedule= values and their next times, in UTC, on a made-up clock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl-calendar.h"
#include "hl-macro.h"
#include "test.h"

static int64_t at(const char *s) {
        struct tm tm = {};

        if (!strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
                return -1;
        return (int64_t) timegm(&tm);
}

TEST(next_times) {
        static const struct {
                const char *schedule, *after, *next;
        } cases[] = {
                { "daily", "2026-12-01 13:00:00", "2026-12-02 00:00:00" },
                { "daily", "2026-12-01 23:59:59", "2026-12-02 00:00:00" },
                { "hourly", "2026-12-01 13:00:00", "2026-12-01 14:00:00" },
                { "weekly", "2026-11-30 00:00:00", "2026-12-07 00:00:00" }, /* strictly after a Monday's */
                { "monthly", "2026-12-01 00:00:00", "2027-01-01 00:00:00" },
                { "yearly", "2026-06-01 12:00:00", "2027-01-01 00:00:00" },
                { "Mon..Fri 03:00", "2026-12-04 04:00:00", "2026-12-07 03:00:00" },
                { "Mon..Fri 03:00", "2026-12-04 02:59:59", "2026-12-04 03:00:00" },
                { "Sat,Sun 02:30", "2026-12-05 02:30:00", "2026-12-06 02:30:00" },
                { "Sun", "2026-12-01 10:00:00", "2026-12-06 00:00:00" },
                { "04:15", "2026-12-01 04:15:01", "2026-12-02 04:15:00" },
                { "*:0/15", "2026-12-01 13:07:10", "2026-12-01 13:15:00" },
                { "*:*:0/5", "2026-12-01 13:07:10", "2026-12-01 13:07:15" },
                { "Mon..Wed,Fri 22:00:30", "2026-12-03 10:00:00", "2026-12-04 22:00:30" },
        };

        setenv("TZ", "UTC", 1);
        tzset();
        for (size_t i = 0; i < HL_ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = NULL;
                struct hl_calendar c;
                int64_t next;

                ASSERT_INT_EQ(hl_calendar_parse(cases[i].schedule, &c, &error), 0);
                next = hl_calendar_next(&c, at(cases[i].after));
                if (next != at(cases[i].next))
                        fprintf(stderr, "%s after %s: %lld, want %s\n", cases[i].schedule, cases[i].after, (long long) next,
                                cases[i].next);
                ASSERT_INT_EQ(next, at(cases[i].next));
        }
}

TEST(bad_schedules) {
        static const char *const bad[] = {
                "", "Mon..", "Fri..Mon", "25:00", "*:61", "daily 03:00", "Mon Tue 03:00", "03", "x", "Mon,", "1:2:3:4",
                "*/0:00", "Monday",
        };

        for (size_t i = 0; i < HL_ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *error = NULL;
                struct hl_calendar c;

                if (hl_calendar_parse(bad[i], &c, &error) != -EINVAL)
                        fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
                ASSERT_INT_EQ(hl_calendar_parse(bad[i], &c, &error), -EINVAL);
                ASSERT_TRUE(error && strstr(error, "is not a schedule"));
        }
}
