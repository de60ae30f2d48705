/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mem: the fake process memory of the unwinder fuzz targets: the
 * input's own bytes mapped at FUZZ_BASE, so that rules and encodings
 * dereference hostile words.
 */
#ifndef SYMSRVD_FUZZ_MEM_H
#define SYMSRVD_FUZZ_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_BASE 0x10000u

struct fuzz_mem {
    const uint8_t *data;
    size_t size;
};

static inline int fuzz_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const struct fuzz_mem *m = ctx;

    if (addr < FUZZ_BASE || addr - FUZZ_BASE > m->size ||
        len > m->size - (addr - FUZZ_BASE))
        return -1;
    memcpy(buf, m->data + (addr - FUZZ_BASE), len);
    return 0;
}

/* Odd addresses are "code", so scans both find and miss. */
static inline bool fuzz_is_code(void *ctx, uint64_t addr)
{
    (void)ctx;
    return (addr & 1) != 0;
}

#endif
