/* SPDX-License-Identifier: MIT */
/*
 * unwind_bpwin: the x86 STACK WIN walk, as Breakpad's
 * StackwalkerX86::GetCallerByWindowsFrameInfo does it.
 *
 * DESIGN.  The steps, in Breakpad's order:
 *  1. .raSearchStart = callee %esp + .cbCalleeParams + .cbLocals +
 *     .cbSavedRegs, moved up by at most three words to the first word
 *     that is code (the frame may have been aligned).  For an FPO record
 *     on the context frame whose first word is the current %eip (a system
 *     call that returned without popping), one more word is skipped.
 *  2. The program: the record's own, else the FPO rules built from its
 *     sizes (with or without a saved %ebp).  When the program aligns
 *     (@) and %ebp is known, .raSearchStart = %ebp + 4 instead.
 *  3. Evaluate with $ebp, $esp, $ebx (when known) and the dot constants;
 *     it must assign $eip and $esp.  If it fails, scan from %esp for a
 *     return address (trust scan), or give up.
 *  4. Unless both $eip and $ebp are 0 (the end of the stack): if $eip is
 *     not code, scan from .raSearchStart + 4 (trust cfi_scan); and when
 *     %ebp is to be recovered but looks wrong (unreadable, or below the
 *     return address after a scan), look through the saved-register area
 *     from its top for a word that points to readable memory.
 * All arithmetic is 32-bit.  Scans read at most 41 words (161 for the
 * context frame's caller), the %ebp search at most UNWIND_BPWIN_FP_WORDS.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"
#include "unwind/unwind_bp.h"
#include "unwind/unwind_postfix.h"

#include "breakpad/breakpad.h"

#include <errno.h>
#include <string.h>

#define BPWIN_RA_WORDS 40
#define UNWIND_BPWIN_FP_WORDS 4096

/* The FPO programs Breakpad builds when a record has none: with a saved
 * %ebp in the saved-register area, and without %ebp at all. */
static const char bpwin_prog_bp[] =
    "$eip .raSearchStart ^ = "
    "$ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = "
    "$esp .raSearchStart 4 + =";
static const char bpwin_prog_nobp[] =
    "$eip .raSearchStart ^ = $esp .raSearchStart 4 + =";
static const char bpwin_prog_nobp_ebx[] =
    "$eip .raSearchStart ^ = $esp .raSearchStart 4 + = $ebx $ebx =";

struct bpwin {
    const struct breakpad_stack *rec;
    const struct unwind_regs *callee;
    const struct unwind_win_opts *opts;
    const struct unwind_memory *mem;
    struct unwind_pf pf;
    uint32_t ra_search_start;
    enum unwind_win_trust trust;
};

static bool bpwin_known(const struct unwind_regs *r, int reg)
{
    return (r->valid >> reg) & 1;
}

