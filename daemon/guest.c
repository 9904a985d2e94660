/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's own network configuration (guest.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl-macro.h"
#include "hl-util.h"
#include "guest.h"
#include "inroot.h"

#define BEGIN "# hl: begin. Written by hld from the service's Network= lines; replaced when they change."
#define END "# hl: end"
#define HEADER "# Written by hld from the service's definition; replaced when it changes."
#define SCRIPT "/etc/hl-network"
#define MAX_FILE (1 << 20)

void guest_net_done(struct guest_net *net) {
        free(net->ifaces);
        hl_strv_free(net->nameservers);
        hl_strv_free(net->search);
        *net = (struct guest_net) {};
}

static bool name_ok(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '-' && *s != '_' && *s != '.')
                        return false;
        return true;
}

static bool address_ok(const char *s, int family, bool cidr) {
        char buf[INET6_ADDRSTRLEN];
        unsigned char addr[sizeof(struct in6_addr)];
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t) (slash - s) : strlen(s);
        uint64_t prefix;

        if ((slash != NULL) != cidr || len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (inet_pton(family, buf, addr) != 1)
                return false;
        return !slash || hl_parse_uint(slash + 1, 0, family == AF_INET ? 32 : 128, &prefix) == 0;
}

static bool domain_ok(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 253)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '-' && *s != '.')
                        return false;
        return true;
}

static int parse_iface(char *rest, struct guest_iface *f) {
        char *save = NULL, *tok = strtok_r(rest, " ", &save);

        if (!tok || !name_ok(tok))
                return -EINVAL;
        snprintf(f->name, sizeof(f->name), "%s", tok);
        strcpy(f->ip, "none");
        strcpy(f->gw, "none");
        strcpy(f->ip6, "none");
        strcpy(f->gw6, "none");
        while ((tok = strtok_r(NULL, " ", &save))) {
                char *eq = strchr(tok, '='), *field;
                const char *v;
                bool ok;

                if (!eq)
                        return -EINVAL;
                *eq = 0;
                v = eq + 1;
                if (strcmp(tok, "ip") == 0) {
                        field = f->ip;
                        ok = strcmp(v, "dhcp") == 0 || address_ok(v, AF_INET, true);
                } else if (strcmp(tok, "gw") == 0) {
                        field = f->gw;
                        ok = address_ok(v, AF_INET, false);
                } else if (strcmp(tok, "ip6") == 0) {
                        field = f->ip6;
                        ok = strcmp(v, "dhcp") == 0 || strcmp(v, "auto") == 0 || address_ok(v, AF_INET6, true);
                } else if (strcmp(tok, "gw6") == 0) {
                        field = f->gw6;
                        ok = address_ok(v, AF_INET6, false);
                } else
                        return -EINVAL;
                if (strcmp(v, "none") == 0)
                        ok = true;
                if (!ok || strlen(v) >= sizeof(f->ip))
                        return -EINVAL;
                strcpy(field, v);
        }
        return 0;
}

int guest_parse(const char *spec, struct guest_net *ret, char **ret_error) {
        _cleanup_free_ char *copy = strdup(spec);
        struct guest_net net = {};
        char *save = NULL;
        unsigned line = 0;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (char *l = strtok_r(copy, "\n", &save); l && r >= 0; l = strtok_r(NULL, "\n", &save)) {
                line++;
                if (strncmp(l, "iface ", 6) == 0) {
                        struct guest_iface *ifaces = realloc(net.ifaces, sizeof(*ifaces) * (net.n_ifaces + 1));
                        if (!ifaces) {
                                r = -ENOMEM;
                                break;
                        }
                        net.ifaces = ifaces;
                        if (parse_iface(l + 6, &ifaces[net.n_ifaces]) < 0)
                                r = hl_fail(ret_error, -EINVAL, "network spec line %u is not a valid interface", line);
                        else
                                net.n_ifaces++;
                } else if (strncmp(l, "nameserver ", 11) == 0) {
                        bool v6 = strchr(l + 11, ':');
                        r = address_ok(l + 11, v6 ? AF_INET6 : AF_INET, false)
                                    ? hl_strv_push(&net.nameservers, l + 11)
                                    : hl_fail(ret_error, -EINVAL, "network spec line %u is not a valid nameserver", line);
                } else if (strncmp(l, "search ", 7) == 0)
                        r = domain_ok(l + 7) ? hl_strv_push(&net.search, l + 7)
                                             : hl_fail(ret_error, -EINVAL, "network spec line %u is not a valid domain", line);
                else
                        r = hl_fail(ret_error, -EINVAL, "network spec line %u is not understood", line);
        }
        if (r < 0) {
                guest_net_done(&net);
                return r;
        }
        *ret = net;
        return 0;
}

