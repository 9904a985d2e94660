/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The byte stream of a session (io.hl.Exec, io.hl.Console) after Varlink's "upgrade": the
 * call is answered once, then both sides send frames of one type byte, a 32-bit big-endian
 * length and that many bytes (docs/protocol.md, "Sessions"). Shared by hld's session helper
 * and hlctl; no I/O here, only the cutting and making of frames. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_STREAM_HEADER 5u
/* The largest payload: a bigger length is a broken peer, and the connection is dropped. */
#define HL_STREAM_MAX_PAYLOAD (64u * 1024u)

enum hl_stream_type {
        /* client to hld */
        HL_STREAM_STDIN = 'i',  /* bytes for the command's stdin; an empty one is its end */
        HL_STREAM_WINDOW = 'w', /* the terminal's size: rows, columns (16 bits each, big-endian) */
        HL_STREAM_SIGNAL = 'k', /* one byte: a signal for the command (HUP INT QUIT TERM KILL…) */
        /* hld to client */
        HL_STREAM_STDOUT = 'o',
        HL_STREAM_STDERR = 'e',
        HL_STREAM_EXIT = 'x', /* the end: "exit N" or "signal N" (text) */
};

struct hl_stream_frame {
        enum hl_stream_type type;
        const char *data; /* into the buffer given to hl_stream_next */
        size_t len;
};

/* Writes a frame's header for a payload of len bytes into out[HL_STREAM_HEADER]. */
void hl_stream_header(char out[HL_STREAM_HEADER], enum hl_stream_type type, size_t len);

/* Cuts the first frame off buf[0..len): 1 and the frame (and in *ret_used the bytes it took)
 * when one is complete, 0 when more bytes are needed, -EBADMSG for an unknown type or a
 * length past HL_STREAM_MAX_PAYLOAD. */
int hl_stream_next(const char *buf, size_t len, struct hl_stream_frame *ret, size_t *ret_used);

/* The signals a client may send, by number; false for any other. */
bool hl_stream_signal_allowed(int sig);

/* A window frame's payload, both ways; false when it is not one (len != 4 or a zero size). */
void hl_stream_window_encode(char out[4], unsigned rows, unsigned cols);
bool hl_stream_window_decode(const char *data, size_t len, unsigned *ret_rows, unsigned *ret_cols);

/* A log line's bytes (a console's output: anything) as valid UTF-8 without NUL or carriage
 * returns, which JSON strings can carry: an invalid byte (a stray one, an overlong form, a
 * surrogate) becomes '?'. malloc'd; NULL on ENOMEM. */
char *hl_stream_clean_text(const char *s, size_t n);
