/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OCI indexes, manifests and configs as hl reads them (lib/hl-oci): what is taken, and
 * every refusal with its reason. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hl-oci.h"
#include "test.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char index_json[] =
        "{\"schemaVersion\":2,\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":1,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2 "\",\"size\":1,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v2\"}}]}";

TEST(index_finds_a_tag_and_says_which_there_are) {
        char *digest = NULL, *error = NULL;

        ASSERT_INT_EQ(hl_oci_index_find(index_json, strlen(index_json), "v2", &digest, &error), 0);
        ASSERT_STR_EQ(digest, D2);
        free(digest);
        ASSERT_TRUE(hl_oci_index_find(index_json, strlen(index_json), "v3", &digest, &error) < 0);
        ASSERT_TRUE(strstr(error, "no tag v3") && strstr(error, "v1, v2"));
        free(error);
        error = NULL;
        ASSERT_TRUE(hl_oci_index_find(index_json, strlen(index_json), NULL, &digest, &error) < 0);
        ASSERT_TRUE(strstr(error, "2 manifests") != NULL);
        free(error);
        error = NULL;
        ASSERT_TRUE(hl_oci_index_find("[]", 2, NULL, &digest, &error) < 0);
        free(error);
}

TEST(manifests_take_tar_layers_with_digests_only) {
        static const char good[] = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":["
                                   "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
                                   "\",\"size\":10}]}";
        static const char *const bad[] = {
                "{\"schemaVersion\":1,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[]}",
                "{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:00\"},\"layers\":[]}",
                "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[]}",
                "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":\"text/plain\","
                "\"digest\":\"" D2 "\",\"size\":1}]}",
                "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":"
                "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:../../etc\",\"size\":1}]}",
        };
        struct hl_oci_manifest m = {};
        char *error = NULL;

        ASSERT_INT_EQ(hl_oci_manifest_parse(good, strlen(good), &m, &error), 0);
        ASSERT_TRUE(m.n_layers == 1 && m.layers[0].gzip && m.layers[0].size == 10);
        ASSERT_STR_EQ(m.config_digest, D1);
        hl_oci_manifest_done(&m);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_TRUE(hl_oci_manifest_parse(bad[i], strlen(bad[i]), &m, &error) < 0);
                ASSERT_TRUE(error != NULL);
                free(error);
                error = NULL;
        }
}

TEST(configs_map_the_process) {
        static const char good[] =
                "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Entrypoint\":[\"/bin/httpd\"],"
                "\"Cmd\":[\"-f\",\"-p\",\"80\"],\"Env\":[\"A=1\",\"PATH=/bin\"],\"User\":\"1000:50\","
                "\"WorkingDir\":\"/www\",\"StopSignal\":\"SIGQUIT\",\"ExposedPorts\":{\"80/tcp\":{}}}}";
        static const char *const bad[] = {
                "{\"os\":\"windows\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"x\"]}}",
                "{\"os\":\"linux\",\"architecture\":\"arm64\",\"config\":{\"Cmd\":[\"x\"]}}",
                "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{}}",
                "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"x\"],\"Env\":[\"NOEQ\"]}}",
                "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"a\\nb\"]}}",
                "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"x\"],\"WorkingDir\":\"rel\"}}",
                "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"x\"],\"StopSignal\":\"SIGNOPE\"}}",
        };
        struct hl_oci_config c = {};
        char *error = NULL;

        ASSERT_INT_EQ(hl_oci_config_parse(good, strlen(good), "amd64", &c, &error), 0);
        ASSERT_STR_EQ(c.argv[0], "/bin/httpd");
        ASSERT_STR_EQ(c.argv[3], "80");
        ASSERT_TRUE(c.argv[4] == NULL);
        ASSERT_STR_EQ(c.env[1], "PATH=/bin");
        ASSERT_STR_EQ(c.user, "1000:50");
        ASSERT_STR_EQ(c.cwd, "/www");
        ASSERT_INT_EQ(c.stop_signal, SIGQUIT);
        ASSERT_STR_EQ(c.exposed[0], "80/tcp");
        hl_oci_config_done(&c);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_TRUE(hl_oci_config_parse(bad[i], strlen(bad[i]), "amd64", &c, &error) < 0);
                ASSERT_TRUE(error != NULL);
                free(error);
                error = NULL;
        }
}

TEST(references_signals_and_whiteouts) {
        char *path = NULL;
        const char *tag = NULL, *hidden = NULL;

        ASSERT_INT_EQ(hl_oci_reference("/srv/img:v1", &path, &tag), 0);
        ASSERT_STR_EQ(path, "/srv/img");
        ASSERT_STR_EQ(tag, "v1");
        free(path);
        ASSERT_INT_EQ(hl_oci_reference("/srv/a:b/img", &path, &tag), 0);
        ASSERT_STR_EQ(path, "/srv/a:b/img");
        ASSERT_TRUE(tag == NULL);
        free(path);
        ASSERT_INT_EQ(hl_oci_signal("SIGTERM"), SIGTERM);
        ASSERT_INT_EQ(hl_oci_signal("KILL"), SIGKILL);
        ASSERT_INT_EQ(hl_oci_signal("3"), 3);
        ASSERT_TRUE(hl_oci_signal("SIGNOPE") < 0 && hl_oci_signal("99") < 0);
        ASSERT_INT_EQ(hl_oci_whiteout(".wh..wh..opq", &hidden), 2);
        ASSERT_INT_EQ(hl_oci_whiteout(".wh.gone.txt", &hidden), 1);
        ASSERT_STR_EQ(hidden, "gone.txt");
        ASSERT_INT_EQ(hl_oci_whiteout("plain", &hidden), 0);
        ASSERT_TRUE(hl_oci_digest_is_valid(D1) && !hl_oci_digest_is_valid("sha256:ABC"));
}
