/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl-index.h"

/* FNV-1a: short names, no adversary that gains from collisions beyond a slower lookup. */
static size_t hash(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return (size_t) h;
}

void hl_index_done(struct hl_index *x) {
        free(x->slots);
        *x = (struct hl_index) {};
}

void hl_index_clear(struct hl_index *x) {
        if (x->slots)
                memset(x->slots, 0, sizeof(*x->slots) * x->cap);
        x->n = 0;
}

static struct hl_index_slot *find(const struct hl_index *x, const char *key) {
        size_t mask = x->cap - 1;

        for (size_t i = hash(key) & mask;; i = (i + 1) & mask)
                if (!x->slots[i].key || strcmp(x->slots[i].key, key) == 0)
                        return &x->slots[i];
}

static int grow(struct hl_index *x) {
        struct hl_index old = *x;
        size_t cap = x->cap ? x->cap * 2 : 16;

        x->slots = calloc(cap, sizeof(*x->slots));
        if (!x->slots) {
                *x = old;
                return -ENOMEM;
        }
        x->cap = cap;
        x->n = 0;
        for (size_t i = 0; i < old.cap; i++)
                if (old.slots[i].key) {
                        *find(x, old.slots[i].key) = old.slots[i];
                        x->n++;
                }
        free(old.slots);
        return 0;
}

int hl_index_put(struct hl_index *x, const char *key, size_t value) {
        struct hl_index_slot *slot;

        /* At most half full: probes stay short. */
        if ((x->n + 1) * 2 > x->cap && grow(x) < 0)
                return -ENOMEM;
        slot = find(x, key);
        if (slot->key)
                return -EEXIST;
        *slot = (struct hl_index_slot) { .key = key, .value = value };
        x->n++;
        return 0;
}

bool hl_index_get(const struct hl_index *x, const char *key, size_t *ret_value) {
        const struct hl_index_slot *slot;

        if (x->n == 0)
                return false;
        slot = find(x, key);
        if (!slot->key)
                return false;
        if (ret_value)
                *ret_value = slot->value;
        return true;
}

bool hl_index_remove(struct hl_index *x, const char *key) {
        size_t mask = x->cap - 1, i, j;
        struct hl_index_slot *slot;

        if (x->n == 0)
                return false;
        slot = find(x, key);
        if (!slot->key)
                return false;
        /* Linear probing without tombstones: the entries after the hole that hashed to or
         * before it move back into it. */
        i = (size_t) (slot - x->slots);
        x->slots[i].key = NULL;
        for (j = (i + 1) & mask; x->slots[j].key; j = (j + 1) & mask) {
                size_t home = hash(x->slots[j].key) & mask;
                /* j's entry may move to i when its home is not in (i, j] cyclically. */
                if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
                        x->slots[i] = x->slots[j];
                        x->slots[j].key = NULL;
                        i = j;
                }
        }
        x->n--;
        return true;
}
