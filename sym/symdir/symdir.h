/* SPDX-License-Identifier: MIT */
/*
 * symdir: a struct stackwalk_provider that reads symbol files from local
 * directories, as the symsrvd-stackwalk tool is given them with
 * --symbols.  In each directory, for a module with debug file D (the
 * basename of its PDB or debug path), debug id I, code file C (basename)
 * and code id K, it looks at, in this order:
 *   D/I/D                    symstore layout: a PDB, an ELF debug file,
 *                            or Breakpad text kept under the PDB's name
 *   K/debuginfo              debuginfod's layout (K is the build id)
 *   D/I/D-without-.pdb.sym   Breakpad's symbol store layout
 *   UUID path                LLDB's layout for Mach-O: the debug id's 32
 *                            hex digits as XXXX/XXXX/XXXX/XXXX/XXXX/
 *                            XXXXXXXXXXXX (binary or dSYM, with or without
 *                            ".dSYM")
 *   C/K/C, K/executable      the module binary (PE .pdata, ELF CFI)
 *   D-without-.pdb.sym, D, C   directly in the directory ("flat"), used
 *                            only when the file's own identity matches
 * (debug files with line records come before Breakpad text, which may
 * hold only PUBLIC names, and before stripped binaries).
 * A file's kind is told by its content (objfile_detect()), never by its
 * name.  A dSYM bundle directory found at any of these paths stands for
 * its DWARF file; a Mach-O binary is read with the dSYM beside it; a
 * universal file answers for the slice whose UUID is the module's debug
 * id.  WASM modules are found by build id (K/debuginfo) or as D/I/D.  The first file that yields a symbol table names the frames;
 * Breakpad STACK records, PE .pdata and ELF CFI are taken from whichever
 * file holds them.  Nothing found is not an error: the walker then shows
 * module + offset and unwinds without CFI.
 *
 * CACHE.  What was read for a module (found or not) is kept until
 * symdir_free(), keyed by the module's identity, so a second walk that
 * meets the same modules parses nothing ("warm").
 *
 * THREADS.  A symdir and its provider belong to one thread at a time.
 */
#ifndef SYMSRVD_SYMDIR_H
#define SYMSRVD_SYMDIR_H

#include <stddef.h>

#include "stackwalk/stackwalk.h"

struct symdir;

/* A provider over DIRS[0..N) (searched in order; the strings are copied).
 * Free with symdir_free() (NULL-safe), which releases every table it
 * handed out: walk results that borrow them must be freed first. */
struct symdir *symdir_new(const char *const *dirs, size_t n);
void symdir_free(struct symdir *sd);

struct symtable;

/* Where SD takes a symbol file's table from instead of building it
 * (symsrvd's table cache, shared across jobs): GET gives the table of the
 * file at PATH (a symlink is followed; of a universal Mach-O file, the
 * slice with DEBUG_ID, the module's) and a HANDLE, or -errno, and SD
 * then builds the table itself as it does without TABLES (GET leaves
 * *TABLE and *HANDLE alone when it fails); PUT gives each
 * handle back once SD is freed. */
struct symdir_tables {
    int (*get)(void *ctx, const char *path, const char *debug_id,
               struct symtable **table, void **handle);
    void (*put)(void *ctx, void *handle);
    void *ctx;
};

/* Take tables through T (copied) from now on. */
void symdir_set_tables(struct symdir *sd, const struct symdir_tables *t);

/* Fill *P so that stackwalk_run() reads symbols through SD. */
void symdir_provider(struct symdir *sd, struct stackwalk_provider *p);

/* Number of symbol files read so far (cold lookups; for benchmarks). */
size_t symdir_files_read(const struct symdir *sd);

#endif
