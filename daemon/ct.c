/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The liblxc adapter; snapshot.c, its other half, keeps the snapshots. Only these two files
 * include liblxc. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "hl-dns.h"
#include "hl-pve.h"
#include "inroot.h"
#include "rootfs.h"
#include "ct.h"
#include "hl-oci.h"
#include "inroot.h"
#include "oci.h"


#define MARKER_CREATING "hl-creating"
#define FILE_ORIGIN CT_FILE_ORIGIN
#define FILE_MOUNTS CT_FILE_MOUNTS
#define FILE_GUEST CT_FILE_GUEST
#define FILE_LXC CT_FILE_LXC
#define IDMAP_BASE 100000
#define IDMAP_RANGE 65536

static bool cgroup_v2;

/* liblxc makes its children with raw clone(2) in places (a container's init, the copy of a
 * clone, attach), which skips glibc's fork handlers: in a threaded process, a child that
 * then takes a stdio or malloc lock another thread held at that instant waits for ever
 * (seen: a clone's child stuck in fopen on _IO_list_all_lock). So every call that makes
 * children runs in a helper process forked for it: fork(2) itself leaves malloc, stdio and
 * liblxc's own locks usable in the child, and in the single-threaded helper liblxc's
 * clones are safe. Helpers run in parallel; reads stay in hld's threads. */

/* Set in a helper process (below): only there may liblxc's process-wide log be pointed at
 * a file (ct_helper_log_begin). */
static bool in_helper;
static char helper_log[PATH_MAX];

struct helper_result {
        int r;
        char error[1024];
        uint32_t detail_len; /* that many bytes follow: what the call recorded (JSON) */
};

/* What a call in a helper records besides its error (the Provision= steps), handed to the
 * caller after the result. */
static char *helper_detail;
#define HELPER_DETAIL_MAX (48 * 1024)

static int read_full(int fd, void *buf, size_t size) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = read(fd, (char *) buf + done, size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EIO;
                done += (size_t) n;
        }
        return 0;
}

int ct_run_helper(const char *name, ct_helper_fn fn, void *data, char **ret_detail, char **ret_error) {
        struct helper_result res = {};
        int fds[2], status = 0, r;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return hl_fail(ret_error, -errno, "cannot make a pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fds[0]);
                close(fds[1]);
                return hl_fail(ret_error, r, "cannot fork a helper for %s: %s", name, strerror(-r));
        }
        if (pid == 0) {
                char *error = NULL;

                close(fds[0]);
                prctl(PR_SET_NAME, (unsigned long) "hld-lxc", 0, 0, 0);
                in_helper = true;
                res.r = fn(data, &error);
                if (error)
                        snprintf(res.error, sizeof(res.error), "%s", error);
                if (helper_detail)
                        res.detail_len = (uint32_t) strnlen(helper_detail, HELPER_DETAIL_MAX);
                (void) !write(fds[1], &res, sizeof(res));
                if (res.detail_len)
                        (void) !write(fds[1], helper_detail, res.detail_len);
                _exit(0);
        }
        close(fds[1]);
        r = read_full(fds[0], &res, sizeof(res));
        if (r >= 0 && res.detail_len > 0 && res.detail_len <= HELPER_DETAIL_MAX) {
                char *detail = malloc(res.detail_len + 1);
                if (detail && read_full(fds[0], detail, res.detail_len) >= 0) {
                        detail[res.detail_len] = 0;
                        if (ret_detail)
                                *ret_detail = TAKE_PTR(detail);
                }
                free(detail);
        }
        close(fds[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return hl_fail(ret_error, -EIO, "the helper for %s died (%s %d)", name,
                            WIFSIGNALED(status) ? "signal" : "status",
                            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (res.r < 0 && res.error[0])
                hl_fail(ret_error, res.r, "%s", res.error);
        return res.r;
}

/* The cgroup.procs files of the cgroups hld started in, one per hierarchy. */
static char *home_cgroups[16];
static size_t n_home_cgroups;

/* liblxc's start notes the caller's pid as the monitor's before it forks, and the forked
 * monitor then moves that pid into lxc.monitor.NAME. Were the caller hld, it would leave
 * its own cgroup (its systemd unit's) and the monitor cgroup could never be removed. Starts
 * run in a helper process (below), which is what gets moved and then exits; the caller
 * still goes back to where it belongs after every start, should that ever change. */
static void record_home_cgroups(void) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f = fopen("/proc/self/cgroup", "re");

        if (!f)
                return;
        while (getline(&line, &size, f) > 0 && n_home_cgroups < HL_ELEMENTSOF(home_cgroups)) {
                char *controllers = strchr(line, ':'), *path, *file;
                const char *base;

                if (!controllers || !(path = strchr(++controllers, ':')))
                        continue;
                *path++ = 0;
                path[strcspn(path, "\n")] = 0;
                if (!*controllers)
                        base = cgroup_v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
                else if (strncmp(controllers, "name=", 5) == 0)
                        controllers += 5, base = "/sys/fs/cgroup";
                else
                        base = "/sys/fs/cgroup";
                file = *controllers ? hl_strdup_printf("%s/%s%s/cgroup.procs", base, controllers, path)
                                    : hl_strdup_printf("%s%s/cgroup.procs", base, path);
                if (file && access(file, W_OK) == 0)
                        home_cgroups[n_home_cgroups++] = file;
                else
                        free(file);
        }
        fclose(f);
}

static void return_home(void) {
        char pid[32];

        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        for (size_t i = 0; i < n_home_cgroups; i++) {
                int fd = open(home_cgroups[i], O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void) !write(fd, pid, strlen(pid));
                        close(fd);
                }
        }
}

/* Removes the cgroup directory path when it is empty, with its empty children first. */
static void remove_empty_cgroup(const char *path, int depth) {
        DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return;
        while (depth > 0 && (de = readdir(d)))
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        _cleanup_free_ char *child = hl_strdup_printf("%s/%s", path, de->d_name);
                        if (child)
                                remove_empty_cgroup(child, depth - 1);
                }
        closedir(d);
        (void) rmdir(path);
}

/* A start that fails can leave the cgroups liblxc made for it (lxc.monitor.NAME, and
 * lxc.payload.NAME), empty, in every hierarchy: this machine had collected dozens. rmdir
 * removes only empty ones, so a live container of that name elsewhere keeps its own. */
static void remove_start_cgroups(const char *name) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f)
                return;
        while (getline(&line, &size, f) > 0) {
                char mount[4096], type[64];
                const char *sep = strstr(line, " - ");

                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mount) != 1 || sscanf(sep + 3, "%63s", type) != 1)
                        continue;
                if (strcmp(type, "cgroup") != 0 && strcmp(type, "cgroup2") != 0)
                        continue;
                for (int i = 0; i < 2; i++) {
                        _cleanup_free_ char *dir = hl_strdup_printf("%s/lxc.%s.%s", mount, i ? "payload" : "monitor", name);
                        if (dir)
                                remove_empty_cgroup(dir, 2);
                }
        }
        fclose(f);
}

/* Derived MAC addresses differ between nodes by their machine id. */
static void set_node_id(void) {
        _cleanup_free_ char *id = ct_read_small_file("/etc/machine-id");

        settings_set_node_id(id);
}

int ct_setup(void) {
        int r = settings_detect_cgroups();

        if (r < 0)
                return r;
        cgroup_v2 = settings_cgroup_v2();
        record_home_cgroups();
        set_node_id();
        return 0;
}

void ct_container_putp(struct lxc_container **c) {
        if (*c)
                lxc_container_put(*c);
}

void ct_observed_done(struct ct_observed *o) {
        hl_strv_free(o->values);
        netinfo_done(&o->net);
        *o = (struct ct_observed) {};
}

char *ct_path_in(const char *lxcpath, const char *name, const char *file) {
        return hl_strdup_printf("%s/%s/%s", lxcpath, name, file);
}

char *ct_read_small_file(const char *path) {
        char buf[4096];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return strdup("");
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                n = 0;
        buf[n] = 0;
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        return strdup(buf);
}

/* Makes a rename in dir durable: a power cut after it keeps the new name. */
int ct_sync_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

int ct_write_file(const char *dir, const char *file, const char *text) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/%s", dir, file), *tmp = NULL;
        int fd;
        ssize_t len = (ssize_t) strlen(text);

        if (!path || !(tmp = hl_strdup_printf("%s.tmp", path)))
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, text, (size_t) len) != len || fsync(fd) < 0) {
                int r = -errno ?: -EIO;
                close(fd);
                unlink(tmp);
                return r;
        }
        close(fd);
        if (rename(tmp, path) < 0)
                return -errno;
        return ct_sync_dir(dir);
}

/* Writes a file next to the container's config atomically, never through a symlink. */
static int write_small_file(const char *lxcpath, const char *name, const char *file, const char *text) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name);

        return dir ? ct_write_file(dir, file, text) : -ENOMEM;
}

char *ct_config_value(struct lxc_container *c, const char *key) {
        char buf[8192];
        int n;

        /* liblxc writes nothing, not even the NUL, for a key that has no value. */
        n = c->get_config_item(c, key, buf, sizeof(buf));
        if (n <= 0 || (size_t) n >= sizeof(buf))
                return strdup("");
        buf[n] = 0;
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        return strdup(buf);
}

/* The mount entries hl wrote (listed in hl-mounts) that are still in the config. */
static char *managed_mounts(struct lxc_container *c, const char *lxcpath, const char *name) {
        _cleanup_free_ char *all = ct_config_value(c, KEY_MOUNTS), *path = ct_path_in(lxcpath, name, FILE_MOUNTS);
        _cleanup_free_ char *ours = path ? ct_read_small_file(path) : NULL;
        _cleanup_(hl_strv_freep) char **kept = NULL;
        char *save = NULL;

        if (!all || !ours)
                return NULL;
        for (char *e = strtok_r(ours, "\n", &save); e; e = strtok_r(NULL, "\n", &save)) {
                bool present = false;
                for (const char *p = all; (p = strstr(p, e)); p++)
                        if ((p == all || p[-1] == '\n') && (p[strlen(e)] == '\n' || !p[strlen(e)])) {
                                present = true;
                                break;
                        }
                if (present && hl_strv_push(&kept, e) < 0)
                        return NULL;
        }
        return settings_join_lines(kept);
}

static uint64_t cgroup_u64(struct lxc_container *c, const char *key) {
        char buf[128];
        int n = c->get_cgroup_item(c, key, buf, sizeof(buf));
        uint64_t v;

        if (n <= 0 || (size_t) n >= sizeof(buf))
                return 0;
        buf[strcspn(buf, " \n")] = 0;
        /* "max" and v1's near-2^63 mean unlimited: report 0. */
        if (hl_parse_uint(buf, 0, UINT64_MAX, &v) < 0 || v >= (UINT64_C(1) << 62))
                return 0;
        return v;
}

/* v2's io.stat ("8:0 rbytes=N wbytes=N …" a line per device) or v1's
 * blkio.throttle.io_service_bytes ("8:0 Read N", "8:0 Write N", …, "Total N"). */
static void sum_io(const char *text, struct ct_usage *u) {
        for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                unsigned long long a = 0, b = 0;
                char op[16];

                if (sscanf(line, "%*u:%*u rbytes=%llu wbytes=%llu", &a, &b) == 2) {
                        u->io_read += a;
                        u->io_write += b;
                } else if (sscanf(line, "%*u:%*u %15s %llu", op, &a) == 2) {
                        if (strcmp(op, "Read") == 0)
                                u->io_read += a;
                        else if (strcmp(op, "Write") == 0)
                                u->io_write += a;
                }
        }
}

int ct_usage(const char *lxcpath, const char *name, struct ct_usage *ret) {
        _cleanup_container_ struct lxc_container *c = lxc_container_new(name, lxcpath);
        char buf[8192];
        int n;

        *ret = (struct ct_usage) {};
        if (!c || !c->is_running(c))
                return -ESRCH;
        if (cgroup_v2) {
                n = c->get_cgroup_item(c, "cpu.stat", buf, sizeof(buf));
                if (n > 0 && (size_t) n < sizeof(buf)) {
                        const char *at = strstr(buf, "usage_usec ");
                        ret->cpu_usec = at ? strtoull(at + strlen("usage_usec "), NULL, 10) : 0;
                }
                ret->memory = cgroup_u64(c, "memory.current");
                n = c->get_cgroup_item(c, "io.stat", buf, sizeof(buf));
        } else {
                ret->cpu_usec = cgroup_u64(c, "cpuacct.usage") / 1000;
                ret->memory = cgroup_u64(c, "memory.usage_in_bytes");
                n = c->get_cgroup_item(c, "blkio.throttle.io_service_bytes", buf, sizeof(buf));
        }
        if (n > 0 && (size_t) n < sizeof(buf))
                sum_io(buf, ret);
        ret->processes = cgroup_u64(c, "pids.current");
        return 0;
}

static void observe_live(struct lxc_container *c, struct ct_observed *o) {
        char buf[128];

        if (cgroup_v2) {
                o->live_memory = cgroup_u64(c, "memory.max");
                o->live_swap = cgroup_u64(c, "memory.swap.max");
                o->memory_usage = cgroup_u64(c, "memory.current");
                if (c->get_cgroup_item(c, "cpu.max", buf, sizeof(buf)) > 0 && strncmp(buf, "max", 3) != 0)
                        o->live_cores = (unsigned) (strtoull(buf, NULL, 10) / CPU_PERIOD_US);
                return;
        }
        o->live_memory = cgroup_u64(c, "memory.limit_in_bytes");
        o->live_swap = cgroup_u64(c, "memory.memsw.limit_in_bytes");
        if (o->live_swap >= o->live_memory)
                o->live_swap -= o->live_memory;
        o->memory_usage = cgroup_u64(c, "memory.usage_in_bytes");
        o->live_cores = (unsigned) (cgroup_u64(c, "cpu.cfs_quota_us") / CPU_PERIOD_US);
}

