/* SPDX-License-Identifier: MIT */
/*
 * stackwalk_int: what stackwalk.c (threads, frames, symbols) and
 * stackwalk_step.c (recovering one caller) share.  Not for other users.
 */
#ifndef SYMSRVD_STACKWALK_INT_H
#define SYMSRVD_STACKWALK_INT_H

#include "stackwalk/stackwalk.h"

/* Breakpad's scan depth: 40 words above a caller's stack pointer, four
 * times as many above the context frame's (which may be anywhere in a
 * function that has not set up its frame yet). */
#define STACKWALK_SCAN_WORDS          40
#define STACKWALK_SCAN_CONTEXT_FACTOR 4

/* State of one walk, shared by all its threads. */
struct stackwalk_walk {
    const struct minidump *md;
    const struct stackwalk_provider *provider;
    struct unwind_memory mem;
    enum unwind_cpu cpu;
    unsigned word; /* 4 or 8 */
    bool scan;
    size_t nmodules;
    struct stackwalk_symbols *syms;   /* per module, valid once asked */
    enum stackwalk_symstatus *status; /* per module; UNUSED: not asked */
    /* The thread being walked: its stack memory, when the dump has it. */
    bool has_stack;
    uint64_t stack_lo, stack_hi;
    /* x86: parameter size of the STACK WIN record of the frame below the
     * one being stepped (0 at a thread's first step). */
    uint32_t callee_params;
};

/* The symbols of module I, asked of the provider on first use (never
 * NULL: an empty bundle when nothing is known). */
const struct stackwalk_symbols *stackwalk_module_syms(struct stackwalk_walk *w,
                                                      size_t i);

/* Index of the module containing ADDR, or SIZE_MAX. */
size_t stackwalk_module_index(const struct stackwalk_walk *w, uint64_t addr);

/* How far back into the call instruction a return address is looked up:
 * 1 on x86/amd64, 4 on arm64, 2 on arm. */
uint64_t stackwalk_call_adjust(enum unwind_cpu cpu);

/* Recover the caller of CALLEE (whose registers are CALLEE_REGS; CONTEXT
 * true for frame 0).  0 with *CALLER and *TRUST, or -ENOENT when no
 * method finds one. */
int stackwalk_step(struct stackwalk_walk *w, const struct unwind_regs *callee,
                   bool context, struct unwind_regs *caller,
                   enum stackwalk_trust *trust);

#endif
