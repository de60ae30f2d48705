/* SPDX-License-Identifier: MIT */
/*
 * unwind_pe: amd64 unwinding from a PE32+ image's exception directory
 * (.pdata RUNTIME_FUNCTIONs and the UNWIND_INFO they point at), the way
 * the Windows unwinder (RtlVirtualUnwind) does it.
 *
 * DESIGN.  The RUNTIME_FUNCTIONs are copied and sorted once; everything
 * else is read from the file on each step, through one bounds-checked
 * RVA translation (pe_ptr).  A step:
 *  1. finds the function (following indirect entries, whose unwind-data
 *     RVA has its low bit set and names another RUNTIME_FUNCTION);
 *  2. fixes the frame base used by SAVE_NONVOL: the frame register minus
 *     16 * FrameOffset once SET_FPREG has run, else %rsp;
 *  3. past the prolog, reads the code at the address: if it is an epilog
 *     (add rsp / lea rsp, [fp + d]; pops; ret or a jmp out of the
 *     function), the rest of the epilog is emulated and that is all;
 *  4. otherwise undoes the unwind codes whose instruction has already run
 *     (CodeOffset <= offset in the prolog), then every code of each
 *     chained UNWIND_INFO, and pops the return address (or takes %rip and
 *     %rsp from a machine frame).
 * Unwind codes name registers in Windows order (rax rcx rdx rbx rsp rbp
 * rsi rdi r8..r15); they are mapped to DWARF numbers on use.  XMM saves
 * are skipped: the register model has no XMM registers.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"
#include "byteorder.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PE_MAX_CHAIN 32
#define PE_EPILOG_MAX 32 /* bytes of code read for epilog detection */

enum {
    UWOP_PUSH_NONVOL = 0,
    UWOP_ALLOC_LARGE = 1,
    UWOP_ALLOC_SMALL = 2,
    UWOP_SET_FPREG = 3,
    UWOP_SAVE_NONVOL = 4,
    UWOP_SAVE_NONVOL_FAR = 5,
    UWOP_EPILOG = 6, /* version 2; UWOP_SAVE_XMM in early version 1 */
    UWOP_SPARE = 7,  /* UWOP_SAVE_XMM_FAR in early version 1 */
    UWOP_SAVE_XMM128 = 8,
    UWOP_SAVE_XMM128_FAR = 9,
    UWOP_PUSH_MACHFRAME = 10,
};

#define UNW_FLAG_CHAININFO 0x4

struct pe_section {
    uint32_t va, size, off; /* SIZE: raw bytes present in the file */
};

struct pe_rf {
    uint32_t begin, end, info;
};

struct unwind_pe {
    const uint8_t *data;
    size_t len;
    struct pe_section *sec;
    size_t nsec;
    struct pe_rf *rf;
    size_t nrf;
};

/* The LEN bytes at RVA, or NULL when any of them is not in the file. */
static const uint8_t *pe_ptr(const struct unwind_pe *pu, uint64_t rva,
                             size_t len)
{
    for (size_t i = 0; i < pu->nsec; i++) {
        const struct pe_section *s = &pu->sec[i];

        if (rva >= s->va && rva - s->va <= s->size &&
            len <= s->size - (rva - s->va))
            return pu->data + s->off + (rva - s->va);
    }
    return NULL;
}

/* How many of the MAX bytes at RVA the file has (0 if none). */
static size_t pe_avail(const struct unwind_pe *pu, uint64_t rva, size_t max)
{
    while (max > 0 && pe_ptr(pu, rva, max) == NULL)
        max--;
    return max;
}

/* --- opening --------------------------------------------------------- */

static int pe_sections(struct unwind_pe *pu, size_t at, size_t n)
{
    if (at > pu->len || n > (pu->len - at) / 40)
        return -EINVAL;
    pu->sec = xcalloc(n > 0 ? n : 1, sizeof(*pu->sec));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = pu->data + at + 40 * i;
        uint32_t raw = le32(h + 16), off = le32(h + 20);

        if (off > pu->len)
            continue; /* nothing of it in the file */
        if (raw > pu->len - off)
            raw = (uint32_t)(pu->len - off);
        pu->sec[pu->nsec].va = le32(h + 12);
        pu->sec[pu->nsec].size = raw;
        pu->sec[pu->nsec].off = off;
        pu->nsec++;
    }
    return 0;
}

