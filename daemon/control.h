/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The control socket: accepts clients, cuts frames, reads peer credentials, checks
 * permissions and hands calls to the method table. One call per client at a time: a
 * client's next call is read only after the previous one is answered, which keeps
 * replies in order and a client's memory bounded. */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "hld.h"
#include "request.h"

struct control;

/* The control socket (mode 0660, root and the admin group) or, with readonly, the
 * read-only one (0666) that refuses every mutating method, as bgpd's does. A socket
 * passed by systemd under the name "control" or "readonly" is used instead of path. */
int control_listen(struct manager *m, const char *path, bool readonly, const struct method *methods, size_t n_methods,
                   struct control **ret);
/* Closes the listening socket and every client; requests in flight are answered into
 * the void. */
void control_close(struct control *c);
