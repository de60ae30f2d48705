/* SPDX-License-Identifier: MIT */
/*
 * oracle: the harness the reader tests (ELF, Mach-O, WASM) share to hold
 * our symtable against llvm-symbolizer-14: instruction addresses from
 * llvm-objdump-14, the oracle's inline chains, ours, and a comparison
 * that counts known, explained classes of disagreement apart from the
 * unexplained ones; and what the reader tests do around it (a table
 * built, damaged input tried).  Test-only: failures abort the running
 * Check test.
 */
#ifndef SYMSRVD_ORACLE_H
#define SYMSRVD_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objfile/objfile.h"

struct symtable;
struct symtable_builder;

#define ORACLE_MAX_FRAMES 64

/* vasprintf that aborts on failure: a new string. */
char *oracle_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* Run CMD with the shell; the test fails unless it exits 0. */
void oracle_run(const char *cmd);
/* The whole file PATH, NUL-terminated; *LEN (when not NULL) its size. */
char *oracle_slurp(const char *path, size_t *len);
/* The output of CMD, through a scratch file in DIR. */
char *oracle_capture(const char *dir, const char *cmd);
/* Next line of *P (NUL-terminated in place), or NULL at the end. */
char *oracle_next_line(char **p);
/* "path:line" or "path:line:column" into LOC's file and line. */
void oracle_parse_loc(char *loc, char **file, unsigned *line);

struct oracle_frame {
    char *func, *file;
    unsigned line;
};
struct oracle_chain {
    struct oracle_frame f[ORACLE_MAX_FRAMES];
    size_t n;
};
enum oracle_class {
    ORACLE_AGREE,
    /* The oracle names the outer function differently: eu-addr2line takes
     * the DWARF name where we (and llvm-symbolizer) take the ELF symbol at
     * the function's start (clones such as foo.constprop.0 / foo.cold,
     * internal-linkage C++ names GCC gives no DW_AT_linkage_name). */
    ORACLE_OUTER_NAME,
    /* Alignment padding between functions: no function covers it, so the
     * symtable answers nothing, while the oracles still report the line
     * row that runs on to the next sequence, or (Mach-O, whose symbols
     * have no size) the symbol before it with no location: a jump table
     * after a function's DWARF end. */
    ORACLE_PADDING,
    /* A function known only from the symbol table: we give the file of
     * the STT_FILE symbol before it (line 0), the oracle prints ??. */
    ORACLE_SYMTAB_FILE,
    /* eu-addr2line only: it differs from us while llvm-symbolizer gives
     * exactly our frames (eu-addr2line drops some inline frames of C++
     * code, e.g. a member inlined into a member inlined into a caller). */
    ORACLE_LLVM_SIDES_WITH_US,
    ORACLE_OTHER,
    ORACLE_COUNT
};
struct oracle_agreement {
    double exact;    /* every frame equal */
    double location; /* equal but for the naming policies of the classes
                      * outer-name and symtab-file */
    double padding;  /* the padding class: code no function covers */
    size_t unexplained;
};

void oracle_chain_push(struct oracle_chain *c, const char *func,
                       const char *file, unsigned line);
void oracle_chains_free(struct oracle_chain *v, size_t n);
bool oracle_chain_eq(const struct oracle_chain *a,
                     const struct oracle_chain *b);
void oracle_print_chain(const char *who, const struct oracle_chain *c);

/* llvm-symbolizer output for N addresses into N chains. */
struct oracle_chain *oracle_parse_llvm(char *text, size_t n);
/* llvm-symbolizer-14 --inlines on BIN for the addresses in AFILE. */
struct oracle_chain *oracle_llvm_answers(const char *dir, const char *bin,
                                         const char *afile, size_t n);
/* Our chains for the absolute ADDRS (the table's image base is
 * subtracted). */
struct oracle_chain *oracle_ours(const struct symtable *t,
                                 const uint64_t *addrs, size_t n);
/* Instruction boundaries of SECTION of BIN, from llvm-objdump-14 (any
 * architecture and container). */
uint64_t *oracle_text_addresses(const char *dir, const char *section,
                                const char *bin, size_t *n);
/* ADDRS one per line in hex into DIR/addrs.txt; its path. */
char *oracle_write_addresses(const char *dir, const uint64_t *a, size_t n);

/* The class of the difference between an oracle's chain O and ours U. */
enum oracle_class oracle_classify(const struct oracle_chain *o,
                                  const struct oracle_chain *u);
/* Compare ours (U) with an oracle's answers (O) and report; REF, when not
 * NULL, is the other oracle's. */
struct oracle_agreement
oracle_compare(const char *label, const char *oracle, const uint64_t *addrs,
               const struct oracle_chain *o, const struct oracle_chain *u,
               const struct oracle_chain *ref, size_t n);

/* A table built by a reader: T borrows BLOB. */
struct oracle_built {
    struct symtable *t;
    void *blob;
};

/* Finish B into *OUT (the test fails if the table does not pack and
 * load); B stays the caller's. */
void oracle_built_load(struct symtable_builder *b, struct oracle_built *out);
void oracle_built_free(struct oracle_built *b);

typedef int oracle_identify_fn(struct objfile_map *, struct objfile_ident *);
typedef int oracle_build_fn(struct objfile_map *, struct symtable_builder *);

/* Identify and build DATA[0..LEN) as a file without a path (no companion
 * search) with a reader's functions; any result is fine as long as a
 * failure says why.  Returns the reader's result. */
int oracle_try_bytes(const uint8_t *data, size_t len,
                     oracle_identify_fn *identify, oracle_build_fn *build);

#endif
