/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pct's config format as pve-container's PVE::LXC::Config reads it: a line is `#TEXT` (a
 * line of the description, %XX-decoded), `[NAME]` (a snapshot) or `[pve:pending]`, a raw
 * `lxc.KEY: VALUE` (or `lxc.KEY = VALUE`), or `KEY: VALUE`; blank lines are skipped. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "hl-def.h"
#include "hl-pct.h"
#include "hl-util.h"

enum section {
        OUT_SERVICE,
        OUT_CONTAINER,
};

struct importer {
        const char *file;
        const struct hl_pct_options *o;
        struct hl_errors *errors;
        struct hl_pct *p;
        char *description;     /* decoded, '\n'-separated */
        unsigned description_line;
        const char *hostname; /* borrowed from its key */
        unsigned hostname_line;
};

struct option_pair {
        char *key, *value; /* value NULL: a positional part (a volume) */
};

struct key_type;
typedef int (*map_fn)(struct importer *im, struct hl_pct_key *k, const struct key_type *t);

struct key_type {
        const char *name;
        unsigned max_index; /* 0: a plain key; else KEY0..KEY<max_index> */
        map_fn map;
        enum section section;
        const char *why; /* for keys that are not mapped: the reason */
};

const char *hl_pct_fate_to_string(enum hl_pct_fate f) {
        switch (f) {
        case HL_PCT_MAPPED:
                return "mapped";
        case HL_PCT_LOSSY:
                return "mapped with loss";
        default:
                return "not mapped";
        }
}

static int bad(struct importer *im, const struct hl_pct_key *k, const char *fmt, ...) HL_PRINTF(3, 4);
static int bad(struct importer *im, const struct hl_pct_key *k, const char *fmt, ...) {
        char message[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        return hl_errors_add(im->errors, im->file, k ? k->line : 0, k ? k->key : "", "%s", message);
}

static int set(struct hl_pct_key *k, enum hl_pct_fate fate, const char *to, const char *why) {
        k->fate = fate;
        free(k->to);
        free(k->why);
        k->to = to ? strdup(to) : NULL;
        k->why = why ? strdup(why) : NULL;
        return (to && !k->to) || (why && !k->why) ? -ENOMEM : 0;
}

static int set_to(struct hl_pct_key *k, enum hl_pct_fate fate, const char *why, const char *fmt, ...) HL_PRINTF(4, 5);
static int set_to(struct hl_pct_key *k, enum hl_pct_fate fate, const char *why, const char *fmt, ...) {
        _cleanup_free_ char *to = NULL;
        va_list ap;

        va_start(ap, fmt);
        to = hl_strdup_vprintf(fmt, ap);
        va_end(ap);
        return to ? set(k, fate, to, why) : -ENOMEM;
}

/* "a=1,b=2" (a positional first part allowed when positional): pairs, or -EINVAL. */
static int split_options(const char *value, bool positional, struct option_pair **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = strdup(value);
        struct option_pair *pairs = NULL;
        size_t n = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(part, '=');
                struct option_pair *more;

                if (!eq && !(positional && n == 0))
                        goto invalid;
                if (eq && (eq == part || !eq[1]))
                        goto invalid;
                more = realloc(pairs, sizeof(*pairs) * (n + 1));
                if (!more)
                        goto oom;
                pairs = more;
                if (eq)
                        *eq = 0;
                pairs[n].key = strdup(part);
                pairs[n].value = eq ? strdup(eq + 1) : NULL;
                n++;
                if (!pairs[n - 1].key || (eq && !pairs[n - 1].value))
                        goto oom;
        }
        *ret = pairs;
        *ret_n = n;
        return 0;
invalid:
        for (size_t i = 0; i < n; i++) {
                free(pairs[i].key);
                free(pairs[i].value);
        }
        free(pairs);
        return -EINVAL;
oom:
        for (size_t i = 0; i < n; i++) {
                free(pairs[i].key);
                free(pairs[i].value);
        }
        free(pairs);
        return -ENOMEM;
}

static void free_options(struct option_pair *pairs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(pairs[i].key);
                free(pairs[i].value);
        }
        free(pairs);
}

static bool is_uint(const char *s, unsigned long long max, unsigned long long *ret) {
        char *end;
        unsigned long long v;

        if (!s[0] || !isdigit((unsigned char) s[0]))
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return false;
        if (ret)
                *ret = v;
        return true;
}

static bool is_bool(const char *s, bool *ret) {
        if (strcmp(s, "1") == 0 || strcmp(s, "0") == 0) {
                *ret = s[0] == '1';
                return true;
        }
        return false;
}

/* --- the keys hl maps --------------------------------------------------------------- */

static int map_arch(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        static const char *const known[] = { "amd64", "i386", "arm64", "armhf", "riscv32", "riscv64" };
        bool ok = false;

        for (size_t i = 0; i < HL_ELEMENTSOF(known); i++)
                ok = ok || strcmp(k->value, known[i]) == 0;
        if (!ok)
                return bad(im, k, "\"%s\" is not an architecture of Proxmox's (amd64, i386, arm64, armhf, riscv32, riscv64)",
                           k->value);
        if (im->o->arch && strcmp(k->value, im->o->arch) != 0)
                return bad(im, k, "the container is built for %s, and this node is %s", k->value, im->o->arch);
        return set(k, HL_PCT_MAPPED, NULL, "checked against this node's architecture");
}

static int map_cores(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        unsigned long long v;

        if (!is_uint(k->value, 8192, &v) || v == 0)
                return bad(im, k, "\"%s\" is not a number of cores (1 to 8192)", k->value);
        return set_to(k, HL_PCT_MAPPED, NULL, "Cores=%llu", v);
}

