/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct.h"
#include "hl-dns.h"
#include "log.h"
#include "netinfo.h"
#include "probe.h"
#include "work.h"

#define HTTP_MAX_HEAD 1024

struct probe {
        struct manager *m;
        const struct hl_check *check; /* owned by a desired, referenced below */
        char *service;
        pid_t init_pid;
        uint64_t started;
        int64_t measured_us; /* exec: the duration its helper measured; -1 until known */
        char server[64];     /* dns: the server asked */
        uint64_t timeout_ms;
        probe_cb cb;
        void *userdata;
        bool reported;
        unsigned open_handles;
        uv_timer_t timer;
        union {
                uv_tcp_t tcp;
                uv_udp_t udp;
                uv_poll_t poll;
        } io;
        bool io_open;
        uv_connect_t connect;
        uv_write_t write;
        uv_udp_send_t send;
        uv_work_t work;
        /* exec: the helper process and the read end of its pipe; ping: the raw socket */
        pid_t pid;
        int fd;
        char *error;
        /* http, dns */
        char buf[HTTP_MAX_HEAD];
        size_t len;
        uint16_t query_id; /* dns, ping */
        uint8_t query[512];
};

static void probe_unref(struct probe *p) {
        if (--p->open_handles > 0)
                return;
        if (p->fd >= 0)
                close(p->fd);
        free(p->service);
        free(p->error);
        free(p);
}

static void on_closed(uv_handle_t *h) {
        probe_unref(h->data);
}

static void close_all(struct probe *p) {
        if (!uv_is_closing((uv_handle_t *) &p->timer))
                uv_close((uv_handle_t *) &p->timer, on_closed);
        if (p->io_open && !uv_is_closing((uv_handle_t *) &p->io)) {
                /* An exec probe still running keeps its pidfd poll until it is reaped. */
                if (p->pid > 0)
                        return;
                uv_close((uv_handle_t *) &p->io, on_closed);
        }
}

static void report(struct probe *p, bool ok, const char *fmt, ...) HL_PRINTF(3, 4);
static void report(struct probe *p, bool ok, const char *fmt, ...) {
        struct probe_result r = { .ok = ok };
        va_list ap;

        if (p->reported)
                return;
        p->reported = true;
        /* The probe's own time, from its connect or query (or, for exec, as its helper
         * measured it), not from the start of the round or sweep it is part of. */
        r.latency_ms = p->measured_us >= 0 ? p->measured_us / 1000 : (int64_t) ((uv_hrtime() - p->started) / 1000000);
        va_start(ap, fmt);
        vsnprintf(r.message, sizeof(r.message), fmt, ap);
        va_end(ap);
        p->cb(p->userdata, &r);
        close_all(p);
}

static void on_timeout(uv_timer_t *t) {
        struct probe *p = t->data;

        /* An exec probe's helper kills the command at the same timeout and is reaped when
         * its pipe closes. */
        report(p, false, "%s within %.1f s", p->check->kind == HL_CHECK_EXEC ? "not finished" : "no answer",
               (double) p->timeout_ms / 1000);
}

static int make_address(const char *address, uint16_t port, struct sockaddr_storage *ret) {
        if (strchr(address, ':'))
                return uv_ip6_addr(address, port, (struct sockaddr_in6 *) ret);
        return uv_ip4_addr(address, port, (struct sockaddr_in *) ret);
}

static void on_http_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        struct probe *p = h->data;

        *buf = uv_buf_init(p->buf + p->len, (unsigned) (sizeof(p->buf) - 1 - p->len));
}

static void on_http_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        struct probe *p = s->data;
        unsigned status = 0;
        char *eol;

        if (n < 0) {
                report(p, false, "connection closed before a status line (%s)", uv_strerror((int) n));
                return;
        }
        p->len += (size_t) n;
        p->buf[p->len] = 0;
        eol = strstr(p->buf, "\r\n");
        if (!eol && p->len < sizeof(p->buf) - 1)
                return;
        if (sscanf(p->buf, "HTTP/%*u.%*u %u", &status) != 1 || status < 100 || status > 599) {
                report(p, false, "not an HTTP answer");
                return;
        }
        if (p->check->status ? status == p->check->status : status < 400)
                report(p, true, "HTTP %u", status);
        else
                report(p, false, "HTTP %u%s", status, p->check->status ? " (wanted another status)" : "");
}

static void on_written(uv_write_t *w, int status) {
        struct probe *p = w->data;

        if (status < 0)
                report(p, false, "cannot send the request: %s", uv_strerror(status));
}

