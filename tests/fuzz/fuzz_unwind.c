/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Breakpad rule engines: the input is read as a
 * .sym file, its STACK records are indexed, and every record's address is
 * stepped with STACK CFI (amd64, x86, arm64) and STACK WIN (x86), over a
 * fake memory made of the input's own bytes, so that rules dereference
 * hostile words and scans read hostile stacks.  The input's lines are
 * also evaluated one by one as bare postfix expressions and programs.
 */
#include "symsrvd_config.h"

#include "fuzz_mem.h"

#include "breakpad/breakpad.h"
#include "objfile/objfile.h"
#include "unwind/unwind.h"
#include "unwind/unwind_postfix.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_regs(struct unwind_regs *r, enum unwind_cpu cpu,
                      size_t size, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    r->cpu = cpu;
    for (unsigned i = 0; i < unwind_reg_count(cpu); i++)
        r->r[i] = FUZZ_BASE + (seed * (i + 7)) % (size + 16);
    r->valid = seed % 5 == 0 ? 0 : UINT64_MAX >> (64 - unwind_reg_count(cpu));
}

static void fuzz_steps(const struct unwind_bpindex *ix,
                       const struct breakpad_stack *recs, size_t n,
                       const struct unwind_memory *mem, size_t size)
{
    static const enum unwind_cpu cpus[] = {UNWIND_CPU_AMD64, UNWIND_CPU_X86,
                                           UNWIND_CPU_ARM64};
    struct unwind_regs callee, caller;
    struct unwind_win_opts opts = {.allow_scan = true};
    uint32_t params;

    for (size_t i = 0; i < n && i < 256; i++) {
        uint64_t rva = recs[i].rva + (i & 1);

        for (size_t c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++) {
            fuzz_regs(&callee, cpus[c], size, i + c);
            unwind_bp_cfi_step(ix, rva, &callee, mem, &caller);
        }
        fuzz_regs(&callee, UNWIND_CPU_X86, size, i);
        opts.callee_is_context = (i & 2) != 0;
        opts.callee_param_size = 0;
        if (unwind_bpindex_win_params(ix, rva, &params) == 0)
            opts.callee_param_size = params;
        unwind_bp_win_step_ex(ix, rva, &callee, &opts, mem, &caller, NULL);
    }
}

static void fuzz_lines(const uint8_t *data, size_t size,
                       const struct unwind_memory *mem)
{
    struct unwind_pf pf;
    const char *p = (const char *)data, *end = p + size;
    uint64_t v;

    for (int lines = 0; p < end && lines < 64; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

        unwind_pf_init(&pf, UNWIND_CPU_X86, mem, NULL);
        unwind_pf_set(&pf, "$esp", FUZZ_BASE + 8);
        unwind_pf_set(&pf, ".raSearch", FUZZ_BASE + 4);
        unwind_pf_check(p, len, 0);
        unwind_pf_run(&pf, p, len);
        unwind_pf_init(&pf, UNWIND_CPU_AMD64, mem, NULL);
        unwind_pf_value(&pf, p, len, &v);
        p += len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct objfile_map map = {.path = "fuzz.sym", .data = data, .len = size};
    struct fuzz_mem fm = {data, size};
    struct unwind_memory mem = {fuzz_read, fuzz_is_code, &fm};
    struct breakpad_stack *recs;
    struct unwind_bpindex *ix;
    char err[128];
    size_t n;

    fuzz_lines(data, size, &mem);
    if (breakpad_stack_records(&map, &recs, &n) != 0)
        return 0;
    if (unwind_bpindex_new(recs, n, &ix, err, sizeof(err)) == 0) {
        fuzz_steps(ix, recs, n, &mem, size);
        unwind_bpindex_free(ix);
    }
    free(recs);
    return 0;
}
