/* SPDX-License-Identifier: MIT */
/*
 * pdb_testutil: what the PDB and PE reader tests share: mapping files,
 * running the LLVM oracles and capturing their output, building the test
 * images with clang-14 + lld-link-14, and turning a reader's output into
 * a loaded symtable.
 */
#ifndef SYMSRVD_PDB_TESTUTIL_H
#define SYMSRVD_PDB_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "objfile/objfile.h"
#include "table/symtable.h"

/* Run the N TESTS as suite NAME (each may take up to two minutes) and
 * return the process exit status. */
int tu_run_suite(const char *name, const TTest *const *tests, size_t n);

/* $abs_top_srcdir/tests/data/pdb/NAME (new string). */
char *tu_data(const char *name);

/* A fresh mkdtemp directory (new string); tu_rmdir() removes it. */
char *tu_tmpdir(void);
void tu_rmdir(const char *dir);


/* Run a shell command and return its stdout (new string), NULL when it
 * exits non-zero. */
char *tu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command and assert that it succeeds. */
void tu_shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* objfile_map() PATH into *MAP, asserting success; tu_unmap() undoes it. */
void tu_map(const char *path, struct objfile_map *map);
void tu_unmap(struct objfile_map *map);

/* Build the test image for ARCH ("x86_64" or "i686") into DIR as
 * NAME.exe + NAME.pdb.  DWARF also true: compile with DWARF as well and
 * link a second image NAME-dwarf.exe from the same objects with
 * /debug:dwarf, whose code is laid out identically. */
void tu_build_image(const char *dir, const char *arch, const char *name,
                    bool dwarf);

/* Read PATH with BUILD (pdb_build or pe_build) into a loaded table; the
 * blob is returned in *BLOB for free(). */
struct symtable *tu_table(const char *path,
                          int (*build)(struct objfile_map *,
                                       struct symtable_builder *),
                          void **blob);

/* Oracle agreement of our table with llvm-symbolizer-14 at every
 * instruction boundary (llvm-objdump-14 -d) of ORACLE_EXE's .text. */
struct tu_agreement {
    size_t addrs;     /* compared addresses (oracle knew a function) */
    size_t unknown;   /* addresses the oracle could not symbolize */
    size_t chain;     /* whole inline chain equal: names, files, lines */
    size_t outer;     /* outer function name equal */
    size_t inner;     /* innermost file:line equal */
    size_t we_deeper; /* differs only by inline frames the oracle lacks */
    size_t inlined;   /* addresses where we report inline frames */
    bool *agree;      /* per address, in .text order: one of the above
                       * agreeing classes (the caller frees it) */
    uint64_t *va;     /* per address: the address itself */
    size_t count;     /* entries in AGREE and VA */
    size_t nolines;   /* neither side has a line here (padding after a
                       * function, code without debug info): we give the
                       * raw public name, the oracle a demangled symbol */
    size_t beyond;    /* the oracle extends a function over the alignment
                       * padding after it; we have no line there */
    size_t line0;     /* equal but where the oracle says line 0: DWARF's
                       * "no line", which CodeView cannot express (clang
                       * keeps the previous line there) */
};

enum {
    TU_LINKAGE = 1,   /* demangled linkage names, compared without their
                       * parameter lists (DWARF); else short names (PDB) */
    TU_NO_INLINES = 2 /* the oracle gives only the outer frame (its
                       * --inlines crashes on some MSVC PDBs): compare it
                       * with our outer frame */
};

/* ORACLE_EXE: the image llvm-symbolizer reads (next to its PDB, or one
 * with DWARF); FLAGS: TU_*.  Disagreements go to stderr, at most SHOW of
 * them. */
void tu_compare(const struct symtable *t, const char *oracle_exe, int flags,
                int show, struct tu_agreement *a);

#endif
