/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>

#include "hl-def.h"
#include "test.h"

static int parse(const char *name, const char *text, struct hl_def **ret, struct hl_def_error *err) {
        return hl_def_parse(name, "t.conf", text, strlen(text), ret, err);
}

/* Parses text that must fail and checks the "file:line: key: reason" it produces. */
#define ASSERT_PARSE_ERROR(text, expected)                                           \
        do {                                                                         \
                struct hl_def *_d = NULL;                                            \
                struct hl_def_error _e = {};                                         \
                char _buf[1024];                                                     \
                ASSERT_INT_EQ(parse("svc", text, &_d, &_e), -EINVAL);                \
                ASSERT_TRUE(_d == NULL);                                             \
                ASSERT_STR_EQ(hl_def_error_format(&_e, _buf, sizeof(_buf)), expected); \
        } while (0)

TEST(full_definition) {
        const char *text =
                "# the reverse proxy\n"
                "[Service]\n"
                "Description=Reverse proxy; with a # inside\n"
                "Requires=dns auth\n"
                "Requires=dns\n"
                "State=running\n"
                "\n"
                "[Container]\n"
                "Template=/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst\n"
                "Unprivileged=yes\n"
                "Cores=2\n"
                "Memory=512M\n"
                "Swap=256M\n"
                "Mount=/srv//proxy/:/data:ro\n"
                "Network=name=eth0,bridge=vmbr0,ip=192.168.1.10/24,gw=192.168.1.1\n"
                "Provision=/usr/bin/apt-get install -y nginx; echo done\n"
                "Environment=TZ=Europe/Berlin\n";
        struct hl_def *d = NULL;
        struct hl_def_error e = {};

        ASSERT_INT_EQ(parse("proxy", text, &d, &e), 0);
        ASSERT_STR_EQ(d->description, "Reverse proxy; with a # inside");
        ASSERT_INT_EQ(hl_strv_length(d->requires), 2);
        ASSERT_INT_EQ(d->memory, 512ULL << 20);
        ASSERT_INT_EQ(d->swap, 256ULL << 20);
        ASSERT_INT_EQ(d->cores, 2);
        ASSERT_TRUE(d->unprivileged);
        ASSERT_INT_EQ(d->n_mounts, 1);
        ASSERT_STR_EQ(d->mounts[0].source, "/srv/proxy");
        ASSERT_TRUE(d->mounts[0].read_only);
        ASSERT_INT_EQ(d->n_networks, 1);
        ASSERT_STR_EQ(d->networks[0].bridge, "vmbr0");
        ASSERT_STR_EQ(d->hostname, "proxy");
        ASSERT_STR_EQ(d->provision[0], "/usr/bin/apt-get install -y nginx; echo done");
        hl_def_free(d);
}

TEST(hash_ignores_formatting) {
        struct hl_def *a = NULL, *b = NULL;
        struct hl_def_error e = {};
        char ha[65], hb[65];

        ASSERT_INT_EQ(parse("x", "[Container]\nTemplate=busybox\nMemory=64M\n[Service]\nRequires=b a\n", &a, &e), 0);
        ASSERT_INT_EQ(parse("x", "# comment\n[Service]\nRequires = a\nRequires=b\n\n[Container]\n Memory = 65536K\nTemplate=busybox\n",
                            &b, &e), 0);
        ASSERT_INT_EQ(hl_def_hash(a, ha), 0);
        ASSERT_INT_EQ(hl_def_hash(b, hb), 0);
        ASSERT_STR_EQ(ha, hb);
        b->memory *= 2;
        ASSERT_INT_EQ(hl_def_hash(b, hb), 0);
        ASSERT_TRUE(strcmp(ha, hb) != 0);
        hl_def_free(a);
        hl_def_free(b);
}

