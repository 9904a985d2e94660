/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Definition files come from users and from scripts: any bytes must give a definition or a
 * file:line error, and a definition must survive its canonical form and its ordering. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hl-def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct hl_def *def = NULL;
        struct hl_def_error e = {};
        char message[1024], hash[65];
        size_t order[1];

        struct hl_errors errors = {};

        if (hl_def_parse_all("fuzz", "fuzz.conf", (const char *) data, size, &def, &errors) < 0) {
                for (size_t i = 0; i < errors.n; i++)
                        hl_def_error_format(&errors.items[i], message, sizeof(message));
                hl_errors_done(&errors);
                return 0;
        }
        json_decref(hl_def_to_json(def));
        hl_def_hash(def, hash);
        hl_def_order(&def, 1, order, &e);
        hl_def_free(def);
        return 0;
}
