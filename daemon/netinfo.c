/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A container's network namespace, seen from inside it (netinfo.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hl-dns.h"
#include "hl-macro.h"
#include "hl-util.h"
#include "log.h"
#include "netinfo.h"

void netinfo_done(struct netinfo *n) {
        free(n->ifaces);
        *n = (struct netinfo) {};
}

int netinfo_copy(struct netinfo *dst, const struct netinfo *src) {
        *dst = *src;
        dst->ifaces = NULL;
        if (src->n_ifaces) {
                dst->ifaces = malloc(sizeof(*dst->ifaces) * src->n_ifaces);
                if (!dst->ifaces) {
                        dst->n_ifaces = 0;
                        return -ENOMEM;
                }
                memcpy(dst->ifaces, src->ifaces, sizeof(*dst->ifaces) * src->n_ifaces);
        }
        return 0;
}

int netinfo_socket(int netns_fd, int domain, int type, int protocol) {
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int fd, r = 0;

        if (self < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        if (fd < 0)
                r = -errno;
        if (setns(self, CLONE_NEWNET) < 0) {
                /* Staying in a container's namespace would be worse than stopping. */
                log_error("cannot return to hld's network namespace: %s", strerror(errno));
                abort();
        }
        return fd < 0 ? r : fd;
}

static int socket_in(pid_t pid, int domain, int type, int protocol) {
        char path[64];
        _cleanup_close_ int ns = -1;

        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        ns = open(path, O_RDONLY | O_CLOEXEC);
        if (ns < 0)
                return -errno;
        return netinfo_socket(ns, domain, type, protocol);
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_from(int socket_fd, struct netinfo *ret);

/* --- netlink dumps ---------------------------------------------------------------------- */

static struct netinfo_iface *iface_by_index(struct netinfo *n, int *indexes, int index) {
        for (size_t i = 0; i < n->n_ifaces; i++)
                if (indexes[i] == index)
                        return &n->ifaces[i];
        return NULL;
}

/* Sends one dump request and hands every message of the answer to fn. The container may
 * hold many interfaces; the answer is bounded by what fits the arrays. */
static int dump(int fd, uint16_t type, unsigned char family, void (*fn)(struct nlmsghdr *h, void *data), void *data) {
        struct {
                struct nlmsghdr h;
                struct rtgenmsg g;
        } req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                       .nlmsg_seq = type },
                .g = { .rtgen_family = family },
        };
        static __thread char buf[32768];

        if (send(fd, &req, sizeof(req), 0) < 0)
                return -errno;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t len;

                if (poll(&p, 1, 2000) <= 0)
                        return -ETIMEDOUT;
                len = recv(fd, buf, sizeof(buf), 0);
                if (len < 0 && errno == EINTR)
                        continue;
                if (len < 0)
                        return -errno;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) len); h = NLMSG_NEXT(h, len)) {
                        if (h->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (h->nlmsg_type == NLMSG_ERROR)
                                return -EIO;
                        fn(h, data);
                }
        }
}

struct collect {
        struct netinfo *n;
        int indexes[64];
};

static void on_link(struct nlmsghdr *h, void *data) {
        struct collect *c = data;
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        int len = (int) IFLA_PAYLOAD(h);
        struct netinfo_iface f = {};

        if (h->nlmsg_type != RTM_NEWLINK || ifi->ifi_type == ARPHRD_LOOPBACK || c->n->n_ifaces >= HL_ELEMENTSOF(c->indexes))
                return;
        f.up = ifi->ifi_flags & IFF_UP;
        for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == IFLA_IFNAME)
                        snprintf(f.name, sizeof(f.name), "%.*s", (int) RTA_PAYLOAD(a), (const char *) RTA_DATA(a));
                else if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
                        const unsigned char *m = RTA_DATA(a);
                        snprintf(f.mac, sizeof(f.mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
                }
        }
        struct netinfo_iface *ifaces = realloc(c->n->ifaces, sizeof(*ifaces) * (c->n->n_ifaces + 1));
        if (!ifaces)
                return;
        c->n->ifaces = ifaces;
        c->indexes[c->n->n_ifaces] = ifi->ifi_index;
        ifaces[c->n->n_ifaces++] = f;
}

