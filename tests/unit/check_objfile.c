/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of objfile: mapping errors, detection by content (each magic,
 * and the look-alikes it must not take: a Java class for a fat Mach-O, an
 * MZ stub whose e_lfanew points nowhere), and the dispatch's answers for
 * formats without a reader in this build.
 */
#include "symsrvd_config.h"

#include "objfile/objfile.h"
#include "pdb/pdb.h"
#include "table/symtable.h"

#include "symtest.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static void setup(void)
{
    symtest_tmpdir(tmpdir, sizeof(tmpdir), "check_objfile");
}

static void teardown(void)
{
    symtest_rmdir(tmpdir);
}

/* Write DATA to a file in the test directory and map it. */
static void map_bytes(const void *data, size_t len, struct objfile_map *map,
                      char *path, size_t pathlen)
{
    FILE *fp;

    snprintf(path, pathlen, "%s/f", tmpdir);
    fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
    ck_assert_int_eq(objfile_map(path, map), 0);
    ck_assert_uint_eq(map->len, len);
}

static enum objfile_kind detect_bytes(const void *data, size_t len)
{
    struct objfile_map map = {.path = "mem", .data = data, .len = len};

    return objfile_detect(&map);
}

START_TEST(test_objfile_map_errors)
{
    struct objfile_map map;
    char path[128];

    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    ck_assert_int_eq(objfile_map(path, &map), -ENOENT);
    ck_assert_ptr_nonnull(strstr(map.err, "missing"));
    ck_assert_int_eq(objfile_map(tmpdir, &map), -EINVAL);
    ck_assert_ptr_nonnull(strstr(map.err, "not a regular file"));
}
END_TEST

START_TEST(test_objfile_empty_is_unknown)
{
    struct objfile_map map;
    struct objfile_ident id;
    char path[128];

    map_bytes("", 0, &map, path, sizeof(path));
    ck_assert_int_eq(objfile_detect(&map), OBJFILE_UNKNOWN);
    ck_assert_int_eq(objfile_identify(&map, &id), -EINVAL);
    ck_assert_ptr_nonnull(strstr(map.err, "unknown file format"));
    objfile_unmap(&map);
}
END_TEST

START_TEST(test_objfile_detect_magics)
{
    uint8_t buf[256] = {0};
    static const char msf7[32] = "Microsoft C/C++ MSF 7.00\r\n\x1a"
                                 "DS\0\0\0";
    static const char msf2[] = "Microsoft C/C++ program database 2.00\r\n"
                               "\x1a"
                               "JG\0";

    memcpy(buf, msf7, sizeof(msf7));
    ck_assert_int_eq(detect_bytes(buf, sizeof(buf)), OBJFILE_PDB);
    ck_assert_int_eq(detect_bytes(buf, 31), OBJFILE_UNKNOWN);
    memcpy(buf, msf2, sizeof(msf2));
    ck_assert_int_eq(detect_bytes(buf, sizeof(buf)), OBJFILE_PDB);
    memset(buf, 0, sizeof(buf));
    memcpy(buf,
           "\x7f"
           "ELF\x02\x01\x01",
           7);
    ck_assert_int_eq(detect_bytes(buf, sizeof(buf)), OBJFILE_ELF);
    ck_assert_int_eq(detect_bytes("MODULE Linux x86_64 00 a\n", 25),
                     OBJFILE_BREAKPAD);
    ck_assert_int_eq(detect_bytes("MODULEX", 7), OBJFILE_UNKNOWN);
    ck_assert_int_eq(detect_bytes("hello", 5), OBJFILE_UNKNOWN);
}
END_TEST

START_TEST(test_objfile_detect_pe)
{
    uint8_t buf[256] = {'M', 'Z'};

    buf[0x3c] = 0x80;
    memcpy(buf + 0x80, "PE\0\0", 4);
    ck_assert_int_eq(detect_bytes(buf, sizeof(buf)), OBJFILE_PE);
    ck_assert_int_eq(detect_bytes(buf, 0x83), OBJFILE_UNKNOWN);
    buf[0x3c] = 0xff;
    buf[0x3d] = 0xff; /* e_lfanew past the end */
    ck_assert_int_eq(detect_bytes(buf, sizeof(buf)), OBJFILE_UNKNOWN);
    buf[0x3c] = 0x40;
    buf[0x3d] = 0;
    ck_assert_int_eq(detect_bytes(buf, sizeof(buf)), OBJFILE_UNKNOWN);
}
END_TEST

