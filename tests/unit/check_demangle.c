/* SPDX-License-Identifier: MIT */
/*
 * Tests of demangle: demangle_name() must print what the reference tools
 * print for each scheme: c++filt (GNU binutils) for Itanium C++ names
 * from g++ and for D names, c++filt minus the "::h<hash>" suffix for
 * Rust legacy names, llvm-cxxfilt-14 for Rust v0 names, and our MSVC
 * demangler (itself checked against llvm-undname-14 in
 * check_msvc_demangle) for MSVC names.  demangle_win32_c_name() and the
 * MSVC_DEMANGLE_SYMBOLIZER flags must name the public symbols of an x86
 * PE built here exactly as llvm-symbolizer-14 does.  The name lists are
 * in tests/data/demangle; their README says where each comes from.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demangle/demangle.h"
#include "needtool.h"
#include "demangle_oracle.h"
#include "demangle/msvc_demangle.h"
#include "xalloc.h"

/* c++filt keeps the hash of Rust legacy names; we drop it as rustfilt
 * does, so drop it from c++filt's answer before comparing. */
static void strip_rust_hash(const char *name, char *text)
{
    size_t len = text != NULL ? strlen(text) : 0;

    if (demangle_guess_lang(name) == SYMTABLE_LANG_RUST && name[1] == 'Z' &&
        len > 19 && strncmp(text + len - 19, "::h", 3) == 0)
        text[len - 19] = '\0';
}

/* Compare demangle_name() with the tool ARGV over the list FILE; print
 * the agreement and the first differences; return how many differ. */
static size_t compare_list(const char *file, const char *const argv[],
                           bool rust_hash)
{
    struct oracle_list names = {NULL, 0}, ref = {NULL, 0};
    char *path = oracle_data_path(file);
    size_t i, bad = 0;

    ck_assert_int_eq(oracle_read_names(path, &names), 0);
    ck_assert_int_eq(oracle_run(argv, path, false, &names, &ref), 0);
    for (i = 0; i < names.count; i++) {
        char *ours = demangle_name(names.items[i], SYMTABLE_LANG_UNKNOWN);

        if (rust_hash)
            strip_rust_hash(names.items[i], ref.items[i]);
        if (!oracle_same(ours, ref.items[i]) && bad++ < 10)
            fprintf(stderr, "%s: %s\n  %s: %s\n  ours: %s\n", file,
                    names.items[i], argv[0],
                    ref.items[i] ? ref.items[i] : "(unchanged)",
                    ours ? ours : "(NULL)");
        free(ours);
    }
    printf("%s: %zu/%zu identical to", file, names.count - bad, names.count);
    for (i = 0; argv[i] != NULL; i++)
        printf(" %s", argv[i]);
    printf("\n");
    fflush(stdout); /* a failing check exits without flushing */
    oracle_list_free(&names);
    oracle_list_free(&ref);
    free(path);
    return bad;
}

static const char *const cxxfilt[] = {"c++filt", NULL};
static const char *const cxxfilt_d[] = {"c++filt", "-s", "dlang", NULL};
static const char *const llvm_cxxfilt[] = {"llvm-cxxfilt-14", NULL};

START_TEST(test_demangle_itanium_matches_cxxfilt)
{
    ck_assert_uint_eq(compare_list("itanium-gcc.txt", cxxfilt, false), 0);
}
END_TEST

START_TEST(test_demangle_rust_legacy_matches_cxxfilt)
{
    ck_assert_uint_eq(compare_list("rust-legacy.txt", cxxfilt, true), 0);
}
END_TEST

START_TEST(test_demangle_rust_v0_matches_llvm_cxxfilt)
{
    ck_assert_uint_eq(compare_list("rust-v0.txt", llvm_cxxfilt, false), 0);
}
END_TEST

START_TEST(test_demangle_d_matches_cxxfilt)
{
    ck_assert_uint_eq(compare_list("d-abi.txt", cxxfilt_d, false), 0);
}
END_TEST

/* LLVM spells some Itanium constructs differently from GNU (lambdas,
 * decltype, "> >"), so it is no oracle for the text; but every name it
 * can demangle, we must demangle too. */