TEST(errors_name_file_line_key) {
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nColour=red\n", "t.conf:3: Colour: unknown key");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMemory=12X\n",
                           "t.conf:3: Memory: \"12X\" is not a size (bytes, or a number with K, M, G or T)");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMemory=1M\n", "t.conf:3: Memory: \"1M\" is below the minimum of 16M");
        ASSERT_PARSE_ERROR("[Containers]\n", "t.conf:1: unknown section [Containers]: use [Service], [Container], [Health], [Restart], [Update], [Snapshot] or [Backup]");
        ASSERT_PARSE_ERROR("Template=busybox\n", "t.conf:1: Template: key outside of a section");
        ASSERT_PARSE_ERROR("[Service]\nTemplate=busybox\n", "t.conf:2: Template: unknown key in [Service]: it belongs in [Container]");
        ASSERT_PARSE_ERROR("[Service]\nDescription=x\n", "t.conf: Template: [Container] needs a Template=");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nSwap=1G\n", "t.conf:3: Swap: Swap= needs Memory=");
        ASSERT_PARSE_ERROR("[Service]\nRequires=../etc\n[Container]\nTemplate=busybox\n",
                           "t.conf:2: Requires: \"../etc\" is not a valid service name");
        ASSERT_PARSE_ERROR("[Service]\nRequires=svc\n", "t.conf:2: Requires: a service cannot require itself");
        ASSERT_PARSE_ERROR("[Service]\nState=paused\n", "t.conf:2: State: \"paused\" is not a state: use running or stopped");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=../x\n",
                           "t.conf:2: Template: \"../x\" is not a template name, an absolute path or clone:NAME");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=/a/../b.tar\n", "t.conf:2: Template: \"/a/../b.tar\" is not a normalized absolute path");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMount=/srv/../etc:/data\n",
                           "t.conf:3: Mount: source \"/srv/../etc\" is not an absolute path without \".\", \"..\" or spaces "
                           "(Mount=SOURCE:TARGET[:ro|rw|backup,…])");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMount=/srv:/\n",
                           "t.conf:3: Mount: target \"/\" is not an absolute path without \".\", \"..\" or spaces, other "
                           "than / (Mount=SOURCE:TARGET[:ro|rw|backup,…])");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMount=/a:b:/data\n",
                           "t.conf:3: Mount: target \"b\" is not an absolute path without \".\", \"..\" or spaces, other "
                           "than / (Mount=SOURCE:TARGET[:ro|rw|backup,…])");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMount=/a:/b:rx\n",
                           "t.conf:3: Mount: \"rx\" is not a mount option: use ro, rw or backup (Mount=SOURCE:TARGET[:ro|rw|backup,…])");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMount=/a:/b:ro,rw\n",
                           "t.conf:3: Mount: mount option \"rw\" is given twice, or with its opposite "
                           "(Mount=SOURCE:TARGET[:ro|rw|backup,…])");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nMount=/a:/b:backup,backup\n",
                           "t.conf:3: Mount: mount option \"backup\" is given twice, or with its opposite "
                           "(Mount=SOURCE:TARGET[:ro|rw|backup,…])");
        {
                struct hl_def *m = NULL;
                ASSERT_INT_EQ(parse("m", "[Container]\nTemplate=busybox\nMount=/srv/a:/a:backup\nMount=/srv/b:/b:ro,backup\n"
                                         "Mount=/srv/c:/c\n", &m, &(struct hl_def_error) {}), 0);
                ASSERT_TRUE(m->mounts[0].backup && !m->mounts[0].read_only);
                ASSERT_TRUE(m->mounts[1].backup && m->mounts[1].read_only);
                ASSERT_TRUE(!m->mounts[2].backup);
                hl_def_free(m);
        }
        ASSERT_PARSE_ERROR("[Container]\nTemplate=local:iso/debian.iso\n",
                           "t.conf:2: Template: \"local:iso/debian.iso\" is not a template volume of a Proxmox storage "
                           "(STORAGE:vztmpl/FILE)");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=local:vztmpl/../../etc/shadow\n",
                           "t.conf:2: Template: \"local:vztmpl/../../etc/shadow\" is not a template volume of a Proxmox "
                           "storage (STORAGE:vztmpl/FILE)");
        {
                struct hl_def *v = NULL;
                const char *arg;
                ASSERT_INT_EQ(parse("v", "[Container]\nTemplate=local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst\n",
                                    &v, &(struct hl_def_error) {}), 0);
                ASSERT_INT_EQ(hl_def_template_kind(v, &arg), HL_TEMPLATE_STORAGE);
                ASSERT_STR_EQ(arg, "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst");
                hl_def_free(v);
        }
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nFeatures=nesting,mount=nfs\n",
                           "t.conf:3: Features: mount: hl writes no AppArmor profile or seccomp rules of its own for it; "
                           "what the container may do there follows its privileges");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nFeatures=nesting=yes\n",
                           "t.conf:3: Features: nesting=yes: a feature is 1 or 0");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nFeatures=docker\n",
                           "t.conf:3: Features: \"docker\" is not a feature: use nesting, fuse or keyctl");
        {
                struct hl_def *f = NULL;
                ASSERT_INT_EQ(parse("f", "[Container]\nTemplate=busybox\nFeatures=nesting=1,keyctl\nFeatures=fuse,keyctl=0\n",
                                    &f, &(struct hl_def_error) {}), 0);
                ASSERT_TRUE(f->nesting && f->fuse && !f->keyctl);
                hl_def_free(f);
        }
        ASSERT_PARSE_ERROR("[Container]\nTemplate=..\n",
                           "t.conf:2: Template: \"..\" is not a template name, an absolute path or clone:NAME");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nEnvironment=A=1\rlxc.hook.pre-start = /tmp/x\n",
                           "t.conf:3: Environment: the value holds the control character 0x0d: values cannot hold "
                           "control characters (tab, carriage return, escape …)");
        ASSERT_PARSE_ERROR("[Service]\nDescription=a\x1b[31mred\n[Container]\nTemplate=busybox\n",
                           "t.conf:2: Description: the value holds the control character 0x1b: values cannot hold "
                           "control characters (tab, carriage return, escape …)");
        ASSERT_PARSE_ERROR("[Service]\nDescription=a\x7f\n[Container]\nTemplate=busybox\n",
                           "t.conf:2: Description: the value holds the control character 0x7f: values cannot hold "
                           "control characters (tab, carriage return, escape …)");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nNetwork=name=eth0\n", "t.conf:3: Network: bridge= is required");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nNetwork=bridge=br0,ip=300.1.1.1/24\n",
                           "t.conf:3: Network: ip \"300.1.1.1/24\" is not IPv4 ADDRESS/PREFIX or dhcp");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nCores=0\n", "t.conf:3: Cores: \"0\" is not a number of cores between 1 and 1024");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\nEnvironment=1X=2\n", "t.conf:3: Environment: \"1X\" is not a variable name");
        ASSERT_PARSE_ERROR("[Container]\nTemplate=busybox\njunk\n", "t.conf:3: \"junk\" is not KEY=VALUE, a [Section] or a comment");
        ASSERT_PARSE_ERROR("[Container\n", "t.conf:1: section header \"[Container\" has no closing ']'");
}

#define NET(lines) "[Container]\nTemplate=busybox\n" lines

