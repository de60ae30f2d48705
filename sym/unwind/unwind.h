/* SPDX-License-Identifier: MIT */
/*
 * unwind: the register model every stack-walking piece shares, and the
 * rule engines that recover a caller's registers from a callee's.
 *
 * Registers are numbered as DWARF numbers them for each architecture, so
 * that libdw's CFI, Breakpad's STACK CFI names and PE unwind codes all
 * land in one array:
 *   x86    0 eax 1 ecx 2 edx 3 ebx 4 esp 5 ebp 6 esi 7 edi 8 eip 9 eflags
 *   amd64  0 rax 1 rdx 2 rcx 3 rbx 4 rsi 5 rdi 6 rbp 7 rsp 8..15 r8..r15
 *          16 rip
 *   arm    0..15 r0..r15 (11 fp, 13 sp, 14 lr, 15 pc)
 *   arm64  0..30 x0..x30 (29 fp, 30 lr), 31 sp, 32 pc
 * A register is known only when its bit is set in VALID: a value recovered
 * from nowhere is never invented.
 *
 * MEMORY.  The engines read the crashed process's memory only through a
 * struct unwind_memory callback (the minidump's memory ranges, or a test's
 * buffer), so they never touch an address they were not given.
 *
 * RESULTS.  A step fills *CALLER with the registers it recovered: always
 * the program counter (the return address, not adjusted) and the stack
 * pointer (the CFA); other registers only where a rule says so.  The
 * walker then carries over the callee-saved registers no rule mentions
 * (unwind_callee_saved()).  Steps return 0, -ENOENT when they have no
 * record for the address, or -EINVAL when the record cannot be evaluated
 * (bad syntax, a register or memory word it needs is unknown).
 *
 * THREADS.  No global state; indexes are immutable once built and may be
 * shared by threads.
 */
#ifndef SYMSRVD_UNWIND_H
#define SYMSRVD_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct breakpad_stack;

enum unwind_cpu {
    UNWIND_CPU_UNKNOWN = 0,
    UNWIND_CPU_X86,
    UNWIND_CPU_AMD64,
    UNWIND_CPU_ARM,
    UNWIND_CPU_ARM64,
};

enum {
    UNWIND_X86_EAX = 0, UNWIND_X86_ECX, UNWIND_X86_EDX, UNWIND_X86_EBX,
    UNWIND_X86_ESP, UNWIND_X86_EBP, UNWIND_X86_ESI, UNWIND_X86_EDI,
    UNWIND_X86_EIP, UNWIND_X86_EFLAGS,
};
enum {
    UNWIND_AMD64_RAX = 0, UNWIND_AMD64_RDX, UNWIND_AMD64_RCX,
    UNWIND_AMD64_RBX, UNWIND_AMD64_RSI, UNWIND_AMD64_RDI, UNWIND_AMD64_RBP,
    UNWIND_AMD64_RSP, UNWIND_AMD64_R8, UNWIND_AMD64_R15 = 15,
    UNWIND_AMD64_RIP = 16,
};
enum { UNWIND_ARM_FP = 11, UNWIND_ARM_SP = 13, UNWIND_ARM_LR = 14,
       UNWIND_ARM_PC = 15 };
enum { UNWIND_ARM64_FP = 29, UNWIND_ARM64_LR = 30, UNWIND_ARM64_SP = 31,
       UNWIND_ARM64_PC = 32 };

#define UNWIND_NREGS 33

struct unwind_regs {
    enum unwind_cpu cpu;
    uint64_t valid;            /* bit N set: r[N] is known */
    uint64_t r[UNWIND_NREGS];  /* 32-bit CPUs use the low half */
};

/* How the engines read the crashed process's memory.  READ copies LEN
 * bytes at ADDR into BUF and returns 0, or -1 when any byte of the range
 * is not in the dump.  IS_CODE (may be NULL) says whether ADDR lies in the
 * executable part of a loaded module; stack scans use it to accept a
 * candidate return address. */
struct unwind_memory {
    int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
    bool (*is_code)(void *ctx, uint64_t addr);
    void *ctx;
};

/* --- the register model (unwind.c) ------------------------------------ */

/* Number of registers of CPU (10, 17, 16, 33; 0 for unknown). */
unsigned unwind_reg_count(enum unwind_cpu cpu);

/* 4 or 8 (0 for unknown). */
unsigned unwind_addr_size(enum unwind_cpu cpu);

/* The program counter, stack pointer and frame pointer register numbers;
 * unwind_reg_lr() is -1 on x86 and amd64. */
int unwind_reg_pc(enum unwind_cpu cpu);
int unwind_reg_sp(enum unwind_cpu cpu);
int unwind_reg_fp(enum unwind_cpu cpu);
int unwind_reg_lr(enum unwind_cpu cpu);

/* Bitmask of the registers a callee must preserve for its caller (the
 * platform ABI's callee-saved set, plus sp/fp); the walker copies these
 * from callee to caller when no rule recovered them. */