static void on_connected(uv_connect_t *c, int status) {
        struct probe *p = c->data;
        char request[1024];
        uv_buf_t buf;

        if (p->reported)
                return;
        if (status < 0) {
                report(p, false, "%s port %u: %s", p->check->address, p->check->port, uv_strerror(status));
                return;
        }
        if (p->check->kind == HL_CHECK_TCP) {
                report(p, true, "connected to %s port %u", p->check->address, p->check->port);
                return;
        }
        snprintf(request, sizeof(request),
                 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: hld/" "health\r\nConnection: close\r\n\r\n", p->check->path,
                 p->check->host);
        buf = uv_buf_init(strdup(request), (unsigned) strlen(request));
        if (!buf.base) {
                report(p, false, "out of memory");
                return;
        }
        /* The buffer is freed with the probe's error string slot. */
        free(p->error);
        p->error = buf.base;
        p->write.data = p;
        if (uv_write(&p->write, (uv_stream_t *) &p->io.tcp, &buf, 1, on_written) < 0 ||
            uv_read_start((uv_stream_t *) &p->io.tcp, on_http_alloc, on_http_read) < 0)
                report(p, false, "cannot send the request");
}

/* A socket in the container's network namespace, or in hld's own for a Host= service
 * (netns_fd -1). */
static int probe_socket(int netns_fd, int domain, int type, int protocol) {
        int fd;

        if (netns_fd >= 0)
                return netinfo_socket(netns_fd, domain, type, protocol);
        fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        return fd < 0 ? -errno : fd;
}

static int start_tcp(struct probe *p, int netns_fd) {
        struct sockaddr_storage addr = {};
        int fd, r;

        r = make_address(p->check->address, p->check->port, &addr);
        if (r < 0)
                return r;
        fd = probe_socket(netns_fd, addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        uv_tcp_init(p->m->loop, &p->io.tcp);
        p->io.tcp.data = p;
        p->io_open = true;
        p->open_handles++;
        r = uv_tcp_open(&p->io.tcp, fd);
        if (r < 0) {
                close(fd);
                return r;
        }
        p->connect.data = p;
        p->started = uv_hrtime();
        return uv_tcp_connect(&p->connect, &p->io.tcp, (struct sockaddr *) &addr, on_connected);
}

static void on_dns_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        struct probe *p = h->data;

        *buf = uv_buf_init(p->buf, sizeof(p->buf));
}

static void on_dns_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags) {
        struct probe *p = u->data;
        unsigned answers = 0;
        int rcode, wanted;

        if (n == 0 && !from)
                return;
        if (n < 0) {
                report(p, false, "%s port 53: %s", p->server, uv_strerror((int) n));
                return;
        }
        rcode = hl_dns_rcode((const uint8_t *) buf->base, (size_t) n, p->query_id, &answers);
        if (rcode < 0)
                return; /* not the answer to our query: keep waiting */
        wanted = p->check->nxdomain ? HL_DNS_NXDOMAIN : HL_DNS_NOERROR;
        if (rcode == wanted)
                report(p, true, "%s from %s, %u answers", hl_dns_rcode_to_string(rcode), p->server, answers);
        else
                report(p, false, "%s from %s, wanted %s", hl_dns_rcode_to_string(rcode), p->server,
                       hl_dns_rcode_to_string(wanted));
}

static void on_dns_sent(uv_udp_send_t *s, int status) {
        struct probe *p = s->data;

        if (status < 0)
                report(p, false, "cannot send the query: %s", uv_strerror(status));
}

