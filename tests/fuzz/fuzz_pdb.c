/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PDB reader:
 * identify and build from arbitrary bytes.
 * Seeds: tests/fuzz/corpus/fuzz_pdb/ and the .pdb files of tests/data/pdb/.
 */
#include "config.h"

#include <stdint.h>

#include "objfile.h"
#include "pdb.h"
#include "symtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct objfile_map map = {
        .path = "fuzz.pdb", .data = data, .len = size};
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_ident id;

    /* The builder's own packing and loading have their own fuzz target
     * (fuzz_symtable); this one stops at what the reader feeds it. */
    pdb_identify(&map, &id);
    pdb_build(&map, b);
    symtable_builder_free(b);
    return 0;
}
