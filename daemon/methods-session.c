/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hl.Exec and io.hl.Console: an operator's session in a container. hld checks the call
 * (who, which service, what to run), records it in the history, and hands the connection
 * to hl-session (daemon/session/), a program exec'd for the session, which attaches, answers
 * the call and relays the session's bytes until it ends. The loop keeps only the helper's
 * exit and its one line of outcome, which ends the history event. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hl-protocol.h"
#include "log.h"
#include "methods.h"
#include "store.h"
#include "events.h"

#ifndef HL_LIBEXECDIR
#define HL_LIBEXECDIR "/usr/libexec/hl"
#endif

#define SESSION_SPEC_MAX (64u * 1024u)
#define OUTCOME_MAX 256

struct session {
        uv_process_t process;
        uv_pipe_t outcome; /* the helper's stdout: one line of JSON */
        struct manager *m;
        char *service;
        int64_t event;
        uint64_t started;
        char line[OUTCOME_MAX];
        size_t line_len;
        int handles; /* open ones; freed when both are closed */
        bool exited;
        struct session *next;
};

static void session_unlink(struct session *s) {
        for (struct session **p = &s->m->sessions; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
}

static void on_session_closed(uv_handle_t *h) {
        struct session *s = h->data;

        if (--s->handles > 0)
                return;
        free(s->service);
        free(s);
}

static void session_close(struct session *s) {
        session_unlink(s);
        if (!uv_is_closing((uv_handle_t *) &s->process))
                uv_close((uv_handle_t *) &s->process, on_session_closed);
        if (!uv_is_closing((uv_handle_t *) &s->outcome))
                uv_close((uv_handle_t *) &s->outcome, on_session_closed);
}

/* The helper has exited and its line is read (or lost): the event ends. */
static void session_end(struct session *s, int64_t exit_status, int term_signal) {
        json_t *outcome = json_loadb(s->line, s->line_len, 0, NULL);
        json_t *code = json_object_get(outcome, "exit"), *sig = json_object_get(outcome, "signal");
        const char *error = json_string_value(json_object_get(outcome, "error"));
        int64_t duration = (int64_t) ((uv_hrtime() - s->started) / 1000000);
        char message[256] = "";
        _cleanup_free_ char *detail = NULL;
        enum hl_result result = HL_RESULT_OK;

        if (!outcome) {
                result = HL_RESULT_FAILED;
                if (term_signal)
                        snprintf(message, sizeof(message), "hl-session was killed by signal %d", term_signal);
                else
                        snprintf(message, sizeof(message), "hl-session exited with %lld and said nothing",
                                 (long long) exit_status);
        } else if (error) {
                result = HL_RESULT_FAILED;
                snprintf(message, sizeof(message), "%s", error);
        } else if (json_is_true(json_object_get(outcome, "gone")))
                snprintf(message, sizeof(message), "the client left");
        /* The command's own status is what it did, not whether the session worked. */
        if (outcome && (code || sig)) {
                json_t *d = json_pack("{s:O?, s:O?}", "exit", code, "signal", sig);
                detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
                json_decref(d);
        }
        if (s->event > 0 && store_event_end(s->m->store, s->event, result, duration, message[0] ? message : NULL,
                                            detail) >= 0)
                events_publish(s->m, s->event);
        json_decref(outcome);
        session_close(s);
}

static void on_helper_exit(uv_process_t *p, int64_t exit_status, int term_signal) {
        struct session *s = p->data;

        s->exited = true;
        /* Its line is in the pipe before it exits; what is still unread is read now. */
        if (!uv_is_closing((uv_handle_t *) &s->outcome)) {
                uv_os_fd_t fd;
                if (uv_fileno((uv_handle_t *) &s->outcome, &fd) == 0) {
                        ssize_t n;
                        while (s->line_len < sizeof(s->line) - 1 &&
                               (n = read(fd, s->line + s->line_len, sizeof(s->line) - 1 - s->line_len)) > 0)
                                s->line_len += (size_t) n;
                }
        }
        session_end(s, exit_status, term_signal);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        struct session *s = h->data;

        *buf = uv_buf_init(s->line + s->line_len, (unsigned) (sizeof(s->line) - 1 - s->line_len));
}

static void on_outcome(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
        struct session *s = stream->data;

        if (n > 0)
                s->line_len += (size_t) n;
        /* EOF, an error or a full line buffer: nothing more is read (on_exit reads the rest). */
        if (n < 0 || s->line_len >= sizeof(s->line) - 1)
                uv_read_stop(stream);
}

/* The helper program: beside hld in a build tree, else where meson installs it. */
static void helper_path(char *ret, size_t size) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n > 0) {
                char *slash;
                self[n] = 0;
                slash = strrchr(self, '/');
                if (slash) {
                        snprintf(ret, size, "%.*s/session/hl-session", (int) (slash - self), self);
                        if (access(ret, X_OK) == 0)
                                return;
                }
        }
        snprintf(ret, size, "%s/hl-session", HL_LIBEXECDIR);
}

