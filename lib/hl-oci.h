/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* OCI images (image-spec 1.0) as hl reads them, from an image layout directory or an
 * oci-archive (that directory as a tar): the index's manifest for a tag, the manifest's
 * config and layers, and the config's process. Only parsing and checking here, of bytes
 * that are the image's and may be hostile: every error says what and where. The blobs are
 * read and their digests checked by hld (daemon/oci.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_OCI_MAX_JSON (4u * 1024u * 1024u) /* an index, manifest or config */
#define HL_OCI_MAX_LAYERS 256

/* PATH[:TAG] of Template=oci:…: the path (malloc'd) and the tag in ref (NULL: none); a
 * last ':' followed by no '/' starts the tag. */
int hl_oci_reference(const char *ref, char **ret_path, const char **ret_tag);

/* "sha256:" and 64 lower-case hex digits: the only algorithm hl checks. */
bool hl_oci_digest_is_valid(const char *digest);

/* The manifest of tag (NULL: the index's only manifest) in an index.json: its digest,
 * malloc'd. -ENOENT with the tags there are when none is tag's, -EINVAL for an index that
 * is not one. */
int hl_oci_index_find(const char *json, size_t len, const char *tag, char **ret_digest, char **ret_error);

struct hl_oci_layer {
        char *digest;
        int64_t size;
        bool gzip, zstd; /* else a plain tar */
};

struct hl_oci_manifest {
        char *config_digest;
        struct hl_oci_layer *layers;
        size_t n_layers;
};

int hl_oci_manifest_parse(const char *json, size_t len, struct hl_oci_manifest *ret, char **ret_error);
void hl_oci_manifest_done(struct hl_oci_manifest *m);

/* The process an image's config runs, as LXC is told it (Proxmox's and Incus's mapping):
 * argv is Entrypoint then Cmd; env NAME=VALUE; user "uid[:gid]" or a name; stop_signal a
 * number (0: not said). */
struct hl_oci_config {
        char **argv;
        char **env;
        char *user;
        char *cwd;
        int stop_signal;
        char **exposed; /* "80/tcp": documented, never opened */
};

/* Refuses an image of another os or architecture than arch (Go's names: amd64, arm64). */
int hl_oci_config_parse(const char *json, size_t len, const char *arch, struct hl_oci_config *ret, char **ret_error);
void hl_oci_config_done(struct hl_oci_config *c);

/* The signal of a StopSignal value ("SIGTERM", "TERM", "15"); 0 when it is none. */
int hl_oci_signal(const char *name);

/* A layer entry's name as a whiteout: 1 for ".wh.NAME" (NAME in *ret_name, within the
 * entry's directory), 2 for the opaque ".wh..wh..opq", 0 for an ordinary entry. */
int hl_oci_whiteout(const char *basename, const char **ret_name);

/* Go's name of this machine's architecture (amd64, arm64, …). */
const char *hl_oci_host_arch(void);
