/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backup, Backups and Restore. A backup begins with one short run: a running container is
 * snapshotted (frozen for the copy, as Snapshot) and the snapshot archived in the pool while
 * every other run goes on, then deleted; or, in mode stop, stopped cleanly. A stopped
 * container (stopped by that run or before) is archived from its own files while no run may
 * act on it (the service is held), then started again when the backup stopped it. The data
 * of Mount=…:backup directories is read as it is. Progress streams with more. A restore
 * reads the manifest, unpacks the archive beside the containers (and the data beside its
 * directories), renames it into place, then applies the definition it holds as Apply does,
 * which starts the service when it is wanted running. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backup.h"
#include "hl-def.h"
#include "methods.h"
#include "ct.h"
#include "events.h"
#include "log.h"
#include "snapshot.h"
#include "store.h"
#include "work.h"

#define PROGRESS_MS 500

struct backup_call {
        uv_work_t work;
        uv_timer_t timer;
        struct manager *m;
        struct request *req;
        char *name, *dir, *lxcpath, *snap, *manifest, *file, *as, *path;
        json_t *definition; /* Restore: {name, text, file} */
        struct hl_def *def; /* Restore: the definition, parsed */
        int64_t created;
        uint64_t started;
        uint64_t done, total;
        bool force;
        int r;
        char *error;
        int64_t uid;    /* who asked, -1 for the schedule */
        char *user;
        int64_t event;  /* the backup's event in the history */
        char *keep;     /* [Backup] Keep= of the service, to prune dir by after */
        char **pruned;  /* archives the pruning deleted */
        bool stop_mode; /* Backup: stop a running container rather than snapshot it */
        bool live;      /* Backup: archived from the container's own files (the service held) */
        bool restart;   /* Backup: stopped for it, started again after */
        json_t *manifest_json;
        char **data_paths, **data_entries; /* Backup: Mount=…:backup sources, mounts/N */
        struct backup_data *restore_data;  /* Restore: the same, from the definition */
        size_t n_restore_data;
        char **aside;   /* Restore: data directories kept as SOURCE.before-restore-… */
};

static void call_free(struct backup_call *c) {
        free(c->name);
        free(c->dir);
        free(c->lxcpath);
        free(c->snap);
        free(c->manifest);
        free(c->file);
        free(c->as);
        free(c->path);
        free(c->error);
        json_decref(c->definition);
        hl_def_free(c->def);
        free(c->keep);
        free(c->user);
        hl_strv_free(c->pruned);
        json_decref(c->manifest_json);
        hl_strv_free(c->data_paths);
        hl_strv_free(c->data_entries);
        free(c->restore_data);
        hl_strv_free(c->aside);
        free(c);
}

static void timer_closed(uv_handle_t *h) {
        call_free(h->data);
}

static void call_end(struct backup_call *c) {
        struct service *s = manager_find(c->m, c->name);

        if (s) {
                s->backing_up = false;
                s->held = false;
        }
        /* What was held meanwhile (and a start after mode stop) is done now. */
        if (s && (c->live || c->restart) &&
            reconcile_enqueue(c->m, &(struct job_request) { .kind = JOB_RECONCILE,
                                                            .trigger = c->req ? HL_TRIGGER_CLI : HL_TRIGGER_TIMER,
                                                            .only = s->name, .uid = c->uid, .user = c->user }) < 0)
                log_full(LOG_ERR, c->name, "backup", 0, "could not queue the start after the backup: the next run starts it");
        uv_close((uv_handle_t *) &c->timer, timer_closed);
}

/* The answer of a backup: to the request, or (the schedule's) to the log. */
static void backup_failed(struct backup_call *c, const char *fmt, ...) HL_PRINTF(2, 3);
static void backup_failed(struct backup_call *c, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, fmt);
        message = hl_strdup_vprintf(fmt, ap);
        va_end(ap);
        if (c->req)
                request_fail_parameter(c->req, HL_ERROR_ACTION_FAILED, "service", c->name, "%s", message ?: "out of memory");
        else
                log_full(LOG_ERR, c->name, "backup", 0, "scheduled backup failed: %s", message ?: "out of memory");
}