static int start_dns(struct probe *p, int netns_fd) {
        struct sockaddr_storage addr = {};
        uv_buf_t buf;
        int fd, n, r;

        /* The service itself unless the check names a server: a DNS filter's check asks
         * the filter, not the upstream its own resolv.conf names. */
        if (p->check->address)
                snprintf(p->server, sizeof(p->server), "%s", p->check->address);
        else if (p->check->ask_resolver) {
                char servers[1][INET6_ADDRSTRLEN];
                snprintf(p->server, sizeof(p->server), "%s",
                         netinfo_resolvers(p->init_pid, servers, 1) > 0 ? servers[0] : "127.0.0.1");
        } else
                snprintf(p->server, sizeof(p->server), "127.0.0.1");
        r = make_address(p->server, 53, &addr);
        if (r < 0)
                return r;
        p->query_id = (uint16_t) (uv_hrtime() ^ (uint64_t) p->init_pid);
        n = hl_dns_query(p->query_id, p->check->name, p->check->type, p->query, sizeof(p->query));
        if (n < 0)
                return n;
        fd = probe_socket(netns_fd, addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        uv_udp_init(p->m->loop, &p->io.udp);
        p->io.udp.data = p;
        p->io_open = true;
        p->open_handles++;
        r = uv_udp_open(&p->io.udp, fd);
        if (r < 0) {
                close(fd);
                return r;
        }
        /* Connected, so that a closed port answers "connection refused" at once instead
         * of the probe waiting for its timeout. */
        r = uv_udp_connect(&p->io.udp, (struct sockaddr *) &addr);
        if (r < 0)
                return r;
        r = uv_udp_recv_start(&p->io.udp, on_dns_alloc, on_dns_recv);
        if (r < 0)
                return r;
        buf = uv_buf_init((char *) p->query, (unsigned) n);
        p->send.data = p;
        p->started = uv_hrtime();
        return uv_udp_send(&p->send, &p->io.udp, &buf, 1, NULL, on_dns_sent);
}

/* The Internet checksum of an ICMP message (IPv6's is the kernel's). */
static uint16_t icmp_checksum(const uint8_t *b, size_t n) {
        uint32_t sum = 0;

        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (b[i] << 8 | b[i + 1]);
        if (n & 1)
                sum += (uint32_t) b[n - 1] << 8;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* Replies on the raw socket: every ICMP message the namespace receives comes to it, so
 * only the echo reply with the probe's id counts. A hard error (host unreachable) is the
 * socket's, as it is connected. */
/* Packets read per wakeup: a namespace full of ICMP (or a flood from the checked host) costs
 * the loop a bounded slice; the rest waits for the next turn, the probe's timeout meanwhile. */
#define PING_READS_PER_TURN 32

static void on_ping_readable(uv_poll_t *h, int status, int events) {
        struct probe *p = h->data;
        bool v6 = strchr(p->check->address, ':') != NULL;
        uint8_t buf[1024];

        if (status < 0) {
                /* libuv says EBADF for POLLERR: the socket's own error is the news (a host
                 * unreachable, from a neighbour that never answered). */
                int error = 0;
                socklen_t len = sizeof(error);
                if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error)
                        report(p, false, "%s: %s", p->check->address, strerror(error));
                else
                        report(p, false, "%s: %s", p->check->address, uv_strerror(status));
                return;
        }
        for (unsigned reads = 0; reads < PING_READS_PER_TURN; reads++) {
                ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
                const uint8_t *icmp = buf;
                size_t len;

                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                report(p, false, "%s: %s", p->check->address, strerror(errno));
                        return;
                }
                len = (size_t) n;
                if (!v6) {
                        size_t ihl = len > 0 ? (size_t) (buf[0] & 0x0f) * 4 : 0;
                        if (ihl < 20 || ihl > len)
                                continue;
                        icmp += ihl;
                        len -= ihl;
                }
                if (len < 8 || icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) ||
                    (uint16_t) (icmp[4] << 8 | icmp[5]) != p->query_id)
                        continue;
                report(p, true, "echo reply from %s", p->check->address);
                return;
        }
}

