/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Mach-O reader (universal headers, load
 * commands, symbols, function starts, dSYM DWARF through libdw; the path
 * names a missing directory, so no dSYM is looked up beside it):
 * identify and build from arbitrary bytes, then pack, load and look up
 * what was built.
 * Seeds: tests/fuzz/corpus/fuzz_macho/ (small Mach-O binaries, a dSYM and
 * a universal file built by clang-14, ld64.lld-14 and dsymutil-14).
 */
#include "symsrvd_config.h"

#include "fuzz_reader.h"
#include "macho/macho.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader("no-such-dir/fuzz", data, size, macho_identify, macho_build);
    return 0;
}
