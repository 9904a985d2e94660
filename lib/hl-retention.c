/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl-macro.h"
#include "hl-retention.h"
#include "hl-util.h"

static const char *const rules[_HL_KEEP_MAX] = {
        [HL_KEEP_LAST] = "keep-last",     [HL_KEEP_HOURLY] = "keep-hourly",   [HL_KEEP_DAILY] = "keep-daily",
        [HL_KEEP_WEEKLY] = "keep-weekly", [HL_KEEP_MONTHLY] = "keep-monthly", [HL_KEEP_YEARLY] = "keep-yearly",
};

const char *hl_keep_rule_to_string(enum hl_keep_rule r) {
        return r < _HL_KEEP_MAX ? rules[r] : NULL;
}

int hl_keep_parse(const char *text, struct hl_keep *ret, char **ret_error) {
        _cleanup_free_ char *copy = strdup(text ? text : "");
        struct hl_text problems = {};
        struct hl_keep k = {};
        bool seen[_HL_KEEP_MAX + 1] = {}, any = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                char *eq, *key = w + strspn(w, " \t");
                uint64_t n;
                int which = -1;

                eq = strchr(key, '=');
                if (eq) {
                        *eq++ = 0;
                        eq += strspn(eq, " \t");
                        eq[strcspn(eq, " \t")] = 0;
                }
                key[strcspn(key, " \t")] = 0;
                any = true;
                for (int i = 0; i < _HL_KEEP_MAX; i++)
                        if (strcmp(key, rules[i]) == 0)
                                which = i;
                if (which < 0 && strcmp(key, "keep-all") == 0)
                        which = _HL_KEEP_MAX;
                if (which < 0) {
                        hl_text_add(&problems, "%s\"%.40s\" is not a retention word (keep-last, keep-hourly, keep-daily, "
                                    "keep-weekly, keep-monthly, keep-yearly, keep-all)", problems.len ? "; " : "", key);
                        continue;
                }
                if (seen[which]) {
                        hl_text_add(&problems, "%s%s is given twice", problems.len ? "; " : "", key);
                        continue;
                }
                seen[which] = true;
                if (!eq || hl_parse_uint(eq, which == _HL_KEEP_MAX ? 0 : 1,
                                         which == _HL_KEEP_MAX ? 1 : HL_KEEP_COUNT_MAX, &n) < 0) {
                        hl_text_add(&problems, "%s%s needs %s", problems.len ? "; " : "", key,
                                    which == _HL_KEEP_MAX ? "0 or 1" : "a count from 1 to 100000");
                        continue;
                }
                if (which == _HL_KEEP_MAX)
                        k.all = n == 1;
                else
                        k.count[which] = (unsigned) n;
        }
        bool counted = false;
        for (int i = 0; i < _HL_KEEP_MAX; i++)
                counted = counted || k.count[i] > 0;
        /* keep-all=0 alone says what not to do, never what to keep. */
        if (!any || (!problems.len && !counted && !k.all))
                hl_text_add(&problems, "%sno retention rule (keep-last=N, keep-daily=N, ..., or keep-all=1)",
                            problems.len ? "; " : "");
        if (k.all)
                for (int i = 0; i < _HL_KEEP_MAX; i++)
                        if (seen[i]) {
                                hl_text_add(&problems, "%skeep-all=1 keeps everything: it takes no other rule",
                                            problems.len ? "; " : "");
                                break;
                        }
        if (problems.len || problems.failed) {
                char *error = hl_text_take(&problems);
                if (!error)
                        return -ENOMEM;
                if (ret_error && !*ret_error)
                        *ret_error = error;
                else
                        free(error);
                return -EINVAL;
        }
        *ret = k;
        return 0;
}

char *hl_keep_format(const struct hl_keep *k) {
        struct hl_text t = {};

        if (k->all)
                hl_text_add(&t, "keep-all=1");
        for (int i = 0; i < _HL_KEEP_MAX; i++)
                if (k->count[i])
                        hl_text_add(&t, "%s%s=%u", t.len ? "," : "", rules[i], k->count[i]);
        return hl_text_take(&t);
}

