/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "backup.h"
#include "config.h"
#include "control.h"
#include "foreign.h"
#include "health.h"
#include "hl-protocol.h"
#include "log.h"
#include "logs.h"
#include "methods.h"
#include "reconcile.h"
#include "schedule.h"
#include "watch.h"
#include "store.h"

static void help(void) {
        printf("Usage: hld [OPTIONS]\n\n"
               "Keeps this node's service containers equal to their definitions.\n\n"
               "  --state-dir DIR            database directory (default " HLD_DEFAULT_STATE_DIR ")\n"
               "  --lxcpath DIR              where the containers live (default: liblxc's lxc.lxcpath)\n"
               "  --socket PATH              control socket (default " HL_DEFAULT_SOCKET ")\n"
               "  --readonly-socket PATH     socket for reads only, \"\" for none\n"
               "                             (default: hld-ro.sock beside the control socket)\n"
               "  --config FILE              configuration (default " HLD_DEFAULT_CONFIG ")\n"
               "  --admin-group NAME         group allowed to change the node (default " HLD_DEFAULT_ADMIN_GROUP ")\n"
               "  --jobs N                   container actions run in parallel (default 4)\n"
               "  --reconcile-interval DUR   periodic reconcile, 0 = off (default 60s)\n"
               "  --stop-timeout DUR         clean shutdown time before a kill (default 10s)\n"
               "  --metrics-file PATH        Prometheus text file written after health sweeps\n"
               "  --health-retention DUR     keep probe results this long, then daily sums (30d)\n"
               "  --idle-timeout DUR         close clients with no complete call this long (60s)\n"
               "  --pve-root DIR             Proxmox's /etc/pve, for Template=STORAGE:vztmpl/FILE\n"
               "  --pve-lxcpath DIR          where pct's containers are, for status --all (/var/lib/lxc)\n"
               "  -h, --help                 this text\n"
               "      --version              the version\n");
}

