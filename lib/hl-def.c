/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hl-def.h"
#include "hl-oci.h"
#include "hl-pve.h"

#define MIN_MEMORY (16ULL * 1024 * 1024)
#define MAX_CORES 1024

enum section {
        SECTION_NONE,
        SECTION_SERVICE,
        SECTION_CONTAINER,
        SECTION_RESTART,
        SECTION_HEALTH,
        SECTION_UPDATE,
        SECTION_SNAPSHOT,
        SECTION_BACKUP,
};

static const char *const section_names[] = {
        [SECTION_NONE] = "",
        [SECTION_SERVICE] = "Service",
        [SECTION_CONTAINER] = "Container",
        [SECTION_RESTART] = "Restart",
        [SECTION_HEALTH] = "Health",
        [SECTION_UPDATE] = "Update",
        [SECTION_SNAPSHOT] = "Snapshot",
        [SECTION_BACKUP] = "Backup",
};

struct parser {
        struct hl_def *def;
        struct hl_errors *errors;
        const char *file;
        unsigned line;
        const char *key;
        int section; /* enum section, or -1 in a section that is not one */
        /* Lines of keys that later checks refer to. */
        unsigned memory_line, swap_line, template_line, state_line, requires_line, after_line;
        /* Where each section was first opened (0: never). */
        unsigned section_lines[SECTION_BACKUP + 1];
        /* Check= lines, parsed once the whole file is read: a Host= service's checks reach
         * its address, wherever in the file Host= is written. */
        char **checks;
        unsigned check_lines[HL_DEF_MAX_CHECKS];
};

typedef int (*key_parser)(struct parser *p, const char *value);

static int fail(struct parser *p, const char *fmt, ...) HL_PRINTF(2, 3);
static int fail(struct parser *p, const char *fmt, ...) {
        char message[sizeof(((struct hl_def_error *) NULL)->message)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        return hl_errors_add(p->errors, p->file, p->line, p->key, "%s", message);
}

static int set_string(char **field, const char *value) {
        char *s = NULL;

        if (*value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*field);
        *field = s;
        return 0;
}

/* An empty assignment resets a list, as in systemd units. */
static int push_list(char ***list, const char *value) {
        if (!*value) {
                *list = hl_strv_free(*list);
                return 0;
        }
        return hl_strv_push(list, value);
}

static int parse_description(struct parser *p, const char *value) {
        return set_string(&p->def->description, value);
}

/* A list of service names (Requires=, After=), repeated or blank-separated; empty resets
 * it. lines (may be NULL) gets the line each name was written on. */
static int parse_names(struct parser *p, const char *value, char ***list, unsigned **lines, const char *self) {
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        if (!*value) {
                *list = hl_strv_free(*list);
                if (lines) {
                        free(*lines);
                        *lines = NULL;
                }
                return 0;
        }
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                unsigned *more;

                if (!hl_name_is_valid(w))
                        return fail(p, "\"%s\" is not a valid service name", w);
                if (strcmp(w, p->def->name) == 0)
                        return fail(p, "%s", self);
                if (hl_strv_contains(*list, w))
                        continue;
                r = hl_strv_push(list, w);
                if (r < 0)
                        return r;
                if (!lines)
                        continue;
                more = realloc(*lines, sizeof(unsigned) * hl_strv_length(*list));
                if (!more)
                        return -ENOMEM;
                *lines = more;
                more[hl_strv_length(*list) - 1] = p->line;
        }
        return 0;
}

static int parse_requires(struct parser *p, const char *value) {
        p->requires_line = p->line;
        return parse_names(p, value, &p->def->requires, &p->def->requires_lines, "a service cannot require itself");
}

static int parse_after(struct parser *p, const char *value) {
        p->after_line = p->line;
        return parse_names(p, value, &p->def->after, NULL, "a service cannot start after itself");
}

static int parse_state(struct parser *p, const char *value) {
        p->state_line = p->line;
        if (strcmp(value, "running") == 0 || !*value)
                p->def->state = HL_DESIRED_RUNNING;
        else if (strcmp(value, "stopped") == 0)
                p->def->state = HL_DESIRED_STOPPED;
        else
                return fail(p, "\"%s\" is not a state: use running or stopped", value);
        return 0;
}

/* Host=: a service hl does not run (a VM, an appliance, a NAS), checked from the node at
 * this address. An IP literal: a name would make every check hang on the node's resolver,
 * and a dns check says more about that than a failed tcp one. */
static int parse_host(struct parser *p, const char *value) {
        unsigned char buf[sizeof(struct in6_addr)];

        p->def->host_line = p->line;
        if (*value && inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1)
                return fail(p, "\"%s\" is not an IP address (a Host= service is checked at its address)", value);
        return set_string(&p->def->host, value);
}

