/* SPDX-License-Identifier: MIT */
/*
 * unwind_postfix: Breakpad's postfix expressions (see unwind_postfix.h).
 *
 * DESIGN.  Operands stay unresolved tokens until an operator pops them,
 * because '=' needs the name, not the value, of its left operand; this is
 * how Breakpad's evaluator behaves, and it decides which programs fail
 * (an unknown identifier fails only when something uses it).
 */
#include "symsrvd_config.h"

#include "unwind/unwind_postfix.h"

#include <errno.h>
#include <string.h>

static bool pf_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool unwind_pf_token(const char *s, size_t len, size_t *pos, const char **tok,
                     size_t *tlen)
{
    size_t i = *pos;

    while (i < len && pf_space(s[i]))
        i++;
    if (i == len) {
        *pos = i;
        return false;
    }
    *tok = s + i;
    while (i < len && !pf_space(s[i]))
        i++;
    *tlen = (size_t)(s + i - *tok);
    *pos = i;
    return true;
}

void unwind_pf_init(struct unwind_pf *pf, enum unwind_cpu cpu,
                    const struct unwind_memory *mem,
                    const struct unwind_regs *regs)
{
    pf->cpu = cpu;
    pf->word = unwind_addr_size(cpu);
    pf->mask = pf->word == 4 ? 0xffffffffu : UINT64_MAX;
    pf->mem = mem;
    pf->regs = regs;
    pf->nvars = 0;
    pf->depth = 0;
}

struct unwind_pf_var *unwind_pf_find(struct unwind_pf *pf, const char *name,
                                     size_t len)
{
    for (size_t i = 0; i < pf->nvars; i++) {
        if (pf->vars[i].len == len && memcmp(pf->vars[i].name, name, len) == 0)
            return &pf->vars[i];
    }
    return NULL;
}

static struct unwind_pf_var *pf_var(struct unwind_pf *pf, const char *name,
                                    size_t len)
{
    struct unwind_pf_var *v = unwind_pf_find(pf, name, len);

    if (v != NULL || pf->nvars == UNWIND_PF_VARS)
        return v;
    v = &pf->vars[pf->nvars++];
    v->name = name;
    v->len = len;
    v->value = 0;
    v->assigned = false;
    return v;
}

int unwind_pf_set(struct unwind_pf *pf, const char *name, uint64_t value)
{
    struct unwind_pf_var *v = pf_var(pf, name, strlen(name));

    if (v == NULL)
        return -ENOSPC;
    v->value = value & pf->mask;
    return 0;
}

/* A decimal literal, as Breakpad reads one: optional '-', then digits
 * only, within the word size. */
