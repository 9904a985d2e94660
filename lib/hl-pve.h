/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Proxmox VE's storage configuration (/etc/pve/storage.cfg, PVE::SectionConfig's format)
 * and the template volumes pct users write: `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`
 * is the file template/cache/FILE under the path of the directory storage `local`. No I/O. */

#include <stdbool.h>
#include <stddef.h>

#include "hl-ini.h"

#define HL_PVE_STORAGE_MAX (1024u * 1024u)

struct hl_pve_storage {
        char *type;    /* dir, nfs, lvmthin, zfspool, … */
        char *id;      /* local */
        char *path;    /* the path property, or NULL */
        char **content; /* strv: vztmpl, iso, rootdir, … (NULL: none given) */
        bool disabled;
};

struct hl_pve_storages {
        struct hl_pve_storage *items;
        size_t n;
};

/* Every storage of the file; every error (FILE:LINE: key: why) in errors. -EINVAL,
 * -ENOMEM or 0. */
int hl_pve_storage_parse(const char *file, const char *text, size_t len, struct hl_pve_storages *ret,
                         struct hl_errors *errors);
void hl_pve_storages_done(struct hl_pve_storages *s);

/* Whether value has the shape STORAGE:vztmpl/FILE (a storage id, one file name). */
bool hl_pve_is_template_volume(const char *value);

/* The file a template volume names, through storages; -ENOENT, -EINVAL and a sentence
 * saying why otherwise (an unknown storage, one of another type, disabled, or one that
 * holds no container templates). */
int hl_pve_template_path(const struct hl_pve_storages *s, const char *volume, char **ret_path, char **ret_error);