static void session_start(struct manager *m, struct request *req, const struct service *svc, json_t *spec,
                          const char *reason) {
        struct session *s = calloc(1, sizeof(*s));
        _cleanup_free_ char *text = NULL, *env_spec = NULL;
        char path[PATH_MAX];
        char *args[] = { (char *) "hl-session", NULL };
        char *env[2];
        uv_stdio_container_t stdio[4];
        uv_process_options_t options = {};
        const struct peer peer = *request_peer(req); /* the request ends when the connection is taken */
        int fd, r;

        json_object_set_new(spec, "lxcpath", json_string(m->config.lxcpath));
        json_object_set_new(spec, "name", json_string(svc->name));
        text = json_dumps(spec, JSON_COMPACT);
        json_decref(spec);
        if (!s || !text || !(s->service = strdup(svc->name))) {
                free(s);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        if (strlen(text) > SESSION_SPEC_MAX) {
                free(s->service);
                free(s);
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "command",
                                       "the command and its environment take more than %u bytes", SESSION_SPEC_MAX);
                return;
        }
        env_spec = hl_strdup_printf("HL_SESSION=%s", text);
        if (!env_spec) {
                free(s->service);
                free(s);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        /* From here on the connection is the helper's: hld answers nothing more on it. */
        fd = request_take(req);
        if (fd < 0) {
                free(s->service);
                free(s);
                return;
        }
        s->m = m;
        s->started = uv_hrtime();
        s->process.data = s->outcome.data = s;
        uv_pipe_init(m->loop, &s->outcome, 0);
        helper_path(path, sizeof(path));
        env[0] = env_spec;
        env[1] = NULL;
        stdio[0] = (uv_stdio_container_t) { .flags = UV_IGNORE };
        stdio[1] = (uv_stdio_container_t) { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
                                            .data.stream = (uv_stream_t *) &s->outcome };
        stdio[2] = (uv_stdio_container_t) { .flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO };
        stdio[3] = (uv_stdio_container_t) { .flags = UV_INHERIT_FD, .data.fd = fd };
        options = (uv_process_options_t) { .exit_cb = on_helper_exit, .file = path, .args = args, .env = env,
                                           .stdio_count = 4, .stdio = stdio };
        r = uv_spawn(m->loop, &s->process, &options);
        if (r < 0) {
                size_t len = 0;
                json_t *p = json_pack("{s:s}", "message", "hld cannot start its session helper");
                _cleanup_free_ char *frame = hl_error_encode(HL_ERROR_INTERNAL, p, &len);

                log_warning("cannot run %s for a session in %s: %s", path, svc->name, uv_strerror(r));
                /* The connection is no longer control.c's: the answer goes straight on it. */
                if (frame)
                        (void) !write(fd, frame, len);
                json_decref(p);
                close(fd);
                s->handles = 2;
                session_close(s);
                return;
        }
        close(fd);
        s->handles = 2;
        s->next = m->sessions;
        m->sessions = s;
        uv_read_start((uv_stream_t *) &s->outcome, on_alloc, on_outcome);
        /* Reading a log is no change and no command: not in the history. */
        if (reason && store_event_begin(m->store, 0, svc->name, HL_VERB_ATTACH, reason, (int64_t) peer.uid, peer.user,
                                        &s->event) >= 0)
                events_publish(m, s->event);
}

/* The service to attach to, running and with a container; else the call is answered. */
static const struct service *session_service(struct manager *m, struct request *req, const char *name,
                                             const char *what) {
        struct service *s;

        if (!methods_check_name(req, "name", name))
                return NULL;
        s = manager_find(m, name);
        if (!s) {
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", name, "no service named %s", name);
                return NULL;
        }
        if (methods_refuse_host(req, s, what))
                return NULL;
        if (s->observed.state != HL_CT_RUNNING) {
                request_fail_parameter(req, HL_ERROR_ACTION_FAILED, "service", name, "%s is not running (%s)", name,
                                       hl_ct_state_to_string(s->observed.state));
                return NULL;
        }
        if (!request_wants_upgrade(req)) {
                request_fail_parameter(req, HL_VARLINK_INVALID_PARAMETER, "parameter", "upgrade",
                                       "a session is a call with \"upgrade\": true (docs/protocol.md, Sessions)");
                return NULL;
        }
        return s;
}

/* user (Exec's, Push's): NULL, a name or uid[:gid] as the helper reads them; false
 * (answered) otherwise. */
static bool user_is_valid(struct request *req, const char *user) {
        if (!user || (user[0] && strlen(user) <= 64 && !strpbrk(user, "\n/ ")))
                return true;
        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "user",
                               "\"%.80s\" is not a user name or uid[:gid]", user);
        return false;
}

