/* SPDX-License-Identifier: MIT */
/*
 * stackwalk: turn a loaded minidump into symbolicated stack traces, one
 * per thread, the way Breakpad's minidump_stackwalk does.
 *
 * For every thread, frame 0 comes from its CPU context (the exception
 * context for the thread that crashed).  Each caller is then recovered
 * with the most trustworthy method that works, tried in this order:
 *   1. call frame information: Breakpad STACK WIN (x86) and STACK CFI
 *      records, PE32+ .pdata (amd64) and ELF .eh_frame/.debug_frame,
 *      whichever of them the symbol provider supplied for the module;
 *   2. the frame pointer chain (ebp / rbp / x29), with sanity checks;
 *   3. stack scanning (when enabled): the first stack word that points
 *      into a module's code and, where the module's symbols cover it, into
 *      a function (so that it plausibly follows a call).
 * Callee-saved registers no CFI rule mentions are carried over
 * (unwind_callee_saved()).  The walk of a thread stops at a program
 * counter of 0 (or in the null page), at a stack pointer that does not
 * advance or leaves the thread's stack, at a repeated frame, when no
 * method finds a caller, or at the frame bound.
 *
 * Caller addresses are looked up adjusted back into the call instruction
 * (return address - 1 on x86/amd64, - 4 on arm64, - 2 on arm) for their
 * module, function, line and unwind rules; the frame still reports the
 * unadjusted return address, as Breakpad does.
 *
 * SYMBOLS.  The walker asks a struct stackwalk_provider for what it knows
 * about each module it meets (at most once per module and walk).  Missing
 * symbols are never an error: a frame without them is "module + offset",
 * and a walk without CFI falls back to frame pointers and scanning.
 *
 * OWNERSHIP.  A struct stackwalk_result borrows the minidump (modules,
 * thread names) and the provider's symbol tables (function and file
 * names): both must outlive it.  Everything else in it is owned by the
 * result and freed by stackwalk_result_free().
 *
 * THREADS.  stackwalk_run() keeps no global state.  Two walks may run at
 * once when their providers allow it (see the provider's contract).
 */
#ifndef SYMSRVD_STACKWALK_H
#define SYMSRVD_STACKWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "minidump/minidump.h"
#include "table/symtable.h"
#include "unwind/unwind.h"

/* What a provider knows about one module.  Every member may be NULL.
 * TABLE names functions, files and lines; BP holds the module's Breakpad
 * STACK CFI / STACK WIN records; PE the module binary's .pdata (amd64);
 * ELF the CFI of the module's ELF file (or its debug file); MACHO the
 * compact unwind info of its Mach-O binary.  CORRUPT says
 * a symbol file was found but could not be read (reported as such, and
 * otherwise treated as missing). */
struct stackwalk_symbols {
    const struct symtable *table;
    const struct unwind_bpindex *bp;
    const struct unwind_pe *pe;
    struct unwind_elf *elf;
    const struct unwind_macho *macho;
    bool corrupt;
};

/* The walker's source of symbols.  GET fills *OUT for MODULE (all members
 * zero when nothing is known) and returns 0, or a negative errno that the
 * walker treats like "nothing known".  Everything *OUT points at is owned
 * by the provider and must stay valid, unchanged, until the provider is
 * destroyed, so that walk results can borrow names from the tables and a
 * second walk of the same modules is "warm".  GET is called from the
 * thread that called stackwalk_run(); a provider shared by concurrent
 * walks must lock inside GET, and must not hand the same ELF unwinder
 * (not thread-safe, see unwind_elf_step()) to two walks at once. */
struct stackwalk_provider {
    int (*get)(void *ctx, const struct minidump_module *module,
               struct stackwalk_symbols *out);
    void *ctx;
};

#define STACKWALK_DEFAULT_MAX_FRAMES 1024

struct stackwalk_options {
    size_t max_frames; /* per thread, inline frames included; 0: default */
    bool scan;         /* allow stack scanning */
};