static int parse_template(struct parser *p, const char *value) {
        p->template_line = p->line;
        if (!*value)
                return fail(p, "a template is required");
        if (value[0] == '/') {
                _cleanup_free_ char *norm = NULL;

                if (hl_path_normalize(value, &norm) < 0 || strcmp(norm, value) != 0)
                        return fail(p, "\"%s\" is not a normalized absolute path", value);
        } else if (strncmp(value, "oci:", 4) == 0) {
                /* oci:PATH[:TAG]: an image layout directory or an oci-archive. */
                _cleanup_free_ char *path = NULL, *norm = NULL;
                const char *tag = NULL;
                if (hl_oci_reference(value + 4, &path, &tag) < 0 || hl_path_normalize(path, &norm) < 0 ||
                    strcmp(norm, path) != 0 || path[0] != '/')
                        return fail(p, "\"%s\" is not oci:PATH[:TAG] with PATH a normalized absolute path", value);
                if (tag && (!*tag || strlen(tag) > 128 || strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(tag)))
                        return fail(p, "\"%s\" is not an image tag (letters, digits, '.', '_', '-')", tag);
        } else if (hl_pve_is_template_volume(value)) {
                /* STORAGE:vztmpl/FILE, as pct users write it: hld resolves it. */
        } else if (strchr(value, ':') && strncmp(value, "clone:", 6) != 0) {
                return fail(p, "\"%s\" is not a template volume of a Proxmox storage (STORAGE:vztmpl/FILE)", value);
        } else if (strncmp(value, "clone:", 6) == 0) {
                if (!hl_name_is_valid(value + 6))
                        return fail(p, "\"%s\" does not name a container to clone", value + 6);
                if (strcmp(value + 6, p->def->name) == 0)
                        return fail(p, "a service cannot clone itself");
        } else {
                /* A template script's name becomes a file name: lxc-NAME. */
                if (value[0] == '.')
                        return fail(p, "\"%s\" is not a template name, an absolute path or clone:NAME", value);
                for (const char *c = value; *c; c++)
                        if (!isalnum((unsigned char) *c) && *c != '-' && *c != '_' && *c != '.')
                                return fail(p, "\"%s\" is not a template name, an absolute path or clone:NAME",
                                            value);
        }
        return set_string(&p->def->template_name, value);
}

static bool hostname_is_valid(const char *s) {
        char label[HL_NAME_MAX + 1];
        size_t n = strlen(s);

        if (n == 0 || n > 253)
                return false;
        while (*s) {
                size_t len = strcspn(s, ".");

                if (len == 0 || len > HL_NAME_MAX)
                        return false;
                memcpy(label, s, len);
                label[len] = 0;
                if (!hl_name_is_valid(label))
                        return false;
                s += len;
                if (*s == '.')
                        s++;
                if (!*s && s[-1] == '.')
                        return false;
        }
        return true;
}

static int parse_hostname(struct parser *p, const char *value) {
        if (*value && !hostname_is_valid(value))
                return fail(p, "\"%s\" is not a valid host name", value);
        return set_string(&p->def->hostname, value);
}

static int parse_cores(struct parser *p, const char *value) {
        uint64_t v = 0;

        if (*value && hl_parse_uint(value, 1, MAX_CORES, &v) < 0)
                return fail(p, "\"%s\" is not a number of cores between 1 and %d", value, MAX_CORES);
        p->def->cores = (unsigned) v;
        return 0;
}

static int parse_size_key(struct parser *p, const char *value, uint64_t *field) {
        uint64_t v = 0;
        int r;

        if (*value) {
                r = hl_parse_size(value, &v);
                if (r == -ERANGE)
                        return fail(p, "\"%s\" is too large", value);
                if (r < 0)
                        return fail(p, "\"%s\" is not a size (bytes, or a number with K, M, G or T)", value);
        }
        *field = v;
        return 0;
}

static int parse_memory(struct parser *p, const char *value) {
        p->memory_line = p->line;
        int r = parse_size_key(p, value, &p->def->memory);
        if (r < 0)
                return r;
        if (p->def->memory > 0 && p->def->memory < MIN_MEMORY)
                return fail(p, "\"%s\" is below the minimum of 16M", value);
        return 0;
}

static int parse_swap(struct parser *p, const char *value) {
        p->swap_line = p->line;
        return parse_size_key(p, value, &p->def->swap);
}

static bool path_is_safe(const char *s) {
        for (; *s; s++)
                if (isspace((unsigned char) *s) || *s == '\\' || iscntrl((unsigned char) *s))
                        return false;
        return true;
}

#define MOUNT_FORM "SOURCE:TARGET[:ro|rw|backup,…]"

static int parse_mount(struct parser *p, const char *value) {
        _cleanup_free_ char *copy = NULL, *source = NULL, *target = NULL;
        struct hl_mount *m;
        char *src, *dst, *opt;
        bool ro = false, backup = false, rw = false;

        if (!*value) {
                for (size_t i = 0; i < p->def->n_mounts; i++) {
                        free(p->def->mounts[i].source);
                        free(p->def->mounts[i].target);
                }
                free(p->def->mounts);
                p->def->mounts = NULL;
                p->def->n_mounts = 0;
                return 0;
        }
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        src = copy;
        dst = strchr(src, ':');
        if (!dst)
                return fail(p, "\"%s\" is not " MOUNT_FORM, value);
        *dst++ = 0;
        opt = strchr(dst, ':');
        if (opt)
                *opt++ = 0;
        /* In the order they are written, so the first wrong part is named. */
        if (!path_is_safe(src) || hl_path_normalize(src, &source) < 0)
                return fail(p, "source \"%s\" is not an absolute path without \".\", \"..\" or spaces "
                            "(Mount=" MOUNT_FORM ")", src);
        if (!path_is_safe(dst) || hl_path_normalize(dst, &target) < 0 || strcmp(target, "/") == 0)
                return fail(p, "target \"%s\" is not an absolute path without \".\", \"..\" or spaces, other than / "
                            "(Mount=" MOUNT_FORM ")", dst);
        /* Options: a comma-separated list, each at most once, ro and rw not both. */
        for (char *o = opt, *next; o; o = next) {
                next = strchr(o, ',');
                if (next)
                        *next++ = 0;
                if (strcmp(o, "ro") == 0 && !ro && !rw)
                        ro = true;
                else if (strcmp(o, "rw") == 0 && !ro && !rw)
                        rw = true;
                else if (strcmp(o, "backup") == 0 && !backup)
                        backup = true;
                else if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0 || strcmp(o, "backup") == 0)
                        return fail(p, "mount option \"%s\" is given twice, or with its opposite (Mount=" MOUNT_FORM ")", o);
                else
                        return fail(p, "\"%s\" is not a mount option: use ro, rw or backup (Mount=" MOUNT_FORM ")", o);
        }
        m = realloc(p->def->mounts, sizeof(*m) * (p->def->n_mounts + 1));
        if (!m)
                return -ENOMEM;
        p->def->mounts = m;
        m[p->def->n_mounts++] = (struct hl_mount) {
                .source = TAKE_PTR(source),
                .target = TAKE_PTR(target),
                .read_only = ro,
                .backup = backup,
        };
        return 0;
}