/* Strings only, each without NUL; false (answered) otherwise. */
static bool string_list(struct request *req, json_t *list, const char *param, bool env) {
        size_t i;
        json_t *x;

        if (!list)
                return true;
        json_array_foreach(list, i, x) {
                const char *v = json_string_value(x);
                if (!v || strlen(v) != json_string_length(x) ||
                    (env && (!strchr(v, '=') || v[0] == '=' || strcspn(v, "=") != strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")))) {
                        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", param,
                                               env ? "\"%.80s\" is not NAME=VALUE" : "an argument is not a string (%.80s)",
                                               v ? v : "?");
                        return false;
                }
        }
        return true;
}

struct exec_args {
        const char *name;
        json_t *command;
        json_t *env;
        const char *user;
        const char *cwd;
        const char *term;
        bool tty;
        int64_t rows, cols;
};

void methods_exec(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct exec_args, name), true },
                { "command", HL_FIELD_ARRAY, offsetof(struct exec_args, command), false },
                { "env", HL_FIELD_ARRAY, offsetof(struct exec_args, env), false },
                { "user", HL_FIELD_STRING, offsetof(struct exec_args, user), false },
                { "cwd", HL_FIELD_STRING, offsetof(struct exec_args, cwd), false },
                { "term", HL_FIELD_STRING, offsetof(struct exec_args, term), false },
                { "tty", HL_FIELD_BOOL, offsetof(struct exec_args, tty), false },
                { "rows", HL_FIELD_INT, offsetof(struct exec_args, rows), false },
                { "cols", HL_FIELD_INT, offsetof(struct exec_args, cols), false },
                {},
        };
        struct exec_args a = {};
        const struct service *s;
        char reason[512];
        size_t off = 0, i;
        json_t *x;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (!string_list(req, a.command, "command", false) || !string_list(req, a.env, "env", true))
                return;
        if (a.rows < 0 || a.rows > 65535 || a.cols < 0 || a.cols > 65535) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", a.rows < 0 || a.rows > 65535 ? "rows" : "cols",
                                       "a terminal has up to 65535 rows and columns (0: not said)");
                return;
        }
        if (!user_is_valid(req, a.user))
                return;
        if (a.cwd && a.cwd[0] != '/') {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "cwd",
                                       "\"%.80s\" is not an absolute path", a.cwd);
                return;
        }
        if (a.term && (strlen(a.term) > 64 || strpbrk(a.term, "\n=/"))) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "term", "\"%.80s\" is not a terminal type",
                                       a.term);
                return;
        }
        s = session_service(m, req, a.name, "run a command in");
        if (!s)
                return;
        /* What the history shows: the command as words, cut to the reason's size. */
        if (json_array_size(a.command) == 0)
                off = (size_t) snprintf(reason, sizeof(reason), "login shell");
        else
                json_array_foreach(a.command, i, x)
                        if (off < sizeof(reason))
                                off += (size_t) snprintf(reason + off, sizeof(reason) - off, "%s%s", i ? " " : "",
                                                         json_string_value(x));
        if (off < sizeof(reason))
                snprintf(reason + off, sizeof(reason) - off, "%s%s%s", a.tty ? " (terminal)" : "",
                         a.user ? " as " : "", a.user ? a.user : "");
        session_start(m, req, s,
                      json_pack("{s:s, s:O?, s:O?, s:s?, s:s?, s:s?, s:b, s:I, s:I}", "mode", "exec", "argv", a.command,
                                "env", a.env, "user", a.user, "cwd", a.cwd, "term", a.term, "tty", a.tty, "rows",
                                (json_int_t) a.rows, "cols", (json_int_t) a.cols),
                      reason);
}

