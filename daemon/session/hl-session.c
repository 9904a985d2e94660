/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hl-session: one operator's session in a container, for hld (hlctl exec, enter, console).
 *
 * hld decides who may ask and what (methods-session.c), then execs this program with the
 * client's connection as fd 3 and the session as JSON in HL_SESSION. It attaches through
 * liblxc (or takes a console of the container's monitor), answers the Varlink call on the
 * connection itself, then relays the session's frames (lib/hl-stream.h) until the command
 * ends or the client goes, and its one line on stdout tells hld how the session ended.
 *
 * A program of its own, exec'd rather than forked from hld: it inherits none of hld's
 * threads, memory or descriptors, so liblxc's forks inside it are safe in every build, and
 * a session costs hld's loop nothing while it lasts. Everything here is non-blocking and
 * bounded: a client that stops reading stops the command's output (back-pressure), never
 * hld. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <grp.h>

#include "hl-macro.h"
#include "hl-protocol.h"
#include "hl-stream.h"
#include "hl-util.h"
#include "session.h"

#define OUT_MAX (256u * 1024u) /* frames queued for the client before the command's output waits */
#define IN_MAX (64u * 1024u)   /* stdin bytes queued for the command before the client waits */
#define GONE_GRACE_MS 2000     /* after SIGHUP, before SIGKILL, when the client has left */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"



static int buffer_add(struct buffer *b, const void *data, size_t len) {
        if (b->len + len > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *p;
                while (cap < b->len + len)
                        cap *= 2;
                p = realloc(b->data, cap);
                if (!p)
                        return -ENOMEM;
                b->data = p;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
        return 0;
}

static void buffer_drop(struct buffer *b, size_t n) {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
}

static int queue_frame(struct buffer *out, enum hl_stream_type type, const void *data, size_t len) {
        char header[HL_STREAM_HEADER];

        hl_stream_header(header, type, len);
        if (buffer_add(out, header, sizeof(header)) < 0 || buffer_add(out, data, len) < 0)
                return -ENOMEM;
        return 0;
}

/* Blocking write of all of it to the client, for the answer and the last frames. */
int session_write_all(int fd, const char *data, size_t len) {
        return hl_write_all(fd, data, len, SESSION_WRITE_TIMEOUT_MS);
}

int session_reply(json_t *parameters, bool continues) {
        size_t len = 0;
        char *frame = hl_reply_encode(parameters, continues, &len);
        int r = frame ? session_write_all(CLIENT_FD, frame, len) : -ENOMEM;

        free(frame);
        json_decref(parameters);
        return r;
}

static const char *service_name = "";

void session_fail(const char *error, const char *fmt, ...) {
        char message[1024];
        size_t len = 0;
        va_list ap;
        json_t *p;
        char *frame;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        p = json_pack("{s:s}", "message", message);
        if (p && strcmp(error, HL_ERROR_ACTION_FAILED) == 0)
                json_object_set_new(p, "service", json_string(service_name));
        frame = hl_error_encode(error, p, &len);
        if (frame)
                session_write_all(CLIENT_FD, frame, len);
        free(frame);
        json_decref(p);
        /* What hld records of it. */
        {
                json_t *o = json_pack("{s:s}", "error", message);
                char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
                printf("%s\n", line ? line : "{\"error\":\"could not start the session\"}");
                free(line);
                json_decref(o);
        }
        fprintf(stderr, "hl-session: %s\n", message);
}

/* ---- inside the container: what the attached process does before it execs --------- */


/* The container's /etc/passwd, read by hand: this process is in the container's mount
 * namespace, and loading NSS modules there would run the container's code as root. */
/* The container's own file, opened so that nothing it made of it can hang or flood this
 * process: a regular file (no FIFO, no /dev/zero), read up to a bound. */
FILE *session_open_account_file(const char *path) {
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        FILE *f;

        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ACCOUNT_FILE_MAX || !(f = fdopen(fd, "re"))) {
                close(fd);
                return NULL;
        }
        return f;
}

bool session_passwd_find(const char *name, uid_t uid, struct passwd_entry *ret) {
        char line[4096];
        FILE *f = session_open_account_file("/etc/passwd");
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f)) {
                char *field[7] = {}, *p = line;
                int n = 0;

                line[strcspn(line, "\n")] = 0;
                /* strsep keeps empty fields (a password field "x", a shell left empty). */
                while (n < 7 && (field[n] = strsep(&p, ":")))
                        n++;
                if (n < 7)
                        continue;
                if (name ? strcmp(field[0], name) != 0 : strtoul(field[2], NULL, 10) != uid)
                        continue;
                ret->uid = (uid_t) strtoul(field[2], NULL, 10);
                ret->gid = (gid_t) strtoul(field[3], NULL, 10);
                snprintf(ret->name, sizeof(ret->name), "%s", field[0]);
                snprintf(ret->home, sizeof(ret->home), "%s", field[5]);
                snprintf(ret->shell, sizeof(ret->shell), "%s", field[6]);
                found = true;
        }
        fclose(f);
        return found;
}