static void progress_tick(uv_timer_t *t) {
        struct backup_call *c = t->data;
        uint64_t done = __atomic_load_n(&c->done, __ATOMIC_RELAXED), total = __atomic_load_n(&c->total, __ATOMIC_RELAXED);

        request_reply(c->req,
                      json_pack("{s:{s:I, s:I}}", "progress", "bytes", (json_int_t) done, "total", (json_int_t) total),
                      true);
}

static void archive_work(uv_work_t *work) {
        struct backup_call *c = (struct backup_call *) work;
        _cleanup_free_ char *from = c->live ? hl_strdup_printf("%s/%s", c->lxcpath, c->name)
                                            : hl_strdup_printf("%s/%s/snaps/%s", c->lxcpath, c->name, c->snap);
        _cleanup_free_ char *rootfs = from ? hl_strdup_printf("%s/rootfs", from) : NULL;
        size_t n_data = hl_strv_length(c->data_paths);
        _cleanup_free_ struct rootfs_pack_item *data = calloc(n_data + 1, sizeof(*data));
        char *error = NULL;

        if (!from || !rootfs || !data) {
                c->r = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < n_data; i++)
                data[i] = (struct rootfs_pack_item) { c->data_paths[i], c->data_entries[i] };
        if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
                c->r = hl_fail(&c->error, -errno, "cannot make %s: %s", c->dir, strerror(errno));
                return;
        }
        c->r = backup_write(&(struct backup_source) { .name = c->name, .from = from, .rootfs = rootfs, .dir = c->dir,
                                                       .manifest = c->manifest, .created = c->created,
                                                       .done = &c->done, .total = &c->total, .data = data,
                                                       .n_data = n_data },
                            &c->path, &c->error);
        /* The snapshot was the backup's own: it goes, whatever happened. */
        if (!c->live && snapshot_delete(c->lxcpath, c->name, c->snap, &error) < 0 && c->r >= 0)
                c->r = hl_fail(&c->error, -EIO, "%s", error ? error : "could not delete the backup's snapshot");
        free(error);
        if (c->r >= 0 && c->keep)
                (void) backup_prune(c->dir, c->name, c->keep, &c->pruned);
}

static void archive_after(uv_work_t *work, int status) {
        struct backup_call *c = (struct backup_call *) work;
        _cleanup_(json_decrefp) json_t *detail = NULL;
        _cleanup_free_ char *text = NULL;
        int64_t ms = (int64_t) ((uv_hrtime() - c->started) / 1000000);
        struct stat st;

        uv_timer_stop(&c->timer);
        if (status < 0 && c->r >= 0)
                c->r = status;
        if (c->r >= 0) {
                detail = json_pack("{s:s, s:I}", "archive", c->path, "size",
                                   (json_int_t) (stat(c->path, &st) == 0 ? st.st_size : 0));
                text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
        }
        if (c->event > 0) {
                if (store_event_end(c->m->store, c->event, c->r >= 0 ? HL_RESULT_OK : HL_RESULT_FAILED, ms,
                                    c->r < 0 ? (c->error ? c->error : strerror(-c->r)) : NULL, text) < 0)
                        log_warning("could not record the end of the backup of %s, ignoring", c->name);
                events_publish(c->m, c->event);
        }
        /* What Keep= pruned, each an event of its own. */
        for (char **p = c->pruned; p && *p; p++) {
                char reason[512];
                snprintf(reason, sizeof(reason), "%s pruned by Keep=%s", *p, c->keep);
                events_record(c->m, 0, c->name, HL_VERB_DELETE_BACKUP, reason, HL_RESULT_OK, NULL);
        }
        if (c->r < 0)
                backup_failed(c, "%s", c->error ? c->error : strerror(-c->r));
        else if (c->req) {
                json_object_set_new(detail, "duration_ms", json_integer(ms));
                request_reply(c->req, json_incref(detail), false);
        }
        call_end(c);
}