static int map_memory(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        unsigned long long v;
        bool swap = strcmp(k->key, "swap") == 0;

        if (!is_uint(k->value, 1ULL << 32, &v) || (!swap && v < 16))
                return bad(im, k, "\"%s\" is not a size in MiB%s", k->value, swap ? "" : " (at least 16)");
        return set_to(k, HL_PCT_MAPPED, NULL, "%s=%lluM", swap ? "Swap" : "Memory", v);
}

static int map_hostname(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        /* DNS names know no case; hl's are written in lower case. */
        for (char *c = k->value; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        im->hostname = k->value;
        im->hostname_line = k->line;
        /* The line itself is written once the service's name is known. */
        return set(k, HL_PCT_MAPPED, NULL, NULL);
}

static int map_unprivileged(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        bool v;

        if (!is_bool(k->value, &v))
                return bad(im, k, "\"%s\" is not 0 or 1", k->value);
        return set_to(k, HL_PCT_MAPPED, NULL, "Unprivileged=%s", v ? "yes" : "no");
}

static int map_onboot(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        bool v;

        if (!is_bool(k->value, &v))
                return bad(im, k, "\"%s\" is not 0 or 1", k->value);
        return set_to(k, HL_PCT_LOSSY,
                      v ? "State=running keeps it running, not only starts it at boot"
                        : "State=stopped keeps it stopped; Proxmox's onboot=0 only leaves it off at boot",
                      "State=%s", v ? "running" : "stopped");
}

/* Space-, comma- or semicolon-separated, as Proxmox accepts. */
static int map_list(struct importer *im, struct hl_pct_key *k, const char *hl_key) {
        _cleanup_free_ char *copy = strdup(k->value);
        struct hl_text out = {};
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " ,;", &save); w; w = strtok_r(NULL, " ,;", &save))
                hl_text_add(&out, "%s%s=%s", out.len ? "\n" : "", hl_key, w);
        if (!out.len) {
                free(hl_text_take(&out));
                return bad(im, k, "empty");
        }
        {
                _cleanup_free_ char *to = hl_text_take(&out);
                return to ? set(k, HL_PCT_MAPPED, to, NULL) : -ENOMEM;
        }
}

static int map_nameserver(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        return map_list(im, k, "Nameserver");
}

static int map_searchdomain(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        return map_list(im, k, "SearchDomain");
}

static int map_net(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        /* Proxmox's option → hl's, the same word except where said. */
        static const char *const same[] = { "name", "bridge", "hwaddr", "ip", "gw", "ip6", "gw6", "mtu", "tag" };
        struct option_pair *o = NULL;
        size_t n = 0;
        struct hl_text to = {}, lost = {};
        bool bridge = false;
        int r;

        r = split_options(k->value, false, &o, &n);
        if (r == -EINVAL)
                return bad(im, k, "\"%s\" is not OPTION=VALUE,…", k->value);
        if (r < 0)
                return r;
        hl_text_add(&to, "Network=");
        for (size_t i = 0; i < n; i++) {
                bool mapped = false;

                for (size_t s = 0; s < HL_ELEMENTSOF(same); s++)
                        if (strcmp(o[i].key, same[s]) == 0) {
                                hl_text_add(&to, "%s%s=%s", to.len > strlen("Network=") ? "," : "", o[i].key, o[i].value);
                                mapped = true;
                                bridge = bridge || s == 1;
                        }
                if (mapped)
                        continue;
                if (strcmp(o[i].key, "type") == 0) {
                        if (strcmp(o[i].value, "veth") != 0) {
                                r = bad(im, k, "type=%s: only veth interfaces exist in Proxmox containers", o[i].value);
                                free(hl_text_take(&to));
                                free(hl_text_take(&lost));
                                free_options(o, n);
                                return r;
                        }
                } else if (strcmp(o[i].key, "firewall") == 0 || strcmp(o[i].key, "rate") == 0 ||
                           strcmp(o[i].key, "trunks") == 0 || strcmp(o[i].key, "link_down") == 0 ||
                           strcmp(o[i].key, "host-managed") == 0) {
                        /* firewall=0, link_down=0 lose nothing. */
                        if (!((strcmp(o[i].key, "firewall") == 0 || strcmp(o[i].key, "link_down") == 0) &&
                              strcmp(o[i].value, "0") == 0))
                                hl_text_add(&lost, "%s%s=%s", lost.len ? ", " : "", o[i].key, o[i].value);
                } else {
                        r = bad(im, k, "%s is not an option of a Proxmox network interface", o[i].key);
                        free(hl_text_take(&to));
                        free(hl_text_take(&lost));
                        free_options(o, n);
                        return r;
                }
        }
        free_options(o, n);
        {
                _cleanup_free_ char *line = hl_text_take(&to), *what = hl_text_take(&lost), *why = NULL;

                if (!line)
                        return -ENOMEM;
                if (!bridge)
                        return bad(im, k, "no bridge=: hl connects every interface to a bridge");
                if (what && !what[0]) {
                        free(what);
                        what = NULL;
                }
                if (what && !(why = hl_strdup_printf("%s: hl has no firewall, rate limit, trunk or link state of "
                                                     "its own (use the host's nftables)", what)))
                        return -ENOMEM;
                return set(k, what ? HL_PCT_LOSSY : HL_PCT_MAPPED, line, why);
        }
}

