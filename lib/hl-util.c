/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hl-util.h"

char *hl_strdup_vprintf(const char *fmt, va_list ap) {
        char *s;

        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *hl_strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = hl_strdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

int hl_fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

char *hl_next_line(char **cursor) {
        char *line = *cursor, *end;

        if (!line || !*line)
                return NULL;
        end = strchr(line, '\n');
        if (end)
                *end++ = 0;
        *cursor = end;
        return line;
}

void hl_text_add(struct hl_text *t, const char *fmt, ...) {
        va_list ap;
        int n;

        if (t->failed)
                return;
        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->failed = true;
                        return;
                }
                if (t->buf && t->len + (size_t) n < t->cap) {
                        t->len += (size_t) n;
                        return;
                }
                char *p = realloc(t->buf, (t->cap + (size_t) n + 1) * 2);
                if (!p) {
                        t->failed = true;
                        return;
                }
                t->buf = p;
                t->cap = (t->cap + (size_t) n + 1) * 2;
        }
}

char *hl_text_take(struct hl_text *t) {
        char *s = t->buf;

        if (t->failed) {
                free(s);
                s = NULL;
        } else if (!s)
                s = strdup("");
        *t = (struct hl_text) {};
        return s;
}

char **hl_strv_free(char **v) {
        if (!v)
                return NULL;
        for (char **i = v; *i; i++)
                free(*i);
        free(v);
        return NULL;
}

size_t hl_strv_length(char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

char **hl_strv_split(const char *s, const char *separators) {
        char **v = calloc(1, sizeof(char *));
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;

        if (!v || !copy) {
                free(v);
                return NULL;
        }
        for (char *w = strtok_r(copy, separators, &save); w; w = strtok_r(NULL, separators, &save))
                if (hl_strv_push(&v, w) < 0)
                        return hl_strv_free(v);
        return v;
}

int hl_strv_push(char ***v, const char *s) {
        size_t n = hl_strv_length(*v);
        char **nv;
        char *copy;

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        nv = realloc(*v, sizeof(char *) * (n + 2));
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[n] = copy;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

bool hl_strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

bool hl_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > HL_NAME_MAX || name[0] == '-' || name[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
                      name[i] == '-'))
                        return false;
        /* All digits is a Proxmox VMID: a container hld never owns by that name. */
        return strspn(name, "0123456789") < n;
}

bool hl_snapshot_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > HL_SNAPSHOT_NAME_MAX || strcmp(name, "current") == 0 ||
            !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
                      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_'))
                        return false;
        return true;
}

int hl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Splits "123abc" into the number and the suffix that follows it. */
static int parse_number_prefix(const char **p, uint64_t *ret) {
        uint64_t v = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        *ret = v;
        return 0;
}

/* An optional fraction after the integer part: ".25" gives 25 / 100. Digits past the 18th
 * are dropped (they are below any unit's resolution). */
static int parse_fraction(const char **p, uint64_t *ret_num, uint64_t *ret_den) {
        const char *s = *p;
        uint64_t num = 0, den = 1;

        if (*s != '.')
                return 0;
        s++;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++)
                if (den < UINT64_C(1000000000000000000)) {
                        num = num * 10 + (uint64_t) (*s - '0');
                        den *= 10;
                }
        *p = s;
        *ret_num = num;
        *ret_den = den;
        return 0;
}

int hl_parse_size(const char *s, uint64_t *ret) {
        static const char units[] = "KMGT";
        const char *p = s;
        uint64_t v, num = 0, den = 1, factor = 1;
        unsigned __int128 total;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_number_prefix(&p, &v);
        if (r < 0)
                return r;
        r = parse_fraction(&p, &num, &den);
        if (r < 0)
                return r;
        /* As systemd: "512 M" is "512M". */
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p && *p != 'B' && *p != 'b') {
                const char *u = strchr(units, toupper((unsigned char) *p));
                if (!u || !*u)
                        return -EINVAL;
                for (const char *i = units; i <= u; i++)
                        factor *= 1024;
                p++;
        }
        if (*p == 'B' || *p == 'b')
                p++;
        if (*p)
                return -EINVAL;
        /* A fraction of a byte is no size. */
        if (num > 0 && factor == 1)
                return -EINVAL;
        total = (unsigned __int128) v * factor + (unsigned __int128) num * factor / den;
        if (total > UINT64_MAX)
                return -ERANGE;
        *ret = (uint64_t) total;
        return 0;
}

