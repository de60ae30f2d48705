/* SPDX-License-Identifier: MIT */
/*
 * elfdw_priv: what the two halves of the ELF/DWARF reader share.  elfdw.c
 * opens ELF files, reports identity, reads segments and finds separate
 * debug files; elfdw_dwarf.c walks the DWARF and the ELF symbol table into
 * a symtable builder.  Not part of the library API: include elfdw.h.
 */
#ifndef SYMSRVD_ELFDW_PRIV_H
#define SYMSRVD_ELFDW_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdw.h>
#include <gelf.h>

#include "elf/elfdw.h"
#include "objfile/objfile.h"

struct symtable_builder;

struct elfdw_ranges {
    struct elfdw_range *v;
    size_t n, cap;
};

void elfdw_ranges_add(struct elfdw_ranges *r, uint64_t lo, uint64_t hi);
/* Sort and merge overlapping or touching intervals, so that
 * elfdw_ranges_contains() can binary-search. */
void elfdw_ranges_normalize(struct elfdw_ranges *r);
bool elfdw_ranges_contains(const struct elfdw_ranges *r, uint64_t addr);
/* Index of the first interval of a normalized R ending after ADDR (R->n
 * when none does). */
size_t elfdw_ranges_find(const struct elfdw_ranges *r, uint64_t addr);
void elfdw_ranges_free(struct elfdw_ranges *r);

/* Function symbols of the ELF symbol table, sorted by address, one per
 * address. */
struct elfdw_sym {
    uint64_t addr, size;
    const char *name; /* borrowed from the ELF string table */
    const char *file; /* STT_FILE name for a local, else NULL */
    size_t index;     /* position in the symbol table */
};

struct elfdw_syms {
    struct elfdw_sym *v;
    size_t n, cap;
};

/* State of one elfdw_build() run.  Addresses in the ranges are absolute
 * (as in the ELF file); the builder gets them minus BASE. */
struct elfdw_build_ctx {
    struct objfile_map *map;     /* the file asked for, for messages */
    const char *dwarf_path;      /* the file the DWARF comes from */
    struct symtable_builder *b;
    uint64_t base;               /* image base: lowest PT_LOAD p_vaddr */
    struct elfdw_ranges exec;    /* executable PT_LOAD segments */
    struct elfdw_ranges covered; /* code covered by DWARF functions */
    struct elfdw_syms syms;      /* the symbol table, see below */
    /* Absolute addresses, sorted: only CUs whose ranges hold one of them
     * are fed (a CU without ranges is always fed).  NULL: every CU. */
    const uint64_t *want;
    size_t nwant;
    uint64_t *want_own; /* what WANT points to, freed with the ctx */
    /* Name DWARF functions by their DWARF name even where a symbol starts
     * (WASM: the name section holds linker names such as
     * __original_main). */
    bool dwarf_names_first;
};

/* Set C->want from the RVAS (made absolute with C->base, sorted). */
void elfdw_want_set(struct elfdw_build_ctx *c, const uint64_t *rvas, size_t n);

/* Feed every CU of DW (functions, inline ranges, line table) into C->b,
 * or only those C->want selects.  Code outside C->exec is skipped (functions of discarded sections keep
 * address 0 in GNU ld output).  0 or -EINVAL with map->err set. */
int elfdw_dwarf_feed(struct elfdw_build_ctx *c, Dwarf *dw);

/* Read the function symbols of ELF (.symtab, else .dynsym) that lie in
 * executable segments into C->syms.  0 or -EINVAL with map->err set. */
int elfdw_symtab_load(struct elfdw_build_ctx *c, Elf *elf);

/* Sort C->syms by address and keep one symbol per address (the
 * largest, then the last in the table). */
void elfdw_syms_sort(struct elfdw_syms *syms);

/* The name of the function symbol starting at ADDR, or NULL. */
const char *elfdw_symtab_name_at(const struct elfdw_build_ctx *c,
                                 uint64_t addr);

/* Feed the symbols of C->syms outside C->covered (and, when C->want is
 * set, only those that can answer one of its addresses). */
void elfdw_symtab_feed(struct elfdw_build_ctx *c);

/* Where distributions install debug files (and dwz alt files). */
#define ELFDW_DEBUG_ROOT "/usr/lib/debug"

/* Open MAP with libelf into *OUT (released with elf_end()); *EH receives
 * the ELF header.  0 or -EINVAL with map->err set. */
int elfdw_open(struct objfile_map *map, Elf **out, GElf_Ehdr *eh);

/* elfdw_find_debug_file() for an opened ELF: 0 and *OUT (new string), or
 * -ENOENT. */
int elfdw_find_companion(struct objfile_map *map, Elf *elf, const char *root,
                         char **out);

/* A dwz alt file (.gnu_debugaltlink) handed to libdw. */
struct elfdw_alt {
    struct objfile_map map;
    bool mapped;
    Elf *elf;
    Dwarf *dw;
};

/* Find, verify (build id, regular file) and attach with dwarf_setalt()
 * the alt file of DW, whose DWARF file is MAP; looked for as
 * ROOT/.build-id/xx/rest.debug, then at the path the link names
 * (relative to MAP's directory).  0 when attached or when the file has no
 * link or nothing is at either place; -EINVAL (map->err set) when the
 * link names something that is not the right file.  Release with
 * elfdw_alt_close() after dwarf_end(DW). */
int elfdw_alt_open(struct objfile_map *map, Dwarf *dw, const char *root,
                   struct elfdw_alt *alt);
void elfdw_alt_close(struct elfdw_alt *alt);

#endif
