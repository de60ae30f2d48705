/* SPDX-License-Identifier: MIT */
/*
 * codeview: debug ids and machine names (see codeview.h).
 */
#include "symsrvd_config.h"

#include "codeview/codeview.h"

#include <stdio.h>

#include "byteorder.h"

void codeview_format_debug_id(const uint8_t guid[16], uint32_t age, char *out,
                              size_t len)
{
    snprintf(out, len, "%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X%X",
             le32(guid), le16(guid + 4), le16(guid + 6), guid[8], guid[9],
             guid[10], guid[11], guid[12], guid[13], guid[14], guid[15], age);
}

const char *codeview_machine_name(uint16_t machine)
{
    switch (machine) {
    case 0x014c:
        return "x86";
    case 0x8664:
        return "x86_64";
    case 0x01c0:
    case 0x01c2:
    case 0x01c4:
        return "arm";
    case 0xaa64:
        return "arm64";
    case 0x0200:
        return "ia64";
    default:
        return "unknown";
    }
}
