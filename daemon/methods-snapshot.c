/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots, Snapshot, Rollback and DeleteSnapshot. The container's snapshots are read in
 * the pool first (a directory listing is file-system work, never the loop's): Snapshots
 * answers with them, the others check against them (a name taken, a name unknown) before
 * they queue a run, so that a mistake is answered at once and nothing is recorded for it. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "methods.h"
#include "schedule.h"
#include "snapshot.h"
#include "work.h"

struct snapshot_args {
        const char *name;
        const char *snapshot;
        const char *comment;
        int64_t timeout;
        bool force;
};

struct snapshot_work {
        uv_work_t work;
        struct manager *m;
        struct request *req;
        enum hl_verb verb; /* _HL_VERB_MAX: only list */
        char *name, *snapshot, *comment;
        int64_t timeout;
        bool force;
        char *lxcpath;
        struct snapshot_list list;
        char next[HL_SNAPSHOT_NAME_MAX + 1];
        int r;
};

static void snapshot_work_free(struct snapshot_work *w) {
        free(w->name);
        free(w->snapshot);
        free(w->comment);
        free(w->lxcpath);
        snapshot_list_done(&w->list);
        free(w);
}

static void list_work(uv_work_t *work) {
        struct snapshot_work *w = (struct snapshot_work *) work;

        w->r = snapshot_list(w->lxcpath, w->name, &w->list);
        if (w->r >= 0 && w->verb == HL_VERB_SNAPSHOT && !w->snapshot)
                w->r = snapshot_next_name(w->lxcpath, w->name, w->next);
}

/* With the service's Keep=, each scheduled snapshot says which rule keeps it. */
static json_t *list_json(const struct snapshot_list *l, const struct hl_def *def) {
        _cleanup_free_ int *rules = calloc(l->n + 1, sizeof(int));
        json_t *a = json_array();
        bool marked = rules && def->snapshots.keep_text && schedule_prune_marks(&def->snapshots.keep, l, rules) >= 0;

        for (size_t i = 0; a && i < l->n; i++) {
                json_t *j = json_pack("{s:s, s:I}", "name", l->items[i].name, "created", (json_int_t) l->items[i].created);
                json_t *comment = *l->items[i].comment ? json_string(l->items[i].comment) : NULL;

                /* A comment that is not UTF-8 (written by hand) is left out, not an error. */
                if (j && comment)
                        json_object_set_new(j, "comment", comment);
                if (j && marked && rules[i] != SCHEDULE_NOT_PRUNED)
                        json_object_set_new(j, "retention",
                                            json_string(rules[i] == SCHEDULE_PRUNED ? "prune"
                                                        : hl_keep_rule_to_string((enum hl_keep_rule) rules[i])));
                json_array_append_new(a, j);
        }
        return a;
}

static bool listed(const struct snapshot_list *l, const char *snap) {
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].name, snap) == 0)
                        return true;
        return false;
}

static void list_after(uv_work_t *work, int status) {
        struct snapshot_work *w = (struct snapshot_work *) work;
        struct request *req = w->req;
        int r = status < 0 ? status : w->r;

        if (r < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "could not read the snapshots of %s: %s", w->name, strerror(-r));
                goto out;
        }
        if (!manager_find(w->m, w->name)) {
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", w->name, "no service named %s", w->name);
                goto out;
        }
        switch (w->verb) {
        case HL_VERB_SNAPSHOT:
                if (w->snapshot && listed(&w->list, w->snapshot)) {
                        request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "snapshot",
                                               "%s has a snapshot named %s already", w->name, w->snapshot);
                        goto out;
                }
                break;
        case HL_VERB_ROLLBACK:
        case HL_VERB_DELETE_SNAPSHOT:
                if (!listed(&w->list, w->snapshot)) {
                        request_fail_parameter(req, HL_ERROR_NO_SUCH_SNAPSHOT, "snapshot", w->snapshot,
                                               "%s has no snapshot named %s", w->name, w->snapshot);
                        goto out;
                }
                break;
        default:
                request_reply(req,
                              json_pack("{s:o}", "snapshots", list_json(&w->list, manager_find(w->m, w->name)->desired->def)),
                              false);
                goto out;
        }
        methods_queue_action(w->m, req, w->verb,
                             &(struct job_request) { .kind = JOB_SNAPSHOT, .only = w->name, .snapshot_verb = w->verb,
                                                     .snapshot = w->snapshot ? w->snapshot : w->next,
                                                     .comment = w->comment, .stop_timeout_set = w->timeout >= 0,
                                                     .stop_timeout_s = w->timeout >= 0 ? (unsigned) w->timeout : 0,
                                                     .force = w->force });
