/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hlctl exec, enter and console: the client's half of a session (docs/protocol.md,
 * "Sessions"). The call is made with "upgrade"; then stdin, the terminal's size and the
 * signals hlctl gets go to hld as frames, and the command's output comes back as frames,
 * until the frame that says how it ended. Non-blocking both ways: a command that does not
 * read its stdin never keeps its output from being shown. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "call.h"
#include "hl-stream.h"
#include "hl-util.h"
#include "session.h"

#define SEND_MAX (256u * 1024u)
#define DETACH_PREFIX 0x01 /* Ctrl-a, then q: lxc-console's detach key */

static volatile sig_atomic_t got_winch, got_signal;

static void on_signal(int sig) {
        if (sig == SIGWINCH)
                got_winch = 1;
        else
                got_signal = sig;
}

struct client {
        int fd;
        int in, out; /* what stdin frames come from, stdout frames go to (-1: none) */
        bool terminal; /* a pty inside: the local terminal is raw */
        bool console;
        bool stdin_open;
        bool prefix; /* console: Ctrl-a seen, its next key decides */
        char *send;
        size_t send_len, send_cap;
        char *recv;
        size_t recv_len, recv_cap;
        int status; /* the command's, once its exit frame came; -1 before */
        bool detached;
};

static int add_bytes(char **buf, size_t *len, size_t *cap, const void *data, size_t n) {
        if (*len + n > *cap) {
                size_t c = *cap ? *cap : 8192;
                char *p;
                while (c < *len + n)
                        c *= 2;
                p = realloc(*buf, c);
                if (!p)
                        return -ENOMEM;
                *buf = p;
                *cap = c;
        }
        memcpy(*buf + *len, data, n);
        *len += n;
        return 0;
}

static int send_frame(struct client *c, enum hl_stream_type type, const void *data, size_t len) {
        char header[HL_STREAM_HEADER];

        hl_stream_header(header, type, len);
        if (add_bytes(&c->send, &c->send_len, &c->send_cap, header, sizeof(header)) < 0 ||
            add_bytes(&c->send, &c->send_len, &c->send_cap, data, len) < 0)
                return -ENOMEM;
        return 0;
}

static void send_window(struct client *c) {
        struct winsize ws;
        char payload[4];

        if (!c->terminal || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
                return;
        hl_stream_window_encode(payload, ws.ws_row, ws.ws_col);
        send_frame(c, HL_STREAM_WINDOW, payload, sizeof(payload));
}

static void write_out(int fd, const char *data, size_t len) {
        (void) hl_write_all(fd, data, len, -1);
}

/* The frames hld sent: output shown, the exit taken. -EBADMSG on a broken stream. */
static int take_frames(struct client *c) {
        struct hl_stream_frame f;
        size_t used, off = 0;
        int r;

        while ((r = hl_stream_next(c->recv + off, c->recv_len - off, &f, &used)) > 0) {
                off += used;
                switch (f.type) {
                case HL_STREAM_STDOUT:
                        if (c->out < 0 || hl_write_all(c->out, f.data, f.len, -1) < 0)
                                return -EIO;
                        break;
                case HL_STREAM_STDERR:
                        write_out(STDERR_FILENO, f.data, f.len);
                        break;
                case HL_STREAM_EXIT: {
                        char text[32];
                        int n;
                        snprintf(text, sizeof(text), "%.*s", (int) (f.len < sizeof(text) - 1 ? f.len : sizeof(text) - 1),
                                 f.data);
                        if (sscanf(text, "exit %d", &n) == 1)
                                c->status = n & 0xff;
                        else if (sscanf(text, "signal %d", &n) == 1)
                                c->status = 128 + (n & 0x7f); /* as a shell reports it */
                        else
                                return -EBADMSG;
                        break;
                }
                default:
                        return -EBADMSG;
                }
        }
        if (off) {
                memmove(c->recv, c->recv + off, c->recv_len - off);
                c->recv_len -= off;
        }
        return r < 0 ? r : 0;
}

/* Console: Ctrl-a q detaches, Ctrl-a Ctrl-a sends one Ctrl-a, Ctrl-a and another key send
 * both; everything else goes as it is. */
static void console_input(struct client *c, const char *buf, size_t n) {
        char out[2 * 16384];
        size_t k = 0;

        for (size_t i = 0; i < n && k + 2 <= sizeof(out); i++) {
                if (c->prefix) {
                        c->prefix = false;
                        if (buf[i] == 'q') {
                                c->detached = true;
                                return;
                        }
                        if (buf[i] != DETACH_PREFIX)
                                out[k++] = DETACH_PREFIX;
                        out[k++] = buf[i];
                } else if (buf[i] == DETACH_PREFIX)
                        c->prefix = true;
                else
                        out[k++] = buf[i];
        }
        if (k)
                send_frame(c, HL_STREAM_STDIN, out, k);
}

static struct termios saved_termios;
static bool termios_saved;

static void restore_terminal(void) {
        if (termios_saved)
                tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
        termios_saved = false;
}

static int raw_terminal(void) {
        struct termios raw;

        if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return -errno;
        termios_saved = true;
        atexit(restore_terminal);
        raw = saved_termios;
        cfmakeraw(&raw);
        return tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0 ? -errno : 0;
}

static int relay(struct client *c) {
        sigset_t block, wait_mask;
        struct sigaction sa = { .sa_handler = on_signal };
        const int caught[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT };

        sigemptyset(&block);
        for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
                sigaddset(&block, caught[i]);
                sigaction(caught[i], &sa, NULL);
        }
        /* Blocked but while waiting: none comes between a look at the flags and the wait. */
        sigprocmask(SIG_BLOCK, &block, &wait_mask);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);

        while (c->status < 0 && !c->detached) {
                struct pollfd p[2] = {
                        { .fd = c->fd, .events = (short) (POLLIN | (c->send_len ? POLLOUT : 0)) },
                        { .fd = c->stdin_open && c->send_len < SEND_MAX ? c->in : -1, .events = POLLIN },
                };

                if (got_winch) {
                        got_winch = 0;
                        send_window(c);
                        continue;
                }
                if (got_signal) {
                        int sig = got_signal;
                        char byte = (char) sig;
                        got_signal = 0;
                        /* A hang-up of hlctl's own terminal or ssh ends the session (hld
                         * hangs up the command); the others are the command's. */
                        if (sig == SIGHUP)
                                return -ECONNABORTED;
                        send_frame(c, HL_STREAM_SIGNAL, &byte, 1);
                        continue;
                }
                if (ppoll(p, 2, NULL, &wait_mask) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        char buf[65536];
                        ssize_t n = read(c->fd, buf, sizeof(buf));
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (n <= 0)
                                return c->console ? 0 : -ECONNRESET;
                        if (add_bytes(&c->recv, &c->recv_len, &c->recv_cap, buf, (size_t) n) < 0 || take_frames(c) < 0)
                                return -EBADMSG;
                }
                if ((p[0].revents & POLLOUT) && c->send_len) {
                        ssize_t n = send(c->fd, c->send, c->send_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0 && errno != EAGAIN && errno != EINTR)
                                return -errno;
                        if (n > 0) {
                                memmove(c->send, c->send + n, c->send_len - (size_t) n);
                                c->send_len -= (size_t) n;
                        }
                }
                if (p[1].fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        char buf[16384];
                        ssize_t n = read(c->in, buf, sizeof(buf));
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (n <= 0) {
                                c->stdin_open = false;
                                /* On a terminal the command reads ^D itself; a pipe's end is said. */
                                if (!c->terminal)
                                        send_frame(c, HL_STREAM_STDIN, "", 0);
                        } else if (c->console)
                                console_input(c, buf, (size_t) n);
                        else
                                send_frame(c, HL_STREAM_STDIN, buf, (size_t) n);
                }
        }
        return 0;
}