static int pe_rf_cmp(const void *a, const void *b)
{
    const struct pe_rf *x = a, *y = b;

    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int pe_pdata(struct unwind_pe *pu, uint32_t rva, uint32_t size)
{
    const uint8_t *p = pe_ptr(pu, rva, size);
    size_t n = size / 12;

    if (p == NULL)
        return -EINVAL;
    pu->rf = xcalloc(n > 0 ? n : 1, sizeof(*pu->rf));
    for (size_t i = 0; i < n; i++) {
        pu->rf[i].begin = le32(p + 12 * i);
        pu->rf[i].end = le32(p + 12 * i + 4);
        pu->rf[i].info = le32(p + 12 * i + 8);
    }
    pu->nrf = n;
    qsort(pu->rf, n, sizeof(*pu->rf), pe_rf_cmp);
    return 0;
}

static int pe_headers(struct unwind_pe *pu)
{
    const uint8_t *d = pu->data;
    size_t pe, opt, optsize;
    uint32_t nrva;

    if (pu->len < 0x40 || d[0] != 'M' || d[1] != 'Z')
        return -ENOENT;
    pe = le32(d + 0x3c);
    if (pe > pu->len || pu->len - pe < 24 || memcmp(d + pe, "PE\0\0", 4) != 0)
        return -ENOENT;
    opt = pe + 24;
    optsize = le16(d + pe + 20);
    if (le16(d + pe + 4) != 0x8664 || optsize < 112 ||
        pu->len - opt < optsize || le16(d + opt) != 0x20b)
        return -ENOENT;
    nrva = le32(d + opt + 108);
    if (nrva <= 3 || optsize < 112 + 4 * 8)
        return -ENOENT;
    if (pe_sections(pu, opt + optsize, le16(d + pe + 6)) != 0)
        return -EINVAL;
    if (le32(d + opt + 112 + 3 * 8 + 4) == 0)
        return -ENOENT;
    return pe_pdata(pu, le32(d + opt + 112 + 3 * 8),
                    le32(d + opt + 112 + 3 * 8 + 4));
}

int unwind_pe_open(const uint8_t *data, size_t len, struct unwind_pe **out)
{
    struct unwind_pe *pu = xcalloc(1, sizeof(*pu));
    int rc;

    pu->data = data;
    pu->len = len;
    *out = NULL;
    rc = pe_headers(pu);
    if (rc != 0) {
        unwind_pe_free(pu);
        return rc;
    }
    *out = pu;
    return 0;
}

void unwind_pe_free(struct unwind_pe *pu)
{
    if (pu == NULL)
        return;
    free(pu->sec);
    free(pu->rf);
    free(pu);
}

/* --- the unwind state ------------------------------------------------ */

/* Windows register numbers (unwind codes) to DWARF numbers (unwind.h). */
static const int pe_dwarf[16] = {0, 2, 1, 3, 7, 6, 4, 5,
                                 8, 9, 10, 11, 12, 13, 14, 15};

struct pe_ctx {
    struct unwind_regs r;
    uint64_t restored; /* registers a code recovered */
    const struct unwind_memory *mem;
    uint64_t frame;  /* the frame base SAVE_NONVOL offsets from */
    bool frame_known; /* false: it needs a frame register we lack */
    bool machframe;  /* %rip and %rsp came from a machine frame */
};

static bool pe_known(const struct pe_ctx *c, int reg)
{
    return (c->r.valid >> reg) & 1;
}

static int pe_load(struct pe_ctx *c, int reg, uint64_t addr)
{
    uint64_t v;

    if (unwind_read_word(c->mem, UNWIND_CPU_AMD64, addr, &v) != 0)
        return -EINVAL;
    c->r.r[reg] = v;
    c->r.valid |= (uint64_t)1 << reg;
    c->restored |= (uint64_t)1 << reg;
    return 0;
}

static int pe_pop(struct pe_ctx *c, int reg)
{
    uint64_t sp = c->r.r[UNWIND_AMD64_RSP];

    if (pe_load(c, reg, sp) != 0)
        return -EINVAL;
    c->r.r[UNWIND_AMD64_RSP] = sp + 8;
    return 0;
}

/* --- UNWIND_INFO ----------------------------------------------------- */

struct pe_info {
    uint8_t version, flags, prolog, ncodes, fpreg, fpoff;
    const uint8_t *codes; /* NCODES two-byte slots */
    uint32_t rva;
};

static int pe_info_read(const struct unwind_pe *pu, uint32_t rva,
                        struct pe_info *ui)
{
    const uint8_t *h = pe_ptr(pu, rva, 4);

    if (h == NULL)
        return -EINVAL;
    ui->version = h[0] & 7;
    ui->flags = h[0] >> 3;
    ui->prolog = h[1];
    ui->ncodes = h[2];
    ui->fpreg = h[3] & 15;
    ui->fpoff = h[3] >> 4;
    ui->rva = rva;
    ui->codes = pe_ptr(pu, (uint64_t)rva + 4, 2u * ui->ncodes);
    if ((ui->version != 1 && ui->version != 2) || ui->codes == NULL)
        return -EINVAL;
    return 0;
}

/* Slots used by the code at I, or 0 for an unknown operation. */
static unsigned pe_slots(const struct pe_info *ui, unsigned i)
{
    unsigned op = ui->codes[2 * i + 1] & 15, info = ui->codes[2 * i + 1] >> 4;

    switch (op) {
    case UWOP_PUSH_NONVOL:
    case UWOP_ALLOC_SMALL:
    case UWOP_SET_FPREG:
    case UWOP_PUSH_MACHFRAME:
        return 1;
    case UWOP_ALLOC_LARGE:
        return info == 0 ? 2 : 3;
    case UWOP_SAVE_NONVOL:
    case UWOP_SAVE_XMM128:
    case UWOP_EPILOG:
        return 2;
    case UWOP_SAVE_NONVOL_FAR:
    case UWOP_SAVE_XMM128_FAR:
    case UWOP_SPARE:
        return 3;
    default:
        return 0;
    }
}

static uint32_t pe_slot16(const struct pe_info *ui, unsigned i)
{
    return le16(ui->codes + 2 * i);
}

/* Undo the code at I (whose slots are all inside the array). */
static int pe_undo(struct pe_ctx *c, const struct pe_info *ui, unsigned i)
{
    unsigned op = ui->codes[2 * i + 1] & 15, info = ui->codes[2 * i + 1] >> 4;
    uint64_t *sp = &c->r.r[UNWIND_AMD64_RSP];
    int fp;

    switch (op) {
    case UWOP_PUSH_NONVOL:
        return pe_pop(c, pe_dwarf[info]);
    case UWOP_ALLOC_LARGE:
        *sp += info == 0 ? 8u * pe_slot16(ui, i + 1)
                         : (pe_slot16(ui, i + 1) | pe_slot16(ui, i + 2) << 16);
        return 0;
    case UWOP_ALLOC_SMALL:
        *sp += 8u * info + 8;
        return 0;
    case UWOP_SET_FPREG:
        fp = pe_dwarf[ui->fpreg];
        if (ui->fpreg == 0 || !pe_known(c, fp))
            return -EINVAL;
        *sp = c->r.r[fp] - 16u * ui->fpoff;
        return 0;
    case UWOP_SAVE_NONVOL:
        if (!c->frame_known)
            return -EINVAL;
        return pe_load(c, pe_dwarf[info], c->frame + 8u * pe_slot16(ui, i + 1));
    case UWOP_SAVE_NONVOL_FAR:
        if (!c->frame_known)
            return -EINVAL;
        return pe_load(c, pe_dwarf[info],
                       c->frame + (pe_slot16(ui, i + 1) |
                                   pe_slot16(ui, i + 2) << 16));
    case UWOP_PUSH_MACHFRAME:
        /* An error code sits below the frame when INFO is 1; the frame is
         * rip, cs, eflags, rsp, ss. */
        *sp += 8u * (info != 0);
        if (pe_load(c, UNWIND_AMD64_RIP, *sp) != 0 ||
            pe_load(c, UNWIND_AMD64_RSP, *sp + 24) != 0)
            return -EINVAL;
        c->machframe = true;
        return 0;
    default: /* XMM saves and epilog descriptors change no GPR */
        return 0;
    }
}

/* Undo every code of UI whose CodeOffset <= OFFSET. */
static int pe_undo_codes(struct pe_ctx *c, const struct pe_info *ui,
                         uint32_t offset)
{
    unsigned i = 0;

    while (i < ui->ncodes && !c->machframe) {
        unsigned n = pe_slots(ui, i);

        if (n == 0 || n > (unsigned)ui->ncodes - i)
            return -EINVAL;
        if (ui->codes[2 * i] <= offset && pe_undo(c, ui, i) != 0)
            return -EINVAL;
        i += n;
    }
    return 0;
}

/* The RUNTIME_FUNCTION after the codes of a CHAININFO UNWIND_INFO. */
static int pe_chained(const struct unwind_pe *pu, const struct pe_info *ui,
                      struct pe_rf *rf)
{
    uint64_t at = (uint64_t)ui->rva + 4 + 2u * ((ui->ncodes + 1u) & ~1u);
    const uint8_t *p = pe_ptr(pu, at, 12);

    if (p == NULL)
        return -EINVAL;
    rf->begin = le32(p);
    rf->end = le32(p + 4);
    rf->info = le32(p + 8);
    return 0;
}

/* --- frame base and epilogs ------------------------------------------ */

/* Only SAVE_NONVOL needs the frame base, so a missing frame register is
 * an error only when one is undone (an epilog needs none). */
static void pe_frame_base(struct pe_ctx *c, const struct pe_info *ui,
                          uint32_t offset)
{
    bool fp_set = false;
    int fp = pe_dwarf[ui->fpreg];

    c->frame = c->r.r[UNWIND_AMD64_RSP];
    c->frame_known = true;
    if (ui->fpreg == 0)
        return;
    if (offset >= ui->prolog || (ui->flags & UNW_FLAG_CHAININFO)) {
        fp_set = true;
    } else {
        for (unsigned i = 0; i < ui->ncodes; i++) {
            if ((ui->codes[2 * i + 1] & 15) == UWOP_SET_FPREG &&
                ui->codes[2 * i] <= offset)
                fp_set = true;
        }
    }
    if (!fp_set)
        return;
    c->frame_known = pe_known(c, fp);
    c->frame = c->r.r[fp] - 16u * ui->fpoff;
}

/* The stack adjustment an epilog starts with, at P[0..N): its length, or
 * 0 when there is none (or -1 when it is not one an epilog may use). */
static int pe_epilog_adjust(struct pe_ctx *c, const struct pe_info *ui,
                            const uint8_t *p, size_t n, uint64_t *new_sp)
{
    uint64_t sp = c->r.r[UNWIND_AMD64_RSP];

    if (n >= 4 && p[0] == 0x48 && p[1] == 0x83 && p[2] == 0xc4) {
        *new_sp = sp + (uint64_t)(int64_t)(int8_t)p[3];
        return 4;
    }
    if (n >= 7 && p[0] == 0x48 && p[1] == 0x81 && p[2] == 0xc4) {
        *new_sp = sp + (uint64_t)(int64_t)(int32_t)le32(p + 3);
        return 7;
    }
    if (n >= 4 && (p[0] & 0xfe) == 0x48 && p[1] == 0x8d &&
        ((p[2] >> 3) & 7) == 4 && (p[2] >> 6) != 0 && (p[2] >> 6) != 3) {
        unsigned base = (unsigned)(p[0] & 1) << 3 | (p[2] & 7);
        int mod = p[2] >> 6;
        int64_t disp;

        if (ui->fpreg == 0 || base != ui->fpreg || (p[2] & 7) == 4)
            return -1;
        if (mod == 1) {
            disp = (int8_t)p[3];
        } else {
            if (n < 7)
                return -1;
            disp = (int32_t)le32(p + 3);
        }
        if (!pe_known(c, pe_dwarf[base]))
            return -1;
        *new_sp = c->r.r[pe_dwarf[base]] + (uint64_t)disp;
        return mod == 1 ? 4 : 7;
    }
    *new_sp = sp;
    return 0;
}

/* Whether P[0..N) at RVA is the end of an epilog: ret, or a jmp that
 * leaves the function (a tail call). */
static bool pe_epilog_end(const uint8_t *p, size_t n, uint32_t rva,
                          const struct pe_rf *rf)
{
    int64_t target;

    if (n >= 1 && p[0] == 0xc3)
        return true;
    if (n >= 2 && p[0] == 0xf3 && p[1] == 0xc3)
        return true;
    if (n >= 5 && p[0] == 0xe9) {
        target = (int64_t)rva + 5 + (int32_t)le32(p + 1);
        return target < rf->begin || target >= rf->end;
    }
    if (n >= 2 && p[0] == 0xeb) {
        target = (int64_t)rva + 2 + (int8_t)p[1];
        return target < rf->begin || target >= rf->end;
    }
    /* rex.w jmp qword ptr [rip + disp32] */
    return n >= 3 && p[0] == 0x48 && p[1] == 0xff && p[2] == 0x25;
}

/* If RVA is inside an epilog, emulate the rest of it into C: 1; else 0.
 * The pops are only decoded here, and applied once the epilog's end has
 * been seen. */
static int pe_epilog(struct pe_ctx *c, const struct unwind_pe *pu,
                     const struct pe_info *ui, const struct pe_rf *rf,
                     uint64_t rva)
{
    size_t n = pe_avail(pu, rva, PE_EPILOG_MAX), at;
    const uint8_t *p = n > 0 ? pe_ptr(pu, rva, n) : NULL;
    int pops[16], npops = 0, adj;
    uint64_t sp;

    if (p == NULL)
        return 0;
    adj = pe_epilog_adjust(c, ui, p, n, &sp);
    if (adj < 0)
        return 0;
    at = (size_t)adj;
    while (npops < 16) {
        if (at < n && p[at] >= 0x58 && p[at] <= 0x5f) {
            pops[npops++] = pe_dwarf[p[at] - 0x58];
            at += 1;
        } else if (at + 1 < n && p[at] == 0x41 && p[at + 1] >= 0x58 &&
                   p[at + 1] <= 0x5f) {
            pops[npops++] = pe_dwarf[8 + p[at + 1] - 0x58];
            at += 2;
        } else {
            break;
        }
    }
    if (!pe_epilog_end(p + at, n - at, (uint32_t)(rva + at), rf))
        return 0;
    c->r.r[UNWIND_AMD64_RSP] = sp;
    for (int i = 0; i < npops; i++) {
        if (pe_pop(c, pops[i]) != 0)
            return -EINVAL;
    }
    /* ret, or a tail call that returns to our caller: same address */
    return pe_pop(c, UNWIND_AMD64_RIP) != 0 ? -EINVAL : 1;
}

/* --- stepping -------------------------------------------------------- */

static const struct pe_rf *pe_find(const struct unwind_pe *pu, uint64_t rva)
{
    size_t lo = 0, hi = pu->nrf;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (pu->rf[mid].begin <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || rva >= pu->rf[lo - 1].end)
        return NULL;
    return &pu->rf[lo - 1];
}

/* Follow indirect entries (unwind data RVA with bit 0 set). */
static int pe_resolve(const struct unwind_pe *pu, struct pe_rf *rf)
{
    for (int i = 0; i < PE_MAX_CHAIN && (rf->info & 1); i++) {
        const uint8_t *p = pe_ptr(pu, rf->info & ~1u, 12);

        if (p == NULL)
            return -EINVAL;
        rf->info = le32(p + 8);
    }
    return (rf->info & 1) ? -EINVAL : 0;
}

static int pe_unwind_chain(struct pe_ctx *c, const struct unwind_pe *pu,
                           struct pe_info *ui)
{
    struct pe_rf rf;

    for (int depth = 0; (ui->flags & UNW_FLAG_CHAININFO) && !c->machframe;
         depth++) {
        if (depth == PE_MAX_CHAIN || pe_chained(pu, ui, &rf) != 0 ||
            pe_resolve(pu, &rf) != 0 || pe_info_read(pu, rf.info, ui) != 0 ||
            pe_undo_codes(c, ui, UINT32_MAX) != 0)
            return -EINVAL;
    }
    return 0;
}

int unwind_pe_step(const struct unwind_pe *pu, uint64_t rva,
                   const struct unwind_regs *callee,
                   const struct unwind_memory *mem,
                   struct unwind_regs *caller)
{
    const struct pe_rf *found = pu != NULL ? pe_find(pu, rva) : NULL;
    struct pe_ctx c = {.r = *callee, .mem = mem};
    struct pe_rf rf;
    struct pe_info ui;
    uint32_t offset;
    int rc;

    if (found == NULL)
        return -ENOENT;
    if (callee->cpu != UNWIND_CPU_AMD64 || !pe_known(&c, UNWIND_AMD64_RSP))
        return -EINVAL;
    rf = *found;
    offset = (uint32_t)(rva - rf.begin);
    if (pe_resolve(pu, &rf) != 0 || pe_info_read(pu, rf.info, &ui) != 0)
        return -EINVAL;
    pe_frame_base(&c, &ui, offset);
    rc = offset >= ui.prolog ? pe_epilog(&c, pu, &ui, found, rva) : 0;
    if (rc < 0)
        return -EINVAL;
    if (rc == 0) {
        if (pe_undo_codes(&c, &ui, offset) != 0 ||
            pe_unwind_chain(&c, pu, &ui) != 0)
            return -EINVAL;
        if (!c.machframe && pe_pop(&c, UNWIND_AMD64_RIP) != 0)
            return -EINVAL;
    }
    memset(caller, 0, sizeof(*caller));
    caller->cpu = UNWIND_CPU_AMD64;
    caller->valid = c.restored | (uint64_t)1 << UNWIND_AMD64_RSP |
                    (uint64_t)1 << UNWIND_AMD64_RIP;
    for (int i = 0; i < UNWIND_NREGS; i++) {
        if ((caller->valid >> i) & 1)
            caller->r[i] = c.r.r[i];
    }
    return 0;
}
