/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hl-macro.h"
#include "hl-state.h"
#include "hl-util.h"
#include "log.h"
#include "store.h"

struct store {
        sqlite3 *db;
};

/* Each entry migrates the schema from version i to i + 1. Never edit a shipped entry:
 * append a new one. docs/architecture.md documents the tables for read-only queries. */
static const char *const migrations[] = {
        "CREATE TABLE services ("
        "  name TEXT PRIMARY KEY,"
        "  created_at INTEGER NOT NULL,"
        "  removed_at INTEGER,"
        "  override TEXT CHECK (override IN ('running', 'stopped')));"
        "CREATE TABLE revisions ("
        "  id INTEGER PRIMARY KEY,"
        "  service TEXT NOT NULL REFERENCES services(name),"
        "  revision INTEGER NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  text TEXT NOT NULL,"
        "  canonical TEXT NOT NULL,"
        "  file TEXT NOT NULL,"
        "  applied_at INTEGER NOT NULL,"
        "  applied_by_uid INTEGER NOT NULL,"
        "  applied_by TEXT NOT NULL,"
        "  UNIQUE (service, revision));"
        "CREATE TABLE runs ("
        "  id INTEGER PRIMARY KEY,"
        "  trigger TEXT NOT NULL,"
        "  started_at INTEGER NOT NULL,"
        "  finished_at INTEGER,"
        "  outcome TEXT,"
        "  uid INTEGER,"
        "  user TEXT);"
        "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY,"
        "  run_id INTEGER REFERENCES runs(id),"
        "  time INTEGER NOT NULL,"
        "  service TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  reason TEXT NOT NULL,"
        "  result TEXT NOT NULL,"
        "  duration_ms INTEGER,"
        "  error TEXT,"
        "  uid INTEGER,"
        "  user TEXT);"
        "CREATE INDEX events_service_time ON events(service, time);"
        "CREATE INDEX events_time ON events(time);",

        /* Version 2: restart back-off, kept across restarts of hld. */
        "CREATE TABLE restarts ("
        "  service TEXT PRIMARY KEY REFERENCES services(name),"
        "  failures INTEGER NOT NULL,"
        "  last_attempt INTEGER NOT NULL);",

        /* Version 3: every probe result, and one row per service, check and day for what
         * is older than the retention. */
        "CREATE TABLE health_results ("
        "  id INTEGER PRIMARY KEY,"
        "  time INTEGER NOT NULL,"
        "  service TEXT NOT NULL,"
        "  check_text TEXT NOT NULL,"
        "  ok INTEGER NOT NULL,"
        "  latency_ms INTEGER NOT NULL,"
        "  message TEXT NOT NULL);"
        "CREATE INDEX health_results_service_time ON health_results(service, time);"
        "CREATE TABLE health_daily ("
        "  service TEXT NOT NULL,"
        "  check_text TEXT NOT NULL,"
        "  day TEXT NOT NULL,"
        "  probes INTEGER NOT NULL,"
        "  failures INTEGER NOT NULL,"
        "  latency_sum_ms INTEGER NOT NULL,"
        "  PRIMARY KEY (service, check_text, day));",

        /* Version 4: a destroy (hlctl destroy, apply --prune) is recorded before it starts,
         * so that one a kill interrupted is finished at the next start, not undone. */
        "ALTER TABLE services ADD COLUMN destroy_requested_at INTEGER;",

        /* Version 5: what an action recorded besides its error, as JSON: a create's first
         * boot and each Provision= step with the tails of its output. */
        "ALTER TABLE events ADD COLUMN detail TEXT;",
};


static int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        default:
                return -EIO;
        }
}

const char *store_strerror(int r) {
        /* SQLite's own words for the errors an operator meets, as its shell prints them. */
        switch (r) {
        case -ENOSPC:
                return "database or disk is full";
        case -EBUSY:
                return "database is locked";
        case -EACCES:
                return "attempt to write a readonly database";
        case -EUCLEAN:
                return "database disk image is malformed";
        default:
                return strerror(-r);
        }
}

static int exec_sql(struct store *s, const char *sql) {
        char *err = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);

        if (rc != SQLITE_OK) {
                log_error("database: %s", err ? err : sqlite3_errstr(rc));
                sqlite3_free(err);
                return sqlite_to_errno(rc);
        }
        return 0;
}

