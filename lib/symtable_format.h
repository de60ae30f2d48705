/* SPDX-License-Identifier: MIT */
/*
 * symtable_format: the on-disk layout of a symtable blob, shared by the
 * builder (symtable_build.c) and the loader (symtable.c) and nobody else.
 * docs/symtable.md describes the same layout in prose.
 *
 * A blob is a fixed header followed by six sections, each 8-byte aligned
 * and made of fixed-size little-endian records, so a lookup is a binary
 * search straight over the mapped bytes.  All ranges are half-open
 * [start, end) RVAs; within the symbol, line and per-depth inline sections
 * they are sorted by start and never overlap: the builder resolves every
 * overlap and every "size 0" record before writing.
 */
#ifndef SYMSRVD_SYMTABLE_FORMAT_H
#define SYMSRVD_SYMTABLE_FORMAT_H

#include <stdint.h>

#define SYMTABLE_MAGIC       "SYMTAB\x1a\n"
#define SYMTABLE_VERSION     1u
/* The CRC covers every byte after the crc field: [16, len). */
#define SYMTABLE_CRC_START   16u
#define SYMTABLE_LANG_MAX    SYMTABLE_LANG_ASM

enum symtable_section {
    SYMTABLE_SEC_STRINGS = 0, /* NUL-terminated strings; byte 0 is "" */
    SYMTABLE_SEC_FILES,       /* uint32_t string offset per file id */
    SYMTABLE_SEC_SYMS,        /* struct symtable_rec_sym */
    SYMTABLE_SEC_LINES,       /* struct symtable_rec_line */
    SYMTABLE_SEC_INLINES,     /* struct symtable_rec_inline, by depth */
    SYMTABLE_SEC_DEPTHS,      /* struct symtable_rec_depth, depth 1.. */
    SYMTABLE_NSEC
};

struct symtable_rec_section {
    uint64_t off;  /* from the start of the blob, multiple of 8 */
    uint64_t size; /* bytes, multiple of the record size */
};

struct symtable_rec_header {
    char magic[8];     /* SYMTABLE_MAGIC */
    uint32_t version;  /* SYMTABLE_VERSION */
    uint32_t crc;      /* zlib crc32 of bytes [16, len) */
    uint64_t len;      /* the whole blob */
    uint64_t image_base;
    struct symtable_rec_section sec[SYMTABLE_NSEC];
};

/* The outermost frame: a function, or a public symbol where no function
 * covers.  One symbol may own several segments (split by others). */
struct symtable_rec_sym {
    uint64_t start, end;
    uint64_t sym_rva; /* where the symbol itself starts */
    uint32_t name;    /* string offset */
    uint32_t lang;    /* enum symtable_lang */
};

struct symtable_rec_line {
    uint64_t start, end;
    uint32_t file; /* file id, 0 = unknown */
    uint32_t line;
};

struct symtable_rec_inline {
    uint64_t start, end;
    uint64_t sym_rva; /* start of the original inline range */
    uint32_t name;
    uint32_t call_file;
    uint32_t call_line;
    uint32_t lang;
};

/* Inline records of depth i+1 are INLINES[first, first+count). */
struct symtable_rec_depth {
    uint32_t first, count;
};

#endif
