/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage.cfg in Proxmox's format, and template volumes resolved through it. */
#include <errno.h>

#include "hl-pve.h"
#include "hl-util.h"
#include "test.h"

static const char storage_cfg[] =
        "# written by Proxmox\n"
        "dir: local\n"
        "\tpath /var/lib/vz\n"
        "\tcontent iso,vztmpl,backup\n"
        "\n"
        "lvmthin: local-lvm\n"
        "\tthinpool data\n"
        "\tvgname pve\n"
        "\tcontent rootdir,images\n"
        "\n"
        "nfs: nas\n"
        "\texport /volume1/pve\n"
        "\tpath /mnt/pve/nas\n"
        "\tserver 192.168.1.5\n"
        "\tcontent vztmpl\n"
        "\tprune-backups keep-last=3\n"
        "\n"
        "dir: dumps\n"
        "\tpath /srv/dumps//\n"
        "\tcontent backup\n"
        "\n"
        "dir: off\n"
        "\tpath /srv/off\n"
        "\tdisable\n";

static char *resolve(const struct hl_pve_storages *s, const char *volume, char **ret_error) {
        char *path = NULL;

        *ret_error = NULL;
        return hl_pve_template_path(s, volume, &path, ret_error) < 0 ? NULL : path;
}

TEST(storage_cfg) {
        struct hl_pve_storages s = {};
        struct hl_errors e = {};
        char *error = NULL, *path;

        ASSERT_INT_EQ(hl_pve_storage_parse("storage.cfg", storage_cfg, strlen(storage_cfg), &s, &e), 0);
        ASSERT_INT_EQ(s.n, 5);
        ASSERT_STR_EQ(s.items[1].type, "lvmthin");
        ASSERT_STR_EQ(s.items[3].path, "/srv/dumps");
        ASSERT_TRUE(s.items[4].disabled);

        path = resolve(&s, "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", &error);
        ASSERT_STR_EQ(path, "/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst");
        free(path);
        path = resolve(&s, "nas:vztmpl/alpine.tar.xz", &error);
        ASSERT_STR_EQ(path, "/mnt/pve/nas/template/cache/alpine.tar.xz");
        free(path);

        ASSERT_TRUE(resolve(&s, "local-lvm:vztmpl/x.tar.zst", &error) == NULL);
        ASSERT_STR_EQ(error, "storage local-lvm is of type lvmthin: hl reads templates from directory storages (dir, "
                             "nfs, cifs, cephfs) only");
        free(error);
        ASSERT_TRUE(resolve(&s, "nosuch:vztmpl/x.tar.zst", &error) == NULL);
        ASSERT_STR_EQ(error, "no storage nosuch in storage.cfg");
        free(error);
        ASSERT_TRUE(resolve(&s, "dumps:vztmpl/x.tar.zst", &error) == NULL);
        ASSERT_STR_EQ(error, "storage dumps does not hold container templates (content has no vztmpl)");
        free(error);
        ASSERT_TRUE(resolve(&s, "off:vztmpl/x.tar.zst", &error) == NULL);
        ASSERT_STR_EQ(error, "storage off is disabled");
        free(error);
        ASSERT_TRUE(resolve(&s, "local:iso/x.iso", &error) == NULL);
        ASSERT_STR_EQ(error, "local:iso/x.iso is not a container template volume (STORAGE:vztmpl/FILE)");
        free(error);
        hl_pve_storages_done(&s);
}

TEST(template_volumes) {
        ASSERT_TRUE(hl_pve_is_template_volume("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"));
        ASSERT_TRUE(!hl_pve_is_template_volume("local:vztmpl/../etc/passwd"));
        ASSERT_TRUE(!hl_pve_is_template_volume("local:vztmpl/.."));
        ASSERT_TRUE(!hl_pve_is_template_volume("local:vztmpl/"));
        ASSERT_TRUE(!hl_pve_is_template_volume("l:vztmpl/x"));
        ASSERT_TRUE(!hl_pve_is_template_volume("-x:vztmpl/x"));
        ASSERT_TRUE(!hl_pve_is_template_volume("clone:web"));
        ASSERT_TRUE(!hl_pve_is_template_volume("local:vztmpl/a b"));
}

TEST(bad_storage_cfg) {
        static const char text[] = "dir local\n\tpath /x\n"
                                   "dir: ok\n\tpath relative\n\n"
                                   "dir: ok\n"
                                   "\n\tcontent vztmpl\n"
                                   "Dir: x\n";
        static const char *const want[] = {
                "storage.cfg:1: not a section header TYPE: ID",
                "storage.cfg:2: path: a property outside a storage section",
                "storage.cfg:4: path: not an absolute path",
                "storage.cfg:6: dir: the storage id is given twice",
                "storage.cfg:8: content: a property outside a storage section",
                "storage.cfg:9: Dir: not a storage type and id (TYPE: ID)",
        };
        struct hl_pve_storages s = {};
        struct hl_errors e = {};
        char line[1024];

        ASSERT_INT_EQ(hl_pve_storage_parse("storage.cfg", text, strlen(text), &s, &e), -EINVAL);
        if (e.n != HL_ELEMENTSOF(want))
                for (size_t i = 0; i < e.n; i++)
                        fprintf(stderr, "  got: %s\n", hl_def_error_format(&e.items[i], line, sizeof(line)));
        ASSERT_INT_EQ(e.n, HL_ELEMENTSOF(want));
        for (size_t i = 0; i < e.n; i++)
                ASSERT_STR_EQ(hl_def_error_format(&e.items[i], line, sizeof(line)), want[i]);
        ASSERT_INT_EQ(s.n, 0);
        hl_errors_done(&e);
}