static int map_mp(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        struct option_pair *o = NULL;
        size_t n = 0;
        const char *volume, *target = NULL;
        bool ro = false, backup = false;
        struct hl_text lost = {};
        int r;

        r = split_options(k->value, true, &o, &n);
        if (r == -EINVAL || (r >= 0 && (n == 0 || o[0].value))) {
                if (r >= 0)
                        free_options(o, n);
                return bad(im, k, "\"%s\" is not VOLUME,mp=PATH[,OPTION=VALUE…]", k->value);
        }
        if (r < 0)
                return r;
        volume = o[0].key;
        for (size_t i = 1; i < n; i++) {
                bool v;

                if (strcmp(o[i].key, "mp") == 0)
                        target = o[i].value;
                else if (strcmp(o[i].key, "ro") == 0 || strcmp(o[i].key, "backup") == 0) {
                        if (!is_bool(o[i].value, &v)) {
                                r = bad(im, k, "%s=%s is not 0 or 1", o[i].key, o[i].value);
                                free(hl_text_take(&lost));
                                free_options(o, n);
                                return r;
                        }
                        if (o[i].key[0] == 'r')
                                ro = v;
                        else
                                backup = v;
                } else if (strcmp(o[i].key, "acl") == 0 || strcmp(o[i].key, "quota") == 0 ||
                           strcmp(o[i].key, "replicate") == 0 || strcmp(o[i].key, "shared") == 0 ||
                           strcmp(o[i].key, "size") == 0 || strcmp(o[i].key, "mountoptions") == 0)
                        hl_text_add(&lost, "%s%s=%s", lost.len ? ", " : "", o[i].key, o[i].value);
                else {
                        r = bad(im, k, "%s is not an option of a Proxmox mount point", o[i].key);
                        free(hl_text_take(&lost));
                        free_options(o, n);
                        return r;
                }
        }
        {
                _cleanup_free_ char *what = hl_text_take(&lost), *why = NULL;

                if (!target) {
                        free_options(o, n);
                        return bad(im, k, "no mp=: where it is mounted in the container");
                }
                if (volume[0] != '/') {
                        /* A storage volume (local-lvm:vm-100-disk-1): hl mounts host directories. */
                        r = set(k, HL_PCT_UNMAPPED, NULL,
                                "a storage volume: copy its data into a host directory and mount that with Mount=");
                        free_options(o, n);
                        return r;
                }
                if (what && !what[0]) {
                        free(what);
                        what = NULL;
                }
                if (what && !(why = hl_strdup_printf("%s: a bind mount of a host directory has none of these", what))) {
                        free_options(o, n);
                        return -ENOMEM;
                }
                r = set_to(k, what ? HL_PCT_LOSSY : HL_PCT_MAPPED, why, "Mount=%s:%s%s%s%s", volume, target,
                           ro || backup ? ":" : "", ro ? "ro" : "", backup ? (ro ? ",backup" : "backup") : "");
                free_options(o, n);
                return r;
        }
}

/* nesting, fuse, keyctl become Features=; what hl does not do is said. */
static int map_features(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        struct option_pair *o = NULL;
        size_t n = 0;
        struct hl_text to = {}, lost = {};
        int r = split_options(k->value, false, &o, &n);

        if (r == -EINVAL)
                return bad(im, k, "\"%s\" is not FEATURE=VALUE,…", k->value);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool on;

                if (strcmp(o[i].key, "nesting") == 0 || strcmp(o[i].key, "fuse") == 0 || strcmp(o[i].key, "keyctl") == 0) {
                        if (!is_bool(o[i].value, &on)) {
                                r = bad(im, k, "%s=%s is not 0 or 1", o[i].key, o[i].value);
                                break;
                        }
                        if (on)
                                hl_text_add(&to, "%s%s", to.len ? "," : "Features=", o[i].key);
                } else if (strcmp(o[i].key, "mount") == 0 || strcmp(o[i].key, "mknod") == 0 ||
                           strcmp(o[i].key, "force_rw_sys") == 0)
                        hl_text_add(&lost, "%s%s=%s", lost.len ? ", " : "", o[i].key, o[i].value);
                else {
                        r = bad(im, k, "%s is not a feature of Proxmox's containers", o[i].key);
                        break;
                }
        }
        free_options(o, n);
        {
                _cleanup_free_ char *line = hl_text_take(&to), *what = hl_text_take(&lost), *why = NULL;

                if (r < 0)
                        return r;
                if (what && what[0] &&
                    !(why = hl_strdup_printf("%s: hl writes no AppArmor profile or seccomp rules of its own for these",
                                             what)))
                        return -ENOMEM;
                if (!line || !line[0])
                        return set(k, why ? HL_PCT_LOSSY : HL_PCT_MAPPED, NULL, why ? why : "no feature turned on");
                return set(k, why ? HL_PCT_LOSSY : HL_PCT_MAPPED, line, why);
        }
}

static int map_unmapped(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        return set(k, HL_PCT_UNMAPPED, NULL, t->why);
}

/* Checked as Proxmox would, then not mapped. */
static int map_unmapped_options(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        struct option_pair *o = NULL;
        size_t n = 0;
        int r = split_options(k->value, strcmp(k->key, "rootfs") == 0 || strncmp(k->key, "dev", 3) == 0 ||
                                                strncmp(k->key, "unused", 6) == 0,
                              &o, &n);

        if (r == -EINVAL)
                return bad(im, k, "\"%s\" is not a list of OPTION=VALUE", k->value);
        if (r < 0)
                return r;
        free_options(o, n);
        return set(k, HL_PCT_UNMAPPED, NULL, t->why);
}

