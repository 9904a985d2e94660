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

struct request;

struct peer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        bool admin;
        char user[64];
};

typedef void (*method_handler)(struct manager *m, struct request *req, json_t *parameters);

struct method {
        const char *name;
        method_handler handler;
        bool mutating;
        /* Costs the node real work (surveys, plans): peers that may not change the node
         * get such calls answered one at a time. */
        bool heavy;
};

/* Looks a fully qualified method name up in the daemon's table (methods.c). */
const struct method *methods_find(const char *name);

/* The control socket (mode 0660, root and the admin group) or, with readonly, the
 * read-only one (0666) that refuses every mutating method, as bgpd's does. A socket
 * passed by systemd under the name "control" or "readonly" is used instead of path. */
int control_listen(struct manager *m, const char *path, bool readonly, struct control **ret);
/* Closes the listening socket and every client; requests in flight are answered into
 * the void. */
void control_close(struct control *c);

const struct peer *request_peer(const struct request *req);
bool request_wants_more(const struct request *req);
/* For calls that stream until the client leaves: cancel is called when the client goes
 * away (or hld stops), and must end the request. */
void request_on_cancel(struct request *req, void (*cancel)(void *userdata), void *userdata);
/* Both steal parameters (NULL = {}) and end the request unless continues is set. */
void request_reply(struct request *req, json_t *parameters, bool continues);
void request_error(struct request *req, const char *error, json_t *parameters);
/* An error whose parameters are {key: value, "message": ...}; key may be NULL. */
void request_errorf(struct request *req, const char *error, const char *key, const char *value, const char *fmt, ...)
        HL_PRINTF(5, 6);
