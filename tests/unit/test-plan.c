/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner on made-up states: for each case a definition and what a survey might have
 * seen, and the plan it gives, compared with data/plan/CASE.ok (golden files). Set
 * HL_UPDATE_GOLDEN=1 to write the .ok files afresh, then read the diff. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hld.h"
#include "plan.h"
#include "test.h"

#define NOW INT64_C(1764000000000)

static const char *const base_text = "[Service]\nDescription=case\n[Container]\nTemplate=busybox\nMemory=64M\n"
                                     "Network=bridge=br0,ip=10.0.0.2/24,gw=10.0.0.1\n";

struct plan_case {
        const char *name;
        const char *text; /* NULL: base_text */
        /* The survey. */
        bool exists, half_created, foreign;
        enum hl_ct_state state;
        const char *differ_key, *differ_value; /* one setting the container has otherwise */
        const char *damaged, *unsafe;
        int observe_error;
        /* What the run says. */
        enum hl_want wanted;
        enum hl_ct_state expected;
        bool destroy, restart, automatic, unhealthy;
        int64_t next_restart;
};

static const struct plan_case cases[] = {
        { "create-and-start", .state = HL_CT_MISSING },
        { "create-stopped", .state = HL_CT_MISSING, .wanted = HL_WANT_STOPPED },
        { "half-made", .exists = true, .half_created = true, .state = HL_CT_STOPPED },
        { "start", .exists = true, .state = HL_CT_STOPPED, .expected = HL_CT_STOPPED },
        { "start-after-an-outside-stop", .exists = true, .state = HL_CT_STOPPED, .expected = HL_CT_RUNNING },
        { "stop", .exists = true, .state = HL_CT_RUNNING, .wanted = HL_WANT_STOPPED },
        { "nothing-to-do", .exists = true, .state = HL_CT_RUNNING, .expected = HL_CT_RUNNING },
        { "live-update", .exists = true, .state = HL_CT_RUNNING, .differ_key = "memory", .differ_value = "33554432" },
        { "restart-class-change", .exists = true, .state = HL_CT_RUNNING, .differ_key = "hostname",
          .differ_value = "old-name" },
        { "restart-class-change-stopped", .exists = true, .state = HL_CT_STOPPED, .wanted = HL_WANT_STOPPED,
          .differ_key = "hostname", .differ_value = "old-name" },
        { "network-change", .exists = true, .state = HL_CT_RUNNING, .differ_key = "network eth0",
          .differ_value = "br9" },
        { "recreate", .exists = true, .state = HL_CT_RUNNING, .differ_key = "template",
          .differ_value = "template=alpine unprivileged=no" },
        { "destroy-running", .exists = true, .state = HL_CT_RUNNING, .destroy = true },
        { "destroy-missing", .state = HL_CT_MISSING, .destroy = true },
        { "restart-requested", .exists = true, .state = HL_CT_RUNNING, .restart = true },
        { "hold-in-back-off", .exists = true, .state = HL_CT_STOPPED, .expected = HL_CT_RUNNING, .automatic = true,
          .next_restart = NOW + 9500 },
        { "back-off-over", .exists = true, .state = HL_CT_STOPPED, .expected = HL_CT_RUNNING, .automatic = true,
          .next_restart = NOW - 1 },
        { "hold-policy-no", .text = "[Service]\n[Container]\nTemplate=busybox\nMemory=64M\n"
                                    "Network=bridge=br0,ip=10.0.0.2/24,gw=10.0.0.1\n[Restart]\nPolicy=no\n",
          .exists = true, .state = HL_CT_STOPPED, .expected = HL_CT_RUNNING, .automatic = true },
        { "person-starts-despite-policy-no", .text = "[Service]\n[Container]\nTemplate=busybox\nMemory=64M\n"
                                                     "Network=bridge=br0,ip=10.0.0.2/24,gw=10.0.0.1\n[Restart]\nPolicy=no\n",
          .exists = true, .state = HL_CT_STOPPED, .expected = HL_CT_RUNNING },
        { "unhealthy-restart", .exists = true, .state = HL_CT_RUNNING, .automatic = true, .unhealthy = true },
        { "unhealthy-in-back-off", .exists = true, .state = HL_CT_RUNNING, .automatic = true, .unhealthy = true,
          .next_restart = NOW + 60000 },
        { "unhealthy-but-a-person-asks", .exists = true, .state = HL_CT_RUNNING, .unhealthy = true },
        { "damaged", .exists = true, .state = HL_CT_STOPPED,
          .damaged = "its LXC config /l/x/config has lost lxc.rootfs.path: restore it, or run hlctl destroy x and "
                     "apply again" },
        { "damaged-destroy", .exists = true, .state = HL_CT_STOPPED, .destroy = true, .damaged = "lost lxc.rootfs.path" },
        { "unsafe", .exists = true, .state = HL_CT_UNKNOWN, .destroy = true, .unsafe = "/l/x is a symbolic link" },
        { "unreadable", .state = HL_CT_UNKNOWN, .observe_error = -EACCES },
        { "foreign", .exists = true, .foreign = true, .state = HL_CT_RUNNING, .wanted = HL_WANT_STOPPED,
          .differ_key = "memory", .differ_value = "33554432" },
        { "foreign-destroy", .exists = true, .foreign = true, .state = HL_CT_RUNNING, .destroy = true },
};