/* A raw lxc key: Lxc=, unless it is one hl writes from a key of its own. */
static int map_lxc(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        const char *owner = hl_def_lxc_owner(k->key);

        if (!hl_def_lxc_key_is_valid(k->key) || !*k->value || strlen(k->key) + strlen(k->value) + 4 > HL_DEF_MAX_LXC)
                return set(k, HL_PCT_UNMAPPED, NULL, "not a key or value Lxc= can write");

        if (owner) {
                _cleanup_free_ char *why = owner[0] == '('
                                                   ? hl_strdup_printf("%s is hl's own %s", k->key, owner)
                                                   : hl_strdup_printf("%s is hl's own, written from %s: write that instead",
                                                                      k->key, owner);
                return why ? set(k, HL_PCT_UNMAPPED, NULL, why) : -ENOMEM;
        }
        return set_to(k, HL_PCT_MAPPED, NULL, "Lxc=%s=%s", k->key, k->value);
}

/* startup: order=N,up=S,down=S. The order becomes After= once every config of the import
 * is read (hl_pct_order); the delays have no counterpart. */
static int map_startup(struct importer *im, struct hl_pct_key *k, const struct key_type *t) {
        struct option_pair *o = NULL;
        size_t n = 0;
        int r = split_options(k->value, false, &o, &n);
        unsigned long long order = 0;
        bool has_order = false, delays = false;

        if (r == -EINVAL)
                return bad(im, k, "\"%s\" is not a list of OPTION=VALUE", k->value);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                unsigned long long v;

                if (!is_uint(o[i].value, 1ULL << 31, &v))
                        r = bad(im, k, "%s=%s is not a number", o[i].key, o[i].value);
                else if (strcmp(o[i].key, "order") == 0) {
                        order = v;
                        has_order = true;
                } else if (strcmp(o[i].key, "up") == 0 || strcmp(o[i].key, "down") == 0)
                        delays = delays || v > 0;
                else
                        r = bad(im, k, "%s is not an option of startup (order, up, down)", o[i].key);
        }
        free_options(o, n);
        if (r < 0)
                return r;
        im->p->order = has_order ? (long long) order : -1;
        if (!has_order)
                return set(k, delays ? HL_PCT_UNMAPPED : HL_PCT_MAPPED, NULL,
                           delays ? "start and stop delays: hl starts the next service once this one is up (and healthy, "
                                    "for what Requires= it)"
                                  : "no order: started after the imported services that have one, as Proxmox does");
        return set(k, delays ? HL_PCT_LOSSY : HL_PCT_MAPPED, NULL,
                   delays ? "order: After= the imported services of lower order; the up=/down= delays are not kept: hl "
                            "starts the next service once this one is up (and healthy, for what Requires= it)"
                          : "order: After= the imported services of lower order");
}

/* Every key of pve-container's confdesc (and its raw lxc.* keys), in the order the
 * definition gets their lines. */
static const struct key_type key_types[] = {
        { "onboot", 0, map_onboot, OUT_SERVICE, NULL },
        { "arch", 0, map_arch, OUT_CONTAINER, NULL },
        { "hostname", 0, map_hostname, OUT_CONTAINER, NULL },
        { "unprivileged", 0, map_unprivileged, OUT_CONTAINER, NULL },
        { "cores", 0, map_cores, OUT_CONTAINER, NULL },
        { "memory", 0, map_memory, OUT_CONTAINER, NULL },
        { "swap", 0, map_memory, OUT_CONTAINER, NULL },
        { "nameserver", 0, map_nameserver, OUT_CONTAINER, NULL },
        { "searchdomain", 0, map_searchdomain, OUT_CONTAINER, NULL },
        { "net", 31, map_net, OUT_CONTAINER, NULL },
        { "mp", 255, map_mp, OUT_CONTAINER, NULL },
        { "rootfs", 0, map_unmapped_options, OUT_CONTAINER,
          "the root file system is a storage volume: the definition's Template= makes a new one" },
        { "features", 0, map_features, OUT_CONTAINER, NULL },
        { "startup", 0, map_startup, OUT_SERVICE, NULL },
        { "tags", 0, map_unmapped, OUT_SERVICE, "hl has no tags" },
        { "lxc", 0, map_lxc, OUT_CONTAINER, NULL },
        { "ostype", 0, map_unmapped, OUT_CONTAINER,
          "the guest's setup comes from the template: hl writes its network config for ifupdown, systemd-networkd "
          "and busybox alike" },
        { "cpulimit", 0, map_unmapped, OUT_CONTAINER, "hl sets no CPU quota" },
        { "cpuunits", 0, map_unmapped, OUT_CONTAINER, "hl sets no CPU weight" },
        { "console", 0, map_unmapped, OUT_CONTAINER, "LXC's console is always there" },
        { "tty", 0, map_unmapped, OUT_CONTAINER, "hl keeps LXC's default ttys" },
        { "cmode", 0, map_unmapped, OUT_CONTAINER, "hl keeps LXC's default console mode" },
        { "protection", 0, map_unmapped, OUT_CONTAINER, "hlctl destroy asks for --yes instead" },
        { "timezone", 0, map_unmapped, OUT_CONTAINER, "set it inside the container, or Environment=TZ=…" },
        { "lock", 0, map_unmapped, OUT_CONTAINER, "a Proxmox operation's lock: finish or clear it first" },
        { "hookscript", 0, map_unmapped, OUT_CONTAINER, "hl runs no hook scripts" },
        { "template", 0, map_unmapped, OUT_CONTAINER, "hl has no template containers: use clone:NAME" },
        { "debug", 0, map_unmapped, OUT_CONTAINER, "hld's own log says what liblxc says" },
        { "entrypoint", 0, map_unmapped, OUT_CONTAINER, "an application container's: hl runs system containers" },
        { "env", 0, map_unmapped, OUT_CONTAINER, "an application container's environment: use Environment=" },
        { "dev", 255, map_unmapped_options, OUT_CONTAINER, "hl passes no devices through" },
        { "unused", 255, map_unmapped_options, OUT_CONTAINER, "a detached storage volume" },
        { "parent", 0, map_unmapped, OUT_CONTAINER, "snapshots are not imported" },
        { "snaptime", 0, map_unmapped, OUT_CONTAINER, "snapshots are not imported" },
};

