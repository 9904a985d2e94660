/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots through liblxc: taken with its clone into the container's snaps/ (what its
 * snapshot call does, but allowed on a frozen running container), restored with its
 * snapshot_restore, deleted with its snapshot_destroy. Each call that makes children runs
 * in a helper process (ct.c says why). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lxc/lxccontainer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "snapshot.h"

#define BTRFS_MAGIC 0x9123683e

/* hld's files of a container, kept with each snapshot and put back with it. */
static const char *const own_files[] = { CT_FILE_ORIGIN, CT_FILE_MOUNTS, CT_FILE_GUEST, CT_FILE_LXC, CT_FILE_OCI, CT_FILE_OCI_ARGV };

void snapshot_list_done(struct snapshot_list *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].comment);
        free(l->items);
        *l = (struct snapshot_list) {};
}

static bool exists_in(const char *dir, const char *file) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/%s", dir, file);
        struct stat st;

        return path && lstat(path, &st) == 0;
}

/* liblxc writes the time of a snapshot as local time, "2026:12:01 13:17:43". */
static int64_t snapshot_time(const char *dir) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/ts", dir), *text = NULL;
        struct tm tm = {};
        struct stat st;

        text = path ? ct_read_small_file(path) : NULL;
        if (text && strptime(text, "%Y:%m:%d %H:%M:%S", &tm)) {
                tm.tm_isdst = -1;
                return (int64_t) mktime(&tm);
        }
        free(path);
        path = hl_strdup_printf("%s/config", dir);
        return path && stat(path, &st) == 0 ? (int64_t) st.st_mtime : 0;
}

static int compare_info(const void *a, const void *b) {
        const struct snapshot_info *x = a, *y = b;

        if (x->created != y->created)
                return x->created < y->created ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* A comment as the wire may carry it: printable, or a space. */
static void printable(char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        *s = ' ';
}

int snapshot_list(const char *lxcpath, const char *name, struct snapshot_list *ret) {
        _cleanup_free_ char *snaps = ct_path_in(lxcpath, name, "snaps");
        struct snapshot_list l = {};
        struct dirent *de;
        DIR *d;

        if (!snaps)
                return -ENOMEM;
        d = opendir(snaps);
        if (!d) {
                *ret = l;
                return errno == ENOENT ? 0 : -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *dir = NULL, *comment = NULL;
                struct snapshot_info *items;
                struct stat st;

                if (!hl_snapshot_name_is_valid(de->d_name))
                        continue;
                if (!(dir = hl_strdup_printf("%s/%s", snaps, de->d_name)))
                        goto oom;
                if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !exists_in(dir, "config") ||
                    exists_in(dir, CT_FILE_PARTIAL))
                        continue;
                comment = hl_strdup_printf("%s/comment", dir);
                if (!comment)
                        goto oom;
                items = realloc(l.items, (l.n + 1) * sizeof(*items));
                if (!items)
                        goto oom;
                l.items = items;
                items[l.n] = (struct snapshot_info) { .created = snapshot_time(dir) };
                memcpy(items[l.n].name, de->d_name, strlen(de->d_name) + 1); /* a valid name fits */
                items[l.n].comment = ct_read_small_file(comment);
                if (!items[l.n].comment)
                        goto oom;
                printable(items[l.n].comment);
                l.n++;
        }
        closedir(d);
        if (l.n)
                qsort(l.items, l.n, sizeof(*l.items), compare_info);
        *ret = l;
        return 0;
oom:
        closedir(d);
        snapshot_list_done(&l);
        return -ENOMEM;
}

int snapshot_next_name(const char *lxcpath, const char *name, char ret[HL_SNAPSHOT_NAME_MAX + 1]) {
        _cleanup_free_ char *snaps = ct_path_in(lxcpath, name, "snaps");
        struct dirent *de;
        long next = 0;
        DIR *d;

        if (!snaps)
                return -ENOMEM;
        d = opendir(snaps);
        while (d && (de = readdir(d))) {
                char *end;
                long n;

                if (strncmp(de->d_name, "snap", 4) != 0 || !de->d_name[4])
                        continue;
                errno = 0;
                n = strtol(de->d_name + 4, &end, 10);
                if (!*end && errno == 0 && n >= next && n < 1000000)
                        next = n + 1;
        }
        if (d)
                closedir(d);
        snprintf(ret, HL_SNAPSHOT_NAME_MAX + 1, "snap%ld", next);
        return 0;
}