static bool pf_literal(const char *t, size_t len, uint64_t mask, uint64_t *out)
{
    bool neg = len > 0 && t[0] == '-';
    uint64_t v = 0;
    size_t i = neg ? 1 : 0;

    if (i == len)
        return false;
    for (; i < len; i++) {
        unsigned d = (unsigned)(t[i] - '0');

        if (d > 9 || v > (mask - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = (neg ? 0 - v : v) & mask;
    return true;
}

static int pf_resolve(struct unwind_pf *pf, const struct unwind_pf_item *it,
                      uint64_t *out)
{
    const struct unwind_pf_var *v;
    int reg;

    if (it->resolved) {
        *out = it->value;
        return 0;
    }
    if (pf_literal(it->tok, it->len, pf->mask, out))
        return 0;
    v = unwind_pf_find(pf, it->tok, it->len);
    if (v != NULL) {
        *out = v->value;
        return 0;
    }
    if (pf->regs == NULL)
        return -EINVAL;
    reg = unwind_reg_lookup(pf->cpu, it->tok, it->len);
    if (reg < 0 || !((pf->regs->valid >> reg) & 1))
        return -EINVAL;
    *out = pf->regs->r[reg] & pf->mask;
    return 0;
}

static int pf_pop(struct unwind_pf *pf, uint64_t *out)
{
    if (pf->depth == 0)
        return -EINVAL;
    pf->depth--;
    return pf_resolve(pf, &pf->stack[pf->depth], out);
}

static int pf_push(struct unwind_pf *pf, const char *tok, size_t len,
                   uint64_t value, bool resolved)
{
    struct unwind_pf_item *it;

    if (pf->depth == UNWIND_PF_STACK)
        return -EINVAL;
    it = &pf->stack[pf->depth++];
    it->tok = tok;
    it->len = len;
    it->value = value & pf->mask;
    it->resolved = resolved;
    return 0;
}

static int pf_binary(struct unwind_pf *pf, char op)
{
    uint64_t a, b, r;

    if (pf_pop(pf, &b) != 0 || pf_pop(pf, &a) != 0)
        return -EINVAL;
    switch (op) {
    case '+':
        r = a + b;
        break;
    case '-':
        r = a - b;
        break;
    case '*':
        r = a * b;
        break;
    case '/':
    case '%':
        if (b == 0)
            return -EINVAL;
        r = op == '/' ? a / b : a % b;
        break;
    default: /* '@': align A down to a multiple of B */
        r = a & ~(b - 1);
        break;
    }
    return pf_push(pf, NULL, 0, r, true);
}

static int pf_deref(struct unwind_pf *pf)
{
    uint64_t addr, v;

    if (pf_pop(pf, &addr) != 0)
        return -EINVAL;
    if (unwind_read_word(pf->mem, pf->cpu, addr, &v) != 0)
        return -EINVAL;
    return pf_push(pf, NULL, 0, v, true);
}

static int pf_assign(struct unwind_pf *pf)
{
    struct unwind_pf_item *it;
    struct unwind_pf_var *v;
    uint64_t value;

    if (pf_pop(pf, &value) != 0 || pf->depth == 0)
        return -EINVAL;
    it = &pf->stack[--pf->depth];
    if (it->resolved || it->len == 0 || it->tok[0] != '$')
        return -EINVAL;
    /* A literal can't be assigned to; "$5" is a name, not a literal. */
    v = pf_var(pf, it->tok, it->len);
    if (v == NULL)
        return -EINVAL;
    v->value = value;
    v->assigned = true;
    return 0;
}

static int pf_step(struct unwind_pf *pf, const char *t, size_t len)
{
    if (len == 1 && strchr("+-*/%@", t[0]) != NULL)
        return pf_binary(pf, t[0]);
    if (len == 1 && t[0] == '^')
        return pf_deref(pf);
    if (len == 1 && t[0] == '=')
        return pf_assign(pf);
    return pf_push(pf, t, len, 0, false);
}

static int pf_eval(struct unwind_pf *pf, const char *expr, size_t len)
{
    size_t pos = 0, tlen;
    const char *t;
    int rc = 0;

    pf->depth = 0;
    while (rc == 0 && unwind_pf_token(expr, len, &pos, &t, &tlen)) {
        if (tlen > 1 && t[0] == '=') {
            rc = pf_step(pf, t, 1);
            t++;
            tlen--;
        }
        if (rc == 0)
            rc = pf_step(pf, t, tlen);
    }
    return rc;
}

int unwind_pf_value(struct unwind_pf *pf, const char *expr, size_t len,
                    uint64_t *out)
{
    int rc = pf_eval(pf, expr, len);

    if (rc == 0 && pf->depth != 1)
        rc = -EINVAL;
    if (rc == 0)
        rc = pf_pop(pf, out);
    pf->depth = 0;
    return rc;
}

int unwind_pf_run(struct unwind_pf *pf, const char *expr, size_t len)
{
    int rc = pf_eval(pf, expr, len);

    if (rc == 0 && pf->depth != 0)
        rc = -EINVAL;
    pf->depth = 0;
    return rc;
}

/* How a token changes the stack: NEED items popped, then PUSH pushed. */
static void pf_effect(const char *t, size_t len, size_t *need, size_t *push)
{
    *need = 0;
    *push = 1;
    if (len != 1)
        return;
    if (strchr("+-*/%@", t[0]) != NULL) {
        *need = 2;
    } else if (t[0] == '^') {
        *need = 1;
    } else if (t[0] == '=') {
        *need = 2;
        *push = 0;
    }
}

static bool pf_check_token(const char *t, size_t len, size_t *depth)
{
    size_t need, push;

    pf_effect(t, len, &need, &push);
    if (*depth < need)
        return false;
    *depth = *depth - need + push;
    return *depth <= UNWIND_PF_STACK;
}

bool unwind_pf_check(const char *expr, size_t len, size_t want)
{
    size_t pos = 0, tlen, depth = 0;
    const char *t;

    while (unwind_pf_token(expr, len, &pos, &t, &tlen)) {
        if (tlen > 1 && t[0] == '=') {
            if (!pf_check_token(t, 1, &depth))
                return false;
            t++;
            tlen--;
        }
        if (!pf_check_token(t, tlen, &depth))
            return false;
    }
    return depth == want;
}