/* Why hld must not touch a container directory, or false when it may: root runs what the
 * config says (hooks, mounts) and writes where it points, so a symlink in its place, or a
 * directory or config another user could have planted or can change, is never used. */
static bool container_unsafe(const char *lxcpath, const char *name, char *buf, size_t size) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name);
        _cleanup_free_ char *config = ct_path_in(lxcpath, name, "config");
        struct stat st;

        if (!dir || !config) {
                snprintf(buf, size, "out of memory");
                return true;
        }
        if (lstat(dir, &st) < 0)
                return false; /* nothing there yet */
        if (S_ISLNK(st.st_mode))
                snprintf(buf, size, "%s is a symbolic link", dir);
        else if (!S_ISDIR(st.st_mode))
                snprintf(buf, size, "%s is not a directory", dir);
        else if (st.st_uid != 0 && st.st_uid != geteuid())
                snprintf(buf, size, "%s belongs to uid %u, not to root", dir, (unsigned) st.st_uid);
        else if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0))
                snprintf(buf, size, "%s can be written by other users (mode %04o)", dir, (unsigned) (st.st_mode & 07777));
        else if (lstat(config, &st) < 0)
                return false;
        else if (!S_ISREG(st.st_mode))
                snprintf(buf, size, "%s is not a regular file", config);
        else if (st.st_uid != 0 && st.st_uid != geteuid())
                snprintf(buf, size, "%s belongs to uid %u, not to root", config, (unsigned) st.st_uid);
        else if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0))
                snprintf(buf, size, "%s can be written by other users (mode %04o)", config,
                         (unsigned) (st.st_mode & 07777));
        else
                return false;
        return true;
}

static char **config_file_values(const char *lxcpath, const char *name, const char *key);

/* A container hld made whose config no longer holds what hld wrote (a power cut, a hand
 * edit that went wrong): never started in that state. */
static void check_damage(struct lxc_container *c, const char *lxcpath, const char *name, struct ct_observed *o) {
        _cleanup_free_ char *origin = ct_path_in(lxcpath, name, FILE_ORIGIN);
        _cleanup_free_ char *rootfs = NULL, *uts = NULL;

        if (!origin || access(origin, F_OK) < 0)
                return; /* not made by hld */
        rootfs = ct_config_value(c, "lxc.rootfs.path");
        uts = ct_config_value(c, "lxc.uts.name");
        if (!rootfs || !uts)
                return;
        if (!*rootfs || !*uts)
                snprintf(o->damaged, sizeof(o->damaged),
                         "its LXC config %s/%s/config has lost %s: restore it, or run hlctl destroy %s and apply again",
                         lxcpath, name, !*rootfs ? "lxc.rootfs.path" : "lxc.uts.name", name);
}

/* The snapshot an unfinished rollback puts back, or an unjudged update took (file), in buf
 * ("" when there is none). */
static void rolling_back(const char *lxcpath, const char *name, const char *file, char *buf, size_t size) {
        _cleanup_free_ char *path = ct_path_in(lxcpath, name, file);
        _cleanup_free_ char *snap = path ? ct_read_small_file(path) : NULL;

        buf[0] = 0;
        if (snap && hl_snapshot_name_is_valid(snap))
                snprintf(buf, size, "%s", snap);
}

/* liblxc's word for the state, as an enum; a word it may add later reads UNKNOWN. */
static enum hl_ct_state state_of(struct lxc_container *c) {
        int s = hl_ct_state_from_string(c->state(c));

        return s < 0 || s == HL_CT_MISSING ? HL_CT_UNKNOWN : (enum hl_ct_state) s;
}

/* The Lxc= lines hld wrote (hl-lxc-keys), each checked against the config: a key taken out of
 * it behind hld's back shows as "KEY = (unset)", drift to be written again. liblxc may
 * print a value in its own spelling, so the record, not the config, is what compares. */
static char *observe_lxc_keys(struct lxc_container *c, const char *lxcpath, const char *name) {
        _cleanup_free_ char *path = ct_path_in(lxcpath, name, FILE_LXC), *recorded = NULL;
        _cleanup_(hl_strv_freep) char **lines = NULL;
        char *save = NULL;

        if (!path || !(recorded = ct_read_small_file(path)))
                return NULL;
        for (char *line = strtok_r(recorded, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_free_ char *key = strndup(line, strcspn(line, " ")), *have = NULL, *unset = NULL;

                if (!key || !(have = ct_config_value(c, key)))
                        return NULL;
                if (!*have && !(unset = hl_strdup_printf("%s = (unset)", key)))
                        return NULL;
                if (hl_strv_push(&lines, unset ? unset : line) < 0)
                        return NULL;
        }
        return settings_join_lines(lines);
}

static int do_observe(const char *lxcpath, const char *name, const struct ct_settings *want, struct ct_observed *ret) {
        _cleanup_container_ struct lxc_container *c = NULL;
        _cleanup_free_ char *marker = ct_path_in(lxcpath, name, MARKER_CREATING);
        struct ct_observed o = {};
        struct stat st;

        if (!marker)
                return -ENOMEM;
        if (container_unsafe(lxcpath, name, o.unsafe, sizeof(o.unsafe))) {
                o.exists = true;
                o.state = HL_CT_UNKNOWN;
                o.values = calloc(want->n + 1, sizeof(char *));
                for (size_t i = 0; o.values && i < want->n; i++)
                        if (!(o.values[i] = strdup(""))) {
                                ct_observed_done(&o);
                                return -ENOMEM;
                        }
                if (!o.values)
                        return -ENOMEM;
                o.n_values = want->n;
                *ret = o;
                return 0;
        }
        o.half_created = lstat(marker, &st) == 0;
        rolling_back(lxcpath, name, CT_FILE_ROLLING_BACK, o.rolling_back, sizeof(o.rolling_back));
        rolling_back(lxcpath, name, CT_FILE_UPDATING, o.updating, sizeof(o.updating));
        c = lxc_container_new(name, lxcpath);
        if (!c)
                return -ENOMEM;
        o.exists = c->is_defined(c);
        /* A directory under the service's name with no config is what an interrupted
         * create leaves before its marker exists: remains, too. */
        if (!o.exists && !o.half_created) {
                _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name);
                o.half_created = dir && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
        }
        o.state = o.exists ? state_of(c) : HL_CT_MISSING;
        if (o.exists && !o.half_created)
                check_damage(c, lxcpath, name, &o);
        if (o.exists && !o.half_created && !o.rolling_back[0] && !o.updating[0]) {
                _cleanup_free_ char *origin = ct_path_in(lxcpath, name, FILE_ORIGIN);
                o.foreign = origin && lstat(origin, &st) < 0 && errno == ENOENT;
        }
        if (o.exists && o.state != HL_CT_STOPPED) {
                o.pid = c->init_pid(c);
                observe_live(c, &o);
                /* Addresses for status; a namespace that cannot be read shows none. */
                if (o.pid > 0 && netinfo_read(o.pid, &o.net) < 0)
                        o.net = (struct netinfo) {};
        }
        o.values = calloc(want->n + 1, sizeof(char *));
        if (!o.values)
                return -ENOMEM;
        o.n_values = want->n;
        for (size_t i = 0; i < want->n; i++) {
                const char *key = want->items[i].key;

                if (!o.exists)
                        o.values[i] = strdup("");
                else if (strcmp(key, KEY_ORIGIN) == 0) {
                        _cleanup_free_ char *p = ct_path_in(lxcpath, name, FILE_ORIGIN);
                        o.values[i] = p ? ct_read_small_file(p) : NULL;
                } else if (strcmp(key, KEY_GUEST) == 0) {
                        _cleanup_free_ char *p = ct_path_in(lxcpath, name, FILE_GUEST);
                        o.values[i] = p ? ct_read_small_file(p) : NULL;
                } else if (strcmp(key, KEY_MOUNTS) == 0)
                        o.values[i] = managed_mounts(c, lxcpath, name);
                else if (strcmp(key, KEY_LXC) == 0)
                        o.values[i] = observe_lxc_keys(c, lxcpath, name);
                else if (strcmp(key, "lxc.environment") == 0) {
                        /* The config's own lines: an application container's image Env is
                         * its include's (hl-oci.conf), not the definition's. */
                        _cleanup_(hl_strv_freep) char **own = config_file_values(lxcpath, name, key);
                        o.values[i] = own ? settings_join_lines(own) : NULL;
                } else
                        o.values[i] = ct_config_value(c, key);
                if (!o.values[i]) {
                        ct_observed_done(&o);
                        return -ENOMEM;
                }
        }
        *ret = o;
        return 0;
}

/* liblxc says why a call failed in its log, not in its return value: a helper process (and
 * only one: the log is process-wide) sends liblxc's log to a file in the container's
 * directory, and a failure quotes its ERROR lines. */
void ct_helper_log_begin(const char *lxcpath, const char *name) {
        struct lxc_log l = { .name = name, .lxcpath = lxcpath, .level = "ERROR", .prefix = "hld", .quiet = true };

        if (!in_helper || helper_log[0])
                return;
        snprintf(helper_log, sizeof(helper_log), "%s/%s/hl-lxc.log", lxcpath, name);
        (void) unlink(helper_log);
        l.file = helper_log;
        if (lxc_log_init(&l) < 0)
                helper_log[0] = 0;
}

/* The message of an ERROR line: what follows its "file:function:line - ". */
static const char *log_message(char *line) {
        char *p = strstr(line, " ERROR ");

        if (!p || !(p = strstr(p, " - ")) || !(p = strstr(p + 3, " - ")))
                return NULL;
        p += 3;
        p[strcspn(p, "\n")] = 0;
        return *p ? p : NULL;
}

/* The first ERROR of the log (the cause, as a rule) and the last (what failed in the
 * end), or what liblxc keeps in error_string. */
const char *ct_lxc_reason(struct lxc_container *c) {
        static char reason[768];
        _cleanup_free_ char *text = NULL;
        char first[384] = "", last[384] = "";
        char *save = NULL;

        if (helper_log[0] && hl_read_file(helper_log, 1 << 20, &text, NULL) >= 0)
                for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        const char *m = log_message(line);
                        if (!m)
                                continue;
                        if (!first[0])
                                snprintf(first, sizeof(first), "%s", m);
                        snprintf(last, sizeof(last), "%s", m);
                }
        if (first[0] && strcmp(first, last) != 0)
                snprintf(reason, sizeof(reason), "%s; %s", first, last);
        else if (first[0])
                snprintf(reason, sizeof(reason), "%s", first);
        else
                snprintf(reason, sizeof(reason), "%s",
                         c && c->error_string && *c->error_string ? c->error_string : "liblxc gave no reason");
        return reason;
}

/* True when s holds a control character: liblxc's config reader ends a line at a line
 * feed or a carriage return, so such a value would write a second key of its own. */
static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static int set_item(struct lxc_container *c, const char *key, const char *value, char **ret_error) {
        /* The definition parser refuses these already: this is the last line of defence, so
         * that no future key can reopen a way to inject config. */
        if (has_control(key) || has_control(value))
                return hl_fail(ret_error, -EINVAL, "refusing to write %s: its value holds a control character", key);
        if (!c->set_config_item(c, key, value))
                return hl_fail(ret_error, -EINVAL, "liblxc refused %s = %s", key, value);
        return 0;
}

/* The values the container's own config file gives key, as written ("KEY = VALUE" lines of
 * the file itself: not those of its lxc.include files, which liblxc's reader mixes in, nor
 * liblxc's reprint of them). Empty before the container's first save. */
static char **config_file_values(const char *lxcpath, const char *name, const char *key) {
        _cleanup_free_ char *path = ct_path_in(lxcpath, name, "config"), *text = NULL;
        _cleanup_(hl_strv_freep) char **lines = NULL;
        char **values = calloc(1, sizeof(char *));
        int r;

        if (!path || !values)
                goto oom;
        r = hl_read_file(path, 1 << 20, &text, NULL);
        if (r == -ENOENT)
                return values;
        if (r < 0 || !(lines = hl_strv_split(text, "\n")))
                goto oom;
        for (char **l = lines; *l; l++) {
                char *k = *l + strspn(*l, " \t"), *eq = strchr(k, '='), *end;

                if (!eq || k[0] == '#')
                        continue;
                for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
                        ;
                if ((size_t) (end - k) != strlen(key) || strncmp(k, key, strlen(key)) != 0)
                        continue;
                eq++;
                eq += strspn(eq, " \t");
                if (hl_strv_push(&values, eq) < 0)
                        goto oom;
        }
        return values;
oom:
        hl_strv_free(values);
        return NULL;
}

/* Takes one "KEY = VALUE" line out of lines (the first that equals it); true when it did. */
static bool take_line(char **lines, size_t n, const char *key, const char *value) {
        for (size_t i = 0; i < n; i++) {
                const char *eq = lines[i] ? strstr(lines[i], " = ") : NULL;

                if (eq && (size_t) (eq - lines[i]) == strlen(key) && strncmp(lines[i], key, strlen(key)) == 0 &&
                    strcmp(eq + 3, value) == 0) {
                        lines[i] = NULL;
                        return true;
                }
        }
        return false;
}

/* Lxc= lines, exactly hld's own: for each key of the lines hld wrote before (hl-lxc-keys)
 * and of the new ones, the config file's own values of it are read as written, those hld
 * wrote before or writes now taken out (one each), the key cleared, the file's other values
 * set again, then the new lines, in order. So a template's own lines of a key stay, an
 * include's stay the include's, a line given again is not doubled (a create writes the
 * settings twice, a restore brings the record), and a line taken away goes alone. A key of
 * one value that a line replaced is cleared with the line. */
