/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of symtable: hand-built tables whose every answer follows
 * from the records given (nesting, size-0 ends, ties, publics in gaps,
 * inline chains), the file round trip, and hostile blobs (every byte
 * flipped, every truncation, bytes flipped with a fixed-up CRC).
 */
#include "symsrvd_config.h"

#include "table/symtable.h"
#include "table/symtable_format.h"

#include "symtest.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static struct symtable *load_or_fail(struct symtable_builder *b, void **blob)
{
    struct symtable *t = NULL;
    size_t len;

    ck_assert_int_eq(symtable_builder_finish(b, blob, &len), 0);
    symtable_builder_free(b);
    ck_assert_int_eq(symtable_load(*blob, len, &t), 0);
    return t;
}

/* The outer function name at RVA, or NULL. */
static const char *outer_at(const struct symtable *t, uint64_t rva)
{
    struct symtable_frame f[16];
    size_t n = symtable_lookup(t, rva, f, 16, NULL);

    return n == 0 ? NULL : f[n - 1].function;
}

static void assert_outer(const struct symtable *t, uint64_t rva,
                         const char *want)
{
    const char *got = outer_at(t, rva);

    if (want == NULL)
        ck_assert_msg(got == NULL, "0x%llx: want nothing, got %s",
                      (unsigned long long)rva, got);
    else
        ck_assert_msg(got && strcmp(got, want) == 0, "0x%llx: want %s, got %s",
                      (unsigned long long)rva, want, got ? got : "(none)");
}

START_TEST(test_symtable_nested_and_sizeless)
{
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t;
    void *blob;

    symtable_builder_set_image_base(b, 0x400000);
    symtable_builder_add_func(b, 0x100, 0x100, "outer", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x140, 0x20, "nested", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x300, 0, "sizeless", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x380, 0x10, "after", SYMTABLE_LANG_C);
    t = load_or_fail(b, &blob);
    ck_assert_uint_eq(symtable_image_base(t), 0x400000);
    assert_outer(t, 0xff, NULL);
    assert_outer(t, 0x100, "outer");
    assert_outer(t, 0x13f, "outer");
    assert_outer(t, 0x140, "nested");
    assert_outer(t, 0x15f, "nested");
    assert_outer(t, 0x160, "outer"); /* resumes after the nested one */
    assert_outer(t, 0x1ff, "outer");
    assert_outer(t, 0x200, NULL);
    assert_outer(t, 0x37f, "sizeless"); /* extends to the next symbol */
    assert_outer(t, 0x38f, "after");
    assert_outer(t, 0x390, NULL);
    symtable_close(t);
    free(blob);
}
END_TEST

START_TEST(test_symtable_empty)
{
    struct symtable_frame f[2];
    struct symtable *t;
    size_t total = 99;
    void *blob;

    t = load_or_fail(symtable_builder_new(), &blob);
    ck_assert_uint_eq(symtable_lookup(t, 0, f, 2, &total), 0);
    ck_assert_uint_eq(total, 0);
    ck_assert_uint_eq(symtable_lookup(t, UINT64_MAX, f, 2, NULL), 0);
    symtable_close(t);
    free(blob);
}
END_TEST

START_TEST(test_symtable_ties_and_duplicates)
{
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t;
    void *blob;

    /* Same start: a known size beats size 0, larger beats smaller, then
     * the name decides, whatever the insertion order. */
    symtable_builder_add_func(b, 0x10, 0, "zero", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x10, 0x8, "small", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x10, 0x10, "bbb", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x10, 0x10, "aaa", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x10, 0x10, "aaa", SYMTABLE_LANG_C);
    t = load_or_fail(b, &blob);
    assert_outer(t, 0x10, "aaa");
    assert_outer(t, 0x1f, "aaa");
    assert_outer(t, 0x20, NULL);
    symtable_close(t);
    free(blob);
}
END_TEST

START_TEST(test_symtable_publics_fill_gaps)
{
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t;
    struct symtable_frame f[4];
    void *blob;

    symtable_builder_set_image_size(b, 0x1000);
    symtable_builder_add_public(b, 0x0, "pub_start");
    symtable_builder_add_func(b, 0x100, 0x80, "func", SYMTABLE_LANG_C);
    symtable_builder_add_public(b, 0x120, "pub_inside");
    symtable_builder_add_public(b, 0x400, "pub_last");
    t = load_or_fail(b, &blob);
    assert_outer(t, 0x0, "pub_start");
    assert_outer(t, 0xff, "pub_start");
    assert_outer(t, 0x120, "func"); /* a function beats a public */
    assert_outer(t, 0x17f, "func");
    ck_assert_uint_eq(symtable_lookup(t, 0x180, f, 4, NULL), 1);
    ck_assert_str_eq(f[0].function, "pub_inside");
    ck_assert_uint_eq(f[0].sym_rva, 0x120);
    ck_assert(!f[0].inlined);
    assert_outer(t, 0x3ff, "pub_inside");
    assert_outer(t, 0xfff, "pub_last");
    assert_outer(t, 0x1000, NULL); /* image size bounds the last one */
    symtable_close(t);
    free(blob);
}
END_TEST