static void on_addr(struct nlmsghdr *h, void *data) {
        struct collect *c = data;
        struct ifaddrmsg *ifa = NLMSG_DATA(h);
        int len = (int) IFA_PAYLOAD(h);
        struct netinfo_iface *f;
        const void *addr = NULL;

        if (h->nlmsg_type != RTM_NEWADDR || !(f = iface_by_index(c->n, c->indexes, (int) ifa->ifa_index)) ||
            f->n_addrs >= HL_ELEMENTSOF(f->addrs))
                return;
        for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
                /* IFA_LOCAL is the address itself on point-to-point links; else IFA_ADDRESS. */
                if (a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS && !addr))
                        addr = RTA_DATA(a);
        if (!addr || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
                return;
        struct netinfo_addr *out = &f->addrs[f->n_addrs++];
        char text[INET6_ADDRSTRLEN];
        inet_ntop(ifa->ifa_family, addr, text, sizeof(text));
        snprintf(out->text, sizeof(out->text), "%s/%u", text, ifa->ifa_prefixlen);
        out->family = ifa->ifa_family;
        out->tentative = ifa->ifa_flags & IFA_F_TENTATIVE;
        out->link_local = ifa->ifa_scope == RT_SCOPE_LINK;
}

static void on_route(struct nlmsghdr *h, void *data) {
        struct collect *c = data;
        struct rtmsg *rt = NLMSG_DATA(h);
        int len = (int) RTM_PAYLOAD(h);

        if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_dst_len != 0 || rt->rtm_table != RT_TABLE_MAIN)
                return;
        for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type != RTA_GATEWAY)
                        continue;
                if (rt->rtm_family == AF_INET && !c->n->gateway4[0])
                        inet_ntop(AF_INET, RTA_DATA(a), c->n->gateway4, sizeof(c->n->gateway4));
                else if (rt->rtm_family == AF_INET6 && !c->n->gateway6[0])
                        inet_ntop(AF_INET6, RTA_DATA(a), c->n->gateway6, sizeof(c->n->gateway6));
        }
}

int netinfo_read(pid_t pid, struct netinfo *ret) {
        return read_from(socket_in(pid, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), ret);
}

int netinfo_read_ns(int ns_fd, struct netinfo *ret) {
        return read_from(netinfo_socket(ns_fd, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), ret);
}

static int read_from(int socket_fd, struct netinfo *ret) {
        _cleanup_close_ int fd = socket_fd;
        struct netinfo n = {};
        struct collect c = { .n = &n };
        int r;

        if (fd < 0)
                return fd;
        r = dump(fd, RTM_GETLINK, AF_UNSPEC, on_link, &c);
        if (r >= 0)
                r = dump(fd, RTM_GETADDR, AF_UNSPEC, on_addr, &c);
        if (r >= 0)
                r = dump(fd, RTM_GETROUTE, AF_UNSPEC, on_route, &c);
        if (r < 0) {
                netinfo_done(&n);
                return r;
        }
        *ret = n;
        return 0;
}

const char *netinfo_primary(const struct netinfo *n) {
        for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0)
                for (size_t i = 0; i < n->n_ifaces; i++)
                        for (size_t k = 0; k < n->ifaces[i].n_addrs; k++)
                                if (n->ifaces[i].addrs[k].family == family && !n->ifaces[i].addrs[k].link_local)
                                        return n->ifaces[i].addrs[k].text;
        return "";
}

int netinfo_resolvers(pid_t pid, char (*ret)[INET6_ADDRSTRLEN], size_t max) {
        /* Within its root: a symlink there cannot point at the host's files. Not blocking:
         * a FIFO in its place would hold the caller for ever. */
        struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        char root[64], text[4096], *save = NULL;
        _cleanup_close_ int dir = -1, fd = -1;
        struct stat st;
        size_t n = 0;
        ssize_t len;

        snprintf(root, sizeof(root), "/proc/%d/root", (int) pid);
        dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, dir, "etc/resolv.conf", &how, sizeof(how));
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -EBADFD;
        len = read(fd, text, sizeof(text) - 1);
        if (len <= 0)
                return 0;
        text[len] = 0;
        for (char *line = strtok_r(text, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
                char server[64];
                unsigned char probe[16];

                if (sscanf(line, " nameserver %63s", server) == 1 &&
                    (inet_pton(AF_INET, server, probe) == 1 || inet_pton(AF_INET6, server, probe) == 1))
                        snprintf(ret[n++], INET6_ADDRSTRLEN, "%.45s", server);
        }
        return (int) n;
}

