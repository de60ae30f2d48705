/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Breakpad rule engines: the postfix evaluator on its
 * own, STACK CFI and STACK WIN steps on hand-written records over a fake
 * stack, every STACK record of the fixtures indexed, and steps through
 * fixture records whose expected results are worked out from the record
 * text in the comments.
 */
#include "symsrvd_config.h"

#include "breakpad/breakpad.h"
#include "objfile/objfile.h"
#include "unwind/unwind.h"
#include "unwind/unwind_postfix.h"

#include "symtest.h"
#include "unwind_testmem.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK 0x20000u /* where the fake stack memory starts */
#define CODE_LO 0x400000u
#define CODE_HI 0x500000u

struct bpfix {
    struct objfile_map map;
    bool mapped;
    struct breakpad_stack *recs;
    size_t n;
    struct unwind_bpindex *ix;
    char err[200];
};

static int bpfix_text(struct bpfix *f, const char *text)
{
    memset(f, 0, sizeof(*f));
    f->map.path = "mem.sym";
    f->map.data = (const uint8_t *)text;
    f->map.len = strlen(text);
    ck_assert_msg(breakpad_stack_records(&f->map, &f->recs, &f->n) == 0, "%s",
                  f->map.err);
    return unwind_bpindex_new(f->recs, f->n, &f->ix, f->err, sizeof(f->err));
}

static void bpfix_file(struct bpfix *f, const char *rel)
{
    char *path = symtest_data(rel);

    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(objfile_map(path, &f->map), 0);
    f->mapped = true;
    ck_assert_msg(breakpad_stack_records(&f->map, &f->recs, &f->n) == 0, "%s",
                  f->map.err);
    ck_assert_msg(unwind_bpindex_new(f->recs, f->n, &f->ix, f->err,
                                     sizeof(f->err)) == 0,
                  "%s: %s", rel, f->err);
    free(path);
}

static void bpfix_done(struct bpfix *f)
{
    unwind_bpindex_free(f->ix);
    free(f->recs);
    if (f->mapped)
        objfile_unmap(&f->map);
}

static struct testmem *mem_new(void)
{
    struct testmem *m = calloc(1, sizeof(*m));

    ck_assert_ptr_nonnull(m);
    m->base = STACK;
    m->code_lo = CODE_LO;
    m->code_hi = CODE_HI;
    return m;
}

static struct unwind_regs regs(enum unwind_cpu cpu)
{
    struct unwind_regs r;

    memset(&r, 0, sizeof(r));
    r.cpu = cpu;
    return r;
}

/* --- the evaluator ---------------------------------------------------- */

static int pf_value(enum unwind_cpu cpu, const char *expr, uint64_t *out)
{
    struct unwind_pf pf;

    unwind_pf_init(&pf, cpu, NULL, NULL);
    return unwind_pf_value(&pf, expr, strlen(expr), out);
}

START_TEST(test_postfix_arith)
{
    static const struct {
        const char *expr;
        uint64_t want;
    } ok[] = {
        {"10 3 -", 7},
        {"10 3 /", 3},
        {"10 3 %", 1},
        {"6 7 *", 42},
        {"-8", (uint64_t)-8},
        {"29 8 @", 24},
        {"32 16 @", 32},
        {"1 2 + 3 +", 6},
        {" \t5\n", 5},
        {"18446744073709551615 1 +", 0},
    };
    uint64_t v;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(pf_value(UNWIND_CPU_AMD64, ok[i].expr, &v) == 0, "%s",
                      ok[i].expr);
        ck_assert_msg(v == ok[i].want, "%s = %llx", ok[i].expr,
                      (unsigned long long)v);
    }
    /* 32-bit words wrap at 32 bits; literals must fit the word */
    ck_assert_int_eq(pf_value(UNWIND_CPU_X86, "4294967295 1 +", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(pf_value(UNWIND_CPU_X86, "-1", &v), 0);
    ck_assert_uint_eq(v, 0xffffffffu);
    ck_assert_int_eq(pf_value(UNWIND_CPU_X86, "4294967296", &v), -EINVAL);
    /* Breakpad reads decimal only: 0x10 is an (unknown) identifier */
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "0x10", &v), -EINVAL);
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "1 0 /", &v), -EINVAL);
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "1 0 %", &v), -EINVAL);
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "1 +", &v), -EINVAL);
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "1 2", &v), -EINVAL);
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "", &v), -EINVAL);
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "^", &v), -EINVAL);
    /* dereference without memory */
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, "8 ^", &v), -EINVAL);
}
END_TEST

