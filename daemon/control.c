/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "control.h"
#include "hl-protocol.h"
#include "log.h"


struct client {
        uv_pipe_t pipe;
        uv_timer_t idle;
        struct control *control;
        struct hl_framer framer;
        struct peer peer;
        unsigned ref;
        bool busy;       /* a call is being answered */
        bool eof;        /* the peer closed its side */
        bool closing;
        bool processing; /* inside client_process: replies made there do not recurse */
        bool taken;      /* its connection was handed over (request_take): closed at the call's end */
        size_t queued;   /* reply bytes written to the socket's queue and not yet sent */
        /* A call waiting for the gate (below): its frame, unparsed. */
        char *parked;
        size_t parked_len;
        struct client *gate_next;
        bool gate_queued;
        struct request *current; /* the call being answered */
        struct client *prev, *next;
};

struct control {
        uv_pipe_t server; /* first: the close callback frees the struct through it */
        struct manager *m;
        const struct method *methods;
        size_t n_methods;
        bool readonly;
        struct client *clients;
        unsigned n_clients;
        size_t buffered; /* bytes held by every client's unfinished frames */
        size_t queued;   /* reply bytes waiting in every client's write queue */
        char read_buffer[65536];
};

static void client_close(struct client *c);
static void client_unref(struct client *c);
static void client_process(struct client *c);
static void handle_frame(struct client *c, char *frame, bool has_gate);

/* Calls that make the node do real work (a Plan surveys every container and plans every
 * service) go one at a time when they come from peers that may not change the node, across
 * both sockets and in the order they came: a local user's hundred plans cost the loop and
 * the thread pool one plan at a time, never all at once, and a frame of more than
 * GATE_FRAME bytes from such a peer waits its turn without being parsed. Root and the
 * admin group are not held back. */
#define GATE_FRAME (64u * 1024u)

static struct {
        struct client *head, *tail;
        bool busy;
        bool releasing;
} gate;

static void gate_unqueue(struct client *c) {
        struct client **p;

        if (!c->gate_queued)
                return;
        for (p = &gate.head; *p && *p != c; p = &(*p)->gate_next)
                ;
        if (*p)
                *p = c->gate_next;
        gate.tail = NULL;
        for (struct client *i = gate.head; i; i = i->gate_next)
                gate.tail = i;
        c->gate_queued = false;
        c->control->buffered -= c->parked_len;
        free(TAKE_PTR(c->parked));
        c->parked_len = 0;
}

/* True when the call may go now (and holds the gate); false when it waits, its frame kept. */
static bool gate_enter(struct client *c, char *frame, size_t len) {
        if (!gate.busy) {
                gate.busy = true;
                return true;
        }
        c->parked = frame;
        c->parked_len = len;
        c->control->buffered += len;
        c->busy = true; /* neither idle nor ready for its next frame */
        c->gate_next = NULL;
        c->gate_queued = true;
        if (gate.tail)
                gate.tail->gate_next = c;
        else
                gate.head = c;
        gate.tail = c;
        return false;
}

static void gate_leave(void) {
        gate.busy = false;
        /* Calls answered at once end inside handle_frame: the loop below goes on. */
        if (gate.releasing)
                return;
        gate.releasing = true;
        while (!gate.busy && gate.head) {
                struct client *c = gate.head;
                char *frame;

                gate.head = c->gate_next;
                if (!gate.head)
                        gate.tail = NULL;
                c->gate_queued = false;
                frame = TAKE_PTR(c->parked);
                c->control->buffered -= c->parked_len;
                c->parked_len = 0;
                c->busy = false;
                gate.busy = true;
                c->ref++;
                handle_frame(c, frame, true);
                client_unref(c);
        }
        gate.releasing = false;
}

static void client_unref(struct client *c) {
        if (--c->ref > 0)
                return;
        hl_framer_done(&c->framer);
        free(c);
}

static void on_handle_closed(uv_handle_t *h) {
        client_unref(h->data);
}

