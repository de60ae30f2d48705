/* SPDX-License-Identifier: MIT */
/*
 * unwind_breakpad: the STACK CFI and STACK WIN records of one Breakpad
 * module, indexed by RVA, and the index itself.  The x86 STACK WIN walk
 * is in unwind_bpwin.c.
 *
 * DESIGN.  The index keeps three sorted arrays of borrowed records: CFI
 * INIT ranges, CFI deltas (by address, as Breakpad keys them: a delta
 * applies to whatever INIT covers its address) and STACK WIN ranges by
 * type (frame data 4, FPO 0; other types are never used for walking, as
 * in Breakpad).  Lookups follow Breakpad's maps: INIT ranges may not
 * overlap (RangeMap: a range that overlaps an earlier one is dropped),
 * WIN ranges may nest and the innermost covering range wins
 * (ContainedRangeMap: a range that partially overlaps, or repeats, an
 * earlier one is dropped).  Each WIN range keeps its parent, so a lookup
 * is a binary search plus a walk up the nesting.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"
#include "unwind/unwind_bp.h"
#include "unwind/unwind_postfix.h"

#include "breakpad/breakpad.h"
#include "bound.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BP_NONE SIZE_MAX

struct bp_range {
    uint64_t start, end; /* [start, end) */
    const struct breakpad_stack *rec;
    size_t order;  /* position in the input, for stable sorting */
    size_t parent; /* enclosing range (WIN only), or BP_NONE */
};

struct unwind_bpindex {
    struct bp_range *cfi;
    size_t ncfi;
    struct bp_range *delta; /* start = address; end unused */
    size_t ndelta;
    struct bp_range *win[2]; /* [0] frame data (type 4), [1] FPO (type 0) */
    size_t nwin[2];
};

