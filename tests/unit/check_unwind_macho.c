/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the compact unwinder (unwind_macho.c): every row that
 * llvm-objdump-14 --unwind-info prints for the fixture macos/crash and for
 * x86_64 and arm64 programs the test builds (clang-14, ld64.lld-14) must
 * be what our lookup finds at the function's first and last byte; then
 * steps through RBP-frame, frameless and arm64 frame encodings over a fake
 * stack, and damaged sections fail cleanly.
 */
#include "symsrvd_config.h"

#include "needtool.h"
#include "oracle.h"
#include "symtest.h"
#include "unwind/unwind.h"
#include "unwind_testmem.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static void tmp_setup(void)
{
    symtest_tmpdir(tmpdir, sizeof(tmpdir), "check_unwind_macho");
}

static void tmp_teardown(void)
{
    symtest_rmdir(tmpdir);
}

struct row {
    uint64_t func;
    uint32_t enc;
};

/* The second-level rows llvm-objdump prints, in order. */
static struct row *objdump_rows(const char *bin, size_t *n)
{
    char *cmd = oracle_fmt("llvm-objdump-14 --unwind-info '%s'", bin);
    char *text = oracle_capture(tmpdir, cmd), *p = text, *l;
    struct row *v = NULL;
    size_t cap = 0;

    *n = 0;
    while ((l = oracle_next_line(&p)) != NULL) {
        char *f = strstr(l, "function offset=0x"), *e = strstr(l, "]=0x");

        if (f == NULL || e == NULL)
            continue; /* the top-level index has no encoding */
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            v = realloc(v, cap * sizeof(*v));
        }
        v[*n].func = strtoull(f + 16, NULL, 16);
        v[*n].enc = (uint32_t)strtoul(e + 2, NULL, 16);
        (*n)++;
    }
    free(text);
    free(cmd);
    return v;
}

/* Every row at its first byte, and at the byte before the next row. */
static void check_rows(const char *label, const char *bin)
{
    struct unwind_macho *um;
    size_t n;
    struct row *rows = objdump_rows(bin, &n);

    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(unwind_macho_open(bin, NULL, &um), 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t func, last = i + 1 < n ? rows[i + 1].func - 1 : rows[i].func;
        uint32_t enc;

        ck_assert_int_eq(unwind_macho_lookup(um, rows[i].func, &func, &enc), 0);
        ck_assert_msg(func == rows[i].func && enc == rows[i].enc,
                      "%s row %zu: 0x%" PRIx64 " 0x%08x, ours 0x%" PRIx64
                      " 0x%08x",
                      label, i, rows[i].func, rows[i].enc, func, enc);
        ck_assert_int_eq(unwind_macho_lookup(um, last, &func, &enc), 0);
        ck_assert_uint_eq(func, rows[i].func);
    }
    ck_assert_int_eq(unwind_macho_lookup(um, 0, &(uint64_t){0}, &(uint32_t){0}),
                     -ENOENT);
    printf("%s: %zu compact unwind rows agree with llvm-objdump\n", label, n);
    unwind_macho_free(um);
    free(rows);
}

START_TEST(test_unwind_macho_fixture_rows)
{
    char *bin = symtest_data("macho/crash");

    if (needtool("fixture rows", "llvm-objdump-14", NULL))
        check_rows("crash", bin);
    free(bin);
}
END_TEST

static const char *const built_cases[][3] = {
    {"clang-14", "x86_64", "chains.c chains_util.c"},
    {"clang-14", "arm64", "chains.c chains_util.c"},
    {"clang++-14", "x86_64", "shapes.cc"},
    {"clang++-14", "arm64", "shapes.cc"},
};

/* Build tests/data/macho/src SOURCES with CC for ARCH macOS into
 * tmpdir/prog (-fno-exceptions leaves no unwind tables unless asked). */
static char *build_prog(const char *cc, const char *arch, const char *sources)
{
    char *bin = oracle_fmt("%s/prog", tmpdir);
    char *src = symtest_data("macho/src");
    char *cmd = oracle_fmt(
        "cd '%s' && for s in %s; do "
        "%s --target=%s-apple-macos11 -O2 -nostdinc++ -fno-exceptions "
        "-fno-rtti -funwind-tables -c $s -o '%s/'$s.o || exit 1; done && "
        "ld64.lld-14 -arch %s -platform_version macos 11.0 11.0 "
        "-undefined dynamic_lookup -o '%s' '%s'/*.o",
        src, sources, cc, arch, tmpdir, arch, bin, tmpdir);

    oracle_run(cmd);
    free(cmd);
    free(src);
    return bin;
}

START_TEST(test_unwind_macho_built_rows)
{
    const char *cc = built_cases[_i][0], *arch = built_cases[_i][1];
    char *bin, *label;

    if (!needtool(arch, cc, "ld64.lld-14", "llvm-objdump-14", NULL))
        return;
    bin = build_prog(cc, arch, built_cases[_i][2]);
    label = oracle_fmt("%s %s", arch, built_cases[_i][2]);
    check_rows(label, bin);
    free(label);
    free(bin);
}
END_TEST

