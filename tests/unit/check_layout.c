/* SPDX-License-Identifier: MIT */
/*
 * layout: the path rules against the test vectors of Symbolicator's
 * paths.rs (as quoted in the fact sheet, §2.3), and its debug-id parser.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include "ckrun.h"
#include "layout.h"

static struct layout_ids pe_ids(void)
{
    struct layout_ids ids = {.obj = LAYOUT_OBJ_PE,
                             .debug_file = "C:\\projects\\crash.pdb",
                             .code_file = "C:\\projects\\crash.exe"};

    ck_assert_int_eq(
        layout_parse_debug_id("3249d99d-0c40-4931-8610-f4e4fb0b6936-1",
                              ids.uuid, &ids.age),
        0);
    ids.has_debug_id = true;
    layout_normalize_code_id("5AB380779000", ids.code_id, sizeof(ids.code_id));
    return ids;
}

/* Path I of file type FT under TYPE/CASING equals WANT. */
static void expect(enum layout_type type, enum layout_casing casing,
                   const struct layout_ids *ids, enum layout_ft ft, size_t i,
                   const char *want)
{
    char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX];
    size_t n = layout_paths(type, casing, ids, ft, out);

    ck_assert_msg(i < n, "only %zu paths for %s, want %s", n,
                  layout_filetype_name(ft), want);
    ck_assert_str_eq(out[i], want);
}

START_TEST(test_layout_pe_vectors)
{
    struct layout_ids ids = pe_ids();
    const char *pdb = "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb";

    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PDB, 0, pdb);
    expect(LAYOUT_SYMSTORE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PDB, 0, pdb);
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PDB, 1,
           "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pd_");
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PE, 0,
           "crash.exe/5AB380779000/crash.exe");
    expect(LAYOUT_SYMSTORE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PE, 0,
           "crash.exe/5AB380779000/crash.exe");
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_BREAKPAD, 0,
           "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.sym");
    expect(LAYOUT_UNIFIED, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PDB, 0,
           "32/49d99d0c4049318610f4e4fb0b69361/debuginfo");
    expect(LAYOUT_SYMSTORE_INDEX2, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PDB, 0,
           "cr/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    expect(LAYOUT_SSQP, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_PDB, 0,
           "crash.pdb/3249d99d0c4049318610f4e4fb0b6936" "1/crash.pdb");
    expect(LAYOUT_NATIVE, LAYOUT_CASE_LOWER, &ids, LAYOUT_FT_PE, 0,
           "crash.exe/5ab380779000/crash.exe");
    expect(LAYOUT_NATIVE, LAYOUT_CASE_UPPER, &ids, LAYOUT_FT_PE, 1,
           "CRASH.EXE/5AB380779000/CRASH.EX_");
    /* a PE module's code id gives a gdb-style elf_debug path too */
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_ELF_DEBUG, 0,
           "5a/b380779000.debug");
}
END_TEST

START_TEST(test_layout_macho_vectors)
{
    struct layout_ids ids = {.obj = LAYOUT_OBJ_MACHO, .debug_file = "crash"};

    ck_assert_int_eq(layout_parse_debug_id(
                         "67e9247c-814e-392b-a027-dbde6748fcbf", ids.uuid,
                         &ids.age),
                     0);
    ids.has_debug_id = true;
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_MACH_CODE, 0,
           "67E9/247C/814E/392B/A027/DBDE6748FCBF.app");
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_BREAKPAD, 0,
           "crash/67E9247C814E392BA027DBDE6748FCBF0/crash.sym");
    expect(LAYOUT_SYMSTORE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_MACH_DEBUG, 0,
           "_.dwarf/mach-uuid-sym-67e9247c814e392ba027dbde6748fcbf/_.dwarf");
}
END_TEST

START_TEST(test_layout_elf_vectors)
{
    struct layout_ids ids = {.obj = LAYOUT_OBJ_ELF,
                             .debug_file = "/lib/libm-2.23.so",
                             .code_file = "/lib/libm-2.23.so"};
    char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX];

    layout_normalize_code_id("dfb85de42daffd09640c8fe377d572de3e168920",
                             ids.code_id, sizeof(ids.code_id));
    ck_assert_int_eq(layout_parse_debug_id(
                         "e45db8df-af2d-09fd-640c-8fe377d572de", ids.uuid,
                         &ids.age),
                     0);
    ids.has_debug_id = true;
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_ELF_DEBUG, 0,
           "df/b85de42daffd09640c8fe377d572de3e168920.debug");
    expect(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_BREAKPAD, 0,
           "libm-2.23.so/E45DB8DFAF2D09FD640C8FE377D572DE0/libm-2.23.so.sym");
    expect(LAYOUT_SYMSTORE, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_ELF_CODE, 0,
           "libm-2.23.so/elf-buildid-dfb85de42daffd09640c8fe377d572de3e168920/"
           "libm-2.23.so");
    expect(LAYOUT_DEBUGINFOD, LAYOUT_CASE_DEFAULT, &ids, LAYOUT_FT_ELF_DEBUG, 0,
           "dfb85de42daffd09640c8fe377d572de3e168920/debuginfo");
    expect(LAYOUT_SYMSTORE_INDEX2, LAYOUT_CASE_DEFAULT, &ids,
           LAYOUT_FT_ELF_DEBUG, 0,
           "_/_.debug/elf-buildid-sym-dfb85de42daffd09640c8fe377d572de3e168920/"
           "_.debug");
    /* ELF paths are never "_"-compressed; debuginfod has no pdb */
    ck_assert_uint_eq(layout_paths(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids,
                                   LAYOUT_FT_ELF_CODE, out),
                      1);
    ck_assert_uint_eq(layout_paths(LAYOUT_DEBUGINFOD, LAYOUT_CASE_DEFAULT,
                                   &ids, LAYOUT_FT_PDB, out),
                      0);
}
END_TEST

