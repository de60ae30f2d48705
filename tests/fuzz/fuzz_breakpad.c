/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Breakpad reader: identity, STACK records, and
 * a full build into a symtable that is then loaded and queried, so the
 * builder's sorting and sweeping also see hostile record mixes.
 */
#include "symsrvd_config.h"

#include "breakpad/breakpad.h"
#include "objfile/objfile.h"
#include "table/symtable.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(const void *blob, size_t len)
{
    struct symtable *t;
    struct symtable_frame f[8];

    if (symtable_load(blob, len, &t) != 0)
        abort(); /* the builder's own output must always load */
    for (uint64_t rva = 0; rva < 0x2000; rva += 3)
        symtable_lookup(t, rva, f, 8, NULL);
    symtable_close(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct objfile_map map = {.path = "fuzz.sym", .data = data, .len = size};
    struct objfile_ident id;
    struct breakpad_stack *stack;
    struct symtable_builder *b = symtable_builder_new();
    size_t n, len;
    void *blob;

    breakpad_identify(&map, &id);
    if (breakpad_stack_records(&map, &stack, &n) == 0)
        free(stack);
    if (breakpad_build(&map, b) == 0 &&
        symtable_builder_finish(b, &blob, &len) == 0) {
        lookups(blob, len);
        free(blob);
    }
    symtable_builder_free(b);
    return 0;
}
