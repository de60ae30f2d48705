/* SPDX-License-Identifier: MIT */
/*
 * Oracle tests of the Breakpad reader: every byte of every FUNC of a .sym
 * file is looked up in our symtable and in llvm-symbolizer-14 reading the
 * binary the .sym was dumped from, and the two must agree.
 *
 *   macos/crash.inlines.sym vs the dSYM DWARF: whole inline chains;
 *   windows/crash.sym vs crash.exe + crash.pdb: outer function and line
 *     (llvm-symbolizer-14 crashes on this PDB's inline sites, so
 *     --no-inlines);
 *   macos/crash.sym vs macos/crash.inlines.sym: two dump_syms versions
 *     must give the same outer function and innermost line.
 *
 * Names are compared after removing what the producers spell differently
 * (return types, template arguments, parameter lists, "struct"/"class",
 * MSVC's leading underscore and "dtor"/"destructor"); paths after making
 * separators and case uniform and resolving "..".  Skips (77) without
 * llvm-symbolizer-14 / llvm-readobj-14.
 */
#include "symsrvd_config.h"

#include "objfile/objfile.h"
#include "table/symtable.h"

#include "needtool.h"
#include "symtest.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FRAMES 64

/* --- normalisation -------------------------------------------------- */

static void replace_all(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *p;

    while ((p = strstr(s, from)) != NULL) {
        memmove(p + tl, p + fl, strlen(p + fl) + 1);
        memcpy(p, to, tl);
    }
}

static char *norm_name(const char *in)
{
    char *s = strdup(in), *o = s, *last;
    int depth = 0;

    replace_all(s, "destructor", "dtor");
    replace_all(s, "struct ", "");
    replace_all(s, "class ", "");
    replace_all(s, "enum ", "");
    for (const char *p = s; *p && !(*p == '(' && depth == 0 && p != s); p++) {
        if (*p == '<')
            depth++;
        else if (*p == '>' && depth > 0)
            depth--;
        else if (depth == 0)
            *o++ = *p;
    }
    *o = '\0';
    while (o > s && o[-1] == ' ')
        *--o = '\0';
    last = strrchr(s, ' ');
    last = last ? last + 1 : s;
    while (*last == '_')
        last++;
    memmove(s, last, strlen(last) + 1);
    return s;
}

/* "path:line[:col]" -> lower-cased path with '/' and ".." resolved +
 * ":line". */
static char *norm_loc(const char *in, bool has_col)
{
    char *s = strdup(in), *colon, *out, *o;
    const char *line;

    if (has_col && (colon = strrchr(s, ':')) != NULL)
        *colon = '\0';
    colon = strrchr(s, ':');
    ck_assert_ptr_nonnull(colon);
    *colon = '\0';
    line = colon + 1;
    out = malloc(strlen(s) + strlen(line) + 2);
    o = out;
    for (char *p = s; *p; p++) {
        char ch = *p == '\\' ? '/' : (char)tolower((unsigned char)*p);

        *o++ = ch;
        *o = '\0';
        if (ch == '/' && o - out >= 4 && strcmp(o - 4, "/../") == 0) {
            o -= 4; /* drop "/..", then the component before it */
            while (o > out && o[-1] != '/')
                o--;
        }
    }
    sprintf(o, ":%s", line);
    free(s);
    return out;
}

/* --- the two sides -------------------------------------------------- */

struct answer {
    char *names; /* normalised names, one per frame, '\n'-separated */
    char *locs;
};

static void answer_add(struct answer *a, const char *name, const char *loc,
                       bool has_col)
{
    char *n = norm_name(name), *l = norm_loc(loc, has_col);
    size_t nl = a->names ? strlen(a->names) : 0;
    size_t ll = a->locs ? strlen(a->locs) : 0;

    a->names = realloc(a->names, nl + strlen(n) + 2);
    a->locs = realloc(a->locs, ll + strlen(l) + 2);
    sprintf(a->names + nl, "%s\n", n);
    sprintf(a->locs + ll, "%s\n", l);
    free(n);
    free(l);
}

static void ours(const struct symtable *t, uint64_t rva, bool inlines,
                 struct answer *a)
{
    struct symtable_frame f[MAX_FRAMES];
    size_t n = symtable_lookup(t, rva, f, MAX_FRAMES, NULL);
    char loc[4096];