/* The first run is done (a snapshot taken, the container stopped, or nothing to do for a
 * stopped one): the archive is written off its result. */
static void snapshot_done(void *userdata, const struct run_result *result) {
        struct backup_call *c = userdata;
        struct service *s = manager_find(c->m, c->name);
        json_t *v, *failed = NULL, *done = NULL;
        const char *mode;
        size_t i;

        json_array_foreach(result->actions, i, v) {
                const char *outcome = json_string_value(json_object_get(v, "result"));
                if (!outcome || strcmp(outcome, "ok") != 0)
                        failed = v;
                else
                        done = v;
        }
        if (result->error || failed || !s) {
                const char *why = failed ? json_string_value(json_object_get(failed, "error")) : result->error;
                if (done && strcmp(json_string_value(json_object_get(done, "action")), "stop") == 0)
                        c->restart = true;
                backup_failed(c, "the backup of %s could not begin: %s", c->name,
                              why ? why : failed ? json_string_value(json_object_get(failed, "reason")) : "its service is gone");
                call_end(c);
                return;
        }
        /* No snapshot: the container is stopped, and stays so while it is read. */
        if (!done || strcmp(json_string_value(json_object_get(done, "action")), "snapshot") != 0) {
                c->live = true;
                c->restart = done != NULL;
                s->held = true;
        }
        mode = !c->live ? "snapshot" : c->restart ? "stop" : "stopped";
        json_object_set_new(c->manifest_json, "mode", json_string(mode));
        c->manifest = json_dumps(c->manifest_json, JSON_COMPACT | JSON_SORT_KEYS);
        if (!c->manifest) {
                backup_failed(c, "out of memory");
                call_end(c);
                return;
        }
        {
                char reason[512];
                snprintf(reason, sizeof(reason), "archive to %s (%s; %s)", c->dir, c->req ? "requested" : "on schedule",
                         !c->live ? "from a snapshot" : c->restart ? "stopped for it" : "stopped: read as it is");
                if (store_event_begin(c->m->store, 0, c->name, HL_VERB_BACKUP, reason, c->uid, c->user, &c->event) >= 0)
                        events_publish(c->m, c->event);
        }
        if (c->req && request_wants_more(c->req))
                uv_timer_start(&c->timer, progress_tick, PROGRESS_MS, PROGRESS_MS);
        if (work_queue(c->m->loop, &c->work, archive_work, archive_after) < 0) {
                backup_failed(c, "could not queue the work");
                call_end(c);
        }
}

static struct backup_call *call_new(struct manager *m, struct request *req) {
        struct backup_call *c = calloc(1, sizeof(*c));

        if (!c || !(c->lxcpath = strdup(m->config.lxcpath)) ||
            (req && !(c->user = strdup(request_peer(req)->user)))) {
                if (c)
                        free(c->lxcpath);
                free(c);
                if (req)
                        request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return NULL;
        }
        c->uid = req ? (int64_t) request_peer(req)->uid : -1;
        c->m = m;
        c->req = req;
        c->started = uv_hrtime();
        uv_timer_init(m->loop, &c->timer);
        c->timer.data = c;
        return c;
}

/* A directory parameter: absolute, normalized. */
static bool directory_parameter(struct request *req, const char *dir, char **ret) {
        if (hl_path_normalize(dir, ret) < 0 || (*ret)[0] != '/') {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "dir",
                                       "\"%.200s\" is not an absolute path", dir);
                return false;
        }
        return true;
}

static char *default_dir(struct manager *m) {
        return hl_strdup_printf("%s/backups", m->config.state_dir);
}

/* Starts a backup of s into dir (absolute, normalized; NULL: [Backup] Dir=, else the state
 * directory's backups/). req is NULL for the schedule's: then nothing is answered. */
