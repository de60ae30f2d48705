/* SPDX-License-Identifier: MIT */
/*
 * unwind: the register model shared by the rule engines and the walker.
 *
 * DESIGN.  One table per CPU gives, for each DWARF register number, the
 * name minidump_stackwalk prints and the name STACK CFI rules use.  The
 * callee-saved sets follow Breakpad's CFI walkers (the registers they
 * mark "callee saves"), plus the stack pointer, which the contract asks
 * for so that a walker copying callee-saved registers never loses it.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"

#include <string.h>

#include "byteorder.h"

struct unwind_reginfo {
    const char *print; /* as minidump_stackwalk prints it */
    const char *cfi;   /* as STACK CFI rules spell it, without any '$' */
};

static const struct unwind_reginfo unwind_x86[] = {
    {"eax", "eax"}, {"ecx", "ecx"}, {"edx", "edx"}, {"ebx", "ebx"},
    {"esp", "esp"}, {"ebp", "ebp"}, {"esi", "esi"}, {"edi", "edi"},
    {"eip", "eip"}, {"efl", "efl"},
};

static const struct unwind_reginfo unwind_amd64[] = {
    {"rax", "rax"}, {"rdx", "rdx"}, {"rcx", "rcx"}, {"rbx", "rbx"},
    {"rsi", "rsi"}, {"rdi", "rdi"}, {"rbp", "rbp"}, {"rsp", "rsp"},
    {"r8", "r8"},   {"r9", "r9"},   {"r10", "r10"}, {"r11", "r11"},
    {"r12", "r12"}, {"r13", "r13"}, {"r14", "r14"}, {"r15", "r15"},
    {"rip", "rip"},
};

static const struct unwind_reginfo unwind_arm[] = {
    {"r0", "r0"},   {"r1", "r1"},   {"r2", "r2"},   {"r3", "r3"},
    {"r4", "r4"},   {"r5", "r5"},   {"r6", "r6"},   {"r7", "r7"},
    {"r8", "r8"},   {"r9", "r9"},   {"r10", "r10"}, {"fp", "r11"},
    {"ip", "r12"},  {"sp", "r13"},  {"lr", "r14"},  {"pc", "r15"},
};

static const struct unwind_reginfo unwind_arm64[] = {
    {"x0", "x0"},   {"x1", "x1"},   {"x2", "x2"},   {"x3", "x3"},
    {"x4", "x4"},   {"x5", "x5"},   {"x6", "x6"},   {"x7", "x7"},
    {"x8", "x8"},   {"x9", "x9"},   {"x10", "x10"}, {"x11", "x11"},
    {"x12", "x12"}, {"x13", "x13"}, {"x14", "x14"}, {"x15", "x15"},
    {"x16", "x16"}, {"x17", "x17"}, {"x18", "x18"}, {"x19", "x19"},
    {"x20", "x20"}, {"x21", "x21"}, {"x22", "x22"}, {"x23", "x23"},
    {"x24", "x24"}, {"x25", "x25"}, {"x26", "x26"}, {"x27", "x27"},
    {"x28", "x28"}, {"fp", "x29"},  {"lr", "x30"},  {"sp", "sp"},
    {"pc", "pc"},
};

/* Other spellings rules use for the same register. */
struct unwind_alias {
    enum unwind_cpu cpu;
    const char *name;
    int reg;
};

static const struct unwind_alias unwind_aliases[] = {
    {UNWIND_CPU_ARM, "fp", UNWIND_ARM_FP},
    {UNWIND_CPU_ARM, "ip", 12},
    {UNWIND_CPU_ARM, "sp", UNWIND_ARM_SP},
    {UNWIND_CPU_ARM, "lr", UNWIND_ARM_LR},
    {UNWIND_CPU_ARM, "pc", UNWIND_ARM_PC},
    {UNWIND_CPU_ARM64, "fp", UNWIND_ARM64_FP},
    {UNWIND_CPU_ARM64, "lr", UNWIND_ARM64_LR},
    {UNWIND_CPU_ARM64, "x31", UNWIND_ARM64_SP},
};

static const struct unwind_reginfo *unwind_table(enum unwind_cpu cpu,
                                                 unsigned *n)
{
    switch (cpu) {
    case UNWIND_CPU_X86:
        *n = sizeof(unwind_x86) / sizeof(unwind_x86[0]);
        return unwind_x86;
    case UNWIND_CPU_AMD64:
        *n = sizeof(unwind_amd64) / sizeof(unwind_amd64[0]);
        return unwind_amd64;
    case UNWIND_CPU_ARM:
        *n = sizeof(unwind_arm) / sizeof(unwind_arm[0]);
        return unwind_arm;
    case UNWIND_CPU_ARM64:
        *n = sizeof(unwind_arm64) / sizeof(unwind_arm64[0]);
        return unwind_arm64;
    default:
        *n = 0;
        return NULL;
    }
}