    memset(a, 0, sizeof(*a));
    if (n == 0) {
        answer_add(a, "??", "??:0", false);
        return;
    }
    for (size_t i = 0; i < (inlines ? n : 1); i++) {
        const struct symtable_frame *at = inlines ? &f[i] : &f[0];

        snprintf(loc, sizeof(loc), "%s:%u", at->file ? at->file : "??",
                 at->line);
        answer_add(a, inlines ? f[i].function : f[n - 1].function, loc, false);
    }
}

/* The first hex value printed after KEY (and after AFTER when given) by
 * llvm-readobj-14 ARGS PATH. */
static uint64_t readobj_value(const char *args, const char *path,
                              const char *after, const char *key)
{
    char cmd[4096], line[512];
    bool seen = after == NULL;
    uint64_t v = UINT64_MAX;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "llvm-readobj-14 %s '%s'", args, path);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p)) {
        char *k;

        if (!seen && strstr(line, after))
            seen = true;
        else if (seen && v == UINT64_MAX && (k = strstr(line, key)) != NULL)
            v = strtoull(k + strlen(key), NULL, 16);
    }
    pclose(p);
    ck_assert_msg(v != UINT64_MAX, "%s: no %s", path, key);
    return v;
}

/* llvm-symbolizer-14 OPTS --obj=OBJ on BASE + every address of F, one
 * answer per address.  The caller frees with answers_free(). */
static struct answer *oracle(const char *opts, const char *obj, uint64_t base,
                             const struct symtest_funcs *f)
{
    char tmp[] = "/tmp/check_breakpad_oracle.XXXXXX", cmd[4096];
    char name[8192], loc[8192];
    struct answer *a = calloc(f->n, sizeof(*a));
    int fd = mkstemp(tmp);
    FILE *in = fdopen(fd, "w"), *out;
    size_t i = 0;

    ck_assert(fd >= 0 && in != NULL && a != NULL);
    for (size_t k = 0; k < f->n; k++)
        fprintf(in, "0x%llx\n", (unsigned long long)(base + f->addr[k]));
    fclose(in);
    snprintf(cmd, sizeof(cmd), "llvm-symbolizer-14 %s --obj='%s' < %s", opts,
             obj, tmp);
    out = popen(cmd, "r");
    ck_assert_ptr_nonnull(out);
    while (i < f->n && fgets(name, sizeof(name), out)) {
        name[strcspn(name, "\n")] = '\0';
        if (name[0] == '\0') { /* end of one address's block */
            i++;
            continue;
        }
        ck_assert_ptr_nonnull(fgets(loc, sizeof(loc), out));
        loc[strcspn(loc, "\n")] = '\0';
        answer_add(&a[i], name, loc, true);
    }
    ck_assert_int_eq(pclose(out), 0);
    unlink(tmp);
    ck_assert_uint_eq(i, f->n);
    return a;
}

static void answers_free(struct answer *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].names);
        free(a[i].locs);
    }
    free(a);
}

/* --- the comparisons ------------------------------------------------ */

START_TEST(test_breakpad_inline_chains_match_dwarf)
{
    char *dwarf = symtest_data("breakpad/macos/crash.dsym-dwarf");
    struct symtest_funcs f = {0};
    struct symtable *t;
    struct answer *want, got;
    size_t agree = 0;
    void *blob;

    symtest_funcs_read("breakpad/macos/crash.inlines.sym", &f);
    t = symtest_table("breakpad/macos/crash.inlines.sym", &blob);
    want = oracle(
        "--inlines", dwarf,
        readobj_value("--macho-segment", dwarf, "Name: __TEXT", "vmaddr:"), &f);
    for (size_t i = 0; i < f.n; i++) {
        ours(t, f.addr[i], true, &got);
        if (strcmp(got.names, want[i].names) == 0 &&
            strcmp(got.locs, want[i].locs) == 0)
            agree++;
        else
            fprintf(stderr, "0x%llx:\n%s%s--- llvm-symbolizer:\n%s%s",
                    (unsigned long long)f.addr[i], got.names, got.locs,
                    want[i].names, want[i].locs);
        free(got.names);
        free(got.locs);
    }
    printf("crash.inlines.sym vs dSYM: %zu/%zu addresses agree "
           "(whole inline chains)\n",
           agree, f.n);
    ck_assert_uint_eq(agree, f.n);
    answers_free(want, f.n);
    symtest_funcs_free(&f);
    symtable_close(t);
    free(blob);
    free(dwarf);
}
END_TEST

/* dump_syms and llvm pick different rows where the PDB has several line
 * entries at a function's first byte, and identical-code-folded (FUNC m)
 * functions carry one of several valid names: those two are reported,
 * not failed. */
