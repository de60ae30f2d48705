/* SPDX-License-Identifier: MIT */
/*
 * symtable_build: what the two halves of the symtable builder share.
 * symtable_build.c collects the readers' records into struct
 * symtable_builder; symtable_pack.c sorts, resolves and writes them.
 * Private to those two files.
 */
#ifndef SYMSRVD_SYMTABLE_BUILD_H
#define SYMSRVD_SYMTABLE_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "xalloc.h"

#define VEC_PUSH(v, n, cap)                                                    \
    do {                                                                       \
        if ((n) == (cap)) {                                                    \
            (cap) = (cap) ? (cap)*2 : 64;                                      \
            (v) = xreallocarray((v), (cap), sizeof(*(v)));                     \
        }                                                                      \
    } while (0)

/* A function or public as added (size 0 = unknown). */
struct bsym {
    uint64_t rva, size;
    uint32_t name;
    uint32_t lang;
};

/* A line record as added. */
struct bline {
    uint64_t rva, size;
    uint32_t file, line;
};

/* One range of an inlined call as added. */
struct binline {
    uint64_t rva, size;
    uint32_t depth, name, call_file, call_line, lang;
};

/* An interned string: its offset, hash, and file id once it names a
 * file (0 before). */
struct strent {
    uint32_t off, hash, file_id;
};

struct symtable_builder {
    uint64_t image_base;
    uint64_t image_size; /* 0: unknown, open-ended symbols never end */

    char *str; /* the string section under construction */
    size_t str_len, str_cap;
    struct strent *ents;
    size_t nents, ents_cap;
    uint32_t *slots; /* open addressing: index+1 into ents, 0 = empty */
    size_t nslots;

    uint32_t *files; /* file id -> string offset; [0] = none */
    size_t nfiles, files_cap;

    struct bsym *funcs, *pubs;
    size_t nfuncs, funcs_cap, npubs, pubs_cap;
    struct bline *lines;
    size_t nlines, lines_cap;
    struct binline *inl;
    size_t ninl, inl_cap;
};

#endif
