/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PE reader (headers, debug directory, exports;
 * the path names a missing directory, so no PDB is read):
 * identify and build from arbitrary bytes, then pack, load and look up
 * what was built.
 * Seeds: tests/fuzz/corpus/fuzz_pe/ and the .exe files of tests/data/pdb/.
 */
#include "symsrvd_config.h"

#include "fuzz_reader.h"
#include "pe/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader("no-such-dir/fuzz.exe", data, size, pe_identify, pe_build);
    return 0;
}
