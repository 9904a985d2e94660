/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Schedule= values, a subset of systemd's calendar events that homelab timers use:
 *
 *   hourly, daily, weekly (Monday), monthly (the 1st), yearly (1 January), at 00:00
 *   [WEEKDAYS] [HH:MM[:SS]]   Mon..Fri 03:00, Sat,Sun 02:30, 04:15, Sun
 *
 * WEEKDAYS is a list of days (Mon Tue Wed Thu Fri Sat Sun) and ranges (Mon..Fri); each
 * of HH, MM, SS is a number, "*" or a start and a step ("0/15", "*" + "/5"); a missing
 * time is 00:00:00, missing seconds are :00. Local time. */

#include <stdbool.h>
#include <stdint.h>

struct hl_calendar {
        uint8_t weekdays;    /* bit 0 = Monday ... bit 6 = Sunday */
        bool month_day_1;    /* monthly: only the 1st; yearly: with january */
        bool january;
        uint32_t hours;      /* bit per hour */
        uint64_t minutes;    /* bit per minute */
        uint64_t seconds;    /* bit per second */
};

/* -EINVAL with a sentence for anything else. */
int hl_calendar_parse(const char *text, struct hl_calendar *ret, char **ret_error);

/* The first time strictly after after (Unix seconds) that the schedule names, or -1 when
 * there is none within 400 days. */
int64_t hl_calendar_next(const struct hl_calendar *c, int64_t after);
