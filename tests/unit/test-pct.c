/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Proxmox container configs turned into definitions: golden files for the six services of
 * the seed lab (data/pct/VMID.conf → VMID.ok: the definition, then every key's fate), which
 * between them use every key of Proxmox's format; and bad configs, each with every error.
 * HL_UPDATE_GOLDEN=1 writes the .ok files afresh; then read the diff. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>

#include "hl-def.h"
#include "hl-pct.h"
#include "hl-util.h"
#include "test.h"

#define TEMPLATE "/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst"

static const struct hl_pct_options options = { .template = TEMPLATE, .arch = "amd64" };

static char *report(const struct hl_pct *p) {
        struct hl_text t = {};

        hl_text_add(&t, "%s---\n", p->definition);
        for (size_t i = 0; i < p->n_keys; i++) {
                const struct hl_pct_key *k = &p->keys[i];
                _cleanup_free_ char *to = k->to ? strdup(k->to) : NULL;

                for (char *c = to; c && *c; c++)
                        if (*c == '\n')
                                *c = '|';
                hl_text_add(&t, "%u %s: %s%s%s%s%s%s\n", k->line, k->key, hl_pct_fate_to_string(k->fate), to ? " -> " : "",
                            to ? to : "", k->why ? " (" : "", k->why ? k->why : "", k->why ? ")" : "");
        }
        hl_text_add(&t, "snapshots %u, pending %s\n", p->snapshots, p->pending ? "yes" : "no");
        return hl_text_take(&t);
}

static const struct hl_pct_key *key_of(const struct hl_pct *p, const char *key) {
        for (size_t i = 0; i < p->n_keys; i++)
                if (strcmp(p->keys[i].key, key) == 0)
                        return &p->keys[i];
        return NULL;
}

static int by_name(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

TEST(golden_imports) {
        const char *data = getenv("HL_TEST_DATA");
        bool update = getenv("HL_UPDATE_GOLDEN") != NULL;
        _cleanup_free_ char *dir = data ? hl_strdup_printf("%s/pct", data) : NULL;
        char *names[64];
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        ASSERT_TRUE(dir != NULL);
        d = opendir(dir);
        ASSERT_TRUE(d != NULL);
        while ((de = readdir(d)) && n < HL_ELEMENTSOF(names))
                if (strlen(de->d_name) > 5 && strcmp(de->d_name + strlen(de->d_name) - 5, ".conf") == 0)
                        names[n++] = strndup(de->d_name, strlen(de->d_name) - 5);
        closedir(d);
        qsort(names, n, sizeof(*names), by_name);
        ASSERT_INT_EQ(n, 6);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *conf = hl_strdup_printf("%s/%s.conf", dir, names[i]);
                _cleanup_free_ char *ok = hl_strdup_printf("%s/%s.ok", dir, names[i]);
                _cleanup_free_ char *text = NULL, *expected = NULL, *got = NULL;
                _cleanup_(hl_pct_freep) struct hl_pct *p = NULL;
                _cleanup_(hl_def_freep) struct hl_def *def = NULL;
                struct hl_pct_options o = options;
                struct hl_errors e = {};
                struct hl_def_error de1 = {};
                size_t len;

                o.vmid = names[i];
                ASSERT_TRUE(hl_read_file(conf, HL_PCT_MAX_SIZE, &text, &len) >= 0);
                if (hl_pct_import(conf, text, len, &o, &p, &e) < 0) {
                        char line[1024];
                        for (size_t k = 0; k < e.n; k++)
                                fprintf(stderr, "%s\n", hl_def_error_format(&e.items[k], line, sizeof(line)));
                        ASSERT_TRUE(false);
                }
                /* What it made is a definition hl accepts. */
                ASSERT_INT_EQ(hl_def_parse(p->name, "x.conf", p->definition, strlen(p->definition), &def, &de1), 0);
                got = report(p);
                ASSERT_TRUE(got != NULL);
                if (update) {
                        FILE *f = fopen(ok, "we");
                        ASSERT_TRUE(f != NULL);
                        fputs(got, f);
                        fclose(f);
                } else {
                        ASSERT_TRUE(hl_read_file(ok, 1 << 20, &expected, NULL) >= 0);
                        if (strcmp(got, expected) != 0)
                                fprintf(stderr, "%s: differs:\n--- expected\n%s--- got\n%s", ok, expected, got);
                        ASSERT_STR_EQ(got, expected);
                }
                hl_errors_done(&e);
                free(names[i]);
        }
}

/* Every error of a file, each at its line and key, and nothing made. */
static void expect_errors(const char *text, const struct hl_pct_options *o, const char *const *want, size_t n_want) {
        _cleanup_(hl_pct_freep) struct hl_pct *p = NULL;
        struct hl_errors e = {};
        char line[1024];
        int r = hl_pct_import("100.conf", text, strlen(text), o, &p, &e);

        if (r != -EINVAL || e.n != n_want)
                for (size_t k = 0; k < e.n; k++)
                        fprintf(stderr, "  got: %s\n", hl_def_error_format(&e.items[k], line, sizeof(line)));
        ASSERT_INT_EQ(r, -EINVAL);
        ASSERT_TRUE(p == NULL);
        ASSERT_INT_EQ(e.n, n_want);
        for (size_t k = 0; k < n_want; k++)
                ASSERT_STR_EQ(hl_def_error_format(&e.items[k], line, sizeof(line)), want[k]);
        hl_errors_done(&e);
}

TEST(bad_configs) {
        static const char *const malformed[] = {
                "100.conf:2: memory: \"lots\" is not a size in MiB (at least 16)",
                "100.conf:3: frobnicate: not a key of Proxmox's container config",
                "100.conf:4: \"this is no line\" is not KEY: VALUE",
                "100.conf:5: cores: given twice (first on line 1)",
                "100.conf:6: net0: \"bridge\" is not OPTION=VALUE,…",
                "100.conf:7: net1: colour is not an option of a Proxmox network interface",
                "100.conf:8: mp0: no mp=: where it is mounted in the container",
                "100.conf:9: arch: the container is built for arm64, and this node is amd64",
                "100.conf:10: net12345: not a key of Proxmox's container config",
        };
        expect_errors("cores: 2\nmemory: lots\nfrobnicate: 1\nthis is no line\ncores: 3\nnet0: bridge\n"
                      "net1: bridge=vmbr0,colour=red\nmp0: /srv/x,ro=1\narch: arm64\nnet12345: bridge=x\n",
                      &options, malformed, HL_ELEMENTSOF(malformed));

        /* hl's own parser has the last word on values, at the pct line they came from. */
        static const char *const values[] = {
                "100.conf:2: net0: Network: ip \"300.1.1.1/24\" is not IPv4 ADDRESS/PREFIX or dhcp",
                "100.conf:3: mp0: Mount: source \"/srv/../etc\" is not an absolute path without \".\", \"..\" or spaces "
                "(Mount=SOURCE:TARGET[:ro|rw|backup,…])",
        };
        expect_errors("hostname: web\nnet0: name=eth0,bridge=vmbr0,ip=300.1.1.1/24\nmp0: /srv/../etc,mp=/data\n",
                      &options, values, HL_ELEMENTSOF(values));

        static const char *const names[] = {
                "100.conf:1: hostname: \"1234\" does not make a service name (a-z, 0-9 and '-', not all digits): import it "
                "with --name",
        };
        expect_errors("hostname: 1234\n", &options, names, 1);

        static const char *const nul[] = { "100.conf: holds a NUL byte: not a config" };
        {
                _cleanup_(hl_pct_freep) struct hl_pct *p = NULL;
                struct hl_errors e = {};
                char line[1024];
                ASSERT_INT_EQ(hl_pct_import("100.conf", "cores: 1\0x", 10, &options, &p, &e), -EINVAL);
                ASSERT_INT_EQ(e.n, 1);
                ASSERT_STR_EQ(hl_def_error_format(&e.items[0], line, sizeof(line)), nul[0]);
                hl_errors_done(&e);
        }
}

TEST(onboot_off) {
        _cleanup_free_ char *a = hl_pct_onboot_off("#desc\narch: amd64\nonboot: 1\nmemory: 512\n\n[snap]\nonboot: 1\n");
        _cleanup_free_ char *b = hl_pct_onboot_off("arch: amd64\nmemory: 512\n\n[snap]\nonboot: 1\n");
        _cleanup_free_ char *c = hl_pct_onboot_off("arch: amd64\nmemory: 512");

        ASSERT_STR_EQ(a, "#desc\narch: amd64\nonboot: 0\nmemory: 512\n\n[snap]\nonboot: 1\n");
        ASSERT_STR_EQ(b, "arch: amd64\nmemory: 512\n\nonboot: 0\n[snap]\nonboot: 1\n");
        ASSERT_STR_EQ(c, "arch: amd64\nmemory: 512\nonboot: 0\n");
}

/* Without a hostname the name is ct<VMID>, as Proxmox's default hostname CT<VMID>; --name wins. */
/* lxc.* keys: Lxc= unless hl writes the key, or Lxc= cannot write it (a hook is fine). */
TEST(lxc_keys) {
        static const char text[] = "hostname: raw\nlxc.hook.pre-start: /usr/local/bin/prepare\nlxc.idmap: u 0 1 1\n"
                                   "lxc.apparmor.profile: unconfined\n";
        _cleanup_(hl_pct_freep) struct hl_pct *p = NULL;
        struct hl_errors e = {};

        ASSERT_INT_EQ(hl_pct_import("1.conf", text, strlen(text), &options, &p, &e), 0);
        ASSERT_STR_EQ(key_of(p, "lxc.hook.pre-start")->to, "Lxc=lxc.hook.pre-start=/usr/local/bin/prepare");
        ASSERT_INT_EQ(key_of(p, "lxc.idmap")->fate, HL_PCT_UNMAPPED);
        ASSERT_TRUE(strstr(key_of(p, "lxc.idmap")->why, "Unprivileged=") != NULL);
        ASSERT_TRUE(strstr(p->definition, "\nLxc=lxc.apparmor.profile=unconfined\n") != NULL);
        hl_errors_done(&e);
}

TEST(names) {
        struct hl_pct_options o = options;
        _cleanup_(hl_pct_freep) struct hl_pct *a = NULL, *b = NULL;
        struct hl_errors e = {};

        o.vmid = "120";
        ASSERT_INT_EQ(hl_pct_import("120.conf", "cores: 1\n", 9, &o, &a, &e), 0);
        ASSERT_STR_EQ(a->name, "ct120");
        o.name = "cache";
        ASSERT_INT_EQ(hl_pct_import("120.conf", "hostname: Web.lab\n", 18, &o, &b, &e), 0);
        ASSERT_STR_EQ(b->name, "cache");
        ASSERT_TRUE(strstr(b->definition, "\nHostname=web.lab\n") != NULL);
        hl_errors_done(&e);
}

/* startup: order=N among configs imported together: After= the next lower order; those
 * without an order after the highest, as Proxmox starts them last. */
TEST(startup_order) {
        static const char *const configs[] = {
                "hostname: web\nstartup: order=2,up=30\n", "hostname: db\nstartup: order=1\n",
                "hostname: cache\nstartup: order=1,down=10\n", "hostname: dns\nstartup: order=0\n",
                "hostname: media\n", "hostname: misc\nstartup: up=5\n",
        };
        struct hl_pct *ps[HL_ELEMENTSOF(configs)] = {};
        struct hl_errors e = {};

        for (size_t i = 0; i < HL_ELEMENTSOF(configs); i++)
                ASSERT_INT_EQ(hl_pct_import("1.conf", configs[i], strlen(configs[i]), &options, &ps[i], &e), 0);
        ASSERT_INT_EQ(hl_pct_order(ps, HL_ELEMENTSOF(ps)), 0);
        ASSERT_TRUE(strstr(ps[0]->definition, "[Service]\nAfter=db cache\n") != NULL);
        ASSERT_TRUE(strstr(ps[1]->definition, "[Service]\nAfter=dns\n") != NULL);
        ASSERT_TRUE(strstr(ps[2]->definition, "[Service]\nAfter=dns\n") != NULL);
        ASSERT_TRUE(strstr(ps[3]->definition, "After=") == NULL);
        ASSERT_TRUE(strstr(ps[4]->definition, "[Service]\nAfter=web\n") != NULL);
        ASSERT_TRUE(strstr(ps[5]->definition, "[Service]\nAfter=web\n") != NULL);
        /* The startup rows: what became of each, and the delays that did not come along. */
        ASSERT_STR_EQ(key_of(ps[0], "startup")->to, "After=db cache");
        ASSERT_INT_EQ(key_of(ps[0], "startup")->fate, HL_PCT_LOSSY);
        ASSERT_INT_EQ(key_of(ps[1], "startup")->fate, HL_PCT_MAPPED);
        ASSERT_INT_EQ(key_of(ps[5], "startup")->fate, HL_PCT_LOSSY); /* its delays lost, its place kept */
        ASSERT_TRUE(strstr(key_of(ps[5], "startup")->why, "delays") != NULL);
        /* Each definition still parses, with its After=. */
        for (size_t i = 0; i < HL_ELEMENTSOF(ps); i++) {
                _cleanup_(hl_def_freep) struct hl_def *d = NULL;
                ASSERT_INT_EQ(hl_def_parse(ps[i]->name, "x.conf", ps[i]->definition, strlen(ps[i]->definition), &d, NULL), 0);
                ASSERT_INT_EQ(hl_strv_length(d->after), i == 0 ? 2 : i == 3 ? 0 : 1);
                hl_pct_free(ps[i]);
        }
        /* Two configs of one name (refused later by the import) never make one After= itself. */
        {
                static const char a[] = "hostname: twin\nstartup: order=1\n", b[] = "hostname: twin\nstartup: order=0\n";
                struct hl_pct *twins[2] = {};
                ASSERT_INT_EQ(hl_pct_import("1.conf", a, strlen(a), &options, &twins[0], &e), 0);
                ASSERT_INT_EQ(hl_pct_import("2.conf", b, strlen(b), &options, &twins[1], &e), 0);
                ASSERT_INT_EQ(hl_pct_order(twins, 2), 0);
                ASSERT_TRUE(strstr(twins[0]->definition, "After=") == NULL);
                hl_pct_free(twins[0]);
                hl_pct_free(twins[1]);
        }
        /* A bad startup is an error of its line. */
        {
                static const char *const bad[] = { "100.conf:1: startup: soon is not an option of startup (order, up, down)",
                                                   "100.conf:2: startup: given twice (first on line 1)" };
                expect_errors("startup: soon=1\nstartup: order=x\n", &options, bad, HL_ELEMENTSOF(bad));
        }
        hl_errors_done(&e);
}
