/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hl-protocol.h"
#include "request.h"

struct request {
        const struct request_sink *sink;
        void *client;
        struct peer peer;
        bool oneway;
        bool more;
        bool upgrade;
        bool gated;
        bool gone; /* the client left: replies go nowhere */
        void (*cancel)(void *userdata);
        void *cancel_userdata;
};

struct request *request_new(const struct request_sink *sink, void *client, const struct peer *peer, bool oneway,
                            bool more, bool upgrade, bool gated) {
        struct request *req = calloc(1, sizeof(*req));

        if (!req)
                return NULL;
        *req = (struct request) {
                .sink = sink, .client = client, .peer = *peer, .oneway = oneway, .more = more, .upgrade = upgrade,
                .gated = gated,
        };
        return req;
}

const struct peer *request_peer(const struct request *req) {
        return &req->peer;
}

bool request_wants_more(const struct request *req) {
        return req->more;
}

bool request_wants_upgrade(const struct request *req) {
        return req->upgrade;
}

bool request_streams(const struct request *req) {
        return req->cancel != NULL;
}

void request_on_cancel(struct request *req, void (*cancel)(void *userdata), void *userdata) {
        req->cancel = cancel;
        req->cancel_userdata = userdata;
}

void request_cancel(struct request *req) {
        req->gone = true;
        /* The cancel ends the request (and frees it): it is the last use. */
        if (req->cancel)
                req->cancel(req->cancel_userdata);
}

static void request_end(struct request *req) {
        const struct request_sink *sink = req->sink;
        void *client = req->client;
        bool gated = req->gated;

        free(req);
        sink->end(client, gated);
}

static void send_frame(struct request *req, char *frame, size_t len) {
        if (req->gone || req->oneway || !frame) {
                free(frame);
                return;
        }
        req->sink->send(req->client, frame, len);
}

int request_take(struct request *req) {
        int fd;

        if (req->gone) {
                request_end(req);
                return -EPIPE;
        }
        fd = req->sink->take(req->client);
        if (fd == -EBADMSG) {
                request_fail(req, HL_VARLINK_INVALID_PARAMETER, "nothing may follow a call with upgrade before its answer");
                return fd;
        }
        if (fd == -EBUSY) {
                request_fail(req, HL_ERROR_BUSY, "read the replies to your earlier calls first");
                return fd;
        }
        if (fd < 0) {
                request_fail(req, HL_ERROR_INTERNAL, "cannot hand the connection over: %s", strerror(-fd));
                return fd;
        }
        request_end(req);
        return fd;
}

void request_reply(struct request *req, json_t *parameters, bool continues) {
        size_t len = 0;
        char *frame = req->gone || req->oneway ? NULL : hl_reply_encode(parameters, continues && req->more, &len);

        send_frame(req, frame, len);
        json_decref(parameters);
        if (!(continues && req->more))
                request_end(req);
}

void request_error(struct request *req, const char *error, json_t *parameters) {
        size_t len = 0;
        char *frame = req->gone || req->oneway ? NULL : hl_error_encode(error, parameters, &len);

        send_frame(req, frame, len);
        json_decref(parameters);
        request_end(req);
}

static void fail(struct request *req, const char *error, const char *key, const char *value, const char *fmt,
                 va_list ap) HL_PRINTF(5, 0);
static void fail(struct request *req, const char *error, const char *key, const char *value, const char *fmt,
                 va_list ap) {
        char message[1024];
        json_t *p;

        vsnprintf(message, sizeof(message), fmt, ap);
        p = json_pack("{s:s}", "message", message);
        if (p && key)
                json_object_set_new(p, key, json_string(value ? value : ""));
        request_error(req, error, p);
}

void request_fail(struct request *req, const char *error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        fail(req, error, NULL, NULL, fmt, ap);
        va_end(ap);
}

void request_fail_parameter(struct request *req, const char *error, const char *key, const char *value, const char *fmt,
                            ...) {
        va_list ap;

        assert(key && strcmp(key, "message") != 0);
        va_start(ap, fmt);
        fail(req, error, key, value, fmt, ap);
        va_end(ap);
}
