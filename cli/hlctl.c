/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "hl-def.h"
#include "hl-protocol.h"
#include "hl-util.h"
#include "complete.h"
#include "import.h"
#include "progress.h"
#include "session.h"
#include "table.h"
#include "top.h"
#include "output.h"
#include "reply.h"

enum {
        OPT_PRUNE = 1 << 0,
        OPT_YES = 1 << 1,
        OPT_SINCE = 1 << 2,
        OPT_LIMIT = 1 << 3,
        OPT_PLAN = 1 << 4,
        OPT_SERVICE = 1 << 5,
        OPT_ACTION = 1 << 6,
        OPT_FAILED = 1 << 7,
        OPT_FOLLOW = 1 << 8,
        OPT_HISTORY = 1 << 9,
        OPT_TIMEOUT = 1 << 10,
        OPT_FORCE = 1 << 11,
        OPT_COMMENT = 1 << 12,
        OPT_DELETE = 1 << 13,
        OPT_NO_WAIT = 1 << 14,
        OPT_TO = 1 << 15,
        OPT_AS = 1 << 16,
        OPT_ALL = 1 << 17,
        OPT_DRY_RUN = 1 << 18,
        OPT_LAST_UPDATE = 1 << 19,
        OPT_MODE = 1 << 20,
        OPT_TEMPLATE = 1 << 21,
        OPT_NAME = 1 << 22,
        OPT_PVE_ROOT = 1 << 23,
        OPT_MIGRATE = 1 << 24,
        OPT_ROOTFS = 1 << 25,
        OPT_LXCPATH = 1 << 26,
        OPT_ENV = 1 << 27,
        OPT_USER = 1 << 28,
        OPT_CWD = 1 << 29,
        OPT_NO_TTY = 1 << 30,
        OPT_LAST = OPT_NO_TTY,
};

static const struct output *output = &output_table;
static const char *arg_socket;
static bool arg_json;
static bool arg_prune;
static bool arg_yes;
static uint64_t arg_since_ms;
static uint64_t arg_limit;
static const char *arg_plan;
static const char *arg_service;
static const char *arg_action;
static uint64_t arg_timeout_ms;
static const char *arg_comment;
static const char *arg_to;
static const char *arg_as;
static const char *arg_mode;
static const char *arg_template;
static const char *arg_name;
static const char *arg_pve_root;
static const char *arg_rootfs;
static const char *arg_lxcpath;
static const char *arg_user;
static const char *arg_host; /* -H ssh://…, or HL_HOST */
static bool arg_bridge;
static const char *arg_cwd;
static json_t *arg_env; /* --env K=V, in order */
static unsigned arg_options; /* the OPT_* given, checked against the verb's */

struct verb {
        const char *name;
        unsigned min_args; /* not counting the verb */
        unsigned max_args;
        unsigned options;
        int (*run)(int argc, char **argv); /* argv[0] is the verb; returns the exit status */
        /* What its arguments are, for shell completion (complete.h); NULL for the hidden
         * verbs, which help and completion leave out. */
        const char *args;
};

static int log_oom(void) {
        log_error("%s", strerror(ENOMEM));
        return -ENOMEM;
}

static int exit_oom(void) {
        log_oom();
        return HLCTL_EXIT_FAILED;
}

/* Replies go to one output function; any action in them that failed makes the exit
 * status 1, whether printed as a table or as JSON. */
struct printer {
        int (*print)(json_t *reply);
};

static int print_reply(json_t *parameters, const void *userdata) {
        const struct printer *p = userdata;
        int r;

        r = p->print(parameters);
        if (r < 0)
                return r;
        if (output_actions_failed(json_object_get(parameters, "actions")) ||
            output_action_failed(json_object_get(parameters, "action")))
                return HLCTL_EXIT_FAILED;
        return 0;
}

static int call(const char *method, json_t *parameters, int (*print)(json_t *reply)) {
        const struct printer printer = { .print = print };
        const struct call_handler handler = { .on_reply = print_reply, .userdata = &printer };

        return call_method(arg_socket, method, parameters, false, &handler);
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* "x.conf", not ".conf": the service name is what comes before the suffix. */
static bool has_conf_suffix(const char *path) {
        const char *base = base_name(path);
        size_t n = strlen(base);

        return n > strlen(".conf") && strcmp(base + n - strlen(".conf"), ".conf") == 0;
}

/* Reads one definition file into {name, text, file}: -errno, with the error printed. */
static int read_definition(const char *path, json_t **ret) {
        _cleanup_free_ char *name = NULL, *buf = NULL;
        json_t *text, *definition;
        const char *base;
        size_t len = 0;
        int r;

        r = hl_read_file(path, HL_DEF_MAX_SIZE, &buf, &len);
        if (r == -EBADFD)
                log_error("%s is not a regular file: definitions are read from regular files only", path);
        else if (r == -EFBIG)
                log_error("%s is larger than the %uK a definition file may be", path, HL_DEF_MAX_SIZE / 1024);
        else if (r < 0)
                log_error("cannot read %s: %s", path, strerror(-r));
        if (r < 0)
                return r;
        base = base_name(path);
        name = strndup(base, strlen(base) - strlen(".conf"));
        if (!name)
                return log_oom();
        text = json_stringn(buf, len);
        if (!text) {
                log_error("%s is not UTF-8 text", path);
                return -EILSEQ;
        }
        definition = json_pack("{s:s, s:o, s:s}", "name", name, "text", text, "file", path);
        if (!definition) {
                log_error("the name of %s is not UTF-8", path);
                return -EILSEQ;
        }
        *ret = definition;
        return 0;
}

static int conf_filter(const struct dirent *de) {
        return de->d_name[0] != '.' && has_conf_suffix(de->d_name);
}

static int name_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int add_definition(json_t *definitions, const char *path) {
        json_t *definition = NULL;
        int r;

        r = read_definition(path, &definition);
        if (r < 0)
                return r;
        if (json_array_append_new(definitions, definition) < 0)
                return log_oom();
        return 0;
}

/* Every regular *.conf file in dir, sorted by name; not recursive. */
static int add_directory(json_t *definitions, const char *dir) {
        struct dirent **entries = NULL;
        size_t added = 0;
        int n, r = 0;

        n = scandir(dir, &entries, conf_filter, name_compare);
        if (n < 0) {
                r = -errno;
                log_error("cannot read the directory %s: %s", dir, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                size_t len = strlen(dir);
                struct stat st;

                if (r < 0)
                        goto next;
                path = hl_strdup_printf("%s%s%s", dir, len > 0 && dir[len - 1] == '/' ? "" : "/",
                                        entries[i]->d_name);
                if (!path) {
                        r = log_oom();
                        goto next;
                }
                /* A directory named x.conf is not a definition. */
                if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
                        goto next;
                r = add_definition(definitions, path);
                if (r >= 0)
                        added++;
        next:
                free(entries[i]);
        }
        free(entries);
        if (r >= 0 && added == 0) {
                log_error("%s holds no .conf files", dir);
                r = -ENOENT;
        }
        return r;
}

/* Collects the definitions named on the command line. Returns the exit status. */
static int collect_definitions(int argc, char **argv, json_t **ret) {
        _cleanup_(json_decrefp) json_t *definitions = NULL;
        struct stat st;

        /* The shape of the command line first, so a usage error reads no file. */
        for (int i = 0; i < argc; i++)
                if ((stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) && !has_conf_suffix(argv[i])) {
                        log_error("%s: a definition file must be named NAME.conf", argv[i]);
                        return HLCTL_EXIT_USAGE;
                }

        definitions = json_array();
        if (!definitions)
                return exit_oom();
        for (int i = 0; i < argc; i++) {
                int r;

                if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
                        r = add_directory(definitions, argv[i]);
                else
                        r = add_definition(definitions, argv[i]);
                if (r < 0)
                        return HLCTL_EXIT_FAILED;
        }
        *ret = TAKE_PTR(definitions);
        return HLCTL_EXIT_OK;
}

static int definitions_call(const char *method, int argc, char **argv, int (*print)(json_t *reply)) {
        _cleanup_(json_decrefp) json_t *parameters = NULL, *definitions = NULL;
        int r;

        parameters = json_pack("{s:b}", "prune", arg_prune);
        if (!parameters)
                return exit_oom();
        if (arg_plan && json_object_set_new(parameters, "plan", json_string(arg_plan)) < 0)
                return exit_oom();
        if (argc > 1) {
                r = collect_definitions(argc - 1, argv + 1, &definitions);
                if (r != HLCTL_EXIT_OK)
                        return r;
                if (json_object_set(parameters, "definitions", definitions) < 0)
                        return exit_oom();
        }
        return call(method, parameters, print);
}

/* Apply's streamed replies (one finished action each) drive the progress line; the last
 * one is the result, printed as without them. */
static int apply_reply(json_t *parameters, const void *userdata) {
        struct progress *p = (struct progress *) userdata;
        json_t *action;
        size_t i;

        if (call_reply_continues()) {
                json_array_foreach(json_object_get(parameters, "actions"), i, action)
                        progress_action(p, action);
                json_array_foreach(json_object_get(parameters, "others"), i, action)
                        progress_action(p, action);
                return 0;
        }
        progress_end(p);
        return print_reply(parameters, &(const struct printer) { .print = output->apply });
}

static void apply_tick(const void *userdata) {
        progress_tick((struct progress *) userdata);
}

static int verb_apply(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = NULL, *definitions = NULL;
        struct progress p;
        int r;

        parameters = json_pack("{s:b}", "prune", arg_prune);
        if (!parameters || (arg_plan && json_object_set_new(parameters, "plan", json_string(arg_plan)) < 0))
                return exit_oom();
        r = collect_definitions(argc - 1, argv + 1, &definitions);
        if (r != HLCTL_EXIT_OK)
                return r;
        if (json_object_set(parameters, "definitions", definitions) < 0)
                return exit_oom();
        progress_begin(&p, "apply", arg_json);
        /* Streamed only for the line: without a terminal the one reply is all there is. */
        r = call_method(arg_socket, HL_INTERFACE ".Apply", parameters, p.on,
                        &(const struct call_handler) { .on_reply = apply_reply, .userdata = &p,
                                                       .on_tick = p.on ? apply_tick : NULL });
        progress_end(&p);
        return r;
}

static int verb_plan(int argc, char **argv) {
        return definitions_call(HL_INTERFACE ".Plan", argc, argv, output->plan);
}

static int verb_list(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = (arg_options & OPT_ALL) ? json_pack("{s:b}", "all", true) : NULL;

        return call(HL_INTERFACE ".List", parameters, output->list);
}

static int verb_top(int argc, char **argv) {
        return top_run(arg_socket, arg_json, !arg_json && isatty(STDOUT_FILENO));
}

static int name_call(const char *method, const char *name, int (*print)(json_t *reply)) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", name);

        if (!parameters) {
                log_error("invalid service name: %s", name);
                return HLCTL_EXIT_USAGE;
        }
        return call(method, parameters, print);
}

/* --timeout and --force, as Stop, Restart, Destroy and Rollback take them. */
static int add_stop_options(json_t *parameters) {
        if ((arg_options & OPT_TIMEOUT) &&
            json_object_set_new(parameters, "timeout", json_integer((json_int_t) (arg_timeout_ms / 1000))) < 0)
                return -ENOMEM;
        if ((arg_options & OPT_FORCE) && json_object_set_new(parameters, "force", json_true()) < 0)
                return -ENOMEM;
        return 0;
}

/* {name, timeout?, force?}: what Stop, Restart and Destroy take. */
static int stop_call(const char *method, const char *name) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", name);

        if (!parameters) {
                log_error("invalid service name: %s", name);
                return HLCTL_EXIT_USAGE;
        }
        if (add_stop_options(parameters) < 0)
                return exit_oom();
        return call(method, parameters, output->action);
}