TEST(network_errors) {
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,ip=dhcp,gw=10.0.0.1\n"),
                           "t.conf:3: Network: gw= needs a static ip= (with ip=dhcp the DHCP server names the gateway)");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,ip=10.0.0.5/24,gw=10.0.1.1\n"),
                           "t.conf:3: Network: gw 10.0.1.1 is not on the network of ip 10.0.0.5/24: the container "
                           "could not reach it");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,ip6=fd00::5/64,gw6=fd01::1\n"),
                           "t.conf:3: Network: gw6 fd01::1 is not on the network of ip6 fd00::5/64: the container "
                           "could not reach it");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,ip6=10.0.0.5/24\n"),
                           "t.conf:3: Network: ip6 \"10.0.0.5/24\" is not IPv6 ADDRESS/PREFIX, dhcp or auto");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,ip=10.0.0.5/24,gw=10.0.0.1\n"
                               "Network=bridge=br1,ip=10.1.0.5/24,gw=10.1.0.1\n"),
                           "t.conf:4: Network: gw= is already given on eth0: a container has one default route");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,tag=4095\n"),
                           "t.conf:3: Network: tag \"4095\" is not a VLAN id between 1 and 4094");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,name=lo\n"),
                           "t.conf:3: Network: name \"lo\" is the container's loopback, which every container has");
        ASSERT_PARSE_ERROR(NET("Network=bridge=br0,vlan=3\n"),
                           "t.conf:3: Network: unknown network option \"vlan\": use name, bridge, ip, gw, ip6, gw6, "
                           "hwaddr, mtu or tag");
        ASSERT_PARSE_ERROR(NET("Nameserver=dns.lan\n"), "t.conf:3: Nameserver: \"dns.lan\" is not an IP address");
        ASSERT_PARSE_ERROR(NET("SearchDomain=a b\n"), "t.conf:3: SearchDomain: \"a b\" is not a domain name");
        ASSERT_PARSE_ERROR(NET("BootTimeout=forever\n"), "t.conf:3: BootTimeout: \"forever\" is not a duration such as 500ms, 10s, 5m or 1h (at most a day)");
}

TEST(network_keys_parse) {
        const char *text = NET("Network=bridge=br0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=fd00::5/64,tag=12\n"
                               "Network=bridge=br0,name=lan1,ip=dhcp,ip6=auto\n"
                               "Network=bridge=br1,ip=fd00:1::5/64,gw=fd00:1::1\n"
                               "Nameserver=10.0.0.1\nNameserver=fd00::1\nSearchDomain=lan\nBootTimeout=30s\n");
        _cleanup_(hl_def_freep) struct hl_def *d = NULL;
        struct hl_def_error e = {};

        if (hl_def_parse("n", "t.conf", text, strlen(text), &d, &e) < 0) {
                char buf[512];
                fprintf(stderr, "%s\n", hl_def_error_format(&e, buf, sizeof(buf)));
        }
        ASSERT_TRUE(d);
        ASSERT_INT_EQ(d->n_networks, 3);
        ASSERT_STR_EQ(d->networks[0].ip6, "fd00::5/64");
        ASSERT_TRUE(d->networks[0].gw6 == NULL);
        ASSERT_INT_EQ(d->networks[0].tag, 12);
        ASSERT_STR_EQ(d->networks[1].name, "lan1");
        ASSERT_STR_EQ(d->networks[1].ip6, "auto");
        /* An IPv6 address under ip= and gw= is taken as ip6= and gw6=. */
        ASSERT_TRUE(d->networks[2].ip == NULL);
        ASSERT_STR_EQ(d->networks[2].ip6, "fd00:1::5/64");
        ASSERT_STR_EQ(d->networks[2].gw6, "fd00:1::1");
        ASSERT_STR_EQ(d->nameservers[1], "fd00::1");
        ASSERT_STR_EQ(d->search[0], "lan");
        ASSERT_INT_EQ(d->boot_timeout_ms, 30000);
}

#define HEALTH(lines) "[Container]\nTemplate=busybox\n[Health]\n" lines

TEST(health_check_errors) {
        ASSERT_PARSE_ERROR(HEALTH("Check=tcp 0\n"), "t.conf:4: Check: port \"0\" is not between 1 and 65535");
        ASSERT_PARSE_ERROR(HEALTH("Check=tcp 70000\n"), "t.conf:4: Check: port \"70000\" is not between 1 and 65535");
        ASSERT_PARSE_ERROR(HEALTH("Check=http https://127.0.0.1/\n"),
                           "t.conf:4: Check: \"https://127.0.0.1/\" is not an http:// URL");
        ASSERT_PARSE_ERROR(HEALTH("Check=http http://example.com/\n"),
                           "t.conf:4: Check: host \"example.com\" must be an IP address or localhost");
        ASSERT_PARSE_ERROR(HEALTH("Check=http http://127.0.0.1/ 99\n"),
                           "t.conf:4: Check: status \"99\" is not between 100 and 599");
        ASSERT_PARSE_ERROR(HEALTH("Check=icmp 1.2.3.4\n"),
                           "t.conf:4: Check: \"icmp\" is not a kind of check: use exec, tcp, http, dns or ping");
        ASSERT_PARSE_ERROR(HEALTH("Check=ping\n"), "t.conf:4: Check: use ping ADDRESS: what the container must reach");
        ASSERT_PARSE_ERROR(HEALTH("Check=ping router.lan\n"), "t.conf:4: Check: \"router.lan\" is not an IP address");
        ASSERT_PARSE_ERROR(HEALTH("Check=exec\n"), "t.conf:4: Check: exec needs a command");
        ASSERT_PARSE_ERROR(HEALTH("Check=exec /bin/echo 'open\n"), "t.conf:4: Check: unterminated quote");
        ASSERT_PARSE_ERROR(HEALTH("Check=dns bad..name\n"), "t.conf:4: Check: \"bad..name\" is not a DNS name");
        ASSERT_PARSE_ERROR(HEALTH("Check=dns example.com BOGUS\n"),
                           "t.conf:4: Check: \"BOGUS\" is not a query type (A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT) or "
                           "noerror/nxdomain");
        ASSERT_PARSE_ERROR(HEALTH("Timeout=50ms\n"), "t.conf:4: Timeout: the timeout must be at least 100ms");
        ASSERT_PARSE_ERROR(HEALTH("Retries=0\n"), "t.conf:4: Retries: \"0\" is not a number from 1 to 100");
        ASSERT_PARSE_ERROR(HEALTH("Interval=soon\n"),
                           "t.conf:4: Interval: \"soon\" is not a duration such as 500ms, 10s, 5m or 1h (at most a day)");
}