START_TEST(test_objfile_detect_macho)
{
    struct objfile_map map;
    struct objfile_ident id;
    char path[128];
    static const uint8_t thin64[16] = {0xcf, 0xfa, 0xed, 0xfe, 0x07, 0, 0, 1};
    static const uint8_t thin32be[16] = {0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 12};
    static const uint8_t fat[16] = {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2};
    static const uint8_t java[16] = {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52};

    ck_assert_int_eq(detect_bytes(fat, sizeof(fat)), OBJFILE_MACHO);
    ck_assert_int_eq(detect_bytes(java, sizeof(java)), OBJFILE_UNKNOWN);
    /* A WebAssembly module: magic and version 1; version 2 is not one. */
    ck_assert_int_eq(detect_bytes("\0asm\1\0\0\0", 8), OBJFILE_WASM);
    ck_assert_int_eq(detect_bytes("\0asm\2\0\0\0", 8), OBJFILE_UNKNOWN);
    ck_assert_int_eq(detect_bytes("\0asm\1\0\0", 7), OBJFILE_UNKNOWN);
    ck_assert_int_eq(detect_bytes(thin32be, sizeof(thin32be)), OBJFILE_MACHO);
    /* Recognised and handed to the Mach-O reader (check_macho), which
     * finds these headers truncated or big-endian. */
    map_bytes(thin64, sizeof(thin64), &map, path, sizeof(path));
    ck_assert_int_eq(objfile_identify(&map, &id), -EINVAL);
    ck_assert_int_eq(id.kind, OBJFILE_MACHO);
    ck_assert_ptr_nonnull(strstr(map.err, "Mach-O"));
    objfile_unmap(&map);
    map_bytes(thin32be, sizeof(thin32be), &map, path, sizeof(path));
    ck_assert_int_eq(objfile_identify(&map, &id), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(map.err, "big-endian"));
    objfile_unmap(&map);
}
END_TEST

START_TEST(test_objfile_pdb2_unsupported)
{
    static const char msf2[] = "Microsoft C/C++ program database 2.00\r\n"
                               "\x1a"
                               "JG\0\0\0\0\0";
    struct objfile_map map;
    struct objfile_ident id;
    struct symtable_builder *b = symtable_builder_new();
    char path[128];

    map_bytes(msf2, sizeof(msf2), &map, path, sizeof(path));
    ck_assert_int_eq(objfile_identify(&map, &id), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(map.err, "PDB 2.0"));
    ck_assert_int_eq(objfile_build(&map, b), -ENOTSUP);
    symtable_builder_free(b);
    objfile_unmap(&map);
}
END_TEST

/* The real files in tests/data are told apart by content alone. */
START_TEST(test_objfile_detect_fixtures)
{
    static const struct {
        const char *rel;
        enum objfile_kind kind;
    } files[] = {
        {"pdb/crash.exe", OBJFILE_PE},
        {"pdb/crash.pdb", OBJFILE_PDB},
        {"breakpad/windows/crash.sym", OBJFILE_BREAKPAD},
        {"breakpad/macos/crash.dsym-dwarf", OBJFILE_MACHO},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *path = symtest_data(files[i].rel);
        struct objfile_map map;

        ck_assert_int_eq(objfile_map(path, &map), 0);
        ck_assert_int_eq(objfile_detect(&map), files[i].kind);
        objfile_unmap(&map);
        free(path);
    }
}
END_TEST

START_TEST(test_objfile_kind_names)
{
    ck_assert_str_eq(objfile_kind_name(OBJFILE_PDB), "pdb");
    ck_assert_str_eq(objfile_kind_name(OBJFILE_PE), "pe");
    ck_assert_str_eq(objfile_kind_name(OBJFILE_ELF), "elf");
    ck_assert_str_eq(objfile_kind_name(OBJFILE_BREAKPAD), "breakpad");
    ck_assert_str_eq(objfile_kind_name(OBJFILE_MACHO), "macho");
    ck_assert_str_eq(objfile_kind_name(OBJFILE_WASM), "wasm");
    ck_assert_str_eq(objfile_kind_name(OBJFILE_UNKNOWN), "unknown");
    ck_assert_str_eq(objfile_kind_name((enum objfile_kind)99), "unknown");
}
END_TEST