static void client_close(struct client *c) {
        struct control *ctl = c->control;

        if (c->closing)
                return;
        c->closing = true;
        gate_unqueue(c);
        ctl->buffered -= c->framer.len;
        hl_framer_done(&c->framer);
        /* A call that would go on for ever (a stream) is told that nobody listens, and
         * ends; another's replies go nowhere. request_cancel may end the request. */
        if (c->current)
                request_cancel(c->current);
        if (c->prev)
                c->prev->next = c->next;
        else
                ctl->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        ctl->n_clients--;
        uv_close((uv_handle_t *) &c->pipe, on_handle_closed);
        uv_close((uv_handle_t *) &c->idle, on_handle_closed);
}

static void on_idle(uv_timer_t *t) {
        struct client *c = t->data;

        if (!c->busy)
                client_close(c);
}

struct write_req {
        uv_write_t req;
        struct client *client;
        size_t len;
        char *frame;
};

/* Called for every write, also when the handle is closed first (and before its close
 * callback), so the counts always come down again. */
static void on_written(uv_write_t *req, int status) {
        struct write_req *w = (struct write_req *) req;

        w->client->queued -= w->len;
        w->client->control->queued -= w->len;
        free(w->frame);
        free(w);
}

/* Queues a frame (text including its NUL) for the client; takes frame. A client that does
 * not read its replies is dropped rather than buffered without end: one that still has a
 * frame's worth unread, or whose next reply would take the replies queued for everyone
 * past the budget while it has some unread. */
static void client_send(struct client *c, char *frame, size_t len) {
        struct control *ctl = c->control;
        struct write_req *w;
        uv_buf_t buf;

        if (c->closing || !frame) {
                free(frame);
                return;
        }
        if (c->queued > 0 && (c->queued + len > HL_MAX_FRAME || ctl->queued + len > HL_MAX_BUFFERED)) {
                log_warning("client pid %d does not read its replies (%zu bytes unread), disconnecting",
                            (int) c->peer.pid, c->queued);
                free(frame);
                client_close(c);
                return;
        }
        w = malloc(sizeof(*w));
        if (!w) {
                free(frame);
                client_close(c);
                return;
        }
        *w = (struct write_req) { .client = c, .len = len, .frame = frame };
        buf = uv_buf_init(frame, (unsigned) len);
        if (uv_write(&w->req, (uv_stream_t *) &c->pipe, &buf, 1, on_written) < 0) {
                free(frame);
                free(w);
                client_close(c);
                return;
        }
        c->queued += len;
        ctl->queued += len;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
        struct client *c = req->data;

        free(req);
        client_close(c);
        client_unref(c);
}

/* Sends what is queued, then closes: for protocol errors. */
static void client_close_after_write(struct client *c) {
        uv_shutdown_t *req;

        if (c->closing)
                return;
        uv_read_stop((uv_stream_t *) &c->pipe);
        req = calloc(1, sizeof(*req));
        if (!req || uv_shutdown(req, (uv_stream_t *) &c->pipe, on_shutdown) < 0) {
                free(req);
                client_close(c);
                return;
        }
        req->data = c;
        c->ref++;
}

static void client_protocol_error(struct client *c, const char *message) {
        json_t *p = json_pack("{s:s, s:s}", "parameter", "message", "message", message);
        size_t len = 0;
        char *frame = hl_error_encode(HL_ERROR_INVALID_ARGUMENT, p, &len);

        json_decref(p);
        client_send(c, frame, len);
        client_close_after_write(c);
}

/* The sink of this file's requests (request.h). */
static void sink_send(void *client, char *frame, size_t len) {
        client_send(client, frame, len);
}

static void sink_end(void *client, bool gated) {
        struct client *c = client;

        if (gated)
                gate_leave();
        c->current = NULL;
        c->busy = false;
        if (c->taken)
                client_close(c);
        else if (!c->closing) {
                if (c->eof) {
                        client_close_after_write(c);
                } else {
                        uv_timer_again(&c->idle);
                        client_process(c);
                }
        }
        client_unref(c);
}

static int sink_take(void *client) {
        struct client *c = client;
        uv_os_fd_t fd;
        int copy;

        if (c->closing)
                return -EPIPE;
        if (c->framer.len > 0)
                return -EBADMSG;
        /* Replies of earlier calls not yet sent would be lost with the handle. */
        if (c->queued > 0)
                return -EBUSY;
        if (uv_fileno((uv_handle_t *) &c->pipe, &fd) < 0)
                return -EBADF;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        uv_read_stop((uv_stream_t *) &c->pipe);
        c->taken = true;
        return copy;
}