static bool is_static(const char *ip) {
        return strcmp(ip, "none") != 0 && strcmp(ip, "dhcp") != 0 && strcmp(ip, "auto") != 0;
}

static bool managed(const struct guest_net *net, const char *name, size_t len) {
        for (size_t i = 0; i < net->n_ifaces; i++)
                if (strlen(net->ifaces[i].name) == len && strncmp(net->ifaces[i].name, name, len) == 0)
                        return true;
        return false;
}

/* The stanza keywords of interfaces(5) (ifupdown, ifupdown-ng, busybox ifup). */
static bool starts_stanza(const char *line) {
        static const char *const words[] = { "iface", "auto", "allow-", "mapping", "source", "rename", "template" };

        for (size_t i = 0; i < HL_ELEMENTSOF(words); i++)
                if (strncmp(line, words[i], strlen(words[i])) == 0)
                        return true;
        return false;
}

char *guest_ifupdown(const char *old, const struct guest_net *net) {
        _cleanup_free_ char *copy = strdup(old ? old : "");
        struct hl_text t = {};
        bool in_block = false, dropping = false;
        char *cursor = copy, *line;

        if (!copy)
                return NULL;
        while ((line = hl_next_line(&cursor))) {
                const char *l = line + strspn(line, " \t");

                /* hld's own block, from before: replaced as a whole. */
                if (strncmp(l, "# hl: begin", 11) == 0) {
                        in_block = true;
                        continue;
                }
                if (in_block) {
                        in_block = strncmp(l, END, strlen(END)) != 0;
                        continue;
                }
                if (starts_stanza(l)) {
                        dropping = false;
                        if (strncmp(l, "iface", 5) == 0 && isspace((unsigned char) l[5])) {
                                const char *name = l + 5 + strspn(l + 5, " \t");
                                dropping = managed(net, name, strcspn(name, " \t"));
                        } else if (strncmp(l, "auto", 4) == 0 || strncmp(l, "allow-", 6) == 0) {
                                /* "auto lo eth0": the names hld manages leave the list. */
                                size_t kw = strcspn(l, " \t");
                                struct hl_text kept = {};
                                unsigned n = 0;

                                hl_text_add(&kept, "%.*s", (int) kw, l);
                                for (const char *p = l + kw; *p;) {
                                        p += strspn(p, " \t");
                                        size_t len = strcspn(p, " \t");
                                        if (len && !managed(net, p, len)) {
                                                hl_text_add(&kept, " %.*s", (int) len, p);
                                                n++;
                                        }
                                        p += len;
                                }
                                if (kept.failed) {
                                        free(kept.buf);
                                        free(t.buf);
                                        return NULL;
                                }
                                if (n)
                                        hl_text_add(&t, "%s\n", kept.buf);
                                free(kept.buf);
                                continue;
                        }
                } else if (dropping && !*l)
                        dropping = false; /* a blank line ends the stanza */
                if (dropping)
                        continue; /* a stanza hld replaces, its options and comments */
                hl_text_add(&t, "%s\n", line);
        }
        /* No blank lines piling up at the end, one before the block. */
        while (!t.failed && t.len >= 2 && t.buf[t.len - 1] == '\n' && t.buf[t.len - 2] == '\n')
                t.buf[--t.len] = 0;
        if (net->n_ifaces) {
                hl_text_add(&t, "%s" BEGIN "\n", t.len ? "\n" : "");
                for (size_t i = 0; i < net->n_ifaces; i++) {
                        const struct guest_iface *f = &net->ifaces[i];

                        hl_text_add(&t, "auto %s\n", f->name);
                        if (strcmp(f->ip, "dhcp") == 0)
                                hl_text_add(&t, "iface %s inet dhcp\n", f->name);
                        else if (is_static(f->ip)) {
                                hl_text_add(&t, "iface %s inet manual\n", f->name);
                                hl_text_add(&t, "\t# %s%s%s: set by liblxc as the container starts\n", f->ip,
                                       strcmp(f->gw, "none") ? " via " : "", strcmp(f->gw, "none") ? f->gw : "");
                        } else
                                hl_text_add(&t, "iface %s inet manual\n", f->name);
                        if (strcmp(f->ip6, "dhcp") == 0)
                                hl_text_add(&t, "iface %s inet6 dhcp\n", f->name);
                        else if (strcmp(f->ip6, "auto") == 0)
                                hl_text_add(&t, "iface %s inet6 auto\n", f->name);
                        else if (is_static(f->ip6)) {
                                hl_text_add(&t, "iface %s inet6 manual\n", f->name);
                                hl_text_add(&t, "\t# %s%s%s: set by liblxc as the container starts\n", f->ip6,
                                       strcmp(f->gw6, "none") ? " via " : "", strcmp(f->gw6, "none") ? f->gw6 : "");
                        }
                }
                hl_text_add(&t, END "\n");
        }
        return hl_text_take(&t);
}