static void finalizep(sqlite3_stmt **st) {
        sqlite3_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

/* Prepares sql and binds the arguments described by types: 'i' int64, 't' text (NULL
 * binds NULL). */
static int prepare(struct store *s, sqlite3_stmt **ret, const char *sql, const char *types, ...) {
        sqlite3_stmt *st = NULL;
        va_list ap;
        int rc, i = 1;

        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK) {
                log_error("database: %s: %s", sql, sqlite3_errmsg(s->db));
                return sqlite_to_errno(rc);
        }
        va_start(ap, types);
        for (const char *t = types; *t && rc == SQLITE_OK; t++, i++) {
                if (*t == 'i')
                        rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
                else {
                        const char *v = va_arg(ap, const char *);
                        rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
                }
        }
        va_end(ap);
        if (rc != SQLITE_OK) {
                sqlite3_finalize(st);
                return sqlite_to_errno(rc);
        }
        *ret = st;
        return 0;
}

static int step_done(struct store *s, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        if (rc != SQLITE_DONE) {
                log_error("database: %s", sqlite3_errmsg(s->db));
                return sqlite_to_errno(rc);
        }
        return 0;
}

static int check_integrity(struct store *s) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, &st, "PRAGMA quick_check", "");
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc) ?: -EUCLEAN;
        if (strcmp((const char *) sqlite3_column_text(st, 0), "ok") != 0) {
                log_error("database failed its integrity check: %s", sqlite3_column_text(st, 0));
                return -EUCLEAN;
        }
        return 0;
}

static int migrate(struct store *s) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int version, r;

        r = prepare(s, &st, "PRAGMA user_version", "");
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        version = sqlite3_column_int(st, 0);
        if (version > (int) HL_ELEMENTSOF(migrations)) {
                log_error("database schema version %d is newer than this hld knows (%zu)", version,
                          HL_ELEMENTSOF(migrations));
                return -EPROTO;
        }
        for (int v = version; v < (int) HL_ELEMENTSOF(migrations); v++) {
                char pragma[64];

                r = exec_sql(s, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
                r = exec_sql(s, migrations[v]);
                if (r >= 0)
                        r = exec_sql(s, pragma);
                if (r < 0) {
                        exec_sql(s, "ROLLBACK");
                        return r;
                }
                r = exec_sql(s, "COMMIT");
                if (r < 0)
                        return r;
                log_info("database schema migrated to version %d", v + 1);
        }
        return 0;
}

/* The database holds every definition, and so any secret in an Environment=: it and its
 * WAL and shared-memory files are readable by root alone. SQLite gives the -wal and -shm
 * files it makes the mode of the database, so the database is made 0600 before SQLite
 * opens it, and files left by an earlier, more open version are brought to 0600 too. */
static int make_private(const char *path, bool create) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0), 0600);
        struct stat st;

        if (fd < 0)
                return errno == ENOENT && !create ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
                return -errno;
        return 0;
}