START_TEST(test_postfix_bounds)
{
    char expr[2 * (UNWIND_PF_STACK + 1) + 1];
    uint64_t v;
    size_t n = 0;

    /* 64 operands fit, 65 do not; either way nothing is left unchecked */
    for (int i = 0; i < UNWIND_PF_STACK + 1; i++) {
        expr[n++] = '1';
        expr[n++] = ' ';
    }
    expr[n] = '\0';
    ck_assert_int_eq(pf_value(UNWIND_CPU_AMD64, expr, &v), -EINVAL);
    ck_assert(!unwind_pf_check(expr, n, 0));
    expr[2 * UNWIND_PF_STACK] = '\0';
    ck_assert(unwind_pf_check(expr, 2 * UNWIND_PF_STACK, UNWIND_PF_STACK));
}
END_TEST

START_TEST(test_postfix_assign)
{
    static const char prog[] = "$T0 $r 4 + = $eip $T0 ^ =$esp $T0 4 + =";
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_pf pf;
    struct unwind_pf_var *v;

    testmem_put32(m, STACK + 0x14, 0x401000);
    unwind_pf_init(&pf, UNWIND_CPU_X86, &mem, NULL);
    ck_assert_int_eq(unwind_pf_set(&pf, "$r", STACK + 0x10), 0);
    ck_assert_int_eq(unwind_pf_run(&pf, prog, strlen(prog)), 0);
    v = unwind_pf_find(&pf, "$eip", 4);
    ck_assert(v != NULL && v->assigned);
    ck_assert_uint_eq(v->value, 0x401000);
    v = unwind_pf_find(&pf, "$esp", 4);
    ck_assert(v != NULL && v->assigned);
    ck_assert_uint_eq(v->value, STACK + 0x18);
    ck_assert(!unwind_pf_find(&pf, "$r", 2)->assigned);
    /* only $names can be assigned, and the stack must end empty */
    ck_assert_int_eq(unwind_pf_run(&pf, "T0 1 =", 6), -EINVAL);
    ck_assert_int_eq(unwind_pf_run(&pf, "5 1 =", 5), -EINVAL);
    ck_assert_int_eq(unwind_pf_run(&pf, "$a 1 = 2", 8), -EINVAL);
    ck_assert_int_eq(unwind_pf_run(&pf, "$a 1 + 2 =", 10), -EINVAL);
    /* unreadable memory */
    ck_assert_int_eq(unwind_pf_run(&pf, "$a 16 ^ =", 9), -EINVAL);
    free(m);
}
END_TEST

/* --- STACK CFI -------------------------------------------------------- */

static const char cfi_sym[] =
    "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 t\n"
    "STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    "STACK CFI 1004 .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
    "STACK CFI 1008 .cfa: $rbp 16 + $rbx: $r12 $rbx: .cfa -24 + ^\n"
    "STACK CFI 1010 $r13: $r12 1 +\n"
    "STACK CFI INIT 2000 10 .cfa: $rsp 8 + .ra: .cfa 8 - ^ $rsp: .cfa 16 +\n"
    "STACK CFI INIT 3000 10 .cfa: $rsp 8 +\n";