START_TEST(test_symtable_lines_sizeless)
{
    struct symtable_builder *b = symtable_builder_new();
    uint32_t fa, fb;
    struct symtable *t;
    struct symtable_frame f[4];
    void *blob;

    fa = symtable_builder_file(b, "/src/a.c");
    fb = symtable_builder_file(b, "/src/b.c");
    ck_assert_uint_eq(fa, 1);
    ck_assert_uint_eq(symtable_builder_file(b, "/src/a.c"), fa);
    symtable_builder_add_func(b, 0x100, 0x40, "f", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x140, 0x40, "g", SYMTABLE_LANG_C);
    symtable_builder_add_line(b, 0x100, 0, fa, 10);
    symtable_builder_add_line(b, 0x110, 0, fa, 11);
    symtable_builder_add_line(b, 0x110, 0, fb, 99); /* duplicate start */
    symtable_builder_add_line(b, 0x150, 4, fb, 20);
    symtable_builder_add_func(b, 0x200, 0x10, "h", SYMTABLE_LANG_C);
    symtable_builder_add_func(b, 0x210, 0x10, "k", SYMTABLE_LANG_C);
    symtable_builder_add_line(b, 0x208, 0x100, fa, 77); /* oversized */
    t = load_or_fail(b, &blob);
    ck_assert_uint_eq(symtable_lookup(t, 0x10f, f, 4, NULL), 1);
    ck_assert_str_eq(f[0].file, "/src/a.c");
    ck_assert_uint_eq(f[0].line, 10);
    symtable_lookup(t, 0x13f, f, 4, NULL);
    ck_assert_uint_eq(f[0].line, 11);
    /* The size-0 line stops at the end of its function. */
    symtable_lookup(t, 0x140, f, 4, NULL);
    ck_assert_str_eq(f[0].function, "g");
    ck_assert_ptr_null(f[0].file);
    ck_assert_uint_eq(f[0].line, 0);
    symtable_lookup(t, 0x153, f, 4, NULL);
    ck_assert_str_eq(f[0].file, "/src/b.c");
    ck_assert_uint_eq(f[0].line, 20);
    symtable_lookup(t, 0x154, f, 4, NULL);
    ck_assert_uint_eq(f[0].line, 0);
    /* A sized line is cut at the end of its function too. */
    symtable_lookup(t, 0x20f, f, 4, NULL);
    ck_assert_uint_eq(f[0].line, 77);
    ck_assert_uint_eq(symtable_lookup(t, 0x210, f, 4, NULL), 1);
    ck_assert_str_eq(f[0].function, "k");
    ck_assert_ptr_null(f[0].file);
    symtable_close(t);
    free(blob);
}
END_TEST

static struct symtable_builder *inline_builder(void)
{
    struct symtable_builder *b = symtable_builder_new();
    uint32_t m = symtable_builder_file(b, "main.c");
    uint32_t h = symtable_builder_file(b, "h.h");

    symtable_builder_add_func(b, 0x1000, 0x100, "main", SYMTABLE_LANG_C);
    symtable_builder_add_line(b, 0x1000, 0x100, m, 1);
    symtable_builder_add_line(b, 0x1020, 0x10, h, 50);
    symtable_builder_add_line(b, 0x1030, 0x10, h, 70);
    /* outer_inl spans two ranges; leaf_inl is nested in the second. */
    symtable_builder_add_inline(b, 0x1020, 0x10, 1, "outer_inl", m, 5,
                                SYMTABLE_LANG_CPP);
    symtable_builder_add_inline(b, 0x1030, 0x20, 1, "outer_inl", m, 5,
                                SYMTABLE_LANG_CPP);
    symtable_builder_add_inline(b, 0x1030, 0x8, 2, "leaf_inl", h, 60,
                                SYMTABLE_LANG_CPP);
    return b;
}

