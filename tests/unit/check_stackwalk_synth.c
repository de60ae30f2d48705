/* SPDX-License-Identifier: MIT */
/*
 * Stack walker tests on synthetic dumps written by tests/lib/mdwriter:
 * one frame-pointer chain per context layout, and the cases a hostile or
 * damaged dump can produce (cyclic frame pointers, a stack pointer that
 * does not advance, a huge stack of plausible return addresses, missing
 * stack memory, no context).  Every walk must end within the frame bound;
 * the expected frames follow from the bytes each test writes.
 */
#include "symsrvd_config.h"

#include "breakpad/breakpad.h"
#include "objfile/objfile.h"
#include "stackwalk/stackwalk.h"
#include "unwind/unwind.h"

#include "mdwriter.h"
#include "symtest.h"
#include "swtest.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MOD_BASE  0x10000000u
#define MOD_SIZE  0x10000u
#define PC0       (MOD_BASE + 0x100)
#define PC1       (MOD_BASE + 0x1234)
#define PC2       (MOD_BASE + 0x2345)
#define STACK     0x00700000u
#define STACK_LEN 0x400u
#define TID       7

struct cpu_case {
    enum mdw_ctx ctx;
    uint16_t arch;
    enum unwind_cpu cpu;
    unsigned word;
};

static const struct cpu_case cpus[] = {
    {MDW_CTX_X86, 0, UNWIND_CPU_X86, 4},
    {MDW_CTX_AMD64, 9, UNWIND_CPU_AMD64, 8},
    {MDW_CTX_ARM64, 12, UNWIND_CPU_ARM64, 8},
    {MDW_CTX_ARM64_OLD, 12, UNWIND_CPU_ARM64, 8},
    {MDW_CTX_ARM, 5, UNWIND_CPU_ARM, 4},
};

static void put_word(uint8_t *stack, unsigned word, uint32_t off, uint64_t v)
{
    for (unsigned i = 0; i < word; i++)
        stack[off + i] = (uint8_t)(v >> (8 * i));
}

/* A dump with one module, one thread of context REGS and stack STACK
 * (LEN bytes at STACK; NULL for none), and SystemInfo when WITH_SI. */
static void build_dump(const struct cpu_case *c,
                       const struct unwind_regs *regs, const uint8_t *stack,
                       size_t len, bool with_si, uint8_t **out, size_t *outlen)
{
    struct mdw *w = mdw_new(1000);
    struct mdw_system_info si = {
        .arch = c->arch, .ncpus = 1, .platform = 0x8201};
    struct mdw_module m = {
        .base = MOD_BASE, .size = MOD_SIZE, .name = "/synth/app"};
    struct mdw_thread t = {.tid = TID,
                           .stack_start = STACK,
                           .stack = stack,
                           .stack_len = len,
                           .ctx = {.kind = c->ctx, .regs = regs}};

    if (with_si)
        mdw_system_info(w, &si);
    mdw_module(w, &m);
    mdw_thread(w, &t);
    mdw_finish(w, out, outlen);
    mdw_free(w);
}

static void build(const struct cpu_case *c, const struct unwind_regs *regs,
                  const uint8_t *stack, size_t len, uint8_t **out,
                  size_t *outlen)
{
    build_dump(c, regs, stack, len, true, out, outlen);
}

static void set_reg(struct unwind_regs *r, int n, uint64_t v)
{
    r->r[n] = v;
    r->valid |= UINT64_C(1) << n;
}

/* pc PC0, sp STACK, fp FP (when FP != 0). */
static struct unwind_regs context(const struct cpu_case *c, uint64_t fp)
{
    struct unwind_regs r = {.cpu = c->cpu};

    set_reg(&r, unwind_reg_pc(c->cpu), PC0);
    set_reg(&r, unwind_reg_sp(c->cpu), STACK);
    if (fp)
        set_reg(&r, unwind_reg_fp(c->cpu), fp);
    return r;
}

static const struct stackwalk_thread *only_thread(const struct swtest *t)
{
    ck_assert_uint_eq(stackwalk_thread_count(t->r), 1);
    return stackwalk_thread(t->r, 0);
}

/* Frame records at STACK+0x10 -> +0x40 -> +0x80, whose return address
 * slot is 0 (the chain's end): context, PC1, PC2 by frame pointer. */
