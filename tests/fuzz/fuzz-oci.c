/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An OCI image's index, manifest and config are the image's, and may be hostile: the
 * parsers never crash, always say why they refuse, and what they accept holds what hld
 * relies on (digests of the one algorithm, lines without newlines, NAME=VALUE, a signal). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl-oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *json = (const char *) data;
        char *error = NULL, *digest = NULL;
        struct hl_oci_manifest m = {};
        struct hl_oci_config c = {};
        const char *hidden = NULL;
        char name[64];

        if (hl_oci_index_find(json, size, size % 2 ? "v1" : NULL, &digest, &error) == 0) {
                if (!hl_oci_digest_is_valid(digest))
                        abort();
                free(digest);
        } else if (!error)
                abort();
        free(error);
        error = NULL;

        if (hl_oci_manifest_parse(json, size, &m, &error) == 0) {
                if (!hl_oci_digest_is_valid(m.config_digest) || m.n_layers == 0 || m.n_layers > HL_OCI_MAX_LAYERS)
                        abort();
                for (size_t i = 0; i < m.n_layers; i++)
                        if (!hl_oci_digest_is_valid(m.layers[i].digest) || m.layers[i].size < 0)
                                abort();
                hl_oci_manifest_done(&m);
        } else if (!error)
                abort();
        free(error);
        error = NULL;

        if (hl_oci_config_parse(json, size, "amd64", &c, &error) == 0) {
                if (!c.argv || !c.argv[0] || c.stop_signal < 0 || c.stop_signal > 64)
                        abort();
                for (char **a = c.argv; *a; a++)
                        if (strpbrk(*a, "\n\r"))
                                abort();
                for (char **e = c.env; e && *e; e++)
                        if (!strchr(*e, '=') || **e == '=' || strpbrk(*e, "\n\r"))
                                abort();
                if (c.cwd && c.cwd[0] != '/')
                        abort();
                hl_oci_config_done(&c);
        } else if (!error)
                abort();
        free(error);

        /* The small ones: a signal's name, a whiteout's. */
        snprintf(name, sizeof(name), "%.*s", (int) (size < 40 ? size : 40), json);
        if (hl_oci_signal(name) > 64)
                abort();
        if (hl_oci_whiteout(name, &hidden) == 1 && (!hidden || !*hidden))
                abort();
        return 0;
}
