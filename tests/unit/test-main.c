/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test.h"

#define MAX_TESTS 256

static struct test_case tests[MAX_TESTS];
static int n_tests;
int test_failures;

void test_register(const char *name, void (*func)(void)) {
        if (n_tests < MAX_TESTS)
                tests[n_tests++] = (struct test_case) { name, func };
}

int main(int argc, char **argv) {
        int failed = 0;

        for (int i = 0; i < n_tests; i++) {
                int before = test_failures;

                if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
                        continue;
                tests[i].func();
                if (test_failures != before)
                        failed++;
                printf("%s %s\n", test_failures != before ? "FAIL" : "ok  ", tests[i].name);
        }
        printf("%d passed, %d failed\n", n_tests - failed, failed);
        return failed ? 1 : 0;
}