static int start_ping(struct probe *p, int netns_fd) {
        struct sockaddr_storage addr = {};
        bool v6 = strchr(p->check->address, ':') != NULL;
        uint8_t echo[16] = { v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO, 0 };
        uint16_t sum;
        int fd, r;

        r = make_address(p->check->address, 0, &addr);
        if (r < 0)
                return r;
        /* A raw socket: hld is root, and ping sockets (SOCK_DGRAM) are allowed only to the
         * groups of net.ipv4.ping_group_range, none by default in a new namespace. */
        fd = probe_socket(netns_fd, addr.ss_family, SOCK_RAW | SOCK_NONBLOCK, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
        if (fd < 0)
                return fd;
        p->fd = fd;
        /* Only echo replies reach the socket (and a connected one only from the address). */
        if (v6) {
                struct icmp6_filter filter;
                ICMP6_FILTER_SETBLOCKALL(&filter);
                ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
                (void) setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
        } else {
                struct icmp_filter filter = { .data = ~(1u << ICMP_ECHOREPLY) };
                (void) setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
        }
        p->query_id = (uint16_t) (uv_hrtime() ^ (uint64_t) p->init_pid);
        echo[4] = (uint8_t) (p->query_id >> 8);
        echo[5] = (uint8_t) p->query_id;
        echo[7] = 1; /* sequence 1 */
        memcpy(echo + 8, "hld-ping", 8);
        if (!v6) {
                sum = icmp_checksum(echo, sizeof(echo));
                echo[2] = (uint8_t) (sum >> 8);
                echo[3] = (uint8_t) sum;
        }
        if (connect(fd, (struct sockaddr *) &addr, addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                          : sizeof(struct sockaddr_in)) < 0)
                return -errno;
        uv_poll_init(p->m->loop, &p->io.poll, fd);
        p->io.poll.data = p;
        p->io_open = true;
        p->open_handles++;
        r = uv_poll_start(&p->io.poll, UV_READABLE, on_ping_readable);
        if (r < 0)
                return r;
        p->started = uv_hrtime();
        if (send(fd, echo, sizeof(echo), 0) < 0)
                return -errno;
        return 0;
}

/* The helper's pipe (see ct_attach): how the command ended, then EOF when the helper is
 * done and can be reaped. */
static void on_exec_output(uv_poll_t *h, int status, int events) {
        struct probe *p = h->data;
        ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
        struct ct_attach_result res;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0 && p->len + (size_t) n < sizeof(p->buf) - 1) {
                p->len += (size_t) n;
                return;
        }
        /* EOF (or a full buffer): the helper is done. */
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        p->pid = 0;
        p->buf[p->len] = 0;
        if (p->len < sizeof(res))
                report(p, false, "the probe's helper died");
        else {
                memcpy(&res, p->buf, sizeof(res));
                if (res.how >= 0)
                        p->measured_us = res.duration_us;
                if (res.how < 0)
                        report(p, false, "%s", p->len > sizeof(res) ? p->buf + sizeof(res) : "could not run the command");
                else if (res.how == 1)
                        report(p, false, "not finished within %.1f s", (double) p->timeout_ms / 1000);
                else if (WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0)
                        report(p, true, "exit status 0");
                else if (WIFEXITED(res.status))
                        report(p, false, "exit status %d", WEXITSTATUS(res.status));
                else
                        report(p, false, "killed by signal %d", WTERMSIG(res.status));
        }
        if (!uv_is_closing((uv_handle_t *) &p->io))
                uv_close((uv_handle_t *) &p->io, on_closed);
}

/* In the thread pool: forking the helper costs a millisecond or so, kept off the loop. */
static void exec_work(uv_work_t *w) {
        struct probe *p = w->data;

        if (ct_attach(p->m->config.lxcpath, p->service, p->check->argv, p->timeout_ms, &p->pid, &p->fd,
                      &p->error) < 0)
                p->pid = 0;
}

static void exec_after(uv_work_t *w, int status) {
        struct probe *p = w->data;

        p->open_handles--; /* the work item */
        if (p->pid <= 0) {
                report(p, false, "%s", p->error ? p->error : "could not run the command");
                if (p->open_handles == 0) {
                        p->open_handles = 1;
                        probe_unref(p);
                }
                return;
        }
        fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
        uv_poll_init(p->m->loop, &p->io.poll, p->fd);
        p->io.poll.data = p;
        p->io_open = true;
        p->open_handles++;
        uv_poll_start(&p->io.poll, UV_READABLE | UV_DISCONNECT, on_exec_output);
}

int probe_start(struct manager *m, const char *service, pid_t init_pid, int netns_fd, const struct hl_check *check,
                uint64_t timeout_ms, probe_cb cb, void *userdata) {
        struct probe *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        *p = (struct probe) { .m = m, .check = check, .init_pid = init_pid, .started = uv_hrtime(), .measured_us = -1,
                              .timeout_ms = timeout_ms, .cb = cb,
                              .userdata = userdata, .fd = -1, .service = strdup(service) };
        if (!p->service) {
                free(p);
                return -ENOMEM;
        }
        uv_timer_init(m->loop, &p->timer);
        p->timer.data = p;
        p->open_handles = 1;
        uv_timer_start(&p->timer, on_timeout, timeout_ms, 0);

        switch (check->kind) {
        case HL_CHECK_TCP:
        case HL_CHECK_HTTP:
                r = start_tcp(p, netns_fd);
                break;
        case HL_CHECK_DNS:
                r = start_dns(p, netns_fd);
                break;
        case HL_CHECK_PING:
                r = start_ping(p, netns_fd);
                break;
        case HL_CHECK_EXEC:
                p->work.data = p;
                p->open_handles++;
                r = work_queue(m->loop, &p->work, exec_work, exec_after);
                if (r < 0)
                        p->open_handles--;
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                report(p, false, "cannot start the check: %s", strerror(-r));
        return 0;
}