uint64_t unwind_callee_saved(enum unwind_cpu cpu);

/* The name Breakpad's minidump_stackwalk prints for register REG ("eip",
 * "rip", "x0".."x28", "fp", "lr", "sp", "pc", "r0".."r10", ...), or NULL
 * when REG is out of range. */
const char *unwind_reg_name(enum unwind_cpu cpu, int reg);

/* The register named NAME[0..LEN) in a Breakpad STACK CFI rule ("$rip",
 * "$esp", "x29", "fp", "sp", "r11", ...; a leading '$' is optional), or
 * -1. */
int unwind_reg_lookup(enum unwind_cpu cpu, const char *name, size_t len);

/* Read one pointer-sized little-endian word at ADDR.  0 or -1. */
int unwind_read_word(const struct unwind_memory *mem, enum unwind_cpu cpu,
                     uint64_t addr, uint64_t *out);

/* "x86", "amd64", "arm", "arm64" (Breakpad's names), or "unknown". */
const char *unwind_cpu_name(enum unwind_cpu cpu);

/* --- Breakpad STACK CFI / STACK WIN (unwind_breakpad.c) ---------------- */

struct unwind_bpindex;

/* Index the STACK records of one module (from breakpad_stack_records())
 * for lookup by RVA.  RECS (and the rule strings they point at) must
 * outlive the index.  0, or -EINVAL for a record whose rules do not parse
 * (the index is then not built; ERR, when not NULL, gets a one-line
 * reason of at most ERRLEN bytes). */
int unwind_bpindex_new(const struct breakpad_stack *recs, size_t n,
                       struct unwind_bpindex **out, char *err, size_t errlen);
void unwind_bpindex_free(struct unwind_bpindex *ix);

/* True when IX has a STACK CFI INIT (resp. STACK WIN) record covering RVA. */
bool unwind_bpindex_has_cfi(const struct unwind_bpindex *ix, uint64_t rva);
bool unwind_bpindex_has_win(const struct unwind_bpindex *ix, uint64_t rva);

/* Apply the STACK CFI rules in effect at RVA (the INIT record covering it
 * plus every delta record at or below RVA within it) to CALLEE: .cfa
 * becomes the caller's stack pointer, .ra its program counter, and every
 * other rule recovers the register it names. */
int unwind_bp_cfi_step(const struct unwind_bpindex *ix, uint64_t rva,
                       const struct unwind_regs *callee,
                       const struct unwind_memory *mem,
                       struct unwind_regs *caller);

/* x86 only: evaluate the STACK WIN record covering RVA (frame data, type
 * 4, preferred over FPO, type 0) the way Breakpad's x86 walker does: the
 * postfix program when there is one ($T0.. temporaries, .raSearch,
 * .cbParams, .cbSavedRegs, .cbLocals, ^ = = + - * / %, @ alignment), else
 * the FPO rules from the record's sizes; when the recovered return address
 * is not code (mem->is_code), search the stack above .raSearch for one
 * that is, as Breakpad does.  CALLEE_IS_CONTEXT tells whether CALLEE is
 * frame 0 (Breakpad treats the context frame's prolog differently). */
int unwind_bp_win_step(const struct unwind_bpindex *ix, uint64_t rva,
                       const struct unwind_regs *callee,
                       bool callee_is_context,
                       const struct unwind_memory *mem,
                       struct unwind_regs *caller);

/* What unwind_bp_win_step_ex() needs beyond CALLEE, for a walker that
 * tracks the frames below (Breakpad's x86 walker looks at the callee's
 * callee for .cbCalleeParams, and may be told not to scan). */
struct unwind_win_opts {
    bool callee_is_context;     /* CALLEE is frame 0 */
    uint32_t callee_param_size; /* parameter_size of the WIN record of
                                   CALLEE's own callee (see
                                   unwind_bpindex_win_params()), else 0 */
    bool allow_scan;            /* stack scanning allowed (Breakpad's
                                   stack_scan_allowed) */
};

/* How unwind_bp_win_step_ex() found the caller, as Breakpad's trust: the
 * program alone (cfi), the program then a scan for a return address that
 * is code (cfi_scan), or a scan from the callee's %esp after the program
 * failed (scan). */
enum unwind_win_trust {
    UNWIND_WIN_CFI,
    UNWIND_WIN_CFI_SCAN,
    UNWIND_WIN_SCAN,
};

/* unwind_bp_win_step() with OPTS; *TRUST (may be NULL) says how the caller
 * was found.  unwind_bp_win_step() is this with callee_param_size 0 and
 * allow_scan true.  The caller gets eip, esp and (when known) ebp, plus
 * ebx, esi and edi when the program assigns them. */
int unwind_bp_win_step_ex(const struct unwind_bpindex *ix, uint64_t rva,
                          const struct unwind_regs *callee,
                          const struct unwind_win_opts *opts,
                          const struct unwind_memory *mem,
                          struct unwind_regs *caller,
                          enum unwind_win_trust *trust);

