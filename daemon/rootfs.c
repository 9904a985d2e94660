/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The only file that includes libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "hl-util.h"
#include "hl-index.h"
#include "hl-oci.h"

/* libarchive is loaded when a tarball is first unpacked, not with hld: its dependencies
 * (libxml2, ICU, libstdc++) would add megabytes to the resident daemon for a template kind
 * many nodes never use. */
#define ARCHIVE_SYMBOLS(X) \
        X(archive_entry_filetype) \
        X(archive_entry_free) \
        X(archive_entry_linkify) \
        X(archive_entry_linkresolver_free) \
        X(archive_entry_linkresolver_new) \
        X(archive_entry_linkresolver_set_strategy) \
        X(archive_entry_new) \
        X(archive_format) \
        X(archive_read_data) \
        X(archive_read_disk_descend) \
        X(archive_read_disk_new) \
        X(archive_read_disk_open) \
        X(archive_read_disk_set_behavior) \
        X(archive_read_disk_set_standard_lookup) \
        X(archive_read_next_header2) \
        X(archive_write_add_filter_zstd) \
        X(archive_write_close) \
        X(archive_write_data) \
        X(archive_write_new) \
        X(archive_write_open_fd) \
        X(archive_write_set_filter_option) \
        X(archive_write_set_format_pax_restricted) \
        X(archive_entry_gid) \
        X(archive_entry_hardlink) \
        X(archive_entry_pathname) \
        X(archive_entry_set_gid) \
        X(archive_entry_set_hardlink) \
        X(archive_entry_set_pathname) \
        X(archive_entry_set_uid) \
        X(archive_entry_size) \
        X(archive_entry_uid) \
        X(archive_error_string) \
        X(archive_read_data_block) \
        X(archive_read_free) \
        X(archive_read_new) \
        X(archive_read_next_header) \
        X(archive_read_open_fd) \
        X(archive_read_open_filename) \
        X(archive_read_support_filter_all) \
        X(archive_read_support_format_tar) \
        X(archive_write_data_block) \
        X(archive_write_disk_new) \
        X(archive_write_disk_set_options) \
        X(archive_write_disk_set_standard_lookup) \
        X(archive_write_finish_entry) \
        X(archive_write_free) \
        X(archive_write_header) \

#define DECLARE(name) static __typeof__(name) *sym_##name;
ARCHIVE_SYMBOLS(DECLARE)
#undef DECLARE

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error;