static int set_lxc_keys(struct lxc_container *c, const char *lxcpath, const char *lines, char **ret_error) {
        _cleanup_free_ char *path = ct_path_in(lxcpath, c->name, FILE_LXC), *old = NULL;
        _cleanup_(hl_strv_freep) char **mine = NULL, **before = NULL, **keys = NULL;
        int r = 0;

        if (!path || !(old = ct_read_small_file(path)))
                return -ENOMEM;
        before = hl_strv_split(old, "\n");
        mine = hl_strv_split(lines, "\n");
        if (!before || !mine)
                return -ENOMEM;
        for (char **l = mine; *l; l++)
                if (!strstr(*l, " = "))
                        return hl_fail(ret_error, -EINVAL, "Lxc= line \"%s\" is not KEY = VALUE", *l);
        /* The keys of both, each once. */
        for (char **const *list = (char **const[]) { before, mine, NULL }; *list; list++)
                for (char **l = *list; *l; l++) {
                        _cleanup_free_ char *key = strndup(*l, strcspn(*l, " "));
                        if (!key || (!hl_strv_contains(keys, key) && hl_strv_push(&keys, key) < 0))
                                return -ENOMEM;
                }
        for (char **k = keys; k && *k && r >= 0; k++) {
                _cleanup_(hl_strv_freep) char **theirs = NULL;
                size_t n_before = hl_strv_length(before), n_mine = hl_strv_length(mine);
                _cleanup_free_ char **b = calloc(n_before + 1, sizeof(char *)), **w = calloc(n_mine + 1, sizeof(char *));

                /* Never one of hld's own keys, whatever the record says. */
                if (strncmp(*k, "lxc.", 4) != 0 || hl_def_lxc_owner(*k))
                        continue;
                if (!b || !w || !(theirs = config_file_values(lxcpath, c->name, *k)))
                        return -ENOMEM;
                memcpy(b, before, sizeof(char *) * n_before);
                memcpy(w, mine, sizeof(char *) * n_mine);
                c->clear_config_item(c, *k);
                for (char **v = theirs; *v && r >= 0; v++)
                        if (!take_line(b, n_before, *k, *v) && !take_line(w, n_mine, *k, *v))
                                r = set_item(c, *k, *v, ret_error);
        }
        for (char **l = mine; *l && r >= 0; l++) {
                _cleanup_free_ char *key = strndup(*l, strcspn(*l, " "));
                r = key ? set_item(c, key, strstr(*l, " = ") + 3, ret_error) : -ENOMEM;
        }
        return r;
}

