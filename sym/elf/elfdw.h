/* SPDX-License-Identifier: MIT */
/*
 * elfdw: the ELF/DWARF symbol reader, built on elfutils' libelf and libdw.
 *
 * It reports an ELF file's identity as symbol stores key it (GNU build id,
 * the Breakpad/Sentry debug id derived from it, arch, image base) and feeds
 * a symtable builder with every function, line record and inlined call the
 * DWARF describes, plus ELF symbol-table entries for code the DWARF does
 * not cover.  A stripped binary's DWARF is found in its separate debug
 * file (build-id directory or .gnu_debuglink); a separate debug file can
 * also be given directly.
 *
 * IDENTITY CHOICES (documented here because stores and crash reports
 * depend on them):
 *   - code_id is the NT_GNU_BUILD_ID note in lower hex, empty without one.
 *   - debug_id is the first 16 bytes of the build id (zero-padded when
 *     shorter) with the GUID byte swap (Data1 4 bytes, Data2 2, Data3 2
 *     reversed) for little-endian files, upper hex, age "0".  Big-endian
 *     files are not swapped: that is what Sentry's symbolic does (Breakpad
 *     swaps by host order, which agrees for little-endian targets only).
 *   - without a build id, the 16 identifier bytes are the XOR of the first
 *     4096 bytes of .text folded in 16-byte chunks, Breakpad's and
 *     symbolic's fallback; code_id stays empty then.
 *   - image_base is the lowest PT_LOAD p_vaddr, not aligned down: Breakpad
 *     (dump_syms, minidump processor) and symbolic take the first PT_LOAD's
 *     p_vaddr, which is the lowest in a valid file, and llvm-symbolizer-14
 *     applies no ELF image base at all (its --relative-address only uses
 *     COFF ImageBase), so addresses relative to this base are what
 *     Breakpad-style crash reports carry.
 *   - code_file is the file's base name (a trailing ".debug" removed for a
 *     separate debug file); debug_file is the .gnu_debuglink name when the
 *     file has one, else the file's own base name.
 *
 * THREADS.  Calls on different maps may run in parallel; libelf and libdw
 * keep no global state beyond elf_version(), which is idempotent.
 */
#ifndef SYMSRVD_ELFDW_H
#define SYMSRVD_ELFDW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objfile/objfile.h"

struct symtable_builder;

/* Fill *ID from the ELF file in MAP.  Returns 0, or -EINVAL with map->err
 * set when MAP is not a readable ELF file. */
int elfdw_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed B with the functions, line records, inline ranges and symbols of
 * the ELF file in MAP, addresses relative to its image base (also set on
 * B).  The DWARF comes from MAP itself or, when MAP has none, from its
 * separate debug file found as elfdw_find_debug_file() describes (root
 * /usr/lib/debug); a dwz-compressed file's .gnu_debugaltlink file is
 * found and verified the same way.  Without DWARF only the symbol table
 * (.symtab, else .dynsym) is used.  A function is named by the ELF symbol
 * at its start when there is one (it carries clone suffixes and the
 * linkage names GCC omits for internal C++ functions), else by DWARF, as
 * llvm-symbolizer does.  Returns 0; -EINVAL for a malformed ELF or DWARF
 * or an alt link naming the wrong file; -ENOTSUP for relocatable objects
 * (ET_REL) and other non-loadable types; -ENOENT when the file has
 * neither DWARF nor function symbols.  map->err says why on failure. */
int elfdw_build(struct objfile_map *map, struct symtable_builder *b);

/* elfdw_build() restricted to what answers the NRVAS addresses RVAS
 * (relative to the image base, any order): the compile units whose
 * ranges hold one of them (and any CU that states no ranges), plus the
 * symbol table.  A lookup of one of RVAS in the resulting table gives what
 * the complete table gives; other addresses may resolve to a symbol only
 * or to nothing.  This is the cold path: a few addresses cost the CUs
 * they fall in, not the whole file.  Same returns as elfdw_build(). */
int elfdw_build_for(struct objfile_map *map, struct symtable_builder *b,
                    const uint64_t *rvas, size_t nrvas);