static const struct request_sink sink = { .send = sink_send, .end = sink_end, .take = sink_take };

static const struct method *find_method(const struct control *ctl, const char *name) {
        for (size_t i = 0; i < ctl->n_methods; i++)
                if (strcmp(ctl->methods[i].name, name) == 0)
                        return &ctl->methods[i];
        return NULL;
}

/* An error answered before any request exists; the client goes on with its next call. */
static void client_reply_now(struct client *c, const char *error, json_t *parameters) {
        size_t len = 0;
        char *frame = hl_error_encode(error, parameters, &len);

        client_send(c, frame, len);
        json_decref(parameters);
}

/* Takes frame. has_gate: the call holds the gate already (it waited for it). */
static void handle_frame(struct client *c, char *frame, bool has_gate) {
        _cleanup_free_ char *text = frame;
        struct control *ctl = c->control;
        size_t len = strlen(text) + 1;
        struct hl_call call;
        const struct method *method;
        const char *reason = NULL;
        struct request *req;
        int r;

        if (!has_gate && !c->peer.admin && len > GATE_FRAME) {
                if (!gate_enter(c, TAKE_PTR(text), len))
                        return;
                text = frame;
                has_gate = true;
        }
        r = hl_call_parse(text, &call, &reason);
        if (r == -ERANGE) {
                /* A call, only with a number too large: answered as a bad parameter, and
                 * the connection stays, since its framing is sound. */
                if (has_gate)
                        gate_leave();
                client_reply_now(c, HL_VARLINK_INVALID_PARAMETER,
                                 json_pack("{s:s, s:s}", "parameter", call.bad_parameter, "message",
                                           "an integer is out of range (a 64-bit signed integer is the largest)"));
                return;
        }
        if (r < 0) {
                if (has_gate)
                        gate_leave();
                client_protocol_error(c, reason ? reason : "message is not a Varlink call");
                return;
        }
        method = find_method(ctl, call.method);
        if (!has_gate && !c->peer.admin && method && method->heavy) {
                hl_call_done(&call);
                if (!gate_enter(c, TAKE_PTR(text), len))
                        return;
                text = frame;
                has_gate = true;
                if (hl_call_parse(text, &call, &reason) < 0) {
                        gate_leave();
                        client_protocol_error(c, "message is not a Varlink call");
                        return;
                }
        }
        req = request_new(&sink, c, &c->peer, call.oneway, call.more, call.upgrade, has_gate);
        if (!req) {
                hl_call_done(&call);
                if (has_gate)
                        gate_leave();
                client_close(c);
                return;
        }
        c->current = req;
        c->busy = true;
        c->ref++;
        if (!method)
                request_fail_parameter(req, HL_VARLINK_METHOD_NOT_FOUND, "method", call.method, "no method %s",
                                       call.method);
        else if (call.upgrade && !method->upgrade)
                request_fail_parameter(req, HL_VARLINK_INVALID_PARAMETER, "parameter", "upgrade",
                                       "%s does not upgrade the connection", call.method);
        else if (method->mutating && ctl->readonly)
                request_fail_parameter(req, HL_ERROR_READ_ONLY, "method", call.method,
                               "permission denied: %s changes the node, which the read-only socket does not allow "
                               "(use %s as root or a member of %s)",
                               call.method, ctl->m->config.socket_path, ctl->m->config.admin_group);
        else if (method->mutating && !c->peer.admin)
                request_fail_parameter(req, HL_ERROR_PERMISSION_DENIED, "method", call.method,
                               "%s changes the node: it needs root or the group %s (you are %s)", call.method,
                               ctl->m->config.admin_group, c->peer.user);
        else
                method->handler(ctl->m, req, call.parameters);
        hl_call_done(&call);
}

