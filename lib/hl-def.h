/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Service definitions: the INI-style files of DESIGN.md, parsed, validated and turned into
 * the canonical JSON whose hash identifies a revision. No I/O here: callers pass text. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hl-check.h"
#include "hl-calendar.h"
#include "hl-ini.h"
#include "hl-retention.h"
#include "hl-util.h"

/* The largest definition file accepted, and the longest line in it. */
#define HL_DEF_MAX_SIZE (256u * 1024u)
#define HL_DEF_MAX_LINE (16u * 1024u)
/* Check= lines per service. */
#define HL_DEF_MAX_CHECKS 32

enum hl_desired_state {
        HL_DESIRED_RUNNING,
        HL_DESIRED_STOPPED,
};

struct hl_mount {
        char *source; /* absolute, normalized host path */
        char *target; /* absolute, normalized path inside the container */
        bool read_only;
        bool backup; /* its data goes into the service's backups (Mount=…:backup) */
};

struct hl_network {
        char *name;   /* interface name inside the container, default eth<N> */
        char *bridge; /* host bridge; required */
        char *ip;     /* IPv4: ADDRESS/PREFIX or "dhcp", optional */
        char *gw;     /* IPv4 gateway, with a static ip */
        char *ip6;    /* IPv6: ADDRESS/PREFIX, "dhcp" or "auto" (SLAAC), optional */
        char *gw6;    /* IPv6 gateway, with a static ip6 */
        char *hwaddr; /* optional: otherwise one derived from the service and interface names */
        unsigned mtu; /* 0 = default */
        unsigned tag; /* VLAN id on a VLAN-aware bridge, 0 = none */
};

/* Lxc=KEY=VALUE: a raw liblxc key hl does not model, written as it is. */
struct hl_lxc_key {
        char *key;   /* lxc.… */
        char *value;
        unsigned line;
};

/* What all Lxc= lines of a definition may take, in bytes of "KEY = VALUE\n". */
#define HL_DEF_MAX_LXC 4000

enum hl_restart_policy {
        HL_RESTART_ON_FAILURE,
        HL_RESTART_ALWAYS,
        HL_RESTART_NO,
};

/* [Restart]: what hld does when a container stops without being asked to. The first
 * start_limit_burst restarts are immediate; after that each waits restart_sec, doubling
 * up to restart_max_delay: the service is "crash-looping". A container that stays up for
 * start_limit_interval ends the count. */
struct hl_restart {
        enum hl_restart_policy policy;
        uint64_t restart_sec_ms;
        uint64_t restart_max_delay_ms;
        uint64_t start_limit_interval_ms;
        unsigned start_limit_burst;
};

/* [Health]: probes run every interval_ms (jittered); retries failures in a row make the
 * service unhealthy, one success healthy again; failures in the start period after a
 * start do not count. */
struct hl_health {
        struct hl_check *checks;
        size_t n_checks;
        uint64_t interval_ms;
        uint64_t timeout_ms;
        unsigned retries;
        uint64_t start_period_ms;
};

/* [Update]: what hlctl update runs inside the container (Exec=, like Provision=), whether
 * it restarts the container after, and how long the checks then have to pass before the
 * update is rolled back. */
struct hl_update {
        char **exec; /* strv, NULL: the service has no update */
        bool restart;
        uint64_t health_timeout_ms;
};

/* [Snapshot]: snapshots hld takes by itself (named auto-YYYYMMDD-HHMMSS), and how many of
 * them it keeps (the other snapshots are never pruned). */
struct hl_snapshots {
        char *schedule; /* as written; NULL: none */
        struct hl_calendar calendar;
        char *keep_text; /* canonical; NULL: keep every one */
        struct hl_keep keep;
};

/* [Backup]: archives hld writes by itself on a schedule, where (NULL: the state directory's
 * backups/), and how many of the service's archives there it keeps. */
struct hl_backups {
        struct hl_snapshots times; /* Schedule= and Keep=, as [Snapshot]'s */
        char *dir;
        bool stop_mode; /* Mode=stop: stopped cleanly for the archive, not snapshotted */
};

