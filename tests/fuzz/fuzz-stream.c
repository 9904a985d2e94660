/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a session's peer sends (lib/hl-stream): frames cut from any bytes never read past
 * the input, never exceed the payload limit, and account for every byte they take; and any
 * bytes of a console's output come out as text jansson accepts. */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl-stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *buf = (const char *) data;
        size_t off = 0;
        struct hl_stream_frame f;
        size_t used;
        char *text;
        json_t *j;
        int r;

        while ((r = hl_stream_next(buf + off, size - off, &f, &used)) > 0) {
                unsigned rows, cols;
                if (f.len > HL_STREAM_MAX_PAYLOAD || used != HL_STREAM_HEADER + f.len || off + used > size ||
                    f.data != buf + off + HL_STREAM_HEADER)
                        abort();
                if (f.type == HL_STREAM_WINDOW && hl_stream_window_decode(f.data, f.len, &rows, &cols) &&
                    (rows == 0 || cols == 0 || rows > 65535 || cols > 65535))
                        abort();
                off += used;
        }
        if (r < 0 && r != -EBADMSG)
                abort();

        text = hl_stream_clean_text(buf, size);
        if (!text)
                return 0;
        if (strlen(text) > size || strchr(text, '\r'))
                abort();
        j = json_string(text);
        if (!j)
                abort(); /* jansson refused it: not valid UTF-8 */
        json_decref(j);
        free(text);
        return 0;
}
