/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl-macro.h"

/* Allocating printf; NULL on ENOMEM. */
char *hl_strdup_printf(const char *fmt, ...) HL_PRINTF(1, 2);
char *hl_strdup_vprintf(const char *fmt, va_list ap) HL_PRINTF(1, 0);

/* Sets *ret_error (when asked for and not set yet) to the formatted sentence, and returns
 * r: the first error of a chain of calls is the one the caller sees. */
int hl_fail(char **ret_error, int r, const char *fmt, ...) HL_PRINTF(3, 4);

/* The next line of the text at *cursor, cut off in place (its newline becomes the NUL), and
 * *cursor moved past it; NULL at the end of the text. */
char *hl_next_line(char **cursor);

/* A growing string. Appends after an allocation failure do nothing; hl_text_take then
 * returns NULL. */
struct hl_text {
        char *buf;
        size_t len, cap;
        bool failed;
};
void hl_text_add(struct hl_text *t, const char *fmt, ...) HL_PRINTF(2, 3);
/* The text, malloc'd ("" when nothing was added), or NULL when an append failed. */
char *hl_text_take(struct hl_text *t);

/* A NULL-terminated array of strings. */
char **hl_strv_free(char **v);
HL_DEFINE_FREEP(char *, hl_strv_free)
size_t hl_strv_length(char *const *v);
int hl_strv_push(char ***v, const char *s);
/* The non-empty parts of s between any of separators; NULL only when out of memory. */
char **hl_strv_split(const char *s, const char *separators);
bool hl_strv_contains(char *const *v, const char *s);

/* Service names follow hostname label rules: [a-z0-9-], 1..HL_NAME_MAX characters, no
 * leading or trailing '-', not all digits (Proxmox's VMIDs). */
#define HL_NAME_MAX 63
bool hl_name_is_valid(const char *name);

/* Snapshot names are Proxmox's: a letter, then letters, digits, '_' and '-', up to
 * HL_SNAPSHOT_NAME_MAX characters; "current" is taken (pct's word for the container as it
 * is). They are directory names under the container's snaps/. */
#define HL_SNAPSHOT_NAME_MAX 40
bool hl_snapshot_name_is_valid(const char *name);

/* "512M", "1.5G", "512 M", "1048576": bytes, base 1024, suffixes K M G T (an optional
 * trailing B), a decimal fraction with a suffix, as systemd's sizes. Fractions of a byte
 * are rounded down. -EINVAL on anything else, -ERANGE on overflow. */
int hl_parse_size(const char *s, uint64_t *ret);
/* Formats bytes as the shortest exact "512M"-style string into buf. */
const char *hl_format_size(uint64_t bytes, char *buf, size_t size);

/* Time spans as systemd.time(7) writes them: "30s", "1m 30s", "1.5s", "1h30min", "2d",
 * "250ms"; a bare number alone is seconds. Result in milliseconds, rounded down. */
int hl_parse_duration_ms(const char *s, uint64_t *ret);

/* "yes/no/true/false/1/0/on/off". */
int hl_parse_bool(const char *s, bool *ret);

/* Unsigned decimal in [min, max]. */
int hl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* An absolute path with no "." or ".." components and no empty components after
 * normalization of repeated and trailing slashes. Writes the normalized copy. */
int hl_path_normalize(const char *path, char **ret);

/* SHA-256 of data, as 64 lowercase hex characters plus NUL in ret. */
void hl_sha256_hex(const void *data, size_t len, char ret[65]);
/* The same over data that comes in pieces (an OCI layer of 100 MB). */
struct hl_sha256 {
        uint32_t h[8];
        uint8_t buf[64];
        size_t n;
        uint64_t total;
};
void hl_sha256_init(struct hl_sha256 *c);
void hl_sha256_update(struct hl_sha256 *c, const void *data, size_t len);
void hl_sha256_final_hex(struct hl_sha256 *c, char ret[65]);

/* Reads a whole regular file of at most max bytes with open/read (no stdio),
 * NUL-terminated. -EFBIG when larger, -EBADFD when it is no regular file (a FIFO, a
 * device, a directory: never waited on). */
int hl_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Writes all of data to fd (a socket without SIGPIPE, or a pipe or file), waiting while it
 * is full, each time up to timeout_ms (-1: for ever): 0, -ETIMEDOUT, or -errno. */
int hl_write_all(int fd, const void *data, size_t len, int timeout_ms);

/* The wall clock in Unix milliseconds, as the database keeps times. */
int64_t hl_now_ms(void);