START_TEST(test_demangle_accepts_what_llvm_cxxfilt_accepts)
{
    static const char *const lists[] = {"itanium-gcc.txt", "rust-v0.txt"};
    struct oracle_list names = {NULL, 0}, ref = {NULL, 0};
    char *path = oracle_data_path(lists[_i]);
    size_t i, accepted = 0;

    ck_assert_int_eq(oracle_read_names(path, &names), 0);
    ck_assert_int_eq(oracle_run(llvm_cxxfilt, path, false, &names, &ref), 0);
    for (i = 0; i < names.count; i++) {
        char *ours = demangle_name(names.items[i], SYMTABLE_LANG_UNKNOWN);

        ck_assert_msg(ref.items[i] == NULL || ours != NULL,
                      "%s: llvm-cxxfilt-14 reads it, we do not",
                      names.items[i]);
        accepted += ref.items[i] != NULL;
        free(ours);
    }
    ck_assert_uint_gt(accepted, names.count / 2);
    oracle_list_free(&names);
    oracle_list_free(&ref);
    free(path);
}
END_TEST

START_TEST(test_demangle_guess_lang_by_prefix)
{
    static const struct {
        const char *name;
        enum symtable_lang lang;
    } cases[] = {
        {"_Z3fooi", SYMTABLE_LANG_CPP},
        {"__Z3fooi", SYMTABLE_LANG_CPP},
        {"?foo@@YAXH@Z", SYMTABLE_LANG_CPP},
        {".?AVfoo@@", SYMTABLE_LANG_CPP},
        {"_ZN4core3fmt5write17h9f3e1d7a4c2b8e60E", SYMTABLE_LANG_RUST},
        {"_ZN4core3fmt5write17h9f3e1d7a4c2b8e6gE", SYMTABLE_LANG_CPP},
        {"_ZN4core3fmt5write17h9f3e1d7a4c2b8e60E.llvm.42", SYMTABLE_LANG_RUST},
        {"_ZN4core3fmt5write17h9f3e1d7a4c2b8e60Ev", SYMTABLE_LANG_CPP},
        {"_RNvCs1234_7mycrate3foo", SYMTABLE_LANG_RUST},
        {"__RNvCs1234_7mycrate3foo", SYMTABLE_LANG_RUST},
        {"__D4test3fooFZv", SYMTABLE_LANG_D},
        {"_D4test3fooFZv", SYMTABLE_LANG_D},
        {"_Dfoo", SYMTABLE_LANG_UNKNOWN},
        {"main", SYMTABLE_LANG_UNKNOWN},
        {"_start", SYMTABLE_LANG_UNKNOWN},
        {"", SYMTABLE_LANG_UNKNOWN},
    };
    size_t i;

    ck_assert_int_eq(demangle_guess_lang(NULL), SYMTABLE_LANG_UNKNOWN);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(demangle_guess_lang(cases[i].name) == cases[i].lang, "%s",
                      cases[i].name);
}
END_TEST

/* Plain C and assembler names are not demangled. */
START_TEST(test_demangle_plain_names_give_null)
{
    static const char *const names[] = {"main",  "_start", "memcpy",   "",
                                        "_Dfoo", "_R",     "__imp_foo"};
    size_t i;

    ck_assert_ptr_null(demangle_name(NULL, SYMTABLE_LANG_UNKNOWN));
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_ptr_null(demangle_name(names[i], SYMTABLE_LANG_CPP));
}
END_TEST

/* "?<n x 'a'>@@3HA": a global int named with N characters, which
 * demangle_msvc() alone accepts up to MSVC_DEMANGLE_MAX_INPUT. */
static char *long_msvc_name(size_t n)
{
    char *name = xmalloc(n + 8);

    name[0] = '?';
    memset(name + 1, 'a', n);
    strcpy(name + 1 + n, "@@3HA");
    return name;
}

