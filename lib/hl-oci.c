/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hl-macro.h"
#include "hl-oci.h"
#include "hl-util.h"

#define MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define LAYER_TYPE "application/vnd.oci.image.layer.v1.tar"
#define DOCKER_LAYER_TYPE "application/vnd.docker.image.rootfs.diff.tar"

int hl_oci_reference(const char *ref, char **ret_path, const char **ret_tag) {
        const char *colon = strrchr(ref, ':');

        if (colon && !strchr(colon, '/')) {
                *ret_path = strndup(ref, (size_t) (colon - ref));
                *ret_tag = colon + 1;
        } else {
                *ret_path = strdup(ref);
                *ret_tag = NULL;
        }
        return *ret_path ? 0 : -ENOMEM;
}

bool hl_oci_digest_is_valid(const char *digest) {
        if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
                return false;
        return strspn(digest + 7, "0123456789abcdef") == 64;
}

static json_t *load(const char *json, size_t len, const char *what, char **ret_error) {
        json_error_t e;
        json_t *j;

        if (len > HL_OCI_MAX_JSON) {
                hl_fail(ret_error, -EFBIG, "%s is larger than %u bytes", what, HL_OCI_MAX_JSON);
                return NULL;
        }
        j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
        if (!j)
                hl_fail(ret_error, -EINVAL, "%s is not JSON: line %d: %s", what, e.line, e.text);
        else if (!json_is_object(j)) {
                hl_fail(ret_error, -EINVAL, "%s is not a JSON object", what);
                json_decref(j);
                j = NULL;
        }
        return j;
}