/* How a frame was found, in Breakpad's order of trust (lowest first). */
enum stackwalk_trust {
    STACKWALK_TRUST_NONE = 0,
    STACKWALK_TRUST_SCAN,      /* "stack scanning" */
    STACKWALK_TRUST_CFI_SCAN,  /* "call frame info with scanning" */
    STACKWALK_TRUST_FP,        /* "previous frame's frame pointer" */
    STACKWALK_TRUST_CFI,       /* "call frame info" */
    STACKWALK_TRUST_PREWALKED, /* "recovered by external stack walker" */
    STACKWALK_TRUST_CONTEXT,   /* "given as instruction pointer in
                                * context" */
    STACKWALK_TRUST_INLINE,    /* "inlined" */
};

/* Whether a module's symbols were asked for and found. */
enum stackwalk_symstatus {
    STACKWALK_SYMS_UNUSED = 0, /* no frame needed the module */
    STACKWALK_SYMS_FOUND,      /* a symbol table was supplied */
    STACKWALK_SYMS_MISSING,    /* asked for, nothing with names */
    STACKWALK_SYMS_CORRUPT,    /* asked for, the file was unreadable */
};

/* One frame.  An inlined call becomes its own frame (trust INLINE, no
 * registers) placed before the frame of the function it was inlined
 * into; all of them share the same instruction address. */
struct stackwalk_frame {
    uint64_t instruction; /* pc for frame 0, else the return address */
    uint64_t lookup;      /* instruction adjusted into the call */
    const struct minidump_module *module; /* NULL: in no module */
    size_t module_index; /* index in minidump_module(), or SIZE_MAX */
    enum stackwalk_trust trust;
    struct unwind_regs regs; /* valid is 0 for inline frames */
    /* Symbolication; FUNCTION NULL when no symbol covers the address.
     * FUNCTION is as recorded (possibly mangled, see LANG). */
    const char *function;
    const char *file;       /* NULL when unknown */
    uint32_t line;          /* 0 when unknown */
    uint64_t function_base; /* absolute address of the function (or of the
                             * inline range) */
    uint64_t line_base;     /* absolute start of the line record */
    enum symtable_lang lang;
};

struct stackwalk_thread {
    uint32_t thread_id;
    const char *name; /* "" when the dump names none */
    bool crashed;     /* its context is the exception's */
    bool truncated;   /* the walk stopped at the frame bound */
    size_t nframes;
    const struct stackwalk_frame *frames;
};

struct stackwalk_result;

/* Walk every thread of MD (except the one Breakpad's info stream says
 * wrote the dump, as minidump_stackwalk skips it) with symbols from
 * PROVIDER (may be NULL: no symbols) and options OPTS (may be NULL:
 * defaults, scanning on).  Returns 0 and a new *OUT the caller frees with
 * stackwalk_result_free(), or -EINVAL when the dump's CPU is not one the
 * walker knows (then nothing is walked).  A thread whose context or stack
 * is missing gets as many frames as could be recovered, possibly none. */
int stackwalk_run(const struct minidump *md,
                  const struct stackwalk_provider *provider,
                  const struct stackwalk_options *opts,
                  struct stackwalk_result **out);
void stackwalk_result_free(struct stackwalk_result *r);

/* The CPU that was walked. */
enum unwind_cpu stackwalk_cpu(const struct stackwalk_result *r);

/* Threads in the dump's order (the dumping thread left out).  The
 * pointer is borrowed from R. */
size_t stackwalk_thread_count(const struct stackwalk_result *r);
const struct stackwalk_thread *
stackwalk_thread(const struct stackwalk_result *r, size_t i);

/* Index of the crashed thread (or the one that requested the dump), or
 * -1 when the dump names none. */
long stackwalk_requesting_thread(const struct stackwalk_result *r);

/* Symbol status of module I (index in minidump_module()). */
enum stackwalk_symstatus
stackwalk_module_status(const struct stackwalk_result *r, size_t i);

/* Breakpad's wording of TRUST ("call frame info", "stack scanning", ...)
 * and a short name for JSON ("context", "cfi", "cfi_scan", "fp", "scan",
 * "prewalked", "inline", "none"). */
const char *stackwalk_trust_description(enum stackwalk_trust trust);
const char *stackwalk_trust_name(enum stackwalk_trust trust);

#endif
