/* SPDX-License-Identifier: MIT */
/*
 * wasm: the WebAssembly reader.  A .wasm module's DWARF sits in custom
 * sections named ".debug_info", ".debug_line", ...; it goes through the
 * ELF reader's DWARF path (elfdw_build_foreign()), and the "name"
 * section's function names, placed at the code section's function
 * bodies, cover what the DWARF does not.
 *
 * ADDRESSES are offsets into the code section's contents, as clang/
 * wasm-ld write them in DWARF and as Symbolicator treats WASM frames:
 * image_base is 0 and a function's address is the start of its body
 * (after the body's size field).
 *
 * IDENTITY (as symbolic reports it): code_id is the "build_id" custom
 * section's bytes in lower hex; debug_id is its first 16 bytes in upper
 * hex, in file order, with age "0" (empty when the build id is shorter);
 * arch "wasm32"; code_file and debug_file are the file's base name.
 */
#ifndef SYMSRVD_WASM_H
#define SYMSRVD_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objfile/objfile.h"

struct symtable_builder;

/* Whether DATA[0..LEN) starts like a WebAssembly binary module. */
bool wasm_is_module(const uint8_t *data, size_t len);

/* Fill *ID from the module in MAP.  0 or -EINVAL (map->err set). */
int wasm_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed B with the DWARF functions, lines and inline ranges and the named
 * function bodies of MAP.  0, -EINVAL, or -ENOENT with neither DWARF nor
 * names. */
int wasm_build(struct objfile_map *map, struct symtable_builder *b);

/* wasm_build() for the NRVAS RVAS only (the CUs holding them). */
int wasm_build_for(struct objfile_map *map, struct symtable_builder *b,
                   const uint64_t *rvas, size_t nrvas);

#endif
