/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the WebAssembly reader (sections, LEB128s, code
 * bodies, the name section, DWARF custom sections through libdw):
 * identify and build from arbitrary bytes, then pack, load and look up
 * what was built.
 * Seeds: tests/fuzz/corpus/fuzz_wasm/ (small modules built by clang-14
 * and wasm-ld-14 with DWARF 4 and 5 and a build_id section).
 */
#include "symsrvd_config.h"

#include "fuzz_reader.h"
#include "wasm/wasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader("no-such-dir/fuzz.wasm", data, size, wasm_identify, wasm_build);
    return 0;
}