struct console_args {
        const char *name;
        int64_t tty;
        int64_t rows, cols;
};

void methods_console(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct console_args, name), true },
                { "tty", HL_FIELD_INT, offsetof(struct console_args, tty), false },
                { "rows", HL_FIELD_INT, offsetof(struct console_args, rows), false },
                { "cols", HL_FIELD_INT, offsetof(struct console_args, cols), false },
                {},
        };
        struct console_args a = {};
        const struct service *s;
        char reason[64];

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (a.tty < 0 || a.tty > 64 || a.rows < 0 || a.rows > 65535 || a.cols < 0 || a.cols > 65535) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", a.tty < 0 || a.tty > 64 ? "tty" : "rows",
                                       "tty is 0 (the console) to 64, rows and columns up to 65535");
                return;
        }
        s = session_service(m, req, a.name, "attach to");
        if (!s)
                return;
        if (a.tty == 0)
                snprintf(reason, sizeof(reason), "console");
        else
                snprintf(reason, sizeof(reason), "console tty%lld", (long long) a.tty);
        session_start(m, req, s,
                      json_pack("{s:s, s:b, s:I, s:I, s:I}", "mode", "console", "tty", true, "console_tty",
                                (json_int_t) a.tty, "rows", (json_int_t) a.rows, "cols", (json_int_t) a.cols),
                      reason);
}

void methods_sessions_close(struct manager *m) {
        /* A session is the operator's until hld goes: its helper ends the command as a
         * hung-up terminal would (systemd would stop it with hld's cgroup anyway), and the
         * event stays running, so the next start marks it interrupted. */
        while (m->sessions) {
                struct session *s = m->sessions;
                uv_process_kill(&s->process, SIGTERM);
                session_close(s);
        }
}

struct logs_args {
        const char *name;
        int64_t lines;
        int64_t since;
        bool follow;
};

