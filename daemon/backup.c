/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "ct.h"
#include "hl-util.h"
#include "rootfs.h"

#define MANIFEST_MAX (1 << 20)
#define SUFFIX ".tar.zst"

static const char *const own_files[] = { "config", CT_FILE_ORIGIN, CT_FILE_MOUNTS, CT_FILE_GUEST, CT_FILE_LXC,
                                         CT_FILE_OCI, CT_FILE_OCI_ARGV };

/* "NAME-YYYYMMDD-HHMMSS.tar.zst" */
static char *archive_name(const char *name, int64_t created) {
        time_t t = (time_t) created;
        struct tm tm;
        char stamp[32];

        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm) == 0)
                return NULL;
        return hl_strdup_printf("%s-%s" SUFFIX, name, stamp);
}

/* When an archive's name says it was made, or -1 when it is not one of name's. */
static int64_t archive_time(const char *file, const char *name) {
        size_t n = strlen(name), len = strlen(file);
        struct tm tm = {};
        const char *end;

        if (strncmp(file, name, n) != 0 || file[n] != '-' || len != n + 1 + 15 + strlen(SUFFIX) ||
            strcmp(file + len - strlen(SUFFIX), SUFFIX) != 0)
                return -1;
        end = strptime(file + n + 1, "%Y%m%d-%H%M%S", &tm);
        if (!end || strcmp(end, SUFFIX) != 0)
                return -1;
        return (int64_t) timegm(&tm);
}

/* nftw passes no user data: one count at a time. */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *count_into;

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (type == FTW_F && S_ISREG(st->st_mode))
                __atomic_add_fetch(count_into, (uint64_t) st->st_size, __ATOMIC_RELAXED);
        return 0;
}