static void backup_begin(struct manager *m, struct request *req, struct service *s, const char *dir, bool stop_mode) {
        const struct hl_def *def = s->desired->def;
        const struct hl_backups *b = &def->backups;
        struct backup_call *c;
        time_t now = time(NULL);
        struct tm tm;
        char snap[HL_SNAPSHOT_NAME_MAX + 1];
        int r;

        c = call_new(m, req);
        if (!c)
                return;
        c->created = (int64_t) now;
        gmtime_r(&now, &tm);
        strftime(snap, sizeof(snap), CT_BACKUP_SNAPSHOT "%Y%m%d-%H%M%S", &tm);
        c->name = strdup(s->name);
        c->snap = strdup(snap);
        c->dir = dir ? strdup(dir) : b->dir ? strdup(b->dir) : default_dir(m);
        /* Keep= prunes the directory the schedule writes to, never another one. */
        if (b->times.keep_text && !dir && !(c->keep = strdup(b->times.keep_text))) {
                free(c->dir);
                c->dir = NULL;
        }
        c->stop_mode = stop_mode;
        c->manifest_json = json_pack("{s:i, s:s, s:I, s:s, s:s, s:I}", "format", BACKUP_FORMAT, "service", s->name,
                                     "revision", (json_int_t) s->desired->revision, "definition",
                                     s->desired->text ? s->desired->text : "", "file",
                                     s->desired->file ? s->desired->file : "", "created", (json_int_t) now);
        r = 0;
        for (size_t i = 0; r >= 0 && i < def->n_mounts; i++) {
                char entry[32];
                if (!def->mounts[i].backup)
                        continue;
                snprintf(entry, sizeof(entry), "mounts/%zu", i);
                r = hl_strv_push(&c->data_paths, def->mounts[i].source);
                if (r >= 0)
                        r = hl_strv_push(&c->data_entries, entry);
        }
        if (r < 0 || !c->name || !c->snap || !c->manifest_json || !c->dir) {
                backup_failed(c, "out of memory");
                uv_close((uv_handle_t *) &c->timer, timer_closed);
                return;
        }
        s->backing_up = true;
        r = reconcile_enqueue(m, &(struct job_request) {
                .kind = JOB_SNAPSHOT, .trigger = req ? HL_TRIGGER_CLI : HL_TRIGGER_TIMER, .only = s->name,
                .snapshot_verb = HL_VERB_BACKUP, .backup_stop = stop_mode, .snapshot = c->snap,
                .comment = "for a backup", .uid = c->uid,
                .user = c->user, .done = snapshot_done, .userdata = c });
        if (r < 0) {
                backup_failed(c, "could not queue the backup: %s", strerror(-r));
                call_end(c);
        }
}

void methods_backup_scheduled(struct manager *m, struct service *s) {
        if (!s->backing_up)
                backup_begin(m, NULL, s, NULL, s->desired->def->backups.stop_mode);
}

void methods_backup(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *name, *dir, *mode;
        } a = {};
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(__typeof__(a), name), true },
                { "dir", HL_FIELD_STRING, offsetof(__typeof__(a), dir), false },
                { "mode", HL_FIELD_STRING, offsetof(__typeof__(a), mode), false },
                {},
        };
        _cleanup_free_ char *dir = NULL;
        struct service *s;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (!hl_name_is_valid(a.name) || !(s = manager_find(m, a.name))) {
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", a.name, "no service named %.80s", a.name);
                return;
        }
        if (methods_refuse_host(req, s, "back up"))
                return;
        if (a.mode && strcmp(a.mode, "snapshot") != 0 && strcmp(a.mode, "stop") != 0) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "mode",
                                       "mode %.40s is not one hld has: snapshot (a running container frozen for a "
                                       "copy, archived while it runs) or stop (stopped cleanly, archived, started again)",
                                       a.mode);
                return;
        }
        if (s->backing_up) {
                request_fail(req, HL_ERROR_BUSY, "a backup of %s is under way", s->name);
                return;
        }
        if (a.dir && !directory_parameter(req, a.dir, &dir))
                return;
        backup_begin(m, req, s, dir, a.mode ? strcmp(a.mode, "stop") == 0 : s->desired->def->backups.stop_mode);
}

