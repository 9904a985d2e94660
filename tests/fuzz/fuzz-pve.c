/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage.cfg comes from the Proxmox cluster's filesystem, template volumes from
 * definitions: the parser never crashes and always says why it refuses, and a volume it
 * resolves is a file under its storage's path, never outside it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl-pve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The input: VOLUME \n STORAGE.CFG */
        const uint8_t *nl = memchr(data, '\n', size);
        struct hl_pve_storages s = {};
        struct hl_errors e = {};
        char *volume, *path = NULL, *error = NULL;
        int r;

        if (!nl)
                return 0;
        volume = strndup((const char *) data, (size_t) (nl - data));
        if (!volume)
                return 0;
        r = hl_pve_storage_parse("storage.cfg", (const char *) nl + 1, size - (size_t) (nl - data) - 1, &s, &e);
        if (r < 0 && r != -12 && e.n == 0)
                abort();
        if (r == 0) {
                if (hl_pve_template_path(&s, volume, &path, &error) == 0) {
                        const char *colon = strchr(volume, ':');
                        if (!path || !hl_pve_is_template_volume(volume) || strstr(path, "/../") ||
                            strcmp(strrchr(path, '/') + 1, colon + 8) != 0)
                                abort();
                } else if (!error)
                        abort();
        }
        free(path);
        free(error);
        free(volume);
        hl_pve_storages_done(&s);
        hl_errors_done(&e);
        return 0;
}
