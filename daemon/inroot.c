/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hl-macro.h"
#include "hl-util.h"
#include "inroot.h"

/* One component at a time from the root's descriptor, each opened with O_NOFOLLOW: no
 * symlink is ever followed, so nothing outside rootfs can be reached. */
static int open_dir(const char *rootfs, const char *path, bool create, int *ret_fd, char **ret_error) {
        _cleanup_close_ int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;
        const char *lead = path[0] == '/' ? "" : "/";

        if (fd < 0)
                return hl_fail(ret_error, -errno, "cannot open the root file system %s: %s", rootfs, strerror(errno));
        if (!copy)
                return -ENOMEM;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                struct stat parent, st;
                int next;

                /* How far into path this component reaches, for messages: "/esc". */
                int done = (int) (c - copy + strlen(c));

                if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
                        return hl_fail(ret_error, -EINVAL, "%s is not a normalized path", path);
                if (fstat(fd, &parent) < 0)
                        return -errno;
                next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
                                return hl_fail(ret_error, -errno, "cannot make %s%.*s in the container: %s", lead, done, path,
                                            strerror(errno));
                        next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        /* Made by root: it belongs to whom its parent belongs to (the
                         * container's root, for an unprivileged one). */
                        if (next >= 0 && fchownat(next, "", parent.st_uid, parent.st_gid, AT_EMPTY_PATH) < 0) {
                                int r = -errno;
                                close(next);
                                return hl_fail(ret_error, r, "cannot hand %s%.*s to its owner: %s", lead, done, path,
                                            strerror(-r));
                        }
                }
                if (next < 0)
                        return hl_fail(ret_error, -errno, "cannot open %s%.*s in the container: %s", lead, done, path,
                                    strerror(errno));
                close(fd);
                fd = next;
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode))
                        return hl_fail(ret_error, -ELOOP,
                                    "%s%.*s is a symbolic link inside the container: links there are not followed "
                                    "(use the path it points to)", lead, done, path);
                if (!S_ISDIR(st.st_mode))
                        return hl_fail(ret_error, -ENOTDIR, "%s%.*s is not a directory inside the container", lead, done,
                                    path);
        }
        /* O_PATH descriptors serve openat; a real one is needed for fsync. */
        *ret_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return *ret_fd < 0 ? hl_fail(ret_error, -errno, "cannot open %s in the container: %s", path, strerror(errno)) : 0;
}

int inroot_make_dirs(const char *rootfs, const char *path, char **ret_error) {
        _cleanup_close_ int fd = -1;

        return open_dir(rootfs, path, true, &fd, ret_error);
}

int inroot_open_dir(const char *rootfs, const char *path, bool create, int *ret_fd, char **ret_error) {
        return open_dir(rootfs, path, create, ret_fd, ret_error);
}

int inroot_read(int dir, const char *name, size_t max, char **ret_text) {
        _cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        char *text;
        size_t len = 0;

        if (fd < 0)
                return -errno;
        /* A FIFO or a device the container put there would block or never end. */
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        text = malloc(max + 1);
        if (!text)
                return -ENOMEM;
        while (len < max) {
                ssize_t n = read(fd, text + len, max - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        free(text);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len == max) {
                char extra;
                if (read(fd, &extra, 1) == 1) {
                        free(text);
                        return -EFBIG;
                }
        }
        text[len] = 0;
        *ret_text = text;
        return 0;
}

bool inroot_exists(const char *rootfs, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *slash = copy ? strrchr(copy, '/') : NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (!slash)
                return false;
        *slash = 0;
        if (open_dir(rootfs, *copy ? copy : "/", false, &fd, NULL) < 0)
                return false;
        return fstatat(fd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int inroot_write(int dir, const char *name, const char *text, mode_t mode) {
        _cleanup_free_ char *tmp = hl_strdup_printf(".%s.hl-tmp", name);
        struct stat owner;
        size_t len = strlen(text), done = 0;
        int fd, r = 0;

        if (!tmp)
                return -ENOMEM;
        /* What the directory's owner (the container's root) would have made. */
        if (fstat(dir, &owner) < 0)
                return -errno;
        if (unlinkat(dir, tmp, 0) < 0 && errno != ENOENT)
                return -errno;
        fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        while (r == 0 && done < len) {
                ssize_t n = write(fd, text + done, len - done);
                if (n < 0 && errno != EINTR)
                        r = -errno;
                else if (n > 0)
                        done += (size_t) n;
        }
        if (r == 0 && (fchown(fd, owner.st_uid, owner.st_gid) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0))
                r = -errno;
        close(fd);
        /* rename replaces what stands under name itself, a symlink too, never its target. */
        if (r == 0 && renameat(dir, tmp, dir, name) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dir, tmp, 0);
                return r;
        }
        return fsync(dir) < 0 ? -errno : 0;
}

int inroot_remove(int dir, const char *name) {
        if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