int store_open(const char *path, struct store **ret) {
        struct store *s;
        int rc, r;

        for (size_t i = 0; i < 3; i++) {
                static const char *const suffixes[] = { "", "-wal", "-shm" };
                _cleanup_free_ char *file = hl_strdup_printf("%s%s", path, suffixes[i]);

                if (!file)
                        return -ENOMEM;
                r = make_private(file, i == 0);
                if (r < 0) {
                        log_error("cannot make %s private: %s", file, strerror(-r));
                        return r;
                }
        }

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        /* SQLite opens its files with O_CLOEXEC; liblxc's forks must not inherit them. */
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                log_error("cannot open database %s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                store_close(s);
                return sqlite_to_errno(rc);
        }
        sqlite3_busy_timeout(s->db, 5000);
        r = check_integrity(s);
        if (r >= 0)
                r = exec_sql(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
                                  /* hld keeps what it serves in memory: a small page cache will do. */
                                  "PRAGMA cache_size = -512;");
        if (r >= 0)
                r = migrate(s);
        if (r < 0) {
                if (r == -EUCLEAN)
                        log_error("database %s is corrupt or not a database; refusing to use it (move it away to start afresh)",
                                  path);
                store_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct store *store_close(struct store *s) {
        if (!s)
                return NULL;
        sqlite3_close_v2(s->db);
        free(s);
        return NULL;
}

int store_begin(struct store *s) {
        return exec_sql(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s) {
        return exec_sql(s, "COMMIT");
}

void store_rollback(struct store *s) {
        (void) exec_sql(s, "ROLLBACK");
}

int store_load_services(struct store *s, store_service_cb cb, void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc, r;

        r = prepare(s, &st,
                    "SELECT s.name, s.override, r.revision, r.hash, r.text, r.file, s.destroy_requested_at IS NOT NULL "
                    "FROM services s "
                    "JOIN revisions r ON r.service = s.name "
                    "AND r.revision = (SELECT max(revision) FROM revisions WHERE service = s.name) "
                    "WHERE s.removed_at IS NULL ORDER BY s.name",
                    "");
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_service svc = {
                        .name = (const char *) sqlite3_column_text(st, 0),
                        .override = (const char *) sqlite3_column_text(st, 1),
                        .revision = sqlite3_column_int64(st, 2),
                        .hash = (const char *) sqlite3_column_text(st, 3),
                        .text = (const char *) sqlite3_column_text(st, 4),
                        .file = (const char *) sqlite3_column_text(st, 5),
                        .destroying = sqlite3_column_int(st, 6) != 0,
                };
                r = cb(userdata, &svc);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int store_add_revision(struct store *s, const char *service, const char *hash, const char *text,
                       const char *canonical, const char *file, uid_t uid, const char *user,
                       int64_t *ret_revision) {
        _cleanup_stmt_ sqlite3_stmt *up = NULL, *next = NULL, *ins = NULL;
        int64_t t = hl_now_ms(), revision;
        int r;

        r = prepare(s, &up,
                    "INSERT INTO services (name, created_at) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET removed_at = NULL, destroy_requested_at = NULL",
                    "ti", service, t);
        if (r < 0 || (r = step_done(s, up)) < 0)
                return r;
        r = prepare(s, &next, "SELECT coalesce(max(revision), 0) + 1 FROM revisions WHERE service = ?", "t", service);
        if (r < 0)
                return r;
        if (sqlite3_step(next) != SQLITE_ROW)
                return -EIO;
        revision = sqlite3_column_int64(next, 0);
        r = prepare(s, &ins,
                    "INSERT INTO revisions (service, revision, hash, text, canonical, file, applied_at, "
                    "applied_by_uid, applied_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    "tittttiit", service, revision, hash, text, canonical, file, t, (int64_t) uid, user);
        if (r < 0 || (r = step_done(s, ins)) < 0)
                return r;
        *ret_revision = revision;
        return 0;
}

int store_remove_service(struct store *s, const char *service) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st,
                        "UPDATE services SET removed_at = ?, override = NULL, destroy_requested_at = NULL WHERE name = ?",
                        "it", hl_now_ms(),
                        service);
        return r < 0 ? r : step_done(s, st);
}

int store_set_destroying(struct store *s, const char *service) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st, "UPDATE services SET destroy_requested_at = coalesce(destroy_requested_at, ?) WHERE name = ?",
                        "it", hl_now_ms(), service);
        return r < 0 ? r : step_done(s, st);
}

int store_set_override(struct store *s, const char *service, bool overridden, enum hl_want override) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st, "UPDATE services SET override = ? WHERE name = ?", "tt",
                        overridden ? hl_want_to_string(override) : NULL, service);
        return r < 0 ? r : step_done(s, st);
}

int store_run_begin(struct store *s, enum hl_trigger trigger, int64_t uid, const char *user, int64_t *ret_id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st, "INSERT INTO runs (trigger, started_at, uid, user) VALUES (?, ?, ?, ?)", "tiit",
                        hl_trigger_to_string(trigger), hl_now_ms(), uid, user);
        if (r < 0 || (r = step_done(s, st)) < 0)
                return r;
        *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_run_end(struct store *s, int64_t run, const char *outcome) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st, "UPDATE runs SET finished_at = ?, outcome = ? WHERE id = ?", "iti", hl_now_ms(), outcome,
                        run);
        return r < 0 ? r : step_done(s, st);
}