const char *hl_format_size(uint64_t bytes, char *buf, size_t size) {
        static const char units[] = "KMGT";
        int exp = 0;
        uint64_t v = bytes;

        while (exp < 4 && v >= 1024 && v % 1024 == 0) {
                v /= 1024;
                exp++;
        }
        if (exp == 0 && bytes >= 1024) {
                /* Not an exact multiple: one decimal of the largest fitting unit. */
                double d = (double) bytes;
                while (exp < 4 && d >= 1024) {
                        d /= 1024;
                        exp++;
                }
                snprintf(buf, size, "%.1f%c", d, units[exp - 1]);
                return buf;
        }
        if (exp == 0)
                snprintf(buf, size, "%" PRIu64, v);
        else
                snprintf(buf, size, "%" PRIu64 "%c", v, units[exp - 1]);
        return buf;
}

/* The units of systemd.time(7), in microseconds; "m" is a minute and "M" a month. */
static uint64_t time_unit_us(const char *p, size_t len) {
        static const struct {
                const char *name;
                uint64_t us;
        } table[] = {
                { "us", 1 },
                { "usec", 1 },
                { "ms", 1000 },
                { "msec", 1000 },
                { "s", 1000000 },
                { "sec", 1000000 },
                { "second", 1000000 },
                { "seconds", 1000000 },
                { "m", 60000000 },
                { "min", 60000000 },
                { "minute", 60000000 },
                { "minutes", 60000000 },
                { "h", 3600000000 },
                { "hr", 3600000000 },
                { "hour", 3600000000 },
                { "hours", 3600000000 },
                { "d", 86400000000 },
                { "day", 86400000000 },
                { "days", 86400000000 },
                { "w", 604800000000 },
                { "week", 604800000000 },
                { "weeks", 604800000000 },
                { "M", 2629800000000 },
                { "month", 2629800000000 },
                { "months", 2629800000000 },
                { "y", 31557600000000 },
                { "year", 31557600000000 },
                { "years", 31557600000000 },
        };

        for (size_t i = 0; i < HL_ELEMENTSOF(table); i++)
                if (strlen(table[i].name) == len && strncmp(p, table[i].name, len) == 0)
                        return table[i].us;
        return 0;
}

int hl_parse_duration_ms(const char *s, uint64_t *ret) {
        const char *p = s;
        unsigned __int128 total = 0;
        bool first = true;
        int r;

        if (!s)
                return -EINVAL;
        while (*p == ' ' || *p == '\t')
                p++;
        if (!*p)
                return -EINVAL;
        while (*p) {
                uint64_t v, num = 0, den = 1, unit;
                size_t len;

                r = parse_number_prefix(&p, &v);
                if (r < 0)
                        return r;
                r = parse_fraction(&p, &num, &den);
                if (r < 0)
                        return r;
                while (*p == ' ' || *p == '\t')
                        p++;
                len = strspn(p, "abcdefghijklmnopqrstuvwxyzM");
                if (len == 0) {
                        /* A bare number is seconds, when it is all there is. */
                        if (!first || *p)
                                return -EINVAL;
                        unit = 1000000;
                } else if (!(unit = time_unit_us(p, len)))
                        return -EINVAL;
                p += len;
                while (*p == ' ' || *p == '\t')
                        p++;
                total += (unsigned __int128) v * unit + (unsigned __int128) num * unit / den;
                if (total / 1000 > UINT64_MAX)
                        return -ERANGE;
                first = false;
        }
        *ret = (uint64_t) (total / 1000);
        return 0;
}

int hl_parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "1", "on" };
        static const char *const no[] = { "no", "false", "0", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < HL_ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int hl_path_normalize(const char *path, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;
        const char *p = path;

        if (!path || path[0] != '/')
                return -EINVAL;
        out = malloc(strlen(path) + 2);
        if (!out)
                return -ENOMEM;
        while (*p) {
                size_t len;

                while (*p == '/')
                        p++;
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                out[n++] = '/';
                memcpy(out + n, p, len);
                n += len;
                p += len;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

int hl_read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        /* O_NONBLOCK: opening a FIFO would wait for a writer; it is refused below instead. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        for (;;) {
                ssize_t n;

                if (len + 4096 + 1 > cap) {
                        char *p;
                        cap = (len + 4096 + 1) * 2;
                        p = realloc(buf, cap);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        if (!buf && !(buf = calloc(1, 1)))
                return -ENOMEM;
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int64_t hl_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hl_write_all(int fd, const void *data, size_t len, int timeout_ms) {
        const char *p = data;
        bool is_socket = true;

        while (len > 0) {
                ssize_t n = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);

                if (n < 0 && errno == ENOTSOCK && is_socket) {
                        is_socket = false;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                        int r = poll(&pfd, 1, timeout_ms);
                        if (r == 0)
                                return -ETIMEDOUT;
                        if (r < 0 && errno != EINTR)
                                return -errno;
                        continue;
                }
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EPIPE;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}
