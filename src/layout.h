/* SPDX-License-Identifier: MIT */
/*
 * layout: which files a symbol source is asked for, and under which
 * paths, for one module, following Sentry Symbolicator's rules (the
 * file-type order per module type and the path of every file type in the
 * native, symstore, symstore_index2, ssqp, debuginfod, unified and
 * slashsymbols layouts, then the source's casing, then the "_"-compressed
 * name of PE and PDB files), plus a "breakpad" layout of our own (a
 * Mozilla-style store: symstore paths for PE and PDB files, Breakpad .sym
 * files at <debug_file>/<ID>/<name>.sym).  Pure functions on strings: the
 * /symbolicate sources use it, and so do the daemon's own upstreams, which
 * first turn a client's request key into ids (layout_key(),
 * layout_buildid()).
 *
 * THREADS.  Stateless.
 */
#ifndef SYMSRVD_LAYOUT_H
#define SYMSRVD_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAYOUT_PATH_MAX 800
#define LAYOUT_MAX_PATHS 8 /* paths one file type can yield */
#define LAYOUT_MAX_FILETYPES 16

enum layout_type {
    LAYOUT_NATIVE,
    LAYOUT_SYMSTORE,
    LAYOUT_SYMSTORE_INDEX2,
    LAYOUT_SSQP,
    LAYOUT_DEBUGINFOD,
    LAYOUT_UNIFIED,
    LAYOUT_SLASHSYMBOLS,
    LAYOUT_BREAKPAD,
};

enum layout_casing { LAYOUT_CASE_DEFAULT, LAYOUT_CASE_LOWER, LAYOUT_CASE_UPPER };

/* Module types, as a request's modules[].type names them. */
enum layout_obj {
    LAYOUT_OBJ_UNKNOWN,
    LAYOUT_OBJ_PE,
    LAYOUT_OBJ_PE_DOTNET,
    LAYOUT_OBJ_ELF,
    LAYOUT_OBJ_MACHO,
    LAYOUT_OBJ_WASM,
};

/* File types, in Symbolicator's spelling (layout_filetype_name()). */
enum layout_ft {
    LAYOUT_FT_PE,
    LAYOUT_FT_PDB,
    LAYOUT_FT_PORTABLEPDB,
    LAYOUT_FT_MACH_DEBUG,
    LAYOUT_FT_MACH_CODE,
    LAYOUT_FT_ELF_DEBUG,
    LAYOUT_FT_ELF_CODE,
    LAYOUT_FT_WASM_DEBUG,
    LAYOUT_FT_WASM_CODE,
    LAYOUT_FT_BREAKPAD,
    LAYOUT_FT_COUNT
};

/* What a module says about itself, normalised. */
struct layout_ids {
    enum layout_obj obj;
    bool has_debug_id;
    uint8_t uuid[16]; /* the debug id's UUID, in printed byte order */
    uint32_t age;
    char code_id[80];      /* lower-case hex, "" when none */
    const char *debug_file; /* full paths as sent, NULL when none */
    const char *code_file;
};

/* "native", "symstore", ... -> *OUT.  0 or -EINVAL. */
int layout_parse_type(const char *s, enum layout_type *out);
/* "default", "lowercase", "uppercase" -> *OUT.  0 or -EINVAL. */
int layout_parse_casing(const char *s, enum layout_casing *out);
/* "pe", "elf", ...; anything else is LAYOUT_OBJ_UNKNOWN (accepted). */
enum layout_obj layout_parse_obj(const char *s);
/* "pe", "pdb", "elf_debug", ... -> *OUT.  0 or -EINVAL. */
int layout_parse_filetype(const char *s, enum layout_ft *out);
const char *layout_filetype_name(enum layout_ft ft);

/* Parse a debug id the way Symbolicator does: hyphenated or compact UUID
 * in either case, optional age (hex, truncated to 8 digits, junk after it
 * ignored), 9..17 characters as a PDB 2.0 signature + age.  0 or
 * -EINVAL. */
int layout_parse_debug_id(const char *s, uint8_t uuid[16], uint32_t *age);
/* Canonical text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx[-age]" (BUF of at
 * least 48 bytes). */
void layout_format_debug_id(const uint8_t uuid[16], uint32_t age, char *buf,
                            size_t len);
/* Breakpad form: 32 upper-case hex digits + age in lower-case hex. */
void layout_breakpad_id(const uint8_t uuid[16], uint32_t age, char *buf,
                        size_t len);
/* Keep only hex digits of S, lower-cased, into BUF. */
void layout_normalize_code_id(const char *s, char *buf, size_t len);

/* File types tried for a module of type OBJ, in order, into OUT.
 * Returns how many. */
size_t layout_filetypes(enum layout_obj obj,
                        enum layout_ft out[LAYOUT_MAX_FILETYPES]);

/* Relative paths (no leading '/') under which a source of layout TYPE and
 * CASING holds file type FT of the module IDS, preferred first, into
 * OUT.  Returns how many (0 when the layout cannot express FT for these
 * ids).  For PE and PDB files the second half of the list holds the
 * compressed names ("crash.pd_") of the first half, in the same order. */
size_t layout_paths(enum layout_type type, enum layout_casing casing,
                    const struct layout_ids *ids, enum layout_ft ft,
                    char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX]);

/* What a symbol-store request key NAME/ID/FILE (as a client asks the
 * daemon) holds, so that it can be asked for in any layout: FILE ending
 * in ".sym" is the Breakpad file of debug file NAME (ID a debug id), a
 * NAME ending in ".pdb" with FILE == NAME a PDB (ID its GUID and age),
 * any other NAME == FILE with ID of 9 to 16 hex digits a PE image (ID its
 * timestamp and image size).  IDS borrows NAME.  0, or -EINVAL when the
 * key is none of these (only a store of the client's own layout can hold
 * it). */
int layout_key(const char *name, const char *id, const char *file,
               struct layout_ids *ids, enum layout_ft *ft);

/* The ids and file type of an ELF file by build id BUILD_ID (hex): its
 * debug file, or its executable when EXE.  0, or -EINVAL when too long. */
int layout_buildid(const char *build_id, bool exe, struct layout_ids *ids,
                   enum layout_ft *ft);

#endif
