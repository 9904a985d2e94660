/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "hl-oci.h"

/* Unpacks the OCI image ref (PATH[:TAG] of Template=oci:) into rootfs (which exists), its
 * layers in order with their whiteouts, owners shifted by uid_shift, every blob checked
 * against its digest; an oci-archive is unpacked in workdir first (and removed again).
 * The image's config in *ret_config. -errno and a sentence on any fault. Blocks. */
int oci_unpack(const char *ref, const char *rootfs, const char *workdir, uint32_t uid_shift,
               struct hl_oci_config *ret_config, char **ret_error);