/* Find the separate debug file of the ELF file in MAP, the way GDB and
 * llvm-symbolizer do: ROOT/.build-id/xx/rest.debug (its build id must
 * match), then the .gnu_debuglink name (its CRC-32 must match) next to
 * map->path, in its ".debug/" subdirectory and in ROOT/<dir of map->path>.
 * ROOT is normally "/usr/lib/debug" (NULL means that).  Returns 0 with
 * *OUT a new string the caller frees, -ENOENT when none matches, -EINVAL
 * when MAP is not ELF. */
int elfdw_find_debug_file(struct objfile_map *map, const char *root,
                          char **out);

/* What a debuginfod server would serve the ELF file in MAP as, by the
 * rule of elfutils' debuginfod (elf_classify): *EXECUTABLE when it is an
 * executable or shared object (ET_EXEC, ET_DYN) with an allocated
 * SHT_PROGBITS section, *DEBUGINFO when it has a .debug_* or .zdebug_*
 * section.  An unstripped binary is both, a separate debug file only
 * debuginfo.  Returns 0, or -EINVAL with map->err set. */
int elfdw_artifacts(struct objfile_map *map, bool *executable,
                    bool *debuginfo);

/* --- DWARF from other containers ---------------------------------------
 *
 * Mach-O (dSYM) and WebAssembly files carry the same DWARF as ELF, in
 * sections of their own container.  libdw reads DWARF only from an Elf
 * handle, so their readers hand the debug sections here; they are copied
 * into a minimal in-memory ELF image (a header, the sections under their
 * ELF names, a section-name table) opened with elf_memory(), and the same
 * DIE walk and line-table feed as for ELF runs on it.  The copy costs the
 * size of the DWARF once per build; it keeps one DWARF decoder (libdw,
 * which bounds-checks every read) for every format. */

/* One debug section of a foreign container, under its ELF name
 * (".debug_info", ...).  DATA is borrowed.  ADDR is its address in the
 * image (0 for DWARF; .eh_frame needs it, its pointers being relative). */
struct elfdw_section {
    const char *name;
    const uint8_t *data;
    size_t size;
    uint64_t addr;
};

/* The minimal ELF image described above, of the N sections SECS, for
 * libelf's elf_memory(): a new buffer *BUF of *LEN bytes the caller
 * frees (also on failure).  MACHINE is the e_machine (EM_NONE for DWARF
 * alone).  0, or -EINVAL when a 32-bit image would pass 4 GiB. */
int elfdw_image_build(const struct elfdw_section *secs, size_t n, bool is64,
                      uint16_t machine, uint8_t **buf, size_t *len);

/* A function symbol of a foreign container (absolute address; SIZE 0:
 * up to the next symbol).  NAME is borrowed. */
struct elfdw_symbol {
    uint64_t addr, size;
    const char *name;
};

/* Half-open address interval [lo, hi). */
struct elfdw_range {
    uint64_t lo, hi;
};

/* What a foreign reader knows about its file. */
struct elfdw_foreign {
    const char *dwarf_path; /* the file the DWARF comes from, for messages */
    bool is64;              /* 64-bit container: an ELFCLASS64 image */
    uint64_t base;          /* image base; the builder gets addr - base */
    const struct elfdw_section *sections;
    size_t nsections;
    const struct elfdw_range *code; /* where code is (any order) */
    size_t ncode;
    const struct elfdw_symbol *syms; /* any order */
    size_t nsyms;
    /* Prefer the DWARF name of a function to the symbol at its start
     * (the ELF rule is the symbol's, which carries clone suffixes). */
    bool dwarf_names_first;
};

/* Feed B from F as elfdw_build() feeds it from an ELF file: DWARF
 * functions, inline ranges and lines inside F->code, named by the symbol
 * at their start when there is one, then the symbols no DWARF function
 * covers.  RVAS (not NULL) restricts the DWARF to the CUs that hold one of
 * the NRVAS addresses, as elfdw_build_for() does.  Returns 0, -EINVAL
 * (malformed DWARF; MAP->ERR says why) or -ENOENT when there is neither
 * DWARF nor a symbol. */
int elfdw_build_foreign(struct objfile_map *map, const struct elfdw_foreign *f,
                        struct symtable_builder *b, const uint64_t *rvas,
                        size_t nrvas);

#endif
