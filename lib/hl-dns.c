/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "hl-dns.h"

int hl_dns_query(uint16_t id, const char *name, uint16_t type, uint8_t *buf, size_t size) {
        size_t n = 12;
        const char *p = name;

        if (size < 12 + strlen(name) + 2 + 4)
                return -ENOBUFS;
        memset(buf, 0, 12);
        buf[0] = (uint8_t) (id >> 8);
        buf[1] = (uint8_t) id;
        buf[2] = 0x01; /* RD: recursion desired */
        buf[5] = 1;    /* one question */
        while (*p) {
                size_t len = strcspn(p, ".");

                if (len == 0 || len > 63)
                        return -EINVAL;
                buf[n++] = (uint8_t) len;
                memcpy(buf + n, p, len);
                n += len;
                p += len;
                if (*p == '.')
                        p++;
        }
        buf[n++] = 0;
        buf[n++] = (uint8_t) (type >> 8);
        buf[n++] = (uint8_t) type;
        buf[n++] = 0;
        buf[n++] = 1; /* class IN */
        return (int) n;
}

int hl_dns_rcode(const uint8_t *msg, size_t len, uint16_t id, unsigned *ret_answers) {
        if (len < 12)
                return -EBADMSG;
        if (((unsigned) msg[0] << 8 | msg[1]) != id)
                return -EBADMSG;
        if (!(msg[2] & 0x80)) /* not a response */
                return -EBADMSG;
        if (((unsigned) msg[4] << 8 | msg[5]) != 1)
                return -EBADMSG;
        if (ret_answers)
                *ret_answers = (unsigned) msg[6] << 8 | msg[7];
        return msg[3] & 0x0f;
}

const char *hl_dns_rcode_to_string(int rcode) {
        static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

        return rcode >= 0 && rcode < (int) (sizeof(names) / sizeof(names[0])) ? names[rcode] : "RCODE?";
}
