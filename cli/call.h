/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One Varlink call to hld over a Unix socket, with plain blocking I/O. */

#include <jansson.h>
#include <stdbool.h>

#include "hl-macro.h"

/* hlctl's exit statuses. */
enum {
        HLCTL_EXIT_OK = 0,
        HLCTL_EXIT_FAILED = 1, /* hld returned an error, or an action failed */
        HLCTL_EXIT_USAGE = 2,  /* a bad command line, or hld cannot be reached */
};

/* Prints "hlctl: MESSAGE" on stderr, after whatever is pending on stdout. */
void log_error(const char *fmt, ...) HL_PRINTF(1, 2);

/* Called with the parameters of every successful reply (always an object). Returns 0,
 * a positive exit status to end with, -ECANCELED to end the call quietly (a stream whose
 * output is no longer read), or -errno. */
struct call_handler {
        int (*on_reply)(json_t *parameters, const void *userdata);
        const void *userdata;
        /* Called every 200 ms while hld has not answered (a progress line); may be NULL. */
        void (*on_tick)(const void *userdata);
};

/* Inside on_reply: whether more replies follow this one. */
bool call_reply_continues(void);

/* Connects to socket_path, calls method (a full name, "io.hl.List") with parameters
 * (borrowed, may be NULL) and hands each reply to handler until the one without
 * "continues". Every error is printed here. Returns the exit status. */
int call_method(const char *socket_path, const char *method, json_t *parameters, bool more,
                const struct call_handler *handler);

/* From now on every connection goes to another node's hld: url is
 * ssh://[user@]host[:port][/socket], reached by ssh running "hlctl --bridge" there. NULL or
 * "" is this node again. -EINVAL for anything else. */
int call_set_remote(const char *url);
/* At hlctl's end: waits for the ssh of -H. */
void call_done(void);

/* hlctl --bridge: stdin and stdout joined to hld's socket until hld ends the connection,
 * as Varlink's bridges do; what ssh runs for -H. Returns the exit status. */
int call_bridge(const char *socket_path);

/* Connects to hld's socket (the read-only one beside it when this one is not ours to use);
 * the error is printed. */
int call_connect(const char *socket_path, int *ret_fd);

/* Calls method with "upgrade": on an answer, the connection is the method's own protocol
 * from then on: the answer's parameters, the descriptor, and the bytes read past the answer
 * (malloc'd, maybe NULL) are returned. On an error reply or a failure, it is printed and
 * -errno returned (-EPROTO for hld's error). */
int call_upgrade(const char *socket_path, const char *method, json_t *parameters, json_t **ret_reply, int *ret_fd,
                 char **ret_rest, size_t *ret_rest_len);

/* From now on SIGINT and SIGTERM end a call_method() waiting for hld quietly, with the
 * exit status so far: for streams that last until the user stops them. The signals stay
 * blocked except while waiting, so output is never cut short by them. */
int call_end_on_signals(void);

/* The sentence hlctl prints for a Varlink error reply; NULL on ENOMEM. */
char *call_error_message(const char *error, const char *method, json_t *parameters);
