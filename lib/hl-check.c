/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hl-check.h"
#include "hl-util.h"

static const struct {
        const char *name;
        uint16_t type;
} dns_types[] = {
        { "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
        { "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 },
};

const char *hl_check_kind_to_string(enum hl_check_kind k) {
        static const char *const names[] = {
                [HL_CHECK_EXEC] = "exec",
                [HL_CHECK_TCP] = "tcp",
                [HL_CHECK_HTTP] = "http",
                [HL_CHECK_DNS] = "dns",
                [HL_CHECK_PING] = "ping",
        };
        return names[k];
}

void hl_check_done(struct hl_check *c) {
        free(c->text);
        hl_strv_free(c->argv);
        free(c->address);
        free(c->host);
        free(c->path);
        free(c->name);
        *c = (struct hl_check) {};
}

static int bad(char *reason, size_t size, const char *fmt, ...) HL_PRINTF(3, 4);
static int bad(char *reason, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Splits on blanks; 'single' and "double" quotes group words (no escapes inside). */
static int split_words(const char *text, char ***ret) {
        _cleanup_(hl_strv_freep) char **words = NULL;
        const char *p = text;

        while (*p) {
                _cleanup_free_ char *w = malloc(strlen(p) + 1);
                size_t n = 0;

                if (!w)
                        return -ENOMEM;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                while (*p && *p != ' ' && *p != '\t') {
                        if (*p == '\'' || *p == '"') {
                                char quote = *p++;
                                while (*p && *p != quote)
                                        w[n++] = *p++;
                                if (!*p)
                                        return -EINVAL;
                                p++;
                        } else
                                w[n++] = *p++;
                }
                w[n] = 0;
                if (hl_strv_push(&words, w) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(words);
        return 0;
}

static bool ip_literal(const char *s) {
        unsigned char buf[16];

        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int parse_port(const char *s, uint16_t *ret) {
        uint64_t v;

        if (hl_parse_uint(s, 1, 65535, &v) < 0)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static bool dns_name_valid(const char *s);

/* http://HOST[:PORT][/PATH]: HOST is an IP literal ([…] for IPv6) or localhost, since the
 * probe runs in the container's network namespace with no resolver of its own. For a
 * Host= service (target set) HOST may be a name too: it is sent as the Host header, and the
 * connection goes to the target, so a NAS's virtual host is checked at its address. */
static int parse_url(struct hl_check *c, const char *url, const char *target, char *reason, size_t size) {
        const char *p, *host_end, *port_start = NULL;
        _cleanup_free_ char *host = NULL;

        if (strncmp(url, "http://", 7) != 0)
                return bad(reason, size, "\"%s\" is not an http:// URL", url);
        p = url + 7;
        if (*p == '[') {
                host_end = strchr(p, ']');
                if (!host_end)
                        return bad(reason, size, "\"%s\" has an unterminated [address]", url);
                host = strndup(p + 1, (size_t) (host_end - p - 1));
                host_end++;
        } else {
                host_end = p + strcspn(p, ":/");
                host = strndup(p, (size_t) (host_end - p));
        }
        if (!host)
                return -ENOMEM;
        if (*host_end == ':') {
                port_start = host_end + 1;
                _cleanup_free_ char *port = strndup(port_start, strcspn(port_start, "/"));
                if (!port || parse_port(port, &c->port) < 0)
                        return bad(reason, size, "\"%s\" has no valid port", url);
        } else
                c->port = 80;
        if (strcmp(host, "localhost") == 0) {
                c->address = strdup("127.0.0.1");
        } else if (ip_literal(host))
                c->address = strdup(host);
        else if (target && dns_name_valid(host))
                c->address = strdup(target);
        else
                return bad(reason, size, "host \"%s\" must be an IP address or localhost%s", host,
                           target ? " or a DNS name" : "");
        c->host = TAKE_PTR(host);
        p = strchr(host_end, '/');
        c->path = strdup(p ? p : "/");
        if (!c->address || !c->path)
                return -ENOMEM;
        for (const char *q = c->path; *q; q++)
                if ((unsigned char) *q <= ' ' || *q == 0x7f)
                        return bad(reason, size, "the path of \"%s\" has a blank or control character", url);
        return 0;
}

static bool dns_name_valid(const char *s) {
        size_t n = strlen(s), label = 0;

        if (n == 0 || n > 253)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
                        return false;
                if (++label > 63)
                        return false;
        }
        return true;
}

int hl_check_parse(const char *text, const char *target, struct hl_check *ret, char *reason, size_t size) {
        _cleanup_(hl_strv_freep) char **w = NULL;
        struct hl_check c = {};
        size_t n;
        int r;

        r = split_words(text, &w);
        if (r == -EINVAL)
                return bad(reason, size, "unterminated quote");
        if (r < 0)
                return r;
        n = hl_strv_length(w);
        if (n == 0)
                return bad(reason, size, "empty check: use exec, tcp, http, dns or ping");
        if (strcmp(w[0], "exec") == 0) {
                if (target)
                        return bad(reason, size, "exec runs a command in a container, and a Host= service has none: use "
                                   "tcp, http, dns or ping");
                if (n < 2)
                        return bad(reason, size, "exec needs a command");
                c.kind = HL_CHECK_EXEC;
                for (size_t i = 1; i < n; i++)
                        if (hl_strv_push(&c.argv, w[i]) < 0)
                                goto oom;
        } else if (strcmp(w[0], "tcp") == 0) {
                c.kind = HL_CHECK_TCP;
                if (n < 2 || n > 3)
                        return bad(reason, size, "use tcp PORT [ADDRESS]");
                if (parse_port(w[1], &c.port) < 0)
                        return bad(reason, size, "port \"%s\" is not between 1 and 65535", w[1]);
                if (n == 3 && !ip_literal(w[2]))
                        return bad(reason, size, "\"%s\" is not an IP address", w[2]);
                c.address = strdup(n == 3 ? w[2] : target ? target : "127.0.0.1");
                if (!c.address)
                        goto oom;
        } else if (strcmp(w[0], "ping") == 0) {
                c.kind = HL_CHECK_PING;
                if (n > 2 || (n == 1 && !target))
                        return bad(reason, size, target ? "use ping [ADDRESS]" : "use ping ADDRESS: what the container must reach");
                if (n == 2 && !ip_literal(w[1]))
                        return bad(reason, size, "\"%s\" is not an IP address", w[1]);
                c.address = strdup(n == 2 ? w[1] : target);
                if (!c.address)
                        goto oom;
        } else if (strcmp(w[0], "http") == 0) {
                uint64_t status = 0;

                c.kind = HL_CHECK_HTTP;
                if (n < 2 || n > 3)
                        return bad(reason, size, "use http URL [STATUS]");
                r = parse_url(&c, w[1], target, reason, size);
                if (r < 0) {
                        hl_check_done(&c);
                        return r;
                }
                if (n == 3 && hl_parse_uint(w[2], 100, 599, &status) < 0) {
                        hl_check_done(&c);
                        return bad(reason, size, "status \"%s\" is not between 100 and 599", w[2]);
                }
                c.status = (unsigned) status;
        } else if (strcmp(w[0], "dns") == 0) {
                c.kind = HL_CHECK_DNS;
                c.type = 1;
                if (n < 2 || n > 5)
                        return bad(reason, size, "use dns NAME [TYPE] [noerror|nxdomain] [@ADDRESS|@resolver]");
                if (!dns_name_valid(w[1]))
                        return bad(reason, size, "\"%s\" is not a DNS name", w[1]);
                for (size_t i = 2; i < n; i++) {
                        bool found = false;
                        /* The server to ask, as dig writes it: the service itself by default. */
                        if (w[i][0] == '@') {
                                if (c.address || c.ask_resolver) {
                                        hl_check_done(&c);
                                        return bad(reason, size, "one @server at most");
                                }
                                if (strcmp(w[i], "@resolver") == 0) {
                                        c.ask_resolver = true;
                                        continue;
                                }
                                if (!ip_literal(w[i] + 1)) {
                                        hl_check_done(&c);
                                        return bad(reason, size, "\"%s\" is not @ADDRESS (an IP address) or @resolver", w[i]);
                                }
                                c.address = strdup(w[i] + 1);
                                if (!c.address)
                                        goto oom;
                                continue;
                        }
                        if (strcasecmp(w[i], "nxdomain") == 0 || strcasecmp(w[i], "noerror") == 0) {
                                c.nxdomain = strcasecmp(w[i], "nxdomain") == 0;
                                continue;
                        }
                        for (size_t t = 0; t < HL_ELEMENTSOF(dns_types); t++)
                                if (strcasecmp(w[i], dns_types[t].name) == 0) {
                                        c.type = dns_types[t].type;
                                        found = true;
                                }
                        if (!found) {
                                hl_check_done(&c);
                                return bad(reason, size, "\"%s\" is not a query type (A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT) "
                                           "or noerror/nxdomain", w[i]);
                        }
                }
                c.name = strdup(w[1]);
                /* A Host= service is asked itself unless the check names a server. */
                if (target && !c.address && !c.ask_resolver)
                        c.address = strdup(target);
                if (!c.name || (target && !c.address && !c.ask_resolver))
                        goto oom;
        } else
                return bad(reason, size, "\"%s\" is not a kind of check: use exec, tcp, http, dns or ping", w[0]);

        /* The normalized text: words joined by one space. */
        {
                size_t len = 1;
                for (size_t i = 0; i < n; i++)
                        len += strlen(w[i]) + 3;
                c.text = malloc(len);
                if (!c.text)
                        goto oom;
                c.text[0] = 0;
                for (size_t i = 0; i < n; i++) {
                        bool quote = strpbrk(w[i], " \t") != NULL;
                        if (i)
                                strcat(c.text, " ");
                        if (quote)
                                strcat(c.text, "'");
                        strcat(c.text, w[i]);
                        if (quote)
                                strcat(c.text, "'");
                }
        }
        *ret = c;
        return 0;
oom:
        hl_check_done(&c);
        return -ENOMEM;
}
