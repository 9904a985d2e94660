/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Schedule= values come from definitions: the parser never crashes, and a schedule's next
 * time is after the time asked about, within 400 days, and its own next-but-one second
 * earlier (no time the schedule names is skipped). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl-calendar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The input: SCHEDULE \0 then 4 bytes of a time. */
        char *text = malloc(size + 1);
        struct hl_calendar c;
        char *error = NULL;
        size_t off;

        if (!text)
                return 0;
        setenv("TZ", "UTC", 1);
        memcpy(text, data, size);
        text[size] = 0;
        off = strlen(text) + 1;
        if (hl_calendar_parse(text, &c, &error) == 0) {
                uint32_t t = 0;
                int64_t after, next;

                if (off + 4 <= size)
                        memcpy(&t, data + off, 4);
                after = 1700000000 + (int64_t) (t % (10 * 365 * 86400u));
                next = hl_calendar_next(&c, after);
                if (next >= 0 && (next <= after || next - after > 400 * 86400 || hl_calendar_next(&c, next - 1) != next))
                        abort();
        } else if (!error)
                abort();
        free(error);
        free(text);
        return 0;
}
