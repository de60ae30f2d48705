/* SPDX-License-Identifier: MIT */
/*
 * Tests of msvc_demangle: our output must equal llvm-undname-14's, name
 * for name, on the public symbols of the MSVC-built fixture PDBs, on
 * names clang-14 mangles for x64 and x86 (tests/data/demangle), with each
 * output option, and on every prefix of those names; hostile names must
 * fail cleanly within the depth and length limits.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "needtool.h"
#include "demangle_oracle.h"
#include "demangle/msvc_demangle.h"
#include "xalloc.h"

#define UNDNAME "llvm-undname-14"

static const char *const msvc_lists[] = {
    "msvc-crash-publics.txt",
    "msvc-crashwithexception-publics.txt",
    "msvc-clang.txt",
};

#define NLISTS (sizeof(msvc_lists) / sizeof(msvc_lists[0]))

/* Compare demangle_msvc(FLAGS) with llvm-undname-14 OPTIONS (up to four)
 * on the names in file INPUT; print the agreement and the first
 * differences; return the number of names that differ. */
static size_t undname_compare(const char *label, const char *input,
                              const char *const options[4], unsigned flags)
{
    const char *argv[6] = {UNDNAME};
    struct oracle_list names = {NULL, 0}, ref = {NULL, 0};
    size_t i, bad = 0;

    for (i = 0; options != NULL && i < 4 && options[i] != NULL; i++)
        argv[i + 1] = options[i];
    ck_assert_int_eq(oracle_read_names(input, &names), 0);
    ck_assert_int_eq(oracle_run(argv, input, true, &names, &ref), 0);
    for (i = 0; i < names.count; i++) {
        char *ours = demangle_msvc(names.items[i], flags);

        if (!oracle_same(ours, ref.items[i]) && bad++ < 10)
            fprintf(stderr, "%s: %s\n  undname: %s\n  ours:    %s\n", label,
                    names.items[i], ref.items[i] ? ref.items[i] : "(rejected)",
                    ours ? ours : "(rejected)");
        free(ours);
    }
    printf("%s", label);
    for (i = 1; argv[i] != NULL; i++)
        printf(" %s", argv[i]);
    printf(": %zu/%zu identical to " UNDNAME "\n", names.count - bad,
           names.count);
    fflush(stdout); /* a failing check exits without flushing */
    oracle_list_free(&names);
    oracle_list_free(&ref);
    return bad;
}

START_TEST(test_msvc_demangle_corpus_matches_undname)
{
    const char *list = msvc_lists[_i];
    char *path = oracle_data_path(list);

    ck_assert_uint_eq(undname_compare(list, path, NULL, 0), 0);
    free(path);
}
END_TEST

static const struct {
    const char *options[4];
    unsigned flags;
} undname_options[] = {
    {{"--no-calling-convention"}, MSVC_DEMANGLE_NO_CALLING_CONVENTION},
    {{"--no-access-specifier"}, MSVC_DEMANGLE_NO_ACCESS_SPECIFIER},
    {{"--no-return-type"}, MSVC_DEMANGLE_NO_RETURN_TYPE},
    {{"--no-member-type"}, MSVC_DEMANGLE_NO_MEMBER_TYPE},
    {{"--no-variable-type"}, MSVC_DEMANGLE_NO_VARIABLE_TYPE},
    {{"--no-access-specifier", "--no-calling-convention", "--no-member-type",
      "--no-return-type"},
     MSVC_DEMANGLE_SYMBOLIZER},
};

#define NOPTIONS (sizeof(undname_options) / sizeof(undname_options[0]))

/* Each option (and the set llvm-symbolizer uses) on each corpus. */
START_TEST(test_msvc_demangle_options_match_undname)
{
    const char *list = msvc_lists[(size_t)_i % NLISTS];
    size_t opt = (size_t)_i / NLISTS;
    char *path = oracle_data_path(list);

    ck_assert_uint_eq(undname_compare(list, path, undname_options[opt].options,
                                      undname_options[opt].flags),
                      0);
    free(path);
}
END_TEST

