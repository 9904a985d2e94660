/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a definition asks of its container, as lxc config keys and values: computed,
 * compared and described here, without liblxc (ct.c writes and reads them). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/statfs.h>

#include "settings.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static bool cgroup_v2;
static char node_id[64];

int settings_detect_cgroups(void) {
        struct statfs fs;

        if (statfs("/sys/fs/cgroup", &fs) < 0)
                return -errno;
        cgroup_v2 = (uint32_t) fs.f_type == CGROUP2_SUPER_MAGIC;
        return 0;
}

bool settings_cgroup_v2(void) {
        return cgroup_v2;
}

void settings_done(struct ct_settings *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->items[i].key);
                free(s->items[i].label);
                free(s->items[i].value);
        }
        free(s->items);
        *s = (struct ct_settings) {};
}

static int add(struct ct_settings *s, enum ct_apply apply, const char *label, const char *key, const char *fmt, ...)
        HL_PRINTF(5, 6);
static int add(struct ct_settings *s, enum ct_apply apply, const char *label, const char *key, const char *fmt, ...) {
        struct ct_setting *items;
        char *value;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&value, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        items = realloc(s->items, sizeof(*items) * (s->n + 1));
        if (!items) {
                free(value);
                return -ENOMEM;
        }
        s->items = items;
        items[s->n] = (struct ct_setting) { .key = strdup(key), .label = strdup(label), .value = value, .apply = apply };
        if (!items[s->n].key || !items[s->n].label) {
                s->n++;
                return -ENOMEM;
        }
        s->n++;
        return 0;
}

static int add_limits(struct ct_settings *s, const struct hl_def *d) {
        int r;

        if (settings_cgroup_v2()) {
                r = d->memory ? add(s, CT_APPLY_LIVE, "memory", "lxc.cgroup2.memory.max", "%" PRIu64, d->memory)
                              : add(s, CT_APPLY_LIVE, "memory", "lxc.cgroup2.memory.max", "%s", "");
                if (r >= 0)
                        r = d->memory ? add(s, CT_APPLY_LIVE, "swap", "lxc.cgroup2.memory.swap.max", "%" PRIu64, d->swap)
                                      : add(s, CT_APPLY_LIVE, "swap", "lxc.cgroup2.memory.swap.max", "%s", "");
                if (r >= 0)
                        r = d->cores ? add(s, CT_APPLY_LIVE, "cores", "lxc.cgroup2.cpu.max", "%u %u", d->cores * CPU_PERIOD_US,
                                           CPU_PERIOD_US)
                                     : add(s, CT_APPLY_LIVE, "cores", "lxc.cgroup2.cpu.max", "%s", "");
                return r;
        }
        /* cgroup v1 limits memory + swap together. */
        r = d->memory ? add(s, CT_APPLY_LIVE, "memory", "lxc.cgroup.memory.limit_in_bytes", "%" PRIu64, d->memory)
                      : add(s, CT_APPLY_LIVE, "memory", "lxc.cgroup.memory.limit_in_bytes", "%s", "");
        if (r >= 0)
                r = d->memory && d->swap
                            ? add(s, CT_APPLY_LIVE, "swap", "lxc.cgroup.memory.memsw.limit_in_bytes", "%" PRIu64,
                                  d->memory + d->swap)
                            : add(s, CT_APPLY_LIVE, "swap", "lxc.cgroup.memory.memsw.limit_in_bytes", "%s", "");
        if (r >= 0)
                r = d->cores ? add(s, CT_APPLY_LIVE, "cores", "lxc.cgroup.cpu.cfs_quota_us", "%u", d->cores * CPU_PERIOD_US)
                             : add(s, CT_APPLY_LIVE, "cores", "lxc.cgroup.cpu.cfs_quota_us", "%s", "");
        if (r >= 0)
                r = add(s, CT_APPLY_LIVE, "cores", "lxc.cgroup.cpu.cfs_period_us", "%s", d->cores ? "100000" : "");
        return r;
}

/* A MAC address for an interface without hwaddr=: derived from the node, the service and
 * the interface, so it stays the same across restarts and recreates (DHCP reservations
 * hold) and differs between services and nodes. Locally administered, unicast. */
static void derived_hwaddr(const char *service, const char *ifname, char buf[18]) {
        _cleanup_free_ char *seed = hl_strdup_printf("hl-hwaddr\n%s\n%s\n%s", node_id, service, ifname);
        char hex[65];

        hl_sha256_hex(seed ? seed : service, strlen(seed ? seed : service), hex);
        /* The first octet: its two low bits are "locally administered" (set) and
         * "multicast" (clear). */
        hex[1] = "26ae"[strtoul((char[]) { hex[1], 0 }, NULL, 16) >> 2];
        snprintf(buf, 18, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4, hex + 6, hex + 8, hex + 10);
}

void settings_set_node_id(const char *id) {
        snprintf(node_id, sizeof(node_id), "%s", id ? id : "");
}