/* Leftovers of the service's interrupted backups in dir. */
static void remove_partial(int dirfd, const char *name) {
        DIR *d = fdopendir(dup(dirfd));
        struct dirent *de;
        size_t n = strlen(name);

        while (d && (de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' && strncmp(de->d_name + 1, name, n) == 0 && de->d_name[n + 1] == '-' &&
                    len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
                        (void) unlinkat(dirfd, de->d_name, 0);
        }
        if (d)
                closedir(d);
}

int backup_write(const struct backup_source *src, char **ret_path, char **ret_error) {
        _cleanup_free_ char *file = archive_name(src->name, src->created), *tmp = NULL, *manifest_path = NULL;
        _cleanup_close_ int dirfd = -1, fd = -1, mfd = -1;
        _cleanup_free_ struct rootfs_pack_item *items = calloc(2 + HL_ELEMENTSOF(own_files) + src->n_data, sizeof(*items));
        char paths[HL_ELEMENTSOF(own_files)][4096];
        size_t n = 0;
        ssize_t len = (ssize_t) strlen(src->manifest);
        int r;

        if (!items || !file || !(tmp = hl_strdup_printf(".%s.tmp", file)) ||
            !(manifest_path = hl_strdup_printf("%s/.%s.manifest.tmp", src->dir, file)))
                return -ENOMEM;
        dirfd = open(src->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return hl_fail(ret_error, -errno, "cannot open the backup directory %s: %s", src->dir, strerror(errno));
        remove_partial(dirfd, src->name);
        if (faccessat(dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return hl_fail(ret_error, -EEXIST, "%s/%s exists already", src->dir, file);
        /* The manifest goes first, from a file of its own beside the archive. */
        mfd = openat(dirfd, strrchr(manifest_path, '/') + 1, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (mfd < 0 || write(mfd, src->manifest, (size_t) len) != len) {
                r = -errno ?: -EIO;
                unlinkat(dirfd, strrchr(manifest_path, '/') + 1, 0);
                return hl_fail(ret_error, r, "cannot write in %s: %s", src->dir, strerror(-r));
        }
        items[n++] = (struct rootfs_pack_item) { manifest_path, BACKUP_MANIFEST };
        for (size_t i = 0; i < HL_ELEMENTSOF(own_files); i++) {
                struct stat st;

                snprintf(paths[i], sizeof(paths[i]), "%s/%s", src->from, own_files[i]);
                if (lstat(paths[i], &st) == 0 && S_ISREG(st.st_mode))
                        items[n++] = (struct rootfs_pack_item) { paths[i], own_files[i] };
        }
        items[n++] = (struct rootfs_pack_item) { src->rootfs, "rootfs" };
        for (size_t i = 0; i < src->n_data; i++) {
                struct stat st;

                if (lstat(src->data[i].path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        unlinkat(dirfd, strrchr(manifest_path, '/') + 1, 0);
                        return hl_fail(ret_error, -ENOENT, "the Mount= source %s to back up is not a directory",
                                       src->data[i].path);
                }
                items[n++] = src->data[i];
        }
        if (src->total) {
                pthread_mutex_lock(&count_lock);
                count_into = src->total;
                for (size_t i = 0; i < n; i++)
                        if (strcmp(items[i].name, "rootfs") == 0 || strncmp(items[i].name, "mounts/", 7) == 0)
                                (void) nftw(items[i].path, count_entry, 16, FTW_PHYS | FTW_MOUNT);
                pthread_mutex_unlock(&count_lock);
        }
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                unlinkat(dirfd, strrchr(manifest_path, '/') + 1, 0);
                return hl_fail(ret_error, r, "cannot write in %s: %s", src->dir, strerror(-r));
        }
        r = rootfs_pack(fd, items, n, src->done, ret_error);
        unlinkat(dirfd, strrchr(manifest_path, '/') + 1, 0);
        if (r >= 0 && fsync(fd) < 0)
                r = hl_fail(ret_error, -errno, "cannot make the archive durable: %s", strerror(errno));
        if (r >= 0 && renameat(dirfd, tmp, dirfd, file) < 0)
                r = hl_fail(ret_error, -errno, "cannot name the archive %s: %s", file, strerror(errno));
        if (r >= 0 && fsync(dirfd) < 0)
                r = hl_fail(ret_error, -errno, "cannot make the archive's name durable: %s", strerror(errno));
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return hl_fail(ret_error, r, "the backup of %s failed: %s", src->name, strerror(-r));
        }
        *ret_path = hl_strdup_printf("%s/%s", src->dir, file);
        return *ret_path ? 0 : -ENOMEM;
}

int backup_manifest(const char *file, json_t **ret, char **ret_error) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        json_t *j;
        json_error_t e;
        json_int_t format = 0;
        const char *service = NULL, *definition = NULL;
        int r = rootfs_read_first(file, BACKUP_MANIFEST, MANIFEST_MAX, &text, &error);

        if (r < 0)
                return hl_fail(ret_error, r, "%s is not an hl backup: %s", file, error ? error : strerror(-r));
        j = json_loads(text, 0, &e);
        if (!j || json_unpack(j, "{s:I, s:s, s:s}", "format", &format, "service", &service, "definition", &definition) < 0 ||
            format != BACKUP_FORMAT || !hl_name_is_valid(service)) {
                json_decref(j);
                return hl_fail(ret_error, -EINVAL, "%s: %s is not a manifest this hld reads (format %d)", file,
                               BACKUP_MANIFEST, BACKUP_FORMAT);
        }
        *ret = j;
        return 0;
}

/* The config, with the root file system and the name of the container it is now. */
static int fix_config(const char *dir, const char *lxcpath, const char *name, char **ret_error) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/config", dir), *text = NULL, *fixed = NULL;
        struct hl_text out = {};
        char *cursor, *line;
        bool rootfs = false;
        int r;

        if (!path)
                return -ENOMEM;
        r = hl_read_file(path, 1 << 20, &text, NULL);
        if (r < 0)
                return hl_fail(ret_error, r, "the backup holds no container config: %s", strerror(-r));
        cursor = text;
        while ((line = hl_next_line(&cursor))) {
                const char *l = line + strspn(line, " \t");

                if (strncmp(l, "lxc.rootfs.path", 15) == 0 && strchr(" \t=", l[15])) {
                        hl_text_add(&out, "lxc.rootfs.path = dir:%s/%s/rootfs\n", lxcpath, name);
                        rootfs = true;
                } else if (strncmp(l, "lxc.uts.name", 12) == 0 && strchr(" \t=", l[12]))
                        hl_text_add(&out, "lxc.uts.name = %s\n", name);
                else
                        hl_text_add(&out, "%s\n", line);
        }
        fixed = hl_text_take(&out);
        if (!rootfs)
                return hl_fail(ret_error, -EINVAL, "the backup's container config names no root file system");
        if (!fixed)
                return -ENOMEM;
        r = ct_write_file(dir, "config", fixed);
        return r < 0 ? hl_fail(ret_error, r, "cannot write the restored config: %s", strerror(-r)) : 0;
}

#define DATA_LIST "hl-restore-data"
#define DATA_TMP ".hl-restore-"

/* Where a Mount= directory is unpacked before it is swapped in: beside it (so that the swap
 * is a rename), named after this restore (suffix: its hidden directory's), so that two
 * restores never share one. */
static char *data_tmp(const char *source, const char *suffix) {
        const char *base = strrchr(source, '/');

        return base ? hl_strdup_printf("%.*s/.%s" DATA_TMP "%s", (int) (base - source), source, base + 1, suffix) : NULL;
}

static char *parent_of(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
}

/* The restore's journal, in its container's directory: "tmp PATH" for each unpacked
 * directory, then before each swap "undo SOURCE ASIDE" (what was there went aside) or
 * "new SOURCE" (nothing was). Rewritten whole, synced, renamed. */
static int journal(const char *dir, struct hl_text *lines) {
        _cleanup_free_ char *text = lines->buf ? strdup(lines->buf) : strdup("");

        if (!text || lines->failed)
                return -ENOMEM;
        return ct_write_file(dir, DATA_LIST, text);
}

/* A directory hld named for a restore: ".BASE.hl-restore-SUFFIX", absolute. */
static bool is_data_tmp(const char *path) {
        size_t n = strlen(path), slash = n;

        if (n == 0 || path[0] != '/')
                return false;
        while (slash > 0 && path[slash - 1] != '/')
                slash--;
        return path[slash] == '.' && strstr(path + slash, DATA_TMP) != NULL;
}

/* Takes back what the journal in dir says was done, newest first: the restored data
 * removed, what was aside put back, the unpacked directories removed. */
static void undo_data(const char *dir) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/" DATA_LIST, dir), *text = NULL;
        _cleanup_(hl_strv_freep) char **lines = NULL;
        char *cursor, *line;
        struct stat st;

        if (!path || hl_read_file(path, 1 << 20, &text, NULL) < 0)
                return;
        cursor = text;
        while ((line = hl_next_line(&cursor)))
                if (hl_strv_push(&lines, line) < 0)
                        return;
        for (size_t i = hl_strv_length(lines); i > 0; i--) {
                char *kind = lines[i - 1], *arg = kind + strcspn(kind, " "), *aside;

                if (!*arg)
                        continue;
                *arg++ = 0;
                if (strcmp(kind, "tmp") == 0 && is_data_tmp(arg))
                        (void) ct_remove_tree(arg);
                else if (strcmp(kind, "new") == 0 && arg[0] == '/')
                        (void) ct_remove_tree(arg);
                else if (strcmp(kind, "undo") == 0 && arg[0] == '/' && (aside = strchr(arg, '\t')) && aside[1] == '/') {
                        *aside++ = 0;
                        /* Only when what is aside is still there: never remove data for nothing. */
                        if (lstat(aside, &st) == 0) {
                                (void) ct_remove_tree(arg);
                                (void) rename(aside, arg);
                        }
                }
        }
        (void) unlink(path);
}

/* Each data directory unpacked beside its source (journalled first), synced. A source
 * must be a directory of the file system of its parent, or absent: a mount point cannot be
 * swapped by a rename. */
static int unpack_data(const char *file, const char *dir, const char *suffix, const struct backup_data *data,
                       size_t n_data, struct hl_text *lines, char **ret_error) {
        int r;

        for (size_t i = 0; i < n_data; i++) {
                _cleanup_free_ char *tmp = data_tmp(data[i].source, suffix), *parent = parent_of(data[i].source);
                struct stat st, pst;

                if (!tmp || !parent)
                        return -ENOMEM;
                if (lstat(parent, &pst) < 0 || !S_ISDIR(pst.st_mode))
                        return hl_fail(ret_error, -ENOENT, "the data of Mount= %s goes into %s, which is not a directory",
                                       data[i].source, parent);
                if (lstat(data[i].source, &st) == 0 && (!S_ISDIR(st.st_mode) || st.st_dev != pst.st_dev))
                        return hl_fail(ret_error, -EBUSY, "Mount= %s is %s: its data is not put back by a restore",
                                       data[i].source, S_ISDIR(st.st_mode) ? "a mount point" : "not a directory");
                hl_text_add(lines, "tmp %s\n", tmp);
                r = journal(dir, lines);
                if (r < 0)
                        return hl_fail(ret_error, r, "cannot write in %s: %s", dir, strerror(-r));
                if (mkdir(tmp, 0700) < 0)
                        return hl_fail(ret_error, -errno, "cannot make %s: %s", tmp, strerror(errno));
        }
        for (size_t i = 0; i < n_data; i++) {
                _cleanup_free_ char *tmp = data_tmp(data[i].source, suffix), *parent = parent_of(data[i].source), *error = NULL;
                _cleanup_close_ int pfd = -1;

                if (!tmp || !parent)
                        return -ENOMEM;
                r = rootfs_extract_part(file, tmp, 0, data[i].entry, NULL, &error);
                if (r == 0)
                        r = hl_fail(ret_error, -ENOENT, "the backup holds no data for Mount= %s (no %s in it)",
                                    data[i].source, data[i].entry);
                else if (r < 0)
                        r = hl_fail(ret_error, r, "cannot restore the data of %s: %s", data[i].source,
                                    error ? error : strerror(-r));
                pfd = r >= 0 ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                if (r >= 0 && (pfd < 0 || syncfs(pfd) < 0))
                        r = hl_fail(ret_error, -errno, "cannot make %s durable: %s", tmp, strerror(errno));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Each unpacked directory takes its source's place, journalled before each step; what was
 * there is kept aside. A failure takes back every swap done (undo_data). */
static int swap_data(const char *dir, const char *suffix, const struct backup_data *data, size_t n_data,
                     struct hl_text *lines, char ***ret_aside, char **ret_error) {
        time_t now = time(NULL);
        struct tm tm;
        char stamp[32];
        int r;

        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        for (size_t i = 0; i < n_data; i++) {
                _cleanup_free_ char *tmp = data_tmp(data[i].source, suffix), *aside = NULL, *parent = NULL;
                _cleanup_close_ int pfd = -1;
                struct stat st;
                bool there;

                if (!tmp || !(aside = hl_strdup_printf("%s.before-restore-%s", data[i].source, stamp)) ||
                    !(parent = parent_of(data[i].source)))
                        return -ENOMEM;
                /* What is there is kept aside; an empty directory is only replaced. */
                there = lstat(data[i].source, &st) == 0 && rmdir(data[i].source) < 0;
                if (there)
                        hl_text_add(lines, "undo %s\t%s\n", data[i].source, aside);
                else
                        hl_text_add(lines, "new %s\n", data[i].source);
                r = journal(dir, lines);
                if (r < 0)
                        return hl_fail(ret_error, r, "cannot write in %s: %s", dir, strerror(-r));
                if (there && rename(data[i].source, aside) < 0)
                        return hl_fail(ret_error, -errno, "cannot move %s aside: %s", data[i].source, strerror(errno));
                if (there && ret_aside && hl_strv_push(ret_aside, aside) < 0)
                        return -ENOMEM;
                if (rename(tmp, data[i].source) < 0)
                        return hl_fail(ret_error, -errno, "cannot put the data of %s in place: %s", data[i].source,
                                       strerror(errno));
                pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0 || fsync(pfd) < 0)
                        return hl_fail(ret_error, -errno, "cannot make the data of %s durable: %s", data[i].source,
                                       strerror(errno));
        }
        return 0;
}

/* hld's own files, never taken from an archive: they decide what the next start removes. */
static const char *const not_from_archives[] = { "mounts", DATA_LIST, CT_FILE_RESTORING, CT_FILE_ADOPTING, NULL };

int backup_unpack(const char *file, const char *lxcpath, const char *name, const struct backup_data *data,
                  size_t n_data, char ***ret_aside, char **ret_error) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/.hl-restore-%s-XXXXXX", lxcpath, name);
        _cleanup_free_ char *target = hl_strdup_printf("%s/%s", lxcpath, name), *error = NULL;
        _cleanup_close_ int lfd = -1;
        struct hl_text lines = {};
        const char *suffix;
        struct stat st;
        int r;

        if (!dir || !target)
                return -ENOMEM;
        if (lstat(target, &st) == 0)
                return hl_fail(ret_error, -EEXIST, "%s exists already: destroy %s first, or restore --as another name",
                               target, name);
        if (!mkdtemp(dir))
                return hl_fail(ret_error, -errno, "cannot make %s: %s", dir, strerror(errno));
        suffix = dir + strlen(dir) - 6;
        r = rootfs_extract_part(file, dir, 0, NULL, not_from_archives, &error);
        if (r < 0)
                hl_fail(ret_error, r, "cannot restore %s: %s", file, error ? error : strerror(-r));
        if (r >= 0)
                r = fix_config(dir, lxcpath, name, ret_error);
        if (r >= 0)
                r = unpack_data(file, dir, suffix, data, n_data, &lines, ret_error);
        /* Until hld next starts and finds the service stored: a kill before the apply
         * leaves a container that no service has, which that start removes (and takes
         * back the data swapped in, by the journal). */
        if (r >= 0 && (r = ct_write_file(dir, BACKUP_RESTORING, "")) < 0)
                hl_fail(ret_error, r, "cannot write in %s: %s", dir, strerror(-r));
        if (r >= 0 && (lstat(target, &st) == 0 || rename(dir, target) < 0))
                r = hl_fail(ret_error, -EEXIST, "%s appeared while the backup was unpacked", target);
        if (r < 0) {
                undo_data(dir);
                (void) ct_remove_tree(dir);
                free(hl_text_take(&lines));
                return r;
        }
        /* The unpacked files and the new name survive a power cut. */
        lfd = open(lxcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lfd < 0 || syncfs(lfd) < 0 || fsync(lfd) < 0)
                r = hl_fail(ret_error, -errno, "cannot make the restore durable: %s", strerror(errno));
        if (r >= 0)
                r = swap_data(target, suffix, data, n_data, &lines, ret_aside, ret_error);
        free(hl_text_take(&lines));
        if (r < 0) {
                undo_data(target);
                (void) ct_remove_tree(target);
                return r;
        }
        /* The journal stays until hld next starts with the service stored. */
        return 0;
}

int backup_remove_leftovers(const char *lxcpath, bool (*is_service)(void *userdata, const char *name), void *userdata) {
        DIR *d = opendir(lxcpath);
        struct dirent *de;
        int removed = 0;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *marker = NULL;

                if (!(path = hl_strdup_printf("%s/%s", lxcpath, de->d_name)))
                        continue;
                if (strncmp(de->d_name, ".hl-restore-", 12) == 0) {
                        undo_data(path);
                        if (ct_remove_tree(path) >= 0)
                                removed++;
                        continue;
                }
                /* Adopted: the apply stored the service, or it is another tool's again. */
                if (hl_name_is_valid(de->d_name) && (marker = hl_strdup_printf("%s/" CT_FILE_ADOPTING, path)) &&
                    access(marker, F_OK) == 0) {
                        if (is_service(userdata, de->d_name))
                                (void) unlink(marker);
                        else {
                                ct_adopt_undo(lxcpath, de->d_name);
                                removed++;
                        }
                        continue;
                }
                free(marker);
                marker = NULL;
                /* Renamed into place: its apply stored the service, or a kill came first. */
                if (!hl_name_is_valid(de->d_name) || !(marker = hl_strdup_printf("%s/" BACKUP_RESTORING, path)) ||
                    access(marker, F_OK) < 0)
                        continue;
                if (is_service(userdata, de->d_name)) {
                        _cleanup_free_ char *list = hl_strdup_printf("%s/" DATA_LIST, path);
                        if (list)
                                (void) unlink(list);
                        (void) unlink(marker);
                } else {
                        undo_data(path);
                        if (ct_remove_tree(path) >= 0)
                                removed++;
                }
        }
        if (d)
                closedir(d);
        return removed;
}

