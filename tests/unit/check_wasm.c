/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the WebAssembly reader against llvm-symbolizer-14:
 * every instruction of the code section of programs the test builds
 * (tests/data/macho/src) with clang-14 --target=wasm32 -g and wasm-ld-14,
 * DWARF 4 and 5, C and C++, compared as in check_elfdw (oracle.h).
 * Addresses are code-section offsets, as llvm-objdump and
 * llvm-symbolizer take them.  A build_id section the test appends gives
 * the identity; truncated and damaged modules fail cleanly.
 */
#include "symsrvd_config.h"

#include "needtool.h"
#include "objfile/objfile.h"
#include "oracle.h"
#include "symtest.h"
#include "table/symtable.h"
#include "wasm/wasm.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* The build id the test appends (20 bytes, as a SHA-1 would be). */
static const char build_id[] = "\x01\x23\x45\x67\x89\xab\xcd\xef"
                               "\xfe\xdc\xba\x98\x76\x54\x32\x10"
                               "\xaa\xbb\xcc\xdd";

static int build(const char *path, struct oracle_built *out, char *err,
                 size_t n)
{
    struct objfile_map map;
    struct symtable_builder *b = symtable_builder_new();
    int rc;

    memset(out, 0, sizeof(*out));
    rc = objfile_map(path, &map);
    ck_assert_msg(rc == 0, "map %s: %s", path, map.err);
    ck_assert_int_eq(objfile_detect(&map), OBJFILE_WASM);
    rc = objfile_build(&map, b);
    if (rc != 0)
        snprintf(err, n, "%s", map.err);
    if (rc == 0)
        oracle_built_load(b, out);
    symtable_builder_free(b);
    objfile_unmap(&map);
    return rc;
}

static void tmp_setup(void)
{
    symtest_tmpdir(tmpdir, sizeof(tmpdir), "check_wasm");
}

static void tmp_teardown(void)
{
    symtest_rmdir(tmpdir);
}

/* Compile and link SOURCES into tmpdir/prog.wasm, then append a
 * build_id custom section (id 0, size 29, name "build_id", 20 bytes). */
static char *build_program(const char *cc, const char *flags,
                           const char *sources)
{
    char *bin = oracle_fmt("%s/prog.wasm", tmpdir);
    char *src = symtest_data("macho/src");
    char *cmd = oracle_fmt(
        "cd '%s' && mkdir -p '%s/o' && "
        "for s in %s; do %s --target=wasm32 -g %s -fno-exceptions "
        "-fno-rtti -c $s -o '%s/o/'$s.o || exit 1; done && "
        "wasm-ld-14 --no-entry --export=main --allow-undefined -o '%s' "
        "'%s/o/'*.o && printf '\\000\\035\\010build_id' >> '%s' && "
        "printf '%s' >> '%s'",
        src, tmpdir, sources, cc, flags, tmpdir, bin, tmpdir, bin, build_id,
        bin);

    oracle_run(cmd);
    free(cmd);
    free(src);
    return bin;
}

static const struct compiled_case {
    const char *label, *cc, *flags, *sources;
    double floor;
} compiled_cases[] = {
    {"wasm32 -O2", "clang-14", "-O2", "chains.c chains_util.c", 0.97},
    {"wasm32 -O0", "clang-14", "-O0", "chains.c chains_util.c", 0.97},
    {"wasm32 dwarf-5", "clang-14", "-gdwarf-5 -O2", "chains.c chains_util.c",
     0.97},
    {"wasm32 dwarf-4", "clang-14", "-gdwarf-4 -O1", "chains.c chains_util.c",
     0.97},
    {"wasm32 C++", "clang++-14", "-O2 -nostdinc++", "shapes.cc", 0.97},
};

/* Every code-section instruction against llvm-symbolizer: exact agreement
 * of at least the floor and no more than 0.5% unexplained.  The linker's
 * functions without DWARF (__wasm_call_ctors, the main wrapper) fall in
 * the outer-name class: we name them from the name section, where
 * llvm-symbolizer says ??. */