int settings_ipv4_broadcast(const char *cidr, char *buf, size_t size) {
        char addr[INET_ADDRSTRLEN];
        const char *slash = strchr(cidr, '/');
        struct in_addr a;
        uint64_t prefix;
        uint32_t host;

        if (!slash || (size_t) (slash - cidr) >= sizeof(addr) || hl_parse_uint(slash + 1, 0, 32, &prefix) < 0)
                return -EINVAL;
        memcpy(addr, cidr, (size_t) (slash - cidr));
        addr[slash - cidr] = 0;
        if (inet_pton(AF_INET, addr, &a) != 1)
                return -EINVAL;
        host = prefix >= 31 ? 0 : UINT32_MAX >> prefix;
        a.s_addr = htonl(ntohl(a.s_addr) | host);
        return inet_ntop(AF_INET, &a, buf, (socklen_t) size) ? 0 : -ENOSPC;
}

static int add_networks(struct ct_settings *s, const struct hl_def *d) {
        int r = 0;

        if (d->n_networks == 0) {
                const char *arg;
                int r0 = add(s, CT_APPLY_RESTART, "network", "lxc.net.0.type", "empty");
                /* No init system brings an application container's loopback up: liblxc does,
                 * told so (a system container's init does it itself). */
                if (r0 >= 0 && hl_def_template_kind(d, &arg) == HL_TEMPLATE_OCI)
                        r0 = add(s, CT_APPLY_RESTART, "network", "lxc.net.0.flags", "up");
                return r0;
        }
        for (size_t i = 0; i < d->n_networks && r >= 0; i++) {
                const struct hl_network *n = &d->networks[i];
                _cleanup_free_ char *label = hl_strdup_printf("network %s", n->name);
                char key[64], hwaddr[18];

                if (!label)
                        return -ENOMEM;
                if (n->hwaddr)
                        snprintf(hwaddr, sizeof(hwaddr), "%s", n->hwaddr);
                else
                        derived_hwaddr(d->name, n->name, hwaddr);
#define NETKEY(suffix) (snprintf(key, sizeof(key), "lxc.net.%zu.%s", i, suffix), key)
                r = add(s, CT_APPLY_RESTART, label, NETKEY("type"), "veth");
                if (r >= 0)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("link"), "%s", n->bridge);
                if (r >= 0)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("name"), "%s", n->name);
                if (r >= 0)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("flags"), "up");
                if (r >= 0)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("hwaddr"), "%s", hwaddr);
                /* Static addresses are set by liblxc as the container starts, whatever its
                 * init does later (ct.c adds the IPv4 broadcast as it writes the key). */
                if (r >= 0 && n->ip && strcmp(n->ip, "dhcp") != 0)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("ipv4.address"), "%s", n->ip);
                if (r >= 0 && n->gw)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("ipv4.gateway"), "%s", n->gw);
                if (r >= 0 && n->ip6 && strchr(n->ip6, ':'))
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("ipv6.address"), "%s", n->ip6);
                if (r >= 0 && n->gw6)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("ipv6.gateway"), "%s", n->gw6);
                if (r >= 0 && n->mtu)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("mtu"), "%u", n->mtu);
                if (r >= 0 && n->tag)
                        r = add(s, CT_APPLY_RESTART, label, NETKEY("veth.vlan.id"), "%u", n->tag);
#undef NETKEY
        }
        return r;
}

/* What hld writes into the container's own network configuration (guest.c reads it back):
 * one line per interface and the resolver's, or "" when the definition names neither, and
 * the template's own configuration is left alone. */
static char *guest_spec(const struct hl_def *d) {
        _cleanup_(hl_strv_freep) char **lines = NULL;
        int r = 0;

        for (size_t i = 0; i < d->n_networks && r >= 0; i++) {
                const struct hl_network *n = &d->networks[i];
                _cleanup_free_ char *line = hl_strdup_printf("iface %s ip=%s gw=%s ip6=%s gw6=%s", n->name,
                                                             n->ip ?: "none", n->gw ?: "none", n->ip6 ?: "none",
                                                             n->gw6 ?: "none");
                r = line ? hl_strv_push(&lines, line) : -ENOMEM;
        }
        for (size_t i = 0; d->nameservers && d->nameservers[i] && r >= 0; i++) {
                _cleanup_free_ char *line = hl_strdup_printf("nameserver %s", d->nameservers[i]);
                r = line ? hl_strv_push(&lines, line) : -ENOMEM;
        }
        for (size_t i = 0; d->search && d->search[i] && r >= 0; i++) {
                _cleanup_free_ char *line = hl_strdup_printf("search %s", d->search[i]);
                r = line ? hl_strv_push(&lines, line) : -ENOMEM;
        }
        if (r < 0)
                return NULL;
        return lines ? settings_join_lines(lines) : strdup("");
}

