/* SPDX-License-Identifier: MIT */
/*
 * unwind_postfix: the postfix expression language of Breakpad's STACK CFI
 * rules and STACK WIN programs (Breakpad's PostfixEvaluator).  Internal
 * to the unwind module.
 *
 * Tokens are separated by white space.  A token is an operator
 * (+ - * / % @ binary, ^ dereference, = assignment), a decimal literal
 * with an optional leading '-', or an identifier.  Identifiers are pushed
 * as they are and looked up only when an operator pops them: first among
 * the evaluator's variables (.cfa, $T0, .raSearch, ...), then, when REGS
 * is set, among REGS's known registers by their STACK CFI names.  '=' pops
 * a value and an identifier that must begin with '$' and sets a variable.
 * A '=' glued to the next token ("=$eip") counts as two tokens, as MSVC
 * writes it.  Arithmetic wraps at the address size.
 *
 * Bounds: the operand stack holds UNWIND_PF_STACK items and the variable
 * table UNWIND_PF_VARS names; beyond either evaluation fails.  Every token
 * is handled once, so the work is linear in the expression's length.
 */
#ifndef SYMSRVD_UNWIND_POSTFIX_H
#define SYMSRVD_UNWIND_POSTFIX_H

#include "unwind/unwind.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNWIND_PF_STACK 64
#define UNWIND_PF_VARS  48

struct unwind_pf_var {
    const char *name; /* borrowed: the expression or a static string */
    size_t len;
    uint64_t value;
    bool assigned; /* set by '=' (not by unwind_pf_set) */
};

struct unwind_pf_item {
    const char *tok; /* identifier or literal, unresolved */
    size_t len;
    uint64_t value;
    bool resolved; /* VALUE holds the result of an operator */
};

struct unwind_pf {
    enum unwind_cpu cpu;
    uint64_t mask;        /* 0xffffffff or all ones */
    unsigned word;        /* bytes read by ^ */
    const struct unwind_memory *mem;
    const struct unwind_regs *regs; /* may be NULL */
    struct unwind_pf_var vars[UNWIND_PF_VARS];
    size_t nvars;
    struct unwind_pf_item stack[UNWIND_PF_STACK];
    size_t depth;
};

/* Start an evaluator for CPU's word size over MEM (and REGS, or NULL). */
void unwind_pf_init(struct unwind_pf *pf, enum unwind_cpu cpu,
                    const struct unwind_memory *mem,
                    const struct unwind_regs *regs);

/* Set variable NAME (a string that outlives PF) to VALUE.  0 or -ENOSPC. */
int unwind_pf_set(struct unwind_pf *pf, const char *name, uint64_t value);

/* The variable NAME[0..LEN), or NULL. */
struct unwind_pf_var *unwind_pf_find(struct unwind_pf *pf, const char *name,
                                     size_t len);

/* Evaluate EXPR[0..LEN) and require exactly one value left: *OUT.
 * 0 or -EINVAL (syntax, unknown identifier, unreadable memory, division
 * by zero, bounds). */
int unwind_pf_value(struct unwind_pf *pf, const char *expr, size_t len,
                    uint64_t *out);

/* Evaluate the program EXPR[0..LEN) for its assignments and require an
 * empty stack at the end.  0 or -EINVAL. */
int unwind_pf_run(struct unwind_pf *pf, const char *expr, size_t len);

/* Check EXPR[0..LEN) without evaluating it: no operator lacks operands,
 * the stack stays within bounds and ends with WANT items.  Used at index
 * time so that malformed records are reported once. */
bool unwind_pf_check(const char *expr, size_t len, size_t want);

/* The next white-space separated token of S[*POS..LEN): its start in
 * *TOK and length in *TLEN; false at the end. */
bool unwind_pf_token(const char *s, size_t len, size_t *pos, const char **tok,
                     size_t *tlen);

#endif