/* Every reader's message goes through objfile_fail(): the path first,
 * a stand-in for a buffer with no path, compiler-style lines, and a long
 * message cut to fit. */
START_TEST(test_objfile_fail_messages)
{
    struct objfile_map map = {.path = "a.pdb"};
    char big[400];

    ck_assert_int_eq(objfile_fail(&map, -EINVAL, "block %u of %s", 7u, "x"),
                     -EINVAL);
    ck_assert_str_eq(map.err, "a.pdb: block 7 of x");
    map.path = NULL;
    ck_assert_int_eq(objfile_fail(&map, -ENOTSUP, "%s", "no"), -ENOTSUP);
    ck_assert_str_eq(map.err, "(memory): no");
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    objfile_fail(&map, -EINVAL, "%s", big);
    ck_assert_uint_eq(strlen(map.err), sizeof(map.err) - 1);
    ck_assert_int_eq(strncmp(map.err, "(memory): zzz", 13), 0);
}
END_TEST

static int fail_at_line(struct objfile_map *map, size_t line,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at_line(struct objfile_map *map, size_t line,
                        const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = objfile_vfail(map, -EINVAL, line, fmt, ap);
    va_end(ap);
    return rc;
}

START_TEST(test_objfile_fail_lines)
{
    struct objfile_map map = {.path = "a.sym"};

    ck_assert_int_eq(fail_at_line(&map, 12, "FILE %d is not defined", 3),
                     -EINVAL);
    ck_assert_str_eq(map.err, "a.sym:12: FILE 3 is not defined");
    fail_at_line(&map, 0, "no line");
    ck_assert_str_eq(map.err, "a.sym: no line");
}
END_TEST

/* One place knows the MSF signatures: the whole of each, not a prefix of
 * the PDB 2.0 text. */
START_TEST(test_objfile_msf_versions)
{
    static const char msf7[] = "Microsoft C/C++ MSF 7.00\r\n\x1a"
                               "DS\0\0\0";
    static const char msf2[] = "Microsoft C/C++ program database 2.00\r\n"
                               "\x1a"
                               "JG\0";
    static const char text_only[] = "Microsoft C/C++ program database 2.00"
                                    "\n\n\n\n\n\n\n";
    const uint8_t *b7 = (const uint8_t *)msf7, *b2 = (const uint8_t *)msf2;

    ck_assert_int_eq(pdb_msf_version(b7, sizeof(msf7) - 1), PDB_MSF_7);
    ck_assert_int_eq(pdb_msf_version(b7, sizeof(msf7) - 2), PDB_MSF_NONE);
    ck_assert_int_eq(pdb_msf_version(b2, sizeof(msf2) - 1), PDB_MSF_2);
    ck_assert_int_eq(pdb_msf_version(b2, sizeof(msf2) - 2), PDB_MSF_NONE);
    ck_assert_int_eq(pdb_msf_version((const uint8_t *)text_only,
                                     sizeof(text_only) - 1),
                     PDB_MSF_NONE);
    ck_assert_int_eq(pdb_msf_version(NULL, 0), PDB_MSF_NONE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("objfile");
    TCase *tc = tcase_create("detect");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_objfile_map_errors);
    tcase_add_test(tc, test_objfile_empty_is_unknown);
    tcase_add_test(tc, test_objfile_detect_magics);
    tcase_add_test(tc, test_objfile_detect_pe);
    tcase_add_test(tc, test_objfile_detect_macho);
    tcase_add_test(tc, test_objfile_pdb2_unsupported);
    tcase_add_test(tc, test_objfile_detect_fixtures);
    tcase_add_test(tc, test_objfile_kind_names);
    tcase_add_test(tc, test_objfile_msf_versions);
    suite_add_tcase(s, tc);
    tc = tcase_create("fail");
    tcase_add_test(tc, test_objfile_fail_messages);
    tcase_add_test(tc, test_objfile_fail_lines);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
