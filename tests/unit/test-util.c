/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "hl-index.h"
#include "hl-state.h"
#include "hl-util.h"
#include "test.h"

TEST(name_rules) {
        ASSERT_TRUE(hl_name_is_valid("dns"));
        ASSERT_TRUE(hl_name_is_valid("a"));
        ASSERT_TRUE(hl_name_is_valid("home-assistant2"));
        ASSERT_TRUE(hl_name_is_valid("100a") && hl_name_is_valid("1-2"));
        ASSERT_TRUE(!hl_name_is_valid("100") && !hl_name_is_valid("0"));
        ASSERT_TRUE(!hl_name_is_valid(""));
        ASSERT_TRUE(!hl_name_is_valid("-dns"));
        ASSERT_TRUE(!hl_name_is_valid("dns-"));
        ASSERT_TRUE(!hl_name_is_valid("DNS"));
        ASSERT_TRUE(!hl_name_is_valid("a/b"));
        ASSERT_TRUE(!hl_name_is_valid(".."));
        ASSERT_TRUE(!hl_name_is_valid("a.b"));
        ASSERT_TRUE(!hl_name_is_valid("a b"));
        ASSERT_TRUE(hl_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */
        ASSERT_TRUE(!hl_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
}

TEST(sizes) {
        uint64_t v = 0;
        char buf[32];

        ASSERT_INT_EQ(hl_parse_size("512M", &v), 0);
        ASSERT_INT_EQ(v, 512ULL << 20);
        ASSERT_INT_EQ(hl_parse_size("1G", &v), 0);
        ASSERT_INT_EQ(v, 1ULL << 30);
        ASSERT_INT_EQ(hl_parse_size("64kB", &v), 0);
        ASSERT_INT_EQ(v, 64ULL << 10);
        ASSERT_INT_EQ(hl_parse_size("4096", &v), 0);
        ASSERT_INT_EQ(v, 4096);
        ASSERT_INT_EQ(hl_parse_size("12X", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size("M", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size("1.5G", &v), 0);
        ASSERT_INT_EQ(v, 3ULL << 29);
        ASSERT_INT_EQ(hl_parse_size("0.5K", &v), 0);
        ASSERT_INT_EQ(v, 512);
        ASSERT_INT_EQ(hl_parse_size("512 M", &v), 0);
        ASSERT_INT_EQ(v, 512ULL << 20);
        ASSERT_INT_EQ(hl_parse_size("1.5", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size("1.G", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size(".5G", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size("16777215.9T", &v), 0);
        ASSERT_INT_EQ(hl_parse_size("16777216T", &v), -ERANGE);
        ASSERT_INT_EQ(hl_parse_size("-1M", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size("1MM", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_size("99999999999999999999", &v), -ERANGE);
        ASSERT_INT_EQ(hl_parse_size("99999999999T", &v), -ERANGE);
        ASSERT_STR_EQ(hl_format_size(512ULL << 20, buf, sizeof(buf)), "512M");
        ASSERT_STR_EQ(hl_format_size(1536, buf, sizeof(buf)), "1.5K");
        ASSERT_STR_EQ(hl_format_size(100, buf, sizeof(buf)), "100");
}

TEST(durations) {
        uint64_t v = 0;

        ASSERT_INT_EQ(hl_parse_duration_ms("30s", &v), 0);
        ASSERT_INT_EQ(v, 30000);
        ASSERT_INT_EQ(hl_parse_duration_ms("1h30m", &v), 0);
        ASSERT_INT_EQ(v, 5400000);
        ASSERT_INT_EQ(hl_parse_duration_ms("250ms", &v), 0);
        ASSERT_INT_EQ(v, 250);
        ASSERT_INT_EQ(hl_parse_duration_ms("7", &v), 0);
        ASSERT_INT_EQ(v, 7000);
        ASSERT_INT_EQ(hl_parse_duration_ms("2d", &v), 0);
        ASSERT_INT_EQ(v, 172800000);
        ASSERT_INT_EQ(hl_parse_duration_ms("1m 30s", &v), 0);
        ASSERT_INT_EQ(v, 90000);
        ASSERT_INT_EQ(hl_parse_duration_ms("1.5s", &v), 0);
        ASSERT_INT_EQ(v, 1500);
        ASSERT_INT_EQ(hl_parse_duration_ms("2min 5sec", &v), 0);
        ASSERT_INT_EQ(v, 125000);
        ASSERT_INT_EQ(hl_parse_duration_ms("1 hour 1 minute", &v), 0);
        ASSERT_INT_EQ(v, 3660000);
        ASSERT_INT_EQ(hl_parse_duration_ms("1.5", &v), 0);
        ASSERT_INT_EQ(v, 1500);
        ASSERT_INT_EQ(hl_parse_duration_ms("1M", &v), 0);
        ASSERT_INT_EQ(v, 2629800000ULL);
        ASSERT_INT_EQ(hl_parse_duration_ms("500us", &v), 0);
        ASSERT_INT_EQ(v, 0);
        ASSERT_INT_EQ(hl_parse_duration_ms("1h30", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_duration_ms("30 5", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_duration_ms(" ", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_duration_ms("1.s", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_duration_ms("99999999999y", &v), -ERANGE);
        ASSERT_INT_EQ(hl_parse_duration_ms("5x", &v), -EINVAL);
        ASSERT_INT_EQ(hl_parse_duration_ms("", &v), -EINVAL);
}

TEST(paths) {
        char *p = NULL;

        ASSERT_INT_EQ(hl_path_normalize("/srv//proxy/", &p), 0);
        ASSERT_STR_EQ(p, "/srv/proxy");
        free(p);
        ASSERT_INT_EQ(hl_path_normalize("/", &p), 0);
        ASSERT_STR_EQ(p, "/");
        free(p);
        ASSERT_INT_EQ(hl_path_normalize("relative", &p), -EINVAL);
        ASSERT_INT_EQ(hl_path_normalize("/srv/../etc", &p), -EINVAL);
        ASSERT_INT_EQ(hl_path_normalize("/srv/./x", &p), -EINVAL);
}

TEST(sha256) {
        char h[65];

        hl_sha256_hex("", 0, h);
        ASSERT_STR_EQ(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        hl_sha256_hex("abc", 3, h);
        ASSERT_STR_EQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        /* 56 bytes: the padding needs a second block. */
        hl_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
        ASSERT_STR_EQ(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(strv) {
        char **v = NULL;

        ASSERT_INT_EQ(hl_strv_push(&v, "a"), 0);
        ASSERT_INT_EQ(hl_strv_push(&v, "b"), 0);
        ASSERT_INT_EQ(hl_strv_length(v), 2);
        ASSERT_TRUE(hl_strv_contains(v, "b"));
        ASSERT_TRUE(!hl_strv_contains(v, "c"));
        v = hl_strv_free(v);
        ASSERT_TRUE(v == NULL);
}

TEST(index) {
        struct hl_index x = {};
        char names[2000][8];
        size_t v = 0;

        for (size_t i = 0; i < 2000; i++) {
                snprintf(names[i], sizeof(names[i]), "s%zu", i);
                ASSERT_INT_EQ(hl_index_put(&x, names[i], i), 0);
        }
        ASSERT_INT_EQ(hl_index_put(&x, "s7", 99), -EEXIST);
        ASSERT_INT_EQ(x.n, 2000);
        for (size_t i = 0; i < 2000; i++) {
                ASSERT_TRUE(hl_index_get(&x, names[i], &v));
                ASSERT_INT_EQ(v, i);
        }
        ASSERT_TRUE(!hl_index_get(&x, "nope", &v));
        /* Every other one removed: the rest must still be found after the shifts. */
        for (size_t i = 0; i < 2000; i += 2)
                ASSERT_TRUE(hl_index_remove(&x, names[i]));
        ASSERT_TRUE(!hl_index_remove(&x, "s0"));
        ASSERT_INT_EQ(x.n, 1000);
        for (size_t i = 0; i < 2000; i++) {
                bool found = hl_index_get(&x, names[i], &v);
                ASSERT_TRUE(found == (i % 2 == 1));
                if (found)
                        ASSERT_INT_EQ(v, i);
        }
        hl_index_clear(&x);
        ASSERT_TRUE(!hl_index_get(&x, "s1", &v));
        hl_index_done(&x);
}

TEST(state_words) {
        ASSERT_STR_EQ(hl_verb_to_string(HL_VERB_RECREATE), "recreate");
        ASSERT_INT_EQ(hl_verb_from_string("hold"), HL_VERB_HOLD);
        ASSERT_INT_EQ(hl_verb_from_string("Hold"), -1);
        ASSERT_INT_EQ(hl_result_from_string("interrupted"), HL_RESULT_INTERRUPTED);
        ASSERT_STR_EQ(hl_trigger_to_string(HL_TRIGGER_CONTAINER_EXIT), "container-exit");
        ASSERT_INT_EQ(hl_ct_state_from_string("FROZEN"), HL_CT_FROZEN);
        ASSERT_INT_EQ(hl_ct_state_from_string(NULL), -1);
        ASSERT_STR_EQ(hl_want_to_string(HL_WANT_STOPPED), "stopped");
        ASSERT_STR_EQ(hl_verb_to_string((enum hl_verb) 99), "?");
        /* Every word has its table entry, and reads back as itself. */
        for (int v = 0; v < _HL_VERB_MAX; v++)
                ASSERT_INT_EQ(hl_verb_from_string(hl_verb_to_string(v)), v);
        for (int v = 0; v < _HL_RESULT_MAX; v++)
                ASSERT_INT_EQ(hl_result_from_string(hl_result_to_string(v)), v);
        for (int v = 0; v < _HL_TRIGGER_MAX; v++)
                ASSERT_INT_EQ(hl_trigger_from_string(hl_trigger_to_string(v)), v);
        for (int v = 0; v < _HL_CT_STATE_MAX; v++)
                ASSERT_INT_EQ(hl_ct_state_from_string(hl_ct_state_to_string(v)), v);
}
