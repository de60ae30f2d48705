/* SPDX-License-Identifier: MIT */
/*
 * minidump_context: raw CPU contexts (x86, amd64, arm, arm64 in Windows'
 * and Breakpad's old layout) into struct unwind_regs, DWARF-numbered.
 *
 * The CPU is told by the context itself, as Breakpad's reader does: a
 * 1232-byte context is amd64 (its flags sit at offset 48, not 0); a
 * context whose 64-bit flags are Breakpad's old arm64 value is that;
 * otherwise the CPU bits of the 32-bit flags at offset 0 decide.  x86 is
 * tested before the ARM bits because Windows sets high "exception
 * reporting" flags (0x40000000, 0x80000000) on x86 contexts too.
 *
 * A register is marked valid only when the flags say its group (control,
 * integer) was saved.  Breakpad's macOS writer sets the CPU bit alone
 * (MD_CONTEXT_AMD64 with no group bits) on full contexts, and Breakpad's
 * processor trusts every register of such a context; a context whose
 * flags name no group at all is therefore read as complete.
 */
#include "symsrvd_config.h"

#include "minidump/minidump_int.h"

#include <errno.h>

#define CTX_X86 0x00010000u
#define CTX_AMD64 0x00100000u
#define CTX_ARM_WIN 0x00200000u
#define CTX_ARM64 0x00400000u
#define CTX_ARM 0x40000000u
#define CTX_ARM64_OLD 0x80000000u
#define CTX_CONTROL 1u
#define CTX_INTEGER 2u

#define AMD64_SIZE 1232
#define X86_SIZE 716
#define ARM_MIN_SIZE 72      /* flags, r0..r15, cpsr */
#define ARM64_MIN_SIZE 272   /* flags, cpsr, x0..x28, fp, lr, sp, pc */
#define ARM64_OLD_MIN_SIZE 276

struct reg_map {
    uint8_t reg;     /* DWARF number */
    uint16_t off;    /* byte offset in the context */
    uint8_t group;   /* CTX_CONTROL or CTX_INTEGER */
};

/* winnt.h CONTEXT (x86). */
static const struct reg_map x86_map[] = {
    {UNWIND_X86_EDI, 0x9c, CTX_INTEGER}, {UNWIND_X86_ESI, 0xa0, CTX_INTEGER},
    {UNWIND_X86_EBX, 0xa4, CTX_INTEGER}, {UNWIND_X86_EDX, 0xa8, CTX_INTEGER},
    {UNWIND_X86_ECX, 0xac, CTX_INTEGER}, {UNWIND_X86_EAX, 0xb0, CTX_INTEGER},
    {UNWIND_X86_EBP, 0xb4, CTX_CONTROL}, {UNWIND_X86_EIP, 0xb8, CTX_CONTROL},
    {UNWIND_X86_EFLAGS, 0xc0, CTX_CONTROL},
    {UNWIND_X86_ESP, 0xc4, CTX_CONTROL},
};

/* winnt.h CONTEXT (amd64): Rax at 0x78, then Rcx, Rdx, Rbx, Rsp, Rbp, Rsi,
 * Rdi, R8..R15, Rip at 0xf8.  Rbp is an integer register there. */
static const struct reg_map amd64_map[] = {
    {UNWIND_AMD64_RAX, 0x78, CTX_INTEGER}, {2 /* rcx */, 0x80, CTX_INTEGER},
    {1 /* rdx */, 0x88, CTX_INTEGER},     {UNWIND_AMD64_RBX, 0x90, CTX_INTEGER},
    {UNWIND_AMD64_RSP, 0x98, CTX_CONTROL}, {UNWIND_AMD64_RBP, 0xa0, CTX_INTEGER},
    {UNWIND_AMD64_RSI, 0xa8, CTX_INTEGER}, {UNWIND_AMD64_RDI, 0xb0, CTX_INTEGER},
    {8, 0xb8, CTX_INTEGER},  {9, 0xc0, CTX_INTEGER},  {10, 0xc8, CTX_INTEGER},
    {11, 0xd0, CTX_INTEGER}, {12, 0xd8, CTX_INTEGER}, {13, 0xe0, CTX_INTEGER},
    {14, 0xe8, CTX_INTEGER}, {15, 0xf0, CTX_INTEGER},
    {UNWIND_AMD64_RIP, 0xf8, CTX_CONTROL},
};

