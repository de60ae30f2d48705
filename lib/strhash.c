/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "strhash.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

void strhash128_hex(const char *s, char out[33])
{
    uint64_t a = 14695981039346656037ull, b = 0x6c62272e07bb0142ull;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        a = (a ^ *p) * 1099511628211ull;
        b = (b ^ *p) * 1099511628211ull;
        b ^= b >> 29;
    }
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a, b);
}