START_TEST(test_stackwalk_synth_fp_chain)
{
    const struct cpu_case *c = &cpus[_i];
    uint8_t stack[STACK_LEN] = {0};
    struct unwind_regs r = context(c, STACK + 0x10);
    struct swtest t;
    const struct stackwalk_thread *th;
    uint8_t *dump;
    size_t len;

    put_word(stack, c->word, 0x10, STACK + 0x40);
    put_word(stack, c->word, 0x10 + c->word, PC1);
    put_word(stack, c->word, 0x40, STACK + 0x80);
    put_word(stack, c->word, 0x40 + c->word, PC2);
    build(c, &r, stack, sizeof(stack), &dump, &len);
    swtest_walk_mem(&t, dump, len, NULL, NULL);
    th = only_thread(&t);
    ck_assert_int_eq(stackwalk_cpu(t.r), c->cpu);
    ck_assert_uint_eq(th->frames[0].instruction, PC0);
    ck_assert_int_eq(th->frames[0].trust, STACKWALK_TRUST_CONTEXT);
    ck_assert_uint_ge(th->nframes, 2);
    ck_assert_uint_eq(th->frames[1].instruction, PC1);
    if (c->cpu == UNWIND_CPU_ARM) {
        /* no frame pointer convention on arm: PC1 is the first module
         * pointer above sp, at STACK + 0x14 */
        ck_assert_int_eq(th->frames[1].trust, STACKWALK_TRUST_SCAN);
    } else {
        ck_assert_uint_eq(th->nframes, 3);
        ck_assert_int_eq(th->frames[1].trust, STACKWALK_TRUST_FP);
        ck_assert_uint_eq(th->frames[1].regs.r[unwind_reg_sp(c->cpu)],
                          STACK + 0x10 + 2 * c->word);
        ck_assert_uint_eq(th->frames[2].instruction, PC2);
        ck_assert_int_eq(th->frames[2].trust, STACKWALK_TRUST_FP);
    }
    swtest_free(&t);
}
END_TEST

/* A dump cut short may lose SystemInfo and keep its threads: the CPU then
 * comes from the context's own layout. */
START_TEST(test_stackwalk_synth_no_sysinfo)
{
    const struct cpu_case *c = &cpus[_i];
    uint8_t stack[STACK_LEN] = {0};
    struct unwind_regs r = context(c, 0);
    struct swtest t;
    uint8_t *dump;
    size_t len;

    build_dump(c, &r, stack, sizeof(stack), false, &dump, &len);
    swtest_walk_mem(&t, dump, len, NULL, NULL);
    ck_assert_int_eq(stackwalk_cpu(t.r), c->cpu);
    ck_assert_uint_eq(only_thread(&t)->frames[0].instruction, PC0);
    swtest_free(&t);
}
END_TEST

/* fp points at itself, or two records point at each other: the walk
 * ends (the stack pointer must grow) well within the bound. */
START_TEST(test_stackwalk_synth_fp_cycle)
{
    const struct cpu_case *c = &cpus[_i];
    uint8_t stack[STACK_LEN] = {0};
    struct unwind_regs r = context(c, STACK + 0x20);
    struct swtest t;
    const struct stackwalk_thread *th;
    uint8_t *dump;
    size_t len;

    put_word(stack, c->word, 0x20, STACK + 0x40);
    put_word(stack, c->word, 0x20 + c->word, PC1);
    put_word(stack, c->word, 0x40, STACK + 0x20);
    put_word(stack, c->word, 0x40 + c->word, PC2);
    put_word(stack, c->word, 0x80, STACK + 0x80);
    put_word(stack, c->word, 0x80 + c->word, PC1);
    build(c, &r, stack, sizeof(stack), &dump, &len);
    swtest_walk_mem(&t, dump, len, NULL, NULL);
    th = only_thread(&t);
    ck_assert_uint_ge(th->nframes, 2);
    ck_assert(!th->truncated);
    /* at most one frame per stack word */
    ck_assert_uint_le(th->nframes, 1 + STACK_LEN / c->word);
    for (size_t i = 1; i < th->nframes; i++)
        ck_assert_uint_gt(th->frames[i].regs.r[unwind_reg_sp(c->cpu)],
                          th->frames[i - 1].regs.r[unwind_reg_sp(c->cpu)]);
    swtest_free(&t);
}
END_TEST

/* Every word of a 1 MiB stack looks like a return address: scanning
 * would go on for 131072 frames; the bound stops it. */