struct snapshot_call {
        const char *lxcpath;
        const char *name;
        const char *snap;
        const char *comment;
};

/* liblxc copies a dir-backed root file system (rsync) and snapshots the others; it cannot
 * tell a btrfs subvolume under a plain path from a directory, so hld asks the kernel. */
static bool backend_snapshots(struct lxc_container *c) {
        _cleanup_free_ char *path = ct_config_value(c, "lxc.rootfs.path");
        struct statfs fs;
        const char *dir;

        if (!path || !*path)
                return false;
        if (strncmp(path, "dir:", 4) != 0 && path[0] != '/')
                return true; /* zfs:, lvm:, overlay:, btrfs: … */
        dir = path[0] == '/' ? path : path + 4;
        return statfs(dir, &fs) == 0 && (unsigned long) fs.f_type == BTRFS_MAGIC;
}

/* hld's files of the container, as they are now, into the snapshot's directory. */
static int keep_own_files(const char *lxcpath, const char *name, const char *dir) {
        for (size_t i = 0; i < HL_ELEMENTSOF(own_files); i++) {
                _cleanup_free_ char *src = ct_path_in(lxcpath, name, own_files[i]), *text = NULL;
                struct stat st;
                int r;

                if (!src)
                        return -ENOMEM;
                if (lstat(src, &st) < 0)
                        continue;
                text = ct_read_small_file(src);
                if (!text)
                        return -ENOMEM;
                r = ct_write_file(dir, own_files[i], text);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Everything written to the file system that holds dir, on disk. */
static int sync_tree(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 || syncfs(fd) < 0 ? -errno : 0;
}

/* The snapshot is complete: its marker goes, durably. */
static int unlink_complete(const char *dir) {
        _cleanup_free_ char *partial = hl_strdup_printf("%s/%s", dir, CT_FILE_PARTIAL);

        if (!partial)
                return -ENOMEM;
        if (unlink(partial) < 0)
                return -errno;
        return ct_sync_dir(dir);
}

static int take_helper(void *data, char **ret_error) {
        struct snapshot_call *a = data;
        _cleanup_container_ struct lxc_container *c = NULL;
        _cleanup_free_ char *snaps = ct_path_in(a->lxcpath, a->name, "snaps"), *dir = NULL;
        struct lxc_container *copy;
        char stamp[32];
        struct tm tm;
        time_t now;
        bool running;
        int flags = LXC_CLONE_KEEPNAME | LXC_CLONE_KEEPMACADDR | LXC_CLONE_KEEPBDEVTYPE | LXC_CLONE_MAYBE_SNAPSHOT;
        int r;

        ct_helper_log_begin(a->lxcpath, a->name);
        c = lxc_container_new(a->name, a->lxcpath);
        if (!c || !snaps || !(dir = hl_strdup_printf("%s/%s", snaps, a->snap)))
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", a->name);
        if (!c->is_defined(c))
                return hl_fail(ret_error, -ENOENT, "%s has no container to snapshot", a->name);
        if (mkdir(snaps, 0755) < 0 && errno != EEXIST)
                return hl_fail(ret_error, -errno, "cannot make %s: %s", snaps, strerror(errno));
        if (mkdir(dir, 0750) < 0)
                return errno == EEXIST ? hl_fail(ret_error, -EEXIST, "%s has a snapshot named %s already", a->name, a->snap)
                                       : hl_fail(ret_error, -errno, "cannot make %s: %s", dir, strerror(errno));
        r = ct_write_file(dir, CT_FILE_PARTIAL, "");
        if (r < 0) {
                ct_remove_tree(dir);
                return hl_fail(ret_error, r, "cannot write in %s: %s", dir, strerror(-r));
        }
        if (backend_snapshots(c))
                flags |= LXC_CLONE_SNAPSHOT;
        running = c->is_running(c);
        if (running) {
                flags |= LXC_CLONE_ALLOW_RUNNING;
                if (!c->freeze(c)) {
                        ct_remove_tree(dir);
                        return hl_fail(ret_error, -EIO, "liblxc could not freeze %s for its snapshot: %s", a->name,
                                       ct_lxc_reason(c));
                }
        }
        copy = c->clone(c, a->snap, snaps, flags, NULL, NULL, 0, NULL);
        if (running && !c->unfreeze(c))
                hl_fail(ret_error, -EIO, "liblxc could not thaw %s after its snapshot: %s", a->name, ct_lxc_reason(c));
        if (!copy) {
                hl_fail(ret_error, -EIO, "liblxc could not copy %s: %s", a->name, ct_lxc_reason(c));
                ct_remove_tree(dir);
                return -EIO;
        }
        lxc_container_put(copy);
        now = time(NULL);
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y:%m:%d %H:%M:%S", &tm);
        r = ct_write_file(dir, "ts", stamp);
        if (r >= 0 && a->comment && *a->comment)
                r = ct_write_file(dir, "comment", a->comment);
        if (r >= 0)
                r = keep_own_files(a->lxcpath, a->name, dir);
        /* The copy is on disk before the snapshot says it is complete. */
        if (r >= 0)
                r = sync_tree(dir);
        if (r >= 0)
                r = unlink_complete(dir);
        if (r < 0)
                return hl_fail(ret_error, r, "could not finish the snapshot %s of %s: %s", a->snap, a->name, strerror(-r));
        /* A thaw that failed is an error even when the snapshot is whole. */
        return ret_error && *ret_error ? -EIO : 0;
}

int snapshot_take(const char *lxcpath, const char *name, const char *snap, const char *comment, char **ret_error) {
        if (!hl_snapshot_name_is_valid(snap))
                return hl_fail(ret_error, -EINVAL, "\"%s\" is not a valid snapshot name", snap);
        return ct_run_helper(name, take_helper,
                             &(struct snapshot_call) { .lxcpath = lxcpath, .name = name, .snap = snap, .comment = comment },
                             NULL, ret_error);
}

/* A snapshot's directory, when it is a finished snapshot of the container. */
static int snapshot_dir(const char *lxcpath, const char *name, const char *snap, char **ret, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        struct stat st;

        if (!hl_snapshot_name_is_valid(snap))
                return hl_fail(ret_error, -EINVAL, "\"%s\" is not a valid snapshot name", snap);
        dir = hl_strdup_printf("%s/%s/snaps/%s", lxcpath, name, snap);
        if (!dir)
                return -ENOMEM;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !exists_in(dir, "config"))
                return hl_fail(ret_error, -ENOENT, "%s has no snapshot named %s", name, snap);
        if (exists_in(dir, CT_FILE_PARTIAL))
                return hl_fail(ret_error, -ENOENT, "the snapshot %s of %s was never finished", snap, name);
        *ret = TAKE_PTR(dir);
        return 0;
}

/* What is left of a container liblxc's restore had removed when a kill stopped it: all of
 * it but its snapshots. */
static int clear_but_snapshots(const char *lxcpath, const char *name) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return -errno;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, "snaps") == 0)
                        continue;
                path = hl_strdup_printf("%s/%s", dir, de->d_name);
                if (!path)
                        r = -ENOMEM;
                else if (lstat(path, &st) == 0)
                        r = S_ISDIR(st.st_mode) ? ct_remove_tree(path) : (unlink(path) < 0 ? -errno : 0);
        }
        closedir(d);
        return r;
}