static void append(char *buf, size_t size, const char *a, const char *b, const char *c) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s%s\n", a, b, c);
}

/* The plan as the golden files hold it: "verb: reason", and "  ~ change" lines. */
static char *plan_text(const struct plan_case *c) {
        const char *text = c->text ? c->text : base_text;
        struct hl_def *def = NULL;
        struct hl_def_error e = {};
        struct item it = {};
        char *out = calloc(1, 8192);

        if (!out || hl_def_parse("svc", "svc.conf", text, strlen(text), &def, &e) < 0)
                return NULL;
        it.name = strdup("svc");
        it.desired = desired_new(def, text, "svc.conf", 1);
        if (!it.name || !it.desired)
                return NULL;
        it.wanted = c->wanted;
        it.expected = c->expected;
        it.destroy = c->destroy;
        it.restart = c->restart;
        it.automatic = c->automatic;
        it.unhealthy = c->unhealthy;
        it.next_restart = c->next_restart;
        it.observe_error = c->observe_error;
        it.observed = (struct ct_observed) { .exists = c->exists, .half_created = c->half_created, .foreign = c->foreign,
                                             .state = c->state };
        snprintf(it.observed.damaged, sizeof(it.observed.damaged), "%s", c->damaged ? c->damaged : "");
        snprintf(it.observed.unsafe, sizeof(it.observed.unsafe), "%s", c->unsafe ? c->unsafe : "");
        /* What the container holds: what the definition asks, but for one setting. */
        it.observed.values = calloc(it.desired->settings.n + 1, sizeof(char *));
        it.observed.n_values = it.desired->settings.n;
        for (size_t i = 0; i < it.desired->settings.n; i++) {
                const struct ct_setting *s = &it.desired->settings.items[i];
                bool differs = c->differ_key && strcmp(s->label, c->differ_key) == 0 &&
                               (strstr(s->key, "link") || strcmp(c->differ_key, "network eth0") != 0);
                it.observed.values[i] = strdup(!c->exists ? "" : differs ? c->differ_value : s->value);
        }
        if (plan_item(&it, NOW) < 0)
                return NULL;
        for (size_t k = 0; k < it.n_actions; k++) {
                append(out, 8192, hl_verb_to_string(it.actions[k].verb), ": ", it.actions[k].reason);
                for (char **ch = it.actions[k].changes; ch && *ch; ch++)
                        append(out, 8192, "  ~ ", *ch, "");
        }
        if (it.n_actions == 0)
                append(out, 8192, "(nothing to do)", "", "");
        plan_item_done(&it);
        return out;
}