static bool ifname_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 15)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '-' && *s != '_' && *s != '.')
                        return false;
        return true;
}

static bool address_is_valid(const char *s, bool cidr) {
        char buf[INET6_ADDRSTRLEN + 8];
        unsigned char addr[sizeof(struct in6_addr)];
        char *slash;
        uint64_t prefix;
        int family;

        if (strlen(s) >= sizeof(buf))
                return false;
        strcpy(buf, s);
        slash = strchr(buf, '/');
        if (slash)
                *slash++ = 0;
        if ((slash != NULL) != cidr)
                return false;
        family = strchr(buf, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(family, buf, addr) != 1)
                return false;
        return !slash || hl_parse_uint(slash, 0, family == AF_INET ? 32 : 128, &prefix) == 0;
}

/* Whether gw lies in the network of cidr (ADDRESS/PREFIX, same family). */
static bool in_subnet(const char *cidr, const char *gw) {
        char buf[INET6_ADDRSTRLEN + 8];
        unsigned char a[sizeof(struct in6_addr)], g[sizeof(struct in6_addr)];
        const char *slash = strchr(cidr, '/');
        int family = strchr(cidr, ':') ? AF_INET6 : AF_INET;
        unsigned prefix, bytes = family == AF_INET ? 4 : 16;

        if (!slash || (size_t) (slash - cidr) >= sizeof(buf))
                return false;
        memcpy(buf, cidr, (size_t) (slash - cidr));
        buf[slash - cidr] = 0;
        prefix = (unsigned) strtoul(slash + 1, NULL, 10);
        if (inet_pton(family, buf, a) != 1 || inet_pton(family, gw, g) != 1)
                return false;
        for (unsigned bit = 0; bit < prefix && bit < bytes * 8; bit++) {
                unsigned mask = 0x80u >> (bit % 8);
                if ((a[bit / 8] & mask) != (g[bit / 8] & mask))
                        return false;
        }
        return true;
}

static int network_set(struct parser *p, struct hl_network *n, const char *k, const char *v) {
        char **field = NULL;

        if (strcmp(k, "name") == 0) {
                if (!ifname_is_valid(v) || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
                        return fail(p, "name \"%s\" is not an interface name", v);
                if (strcmp(v, "lo") == 0)
                        return fail(p, "name \"lo\" is the container's loopback, which every container has");
                field = &n->name;
        } else if (strcmp(k, "bridge") == 0) {
                if (!ifname_is_valid(v))
                        return fail(p, "bridge \"%s\" is not an interface name", v);
                field = &n->bridge;
        } else if (strcmp(k, "ip") == 0) {
                /* An IPv6 address under ip= is taken as ip6=, as before ip6= was a key. */
                if (strchr(v, ':'))
                        return network_set(p, n, "ip6", v);
                if (strcmp(v, "dhcp") != 0 && !address_is_valid(v, true))
                        return fail(p, "ip \"%s\" is not IPv4 ADDRESS/PREFIX or dhcp", v);
                field = &n->ip;
        } else if (strcmp(k, "gw") == 0) {
                if (strchr(v, ':'))
                        return network_set(p, n, "gw6", v);
                if (!address_is_valid(v, false))
                        return fail(p, "gw \"%s\" is not an IPv4 address", v);
                field = &n->gw;
        } else if (strcmp(k, "ip6") == 0) {
                if (strcmp(v, "dhcp") != 0 && strcmp(v, "auto") != 0 && (!strchr(v, ':') || !address_is_valid(v, true)))
                        return fail(p, "ip6 \"%s\" is not IPv6 ADDRESS/PREFIX, dhcp or auto", v);
                field = &n->ip6;
        } else if (strcmp(k, "gw6") == 0) {
                if (!strchr(v, ':') || !address_is_valid(v, false))
                        return fail(p, "gw6 \"%s\" is not an IPv6 address", v);
                field = &n->gw6;
        } else if (strcmp(k, "tag") == 0) {
                uint64_t tag;
                if (hl_parse_uint(v, 1, 4094, &tag) < 0)
                        return fail(p, "tag \"%s\" is not a VLAN id between 1 and 4094", v);
                n->tag = (unsigned) tag;
                return 0;
        } else if (strcmp(k, "hwaddr") == 0) {
                unsigned b[6];
                char end;
                if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
                    strlen(v) != 17)
                        return fail(p, "hwaddr \"%s\" is not a MAC address", v);
                field = &n->hwaddr;
        } else if (strcmp(k, "mtu") == 0) {
                uint64_t mtu;
                if (hl_parse_uint(v, 576, 65535, &mtu) < 0)
                        return fail(p, "mtu \"%s\" is not a number between 576 and 65535", v);
                n->mtu = (unsigned) mtu;
                return 0;
        } else
                return fail(p, "unknown network option \"%s\": use name, bridge, ip, gw, ip6, gw6, hwaddr, mtu or tag", k);
        return set_string(field, v);
}

static void network_done(struct hl_network *n) {
        free(n->name);
        free(n->bridge);
        free(n->ip);
        free(n->gw);
        free(n->ip6);
        free(n->gw6);
        free(n->hwaddr);
}