START_TEST(test_symtable_inline_chain)
{
    struct symtable *t;
    struct symtable_frame f[4];
    size_t total;
    void *blob;

    t = load_or_fail(inline_builder(), &blob);
    ck_assert_uint_eq(symtable_lookup(t, 0x1034, f, 4, &total), 3);
    ck_assert_uint_eq(total, 3);
    ck_assert_str_eq(f[0].function, "leaf_inl");
    ck_assert_str_eq(f[0].file, "h.h");
    ck_assert_uint_eq(f[0].line, 70);
    ck_assert(f[0].inlined);
    ck_assert_uint_eq(f[0].sym_rva, 0x1030);
    ck_assert_str_eq(f[1].function, "outer_inl");
    ck_assert_str_eq(f[1].file, "h.h");
    ck_assert_uint_eq(f[1].line, 60);
    ck_assert(f[1].inlined);
    ck_assert_str_eq(f[2].function, "main");
    ck_assert_str_eq(f[2].file, "main.c");
    ck_assert_uint_eq(f[2].line, 5);
    ck_assert(!f[2].inlined);
    ck_assert_int_eq(f[2].lang, SYMTABLE_LANG_C);
    /* MAX smaller than the chain: innermost frames, full total. */
    ck_assert_uint_eq(symtable_lookup(t, 0x1034, f, 1, &total), 1);
    ck_assert_uint_eq(total, 3);
    ck_assert_str_eq(f[0].function, "leaf_inl");
    ck_assert_uint_eq(symtable_lookup(t, 0x1024, f, 4, &total), 2);
    ck_assert_str_eq(f[0].function, "outer_inl");
    ck_assert_uint_eq(f[0].line, 50);
    ck_assert_uint_eq(symtable_lookup(t, 0x1048, f, 4, &total), 2);
    ck_assert_uint_eq(symtable_lookup(t, 0x1050, f, 4, &total), 1);
    ck_assert_str_eq(f[0].function, "main");
    ck_assert_uint_eq(f[0].line, 1);
    symtable_close(t);
    free(blob);
}
END_TEST

/* Overlapping ranges at one depth: the inner one wins while it lasts and
 * the outer resumes, so two inputs make three records. */
START_TEST(test_symtable_inline_overlap_resumes)
{
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t;
    struct symtable_frame f[4];
    void *blob;

    symtable_builder_add_func(b, 0, 0x100, "fn", SYMTABLE_LANG_C);
    symtable_builder_add_inline(b, 0, 0x100, 1, "wide", 0, 1, SYMTABLE_LANG_C);
    symtable_builder_add_inline(b, 0x10, 0x10, 1, "narrow", 0, 2,
                                SYMTABLE_LANG_C);
    symtable_builder_add_inline(b, 0x20, 0, 1, "empty", 0, 3, SYMTABLE_LANG_C);
    t = load_or_fail(b, &blob);
    ck_assert_uint_eq(symtable_lookup(t, 0x15, f, 4, NULL), 2);
    ck_assert_str_eq(f[0].function, "narrow");
    ck_assert_uint_eq(symtable_lookup(t, 0x50, f, 4, NULL), 2);
    ck_assert_str_eq(f[0].function, "wide");
    ck_assert_uint_eq(f[0].sym_rva, 0);
    ck_assert_uint_eq(f[1].line, 1);
    symtable_close(t);
    free(blob);
}
END_TEST

START_TEST(test_symtable_roundtrip_file)
{
    char dir[] = "/tmp/check_symtable.XXXXXX";
    char path[64];
    struct symtable_builder *b = inline_builder();
    struct symtable *t = NULL;
    struct symtable_frame f[4];
    void *blob;
    size_t len;
    FILE *fp;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.symtab", dir);
    ck_assert_int_eq(symtable_builder_finish(b, &blob, &len), 0);
    symtable_builder_free(b);
    fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(blob, 1, len, fp), len);
    fclose(fp);
    ck_assert_int_eq(symtable_open(path, &t), 0);
    ck_assert_uint_eq(symtable_lookup(t, 0x1034, f, 4, NULL), 3);
    ck_assert_str_eq(f[2].function, "main");
    symtable_close(t);
    ck_assert_int_eq(symtable_open(dir, &t), -EINVAL);
    unlink(path);
    ck_assert_int_eq(symtable_open(path, &t), -ENOENT);
    rmdir(dir);
    free(blob);
}
END_TEST

