/* SPDX-License-Identifier: MIT */
/*
 * symtable: the compact lookup table every symbol reader produces.
 *
 * Readers (PDB, ELF/DWARF, Breakpad) feed a builder with functions, line
 * records and inline ranges; the builder sorts and packs them into one
 * versioned, checksummed blob that can be written to disk, memory-mapped
 * later and queried without parsing the original file again: O(log n) per
 * address and no allocation per lookup.  The on-disk layout is documented
 * in docs/symtable.md.
 *
 * ADDRESSES.  All addresses given to and returned by this module are
 * relative to the image base (RVAs): PE ImageBase, ELF lowest PT_LOAD
 * vaddr.  The image base itself is stored in the table so callers that
 * have absolute addresses can subtract it.
 *
 * THE MODEL.  At any address there is a chain of frames, innermost first:
 *   - the innermost location comes from the line records (add_line): the
 *     file and line of the code actually at that address, which is inside
 *     the most deeply inlined function when inlining happened;
 *   - each inline range (add_inline) covering the address names an inlined
 *     function at a depth (1 = inlined directly into the outer function)
 *     and the call site (call_file:call_line) in its caller;
 *   - the outer function (add_func) or, failing that, the nearest public
 *     symbol at or below the address (add_public).
 * A lookup turns this into frames the way llvm-symbolizer --inlines prints
 * them: frame 0 = deepest inlinee with the line record's file:line; frame
 * k = the function at depth D-k with the call site recorded on the inline
 * range at depth D-k+1; the last frame is the outer function.
 *
 * THREADS.  A builder belongs to one thread.  A finished struct symtable
 * is immutable; any number of threads may look up in it at once.
 */
#ifndef SYMSRVD_SYMTABLE_H
#define SYMSRVD_SYMTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symtable_builder;
struct symtable;

enum symtable_lang {
    SYMTABLE_LANG_UNKNOWN = 0,
    SYMTABLE_LANG_C,
    SYMTABLE_LANG_CPP,
    SYMTABLE_LANG_RUST,
    SYMTABLE_LANG_D,
    SYMTABLE_LANG_SWIFT,
    SYMTABLE_LANG_ASM,
};

/* The language as Symbolicator names it ("c", "cpp", "rust", "d",
 * "swift", "asm"), or NULL when unknown. */
const char *symtable_lang_name(enum symtable_lang lang);

/* --- building (readers call these) ------------------------------------ */

/* New, empty builder; free with symtable_builder_free() (NULL-safe). */
struct symtable_builder *symtable_builder_new(void);
void symtable_builder_free(struct symtable_builder *b);

void symtable_builder_set_image_base(struct symtable_builder *b,
                                     uint64_t image_base);

/* Size of the image in bytes (PE SizeOfImage, ELF span of the PT_LOADs),
 * when the reader knows it.  Symbols whose end is open (size 0 with no
 * later symbol) then end there instead of covering every higher RVA. */
void symtable_builder_set_image_size(struct symtable_builder *b,
                                     uint64_t image_size);

/* Intern a source file path; the same string always gives the same id.
 * Ids are small integers starting at 1; 0 means "no file". */
uint32_t symtable_builder_file(struct symtable_builder *b, const char *path);

/* A function [rva, rva+size).  NAME is copied; it may be mangled (the
 * lookup demangles on request) or already readable.  SIZE 0 means unknown:
 * the function then extends to the next function or public symbol. */
void symtable_builder_add_func(struct symtable_builder *b, uint64_t rva,
                               uint64_t size, const char *name,
                               enum symtable_lang lang);

/* A public (export/linker) symbol with no size.  Used only where no
 * function covers the address; it extends to the next symbol. */
void symtable_builder_add_public(struct symtable_builder *b, uint64_t rva,
                                 const char *name);

/* The innermost source location of [rva, rva+size): FILE from
 * symtable_builder_file(), LINE 0 when unknown.  SIZE 0 means "up to the
 * next line record within the same function". */
void symtable_builder_add_line(struct symtable_builder *b, uint64_t rva,
                               uint64_t size, uint32_t file, uint32_t line);

/* One address range of an inlined call at DEPTH (1 = inlined directly
 * into the outer function).  NAME is the inlined function; CALL_FILE and
 * CALL_LINE locate the call in its caller.  An inline site with several
 * ranges is added once per range. */
void symtable_builder_add_inline(struct symtable_builder *b, uint64_t rva,
                                 uint64_t size, uint32_t depth,
                                 const char *name, uint32_t call_file,
                                 uint32_t call_line, enum symtable_lang lang);

/* Sort, deduplicate and pack everything into a new heap blob (*OUT, *LEN;
 * the caller frees *OUT with free()).  The builder may be freed after.
 * Returns 0 or -EINVAL (more than 2^30 records of one kind, or more than
 * 4 GiB of strings). */
int symtable_builder_finish(struct symtable_builder *b, void **out,
                            size_t *len);

/* --- loading and lookup ----------------------------------------------- */

/* Validate a blob (magic, version, checksum, every offset in bounds) and
 * wrap it.  The table borrows DATA, which must outlive it and be 8-byte
 * aligned (malloc and mmap memory is).  Costs one pass over the blob; the
 * returned table is freed with symtable_close().  0 or -EINVAL. */
int symtable_load(const void *data, size_t len, struct symtable **out);

/* True when DATA[0..LEN) starts like a symtable blob (magic only; use
 * symtable_load() to validate).  Lets callers tell a saved table from a
 * symbol file. */
bool symtable_has_magic(const void *data, size_t len);

/* mmap PATH and load it; the table owns the mapping.  0 or -errno. */
int symtable_open(const char *path, struct symtable **out);

/* Release a table from symtable_load() or symtable_open() (NULL-safe). */
void symtable_close(struct symtable *t);

uint64_t symtable_image_base(const struct symtable *t);

/* One frame of a lookup result.  Strings are borrowed from the table and
 * valid until symtable_close(). */
struct symtable_frame {
    const char *function; /* as recorded (possibly mangled) */
    const char *file;     /* NULL when unknown */
    uint32_t line;        /* 0 when unknown */
    uint64_t sym_rva;     /* start of the function, or of the inline range */
    enum symtable_lang lang;
    bool inlined;         /* true for every frame but the outer function */
    /* Start of the line record at the looked-up address, the same in every
     * frame of a chain (sym_rva when no line record covers it). */
    uint64_t line_rva;
};

/* Frames at RVA, innermost first, into FRAMES[0..MAX).  Returns the number
 * of frames found (0: no symbol covers RVA); never more than MAX, and
 * *TOTAL (when not NULL) receives the full chain length. */
size_t symtable_lookup(const struct symtable *t, uint64_t rva,
                       struct symtable_frame *frames, size_t max,
                       size_t *total);

#endif