static int parse_network(struct parser *p, const char *value) {
        _cleanup_free_ char *copy = NULL;
        struct hl_network n = {}, *nets;
        char *save = NULL;
        int r = 0;

        if (!*value) {
                for (size_t i = 0; i < p->def->n_networks; i++)
                        network_done(&p->def->networks[i]);
                free(p->def->networks);
                p->def->networks = NULL;
                p->def->n_networks = 0;
                return 0;
        }
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        for (char *kv = strtok_r(copy, ",", &save); kv && r >= 0; kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');
                if (!eq) {
                        r = fail(p, "\"%s\" is not OPTION=VALUE", kv);
                        break;
                }
                *eq = 0;
                r = network_set(p, &n, kv, eq + 1);
        }
        if (r >= 0 && !n.bridge)
                r = fail(p, "bridge= is required");
        if (r >= 0 && n.gw && (!n.ip || strcmp(n.ip, "dhcp") == 0))
                r = fail(p, "gw= needs a static ip= (with ip=dhcp the DHCP server names the gateway)");
        if (r >= 0 && n.gw6 && (!n.ip6 || !strchr(n.ip6, ':')))
                r = fail(p, "gw6= needs a static ip6=");
        if (r >= 0 && n.gw && !in_subnet(n.ip, n.gw))
                r = fail(p, "gw %s is not on the network of ip %s: the container could not reach it", n.gw, n.ip);
        if (r >= 0 && n.gw6 && !in_subnet(n.ip6, n.gw6))
                r = fail(p, "gw6 %s is not on the network of ip6 %s: the container could not reach it", n.gw6, n.ip6);
        for (size_t i = 0; r >= 0 && i < p->def->n_networks; i++) {
                if (n.gw && p->def->networks[i].gw)
                        r = fail(p, "gw= is already given on %s: a container has one default route",
                                 p->def->networks[i].name ? p->def->networks[i].name : "another network");
                else if (n.gw6 && p->def->networks[i].gw6)
                        r = fail(p, "gw6= is already given on %s: a container has one default route",
                                 p->def->networks[i].name ? p->def->networks[i].name : "another network");
        }
        if (r >= 0 && !n.name)
                n.name = hl_strdup_printf("eth%zu", p->def->n_networks);
        if (r >= 0 && !n.name)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < p->def->n_networks; i++)
                if (strcmp(p->def->networks[i].name, n.name) == 0)
                        r = fail(p, "interface %s is defined twice", n.name);
        if (r < 0) {
                network_done(&n);
                return r;
        }
        nets = realloc(p->def->networks, sizeof(*nets) * (p->def->n_networks + 1));
        if (!nets) {
                network_done(&n);
                return -ENOMEM;
        }
        p->def->networks = nets;
        nets[p->def->n_networks++] = n;
        return 0;
}

static int parse_unprivileged(struct parser *p, const char *value) {
        if (!*value) {
                p->def->unprivileged = false;
                return 0;
        }
        if (hl_parse_bool(value, &p->def->unprivileged) < 0)
                return fail(p, "\"%s\" is not yes or no", value);
        return 0;
}

/* Proxmox's features: a comma list of NAME=1|0, or NAME alone for 1. */
static int parse_features(struct parser *p, const char *value) {
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        if (!*value) {
                p->def->nesting = p->def->fuse = p->def->keyctl = false;
                return 0;
        }
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(w, '=');
                bool on = true;

                if (eq)
                        *eq++ = 0;
                if (strcmp(w, "mount") == 0 || strcmp(w, "mknod") == 0 || strcmp(w, "force_rw_sys") == 0)
                        return fail(p, "%s: hl writes no AppArmor profile or seccomp rules of its own for it; what the "
                                    "container may do there follows its privileges", w);
                if (eq) {
                        if (strcmp(eq, "1") != 0 && strcmp(eq, "0") != 0)
                                return fail(p, "%s=%s: a feature is 1 or 0", w, eq);
                        on = eq[0] == '1';
                }
                if (strcmp(w, "nesting") == 0)
                        p->def->nesting = on;
                else if (strcmp(w, "fuse") == 0)
                        p->def->fuse = on;
                else if (strcmp(w, "keyctl") == 0)
                        p->def->keyctl = on;
                else
                        return fail(p, "\"%s\" is not a feature: use nesting, fuse or keyctl", w);
        }
        return 0;
}

/* The lxc keys hl writes itself, with the key of a definition that sets each: an Lxc= line
 * could only fight it. Prefixes end in '.'. */
static const struct {
        const char *key;
        const char *owner;
} owned_lxc_keys[] = {
        { "lxc.uts.name", "Hostname=" },
        { "lxc.net.", "Network=" },
        { "lxc.net", "Network=" },
        { "lxc.mount.entry", "Mount=" },
        { "lxc.mount.fstab", "Mount=" },
        { "lxc.environment", "Environment=" },
        { "lxc.apparmor.allow_nesting", "Features=nesting" },
        { "lxc.rootfs.", "Template=" },
        { "lxc.idmap", "Unprivileged=" },
        { "lxc.include", "Template= (hl writes the includes of its containers)" },
        { "lxc.cgroup.memory.", "Memory= and Swap=" },
        { "lxc.cgroup2.memory.", "Memory= and Swap=" },
        { "lxc.cgroup.cpu.", "Cores=" },
        { "lxc.console.logfile", "(hld keeps the console log that hlctl logs reads)" },
        { "lxc.console.size", "(hld keeps the console log that hlctl logs reads)" },
        { "lxc.console.rotate", "(hld keeps the console log that hlctl logs reads)" },
        { "lxc.cgroup2.cpu.", "Cores=" },
};

const char *hl_def_lxc_owner(const char *key) {
        for (size_t i = 0; i < HL_ELEMENTSOF(owned_lxc_keys); i++) {
                const char *k = owned_lxc_keys[i].key;
                size_t n = strlen(k);

                if (k[n - 1] == '.' ? strncmp(key, k, n) == 0 : strcmp(key, k) == 0)
                        return owned_lxc_keys[i].owner;
        }
        return NULL;
}

