/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Breakpad reader: identities of the fixtures (as their
 * MANIFEST lists them), record semantics on a small hand-written file,
 * STACK records against an independent count of the fixture lines, and
 * hostile input (malformed records name their line; truncated and
 * bit-flipped files never crash).
 */
#include "symsrvd_config.h"

#include "breakpad/breakpad.h"
#include "objfile/objfile.h"
#include "table/symtable.h"

#include "symtest.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Build TEXT (LEN bytes) as a Breakpad file; *T is NULL on failure. */
static int build_mem(const char *text, size_t len, struct symtable **t,
                     void **blob, char *err, size_t errlen)
{
    struct objfile_map map = {
        .path = "mem.sym", .data = (const uint8_t *)text, .len = len};
    struct symtable_builder *b = symtable_builder_new();
    size_t blen;
    int rc = breakpad_build(&map, b);

    *t = NULL;
    *blob = NULL;
    snprintf(err, errlen, "%s", map.err);
    if (rc == 0) {
        ck_assert_int_eq(symtable_builder_finish(b, blob, &blen), 0);
        ck_assert_int_eq(symtable_load(*blob, blen, t), 0);
    }
    symtable_builder_free(b);
    return rc;
}

static const struct {
    const char *file, *arch, *debug_id, *code_id, *debug_file, *code_file;
} idents[] = {
    {"breakpad/windows/crash.sym", "x86", "3249D99D0C4049318610F4E4FB0B69361",
     "5AB380779000", "crash.pdb", "crash.exe"},
    {"breakpad/windows/CrashWithException.pdb.sym", "x86_64",
     "F535C5FB2AE84BB8AA206C30BE566C5A1", "5C9E09599000",
     "CrashWithException.pdb", "CrashWithException.exe"},
    {"breakpad/linux/crash.sym", "x86_64", "C0BCC3F19827FE653058404B2831D9E60",
     "f1c3bcc0279865fe3058404b2831d9e64135386c", "crash", "crash"},
    {"breakpad/macos/crash.inlines.sym", "x86_64",
     "67E9247C814E392BA027DBDE6748FCBF0", "67e9247c814e392ba027dbde6748fcbf",
     "crash", "crash"},
    {"breakpad/macos/crash.sym", "x86_64", "67E9247C814E392BA027DBDE6748FCBF0",
     "", "crash", "crash"},
};

START_TEST(test_breakpad_identity)
{
    char *path = symtest_data(idents[_i].file);
    struct objfile_map map;
    struct objfile_ident id;

    ck_assert_int_eq(objfile_map(path, &map), 0);
    ck_assert_int_eq(objfile_detect(&map), OBJFILE_BREAKPAD);
    ck_assert_msg(objfile_identify(&map, &id) == 0, "%s", map.err);
    ck_assert_int_eq(id.kind, OBJFILE_BREAKPAD);
    ck_assert_str_eq(id.arch, idents[_i].arch);
    ck_assert_str_eq(id.debug_id, idents[_i].debug_id);
    ck_assert_str_eq(id.code_id, idents[_i].code_id);
    ck_assert_str_eq(id.debug_file, idents[_i].debug_file);
    ck_assert_str_eq(id.code_file, idents[_i].code_file);
    ck_assert_uint_eq(id.image_base, 0);
    objfile_unmap(&map);
    free(path);
}
END_TEST

static const char small_sym[] =
    "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 small\r\n"
    "INFO CODE_ID 89ABCDEF\r\n"
    "FILE 7 /src/main.c\n"
    "FILE 9 /src/inl.h\n"
    "INLINE_ORIGIN 3 inlined_fn(int)\n"
    "INLINE_ORIGIN 4 deeper_fn\n"
    "FUNC m 1000 40 8 outer with spaces(int, char)\n"
    "INLINE 0 12 7 3 1010 10 1030 8\n"
    "INLINE 1 20 9 4 1014 4\n"
    "1000 10 11 7\n"
    "1010 8 30 9\n"
    "1018 0 31 9\n"
    "1030 10 40 9\n"
    "PUBLIC m 2000 0 pub_sym\n"
    "STACK CFI INIT 1000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    "STACK CFI 1001 .cfa: $rsp 16 +\n"
    "STACK WIN 4 1000 40 3 1 8 c 10 0 0 1\n";

