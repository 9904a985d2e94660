/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The liblxc adapter. Every function here blocks: call it from libuv's thread pool, never
 * from the loop. Each call opens its own struct lxc_container, so calls on different
 * threads share nothing. Errors come back as -errno and a malloc'd sentence. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hl-def.h"
#include "hl-macro.h"
#include "hl-state.h"
#include "hl-util.h"
#include "netinfo.h"
#include "settings.h"

struct ct_observed {
        bool exists;       /* the container is defined (its config exists) */
        bool half_created; /* a create was interrupted: remains to clean up first */
        /* Defined, whole, and not made by hld (no hl-origin): another tool's container that
         * happens to have the service's name. hld never changes it. */
        bool foreign;
        /* Why the container must not be started ("" = it may): its config lost what hld
         * wrote. Destroying it is allowed. */
        char damaged[256];
        /* Why hld must not touch it at all ("" = it may): its directory or config is a
         * symlink, or another user's, or writable by others. */
        char unsafe[256];
        enum hl_ct_state state;
        pid_t pid;
        /* The container's values for the keys of the settings passed in, same order. */
        char **values;
        size_t n_values;
        /* From the cgroup, when running; 0 = unknown or unlimited. */
        uint64_t live_memory, live_swap, memory_usage;
        unsigned live_cores;
        /* Its interfaces and addresses, when running. */
        struct netinfo net;
        /* A rollback to this snapshot was begun and not finished ("" = none): the
         * container's own files may be gone, and the rollback is to be done again. */
        char rolling_back[HL_SNAPSHOT_NAME_MAX + 1];
        /* An update (hlctl update) took this snapshot and has not been judged ("" = none):
         * when no update of the service is under way, it is to be rolled back to it. */
        char updating[HL_SNAPSHOT_NAME_MAX + 1];
};

void ct_observed_done(struct ct_observed *o);

/* Detects the cgroup layout and where hld's own cgroups are; call once before anything
 * else. */
int ct_setup(void);

int ct_observe(const char *lxcpath, const char *name, const struct ct_settings *want, struct ct_observed *ret);
/* Creates the container from its template with the given settings and provisions it:
 * with Provision= lines it is started, waited for until it has booted (init, addresses,
 * gateways, resolver; up to BootTimeout=), and each line runs in it. ret_detail gets the
 * record of that as JSON ({"boot_ms", "boot_error", "steps": [{"step", "command",
 * "status", "duration_ms", "stdout", "stderr"}]}, the output's tails), failed or not. It is left stopped, or running when it was
 * started for provisioning and leave_running is set: a clean shutdown only to start it
 * again costs seconds. A marker file in its directory says "half made" until the end. */
int ct_create(const char *lxcpath, const struct hl_def *def, const struct ct_settings *settings, bool leave_running,
              char **ret_detail, char **ret_error);
/* Runs commands in the running container one after the other (in a helper, as Provision=
 * runs), until one fails; ret_detail gets {"steps": [...]} as ct_create's. With marker_file,
 * that file is first written in marker_dir with marker_text (an update's record). what names
 * them in errors ("Update step 1 (...) failed with status 1: ..."). */
/* ct_create, from a copy of the root file system copy_from instead of the template (a
 * container migrated from Proxmox), marked CT_FILE_RESTORING from its first moment. */
int ct_create_copy(const char *lxcpath, const struct hl_def *def, const struct ct_settings *settings,
                   const char *copy_from, char **ret_error);
int ct_exec_steps(const char *lxcpath, const char *name, char *const *commands, const char *what, const char *marker_dir,
                  const char *marker_file, const char *marker_text, char **ret_detail, char **ret_error);
/* Writes settings to the config; with live, also to the running container's cgroup. */
int ct_configure(const char *lxcpath, const char *name, const struct ct_settings *settings, bool live,
                 char **ret_error);