/* The parameter_size of the STACK WIN record covering RVA (what that
 * frame's caller passes as callee_param_size).  0, or -ENOENT. */
int unwind_bpindex_win_params(const struct unwind_bpindex *ix, uint64_t rva,
                              uint32_t *param_size);

/* --- PE32+ .pdata / UNWIND_INFO (unwind_pe.c) --------------------------- */

struct unwind_pe;

/* Read the exception directory (.pdata RUNTIME_FUNCTIONs) and the
 * UNWIND_INFO they point at from a PE32+ image file DATA[0..LEN) as stored
 * on disk (RVAs are translated through the section table).  DATA must
 * outlive the result.  0, -ENOENT (not PE32+, or no exception directory),
 * or -EINVAL. */
int unwind_pe_open(const uint8_t *data, size_t len, struct unwind_pe **out);
void unwind_pe_free(struct unwind_pe *pu);

/* amd64: unwind the function containing RVA (following chained
 * UNWIND_INFO, undoing only the prolog operations already executed at
 * RVA, and recognising an epilog in progress).  Leaf functions (no
 * RUNTIME_FUNCTION) return -ENOENT: the caller may then treat [rsp] as the
 * return address. */
int unwind_pe_step(const struct unwind_pe *pu, uint64_t rva,
                   const struct unwind_regs *callee,
                   const struct unwind_memory *mem,
                   struct unwind_regs *caller);

/* --- ELF .eh_frame / .debug_frame through libdw (unwind_elf.c) ---------- */

struct unwind_elf;

/* Open the CFI of the ELF file at PATH (.eh_frame and, when present,
 * .debug_frame; either may be in a separate debug file the caller opens
 * instead).  The result owns its file descriptor.  0, -ENOENT (no CFI),
 * or -errno. */
int unwind_elf_open(const char *path, struct unwind_elf **out);
void unwind_elf_free(struct unwind_elf *ue);

/* The same over an ELF image in memory BUF[0..LEN), taken (freed with the
 * result, or on failure), whose .eh_frame section carries its address:
 * how the Mach-O unwinder reads __eh_frame (elfdw_image_build()).  RVAs
 * are relative to BASE.  0, -ENOENT (no CFI, unknown machine), -EINVAL. */
int unwind_elf_open_image(uint8_t *buf, size_t len, uint64_t base,
                          struct unwind_elf **out);

/* The lowest PT_LOAD vaddr: RVAs below are relative to it, as objfile's
 * image_base is. */
uint64_t unwind_elf_image_base(const struct unwind_elf *ue);

/* Apply the CFI row covering RVA (image_base + RVA in the file's own
 * addresses).  The caller's sp is the CFA and its pc the return-address
 * column; when that column is undefined (the outermost frame, e.g.
 * _start) pc is 0, so the walk ends.  "Same value" registers are copied
 * only when callee-saved (libdw reports registers the CFI never names
 * that way).  Not thread-safe on one UE (libdw caches); give each thread
 * its own. */
int unwind_elf_step(struct unwind_elf *ue, uint64_t rva,
                    const struct unwind_regs *callee,
                    const struct unwind_memory *mem,
                    struct unwind_regs *caller);

/* --- macOS compact unwind, __TEXT,__unwind_info (unwind_macho.c) -------- */

struct unwind_macho;

/* Open the compact unwind info of the slice WANT (an arch or UUID as
 * macho_identify_slice() takes it; NULL: the first) of the Mach-O binary
 * at PATH, which stays mapped until unwind_macho_free().  x86_64 and
 * arm64 only.  0, -ENOENT (no __unwind_info with bytes, e.g. a dSYM, or
 * another CPU), -EINVAL or -errno. */
int unwind_macho_open(const char *path, const char *want,
                      struct unwind_macho **out);
/* The same over a Mach-O image in memory, DATA[0..LEN), which must
 * outlive the result (the fuzz target's way in). */
int unwind_macho_new(const uint8_t *data, size_t len, const char *want,
                     struct unwind_macho **out);
void unwind_macho_free(struct unwind_macho *um);
enum unwind_cpu unwind_macho_cpu(const struct unwind_macho *um);

/* The entry covering RVA (relative to the __TEXT vmaddr): the function's
 * start *FUNC and its 32-bit *ENCODING.  0, -ENOENT, -EINVAL. */
int unwind_macho_lookup(const struct unwind_macho *um, uint64_t rva,
                        uint64_t *func, uint32_t *encoding);

/* Apply the encoding covering RVA: RBP_FRAME, STACK_IMMD and STACK_IND
 * on x86_64, FRAME and FRAMELESS on arm64, and DWARF encodings through
 * the binary's __eh_frame (unwind_elf_step()).  -ENOENT for addresses
 * without an entry.  Not thread-safe on one UM when it reads __eh_frame
 * (libdw caches), as unwind_elf_step(). */
int unwind_macho_step(const struct unwind_macho *um, uint64_t rva,
                      const struct unwind_regs *callee,
                      const struct unwind_memory *mem,
                      struct unwind_regs *caller);

#endif
