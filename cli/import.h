/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hlctl import pct: Proxmox container configs turned into definitions, on the client (no
 * container is touched, so hld is not asked). */

#include <stdbool.h>

struct import_args {
        const char *to;       /* write DIR/NAME.conf, or NULL: print them */
        const char *template; /* Template= of every definition */
        const char *name;     /* the service name, with one config only */
        const char *pve_root; /* where /etc/pve is */
        bool json;
};

/* configs: VMIDs (PVE_ROOT/lxc/VMID.conf) or paths. Returns hlctl's exit status. */
int import_pct(char **configs, int n, const struct import_args *a);
