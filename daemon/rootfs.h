/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Unpacks a rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst) into dir, which must exist.
 * Owners are shifted by uid_shift (for unprivileged containers). Entries that would leave
 * dir (absolute paths, "..", links pointing out) are refused. Blocks: run it off the loop. */
int rootfs_extract(const char *tarball, const char *dir, uint32_t uid_shift, char **ret_error);
/* The same, for a part: with only, just the entries under that name, unpacked with it
 * stripped (a hard link to a file outside it is an error); with skip (a NULL-terminated
 * list), every entry but those under one of those names. Returns how many entries it unpacked. */
int rootfs_extract_part(const char *tarball, const char *dir, uint32_t uid_shift, const char *only,
                        const char *const *skip, char **ret_error);

/* Writes a tar.zst (pax) archive to fd: each item's file or directory tree under its name
 * in the archive (the tree's root itself as name, what is in it as name/...). Hard links
 * stay links; no mount point under a tree is crossed, no symlink followed. progress, when
 * given, counts the file bytes read (atomically: another thread may read it). Blocks. */
struct rootfs_pack_item {
        const char *path;
        const char *name;
};
int rootfs_pack(int fd, const struct rootfs_pack_item *items, size_t n, uint64_t *progress, char **ret_error);

/* Copies the tree from into the existing directory to, as a tarball of it would unpack:
 * owners, modes, times, xattrs, ACLs and hard links kept; no mount point under it crossed,
 * no symlink followed. progress counts the file bytes copied (atomically). Blocks. */
int rootfs_copy(const char *from, const char *to, uint64_t *progress, char **ret_error);

/* The archive's first entry, which must be the regular file name of at most max bytes, as
 * a string. Blocks. */
int rootfs_read_first(const char *tarball, const char *name, size_t max, char **ret, char **ret_error);

/* Whether tarball is a regular file that libarchive opens as a tar archive (reading its
 * first header only). -errno and a sentence otherwise. Blocks: run it off the loop. */
int rootfs_check(const char *tarball, char **ret_error);

/* Applies an OCI image layer (a tar, compressed or not) to dir as image-spec's changesets
 * say: ".wh.NAME" removes NAME of the layers below, ".wh..wh..opq" empties its directory of
 * what they made; every other entry is unpacked as rootfs_extract does, with its checks.
 * Blocks. */
int rootfs_apply_layer(const char *blob, const char *dir, uint32_t uid_shift, char **ret_error);

/* Removes the tree at path (a directory), never following a symlink or crossing a mount. */
int rootfs_remove_tree(const char *path);
