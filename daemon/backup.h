/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Backups: one tar.zst archive of a container that plain tar --zstd reads, laid out as the
 * container's directory is, so that a restore is one safe unpack (rootfs.c's) into a
 * directory of its own and a rename:
 *
 *   hl-backup.json                     first: {format, service, revision, definition, created, mode}
 *   config, hl-origin, hl-mounts, hl-guest
 *   rootfs/...
 *   mounts/N/...                       the data of Mount= line N (from 0) when it has backup
 *
 * Every function blocks: call it from the thread pool. Errors are -errno and a sentence. */

#include <jansson.h>

#include "ct.h"
#include "hl-retention.h"
#include "rootfs.h"
#include <stdbool.h>
#include <stdint.h>

#define BACKUP_MANIFEST "hl-backup.json"
#define BACKUP_FORMAT 1
/* In a restored container's directory until hld next starts with its service stored. */
#define BACKUP_RESTORING CT_FILE_RESTORING

struct backup_source {
        const char *name;     /* the service */
        const char *from;     /* the directory with its config and hld's files (a snapshot's) */
        const char *rootfs;   /* the root file system to archive */
        const char *dir;      /* where the archive goes */
        const char *manifest; /* JSON text */
        int64_t created;      /* Unix seconds: the archive's name says when */
        uint64_t *done;       /* bytes read so far, for progress (atomic) */
        uint64_t *total;      /* bytes to read, once counted (atomic) */
        const struct rootfs_pack_item *data; /* the Mount=…:backup sources, as mounts/N */
        size_t n_data;
};

/* Writes DIR/NAME-YYYYMMDD-HHMMSS.tar.zst: to a hidden temporary name, fsynced, renamed,
 * the directory fsynced. An interrupted backup leaves only .NAME-….tmp, which the next
 * backup of the service removes. ret_path: the archive's path. */
int backup_write(const struct backup_source *src, char **ret_path, char **ret_error);

/* The manifest of an archive, checked: a format hld reads, a valid service name, a
 * definition text. Reads the first entry only. */
int backup_manifest(const char *file, json_t **ret, char **ret_error);

/* Unpacks the archive as container name in lxcpath: into a new hidden directory beside,
 * then, when the whole archive has unpacked and its config names a root file system, its
 * paths and name set for name and the directory renamed into place. A truncated or
 * corrupt archive, an entry that leaves the directory, or an existing container of that
 * name: an error, and nothing under lxcpath changed. */
struct backup_data {
        const char *source; /* the host directory of a Mount=…:backup */
        const char *entry;  /* its tree in the archive: mounts/N */
};
/* data: the Mount=…:backup directories to put back, each unpacked beside its source (as
 * .BASENAME.hl-restore, listed first in the new container's hl-restore-data) before the
 * container is renamed into place, then swapped in: a source that holds anything is kept
 * as SOURCE.before-restore-YYYYMMDD-HHMMSS (ret_aside lists those). */
int backup_unpack(const char *file, const char *lxcpath, const char *name, const struct backup_data *data,
                  size_t n_data, char ***ret_aside, char **ret_error);

/* Removes what restores a kill interrupted left in lxcpath: .hl-restore-* directories, and
 * restored containers (hl-restoring) whose apply never stored their service
 * (is_service says which names have one), and the data directories either was unpacking;
 * and takes hld's files out of an adopted container (hl-adopting) that got no service. Returns how many there were. */
int backup_remove_leftovers(const char *lxcpath, bool (*is_service)(void *userdata, const char *name), void *userdata);

struct backup_entry {
        char *path;
        int64_t created;
        uint64_t size;
        bool protected; /* FILE.protected exists beside it */
};

/* The archives of the service in dir, oldest first. */
int backup_list(const char *dir, const char *name, struct backup_entry **ret, size_t *ret_n);
void backup_list_free(struct backup_entry *list, size_t n);

/* For each archive of l (oldest first): the rule of keep that keeps it (enum
 * hl_keep_rule), BACKUP_PROTECTED, or BACKUP_PRUNED. */
#define BACKUP_PROTECTED -1
#define BACKUP_PRUNED -2
int backup_marks(const struct hl_keep *keep, const struct backup_entry *l, size_t n, int *ret_rules);

/* Deletes the service's archives in dir that keep (a Keep= value) does not keep, never a
 * protected one; ret_deleted gets their file names. */
int backup_prune(const char *dir, const char *name, const char *keep, char ***ret_deleted);
