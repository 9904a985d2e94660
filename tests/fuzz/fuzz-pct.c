/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Proxmox container configs come from another system's files: the importer never crashes,
 * always says why it refuses, and what it accepts is a definition hl's own parser accepts,
 * with every key of the file given a fate. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl-def.h"
#include "hl-pct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct hl_pct_options o = { .vmid = "100", .template = "busybox", .arch = "amd64" };
        struct hl_pct *p = NULL;
        struct hl_errors e = {};
        struct hl_def *def = NULL;
        struct hl_def_error de = {};
        int r = hl_pct_import("100.conf", (const char *) data, size, &o, &p, &e);

        if (r == -EINVAL) {
                if (e.n == 0 || p)
                        abort(); /* a refusal always says why, and makes nothing */
        } else if (r == 0) {
                if (e.n != 0 || !p || hl_def_parse(p->name, "x.conf", p->definition, strlen(p->definition), &def, &de) < 0)
                        abort();
                for (size_t i = 0; i < p->n_keys; i++)
                        if (p->keys[i].fate != HL_PCT_MAPPED && !p->keys[i].why)
                                abort(); /* what is lost or left out is said */
                json_decref(hl_pct_to_json(p));
                /* Ordered with a peer of order 0 (its startup order, if any, then gives an
                 * After=): still a definition. */
                {
                        struct hl_pct *peers[2] = { p, NULL };
                        struct hl_errors pe = {};
                        hl_def_free(TAKE_PTR(def));
                        static const char peer[] = "hostname: peer-ct\nstartup: order=0\n";
                        if (hl_pct_import("101.conf", peer, strlen(peer), &o, &peers[1], &pe) < 0 ||
                            hl_pct_order(peers, 2) < 0 ||
                            hl_def_parse(p->name, "x.conf", p->definition, strlen(p->definition), &def, &de) < 0)
                                abort();
                        hl_pct_free(peers[1]);
                        hl_errors_done(&pe);
                }
        } else if (r != -ENOMEM)
                abort();
        /* The lenient reader of status --all: any text, a name it can print or none. */
        {
                char *name = NULL;
                bool onboot;
                if (hl_pve_guest_summary((const char *) data, size, &name, &onboot) == 0 && name &&
                    (strlen(name) >= 256 || strchr(name, '\n')))
                        abort();
                free(name);
        }
        hl_def_free(def);
        hl_pct_free(p);
        hl_errors_done(&e);
        return 0;
}