static int verb_show(int argc, char **argv) {
        return name_call(HL_INTERFACE ".Show", argv[1], output->show);
}

static int verb_lifecycle(int argc, char **argv) {
        static const struct {
                const char *verb;
                const char *method;
        } table[] = {
                { "start", HL_INTERFACE ".Start" },
                { "stop", HL_INTERFACE ".Stop" },
                { "restart", HL_INTERFACE ".Restart" },
        };

        for (size_t i = 0; i < HL_ELEMENTSOF(table); i++)
                if (strcmp(argv[0], table[i].verb) == 0)
                        return strcmp(argv[0], "start") == 0 ? name_call(table[i].method, argv[1], output->action)
                                                             : stop_call(table[i].method, argv[1]);
        log_error("unknown verb '%s'", argv[0]);
        return HLCTL_EXIT_USAGE;
}

/* Asks on the terminal; false on anything but y/yes, including end of input. */
static bool confirm_destroy(const char *name) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        fflush(stdout);
        fprintf(stderr, "Destroy container %s and forget the service? [y/N] ", name);
        fflush(stderr);
        n = getline(&line, &size, stdin);
        if (n < 0)
                return false;
        line[strcspn(line, "\r\n")] = 0;
        return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static int verb_destroy(int argc, char **argv) {
        if (!arg_yes) {
                if (!isatty(STDIN_FILENO)) {
                        log_error("destroy needs --yes when not run from a terminal");
                        return HLCTL_EXIT_USAGE;
                }
                if (!confirm_destroy(argv[1])) {
                        log_error("not destroying %s", argv[1]);
                        return HLCTL_EXIT_FAILED;
                }
        }
        return stop_call(HL_INTERFACE ".Destroy", argv[1]);
}

/* hlctl snapshot NAME [SNAP] [--comment TEXT], hlctl snapshot --delete NAME SNAP. */
static int verb_snapshot(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);
        bool delete = arg_options & OPT_DELETE;

        if (!parameters) {
                log_error("invalid service name: %s", argv[1]);
                return HLCTL_EXIT_USAGE;
        }
        if (delete && (argc < 3 || arg_comment)) {
                log_error(argc < 3 ? "snapshot --delete needs the snapshot's name" : "--comment is not an option of --delete");
                return HLCTL_EXIT_USAGE;
        }
        if (argc > 2 && json_object_set_new(parameters, "snapshot", json_string(argv[2])) < 0) {
                log_error("invalid snapshot name: %s", argv[2]);
                return HLCTL_EXIT_USAGE;
        }
        if (arg_comment && json_object_set_new(parameters, "comment", json_string(arg_comment)) < 0) {
                log_error("the comment is not UTF-8");
                return HLCTL_EXIT_USAGE;
        }
        return call(delete ? HL_INTERFACE ".DeleteSnapshot" : HL_INTERFACE ".Snapshot", parameters, output->action);
}

static int verb_snapshots(int argc, char **argv) {
        return name_call(HL_INTERFACE ".Snapshots", argv[1], output->snapshots);
}

/* The health of one service in a List reply, into the buffer passed as userdata. */
struct health_of {
        const char *name;
        char health[32];
};

static int health_reply(json_t *parameters, const void *userdata) {
        struct health_of *h = (struct health_of *) userdata;
        json_t *services = reply_array(parameters, "services"), *s;
        size_t i;

        json_array_foreach(services, i, s)
                if (strcmp(reply_string(s, "name") ?: "", h->name) == 0)
                        snprintf(h->health, sizeof(h->health), "%s", reply_string(s, "health") ?: "none");
        return 0;
}

/* After a rollback that started the service: its first verdict, as hlctl start's caller
 * would wait for it by hand. At most 10 minutes. */
static int wait_for_health(const char *name) {
        struct health_of h = { .name = name };
        const struct call_handler handler = { .on_reply = health_reply, .userdata = &h };

        for (unsigned i = 0; i < 10 * 60 * 4; i++) {
                int r;

                h.health[0] = 0;
                r = call_method(arg_socket, HL_INTERFACE ".List", NULL, false, &handler);
                if (r != HLCTL_EXIT_OK)
                        return r;
                if (strcmp(h.health, "starting") != 0)
                        break;
                usleep(250 * 1000);
        }
        if (strcmp(h.health, "unhealthy") == 0 || strcmp(h.health, "starting") == 0) {
                log_error("%s is %s after the rollback (hlctl why %s)", name,
                          strcmp(h.health, "starting") == 0 ? "still without a health verdict" : "unhealthy", name);
                return HLCTL_EXIT_FAILED;
        }
        if (!arg_json && strcmp(h.health, "healthy") == 0)
                printf("%s is healthy.\n", name);
        return HLCTL_EXIT_OK;
}

/* The newest update-... snapshot of a Snapshots reply, into the buffer of userdata. */
static int last_update_reply(json_t *parameters, const void *userdata) {
        char *snap = (char *) userdata;
        json_t *snapshots = reply_array(parameters, "snapshots"), *s;
        size_t i;

        json_array_foreach(snapshots, i, s) {
                const char *n = reply_string(s, "name");
                if (n && strncmp(n, "update-", 7) == 0)
                        snprintf(snap, HL_SNAPSHOT_NAME_MAX + 1, "%s", n); /* oldest first: the last wins */
        }
        return 0;
}

