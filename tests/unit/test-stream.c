/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The frames of a session (lib/hl-stream): cut whole, in pieces and broken; and the text
 * of log lines made fit for JSON. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hl-stream.h"
#include "test.h"

TEST(frames_round_trip_whole_and_in_pieces) {
        char buf[64];
        struct hl_stream_frame f;
        size_t used = 0;

        hl_stream_header(buf, HL_STREAM_STDOUT, 5);
        memcpy(buf + HL_STREAM_HEADER, "hello", 5);
        /* Every prefix is "more needed", never a frame or an error. */
        for (size_t n = 0; n < HL_STREAM_HEADER + 5; n++)
                ASSERT_INT_EQ(hl_stream_next(buf, n, &f, &used), 0);
        ASSERT_INT_EQ(hl_stream_next(buf, HL_STREAM_HEADER + 5, &f, &used), 1);
        ASSERT_TRUE(f.type == HL_STREAM_STDOUT && f.len == 5 && memcmp(f.data, "hello", 5) == 0);
        ASSERT_INT_EQ((int) used, (int) HL_STREAM_HEADER + 5);
        /* An empty stdin frame is the end of stdin. */
        hl_stream_header(buf, HL_STREAM_STDIN, 0);
        ASSERT_INT_EQ(hl_stream_next(buf, HL_STREAM_HEADER, &f, &used), 1);
        ASSERT_TRUE(f.type == HL_STREAM_STDIN && f.len == 0);
}

TEST(broken_frames_are_refused) {
        char buf[HL_STREAM_HEADER] = { 'z', 0, 0, 0, 1 };
        struct hl_stream_frame f;
        size_t used;

        ASSERT_INT_EQ(hl_stream_next(buf, 1, &f, &used), -EBADMSG); /* an unknown type at once */
        hl_stream_header(buf, HL_STREAM_STDERR, HL_STREAM_MAX_PAYLOAD + 1);
        ASSERT_INT_EQ(hl_stream_next(buf, sizeof(buf), &f, &used), -EBADMSG);
        hl_stream_header(buf, HL_STREAM_STDERR, HL_STREAM_MAX_PAYLOAD);
        ASSERT_INT_EQ(hl_stream_next(buf, sizeof(buf), &f, &used), 0);
}

TEST(windows_and_signals) {
        char w[4];
        unsigned rows = 0, cols = 0;

        hl_stream_window_encode(w, 45, 132);
        ASSERT_TRUE(hl_stream_window_decode(w, 4, &rows, &cols));
        ASSERT_TRUE(rows == 45 && cols == 132);
        ASSERT_TRUE(!(hl_stream_window_decode(w, 3, &rows, &cols)));
        hl_stream_window_encode(w, 0, 80);
        ASSERT_TRUE(!(hl_stream_window_decode(w, 4, &rows, &cols)));
        ASSERT_TRUE(hl_stream_signal_allowed(SIGINT) && hl_stream_signal_allowed(SIGWINCH));
        ASSERT_TRUE(!(hl_stream_signal_allowed(SIGSEGV) || hl_stream_signal_allowed(0) || hl_stream_signal_allowed(200)));
}

TEST(log_text_is_valid_utf8_for_json) {
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } cases[] = {
                { "plain line", 10, "plain line" },
                { "crlf\r", 5, "crlf" },
                { "caf\xc3\xa9", 5, "caf\xc3\xa9" },
                { "bad \xff byte", 10, "bad ? byte" },
                { "overlong \xc0\xaf", 11, "overlong ??" },
                { "surrogate \xed\xa0\x80", 13, "surrogate ???" },
                { "cut \xe2\x82", 6, "cut ??" },
                { "nul\0in", 6, "nulin" },
                { "\x1b[31mred\x1b[0m", 12, "\x1b[31mred\x1b[0m" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *c = hl_stream_clean_text(cases[i].in, cases[i].len);
                json_t *j = json_string(c);
                ASSERT_STR_EQ(c, cases[i].out);
                ASSERT_TRUE(j != NULL); /* jansson takes it */
                json_decref(j);
                free(c);
        }
}