int backup_marks(const struct hl_keep *keep, const struct backup_entry *l, size_t n, int *ret_rules) {
        _cleanup_free_ struct hl_prune_item *items = calloc(n + 1, sizeof(*items));
        int r;

        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                items[i] = (struct hl_prune_item) { .time = l[i].created, .protected = l[i].protected };
        r = hl_prune(keep, items, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                ret_rules[i] = items[i].mark == HL_PRUNE_PROTECTED ? BACKUP_PROTECTED
                               : items[i].mark == HL_PRUNE_REMOVE  ? BACKUP_PRUNED
                                                                   : items[i].rule;
        return 0;
}

int backup_prune(const char *dir, const char *name, const char *keep, char ***ret_deleted) {
        _cleanup_free_ int *rules = NULL;
        struct backup_entry *l = NULL;
        struct hl_keep k;
        size_t n = 0;
        int r = hl_keep_parse(keep, &k, NULL);

        if (r >= 0)
                r = backup_list(dir, name, &l, &n);
        if (r >= 0 && !(rules = calloc(n + 1, sizeof(*rules))))
                r = -ENOMEM;
        if (r >= 0)
                r = backup_marks(&k, l, n, rules);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (rules[i] == BACKUP_PRUNED && unlink(l[i].path) == 0)
                        r = hl_strv_push(ret_deleted, strrchr(l[i].path, '/') + 1);
        backup_list_free(l, n);
        return r;
}

void backup_list_free(struct backup_entry *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(list[i].path);
        free(list);
}

static int by_time(const void *a, const void *b) {
        const struct backup_entry *x = a, *y = b;

        return x->created < y->created ? -1 : x->created > y->created ? 1 : strcmp(x->path, y->path);
}

int backup_list(const char *dir, const char *name, struct backup_entry **ret, size_t *ret_n) {
        struct backup_entry *list = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d = opendir(dir);

        if (!d) {
                *ret = NULL;
                *ret_n = 0;
                return errno == ENOENT ? 0 : -errno;
        }
        while ((de = readdir(d))) {
                int64_t created = archive_time(de->d_name, name);
                _cleanup_free_ char *protect = NULL;
                struct backup_entry *grown;
                struct stat st;

                if (created < 0)
                        continue;
                grown = realloc(list, (n + 1) * sizeof(*list));
                if (!grown)
                        goto oom;
                list = grown;
                list[n] = (struct backup_entry) { .created = created };
                if (!(list[n].path = hl_strdup_printf("%s/%s", dir, de->d_name)) ||
                    !(protect = hl_strdup_printf("%s.protected", list[n].path))) {
                        n++;
                        goto oom;
                }
                if (lstat(list[n].path, &st) < 0 || !S_ISREG(st.st_mode)) {
                        free(list[n].path);
                        continue;
                }
                list[n].size = (uint64_t) st.st_size;
                list[n].protected = access(protect, F_OK) == 0;
                n++;
        }
        closedir(d);
        if (n)
                qsort(list, n, sizeof(*list), by_time);
        *ret = list;
        *ret_n = n;
        return 0;
oom:
        closedir(d);
        backup_list_free(list, n);
        return -ENOMEM;
}
