/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keep= values come from definitions, and the timelines from whatever is in a backup
 * directory: the parser never crashes and formats what it read back to the same rules,
 * and pruning any timeline keeps its promises (protected items kept, no rule keeps more
 * than its count, the newest unprotected item kept by some rule). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl-retention.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The input: KEEP \0 then 5 bytes an item (a time in hours, a protected flag). */
        char *text = malloc(size + 1);
        struct hl_prune_item items[64] = {};
        struct hl_keep k, again;
        char *error = NULL, *formatted;
        size_t off, n = 0, kept[_HL_KEEP_MAX] = {}, newest = 0;
        bool any_rule = false;

        if (!text)
                return 0;
        setenv("TZ", "UTC", 1);
        memcpy(text, data, size);
        text[size] = 0;
        off = strlen(text) + 1;
        if (hl_keep_parse(text, &k, &error) < 0) {
                if (!error)
                        abort(); /* an error always says why */
                free(error);
                free(text);
                return 0;
        }
        formatted = hl_keep_format(&k);
        if (!formatted || hl_keep_parse(formatted, &again, NULL) < 0 || memcmp(&k, &again, sizeof(k)) != 0)
                abort();
        free(formatted);
        for (; off + 5 <= size && n < 64; off += 5, n++) {
                uint32_t hours;

                memcpy(&hours, data + off, 4);
                items[n].time = 1700000000 + (int64_t) (hours % 200000) * 3600;
                items[n].protected = data[off + 4] & 1;
        }
        if (hl_prune(&k, items, n) < 0)
                abort();
        for (int r = 0; r < _HL_KEEP_MAX; r++)
                any_rule = any_rule || k.count[r] > 0;
        for (size_t i = 0; i < n; i++) {
                if (items[i].protected != (items[i].mark == HL_PRUNE_PROTECTED))
                        abort();
                if (items[i].mark == HL_PRUNE_KEEP && items[i].rule >= 0)
                        kept[items[i].rule]++;
                if (!items[i].protected && (items[newest].protected || items[i].time >= items[newest].time))
                        newest = i;
        }
        for (int r = 0; r < _HL_KEEP_MAX; r++)
                if (kept[r] > k.count[r])
                        abort();
        if (n && !items[newest].protected && (any_rule || k.all) && items[newest].mark != HL_PRUNE_KEEP)
                abort();
        free(text);
        return 0;
}
