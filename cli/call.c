/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "hl-protocol.h"
#include "hl-util.h"

void log_error(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("hlctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static volatile sig_atomic_t interrupted;
static bool interruptible;
static sigset_t wait_mask; /* the signal mask while waiting for hld */

static void on_end_signal(int sig) {
        interrupted = 1;
}

int call_end_on_signals(void) {
        struct sigaction sa = { .sa_handler = on_end_signal };
        sigset_t block;

        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        /* Blocked but while waiting in ppoll(): a signal cannot slip in between a check
         * of the flag and the wait. */
        if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0)
                return -errno;
        sigdelset(&wait_mask, SIGINT);
        sigdelset(&wait_mask, SIGTERM);
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        interruptible = true;
        return 0;
}

static const struct call_handler *waiting; /* whose on_tick is called while waiting */
static bool continues; /* of the reply being handled */

bool call_reply_continues(void) {
        return continues;
}

/* Waits until fd is readable: 0, or -EINTR once an end signal came. A handler with on_tick
 * has it called every TICK_MS meanwhile. */
#define TICK_MS 200
static int wait_readable(int fd) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        struct timespec tick = { .tv_sec = 0, .tv_nsec = TICK_MS * 1000000L };
        bool ticks = waiting && waiting->on_tick;

        if (!interruptible && !ticks)
                return 0;
        for (;;) {
                int n;
                if (interrupted)
                        return -EINTR;
                n = ppoll(&pfd, 1, ticks ? &tick : NULL, interruptible ? &wait_mask : NULL);
                if (n > 0)
                        return 0;
                if (n == 0) {
                        waiting->on_tick(waiting->userdata);
                        continue;
                }
                if (errno != EINTR)
                        return -errno;
        }
}

static int connect_socket(const char *path, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, n + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1)) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static const char *remote; /* ssh://[user@]host[:port][/socket], or NULL */
static pid_t remote_pid;    /* its ssh */