struct list_call {
        uv_work_t work;
        struct request *req;
        char *dir, *name;
        struct hl_keep keep; /* the service's [Backup] Keep=, when dir is its directory */
        bool has_keep;
        struct backup_entry *list;
        size_t n;
        int r;
};

static void list_work(uv_work_t *work) {
        struct list_call *c = (struct list_call *) work;

        c->r = backup_list(c->dir, c->name, &c->list, &c->n);
}

static void list_after(uv_work_t *work, int status) {
        struct list_call *c = (struct list_call *) work;
        json_t *a = json_array();

        _cleanup_free_ int *rules = calloc(c->n + 1, sizeof(int));
        bool marked = rules && c->has_keep && backup_marks(&c->keep, c->list, c->n, rules) >= 0;

        if (status < 0 || c->r < 0)
                request_fail(c->req, HL_ERROR_INTERNAL, "cannot read %s: %s", c->dir, strerror(-(status < 0 ? status : c->r)));
        else {
                for (size_t i = 0; a && i < c->n; i++) {
                        json_t *j = json_pack("{s:s, s:I, s:I, s:b}", "archive", c->list[i].path, "created",
                                              (json_int_t) c->list[i].created, "size", (json_int_t) c->list[i].size,
                                              "protected", c->list[i].protected);
                        if (j && marked && rules[i] != BACKUP_PROTECTED)
                                json_object_set_new(j, "retention",
                                                    json_string(rules[i] == BACKUP_PRUNED
                                                                        ? "prune"
                                                                        : hl_keep_rule_to_string((enum hl_keep_rule) rules[i])));
                        json_array_append_new(a, j);
                }
                request_reply(c->req, json_pack("{s:s, s:O}", "dir", c->dir, "backups", a), false);
        }
        json_decref(a);
        backup_list_free(c->list, c->n);
        free(c->dir);
        free(c->name);
        free(c);
}

void methods_backups(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *name, *dir;
        } a = {};
        static const struct hl_field table[] = {
                { "name", HL_FIELD_STRING, offsetof(__typeof__(a), name), true },
                { "dir", HL_FIELD_STRING, offsetof(__typeof__(a), dir), false },
                {},
        };
        struct list_call *c;
        struct service *s;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        /* A destroyed service's backups are what restores it: any valid name lists. */
        if (!methods_check_name(req, "name", a.name))
                return;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->name = strdup(a.name))) {
                free(c);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        c->req = req;
        s = manager_find(m, a.name);
        if (a.dir ? !directory_parameter(req, a.dir, &c->dir)
                  : !(c->dir = s && s->desired->def->backups.dir ? strdup(s->desired->def->backups.dir) : default_dir(m))) {
                if (!a.dir)
                        request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                free(c->name);
                free(c);
                return;
        }
        /* The rule that keeps each, where the schedule prunes. */
        if (s && s->desired->def->backups.times.keep_text) {
                _cleanup_free_ char *own = s->desired->def->backups.dir ? strdup(s->desired->def->backups.dir) : default_dir(m);
                if (own && strcmp(own, c->dir) == 0) {
                        c->keep = s->desired->def->backups.times.keep;
                        c->has_keep = true;
                }
        }
        if (work_queue(m->loop, &c->work, list_work, list_after) < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
                free(c->dir);
                free(c->name);
                free(c);
        }
}

/* --- Restore ------------------------------------------------------------------------- */

