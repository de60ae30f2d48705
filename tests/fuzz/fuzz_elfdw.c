/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for elfdw: identify and build a symtable from arbitrary
 * bytes as if they were an ELF file, then look a few addresses up in the
 * result.  Seeds: tests/fuzz/corpus/fuzz_elfdw/ (small gcc-built ELF files
 * with DWARF 4/5, inlines, a separate debug file and a symtab-only one).
 * libFuzzer itself reports any write to the input, which would mean libelf
 * wrote to what is a read-only mapping in production.
 */
#include "symsrvd_config.h"

#include "elf/elfdw.h"
#include "objfile/objfile.h"
#include "table/symtable.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const void *blob, size_t len)
{
    struct symtable *t = NULL;
    struct symtable_frame f[16];

    if (symtable_load(blob, len, &t) != 0)
        abort(); /* a table the builder made must load */
    for (uint64_t rva = 0; rva < 0x4000; rva += 0x3f)
        symtable_lookup(t, rva, f, 16, NULL);
    symtable_close(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The path names no real directory, so the debug-file search finds
     * nothing and the target stays deterministic. */
    struct objfile_map map = {.path = "/nonexistent/fuzz-input",
                              .data = data,
                              .len = size};
    struct objfile_ident id;
    struct symtable_builder *b;
    void *blob = NULL;
    size_t len = 0;

    if (elfdw_identify(&map, &id) != 0)
        return 0;
    b = symtable_builder_new();
    if (elfdw_build(&map, b) == 0 &&
        symtable_builder_finish(b, &blob, &len) == 0)
        probe(blob, len);
    free(blob);
    symtable_builder_free(b);
    return 0;
}
