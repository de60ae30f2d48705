/* SPDX-License-Identifier: MIT */
/*
 * stackwalk_step: recover one caller frame from its callee, trying call
 * frame information, then the frame pointer chain, then stack scanning
 * (the order and the sanity checks follow Breakpad's x86 and amd64
 * walkers; see stackwalk.h).
 *
 * Every memory read goes through the walk's struct unwind_memory, so a
 * hostile dump can only make a step fail, never read outside the dump.
 */
#include "symsrvd_config.h"

#include "stackwalk/stackwalk_int.h"

#include <errno.h>

static bool reg_known(const struct unwind_regs *r, int n)
{
    return n >= 0 && n < UNWIND_NREGS && (r->valid >> n) & 1;
}

static void reg_set(struct unwind_regs *r, int n, uint64_t v)
{
    r->r[n] = v;
    r->valid |= UINT64_C(1) << n;
}

static uint64_t word_mask(const struct stackwalk_walk *w)
{
    return w->word == 4 ? UINT64_C(0xffffffff) : UINT64_MAX;
}

/* The address a frame's rules and symbols are looked up at. */
static uint64_t lookup_addr(const struct stackwalk_walk *w, uint64_t pc,
                            bool context)
{
    uint64_t adj = stackwalk_call_adjust(w->cpu);

    return context || pc < adj ? pc : pc - adj;
}

/* Whether ADDR is plausibly a return address: inside a module and, when
 * the module's symbol table is known, inside one of its functions once
 * moved back into the call (Breakpad's InstructionAddressSeemsValid). */
static bool seems_return_address(struct stackwalk_walk *w, uint64_t addr)
{
    uint64_t at = lookup_addr(w, addr, false);
    size_t i = stackwalk_module_index(w, at);
    const struct stackwalk_symbols *s;
    const struct minidump_module *m;
    struct symtable_frame f;

    if (i == SIZE_MAX || addr == 0)
        return false;
    s = stackwalk_module_syms(w, i);
    if (s->table == NULL)
        return true;
    m = minidump_module(w->md, i);
    return symtable_lookup(s->table, at - m->base, &f, 1, NULL) > 0;
}

/* Registers the callee preserved and no rule recovered keep their value. */
static void carry_callee_saved(const struct stackwalk_walk *w,
                               const struct unwind_regs *callee,
                               struct unwind_regs *caller)
{
    uint64_t keep =
        unwind_callee_saved(w->cpu) & callee->valid & ~caller->valid;

    for (int n = 0; n < UNWIND_NREGS; n++) {
        if ((keep >> n) & 1)
            caller->r[n] = callee->r[n];
    }
    caller->valid |= keep;
}

/* Windows amd64 leaf functions have no RUNTIME_FUNCTION: the return
 * address is at [rsp].  Only the context frame can be in a leaf. */
static int step_pe_leaf(struct stackwalk_walk *w,
                        const struct unwind_regs *callee,
                        struct unwind_regs *caller)
{
    uint64_t sp, ra;

    if (!reg_known(callee, UNWIND_AMD64_RSP))
        return -EINVAL;
    sp = callee->r[UNWIND_AMD64_RSP];
    if (unwind_read_word(&w->mem, w->cpu, sp, &ra) < 0)
        return -EINVAL;
    reg_set(caller, UNWIND_AMD64_RIP, ra);
    reg_set(caller, UNWIND_AMD64_RSP, sp + 8);
    return 0;
}

/* x86 STACK WIN, as Breakpad's x86 walker runs it: with the parameter
 * size of the callee's own callee (.cbCalleeParams), and reporting
 * whether it had to scan for the return address. */
static int step_win(struct stackwalk_walk *w, const struct stackwalk_symbols *s,
                    uint64_t rva, const struct unwind_regs *callee,
                    bool context, struct unwind_regs *caller,
                    enum stackwalk_trust *trust)
{
    static const enum stackwalk_trust trusts[] = {
        [UNWIND_WIN_CFI] = STACKWALK_TRUST_CFI,
        [UNWIND_WIN_CFI_SCAN] = STACKWALK_TRUST_CFI_SCAN,
        [UNWIND_WIN_SCAN] = STACKWALK_TRUST_SCAN,
    };
    const struct unwind_win_opts opts = {
        .callee_is_context = context,
        .callee_param_size = w->callee_params,
        .allow_scan = w->scan,
    };
    enum unwind_win_trust how = UNWIND_WIN_CFI;
    int rc = unwind_bp_win_step_ex(s->bp, rva, callee, &opts, &w->mem, caller,
                                   &how);

    if (rc == 0)
        *trust = trusts[how];
    return rc;
}

/* The CFI sources of the module at AT, best first. */
static int step_cfi_sources(struct stackwalk_walk *w,
                            const struct stackwalk_symbols *s, uint64_t rva,
                            const struct unwind_regs *callee, bool context,
                            struct unwind_regs *caller,
                            enum stackwalk_trust *trust)
{
    int rc = -ENOENT;