/* The supplementary groups of user from the container's /etc/group. */
static int groups_of(const char *user, gid_t primary, gid_t *ret, int max) {
        char line[8192];
        FILE *f = session_open_account_file("/etc/group");
        int n = 0;

        ret[n++] = primary;
        if (!f)
                return n;
        while (n < max && fgets(line, sizeof(line), f)) {
                char *p = line, *gname = strsep(&p, ":"), *pw = strsep(&p, ":"), *gid = strsep(&p, ":"), *members = p;
                (void) gname;
                (void) pw;
                if (!gid || !members)
                        continue;
                members[strcspn(members, "\n")] = 0;
                for (char *m = strtok(members, ","); m; m = strtok(NULL, ","))
                        if (strcmp(m, user) == 0) {
                                ret[n++] = (gid_t) strtoul(gid, NULL, 10);
                                break;
                        }
        }
        fclose(f);
        return n;
}

struct child_args {
        const struct spec *spec;
        int fd_socket; /* the helper's end for the container's pty master */
        int host_slave; /* a pty of the host's, used when the container has none free */
};

void session_send_fd(int sock, int fd, const void *data, size_t len) {
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = {};
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                msg.msg_control = u.buf;
                msg.msg_controllen = sizeof(u.buf);
                CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
                CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
                CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &fd, sizeof(int));
        }
        while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
                ;
}

/* A pty of the container's own devpts, so that tty(1), sudo and tmux inside find their
 * terminal; its master goes to the helper. -1 when the container has none free. */
static int container_pty(int sock, const struct spec *s) {
        char name[PATH_MAX];
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -1;

        if (master >= 0 && unlockpt(master) == 0 && ptsname_r(master, name, sizeof(name)) == 0)
                slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        session_send_fd(sock, slave >= 0 ? master : -1, slave >= 0 ? "y" : "n", 1);
        if (master >= 0)
                close(master);
        (void) s;
        return slave;
}