TEST(health_checks_parse) {
        struct hl_def *d = NULL;
        struct hl_def_error e = {};

        ASSERT_INT_EQ(parse("web", HEALTH("Check=http http://[::1]:8080/health\nCheck=tcp 53 10.0.0.1\n"
                                          "Check=dns example.com AAAA\nCheck=exec /bin/sh -c 'test -e /run/ok'\n"),
                            &d, &e), 0);
        ASSERT_INT_EQ(d->health.n_checks, 4);
        ASSERT_STR_EQ(d->health.checks[0].address, "::1");
        ASSERT_INT_EQ(d->health.checks[0].port, 8080);
        ASSERT_STR_EQ(d->health.checks[0].path, "/health");
        ASSERT_STR_EQ(d->health.checks[1].address, "10.0.0.1");
        ASSERT_INT_EQ(d->health.checks[2].type, 28);
        ASSERT_STR_EQ(d->health.checks[3].argv[2], "test -e /run/ok");
        ASSERT_INT_EQ(d->health.interval_ms, 30000);
        hl_def_free(d);
}

/* What systemd accepts in its units is accepted here too. */
TEST(systemd_spellings) {
        struct hl_def *d = NULL;
        struct hl_def_error e = {};

        ASSERT_INT_EQ(parse("svc", "\xef\xbb\xbf[Service]\r\nDescription=edited on Windows\r\n[Container]\r\n"
                                   "Template=busybox\r\nMemory=1.5G\r\nSwap=512 M\r\n"
                                   "[Restart]\nRestartSec=1m 30s\nRestartMaxDelaySec=1.5min\n"
                                   "[Health]\nInterval=2.5s\nTimeout=1s\n",
                            &d, &e), 0);
        ASSERT_STR_EQ(d->description, "edited on Windows");
        ASSERT_INT_EQ(d->memory, 3ULL << 29);
        ASSERT_INT_EQ(d->swap, 512ULL << 20);
        ASSERT_INT_EQ(d->restart.restart_sec_ms, 90000);
        ASSERT_INT_EQ(d->restart.restart_max_delay_ms, 90000);
        ASSERT_INT_EQ(d->health.interval_ms, 2500);
        hl_def_free(d);
}

TEST(requires_remember_their_lines) {
        struct hl_def *d = NULL;
        struct hl_def_error e = {};

        ASSERT_INT_EQ(parse("svc", "[Service]\nRequires=a b\n\nRequires=c a\n[Container]\nTemplate=busybox\n", &d, &e), 0);
        ASSERT_INT_EQ(hl_strv_length(d->requires), 3);
        ASSERT_INT_EQ(d->requires_lines[0], 2);
        ASSERT_INT_EQ(d->requires_lines[1], 2);
        ASSERT_INT_EQ(d->requires_lines[2], 4);
        hl_def_free(d);
}

TEST(bad_names_and_bytes) {
        struct hl_def *d = NULL;
        struct hl_def_error e = {};
        char long_name[80];

        memset(long_name, 'a', 64);
        long_name[64] = 0;
        ASSERT_INT_EQ(hl_def_parse("a/b", "a/b.conf", "", 0, &d, &e), -EINVAL);
        ASSERT_INT_EQ(hl_def_parse("..", "...conf", "", 0, &d, &e), -EINVAL);
        ASSERT_INT_EQ(hl_def_parse(long_name, "x.conf", "", 0, &d, &e), -EINVAL);
        ASSERT_INT_EQ(hl_def_parse("x", "x.conf", "[Service]\0x", 11, &d, &e), -EINVAL);
        ASSERT_STR_EQ(e.message, "file contains a NUL byte");
        ASSERT_INT_EQ(hl_def_parse("x", "x.conf", "[Service]\n\nDescription=a\0b\n", 26, &d, &e), -EINVAL);
        ASSERT_INT_EQ(e.line, 3);
        ASSERT_INT_EQ(hl_def_parse("x", "x.conf", "[Service]\nDescription=\xff\n", 24, &d, &e), -EINVAL);
        ASSERT_STR_EQ(e.message, "file is not valid UTF-8");
        ASSERT_TRUE(d == NULL);
}

static struct hl_def *def_requiring(const char *name, const char *requires) {
        char text[1024];
        struct hl_def *d = NULL;
        struct hl_def_error e = {};

        snprintf(text, sizeof(text), "[Service]\nRequires=%s\n[Container]\nTemplate=busybox\n", requires);
        if (parse(name, text, &d, &e) < 0)
                return NULL;
        return d;
}

TEST(order_and_cycles) {
        struct hl_def *defs[4];
        size_t order[4];
        struct hl_def_error e = {};

        defs[0] = def_requiring("proxy", "dns");
        defs[1] = def_requiring("media", "proxy");
        defs[2] = def_requiring("dns", "");
        defs[3] = def_requiring("db", "external");
        ASSERT_INT_EQ(hl_def_order(defs, 4, order, &e), 0);
        ASSERT_STR_EQ(defs[order[0]]->name, "dns");
        /* Independent services keep their input order: db is ready in the first pass. */
        ASSERT_STR_EQ(defs[order[1]]->name, "db");
        ASSERT_STR_EQ(defs[order[2]]->name, "proxy");
        ASSERT_STR_EQ(defs[order[3]]->name, "media");
        for (int i = 0; i < 4; i++)
                hl_def_free(defs[i]);

        defs[0] = def_requiring("a", "b");
        defs[1] = def_requiring("b", "c");
        defs[2] = def_requiring("c", "a");
        defs[3] = def_requiring("d", "");
        ASSERT_INT_EQ(hl_def_order(defs, 4, order, &e), -ELOOP);
        ASSERT_STR_EQ(e.message, "dependency cycle: a -> b -> c -> a");
        for (int i = 0; i < 4; i++)
                hl_def_free(defs[i]);
}

