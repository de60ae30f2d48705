/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the compact unwinder: the input is read as a
 * Mach-O image, its __TEXT,__unwind_info indexed, and a spread of RVAs is
 * looked up and stepped over a fake memory made of the input's own bytes,
 * so that pages, encodings and saved-register slots are all hostile.
 * Seeds: tests/fuzz/corpus/fuzz_unwind_macho/ (small x86_64 and arm64
 * binaries built by clang-14 and ld64.lld-14, one universal).
 */
#include "symsrvd_config.h"

#include "fuzz_mem.h"
#include "unwind/unwind.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct unwind_macho *um;
    struct fuzz_mem m = {data, size};
    struct unwind_memory mem = {fuzz_read, fuzz_is_code, &m};
    enum unwind_cpu cpu;

    if (unwind_macho_new(data, size, NULL, &um) != 0)
        return 0;
    cpu = unwind_macho_cpu(um);
    for (uint64_t rva = 0; rva < 0x8000; rva += 0x1f) {
        struct unwind_regs callee = {.cpu = cpu}, caller = {.cpu = cpu};
        uint64_t func;
        uint32_t enc;

        unwind_macho_lookup(um, rva, &func, &enc);
        for (unsigned i = 0; i < unwind_reg_count(cpu); i++)
            callee.r[i] = FUZZ_BASE + (rva * (i + 3)) % (size + 16);
        callee.valid = UINT64_MAX >> (64 - unwind_reg_count(cpu));
        unwind_macho_step(um, rva, &callee, &mem, &caller);
    }
    unwind_macho_free(um);
    return 0;
}
