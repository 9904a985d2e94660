/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bytes from any local client: cut into frames with a small limit, decoded as calls and
 * through a dispatch table, as control.c and methods.c do. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hl-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct args {
        const char *name;
        const char *text;
        int64_t since;
        bool prune;
        json_t *definitions;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct args, name), false },
                { "text", HL_FIELD_TEXT, offsetof(struct args, text), false },
                { "since", HL_FIELD_INT, offsetof(struct args, since), false },
                { "prune", HL_FIELD_BOOL, offsetof(struct args, prune), false },
                { "definitions", HL_FIELD_ARRAY, offsetof(struct args, definitions), false },
                {},
        };
        struct hl_framer f;
        char *frame;
        size_t half = size / 2;

        hl_framer_init(&f, 4096);
        /* In two pieces, as a stream delivers them. */
        if (hl_framer_append(&f, data, half) >= 0 && hl_framer_append(&f, data + half, size - half) >= 0)
                while (hl_framer_next(&f, &frame) > 0) {
                        struct hl_call call;
                        const char *reason, *bad;
                        struct args a = {};
                        size_t len;

                        /* -ERANGE (a number too large) leaves nothing to free. */
                        if (hl_call_parse(frame, &call, &reason) >= 0) {
                                hl_json_dispatch(call.parameters, table, &a, &bad);
                                free(hl_reply_encode(call.parameters, call.more, &len));
                                hl_call_done(&call);
                        }
                        free(frame);
                }
        hl_framer_done(&f);
        return 0;
}
