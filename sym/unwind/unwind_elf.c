/* SPDX-License-Identifier: MIT */
/*
 * unwind_elf: unwinding from an ELF file's .eh_frame / .debug_frame,
 * through libdw's CFI interface.
 *
 * DESIGN.  libdw finds the CFI row for an address (dwarf_cfi_addrframe)
 * and describes the CFA and each register as a DWARF expression; this
 * file evaluates those expressions over the callee's registers and the
 * dump's memory.  .eh_frame is asked first (it is what the process
 * itself would unwind with), .debug_frame second.  The caller's stack
 * pointer is the CFA on every architecture here; its program counter is
 * the return-address column's value (undefined there: pc 0, the end of
 * the stack).  The evaluator knows the operations CFI uses (register +
 * offset, the CFA, constants, arithmetic, comparisons, dereference); it
 * has no branches, so it always ends, and its stack is bounded.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"
#include "xalloc.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELF_EXPR_STACK 32

struct unwind_elf {
    int fd;       /* -1 for an image in memory */
    uint8_t *buf; /* that image, owned */
    Elf *elf;
    Dwarf *dw;      /* NULL without DWARF sections */
    Dwarf_CFI *eh;  /* .eh_frame, ours to end */
    Dwarf_CFI *dbg; /* .debug_frame, owned by DW */
    uint64_t base;
    enum unwind_cpu cpu;
};

static enum unwind_cpu elf_cpu(Elf *elf)
{
    GElf_Ehdr eh;

    if (gelf_getehdr(elf, &eh) == NULL)
        return UNWIND_CPU_UNKNOWN;
    switch (eh.e_machine) {
    case EM_386:
        return UNWIND_CPU_X86;
    case EM_X86_64:
        return UNWIND_CPU_AMD64;
    case EM_ARM:
        return UNWIND_CPU_ARM;
    case EM_AARCH64:
        return UNWIND_CPU_ARM64;
    default:
        return UNWIND_CPU_UNKNOWN;
    }
}

