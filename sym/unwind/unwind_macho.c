/* SPDX-License-Identifier: MIT */
/*
 * unwind_macho: macOS compact unwind (__TEXT,__unwind_info).
 *
 * The section maps every function of the image to a 32-bit encoding: a
 * first-level index of pages sorted by function offset (RVA), each page
 * "regular" (offset, encoding pairs) or "compressed" (24-bit offset from
 * the page's base and an 8-bit index into the common or the page's own
 * encodings).  An encoding describes the whole function:
 *   x86_64  RBP_FRAME   caller = [rbp], [rbp+8]; saved rbx/r12-r15 at
 *                       rbp - 8*offset
 *           STACK_IMMD  frameless, stack size in the encoding, saved
 *                       registers as a permutation below the return
 *                       address
 *           STACK_IND   frameless, the stack size read from the function's
 *                       "sub $N, %rsp"
 *   arm64   FRAME       caller fp, lr = [fp], [fp+8]; x19-x28 pairs below
 *                       fp
 *           FRAMELESS   pc = lr, stack size in the encoding
 * and DWARF, which points into __eh_frame: those functions are stepped
 * by the ELF CFI engine (unwind_elf.c) over __eh_frame copied into a
 * small ELF image.  Functions without an entry answer -ENOENT: the walker
 * then goes on to its frame-pointer and scanning rules.  The encodings are
 * Apple's (mach-o/compact_unwind_encoding.h, libunwind's CompactUnwinder.hpp);
 * like that unwinder this one assumes the program counter is past the prologue.
 *
 * Every offset read from the section is checked against it.
 */
#include "symsrvd_config.h"
#include "unwind/unwind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "byteorder.h"
#include "elf/elfdw.h"
#include "macho/macho.h"
#include "objfile/objfile.h"
#include "xalloc.h"

#define UM_MODE(enc) (((enc) >> 24) & 0xf)

#define UM_X86_64_RBP_FRAME 1
#define UM_X86_64_STACK_IMMD 2
#define UM_X86_64_STACK_IND 3
#define UM_X86_64_DWARF 4
#define UM_ARM64_FRAMELESS 2
#define UM_ARM64_DWARF 3
#define UM_ARM64_FRAME 4

#define UM_PAGE_REGULAR 2
#define UM_PAGE_COMPRESSED 3

struct unwind_macho {
    char *path; /* NULL when the map is the caller's */
    struct objfile_map map;
    enum unwind_cpu cpu;
    uint64_t base;     /* __TEXT vmaddr */
    const uint8_t *ui; /* __unwind_info */
    size_t ui_len;
    struct macho_section_info text; /* __text, for STACK_IND */
    struct unwind_elf *eh; /* __eh_frame for DWARF encodings, or NULL */
};

static enum unwind_cpu um_cpu(const char *arch)
{
    if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "x86_64h") == 0)
        return UNWIND_CPU_AMD64;
    if (strcmp(arch, "arm64") == 0 || strcmp(arch, "arm64e") == 0)
        return UNWIND_CPU_ARM64;
    return UNWIND_CPU_UNKNOWN;
}

/* __TEXT,__eh_frame of the slice WANT through the ELF CFI engine, in an
 * image that gives the section its address (its pointers are relative);
 * without one, DWARF encodings stay unanswered. */
static void um_eh_frame(struct unwind_macho *um, const char *want)
{
    struct macho_section_info eh;
    struct elfdw_section sec;
    uint8_t *buf = NULL;
    size_t len = 0;

    if (macho_section_find(&um->map, want, "__TEXT", "__eh_frame", &eh) != 0 ||
        eh.data == NULL)
        return;
    sec = (struct elfdw_section){
        .name = ".eh_frame", .data = eh.data, .size = eh.len, .addr = eh.addr};
    if (elfdw_image_build(&sec, 1, true,
                          um->cpu == UNWIND_CPU_AMD64 ? EM_X86_64 : EM_AARCH64,
                          &buf, &len) != 0) {
        free(buf);
        return;
    }
    if (unwind_elf_open_image(buf, len, um->base, &um->eh) != 0)
        um->eh = NULL;
}

