/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* hlctl top. live: draw the table again every second until SIGINT or SIGTERM (a terminal);
 * otherwise one table (or, with json, the rows as JSON: Top's rows with cpu_percent,
 * read_per_s and write_per_s) over one second. Returns hlctl's exit status. */
int top_run(const char *socket_path, bool json, bool live);