START_TEST(test_wasm_matches_oracle)
{
    const struct compiled_case *c = &compiled_cases[_i];
    struct oracle_built b;
    char err[256], *bin, *afile;
    uint64_t *addrs;
    struct oracle_chain *u, *llvm;
    struct oracle_agreement a;
    size_t n;

    if (!needtool(c->label, c->cc, "wasm-ld-14", "llvm-symbolizer-14",
                  "llvm-objdump-14", NULL))
        return;
    bin = build_program(c->cc, c->flags, c->sources);
    addrs = oracle_text_addresses(tmpdir, "CODE", bin, &n);
    afile = oracle_write_addresses(tmpdir, addrs, n);
    ck_assert_msg(build(bin, &b, err, sizeof(err)) == 0, "%s", err);
    u = oracle_ours(b.t, addrs, n);
    llvm = oracle_llvm_answers(tmpdir, bin, afile, n);
    a = oracle_compare(c->label, "llvm", addrs, llvm, u, NULL, n);
    ck_assert_msg(a.exact >= c->floor, "%s: %.4f agreement with llvm", c->label,
                  a.exact);
    ck_assert_msg(a.unexplained <= n / 200, "%s: %zu unexplained vs llvm",
                  c->label, a.unexplained);
    oracle_chains_free(llvm, n);
    oracle_chains_free(u, n);
    oracle_built_free(&b);
    free(afile);
    free(addrs);
    free(bin);
}
END_TEST

START_TEST(test_wasm_identity)
{
    struct objfile_map map;
    struct objfile_ident id;
    char *bin;

    if (!needtool("identity", "clang-14", "wasm-ld-14", NULL))
        return;
    bin = build_program("clang-14", "-O2", "chains.c chains_util.c");
    ck_assert_int_eq(objfile_map(bin, &map), 0);
    ck_assert_int_eq(objfile_identify(&map, &id), 0);
    ck_assert_str_eq(id.kind == OBJFILE_WASM ? "wasm" : "?", "wasm");
    ck_assert_str_eq(id.arch, "wasm32");
    ck_assert_str_eq(id.code_id, "0123456789abcdeffedcba9876543210aabbccdd");
    ck_assert_str_eq(id.debug_id, "0123456789ABCDEFFEDCBA98765432100");
    ck_assert_str_eq(id.code_file, "prog.wasm");
    ck_assert_uint_eq(id.image_base, 0);
    objfile_unmap(&map);
    free(bin);
}
END_TEST

static int try_bytes(const uint8_t *data, size_t len)
{
    return oracle_try_bytes(data, len, wasm_identify, wasm_build);
}

START_TEST(test_wasm_damaged)
{
    char *bin;
    uint8_t *data, *copy;
    size_t len, fails = 0;
    static const uint8_t huge[] = {0, 'a', 's',  'm',  1,    0,    0,
                                   0, 10,  0xff, 0xff, 0xff, 0xff, 0x0f};
    static const uint8_t bodies[] = {0,  'a', 's',  'm',  1,    0,    0,   0,
                                     10, 5,   0xff, 0xff, 0xff, 0xff, 0x0f};
    static const uint8_t leb[] = {0,    'a',  's',  'm',  1,    0,    0,
                                  0,    0,    0x80, 0x80, 0x80, 0x80, 0x80,
                                  0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

    if (!needtool("damaged", "clang-14", "wasm-ld-14", NULL))
        return;
    bin = build_program("clang-14", "-O2", "chains.c chains_util.c");
    data = (uint8_t *)oracle_slurp(bin, &len);
    ck_assert_int_eq(try_bytes(data, len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        copy = malloc(cut ? cut : 1);
        memcpy(copy, data, cut);
        fails += try_bytes(copy, cut) != 0;
        free(copy);
    }
    ck_assert_uint_gt(fails, len / 2);
    /* A section longer than the file, a body count beyond the section,
     * a LEB128 that never ends. */
    ck_assert_int_eq(try_bytes(huge, sizeof(huge)), -EINVAL);
    ck_assert_int_eq(try_bytes(bodies, sizeof(bodies)), -EINVAL);
    ck_assert_int_eq(try_bytes(leb, sizeof(leb)), -EINVAL);
    free(data);
    free(bin);
}
END_TEST

static Suite *wasm_suite(void)
{
    Suite *s = suite_create("wasm");
    TCase *tc = tcase_create("wasm");

    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_wasm_matches_oracle, 0,
                        sizeof(compiled_cases) / sizeof(compiled_cases[0]));
    tcase_add_test(tc, test_wasm_identity);
    tcase_add_test(tc, test_wasm_damaged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return symtest_run(wasm_suite());
}