bool hl_def_lxc_key_is_valid(const char *key) {
        if (strncmp(key, "lxc.", 4) != 0 || !key[4] || strlen(key) > 128)
                return false;
        for (const char *c = key; *c; c++)
                if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '.' && *c != '_' && *c != '-')
                        return false;
        return key[strlen(key) - 1] != '.';
}

/* Lxc=KEY=VALUE (blanks around the '=' allowed, as in an lxc config). */
static int parse_lxc(struct parser *p, const char *value) {
        struct hl_def *d = p->def;
        _cleanup_free_ char *key = NULL, *val = NULL;
        const char *eq = strchr(value, '='), *owner;
        struct hl_lxc_key *items;
        size_t total = 0;

        if (!*value) {
                for (size_t i = 0; i < d->n_lxc; i++) {
                        free(d->lxc[i].key);
                        free(d->lxc[i].value);
                }
                free(d->lxc);
                d->lxc = NULL;
                d->n_lxc = 0;
                return 0;
        }
        if (!eq)
                return fail(p, "\"%s\" is not KEY=VALUE (Lxc=lxc.cgroup2.devices.allow=c 10:200 rwm)", value);
        key = strndup(value, (size_t) (eq - value));
        val = strdup(eq + 1);
        if (!key || !val)
                return -ENOMEM;
        {
                char *k = key + strlen(key);
                while (k > key && (k[-1] == ' ' || k[-1] == '\t'))
                        *--k = 0;
        }
        memmove(val, val + strspn(val, " \t"), strlen(val + strspn(val, " \t")) + 1);
        if (!hl_def_lxc_key_is_valid(key))
                return fail(p, "\"%s\" is not an lxc key: lxc. and then lower-case letters, digits, '.', '_' and '-'",
                            key);
        owner = hl_def_lxc_owner(key);
        if (owner)
                return owner[0] == '(' ? fail(p, "%s is hl's %s", key, owner)
                                       : fail(p, "%s is hl's: set it with %s", key, owner);
        if (!*val)
                return fail(p, "%s has no value: leave the line out to leave the key as the template has it", key);
        for (size_t i = 0; i < d->n_lxc; i++)
                total += strlen(d->lxc[i].key) + strlen(d->lxc[i].value) + 4;
        if (total + strlen(key) + strlen(val) + 4 > HL_DEF_MAX_LXC)
                return fail(p, "Lxc= lines take at most %d bytes in all", HL_DEF_MAX_LXC);
        items = realloc(d->lxc, sizeof(*items) * (d->n_lxc + 1));
        if (!items)
                return -ENOMEM;
        d->lxc = items;
        items[d->n_lxc++] = (struct hl_lxc_key) { .key = TAKE_PTR(key), .value = TAKE_PTR(val), .line = p->line };
        return 0;
}

static int parse_provision(struct parser *p, const char *value) {
        return push_list(&p->def->provision, value);
}

static int parse_environment(struct parser *p, const char *value) {
        const char *eq = strchr(value, '=');

        if (*value) {
                if (!eq || eq == value)
                        return fail(p, "\"%s\" is not KEY=VALUE", value);
                for (const char *c = value; c < eq; c++)
                        if (!(isalnum((unsigned char) *c) || *c == '_') || (c == value && isdigit((unsigned char) *c)))
                                return fail(p, "\"%.*s\" is not a variable name", (int) (eq - value), value);
        }
        return push_list(&p->def->environment, value);
}

const char *hl_restart_policy_to_string(enum hl_restart_policy p) {
        static const char *const names[] = {
                [HL_RESTART_ON_FAILURE] = "on-failure",
                [HL_RESTART_ALWAYS] = "always",
                [HL_RESTART_NO] = "no",
        };
        return names[p];
}

static int parse_policy(struct parser *p, const char *value) {
        for (enum hl_restart_policy i = HL_RESTART_ON_FAILURE; i <= HL_RESTART_NO; i++)
                if (strcmp(value, hl_restart_policy_to_string(i)) == 0) {
                        p->def->restart.policy = i;
                        return 0;
                }
        if (!*value) {
                p->def->restart.policy = HL_RESTART_ON_FAILURE;
                return 0;
        }
        return fail(p, "\"%s\" is not a policy: use no, on-failure or always", value);
}

static int parse_duration_key(struct parser *p, const char *value, uint64_t *field, uint64_t dflt, uint64_t max) {
        uint64_t v = dflt;

        if (*value && (hl_parse_duration_ms(value, &v) < 0 || v > max))
                return fail(p, "\"%s\" is not a duration such as 500ms, 10s, 5m or 1h (at most a day)", value);
        *field = v;
        return 0;
}

#define DAY_MS (24ULL * 3600 * 1000)

static int parse_restart_sec(struct parser *p, const char *value) {
        return parse_duration_key(p, value, &p->def->restart.restart_sec_ms, 1000, DAY_MS);
}

static int parse_restart_max_delay(struct parser *p, const char *value) {
        return parse_duration_key(p, value, &p->def->restart.restart_max_delay_ms, 5 * 60 * 1000, DAY_MS);
}

static int parse_start_limit_interval(struct parser *p, const char *value) {
        return parse_duration_key(p, value, &p->def->restart.start_limit_interval_ms, 60 * 1000, DAY_MS);
}

static int parse_start_limit_burst(struct parser *p, const char *value) {
        uint64_t v = 5;

        if (*value && hl_parse_uint(value, 0, 1000, &v) < 0)
                return fail(p, "\"%s\" is not a number from 0 to 1000", value);
        p->def->restart.start_limit_burst = (unsigned) v;
        return 0;
}

