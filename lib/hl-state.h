/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The words of the state machine, as enums with one table each: the database and the wire
 * (docs/protocol.md) spell them with the strings here, and code compares the enums, so a
 * typo does not compile and a switch names every case. from_string gives -1 for a word
 * not in the table. */

/* What an event records: an action hld takes, or something it saw or was told. */
enum hl_verb {
        HL_VERB_CREATE,
        HL_VERB_UPDATE,
        HL_VERB_START,
        HL_VERB_STOP,
        HL_VERB_RESTART,
        HL_VERB_DESTROY,
        HL_VERB_RECREATE, /* planned, left to the operator: the change needs a new container */
        HL_VERB_HOLD,     /* planned, not done: a back-off, a damaged or unsafe container */
        HL_VERB_OBSERVE,  /* a change seen, or a container that could not be read */
        HL_VERB_HEALTH,   /* a verdict of the checks */
        HL_VERB_APPLY,    /* a revision stored */
        HL_VERB_SNAPSHOT, /* a snapshot taken of the container */
        HL_VERB_ROLLBACK, /* the container put back as a snapshot holds it */
        HL_VERB_DELETE_SNAPSHOT,
        HL_VERB_EXEC,     /* an update's Exec= lines run in the container */
        HL_VERB_BACKUP,   /* an archive written */
        HL_VERB_DELETE_BACKUP,
        HL_VERB_ATTACH,   /* an operator's session in the container: exec, enter, console */
        _HL_VERB_MAX,
};

/* How an event ended, or that it has not yet. */
enum hl_result {
        HL_RESULT_RUNNING,
        HL_RESULT_OK,
        HL_RESULT_FAILED,
        HL_RESULT_SKIPPED,
        HL_RESULT_HELD,
        HL_RESULT_INTERRUPTED,
        _HL_RESULT_MAX,
};

/* Why a run was made. */
enum hl_trigger {
        HL_TRIGGER_STARTUP,
        HL_TRIGGER_TIMER,
        HL_TRIGGER_APPLY,
        HL_TRIGGER_CLI,
        HL_TRIGGER_CONTAINER_EXIT,
        HL_TRIGGER_BACKOFF,
        HL_TRIGGER_HEALTH,
        HL_TRIGGER_PLAN,
        HL_TRIGGER_WHY,
        _HL_TRIGGER_MAX,
};

/* A container as liblxc reports it, and what hld adds: MISSING (no container) and UNKNOWN
 * (not looked at yet, or not readable). */
enum hl_ct_state {
        HL_CT_UNKNOWN,
        HL_CT_MISSING,
        HL_CT_STOPPED,
        HL_CT_STARTING,
        HL_CT_RUNNING,
        HL_CT_STOPPING,
        HL_CT_ABORTING,
        HL_CT_FREEZING,
        HL_CT_FROZEN,
        HL_CT_THAWED,
        _HL_CT_STATE_MAX,
};

/* What a service is to be: its State=, or what hlctl start/stop said. */
enum hl_want {
        HL_WANT_RUNNING,
        HL_WANT_STOPPED,
        _HL_WANT_MAX,
};

const char *hl_verb_to_string(enum hl_verb v);
int hl_verb_from_string(const char *s);
const char *hl_result_to_string(enum hl_result r);
int hl_result_from_string(const char *s);
const char *hl_trigger_to_string(enum hl_trigger t);
int hl_trigger_from_string(const char *s);
const char *hl_ct_state_to_string(enum hl_ct_state s);
int hl_ct_state_from_string(const char *s);
const char *hl_want_to_string(enum hl_want w);
int hl_want_from_string(const char *s);