START_TEST(test_cfi_steps)
{
    struct bpfix f;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee = regs(UNWIND_CPU_AMD64), caller;
    const uint64_t sp = STACK + 0x100, bp = STACK + 0x200;

    ck_assert_int_eq(bpfix_text(&f, cfi_sym), 0);
    testmem_set(&callee, UNWIND_AMD64_RSP, sp);
    testmem_put64(m, sp, 0x401111);
    testmem_put64(m, sp + 8, 0x402222);
    /* the frame at 10ff: cfa = bp, ra at cfa - 8, saved rbp at cfa - 16,
     * saved rbx at cfa - 24 */
    testmem_put64(m, bp - 8, 0x403333);
    testmem_put64(m, bp - 16, 0x777);
    testmem_put64(m, bp - 24, 0xb0b0);

    /* at the entry: cfa = rsp + 8, ra = [rsp] */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1000, &callee, &mem, &caller),
                     0);
    ck_assert_int_eq(caller.cpu, UNWIND_CPU_AMD64);
    ck_assert_uint_eq(caller.valid, 1ull << 7 | 1ull << 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], sp + 8);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x401111);

    /* after push rbp: cfa = rsp + 16, rbp = [rsp], ra = [rsp + 8] */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1007, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], sp + 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x402222);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], 0x401111);
    ck_assert_uint_eq(caller.valid, 1ull << 6 | 1ull << 7 | 1ull << 16);

    /* frame pointer based: needs rbp, which the callee doesn't know */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1008, &callee, &mem, &caller),
                     -EINVAL);
    testmem_set(&callee, UNWIND_AMD64_RBP, bp - 16);
    /* cfa = rbp + 16 = bp; the later $rbx rule wins over "$r12"; the
     * $r13 rule needs r12, unknown, so r13 stays unknown */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x10ff, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], bp);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x403333);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], 0x777);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBX], 0xb0b0);
    ck_assert_uint_eq(caller.valid,
                      1ull << 3 | 1ull << 6 | 1ull << 7 | 1ull << 16);
    /* with r12 known, r13 = r12 + 1 */
    testmem_set(&callee, 12, 41);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x10ff, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[13], 42);
    bpfix_done(&f);
    free(m);
}
END_TEST

START_TEST(test_cfi_edges)
{
    struct bpfix f;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee = regs(UNWIND_CPU_AMD64), caller;
    const uint64_t sp = STACK + 0x100;

    ck_assert_int_eq(bpfix_text(&f, cfi_sym), 0);
    testmem_set(&callee, UNWIND_AMD64_RSP, sp);
    testmem_put64(m, sp, 0x401111);
    testmem_put64(m, sp + 8, 0x402222);
    ck_assert(unwind_bpindex_has_cfi(f.ix, 0x1000));
    ck_assert(unwind_bpindex_has_cfi(f.ix, 0x10ff));
    ck_assert(!unwind_bpindex_has_cfi(f.ix, 0x1100));
    ck_assert(!unwind_bpindex_has_cfi(f.ix, 0xfff));
    ck_assert(!unwind_bpindex_has_win(f.ix, 0x1000));
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1100, &callee, &mem, &caller),
                     -ENOENT);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0xfff, &callee, &mem, &caller),
                     -ENOENT);
    /* an explicit $rsp rule wins over .cfa: cfa = sp + 8, rsp = cfa + 16;
     * ra = [cfa - 8] = [sp] */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x2000, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], sp + 24);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x401111);
    /* no .ra rule */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x3000, &callee, &mem, &caller),
                     -EINVAL);
    /* unreadable return address */
    callee.r[UNWIND_AMD64_RSP] = 0x10;
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1000, &callee, &mem, &caller),
                     -EINVAL);
    /* an unknown CPU has no registers to name */
    callee.cpu = UNWIND_CPU_UNKNOWN;
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1000, &callee, &mem, &caller),
                     -EINVAL);
    bpfix_done(&f);
    free(m);
}
END_TEST

/* arm64 names: x29/fp, x30/lr, sp, pc. */
START_TEST(test_cfi_arm64)
{
    static const char sym[] =
        "MODULE Linux arm64 0123456789ABCDEF0123456789ABCDEF0 t\n"
        "STACK CFI INIT 1000 40 .cfa: sp 0 + .ra: x30\n"
        "STACK CFI 1004 .cfa: x29 16 + x29: .cfa -16 + ^ .ra: .cfa -8 + ^\n";
    struct bpfix f;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee = regs(UNWIND_CPU_ARM64), caller;
    const uint64_t fp = STACK + 0x80;

    ck_assert_int_eq(bpfix_text(&f, sym), 0);
    testmem_set(&callee, UNWIND_ARM64_SP, STACK + 0x40);
    testmem_set(&callee, UNWIND_ARM64_LR, 0x401234);
    testmem_set(&callee, UNWIND_ARM64_FP, fp);
    testmem_put64(m, fp, STACK + 0x400);
    testmem_put64(m, fp + 8, 0x405678);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1000, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_SP], STACK + 0x40);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_PC], 0x401234);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1004, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_SP], fp + 16);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_PC], 0x405678);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_FP], STACK + 0x400);
    ck_assert_uint_eq(caller.valid, 1ull << 29 | 1ull << 31 | 1ull << 32);
    bpfix_done(&f);
    free(m);
}
END_TEST