/* The first row of BIN whose encoding has MODE (bits 24-27) and, when
 * NEED is not 0, some of the bits of NEED. */
static int find_mode(const char *bin, unsigned mode, uint32_t need,
                     struct row *out)
{
    size_t n;
    struct row *rows = objdump_rows(bin, &n);
    int rc = -ENOENT;

    for (size_t i = 0; i < n && rc != 0; i++) {
        if (((rows[i].enc >> 24) & 0xf) == mode &&
            (need == 0 || (rows[i].enc & need) != 0)) {
            *out = rows[i];
            rc = 0;
        }
    }
    free(rows);
    return rc;
}

static struct unwind_regs amd64_regs(uint64_t rsp, uint64_t rbp)
{
    struct unwind_regs r = {.cpu = UNWIND_CPU_AMD64};

    r.r[UNWIND_AMD64_RSP] = rsp;
    r.r[UNWIND_AMD64_RBP] = rbp;
    r.valid = 1u << UNWIND_AMD64_RSP | 1u << UNWIND_AMD64_RBP;
    return r;
}

/* RBP_FRAME with saved registers: the caller's rip and rbp from the frame
 * record, rsp above it, and the first saved register (its number in bits
 * 0-2) at rbp - 8 * offset. */
START_TEST(test_unwind_macho_rbp_frame)
{
    static const int regs[6] = {-1, UNWIND_AMD64_RBX, 12, 13, 14, 15};
    char *bin;
    struct unwind_macho *um;
    struct testmem m = {.base = 0x7000};
    struct unwind_memory mem = testmem_mem(&m);
    struct unwind_regs callee = amd64_regs(0x7100, 0x7800), caller = {0};
    struct row r;
    uint64_t off;

    if (!needtool("rbp frame", "clang-14", "ld64.lld-14", "llvm-objdump-14",
                  NULL))
        return;
    /* clang keeps frame pointers on macOS: RBP frames, some saving rbx */
    bin = build_prog("clang-14", "x86_64", "chains.c chains_util.c");
    ck_assert_int_eq(unwind_macho_open(bin, NULL, &um), 0);
    ck_assert_int_eq(unwind_macho_cpu(um), UNWIND_CPU_AMD64);
    ck_assert_int_eq(find_mode(bin, 1, 0x7, &r), 0);
    off = (r.enc >> 16) & 0xff;
    testmem_put(&m, 0x7800, 0x7a00, 8);           /* caller rbp */
    testmem_put(&m, 0x7808, 0x100001234ull, 8);   /* return address */
    testmem_put(&m, 0x7800 - 8 * off, 0xabcd, 8); /* first saved register */
    ck_assert_int_eq(unwind_macho_step(um, r.func + 4, &callee, &mem, &caller),
                     0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x100001234ull);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], 0x7a00);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], 0x7810);
    ck_assert_uint_eq(caller.r[regs[r.enc & 7]], 0xabcd);
    unwind_macho_free(um);
    free(bin);
}
END_TEST

/* STACK_IMMD: rsp + size is the caller's rsp and the word below it the
 * return address. */
START_TEST(test_unwind_macho_frameless)
{
    char *bin = symtest_data("macho/crash");
    struct unwind_macho *um;
    struct testmem m = {.base = 0x7000};
    struct unwind_memory mem = testmem_mem(&m);
    struct unwind_regs callee = amd64_regs(0x7100, 0), caller = {0};
    struct row r;
    uint64_t size;

    if (!needtool("frameless", "llvm-objdump-14", NULL)) {
        free(bin);
        return;
    }
    ck_assert_int_eq(unwind_macho_open(bin, NULL, &um), 0);
    ck_assert_int_eq(find_mode(bin, 2, 0, &r), 0);
    size = 8 * ((r.enc >> 16) & 0xff);
    testmem_put(&m, 0x7100 + size - 8, 0x100004321ull, 8);
    ck_assert_int_eq(unwind_macho_step(um, r.func, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x100004321ull);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], 0x7100 + size);
    unwind_macho_free(um);
    free(bin);
}
END_TEST

/* DWARF encodings (x86_64 mode 4: the fixture has several) are stepped
 * through __eh_frame: at a function's first instruction its CFI says the
 * return address is at [rsp] and the caller's rsp is rsp + 8. */
START_TEST(test_unwind_macho_eh_frame)
{
    char *bin = symtest_data("macho/crash");
    struct unwind_macho *um;
    size_t n, dwarf = 0;
    struct row *rows;

    if (!needtool("eh_frame", "llvm-objdump-14", NULL)) {
        free(bin);
        return;
    }
    rows = objdump_rows(bin, &n);
    ck_assert_int_eq(unwind_macho_open(bin, NULL, &um), 0);
    for (size_t i = 0; i < n; i++) {
        struct testmem m = {.base = 0x7000};
        struct unwind_memory mem = testmem_mem(&m);
        struct unwind_regs callee = amd64_regs(0x7100, 0x7800), caller = {0};

        if (((rows[i].enc >> 24) & 0xf) != 4)
            continue;
        dwarf++;
        testmem_put(&m, 0x7100, 0x100002222ull, 8);
        ck_assert_int_eq(
            unwind_macho_step(um, rows[i].func, &callee, &mem, &caller), 0);
        ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], 0x100002222ull);
        ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], 0x7108);
    }
    ck_assert_uint_gt(dwarf, 0);
    printf("crash: %zu DWARF-encoded functions stepped through __eh_frame\n",
           dwarf);
    unwind_macho_free(um);
    free(rows);
    free(bin);
}
END_TEST