/* The period an item falls in, for a rule: equal strings, same period. */
static void period(enum hl_keep_rule r, int64_t when, size_t index, char buf[32]) {
        time_t t = (time_t) when;
        struct tm tm;

        if (r == HL_KEEP_LAST || !localtime_r(&t, &tm)) {
                snprintf(buf, 32, "#%zu", index); /* every item a period of its own */
                return;
        }
        switch (r) {
        case HL_KEEP_HOURLY:
                snprintf(buf, 32, "%d/%d/%d", tm.tm_year, tm.tm_yday, tm.tm_hour);
                break;
        case HL_KEEP_DAILY:
                snprintf(buf, 32, "%d/%d", tm.tm_year, tm.tm_yday);
                break;
        case HL_KEEP_WEEKLY: /* the ISO week-numbering year and week, as Proxmox's rule */
                if (strftime(buf, 32, "%G/%V", &tm) == 0)
                        snprintf(buf, 32, "#%zu", index);
                break;
        case HL_KEEP_MONTHLY:
                snprintf(buf, 32, "%d/%d", tm.tm_year, tm.tm_mon);
                break;
        default:
                snprintf(buf, 32, "%d", tm.tm_year);
                break;
        }
}

static int newest_first(const void *a, const void *b) {
        const struct hl_prune_item *x = *(struct hl_prune_item *const *) a, *y = *(struct hl_prune_item *const *) b;

        if (x->time != y->time)
                return x->time > y->time ? -1 : 1;
        return x > y ? -1 : x < y ? 1 : 0;
}

static bool contains(char (*set)[32], size_t n, const char *p) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(set[i], p) == 0)
                        return true;
        return false;
}

int hl_prune(const struct hl_keep *k, struct hl_prune_item *items, size_t n) {
        _cleanup_free_ struct hl_prune_item **order = NULL;
        _cleanup_free_ char(*ids)[32] = NULL;
        _cleanup_free_ char(*kept)[32] = NULL;
        _cleanup_free_ char(*added)[32] = NULL;
        _cleanup_free_ bool *marked = NULL;

        if (n == 0)
                return 0;
        order = calloc(n, sizeof(*order));
        ids = calloc(n, sizeof(*ids));
        kept = calloc(n, sizeof(*kept));
        added = calloc(n, sizeof(*added));
        marked = calloc(n, sizeof(*marked));
        if (!order || !ids || !kept || !added || !marked)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                order[i] = &items[i];
                items[i].rule = -1;
                items[i].mark = items[i].protected ? HL_PRUNE_PROTECTED : k->all ? HL_PRUNE_KEEP : HL_PRUNE_REMOVE;
                marked[i] = items[i].protected || k->all;
        }
        if (k->all)
                return 0;
        qsort(order, n, sizeof(*order), newest_first);
        /* marked[] follows order[] from here. */
        for (size_t i = 0; i < n; i++)
                marked[i] = order[i]->protected;
        for (int r = 0; r < _HL_KEEP_MAX; r++) {
                size_t n_kept = 0, n_added = 0;

                if (!k->count[r])
                        continue;
                for (size_t i = 0; i < n; i++) {
                        period((enum hl_keep_rule) r, order[i]->time, i, ids[i]);
                        /* Periods an earlier rule kept an item of count for this one. */
                        if (order[i]->mark == HL_PRUNE_KEEP && !contains(kept, n_kept, ids[i]))
                                memcpy(kept[n_kept++], ids[i], 32);
                }
                for (size_t i = 0; i < n; i++) {
                        if (marked[i] || contains(kept, n_kept, ids[i]))
                                continue;
                        if (contains(added, n_added, ids[i])) {
                                marked[i] = true; /* an older item of a period kept: removed */
                                continue;
                        }
                        if (n_added >= k->count[r])
                                break;
                        memcpy(added[n_added++], ids[i], 32);
                        order[i]->mark = HL_PRUNE_KEEP;
                        order[i]->rule = r;
                        marked[i] = true;
                }
        }
        return 0;
}