TEST(golden_plans) {
        const char *dir = getenv("HL_TEST_DATA");
        bool update = getenv("HL_UPDATE_GOLDEN") != NULL;

        ASSERT_TRUE(dir != NULL);
        for (size_t i = 0; i < HL_ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = plan_text(&cases[i]), *path = NULL, *expected = NULL;

                ASSERT_TRUE(got != NULL);
                path = hl_strdup_printf("%s/plan/%s.ok", dir, cases[i].name);
                ASSERT_TRUE(path != NULL);
                if (update) {
                        FILE *f = fopen(path, "we");
                        ASSERT_TRUE(f != NULL);
                        fputs(got, f);
                        fclose(f);
                        continue;
                }
                if (hl_read_file(path, 1 << 20, &expected, NULL) < 0) {
                        fprintf(stderr, "%s: missing (HL_UPDATE_GOLDEN=1 writes it)\n", path);
                        ASSERT_TRUE(false);
                }
                if (strcmp(got, expected) != 0)
                        fprintf(stderr, "%s: the plan differs:\n--- expected\n%s--- got\n%s", path, expected, got);
                ASSERT_STR_EQ(got, expected);
        }
}

/* The plan id changes with what the plan says and with what it was computed from. */
TEST(plan_ids) {
        struct item a = {}, b = {};
        struct hl_def *def = NULL;
        struct hl_def_error e = {};
        char id1[65], id2[65], id3[65];

        ASSERT_INT_EQ(hl_def_parse("svc", "svc.conf", base_text, strlen(base_text), &def, &e), 0);
        a.name = strdup("svc");
        a.desired = desired_new(def, base_text, "svc.conf", 1);
        a.observed.state = HL_CT_MISSING;
        ASSERT_INT_EQ(plan_item(&a, NOW), 0);
        plan_id(&a, 1, id1);
        plan_id(&a, 1, id2);
        ASSERT_STR_EQ(id1, id2);
        b = a;
        b.wanted = HL_WANT_STOPPED;
        plan_id(&b, 1, id3);
        ASSERT_TRUE(strcmp(id1, id3) != 0);
        plan_item_done(&a);
}

/* The Action objects of the wire (io.hl.varlink): result, duration and error only once
 * an action was carried out. */
TEST(actions_as_json) {
        struct item it = {};
        struct hl_def *def = NULL;
        struct hl_def_error e = {};
        json_t *all, *first, *second;

        ASSERT_INT_EQ(hl_def_parse("svc", "svc.conf", base_text, strlen(base_text), &def, &e), 0);
        it.name = strdup("svc");
        it.desired = desired_new(def, base_text, "svc.conf", 1);
        it.observed.state = HL_CT_MISSING;
        ASSERT_INT_EQ(plan_item(&it, NOW), 0);
        ASSERT_INT_EQ(it.n_actions, 2);
        it.actions[0].done = true;
        it.actions[0].result = HL_RESULT_FAILED;
        it.actions[0].duration_ms = 12;
        it.actions[0].error = strdup("template busybox failed");
        all = plan_actions_json(&it, 1);
        ASSERT_INT_EQ(json_array_size(all), 2);
        first = json_array_get(all, 0);
        second = json_array_get(all, 1);
        ASSERT_STR_EQ(json_string_value(json_object_get(first, "service")), "svc");
        ASSERT_STR_EQ(json_string_value(json_object_get(first, "action")), "create");
        ASSERT_STR_EQ(json_string_value(json_object_get(first, "result")), "failed");
        ASSERT_INT_EQ(json_integer_value(json_object_get(first, "duration_ms")), 12);
        ASSERT_STR_EQ(json_string_value(json_object_get(first, "error")), "template busybox failed");
        ASSERT_STR_EQ(json_string_value(json_object_get(second, "action")), "start");
        ASSERT_TRUE(json_object_get(second, "result") == NULL);
        ASSERT_INT_EQ(json_array_size(json_object_get(second, "changes")), 0);
        json_decref(all);
        plan_item_done(&it);
}