static const struct key_type *find_type(const char *key, unsigned *ret_index) {
        for (size_t i = 0; i < HL_ELEMENTSOF(key_types); i++) {
                const struct key_type *t = &key_types[i];
                size_t n = strlen(t->name);
                unsigned long long index;

                /* Raw keys: lxc.ANYTHING, checked by liblxc's own rules only where used. */
                if (strcmp(t->name, "lxc") == 0 && strncmp(key, "lxc.", 4) == 0 && key[4]) {
                        if (ret_index)
                                *ret_index = 0;
                        return t;
                }
                if (strncmp(key, t->name, n) != 0)
                        continue;
                if (t->max_index == 0 ? key[n] == 0 : is_uint(key + n, t->max_index, &index) && (key[n] != '0' || !key[n + 1])) {
                        if (ret_index)
                                *ret_index = t->max_index ? (unsigned) index : 0;
                        return t;
                }
        }
        return NULL;
}

/* --- reading ------------------------------------------------------------------------- */

static void decode(char *s) {
        char *out = s;

        for (; *s; s++) {
                if (s[0] == '%' && isxdigit((unsigned char) s[1]) && isxdigit((unsigned char) s[2])) {
                        char hex[3] = { s[1], s[2], 0 };
                        *out++ = (char) strtol(hex, NULL, 16);
                        s += 2;
                } else
                        *out++ = *s;
        }
        *out = 0;
}

static char *strip(char *s) {
        size_t n;

        s += strspn(s, " \t");
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

static int add_key(struct importer *im, unsigned line, const char *key, const char *value) {
        struct hl_pct *p = im->p;
        struct hl_pct_key *keys;

        for (size_t i = 0; i < p->n_keys; i++)
                if (strcmp(p->keys[i].key, key) == 0)
                        return hl_errors_add(im->errors, im->file, line, key, "given twice (first on line %u)",
                                             p->keys[i].line);
        keys = realloc(p->keys, sizeof(*keys) * (p->n_keys + 1));
        if (!keys)
                return -ENOMEM;
        p->keys = keys;
        keys[p->n_keys] = (struct hl_pct_key) { .line = line, .key = strdup(key), .value = strdup(value),
                                                .fate = HL_PCT_UNMAPPED };
        if (!keys[p->n_keys].key || !keys[p->n_keys].value) {
                free(keys[p->n_keys].key);
                free(keys[p->n_keys].value);
                return -ENOMEM;
        }
        p->n_keys++;
        return 0;
}

static bool valid_text(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 && *s != '\t')
                        return false;
        return true;
}

/* An error of a line is reported and the next line read: only running out of memory stops. */
static int keep_going(int r) {
        return r == -ENOMEM ? r : 0;
}