START_TEST(test_stackwalk_synth_huge_stack)
{
    const struct cpu_case *c = &cpus[1];
    size_t n = 1 << 20;
    uint8_t *stack = malloc(n);
    struct unwind_regs r = context(c, 0);
    struct stackwalk_options o = {.max_frames = 0, .scan = true};
    struct swtest t;
    const struct stackwalk_thread *th;
    uint8_t *dump;
    size_t len;

    ck_assert_ptr_nonnull(stack);
    for (size_t off = 0; off < n; off += 8)
        put_word(stack, 8, (uint32_t)off, PC1);
    build(c, &r, stack, n, &dump, &len);
    free(stack);
    swtest_walk_mem(&t, dump, len, NULL, &o);
    th = only_thread(&t);
    ck_assert_uint_eq(th->nframes, STACKWALK_DEFAULT_MAX_FRAMES);
    ck_assert(th->truncated);
    ck_assert_int_eq(th->frames[5].trust, STACKWALK_TRUST_SCAN);
    swtest_free(&t);
}
END_TEST

/* The same stack with scanning off: no frame pointer, no CFI, so only
 * the context frame. */
START_TEST(test_stackwalk_synth_no_scan)
{
    const struct cpu_case *c = &cpus[1];
    uint8_t stack[STACK_LEN];
    struct unwind_regs r = context(c, 0);
    struct stackwalk_options o = {.scan = false};
    struct swtest t;
    uint8_t *dump;
    size_t len;

    for (size_t off = 0; off < sizeof(stack); off += 8)
        put_word(stack, 8, (uint32_t)off, PC1);
    build(c, &r, stack, sizeof(stack), &dump, &len);
    swtest_walk_mem(&t, dump, len, NULL, &o);
    ck_assert_uint_eq(only_thread(&t)->nframes, 1);
    swtest_free(&t);
}
END_TEST

/* No stack memory at all: the frame pointer and the scan read nothing. */
START_TEST(test_stackwalk_synth_missing_stack)
{
    const struct cpu_case *c = &cpus[_i];
    struct unwind_regs r = context(c, STACK + 0x10);
    struct swtest t;
    uint8_t *dump;
    size_t len;

    build(c, &r, NULL, 0, &dump, &len);
    swtest_walk_mem(&t, dump, len, NULL, NULL);
    ck_assert_uint_eq(only_thread(&t)->nframes, 1);
    ck_assert_uint_eq(only_thread(&t)->frames[0].instruction, PC0);
    swtest_free(&t);
}
END_TEST

/* A thread without a context has no frames; a pc in no module is still
 * frame 0 (module NULL). */
START_TEST(test_stackwalk_synth_no_context)
{
    const struct cpu_case *c = &cpus[1];
    struct swtest t;
    struct unwind_regs r = context(c, 0);
    uint8_t *dump;
    size_t len;
    struct mdw *w = mdw_new(1);
    struct mdw_system_info si = {.arch = 9, .ncpus = 1, .platform = 0x8201};
    struct mdw_thread t1 = {.tid = 1, .ctx = {.kind = MDW_CTX_NONE}};
    struct mdw_thread t2 = {.tid = 2,
                            .ctx = {.kind = MDW_CTX_AMD64, .regs = &r}};

    r.r[UNWIND_AMD64_RIP] = 0x5000;
    mdw_system_info(w, &si);
    mdw_thread(w, &t1);
    mdw_thread(w, &t2);
    mdw_finish(w, &dump, &len);
    mdw_free(w);
    swtest_walk_mem(&t, dump, len, NULL, NULL);
    ck_assert_uint_eq(stackwalk_thread_count(t.r), 2);
    ck_assert_uint_eq(stackwalk_thread(t.r, 0)->nframes, 0);
    ck_assert_uint_eq(stackwalk_thread(t.r, 1)->nframes, 1);
    ck_assert_ptr_null(stackwalk_thread(t.r, 1)->frames[0].module);
    ck_assert_int_eq(stackwalk_requesting_thread(t.r), -1);
    swtest_free(&t);
}
END_TEST

/* The crashed thread starts from the exception's context; the thread
 * that wrote the dump (Breakpad info) is left out. */
