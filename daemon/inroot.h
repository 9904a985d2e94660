/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Paths inside a container's root file system, resolved without ever leaving it: a
 * symlink the container holds points wherever its owner likes (esc -> /etc on the host),
 * and hld runs as root. Blocks: call it off the loop. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Makes path (absolute, as seen inside the container) a directory under rootfs, creating
 * what is missing there with its parent's owner and mode 0755. Refuses a path that passes
 * through a symlink or a file, naming it in ret_error. */
int inroot_make_dirs(const char *rootfs, const char *path, char **ret_error);

/* Opens the directory path under rootfs (creating what is missing when create is set) the
 * same way, for the calls below; *ret_fd is the caller's to close. */
int inroot_open_dir(const char *rootfs, const char *path, bool create, int *ret_fd, char **ret_error);
/* Whether path exists under rootfs, itself not followed if it is a symlink. */
bool inroot_exists(const char *rootfs, const char *path);
/* Reads the regular file name in dir (never through a symlink, at most max bytes, else
 * -EFBIG; -EBADFD for anything but a regular file) into a malloc'd string. */
int inroot_read(int dir, const char *name, size_t max, char **ret_text);
/* Replaces name in dir with text atomically (temp + fsync + rename, then the directory
 * synced), owned by the directory's owner. */
int inroot_write(int dir, const char *name, const char *text, mode_t mode);
/* Removes name from dir; absent is fine. */
int inroot_remove(int dir, const char *name);
