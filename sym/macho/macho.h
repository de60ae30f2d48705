/* SPDX-License-Identifier: MIT */
/*
 * macho: the Mach-O reader: thin and universal (fat, fat64) files, 32-
 * and 64-bit little-endian images (x86_64, arm64/arm64e, i386, arm), and
 * dSYM companion files, whose DWARF goes through the ELF reader's DWARF
 * path (elfdw_build_foreign()).
 *
 * IDENTITY CHOICES (as Symbolicator and symbolic report them):
 *   - debug_id is the LC_UUID bytes in upper hex, in file order (no GUID
 *     byte swap), followed by age "0"; code_id is the same UUID in lower
 *     hex; an image without LC_UUID has both empty.
 *   - arch: "x86", "x86_64", "x86_64h", "arm", "arm64", "arm64e",
 *     "arm64_32" from cputype/cpusubtype.
 *   - image_base is the vmaddr of the __TEXT segment (the segment mapping
 *     the header), so that RVAs are image-relative as for ELF and
 *     Breakpad's macOS symbol files.
 *   - code_file and debug_file are the file's base name; for a dSYM the
 *     inner file's name, which is the binary's.
 *
 * UNIVERSAL FILES answer for one slice: the one whose UUID or
 * architecture is asked for with the _slice functions, else the first.
 *
 * DWARF.  A dSYM (MH_DSYM) carries __DWARF,__debug_* sections; a binary
 * without them is paired, as llvm-symbolizer and lldb do, with
 * NAME.dSYM/Contents/Resources/DWARF/NAME beside it when that file has a
 * slice of the same UUID.  A binary's debug map (N_OSO stabs naming the
 * object files that still hold the DWARF) is not followed: dsymutil's
 * output is what gets shipped.  The
 * binary's own LC_SYMTAB functions (leading '_' removed, the C symbol
 * prefix) bounded by LC_FUNCTION_STARTS cover what the DWARF does not.
 * Relocatable objects (MH_OBJECT) and big-endian (PowerPC) images are
 * -ENOTSUP.
 */
#ifndef SYMSRVD_MACHO_H
#define SYMSRVD_MACHO_H

#include <stddef.h>
#include <stdint.h>

#include "objfile/objfile.h"

struct symtable_builder;

/* The most slices a universal file may list; more is malformed (real
 * files have two or three). */
#define MACHO_MAX_SLICES 64

/* Fill *ID from the first slice of MAP.  0, -EINVAL (malformed, map->err
 * set) or -ENOTSUP. */
int macho_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed B from the first slice of MAP, addresses relative to its __TEXT
 * vmaddr.  0, -EINVAL, -ENOTSUP, or -ENOENT without DWARF and symbols. */
int macho_build(struct objfile_map *map, struct symtable_builder *b);

/* macho_build() for the NRVAS RVAS only (the CUs holding them). */
int macho_build_for(struct objfile_map *map, struct symtable_builder *b,
                    const uint64_t *rvas, size_t nrvas);

/* The slice of a universal (or thin) file that WANT names: an arch name
 * as macho_identify() reports it, or a UUID / debug id in hex (dashes
 * and a trailing age allowed, any case).  NULL or "" means the first.
 * Returns 0, -ENOENT when no slice matches, or the errors above. */
int macho_identify_slice(struct objfile_map *map, const char *want,
                         struct objfile_ident *id);
int macho_build_slice(struct objfile_map *map, const char *want,
                      struct symtable_builder *b, const uint64_t *rvas,
                      size_t nrvas);

/* Every slice's identity into IDS[0..MAX); *N receives the number of
 * slices (a thin file has one).  0 or -errno. */
int macho_slices(struct objfile_map *map, struct objfile_ident *ids, size_t max,
                 size_t *n);

/* A section of a slice, for the compact unwinder. */
struct macho_section_info {
    const uint8_t *data; /* its bytes in the map; NULL when none in the file */
    size_t len;
    uint64_t addr;      /* its vmaddr */
    uint64_t text_addr; /* the __TEXT segment's vmaddr (the image base) */
};

/* Section SEG,SECT of the slice WANT (as for macho_identify_slice()) of
 * MAP into *OUT.  0, -ENOENT when the slice has no such section, or the
 * errors of macho_identify_slice(). */
int macho_section_find(struct objfile_map *map, const char *want,
                       const char *seg, const char *sect,
                       struct macho_section_info *out);

/* The DWARF file of a dSYM bundle: for PATH a directory ending in
 * ".dSYM", the one regular file in PATH/Contents/Resources/DWARF/.
 * 0 with *OUT a new string, -ENOENT when PATH is no such bundle. */
int macho_dsym_file(const char *path, char **out);

#endif