static uint32_t groups(uint32_t flags);

static void load_map(const struct md_view *v, const struct reg_map *map,
                     size_t n, uint32_t flags, unsigned word,
                     struct unwind_regs *out)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = v->p + map[i].off;

        if (!(flags & map[i].group))
            continue;
        out->r[map[i].reg] = word == 4 ? le32(p) : le64(p);
        out->valid |= UINT64_C(1) << map[i].reg;
    }
}

static int parse_amd64(const struct md_view *v, struct unwind_regs *out)
{
    out->cpu = UNWIND_CPU_AMD64;
    load_map(v, amd64_map, sizeof(amd64_map) / sizeof(amd64_map[0]),
             groups(le32(v->p + 48)), 8, out);
    return 0;
}

static int parse_x86(const struct md_view *v, struct unwind_regs *out)
{
    if (v->len < X86_SIZE)
        return -EINVAL;
    out->cpu = UNWIND_CPU_X86;
    load_map(v, x86_map, sizeof(x86_map) / sizeof(x86_map[0]),
             groups(le32(v->p)), 4, out);
    return 0;
}

/* ARM: r0..r15 as iregs[16] after the flags.  Breakpad's layout saves
 * them all under "integer"; Windows' CONTEXT_ARM splits r0..r12
 * (integer) from sp, lr, pc (control). */
static int parse_arm(const struct md_view *v, uint32_t flags, bool windows,
                     struct unwind_regs *out)
{
    if (v->len < ARM_MIN_SIZE)
        return -EINVAL;
    out->cpu = UNWIND_CPU_ARM;
    for (unsigned r = 0; r < 16; r++) {
        uint32_t group = windows && r >= UNWIND_ARM_SP ? CTX_CONTROL
                                                       : CTX_INTEGER;

        if (!(flags & group))
            continue;
        out->r[r] = le32(v->p + 4 + 4 * r);
        out->valid |= UINT64_C(1) << r;
    }
    return 0;
}

/* ARM64: x0..x28, fp, lr, sp, pc as 64-bit words from offset 8 in both
 * layouts (the new one has flags and cpsr as two 32-bit words there, the
 * old one 64-bit flags).  Windows' layout splits x0..x28 (integer) from
 * fp, lr, sp, pc (control); the old one saves them all as "integer". */
static int parse_arm64(const struct md_view *v, uint32_t flags, bool old,
                       struct unwind_regs *out)
{
    if (v->len < (old ? ARM64_OLD_MIN_SIZE : ARM64_MIN_SIZE))
        return -EINVAL;
    out->cpu = UNWIND_CPU_ARM64;
    for (unsigned r = 0; r <= UNWIND_ARM64_PC; r++) {
        uint32_t group = !old && r >= UNWIND_ARM64_FP ? CTX_CONTROL
                                                       : CTX_INTEGER;

        if (!(flags & group))
            continue;
        out->r[r] = le64(v->p + 8 + 8 * r);
        out->valid |= UINT64_C(1) << r;
    }
    return 0;
}

/* FLAGS with no group bit mean "everything" (see the top comment). */
static uint32_t groups(uint32_t flags)
{
    return flags & (CTX_CONTROL | CTX_INTEGER)
               ? flags
               : flags | CTX_CONTROL | CTX_INTEGER;
}

int md_context_parse(const struct md_view *v, struct unwind_regs *out)
{
    uint32_t flags;

    *out = (struct unwind_regs){0};
    if (v->len == AMD64_SIZE && (le32(v->p + 48) & CTX_AMD64))
        return parse_amd64(v, out);
    if (v->len < 8)
        return -EINVAL;
    flags = groups(le32(v->p));
    if (flags & CTX_X86)
        return parse_x86(v, out);
    if (flags & CTX_ARM64)
        return parse_arm64(v, flags, false, out);
    if (flags & CTX_ARM_WIN)
        return parse_arm(v, flags, true, out);
    if ((flags & CTX_ARM64_OLD) && le32(v->p + 4) == 0 &&
        v->len >= ARM64_OLD_MIN_SIZE && v->len != X86_SIZE)
        return parse_arm64(v, flags, true, out);
    if (flags & CTX_ARM)
        return parse_arm(v, flags, false, out);
    return -EINVAL;
}
