/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A name → position index: an open-addressing hash table over borrowed strings, so that
 * looking a service up by name costs the same at 1,000 services as at 10. Keys must
 * outlive the index; it never copies them. */

#include <stdbool.h>
#include <stddef.h>

struct hl_index_slot {
        const char *key; /* NULL = empty */
        size_t value;
};

struct hl_index {
        struct hl_index_slot *slots;
        size_t cap; /* a power of two, or 0 */
        size_t n;
};

void hl_index_done(struct hl_index *x);
/* Adds key → value; -EEXIST when key is there already (its value unchanged), -ENOMEM. */
int hl_index_put(struct hl_index *x, const char *key, size_t value);
bool hl_index_get(const struct hl_index *x, const char *key, size_t *ret_value);
/* Removes key; false when it was not there. */
bool hl_index_remove(struct hl_index *x, const char *key);
/* Empties the index, keeping its memory. */
void hl_index_clear(struct hl_index *x);