static int rollback_helper(void *data, char **ret_error) {
        struct snapshot_call *a = data;
        _cleanup_container_ struct lxc_container *c = NULL;
        _cleanup_free_ char *dir = NULL, *home = hl_strdup_printf("%s/%s", a->lxcpath, a->name);
        _cleanup_free_ char *snaps = ct_path_in(a->lxcpath, a->name, "snaps");
        char *kept[HL_ELEMENTSOF(own_files)] = {};
        bool again;
        int r;

        if (!home || !snaps)
                return -ENOMEM;
        r = snapshot_dir(a->lxcpath, a->name, a->snap, &dir, ret_error);
        if (r < 0)
                return r;
        ct_helper_log_begin(a->lxcpath, a->name);
        /* hld's files as the snapshot has them; one it lacks (lxc-snapshot made it) as it is. */
        for (size_t i = 0; i < HL_ELEMENTSOF(own_files); i++) {
                _cleanup_free_ char *now = ct_path_in(a->lxcpath, a->name, own_files[i]);
                _cleanup_free_ char *then = hl_strdup_printf("%s/%s", dir, own_files[i]);
                struct stat st;

                if (!now || !then) {
                        r = -ENOMEM;
                        goto out;
                }
                if (lstat(then, &st) == 0)
                        kept[i] = ct_read_small_file(then);
                else if (lstat(now, &st) == 0)
                        kept[i] = ct_read_small_file(now);
        }
        /* A rollback that was interrupted is done again from the start: liblxc's restore
         * may have left a config without its root file system, which it cannot restore. */
        again = exists_in(home, CT_FILE_ROLLING_BACK);
        r = ct_write_file(snaps, strrchr(CT_FILE_ROLLING_BACK, '/') + 1, a->snap);
        if (r < 0) {
                hl_fail(ret_error, r, "cannot record the rollback of %s: %s", a->name, strerror(-r));
                goto out;
        }
        c = lxc_container_new(a->name, a->lxcpath);
        if (!c) {
                r = hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", a->name);
                goto out;
        }
        if (c->is_running(c)) {
                r = hl_fail(ret_error, -EBUSY, "%s is running: it is stopped before a rollback", a->name);
                goto out;
        }
        if (!again && c->is_defined(c)) {
                if (!c->snapshot_restore(c, a->snap, NULL)) {
                        r = hl_fail(ret_error, -EIO, "liblxc could not restore %s from %s: %s", a->name, a->snap,
                                    ct_lxc_reason(c));
                        goto out;
                }
        } else {
                /* The restore had removed the container, or part of it: it is made again
                 * from the snapshot as liblxc's restore makes it. */
                _cleanup_container_ struct lxc_container *s = lxc_container_new(a->snap, snaps);
                struct lxc_container *back;

                r = clear_but_snapshots(a->lxcpath, a->name);
                if (r < 0) {
                        hl_fail(ret_error, r, "cannot clear what is left of %s: %s", a->name, strerror(-r));
                        goto out;
                }
                back = s ? s->clone(s, a->name, a->lxcpath, 0, NULL, NULL, 0, NULL) : NULL;
                if (!back) {
                        r = hl_fail(ret_error, -EIO, "liblxc could not restore %s from %s: %s", a->name, a->snap,
                                    ct_lxc_reason(s));
                        goto out;
                }
                lxc_container_put(back);
        }
        for (size_t i = 0; r >= 0 && i < HL_ELEMENTSOF(own_files); i++)
                if (kept[i])
                        r = ct_write_file(home, own_files[i], kept[i]);
        /* The copy back is on disk before the record of the rollback goes: a power cut
         * after it must not leave half a root file system that nothing will finish. */
        if (r >= 0)
                r = sync_tree(home);
        if (r >= 0) {
                _cleanup_free_ char *marker = ct_path_in(a->lxcpath, a->name, CT_FILE_ROLLING_BACK);
                r = !marker ? -ENOMEM : unlink(marker) < 0 ? -errno : ct_sync_dir(snaps);
        }
        if (r < 0)
                hl_fail(ret_error, r, "could not finish the rollback of %s: %s", a->name, strerror(-r));
out:
        for (size_t i = 0; i < HL_ELEMENTSOF(own_files); i++)
                free(kept[i]);
        return r;
}