/* Writes every real lxc key of settings into c's in-memory config. */
static int set_settings(struct lxc_container *c, const char *lxcpath, const struct ct_settings *s, char **ret_error) {
        bool nets_cleared = false;
        int r;

        for (size_t i = 0; i < s->n; i++) {
                const struct ct_setting *it = &s->items[i];

                if (strcmp(it->key, KEY_ORIGIN) == 0 || strcmp(it->key, KEY_GUEST) == 0)
                        continue;
                if (strncmp(it->key, "lxc.net.", 8) == 0) {
                        const char *suffix = strrchr(it->key, '.');

                        if (!nets_cleared && !c->clear_config_item(c, "lxc.net"))
                                return hl_fail(ret_error, -EIO, "liblxc could not clear the network config");
                        nets_cleared = true;
                        /* Without a broadcast liblxc sets 0.0.0.255 (its reader prints the
                         * address alone, as the settings compare it). */
                        if (suffix && strcmp(suffix, ".address") == 0 && strstr(it->key, ".ipv4.")) {
                                char bcast[INET_ADDRSTRLEN];
                                _cleanup_free_ char *v = NULL;

                                if (settings_ipv4_broadcast(it->value, bcast, sizeof(bcast)) < 0)
                                        return hl_fail(ret_error, -EINVAL, "%s: %s is no IPv4 ADDRESS/PREFIX", it->label,
                                                    it->value);
                                v = hl_strdup_printf("%s %s", it->value, bcast);
                                r = v ? set_item(c, it->key, v, ret_error) : -ENOMEM;
                        } else
                                r = set_item(c, it->key, it->value, ret_error);
                } else if (strcmp(it->key, KEY_MOUNTS) == 0) {
                        /* Replace the entries hl wrote before; keep the template's own. */
                        _cleanup_free_ char *all = ct_config_value(c, KEY_MOUNTS);
                        _cleanup_free_ char *old = managed_mounts(c, lxcpath, c->name);
                        char *save = NULL;

                        if (!all || !old)
                                return -ENOMEM;
                        c->clear_config_item(c, KEY_MOUNTS);
                        r = 0;
                        for (char *e = strtok_r(all, "\n", &save); e && r >= 0; e = strtok_r(NULL, "\n", &save))
                                if (!strstr(old, e))
                                        r = set_item(c, KEY_MOUNTS, e, ret_error);
                        _cleanup_free_ char *mine = strdup(it->value);
                        if (!mine)
                                return -ENOMEM;
                        for (char *e = strtok_r(mine, "\n", &save); e && r >= 0; e = strtok_r(NULL, "\n", &save))
                                r = set_item(c, KEY_MOUNTS, e, ret_error);
                } else if (strcmp(it->key, KEY_LXC) == 0) {
                        r = set_lxc_keys(c, lxcpath, it->value, ret_error);
                } else if (!*it->value) {
                        c->clear_config_item(c, it->key);
                        r = 0;
                } else if (strcmp(it->key, "lxc.environment") == 0) {
                        _cleanup_free_ char *vars = strdup(it->value);
                        char *save = NULL;

                        if (!vars)
                                return -ENOMEM;
                        c->clear_config_item(c, it->key);
                        r = 0;
                        for (char *e = strtok_r(vars, "\n", &save); e && r >= 0; e = strtok_r(NULL, "\n", &save))
                                r = set_item(c, it->key, e, ret_error);
                } else {
                        c->clear_config_item(c, it->key);
                        r = set_item(c, it->key, it->value, ret_error);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int save_files(const char *lxcpath, const char *name, const struct ct_settings *s) {
        int r = 0;

        for (size_t i = 0; i < s->n && r >= 0; i++) {
                if (strcmp(s->items[i].key, KEY_ORIGIN) == 0)
                        r = write_small_file(lxcpath, name, FILE_ORIGIN, s->items[i].value);
                else if (strcmp(s->items[i].key, KEY_MOUNTS) == 0)
                        r = write_small_file(lxcpath, name, FILE_MOUNTS, s->items[i].value);
                else if (strcmp(s->items[i].key, KEY_LXC) == 0)
                        r = write_small_file(lxcpath, name, FILE_LXC, s->items[i].value);
        }
        return r;
}

/* The rootfs directory of a container hld can write into, or NULL with a sentence. */
static char *rootfs_dir(struct lxc_container *c, char **ret_error) {
        _cleanup_free_ char *path = ct_config_value(c, "lxc.rootfs.path");
        const char *dir;

        if (!path)
                return NULL;
        dir = strncmp(path, "dir:", 4) == 0 ? path + 4 : path;
        if (dir[0] != '/') {
                hl_fail(ret_error, -EOPNOTSUPP, "its root file system %s is not a directory hld can write into", path);
                return NULL;
        }
        return strdup(dir);
}

/* The network configuration inside the container (guest.c), when it changed; then its
 * record, so that an interruption between the two is drift and written again. */
static int save_guest(struct lxc_container *c, const char *lxcpath, const char *name, const struct ct_settings *s,
                      char **ret_error) {
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *path = NULL, *old = NULL, *rootfs = NULL;
                int r;

                if (strcmp(s->items[i].key, KEY_GUEST) != 0)
                        continue;
                if (!(path = ct_path_in(lxcpath, name, FILE_GUEST)) || !(old = ct_read_small_file(path)))
                        return -ENOMEM;
                if (strcmp(old, s->items[i].value) == 0)
                        return 0;
                rootfs = rootfs_dir(c, ret_error);
                if (!rootfs)
                        return hl_fail(ret_error, -EOPNOTSUPP, "cannot configure the network inside %s", name);
                r = guest_write(rootfs, s->items[i].value, old, ret_error);
                if (r < 0)
                        return r;
                r = write_small_file(lxcpath, name, FILE_GUEST, s->items[i].value);
                return r < 0 ? hl_fail(ret_error, r, "could not record the network config of %s: %s", name, strerror(-r)) : 0;
        }
        return 0;
}

/* liblxc's save_config truncates the config in place and writes it again: a kill or a
 * power cut between the two leaves a container without its config for good. So the config
 * goes to a temporary file beside it, is made durable, and is renamed over the old one. */
static int save_config(struct lxc_container *c, const char *lxcpath, const char *name, char **ret_error) {
        _cleanup_free_ char *path = ct_path_in(lxcpath, name, "config"), *tmp = NULL, *dir = NULL;
        _cleanup_close_ int fd = -1;

        if (!path || !(tmp = hl_strdup_printf("%s.tmp", path)) || !(dir = hl_strdup_printf("%s/%s", lxcpath, name)))
                return -ENOMEM;
        /* liblxc opens the file without O_NOFOLLOW: nothing may stand under that name. */
        if (unlink(tmp) < 0 && errno != ENOENT)
                return hl_fail(ret_error, -errno, "cannot remove %s: %s", tmp, strerror(errno));
        if (!c->save_config(c, tmp)) {
                unlink(tmp);
                return hl_fail(ret_error, -EIO, "liblxc could not save the config of %s: %s", name, ct_lxc_reason(c));
        }
        fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0) {
                int r = -errno;
                unlink(tmp);
                return hl_fail(ret_error, r, "cannot make %s durable: %s", tmp, strerror(-r));
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return hl_fail(ret_error, r, "cannot rename %s to %s: %s", tmp, path, strerror(-r));
        }
        return ct_sync_dir(dir) < 0 ? hl_fail(ret_error, -errno, "cannot sync %s: %s", dir, strerror(errno)) : 0;
}

/* Sets one cgroup limit on a running container; "" lifts it. */
static bool set_cgroup(struct lxc_container *c, const struct ct_setting *it) {
        const char *item = it->key + (cgroup_v2 ? strlen("lxc.cgroup2.") : strlen("lxc.cgroup."));
        const char *value = it->value;

        if (!*value && strcmp(item, "cpu.cfs_period_us") == 0)
                return true; /* the period has no "unlimited": the quota lifts the limit */
        if (!*value)
                value = cgroup_v2 ? (strcmp(item, "cpu.max") == 0 ? "max 100000" : "max") : "-1";
        return c->set_cgroup_item(c, item, value);
}

/* Whether the running container's cgroup holds another value than it: an unlimited one
 * matches "max", -1 and v1's near-2^63, and one that cannot be read (v1 without swap
 * accounting) is left alone when it is to be unlimited anyway. */
static bool cgroup_differs(struct lxc_container *c, const struct ct_setting *it) {
        const char *item = it->key + (cgroup_v2 ? strlen("lxc.cgroup2.") : strlen("lxc.cgroup."));
        char buf[128];
        uint64_t have, want;
        int n = c->get_cgroup_item(c, item, buf, sizeof(buf));
        bool unlimited;

        if (n <= 0 || (size_t) n >= sizeof(buf))
                return *it->value != 0;
        buf[strcspn(buf, "\n")] = 0;
        unlimited = strncmp(buf, "max", 3) == 0 || strcmp(buf, "-1") == 0 ||
                    (hl_parse_uint(buf, 0, UINT64_MAX, &have) >= 0 && have >= (UINT64_C(1) << 62));
        if (!*it->value)
                return !unlimited && strcmp(item, "cpu.cfs_period_us") != 0;
        if (hl_parse_uint(it->value, 0, UINT64_MAX, &want) >= 0 && hl_parse_uint(buf, 0, UINT64_MAX, &have) >= 0)
                return (want & ~UINT64_C(4095)) != (have & ~UINT64_C(4095)) && want != have;
        return strcmp(buf, it->value) != 0;
}

/* Every live setting the cgroup holds otherwise goes to it: also one the config already
 * held, changed in the cgroup behind hld's back (lxc-cgroup), which is drift too. */
static int apply_live(struct lxc_container *c, const struct ct_settings *s, char **ret_error) {
        /* v1 refuses a memory limit above memsw and a memsw below memory: a second pass
         * applies whatever the order of the first made impossible. */
        bool failed[64] = {};
        size_t n = s->n < HL_ELEMENTSOF(failed) ? s->n : HL_ELEMENTSOF(failed);

        for (size_t i = 0; i < n; i++)
                if (s->items[i].apply == CT_APPLY_LIVE && cgroup_differs(c, &s->items[i]))
                        failed[i] = !set_cgroup(c, &s->items[i]);
        for (size_t i = 0; i < n; i++)
                if (failed[i] && !set_cgroup(c, &s->items[i]))
                        return hl_fail(ret_error, -EIO, "could not set %s to %s on the running container", s->items[i].label,
                                    *s->items[i].value ? s->items[i].value : "unlimited");
        return 0;
}

static int do_configure(const char *lxcpath, const char *name, const struct ct_settings *settings, bool live,
                 char **ret_error) {
        char unsafe[256];
        _cleanup_container_ struct lxc_container *c = NULL;
        int r;

        if (container_unsafe(lxcpath, name, unsafe, sizeof(unsafe)))
                return hl_fail(ret_error, -EPERM, "refusing to touch %s: %s", name, unsafe);
        c = lxc_container_new(name, lxcpath);
        if (!c)
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", name);
        if (!c->is_defined(c))
                return hl_fail(ret_error, -ENOENT, "container %s does not exist", name);
        r = set_settings(c, lxcpath, settings, ret_error);
        if (r < 0)
                return r;
        r = save_config(c, lxcpath, name, ret_error);
        if (r < 0)
                return r;
        r = save_files(lxcpath, name, settings);
        if (r < 0)
                return hl_fail(ret_error, r, "could not record hl's settings of %s: %s", name, strerror(-r));
        r = save_guest(c, lxcpath, name, settings, ret_error);
        if (r < 0)
                return r;
        if (live && c->is_running(c))
                return apply_live(c, settings, ret_error);
        return 0;
}

static bool rootfs_is_own(struct lxc_container *c, const char *lxcpath, const char *name) {
        _cleanup_free_ char *path = ct_config_value(c, "lxc.rootfs.path");
        const char *p = path;

        if (!p || !*p)
                return false;
        if (strchr(p, ':') && strncmp(p, "/", 1) != 0)
                p = strchr(p, ':') + 1; /* dir:, overlay:, zfs: … */
        return *p && strcmp(p, "/") != 0;
}

/* The directories hl's Mount= entries mount onto, made inside the container before its
 * start: liblxc's create=dir makes them with mkdir -p as root on the host, which follows a
 * symlink the container holds out of its root file system. */
static int prepare_mounts(struct lxc_container *c, const char *lxcpath, const char *name, char **ret_error) {
        _cleanup_free_ char *path = ct_path_in(lxcpath, name, FILE_MOUNTS), *ours = NULL;
        _cleanup_free_ char *rootfs = ct_config_value(c, "lxc.rootfs.path");
        const char *dir;
        char *save = NULL;
        int r;

        if (!path || !rootfs || !(ours = ct_read_small_file(path)))
                return -ENOMEM;
        if (!*ours)
                return 0;
        dir = strncmp(rootfs, "dir:", 4) == 0 ? rootfs + 4 : rootfs;
        if (dir[0] != '/')
                return hl_fail(ret_error, -EOPNOTSUPP, "Mount= needs a directory as root file system, not %s", rootfs);
        for (char *e = strtok_r(ours, "\n", &save); e; e = strtok_r(NULL, "\n", &save)) {
                char target[4096];
                _cleanup_free_ char *error = NULL;

                char options[256] = "";

                /* "SOURCE TARGET none bind,... 0 0", TARGET relative to the root. */
                if (sscanf(e, "%*s %4095s %*s %255s", target, options) < 1)
                        continue;
                /* A file (a device bound in): liblxc makes it, its directory is made here. */
                if (strstr(options, "create=file")) {
                        char *slash = strrchr(target, '/');
                        if (!slash)
                                continue;
                        *slash = 0;
                }
                r = inroot_make_dirs(dir, target, &error);
                if (r < 0)
                        return hl_fail(ret_error, r, "Mount= target /%s: %s", target, error ? error : strerror(-r));
        }
        return 0;
}

static int do_start(const char *lxcpath, const char *name, char **ret_error) {
        char unsafe[256];
        _cleanup_container_ struct lxc_container *c = NULL;
        char thread_name[17] = "";
        bool started;
        int r;

        if (container_unsafe(lxcpath, name, unsafe, sizeof(unsafe)))
                return hl_fail(ret_error, -EPERM, "refusing to touch %s: %s", name, unsafe);
        c = lxc_container_new(name, lxcpath);
        if (!c)
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", name);
        if (!c->is_defined(c))
                return hl_fail(ret_error, -ENOENT, "container %s does not exist", name);
        if (c->is_running(c))
                return 0;
        {
                struct ct_observed o = {};
                check_damage(c, lxcpath, name, &o);
                if (o.damaged[0])
                        return hl_fail(ret_error, -EUCLEAN, "%s is damaged: %s", name, o.damaged);
        }
        /* A container with no rootfs of its own would run on the host's root file system. */
        if (!rootfs_is_own(c, lxcpath, name))
                return hl_fail(ret_error, -EINVAL, "%s has no root file system of its own (lxc.rootfs.path); refusing to "
                            "start it on the host's", name);
        r = prepare_mounts(c, lxcpath, name, ret_error);
        if (r < 0)
                return r;
        ct_helper_log_begin(lxcpath, name);
        /* The console's output kept for hlctl logs, bounded: the monitor writes it and
         * moves a full file to .1. Set for this start only, never saved: the config file
         * stays the definition's, and a container of an older hld gets it at its next start.
         * Only for hld's own containers: one it gives back (an adoption refused) or starts
         * for another tool is left as that tool made it. */
        _cleanup_free_ char *origin = ct_path_in(lxcpath, name, FILE_ORIGIN);
        if (origin && access(origin, F_OK) == 0) {
                _cleanup_free_ char *log = hl_strdup_printf("%s/%s/%s", lxcpath, name, CT_FILE_CONSOLE_LOG);
                char size[32];

                snprintf(size, sizeof(size), "%u", CT_CONSOLE_LOG_MAX);
                if (!log || !c->set_config_item(c, "lxc.console.logfile", log) ||
                    !c->set_config_item(c, "lxc.console.size", size) || !c->set_config_item(c, "lxc.console.rotate", "1"))
                        return hl_fail(ret_error, -EIO, "liblxc could not set %s's console log", name);
        }
        /* The container must not inherit hld's sockets or database. */
        c->want_close_all_fds(c, true);
        c->want_daemonize(c, true);
        /* liblxc forks the container's monitor from this thread, and the child keeps the
         * thread's name: were it "hld", `pkill -x hld` or a unit's KillMode would take
         * every container down with the daemon. */
        prctl(PR_GET_NAME, (unsigned long) thread_name, 0, 0, 0);
        prctl(PR_SET_NAME, (unsigned long) "lxc-monitor", 0, 0, 0);
        /* An application container (Template=oci:) runs under liblxc's own small init,
         * init.lxc, as lxc-execute does: it hands the stop signal on to the application and
         * reaps its children, which an application as PID 1 would not. Its words are given
         * as they are: liblxc's lxc.execute.cmd is split at every blank. */
        {
                _cleanup_free_ char *oci = ct_path_in(lxcpath, name, CT_FILE_OCI_ARGV), *text = NULL;
                _cleanup_(json_decrefp) json_t *words = NULL;
                _cleanup_free_ char **argv = NULL;

                if (oci && access(oci, F_OK) == 0) {
                        size_t i, n;
                        json_t *w;
                        text = ct_read_small_file(oci);
                        words = text ? json_loads(text, 0, NULL) : NULL;
                        n = json_array_size(words);
                        argv = n ? calloc(n + 1, sizeof(char *)) : NULL;
                        if (!argv)
                                return hl_fail(ret_error, -EINVAL, "%s's %s holds no command", name, CT_FILE_OCI_ARGV);
                        json_array_foreach(words, i, w)
                                argv[i] = (char *) (json_string_value(w) ?: "");
                }
                started = c->start(c, argv ? 1 : 0, argv);
        }
        prctl(PR_SET_NAME, (unsigned long) thread_name, 0, 0, 0);
        return_home();
        if (!started)
                remove_start_cgroups(name);
        if (!started)
                return hl_fail(ret_error, -EIO, "liblxc could not start %s: %s", name, ct_lxc_reason(c));
        if (!c->wait(c, hl_ct_state_to_string(HL_CT_RUNNING), 10))
                return hl_fail(ret_error, -ETIMEDOUT, "%s did not reach RUNNING within 10 s", name);
        return 0;
}

static int do_stop(const char *lxcpath, const char *name, int timeout_s, char **ret_error) {
        char unsafe[256];
        _cleanup_container_ struct lxc_container *c = NULL;

        if (container_unsafe(lxcpath, name, unsafe, sizeof(unsafe)))
                return hl_fail(ret_error, -EPERM, "refusing to touch %s: %s", name, unsafe);
        c = lxc_container_new(name, lxcpath);
        if (!c)
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", name);
        if (!c->is_defined(c) || !c->is_running(c))
                return 0;
        /* A clean shutdown first (the halt signal of its init), then a kill. */
        if (timeout_s > 0 && c->shutdown(c, timeout_s))
                return 0;
        if (!c->stop(c))
                return hl_fail(ret_error, -EIO, "liblxc could not stop %s: %s", name, ct_lxc_reason(c));
        c->wait(c, hl_ct_state_to_string(HL_CT_STOPPED), 10);
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes what is left of a container that liblxc does not know (no config): never
 * crossing into another file system or following a symlink. */
int ct_remove_tree(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? -errno : 0;
}

/* Snapshots a kill interrupted while they were made (snapshot.c), or while a backup wrote
 * its archive from one: never to be restored, and in liblxc's way when the container is
 * destroyed. Returns how many there were. */
static int remove_partial_snapshots(const char *lxcpath, const char *name) {
        _cleanup_free_ char *snaps = ct_path_in(lxcpath, name, "snaps");
        DIR *d = snaps ? opendir(snaps) : NULL;
        struct dirent *de;
        int removed = 0;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *dir = NULL, *partial = NULL;

                if (!hl_snapshot_name_is_valid(de->d_name) || !(dir = hl_strdup_printf("%s/%s", snaps, de->d_name)) ||
                    !(partial = hl_strdup_printf("%s/%s", dir, CT_FILE_PARTIAL)))
                        continue;
                /* A backup's own snapshot outlives its backup only when hld was killed. */
                if (access(partial, F_OK) < 0 && strncmp(de->d_name, CT_BACKUP_SNAPSHOT, strlen(CT_BACKUP_SNAPSHOT)) != 0)
                        continue;
                if (ct_remove_tree(dir) >= 0)
                        removed++;
        }
        if (d)
                closedir(d);
        return removed;
}

static int do_destroy(const char *lxcpath, const char *name, char **ret_error) {
        char unsafe[256];
        _cleanup_container_ struct lxc_container *c = NULL;
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name);
        _cleanup_free_ char *marker = ct_path_in(lxcpath, name, MARKER_CREATING);
        int r;

        if (container_unsafe(lxcpath, name, unsafe, sizeof(unsafe)))
                return hl_fail(ret_error, -EPERM, "refusing to touch %s: %s", name, unsafe);
        c = lxc_container_new(name, lxcpath);
        if (!c || !dir || !marker)
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", name);
        if (c->is_defined(c)) {
                if (c->is_running(c) && !c->stop(c))
                        return hl_fail(ret_error, -EIO, "liblxc could not stop %s: %s", name, ct_lxc_reason(c));
                struct ct_observed o = {};

                /* A half-made container can have a config liblxc cannot destroy by (no
                 * rootfs yet), and so can a damaged one: their directory is removed below
                 * all the same. */
                check_damage(c, lxcpath, name, &o);
                /* As pct destroy: its snapshots go with it (a backup is what outlives a
                 * container). */
                _cleanup_free_ char *snaps = ct_path_in(lxcpath, name, "snaps");
                _cleanup_free_ char *rolling = ct_path_in(lxcpath, name, CT_FILE_ROLLING_BACK);
                bool destroyed;

                remove_partial_snapshots(lxcpath, name);
                if (rolling)
                        (void) unlink(rolling); /* no rollback is left to finish */
                /* liblxc's destroy_with_snapshots fails where there is no snaps/. */
                destroyed = snaps && access(snaps, F_OK) == 0 ? c->destroy_with_snapshots(c) : c->destroy(c);
                if (!destroyed && access(marker, F_OK) < 0 && !o.damaged[0])
                        return hl_fail(ret_error, -EIO, "liblxc could not destroy %s: %s", name, ct_lxc_reason(c));
        }
        /* A template that a killed hld left running may still be writing: give it time. */
        for (int attempt = 0; (r = ct_remove_tree(dir)) < 0 && attempt < 10; attempt++)
                usleep(500 * 1000);
        if (r < 0)
                return hl_fail(ret_error, r, "could not remove %s: %s", dir, strerror(-r));
        return 0;
}

/* --- the first boot and Provision= ----------------------------------------------------- */

/* The last bytes a command wrote to one stream. */
#define OUTPUT_TAIL 2048
struct tail {
        char buf[OUTPUT_TAIL];
        size_t len;
        bool cut;
};

static void tail_add(struct tail *t, const char *data, size_t n) {
        if (n >= sizeof(t->buf)) {
                memcpy(t->buf, data + n - sizeof(t->buf), sizeof(t->buf));
                t->len = sizeof(t->buf);
                t->cut = true;
                return;
        }
        if (t->len + n > sizeof(t->buf)) {
                size_t drop = t->len + n - sizeof(t->buf);
                memmove(t->buf, t->buf + drop, t->len - drop);
                t->len -= drop;
                t->cut = true;
        }
        memcpy(t->buf + t->len, data, n);
        t->len += n;
}

/* The tail as text for JSON: valid UTF-8, other bytes and control characters but newline
 * and tab as '?', and a cut multi-byte character at the start dropped. */
static char *tail_text(const struct tail *t) {
        char *out = malloc(t->len + 1);
        size_t o = 0, i = 0;

        if (!out)
                return NULL;
        if (t->cut)
                while (i < t->len && ((unsigned char) t->buf[i] & 0xc0) == 0x80)
                        i++;
        while (i < t->len) {
                unsigned char c = (unsigned char) t->buf[i];
                size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
                bool ok = n > 0 && i + n <= t->len && !(n == 2 && c < 0xc2);

                for (size_t k = 1; ok && k < n; k++)
                        ok = ((unsigned char) t->buf[i + k] & 0xc0) == 0x80;
                if (ok && n == 1 && ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f))
                        ok = false;
                if (!ok) {
                        out[o++] = '?';
                        i++;
                        continue;
                }
                memcpy(out + o, t->buf + i, n);
                o += n;
                i += n;
        }
        out[o] = 0;
        return out;
}