static void unpack_work(uv_work_t *work) {
        struct backup_call *c = (struct backup_call *) work;
        _cleanup_free_ char *target = hl_strdup_printf("%s/%s", c->lxcpath, c->name);
        struct stat st;

        /* --force over a container no service has (a restore killed before its apply);
         * never over another tool's (foreign: no hl-origin). */
        if (c->force && target && lstat(target, &st) == 0) {
                _cleanup_free_ char *origin = hl_strdup_printf("%s/hl-origin", target);
                if (!origin || lstat(origin, &st) < 0) {
                        c->r = hl_fail(&c->error, -EPERM, "%s is another tool's container (hld did not make it): "
                                       "restore --as another name", target);
                        return;
                }
                c->r = ct_destroy(c->lxcpath, c->name, &c->error);
                if (c->r < 0)
                        return;
        }
        c->r = backup_unpack(c->file, c->lxcpath, c->name, c->restore_data, c->n_restore_data, &c->aside, &c->error);
}

static void unpack_after(uv_work_t *work, int status) {
        struct backup_call *c = (struct backup_call *) work;

        if (status < 0 && c->r >= 0)
                c->r = status;
        /* SOURCE.before-restore-YYYYMMDD-HHMMSS */
        for (char **a = c->aside; a && *a; a++)
                log_full(LOG_NOTICE, c->name, "restore", 0, "the data that was in %.*s is kept as %s",
                         (int) (strlen(*a) - strlen(".before-restore-YYYYMMDD-HHMMSS")), *a, *a);
        if (c->r < 0)
                request_fail_parameter(c->req, HL_ERROR_ACTION_FAILED, "service", c->name, "%s",
                                       c->error ? c->error : strerror(-c->r));
        else if (manager_find(c->m, c->name))
                /* Applied meanwhile under that name: the container is there, the revision stays. */
                request_fail(c->req, HL_ERROR_BUSY, "a service named %s was applied while it was restored", c->name);
        else
                methods_apply_definitions(c->m, c->req, c->definition);
        uv_close((uv_handle_t *) &c->timer, timer_closed);
}

static void manifest_work(uv_work_t *work) {
        struct backup_call *c = (struct backup_call *) work;
        json_t *manifest = NULL;
        const char *service, *text;
        struct hl_def_error bad = {};
        struct stat st;

        c->r = backup_manifest(c->file, &manifest, &c->error);
        if (c->r < 0)
                return;
        json_unpack(manifest, "{s:s, s:s}", "service", &service, "definition", &text);
        c->name = strdup(c->as ? c->as : service);
        c->definition = json_pack("[{s:s, s:s, s:s}]", "name", c->name ? c->name : "", "text", text, "file", c->file);
        if (!c->name || !c->definition) {
                c->r = -ENOMEM;
        } else if (hl_def_parse(c->name, c->file, text, strlen(text), &c->def, &bad) < 0) {
                char line[1024];
                c->r = hl_fail(&c->error, -EINVAL, "the definition in %s does not parse on this hld: %s", c->file,
                               hl_def_error_format(&bad, line, sizeof(line)));
        } else if (!(c->restore_data = calloc(c->def->n_mounts + 1, sizeof(*c->restore_data)))) {
                c->r = -ENOMEM;
        } else {
                /* The archive has mounts/N for each Mount= line N with backup. */
                for (size_t i = 0; c->r >= 0 && i < c->def->n_mounts; i++) {
                        char entry[32];
                        if (!c->def->mounts[i].backup)
                                continue;
                        snprintf(entry, sizeof(entry), "mounts/%zu", i);
                        c->r = hl_strv_push(&c->data_entries, entry);
                }
                for (size_t i = 0, k = 0; c->r >= 0 && i < c->def->n_mounts; i++)
                        if (c->def->mounts[i].backup)
                                c->restore_data[c->n_restore_data++] =
                                        (struct backup_data) { c->def->mounts[i].source, c->data_entries[k++] };
        }
        if (c->r >= 0) {
                char *target = hl_strdup_printf("%s/%s", c->lxcpath, c->name);
                if (target && lstat(target, &st) == 0)
                        c->r = -EEXIST;
                free(target);
        }
        json_decref(manifest);
}

/* What the definition requires must be on this node before anything is unpacked: the
 * apply after the unpack would refuse it, and leave a container without its service. */
