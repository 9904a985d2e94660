/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A DNS answer comes from inside a container: whatever it is, reading it is safe. */
#include <stddef.h>
#include <stdint.h>

#include "hl-dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned answers;
        uint16_t id = size >= 2 ? (uint16_t) (data[0] << 8 | data[1]) : 0;

        hl_dns_rcode_to_string(hl_dns_rcode(data, size, id, &answers));
        return 0;
}
