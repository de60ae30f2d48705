/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for symtable_load() and symtable_lookup().  The CRC is
 * recomputed over the input first (docs/symtable.md: crc32 of [16, len) at
 * offset 12), otherwise nearly every mutation would stop at the checksum
 * and the structural checks behind it would never be reached.  Addresses
 * to look up come from the input itself, so they hit its ranges.
 */
#include "symsrvd_config.h"

#include "table/symtable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct symtable *t, const uint8_t *data, size_t size)
{
    struct symtable_frame f[16];
    size_t total;

    for (size_t off = 0; off + 8 <= size && off < 4096; off += 8) {
        uint64_t rva;

        memcpy(&rva, data + off, sizeof(rva));
        symtable_lookup(t, rva, f, 16, &total);
        symtable_lookup(t, rva - 1, f, 1, NULL);
        symtable_lookup(t, rva + 1, f, 0, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1); /* 8-byte aligned, as mmap */
    struct symtable *t;

    memcpy(copy, data, size);
    if (size >= 16) {
        uint32_t crc = (uint32_t)crc32_z(0, copy + 16, size - 16);

        memcpy(copy + 12, &crc, sizeof(crc));
    }
    if (symtable_load(copy, size, &t) == 0) {
        probe(t, copy, size);
        symtable_close(t);
    }
    free(copy);
    return 0;
}
