/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a running container's network namespace holds, read with netlink from inside it
 * (the calling thread enters the namespace for the socket only: no process is forked), and
 * the reachability probes of the boot gate. Blocks: call it off the loop. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct netinfo_addr {
        int family;                 /* AF_INET or AF_INET6 */
        char text[INET6_ADDRSTRLEN + 4]; /* "10.0.0.5/24" */
        bool tentative;             /* IPv6 duplicate address detection not done */
        bool link_local;
};

struct netinfo_iface {
        char name[16];
        char mac[18];
        bool up;
        struct netinfo_addr addrs[8];
        size_t n_addrs;
};

struct netinfo {
        struct netinfo_iface *ifaces; /* without lo */
        size_t n_ifaces;
        char gateway4[INET_ADDRSTRLEN], gateway6[INET6_ADDRSTRLEN]; /* default routes, "" = none */
};

/* A socket of the network namespace netns_fd: the calling thread enters the namespace
 * just for socket(2) and comes back (it aborts hld if it cannot: staying would be worse). */
int netinfo_socket(int netns_fd, int domain, int type, int protocol);

void netinfo_done(struct netinfo *n);
int netinfo_copy(struct netinfo *dst, const struct netinfo *src);
/* The interfaces, addresses and default routes in the network namespace of pid. */
int netinfo_read(pid_t pid, struct netinfo *ret);
/* The same for a namespace given by a descriptor: of it, or a pidfd of a process in it. */
int netinfo_read_ns(int ns_fd, struct netinfo *ret);
/* The first global address of the interfaces (IPv4 before IPv6), "" when none. */
const char *netinfo_primary(const struct netinfo *n);

/* The nameservers of the container's /etc/resolv.conf (read within its root, never
 * through a symlink out of it, never a FIFO), at most max; how many, or -errno. */
int netinfo_resolvers(pid_t pid, char (*ret)[INET6_ADDRSTRLEN], size_t max);

/* Whether address (IPv4 or IPv6) answers an ICMP echo from inside pid's network namespace
 * within timeout_ms: 1 yes, 0 no, or -errno. */
int netinfo_ping(pid_t pid, const char *address, int timeout_ms);
/* Sends a DNS query for name (A) to server port 53 from inside pid's network namespace;
 * the answer's RCODE (0..15), -ETIMEDOUT, or -errno. */
int netinfo_dns(pid_t pid, const char *server, const char *name, int timeout_ms);