static void load(void) {
        void *dl = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

        if (!dl) {
                load_error = "libarchive.so.13 cannot be loaded (apt-get install libarchive13)";
                return;
        }
#define RESOLVE(name)                                                        \
        if (!(sym_##name = (__typeof__(name) *) dlsym(dl, #name)))           \
                load_error = "libarchive.so.13 lacks " #name;
        ARCHIVE_SYMBOLS(RESOLVE)
#undef RESOLVE
}

/* libarchive is there, or a sentence says why not. */
static bool loaded(char **ret_error) {
        pthread_once(&load_once, load);
        if (load_error && ret_error && !*ret_error)
                *ret_error = strdup(load_error);
        return !load_error;
}

static int fail(struct archive *a, char **ret_error, int r) {
        if (ret_error)
                *ret_error = strdup(sym_archive_error_string(a) ? sym_archive_error_string(a) : strerror(-r));
        return r;
}

/* A reader of tar archives, compressed in any way libarchive knows. */
static struct archive *tar_reader(void) {
        struct archive *in = sym_archive_read_new();

        if (in) {
                sym_archive_read_support_format_tar(in);
                sym_archive_read_support_filter_all(in);
        }
        return in;
}

/* Relative, and no component is "..". */
static bool name_is_safe(const char *name) {
        if (name[0] == '/')
                return false;
        for (const char *p = name; *p;) {
                size_t len = strcspn(p, "/");
                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                p += len;
                p += strspn(p, "/");
        }
        return true;
}

/* Whether name is prefix itself or under it; *ret_rest: what follows "prefix/" ("" for prefix). */
static bool under(const char *name, const char *prefix, const char **ret_rest) {
        size_t n = strlen(prefix);

        while (name[0] == '.' && name[1] == '/')
                name += 2;
        if (strncmp(name, prefix, n) != 0 || (name[n] != 0 && name[n] != '/'))
                return false;
        if (ret_rest)
                *ret_rest = name + n + strspn(name + n, "/");
        return true;
}

int rootfs_extract(const char *tarball, const char *dir, uint32_t uid_shift, char **ret_error) {
        int r = rootfs_extract_part(tarball, dir, uid_shift, NULL, NULL, ret_error);


        return r < 0 ? r : 0;
}

/* An OCI layer's changes to what the layers below made (image-spec, "Changesets"): the
 * names this layer wrote, so that an opaque whiteout removes only what came before. */
struct layer {
        struct hl_index written;
        char **names; /* the keys of written, owned */
        size_t n, cap;
};

static void layer_done(struct layer *l) {
        hl_index_done(&l->written);
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
}

static int layer_wrote(struct layer *l, const char *name) {
        char *copy;

        if (hl_index_get(&l->written, name, NULL))
                return 0;
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 256;
                char **v = realloc(l->names, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->names = v;
                l->cap = cap;
        }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        l->names[l->n++] = copy;
        return hl_index_put(&l->written, copy, 0) == -ENOMEM ? -ENOMEM : 0;
}

/* Whether every directory on the way to rel under dir is a directory, never a symlink: a
 * whiteout under a symlink a lower layer made would remove something outside dir. */
static bool path_is_plain(const char *dir, const char *rel) {
        _cleanup_free_ char *copy = strdup(rel);
        struct stat st;

        if (!copy)
                return false;
        for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
                _cleanup_free_ char *p = NULL;
                *slash = 0;
                p = hl_strdup_printf("%s/%s", dir, copy);
                *slash = '/';
                if (!p || lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                        return false;
        }
        return true;
}

static int remove_path(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return rootfs_remove_tree(path);
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rootfs_remove_tree(const char *path) {
        return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? -errno : 0;
}

/* A whiteout entry (name: its path in the layer, base its last component): what it hides
 * from the layers below removed. 0, or -errno with the reason. */
static int whiteout(struct layer *l, const char *dir, const char *name, const char *base, int kind, const char *hidden,
                    char **ret_error) {
        size_t parent_len = (size_t) (base - name);
        _cleanup_free_ char *parent = strndup(name, parent_len ? parent_len - 1 : 0);
        _cleanup_free_ char *pdir = NULL;
        int r = 0;

        if (!parent)
                return -ENOMEM;
        if (*parent && !path_is_plain(dir, name))
                return 0; /* its directory is no directory of this tree: nothing to hide */
        pdir = *parent ? hl_strdup_printf("%s/%s", dir, parent) : strdup(dir);
        if (!pdir)
                return -ENOMEM;
        if (kind == 1) {
                _cleanup_free_ char *victim = hl_strdup_printf("%s/%s", pdir, hidden);
                if (!victim || strchr(hidden, '/') || strcmp(hidden, "..") == 0 || strcmp(hidden, ".") == 0)
                        return victim ? hl_fail(ret_error, -EPERM, "unsafe whiteout %s", name) : -ENOMEM;
                r = remove_path(victim);
        } else {
                /* Opaque: the directory's entries from below go, this layer's stay. */
                DIR *d = opendir(pdir);
                struct dirent *de;

                while (d && r >= 0 && (de = readdir(d))) {
                        _cleanup_free_ char *rel = NULL, *victim = NULL;
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        rel = *parent ? hl_strdup_printf("%s/%s", parent, de->d_name) : strdup(de->d_name);
                        if (!rel)
                                r = -ENOMEM;
                        else if (!hl_index_get(&l->written, rel, NULL)) {
                                victim = hl_strdup_printf("%s/%s", pdir, de->d_name);
                                r = victim ? remove_path(victim) : -ENOMEM;
                        }
                }
                if (d)
                        closedir(d);
        }
        return r < 0 ? hl_fail(ret_error, r, "cannot apply the whiteout %s: %s", name, strerror(-r)) : 0;
}

static int extract(const char *tarball, const char *dir, uint32_t uid_shift, const char *only,
                   const char *const *skip, struct layer *layer, char **ret_error);

int rootfs_extract_part(const char *tarball, const char *dir, uint32_t uid_shift, const char *only,
                        const char *const *skip, char **ret_error) {
        return extract(tarball, dir, uid_shift, only, skip, NULL, ret_error);
}

int rootfs_apply_layer(const char *blob, const char *dir, uint32_t uid_shift, char **ret_error) {
        struct layer l = {};
        int r = extract(blob, dir, uid_shift, NULL, NULL, &l, ret_error);

        layer_done(&l);
        return r < 0 ? r : 0;
}

static int extract(const char *tarball, const char *dir, uint32_t uid_shift, const char *only,
                   const char *const *skip, struct layer *layer, char **ret_error) {
        struct archive *in = NULL, *out = NULL;
        struct archive_entry *entry;
        int r = 0, count = 0;

        if (!loaded(ret_error))
                return -EOPNOTSUPP;
        in = tar_reader();
        out = sym_archive_write_disk_new();

        if (!in || !out) {
                r = -ENOMEM;
                goto finish;
        }
        /* The flags that make extraction safe against a hostile tarball. */
        sym_archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                                                    ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                    ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        sym_archive_write_disk_set_standard_lookup(out);
        if (sym_archive_read_open_filename(in, tarball, 1 << 16) != ARCHIVE_OK) {
                r = fail(in, ret_error, -EIO);
                goto finish;
        }
        /* Entry names are prefixed with dir rather than changing directory: the thread pool
         * shares one working directory. Names are checked here since they are made absolute. */
        while ((r = sym_archive_read_next_header(in, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                _cleanup_free_ char *path = NULL, *hardlink = NULL;
                const char *name = sym_archive_entry_pathname(entry);
                const char *link = sym_archive_entry_hardlink(entry);

                if (!name || !name_is_safe(name)) {
                        if (ret_error)
                                *ret_error = hl_strdup_printf("unsafe entry %s", name ? name : "(unnamed)");
                        r = -EPERM;
                        goto finish;
                }
                {
                        bool skipped = false;
                        for (size_t i = 0; skip && skip[i] && !skipped; i++)
                                skipped = under(name, skip[i], NULL);
                        if (skipped)
                                continue;
                }
                if (layer) {
                        const char *clean = name, *base, *hidden = NULL;
                        int kind;

                        while (clean[0] == '.' && clean[1] == '/')
                                clean += 2;
                        base = strrchr(clean, '/');
                        /* "dir/" names the directory itself. */
                        if (base && !base[1]) {
                                _cleanup_free_ char *d = strndup(clean, (size_t) (base - clean));
                                r = d ? layer_wrote(layer, d) : -ENOMEM;
                                base = NULL;
                        } else {
                                base = base ? base + 1 : clean;
                                kind = hl_oci_whiteout(base, &hidden);
                                if (kind) {
                                        r = whiteout(layer, dir, clean, base, kind, hidden, ret_error);
                                        if (r < 0)
                                                goto finish;
                                        continue;
                                }
                                r = layer_wrote(layer, clean);
                        }
                        if (r < 0)
                                goto finish;
                        /* A file over a directory of the layers below, or the reverse: the
                         * lower one goes first (a directory over a directory merges). */
                        {
                                _cleanup_free_ char *p = hl_strdup_printf("%s/%s", dir, clean);
                                struct stat st;
                                if (p && *clean && path_is_plain(dir, clean) && lstat(p, &st) == 0 &&
                                    (S_ISDIR(st.st_mode) != (sym_archive_entry_filetype(entry) == AE_IFDIR)))
                                        (void) remove_path(p);
                        }
                }
                if (only) {
                        if (!under(name, only, &name))
                                continue;
                        /* A link to a file outside the part would be made outside dir. */
                        if (link && !under(link, only, &link)) {
                                if (ret_error)
                                        *ret_error = hl_strdup_printf("hard link %s leaves %s", sym_archive_entry_pathname(entry), only);
                                r = -EPERM;
                                goto finish;
                        }
                }
                /* Before the names are replaced: name and link point into the entry. */
                if (link && !name_is_safe(link)) {
                        if (ret_error)
                                *ret_error = hl_strdup_printf("unsafe hard link %s -> %s", name, link);
                        r = -EPERM;
                        goto finish;
                }
                if (link && !(hardlink = hl_strdup_printf("%s/%s", dir, link))) {
                        r = -ENOMEM;
                        goto finish;
                }
                path = name[0] ? hl_strdup_printf("%s/%s", dir, name) : strdup(dir);
                if (!path) {
                        r = -ENOMEM;
                        goto finish;
                }
                sym_archive_entry_set_pathname(entry, path);
                if (hardlink)
                        sym_archive_entry_set_hardlink(entry, hardlink);
                if (uid_shift) {
                        sym_archive_entry_set_uid(entry, sym_archive_entry_uid(entry) + uid_shift);
                        sym_archive_entry_set_gid(entry, sym_archive_entry_gid(entry) + uid_shift);
                }
                if (sym_archive_write_header(out, entry) < ARCHIVE_WARN) {
                        r = fail(out, ret_error, -EIO);
                        goto finish;
                }
                if (sym_archive_entry_size(entry) > 0) {
                        const void *buf;
                        size_t size;
                        la_int64_t offset;
                        int rr;

                        while ((rr = sym_archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
                                if (sym_archive_write_data_block(out, buf, size, offset) < ARCHIVE_OK) {
                                        r = fail(out, ret_error, -EIO);
                                        goto finish;
                                }
                        if (rr != ARCHIVE_EOF) {
                                r = fail(in, ret_error, -EIO);
                                goto finish;
                        }
                }
                if (sym_archive_write_finish_entry(out) < ARCHIVE_WARN) {
                        r = fail(out, ret_error, -EIO);
                        goto finish;
                }
                count++;
        }
        r = r == ARCHIVE_EOF ? count : fail(in, ret_error, -EIO);
finish:
        if (in)
                sym_archive_read_free(in);
        if (out)
                sym_archive_write_free(out);
        return r;
}

/* Copies the open file of entry (a disk reader's) into the archive, counting its bytes. */
static int pack_data(struct archive *disk, struct archive *out, uint64_t *progress, char **ret_error) {
        char buf[1 << 16];
        la_ssize_t n;

        while ((n = sym_archive_read_data(disk, buf, sizeof(buf))) > 0) {
                if (sym_archive_write_data(out, buf, (size_t) n) != n)
                        return fail(out, ret_error, -EIO);
                if (progress)
                        __atomic_add_fetch(progress, (uint64_t) n, __ATOMIC_RELAXED);
        }
        return n < 0 ? fail(disk, ret_error, -EIO) : 0;
}

static int pack_entry(struct archive *disk, struct archive *out, struct archive_entry *entry, uint64_t *progress,
                      char **ret_error) {
        if (sym_archive_write_header(out, entry) < ARCHIVE_WARN)
                return fail(out, ret_error, -EIO);
        if (sym_archive_entry_filetype(entry) == AE_IFREG && sym_archive_entry_size(entry) > 0 && !sym_archive_entry_hardlink(entry))
                return pack_data(disk, out, progress, ret_error);
        return 0;
}

/* One tree (or file) of the disk under the archive name prefix. */
static int pack_tree(struct archive *out, struct archive_entry_linkresolver *links, const char *path, const char *prefix,
                     uint64_t *progress, char **ret_error) {
        struct archive *disk = sym_archive_read_disk_new();
        struct archive_entry *entry = sym_archive_entry_new();
        size_t root = strlen(path);
        int r = 0, rr;

        if (!disk || !entry) {
                r = -ENOMEM;
                goto finish;
        }
        sym_archive_read_disk_set_standard_lookup(disk);
        /* Never into another file system (a mount under the rootfs), never through a link. */
        sym_archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_SPARSE);
        if (sym_archive_read_disk_open(disk, path) != ARCHIVE_OK) {
                r = fail(disk, ret_error, -EIO);
                goto finish;
        }
        while ((rr = sym_archive_read_next_header2(disk, entry)) == ARCHIVE_OK || rr == ARCHIVE_WARN) {
                _cleanup_free_ char *name = NULL;
                const char *on_disk = sym_archive_entry_pathname(entry);
                struct archive_entry *sparse = NULL, *e = entry;

                sym_archive_read_disk_descend(disk);
                if (!on_disk || strncmp(on_disk, path, root) != 0) {
                        r = -EIO;
                        goto finish;
                }
                name = hl_strdup_printf("%s%s", prefix, on_disk + root);
                if (!name) {
                        r = -ENOMEM;
                        goto finish;
                }
                sym_archive_entry_set_pathname(entry, name);
                /* A hard link's second name is written as a link to the first. */
                sym_archive_entry_linkify(links, &e, &sparse);
                if (e && (r = pack_entry(disk, out, e, progress, ret_error)) < 0)
                        goto finish;
                if (e && e != entry)
                        sym_archive_entry_free(e);
        }
        if (rr != ARCHIVE_EOF)
                r = fail(disk, ret_error, -EIO);
finish:
        if (entry)
                sym_archive_entry_free(entry);
        if (disk)
                sym_archive_read_free(disk);
        return r;
}

int rootfs_pack(int fd, const struct rootfs_pack_item *items, size_t n, uint64_t *progress, char **ret_error) {
        struct archive *out;
        struct archive_entry_linkresolver *links;
        int r = 0;

        if (!loaded(ret_error))
                return -EOPNOTSUPP;
        out = sym_archive_write_new();
        links = sym_archive_entry_linkresolver_new();
        if (!out || !links) {
                r = -ENOMEM;
                goto finish;
        }
        /* pax keeps long names, xattrs and ACLs; plain tar --zstd reads it. */
        if (sym_archive_write_set_format_pax_restricted(out) != ARCHIVE_OK ||
            sym_archive_write_add_filter_zstd(out) != ARCHIVE_OK) {
                r = fail(out, ret_error, -EOPNOTSUPP);
                goto finish;
        }
        (void) sym_archive_write_set_filter_option(out, "zstd", "compression-level", "3");
        /* One worker, as vzdump's default: compression overlaps the reading, as tar | zstd
         * does, and leaves the other cores to the services. */
        (void) sym_archive_write_set_filter_option(out, "zstd", "threads", "1");
        sym_archive_entry_linkresolver_set_strategy(links, sym_archive_format(out));
        if (sym_archive_write_open_fd(out, fd) != ARCHIVE_OK) {
                r = fail(out, ret_error, -EIO);
                goto finish;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                /* Links only within an item: each tree can be unpacked alone. */
                if (i > 0) {
                        sym_archive_entry_linkresolver_free(links);
                        links = sym_archive_entry_linkresolver_new();
                        if (!links) {
                                r = -ENOMEM;
                                break;
                        }
                        sym_archive_entry_linkresolver_set_strategy(links, sym_archive_format(out));
                }
                r = pack_tree(out, links, items[i].path, items[i].name, progress, ret_error);
        }
        if (r >= 0 && sym_archive_write_close(out) != ARCHIVE_OK)
                r = fail(out, ret_error, -EIO);
finish:
        if (links)
                sym_archive_entry_linkresolver_free(links);
        if (out)
                sym_archive_write_free(out);
        return r;
}

int rootfs_copy(const char *from, const char *to, uint64_t *progress, char **ret_error) {
        struct archive *disk = NULL, *out = NULL;
        struct archive_entry *entry = NULL;
        struct archive_entry_linkresolver *links = NULL;
        size_t root = strlen(from);
        int r = 0, rr;

        if (!loaded(ret_error))
                return -EOPNOTSUPP;
        disk = sym_archive_read_disk_new();
        out = sym_archive_write_disk_new();
        entry = sym_archive_entry_new();
        links = sym_archive_entry_linkresolver_new();
        if (!disk || !out || !entry || !links) {
                r = -ENOMEM;
                goto finish;
        }
        sym_archive_read_disk_set_standard_lookup(disk);
        sym_archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_SPARSE);
        /* As the unpacking of a tarball: owners, modes, times, xattrs, ACLs, never through
         * a link that the tree being written holds. */
        sym_archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                                                    ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                    ARCHIVE_EXTRACT_SECURE_NODOTDOT);
        sym_archive_write_disk_set_standard_lookup(out);
        /* Hard links as pax keeps them: the second name a link to the first. */
        sym_archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        if (sym_archive_read_disk_open(disk, from) != ARCHIVE_OK) {
                r = fail(disk, ret_error, -EIO);
                goto finish;
        }
        while ((rr = sym_archive_read_next_header2(disk, entry)) == ARCHIVE_OK || rr == ARCHIVE_WARN) {
                _cleanup_free_ char *name = NULL;
                const char *on_disk = sym_archive_entry_pathname(entry);
                struct archive_entry *sparse = NULL, *e = entry;

                sym_archive_read_disk_descend(disk);
                if (!on_disk || strncmp(on_disk, from, root) != 0) {
                        r = -EIO;
                        goto finish;
                }
                name = hl_strdup_printf("%s%s", to, on_disk + root);
                if (!name) {
                        r = -ENOMEM;
                        goto finish;
                }
                sym_archive_entry_set_pathname(entry, name);
                sym_archive_entry_linkify(links, &e, &sparse);
                if (e) {
                        if (sym_archive_write_header(out, e) < ARCHIVE_WARN)
                                r = fail(out, ret_error, -EIO);
                        else if (sym_archive_entry_filetype(e) == AE_IFREG && sym_archive_entry_size(e) > 0 &&
                                 !sym_archive_entry_hardlink(e))
                                r = pack_data(disk, out, progress, ret_error);
                        if (r >= 0 && sym_archive_write_finish_entry(out) < ARCHIVE_WARN)
                                r = fail(out, ret_error, -EIO);
                        if (e != entry)
                                sym_archive_entry_free(e);
                        if (r < 0)
                                goto finish;
                }
        }
        if (rr != ARCHIVE_EOF)
                r = fail(disk, ret_error, -EIO);
finish:
        if (links)
                sym_archive_entry_linkresolver_free(links);
        if (entry)
                sym_archive_entry_free(entry);
        if (disk)
                sym_archive_read_free(disk);
        if (out)
                sym_archive_write_free(out);
        return r;
}

int rootfs_read_first(const char *tarball, const char *name, size_t max, char **ret, char **ret_error) {
        struct archive *in;
        struct archive_entry *entry;
        char *text = NULL;
        la_ssize_t n;
        int r = 0;

        if (!loaded(ret_error))
                return -EOPNOTSUPP;
        in = tar_reader();
        if (!in)
                return -ENOMEM;
        if (sym_archive_read_open_filename(in, tarball, 1 << 16) != ARCHIVE_OK ||
            sym_archive_read_next_header(in, &entry) < ARCHIVE_WARN) {
                r = fail(in, ret_error, -EINVAL);
                goto finish;
        }
        if (!sym_archive_entry_pathname(entry) || strcmp(sym_archive_entry_pathname(entry), name) != 0 ||
            sym_archive_entry_filetype(entry) != AE_IFREG || sym_archive_entry_size(entry) < 0 ||
            (uint64_t) sym_archive_entry_size(entry) > max) {
                if (ret_error)
                        *ret_error = hl_strdup_printf("its first entry is not %s of at most %zu bytes", name, max);
                r = -EINVAL;
                goto finish;
        }
        text = calloc(1, (size_t) sym_archive_entry_size(entry) + 1);
        if (!text) {
                r = -ENOMEM;
                goto finish;
        }
        n = sym_archive_read_data(in, text, (size_t) sym_archive_entry_size(entry));
        if (n != sym_archive_entry_size(entry)) {
                free(text);
                r = fail(in, ret_error, -EIO);
                goto finish;
        }
        *ret = text;
finish:
        sym_archive_read_free(in);
        return r;
}

int rootfs_check(const char *tarball, char **ret_error) {
        _cleanup_close_ int fd = open(tarball, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct archive *in;
        struct archive_entry *entry;
        struct stat st;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                *ret_error = hl_strdup_printf("cannot read %s: %s", tarball, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                *ret_error = hl_strdup_printf("%s is not a regular file (a rootfs tarball is)", tarball);
                return -EINVAL;
        }
        if (!loaded(ret_error))
                return -EOPNOTSUPP;
        in = tar_reader();
        if (!in)
                return -ENOMEM;
        /* The first header says whether it is a tar archive in a compression libarchive
         * reads: enough to refuse /dev/zero or a README before any create. */
        if (sym_archive_read_open_fd(in, fd, 1 << 16) != ARCHIVE_OK ||
            sym_archive_read_next_header(in, &entry) < ARCHIVE_WARN) {
                *ret_error = hl_strdup_printf("%s is not a rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst): %s", tarball,
                                              sym_archive_error_string(in) ? sym_archive_error_string(in) : "unreadable");
                sym_archive_read_free(in);
                return -EINVAL;
        }
        sym_archive_read_free(in);
        return 0;
}