struct hl_def {
        char *name;
        char *description;
        char **requires; /* strv */
        unsigned *requires_lines; /* the line each entry of requires was written on */
        /* After=: started after these when both are started (stopped before them), as
         * systemd's After=: ordering without requirement; a name not defined is ignored. */
        char **after;
        enum hl_desired_state state;
        /* Host=: a service hl does not run, checked from the node at this IP address. It
         * has no [Container] (template_name is NULL) and no restarts, updates or backups. */
        char *host;
        unsigned host_line;

        char *template_name; /* busybox, /abs/rootfs.tar.zst or clone:NAME */
        unsigned template_line; /* where Template= was written, for later checks */
        char *hostname;      /* NULL = the service name */
        unsigned cores;      /* 0 = no limit */
        uint64_t memory;     /* bytes, 0 = no limit */
        uint64_t swap;       /* bytes, 0 = no limit; needs memory */
        struct hl_mount *mounts;
        size_t n_mounts;
        struct hl_network *networks;
        size_t n_networks;
        bool unprivileged;
        /* Features= (Proxmox's words): nesting (containers inside), fuse (/dev/fuse), keyctl
         * (allowed: hl adds no seccomp rule against it). */
        bool nesting, fuse, keyctl;
        struct hl_lxc_key *lxc; /* Lxc=, in file order */
        size_t n_lxc;
        char **provision;   /* strv of shell command lines, run once after create */
        char **environment; /* strv of KEY=VALUE */
        char **nameservers; /* strv of IP addresses for the container's resolv.conf */
        char **search;      /* strv of search domains */
        uint64_t boot_timeout_ms; /* how long the first boot may take before Provision= */
        struct hl_update update;
        struct hl_snapshots snapshots;
        struct hl_backups backups;

        struct hl_restart restart;
        struct hl_health health;
};

const char *hl_restart_policy_to_string(enum hl_restart_policy p);

enum hl_template_kind {
        HL_TEMPLATE_SCRIPT,  /* an LXC template script such as "busybox" */
        HL_TEMPLATE_TARBALL, /* an absolute path to a rootfs tarball */
        HL_TEMPLATE_CLONE,   /* clone:NAME */
        HL_TEMPLATE_OCI,     /* oci:PATH[:TAG]: an OCI image layout or oci-archive (an application container) */
        HL_TEMPLATE_STORAGE, /* STORAGE:vztmpl/FILE of a Proxmox directory storage */
        HL_TEMPLATE_ADOPTED, /* "adopted": made outside hl (hlctl adopt), never made again */
        HL_TEMPLATE_NONE,    /* a Host= service: no container at all */
};

/* Parses and validates one definition. name is the service name (the file name without
 * .conf), file is used in messages only. On failure returns -EINVAL (or -ENOMEM) with every
 * error of the file in errors, in line order; ret is written only on success. */
int hl_def_parse_all(const char *name, const char *file, const char *text, size_t len, struct hl_def **ret,
                     struct hl_errors *errors);
/* The same, with the first error only. */
int hl_def_parse(const char *name, const char *file, const char *text, size_t len,
                 struct hl_def **ret, struct hl_def_error *ret_error);

struct hl_def *hl_def_free(struct hl_def *d);
HL_DEFINE_FREEP(struct hl_def, hl_def_free)

/* The definition as canonical JSON: every key present, lists in file order, sizes in bytes. */
json_t *hl_def_to_json(const struct hl_def *d);
/* The compact, key-sorted, ASCII dump of hl_def_to_json(): what is stored and hashed. */
char *hl_def_canonical(const struct hl_def *d);
/* SHA-256 of hl_def_canonical(). */
int hl_def_hash(const struct hl_def *d, char ret[65]);

enum hl_template_kind hl_def_template_kind(const struct hl_def *d, const char **ret_arg);

/* Why hl owns an lxc key (the definition key that sets it), or NULL when Lxc= may set it. */
const char *hl_def_lxc_owner(const char *key);
/* Whether key is spelled as an lxc key (lxc.hook.pre-start): what Lxc= accepts at all. */
bool hl_def_lxc_key_is_valid(const char *key);

/* Orders definitions so that each comes after everything it Requires and is After=. Names
 * of services outside defs are ignored here (the daemon checks those against its store).
 * ret_order receives n indices into defs. A cycle gives -ELOOP and a message naming it
 * ("a -> b -> a") in ret_error. */
int hl_def_order(struct hl_def *const *defs, size_t n, size_t *ret_order,
                 struct hl_def_error *ret_error);