/* Every proper prefix of every decorated corpus name: names cut short
 * must be rejected (or read) exactly as llvm-undname does. */
START_TEST(test_msvc_demangle_prefixes_match_undname)
{
    char dir[] = "/tmp/check_msvc_demangle.XXXXXX";
    struct oracle_list prefixes = {NULL, 0};
    char *input;
    size_t l, i, k, cap = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    input = xasprintf("%s/prefixes.txt", dir);
    for (l = 0; l < NLISTS; l++) {
        struct oracle_list names = {NULL, 0};
        char *path = oracle_data_path(msvc_lists[l]);

        ck_assert_int_eq(oracle_read_names(path, &names), 0);
        for (i = 0; i < names.count; i++) {
            size_t len = strlen(names.items[i]);

            for (k = 1; names.items[i][0] == '?' && k < len; k++) {
                /* Grown by doubling: ASan's realloc always moves, and one
                 * move per prefix made this test quadratic (26 670 of them). */
                if (prefixes.count == cap) {
                    cap = cap ? 2 * cap : 1024;
                    prefixes.items =
                        xreallocarray(prefixes.items, cap, sizeof(char *));
                }
                prefixes.items[prefixes.count++] = xstrndup(names.items[i], k);
            }
        }
        oracle_list_free(&names);
        free(path);
    }
    ck_assert_int_eq(oracle_write_names(input, &prefixes), 0);
    ck_assert_uint_eq(undname_compare("prefixes", input, NULL, 0), 0);
    unlink(input);
    rmdir(dir);
    free(input);
    oracle_list_free(&prefixes);
}
END_TEST

/* Names of other schemes and bare fragments are not MSVC names
 * (llvm-undname-14 rejects each of these too). */
START_TEST(test_msvc_demangle_rejects_other_names)
{
    static const char *const names[] = {
        "",
        "main",
        "_Z3foov",
        "_RNvC3foo3bar",
        "__imp_?x@@3HA",
        "?",
        "??",
        "??@",
        "?@",
        ".",
        "?x",
        "?x@",
        "?x@@",
        "?x@@3",
        "?x@@3H",
    };
    size_t i;

    ck_assert_ptr_null(demangle_msvc(NULL, 0));
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *s = demangle_msvc(names[i], 0);

        ck_assert_msg(s == NULL, "%s -> %s", names[i], s);
    }
}
END_TEST

/* "?x@@3" + "PA" x N + "HA": a variable of type int with N stars. */
static char *pointer_chain(size_t n)
{
    char *s = xmalloc(2 * n + 8);
    size_t i;

    memcpy(s, "?x@@3", 5);
    for (i = 0; i < n; i++)
        memcpy(s + 5 + 2 * i, "PA", 2);
    memcpy(s + 5 + 2 * n, "HA", 3);
    return s;
}

START_TEST(test_msvc_demangle_depth_is_bounded)
{
    char *ok = pointer_chain(100), *deep = pointer_chain(20000);
    char *s = demangle_msvc(ok, 0);
    size_t stars = 0, i;

    ck_assert_ptr_nonnull(s);
    for (i = 0; s[i] != '\0'; i++)
        stars += s[i] == '*';
    ck_assert_uint_eq(stars, 100);
    ck_assert_str_eq(s + strlen(s) - 2, "*x");
    ck_assert_int_eq(strncmp(s, "int *", 5), 0);
    free(s);
    ck_assert_ptr_null(demangle_msvc(deep, 0));
    free(ok);
    free(deep);
}
END_TEST

/* Template A<...> whose arguments repeat the previous level ten times
 * through name back-reference 1 (0 is "A" itself): the text grows tenfold
 * per level while the name grows by a few bytes. */