/* The passes hl_def_order is defined by, written the slow way: the linear version must
 * give the same order on any graph. */
static void naive_order(struct hl_def *const *defs, size_t n, size_t *order) {
        bool placed[64] = {};
        size_t count = 0;

        while (count < n)
                for (size_t i = 0; i < n; i++) {
                        bool ready = !placed[i];
                        for (char **r = defs[i]->requires; ready && r && *r; r++)
                                for (size_t j = 0; j < n; j++)
                                        if (strcmp(defs[j]->name, *r) == 0 && !placed[j])
                                                ready = false;
                        if (ready) {
                                placed[i] = true;
                                order[count++] = i;
                        }
                }
}

TEST(order_matches_passes_on_random_graphs) {
        unsigned seed = 12345;

        for (int round = 0; round < 200; round++) {
                struct hl_def *defs[40];
                size_t order[40], expected[40], n = 1 + (size_t) (round % 40);
                size_t rank[40];
                struct hl_def_error e = {};

                /* A random DAG: services are ranked, and each may require lower ranks. */
                for (size_t i = 0; i < n; i++)
                        rank[i] = i;
                for (size_t i = n; i > 1; i--) {
                        size_t j = (seed = seed * 1103515245 + 12345) % i, t = rank[i - 1];
                        rank[i - 1] = rank[j];
                        rank[j] = t;
                }
                for (size_t i = 0; i < n; i++) {
                        char name[16], requires[512] = "";
                        for (size_t j = 0; j < n; j++)
                                if (rank[j] < rank[i] && ((seed = seed * 1103515245 + 12345) >> 16) % 4 == 0) {
                                        char dep[20];
                                        snprintf(dep, sizeof(dep), " s%zu", j);
                                        strcat(requires, dep);
                                }
                        snprintf(name, sizeof(name), "s%zu", i);
                        defs[i] = def_requiring(name, requires);
                        ASSERT_TRUE(defs[i] != NULL);
                }
                ASSERT_INT_EQ(hl_def_order(defs, n, order, &e), 0);
                naive_order(defs, n, expected);
                for (size_t i = 0; i < n; i++)
                        ASSERT_INT_EQ(order[i], expected[i]);
                for (size_t i = 0; i < n; i++)
                        hl_def_free(defs[i]);
        }
}

TEST(order_of_a_long_chain) {
        enum { N = 5000 };
        struct hl_def **defs = calloc(N, sizeof(*defs));
        size_t *order = calloc(N, sizeof(*order));
        struct hl_def_error e = {};

        ASSERT_TRUE(defs && order);
        /* s0 requires s1 requires s2 ...: the input is the reverse of the order. */
        for (size_t i = 0; i < N; i++) {
                char name[16], requires[16] = "";
                snprintf(name, sizeof(name), "s%zu", i);
                if (i + 1 < N)
                        snprintf(requires, sizeof(requires), "s%zu", i + 1);
                defs[i] = def_requiring(name, requires);
                ASSERT_TRUE(defs[i] != NULL);
        }
        ASSERT_INT_EQ(hl_def_order(defs, N, order, &e), 0);
        for (size_t i = 0; i < N; i++)
                ASSERT_INT_EQ(order[i], N - 1 - i);
        for (size_t i = 0; i < N; i++)
                hl_def_free(defs[i]);
        free(defs);
        free(order);
}

/* Golden files: every data/NAME.conf parses and its canonical JSON equals data/NAME.ok. */
TEST(golden) {
        const char *dir = getenv("HL_TEST_DATA");
        DIR *d;
        struct dirent *de;
        int checked = 0;

        ASSERT_TRUE(dir != NULL);
        d = opendir(dir);
        ASSERT_TRUE(d != NULL);
        while ((de = readdir(d))) {
                char path[4096], name[256], *text = NULL, *expected = NULL, *got;
                size_t len = strlen(de->d_name), tlen = 0, elen = 0;
                struct hl_def *def = NULL;
                struct hl_def_error e = {};
                FILE *f;

                if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
                        continue;
                snprintf(name, sizeof(name), "%.*s", (int) len - 5, de->d_name);
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                f = fopen(path, "re");
                ASSERT_TRUE(f && getdelim(&text, &tlen, 0, f) >= 0);
                fclose(f);
                snprintf(path, sizeof(path), "%s/%s.ok", dir, name);
                f = fopen(path, "re");
                ASSERT_TRUE(f && getdelim(&expected, &elen, 0, f) >= 0);
                fclose(f);
                if (hl_def_parse(name, de->d_name, text, strlen(text), &def, &e) < 0) {
                        fprintf(stderr, "%s: %s: %s\n", de->d_name, e.key, e.message);
                        ASSERT_TRUE(false);
                }
                {
                        json_t *j = hl_def_to_json(def);
                        got = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
                        json_decref(j);
                }
                /* The .ok file ends with a newline, the dump does not. */
                if (strncmp(got, expected, strlen(got)) != 0 || strcmp(expected + strlen(got), "\n") != 0) {
                        fprintf(stderr, "%s: canonical form differs from %s.ok:\n%s\n", de->d_name, name, got);
                        ASSERT_TRUE(false);
                }
                free(got);
                free(text);
                free(expected);
                hl_def_free(def);
                checked++;
        }
        closedir(d);
        ASSERT_TRUE(checked >= 2);
}

