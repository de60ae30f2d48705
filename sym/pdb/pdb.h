/* SPDX-License-Identifier: MIT */
/*
 * pdb: our own reader of Microsoft program databases (MSF 7.0 PDB files),
 * as produced by MSVC and by lld-link.  No library in Debian reads them.
 *
 * It reports a PDB's identity as symbol stores key it and feeds a
 * symtable builder with everything needed to symbolicate: public symbols
 * (S_PUB32), procedures and thunks with their sizes, the C13 line tables,
 * and inline
 * sites with their binary annotations resolved into address ranges, lines
 * and call sites.  Addresses are RVAs, computed through the PE section
 * headers that the PDB itself keeps (the DBI optional debug header).
 * Not read: OMAP address maps (binaries rewritten after linking; read as
 * if the map were the identity), pre-C13 (C7/C11) symbol and line
 * formats of VC6-era PDBs, and S_SEPCODE ranges (separated code is covered
 * by publics instead).
 *
 * The file is untrusted: every offset and length is checked, allocations
 * never exceed the file's size, and bad input yields -EINVAL with a
 * one-line reason in map->err.  Both functions only read MAP and may run
 * in several threads at once on different builders.
 */
#ifndef SYMSRVD_PDB_H
#define SYMSRVD_PDB_H

#include "objfile/objfile.h"

struct symtable_builder;

/* Which MSF container the bytes DATA[0..LEN) start with, by their magic:
 * MSF 7.0 (what this reader reads) or the PDB 2.0 of VC6-era tools. */
enum pdb_msf_version {
    PDB_MSF_NONE = 0,
    PDB_MSF_2,
    PDB_MSF_7,
};
enum pdb_msf_version pdb_msf_version(const uint8_t *data, size_t len);

/* Fill *ID for the PDB in MAP: kind OBJFILE_PDB, debug_id from the GUID of
 * the PDB info stream and the age of the DBI stream (the info stream's age
 * when there is no DBI stream), arch from the DBI machine type, debug_file
 * the basename of map->path.  Returns 0, -ENOTSUP for files that are not
 * MSF 7.0 (PDB 2.0 included), or -EINVAL for a damaged file. */
int pdb_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed B with the publics, functions, lines and inline ranges of the PDB
 * in MAP (addresses are RVAs; the image base is not known to a PDB and is
 * left alone).  Returns 0, -ENOTSUP or -EINVAL as pdb_identify() does;
 * after -EINVAL, B may hold part of the file. */
int pdb_build(struct objfile_map *map, struct symtable_builder *b);

struct breakpad_stack;

/* The x86 frame-layout records of the PDB in MAP (the old FPO stream and
 * the FRAMEDATA "new FPO" stream), as the Breakpad STACK WIN records
 * dump_syms writes for them: type 0 (FPO) or 4 (frame data), sizes, and
 * the frame program from /names.  One record per type and RVA, sorted by
 * RVA.  *OUT (free()) holds *N records whose RULES point into *STRINGS
 * (free() it after the records).  A PDB without frame data gives 0 and
 * *N = 0.  0 or -EINVAL as pdb_identify() does. */
int pdb_stack_records(struct objfile_map *map, struct breakpad_stack **out,
                      size_t *n, char **strings);

#endif
