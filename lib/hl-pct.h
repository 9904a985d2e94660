/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Proxmox VE container configs (/etc/pve/lxc/VMID.conf, pct's format) read and turned
 * into one hl definition: `key: value` lines, `#` lines (the description, %XX-encoded),
 * raw `lxc.*` keys, `[snapshot]` and `[pve:pending]` sections. Every key of the main
 * section is either mapped (the definition line it became), mapped with loss (and what is
 * lost), or not mapped (and why); an unknown key, a malformed line or value is an error of
 * its line, and all of a file's are reported. The definition made is checked by hl's own
 * parser, its errors reported at the pct line they came from. No I/O. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl-ini.h"

#define HL_PCT_MAX_SIZE (1024u * 1024u) /* pmxcfs's limit for one file */

enum hl_pct_fate {
        HL_PCT_MAPPED,
        HL_PCT_LOSSY,
        HL_PCT_UNMAPPED,
};

struct hl_pct_key {
        unsigned line;
        char *key;
        char *value;
        enum hl_pct_fate fate;
        char *to;  /* the definition lines it became ('\n'-separated), or NULL */
        char *why; /* what is lost, or why it is not mapped, or NULL */
};

struct hl_pct {
        char *name;       /* the service's: --name, else from the hostname, else ct<VMID> */
        char *definition; /* the text of NAME.conf */
        struct hl_pct_key *keys;
        size_t n_keys;
        unsigned snapshots; /* [snapshot] sections, not imported */
        long long order;    /* startup: order=, -1 when none */
        bool pending;       /* a [pve:pending] section, not applied */
};

struct hl_pct_options {
        const char *vmid;     /* from the file name (VMID.conf), or NULL */
        const char *name;     /* the service name to use, or NULL */
        const char *template; /* Template= of the definition (required) */
        const char *arch;     /* this node's, in Proxmox's words (amd64, arm64, …) */
};

/* text: the config (len bytes, at most HL_PCT_MAX_SIZE), file: for messages. -EINVAL with
 * every error in errors, -ENOMEM, or 0 and *ret. */
int hl_pct_import(const char *file, const char *text, size_t len, const struct hl_pct_options *o, struct hl_pct **ret,
                  struct hl_errors *errors);
struct hl_pct *hl_pct_free(struct hl_pct *p);
HL_DEFINE_FREEP(struct hl_pct, hl_pct_free)

/* The startup orders of configs imported together, as After= lines in their definitions:
 * each after those of the next lower order, those without an order after those of the
 * highest (Proxmox starts them last); the startup key's row names the line. */
int hl_pct_order(struct hl_pct *const *ps, size_t n);

const char *hl_pct_fate_to_string(enum hl_pct_fate f);
/* {name, definition, snapshots, pending, keys: [{line, key, value, fate, to?, why?}]} */
json_t *hl_pct_to_json(const struct hl_pct *p);
/* text with `onboot: 0` in its main section (the line replaced, or added at the end of
 * the section), every other line as it was; NULL when out of memory. */
char *hl_pct_onboot_off(const char *text);
/* Of a guest's config (pct's or qm's, the same format): its name (hostname: for a
 * container, name: for a VM; NULL when it has none) and onboot, from the main section.
 * Lenient: a listing of what Proxmox runs, not an import. */
int hl_pve_guest_summary(const char *text, size_t len, char **ret_name, bool *ret_onboot);

/* Proxmox's word for the architecture hl runs on (uname's machine), or NULL. */
const char *hl_pct_host_arch(void);