static uint64_t elf_base(Elf *elf)
{
    size_t n;
    uint64_t base = UINT64_MAX;

    if (elf_getphdrnum(elf, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;

        if (gelf_getphdr(elf, (int)i, &ph) != NULL && ph.p_type == PT_LOAD &&
            ph.p_vaddr < base)
            base = ph.p_vaddr;
    }
    return base == UINT64_MAX ? 0 : base;
}

/* Hand UE out through *OUT, or free it when RC says it failed. */
static int unwind_elf_done(struct unwind_elf *ue, int rc,
                           struct unwind_elf **out)
{
    if (rc != 0) {
        unwind_elf_free(ue);
        return rc;
    }
    *out = ue;
    return 0;
}

int unwind_elf_open(const char *path, struct unwind_elf **out)
{
    struct unwind_elf *ue = xcalloc(1, sizeof(*ue));
    int rc = 0;

    *out = NULL;
    elf_version(EV_CURRENT);
    ue->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (ue->fd < 0) {
        rc = -errno;
        goto out;
    }
    ue->elf = elf_begin(ue->fd, ELF_C_READ_MMAP, NULL);
    if (ue->elf == NULL || elf_kind(ue->elf) != ELF_K_ELF) {
        rc = -EINVAL;
        goto out;
    }
    ue->cpu = elf_cpu(ue->elf);
    ue->base = elf_base(ue->elf);
    ue->eh = dwarf_getcfi_elf(ue->elf);
    ue->dw = dwarf_begin_elf(ue->elf, DWARF_C_READ, NULL);
    if (ue->dw != NULL)
        ue->dbg = dwarf_getcfi(ue->dw);
    if (ue->cpu == UNWIND_CPU_UNKNOWN || (ue->eh == NULL && ue->dbg == NULL))
        rc = -ENOENT;
out:
    return unwind_elf_done(ue, rc, out);
}

void unwind_elf_free(struct unwind_elf *ue)
{
    if (ue == NULL)
        return;
    if (ue->eh != NULL)
        dwarf_cfi_end(ue->eh);
    if (ue->dw != NULL)
        dwarf_end(ue->dw);
    if (ue->elf != NULL)
        elf_end(ue->elf);
    if (ue->fd >= 0)
        close(ue->fd);
    free(ue->buf);
    free(ue);
}

int unwind_elf_open_image(uint8_t *buf, size_t len, uint64_t base,
                          struct unwind_elf **out)
{
    struct unwind_elf *ue = xcalloc(1, sizeof(*ue));
    int rc = 0;

    ue->fd = -1;
    ue->buf = buf;
    *out = NULL;
    elf_version(EV_CURRENT);
    ue->elf = elf_memory((char *)buf, len);
    if (ue->elf == NULL || elf_kind(ue->elf) != ELF_K_ELF) {
        rc = -EINVAL;
        goto out;
    }
    ue->cpu = elf_cpu(ue->elf);
    ue->base = base;
    ue->eh = dwarf_getcfi_elf(ue->elf);
    if (ue->cpu == UNWIND_CPU_UNKNOWN || ue->eh == NULL)
        rc = -ENOENT;
out:
    return unwind_elf_done(ue, rc, out);
}

uint64_t unwind_elf_image_base(const struct unwind_elf *ue)
{
    return ue->base;
}

/* --- DWARF expressions ----------------------------------------------- */

struct elf_eval {
    enum unwind_cpu cpu;
    uint64_t mask;
    const struct unwind_regs *callee;
    const struct unwind_memory *mem;
    const uint64_t *cfa; /* NULL while computing the CFA itself */
    uint64_t st[ELF_EXPR_STACK];
    size_t n;
};

static int ev_push(struct elf_eval *e, uint64_t v)
{
    if (e->n == ELF_EXPR_STACK)
        return -EINVAL;
    e->st[e->n++] = v & e->mask;
    return 0;
}

static int ev_reg(struct elf_eval *e, uint64_t reg, uint64_t add)
{
    if (reg >= unwind_reg_count(e->cpu) || !((e->callee->valid >> reg) & 1))
        return -EINVAL;
    return ev_push(e, e->callee->r[reg] + add);
}

static int ev_binary(struct elf_eval *e, unsigned atom)
{
    uint64_t b, a, r;
    int64_t sa, sb;

    if (e->n < 2)
        return -EINVAL;
    b = e->st[--e->n];
    a = e->st[--e->n];
    sa = (int64_t)a;
    sb = (int64_t)b;
    if (e->mask != UINT64_MAX) { /* compare 32-bit values as signed */
        sa = (int32_t)a;
        sb = (int32_t)b;
    }
    switch (atom) {
    case DW_OP_and: r = a & b; break;
    case DW_OP_or: r = a | b; break;
    case DW_OP_xor: r = a ^ b; break;
    case DW_OP_plus: r = a + b; break;
    case DW_OP_minus: r = a - b; break;
    case DW_OP_mul: r = a * b; break;
    case DW_OP_shl: r = b >= 64 ? 0 : a << b; break;
    case DW_OP_shr: r = b >= 64 ? 0 : a >> b; break;
    case DW_OP_eq: r = sa == sb; break;
    case DW_OP_ne: r = sa != sb; break;
    case DW_OP_lt: r = sa < sb; break;
    case DW_OP_gt: r = sa > sb; break;
    case DW_OP_le: r = sa <= sb; break;
    case DW_OP_ge: r = sa >= sb; break;
    default: return -EINVAL;
    }
    return ev_push(e, r);
}

static int ev_deref(struct elf_eval *e)
{
    uint64_t v;

    if (e->n == 0 ||
        unwind_read_word(e->mem, e->cpu, e->st[e->n - 1], &v) != 0)
        return -EINVAL;
    e->st[e->n - 1] = v;
    return 0;
}

static int ev_stack_op(struct elf_eval *e, unsigned atom)
{
    uint64_t t;

    switch (atom) {
    case DW_OP_dup:
        return e->n == 0 ? -EINVAL : ev_push(e, e->st[e->n - 1]);
    case DW_OP_over:
        return e->n < 2 ? -EINVAL : ev_push(e, e->st[e->n - 2]);
    case DW_OP_drop:
        if (e->n == 0)
            return -EINVAL;
        e->n--;
        return 0;
    case DW_OP_swap:
        if (e->n < 2)
            return -EINVAL;
        t = e->st[e->n - 1];
        e->st[e->n - 1] = e->st[e->n - 2];
        e->st[e->n - 2] = t;
        return 0;
    case DW_OP_neg:
    case DW_OP_not:
        if (e->n == 0)
            return -EINVAL;
        t = e->st[e->n - 1];
        e->st[e->n - 1] = (atom == DW_OP_neg ? 0 - t : ~t) & e->mask;
        return 0;
    default:
        return ev_binary(e, atom);
    }
}

/* One operation; *VALUE is set when it makes the result a value rather
 * than an address (DW_OP_stack_value, or a register location). */
static int ev_op(struct elf_eval *e, const Dwarf_Op *op, bool *value)
{
    unsigned atom = op->atom;

    if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31)
        return ev_push(e, atom - DW_OP_lit0);
    if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31)
        return ev_reg(e, atom - DW_OP_breg0, op->number);
    if (atom >= DW_OP_reg0 && atom <= DW_OP_reg31) {
        *value = true;
        return ev_reg(e, atom - DW_OP_reg0, 0);
    }
    switch (atom) {
    case DW_OP_bregx:
        return ev_reg(e, op->number, op->number2);
    case DW_OP_regx:
        *value = true;
        return ev_reg(e, op->number, 0);
    case DW_OP_call_frame_cfa:
        return e->cfa == NULL ? -EINVAL : ev_push(e, *e->cfa);
    case DW_OP_const1u: case DW_OP_const1s: case DW_OP_const2u:
    case DW_OP_const2s: case DW_OP_const4u: case DW_OP_const4s:
    case DW_OP_const8u: case DW_OP_const8s: case DW_OP_constu:
    case DW_OP_consts:
        return ev_push(e, op->number);
    case DW_OP_plus_uconst:
        if (e->n == 0)
            return -EINVAL;
        e->st[e->n - 1] = (e->st[e->n - 1] + op->number) & e->mask;
        return 0;
    case DW_OP_deref:
        return ev_deref(e);
    case DW_OP_stack_value:
        *value = true;
        return 0;
    case DW_OP_nop:
        return 0;
    default:
        return ev_stack_op(e, atom);
    }
}

