/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Paths inside a container's root file system, resolved without ever leaving it: a
 * symlink the container holds points wherever its owner likes (esc -> /etc on the host),
 * and hld runs as root. Blocks: call it off the loop. */

/* Makes path (absolute, as seen inside the container) a directory under rootfs, creating
 * what is missing there with its parent's owner and mode 0755. Refuses a path that passes
 * through a symlink or a file, naming it in ret_error. */
int inroot_make_dirs(const char *rootfs, const char *path, char **ret_error);