static int verb_rollback(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);
        char last[HL_SNAPSHOT_NAME_MAX + 1] = "";
        const char *snap = argc > 2 ? argv[2] : NULL;
        int r;

        if ((snap != NULL) == ((arg_options & OPT_LAST_UPDATE) != 0)) {
                log_error("rollback needs a snapshot's name, or --last (the last update's)");
                return HLCTL_EXIT_USAGE;
        }
        if (!snap) {
                r = call_method(arg_socket, HL_INTERFACE ".Snapshots", parameters, false,
                                &(const struct call_handler) { .on_reply = last_update_reply, .userdata = last });
                if (r != HLCTL_EXIT_OK)
                        return r;
                if (!last[0]) {
                        log_error("%s has no update to undo: no update-... snapshot", argv[1]);
                        return HLCTL_EXIT_FAILED;
                }
                snap = last;
        }
        if (!parameters || json_object_set_new(parameters, "snapshot", json_string(snap)) < 0) {
                log_error("invalid service or snapshot name");
                return HLCTL_EXIT_USAGE;
        }
        if (add_stop_options(parameters) < 0)
                return exit_oom();
        r = call(HL_INTERFACE ".Rollback", parameters, output->action);
        if (r != HLCTL_EXIT_OK || (arg_options & OPT_NO_WAIT))
                return r;
        return wait_for_health(argv[1]);
}

/* Progress of a backup: a bar on a terminal, a line each tenth otherwise; the archive. */
struct backup_progress {
        int last_tenth;
        bool tty, bar;
};

static int backup_reply(json_t *parameters, const void *userdata) {
        struct backup_progress *p = (struct backup_progress *) userdata;
        json_t *progress = reply_object(parameters, "progress");
        int64_t bytes = 0, total = 0, size = 0, ms = 0;

        if (progress) {
                int percent;

                if (arg_json || !reply_int(progress, "bytes", &bytes) || !reply_int(progress, "total", &total) || total <= 0)
                        return 0;
                percent = (int) (bytes * 100 / total);
                percent = percent > 100 ? 100 : percent;
                if (p->tty) {
                        fprintf(stderr, "\r[%-40.*s] %3d%% %" PRId64 "/%" PRId64 " MiB", percent * 40 / 100,
                                "########################################", percent, bytes >> 20, total >> 20);
                        p->bar = true;
                } else if (percent / 10 > p->last_tenth) {
                        p->last_tenth = percent / 10;
                        printf("%d%% (%" PRId64 " of %" PRId64 " MiB)\n", percent, bytes >> 20, total >> 20);
                        fflush(stdout);
                }
                return 0;
        }
        if (p->bar)
                fputc('\n', stderr);
        if (arg_json)
                return output->snapshots(parameters); /* JSON: the reply as it is */
        reply_int(parameters, "size", &size);
        reply_int(parameters, "duration_ms", &ms);
        printf("%s (%.1f MiB in %.1f s)\n", reply_string(parameters, "archive") ?: "-", (double) size / (1 << 20),
               (double) ms / 1000);
        return 0;
}

static int verb_backup(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);
        struct backup_progress p = { .tty = isatty(STDERR_FILENO) };
        const struct call_handler handler = { .on_reply = backup_reply, .userdata = &p };

        if (!parameters || (arg_to && json_object_set_new(parameters, "dir", json_string(arg_to)) < 0) ||
            (arg_mode && json_object_set_new(parameters, "mode", json_string(arg_mode)) < 0)) {
                log_error("invalid service name, directory or mode");
                return HLCTL_EXIT_USAGE;
        }
        return call_method(arg_socket, HL_INTERFACE ".Backup", parameters, true, &handler);
}

/* Restore, Migrate and Adopt answer once, when all is done: on a terminal a line with the
 * time so far stands in meanwhile. */
struct restored {
        char name[HL_NAME_MAX + 1];
        struct progress progress;
};

static int restore_call(const char *method, const char *what, json_t *parameters, struct restored *r,
                        int (*on_reply)(json_t *parameters, const void *userdata));

static int restore_reply(json_t *parameters, const void *userdata);

/* import pct VMID --migrate: the definition made here, the container made by hld from a
 * copy of the pct container's files, then waited for as a restore is. */
static int migrate(int argc, char **argv, const char *root) {
        _cleanup_free_ char *name = NULL, *text = NULL, *file = NULL, *container = NULL;
        _cleanup_(json_decrefp) json_t *parameters = NULL;
        struct restored migrated = {};
        int r;

        if (argc != 3) {
                log_error("--migrate moves one container at a time");
                return HLCTL_EXIT_USAGE;
        }
        r = import_pct_one(argv[2], &(const struct import_args) { .to = arg_to, .template = arg_template,
                                                                 .name = arg_name, .pve_root = root },
                           &name, &text, &file, &container);
        if (r != HLCTL_EXIT_OK)
                return r;
        parameters = json_pack("{s:{s:s, s:s, s:s}, s:s, s:b}", "definition", "name", name, "text", text, "file", file,
                               "container", container, "stop", arg_yes);
        if (!parameters || (arg_lxcpath && json_object_set_new(parameters, "lxcpath", json_string(arg_lxcpath)) < 0) ||
            (arg_rootfs && json_object_set_new(parameters, "rootfs", json_string(arg_rootfs)) < 0))
                return exit_oom();
        r = restore_call(HL_INTERFACE ".Migrate", "migrate", parameters, &migrated, restore_reply);
        if (r != HLCTL_EXIT_OK || (arg_options & OPT_NO_WAIT) || !migrated.name[0])
                return r;
        return wait_for_health(migrated.name);
}

/* The definition adopt derived, and what the first plan still changes. */
static int adopt_reply(json_t *parameters, const void *userdata) {
        json_t *differences = reply_array(parameters, "differences"), *d;
        size_t i;
        int r = restore_reply(parameters, userdata);

        if (arg_json)
                return r;
        json_array_foreach(differences, i, d)
                fprintf(stderr, "hlctl: the config differs from what hl would write: %s\n", json_string_value(d));
        if (arg_to && reply_string(parameters, "definition")) {
                _cleanup_free_ char *path = hl_strdup_printf("%s/%s.conf", arg_to, (const char *) userdata);
                _cleanup_free_ char *tmp = path ? hl_strdup_printf("%s.tmp", path) : NULL;
                FILE *f = tmp ? fopen(tmp, "wxe") : NULL;

                if (!f || fputs(reply_string(parameters, "definition"), f) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0 ||
                    fclose(f) != 0 || rename(tmp, path) < 0) {
                        log_error("cannot write %s: %s", path ? path : arg_to, strerror(errno));
                        return HLCTL_EXIT_FAILED;
                }
                printf("%s: wrote %s\n", (const char *) userdata, path);
        }
        return r;
}

static int verb_adopt(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s, s:b}", "name", argv[1], "stop", arg_yes);
        struct restored adopted = {};

        if (!parameters || (arg_lxcpath && json_object_set_new(parameters, "lxcpath", json_string(arg_lxcpath)) < 0))
                return exit_oom();
        return restore_call(HL_INTERFACE ".Adopt", "adopt", parameters, &adopted, adopt_reply);
}

static int verb_import(int argc, char **argv) {
        const char *root = arg_pve_root ? arg_pve_root : getenv("HL_PVE_ROOT") ? getenv("HL_PVE_ROOT") : "/etc/pve";

        if (strcmp(argv[1], "pct") != 0) {
                log_error("import %s: hlctl imports pct containers (import pct VMID|FILE…)", argv[1]);
                return HLCTL_EXIT_USAGE;
        }
        if (!arg_template) {
                log_error("import pct needs --template TEMPLATE: a pct container's root file system is a storage volume, "
                          "and its definition needs a Template= to make one");
                return HLCTL_EXIT_USAGE;
        }
        if (arg_name && argc != 3) {
                log_error("--name names the service of one config");
                return HLCTL_EXIT_USAGE;
        }
        if ((arg_options & (OPT_ROOTFS | OPT_LXCPATH | OPT_YES)) && !(arg_options & OPT_MIGRATE)) {
                log_error("--rootfs, --lxcpath and --yes go with --migrate");
                return HLCTL_EXIT_USAGE;
        }
        if (arg_options & OPT_MIGRATE)
                return migrate(argc, argv, root);
        return import_pct(argv + 2, argc - 2,
                          &(const struct import_args) { .to = arg_to, .template = arg_template, .name = arg_name,
                                                        .pve_root = root, .json = arg_json });
}

static int verb_backups(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);

        if (!parameters || (arg_to && json_object_set_new(parameters, "dir", json_string(arg_to)) < 0)) {
                log_error("invalid service name or directory");
                return HLCTL_EXIT_USAGE;
        }
        return call(HL_INTERFACE ".Backups", parameters, output->backups);
}

/* Apply's reply, printed as apply prints it; the name of the service restored. */
static int restore_reply(json_t *parameters, const void *userdata) {
        struct restored *r = (struct restored *) userdata;
        json_t *changed = reply_array(parameters, "changed");
        const struct printer printer = { .print = output->apply };

        progress_end(&r->progress);
        snprintf(r->name, sizeof(r->name), "%s", json_string_value(json_array_get(changed, 0)) ?: "");
        return print_reply(parameters, &printer);
}

static void restore_tick(const void *userdata) {
        progress_tick(&((struct restored *) userdata)->progress);
}