/* The last non-empty line of a tail, for one-line messages. */
static void tail_last_line(const struct tail *t, char *buf, size_t size) {
        _cleanup_free_ char *text = tail_text(t);
        char *end, *start;

        buf[0] = 0;
        if (!text)
                return;
        end = text + strlen(text);
        while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                *--end = 0;
        start = strrchr(text, '\n');
        snprintf(buf, size, "%s", start ? start + 1 : text);
}

static int64_t monotonic_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs command with sh -c in the container (environment cleared, stdin /dev/null), keeping
 * the tails of its stdout and stderr; kills it after timeout_ms (0: no limit). Reading ends
 * when the command exits, even if something it started in the background still holds its
 * output. Returns its wait status, or -errno. */
static int attach_capture(struct lxc_container *c, const char *command, uint64_t timeout_ms, struct tail *out,
                          struct tail *err, char **ret_error) {
        lxc_attach_options_t options = LXC_ATTACH_OPTIONS_DEFAULT;
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) command, NULL };
        char *env[] = { (char *) "DEBIAN_FRONTEND=noninteractive", NULL };
        lxc_attach_command_t cmd = { .program = (char *) "/bin/sh", .argv = argv };
        int o[2] = { -1, -1 }, e[2] = { -1, -1 }, status = 0, r = 0;
        _cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        int64_t deadline = timeout_ms ? monotonic_ms() + (int64_t) timeout_ms : INT64_MAX;
        bool exited = false;
        pid_t pid;

        if (devnull < 0 || pipe2(o, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(e, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                goto done;
        }
        options.env_policy = LXC_ATTACH_CLEAR_ENV;
        options.extra_env_vars = env;
        options.stdin_fd = devnull;
        options.stdout_fd = o[1];
        options.stderr_fd = e[1];
        if (c->attach(c, lxc_attach_run_command, &cmd, &options, &pid) < 0) {
                r = hl_fail(ret_error, -EIO, "could not run it in the container: %s", ct_lxc_reason(c));
                goto done;
        }
        close(o[1]);
        close(e[1]);
        o[1] = e[1] = -1;
        for (bool open_o = true, open_e = true; open_o || open_e;) {
                struct pollfd p[2] = { { .fd = open_o ? o[0] : -1, .events = POLLIN },
                                       { .fd = open_e ? e[0] : -1, .events = POLLIN } };
                char buf[4096];

                if (!exited && monotonic_ms() >= deadline) {
                        kill(pid, SIGKILL);
                        deadline = INT64_MAX;
                }
                (void) poll(p, 2, exited ? 0 : 100);
                for (int i = 0; i < 2; i++) {
                        ssize_t n = (i == 0 ? open_o : open_e) ? read(i == 0 ? o[0] : e[0], buf, sizeof(buf)) : -1;
                        if (n > 0)
                                tail_add(i == 0 ? out : err, buf, (size_t) n);
                        else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || exited)
                                *(i == 0 ? &open_o : &open_e) = n != 0 && !exited && errno == EAGAIN;
                }
                if (!exited && waitpid(pid, &status, WNOHANG) == pid)
                        exited = true; /* one more turn drains what is left, then stop */
                else if (exited)
                        break;
        }
        if (!exited)
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        r = status;
done:
        for (int i = 0; i < 2; i++) {
                if (o[i] >= 0)
                        close(o[i]);
                if (e[i] >= 0)
                        close(e[i]);
        }
        return r;
}

static bool init_is_systemd(pid_t pid) {
        char path[64], exe[PATH_MAX];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
        n = readlink(path, exe, sizeof(exe) - 1);
        if (n <= 0)
                return false;
        exe[n] = 0;
        return strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, "systemd") == 0;
}

static const struct netinfo_iface *find_iface(const struct netinfo *n, const char *name) {
        for (size_t i = 0; i < n->n_ifaces; i++)
                if (strcmp(n->ifaces[i].name, name) == 0)
                        return &n->ifaces[i];
        return NULL;
}

/* Whether iface has an address of family: want (ADDRESS/PREFIX) itself, or any global one
 * that is not tentative when want is dhcp or auto. */
static bool has_address(const struct netinfo_iface *f, int family, const char *want) {
        bool any = strcmp(want, "dhcp") == 0 || strcmp(want, "auto") == 0;

        for (size_t i = 0; i < f->n_addrs; i++) {
                const struct netinfo_addr *a = &f->addrs[i];
                if (a->family != family || a->link_local || a->tentative)
                        continue;
                if (any)
                        return true;
                /* The kernel prints IPv6 in its shortest form; so does the comparison. */
                char want_addr[INET6_ADDRSTRLEN + 4], canon[INET6_ADDRSTRLEN];
                unsigned char bin[16];
                snprintf(want_addr, sizeof(want_addr), "%s", want);
                char *slash = strchr(want_addr, '/');
                if (slash)
                        *slash = 0;
                if (inet_pton(family, want_addr, bin) == 1 && inet_ntop(family, bin, canon, sizeof(canon)) &&
                    strncmp(a->text, canon, strlen(canon)) == 0 && a->text[strlen(canon)] == '/')
                        return true;
        }
        return false;
}

/* Whether the container has booted: systemd as PID 1 is running (or degraded), each
 * interface with ip= or ip6= has its address, each gateway answers, and when it has a
 * gateway or Nameserver=, its resolver answers. When not, why in buf. */
static bool boot_ready(struct lxc_container *c, const struct hl_def *def, pid_t pid, char *why, size_t size) {
        struct netinfo n = {};
        bool dhcp = false;

        if (init_is_systemd(pid)) {
                struct tail out = {}, err = {};
                _cleanup_free_ char *error = NULL;
                char state[128], line[256];
                int status = attach_capture(c, "systemctl is-system-running", 5000, &out, &err, &error);

                tail_last_line(&out, state, sizeof(state));
                if (status < 0 || (strcmp(state, "running") != 0 && strcmp(state, "degraded") != 0)) {
                        tail_last_line(&err, line, sizeof(line));
                        if (*state)
                                snprintf(why, size, "systemd in the container is %s, not running", state);
                        else
                                snprintf(why, size, "systemd in the container does not answer yet (%s)",
                                         *line ? line : error ? error : "no output");
                        return false;
                }
        }
        if (def->n_networks == 0)
                return true;
        if (netinfo_read(pid, &n) < 0) {
                snprintf(why, size, "its network namespace cannot be read");
                return false;
        }
        for (size_t i = 0; i < def->n_networks; i++) {
                const struct hl_network *net = &def->networks[i];
                const struct netinfo_iface *f = find_iface(&n, net->name);

                if (!f) {
                        snprintf(why, size, "%s does not exist in the container", net->name);
                        goto not_ready;
                }
                dhcp = dhcp || (net->ip && strcmp(net->ip, "dhcp") == 0) || (net->ip6 && strcmp(net->ip6, "dhcp") == 0);
                if (net->ip && !has_address(f, AF_INET, net->ip)) {
                        snprintf(why, size, "%s has %s", net->name,
                                 strcmp(net->ip, "dhcp") == 0 ? "no IPv4 address from DHCP yet" : "not its address yet");
                        goto not_ready;
                }
                if (net->ip6 && !has_address(f, AF_INET6, net->ip6)) {
                        snprintf(why, size, "%s has no %sIPv6 address yet", net->name,
                                 strcmp(net->ip6, "auto") == 0 ? "autoconfigured " : "");
                        goto not_ready;
                }
        }
        for (size_t i = 0; i < def->n_networks; i++) {
                const struct hl_network *net = &def->networks[i];
                const char *gws[2] = { net->gw, net->gw6 };

                /* A DHCP lease names its router: the default route it set. */
                if (!gws[0] && net->ip && strcmp(net->ip, "dhcp") == 0 && n.gateway4[0])
                        gws[0] = n.gateway4;
                for (size_t k = 0; k < 2; k++) {
                        if (!gws[k])
                                continue;
                        if (netinfo_ping(pid, gws[k], 1000) <= 0) {
                                snprintf(why, size, "%s: gateway %s does not answer", net->name, gws[k]);
                                goto not_ready;
                        }
                }
        }
        /* A resolver when the container has one: named in the definition, by a DHCP
         * lease, or by the template. Static addresses and no nameserver: none to ask. */
        char servers[4][INET6_ADDRSTRLEN];
        int k = netinfo_resolvers(pid, servers, HL_ELEMENTSOF(servers));
        if (k <= 0 && (def->nameservers || dhcp)) {
                snprintf(why, size, "its /etc/resolv.conf names no nameserver%s", dhcp ? " (yet: DHCP)" : "");
                goto not_ready;
        }
        if (k > 0) {
                char answers[256] = "";
                bool ok = false;

                for (int i = 0; i < k && !ok; i++) {
                        int rcode = netinfo_dns(pid, servers[i], "localhost", 1000);
                        size_t len = strlen(answers);

                        ok = rcode == HL_DNS_NOERROR || rcode == HL_DNS_NXDOMAIN;
                        snprintf(answers + len, sizeof(answers) - len, "%s%s %s", len ? ", " : "", servers[i],
                                 rcode == -ETIMEDOUT ? "does not answer"
                                 : rcode < 0         ? strerror(-rcode)
                                                     : hl_dns_rcode_to_string(rcode));
                }
                if (!ok) {
                        snprintf(why, size, "no name resolves: resolver %s", answers);
                        goto not_ready;
                }
        }
        netinfo_done(&n);
        return true;
not_ready:
        netinfo_done(&n);
        return false;
}

/* Waits for the first boot up to the definition's BootTimeout=. */
static int wait_for_boot(struct lxc_container *c, const struct hl_def *def, json_t *record, char **ret_error) {
        int64_t start = monotonic_ms(), deadline = start + (int64_t) def->boot_timeout_ms;
        char why[512] = "";

        for (;;) {
                pid_t pid = c->init_pid(c);

                if (pid <= 0 || !c->is_running(c))
                        return hl_fail(ret_error, -EIO, "%s stopped during its first boot", def->name);
                if (boot_ready(c, def, pid, why, sizeof(why)))
                        break;
                if (monotonic_ms() >= deadline) {
                        uint64_t ms = def->boot_timeout_ms;
                        char limit[32];

                        if (ms % 60000 == 0)
                                snprintf(limit, sizeof(limit), "%" PRIu64 "m", ms / 60000);
                        else if (ms % 1000 == 0)
                                snprintf(limit, sizeof(limit), "%" PRIu64 "s", ms / 1000);
                        else
                                snprintf(limit, sizeof(limit), "%" PRIu64 "ms", ms);
                        json_object_set_new(record, "boot_error", json_string(why));
                        return hl_fail(ret_error, -ETIMEDOUT, "%s did not finish booting within BootTimeout=%s: %s",
                                    def->name, limit, why);
                }
                usleep(250 * 1000);
        }
        json_object_set_new(record, "boot_ms", json_integer(monotonic_ms() - start));
        return 0;
}

/* The record of a provisioning, as the create's detail: fits HELPER_DETAIL_MAX by leaving
 * out the output of the earliest steps first. */
static void record_detail(json_t *record) {
        json_t *steps = json_object_get(record, "steps");
        char *text;

        for (size_t i = 0;; i++) {
                text = json_dumps(record, JSON_COMPACT);
                if (!text || strlen(text) < HELPER_DETAIL_MAX || i >= json_array_size(steps))
                        break;
                free(text);
                json_object_del(json_array_get(steps, i), "stdout");
                json_object_del(json_array_get(steps, i), "stderr");
        }
        free(helper_detail);
        helper_detail = text && strlen(text) < HELPER_DETAIL_MAX ? text : NULL;
        if (!helper_detail)
                free(text);
}

/* Runs each command in the running container, one after the other, until one fails; each
 * step's status, time and output's tails go to record's steps. what names the key in the
 * error ("Provision step 2 (...) failed with status 100: E: ..."). */
static int run_steps(struct lxc_container *c, const char *name, char *const *commands, const char *what, json_t *record,
                     char **ret_error) {
        int r = 0;

        for (size_t i = 0; r >= 0 && commands && commands[i]; i++) {
                struct tail out = {}, err = {};
                _cleanup_free_ char *error = NULL, *out_text = NULL, *err_text = NULL;
                int64_t started = monotonic_ms();
                int status = attach_capture(c, commands[i], 0, &out, &err, &error);
                int code = status < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

                out_text = tail_text(&out);
                err_text = tail_text(&err);
                json_array_append_new(json_object_get(record, "steps"),
                                      json_pack("{s:I, s:s, s:i, s:I, s:s, s:s}", "step", (json_int_t) i + 1, "command",
                                                commands[i], "status", code, "duration_ms",
                                                (json_int_t) (monotonic_ms() - started), "stdout", out_text ?: "",
                                                "stderr", err_text ?: ""));
                if (status < 0)
                        r = hl_fail(ret_error, -EIO, "%s step %zu could not be run in %s: %s", what, i + 1, name,
                                    error ? error : strerror(-status));
                else if (code != 0) {
                        char line[512];
                        tail_last_line(err.len ? &err : &out, line, sizeof(line));
                        r = hl_fail(ret_error, -EIO, "%s step %zu (%s) failed with status %d%s%s", what, i + 1, commands[i],
                                    code, *line ? ": " : "", line);
                }
        }
        return r;
}

