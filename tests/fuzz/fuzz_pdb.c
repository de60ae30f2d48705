/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PDB reader:
 * identify and build from arbitrary bytes, then pack, load and look up
 * what was built.
 * Seeds: tests/fuzz/corpus/fuzz_pdb/ and the .pdb files of tests/data/pdb/.
 */
#include "config.h"

#include "fuzz_reader.h"
#include "pdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader("fuzz.pdb", data, size, pdb_identify, pdb_build);
    return 0;
}