char *guest_networkd(const struct guest_iface *f, const struct guest_net *net) {
        struct hl_text t = {};
        bool dhcp4 = strcmp(f->ip, "dhcp") == 0, dhcp6 = strcmp(f->ip6, "dhcp") == 0;

        hl_text_add(&t, HEADER "\n[Match]\nName=%s\n\n[Network]\n", f->name);
        hl_text_add(&t, "DHCP=%s\n", dhcp4 && dhcp6 ? "yes" : dhcp4 ? "ipv4" : dhcp6 ? "ipv6" : "no");
        hl_text_add(&t, "IPv6AcceptRA=%s\n", strcmp(f->ip6, "auto") == 0 || dhcp6 ? "yes" : "no");
        /* The static ones are liblxc's already; named here so that networkd, which
         * otherwise drops what it did not configure, keeps them. */
        if (is_static(f->ip))
                hl_text_add(&t, "Address=%s\n", f->ip);
        if (strcmp(f->gw, "none") != 0)
                hl_text_add(&t, "Gateway=%s\n", f->gw);
        if (is_static(f->ip6))
                hl_text_add(&t, "Address=%s\n", f->ip6);
        if (strcmp(f->gw6, "none") != 0)
                hl_text_add(&t, "Gateway=%s\n", f->gw6);
        for (size_t i = 0; net->nameservers && net->nameservers[i]; i++)
                hl_text_add(&t, "DNS=%s\n", net->nameservers[i]);
        for (size_t i = 0; net->search && net->search[i]; i++)
                hl_text_add(&t, "Domains=%s\n", net->search[i]);
        return hl_text_take(&t);
}

/* A line of rcS that runs udhcpc ("/bin/udhcpc", "udhcpc -b …"). */
static bool runs_udhcpc(const char *l) {
        size_t n = strcspn(l, " \t");
        const char *base = l;

        for (const char *p = l; p < l + n; p++)
                if (*p == '/')
                        base = p + 1;
        return (size_t) (l + n - base) == 6 && strncmp(base, "udhcpc", 6) == 0;
}

char *guest_busybox_rcs(const char *old) {
        _cleanup_free_ char *copy = strdup(old ? old : "");
        struct hl_text t = {};
        bool placed = false;
        char *cursor = copy, *line;

        if (!copy)
                return NULL;
        while ((line = hl_next_line(&cursor))) {
                const char *l = line + strspn(line, " \t");

                if (runs_udhcpc(l) || strncmp(l, SCRIPT, strlen(SCRIPT)) == 0) {
                        /* udhcpc unconfigures eth0 before it asks: the static address would go. */
                        if (!placed)
                                hl_text_add(&t, SCRIPT "\n");
                        placed = true;
                        continue;
                }
                hl_text_add(&t, "%s\n", line);
        }
        if (!placed)
                hl_text_add(&t, "%s" SCRIPT "\n", t.len ? "" : "#!/bin/sh\n");
        return hl_text_take(&t);
}

char *guest_busybox_script(const struct guest_net *net) {
        struct hl_text t = {};

        hl_text_add(&t, "#!/bin/sh\n" HEADER "\n");
        hl_text_add(&t, "# Static addresses are set by liblxc as the container starts; this brings up the rest.\n");
        hl_text_add(&t, "ip link set lo up\n");
        hl_text_add(&t, "mkdir -p /var/run\n");
        for (size_t i = 0; i < net->n_ifaces; i++) {
                const struct guest_iface *f = &net->ifaces[i];

                hl_text_add(&t, "ip link set %s up\n", f->name);
                /* -b: on into the background at once when no lease comes, and renew. */
                if (strcmp(f->ip, "dhcp") == 0)
                        hl_text_add(&t, "udhcpc -b -S -i %s -p /var/run/udhcpc.%s.pid -x hostname:\"$(hostname)\"\n", f->name,
                               f->name);
        }
        return hl_text_take(&t);
}