static bool bpwin_read(const struct unwind_memory *mem, uint32_t addr,
                       uint32_t *out)
{
    uint64_t v;

    if (unwind_read_word(mem, UNWIND_CPU_X86, addr, &v) != 0)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Breakpad's ScanForReturnAddress: the first of the WORDS + 1 words from
 * START whose value is code. */
static bool bpwin_scan(const struct unwind_memory *mem, uint32_t start,
                       unsigned words, uint32_t *loc, uint32_t *ip)
{
    if (mem->is_code == NULL)
        return false;
    for (unsigned i = 0; i <= words; i++) {
        uint64_t addr = (uint64_t)start + 4u * i;
        uint32_t v;

        if (addr > UINT32_MAX || !bpwin_read(mem, (uint32_t)addr, &v))
            return false;
        if (mem->is_code(mem->ctx, v)) {
            *loc = (uint32_t)addr;
            *ip = v;
            return true;
        }
    }
    return false;
}

static unsigned bpwin_scan_words(const struct bpwin *w)
{
    return w->opts->callee_is_context ? BPWIN_RA_WORDS * 4 : BPWIN_RA_WORDS;
}

/* Step 1. */
static void bpwin_search_start(struct bpwin *w)
{
    uint32_t esp = (uint32_t)w->callee->r[UNWIND_X86_ESP];
    uint32_t start = esp + w->opts->callee_param_size + w->rec->local_size +
                     w->rec->saved_register_size;
    uint32_t loc, found;

    w->ra_search_start = start;
    if (!bpwin_scan(w->mem, start, 3, &loc, &found))
        return;
    w->ra_search_start = loc;
    if (w->opts->callee_is_context && w->rec->win_type == 0 && loc == start &&
        bpwin_known(w->callee, UNWIND_X86_EIP) &&
        found == (uint32_t)w->callee->r[UNWIND_X86_EIP]) {
        w->ra_search_start = loc + 4;
        if (bpwin_scan(w->mem, loc + 4, 3, &loc, &found))
            w->ra_search_start = loc;
    }
}

/* Step 2: the program and whether %ebp is to be recovered. */
static void bpwin_program(const struct bpwin *w, const char **prog,
                          size_t *len, bool *recover_ebp)
{
    *recover_ebp = true;
    if (w->rec->has_program_string && w->rec->rules_len > 0) {
        *prog = w->rec->rules;
        *len = w->rec->rules_len;
    } else if (w->rec->allocates_base_pointer) {
        *prog = bpwin_prog_bp;
        *len = sizeof(bpwin_prog_bp) - 1;
    } else if (bpwin_known(w->callee, UNWIND_X86_EBX)) {
        *prog = bpwin_prog_nobp_ebx;
        *len = sizeof(bpwin_prog_nobp_ebx) - 1;
        *recover_ebp = false;
    } else {
        *prog = bpwin_prog_nobp;
        *len = sizeof(bpwin_prog_nobp) - 1;
        *recover_ebp = false;
    }
}

static int bpwin_dictionary(struct bpwin *w)
{
    const struct unwind_regs *c = w->callee;
    int rc = 0;

    if (bpwin_known(c, UNWIND_X86_EBP))
        rc |= unwind_pf_set(&w->pf, "$ebp", c->r[UNWIND_X86_EBP]);
    rc |= unwind_pf_set(&w->pf, "$esp", c->r[UNWIND_X86_ESP]);
    if (bpwin_known(c, UNWIND_X86_EBX))
        rc |= unwind_pf_set(&w->pf, "$ebx", c->r[UNWIND_X86_EBX]);
    rc |= unwind_pf_set(&w->pf, ".cbCalleeParams", w->opts->callee_param_size);
    rc |= unwind_pf_set(&w->pf, ".cbSavedRegs", w->rec->saved_register_size);
    rc |= unwind_pf_set(&w->pf, ".cbLocals", w->rec->local_size);
    rc |= unwind_pf_set(&w->pf, ".cbParams", w->rec->parameter_size);
    rc |= unwind_pf_set(&w->pf, ".raSearchStart", w->ra_search_start);
    rc |= unwind_pf_set(&w->pf, ".raSearch", w->ra_search_start);
    return rc != 0 ? -EINVAL : 0;
}

static bool bpwin_assigned(struct unwind_pf *pf, const char *name,
                           uint32_t *out)
{
    struct unwind_pf_var *v = unwind_pf_find(pf, name, strlen(name));

    if (v == NULL || !v->assigned)
        return false;
    *out = (uint32_t)v->value;
    return true;
}

/* A variable's value whether assigned or given (0 when absent, as
 * Breakpad's dictionary reads a missing entry). */
static uint32_t bpwin_get(struct unwind_pf *pf, const char *name, bool *found)
{
    struct unwind_pf_var *v = unwind_pf_find(pf, name, strlen(name));

    if (found != NULL)
        *found = v != NULL;
    return v != NULL ? (uint32_t)v->value : 0;
}

/* Step 3's fallback: a scan from the callee's %esp. */
static int bpwin_scan_esp(struct bpwin *w)
{
    uint32_t loc, ip;

    if (!w->opts->allow_scan ||
        !bpwin_scan(w->mem, (uint32_t)w->callee->r[UNWIND_X86_ESP],
                    bpwin_scan_words(w), &loc, &ip))
        return -EINVAL;
    if (unwind_pf_set(&w->pf, "$eip", ip) != 0 ||
        unwind_pf_set(&w->pf, "$esp", loc + 4) != 0)
        return -EINVAL;
    w->trust = UNWIND_WIN_SCAN;
    return 0;
}

/* Step 4, the return address: *OFFSET is how far above .raSearchStart + 4
 * it was found. */
static void bpwin_rescan_ra(struct bpwin *w, uint32_t *offset)
{
    uint32_t eip = bpwin_get(&w->pf, "$eip", NULL);
    uint32_t start = w->ra_search_start + 4, loc, ip;

    *offset = 0;
    if (w->mem->is_code == NULL || w->mem->is_code(w->mem->ctx, eip))
        return;
    if (!w->opts->allow_scan ||
        !bpwin_scan(w->mem, start, bpwin_scan_words(w), &loc, &ip))
        return;
    unwind_pf_set(&w->pf, "$eip", ip);
    unwind_pf_set(&w->pf, "$esp", loc + 4);
    *offset = loc - start;
    w->trust = UNWIND_WIN_CFI_SCAN;
}

/* Step 4, the frame pointer. */
static void bpwin_recover_ebp(struct bpwin *w, uint32_t offset)
{
    bool known;
    uint32_t ebp = bpwin_get(&w->pf, "$ebp", &known), value;
    bool skipped = w->trust != UNWIND_WIN_CFI &&
                   ebp <= w->ra_search_start + offset;
    uint32_t end = (uint32_t)w->callee->r[UNWIND_X86_ESP] +
                   w->opts->callee_param_size;
    uint32_t loc = end + w->rec->saved_register_size + offset;

    if (known && !skipped && bpwin_read(w->mem, ebp, &value))
        return;
    for (unsigned i = 0; i < UNWIND_BPWIN_FP_WORDS && loc >= end; i++) {
        if (!bpwin_read(w->mem, loc, &ebp))
            return;
        if (bpwin_read(w->mem, ebp, &value)) {
            unwind_pf_set(&w->pf, "$ebp", ebp);
            return;
        }
        if (loc < 4)
            return;
        loc -= 4;
    }
}

static void bpwin_result(struct bpwin *w, struct unwind_regs *caller)
{
    static const struct {
        const char *name;
        int reg;
    } saved[] = {{"$ebx", UNWIND_X86_EBX},
                 {"$esi", UNWIND_X86_ESI},
                 {"$edi", UNWIND_X86_EDI}};
    bool known;
    uint32_t v;

    memset(caller, 0, sizeof(*caller));
    caller->cpu = UNWIND_CPU_X86;
    caller->r[UNWIND_X86_EIP] = bpwin_get(&w->pf, "$eip", NULL);
    caller->r[UNWIND_X86_ESP] = bpwin_get(&w->pf, "$esp", NULL);
    caller->valid = (uint64_t)1 << UNWIND_X86_EIP | (uint64_t)1 << UNWIND_X86_ESP;
    v = bpwin_get(&w->pf, "$ebp", &known);
    if (known) {
        caller->r[UNWIND_X86_EBP] = v;
        caller->valid |= (uint64_t)1 << UNWIND_X86_EBP;
    }
    for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++) {
        if (bpwin_assigned(&w->pf, saved[i].name, &v)) {
            caller->r[saved[i].reg] = v;
            caller->valid |= (uint64_t)1 << saved[i].reg;
        }
    }
}

