/* SPDX-License-Identifier: MIT */
/*
 * breakpad: reader of Breakpad text symbol files (.sym), as written by
 * dump_syms and kept by Mozilla's and Sentry's symbol stores.
 *
 * Records understood: MODULE, INFO CODE_ID, FILE, FUNC [m], line records,
 * PUBLIC [m], INLINE_ORIGIN, INLINE and STACK CFI / STACK WIN; other INFO
 * kinds are skipped.  Anything else, or a malformed record, fails with
 * -EINVAL and "PATH:LINE: reason" in map->err.
 *
 * Breakpad addresses are already relative to the module base, so the
 * image base is 0.  Breakpad INLINE depths count from 0 for a call
 * inlined directly into the FUNC; the symtable's count from 1.
 *
 * THREADS.  No global state: calls on different maps may run at once.
 */
#ifndef SYMSRVD_BREAKPAD_H
#define SYMSRVD_BREAKPAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objfile/objfile.h"

/* Fill *ID from the MODULE and INFO CODE_ID records: debug_id = MODULE
 * id, debug_file = MODULE name, code_id / code_file from INFO CODE_ID
 * (code_id lower-cased except for Windows modules, whose PE form is upper
 * hex; code_file defaults to the module name off Windows).
 * 0, or -EINVAL with map->err set. */
int breakpad_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed every FUNC, line, PUBLIC and INLINE record of MAP into B.  The
 * syntax of every record is checked before anything is fed, but a FILE or
 * INLINE_ORIGIN id used without a definition is only found while feeding:
 * on error B may hold part of the file and should be discarded.
 * 0, or -EINVAL with map->err set ("PATH:LINE: reason"). */
int breakpad_build(struct objfile_map *map, struct symtable_builder *b);

enum breakpad_stack_kind {
    BREAKPAD_STACK_CFI_INIT, /* STACK CFI INIT addr size rules */
    BREAKPAD_STACK_CFI,      /* STACK CFI addr rules (size 0) */
    BREAKPAD_STACK_WIN,      /* STACK WIN type rva size ... */
};

/* One STACK record, kept for stack walking.  RULES points into the map
 * (not NUL-terminated, RULES_LEN bytes): the CFI rules, or the STACK WIN
 * program string (empty when the record has none). */
struct breakpad_stack {
    enum breakpad_stack_kind kind;
    uint64_t rva, size;
    const char *rules;
    size_t rules_len;
    /* STACK WIN only; the field names follow Breakpad's documentation. */
    uint32_t win_type, prolog_size, epilog_size, parameter_size;
    uint32_t saved_register_size, local_size, max_stack_size;
    bool has_program_string;
    bool allocates_base_pointer;
};

/* Every STACK record of MAP in file order, in a new array *OUT of *N
 * entries (caller frees *OUT with free(); NULL when *N is 0).  The RULES
 * pointers borrow the map and are valid until objfile_unmap().
 * 0, or -EINVAL with map->err set. */
int breakpad_stack_records(struct objfile_map *map, struct breakpad_stack **out,
                           size_t *n);

#endif
