/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny harness in the spirit of libuv's test/task.h: TEST() registers a function, the
 * ASSERT macros print file:line and the failing expression, main() runs every test. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
        const char *name;
        void (*func)(void);
};

#define TEST(n)                                                                      \
        static void test_##n(void);                                                  \
        __attribute__((constructor)) static void register_##n(void) {                \
                test_register(#n, test_##n);                                         \
        }                                                                            \
        static void test_##n(void)

void test_register(const char *name, void (*func)(void));
extern int test_failures;

#define ASSERT_TRUE(expr)                                                            \
        do {                                                                         \
                if (!(expr)) {                                                       \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,   \
                                __LINE__, #expr);                                    \
                        test_failures++;                                             \
                        return;                                                      \
                }                                                                    \
        } while (0)

#define ASSERT_INT_EQ(a, b)                                                          \
        do {                                                                         \
                long long _a = (long long) (a), _b = (long long) (b);                \
                if (_a != _b) {                                                      \
                        fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",    \
                                __FILE__, __LINE__, #a, #b, _a, _b);                 \
                        test_failures++;                                             \
                        return;                                                      \
                }                                                                    \
        } while (0)

#define ASSERT_STR_EQ(a, b)                                                          \
        do {                                                                         \
                const char *_a = (a), *_b = (b);                                     \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                             \
                        fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
                                __FILE__, __LINE__, #a, #b, _a ? _a : "(null)",      \
                                _b ? _b : "(null)");                                 \
                        test_failures++;                                             \
                        return;                                                      \
                }                                                                    \
        } while (0)