START_TEST(test_breakpad_records)
{
    struct symtable *t;
    struct symtable_frame f[8];
    char err[256];
    void *blob;
    size_t total;

    ck_assert_int_eq(
        build_mem(small_sym, sizeof(small_sym) - 1, &t, &blob, err, 256), 0);
    ck_assert_uint_eq(symtable_lookup(t, 0x1000, f, 8, NULL), 1);
    ck_assert_str_eq(f[0].function, "outer with spaces(int, char)");
    ck_assert_str_eq(f[0].file, "/src/main.c");
    ck_assert_uint_eq(f[0].line, 11);
    /* Breakpad depth 1 is nested in depth 0: three frames. */
    ck_assert_uint_eq(symtable_lookup(t, 0x1015, f, 8, &total), 3);
    ck_assert_str_eq(f[0].function, "deeper_fn");
    ck_assert_str_eq(f[0].file, "/src/inl.h");
    ck_assert_uint_eq(f[0].line, 30);
    ck_assert_str_eq(f[1].function, "inlined_fn(int)");
    ck_assert_str_eq(f[1].file, "/src/inl.h");
    ck_assert_uint_eq(f[1].line, 20);
    ck_assert_str_eq(f[2].function, "outer with spaces(int, char)");
    ck_assert_str_eq(f[2].file, "/src/main.c");
    ck_assert_uint_eq(f[2].line, 12);
    /* The size-0 line runs to the next line record. */
    ck_assert_uint_eq(symtable_lookup(t, 0x102f, f, 8, NULL), 1);
    ck_assert_uint_eq(f[0].line, 31);
    ck_assert_uint_eq(symtable_lookup(t, 0x1031, f, 8, NULL), 2);
    ck_assert_str_eq(f[0].function, "inlined_fn(int)");
    ck_assert_uint_eq(f[0].line, 40);
    ck_assert_uint_eq(symtable_lookup(t, 0x2000, f, 8, NULL), 1);
    ck_assert_str_eq(f[0].function, "pub_sym");
    ck_assert_uint_eq(symtable_lookup(t, 0xfff, f, 8, NULL), 0);
    symtable_close(t);
    free(blob);
}
END_TEST

START_TEST(test_breakpad_stack_small)
{
    struct objfile_map map = {.path = "mem.sym",
                              .data = (const uint8_t *)small_sym,
                              .len = sizeof(small_sym) - 1};
    struct breakpad_stack *s;
    size_t n;

    ck_assert_int_eq(breakpad_stack_records(&map, &s, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(s[0].kind, BREAKPAD_STACK_CFI_INIT);
    ck_assert_uint_eq(s[0].rva, 0x1000);
    ck_assert_uint_eq(s[0].size, 0x40);
    ck_assert_int_eq(s[1].kind, BREAKPAD_STACK_CFI);
    ck_assert_uint_eq(s[1].rva, 0x1001);
    ck_assert_int_eq((int)s[1].rules_len, (int)strlen(".cfa: $rsp 16 +"));
    ck_assert(memcmp(s[1].rules, ".cfa: $rsp 16 +", s[1].rules_len) == 0);
    ck_assert_int_eq(s[2].kind, BREAKPAD_STACK_WIN);
    ck_assert_uint_eq(s[2].win_type, 4);
    ck_assert_uint_eq(s[2].prolog_size, 3);
    ck_assert_uint_eq(s[2].parameter_size, 8);
    ck_assert_uint_eq(s[2].saved_register_size, 0xc);
    ck_assert_uint_eq(s[2].local_size, 0x10);
    ck_assert(!s[2].has_program_string);
    ck_assert(s[2].allocates_base_pointer);
    free(s);
}
END_TEST

/* STACK records of a fixture against a plain count of its lines, and
 * every STACK WIN re-read with sscanf. */
static const char *const stack_files[] = {
    "breakpad/windows/crash.sym", "breakpad/windows/CrashWithException.pdb.sym",
    "breakpad/linux/crash.sym", "breakpad/macos/crash.sym"};

START_TEST(test_breakpad_stack_fixtures)
{
    char *path = symtest_data(stack_files[_i]);
    FILE *fp = fopen(path, "r");
    struct objfile_map map;
    struct breakpad_stack *s;
    size_t n, k = 0, want = 0;
    char line[8192];

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(objfile_map(path, &map), 0);
    ck_assert_msg(breakpad_stack_records(&map, &s, &n) == 0, "%s", map.err);
    while (fgets(line, sizeof(line), fp)) {
        unsigned type, rva, size, prolog, epilog, params, saved, locals;

        if (strncmp(line, "STACK ", 6) != 0)
            continue;
        want++;
        if (sscanf(line, "STACK WIN %x %x %x %x %x %x %x %x", &type, &rva,
                   &size, &prolog, &epilog, &params, &saved, &locals) == 8) {
            while (k < n && s[k].kind != BREAKPAD_STACK_WIN)
                k++;
            ck_assert_uint_lt(k, n);
            ck_assert_uint_eq(s[k].rva, rva);
            ck_assert_uint_eq(s[k].size, size);
            ck_assert_uint_eq(s[k].prolog_size, prolog);
            ck_assert_uint_eq(s[k].saved_register_size, saved);
            ck_assert_uint_eq(s[k].local_size, locals);
            k++;
        }
    }
    ck_assert_uint_eq(n, want);
    ck_assert_uint_gt(n, 0);
    fclose(fp);
    free(s);
    objfile_unmap(&map);
    free(path);
}
END_TEST

static const char *const all_files[] = {
    "breakpad/windows/crash.sym",
    "breakpad/windows/CrashWithException.pdb.sym",
    "breakpad/linux/crash.sym",
    "breakpad/macos/crash.sym",
    "breakpad/macos/crash.inlines.sym",
    "breakpad/xul.sym",
    "breakpad/xul2.sym",
    "breakpad/libgallium_dri.sym"};

START_TEST(test_breakpad_fixtures_build)
{
    char *path = symtest_data(all_files[_i]);
    struct objfile_map map;
    struct symtable_builder *b = symtable_builder_new();
    void *blob;
    size_t len;

    ck_assert_int_eq(objfile_map(path, &map), 0);
    ck_assert_msg(objfile_build(&map, b) == 0, "%s", map.err);
    ck_assert_int_eq(symtable_builder_finish(b, &blob, &len), 0);
    free(blob);
    symtable_builder_free(b);
    objfile_unmap(&map);
    free(path);
}
END_TEST

static const struct {
    const char *text;
    int line; /* the line the error must name */
} hostile[] = {
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\n1000 4 1 0\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFUNC 1g00 4 0 f\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFUNC 10 4 0 f\n"
     "10 4 1 5\n",
     3},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFUNC 10 4 0 f\n"
     "INLINE 0 1 0 9 10 4\n",
     3},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFILE 0 a\nFUNC 10 4 0 f\n"
     "INLINE_ORIGIN 1 g\nINLINE 0 1 0 1\n",
     5},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFOO bar\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\n"
     "FUNC 10000000000000000 4 0 f\n",
     2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nSTACK WIN 4 1 2 3\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nSTACK CFI INIT 1\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nSTACK FOO\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\n"
     "MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\n",
     2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nPUBLIC 10\n", 2},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFUNC 10 4 0 f\n"
     "10 4 x 0\n",
     3},
    {"MODULE a b 0123456789ABCDEF0123456789ABCDEF0 x\nFILE 1 a\nFILE 1 b\n", 3},
};