/* --- probes --------------------------------------------------------------------------- */

static int parse_address(const char *address, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
        struct sockaddr_in *in = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                *len = sizeof(*in);
                return 0;
        }
        if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                *len = sizeof(*in6);
                return 0;
        }
        return -EINVAL;
}

static uint16_t checksum(const void *data, size_t len) {
        const uint8_t *p = data;
        uint32_t sum = 0;

        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (len & 1)
                sum += (uint32_t) p[len - 1] << 8;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t) ~sum);
}

int netinfo_ping(pid_t pid, const char *address, int timeout_ms) {
        struct sockaddr_storage ss;
        socklen_t sslen;
        _cleanup_close_ int fd = -1;
        uint16_t id = (uint16_t) (getpid() ^ (pid << 4)), seq = (uint16_t) now_ms();
        uint8_t packet[64] = {};
        int64_t deadline = now_ms() + timeout_ms;
        bool v6;

        if (parse_address(address, 0, &ss, &sslen) < 0)
                return -EINVAL;
        v6 = ss.ss_family == AF_INET6;
        /* Raw: the namespace's ping_group_range usually leaves no one datagram ICMP. */
        fd = socket_in(pid, ss.ss_family, SOCK_RAW | SOCK_NONBLOCK, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
        if (fd < 0)
                return fd;
        packet[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
        packet[4] = (uint8_t) (id >> 8);
        packet[5] = (uint8_t) id;
        packet[6] = (uint8_t) (seq >> 8);
        packet[7] = (uint8_t) seq;
        memcpy(packet + 8, "hl boot gate", 12);
        if (!v6) {
                uint16_t sum = checksum(packet, 20);
                memcpy(packet + 2, &sum, 2);
        } /* the kernel fills in ICMPv6's */
        /* One echo every half second until an answer or the deadline: the first may be
         * lost while the neighbour is still being resolved. */
        for (int64_t next_send = 0;;) {
                int64_t now = now_ms();
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint8_t buf[512];
                ssize_t n;

                if (now >= deadline)
                        return 0;
                if (now >= next_send) {
                        if (sendto(fd, packet, 20, 0, (struct sockaddr *) &ss, sslen) < 0 && errno != EAGAIN &&
                            errno != EHOSTUNREACH && errno != ENETUNREACH)
                                return -errno;
                        next_send = now + 500;
                }
                if (poll(&p, 1, (int) ((next_send < deadline ? next_send : deadline) - now)) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0)
                        continue;
                /* IPv4 raw sockets hand over the IP header too. */
                size_t off = v6 ? 0 : (size_t) (buf[0] & 0x0f) * 4;
                if ((size_t) n < off + 8)
                        continue;
                if (buf[off] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) && buf[off + 4] == (uint8_t) (id >> 8) &&
                    buf[off + 5] == (uint8_t) id)
                        return 1;
        }
}

int netinfo_dns(pid_t pid, const char *server, const char *name, int timeout_ms) {
        struct sockaddr_storage ss;
        socklen_t sslen;
        _cleanup_close_ int fd = -1;
        uint16_t id = (uint16_t) (now_ms() ^ pid);
        uint8_t query[300], answer[1500];
        int len;
        int64_t deadline = now_ms() + timeout_ms;

        if (parse_address(server, 53, &ss, &sslen) < 0)
                return -EINVAL;
        len = hl_dns_query(id, name, 1, query, sizeof(query));
        if (len < 0)
                return len;
        fd = socket_in(pid, ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        if (connect(fd, (struct sockaddr *) &ss, sslen) < 0)
                return -errno;
        for (int64_t next_send = 0;;) {
                int64_t now = now_ms();
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;
                int rcode;

                if (now >= deadline)
                        return -ETIMEDOUT;
                if (now >= next_send) {
                        if (send(fd, query, (size_t) len, 0) < 0 && errno != EAGAIN)
                                return -errno;
                        next_send = now + 1000;
                }
                if (poll(&p, 1, (int) ((next_send < deadline ? next_send : deadline) - now)) <= 0)
                        continue;
                n = recv(fd, answer, sizeof(answer), 0);
                if (n < 0 && errno == ECONNREFUSED)
                        return -ECONNREFUSED;
                if (n < 0)
                        continue;
                rcode = hl_dns_rcode(answer, (size_t) n, id, NULL);
                if (rcode >= 0)
                        return rcode;
        }
}