/* The call of one of them, with the line; the service's name in *r. */
static int restore_call(const char *method, const char *what, json_t *parameters, struct restored *r,
                        int (*on_reply)(json_t *parameters, const void *userdata)) {
        int status;

        progress_begin(&r->progress, what, arg_json);
        status = call_method(arg_socket, method, parameters, false,
                             &(const struct call_handler) { .on_reply = on_reply, .userdata = r,
                                                            .on_tick = r->progress.on ? restore_tick : NULL });
        progress_end(&r->progress);
        return status;
}

static int verb_restore(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = NULL;
        _cleanup_free_ char *path = realpath(argv[1], NULL);
        struct restored restored = {};
        int r;

        if (!path) {
                log_error("cannot read %s: %s", argv[1], strerror(errno));
                return HLCTL_EXIT_USAGE;
        }
        parameters = json_pack("{s:s}", "file", path);
        if (!parameters || (arg_as && json_object_set_new(parameters, "as", json_string(arg_as)) < 0) ||
            ((arg_options & OPT_FORCE) && json_object_set_new(parameters, "force", json_true()) < 0)) {
                log_error("invalid name: %s", arg_as ? arg_as : path);
                return HLCTL_EXIT_USAGE;
        }
        r = restore_call(HL_INTERFACE ".Restore", "restore", parameters, &restored, restore_reply);
        if (r != HLCTL_EXIT_OK || (arg_options & OPT_NO_WAIT) || !restored.name[0])
                return r;
        return wait_for_health(restored.name);
}

/* Each step of an update as it ends; the outcome. */
static int update_reply(json_t *parameters, const void *userdata) {
        const char *name = userdata;
        json_t *st = reply_object(parameters, "step"), *plan = reply_array(parameters, "plan"), *v;
        const char *result = reply_string(parameters, "result");
        size_t i;

        if (arg_json) {
                if (st)
                        return 0;
                output->snapshots(parameters); /* JSON: the reply as it is */
                return result && strcmp(result, "rolled-back") == 0 ? HLCTL_EXIT_FAILED : 0;
        }
        if (st) {
                int64_t ms = 0;
                const char *detail = reply_string(st, "detail");

                reply_int(st, "duration_ms", &ms);
                printf("%s: %-22s %-7s %6.1f s%s%s\n", name, reply_string(st, "step") ?: "-", reply_string(st, "result") ?: "-",
                       (double) ms / 1000, detail ? "  " : "", detail ? detail : "");
                fflush(stdout);
                return 0;
        }
        json_array_foreach(plan, i, v)
                printf("%s: %zu. %s\n", name, i + 1, json_string_value(v));
        if (result && strcmp(result, "kept") == 0)
                printf("%s: updated, and healthy (snapshot %s kept)\n", name, reply_string(parameters, "snapshot") ?: "-");
        else if (result && strcmp(result, "rolled-back") == 0) {
                printf("%s: rolled back to %s: %s\n", name, reply_string(parameters, "snapshot") ?: "-",
                       reply_string(parameters, "error") ?: "the update failed");
                return HLCTL_EXIT_FAILED;
        }
        return 0;
}

static int update_one(const char *name) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s, s:b}", "name", name, "dry_run",
                                                               (arg_options & OPT_DRY_RUN) != 0);
        const struct call_handler handler = { .on_reply = update_reply, .userdata = name };

        if (!parameters) {
                log_error("invalid service name: %s", name);
                return HLCTL_EXIT_USAGE;
        }
        return call_method(arg_socket, HL_INTERFACE ".Update", parameters, true, &handler);
}

/* The services with an [Update], in hld's order (Requires= first), for update --all. */
static int names_reply(json_t *parameters, const void *userdata) {
        char ***names = (char ***) userdata;
        json_t *services = reply_array(parameters, "services"), *s;
        size_t i;

        json_array_foreach(services, i, s)
                if (json_is_true(json_object_get(s, "update")) && hl_strv_push(names, reply_string(s, "name") ?: "") < 0)
                        return -ENOMEM;
        return 0;
}

static int verb_update(int argc, char **argv) {
        _cleanup_(hl_strv_freep) char **names = NULL;
        const struct call_handler handler = { .on_reply = names_reply, .userdata = &names };
        int r;

        if ((argc > 1) == ((arg_options & OPT_ALL) != 0)) {
                log_error("update needs a service's name, or --all");
                return HLCTL_EXIT_USAGE;
        }
        if (argc > 1)
                return update_one(argv[1]);
        r = call_method(arg_socket, HL_INTERFACE ".List", NULL, false, &handler);
        if (r != HLCTL_EXIT_OK)
                return r;
        /* In Requires= order; the first that is rolled back or fails ends it. */
        for (char **n = names; n && *n; n++) {
                r = update_one(*n);
                if (r != HLCTL_EXIT_OK)
                        return r;
        }
        return HLCTL_EXIT_OK;
}

static int verb_reconcile(int argc, char **argv) {
        return call(HL_INTERFACE ".Reconcile", NULL, output->reconcile);
}

static int verb_why(int argc, char **argv) {
        return name_call(HL_INTERFACE ".Why", argv[1], output->why);
}

/* {service} from NAME or --service NAME, or {} for every service. Returns the exit status. */
static int service_parameters(int argc, char **argv, json_t **ret) {
        _cleanup_(json_decrefp) json_t *parameters = json_object();
        const char *service = argc > 1 ? argv[1] : arg_service;

        if (!parameters)
                return exit_oom();
        if (argc > 1 && arg_service && strcmp(argv[1], arg_service) != 0) {
                log_error("%s names two services: %s and %s", argv[0], argv[1], arg_service);
                return HLCTL_EXIT_USAGE;
        }
        if (service && json_object_set_new(parameters, "service", json_string(service)) < 0) {
                log_error("invalid service name: %s", service);
                return HLCTL_EXIT_USAGE;
        }
        *ret = TAKE_PTR(parameters);
        return HLCTL_EXIT_OK;
}

/* "now - --since", as hld wants it: Unix seconds, never before 0. */
static json_t *since_time(void) {
        int64_t since = (int64_t) time(NULL) - (int64_t) (arg_since_ms / 1000);

        return json_integer(since > 0 ? since : 0);
}

static int verb_history(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = NULL;
        int r;

        r = service_parameters(argc, argv, &parameters);
        if (r != HLCTL_EXIT_OK)
                return r;
        if (arg_action && json_object_set_new(parameters, "action", json_string(arg_action)) < 0) {
                log_error("invalid action: %s", arg_action);
                return HLCTL_EXIT_USAGE;
        }
        if ((arg_options & OPT_FAILED) && json_object_set_new(parameters, "failed", json_true()) < 0)
                return exit_oom();
        if ((arg_options & OPT_SINCE) && json_object_set_new(parameters, "since", since_time()) < 0)
                return exit_oom();
        if ((arg_options & OPT_LIMIT) &&
            json_object_set_new(parameters, "limit", json_integer((json_int_t) arg_limit)) < 0)
                return exit_oom();
        return call(HL_INTERFACE ".History", parameters, output->history);
}

static int print_event(json_t *parameters, const void *userdata) {
        int r = output->event(parameters);

        if (r == -EPIPE) {
                /* Nobody reads on (hlctl events | head): the end, not an error. */
                __fpurge(stdout);
                clearerr(stdout);
                return -ECANCELED;
        }
        return r;
}

/* Follows until hld goes away or the user stops it: Ctrl-C ends it with status 0. */
static int verb_events(int argc, char **argv) {
        const struct call_handler handler = { .on_reply = print_event };
        _cleanup_(json_decrefp) json_t *parameters = NULL;
        int r;

        r = service_parameters(argc, argv, &parameters);
        if (r != HLCTL_EXIT_OK)
                return r;
        signal(SIGPIPE, SIG_IGN);
        r = call_end_on_signals();
        if (r < 0) {
                log_error("cannot handle signals: %s", strerror(-r));
                return HLCTL_EXIT_FAILED;
        }
        return call_method(arg_socket, HL_INTERFACE ".Events", parameters, true, &handler);
}

/* Each line as it is; with --json, each as a JSON object of its own line (text, source:
 * console, journal or hl, time when it has one). A reader gone (a pager quit) ends it. */
static int print_log_lines(json_t *parameters, const void *userdata) {
        json_t *line;
        size_t i;

        json_array_foreach(json_object_get(parameters, "lines"), i, line) {
                if (arg_json) {
                        _cleanup_free_ char *text = json_dumps(line, JSON_COMPACT);
                        if (!text)
                                return -ENOMEM;
                        puts(text);
                } else
                        puts(json_string_value(json_object_get(line, "text")) ?: "");
        }
        if (fflush(stdout) != 0)
                return -ECANCELED;
        return 0;
}

