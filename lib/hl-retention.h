/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Retention as Proxmox's vzdump and Backup Server prune: "keep-last=3,keep-daily=7,
 * keep-weekly=4,keep-monthly=6,keep-yearly=1". The rules apply in that order (last, hourly,
 * daily, weekly, monthly, yearly) over the items newest first: each keeps the newest item
 * of each of its next N periods (hours, days, ISO weeks, months, years in local time) that
 * no earlier rule has kept an item of, and an item of a period already counted is not
 * kept by that rule. Protected items are kept and count for no rule. What no rule keeps
 * is removed; "keep-all=1" keeps everything. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hl_keep_rule {
        HL_KEEP_LAST,
        HL_KEEP_HOURLY,
        HL_KEEP_DAILY,
        HL_KEEP_WEEKLY,
        HL_KEEP_MONTHLY,
        HL_KEEP_YEARLY,
        _HL_KEEP_MAX,
};

#define HL_KEEP_COUNT_MAX 100000

struct hl_keep {
        unsigned count[_HL_KEEP_MAX]; /* 0: the rule is not used */
        bool all;
};

/* "keep-last" ... "keep-yearly". */
const char *hl_keep_rule_to_string(enum hl_keep_rule r);

/* Parses a Keep= value. -EINVAL with a sentence (every problem of the value, "; " apart)
 * for an unknown word, a count that is not 1..HL_KEEP_COUNT_MAX, a word given twice,
 * keep-all with another rule, or nothing at all. */
int hl_keep_parse(const char *text, struct hl_keep *ret, char **ret_error);

/* The value again, in the rules' order: what hlctl shows. */
char *hl_keep_format(const struct hl_keep *k);

enum hl_prune_mark {
        HL_PRUNE_REMOVE,
        HL_PRUNE_KEEP,
        HL_PRUNE_PROTECTED,
};

struct hl_prune_item {
        int64_t time;      /* Unix seconds */
        bool protected;
        /* Out: the verdict, and the rule that keeps it (-1 when kept by keep-all, protected
         * or removed). */
        enum hl_prune_mark mark;
        int rule;
};

/* Marks every item (in any order; ties in time go to the later item in the array, as
 * made later). Uses local time (TZ). -ENOMEM only. */
int hl_prune(const struct hl_keep *k, struct hl_prune_item *items, size_t n);