static const struct {
    const char *rules, *why;
} bad_cfi[] = {
    {"STACK CFI INIT 1000 10 $rsp .cfa: $rsp 8 +", "expected a rule name"},
    {"STACK CFI INIT 1000 10 .cfa: .ra: .cfa ^", "has no expression"},
    {"STACK CFI INIT 1000 10 .cfa: $rsp 8 + .ra:", "has no expression"},
    {"STACK CFI INIT 1000 10 .cfa: $rsp + .ra: 1", "not one value"},
    {"STACK CFI INIT 1000 10 .cfa: $rsp 8 .ra: 1", "not one value"},
    {"STACK CFI 1000 : 1", "expected a rule name"},
    {"STACK WIN 4 1000 10 0 0 0 0 0 0 1 $T0 =", "does not balance"},
    {"STACK WIN 4 1000 10 0 0 0 0 0 0 1 $T0 1", "does not balance"},
};

START_TEST(test_index_rejects)
{
    char text[256];
    struct bpfix f;

    snprintf(text, sizeof(text),
             "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 t\n%s\n",
             bad_cfi[_i].rules);
    ck_assert_int_eq(bpfix_text(&f, text), -EINVAL);
    ck_assert_ptr_null(f.ix);
    ck_assert_msg(strstr(f.err, bad_cfi[_i].why) != NULL &&
                      strstr(f.err, " 1000: ") != NULL,
                  "%s", f.err);
    bpfix_done(&f);
}
END_TEST

/* --- STACK WIN -------------------------------------------------------- */

/* Fields: type rva size prolog epilog params saved locals maxstack
 * has_program (program | allocates_base_pointer). */
static const char win_sym[] =
    "MODULE windows x86 0123456789ABCDEF0123456789ABCDEF0 t.pdb\n"
    "STACK WIN 4 1000 100 10 0 4 8 10 0 1 $T0 .raSearch = "
    "$eip $T0 ^ = $esp $T0 4 + = $ebx $T0 8 - ^ =\n"
    "STACK WIN 0 1000 100 0 0 0 0 0 0 0 0\n"
    "STACK WIN 0 2000 50 3 0 8 c 10 0 0 1\n"
    "STACK WIN 0 3000 20 0 0 0 0 8 0 0 0\n"
    "STACK WIN 4 4000 10 0 0 0 0 0 0 1 $eip $foo ^ = $esp $foo 4 + =\n"
    "STACK WIN 0 5000 10 0 0 0 0 0 0 0 0\n"
    "STACK WIN 2 6000 10 0 0 0 0 0 0 0 0\n";

struct winfix {
    struct bpfix f;
    struct testmem *m;
    struct unwind_memory mem;
    struct unwind_regs callee, caller;
    struct unwind_win_opts opts;
    enum unwind_win_trust trust;
};

static void winfix_init(struct winfix *w)
{
    ck_assert_int_eq(bpfix_text(&w->f, win_sym), 0);
    w->m = mem_new();
    w->mem = testmem_mem(w->m);
    w->callee = regs(UNWIND_CPU_X86);
    memset(&w->opts, 0, sizeof(w->opts));
    w->opts.allow_scan = true;
    testmem_set(&w->callee, UNWIND_X86_ESP, STACK + 0x100);
    testmem_set(&w->callee, UNWIND_X86_EBP, STACK + 0x800);
}

static int winfix_step(struct winfix *w, uint64_t rva)
{
    w->trust = (enum unwind_win_trust)-1;
    return unwind_bp_win_step_ex(w->f.ix, rva, &w->callee, &w->opts, &w->mem,
                                 &w->caller, &w->trust);
}