static int parse_argv(int argc, char **argv, struct config *c) {
        enum { ARG_STATE_DIR = 0x100, ARG_LXCPATH, ARG_SOCKET, ARG_CONFIG, ARG_ADMIN_GROUP, ARG_JOBS,
               ARG_INTERVAL, ARG_STOP_TIMEOUT, ARG_METRICS, ARG_RETENTION, ARG_READONLY_SOCKET, ARG_IDLE_TIMEOUT,
               ARG_PVE_ROOT, ARG_PVE_LXCPATH, ARG_VERSION };
        static const struct option options[] = {
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "lxcpath", required_argument, NULL, ARG_LXCPATH },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "admin-group", required_argument, NULL, ARG_ADMIN_GROUP },
                { "jobs", required_argument, NULL, ARG_JOBS },
                { "reconcile-interval", required_argument, NULL, ARG_INTERVAL },
                { "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
                { "metrics-file", required_argument, NULL, ARG_METRICS },
                { "health-retention", required_argument, NULL, ARG_RETENTION },
                { "readonly-socket", required_argument, NULL, ARG_READONLY_SOCKET },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "pve-root", required_argument, NULL, ARG_PVE_ROOT },
                { "pve-lxcpath", required_argument, NULL, ARG_PVE_LXCPATH },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        static const char *const keys[] = {
                [ARG_STATE_DIR - ARG_STATE_DIR] = "StateDir",
                [ARG_LXCPATH - ARG_STATE_DIR] = "LXCPath",
                [ARG_SOCKET - ARG_STATE_DIR] = "Socket",
                [ARG_CONFIG - ARG_STATE_DIR] = NULL,
                [ARG_ADMIN_GROUP - ARG_STATE_DIR] = "AdminGroup",
                [ARG_JOBS - ARG_STATE_DIR] = "Jobs",
                [ARG_INTERVAL - ARG_STATE_DIR] = "ReconcileInterval",
                [ARG_STOP_TIMEOUT - ARG_STATE_DIR] = "StopTimeout",
                [ARG_METRICS - ARG_STATE_DIR] = "MetricsFile",
                [ARG_RETENTION - ARG_STATE_DIR] = "HealthRetention",
                [ARG_READONLY_SOCKET - ARG_STATE_DIR] = "ReadOnlySocket",
                [ARG_IDLE_TIMEOUT - ARG_STATE_DIR] = "IdleTimeout",
                [ARG_PVE_ROOT - ARG_STATE_DIR] = "PVERoot",
                [ARG_PVE_LXCPATH - ARG_STATE_DIR] = "PVELXCPath",
        };
        const char *config_file = NULL;
        int opt, r;

        /* The config file first, so that the command line wins over it. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
                        config_file = argv[i + 1];
                else if (strncmp(argv[i], "--config=", 9) == 0)
                        config_file = argv[i] + 9;
        r = config_load(c, config_file ? config_file : HLD_DEFAULT_CONFIG, config_file != NULL);
        if (r < 0)
                return r;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                const char *reason = "";

                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hld %s\n", HL_VERSION);
                        return 0;
                case ARG_STATE_DIR ... ARG_PVE_LXCPATH:
                        if (opt == ARG_CONFIG) /* read above */
                                break;
                        r = config_set(c, keys[opt - ARG_STATE_DIR], optarg, &reason);
                        if (r < 0) {
                                fprintf(stderr, "hld: --%s %s: %s\n", options[opt - ARG_STATE_DIR].name, optarg, reason);
                                return -EINVAL;
                        }
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "hld: unexpected argument %s\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int fill_defaults(struct config *c) {
        const char *lxcpath = ct_default_lxcpath();

        if (!c->state_dir && !(c->state_dir = strdup(HLD_DEFAULT_STATE_DIR)))
                return -ENOMEM;
        if (!c->socket_path && !(c->socket_path = strdup(HL_DEFAULT_SOCKET)))
                return -ENOMEM;
        /* By default beside the control socket, so that private instances keep theirs apart. */
        if (!c->readonly_socket_path) {
                const char *slash = strrchr(c->socket_path, '/');
                c->readonly_socket_path = hl_strdup_printf("%.*s/hld-ro.sock", (int) (slash - c->socket_path),
                                                           c->socket_path);
                if (!c->readonly_socket_path)
                        return -ENOMEM;
                if (strcmp(c->readonly_socket_path, c->socket_path) == 0) {
                        fprintf(stderr, "hld: the control socket cannot be named hld-ro.sock; pass --readonly-socket\n");
                        return -EINVAL;
                }
        }
        if (!c->admin_group && !(c->admin_group = strdup(HLD_DEFAULT_ADMIN_GROUP)))
                return -ENOMEM;
        if (!c->lxcpath && !(c->lxcpath = strdup(lxcpath ? lxcpath : "/var/lib/lxc")))
                return -ENOMEM;
        /* HL_PVE_ROOT, as hlctl import takes it, for a tree in /etc/pve's layout. */
        if (!c->pve_root && hl_path_normalize(getenv("HL_PVE_ROOT") && getenv("HL_PVE_ROOT")[0] == '/'
                                                      ? getenv("HL_PVE_ROOT") : "/etc/pve",
                                              &c->pve_root) < 0)
                return -ENOMEM;
        if (!c->pve_lxcpath && !(c->pve_lxcpath = strdup("/var/lib/lxc")))
                return -ENOMEM;
        return ct_set_pve_root(c->pve_root);
}

/* Thousands of clients need as many descriptors: the soft limit goes up to the hard one
 * (systemd's default hard limit is 512K). Containers do not inherit hld's descriptors. */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning("cannot raise the descriptor limit: %s, ignoring", strerror(errno));
}

static bool owned_by_us(const struct stat *st) {
        return st->st_uid == 0 || st->st_uid == geteuid();
}