START_TEST(test_breakpad_windows_matches_pdb)
{
    char *exe = symtest_data("pdb/crash.exe");
    struct symtest_funcs f = {0};
    struct symtable *t;
    struct answer *want, got;
    size_t names = 0, lines = 0, first_line = 0, folded = 0;
    void *blob;

    symtest_funcs_read("breakpad/windows/crash.sym", &f);
    t = symtest_table("breakpad/windows/crash.sym", &blob);
    want = oracle("--no-inlines", exe,
                  readobj_value("--file-headers", exe, NULL, "ImageBase:"), &f);
    for (size_t i = 0; i < f.n; i++) {
        bool name_ok, line_ok;

        ours(t, f.addr[i], false, &got);
        name_ok = strcmp(got.names, want[i].names) == 0;
        line_ok = strcmp(got.locs, want[i].locs) == 0;
        names += name_ok;
        lines += line_ok;
        folded += !name_ok && f.folded[i];
        first_line += !line_ok && f.first[i];
        ck_assert_msg(name_ok || f.folded[i], "0x%llx: %s vs %s",
                      (unsigned long long)f.addr[i], got.names, want[i].names);
        ck_assert_msg(line_ok || f.first[i], "0x%llx: %s vs %s",
                      (unsigned long long)f.addr[i], got.locs, want[i].locs);
        free(got.names);
        free(got.locs);
    }
    printf(
        "breakpad/windows/crash.sym vs crash.pdb: names %zu/%zu (+%zu folded), "
        "lines %zu/%zu (+%zu at a function's first byte)\n",
        names, f.n, folded, lines, f.n, first_line);
    answers_free(want, f.n);
    symtest_funcs_free(&f);
    symtable_close(t);
    free(blob);
    free(exe);
}
END_TEST

/* Equal, or one is the other with more "::" qualification (the older
 * dump_syms put some extern "C" functions in their namespace). */
static bool same_function(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    const char *longer = la > lb ? a : b, *shorter = la > lb ? b : a;
    size_t d = la > lb ? la - lb : lb - la;

    if (d == 0)
        return strcmp(a, b) == 0;
    return d >= 2 && strcmp(longer + d, shorter) == 0 &&
           strncmp(longer + d - 2, "::", 2) == 0;
}

/* The older dump_syms wrote "<name omitted>" for some functions; those
 * compare by location only. */
START_TEST(test_breakpad_dump_syms_versions_agree)
{
    struct symtest_funcs f = {0};
    struct symtable *plain, *inl;
    struct symtable_frame fr[MAX_FRAMES];
    struct answer a, b;
    size_t omitted = 0;
    void *b1, *b2;

    symtest_funcs_read("breakpad/macos/crash.sym", &f);
    plain = symtest_table("breakpad/macos/crash.sym", &b1);
    inl = symtest_table("breakpad/macos/crash.inlines.sym", &b2);
    for (size_t i = 0; i < f.n; i++) {
        size_t n = symtable_lookup(plain, f.addr[i], fr, MAX_FRAMES, NULL);
        bool named = n > 0 && strcmp(fr[n - 1].function, "<name omitted>");

        ours(plain, f.addr[i], false, &a);
        ours(inl, f.addr[i], false, &b);
        omitted += !named;
        ck_assert_msg((!named || same_function(a.names, b.names)) &&
                          strcmp(a.locs, b.locs) == 0,
                      "0x%llx: %s%s vs %s%s", (unsigned long long)f.addr[i],
                      a.names, a.locs, b.names, b.locs);
        free(a.names);
        free(a.locs);
        free(b.names);
        free(b.locs);
    }
    printf("breakpad/macos/crash.sym vs crash.inlines.sym: %zu/%zu addresses "
           "agree "
           "(%zu by location only: <name omitted>)\n",
           f.n, f.n, omitted);
    symtest_funcs_free(&f);
    symtable_close(plain);
    symtable_close(inl);
    free(b1);
    free(b2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breakpad_oracle");
    TCase *tc = tcase_create("oracle");

    if (!needtool("check_breakpad_oracle", "llvm-symbolizer-14",
                  "llvm-readobj-14", NULL))
        return 77;
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_breakpad_inline_chains_match_dwarf);
    tcase_add_test(tc, test_breakpad_windows_matches_pdb);
    tcase_add_test(tc, test_breakpad_dump_syms_versions_agree);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
