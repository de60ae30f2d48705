/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Mach-O reader against oracles: every instruction of
 * __TEXT,__text of the fixture macos/crash (with its crash.dSYM, and the
 * dSYM's inner file read alone) and of programs the test builds with
 * clang-14 for x86_64 and arm64 macOS, linked by ld64.lld-14 and given a
 * dSYM by dsymutil-14, is symbolized by our table and by
 * llvm-symbolizer-14 --inlines, and the differences are classified as in
 * check_elfdw (oracle.h).  Identity is checked against llvm-objdump's
 * LC_UUID; universal files (llvm-lipo-14) answer per slice; dSYM bundle
 * directories resolve; truncated and damaged files fail cleanly.
 */
#include "symsrvd_config.h"

#include "macho/macho.h"
#include "needtool.h"
#include "objfile/objfile.h"
#include "oracle.h"
#include "symtest.h"
#include "table/symtable.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static char *fixture(const char *name)
{
    char *rel = oracle_fmt("macho/%s", name), *path = symtest_data(rel);

    free(rel);
    return path;
}

/* The table of slice WANT (NULL: the first) of PATH. */
static int build_slice(const char *path, const char *want,
                       struct oracle_built *out, char *err, size_t n)
{
    struct objfile_map map;
    struct symtable_builder *b = symtable_builder_new();
    int rc;

    memset(out, 0, sizeof(*out));
    rc = objfile_map(path, &map);
    ck_assert_msg(rc == 0, "map %s: %s", path, map.err);
    rc = macho_build_slice(&map, want, b, NULL, 0);
    if (rc != 0)
        snprintf(err, n, "%s", map.err);
    if (rc == 0)
        oracle_built_load(b, out);
    symtable_builder_free(b);
    objfile_unmap(&map);
    return rc;
}

/* Build slice WANT of BIN, symbolize every __text instruction of
 * ADDR_BIN with ours and llvm-symbolizer (run on ORACLE_BIN, which may
 * name a slice as FILE:ARCH), and require exact agreement of at least
 * FLOOR on the addresses a function covers and at most 0.5% unexplained
 * differences.  Padding after a function and jump tables in __text count
 * apart: nlist symbols have no size, so llvm-symbolizer stretches the
 * symbol before them over those bytes (with no location), where the
 * DWARF function has ended and we answer nothing. */
static void check_oracle(const char *label, const char *bin, const char *want,
                         const char *addr_bin, const char *oracle_bin,
                         double floor)
{
    struct oracle_built b;
    char err[256];
    size_t n;
    uint64_t *addrs = oracle_text_addresses(tmpdir, "__text", addr_bin, &n);
    char *afile = oracle_write_addresses(tmpdir, addrs, n);
    char *obj = oracle_fmt("%s", oracle_bin);
    struct oracle_chain *u, *llvm;
    struct oracle_agreement a;

    ck_assert_msg(build_slice(bin, want, &b, err, sizeof(err)) == 0, "%s", err);
    u = oracle_ours(b.t, addrs, n);
    llvm = oracle_llvm_answers(tmpdir, obj, afile, n);
    a = oracle_compare(label, "llvm", addrs, llvm, u, NULL, n);
    ck_assert_msg(a.exact + a.padding >= floor, "%s: %.4f agreement with llvm",
                  label, a.exact);
    ck_assert_msg(a.unexplained <= n / 200, "%s: %zu unexplained vs llvm",
                  label, a.unexplained);
    oracle_chains_free(llvm, n);
    oracle_chains_free(u, n);
    oracle_built_free(&b);
    free(obj);
    free(afile);
    free(addrs);
}

static void tmp_setup(void)
{
    symtest_tmpdir(tmpdir, sizeof(tmpdir), "check_macho");
}

static void tmp_teardown(void)
{
    symtest_rmdir(tmpdir);
}

/* Compile and link tests/data/macho/src SOURCES for ARCH (x86_64, arm64
 * for macOS; armv7, 32-bit, for iOS, as a dylib since there is no main:
 * ld64.lld-14 links no i386) into tmpdir/OUT with a dSYM beside it; the
 * path. */
static char *build_program(const char *cc, const char *flags, const char *arch,
                           const char *sources, const char *out)
{
    bool ios = strcmp(arch, "armv7") == 0;
    const char *os = ios ? "ios" : "macos", *ver = ios ? "9.0" : "11.0";
    char *bin = oracle_fmt("%s/%s", tmpdir, out);
    char *src = symtest_data("macho/src");
    char *cmd = oracle_fmt(
        "cd '%s' && mkdir -p '%s/o-%s' && "
        "for s in %s; do %s --target=%s-apple-%s%s -g %s "
        "-fno-exceptions -fno-rtti -c $s -o '%s/o-'%s/$s.o || exit 1; done "
        "&& ld64.lld-14 -arch %s -platform_version %s %s %s %s "
        "-undefined dynamic_lookup -o '%s' '%s/o-'%s/*.o && "
        "dsymutil-14 '%s'",
        src, tmpdir, out, sources, cc, arch, os, ver, flags, tmpdir, out, arch,
        os, ver, ver, ios ? "-dylib" : "", bin, tmpdir, out, bin);

    oracle_run(cmd);
    free(cmd);
    free(src);
    return bin;
}

static bool have_tools(const char *who)
{
    return needtool(who, "clang-14", "ld64.lld-14", "dsymutil-14",
                    "llvm-symbolizer-14", "llvm-objdump-14", NULL);
}

/* --- oracle comparisons -------------------------------------------------- */

static const struct compiled_case {
    const char *label, *cc, *flags, *arch, *sources;
    double floor;
} compiled_cases[] = {
    {"x86_64 -O2", "clang-14", "-O2", "x86_64", "chains.c chains_util.c", 0.97},
    {"arm64 -O2", "clang-14", "-O2", "arm64", "chains.c chains_util.c", 0.97},
    {"x86_64 -O0", "clang-14", "-O0", "x86_64", "chains.c chains_util.c", 0.99},
    /* dsymutil-14 cannot link DWARF 5 (it drops the new forms and leaves
     * a dSYM llvm-dwarfdump --verify rejects); DWARF 5 is checked with
     * WASM, which needs no dsymutil. */
    {"x86_64 dwarf-2", "clang-14", "-gdwarf-2 -O2", "x86_64",
     "chains.c chains_util.c", 0.97},
    {"x86_64 C++", "clang++-14", "-O2 -nostdinc++", "x86_64", "shapes.cc",
     0.97},
    {"arm64 C++", "clang++-14", "-O2 -nostdinc++", "arm64", "shapes.cc", 0.97},
    /* 32-bit: ld64.lld-14 links armv7 only for simple code (chains.c's
     * relocations defeat it) and no i386 at all. */
    {"armv7 -O1", "clang-14", "-O1", "armv7", "chains_util.c", 0.97},
};

START_TEST(test_macho_matches_oracle)
{
    const struct compiled_case *c = &compiled_cases[_i];
    char *bin, *dwarf;

    if (!have_tools(c->label))
        return;
    bin = build_program(c->cc, c->flags, c->arch, c->sources, "prog");
    check_oracle(c->label, bin, NULL, bin, bin, c->floor);
    /* The dSYM's own file gives the same answers without the binary. */
    dwarf = oracle_fmt("%s.dSYM/Contents/Resources/DWARF/prog", bin);
    check_oracle(c->label, dwarf, NULL, bin, bin, c->floor);
    free(dwarf);
    free(bin);
}
END_TEST

START_TEST(test_macho_fixture_matches_oracle)
{
    char *bin = fixture("crash");
    char *dwarf = fixture("crash.dSYM/Contents/Resources/DWARF/crash");

    if (have_tools("fixture crash")) {
        check_oracle("crash+dSYM", bin, NULL, bin, bin, 0.97);
        check_oracle("crash.dSYM alone", dwarf, NULL, bin, bin, 0.97);
    }
    free(dwarf);
    free(bin);
}
END_TEST

/* Without its dSYM a binary still names its functions from LC_SYMTAB,
 * each bounded by the next function start. */
START_TEST(test_macho_symbols_only)
{
    char *bin, *cmd;

    if (!have_tools("symbols only"))
        return;
    bin = build_program("clang-14", "-O2", "x86_64", "chains.c chains_util.c",
                        "prog");
    cmd = oracle_fmt("rm -rf '%s.dSYM'", bin);
    oracle_run(cmd);
    check_oracle("x86_64 no dSYM", bin, NULL, bin, bin, 0.99);
    free(cmd);
    free(bin);
}
END_TEST

/* --- identity and universal files ------------------------------------- */

/* LC_UUID of BIN as llvm-objdump prints it, dashes removed. */
static char *objdump_uuid(const char *bin, const char *arch)
{
    char *cmd = oracle_fmt("llvm-objdump-14 --macho --private-headers "
                           "--arch=%s '%s' | awk '$1 == \"uuid\" {print $2}'",
                           arch, bin);
    char *text = oracle_capture(tmpdir, cmd), *out = malloc(64);
    size_t k = 0;

    for (char *p = text; *p != '\0' && *p != '\n' && k < 63; p++)
        if (*p != '-')
            out[k++] = *p;
    out[k] = '\0';
    free(text);
    free(cmd);
    return out;
}

START_TEST(test_macho_fixture_identity)
{
    char *bin = fixture("crash");
    struct objfile_map map;
    struct objfile_ident id;

    ck_assert_int_eq(objfile_map(bin, &map), 0);
    ck_assert_int_eq(objfile_detect(&map), OBJFILE_MACHO);
    ck_assert_int_eq(objfile_identify(&map, &id), 0);
    /* MODULE mac x86_64 67E9247C814E392BA027DBDE6748FCBF0 crash, as the
     * fixture's Breakpad file (made by dump_syms) names it. */
    ck_assert_str_eq(id.debug_id, "67E9247C814E392BA027DBDE6748FCBF0");
    ck_assert_str_eq(id.code_id, "67e9247c814e392ba027dbde6748fcbf");
    ck_assert_str_eq(id.arch, "x86_64");
    ck_assert_str_eq(id.code_file, "crash");
    ck_assert_uint_eq(id.image_base, 0x100000000ull);
    objfile_unmap(&map);
    free(bin);
}
END_TEST

START_TEST(test_macho_universal)
{
    char *x86, *arm, *fat, *fat_arm, *fat_x86, *cmd, *ux, *ua, err[256];
    struct objfile_map map;
    struct objfile_ident ids[4], id;
    struct oracle_built b;
    size_t n;

    if (!have_tools("universal") ||
        !needtool("universal", "llvm-lipo-14", NULL))
        return;
    x86 = build_program("clang-14", "-O2", "x86_64", "chains.c chains_util.c",
                        "x86");
    arm = build_program("clang-14", "-O2", "arm64", "chains.c chains_util.c",
                        "arm");
    fat = oracle_fmt("%s/fat", tmpdir);
    cmd = oracle_fmt("llvm-lipo-14 -create '%s' '%s' -output '%s' && "
                     "mkdir -p '%s.dSYM/Contents/Resources/DWARF' && "
                     "llvm-lipo-14 -create '%s.dSYM/Contents/Resources/DWARF/"
                     "x86' '%s.dSYM/Contents/Resources/DWARF/arm' -output "
                     "'%s.dSYM/Contents/Resources/DWARF/fat'",
                     x86, arm, fat, fat, x86, arm, fat);
    oracle_run(cmd);
    ux = objdump_uuid(fat, "x86_64");
    ua = objdump_uuid(fat, "arm64");
    ck_assert_int_eq(objfile_map(fat, &map), 0);
    ck_assert_int_eq(macho_slices(&map, ids, 4, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ids[0].arch, "x86_64");
    ck_assert_str_eq(ids[1].arch, "arm64");
    ck_assert_int_eq(strncasecmp(ids[0].code_id, ux, 32), 0);
    ck_assert_int_eq(strncasecmp(ids[1].code_id, ua, 32), 0);
    ck_assert_int_eq(macho_identify_slice(&map, ua, &id), 0);
    ck_assert_str_eq(id.arch, "arm64");
    ck_assert_int_eq(macho_identify_slice(&map, ids[0].debug_id, &id), 0);
    ck_assert_str_eq(id.arch, "x86_64");
    ck_assert_int_eq(macho_identify_slice(&map, "x86", &id), -ENOENT);
    objfile_unmap(&map);
    /* Each slice answers as its thin file, from the universal dSYM. */
    fat_arm = oracle_fmt("%s:arm64", fat);
    fat_x86 = oracle_fmt("%s:x86_64", fat);
    check_oracle("fat arm64", fat, "arm64", arm, fat_arm, 0.97);
    check_oracle("fat x86_64", fat, ux, x86, fat_x86, 0.97);
    free(fat_arm);
    free(fat_x86);
    ck_assert_int_eq(build_slice(fat, "0123", &b, err, sizeof(err)), -ENOENT);
    free(ux);
    free(ua);
    free(cmd);
    free(fat);
    free(arm);
    free(x86);
}
END_TEST

START_TEST(test_macho_dsym_bundle)
{
    char *bundle = fixture("crash.dSYM"), *slash, *out = NULL;

    ck_assert_int_eq(macho_dsym_file(bundle, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "crash.dSYM/Contents/Resources/DWARF/"
                                      "crash"));
    free(out);
    slash = oracle_fmt("%s/", bundle);
    ck_assert_int_eq(macho_dsym_file(slash, &out), 0);
    free(out);
    free(slash);
    ck_assert_int_eq(macho_dsym_file(tmpdir, &out), -ENOENT);
    ck_assert_ptr_null(out);
    free(bundle);
}
END_TEST

/* --- damaged input ------------------------------------------------------ */

static int try_bytes(const uint8_t *data, size_t len)
{
    return oracle_try_bytes(data, len, macho_identify, macho_build);
}

START_TEST(test_macho_truncated)
{
    char *path = fixture("crash.dSYM/Contents/Resources/DWARF/crash");
    size_t len, fails = 0;
    uint8_t *data = (uint8_t *)oracle_slurp(path, &len);

    ck_assert_int_eq(try_bytes(data, len), 0);
    /* Every length through the load commands, then a stride. */
    for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 509) {
        uint8_t *copy = malloc(cut ? cut : 1);

        memcpy(copy, data, cut);
        fails += try_bytes(copy, cut) != 0;
        free(copy);
    }
    ck_assert_uint_gt(fails, 0);
    free(data);
    free(path);
}
END_TEST

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

START_TEST(test_macho_damaged)
{
    char *path = fixture("crash");
    size_t len;
    uint8_t *data = (uint8_t *)oracle_slurp(path, &len);
    uint8_t *bad = malloc(len + 4096);
    uint8_t fat[48] = {0xca, 0xfe, 0xba, 0xbe};

    /* A load command size that is 0, unaligned or past sizeofcmds. */
    static const uint32_t sizes[] = {0, 7, 13, 0x7fffffff};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memcpy(bad, data, len);
        put32(bad + 32 + 4, sizes[i]);
        ck_assert_int_eq(try_bytes(bad, len), -EINVAL);
    }
    /* Huge counts: ncmds, sizeofcmds, a segment's nsects, nsyms. */
    memcpy(bad, data, len);
    put32(bad + 16, 0xffffffff);
    ck_assert_int_eq(try_bytes(bad, len), -EINVAL);
    memcpy(bad, data, len);
    put32(bad + 20, 0xfffffff0);
    ck_assert_int_eq(try_bytes(bad, len), -EINVAL);
    memcpy(bad, data, len);
    put32(bad + 32 + 72 + 64, 0x10000000); /* __TEXT's nsects */
    ck_assert_int_eq(try_bytes(bad, len), -EINVAL);
    /* A universal header whose slice lies past the end, and one with a
     * huge slice count. */
    put32be(fat + 4, 1);
    put32be(fat + 8, 0x01000007);
    put32be(fat + 16, 4096);
    put32be(fat + 20, 4096);
    ck_assert_int_eq(try_bytes(fat, sizeof(fat)), -EINVAL);
    put32be(fat + 4, 40);
    ck_assert_int_eq(try_bytes(fat, sizeof(fat)), -EINVAL);
    /* A relocatable object is refused, not misread. */
    memcpy(bad, data, len);
    put32(bad + 12, 1);
    ck_assert_int_eq(try_bytes(bad, len), -ENOTSUP);
    free(bad);
    free(data);
    free(path);
}
END_TEST

static Suite *macho_suite(void)
{
    Suite *s = suite_create("macho");
    TCase *oracle = tcase_create("oracle");
    TCase *ident = tcase_create("identity");
    TCase *bad = tcase_create("damaged");

    tcase_add_checked_fixture(oracle, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(ident, tmp_setup, tmp_teardown);
    tcase_set_timeout(oracle, 300);
    tcase_set_timeout(ident, 120);
    tcase_set_timeout(bad, 120);
    tcase_add_loop_test(oracle, test_macho_matches_oracle, 0,
                        sizeof(compiled_cases) / sizeof(compiled_cases[0]));
    tcase_add_test(oracle, test_macho_fixture_matches_oracle);
    tcase_add_test(oracle, test_macho_symbols_only);
    tcase_add_test(ident, test_macho_fixture_identity);
    tcase_add_test(ident, test_macho_universal);
    tcase_add_test(ident, test_macho_dsym_bundle);
    tcase_add_test(bad, test_macho_truncated);
    tcase_add_test(bad, test_macho_damaged);
    suite_add_tcase(s, oracle);
    suite_add_tcase(s, ident);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    return symtest_run(macho_suite());
}
