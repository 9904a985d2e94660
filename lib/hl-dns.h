/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The two DNS messages a health probe needs: one query, and the header of its answer. */

#include <stddef.h>
#include <stdint.h>

#define HL_DNS_NOERROR 0
#define HL_DNS_NXDOMAIN 3

/* Writes a recursive query for name/type into buf; returns its length or -errno. */
int hl_dns_query(uint16_t id, const char *name, uint16_t type, uint8_t *buf, size_t size);
/* Checks that msg answers query id (QR set, same id, one question) and returns its
 * RCODE (0..15), or -EBADMSG. ret_answers gets the answer count. */
int hl_dns_rcode(const uint8_t *msg, size_t len, uint16_t id, unsigned *ret_answers);
const char *hl_dns_rcode_to_string(int rcode);