/* logs NAME [-f] [--since DUR] [-n N]: the console log (or journal) with hld's marks. */
static int verb_logs(int argc, char **argv) {
        const struct call_handler handler = { .on_reply = print_log_lines };
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);
        int r;

        if (!parameters)
                return exit_oom();
        if (arg_options & OPT_LIMIT)
                json_object_set_new(parameters, "lines", json_integer((json_int_t) arg_limit));
        if (arg_options & OPT_SINCE)
                json_object_set_new(parameters, "since", json_integer((json_int_t) (time(NULL) - (time_t) (arg_since_ms / 1000))));
        if (arg_options & OPT_FOLLOW) {
                json_object_set_new(parameters, "follow", json_true());
                signal(SIGPIPE, SIG_IGN);
                r = call_end_on_signals();
                if (r < 0) {
                        log_error("cannot handle signals: %s", strerror(-r));
                        return HLCTL_EXIT_FAILED;
                }
        }
        return call_method(arg_socket, HL_INTERFACE ".Logs", parameters, true, &handler);
}

static int print_health(json_t *parameters, const void *userdata) {
        int r = output->health(parameters);

        if (r < 0)
                return r;
        /* What cron and monitoring act on: anything but a clear yes is a failure, and a
         * sweep hld could not record is no clear yes. */
        if (json_is_false(json_object_get(parameters, "stored"))) {
                const char *error = json_string_value(json_object_get(parameters, "error"));
                log_error("%s", error ? error : "the results could not be recorded");
                return HLCTL_EXIT_FAILED;
        }
        return json_is_true(json_object_get(parameters, "healthy")) ? HLCTL_EXIT_OK : HLCTL_EXIT_FAILED;
}

static int verb_health_history(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = NULL;

        if (argc != 2) {
                log_error("health --history needs one service name");
                return HLCTL_EXIT_USAGE;
        }
        parameters = json_pack("{s:s}", "name", argv[1]);
        if (!parameters) {
                log_error("invalid service name: %s", argv[1]);
                return HLCTL_EXIT_USAGE;
        }
        if ((arg_options & OPT_SINCE) && json_object_set_new(parameters, "since", since_time()) < 0)
                return exit_oom();
        return call(HL_INTERFACE ".HealthHistory", parameters, output->health_history);
}

/* Exits 0 when every check passed, 1 when one did not, 2 when hld cannot be reached:
 * made for cron. */
static int verb_health(int argc, char **argv) {
        const struct call_handler handler = { .on_reply = print_health };
        _cleanup_(json_decrefp) json_t *parameters = NULL, *names = NULL;

        if (arg_options & OPT_HISTORY)
                return verb_health_history(argc, argv);
        if (arg_options & OPT_SINCE) {
                log_error("--since goes with health --history");
                return HLCTL_EXIT_USAGE;
        }
        parameters = json_object();
        if (!parameters)
                return exit_oom();
        if (argc > 1) {
                names = json_array();
                if (!names)
                        return exit_oom();
                for (int i = 1; i < argc; i++)
                        if (json_array_append_new(names, json_string(argv[i])) < 0) {
                                log_error("invalid service name: %s", argv[i]);
                                return HLCTL_EXIT_USAGE;
                        }
                if (json_object_set(parameters, "names", names) < 0)
                        return exit_oom();
        }
        return call_method(arg_socket, HL_INTERFACE ".Health", parameters, false, &handler);
}

static int verb_version(int argc, char **argv) {
        /* JSON output stays one document: hld's reply; hlctl's own is in --version. */
        if (!arg_json)
                printf("hlctl %s\n", HL_VERSION);
        return call(HL_INTERFACE ".Version", NULL, output->version);
}

static void help(void) {
        printf("Usage: hlctl [OPTIONS] VERB [ARGUMENTS...]\n"
               "\n"
               "Manage this node's service containers through hld.\n"
               "\n"
               "Verbs:\n"
               "  apply FILE|DIR... [--prune] [--plan ID]\n"
               "                                Store changed definitions and reconcile; with\n"
               "                                --plan, only if the plan is still ID\n"
               "  plan [FILE|DIR...] [--prune]  Show what apply, or a reconcile, would do\n"
               "  status, list                  List the services and their state\n"
               "  top                           CPU %%, memory, I/O and processes per service,\n"
               "                                every second on a terminal (Ctrl-C ends it)\n"
               "  show NAME                     Show a service, its definition and revisions\n"
               "  exec NAME [--env K=V] [--user U] [--cwd DIR] [--no-tty] [-- CMD ARGS...]\n"
               "                                Run a command in the container (a login shell\n"
               "                                without one), exiting with its status\n"
               "  enter NAME                    A login shell in the container, on a terminal\n"
               "  console NAME                  The container's console (Ctrl-a q detaches)\n"
               "  push NAME FILE PATH [--user U] Copy a file into the container (mode kept)\n"
               "  pull NAME PATH FILE           Copy a file out of the container\n"
               "  logs NAME [-f] [--since DUR] [-n N]\n"
               "                                The container's journal (systemd inside) or\n"
               "                                console log, with hl's marks of its starts,\n"
               "                                stops and crashes; -f follows it\n"
               "  start NAME                    Start a service's container\n"
               "  stop NAME [--timeout DUR] [--force]\n"
               "                                Stop a service's container: cleanly for at most\n"
               "                                DUR (StopTimeout=), then killed; --force kills\n"
               "  restart NAME [--timeout DUR] [--force]\n"
               "                                Restart a service's container\n"
               "  destroy NAME [--yes] [--timeout DUR] [--force]\n"
               "                                Stop (cleanly unless --force) and destroy a\n"
               "                                service's container, and forget it\n"
               "  snapshot NAME [SNAP] [--comment TEXT]\n"
               "                                Take a snapshot of a service's container\n"
               "                                (named snapN when SNAP is not given); a running\n"
               "                                one is frozen for the copy\n"
               "  snapshot --delete NAME SNAP   Delete a snapshot\n"
               "  snapshots NAME                List a service's snapshots\n"
               "  rollback NAME SNAP|--last [--timeout DUR] [--force] [--no-wait]\n"
               "                                Put the container back as SNAP holds it:\n"
               "                                stopped, restored, started, and waited for\n"
               "                                until its checks give a verdict; --last:\n"
               "                                as before its last update\n"
               "  backup NAME [--to DIR] [--mode snapshot|stop]\n"
               "                                Write an archive of a service and its\n"
               "                                Mount=…:backup data: a snapshot of it,\n"
               "                                archived while it runs, or stopped for it\n"
               "  backups NAME [--to DIR]       List a service's archives\n"
               "  import pct VMID|FILE… --template T [--to DIR] [--name NAME] [--pve-root DIR]\n"
               "                                Turn Proxmox container configs into\n"
               "                                definitions (printed, or written to DIR),\n"
               "                                saying what each key became or why not\n"
               "  status --all                  hl's services, then what Proxmox runs on the\n"
               "                                node (pct containers, VMs), read-only\n"
               "  adopt NAME [--to DIR] [--lxcpath DIR [--yes]]\n"
               "                                Take a container another tool made in hld's\n"
               "                                lxcpath under management, without a restart;\n"
               "                                from another lxcpath it is moved in (stopped\n"
               "                                for that with --yes, started again)\n"
               "  import pct VMID --migrate --template T [--yes] [--rootfs PATH] [--lxcpath DIR]\n"
               "                                Make the pct container an hl service: its\n"
               "                                files copied (stopped first with --yes),\n"
               "                                its onboot turned off\n"
               "  restore FILE [--as NAME] [--force] [--no-wait]\n"
               "                                Make a service again from an archive, and wait\n"
               "                                for its health verdict\n"
               "  update NAME|--all [--dry-run] Run a service's [Update] as a transaction:\n"
               "                                snapshot, Exec= lines, restart, health; rolled\n"
               "                                back by itself when a step fails or health\n"
               "                                does not come\n"
               "  reconcile                     Reconcile every service now\n"
               "  why NAME                      Explain why a service is as it is\n"
               "  history [NAME] [--since DUR] [--limit N] [--action A] [--failed]\n"
               "                                Show what hld did, newest last\n"
               "  events [-f] [NAME]            Follow what hld does, as it happens\n"
               "  health [NAME...]              Run the health checks now; exit status 1 when\n"
               "                                one fails\n"
               "  health --history NAME [--since DUR]\n"
               "                                Show a service's uptime, flaps and failures\n"
               "  version                       Show the versions of hlctl and hld\n"
               "  help                          Show this help\n"
               "\n"
               "Options:\n"
               "      --json          Print each reply's parameters as JSON\n"
               "      --output FORMAT table (the default), wide (status: more columns) or json\n"
               "      --socket PATH   Talk to hld at PATH (default: $%s, else %s)\n"
               "  -H, --host URL      Talk to another node's hld: ssh://[user@]host[:port][/socket]\n"
               "                      (default: $HL_HOST); ssh runs hlctl --bridge there\n"
               "      --bridge        Join stdin and stdout to hld's socket (what -H runs)\n"
               "      --prune         apply, plan: destroy services not among the definitions\n"
               "      --yes           destroy: do not ask for confirmation\n"
               "      --timeout DUR   stop, restart, destroy, rollback: the clean shutdown's bound\n"
               "                      (3, 30s)\n"
               "      --force         stop, restart, destroy, rollback: kill at once, no clean\n"
               "                      shutdown; restore: destroy the service of that name first\n"
               "      --comment TEXT  snapshot: a line kept with the snapshot\n"
               "      --delete        snapshot: delete the snapshot instead\n"
               "      --no-wait       rollback, restore: do not wait for the health verdict\n"
               "      --to DIR        backup, backups: the backup directory (default: hld's\n"
               "                      state directory's backups/)\n"
               "      --as NAME       restore: under this name\n"
               "      --all           update: every service with an [Update], in Requires= order,\n"
               "                      up to the first that is rolled back\n"
               "      --dry-run       update: print the steps, do nothing\n"
               "      --last          rollback: to the last update's snapshot\n"
               "      --since DUR     history, health --history: only the last DUR (30m, 2h, 7d)\n"
               "  -n, --limit N       history: at most N events; logs: the last N lines\n"
               "      --service NAME  history, events: only this service (as NAME)\n"
               "      --action A      history: only action A (start, hold, ...)\n"
               "      --failed        history: only failed, skipped and interrupted actions\n"
               "  -f, --follow        events: follow (what events always does); logs: follow\n"
               "      --env K=V       exec, enter: set K in the command's environment\n"
               "      --user U        exec, enter: run as U (a name inside, or uid[:gid]);\n"
               "                      push: the file's owner\n"
               "      --cwd DIR       exec, enter: start in DIR\n"
               "      --no-tty        exec: no terminal inside, even on one\n"
               "      --history       health: the record of probes instead of probing now\n"
               "      --plan ID       apply: only if the plan is still ID (from plan)\n"
               "  -h, --help          Show this help\n"
               "      --version       Show hlctl's version\n"
               "\n"
               "A directory stands for every *.conf file in it. Exit status: 0 on success,\n"
               "1 when hld returned an error, an action failed or (health) a check failed,\n"
               "2 on a usage error or when hld cannot be reached. exec and enter exit with the\n"
               "command's status (128+N for a signal), 255 when it could not be run.\n",
               HL_SOCKET_ENV, HL_DEFAULT_SOCKET);
}