unsigned unwind_reg_count(enum unwind_cpu cpu)
{
    unsigned n;

    unwind_table(cpu, &n);
    return n;
}

unsigned unwind_addr_size(enum unwind_cpu cpu)
{
    switch (cpu) {
    case UNWIND_CPU_X86:
    case UNWIND_CPU_ARM:
        return 4;
    case UNWIND_CPU_AMD64:
    case UNWIND_CPU_ARM64:
        return 8;
    default:
        return 0;
    }
}

int unwind_reg_pc(enum unwind_cpu cpu)
{
    static const int pc[] = {-1, UNWIND_X86_EIP, UNWIND_AMD64_RIP,
                             UNWIND_ARM_PC, UNWIND_ARM64_PC};

    return (unsigned)cpu < 5 ? pc[cpu] : -1;
}

int unwind_reg_sp(enum unwind_cpu cpu)
{
    static const int sp[] = {-1, UNWIND_X86_ESP, UNWIND_AMD64_RSP,
                             UNWIND_ARM_SP, UNWIND_ARM64_SP};

    return (unsigned)cpu < 5 ? sp[cpu] : -1;
}

int unwind_reg_fp(enum unwind_cpu cpu)
{
    static const int fp[] = {-1, UNWIND_X86_EBP, UNWIND_AMD64_RBP,
                             UNWIND_ARM_FP, UNWIND_ARM64_FP};

    return (unsigned)cpu < 5 ? fp[cpu] : -1;
}

int unwind_reg_lr(enum unwind_cpu cpu)
{
    static const int lr[] = {-1, -1, -1, UNWIND_ARM_LR, UNWIND_ARM64_LR};

    return (unsigned)cpu < 5 ? lr[cpu] : -1;
}

#define UNWIND_BIT(n) ((uint64_t)1 << (n))

uint64_t unwind_callee_saved(enum unwind_cpu cpu)
{
    uint64_t m = 0;

    switch (cpu) {
    case UNWIND_CPU_X86:
        return UNWIND_BIT(UNWIND_X86_EBX) | UNWIND_BIT(UNWIND_X86_ESP) |
               UNWIND_BIT(UNWIND_X86_EBP) | UNWIND_BIT(UNWIND_X86_ESI) |
               UNWIND_BIT(UNWIND_X86_EDI);
    case UNWIND_CPU_AMD64:
        m = UNWIND_BIT(UNWIND_AMD64_RBX) | UNWIND_BIT(UNWIND_AMD64_RBP) |
            UNWIND_BIT(UNWIND_AMD64_RSP);
        for (int r = 12; r <= 15; r++)
            m |= UNWIND_BIT(r);
        return m;
    case UNWIND_CPU_ARM:
        for (int r = 4; r <= 11; r++)
            m |= UNWIND_BIT(r);
        return m | UNWIND_BIT(UNWIND_ARM_SP);
    case UNWIND_CPU_ARM64:
        for (int r = 19; r <= 29; r++)
            m |= UNWIND_BIT(r);
        return m | UNWIND_BIT(UNWIND_ARM64_SP);
    default:
        return 0;
    }
}

const char *unwind_reg_name(enum unwind_cpu cpu, int reg)
{
    unsigned n;
    const struct unwind_reginfo *t = unwind_table(cpu, &n);

    if (t == NULL || reg < 0 || (unsigned)reg >= n)
        return NULL;
    return t[reg].print;
}

static bool unwind_name_eq(const char *a, const char *name, size_t len)
{
    return strlen(a) == len && memcmp(a, name, len) == 0;
}

int unwind_reg_lookup(enum unwind_cpu cpu, const char *name, size_t len)
{
    unsigned n;
    const struct unwind_reginfo *t = unwind_table(cpu, &n);

    if (len > 0 && name[0] == '$') {
        name++;
        len--;
    }
    for (unsigned i = 0; i < n; i++) {
        if (unwind_name_eq(t[i].cfi, name, len))
            return (int)i;
    }
    for (size_t i = 0; i < sizeof(unwind_aliases) / sizeof(unwind_aliases[0]);
         i++) {
        if (unwind_aliases[i].cpu == cpu &&
            unwind_name_eq(unwind_aliases[i].name, name, len))
            return unwind_aliases[i].reg;
    }
    return -1;
}

int unwind_read_word(const struct unwind_memory *mem, enum unwind_cpu cpu,
                     uint64_t addr, uint64_t *out)
{
    unsigned size = unwind_addr_size(cpu);
    uint8_t b[8];

    if (size == 0 || mem == NULL || mem->read == NULL)
        return -1;
    if (mem->read(mem->ctx, addr, b, size) != 0)
        return -1;
    *out = size == 8 ? le64(b) : le32(b);
    return 0;
}

const char *unwind_cpu_name(enum unwind_cpu cpu)
{
    static const char *const names[] = {"unknown", "x86", "amd64", "arm",
                                        "arm64"};

    return (unsigned)cpu < 5 ? names[cpu] : "unknown";
}