int store_event_begin(struct store *s, int64_t run, const char *service, enum hl_verb action, const char *reason,
                      int64_t uid, const char *user, int64_t *ret_id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st,
                        "INSERT INTO events (run_id, time, service, action, reason, result, uid, user) "
                        "VALUES (nullif(?, 0), ?, ?, ?, ?, 'running', nullif(?, -1), ?)",
                        "iitttit", run, hl_now_ms(), service, hl_verb_to_string(action), reason, uid, user);
        if (r < 0 || (r = step_done(s, st)) < 0)
                return r;
        *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_event_end(struct store *s, int64_t event, enum hl_result result, int64_t duration_ms, const char *error,
                    const char *detail) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st, "UPDATE events SET result = ?, duration_ms = ?, error = ?, detail = ? WHERE id = ?",
                        "titti", hl_result_to_string(result), duration_ms, error, detail, event);
        return r < 0 ? r : step_done(s, st);
}

int store_event_add(struct store *s, int64_t run, const char *service, enum hl_verb action, const char *reason,
                    enum hl_result result, const char *error, int64_t uid, const char *user, int64_t *ret_id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st,
                        "INSERT INTO events (run_id, time, service, action, reason, result, error, uid, user) "
                        "VALUES (nullif(?, 0), ?, ?, ?, ?, ?, ?, nullif(?, -1), ?)",
                        "iitttttit", run, hl_now_ms(), service, hl_verb_to_string(action), reason,
                        hl_result_to_string(result), error, uid, user);
        if (r < 0 || (r = step_done(s, st)) < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_mark_interrupted(struct store *s) {
        int r;

        r = exec_sql(s, "UPDATE events SET result = 'interrupted', error = 'hld stopped before the action finished' "
                        "WHERE result = 'running'");
        if (r < 0)
                return r;
        r = sqlite3_changes(s->db);
        return exec_sql(s, "UPDATE runs SET outcome = 'interrupted' WHERE finished_at IS NULL") < 0 ? -EIO : r;
}

static json_t *column_json(sqlite3_stmt *st, int i) {
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
                return json_null();
        case SQLITE_INTEGER:
                return json_integer(sqlite3_column_int64(st, i));
        default:
                return json_string((const char *) sqlite3_column_text(st, i));
        }
}

static const char *const event_columns[] = { "id", "time", "run", "service", "action", "reason",
                                             "result", "duration_ms", "error", "uid", "user", "detail" };
#define EVENT_SELECT \
        "SELECT id, time / 1000, run_id, service, action, reason, result, duration_ms, error, uid, user, detail "

static json_t *event_row(sqlite3_stmt *st) {
        json_t *e = json_object();

        for (int i = 0; e && i < (int) HL_ELEMENTSOF(event_columns); i++) {
                json_t *v = column_json(st, i);

                /* What an action recorded (a create's boot and Provision= steps), as the
                 * JSON it was stored as: its keys join the event's. */
                if (strcmp(event_columns[i], "detail") == 0) {
                        json_t *detail = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
                        if (json_is_object(detail))
                                json_object_update(e, detail);
                        json_decref(detail);
                        json_decref(v);
                        continue;
                }
                /* The optional fields of io.hl.Event are left out rather than null. */
                if (!json_is_null(v) || i < 7)
                        json_object_set_new(e, event_columns[i], v);
                else
                        json_decref(v);
        }
        return e;
}

int store_history(struct store *s, const struct store_history_filter *f, json_t **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        json_t *events;
        int r, rc;

        /* The newest `limit` events, returned oldest first. */
        r = prepare(s, &st,
                    "SELECT * FROM (" EVENT_SELECT "FROM events WHERE (?1 IS NULL OR service = ?1) AND time >= ?2 "
                    "AND (?4 IS NULL OR action = ?4) "
                    "AND (?5 = 0 OR result IN ('failed', 'skipped', 'interrupted')) "
                    "ORDER BY id DESC LIMIT ?3) ORDER BY id",
                    "tiiti", f->service, f->since_ms, f->limit, f->action, (int64_t) f->failed);
        if (r < 0)
                return r;
        events = json_array();
        if (!events)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                if (json_array_append_new(events, event_row(st)) < 0) {
                        json_decref(events);
                        return -ENOMEM;
                }
        if (rc != SQLITE_DONE) {
                json_decref(events);
                return sqlite_to_errno(rc);
        }
        *ret = events;
        return 0;
}

