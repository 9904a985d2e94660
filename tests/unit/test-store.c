/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store against a real SQLite file in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "hl-util.h"
#include "store.h"
#include "test.h"

static char dir[64];
static char path[128];

static void fresh(void) {
        snprintf(dir, sizeof(dir), "/tmp/hl-test-store-XXXXXX");
        if (!mkdtemp(dir))
                abort();
        snprintf(path, sizeof(path), "%s/hld.db", dir);
}

static void cleanup(void) {
        char p[160];

        snprintf(p, sizeof(p), "%s-wal", path);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", path);
        unlink(p);
        unlink(path);
        rmdir(dir);
}

static int count_services(void *userdata, const struct store_service *s) {
        int *n = userdata;

        (*n)++;
        return 0;
}

TEST(revisions_survive_reopen) {
        struct store *s = NULL;
        int64_t rev = 0;
        int n = 0;

        fresh();
        ASSERT_INT_EQ(store_open(path, &s), 0);
        ASSERT_INT_EQ(store_begin(s), 0);
        ASSERT_INT_EQ(store_add_revision(s, "dns", "h1", "[Container]\nTemplate=busybox\n", "{}", "dns.conf", 0, "root", &rev), 0);
        ASSERT_INT_EQ(rev, 1);
        ASSERT_INT_EQ(store_add_revision(s, "dns", "h2", "[Container]\nTemplate=busybox\nMemory=32M\n", "{}", "dns.conf", 1000,
                                         "alice", &rev), 0);
        ASSERT_INT_EQ(rev, 2);
        ASSERT_INT_EQ(store_commit(s), 0);
        store_close(s);

        ASSERT_INT_EQ(store_open(path, &s), 0);
        ASSERT_INT_EQ(store_load_services(s, count_services, &n), 0);
        ASSERT_INT_EQ(n, 1);
        {
                json_t *revs = NULL;
                ASSERT_INT_EQ(store_revisions(s, "dns", &revs), 0);
                ASSERT_INT_EQ(json_array_size(revs), 2);
                ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(revs, 1), "applied_by")), "alice");
                json_decref(revs);
        }
        /* A removed service is no longer loaded, but its revisions stay. */
        ASSERT_INT_EQ(store_remove_service(s, "dns"), 0);
        n = 0;
        ASSERT_INT_EQ(store_load_services(s, count_services, &n), 0);
        ASSERT_INT_EQ(n, 0);
        store_close(s);
        cleanup();
}

TEST(unfinished_actions_are_marked_interrupted) {
        struct store *s = NULL;
        int64_t run = 0, ev = 0;
        json_t *events = NULL;

        fresh();
        ASSERT_INT_EQ(store_open(path, &s), 0);
        ASSERT_INT_EQ(store_run_begin(s, HL_TRIGGER_APPLY, 0, "root", &run), 0);
        ASSERT_INT_EQ(store_event_begin(s, run, "dns", HL_VERB_CREATE, "not created", 0, "root", &ev), 0);
        /* hld dies here: the next start finds the event still running. */
        store_close(s);
        ASSERT_INT_EQ(store_open(path, &s), 0);
        ASSERT_INT_EQ(store_mark_interrupted(s), 1);
        ASSERT_INT_EQ(store_history(s, &(struct store_history_filter) { .service = "dns", .limit = 10 }, &events), 0);
        ASSERT_INT_EQ(json_array_size(events), 1);
        ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(events, 0), "result")), "interrupted");
        json_decref(events);
        store_close(s);
        cleanup();
}

TEST(corrupt_file_is_refused_not_overwritten) {
        struct store *s = NULL;
        char garbage[8192];
        int fd;

        fresh();
        memset(garbage, 'x', sizeof(garbage));
        memcpy(garbage, "SQLite format 3", 16); /* a header, then nonsense */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_INT_EQ(write(fd, garbage, sizeof(garbage)), (long long) sizeof(garbage));
        close(fd);
        ASSERT_TRUE(store_open(path, &s) < 0);
        ASSERT_TRUE(s == NULL);
        /* Still the same bytes: hld did not "repair" it. */
        fd = open(path, O_RDONLY);
        ASSERT_TRUE(fd >= 0);
        ASSERT_INT_EQ(read(fd, garbage, 16), 16);
        close(fd);
        ASSERT_TRUE(memcmp(garbage, "SQLite format 3", 16) == 0);
        cleanup();
}

TEST(history_filters_and_limits) {
        struct store *s = NULL;
        json_t *events = NULL;

        fresh();
        ASSERT_INT_EQ(store_open(path, &s), 0);
        for (int i = 0; i < 5; i++)
                ASSERT_INT_EQ(store_event_add(s, 0, i % 2 ? "dns" : "proxy", i == 4 ? HL_VERB_STOP : HL_VERB_START, "test", i == 3 ? HL_RESULT_FAILED : HL_RESULT_OK, NULL, -1, NULL, NULL), 0);
        ASSERT_INT_EQ(store_history(s, &(struct store_history_filter) { .service = "dns", .limit = 100 }, &events), 0);
        ASSERT_INT_EQ(json_array_size(events), 2);
        json_decref(events);
        ASSERT_INT_EQ(store_history(s, &(struct store_history_filter) { .failed = true, .limit = 100 }, &events), 0);
        ASSERT_INT_EQ(json_array_size(events), 1);
        json_decref(events);
        ASSERT_INT_EQ(store_history(s, &(struct store_history_filter) { .action = "stop", .limit = 100 }, &events), 0);
        ASSERT_INT_EQ(json_array_size(events), 1);
        json_decref(events);
        ASSERT_INT_EQ(store_history(s, &(struct store_history_filter) { .limit = 3 }, &events), 0);
        ASSERT_INT_EQ(json_array_size(events), 3);
        /* The newest three, oldest first. */
        ASSERT_INT_EQ(json_integer_value(json_object_get(json_array_get(events, 0), "id")), 3);
        json_decref(events);
        ASSERT_INT_EQ(store_history(s, &(struct store_history_filter) { .since_ms = hl_now_ms() + 100000, .limit = 3 }, &events), 0);
        ASSERT_INT_EQ(json_array_size(events), 0);
        json_decref(events);
        store_close(s);
        cleanup();
}