/* Every error of a file, as a compiler reports them, each at its line. */
TEST(every_error_of_a_file) {
        struct hl_errors errors = {};
        struct hl_def *d = NULL;
        const char *text = "[Service]\nDescripton=typo\n[Container]\nTemplate=busybox\nMemory=12X\nCores=zero\n"
                           "[Helth]\nCheck=tcp 80\n";
        char buf[1024];

        ASSERT_INT_EQ(hl_def_parse_all("svc", "t.conf", text, strlen(text), &d, &errors), -EINVAL);
        ASSERT_TRUE(d == NULL);
        ASSERT_INT_EQ(errors.n, 4);
        ASSERT_STR_EQ(hl_def_error_format(&errors.items[0], buf, sizeof(buf)), "t.conf:2: Descripton: unknown key");
        ASSERT_INT_EQ(errors.items[1].line, 5);
        ASSERT_STR_EQ(errors.items[1].key, "Memory");
        ASSERT_INT_EQ(errors.items[2].line, 6);
        ASSERT_STR_EQ(errors.items[2].key, "Cores");
        /* A section that is not one is one error, not one per key in it. */
        ASSERT_STR_EQ(hl_def_error_format(&errors.items[3], buf, sizeof(buf)),
                      "t.conf:7: unknown section [Helth]: use [Service], [Container], [Health], [Restart], [Update], [Snapshot] or [Backup]");
        hl_errors_done(&errors);

        /* And the checks of the whole file that have no line come after the lines'. */
        text = "[Container]\nMemory=1M\nSwap=1G\n";
        ASSERT_INT_EQ(hl_def_parse_all("svc", "t.conf", text, strlen(text), &d, &errors), -EINVAL);
        ASSERT_INT_EQ(errors.n, 2);
        ASSERT_STR_EQ(errors.items[0].key, "Memory");
        ASSERT_STR_EQ(hl_def_error_format(&errors.items[1], buf, sizeof(buf)), "t.conf: Template: [Container] needs a Template=");
        hl_errors_done(&errors);
}

TEST(update_section) {
        const char *text = NET("[Update]\nExec=apt-get update\nExec=apt-get -y upgrade\nRestart=yes\nHealthTimeout=90s\n");
        const char *none = NET("");
        _cleanup_(hl_def_freep) struct hl_def *d = NULL, *n = NULL;
        _cleanup_free_ char *with = NULL, *without = NULL;
        char h1[65], h2[65];

        ASSERT_INT_EQ(hl_def_parse("n", "t.conf", text, strlen(text), &d, NULL), 0);
        ASSERT_INT_EQ(hl_strv_length(d->update.exec), 2);
        ASSERT_STR_EQ(d->update.exec[1], "apt-get -y upgrade");
        ASSERT_TRUE(d->update.restart);
        ASSERT_INT_EQ(d->update.health_timeout_ms, 90000);
        ASSERT_INT_EQ(hl_def_parse("n", "t.conf", none, strlen(none), &n, NULL), 0);
        ASSERT_TRUE(n->update.exec == NULL && !n->update.restart && n->update.health_timeout_ms == 120000);
        /* A definition without [Update] keeps the hash it had before the section existed. */
        with = hl_def_canonical(d);
        without = hl_def_canonical(n);
        ASSERT_TRUE(with && strstr(with, "\"update\"") && without && !strstr(without, "update"));
        ASSERT_INT_EQ(hl_def_hash(d, h1), 0);
        ASSERT_INT_EQ(hl_def_hash(n, h2), 0);
        ASSERT_TRUE(strcmp(h1, h2) != 0);
        ASSERT_PARSE_ERROR(NET("[Update]\nRestart=maybe\n"), "t.conf:4: Restart: \"maybe\" is not a boolean: use yes or no");
        ASSERT_PARSE_ERROR(NET("[Update]\nHealthTimeout=2d\n"),
                           "t.conf:4: HealthTimeout: \"2d\" is not a duration such as 500ms, 10s, 5m or 1h (at most a day)");
        ASSERT_PARSE_ERROR(NET("[Update]\nCheck=tcp 1\n"), "t.conf:4: Check: unknown key in [Update]: it belongs in [Health]");
}

TEST(snapshot_section) {
        const char *text = NET("[Snapshot]\nSchedule=Mon..Fri 03:00\nKeep=keep-weekly=4, keep-last=3\n");
        _cleanup_(hl_def_freep) struct hl_def *d = NULL;
        _cleanup_free_ char *json = NULL;

        ASSERT_INT_EQ(hl_def_parse("n", "t.conf", text, strlen(text), &d, NULL), 0);
        ASSERT_STR_EQ(d->snapshots.schedule, "Mon..Fri 03:00");
        ASSERT_STR_EQ(d->snapshots.keep_text, "keep-last=3,keep-weekly=4");
        ASSERT_INT_EQ(d->snapshots.keep.count[HL_KEEP_LAST], 3);
        ASSERT_INT_EQ(d->snapshots.calendar.weekdays, 0x1f);
        json = hl_def_canonical(d);
        ASSERT_TRUE(json && strstr(json, "\"snapshot\":{\"keep\":\"keep-last=3,keep-weekly=4\",\"schedule\":\"Mon..Fri 03:00\"}"));
        ASSERT_PARSE_ERROR(NET("[Snapshot]\nSchedule=at noon\n"),
                           "t.conf:4: Schedule: \"at noon\" is not a schedule: use hourly, daily, weekly, monthly, yearly, "
                           "or [WEEKDAYS] [HH:MM[:SS]] (Mon..Fri 03:00, Sun 02:30, *:0/15)");
        ASSERT_PARSE_ERROR(NET("[Snapshot]\nKeep=keep-last=0\n"), "t.conf:4: Keep: keep-last needs a count from 1 to 100000");
}

