/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "hl-macro.h"
#include "hl-state.h"

static const char *const verbs[_HL_VERB_MAX] = {
        [HL_VERB_CREATE] = "create",     [HL_VERB_UPDATE] = "update",   [HL_VERB_START] = "start",
        [HL_VERB_STOP] = "stop",         [HL_VERB_RESTART] = "restart", [HL_VERB_DESTROY] = "destroy",
        [HL_VERB_RECREATE] = "recreate", [HL_VERB_HOLD] = "hold",       [HL_VERB_OBSERVE] = "observe",
        [HL_VERB_HEALTH] = "health",     [HL_VERB_APPLY] = "apply",     [HL_VERB_SNAPSHOT] = "snapshot",
        [HL_VERB_ROLLBACK] = "rollback", [HL_VERB_DELETE_SNAPSHOT] = "delete-snapshot", [HL_VERB_EXEC] = "exec",
        [HL_VERB_BACKUP] = "backup",     [HL_VERB_DELETE_BACKUP] = "delete-backup",
        [HL_VERB_ATTACH] = "attach",
};

static const char *const results[_HL_RESULT_MAX] = {
        [HL_RESULT_RUNNING] = "running", [HL_RESULT_OK] = "ok",     [HL_RESULT_FAILED] = "failed",
        [HL_RESULT_SKIPPED] = "skipped", [HL_RESULT_HELD] = "held", [HL_RESULT_INTERRUPTED] = "interrupted",
};

static const char *const triggers[_HL_TRIGGER_MAX] = {
        [HL_TRIGGER_STARTUP] = "startup",
        [HL_TRIGGER_TIMER] = "timer",
        [HL_TRIGGER_APPLY] = "apply",
        [HL_TRIGGER_CLI] = "cli",
        [HL_TRIGGER_CONTAINER_EXIT] = "container-exit",
        [HL_TRIGGER_BACKOFF] = "backoff",
        [HL_TRIGGER_HEALTH] = "health",
        [HL_TRIGGER_PLAN] = "plan",
        [HL_TRIGGER_WHY] = "why",
};

static const char *const ct_states[_HL_CT_STATE_MAX] = {
        [HL_CT_UNKNOWN] = "UNKNOWN",   [HL_CT_MISSING] = "MISSING",   [HL_CT_STOPPED] = "STOPPED",
        [HL_CT_STARTING] = "STARTING", [HL_CT_RUNNING] = "RUNNING",   [HL_CT_STOPPING] = "STOPPING",
        [HL_CT_ABORTING] = "ABORTING", [HL_CT_FREEZING] = "FREEZING", [HL_CT_FROZEN] = "FROZEN",
        [HL_CT_THAWED] = "THAWED",
};

static const char *const wants[_HL_WANT_MAX] = {
        [HL_WANT_RUNNING] = "running",
        [HL_WANT_STOPPED] = "stopped",
};

static const char *to_string(const char *const *table, size_t n, int v) {
        return v >= 0 && (size_t) v < n && table[v] ? table[v] : "?";
}

static int from_string(const char *const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int) i;
        return -1;
}

#define TABLE(name, table, type)                                                   \
        const char *name##_to_string(type v) {                                     \
                return to_string(table, HL_ELEMENTSOF(table), (int) v);            \
        }                                                                          \
        int name##_from_string(const char *s) {                                    \
                return from_string(table, HL_ELEMENTSOF(table), s);                \
        }

TABLE(hl_verb, verbs, enum hl_verb)
TABLE(hl_result, results, enum hl_result)
TABLE(hl_trigger, triggers, enum hl_trigger)
TABLE(hl_ct_state, ct_states, enum hl_ct_state)
TABLE(hl_want, wants, enum hl_want)