START_TEST(test_layout_filetype_order)
{
    enum layout_ft ft[LAYOUT_MAX_FILETYPES];

    ck_assert_uint_eq(layout_filetypes(LAYOUT_OBJ_PE, ft), 5);
    ck_assert_int_eq(ft[0], LAYOUT_FT_PE);
    ck_assert_int_eq(ft[1], LAYOUT_FT_BREAKPAD);
    ck_assert_int_eq(ft[2], LAYOUT_FT_MACH_DEBUG);
    ck_assert_int_eq(ft[3], LAYOUT_FT_PDB);
    ck_assert_int_eq(ft[4], LAYOUT_FT_ELF_DEBUG);
    ck_assert_uint_eq(layout_filetypes(LAYOUT_OBJ_ELF, ft), 5);
    ck_assert_int_eq(ft[0], LAYOUT_FT_ELF_CODE);
    ck_assert_uint_eq(layout_filetypes(LAYOUT_OBJ_PE_DOTNET, ft), 1);
    ck_assert_uint_eq(layout_filetypes(LAYOUT_OBJ_UNKNOWN, ft),
                      LAYOUT_FT_COUNT);
}
END_TEST

START_TEST(test_layout_hostile_names)
{
    struct layout_ids ids = pe_ids();
    char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX];

    ids.debug_file = "C:\\..";
    ck_assert_uint_eq(layout_paths(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids,
                                   LAYOUT_FT_PDB, out),
                      0);
    ids.debug_file = "a\nb.pdb";
    ck_assert_uint_eq(layout_paths(LAYOUT_NATIVE, LAYOUT_CASE_DEFAULT, &ids,
                                   LAYOUT_FT_PDB, out),
                      0);
}
END_TEST

START_TEST(test_layout_debug_id_forms)
{
    uint8_t u[16];
    uint32_t age;
    char buf[64];

    ck_assert_int_eq(layout_parse_debug_id("3249D99D0C4049318610F4E4FB0B69361",
                                           u, &age),
                     0);
    layout_format_debug_id(u, age, buf, sizeof(buf));
    ck_assert_str_eq(buf, "3249d99d-0c40-4931-8610-f4e4fb0b6936-1");
    ck_assert_int_eq(layout_parse_debug_id(
                         "dfb8e43a-f242-3d73-a453-aeb6a777ef75-feedface-1-2",
                         u, &age),
                     0);
    ck_assert_uint_eq(age, 0xfeedface);
    ck_assert_int_eq(
        layout_parse_debug_id("c0bcc3f1-9827-fe65-3058-404b2831d9e6", u, &age),
        0);
    layout_format_debug_id(u, age, buf, sizeof(buf));
    ck_assert_str_eq(buf, "c0bcc3f1-9827-fe65-3058-404b2831d9e6");
    layout_breakpad_id(u, 10, buf, sizeof(buf));
    ck_assert_str_eq(buf, "C0BCC3F19827FE653058404B2831D9E6a");
    ck_assert_int_eq(layout_parse_debug_id("not-a-debug-id", u, &age),
                     -EINVAL);
    ck_assert_int_eq(layout_parse_debug_id("", u, &age), -EINVAL);
    layout_normalize_code_id("5A-B3:80 779000zz", buf, sizeof(buf));
    ck_assert_str_eq(buf, "5ab380779000");
}
END_TEST

/* Request key NAME/ID/FILE under layout TYPE: path I is WANT. */
static void expect_key(enum layout_type type, const char *name, const char *id,
                       const char *file, size_t i, const char *want)
{
    struct layout_ids ids;
    enum layout_ft ft;

    ck_assert_msg(layout_key(name, id, file, &ids, &ft) == 0, "%s/%s/%s",
                  name, id, file);
    expect(type, LAYOUT_CASE_DEFAULT, &ids, ft, i, want);
}

