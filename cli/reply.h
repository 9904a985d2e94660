/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the fields of a reply's parameters for printing. hld may be older or newer than
 * hlctl, so every field is optional: a missing field, or one of the wrong type, reads as
 * absent (NULL or false), and the format_ functions print it as "-". */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

const char *reply_string(json_t *o, const char *key);
bool reply_int(json_t *o, const char *key, int64_t *ret);
json_t *reply_array(json_t *o, const char *key);
json_t *reply_object(json_t *o, const char *key);

/* Each returns buf, or "-" when the field is missing. */
const char *reply_format_int(json_t *o, const char *key, char *buf, size_t size);
/* Milliseconds: "12 ms", "1.5 s", "2m 05s". */
const char *reply_format_duration(json_t *o, const char *key, char *buf, size_t size);
/* A Unix time as "2024-11-27 12:03:04", local time. */
const char *reply_format_time(json_t *o, const char *key, char *buf, size_t size);
/* A Unix time of day, with the date only when it is not today. */
const char *reply_format_clock(int64_t time, char *buf, size_t size);
