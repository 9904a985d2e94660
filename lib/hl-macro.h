/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define HL_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void hl_freep(void *p) {
        free(*(void **) p);
}

static inline void hl_closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(hl_freep)
#define _cleanup_close_ _cleanup_(hl_closep)

/* Hands ownership of a pointer or fd on: the cleanup attribute then sees NULL or -1. */
#define TAKE_PTR(p)                              \
        ({                                       \
                __typeof__(p) _taken_ = (p);     \
                (p) = NULL;                      \
                _taken_;                         \
        })
#define TAKE_FD(fd)                              \
        ({                                       \
                int _taken_fd_ = (fd);           \
                (fd) = -1;                       \
                _taken_fd_;                      \
        })

/* Defines name##p(T **p) for a destructor T *name(T *) that accepts NULL. */
#define HL_DEFINE_FREEP(type, func)              \
        static inline void func##p(type **p) {   \
                if (*p)                          \
                        func(*p);                \
        }

#define HL_UNUSED __attribute__((unused))
#define HL_PRINTF(a, b) __attribute__((format(printf, a, b)))