/* exec NAME [-- CMD ARGS…], enter NAME: a pty inside when both ends of hlctl are a terminal
 * (and not --no-tty), else stdin, stdout and stderr each a stream of its own. */
static int verb_exec(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);
        json_t *command = json_array();
        bool enter = strcmp(argv[0], "enter") == 0;
        bool terminal = !(arg_options & OPT_NO_TTY) && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

        if (!parameters || !command) {
                json_decref(command);
                return exit_oom();
        }
        for (int i = 2; i < argc; i++)
                if (json_array_append_new(command, json_string(argv[i])) < 0) {
                        json_decref(command);
                        log_error("the command's words must be UTF-8: %s", argv[i]);
                        return HLCTL_EXIT_USAGE;
                }
        if (enter && !terminal) {
                json_decref(command);
                log_error("enter needs a terminal (use exec NAME -- COMMAND without one)");
                return HLCTL_EXIT_USAGE;
        }
        /* No command: the login shell, as enter gives it. */
        json_object_set_new(parameters, "command", command);
        json_object_set_new(parameters, "tty", json_boolean(terminal));
        if (arg_env)
                json_object_set(parameters, "env", arg_env);
        if (arg_user)
                json_object_set_new(parameters, "user", json_string(arg_user));
        if (arg_cwd)
                json_object_set_new(parameters, "cwd", json_string(arg_cwd));
        return session_run(arg_socket, HL_INTERFACE ".Exec", parameters, terminal, false);
}

/* push NAME SRC DST: the local file SRC (its mode kept) into the container as DST (a
 * directory takes SRC's name), owned by --user or root. */
static int verb_push(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = NULL, *reply = NULL;
        _cleanup_free_ char *dst = NULL;
        _cleanup_close_ int fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0) {
                log_error("%s: %s", argv[2], strerror(errno));
                return HLCTL_EXIT_FAILED;
        }
        if (!S_ISREG(st.st_mode)) {
                log_error("%s is not a regular file", argv[2]);
                return HLCTL_EXIT_FAILED;
        }
        dst = argv[3][0] && argv[3][strlen(argv[3]) - 1] == '/' ? hl_strdup_printf("%s%s", argv[3], base_name(argv[2]))
                                                              : strdup(argv[3]);
        if (!dst)
                return exit_oom();
        parameters = json_pack("{s:s, s:s, s:i}", "name", argv[1], "path", dst, "mode", (int) (st.st_mode & 07777));
        if (!parameters) {
                log_error("the path must be UTF-8: %s", dst);
                return HLCTL_EXIT_USAGE;
        }
        if (arg_user)
                json_object_set_new(parameters, "user", json_string(arg_user));
        return session_run_with(arg_socket, HL_INTERFACE ".Push", parameters, fd, -1, &reply) == 0
                       ? HLCTL_EXIT_OK
                       : HLCTL_EXIT_FAILED;
}

/* pull NAME SRC DST: the container's file SRC into the local DST (a directory takes its
 * name), written under a temporary name and renamed when all of it came; its mode kept,
 * and as root its owner's numbers too. */
static int verb_pull(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s, s:s}", "name", argv[1], "path", argv[2]);
        _cleanup_(json_decrefp) json_t *reply = NULL;
        _cleanup_free_ char *dst = NULL, *temp = NULL;
        struct stat st;
        int fd, status;

        if (!parameters) {
                log_error("the path must be UTF-8: %s", argv[2]);
                return HLCTL_EXIT_USAGE;
        }
        dst = stat(argv[3], &st) == 0 && S_ISDIR(st.st_mode) ? hl_strdup_printf("%s/%s", argv[3], base_name(argv[2]))
                                                             : strdup(argv[3]);
        temp = dst ? hl_strdup_printf("%s.hl-pull-XXXXXX", dst) : NULL;
        if (!temp)
                return exit_oom();
        fd = mkostemp(temp, O_CLOEXEC);
        if (fd < 0) {
                log_error("cannot write beside %s: %s", dst, strerror(errno));
                return HLCTL_EXIT_FAILED;
        }
        status = session_run_with(arg_socket, HL_INTERFACE ".Pull", parameters, -1, fd, &reply);
        if (status == 0) {
                mode_t mode = (mode_t) json_integer_value(json_object_get(reply, "mode"));
                if (geteuid() == 0 && fchown(fd, (uid_t) json_integer_value(json_object_get(reply, "uid")),
                                            (gid_t) json_integer_value(json_object_get(reply, "gid"))) < 0)
                        status = -errno;
                /* A container's setuid bit never reaches the host: its root is not ours. */
                if (status == 0 && (fchmod(fd, mode & 0777) < 0 || fsync(fd) < 0 || rename(temp, dst) < 0))
                        status = -errno;
                if (status < 0)
                        log_error("cannot write %s: %s", dst, strerror(-status));
        }
        close(fd);
        if (status != 0) {
                unlink(temp);
                return HLCTL_EXIT_FAILED;
        }
        return HLCTL_EXIT_OK;
}

static int verb_console(int argc, char **argv) {
        _cleanup_(json_decrefp) json_t *parameters = json_pack("{s:s}", "name", argv[1]);

        if (!parameters)
                return exit_oom();
        if (!isatty(STDIN_FILENO)) {
                log_error("console needs a terminal");
                return HLCTL_EXIT_USAGE;
        }
        return session_run(arg_socket, HL_INTERFACE ".Console", parameters, true, true);
}

static int verb_help(int argc, char **argv) {
        help();
        return HLCTL_EXIT_OK;
}

static int verb_completion(int argc, char **argv);
static int verb_names(int argc, char **argv);

