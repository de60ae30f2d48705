/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/symkey: valid keys of each kind and hostile ones. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symkey.h"

static int parse(const char *path, struct symkey *k, const char **why)
{
    return symkey_parse(path, strlen(path), k, why);
}

START_TEST(test_symkey_parses_pdb_key)
{
    struct symkey k;
    const char *why;

    ck_assert_int_eq(parse("/ntdll.pdb/1EB1AB4B9A6B4F3DB5C8D3B1A6A4C2E21/"
                           "ntdll.pdb",
                           &k, &why),
                     0);
    ck_assert_str_eq(k.name, "ntdll.pdb");
    ck_assert_str_eq(k.id, "1EB1AB4B9A6B4F3DB5C8D3B1A6A4C2E21");
    ck_assert_str_eq(k.file, "ntdll.pdb");
}
END_TEST

START_TEST(test_symkey_parses_pe_key_and_download_prefix)
{
    struct symkey k;
    const char *why;

    ck_assert_int_eq(parse("/download/symbols/calc.exe/8F598A9EB000/calc.exe",
                           &k, &why),
                     0);
    ck_assert_str_eq(k.name, "calc.exe");
    ck_assert_str_eq(k.id, "8F598A9EB000");
    ck_assert_str_eq(k.file, "calc.exe");
}
END_TEST

START_TEST(test_symkey_decodes_once)
{
    struct symkey k;
    const char *why;

    ck_assert_int_eq(parse("/my%20lib.pdb/ABC1/my%20lib.pdb", &k, &why), 0);
    ck_assert_str_eq(k.name, "my lib.pdb");
    /* Double encoding decodes once: "%252e" is the literal "%2e". */
    ck_assert_int_eq(parse("/%252e%252e/ABC1/x.pdb", &k, &why), 0);
    ck_assert_str_eq(k.name, "%2e%2e");
}
END_TEST

static void assert_rejected(const char *path)
{
    struct symkey k;
    const char *why = NULL;

    ck_assert_msg(parse(path, &k, &why) == -EINVAL, "accepted %s", path);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_null(strchr(why, '\n'));
}

START_TEST(test_symkey_rejects_hostile)
{
    assert_rejected("/../ABC1/x.pdb");
    assert_rejected("/x.pdb/ABC1/..");
    assert_rejected("/./ABC1/x.pdb");
    assert_rejected("/%2e%2e/ABC1/x.pdb");
    assert_rejected("/%2E%2e/ABC1/x.pdb");
    assert_rejected("/x.pdb/ABC1/%2e%2e");
    assert_rejected("/a%2fb/ABC1/x.pdb");
    assert_rejected("/a%2Fb/ABC1/x.pdb");
    assert_rejected("/a%5cb/ABC1/x.pdb");
    assert_rejected("/a\\b/ABC1/x.pdb");
    assert_rejected("/a%00b/ABC1/x.pdb");
    assert_rejected("/a%0ab/ABC1/x.pdb");
    assert_rejected("/a%7fb/ABC1/x.pdb");
    assert_rejected("/a%zzb/ABC1/x.pdb");
    assert_rejected("/a%4/ABC1/x.pdb");
    assert_rejected("/a%/ABC1/x.pdb");
    assert_rejected("/x.pdb/.ABC1/x.pdb");
    assert_rejected("/x.pdb/AB%2fC1/x.pdb");
    assert_rejected("/x.pdb/AB C1/x.pdb");
    assert_rejected("//ABC1/x.pdb");
    assert_rejected("/x.pdb//x.pdb");
}
END_TEST

START_TEST(test_symkey_rejects_overlong)
{
    char path[2048], name[300];
    struct symkey k;
    const char *why;

    memset(name, 'a', 256);
    name[256] = '\0';
    snprintf(path, sizeof(path), "/%s/ABC1/x.pdb", name);
    ck_assert_int_eq(parse(path, &k, &why), -EINVAL);
    name[255] = '\0'; /* exactly 255 is fine */
    snprintf(path, sizeof(path), "/%s/ABC1/%s", name, name);
    ck_assert_int_eq(parse(path, &k, &why), 0);
    memset(name, 'A', 129);
    name[129] = '\0';
    snprintf(path, sizeof(path), "/x.pdb/%s/x.pdb", name);
    ck_assert_int_eq(parse(path, &k, &why), -EINVAL);
    name[128] = '\0';
    snprintf(path, sizeof(path), "/x.pdb/%s/x.pdb", name);
    ck_assert_int_eq(parse(path, &k, &why), 0);
}
END_TEST

