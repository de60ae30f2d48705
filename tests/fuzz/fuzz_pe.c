/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PE reader (headers, debug directory, exports;
 * the path names a missing directory, so no PDB is read):
 * identify and build from arbitrary bytes, then pack, load and look up
 * what was built.
 * Seeds: tests/fuzz/corpus/fuzz_pe/ and the .exe files of tests/data/pdb/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "objfile.h"
#include "pe.h"
#include "symtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct objfile_map map = {
        .path = "no-such-dir/fuzz.exe", .data = data, .len = size};
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_ident id;
    struct symtable_frame frames[8];
    struct symtable *t;
    void *blob = NULL;
    size_t len;

    pe_identify(&map, &id);
    if (pe_build(&map, b) == 0 &&
        symtable_builder_finish(b, &blob, &len) == 0 &&
        symtable_load(blob, len, &t) == 0) {
        for (uint64_t rva = 0x1000; rva < 0x1100; rva += 7)
            symtable_lookup(t, rva, frames, 8, NULL);
        symtable_close(t);
    }
    free(blob);
    symtable_builder_free(b);
    return 0;
}