static int provision(const char *lxcpath, const struct hl_def *def, bool leave_running, char **ret_error) {
        _cleanup_container_ struct lxc_container *c = lxc_container_new(def->name, lxcpath);
        json_t *record = json_pack("{s:[]}", "steps");
        int r;

        if (!c || !record) {
                json_decref(record);
                return -ENOMEM;
        }
        r = do_start(lxcpath, def->name, ret_error);
        if (r >= 0)
                r = wait_for_boot(c, def, record, ret_error);
        if (r >= 0)
                r = run_steps(c, def->name, def->provision, "Provision", record, ret_error);
        record_detail(record);
        json_decref(record);
        if (r < 0)
                return r;
        return leave_running ? 0 : do_stop(lxcpath, def->name, 10, ret_error);
}

/* Where Proxmox's configuration is (set once at start). */
static char *pve_root;

int ct_set_pve_root(const char *dir) {
        char *copy = strdup(dir);

        if (!copy)
                return -ENOMEM;
        free(pve_root);
        pve_root = copy;
        return 0;
}

/* The file STORAGE:vztmpl/FILE names, through PVE_ROOT/storage.cfg (read each time: pct
 * users edit it through Proxmox, and a create is rare). */
static int storage_tarball(const char *volume, char **ret_path, char **ret_error) {
        _cleanup_free_ char *file = hl_strdup_printf("%s/storage.cfg", pve_root ? pve_root : "/etc/pve"), *text = NULL;
        struct hl_pve_storages storages = {};
        struct hl_errors errors = {};
        size_t len;
        int r;

        if (!file)
                return -ENOMEM;
        r = hl_read_file(file, HL_PVE_STORAGE_MAX, &text, &len);
        if (r < 0)
                return hl_fail(ret_error, r, "%s names a Proxmox storage, and %s cannot be read: %s", volume, file,
                               strerror(-r));
        r = hl_pve_storage_parse(file, text, len, &storages, &errors);
        if (r == -EINVAL) {
                char line[1024];
                r = hl_fail(ret_error, r, "%s: %s", volume,
                            errors.n ? hl_def_error_format(&errors.items[0], line, sizeof(line)) : "storage.cfg is invalid");
        } else if (r >= 0) {
                _cleanup_free_ char *why = NULL;
                r = hl_pve_template_path(&storages, volume, ret_path, &why);
                if (r < 0)
                        r = hl_fail(ret_error, r, "%s: %s", volume, why ? why : strerror(-r));
        }
        hl_errors_done(&errors);
        hl_pve_storages_done(&storages);
        return r;
}

/* copy_from: a root file system to copy instead of the template (a migration). */
/* A container of no template script: LXC's common config, and its root file system at rootfs
 * (without a template liblxc writes no rootfs path: the container would run on the host's
 * /), saved before anything is unpacked into it. */
static int create_empty(struct lxc_container *c, const char *lxcpath, const struct hl_def *def, const char *rootfs,
                        char **ret_error) {
        _cleanup_free_ char *path = hl_strdup_printf("dir:%s", rootfs);
        char *const no_args[] = { NULL };
        int r;

        if (!path)
                return -ENOMEM;
        if (access("/usr/share/lxc/config/common.conf", R_OK) == 0)
                set_item(c, "lxc.include", "/usr/share/lxc/config/common.conf", NULL);
        if (!c->create(c, NULL, "dir", NULL, LXC_CREATE_QUIET, no_args))
                return hl_fail(ret_error, -EIO, "liblxc could not create %s: %s", def->name, ct_lxc_reason(c));
        r = set_item(c, "lxc.rootfs.path", path, ret_error);
        return r < 0 ? r : save_config(c, lxcpath, def->name, ret_error);
}

/* User= of an image config: uid[:gid], or a name of the image's own /etc/passwd. */
static int oci_user(const char *rootfs, const char *user, unsigned *ret_uid, unsigned *ret_gid, char **ret_error) {
        _cleanup_close_ int etc = -1;
        _cleanup_free_ char *passwd = NULL, *error = NULL;
        char *end = NULL, *save = NULL;
        unsigned long uid = strtoul(user, &end, 10);

        if (end != user && (*end == 0 || *end == ':')) {
                *ret_uid = (unsigned) uid;
                *ret_gid = *end == ':' ? (unsigned) strtoul(end + 1, NULL, 10) : (unsigned) uid;
                return 0;
        }
        if (inroot_open_dir(rootfs, "/etc", false, &etc, &error) < 0 || inroot_read(etc, "passwd", 4 << 20, &passwd) < 0)
                return hl_fail(ret_error, -ENOENT, "the image's User=%s: the image has no /etc/passwd", user);
        for (char *line = strtok_r(passwd, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[4] = {}, *p = line;
                for (int i = 0; i < 4; i++)
                        f[i] = strsep(&p, ":");
                if (f[3] && strcmp(f[0], user) == 0) {
                        *ret_uid = (unsigned) strtoul(f[2], NULL, 10);
                        *ret_gid = (unsigned) strtoul(f[3], NULL, 10);
                        return 0;
                }
        }
        return hl_fail(ret_error, -ENOENT, "the image's User=%s is not in its /etc/passwd", user);
}

/* An application container: the image's layers as its root file system, what its config
 * runs written to hl-oci.conf, which the config includes before hl's own lines (so that
 * the definition's Environment= wins over the image's Env). */
static int create_oci(struct lxc_container *c, const char *lxcpath, const struct hl_def *def, const char *ref,
                      char **ret_error) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, def->name);
        _cleanup_free_ char *rootfs = hl_strdup_printf("%s/%s/rootfs", lxcpath, def->name);
        _cleanup_free_ char *conf_path = hl_strdup_printf("%s/%s/%s", lxcpath, def->name, CT_FILE_OCI);
        _cleanup_free_ char *error = NULL, *conf = NULL, *cmd = NULL;
        _cleanup_close_ int etc = -1;
        struct hl_oci_config oci = {};
        struct hl_text t = {}, w = {};
        char **argv_copy = NULL;
        int r;

        if (!dir || !rootfs || !conf_path)
                return -ENOMEM;
        r = create_empty(c, lxcpath, def, rootfs, ret_error);
        if (r < 0)
                return r;
        r = oci_unpack(ref, rootfs, dir, def->unprivileged ? IDMAP_BASE : 0, &oci, &error);
        if (r < 0)
                return hl_fail(ret_error, r, "Template=oci:%s: %s", ref, error ? error : strerror(-r));
        /* What it runs must be there: found at start, it would be a crash loop instead. */
        {
                const char *search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
                bool found = false;
                for (char **e = oci.env; e && *e; e++)
                        if (strncmp(*e, "PATH=", 5) == 0)
                                search = *e + 5;
                if (strchr(oci.argv[0], '/')) {
                        _cleanup_free_ char *abs = oci.argv[0][0] == '/' ? strdup(oci.argv[0])
                                                                         : hl_strdup_printf("%s/%s", oci.cwd ? oci.cwd : "", oci.argv[0]);
                        found = abs && inroot_exists(rootfs, abs);
                } else {
                        _cleanup_(hl_strv_freep) char **dirs = hl_strv_split(search, ":");
                        for (char **d = dirs; !found && d && *d; d++) {
                                _cleanup_free_ char *abs = hl_strdup_printf("%s/%s", *d, oci.argv[0]);
                                found = abs && (*d)[0] == '/' && inroot_exists(rootfs, abs);
                        }
                }
                if (!found) {
                        r = hl_fail(ret_error, -ENOENT, "Template=oci:%s: the image's Entrypoint/Cmd %s does not exist in it",
                                    ref, oci.argv[0]);
                        hl_oci_config_done(&oci);
                        return r;
                }
        }
        /* Word for word: the start gives them to init.lxc as they are. */
        for (char **a = oci.argv; r >= 0 && a && *a; a++) {
                hl_text_add(&w, "%s%s", w.len ? " " : "", *a);
                r = hl_strv_push(&argv_copy, *a);
        }
        cmd = hl_text_take(&w);
        if (r < 0 || !cmd) {
                hl_oci_config_done(&oci);
                hl_strv_free(argv_copy);
                return -ENOMEM;
        }
        hl_text_add(&t, "# What the image's config runs (Template=oci:%s), written by hld at create.\n", ref);
        /* The command itself is hl-oci-argv's (liblxc's lxc.execute.cmd splits at blanks). */
        hl_text_add(&t, "# command: %s\n", cmd);
        hl_text_add(&t, "lxc.init.cwd = %s\n", oci.cwd ? oci.cwd : "/");
        if (oci.user) {
                unsigned uid = 0, gid = 0;
                free(TAKE_PTR(error));
                r = oci_user(rootfs, oci.user, &uid, &gid, &error);
                if (r < 0) {
                        hl_oci_config_done(&oci);
                        free(hl_text_take(&t));
                        return hl_fail(ret_error, r, "Template=oci:%s: %s", ref, error);
                }
                hl_text_add(&t, "lxc.init.uid = %u\nlxc.init.gid = %u\n", uid, gid);
        }
        /* An application's PID 1 is the application: it stops on its own signal (TERM
         * unless the image says otherwise), not on an init system's SIGPWR. */
        hl_text_add(&t, "lxc.signal.halt = %d\n", oci.stop_signal ? oci.stop_signal : SIGTERM);
        for (char **e = oci.env; e && *e; e++)
                hl_text_add(&t, "lxc.environment = %s\n", *e);
        for (char **p = oci.exposed; p && *p; p++)
                hl_text_add(&t, "# exposed by the image (not opened by hl): %s\n", *p);
        hl_oci_config_done(&oci);
        conf = hl_text_take(&t);
        if (!conf)
                return -ENOMEM;
        {
                json_t *words = json_array();
                _cleanup_free_ char *text = NULL;
                for (char **a = argv_copy; words && a && *a; a++)
                        json_array_append_new(words, json_string(*a));
                text = words ? json_dumps(words, JSON_COMPACT) : NULL;
                json_decref(words);
                hl_strv_free(argv_copy);
                r = text ? ct_write_file(dir, CT_FILE_OCI_ARGV, text) : -ENOMEM;
        }
        if (r >= 0)
                r = ct_write_file(dir, CT_FILE_OCI, conf);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot write %s: %s", conf_path, strerror(-r));
        r = set_item(c, "lxc.include", conf_path, ret_error);
        if (r >= 0)
                r = save_config(c, lxcpath, def->name, ret_error);
        if (r < 0)
                return r;
        /* What an application finds on any container runtime: a hosts and a resolv.conf of
         * its own (an image's own are kept). */
        if (inroot_open_dir(rootfs, "/etc", true, &etc, &error) < 0)
                return hl_fail(ret_error, -EIO, "Template=oci:%s: %s", ref, error ? error : "no /etc");
        if (!inroot_exists(rootfs, "/etc/hosts")) {
                _cleanup_free_ char *hosts = hl_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.1.1\t%s\n",
                                                              def->hostname ? def->hostname : def->name);
                r = hosts ? inroot_write(etc, "hosts", hosts, 0644) : -ENOMEM;
        }
        if (r >= 0 && !inroot_exists(rootfs, "/etc/resolv.conf"))
                r = inroot_write(etc, "resolv.conf", "", 0644);
        return r < 0 ? hl_fail(ret_error, r, "Template=oci:%s: cannot write /etc/hosts or /etc/resolv.conf: %s", ref,
                               strerror(-r))
                     : 0;
}

static int create_from(struct lxc_container *c, const char *lxcpath, const struct hl_def *def, const char *copy_from,
                       char **ret_error) {
        _cleanup_free_ char *resolved = NULL;
        const char *arg;
        char *const no_args[] = { NULL };
        enum hl_template_kind kind = hl_def_template_kind(def, &arg);
        int r;

        if (copy_from) {
                arg = copy_from;
                kind = HL_TEMPLATE_TARBALL;
        } else if (kind == HL_TEMPLATE_STORAGE) {
                r = storage_tarball(arg, &resolved, ret_error);
                if (r < 0)
                        return r;
                arg = resolved;
                kind = HL_TEMPLATE_TARBALL;
        }
        switch (kind) {
        case HL_TEMPLATE_STORAGE:
                return -EINVAL; /* resolved to its tarball above */
        case HL_TEMPLATE_ADOPTED:
                return hl_fail(ret_error, -EOPNOTSUPP,
                               "%s was made outside hl and adopted (Template=adopted): it cannot be made again; give "
                               "its definition a Template= to recreate it", def->name);
        case HL_TEMPLATE_NONE:
                return hl_fail(ret_error, -EOPNOTSUPP, "%s is a Host= service: hl does not make a container for it",
                               def->name);
        case HL_TEMPLATE_SCRIPT:
                if (!c->create(c, arg, "dir", NULL, LXC_CREATE_QUIET, no_args))
                        return hl_fail(ret_error, -EIO, "template %s failed to create %s: %s", arg, def->name, ct_lxc_reason(c));
                return 0;
        case HL_TEMPLATE_TARBALL: {
                _cleanup_free_ char *rootfs = hl_strdup_printf("%s/%s/rootfs", lxcpath, def->name);
                _cleanup_free_ char *error = NULL;

                if (!rootfs)
                        return -ENOMEM;
                r = create_empty(c, lxcpath, def, rootfs, ret_error);
                if (r < 0)
                        return r;
                /* A migrated tree is copied as it is: Proxmox shifts an unprivileged
                 * container's owners by the same 100000 as hl. */
                r = copy_from ? rootfs_copy(arg, rootfs, NULL, &error)
                              : rootfs_extract(arg, rootfs, def->unprivileged ? IDMAP_BASE : 0, &error);
                if (r < 0)
                        return hl_fail(ret_error, r, "could not %s %s: %s", copy_from ? "copy" : "unpack", arg,
                                       error ? error : strerror(-r));
                /* A template can make another; a migrated tree is the only copy hl has
                 * once the source's onboot is off: on disk before the service is stored. */
                if (copy_from) {
                        _cleanup_close_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0 || syncfs(fd) < 0)
                                return hl_fail(ret_error, -errno, "cannot make the copy of %s durable: %s", arg,
                                               strerror(errno));
                }
                return 0;
        }
        case HL_TEMPLATE_OCI:
                return create_oci(c, lxcpath, def, arg, ret_error);
        case HL_TEMPLATE_CLONE: {
                _cleanup_container_ struct lxc_container *src = lxc_container_new(arg, lxcpath);
                struct lxc_container *copy;

                if (!src || !src->is_defined(src))
                        return hl_fail(ret_error, -ENOENT, "container %s to clone does not exist", arg);
                if (src->is_running(src))
                        return hl_fail(ret_error, -EBUSY, "container %s must be stopped to be cloned", arg);
                copy = src->clone(src, def->name, lxcpath, 0, NULL, NULL, 0, NULL);
                if (!copy)
                        return hl_fail(ret_error, -EIO, "liblxc could not clone %s: %s", arg, ct_lxc_reason(src));
                lxc_container_put(copy);
                return 0;
        }
        }
        return -EINVAL;
}

