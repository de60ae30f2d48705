/* SPDX-License-Identifier: MIT */
/*
 * pdb_internal: what the parts of the PDB reader share.  Not an API: only
 * pdb.c and pdb_*.c include it.
 *
 * The reader is split by role: pdb_msf.c (the MSF container: superblock,
 * stream directory, streams), pdb_dbi.c (DBI stream: modules, section
 * headers), pdb_ipi.c (type and id streams: inlinee names), pdb_lines.c
 * (C13 debug subsections: line tables, file checksums, inlinee lines),
 * pdb_sym.c (module symbol streams: procedures and inline sites) and pdb.c
 * (identity, publics and the overall build).
 *
 * Every length and offset read from the file is checked against the
 * buffer it points into before use; offsets are size_t so that files over
 * 4 GiB work.  Failures set the map's err with objfile_fail() and return
 * -EINVAL.
 */
#ifndef SYMSRVD_PDB_INTERNAL_H
#define SYMSRVD_PDB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"
#include "objfile/objfile.h"
#include "table/symtable.h"

/* A stream's bytes: a pointer into the mapping when its blocks are
 * consecutive in the file, else a heap copy (OWNED, freed by
 * pdb_stream_free()). */
struct pdb_stream {
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
};

/* One PE section as the PDB's section header stream records it. */
struct pdb_section {
    uint32_t rva;
    uint32_t size;
    uint32_t flags; /* IMAGE_SCN_* */
};

/* An id a module exports to others: its local id and the IPI index. */
struct pdb_xexport {
    uint32_t local, global;
};

/* One module (compiland) from the DBI module list. */
struct pdb_module {
    uint16_t stream;    /* 0xFFFF: none */
    uint32_t sym_bytes; /* symbols, incl. the 4-byte signature */
    uint32_t c11_bytes;
    uint32_t c13_bytes;
    const char *name; /* borrowed from the DBI stream */
    struct pdb_xexport *exports; /* sorted by local id */
    size_t num_exports;
};

/* Type or id stream (TPI / IPI) with an index of its records. */
struct pdb_types {
    struct pdb_stream s;
    uint32_t first;    /* type index of the first record */
    uint32_t count;    /* records indexed in OFFSETS */
    uint32_t *offsets; /* offset of each record's length field in S */
};

struct pdb {
    struct objfile_map *map;
    uint32_t block_size;
    uint32_t num_blocks;
    uint8_t *dir; /* heap copy of the stream directory */
    size_t dir_len;
    uint32_t num_streams;
    size_t *stream_blocks; /* offset in DIR of each stream's block list */

    /* PDB info stream */
    uint8_t guid[16];
    uint32_t info_age;
    uint32_t names_stream; /* "/names", UINT32_MAX when absent */

    /* DBI stream */
    bool has_dbi;
    struct pdb_stream dbi;
    uint32_t dbi_age;
    uint16_t machine;
    uint16_t sym_record_stream;
    struct pdb_module *modules;
    uint32_t num_modules;
    struct pdb_section *sections;
    uint32_t num_sections;
    uint16_t fpo_stream;     /* old FPO_DATA records, or PDB_NO_STREAM */
    uint16_t newfpo_stream;  /* FRAMEDATA records, or PDB_NO_STREAM */

    struct pdb_stream names; /* string table payload ("/names") */
    bool exports_loaded;
    uint64_t work; /* bytes of module streams read so far */
    struct pdb_types tpi, ipi;
};

#define PDB_NO_STREAM 0xFFFFu

/* A NUL-terminated string starting at OFF in BUF[0..LEN), or NULL when it
 * runs past the end. */
const char *pdb_cstr(const uint8_t *buf, size_t len, size_t off);

/* --- pdb_msf.c --- */

/* Check the superblock and load the stream directory.  0, -ENOTSUP (not
 * an MSF 7.0 file, e.g. PDB 2.0) or -EINVAL. */
int pdb_msf_open(struct pdb *p);

/* Open the PDB in MAP into *P: the MSF directory, the info and DBI
 * streams and, when FULL, the module list, section headers, FPO stream
 * numbers, /names and the type streams.  Release with pdb_close(), also
 * after an error. */
int pdb_open(struct objfile_map *map, struct pdb *p, bool full);

/* Stream IDX into *S.  -ENOENT when the stream does not exist or is nil,
 * -EINVAL when its block list is bad. */
int pdb_msf_stream(struct pdb *p, uint32_t idx, struct pdb_stream *s);

void pdb_stream_free(struct pdb_stream *s);

/* Free everything the reader allocated (NULL-safe fields). */
void pdb_close(struct pdb *p);

/* --- pdb_dbi.c --- */

/* Parse the DBI stream (stream 3): header, module list and the section
 * headers from the optional debug header.  A missing DBI stream leaves
 * has_dbi false and returns 0. */
int pdb_dbi_open(struct pdb *p, bool want_sections);

/* The symbol stream of module M into *S, its parts (symbols, C11 and C13
 * lines) checked to fit.  -ENOENT when the module has none. */
int pdb_dbi_module_stream(struct pdb *p, const struct pdb_module *m,
                          struct pdb_stream *s);

