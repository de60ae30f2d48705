/* SPDX-License-Identifier: MIT */
/*
 * The cross-check of a Breakpad file against the PDB it was
 * dumped from, each read by our own reader: windows/crash.sym (dump_syms)
 * and windows/crash.pdb must name the same outer function and give the
 * same line at every byte of every FUNC.  The PDB side's line is the one
 * of its outer frame (dump_syms writes the call-site lines of the C13
 * table, our PDB reader also knows the inlinee lines under them).
 *
 * Allowed differences, counted and reported: identical-code-folded
 * functions (FUNC m), where either side may name any of the folded
 * functions; and the leading underscores of C and assembly symbols
 * (dump_syms writes "_SEH_prolog4" for the PDB's "__SEH_prolog4").
 * Skips (77) when the PDB reader (sym/pdb/pdb.c) is not part of the build.
 */
#include "symsrvd_config.h"

#include "table/symtable.h"

#include "symtest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 64

/* NAME without leading underscores, up to its parameter list. */
static void base_name(const char *name, char *out, size_t len)
{
    size_t n;

    while (*name == '_')
        name++;
    n = strcspn(name, "(");
    snprintf(out, len, "%.*s", (int)n, name);
}

/* Both unknown, or the same path. */
static bool same_file(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

START_TEST(test_breakpad_matches_our_pdb)
{
    struct symtest_funcs f = {0};
    struct symtable *bp, *pdb;
    struct symtable_frame a[MAX_FRAMES], b[MAX_FRAMES];
    size_t names = 0, lines = 0, folded = 0;
    void *b1, *b2;

    symtest_funcs_read("breakpad/windows/crash.sym", &f);
    bp = symtest_table("breakpad/windows/crash.sym", &b1);
    pdb = symtest_table("pdb/crash.pdb", &b2);
    for (size_t i = 0; i < f.n; i++) {
        size_t na = symtable_lookup(bp, f.addr[i], a, MAX_FRAMES, NULL);
        size_t nb = symtable_lookup(pdb, f.addr[i], b, MAX_FRAMES, NULL);
        char x[1024], y[1024];
        bool name_ok, line_ok;

        ck_assert_msg(na == 1 && nb > 0, "0x%llx: no symbol",
                      (unsigned long long)f.addr[i]);
        base_name(a[0].function, x, sizeof(x));
        base_name(b[nb - 1].function, y, sizeof(y));
        name_ok = strcmp(x, y) == 0;
        line_ok =
            a[0].line == b[nb - 1].line && same_file(a[0].file, b[nb - 1].file);
        names += name_ok;
        lines += line_ok;
        folded += f.folded[i] && !(name_ok && line_ok);
        ck_assert_msg(
            (name_ok && line_ok) || f.folded[i], "0x%llx: %s %s:%u vs %s %s:%u",
            (unsigned long long)f.addr[i], a[0].function, a[0].file, a[0].line,
            b[nb - 1].function, b[nb - 1].file, b[nb - 1].line);
    }
    printf(
        "breakpad/windows/crash.sym vs crash.pdb (both ours): names %zu/%zu, "
        "lines %zu/%zu, %zu differ in folded (FUNC m) functions\n",
        names, f.n, lines, f.n, folded);
    symtest_funcs_free(&f);
    symtable_close(bp);
    symtable_close(pdb);
    free(b1);
    free(b2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breakpad_pdb");
    TCase *tc = tcase_create("cross-check");

    tcase_add_test(tc, test_breakpad_matches_our_pdb);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
