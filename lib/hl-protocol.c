/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hl-protocol.h"

void hl_framer_init(struct hl_framer *f, size_t max) {
        *f = (struct hl_framer) { .max = max };
}

void hl_framer_done(struct hl_framer *f) {
        free(f->buf);
        *f = (struct hl_framer) { .max = f->max };
}

int hl_framer_append(struct hl_framer *f, const void *data, size_t n) {
        const char *last_nul;
        size_t tail;

        if (n == 0)
                return 0;
        if (f->len + n > f->cap) {
                size_t cap = f->cap ? f->cap : 4096;
                char *b;

                while (cap < f->len + n)
                        cap *= 2;
                /* Never hold more than one over-long frame's worth of bytes. */
                if (cap > f->max * 2 + 4096)
                        cap = f->len + n;
                b = realloc(f->buf, cap);
                if (!b)
                        return -ENOMEM;
                f->buf = b;
                f->cap = cap;
        }
        memcpy(f->buf + f->len, data, n);
        f->len += n;

        /* Whatever follows the last NUL is an unfinished frame: it alone is bounded. */
        last_nul = memrchr(f->buf, 0, f->len);
        tail = last_nul ? (size_t) (f->buf + f->len - last_nul - 1) : f->len;
        if (tail >= f->max)
                return -EMSGSIZE;
        return 0;
}

int hl_framer_next(struct hl_framer *f, char **ret) {
        char *nul, *frame;
        size_t n;

        if (f->len == 0)
                return 0;
        nul = memchr(f->buf, 0, f->len);
        if (!nul)
                return 0;
        n = (size_t) (nul - f->buf) + 1;
        if (n > f->max)
                return -EMSGSIZE;
        frame = malloc(n);
        if (!frame)
                return -ENOMEM;
        memcpy(frame, f->buf, n);
        memmove(f->buf, f->buf + n, f->len - n);
        f->len -= n;
        *ret = frame;
        return 1;
}

int hl_json_dispatch(json_t *obj, const struct hl_field *table, void *base,
                     const char **ret_bad_field) {
        const char *key;
        json_t *value;

        if (!json_is_object(obj)) {
                *ret_bad_field = "parameters";
                return -EINVAL;
        }
        json_object_foreach(obj, key, value) {
                const struct hl_field *f;

                for (f = table; f->name; f++)
                        if (strcmp(f->name, key) == 0)
                                break;
                if (!f->name) {
                        *ret_bad_field = key;
                        return -EINVAL;
                }
        }
        for (const struct hl_field *f = table; f->name; f++) {
                void *p = (char *) base + f->offset;

                value = json_object_get(obj, f->name);
                if (!value || json_is_null(value)) {
                        if (f->required) {
                                *ret_bad_field = f->name;
                                return -EINVAL;
                        }
                        continue;
                }
                switch (f->type) {
                case HL_FIELD_STRING:
                        /* NUL bytes are allowed in the JSON for HL_FIELD_TEXT only: a name
                         * cut short at one would name something else. */
                        if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value))
                                goto bad;
                        *(const char **) p = json_string_value(value);
                        break;
                case HL_FIELD_TEXT:
                        if (!json_is_string(value))
                                goto bad;
                        *(const char **) p = json_string_value(value);
                        break;
                case HL_FIELD_INT:
                        if (!json_is_integer(value))
                                goto bad;
                        *(int64_t *) p = json_integer_value(value);
                        break;
                case HL_FIELD_BOOL:
                        if (!json_is_boolean(value))
                                goto bad;
                        *(bool *) p = json_is_true(value);
                        break;
                case HL_FIELD_ARRAY:
                        if (!json_is_array(value))
                                goto bad;
                        *(json_t **) p = value;
                        break;
                case HL_FIELD_OBJECT:
                        if (!json_is_object(value))
                                goto bad;
                        *(json_t **) p = value;
                        break;
                }
                continue;
        bad:
                *ret_bad_field = f->name;
                return -EINVAL;
        }
        return 0;
}

struct call_fields {
        const char *method;
        json_t *parameters;
        bool oneway;
        bool more;
        bool upgrade;
};