out:
        snapshot_work_free(w);
}

/* Decodes and checks the parameters, and reads the snapshots in the pool. */
static void snapshot_call(struct manager *m, struct request *req, json_t *parameters, enum hl_verb verb) {
#define FIELD(key, type, member, required) { key, type, offsetof(struct snapshot_args, member), required }
        /* Each method takes its own parameters, and no other. */
        static const struct hl_field list_table[] = { FIELD("name", HL_FIELD_STRING, name, true), {} };
        static const struct hl_field take_table[] = {
                FIELD("name", HL_FIELD_STRING, name, true),
                FIELD("snapshot", HL_FIELD_STRING, snapshot, false),
                FIELD("comment", HL_FIELD_STRING, comment, false),
                {},
        };
        static const struct hl_field rollback_table[] = {
                FIELD("name", HL_FIELD_STRING, name, true),
                FIELD("snapshot", HL_FIELD_STRING, snapshot, true),
                FIELD("timeout", HL_FIELD_INT, timeout, false),
                FIELD("force", HL_FIELD_BOOL, force, false),
                {},
        };
        static const struct hl_field delete_table[] = {
                FIELD("name", HL_FIELD_STRING, name, true),
                FIELD("snapshot", HL_FIELD_STRING, snapshot, true),
                {},
        };
#undef FIELD
        const struct hl_field *table = verb == HL_VERB_SNAPSHOT          ? take_table
                                       : verb == HL_VERB_ROLLBACK        ? rollback_table
                                       : verb == HL_VERB_DELETE_SNAPSHOT ? delete_table
                                                                         : list_table;
        struct snapshot_args a = { .timeout = -1 };
        struct snapshot_work *w;

        if (!methods_dispatch(req, parameters, table, &a))
                return;
        if (!methods_check_name(req, "name", a.name))
                return;
        if (!manager_find(m, a.name)) {
                request_fail_parameter(req, HL_ERROR_NO_SUCH_SERVICE, "name", a.name, "no service named %s", a.name);
                return;
        }
        if (methods_refuse_host(req, manager_find(m, a.name), "snapshot"))
                return;
        if (a.snapshot && !hl_snapshot_name_is_valid(a.snapshot)) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "snapshot",
                                       "\"%.80s\" is not a valid snapshot name: a letter, then letters, digits, '_' "
                                       "and '-', up to %d characters, and not \"current\"",
                                       a.snapshot, HL_SNAPSHOT_NAME_MAX);
                return;
        }
        if (a.comment && (strlen(a.comment) > 1024 || strpbrk(a.comment, "\n\r\t"))) {
                request_fail_parameter(req, HL_ERROR_INVALID_ARGUMENT, "parameter", "comment",
                                       "a comment is one line of up to 1024 bytes");
                return;
        }
        if (!methods_check_timeout(req, parameters, a.timeout))
                return;
        w = calloc(1, sizeof(*w));
        if (!w || !(w->name = strdup(a.name)) || (a.snapshot && !(w->snapshot = strdup(a.snapshot))) ||
            (a.comment && !(w->comment = strdup(a.comment))) || !(w->lxcpath = strdup(m->config.lxcpath))) {
                if (w)
                        snapshot_work_free(w);
                request_fail(req, HL_ERROR_INTERNAL, "out of memory");
                return;
        }
        w->m = m;
        w->req = req;
        w->verb = verb;
        w->timeout = a.timeout;
        w->force = a.force;
        if (work_queue(m->loop, &w->work, list_work, list_after) < 0) {
                snapshot_work_free(w);
                request_fail(req, HL_ERROR_INTERNAL, "could not queue the work");
        }
}

void methods_snapshots(struct manager *m, struct request *req, json_t *parameters) {
        snapshot_call(m, req, parameters, _HL_VERB_MAX);
}

void methods_snapshot(struct manager *m, struct request *req, json_t *parameters) {
        snapshot_call(m, req, parameters, HL_VERB_SNAPSHOT);
}

void methods_rollback(struct manager *m, struct request *req, json_t *parameters) {
        snapshot_call(m, req, parameters, HL_VERB_ROLLBACK);
}

void methods_delete_snapshot(struct manager *m, struct request *req, json_t *parameters) {
        snapshot_call(m, req, parameters, HL_VERB_DELETE_SNAPSHOT);
}
