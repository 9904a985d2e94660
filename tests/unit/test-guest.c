/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network configuration hld writes inside containers (daemon/guest.c), and the network
 * settings it gives liblxc (daemon/settings.c): text in, text out. */
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "settings.h"
#include "test.h"

static const char *const SPEC = "iface eth0 ip=dhcp gw=none ip6=auto gw6=none\n"
                                "iface eth1 ip=10.1.2.3/24 gw=10.1.2.1 ip6=fd00::3/64 gw6=fd00::1\n"
                                "nameserver 10.1.2.1\n"
                                "search lan";

TEST(spec_parses) {
        struct guest_net net = {};
        char *error = NULL;

        ASSERT_INT_EQ(guest_parse(SPEC, &net, &error), 0);
        ASSERT_INT_EQ(net.n_ifaces, 2);
        ASSERT_STR_EQ(net.ifaces[0].name, "eth0");
        ASSERT_STR_EQ(net.ifaces[0].ip, "dhcp");
        ASSERT_STR_EQ(net.ifaces[1].gw6, "fd00::1");
        ASSERT_STR_EQ(net.nameservers[0], "10.1.2.1");
        ASSERT_STR_EQ(net.search[0], "lan");
        guest_net_done(&net);
}

TEST(spec_values_are_checked_again) {
        static const char *const bad[] = {
                "iface eth0 ip=10.1.2.3/24\nrm -rf /",          /* a line of its own */
                "iface eth0 ip=10.1.2.3/24;reboot",             /* shell in a value */
                "iface ../x ip=dhcp",                           /* a path in a name */
                "iface eth0 ip=dhcp mtu=9000",                  /* unknown key */
                "nameserver 10.1.2.1 extra",
                "search a/b",
                "iface eth0 ip6=10.1.2.3/24",                   /* IPv4 as IPv6 */
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                struct guest_net net = {};
                char *error = NULL;

                ASSERT_TRUE(guest_parse(bad[i], &net, &error) < 0);
                ASSERT_TRUE(error && strstr(error, "network spec line"));
                free(error);
        }
}

TEST(ifupdown_replaces_its_interfaces_and_keeps_the_rest) {
        struct guest_net net = {};
        char *out, *again;
        const char *old = "# The loopback\n"
                          "auto lo eth0\n"
                          "iface lo inet loopback\n"
                          "\n"
                          "iface eth0 inet static\n"
                          "\taddress 192.168.1.5/24\n"
                          "\tgateway 192.168.1.1\n"
                          "\n"
                          "allow-hotplug eth9\n"
                          "iface eth9 inet dhcp\n"
                          "source /etc/network/interfaces.d/*\n";

        ASSERT_INT_EQ(guest_parse(SPEC, &net, NULL), 0);
        out = guest_ifupdown(old, &net);
        ASSERT_TRUE(out);
        /* The template's loopback, the other interface and source line stay. */
        ASSERT_TRUE(strstr(out, "auto lo\n"));
        ASSERT_TRUE(strstr(out, "iface lo inet loopback\n"));
        ASSERT_TRUE(strstr(out, "allow-hotplug eth9\niface eth9 inet dhcp\n"));
        ASSERT_TRUE(strstr(out, "source /etc/network/interfaces.d/*\n"));
        /* The old eth0 stanza and its options are gone. */
        ASSERT_TRUE(!strstr(out, "192.168.1.5"));
        ASSERT_TRUE(!strstr(out, "inet static"));
        /* hld's block: DHCP, SLAAC, and the static interface left to liblxc. */
        ASSERT_TRUE(strstr(out, "auto eth0\niface eth0 inet dhcp\niface eth0 inet6 auto\n"));
        ASSERT_TRUE(strstr(out, "auto eth1\niface eth1 inet manual\n"));
        ASSERT_TRUE(strstr(out, "iface eth1 inet6 manual\n"));
        /* Written again over itself, it is the same file: nothing piles up. */
        again = guest_ifupdown(out, &net);
        ASSERT_STR_EQ(again, out);
        free(again);
        /* No interfaces any more: the block goes, the rest stays. */
        guest_net_done(&net);
        again = guest_ifupdown(out, &net);
        ASSERT_TRUE(again && !strstr(again, "hl: begin") && !strstr(again, "eth0") && strstr(again, "iface eth9"));
        free(again);
        free(out);
}