START_TEST(test_stackwalk_synth_exception)
{
    const struct cpu_case *c = &cpus[1];
    struct unwind_regs r = context(c, 0), er = context(c, 0);
    struct swtest t;
    uint8_t *dump;
    size_t len;
    struct mdw *w = mdw_new(1);
    struct mdw_system_info si = {.arch = 9, .ncpus = 1, .platform = 0x8201};
    struct mdw_module m = {
        .base = MOD_BASE, .size = MOD_SIZE, .name = "/synth/app"};
    struct mdw_thread t1 = {.tid = 1,
                            .ctx = {.kind = MDW_CTX_AMD64, .regs = &r}};
    struct mdw_thread t2 = {.tid = 2,
                            .ctx = {.kind = MDW_CTX_AMD64, .regs = &r}};
    struct mdw_exception e = {
        .tid = 2, .code = 11, .ctx = {.kind = MDW_CTX_AMD64, .regs = &er}};

    er.r[UNWIND_AMD64_RIP] = PC2;
    mdw_system_info(w, &si);
    mdw_module(w, &m);
    mdw_thread(w, &t1);
    mdw_thread(w, &t2);
    mdw_exception(w, &e);
    mdw_breakpad_info(w, 3, 1, 2); /* both ids valid: dump thread 1 */
    mdw_finish(w, &dump, &len);
    mdw_free(w);
    swtest_walk_mem(&t, dump, len, NULL, NULL);
    ck_assert_uint_eq(stackwalk_thread_count(t.r), 1);
    ck_assert_int_eq(stackwalk_requesting_thread(t.r), 0);
    ck_assert_uint_eq(swtest_crashed(&t)->thread_id, 2);
    ck_assert_uint_eq(swtest_crashed(&t)->frames[0].instruction, PC2);
    swtest_free(&t);
}
END_TEST

/* A provider whose STACK CFI leaves the stack pointer where it was
 * (.cfa: $rsp): the caller is refused and the walk stops, though the
 * rule "found" one. */
static struct unwind_bpindex *cfi_index;

static int cfi_get(void *ctx, const struct minidump_module *m,
                   struct stackwalk_symbols *out)
{
    (void)ctx;
    (void)m;
    *out = (struct stackwalk_symbols){.bp = cfi_index};
    return 0;
}

START_TEST(test_stackwalk_synth_sp_stuck)
{
    static const char sym[] =
        "MODULE Linux x86_64 000000000000000000000000000000000 app\n"
        "STACK CFI INIT 0 10000 .cfa: $rsp .ra: .cfa ^\n";
    const struct cpu_case *c = &cpus[1];
    struct objfile_map map = {.path = "mem.sym",
                              .data = (const uint8_t *)sym,
                              .len = sizeof(sym) - 1};
    struct breakpad_stack *recs;
    size_t n, len;
    uint8_t stack[STACK_LEN] = {0}, *dump;
    struct unwind_regs r = context(c, 0);
    struct stackwalk_provider p = {.get = cfi_get};
    struct stackwalk_result *res;
    struct minidump *md;
    char err[128];

    ck_assert_int_eq(breakpad_stack_records(&map, &recs, &n), 0);
    ck_assert_int_eq(unwind_bpindex_new(recs, n, &cfi_index, NULL, 0), 0);
    put_word(stack, 8, 0, PC1); /* [rsp]: the rule's return address */
    build(c, &r, stack, sizeof(stack), &dump, &len);
    ck_assert_int_eq(minidump_load(dump, len, &md, err, sizeof(err)), 0);
    ck_assert_int_eq(stackwalk_run(md, &p, NULL, &res), 0);
    ck_assert_uint_eq(stackwalk_thread(res, 0)->nframes, 1);
    stackwalk_result_free(res);
    minidump_free(md);
    free(dump);
    unwind_bpindex_free(cfi_index);
    free(recs);
}
END_TEST

static Suite *synth_suite(void)
{
    Suite *s = suite_create("stackwalk_synth");
    TCase *tc = tcase_create("synthetic");
    int ncpus = (int)(sizeof(cpus) / sizeof(cpus[0]));

    tcase_add_loop_test(tc, test_stackwalk_synth_fp_chain, 0, ncpus);
    tcase_add_loop_test(tc, test_stackwalk_synth_no_sysinfo, 0, ncpus);
    tcase_add_loop_test(tc, test_stackwalk_synth_fp_cycle, 0, ncpus);
    tcase_add_loop_test(tc, test_stackwalk_synth_missing_stack, 0, ncpus);
    tcase_add_test(tc, test_stackwalk_synth_huge_stack);
    tcase_add_test(tc, test_stackwalk_synth_no_scan);
    tcase_add_test(tc, test_stackwalk_synth_no_context);
    tcase_add_test(tc, test_stackwalk_synth_exception);
    tcase_add_test(tc, test_stackwalk_synth_sp_stuck);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return symtest_run(synth_suite());
}