static const struct verb verbs[] = {
        { "apply", 1, UINT_MAX, OPT_PRUNE | OPT_PLAN, verb_apply, "file..." },
        { "plan", 0, UINT_MAX, OPT_PRUNE, verb_plan, "file..." },
        { "status", 0, 0, OPT_ALL, verb_list, "" },
        { "list", 0, 0, OPT_ALL, verb_list, "" },
        { "top", 0, 0, 0, verb_top, "" },
        { "exec", 1, UINT_MAX, OPT_ENV | OPT_USER | OPT_CWD | OPT_NO_TTY, verb_exec, "service" },
        { "enter", 1, 1, OPT_ENV | OPT_USER | OPT_CWD, verb_exec, "service" },
        { "console", 1, 1, 0, verb_console, "service" },
        { "logs", 1, 1, OPT_FOLLOW | OPT_SINCE | OPT_LIMIT, verb_logs, "service" },
        { "push", 3, 3, OPT_USER, verb_push, "service file path" },
        { "pull", 3, 3, 0, verb_pull, "service path file" },
        { "show", 1, 1, 0, verb_show, "service" },
        { "start", 1, 1, 0, verb_lifecycle, "service" },
        { "stop", 1, 1, OPT_TIMEOUT | OPT_FORCE, verb_lifecycle, "service" },
        { "restart", 1, 1, OPT_TIMEOUT | OPT_FORCE, verb_lifecycle, "service" },
        { "destroy", 1, 1, OPT_YES | OPT_TIMEOUT | OPT_FORCE, verb_destroy, "service" },
        { "snapshot", 1, 2, OPT_COMMENT | OPT_DELETE, verb_snapshot, "service snapshot" },
        { "snapshots", 1, 1, 0, verb_snapshots, "service" },
        { "rollback", 1, 2, OPT_TIMEOUT | OPT_FORCE | OPT_NO_WAIT | OPT_LAST_UPDATE, verb_rollback, "service snapshot" },
        { "backup", 1, 1, OPT_TO | OPT_MODE, verb_backup, "service" },
        { "backups", 1, 1, OPT_TO, verb_backups, "service" },
        { "adopt", 1, 1, OPT_TO | OPT_LXCPATH | OPT_YES, verb_adopt, "" },
        { "import", 2, UINT_MAX,
          OPT_TO | OPT_TEMPLATE | OPT_NAME | OPT_PVE_ROOT | OPT_MIGRATE | OPT_ROOTFS | OPT_LXCPATH | OPT_YES | OPT_NO_WAIT,
          verb_import, "pct file..." },
        { "restore", 1, 1, OPT_AS | OPT_FORCE | OPT_NO_WAIT, verb_restore, "file" },
        { "update", 0, 1, OPT_ALL | OPT_DRY_RUN, verb_update, "service" },
        { "reconcile", 0, 0, 0, verb_reconcile, "" },
        { "why", 1, 1, 0, verb_why, "service" },
        { "history", 0, 1, OPT_SINCE | OPT_LIMIT | OPT_SERVICE | OPT_ACTION | OPT_FAILED, verb_history, "service" },
        { "events", 0, 1, OPT_SERVICE | OPT_FOLLOW, verb_events, "service" },
        { "health", 0, UINT_MAX, OPT_HISTORY | OPT_SINCE, verb_health, "service..." },
        { "version", 0, 0, 0, verb_version, "" },
        { "help", 0, 0, 0, verb_help, "" },
        { "__completion", 1, 1, 0, verb_completion, NULL },
        { "__names", 1, 2, 0, verb_names, NULL },
};

static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "socket", required_argument, NULL, 's' },
        { "prune", no_argument, NULL, 'p' },
        { "yes", no_argument, NULL, 'y' },
        { "since", required_argument, NULL, 'S' },
        { "limit", required_argument, NULL, 'l' },
        { "plan", required_argument, NULL, 'P' },
        { "service", required_argument, NULL, 'N' },
        { "action", required_argument, NULL, 'A' },
        { "failed", no_argument, NULL, 'F' },
        { "follow", no_argument, NULL, 'f' },
        { "history", no_argument, NULL, 'Y' },
        { "host", required_argument, NULL, 'H' },
        { "bridge", no_argument, NULL, 'B' },
        { "timeout", required_argument, NULL, 'T' },
        { "force", no_argument, NULL, 'K' },
        { "comment", required_argument, NULL, 'C' },
        { "delete", no_argument, NULL, 'D' },
        { "no-wait", no_argument, NULL, 'W' },
        { "to", required_argument, NULL, 'O' },
        { "as", required_argument, NULL, 'a' },
        { "all", no_argument, NULL, 'L' },
        { "dry-run", no_argument, NULL, 'd' },
        { "output", required_argument, NULL, 'o' },
        { "env", required_argument, NULL, 'e' },
        { "user", required_argument, NULL, 'u' },
        { "cwd", required_argument, NULL, 'c' },
        { "no-tty", no_argument, NULL, 'Z' },
        { "last", no_argument, NULL, 'U' },
        { "mode", required_argument, NULL, 'M' },
        { "template", required_argument, NULL, 't' },
        { "name", required_argument, NULL, 'm' },
        { "pve-root", required_argument, NULL, 'R' },
        { "migrate", no_argument, NULL, 'g' },
        { "rootfs", required_argument, NULL, 'r' },
        { "lxcpath", required_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        {},
};

static const char *option_name(unsigned option) {
        switch (option) {
        case OPT_PRUNE:
                return "--prune";
        case OPT_YES:
                return "--yes";
        case OPT_SINCE:
                return "--since";
        case OPT_PLAN:
                return "--plan";
        case OPT_SERVICE:
                return "--service";
        case OPT_ACTION:
                return "--action";
        case OPT_FAILED:
                return "--failed";
        case OPT_FOLLOW:
                return "--follow";
        case OPT_HISTORY:
                return "--history";
        case OPT_TIMEOUT:
                return "--timeout";
        case OPT_FORCE:
                return "--force";
        case OPT_COMMENT:
                return "--comment";
        case OPT_DELETE:
                return "--delete";
        case OPT_NO_WAIT:
                return "--no-wait";
        case OPT_TO:
                return "--to";
        case OPT_AS:
                return "--as";
        case OPT_ALL:
                return "--all";
        case OPT_DRY_RUN:
                return "--dry-run";
        case OPT_LAST_UPDATE:
                return "--last";
        case OPT_MODE:
                return "--mode";
        case OPT_TEMPLATE:
                return "--template";
        case OPT_NAME:
                return "--name";
        case OPT_PVE_ROOT:
                return "--pve-root";
        case OPT_MIGRATE:
                return "--migrate";
        case OPT_ROOTFS:
                return "--rootfs";
        case OPT_LXCPATH:
                return "--lxcpath";
        case OPT_ENV:
                return "--env";
        case OPT_USER:
                return "--user";
        case OPT_CWD:
                return "--cwd";
        case OPT_NO_TTY:
                return "--no-tty";
        default:
                return "--limit";
        }
}

/* hlctl __completion bash|zsh: the script, from the tables above (meson runs it). */
static int verb_completion(int argc, char **argv) {
        struct complete_verb cv[HL_ELEMENTSOF(verbs)];
        struct complete_option co[HL_ELEMENTSOF(options)];
        char names[HL_ELEMENTSOF(verbs)][512];
        size_t n = 0, n_o = 0;

        for (size_t i = 0; i < HL_ELEMENTSOF(verbs); i++) {
                if (!verbs[i].args)
                        continue;
                names[n][0] = 0;
                for (unsigned o = OPT_PRUNE; o <= OPT_LAST; o <<= 1)
                        if (verbs[i].options & o) {
                                size_t len = strlen(names[n]);
                                snprintf(names[n] + len, sizeof(names[n]) - len, "%s%s", len ? " " : "", option_name(o));
                        }
                cv[n] = (struct complete_verb) { verbs[i].name, names[n], verbs[i].args };
                n++;
        }
        for (size_t i = 0; options[i].name; i++) {
                static char spelled[HL_ELEMENTSOF(options)][32];
                snprintf(spelled[i], sizeof(spelled[i]), "--%s", options[i].name);
                co[n_o++] = (struct complete_option) { spelled[i], options[i].has_arg == required_argument };
        }
        if (complete_script(stdout, argv[1], cv, n, co, n_o) < 0) {
                log_error("no completion for %s: bash or zsh", argv[1]);
                return HLCTL_EXIT_USAGE;
        }
        return HLCTL_EXIT_OK;
}

/* Only names that are names: a shell evaluates what completion offers it. */
static int print_names(json_t *reply, const char *list, bool (*valid)(const char *name)) {
        json_t *item;
        size_t i;

        json_array_foreach(reply_array(reply, list), i, item)
                if (reply_string(item, "name") && valid(reply_string(item, "name")))
                        printf("%s\n", reply_string(item, "name"));
        return HLCTL_EXIT_OK;
}

static int print_service_names(json_t *reply) {
        return print_names(reply, "services", hl_name_is_valid);
}

static int print_snapshot_names(json_t *reply) {
        return print_names(reply, "snapshots", hl_snapshot_name_is_valid);
}

/* hlctl __names services | snapshots NAME: one name a line, for completion. */
static int verb_names(int argc, char **argv) {
        if (strcmp(argv[1], "services") == 0)
                return call(HL_INTERFACE ".List", NULL, print_service_names);
        if (strcmp(argv[1], "snapshots") == 0 && argc == 3)
                return name_call(HL_INTERFACE ".Snapshots", argv[2], print_snapshot_names);
        log_error("__names takes services, or snapshots NAME");
        return HLCTL_EXIT_USAGE;
}

/* Options may come anywhere on the line: getopt_long moves the rest behind them.
 * Returns 1 to go on, 0 when done (help, version), or -EINVAL after a printed error. */