int snapshot_rollback(const char *lxcpath, const char *name, const char *snap, char **ret_error) {
        return ct_run_helper(name, rollback_helper, &(struct snapshot_call) { .lxcpath = lxcpath, .name = name, .snap = snap },
                             NULL, ret_error);
}

static int delete_helper(void *data, char **ret_error) {
        struct snapshot_call *a = data;
        _cleanup_container_ struct lxc_container *c = NULL;
        _cleanup_free_ char *dir = NULL;
        int r = snapshot_dir(a->lxcpath, a->name, a->snap, &dir, ret_error);

        if (r < 0)
                return r;
        ct_helper_log_begin(a->lxcpath, a->name);
        c = lxc_container_new(a->name, a->lxcpath);
        if (!c)
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", a->name);
        if (!c->snapshot_destroy(c, a->snap))
                return hl_fail(ret_error, -EIO, "liblxc could not delete the snapshot %s of %s: %s", a->snap, a->name,
                               ct_lxc_reason(c));
        return 0;
}

int snapshot_delete(const char *lxcpath, const char *name, const char *snap, char **ret_error) {
        return ct_run_helper(name, delete_helper, &(struct snapshot_call) { .lxcpath = lxcpath, .name = name, .snap = snap },
                             NULL, ret_error);
}