void methods_logs(struct manager *m, struct request *req, json_t *parameters) {
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct logs_args, name), true },
                { "lines", HL_FIELD_INT, offsetof(struct logs_args, lines), false },
                { "since", HL_FIELD_INT, offsetof(struct logs_args, since), false },
                { "follow", HL_FIELD_BOOL, offsetof(struct logs_args, follow), false },
                {},
        };
        struct logs_args a = {};
        const struct peer *peer = request_peer(req);
        struct service *s;
        char reason[64];

        if (!methods_dispatch(req, parameters, table, &a) || !methods_check_name(req, "name", a.name))
                return;
        /* What a service prints may hold its secrets: read as its commands are run. */
        if (!peer->admin) {
                request_fail_parameter(req, HL_ERROR_PERMISSION_DENIED, "method", HL_INTERFACE ".Logs",
                                       "a service's log is for root and the group %s (you are %s)",
                                       m->config.admin_group, peer->user);
                return;
        }
        if (a.lines < 0 || a.lines > 1000000 || a.since < 0) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", a.lines < 0 || a.lines > 1000000 ? "lines" : "since",
                                       "lines is 0 (all) to 1000000, since a Unix time");
                return;
        }
        if (a.follow && !request_wants_more(req)) {
                request_error(req, HL_VARLINK_EXPECTED_MORE, NULL);
                return;
        }
        s = manager_find(m, a.name);
        if (!s) {
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", a.name, "no service named %s", a.name);
                return;
        }
        if (methods_refuse_host(req, s, "read the log of"))
                return;
        snprintf(reason, sizeof(reason), "logs%s", a.follow ? " -f" : "");
        session_start(m, req, s,
                      json_pack("{s:s, s:I, s:I, s:b, s:b}", "mode", "logs", "lines", (json_int_t) a.lines, "since",
                                (json_int_t) a.since, "follow", a.follow, "more", request_wants_more(req)),
                      NULL);
}

struct file_args {
        const char *name;
        const char *path;
        int64_t mode;
        const char *user;
};

/* Push and Pull: a path as the container sees it (its own programs resolve it there). */
static void file_method(struct manager *m, struct request *req, json_t *parameters, bool push) {
        static const struct hl_field push_table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct file_args, name), true },
                { "path", HL_FIELD_STRING, offsetof(struct file_args, path), true },
                { "mode", HL_FIELD_INT, offsetof(struct file_args, mode), false },
                { "user", HL_FIELD_STRING, offsetof(struct file_args, user), false },
                {},
        };
        static const struct hl_field pull_table[] = {
                { "name", HL_FIELD_STRING, offsetof(struct file_args, name), true },
                { "path", HL_FIELD_STRING, offsetof(struct file_args, path), true },
                {},
        };
        struct file_args a = { .mode = 0644 };
        const struct service *s;
        char reason[PATH_MAX + 64];

        if (!methods_dispatch(req, parameters, push ? push_table : pull_table, &a))
                return;
        if (a.path[0] != '/' || strlen(a.path) >= PATH_MAX || (push && a.path[strlen(a.path) - 1] == '/')) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "path",
                                       "\"%.200s\" is not an absolute path of a file", a.path);
                return;
        }
        if (a.mode < 0 || a.mode > 07777) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "mode", "a mode is 0 to 07777");
                return;
        }
        if (!user_is_valid(req, a.user))
                return;
        s = session_service(m, req, a.name, push ? "copy a file into" : "copy a file out of");
        if (!s)
                return;
        if (push)
                snprintf(reason, sizeof(reason), "push %s (mode %04o%s%s)", a.path, (unsigned) a.mode,
                         a.user ? ", owner " : "", a.user ? a.user : "");
        else
                snprintf(reason, sizeof(reason), "pull %s", a.path);
        session_start(m, req, s,
                      json_pack("{s:s, s:s, s:I, s:s?}", "mode", push ? "push" : "pull", "path", a.path, "file_mode",
                                (json_int_t) a.mode, "user", a.user),
                      reason);
}

void methods_push(struct manager *m, struct request *req, json_t *parameters) {
        file_method(m, req, parameters, true);
}

void methods_pull(struct manager *m, struct request *req, json_t *parameters) {
        file_method(m, req, parameters, false);
}
