/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Template=oci:PATH[:TAG]: an OCI image made a container's root file system, and what its
 * config says to run made LXC keys. PATH is an image layout directory (what `umoci init` or
 * `skopeo copy … oci:DIR:TAG` make) or an oci-archive (that directory as a tar: `skopeo
 * copy … oci-archive:FILE`, what Proxmox takes), unpacked beside the container first. Every
 * blob is read through its digest before it is used; the parsing is lib/hl-oci.c's, the
 * layers rootfs.c's. Runs in a create's helper process: blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hl-oci.h"
#include "hl-util.h"
#include "oci.h"
#include "rootfs.h"

/* A blob of the layout: a regular file named by its digest, never through a symlink. */
static int blob_path(const char *layout, const char *digest, char **ret, char **ret_error) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/blobs/sha256", layout);
        struct stat st;

        if (!dir)
                return -ENOMEM;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return hl_fail(ret_error, -ENOENT, "the image has no blobs/sha256 directory");
        *ret = hl_strdup_printf("%s/%s", dir, digest + strlen("sha256:"));
        if (!*ret)
                return -ENOMEM;
        if (lstat(*ret, &st) < 0 || !S_ISREG(st.st_mode))
                return hl_fail(ret_error, -ENOENT, "the image lacks the blob %.19s…", digest);
        return 0;
}

/* Reads the blob at path through its digest: its size must be size (-1: any) and its
 * SHA-256 the digest's. With ret, its content (at most max bytes) too. */
static int verify(const char *path, const char *digest, int64_t size, size_t max, char **ret, size_t *ret_len,
                  char **ret_error) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *content = NULL;
        struct hl_sha256 h;
        char hex[65], buf[1 << 16];
        uint64_t total = 0;
        ssize_t n;

        if (fd < 0)
                return hl_fail(ret_error, -errno, "cannot read the blob %.19s…: %s", digest, strerror(errno));
        hl_sha256_init(&h);
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                hl_sha256_update(&h, buf, (size_t) n);
                if (ret) {
                        char *p;
                        if (total + (uint64_t) n > max)
                                return hl_fail(ret_error, -EFBIG, "the blob %.19s… is larger than %zu bytes", digest, max);
                        p = realloc(content, total + (size_t) n + 1);
                        if (!p)
                                return -ENOMEM;
                        content = p;
                        memcpy(content + total, buf, (size_t) n);
                }
                total += (uint64_t) n;
        }
        if (n < 0)
                return hl_fail(ret_error, -errno, "cannot read the blob %.19s…: %s", digest, strerror(errno));
        if (size >= 0 && total != (uint64_t) size)
                return hl_fail(ret_error, -EBADMSG, "the blob %.19s… has %llu bytes, its manifest says %lld", digest,
                               (unsigned long long) total, (long long) size);
        hl_sha256_final_hex(&h, hex);
        if (strcmp(hex, digest + strlen("sha256:")) != 0)
                return hl_fail(ret_error, -EBADMSG, "the blob %.19s… does not match its digest (it is sha256:%.12s…)",
                               digest, hex);
        if (ret) {
                if (!content && !(content = strdup("")))
                        return -ENOMEM;
                content[total] = 0;
                *ret = TAKE_PTR(content);
                *ret_len = (size_t) total;
        }
        return 0;
}

static int read_blob(const char *layout, const char *digest, int64_t size, char **ret, size_t *ret_len,
                     char **ret_error) {
        _cleanup_free_ char *path = NULL;
        int r = blob_path(layout, digest, &path, ret_error);

        return r < 0 ? r : verify(path, digest, size, HL_OCI_MAX_JSON, ret, ret_len, ret_error);
}

int oci_unpack(const char *ref, const char *rootfs, const char *workdir, uint32_t uid_shift,
               struct hl_oci_config *ret_config, char **ret_error) {
        _cleanup_free_ char *path = NULL, *layout = NULL, *index = NULL, *digest = NULL, *manifest = NULL, *config = NULL;
        _cleanup_free_ char *error = NULL;
        struct hl_oci_manifest m = {};
        struct hl_oci_config c = {};
        const char *tag;
        struct stat st;
        size_t len;
        int r;

        if (hl_oci_reference(ref, &path, &tag) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return hl_fail(ret_error, -errno, "no OCI image at %s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
                layout = strdup(path);
        else if (S_ISREG(st.st_mode)) {
                /* An oci-archive: the layout it holds, unpacked beside the container. */
                layout = hl_strdup_printf("%s/oci-image", workdir);
                if (!layout)
                        return -ENOMEM;
                (void) rootfs_remove_tree(layout);
                if (mkdir(layout, 0700) < 0)
                        return hl_fail(ret_error, -errno, "cannot make %s: %s", layout, strerror(errno));
                r = rootfs_extract(path, layout, 0, &error);
                if (r < 0) {
                        (void) rootfs_remove_tree(layout);
                        return hl_fail(ret_error, r, "%s is not an oci-archive: %s", path, error ? error : strerror(-r));
                }
        } else
                return hl_fail(ret_error, -EINVAL, "%s is neither an OCI image layout nor an oci-archive", path);
        if (!layout)
                return -ENOMEM;

        {
                _cleanup_free_ char *p = hl_strdup_printf("%s/index.json", layout);
                r = p ? hl_read_file(p, HL_OCI_MAX_JSON, &index, &len) : -ENOMEM;
                if (r < 0)
                        r = hl_fail(ret_error, r, "%s has no index.json: not an OCI image layout", path);
        }
        if (r >= 0)
                r = hl_oci_index_find(index, len, tag, &digest, ret_error);
        if (r >= 0)
                r = read_blob(layout, digest, -1, &manifest, &len, ret_error);
        if (r >= 0)
                r = hl_oci_manifest_parse(manifest, len, &m, ret_error);
        if (r >= 0)
                r = read_blob(layout, m.config_digest, -1, &config, &len, ret_error);
        if (r >= 0)
                r = hl_oci_config_parse(config, len, hl_oci_host_arch(), &c, ret_error);
        for (size_t i = 0; r >= 0 && i < m.n_layers; i++) {
                _cleanup_free_ char *blob = NULL;
                free(TAKE_PTR(error));
                r = blob_path(layout, m.layers[i].digest, &blob, ret_error);
                if (r >= 0)
                        r = verify(blob, m.layers[i].digest, m.layers[i].size, 0, NULL, NULL, ret_error);
                if (r >= 0) {
                        r = rootfs_apply_layer(blob, rootfs, uid_shift, &error);
                        if (r < 0)
                                hl_fail(ret_error, r, "layer %zu of %zu: %s", i + 1, m.n_layers, error ? error : strerror(-r));
                }
        }
        hl_oci_manifest_done(&m);
        if (!S_ISDIR(st.st_mode))
                (void) rootfs_remove_tree(layout);
        if (r < 0) {
                hl_oci_config_done(&c);
                return r;
        }
        *ret_config = c;
        return 0;
}