START_TEST(test_symtable_rejects_flips_and_truncation)
{
    struct symtable_builder *b = inline_builder();
    struct symtable *t;
    uint8_t *blob, *copy;
    size_t len;

    ck_assert_int_eq(symtable_builder_finish(b, (void **)&blob, &len), 0);
    symtable_builder_free(b);
    copy = malloc(len);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, blob, len);
            copy[i] ^= (uint8_t)(1u << bit);
            ck_assert_int_eq(symtable_load(copy, len, &t), -EINVAL);
        }
    for (size_t n = 0; n < len; n++) {
        memcpy(copy, blob, n);
        ck_assert_int_eq(symtable_load(copy, n, &t), -EINVAL);
    }
    free(copy);
    free(blob);
}
END_TEST

/* With the CRC fixed up, a flip must be caught by the structural checks
 * or leave a table whose lookups stay in bounds (ASan watches). */
START_TEST(test_symtable_structural_checks)
{
    struct symtable_builder *b = inline_builder();
    struct symtable *t;
    struct symtable_frame f[8];
    uint8_t *blob, *copy;
    size_t len, rejected = 0;

    ck_assert_int_eq(symtable_builder_finish(b, (void **)&blob, &len), 0);
    symtable_builder_free(b);
    copy = malloc(len);
    for (size_t i = SYMTABLE_CRC_START; i < len; i++) {
        uint32_t crc;

        memcpy(copy, blob, len);
        copy[i] ^= 0x80;
        crc = (uint32_t)crc32_z(0, copy + SYMTABLE_CRC_START,
                                len - SYMTABLE_CRC_START);
        memcpy(copy + 12, &crc, sizeof(crc));
        if (symtable_load(copy, len, &t) != 0) {
            rejected++;
            continue;
        }
        for (uint64_t rva = 0xff0; rva < 0x1110; rva++)
            symtable_lookup(t, rva, f, 8, NULL);
        symtable_close(t);
    }
    /* The header and every offset field are checked, so most flips are
     * refused; string bytes and line numbers legitimately are not. */
    ck_assert_uint_gt(rejected, 100);
    free(copy);
    free(blob);
}
END_TEST

START_TEST(test_symtable_order_independent)
{
    struct symtable_builder *fwd = symtable_builder_new();
    struct symtable_builder *rev = symtable_builder_new();
    struct symtable *a, *b;
    struct symtable_frame fa[4], fb[4];
    void *ba, *bb;
    static const char *const names[] = {"p", "q", "r", "s", "t"};

    for (int i = 0; i < 5; i++) {
        symtable_builder_add_func(fwd, (uint64_t)i * 8, 16, names[i],
                                  SYMTABLE_LANG_C);
        symtable_builder_add_func(rev, (uint64_t)(4 - i) * 8, 16, names[4 - i],
                                  SYMTABLE_LANG_C);
        symtable_builder_add_line(fwd, (uint64_t)i * 4, 0,
                                  symtable_builder_file(fwd, names[i]), 1);
        symtable_builder_add_line(rev, (uint64_t)(4 - i) * 4, 0,
                                  symtable_builder_file(rev, names[4 - i]), 1);
    }
    a = load_or_fail(fwd, &ba);
    b = load_or_fail(rev, &bb);
    for (uint64_t rva = 0; rva < 64; rva++) {
        size_t na = symtable_lookup(a, rva, fa, 4, NULL);

        ck_assert_uint_eq(symtable_lookup(b, rva, fb, 4, NULL), na);
        for (size_t k = 0; k < na; k++) {
            ck_assert_str_eq(fa[k].function, fb[k].function);
            ck_assert_pstr_eq(fa[k].file, fb[k].file);
        }
    }
    symtable_close(a);
    symtable_close(b);
    free(ba);
    free(bb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symtable");
    TCase *tc = tcase_create("lookup");
    TCase *tr = tcase_create("reject");

    tcase_add_test(tc, test_symtable_nested_and_sizeless);
    tcase_add_test(tc, test_symtable_empty);
    tcase_add_test(tc, test_symtable_ties_and_duplicates);
    tcase_add_test(tc, test_symtable_publics_fill_gaps);
    tcase_add_test(tc, test_symtable_lines_sizeless);
    tcase_add_test(tc, test_symtable_inline_chain);
    tcase_add_test(tc, test_symtable_inline_overlap_resumes);
    tcase_add_test(tc, test_symtable_roundtrip_file);
    tcase_add_test(tc, test_symtable_order_independent);
    tcase_add_test(tr, test_symtable_rejects_flips_and_truncation);
    tcase_add_test(tr, test_symtable_structural_checks);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tr);
    return symtest_run(s);
}