/* Find the sections of the slice WANT of UM->map. */
static int um_init(struct unwind_macho *um, const char *want)
{
    struct macho_section_info ui;
    struct objfile_ident id;
    int rc = macho_identify_slice(&um->map, want, &id);

    if (rc == 0)
        rc = macho_section_find(&um->map, id.debug_id, "__TEXT",
                                "__unwind_info", &ui);
    if (rc == 0 && (ui.data == NULL || ui.len < 28 ||
                    (um->cpu = um_cpu(id.arch)) == UNWIND_CPU_UNKNOWN))
        rc = -ENOENT;
    if (rc != 0)
        return rc;
    um->ui = ui.data;
    um->ui_len = ui.len;
    um->base = ui.text_addr;
    if (macho_section_find(&um->map, id.debug_id, "__TEXT", "__text",
                           &um->text) != 0)
        memset(&um->text, 0, sizeof(um->text));
    um_eh_frame(um, id.debug_id);
    return 0;
}

int unwind_macho_open(const char *path, const char *want,
                      struct unwind_macho **out)
{
    struct unwind_macho *um = xcalloc(1, sizeof(*um));
    int rc;

    *out = NULL;
    um->path = xstrdup(path);
    rc = objfile_map(um->path, &um->map);
    if (rc == 0)
        rc = um_init(um, want);
    if (rc != 0) {
        unwind_macho_free(um);
        return rc;
    }
    *out = um;
    return 0;
}

int unwind_macho_new(const uint8_t *data, size_t len, const char *want,
                     struct unwind_macho **out)
{
    struct unwind_macho *um = xcalloc(1, sizeof(*um));
    int rc;

    um->map.data = data;
    um->map.len = len;
    rc = um_init(um, want);
    if (rc != 0) {
        unwind_macho_free(um);
        um = NULL;
    }
    *out = um;
    return rc;
}

void unwind_macho_free(struct unwind_macho *um)
{
    if (um == NULL)
        return;
    unwind_elf_free(um->eh);
    if (um->path != NULL)
        objfile_unmap(&um->map);
    free(um->path);
    free(um);
}

enum unwind_cpu unwind_macho_cpu(const struct unwind_macho *um)
{
    return um->cpu;
}

/* A u32 at OFF of the section, or false when it lies outside. */
static bool um_u32(const struct unwind_macho *um, uint64_t off, uint32_t *v)
{
    if (off > um->ui_len || um->ui_len - off < 4)
        return false;
    *v = le32(um->ui + off);
    return true;
}

/* The last of N entries of SIZE bytes at OFF whose first u32 (plus ADD,
 * masked by MASK) is at most RVA; N when none. */