int session_run_with(const char *socket_path, const char *method, json_t *parameters, int in, int out,
                     json_t **ret_reply) {
        struct client c = { .fd = -1, .in = in, .out = out, .stdin_open = in >= 0, .status = -1 };
        int r;

        r = call_upgrade(socket_path, method, parameters, ret_reply, &c.fd, &c.recv, &c.recv_len);
        if (r < 0)
                return SESSION_EXIT_FAILED;
        c.recv_cap = c.recv_len;
        /* Nothing to send: the end of stdin is said at once. */
        if (in < 0)
                send_frame(&c, HL_STREAM_STDIN, "", 0);
        r = take_frames(&c);
        if (r >= 0)
                r = relay(&c);
        close(c.fd);
        free(c.send);
        free(c.recv);
        if (r < 0 || c.status < 0) {
                log_error("%s", r == -EIO ? "cannot write the file" : r == -EBADMSG ? "hld sent a broken session stream"
                                                                                       : "the session ended without its status");
                return SESSION_EXIT_FAILED;
        }
        return c.status;
}

int session_run(const char *socket_path, const char *method, json_t *parameters, bool terminal, bool console) {
        _cleanup_(json_decrefp) json_t *reply = NULL;
        struct client c = { .fd = -1, .in = STDIN_FILENO, .out = STDOUT_FILENO, .terminal = terminal,
                            .console = console, .stdin_open = true, .status = -1 };
        int r;

        if (terminal) {
                struct winsize ws;
                const char *term = getenv("TERM");
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
                        json_object_set_new(parameters, "rows", json_integer(ws.ws_row));
                        json_object_set_new(parameters, "cols", json_integer(ws.ws_col));
                }
                if (!console && term && *term && strlen(term) < 64 && !strpbrk(term, "\n=/"))
                        json_object_set_new(parameters, "term", json_string(term));
        }
        r = call_upgrade(socket_path, method, parameters, &reply, &c.fd, &c.recv, &c.recv_len);
        if (r < 0)
                return SESSION_EXIT_FAILED;
        c.recv_cap = c.recv_len;
        if (console)
                fprintf(stderr, "hlctl: attached to the console; Ctrl-a q detaches\r\n");
        if (terminal && raw_terminal() < 0)
                c.terminal = terminal = false;
        r = take_frames(&c);
        if (r >= 0)
                r = relay(&c);
        restore_terminal();
        close(c.fd);
        free(c.send);
        free(c.recv);
        if (c.detached || (console && r == 0)) {
                fprintf(stderr, "\nhlctl: %s\n", c.detached ? "detached from the console" : "the console closed");
                return 0;
        }
        if (r == -ECONNABORTED)
                return 128 + SIGHUP;
        if (r < 0 || c.status < 0) {
                log_error("%s", r == -EBADMSG ? "hld sent a broken session stream"
                                              : "the session ended without the command's status");
                return SESSION_EXIT_FAILED;
        }
        return c.status;
}