static void winfix_done(struct winfix *w)
{
    bpfix_done(&w->f);
    free(w->m);
}

#define ESP (STACK + 0x100)

START_TEST(test_win_program)
{
    struct winfix w;

    winfix_init(&w);
    /* .raSearch = esp + 0 + locals 0x10 + saved 8 = esp + 0x18 */
    testmem_put32(w.m, ESP + 0x18, 0x401234);
    testmem_put32(w.m, ESP + 0x10, 0xdeadbeef);
    ck_assert(unwind_bpindex_has_win(w.f.ix, 0x1000));
    ck_assert_int_eq(winfix_step(&w, 0x1050), 0);
    ck_assert_int_eq(w.trust, UNWIND_WIN_CFI);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x401234);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0x1c);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBX], 0xdeadbeef);
    /* ebp: not assigned, readable, so carried through */
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBP], STACK + 0x800);
    ck_assert_uint_eq(w.caller.valid, 1u << 8 | 1u << 4 | 1u << 5 | 1u << 3);

    /* .cbCalleeParams moves .raSearch: with 4, the ret is at esp + 0x1c */
    w.opts.callee_param_size = 4;
    testmem_put32(w.m, ESP + 0x18, 0);
    testmem_put32(w.m, ESP + 0x1c, 0x405555);
    ck_assert_int_eq(winfix_step(&w, 0x1050), 0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x405555);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0x20);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBX], 0);
    winfix_done(&w);
}
END_TEST

START_TEST(test_win_scans)
{
    struct winfix w;
    uint32_t param = 0;

    winfix_init(&w);
    /* Aligned frame: the three-word scan moves .raSearch to esp + 0x20. */
    testmem_put32(w.m, ESP + 0x18, 0x11111111);
    testmem_put32(w.m, ESP + 0x20, 0x406666);
    ck_assert_int_eq(winfix_step(&w, 0x1000), 0);
    ck_assert_int_eq(w.trust, UNWIND_WIN_CFI);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x406666);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0x24);
    /* ebx = [.raSearch - 8] = [esp + 0x18] */
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBX], 0x11111111);

    /* Nothing in the first four words: eip = [esp + 0x18] is no code, so
     * scan from esp + 0x1c; found at esp + 0x30 (offset 0x14). */
    testmem_put32(w.m, ESP + 0x20, 0);
    testmem_put32(w.m, ESP + 0x30, 0x407777);
    ck_assert_int_eq(winfix_step(&w, 0x1000), 0);
    ck_assert_int_eq(w.trust, UNWIND_WIN_CFI_SCAN);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x407777);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0x34);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBP], STACK + 0x800);

    /* Unreadable ebp: search [esp + 8 + 0x14 .. esp] from the top for a
     * word pointing to readable memory: [esp + 0x1c] = 0 and
     * [esp + 0x18] = 0x11111111 are not, [esp + 0x14] is. */
    w.callee.r[UNWIND_X86_EBP] = 0x10;
    testmem_put32(w.m, ESP + 0x14, STACK + 0x900);
    ck_assert_int_eq(winfix_step(&w, 0x1000), 0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBP], STACK + 0x900);

    /* Scans need is_code: without it the program's eip stands. */
    w.mem.is_code = NULL;
    ck_assert_int_eq(winfix_step(&w, 0x1000), 0);
    ck_assert_int_eq(w.trust, UNWIND_WIN_CFI);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x11111111);
    ck_assert_int_eq(unwind_bpindex_win_params(w.f.ix, 0x1000, &param), 0);
    ck_assert_uint_eq(param, 4);
    ck_assert_int_eq(unwind_bpindex_win_params(w.f.ix, 0x7000, &param),
                     -ENOENT);
    winfix_done(&w);
}
END_TEST

