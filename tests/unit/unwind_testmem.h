/* SPDX-License-Identifier: MIT */
/*
 * unwind_testmem: a fake process memory for the unwind tests: one stack
 * buffer at a chosen address, written word by word, and one code range
 * that is_code accepts.  Test-only.
 */
#ifndef SYMSRVD_UNWIND_TESTMEM_H
#define SYMSRVD_UNWIND_TESTMEM_H

#include "unwind/unwind.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define TESTMEM_SIZE 4096

struct testmem {
    uint64_t base;               /* address of buf[0] */
    uint8_t buf[TESTMEM_SIZE];
    uint64_t code_lo, code_hi;   /* is_code accepts [code_lo, code_hi) */
    unsigned reads;              /* how many reads were asked for */
};

static inline int testmem_read(void *ctx, uint64_t addr, void *out,
                               size_t len)
{
    struct testmem *m = ctx;

    m->reads++;
    if (addr < m->base || addr - m->base > TESTMEM_SIZE ||
        len > TESTMEM_SIZE - (addr - m->base))
        return -1;
    memcpy(out, m->buf + (addr - m->base), len);
    return 0;
}

static inline bool testmem_is_code(void *ctx, uint64_t addr)
{
    struct testmem *m = ctx;

    return addr >= m->code_lo && addr < m->code_hi;
}

static inline struct unwind_memory testmem_mem(struct testmem *m)
{
    struct unwind_memory mem = {testmem_read, testmem_is_code, m};

    return mem;
}

/* Store the SIZE-byte little-endian word V at ADDR (inside the buffer). */
static inline void testmem_put(struct testmem *m, uint64_t addr, uint64_t v,
                               unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        m->buf[addr - m->base + i] = (uint8_t)(v >> (8 * i));
}

static inline void testmem_put32(struct testmem *m, uint64_t addr, uint32_t v)
{
    testmem_put(m, addr, v, 4);
}

static inline void testmem_put64(struct testmem *m, uint64_t addr, uint64_t v)
{
    testmem_put(m, addr, v, 8);
}

static inline void testmem_set(struct unwind_regs *r, int reg, uint64_t v)
{
    r->r[reg] = v;
    r->valid |= (uint64_t)1 << reg;
}

static inline bool testmem_has(const struct unwind_regs *r, int reg)
{
    return (r->valid >> reg) & 1;
}

#endif
