/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The container's own network configuration, written inside its root file system so that
 * whatever its init runs at boot (ifupdown, systemd-networkd, busybox's rcS) keeps what the
 * definition asks for: liblxc sets static addresses as the container starts; the guest's
 * configuration brings up DHCP where asked and leaves the static ones alone. See
 * docs/networking.md. */

#include <stddef.h>

struct guest_iface {
        char name[16];
        char ip[64], gw[64];   /* "none", "dhcp" or ADDRESS/PREFIX; "none" or ADDRESS */
        char ip6[64], gw6[64]; /* "none", "dhcp", "auto" or ADDRESS/PREFIX; "none" or ADDRESS */
};

struct guest_net {
        struct guest_iface *ifaces;
        size_t n_ifaces;
        char **nameservers;
        char **search;
};

enum guest_flavour {
        GUEST_NONE,     /* nothing hld knows: only liblxc's static addresses hold */
        GUEST_BUSYBOX,  /* lxc's busybox template: rcS runs udhcpc */
        GUEST_IFUPDOWN, /* /etc/network/interfaces: Debian, Ubuntu before netplan, Alpine */
        GUEST_NETWORKD, /* systemd-networkd */
};

/* Reads the settings' KEY_GUEST text ("iface eth0 ip=dhcp gw=none ip6=auto gw6=none",
 * "nameserver A", "search D"), checking every value again before it may reach a file in
 * the container. Errors name the line. */
int guest_parse(const char *spec, struct guest_net *ret, char **ret_error);
void guest_net_done(struct guest_net *net);

/* The files, as text (malloc'd); pure, for tests and fuzzing. */
/* /etc/network/interfaces with hld's block in place of the old one, and the stanzas of the
 * interfaces hld manages removed from the rest. */
char *guest_ifupdown(const char *old, const struct guest_net *net);
/* /etc/systemd/network/10-hl-NAME.network for one interface. */
char *guest_networkd(const struct guest_iface *iface, const struct guest_net *net);
/* The busybox template's /etc/init.d/rcS with its udhcpc line replaced by hld's script,
 * and that script. */
char *guest_busybox_rcs(const char *old);
char *guest_busybox_script(const struct guest_net *net);
/* /etc/resolv.conf from Nameserver= and SearchDomain=. */
char *guest_resolv_conf(const struct guest_net *net);

enum guest_flavour guest_detect(const char *rootfs);
const char *guest_flavour_to_string(enum guest_flavour f);

/* Writes spec into the root file system at rootfs, in place of what hld wrote there before
 * (old, "" = nothing: with both empty the template's own configuration is left alone).
 * Never follows a symlink the container holds. Blocks. */
int guest_write(const char *rootfs, const char *spec, const char *old, char **ret_error);