/* [Service] Host=: checked from the node, never run. */
TEST(host_service) {
        const char *text = "[Service]\nDescription=the database VM\nHost=192.168.1.20\n[Health]\nCheck=tcp 5432\n"
                           "Check=ping\nCheck=dns db.lan\nCheck=http http://nas.lan:5000/ 200\nCheck=tcp 53 192.168.1.1\n"
                           "Check=dns db.lan @resolver\n";
        _cleanup_(hl_def_freep) struct hl_def *d = NULL;
        _cleanup_free_ char *json = NULL;
        struct hl_errors errors = {};
        const char *arg;
        char buf[1024];

        ASSERT_INT_EQ(hl_def_parse("db-vm", "t.conf", text, strlen(text), &d, NULL), 0);
        ASSERT_STR_EQ(d->host, "192.168.1.20");
        ASSERT_TRUE(d->template_name == NULL);
        ASSERT_INT_EQ(hl_def_template_kind(d, &arg), HL_TEMPLATE_NONE);
        ASSERT_INT_EQ(d->health.n_checks, 6);
        /* What a check names is what it reaches; the rest goes to the host. */
        ASSERT_STR_EQ(d->health.checks[0].address, "192.168.1.20");
        ASSERT_INT_EQ(d->health.checks[1].kind, HL_CHECK_PING);
        ASSERT_STR_EQ(d->health.checks[1].address, "192.168.1.20");
        ASSERT_STR_EQ(d->health.checks[2].address, "192.168.1.20");
        ASSERT_STR_EQ(d->health.checks[3].address, "192.168.1.20");
        ASSERT_STR_EQ(d->health.checks[3].host, "nas.lan");
        ASSERT_INT_EQ(d->health.checks[3].port, 5000);
        ASSERT_STR_EQ(d->health.checks[4].address, "192.168.1.1");
        ASSERT_TRUE(d->health.checks[5].address == NULL && d->health.checks[5].ask_resolver);
        json = hl_def_canonical(d);
        ASSERT_TRUE(json && strstr(json, "\"host\":\"192.168.1.20\"") && !strstr(json, "\"container\"") &&
                    !strstr(json, "\"restart\""));

        /* Host= may come after the checks: they are read once the file is. */
        text = "[Health]\nCheck=ping\n[Service]\nHost=fd00::20\n";
        hl_def_free(TAKE_PTR(d));
        ASSERT_INT_EQ(hl_def_parse("nas", "t.conf", text, strlen(text), &d, NULL), 0);
        ASSERT_STR_EQ(d->health.checks[0].address, "fd00::20");

        ASSERT_PARSE_ERROR("[Service]\nHost=nas.lan\n",
                           "t.conf:2: Host: \"nas.lan\" is not an IP address (a Host= service is checked at its address)");
        ASSERT_PARSE_ERROR("[Service]\nHost=10.0.0.5/24\n",
                           "t.conf:2: Host: \"10.0.0.5/24\" is not an IP address (a Host= service is checked at its address)");
        ASSERT_PARSE_ERROR("[Service]\nHost=10.0.0.5\n[Health]\nCheck=exec /bin/true\n",
                           "t.conf:4: Check: exec runs a command in a container, and a Host= service has none: use tcp, "
                           "http, dns or ping");
        ASSERT_PARSE_ERROR("[Service]\nHost=10.0.0.5\n[Health]\nCheck=http http://bad_host!/\n",
                           "t.conf:4: Check: host \"bad_host!\" must be an IP address or localhost or a DNS name");

        /* Everything only a container has: each an error at its line, in line order. */
        text = "[Service]\nHost=10.0.0.5\nState=stopped\nRequires=db\n[Health]\nCheck=tcp 0\n[Container]\n"
               "Template=busybox\n[Restart]\nPolicy=always\n[Backup]\nSchedule=daily\n";
        ASSERT_INT_EQ(hl_def_parse_all("vm", "t.conf", text, strlen(text), &d, &errors), -EINVAL);
        ASSERT_INT_EQ(errors.n, 6);
        ASSERT_STR_EQ(hl_def_error_format(&errors.items[0], buf, sizeof(buf)),
                      "t.conf:3: State: hl does not start or stop a Host= service");
        ASSERT_STR_EQ(errors.items[1].key, "Requires");
        ASSERT_INT_EQ(errors.items[1].line, 4);
        ASSERT_STR_EQ(hl_def_error_format(&errors.items[2], buf, sizeof(buf)),
                      "t.conf:6: Check: port \"0\" is not between 1 and 65535");
        ASSERT_STR_EQ(hl_def_error_format(&errors.items[3], buf, sizeof(buf)),
                      "t.conf:7: [Container] in a Host= service: hl does not run it, only checks it from the node (a "
                      "service with a container has no Host=)");
        ASSERT_INT_EQ(errors.items[4].line, 9);
        ASSERT_INT_EQ(errors.items[5].line, 11);
        hl_errors_done(&errors);
}

static struct hl_def *def_after(const char *name, const char *requires, const char *after) {
        char text[1024];
        struct hl_def *d = NULL;
        struct hl_def_error e = {};

        snprintf(text, sizeof(text), "[Service]\nRequires=%s\nAfter=%s\n[Container]\nTemplate=busybox\n", requires, after);
        if (parse(name, text, &d, &e) < 0)
                return NULL;
        return d;
}