START_TEST(test_win_fpo)
{
    struct winfix w;

    winfix_init(&w);
    /* allocates_base_pointer, params 8, saved 0xc, locals 0x10, callee
     * params 4: .raSearch = esp + 4 + 0x10 + 0xc = esp + 0x20;
     * ebp = [esp + 4 + 0xc - 8] = [esp + 8] */
    w.opts.callee_param_size = 4;
    testmem_put32(w.m, ESP + 0x20, 0x402000);
    testmem_put32(w.m, ESP + 0x8, STACK + 0xa00);
    ck_assert_int_eq(winfix_step(&w, 0x2010), 0);
    ck_assert_int_eq(w.trust, UNWIND_WIN_CFI);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x402000);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0x24);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBP], STACK + 0xa00);

    /* no ebp: locals 8, .raSearch = esp + 8; ebp and ebx carried */
    w.opts.callee_param_size = 0;
    testmem_set(&w.callee, UNWIND_X86_EBX, 0x1234);
    testmem_put32(w.m, ESP + 0x8, 0x403000);
    ck_assert_int_eq(winfix_step(&w, 0x3000), 0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x403000);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0xc);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBP], STACK + 0x800);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EBX], 0x1234);
    ck_assert_uint_eq(w.caller.valid, 1u << 8 | 1u << 4 | 1u << 5 | 1u << 3);

    /* The context frame in a system call: [esp] is its own eip, so the
     * return address is the next word. */
    testmem_set(&w.callee, UNWIND_X86_EIP, 0x405000);
    testmem_put32(w.m, ESP, 0x405000);
    testmem_put32(w.m, ESP + 4, 0x401111);
    ck_assert_int_eq(winfix_step(&w, 0x5000), 0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x405000);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 4);
    w.opts.callee_is_context = true;
    ck_assert_int_eq(winfix_step(&w, 0x5000), 0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x401111);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 8);
    ck_assert_int_eq(unwind_bp_win_step(w.f.ix, 0x5000, &w.callee, true,
                                        &w.mem, &w.caller),
                     0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x401111);
    winfix_done(&w);
}
END_TEST

START_TEST(test_win_fallbacks)
{
    struct winfix w;

    winfix_init(&w);
    /* the program fails ($foo is unknown): scan from esp */
    testmem_put32(w.m, ESP + 8, 0x404444);
    ck_assert_int_eq(winfix_step(&w, 0x4000), 0);
    ck_assert_int_eq(w.trust, UNWIND_WIN_SCAN);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x404444);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_ESP], ESP + 0xc);
    w.opts.allow_scan = false;
    ck_assert_int_eq(winfix_step(&w, 0x4000), -EINVAL);
    /* type 4 wins over type 0 for the same range (the type 0 record
     * would give eip = [esp]) */
    testmem_put32(w.m, ESP, 0x400100);
    testmem_put32(w.m, ESP + 0x18, 0x400200);
    ck_assert_int_eq(winfix_step(&w, 0x1000), 0);
    ck_assert_uint_eq(w.caller.r[UNWIND_X86_EIP], 0x400200);
    /* types other than 0 and 4 are not used; no record, no step */
    ck_assert(!unwind_bpindex_has_win(w.f.ix, 0x6000));
    ck_assert_int_eq(winfix_step(&w, 0x6000), -ENOENT);
    ck_assert_int_eq(winfix_step(&w, 0x1100), -ENOENT);
    /* x86 only, and esp is required */
    w.callee.cpu = UNWIND_CPU_AMD64;
    ck_assert_int_eq(winfix_step(&w, 0x1000), -EINVAL);
    w.callee.cpu = UNWIND_CPU_X86;
    w.callee.valid &= ~(1u << UNWIND_X86_ESP);
    ck_assert_int_eq(winfix_step(&w, 0x1000), -EINVAL);
    winfix_done(&w);
}
END_TEST

/* --- the fixtures ----------------------------------------------------- */

static const char *const fixtures[] = {
    "breakpad/windows/crash.sym", "breakpad/linux/crash.sym",
    "pdb/CrashWithException.pdb.sym", "breakpad/windows/CrashWithException.pdb.sym",
    "breakpad/macos/crash.sym"};