/* A number that is whole but does not fit an int64 (parsed as a real for this). */
static bool holds_huge_number(json_t *v) {
        size_t i;
        const char *key;
        json_t *x;

        if (json_is_real(v))
                return json_real_value(v) >= 9.2233720368547758e18 || json_real_value(v) < -9.2233720368547758e18;
        if (json_is_array(v)) {
                json_array_foreach(v, i, x)
                        if (holds_huge_number(x))
                                return true;
        } else if (json_is_object(v)) {
                json_object_foreach(v, key, x)
                        if (holds_huge_number(x))
                                return true;
        }
        return false;
}

int hl_call_parse(const char *frame, struct hl_call *ret, const char **ret_reason) {
        static const struct hl_field table[] = {
                { "method", HL_FIELD_STRING, offsetof(struct call_fields, method), true },
                { "parameters", HL_FIELD_OBJECT, offsetof(struct call_fields, parameters), false },
                { "oneway", HL_FIELD_BOOL, offsetof(struct call_fields, oneway), false },
                { "more", HL_FIELD_BOOL, offsetof(struct call_fields, more), false },
                { "upgrade", HL_FIELD_BOOL, offsetof(struct call_fields, upgrade), false },
                {},
        };
        struct call_fields fields = {};
        const char *bad;
        json_error_t jerr;
        json_t *root;

        root = json_loads(frame, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!root && json_error_code(&jerr) == json_error_numeric_overflow) {
                /* Well framed, only a number out of range: the caller answers it like any
                 * other bad parameter, naming it when it can. */
                *ret = (struct hl_call) {};
                snprintf(ret->bad_parameter, sizeof(ret->bad_parameter), "%s", "parameters");
                root = json_loads(frame, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
                if (root) {
                        const char *key;
                        json_t *v;

                        json_object_foreach(json_object_get(root, "parameters"), key, v)
                                if (holds_huge_number(v)) {
                                        snprintf(ret->bad_parameter, sizeof(ret->bad_parameter), "%s", key);
                                        break;
                                }
                        json_decref(root);
                }
                *ret_reason = "a number in the message is out of range";
                return -ERANGE;
        }
        if (!root) {
                *ret_reason = "message is not valid JSON";
                return -EBADMSG;
        }
        if (hl_json_dispatch(root, table, &fields, &bad) < 0) {
                json_decref(root);
                *ret_reason = "message is not a Varlink call (bad or unknown field)";
                return -EBADMSG;
        }
        if (!fields.parameters) {
                fields.parameters = json_object();
                if (!fields.parameters || json_object_set_new(root, "parameters", fields.parameters) < 0) {
                        json_decref(root);
                        return -ENOMEM;
                }
        }
        *ret = (struct hl_call) {
                .root = root,
                .method = fields.method,
                .parameters = fields.parameters,
                .oneway = fields.oneway,
                .more = fields.more,
                .upgrade = fields.upgrade,
        };
        return 0;
}

void hl_call_done(struct hl_call *c) {
        json_decref(c->root);
        *c = (struct hl_call) {};
}

static char *encode(json_t *msg, size_t *ret_len) {
        char *s;
        size_t n;

        if (!msg)
                return NULL;
        s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(msg);
        if (!s)
                return NULL;
        n = strlen(s) + 1; /* the NUL that ends the frame */
        if (ret_len)
                *ret_len = n;
        return s;
}

char *hl_reply_encode(json_t *parameters, bool continues, size_t *ret_len) {
        json_t *msg = json_pack("{s:O?}", "parameters", parameters);

        if (!parameters && msg)
                json_object_set_new(msg, "parameters", json_object());
        if (msg && continues)
                json_object_set_new(msg, "continues", json_true());
        return encode(msg, ret_len);
}

char *hl_error_encode(const char *error, json_t *parameters, size_t *ret_len) {
        json_t *msg = json_pack("{s:s}", "error", error);

        if (msg)
                json_object_set_new(msg, "parameters", parameters ? json_incref(parameters) : json_object());
        return encode(msg, ret_len);
}

char *hl_call_encode(const char *method, json_t *parameters, bool more, size_t *ret_len) {
        json_t *msg = json_pack("{s:s}", "method", method);

        if (msg)
                json_object_set_new(msg, "parameters", parameters ? json_incref(parameters) : json_object());
        if (msg && more)
                json_object_set_new(msg, "more", json_true());
        return encode(msg, ret_len);
}