int store_last_provision(struct store *s, const char *service, json_t **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st,
                        EVENT_SELECT "FROM events WHERE service = ? AND action = 'create' AND detail IS NOT NULL "
                                     "ORDER BY id DESC LIMIT 1",
                        "t", service);

        *ret = NULL;
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return 0;
        *ret = event_row(st);
        return *ret ? 0 : -ENOMEM;
}

int store_event_get(struct store *s, int64_t id, json_t **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        json_t *e;
        int r = prepare(s, &st, EVENT_SELECT "FROM events WHERE id = ?", "i", id);

        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -ENOENT;
        e = event_row(st);
        if (!e)
                return -ENOMEM;
        *ret = e;
        return 0;
}

int store_revisions(struct store *s, const char *service, json_t **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        json_t *revs;
        int r, rc;

        r = prepare(s, &st,
                    "SELECT revision, hash, applied_at / 1000, applied_by_uid, applied_by, file, canonical "
                    "FROM revisions WHERE service = ? ORDER BY revision",
                    "t", service);
        if (r < 0)
                return r;
        revs = json_array();
        if (!revs)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *def = json_loads((const char *) sqlite3_column_text(st, 6), 0, NULL);
                json_t *rev = json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:o}", "revision",
                                        (json_int_t) sqlite3_column_int64(st, 0), "hash", sqlite3_column_text(st, 1),
                                        "applied_at", (json_int_t) sqlite3_column_int64(st, 2), "applied_by_uid",
                                        (json_int_t) sqlite3_column_int64(st, 3), "applied_by", sqlite3_column_text(st, 4),
                                        "file", sqlite3_column_text(st, 5), "definition", def ? def : json_object());
                if (!rev || json_array_append_new(revs, rev) < 0) {
                        json_decref(revs);
                        return -ENOMEM;
                }
        }
        if (rc != SQLITE_DONE) {
                json_decref(revs);
                return sqlite_to_errno(rc);
        }
        *ret = revs;
        return 0;
}

int store_restart_get(struct store *s, const char *service, unsigned *ret_failures, int64_t *ret_last_attempt) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = prepare(s, &st, "SELECT failures, last_attempt FROM restarts WHERE service = ?", "t", service);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                *ret_failures = 0;
                *ret_last_attempt = 0;
                return 0;
        }
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        *ret_failures = (unsigned) sqlite3_column_int64(st, 0);
        *ret_last_attempt = sqlite3_column_int64(st, 1);
        return 0;
}

int store_restart_set(struct store *s, const char *service, unsigned failures, int64_t last_attempt) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st,
                        "INSERT INTO restarts (service, failures, last_attempt) VALUES (?, ?, ?) "
                        "ON CONFLICT (service) DO UPDATE SET failures = excluded.failures, "
                        "last_attempt = excluded.last_attempt",
                        "tii", service, (int64_t) failures, last_attempt);
        return r < 0 ? r : step_done(s, st);
}

int store_health_add(struct store *s, const char *service, const char *check, bool ok, int64_t latency_ms,
                     const char *message) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(s, &st,
                        "INSERT INTO health_results (time, service, check_text, ok, latency_ms, message) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        "ittiit", hl_now_ms(), service, check, (int64_t) ok, latency_ms, message);
        return r < 0 ? r : step_done(s, st);
}

int store_health_add_batch(struct store *s, const struct store_health_row *rows, size_t n) {
        int r;

        if (n == 0)
                return 0;
        r = store_begin(s);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                r = prepare(s, &st,
                            "INSERT INTO health_results (time, service, check_text, ok, latency_ms, message) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            "ittiit", rows[i].time_ms, rows[i].service, rows[i].check, (int64_t) rows[i].ok,
                            rows[i].latency_ms, rows[i].message);
                if (r >= 0)
                        r = step_done(s, st);
        }
        if (r >= 0)
                r = store_commit(s);
        if (r < 0)
                store_rollback(s);
        return r;
}