static bool missing_requirement(struct backup_call *c) {
        for (char **r = c->def->requires; r && *r; r++)
                if (!manager_find(c->m, *r)) {
                        request_fail_parameter(c->req, HL_ERROR_INVALID_ARGUMENT, "parameter", "file",
                                               "%s requires %s, which this node does not have: restore or apply it first",
                                               c->name, *r);
                        return true;
                }
        return false;
}

/* Whether path is dir or under it. */
static bool path_within(const char *path, const char *dir) {
        size_t n = strlen(dir);

        return strcmp(dir, "/") == 0 || (strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/'));
}

/* A restore puts Mount=…:backup data back where the definition says, moving what is there
 * aside: never a directory of the host's system or of hld's, never one that another service
 * mounts (restore --as beside the original would take its data). */
static bool data_refused(struct backup_call *c) {
        static const char *const system[] = { "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64",
                                              "/libx32", "/proc", "/root", "/run", "/sbin", "/sys", "/usr", "/var/cache",
                                              "/var/lib/apt", "/var/lib/dpkg", "/var/lib/systemd", "/var/log",
                                              "/var/mail", "/var/spool", "/var/tmp" };

        for (size_t i = 0; i < c->n_restore_data; i++) {
                const char *source = c->restore_data[i].source, *why = NULL;

                for (size_t k = 0; !why && k < HL_ELEMENTSOF(system); k++)
                        if (path_within(source, system[k]))
                                why = "is the host's system";
                if (!why && strchr(source + 1, '/') == NULL)
                        why = "is a top-level directory of the host";
                if (!why && (path_within(source, c->m->config.lxcpath) || path_within(c->m->config.lxcpath, source) ||
                             path_within(source, c->m->config.state_dir) || path_within(c->m->config.state_dir, source)))
                        why = "holds hld's containers or state";
                /* One swap at a time: a directory inside another's would move with it. */
                for (size_t k = 0; !why && k < c->n_restore_data; k++)
                        if (k != i && path_within(source, c->restore_data[k].source))
                                why = "is inside another Mount= directory the backup restores";
                for (size_t k = 0; !why && k < c->m->n_services; k++) {
                        const struct service *o = c->m->services[k];
                        if (strcmp(o->name, c->name) == 0)
                                continue;
                        for (size_t j = 0; !why && j < o->desired->def->n_mounts; j++)
                                if (path_within(source, o->desired->def->mounts[j].source) ||
                                    path_within(o->desired->def->mounts[j].source, source)) {
                                        request_fail_parameter(c->req, HL_ERROR_INVALID_ARGUMENT, "parameter", "file",
                                                               "the backup's Mount= data %s is also %s's (Mount=%s): a "
                                                               "restore would replace it; destroy %s first",
                                                               source, o->name, o->desired->def->mounts[j].source, o->name);
                                        return true;
                                }
                }
                if (why) {
                        request_fail_parameter(c->req, HL_ERROR_INVALID_ARGUMENT, "parameter", "file",
                                               "the backup's Mount= data goes to %s, which %s: refused", source, why);
                        return true;
                }
        }
        return false;
}

/* restore --force: the service there is destroyed first, as hlctl destroy --force does. */
static void replaced(void *userdata, const struct run_result *result) {
        struct backup_call *c = userdata;
        json_t *v;
        size_t i;

        json_array_foreach(result->actions, i, v) {
                const char *outcome = json_string_value(json_object_get(v, "result"));
                if (outcome && strcmp(outcome, "ok") != 0) {
                        request_fail_parameter(c->req, HL_ERROR_ACTION_FAILED, "service", c->name,
                                               "could not destroy %s to restore it: %s", c->name,
                                               json_string_value(json_object_get(v, "error")) ?: outcome);
                        uv_close((uv_handle_t *) &c->timer, timer_closed);
                        return;
                }
        }
        if (result->error) {
                methods_reply_error(c->req, result);
                uv_close((uv_handle_t *) &c->timer, timer_closed);
                return;
        }
        if (work_queue(c->m->loop, &c->work, unpack_work, unpack_after) < 0) {
                request_fail(c->req, HL_ERROR_INTERNAL, "could not queue the work");
                uv_close((uv_handle_t *) &c->timer, timer_closed);
        }
}

static int replace(struct backup_call *c, struct service *s) {
        const struct peer *peer = request_peer(c->req);
        int r;

        for (size_t i = 0; i < c->m->n_services; i++)
                if (hl_strv_contains(c->m->services[i]->desired->def->requires, s->name)) {
                        request_fail(c->req, HL_ERROR_BUSY, "%s requires %s: destroy %s first", c->m->services[i]->name,
                                     s->name, c->m->services[i]->name);
                        return -EBUSY;
                }
        r = store_set_destroying(c->m->store, s->name);
        if (r >= 0) {
                s->destroying = true;
                r = reconcile_enqueue(c->m, &(struct job_request) { .kind = JOB_DESTROY, .trigger = HL_TRIGGER_CLI,
                                                                    .only = s->name, .force = true, .uid = peer->uid,
                                                                    .user = peer->user, .done = replaced, .userdata = c });
        }
        if (r < 0)
                request_fail(c->req, HL_ERROR_INTERNAL, "could not queue the destroy of %s: %s", s->name, strerror(-r));
        return r;
}

static void manifest_after(uv_work_t *work, int status) {
        struct backup_call *c = (struct backup_call *) work;
        struct service *s = c->name ? manager_find(c->m, c->name) : NULL;

        bool exists = c->r == -EEXIST; /* its container directory */

        if (exists)
                c->r = 0;
        if (status < 0 && c->r >= 0)
                c->r = status;
        if (c->r >= 0 && c->force && s) {
                if (missing_requirement(c) || data_refused(c) || replace(c, s) < 0)
                        uv_close((uv_handle_t *) &c->timer, timer_closed);
                return;
        }
        if (c->r < 0)
                request_fail_parameter(c->req, HL_ERROR_INVALID_ARGUMENT, "parameter", "file", "%s",
                                       c->error ? c->error : strerror(-c->r));
        else if ((exists && !c->force) || s)
                request_error(c->req, HL_ERROR_SERVICE_EXISTS,
                              json_pack("{s:s, s:s}", "name", c->name, "message",
                                        "a service or container of that name exists: destroy it first, restore --force, "
                                        "or restore --as another name"));
        else if (missing_requirement(c) || data_refused(c))
                ; /* answered */
        /* With force, a container no service has goes in unpack_work. */
        else if (work_queue(c->m->loop, &c->work, unpack_work, unpack_after) >= 0)
                return;
        else
                request_fail(c->req, HL_ERROR_INTERNAL, "could not queue the work");
        uv_close((uv_handle_t *) &c->timer, timer_closed);
}

void methods_restore(struct manager *m, struct request *req, json_t *parameters) {
        struct {
                const char *file, *as;
                bool force;
        } a = {};
        static const struct hl_field table[] = {
                { "file", HL_FIELD_STRING, offsetof(__typeof__(a), file), true },
                { "as", HL_FIELD_STRING, offsetof(__typeof__(a), as), false },
                { "force", HL_FIELD_BOOL, offsetof(__typeof__(a), force), false },
                {},
        };
        struct backup_call *c;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (a.as && !methods_check_name(req, "as", a.as))
                return;
        if (a.file[0] != '/') {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "file",
                                       "\"%.200s\" is not an absolute path", a.file);
                return;
        }
        c = call_new(m, req);
        if (!c)
                return;
        c->force = a.force;
        if (!(c->file = strdup(a.file)) || (a.as && !(c->as = strdup(a.as)))) {
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                uv_close((uv_handle_t *) &c->timer, timer_closed);
                return;
        }
        if (work_queue(m->loop, &c->work, manifest_work, manifest_after) < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
                uv_close((uv_handle_t *) &c->timer, timer_closed);
        }
}