int call_set_remote(const char *url) {
        const char *rest;

        if (!url || !*url) {
                remote = NULL;
                return 0;
        }
        if (strncmp(url, "ssh://", 6) != 0 || !url[6] || url[6] == '/' || url[6] == '-')
                return -EINVAL;
        rest = url + 6;
        /* What reaches ssh's command line and the far shell: names, addresses, paths, no
         * word of a shell's own. */
        if (strlen(rest) > 512 ||
            strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@:[]/") != strlen(rest))
                return -EINVAL;
        remote = url;
        return 0;
}

/* ssh to the node, and hlctl --bridge there: its stdio carries the Varlink connection to
 * that node's hld, on a socketpair here that looks like the socket. */
static int connect_remote(const char *url, int *ret_fd) {
        char target[600], port[16] = "", sock[520] = "";
        const char *host = url + 6, *slash = strchr(host, '/'), *colon;
        size_t n = slash ? (size_t) (slash - host) : strlen(host);
        int sv[2];
        pid_t pid;

        if (n >= sizeof(target))
                return -EINVAL;
        memcpy(target, host, n);
        target[n] = 0;
        if (slash)
                snprintf(sock, sizeof(sock), "%s", slash);
        /* [user@]host:port; an IPv6 literal in brackets keeps its colons. */
        colon = strrchr(target, ':');
        if (colon && !strchr(colon, ']')) {
                snprintf(port, sizeof(port), "%s", colon + 1);
                target[colon - target] = 0;
                if (!*port || strspn(port, "0123456789") != strlen(port))
                        return -EINVAL;
        }
        if (target[0] == '[' && target[strlen(target) - 1] == ']') {
                memmove(target, target + 1, strlen(target));
                target[strlen(target) - 1] = 0;
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return -errno;
        }
        if (pid == 0) {
                char *argv[16];
                int k = 0;

                /* hlctl gone (even killed): ssh goes, so the far side sees its client leave. */
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                dup2(sv[1], STDIN_FILENO);
                dup2(sv[1], STDOUT_FILENO);
                argv[k++] = (char *) "ssh";
                /* Never a terminal of its own: the stream is Varlink's. */
                argv[k++] = (char *) "-T";
                argv[k++] = (char *) "-e";
                argv[k++] = (char *) "none";
                if (*port) {
                        argv[k++] = (char *) "-p";
                        argv[k++] = port;
                }
                argv[k++] = (char *) "--";
                argv[k++] = target;
                argv[k++] = (char *) "hlctl";
                if (*sock) {
                        argv[k++] = (char *) "--socket";
                        argv[k++] = sock;
                }
                argv[k++] = (char *) "--bridge";
                argv[k] = NULL;
                execvp("ssh", argv);
                fprintf(stderr, "hlctl: cannot run ssh: %s\n", strerror(errno));
                _exit(127);
        }
        close(sv[1]);
        remote_pid = pid;
        *ret_fd = sv[0];
        return 0;
}

void call_done(void) {
        int status;

        if (remote_pid > 0)
                while (waitpid(remote_pid, &status, 0) < 0 && errno == EINTR)
                        ;
        remote_pid = 0;
}

int call_connect(const char *socket_path, int *ret_fd) {
        int r, fd = -1;

        if (remote) {
                r = connect_remote(remote, ret_fd);
                if (r < 0)
                        log_error("cannot reach %s: %s", remote, strerror(-r));
                return r;
        }

        r = connect_socket(socket_path, &fd);
        if (r == -EACCES) {
                /* Not root nor in hld's admin group: the read-only socket beside it still
                 * answers every question (and refuses changes with a clear error). */
                const char *slash = strrchr(socket_path, '/');
                _cleanup_free_ char *ro = hl_strdup_printf("%.*s/hld-ro.sock", slash ? (int) (slash - socket_path) : 1,
                                                           slash ? socket_path : ".");
                if (ro && connect_socket(ro, &fd) >= 0)
                        r = 0;
        }
        if (r < 0) {
                log_error("cannot connect to %s: %s%s", socket_path, strerror(-r),
                          r == -ENOENT || r == -ECONNREFUSED ? " (is hld running?)" : "");
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Reads until the framer holds a complete frame. 0 and the frame, -ECONNRESET when hld
 * closed the connection before finishing it, or -EINTR after an end signal. */
static int receive_frame(int fd, struct hl_framer *framer, char **ret) {
        char buf[64 * 1024];
        int r;

        for (;;) {
                ssize_t n;

                r = hl_framer_next(framer, ret);
                if (r != 0)
                        return r < 0 ? r : 0;

                r = wait_readable(fd);
                if (r < 0)
                        return r;
                n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                r = hl_framer_append(framer, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

struct reply {
        json_t *parameters;
        const char *error;
        bool continues;
};

static const struct hl_field reply_fields[] = {
        { "parameters", HL_FIELD_OBJECT, offsetof(struct reply, parameters), false },
        { "error", HL_FIELD_STRING, offsetof(struct reply, error), false },
        { "continues", HL_FIELD_BOOL, offsetof(struct reply, continues), false },
        {},
};

static const char *param_string(json_t *parameters, const char *key) {
        json_t *v = json_object_get(parameters, key);

        return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

char *call_error_message(const char *error, const char *method, json_t *parameters) {
        const char *message = param_string(parameters, "message");
        const char *what;

        /* Every error of our own interface carries the sentence to print. */
        if (strncmp(error, HL_INTERFACE ".", strlen(HL_INTERFACE ".")) == 0 && message)
                return strdup(message);

        if (strcmp(error, HL_VARLINK_METHOD_NOT_FOUND) == 0) {
                what = param_string(parameters, "method") ?: method;
                return hl_strdup_printf("hld does not know the method %s (is it older than hlctl?)", what);
        }
        if (strcmp(error, "org.varlink.service.MethodNotImplemented") == 0) {
                what = param_string(parameters, "method") ?: method;
                return hl_strdup_printf("hld does not implement the method %s", what);
        }
        if (strcmp(error, HL_VARLINK_INTERFACE_NOT_FOUND) == 0) {
                what = param_string(parameters, "interface") ?: HL_INTERFACE;
                return hl_strdup_printf("hld does not provide the interface %s", what);
        }
        if (strcmp(error, HL_VARLINK_INVALID_PARAMETER) == 0) {
                what = param_string(parameters, "parameter");
                if (what)
                        return hl_strdup_printf("hld rejected the parameter '%s' of %s", what, method);
                return hl_strdup_printf("hld rejected the parameters of %s", method);
        }
        if (strcmp(error, HL_VARLINK_EXPECTED_MORE) == 0)
                return hl_strdup_printf("hld expects %s to be called with \"more\"", method);
        if (strcmp(error, "org.varlink.service.PermissionDenied") == 0)
                return hl_strdup_printf("permission denied calling %s", method);

        if (message)
                return hl_strdup_printf("%s (%s)", message, error);
        return hl_strdup_printf("%s failed with the error %s", method, error);
}

static int print_error_reply(const char *method, const struct reply *reply) {
        _cleanup_free_ char *message = call_error_message(reply->error, method, reply->parameters);

        if (!message) {
                log_error("%s", strerror(ENOMEM));
                return HLCTL_EXIT_FAILED;
        }
        /* Every error of a file is a line of its own, as a compiler prints them. */
        for (char *line = message, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                log_error("%s", line);
        }
        return HLCTL_EXIT_FAILED;
}

/* Decodes and handles one reply frame: 1 when more replies follow, 0 after the last one,
 * -errno (printed) for a reply that cannot be used. The exit status so far is raised in
 * *status. */
static int handle_frame(const char *method, const char *frame, const struct call_handler *handler,
                        int *status) {
        _cleanup_(json_decrefp) json_t *root = NULL, *empty = NULL;
        struct reply reply = {};
        json_error_t jerr;
        const char *bad;
        int r;

        root = json_loads(frame, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                log_error("invalid reply from hld: %s", jerr.text);
                return -EBADMSG;
        }
        if (hl_json_dispatch(root, reply_fields, &reply, &bad) < 0) {
                log_error("invalid reply from hld: bad field '%s'", bad);
                return -EBADMSG;
        }
        if (!reply.parameters) {
                reply.parameters = empty = json_object();
                if (!empty) {
                        log_error("%s", strerror(ENOMEM));
                        return -ENOMEM;
                }
        }
        if (reply.error) {
                *status = print_error_reply(method, &reply);
                return 0;
        }

        continues = reply.continues;
        r = handler->on_reply(reply.parameters, handler->userdata);
        continues = false;
        if (r == -ECANCELED)
                return 0;
        if (r < 0) {
                log_error("cannot print the reply: %s", strerror(-r));
                return r;
        }
        if (r > *status)
                *status = r;
        return reply.continues ? 1 : 0;
}

int call_method(const char *socket_path, const char *method, json_t *parameters, bool more,
                const struct call_handler *handler) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *call = NULL;
        struct hl_framer framer;
        int status = HLCTL_EXIT_OK;
        size_t len, replies = 0;
        int r;

        r = call_connect(socket_path, &fd);
        if (r < 0)
                return HLCTL_EXIT_USAGE;

        call = hl_call_encode(method, parameters, more, &len);
        if (!call) {
                log_error("%s", strerror(ENOMEM));
                return HLCTL_EXIT_FAILED;
        }
        r = hl_write_all(fd, call, len, -1);
        if (r < 0) {
                log_error("cannot send to %s: %s", socket_path, strerror(-r));
                return HLCTL_EXIT_FAILED;
        }

        hl_framer_init(&framer, HL_MAX_FRAME);
        waiting = handler;
        for (;;) {
                _cleanup_free_ char *frame = NULL;

                r = receive_frame(fd, &framer, &frame);
                if (r == -EINTR) {
                        /* The user ended it: not an error. */
                        r = 0;
                        break;
                }
                if (r == -ECONNRESET && (replies > 0 || more))
                        log_error("hld closed the connection");
                else if (r == -ECONNRESET)
                        log_error("hld closed the connection before replying to %s", method);
                else if (r == -EMSGSIZE)
                        log_error("a reply from hld is larger than %u bytes", HL_MAX_FRAME);
                else if (r < 0)
                        log_error("cannot read from %s: %s", socket_path, strerror(-r));
                if (r < 0)
                        break;

                replies++;
                r = handle_frame(method, frame, handler, &status);
                if (r <= 0)
                        break;
        }
        waiting = NULL;
        hl_framer_done(&framer);
        return r < 0 ? HLCTL_EXIT_FAILED : status;
}

int call_upgrade(const char *socket_path, const char *method, json_t *parameters, json_t **ret_reply, int *ret_fd,
                 char **ret_rest, size_t *ret_rest_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *call = NULL, *frame = NULL;
        _cleanup_(json_decrefp) json_t *msg = NULL, *root = NULL;
        struct hl_framer framer;
        struct reply reply = {};
        const char *bad;
        int r;

        if (call_connect(socket_path, &fd) < 0)
                return -ENOTCONN;
        msg = json_pack("{s:s, s:O, s:b}", "method", method, "parameters", parameters, "upgrade", true);
        call = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        if (!call) {
                log_error("%s", strerror(ENOMEM));
                return -ENOMEM;
        }
        r = hl_write_all(fd, call, strlen(call) + 1, -1);
        if (r < 0) {
                log_error("cannot send to %s: %s", socket_path, strerror(-r));
                return r;
        }
        hl_framer_init(&framer, HL_MAX_FRAME);
        r = receive_frame(fd, &framer, &frame);
        if (r < 0) {
                log_error("%s", r == -ECONNRESET ? "hld closed the connection before answering" : strerror(-r));
                hl_framer_done(&framer);
                return r;
        }
        root = json_loads(frame, JSON_REJECT_DUPLICATES, NULL);
        if (!root || hl_json_dispatch(root, reply_fields, &reply, &bad) < 0) {
                log_error("invalid reply from hld");
                hl_framer_done(&framer);
                return -EBADMSG;
        }
        if (reply.error) {
                print_error_reply(method, &reply);
                hl_framer_done(&framer);
                return -EPROTO;
        }
        /* What came after the answer is the session's first bytes. */
        *ret_rest_len = framer.len;
        *ret_rest = framer.len ? TAKE_PTR(framer.buf) : NULL;
        hl_framer_done(&framer);
        *ret_reply = json_incref(reply.parameters ? reply.parameters : json_object());
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int call_bridge(const char *socket_path) {
        _cleanup_close_ int fd = -1;
        bool in_open = true, out_open = true;
        char buf[65536];

        if (call_connect(socket_path, &fd) < 0)
                return HLCTL_EXIT_USAGE;
        /* Bytes both ways until hld is done: the caller's end first half-closes. Whoever
         * reads stdout gone (ssh's session torn down) ends it too: hld sees its client leave. */
        while (out_open) {
                struct pollfd p[3] = { { .fd = fd, .events = POLLIN }, { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                                       { .fd = STDOUT_FILENO, .events = 0 } };
                ssize_t n;

                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return HLCTL_EXIT_FAILED;
                }
                if (p[2].revents & (POLLERR | POLLHUP))
                        return HLCTL_EXIT_FAILED;
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = read(fd, buf, sizeof(buf));
                        if (n <= 0)
                                out_open = false;
                        else if (hl_write_all(STDOUT_FILENO, buf, (size_t) n, -1) < 0)
                                return HLCTL_EXIT_FAILED;
                }
                if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0) {
                                in_open = false;
                                shutdown(fd, SHUT_WR);
                        } else if (hl_write_all(fd, buf, (size_t) n, -1) < 0)
                                return HLCTL_EXIT_FAILED;
                }
        }
        return HLCTL_EXIT_OK;
}
