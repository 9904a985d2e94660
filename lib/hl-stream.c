/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl-stream.h"

void hl_stream_header(char out[HL_STREAM_HEADER], enum hl_stream_type type, size_t len) {
        out[0] = (char) type;
        out[1] = (char) (len >> 24);
        out[2] = (char) (len >> 16);
        out[3] = (char) (len >> 8);
        out[4] = (char) len;
}

static bool type_known(unsigned char t) {
        switch (t) {
        case HL_STREAM_STDIN:
        case HL_STREAM_WINDOW:
        case HL_STREAM_SIGNAL:
        case HL_STREAM_STDOUT:
        case HL_STREAM_STDERR:
        case HL_STREAM_EXIT:
                return true;
        default:
                return false;
        }
}

int hl_stream_next(const char *buf, size_t len, struct hl_stream_frame *ret, size_t *ret_used) {
        const unsigned char *b = (const unsigned char *) buf;
        uint32_t n;

        if (len < 1)
                return 0;
        if (!type_known(b[0]))
                return -EBADMSG;
        if (len < HL_STREAM_HEADER)
                return 0;
        n = (uint32_t) b[1] << 24 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 8 | b[4];
        if (n > HL_STREAM_MAX_PAYLOAD)
                return -EBADMSG;
        if (len - HL_STREAM_HEADER < n)
                return 0;
        *ret = (struct hl_stream_frame) { .type = (enum hl_stream_type) b[0], .data = buf + HL_STREAM_HEADER, .len = n };
        *ret_used = HL_STREAM_HEADER + n;
        return 1;
}

bool hl_stream_signal_allowed(int sig) {
        static const int allowed[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGKILL, SIGUSR1, SIGUSR2,
                                       SIGCONT, SIGSTOP, SIGTSTP, SIGWINCH };

        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                if (allowed[i] == sig)
                        return true;
        return false;
}

void hl_stream_window_encode(char out[4], unsigned rows, unsigned cols) {
        out[0] = (char) (rows >> 8);
        out[1] = (char) rows;
        out[2] = (char) (cols >> 8);
        out[3] = (char) cols;
}

bool hl_stream_window_decode(const char *data, size_t len, unsigned *ret_rows, unsigned *ret_cols) {
        const unsigned char *b = (const unsigned char *) data;
        unsigned rows, cols;

        if (len != 4)
                return false;
        rows = (unsigned) b[0] << 8 | b[1];
        cols = (unsigned) b[2] << 8 | b[3];
        if (rows == 0 || cols == 0)
                return false;
        *ret_rows = rows;
        *ret_cols = cols;
        return true;
}

char *hl_stream_clean_text(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;
        size_t i = 0;

        if (!out)
                return NULL;
        while (i < n) {
                unsigned char c = (unsigned char) s[i];
                size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
                bool ok = len > 0 && i + len <= n;

                for (size_t k = 1; ok && k < len; k++)
                        ok = ((unsigned char) s[i + k] >> 6) == 2;
                if (ok && len > 1) {
                        /* No overlong forms or surrogates: what jansson refuses. */
                        uint32_t cp = len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
                        for (size_t k = 1; k < len; k++)
                                cp = cp << 6 | ((unsigned char) s[i + k] & 0x3fu);
                        ok = (len == 2 && cp >= 0x80) || (len == 3 && cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) ||
                             (len == 4 && cp >= 0x10000 && cp <= 0x10ffff);
                }
                if (!ok) {
                        *o++ = '?';
                        i++;
                } else if (c == '\r' || c == 0) {
                        i++;
                } else {
                        memcpy(o, s + i, len);
                        o += len;
                        i += len;
                }
        }
        *o = 0;
        return out;
}