    *trust = STACKWALK_TRUST_CFI;
    if (s->bp && w->cpu == UNWIND_CPU_X86 && unwind_bpindex_has_win(s->bp, rva))
        rc = step_win(w, s, rva, callee, context, caller, trust);
    if (rc < 0 && s->bp && unwind_bpindex_has_cfi(s->bp, rva)) {
        *caller = (struct unwind_regs){.cpu = w->cpu};
        rc = unwind_bp_cfi_step(s->bp, rva, callee, &w->mem, caller);
    }
    if (rc < 0 && s->pe && w->cpu == UNWIND_CPU_AMD64) {
        *caller = (struct unwind_regs){.cpu = w->cpu};
        rc = unwind_pe_step(s->pe, rva, callee, &w->mem, caller);
        if (rc == -ENOENT && context)
            rc = step_pe_leaf(w, callee, caller);
    }
    if (rc < 0 && s->elf) {
        *caller = (struct unwind_regs){.cpu = w->cpu};
        rc = unwind_elf_step(s->elf, rva, callee, &w->mem, caller);
    }
    if (rc < 0 && s->macho && unwind_macho_cpu(s->macho) == w->cpu) {
        *caller = (struct unwind_regs){.cpu = w->cpu};
        rc = unwind_macho_step(s->macho, rva, callee, &w->mem, caller);
    }
    return rc;
}

static int step_cfi(struct stackwalk_walk *w, const struct unwind_regs *callee,
                    bool context, struct unwind_regs *caller,
                    enum stackwalk_trust *trust)
{
    int pc = unwind_reg_pc(w->cpu), sp = unwind_reg_sp(w->cpu);
    uint64_t at = lookup_addr(w, callee->r[pc], context);
    size_t i = stackwalk_module_index(w, at);
    const struct stackwalk_symbols *s;
    int rc;

    if (i == SIZE_MAX)
        return -ENOENT;
    s = stackwalk_module_syms(w, i);
    rc = step_cfi_sources(w, s, at - minidump_module(w->md, i)->base, callee,
                          context, caller, trust);
    if (rc < 0)
        return rc;
    caller->cpu = w->cpu;
    if (!reg_known(caller, pc) || !reg_known(caller, sp))
        return -EINVAL;
    carry_callee_saved(w, callee, caller);
    return 0;
}

/* x86/amd64: [fp] is the caller's fp, [fp + word] the return address.
 * amd64 also demands what Breakpad does: the caller's frame lies above
 * this one and its fp points into readable memory.  A zero return address
 * in a readable frame record is the chain's end marker (-ESRCH): the
 * thread's first frame, so the walk stops instead of scanning on. */
static int step_fp_x86(struct stackwalk_walk *w,
                       const struct unwind_regs *callee,
                       struct unwind_regs *caller)
{
    int fpr = unwind_reg_fp(w->cpu), spr = unwind_reg_sp(w->cpu);
    uint64_t fp = callee->r[fpr], cfp, cpc, csp, probe;

    if (!reg_known(callee, fpr) || fp % w->word != 0 || fp == 0)
        return -ENOENT;
    if (reg_known(callee, spr) && fp < callee->r[spr])
        return -ENOENT;
    if (unwind_read_word(&w->mem, w->cpu, fp, &cfp) < 0 ||
        unwind_read_word(&w->mem, w->cpu, fp + w->word, &cpc) < 0)
        return -ENOENT;
    csp = (fp + 2 * w->word) & word_mask(w);
    if (cpc == 0)
        return -ESRCH;
    if (csp <= fp || !seems_return_address(w, cpc))
        return -ENOENT;
    if (w->cpu == UNWIND_CPU_AMD64 &&
        (cfp < csp || unwind_read_word(&w->mem, w->cpu, cfp, &probe) < 0))
        return -ENOENT;
    reg_set(caller, unwind_reg_pc(w->cpu), cpc);
    reg_set(caller, spr, csp);
    reg_set(caller, fpr, cfp);
    return 0;
}

/* arm64: the frame record at x29 holds the caller's x29 and x30. */
static int step_fp_arm64(struct stackwalk_walk *w,
                         const struct unwind_regs *callee,
                         struct unwind_regs *caller)
{
    uint64_t fp = callee->r[UNWIND_ARM64_FP], cfp, clr;