static const char *string_of(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

int hl_oci_index_find(const char *json, size_t len, const char *tag, char **ret_digest, char **ret_error) {
        _cleanup_(json_decrefp) json_t *j = load(json, len, "index.json", ret_error);
        json_t *manifests, *m, *found = NULL;
        struct hl_text tags = {};
        size_t i, n = 0;

        if (!j)
                return -EINVAL;
        manifests = json_object_get(j, "manifests");
        if (!json_is_array(manifests))
                return hl_fail(ret_error, -EINVAL, "index.json has no manifests");
        json_array_foreach(manifests, i, m) {
                const char *ref = string_of(json_object_get(m, "annotations"), "org.opencontainers.image.ref.name");
                const char *type = string_of(m, "mediaType");

                if (!json_is_object(m) || (type && strcmp(type, MANIFEST_TYPE) != 0))
                        continue;
                n++;
                if (ref)
                        hl_text_add(&tags, "%s%s", tags.len ? ", " : "", ref);
                if (tag ? ref && strcmp(ref, tag) == 0 : true)
                        found = found && !tag ? found : m;
        }
        if (!tag && n > 1) {
                _cleanup_free_ char *t = hl_text_take(&tags);
                return hl_fail(ret_error, -ENOENT, "the image has %zu manifests (%s): say which, oci:PATH:TAG", n,
                               t ? t : "");
        }
        if (!found) {
                _cleanup_free_ char *t = hl_text_take(&tags);
                return tag ? hl_fail(ret_error, -ENOENT, "the image has no tag %s (it has: %s)", tag, t && *t ? t : "none")
                           : hl_fail(ret_error, -ENOENT, "the image has no manifest");
        }
        free(hl_text_take(&tags));
        if (!hl_oci_digest_is_valid(string_of(found, "digest")))
                return hl_fail(ret_error, -EINVAL, "the manifest's digest is not sha256:HEX");
        *ret_digest = strdup(string_of(found, "digest"));
        return *ret_digest ? 0 : -ENOMEM;
}

void hl_oci_manifest_done(struct hl_oci_manifest *m) {
        for (size_t i = 0; i < m->n_layers; i++)
                free(m->layers[i].digest);
        free(m->layers);
        free(m->config_digest);
        *m = (struct hl_oci_manifest) {};
}

int hl_oci_manifest_parse(const char *json, size_t len, struct hl_oci_manifest *ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *j = load(json, len, "the manifest", ret_error);
        struct hl_oci_manifest m = {};
        json_t *layers, *l;
        size_t i;

        if (!j)
                return -EINVAL;
        if (json_integer_value(json_object_get(j, "schemaVersion")) != 2)
                return hl_fail(ret_error, -EINVAL, "the manifest is not of schema version 2");
        if (!hl_oci_digest_is_valid(string_of(json_object_get(j, "config"), "digest")))
                return hl_fail(ret_error, -EINVAL, "the manifest's config has no sha256 digest");
        layers = json_object_get(j, "layers");
        if (!json_is_array(layers))
                return hl_fail(ret_error, -EINVAL, "the manifest has no layers");
        if (json_array_size(layers) > HL_OCI_MAX_LAYERS)
                return hl_fail(ret_error, -E2BIG, "the manifest has more than %d layers", HL_OCI_MAX_LAYERS);
        m.config_digest = strdup(string_of(json_object_get(j, "config"), "digest"));
        m.layers = calloc(json_array_size(layers) + 1, sizeof(*m.layers));
        if (!m.config_digest || !m.layers) {
                hl_oci_manifest_done(&m);
                return -ENOMEM;
        }
        json_array_foreach(layers, i, l) {
                const char *type = string_of(l, "mediaType"), *digest = string_of(l, "digest");
                json_t *size = json_object_get(l, "size");
                struct hl_oci_layer *x = &m.layers[m.n_layers];

                if (!type || (strncmp(type, LAYER_TYPE, strlen(LAYER_TYPE)) != 0 &&
                              strncmp(type, DOCKER_LAYER_TYPE, strlen(DOCKER_LAYER_TYPE)) != 0)) {
                        hl_oci_manifest_done(&m);
                        return hl_fail(ret_error, -EINVAL, "layer %zu is of type %s, not a tar layer", i + 1,
                                       type ? type : "(none)");
                }
                if (!hl_oci_digest_is_valid(digest) || !json_is_integer(size) || json_integer_value(size) < 0) {
                        hl_oci_manifest_done(&m);
                        return hl_fail(ret_error, -EINVAL, "layer %zu has no sha256 digest or size", i + 1);
                }
                x->digest = strdup(digest);
                if (!x->digest) {
                        hl_oci_manifest_done(&m);
                        return -ENOMEM;
                }
                x->size = json_integer_value(size);
                x->gzip = strstr(type, "gzip") != NULL;
                x->zstd = strstr(type, "zstd") != NULL;
                m.n_layers++;
        }
        if (m.n_layers == 0) {
                hl_oci_manifest_done(&m);
                return hl_fail(ret_error, -EINVAL, "the manifest has no layers");
        }
        *ret = m;
        return 0;
}

void hl_oci_config_done(struct hl_oci_config *c) {
        hl_strv_free(c->argv);
        hl_strv_free(c->env);
        hl_strv_free(c->exposed);
        free(c->user);
        free(c->cwd);
        *c = (struct hl_oci_config) {};
}

/* An array of strings, each without NUL or newline (it becomes a config line). */
static int strings(json_t *a, const char *what, char ***v, char **ret_error) {
        size_t i;
        json_t *x;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return hl_fail(ret_error, -EINVAL, "the config's %s is not a list of strings", what);
        json_array_foreach(a, i, x) {
                const char *s = json_string_value(x);
                if (!s || strlen(s) != json_string_length(x) || strpbrk(s, "\n\r"))
                        return hl_fail(ret_error, -EINVAL, "the config's %s holds something that is not one line of text",
                                       what);
                if (hl_strv_push(v, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int hl_oci_signal(const char *name) {
        static const struct {
                const char *name;
                int sig;
        } signals[] = {
                { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
                { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "WINCH", SIGWINCH },
                { "PWR", SIGPWR },   { "STOP", SIGSTOP },
        };
        char *end = NULL;
        long n;

        if (!name || !*name)
                return 0;
        n = strtol(name, &end, 10);
        if (end != name && !*end)
                return n > 0 && n < 65 ? (int) n : -EINVAL;
        if (strncmp(name, "SIG", 3) == 0)
                name += 3;
        for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcmp(name, signals[i].name) == 0)
                        return signals[i].sig;
        return -EINVAL;
}

int hl_oci_config_parse(const char *json, size_t len, const char *arch, struct hl_oci_config *ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *j = load(json, len, "the image config", ret_error);
        struct hl_oci_config c = {};
        const char *os, *a, *user, *cwd, *stop;
        json_t *cfg, *ports;
        int r;

        if (!j)
                return -EINVAL;
        os = string_of(j, "os");
        a = string_of(j, "architecture");
        if (!os || strcmp(os, "linux") != 0)
                return hl_fail(ret_error, -EINVAL, "the image is for %s, not linux", os ? os : "no os");
        if (arch && (!a || strcmp(a, arch) != 0))
                return hl_fail(ret_error, -EINVAL, "the image is for %s, and this node is %s", a ? a : "no architecture",
                               arch);
        cfg = json_object_get(j, "config");
        if (cfg && !json_is_object(cfg) && !json_is_null(cfg))
                return hl_fail(ret_error, -EINVAL, "the image config's config is not an object");
        r = strings(json_object_get(cfg, "Entrypoint"), "Entrypoint", &c.argv, ret_error);
        if (r >= 0)
                r = strings(json_object_get(cfg, "Cmd"), "Cmd", &c.argv, ret_error);
        if (r >= 0)
                r = strings(json_object_get(cfg, "Env"), "Env", &c.env, ret_error);
        for (char **e = c.env; r >= 0 && e && *e; e++)
                if (!strchr(*e, '=') || **e == '=')
                        r = hl_fail(ret_error, -EINVAL, "the config's Env holds \"%.80s\", which is not NAME=VALUE", *e);
        if (r < 0) {
                hl_oci_config_done(&c);
                return r;
        }
        if (!c.argv) {
                hl_oci_config_done(&c);
                return hl_fail(ret_error, -EINVAL, "the image says nothing to run (no Entrypoint or Cmd)");
        }
        user = string_of(cfg, "User");
        cwd = string_of(cfg, "WorkingDir");
        stop = string_of(cfg, "StopSignal");
        if ((user && (strpbrk(user, "\n\r/ ") || strlen(user) > 64)) || (cwd && (cwd[0] != '/' || strpbrk(cwd, "\n\r")))) {
                hl_oci_config_done(&c);
                return hl_fail(ret_error, -EINVAL, "the config's User or WorkingDir is not a user or an absolute path");
        }
        c.stop_signal = hl_oci_signal(stop);
        if (c.stop_signal < 0) {
                hl_oci_config_done(&c);
                return hl_fail(ret_error, -EINVAL, "the config's StopSignal %.40s is no signal", stop);
        }
        if ((user && *user && !(c.user = strdup(user))) || (cwd && !(c.cwd = strdup(cwd)))) {
                hl_oci_config_done(&c);
                return -ENOMEM;
        }
        ports = json_object_get(cfg, "ExposedPorts");
        if (json_is_object(ports)) {
                const char *port;
                json_t *v;
                json_object_foreach(ports, port, v)
                        if (!strpbrk(port, "\n\r") && hl_strv_push(&c.exposed, port) < 0) {
                                hl_oci_config_done(&c);
                                return -ENOMEM;
                        }
        }
        *ret = c;
        return 0;
}

int hl_oci_whiteout(const char *basename, const char **ret_name) {
        if (strcmp(basename, ".wh..wh..opq") == 0)
                return 2;
        if (strncmp(basename, ".wh.", 4) == 0 && basename[4]) {
                *ret_name = basename + 4;
                return 1;
        }
        return 0;
}

const char *hl_oci_host_arch(void) {
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#elif defined(__arm__)
        return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64le";
#elif defined(__s390x__)
        return "s390x";
#else
        return NULL;
#endif
}
