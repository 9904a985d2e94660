/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The control protocol's contract, shared by hld and hlctl: Varlink (varlink.org) on a Unix
 * socket. The interface description is lib/io.hl.varlink, compiled into the binaries as
 * hl_interface_description. docs/protocol.md explains every method. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl-macro.h"

#define HL_VERSION "0.1.0"
#define HL_INTERFACE "io.hl"
#define HL_DEFAULT_SOCKET "/run/hld/hld.sock"
#define HL_SOCKET_ENV "HLD_SOCKET"

/* Limits: a frame (one NUL-terminated message) larger than this is refused and the
 * connection closed; so are clients beyond the maximum (per socket, and per uid other
 * than root), clients that send no complete call within the idle timeout, and a client
 * whose unfinished frame would take the bytes buffered for all clients past the budget. */
#define HL_MAX_FRAME (4u * 1024u * 1024u)
#define HL_MAX_CLIENTS 4096
#define HL_MAX_CLIENTS_PER_UID 128
#define HL_MAX_BUFFERED (64u * 1024u * 1024u)
#define HL_IDLE_TIMEOUT_MS (60u * 1000u)

#define HL_ERROR_INVALID_DEFINITION HL_INTERFACE ".InvalidDefinition"
#define HL_ERROR_NO_SUCH_SERVICE HL_INTERFACE ".NoSuchService"
#define HL_ERROR_NO_SUCH_SNAPSHOT HL_INTERFACE ".NoSuchSnapshot"
#define HL_ERROR_SERVICE_EXISTS HL_INTERFACE ".ServiceExists"
#define HL_ERROR_PERMISSION_DENIED HL_INTERFACE ".PermissionDenied"
#define HL_ERROR_READ_ONLY HL_INTERFACE ".ReadOnly"
#define HL_ERROR_INVALID_ARGUMENT HL_INTERFACE ".InvalidArgument"
#define HL_ERROR_BUSY HL_INTERFACE ".Busy"
#define HL_ERROR_ACTION_FAILED HL_INTERFACE ".ActionFailed"
#define HL_ERROR_INTERNAL HL_INTERFACE ".InternalError"

#define HL_VARLINK_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define HL_VARLINK_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define HL_VARLINK_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define HL_VARLINK_EXPECTED_MORE "org.varlink.service.ExpectedMore"

extern const char hl_interface_description[];

/* Accumulates bytes from a stream and cuts them into NUL-terminated frames. */
struct hl_framer {
        char *buf;
        size_t len;
        size_t cap;
        size_t max; /* largest frame accepted, including its NUL */
};

void hl_framer_init(struct hl_framer *f, size_t max);
void hl_framer_done(struct hl_framer *f);
/* Appends bytes; -EMSGSIZE when the unterminated tail would exceed max. */
int hl_framer_append(struct hl_framer *f, const void *data, size_t n);
/* 1 and a malloc'd NUL-terminated frame in ret when one is complete, 0 when none is. */
int hl_framer_next(struct hl_framer *f, char **ret);

/* A decoded call. parameters is borrowed from root. */
struct hl_call {
        json_t *root;
        const char *method;
        json_t *parameters; /* always an object */
        bool oneway;
        bool more;
        /* The connection becomes the method's own protocol after its answer: only methods
         * that say so take it (io.hl.Exec, io.hl.Console). */
        bool upgrade;
        /* With -ERANGE: the parameter whose number is out of range ("parameters" when it
         * cannot be told). */
        char bad_parameter[64];
};

/* Decodes a frame into a call; -EBADMSG with a reason in ret_reason if it is not one, and
 * -ERANGE (with ret->bad_parameter, nothing to free) when it is one but holds an integer
 * beyond int64. */
int hl_call_parse(const char *frame, struct hl_call *ret, const char **ret_reason);
void hl_call_done(struct hl_call *c);

/* Encodes replies and calls as frames including the trailing NUL; ret_len counts it.
 * parameters are borrowed (may be NULL). NULL on ENOMEM. */
char *hl_reply_encode(json_t *parameters, bool continues, size_t *ret_len);
char *hl_error_encode(const char *error, json_t *parameters, size_t *ret_len);
char *hl_call_encode(const char *method, json_t *parameters, bool more, size_t *ret_len);

/* Decoding JSON objects with tables, so every field's name and type is checked in one
 * place. Unknown fields and wrong types are errors naming the field. */
enum hl_field_type {
        HL_FIELD_STRING,  /* const char * borrowed from the object; no NUL byte inside */
        HL_FIELD_TEXT,    /* the same, NUL bytes allowed: json_string_length() tells the size */
        HL_FIELD_INT,     /* int64_t */
        HL_FIELD_BOOL,    /* bool */
        HL_FIELD_ARRAY,   /* json_t * borrowed */
        HL_FIELD_OBJECT,  /* json_t * borrowed */
};

struct hl_field {
        const char *name;
        enum hl_field_type type;
        size_t offset;
        bool required;
};

/* Fills the struct at base from obj. -EINVAL and the offending field's name in
 * ret_bad_field on a missing required field, wrong type or unknown field. */
int hl_json_dispatch(json_t *obj, const struct hl_field *table, void *base,
                     const char **ret_bad_field);