static int read_lines(struct importer *im, char *text) {
        enum { MAIN, SNAPSHOT, PENDING } where = MAIN;
        struct hl_text description = {};
        unsigned number = 0;
        char *cursor = text, *raw;
        int r = 0;

        while (r >= 0 && (raw = hl_next_line(&cursor))) {
                char *line = strip(raw), *colon;

                number++;
                if (!line[0])
                        continue;
                if (line[0] == '[') {
                        size_t n = strlen(line);
                        if (n < 3 || line[n - 1] != ']') {
                                r = keep_going(hl_errors_add(im->errors, im->file, number, "", "\"%.80s\" is not a section header", line));
                                continue;
                        }
                        line[n - 1] = 0;
                        if (strcmp(line + 1, "pve:pending") == 0) {
                                where = PENDING;
                                im->p->pending = true;
                        } else if (isalpha((unsigned char) line[1]) &&
                                   strspn(line + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                                           n - 2) {
                                where = SNAPSHOT;
                                im->p->snapshots++;
                        } else
                                r = keep_going(hl_errors_add(im->errors, im->file, number, "", "[%.80s] is not a snapshot name", line + 1));
                        continue;
                }
                if (where != MAIN)
                        continue; /* a snapshot's or pending state: reported as counts */
                if (line[0] == '#') {
                        char *d = raw + strspn(raw, " \t") + 1;
                        strip(d);
                        decode(d);
                        if (!valid_text(d)) {
                                r = keep_going(hl_errors_add(im->errors, im->file, number, "description", "holds a control character"));
                                continue;
                        }
                        if (!im->description_line)
                                im->description_line = number;
                        hl_text_add(&description, "%s%s", description.len ? "\n" : "", d);
                        continue;
                }
                if (!valid_text(line)) {
                        r = keep_going(hl_errors_add(im->errors, im->file, number, "", "the line holds a control character"));
                        continue;
                }
                /* lxc.KEY: VALUE or lxc.KEY = VALUE; KEY: VALUE. */
                colon = strncmp(line, "lxc.", 4) == 0 ? line + strcspn(line, ":=") : strchr(line, ':');
                if (!colon || !*colon) {
                        r = keep_going(hl_errors_add(im->errors, im->file, number, "", "\"%.80s\" is not KEY: VALUE", line));
                        continue;
                }
                *colon = 0;
                {
                        char *key = strip(line), *value = strip(colon + 1);
                        if (!value[0]) {
                                r = keep_going(hl_errors_add(im->errors, im->file, number, key, "no value"));
                                continue;
                        }
                        if (!find_type(key, NULL)) {
                                r = keep_going(hl_errors_add(im->errors, im->file, number, key,
                                                             "not a key of Proxmox's container config"));
                                continue;
                        }
                        r = keep_going(add_key(im, number, key, value));
                }
        }
        if (r == -ENOMEM) {
                free(hl_text_take(&description));
                return r;
        }
        im->description = hl_text_take(&description);
        return 0;
}

/* --- the definition ------------------------------------------------------------------- */

/* The service's name: --name, else the hostname's first label lowercased, else ct<VMID>. */
static int make_name(struct importer *im) {
        const char *o = im->o->name;
        char *name;

        if (o) {
                name = strdup(o);
        } else if (im->hostname) {
                size_t n = strcspn(im->hostname, ".");
                name = strndup(im->hostname, n);
                for (char *c = name; c && *c; c++)
                        *c = (char) tolower((unsigned char) *c);
        } else
                name = hl_strdup_printf("ct%s", im->o->vmid ? im->o->vmid : "");
        if (!name)
                return -ENOMEM;
        im->p->name = name;
        if (!hl_name_is_valid(name))
                return hl_errors_add(im->errors, im->file, o ? 0 : im->hostname_line, o ? "" : "hostname",
                                     "\"%s\" does not make a service name (a-z, 0-9 and '-', not all digits): "
                                     "import it with --name", name);
        return 0;
}

struct emitted {
        unsigned *pct_line; /* for each line of the definition, the pct line it came from */
        size_t n, cap;
};

static void emit(struct hl_text *t, struct emitted *e, unsigned pct_line, const char *lines) {
        if (lines && !*lines)
                lines = "\n"; /* an empty line */
        for (const char *l = lines; l && *l;) {
                size_t n = strcspn(l, "\n");

                hl_text_add(t, "%.*s\n", (int) n, l);
                if (e->n == e->cap) {
                        size_t cap = e->cap ? e->cap * 2 : 64;
                        unsigned *more = realloc(e->pct_line, sizeof(*more) * cap);
                        if (more) {
                                e->pct_line = more;
                                e->cap = cap;
                        }
                }
                if (e->n < e->cap)
                        e->pct_line[e->n] = pct_line;
                e->n++;
                l += n;
                l += *l == '\n';
        }
}

static int key_order(const void *a, const void *b) {
        const struct hl_pct_key *x = *(struct hl_pct_key *const *) a, *y = *(struct hl_pct_key *const *) b;
        unsigned ix = 0, iy = 0;
        const struct key_type *tx = find_type(x->key, &ix), *ty = find_type(y->key, &iy);

        /* Keys outside the table (the description) first. */
        if (!tx || !ty)
                return !tx && !ty ? 0 : !tx ? -1 : 1;

        if (tx != ty)
                return tx < ty ? -1 : 1;
        return ix < iy ? -1 : ix > iy;
}

/* The description is no key of the table: it goes first, by itself. */
static enum section section_of(const struct hl_pct_key *k) {
        const struct key_type *t = find_type(k->key, NULL);

        return t ? t->section : OUT_SERVICE;
}

static int write_definition(struct importer *im) {
        struct hl_pct *p = im->p;
        _cleanup_free_ struct hl_pct_key **sorted = calloc(p->n_keys + 1, sizeof(*sorted));
        struct hl_text t = {};
        struct emitted e = {};
        struct hl_errors check = {};
        _cleanup_(hl_def_freep) struct hl_def *def = NULL;
        int r;

        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_keys; i++)
                sorted[i] = &p->keys[i];
        qsort(sorted, p->n_keys, sizeof(*sorted), key_order);

        {
                _cleanup_free_ char *line = hl_strdup_printf("# Imported by hlctl import pct%s%s.",
                                                             im->o->vmid ? " from CT " : "", im->o->vmid ? im->o->vmid : "");
                emit(&t, &e, 0, line);
        }
        emit(&t, &e, 0, "[Service]");
        if (im->description) {
                /* One line in hl: the lines of Proxmox's that say something, joined. */
                _cleanup_free_ char *one = strdup(im->description);
                char *w = one;
                for (const char *c = one; c && *c; c++)
                        if (*c != '\n')
                                *w++ = *c;
                        else if (w > one && w[-1] != ' ')
                                *w++ = ' ';
                if (w)
                        *w = 0;
                if (!one) {
                        free(hl_text_take(&t));
                        free(e.pct_line);
                        return -ENOMEM;
                }
                {
                        _cleanup_free_ char *line = hl_strdup_printf("Description=%s", strip(one));
                        if (line && strip(one)[0])
                                emit(&t, &e, im->description_line, line);
                }
        }
        for (size_t i = 0; i < p->n_keys; i++)
                if (sorted[i]->to && section_of(sorted[i]) == OUT_SERVICE)
                        emit(&t, &e, sorted[i]->line, sorted[i]->to);
        emit(&t, &e, 0, "");
        emit(&t, &e, 0, "[Container]");
        {
                _cleanup_free_ char *line = hl_strdup_printf("Template=%s", im->o->template);
                emit(&t, &e, 0, line);
        }
        if (im->hostname && strcmp(im->hostname, p->name) == 0)
                for (size_t i = 0; i < p->n_keys; i++)
                        if (strcmp(p->keys[i].key, "hostname") == 0 &&
                            set(&p->keys[i], HL_PCT_MAPPED, NULL, "the service's name, and so its host name") < 0) {
                                free(hl_text_take(&t));
                                free(e.pct_line);
                                return -ENOMEM;
                        }
        if (im->hostname && strcmp(im->hostname, p->name) != 0) {
                _cleanup_free_ char *line = hl_strdup_printf("Hostname=%s", im->hostname);
                emit(&t, &e, im->hostname_line, line);
                for (size_t i = 0; i < p->n_keys; i++)
                        if (strcmp(p->keys[i].key, "hostname") == 0 && set(&p->keys[i], HL_PCT_MAPPED, line, NULL) < 0) {
                                free(hl_text_take(&t));
                                free(e.pct_line);
                                return -ENOMEM;
                        }
        }
        for (size_t i = 0; i < p->n_keys; i++)
                if (sorted[i]->to && section_of(sorted[i]) == OUT_CONTAINER && strcmp(sorted[i]->key, "hostname") != 0)
                        emit(&t, &e, sorted[i]->line, sorted[i]->to);
        p->definition = hl_text_take(&t);
        if (!p->definition || e.n > e.cap) {
                free(e.pct_line);
                return -ENOMEM;
        }
        /* What hl's parser says of it is said of the pct line it came from. */
        r = hl_def_parse_all(p->name, im->file, p->definition, strlen(p->definition), &def, &check);
        for (size_t i = 0; r == -EINVAL && i < check.n; i++) {
                const struct hl_def_error *x = &check.items[i];
                unsigned line = x->line > 0 && x->line <= e.n ? e.pct_line[x->line - 1] : 0;
                const char *key = "";

                for (size_t k = 0; k < p->n_keys; k++)
                        if (p->keys[k].line == line)
                                key = p->keys[k].key;
                if (line == im->description_line && line)
                        key = "description";
                if (hl_errors_add(im->errors, im->file, line, key, "%s%s%s", x->key, x->key[0] ? ": " : "", x->message) ==
                    -ENOMEM)
                        r = -ENOMEM;
        }
        hl_errors_done(&check);
        free(e.pct_line);
        return r == -ENOMEM ? r : 0;
}