static void client_process(struct client *c) {
        char *frame = NULL;
        int r;

        if (c->processing)
                return;
        c->processing = true;
        while (!c->busy && !c->closing) {
                c->control->buffered -= c->framer.len;
                r = hl_framer_next(&c->framer, &frame);
                c->control->buffered += c->framer.len;
                if (r == 0)
                        break;
                if (r < 0) {
                        client_protocol_error(c, "message too large");
                        break;
                }
                handle_frame(c, frame, false);
        }
        c->processing = false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        struct client *c = h->data;

        /* One loop thread: every read is consumed before the next one is made. */
        *buf = uv_buf_init(c->control->read_buffer, sizeof(c->control->read_buffer));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        struct client *c = s->data;
        struct control *ctl = c->control;
        int r;

        if (n < 0) {
                c->eof = true;
                uv_read_stop(s);
                /* A call that ends is still answered (a client may shut its side down and
                 * wait for the reply); a stream (events -f) would never end, so a client
                 * that has gone ends it, and gives back its slot, fd and bytes. */
                if (!c->busy || (c->current && request_streams(c->current)))
                        client_close(c);
                return;
        }
        if (n == 0)
                return;
        /* Bytes alone are no activity: a client that trickles half a frame (slowloris) is
         * closed at the idle timeout. Only answered calls re-arm the timer. */
        if (ctl->buffered + (size_t) n > HL_MAX_BUFFERED) {
                log_warning("client pid %d would take buffered requests past %u bytes, disconnecting",
                            (int) c->peer.pid, HL_MAX_BUFFERED);
                client_protocol_error(c, "hld is too busy to buffer this request");
                return;
        }
        ctl->buffered -= c->framer.len;
        r = hl_framer_append(&c->framer, buf->base, (size_t) n);
        ctl->buffered += c->framer.len;
        if (r == -EMSGSIZE) {
                char msg[96];
                snprintf(msg, sizeof(msg), "message exceeds the limit of %u bytes", HL_MAX_FRAME);
                client_protocol_error(c, msg);
                return;
        }
        if (r < 0) {
                client_close(c);
                return;
        }
        client_process(c);
}

/* The name of uid from /etc/passwd, read without stdio or NSS: getpwuid_r would fopen on
 * the loop thread, which must hold no stdio lock when liblxc clones (ct.c). Users known
 * only to a directory service show as "uid N". */
static bool user_name(uid_t uid, char *ret, size_t size) {
        _cleanup_free_ char *text = NULL;
        char *save = NULL;

        if (hl_read_file("/etc/passwd", 4 * 1024 * 1024, &text, NULL) < 0)
                return false;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *name = line, *x = strchr(line, ':'), *id;
                if (!x || !(id = strchr(x + 1, ':')))
                        continue;
                *x = 0;
                if (strtoul(id + 1, NULL, 10) == uid && id[1] >= '0' && id[1] <= '9') {
                        snprintf(ret, size, "%s", name);
                        return true;
                }
        }
        return false;
}