START_TEST(test_breakpad_rejects_hostile)
{
    struct symtable *t;
    char err[256], want[32];
    void *blob;

    ck_assert_int_eq(build_mem(hostile[_i].text, strlen(hostile[_i].text), &t,
                               &blob, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_null(t);
    snprintf(want, sizeof(want), "mem.sym:%d: ", hostile[_i].line);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "message: %s", err);
}
END_TEST

START_TEST(test_breakpad_rejects_bad_identity)
{
    static const char *const bad[] = {
        "MODULE Linux x86_64 nothex crash\n",
        "MODULE Linux\n",
        /* one file of two lines (parenthesised for clang's
         * -Wstring-concatenation) */
        ("MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 x\n"
         "INFO CODE_ID zz\n"),
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct objfile_map map = {.path = "mem.sym",
                                  .data = (const uint8_t *)bad[i],
                                  .len = strlen(bad[i])};
        struct objfile_ident id = {0};

        ck_assert_int_eq(breakpad_identify(&map, &id), -EINVAL);
        ck_assert_ptr_nonnull(strstr(map.err, "mem.sym:"));
    }
}
END_TEST

/* Every prefix of a real file, and every byte of it flipped: an error or
 * a table, never a crash (ASan and UBSan watch in CI). */
START_TEST(test_breakpad_truncated_and_flipped)
{
    char *path = symtest_data("breakpad/xul2.sym");
    struct objfile_map map;
    struct symtable *t;
    char err[256], *copy;
    void *blob;
    size_t ok = 0;

    ck_assert_int_eq(objfile_map(path, &map), 0);
    copy = malloc(map.len);
    for (size_t n = 0; n <= map.len; n++) {
        memcpy(copy, map.data, n);
        if (build_mem(copy, n, &t, &blob, err, sizeof(err)) == 0)
            ok++;
        symtable_close(t);
        free(blob);
    }
    ck_assert_uint_gt(ok, 0);
    for (size_t i = 0; i < map.len; i++) {
        memcpy(copy, map.data, map.len);
        copy[i] = (char)(copy[i] ^ 0x5a);
        build_mem(copy, map.len, &t, &blob, err, sizeof(err));
        symtable_close(t);
        free(blob);
    }
    free(copy);
    objfile_unmap(&map);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breakpad");
    TCase *tc = tcase_create("read");
    TCase *tr = tcase_create("reject");

    tcase_add_loop_test(tc, test_breakpad_identity, 0,
                        sizeof(idents) / sizeof(idents[0]));
    tcase_add_test(tc, test_breakpad_records);
    tcase_add_test(tc, test_breakpad_stack_small);
    tcase_add_loop_test(tc, test_breakpad_stack_fixtures, 0,
                        sizeof(stack_files) / sizeof(stack_files[0]));
    tcase_add_loop_test(tc, test_breakpad_fixtures_build, 0,
                        sizeof(all_files) / sizeof(all_files[0]));
    tcase_add_loop_test(tr, test_breakpad_rejects_hostile, 0,
                        sizeof(hostile) / sizeof(hostile[0]));
    tcase_add_test(tr, test_breakpad_rejects_bad_identity);
    tcase_add_test(tr, test_breakpad_truncated_and_flipped);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tr);
    return symtest_run(s);
}