static int bp_fail(char *err, size_t errlen, const struct breakpad_stack *s,
                   const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bp_fail(char *err, size_t errlen, const struct breakpad_stack *s,
                   const char *fmt, ...)
{
    va_list ap;
    int n;

    if (err == NULL || errlen == 0)
        return -EINVAL;
    n = snprintf(err, errlen, "STACK %s %llx: ",
                 s->kind == BREAKPAD_STACK_WIN ? "WIN" : "CFI",
                 (unsigned long long)s->rva);
    if (n >= 0 && (size_t)n < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* --- rule syntax ----------------------------------------------------- */

bool unwind_bp_rule_next(const char *s, size_t len, size_t *pos,
                         struct unwind_bp_rule *rule)
{
    size_t p = *pos, after, tlen;
    const char *t;

    if (!unwind_pf_token(s, len, &p, &t, &tlen))
        return false;
    rule->name = t;
    rule->name_len = tlen;
    rule->expr = NULL;
    rule->expr_len = 0;
    after = p;
    while (unwind_pf_token(s, len, &p, &t, &tlen) && t[tlen - 1] != ':') {
        if (rule->expr == NULL)
            rule->expr = t;
        rule->expr_len = (size_t)(t + tlen - rule->expr);
        after = p;
    }
    *pos = after;
    return true;
}

/* Breakpad's CFIRuleParser: "name: expr" pairs, names non-empty, every
 * expression non-empty and leaving one value. */
static int bp_check_cfi(const struct breakpad_stack *s, char *err,
                        size_t errlen)
{
    struct unwind_bp_rule r;
    size_t pos = 0;

    while (unwind_bp_rule_next(s->rules, s->rules_len, &pos, &r)) {
        if (r.name_len < 2 || r.name[r.name_len - 1] != ':')
            return bp_fail(err, errlen, s, "expected a rule name, got '%.*s'",
                           (int)r.name_len, r.name);
        if (r.expr == NULL)
            return bp_fail(err, errlen, s, "rule '%.*s' has no expression",
                           (int)r.name_len, r.name);
        if (!unwind_pf_check(r.expr, r.expr_len, 1))
            return bp_fail(err, errlen, s, "rule '%.*s' is not one value",
                           (int)r.name_len, r.name);
    }
    if (pos == 0)
        return bp_fail(err, errlen, s, "no rules");
    return 0;
}

static int bp_check(const struct breakpad_stack *s, char *err, size_t errlen)
{
    if (s->kind != BREAKPAD_STACK_WIN)
        return bp_check_cfi(s, err, errlen);
    if (s->has_program_string &&
        !unwind_pf_check(s->rules, s->rules_len, 0))
        return bp_fail(err, errlen, s, "program string does not balance");
    return 0;
}

/* --- building -------------------------------------------------------- */

static int bp_range_cmp(const void *a, const void *b)
{
    const struct bp_range *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end) /* outer ranges first */
        return x->end > y->end ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void bp_push(struct bp_range **v, size_t *n,
                    const struct breakpad_stack *s, uint64_t end, size_t order)
{
    struct bp_range *r;

    /* The arrays are sized for every record up front (bp_alloc). */
    r = &(*v)[(*n)++];
    r->start = s->rva;
    r->end = end;
    r->rec = s;
    r->order = order;
    r->parent = BP_NONE;
}

/* Sort V and drop what Breakpad's maps would refuse; with NEST, give each
 * range its enclosing one. */
static void bp_settle(struct bp_range *v, size_t *n, bool nest)
{
    size_t stack[64], depth = 0, kept = 0;

    qsort(v, *n, sizeof(*v), bp_range_cmp);
    for (size_t i = 0; i < *n; i++) {
        struct bp_range r = v[i];

        while (depth > 0 && v[stack[depth - 1]].end <= r.start)
            depth--;
        if (depth > 0) {
            const struct bp_range *top = &v[stack[depth - 1]];

            if (!nest || r.end > top->end ||
                (r.start == top->start && r.end == top->end))
                continue;
            r.parent = stack[depth - 1];
        }
        v[kept] = r;
        /* Deeper than the stack: kept, but as a leaf nothing nests in. */
        if (depth < sizeof(stack) / sizeof(stack[0]))
            stack[depth++] = kept;
        kept++;
    }
    *n = kept;
}

static void bp_add(struct unwind_bpindex *ix, const struct breakpad_stack *s,
                   size_t order)
{
    uint64_t end = s->rva + s->size;

    if (s->kind == BREAKPAD_STACK_CFI) {
        bp_push(&ix->delta, &ix->ndelta, s, 0, order);
        return;
    }
    if (s->size == 0 || end < s->rva)
        return; /* an empty or wrapping range is never stored */
    if (s->kind == BREAKPAD_STACK_CFI_INIT)
        bp_push(&ix->cfi, &ix->ncfi, s, end, order);
    else if (s->win_type == 4)
        bp_push(&ix->win[0], &ix->nwin[0], s, end, order);
    else if (s->win_type == 0)
        bp_push(&ix->win[1], &ix->nwin[1], s, end, order);
}

int unwind_bpindex_new(const struct breakpad_stack *recs, size_t n,
                       struct unwind_bpindex **out, char *err, size_t errlen)
{
    struct unwind_bpindex *ix = xcalloc(1, sizeof(*ix));
    size_t cap = n > 0 ? n : 1;
    int rc = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    *out = NULL;
    ix->cfi = xcalloc(cap, sizeof(*ix->cfi));
    ix->delta = xcalloc(cap, sizeof(*ix->delta));
    ix->win[0] = xcalloc(cap, sizeof(*ix->win[0]));
    ix->win[1] = xcalloc(cap, sizeof(*ix->win[1]));
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = bp_check(&recs[i], err, errlen);
        if (rc == 0)
            bp_add(ix, &recs[i], i);
    }
    if (rc != 0) {
        unwind_bpindex_free(ix);
        return rc;
    }
    bp_settle(ix->cfi, &ix->ncfi, false);
    qsort(ix->delta, ix->ndelta, sizeof(*ix->delta), bp_range_cmp);
    bp_settle(ix->win[0], &ix->nwin[0], true);
    bp_settle(ix->win[1], &ix->nwin[1], true);
    *out = ix;
    return 0;
}

void unwind_bpindex_free(struct unwind_bpindex *ix)
{
    if (ix == NULL)
        return;
    free(ix->cfi);
    free(ix->delta);
    free(ix->win[0]);
    free(ix->win[1]);
    free(ix);
}

/* --- lookups --------------------------------------------------------- */

/* The number of entries of V[0..N) whose start is <= RVA. */
static size_t bp_upper(const struct bp_range *v, size_t n, uint64_t rva)
{
    return bound_upper(v, n, sizeof(*v), offsetof(struct bp_range, start), rva);
}

static const struct bp_range *bp_find(const struct bp_range *v, size_t n,
                                      uint64_t rva)
{
    size_t i = bp_upper(v, n, rva);

    if (i == 0)
        return NULL;
    /* Ranges that end before RVA can only be left through their parents:
     * any range covering RVA that starts earlier encloses them. */
    for (i--; i != BP_NONE; i = v[i].parent) {
        if (rva < v[i].end)
            return &v[i];
    }
    return NULL;
}

bool unwind_bpindex_has_cfi(const struct unwind_bpindex *ix, uint64_t rva)
{
    return ix != NULL && bp_find(ix->cfi, ix->ncfi, rva) != NULL;
}

bool unwind_bpindex_has_win(const struct unwind_bpindex *ix, uint64_t rva)
{
    return unwind_bp_win_find(ix, rva) != NULL;
}

const struct breakpad_stack *unwind_bp_win_find(const struct unwind_bpindex *ix,
                                                uint64_t rva)
{
    const struct bp_range *r;

    if (ix == NULL)
        return NULL;
    r = bp_find(ix->win[0], ix->nwin[0], rva);
    if (r == NULL)
        r = bp_find(ix->win[1], ix->nwin[1], rva);
    return r != NULL ? r->rec : NULL;
}

int unwind_bpindex_win_params(const struct unwind_bpindex *ix, uint64_t rva,
                              uint32_t *param_size)
{
    const struct breakpad_stack *s = unwind_bp_win_find(ix, rva);

    if (s == NULL)
        return -ENOENT;
    *param_size = s->parameter_size;
    return 0;
}

/* --- STACK CFI ------------------------------------------------------- */

/* The rules in effect: one expression per register, plus .cfa and .ra. */
struct bp_ruleset {
    struct unwind_bp_rule cfa, ra;
    struct unwind_bp_rule reg[UNWIND_NREGS];
};

static void bp_apply(struct bp_ruleset *rs, enum unwind_cpu cpu,
                     const struct breakpad_stack *s)
{
    struct unwind_bp_rule r;
    size_t pos = 0;
    int reg;

    while (unwind_bp_rule_next(s->rules, s->rules_len, &pos, &r)) {
        size_t nlen = r.name_len - 1; /* without the ':' */

        if (nlen == 4 && memcmp(r.name, ".cfa", 4) == 0) {
            rs->cfa = r;
        } else if (nlen == 3 && memcmp(r.name, ".ra", 3) == 0) {
            rs->ra = r;
        } else {
            /* A register this CPU doesn't have is ignored, as Breakpad's
             * walkers ignore names outside their register maps. */
            reg = unwind_reg_lookup(cpu, r.name, nlen);
            if (reg >= 0)
                rs->reg[reg] = r;
        }
    }
}

static void bp_rules_at(const struct unwind_bpindex *ix, const struct bp_range *init,
                        uint64_t rva, enum unwind_cpu cpu, struct bp_ruleset *rs)
{
    size_t i = init->start == 0
                   ? 0
                   : bp_upper(ix->delta, ix->ndelta, init->start - 1);

    memset(rs, 0, sizeof(*rs));
    bp_apply(rs, cpu, init->rec);
    for (; i < ix->ndelta && ix->delta[i].start <= rva; i++)
        bp_apply(rs, cpu, ix->delta[i].rec);
}

static int bp_eval(const struct unwind_bp_rule *r, enum unwind_cpu cpu,
                   const struct unwind_regs *callee,
                   const struct unwind_memory *mem, const uint64_t *cfa,
                   uint64_t *out)
{
    struct unwind_pf pf;

    unwind_pf_init(&pf, cpu, mem, callee);
    if (cfa != NULL && unwind_pf_set(&pf, ".cfa", *cfa) != 0)
        return -EINVAL;
    return unwind_pf_value(&pf, r->expr, r->expr_len, out);
}

int unwind_bp_cfi_step(const struct unwind_bpindex *ix, uint64_t rva,
                       const struct unwind_regs *callee,
                       const struct unwind_memory *mem,
                       struct unwind_regs *caller)
{
    const struct bp_range *init;
    struct bp_ruleset rs;
    enum unwind_cpu cpu = callee->cpu;
    uint64_t cfa, ra, v;

    init = ix != NULL ? bp_find(ix->cfi, ix->ncfi, rva) : NULL;
    if (init == NULL)
        return -ENOENT;
    if (unwind_reg_count(cpu) == 0)
        return -EINVAL;
    bp_rules_at(ix, init, rva, cpu, &rs);
    if (rs.cfa.expr == NULL || rs.ra.expr == NULL)
        return -EINVAL;
    if (bp_eval(&rs.cfa, cpu, callee, mem, NULL, &cfa) != 0 ||
        bp_eval(&rs.ra, cpu, callee, mem, &cfa, &ra) != 0)
        return -EINVAL;
    memset(caller, 0, sizeof(*caller));
    caller->cpu = cpu;
    caller->r[unwind_reg_sp(cpu)] = cfa;
    caller->r[unwind_reg_pc(cpu)] = ra;
    caller->valid = (uint64_t)1 << unwind_reg_sp(cpu) |
                    (uint64_t)1 << unwind_reg_pc(cpu);
    /* A register rule that fails leaves its register unknown, as in
     * Breakpad's CFIFrameInfo; an explicit rule for sp or pc wins over
     * .cfa and .ra, as its name comes first in Breakpad's register maps. */
    for (unsigned reg = 0; reg < unwind_reg_count(cpu); reg++) {
        if (rs.reg[reg].expr == NULL ||
            bp_eval(&rs.reg[reg], cpu, callee, mem, &cfa, &v) != 0)
            continue;
        caller->r[reg] = v;
        caller->valid |= (uint64_t)1 << reg;
    }
    return 0;
}
