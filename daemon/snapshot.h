/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Snapshots of a container, the other half of the liblxc adapter (ct.h). They are liblxc's
 * own: a directory under the container's snaps/ that lxc-snapshot -L lists and -r
 * restores, holding the config, the root file system (a copy on the dir backend, the
 * backend's snapshot on btrfs, zfs, lvm and overlay), liblxc's ts and comment files, and
 * hld's own files of the container as they were. Every function blocks: call it from the
 * thread pool. Errors come back as -errno and a malloc'd sentence. */

#include <stdint.h>

#include "hl-util.h"

struct snapshot_info {
        char name[HL_SNAPSHOT_NAME_MAX + 1];
        int64_t created; /* Unix seconds, from liblxc's ts file (local time) */
        char *comment;   /* "" when none */
};

struct snapshot_list {
        struct snapshot_info *items; /* oldest first */
        size_t n;
};

void snapshot_list_done(struct snapshot_list *l);

/* The container's finished snapshots, oldest first. A snapshot being made (or that a kill
 * interrupted) is not among them. Reads files only: no liblxc call, no child. */
int snapshot_list(const char *lxcpath, const char *name, struct snapshot_list *ret);

/* The name liblxc would give the next snapshot: snapN, N one more than the highest. */
int snapshot_next_name(const char *lxcpath, const char *name, char ret[HL_SNAPSHOT_NAME_MAX + 1]);

/* Takes snapshot snap of the container, with comment (may be NULL). A running container is
 * frozen for the copy, so what is copied is one instant of its files, and thawed after,
 * whatever happened. Until it is complete the snapshot's directory holds hl-partial: a kill
 * leaves nothing that lists or restores. */
int snapshot_take(const char *lxcpath, const char *name, const char *snap, const char *comment, char **ret_error);

/* Puts the stopped container back as snapshot snap holds it: root file system, config and
 * hld's files. What hld wants of the config is written again afterwards by the caller
 * (ct_configure). Recorded first in snaps/ (CT_FILE_ROLLING_BACK), so that a kill in the
 * middle is finished by calling this again, even when liblxc had removed the container. */
int snapshot_rollback(const char *lxcpath, const char *name, const char *snap, char **ret_error);

int snapshot_delete(const char *lxcpath, const char *name, const char *snap, char **ret_error);
