/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "reply.h"

const char *reply_string(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? json_string_value(v) : NULL;
}

bool reply_int(json_t *o, const char *key, int64_t *ret) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                return false;
        *ret = (int64_t) json_integer_value(v);
        return true;
}

json_t *reply_array(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_array(v) ? v : NULL;
}

json_t *reply_object(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_object(v) ? v : NULL;
}

const char *reply_format_int(json_t *o, const char *key, char *buf, size_t size) {
        int64_t v;

        if (!reply_int(o, key, &v))
                return "-";
        snprintf(buf, size, "%" PRId64, v);
        return buf;
}

const char *reply_format_duration(json_t *o, const char *key, char *buf, size_t size) {
        int64_t ms;

        if (!reply_int(o, key, &ms) || ms < 0)
                return "-";
        if (ms < 1000)
                snprintf(buf, size, "%" PRId64 " ms", ms);
        else if (ms < 60 * 1000)
                snprintf(buf, size, "%.1f s", (double) ms / 1000.0);
        else
                snprintf(buf, size, "%" PRId64 "m %02" PRId64 "s", ms / 60000, ms / 1000 % 60);
        return buf;
}

const char *reply_format_time(json_t *o, const char *key, char *buf, size_t size) {
        int64_t v;
        time_t t;
        struct tm tm;

        if (!reply_int(o, key, &v))
                return "-";
        t = (time_t) v;
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return "-";
        return buf;
}

const char *reply_format_clock(int64_t v, char *buf, size_t size) {
        time_t t = (time_t) v, now = time(NULL);
        struct tm tm, today;

        if (!localtime_r(&t, &tm) || !localtime_r(&now, &today))
                return "-";
        if (strftime(buf, size,
                     tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S",
                     &tm) == 0)
                return "-";
        return buf;
}