static uint32_t um_search(const struct unwind_macho *um, uint64_t off,
                          uint32_t n, uint32_t size, uint32_t mask,
                          uint64_t add, uint64_t rva)
{
    uint32_t lo = 0, hi = n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2, v = 0;

        um_u32(um, off + (uint64_t)mid * size, &v);
        if (add + (v & mask) <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? n : lo - 1;
}

/* The entry of a regular page at PAGE. */
static int um_regular(const struct unwind_macho *um, uint64_t page,
                      uint64_t rva, uint64_t *func, uint32_t *enc)
{
    uint32_t head = 0, count, k, off;

    if (!um_u32(um, page + 4, &head))
        return -EINVAL;
    off = head & 0xffff;
    count = head >> 16;
    if (count > 0 && !um_u32(um, page + off + (uint64_t)count * 8 - 4, &k))
        return -EINVAL;
    k = um_search(um, page + off, count, 8, UINT32_MAX, 0, rva);
    if (k == count)
        return -ENOENT;
    um_u32(um, page + off + (uint64_t)k * 8, &head);
    *func = head;
    um_u32(um, page + off + (uint64_t)k * 8 + 4, enc);
    return 0;
}

/* The entry of a compressed page at PAGE whose functions are offsets from
 * BASE. */
static int um_compressed(const struct unwind_macho *um, uint64_t page,
                         uint64_t base, uint64_t rva, uint64_t *func,
                         uint32_t *enc)
{
    uint32_t head, encs, e = 0, k, ncommon, common, idx, count, off;

    if (!um_u32(um, page + 4, &head) || !um_u32(um, page + 8, &encs) ||
        !um_u32(um, 4, &common) || !um_u32(um, 8, &ncommon))
        return -EINVAL;
    off = head & 0xffff;
    count = head >> 16;
    if (count > 0 && !um_u32(um, page + off + (uint64_t)(count - 1) * 4, &e))
        return -EINVAL;
    k = um_search(um, page + off, count, 4, 0xffffff, base, rva);
    if (k == count)
        return -ENOENT;
    um_u32(um, page + off + (uint64_t)k * 4, &e);
    *func = base + (e & 0xffffff);
    idx = e >> 24;
    if (idx < ncommon)
        return um_u32(um, common + (uint64_t)idx * 4, enc) ? 0 : -EINVAL;
    idx -= ncommon;
    if (idx >= encs >> 16)
        return -EINVAL;
    return um_u32(um, page + (encs & 0xffff) + (uint64_t)idx * 4, enc)
               ? 0
               : -EINVAL;
}

int unwind_macho_lookup(const struct unwind_macho *um, uint64_t rva,
                        uint64_t *func, uint32_t *encoding)
{
    uint32_t version, index, count, k, fn = 0, page = 0, kind;

    if (!um_u32(um, 0, &version) || version != 1 || !um_u32(um, 20, &index) ||
        !um_u32(um, 24, &count) || count < 2 ||
        !um_u32(um, index + (uint64_t)(count - 1) * 12 + 8, &k))
        return -EINVAL;
    /* The last index entry only marks the end of the code. */
    um_u32(um, index + (uint64_t)(count - 1) * 12, &fn);
    if (rva >= fn)
        return -ENOENT;
    k = um_search(um, index, count - 1, 12, UINT32_MAX, 0, rva);
    if (k == count - 1)
        return -ENOENT;
    um_u32(um, index + (uint64_t)k * 12, &fn);
    um_u32(um, index + (uint64_t)k * 12 + 4, &page);
    if (page == 0 || !um_u32(um, page, &kind))
        return -ENOENT;
    if (kind == UM_PAGE_REGULAR)
        return um_regular(um, page, rva, func, encoding);
    if (kind == UM_PAGE_COMPRESSED)
        return um_compressed(um, page, fn, rva, func, encoding);
    return -EINVAL;
}

/* --- x86_64 ------------------------------------------------------------- */

static const int um_x86_64_regs[7] = {
    -1, UNWIND_AMD64_RBX, 12, 13, 14, UNWIND_AMD64_R15, UNWIND_AMD64_RBP};

static int um_load(const struct unwind_memory *mem, uint64_t addr,
                   struct unwind_regs *caller, int reg)
{
    uint64_t v;

    if (unwind_read_word(mem, UNWIND_CPU_AMD64, addr, &v) != 0)
        return -EINVAL;
    caller->r[reg] = v;
    caller->valid |= (uint64_t)1 << reg;
    return 0;
}

static bool um_known(const struct unwind_regs *r, int reg)
{
    return (r->valid >> reg) & 1;
}

static int um_x86_64_rbp(uint32_t enc, const struct unwind_regs *callee,
                         const struct unwind_memory *mem,
                         struct unwind_regs *caller)
{
    uint64_t rbp = callee->r[UNWIND_AMD64_RBP];
    uint64_t loc = rbp - 8 * ((enc >> 16) & 0xff);
    int rc;

    if (!um_known(callee, UNWIND_AMD64_RBP))
        return -EINVAL;
    for (int i = 0; i < 5; i++, loc += 8) {
        unsigned r = (enc >> (3 * i)) & 7;

        if (r != 0 && r < 6 && um_load(mem, loc, caller, um_x86_64_regs[r]))
            return -EINVAL;
    }
    rc = um_load(mem, rbp + 8, caller, UNWIND_AMD64_RIP);
    if (rc == 0)
        rc = um_load(mem, rbp, caller, UNWIND_AMD64_RBP);
    caller->r[UNWIND_AMD64_RSP] = rbp + 16;
    caller->valid |= (uint64_t)1 << UNWIND_AMD64_RSP;
    return rc;
}

/* The registers of a frameless function's permutation, in the order
 * they were pushed (libunwind's renumbering). */
static void um_permutation(uint32_t count, uint32_t perm, int saved[6])
{
    static const uint32_t div[7][5] = {{0},
                                       {1},
                                       {5, 1},
                                       {20, 4, 1},
                                       {60, 12, 3, 1},
                                       {120, 24, 6, 2, 1},
                                       {120, 24, 6, 2, 1}};
    uint32_t un[6] = {0};
    bool used[7] = {false};

    for (uint32_t i = 0; i < count && i < 5; i++) {
        un[i] = perm / div[count][i];
        perm -= un[i] * div[count][i];
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t renum = 0;

        saved[i] = 0;
        for (int u = 1; u < 7; u++) {
            if (used[u])
                continue;
            if (renum++ == un[i]) {
                saved[i] = u;
                used[u] = true;
                break;
            }
        }
    }
}

/* STACK_IND: the stack size is the 32-bit immediate at a byte offset of
 * the function's "sub $N, %rsp". */
static int um_x86_64_ind_size(const struct unwind_macho *um, uint64_t func,
                              uint32_t enc, uint64_t *size)
{
    uint64_t at = um->base + func + ((enc >> 16) & 0xff);

    if (um->text.data == NULL || at < um->text.addr ||
        at - um->text.addr > um->text.len ||
        um->text.len - (at - um->text.addr) < 4)
        return -ENOENT;
    *size = le32(um->text.data + (at - um->text.addr)) +
            8 * (uint64_t)((enc >> 13) & 7);
    return 0;
}

static int um_x86_64_frameless(const struct unwind_macho *um, uint64_t func,
                               uint32_t enc, const struct unwind_regs *callee,
                               const struct unwind_memory *mem,
                               struct unwind_regs *caller)
{
    uint64_t rsp = callee->r[UNWIND_AMD64_RSP], size, loc;
    uint32_t count = (enc >> 10) & 7;
    int saved[6];

    if (!um_known(callee, UNWIND_AMD64_RSP) || count > 6)
        return -EINVAL;
    if (UM_MODE(enc) == UM_X86_64_STACK_IMMD)
        size = 8 * (uint64_t)((enc >> 16) & 0xff);
    else if (um_x86_64_ind_size(um, func, enc, &size) != 0)
        return -ENOENT;
    um_permutation(count, enc & 0x3ff, saved);
    loc = rsp + size - 8 - 8 * (uint64_t)count;
    for (uint32_t i = 0; i < count; i++, loc += 8)
        if (saved[i] != 0 &&
            um_load(mem, loc, caller, um_x86_64_regs[saved[i]]))
            return -EINVAL;
    caller->r[UNWIND_AMD64_RSP] = rsp + size;
    caller->valid |= (uint64_t)1 << UNWIND_AMD64_RSP;
    return um_load(mem, rsp + size - 8, caller, UNWIND_AMD64_RIP);
}

/* --- arm64 -------------------------------------------------------------- */

/* x19..x28 saved in pairs downward from LOC, as the flags say. */
static int um_arm64_pairs(uint32_t enc, uint64_t loc,
                          const struct unwind_memory *mem,
                          struct unwind_regs *caller)
{
    for (int pair = 0; pair < 5; pair++) {
        if (!(enc & (1u << pair)))
            continue;
        for (int r = 0; r < 2; r++, loc -= 8) {
            uint64_t v;

            if (unwind_read_word(mem, UNWIND_CPU_ARM64, loc, &v) != 0)
                return -EINVAL;
            caller->r[19 + 2 * pair + r] = v;
            caller->valid |= (uint64_t)1 << (19 + 2 * pair + r);
        }
    }
    return 0;
}

static int um_arm64(uint32_t enc, const struct unwind_regs *callee,
                    const struct unwind_memory *mem, struct unwind_regs *caller)
{
    uint64_t fp = callee->r[UNWIND_ARM64_FP], sp = callee->r[UNWIND_ARM64_SP];
    uint64_t size = 16 * (uint64_t)((enc >> 12) & 0xfff), v;

    if (UM_MODE(enc) == UM_ARM64_FRAMELESS) {
        if (!um_known(callee, UNWIND_ARM64_SP) ||
            !um_known(callee, UNWIND_ARM64_LR) ||
            um_arm64_pairs(enc, sp + size - 8, mem, caller) != 0)
            return -EINVAL;
        caller->r[UNWIND_ARM64_SP] = sp + size;
        caller->r[UNWIND_ARM64_PC] = callee->r[UNWIND_ARM64_LR];
    } else {
        if (!um_known(callee, UNWIND_ARM64_FP) ||
            um_arm64_pairs(enc, fp - 8, mem, caller) != 0 ||
            unwind_read_word(mem, UNWIND_CPU_ARM64, fp + 8, &v) != 0)
            return -EINVAL;
        caller->r[UNWIND_ARM64_PC] = v;
        if (unwind_read_word(mem, UNWIND_CPU_ARM64, fp, &v) != 0)
            return -EINVAL;
        caller->r[UNWIND_ARM64_FP] = v;
        caller->r[UNWIND_ARM64_SP] = fp + 16;
        caller->valid |= (uint64_t)1 << UNWIND_ARM64_FP;
    }
    caller->valid |= (uint64_t)1 << UNWIND_ARM64_SP | (uint64_t)1
                                                          << UNWIND_ARM64_PC;
    return 0;
}

int unwind_macho_step(const struct unwind_macho *um, uint64_t rva,
                      const struct unwind_regs *callee,
                      const struct unwind_memory *mem,
                      struct unwind_regs *caller)
{
    uint64_t func;
    uint32_t enc;
    int rc = unwind_macho_lookup(um, rva, &func, &enc);

    if (rc != 0)
        return rc;
    caller->cpu = um->cpu;
    if (um->eh != NULL &&
        UM_MODE(enc) ==
            (um->cpu == UNWIND_CPU_AMD64 ? UM_X86_64_DWARF : UM_ARM64_DWARF))
        return unwind_elf_step(um->eh, rva, callee, mem, caller);
    if (um->cpu == UNWIND_CPU_AMD64) {
        if (UM_MODE(enc) == UM_X86_64_RBP_FRAME)
            return um_x86_64_rbp(enc, callee, mem, caller);
        if (UM_MODE(enc) == UM_X86_64_STACK_IMMD ||
            UM_MODE(enc) == UM_X86_64_STACK_IND)
            return um_x86_64_frameless(um, func, enc, callee, mem, caller);
    } else if (UM_MODE(enc) == UM_ARM64_FRAMELESS ||
               UM_MODE(enc) == UM_ARM64_FRAME) {
        return um_arm64(enc, callee, mem, caller);
    }
    return -ENOENT; /* no unwind info, or DWARF without __eh_frame */
}