/* Evaluate OPS[0..N): the top of the stack, read from memory unless the
 * expression says it is a value (VALUE_DEFAULT: whether a bare result is
 * already a value, as the CFA expression's is). */
static int ev_run(struct elf_eval *e, const Dwarf_Op *ops, size_t n,
                  bool value_default, uint64_t *out)
{
    bool value = value_default;

    e->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev_op(e, &ops[i], &value) != 0)
            return -EINVAL;
    }
    if (e->n == 0)
        return -EINVAL;
    if (!value && ev_deref(e) != 0)
        return -EINVAL;
    *out = e->st[e->n - 1] & e->mask;
    return 0;
}

/* --- stepping -------------------------------------------------------- */

static int elf_frame(struct unwind_elf *ue, uint64_t addr, Dwarf_Frame **f)
{
    if (ue->eh != NULL && dwarf_cfi_addrframe(ue->eh, addr, f) == 0)
        return 0;
    if (ue->dbg != NULL && dwarf_cfi_addrframe(ue->dbg, addr, f) == 0)
        return 0;
    return -ENOENT;
}

/* Recover register REG into CALLER; the return-address column goes to
 * the caller's pc instead.  Unknown or undefined registers stay unset. */
static void elf_register(Dwarf_Frame *frame, struct elf_eval *e, int reg,
                         int ra, struct unwind_regs *caller)
{
    Dwarf_Op mem[3], *ops = NULL;
    size_t n = 0;
    uint64_t v;
    int dst = reg == ra ? unwind_reg_pc(e->cpu) : reg;

    if (dwarf_frame_register(frame, reg, mem, &ops, &n) != 0)
        return;
    if (n == 0 && ops == NULL) {
        /* "Same value"; libdw also says so for registers the CFI never
         * mentions, so only callee-saved registers are believed. */
        if (!((e->callee->valid >> reg) & 1) ||
            !((unwind_callee_saved(e->cpu) >> reg) & 1))
            return;
        v = e->callee->r[reg];
    } else if (n == 0 || ev_run(e, ops, n, false, &v) != 0) {
        return; /* undefined, or not computable */
    }
    caller->r[dst] = v & e->mask;
    caller->valid |= (uint64_t)1 << dst;
}

static int elf_apply(Dwarf_Frame *frame, struct elf_eval *e,
                     struct unwind_regs *caller)
{
    Dwarf_Op *ops;
    size_t n;
    uint64_t cfa;
    int ra = dwarf_frame_info(frame, NULL, NULL, NULL);
    int sp = unwind_reg_sp(e->cpu), pc = unwind_reg_pc(e->cpu);

    if (ra < 0 || dwarf_frame_cfa(frame, &ops, &n) != 0 || n == 0 ||
        ev_run(e, ops, n, true, &cfa) != 0)
        return -EINVAL;
    e->cfa = &cfa;
    memset(caller, 0, sizeof(*caller));
    caller->cpu = e->cpu;
    for (int reg = 0; reg < (int)unwind_reg_count(e->cpu); reg++) {
        if (reg != sp && reg != pc)
            elf_register(frame, e, reg, ra, caller);
    }
    if (ra == pc || ra >= (int)unwind_reg_count(e->cpu))
        elf_register(frame, e, ra, ra, caller);
    if (!((caller->valid >> pc) & 1)) {
        /* No return address: the outermost frame (e.g. _start). */
        caller->r[pc] = 0;
        caller->valid |= (uint64_t)1 << pc;
    }
    caller->r[sp] = cfa;
    caller->valid |= (uint64_t)1 << sp;
    return 0;
}

int unwind_elf_step(struct unwind_elf *ue, uint64_t rva,
                    const struct unwind_regs *callee,
                    const struct unwind_memory *mem,
                    struct unwind_regs *caller)
{
    struct elf_eval e = {.cpu = ue->cpu, .callee = callee, .mem = mem};
    Dwarf_Frame *frame = NULL;
    int rc;

    if (callee->cpu != ue->cpu)
        return -EINVAL;
    e.mask = unwind_addr_size(ue->cpu) == 4 ? 0xffffffffu : UINT64_MAX;
    rc = elf_frame(ue, ue->base + rva, &frame);
    if (rc == 0)
        rc = elf_apply(frame, &e, caller);
    free(frame);
    return rc;
}