static int parse_argv(int argc, char **argv) {
        int c;

        /* "+" would stop at the first non-option; "-" would return them in order.
         * Neither: the default permutes, so "hlctl apply dir --prune" works. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hfn:H:", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        arg_json = true;
                        break;
                case 's':
                        if (!*optarg) {
                                log_error("--socket needs a path");
                                return -EINVAL;
                        }
                        arg_socket = optarg;
                        break;
                case 'p':
                        arg_prune = true;
                        arg_options |= OPT_PRUNE;
                        break;
                case 'y':
                        arg_yes = true;
                        arg_options |= OPT_YES;
                        break;
                case 'S':
                        if (hl_parse_duration_ms(optarg, &arg_since_ms) < 0) {
                                log_error("invalid duration for --since: %s", optarg);
                                return -EINVAL;
                        }
                        arg_options |= OPT_SINCE;
                        break;
                case 'n': /* -n N, as tail and journalctl say it */
                case 'l':
                        if (hl_parse_uint(optarg, 1, INT32_MAX, &arg_limit) < 0) {
                                log_error("invalid number for --limit: %s", optarg);
                                return -EINVAL;
                        }
                        arg_options |= OPT_LIMIT;
                        break;
                case 'P':
                        arg_plan = optarg;
                        arg_options |= OPT_PLAN;
                        break;
                case 'N':
                        if (!*optarg) {
                                log_error("--service needs a name");
                                return -EINVAL;
                        }
                        arg_service = optarg;
                        arg_options |= OPT_SERVICE;
                        break;
                case 'A':
                        if (!*optarg) {
                                log_error("--action needs an action");
                                return -EINVAL;
                        }
                        arg_action = optarg;
                        arg_options |= OPT_ACTION;
                        break;
                case 'F':
                        arg_options |= OPT_FAILED;
                        break;
                case 'f':
                        arg_options |= OPT_FOLLOW;
                        break;
                case 'Y':
                        arg_options |= OPT_HISTORY;
                        break;
                case 'o':
                        if (strcmp(optarg, "json") == 0)
                                arg_json = true;
                        else if (strcmp(optarg, "wide") == 0)
                                output_wide = true;
                        else if (strcmp(optarg, "table") != 0) {
                                log_error("--output takes table, wide or json: %s", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case 'B':
                        arg_bridge = true;
                        break;
                case 'T':
                        if (hl_parse_duration_ms(optarg, &arg_timeout_ms) < 0 || arg_timeout_ms > 86400 * 1000) {
                                log_error("invalid duration for --timeout: %s (seconds, or 30s, 2m)", optarg);
                                return -EINVAL;
                        }
                        arg_options |= OPT_TIMEOUT;
                        break;
                case 'K':
                        arg_options |= OPT_FORCE;
                        break;
                case 'C':
                        arg_comment = optarg;
                        arg_options |= OPT_COMMENT;
                        break;
                case 'D':
                        arg_options |= OPT_DELETE;
                        break;
                case 'W':
                        arg_options |= OPT_NO_WAIT;
                        break;
                case 'O': {
                        /* hld is another process: the directory as an absolute path. */
                        static char *to;
                        free(to);
                        to = realpath(optarg, NULL);
                        if (!to) {
                                log_error("--to %s: %s", optarg, strerror(errno));
                                return -EINVAL;
                        }
                        arg_to = to;
                        arg_options |= OPT_TO;
                        break;
                }
                case 'a':
                        arg_as = optarg;
                        arg_options |= OPT_AS;
                        break;
                case 'M':
                        arg_mode = optarg;
                        arg_options |= OPT_MODE;
                        break;
                case 't':
                        arg_template = optarg;
                        arg_options |= OPT_TEMPLATE;
                        break;
                case 'm':
                        arg_name = optarg;
                        arg_options |= OPT_NAME;
                        break;
                case 'R':
                        arg_pve_root = optarg;
                        arg_options |= OPT_PVE_ROOT;
                        break;
                case 'g':
                        arg_options |= OPT_MIGRATE;
                        break;
                case 'r':
                case 'x': {
                        /* hld is another process: absolute paths. */
                        char *path = realpath(optarg, NULL);
                        if (!path) {
                                log_error("--%s %s: %s", c == 'r' ? "rootfs" : "lxcpath", optarg, strerror(errno));
                                return -EINVAL;
                        }
                        if (c == 'r')
                                arg_rootfs = path;
                        else
                                arg_lxcpath = path;
                        arg_options |= c == 'r' ? OPT_ROOTFS : OPT_LXCPATH;
                        break;
                }
                case 'L':
                        arg_options |= OPT_ALL;
                        break;
                case 'd':
                        arg_options |= OPT_DRY_RUN;
                        break;
                case 'U':
                        arg_options |= OPT_LAST_UPDATE;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                log_error("--env needs NAME=VALUE: %s", optarg);
                                return -EINVAL;
                        }
                        if (!arg_env)
                                arg_env = json_array();
                        if (!arg_env || json_array_append_new(arg_env, json_string(optarg)) < 0) {
                                log_error("--env %s: not valid UTF-8, or out of memory", optarg);
                                return -EINVAL;
                        }
                        arg_options |= OPT_ENV;
                        break;
                case 'u':
                        arg_user = optarg;
                        arg_options |= OPT_USER;
                        break;
                case 'c':
                        if (optarg[0] != '/') {
                                log_error("--cwd needs an absolute path inside the container: %s", optarg);
                                return -EINVAL;
                        }
                        arg_cwd = optarg;
                        arg_options |= OPT_CWD;
                        break;
                case 'Z':
                        arg_options |= OPT_NO_TTY;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("hlctl %s\n", HL_VERSION);
                        return 0;
                case ':':
                        log_error("%s needs an argument", argv[optind - 1]);
                        return -EINVAL;
                default:
                        if (optopt)
                                log_error("unknown option -%c", optopt);
                        else
                                log_error("unknown option %s", argv[optind - 1]);
                        return -EINVAL;
                }

        if (!arg_socket) {
                const char *env = getenv(HL_SOCKET_ENV);

                arg_socket = env && *env ? env : HL_DEFAULT_SOCKET;
        }
        if (!arg_host)
                arg_host = getenv("HL_HOST");
        if (call_set_remote(arg_host) < 0) {
                log_error("-H takes ssh://[user@]host[:port][/socket]: %s", arg_host);
                return -EINVAL;
        }
        output = arg_json ? &output_json : &output_table;
        /* Colour for a person at a terminal only (no-color.org). */
        {
                const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
                table_set_colour(!arg_json && isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
                                 !(term && strcmp(term, "dumb") == 0));
        }
        return 1;
}

static int dispatch(int argc, char **argv) {
        const struct verb *verb = NULL;
        unsigned n_args;

        if (argc < 1) {
                log_error("missing verb (see hlctl --help)");
                return HLCTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < HL_ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, argv[0]) == 0) {
                        verb = &verbs[i];
                        break;
                }
        if (!verb) {
                log_error("unknown verb '%s' (see hlctl --help)", argv[0]);
                return HLCTL_EXIT_USAGE;
        }

        n_args = (unsigned) argc - 1;
        if (n_args < verb->min_args) {
                if (verb->min_args > 1)
                        log_error("%s needs %u arguments (%s)", verb->name, verb->min_args, verb->args);
                else
                        log_error("%s needs %s argument", verb->name,
                                  verb->min_args == verb->max_args ? "an" : "at least one");
                return HLCTL_EXIT_USAGE;
        }
        if (n_args > verb->max_args) {
                if (verb->max_args > 1)
                        log_error("%s takes %u arguments (%s)", verb->name, verb->max_args, verb->args);
                else
                        log_error("%s takes %s argument%s", verb->name, verb->max_args == 0 ? "no" : "one",
                                  verb->max_args == 0 ? "s" : "");
                return HLCTL_EXIT_USAGE;
        }
        for (unsigned o = OPT_PRUNE; o <= OPT_LAST; o <<= 1)
                if ((arg_options & o) && !(verb->options & o)) {
                        log_error("%s is not an option of %s", option_name(o), verb->name);
                        return HLCTL_EXIT_USAGE;
                }

        return verb->run(argc, argv);
}

int main(int argc, char **argv) {
        int r;

        /* A descriptor 0, 1 or 2 left closed by whoever started hlctl would be the
         * socket's, and exec would read its own connection as stdin. */
        for (int fd = 0; fd <= 2; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) {
                        log_error("cannot open /dev/null: %s", strerror(errno));
                        return HLCTL_EXIT_FAILED;
                }
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? HLCTL_EXIT_USAGE : HLCTL_EXIT_OK;

        /* The far end of -H: nothing but the bytes, to this node's hld. */
        if (arg_bridge) {
                if (optind < argc) {
                        log_error("--bridge takes no verb");
                        return HLCTL_EXIT_USAGE;
                }
                call_set_remote(NULL);
                return call_bridge(arg_socket);
        }
        r = dispatch(argc - optind, argv + optind);
        call_done();

        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("cannot write the output: %s", strerror(errno));
                return HLCTL_EXIT_FAILED;
        }
        return r;
}
