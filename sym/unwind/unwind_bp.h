/* SPDX-License-Identifier: MIT */
/*
 * unwind_bp: what unwind_breakpad.c (the index, STACK CFI) shares with
 * unwind_bpwin.c (the x86 STACK WIN walk).  Internal to the unwind module.
 */
#ifndef SYMSRVD_UNWIND_BP_H
#define SYMSRVD_UNWIND_BP_H

#include "unwind/unwind.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct breakpad_stack;

/* One "name: expr" pair of a STACK CFI rule set.  NAME keeps its ':';
 * EXPR is NULL when the name is followed by another name or nothing. */
struct unwind_bp_rule {
    const char *name, *expr;
    size_t name_len, expr_len;
};

/* The next rule of S[*POS..LEN), or false at the end. */
bool unwind_bp_rule_next(const char *s, size_t len, size_t *pos,
                         struct unwind_bp_rule *rule);

/* The STACK WIN record for RVA (innermost frame-data record, else
 * innermost FPO record), or NULL.  Borrowed from the index's input. */
const struct breakpad_stack *unwind_bp_win_find(const struct unwind_bpindex *ix,
                                                uint64_t rva);

#endif
