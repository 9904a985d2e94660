/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "hl-protocol.h"
#include "test.h"

TEST(framer_splits_and_bounds) {
        struct hl_framer f;
        char *frame = NULL;

        hl_framer_init(&f, 16);
        ASSERT_INT_EQ(hl_framer_append(&f, "{\"a\":1}\0{\"b\"", 12), 0);
        ASSERT_INT_EQ(hl_framer_next(&f, &frame), 1);
        ASSERT_STR_EQ(frame, "{\"a\":1}");
        free(frame);
        ASSERT_INT_EQ(hl_framer_next(&f, &frame), 0);
        ASSERT_INT_EQ(hl_framer_append(&f, ":2}", 4), 0); /* includes the NUL */
        ASSERT_INT_EQ(hl_framer_next(&f, &frame), 1);
        ASSERT_STR_EQ(frame, "{\"b\":2}");
        free(frame);
        /* An unterminated frame past the maximum is refused. */
        ASSERT_INT_EQ(hl_framer_append(&f, "0123456789abcdefXYZ", 19), -EMSGSIZE);
        hl_framer_done(&f);
}

TEST(call_parse) {
        struct hl_call c;
        const char *reason = NULL;

        ASSERT_INT_EQ(hl_call_parse("{\"method\":\"io.hl.List\"}", &c, &reason), 0);
        ASSERT_STR_EQ(c.method, "io.hl.List");
        ASSERT_TRUE(json_is_object(c.parameters));
        ASSERT_TRUE(!c.more);
        hl_call_done(&c);

        ASSERT_INT_EQ(hl_call_parse("{\"method\":\"io.hl.Show\",\"parameters\":{\"name\":\"dns\"},\"more\":true}", &c,
                                    &reason), 0);
        ASSERT_TRUE(c.more);
        ASSERT_STR_EQ(json_string_value(json_object_get(c.parameters, "name")), "dns");
        hl_call_done(&c);

        ASSERT_INT_EQ(hl_call_parse("not json", &c, &reason), -EBADMSG);
        ASSERT_INT_EQ(hl_call_parse("[1,2]", &c, &reason), -EBADMSG);
        ASSERT_INT_EQ(hl_call_parse("{\"method\":5}", &c, &reason), -EBADMSG);
        ASSERT_INT_EQ(hl_call_parse("{\"parameters\":{}}", &c, &reason), -EBADMSG);
        ASSERT_INT_EQ(hl_call_parse("{\"method\":\"x\",\"parameters\":[]}", &c, &reason), -EBADMSG);
        ASSERT_INT_EQ(hl_call_parse("{\"method\":\"x\",\"bogus\":1}", &c, &reason), -EBADMSG);
        ASSERT_INT_EQ(hl_call_parse("{\"method\":\"x\",\"method\":\"y\"}", &c, &reason), -EBADMSG);
}

struct args {
        const char *name;
        int64_t limit;
        bool prune;
};

TEST(dispatch_table) {
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct args, name), true },
                { "limit", HL_FIELD_INT, offsetof(struct args, limit), false },
                { "prune", HL_FIELD_BOOL, offsetof(struct args, prune), false },
                {},
        };
        struct args a = {};
        const char *bad = NULL;
        json_t *o;

        o = json_pack("{s:s, s:i}", "name", "dns", "limit", 5);
        ASSERT_INT_EQ(hl_json_dispatch(o, table, &a, &bad), 0);
        ASSERT_STR_EQ(a.name, "dns");
        ASSERT_INT_EQ(a.limit, 5);
        json_decref(o);

        o = json_pack("{s:i}", "name", 1);
        ASSERT_INT_EQ(hl_json_dispatch(o, table, &a, &bad), -EINVAL);
        ASSERT_STR_EQ(bad, "name");
        json_decref(o);

        o = json_pack("{s:s, s:b}", "name", "x", "surprise", 1);
        ASSERT_INT_EQ(hl_json_dispatch(o, table, &a, &bad), -EINVAL);
        ASSERT_STR_EQ(bad, "surprise");
        json_decref(o);

        o = json_object();
        ASSERT_INT_EQ(hl_json_dispatch(o, table, &a, &bad), -EINVAL);
        ASSERT_STR_EQ(bad, "name");
        json_decref(o);
}

TEST(encode) {
        size_t n = 0;
        json_t *p = json_pack("{s:i}", "x", 1);
        char *s = hl_reply_encode(p, true, &n);

        ASSERT_TRUE(s != NULL);
        ASSERT_INT_EQ(n, strlen(s) + 1);
        ASSERT_TRUE(strstr(s, "\"continues\":true") != NULL);
        free(s);
        s = hl_error_encode("io.hl.NoSuchService", NULL, &n);
        ASSERT_STR_EQ(s, "{\"error\":\"io.hl.NoSuchService\",\"parameters\":{}}");
        free(s);
        s = hl_call_encode("io.hl.List", NULL, false, &n);
        ASSERT_STR_EQ(s, "{\"method\":\"io.hl.List\",\"parameters\":{}}");
        free(s);
        json_decref(p);
}

TEST(interface_description) {
        ASSERT_TRUE(strncmp(hl_interface_description, "#", 1) == 0);
        ASSERT_TRUE(strstr(hl_interface_description, "interface io.hl\n") != NULL);
        ASSERT_TRUE(strstr(hl_interface_description, "method Apply(") != NULL);
}
