/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Retention on made-up timelines (UTC), table-driven: each case is a Keep= value, the
 * items as times (newest first or not, "!" marks a protected one), and what must be kept,
 * by which rule — what Proxmox's prune keeps for the same list. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl-macro.h"
#include "hl-retention.h"
#include "test.h"

#define MAX_ITEMS 40

struct prune_case {
        const char *keep;
        /* "YYYY-MM-DD HH:MM", a leading '!' for protected; NULL-terminated */
        const char *items[MAX_ITEMS];
        /* For each item, in the same order: 'k' + rule letter (l h d w m y), 'p'
         * protected, '-' removed, 'a' kept by keep-all. */
        const char *expect;
};

static const struct prune_case cases[] = {
        /* Seven days of dailies out of nine. */
        { "keep-daily=7",
          { "2026-11-30 03:00", "2026-11-29 03:00", "2026-11-28 03:00", "2026-11-27 03:00", "2026-11-26 03:00",
            "2026-11-25 03:00", "2026-11-24 03:00", "2026-11-23 03:00", "2026-11-22 03:00" },
          "dddddd d--" },
        /* keep-last takes the three of the 30th; daily then counts the 30th as kept and
         * keeps the newest of the 29th and of the 28th; the older one of the 29th goes. */
        { "keep-last=3,keep-daily=2",
          { "2026-11-30 03:00", "2026-11-30 02:00", "2026-11-30 01:00", "2026-11-29 03:00", "2026-11-29 02:00",
            "2026-11-28 03:00", "2026-11-27 03:00" },
          "lll d- d-" },
        /* ISO weeks: Monday the 30th is week 49, Sunday the 29th and Monday the 23rd week 48. */
        { "keep-weekly=2", { "2026-11-30 03:00", "2026-11-29 03:00", "2026-11-23 03:00", "2026-11-22 03:00" }, "ww--" },
        /* 31 December 2026 and 1 January 2027 are both ISO week 53 of 2026, but two years. */
        { "keep-weekly=1", { "2027-01-01 03:00", "2026-12-31 03:00" }, "w-" },
        { "keep-yearly=2", { "2027-01-01 03:00", "2026-12-31 03:00" }, "yy" },
        /* Monthly, then yearly counts the year the monthly kept. */
        { "keep-monthly=2,keep-yearly=2",
          { "2026-11-15 03:00", "2026-11-01 03:00", "2026-10-10 03:00", "2025-12-31 03:00", "2024-06-01 03:00",
            "2023-01-01 03:00" },
          "m-myy-" },
        /* Protected counts for no rule. */
        { "keep-last=1", { "!2026-11-30 03:00", "2026-11-29 03:00", "2026-11-28 03:00" }, "pl-" },
        { "keep-all=1", { "2026-11-30 03:00", "!2026-11-29 03:00", "2026-11-28 03:00" }, "apa" },
        /* Out of order in: the newest still wins its day. */
        { "keep-daily=1", { "2026-11-30 01:00", "2026-11-30 05:00", "2026-11-29 09:00" }, "-d-" },
        /* Hourly. */
        { "keep-hourly=2", { "2026-11-30 05:50", "2026-11-30 05:10", "2026-11-30 04:59", "2026-11-30 03:00" }, "h-h-" },
        { NULL, {}, NULL },
};

static int64_t parse_time(const char *s) {
        struct tm tm = {};

        if (!strptime(s, "%Y-%m-%d %H:%M", &tm))
                return -1;
        return (int64_t) timegm(&tm);
}

static char verdict(const struct hl_prune_item *it) {
        static const char letters[_HL_KEEP_MAX] = { 'l', 'h', 'd', 'w', 'm', 'y' };

        switch (it->mark) {
        case HL_PRUNE_PROTECTED:
                return 'p';
        case HL_PRUNE_REMOVE:
                return '-';
        case HL_PRUNE_KEEP:
                return it->rule < 0 ? 'a' : letters[it->rule];
        }
        return '?';
}

TEST(prune_keeps_what_proxmox_keeps) {
        setenv("TZ", "UTC", 1);
        tzset();
        for (const struct prune_case *c = cases; c->keep; c++) {
                struct hl_prune_item items[MAX_ITEMS] = {};
                char got[MAX_ITEMS + 1] = "", want[MAX_ITEMS + 1] = "";
                _cleanup_free_ char *error = NULL;
                struct hl_keep k;
                size_t n = 0;

                ASSERT_INT_EQ(hl_keep_parse(c->keep, &k, &error), 0);
                for (; c->items[n]; n++) {
                        const char *s = c->items[n];
                        items[n].protected = s[0] == '!';
                        items[n].time = parse_time(s + items[n].protected);
                        ASSERT_TRUE(items[n].time > 0);
                }
                ASSERT_INT_EQ(hl_prune(&k, items, n), 0);
                for (size_t i = 0; i < n; i++)
                        got[i] = verdict(&items[i]);
                /* The expectation may carry spaces for reading. */
                for (size_t i = 0, j = 0; c->expect[i]; i++)
                        if (c->expect[i] != ' ')
                                want[j++] = c->expect[i];
                if (strcmp(got, want) != 0)
                        fprintf(stderr, "%s: got %s, want %s\n", c->keep, got, want);
                ASSERT_TRUE(strcmp(got, want) == 0);
        }
}

