/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What hl-session.c and logs.c of the session helper share (hl-session.c says what it is). */

#include <jansson.h>
#include <lxc/lxccontainer.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <sys/types.h>

#include "hl-macro.h"

#define CLIENT_FD 3

struct spec {
        json_t *root; /* the strings below are its */
        const char *lxcpath, *name, *mode;
        char **argv; /* NULL: the user's login shell */
        char **env;  /* K=V, set after hl's own */
        const char *user, *cwd, *term;
        bool tty;
        unsigned rows, cols;
        int console_tty; /* console mode: 0 the console, N tty N */
        int64_t lines;   /* logs mode: the last N lines (0: all there are) */
        int64_t since;   /* logs mode: from this Unix time on (0: all) */
        bool follow;     /* logs mode: then new lines as they come */
        bool more;       /* logs mode: the call takes several replies */
        const char *path; /* push and pull: the file in the container */
        int64_t file_mode; /* push: its mode */
};

struct buffer {
        char *data;
        size_t len, cap;
};

struct session {
        int master;             /* tty: the pty's master; else -1 */
        int in, out, err;       /* no tty: the command's pipes (ours ends); -1 once closed */
        int pidfd;              /* the command; -1 for a console */
        pid_t pid;
        struct buffer to_client, to_command, from_client;
        bool stdin_ended;       /* the client said its stdin ended */
        bool client_shut;       /* the client shut its side for writing: read no more */
        bool client_gone;
};

/* A client that reads nothing for this long is gone: a stream to it ends. */
#define SESSION_WRITE_TIMEOUT_MS 30000

/* Writes all of it to fd: 0, or -ETIMEDOUT when it took nothing for the timeout, -EPIPE. */
int session_write_all(int fd, const char *data, size_t len);
/* Answers the call on the client's connection (parameters taken); continues for a stream. */
int session_reply(json_t *parameters, bool continues);

struct passwd_entry {
        uid_t uid;
        gid_t gid;
        char name[64];
        char home[PATH_MAX];
        char shell[PATH_MAX];
};

/* The user of that name (or, name NULL, of that uid) in the container's /etc/passwd, read
 * by hand in the container's mount namespace (no NSS module of the container runs). */
bool session_passwd_find(const char *name, uid_t uid, struct passwd_entry *ret);
#define ACCOUNT_FILE_MAX (16 * 1024 * 1024)
FILE *session_open_account_file(const char *path);
/* Answers with a Varlink error and tells hld (stdout) that the session did not start. */
void session_fail(const char *error, const char *fmt, ...) HL_PRINTF(2, 3);
/* Runs spec's command in c (session_fail's statuses apply to what it prints), its pipes
 * or pty in s. */
int session_attach(struct lxc_container *c, const struct spec *spec, struct session *s);
/* Waits for the command: its wait status, or -ETIMEDOUT after timeout_ms (-1: for ever). */
int session_wait(struct session *s, int timeout_ms);
void session_set_nonblock(int fd);

/* A datagram of len bytes on a socketpair, with fd (>= 0) passed along; and its receipt
 * within timeout_ms: the bytes' count (and *ret_fd, -1 when none came), or -errno. */
void session_send_fd(int sock, int fd, const void *data, size_t len);
ssize_t session_recv_fd(int sock, int timeout_ms, void *buf, size_t size, int *ret_fd);

/* files.c: io.hl.Push and io.hl.Pull; 0, or 1 when the session could not start. */
int files_run(const struct spec *spec, struct lxc_container *c);

/* logs.c: io.hl.Logs, answered on the connection: 0, or 1 when it could not be. */
int logs_run(const struct spec *spec, struct lxc_container *c);