START_TEST(test_fixture_index)
{
    struct bpfix f;
    size_t covered = 0;

    bpfix_file(&f, fixtures[_i]);
    ck_assert_uint_gt(f.n, 0);
    for (size_t i = 0; i < f.n; i++) {
        if (f.recs[i].kind == BREAKPAD_STACK_CFI_INIT)
            covered += unwind_bpindex_has_cfi(f.ix, f.recs[i].rva);
        else if (f.recs[i].kind == BREAKPAD_STACK_WIN)
            covered += unwind_bpindex_has_win(f.ix, f.recs[i].rva);
        else
            covered++;
    }
    ck_assert_uint_eq(covered, f.n);
    bpfix_done(&f);
}
END_TEST

/* linux/crash.sym:
 *   STACK CFI INIT 1c70 14c .cfa: $rsp 8 + .ra: .cfa -8 + ^
 *   STACK CFI 1c71 $rbp: .cfa -16 + ^ .cfa: $rsp 16 +
 *   STACK CFI 1c86 .cfa: $rbp 16 +
 *   STACK CFI 1c89 $r14: .cfa -24 + ^ $rbx: .cfa -32 + ^
 *   STACK CFI 1da3 .cfa: $rsp 8 +
 *   STACK CFI 1da4 .cfa: $rbp 16 +                                     */
START_TEST(test_fixture_linux_cfi)
{
    struct bpfix f;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee = regs(UNWIND_CPU_AMD64), caller;
    const uint64_t sp = STACK + 0x100, bp = STACK + 0x140;

    bpfix_file(&f, "breakpad/linux/crash.sym");
    testmem_set(&callee, UNWIND_AMD64_RSP, sp);
    testmem_set(&callee, UNWIND_AMD64_RBP, bp);
    testmem_put64(m, sp, 0x1111);
    testmem_put64(m, sp + 8, 0x2222);
    for (int i = 0; i < 4; i++) /* [bp - 16 .. bp + 8] */
        testmem_put64(m, bp - 16 + 8 * (uint64_t)i, 0xa0 + (uint64_t)i);

    /* 1c85: cfa = rsp + 16, rbp = [rsp], ra = [rsp + 8] */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1c85, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], sp + 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x2222);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], 0x1111);
    ck_assert_uint_eq(caller.valid, 1u << 6 | 1u << 7 | 1u << 16);

    /* 1c90: cfa = rbp + 16, ra = [bp + 8], rbp = [bp], r14 = [bp - 8],
     * rbx = [bp - 16] */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1c90, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], bp + 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0xa3);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], 0xa2);
    ck_assert_uint_eq(caller.r[14], 0xa1);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBX], 0xa0);

    /* 1da3 (an epilog's ret): cfa = rsp + 8, ra = [rsp]; the register
     * rules still hold and read the popped slots below the cfa:
     * rbp = [rsp - 8], r14 = [rsp - 16], rbx = [rsp - 24] */
    testmem_put64(m, sp - 8, 0xb1);
    testmem_put64(m, sp - 16, 0xb2);
    testmem_put64(m, sp - 24, 0xb3);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1da3, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], sp + 8);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x1111);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], 0xb1);
    ck_assert_uint_eq(caller.r[14], 0xb2);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBX], 0xb3);

    /* the INIT ends at 1c70 + 14c = 1dbc */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1dbb, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], bp + 16);
    /* the next INIT starts at 1dc0 */
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1dbc, &callee, &mem, &caller),
                     -ENOENT);
    bpfix_done(&f);
    free(m);
}
END_TEST

/* pdb/CrashWithException.pdb.sym: a delta at the INIT's own address:
 *   STACK CFI INIT 1010 55 .cfa: $rsp .ra: .cfa 8 - ^
 *   STACK CFI 1010 .cfa: $rsp 80 +
 * so at 1010 cfa = rsp + 80 and ra = [rsp + 72]. */
START_TEST(test_fixture_pdb_cfi)
{
    struct bpfix f;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee = regs(UNWIND_CPU_AMD64), caller;
    const uint64_t sp = STACK + 0x100;

    bpfix_file(&f, "pdb/CrashWithException.pdb.sym");
    testmem_set(&callee, UNWIND_AMD64_RSP, sp);
    testmem_put64(m, sp + 72, 0x140001234);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1010, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], sp + 80);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x140001234);
    ck_assert_uint_eq(caller.valid, 1u << 7 | 1u << 16);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1064, &callee, &mem, &caller),
                     0);
    ck_assert_int_eq(unwind_bp_cfi_step(f.ix, 0x1065, &callee, &mem, &caller),
                     -ENOENT);
    bpfix_done(&f);
    free(m);
}
END_TEST