/* A template can exit 0 and make nothing (an empty tarball, a script that failed quietly):
 * that is a failed create, not a container to start later on nothing. */
static int check_rootfs_made(const char *lxcpath, const struct hl_def *def, char **ret_error) {
        /* Read afresh: a clone writes its config to disk behind this container's back. */
        _cleanup_container_ struct lxc_container *c = lxc_container_new(def->name, lxcpath);
        _cleanup_free_ char *path = c ? ct_config_value(c, "lxc.rootfs.path") : NULL;
        const char *dir;
        DIR *d;
        struct dirent *de;
        bool any = false;

        if (!path)
                return -ENOMEM;
        dir = strncmp(path, "dir:", 4) == 0 ? path + 4 : path;
        if (!*dir || dir[0] != '/')
                return *dir ? 0 : hl_fail(ret_error, -EIO, "template %s made no root file system", def->template_name);
        d = opendir(dir);
        if (!d)
                return hl_fail(ret_error, -EIO, "template %s made no root file system (%s: %s)", def->template_name, dir,
                            strerror(errno));
        while (!any && (de = readdir(d)))
                any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return any ? 0 : hl_fail(ret_error, -EIO, "template %s made an empty root file system", def->template_name);
}

static int do_create(const char *lxcpath, const struct hl_def *def, const struct ct_settings *settings, bool leave_running,
                     const char *copy_from, char **ret_error) {
        _cleanup_container_ struct lxc_container *c = NULL;
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, def->name);
        _cleanup_free_ char *marker = ct_path_in(lxcpath, def->name, MARKER_CREATING);
        int fd, r;

        if (!dir || !marker)
                return -ENOMEM;
        if (mkdir(dir, 0770) < 0)
                return hl_fail(ret_error, -errno, "cannot make %s: %s", dir, strerror(errno));
        fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                rmdir(dir);
                return hl_fail(ret_error, r, "cannot mark %s as being created: %s", dir, strerror(-r));
        }
        close(fd);
        /* A migration stores no service until its container is whole: until then hld's next
         * start removes it, as it does a restore's (backup_remove_leftovers). */
        if (copy_from && (r = ct_write_file(dir, CT_FILE_RESTORING, "")) < 0) {
                unlink(marker);
                rmdir(dir);
                return hl_fail(ret_error, r, "cannot mark %s as being migrated: %s", dir, strerror(-r));
        }
        ct_helper_log_begin(lxcpath, def->name);

        c = lxc_container_new(def->name, lxcpath);
        if (!c)
                r = hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", def->name);
        else
                r = set_settings(c, lxcpath, settings, ret_error);
        if (r >= 0 && def->unprivileged) {
                char map[64];
                snprintf(map, sizeof(map), "u 0 %d %d", IDMAP_BASE, IDMAP_RANGE);
                r = set_item(c, "lxc.idmap", map, ret_error);
                map[0] = 'g';
                if (r >= 0)
                        r = set_item(c, "lxc.idmap", map, ret_error);
        }
        if (r >= 0)
                r = create_from(c, lxcpath, def, copy_from, ret_error);
        if (r >= 0)
                r = check_rootfs_made(lxcpath, def, ret_error);
        /* Templates append their own lines: write hl's settings once more over them. */
        if (r >= 0)
                r = do_configure(lxcpath, def->name, settings, false, ret_error);
        if (r >= 0 && def->provision)
                r = provision(lxcpath, def, leave_running, ret_error);
        if (r >= 0 && unlink(marker) < 0)
                r = hl_fail(ret_error, -errno, "cannot unmark %s: %s", dir, strerror(errno));
        if (r < 0) {
                /* Never leave a half-made container behind under the service's name. */
                lxc_container_put(TAKE_PTR(c));
                do_destroy(lxcpath, def->name, NULL);
        }
        return r;
}

int ct_check_host(const struct hl_def *def, char **ret_problem) {
        struct stat st;

        /* What liblxc would only find out in the middle of a start. */
        for (size_t i = 0; i < def->n_mounts; i++)
                if (stat(def->mounts[i].source, &st) < 0)
                        return hl_fail(ret_problem, -ENOENT, "Mount= source %s does not exist on this node (%s)",
                                    def->mounts[i].source, strerror(errno));
        for (size_t i = 0; i < def->n_networks; i++) {
                _cleanup_free_ char *bridge = hl_strdup_printf("/sys/class/net/%s/bridge", def->networks[i].bridge);
                _cleanup_free_ char *iface = hl_strdup_printf("/sys/class/net/%s", def->networks[i].bridge);

                if (!bridge || !iface)
                        return -ENOMEM;
                if (stat(iface, &st) < 0)
                        return hl_fail(ret_problem, -ENOENT, "Network= %s: the bridge %s does not exist on this node",
                                    def->networks[i].name, def->networks[i].bridge);
                if (stat(bridge, &st) < 0)
                        return hl_fail(ret_problem, -EINVAL, "Network= %s: %s is no bridge", def->networks[i].name,
                                    def->networks[i].bridge);
                if (def->networks[i].tag) {
                        _cleanup_free_ char *filtering = hl_strdup_printf("%s/vlan_filtering", bridge);
                        _cleanup_free_ char *value = filtering ? ct_read_small_file(filtering) : NULL;

                        if (!value)
                                return -ENOMEM;
                        if (strcmp(value, "1") != 0)
                                return hl_fail(ret_problem, -EINVAL,
                                            "Network= %s: tag=%u needs a VLAN-aware bridge, and %s does not filter "
                                            "VLANs (%s)", def->networks[i].name, def->networks[i].tag,
                                            def->networks[i].bridge,
                                            *value ? "vlan_filtering 0: ip link set BRIDGE type bridge vlan_filtering 1"
                                                   : "this kernel has no bridge VLAN filtering");
                }
        }
        return 0;
}

/* Where liblxc looks for template scripts (Debian's LXCTEMPLATEDIR). */
#define TEMPLATE_DIR "/usr/share/lxc/templates"

bool ct_lxc_key_supported(const char *key) {
        /* liblxc's families of keys (lxc.prlimit.nofile, lxc.sysctl.net.…): it knows the
         * family, not each member. */
        static const char *const families[] = { "lxc.prlimit.", "lxc.limit.", "lxc.sysctl.", "lxc.cgroup.",
                                                "lxc.cgroup2.", "lxc.proc." };

        for (size_t i = 0; i < HL_ELEMENTSOF(families); i++)
                if (strncmp(key, families[i], strlen(families[i])) == 0 && key[strlen(families[i])])
                        return true;
        return lxc_config_item_is_supported(key);
}

int ct_template_check(const struct hl_def *def, char **ret_error) {
        _cleanup_free_ char *script = NULL;
        const char *arg;

        switch (hl_def_template_kind(def, &arg)) {
        case HL_TEMPLATE_SCRIPT:
                script = hl_strdup_printf(TEMPLATE_DIR "/lxc-%s", arg);
                if (!script)
                        return -ENOMEM;
                if (access(script, X_OK) < 0)
                        return hl_fail(ret_error, -ENOENT, "no template script %s (%s: %s)", arg, script, strerror(errno));
                return 0;
        case HL_TEMPLATE_TARBALL:
                return rootfs_check(arg, ret_error);
        case HL_TEMPLATE_STORAGE: {
                _cleanup_free_ char *path = NULL;
                int r = storage_tarball(arg, &path, ret_error);
                return r < 0 ? r : rootfs_check(path, ret_error);
        }
        case HL_TEMPLATE_OCI: {
                _cleanup_free_ char *path = NULL;
                const char *tag;
                struct stat st;
                if (hl_oci_reference(arg, &path, &tag) < 0)
                        return -ENOMEM;
                if (stat(path, &st) < 0 || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)))
                        return hl_fail(ret_error, -ENOENT, "no OCI image layout or oci-archive at %s", path);
                return 0;
        }
        case HL_TEMPLATE_CLONE:
        case HL_TEMPLATE_ADOPTED:
        case HL_TEMPLATE_NONE:
                /* Its container is looked for when the clone is made; an adopted one exists; a
                 * Host= service has none. */
                return 0;
        }
        return -EINVAL;
}

int ct_remove_leftovers(const char *lxcpath, const char *name) {
        static const char *const files[] = { "config.tmp", FILE_ORIGIN ".tmp", FILE_MOUNTS ".tmp",
                                             FILE_GUEST ".tmp", FILE_LXC ".tmp" };
        _cleanup_free_ char *origin = ct_path_in(lxcpath, name, FILE_ORIGIN);
        char unsafe[256];
        int removed = 0;

        if (!origin)
                return -ENOMEM;
        if (container_unsafe(lxcpath, name, unsafe, sizeof(unsafe)) || access(origin, F_OK) < 0)
                return 0;
        for (size_t i = 0; i < HL_ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = ct_path_in(lxcpath, name, files[i]);
                if (!path)
                        return -ENOMEM;
                if (unlink(path) == 0)
                        removed++;
                else if (errno != ENOENT)
                        return -errno;
        }
        return removed + remove_partial_snapshots(lxcpath, name);
}

int ct_observe_copy(struct ct_observed *dst, const struct ct_observed *src) {
        *dst = *src;
        dst->values = NULL;
        dst->n_values = 0;
        if (netinfo_copy(&dst->net, &src->net) < 0) {
                ct_observed_done(dst);
                return -ENOMEM;
        }
        for (size_t i = 0; i < src->n_values; i++)
                if (hl_strv_push(&dst->values, src->values[i]) < 0) {
                        ct_observed_done(dst);
                        return -ENOMEM;
                }
        dst->n_values = src->n_values;
        return 0;
}

enum hl_ct_state ct_state(const char *lxcpath, const char *name) {
        _cleanup_container_ struct lxc_container *c = lxc_container_new(name, lxcpath);

        return c && c->is_defined(c) ? state_of(c) : HL_CT_MISSING;
}

int ct_config_values(const char *lxcpath, const char *name, char *const *keys, char ***ret) {
        _cleanup_container_ struct lxc_container *c = lxc_container_new(name, lxcpath);
        _cleanup_(hl_strv_freep) char **values = NULL;

        if (!c)
                return -ENOMEM;
        if (!c->is_defined(c))
                return -ENOENT;
        for (size_t i = 0; keys && keys[i]; i++) {
                _cleanup_free_ char *v = ct_config_value(c, keys[i]);
                if (!v || hl_strv_push(&values, v) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(values);
        return 0;
}

#define FILE_MOVING "hl-moving"

/* Every "from/" in dir's config made "to/": its rootfs, an fstab, a log file. */
static int rewrite_config_paths(const char *dir, const char *from, const char *to, char **ret_error) {
        _cleanup_free_ char *path = hl_strdup_printf("%s/config", dir), *text = NULL, *old = NULL, *new = NULL;
        struct hl_text out = {};
        const char *p;
        int r;

        if (!path || !(old = hl_strdup_printf("%s/", from)) || !(new = hl_strdup_printf("%s/", to)))
                return -ENOMEM;
        r = hl_read_file(path, 1 << 20, &text, NULL);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot read %s: %s", path, strerror(-r));
        for (p = text; *p;) {
                const char *at = strstr(p, old);
                if (!at) {
                        hl_text_add(&out, "%s", p);
                        break;
                }
                hl_text_add(&out, "%.*s%s", (int) (at - p), p, new);
                p = at + strlen(old);
        }
        _cleanup_free_ char *result = hl_text_take(&out);
        if (!result)
                return -ENOMEM;
        r = ct_write_file(dir, "config", result);
        return r < 0 ? hl_fail(ret_error, r, "cannot write %s: %s", path, strerror(-r)) : 0;
}

int ct_move_finish(const char *lxcpath, const char *name, char **ret_error) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name), *marker = NULL, *from = NULL;
        int r;

        if (!dir || !(marker = hl_strdup_printf("%s/" FILE_MOVING, dir)))
                return -ENOMEM;
        if (access(marker, F_OK) < 0)
                return 0;
        from = ct_read_small_file(marker);
        if (!from)
                return -ENOMEM;
        if (from[0] != '/')
                return hl_fail(ret_error, -EINVAL, "%s does not say where %s came from", marker, name);
        r = rewrite_config_paths(dir, from, dir, ret_error);
        if (r < 0)
                return r;
        /* Its root file system where the config now says (a path spelled otherwise than the
         * move's would still name the old place). */
        {
                _cleanup_(ct_container_putp) struct lxc_container *c = lxc_container_new(name, lxcpath);
                _cleanup_free_ char *rootfs = c ? ct_config_value(c, "lxc.rootfs.path") : NULL;
                const char *p = rootfs && strncmp(rootfs, "dir:", 4) == 0 ? rootfs + 4 : rootfs;

                if (!p || (p[0] == '/' && access(p, F_OK) < 0))
                        return hl_fail(ret_error, -ENOENT, "after the move, its lxc.rootfs.path %s names no directory",
                                       rootfs ? rootfs : "(unreadable)");
        }
        if (unlink(marker) < 0 || ct_sync_dir(dir) < 0)
                return hl_fail(ret_error, -errno, "cannot remove %s: %s", marker, strerror(errno));
        return 1;
}