char *guest_resolv_conf(const struct guest_net *net) {
        struct hl_text t = {};

        hl_text_add(&t, HEADER "\n");
        if (net->search) {
                hl_text_add(&t, "search");
                for (size_t i = 0; net->search[i]; i++)
                        hl_text_add(&t, " %s", net->search[i]);
                hl_text_add(&t, "\n");
        }
        for (size_t i = 0; net->nameservers && net->nameservers[i]; i++)
                hl_text_add(&t, "nameserver %s\n", net->nameservers[i]);
        return hl_text_take(&t);
}

static bool file_holds(const char *rootfs, const char *dir, const char *name, bool (*match)(const char *line)) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        char *save = NULL;

        if (inroot_open_dir(rootfs, dir, false, &fd, NULL) < 0 || inroot_read(fd, name, MAX_FILE, &text) < 0)
                return false;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (match(l + strspn(l, " \t")))
                        return true;
        return false;
}

static bool runs_hl_or_udhcpc(const char *l) {
        return runs_udhcpc(l) || strncmp(l, SCRIPT, strlen(SCRIPT)) == 0;
}

enum guest_flavour guest_detect(const char *rootfs) {
        if (file_holds(rootfs, "/etc/init.d", "rcS", runs_hl_or_udhcpc) && !inroot_exists(rootfs, "/etc/network/interfaces"))
                return GUEST_BUSYBOX;
        if (inroot_exists(rootfs, "/etc/network/interfaces") || inroot_exists(rootfs, "/usr/sbin/ifup") ||
            inroot_exists(rootfs, "/sbin/ifup"))
                return GUEST_IFUPDOWN;
        if (inroot_exists(rootfs, "/usr/lib/systemd/systemd-networkd") || inroot_exists(rootfs, "/lib/systemd/systemd-networkd"))
                return GUEST_NETWORKD;
        return GUEST_NONE;
}

const char *guest_flavour_to_string(enum guest_flavour f) {
        switch (f) {
        case GUEST_BUSYBOX:
                return "busybox";
        case GUEST_IFUPDOWN:
                return "ifupdown";
        case GUEST_NETWORKD:
                return "systemd-networkd";
        case GUEST_NONE:
                break;
        }
        return "none";
}

/* Reads name in dir, "" when it is not there. */
static int read_or_empty(int dir, const char *name, char **ret) {
        int r = inroot_read(dir, name, MAX_FILE, ret);

        if (r == -ENOENT) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        return r;
}

/* Writes text (which it takes, and frees) as name in dir. */
static int write_in(const char *rootfs, const char *dir, const char *name, char *owned_text, mode_t mode,
                    char **ret_error) {
        _cleanup_free_ char *text = owned_text;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *error = NULL;
        int r;

        if (!text)
                return -ENOMEM;
        r = inroot_open_dir(rootfs, dir, true, &fd, &error);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot write %s/%s: %s", dir, name, error ? error : strerror(-r));
        r = inroot_write(fd, name, text, mode);
        return r < 0 ? hl_fail(ret_error, r, "cannot write %s/%s in the container: %s", dir, name, strerror(-r)) : 0;
}

static int write_ifupdown(const char *rootfs, const struct guest_net *net, char **ret_error) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *old = NULL, *error = NULL;
        int r = inroot_open_dir(rootfs, "/etc/network", true, &fd, &error);

        if (r < 0)
                return hl_fail(ret_error, r, "cannot open /etc/network: %s", error ? error : strerror(-r));
        r = read_or_empty(fd, "interfaces", &old);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot read /etc/network/interfaces in the container: %s", strerror(-r));
        return write_in(rootfs, "/etc/network", "interfaces", guest_ifupdown(old, net), 0644, ret_error);
}