int ct_start(const char *lxcpath, const char *name, char **ret_error);
int ct_stop(const char *lxcpath, const char *name, int timeout_s, char **ret_error);
int ct_destroy(const char *lxcpath, const char *name, char **ret_error);

/* What def needs of the node that is not there (a Mount= source, a Network= bridge), as a
 * sentence in ret_problem; 0 and no sentence when all is there. Blocks (stat). */
int ct_check_host(const struct hl_def *def, char **ret_problem);

/* Whether def's Template= can make a container: the template script exists, or the
 * tarball is a regular file that opens as a tar archive. Blocks (reads the file). */
int ct_template_check(const struct hl_def *def, char **ret_error);
/* What a running container uses, from its cgroup (v1 or v2): counters since its start
 * (CPU time, bytes read and written by its block I/O) and levels (memory, processes). */
struct ct_usage {
        uint64_t cpu_usec;
        uint64_t memory;
        uint64_t io_read, io_write;
        uint64_t processes;
};
int ct_usage(const char *lxcpath, const char *name, struct ct_usage *ret);

/* Whether this liblxc knows an lxc key (an Lxc= line's). */
bool ct_lxc_key_supported(const char *key);

/* Removes the temporary files of writes a kill interrupted (config.tmp …) from a container
 * hld made. Returns how many there were. */
int ct_remove_leftovers(const char *lxcpath, const char *name);

/* A deep copy, for the service's in-memory view. */
int ct_observe_copy(struct ct_observed *dst, const struct ct_observed *src);

/* liblxc's configured lxc.lxcpath (usually /var/lib/lxc). */
const char *ct_default_lxcpath(void);
/* Where /etc/pve is, for Template=STORAGE:vztmpl/FILE (PVE_ROOT/storage.cfg). Call at start. */
int ct_set_pve_root(const char *dir);

/* Another tool's container: its state, and its root file system when it is a directory
 * (NULL otherwise: a volume). Blocks. */
int ct_rootfs_dir(const char *lxcpath, const char *name, char **ret_dir, enum hl_ct_state *ret_state, char **ret_error);

/* The config's values for keys ("" when absent, a list's lines joined by newlines). Blocks. */
int ct_config_values(const char *lxcpath, const char *name, char *const *keys, char ***ret);
/* Marks a foreign container as hld's (hl-adopting first, then hl-origin, hl-mounts and
 * hl-guest as s says they are), and takes that back. Blocks. */
int ct_adopt_mark(const char *lxcpath, const char *name, const struct ct_settings *s);
void ct_adopt_undo(const char *lxcpath, const char *name);

/* The state of any container (MISSING when there is none). Blocks. */
enum hl_ct_state ct_state(const char *lxcpath, const char *name);

/* Containers in lxcpath that hld did not make (a config, no hl-origin) and that no name of
 * services (a strv) is: another tool's, listed and never touched. Blocks. */
struct ct_foreign {
        char name[256];
        enum hl_ct_state state;
};
int ct_list_foreign(const char *lxcpath, char *const *services, struct ct_foreign **ret, size_t *ret_n);

/* What an exec probe's helper tells: how the command ended (0 exited, 1 killed at the
 * timeout, -1 never started), its wait status, and how long it took from the attach. */
struct ct_attach_result {
        int how;
        int status;
        int64_t duration_us;
};

/* Runs argv inside the running container (liblxc attach, environment cleared, standard
 * streams on /dev/null) from a helper process, and returns at once: ret_fd then yields a
 * struct ct_attach_result, followed by an error text if it never started; EOF when the
 * helper is done. The helper is hld's child: reap it after EOF. */
int ct_attach(const char *lxcpath, const char *name, char *const *argv, uint64_t timeout_ms, pid_t *ret_helper,
              int *ret_fd, char **ret_error);

/* --- shared with snapshot.c, the adapter's other half ------------------------------------ */