static bool writable_by_others(const struct stat *st) {
        return (st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

/* hld runs as root what the lxcpath holds and keeps every definition (and whatever secret
 * an Environment= holds) in the state directory: another user who can write to either, or
 * to a directory above them, could plant a container or read and replace the database.
 * Each must belong to root (or hld's user) and be writable by nobody else; a directory
 * above may be writable by others only with the sticky bit (/tmp). */
static int check_trusted(const char *what, const char *path) {
        _cleanup_free_ char *real = realpath(path, NULL);
        struct stat st;
        int r;

        if (!real || stat(real, &st) < 0) {
                r = -errno;
                log_error("%s %s: %s", what, path, strerror(-r));
                return r;
        }
        if (!S_ISDIR(st.st_mode)) {
                log_error("%s %s is not a directory", what, path);
                return -ENOTDIR;
        }
        if (!owned_by_us(&st)) {
                log_error("%s %s belongs to uid %u, not to root: refusing to use it", what, path, (unsigned) st.st_uid);
                return -EPERM;
        }
        if (writable_by_others(&st)) {
                log_error("%s %s can be written by other users (mode %04o): refusing to use it (chmod go-w %s)", what,
                          path, (unsigned) (st.st_mode & 07777), path);
                return -EPERM;
        }
        for (char *slash = strrchr(real, '/'); slash; slash = strrchr(real, '/')) {
                *slash = 0;
                const char *dir = *real ? real : "/";
                if (stat(dir, &st) < 0) {
                        r = -errno;
                        log_error("%s %s: %s: %s", what, path, dir, strerror(-r));
                        return r;
                }
                if (!owned_by_us(&st) || (writable_by_others(&st) && !(st.st_mode & S_ISVTX))) {
                        log_error("%s %s lies in %s, which another user can change (uid %u, mode %04o): refusing to use it",
                                  what, path, dir, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
                        return -EPERM;
                }
                if (!*real)
                        break;
        }
        return 0;
}

static int make_dir(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The state directory is hld's alone: made 0700, and brought to 0700 when it was made
 * more open (by an installer's mkdir, say), after the checks above. */
static int make_state_dir(const char *path) {
        struct stat st;
        int r = make_dir(path, 0700);

        if (r < 0) {
                log_error("state directory %s: %s", path, strerror(-r));
                return r;
        }
        r = check_trusted("state directory", path);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0)
                return -errno;
        if ((st.st_mode & 07777) != 0700) {
                if (chmod(path, 0700) < 0) {
                        log_error("cannot make the state directory %s private: %s", path, strerror(errno));
                        return -errno;
                }
                log_info("state directory %s: mode %04o changed to 0700", path, (unsigned) (st.st_mode & 07777));
        }
        return 0;
}

static int load_service(void *userdata, const struct store_service *svc) {
        struct manager *m = userdata;
        struct hl_def *def = NULL;
        struct hl_def_error e = {};
        struct desired *d;
        struct service *s;
        int r;

        r = hl_def_parse(svc->name, svc->file, svc->text, strlen(svc->text), &def, &e);
        if (r < 0) {
                char msg[1024];
                log_error("stored revision %" PRId64 " of %s no longer parses (%s), ignoring the service", svc->revision,
                          svc->name, hl_def_error_format(&e, msg, sizeof(msg)));
                return 0;
        }
        d = desired_new(def, svc->text, svc->file, svc->revision);
        if (!d) {
                hl_def_free(def);
                return -ENOMEM;
        }
        r = manager_set_desired(m, svc->name, d);
        desired_unref(d);
        if (r < 0)
                return r;
        s = manager_find(m, svc->name);
        s->destroying = svc->destroying;
        if (svc->override) {
                int want = hl_want_from_string(svc->override);
                s->overridden = want >= 0;
                s->override = want >= 0 ? (enum hl_want) want : HL_WANT_RUNNING;
        }
        return store_restart_get(m->store, svc->name, &s->restart_failures, &s->last_restart_ms);
}

/* What main.c itself holds: the sockets, signals and the timers that are the daemon's,
 * not the engine's. */
struct daemon {
        struct manager m;
        struct control *control;          /* root and the admin group */
        struct control *readonly_control; /* anyone, reads only */
        uv_timer_t watchdog_timer;
        uv_timer_t address_timer;
        uv_timer_t expire_timer;
        uv_signal_t signals[3];
};

static int saved_argc;
static char **saved_argv;

static void on_expire(uv_timer_t *t) {
        health_expire(t->data);
}

static void on_watchdog(uv_timer_t *t) {
        /* From the loop itself: a stuck loop stops the pings and systemd restarts hld. */
        sd_notify(0, "WATCHDOG=1");
}

static void start_timers(struct daemon *d) {
        uint64_t usec = 0;

        reconcile_start_timers(&d->m);
        if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
                uv_timer_start(&d->watchdog_timer, on_watchdog, 0, usec / 2000);
}

static void close_handle(uv_handle_t *h, void *arg) {
        if (!uv_is_closing(h))
                uv_close(h, NULL);
}

static void reload(struct daemon *d) {
        struct manager *m = &d->m;
        struct config c;

        /* The same file and command line as at start, read again: the command line still
         * wins. Paths and sockets stay as they are; the pool keeps its size. */
        sd_notify(0, "RELOADING=1");
        config_defaults(&c);
        optind = 0;
        if (parse_argv(saved_argc, saved_argv, &c) > 0) {
                m->config.jobs = c.jobs;
                m->config.reconcile_interval_ms = c.reconcile_interval_ms;
                m->config.stop_timeout_s = c.stop_timeout_s;
                m->config.idle_timeout_ms = c.idle_timeout_ms;
                m->config.health_retention_ms = c.health_retention_ms;
                start_timers(d);
                log_info("SIGHUP: configuration read again");
        } else
                log_warning("SIGHUP: the configuration has errors, keeping the one in force");
        config_done(&c);
        sd_notify(0, "READY=1");
}

static void on_signal(uv_signal_t *sig, int signum) {
        struct daemon *d = sig->data;
        struct manager *m = &d->m;

        if (signum == SIGHUP) {
                reload(d);
                return;
        }
        if (m->stopping)
                return;
        log_info("%s: stopping; containers keep running", strsignal(signum));
        sd_notify(0, "STOPPING=1");
        m->stopping = true;
        control_close(d->control);
        d->control = NULL;
        control_close(d->readonly_control);
        d->readonly_control = NULL;
        methods_sessions_close(m);
        logs_stop(m);
        for (size_t i = 0; i < m->n_services; i++) {
                watch_stop(m->services[i]);
                health_forget(m->services[i]);
        }
        for (size_t i = 0; i < HL_ELEMENTSOF(d->signals); i++)
                uv_close((uv_handle_t *) &d->signals[i], NULL);
        uv_close((uv_handle_t *) &d->watchdog_timer, NULL);
        uv_close((uv_handle_t *) &d->expire_timer, NULL);
        uv_close((uv_handle_t *) &d->address_timer, NULL);
        schedule_stop();
        /* Work already in the thread pool finishes; nothing new starts. */
        reconcile_drain(m);
}

static bool has_service(void *userdata, const char *name) {
        return manager_find(userdata, name) != NULL;
}

static int open_state(struct manager *m) {
        _cleanup_free_ char *db = NULL;
        int r;

        r = make_state_dir(m->config.state_dir);
        if (r < 0)
                return r;
        r = make_dir(m->config.lxcpath, 0755);
        if (r < 0) {
                log_error("lxcpath %s: %s", m->config.lxcpath, strerror(-r));
                return r;
        }
        r = check_trusted("lxcpath", m->config.lxcpath);
        if (r < 0)
                return r;
        db = hl_strdup_printf("%s/hld.db", m->config.state_dir);
        if (!db)
                return -ENOMEM;
        r = store_open(db, &m->store);
        if (r < 0)
                return r;
        r = store_mark_interrupted(m->store);
        if (r > 0)
                log_warning("%d actions were interrupted when hld last stopped; the reconcile re-derives them", r);
        r = store_load_services(m->store, load_service, m);
        if (r < 0) {
                log_error("cannot load the services: %s", strerror(-r));
                return r;
        }
        manager_sort(m);
        /* A write a kill interrupted left its temporary file; the file it was to replace is
         * intact (they are renamed into place). */
        for (size_t i = 0; i < m->n_services; i++) {
                r = ct_remove_leftovers(m->config.lxcpath, m->services[i]->name);
                if (r > 0)
                        log_full(LOG_NOTICE, m->services[i]->name, NULL, 0,
                                 "removed %d temporary files of an interrupted write", r);
                else if (r < 0)
                        log_warning("cannot remove the temporary files of %s: %s, ignoring", m->services[i]->name,
                                    strerror(-r));
        }
        r = backup_remove_leftovers(m->config.lxcpath, has_service, m);
        if (r > 0)
                log_full(LOG_NOTICE, NULL, NULL, 0, "removed %d unpacked archives of interrupted restores", r);
        return 0;
}

static int listen_all(struct daemon *d) {
        struct manager *m = &d->m;
        size_t n_methods;
        const struct method *methods = methods_table(&n_methods);
        int r;

        r = control_listen(m, m->config.socket_path, false, methods, n_methods, &d->control);
        if (r < 0) {
                log_error("cannot listen on %s: %s", m->config.socket_path, strerror(-r));
                return r;
        }
        if (*m->config.readonly_socket_path) {
                r = control_listen(m, m->config.readonly_socket_path, true, methods, n_methods, &d->readonly_control);
                if (r < 0) {
                        log_error("cannot listen on %s: %s", m->config.readonly_socket_path, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static int run(struct daemon *d) {
        struct manager *m = &d->m;
        char pool[16];
        struct group gr, *grp = NULL;
        char grbuf[4096];
        int r;

        r = fill_defaults(&m->config);
        if (r < 0)
                return r;
        raise_fd_limit();
        r = ct_setup();
        if (r < 0) {
                log_error("cannot find the cgroup file system: %s", strerror(-r));
                return r;
        }
        if (getgrnam_r(m->config.admin_group, &gr, grbuf, sizeof(grbuf), &grp) == 0 && grp) {
                m->admin_gid = grp->gr_gid;
                m->admin_gid_valid = true;
        } else
                log_warning("admin group %s does not exist: only root may change the node", m->config.admin_group);
        r = open_state(m);
        if (r < 0)
                return r;
        /* Before the first uv_queue_work: container actions plus surveys in parallel. */
        snprintf(pool, sizeof(pool), "%u", m->config.jobs + 4);
        setenv("UV_THREADPOOL_SIZE", pool, 1);
        r = reconcile_init(m);
        if (r < 0)
                return r;
        r = schedule_start(m);
        if (r < 0)
                return r;
        r = listen_all(d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < HL_ELEMENTSOF(d->signals); i++) {
                static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
                uv_signal_init(m->loop, &d->signals[i]);
                d->signals[i].data = d;
                uv_signal_start(&d->signals[i], on_signal, signals[i]);
        }
        uv_timer_init(m->loop, &d->watchdog_timer);
        uv_timer_init(m->loop, &d->expire_timer);
        d->watchdog_timer.data = d->expire_timer.data = m;
        /* Old probe results are summarized hourly, and once at start. */
        uv_timer_start(&d->expire_timer, on_expire, 1000, 3600 * 1000);
        watch_start_addresses(m, &d->address_timer);
        if (logs_start(m) < 0)
                log_warning("cannot mark the console logs: out of memory, ignoring");
        start_timers(d);

        log_info("hld %s ready: %zu services, lxcpath %s, socket %s, cgroup %s", HL_VERSION, m->n_services,
                 m->config.lxcpath, m->config.socket_path, settings_cgroup_v2() ? "v2" : "v1");
        sd_notifyf(0, "READY=1\nSTATUS=Ready: %zu services.\nMAINPID=%d", m->n_services, (int) getpid());
        r = reconcile_enqueue(m, &(struct job_request) { .kind = JOB_RECONCILE, .trigger = HL_TRIGGER_STARTUP, .uid = -1 });
        if (r < 0)
                log_warning("could not queue the start-up reconcile: %s, ignoring", strerror(-r));
        uv_run(m->loop, UV_RUN_DEFAULT);
        return 0;
}

int main(int argc, char **argv) {
        struct daemon d = {};
        struct manager *m = &d.m;
        uv_loop_t loop;
        int r;

        log_setup();
        signal(SIGPIPE, SIG_IGN);
        config_defaults(&m->config);
        saved_argc = argc;
        saved_argv = argv;
        r = parse_argv(argc, argv, &m->config);
        if (r <= 0) {
                config_done(&m->config);
                return r < 0 ? 2 : 0;
        }
        uv_loop_init(&loop);
        m->loop = &loop;
        r = run(&d);

        for (size_t i = 0; i < m->n_services; i++) {
                watch_stop(m->services[i]);
                health_forget(m->services[i]);
        }
        while (m->n_services > 0)
                manager_forget(m, m->services[0]->name);
        free(m->services);
        hl_index_done(&m->by_name);
        methods_sessions_close(m);
        if (d.control)
                control_close(d.control);
        if (d.readonly_control)
                control_close(d.readonly_control);
        uv_walk(&loop, close_handle, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&loop) < 0)
                log_warning("the event loop still had handles at exit");
        reconcile_done(m);
        foreign_done(m);
        /* Probe results of the last turn of the loop, not written yet. */
        if (m->store)
                health_flush(m);
        store_close(m->store);
        config_done(&m->config);
        return r < 0 ? 1 : 0;
}