/* Lists are compared as newline-joined text, in definition order. */
char *settings_join_lines(char *const *v) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + 1;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = 0;
        for (size_t i = 0; v && v[i]; i++)
                p += sprintf(p, "%s%s", i ? "\n" : "", v[i]);
        return s;
}

static char *mount_entries(const struct hl_def *d) {
        _cleanup_(hl_strv_freep) char **entries = NULL;

        for (size_t i = 0; i < d->n_mounts; i++) {
                _cleanup_free_ char *e = hl_strdup_printf("%s %s none bind,create=dir%s 0 0", d->mounts[i].source,
                                                          d->mounts[i].target + 1, d->mounts[i].read_only ? ",ro" : "");
                if (!e || hl_strv_push(&entries, e) < 0)
                        return NULL;
        }
        /* Features=: what LXC's nesting.conf mounts (so that a container inside can mount
         * proc and sys), and the fuse device (common.conf allows it in the cgroup). */
        if (d->nesting && (hl_strv_push(&entries, "proc dev/.lxc/proc proc create=dir,optional 0 0") < 0 ||
                           hl_strv_push(&entries, "sys dev/.lxc/sys sysfs create=dir,optional 0 0") < 0))
                return NULL;
        if (d->fuse && hl_strv_push(&entries, "/dev/fuse dev/fuse none bind,create=file,optional 0 0") < 0)
                return NULL;
        return settings_join_lines(entries);
}

int settings_for(const struct hl_def *d, struct ct_settings *ret) {
        struct ct_settings s = {};
        _cleanup_free_ char *mounts = NULL, *env = NULL, *guest = NULL;
        int r;

        /* A Host= service has no container to set. */
        if (d->host) {
                *ret = s;
                return 0;
        }
        mounts = mount_entries(d);
        env = settings_join_lines(d->environment);
        guest = guest_spec(d);
        if (!mounts || !env || !guest)
                return -ENOMEM;
        r = add(&s, CT_APPLY_RECREATE, "template", KEY_ORIGIN, "template=%s unprivileged=%s", d->template_name,
                d->unprivileged ? "yes" : "no");
        if (r >= 0)
                r = add_limits(&s, d);
        if (r >= 0)
                r = add(&s, CT_APPLY_RESTART, "hostname", "lxc.uts.name", "%s", d->hostname);
        if (r >= 0)
                r = add_networks(&s, d);
        if (r >= 0)
                r = add(&s, CT_APPLY_RESTART, "network config in the container", KEY_GUEST, "%s", guest);
        if (r >= 0)
                r = add(&s, CT_APPLY_RESTART, "mounts", KEY_MOUNTS, "%s", mounts);
        if (r >= 0)
                /* liblxc reads an unset key as 0. */
                r = add(&s, CT_APPLY_RESTART, "nesting", "lxc.apparmor.allow_nesting", "%s", d->nesting ? "1" : "0");
        if (r >= 0)
                r = add(&s, CT_APPLY_RESTART, "environment", "lxc.environment", "%s", env);
        if (r >= 0) {
                _cleanup_(hl_strv_freep) char **lines = NULL;
                _cleanup_free_ char *raw = NULL;

                for (size_t i = 0; r >= 0 && i < d->n_lxc; i++) {
                        _cleanup_free_ char *line = hl_strdup_printf("%s = %s", d->lxc[i].key, d->lxc[i].value);
                        r = line ? hl_strv_push(&lines, line) : -ENOMEM;
                }
                raw = r >= 0 ? settings_join_lines(lines) : NULL;
                r = raw ? add(&s, CT_APPLY_RESTART, "lxc keys (Lxc=)", KEY_LXC, "%s", raw) : -ENOMEM;
        }
        if (r < 0) {
                settings_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static void describe_value(const struct ct_setting *want, const char *value, char *buf, size_t size) {
        uint64_t v;

        if (!value || !*value)
                snprintf(buf, size, "%s", "(none)");
        else if ((strcmp(want->label, "memory") == 0 || strcmp(want->label, "swap") == 0) &&
                 hl_parse_uint(value, 0, UINT64_MAX, &v) >= 0)
                hl_format_size(v, buf, size);
        else if (strcmp(want->label, "cores") == 0 && strtoull(value, NULL, 10) >= CPU_PERIOD_US)
                snprintf(buf, size, "%llu", strtoull(value, NULL, 10) / CPU_PERIOD_US);
        else
                snprintf(buf, size, "%s", value);
        for (char *c = buf; *c; c++)
                if (*c == '\n')
                        *c = ';';
}

char *settings_describe(const struct ct_setting *want, const char *have) {
        static const char *const how[] = {
                [CT_APPLY_LIVE] = "live",
                [CT_APPLY_RESTART] = "restart required",
                [CT_APPLY_RECREATE] = "recreate required",
        };
        char a[512], b[512];

        describe_value(want, have, a, sizeof(a));
        describe_value(want, want->value, b, sizeof(b));
        return hl_strdup_printf("%s %s -> %s (%s)", want->label, a, b, how[want->apply]);
}
