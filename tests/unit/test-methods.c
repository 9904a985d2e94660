/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contract and the daemon agree: every method lib/io.hl.varlink describes is in hld's
 * method table, and the table has no io.hl method the description lacks. */
#include <stdio.h>
#include <string.h>

#include "hl-protocol.h"
#include "methods.h"
#include "test.h"

TEST(table_matches_the_interface_description) {
        size_t n = 0, described = 0;
        const struct method *table = methods_table(&n);
        const char *p = hl_interface_description;

        ASSERT_TRUE(n > 0);
        /* Every "method Name(" line of the description is in the table. */
        while ((p = strstr(p, "\nmethod "))) {
                char name[128], full[160];
                bool found = false;

                p += strlen("\nmethod ");
                ASSERT_TRUE(sscanf(p, "%127[A-Za-z0-9]", name) == 1);
                snprintf(full, sizeof(full), HL_INTERFACE ".%s", name);
                for (size_t i = 0; i < n && !found; i++)
                        found = strcmp(table[i].name, full) == 0;
                if (!found)
                        fprintf(stderr, "%s is described but not in the method table\n", full);
                ASSERT_TRUE(found);
                described++;
        }
        /* And the table's io.hl methods are all described. */
        for (size_t i = 0; i < n; i++) {
                char needle[160];

                if (strncmp(table[i].name, HL_INTERFACE ".", strlen(HL_INTERFACE ".")) != 0) {
                        ASSERT_TRUE(strncmp(table[i].name, "org.varlink.service.", 20) == 0);
                        continue;
                }
                snprintf(needle, sizeof(needle), "\nmethod %s(", table[i].name + strlen(HL_INTERFACE "."));
                if (!strstr(hl_interface_description, needle))
                        fprintf(stderr, "%s is in the method table but not described\n", table[i].name);
                ASSERT_TRUE(strstr(hl_interface_description, needle) != NULL);
                ASSERT_TRUE(table[i].handler != NULL);
                described--;
        }
        ASSERT_INT_EQ(described, 0);
}

/* What may change the node is refused on the read-only socket by this flag alone. */
TEST(what_changes_the_node_is_marked) {
        static const char *const mutating[] = { "Apply", "Start", "Stop", "Restart", "Destroy", "Reconcile",
                                                 "Snapshot", "Rollback", "DeleteSnapshot", "Backup", "Restore", "Migrate", "Adopt",
                                                 "Update", "Exec", "Console", "Push", "Pull" };
        size_t n = 0;
        const struct method *table = methods_table(&n);

        for (size_t i = 0; i < n; i++) {
                bool expected = false;
                for (size_t k = 0; k < HL_ELEMENTSOF(mutating); k++)
                        expected = expected || strcmp(table[i].name + strlen(HL_INTERFACE "."), mutating[k]) == 0;
                if (table[i].mutating != expected)
                        fprintf(stderr, "%s: mutating is %d\n", table[i].name, table[i].mutating);
                ASSERT_TRUE(table[i].mutating == expected);
        }
}