int store_health_expire(struct store *s, int64_t before_ms) {
        _cleanup_stmt_ sqlite3_stmt *sum = NULL, *del = NULL;
        int r;

        /* Summarized and deleted in one transaction: a crash loses neither. */
        r = store_begin(s);
        if (r < 0)
                return r;
        r = prepare(s, &sum,
                    "INSERT INTO health_daily (service, check_text, day, probes, failures, latency_sum_ms) "
                    "SELECT service, check_text, date(time / 1000, 'unixepoch'), count(*), sum(ok = 0), sum(latency_ms) "
                    "FROM health_results WHERE time < ?1 GROUP BY 1, 2, 3 "
                    "ON CONFLICT (service, check_text, day) DO UPDATE SET probes = probes + excluded.probes, "
                    "failures = failures + excluded.failures, latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms",
                    "i", before_ms);
        if (r >= 0)
                r = step_done(s, sum);
        if (r >= 0)
                r = prepare(s, &del, "DELETE FROM health_results WHERE time < ?", "i", before_ms);
        if (r >= 0)
                r = step_done(s, del);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        return store_commit(s);
}

int store_health_history(struct store *s, const char *service, int64_t since_ms, json_t **ret) {
        _cleanup_stmt_ sqlite3_stmt *totals = NULL, *fails = NULL, *streak = NULL, *flaps = NULL;
        json_t *failures, *reply;
        int64_t probes = 0, failed = 0, flap_count = 0;
        int r, rc;

        r = prepare(s, &totals, "SELECT count(*), coalesce(sum(ok = 0), 0) FROM health_results WHERE service = ? AND time >= ?",
                    "ti", service, since_ms);
        if (r < 0)
                return r;
        if (sqlite3_step(totals) == SQLITE_ROW) {
                probes = sqlite3_column_int64(totals, 0);
                failed = sqlite3_column_int64(totals, 1);
        }
        /* Flaps: changes between healthy and unhealthy, as recorded in the events. */
        r = prepare(s, &flaps, "SELECT count(*) FROM events WHERE service = ? AND action = 'health' AND time >= ?", "ti",
                    service, since_ms);
        if (r < 0)
                return r;
        if (sqlite3_step(flaps) == SQLITE_ROW)
                flap_count = sqlite3_column_int64(flaps, 0);
        /* Failing since: per check whose newest result failed, its first failure after its
         * own last success; the earliest of those. */
        r = prepare(s, &streak,
                    "SELECT min(since) FROM (SELECT c.check_text, "
                    "  (SELECT min(f.time) FROM health_results f WHERE f.service = ?1 AND f.check_text = c.check_text "
                    "   AND f.ok = 0 AND f.id > coalesce((SELECT max(g.id) FROM health_results g WHERE g.service = ?1 "
                    "   AND g.check_text = c.check_text AND g.ok = 1), 0)) AS since "
                    " FROM (SELECT DISTINCT check_text FROM health_results WHERE service = ?1) c "
                    " WHERE (SELECT l.ok FROM health_results l WHERE l.service = ?1 AND l.check_text = c.check_text "
                    "        ORDER BY l.id DESC LIMIT 1) = 0)",
                    "t", service);
        if (r < 0)
                return r;
        reply = json_pack("{s:s, s:I, s:I, s:I, s:f, s:I}", "service", service, "since", (json_int_t) (since_ms / 1000),
                          "probes", (json_int_t) probes, "failures_count", (json_int_t) failed, "uptime",
                          probes ? (double) (probes - failed) / (double) probes : 1.0, "flaps", (json_int_t) flap_count);
        if (!reply)
                return -ENOMEM;
        if (sqlite3_step(streak) == SQLITE_ROW && sqlite3_column_type(streak, 0) != SQLITE_NULL)
                json_object_set_new(reply, "failing_since", json_integer(sqlite3_column_int64(streak, 0) / 1000));
        r = prepare(s, &fails,
                    "SELECT time / 1000, check_text, latency_ms, message FROM health_results "
                    "WHERE service = ? AND time >= ? AND ok = 0 ORDER BY id DESC LIMIT 200",
                    "ti", service, since_ms);
        if (r < 0) {
                json_decref(reply);
                return r;
        }
        failures = json_array();
        while ((rc = sqlite3_step(fails)) == SQLITE_ROW)
                json_array_append_new(failures, json_pack("{s:I, s:s, s:I, s:s}", "time",
                                                          (json_int_t) sqlite3_column_int64(fails, 0), "check",
                                                          (const char *) sqlite3_column_text(fails, 1), "latency_ms",
                                                          (json_int_t) sqlite3_column_int64(fails, 2), "message",
                                                          (const char *) sqlite3_column_text(fails, 3)));
        json_object_set_new(reply, "failures", failures ? failures : json_array());
        *ret = reply;
        return 0;
}