/* windows/crash.sym, nested frame-data ranges and an aligning program:
 *   STACK WIN 4 1000 114 11 0 8 0 0 0 1 $T0 .raSearch = $eip $T0 ^ =
 *       $esp $T0 4 + =
 *   STACK WIN 4 100f f5 2 0 8 4 c 0 1 $T0 .raSearch = $eip $T0 ^ =
 *       $esp $T0 4 + =  $20 $T0 16 - ^ =
 *   STACK WIN 4 1370 35 6 0 c 0 0 0 1 $T1 .raSearch = $T0  $T1 4 - 8 @ =
 *       $ebp $T1 4 - ^ = $eip $T1 ^ = $esp $T1 4 + =
 * At 1005 only the outer record covers: .raSearch = esp.  At 1010 the
 * inner one wins: .raSearch = esp + 0xc + 4.  At 1370 the program aligns,
 * so .raSearch = ebp + 4: ebp = [ebp], eip = [ebp + 4], esp = ebp + 8. */
START_TEST(test_fixture_win)
{
    struct bpfix f;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee = regs(UNWIND_CPU_X86), caller;
    const uint32_t ebp = STACK + 0x180;

    bpfix_file(&f, "breakpad/windows/crash.sym");
    testmem_set(&callee, UNWIND_X86_ESP, ESP);
    testmem_set(&callee, UNWIND_X86_EBP, ebp);
    testmem_put32(m, ESP, 0x401000);
    testmem_put32(m, ESP + 0x10, 0x402000);
    testmem_put32(m, ebp, STACK + 0x300);
    testmem_put32(m, ebp + 4, 0x403000);
    ck_assert_int_eq(
        unwind_bp_win_step(f.ix, 0x1005, &callee, false, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_X86_EIP], 0x401000);
    ck_assert_uint_eq(caller.r[UNWIND_X86_ESP], ESP + 4);
    ck_assert_int_eq(
        unwind_bp_win_step(f.ix, 0x1010, &callee, false, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_X86_EIP], 0x402000);
    ck_assert_uint_eq(caller.r[UNWIND_X86_ESP], ESP + 0x14);
    ck_assert_int_eq(
        unwind_bp_win_step(f.ix, 0x1370, &callee, false, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_X86_EIP], 0x403000);
    ck_assert_uint_eq(caller.r[UNWIND_X86_ESP], ebp + 8);
    ck_assert_uint_eq(caller.r[UNWIND_X86_EBP], STACK + 0x300);
    bpfix_done(&f);
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unwind_breakpad");
    TCase *pf = tcase_create("postfix");
    TCase *cfi = tcase_create("cfi");
    TCase *win = tcase_create("win");
    TCase *fix = tcase_create("fixtures");

    tcase_add_test(pf, test_postfix_arith);
    tcase_add_test(pf, test_postfix_bounds);
    tcase_add_test(pf, test_postfix_assign);
    tcase_add_test(cfi, test_cfi_steps);
    tcase_add_test(cfi, test_cfi_edges);
    tcase_add_test(cfi, test_cfi_arm64);
    tcase_add_loop_test(cfi, test_index_rejects, 0,
                        sizeof(bad_cfi) / sizeof(bad_cfi[0]));
    tcase_add_test(win, test_win_program);
    tcase_add_test(win, test_win_scans);
    tcase_add_test(win, test_win_fpo);
    tcase_add_test(win, test_win_fallbacks);
    tcase_add_loop_test(fix, test_fixture_index, 0,
                        sizeof(fixtures) / sizeof(fixtures[0]));
    tcase_add_test(fix, test_fixture_linux_cfi);
    tcase_add_test(fix, test_fixture_pdb_cfi);
    tcase_add_test(fix, test_fixture_win);
    suite_add_tcase(s, pf);
    suite_add_tcase(s, cfi);
    suite_add_tcase(s, win);
    suite_add_tcase(s, fix);
    return symtest_run(s);
}