static void read_peer(struct client *c, struct manager *m) {
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        gid_t groups[256];
        socklen_t glen = sizeof(groups);
        uv_os_fd_t fd;

        c->peer = (struct peer) { .uid = (uid_t) -1, .gid = (gid_t) -1 };
        if (uv_fileno((uv_handle_t *) &c->pipe, &fd) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return;
        c->peer.uid = cred.uid;
        c->peer.gid = cred.gid;
        c->peer.pid = cred.pid;
        c->peer.admin = cred.uid == 0 || (m->admin_gid_valid && cred.gid == m->admin_gid);
        if (!c->peer.admin && m->admin_gid_valid && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
                for (size_t i = 0; i < glen / sizeof(gid_t); i++)
                        if (groups[i] == m->admin_gid)
                                c->peer.admin = true;
        if (!user_name(cred.uid, c->peer.user, sizeof(c->peer.user)))
                snprintf(c->peer.user, sizeof(c->peer.user), "uid %u", (unsigned) cred.uid);
}

/* True when the peer has closed its side, though hld has not read that yet. */
static bool client_hung_up(struct client *c) {
        struct pollfd p = { .events = POLLRDHUP };
        uv_os_fd_t fd;

        if (uv_fileno((uv_handle_t *) &c->pipe, &fd) < 0)
                return false;
        p.fd = fd;
        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* The live connections of uid. Connections a burst of clients opened and closed again may
 * be accepted before their end is read: those are let go here, or they would count. */
static unsigned clients_of(struct control *ctl, uid_t uid, const struct client *except) {
        unsigned n = 0;

        for (struct client *c = ctl->clients, *next; c; c = next) {
                next = c->next;
                if (c->closing || c->peer.uid != uid || c == except)
                        continue;
                if (client_hung_up(c) && (!c->busy || (c->current && request_streams(c->current)))) {
                        client_close(c);
                        continue;
                }
                n++;
        }
        return n;
}

static void on_connection(uv_stream_t *server, int status) {
        struct control *ctl = server->data;
        struct client *c;

        if (status < 0)
                return;
        c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->control = ctl;
        c->ref = 2; /* one for each handle, dropped in its close callback */
        hl_framer_init(&c->framer, HL_MAX_FRAME);
        uv_pipe_init(ctl->m->loop, &c->pipe, 0);
        uv_timer_init(ctl->m->loop, &c->idle);
        c->pipe.data = c->idle.data = c;
        ctl->n_clients++;
        c->next = ctl->clients;
        if (c->next)
                c->next->prev = c;
        ctl->clients = c;
        if (uv_accept(server, (uv_stream_t *) &c->pipe) < 0 || ctl->n_clients > HL_MAX_CLIENTS) {
                if (ctl->n_clients > HL_MAX_CLIENTS)
                        log_warning("more than %d clients, refusing one", HL_MAX_CLIENTS);
                client_close(c);
                return;
        }
        read_peer(c, ctl->m);
        /* One local user cannot take every slot from the others. */
        if (c->peer.uid != 0 && clients_of(ctl, c->peer.uid, c) >= HL_MAX_CLIENTS_PER_UID) {
                log_warning("%s has more than %d connections, refusing one", c->peer.user, HL_MAX_CLIENTS_PER_UID);
                client_close(c);
                return;
        }
        uv_timer_start(&c->idle, on_idle, ctl->m->config.idle_timeout_ms, ctl->m->config.idle_timeout_ms);
        uv_read_start((uv_stream_t *) &c->pipe, on_alloc, on_read);
}

static int make_socket_dir(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* The fd systemd passed for this socket (hld.socket names them), or -1. */
static int passed_fd(bool readonly) {
        char **names = NULL;
        int n, fd = -1;

        n = sd_listen_fds_with_names(0, &names);
        for (int i = 0; i < n; i++) {
                if (fd < 0 && strcmp(names[i], readonly ? "readonly" : "control") == 0)
                        fd = SD_LISTEN_FDS_START + i;
                free(names[i]);
        }
        free(names);
        return fd;
}

int control_listen(struct manager *m, const char *path, bool readonly, const struct method *methods, size_t n_methods,
                   struct control **ret) {
        struct control *ctl = calloc(1, sizeof(*ctl));
        struct stat st;
        int r, fd;

        if (!ctl)
                return -ENOMEM;
        ctl->m = m;
        ctl->methods = methods;
        ctl->n_methods = n_methods;
        ctl->readonly = readonly;
        uv_pipe_init(m->loop, &ctl->server, 0);
        ctl->server.data = ctl;
        /* Socket activation: systemd hands over the listening sockets (hld.socket). */
        fd = passed_fd(readonly);
        if (fd >= 0) {
                r = uv_pipe_open(&ctl->server, fd);
                if (r < 0)
                        goto fail;
                log_info("listening on the %s socket passed by systemd", readonly ? "read-only" : "control");
        } else {
                r = make_socket_dir(path);
                if (r < 0)
                        goto fail;
                /* A stale socket from a killed hld is replaced; any other file is not. */
                if (lstat(path, &st) == 0) {
                        if (!S_ISSOCK(st.st_mode)) {
                                r = -EEXIST;
                                goto fail;
                        }
                        unlink(path);
                }
                r = uv_pipe_bind(&ctl->server, path);
                if (r < 0)
                        goto fail;
                /* Who may connect is the file's business; what a peer may do is still
                 * checked per method with its credentials. */
                if (!readonly && m->admin_gid_valid && chown(path, 0, m->admin_gid) < 0) {
                        r = -errno;
                        goto fail;
                }
                if (chmod(path, readonly ? 0666 : 0660) < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        r = uv_listen((uv_stream_t *) &ctl->server, 128, on_connection);
        if (r < 0)
                goto fail;
        *ret = ctl;
        return 0;
fail:
        uv_close((uv_handle_t *) &ctl->server, (uv_close_cb) free);
        return r;
}

void control_close(struct control *ctl) {
        if (!ctl)
                return;
        while (ctl->clients)
                client_close(ctl->clients);
        uv_close((uv_handle_t *) &ctl->server, (uv_close_cb) free);
}