START_TEST(test_demangle_input_is_bounded)
{
    char *ok = long_msvc_name(DEMANGLE_MAX_INPUT - 6);
    char *big = long_msvc_name(DEMANGLE_MAX_INPUT - 5);
    char *s = demangle_name(ok, SYMTABLE_LANG_UNKNOWN);

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), DEMANGLE_MAX_INPUT - 6 + 4); /* "int " */
    free(s);
    ck_assert_ptr_null(demangle_name(big, SYMTABLE_LANG_UNKNOWN));
    s = demangle_msvc(big, MSVC_DEMANGLE_DEFAULT);
    ck_assert_ptr_nonnull(s);
    free(s);
    free(ok);
    free(big);
}
END_TEST

/* MSVC names take the MSVC demangler whatever the hint. */
START_TEST(test_demangle_msvc_names_use_msvc_demangler)
{
    struct oracle_list names = {NULL, 0};
    char *path = oracle_data_path("msvc-crashwithexception-publics.txt");
    size_t i, readable = 0;

    ck_assert_int_eq(oracle_read_names(path, &names), 0);
    for (i = 0; i < names.count; i++) {
        char *a = demangle_name(names.items[i], SYMTABLE_LANG_UNKNOWN);
        char *b = demangle_name(names.items[i], SYMTABLE_LANG_RUST);
        char *m = demangle_msvc(names.items[i], MSVC_DEMANGLE_DEFAULT);

        ck_assert(oracle_same(a, m) && oracle_same(b, m));
        readable += m != NULL;
        free(a);
        free(b);
        free(m);
    }
    ck_assert_uint_gt(readable, 50);
    oracle_list_free(&names);
    free(path);
}
END_TEST

static const char *const all_lists[] = {
    "itanium-gcc.txt", "rust-legacy.txt", "rust-v0.txt",
    "d-abi.txt",       "msvc-clang.txt",  "msvc-crash-publics.txt",
};

/* Every name of every list, with demangle_name(name, UNKNOWN) for each:
 * the reference for the hint and thread tests. */
struct corpus {
    struct oracle_list names;
    struct oracle_list expect;
};

static void corpus_load(struct corpus *c)
{
    size_t l, i;

    memset(c, 0, sizeof(*c));
    for (l = 0; l < sizeof(all_lists) / sizeof(all_lists[0]); l++) {
        char *path = oracle_data_path(all_lists[l]);

        ck_assert_int_eq(oracle_read_names(path, &c->names), 0);
        free(path);
    }
    c->expect.items = calloc(c->names.count, sizeof(char *));
    ck_assert_ptr_nonnull(c->expect.items);
    c->expect.count = c->names.count;
    for (i = 0; i < c->names.count; i++)
        c->expect.items[i] =
            demangle_name(c->names.items[i], SYMTABLE_LANG_UNKNOWN);
}

static void corpus_free(struct corpus *c)
{
    oracle_list_free(&c->names);
    oracle_list_free(&c->expect);
}

/* A hint never changes the answer for these names: each is valid in one
 * scheme only, which the prefix already tells. */
START_TEST(test_demangle_hint_keeps_answers)
{
    static const enum symtable_lang hints[] = {
        SYMTABLE_LANG_C, SYMTABLE_LANG_CPP, SYMTABLE_LANG_RUST, SYMTABLE_LANG_D,
        SYMTABLE_LANG_SWIFT};
    struct corpus c;
    size_t i, h;

    corpus_load(&c);
    for (i = 0; i < c.names.count; i++) {
        for (h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
            char *s = demangle_name(c.names.items[i], hints[h]);

            ck_assert_msg(oracle_same(s, c.expect.items[i]), "%s hint %d",
                          c.names.items[i], (int)hints[h]);
            free(s);
        }
    }
    corpus_free(&c);
}
END_TEST

static void *demangle_worker(void *arg)
{
    const struct corpus *c = arg;
    size_t round, i;
    long bad = 0;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < c->names.count; i++) {
            char *s = demangle_name(c->names.items[i], SYMTABLE_LANG_UNKNOWN);

            bad += !oracle_same(s, c->expect.items[i]);
            free(s);
        }
    }
    return (void *)bad;
}