/* RVA of SEG:OFF (SEG 1-based), or false when SEG is not a section. */
bool pdb_dbi_rva(const struct pdb *p, uint16_t seg, uint32_t off,
                 uint64_t *rva);

/* True when SEG is an executable section. */
bool pdb_dbi_is_code(const struct pdb *p, uint16_t seg);

/* --- pdb_ipi.c --- */

/* Index the TPI (stream 2) and IPI (stream 4) records.  Absent streams
 * are not an error: names are then unknown. */
int pdb_types_open(struct pdb *p);

/* Name of the function with id ITEM (LF_FUNC_ID / LF_MFUNC_ID), qualified
 * with its parent scope or class as llvm-symbolizer prints it, into BUF.
 * Returns false when ITEM names no function. */
bool pdb_ipi_func_name(struct pdb *p, uint32_t item, char *buf, size_t len);

/* --- pdb_lines.c --- */

enum {
    DEBUG_S_LINES = 0xF2,
    DEBUG_S_FILECHKSMS = 0xF4,
    DEBUG_S_INLINEELINES = 0xF6,
    DEBUG_S_CROSSSCOPEIMPORTS = 0xF7,
    DEBUG_S_CROSSSCOPEEXPORTS = 0xF8,
};

/* One row of a line table: [start, end) has FILE:LINE.  FILE is a
 * symtable file id. */
struct pdb_row {
    uint64_t start, end;
    uint32_t file;
    uint32_t line;
    uint32_t depth; /* inline depth; 0 for the outer line table */
    size_t seq;     /* order of arrival: the later of two rows at one
                     * address wins (the earlier covers no code) */
};

struct pdb_rows {
    struct pdb_row *v;
    size_t n, cap;
};

void pdb_rows_push(struct pdb_rows *r, uint64_t start, uint64_t end,
                   uint32_t file, uint32_t line, uint32_t depth);
void pdb_rows_free(struct pdb_rows *r);

/* Sort by start and cut each row at the next one's start, so that rows do
 * not overlap. */
void pdb_rows_normalize(struct pdb_rows *r);

/* Number of rows starting at or below ADDR. */
size_t pdb_rows_upper(const struct pdb_rows *r, uint64_t addr);

/* Index of the row covering ADDR in normalized rows, or -1. */
ptrdiff_t pdb_rows_find(const struct pdb_rows *r, uint64_t addr);

/* Where an inlinee starts (DEBUG_S_INLINEELINES). */
struct pdb_inlinee {
    uint32_t item;   /* IPI id */
    uint32_t file;   /* file checksum offset */
    uint32_t line;
};

/* The C13 line information of one module. */
struct pdb_c13 {
    const uint8_t *checksums; /* DEBUG_S_FILECHKSMS payload */
    size_t checksums_len;
    struct pdb_rows lines; /* DEBUG_S_LINES rows, normalized */
    struct pdb_inlinee *inlinees; /* sorted by item */
    size_t num_inlinees;
    const uint8_t *imports; /* DEBUG_S_CROSSSCOPEIMPORTS payload */
    size_t imports_len;
};

/* The first subsection of KIND in the C13 data DATA[0..LEN) into *SUB
 * (NULL when there is none).  0 or -EINVAL. */
int pdb_c13_find(struct pdb *p, const uint8_t *data, size_t len,
                 uint32_t kind, const uint8_t **sub, size_t *sublen);

/* Parse the C13 subsections in DATA[0..LEN) of a module, interning files
 * into B. */
int pdb_c13_parse(struct pdb *p, const uint8_t *data, size_t len,
                  struct symtable_builder *b, struct pdb_c13 *c);
void pdb_c13_free(struct pdb_c13 *c);

/* Symtable file id of the file checksum entry at OFF, 0 when unknown. */
uint32_t pdb_c13_file(struct pdb *p, const struct pdb_c13 *c, uint32_t off,
                      struct symtable_builder *b);

/* The inlinee record for ITEM, or NULL. */
const struct pdb_inlinee *pdb_c13_inlinee(const struct pdb_c13 *c,
                                          uint32_t item);

/* Feed B with the innermost location of every address covered by ROWS:
 * where rows overlap, the deepest one wins.  ROWS is reordered. */
void pdb_lines_emit(struct pdb_rows *rows, struct symtable_builder *b);

/* --- pdb_xmod.c --- */

/* The IPI index of ITEM as used in a module whose C13 data is C: plain
 * ids are global already; ids with the top bit set are cross-module
 * references (MSVC /Zi) resolved through the module's imports and the
 * exporting module's exports.  0 when it cannot be resolved. */
uint32_t pdb_xmod_resolve(struct pdb *p, const struct pdb_c13 *c,
                          uint32_t item);

/* Free the export tables loaded by pdb_xmod_resolve(). */
void pdb_xmod_free(struct pdb *p);

/* --- pdb_sym.c --- */

/* Feed B with the procedures and inline sites of module M. */
int pdb_sym_module(struct pdb *p, const struct pdb_module *m,
                   struct symtable_builder *b);

#endif
