/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Unpacks a rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst) into dir, which must exist.
 * Owners are shifted by uid_shift (for unprivileged containers). Entries that would leave
 * dir (absolute paths, "..", links pointing out) are refused. Blocks: run it off the loop. */
int rootfs_extract(const char *tarball, const char *dir, uint32_t uid_shift, char **ret_error);

/* Whether tarball is a regular file that libarchive opens as a tar archive (reading its
 * first header only). -errno and a sentence otherwise. Blocks: run it off the loop. */
int rootfs_check(const char *tarball, char **ret_error);