/* Four threads demangling the same names at once get the same answers. */
START_TEST(test_demangle_is_thread_safe)
{
    pthread_t t[4];
    struct corpus c;
    size_t i;

    corpus_load(&c);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, demangle_worker, &c), 0);
    for (i = 0; i < 4; i++) {
        void *bad;

        ck_assert_int_eq(pthread_join(t[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
    corpus_free(&c);
}
END_TEST

/* LLVM appends ".llvm.<n>" to Rust names it makes local; the suffix
 * must not change the answer. */
START_TEST(test_demangle_rust_llvm_suffix_ignored)
{
    struct oracle_list names = {NULL, 0};
    char *path = oracle_data_path("rust-legacy.txt");
    size_t i;

    ck_assert_int_eq(oracle_read_names(path, &names), 0);
    for (i = 0; i < names.count; i++) {
        char *suffixed = xasprintf("%s.llvm.%zu", names.items[i], i);
        char *a = demangle_name(names.items[i], SYMTABLE_LANG_UNKNOWN);
        char *b = demangle_name(suffixed, SYMTABLE_LANG_UNKNOWN);

        ck_assert_msg(a != NULL && oracle_same(a, b), "%s: %s", suffixed, b);
        free(a);
        free(b);
        free(suffixed);
    }
    oracle_list_free(&names);
    free(path);
}
END_TEST

/* --- x86 PE public symbols, as llvm-symbolizer-14 names them ---------- */

/* Build pe32-symbolizer.cpp into DIR/pe.exe and DIR/pe.pdb: an x86 image
 * whose PDB has public symbols only (no -g), so the symbolizer must name
 * each function from its decorated public symbol. */
static void pe32_build(const char *dir)
{
    char *src = oracle_data_path("pe32-symbolizer.cpp");
    char *obj = xasprintf("%s/pe.obj", dir);
    char *out = xasprintf("/out:%s/pe.exe", dir);
    const char *cc[] = {"clang-14",  "--target=i686-pc-windows-msvc",
                        "-O1",       "-fno-exceptions",
                        "-fno-rtti", "-c",
                        src,         "-o",
                        obj,         NULL};
    const char *ld[] = {"lld-link-14",
                        "/nologo",
                        "/debug",
                        "/entry:main",
                        "/subsystem:console",
                        "/nodefaultlib",
                        out,
                        obj,
                        NULL};

    ck_assert_int_eq(oracle_exec(cc), 0);
    ck_assert_int_eq(oracle_exec(ld), 0);
    free(src);
    free(obj);
    free(out);
}

/* The publics of the code section (0001) of PDB and their addresses: lld
 * puts .text first, at RVA 0x1000 above the x86 image base 0x400000. */
static void pe32_publics(const char *pdb, struct oracle_list *names,
                         struct oracle_list *addrs)
{
    const char *argv[] = {"llvm-pdbutil-14", "dump", "--publics", pdb, NULL};
    struct oracle_list lines = {NULL, 0};
    size_t i;

    ck_assert_int_eq(oracle_output(argv, "/dev/null", &lines), 0);
    for (i = 0; i + 1 < lines.count; i++) {
        const char *l = lines.items[i];
        const char *a = strchr(l, '`'), *b = strrchr(l, '`');
        const char *at = strstr(lines.items[i + 1], "addr = 0001:");
        char *name;

        if (strstr(l, "S_PUB32") == NULL || a == NULL || b <= a || !at)
            continue;
        name = xstrndup(a + 1, (size_t)(b - a - 1));
        names->items =
            xreallocarray(names->items, names->count + 1, sizeof(char *));
        names->items[names->count++] = name;
        addrs->items =
            xreallocarray(addrs->items, addrs->count + 1, sizeof(char *));
        addrs->items[addrs->count++] =
            xasprintf("0x%lx", 0x401000 + strtoul(at + 12, NULL, 10));
    }
    oracle_list_free(&lines);
}

/* What we print for a public symbol of an x86 module. */
static char *pe32_ours(const char *name)
{
    char *s = name[0] == '?' ? demangle_msvc(name, MSVC_DEMANGLE_SYMBOLIZER)
                             : demangle_win32_c_name(name);

    return s != NULL ? s : xstrdup(name);
}

START_TEST(test_demangle_pe32_publics_match_llvm_symbolizer)
{
    char dir[] = "/tmp/check_demangle.XXXXXX";
    struct oracle_list names = {NULL, 0}, addrs = {NULL, 0};
    struct oracle_list out = {NULL, 0};
    char *pdb, *exe, *obj, *input;
    size_t i, k = 0, bad = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    pe32_build(dir);
    pdb = xasprintf("%s/pe.pdb", dir);
    exe = xasprintf("--obj=%s/pe.exe", dir);
    obj = xasprintf("%s/pe.obj", dir);
    input = xasprintf("%s/addrs.txt", dir);
    pe32_publics(pdb, &names, &addrs);
    ck_assert_uint_gt(names.count, 15);
    ck_assert_int_eq(oracle_write_names(input, &addrs), 0);
    {
        const char *argv[] = {"llvm-symbolizer-14", exe, NULL};

        ck_assert_int_eq(oracle_output(argv, input, &out), 0);
    }
    for (i = 0; i < names.count; i++) {
        char *ours = pe32_ours(names.items[i]);

        while (k < out.count && out.items[k][0] == '\0')
            k++; /* blank line after each address */
        ck_assert_uint_lt(k + 1, out.count);
        if (strcmp(ours, out.items[k]) != 0 && bad++ < 10)
            fprintf(stderr, "%s: symbolizer %s, ours %s\n", names.items[i],
                    out.items[k], ours);
        k += 2; /* the function, then "??:0:0" */
        free(ours);
    }
    printf("pe32 publics: %zu/%zu identical to llvm-symbolizer-14\n",
           names.count - bad, names.count);
    fflush(stdout);
    ck_assert_uint_eq(bad, 0);
    unlink(input);
    unlink(obj);
    unlink(pdb);
    unlink(exe + 6);
    rmdir(dir);
    free(pdb);
    free(exe);
    free(obj);
    free(input);
    oracle_list_free(&names);
    oracle_list_free(&addrs);
    oracle_list_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("demangle");
    TCase *oracle = tcase_create("oracle");
    TCase *dispatch = tcase_create("dispatch");
    TCase *pe32 = tcase_create("pe32");
    bool have =
        needtool("check_demangle", "c++filt", "llvm-cxxfilt-14", NULL);
    bool have_pe32 =
        needtool("check_demangle", "clang-14", "lld-link-14", "llvm-pdbutil-14",
                 "llvm-symbolizer-14", NULL);

    tcase_set_timeout(dispatch, 120);
    tcase_add_test(dispatch, test_demangle_guess_lang_by_prefix);
    tcase_add_test(dispatch, test_demangle_plain_names_give_null);
    tcase_add_test(dispatch, test_demangle_input_is_bounded);
    tcase_add_test(dispatch, test_demangle_msvc_names_use_msvc_demangler);
    tcase_add_test(dispatch, test_demangle_hint_keeps_answers);
    tcase_add_test(dispatch, test_demangle_is_thread_safe);
    tcase_add_test(dispatch, test_demangle_rust_llvm_suffix_ignored);
    suite_add_tcase(s, dispatch);
    if (have) {
        tcase_add_test(oracle, test_demangle_itanium_matches_cxxfilt);
        tcase_add_test(oracle, test_demangle_rust_legacy_matches_cxxfilt);
        tcase_add_test(oracle, test_demangle_rust_v0_matches_llvm_cxxfilt);
        tcase_add_test(oracle, test_demangle_d_matches_cxxfilt);
        tcase_add_loop_test(
            oracle, test_demangle_accepts_what_llvm_cxxfilt_accepts, 0, 2);
        suite_add_tcase(s, oracle);
    }
    if (have_pe32) {
        tcase_add_test(pe32, test_demangle_pe32_publics_match_llvm_symbolizer);
        suite_add_tcase(s, pe32);
    }
    return oracle_run_suite(s, have && have_pe32);
}