static int parse_nameserver(struct parser *p, const char *value) {
        if (*value && !address_is_valid(value, false))
                return fail(p, "\"%s\" is not an IP address", value);
        return push_list(&p->def->nameservers, value);
}

static int parse_search_domain(struct parser *p, const char *value) {
        if (*value && !hostname_is_valid(value))
                return fail(p, "\"%s\" is not a domain name", value);
        return push_list(&p->def->search, value);
}

static int parse_boot_timeout(struct parser *p, const char *value) {
        return parse_duration_key(p, value, &p->def->boot_timeout_ms, 3 * 60 * 1000, DAY_MS);
}

static int parse_update_exec(struct parser *p, const char *value) {
        return push_list(&p->def->update.exec, value);
}

static int parse_update_restart(struct parser *p, const char *value) {
        if (!*value) {
                p->def->update.restart = false;
                return 0;
        }
        if (hl_parse_bool(value, &p->def->update.restart) < 0)
                return fail(p, "\"%s\" is not a boolean: use yes or no", value);
        return 0;
}

static int parse_update_health_timeout(struct parser *p, const char *value) {
        return parse_duration_key(p, value, &p->def->update.health_timeout_ms, 2 * 60 * 1000, DAY_MS);
}

static int parse_schedule_key(struct parser *p, const char *value, struct hl_snapshots *sn) {
        _cleanup_free_ char *error = NULL;
        struct hl_calendar c;

        free(sn->schedule);
        sn->schedule = NULL;
        if (!*value)
                return 0;
        if (hl_calendar_parse(value, &c, &error) < 0)
                return fail(p, "%s", error ? error : "not a schedule");
        sn->calendar = c;
        sn->schedule = strdup(value);
        return sn->schedule ? 0 : -ENOMEM;
}

static int parse_keep_key(struct parser *p, const char *value, struct hl_snapshots *sn) {
        _cleanup_free_ char *error = NULL;
        struct hl_keep k;

        free(sn->keep_text);
        sn->keep_text = NULL;
        if (!*value)
                return 0;
        if (hl_keep_parse(value, &k, &error) < 0)
                return fail(p, "%s", error ? error : "not a retention");
        sn->keep = k;
        sn->keep_text = hl_keep_format(&k);
        return sn->keep_text ? 0 : -ENOMEM;
}

static int parse_snapshot_schedule(struct parser *p, const char *value) {
        return parse_schedule_key(p, value, &p->def->snapshots);
}

static int parse_snapshot_keep(struct parser *p, const char *value) {
        return parse_keep_key(p, value, &p->def->snapshots);
}

static int parse_backup_schedule(struct parser *p, const char *value) {
        return parse_schedule_key(p, value, &p->def->backups.times);
}

static int parse_backup_keep(struct parser *p, const char *value) {
        return parse_keep_key(p, value, &p->def->backups.times);
}

static int parse_backup_dir(struct parser *p, const char *value) {
        _cleanup_free_ char *dir = NULL;

        free(p->def->backups.dir);
        p->def->backups.dir = NULL;
        if (!*value)
                return 0;
        if (value[0] != '/' || hl_path_normalize(value, &dir) < 0)
                return fail(p, "\"%s\" is not an absolute path", value);
        p->def->backups.dir = TAKE_PTR(dir);
        return 0;
}

static int parse_backup_mode(struct parser *p, const char *value) {
        if (!*value || strcmp(value, "snapshot") == 0)
                p->def->backups.stop_mode = false;
        else if (strcmp(value, "stop") == 0)
                p->def->backups.stop_mode = true;
        else
                return fail(p, "\"%s\" is not a backup mode: use snapshot (frozen for a copy) or stop (stopped for the "
                            "archive, started again)", value);
        return 0;
}

static int parse_check(struct parser *p, const char *value) {
        size_t n = hl_strv_length(p->checks);

        if (!*value) {
                p->checks = hl_strv_free(p->checks);
                return 0;
        }
        if (n >= HL_DEF_MAX_CHECKS)
                return fail(p, "at most %d checks per service", HL_DEF_MAX_CHECKS);
        p->check_lines[n] = p->line;
        return hl_strv_push(&p->checks, value);
}

/* The Check= lines, once Host= is known. */
static int parse_checks(struct parser *p) {
        struct hl_health *h = &p->def->health;
        size_t n = hl_strv_length(p->checks);

        if (n == 0)
                return 0;
        h->checks = calloc(n, sizeof(*h->checks));
        if (!h->checks)
                return -ENOMEM;
        p->key = "Check";
        for (size_t i = 0; i < n; i++) {
                char reason[256];
                int r;

                p->line = p->check_lines[i];
                r = hl_check_parse(p->checks[i], p->def->host, &h->checks[h->n_checks], reason, sizeof(reason));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        fail(p, "%s", reason);
                else
                        h->n_checks++;
        }
        return 0;
}

static int parse_interval(struct parser *p, const char *value) {
        int r = parse_duration_key(p, value, &p->def->health.interval_ms, 30 * 1000, DAY_MS);
        if (r >= 0 && p->def->health.interval_ms < 1000)
                return fail(p, "the interval must be at least 1s");
        return r;
}

static int parse_timeout(struct parser *p, const char *value) {
        int r;

        r = parse_duration_key(p, value, &p->def->health.timeout_ms, 5 * 1000, DAY_MS);
        if (r >= 0 && p->def->health.timeout_ms < 100)
                return fail(p, "the timeout must be at least 100ms");
        return r;
}

static int parse_retries(struct parser *p, const char *value) {
        uint64_t v = 3;

        if (*value && hl_parse_uint(value, 1, 100, &v) < 0)
                return fail(p, "\"%s\" is not a number from 1 to 100", value);
        p->def->health.retries = (unsigned) v;
        return 0;
}

static int parse_start_period(struct parser *p, const char *value) {
        return parse_duration_key(p, value, &p->def->health.start_period_ms, 0, DAY_MS);
}

