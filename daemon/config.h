/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hl-config.h"

/* hld's settings: hld.conf's [Daemon] and the command line. */
struct config {
        char *state_dir;
        char *lxcpath;
        char *socket_path;
        char *readonly_socket_path; /* "" = none */
        char *admin_group;
        unsigned jobs;
        uint64_t reconcile_interval_ms;
        unsigned stop_timeout_s;
        char *metrics_file;          /* Prometheus text file, NULL = none */
        uint64_t health_retention_ms;
        uint64_t idle_timeout_ms; /* a client with no complete call for this long is closed */
        char *pve_root;           /* Proxmox's /etc/pve, for Template=STORAGE:vztmpl/FILE */
        char *pve_lxcpath;        /* where pct's containers are (status --all) */
};

#define HLD_DEFAULT_CONFIG HL_SYSCONFDIR "/hl/hld.conf"
#define HLD_DEFAULT_STATE_DIR "/var/lib/hld"
#define HLD_DEFAULT_ADMIN_GROUP "hl"

void config_defaults(struct config *c);
void config_done(struct config *c);
/* Reads FILE's [Daemon] section over c. A missing file is fine unless required. Errors
 * are printed as file:line: key: reason. */
int config_load(struct config *c, const char *path, bool required);
/* Sets one key as the config file would; the command line takes the same keys. */
int config_set(struct config *c, const char *key, const char *value, const char **ret_reason);
