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

/* For --migrate: one config mapped (its errors and notes printed) and, with a->to, written;
 * the service's name, the definition, the file it is (or the config) and the container's
 * name (the VMID). Returns hlctl's exit status. */
int import_pct_one(const char *config, const struct import_args *a, char **ret_name, char **ret_text, char **ret_file,
                   char **ret_container);