static int write_networkd(const char *rootfs, const struct guest_net *net, char **ret_error) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *error = NULL;
        DIR *d;
        struct dirent *de;
        int r = inroot_open_dir(rootfs, "/etc/systemd/network", true, &fd, &error);

        if (r < 0)
                return hl_fail(ret_error, r, "cannot open /etc/systemd/network: %s", error ? error : strerror(-r));
        /* Files of interfaces that are gone. */
        d = fdopendir(dup(fd));
        while (d && (de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (strncmp(de->d_name, "10-hl-", 6) == 0 && len > 14 && strcmp(de->d_name + len - 8, ".network") == 0 &&
                    !managed(net, de->d_name + 6, len - 14))
                        inroot_remove(fd, de->d_name);
        }
        if (d)
                closedir(d);
        for (size_t i = 0; i < net->n_ifaces; i++) {
                _cleanup_free_ char *name = hl_strdup_printf("10-hl-%s.network", net->ifaces[i].name);
                if (!name)
                        return -ENOMEM;
                r = write_in(rootfs, "/etc/systemd/network", name, guest_networkd(&net->ifaces[i], net), 0644, ret_error);
                if (r < 0)
                        return r;
        }
        /* Enabled, as Debian leaves it off. */
        if (net->n_ifaces && !inroot_exists(rootfs, "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service")) {
                _cleanup_close_ int wants = -1;
                const char *unit = inroot_exists(rootfs, "/usr/lib/systemd/system/systemd-networkd.service")
                                           ? "/usr/lib/systemd/system/systemd-networkd.service"
                                           : "/lib/systemd/system/systemd-networkd.service";

                _cleanup_free_ char *error2 = NULL;
                r = inroot_open_dir(rootfs, "/etc/systemd/system/multi-user.target.wants", true, &wants, &error2);
                if (r < 0 || (symlinkat(unit, wants, "systemd-networkd.service") < 0 && errno != EEXIST))
                        return hl_fail(ret_error, r < 0 ? r : -errno, "cannot enable systemd-networkd in the container: %s",
                                    error2 ? error2 : strerror(r < 0 ? -r : errno));
        }
        return 0;
}

static int write_busybox(const char *rootfs, const struct guest_net *net, char **ret_error) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *old = NULL, *error = NULL;
        int r;

        for (size_t i = 0; i < net->n_ifaces; i++)
                if (strcmp(net->ifaces[i].ip6, "dhcp") == 0)
                        return hl_fail(ret_error, -EOPNOTSUPP,
                                    "%s: ip6=dhcp needs a DHCPv6 client, and busybox containers have none: use "
                                    "ip6=auto or a static address", net->ifaces[i].name);
        r = write_in(rootfs, "/etc", "hl-network", guest_busybox_script(net), 0755, ret_error);
        if (r < 0)
                return r;
        r = inroot_open_dir(rootfs, "/etc/init.d", true, &fd, &error);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot open /etc/init.d: %s", error ? error : strerror(-r));
        r = read_or_empty(fd, "rcS", &old);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot read /etc/init.d/rcS in the container: %s", strerror(-r));
        return write_in(rootfs, "/etc/init.d", "rcS", guest_busybox_rcs(old), 0755, ret_error);
}

int guest_write(const char *rootfs, const char *spec, const char *old, char **ret_error) {
        struct guest_net net = {};
        enum guest_flavour flavour;
        int r;

        if (!*spec && !*old)
                return 0; /* never asked: the template's own configuration stays */
        r = guest_parse(spec, &net, ret_error);
        if (r < 0)
                return r;
        flavour = guest_detect(rootfs);
        switch (flavour) {
        case GUEST_BUSYBOX:
                r = write_busybox(rootfs, &net, ret_error);
                break;
        case GUEST_IFUPDOWN:
                r = write_ifupdown(rootfs, &net, ret_error);
                break;
        case GUEST_NETWORKD:
                r = write_networkd(rootfs, &net, ret_error);
                break;
        case GUEST_NONE:
                for (size_t i = 0; i < net.n_ifaces && r >= 0; i++)
                        if (!is_static(net.ifaces[i].ip) && strcmp(net.ifaces[i].ip, "none") != 0)
                                r = hl_fail(ret_error, -EOPNOTSUPP,
                                         "%s: ip=%s needs the container's init to run a DHCP client, and this root "
                                         "file system has neither ifupdown, systemd-networkd nor busybox's rcS",
                                         net.ifaces[i].name, net.ifaces[i].ip);
                break;
        }
        if (r >= 0 && (net.nameservers || net.search))
                r = write_in(rootfs, "/etc", "resolv.conf", guest_resolv_conf(&net), 0644, ret_error);
        guest_net_done(&net);
        return r;
}