/* 400 days of dailies and vzdump's usual rules: exactly 3 + 4 + weeks + months + years. */
TEST(prune_over_a_year_of_dailies) {
        struct hl_prune_item items[400] = {};
        _cleanup_free_ char *error = NULL;
        size_t kept[_HL_KEEP_MAX] = {}, removed = 0;
        int64_t newest = parse_time("2026-11-30 03:00");
        struct hl_keep k;

        setenv("TZ", "UTC", 1);
        tzset();
        ASSERT_INT_EQ(hl_keep_parse("keep-last=3, keep-daily=7, keep-weekly=4, keep-monthly=6, keep-yearly=1", &k,
                                    &error),
                      0);
        for (size_t i = 0; i < HL_ELEMENTSOF(items); i++)
                items[i].time = newest - (int64_t) i * 86400;
        ASSERT_INT_EQ(hl_prune(&k, items, HL_ELEMENTSOF(items)), 0);
        for (size_t i = 0; i < HL_ELEMENTSOF(items); i++) {
                if (items[i].mark == HL_PRUNE_KEEP)
                        kept[items[i].rule]++;
                else
                        removed++;
        }
        ASSERT_INT_EQ(kept[HL_KEEP_LAST], 3);
        ASSERT_INT_EQ(kept[HL_KEEP_DAILY], 7); /* 24..27 Nov, then 4 more: 20..23 */
        ASSERT_INT_EQ(kept[HL_KEEP_WEEKLY], 4);
        ASSERT_INT_EQ(kept[HL_KEEP_MONTHLY], 6);
        ASSERT_INT_EQ(kept[HL_KEEP_YEARLY], 1);
        ASSERT_INT_EQ(removed, 400 - 21);
        /* The newest daily after keep-last's three is the 27th; the last the 21st. */
        ASSERT_TRUE(items[3].mark == HL_PRUNE_KEEP && items[3].rule == HL_KEEP_DAILY);
        ASSERT_TRUE(items[9].mark == HL_PRUNE_KEEP && items[9].rule == HL_KEEP_DAILY);
        ASSERT_TRUE(items[10].mark == HL_PRUNE_REMOVE || items[10].rule != HL_KEEP_DAILY);
}

TEST(keep_values_parse_and_format) {
        static const struct {
                const char *in, *out;
        } good[] = {
                { "keep-last=3,keep-daily=7", "keep-last=3,keep-daily=7" },
                { "keep-yearly=1, keep-last = 2", "keep-last=2,keep-yearly=1" },
                { "keep-all=1", "keep-all=1" },
                { "keep-monthly=100000", "keep-monthly=100000" },
        };
        static const struct {
                const char *in, *message;
        } bad[] = {
                { "keep-lats=3", "\"keep-lats\" is not a retention word" },
                { "keep-last=0", "keep-last needs a count from 1 to 100000" },
                { "keep-last=100001", "keep-last needs a count" },
                { "keep-last=-1", "keep-last needs a count" },
                { "keep-last", "keep-last needs a count" },
                { "keep-last=3,keep-last=4", "keep-last is given twice" },
                { "keep-all=1,keep-daily=2", "keep-all=1 keeps everything" },
                { "", "no retention rule" },
                { ",,", "no retention rule" },
                { "keep-all=0", "no retention rule" },
                { "keep-last=x,keep-nope=1", "keep-last needs a count from 1 to 100000; \"keep-nope\" is not" },
        };

        for (size_t i = 0; i < HL_ELEMENTSOF(good); i++) {
                _cleanup_free_ char *error = NULL, *text = NULL;
                struct hl_keep k;

                ASSERT_INT_EQ(hl_keep_parse(good[i].in, &k, &error), 0);
                text = hl_keep_format(&k);
                ASSERT_TRUE(text && strcmp(text, good[i].out) == 0);
        }
        for (size_t i = 0; i < HL_ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *error = NULL;
                struct hl_keep k;

                ASSERT_INT_EQ(hl_keep_parse(bad[i].in, &k, &error), -EINVAL);
                if (!error || !strstr(error, bad[i].message))
                        fprintf(stderr, "%s: %s\n", bad[i].in, error ? error : "(no error)");
                ASSERT_TRUE(error && strstr(error, bad[i].message));
        }
}