static const struct {
        enum section section;
        const char *key;
        key_parser parse;
} keys[] = {
        { SECTION_SERVICE, "Description", parse_description },
        { SECTION_SERVICE, "Requires", parse_requires },
        { SECTION_SERVICE, "After", parse_after },
        { SECTION_SERVICE, "State", parse_state },
        { SECTION_SERVICE, "Host", parse_host },
        { SECTION_CONTAINER, "Template", parse_template },
        { SECTION_CONTAINER, "Hostname", parse_hostname },
        { SECTION_CONTAINER, "Cores", parse_cores },
        { SECTION_CONTAINER, "Memory", parse_memory },
        { SECTION_CONTAINER, "Swap", parse_swap },
        { SECTION_CONTAINER, "Mount", parse_mount },
        { SECTION_CONTAINER, "Network", parse_network },
        { SECTION_CONTAINER, "Unprivileged", parse_unprivileged },
        { SECTION_CONTAINER, "Features", parse_features },
        { SECTION_CONTAINER, "Lxc", parse_lxc },
        { SECTION_CONTAINER, "Provision", parse_provision },
        { SECTION_CONTAINER, "Environment", parse_environment },
        { SECTION_CONTAINER, "Nameserver", parse_nameserver },
        { SECTION_CONTAINER, "SearchDomain", parse_search_domain },
        { SECTION_CONTAINER, "BootTimeout", parse_boot_timeout },
        { SECTION_RESTART, "Policy", parse_policy },
        { SECTION_RESTART, "RestartSec", parse_restart_sec },
        { SECTION_RESTART, "RestartMaxDelaySec", parse_restart_max_delay },
        { SECTION_RESTART, "StartLimitIntervalSec", parse_start_limit_interval },
        { SECTION_RESTART, "StartLimitBurst", parse_start_limit_burst },
        { SECTION_HEALTH, "Check", parse_check },
        { SECTION_HEALTH, "Interval", parse_interval },
        { SECTION_HEALTH, "Timeout", parse_timeout },
        { SECTION_HEALTH, "Retries", parse_retries },
        { SECTION_HEALTH, "StartPeriod", parse_start_period },
        { SECTION_UPDATE, "Exec", parse_update_exec },
        { SECTION_UPDATE, "Restart", parse_update_restart },
        { SECTION_UPDATE, "HealthTimeout", parse_update_health_timeout },
        { SECTION_SNAPSHOT, "Schedule", parse_snapshot_schedule },
        { SECTION_SNAPSHOT, "Keep", parse_snapshot_keep },
        { SECTION_BACKUP, "Schedule", parse_backup_schedule },
        { SECTION_BACKUP, "Keep", parse_backup_keep },
        { SECTION_BACKUP, "Dir", parse_backup_dir },
        { SECTION_BACKUP, "Mode", parse_backup_mode },
};

static int on_line(void *userdata, const struct hl_ini_line *l, struct hl_errors *errors) {
        struct parser *p = userdata;

        p->line = l->line;
        p->key = l->key ? l->key : "";
        if (!l->key) {
                for (enum section i = SECTION_SERVICE; i <= SECTION_BACKUP; i++)
                        if (strcmp(l->section, section_names[i]) == 0) {
                                p->section = (int) i;
                                if (!p->section_lines[i])
                                        p->section_lines[i] = l->line;
                                return 0;
                        }
                /* Its keys are not reported one by one: the header is the mistake. */
                p->section = -1;
                fail(p, "unknown section [%s]: use [Service], [Container], [Health], [Restart], [Update], [Snapshot] "
                     "or [Backup]", l->section);
                return 0;
        }
        if (p->section < 0) {
                /* Not "needs a Template=" on top of the wrong header it stands under. */
                if (strcmp(l->key, "Template") == 0)
                        p->template_line = l->line;
                return 0;
        }
        for (size_t i = 0; i < HL_ELEMENTSOF(keys); i++)
                if ((int) keys[i].section == p->section && strcmp(keys[i].key, l->key) == 0) {
                        int r = keys[i].parse(p, l->value);
                        return r == -ENOMEM ? r : 0;
                }
        for (size_t i = 0; i < HL_ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].key, l->key) == 0) {
                        fail(p, "unknown key in [%s]: it belongs in [%s]", section_names[p->section],
                             section_names[keys[i].section]);
                        return 0;
                }
        fail(p, "unknown key");
        return 0;
}

/* A Host= service is checked, never run: what only a container has is a mistake, each
 * named where it was written. */
static void check_host_service(struct parser *p) {
        for (enum section i = SECTION_CONTAINER; i <= SECTION_BACKUP; i++) {
                if (!p->section_lines[i] || i == SECTION_HEALTH)
                        continue;
                p->line = p->section_lines[i];
                p->key = "";
                fail(p, "[%s] in a Host= service: hl does not run it, only checks it from the node (a service with a "
                     "container has no Host=)", section_names[i]);
        }
        if (p->state_line) {
                p->line = p->state_line;
                p->key = "State";
                fail(p, "hl does not start or stop a Host= service");
        }
        if (p->requires_line && p->def->requires) {
                p->line = p->requires_line;
                p->key = "Requires";
                fail(p, "a Host= service is not started, so it waits for nothing: Requires= belongs in the services "
                     "that need it");
        }
        if (p->after_line && p->def->after) {
                p->line = p->after_line;
                p->key = "After";
                fail(p, "a Host= service is not started, so it is started after nothing");
        }
}

