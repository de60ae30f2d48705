/* SPDX-License-Identifier: MIT */
/*
 * fuzz_reader: the body shared by reader fuzz targets: identify and build
 * from arbitrary bytes, then pack, load and look up what was built.
 */
#ifndef SYMSRVD_FUZZ_READER_H
#define SYMSRVD_FUZZ_READER_H

#include <stdint.h>
#include <stdlib.h>

#include "objfile/objfile.h"
#include "table/symtable.h"

typedef int fuzz_identify_fn(struct objfile_map *, struct objfile_ident *);
typedef int fuzz_build_fn(struct objfile_map *, struct symtable_builder *);

/* PATH names the input for messages and companion-file searches; make it
 * point nowhere real so runs stay deterministic. */
static inline void fuzz_reader(const char *path, const uint8_t *data,
                               size_t size, fuzz_identify_fn *identify,
                               fuzz_build_fn *build)
{
    struct objfile_map map = {.path = path, .data = data, .len = size};
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_ident id;
    struct symtable_frame frames[8];
    struct symtable *t;
    void *blob = NULL;
    size_t len;

    identify(&map, &id);
    if (build(&map, b) == 0 && symtable_builder_finish(b, &blob, &len) == 0 &&
        symtable_load(blob, len, &t) == 0) {
        for (uint64_t rva = 0x1000; rva < 0x1100; rva += 7)
            symtable_lookup(t, rva, frames, 8, NULL);
        symtable_close(t);
    }
    free(blob);
    symtable_builder_free(b);
}

#endif