int hl_pct_import(const char *file, const char *text, size_t len, const struct hl_pct_options *o, struct hl_pct **ret,
                  struct hl_errors *errors) {
        _cleanup_(hl_pct_freep) struct hl_pct *p = NULL;
        _cleanup_free_ char *copy = NULL;
        struct importer im = { .file = file, .o = o, .errors = errors };
        size_t before = errors->n + errors->dropped;
        int r;

        if (len > HL_PCT_MAX_SIZE)
                return hl_errors_add(errors, file, 0, "", "larger than %u bytes, which pmxcfs does not hold",
                                     HL_PCT_MAX_SIZE);
        if (memchr(text, 0, len))
                return hl_errors_add(errors, file, 0, "", "holds a NUL byte: not a config");
        if (!o->template || !o->template[0])
                return hl_errors_add(errors, file, 0, "", "no template: the definition needs a Template=");
        p = calloc(1, sizeof(*p));
        copy = strndup(text, len);
        if (!p || !copy)
                return -ENOMEM;
        p->order = -1;
        im.p = p;
        r = read_lines(&im, copy);
        for (size_t i = 0; r >= 0 && i < p->n_keys; i++) {
                const struct key_type *t = find_type(p->keys[i].key, NULL);
                r = t->map(&im, &p->keys[i], t);
                if (r == -EINVAL)
                        r = 0;
        }
        if (r >= 0 && im.description) {
                /* Not a key of the file's, but a part of it: listed as one. */
                r = add_key(&im, im.description_line, "description", im.description);
                if (r >= 0) {
                        /* First, where its lines are. */
                        struct hl_pct_key d = p->keys[p->n_keys - 1];
                        memmove(p->keys + 1, p->keys, sizeof(*p->keys) * (p->n_keys - 1));
                        p->keys[0] = d;
                        r = set(&p->keys[0], strchr(im.description, '\n') ? HL_PCT_LOSSY : HL_PCT_MAPPED, NULL,
                                strchr(im.description, '\n') ? "its lines are joined: Description= is one line" : NULL);
                }
        }
        if (r >= 0)
                r = make_name(&im);
        if (r == -EINVAL)
                r = 0;
        if (r >= 0 && errors->n + errors->dropped == before)
                r = write_definition(&im);
        free(im.description);
        if (r < 0)
                return r;
        if (errors->n + errors->dropped > before) {
                /* In line order, as a compiler reports them (mapping comes after reading). */
                for (size_t i = before + 1; i < errors->n; i++)
                        for (size_t k = i; k > before && errors->items[k - 1].line > errors->items[k].line; k--) {
                                struct hl_def_error x = errors->items[k];
                                errors->items[k] = errors->items[k - 1];
                                errors->items[k - 1] = x;
                        }
                return -EINVAL;
        }
        /* The description's entry carries its line too. */
        for (size_t i = 0; i < p->n_keys; i++)
                if (strcmp(p->keys[i].key, "description") == 0 && !p->keys[i].to) {
                        char *d = strstr(p->definition, "\nDescription=");
                        if (d && !(p->keys[i].to = strndup(d + 1, strcspn(d + 1, "\n"))))
                                return -ENOMEM;
                }
        *ret = TAKE_PTR(p);
        return 0;
}

/* Puts line after the [Service] header of p's definition. */
static int insert_service_line(struct hl_pct *p, const char *line) {
        const char *at = strstr(p->definition, "\n[Service]\n");
        size_t head;
        char *text;

        if (!at)
                return -EINVAL;
        head = (size_t) (at - p->definition) + strlen("\n[Service]\n");
        text = hl_strdup_printf("%.*s%s\n%s", (int) head, p->definition, line, p->definition + head);
        if (!text)
                return -ENOMEM;
        free(p->definition);
        p->definition = text;
        return 0;
}