/* The checks of the file as a whole, once every line is read. */
static int check_whole(struct parser *p) {
        struct hl_def *def = p->def;
        int r = parse_checks(p);

        if (r < 0)
                return r;
        if (def->host) {
                check_host_service(p);
                return 0;
        }
        p->key = "Template";
        p->line = p->template_line;
        if (!def->template_name && !p->template_line)
                fail(p, "[Container] needs a Template=");
        def->template_line = p->template_line;
        p->key = "Swap";
        p->line = p->swap_line;
        if (def->swap > 0 && def->memory == 0)
                fail(p, "Swap= needs Memory=");
        if (!def->hostname && !(def->hostname = strdup(def->name)))
                return -ENOMEM;
        return 0;
}

/* The errors of the whole (checks parsed at the end, Swap= without Memory=) among those of
 * the lines, in line order; those of no line (a missing key) last. Stable. */
static void sort_errors(struct hl_errors *e) {
        for (size_t i = 1; i < e->n; i++) {
                struct hl_def_error item = e->items[i];
                unsigned line = item.line ? item.line : UINT_MAX;
                size_t j = i;

                for (; j > 0 && (e->items[j - 1].line ? e->items[j - 1].line : UINT_MAX) > line; j--)
                        e->items[j] = e->items[j - 1];
                e->items[j] = item;
        }
}

int hl_def_parse_all(const char *name, const char *file, const char *text, size_t len, struct hl_def **ret,
                     struct hl_errors *errors) {
        _cleanup_(hl_def_freep) struct hl_def *def = NULL;
        struct parser p = { .errors = errors, .file = file, .key = "" };
        int r;

        if (!hl_name_is_valid(name))
                return fail(&p, "\"%.80s\" is not a valid service name: use a-z, 0-9 and '-', at most %d characters, "
                            "not starting or ending with '-', not all digits (a Proxmox VMID)", name ? name : "",
                            HL_NAME_MAX);
        def = calloc(1, sizeof(*def));
        if (!def || !(def->name = strdup(name)))
                return -ENOMEM;
        def->restart = (struct hl_restart) {
                .policy = HL_RESTART_ON_FAILURE,
                .restart_sec_ms = 1000,
                .restart_max_delay_ms = 5 * 60 * 1000,
                .start_limit_interval_ms = 60 * 1000,
                .start_limit_burst = 5,
        };
        def->boot_timeout_ms = 3 * 60 * 1000;
        def->update.health_timeout_ms = 2 * 60 * 1000;
        def->health = (struct hl_health) {
                .interval_ms = 30 * 1000,
                .timeout_ms = 5 * 1000,
                .retries = 3,
        };
        p.def = def;
        r = hl_ini_parse(file, text, len, HL_DEF_MAX_SIZE, HL_DEF_MAX_LINE, on_line, &p, errors);
        /* A file that could not be read at all has no whole to check. */
        if (r != -ENOMEM && r != -EBADMSG)
                r = check_whole(&p);
        hl_strv_free(p.checks);
        if (r == -EBADMSG)
                return -EINVAL;
        if (r < 0 && r != -EINVAL)
                return r;
        sort_errors(errors);
        if (errors->n > 0)
                return -EINVAL;
        *ret = TAKE_PTR(def);
        return 0;
}

int hl_def_parse(const char *name, const char *file, const char *text, size_t len, struct hl_def **ret,
                 struct hl_def_error *ret_error) {
        _cleanup_(hl_errors_done) struct hl_errors errors = {};
        int r = hl_def_parse_all(name, file, text, len, ret, &errors);

        if (r < 0 && errors.n > 0)
                *ret_error = errors.items[0];
        else if (r == -ENOMEM)
                hl_def_error_set(ret_error, file, 0, "", "out of memory");
        return r;
}

struct hl_def *hl_def_free(struct hl_def *d) {
        if (!d)
                return NULL;
        free(d->name);
        free(d->description);
        hl_strv_free(d->requires);
        free(d->requires_lines);
        hl_strv_free(d->after);
        free(d->template_name);
        free(d->host);
        free(d->hostname);
        for (size_t i = 0; i < d->n_mounts; i++) {
                free(d->mounts[i].source);
                free(d->mounts[i].target);
        }
        free(d->mounts);
        for (size_t i = 0; i < d->n_networks; i++)
                network_done(&d->networks[i]);
        free(d->networks);
        for (size_t i = 0; i < d->n_lxc; i++) {
                free(d->lxc[i].key);
                free(d->lxc[i].value);
        }
        free(d->lxc);
        hl_strv_free(d->provision);
        hl_strv_free(d->update.exec);
        free(d->snapshots.schedule);
        free(d->snapshots.keep_text);
        free(d->backups.times.schedule);
        free(d->backups.times.keep_text);
        free(d->backups.dir);
        hl_strv_free(d->environment);
        hl_strv_free(d->nameservers);
        hl_strv_free(d->search);
        for (size_t i = 0; i < d->health.n_checks; i++)
                hl_check_done(&d->health.checks[i]);
        free(d->health.checks);
        free(d);
        return NULL;
}

enum hl_template_kind hl_def_template_kind(const struct hl_def *d, const char **ret_arg) {
        const char *t = d->template_name;

        if (!t) {
                *ret_arg = "";
                return HL_TEMPLATE_NONE;
        }
        if (t[0] == '/') {
                *ret_arg = t;
                return HL_TEMPLATE_TARBALL;
        }
        if (strncmp(t, "clone:", 6) == 0) {
                *ret_arg = t + 6;
                return HL_TEMPLATE_CLONE;
        }
        if (strncmp(t, "oci:", 4) == 0) {
                *ret_arg = t + 4;
                return HL_TEMPLATE_OCI;
        }
        if (strchr(t, ':')) {
                *ret_arg = t;
                return HL_TEMPLATE_STORAGE;
        }
        if (strcmp(t, "adopted") == 0) {
                *ret_arg = t;
                return HL_TEMPLATE_ADOPTED;
        }
        *ret_arg = t;
        return HL_TEMPLATE_SCRIPT;
}
