/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hl-macro.h"
#include "hl-util.h"
#include "inroot.h"

static int fail(char **ret_error, int r, const char *fmt, ...) HL_PRINTF(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* One component at a time from the root's descriptor, each opened with O_NOFOLLOW: no
 * symlink is ever followed, so nothing outside rootfs can be reached. */
int inroot_make_dirs(const char *rootfs, const char *path, char **ret_error) {
        _cleanup_close_ int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;
        const char *lead = path[0] == '/' ? "" : "/";

        if (fd < 0)
                return fail(ret_error, -errno, "cannot open the root file system %s: %s", rootfs, strerror(errno));
        if (!copy)
                return -ENOMEM;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                struct stat parent, st;
                int next;

                /* How far into path this component reaches, for messages: "/esc". */
                int done = (int) (c - copy + strlen(c));

                if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
                        return fail(ret_error, -EINVAL, "%s is not a normalized path", path);
                if (fstat(fd, &parent) < 0)
                        return -errno;
                next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT) {
                        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
                                return fail(ret_error, -errno, "cannot make %s%.*s in the container: %s", lead, done, path,
                                            strerror(errno));
                        next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        /* Made by root: it belongs to whom its parent belongs to (the
                         * container's root, for an unprivileged one). */
                        if (next >= 0 && fchownat(next, "", parent.st_uid, parent.st_gid, AT_EMPTY_PATH) < 0) {
                                int r = -errno;
                                close(next);
                                return fail(ret_error, r, "cannot hand %s%.*s to its owner: %s", lead, done, path,
                                            strerror(-r));
                        }
                }
                if (next < 0)
                        return fail(ret_error, -errno, "cannot open %s%.*s in the container: %s", lead, done, path,
                                    strerror(errno));
                close(fd);
                fd = next;
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode))
                        return fail(ret_error, -ELOOP,
                                    "%s%.*s is a symbolic link inside the container: links there are not followed "
                                    "(use the path it points to)", lead, done, path);
                if (!S_ISDIR(st.st_mode))
                        return fail(ret_error, -ENOTDIR, "%s%.*s is not a directory inside the container", lead, done,
                                    path);
        }
        return 0;
}