/* A client's key maps onto every layout's own path for the same file. */
START_TEST(test_layout_request_keys)
{
    static const char pdb_id[] = "3249d99d0c4049318610F4E4FB0B69361";

    expect_key(LAYOUT_SYMSTORE, "crash.pdb", pdb_id, "crash.pdb", 0,
               "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    expect_key(LAYOUT_SYMSTORE, "crash.pdb", pdb_id, "crash.pdb", 1,
               "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pd_");
    expect_key(LAYOUT_SYMSTORE_INDEX2, "crash.pdb", pdb_id, "crash.pdb", 0,
               "cr/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb");
    expect_key(LAYOUT_SSQP, "Crash.pdb", pdb_id, "Crash.pdb", 0,
               "crash.pdb/3249d99d0c4049318610f4e4fb0b69361/crash.pdb");
    expect_key(LAYOUT_UNIFIED, "crash.pdb", pdb_id, "crash.pdb", 0,
               "32/49d99d0c4049318610f4e4fb0b69361/debuginfo");
    expect_key(LAYOUT_BREAKPAD, "crash.pdb", pdb_id, "crash.pdb", 1,
               "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pd_");
    expect_key(LAYOUT_BREAKPAD, "crash.pdb", pdb_id, "crash.sym", 0,
               "crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.sym");
    expect_key(LAYOUT_BREAKPAD, "libxul.so", "A1B2C3D4E5F60718293A4B5C6D7E8F900",
               "libxul.so.sym", 0,
               "libxul.so/A1B2C3D4E5F60718293A4B5C6D7E8F900/libxul.so.sym");
    expect_key(LAYOUT_SYMSTORE, "crash.exe", "5ab380779000", "crash.exe", 0,
               "crash.exe/5AB380779000/crash.exe");
    expect_key(LAYOUT_SSQP, "CRASH.EXE", "5AB380779000", "CRASH.EXE", 0,
               "crash.exe/5ab380779000/crash.exe");
    expect_key(LAYOUT_SYMSTORE_INDEX2, "kdcom.dbg", "66784EAB2A000",
               "kdcom.dbg", 0, "kd/kdcom.dbg/66784EAB2a000/kdcom.dbg");
}
END_TEST

/* What no layout can say is refused, and a layout without a rule for the
 * file type gives no path. */
START_TEST(test_layout_request_key_limits)
{
    struct layout_ids ids;
    enum layout_ft ft;
    char out[LAYOUT_MAX_PATHS][LAYOUT_PATH_MAX];

    /* an id that is neither a debug id nor a timestamp and size */
    ck_assert_int_eq(layout_key("a.pdb", "xyz", "a.pdb", &ids, &ft), -EINVAL);
    ck_assert_int_eq(layout_key("a.dll", "12345678", "a.dll", &ids, &ft),
                     -EINVAL);
    ck_assert_int_eq(layout_key("a.dll", "12345678901234567", "a.dll", &ids,
                                &ft),
                     -EINVAL);
    /* a file that is not the name (file.ptr, another member) */
    ck_assert_int_eq(layout_key("a.dll", "123456789", "file.ptr", &ids, &ft),
                     -EINVAL);
    ck_assert_int_eq(layout_key("a.pdb", "3249D99D0C4049318610F4E4FB0B69361",
                                "b.pdb", &ids, &ft),
                     -EINVAL);
    /* a Breakpad file is not in a symstore tree, a PDB not in debuginfod */
    ck_assert_int_eq(layout_key("a.pdb", "3249D99D0C4049318610F4E4FB0B69361",
                                "a.sym", &ids, &ft),
                     0);
    ck_assert_uint_eq(layout_paths(LAYOUT_SYMSTORE, LAYOUT_CASE_DEFAULT, &ids,
                                   ft, out),
                      0);
    ck_assert_int_eq(layout_key("a.pdb", "3249D99D0C4049318610F4E4FB0B69361",
                                "a.pdb", &ids, &ft),
                     0);
    ck_assert_uint_eq(layout_paths(LAYOUT_DEBUGINFOD, LAYOUT_CASE_DEFAULT, &ids,
                                   ft, out),
                      0);
    /* build ids */
    ck_assert_int_eq(layout_buildid("3dcf4233fa9a5664c8c24f014d1d3725dd25d617",
                                    false, &ids, &ft),
                     0);
    expect(LAYOUT_DEBUGINFOD, LAYOUT_CASE_DEFAULT, &ids, ft, 0,
           "3dcf4233fa9a5664c8c24f014d1d3725dd25d617/debuginfo");
    expect(LAYOUT_SYMSTORE, LAYOUT_CASE_DEFAULT, &ids, ft, 0,
           "_.debug/elf-buildid-sym-3dcf4233fa9a5664c8c24f014d1d3725dd25d617/"
           "_.debug");
    ck_assert_int_eq(layout_buildid("3dcf/..", true, &ids, &ft), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("paths");

    tcase_add_test(tc, test_layout_pe_vectors);
    tcase_add_test(tc, test_layout_macho_vectors);
    tcase_add_test(tc, test_layout_elf_vectors);
    tcase_add_test(tc, test_layout_filetype_order);
    tcase_add_test(tc, test_layout_hostile_names);
    tcase_add_test(tc, test_layout_debug_id_forms);
    tcase_add_test(tc, test_layout_request_keys);
    tcase_add_test(tc, test_layout_request_key_limits);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
