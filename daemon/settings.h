/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a definition asks of its container, as LXC config keys and values: computed,
 * compared and described without liblxc (ct.c writes and reads them). */

#include <stdbool.h>
#include <stddef.h>

#include "hl-def.h"

enum ct_apply {
        CT_APPLY_LIVE,     /* written to the config and, when running, to the cgroup */
        CT_APPLY_RESTART,  /* written to the config, takes effect at the next start */
        CT_APPLY_RECREATE, /* fixed at creation: only destroy + create changes it */
};

/* One managed setting: an lxc config key (or hl's own "hl.*" pseudo key) and its value;
 * "" means absent. */
struct ct_setting {
        char *key;
        char *label; /* what people call it in a plan: "memory", "network eth0" */
        char *value;
        enum ct_apply apply;
};

struct ct_settings {
        struct ct_setting *items;
        size_t n;
};

/* Keys and units the settings (settings.c) and the adapter (ct.c) agree on. */
#define KEY_ORIGIN "hl.origin"
#define KEY_MOUNTS "lxc.mount.entry"
#define KEY_GUEST "hl.guest"
/* Lxc= lines, "KEY = VALUE" each: written into the config, and recorded in hl-lxc-keys so that
 * the keys can be cleared again when the lines go. */
#define KEY_LXC "hl.lxc"
#define CPU_PERIOD_US 100000

void settings_done(struct ct_settings *s);
/* The settings a definition asks for, for this host's cgroup layout. */
int settings_for(const struct hl_def *def, struct ct_settings *ret);
/* "memory 256M -> 512M (live)", for plans; ret is malloc'd. */
char *settings_describe(const struct ct_setting *want, const char *have);
/* A list as the settings compare it: its lines joined by newlines, in order; malloc'd. */
char *settings_join_lines(char *const *v);

/* What derived MAC addresses are made of besides the service: this node's machine id. */
void settings_set_node_id(const char *id);
/* The broadcast address of an IPv4 ADDRESS/PREFIX, as text. */
int settings_ipv4_broadcast(const char *cidr, char *buf, size_t size);

/* Whether this host has the unified cgroup v2 hierarchy (else v1 or hybrid): detected
 * once, before anything asks. */
int settings_detect_cgroups(void);
bool settings_cgroup_v2(void);