int hl_pct_order(struct hl_pct *const *ps, size_t n) {
        long long highest = -1;

        for (size_t i = 0; i < n; i++)
                if (ps[i]->order > highest)
                        highest = ps[i]->order;
        if (highest < 0)
                return 0; /* no order anywhere: nothing to keep */
        for (size_t i = 0; i < n; i++) {
                /* Each after the next lower order (the ones below that follow by themselves);
                 * one without an order after the highest. */
                long long mine = ps[i]->order, before = -1;
                struct hl_text after = {};
                _cleanup_free_ char *line = NULL;
                int r;

                for (size_t k = 0; k < n; k++)
                        if (ps[k]->order >= 0 && (mine < 0 ? ps[k]->order == highest : ps[k]->order < mine) &&
                            ps[k]->order > before)
                                before = ps[k]->order;
                if (before < 0)
                        continue;
                for (size_t k = 0; k < n; k++)
                        if (k != i && ps[k]->order == before && strcmp(ps[k]->name, ps[i]->name) != 0)
                                hl_text_add(&after, "%s%s", after.len ? " " : "After=", ps[k]->name);
                line = hl_text_take(&after);
                if (!line)
                        return -ENOMEM;
                if (!*line)
                        continue;
                r = insert_service_line(ps[i], line);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < ps[i]->n_keys; k++)
                        if (strcmp(ps[i]->keys[k].key, "startup") == 0) {
                                free(ps[i]->keys[k].to);
                                if (!(ps[i]->keys[k].to = strdup(line)))
                                        return -ENOMEM;
                                /* Delays without an order: the order Proxmox gives it is kept. */
                                if (ps[i]->keys[k].fate == HL_PCT_UNMAPPED)
                                        ps[i]->keys[k].fate = HL_PCT_LOSSY;
                        }
        }
        return 0;
}

struct hl_pct *hl_pct_free(struct hl_pct *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_keys; i++) {
                free(p->keys[i].key);
                free(p->keys[i].value);
                free(p->keys[i].to);
                free(p->keys[i].why);
        }
        free(p->keys);
        free(p->name);
        free(p->definition);
        free(p);
        return NULL;
}

json_t *hl_pct_to_json(const struct hl_pct *p) {
        json_t *keys = json_array(), *j;

        for (size_t i = 0; keys && i < p->n_keys; i++) {
                const struct hl_pct_key *k = &p->keys[i];
                json_t *one = json_pack("{s:i, s:s, s:s, s:s}", "line", (json_int_t) k->line, "key", k->key, "value",
                                        k->value, "fate", hl_pct_fate_to_string(k->fate));
                if (one && k->to)
                        json_object_set_new(one, "to", json_string(k->to));
                if (one && k->why)
                        json_object_set_new(one, "why", json_string(k->why));
                json_array_append_new(keys, one);
        }
        j = json_pack("{s:s, s:s, s:i, s:b, s:o}", "name", p->name, "definition", p->definition, "snapshots",
                      (json_int_t) p->snapshots, "pending", p->pending, "keys", keys ? keys : json_array());
        return j;
}

char *hl_pct_onboot_off(const char *text) {
        struct hl_text out = {};
        bool main_section = true, done = false;

        for (const char *l = text; *l;) {
                size_t n = strcspn(l, "\n");
                const char *s = l + strspn(l, " \t");

                if (main_section && s[0] == '[') {
                        /* The main section ends here: the line goes at its end. */
                        if (!done)
                                hl_text_add(&out, "onboot: 0\n");
                        done = true;
                        main_section = false;
                }
                if (main_section && strncmp(s, "onboot", 6) == 0 && (s[6] == ':' || s[6] == ' ' || s[6] == '\t')) {
                        if (!done)
                                hl_text_add(&out, "onboot: 0\n");
                        done = true;
                } else
                        hl_text_add(&out, "%.*s\n", (int) n, l);
                l += n;
                l += *l == '\n';
        }
        if (!done)
                hl_text_add(&out, "onboot: 0\n");
        return hl_text_take(&out);
}

int hl_pve_guest_summary(const char *text, size_t len, char **ret_name, bool *ret_onboot) {
        _cleanup_free_ char *copy = strndup(text, len);
        char *cursor = copy, *line, *name = NULL;
        bool onboot = false;

        if (!copy)
                return -ENOMEM;
        while ((line = hl_next_line(&cursor))) {
                char *l = strip(line), *colon, *value;

                if (l[0] == '[')
                        break; /* snapshots and pending changes follow */
                colon = strchr(l, ':');
                if (l[0] == '#' || !colon)
                        continue;
                *colon = 0;
                value = strip(colon + 1);
                if ((strcmp(l, "hostname") == 0 || strcmp(l, "name") == 0) && valid_text(value) && strlen(value) < 256) {
                        free(name);
                        if (!(name = strdup(value)))
                                return -ENOMEM;
                } else if (strcmp(l, "onboot") == 0)
                        onboot = strcmp(value, "1") == 0;
        }
        *ret_name = name;
        *ret_onboot = onboot;
        return 0;
}

const char *hl_pct_host_arch(void) {
        static const struct {
                const char *machine, *arch;
        } map[] = { { "x86_64", "amd64" }, { "i686", "i386" }, { "aarch64", "arm64" }, { "armv7l", "armhf" },
                    { "riscv64", "riscv64" } };
        struct utsname u;

        if (uname(&u) < 0)
                return NULL;
        for (size_t i = 0; i < HL_ELEMENTSOF(map); i++)
                if (strcmp(u.machine, map[i].machine) == 0)
                        return map[i].arch;
        return NULL;
}
