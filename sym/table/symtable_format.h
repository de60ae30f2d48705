/* SPDX-License-Identifier: MIT */
/*
 * symtable_format: the on-disk layout of a symtable blob, shared by the
 * builder (symtable_build.c) and the loader (symtable.c) and nobody else.
 * docs/symtable.md describes the same layout in prose.
 *
 * A blob is a fixed header followed by sections of fixed-size
 * little-endian records, each 8-byte aligned, so a lookup is a search
 * straight over the mapped bytes.  Address ranges are stored as "maps":
 * a sorted array of start addresses (each range ends where the next
 * starts; gaps are explicit "hole" entries) with a parallel array of what
 * each range holds, plus a sparse index (every SYMTABLE_FANOUT-th start)
 * that keeps the first steps of a search in cache.  There is one map of
 * outer symbols, one of line records, and one per inline depth.
 */
#ifndef SYMSRVD_SYMTABLE_FORMAT_H
#define SYMSRVD_SYMTABLE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "bound.h"

#define SYMTABLE_MAGIC   "SYMTAB\x1a\n"
#define SYMTABLE_VERSION 2u
/* The CRC covers every byte after the crc field: [16, len). */
#define SYMTABLE_CRC_START 16u
#define SYMTABLE_LANG_MAX  SYMTABLE_LANG_ASM
/* Index density: one index entry per this many starts. */
#define SYMTABLE_FANOUT 16u
/* The name of a hole: no symbol / inline range here. */
#define SYMTABLE_NONE UINT32_MAX

enum symtable_section {
    SYMTABLE_SEC_STRINGS = 0, /* NUL-terminated strings; byte 0 is "" */
    SYMTABLE_SEC_FILES,       /* uint32_t string offset per file id */
    SYMTABLE_SEC_SYM_STARTS,  /* uint64_t */
    SYMTABLE_SEC_SYM_INFO,    /* struct symtable_rec_sym */
    SYMTABLE_SEC_LINE_STARTS, /* uint64_t */
    SYMTABLE_SEC_LINE_INFO,   /* struct symtable_rec_line */
    SYMTABLE_SEC_INL_STARTS,  /* uint64_t, all depths one after another */
    SYMTABLE_SEC_INL_INFO,    /* struct symtable_rec_inline */
    SYMTABLE_SEC_DEPTHS,      /* struct symtable_rec_map, depth 1.. */
    SYMTABLE_SEC_INDEX,       /* uint64_t, the sparse indexes of all maps */
    SYMTABLE_NSEC
};

struct symtable_rec_section {
    uint64_t off;  /* from the start of the blob, multiple of 8 */
    uint64_t size; /* bytes, multiple of the record size */
};

/* One map: STARTS[first, first+count) with the parallel info records,
 * and INDEX[index_first, index_first+index_count) where index_count =
 * ceil(count / FANOUT) and INDEX[index_first+k] = STARTS[first+k*FANOUT]. */
struct symtable_rec_map {
    uint32_t first, count;
    uint32_t index_first, index_count;
};

struct symtable_rec_header {
    char magic[8];    /* SYMTABLE_MAGIC */
    uint32_t version; /* SYMTABLE_VERSION */
    uint32_t crc;     /* zlib crc32 of bytes [16, len) */
    uint64_t len;     /* the whole blob */
    uint64_t image_base;
    struct symtable_rec_map syms, lines;
    struct symtable_rec_section sec[SYMTABLE_NSEC];
};

/* The outermost frame: a function, or a public symbol where no function
 * covers; NAME = SYMTABLE_NONE in a hole. */
struct symtable_rec_sym {
    uint64_t sym_rva; /* where the symbol itself starts */
    uint32_t name;    /* string offset */
    uint32_t lang;    /* enum symtable_lang */
};

/* The innermost location; file 0 and line 0 in a hole. */
struct symtable_rec_line {
    uint32_t file; /* file id, 0 = unknown */
    uint32_t line;
};

struct symtable_rec_inline {
    uint64_t sym_rva; /* start of the original inline range */
    uint32_t name;    /* SYMTABLE_NONE in a hole */
    uint32_t call_file;
    uint32_t call_line;
    uint32_t lang;
};

/* The number of elements of the sorted V[0..N) at or below KEY: the
 * position after the last start <= KEY. */
static inline size_t symtable_upper_bound(const uint64_t *v, size_t n,
                                          uint64_t key)
{
    return bound_upper(v, n, sizeof(*v), 0, key);
}

#endif
