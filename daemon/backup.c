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

static const char *const own_files[] = { "config", "hl-origin", "hl-mounts", "hl-guest" };

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
#define DATA_TMP ".hl-restore"

/* Where a Mount= directory is unpacked before it is swapped in: beside it, so that the
 * swap is a rename. */
static char *data_tmp(const char *source) {
        const char *base = strrchr(source, '/');

        return base ? hl_strdup_printf("%.*s/.%s" DATA_TMP, (int) (base - source), source, base + 1) : NULL;
}

/* Unpacks each data directory beside its source, listed in the container's DATA_LIST first. */
static int unpack_data(const char *file, const char *dir, const struct backup_data *data, size_t n_data,
                       char **ret_error) {
        struct hl_text list = {};
        _cleanup_free_ char *text = NULL;
        int r;

        for (size_t i = 0; i < n_data; i++) {
                char *tmp = data_tmp(data[i].source);
                if (!tmp) {
                        free(hl_text_take(&list));
                        return -ENOMEM;
                }
                hl_text_add(&list, "%s\n", tmp);
                free(tmp);
        }
        text = hl_text_take(&list);
        if (!text)
                return -ENOMEM;
        r = ct_write_file(dir, DATA_LIST, text);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot write in %s: %s", dir, strerror(-r));
        for (size_t i = 0; i < n_data; i++) {
                _cleanup_free_ char *tmp = data_tmp(data[i].source), *parent = NULL, *error = NULL;
                _cleanup_close_ int pfd = -1;

                if (!tmp || !(parent = strndup(data[i].source, (size_t) (strrchr(data[i].source, '/') - data[i].source))))
                        return -ENOMEM;
                if (parent[0] && access(parent, F_OK) < 0)
                        return hl_fail(ret_error, -errno, "the data of Mount= %s goes into %s, which is missing: %s",
                                       data[i].source, parent, strerror(errno));
                (void) ct_remove_tree(tmp);
                if (mkdir(tmp, 0700) < 0)
                        return hl_fail(ret_error, -errno, "cannot make %s: %s", tmp, strerror(errno));
                r = rootfs_extract_part(file, tmp, 0, data[i].entry, NULL, &error);
                if (r == 0)
                        r = hl_fail(ret_error, -ENOENT, "the backup holds no data for Mount= %s (no %s in it)",
                                    data[i].source, data[i].entry);
                else if (r < 0)
                        r = hl_fail(ret_error, r, "cannot restore the data of %s: %s", data[i].source,
                                    error ? error : strerror(-r));
                pfd = r >= 0 ? open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                if (r >= 0 && (pfd < 0 || syncfs(pfd) < 0))
                        r = hl_fail(ret_error, -errno, "cannot make %s durable: %s", tmp, strerror(errno));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Removes what DATA_LIST in dir names, when it still exists. */
static void remove_data(const char *dir) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/" DATA_LIST, dir), *text = NULL;
        char *cursor, *line;

        if (!path || hl_read_file(path, 1 << 20, &text, NULL) < 0)
                return;
        cursor = text;
        while ((line = hl_next_line(&cursor))) {
                const char *base = strrchr(line, '/');
                size_t len = strlen(line);
                /* Only what hld names so: the list is root's, but be exact. */
                if (line[0] == '/' && base && base[1] == '.' && len > strlen(DATA_TMP) &&
                    strcmp(line + len - strlen(DATA_TMP), DATA_TMP) == 0)
                        (void) ct_remove_tree(line);
        }
        (void) unlink(path);
}

/* Each unpacked directory takes its source's place; what was there is kept aside. */
static int swap_data(const struct backup_data *data, size_t n_data, char ***ret_aside, char **ret_error) {
        time_t now = time(NULL);
        struct tm tm;
        char stamp[32];

        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        for (size_t i = 0; i < n_data; i++) {
                _cleanup_free_ char *tmp = data_tmp(data[i].source), *aside = NULL, *parent = NULL;
                _cleanup_close_ int pfd = -1;
                struct stat st;

                if (!tmp || !(aside = hl_strdup_printf("%s.before-restore-%s", data[i].source, stamp)))
                        return -ENOMEM;
                if (lstat(data[i].source, &st) == 0 && (!S_ISDIR(st.st_mode) || rmdir(data[i].source) < 0)) {
                        if (rename(data[i].source, aside) < 0)
                                return hl_fail(ret_error, -errno, "cannot move %s aside: %s", data[i].source, strerror(errno));
                        if (ret_aside && hl_strv_push(ret_aside, aside) < 0)
                                return -ENOMEM;
                }
                if (rename(tmp, data[i].source) < 0)
                        return hl_fail(ret_error, -errno, "cannot put the data of %s in place: %s", data[i].source,
                                       strerror(errno));
                parent = strndup(data[i].source, (size_t) (strrchr(data[i].source, '/') - data[i].source));
                pfd = parent ? open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                if (pfd < 0 || fsync(pfd) < 0)
                        return hl_fail(ret_error, -errno, "cannot make the data of %s durable: %s", data[i].source,
                                       strerror(errno));
        }
        return 0;
}

int backup_unpack(const char *file, const char *lxcpath, const char *name, const struct backup_data *data,
                  size_t n_data, char ***ret_aside, char **ret_error) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/.hl-restore-%s-XXXXXX", lxcpath, name);
        _cleanup_free_ char *target = hl_strdup_printf("%s/%s", lxcpath, name), *error = NULL;
        _cleanup_close_ int lfd = -1;
        struct stat st;
        int r;

        if (!dir || !target)
                return -ENOMEM;
        if (lstat(target, &st) == 0)
                return hl_fail(ret_error, -EEXIST, "%s exists already: destroy %s first, or restore --as another name",
                               target, name);
        if (!mkdtemp(dir))
                return hl_fail(ret_error, -errno, "cannot make %s: %s", dir, strerror(errno));
        r = rootfs_extract_part(file, dir, 0, NULL, "mounts", &error);
        if (r < 0)
                hl_fail(ret_error, r, "cannot restore %s: %s", file, error ? error : strerror(-r));
        if (r >= 0)
                r = fix_config(dir, lxcpath, name, ret_error);
        if (r >= 0)
                r = unpack_data(file, dir, data, n_data, ret_error);
        /* Until hld next starts and finds the service stored: a kill before the apply
         * leaves a container that no service has, which that start removes. */
        if (r >= 0 && (r = ct_write_file(dir, BACKUP_RESTORING, "")) < 0)
                hl_fail(ret_error, r, "cannot write in %s: %s", dir, strerror(-r));
        if (r >= 0 && (lstat(target, &st) == 0 || rename(dir, target) < 0))
                r = hl_fail(ret_error, -EEXIST, "%s appeared while the backup was unpacked", target);
        if (r < 0) {
                remove_data(dir);
                (void) ct_remove_tree(dir);
                return r;
        }
        /* The unpacked files and the new name survive a power cut. */
        lfd = open(lxcpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lfd < 0 || syncfs(lfd) < 0 || fsync(lfd) < 0)
                return hl_fail(ret_error, -errno, "cannot make the restore durable: %s", strerror(errno));
        r = swap_data(data, n_data, ret_aside, ret_error);
        if (r < 0) {
                remove_data(target);
                return r;
        }
        remove_data(target);
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
                        remove_data(path);
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
                if (is_service(userdata, de->d_name))
                        (void) unlink(marker);
                else {
                        remove_data(path);
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