START_TEST(test_symkey_routes_other_paths)
{
    struct symkey k;
    const char *why;

    ck_assert_int_eq(parse("/index2.txt", &k, &why), -ENOENT);
    ck_assert_int_eq(parse("/a/b", &k, &why), -ENOENT);
    ck_assert_int_eq(parse("/a/b/c/d", &k, &why), -ENOENT);
    ck_assert_int_eq(parse("/download/symbols/a/b", &k, &why), -ENOENT);
    ck_assert_int_eq(parse("/x.pdb/AB%41/x.pdb/", &k, &why), -ENOENT);
}
END_TEST

START_TEST(test_symkey_canonical_folds_case)
{
    struct symkey a, b;
    char ka[SYMKEY_CANON_MAX], kb[SYMKEY_CANON_MAX], ex[SYMKEY_CANON_MAX];
    const char *why;

    ck_assert_int_eq(parse("/Foo.PDB/abcdef1/foo.pdb", &a, &why), 0);
    ck_assert_int_eq(parse("/foo.pdb/ABCDEF1/FOO.pdb", &b, &why), 0);
    ck_assert_int_gt(symkey_canonical(&a, ka, sizeof(ka)), 0);
    ck_assert_int_gt(symkey_canonical(&b, kb, sizeof(kb)), 0);
    ck_assert_str_eq(ka, "foo.pdb/ABCDEF1/foo.pdb");
    ck_assert_str_eq(ka, kb);
    ck_assert_int_gt(symkey_exact(&a, ex, sizeof(ex)), 0);
    ck_assert_str_eq(ex, "Foo.PDB/abcdef1/foo.pdb");
    ck_assert_int_eq(symkey_canonical(&a, ka, 5), -ENAMETOOLONG);
    /* the text and its NUL must fit: 23 bytes need 24 */
    ck_assert_int_eq(symkey_canonical(&a, ka, 24), 23);
    ck_assert_str_eq(ka, "foo.pdb/ABCDEF1/foo.pdb");
    ck_assert_int_eq(symkey_canonical(&a, ka, 23), -ENAMETOOLONG);
    ck_assert_int_eq(symkey_exact(&a, ex, 24), 23);
    ck_assert_str_eq(ex, "Foo.PDB/abcdef1/foo.pdb");
    ck_assert_int_eq(symkey_exact(&a, ex, 23), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_symkey_encode_roundtrip)
{
    char enc[128], dec[128];

    ck_assert_int_gt(symkey_encode("a b/c%d~", enc, sizeof(enc)), 0);
    ck_assert_str_eq(enc, "a%20b%2Fc%25d~");
    ck_assert_int_eq(symkey_decode(enc, strlen(enc), dec), 8);
    ck_assert_str_eq(dec, "a b/c%d~");
    ck_assert_int_eq(symkey_encode("abc", enc, 3), -ENAMETOOLONG);
}
END_TEST

/* KEY's canonical form, for the build-id cases below. */
static const char *canon_of(const char *path)
{
    static char buf[SYMKEY_CANON_MAX];
    struct symkey k;
    const char *why;

    ck_assert_int_eq(parse(path, &k, &why), 0);
    ck_assert_int_eq(k.kind, SYMKEY_BUILDID);
    ck_assert_int_gt(symkey_canonical(&k, buf, sizeof(buf)), 0);
    return buf;
}

START_TEST(test_symkey_buildid_artifacts)
{
    struct symkey k;
    const char *why;

    ck_assert_int_eq(parse("/buildid/3DCF42ab/debuginfo", &k, &why), 0);
    ck_assert_int_eq(k.kind, SYMKEY_BUILDID);
    ck_assert_str_eq(k.id, "3dcf42ab");
    ck_assert_str_eq(k.name, "debuginfo");
    ck_assert_str_eq(k.file, "");
    ck_assert_str_eq(symkey_file_label(&k), "debuginfo");
    ck_assert_str_eq(canon_of("/buildid/3DCF42AB/executable"),
                     "buildid/3dcf42ab/executable");
    ck_assert_int_eq(parse("/buildid/ab/section/.gdb_index", &k, &why), 0);
    ck_assert_str_eq(k.file, ".gdb_index");
    ck_assert_str_eq(symkey_file_label(&k), ".gdb_index");
    ck_assert_str_eq(canon_of("/buildid/ab/section/.gdb_index"),
                     "buildid/ab/section-.gdb_index");
    /* The namespace is the debuginfod API's, in every spelling. */
    ck_assert_int_eq(parse("/download/symbols/BuildId/AB/debuginfo", &k, &why),
                     -EINVAL);
}
END_TEST

START_TEST(test_symkey_buildid_rejects)
{
    static const char *const bad[] = {
        "/buildid/abc/debuginfo",         /* odd length */
        "/buildid/abzz/debuginfo",        /* not hex */
        "/buildid/ab%63d/debuginfo",      /* no decoding of the id */
        "/buildid//debuginfo",
        "/buildid/ab",
        "/buildid/ab/",
        "/buildid/ab/debuginfo/x",
        "/buildid/ab/symbols",
        "/buildid/ab/source",
        "/buildid/ab/source/",
        "/buildid/ab/source/..",
        "/buildid/ab/source/a%00b",
        "/buildid/ab/source/a%0ab",
        "/buildid/ab/source/a%zz",
        "/buildid/ab/section/a/b",
        "/buildid/ab/section/a%2fb",
    };
    char path[1200], id[200];
    struct symkey k;
    const char *why;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        ck_assert_msg(parse(bad[i], &k, &why) == -EINVAL, "%s", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
    memset(id, 'a', 66);
    id[66] = '\0';
    snprintf(path, sizeof(path), "/buildid/%s/debuginfo", id);
    ck_assert_int_eq(parse(path, &k, &why), -EINVAL);
    id[64] = '\0';
    snprintf(path, sizeof(path), "/buildid/%s/debuginfo", id);
    ck_assert_int_eq(parse(path, &k, &why), 0);
    /* A source path too long for one file name in the cache. */
    memset(path, 0, sizeof(path));
    strcpy(path, "/buildid/ab/source/");
    memset(path + strlen(path), 'x', 245);
    ck_assert_int_eq(parse(path, &k, &why), -EINVAL);
}
END_TEST

START_TEST(test_symkey_buildid_source_canonical)
{
    struct symkey k;
    const char *why;
    char enc[SYMKEY_CANON_MAX];

    ck_assert_int_eq(
        parse("/buildid/ab/source/usr//src/./x/../Foo%20Bar.c", &k, &why), 0);
    ck_assert_str_eq(k.file, "/usr/src/Foo Bar.c");
    ck_assert_str_eq(symkey_file_label(&k), "Foo Bar.c");
    /* Above the root stays at the root, decoded or not. */
    ck_assert_int_eq(parse("/buildid/ab/source/%2e%2e/../etc/passwd", &k, &why),
                     0);
    ck_assert_str_eq(k.file, "/etc/passwd");
    /* One file name, no upper case (never a gzip copy's .GZIP). */
    ck_assert_str_eq(canon_of("/buildid/ab/source/x/Y.GZIP"),
                     "buildid/ab/source-#x#%59.%47%5A%49%50");
    ck_assert_str_eq(canon_of("/buildid/ab/source/a/b"),
                     canon_of("/buildid/AB/source//a/./b"));
    ck_assert_int_gt(symkey_encode_path(k.file, enc, sizeof(enc)), 0);
    ck_assert_str_eq(enc, "/etc/passwd");
    ck_assert_int_gt(symkey_encode_path("/a b/c#", enc, sizeof(enc)), 0);
    ck_assert_str_eq(enc, "/a%20b/c%23");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symkey");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_symkey_parses_pdb_key);
    tcase_add_test(tc, test_symkey_parses_pe_key_and_download_prefix);
    tcase_add_test(tc, test_symkey_decodes_once);
    tcase_add_test(tc, test_symkey_rejects_hostile);
    tcase_add_test(tc, test_symkey_rejects_overlong);
    tcase_add_test(tc, test_symkey_routes_other_paths);
    tcase_add_test(tc, test_symkey_canonical_folds_case);
    tcase_add_test(tc, test_symkey_encode_roundtrip);
    tcase_add_test(tc, test_symkey_buildid_artifacts);
    tcase_add_test(tc, test_symkey_buildid_rejects);
    tcase_add_test(tc, test_symkey_buildid_source_canonical);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