/* After=: ordering without requirement, in the same order and the same cycle check. */
TEST(after_orders_without_requiring) {
        struct hl_def *defs[3];
        size_t order[3];
        struct hl_def_error e = {};
        _cleanup_free_ char *json = NULL;

        defs[0] = def_after("app", "", "db cache");
        defs[1] = def_after("cache", "", "db");
        defs[2] = def_after("db", "", "elsewhere");
        ASSERT_TRUE(defs[0] && defs[1] && defs[2]);
        ASSERT_INT_EQ(hl_strv_length(defs[0]->after), 2);
        ASSERT_TRUE(defs[0]->requires == NULL);
        ASSERT_INT_EQ(hl_def_order(defs, 3, order, &e), 0);
        ASSERT_STR_EQ(defs[order[0]]->name, "db");
        ASSERT_STR_EQ(defs[order[1]]->name, "cache");
        ASSERT_STR_EQ(defs[order[2]]->name, "app");
        json = hl_def_canonical(defs[0]);
        ASSERT_TRUE(json && strstr(json, "\"after\":[\"cache\",\"db\"]"));
        for (int i = 0; i < 3; i++)
                hl_def_free(defs[i]);

        /* A cycle through After= and Requires= together is one. */
        defs[0] = def_after("a", "b", "");
        defs[1] = def_after("b", "", "c");
        defs[2] = def_after("c", "", "a");
        ASSERT_INT_EQ(hl_def_order(defs, 3, order, &e), -ELOOP);
        ASSERT_STR_EQ(e.message, "dependency cycle: a -> b -> c -> a");
        for (int i = 0; i < 3; i++)
                hl_def_free(defs[i]);

        /* Without After=, the canonical JSON (and so the hash) is what it was. */
        defs[0] = def_after("plain", "", "");
        free(json);
        json = hl_def_canonical(defs[0]);
        ASSERT_TRUE(json && !strstr(json, "after"));
        hl_def_free(defs[0]);
        ASSERT_PARSE_ERROR("[Service]\nAfter=svc\n[Container]\nTemplate=busybox\n",
                           "t.conf:2: After: a service cannot start after itself");
        ASSERT_PARSE_ERROR("[Service]\nAfter=Bad_Name\n[Container]\nTemplate=busybox\n",
                           "t.conf:2: After: \"Bad_Name\" is not a valid service name");
        ASSERT_PARSE_ERROR("[Service]\nHost=10.0.0.5\nAfter=db\n",
                           "t.conf:3: After: a Host= service is not started, so it is started after nothing");
}

/* Lxc=KEY=VALUE: kept in order, in the JSON only when there, refused for hl's own keys. */
TEST(lxc_keys) {
        const char *text = "[Container]\nTemplate=busybox\nLxc=lxc.prlimit.nofile = 1024\n"
                           "Lxc=lxc.cgroup2.devices.allow=c 10:200 rwm\nLxc=lxc.cgroup2.devices.allow=c 1:3 rwm\n";
        _cleanup_(hl_def_freep) struct hl_def *d = NULL;
        _cleanup_free_ char *json = NULL;

        ASSERT_INT_EQ(hl_def_parse("svc", "t.conf", text, strlen(text), &d, NULL), 0);
        ASSERT_INT_EQ(d->n_lxc, 3);
        ASSERT_STR_EQ(d->lxc[0].key, "lxc.prlimit.nofile");
        ASSERT_STR_EQ(d->lxc[0].value, "1024");
        ASSERT_INT_EQ(d->lxc[0].line, 3);
        ASSERT_STR_EQ(d->lxc[2].value, "c 1:3 rwm");
        json = hl_def_canonical(d);
        ASSERT_TRUE(json && strstr(json, "\"lxc\":[{\"key\":\"lxc.prlimit.nofile\",\"value\":\"1024\"},"));
        ASSERT_TRUE(hl_def_lxc_owner("lxc.net.0.link") && hl_def_lxc_owner("lxc.cgroup2.memory.max") &&
                    hl_def_lxc_owner("lxc.rootfs.path") && !hl_def_lxc_owner("lxc.cgroup2.devices.allow") &&
                    !hl_def_lxc_owner("lxc.network") && !hl_def_lxc_owner("lxc.mount.auto"));
#define LXC(line) "[Container]\nTemplate=busybox\nLxc=" line "\n"
        {
                const char *hook = LXC("lxc.hook.pre-start=/usr/local/bin/prepare");
                _cleanup_(hl_def_freep) struct hl_def *h = NULL;
                ASSERT_INT_EQ(hl_def_parse("svc", "t.conf", hook, strlen(hook), &h, NULL), 0);
                ASSERT_STR_EQ(h->lxc[0].key, "lxc.hook.pre-start");
        }
        ASSERT_PARSE_ERROR(LXC("lxc.mount.entry=/srv srv none bind 0 0"), "t.conf:3: Lxc: lxc.mount.entry is hl's: set it with Mount=");
        ASSERT_PARSE_ERROR(LXC("lxc.cgroup.memory.limit_in_bytes=1G"),
                           "t.conf:3: Lxc: lxc.cgroup.memory.limit_in_bytes is hl's: set it with Memory= and Swap=");
        ASSERT_PARSE_ERROR(LXC("lxc.tty.max="),
                           "t.conf:3: Lxc: lxc.tty.max has no value: leave the line out to leave the key as the template has it");
        ASSERT_PARSE_ERROR(LXC("hl.origin=x"),
                           "t.conf:3: Lxc: \"hl.origin\" is not an lxc key: lxc. and then lower-case letters, digits, '.', '_' and '-'");
        ASSERT_PARSE_ERROR(LXC("lxc.=x"),
                           "t.conf:3: Lxc: \"lxc.\" is not an lxc key: lxc. and then lower-case letters, digits, '.', '_' and '-'");
        ASSERT_PARSE_ERROR(LXC("no equals sign"),
                           "t.conf:3: Lxc: \"no equals sign\" is not KEY=VALUE (Lxc=lxc.cgroup2.devices.allow=c 10:200 rwm)");
}