int ct_move(const char *from_lxcpath, const char *name, const char *lxcpath, char **ret_error) {
        _cleanup_free_ char *from = hl_strdup_printf("%s/%s", from_lxcpath, name), *to = hl_strdup_printf("%s/%s", lxcpath, name);
        char unsafe[256];
        struct stat st;
        int r;

        if (!from || !to)
                return -ENOMEM;
        if (container_unsafe(from_lxcpath, name, unsafe, sizeof(unsafe)))
                return hl_fail(ret_error, -EPERM, "not touched: %s", unsafe);
        if (lstat(to, &st) == 0)
                return hl_fail(ret_error, -EEXIST, "%s exists", to);
        /* The marker first: from the rename on, the move is finished at the other end. */
        r = ct_write_file(from, FILE_MOVING, from);
        if (r < 0)
                return hl_fail(ret_error, r, "cannot write into %s: %s", from, strerror(-r));
        if (rename(from, to) < 0) {
                r = -errno;
                _cleanup_free_ char *marker = hl_strdup_printf("%s/" FILE_MOVING, from);
                if (marker)
                        (void) unlink(marker);
                return hl_fail(ret_error, r, r == -EXDEV ? "%s and %s are on different file systems: move it (or copy it "
                                                          "with its owners) yourself, then adopt it there"
                                                        : "cannot move %s to %s: %s",
                               from_lxcpath, lxcpath, strerror(-r));
        }
        if (ct_sync_dir(from_lxcpath) < 0 || ct_sync_dir(lxcpath) < 0)
                r = hl_fail(ret_error, -errno, "cannot sync %s and %s: %s", from_lxcpath, lxcpath, strerror(errno));
        else
                r = ct_move_finish(lxcpath, name, ret_error);
        if (r >= 0)
                return 0;
        /* All or nothing: back where it was, its config as it was (the rewrite is one rename,
         * so it is the old or the new one; the new one is rewritten back). */
        {
                _cleanup_free_ char *ignored = NULL;
                (void) rewrite_config_paths(to, to, from, &ignored);
                if (rename(to, from) == 0) {
                        _cleanup_free_ char *marker = hl_strdup_printf("%s/" FILE_MOVING, from);
                        if (marker)
                                (void) unlink(marker);
                        (void) ct_sync_dir(from_lxcpath);
                        (void) ct_sync_dir(lxcpath);
                }
        }
        return r;
}

int ct_adopt_mark(const char *lxcpath, const char *name, const struct ct_settings *s) {
        _cleanup_free_ char *dir = hl_strdup_printf("%s/%s", lxcpath, name);
        int r;

        if (!dir)
                return -ENOMEM;
        r = ct_write_file(dir, CT_FILE_ADOPTING, "");
        for (size_t i = 0; i < s->n && r >= 0; i++) {
                if (strcmp(s->items[i].key, KEY_ORIGIN) == 0)
                        r = ct_write_file(dir, FILE_ORIGIN, s->items[i].value);
                else if (strcmp(s->items[i].key, KEY_MOUNTS) == 0)
                        r = ct_write_file(dir, FILE_MOUNTS, s->items[i].value);
                else if (strcmp(s->items[i].key, KEY_GUEST) == 0)
                        r = ct_write_file(dir, FILE_GUEST, s->items[i].value);
                else if (strcmp(s->items[i].key, KEY_LXC) == 0)
                        r = ct_write_file(dir, FILE_LXC, s->items[i].value);
        }
        if (r < 0)
                ct_adopt_undo(lxcpath, name);
        return r;
}

void ct_adopt_undo(const char *lxcpath, const char *name) {
        static const char *const files[] = { FILE_ORIGIN, FILE_MOUNTS, FILE_GUEST, FILE_LXC, CT_FILE_ADOPTING };

        /* hl-origin first: from then on it is foreign again, whatever is left. */
        for (size_t i = 0; i < HL_ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = ct_path_in(lxcpath, name, files[i]);
                if (p)
                        (void) unlink(p);
        }
}

int ct_rootfs_dir(const char *lxcpath, const char *name, char **ret_dir, enum hl_ct_state *ret_state, char **ret_error) {
        _cleanup_container_ struct lxc_container *c = lxc_container_new(name, lxcpath);
        _cleanup_free_ char *path = NULL;
        const char *dir;
        struct stat st;

        if (!c)
                return -ENOMEM;
        if (!c->is_defined(c))
                return hl_fail(ret_error, -ENOENT, "there is no container %s in %s", name, lxcpath);
        *ret_state = state_of(c);
        path = ct_config_value(c, "lxc.rootfs.path");
        if (!path)
                return -ENOMEM;
        dir = strncmp(path, "dir:", 4) == 0 ? path + 4 : path;
        *ret_dir = NULL;
        /* A storage volume (local-lvm:vm-101-disk-0, a raw image, a block device) is
         * mounted only while the container runs: its path is for the caller to give. */
        if (dir[0] == '/' && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !(*ret_dir = strdup(dir)))
                return -ENOMEM;
        return 0;
}

int ct_list_foreign(const char *lxcpath, char *const *services, struct ct_foreign **ret, size_t *ret_n) {
        DIR *d = opendir(lxcpath);
        struct ct_foreign *list = NULL;
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_(ct_container_putp) struct lxc_container *c = NULL;
                _cleanup_free_ char *config = NULL, *origin = NULL;
                struct ct_foreign *more;
                struct stat st;

                if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(list->name) ||
                    hl_strv_contains(services, de->d_name))
                        continue;
                config = ct_path_in(lxcpath, de->d_name, "config");
                origin = ct_path_in(lxcpath, de->d_name, FILE_ORIGIN);
                if (!config || !origin || lstat(config, &st) < 0 || !S_ISREG(st.st_mode) || lstat(origin, &st) == 0)
                        continue;
                more = realloc(list, sizeof(*list) * (n + 1));
                if (!more) {
                        free(list);
                        closedir(d);
                        return -ENOMEM;
                }
                list = more;
                snprintf(list[n].name, sizeof(list[n].name), "%s", de->d_name);
                c = lxc_container_new(de->d_name, lxcpath);
                list[n].state = c && c->is_defined(c) ? state_of(c) : HL_CT_MISSING;
                n++;
        }
        closedir(d);
        *ret = list;
        *ret_n = n;
        return 0;
}

const char *ct_default_lxcpath(void) {
        return lxc_get_global_config_item("lxc.lxcpath");
}

static int do_attach(const char *lxcpath, const char *name, char *const *argv, pid_t *ret_pid, char **ret_error) {
        _cleanup_container_ struct lxc_container *c = lxc_container_new(name, lxcpath);
        lxc_attach_options_t options = LXC_ATTACH_OPTIONS_DEFAULT;
        lxc_attach_command_t command = { .program = argv[0], .argv = (char **) argv };
        _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        pid_t pid = -1;

        if (!c || null < 0)
                return hl_fail(ret_error, -ENOMEM, "liblxc could not open %s", name);
        if (!c->is_running(c))
                return hl_fail(ret_error, -ESRCH, "%s is not running", name);
        options.env_policy = LXC_ATTACH_CLEAR_ENV;
        options.stdin_fd = options.stdout_fd = options.stderr_fd = null;
        if (c->attach(c, lxc_attach_run_command, &command, &options, &pid) < 0 || pid <= 0)
                return hl_fail(ret_error, -EIO, "could not run %s in %s: %s", argv[0], name, ct_lxc_reason(c));
        *ret_pid = pid;
        return 0;
}

int ct_observe(const char *lxcpath, const char *name, const struct ct_settings *want, struct ct_observed *ret) {
        return do_observe(lxcpath, name, want, ret);
}

int ct_configure(const char *lxcpath, const char *name, const struct ct_settings *settings, bool live,
                 char **ret_error) {
        return do_configure(lxcpath, name, settings, live, ret_error);
}

int ct_stop(const char *lxcpath, const char *name, int timeout_s, char **ret_error) {
        return do_stop(lxcpath, name, timeout_s, ret_error);
}

struct call {
        const char *lxcpath;
        const char *name;
        const struct hl_def *def;
        const struct ct_settings *settings;
        bool leave_running;
        const char *copy_from;
};

static int start_helper(void *data, char **ret_error) {
        struct call *c = data;
        return do_start(c->lxcpath, c->name, ret_error);
}

static int destroy_helper(void *data, char **ret_error) {
        struct call *c = data;
        return do_destroy(c->lxcpath, c->name, ret_error);
}

struct exec_call {
        const char *lxcpath;
        const char *name;
        char *const *commands;
        const char *what;
        const char *marker_dir, *marker_file, *marker_text;
};

static int exec_helper(void *data, char **ret_error) {
        struct exec_call *a = data;
        _cleanup_container_ struct lxc_container *c = lxc_container_new(a->name, a->lxcpath);
        json_t *record = json_pack("{s:[]}", "steps");
        int r = 0;

        if (!c || !record) {
                json_decref(record);
                return -ENOMEM;
        }
        if (!c->is_running(c))
                r = hl_fail(ret_error, -ESRCH, "%s is not running", a->name);
        if (r >= 0 && a->marker_file) {
                r = ct_write_file(a->marker_dir, a->marker_file, a->marker_text);
                if (r < 0)
                        hl_fail(ret_error, r, "cannot record the update of %s: %s", a->name, strerror(-r));
        }
        if (r >= 0)
                r = run_steps(c, a->name, a->commands, a->what, record, ret_error);
        record_detail(record);
        json_decref(record);
        return r;
}

int ct_exec_steps(const char *lxcpath, const char *name, char *const *commands, const char *what, const char *marker_dir,
                  const char *marker_file, const char *marker_text, char **ret_detail, char **ret_error) {
        return ct_run_helper(name, exec_helper,
                             &(struct exec_call) { .lxcpath = lxcpath, .name = name, .commands = commands, .what = what,
                                                   .marker_dir = marker_dir, .marker_file = marker_file,
                                                   .marker_text = marker_text },
                             ret_detail, ret_error);
}

static int create_helper(void *data, char **ret_error) {
        struct call *c = data;
        return do_create(c->lxcpath, c->def, c->settings, c->leave_running, c->copy_from, ret_error);
}

int ct_start(const char *lxcpath, const char *name, char **ret_error) {
        return ct_run_helper(name, start_helper, &(struct call) { .lxcpath = lxcpath, .name = name }, NULL, ret_error);
}

int ct_destroy(const char *lxcpath, const char *name, char **ret_error) {
        return ct_run_helper(name, destroy_helper, &(struct call) { .lxcpath = lxcpath, .name = name }, NULL,
                             ret_error);
}

int ct_create(const char *lxcpath, const struct hl_def *def, const struct ct_settings *settings, bool leave_running,
              char **ret_detail, char **ret_error) {
        return ct_run_helper(def->name, create_helper,
                             &(struct call) { .lxcpath = lxcpath, .def = def, .settings = settings,
                                              .leave_running = leave_running },
                             ret_detail, ret_error);
}

int ct_create_copy(const char *lxcpath, const struct hl_def *def, const struct ct_settings *settings,
                   const char *copy_from, char **ret_error) {
        return ct_run_helper(def->name, create_helper,
                             &(struct call) { .lxcpath = lxcpath, .def = def, .settings = settings,
                                              .copy_from = copy_from },
                             NULL, ret_error);
}

/* The helper of an exec probe: attaches, tells hld the pid, waits for the command up to
 * the timeout (killing it then: it is the helper's own child, so no pid can be reused
 * meanwhile) and tells hld how it ended. */
static int64_t monotonic_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void attach_helper(const char *lxcpath, const char *name, char *const *argv, uint64_t timeout_ms, int fd) {
        struct ct_attach_result res = { .how = -1 };
        _cleanup_free_ char *error = NULL;
        int64_t started = monotonic_us();
        pid_t pid = -1;
        int pidfd;

        /* The check's own time: from the attach to the command's end, measured here where
         * no other probe's work can add to it. */
        if (do_attach(lxcpath, name, argv, &pid, &error) >= 0) {
                struct pollfd p = { .events = POLLIN };

                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                p.fd = pidfd;
                if (pidfd >= 0 && poll(&p, 1, (int) timeout_ms) == 0) {
                        kill(pid, SIGKILL);
                        res.how = 1;
                } else
                        res.how = 0;
                while (waitpid(pid, &res.status, 0) < 0 && errno == EINTR)
                        ;
        }
        res.duration_us = monotonic_us() - started;
        (void) !write(fd, &res, sizeof(res));
        if (error)
                (void) !write(fd, error, strlen(error));
        _exit(0);
}

int ct_attach(const char *lxcpath, const char *name, char *const *argv, uint64_t timeout_ms, pid_t *ret_helper,
              int *ret_fd, char **ret_error) {
        int fds[2];
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return hl_fail(ret_error, -errno, "cannot make a pipe: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return hl_fail(ret_error, r, "cannot fork a helper for %s: %s", name, strerror(-r));
        }
        if (pid == 0) {
                close(fds[0]);
                prctl(PR_SET_NAME, (unsigned long) "hld-probe", 0, 0, 0);
                attach_helper(lxcpath, name, argv, timeout_ms, fds[1]);
        }
        close(fds[1]);
        *ret_helper = pid;
        *ret_fd = fds[0];
        return 0;
}