int unwind_bp_win_step_ex(const struct unwind_bpindex *ix, uint64_t rva,
                          const struct unwind_regs *callee,
                          const struct unwind_win_opts *opts,
                          const struct unwind_memory *mem,
                          struct unwind_regs *caller,
                          enum unwind_win_trust *trust)
{
    struct bpwin w = {.callee = callee, .opts = opts, .mem = mem,
                      .trust = UNWIND_WIN_CFI};
    uint32_t eip, esp, offset = 0;
    const char *prog;
    size_t len;
    bool recover_ebp;

    w.rec = unwind_bp_win_find(ix, rva);
    if (w.rec == NULL)
        return -ENOENT;
    if (callee->cpu != UNWIND_CPU_X86 || !bpwin_known(callee, UNWIND_X86_ESP))
        return -EINVAL;
    bpwin_search_start(&w);
    bpwin_program(&w, &prog, &len, &recover_ebp);
    if (memchr(prog, '@', len) != NULL && bpwin_known(callee, UNWIND_X86_EBP))
        w.ra_search_start = (uint32_t)callee->r[UNWIND_X86_EBP] + 4;
    unwind_pf_init(&w.pf, UNWIND_CPU_X86, mem, NULL);
    if (bpwin_dictionary(&w) != 0)
        return -EINVAL;
    if ((unwind_pf_run(&w.pf, prog, len) != 0 ||
         !bpwin_assigned(&w.pf, "$eip", &eip) ||
         !bpwin_assigned(&w.pf, "$esp", &esp)) &&
        bpwin_scan_esp(&w) != 0)
        return -EINVAL;
    if (bpwin_get(&w.pf, "$eip", NULL) != 0 ||
        bpwin_get(&w.pf, "$ebp", NULL) != 0) {
        bpwin_rescan_ra(&w, &offset);
        if (recover_ebp)
            bpwin_recover_ebp(&w, offset);
    }
    bpwin_result(&w, caller);
    if (trust != NULL)
        *trust = w.trust;
    return 0;
}

int unwind_bp_win_step(const struct unwind_bpindex *ix, uint64_t rva,
                       const struct unwind_regs *callee,
                       bool callee_is_context,
                       const struct unwind_memory *mem,
                       struct unwind_regs *caller)
{
    struct unwind_win_opts opts = {.callee_is_context = callee_is_context,
                                   .allow_scan = true};

    return unwind_bp_win_step_ex(ix, rva, callee, &opts, mem, caller, NULL);
}
