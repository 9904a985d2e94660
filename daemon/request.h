/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A call being answered, as the methods see it: who asked, and how to answer. The socket
 * side (control.c) makes each request with a sink that carries its replies to the client;
 * the methods only answer. A request ends with its last reply. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hl-macro.h"

struct manager;
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
        /* Takes "upgrade": the connection is handed over after the call (request_take). */
        bool upgrade;
};

/* How replies reach a client: control.c's. */
struct request_sink {
        /* Sends one frame (NUL included; taken) to the client, unless it is gone. */
        void (*send)(void *client, char *frame, size_t len);
        /* The call is answered: the client may go on. */
        void (*end)(void *client, bool gated);
        /* A descriptor of the client's connection, which leaves control.c's hands: it is
         * closed there, read no more and answered by whoever holds the descriptor now.
         * -EBADMSG when the client sent bytes after its call (nothing may follow an upgrade
         * call before its answer), -EBUSY while replies of its earlier calls are unsent. */
        int (*take)(void *client);
};

/* gated: the call holds control.c's gate, which its end lets go. */
struct request *request_new(const struct request_sink *sink, void *client, const struct peer *peer, bool oneway,
                            bool more, bool upgrade, bool gated);
/* The client is gone: a call that streams until then (request_on_cancel) is told, and
 * ends; another ends when it is answered, into the void. */
void request_cancel(struct request *req);
/* Whether the call streams until the client leaves (it registered a cancel). */
bool request_streams(const struct request *req);

const struct peer *request_peer(const struct request *req);
bool request_wants_more(const struct request *req);
bool request_wants_upgrade(const struct request *req);
/* For a call with upgrade: ends the request without an answer and returns the connection's
 * descriptor (close-on-exec), or -errno with the request answered (an error). */
int request_take(struct request *req);
void request_on_cancel(struct request *req, void (*cancel)(void *userdata), void *userdata);

/* Replies steal parameters (NULL = {}) and end the request unless continues is set. */
void request_reply(struct request *req, json_t *parameters, bool continues);
void request_error(struct request *req, const char *error, json_t *parameters);
/* An error with a sentence: {message}. */
void request_fail(struct request *req, const char *error, const char *fmt, ...) HL_PRINTF(3, 4);
/* An error with a sentence and the one parameter it is about: {key: value, message}. key
 * is never "message": that one is the sentence. */
void request_fail_parameter(struct request *req, const char *error, const char *key, const char *value, const char *fmt,
                            ...) HL_PRINTF(5, 6);