    if (!reg_known(callee, UNWIND_ARM64_FP) || fp % 8 != 0 || fp == 0)
        return -ENOENT;
    if (reg_known(callee, UNWIND_ARM64_SP) && fp < callee->r[UNWIND_ARM64_SP])
        return -ENOENT;
    if (unwind_read_word(&w->mem, w->cpu, fp, &cfp) < 0 ||
        unwind_read_word(&w->mem, w->cpu, fp + 8, &clr) < 0)
        return -ENOENT;
    if (clr == 0)
        return -ESRCH;
    if (fp + 16 < fp || !seems_return_address(w, clr))
        return -ENOENT;
    reg_set(caller, UNWIND_ARM64_PC, clr);
    reg_set(caller, UNWIND_ARM64_LR, clr);
    reg_set(caller, UNWIND_ARM64_SP, fp + 16);
    reg_set(caller, UNWIND_ARM64_FP, cfp);
    return 0;
}

static int step_fp(struct stackwalk_walk *w, const struct unwind_regs *callee,
                   struct unwind_regs *caller)
{
    switch (w->cpu) {
    case UNWIND_CPU_X86:
    case UNWIND_CPU_AMD64:
        return step_fp_x86(w, callee, caller);
    case UNWIND_CPU_ARM64:
        return step_fp_arm64(w, callee, caller);
    default:
        return -ENOENT;
    }
}

/* After a scan found the return address at LOC: when the callee's frame
 * pointer sits right below it, the callee pushed the caller's fp there;
 * when it points above, the callee left it alone. */
static void scan_frame_pointer(struct stackwalk_walk *w,
                               const struct unwind_regs *callee, uint64_t loc,
                               struct unwind_regs *caller)
{
    int fpr = unwind_reg_fp(w->cpu);
    uint64_t fp = callee->r[fpr], cfp;

    if (!reg_known(callee, fpr))
        return;
    if (w->cpu != UNWIND_CPU_ARM64 && fp == loc - w->word) {
        if (unwind_read_word(&w->mem, w->cpu, fp, &cfp) == 0 && cfp > loc)
            reg_set(caller, fpr, cfp);
    } else if (fp > loc) {
        reg_set(caller, fpr, fp);
    }
}

static int step_scan(struct stackwalk_walk *w, const struct unwind_regs *callee,
                     bool context, struct unwind_regs *caller)
{
    int spr = unwind_reg_sp(w->cpu);
    unsigned words = STACKWALK_SCAN_WORDS;
    uint64_t sp = callee->r[spr], loc, val;

    if (!reg_known(callee, spr))
        return -ENOENT;
    if (context)
        words *= STACKWALK_SCAN_CONTEXT_FACTOR;
    for (unsigned k = 0; k < words; k++) {
        loc = sp + (uint64_t)k * w->word;
        if (loc < sp || unwind_read_word(&w->mem, w->cpu, loc, &val) < 0)
            return -ENOENT;
        if (!seems_return_address(w, val))
            continue;
        reg_set(caller, unwind_reg_pc(w->cpu), val);
        reg_set(caller, spr, (loc + w->word) & word_mask(w));
        scan_frame_pointer(w, callee, loc, caller);
        return 0;
    }
    return -ENOENT;
}

/* The parameter size of the STACK WIN record covering CALLEE: what the
 * next step passes as .cbCalleeParams.  0 off x86 or without a record. */
static uint32_t win_params(struct stackwalk_walk *w,
                           const struct unwind_regs *callee, bool context)
{
    uint64_t at = lookup_addr(w, callee->r[unwind_reg_pc(w->cpu)], context);
    size_t i = stackwalk_module_index(w, at);
    const struct stackwalk_symbols *s;
    uint32_t size = 0;

    if (w->cpu != UNWIND_CPU_X86 || i == SIZE_MAX)
        return 0;
    s = stackwalk_module_syms(w, i);
    if (s->bp == NULL ||
        unwind_bpindex_win_params(s->bp, at - minidump_module(w->md, i)->base,
                                  &size) != 0)
        return 0;
    return size;
}

int stackwalk_step(struct stackwalk_walk *w, const struct unwind_regs *callee,
                   bool context, struct unwind_regs *caller,
                   enum stackwalk_trust *trust)
{
    int rc;

    if (!reg_known(callee, unwind_reg_pc(w->cpu)))
        return -ENOENT;
    *caller = (struct unwind_regs){.cpu = w->cpu};
    rc = step_cfi(w, callee, context, caller, trust);
    /* Whatever finds this caller, the next step's callee is CALLEE. */
    w->callee_params = win_params(w, callee, context);
    if (rc == 0)
        return 0;
    *caller = (struct unwind_regs){.cpu = w->cpu};
    rc = step_fp(w, callee, caller);
    if (rc == 0) {
        *trust = STACKWALK_TRUST_FP;
        return 0;
    }
    if (rc == -ESRCH)
        return -ENOENT;
    *caller = (struct unwind_regs){.cpu = w->cpu};
    if (w->scan && step_scan(w, callee, context, caller) == 0) {
        *trust = STACKWALK_TRUST_SCAN;
        return 0;
    }
    return -ENOENT;
}