/* arm64 FRAME saving x19/x20: pc and fp from the frame record, sp above
 * it, x19 and x20 below fp; FRAMELESS: pc is lr. */
START_TEST(test_unwind_macho_arm64)
{
    char *bin;
    struct unwind_macho *um;
    struct testmem m = {.base = 0x7000};
    struct unwind_memory mem = testmem_mem(&m);
    struct unwind_regs callee = {.cpu = UNWIND_CPU_ARM64}, caller = {0};
    struct row r;

    if (!needtool("arm64", "clang-14", "ld64.lld-14", "llvm-objdump-14", NULL))
        return;
    bin = build_prog("clang-14", "arm64", "chains.c chains_util.c");
    ck_assert_int_eq(unwind_macho_open(bin, NULL, &um), 0);
    ck_assert_int_eq(unwind_macho_cpu(um), UNWIND_CPU_ARM64);
    ck_assert_int_eq(find_mode(bin, 4, 0x1, &r), 0);
    callee.r[UNWIND_ARM64_FP] = 0x7800;
    callee.r[UNWIND_ARM64_SP] = 0x77e0;
    callee.r[UNWIND_ARM64_LR] = 0x100000999ull;
    callee.valid = 1ull << UNWIND_ARM64_FP | 1ull << UNWIND_ARM64_SP |
                   1ull << UNWIND_ARM64_LR;
    testmem_put(&m, 0x7800, 0x7a00, 8);
    testmem_put(&m, 0x7808, 0x100001234ull, 8);
    testmem_put(&m, 0x77f8, 0x1919, 8);
    testmem_put(&m, 0x77f0, 0x2020, 8);
    ck_assert_int_eq(unwind_macho_step(um, r.func, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_PC], 0x100001234ull);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_FP], 0x7a00);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_SP], 0x7810);
    ck_assert_uint_eq(caller.r[19], 0x1919);
    ck_assert_uint_eq(caller.r[20], 0x2020);
    ck_assert_int_eq(find_mode(bin, 2, 0, &r), 0);
    caller = (struct unwind_regs){0};
    ck_assert_int_eq(unwind_macho_step(um, r.func, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_PC], 0x100000999ull);
    ck_assert_uint_eq(caller.r[UNWIND_ARM64_SP],
                      0x77e0 + 16 * ((r.enc >> 12) & 0xfff));
    unwind_macho_free(um);
    free(bin);
}
END_TEST

/* The fixture's __unwind_info (llvm-objdump --macho --private-headers:
 * file offset 63712, 0x6d4 bytes) with each 32-bit word in turn set to
 * 0xffffffff: lookups across the code answer 0, -ENOENT or -EINVAL and
 * never read outside the section (the ASan build checks that); counts
 * and offsets that point outside are refused at least once. */
#define UI_OFFSET 63712
#define UI_SIZE 0x6d4

START_TEST(test_unwind_macho_damaged)
{
    char *src = symtest_data("macho/crash");
    char *dst = oracle_fmt("%s/crash", tmpdir);
    size_t len, refused = 0;
    uint8_t *data = (uint8_t *)oracle_slurp(src, &len);

    ck_assert_uint_gt(len, UI_OFFSET + UI_SIZE);
    for (size_t at = UI_OFFSET; at < UI_OFFSET + UI_SIZE; at += 4) {
        struct unwind_macho *um;
        uint32_t saved, enc;
        uint64_t func;
        FILE *f;

        memcpy(&saved, data + at, 4);
        memset(data + at, 0xff, 4);
        f = fopen(dst, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        fclose(f);
        memcpy(data + at, &saved, 4);
        ck_assert_int_eq(unwind_macho_open(dst, NULL, &um), 0);
        for (uint64_t rva = 0xd00; rva < 0xe000; rva += 0x80) {
            int rc = unwind_macho_lookup(um, rva, &func, &enc);

            ck_assert(rc == 0 || rc == -ENOENT || rc == -EINVAL);
            refused += rc == -EINVAL;
        }
        unwind_macho_free(um);
    }
    ck_assert_uint_gt(refused, 0);
    free(data);
    free(dst);
    free(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unwind_macho");
    TCase *tc = tcase_create("compact");

    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_unwind_macho_fixture_rows);
    tcase_add_loop_test(tc, test_unwind_macho_built_rows, 0,
                        sizeof(built_cases) / sizeof(built_cases[0]));
    tcase_add_test(tc, test_unwind_macho_rbp_frame);
    tcase_add_test(tc, test_unwind_macho_frameless);
    tcase_add_test(tc, test_unwind_macho_arm64);
    tcase_add_test(tc, test_unwind_macho_eh_frame);
    tcase_add_test(tc, test_unwind_macho_damaged);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