static char *expanding_name(int levels)
{
    char *level = xstrdup("?$A@H@");
    char *s;
    int i;

    for (i = 0; i < levels; i++) {
        char *next = xasprintf("?$A@V%s@V1@V1@V1@V1@V1@V1@V1@V1@V1@@", level);

        free(level);
        level = next;
    }
    s = xasprintf("?x@@3V%s@A", level);
    free(level);
    return s;
}

START_TEST(test_msvc_demangle_output_is_bounded)
{
    char *small = expanding_name(2), *big = expanding_name(12);
    char *s = demangle_msvc(small, 0);

    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, "class A<class A<class A<int>, class "
                                    "A<int>, class A<int>"));
    free(s);
    ck_assert_ptr_null(demangle_msvc(big, 0));
    free(small);
    free(big);
}
END_TEST

START_TEST(test_msvc_demangle_input_is_bounded)
{
    size_t n = MSVC_DEMANGLE_MAX_INPUT - 16;
    char *name = xmalloc(MSVC_DEMANGLE_MAX_INPUT + 2);
    char *s;

    name[0] = '?';
    memset(name + 1, 'a', n);
    strcpy(name + 1 + n, "@@3HA");
    s = demangle_msvc(name, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), n + 4); /* "int " + the name */
    free(s);
    memset(name + 1, 'a', MSVC_DEMANGLE_MAX_INPUT);
    strcpy(name + 1 + MSVC_DEMANGLE_MAX_INPUT - 5, "@@3HA");
    ck_assert_ptr_null(demangle_msvc(name, 0));
    free(name);
}
END_TEST

/* Every corpus name with one byte dropped or replaced must come back as
 * NULL or as text within the output limit. */
START_TEST(test_msvc_demangle_mutations_fail_cleanly)
{
    static const char subst[] = "?@$0AP_Z";
    struct oracle_list names = {NULL, 0};
    char *path = oracle_data_path(msvc_lists[_i]);
    size_t i, k, j;

    ck_assert_int_eq(oracle_read_names(path, &names), 0);
    for (i = 0; i < names.count; i++) {
        char *m = xstrdup(names.items[i]);
        size_t len = strlen(m);

        for (k = 0; k < len && k < 512; k++) {
            for (j = 0; j <= sizeof(subst) - 1; j++) {
                char *s;

                memcpy(m, names.items[i], len + 1);
                if (j == sizeof(subst) - 1)
                    memmove(m + k, m + k + 1, len - k); /* drop byte k */
                else
                    m[k] = subst[j];
                s = demangle_msvc(m, 0);
                ck_assert(s == NULL || strlen(s) <= MSVC_DEMANGLE_MAX_OUTPUT);
                free(s);
            }
        }
        free(m);
    }
    oracle_list_free(&names);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msvc_demangle");
    TCase *oracle = tcase_create("oracle");
    TCase *limits = tcase_create("limits");
    bool have = needtool("check_msvc_demangle", UNDNAME, NULL);

    tcase_add_test(limits, test_msvc_demangle_rejects_other_names);
    tcase_add_test(limits, test_msvc_demangle_depth_is_bounded);
    tcase_add_test(limits, test_msvc_demangle_output_is_bounded);
    tcase_add_test(limits, test_msvc_demangle_input_is_bounded);
    tcase_add_loop_test(limits, test_msvc_demangle_mutations_fail_cleanly, 0,
                        (int)NLISTS);
    suite_add_tcase(s, limits);
    if (have) {
        tcase_add_loop_test(oracle, test_msvc_demangle_corpus_matches_undname,
                            0, (int)NLISTS);
        tcase_add_loop_test(oracle, test_msvc_demangle_options_match_undname, 0,
                            (int)(NOPTIONS * NLISTS));
        tcase_add_test(oracle, test_msvc_demangle_prefixes_match_undname);
        suite_add_tcase(s, oracle);
    }
    return oracle_run_suite(s, have);
}