TEST(networkd_names_static_addresses) {
        struct guest_net net = {};
        char *a, *b;

        ASSERT_INT_EQ(guest_parse(SPEC, &net, NULL), 0);
        a = guest_networkd(&net.ifaces[0], &net);
        b = guest_networkd(&net.ifaces[1], &net);
        ASSERT_TRUE(a && strstr(a, "Name=eth0\n") && strstr(a, "DHCP=ipv4\n") && strstr(a, "IPv6AcceptRA=yes\n"));
        ASSERT_TRUE(b && strstr(b, "DHCP=no\n") && strstr(b, "Address=10.1.2.3/24\n") && strstr(b, "Gateway=10.1.2.1\n"));
        ASSERT_TRUE(strstr(b, "Address=fd00::3/64\n") && strstr(b, "Gateway=fd00::1\n") && strstr(b, "DNS=10.1.2.1\n"));
        free(a);
        free(b);
        guest_net_done(&net);
}

TEST(busybox_rcs_loses_udhcpc) {
        struct guest_net net = {};
        char *rcs = guest_busybox_rcs("#!/bin/sh\n/bin/syslogd\n/bin/mount -a\n/bin/udhcpc\n"), *again, *script;

        ASSERT_STR_EQ(rcs, "#!/bin/sh\n/bin/syslogd\n/bin/mount -a\n/etc/hl-network\n");
        again = guest_busybox_rcs(rcs);
        ASSERT_STR_EQ(again, rcs);
        ASSERT_INT_EQ(guest_parse(SPEC, &net, NULL), 0);
        script = guest_busybox_script(&net);
        ASSERT_TRUE(script && strstr(script, "ip link set lo up\n"));
        ASSERT_TRUE(strstr(script, "udhcpc -b -S -i eth0 "));
        ASSERT_TRUE(!strstr(script, "-i eth1"));
        free(rcs);
        free(again);
        free(script);
        guest_net_done(&net);
}

TEST(resolv_conf) {
        struct guest_net net = {};
        char *r;

        ASSERT_INT_EQ(guest_parse(SPEC, &net, NULL), 0);
        r = guest_resolv_conf(&net);
        ASSERT_TRUE(r && strstr(r, "search lan\nnameserver 10.1.2.1\n"));
        free(r);
        guest_net_done(&net);
}

TEST(broadcast) {
        char b[32];

        ASSERT_INT_EQ(settings_ipv4_broadcast("10.1.2.3/24", b, sizeof(b)), 0);
        ASSERT_STR_EQ(b, "10.1.2.255");
        ASSERT_INT_EQ(settings_ipv4_broadcast("172.16.5.4/12", b, sizeof(b)), 0);
        ASSERT_STR_EQ(b, "172.31.255.255");
        ASSERT_INT_EQ(settings_ipv4_broadcast("10.0.0.1/32", b, sizeof(b)), 0);
        ASSERT_STR_EQ(b, "10.0.0.1");
        ASSERT_TRUE(settings_ipv4_broadcast("10.0.0.1", b, sizeof(b)) < 0);
}

static const char *value_of(const struct ct_settings *s, const char *key) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->items[i].key, key) == 0)
                        return s->items[i].value;
        return NULL;
}

TEST(derived_mac_is_stable_and_local) {
        const char *text = "[Container]\nTemplate=busybox\nNetwork=bridge=br0,ip=dhcp\nNetwork=bridge=br0,tag=7\n";
        struct hl_def *a = NULL, *b = NULL;
        struct ct_settings sa = {}, sb = {}, sc = {};
        const char *mac;
        unsigned first;

        ASSERT_INT_EQ(hl_def_parse("web", "web.conf", text, strlen(text), &a, NULL), 0);
        ASSERT_INT_EQ(hl_def_parse("db", "db.conf", text, strlen(text), &b, NULL), 0);
        ASSERT_INT_EQ(settings_for(a, &sa), 0);
        ASSERT_INT_EQ(settings_for(a, &sc), 0);
        ASSERT_INT_EQ(settings_for(b, &sb), 0);
        mac = value_of(&sa, "lxc.net.0.hwaddr");
        ASSERT_TRUE(mac && strlen(mac) == 17);
        ASSERT_INT_EQ(sscanf(mac, "%2x", &first), 1);
        ASSERT_INT_EQ(first & 3, 2); /* locally administered, unicast */
        ASSERT_STR_EQ(value_of(&sc, "lxc.net.0.hwaddr"), mac);
        ASSERT_TRUE(strcmp(value_of(&sb, "lxc.net.0.hwaddr"), mac) != 0);
        ASSERT_TRUE(strcmp(value_of(&sa, "lxc.net.1.hwaddr"), mac) != 0);
        ASSERT_STR_EQ(value_of(&sa, "lxc.net.1.veth.vlan.id"), "7");
        ASSERT_STR_EQ(value_of(&sa, KEY_GUEST), "iface eth0 ip=dhcp gw=none ip6=none gw6=none\n"
                                                "iface eth1 ip=none gw=none ip6=none gw6=none");
        settings_done(&sa);
        settings_done(&sb);
        settings_done(&sc);
        hl_def_free(a);
        hl_def_free(b);
}
