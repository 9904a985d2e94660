/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /etc/network/interfaces and /etc/init.d/rcS come from inside a container, whose root may
 * be hostile: whatever they hold, hld's rewrite of them is safe, keeps hld's own block
 * once, and is stable when written over itself. The spec half is read with guest_parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* The input: SPEC \0 FILE. */
        char *text = malloc(size + 1);
        const char *file;
        struct guest_net net = {};
        char *error = NULL;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        file = text + strlen(text) + (strlen(text) < size ? 1 : 0);
        if (guest_parse(text, &net, &error) == 0) {
                char *once = guest_ifupdown(file, &net), *twice = once ? guest_ifupdown(once, &net) : NULL;

                if (once && twice && strcmp(once, twice) != 0)
                        abort(); /* written again, it must not change */
                free(once);
                free(twice);
                for (size_t i = 0; i < net.n_ifaces; i++)
                        free(guest_networkd(&net.ifaces[i], &net));
                free(guest_busybox_script(&net));
                free(guest_resolv_conf(&net));
        }
        free(guest_busybox_rcs(file));
        free(error);
        guest_net_done(&net);
        free(text);
        return 0;
}