/* The files hld keeps beside a container's config: what a snapshot keeps with it. */
#define CT_FILE_ORIGIN "hl-origin"
#define CT_FILE_MOUNTS "hl-mounts"
#define CT_FILE_GUEST "hl-guest"
#define CT_FILE_LXC "hl-lxc-keys"
/* An application container's: what its image's config runs, as lxc keys (an lxc.include). */
#define CT_FILE_OCI "hl-oci.conf"
/* Its command, word for word (JSON): started with liblxc's init.lxc (ct.c, do_start). */
#define CT_FILE_OCI_ARGV "hl-oci-argv"
/* The console's output as the monitor writes it (hlctl logs); at CT_CONSOLE_LOG_MAX it
 * becomes CONSOLE_LOG.1. */
#define CT_FILE_CONSOLE_LOG "console.log"
/* hld's marks of starts, stops, crashes and verdicts, read back with the console log (logs.h). */
#define CT_FILE_MARKS "hl-marks"
#define CT_CONSOLE_LOG_MAX (1024u * 1024u)
/* In the container's snaps/ (which liblxc's restore keeps): the name of the snapshot a
 * rollback is putting back, until it is done. */
#define CT_FILE_ROLLING_BACK "snaps/hl-rolling-back"
/* The prefix of the snapshot a backup archives (methods-backup.c), removed after it. */
#define CT_BACKUP_SNAPSHOT "hl-backup-"
/* In the container's snaps/: the snapshot of an update not yet judged healthy. */
#define CT_FILE_UPDATING "snaps/hl-updating"
/* In a restored or migrated container's directory until hld next starts with its service
 * stored (backup_remove_leftovers removes the container otherwise). */
#define CT_FILE_RESTORING "hl-restoring"
/* In an adopted container's directory until hld next starts with its service stored
 * (without one, that start takes hld's files out again: the container is foreign again). */
#define CT_FILE_ADOPTING "hl-adopting"
/* In a snapshot's directory while it is being made. */
#define CT_FILE_PARTIAL "hl-partial"

struct lxc_container;
typedef int (*ct_helper_fn)(void *data, char **ret_error);
/* Runs fn in a helper process forked for it (ct.c says why), and hands back its result and
 * error sentence (and, for a create, what it recorded). */
int ct_run_helper(const char *name, ct_helper_fn fn, void *data, char **ret_detail, char **ret_error);
/* In a helper: liblxc's log goes to the container's hl-lxc.log, for ct_lxc_reason. */
void ct_helper_log_begin(const char *lxcpath, const char *name);
/* Why liblxc's last call on c failed, from its log: a static buffer. */
const char *ct_lxc_reason(struct lxc_container *c);
void ct_container_putp(struct lxc_container **c);
/* A key's value in c's config, trailing newlines cut; "" when unset; NULL when out of memory. */
char *ct_config_value(struct lxc_container *c, const char *key);
#define _cleanup_container_ _cleanup_(ct_container_putp)
char *ct_path_in(const char *lxcpath, const char *name, const char *file);
/* Up to 4 KiB of a file, trailing newlines cut, never through a symlink; "" when it cannot
 * be read; NULL only when out of memory. */
char *ct_read_small_file(const char *path);
/* Writes dir/file by temp + fsync + rename, then fsyncs dir; never through a symlink. */
int ct_write_file(const char *dir, const char *file, const char *text);
/* Moves a stopped container from_lxcpath/name to lxcpath/name (one file system: a rename),
 * its config's paths into the old directory rewritten. A marker (hl-moving) goes with it
 * until the config is rewritten: ct_move_finish completes a move a kill interrupted. */
int ct_move(const char *from_lxcpath, const char *name, const char *lxcpath, char **ret_error);
/* Completes an interrupted move into lxcpath/name: 1 when there was one, 0 when none. */
int ct_move_finish(const char *lxcpath, const char *name, char **ret_error);
int ct_sync_dir(const char *dir);
/* Removes a directory tree without crossing into another file system or following a
 * symlink. */
int ct_remove_tree(const char *path);