static _Noreturn void child_fail(int status, const char *fmt, ...) HL_PRINTF(2, 3);
static _Noreturn void child_fail(int status, const char *fmt, ...) {
        char message[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        if (n > 0)
                (void) !write(STDERR_FILENO, message, strnlen(message, sizeof(message)));
        _exit(status);
}

/* Runs in the container's namespaces, as its root, before the command. Status 125 for a
 * session that could not be set up (no such user, directory), 126 for a command that
 * could not run, 127 for one that does not exist: what shells and container tools say. */
static int child_main(void *payload) {
        struct child_args *a = payload;
        const struct spec *s = a->spec;
        struct passwd_entry pw = { .uid = 0, .gid = 0, .name = "root", .home = "/root", .shell = "/bin/sh" };
        bool have_pw = false;
        char **argv = s->argv, *login_argv[2], login_name[PATH_MAX + 1];
        gid_t groups[64];
        int ngroups;

        /* The client's connection is the helper's: nothing in the container may hold it
         * (a ptrace of this process by the container's root, or the command after exec). */
        close(CLIENT_FD);
        if (s->tty) {
                int slave = container_pty(a->fd_socket, s);
                struct winsize ws = { .ws_row = (unsigned short) s->rows, .ws_col = (unsigned short) s->cols };

                if (slave < 0)
                        slave = a->host_slave;
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        child_fail(125, "hlctl: cannot give the session a terminal: %s\r\n", strerror(errno));
                if (s->rows && s->cols)
                        ioctl(slave, TIOCSWINSZ, &ws);
                for (int fd = 0; fd <= 2; fd++)
                        dup2(slave, fd);
                if (slave > 2)
                        close(slave);
        }
        close(a->fd_socket);
        if (a->host_slave >= 0 && a->host_slave > 2)
                close(a->host_slave);

        if (s->user) {
                char *end = NULL;
                unsigned long uid = strtoul(s->user, &end, 10);
                if (end != s->user && (*end == 0 || *end == ':')) {
                        have_pw = session_passwd_find(NULL, (uid_t) uid, &pw);
                        if (!have_pw)
                                pw = (struct passwd_entry) { .uid = (uid_t) uid, .gid = (gid_t) uid, .home = "/",
                                                             .shell = "/bin/sh" };
                        if (*end == ':')
                                pw.gid = (gid_t) strtoul(end + 1, NULL, 10);
                } else if (!(have_pw = session_passwd_find(s->user, 0, &pw)))
                        child_fail(125, "hlctl: no user %s in the container's /etc/passwd\n", s->user);
        } else
                have_pw = session_passwd_find(NULL, 0, &pw);
        if (!pw.shell[0])
                snprintf(pw.shell, sizeof(pw.shell), "/bin/sh");

        ngroups = have_pw ? groups_of(pw.name, pw.gid, groups, 64) : 1;
        groups[0] = pw.gid;
        if (setgroups((size_t) ngroups, groups) < 0 || setgid(pw.gid) < 0 || setuid(pw.uid) < 0)
                child_fail(125, "hlctl: cannot become uid %u gid %u: %s\n", (unsigned) pw.uid, (unsigned) pw.gid,
                           strerror(errno));

        clearenv();
        setenv("PATH", DEFAULT_PATH, 1);
        setenv("HOME", pw.home[0] ? pw.home : "/", 1);
        if (have_pw) {
                setenv("USER", pw.name, 1);
                setenv("LOGNAME", pw.name, 1);
        }
        setenv("SHELL", pw.shell, 1);
        setenv("container", "lxc", 1);
        if (s->tty)
                setenv("TERM", s->term && s->term[0] ? s->term : "xterm", 1);
        for (char **e = s->env; e && *e; e++)
                putenv(*e);

        if (s->cwd ? chdir(s->cwd) < 0 : (chdir(pw.home) < 0 && chdir("/") < 0))
                child_fail(125, "hlctl: cannot change to %s: %s\n", s->cwd ? s->cwd : pw.home, strerror(errno));

        if (!argv) {
                /* A login shell, as pct enter and a console login give: its profile read. */
                const char *base = strrchr(pw.shell, '/');
                snprintf(login_name, sizeof(login_name), "-%s", base ? base + 1 : pw.shell);
                login_argv[0] = login_name;
                login_argv[1] = NULL;
                execv(pw.shell, login_argv);
                child_fail(errno == ENOENT ? 127 : 126, "hlctl: cannot run the shell %s: %s\n", pw.shell,
                           strerror(errno));
        }
        execvp(argv[0], argv);
        child_fail(errno == ENOENT ? 127 : 126, "hlctl: cannot run %s: %s\n", argv[0], strerror(errno));
}

/* ---- the helper ------------------------------------------------------------------- */

ssize_t session_recv_fd(int sock, int timeout_ms, void *buf, size_t size, int *ret_fd) {
        struct pollfd p = { .fd = sock, .events = POLLIN };
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *c;
        ssize_t n;

        *ret_fd = -1;
        if (poll(&p, 1, timeout_ms) <= 0)
                return -ETIMEDOUT;
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        c = CMSG_FIRSTHDR(&msg);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return n;
}

static char **string_array(json_t *a) {
        size_t i, n = json_array_size(a);
        char **v;
        json_t *x;

        if (!json_is_array(a))
                return NULL;
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return NULL;
        json_array_foreach(a, i, x)
                v[i] = strdup(json_string_value(x) ? json_string_value(x) : "");
        return v;
}

/* The session as hld wrote it (methods-session.c), decoded with a table as every message is. */
static int parse_spec(const char *text, struct spec *ret) {
        struct {
                const char *lxcpath, *name, *mode, *user, *cwd, *term, *path;
                json_t *argv, *env;
                bool tty, follow, more;
                int64_t rows, cols, console_tty, lines, since, file_mode;
        } f = {};
#define F(name, type) { #name, type, offsetof(__typeof__(f), name), false }
        const struct hl_field table[] = {
                F(lxcpath, HL_FIELD_STRING), F(name, HL_FIELD_STRING), F(mode, HL_FIELD_STRING),
                F(user, HL_FIELD_STRING),    F(cwd, HL_FIELD_STRING),  F(term, HL_FIELD_STRING),
                F(path, HL_FIELD_STRING),    F(argv, HL_FIELD_ARRAY),  F(env, HL_FIELD_ARRAY),
                F(tty, HL_FIELD_BOOL),       F(follow, HL_FIELD_BOOL), F(more, HL_FIELD_BOOL),
                F(rows, HL_FIELD_INT),       F(cols, HL_FIELD_INT),    F(console_tty, HL_FIELD_INT),
                F(lines, HL_FIELD_INT),      F(since, HL_FIELD_INT),   F(file_mode, HL_FIELD_INT),
                {},
        };
#undef F
        json_t *j = json_loads(text ? text : "", 0, NULL);
        const char *bad = NULL;

        if (!j || hl_json_dispatch(j, table, &f, &bad) < 0 || !f.lxcpath || !f.name || !f.mode) {
                json_decref(j);
                return -EINVAL;
        }
        *ret = (struct spec) {
                .root = j, .lxcpath = f.lxcpath, .name = f.name, .mode = f.mode, .user = f.user, .cwd = f.cwd,
                .term = f.term, .path = f.path, .tty = f.tty, .follow = f.follow, .more = f.more,
                .rows = (unsigned) f.rows, .cols = (unsigned) f.cols, .console_tty = (int) f.console_tty,
                .lines = f.lines, .since = f.since, .file_mode = f.file_mode,
        };
        if (json_array_size(f.argv) > 0)
                ret->argv = string_array(f.argv);
        ret->env = string_array(f.env);
        return 0;
}


static void free_strings(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static void spec_done(struct spec *s) {
        free_strings(s->argv);
        free_strings(s->env);
        json_decref(s->root);
}

static void session_done(struct session *s) {
        free(s->to_client.data);
        free(s->to_command.data);
        free(s->from_client.data);
}

void session_set_nonblock(int fd) {
        if (fd >= 0)
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Reads what fd has for the client, as frames of type: 1 when it read some, 0 when it has
 * nothing now, -1 at its end (EOF, or EIO: a pty whose every slave is closed). */
static int relay_out(struct session *s, int fd, enum hl_stream_type type) {
        char buf[16384];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0)
                return -1;
        return queue_frame(&s->to_client, type, buf, (size_t) n) >= 0 ? 1 : -1;
}

static void signal_command(struct session *s, int sig) {
        pid_t group = s->master >= 0 ? tcgetpgrp(s->master) : -1;

        /* On a terminal the foreground job is what Ctrl-C would reach. */
        if (group > 0 && kill(-group, sig) == 0)
                return;
        if (s->pid > 0)
                kill(s->pid, sig);
}

/* Takes the client's frames off from_client; false on a broken stream. */
static bool client_frames(struct session *s) {
        struct hl_stream_frame f;
        size_t used;
        int r;

        while ((r = hl_stream_next(s->from_client.data, s->from_client.len, &f, &used)) > 0) {
                unsigned rows, cols;

                switch (f.type) {
                case HL_STREAM_STDIN:
                        if (f.len == 0)
                                s->stdin_ended = true;
                        else if (!s->stdin_ended && buffer_add(&s->to_command, f.data, f.len) < 0)
                                return false;
                        break;
                case HL_STREAM_WINDOW:
                        if (s->master >= 0 && hl_stream_window_decode(f.data, f.len, &rows, &cols)) {
                                struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
                                ioctl(s->master, TIOCSWINSZ, &ws);
                        }
                        break;
                case HL_STREAM_SIGNAL:
                        if (f.len == 1 && hl_stream_signal_allowed((unsigned char) f.data[0]))
                                signal_command(s, (unsigned char) f.data[0]);
                        break;
                default:
                        return false; /* a frame only hld sends */
                }
                buffer_drop(&s->from_client, used);
        }
        return r == 0;
}

/* hld stopping sends SIGTERM (a hang-up, SIGHUP): the session ends as if the client had
 * left. The signals are blocked but while waiting in ppoll, so none is lost between. */
static volatile sig_atomic_t told_to_end;
static sigset_t poll_mask;

static void on_end_signal(int sig) {
        told_to_end = 1;
}

static void catch_end_signals(void) {
        struct sigaction sa = { .sa_handler = on_end_signal };
        sigset_t block;

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sigprocmask(SIG_BLOCK, &block, &poll_mask);
        sigdelset(&poll_mask, SIGTERM);
        sigdelset(&poll_mask, SIGHUP);
}

/* Relays until the command ends (1), or the client goes or breaks the stream (0). */
static int relay(struct session *s) {
        for (;;) {
                struct pollfd p[5];
                int n = 0, i_client, i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
                bool out_room = s->to_client.len < OUT_MAX;
                int to_command = s->master >= 0 ? s->master : s->in;

                /* A non-terminal's stdin is closed once its last byte is written. */
                if (s->master < 0 && s->stdin_ended && s->to_command.len == 0 && s->in >= 0) {
                        close(s->in);
                        s->in = -1;
                        to_command = -1;
                }
                i_client = n;
                p[n++] = (struct pollfd) { .fd = CLIENT_FD,
                                           .events = (short) ((s->to_command.len < IN_MAX && !s->client_shut ? POLLIN : 0) |
                                                              (s->to_client.len ? POLLOUT : 0)) };
                if (s->master >= 0) {
                        i_out = n;
                        p[n++] = (struct pollfd) { .fd = s->master,
                                                   .events = (short) ((out_room ? POLLIN : 0) |
                                                                      (s->to_command.len ? POLLOUT : 0)) };
                } else {
                        if (s->out >= 0 && out_room) {
                                i_out = n;
                                p[n++] = (struct pollfd) { .fd = s->out, .events = POLLIN };
                        }
                        if (s->err >= 0 && out_room) {
                                i_err = n;
                                p[n++] = (struct pollfd) { .fd = s->err, .events = POLLIN };
                        }
                        if (to_command >= 0 && s->to_command.len) {
                                i_in = n;
                                p[n++] = (struct pollfd) { .fd = to_command, .events = POLLOUT };
                        }
                }
                if (s->pidfd >= 0) {
                        i_pid = n;
                        p[n++] = (struct pollfd) { .fd = s->pidfd, .events = POLLIN };
                }
                if (ppoll(p, (nfds_t) n, NULL, &poll_mask) < 0) {
                        if (errno == EINTR && !told_to_end)
                                continue;
                        return 0;
                }

                if ((p[i_client].revents & POLLHUP) && !(p[i_client].revents & POLLIN))
                        return 0; /* gone both ways */
                if (p[i_client].revents & POLLIN) {
                        char buf[HL_STREAM_MAX_PAYLOAD + HL_STREAM_HEADER];
                        ssize_t k = read(CLIENT_FD, buf, sizeof(buf));
                        if (k == 0 && (p[i_client].revents & POLLHUP))
                                return 0;
                        if (k == 0) {
                                /* Shut for writing only (socat at its input's end): the end of
                                 * stdin; the output still goes to it. */
                                s->client_shut = s->stdin_ended = true;
                                continue;
                        }
                        if (k < 0 && errno != EAGAIN && errno != EINTR)
                                return 0;
                        if (k > 0 && (buffer_add(&s->from_client, buf, (size_t) k) < 0 || !client_frames(s)))
                                return 0;
                } else if (p[i_client].revents & POLLERR)
                        return 0;
                if ((p[i_client].revents & POLLOUT) && s->to_client.len) {
                        ssize_t k = send(CLIENT_FD, s->to_client.data, s->to_client.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (k < 0 && errno != EAGAIN && errno != EINTR)
                                return 0;
                        if (k > 0)
                                buffer_drop(&s->to_client, (size_t) k);
                }

                if (s->master >= 0 && i_out >= 0) {
                        if ((p[i_out].revents & (POLLIN | POLLHUP | POLLERR)) &&
                            relay_out(s, s->master, HL_STREAM_STDOUT) < 0) {
                                /* Every slave closed: a console whose container stopped, or a
                                 * command that ended (its pidfd says so too). */
                                if (s->pidfd < 0)
                                        return 1;
                                close(s->master);
                                s->master = -1;
                                continue;
                        }
                        if ((p[i_out].revents & POLLOUT) && s->to_command.len) {
                                ssize_t k = write(s->master, s->to_command.data, s->to_command.len);
                                if (k > 0)
                                        buffer_drop(&s->to_command, (size_t) k);
                        }
                } else {
                        if (i_out >= 0 && (p[i_out].revents & (POLLIN | POLLHUP | POLLERR)) &&
                            relay_out(s, s->out, HL_STREAM_STDOUT) < 0) {
                                close(s->out);
                                s->out = -1;
                        }
                        if (i_err >= 0 && (p[i_err].revents & (POLLIN | POLLHUP | POLLERR)) &&
                            relay_out(s, s->err, HL_STREAM_STDERR) < 0) {
                                close(s->err);
                                s->err = -1;
                        }
                        if (i_in >= 0 && p[i_in].revents) {
                                ssize_t k = write(to_command, s->to_command.data, s->to_command.len);
                                if (k > 0)
                                        buffer_drop(&s->to_command, (size_t) k);
                                else if (k < 0 && errno != EAGAIN && errno != EINTR) {
                                        /* The command closed its stdin: what is left goes nowhere. */
                                        s->to_command.len = 0;
                                        close(s->in);
                                        s->in = -1;
                                }
                        }
                }
                if (i_pid >= 0 && (p[i_pid].revents & POLLIN))
                        return 1;
        }
}

/* What the command wrote before it ended is in its pipes or pty still: taken, then sent.
 * Only what is there now: a job left in the background may write on for ever. */
static void drain(struct session *s) {
        const int fds[] = { s->master, s->out, s->err };
        const enum hl_stream_type types[] = { HL_STREAM_STDOUT, HL_STREAM_STDOUT, HL_STREAM_STDERR };

        for (size_t i = 0; i < 3; i++)
                while (fds[i] >= 0 && s->to_client.len < 4 * OUT_MAX && relay_out(s, fds[i], types[i]) > 0)
                        ;
}

int session_wait(struct session *s, int timeout_ms) {
        struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
        int status = 0;

        if (timeout_ms >= 0 && poll(&p, 1, timeout_ms) == 0)
                return -ETIMEDOUT;
        while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
                ;
        return status;
}

int session_attach(struct lxc_container *c, const struct spec *spec, struct session *s) {
        lxc_attach_options_t options = LXC_ATTACH_OPTIONS_DEFAULT;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, fds[2] = { -1, -1 };
        int host_master = -1, host_slave = -1;
        struct child_args args = { .spec = spec, .fd_socket = -1, .host_slave = -1 };
        pid_t pid = -1;
        int r;

        if (null < 0)
                return -errno;
        if (spec->tty) {
                char name[PATH_MAX];
                if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) < 0)
                        return -errno;
                host_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (host_master < 0 || unlockpt(host_master) < 0 || ptsname_r(host_master, name, sizeof(name)) != 0 ||
                    (host_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
                        return -errno;
                args.fd_socket = fds[1];
                args.host_slave = host_slave;
                options.stdin_fd = options.stdout_fd = options.stderr_fd = null;
        } else {
                if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
                        return -errno;
                options.stdin_fd = in[0];
                options.stdout_fd = out[1];
                options.stderr_fd = err[1];
                args.fd_socket = null;
        }
        /* The environment is the child's own business (child_main clears it). */
        options.env_policy = LXC_ATTACH_CLEAR_ENV;
        r = c->attach(c, child_main, &args, &options, &pid);
        close(null);
        if (r < 0 || pid <= 0)
                return -EIO;
        s->pid = pid;
        s->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (spec->tty) {
                int master;
                close(fds[1]);
                close(host_slave);
                {
                        char answer_byte = 0;
                        if (session_recv_fd(fds[0], 10000, &answer_byte, 1, &master) != 1 || answer_byte != 'y') {
                                if (master >= 0)
                                        close(master);
                                master = -1;
                        }
                }
                close(fds[0]);
                if (master >= 0)
                        close(host_master);
                else
                        master = host_master;
                s->master = master;
        } else {
                close(in[0]);
                close(out[1]);
                close(err[1]);
                s->in = in[1];
                s->out = out[0];
                s->err = err[0];
        }
        session_set_nonblock(s->master);
        session_set_nonblock(s->in);
        session_set_nonblock(s->out);
        session_set_nonblock(s->err);
        return 0;
}

static void finish(struct session *s, int status, bool gone) {
        char text[64];

        if (WIFSIGNALED(status))
                snprintf(text, sizeof(text), "signal %d", WTERMSIG(status));
        else
                snprintf(text, sizeof(text), "exit %d", WEXITSTATUS(status));
        if (!gone) {
                drain(s);
                queue_frame(&s->to_client, HL_STREAM_EXIT, text, strlen(text));
                session_write_all(CLIENT_FD, s->to_client.data, s->to_client.len);
                shutdown(CLIENT_FD, SHUT_WR);
        }
        if (WIFSIGNALED(status))
                printf("{\"signal\":%d,\"gone\":%s}\n", WTERMSIG(status), gone ? "true" : "false");
        else
                printf("{\"exit\":%d,\"gone\":%s}\n", WEXITSTATUS(status), gone ? "true" : "false");
}

/* Makes the session (answering the call either way) and relays it to its end. */
static int run(const struct spec *spec, struct session *s, struct lxc_container *c) {
        int status;

        /* A log is read also of a container that stopped: most of all then. */
        if (strcmp(spec->mode, "logs") == 0)
                return logs_run(spec, c);
        if (strcmp(spec->mode, "push") == 0 || strcmp(spec->mode, "pull") == 0)
                return spec->path ? files_run(spec, c) : 1;
        if (!c || !c->is_running(c)) {
                session_fail(HL_ERROR_ACTION_FAILED, "%s is not running", spec->name);
                return 1;
        }
        if (strcmp(spec->mode, "console") == 0) {
                int ttynum = spec->console_tty, master = -1;
                if (c->console_getfd(c, &ttynum, &master) < 0 || master < 0) {
                        session_fail(HL_ERROR_ACTION_FAILED,
                                     "%s has no free %s (lxc.tty.max sets how many ttys a container has)", spec->name,
                                     spec->console_tty == 0 ? "console" : "tty");
                        return 1;
                }
                s->master = master;
                session_set_nonblock(master);
                if (spec->rows && spec->cols) {
                        struct winsize ws = { .ws_row = (unsigned short) spec->rows,
                                              .ws_col = (unsigned short) spec->cols };
                        ioctl(master, TIOCSWINSZ, &ws);
                }
                session_reply(json_pack("{s:i, s:b}", "tty", ttynum, "terminal", true), false);
        } else {
                int r = session_attach(c, spec, s);
                if (r < 0) {
                        session_fail(HL_ERROR_ACTION_FAILED, "could not attach to %s: %s", spec->name, strerror(-r));
                        return 1;
                }
                session_reply(json_pack("{s:i, s:b}", "pid", (int) s->pid, "terminal", spec->tty), false);
        }
        session_set_nonblock(CLIENT_FD);
        catch_end_signals();

        if (relay(s) == 1) {
                status = s->pidfd >= 0 ? session_wait(s, -1) : 0;
                finish(s, status, false);
                return 0;
        }
        /* The client left (or broke the stream): its command goes too, as a terminal's
         * would when its line hangs up. */
        if (s->master >= 0) {
                close(s->master);
                s->master = -1;
        }
        if (s->pidfd < 0) {
                printf("{\"detached\":true,\"gone\":true}\n");
                return 0;
        }
        signal_command(s, SIGHUP);
        if (s->pid > 0)
                kill(s->pid, SIGHUP);
        status = session_wait(s, GONE_GRACE_MS);
        if (status == -ETIMEDOUT) {
                kill(s->pid, SIGKILL);
                status = session_wait(s, -1);
        }
        finish(s, status, true);
        return 0;
}

int main(int argc, char **argv) {
        struct spec spec = {};
        struct session s = { .master = -1, .in = -1, .out = -1, .err = -1, .pidfd = -1 };
        struct lxc_container *c;
        int r;

        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        /* libuv hands the connection over inheritable: no process started from here gets it. */
        fcntl(CLIENT_FD, F_SETFD, FD_CLOEXEC);
        if (parse_spec(getenv("HL_SESSION"), &spec) < 0) {
                session_fail(HL_ERROR_INTERNAL, "hl-session was given no session to run");
                spec_done(&spec);
                return 1;
        }
        service_name = spec.name;
        c = lxc_container_new(spec.name, spec.lxcpath);
        r = run(&spec, &s, c);
        if (c)
                lxc_container_put(c);
        session_done(&s);
        spec_done(&spec);
        return r;
}
