/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Health checks: the Check= lines of a definition's [Health] section. */

#include <stdbool.h>
#include <stdint.h>

enum hl_check_kind {
        HL_CHECK_EXEC, /* exec CMD ARGS…: run in the container, healthy on exit status 0 */
        HL_CHECK_TCP,  /* tcp PORT [ADDRESS]: a connection inside the container's netns */
        HL_CHECK_HTTP, /* http URL [STATUS]: a GET inside the netns; 2xx/3xx or STATUS */
        HL_CHECK_DNS,  /* dns NAME [TYPE] [noerror|nxdomain] [@ADDRESS|@resolver]: a query */
        HL_CHECK_PING, /* ping ADDRESS: an ICMP echo answered (a Host= service's own by default) */
};

struct hl_check {
        enum hl_check_kind kind;
        char *text;    /* the check as written, normalized: what people see */
        char **argv;   /* exec */
        char *address; /* tcp, http, ping: an IP literal (default 127.0.0.1, or the Host=); dns: @ADDRESS or
                        * NULL */
        bool ask_resolver; /* dns: ask the first nameserver of the container's resolv.conf */
        uint16_t port;
        char *host;    /* http: the Host header */
        char *path;    /* http */
        unsigned status; /* http: the status wanted, 0 = any 2xx or 3xx */
        char *name;    /* dns: the name asked for */
        uint16_t type; /* dns: the query type (1 = A) */
        bool nxdomain; /* dns: healthy on NXDOMAIN instead of NOERROR */
};

/* Parses one Check= value; on failure -EINVAL and a reason. target is a Host= service's
 * address (what its checks reach unless they name another), NULL in a container. */
int hl_check_parse(const char *text, const char *target, struct hl_check *ret, char *reason, size_t size);
void hl_check_done(struct hl_check *c);
const char *hl_check_kind_to_string(enum hl_check_kind k);
